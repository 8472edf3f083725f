//! Feature `p256-verify-rustcrypto`: `mbedtls_ecdsa_verify` for the standard P-256 group in
//! Rust (RustCrypto `p256`, `no_std`, no heap), every other group in mbedTLS.
//!
//! The build defines `MBEDTLS_ECDSA_VERIFY_ALT`, so mbedTLS's `ecdsa.c` leaves
//! `mbedtls_ecdsa_verify` to this module, which exports it with mbedTLS's exact C signature.
//! In this crate's configuration (no `MBEDTLS_ECP_RESTARTABLE`) every ECDSA verification
//! mbedTLS performs ends there: X.509 signatures and TLS CertificateVerify through
//! `mbedtls_pk_verify` -> `mbedtls_ecdsa_read_signature`, and PSA's built-in ECDSA
//! (`mbedtls_psa_ecdsa_verify_hash`) when `MBEDTLS_USE_PSA_CRYPTO` is on.
//!
//! The result is mbedTLS's, return code for return code (`verify_p256` follows
//! `mbedtls_ecdsa_verify_restartable` and `mbedtls_ecp_check_pubkey` step by step), which the
//! differential tests (`tests/p256_verify.rs`, `fuzz/fuzz_targets/ecdsa_p256_verify.rs`)
//! check against mbedTLS's own verify, kept as `mv_ecdsa_verify_mbedtls`
//! (`shim/mv_ecdsa_alt.c`). A group that is not exactly the standard P-256 (curve id,
//! parameters, `A` left unset as mbedTLS loads it) goes to that function unchanged; with
//! `p256-only`, where no mbedTLS code makes such a group, it fails closed instead.
//!
//! The C values are read through accessors (`shim/mv_ecdsa_alt.h`): nothing here depends on
//! mbedTLS's struct layouts. A panic on the Rust side is caught (on unwinding builds) and
//! becomes `MBEDTLS_ERR_ECP_VERIFY_FAILED`: verification fails closed.

use core::ffi::c_int;

use p256::elliptic_curve::bigint::{U256, modular::ConstMontyForm};
use p256::elliptic_curve::ops::LinearCombination;
use p256::elliptic_curve::point::AffineCoordinates;
use p256::elliptic_curve::scalar::FromUintUnchecked;
use p256::{AffinePoint, FieldBytes, ProjectivePoint, Scalar};

#[cfg(feature = "p256-only")]
use crate::MBEDTLS_ERR_ECP_FEATURE_UNAVAILABLE;
use crate::rust_hook::{CallCount, catch};
use crate::{
    MBEDTLS_ECP_DP_SECP256R1, MBEDTLS_ERR_ECP_BAD_INPUT_DATA, MBEDTLS_ERR_ECP_INVALID_KEY,
    MBEDTLS_ERR_ECP_VERIFY_FAILED,
};

opaque!(
    /// `mbedtls_ecp_group` (feature `p256-verify-rustcrypto`).
    mbedtls_ecp_group,
    /// `mbedtls_ecp_point` (feature `p256-verify-rustcrypto`).
    mbedtls_ecp_point,
    /// `mbedtls_mpi` (feature `p256-verify-rustcrypto`).
    mbedtls_mpi,
);

/// One big-endian magnitude for [`mv_ecdsa_verify_test`] (`mv_bytes_mpi`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct mv_bytes_mpi {
    /// Big-endian magnitude; NULL leaves the MPI unset.
    pub mag: *const u8,
    /// Length of `mag`.
    pub len: usize,
    /// Non-zero: the value is negative.
    pub negative: c_int,
}

/// [`mv_ecdsa_verify_test`]: the inputs could not be built (allocation).
pub const MV_ECDSA_TEST_SETUP_FAILED: c_int = -0x7FFF_FFFF;

