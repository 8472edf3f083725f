/*
 * Feature `p256-ecdh-rustcrypto`: P-256 key generation, public-key export and ECDH in Rust,
 * registered with mbedTLS 3.6's PSA core through its built-in slot for a P-256 transparent
 * driver (MBEDTLS_PSA_P256M_DRIVER_ENABLED: psa_crypto_driver_wrappers.h calls the
 * `p256_transparent_*` entry points declared in the tree's 3rdparty/p256-m header, which is
 * included here so that the compiler checks every signature against it). p256-m itself is
 * not compiled; these entry points are this project's.
 *
 * What TLS 1.3 runs through them (mbedTLS 3.6, this crate's configuration): the ephemeral
 * key (psa_generate_key -> generate_key), its public value (psa_export_public_key ->
 * export_public_key) and the shared secret (psa_raw_key_agreement -> key_agreement).
 *
 * The rule that keeps mbedTLS's behaviour: the Rust side takes only the ordinary case (the
 * standard P-256 key pair, a 32-byte private key in 1 .. n-1, a 65-byte uncompressed peer
 * point that lies on the curve). Anything else returns PSA_ERROR_NOT_SUPPORTED, which makes
 * the PSA core fall back to mbedTLS's own code, so every unusual input gets exactly
 * mbedTLS's answer (tests/p256_ecdh.rs checks this against the built-in code directly).
 * A failure inside the Rust side (a caught panic) is an error, never a fallback.
 *
 * Secrets: random private keys come from psa_generate_random (the PSA RNG: the same source
 * the built-in generator uses); local copies are wiped with mbedtls_platform_zeroize.
 * Signing and ECDSA verification through PSA stay with the built-in code (verification
 * reaches mbedtls_ecdsa_verify, which feature `p256-verify-rustcrypto` replaces).
 */
#include "mbedtls/build_info.h"

#if defined(MV_P256_ECDH_RUST)

#include <string.h>

#include "psa/crypto.h"
#include "mbedtls/platform_util.h"
#include "p256-m_driver_entrypoints.h"
#include "psa_crypto_ecp.h" /* mbedTLS's own code, for the test entry points */

#include "mv_p256_driver.h"

/* Rust side (src/p256_ecdh.rs). Results: MV_P256_DONE, MV_P256_DECLINE (not the ordinary
 * case: mbedTLS decides), or MV_P256_FAILED. */
int mv_p256_rust_scalar_ok(const uint8_t k[32]);
int mv_p256_rust_public_key(const uint8_t d[32], uint8_t out[65]);
int mv_p256_rust_shared_secret(const uint8_t d[32], const uint8_t peer[65], uint8_t out[32]);

/* mbedtls_mpi_random's bound on attempts (bignum.c): with n this close to 2^256 a
 * rejection happens with probability < 2^-32, so 30 failures mean a broken RNG. */
#define MV_P256_KEYGEN_TRIES 30

static int is_p256_key_pair(const psa_key_attributes_t *attributes)
{
    return psa_get_key_type(attributes) == PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1) &&
           psa_get_key_bits(attributes) == 256;
}

static psa_status_t rust_failed(void)
{
    return PSA_ERROR_CORRUPTION_DETECTED;
}

psa_status_t p256_transparent_import_key(const psa_key_attributes_t *attributes,
                                         const uint8_t *data,
                                         size_t data_length,
                                         uint8_t *key_buffer,
                                         size_t key_buffer_size,
                                         size_t *key_buffer_length,
                                         size_t *bits)
{
    (void) attributes; (void) data; (void) data_length; (void) key_buffer;
    (void) key_buffer_size; (void) key_buffer_length; (void) bits;
    /* mbedTLS's import checks and stores keys in the same format this driver reads. */
    return PSA_ERROR_NOT_SUPPORTED;
}

