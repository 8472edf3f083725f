/*
 * mbedtls-verify shim: the narrow C surface the Rust crates call.
 *
 * Rust sees only opaque handles, fixed-width integers and plain structs declared
 * here, so it never depends on mbedTLS struct layouts, on its version, or on the
 * per-target configuration. This header includes no mbedTLS header on purpose:
 * bindgen reads it alone and the result is the same on every target.
 *
 * Ownership: every handle created by a mv_*_new function is allocated with
 * mbedtls_calloc and released by the matching mv_*_free (NULL is accepted).
 * Return codes: 0 on success, a negative mbedTLS error code otherwise, unless
 * stated.
 */
#ifndef MV_SHIM_H
#define MV_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Opaque handles (the mbedTLS types, never dereferenced from Rust). */
typedef struct mbedtls_x509_crt mv_cert;   /* a certificate, or the head of a chain */
typedef struct mbedtls_x509_crl mv_crl;
typedef struct mbedtls_pk_context mv_pk;
typedef struct mbedtls_ssl_config mv_ssl_conf;
typedef struct mbedtls_ssl_context mv_ssl;

/* A borrowed byte range inside an mbedTLS object. */
typedef struct mv_buf {
    const uint8_t *p;
    size_t len;
} mv_buf;

typedef struct mv_time {
    int32_t year, mon, day, hour, min, sec;
} mv_time;

/* Same layout as mbedtls_x509_crt_profile (checked at compile time in the shim). */
typedef struct mv_profile {
    uint32_t allowed_mds;
    uint32_t allowed_pks;
    uint32_t allowed_curves;
    uint32_t rsa_min_bitlen;
} mv_profile;

/* What the shim reads out of one parsed certificate. Byte ranges borrow from it. */
typedef struct mv_cert_info {
    mv_buf raw;          /* whole certificate, DER */
    mv_buf tbs;
    mv_buf serial;       /* INTEGER contents */
    mv_buf issuer_raw;   /* issuer Name, DER (SEQUENCE) */
    mv_buf subject_raw;  /* subject Name, DER (SEQUENCE) */
    mv_buf spki;         /* SubjectPublicKeyInfo, DER */
    mv_buf v3_ext;       /* [3] extensions, DER, empty if none */
    mv_buf sig_oid;      /* signatureAlgorithm OID contents */
    mv_time valid_from;
    mv_time valid_to;
    int32_t version;     /* 1, 2 or 3 */
    uint32_t ext_types;  /* MBEDTLS_X509_EXT_* bits mbedTLS parsed */
    int32_t ca_istrue;   /* as mbedTLS parsed basicConstraints (see the crate's strict re-parse) */
    int32_t max_pathlen; /* mbedTLS convention: RFC 5280 pathLen + 1, 0 = none */
    uint32_t key_usage;  /* MBEDTLS_X509_KU_* bits */
    uint32_t sig_md;     /* mbedtls_md_type_t */
    uint32_t sig_pk;     /* mbedtls_pk_type_t */
    uint32_t pk_type;    /* mbedtls_pk_type_t of the subject key */
    uint32_t pk_bits;
    uint32_t ec_group;   /* mbedtls_ecp_group_id, 0 when not EC */
} mv_cert_info;

/* Lists kept by mbedTLS for a certificate. */
enum mv_seq_kind {
    MV_SEQ_SUBJECT_ALT_NAMES = 0, /* raw GeneralName entries: tag + contents */
    MV_SEQ_EXT_KEY_USAGE = 1,     /* OID contents */
    MV_SEQ_CERT_POLICIES = 2      /* OID contents */
};

