//! How many instructions the Rust layer spends inside mbedTLS's certificate
//! verification, measured without changing either crate.
//!
//! The test binary is linked with `-Wl,--wrap=mv_verify` and
//! `-Wl,--wrap=mbedtls_x509_crt_verify_restartable` (see `build.rs`): calls to those two
//! entry points of the C verification — the shim's `mv_verify`, which `Verifier` calls,
//! and the function mbedTLS's TLS layer calls for a peer's chain — land in the wrappers
//! below. Each wrapper swaps the verify callback (the safe crate's trampoline, which runs
//! the role mapping, the strict basicConstraints check, the hook and the policy) for one
//! that reads `minstret` before and after it, then calls the real function, reading
//! `minstret` around that too. So, per verification:
//!
//! - `verify_instr`: the whole C verification, callbacks included;
//! - `callback_instr`: the Rust layer inside it (everything the callbacks retire);
//! - the C verification proper is the difference.
//!
//! The wrappers' own bookkeeping (a few dozen instructions per call) falls outside the
//! callback window and is charged to C.

use core::cell::Cell;
use core::ffi::{c_char, c_int, c_void};

use critical_section::Mutex;
use mbedtls_verify::sys;

use crate::machine::instret;

#[derive(Clone, Copy, Debug, Default)]
pub struct Counters {
    pub verify_calls: u64,
    pub verify_instr: u64,
    pub callback_calls: u64,
    pub callback_instr: u64,
}

impl Counters {
    /// What happened between `earlier` and `self`.
    pub fn since(self, earlier: Counters) -> Counters {
        Counters {
            verify_calls: self.verify_calls - earlier.verify_calls,
            verify_instr: self.verify_instr - earlier.verify_instr,
            callback_calls: self.callback_calls - earlier.callback_calls,
            callback_instr: self.callback_instr - earlier.callback_instr,
        }
    }

    pub fn plus(self, other: Counters) -> Counters {
        Counters {
            verify_calls: self.verify_calls + other.verify_calls,
            verify_instr: self.verify_instr + other.verify_instr,
            callback_calls: self.callback_calls + other.callback_calls,
            callback_instr: self.callback_instr + other.callback_instr,
        }
    }

    /// Instructions of the C verification proper (callbacks excluded).
    pub fn c_instr(self) -> u64 {
        self.verify_instr - self.callback_instr
    }
}

static COUNTERS: Mutex<Cell<Counters>> = Mutex::new(Cell::new(Counters {
    verify_calls: 0,
    verify_instr: 0,
    callback_calls: 0,
    callback_instr: 0,
}));

pub fn snapshot() -> Counters {
    critical_section::with(|cs| COUNTERS.borrow(cs).get())
}

fn add(f: impl FnOnce(&mut Counters)) {
    critical_section::with(|cs| {
        let cell = COUNTERS.borrow(cs);
        let mut c = cell.get();
        f(&mut c);
        cell.set(c);
    })
}

type VerifyCb = unsafe extern "C" fn(*mut c_void, *mut sys::mv_cert, c_int, *mut u32) -> c_int;

/// The callback being measured and its context.
struct Measured {
    f: VerifyCb,
    ctx: *mut c_void,
}

unsafe extern "C" fn measured_callback(
    ctx: *mut c_void,
    crt: *mut sys::mv_cert,
    depth: c_int,
    flags: *mut u32,
) -> c_int {
    // SAFETY: ctx is the `Measured` on the wrapper's stack frame, alive for the call.
    let m = unsafe { &*(ctx as *const Measured) };
    let t0 = instret();
    // SAFETY: the original callback with its original context and mbedTLS's arguments.
    let rc = unsafe { (m.f)(m.ctx, crt, depth, flags) };
    let n = instret() - t0;
    add(|c| {
        c.callback_calls += 1;
        c.callback_instr += n;
    });
    rc
}

/// Run `call` with the verify callback replaced by its measured version; count it all.
fn measured_verification(
    f_vrfy: sys::mv_verify_cb,
    p_vrfy: *mut c_void,
    call: impl FnOnce(sys::mv_verify_cb, *mut c_void) -> c_int,
) -> c_int {
    let m;
    let (f, p) = match f_vrfy {
        Some(f) => {
            m = Measured { f, ctx: p_vrfy };
            let cb: VerifyCb = measured_callback;
            (
                Some(cb),
                (&m as *const Measured).cast_mut().cast::<c_void>(),
            )
        }
        None => (None, p_vrfy),
    };
    let t0 = instret();
    let rc = call(f, p);
    let n = instret() - t0;
    add(|c| {
        c.verify_calls += 1;
        c.verify_instr += n;
    });
    rc
}

unsafe extern "C" {
    fn __real_mv_verify(
        chain: *mut sys::mv_cert,
        trust_ca: *mut sys::mv_cert,
        ca_crl: *mut sys::mv_crl,
        profile: *const sys::mv_profile,
        cn: *const c_char,
        flags: *mut u32,
        f_vrfy: sys::mv_verify_cb,
        p_vrfy: *mut c_void,
    ) -> c_int;

    fn __real_mbedtls_x509_crt_verify_restartable(
        crt: *mut sys::mv_cert,
        trust_ca: *mut sys::mv_cert,
        ca_crl: *mut sys::mv_crl,
        profile: *const c_void,
        cn: *const c_char,
        flags: *mut u32,
        f_vrfy: sys::mv_verify_cb,
        p_vrfy: *mut c_void,
        rs_ctx: *mut c_void,
    ) -> c_int;
}

/// `mv_verify`, as the safe crate's `Verifier` (and this program's baseline) call it.
///
/// # Safety
/// The contract of `mv_verify`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __wrap_mv_verify(
    chain: *mut sys::mv_cert,
    trust_ca: *mut sys::mv_cert,
    ca_crl: *mut sys::mv_crl,
    profile: *const sys::mv_profile,
    cn: *const c_char,
    flags: *mut u32,
    f_vrfy: sys::mv_verify_cb,
    p_vrfy: *mut c_void,
) -> c_int {
    measured_verification(f_vrfy, p_vrfy, |f, p| {
        // SAFETY: forwarded unchanged but for the callback, which calls the original.
        unsafe { __real_mv_verify(chain, trust_ca, ca_crl, profile, cn, flags, f, p) }
    })
}

/// `mbedtls_x509_crt_verify_restartable`, as mbedTLS's TLS layer calls it.
///
/// # Safety
/// The contract of `mbedtls_x509_crt_verify_restartable`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __wrap_mbedtls_x509_crt_verify_restartable(
    crt: *mut sys::mv_cert,
    trust_ca: *mut sys::mv_cert,
    ca_crl: *mut sys::mv_crl,
    profile: *const c_void,
    cn: *const c_char,
    flags: *mut u32,
    f_vrfy: sys::mv_verify_cb,
    p_vrfy: *mut c_void,
    rs_ctx: *mut c_void,
) -> c_int {
    measured_verification(f_vrfy, p_vrfy, |f, p| {
        // SAFETY: as above.
        unsafe {
            __real_mbedtls_x509_crt_verify_restartable(
                crt, trust_ca, ca_crl, profile, cn, flags, f, p, rs_ctx,
            )
        }
    })
}
