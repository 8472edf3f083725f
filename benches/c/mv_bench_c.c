/*
 * The C baseline: the same work as the Rust benchmarks, written directly against mbedTLS
 * and linked with the very static libraries the sys crate built (libmbedtls_verify_c.a,
 * and libmv_shim.a for the platform hooks the shared configuration names: time, RNG).
 * Compiled by benches/c/build with the sys crate's flags and defines.
 *
 *   mv_bench_c verify    PKI_DIR ALG N           # N verifications of the 3-certificate chain
 *   mv_bench_c handshake PKI_DIR ALG VER MODE N  # N in-memory handshakes
 *   mv_bench_c time ...same arguments...         # wall time instead: ns per operation
 *
 * ALG: p256 | rsa2048 (a subdirectory of PKI_DIR, written by the Rust side: DER files);
 * VER: tls13 | tls12; MODE: server_auth | mutual.
 * Under callgrind only measured_work() is counted (--toggle-collect=measured_work).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mbedtls/build_info.h"
#include "mbedtls/error.h"
#include "mbedtls/pk.h"
#include "mbedtls/ssl.h"
#include "mbedtls/x509_crt.h"
#include "psa/crypto.h"

/* From the shim (libmv_shim.a): the RNG every mbedTLS call of the Rust side uses too. */
int mv_random(uint8_t *buf, size_t len);
int mv_platform_init(void);

#define SERVER_NAME "server.bench"

static void die(const char *what, int rc)
{
    char buf[160];
    mbedtls_strerror(rc, buf, sizeof(buf));
    fprintf(stderr, "mv_bench_c: %s: -0x%04x %s\n", what, (unsigned) -rc, buf);
    exit(1);
}

static unsigned char *read_file(const char *dir, const char *alg, const char *name, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s/%s", dir, alg, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "mv_bench_c: cannot open %s\n", path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t) n);
    if (buf == NULL || fread(buf, 1, (size_t) n, f) != (size_t) n) {
        fprintf(stderr, "mv_bench_c: cannot read %s\n", path);
        exit(1);
    }
    fclose(f);
    *len = (size_t) n;
    return buf;
}

static void add_cert(mbedtls_x509_crt *chain, const char *dir, const char *alg, const char *name)
{
    size_t len;
    unsigned char *der = read_file(dir, alg, name, &len);
    int rc = mbedtls_x509_crt_parse_der(chain, der, len);
    if (rc != 0) {
        die(name, rc);
    }
    free(der);
}

static int rng(void *ctx, unsigned char *buf, size_t len)
{
    (void) ctx;
    return mv_random(buf, len);
}

static void load_key(mbedtls_pk_context *pk, const char *dir, const char *alg, const char *name)
{
    size_t len;
    unsigned char *der = read_file(dir, alg, name, &len);
    int rc = mbedtls_pk_parse_key(pk, der, len, NULL, 0, rng, NULL);
    if (rc != 0) {
        die(name, rc);
    }
    free(der);
}

/* The Rust crate's SecurityProfile::DEFAULT. */
static const mbedtls_x509_crt_profile profile = {
    MBEDTLS_X509_ID_FLAG(MBEDTLS_MD_SHA256) | MBEDTLS_X509_ID_FLAG(MBEDTLS_MD_SHA384) |
    MBEDTLS_X509_ID_FLAG(MBEDTLS_MD_SHA512),
    MBEDTLS_X509_ID_FLAG(MBEDTLS_PK_RSA) | MBEDTLS_X509_ID_FLAG(MBEDTLS_PK_RSASSA_PSS) |
    MBEDTLS_X509_ID_FLAG(MBEDTLS_PK_ECKEY) | MBEDTLS_X509_ID_FLAG(MBEDTLS_PK_ECDSA),
    MBEDTLS_X509_ID_FLAG(MBEDTLS_ECP_DP_SECP256R1) | MBEDTLS_X509_ID_FLAG(MBEDTLS_ECP_DP_SECP384R1) |
    MBEDTLS_X509_ID_FLAG(MBEDTLS_ECP_DP_SECP521R1),
    2048,
};