/* Returned when an index is past the end of a list. */
#define MV_ERR_NOT_FOUND (-0x7F01)
/* Returned by RNG users when the application installed no entropy source. */
#define MV_ERR_NO_ENTROPY (-0x7F02)
/* Bad argument to a shim function. */
#define MV_ERR_BAD_INPUT (-0x7F03)
/* Returned by the Rust trampolines: fatal for mbedTLS (never forgiven by "optional"). */
#define MV_ERR_HOOK_REJECTED (-0x7F10)   /* the verify hook rejected a certificate */
#define MV_ERR_CALLBACK_PANIC (-0x7F11)  /* a Rust callback panicked */
#define MV_ERR_CALLBACK_FAILED (-0x7F12) /* a Rust callback returned an error */
#define MV_ERR_POLICY_REJECTED (-0x7F13) /* the client-authorization policy said no */
#define MV_ERR_UNVERIFIED (-0x7F14)      /* failure flags left at the end of a chain */

/* Callbacks from C into Rust. */
typedef int (*mv_verify_cb)(void *ctx, mv_cert *crt, int depth, uint32_t *flags);
typedef int (*mv_ca_cb)(void *ctx, const mv_cert *child, mv_cert **candidates);
typedef int (*mv_send_cb)(void *ctx, const uint8_t *buf, size_t len);
typedef int (*mv_recv_cb)(void *ctx, uint8_t *buf, size_t len);
typedef int (*mv_sni_cb)(void *ctx, mv_ssl *ssl, const uint8_t *name, size_t len);
/* Fill buf with len random bytes; 0 on success. */
typedef int (*mv_rng_fn)(void *ctx, uint8_t *buf, size_t len);
/* Write the current Unix time in seconds; 0 on success, non-zero if unknown. */
typedef int (*mv_clock_fn)(int64_t *unix_seconds);

/* ---- Platform --------------------------------------------------------- */
uint32_t mv_version_number(void);      /* mbedTLS MBEDTLS_VERSION_NUMBER it was built from */
int mv_platform_init(void);            /* psa_crypto_init; idempotent */
int mv_selftest(int verbose);          /* number of failed self-tests; -1 if not compiled in */
void mv_set_rng(mv_rng_fn f, void *ctx);          /* entropy source (bare metal) */
void mv_set_clock(mv_clock_fn f);                  /* wall clock (bare metal) */
void mv_time_override_set(int64_t unix_seconds);   /* this thread's validation time */
void mv_time_override_clear(void);
int mv_time_known(void);                           /* 1 if verification has a current time */
int mv_random(uint8_t *buf, size_t len);           /* the RNG every mbedTLS call here uses */
void mv_zeroize(void *buf, size_t len);
int mv_set_calloc_free(void *(*calloc_fn)(size_t, size_t), void (*free_fn)(void *));
void mv_strerror(int code, char *buf, size_t len);
int mv_sha256(const uint8_t *data, size_t len, uint8_t out[32]);
/* Feature bits compiled into the linked mbedTLS (MV_FEAT_*). */
uint32_t mv_features(void);
#define MV_FEAT_CA_CB 0x1u
#define MV_FEAT_CRL 0x2u
#define MV_FEAT_TIME_DATE 0x4u
#define MV_FEAT_THREADING 0x8u
#define MV_FEAT_TIME_OVERRIDE 0x10u
#define MV_FEAT_TLS13 0x20u
#define MV_FEAT_RSA 0x40u
#define MV_FEAT_SERVER_TICKETS 0x80u  /* MBEDTLS_SSL_TICKET_C: servers could issue tickets */
#define MV_FEAT_SESSION_CACHE 0x100u  /* MBEDTLS_SSL_CACHE_C */

/* ---- Certificates ------------------------------------------------------ */
mv_cert *mv_crt_new(void);
void mv_crt_free(mv_cert *crt);
/* One DER certificate. Accepts a nameConstraints extension even when critical (the
 * crate's verify callback enforces it); any other unknown critical extension fails. */
int mv_crt_parse_der(mv_cert *chain, const uint8_t *buf, size_t len);
/* As mv_crt_parse_der; buf must stay valid and unchanged for the life of chain. */
int mv_crt_parse_der_nocopy(mv_cert *chain, const uint8_t *buf, size_t len);
/* Every CERTIFICATE block of a PEM text (buf NUL-terminated, len counts the NUL), each
 * as mv_crt_parse_der. 0 when all parsed (at least one), else the first error. */
