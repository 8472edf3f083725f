//! Feature `p256-ecdh-rustcrypto`: the Rust P-256 key exchange (PSA driver) against
//! mbedTLS's own code, in one binary. Every case runs twice — through the PSA API, where the
//! driver takes the ordinary case, and through mbedTLS's built-in PSA code called directly —
//! and must give the *same status and the same bytes*:
//! - the Wycheproof ECDH secp256r1 vectors (raw points, and the points inside the
//!   SubjectPublicKeyInfo vectors), each also against its expected result;
//! - public values of random and invalid private keys;
//! - random ECDH cases (valid, bit flips in X/Y, coordinates >= p, the negated point,
//!   Y = 0, the all-zero point, other prefixes — compressed, hybrid, infinity —, wrong
//!   lengths, private keys 0, n, >= n); `MV_P256_ECDH_CASES` sets how many (CI: 100,000;
//!   `scripts/p256-diff-long` runs more in release);
//! - key generation: valid, distinct keys whose public value mbedTLS agrees with, and the
//!   Rust path really reached (counted).

use core::ffi::c_int;

use mbedtls_verify_sys as sys;

mod common;
use common::{N, P, Rng, run_cases};

use p256::elliptic_curve::ff::PrimeField;
use p256::elliptic_curve::point::AffineCoordinates;
use p256::{FieldBytes, ProjectivePoint, Scalar};
use sys::p256_ecdh::{
    MV_P256_TEST_MBEDTLS, MV_P256_TEST_PSA, fast_path_calls, mv_p256_ecdh_test,
    mv_p256_generate_test, mv_p256_public_key_test,
};

const OK: c_int = 0;
/// psa/crypto_values.h.
const PSA_ERROR_INVALID_ARGUMENT: c_int = -135;

/// (status, output) of ECDH through `which`.
fn ecdh(which: c_int, private: &[u8], peer: &[u8]) -> (c_int, Vec<u8>) {
    let mut out = [0u8; 80];
    let mut len = 0usize;
    // SAFETY: the pointers and lengths describe live buffers; the entry point writes at most
    // `out.len()` bytes and the length.
    let rc = unsafe {
        mv_p256_ecdh_test(
            which,
            private.as_ptr(),
            private.len(),
            peer.as_ptr(),
            peer.len(),
            out.as_mut_ptr(),
            out.len(),
            &mut len,
        )
    };
    (rc, out[..len].to_vec())
}

/// Both implementations on one case; they must agree. Returns the common status.
fn same_ecdh(private: &[u8], peer: &[u8]) -> (c_int, Vec<u8>) {
    let mut psa = ecdh(MV_P256_TEST_PSA, private, peer);
    let builtin = ecdh(MV_P256_TEST_MBEDTLS, private, peer);
    // On failure psa_raw_key_agreement fills the whole output with random bytes (so that a
    // caller ignoring the status gets no secret): only a success has bytes to compare.
    if psa.0 != OK {
        psa.1.clear();
    }
    assert_eq!(
        psa,
        builtin,
        "ECDH differs: private {} peer {}",
        hexs(private),
        hexs(peer)
    );
    psa
}

fn public_key(which: c_int, private: &[u8]) -> (c_int, Vec<u8>) {
    let mut out = [0u8; 80];
    let mut len = 0usize;
    // SAFETY: as in `ecdh`.
    let rc = unsafe {
        mv_p256_public_key_test(
            which,
            private.as_ptr(),
            private.len(),
            out.as_mut_ptr(),
            out.len(),
            &mut len,
        )
    };
    (rc, out[..len].to_vec())
}

fn same_public_key(private: &[u8]) -> (c_int, Vec<u8>) {
    let psa = public_key(MV_P256_TEST_PSA, private);
    let builtin = public_key(MV_P256_TEST_MBEDTLS, private);
    assert_eq!(
        psa,
        builtin,
        "public key differs: private {}",
        hexs(private)
    );
    psa
}