/* ---- workloads --------------------------------------------------------------------- */

typedef void (*op_fn)(void *ctx);

/* The only function whose instructions are counted. */
__attribute__((noinline)) void measured_work(uint64_t n, op_fn op, void *ctx)
{
    for (uint64_t i = 0; i < n; i++) {
        op(ctx);
    }
}

struct verify_ctx {
    mbedtls_x509_crt chain; /* leaf + issuing CA, as a peer sends them */
    mbedtls_x509_crt anchor;
};

static void verify_op(void *p)
{
    struct verify_ctx *v = p;
    uint32_t flags = 0;
    int rc = mbedtls_x509_crt_verify_with_profile(&v->chain, &v->anchor, NULL, &profile, NULL,
                                                  &flags, NULL, NULL);
    if (rc != 0 || flags != 0) {
        fprintf(stderr, "mv_bench_c: verification failed: rc -0x%04x flags 0x%x\n",
                (unsigned) -rc, flags);
        exit(1);
    }
}

/* An in-memory byte pipe (one direction). */
struct pipe {
    unsigned char buf[65536];
    size_t head, tail;
};

struct end {
    struct pipe *in, *out;
};

static int pipe_send(void *ctx, const unsigned char *data, size_t len)
{
    struct pipe *p = ((struct end *) ctx)->out;
    if (p->head == p->tail) {
        p->head = p->tail = 0;
    }
    if (len > sizeof(p->buf) - p->tail) {
        if (p->head > 0) {
            memmove(p->buf, p->buf + p->head, p->tail - p->head);
            p->tail -= p->head;
            p->head = 0;
        }
        if (len > sizeof(p->buf) - p->tail) {
            len = sizeof(p->buf) - p->tail;
        }
        if (len == 0) {
            return MBEDTLS_ERR_SSL_WANT_WRITE;
        }
    }
    memcpy(p->buf + p->tail, data, len);
    p->tail += len;
    return (int) len;
}

static int pipe_recv(void *ctx, unsigned char *data, size_t len)
{
    struct pipe *p = ((struct end *) ctx)->in;
    size_t avail = p->tail - p->head;
    if (avail == 0) {
        return MBEDTLS_ERR_SSL_WANT_READ;
    }
    if (len > avail) {
        len = avail;
    }
    memcpy(data, p->buf + p->head, len);
    p->head += len;
    return (int) len;
}

struct hs_ctx {
    mbedtls_ssl_config srv_conf, cli_conf;
    mbedtls_x509_crt anchor, srv_chain, cli_chain;
    mbedtls_pk_context srv_key, cli_key;
    int mutual;
    struct pipe c2s, s2c;
};

/* What the Rust crate does to every configuration (mv_ssl_conf_new + build()). */
static void conf_common(mbedtls_ssl_config *c, int endpoint, int version)
{
    int rc = mbedtls_ssl_config_defaults(c, endpoint, MBEDTLS_SSL_TRANSPORT_STREAM,
                                         MBEDTLS_SSL_PRESET_DEFAULT);
    if (rc != 0) {
        die("ssl_config_defaults", rc);
    }
    mbedtls_ssl_conf_rng(c, rng, NULL);
    mbedtls_ssl_conf_min_tls_version(c, (mbedtls_ssl_protocol_version) version);
    mbedtls_ssl_conf_max_tls_version(c, (mbedtls_ssl_protocol_version) version);
    mbedtls_ssl_conf_cert_profile(c, &profile);
#if defined(MBEDTLS_SSL_SESSION_TICKETS) && defined(MBEDTLS_SSL_CLI_C)
    mbedtls_ssl_conf_session_tickets(c, MBEDTLS_SSL_SESSION_TICKETS_DISABLED);
#endif
}

