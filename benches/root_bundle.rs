//! A public root set in a `RootBundle` (CA callback) against the same set loaded whole
//! with `mbedtls_ssl_conf_ca_chain` (`Trust::anchors`): flash bytes, resident heap, heap
//! per lookup, peak heap in a handshake, and time (lookup, offline verification).
//!
//! The root set is a PEM file: `ROOTS_PEM` (default `/etc/ssl/certs/ca-certificates.crt`,
//! Debian's `ca-certificates`: the Mozilla set). A test root ("public-looking", ECDSA
//! P-256) is added to it; the server's chain (leaf + issuing CA) is issued under it. Heap
//! figures are requested bytes (Rust global allocator + mbedTLS calloc), the peak is the
//! most live at once above the start of the operation. Times are wall-clock means on this
//! machine (release build). Run: `cargo bench --bench root_bundle`.

#[path = "counting/mod.rs"]
mod counting;

use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use counting::*;
use mbedtls_verify::issue::{CertificateBuilder, San};
use mbedtls_verify::pk::{KeyType, PrivateKey};
use mbedtls_verify::roots::RootBundle;
use mbedtls_verify::ssl::mem::{memory_pair, run_handshakes};
use mbedtls_verify::ssl::{ClientAuth, ClientConfig, Identity, ServerConfig, Session};
use mbedtls_verify::trust::Trust;
use mbedtls_verify::verifier::Verifier;
use mbedtls_verify::x509::{CertChain, ExtendedKeyUsage};

fn live() -> u64 {
    RUST_LIVE.load(Relaxed) + C_LIVE.load(Relaxed)
}

/// Bytes still live after `make` (what the value it returns holds), and the value.
fn resident<T>(make: impl FnOnce() -> T) -> (u64, T) {
    let start = live();
    let v = make();
    (live().saturating_sub(start), v)
}

/// The most bytes (Rust + mbedTLS) live at once during `op`, above its start.
fn peak(op: impl FnOnce()) -> u64 {
    let (r0, c0) = (RUST_LIVE.load(Relaxed), C_LIVE.load(Relaxed));
    RUST_PEAK.store(r0, Relaxed);
    C_PEAK.store(c0, Relaxed);
    op();
    (RUST_PEAK.load(Relaxed) - r0) + (C_PEAK.load(Relaxed) - c0)
}

fn mean_ns(n: u32, mut op: impl FnMut()) -> f64 {
    op();
    let t = Instant::now();
    for _ in 0..n {
        op();
    }
    t.elapsed().as_nanos() as f64 / f64::from(n)
}

