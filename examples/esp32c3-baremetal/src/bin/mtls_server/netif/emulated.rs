//! The emulated ESP32-C3 of Espressif's QEMU: its OpenCores Ethernet MAC (`open_eth`,
//! started with `-nic user,model=open_eth,restrict=on,...`), QEMU's user network at the
//! static 10.0.2.15/24, and the clock from the firmware's build time.
//!
//! The emulator has no radio and no reachable time server (its network is isolated), so
//! the clock is set to when the firmware was built: certificates are checked against that
//! instant, expiry included. A firmware for hardware must not do this (use `wifi`).

use core::cell::Cell;

use critical_section::Mutex;
use embassy_executor::Spawner;
use embassy_net::{Ipv4Address, Ipv4Cidr, Runner, Stack, StackResources, StaticConfigV4};
use esp_hal::handler;
use esp_hal::interrupt;
use esp_hal::peripherals::{Interrupt, WIFI};
use log::info;
use open_eth::OpenEth;
use open_eth::mmio::{ESP32C3_BASE, Mmio};
use static_cell::{ConstStaticCell, StaticCell};

use esp32c3_mtls_baremetal::{BUILD_UNIX_TIME, clock, halt};

const RX_DESCRIPTORS: usize = 4;
const TX_DESCRIPTORS: usize = 4;
type Device = OpenEth<Mmio, RX_DESCRIPTORS, TX_DESCRIPTORS>;

/// A locally administered address (QEMU's user network learns it from the first frame).
const MAC: [u8; 6] = [0x02, 0x00, 0x00, 0xc3, 0x00, 0x01];
/// QEMU's user network: the guest's usual address, its gateway.
const ADDRESS: Ipv4Address = Ipv4Address::new(10, 0, 2, 15);
const GATEWAY: Ipv4Address = Ipv4Address::new(10, 0, 2, 2);

/// The buffers the MAC reads and writes, in internal DRAM (`.bss`).
static DMA: ConstStaticCell<[u8; Device::DMA_BYTES]> = ConstStaticCell::new([0; Device::DMA_BYTES]);
/// The controller, for the interrupt handler.
static BUS: Mutex<Cell<Option<Mmio>>> = Mutex::new(Cell::new(None));

/// The MAC's interrupt (source 0, shared with the Wi-Fi MAC the emulator does not have):
/// acknowledge and wake the network stack.
#[handler]
fn open_eth_interrupt() {
    if let Some(bus) = critical_section::with(|cs| BUS.borrow(cs).get()) {
        open_eth::on_interrupt(bus);
    }
}

/// Start the MAC, the stack at 10.0.2.15, and set the clock to the build time.
/// `radio` is taken only to own the interrupt source the MAC shares with it.
pub async fn bring_up(spawner: Spawner, radio: WIFI<'static>, seed: u64) -> Stack<'static> {
    let _ = radio;
    // SAFETY: 0x600CD000 is where the emulated C3 maps the OpenCores MAC, which nothing
    // else in this firmware touches; SRAM bus and CPU addresses are the same on the C3.
    let bus = unsafe { Mmio::new(ESP32C3_BASE, DMA.take()) };
    let device = match Device::new(bus, MAC) {
        Ok(d) => d,
        Err(e) => halt(&alloc::format!("open_eth: {e:?}")),
    };
    critical_section::with(|cs| BUS.borrow(cs).set(Some(bus)));
    interrupt::bind_handler(Interrupt::WIFI_MAC, open_eth_interrupt);

    static RESOURCES: StaticCell<StackResources<4>> = StaticCell::new();
    let config = embassy_net::Config::ipv4_static(StaticConfigV4 {
        address: Ipv4Cidr::new(ADDRESS, 24),
        gateway: Some(GATEWAY),
        dns_servers: Default::default(),
    });
    let (stack, runner) =
        embassy_net::new(device, config, RESOURCES.init(StackResources::new()), seed);
    spawner.spawn(net_task(runner).expect("net task"));
    stack.wait_config_up().await;
    info!("open_eth up, address {ADDRESS}");

    if let Err(e) = clock::set(BUILD_UNIX_TIME) {
        halt(&alloc::format!("clock: {e:?}"));
    }
    stack
}

#[embassy_executor::task]
async fn net_task(mut runner: Runner<'static, Device>) -> ! {
    runner.run().await
}