psa_status_t p256_transparent_generate_key(const psa_key_attributes_t *attributes,
                                           uint8_t *key_buffer,
                                           size_t key_buffer_size,
                                           size_t *key_buffer_length)
{
    uint8_t k[32];
    psa_status_t status = PSA_ERROR_INSUFFICIENT_ENTROPY;
    int tries;

    if (!is_p256_key_pair(attributes) || key_buffer == NULL || key_buffer_length == NULL ||
        key_buffer_size < sizeof(k)) {
        return PSA_ERROR_NOT_SUPPORTED;
    }
    for (tries = 0; tries < MV_P256_KEYGEN_TRIES; tries++) {
        int rc;
        status = psa_generate_random(k, sizeof(k));
        if (status != PSA_SUCCESS) {
            break;
        }
        rc = mv_p256_rust_scalar_ok(k);
        if (rc == MV_P256_DONE) {
            memcpy(key_buffer, k, sizeof(k));
            *key_buffer_length = sizeof(k);
            break;
        }
        if (rc != MV_P256_DECLINE) {
            status = rust_failed();
            break;
        }
        status = PSA_ERROR_INSUFFICIENT_ENTROPY;
    }
    mbedtls_platform_zeroize(k, sizeof(k));
    return status;
}

psa_status_t p256_transparent_export_public_key(const psa_key_attributes_t *attributes,
                                                const uint8_t *key_buffer,
                                                size_t key_buffer_size,
                                                uint8_t *data,
                                                size_t data_size,
                                                size_t *data_length)
{
    int rc;

    /* Called for every key type (the wrapper does not filter): only P-256 key pairs here. */
    if (!is_p256_key_pair(attributes) || key_buffer == NULL || key_buffer_size != 32 ||
        data == NULL || data_length == NULL || data_size < 65) {
        return PSA_ERROR_NOT_SUPPORTED;
    }
    rc = mv_p256_rust_public_key(key_buffer, data);
    if (rc == MV_P256_DONE) {
        *data_length = 65;
        return PSA_SUCCESS;
    }
    return rc == MV_P256_DECLINE ? PSA_ERROR_NOT_SUPPORTED : rust_failed();
}

psa_status_t p256_transparent_key_agreement(const psa_key_attributes_t *attributes,
                                            const uint8_t *key_buffer,
                                            size_t key_buffer_size,
                                            psa_algorithm_t alg,
                                            const uint8_t *peer_key,
                                            size_t peer_key_length,
                                            uint8_t *shared_secret,
                                            size_t shared_secret_size,
                                            size_t *shared_secret_length)
{
    uint8_t z[32];
    int rc;

    if (alg != PSA_ALG_ECDH || !is_p256_key_pair(attributes) || key_buffer == NULL ||
        key_buffer_size != 32 || peer_key == NULL || peer_key_length != 65 ||
        peer_key[0] != 0x04 || shared_secret == NULL || shared_secret_length == NULL ||
        shared_secret_size < sizeof(z)) {
        return PSA_ERROR_NOT_SUPPORTED;
    }
    rc = mv_p256_rust_shared_secret(key_buffer, peer_key, z);
    if (rc == MV_P256_DONE) {
        memcpy(shared_secret, z, sizeof(z));
        *shared_secret_length = sizeof(z);
    }
    mbedtls_platform_zeroize(z, sizeof(z));
    if (rc == MV_P256_DONE) {
        return PSA_SUCCESS;
    }
    return rc == MV_P256_DECLINE ? PSA_ERROR_NOT_SUPPORTED : rust_failed();
}

psa_status_t p256_transparent_sign_hash(const psa_key_attributes_t *attributes,
                                        const uint8_t *key_buffer,
                                        size_t key_buffer_size,
                                        psa_algorithm_t alg,
                                        const uint8_t *hash,
                                        size_t hash_length,
                                        uint8_t *signature,
                                        size_t signature_size,
                                        size_t *signature_length)
{
    (void) attributes; (void) key_buffer; (void) key_buffer_size; (void) alg; (void) hash;
    (void) hash_length; (void) signature; (void) signature_size; (void) signature_length;
    return PSA_ERROR_NOT_SUPPORTED; /* signing stays with mbedTLS */
}

psa_status_t p256_transparent_verify_hash(const psa_key_attributes_t *attributes,
                                          const uint8_t *key_buffer,
                                          size_t key_buffer_size,
                                          psa_algorithm_t alg,
                                          const uint8_t *hash,
                                          size_t hash_length,
                                          const uint8_t *signature,
                                          size_t signature_length)
{
    (void) attributes; (void) key_buffer; (void) key_buffer_size; (void) alg; (void) hash;
    (void) hash_length; (void) signature; (void) signature_length;
    return PSA_ERROR_NOT_SUPPORTED; /* the built-in code, which ends in mbedtls_ecdsa_verify */
}

