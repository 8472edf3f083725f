//! The chip's TRNG as mbedTLS's only entropy source.
//!
//! The RNG peripheral gives true random numbers only while an entropy source runs (the RF
//! subsystem, or the SAR ADC). [`start`] turns the ADC source on and keeps it on for the
//! rest of the program, so randomness does not depend on whether Wi-Fi happens to be up
//! (and the offline binary, which has no Wi-Fi, has it too). [`fill`] asks esp-hal for a
//! `Trng`, which it only hands out while a source is active: without one, `fill` returns
//! `false` and every mbedTLS operation that needs randomness fails — nothing falls back
//! to the pseudo-random `Rng`.

use esp_hal::peripherals::{ADC1, RNG};
use esp_hal::rng::{Trng, TrngSource};
use static_cell::StaticCell;

static SOURCE: StaticCell<TrngSource<'static>> = StaticCell::new();

/// Enable the ADC entropy source for the rest of the program (ADC1 stays reserved).
pub fn start(rng: RNG<'static>, adc: ADC1<'static>) {
    SOURCE.init(TrngSource::new(rng, adc));
}

/// The entropy source for `mbedtls_verify::platform::set_entropy_source`.
pub fn fill(buf: &mut [u8]) -> bool {
    match Trng::try_new() {
        Ok(trng) => {
            trng.read(buf);
            true
        }
        Err(_) => false,
    }
}

/// A random `u64` (the network stack's seed), or `None` without an entropy source.
pub fn u64() -> Option<u64> {
    let mut b = [0u8; 8];
    fill(&mut b).then(|| u64::from_le_bytes(b))
}