unsafe extern "C" {
    /// mbedTLS 3.6's own `mbedtls_ecdsa_verify` (`ecdsa.c` compiled again under this name).
    pub fn mv_ecdsa_verify_mbedtls(
        grp: *mut mbedtls_ecp_group,
        buf: *const u8,
        blen: usize,
        q: *const mbedtls_ecp_point,
        r: *const mbedtls_mpi,
        s: *const mbedtls_mpi,
    ) -> c_int;
    fn mv_ecp_point_coord(pt: *const mbedtls_ecp_point, which: c_int) -> *const mbedtls_mpi;
    fn mv_ecp_group_param(grp: *const mbedtls_ecp_group, which: c_int) -> *const mbedtls_mpi;
    fn mv_ecp_group_id(grp: *const mbedtls_ecp_group) -> c_int;
    fn mv_ecp_group_nbits(grp: *const mbedtls_ecp_group) -> usize;
    fn mv_ecp_group_loaded(grp: *const mbedtls_ecp_group) -> c_int;
    fn mv_ecp_group_a_is_minus_3(grp: *const mbedtls_ecp_group) -> c_int;
    fn mv_mpi_be32(x: *const mbedtls_mpi, out: *mut u8) -> c_int;
    /// Test entry point (`shim/mv_ecdsa_alt.h`): builds group `grp_id`, the point (X, Y, Z)
    /// and r, s from bytes, then calls this module's export (`which` = 0) or mbedTLS's own
    /// verify (`which` = 1); `which` = 2 or 3 does the same on the group with `A` written
    /// out as `P - 3` (the same curve, not the group `mbedtls_ecp_group_load` makes).
    pub fn mv_ecdsa_verify_test(
        which: c_int,
        grp_id: u32,
        hash: *const u8,
        hlen: usize,
        x: *const mv_bytes_mpi,
        y: *const mv_bytes_mpi,
        z: *const mv_bytes_mpi,
        r: *const mv_bytes_mpi,
        s: *const mv_bytes_mpi,
    ) -> c_int;
    /// Test entry point (`shim/mv_ecdsa_alt.h`): `mbedtls_ecdsa_read_signature` on a DER
    /// signature with the public key (X, Y) on group `grp_id`, as built with this feature
    /// (`which` = 0) or as mbedTLS's own code runs it (`which` = 1).
    pub fn mv_ecdsa_read_signature_test(
        which: c_int,
        grp_id: u32,
        x: *const u8,
        xlen: usize,
        y: *const u8,
        ylen: usize,
        hash: *const u8,
        hlen: usize,
        sig: *const u8,
        slen: usize,
    ) -> c_int;
}

/// An MPI read as 32 big-endian bytes, or where it falls outside `0 .. 2^256`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mpi {
    Value([u8; 32]),
    Negative,
    TooLarge,
}

fn read_mpi(x: *const mbedtls_mpi) -> Mpi {
    let mut out = [0u8; 32];
    // SAFETY: `x` points at an initialised mbedtls_mpi (the caller's contract, as for
    // mbedTLS's own verify); `out` has the 32 bytes the accessor writes.
    match unsafe { mv_mpi_be32(x, out.as_mut_ptr()) } {
        0 => Mpi::Value(out),
        r if r < 0 => Mpi::Negative,
        _ => Mpi::TooLarge,
    }
}

// The standard P-256 group (SEC 2 / FIPS 186-4), as mbedTLS 3.6 loads it.
const P: [u8; 32] = hex32("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff");
const B: [u8; 32] = hex32("5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b");
const N: [u8; 32] = hex32("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
const GX: [u8; 32] = hex32("6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296");
const GY: [u8; 32] = hex32("4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5");
const ONE: [u8; 32] = {
    let mut one = [0u8; 32];
    one[31] = 1;
    one
};

const fn hex32(s: &str) -> [u8; 32] {
    let s = s.as_bytes();
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = (nibble(s[2 * i]) << 4) | nibble(s[2 * i + 1]);
        i += 1;
    }
    out
}

const fn nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => panic!("not a lowercase hex digit"),
    }
}

