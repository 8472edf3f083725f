//! The network under `mtls-server`, chosen at build time:
//! - feature `wifi` ([`wifi`]): esp-radio as a station, DHCP, the clock from SNTP (and
//!   re-synced every 6 hours) — the hardware build;
//! - feature `emulator` ([`emulated`]): the OpenCores Ethernet MAC that Espressif's QEMU
//!   gives its emulated ESP32-C3 (no radio there), QEMU's user network at the static
//!   10.0.2.15, the clock from the firmware's build time.
//!
//! Either way [`bring_up`] returns a configured stack with the clock set: the server
//! listens only once certificate checks can pass (until then they fail closed).

#[cfg(all(feature = "wifi", feature = "emulator"))]
compile_error!("features `wifi` and `emulator` select different network devices: pick one");

#[cfg(feature = "emulator")]
pub mod emulated;
#[cfg(feature = "wifi")]
pub mod wifi;

#[cfg(feature = "emulator")]
pub use emulated::bring_up;
#[cfg(feature = "wifi")]
pub use wifi::bring_up;
