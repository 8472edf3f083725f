//! The fortanix `mbedtls` crate (mbedTLS 2.28, default features and configuration)
//! verifying the same 3-certificate chains as benches/chain_verify.rs: leaf + issuing CA
//! sent, root trusted, DER files from the benchmark PKI (`target/bench-pki`).
//!
//! ```text
//! mbedtls-verify-bench-fortanix [time] PKI_DIR ALG VARIANT N
//! ```
//! ALG: p256 | rsa2048; VARIANT: plain (`Certificate::verify`) | callback (a verify
//! callback that accepts, like benches' no-op hook). Without `time`: N verifications in
//! `measured_work` (for callgrind); with `time`: the mean over `MV_BENCH_SECONDS` (default
//! 2) after a 0.3 s warm-up, printed as "X ns/op over N ops" (the loop of benches/c).

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use mbedtls::alloc::List as MbedtlsList;
use mbedtls::x509::{Certificate, VerifyError};

/// The only function whose instructions are counted under callgrind.
#[no_mangle]
#[inline(never)]
pub fn measured_work(n: u64, op: &mut dyn FnMut()) {
    for _ in 0..n {
        op();
    }
}

fn list(dir: &Path, alg: &str, names: &[&str]) -> MbedtlsList<Certificate> {
    let mut l = MbedtlsList::<Certificate>::new();
    for n in names {
        let der = std::fs::read(dir.join(alg).join(n))
            .unwrap_or_else(|e| panic!("{}/{alg}/{n}: {e}", dir.display()));
        l.push(Certificate::from_der(&der).expect("certificate"));
    }
    l
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let timed = args.first().is_some_and(|a| a == "time");
    if timed {
        args.remove(0);
    }
    let [dir, alg, variant, n] = args.as_slice() else {
        eprintln!("usage: mbedtls-verify-bench-fortanix [time] PKI_DIR ALG plain|callback N");
        std::process::exit(2);
    };
    let dir = Path::new(dir);
    let n: u64 = n.parse().expect("N");
    let chain = list(dir, alg, &["client.der", "int.der"]);
    let trust = list(dir, alg, &["root.der"]);
    let callback = variant == "callback";
    let cb = |_: &Certificate, _: i32, _: &mut VerifyError| -> mbedtls::Result<()> { Ok(()) };
    let mut op = || {
        let r = if callback {
            Certificate::verify_with_callback(black_box(&chain), &trust, None, None, cb)
        } else {
            Certificate::verify(black_box(&chain), &trust, None, None)
        };
        r.expect("the benchmark chain verifies");
    };
    op();
    if !timed {
        measured_work(n, &mut op);
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