/* ---- Test entry points (tests/p256_ecdh.rs, fuzz target ecdh_p256) --------------------- */

/* The attributes of an ECDH P-256 key pair, as TLS 1.3 makes its ephemeral keys. */
static void ecdh_pair_attributes(psa_key_attributes_t *attr)
{
    psa_set_key_type(attr, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1));
    psa_set_key_bits(attr, 256);
    psa_set_key_usage_flags(attr, PSA_KEY_USAGE_DERIVE | PSA_KEY_USAGE_EXPORT);
    psa_set_key_algorithm(attr, PSA_ALG_ECDH);
}

static psa_status_t import_pair(const uint8_t *priv, size_t priv_len, psa_key_id_t *id,
                                psa_key_attributes_t *attr)
{
    psa_status_t status = psa_crypto_init();
    if (status != PSA_SUCCESS) {
        return status;
    }
    ecdh_pair_attributes(attr);
    return psa_import_key(attr, priv, priv_len, id);
}

int mv_p256_ecdh_test(int which, const uint8_t *priv, size_t priv_len,
                      const uint8_t *peer, size_t peer_len,
                      uint8_t *out, size_t out_size, size_t *out_len)
{
    psa_key_attributes_t attr = PSA_KEY_ATTRIBUTES_INIT;
    psa_key_id_t id = 0;
    psa_status_t status;

    *out_len = 0;
    if (which == MV_P256_TEST_PSA) {
        status = import_pair(priv, priv_len, &id, &attr);
        if (status == PSA_SUCCESS) {
            status = psa_raw_key_agreement(PSA_ALG_ECDH, id, peer, peer_len, out, out_size,
                                           out_len);
        }
        psa_destroy_key(id);
        return (int) status;
    }
    /* mbedTLS's code on the same stored key (what import produced: the 32-byte scalar). */
    ecdh_pair_attributes(&attr);
    status = psa_crypto_init();
    if (status == PSA_SUCCESS) {
        status = mbedtls_psa_key_agreement_ecdh(&attr, priv, priv_len, PSA_ALG_ECDH, peer,
                                                peer_len, out, out_size, out_len);
    }
    return (int) status;
}

int mv_p256_public_key_test(int which, const uint8_t *priv, size_t priv_len,
                            uint8_t *out, size_t out_size, size_t *out_len)
{
    psa_key_attributes_t attr = PSA_KEY_ATTRIBUTES_INIT;
    psa_key_id_t id = 0;
    psa_status_t status;

    *out_len = 0;
    if (which == MV_P256_TEST_PSA) {
        status = import_pair(priv, priv_len, &id, &attr);
        if (status == PSA_SUCCESS) {
            status = psa_export_public_key(id, out, out_size, out_len);
        }
        psa_destroy_key(id);
        return (int) status;
    }
    ecdh_pair_attributes(&attr);
    status = psa_crypto_init();
    if (status == PSA_SUCCESS) {
        status = mbedtls_psa_ecp_export_public_key(&attr, priv, priv_len, out, out_size,
                                                   out_len);
    }
    return (int) status;
}

int mv_p256_generate_test(uint8_t *priv, size_t priv_size, size_t *priv_len,
                          uint8_t *pub, size_t pub_size, size_t *pub_len)
{
    psa_key_attributes_t attr = PSA_KEY_ATTRIBUTES_INIT;
    psa_key_id_t id = 0;
    psa_status_t status = psa_crypto_init();

    *priv_len = 0;
    *pub_len = 0;
    if (status != PSA_SUCCESS) {
        return (int) status;
    }
    ecdh_pair_attributes(&attr);
    status = psa_generate_key(&attr, &id);
    if (status == PSA_SUCCESS) {
        status = psa_export_key(id, priv, priv_size, priv_len);
    }
    if (status == PSA_SUCCESS) {
        status = psa_export_public_key(id, pub, pub_size, pub_len);
    }
    psa_destroy_key(id);
    return (int) status;
}

#endif /* MV_P256_ECDH_RUST */
