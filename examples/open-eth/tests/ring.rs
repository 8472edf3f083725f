//! The driver against a model of the controller as Espressif's QEMU emulates it: register
//! file, descriptor file (transmit ring below `TX_BD_NUM`, receive ring above), a frame sent
//! when its descriptor is written ready, frames received into the next empty descriptor
//! with a 4-byte FCS field appended, `INT_SOURCE` write-1-to-clear, the PHY at MII address 1.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Wake, Waker};

use embassy_net_driver::{Driver, HardwareAddress, LinkState, RxToken, TxToken};
use open_eth::{BUF_SIZE, Bus, Error, MTU, OpenEth, mac_registers, on_interrupt, regs};

const DMA_BASE: u32 = 0x3FC8_0000;
const MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x10, 0x20, 0x30];

#[derive(Debug)]
struct Model {
    regs: [u32; 0x54 / 4],
    desc: [u32; 256],
    mem: Vec<u8>,
    tx_cur: usize,
    rx_cur: usize,
    sent: Vec<Vec<u8>>,
    link: bool,
    /// How often the interrupt line went from low to high.
    irq_rises: usize,
}

#[derive(Debug)]
/// The model, and the test-wide lock: the driver's waker is one `static` (the interrupt
/// handler is global), so tests that register wakers must not run at the same time — else
/// one test's interrupt wakes another test's task.
struct Device(RefCell<Model>, #[allow(dead_code)] MutexGuard<'static, ()>);

static ONE_DEVICE_AT_A_TIME: Mutex<()> = Mutex::new(());

impl Model {
    fn new(dma_len: usize) -> Self {
        let mut m = Model {
            regs: [0; 0x54 / 4],
            desc: [0; 256],
            mem: vec![0xee; dma_len],
            tx_cur: 0,
            rx_cur: 0,
            sent: Vec::new(),
            link: true,
            irq_rises: 0,
        };
        m.reset();
        m
    }
    fn reset(&mut self) {
        self.regs = [0; 0x54 / 4];
        self.regs[regs::MODER / 4] = 0xa000;
        self.regs[regs::PACKETLEN / 4] = 0x0040_0600;
        self.regs[regs::TX_BD_NUM / 4] = 0x40;
        self.tx_cur = 0;
        self.rx_cur = 0x40;
    }
    fn reg(&self, off: usize) -> u32 {
        self.regs[off / 4]
    }
    fn irq_level(&self) -> bool {
        self.reg(regs::INT_SOURCE) & self.reg(regs::INT_MASK) != 0
    }
    fn raise(&mut self, bits: u32) {
        let before = self.irq_level();
        self.regs[regs::INT_SOURCE / 4] |= bits;
        if !before && self.irq_level() {
            self.irq_rises += 1;
        }
    }
    fn mem_range(&self, addr: u32, len: usize) -> std::ops::Range<usize> {
        let start = (addr - DMA_BASE) as usize;
        assert!(start + len <= self.mem.len(), "DMA outside the region");
        start..start + len
    }
    fn try_send(&mut self) {
        let tx_bd_num = self.reg(regs::TX_BD_NUM) as usize;
        if self.reg(regs::MODER) & regs::MODER_TXEN == 0 || tx_bd_num == 0 {
            return;
        }
        let lf = self.desc[2 * self.tx_cur];
        let len = (lf >> 16) as usize;
        if lf & regs::TXD_RD == 0 || len <= 4 {
            return;
        }
        let range = self.mem_range(self.desc[2 * self.tx_cur + 1], len);
        let mut frame = self.mem[range].to_vec();
        if lf & regs::TXD_PAD != 0 && frame.len() < 64 {
            frame.resize(64, 0);
        }
        self.sent.push(frame);
        self.desc[2 * self.tx_cur] &= !(regs::TXD_RD | regs::TXD_STATUS);
        self.tx_cur = if lf & regs::TXD_WR != 0 || self.tx_cur + 1 >= tx_bd_num {
            0
        } else {
            self.tx_cur + 1
        };
        if lf & regs::TXD_IRQ != 0 {
            self.raise(regs::INT_TXB);
        }
    }
    /// A frame from the network; false if the MAC had no empty descriptor.
    fn deliver(&mut self, frame: &[u8], errors: u32) -> bool {
        assert!(self.reg(regs::MODER) & regs::MODER_RXEN != 0);
        let i = self.rx_cur;
        let lf = self.desc[2 * i];
        if lf & regs::RXD_E == 0 {
            self.raise(regs::INT_BUSY);
            return false;
        }
        let mut data = frame.to_vec();
        data.extend_from_slice(&[0; 4]);
        let range = self.mem_range(self.desc[2 * i + 1], data.len());
        self.mem[range].copy_from_slice(&data);
        self.desc[2 * i] = (lf & !(regs::RXD_E | regs::RXD_ERRORS | 0xffff_0000))
            | errors
            | (data.len() as u32) << 16;
        self.rx_cur = if lf & regs::RXD_WRAP != 0 || i == 127 {
            self.reg(regs::TX_BD_NUM) as usize
        } else {
            i + 1
        };
        if lf & regs::RXD_IRQ != 0 {
            self.raise(regs::INT_RXB);
        }
        true
    }
}

impl Bus for &Device {
    fn read(&self, offset: usize) -> u32 {
        let m = self.0.borrow();
        if offset >= regs::DESC {
            m.desc[(offset - regs::DESC) / 4]
        } else {
            m.regs[offset / 4]
        }
    }

    fn write(&self, offset: usize, value: u32) {
        let mut m = self.0.borrow_mut();
        if offset >= regs::DESC {
            m.desc[(offset - regs::DESC) / 4] = value;
            m.try_send();
            return;
        }
        match offset {
            regs::MODER => {
                let set = value & !m.reg(regs::MODER);
                if set & regs::MODER_RST != 0 {
                    m.reset();
                }
                m.regs[0] = value;
                if set & regs::MODER_RXEN != 0 {
                    m.rx_cur = m.reg(regs::TX_BD_NUM) as usize;
                }
                if set & regs::MODER_TXEN != 0 {
                    m.tx_cur = 0;
                    m.try_send();
                }
            }
            regs::INT_SOURCE => m.regs[regs::INT_SOURCE / 4] &= !value,
            regs::MIICOMMAND => {
                let addr = m.reg(regs::MIIADDRESS);
                if value & regs::MIICOMMAND_RSTAT != 0 {
                    let (phy, reg) = (addr & 0x1f, (addr >> 8) & 0x1f);
                    m.regs[regs::MIIRX_DATA / 4] = if phy != regs::PHY_ADDR {
                        0xffff
                    } else if reg == regs::MII_BMSR {
                        0x7809 | if m.link { regs::MII_BMSR_LINK } else { 0 }
                    } else {
                        0
                    };
                }
                m.regs[regs::MIICOMMAND / 4] = value;
            }
            regs::TX_BD_NUM if value >= 0x80 => {}
            _ => m.regs[offset / 4] = value,
        }
    }

    fn dma_region(&self) -> (u32, usize) {
        (DMA_BASE, self.0.borrow().mem.len())
    }

    fn with_dma<R>(&self, addr: u32, len: usize, f: impl FnOnce(&mut [u8]) -> R) -> R {
        // Copy out and back, so the closure may not hold the model borrowed.
        let range = self.0.borrow().mem_range(addr, len);
        let mut buf = self.0.borrow().mem[range.clone()].to_vec();
        let r = f(&mut buf);
        self.0.borrow_mut().mem[range].copy_from_slice(&buf);
        r
    }
}

struct CountWakes(AtomicUsize);
impl Wake for CountWakes {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn waker() -> (Arc<CountWakes>, Waker) {
    let w = Arc::new(CountWakes(AtomicUsize::new(0)));
    (w.clone(), Waker::from(w))
}

fn device<const RX: usize, const TX: usize>() -> Device {
    // A test that failed while holding the lock poisons it; the next one may still run.
    let serial = ONE_DEVICE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    Device(
        RefCell::new(Model::new(OpenEth::<&Device, RX, TX>::DMA_BYTES)),
        serial,
    )
}

fn frame(n: usize, tag: u8) -> Vec<u8> {
    (0..n).map(|i| tag ^ i as u8).collect()
}

fn send<D: Driver>(drv: &mut D, cx: &mut Context, data: &[u8]) -> bool {
    match drv.transmit(cx) {
        Some(tok) => {
            tok.consume(data.len(), |buf| buf.copy_from_slice(data));
            true
        }
        None => false,
    }
}

fn recv<D: Driver>(drv: &mut D, cx: &mut Context) -> Option<Vec<u8>> {
    let (rx, _tx) = drv.receive(cx)?;
    Some(rx.consume(|buf| buf.to_vec()))
}

#[test]
fn new_programs_mac_rings_and_enables_the_mac() {
    let dev = device::<4, 2>();
    let drv = OpenEth::<_, 4, 2>::new(&dev, MAC).unwrap();
    let m = dev.0.borrow();
    assert_eq!(m.reg(regs::MAC_ADDR0), 0x5e10_2030);
    assert_eq!(m.reg(regs::MAC_ADDR1), 0x0200);
    assert_eq!(mac_registers(MAC), (0x5e10_2030, 0x0200));
    assert_eq!(m.reg(regs::TX_BD_NUM), 2);
    let moder = m.reg(regs::MODER);
    assert_eq!(
        moder & (regs::MODER_TXEN | regs::MODER_RXEN),
        regs::MODER_TXEN | regs::MODER_RXEN
    );
    assert_eq!(
        moder & (regs::MODER_BRO | regs::MODER_PRO),
        0,
        "broadcasts accepted, not promiscuous"
    );
    assert_eq!(m.reg(regs::INT_MASK) & regs::INT_RXB, regs::INT_RXB);
    // Transmit ring: descriptors 0..2, buffers after the four receive buffers, not ready,
    // the last one wraps.
    for i in 0..2 {
        assert_eq!(m.desc[2 * i + 1], DMA_BASE + ((4 + i) * BUF_SIZE) as u32);
        assert_eq!(m.desc[2 * i] & regs::TXD_RD, 0);
    }
    assert_eq!(m.desc[2] & regs::TXD_WR, regs::TXD_WR);
    assert_eq!(m.desc[0] & regs::TXD_WR, 0);
    // Receive ring: descriptors 2..6, empty, interrupting, the last one wraps.
    for i in 0..4 {
        let d = 2 + i;
        assert_eq!(m.desc[2 * d + 1], DMA_BASE + (i * BUF_SIZE) as u32);
        assert_eq!(
            m.desc[2 * d] & (regs::RXD_E | regs::RXD_IRQ),
            regs::RXD_E | regs::RXD_IRQ
        );
        assert_eq!(m.desc[2 * d] & regs::RXD_WRAP != 0, i == 3);
    }
    assert_eq!(
        m.rx_cur, 2,
        "RXEN made the MAC start at the first receive descriptor"
    );
    assert_eq!(drv.hardware_address(), HardwareAddress::Ethernet(MAC));
    assert_eq!(drv.capabilities().max_transmission_unit, MTU);
}

#[test]
fn bad_layouts_are_refused() {
    let dev = device::<4, 2>();
    assert_eq!(
        OpenEth::<_, 0, 2>::new(&dev, MAC).unwrap_err(),
        Error::Rings
    );
    assert_eq!(
        OpenEth::<_, 120, 8>::new(&dev, MAC).unwrap_err(),
        Error::DmaRegion
    );
    assert_eq!(
        OpenEth::<_, 120, 9>::new(&dev, MAC).unwrap_err(),
        Error::Rings
    );
    assert_eq!(
        OpenEth::<_, 4, 3>::new(&dev, MAC).unwrap_err(),
        Error::DmaRegion
    );
}

#[test]
fn frames_are_sent_in_order_around_the_ring() {
    let dev = device::<2, 3>();
    let mut drv = OpenEth::<_, 2, 3>::new(&dev, MAC).unwrap();
    let (_, w) = waker();
    let mut cx = Context::from_waker(&w);
    let frames: Vec<Vec<u8>> = (0..7).map(|k| frame(60 + 100 * k, k as u8)).collect();
    for f in &frames {
        assert!(send(&mut drv, &mut cx, f));
    }
    // Short frames are padded to 64 by the MAC (TXD_PAD); the data is intact.
    let m = dev.0.borrow();
    assert_eq!(m.sent.len(), 7);
    for (sent, f) in m.sent.iter().zip(&frames) {
        assert_eq!(&sent[..f.len()], &f[..]);
        assert!(sent[f.len()..].iter().all(|&b| b == 0));
    }
    assert_eq!(m.tx_cur, 7 % 3);
}

#[test]
fn a_full_transmit_ring_gives_no_token_until_the_mac_sends() {
    let dev = device::<2, 2>();
    let mut drv = OpenEth::<_, 2, 2>::new(&dev, MAC).unwrap();
    let (_, w) = waker();
    let mut cx = Context::from_waker(&w);
    // The MAC stops transmitting: descriptors stay ready.
    {
        let mut m = dev.0.borrow_mut();
        m.regs[0] &= !regs::MODER_TXEN;
    }
    assert!(send(&mut drv, &mut cx, &frame(100, 1)));
    assert!(send(&mut drv, &mut cx, &frame(100, 2)));
    assert!(
        drv.transmit(&mut cx).is_none(),
        "both descriptors owned by the MAC"
    );
    assert!(dev.0.borrow().sent.is_empty());
    // The MAC runs again and sends both; the ring has room again.
    (&dev).write(
        regs::MODER,
        regs::MODER_PAD | regs::MODER_CRCEN | regs::MODER_TXEN | regs::MODER_RXEN,
    );
    (&dev).write(regs::DESC + 4, DMA_BASE + (2 * BUF_SIZE) as u32); // any descriptor write
    assert_eq!(dev.0.borrow().sent.len(), 2);
    assert!(send(&mut drv, &mut cx, &frame(100, 3)));
    assert_eq!(dev.0.borrow().sent[2][..100], frame(100, 3)[..]);
}

#[test]
fn received_frames_come_without_fcs_and_descriptors_are_rearmed() {
    let dev = device::<3, 1>();
    let mut drv = OpenEth::<_, 3, 1>::new(&dev, MAC).unwrap();
    let (_, w) = waker();
    let mut cx = Context::from_waker(&w);
    assert!(recv(&mut drv, &mut cx).is_none());
    for round in 0..4u8 {
        let frames: Vec<Vec<u8>> = (0..3)
            .map(|k| frame(60 + 500 * k, round * 3 + k as u8))
            .collect();
        for f in &frames {
            assert!(dev.0.borrow_mut().deliver(f, 0));
        }
        // All three descriptors are full: a fourth frame finds none (BUSY).
        assert!(!dev.0.borrow_mut().deliver(&frame(80, 0xaa), 0));
        assert_ne!(dev.0.borrow().reg(regs::INT_SOURCE) & regs::INT_BUSY, 0);
        for f in &frames {
            assert_eq!(recv(&mut drv, &mut cx).as_deref(), Some(&f[..]));
        }
        assert!(recv(&mut drv, &mut cx).is_none());
        on_interrupt(&dev);
    }
}

#[test]
fn a_full_size_frame_fits() {
    let dev = device::<2, 1>();
    let mut drv = OpenEth::<_, 2, 1>::new(&dev, MAC).unwrap();
    let (_, w) = waker();
    let mut cx = Context::from_waker(&w);
    let big = frame(MTU, 7);
    assert!(dev.0.borrow_mut().deliver(&big, 0));
    assert_eq!(recv(&mut drv, &mut cx), Some(big.clone()));
    assert!(send(&mut drv, &mut cx, &big));
    assert_eq!(dev.0.borrow().sent[0], big);
}

#[test]
fn frames_with_receive_errors_are_dropped() {
    let dev = device::<4, 1>();
    let mut drv = OpenEth::<_, 4, 1>::new(&dev, MAC).unwrap();
    let (_, w) = waker();
    let mut cx = Context::from_waker(&w);
    let good = frame(90, 9);
    {
        let mut m = dev.0.borrow_mut();
        assert!(m.deliver(&frame(90, 1), 1 << 1)); // CRC error
        assert!(m.deliver(&frame(90, 2), 1 << 6)); // overrun
        assert!(m.deliver(&good, 0));
    }
    assert_eq!(recv(&mut drv, &mut cx), Some(good));
    assert!(recv(&mut drv, &mut cx).is_none());
    // All four descriptors are the MAC's again.
    let m = dev.0.borrow();
    assert!((1..5).all(|d| m.desc[2 * d] & regs::RXD_E != 0));
}

#[test]
fn the_interrupt_acknowledges_and_wakes() {
    let dev = device::<2, 1>();
    let mut drv = OpenEth::<_, 2, 1>::new(&dev, MAC).unwrap();
    let (count, w) = waker();
    let mut cx = Context::from_waker(&w);
    assert!(recv(&mut drv, &mut cx).is_none()); // registers the waker
    assert!(dev.0.borrow_mut().deliver(&frame(70, 3), 0));
    assert!(
        dev.0.borrow().irq_level(),
        "a received frame raises the line"
    );
    assert_eq!(dev.0.borrow().irq_rises, 1);
    assert_eq!(on_interrupt(&dev) & regs::INT_RXB, regs::INT_RXB);
    assert!(!dev.0.borrow().irq_level(), "acknowledged");
    assert_eq!(count.0.load(Ordering::SeqCst), 1);
    assert!(recv(&mut drv, &mut cx).is_some());
}

#[test]
fn link_state_follows_the_phy() {
    let dev = device::<2, 1>();
    let mut drv = OpenEth::<_, 2, 1>::new(&dev, MAC).unwrap();
    let (_, w) = waker();
    let mut cx = Context::from_waker(&w);
    assert!(drv.link_state(&mut cx) == LinkState::Up);
    dev.0.borrow_mut().link = false;
    assert!(drv.link_state(&mut cx) == LinkState::Down);
    assert_eq!(
        dev.0.borrow().reg(regs::MIIADDRESS),
        (regs::MII_BMSR << 8) | regs::PHY_ADDR
    );
}
