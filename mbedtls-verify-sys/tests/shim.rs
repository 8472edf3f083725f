//! The C shim and the mbedTLS build, exercised through the raw bindings: self-tests,
//! key generation, certificate writing and parsing, and a two-certificate chain that
//! verifies (and one that does not).

use core::ptr;
use mbedtls_verify_sys as sys;

mod common;
use common::{Chain, Key, verify_without_callback, write_cert};

#[test]
fn mbedtls_self_tests_pass() {
    // SAFETY: no arguments besides verbosity; runs mbedTLS's own self-tests.
    let failed = unsafe { sys::mv_selftest(0) };
    assert_eq!(failed, 0, "mbedTLS self-tests failed: {failed}");
}

#[test]
fn version_is_3_6() {
    // SAFETY: pure function.
    let v = unsafe { sys::mv_version_number() };
    assert_eq!(v >> 16, 0x0306);
    assert_eq!(v, sys::version_number());
}

unsafe extern "C" fn count_depths(
    ctx: *mut core::ffi::c_void,
    _crt: *mut sys::mv_cert,
    depth: i32,
    _flags: *mut u32,
) -> i32 {
    // SAFETY: ctx is the &mut Vec<i32> passed below, alive for the verify call.
    let v = unsafe { &mut *(ctx as *mut Vec<i32>) };
    v.push(depth);
    0
}

#[test]
fn two_certificate_chain_verifies_through_the_shim() {
    let ca_key = Key::p256();
    let leaf_key = Key::p256();
    let ca_der = write_cert(
        "CN=Test Root,O=mbedtls-verify",
        "CN=Test Root,O=mbedtls-verify",
        1,
        true,
        &ca_key,
        &ca_key,
    );
    let leaf_der = write_cert(
        "CN=device-1",
        "CN=Test Root,O=mbedtls-verify",
        2,
        false,
        &leaf_key,
        &ca_key,
    );

    let ca = Chain::from_ders(&[&ca_der]);
    let leaf = Chain::from_ders(&[&leaf_der]);
    let mut info = sys::mv_cert_info::default();
    // SAFETY: leaf.0 is a parsed certificate; info is a valid out-pointer.
    unsafe { sys::mv_crt_info(leaf.0, &mut info) };
    assert_eq!(info.version, 3);
    assert_eq!(info.pk_bits, 256);
    assert_eq!(info.ec_group, sys::MBEDTLS_ECP_DP_SECP256R1);
    assert_eq!(info.raw.len, leaf_der.len());

    let profile = sys::mv_profile {
        allowed_mds: 1 << (sys::MBEDTLS_MD_SHA256 - 1),
        allowed_pks: 0x0fff_ffff,
        allowed_curves: 0x0fff_ffff,
        rsa_min_bitlen: 2048,
    };
    let mut flags = 0u32;
    let mut depths: Vec<i32> = Vec::new();
    // SAFETY: all handles are valid; the callback context outlives the call.
    let rc = unsafe {
        sys::mv_verify(
            leaf.0,
            ca.0,
            ptr::null_mut(),
            &profile,
            ptr::null(),
            &mut flags,
            Some(count_depths),
            &mut depths as *mut Vec<i32> as *mut _,
        )
    };
    assert_eq!((rc, flags), (0, 0));
    assert_eq!(depths, [1, 0], "mbedTLS calls the top of the chain first");

    // Against an unrelated root the same leaf is not trusted.
    let other_key = Key::p256();
    let other = Chain::from_ders(&[&write_cert(
        "CN=Other", "CN=Other", 9, true, &other_key, &other_key,
    )]);
    let (rc, flags) = verify_without_callback(&leaf, &other, &profile);
    assert_eq!(rc, sys::MBEDTLS_ERR_X509_CERT_VERIFY_FAILED);
    assert_ne!(flags & sys::MBEDTLS_X509_BADCERT_NOT_TRUSTED, 0);
}

#[test]
fn validation_time_override_is_per_thread_and_fails_closed_before_validity() {
    let ca_key = Key::p256();
    let ca_der = write_cert("CN=Time Root", "CN=Time Root", 1, true, &ca_key, &ca_key);
    let ca = Chain::from_ders(&[&ca_der]);
    let profile = sys::mv_profile {
        allowed_mds: 0xffff_ffff,
        allowed_pks: 0xffff_ffff,
        allowed_curves: 0xffff_ffff,
        rsa_min_bitlen: 2048,
    };
    let verify_at = |ca: &Chain, t: Option<i64>| {
        // SAFETY: sets this thread's override only.
        unsafe {
            match t {
                Some(t) => sys::mv_time_override_set(t),
                None => sys::mv_time_override_clear(),
            }
        }
        let mut flags = 0u32;
        // SAFETY: valid handles; the self-signed root verifies against itself.
        let rc = unsafe {
            sys::mv_verify(
                ca.0,
                ca.0,
                ptr::null_mut(),
                &profile,
                ptr::null(),
                &mut flags,
                None,
                ptr::null_mut(),
            )
        };
        assert_eq!(rc == 0, flags == 0);
        flags
    };
    assert_eq!(verify_at(&ca, None), 0);
    // 2023-06-01: before notBefore (2024-01-01).
    assert_eq!(
        verify_at(&ca, Some(1_685_577_600)),
        sys::MBEDTLS_X509_BADCERT_FUTURE
    );
    // 2100-01-01: after notAfter.
    assert_eq!(
        verify_at(&ca, Some(4_102_444_800)),
        sys::MBEDTLS_X509_BADCERT_EXPIRED
    );
    // Another thread still uses the real clock while this one has an override.
    let other = std::thread::scope(|s| {
        s.spawn(|| verify_at(&Chain::from_ders(&[&ca_der]), None))
            .join()
            .unwrap()
    });
    assert_eq!(other, 0);
    // An unusable time (before 1970, or no clock on bare metal) fails closed: mbedTLS
    // stops with a fatal error and sets every flag.
    assert_eq!(verify_at(&ca, Some(-1)), u32::MAX);
    verify_at(&ca, None);
}

#[test]
fn sha256_matches_known_answer() {
    let mut out = [0u8; 32];
    // SAFETY: valid input and a 32-byte output buffer.
    let rc = unsafe { sys::mv_sha256(b"abc".as_ptr(), 3, out.as_mut_ptr()) };
    assert_eq!(rc, 0);
    assert_eq!(out[..4], [0xba, 0x78, 0x16, 0xbf]);
}

#[test]
fn features_match_the_host_config() {
    // SAFETY: pure function.
    let f = unsafe { sys::mv_features() };
    for bit in [
        sys::MV_FEAT_CA_CB,
        sys::MV_FEAT_CRL,
        sys::MV_FEAT_TIME_DATE,
        sys::MV_FEAT_THREADING,
        sys::MV_FEAT_TLS13,
    ] {
        assert_ne!(f & bit, 0, "feature bit {bit:#x} missing");
    }
}
