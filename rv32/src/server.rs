//! A P-256-only mTLS server as firmware would build it: the code-size build of
//! `scripts/rv32-build` (variant `p256-only`, binary `mtls-server-size`). It is linked
//! and measured, not run by the test: under QEMU it has no client to talk to.
//!
//! Everything it needs comes from outside the code, as on a device, so the linker keeps
//! exactly what such a server uses: the identity and the trust anchor from a
//! provisioning partition in flash, entropy from the ESP32-C3's RNG register, the time
//! from an RTC, the bytes from a UART (a device would use a TCP socket of its network
//! stack). It requires a client certificate from the fleet CA, authorizes it with a
//! `ClientPolicy` (clientAuth + a URI prefix from the partition), logs what the verify
//! hook sees, and echoes one message per connection.
#![no_std]
#![no_main]

extern crate alloc;

#[macro_use]
mod semihosting;
mod cs;
#[allow(dead_code)]
mod heap;

use alloc::string::String;
use core::ffi::c_int;

use mbedtls_verify::pk::PrivateKey;
use mbedtls_verify::policy::ClientPolicy;
use mbedtls_verify::ssl::{ClientAuth, Identity, IoStatus, ServerConfig, Session, Transport};
use mbedtls_verify::trust::Trust;
use mbedtls_verify::verify::{Verdict, VerifyHook};
use mbedtls_verify::x509::CertChain;
use mbedtls_verify::{Error, Result, platform};

/// The provisioning partition: magic `MVP1`, then five length-prefixed blobs (u32 LE
/// length, data padded to 4 bytes): root CA DER, server certificate DER, issuing CA DER,
/// server key DER, allowed device URI prefix.
const PARTITION: usize = 0x8030_0000;
const MAGIC: u32 = u32::from_le_bytes(*b"MVP1");

struct Provisioned {
    root: &'static [u8],
    server: &'static [u8],
    issuing: &'static [u8],
    key: &'static [u8],
    device_prefix: &'static str,
}

fn provisioned() -> Option<Provisioned> {
    let base = PARTITION as *const u8;
    // SAFETY: the partition is mapped flash, read-only for the program's lifetime.
    let word = |off: usize| unsafe { base.add(off).cast::<u32>().read_volatile() };
    if word(0) != MAGIC {
        return None;
    }
    let mut off = 4;
    let mut blob = || {
        let len = word(off) as usize;
        // SAFETY: as above; the blob lies inside the partition.
        let data = unsafe { core::slice::from_raw_parts(base.add(off + 4), len) };
        off += 4 + len.next_multiple_of(4);
        data
    };
    Some(Provisioned {
        root: blob(),
        server: blob(),
        issuing: blob(),
        key: blob(),
        device_prefix: core::str::from_utf8(blob()).ok()?,
    })
}

/// ESP32-C3 `RNG_DATA_REG`: a true random number only while the RF subsystem or the
/// SAR ADC runs (see the chip's technical reference manual) — a product must ensure it.
const RNG_DATA_REG: usize = 0x6002_60B0;

fn trng_fill(buf: &mut [u8]) -> bool {
    for chunk in buf.chunks_mut(4) {
        // SAFETY: a read-only MMIO register of the chip.
        let v = unsafe { (RNG_DATA_REG as *const u32).read_volatile() };
        chunk.copy_from_slice(&v.to_le_bytes()[..chunk.len()]);
    }
    true
}

/// The `virt` board's Goldfish RTC (nanoseconds since the epoch); a device would keep
/// the time from SNTP. `None` (verification fails closed) until the time is plausible.
const RTC: usize = 0x0010_1000;

fn rtc_now() -> Option<i64> {
    // SAFETY: MMIO reads of the RTC; TIME_LOW latches TIME_HIGH.
    let ns = unsafe {
        let lo = u64::from((RTC as *const u32).read_volatile());
        let hi = u64::from(((RTC + 4) as *const u32).read_volatile());
        (hi << 32) | lo
    };
    let secs = (ns / 1_000_000_000) as i64;
    (secs > 1_700_000_000).then_some(secs)
}

