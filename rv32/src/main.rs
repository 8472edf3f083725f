//! no_std test program of `mbedtls-verify` on an ESP32-C3-class core (rv32imc: no
//! atomics, no FPU), run under `qemu-system-riscv32 -M virt` with semihosting (see
//! `scripts/rv32-qemu-test`).
//!
//! It uses the safe crate as firmware would, through its platform contracts: the heap
//! (160 KiB, `heap.rs`, shared with mbedTLS through `platform::set_allocator`), a
//! TEST-ONLY entropy source (`platform::set_entropy_source`) and TEST-ONLY clocks
//! (`platform::set_clock`), and a `critical-section` implementation (`cs.rs`) for the
//! portable-atomic `Arc` the crate uses on targets without compare-and-swap. It then
//! - issues a fleet PKI on the device (`pki.rs`);
//! - verifies root -> issuing CA -> leaf through `Verifier` with a hook and a policy,
//!   checks the depth/role trace, refuses another CA's chain and a wrong EKU, and checks
//!   the clock contract (`chain.rs`);
//! - keeps a few roots in a `roots::RootBundle` and measures the CA-callback lookup and
//!   verification through it against the same roots with `ca_chain` (`bundle.rs`);
//! - runs complete in-memory mutual-TLS connections, TLS 1.2 and TLS 1.3, between a
//!   client and a server in this program, and refusals (`tls.rs`);
//! - measures heap per side, instructions (`minstret`, deterministic with
//!   `-icount shift=0`) and the Rust layer's share of verification (`measure.rs`).
//!
//! It prints one line per check, `measure:` lines, then `N passed, N failed`, and exits
//! with status 0 only if every check passed.
#![no_std]
#![no_main]

extern crate alloc;

#[macro_use]
mod semihosting;
mod bundle;
mod chain;
mod cs;
mod heap;
mod machine;
mod measure;
mod pki;
mod testonly;
mod tls;
mod trace;

use core::ffi::c_int;
use core::fmt;

use mbedtls_verify::pk::{KeyType, PrivateKey};
use mbedtls_verify::ssl::TlsVersion;
use mbedtls_verify::verify::VerifyFlags;
use mbedtls_verify::{Error, Reason, platform, sys};

use crate::heap::HEAP;

pub struct Tally {
    passed: u32,
    failed: u32,
}

impl Tally {
    pub fn check(&mut self, name: &str, ok: bool, detail: fmt::Arguments<'_>) {
        if ok {
            self.passed += 1;
        } else {
            self.failed += 1;
        }
        println!("{} {name}: {detail}", if ok { "PASS" } else { "FAIL" });
    }
}

/// `a / b` as a percentage with two decimals, in integers.
struct Pct(u64, u64);

impl fmt::Display for Pct {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bp = (self.0 * 10_000).checked_div(self.1).unwrap_or(0);
        write!(f, "{}.{:02}%", bp / 100, bp % 100)
    }
}

/// The build variant, as `scripts/rv32-build` selected it.
struct Variant {
    name: &'static str,
    in_len: u32,
    out_len: u32,
    /// Goal for one side's handshake peak, in bytes.
    heap_goal: usize,
}

fn variant() -> Variant {
    // The same precedence as the sys crate's build script: environment, feature, default.
    let small = cfg!(feature = "small-records");
    let env = |v: Option<&str>| v.and_then(|s| s.trim().parse::<u32>().ok());
    let in_len = env(option_env!("MBEDTLS_VERIFY_SYS_SSL_IN_CONTENT_LEN")).unwrap_or(if small {
        4096
    } else {
        16384
    });
    let out_len = env(option_env!("MBEDTLS_VERIFY_SYS_SSL_OUT_CONTENT_LEN")).unwrap_or(if small {
        2048
    } else {
        4096
    });
    let name = match (small, cfg!(feature = "p256-only")) {
        (false, false) => "default",
        (true, false) => "small-records",
        (false, true) => "p256-only",
        (true, true) => "small-records + p256-only",
    };
    Variant {
        name,
        in_len,
        out_len,
        heap_goal: if in_len <= 4096 { 24 * 1024 } else { 42 * 1024 },
    }
}

