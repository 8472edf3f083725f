//! An [`embassy_net_driver::Driver`] for the OpenCores 10/100 Ethernet MAC ("open_eth"),
//! the network device of Espressif's QEMU for its emulated ESP32-C3 (no real C3 has it;
//! on hardware the firmware uses Wi-Fi).
//!
//! The controller, as the emulator models it (registers at `0x600CD000`, interrupt source
//! 0 of the interrupt matrix):
//! - 21 registers ([`regs`]) and a descriptor file of 128 two-word buffer descriptors at
//!   offset `0x400`: `len_flags` (length in the upper 16 bits, status/control below) and
//!   the buffer's address;
//! - descriptors `0 .. TX_BD_NUM` are the transmit ring, `TX_BD_NUM .. 128` the receive
//!   ring; each ring wraps at a descriptor with its wrap bit (or at its end);
//! - transmit: the CPU fills a buffer, then writes the descriptor with the length and
//!   `READY`; the MAC sends it and clears `READY`. Receive: the CPU hands a descriptor over
//!   with `EMPTY`; the MAC writes a frame (plus a 4-byte FCS field) to its buffer, stores
//!   the length, clears `EMPTY` and, with the descriptor's `IRQ` bit, raises `RXB` in
//!   `INT_SOURCE` (write 1 to clear); no free descriptor raises `BUSY`;
//! - the PHY sits at MII address 1; its status register's link bit is the link state.
//!
//! The driver owns one DMA region for all buffers ([`BUF_SIZE`] bytes each, receive
//! buffers first), reaches registers, descriptors and buffers only through a [`Bus`]
//! (the memory-mapped one is [`mmio::Mmio`]; the host tests use a model of the device),
//! and is woken by [`on_interrupt`], which the firmware's interrupt handler calls.
#![no_std]
#![deny(unsafe_code)]

use core::task::Context;

use embassy_net_driver::{Capabilities, HardwareAddress, LinkState};
use embassy_sync::waitqueue::AtomicWaker;

pub mod mmio;

/// Register offsets (bytes from the controller's base) and bits.
pub mod regs {
    pub const MODER: usize = 0x00;
    pub const INT_SOURCE: usize = 0x04;
    pub const INT_MASK: usize = 0x08;
    pub const PACKETLEN: usize = 0x18;
    pub const TX_BD_NUM: usize = 0x20;
    pub const MIICOMMAND: usize = 0x2c;
    pub const MIIADDRESS: usize = 0x30;
    pub const MIIRX_DATA: usize = 0x38;
    pub const MIISTATUS: usize = 0x3c;
    /// MAC bytes 2..5, byte 2 in the top byte.
    pub const MAC_ADDR0: usize = 0x40;
    /// MAC bytes 0..1, byte 0 in bits 15..8.
    pub const MAC_ADDR1: usize = 0x44;
    /// The descriptor file: descriptor `n` at `DESC + 8 n` (`len_flags`), `+ 4` (buffer).
    pub const DESC: usize = 0x400;
    /// Descriptors in the file, both rings together.
    pub const DESC_COUNT: usize = 128;

    pub const MODER_RXEN: u32 = 1 << 0;
    pub const MODER_TXEN: u32 = 1 << 1;
    /// Reject broadcast frames (left clear: ARP needs them).
    pub const MODER_BRO: u32 = 1 << 3;
    pub const MODER_PRO: u32 = 1 << 5;
    pub const MODER_RST: u32 = 1 << 11;
    pub const MODER_CRCEN: u32 = 1 << 13;
    pub const MODER_PAD: u32 = 1 << 15;

    pub const INT_TXB: u32 = 1 << 0;
    pub const INT_TXE: u32 = 1 << 1;
    pub const INT_RXB: u32 = 1 << 2;
    pub const INT_RXE: u32 = 1 << 3;
    pub const INT_BUSY: u32 = 1 << 4;

