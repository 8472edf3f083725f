/*
 * mbedtls-verify shim: see mv_shim.h. This is the only C file of the project; it
 * is the one place that knows mbedTLS struct layouts and configuration macros.
 *
 * MV_OWN_CONFIG is defined when mbedTLS itself is built from this project's
 * config/mv_config.h (host and bare-metal profiles). Then this file also provides
 * the platform hooks that config names: the time source, gmtime, the millisecond
 * clock and PSA's external RNG. On ESP-IDF (ESP_PLATFORM) ESP-IDF provides them.
 */
#if defined(MV_PROFILE_HOST)
#define _GNU_SOURCE 1
#endif

#include "mv_shim.h"

#include <string.h>

#include "mbedtls/build_info.h"
#include "mbedtls/platform.h"
#include "mbedtls/platform_util.h"
#include "mbedtls/error.h"
#include "mbedtls/md.h"
#include "mbedtls/pk.h"
#include "mbedtls/x509_crt.h"
#include "mbedtls/x509_crl.h"
#include "mbedtls/pem.h"
#include "mbedtls/asn1.h"
#include "mbedtls/ssl.h"
#include "psa/crypto.h"
#if defined(MBEDTLS_ECP_C)
#include "mbedtls/ecp.h"
#endif
#if defined(MBEDTLS_RSA_C)
#include "mbedtls/rsa.h"
#endif
#if defined(MBEDTLS_SELF_TEST)
#include "mbedtls/aes.h"
#include "mbedtls/gcm.h"
#include "mbedtls/sha1.h"
#include "mbedtls/sha256.h"
#include "mbedtls/sha512.h"
#include "mbedtls/bignum.h"
#include "mbedtls/chachapoly.h"
#include "mbedtls/chacha20.h"
#include "mbedtls/poly1305.h"
#include "mbedtls/base64.h"
#include "mbedtls/hmac_drbg.h"
#include "mbedtls/hkdf.h"
#include "mbedtls/ecdsa.h"
#include "mbedtls/x509.h"
#endif

#if defined(MV_PROFILE_HOST)
#include <errno.h>
#include <sys/random.h>
#include <time.h>
#define MV_THREAD_LOCAL _Thread_local
#else
/* Bare metal: one thread of execution. */
#define MV_THREAD_LOCAL
#endif

#if defined(ESP_PLATFORM)
#include "esp_random.h"
#endif

#if MBEDTLS_VERSION_NUMBER < 0x03060000 || MBEDTLS_VERSION_NUMBER >= 0x04000000
#error "mbedtls-verify needs mbedTLS 3.6.x"
#endif

_Static_assert(sizeof(mv_profile) == sizeof(mbedtls_x509_crt_profile),
               "mv_profile must mirror mbedtls_x509_crt_profile");
_Static_assert(offsetof(mv_profile, rsa_min_bitlen) ==
               offsetof(mbedtls_x509_crt_profile, rsa_min_bitlen),
               "mv_profile must mirror mbedtls_x509_crt_profile");

/* ------------------------------------------------------------------------ */
/* Entropy                                                                    */
/* ------------------------------------------------------------------------ */

static mv_rng_fn mv_app_rng;
static void *mv_app_rng_ctx;

void mv_set_rng(mv_rng_fn f, void *ctx)
{
    mv_app_rng_ctx = ctx;
    mv_app_rng = f;
}

int mv_random(uint8_t *buf, size_t len)
{
    if (mv_app_rng != NULL) {
        return mv_app_rng(mv_app_rng_ctx, buf, len) == 0 ? 0 : MV_ERR_NO_ENTROPY;
    }
#if defined(MV_PROFILE_HOST)
    while (len > 0) {
        ssize_t n = getrandom(buf, len, 0);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return MV_ERR_NO_ENTROPY;
        }
        buf += n;
        len -= (size_t) n;
    }
    return 0;
#elif defined(ESP_PLATFORM)
    esp_fill_random(buf, len);
    return 0;
#else
    /* Bare metal without an installed source: fail, never fake randomness. */
    (void) buf;
    (void) len;
    return MV_ERR_NO_ENTROPY;
#endif
}

/* f_rng for every mbedTLS call made from here. */
static int mv_rng_cb(void *ctx, unsigned char *buf, size_t len)
{
    (void) ctx;
    return mv_random(buf, len);
}

#if defined(MV_OWN_CONFIG)
psa_status_t mbedtls_psa_external_get_random(mbedtls_psa_external_random_context_t *context,
                                             uint8_t *output, size_t output_size,
                                             size_t *output_length)
{
    (void) context;
    if (mv_random(output, output_size) != 0) {
        *output_length = 0;
        return PSA_ERROR_INSUFFICIENT_ENTROPY;
    }
    *output_length = output_size;
    return PSA_SUCCESS;
}
#endif

/* ------------------------------------------------------------------------ */
/* Time                                                                       */
/* ------------------------------------------------------------------------ */

static mv_clock_fn mv_app_clock;
static MV_THREAD_LOCAL int mv_tl_override_on;
static MV_THREAD_LOCAL int64_t mv_tl_override_time;

void mv_set_clock(mv_clock_fn f)
{
    mv_app_clock = f;
}

