//! A small first-fit, address-ordered free-list allocator over a static array: the
//! program's only heap, shared by Rust (`#[global_allocator]`) and mbedTLS (through
//! `mv_set_calloc_free`). It records current and peak use so the test can report what
//! mbedTLS needs.
//!
//! Every block is a multiple of 8 bytes and 8-aligned, so a free block always has room
//! for its list node (size + next pointer) and splitting never leaves unusable slivers.
//! Free blocks are kept sorted by address and merged with their neighbours on free.
//! Every list operation runs inside `critical_section::with` (see `cs.rs`).
//!
//! Attribution: every allocation is charged to the *current tag* ([`Heap::with_tag`]), kept
//! in a 2-bit-per-grain map beside the arena, and its free is charged back to the same
//! tag, whenever and by whoever it happens. That is how the test tells the client's
//! and the server's heap apart while both live in one program (see `tls.rs`).

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::ptr::{self, NonNull};

/// Heap size: at most 160 KiB (an ESP32-C3 application typically has less free).
pub const HEAP_SIZE: usize = 160 * 1024;
const GRAIN: usize = 8;

#[repr(C, align(16))]
struct Arena([u8; HEAP_SIZE]);

/// Node at the start of every free block.
#[repr(C)]
struct Free {
    size: usize,
    next: *mut Free,
}

/// Who an allocation is charged to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Tag {
    /// Everything not attributed to one of the others.
    Other = 0,
    /// The TLS client: its configuration, session and handshake.
    Client = 1,
    /// The TLS server: its configuration, session and handshake.
    Server = 2,
    /// The in-memory transport between them (a device has a network stack instead).
    Transport = 3,
}

const TAGS: usize = 4;
const GRAINS: usize = HEAP_SIZE / GRAIN;

impl Tag {
    fn from_bits(b: u8) -> Tag {
        match b & 3 {
            1 => Tag::Client,
            2 => Tag::Server,
            3 => Tag::Transport,
            _ => Tag::Other,
        }
    }
}

/// Use charged to one tag, in bytes.
#[derive(Clone, Copy, Debug, Default)]
pub struct TagUse {
    pub in_use: usize,
    pub peak: usize,
}

/// Heap statistics, in bytes (block sizes after rounding to 8 bytes).
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    pub in_use: usize,
    pub peak: usize,
    pub allocs: usize,
    pub failures: usize,
    /// Highest arena offset ever handed out: the arena size this run needed,
    /// fragmentation included.
    pub high_water: usize,
    pub by_tag: [TagUse; TAGS],
}

impl Stats {
    pub fn tag(&self, tag: Tag) -> TagUse {
        self.by_tag[tag as usize]
    }
}

struct State {
    head: *mut Free,
    ready: bool,
    stats: Stats,
    tag: Tag,
    /// The tag of the block starting at each grain, 2 bits per grain.
    tag_map: [u8; GRAINS / 4],
}

impl State {
    fn set_block_tag(&mut self, grain: usize, tag: Tag) {
        let shift = (grain % 4) * 2;
        let b = &mut self.tag_map[grain / 4];
        *b = (*b & !(3 << shift)) | ((tag as u8) << shift);
    }

    fn block_tag(&self, grain: usize) -> Tag {
        Tag::from_bits(self.tag_map[grain / 4] >> ((grain % 4) * 2))
    }
}

pub struct Heap {
    arena: UnsafeCell<Arena>,
    state: UnsafeCell<State>,
}

// SAFETY: all access to `state` and to the arena's free blocks happens inside
// `critical`, which masks interrupts on the only hart this program runs on.
unsafe impl Sync for Heap {}

fn critical<R>(f: impl FnOnce() -> R) -> R {
    critical_section::with(|_| f())
}

fn round_up(n: usize, to: usize) -> Option<usize> {
    Some(n.checked_add(to - 1)? & !(to - 1))
}

impl Heap {
    pub const fn new() -> Heap {
        Heap {
            arena: UnsafeCell::new(Arena([0; HEAP_SIZE])),
            state: UnsafeCell::new(State {
                head: ptr::null_mut(),
                ready: false,
                stats: Stats {
                    in_use: 0,
                    peak: 0,
                    allocs: 0,
                    failures: 0,
                    high_water: 0,
                    by_tag: [TagUse { in_use: 0, peak: 0 }; TAGS],
                },
                tag: Tag::Other,
                tag_map: [0; GRAINS / 4],
            }),
        }
    }

    /// # Safety
    /// Must be called inside `critical`; returns the state with the free list set up.
    unsafe fn state(&self) -> &mut State {
        // SAFETY: exclusive access is guaranteed by the caller's critical section.
        let st = unsafe { &mut *self.state.get() };
        if !st.ready {
            let base = self.arena.get() as *mut Free;
            // SAFETY: the arena is 16-aligned, HEAP_SIZE bytes, and not yet handed out.
            unsafe {
                base.write(Free {
                    size: HEAP_SIZE,
                    next: ptr::null_mut(),
                })
            };
            st.head = base;
            st.ready = true;
        }
        st
    }

    pub fn stats(&self) -> Stats {
        // SAFETY: inside the critical section.
        critical(|| unsafe { self.state().stats })
    }

    /// Start a new peak measurement from the current use (overall and per tag).
    pub fn reset_peak(&self) {
        // SAFETY: inside the critical section.
        critical(|| unsafe {
            let st = self.state();
            st.stats.peak = st.stats.in_use;
            for t in &mut st.stats.by_tag {
                t.peak = t.in_use;
            }
        })
    }

