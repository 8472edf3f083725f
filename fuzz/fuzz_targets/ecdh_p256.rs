//! Feature `p256-ecdh-rustcrypto`: the Rust P-256 key exchange (PSA's P-256 driver slot)
//! against mbedTLS's own code on arbitrary inputs. Invariant: the PSA API (where the driver
//! takes the ordinary case) and mbedTLS's built-in code called directly give the same status,
//! and on success the same bytes.
//!
//! Input layout: `[mode] [priv_len] priv rest` — `priv_len` is taken modulo 41 (0..=40
//! bytes, so short, long and out-of-range private keys occur). Mode bit 0 clear: ECDH with
//! `rest` as the peer's public value; set: the public value of `priv` (`rest` unused).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mbedtls_verify::sys::p256_ecdh::{
    MV_P256_TEST_MBEDTLS, MV_P256_TEST_PSA, mv_p256_ecdh_test, mv_p256_public_key_test,
};

fuzz_target!(|data: &[u8]| {
    let (mode, rest) = data.split_first().map_or((0, &[][..]), |(m, r)| (*m, r));
    let (len, rest) = rest.split_first().map_or((0, &[][..]), |(l, r)| (*l, r));
    let len = (len as usize % 41).min(rest.len());
    let (private, peer) = rest.split_at(len);
    let run = |which| {
        let mut out = [0u8; 80];
        let mut n = 0usize;
        // SAFETY: every pointer and length describes a live slice for the call; the entry
        // points write at most `out.len()` bytes and the length.
        let rc = unsafe {
            if mode & 1 == 0 {
                mv_p256_ecdh_test(
                    which,
                    private.as_ptr(),
                    private.len(),
                    peer.as_ptr(),
                    peer.len(),
                    out.as_mut_ptr(),
                    out.len(),
                    &mut n,
                )
            } else {
                mv_p256_public_key_test(
                    which,
                    private.as_ptr(),
                    private.len(),
                    out.as_mut_ptr(),
                    out.len(),
                    &mut n,
                )
            }
        };
        // On failure the PSA API fills the output with random bytes: only a success has
        // bytes to compare.
        (rc, if rc == 0 { out[..n].to_vec() } else { Vec::new() })
    };
    let psa = run(MV_P256_TEST_PSA);
    let builtin = run(MV_P256_TEST_MBEDTLS);
    assert_eq!(psa, builtin, "mode {mode}: private {private:02x?}, peer {peer:02x?}");
});
