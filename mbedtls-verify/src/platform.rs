//! Platform glue in one place: PSA initialisation, the entropy source and the wall
//! clock on bare metal, and the per-thread validation-time override.
//!
//! - **Host** (`MV_PROFILE_HOST`): entropy from the OS (`getrandom`), time from the OS.
//! - **Bare metal**: nothing is assumed. Install [`set_entropy_source`] (e.g. the chip's
//!   TRNG) and [`set_clock`] (e.g. after SNTP). Without an entropy source every operation
//!   that needs randomness fails with an error; without a clock certificate verification
//!   fails closed (unless time checks are explicitly disabled on a verifier).
//! - **Allocator**: mbedTLS allocates with `calloc`/`free`; [`set_allocator`] installs
//!   other functions (`MBEDTLS_PLATFORM_MEMORY`), e.g. for failure injection or a
//!   dedicated heap.
#![allow(unsafe_code)]

use core::ffi::c_void;
use core::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

use crate::error::{MbedtlsError, Result, cvt};
use crate::sys;

static INITIALISED: AtomicBool = AtomicBool::new(false);

/// Initialise PSA crypto (needed by TLS 1.3). Called by every constructor that needs it;
/// idempotent and cheap after the first call (a race only repeats the idempotent C call).
#[doc(alias = "psa_crypto_init")]
pub fn init() -> Result<(), MbedtlsError> {
    if INITIALISED.load(Ordering::Acquire) {
        return Ok(());
    }
    // SAFETY: psa_crypto_init is idempotent and thread-safe with MBEDTLS_THREADING_C.
    cvt(unsafe { sys::mv_platform_init() })?;
    INITIALISED.store(true, Ordering::Release);
    Ok(())
}

/// Fill the buffer with random bytes; `false` on failure.
pub type EntropyFn = fn(&mut [u8]) -> bool;
/// The current Unix time in seconds, if known.
pub type ClockFn = fn() -> Option<i64>;

unsafe extern "C" fn entropy_trampoline(ctx: *mut c_void, buf: *mut u8, len: usize) -> i32 {
    // SAFETY: ctx is the EntropyFn installed by set_entropy_source (fn pointers are
    // pointer-sized); buf is writable for len bytes (mbedTLS's request).
    let (f, out) = unsafe {
        (
            core::mem::transmute::<*mut c_void, EntropyFn>(ctx),
            core::slice::from_raw_parts_mut(buf, len),
        )
    };
    guard(|| if f(out) { 0 } else { sys::MV_ERR_NO_ENTROPY }).unwrap_or(sys::MV_ERR_CALLBACK_PANIC)
}

/// The installed clock, as a function pointer (null: none). Atomic load/store only, which
/// targets without compare-and-swap (riscv32imc) also have.
static CLOCK: AtomicPtr<()> = AtomicPtr::new(core::ptr::null_mut());

fn installed_clock() -> Option<ClockFn> {
    let p = CLOCK.load(Ordering::Acquire);
    // SAFETY: the only non-null value ever stored is a ClockFn (set_clock); fn pointers
    // and data pointers have the same size on every target this crate supports.
    (!p.is_null()).then(|| unsafe { core::mem::transmute::<*mut (), ClockFn>(p) })
}

unsafe extern "C" fn clock_trampoline(out: *mut i64) -> i32 {
    match installed_clock().and_then(|f| guard(f).ok().flatten()) {
        Some(t) => {
            // SAFETY: out is a valid pointer supplied by the shim.
            unsafe { *out = t };
            0
        }
        None => -1,
    }
}

/// Install the entropy source every mbedTLS operation uses (replacing the OS on the host).
/// Call once at start-up, before any TLS or key operation.
#[doc(alias = "mbedtls_psa_external_get_random")]
pub fn set_entropy_source(f: EntropyFn) {
    // SAFETY: the trampoline matches mv_rng_fn; the fn pointer is 'static.
    unsafe { sys::mv_set_rng(Some(entropy_trampoline), f as *mut c_void) }
}

/// Install the wall clock used for certificate validity (e.g. once SNTP answered). Until a
/// clock is known, verification fails closed. Safe to call at any time (the function
/// pointer is stored atomically); call it before other threads start using the crate so
/// they see the same clock from their first verification.
#[doc(alias = "mbedtls_time")]
pub fn set_clock(f: ClockFn) {
    CLOCK.store(f as *mut (), Ordering::Release);
    // SAFETY: the trampoline matches mv_clock_fn and reads the clock atomically.
    unsafe { sys::mv_set_clock(Some(clock_trampoline)) }
}

/// Replace mbedTLS's allocator (`calloc`/`free` by default). Call before any other use of
/// this crate; memory allocated with the previous functions must not be freed by the new.
///
/// # Safety
/// The functions must behave like `calloc`/`free` and be thread-safe where mbedTLS is used
/// from several threads; no mbedTLS object may be alive when this is called.
#[doc(alias = "mbedtls_platform_set_calloc_free")]
pub unsafe fn set_allocator(
    calloc: unsafe extern "C" fn(usize, usize) -> *mut c_void,
    free: unsafe extern "C" fn(*mut c_void),
) -> Result<(), MbedtlsError> {
    // SAFETY: the caller upholds the contract above.
    cvt(unsafe { sys::mv_set_calloc_free(Some(calloc), Some(free)) }).map(|_| ())
}

/// Fill `buf` with random bytes from the RNG every mbedTLS operation here uses (the OS on
/// the host, the installed entropy source on bare metal).
#[doc(alias = "mv_random")]
pub fn random(buf: &mut [u8]) -> Result<(), MbedtlsError> {
    init()?;
    // SAFETY: buf is writable for its length.
    cvt(unsafe { sys::mv_random(buf.as_mut_ptr(), buf.len()) }).map(|_| ())
}

/// The current Unix time in seconds: the clock installed with [`set_clock`] if any,
/// else (with `std`) the system clock; `None` when no clock is known.
pub fn now() -> Option<i64> {
    if let Some(f) = installed_clock() {
        return guard(f).ok().flatten();
    }
    system_now()
}

#[cfg(feature = "std")]
fn system_now() -> Option<i64> {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    i64::try_from(d.as_secs()).ok()
}

#[cfg(not(feature = "std"))]
fn system_now() -> Option<i64> {
    None
}

/// Sets the validation time for the current thread (on bare metal: for the program)
/// until dropped. mbedTLS reads the time through the shim's `mbedtls_time`; on the host
/// the override is thread-local, so concurrent verifications on other threads are not
/// affected and nothing needs to be serialised.
pub(crate) struct TimeOverride(());

impl TimeOverride {
    pub(crate) fn set(unix_seconds: i64) -> Self {
        // SAFETY: sets a thread-local (host) or program-wide (bare metal) integer.
        unsafe { sys::mv_time_override_set(unix_seconds) };
        TimeOverride(())
    }
}

impl Drop for TimeOverride {
    fn drop(&mut self) {
        // SAFETY: clears what set() set.
        unsafe { sys::mv_time_override_clear() }
    }
}

/// Run a callback, turning a panic into `Err` with `std`; without `std` (where builds use
/// `panic = "abort"`) a panic cannot unwind into C in the first place.
#[cfg(feature = "std")]
pub(crate) fn guard<R>(f: impl FnOnce() -> R) -> Result<R, ()> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|_| ())
}

#[cfg(not(feature = "std"))]
pub(crate) fn guard<R>(f: impl FnOnce() -> R) -> Result<R, ()> {
    Ok(f())
}