    /// Run `f` with its allocations charged to `tag` (nesting restores the outer tag).
    pub fn with_tag<R>(&self, tag: Tag, f: impl FnOnce() -> R) -> R {
        // SAFETY: inside the critical section.
        let outer = critical(|| unsafe { core::mem::replace(&mut self.state().tag, tag) });
        let r = f();
        // SAFETY: as above.
        critical(|| unsafe { self.state().tag = outer });
        r
    }

    fn block_size(layout: Layout) -> Option<usize> {
        round_up(layout.size().max(GRAIN), GRAIN)
    }

    fn alloc_block(&self, size: usize, align: usize) -> Option<NonNull<u8>> {
        let align = align.max(GRAIN);
        critical(|| {
            // SAFETY: inside the critical section; every node on the list is a free
            // block inside the arena, written by this allocator.
            unsafe {
                let st = self.state();
                let mut link: *mut *mut Free = &mut st.head;
                while !(*link).is_null() {
                    let blk = *link;
                    let start_addr = blk as usize;
                    let blk_size = (*blk).size;
                    let end_of_blk = start_addr + blk_size;
                    // The allocation may begin later than the block to satisfy alignment;
                    // the gap (a multiple of 8) stays free as a block of its own.
                    let Some(start) = round_up(start_addr, align) else {
                        break;
                    };
                    let Some(end) = start.checked_add(size) else {
                        break;
                    };
                    if end > end_of_blk {
                        link = &mut (*blk).next;
                        continue;
                    }
                    let next = (*blk).next;
                    let tail = end_of_blk - end;
                    // What follows the allocation in this block, if anything.
                    let after = if tail > 0 {
                        let t = end as *mut Free;
                        t.write(Free { size: tail, next });
                        t
                    } else {
                        next
                    };
                    if start > start_addr {
                        (*blk).size = start - start_addr;
                        (*blk).next = after;
                    } else {
                        *link = after;
                    }
                    st.stats.in_use += size;
                    st.stats.allocs += 1;
                    st.stats.peak = st.stats.peak.max(st.stats.in_use);
                    let base = self.arena.get() as usize;
                    st.stats.high_water = st.stats.high_water.max(end - base);
                    let tag = st.tag;
                    st.set_block_tag((start - base) / GRAIN, tag);
                    let u = &mut st.stats.by_tag[tag as usize];
                    u.in_use += size;
                    u.peak = u.peak.max(u.in_use);
                    return NonNull::new(start as *mut u8);
                }
                st.stats.failures += 1;
                None
            }
        })
    }

    /// # Safety
    /// `p` must have come from `alloc_block` with this `size`, and not be freed yet.
    unsafe fn free_block(&self, p: *mut u8, size: usize) {
        critical(|| {
            // SAFETY: inside the critical section; p..p+size is an allocated block that
            // now returns to the list, kept sorted by address.
            unsafe {
                let st = self.state();
                let addr = p as usize;
                let mut prev: *mut Free = ptr::null_mut();
                let mut cur = st.head;
                while !cur.is_null() && (cur as usize) < addr {
                    prev = cur;
                    cur = (*cur).next;
                }
                let node = p as *mut Free;
                node.write(Free { size, next: cur });
                // Merge with the following block.
                if !cur.is_null() && addr + size == cur as usize {
                    (*node).size += (*cur).size;
                    (*node).next = (*cur).next;
                }
                // Merge with the preceding block, or link after it.
                if prev.is_null() {
                    st.head = node;
                } else if prev as usize + (*prev).size == addr {
                    (*prev).size += (*node).size;
                    (*prev).next = (*node).next;
                } else {
                    (*prev).next = node;
                }
                st.stats.in_use -= size;
                let tag = st.block_tag((addr - self.arena.get() as usize) / GRAIN);
                st.stats.by_tag[tag as usize].in_use -= size;
            }
        })
    }
}

// SAFETY: alloc returns 8-aligned (or `layout.align()`-aligned) blocks of at least
// `layout.size()` bytes from the arena, never overlapping a live block; dealloc puts a
// block back exactly once (the caller's contract).
unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match Self::block_size(layout) {
            Some(size) => self
                .alloc_block(size, layout.align())
                .map_or(ptr::null_mut(), NonNull::as_ptr),
            None => ptr::null_mut(),
        }
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        if let Some(size) = Self::block_size(layout) {
            // SAFETY: forwarded from the caller's contract.
            unsafe { self.free_block(p, size) }
        }
    }
}

#[global_allocator]
pub static HEAP: Heap = Heap::new();

/// C `calloc` for mbedTLS (installed with `mv_set_calloc_free`). Each block carries an
/// 8-byte header holding its size, since C's `free` does not pass one.
pub unsafe extern "C" fn c_calloc(n: usize, size: usize) -> *mut core::ffi::c_void {
    let Some(bytes) = n.checked_mul(size) else {
        return ptr::null_mut();
    };
    let Some(total) = bytes.checked_add(GRAIN).and_then(|t| round_up(t, GRAIN)) else {
        return ptr::null_mut();
    };
    match HEAP.alloc_block(total, GRAIN) {
        Some(p) => {
            let p = p.as_ptr();
            // SAFETY: p is a fresh block of `total` >= 8 + bytes bytes, 8-aligned.
            unsafe {
                (p as *mut usize).write(total);
                ptr::write_bytes(p.add(GRAIN), 0, total - GRAIN);
                p.add(GRAIN) as *mut core::ffi::c_void
            }
        }
        None => ptr::null_mut(),
    }
}

/// C `free` for mbedTLS.
pub unsafe extern "C" fn c_free(p: *mut core::ffi::c_void) {
    if p.is_null() {
        return;
    }
    // SAFETY: p came from c_calloc, so the block (with its size) starts 8 bytes before.
    unsafe {
        let base = (p as *mut u8).sub(GRAIN);
        let total = (base as *const usize).read();
        HEAP.free_block(base, total);
    }
}
