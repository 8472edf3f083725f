/*
 * OpenSSL's chain verification of the benchmark PKI's P-256 (or RSA) chain, for comparison
 * on the same machine (benches/p256-fast): X509_verify_cert on client.der with int.der as
 * untrusted and root.der trusted, the same 3-certificate chain the mbedTLS runs verify;
 * certificates are parsed once, as in the mbedTLS runs.
 *
 *   mv_bench_openssl PKI_DIR ALG     # runs MV_BENCH_SECONDS (default 2) after a 0.3 s
 *                                    # warm-up, prints "<ns> ns/op over <n> ops"
 * Build: cc -O2 mv_bench_openssl.c -lcrypto
 */
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static X509 *load(const char *dir, const char *alg, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/%s", dir, alg, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        exit(1);
    }
    X509 *x = d2i_X509_fp(f, NULL);
    fclose(f);
    if (x == NULL) {
        fprintf(stderr, "%s: not a DER certificate\n", path);
        exit(1);
    }
    return x;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double) t.tv_sec + (double) t.tv_nsec * 1e-9;
}

static int verify_once(X509_STORE *store, X509 *leaf, STACK_OF(X509) *untrusted)
{
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    if (ctx == NULL || !X509_STORE_CTX_init(ctx, store, leaf, untrusted)) {
        fprintf(stderr, "X509_STORE_CTX setup failed\n");
        exit(1);
    }
    int ok = X509_verify_cert(ctx);
    if (ok != 1) {
        fprintf(stderr, "verification failed: %s\n",
                X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
        exit(1);
    }
    X509_STORE_CTX_free(ctx);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: mv_bench_openssl PKI_DIR ALG\n");
        return 2;
    }
    X509 *root = load(argv[1], argv[2], "root.der");
    X509 *inter = load(argv[1], argv[2], "int.der");
    X509 *leaf = load(argv[1], argv[2], "client.der");
    X509_STORE *store = X509_STORE_new();
    X509_STORE_add_cert(store, root);
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    sk_X509_push(untrusted, inter);

    const char *s = getenv("MV_BENCH_SECONDS");
    double seconds = s != NULL ? atof(s) : 2.0;
    double t0 = now();
    while (now() - t0 < 0.3) {
        verify_once(store, leaf, untrusted);
    }
    unsigned long n = 0;
    t0 = now();
    double e;
    do {
        verify_once(store, leaf, untrusted);
        n++;
        e = now() - t0;
    } while (e < seconds);
    printf("%.1f ns/op over %lu ops\n", e * 1e9 / (double) n, n);
    return 0;
}
