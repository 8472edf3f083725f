//! `ClientPolicy::evaluate` on a verified 3-certificate chain, with allow-lists of 1, 10,
//! 100 and 1,000 entries of one kind; the client matches the last entry added (hashed
//! lists: the cost should not grow with the list). Goal: < 5 µs at 1,000.

mod common;

use std::hint::black_box;
use std::time::Duration;

use common::*;
use criterion::{BenchmarkId, criterion_group, criterion_main};
use mbedtls_verify::policy::{ClientPolicy, ClientPolicyBuilder};

fn build(kind: &str, n: usize, leaf_spki: [u8; 32]) -> ClientPolicy {
    let mut b: ClientPolicyBuilder = ClientPolicy::builder().max_chain_depth(2);
    for i in 1..n {
        b = match kind {
            "uri" => b.allow_uri(&format!("spiffe://bench.example/other/{i}")),
            "uri_prefix" => b.allow_uri_prefix(&format!("spiffe://bench.example/fleet-{i}/")),
            "email_domain" => b.allow_email_domain(&format!("fleet-{i}.bench.example")),
            "spki_sha256" => {
                let mut pin = [0u8; 32];
                pin[..8].copy_from_slice(&(i as u64).to_be_bytes());
                pin[31] = 0x5a;
                b.allow_spki_sha256(pin)
            }
            _ => unreachable!(),
        };
    }
    // The entry that admits the benchmark client, added last.
    b = match kind {
        "uri" => b.allow_uri(CLIENT_URI),
        "uri_prefix" => b.allow_uri_prefix(CLIENT_URI_PREFIX),
        "email_domain" => b.allow_email_domain("devices.bench.example"),
        "spki_sha256" => b.allow_spki_sha256(leaf_spki),
        _ => unreachable!(),
    };
    b.build().expect("policy")
}

fn bench(c: &mut criterion::Criterion) {
    let p = pki(Alg::P256);
    let peer = p.client_chain();
    let mut chain: Vec<_> = peer.iter().collect();
    chain.push(p.root.first().unwrap());
    let spki = chain[0].spki_sha256();
    for kind in ["uri", "uri_prefix", "email_domain", "spki_sha256"] {
        let mut g = c.benchmark_group(format!("policy_eval/{kind}"));
        for n in [1usize, 10, 100, 1000] {
            let policy = build(kind, n, spki);
            assert_eq!(policy.allow_rule_count(), n);
            policy.evaluate(&chain).expect("the client is admitted");
            g.bench_with_input(BenchmarkId::from_parameter(n), &policy, |b, pol| {
                b.iter(|| pol.evaluate(black_box(&chain)).is_ok())
            });
        }
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = criterion(Duration::from_millis(1200));
    targets = bench
}
criterion_main!(benches);