int mv_crt_parse_pem(mv_cert *chain, const uint8_t *buf, size_t len);
/* Next certificate of a chain, or NULL. An empty (unparsed) head also yields NULL
 * from mv_crt_is_empty. */
mv_cert *mv_crt_next(const mv_cert *crt);
int mv_crt_is_empty(const mv_cert *crt);
void mv_crt_info(const mv_cert *crt, mv_cert_info *out);
/* One byte range of a certificate (MV_PART_*), without filling a whole mv_cert_info:
 * what the verify callback reads for every certificate. Empty for an unknown part. */
#define MV_PART_RAW 0
#define MV_PART_SUBJECT 1
#define MV_PART_ISSUER 2
#define MV_PART_SERIAL 3
#define MV_PART_SPKI 4
#define MV_PART_V3_EXT 5
mv_buf mv_crt_part(const mv_cert *crt, int part);
int mv_crt_seq_get(const mv_cert *crt, int kind, size_t idx, uint8_t *tag, mv_buf *out);
int mv_crt_check_key(const mv_cert *crt, const mv_pk *key);

/* ---- CRLs ---------------------------------------------------------------- */
mv_crl *mv_crl_new(void);
void mv_crl_free(mv_crl *crl);
int mv_crl_parse(mv_crl *crl, const uint8_t *buf, size_t len); /* PEM needs the NUL */
/* The DER of the idx-th CRL of a list ({NULL, 0} past the end). */
mv_buf mv_crl_raw(const mv_crl *crl, size_t idx);

/* ---- Verification ------------------------------------------------------ */
int mv_verify(mv_cert *chain, mv_cert *trust_ca, mv_crl *ca_crl, const mv_profile *profile,
              const char *cn, uint32_t *flags, mv_verify_cb f_vrfy, void *p_vrfy);
int mv_verify_with_ca_cb(mv_cert *chain, mv_ca_cb f_ca_cb, void *p_ca_cb,
                         const mv_profile *profile, const char *cn, uint32_t *flags,
                         mv_verify_cb f_vrfy, void *p_vrfy);

/* ---- Keys ---------------------------------------------------------------- */
mv_pk *mv_pk_new(void);
void mv_pk_free(mv_pk *pk);
/* PEM (with its NUL) or DER; unencrypted keys only. */
int mv_pk_parse_key(mv_pk *pk, const uint8_t *buf, size_t len);
int mv_pk_gen_ec(mv_pk *pk, uint32_t group_id);
int mv_pk_gen_rsa(mv_pk *pk, uint32_t bits);
/* DER written at the start of buf; *out_len set. */
int mv_pk_write_key_der(mv_pk *pk, uint8_t *buf, size_t size, size_t *out_len);
int mv_pk_write_pubkey_der(mv_pk *pk, uint8_t *buf, size_t size, size_t *out_len);
/* Hash data with md_alg and sign the hash (the algorithm is the key's). */
int mv_pk_sign(mv_pk *pk, uint32_t md_alg, const uint8_t *data, size_t len,
               uint8_t *sig, size_t sig_size, size_t *sig_len);
uint32_t mv_pk_type(const mv_pk *pk);

/* ---- Certificate writing (x509write) ----------------------------------- */
typedef struct mv_raw_ext {
    mv_buf oid;      /* OID contents */
    int32_t critical;
    mv_buf value;    /* extnValue contents (DER of the extension's own value) */
} mv_raw_ext;

typedef struct mv_crt_write_params {
    const char *subject_name; /* mbedTLS string form "CN=...,O=..." */
    const char *issuer_name;
    mv_buf serial;            /* big-endian, at most 20 bytes */
    const char *not_before;   /* "YYYYMMDDhhmmss" */
    const char *not_after;
    uint32_t md_alg;          /* mbedtls_md_type_t */
    int32_t key_identifiers;  /* non-zero: add subjectKeyIdentifier and authorityKeyIdentifier */
    const mv_raw_ext *exts;   /* any other extension, already encoded */
    size_t ext_count;
} mv_crt_write_params;

