//! RISC-V semihosting (the ARM-compatible protocol QEMU implements): console output and
//! exit with a status. Needs `-semihosting-config enable=on` on the QEMU command line.

use core::fmt;

const SYS_WRITE0: usize = 0x04;
const SYS_EXIT_EXTENDED: usize = 0x20;
const ADP_STOPPED_APPLICATION_EXIT: usize = 0x2_0026;

/// One semihosting call: `a0` = operation, `a1` = argument; returns `a0`.
///
/// # Safety
/// `arg` must be what the operation expects (for pointer arguments: valid memory).
unsafe fn call(op: usize, arg: usize) -> usize {
    let ret;
    // SAFETY: the magic sequence `slli x0; ebreak; srai x0` (uncompressed, kept within
    // one 16-byte block) traps to the semihosting handler; without a debugger/QEMU
    // semihosting it raises a breakpoint exception (caught by the trap handler).
    unsafe {
        core::arch::asm!(
            ".balign 16",
            ".option push",
            ".option norvc",
            "slli zero, zero, 0x1f",
            "ebreak",
            "srai zero, zero, 0x7",
            ".option pop",
            inout("a0") op => ret,
            in("a1") arg,
            options(nostack, preserves_flags),
        );
    }
    ret
}

/// Write a NUL-terminated byte string to the host console.
fn write0(s: &[u8]) {
    debug_assert_eq!(s.last(), Some(&0));
    // SAFETY: s is a readable, NUL-terminated buffer for the duration of the call.
    unsafe {
        call(SYS_WRITE0, s.as_ptr() as usize);
    }
}

/// A console writer that buffers up to 255 bytes and flushes on newline or when full.
pub struct Console {
    buf: [u8; 256],
    len: usize,
}

impl Console {
    pub const fn new() -> Console {
        Console {
            buf: [0; 256],
            len: 0,
        }
    }

    pub fn flush(&mut self) {
        if self.len > 0 {
            self.buf[self.len] = 0;
            write0(&self.buf[..=self.len]);
            self.len = 0;
        }
    }
}

impl fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for &b in s.as_bytes() {
            // Semihosting strings end at NUL: never send one from the text itself.
            self.buf[self.len] = if b == 0 { b'?' } else { b };
            self.len += 1;
            if b == b'\n' || self.len == self.buf.len() - 1 {
                self.flush();
            }
        }
        Ok(())
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        self.flush();
    }
}

/// `println!` over semihosting.
#[macro_export]
macro_rules! println {
    ($($arg:tt)*) => {{
        use core::fmt::Write as _;
        let mut c = $crate::semihosting::Console::new();
        let _ = writeln!(c, $($arg)*);
        c.flush();
    }};
}

/// End the QEMU run with `status` as its exit status.
pub fn exit(status: u32) -> ! {
    let block = [ADP_STOPPED_APPLICATION_EXIT, status as usize];
    // SAFETY: SYS_EXIT_EXTENDED reads a two-word parameter block (reason, subcode).
    unsafe {
        call(SYS_EXIT_EXTENDED, block.as_ptr() as usize);
    }
    // Semihosting did not stop us: use the `virt` board's test finisher
    // (0x5555 = pass, (code << 16) | 0x3333 = fail).
    let finisher = 0x0010_0000 as *mut u32;
    let v = if status == 0 {
        0x5555
    } else {
        (status.min(0xffff) << 16) | 0x3333
    };
    // SAFETY: MMIO write to the qemu `virt` test device; on other machines this address
    // is not memory this program uses.
    unsafe { finisher.write_volatile(v) };
    loop {
        // SAFETY: waits for an interrupt; interrupts are disabled, so this parks the hart.
        unsafe { core::arch::asm!("wfi", options(nomem, nostack)) };
    }
}
