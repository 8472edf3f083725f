//! Platform glue shared by the two binaries (`mtls-server`, `verify-offline`): the heap
//! and mbedTLS's allocator, the TRNG as entropy, the wall clock, SNTP. (The server's
//! network device, Wi-Fi or the emulator's Ethernet MAC, is in `src/bin/mtls_server/netif`.)
//!
//! The order at start-up matters and is the same in both binaries:
//! 1. `heap::init()` then `heap::install_mbedtls_allocator()` — before anything allocates
//!    through mbedTLS (parsing the credentials does);
//! 2. `entropy::start(..)` + `platform::set_entropy_source(entropy::fill)`;
//! 3. `platform::set_clock(clock::now)` — which answers `None` (every certificate check
//!    fails closed) until `clock::set` is called with a trustworthy time.
#![no_std]

extern crate alloc;

pub mod clock;
pub mod entropy;
pub mod heap;
pub mod sntp;

/// Log `msg` and stop here (the watchdogs are off: the device stays up and silent).
pub fn halt(msg: &str) -> ! {
    log::error!("{msg}; halting");
    loop {
        core::hint::spin_loop();
    }
}

/// When this firmware was built (Unix seconds, from `build.rs`).
pub const BUILD_UNIX_TIME: i64 = parse_u64(env!("MTLS_BUILD_UNIX_TIME")) as i64;

const fn parse_u64(s: &str) -> u64 {
    let b = s.as_bytes();
    let mut i = 0;
    let mut v = 0u64;
    while i < b.len() {
        assert!(
            b[i].is_ascii_digit(),
            "MTLS_BUILD_UNIX_TIME is not a number"
        );
        v = v * 10 + (b[i] - b'0') as u64;
        i += 1;
    }
    v
}
