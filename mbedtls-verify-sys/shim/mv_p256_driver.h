/*
 * Feature `p256-ecdh-rustcrypto` (shim/mv_p256_driver.c): results of the Rust side and the
 * test entry points that run the same operation through the PSA core (where the driver
 * takes it) or through mbedTLS's own code directly.
 */
#ifndef MV_P256_DRIVER_H
#define MV_P256_DRIVER_H

#include <stddef.h>
#include <stdint.h>

/* Results of the Rust functions (src/p256_ecdh.rs). */
#define MV_P256_DONE 0
#define MV_P256_DECLINE 1 /* not the ordinary case: mbedTLS's own code decides */
#define MV_P256_FAILED (-1)

/* `which` for the test entry points. */
#define MV_P256_TEST_PSA 0     /* psa_* API: the driver (Rust) where it takes the case */
#define MV_P256_TEST_MBEDTLS 1 /* mbedTLS's built-in code, called directly */

/* ECDH with the private key `priv` (the 32-byte PSA key format) and the peer's public value;
 * returns a psa_status_t. */
int mv_p256_ecdh_test(int which, const uint8_t *priv, size_t priv_len,
                      const uint8_t *peer, size_t peer_len,
                      uint8_t *out, size_t out_size, size_t *out_len);

/* The public value (65 bytes, uncompressed) of private key `priv`; returns a psa_status_t. */
int mv_p256_public_key_test(int which, const uint8_t *priv, size_t priv_len,
                            uint8_t *out, size_t out_size, size_t *out_len);

/* psa_generate_key for an ECDH P-256 key pair, then both halves exported. */
int mv_p256_generate_test(uint8_t *priv, size_t priv_size, size_t *priv_len,
                          uint8_t *pub, size_t pub_size, size_t *pub_len);

#endif /* MV_P256_DRIVER_H */
