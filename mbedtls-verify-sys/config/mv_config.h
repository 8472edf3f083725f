/*
 * mbedtls-verify: the full mbedTLS 3.6 configuration this project builds.
 *
 * Passed to every C file as MBEDTLS_CONFIG_FILE. Two profiles:
 *   MV_PROFILE_HOST      - hosted OS: OS entropy (getrandom), OS clock, pthreads.
 *   MV_PROFILE_BAREMETAL - no sockets, files, timing or threads; entropy and the
 *                          wall clock are supplied by the application at run time.
 * The build script also passes, per build, MV_SSL_IN_CONTENT_LEN / MV_SSL_OUT_CONTENT_LEN
 * (record buffer sizes, which dominate RAM on ESP32) and optional MV_P256_ONLY.
 *
 * Only what the crate uses is compiled in: X.509 parsing/verification/writing,
 * CRLs, the trusted-CA callback, TLS 1.2 + 1.3 (ECDHE, no PSK, no renegotiation),
 * ECDSA P-256/P-384 (+X25519 key exchange), RSA PKCS#1 v1.5 and v2.1 (PSS).
 */
#ifndef MV_CONFIG_H
#define MV_CONFIG_H

#if !defined(MV_PROFILE_HOST) && !defined(MV_PROFILE_BAREMETAL)
#error "mbedtls-verify: define MV_PROFILE_HOST or MV_PROFILE_BAREMETAL"
#endif

/* ---- System support ---------------------------------------------------- */
#define MBEDTLS_HAVE_ASM
#define MBEDTLS_HAVE_TIME
#define MBEDTLS_HAVE_TIME_DATE
#define MBEDTLS_DEPRECATED_REMOVED

/* ---- Platform: allocator hooks, time supplied by the shim --------------- */
#define MBEDTLS_PLATFORM_C
#define MBEDTLS_PLATFORM_MEMORY
#define MBEDTLS_PLATFORM_TIME_ALT
#define MBEDTLS_PLATFORM_STD_TIME mv_platform_time
#define MBEDTLS_PLATFORM_GMTIME_R_ALT
#define MBEDTLS_PLATFORM_MS_TIME_ALT
#define MBEDTLS_NO_PLATFORM_ENTROPY
#define MBEDTLS_PSA_CRYPTO_EXTERNAL_RNG
#define MBEDTLS_ERROR_C
#define MBEDTLS_VERSION_C
#define MBEDTLS_X509_REMOVE_INFO

#if defined(MV_PROFILE_HOST)
#define MBEDTLS_THREADING_C
#define MBEDTLS_THREADING_PTHREAD
#define MBEDTLS_SELF_TEST
/* AES-NI: 2.7x fewer instructions per AES-GCM record for ~1.7 KB of code (benches/CONFIG.md). */
#if !defined(MV_NO_AESNI)
#define MBEDTLS_AESNI_C
#endif
#endif

/* ---- Hashes, ciphers --------------------------------------------------- */
#define MBEDTLS_MD_C
#define MBEDTLS_SHA1_C            /* legacy signatures: rejected by the default profile */
#define MBEDTLS_SHA224_C
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA384_C
#define MBEDTLS_SHA512_C
#define MBEDTLS_AES_C
#if defined(MV_PROFILE_BAREMETAL) && !defined(MV_AES_RAM_TABLES)
/* Devices: AES's lookup tables as constants in flash instead of generated into RAM (.bss).
 * On riscv32imc: -8.7 KB of static RAM for +7.9 KB of flash, same instruction counts
 * (benches/CONFIG.md). MV_AES_RAM_TABLES restores mbedTLS's default. */
#define MBEDTLS_AES_ROM_TABLES
#endif
#define MBEDTLS_GCM_C
#define MBEDTLS_CHACHA20_C
#define MBEDTLS_POLY1305_C
#define MBEDTLS_CHACHAPOLY_C
#define MBEDTLS_CIPHER_C
#define MBEDTLS_HKDF_C
#define MBEDTLS_HMAC_DRBG_C       /* deterministic ECDSA: signing does not depend on RNG quality */