fn main() {
    // SAFETY: before any mbedTLS object exists; the hooks behave like calloc/free.
    unsafe { mbedtls_verify::platform::set_allocator(counting_calloc, counting_free) }
        .expect("MBEDTLS_PLATFORM_MEMORY");
    let path =
        std::env::var("ROOTS_PEM").unwrap_or_else(|_| "/etc/ssl/certs/ca-certificates.crt".into());
    let Ok(pem) = std::fs::read(&path) else {
        println!("root_bundle: no root set at {path} (set ROOTS_PEM); nothing measured");
        return;
    };
    let set = CertChain::from_pem(&pem).expect("the root set parses");

    // The test PKI: a public-looking root, an issuing CA, a server.
    let root_key = PrivateKey::generate(KeyType::EcdsaP256).unwrap();
    let root =
        CertificateBuilder::new("CN=Example Public Root CA 2026,O=Example Trust Services,C=US")
            .ca(Some(1))
            .self_signed(&root_key)
            .unwrap();
    let int_key = PrivateKey::generate(KeyType::EcdsaP256).unwrap();
    let int = CertificateBuilder::new("CN=Example TLS Issuing CA,O=Example Trust Services,C=US")
        .ca(Some(0))
        .signed_by(&int_key, root.first().unwrap(), &root_key)
        .unwrap();
    let leaf_key = PrivateKey::generate(KeyType::EcdsaP256).unwrap();
    let leaf = CertificateBuilder::new("CN=public.example")
        .extended_key_usage(&[ExtendedKeyUsage::ServerAuth])
        .san(San::Dns("public.example".into()))
        .signed_by(&leaf_key, int.first().unwrap(), &int_key)
        .unwrap();
    let mut sent = CertChain::from_der(leaf.first().unwrap().der()).unwrap();
    sent.push_der(int.first().unwrap().der()).unwrap();

    let mut ders: Vec<&[u8]> = set.iter().map(|c| c.der()).collect();
    ders.push(root.first().unwrap().der());
    let der_bytes: usize = ders.iter().map(|d| d.len()).sum();
    let bytes: &'static [u8] = Box::leak(
        RootBundle::build(ders.iter().copied())
            .unwrap()
            .into_boxed_slice(),
    );

    println!(
        "root set: {path}: {} certificates + the test root",
        set.len()
    );
    println!("flash:");
    println!(
        "  bundle (index + DER)                        {:>9} B",
        bytes.len()
    );
    println!("  the certificates' DER alone                 {der_bytes:>9} B");
    println!(
        "  the same set as PEM                         {:>9} B",
        pem.len()
    );

    // Resident heap of each trust (kept for the rest of the run).
    let (bundle_resident, bundle_trust) =
        resident(|| RootBundle::from_static(bytes).unwrap().trust());
    let (copy_resident, whole_copy) = resident(|| {
        let mut c = CertChain::new().unwrap();
        for d in &ders {
            c.push_der(d).unwrap();
        }
        Trust::anchors(c).unwrap()
    });
    // The bundle's certificates as 'static slices (taken outside the measurement).
    let statics: Vec<&'static [u8]> = {
        let b = RootBundle::from_static(bytes).unwrap();
        b.certificates()
            .map(|d| {
                let at = d.as_ptr() as usize - bytes.as_ptr() as usize;
                &bytes[at..at + d.len()]
            })
            .collect()
    };
    let (nocopy_resident, whole_nocopy) = resident(|| {
        let mut c = CertChain::new().unwrap();
        for d in &statics {
            c.push_static_der(d).unwrap();
        }
        Trust::anchors(c).unwrap()
    });
    println!("heap held by the trust (resident, Rust + mbedTLS):");
    println!("  RootBundle::trust (CA callback)             {bundle_resident:>9} B");
    println!("  Trust::anchors, whole set parsed (copies)   {copy_resident:>9} B");
    println!("  Trust::anchors, whole set parsed in place   {nocopy_resident:>9} B");

    // One lookup: the candidates for the issuing CA's issuer (the test root).
    let bundle = RootBundle::from_static(bytes).unwrap();
    let child = int.first().unwrap();
    let per_lookup = peak(|| {
        let c = bundle.candidates(child).unwrap();
        assert_eq!(c.len(), 1);
    });
    println!("heap per lookup (peak, one candidate parsed in place): {per_lookup} B");

    // Handshakes: same server, client trusting the bundle or the whole set.
    let server = ServerConfig::builder()
        .identity(
            Identity::new(
                sent.clone(),
                PrivateKey::parse(leaf_key.to_der().unwrap().as_bytes()).unwrap(),
            )
            .unwrap(),
        )
        .client_auth(ClientAuth::None)
        .build()
        .unwrap();
    let client_of = |t: Trust| ClientConfig::builder().trust(t).build().unwrap();
    let hs = |client: &ClientConfig| {
        let (a, b) = memory_pair();
        let mut c = Session::client(client, "public.example", a).unwrap();
        let mut s = Session::server(&server, b).unwrap();
        let (rc, rs) = run_handshakes(&mut c, &mut s);
        rc.expect("client");
        rs.expect("server");
    };
    let c_bundle = client_of(bundle_trust.clone());
    let c_copy = client_of(whole_copy.clone());
    let c_nocopy = client_of(whole_nocopy.clone());
    hs(&c_bundle);
    hs(&c_copy);
    println!("peak heap during one handshake (client + server, in memory, TLS 1.3):");
    println!(
        "  client trusting the bundle                  {:>9} B",
        peak(|| hs(&c_bundle))
    );
    println!(
        "  client trusting the whole set (copies)      {:>9} B",
        peak(|| hs(&c_copy))
    );
    println!(
        "  client trusting the whole set (in place)    {:>9} B",
        peak(|| hs(&c_nocopy))
    );

    println!("time (mean, this machine, release):");
    let issuer = child.issuer().der().to_vec();
    println!(
        "  binary search only (find)                   {:>9.0} ns",
        mean_ns(100_000, || assert_eq!(bundle.find(&issuer).count(), 1))
    );
    println!(
        "  lookup: search + parse in place + free      {:>9.0} ns",
        mean_ns(20_000, || drop(bundle.candidates(child).unwrap()))
    );
    let v_bundle = Verifier::new(bundle_trust).expect_name("public.example");
    let v_copy = Verifier::new(whole_copy).expect_name("public.example");
    println!(
        "  offline verification, bundle                {:>9.0} ns",
        mean_ns(300, || drop(v_bundle.verify(&sent).unwrap()))
    );
    println!(
        "  offline verification, whole set (ca_chain)  {:>9.0} ns",
        mean_ns(300, || drop(v_copy.verify(&sent).unwrap()))
    );
    // The same with only the test root: what the CA-callback path itself costs.
    let one: &'static [u8] = Box::leak(
        RootBundle::build([root.first().unwrap().der()])
            .unwrap()
            .into_boxed_slice(),
    );
    let v_one_cb =
        Verifier::new(RootBundle::from_static(one).unwrap().trust()).expect_name("public.example");
    let v_one = Verifier::new(Trust::anchors(root.clone()).unwrap()).expect_name("public.example");
    println!(
        "  offline verification, 1-root bundle         {:>9.0} ns",
        mean_ns(300, || drop(v_one_cb.verify(&sent).unwrap()))
    );
    println!(
        "  offline verification, 1 root (ca_chain)     {:>9.0} ns",
        mean_ns(300, || drop(v_one.verify(&sent).unwrap()))
    );
    println!(
        "  loading the whole set (parse {} roots)      {:>9.0} ns",
        ders.len(),
        mean_ns(20, || {
            let mut c = CertChain::new().unwrap();
            for d in &ders {
                c.push_der(d).unwrap();
            }
        })
    );
}
