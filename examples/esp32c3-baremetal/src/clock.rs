//! The wall clock certificate checks read: unknown until [`set`] is called (after SNTP),
//! then the time it was given plus the chip's monotonic timer since.
//!
//! Installed at start-up with `platform::set_clock(clock::now)`. While it answers `None`
//! mbedTLS gets no time and every certificate verification fails closed — offline with
//! `Reason::NoClock`, in TLS the handshake — instead of skipping the validity dates.

use core::cell::Cell;

use critical_section::Mutex;
use esp_hal::time::Instant;

#[derive(Clone, Copy)]
struct Anchor {
    /// Unix seconds at `at_us`.
    unix: i64,
    /// Microseconds since boot when `unix` was true.
    at_us: u64,
}

static ANCHOR: Mutex<Cell<Option<Anchor>>> = Mutex::new(Cell::new(None));

fn uptime_us() -> u64 {
    Instant::now().duration_since_epoch().as_micros()
}

/// The current Unix time, or `None` while it is not known. For `platform::set_clock`.
pub fn now() -> Option<i64> {
    let a = critical_section::with(|cs| ANCHOR.borrow(cs).get())?;
    let elapsed = uptime_us().saturating_sub(a.at_us) / 1_000_000;
    Some(a.unix + elapsed as i64)
}

/// Why a time was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejected {
    /// Earlier than the firmware's own build: a wrong (or forged) answer. Accepting it
    /// would make expired certificates valid again.
    BeforeBuild,
}

/// Set the clock from a trusted-enough source (SNTP). Times before the firmware was built
/// are refused, which bounds how far an unauthenticated time source can roll the clock
/// back.
pub fn set(unix: i64) -> Result<(), Rejected> {
    if unix < crate::BUILD_UNIX_TIME {
        return Err(Rejected::BeforeBuild);
    }
    let anchor = Anchor {
        unix,
        at_us: uptime_us(),
    };
    critical_section::with(|cs| ANCHOR.borrow(cs).set(Some(anchor)));
    Ok(())
}

/// Whether [`set`] has succeeded since boot.
pub fn is_set() -> bool {
    critical_section::with(|cs| ANCHOR.borrow(cs).get()).is_some()
}