static void hs_op(void *p)
{
    struct hs_ctx *h = p;
    mbedtls_ssl_context cli, srv;
    struct end cli_end = { &h->s2c, &h->c2s }, srv_end = { &h->c2s, &h->s2c };
    int rc, cdone = 0, sdone = 0;

    h->c2s.head = h->c2s.tail = h->s2c.head = h->s2c.tail = 0;
    mbedtls_ssl_init(&cli);
    mbedtls_ssl_init(&srv);
    if ((rc = mbedtls_ssl_setup(&cli, &h->cli_conf)) != 0 ||
        (rc = mbedtls_ssl_setup(&srv, &h->srv_conf)) != 0) {
        die("ssl_setup", rc);
    }
    if ((rc = mbedtls_ssl_set_hostname(&cli, SERVER_NAME)) != 0) {
        die("set_hostname", rc);
    }
    mbedtls_ssl_set_bio(&cli, &cli_end, pipe_send, pipe_recv, NULL);
    mbedtls_ssl_set_bio(&srv, &srv_end, pipe_send, pipe_recv, NULL);
    for (int round = 0; round < 64 && !(cdone && sdone); round++) {
        if (!cdone) {
            rc = mbedtls_ssl_handshake(&cli);
            if (rc == 0) {
                cdone = 1;
            } else if (rc != MBEDTLS_ERR_SSL_WANT_READ && rc != MBEDTLS_ERR_SSL_WANT_WRITE &&
                       rc != MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET) {
                die("client handshake", rc);
            }
        }
        if (!sdone) {
            rc = mbedtls_ssl_handshake(&srv);
            if (rc == 0) {
                sdone = 1;
            } else if (rc != MBEDTLS_ERR_SSL_WANT_READ && rc != MBEDTLS_ERR_SSL_WANT_WRITE) {
                die("server handshake", rc);
            }
        }
    }
    if (!(cdone && sdone)) {
        fprintf(stderr, "mv_bench_c: handshake did not complete\n");
        exit(1);
    }
    if (mbedtls_ssl_get_verify_result(&cli) != 0 ||
        (h->mutual && mbedtls_ssl_get_verify_result(&srv) != 0)) {
        fprintf(stderr, "mv_bench_c: a peer did not verify\n");
        exit(1);
    }
    static int printed;
    if (!printed) {
        printed = 1;
        fprintf(stderr, "cipher suite: %s\n", mbedtls_ssl_get_ciphersuite(&cli));
    }
    mbedtls_ssl_free(&cli);
    mbedtls_ssl_free(&srv);
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec * 1e9 + (double) ts.tv_nsec;
}

/* Mean ns per operation over batches for about `seconds` (after a short warm-up). */
static void time_op(op_fn op, void *ctx, double seconds)
{
    double start = now_ns(), t;
    while (now_ns() - start < 0.3e9) {
        op(ctx);
    }
    uint64_t n = 0;
    start = now_ns();
    do {
        op(ctx);
        n++;
        t = now_ns() - start;
    } while (t < seconds * 1e9);
    printf("%.1f ns/op over %llu ops\n", t / (double) n, (unsigned long long) n);
}