/// A 16550 UART (the `virt` board's, at 0x1000_0000) as the byte transport.
struct Uart;

const UART: usize = 0x1000_0000;
const LSR: usize = 5;
const LSR_DATA_READY: u8 = 0x01;
const LSR_TX_EMPTY: u8 = 0x20;

impl Uart {
    fn lsr() -> u8 {
        // SAFETY: MMIO read of the line status register.
        unsafe { ((UART + LSR) as *const u8).read_volatile() }
    }
}

impl Transport for Uart {
    fn send(&mut self, data: &[u8]) -> IoStatus {
        for &b in data {
            while Self::lsr() & LSR_TX_EMPTY == 0 {}
            // SAFETY: MMIO write of the transmit register.
            unsafe { (UART as *mut u8).write_volatile(b) };
        }
        IoStatus::Done(data.len())
    }

    fn recv(&mut self, buf: &mut [u8]) -> IoStatus {
        let mut n = 0;
        while n < buf.len() && Self::lsr() & LSR_DATA_READY != 0 {
            // SAFETY: MMIO read of the receive register.
            buf[n] = unsafe { (UART as *const u8).read_volatile() };
            n += 1;
        }
        if n == 0 {
            IoStatus::WouldBlock
        } else {
            IoStatus::Done(n)
        }
    }
}

fn server_config(p: &Provisioned) -> Result<ServerConfig> {
    let mut chain = CertChain::from_der(p.server)?;
    chain.push_der(p.issuing)?;
    let policy = ClientPolicy::builder()
        .allow_uri_prefix(p.device_prefix)
        .build()
        .map_err(Error::from)?;
    ServerConfig::builder()
        .identity(Identity::new(chain, PrivateKey::parse(p.key)?)?)
        .client_auth(ClientAuth::Required)
        .trust(Trust::anchors(CertChain::from_der(p.root)?)?)
        .verify_hook(VerifyHook::new(|call| {
            println!(
                "verify: depth {} {} {} flags {:#x}",
                call.depth(),
                call.role(),
                call.cert().subject().to_string_lossy(),
                call.flags().bits()
            );
            Verdict::Accept
        }))
        .policy(policy)
        .build()
}

/// Retry `f` while the transport would block.
fn blocking<R>(mut f: impl FnMut() -> Result<R>) -> Result<R> {
    loop {
        match f() {
            Err(Error::WantRead | Error::WantWrite) => core::hint::spin_loop(),
            r => return r,
        }
    }
}

/// One connection: handshake, echo one message, close. Returns the client's identity.
fn serve_one(config: &ServerConfig) -> Result<String> {
    let mut tls = Session::server(config, Uart)?;
    blocking(|| tls.handshake())?;
    let who = match tls.verified_peer() {
        Some(peer) => peer.leaf().subject().to_string_lossy(),
        None => return Err(Error::InvalidInput("no verified client".into())),
    };
    let mut buf = [0u8; 512];
    let n = blocking(|| tls.read(&mut buf))?;
    tls.write_all(&buf[..n])?;
    tls.close()?;
    Ok(who)
}

#[unsafe(no_mangle)]
pub extern "C" fn main() -> c_int {
    // SAFETY: first thing, before mbedTLS allocates anything; single-threaded.
    if unsafe { platform::set_allocator(heap::c_calloc, heap::c_free) }.is_err() {
        semihosting::exit(2);
    }
    platform::set_entropy_source(trng_fill);
    platform::set_clock(rtc_now);
    let Some(p) = provisioned() else {
        println!("mtls-server: nothing provisioned at {PARTITION:#x}");
        semihosting::exit(2)
    };
    let config = match server_config(&p) {
        Ok(c) => c,
        Err(e) => {
            println!("mtls-server: bad provisioning: {e}");
            semihosting::exit(2)
        }
    };
    loop {
        match serve_one(&config) {
            Ok(who) => println!("mtls-server: served {who}"),
            Err(e) => println!("mtls-server: connection failed: {e}"),
        }
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    println!("PANIC: {info}");
    semihosting::exit(101)
}