/* ---- Public key ---------------------------------------------------------- */
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_ECP_C
/* Measured in benches/CONFIG.md (benches/config-sweep). Both profiles keep the fixed-point
 * comb tables (MBEDTLS_ECP_FIXED_POINT_OPTIM, mbedTLS's default: dropping them saves 10.9 KB
 * of flash on riscv32imc for +36-41 % per P-256 handshake) and the NIST fast reductions
 * (dropping them saves 3.3 KB for +179-284 %). The host keeps mbedTLS's window of 4 (5 and
 * 6 change nothing for P-256; 3 and 2 cost +2.7 % / +9.6 % per verification). */
#if !defined(MV_NO_NIST_OPTIM)
#define MBEDTLS_ECP_NIST_OPTIM
#endif
#if defined(MV_PROFILE_BAREMETAL) && !defined(MBEDTLS_ECP_WINDOW_SIZE)
/* Devices: a 3-bit window instead of 4. On riscv32imc, P-256: -1.4 KB heap peak per TLS 1.3
 * handshake side (client 30.1 -> 28.7 KB, server 30.7 -> 29.3 KB) for +1.8 % handshake and
 * +2.6 % chain-verification instructions; flash unchanged. (A window of 2 saves at most
 * 0.6 KB more, for +6.6 % / +9.4 % against 4.) */
#define MBEDTLS_ECP_WINDOW_SIZE 3
#endif
#define MBEDTLS_ECDSA_C
#define MBEDTLS_ECDSA_DETERMINISTIC
/* Feature `p256-verify-rustcrypto` (the build script defines MV_ECDSA_VERIFY_RUST): ECDSA
 * verification comes from the Rust crate (src/p256_verify.rs), which handles the standard
 * P-256 group itself and hands every other group to mbedTLS's own verify, compiled under the
 * name mv_ecdsa_verify_mbedtls by shim/mv_ecdsa_alt.c (that file defines MV_ECDSA_ORIG_TU);
 * with `p256-only` there is no other group mbedTLS can build, so that copy is left out and
 * any group but the standard P-256 fails closed (MBEDTLS_ERR_ECP_FEATURE_UNAVAILABLE).
 * In this configuration (no MBEDTLS_ECP_RESTARTABLE) every verification reaches
 * mbedtls_ecdsa_verify: PK (X.509, TLS CertificateVerify) through
 * mbedtls_ecdsa_read_signature, and PSA's built-in ECDSA through mbedtls_psa_ecdsa_verify_hash. */
#if defined(MV_ECDSA_VERIFY_RUST) && !defined(MV_ECDSA_ORIG_TU)
#define MBEDTLS_ECDSA_VERIFY_ALT
#endif
#define MBEDTLS_ECDH_C
/* Feature `p256-ecdh-rustcrypto` (the build script defines MV_P256_ECDH_RUST): P-256 key
 * generation, public values and ECDH in Rust (src/p256_ecdh.rs), registered through PSA's
 * built-in slot for a P-256 transparent driver; shim/mv_p256_driver.c defines its entry
 * points (p256-m itself is not compiled). TLS 1.3 runs its key exchange through PSA, so
 * this is the path it takes; anything but the ordinary case falls back to the code below.
 * Without MBEDTLS_PSA_CRYPTO_CONFIG the built-in PSA code for P-256 stays compiled (the
 * fallback, and signing). */
#if defined(MV_P256_ECDH_RUST)
#if defined(MV_P256M)
#error "p256-ecdh-rustcrypto and MV_P256M both define PSA's P-256 driver: choose one"
#endif
#define MBEDTLS_PSA_P256M_DRIVER_ENABLED
#endif
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#if !defined(MV_P256_ONLY)
#define MBEDTLS_ECP_DP_SECP384R1_ENABLED
#define MBEDTLS_ECP_DP_SECP521R1_ENABLED
#define MBEDTLS_ECP_DP_CURVE25519_ENABLED
#define MBEDTLS_RSA_C
#define MBEDTLS_PKCS1_V15
#define MBEDTLS_PKCS1_V21
#define MBEDTLS_GENPRIME
#define MBEDTLS_X509_RSASSA_PSS_SUPPORT
#define MBEDTLS_KEY_EXCHANGE_ECDHE_RSA_ENABLED
#endif
#define MBEDTLS_PK_C
#define MBEDTLS_PK_PARSE_C
#define MBEDTLS_PK_WRITE_C
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C
#define MBEDTLS_OID_C
#define MBEDTLS_BASE64_C
#define MBEDTLS_PEM_PARSE_C
#define MBEDTLS_PEM_WRITE_C