int main(int argc, char **argv)
{
    int timed = 0;
    if (argc > 1 && strcmp(argv[1], "time") == 0) {
        timed = 1;
        argv++;
        argc--;
    }
    if (argc < 2) {
        goto usage;
    }
    int rc = mv_platform_init(); /* psa_crypto_init, as the Rust side */
    if (rc != 0) {
        die("psa_crypto_init", rc);
    }
    double seconds = getenv("MV_BENCH_SECONDS") ? atof(getenv("MV_BENCH_SECONDS")) : 2.0;

    if (strcmp(argv[1], "verify") == 0 && argc == 5) {
        const char *dir = argv[2], *alg = argv[3];
        uint64_t n = strtoull(argv[4], NULL, 10);
        static struct verify_ctx v;
        mbedtls_x509_crt_init(&v.chain);
        mbedtls_x509_crt_init(&v.anchor);
        add_cert(&v.chain, dir, alg, "client.der");
        add_cert(&v.chain, dir, alg, "int.der");
        add_cert(&v.anchor, dir, alg, "root.der");
        verify_op(&v);
        if (timed) {
            time_op(verify_op, &v, seconds);
        } else {
            measured_work(n, verify_op, &v);
        }
        mbedtls_x509_crt_free(&v.chain);
        mbedtls_x509_crt_free(&v.anchor);
        return 0;
    }
    if (strcmp(argv[1], "handshake") == 0 && argc == 7) {
        const char *dir = argv[2], *alg = argv[3];
        int version = strcmp(argv[4], "tls13") == 0 ? MBEDTLS_SSL_VERSION_TLS1_3
                      : strcmp(argv[4], "tls12") == 0 ? MBEDTLS_SSL_VERSION_TLS1_2 : 0;
        int mutual = strcmp(argv[5], "mutual") == 0;
        uint64_t n = strtoull(argv[6], NULL, 10);
        if (version == 0 || (!mutual && strcmp(argv[5], "server_auth") != 0)) {
            goto usage;
        }
        static struct hs_ctx h;
        h.mutual = mutual;
        mbedtls_ssl_config_init(&h.srv_conf);
        mbedtls_ssl_config_init(&h.cli_conf);
        mbedtls_x509_crt_init(&h.anchor);
        mbedtls_x509_crt_init(&h.srv_chain);
        mbedtls_x509_crt_init(&h.cli_chain);
        mbedtls_pk_init(&h.srv_key);
        mbedtls_pk_init(&h.cli_key);
        add_cert(&h.anchor, dir, alg, "root.der");
        add_cert(&h.srv_chain, dir, alg, "server.der");
        add_cert(&h.srv_chain, dir, alg, "int.der");
        load_key(&h.srv_key, dir, alg, "server.key.der");

        conf_common(&h.srv_conf, MBEDTLS_SSL_IS_SERVER, version);
        mbedtls_ssl_conf_authmode(&h.srv_conf,
                                  mutual ? MBEDTLS_SSL_VERIFY_REQUIRED : MBEDTLS_SSL_VERIFY_NONE);
        if (mutual) {
            mbedtls_ssl_conf_ca_chain(&h.srv_conf, &h.anchor, NULL);
        }
        if ((rc = mbedtls_ssl_conf_own_cert(&h.srv_conf, &h.srv_chain, &h.srv_key)) != 0) {
            die("conf_own_cert", rc);
        }

        conf_common(&h.cli_conf, MBEDTLS_SSL_IS_CLIENT, version);
        mbedtls_ssl_conf_authmode(&h.cli_conf, MBEDTLS_SSL_VERIFY_REQUIRED);
        mbedtls_ssl_conf_ca_chain(&h.cli_conf, &h.anchor, NULL);
        if (mutual) {
            add_cert(&h.cli_chain, dir, alg, "client.der");
            add_cert(&h.cli_chain, dir, alg, "int.der");
            load_key(&h.cli_key, dir, alg, "client.key.der");
            if ((rc = mbedtls_ssl_conf_own_cert(&h.cli_conf, &h.cli_chain, &h.cli_key)) != 0) {
                die("conf_own_cert", rc);
            }
        }
        hs_op(&h);
        if (timed) {
            time_op(hs_op, &h, seconds);
        } else {
            measured_work(n, hs_op, &h);
        }
        mbedtls_ssl_config_free(&h.srv_conf);
        mbedtls_ssl_config_free(&h.cli_conf);
        mbedtls_x509_crt_free(&h.anchor);
        mbedtls_x509_crt_free(&h.srv_chain);
        mbedtls_x509_crt_free(&h.cli_chain);
        mbedtls_pk_free(&h.srv_key);
        mbedtls_pk_free(&h.cli_key);
        return 0;
    }
usage:
    fprintf(stderr,
            "usage: mv_bench_c [time] verify PKI_DIR ALG N\n"
            "       mv_bench_c [time] handshake PKI_DIR ALG tls13|tls12 server_auth|mutual N\n");
    return 2;
}