int mv_crt_write_der(const mv_crt_write_params *params, mv_pk *subject_key, mv_pk *issuer_key,
                     uint8_t *buf, size_t size, size_t *out_len);

/* ---- TLS configuration -------------------------------------------------- */
#define MV_ENDPOINT_CLIENT 0
#define MV_ENDPOINT_SERVER 1
mv_ssl_conf *mv_ssl_conf_new(int endpoint, int *err);
void mv_ssl_conf_free(mv_ssl_conf *conf);
void mv_ssl_conf_authmode(mv_ssl_conf *conf, int authmode); /* MBEDTLS_SSL_VERIFY_* */
void mv_ssl_conf_versions(mv_ssl_conf *conf, uint32_t min_tls, uint32_t max_tls); /* 0x0303 / 0x0304 */
void mv_ssl_conf_ca_chain(mv_ssl_conf *conf, mv_cert *ca, mv_crl *crl);
int mv_ssl_conf_ca_cb(mv_ssl_conf *conf, mv_ca_cb f, void *ctx);
void mv_ssl_conf_verify(mv_ssl_conf *conf, mv_verify_cb f, void *ctx);
/* profile must outlive conf. */
void mv_ssl_conf_profile(mv_ssl_conf *conf, const mv_profile *profile);
int mv_ssl_conf_own_cert(mv_ssl_conf *conf, mv_cert *chain, mv_pk *key);
/* protos: NULL-terminated array that must outlive conf. */
int mv_ssl_conf_alpn(mv_ssl_conf *conf, const char **protos);
void mv_ssl_conf_sni(mv_ssl_conf *conf, mv_sni_cb f, void *ctx);
/* Disable session tickets (client side) and renegotiation; servers built here never issue tickets. */
void mv_ssl_conf_no_resumption(mv_ssl_conf *conf);

/* ---- TLS session --------------------------------------------------------- */
mv_ssl *mv_ssl_new(const mv_ssl_conf *conf, int *err);
void mv_ssl_free(mv_ssl *ssl);
int mv_ssl_set_hostname(mv_ssl *ssl, const char *hostname); /* NULL: no name check */
void mv_ssl_set_bio(mv_ssl *ssl, void *ctx, mv_send_cb f_send, mv_recv_cb f_recv);
void mv_ssl_set_verify(mv_ssl *ssl, mv_verify_cb f, void *ctx);
int mv_ssl_set_hs_own_cert(mv_ssl *ssl, mv_cert *chain, mv_pk *key);
void mv_ssl_set_hs_authmode(mv_ssl *ssl, int authmode);
int mv_ssl_handshake(mv_ssl *ssl);
int mv_ssl_read(mv_ssl *ssl, uint8_t *buf, size_t len);
int mv_ssl_write(mv_ssl *ssl, const uint8_t *buf, size_t len);
int mv_ssl_close_notify(mv_ssl *ssl);
/* Send a fatal alert (MBEDTLS_SSL_ALERT_MSG_* description, e.g. 49 access_denied). */
int mv_ssl_send_fatal_alert(mv_ssl *ssl, uint8_t description);
uint32_t mv_ssl_verify_result(const mv_ssl *ssl);
const mv_cert *mv_ssl_peer_cert(const mv_ssl *ssl);
uint32_t mv_ssl_version(const mv_ssl *ssl);           /* 0x0303, 0x0304, 0 unknown */
const char *mv_ssl_ciphersuite(const mv_ssl *ssl);
const char *mv_ssl_alpn(const mv_ssl *ssl);
size_t mv_ssl_bytes_avail(const mv_ssl *ssl);

#ifdef __cplusplus
}
#endif

#endif /* MV_SHIM_H */
