//! One server and one client configuration shared by several threads doing handshakes
//! with a verify hook and a CA callback: every handshake verifies, nothing leaks, and the
//! number of live mbedTLS allocations returns to where it started (stable memory).
//! `MV_LOAD_HANDSHAKES` sets the total (default 400; `scripts/load-test` runs 10,000).
//! Data races are excluded by construction (the configs are `Sync`, sessions are per
//! thread); this test exercises it under load.

#[path = "../mbedtls-verify/tests/common/mod.rs"]
mod pki;

use std::ffi::c_void;
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};

use mbedtls_verify::ssl::mem::{memory_pair, run_handshakes};
use mbedtls_verify::ssl::{ClientAuth, ClientConfig, Identity, ServerConfig, Session};
use mbedtls_verify::trust::{CaCandidates, Trust};
use mbedtls_verify::verify::{Role, Verdict, VerifyHook};
use pki::*;

unsafe extern "C" {
    fn calloc(n: usize, size: usize) -> *mut c_void;
    fn free(p: *mut c_void);
}

static LIVE: AtomicIsize = AtomicIsize::new(0);
/// The most allocations live at once since the last reset.
static PEAK: AtomicIsize = AtomicIsize::new(0);

unsafe extern "C" fn counting_calloc(n: usize, size: usize) -> *mut c_void {
    // SAFETY: plain C calloc.
    let p = unsafe { calloc(n, size) };
    if !p.is_null() {
        let live = LIVE.fetch_add(1, Ordering::SeqCst) + 1;
        PEAK.fetch_max(live, Ordering::SeqCst);
    }
    p
}

unsafe extern "C" fn counting_free(p: *mut c_void) {
    if !p.is_null() {
        LIVE.fetch_sub(1, Ordering::SeqCst);
    }
    // SAFETY: p came from counting_calloc or is NULL.
    unsafe { free(p) }
}

#[test]
fn shared_configs_under_concurrent_handshakes() {
    // SAFETY: installed before any mbedTLS object exists; thread-safe calloc/free wrappers.
    unsafe { mbedtls_verify::platform::set_allocator(counting_calloc, counting_free).unwrap() };
    let total: usize = std::env::var("MV_LOAD_HANDSHAKES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let threads = 4;

    let root = root("Load Root");
    let int = sub_ca(&root, "Load Issuing");
    let srv = server_leaf(&int, "device.local");
    let dev = client_leaf(&int, "device-1", vec![]);
    let root_der = root.cert.first().unwrap().der().to_vec();
    let lookups = Arc::new(AtomicUsize::new(0));
    let leaves_seen = Arc::new(AtomicUsize::new(0));

    let server = ServerConfig::builder()
        .identity(Identity::new(chain(&srv.cert, &[&int]), key_copy(&srv.key)).unwrap())
        .client_auth(ClientAuth::Required)
        .trust(Trust::callback({
            let lookups = lookups.clone();
            move |_child| {
                lookups.fetch_add(1, Ordering::Relaxed);
                let mut c = CaCandidates::none();
                c.push_der(&root_der)
                    .map_err(|e| mbedtls_verify::trust::CaLookupError(e.to_string()))?;
                Ok(c)
            }
        }))
        .verify_hook(VerifyHook::new({
            let leaves_seen = leaves_seen.clone();
            move |call| {
                if call.role() == Role::Leaf {
                    leaves_seen.fetch_add(1, Ordering::Relaxed);
                }
                Verdict::Accept
            }
        }))
        .build()
        .unwrap();
    let client = ClientConfig::builder()
        .trust(Trust::anchors(root.cert.clone()).unwrap())
        .identity(Identity::new(chain(&dev.cert, &[&int]), key_copy(&dev.key)).unwrap())
        .build()
        .unwrap();

    let handshake = |server: &ServerConfig, client: &ClientConfig| {
        let (a, b) = memory_pair();
        let mut c = Session::client(client, "device.local", a).unwrap();
        let mut s = Session::server(server, b).unwrap();
        let (rc, rs) = run_handshakes(&mut c, &mut s);
        rc.unwrap();
        rs.unwrap();
        assert!(s.verified_peer().is_some());
    };
    // Warm up once (PSA and other one-time state), then measure live allocations: the
    // base, and the peak of one handshake alone.
    handshake(&server, &client);
    let base = LIVE.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    handshake(&server, &client);
    let one = PEAK.load(Ordering::SeqCst) - base;
    PEAK.store(base, Ordering::SeqCst);
    let per_thread = total / threads;
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                for _ in 0..per_thread {
                    handshake(&server, &client);
                }
            });
        }
    });
    let after = LIVE.load(Ordering::SeqCst);
    let peak = PEAK.load(Ordering::SeqCst) - base;
    println!(
        "{} handshakes on {threads} threads; live mbedTLS allocations {base} -> {after}; \
         peak above base {peak} (one handshake alone: {one}); CA lookups {}",
        per_thread * threads,
        lookups.load(Ordering::Relaxed)
    );
    assert_eq!(after, base, "mbedTLS allocations leaked under load");
    // Stable memory: never more live than `threads` handshakes at their own peak.
    assert!(
        peak <= one * threads as isize,
        "peak {peak} live allocations above base exceeds {threads} x {one}"
    );
    assert_eq!(
        leaves_seen.load(Ordering::Relaxed),
        per_thread * threads + 2
    );
}
