/*
 * mbedtls-verify: the C side of the `p256-verify-rustcrypto` feature (see mv_ecdsa_alt.h).
 *
 * mbedTLS's ecdsa.c is compiled a second time here, without MBEDTLS_ECDSA_VERIFY_ALT
 * (MV_ECDSA_ORIG_TU tells mv_config.h), and with every external symbol it defines renamed,
 * so that this object adds exactly one used function, mv_ecdsa_verify_mbedtls: mbedTLS's
 * own verify, unchanged. The other renamed copies are never referenced and are dropped by
 * the linker's section garbage collection. If a future 3.6.x ecdsa.c defines a symbol not
 * listed here, the link fails with a duplicate definition (loud, never silent).
 */
#define MV_ECDSA_ORIG_TU

#define mbedtls_ecdsa_verify mv_ecdsa_verify_mbedtls
#define mbedtls_ecdsa_verify_restartable mv_orig_ecdsa_verify_restartable
#define mbedtls_ecdsa_can_do mv_orig_ecdsa_can_do
#define mbedtls_ecdsa_sign_restartable mv_orig_ecdsa_sign_restartable
#define mbedtls_ecdsa_sign mv_orig_ecdsa_sign
#define mbedtls_ecdsa_sign_det_restartable mv_orig_ecdsa_sign_det_restartable
#define mbedtls_ecdsa_sign_det_ext mv_orig_ecdsa_sign_det_ext
#define mbedtls_ecdsa_write_signature_restartable mv_orig_ecdsa_write_signature_restartable
#define mbedtls_ecdsa_write_signature mv_orig_ecdsa_write_signature
#define mbedtls_ecdsa_read_signature mv_orig_ecdsa_read_signature
#define mbedtls_ecdsa_read_signature_restartable mv_orig_ecdsa_read_signature_restartable
#define mbedtls_ecdsa_genkey mv_orig_ecdsa_genkey
#define mbedtls_ecdsa_from_keypair mv_orig_ecdsa_from_keypair
#define mbedtls_ecdsa_init mv_orig_ecdsa_init
#define mbedtls_ecdsa_free mv_orig_ecdsa_free
#define mbedtls_ecdsa_restart_init mv_orig_ecdsa_restart_init
#define mbedtls_ecdsa_restart_free mv_orig_ecdsa_restart_free

#include "ecdsa.c"

#if defined(MBEDTLS_ECDSA_VERIFY_ALT)
#error "mv_ecdsa_alt.c must compile mbedTLS's own verify (MV_ECDSA_ORIG_TU not honoured)"
#endif

#undef mbedtls_ecdsa_verify
#undef mbedtls_ecdsa_read_signature

#include "mv_ecdsa_alt.h"

/* The feature's export (src/p256_verify.rs) and ecdsa.c's read_signature as built with
 * MBEDTLS_ECDSA_VERIFY_ALT: declared here because ecdsa.h, seen above under the renames,
 * declared them under the mv_ names. */
int mbedtls_ecdsa_verify(mbedtls_ecp_group *grp, const unsigned char *buf, size_t blen,
                         const mbedtls_ecp_point *Q, const mbedtls_mpi *r,
                         const mbedtls_mpi *s);
int mbedtls_ecdsa_read_signature(mbedtls_ecdsa_context *ctx, const unsigned char *hash,
                                 size_t hlen, const unsigned char *sig, size_t slen);

const mbedtls_mpi *mv_ecp_point_coord(const mbedtls_ecp_point *pt, int which)
{
    switch (which) {
        case 0: return &pt->MBEDTLS_PRIVATE(X);
        case 1: return &pt->MBEDTLS_PRIVATE(Y);
        case 2: return &pt->MBEDTLS_PRIVATE(Z);
        default: return NULL;
    }
}

const mbedtls_mpi *mv_ecp_group_param(const mbedtls_ecp_group *grp, int which)
{
    switch (which) {
        case 0: return &grp->P;
        case 1: return &grp->A;
        case 2: return &grp->B;
        case 3: return &grp->N;
        case 4: return &grp->G.MBEDTLS_PRIVATE(X);
        case 5: return &grp->G.MBEDTLS_PRIVATE(Y);
        case 6: return &grp->G.MBEDTLS_PRIVATE(Z);
        default: return NULL;
    }
}

int mv_ecp_group_id(const mbedtls_ecp_group *grp)
{
    return (int) grp->id;
}

size_t mv_ecp_group_nbits(const mbedtls_ecp_group *grp)
{
    return grp->nbits;
}

int mv_ecp_group_loaded(const mbedtls_ecp_group *grp)
{
    return grp->N.MBEDTLS_PRIVATE(p) != NULL;
}

int mv_ecp_group_a_is_minus_3(const mbedtls_ecp_group *grp)
{
    return grp->A.MBEDTLS_PRIVATE(p) == NULL;
}

