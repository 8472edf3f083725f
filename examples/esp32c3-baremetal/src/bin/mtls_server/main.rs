//! An mTLS echo server on an ESP32-C3 that lets in only its own fleet's devices.
//!
//! The network first (`netif`, chosen at build time: Wi-Fi + DHCP + SNTP on hardware, the
//! emulator's Ethernet MAC at 10.0.2.15 with the clock from the build time under QEMU),
//! then port 8443: every client must present a certificate that chains to the fleet's
//! private root, lists `clientAuth`, and names a device
//! (`spiffe://fleet.example/device/...`) in its SAN — the policy in `esp32-common`. The
//! TLS session is `mbedtls_verify`'s `AsyncSession` over an embassy-net TCP socket;
//! mbedTLS's randomness comes from the TRNG, its memory from a budgeted share of
//! esp-alloc's heap, its time from the clock `netif` set (nothing is accepted before
//! that: certificate checks fail closed).
//!
//! Build-time settings (Wi-Fi): `SSID`, `PASSWORD` (WPA2-Personal), `SNTP_SERVER`
//! (default `pool.ntp.org`).
#![no_std]
#![no_main]

extern crate alloc;

use alloc::string::{String, ToString};

use embassy_executor::Spawner;
use embassy_net::Stack;
use embassy_net::tcp::TcpSocket;
use embassy_time::{Duration, Instant, with_timeout};
use esp_backtrace as _;
use esp_hal::clock::CpuClock;
use esp_hal::timer::timg::TimerGroup;
use log::{error, info, warn};
use mbedtls_verify::platform;
use mbedtls_verify::ssl::ServerConfig;
use mbedtls_verify::ssl::asynch::AsyncSession;
use mbedtls_verify::verify::{Verdict, VerifyHook};

use esp32c3_mtls_baremetal::{clock, entropy, halt, heap};

mod netif;

esp_bootloader_esp_idf::esp_app_desc!();

/// How long a client may take for the handshake and each read before it is dropped.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(20);

#[esp_rtos::main]
async fn main(spawner: Spawner) -> ! {
    esp_println::logger::init_logger_from_env();
    let peripherals = esp_hal::init(esp_hal::Config::default().with_cpu_clock(CpuClock::max()));

    // 1. Memory: the heap, then mbedTLS's allocator, before mbedTLS allocates anything.
    heap::init();
    if heap::install_mbedtls_allocator().is_err() {
        halt("cannot install mbedTLS's allocator");
    }
    // 2. Entropy: the TRNG (ADC source kept on), and nothing else.
    entropy::start(peripherals.RNG, peripherals.ADC1);
    platform::set_entropy_source(entropy::fill);
    // 3. Time: unknown (certificate checks fail closed) until `netif` sets it.
    platform::set_clock(clock::now);

    // The configuration, parsed once from flash; a bad credential stops here, before any
    // network activity.
    let config = match esp32_common::server_config(&esp32_common::DEMO, verify_log_hook()) {
        Ok(c) => c,
        Err(e) => {
            error!("server configuration: {e}");
            halt("no usable credentials")
        }
    };
    info!(
        "credentials parsed; heap free {} B, mbedTLS holds {} B",
        heap::free(),
        heap::mbedtls_use().0
    );

    // The scheduler (esp-radio's threads and the embassy executor), then the network and
    // the clock.
    let timg0 = TimerGroup::new(peripherals.TIMG0);
    esp_rtos::start(timg0.timer0, peripherals.FROM_CPU_INTR0);
    let seed = entropy::u64().unwrap_or_else(|| halt("no entropy for the network stack"));
    let stack = netif::bring_up(spawner, peripherals.WIFI, seed).await;
    info!("clock set: {} (Unix seconds)", clock::now().unwrap_or(0));

    serve(stack, &config).await
}

/// Log every certificate mbedTLS checks; the decision is the policy's.
fn verify_log_hook() -> VerifyHook {
    VerifyHook::new(|call| {
        info!("verify: {}", esp32_common::describe_call(call));
        Verdict::Accept
    })
}

/// Accept connections on the mTLS port, one at a time.
async fn serve(stack: Stack<'static>, config: &ServerConfig) -> ! {
    let mut rx = [0u8; 2048];
    let mut tx = [0u8; 2048];
    info!("mTLS echo server on port {}", esp32_common::PORT);
    loop {
        let mut socket = TcpSocket::new(stack, &mut rx, &mut tx);
        socket.set_timeout(Some(CLIENT_TIMEOUT));
        if let Err(e) = socket.accept(esp32_common::PORT).await {
            warn!("accept: {e:?}");
            continue;
        }
        let peer = socket.remote_endpoint();
        heap::restart_peak();
        match with_timeout(CLIENT_TIMEOUT * 3, session(config, &mut socket)).await {
            Ok(Ok(who)) => info!("[{peer:?}] closed: {who}"),
            Ok(Err(e)) => warn!("[{peer:?}] refused or failed: {e}"),
            Err(_) => warn!("[{peer:?}] too slow; dropped"),
        }
        let (now, peak, refused) = heap::mbedtls_use();
        info!(
            "mbedTLS heap: {now} B now, {peak} B peak, {refused} refused; free {} B",
            heap::free()
        );
        socket.close();
        let _ = with_timeout(Duration::from_secs(2), socket.flush()).await;
        socket.abort();
    }
}

/// One connection: handshake (verification + policy inside), then echo until the client
/// closes. Returns who it was.
async fn session(
    config: &ServerConfig,
    socket: &mut TcpSocket<'_>,
) -> mbedtls_verify::Result<String> {
    // embassy-net's socket implements embedded-io-async 0.7 itself: no adapter.
    let mut tls = AsyncSession::server(config, socket)?;
    let start = Instant::now();
    let handshake = tls.handshake().await;
    info!(
        "handshake: {} us, {}",
        start.elapsed().as_micros(),
        if handshake.is_ok() {
            "completed"
        } else {
            "failed"
        }
    );
    handshake?;
    let who = match tls.verified_peer() {
        Some(peer) => {
            let leaf = peer.leaf();
            let who = alloc::format!(
                "{} {}",
                leaf.subject().to_string_lossy(),
                esp32_common::device_uri(&leaf).unwrap_or("-")
            );
            let rule = peer.authorized_by().map_or("-", |r| r.key());
            info!("admitted {who} (by {rule})");
            who
        }
        // A completed handshake without a verified peer cannot happen with
        // ClientAuth::Required; refuse rather than assume.
        None => {
            return Err(mbedtls_verify::Error::InvalidInput(
                "no verified client".to_string(),
            ));
        }
    };
    let mut buf = [0u8; 512];
    loop {
        let n = tls.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        tls.write_all(&buf[..n]).await?;
    }
    tls.close().await?;
    Ok(who)
}