/// Everything that allocates runs in here, so it is all freed before the leak check.
fn run(t: &mut Tally, v: &Variant) -> Result<(), &'static str> {
    // SAFETY: nothing has been allocated by mbedTLS yet; single-threaded program.
    let r = unsafe { platform::set_allocator(heap::c_calloc, heap::c_free) };
    t.check(
        "mbedTLS allocates from the 160 KiB heap (platform::set_allocator)",
        r.is_ok(),
        format_args!("{r:?}"),
    );
    r.map_err(|_| "no allocator")?;

    // Before any entropy source is installed, key generation must fail, never fake it.
    let r = PrivateKey::generate(KeyType::EcdsaP256);
    t.check(
        "no entropy source: key generation fails closed",
        matches!(&r, Err(Error::Mbedtls(e)) if e.code() == sys::MV_ERR_NO_ENTROPY),
        format_args!(
            "{:?}",
            r.as_ref().map(|_| ()).map_err(|e| alloc::format!("{e}"))
        ),
    );
    testonly::seed_prng(testonly::seed());
    platform::set_entropy_source(testonly::test_only_entropy);
    println!(
        "note: TEST-ONLY deterministic PRNG (seed {:#018x}, MV_RV32_TEST_SEED) installed with platform::set_entropy_source",
        testonly::seed()
    );
    let r = platform::init();
    t.check(
        "platform::init (PSA crypto)",
        r.is_ok(),
        format_args!("{r:?}"),
    );
    r.map_err(|_| "platform init failed")?;

    let pki = match pki::issue() {
        Ok(p) => {
            t.check(
                "issue the fleet PKI on the device (5 P-256 keys, 7 certificates)",
                true,
                format_args!(
                    "{} instructions per key, {} per certificate",
                    p.keygen_instr, p.cert_instr
                ),
            );
            p
        }
        Err(e) => {
            t.check(
                "issue the fleet PKI on the device",
                false,
                format_args!("{e}"),
            );
            return Err("PKI");
        }
    };

    let offline = chain::run(t, &pki)?;
    chain::name_constraints(t, &pki)?;
    #[cfg(feature = "name-constraints")]
    chain::name_constraints_budget(t, &pki)?;
    bundle::run(t, &pki)?;

    let mut conns = [tls::Figures::default(); 2];
    for (i, ver) in [TlsVersion::Tls12, TlsVersion::Tls13]
        .into_iter()
        .enumerate()
    {
        conns[i] = tls::connection(t, &pki, ver)?;
    }
    tls::refused(
        t,
        &pki,
        TlsVersion::Tls12,
        "TLS 1.2 server refuses a client from another CA (NOT_TRUSTED)",
        &pki.other_client,
        |r| matches!(r, Reason::Flags(f) if f.contains(VerifyFlags::NOT_TRUSTED)),
    )?;
    tls::refused(
        t,
        &pki,
        TlsVersion::Tls13,
        "TLS 1.3 server refuses a client whose EKU is serverAuth (policy)",
        &pki.wrong_eku,
        |r| matches!(r, Reason::Policy(_)),
    )?;
    tls::without_clock(t, &pki, TlsVersion::Tls13)?;
    tls::without_entropy(t, &pki, TlsVersion::Tls12)?;

    report(t, v, &pki, &offline, &conns);
    Ok(())
}