fn hexs(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A Wycheproof private key (big-endian, sometimes with a leading zero) as 32 bytes; None
/// when it does not fit (then the vector tests something else).
fn private32(b: &[u8]) -> Option<Vec<u8>> {
    let start = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    let v = &b[start..];
    (v.len() <= 32).then(|| {
        let mut out = vec![0u8; 32 - v.len()];
        out.extend_from_slice(v);
        out
    })
}

fn expect(result: &wycheproof::TestResult, got: &(c_int, Vec<u8>), shared: &[u8], what: &str) {
    match result {
        wycheproof::TestResult::Valid => {
            assert_eq!(got.0, OK, "{what}: valid vector failed");
            assert_eq!(got.1, shared, "{what}: wrong shared secret");
        }
        wycheproof::TestResult::Invalid => assert_ne!(got.0, OK, "{what}: invalid vector passed"),
        wycheproof::TestResult::Acceptable => {
            if got.0 == OK {
                assert_eq!(got.1, shared, "{what}: wrong shared secret");
            }
        }
    }
}

#[test]
fn wycheproof_ecdh_p256_raw_points() {
    use wycheproof::ecdh::{TestName, TestSet};
    let set = TestSet::load(TestName::EcdhSecp256r1Ecpoint).expect("vectors");
    let (mut n, mut ok) = (0, 0);
    let before = fast_path_calls();
    for g in &set.test_groups {
        for t in &g.tests {
            let what = format!("tcId {} ({})", t.tc_id, t.comment);
            let Some(private) = private32(&t.private_key) else {
                continue;
            };
            let got = same_ecdh(&private, &t.public_key);
            expect(&t.result, &got, &t.shared_secret, &what);
            n += 1;
            ok += usize::from(got.0 == OK);
        }
    }
    eprintln!("{n} raw-point vectors, {ok} succeed");
    assert!(n > 150 && ok > 10, "{n} {ok}");
    assert!(
        fast_path_calls() > before,
        "the Rust path was never reached"
    );
}

#[test]
fn wycheproof_ecdh_p256_spki_points() {
    use wycheproof::ecdh::{TestName, TestSet};
    let set = TestSet::load(TestName::EcdhSecp256r1).expect("vectors");
    let (mut n, mut ok) = (0, 0);
    for g in &set.test_groups {
        for t in &g.tests {
            let what = format!("tcId {} ({})", t.tc_id, t.comment);
            let Some(private) = private32(&t.private_key) else {
                continue;
            };
            // The raw point: the BIT STRING closing a SubjectPublicKeyInfo (03 42 00 04 ..).
            let spki = &t.public_key[..];
            let Some(at) = spki.len().checked_sub(68) else {
                continue;
            };
            if spki[at..at + 3] != [0x03, 0x42, 0x00] {
                continue;
            }
            let got = same_ecdh(&private, &spki[at + 3..]);
            // What the SPKI says besides the point (curve parameters, encoding) is not the
            // raw key agreement's business: only valid vectors are held to their result.
            if matches!(t.result, wycheproof::TestResult::Valid) {
                expect(&t.result, &got, &t.shared_secret, &what);
            }
            n += 1;
            ok += usize::from(got.0 == OK);
        }
    }
    eprintln!("{n} SPKI vectors compared, {ok} succeed");
    assert!(n > 200 && ok > 100, "{n} {ok}");
}

/// Private keys from the shared generator.
trait KeyRng {
    fn private(&mut self) -> Vec<u8>;
}
impl KeyRng for Rng {
    /// A private key in 1 .. n-1 (as 32 bytes).
    fn private(&mut self) -> Vec<u8> {
        loop {
            let b = self.bytes(32);
            let k = Scalar::from_repr(FieldBytes::from(<[u8; 32]>::try_from(&b[..]).unwrap()));
            if bool::from(k.is_some()) && b.iter().any(|&x| x != 0) {
                return b;
            }
        }
    }
}

/// The uncompressed encoding of [k] G, computed independently of both implementations.
fn point_of(k: &[u8]) -> Vec<u8> {
    let s = Scalar::from_repr(FieldBytes::from(<[u8; 32]>::try_from(k).unwrap())).unwrap();
    let a = (ProjectivePoint::GENERATOR * s).to_affine();
    let mut v = vec![4u8];
    v.extend_from_slice(&a.x());
    v.extend_from_slice(&a.y());
    v
}

/// (a + b) mod 2^256 on big-endian 32-byte values.
fn add256(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 32];
    let mut carry = 0u16;
    for i in (0..32).rev() {
        let s = a[i] as u16 + b[i] as u16 + carry;
        out[i] = s as u8;
        carry = s >> 8;
    }
    out
}

/// p - y for y < p (big-endian).
fn neg_mod_p(y: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let d = P[i] as i16 - y[i] as i16 - borrow;
        out[i] = d.rem_euclid(256) as u8;
        borrow = i16::from(d < 0);
    }
    out
}

