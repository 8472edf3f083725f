//! Fixed workloads for instruction counting (`valgrind --tool=callgrind`), the same as the
//! C baseline's (`benches/c/mv_bench_c.c`). Only `measured_work` is counted
//! (`--toggle-collect=measured_work`), so loading the PKI and building configurations
//! are left out, as in the C program.
//!
//! ```text
//! workload pki                                        # create the PKI files, print the dir
//! workload verify  ALG VARIANT N                      # VARIANT: raw_ffi plain noop_hook policy hook+policy no_rules rfc5280
//! workload nc_worst M N                               # M dNSName constraints (none matching) against a leaf with M dNSNames
//! workload crl VARIANT N                              # P-256 root -> CA -> leaf, each CA with a CRL in the trust store; VARIANT: plain rfc5280
//! workload handshake ALG VERSION MODE EXTRA N         # tls13|tls12, server_auth|mutual, plain|hook|policy|hook+policy
//! workload dispatch CASE N                            # leaf_alone | intermediate_alone | intermediate_then_leaf | chain_of_3
//! ```
//! With `time` first (`workload time verify p256 plain 0`), the operation runs for
//! `MV_BENCH_SECONDS` (default 2) after a 0.3 s warm-up and the mean wall time per
//! operation is printed — the same loop as the C program's `time` mode, so the two can be
//! run alternately and compared. Run by `cargo bench` (with `--bench`) it does nothing.

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use common::*;
use mbedtls_verify::issue::{CertificateBuilder, CrlBuilder, San};
use mbedtls_verify::pk::{KeyType, PrivateKey};
use mbedtls_verify::profile::{Profile, Rules, SecurityProfile};
use mbedtls_verify::ssl::mem::{memory_pair, run_handshakes};
use mbedtls_verify::ssl::{Session, TlsVersion};
use mbedtls_verify::trust::Trust;
use mbedtls_verify::verifier::Verifier;
use mbedtls_verify::verify::DispatchBench;
use mbedtls_verify::x509::{CertChain, Crl, DateTime};

/// The only function whose instructions are counted.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn measured_work(n: u64, op: &mut dyn FnMut()) {
    for _ in 0..n {
        op();
    }
}

/// `time` mode: like the C program's time_op().
static TIMED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn run(n: u64, op: &mut dyn FnMut()) {
    if !TIMED.load(std::sync::atomic::Ordering::Relaxed) {
        measured_work(n, op);
        return;
    }
    let seconds: f64 = std::env::var("MV_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(300) {
        op();
    }
    let start = Instant::now();
    let mut count = 0u64;
    let elapsed = loop {
        op();
        count += 1;
        let e = start.elapsed().as_secs_f64();
        if e >= seconds {
            break e;
        }
    };
    println!("{:.1} ns/op over {count} ops", elapsed * 1e9 / count as f64);
}

