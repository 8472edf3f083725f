//! First no_std test program of `mbedtls-verify-sys` on an ESP32-C3-class core
//! (rv32imc: no atomics, no FPU), run under `qemu-system-riscv32 -M virt` with
//! semihosting (see `scripts/rv32-qemu-test`).
//!
//! It installs a heap (160 KiB, `heap.rs`), a TEST-ONLY entropy source and a fixed
//! TEST-ONLY wall clock, generates P-256 keys, writes a root CA and a leaf certificate,
//! verifies the chain, and checks that verification fails closed (unrelated root, no
//! clock, a clock that fails, a time outside the validity period). It prints one line
//! per check, the instructions retired (`minstret`, deterministic with `-icount shift=0`)
//! and heap/stack use, then `N passed, N failed`, and exits with status 0 only if every
//! check passed.
#![no_std]
#![no_main]

extern crate alloc;

#[macro_use]
mod semihosting;
mod heap;

use alloc::vec;
use alloc::vec::Vec;
use core::ffi::{CStr, c_int, c_void};
use core::ptr;

use mbedtls_verify_sys as sys;

// ---------------------------------------------------------------------------------
// TEST-ONLY entropy and clock. A product must use the chip's TRNG and a real clock.
// ---------------------------------------------------------------------------------

/// TEST-ONLY deterministic PRNG (splitmix64). NOT an entropy source: it makes runs
/// reproducible (same keys, same certificates, same instruction counts). The seed can
/// be changed at build time with `MV_RV32_TEST_SEED=<u64>`.
struct TestOnlyPrng {
    state: u64,
}