void mv_time_override_set(int64_t unix_seconds)
{
    mv_tl_override_time = unix_seconds;
    mv_tl_override_on = 1;
}

void mv_time_override_clear(void)
{
    mv_tl_override_on = 0;
}

/* 0 and the time, or -1 when no clock is known. */
static int mv_now(int64_t *out)
{
    if (mv_tl_override_on) {
        *out = mv_tl_override_time;
        return 0;
    }
    if (mv_app_clock != NULL) {
        return mv_app_clock(out) == 0 ? 0 : -1;
    }
#if defined(MV_PROFILE_HOST)
    *out = (int64_t) time(NULL);
    return 0;
#else
    return -1;
#endif
}

int mv_time_known(void)
{
    int64_t now;
    return mv_now(&now) == 0 && now >= 0;
}

#if defined(MV_OWN_CONFIG)
_Static_assert(sizeof(time_t) == 8, "mbedtls-verify needs a 64-bit time_t");
/* Returned by mv_platform_time when no clock is known; rejected by gmtime below, so
 * certificate verification stops with MBEDTLS_ERR_X509_FATAL_ERROR (fail closed). */
#define MV_TIME_UNKNOWN ((time_t) INT64_MIN)

time_t mv_platform_time(time_t *timer)
{
    int64_t now;
    time_t t = mv_now(&now) == 0 ? (time_t) now : MV_TIME_UNKNOWN;
    if (timer != NULL) {
        *timer = t;
    }
    return t;
}

/* UTC broken-down time, without the C library (proleptic Gregorian calendar). */
struct tm *mbedtls_platform_gmtime_r(const mbedtls_time_t *tt, struct tm *tm_buf)
{
    int64_t t = (int64_t) *tt;
    if (t < 0 || t > INT64_C(253402300799) /* 9999-12-31T23:59:59Z */) {
        return NULL;
    }
    int64_t days = t / 86400;
    int64_t rem = t % 86400;
    int64_t z = days + 719468; /* days since 0000-03-01 */
    int64_t era = z / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t mday = doy - (153 * mp + 2) / 5 + 1;
    int64_t mon = mp < 10 ? mp + 3 : mp - 9;
    int64_t year = yoe + era * 400 + (mon <= 2 ? 1 : 0);

    memset(tm_buf, 0, sizeof(*tm_buf));
    tm_buf->tm_year = (int) (year - 1900);
    tm_buf->tm_mon = (int) (mon - 1);
    tm_buf->tm_mday = (int) mday;
    tm_buf->tm_hour = (int) (rem / 3600);
    tm_buf->tm_min = (int) ((rem % 3600) / 60);
    tm_buf->tm_sec = (int) (rem % 60);
    tm_buf->tm_wday = (int) ((days + 4) % 7);
    return tm_buf;
}

mbedtls_ms_time_t mbedtls_ms_time(void)
{
#if defined(MV_PROFILE_HOST)
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        return 0;
    }
    return (mbedtls_ms_time_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
#else
    int64_t now;
    return mv_now(&now) == 0 ? (mbedtls_ms_time_t) now * 1000 : 0;
#endif
}
#endif /* MV_OWN_CONFIG */

/* ------------------------------------------------------------------------ */
/* Platform                                                                   */
/* ------------------------------------------------------------------------ */

uint32_t mv_version_number(void)
{
    return (uint32_t) MBEDTLS_VERSION_NUMBER;
}

int mv_platform_init(void)
{
    /* psa_crypto_init is idempotent (and thread-safe with MBEDTLS_THREADING_C). */
    psa_status_t st = psa_crypto_init();
    return st == PSA_SUCCESS ? 0 : (int) st;
}

void mv_zeroize(void *buf, size_t len)
{
    mbedtls_platform_zeroize(buf, len);
}

int mv_set_calloc_free(void *(*calloc_fn)(size_t, size_t), void (*free_fn)(void *))
{
#if defined(MBEDTLS_PLATFORM_MEMORY) && !defined(MBEDTLS_PLATFORM_CALLOC_MACRO)
    return mbedtls_platform_set_calloc_free(calloc_fn, free_fn);
#else
    (void) calloc_fn;
    (void) free_fn;
    return MV_ERR_BAD_INPUT;
#endif
}

void mv_strerror(int code, char *buf, size_t len)
{
    if (len == 0) {
        return;
    }
#if defined(MBEDTLS_ERROR_C)
    mbedtls_strerror(code, buf, len);
#else
    buf[0] = '\0';
    (void) code;
#endif
}

int mv_sha256(const uint8_t *data, size_t len, uint8_t out[32])
{
    const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    if (md == NULL) {
        return MV_ERR_BAD_INPUT;
    }
    return mbedtls_md(md, data, len, out);
}