fn usage() -> ! {
    eprintln!("usage: workload pki | verify ALG VARIANT N | handshake ALG VERSION MODE EXTRA N");
    std::process::exit(2)
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "time") {
        TIMED.store(true, std::sync::atomic::Ordering::Relaxed);
        args.remove(0);
    }
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    match a.as_slice() {
        [] | ["--bench", ..] => {}
        ["pki"] => {
            for alg in Alg::ALL {
                pki(alg);
            }
            println!("{}", pki_dir().display());
        }
        ["verify", alg, variant, n] => {
            let alg = Alg::parse(alg).unwrap_or_else(|| usage());
            let n: u64 = n.parse().unwrap_or_else(|_| usage());
            let p = pki(alg);
            if *variant == "raw_ffi" {
                let chain = RawChain::from_ders(&[
                    p.client.first().unwrap().der(),
                    p.int.first().unwrap().der(),
                ]);
                let anchor = RawChain::from_ders(&[p.root.first().unwrap().der()]);
                let profile = raw_profile();
                let mut op = || assert_eq!(raw_verify(&chain, &anchor, &profile), (0, 0));
                op();
                run(n, &mut op);
                return;
            }
            let chain = p.client_chain();
            let mut v = Verifier::new(p.trust());
            match *variant {
                "plain" => {}
                "noop_hook" => v = v.with_hook(noop_hook()),
                "policy" => v = v.with_policy(fleet_policy()),
                "hook+policy" => v = v.with_hook(noop_hook()).with_policy(fleet_policy()),
                // The structural profile: none at all, or every RFC 5280 rule (`plain`
                // has the default, Profile::PrivateFleet).
                "no_rules" => {
                    v = v.with_profile(
                        SecurityProfile::DEFAULT.with_rules(Profile::Custom(Rules::empty())),
                    )
                }
                "rfc5280" => {
                    v = v.with_profile(SecurityProfile::DEFAULT.with_rules(Profile::Rfc5280Strict))
                }
                _ => usage(),
            }
            let mut op = || {
                black_box(v.verify(black_box(&chain)).expect("verifies"));
            };
            op();
            run(n, &mut op);
        }
        ["nc_worst", m, n] => {
            // A trust anchor with M permitted dNSName subtrees, none of which covers the
            // leaf's M dNSNames: without a budget, M x M comparisons; with one, it stops
            // at name_constraints::COMPARISON_BUDGET.
            let m: usize = m.parse().unwrap_or_else(|_| usage());
            let n: u64 = n.parse().unwrap_or_else(|_| usage());
            let (anchor, leaf) = nc_worst_chain(m);
            let v = Verifier::new(Trust::anchors(anchor).unwrap());
            let mut op = || {
                let e = v
                    .verify(black_box(&leaf))
                    .expect_err("outside the constraints");
                black_box(e);
            };
            op();
            let e = v.verify(&leaf).unwrap_err();
            eprintln!("reason: {e}");
            run(n, &mut op);
        }
        ["crl", variant, n] => {
            // The CRL rules (Rfc5280Strict) on a trust store with CRLs: the same 3-certificate
            // P-256 shape as `verify`, with a numbered CRL from the root and one from the
            // issuing CA (both clean, so the chain verifies).
            let n: u64 = n.parse().unwrap_or_else(|_| usage());
            let profile = match *variant {
                "plain" => Profile::PrivateFleet,
                "rfc5280" => Profile::Rfc5280Strict,
                _ => usage(),
            };
            let (trust, chain) = crl_chain();
            let v = Verifier::new(trust).with_profile(SecurityProfile::DEFAULT.with_rules(profile));
            let mut op = || {
                black_box(v.verify(black_box(&chain)).expect("verifies"));
            };
            op();
            run(n, &mut op);
        }
        ["dispatch", case, n] => {
            let n: u64 = n.parse().unwrap_or_else(|_| usage());
            let p = pki(Alg::P256);
            let peer = p.client_chain();
            let certs: Vec<_> = peer.iter().collect();
            let (leaf, int) = (certs[0], certs[1]);
            let root = p.root.first().unwrap();
            let mut d = DispatchBench::new(noop_hook(), p.trust());
            let calls: &[(_, u32)] = match *case {
                "leaf_alone" => &[(leaf, 0)],
                "intermediate_alone" => &[(int, 1)],
                "intermediate_then_leaf" => &[(int, 1), (leaf, 0)],
                "chain_of_3" => &[(root, 2), (int, 1), (leaf, 0)],
                _ => usage(),
            };
            let mut op = || {
                for &(c, depth) in calls {
                    assert_eq!(d.call(black_box(c), black_box(depth), black_box(0)), (0, 0));
                }
            };
            op();
            run(n, &mut op);
        }
        ["handshake", alg, version, mode, extra, n] => {
            let alg = Alg::parse(alg).unwrap_or_else(|| usage());
            let v = match *version {
                "tls13" => TlsVersion::Tls13,
                "tls12" => TlsVersion::Tls12,
                _ => usage(),
            };
            let mode = match *mode {
                "server_auth" => Mode::ServerAuth,
                "mutual" => Mode::Mutual,
                _ => usage(),
            };
            let extra = match *extra {
                "plain" => Extra::Plain,
                "hook" => Extra::Hook,
                "policy" => Extra::Policy,
                "hook+policy" => Extra::HookAndPolicy,
                _ => usage(),
            };
            let n: u64 = n.parse().unwrap_or_else(|_| usage());
            let p = pki(alg);
            let server = server_config(&p, v, mode, extra);
            let client = client_config(&p, v, mode);
            let mut suite = String::new();
            let mut op = || {
                let (a, b) = memory_pair();
                let mut c = Session::client(&client, SERVER_NAME, a).unwrap();
                let mut s = Session::server(&server, b).unwrap();
                let (rc, rs) = run_handshakes(&mut c, &mut s);
                rc.expect("client handshake");
                rs.expect("server handshake");
                if suite.is_empty() {
                    suite = c.cipher_suite().unwrap_or("?").to_string();
                }
            };
            op();
            run(n, &mut op);
            eprintln!("cipher suite: {suite}");
        }
        _ => usage(),
    }
}

