//! One call of the verify trampoline on a prepared scope (`DispatchBench`): the panic
//! guard, role mapping, flag conversion and a trivial hook. Goal: < 50 ns per call.
//!
//! - `leaf_alone`: a depth-0 call that starts a chain (the role mapping also checks
//!   whether the leaf is itself a trust anchor);
//! - `chain_of_3`: anchor (depth 2), intermediate (depth 1), leaf (depth 0) — three
//!   calls, as mbedTLS makes them for a 3-certificate chain; the calls above the leaf
//!   also re-parse basicConstraints strictly (the CA-bit advisory check);
//! - `leaf_after_intermediate`: the leaf call alone, measured as (intermediate + leaf)
//!   minus the intermediate call (`intermediate_alone`).

mod common;

use std::hint::black_box;
use std::time::Duration;

use common::*;
use criterion::{Throughput, criterion_group, criterion_main};
use mbedtls_verify::verify::DispatchBench;

fn bench(c: &mut criterion::Criterion) {
    let p = pki(Alg::P256);
    let peer = p.client_chain();
    let certs: Vec<_> = peer.iter().collect();
    let (leaf, int) = (certs[0], certs[1]);
    let root = p.root.first().unwrap();
    let mut d = DispatchBench::new(noop_hook(), p.trust());

    // Sanity: every call accepts with no flag.
    assert_eq!(d.call(root, 2, 0), (0, 0));
    assert_eq!(d.call(int, 1, 0), (0, 0));
    assert_eq!(d.call(leaf, 0, 0), (0, 0));

    let mut g = c.benchmark_group("hook_dispatch");
    g.throughput(Throughput::Elements(1));
    g.bench_function("leaf_alone", |b| {
        b.iter(|| d.call(black_box(leaf), black_box(0), black_box(0)))
    });
    g.bench_function("intermediate_alone", |b| {
        b.iter(|| d.call(black_box(int), black_box(1), black_box(0)))
    });
    g.bench_function("intermediate_then_leaf", |b| {
        b.iter(|| {
            d.call(black_box(int), black_box(1), black_box(0));
            d.call(black_box(leaf), black_box(0), black_box(0))
        })
    });
    g.throughput(Throughput::Elements(3));
    g.bench_function("chain_of_3", |b| {
        b.iter(|| {
            d.call(black_box(root), black_box(2), black_box(0));
            d.call(black_box(int), black_box(1), black_box(0));
            d.call(black_box(leaf), black_box(0), black_box(0))
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = criterion(Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