fn report(
    t: &mut Tally,
    v: &Variant,
    pki: &pki::Pki,
    offline: &chain::Figures,
    conns: &[tls::Figures],
) {
    println!(
        "measure: P-256 key generation {} instructions; certificate issuing {} instructions (averages)",
        pki.keygen_instr, pki.cert_instr
    );
    let m = offline.verify;
    let rust_around = offline.verifier_instr - m.verify_instr;
    println!(
        "measure: chain verification (root -> issuing CA -> leaf: 2 ECDSA P-256 signatures) through Verifier with hook + policy: {} instructions",
        offline.verifier_instr
    );
    println!(
        "measure:   C verification (mv_verify) {} instructions, of which Rust callbacks (trampoline, roles, hook, policy) {} in {} calls",
        m.verify_instr, m.callback_instr, m.callback_calls
    );
    println!(
        "measure:   Rust around it (Verifier set-up, copying the verified chain out) {} instructions; bare mv_verify without callback {} instructions",
        rust_around, offline.bare_c_instr
    );
    t.check(
        "Rust layer inside verification <= 2% of the C verification",
        m.callback_instr * 50 <= m.c_instr(),
        format_args!(
            "callbacks {} = {} of C {}; with the Verifier's own work around mv_verify: {}",
            m.callback_instr,
            Pct(m.callback_instr, m.c_instr()),
            m.c_instr(),
            Pct(m.callback_instr + rust_around, m.c_instr())
        ),
    );

    for c in conns {
        let Some(name) = c.version.map(tls::version_name) else {
            continue;
        };
        println!(
            "measure: {name} mTLS handshake instructions: client {}, server {}, both {}",
            c.client.instr,
            c.server.instr,
            c.client.instr + c.server.instr
        );
        for (side, s) in [("client", &c.client), ("server", &c.server)] {
            println!(
                "measure:   {name} {side}: verifying the peer's chain {} instructions, of which Rust callbacks {} ({} of the C verification, {} of the handshake)",
                s.verify.verify_instr,
                s.verify.callback_instr,
                Pct(s.verify.callback_instr, s.verify.c_instr()),
                Pct(s.verify.callback_instr, s.instr)
            );
        }
        println!(
            "measure: {name} heap (records {}/{}): client handshake peak {} bytes (config {}, open session {}); server handshake peak {} bytes (config {}, open session {}); all in use at the peak {}",
            v.in_len,
            v.out_len,
            c.client.handshake_peak,
            c.client.config_bytes,
            c.client.session_bytes,
            c.server.handshake_peak,
            c.server.config_bytes,
            c.server.session_bytes,
            c.total_peak
        );
        let worst = c.client.handshake_peak.max(c.server.handshake_peak);
        t.check(
            &alloc::format!(
                "{name} handshake peak per side <= {} KiB ({} records {}/{})",
                v.heap_goal / 1024,
                v.name,
                v.in_len,
                v.out_len
            ),
            worst <= v.heap_goal,
            format_args!(
                "client {}, server {} bytes",
                c.client.handshake_peak, c.server.handshake_peak
            ),
        );
        let rust_share_ok = [&c.client, &c.server]
            .iter()
            .all(|s| s.verify.callback_instr * 50 <= s.verify.c_instr());
        t.check(
            &alloc::format!("{name} Rust callbacks <= 2% of the C verification on both sides"),
            rust_share_ok,
            format_args!(
                "client {}, server {}",
                Pct(c.client.verify.callback_instr, c.client.verify.c_instr()),
                Pct(c.server.verify.callback_instr, c.server.verify.c_instr())
            ),
        );
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn main() -> c_int {
    let guarded = machine::machine_setup();
    machine::paint_stack();
    let (bottom, top) = machine::stack_bounds();
    let v = variant();
    println!(
        "mbedtls-verify rv32 test ({} build: records {}/{}{}): mbedTLS {:#010x}, heap {} bytes, stack {} bytes{}",
        v.name,
        v.in_len,
        v.out_len,
        if cfg!(feature = "p256-only") {
            ", P-256 only"
        } else {
            ""
        },
        sys::version_number(),
        heap::HEAP_SIZE,
        top - bottom,
        if guarded {
            " (PMP guard)"
        } else {
            " (no PMP guard)"
        }
    );

    let mut t = Tally {
        passed: 0,
        failed: 0,
    };
    let base = HEAP.stats();
    if let Err(why) = run(&mut t, &v) {
        println!("stopped early: {why}");
        t.failed += 1;
    }
    let end = HEAP.stats();
    t.check(
        "everything freed (no leak)",
        end.in_use == base.in_use,
        format_args!("{} bytes in use at the end", end.in_use),
    );
    t.check(
        "no allocation failed",
        end.failures == 0,
        format_args!("{} failed of {} allocations", end.failures, end.allocs),
    );
    println!(
        "measure: heap arena high-water {} of {} bytes, {} allocations",
        end.high_water,
        heap::HEAP_SIZE,
        end.allocs
    );
    println!(
        "measure: stack peak {} bytes of {}",
        machine::stack_peak(),
        top - bottom
    );
    println!("{} passed, {} failed", t.passed, t.failed);
    semihosting::exit(if t.failed == 0 { 0 } else { 1 })
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    println!("PANIC: {info}");
    println!("0 passed, 1 failed");
    semihosting::exit(101)
}
