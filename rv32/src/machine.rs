//! Machine-level support: the instruction counter, the trap handler, the stack guard
//! and the stack paint used to find the deepest stack use.

use core::ptr;

/// Instructions retired (64-bit `minstret` read on rv32).
pub fn instret() -> u64 {
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
pub fn counted<R>(f: impl FnOnce() -> R) -> (R, u64) {
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
    crate::semihosting::exit(3)
}

const STACK_GUARD: usize = 256;
const STACK_PAINT: u32 = 0x5afe_57ac;

pub fn stack_bounds() -> (usize, usize) {
    // Linker-script symbols: only their addresses are used.
    (
        ptr::addr_of!(__heap_end) as usize,
        ptr::addr_of!(__stack) as usize,
    )
}

/// Install the trap vector and a 256-byte no-access PMP region at the bottom of the
/// stack (locked, so it applies to machine mode too): an overflow traps instead of
/// silently overwriting .bss.
pub fn machine_setup() -> bool {
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
pub fn paint_stack() {
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
pub fn stack_peak() -> usize {
    let (bottom, top) = stack_bounds();
    let mut p = bottom + STACK_GUARD;
    // SAFETY: reads stack memory above the guard.
    while p < top && unsafe { (p as *const u32).read_volatile() } == STACK_PAINT {
        p += 4;
    }
    top - p
}
