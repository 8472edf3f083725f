/*
 * mbedtls-verify: the C side of the `p256-verify-rustcrypto` feature.
 *
 * With the feature, mv_config.h defines MBEDTLS_ECDSA_VERIFY_ALT and the Rust crate
 * (src/p256_verify.rs) exports mbedtls_ecdsa_verify(). This file gives it:
 *   - mbedTLS's own verify under another name (mv_ecdsa_verify_mbedtls), for every group
 *     that is not the standard P-256 (with p256-only the Rust side does not call it: such a
 *     group fails closed, and the tests still compare against it);
 *   - layout-free accessors, so the Rust side never depends on mbedTLS's struct layouts;
 *   - a test entry point that builds the C objects from bytes (differential tests).
 */
#ifndef MV_ECDSA_ALT_H
#define MV_ECDSA_ALT_H

#include <stddef.h>
#include <stdint.h>

#include "mbedtls/ecp.h"
#include "mbedtls/bignum.h"

/* mbedTLS 3.6's own mbedtls_ecdsa_verify (ecdsa.c compiled a second time, renamed). */
int mv_ecdsa_verify_mbedtls(mbedtls_ecp_group *grp, const unsigned char *buf, size_t blen,
                            const mbedtls_ecp_point *Q, const mbedtls_mpi *r,
                            const mbedtls_mpi *s);

/* Coordinates of a point (0 = X, 1 = Y, 2 = Z) and parameters of a group
 * (0 = P, 1 = A, 2 = B, 3 = N, 4 = G.X, 5 = G.Y, 6 = G.Z). NULL for any other index. */
const mbedtls_mpi *mv_ecp_point_coord(const mbedtls_ecp_point *pt, int which);
const mbedtls_mpi *mv_ecp_group_param(const mbedtls_ecp_group *grp, int which);
/* grp->id, grp->nbits; mv_ecp_group_loaded: 1 if grp->N has limbs (mbedTLS's own test);
 * mv_ecp_group_a_is_minus_3: 1 if grp->A is unset, which mbedTLS reads as A = -3. */
int mv_ecp_group_id(const mbedtls_ecp_group *grp);
size_t mv_ecp_group_nbits(const mbedtls_ecp_group *grp);
int mv_ecp_group_loaded(const mbedtls_ecp_group *grp);
int mv_ecp_group_a_is_minus_3(const mbedtls_ecp_group *grp);

/* An MPI as 32 big-endian bytes: 0 when 0 <= X < 2^256 (written to out), -1 when X < 0,
 * 1 when X >= 2^256 (out is zeroed in both error cases). */
int mv_mpi_be32(const mbedtls_mpi *X, uint8_t out[32]);

/* Test entry point: builds the group `grp_id`, the point (X, Y, Z) and r, s from big-endian
 * magnitudes (a negative flag makes the value negative; a NULL magnitude leaves the MPI
 * unset) and calls mbedtls_ecdsa_verify (which = 0, the feature's export) or mbedTLS's own
 * (which = 1). which = 2 or 3: the same on the group with A written out as P - 3 (the same
 * curve, but not the group mbedtls_ecp_group_load makes; for curves whose A is set, setup
 * fails). Returns that call's result, or MV_ECDSA_TEST_SETUP_FAILED when the inputs could
 * not be built (allocation). */
#define MV_ECDSA_TEST_SETUP_FAILED (-0x7FFFFFFF)
typedef struct {
    const uint8_t *mag;
    size_t len;
    int negative;
} mv_bytes_mpi;
int mv_ecdsa_verify_test(int which, uint32_t grp_id, const uint8_t *hash, size_t hlen,
                         const mv_bytes_mpi *x, const mv_bytes_mpi *y, const mv_bytes_mpi *z,
                         const mv_bytes_mpi *r, const mv_bytes_mpi *s);

/* Test entry point for the whole signature path: an ECDSA context on group `grp_id` with the
 * public key (X, Y) (Z = 1), and mbedtls_ecdsa_read_signature (DER signature) as mbedTLS
 * runs it with the feature (which = 0: reaches mbedtls_ecdsa_verify, the Rust export) or
 * without it (which = 1: the same function from the renamed copy of ecdsa.c, which calls
 * mbedTLS's own verify). */
int mv_ecdsa_read_signature_test(int which, uint32_t grp_id, const uint8_t *x, size_t xlen,
                                 const uint8_t *y, size_t ylen, const uint8_t *hash,
                                 size_t hlen, const uint8_t *sig, size_t slen);

#endif /* MV_ECDSA_ALT_H */
