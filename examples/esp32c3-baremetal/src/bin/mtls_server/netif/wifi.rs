//! Wi-Fi (esp-radio, WPA2-Personal station), DHCP, then the clock over SNTP.
//!
//! Build-time settings: `SSID`, `PASSWORD`, `SNTP_SERVER` (default `pool.ntp.org`).

use embassy_executor::Spawner;
use embassy_net::{Runner, Stack, StackResources};
use embassy_time::{Duration, Timer};
use esp_hal::peripherals::WIFI;
use esp_radio::wifi::sta::StationConfig;
use esp_radio::wifi::{AuthenticationMethodConfig, Config, Interface, WifiController};
use log::{info, warn};
use static_cell::StaticCell;

use esp32c3_mtls_baremetal::{clock, halt, sntp};

const SSID: &str = match option_env!("SSID") {
    Some(s) => s,
    None => "",
};
const PASSWORD: &str = match option_env!("PASSWORD") {
    Some(s) => s,
    None => "",
};
const SNTP_SERVER: &str = match option_env!("SNTP_SERVER") {
    Some(s) => s,
    None => "pool.ntp.org",
};

/// How often the clock is refreshed from SNTP once set.
const RESYNC_EVERY: Duration = Duration::from_secs(6 * 3600);

/// Join the network, get an address, set the clock. Needs esp-rtos started.
pub async fn bring_up(spawner: Spawner, radio: WIFI<'static>, seed: u64) -> Stack<'static> {
    if SSID.is_empty() {
        halt("built without SSID/PASSWORD (set them in the environment when building)");
    }
    let mut controller = match WifiController::new(radio, Default::default()) {
        Ok(c) => c,
        Err(e) => halt(&alloc::format!("Wi-Fi init: {e:?}")),
    };
    let station = match (SSID.try_into(), PASSWORD.try_into()) {
        (Ok(ssid), Ok(password)) => StationConfig::default()
            .with_ssid(ssid)
            .with_authentication(AuthenticationMethodConfig::Wpa2Personal(password)),
        _ => halt("SSID or PASSWORD too long"),
    };
    if let Err(e) = controller.set_config(&Config::Station(station)) {
        halt(&alloc::format!("Wi-Fi config: {e:?}"));
    }

    static RESOURCES: StaticCell<StackResources<4>> = StaticCell::new();
    let (stack, runner) = embassy_net::new(
        Interface::station(),
        embassy_net::Config::dhcpv4(Default::default()),
        RESOURCES.init(StackResources::new()),
        seed,
    );
    spawner.spawn(wifi_task(controller).expect("wifi task"));
    spawner.spawn(net_task(runner).expect("net task"));

    stack.wait_config_up().await;
    if let Some(cfg) = stack.config_v4() {
        info!("address {}", cfg.address);
    }

    // The clock, before any certificate is looked at.
    loop {
        match sntp::query(stack, SNTP_SERVER, Duration::from_secs(5)).await {
            Ok(t) => match clock::set(t) {
                Ok(()) => break,
                Err(e) => warn!("SNTP time {t} refused: {e:?}"),
            },
            Err(e) => warn!("SNTP ({SNTP_SERVER}): {e:?}; retrying"),
        }
        Timer::after(Duration::from_secs(5)).await;
    }
    spawner.spawn(resync_task(stack).expect("resync task"));
    stack
}

#[embassy_executor::task]
async fn wifi_task(mut controller: WifiController<'static>) {
    loop {
        match controller.connect_async().await {
            Ok(info) => {
                info!("Wi-Fi connected to {}", info.ssid.as_str());
                let _ = controller.wait_for_disconnect_async().await;
                warn!("Wi-Fi disconnected");
            }
            Err(e) => warn!("Wi-Fi connect: {e:?}"),
        }
        Timer::after(Duration::from_secs(5)).await;
    }
}

#[embassy_executor::task]
async fn net_task(mut runner: Runner<'static, Interface>) -> ! {
    runner.run().await
}

/// Keep the clock close to real time; a failed refresh keeps the running clock.
#[embassy_executor::task]
async fn resync_task(stack: Stack<'static>) {
    loop {
        Timer::after(RESYNC_EVERY).await;
        match sntp::query(stack, SNTP_SERVER, Duration::from_secs(5)).await {
            Ok(t) => {
                if let Err(e) = clock::set(t) {
                    warn!("SNTP time {t} refused: {e:?}");
                }
            }
            Err(e) => warn!("SNTP refresh: {e:?}"),
        }
    }
}
