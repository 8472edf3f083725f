//! Offline chain verification on an ESP32-C3: no Wi-Fi, no network — the fleet's trust
//! and policy applied to client chains kept in flash, as a device would check a
//! certificate handed to it over a provisioning link or read from storage.
//!
//! With no network there is no SNTP. The program shows both sides of that:
//! 1. with the clock installed but unknown, verification **fails closed** (`NoClock`);
//! 2. then it sets the clock to the firmware's build time — a lower bound, not the real
//!    time (a device with a battery-backed RTC or a trusted time from its provisioning
//!    link would use that) — and checks four chains: a fleet device (admitted), a
//!    laptop of the same CA (refused by the policy), the server's own certificate
//!    presented as a client (refused: no clientAuth), another CA's device (not trusted).
#![no_std]
#![no_main]

extern crate alloc;

use esp_backtrace as _;
use esp_hal::clock::CpuClock;
use esp_hal::main;
use log::{error, info};
use mbedtls_verify::Reason;
use mbedtls_verify::platform;
use mbedtls_verify::x509::CertChain;

use esp32_common::{DEMO, samples};
use esp32c3_mtls_baremetal::{BUILD_UNIX_TIME, clock, entropy, heap};

esp_bootloader_esp_idf::esp_app_desc!();

#[main]
fn main() -> ! {
    esp_println::logger::init_logger_from_env();
    let peripherals = esp_hal::init(esp_hal::Config::default().with_cpu_clock(CpuClock::max()));
    heap::init();
    if heap::install_mbedtls_allocator().is_err() {
        error!("cannot install mbedTLS's allocator");
        halt();
    }
    // Verification needs no randomness, but parsing keys or anything TLS would: the TRNG
    // is the only source, as in the server.
    entropy::start(peripherals.RNG, peripherals.ADC1);
    platform::set_entropy_source(entropy::fill);
    platform::set_clock(clock::now);

    let verifier = match esp32_common::offline_verifier(&DEMO) {
        Ok(v) => v,
        Err(e) => {
            error!("trust/policy: {e}");
            halt();
        }
    };
    let chain = |leaf| esp32_common::client_chain(leaf, &DEMO);

    // 1. No time yet: refused, whatever the chain.
    match chain(samples::DEVICE_17).map(|c| verifier.verify(&c)) {
        Ok(Err(e)) if e.reasons.iter().any(|r| matches!(r, Reason::NoClock)) => {
            info!("no clock: verification failed closed ({e})")
        }
        Ok(Ok(_)) => error!("no clock, yet a chain verified: the clock gate is broken"),
        Ok(Err(e)) => error!("no clock: unexpected failure: {e}"),
        Err(e) => error!("cannot parse the sample chain: {e}"),
    }

    // 2. A lower bound for the time: the firmware's build.
    if clock::set(BUILD_UNIX_TIME).is_err() {
        error!("the build time was refused");
        halt();
    }
    info!("clock set to the build time, {BUILD_UNIX_TIME} (a lower bound only)");

    let cases: [(&str, &'static [u8], bool); 4] = [
        ("device-17 (fleet device)", samples::DEVICE_17, true),
        ("laptop-3 (same CA, not a device)", samples::LAPTOP_3, false),
        (
            "the server's certificate as a client",
            DEMO.server_cert,
            false,
        ),
        ("impostor-99 (another CA)", samples::FOREIGN_DEVICE, false),
    ];
    let mut as_expected = 0;
    for (name, leaf, expect_ok) in cases {
        let parsed: Result<CertChain, _> = chain(leaf);
        let Ok(c) = parsed else {
            error!("{name}: cannot parse");
            continue;
        };
        let (trace, result) = verifier.verify_traced(&c);
        for t in &trace {
            info!("  {t:?}");
        }
        match result {
            Ok(v) => {
                let rule = v.authorized_by().map_or("-", |r| r.key());
                info!("{name}: admitted by {rule}");
                as_expected += usize::from(expect_ok);
            }
            Err(e) => {
                info!("{name}: refused: {e}");
                as_expected += usize::from(!expect_ok);
            }
        }
    }
    let (_, peak, _) = heap::mbedtls_use();
    info!("{as_expected} of 4 decisions as expected; mbedTLS heap peak {peak} B");
    halt()
}

fn halt() -> ! {
    loop {
        core::hint::spin_loop();
    }
}
