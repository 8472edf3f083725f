//! TEST-ONLY entropy and clocks, installed through the safe crate's platform contracts
//! (`platform::set_entropy_source`, `platform::set_clock`). A product must use the chip's
//! TRNG (on an ESP32-C3: the RNG register with the RF subsystem or the SAR ADC enabled)
//! and a real wall clock (SNTP, an RTC).

use core::cell::Cell;

use critical_section::Mutex;

/// TEST-ONLY deterministic PRNG state (splitmix64). NOT an entropy source: it makes runs
/// reproducible (same keys, same certificates, same instruction counts). The seed can be
/// changed at build time with `MV_RV32_TEST_SEED=<u64>`.
static PRNG: Mutex<Cell<u64>> = Mutex::new(Cell::new(0));

pub fn seed() -> u64 {
    const DEFAULT: u64 = 0x6d62_6564_746c_7333; // "mbedtls3"
    option_env!("MV_RV32_TEST_SEED")
        .and_then(parse_u64)
        .unwrap_or(DEFAULT)
}

fn parse_u64(s: &str) -> Option<u64> {
    let s = s.trim();
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

pub fn seed_prng(seed: u64) {
    critical_section::with(|cs| PRNG.borrow(cs).set(seed));
}

/// The `platform::EntropyFn`: fills `buf` from the TEST-ONLY PRNG.
pub fn test_only_entropy(buf: &mut [u8]) -> bool {
    critical_section::with(|cs| {
        let state = PRNG.borrow(cs);
        let mut s = state.get();
        for chunk in buf.chunks_mut(8) {
            s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
        state.set(s);
    });
    true
}

/// An entropy source that fails (a TRNG that is not ready).
pub fn entropy_unavailable(_buf: &mut [u8]) -> bool {
    false
}

/// TEST-ONLY fixed wall clock: 2026-01-01T00:00:00Z.
pub const TEST_NOW: i64 = 1_767_225_600;

pub fn test_only_clock() -> Option<i64> {
    Some(TEST_NOW)
}

/// 2024-06-01, before the certificates' notBefore (2025-01-01).
pub fn clock_before_validity() -> Option<i64> {
    Some(1_717_200_000)
}

/// 2031-01-01, after the certificates' notAfter (2030-12-31).
pub fn clock_after_validity() -> Option<i64> {
    Some(1_924_992_000)
}

/// A clock that does not know the time (e.g. before SNTP answered).
pub fn clock_unavailable() -> Option<i64> {
    None
}