    pub const MIICOMMAND_RSTAT: u32 = 1 << 1;
    pub const MIISTATUS_BUSY: u32 = 1 << 1;
    /// The PHY's MII address.
    pub const PHY_ADDR: u32 = 1;
    /// MII basic status register and its link bit.
    pub const MII_BMSR: u32 = 1;
    pub const MII_BMSR_LINK: u32 = 1 << 2;

    /// Transmit descriptor: the MAC owns it (cleared when sent).
    pub const TXD_RD: u32 = 1 << 15;
    pub const TXD_IRQ: u32 = 1 << 14;
    /// Last descriptor of the transmit ring.
    pub const TXD_WR: u32 = 1 << 13;
    pub const TXD_PAD: u32 = 1 << 12;
    pub const TXD_CRC: u32 = 1 << 11;
    /// Transmit status bits (underrun .. carrier sense lost), written by the MAC.
    pub const TXD_STATUS: u32 = 0x1ff;

    /// Receive descriptor: empty, the MAC may fill it.
    pub const RXD_E: u32 = 1 << 15;
    pub const RXD_IRQ: u32 = 1 << 14;
    /// Last descriptor of the receive ring.
    pub const RXD_WRAP: u32 = 1 << 13;
    /// Receive errors: overrun, invalid symbol, dribble nibble, too long, short frame,
    /// CRC error, late collision. A frame with any of them is dropped.
    pub const RXD_ERRORS: u32 = 0x7f;

    /// Length field of either descriptor kind.
    pub const LEN_SHIFT: u32 = 16;
}

/// Bytes per buffer: a full frame (1514) plus the FCS field, rounded up.
pub const BUF_SIZE: usize = 1536;
/// The largest frame handed to embassy-net (Ethernet header included, FCS not).
pub const MTU: usize = 1514;
/// The frame-check-sequence field at the end of every received frame.
const FCS_LEN: usize = 4;
/// Frame lengths the MAC works with: 64 .. 1536 (its reset values).
const PACKETLEN: u32 = (64 << 16) | 1536;
/// Bounded wait for an MII read to complete (the emulator completes it at once).
const MII_SPINS: u32 = 10_000;

/// Access to the controller: its registers and descriptors (by byte offset from its base)
/// and the DMA region the buffers live in.
pub trait Bus: Copy {
    fn read(&self, offset: usize) -> u32;
    fn write(&self, offset: usize, value: u32);
    /// The DMA region: its bus address (what descriptors hold) and length in bytes.
    fn dma_region(&self) -> (u32, usize);
    /// Run `f` over `len` bytes of the DMA region starting at bus address `addr`; only
    /// called for a buffer whose descriptor the CPU owns.
    fn with_dma<R>(&self, addr: u32, len: usize, f: impl FnOnce(&mut [u8]) -> R) -> R;
}

/// Why [`OpenEth::new`] refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// Ring sizes: each at least 1, together at most 128 descriptors.
    Rings,
    /// The DMA region is smaller than `(RX + TX) * BUF_SIZE` or not 4-byte aligned.
    DmaRegion,
}

/// The driver's waker: woken by [`on_interrupt`].
static WAKER: AtomicWaker = AtomicWaker::new();

/// The interrupt handler's work: acknowledge what the MAC signalled and wake the network
/// stack. Returns the `INT_SOURCE` bits it cleared.
pub fn on_interrupt<B: Bus>(bus: B) -> u32 {
    let pending = bus.read(regs::INT_SOURCE);
    bus.write(regs::INT_SOURCE, pending);
    WAKER.wake();
    pending
}

/// One ring of descriptors and their buffers.
#[derive(Debug)]
struct Ring<B> {
    bus: B,
    /// Index of the ring's first descriptor in the descriptor file.
    first: usize,
    count: usize,
    /// The next descriptor the CPU expects back (receive) or fills (transmit).
    next: usize,
    /// Bus address of the buffer of the ring's first descriptor.
    buffers: u32,
}

