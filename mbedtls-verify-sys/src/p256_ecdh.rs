//! Feature `p256-ecdh-rustcrypto`: the P-256 arithmetic of TLS's ephemeral key exchange in
//! Rust (RustCrypto `p256`, `no_std`, no heap, constant time).
//!
//! mbedTLS 3.6 runs TLS 1.3's key exchange through PSA: `psa_generate_key` (the ephemeral
//! private key), `psa_export_public_key` (its public value: one fixed-base scalar
//! multiplication) and `psa_raw_key_agreement` (the shared secret: one variable-base scalar
//! multiplication). The build registers `shim/mv_p256_driver.c` as PSA's P-256 transparent
//! driver; its entry points handle the C side (key attributes, buffer sizes, the PSA random
//! generator for new keys) and call the three functions below for the arithmetic.
//!
//! Each function takes only the ordinary case and otherwise answers [`MV_P256_DECLINE`], so
//! the PSA core falls back to mbedTLS's own code, which then gives exactly mbedTLS's answer:
//! a private key outside `1 .. n-1`, a peer point with a coordinate `>= p` or off the curve.
//! Those decisions depend on public values only (a private key is checked in constant time
//! and the answer for it is the same for every valid key). The secret scalar multiplications
//! are `p256`'s constant-time ones (`ProjectivePoint::mul`: a fixed 4-bit window with
//! constant-time table lookups, complete addition formulas; inversion by constant-time
//! exponentiation). Copies of the private scalar and of the shared point are zeroised before
//! returning. A panic on the Rust side is caught (unwinding builds) and becomes
//! [`MV_P256_FAILED`]: the operation fails, it never falls back silently.
//!
//! `tests/p256_ecdh.rs` and the fuzz target `ecdh_p256` compare every result with mbedTLS's
//! own code (Wycheproof vectors, random and malformed inputs).

use core::ffi::c_int;

use p256::elliptic_curve::ff::PrimeField;
use p256::elliptic_curve::point::AffineCoordinates;
use p256::elliptic_curve::subtle::ConstantTimeEq;
use p256::elliptic_curve::zeroize::Zeroize;
use p256::{AffinePoint, FieldBytes, ProjectivePoint, Scalar};

use crate::rust_hook::{CallCount, catch};

/// The Rust side did the operation.
pub const MV_P256_DONE: c_int = 0;
/// Not the ordinary case: the C side answers `PSA_ERROR_NOT_SUPPORTED` and mbedTLS's own
/// code decides.
pub const MV_P256_DECLINE: c_int = 1;
/// The Rust side failed (a caught panic): the operation fails.
pub const MV_P256_FAILED: c_int = -1;

/// `which` for the test entry points: through the PSA API (the driver where it takes the case).
pub const MV_P256_TEST_PSA: c_int = 0;
/// `which` for the test entry points: mbedTLS's built-in code, called directly.
pub const MV_P256_TEST_MBEDTLS: c_int = 1;

unsafe extern "C" {
    /// ECDH with the 32-byte private key `priv_` and the peer's public value, through the
    /// PSA API (`which` = [`MV_P256_TEST_PSA`]) or mbedTLS's own code
    /// ([`MV_P256_TEST_MBEDTLS`]); returns a `psa_status_t` (0 = success).
    pub fn mv_p256_ecdh_test(
        which: c_int,
        priv_: *const u8,
        priv_len: usize,
        peer: *const u8,
        peer_len: usize,
        out: *mut u8,
        out_size: usize,
        out_len: *mut usize,
    ) -> c_int;
    /// The uncompressed public value of private key `priv_`, as [`mv_p256_ecdh_test`] chooses
    /// the implementation; returns a `psa_status_t`.
    pub fn mv_p256_public_key_test(
        which: c_int,
        priv_: *const u8,
        priv_len: usize,
        out: *mut u8,
        out_size: usize,
        out_len: *mut usize,
    ) -> c_int;
    /// `psa_generate_key` for an ECDH P-256 key pair, then its private and public halves
    /// exported; returns a `psa_status_t`.
    pub fn mv_p256_generate_test(
        priv_: *mut u8,
        priv_size: usize,
        priv_len: *mut usize,
        pub_: *mut u8,
        pub_size: usize,
        pub_len: *mut usize,
    ) -> c_int;
}

/// The private key as a scalar when it is in `1 .. n-1` (checked in constant time).
fn private_scalar(d: &[u8; 32]) -> Option<Scalar> {
    let k = Scalar::from_repr(FieldBytes::from(*d));
    let ok = k.is_some() & !k.unwrap_or(Scalar::ZERO).ct_eq(&Scalar::ZERO);
    if bool::from(ok) {
        Some(k.unwrap_or(Scalar::ZERO))
    } else {
        None
    }
}