/// True when `grp` is exactly the standard P-256 group as `mbedtls_ecp_group_load` sets it
/// up; anything else (another curve, custom parameters) goes to mbedTLS.
fn is_standard_p256(grp: *const mbedtls_ecp_group) -> bool {
    // SAFETY: `grp` is a non-null pointer to an initialised group (the caller's contract);
    // the accessors only read it.
    let (id, loaded, nbits, a_m3) = unsafe {
        (
            mv_ecp_group_id(grp),
            mv_ecp_group_loaded(grp),
            mv_ecp_group_nbits(grp),
            mv_ecp_group_a_is_minus_3(grp),
        )
    };
    if id as u32 != MBEDTLS_ECP_DP_SECP256R1 || loaded == 0 || nbits != 256 || a_m3 == 0 {
        return false;
    }
    let want: [(c_int, &[u8; 32]); 6] = [(0, &P), (2, &B), (3, &N), (4, &GX), (5, &GY), (6, &ONE)];
    want.iter().all(|(which, value)| {
        // SAFETY: as above; `which` is one of the accessor's indices, so it returns a valid
        // pointer into the group.
        let mpi = unsafe { mv_ecp_group_param(grp, *which) };
        read_mpi(mpi) == Mpi::Value(**value)
    })
}

/// `mbedtls_ecdsa_verify`, exported for mbedTLS (`MBEDTLS_ECDSA_VERIFY_ALT`).
///
/// # Safety
/// mbedTLS's contract for this function: `grp` points at an initialised group, `Q`, `r`, `s`
/// at initialised objects, `buf` at `blen` readable bytes (or is NULL with `blen` 0).
/// NULL for `grp`, `Q`, `r`, `s`, or for `buf` with `blen` > 0, returns
/// `MBEDTLS_ERR_ECP_BAD_INPUT_DATA` (mbedTLS's own code would dereference it).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mbedtls_ecdsa_verify(
    grp: *mut mbedtls_ecp_group,
    buf: *const u8,
    blen: usize,
    q: *const mbedtls_ecp_point,
    r: *const mbedtls_mpi,
    s: *const mbedtls_mpi,
) -> c_int {
    if grp.is_null() || q.is_null() || r.is_null() || s.is_null() || (buf.is_null() && blen > 0) {
        return MBEDTLS_ERR_ECP_BAD_INPUT_DATA;
    }
    if !is_standard_p256(grp) {
        // A `p256-only` build: no mbedTLS code can make such a group (`mbedtls_ecp_group_load`
        // knows only P-256 there, and PK and PSA load groups by id), only C code that fills
        // one in by hand. It fails closed, and mbedTLS's own verify (with
        // `mbedtls_ecp_muladd`, which nothing else uses) stays out of the firmware: 0.9 KB
        // on riscv32imc.
        #[cfg(feature = "p256-only")]
        return MBEDTLS_ERR_ECP_FEATURE_UNAVAILABLE;
        // SAFETY: the same arguments, under the same contract, to mbedTLS's own verify.
        #[cfg(not(feature = "p256-only"))]
        return unsafe { mv_ecdsa_verify_mbedtls(grp, buf, blen, q, r, s) };
    }
    let hash: &[u8] = if blen == 0 {
        &[]
    } else {
        // SAFETY: `buf` is non-null and points at `blen` readable bytes (the contract above),
        // which nothing writes while this call runs.
        unsafe { core::slice::from_raw_parts(buf, blen) }
    };
    let coord = |which| {
        // SAFETY: `q` is non-null and initialised; `which` is 0, 1 or 2.
        read_mpi(unsafe { mv_ecp_point_coord(q, which) })
    };
    let inputs = Inputs {
        hash,
        x: coord(0),
        y: coord(1),
        z: coord(2),
        r: read_mpi(r),
        s: read_mpi(s),
    };
    FAST_PATH_CALLS.bump();
    catch(MBEDTLS_ERR_ECP_VERIFY_FAILED, || verify_p256(&inputs))
}

/// What `verify_p256` needs, already read out of the C objects.
struct Inputs<'a> {
    hash: &'a [u8],
    x: Mpi,
    y: Mpi,
    z: Mpi,
    r: Mpi,
    s: Mpi,
}

/// Integers modulo n, the order of P-256 (`const_monty_params!` makes a public type: kept in a
/// private module). The scalar arithmetic of the verification (one inversion, two products,
/// two reductions) is done here, in crypto-bigint's generic Montgomery code, rather than with
/// `p256::Scalar`'s multiplication, whose unrolled Barrett reduction is 3.3 KB of code on
/// riscv32imc for two products per verification.
mod order {
    p256::elliptic_curve::bigint::const_monty_params!(
        OrderN,
        p256::elliptic_curve::bigint::U256,
        "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551",
        "The order n of the P-256 group."
    );
}
type ModN = ConstMontyForm<order::OrderN, { U256::LIMBS }>;

