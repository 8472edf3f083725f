//! Feature `p256-verify-rustcrypto`: the Rust P-256 verify against mbedTLS's own
//! (`mv_ecdsa_verify_mbedtls`) on arbitrary inputs. Invariant: both return the same code.
//!
//! Input layout (every field optional, missing bytes read as absent):
//! `[flags] [hash_len] hash [x_len] x [y_len] y [z_len] z [r_len] r [s_len] s` — each
//! length byte is taken modulo 49 (0..=48 bytes, so values at and beyond 2^256 occur);
//! `flags` bits 0-4 make x, y, z, r, s negative, bit 5 leaves z unset, bit 6 picks
//! P-384 instead of P-256 (the fallback), bit 7 runs the DER path instead:
//! `mbedtls_ecdsa_read_signature` with (x, y) as the key and the rest as the signature.
#![no_main]

use core::ffi::c_int;
use core::ptr;

use libfuzzer_sys::fuzz_target;
use mbedtls_verify::sys;
use sys::p256_verify::{mv_bytes_mpi, mv_ecdsa_read_signature_test, mv_ecdsa_verify_test};

struct Cursor<'a>(&'a [u8]);
impl<'a> Cursor<'a> {
    fn byte(&mut self) -> u8 {
        let (b, rest) = self.0.split_first().map_or((0, &[][..]), |(b, r)| (*b, r));
        self.0 = rest;
        b
    }
    fn field(&mut self) -> &'a [u8] {
        let n = (self.byte() % 49) as usize;
        let n = n.min(self.0.len());
        let (f, rest) = self.0.split_at(n);
        self.0 = rest;
        f
    }
}

fn mpi(b: &[u8], negative: bool) -> mv_bytes_mpi {
    mv_bytes_mpi {
        mag: b.as_ptr(),
        len: b.len(),
        negative: negative as c_int,
    }
}

fuzz_target!(|data: &[u8]| {
    let mut c = Cursor(data);
    let flags = c.byte();
    let hash = c.field();
    let (x, y, z, r, s) = (c.field(), c.field(), c.field(), c.field(), c.field());
    if flags & 0x80 != 0 {
        let sig = c.0;
        let run = |which| {
            // SAFETY: every pointer and length describes a live slice for the call.
            unsafe {
                mv_ecdsa_read_signature_test(
                    which,
                    sys::MBEDTLS_ECP_DP_SECP256R1,
                    x.as_ptr(),
                    x.len(),
                    y.as_ptr(),
                    y.len(),
                    hash.as_ptr(),
                    hash.len(),
                    sig.as_ptr(),
                    sig.len(),
                )
            }
        };
        let (rust, mbedtls) = (run(0), run(1));
        assert_eq!(rust, mbedtls, "DER path: Rust {rust:#x} vs mbedTLS {mbedtls:#x}");
        return;
    }
    let grp = if flags & 0x40 != 0 {
        sys::MBEDTLS_ECP_DP_SECP384R1
    } else {
        sys::MBEDTLS_ECP_DP_SECP256R1
    };
    let xm = mpi(x, flags & 1 != 0);
    let ym = mpi(y, flags & 2 != 0);
    let mut zm = mpi(z, flags & 4 != 0);
    if flags & 0x20 != 0 {
        zm.mag = ptr::null();
        zm.len = 0;
    }
    let rm = mpi(r, flags & 8 != 0);
    let sm = mpi(s, flags & 16 != 0);
    let run = |which| {
        // SAFETY: every pointer refers to a live local or to `data` for the call.
        unsafe {
            mv_ecdsa_verify_test(
                which,
                grp,
                hash.as_ptr(),
                hash.len(),
                &xm,
                &ym,
                &zm,
                &rm,
                &sm,
            )
        }
    };
    let (rust, mbedtls) = (run(0), run(1));
    assert_eq!(rust, mbedtls, "Rust {rust:#x} vs mbedTLS {mbedtls:#x}");
});
