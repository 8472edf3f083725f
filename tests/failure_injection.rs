//! Failure injection: mbedTLS's allocator fails the k-th allocation, for every k, during
//! a verification and during a handshake. Each run must end in an error or exactly the
//! result of the run without injection — never a different success — with no crash and
//! no leak (every allocation freed once the objects are dropped).
//!
//! One test in its own binary: the allocator hooks are process-wide and must be installed
//! before any mbedTLS object exists.
//!
//! Known upstream defect (mbedTLS 3.6.5): when an allocation fails inside
//! `mbedtls_ssl_tls13_populate_transform` (TLS 1.3 key schedule), a cipher context set up
//! just before is not freed. The test identifies every leaked allocation by its call
//! stack and tolerates only that one; any other leak fails it.

#[path = "../mbedtls-verify/tests/common/mod.rs"]
mod pki;

use std::backtrace::Backtrace;
use std::ffi::c_void;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering};

use mbedtls_verify::ssl::mem::{memory_pair, run_handshakes};
use mbedtls_verify::ssl::{ClientAuth, ClientConfig, Identity, ServerConfig, Session};
use mbedtls_verify::trust::Trust;
use mbedtls_verify::verifier::Verifier;
use mbedtls_verify::verify::{Verdict, VerifyHook};
use pki::*;

unsafe extern "C" {
    fn calloc(n: usize, size: usize) -> *mut c_void;
    fn free(p: *mut c_void);
}

/// Allocations made so far while armed; the one whose number equals FAIL_AT fails.
static COUNT: AtomicUsize = AtomicUsize::new(0);
static FAIL_AT: AtomicUsize = AtomicUsize::new(0);
/// Live mbedTLS allocations (calloc successes minus frees of non-null pointers).
static LIVE: AtomicIsize = AtomicIsize::new(0);
/// While set, every live allocation keeps its (unresolved) call stack.
static TRACKING: AtomicBool = AtomicBool::new(false);
static TRACKED: Mutex<Vec<(usize, Backtrace)>> = Mutex::new(Vec::new());
/// The one leak mbedTLS 3.6.5 is known to have under allocation failure.
const KNOWN_LEAK_SITE: &str = "mbedtls_ssl_tls13_populate_transform";

unsafe extern "C" fn failing_calloc(n: usize, size: usize) -> *mut c_void {
    let k = COUNT.fetch_add(1, Ordering::SeqCst) + 1;
    if k == FAIL_AT.load(Ordering::SeqCst) {
        return std::ptr::null_mut();
    }
    // SAFETY: plain C calloc.
    let p = unsafe { calloc(n, size) };
    if !p.is_null() {
        LIVE.fetch_add(1, Ordering::SeqCst);
        if TRACKING.swap(false, Ordering::SeqCst) {
            let bt = Backtrace::force_capture();
            TRACKED.lock().unwrap().push((p as usize, bt));
            TRACKING.store(true, Ordering::SeqCst);
        }
    }
    p
}

unsafe extern "C" fn counting_free(p: *mut c_void) {
    if !p.is_null() {
        LIVE.fetch_sub(1, Ordering::SeqCst);
        if TRACKING.swap(false, Ordering::SeqCst) {
            TRACKED.lock().unwrap().retain(|e| e.0 != p as usize);
            TRACKING.store(true, Ordering::SeqCst);
        }
    }
    // SAFETY: p came from failing_calloc (C calloc) or is NULL.
    unsafe { free(p) }
}

/// TEST-ONLY deterministic "entropy" (splitmix64), reset on every run, so that every run
/// makes exactly the same allocations and a leak found at the k-th one can be replayed.
static RNG: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn test_only_rng(buf: &mut [u8]) -> bool {
    for b in buf.iter_mut() {
        let mut z = RNG
            .fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::SeqCst)
            .wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        *b = (z ^ (z >> 31)) as u8;
    }
    true
}

fn arm(k: usize) {
    RNG.store(1, Ordering::SeqCst);
    COUNT.store(0, Ordering::SeqCst);
    FAIL_AT.store(k, Ordering::SeqCst);
}

fn disarm() -> usize {
    FAIL_AT.store(0, Ordering::SeqCst);
    COUNT.load(Ordering::SeqCst)
}

