//! Offline verification of a 3-certificate chain (leaf + issuing CA sent, root trusted),
//! ECDSA P-256 and RSA-2048, through `Verifier::verify`:
//! - `raw_ffi`: `mbedtls_x509_crt_verify_with_profile` through the raw bindings with no
//!   callback — mbedTLS alone, the in-process baseline;
//! - `plain`: the verifier with no hook (the trampoline still runs: strict
//!   basicConstraints, roles; and the verified chain is copied out into `Verified`);
//! - `noop_hook`: plus a hook that accepts;
//! - `policy`: plus a client policy (clientAuth, depth, URI prefix);
//! - `hook+policy`: both.

mod common;

use std::hint::black_box;
use std::time::Duration;

use common::*;
use criterion::{criterion_group, criterion_main};
use mbedtls_verify::verifier::Verifier;

fn bench(c: &mut criterion::Criterion) {
    for alg in Alg::ALL {
        let p = pki(alg);
        let chain = p.client_chain();
        let plain = Verifier::new(p.trust());
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
        let raw_chain = RawChain::from_ders(&[
            p.client.first().unwrap().der(),
            p.int.first().unwrap().der(),
        ]);
        let raw_anchor = RawChain::from_ders(&[p.root.first().unwrap().der()]);
        let profile = raw_profile();
        assert_eq!(raw_verify(&raw_chain, &raw_anchor, &profile), (0, 0));

        let mut g = c.benchmark_group(format!("chain_verify/{}", alg.name()));
        g.bench_function("raw_ffi", |b| {
            b.iter(|| raw_verify(black_box(&raw_chain), &raw_anchor, &profile))
        });
        for (name, v) in &variants {
            let ok = v.verify(&chain).expect("the benchmark chain verifies");
            assert_eq!(ok.chain().len(), 3);
            if v.policy().is_some() {
                assert!(ok.authorized_by().is_some());
            }
            g.bench_function(*name, |b| b.iter(|| v.verify(black_box(&chain)).is_ok()));
        }
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = criterion(Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