int mv_mpi_be32(const mbedtls_mpi *X, uint8_t out[32])
{
    memset(out, 0, 32);
    if (mbedtls_mpi_cmp_int(X, 0) < 0) {
        return -1;
    }
    if (mbedtls_mpi_bitlen(X) > 256) {
        return 1;
    }
    /* Cannot fail: the value fits in 32 bytes. */
    return mbedtls_mpi_write_binary(X, out, 32) == 0 ? 0 : 1;
}

static int mv_mpi_from(mbedtls_mpi *X, const mv_bytes_mpi *b)
{
    int ret;
    if (b == NULL || b->mag == NULL) {
        return 0;
    }
    if ((ret = mbedtls_mpi_read_binary(X, b->mag, b->len)) != 0) {
        return ret;
    }
    if (b->negative && mbedtls_mpi_cmp_int(X, 0) != 0) {
        X->MBEDTLS_PRIVATE(s) = -1;
    }
    return 0;
}

int mv_ecdsa_verify_test(int which, uint32_t grp_id, const uint8_t *hash, size_t hlen,
                         const mv_bytes_mpi *x, const mv_bytes_mpi *y, const mv_bytes_mpi *z,
                         const mv_bytes_mpi *r, const mv_bytes_mpi *s)
{
    mbedtls_ecp_group grp;
    mbedtls_ecp_point Q;
    mbedtls_mpi mr, ms;
    int ret = MV_ECDSA_TEST_SETUP_FAILED;
    int explicit_a = which & 2;

    which &= 1;
    mbedtls_ecp_group_init(&grp);
    mbedtls_ecp_point_init(&Q);
    mbedtls_mpi_init(&mr);
    mbedtls_mpi_init(&ms);
    if (mbedtls_ecp_group_load(&grp, (mbedtls_ecp_group_id) grp_id) != 0 ||
        mv_mpi_from(&Q.MBEDTLS_PRIVATE(X), x) != 0 ||
        mv_mpi_from(&Q.MBEDTLS_PRIVATE(Y), y) != 0 ||
        mv_mpi_from(&Q.MBEDTLS_PRIVATE(Z), z) != 0 ||
        mv_mpi_from(&mr, r) != 0 || mv_mpi_from(&ms, s) != 0) {
        goto cleanup;
    }
    /* The same curve, with A = P - 3 written out instead of left unset (A = -3) as
     * mbedtls_ecp_group_load leaves it: a group the Rust side does not take. */
    if (explicit_a && (grp.A.MBEDTLS_PRIVATE(p) != NULL ||
                       mbedtls_mpi_sub_int(&grp.A, &grp.P, 3) != 0)) {
        goto cleanup;
    }
    ret = which == 0 ? mbedtls_ecdsa_verify(&grp, hash, hlen, &Q, &mr, &ms)
                     : mv_ecdsa_verify_mbedtls(&grp, hash, hlen, &Q, &mr, &ms);
cleanup:
    mbedtls_ecp_group_free(&grp);
    mbedtls_ecp_point_free(&Q);
    mbedtls_mpi_free(&mr);
    mbedtls_mpi_free(&ms);
    return ret;
}

int mv_ecdsa_read_signature_test(int which, uint32_t grp_id, const uint8_t *x, size_t xlen,
                                 const uint8_t *y, size_t ylen, const uint8_t *hash,
                                 size_t hlen, const uint8_t *sig, size_t slen)
{
    mbedtls_ecdsa_context ctx;
    int ret = MV_ECDSA_TEST_SETUP_FAILED;

    /* mv_orig_ecdsa_init/free are ecdsa.c's init/free, compiled here under those names. */
    mv_orig_ecdsa_init(&ctx);
    if (mbedtls_ecp_group_load(&ctx.MBEDTLS_PRIVATE(grp), (mbedtls_ecp_group_id) grp_id) != 0 ||
        mbedtls_mpi_read_binary(&ctx.MBEDTLS_PRIVATE(Q).MBEDTLS_PRIVATE(X), x, xlen) != 0 ||
        mbedtls_mpi_read_binary(&ctx.MBEDTLS_PRIVATE(Q).MBEDTLS_PRIVATE(Y), y, ylen) != 0 ||
        mbedtls_mpi_lset(&ctx.MBEDTLS_PRIVATE(Q).MBEDTLS_PRIVATE(Z), 1) != 0) {
        goto cleanup;
    }
    ret = which == 0 ? mbedtls_ecdsa_read_signature(&ctx, hash, hlen, sig, slen)
                     : mv_orig_ecdsa_read_signature(&ctx, hash, hlen, sig, slen);
cleanup:
    mv_orig_ecdsa_free(&ctx);
    return ret;
}