uint32_t mv_features(void)
{
    uint32_t f = 0;
#if defined(MBEDTLS_X509_TRUSTED_CERTIFICATE_CALLBACK)
    f |= MV_FEAT_CA_CB;
#endif
#if defined(MBEDTLS_X509_CRL_PARSE_C)
    f |= MV_FEAT_CRL;
#endif
#if defined(MBEDTLS_HAVE_TIME_DATE)
    f |= MV_FEAT_TIME_DATE;
#endif
#if defined(MBEDTLS_THREADING_C)
    f |= MV_FEAT_THREADING;
#endif
#if defined(MV_OWN_CONFIG)
    f |= MV_FEAT_TIME_OVERRIDE;
#endif
#if defined(MBEDTLS_SSL_PROTO_TLS1_3)
    f |= MV_FEAT_TLS13;
#endif
#if defined(MBEDTLS_RSA_C)
    f |= MV_FEAT_RSA;
#endif
#if defined(MBEDTLS_SSL_TICKET_C)
    f |= MV_FEAT_SERVER_TICKETS;
#endif
#if defined(MBEDTLS_SSL_CACHE_C)
    f |= MV_FEAT_SESSION_CACHE;
#endif
    return f;
}

int mv_selftest(int verbose)
{
#if defined(MBEDTLS_SELF_TEST)
    int failed = 0;
#define MV_RUN(fn) do { if ((fn)(verbose) != 0) { failed++; } } while (0)
#if defined(MBEDTLS_AES_C)
    MV_RUN(mbedtls_aes_self_test);
#endif
#if defined(MBEDTLS_GCM_C)
    MV_RUN(mbedtls_gcm_self_test);
#endif
#if defined(MBEDTLS_SHA1_C)
    MV_RUN(mbedtls_sha1_self_test);
#endif
#if defined(MBEDTLS_SHA224_C)
    MV_RUN(mbedtls_sha224_self_test);
#endif
#if defined(MBEDTLS_SHA256_C)
    MV_RUN(mbedtls_sha256_self_test);
#endif
#if defined(MBEDTLS_SHA384_C)
    MV_RUN(mbedtls_sha384_self_test);
#endif
#if defined(MBEDTLS_SHA512_C)
    MV_RUN(mbedtls_sha512_self_test);
#endif
#if defined(MBEDTLS_BIGNUM_C)
    MV_RUN(mbedtls_mpi_self_test);
#endif
#if defined(MBEDTLS_ECP_C)
    MV_RUN(mbedtls_ecp_self_test);
#endif
#if defined(MBEDTLS_RSA_C)
    MV_RUN(mbedtls_rsa_self_test);
#endif
#if defined(MBEDTLS_CHACHA20_C)
    MV_RUN(mbedtls_chacha20_self_test);
#endif
#if defined(MBEDTLS_POLY1305_C)
    MV_RUN(mbedtls_poly1305_self_test);
#endif
#if defined(MBEDTLS_CHACHAPOLY_C)
    MV_RUN(mbedtls_chachapoly_self_test);
#endif
#if defined(MBEDTLS_BASE64_C)
    MV_RUN(mbedtls_base64_self_test);
#endif
#if defined(MBEDTLS_HMAC_DRBG_C)
    MV_RUN(mbedtls_hmac_drbg_self_test);
#endif
#undef MV_RUN
    return failed;
#else
    (void) verbose;
    return -1;
#endif
}

/* ------------------------------------------------------------------------ */
/* Certificates                                                               */
/* ------------------------------------------------------------------------ */

mv_cert *mv_crt_new(void)
{
    mbedtls_x509_crt *crt = mbedtls_calloc(1, sizeof(*crt));
    if (crt != NULL) {
        mbedtls_x509_crt_init(crt);
    }
    return crt;
}

void mv_crt_free(mv_cert *crt)
{
    if (crt != NULL) {
        mbedtls_x509_crt_free(crt);
        mbedtls_free(crt);
    }
}

/* mbedTLS 3.6 implements no nameConstraints and refuses a certificate whose
 * nameConstraints extension (2.5.29.30) is critical. Certificates parsed through this
 * shim accept that one extension, critical or not, because the Rust verify callback,
 * which every verification of this crate installs, enforces it from the certificate's
 * DER on everything issued below (mbedtls_verify::name_constraints). Every other
 * unknown critical extension still fails the parse; unknown non-critical ones are
 * skipped as before. Peer chains received in a handshake are parsed by mbedTLS itself,
 * so an intermediate with a critical nameConstraints still fails closed there. */
static int mv_crt_ext_cb(void *ctx, const mbedtls_x509_crt *crt, const mbedtls_x509_buf *oid,
                         int critical, const unsigned char *p, const unsigned char *end)
{
    static const unsigned char name_constraints[] = { 0x55, 0x1d, 0x1e };
    (void) ctx;
    (void) crt;
    (void) critical;
    (void) p;
    (void) end;
    if (oid->len == sizeof(name_constraints) &&
        memcmp(oid->p, name_constraints, sizeof(name_constraints)) == 0) {
        return 0;
    }
    return MBEDTLS_ERROR_ADD(MBEDTLS_ERR_X509_INVALID_EXTENSIONS,
                             MBEDTLS_ERR_ASN1_UNEXPECTED_TAG);
}

int mv_crt_parse_der(mv_cert *chain, const uint8_t *buf, size_t len)
{
    return mbedtls_x509_crt_parse_der_with_ext_cb(chain, buf, len, 1, mv_crt_ext_cb, NULL);
}