impl TestOnlyPrng {
    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

fn test_seed() -> u64 {
    const DEFAULT: u64 = 0x6d62_6564_746c_7333; // "mbedtls3"
    match option_env!("MV_RV32_TEST_SEED") {
        Some(s) => parse_u64(s).unwrap_or(DEFAULT),
        None => DEFAULT,
    }
}

fn parse_u64(s: &str) -> Option<u64> {
    let s = s.trim();
    let (digits, radix) = match s.strip_prefix("0x") {
        Some(h) => (h, 16),
        None => (s, 10),
    };
    u64::from_str_radix(digits, radix).ok()
}

/// `mv_rng_fn` over the TEST-ONLY PRNG; `ctx` is the `TestOnlyPrng`.
unsafe extern "C" fn test_only_rng(ctx: *mut c_void, buf: *mut u8, len: usize) -> c_int {
    // SAFETY: ctx is the static PRNG installed below; buf has len writable bytes.
    let (rng, out) = unsafe {
        (
            &mut *(ctx as *mut TestOnlyPrng),
            core::slice::from_raw_parts_mut(buf, len),
        )
    };
    for chunk in out.chunks_mut(8) {
        let v = rng.next().to_le_bytes();
        chunk.copy_from_slice(&v[..chunk.len()]);
    }
    0
}

/// TEST-ONLY fixed wall clock: 2026-01-01T00:00:00Z.
const TEST_NOW: i64 = 1_767_225_600;
unsafe extern "C" fn test_only_clock(out: *mut i64) -> c_int {
    // SAFETY: mbedTLS's shim passes a valid out-pointer.
    unsafe { *out = TEST_NOW };
    0
}
/// 2024-06-01, before the certificates' notBefore.
unsafe extern "C" fn clock_before_validity(out: *mut i64) -> c_int {
    // SAFETY: as above.
    unsafe { *out = 1_717_200_000 };
    0
}
/// 2031-01-01, after the certificates' notAfter.
unsafe extern "C" fn clock_after_validity(out: *mut i64) -> c_int {
    // SAFETY: as above.
    unsafe { *out = 1_924_992_000 };
    0
}
/// A clock that reports it does not know the time.
unsafe extern "C" fn clock_unavailable(_out: *mut i64) -> c_int {
    -1
}

// ---------------------------------------------------------------------------------
// Machine-level support: instruction counter, trap handler, stack guard and paint.
// ---------------------------------------------------------------------------------

/// Instructions retired (64-bit `minstret` read on rv32).
fn instret() -> u64 {
    loop {
        let (hi, lo, hi2): (u32, u32, u32);
        // SAFETY: reading machine counters in M-mode has no side effects.
        unsafe {
            core::arch::asm!(
                "csrr {0}, minstreth",
                "csrr {1}, minstret",
                "csrr {2}, minstreth",
                out(reg) hi, out(reg) lo, out(reg) hi2,
                options(nomem, nostack),
            )
        };
        if hi == hi2 {
            return (u64::from(hi) << 32) | u64::from(lo);
        }
    }
}

/// Run `f` and return its result with the instructions it retired.
fn counted<R>(f: impl FnOnce() -> R) -> (R, u64) {
    let t0 = instret();
    let r = f();
    let t1 = instret();
    (r, t1 - t0)
}

const TRAP_STACK_SIZE: usize = 2048;
#[repr(C, align(16))]
struct TrapStack([u8; TRAP_STACK_SIZE]);
static mut TRAP_STACK: TrapStack = TrapStack([0; TRAP_STACK_SIZE]);

// Trap entry: switch to a stack of its own (the fault may be a stack overflow) and
// report. Interrupts are never enabled, so every trap is an exception and fatal.
core::arch::global_asm!(
    ".section .text.mv_trap_entry, \"ax\"",
    ".balign 4",
    ".global mv_trap_entry",
    "mv_trap_entry:",
    "  la sp, {stack}",
    "  li t0, {size}",
    "  add sp, sp, t0",
    "  csrr a0, mcause",
    "  csrr a1, mepc",
    "  csrr a2, mtval",
    "  j {handler}",
    stack = sym TRAP_STACK,
    size = const TRAP_STACK_SIZE,
    handler = sym trap_handler,
);

unsafe extern "C" {
    fn mv_trap_entry();
    /// Top of the stack (picolibc.ld).
    static __stack: u8;
    /// Bottom of the stack: picolibc.ld puts the stack right above `__heap_end`.
    static __heap_end: u8;
}

extern "C" fn trap_handler(mcause: usize, mepc: usize, mtval: usize) -> ! {
    let what = match mcause {
        1 => "instruction access fault",
        2 => "illegal instruction",
        3 => "breakpoint",
        5 => "load access fault (stack guard?)",
        7 => "store access fault (stack guard?)",
        _ => "exception",
    };
    println!("TRAP: {what}: mcause={mcause:#x} mepc={mepc:#010x} mtval={mtval:#010x}");
    println!("0 passed, 1 failed");
    semihosting::exit(3)
}

const STACK_GUARD: usize = 256;
const STACK_PAINT: u32 = 0x5afe_57ac;

fn stack_bounds() -> (usize, usize) {
    // Linker-script symbols: only their addresses are used.
    (
        ptr::addr_of!(__heap_end) as usize,
        ptr::addr_of!(__stack) as usize,
    )
}

/// Install the trap vector and a 256-byte no-access PMP region at the bottom of the
/// stack (locked, so it applies to machine mode too): an overflow traps instead of
/// silently overwriting .bss.
fn machine_setup() -> bool {
    // SAFETY: mv_trap_entry is 4-aligned (direct mode); writes to mtvec/PMP CSRs only.
    unsafe {
        core::arch::asm!("csrw mtvec, {0}", in(reg) mv_trap_entry as *const () as usize, options(nostack));
    }
    let (bottom, _) = stack_bounds();
    if bottom % STACK_GUARD != 0 {
        return false;
    }
    // NAPOT: address >> 2 with (size / 8 - 1) in the low bits; cfg L | NAPOT, no R/W/X.
    let pmpaddr = (bottom >> 2) | (STACK_GUARD / 8 - 1);
    let cfg: usize = 0x80 | 0x18;
    // SAFETY: programs PMP entry 0; all other memory stays accessible to M-mode.
    unsafe {
        core::arch::asm!(
            "csrw pmpaddr0, {0}",
            "csrw pmpcfg0, {1}",
            in(reg) pmpaddr, in(reg) cfg,
            options(nostack),
        );
    }
    let readback: usize;
    // SAFETY: reading a CSR.
    unsafe { core::arch::asm!("csrr {0}, pmpcfg0", out(reg) readback, options(nostack)) };
    readback & 0xff == cfg
}

fn current_sp() -> usize {
    let sp: usize;
    // SAFETY: reads the stack pointer.
    unsafe { core::arch::asm!("mv {0}, sp", out(reg) sp, options(nomem, nostack)) };
    sp
}

/// Fill the unused stack (guard excluded, 512 bytes below the current frame left
/// alone) with a pattern, to find the deepest point reached later.
#[inline(always)]
fn paint_stack() {
    let (bottom, _) = stack_bounds();
    let end = (current_sp() - 512) & !3;
    let mut p = bottom + STACK_GUARD;
    while p < end {
        // SAFETY: unused stack memory below the live frames, above the guard.
        unsafe { (p as *mut u32).write_volatile(STACK_PAINT) };
        p += 4;
    }
}

/// Deepest stack use since `paint_stack`, in bytes from the stack top.
fn stack_peak() -> usize {
    let (bottom, top) = stack_bounds();
    let mut p = bottom + STACK_GUARD;
    // SAFETY: reads stack memory above the guard.
    while p < top && unsafe { (p as *const u32).read_volatile() } == STACK_PAINT {
        p += 4;
    }
    top - p
}

// ---------------------------------------------------------------------------------
// Thin owners of shim handles.
// ---------------------------------------------------------------------------------

struct Key(*mut sys::mv_pk);
impl Key {
    fn p256() -> Result<Key, c_int> {
        // SAFETY: returns an owned, initialised context or NULL.
        let k = Key(unsafe { sys::mv_pk_new() });
        if k.0.is_null() {
            return Err(sys::MBEDTLS_ERR_X509_ALLOC_FAILED);
        }
        // SAFETY: k.0 is a valid, empty pk context.
        match unsafe { sys::mv_pk_gen_ec(k.0, sys::MBEDTLS_ECP_DP_SECP256R1) } {
            0 => Ok(k),
            rc => Err(rc),
        }
    }
}
impl Drop for Key {
    fn drop(&mut self) {
        // SAFETY: owned pointer from mv_pk_new (NULL accepted).
        unsafe { sys::mv_pk_free(self.0) }
    }
}

struct Cert(*mut sys::mv_cert);
impl Cert {
    fn parse(der: &[u8]) -> Result<Cert, c_int> {
        // SAFETY: returns an owned, initialised chain head or NULL.
        let c = Cert(unsafe { sys::mv_crt_new() });
        if c.0.is_null() {
            return Err(sys::MBEDTLS_ERR_X509_ALLOC_FAILED);
        }
        // SAFETY: c.0 is valid; der is readable (mbedTLS copies it).
        match unsafe { sys::mv_crt_parse_der(c.0, der.as_ptr(), der.len()) } {
            0 => Ok(c),
            rc => Err(rc),
        }
    }
}
impl Drop for Cert {
    fn drop(&mut self) {
        // SAFETY: owned pointer from mv_crt_new (NULL accepted).
        unsafe { sys::mv_crt_free(self.0) }
    }
}

fn buf(b: &[u8]) -> sys::mv_buf {
    sys::mv_buf {
        p: b.as_ptr(),
        len: b.len(),
    }
}

/// A P-256/SHA-256 certificate valid 2025-01-01 .. 2030-12-31. `ca` adds a critical
/// basicConstraints cA=TRUE.
fn write_cert(
    subject: &CStr,
    issuer: &CStr,
    serial: u8,
    ca: bool,
    subject_key: &Key,
    issuer_key: &Key,
) -> Result<Vec<u8>, c_int> {
    let serial = [serial];
    let bc_oid = [0x55u8, 0x1d, 0x13];
    let bc_ca = [0x30u8, 0x03, 0x01, 0x01, 0xff];
    let exts = [sys::mv_raw_ext {
        oid: buf(&bc_oid),
        critical: 1,
        value: buf(&bc_ca),
    }];
    let params = sys::mv_crt_write_params {
        subject_name: subject.as_ptr(),
        issuer_name: issuer.as_ptr(),
        serial: buf(&serial),
        not_before: c"20250101000000".as_ptr(),
        not_after: c"20301231235959".as_ptr(),
        md_alg: sys::MBEDTLS_MD_SHA256,
        key_identifiers: 1,
        exts: exts.as_ptr(),
        ext_count: if ca { 1 } else { 0 },
    };
    let mut out = vec![0u8; 1024];
    let mut len = 0usize;
    // SAFETY: every pointer is valid for the call; out has the stated size.
    let rc = unsafe {
        sys::mv_crt_write_der(
            &params,
            subject_key.0,
            issuer_key.0,
            out.as_mut_ptr(),
            out.len(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(rc);
    }
    out.truncate(len);
    Ok(out)
}

/// Profile of the test: SHA-256 only, any curve/key type.
const PROFILE: sys::mv_profile = sys::mv_profile {
    allowed_mds: 1 << (sys::MBEDTLS_MD_SHA256 - 1),
    allowed_pks: 0x0fff_ffff,
    allowed_curves: 0x0fff_ffff,
    rsa_min_bitlen: 2048,
};

/// `mv_verify` of `leaf` against `roots`: (return code, flags).
fn verify(leaf: &Cert, roots: &Cert) -> (c_int, u32) {
    let mut flags = 0u32;
    // SAFETY: both handles are parsed certificates alive for the call; no callback.
    let rc = unsafe {
        sys::mv_verify(
            leaf.0,
            roots.0,
            ptr::null_mut(),
            &PROFILE,
            ptr::null(),
            &mut flags,
            None,
            ptr::null_mut(),
        )
    };
    (rc, flags)
}

// ---------------------------------------------------------------------------------
// The checks.
// ---------------------------------------------------------------------------------

struct Tally {
    passed: u32,
    failed: u32,
}

impl Tally {
    fn check(&mut self, name: &str, ok: bool, detail: core::fmt::Arguments<'_>) {
        if ok {
            self.passed += 1;
        } else {
            self.failed += 1;
        }
        println!("{} {name}: {detail}", if ok { "PASS" } else { "FAIL" });
    }
}

/// Everything that allocates runs in here, so the handles are freed before the heap
/// is checked for leaks.
fn run(t: &mut Tally, rng: &'static mut TestOnlyPrng) -> Result<(), &'static str> {
    // SAFETY: plain function pointers with the C signatures mbedTLS expects.
    let rc = unsafe { sys::mv_set_calloc_free(Some(heap::c_calloc), Some(heap::c_free)) };
    t.check(
        "mbedTLS allocates from the 160 KiB heap",
        rc == 0,
        format_args!("mv_set_calloc_free -> {rc}"),
    );
    if rc != 0 {
        return Err("no allocator");
    }

    // Before any entropy source is installed, key generation must fail (never fake).
    let no_rng = Key::p256().err();
    t.check(
        "no entropy source: key generation fails closed",
        no_rng == Some(sys::MV_ERR_NO_ENTROPY),
        format_args!(
            "rc = {no_rng:?}, expected MV_ERR_NO_ENTROPY ({})",
            sys::MV_ERR_NO_ENTROPY
        ),
    );

    // SAFETY: rng is a 'static PRNG; the shim keeps the pointer for later calls.
    unsafe {
        sys::mv_set_rng(Some(test_only_rng), rng as *mut TestOnlyPrng as *mut c_void);
        sys::mv_set_clock(Some(test_only_clock));
    }
    println!(
        "note: TEST-ONLY deterministic RNG and TEST-ONLY fixed clock (2026-01-01T00:00:00Z) installed"
    );

    // SAFETY: no arguments; idempotent.
    let (rc, n) = counted(|| unsafe { sys::mv_platform_init() });
    t.check(
        "mv_platform_init",
        rc == 0,
        format_args!("rc = {rc}, {n} instructions"),
    );
    if rc != 0 {
        return Err("platform init failed");
    }

    let (keys, n) = counted(|| Ok::<_, c_int>((Key::p256()?, Key::p256()?)));
    let (ca_key, leaf_key) = match keys {
        Ok(k) => {
            t.check(
                "generate two P-256 keys",
                true,
                format_args!("{} instructions per key", n / 2),
            );
            k
        }
        Err(rc) => {
            t.check(
                "generate two P-256 keys",
                false,
                format_args!("rc = {rc:#x}"),
            );
            return Err("key generation failed");
        }
    };

    let root = c"CN=rv32 Test Root,O=mbedtls-verify";
    let (ca_der, n_ca) = counted(|| write_cert(root, root, 1, true, &ca_key, &ca_key));
    let (leaf_der, n_leaf) =
        counted(|| write_cert(c"CN=esp32c3-device-1", root, 2, false, &leaf_key, &ca_key));
    let (ca_der, leaf_der) = match (ca_der, leaf_der) {
        (Ok(c), Ok(l)) => {
            t.check(
                "write root CA and leaf certificates (mv_crt_write_der)",
                true,
                format_args!(
                    "root {} bytes ({n_ca} instructions), leaf {} bytes ({n_leaf} instructions)",
                    c.len(),
                    l.len()
                ),
            );
            (c, l)
        }
        (c, l) => {
            t.check(
                "write root CA and leaf certificates (mv_crt_write_der)",
                false,
                format_args!("root: {:?}, leaf: {:?}", c.err(), l.err()),
            );
            return Err("certificate writing failed");
        }
    };

    let ((ca, leaf), n) = counted(|| (Cert::parse(&ca_der), Cert::parse(&leaf_der)));
    let (ca, leaf) = match (ca, leaf) {
        (Ok(c), Ok(l)) => {
            t.check(
                "parse both certificates",
                true,
                format_args!("{n} instructions for two"),
            );
            (c, l)
        }
        (c, l) => {
            t.check(
                "parse both certificates",
                false,
                format_args!("root: {:?}, leaf: {:?}", c.err(), l.err()),
            );
            return Err("parsing failed");
        }
    };
    drop((ca_der, leaf_der));

    // The measurement: one chain verification (leaf -> root, one ECDSA P-256 verify).
    let before = heap::HEAP.stats();
    heap::HEAP.reset_peak();
    let ((rc, flags), n) = counted(|| verify(&leaf, &ca));
    let during = heap::HEAP.stats();
    t.check(
        "leaf verifies against its root (mv_verify)",
        rc == 0 && flags == 0,
        format_args!("rc = {rc}, flags = {flags:#x}"),
    );
    println!(
        "measure: chain verification (leaf + root, P-256/SHA-256): {n} instructions; heap peak during it {} bytes above the {} in use before",
        during.peak - before.in_use,
        before.in_use
    );

    // A second, repeated run must cost the same (deterministic counting).
    let ((rc2, flags2), n2) = counted(|| verify(&leaf, &ca));
    t.check(
        "verification repeats with the same result",
        (rc2, flags2) == (0, 0),
        format_args!("rc = {rc2}, flags = {flags2:#x}, {n2} instructions"),
    );

    let other_key = match Key::p256() {
        Ok(k) => k,
        Err(rc) => {
            t.check(
                "generate the unrelated root's key",
                false,
                format_args!("rc = {rc:#x}"),
            );
            return Err("key generation failed");
        }
    };
    let other_name = c"CN=Unrelated Root";
    let other = match write_cert(other_name, other_name, 9, true, &other_key, &other_key)
        .and_then(|d| Cert::parse(&d))
    {
        Ok(c) => c,
        Err(rc) => {
            t.check(
                "write the unrelated root",
                false,
                format_args!("rc = {rc:#x}"),
            );
            return Err("certificate writing failed");
        }
    };
    let (rc, flags) = verify(&leaf, &other);
    t.check(
        "leaf against an unrelated root: NOT_TRUSTED",
        rc == sys::MBEDTLS_ERR_X509_CERT_VERIFY_FAILED
            && flags & sys::MBEDTLS_X509_BADCERT_NOT_TRUSTED != 0,
        format_args!("rc = {rc}, flags = {flags:#x}"),
    );

    // Validity period, as judged by the installed clock.
    // SAFETY: installing plain function pointers.
    unsafe { sys::mv_set_clock(Some(clock_before_validity)) };
    let (rc, flags) = verify(&leaf, &ca);
    t.check(
        "clock before notBefore: BADCERT_FUTURE",
        rc == sys::MBEDTLS_ERR_X509_CERT_VERIFY_FAILED
            && flags & sys::MBEDTLS_X509_BADCERT_FUTURE != 0,
        format_args!("rc = {rc}, flags = {flags:#x}"),
    );
    // SAFETY: as above.
    unsafe { sys::mv_set_clock(Some(clock_after_validity)) };
    let (rc, flags) = verify(&leaf, &ca);
    t.check(
        "clock after notAfter: BADCERT_EXPIRED",
        rc == sys::MBEDTLS_ERR_X509_CERT_VERIFY_FAILED
            && flags & sys::MBEDTLS_X509_BADCERT_EXPIRED != 0,
        format_args!("rc = {rc}, flags = {flags:#x}"),
    );

    // No wall clock: bare metal must fail closed, not skip the expiry check.
    // SAFETY: uninstalls the clock.
    unsafe { sys::mv_set_clock(None) };
    let (rc, flags) = verify(&leaf, &ca);
    t.check(
        "no clock installed: verification fails closed",
        rc == sys::MBEDTLS_ERR_X509_FATAL_ERROR && flags == u32::MAX,
        format_args!("rc = {rc}, flags = {flags:#x}"),
    );
    // SAFETY: installs a clock that reports failure.
    unsafe { sys::mv_set_clock(Some(clock_unavailable)) };
    let (rc, flags) = verify(&leaf, &ca);
    t.check(
        "clock reporting failure: verification fails closed",
        rc == sys::MBEDTLS_ERR_X509_FATAL_ERROR && flags == u32::MAX,
        format_args!("rc = {rc}, flags = {flags:#x}"),
    );

    // Back to the test clock: the chain verifies again.
    // SAFETY: as above.
    unsafe { sys::mv_set_clock(Some(test_only_clock)) };
    let (rc, flags) = verify(&leaf, &ca);
    t.check(
        "clock restored: leaf verifies again",
        rc == 0 && flags == 0,
        format_args!("rc = {rc}, flags = {flags:#x}"),
    );
    Ok(())
}

#[unsafe(no_mangle)]
pub extern "C" fn main() -> c_int {
    let guarded = machine_setup();
    paint_stack();
    let (bottom, top) = stack_bounds();
    println!(
        "mbedtls-verify rv32 test: mbedTLS {:#010x}, heap {} bytes, stack {} bytes{}",
        sys::version_number(),
        heap::HEAP_SIZE,
        top - bottom,
        if guarded {
            " (PMP guard)"
        } else {
            " (no PMP guard)"
        }
    );
    let seed = test_seed();
    println!("note: TEST-ONLY PRNG seed {seed:#018x} (set MV_RV32_TEST_SEED to change)");

    static mut RNG: TestOnlyPrng = TestOnlyPrng { state: 0 };
    // SAFETY: taken once, here, on the only thread; main never runs twice.
    let rng = unsafe { &mut *ptr::addr_of_mut!(RNG) };
    rng.state = seed;

    let mut t = Tally {
        passed: 0,
        failed: 0,
    };
    let base = heap::HEAP.stats();
    if let Err(why) = run(&mut t, rng) {
        println!("stopped early: {why}");
        t.failed += 1;
    }
    let end = heap::HEAP.stats();
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
        "measure: heap peak {} bytes in use (arena high-water {} of {} bytes), {} allocations",
        end.peak,
        end.high_water,
        heap::HEAP_SIZE,
        end.allocs
    );
    println!(
        "measure: stack peak {} bytes of {}",
        stack_peak(),
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