impl<B: Bus> Ring<B> {
    fn desc(&self, i: usize) -> usize {
        regs::DESC + 8 * (self.first + i)
    }
    fn buffer(&self, i: usize) -> u32 {
        self.buffers + (i * BUF_SIZE) as u32
    }
    fn len_flags(&self, i: usize) -> u32 {
        self.bus.read(self.desc(i))
    }
    fn advance(&mut self) {
        self.next = (self.next + 1) % self.count;
    }
    /// Hand receive descriptor `i` (back) to the MAC.
    fn arm_rx(&self, i: usize) {
        let wrap = if i + 1 == self.count {
            regs::RXD_WRAP
        } else {
            0
        };
        self.bus
            .write(self.desc(i), regs::RXD_E | regs::RXD_IRQ | wrap);
    }
    fn last_tx_flag(&self, i: usize) -> u32 {
        if i + 1 == self.count { regs::TXD_WR } else { 0 }
    }
}

/// The driver: `RX` receive and `TX` transmit descriptors.
#[derive(Debug)]
pub struct OpenEth<B: Bus, const RX: usize, const TX: usize> {
    rx: Ring<B>,
    tx: Ring<B>,
    mac: [u8; 6],
}

impl<B: Bus, const RX: usize, const TX: usize> OpenEth<B, RX, TX> {
    /// DMA bytes the driver needs.
    pub const DMA_BYTES: usize = (RX + TX) * BUF_SIZE;

    /// Reset the controller, set its MAC address, lay out both rings over the bus's DMA
    /// region (receive buffers first), and start receiving and transmitting.
    pub fn new(bus: B, mac: [u8; 6]) -> Result<Self, Error> {
        if RX == 0 || TX == 0 || RX + TX > regs::DESC_COUNT {
            return Err(Error::Rings);
        }
        let (base, len) = bus.dma_region();
        if len < Self::DMA_BYTES || base % 4 != 0 {
            return Err(Error::DmaRegion);
        }
        bus.write(regs::MODER, regs::MODER_RST);
        bus.write(regs::MODER, 0);
        bus.write(regs::INT_MASK, 0);
        bus.write(regs::INT_SOURCE, u32::MAX);
        let (addr0, addr1) = mac_registers(mac);
        bus.write(regs::MAC_ADDR0, addr0);
        bus.write(regs::MAC_ADDR1, addr1);
        bus.write(regs::PACKETLEN, PACKETLEN);
        bus.write(regs::TX_BD_NUM, TX as u32);

        let rx = Ring {
            bus,
            first: TX,
            count: RX,
            next: 0,
            buffers: base,
        };
        let tx = Ring {
            bus,
            first: 0,
            count: TX,
            next: 0,
            buffers: base + (RX * BUF_SIZE) as u32,
        };
        for i in 0..RX {
            bus.write(rx.desc(i) + 4, rx.buffer(i));
            rx.arm_rx(i);
        }
        for i in 0..TX {
            bus.write(tx.desc(i) + 4, tx.buffer(i));
            bus.write(tx.desc(i), tx.last_tx_flag(i));
        }
        bus.write(
            regs::INT_MASK,
            regs::INT_TXB | regs::INT_TXE | regs::INT_RXB | regs::INT_RXE | regs::INT_BUSY,
        );
        bus.write(
            regs::MODER,
            regs::MODER_PAD | regs::MODER_CRCEN | regs::MODER_TXEN | regs::MODER_RXEN,
        );
        Ok(Self { rx, tx, mac })
    }

    /// The PHY's link bit (MII status register), read now.
    pub fn link_up(&self) -> bool {
        let bus = self.rx.bus;
        bus.write(regs::MIIADDRESS, (regs::MII_BMSR << 8) | regs::PHY_ADDR);
        bus.write(regs::MIICOMMAND, regs::MIICOMMAND_RSTAT);
        let mut spins = 0;
        while bus.read(regs::MIISTATUS) & regs::MIISTATUS_BUSY != 0 {
            spins += 1;
            if spins == MII_SPINS {
                return false;
            }
        }
        bus.write(regs::MIICOMMAND, 0);
        bus.read(regs::MIIRX_DATA) & regs::MII_BMSR_LINK != 0
    }