int mv_crt_parse_der_nocopy(mv_cert *chain, const uint8_t *buf, size_t len)
{
    return mbedtls_x509_crt_parse_der_with_ext_cb(chain, buf, len, 0, mv_crt_ext_cb, NULL);
}

int mv_crt_parse_pem(mv_cert *chain, const uint8_t *buf, size_t len)
{
#if defined(MBEDTLS_PEM_PARSE_C)
    int found = 0;
    if (buf == NULL || len == 0 || buf[len - 1] != '\0') {
        return MBEDTLS_ERR_X509_BAD_INPUT_DATA;
    }
    /* Every CERTIFICATE block, in order; the first bad one fails the whole call. */
    while (len > 1) {
        mbedtls_pem_context pem;
        size_t used = 0;
        size_t der_len = 0;
        const unsigned char *der;
        int ret;
        mbedtls_pem_init(&pem);
        ret = mbedtls_pem_read_buffer(&pem, "-----BEGIN CERTIFICATE-----",
                                      "-----END CERTIFICATE-----", buf, NULL, 0, &used);
        if (ret == MBEDTLS_ERR_PEM_NO_HEADER_FOOTER_PRESENT) {
            mbedtls_pem_free(&pem);
            break;
        }
        if (ret == 0) {
            der = mbedtls_pem_get_buffer(&pem, &der_len);
            ret = mv_crt_parse_der(chain, der, der_len);
        }
        mbedtls_pem_free(&pem);
        if (ret != 0) {
            return ret;
        }
        found++;
        buf += used;
        len -= used;
    }
    return found > 0 ? 0 : MBEDTLS_ERR_X509_CERT_UNKNOWN_FORMAT;
#else
    (void) chain;
    (void) buf;
    (void) len;
    return MBEDTLS_ERR_X509_FEATURE_UNAVAILABLE;
#endif
}

mv_cert *mv_crt_next(const mv_cert *crt)
{
    if (crt == NULL || crt->next == NULL || crt->next->raw.p == NULL) {
        return NULL;
    }
    return crt->next;
}

int mv_crt_is_empty(const mv_cert *crt)
{
    return crt == NULL || crt->raw.p == NULL;
}

static mv_buf mv_buf_of(const mbedtls_x509_buf *b)
{
    mv_buf out;
    out.p = b->p;
    out.len = b->p != NULL ? b->len : 0;
    return out;
}

static mv_time mv_time_of(const mbedtls_x509_time *t)
{
    mv_time out;
    out.year = t->year;
    out.mon = t->mon;
    out.day = t->day;
    out.hour = t->hour;
    out.min = t->min;
    out.sec = t->sec;
    return out;
}

void mv_crt_info(const mv_cert *crt, mv_cert_info *out)
{
    memset(out, 0, sizeof(*out));
    out->raw = mv_buf_of(&crt->raw);
    out->tbs = mv_buf_of(&crt->tbs);
    out->serial = mv_buf_of(&crt->serial);
    out->issuer_raw = mv_buf_of(&crt->issuer_raw);
    out->subject_raw = mv_buf_of(&crt->subject_raw);
    out->spki = mv_buf_of(&crt->pk_raw);
    out->v3_ext = mv_buf_of(&crt->v3_ext);
    out->sig_oid = mv_buf_of(&crt->sig_oid);
    out->valid_from = mv_time_of(&crt->valid_from);
    out->valid_to = mv_time_of(&crt->valid_to);
    out->version = crt->version;
    out->ext_types = (uint32_t) crt->MBEDTLS_PRIVATE(ext_types);
    out->ca_istrue = crt->MBEDTLS_PRIVATE(ca_istrue);
    out->max_pathlen = crt->MBEDTLS_PRIVATE(max_pathlen);
    out->key_usage = crt->MBEDTLS_PRIVATE(key_usage);
    out->sig_md = (uint32_t) crt->MBEDTLS_PRIVATE(sig_md);
    out->sig_pk = (uint32_t) crt->MBEDTLS_PRIVATE(sig_pk);
    out->pk_type = (uint32_t) mbedtls_pk_get_type(&crt->pk);
    out->pk_bits = (uint32_t) mbedtls_pk_get_bitlen(&crt->pk);
#if defined(MBEDTLS_ECP_C) && !defined(MBEDTLS_PK_USE_PSA_EC_DATA)
    if (mbedtls_pk_can_do(&crt->pk, MBEDTLS_PK_ECKEY)) {
        out->ec_group = (uint32_t) mbedtls_ecp_keypair_get_group_id(mbedtls_pk_ec(crt->pk));
    }
#endif
}

mv_buf mv_crt_part(const mv_cert *crt, int part)
{
    mv_buf none = { NULL, 0 };
    switch (part) {
        case MV_PART_RAW:
            return mv_buf_of(&crt->raw);
        case MV_PART_SUBJECT:
            return mv_buf_of(&crt->subject_raw);
        case MV_PART_ISSUER:
            return mv_buf_of(&crt->issuer_raw);
        case MV_PART_SERIAL:
            return mv_buf_of(&crt->serial);
        case MV_PART_SPKI:
            return mv_buf_of(&crt->pk_raw);
        case MV_PART_V3_EXT:
            return mv_buf_of(&crt->v3_ext);
        default:
            return none;
    }
}