/// The chain of `crl`: (trust with the root and both CAs' CRLs, leaf + issuing CA).
/// Written once to `pki_dir()/crl` and read from there, so every run and every build
/// verifies the same signatures (the cost of an ECDSA verification depends on them).
fn crl_chain() -> (Trust, CertChain) {
    const FILES: [&str; 5] = ["root.der", "ca.der", "leaf.der", "root.crl", "ca.crl"];
    let dir = pki_dir().join("crl");
    if !FILES.iter().all(|f| dir.join(f).is_file()) {
        let root_key = PrivateKey::generate(KeyType::EcdsaP256).unwrap();
        let root = CertificateBuilder::new("CN=CRL Bench Root")
            .ca(None)
            .self_signed(&root_key)
            .unwrap();
        let ca_key = PrivateKey::generate(KeyType::EcdsaP256).unwrap();
        let ca = CertificateBuilder::new("CN=CRL Bench CA")
            .ca(Some(0))
            .signed_by(&ca_key, root.first().unwrap(), &root_key)
            .unwrap();
        let leaf_key = PrivateKey::generate(KeyType::EcdsaP256).unwrap();
        let leaf = CertificateBuilder::new("CN=device")
            .san(San::Dns("device.example".into()))
            .signed_by(&leaf_key, ca.first().unwrap(), &ca_key)
            .unwrap();
        // Fixed dates: a CRL issued "now" may be a second in the future for mbedTLS's clock.
        let (this_update, next_update) = (
            DateTime::new(2025, 1, 1, 0, 0, 0).unwrap(),
            DateTime::new(2099, 1, 1, 0, 0, 0).unwrap(),
        );
        let crl_of = |cert: &CertChain, key: &PrivateKey| {
            CrlBuilder::new(cert.first().unwrap(), key)
                .number(1)
                .this_update(this_update)
                .next_update(next_update)
                .to_der()
                .unwrap()
        };
        std::fs::create_dir_all(&dir).expect("creating the CRL PKI directory");
        let der = |c: &CertChain| c.first().unwrap().der().to_vec();
        for (f, bytes) in FILES.iter().zip([
            der(&root),
            der(&ca),
            der(&leaf),
            crl_of(&root, &root_key),
            crl_of(&ca, &ca_key),
        ]) {
            std::fs::write(dir.join(f), bytes).expect("writing the CRL PKI");
        }
    }
    let read = |f: &str| std::fs::read(dir.join(f)).expect("reading the CRL PKI");
    let mut crl = Crl::parse(&read("root.crl")).unwrap();
    crl.push(&read("ca.crl")).unwrap();
    let mut chain = CertChain::from_der(&read("leaf.der")).unwrap();
    chain.push_der(&read("ca.der")).unwrap();
    let root = CertChain::from_der(&read("root.der")).unwrap();
    (Trust::anchors_with_crl(root, crl).unwrap(), chain)
}

/// The pathological nameConstraints chain of `nc_worst`: (anchor, leaf).
fn nc_worst_chain(m: usize) -> (CertChain, CertChain) {
    let key = PrivateKey::generate(KeyType::EcdsaP256).unwrap();
    let permitted: Vec<San> = (0..m)
        .map(|i| San::Dns(format!("permitted-{i}.example")))
        .collect();
    let root = CertificateBuilder::new("CN=Pathological Root")
        .ca(None)
        .name_constraints(true, &permitted, &[])
        .self_signed(&key)
        .unwrap();
    let leaf_key = PrivateKey::generate(KeyType::EcdsaP256).unwrap();
    let leaf = CertificateBuilder::new("CN=leaf")
        .sans((0..m).map(|i| San::Dns(format!("name-{i}.elsewhere.example"))))
        .signed_by(&leaf_key, root.first().unwrap(), &key)
        .unwrap();
    (root, leaf)
}
