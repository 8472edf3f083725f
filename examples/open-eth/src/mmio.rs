//! The controller as memory-mapped I/O, and the DMA region as a static buffer.
//!
//! The one place with `unsafe` in this crate: volatile accesses to the register and
//! descriptor file, and the buffers' bytes, which the MAC writes behind the compiler's back.

#![allow(unsafe_code)]

use crate::{Bus, regs};

/// Where Espressif's emulated ESP32-C3 maps the controller.
pub const ESP32C3_BASE: usize = 0x600C_D000;

/// Registers and descriptors at `base`, buffers in `dma`. Plain addresses (`usize`), so
/// the driver can move into a task.
#[derive(Debug, Clone, Copy)]
pub struct Mmio {
    base: usize,
    dma: usize,
    dma_len: usize,
}

impl Mmio {
    /// # Safety
    ///
    /// `base` must be the address of an OpenCores Ethernet MAC's register block (registers,
    /// then descriptors at `+0x400`), used by nothing else, and bus addresses must equal CPU
    /// addresses (true on the ESP32-C3 for internal SRAM). The DMA buffer is taken for good.
    pub unsafe fn new(base: usize, dma: &'static mut [u8]) -> Self {
        Self {
            base,
            dma: dma.as_mut_ptr() as usize,
            dma_len: dma.len(),
        }
    }
}

fn in_file(offset: usize) -> bool {
    offset % 4 == 0 && offset < regs::DESC + 8 * regs::DESC_COUNT
}

impl Bus for Mmio {
    fn read(&self, offset: usize) -> u32 {
        assert!(in_file(offset), "open_eth: offset {offset:#x}");
        // SAFETY: `new`'s contract: `base + offset` is an aligned register or descriptor
        // word of the controller (checked above), which is always readable.
        unsafe { core::ptr::read_volatile((self.base + offset) as *const u32) }
    }

    fn write(&self, offset: usize, value: u32) {
        assert!(in_file(offset), "open_eth: offset {offset:#x}");
        // SAFETY: as in `read`; the driver is the controller's only user.
        unsafe { core::ptr::write_volatile((self.base + offset) as *mut u32, value) }
    }

    fn dma_region(&self) -> (u32, usize) {
        (self.dma as u32, self.dma_len)
    }

    fn with_dma<R>(&self, addr: u32, len: usize, f: impl FnOnce(&mut [u8]) -> R) -> R {
        let start = (addr as usize).wrapping_sub(self.dma);
        assert!(
            start <= self.dma_len && len <= self.dma_len - start,
            "open_eth: buffer outside the DMA region"
        );
        // SAFETY: the range lies inside the 'static buffer `new` took (checked above); the
        // driver calls this only for a buffer whose descriptor the CPU owns, so the MAC does
        // not touch these bytes while the slice lives, and no other reference to them exists.
        let buf = unsafe { core::slice::from_raw_parts_mut((self.dma + start) as *mut u8, len) };
        f(buf)
    }
}