int mv_crt_seq_get(const mv_cert *crt, int kind, size_t idx, uint8_t *tag, mv_buf *out)
{
    const mbedtls_x509_sequence *cur;
    switch (kind) {
        case MV_SEQ_SUBJECT_ALT_NAMES:
            cur = &crt->subject_alt_names;
            break;
        case MV_SEQ_EXT_KEY_USAGE:
            cur = &crt->ext_key_usage;
            break;
        case MV_SEQ_CERT_POLICIES:
            cur = &crt->certificate_policies;
            break;
        default:
            return MV_ERR_BAD_INPUT;
    }
    for (; cur != NULL && cur->buf.p != NULL; cur = cur->next) {
        if (idx == 0) {
            *tag = (uint8_t) cur->buf.tag;
            out->p = cur->buf.p;
            out->len = cur->buf.len;
            return 0;
        }
        idx--;
    }
    return MV_ERR_NOT_FOUND;
}

int mv_crt_check_key(const mv_cert *crt, const mv_pk *key)
{
    return mbedtls_pk_check_pair(&crt->pk, key, mv_rng_cb, NULL);
}

/* ------------------------------------------------------------------------ */
/* CRLs                                                                       */
/* ------------------------------------------------------------------------ */

mv_crl *mv_crl_new(void)
{
#if defined(MBEDTLS_X509_CRL_PARSE_C)
    mbedtls_x509_crl *crl = mbedtls_calloc(1, sizeof(*crl));
    if (crl != NULL) {
        mbedtls_x509_crl_init(crl);
    }
    return crl;
#else
    return NULL;
#endif
}

void mv_crl_free(mv_crl *crl)
{
#if defined(MBEDTLS_X509_CRL_PARSE_C)
    if (crl != NULL) {
        mbedtls_x509_crl_free(crl);
        mbedtls_free(crl);
    }
#else
    (void) crl;
#endif
}

int mv_crl_parse(mv_crl *crl, const uint8_t *buf, size_t len)
{
#if defined(MBEDTLS_X509_CRL_PARSE_C)
    return mbedtls_x509_crl_parse(crl, buf, len);
#else
    (void) crl;
    (void) buf;
    (void) len;
    return MBEDTLS_ERR_X509_FEATURE_UNAVAILABLE;
#endif
}

mv_buf mv_crl_raw(const mv_crl *crl, size_t idx)
{
    mv_buf none = { NULL, 0 };
#if defined(MBEDTLS_X509_CRL_PARSE_C)
    while (crl != NULL && idx > 0) {
        crl = crl->next;
        idx--;
    }
    /* An empty head (nothing parsed yet) has version 0. */
    if (crl == NULL || crl->version == 0) {
        return none;
    }
    return mv_buf_of(&crl->raw);
#else
    (void) crl;
    (void) idx;
    return none;
#endif
}

/* ------------------------------------------------------------------------ */
/* Verification                                                               */
/* ------------------------------------------------------------------------ */

int mv_verify(mv_cert *chain, mv_cert *trust_ca, mv_crl *ca_crl, const mv_profile *profile,
              const char *cn, uint32_t *flags, mv_verify_cb f_vrfy, void *p_vrfy)
{
    return mbedtls_x509_crt_verify_with_profile(chain, trust_ca, ca_crl,
                                                (const mbedtls_x509_crt_profile *) profile,
                                                cn, flags, f_vrfy, p_vrfy);
}

int mv_verify_with_ca_cb(mv_cert *chain, mv_ca_cb f_ca_cb, void *p_ca_cb,
                         const mv_profile *profile, const char *cn, uint32_t *flags,
                         mv_verify_cb f_vrfy, void *p_vrfy)
{
#if defined(MBEDTLS_X509_TRUSTED_CERTIFICATE_CALLBACK)
    return mbedtls_x509_crt_verify_with_ca_cb(chain, f_ca_cb, p_ca_cb,
                                              (const mbedtls_x509_crt_profile *) profile,
                                              cn, flags, f_vrfy, p_vrfy);
#else
    (void) chain;
    (void) f_ca_cb;
    (void) p_ca_cb;
    (void) profile;
    (void) cn;
    (void) f_vrfy;
    (void) p_vrfy;
    *flags = (uint32_t) -1;
    return MBEDTLS_ERR_X509_FEATURE_UNAVAILABLE;
#endif
}

/* ------------------------------------------------------------------------ */
/* Keys                                                                       */
/* ------------------------------------------------------------------------ */

mv_pk *mv_pk_new(void)
{
    mbedtls_pk_context *pk = mbedtls_calloc(1, sizeof(*pk));
    if (pk != NULL) {
        mbedtls_pk_init(pk);
    }
    return pk;
}

void mv_pk_free(mv_pk *pk)
{
    if (pk != NULL) {
        mbedtls_pk_free(pk);
        mbedtls_free(pk);
    }
}

int mv_pk_parse_key(mv_pk *pk, const uint8_t *buf, size_t len)
{
    return mbedtls_pk_parse_key(pk, buf, len, NULL, 0, mv_rng_cb, NULL);
}

