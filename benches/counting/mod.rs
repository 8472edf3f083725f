//! Counting allocators for the heap benches (`alloc_count`, `root_bundle`): a global
//! allocator for Rust and calloc/free hooks for mbedTLS (install them with
//! `platform::set_allocator` before anything touches mbedTLS), each keeping allocation
//! counts, requested bytes, live bytes and a resettable high-water mark.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::c_void;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

pub static RUST_COUNT: AtomicU64 = AtomicU64::new(0);
pub static RUST_BYTES: AtomicU64 = AtomicU64::new(0);
pub static C_COUNT: AtomicU64 = AtomicU64::new(0);
pub static C_BYTES: AtomicU64 = AtomicU64::new(0);
// Live bytes and their high-water mark (the mark is reset before each measured operation).
pub static RUST_LIVE: AtomicU64 = AtomicU64::new(0);
pub static RUST_PEAK: AtomicU64 = AtomicU64::new(0);
pub static C_LIVE: AtomicU64 = AtomicU64::new(0);
pub static C_PEAK: AtomicU64 = AtomicU64::new(0);

pub fn grow(live: &AtomicU64, peak: &AtomicU64, by: u64) {
    let now = live.fetch_add(by, Relaxed) + by;
    peak.fetch_max(now, Relaxed);
}

pub struct Counting;

// SAFETY: forwards to the system allocator; only adds relaxed counters.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        RUST_COUNT.fetch_add(1, Relaxed);
        RUST_BYTES.fetch_add(l.size() as u64, Relaxed);
        grow(&RUST_LIVE, &RUST_PEAK, l.size() as u64);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        RUST_COUNT.fetch_add(1, Relaxed);
        RUST_BYTES.fetch_add(l.size() as u64, Relaxed);
        grow(&RUST_LIVE, &RUST_PEAK, l.size() as u64);
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        // A reallocation counts as one allocation of the new size.
        RUST_COUNT.fetch_add(1, Relaxed);
        RUST_BYTES.fetch_add(new as u64, Relaxed);
        RUST_LIVE.fetch_sub(l.size() as u64, Relaxed);
        grow(&RUST_LIVE, &RUST_PEAK, new as u64);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(p, l, new) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        RUST_LIVE.fetch_sub(l.size() as u64, Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

unsafe extern "C" {
    fn calloc(n: usize, size: usize) -> *mut c_void;
    fn free(p: *mut c_void);
}

/// Each block handed to mbedTLS is preceded by a header holding its requested size, so
/// that `counting_free` can keep the live byte count; 16 bytes keep calloc's alignment.
const HEADER: usize = 16;

pub unsafe extern "C" fn counting_calloc(n: usize, size: usize) -> *mut c_void {
    let Some(bytes) = n.checked_mul(size) else {
        return core::ptr::null_mut();
    };
    // SAFETY: the C library's calloc.
    let p = unsafe { calloc(1, bytes + HEADER) }.cast::<u8>();
    if p.is_null() {
        return core::ptr::null_mut();
    }
    C_COUNT.fetch_add(1, Relaxed);
    C_BYTES.fetch_add(bytes as u64, Relaxed);
    grow(&C_LIVE, &C_PEAK, bytes as u64);
    // SAFETY: p is valid for HEADER + bytes bytes and aligned for usize.
    unsafe {
        p.cast::<usize>().write(bytes);
        p.add(HEADER).cast()
    }
}

pub unsafe extern "C" fn counting_free(p: *mut c_void) {
    if p.is_null() {
        return;
    }
    // SAFETY: p came from counting_calloc (the hooks are installed before any mbedTLS use),
    // which returned its block HEADER bytes in, after the size.
    unsafe {
        let base = p.cast::<u8>().sub(HEADER);
        C_LIVE.fetch_sub(base.cast::<usize>().read() as u64, Relaxed);
        free(base.cast())
    }
}
