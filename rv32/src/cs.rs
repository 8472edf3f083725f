//! The `critical-section` implementation for this single-hart, machine-mode program.
//!
//! riscv32imc has no atomic compare-and-swap, so `portable-atomic` (behind the safe
//! crate's `Arc`) and this program's own shared state (heap, TEST-ONLY PRNG, traces)
//! serialise through `critical_section::with`. With one hart, masking machine interrupts
//! (`mstatus.MIE`) is the whole critical section; the restore state is whether they were
//! enabled on entry (feature `restore-state-bool`), so nested sections work.
//!
//! A multi-core part (ESP32-S3, -P4) needs a real lock here; on ESP-IDF, use the
//! implementation `esp-idf-hal` provides instead.

struct SingleHart;
critical_section::set_impl!(SingleHart);

const MSTATUS_MIE: usize = 1 << 3;

// SAFETY: acquire masks interrupts on the only hart, so nothing else can run until the
// matching release; release re-enables them only if they were enabled on entry.
unsafe impl critical_section::Impl for SingleHart {
    unsafe fn acquire() -> bool {
        let prev: usize;
        // SAFETY: atomically clears mstatus.MIE and returns the previous mstatus.
        unsafe { core::arch::asm!("csrrci {0}, mstatus, 8", out(reg) prev, options(nostack)) };
        prev & MSTATUS_MIE != 0
    }

    unsafe fn release(was_enabled: bool) {
        if was_enabled {
            // SAFETY: restores the state found by the matching acquire.
            unsafe { core::arch::asm!("csrsi mstatus, 8", options(nostack)) };
        }
    }
}