int mv_pk_gen_ec(mv_pk *pk, uint32_t group_id)
{
#if defined(MBEDTLS_ECP_C) && !defined(MBEDTLS_PK_USE_PSA_EC_DATA)
    int ret = mbedtls_pk_setup(pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
    if (ret != 0) {
        return ret;
    }
    return mbedtls_ecp_gen_key((mbedtls_ecp_group_id) group_id, mbedtls_pk_ec(*pk),
                               mv_rng_cb, NULL);
#else
    (void) pk;
    (void) group_id;
    return MBEDTLS_ERR_PK_FEATURE_UNAVAILABLE;
#endif
}

int mv_pk_gen_rsa(mv_pk *pk, uint32_t bits)
{
#if defined(MBEDTLS_RSA_C) && defined(MBEDTLS_GENPRIME)
    int ret = mbedtls_pk_setup(pk, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA));
    if (ret != 0) {
        return ret;
    }
    return mbedtls_rsa_gen_key(mbedtls_pk_rsa(*pk), mv_rng_cb, NULL, bits, 65537);
#else
    (void) pk;
    (void) bits;
    return MBEDTLS_ERR_PK_FEATURE_UNAVAILABLE;
#endif
}

/* mbedTLS writers fill the end of the buffer; move the result to the start. */
static int mv_to_front(int ret, uint8_t *buf, size_t size, size_t *out_len)
{
    if (ret < 0) {
        return ret;
    }
    memmove(buf, buf + size - (size_t) ret, (size_t) ret);
    *out_len = (size_t) ret;
    return 0;
}

int mv_pk_write_key_der(mv_pk *pk, uint8_t *buf, size_t size, size_t *out_len)
{
    return mv_to_front(mbedtls_pk_write_key_der(pk, buf, size), buf, size, out_len);
}

int mv_pk_write_pubkey_der(mv_pk *pk, uint8_t *buf, size_t size, size_t *out_len)
{
    return mv_to_front(mbedtls_pk_write_pubkey_der(pk, buf, size), buf, size, out_len);
}

int mv_pk_sign(mv_pk *pk, uint32_t md_alg, const uint8_t *data, size_t len,
               uint8_t *sig, size_t sig_size, size_t *sig_len)
{
    unsigned char hash[MBEDTLS_MD_MAX_SIZE];
    const mbedtls_md_info_t *md = mbedtls_md_info_from_type((mbedtls_md_type_t) md_alg);
    if (md == NULL) {
        return MV_ERR_BAD_INPUT;
    }
    int ret = mbedtls_md(md, data, len, hash);
    if (ret != 0) {
        return ret;
    }
    ret = mbedtls_pk_sign(pk, (mbedtls_md_type_t) md_alg, hash, mbedtls_md_get_size(md),
                          sig, sig_size, sig_len, mv_rng_cb, NULL);
    mbedtls_platform_zeroize(hash, sizeof(hash));
    return ret;
}

uint32_t mv_pk_type(const mv_pk *pk)
{
    return (uint32_t) mbedtls_pk_get_type(pk);
}

/* ------------------------------------------------------------------------ */
/* Certificate writing                                                        */
/* ------------------------------------------------------------------------ */

int mv_crt_write_der(const mv_crt_write_params *params, mv_pk *subject_key, mv_pk *issuer_key,
                     uint8_t *buf, size_t size, size_t *out_len)
{
#if defined(MBEDTLS_X509_CRT_WRITE_C)
    mbedtls_x509write_cert w;
    int ret;
    size_t i;

    mbedtls_x509write_crt_init(&w);
    mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(&w, (mbedtls_md_type_t) params->md_alg);
    mbedtls_x509write_crt_set_subject_key(&w, subject_key);
    mbedtls_x509write_crt_set_issuer_key(&w, issuer_key);

    if ((ret = mbedtls_x509write_crt_set_subject_name(&w, params->subject_name)) != 0 ||
        (ret = mbedtls_x509write_crt_set_issuer_name(&w, params->issuer_name)) != 0 ||
        (ret = mbedtls_x509write_crt_set_serial_raw(&w, (unsigned char *) params->serial.p,
                                                    params->serial.len)) != 0 ||
        (ret = mbedtls_x509write_crt_set_validity(&w, params->not_before,
                                                  params->not_after)) != 0) {
        goto done;
    }
    if (params->key_identifiers) {
        if ((ret = mbedtls_x509write_crt_set_subject_key_identifier(&w)) != 0 ||
            (ret = mbedtls_x509write_crt_set_authority_key_identifier(&w)) != 0) {
            goto done;
        }
    }
    for (i = 0; i < params->ext_count; i++) {
        const mv_raw_ext *e = &params->exts[i];
        ret = mbedtls_x509write_crt_set_extension(&w, (const char *) e->oid.p, e->oid.len,
                                                  e->critical, e->value.p, e->value.len);
        if (ret != 0) {
            goto done;
        }
    }
    ret = mv_to_front(mbedtls_x509write_crt_der(&w, buf, size, mv_rng_cb, NULL),
                      buf, size, out_len);
done:
    mbedtls_x509write_crt_free(&w);
    return ret;
#else
    (void) params;
    (void) subject_key;
    (void) issuer_key;
    (void) buf;
    (void) size;
    (void) out_len;
    return MBEDTLS_ERR_X509_FEATURE_UNAVAILABLE;
#endif
}

