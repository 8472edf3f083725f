//! What the Rust functions that mbedTLS calls share (features `p256-verify-rustcrypto`,
//! `p256-ecdh-rustcrypto`): catching a panic before it reaches C, and a count of calls so
//! that tests and benchmarks can check that mbedTLS really reached the Rust side.

use core::ffi::c_int;

/// Run `f`; a panic (unwinding builds) returns `on_panic` instead of unwinding into C.
#[cfg(panic = "unwind")]
pub(crate) fn catch(on_panic: c_int, f: impl FnOnce() -> c_int) -> c_int {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(on_panic)
}

/// Run `f`; with `panic = "abort"` a panic cannot unwind into C.
#[cfg(not(panic = "unwind"))]
pub(crate) fn catch(_on_panic: c_int, f: impl FnOnce() -> c_int) -> c_int {
    f()
}

/// A process-wide, wrapping count of calls. Not counted on targets without atomic
/// read-modify-write (riscv32imc), where it stays 0.
pub(crate) struct CallCount {
    #[cfg(target_has_atomic = "32")]
    n: core::sync::atomic::AtomicU32,
}

impl CallCount {
    pub(crate) const fn new() -> CallCount {
        CallCount {
            #[cfg(target_has_atomic = "32")]
            n: core::sync::atomic::AtomicU32::new(0),
        }
    }

    pub(crate) fn bump(&self) {
        #[cfg(target_has_atomic = "32")]
        self.n.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) fn get(&self) -> u32 {
        #[cfg(target_has_atomic = "32")]
        {
            self.n.load(core::sync::atomic::Ordering::Relaxed)
        }
        #[cfg(not(target_has_atomic = "32"))]
        {
            0
        }
    }
}
