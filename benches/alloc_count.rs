//! Allocations per verification and per handshake: Rust heap (a counting global
//! allocator) and mbedTLS heap (counting calloc/free hooks installed with
//! `platform::set_allocator` before anything else), with and without the hook and the
//! policy. Not timed. Prints a table; `--json` prints one JSON object per line.
//!
//! Each figure is the average over `ROUNDS` operations after a warm-up (lazy one-time
//! set-up — PSA init, thread-locals — is not counted). The peak columns are the most
//! bytes (requested sizes) live at once during one operation above what was live when it
//! started — the heap an operation needs — the largest over the `ROUNDS` operations.

mod common;
#[path = "counting/mod.rs"]
mod counting;

use std::sync::atomic::Ordering::Relaxed;

use common::*;
use counting::*;
use mbedtls_verify::ssl::mem::{memory_pair, run_handshakes};
use mbedtls_verify::ssl::{ClientConfig, ServerConfig, Session, TlsVersion};
use mbedtls_verify::verifier::Verifier;
use mbedtls_verify::verify::DispatchBench;

#[derive(Clone, Copy, Default)]
struct Counts {
    rust_count: f64,
    rust_bytes: f64,
    c_count: f64,
    c_bytes: f64,
    rust_peak: u64,
    c_peak: u64,
}

fn snapshot() -> [u64; 4] {
    [
        RUST_COUNT.load(Relaxed),
        RUST_BYTES.load(Relaxed),
        C_COUNT.load(Relaxed),
        C_BYTES.load(Relaxed),
    ]
}

const ROUNDS: u64 = 20;

/// Average allocations of `op` over ROUNDS runs, after two warm-up runs, and the largest
/// heap growth during one run.
fn measure(mut op: impl FnMut()) -> Counts {
    op();
    op();
    let a = snapshot();
    let (mut rust_peak, mut c_peak) = (0, 0);
    for _ in 0..ROUNDS {
        let (rust_start, c_start) = (RUST_LIVE.load(Relaxed), C_LIVE.load(Relaxed));
        RUST_PEAK.store(rust_start, Relaxed);
        C_PEAK.store(c_start, Relaxed);
        op();
        rust_peak = rust_peak.max(RUST_PEAK.load(Relaxed) - rust_start);
        c_peak = c_peak.max(C_PEAK.load(Relaxed) - c_start);
    }
    let b = snapshot();
    let d = |i: usize| (b[i] - a[i]) as f64 / ROUNDS as f64;
    Counts {
        rust_count: d(0),
        rust_bytes: d(1),
        c_count: d(2),
        c_bytes: d(3),
        rust_peak,
        c_peak,
    }
}

fn handshake(server: &ServerConfig, client: &ClientConfig) {
    let (a, b) = memory_pair();
    let mut c = Session::client(client, SERVER_NAME, a).unwrap();
    let mut s = Session::server(server, b).unwrap();
    let (rc, rs) = run_handshakes(&mut c, &mut s);
    rc.expect("client handshake");
    rs.expect("server handshake");
}

fn main() {
    // Before anything else touches mbedTLS.
    // SAFETY: no mbedTLS object exists yet; the hooks behave like calloc/free.
    unsafe { mbedtls_verify::platform::set_allocator(counting_calloc, counting_free) }
        .expect("MBEDTLS_PLATFORM_MEMORY");
    let json = std::env::args().any(|a| a == "--json");
    let mut rows: Vec<(String, Counts)> = Vec::new();

    for alg in Alg::ALL {
        let p = pki(alg);
        let chain = p.client_chain();
        let plain = Verifier::new(p.trust());
        let raw_chain = RawChain::from_ders(&[
            p.client.first().unwrap().der(),
            p.int.first().unwrap().der(),
        ]);
        let raw_anchor = RawChain::from_ders(&[p.root.first().unwrap().der()]);
        let profile = raw_profile();
        rows.push((
            format!("verify/{}/raw_ffi", alg.name()),
            measure(|| assert_eq!(raw_verify(&raw_chain, &raw_anchor, &profile), (0, 0))),
        ));
        let variants = [
            ("plain", plain.clone()),
            ("noop_hook", plain.clone().with_hook(noop_hook())),
            ("policy", plain.clone().with_policy(fleet_policy())),
            (
                "hook+policy",
                plain
                    .clone()
                    .with_hook(noop_hook())
                    .with_policy(fleet_policy()),
            ),
        ];
        for (name, v) in &variants {
            rows.push((
                format!("verify/{}/{name}", alg.name()),
                measure(|| {
                    v.verify(&chain).expect("verifies");
                }),
            ));
        }
    }

    // The hook's dispatch and the policy's evaluation on their own (accept path).
    {
        let p = pki(Alg::P256);
        let peer = p.client_chain();
        let certs: Vec<_> = peer.iter().collect();
        let root = p.root.first().unwrap();
        let mut d = DispatchBench::new(noop_hook(), p.trust());
        rows.push((
            "dispatch/chain_of_3 (3 hook calls)".into(),
            measure(|| {
                assert_eq!(d.call(root, 2, 0).0, 0);
                assert_eq!(d.call(certs[1], 1, 0).0, 0);
                assert_eq!(d.call(certs[0], 0, 0).0, 0);
            }),
        ));
        let policy = fleet_policy();
        let mut chain = certs.clone();
        chain.push(root);
        rows.push((
            "policy/evaluate (accept)".into(),
            measure(|| {
                policy.evaluate(&chain).expect("admitted");
            }),
        ));
    }

    for alg in Alg::ALL {
        let p = pki(alg);
        for v in [TlsVersion::Tls13, TlsVersion::Tls12] {
            let client_sa = client_config(&p, v, Mode::ServerAuth);
            let server_sa = server_config(&p, v, Mode::ServerAuth, Extra::Plain);
            rows.push((
                format!("handshake/{}/{}/server_auth", alg.name(), version_name(v)),
                measure(|| handshake(&server_sa, &client_sa)),
            ));
            let client = client_config(&p, v, Mode::Mutual);
            for extra in [
                Extra::Plain,
                Extra::Hook,
                Extra::Policy,
                Extra::HookAndPolicy,
            ] {
                let server = server_config(&p, v, Mode::Mutual, extra);
                rows.push((
                    format!(
                        "handshake/{}/{}/mutual/{}",
                        alg.name(),
                        version_name(v),
                        extra.name()
                    ),
                    measure(|| handshake(&server, &client)),
                ));
            }
        }
    }

    if json {
        for (name, c) in &rows {
            println!(
                "{{\"name\":\"{name}\",\"rust_allocs\":{},\"rust_bytes\":{},\"c_allocs\":{},\"c_bytes\":{},\"rust_peak\":{},\"c_peak\":{}}}",
                c.rust_count, c.rust_bytes, c.c_count, c.c_bytes, c.rust_peak, c.c_peak
            );
        }
    } else {
        println!(
            "{:<44} {:>12} {:>12} {:>12} {:>12} {:>10} {:>10}",
            "operation (average of 20)",
            "Rust allocs",
            "Rust bytes",
            "C allocs",
            "C bytes",
            "Rust peak",
            "C peak"
        );
        for (name, c) in &rows {
            println!(
                "{:<44} {:>12} {:>12} {:>12} {:>12} {:>10} {:>10}",
                name, c.rust_count, c.rust_bytes, c.c_count, c.c_bytes, c.rust_peak, c.c_peak
            );
        }
    }
}