#[test]
fn every_failed_allocation_gives_an_error_or_the_same_result() {
    // SAFETY: installed first, before any mbedTLS object exists; both functions behave
    // like calloc/free and are thread-safe.
    unsafe { mbedtls_verify::platform::set_allocator(failing_calloc, counting_free).unwrap() };
    mbedtls_verify::platform::set_entropy_source(test_only_rng);

    let root = root("Root");
    let int = sub_ca(&root, "Int");
    let srv = server_leaf(&int, "device.local");
    let dev = client_leaf(&int, "device-1", vec![]);
    let peer = chain(&dev.cert, &[&int]);
    let hook = VerifyHook::new(|_| Verdict::Accept);

    // --- Verification -------------------------------------------------------------
    let verifier =
        Verifier::new(Trust::anchors(root.cert.clone()).unwrap()).with_hook(hook.clone());
    let base_live = LIVE.load(Ordering::SeqCst);
    arm(0);
    let clean = verifier.verify(&peer).expect("clean run verifies");
    let n = disarm();
    drop(clean);
    assert_eq!(
        LIVE.load(Ordering::SeqCst),
        base_live,
        "clean verification leaks"
    );
    let (mut errors, mut same) = (0, 0);
    for k in 1..=n {
        arm(k);
        let r = verifier.verify(&peer);
        disarm();
        match r {
            Ok(v) => {
                assert_eq!(v.chain().len(), 3, "k={k}: a different success");
                same += 1;
            }
            Err(_) => errors += 1,
        }
        assert_eq!(
            LIVE.load(Ordering::SeqCst),
            base_live,
            "k={k}: leak after a failed allocation"
        );
    }
    println!(
        "verification: {n} allocations; {errors} injected failures gave errors, {same} the same success"
    );
    assert!(errors > 0, "injection had no effect");

    // --- Handshake ------------------------------------------------------------------
    let server = ServerConfig::builder()
        .identity(Identity::new(chain(&srv.cert, &[&int]), key_copy(&srv.key)).unwrap())
        .client_auth(ClientAuth::Required)
        .trust(Trust::anchors(root.cert.clone()).unwrap())
        .verify_hook(hook)
        .build()
        .unwrap();
    let client = ClientConfig::builder()
        .trust(Trust::anchors(root.cert.clone()).unwrap())
        .identity(Identity::new(chain(&dev.cert, &[&int]), key_copy(&dev.key)).unwrap())
        .build()
        .unwrap();
    let run = || {
        let (a, b) = memory_pair();
        let mut c = Session::client(&client, "device.local", a)?;
        let mut s = Session::server(&server, b)?;
        let (rc, rs) = run_handshakes(&mut c, &mut s);
        rc?;
        rs?;
        let who = s.verified_peer().map(|p| p.leaf().der().to_vec());
        Ok::<_, mbedtls_verify::Error>(who)
    };
    let base_live = LIVE.load(Ordering::SeqCst);
    arm(0);
    let clean = run().expect("clean handshake");
    let n = disarm();
    assert_eq!(
        LIVE.load(Ordering::SeqCst),
        base_live,
        "clean handshake leaks"
    );
    let (mut errors, mut same, mut known_leaks) = (0, 0, 0);
    let mut live = base_live;
    for k in 1..=n {
        arm(k);
        let r = run();
        disarm();
        match r {
            Ok(who) => {
                assert_eq!(who, clean, "k={k}: a different success");
                same += 1;
            }
            Err(_) => errors += 1,
        }
        let now = LIVE.load(Ordering::SeqCst);
        if now != live {
            // Re-run this k with call stacks on every allocation to see what leaked.
            TRACKED.lock().unwrap().clear();
            TRACKING.store(true, Ordering::SeqCst);
            arm(k);
            let _ = run();
            disarm();
            TRACKING.store(false, Ordering::SeqCst);
            let leaked: Vec<String> = TRACKED
                .lock()
                .unwrap()
                .iter()
                .map(|(_, bt)| bt.to_string())
                .collect();
            assert!(!leaked.is_empty(), "k={k}: leak not reproduced");
            for stack in &leaked {
                assert!(
                    stack.contains(KNOWN_LEAK_SITE),
                    "k={k}: leak after a failed allocation, not the known mbedTLS defect:\n{stack}"
                );
            }
            known_leaks += leaked.len();
            live = LIVE.load(Ordering::SeqCst);
        }
    }
    println!(
        "handshake: {n} allocations; {errors} injected failures gave errors, {same} the same success; {known_leaks} allocations leaked by the known mbedTLS 3.6.5 defect ({KNOWN_LEAK_SITE}), no other leak"
    );
    assert!(errors > 0);
}