/// One random case of kind `kind` (0..16): (private key, peer value).
fn case(rng: &mut Rng, kind: u64) -> (Vec<u8>, Vec<u8>) {
    let d = rng.private();
    let other = rng.private();
    let mut q = point_of(&other);
    match kind {
        // Valid (several kinds, so that about 40 % of the cases compute a secret).
        0..=5 => {}
        // The negated point (-Q is on the curve).
        6 => {
            let y = neg_mod_p(&q[33..]);
            q[33..].copy_from_slice(&y);
        }
        // A bit flip in X or Y (almost always off the curve).
        7 => {
            let bit = 8 + rng.below(512) as usize;
            q[bit / 8] ^= 1 << (bit % 8);
        }
        // X or Y replaced by itself + p (>= p, the same residue) when that fits, else by
        // 2^256 - 1.
        8 => {
            let at = if rng.below(2) == 0 { 1 } else { 33 };
            let (sum, ok) = {
                let s = add256(&q[at..at + 32], &P);
                let fits = s.as_slice() > &q[at..at + 32];
                (s, fits)
            };
            if ok {
                q[at..at + 32].copy_from_slice(&sum);
            } else {
                q[at..at + 32].fill(0xff);
            }
        }
        // Y = 0, X = 0, everything zero.
        9 => match rng.below(3) {
            0 => q[33..].fill(0),
            1 => q[1..33].fill(0),
            _ => q[1..].fill(0),
        },
        // Another prefix: infinity (one 0x00 byte or 0x00 + zeros), compressed, hybrid,
        // garbage.
        10 => match rng.below(5) {
            0 => q = vec![0],
            1 => q[0] = 0,
            2 => {
                let odd = q[64] & 1;
                q.truncate(33);
                q[0] = 2 + odd;
            }
            3 => q[0] = 6 + (q[64] & 1),
            _ => q[0] = 5,
        },
        // Wrong lengths.
        11 => {
            let len = [0usize, 1, 32, 64, 66, 97][rng.below(6) as usize];
            q.resize(len, 0x5a);
        }
        // Private key 0, n, n + 1, 2^256 - 1, or not 32 bytes.
        12 => {
            let bad = match rng.below(5) {
                0 => vec![0u8; 32],
                1 => N.to_vec(),
                2 => add256(&N, &{
                    let mut one = [0u8; 32];
                    one[31] = 1;
                    one
                }),
                3 => vec![0xff; 32],
                _ => {
                    let len = if rng.below(2) == 0 { 31 } else { 33 };
                    rng.bytes(len)
                }
            };
            return (bad, q);
        }
        // The peer equals our own public value, or the generator.
        13 => q = point_of(&d),
        14 => {
            let mut one = vec![0u8; 32];
            one[31] = 1;
            q = point_of(&one);
        }
        // Random bytes after a 0x04.
        _ => {
            q = rng.bytes(65);
            q[0] = 4;
        }
    }
    (d, q)
}

fn case_count() -> u64 {
    std::env::var("MV_P256_ECDH_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

#[test]
fn random_ecdh_cases_same_as_mbedtls() {
    let total = case_count();
    let (by_status, ran) = run_cases(total, 0xecd4_0000, |rng, i| {
        let (d, q) = case(rng, i % 16);
        let got = same_ecdh(&d, &q);
        if got.0 == OK {
            assert_eq!(got.1.len(), 32);
        }
        got.0
    });
    eprintln!("{ran} ECDH cases by PSA status: {by_status:?}");
    // Success and refusal were both exercised (mbedTLS 3.6.5 refuses every malformed case
    // here — compressed and hybrid points included — with INVALID_ARGUMENT).
    for (status, share) in [(OK, 4), (PSA_ERROR_INVALID_ARGUMENT, 10)] {
        assert!(
            by_status.get(&status).copied().unwrap_or(0) > total / share,
            "{status}: {by_status:?}"
        );
    }
}

#[test]
fn public_values_same_as_mbedtls() {
    let mut rng = Rng(0x9b1c);
    for _ in 0..500 {
        let d = rng.private();
        let (rc, q) = same_public_key(&d);
        assert_eq!(rc, OK);
        assert_eq!(q, point_of(&d), "not [d] G");
    }
    let mut one = [0u8; 32];
    one[31] = 1;
    let n_minus_1 = {
        let mut v = N;
        v[31] -= 1;
        v
    };
    for d in [one, n_minus_1] {
        assert_eq!(same_public_key(&d).0, OK);
    }
    // Invalid private keys are refused by import (the PSA path) and by mbedTLS's loader:
    // the same status either way.
    for bad in [
        vec![0u8; 32],
        N.to_vec(),
        vec![0xff; 32],
        vec![1u8; 31],
        vec![1u8; 33],
    ] {
        assert_ne!(same_public_key(&bad).0, OK, "{}", hexs(&bad));
    }
}

#[test]
fn generated_keys_are_valid_distinct_and_agree_with_mbedtls() {
    let before = fast_path_calls();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..100 {
        let (mut d, mut q) = ([0u8; 40], [0u8; 80]);
        let (mut dl, mut ql) = (0usize, 0usize);
        // SAFETY: live buffers with their sizes; the entry point writes the lengths.
        let rc = unsafe {
            mv_p256_generate_test(
                d.as_mut_ptr(),
                d.len(),
                &mut dl,
                q.as_mut_ptr(),
                q.len(),
                &mut ql,
            )
        };
        assert_eq!(rc, OK);
        assert_eq!((dl, ql), (32, 65));
        let d = &d[..32];
        assert!(d.iter().any(|&b| b != 0) && d < &N[..], "{}", hexs(d));
        assert_eq!(&q[..65], &point_of(d)[..]);
        assert_eq!(public_key(MV_P256_TEST_MBEDTLS, d), (OK, q[..65].to_vec()));
        assert!(seen.insert(d.to_vec()), "a key repeated");
    }
    // Each key's public value came from the Rust path (generation itself draws the scalar).
    assert!(fast_path_calls() >= before + 100);
}

#[test]
fn agreement_is_symmetric_through_the_driver() {
    let mut rng = Rng(0x5a5a);
    for _ in 0..50 {
        let (a, b) = (rng.private(), rng.private());
        let (ra, za) = ecdh(MV_P256_TEST_PSA, &a, &point_of(&b));
        let (rb, zb) = ecdh(MV_P256_TEST_PSA, &b, &point_of(&a));
        assert_eq!((ra, rb), (OK, OK));
        assert_eq!(za, zb);
    }
}
