//! An mTLS echo server on ESP-IDF (std, esp-idf-svc) that lets in only its own fleet's
//! devices, running on **ESP-IDF's own mbedTLS**: on `*-espidf` targets
//! `mbedtls-verify-sys` builds no mbedTLS, it compiles its shim against ESP-IDF's.
//!
//! Wi-Fi station (esp-idf-svc), SNTP, then port 8443 with the policy shared with the
//! bare-metal example (`esp32-common`): private root only, `clientAuth`, a device URI in
//! the SAN. Entropy is ESP-IDF's (`esp_fill_random`, the hardware RNG); memory is
//! ESP-IDF's heap (mbedTLS's own allocator setting, CONFIG_MBEDTLS_*_MEM_ALLOC).
//!
//! Time: mbedTLS on ESP-IDF reads the C library's `time()`, which is 1970-something until
//! SNTP sets it — certificates then look "not yet valid" and handshakes fail. The
//! program makes that explicit and identical for the offline checks of this crate: its
//! `platform::set_clock` answers `None` until SNTP reports a completed sync, and the
//! server only starts listening after that.
//!
//! Build-time settings: `SSID`, `PASSWORD` (WPA2-Personal).

use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use esp_idf_svc::eventloop::EspSystemEventLoop;
use esp_idf_svc::hal::peripherals::Peripherals;
use esp_idf_svc::nvs::EspDefaultNvsPartition;
use esp_idf_svc::sntp::{EspSntp, SyncStatus};
use esp_idf_svc::wifi::{AuthMethod, BlockingWifi, ClientConfiguration, Configuration, EspWifi};
use log::{error, info, warn};
use mbedtls_verify::platform;
use mbedtls_verify::ssl::{ServerConfig, Session, StdIo};
use mbedtls_verify::verify::{Verdict, VerifyHook};

const SSID: &str = match option_env!("SSID") {
    Some(s) => s,
    None => "",
};
const PASSWORD: &str = match option_env!("PASSWORD") {
    Some(s) => s,
    None => "",
};

/// How long a client may stay silent during the handshake or between reads.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(20);

/// Set once SNTP has completed a sync; the clock below answers `None` until then. (The
/// SNTP service keeps re-syncing the system time afterwards.)
static CLOCK_SET: AtomicBool = AtomicBool::new(false);

/// The wall clock for `platform::set_clock`: the system time, but only once SNTP has
/// set it (before that, `time()` counts from 1970 and means nothing).
fn sntp_clock() -> Option<i64> {
    if !CLOCK_SET.load(Ordering::Acquire) {
        return None;
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?;
    i64::try_from(now.as_secs()).ok()
}

fn main() -> anyhow_free::Result<()> {
    esp_idf_svc::sys::link_patches();
    esp_idf_svc::log::EspLogger::initialize_default();

    // The clock gate first: until SNTP completes, offline verification says NoClock.
    platform::set_clock(sntp_clock);

    // Parse the credentials (in flash, DER, certificates not copied) before bringing up
    // the network: a bad credential stops here.
    let config = esp32_common::server_config(&esp32_common::DEMO, log_hook())?;
    info!(
        "credentials parsed; ESP-IDF's mbedTLS {:#010x}",
        mbedtls_verify::sys::version_number()
    );

    let peripherals = Peripherals::take()?;
    let sysloop = EspSystemEventLoop::take()?;
    let nvs = EspDefaultNvsPartition::take()?;
    let mut wifi = BlockingWifi::wrap(
        EspWifi::new(peripherals.modem, sysloop.clone(), Some(nvs))?,
        sysloop,
    )?;
    connect_wifi(&mut wifi)?;

    // Kept alive for the rest of the program: it re-syncs the system time periodically.
    let sntp = EspSntp::new_default()?;
    while sntp.get_sync_status() != SyncStatus::Completed {
        info!("waiting for SNTP ...");
        std::thread::sleep(Duration::from_secs(1));
    }
    CLOCK_SET.store(true, Ordering::Release);
    info!("clock set: {:?} (Unix seconds)", sntp_clock());

    let result = serve(&config);
    drop(sntp);
    result
}

fn connect_wifi(wifi: &mut BlockingWifi<EspWifi<'static>>) -> anyhow_free::Result<()> {
    if SSID.is_empty() {
        return Err("built without SSID/PASSWORD (set them when building)".into());
    }
    wifi.set_configuration(&Configuration::Client(ClientConfiguration {
        ssid: SSID.try_into().map_err(|_| "SSID too long")?,
        password: PASSWORD.try_into().map_err(|_| "PASSWORD too long")?,
        auth_method: AuthMethod::WPA2Personal,
        ..Default::default()
    }))?;
    wifi.start()?;
    wifi.connect()?;
    wifi.wait_netif_up()?;
    let ip = wifi.wifi().sta_netif().get_ip_info()?;
    info!("Wi-Fi up, address {}", ip.ip);
    Ok(())
}

/// Log every certificate mbedTLS checks; the decision is the policy's.
fn log_hook() -> VerifyHook {
    VerifyHook::new(|call| {
        info!("verify: {}", esp32_common::describe_call(call));
        Verdict::Accept
    })
}

/// One connection at a time, on this (main) task: its stack is sized for a handshake in
/// sdkconfig.defaults (CONFIG_ESP_MAIN_TASK_STACK_SIZE).
fn serve(config: &ServerConfig) -> anyhow_free::Result<()> {
    let listener = TcpListener::bind(("0.0.0.0", esp32_common::PORT))?;
    info!("mTLS echo server on port {}", esp32_common::PORT);
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                warn!("accept: {e}");
                continue;
            }
        };
        let peer = stream.peer_addr().ok();
        match session(config, stream) {
            Ok(who) => info!("[{peer:?}] closed: {who}"),
            Err(e) => warn!("[{peer:?}] refused or failed: {e}"),
        }
    }
    Ok(())
}

fn session(config: &ServerConfig, stream: TcpStream) -> mbedtls_verify::Result<String> {
    stream.set_read_timeout(Some(CLIENT_TIMEOUT))?;
    stream.set_write_timeout(Some(CLIENT_TIMEOUT))?;
    let mut tls = Session::server(config, StdIo(stream))?;
    tls.handshake()?;
    let who = match tls.verified_peer() {
        Some(peer) => {
            let leaf = peer.leaf();
            let who = format!(
                "{} {}",
                leaf.subject().to_string_lossy(),
                esp32_common::device_uri(&leaf).unwrap_or("-")
            );
            let rule = peer.authorized_by().map_or("-", |r| r.key());
            info!("admitted {who} (by {rule}); {:?}", tls.version());
            who
        }
        None => {
            error!("handshake completed without a verified client");
            return Err(mbedtls_verify::Error::InvalidInput(
                "no verified client".into(),
            ));
        }
    };
    let mut buf = [0u8; 512];
    loop {
        let n = tls.read(&mut buf)?;
        if n == 0 {
            break;
        }
        tls.write_all(&buf[..n])?;
    }
    tls.close()?;
    Ok(who)
}

/// A boxed error, so `?` works across esp-idf-svc's, std's and this crate's errors
/// without another dependency.
mod anyhow_free {
    pub type Result<T> = core::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;
}
