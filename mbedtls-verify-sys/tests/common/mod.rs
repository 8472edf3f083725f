//! Raw test fixtures shared by the sys crate's integration tests: a P-256 key, a
//! certificate written through the shim, and a parsed chain, each freeing its C object;
//! the deterministic generator and the threaded runner of the P-256 differential tests.
#![allow(dead_code)]

use mbedtls_verify_sys as sys;

pub struct Key(pub *mut sys::mv_pk);
impl Key {
    pub fn p256() -> Key {
        // SAFETY: mv_pk_new returns an owned, initialised context or NULL.
        let k = unsafe { sys::mv_pk_new() };
        assert!(!k.is_null());
        // SAFETY: k is a valid, empty pk context.
        let rc = unsafe { sys::mv_pk_gen_ec(k, sys::MBEDTLS_ECP_DP_SECP256R1) };
        assert_eq!(rc, 0);
        Key(k)
    }
}
impl Drop for Key {
    fn drop(&mut self) {
        // SAFETY: owned pointer from mv_pk_new.
        unsafe { sys::mv_pk_free(self.0) }
    }
}

pub fn buf(b: &[u8]) -> sys::mv_buf {
    sys::mv_buf {
        p: b.as_ptr(),
        len: b.len(),
    }
}

pub fn write_cert(
    subject: &str,
    issuer: &str,
    serial: u8,
    ca: bool,
    sk: &Key,
    ik: &Key,
) -> Vec<u8> {
    let subject = std::ffi::CString::new(subject).unwrap();
    let issuer = std::ffi::CString::new(issuer).unwrap();
    let serial = [serial];
    let bc_oid = [0x55u8, 0x1d, 0x13];
    let bc_ca = [0x30u8, 0x03, 0x01, 0x01, 0xff];
    let exts = [sys::mv_raw_ext {
        oid: buf(&bc_oid),
        critical: 1,
        value: buf(&bc_ca),
    }];
    let params = sys::mv_crt_write_params {
        subject_name: subject.as_ptr(),
        issuer_name: issuer.as_ptr(),
        serial: buf(&serial),
        not_before: c"20240101000000".as_ptr(),
        not_after: c"20991231235959".as_ptr(),
        md_alg: sys::MBEDTLS_MD_SHA256,
        key_identifiers: 1,
        exts: exts.as_ptr(),
        ext_count: if ca { 1 } else { 0 },
    };
    let mut out = vec![0u8; 4096];
    let mut len = 0usize;
    // SAFETY: all pointers are valid for the call; out has the stated size.
    let rc = unsafe {
        sys::mv_crt_write_der(&params, sk.0, ik.0, out.as_mut_ptr(), out.len(), &mut len)
    };
    assert_eq!(rc, 0, "mv_crt_write_der: {rc:#x}");
    out.truncate(len);
    out
}

pub struct Chain(pub *mut sys::mv_cert);
impl Chain {
    pub fn from_ders(ders: &[&[u8]]) -> Chain {
        // SAFETY: returns an owned, initialised chain head or NULL.
        let c = unsafe { sys::mv_crt_new() };
        assert!(!c.is_null());
        for d in ders {
            // SAFETY: c is valid; d is a readable buffer (copied by mbedTLS).
            assert_eq!(unsafe { sys::mv_crt_parse_der(c, d.as_ptr(), d.len()) }, 0);
        }
        Chain(c)
    }
}
impl Drop for Chain {
    fn drop(&mut self) {
        // SAFETY: owned pointer from mv_crt_new.
        unsafe { sys::mv_crt_free(self.0) }
    }
}

/// `mv_verify` of `leaf` against the trusted `ca` under `profile`, no CRL, no callback:
/// (return code, flags).
pub fn verify_without_callback(leaf: &Chain, ca: &Chain, profile: &sys::mv_profile) -> (i32, u32) {
    let mut flags = 0u32;
    // SAFETY: both chains are parsed and alive for the call; no callback, no CRL.
    let rc = unsafe {
        sys::mv_verify(
            leaf.0,
            ca.0,
            core::ptr::null_mut(),
            profile,
            core::ptr::null(),
            &mut flags,
            None,
            core::ptr::null_mut(),
        )
    };
    (rc, flags)
}

/// A small deterministic generator (splitmix64): the cases repeat run to run.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Run `total` cases on every available thread, thread `t` with `Rng(seed + t)`; `case` gets
/// the generator and the case's index and returns the outcome's code. Returns how many cases
/// gave each code, and how many ran.
pub fn run_cases(
    total: u64,
    seed: u64,
    case: fn(&mut Rng, u64) -> i32,
) -> (std::collections::BTreeMap<i32, u64>, u64) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let per = total.div_ceil(threads);
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            std::thread::spawn(move || {
                let mut rng = Rng(seed + t);
                let mut by_code = std::collections::BTreeMap::<i32, u64>::new();
                for i in 0..per {
                    *by_code.entry(case(&mut rng, i)).or_default() += 1;
                }
                by_code
            })
        })
        .collect();
    let mut by_code = std::collections::BTreeMap::<i32, u64>::new();
    for h in handles {
        for (k, v) in h.join().expect("a case failed") {
            *by_code.entry(k).or_default() += v;
        }
    }
    (by_code, per * threads)
}

/// The P-256 group order n and field prime p, big-endian.
pub const N: [u8; 32] = hex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
pub const P: [u8; 32] = hex("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff");

/// 64 lowercase hex digits as 32 bytes.
pub const fn hex(s: &str) -> [u8; 32] {
    const fn nib(c: u8) -> u8 {
        if c <= b'9' { c - b'0' } else { c - b'a' + 10 }
    }
    let s = s.as_bytes();
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = (nib(s[2 * i]) << 4) | nib(s[2 * i + 1]);
        i += 1;
    }
    out
}