/// mbedTLS 3.6's `mbedtls_ecdsa_verify_restartable` for the standard P-256 group, step by
/// step, with the same return codes.
fn verify_p256(inp: &Inputs<'_>) -> c_int {
    // Step 1: r and s in 1 .. n-1, else VERIFY_FAILED (before the key is looked at).
    let (Some(r), Some(s)) = (scalar_in_range(inp.r), scalar_in_range(inp.s)) else {
        return MBEDTLS_ERR_ECP_VERIFY_FAILED;
    };

    // Step 3: e = the leftmost min(blen, 32) bytes of the hash as an integer (derive_mpi:
    // for a 256-bit order no shift is needed), taken modulo n (ModN::new reduces any
    // value below 2^256).
    let mut e_bytes = [0u8; 32];
    let take = inp.hash.len().min(32);
    e_bytes[32 - take..].copy_from_slice(&inp.hash[..take]);
    let e = ModN::new(&U256::from_be_slice(&e_bytes));

    // Step 4: u1 = e / s, u2 = r / s (mod n). s is in 1 .. n-1, so invertible.
    let Some(s_inv) = Option::<ModN>::from(ModN::new(&s).invert_vartime()) else {
        return MBEDTLS_ERR_ECP_VERIFY_FAILED;
    };
    // retrieve() is fully reduced (below n), as Scalar requires.
    let u1 = Scalar::from_uint_unchecked((e * s_inv).retrieve());
    let u2 = Scalar::from_uint_unchecked((ModN::new(&r) * s_inv).retrieve());

    // Step 5's checks (mbedtls_ecp_muladd -> mbedtls_ecp_check_pubkey on Q; u2 is never 0):
    // Z = 1, 0 <= X, Y < p, Y^2 = X^3 - 3X + b; else INVALID_KEY.
    let Some(q) = public_key(inp) else {
        return MBEDTLS_ERR_ECP_INVALID_KEY;
    };

    // Step 5: R = u1 G + u2 Q (public values: variable time is fine).
    let big_r = ProjectivePoint::lincomb_vartime(&[
        (ProjectivePoint::GENERATOR, u1),
        (ProjectivePoint::from(q), u2),
    ]);
    let big_r = big_r.to_affine();
    if bool::from(big_r.is_identity()) {
        return MBEDTLS_ERR_ECP_VERIFY_FAILED;
    }

    // Steps 6-8: v = x(R) mod n; accept iff v = r.
    let x = U256::from_be_slice(&big_r.x());
    if ModN::new(&x).retrieve() == r {
        0
    } else {
        MBEDTLS_ERR_ECP_VERIFY_FAILED
    }
}

/// An MPI in 1 .. n-1 as an integer; None for 0, negative values, and n or more.
fn scalar_in_range(m: Mpi) -> Option<U256> {
    let Mpi::Value(bytes) = m else { return None };
    // Big-endian arrays of one length compare as the integers they encode.
    if bytes == [0u8; 32] || bytes >= N {
        return None;
    }
    Some(U256::from_be_slice(&bytes))
}

/// mbedtls_ecp_check_pubkey for P-256: affine (Z exactly 1), coordinates below p, on the curve.
fn public_key(inp: &Inputs<'_>) -> Option<AffinePoint> {
    if inp.z != Mpi::Value(ONE) {
        return None;
    }
    let (Mpi::Value(x), Mpi::Value(y)) = (inp.x, inp.y) else {
        return None;
    };
    // from_coordinates rejects X or Y >= p and points off the curve.
    Option::from(AffinePoint::from_coordinates(
        &FieldBytes::from(x),
        &FieldBytes::from(y),
    ))
}

static FAST_PATH_CALLS: CallCount = CallCount::new();

/// How many verifications the Rust P-256 path has run in this process (wrapping), so tests
/// and benchmarks can check that mbedTLS really reached it. 0 on targets without atomic
/// read-modify-write (riscv32imc), where it is not counted.
pub fn fast_path_calls() -> u32 {
    FAST_PATH_CALLS.get()
}