/* ---- PSA (needed by TLS 1.3); random bytes come from the shim ------------ */
#define MBEDTLS_PSA_CRYPTO_C

/* ---- Opt-in, for measurement only: p256-m (benches/CONFIG.md) ------------
 * MV_P256M (through MBEDTLS_VERIFY_SYS_EXTRA_DEFINES; the build script then also compiles
 * the tree's 3rdparty/p256-m) registers p256-m as a PSA transparent driver for secp256r1:
 * ECDSA sign (randomized only) / verify, ECDH, key generation. p256-m is reachable only
 * through PSA calls: without MBEDTLS_USE_PSA_CRYPTO that is TLS 1.3's ECDHE when P-256 is
 * the group (X25519 is preferred unless the `p256-only` feature drops it); X.509 chain
 * verification, TLS 1.2 ECDHE and CertificateVerify stay on the legacy ECDSA/ECP code.
 * MV_P256M_USE_PSA adds MBEDTLS_USE_PSA_CRYPTO, which routes PK (hence X.509 verification
 * and TLS signatures) and TLS 1.2 through PSA as well. The legacy ECP code stays in both
 * cases: the shim uses mbedtls_pk_ec()/mbedtls_ecp_gen_key(), deterministic ECDSA signing
 * and P-384/P-521/X25519 need it, so p256-m adds code rather than replacing it. */
#if defined(MV_P256M)
#define MBEDTLS_PSA_P256M_DRIVER_ENABLED
#if defined(MV_P256M_USE_PSA)
#define MBEDTLS_USE_PSA_CRYPTO
#endif
#endif

/* ---- X.509 --------------------------------------------------------------- */
#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C
#define MBEDTLS_X509_CRL_PARSE_C
#define MBEDTLS_X509_CREATE_C
#define MBEDTLS_X509_CRT_WRITE_C
#define MBEDTLS_X509_TRUSTED_CERTIFICATE_CALLBACK

/* ---- TLS ------------------------------------------------------------------ */
#define MBEDTLS_SSL_TLS_C
#define MBEDTLS_SSL_CLI_C
#define MBEDTLS_SSL_SRV_C
#define MBEDTLS_SSL_PROTO_TLS1_2
#define MBEDTLS_SSL_PROTO_TLS1_3
#define MBEDTLS_SSL_TLS1_3_COMPATIBILITY_MODE
#define MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_EPHEMERAL_ENABLED
#define MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA_ENABLED
#define MBEDTLS_SSL_KEEP_PEER_CERTIFICATE
#define MBEDTLS_SSL_SERVER_NAME_INDICATION
#define MBEDTLS_SSL_ALPN
#define MBEDTLS_SSL_ENCRYPT_THEN_MAC
#define MBEDTLS_SSL_EXTENDED_MASTER_SECRET
#define MBEDTLS_SSL_MAX_FRAGMENT_LENGTH
#define MBEDTLS_SSL_ALL_ALERT_MESSAGES
/* Clients accept (and may ignore) TLS 1.3 tickets; servers never issue them:
 * MBEDTLS_SSL_TICKET_C and MBEDTLS_SSL_CACHE_C are deliberately absent (see README). */
#define MBEDTLS_SSL_SESSION_TICKETS

#if defined(MV_SSL_IN_CONTENT_LEN)
#define MBEDTLS_SSL_IN_CONTENT_LEN MV_SSL_IN_CONTENT_LEN
#endif
#if defined(MV_SSL_OUT_CONTENT_LEN)
#define MBEDTLS_SSL_OUT_CONTENT_LEN MV_SSL_OUT_CONTENT_LEN
#endif

/* The shim's time source for MBEDTLS_PLATFORM_STD_TIME (mbedtls_time_t is time_t). */
#include <time.h>
time_t mv_platform_time(time_t *timer);

#endif /* MV_CONFIG_H */