    /// Skip (and hand back) received frames with an error or too short to hold an FCS;
    /// true when the next descriptor holds a good frame.
    fn rx_ready(&mut self) -> bool {
        for _ in 0..RX {
            let lf = self.rx.len_flags(self.rx.next);
            if lf & regs::RXD_E != 0 {
                return false;
            }
            let len = (lf >> regs::LEN_SHIFT) as usize;
            if lf & regs::RXD_ERRORS == 0 && len > FCS_LEN && len <= BUF_SIZE {
                return true;
            }
            self.rx.arm_rx(self.rx.next);
            self.rx.advance();
        }
        false
    }

    fn tx_free(&self) -> bool {
        self.tx.len_flags(self.tx.next) & regs::TXD_RD == 0
    }
}

/// The MAC address as the two address registers hold it.
pub fn mac_registers(mac: [u8; 6]) -> (u32, u32) {
    (
        u32::from_be_bytes([mac[2], mac[3], mac[4], mac[5]]),
        u32::from(mac[0]) << 8 | u32::from(mac[1]),
    )
}

impl<B: Bus, const RX: usize, const TX: usize> embassy_net_driver::Driver for OpenEth<B, RX, TX> {
    type RxToken<'a>
        = RxToken<'a, B>
    where
        Self: 'a;
    type TxToken<'a>
        = TxToken<'a, B>
    where
        Self: 'a;

    fn receive(&mut self, cx: &mut Context) -> Option<(RxToken<'_, B>, TxToken<'_, B>)> {
        WAKER.register(cx.waker());
        if self.rx_ready() && self.tx_free() {
            Some((
                RxToken { ring: &mut self.rx },
                TxToken { ring: &mut self.tx },
            ))
        } else {
            None
        }
    }

    fn transmit(&mut self, cx: &mut Context) -> Option<TxToken<'_, B>> {
        WAKER.register(cx.waker());
        self.tx_free().then_some(TxToken { ring: &mut self.tx })
    }

    fn link_state(&mut self, cx: &mut Context) -> LinkState {
        WAKER.register(cx.waker());
        if self.link_up() {
            LinkState::Up
        } else {
            LinkState::Down
        }
    }

    fn capabilities(&self) -> Capabilities {
        let mut caps = Capabilities::default();
        caps.max_transmission_unit = MTU;
        caps.max_burst_size = Some(TX);
        caps
    }

    fn hardware_address(&self) -> HardwareAddress {
        HardwareAddress::Ethernet(self.mac)
    }
}

/// A received frame (without its FCS field); consuming it hands the buffer back.
pub struct RxToken<'a, B: Bus> {
    ring: &'a mut Ring<B>,
}

impl<B: Bus> embassy_net_driver::RxToken for RxToken<'_, B> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, f: F) -> R {
        let i = self.ring.next;
        let len = (self.ring.len_flags(i) >> regs::LEN_SHIFT) as usize - FCS_LEN;
        // The descriptor said "filled": read the frame only after that.
        core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
        let r = self.ring.bus.with_dma(self.ring.buffer(i), len, f);
        self.ring.arm_rx(i);
        self.ring.advance();
        r
    }
}

/// A free transmit buffer; consuming it sends the frame.
pub struct TxToken<'a, B: Bus> {
    ring: &'a mut Ring<B>,
}

impl<B: Bus> embassy_net_driver::TxToken for TxToken<'_, B> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        // embassy-net never asks for more than the MTU it was given.
        let len = len.min(MTU);
        let i = self.ring.next;
        let r = self.ring.bus.with_dma(self.ring.buffer(i), len, f);
        // The frame is in memory before the MAC may read it.
        core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
        self.ring.bus.write(
            self.ring.desc(i),
            (len as u32) << regs::LEN_SHIFT
                | regs::TXD_RD
                | regs::TXD_IRQ
                | regs::TXD_PAD
                | regs::TXD_CRC
                | self.ring.last_tx_flag(i),
        );
        self.ring.advance();
        r
    }
}
