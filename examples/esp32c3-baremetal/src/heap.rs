//! One heap for everything, and mbedTLS's share of it.
//!
//! **Decision.** esp-alloc's heap is the only heap: Rust (`#[global_allocator]`), the
//! Wi-Fi driver (through the C `malloc`/`calloc`/`free` that esp-alloc's default `compat`
//! feature exports) and mbedTLS all allocate from it. An ESP32-C3 has about 300 KiB of
//! DRAM; carving a fixed arena out for mbedTLS would waste whatever it does not use
//! between handshakes, while Wi-Fi needs its buffers at unpredictable times.
//!
//! mbedTLS does **not** use the C `calloc` that esp-alloc exports, although it would link:
//! [`install_mbedtls_allocator`] points it (through `platform::set_allocator`) at
//! [`mbedtls_calloc`] / [`mbedtls_free`] below, because
//! - esp-alloc's `calloc(n, size)` multiplies without an overflow check; mbedTLS computes
//!   some sizes from what a peer sends, so the product is checked here;
//! - it zeroes byte by byte with volatile writes; here the allocator's own `alloc_zeroed`
//!   runs (a 16 KiB record buffer is allocated for every connection);
//! - mbedTLS gets a **budget** ([`MBEDTLS_BUDGET`]): a burst of handshakes makes
//!   `mbedtls_ssl_setup` fail (the connection is refused) instead of taking the memory
//!   the Wi-Fi driver needs to keep the device reachable;
//! - its use is counted, so the firmware can log it ([`mbedtls_use`]).

use core::alloc::{GlobalAlloc, Layout};
use core::cell::Cell;
use core::ffi::c_void;
use core::ptr;

use critical_section::Mutex;
use esp_hal::ram;

/// The most mbedTLS may hold at once. The project's rv32 measurements (README, "Measured")
/// put a server handshake at about 31 KB with 16 KiB / 4 KiB records, plus about 5 KB
/// for the shared configuration; the server here handles one connection at a time.
pub const MBEDTLS_BUDGET: usize = 64 * 1024;

/// Size header in front of every mbedTLS block (C's `free` passes no size); 8 keeps the
/// block aligned for every type mbedTLS stores (u64 included).
const HEADER: usize = 8;

#[derive(Clone, Copy)]
struct Use {
    now: usize,
    peak: usize,
    refused: usize,
}

static MBEDTLS_USE: Mutex<Cell<Use>> = Mutex::new(Cell::new(Use {
    now: 0,
    peak: 0,
    refused: 0,
}));

/// Give esp-alloc its regions: the 64 KiB the second-stage bootloader used (free once the
/// application runs) and a static block in regular DRAM.
pub fn init() {
    esp_alloc::heap_allocator!(#[ram(reclaimed)] size: 64 * 1024);
    esp_alloc::heap_allocator!(size: 112 * 1024);
}

/// Make mbedTLS allocate through [`mbedtls_calloc`] / [`mbedtls_free`]. Call once, right
/// after [`init`] and before anything else touches mbedTLS.
pub fn install_mbedtls_allocator() -> Result<(), mbedtls_verify::MbedtlsError> {
    // SAFETY: the two functions behave like calloc/free over esp-alloc's heap, whose
    // operations run in critical sections (esp-alloc locks internally); nothing has been
    // allocated through mbedTLS yet (this runs first, single-threaded, at start-up).
    unsafe { mbedtls_verify::platform::set_allocator(mbedtls_calloc, mbedtls_free) }
}

/// `calloc` for mbedTLS: overflow-checked, budgeted, zeroed.
///
/// # Safety
/// Called by mbedTLS through the platform hook; returns null or a zeroed block of at
/// least `n * size` bytes, 8-aligned, to be released with [`mbedtls_free`].
pub unsafe extern "C" fn mbedtls_calloc(n: usize, size: usize) -> *mut c_void {
    let Some(total) = n.checked_mul(size).and_then(|b| b.checked_add(HEADER)) else {
        return ptr::null_mut();
    };
    let Ok(layout) = Layout::from_size_align(total, HEADER) else {
        return ptr::null_mut();
    };
    let admitted = critical_section::with(|cs| {
        let cell = MBEDTLS_USE.borrow(cs);
        let mut u = cell.get();
        let ok = u
            .now
            .checked_add(total)
            .is_some_and(|t| t <= MBEDTLS_BUDGET);
        if ok {
            u.now += total;
            u.peak = u.peak.max(u.now);
        } else {
            u.refused += 1;
        }
        cell.set(u);
        ok
    });
    if !admitted {
        return ptr::null_mut();
    }
    // SAFETY: layout has a non-zero size (at least HEADER bytes).
    let base = unsafe { esp_alloc::HEAP.alloc_zeroed(layout) };
    if base.is_null() {
        critical_section::with(|cs| {
            let cell = MBEDTLS_USE.borrow(cs);
            let mut u = cell.get();
            u.now -= total;
            u.refused += 1;
            cell.set(u);
        });
        return ptr::null_mut();
    }
    // SAFETY: base is a fresh, 8-aligned block of `total` >= HEADER bytes.
    unsafe {
        base.cast::<usize>().write(total);
        base.add(HEADER).cast()
    }
}

/// `free` for mbedTLS.
///
/// # Safety
/// `p` is null or came from [`mbedtls_calloc`] and was not freed before.
pub unsafe extern "C" fn mbedtls_free(p: *mut c_void) {
    if p.is_null() {
        return;
    }
    // SAFETY: the block starts HEADER bytes before p and records its total size; the
    // layout is the one it was allocated with.
    unsafe {
        let base = p.cast::<u8>().sub(HEADER);
        let total = base.cast::<usize>().read();
        esp_alloc::HEAP.dealloc(base, Layout::from_size_align_unchecked(total, HEADER));
        critical_section::with(|cs| {
            let cell = MBEDTLS_USE.borrow(cs);
            let mut u = cell.get();
            u.now -= total;
            cell.set(u);
        });
    }
}

/// mbedTLS's heap use in bytes: (now, peak, allocations refused).
pub fn mbedtls_use() -> (usize, usize, usize) {
    let u = critical_section::with(|cs| MBEDTLS_USE.borrow(cs).get());
    (u.now, u.peak, u.refused)
}

/// Start a new peak at the current use: the next [`mbedtls_use`] reports the peak since.
pub fn restart_peak() {
    critical_section::with(|cs| {
        let cell = MBEDTLS_USE.borrow(cs);
        let mut u = cell.get();
        u.peak = u.now;
        cell.set(u);
    });
}

/// Free bytes in the whole heap (all regions).
pub fn free() -> usize {
    esp_alloc::HEAP.free()
}