/* ------------------------------------------------------------------------ */
/* TLS                                                                        */
/* ------------------------------------------------------------------------ */

#if defined(MV_P256_ECDH_RUST)
/* Feature `p256-ecdh-rustcrypto`: P-256's key exchange runs in Rust and is then the fastest
 * group, so it is offered (client) and preferred (server) first; the rest keeps mbedTLS's
 * default order. Both are 128-bit-security groups. */
static const uint16_t mv_groups_p256_first[] = {
    MBEDTLS_SSL_IANA_TLS_GROUP_SECP256R1,
#if defined(MBEDTLS_ECP_DP_CURVE25519_ENABLED)
    MBEDTLS_SSL_IANA_TLS_GROUP_X25519,
#endif
#if defined(MBEDTLS_ECP_DP_SECP384R1_ENABLED)
    MBEDTLS_SSL_IANA_TLS_GROUP_SECP384R1,
#endif
#if defined(MBEDTLS_ECP_DP_SECP521R1_ENABLED)
    MBEDTLS_SSL_IANA_TLS_GROUP_SECP521R1,
#endif
    MBEDTLS_SSL_IANA_TLS_GROUP_NONE
};
#endif

mv_ssl_conf *mv_ssl_conf_new(int endpoint, int *err)
{
    mbedtls_ssl_config *conf;
    int ret = mv_platform_init();
    if (ret != 0) {
        *err = ret;
        return NULL;
    }
    conf = mbedtls_calloc(1, sizeof(*conf));
    if (conf == NULL) {
        *err = MBEDTLS_ERR_SSL_ALLOC_FAILED;
        return NULL;
    }
    mbedtls_ssl_config_init(conf);
    ret = mbedtls_ssl_config_defaults(conf,
                                      endpoint == MV_ENDPOINT_SERVER ? MBEDTLS_SSL_IS_SERVER
                                                                     : MBEDTLS_SSL_IS_CLIENT,
                                      MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
    if (ret != 0) {
        mv_ssl_conf_free(conf);
        *err = ret;
        return NULL;
    }
    mbedtls_ssl_conf_rng(conf, mv_rng_cb, NULL);
#if defined(MV_P256_ECDH_RUST)
    mbedtls_ssl_conf_groups(conf, mv_groups_p256_first);
#endif
    *err = 0;
    return conf;
}

void mv_ssl_conf_free(mv_ssl_conf *conf)
{
    if (conf != NULL) {
        mbedtls_ssl_config_free(conf);
        mbedtls_free(conf);
    }
}

void mv_ssl_conf_authmode(mv_ssl_conf *conf, int authmode)
{
    mbedtls_ssl_conf_authmode(conf, authmode);
}

void mv_ssl_conf_versions(mv_ssl_conf *conf, uint32_t min_tls, uint32_t max_tls)
{
    mbedtls_ssl_conf_min_tls_version(conf, (mbedtls_ssl_protocol_version) min_tls);
    mbedtls_ssl_conf_max_tls_version(conf, (mbedtls_ssl_protocol_version) max_tls);
}

void mv_ssl_conf_ca_chain(mv_ssl_conf *conf, mv_cert *ca, mv_crl *crl)
{
    mbedtls_ssl_conf_ca_chain(conf, ca, crl);
}

int mv_ssl_conf_ca_cb(mv_ssl_conf *conf, mv_ca_cb f, void *ctx)
{
#if defined(MBEDTLS_X509_TRUSTED_CERTIFICATE_CALLBACK)
    mbedtls_ssl_conf_ca_cb(conf, f, ctx);
    return 0;
#else
    (void) conf;
    (void) f;
    (void) ctx;
    return MBEDTLS_ERR_SSL_FEATURE_UNAVAILABLE;
#endif
}

void mv_ssl_conf_verify(mv_ssl_conf *conf, mv_verify_cb f, void *ctx)
{
    mbedtls_ssl_conf_verify(conf, f, ctx);
}

void mv_ssl_conf_profile(mv_ssl_conf *conf, const mv_profile *profile)
{
    mbedtls_ssl_conf_cert_profile(conf, (const mbedtls_x509_crt_profile *) profile);
}

int mv_ssl_conf_own_cert(mv_ssl_conf *conf, mv_cert *chain, mv_pk *key)
{
    return mbedtls_ssl_conf_own_cert(conf, chain, key);
}

int mv_ssl_conf_alpn(mv_ssl_conf *conf, const char **protos)
{
#if defined(MBEDTLS_SSL_ALPN)
    return mbedtls_ssl_conf_alpn_protocols(conf, protos);
#else
    (void) conf;
    (void) protos;
    return MBEDTLS_ERR_SSL_FEATURE_UNAVAILABLE;
#endif
}

void mv_ssl_conf_sni(mv_ssl_conf *conf, mv_sni_cb f, void *ctx)
{
#if defined(MBEDTLS_SSL_SERVER_NAME_INDICATION)
    mbedtls_ssl_conf_sni(conf, f, ctx);
#else
    (void) conf;
    (void) f;
    (void) ctx;
#endif
}

void mv_ssl_conf_no_resumption(mv_ssl_conf *conf)
{
#if defined(MBEDTLS_SSL_SESSION_TICKETS) && defined(MBEDTLS_SSL_CLI_C)
    mbedtls_ssl_conf_session_tickets(conf, MBEDTLS_SSL_SESSION_TICKETS_DISABLED);
#endif
#if defined(MBEDTLS_SSL_RENEGOTIATION)
    mbedtls_ssl_conf_renegotiation(conf, MBEDTLS_SSL_RENEGOTIATION_DISABLED);
#endif
#if defined(MBEDTLS_SSL_SRV_C) && defined(MBEDTLS_SSL_CACHE_C)
    mbedtls_ssl_conf_session_cache(conf, NULL, NULL, NULL);
#endif
#if defined(MBEDTLS_SSL_SRV_C) && defined(MBEDTLS_SSL_SESSION_TICKETS)
    mbedtls_ssl_conf_session_tickets_cb(conf, NULL, NULL, NULL);
#endif
    (void) conf;
}

mv_ssl *mv_ssl_new(const mv_ssl_conf *conf, int *err)
{
    mbedtls_ssl_context *ssl = mbedtls_calloc(1, sizeof(*ssl));
    if (ssl == NULL) {
        *err = MBEDTLS_ERR_SSL_ALLOC_FAILED;
        return NULL;
    }
    mbedtls_ssl_init(ssl);
    int ret = mbedtls_ssl_setup(ssl, conf);
    if (ret != 0) {
        mv_ssl_free(ssl);
        *err = ret;
        return NULL;
    }
    *err = 0;
    return ssl;
}

void mv_ssl_free(mv_ssl *ssl)
{
    if (ssl != NULL) {
        mbedtls_ssl_free(ssl);
        mbedtls_free(ssl);
    }
}

int mv_ssl_set_hostname(mv_ssl *ssl, const char *hostname)
{
    return mbedtls_ssl_set_hostname(ssl, hostname);
}

void mv_ssl_set_bio(mv_ssl *ssl, void *ctx, mv_send_cb f_send, mv_recv_cb f_recv)
{
    mbedtls_ssl_set_bio(ssl, ctx, (mbedtls_ssl_send_t *) f_send, (mbedtls_ssl_recv_t *) f_recv,
                        NULL);
}

void mv_ssl_set_verify(mv_ssl *ssl, mv_verify_cb f, void *ctx)
{
    mbedtls_ssl_set_verify(ssl, f, ctx);
}

int mv_ssl_set_hs_own_cert(mv_ssl *ssl, mv_cert *chain, mv_pk *key)
{
#if defined(MBEDTLS_SSL_SERVER_NAME_INDICATION)
    return mbedtls_ssl_set_hs_own_cert(ssl, chain, key);
#else
    (void) ssl;
    (void) chain;
    (void) key;
    return MBEDTLS_ERR_SSL_FEATURE_UNAVAILABLE;
#endif
}

void mv_ssl_set_hs_authmode(mv_ssl *ssl, int authmode)
{
#if defined(MBEDTLS_SSL_SERVER_NAME_INDICATION)
    mbedtls_ssl_set_hs_authmode(ssl, authmode);
#else
    (void) ssl;
    (void) authmode;
#endif
}

int mv_ssl_handshake(mv_ssl *ssl)
{
    return mbedtls_ssl_handshake(ssl);
}

int mv_ssl_read(mv_ssl *ssl, uint8_t *buf, size_t len)
{
    return mbedtls_ssl_read(ssl, buf, len);
}

int mv_ssl_write(mv_ssl *ssl, const uint8_t *buf, size_t len)
{
    return mbedtls_ssl_write(ssl, buf, len);
}

int mv_ssl_close_notify(mv_ssl *ssl)
{
    return mbedtls_ssl_close_notify(ssl);
}

int mv_ssl_send_fatal_alert(mv_ssl *ssl, uint8_t description)
{
    return mbedtls_ssl_send_alert_message(ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL, description);
}

uint32_t mv_ssl_verify_result(const mv_ssl *ssl)
{
    return mbedtls_ssl_get_verify_result(ssl);
}

const mv_cert *mv_ssl_peer_cert(const mv_ssl *ssl)
{
    return mbedtls_ssl_get_peer_cert(ssl);
}

uint32_t mv_ssl_version(const mv_ssl *ssl)
{
    return (uint32_t) mbedtls_ssl_get_version_number(ssl);
}

const char *mv_ssl_ciphersuite(const mv_ssl *ssl)
{
    return mbedtls_ssl_get_ciphersuite(ssl);
}

const char *mv_ssl_alpn(const mv_ssl *ssl)
{
#if defined(MBEDTLS_SSL_ALPN)
    return mbedtls_ssl_get_alpn_protocol(ssl);
#else
    (void) ssl;
    return NULL;
#endif
}

size_t mv_ssl_bytes_avail(const mv_ssl *ssl)
{
    return mbedtls_ssl_get_bytes_avail(ssl);
}