/// `[k] P` as affine coordinates written to `x` (and `y`), then the intermediate wiped.
fn mul_to_affine(p: ProjectivePoint, k: &Scalar, x: &mut [u8; 32], y: Option<&mut [u8; 32]>) {
    let mut r = (p * k).to_affine();
    x.copy_from_slice(&r.x());
    if let Some(y) = y {
        y.copy_from_slice(&r.y());
    }
    r.zeroize();
}

fn public_key(d: &[u8; 32], out: &mut [u8; 65]) -> c_int {
    let Some(mut k) = private_scalar(d) else {
        return MV_P256_DECLINE;
    };
    let (mut x, mut y) = ([0u8; 32], [0u8; 32]);
    mul_to_affine(ProjectivePoint::GENERATOR, &k, &mut x, Some(&mut y));
    k.zeroize();
    out[0] = 0x04;
    out[1..33].copy_from_slice(&x);
    out[33..].copy_from_slice(&y);
    MV_P256_DONE
}

fn shared_secret(d: &[u8; 32], peer: &[u8; 65], out: &mut [u8; 32]) -> c_int {
    if peer[0] != 0x04 {
        return MV_P256_DECLINE;
    }
    let (mut px, mut py) = (FieldBytes::default(), FieldBytes::default());
    px.copy_from_slice(&peer[1..33]);
    py.copy_from_slice(&peer[33..]);
    // Rejects a coordinate >= p and a point off the curve (mbedtls_ecp_check_pubkey's checks
    // for a short Weierstrass curve; the uncompressed encoding cannot name infinity).
    let Some(q) = Option::<AffinePoint>::from(AffinePoint::from_coordinates(&px, &py)) else {
        return MV_P256_DECLINE;
    };
    let Some(mut k) = private_scalar(d) else {
        return MV_P256_DECLINE;
    };
    // P-256 has cofactor 1 and k is in 1 .. n-1, so [k] Q is never the point at infinity.
    let mut x = [0u8; 32];
    mul_to_affine(ProjectivePoint::from(q), &k, &mut x, None);
    k.zeroize();
    out.copy_from_slice(&x);
    x.zeroize();
    MV_P256_DONE
}

/// [`MV_P256_DONE`] when the 32 big-endian bytes at `k` are a valid private key (`1 .. n-1`),
/// else [`MV_P256_DECLINE`]. Used by the driver's key generation to reject a random draw.
///
/// # Safety
/// `k` points at 32 readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mv_p256_rust_scalar_ok(k: *const u8) -> c_int {
    if k.is_null() {
        return MV_P256_FAILED;
    }
    // SAFETY: non-null and pointing at 32 readable bytes (the contract above).
    let k = unsafe { &*k.cast::<[u8; 32]>() };
    catch(MV_P256_FAILED, || {
        let mut s = private_scalar(k);
        let r = if s.is_some() {
            MV_P256_DONE
        } else {
            MV_P256_DECLINE
        };
        s.zeroize();
        r
    })
}

/// The uncompressed public value (`04 || X || Y`) of the private key at `d`.
///
/// # Safety
/// `d` points at 32 readable bytes and `out` at 65 writable bytes that do not overlap them.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mv_p256_rust_public_key(d: *const u8, out: *mut u8) -> c_int {
    if d.is_null() || out.is_null() {
        return MV_P256_FAILED;
    }
    // SAFETY: non-null, sized and non-overlapping as the contract above says.
    let (d, out) = unsafe { (&*d.cast::<[u8; 32]>(), &mut *out.cast::<[u8; 65]>()) };
    FAST_PATH_CALLS.bump();
    catch(MV_P256_FAILED, || public_key(d, out))
}

/// The ECDH shared secret (the X coordinate of `[d] peer`) of the private key at `d` and the
/// uncompressed peer point at `peer`.
///
/// # Safety
/// `d` points at 32 readable bytes, `peer` at 65 readable bytes, `out` at 32 writable bytes
/// that overlap neither.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mv_p256_rust_shared_secret(
    d: *const u8,
    peer: *const u8,
    out: *mut u8,
) -> c_int {
    if d.is_null() || peer.is_null() || out.is_null() {
        return MV_P256_FAILED;
    }
    // SAFETY: non-null, sized and non-overlapping as the contract above says.
    let (d, peer, out) = unsafe {
        (
            &*d.cast::<[u8; 32]>(),
            &*peer.cast::<[u8; 65]>(),
            &mut *out.cast::<[u8; 32]>(),
        )
    };
    FAST_PATH_CALLS.bump();
    catch(MV_P256_FAILED, || shared_secret(d, peer, out))
}

static FAST_PATH_CALLS: CallCount = CallCount::new();

/// How many public-key and shared-secret computations reached the Rust side in this process
/// (wrapping), so tests and benchmarks can check that the PSA core really used it. 0 on
/// targets without atomic read-modify-write (riscv32imc), where it is not counted.
pub fn fast_path_calls() -> u32 {
    FAST_PATH_CALLS.get()
}
