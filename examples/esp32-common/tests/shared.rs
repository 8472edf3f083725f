//! Host tests of what the ESP32 examples share: the demo credentials, the policy, the
//! server configuration and the offline verifier, run against the host build of
//! mbedTLS (the same sources the bare-metal build compiles; not ESP-IDF's copy).
//! They show the shared code decides as the firmware expects; they do not test any
//! firmware, which nothing here can run.

use esp32_common::{DEMO, samples};
use mbedtls_verify::policy::AllowRule;
use mbedtls_verify::ssl::mem::{memory_pair, run_handshakes};
use mbedtls_verify::ssl::{ClientConfig, Identity, Session};
use mbedtls_verify::verifier::ValidationTime;
use mbedtls_verify::verify::{Verdict, VerifyFlags, VerifyHook};
use mbedtls_verify::{Error, Reason};

const HOST_DEVICE_CHAIN: &[u8] = include_bytes!("../credentials/host/device-17.crt");
const HOST_DEVICE_KEY: &[u8] = include_bytes!("../credentials/host/device-17.key");
const HOST_LAPTOP_CHAIN: &[u8] = include_bytes!("../credentials/host/laptop-3.crt");
const HOST_LAPTOP_KEY: &[u8] = include_bytes!("../credentials/host/laptop-3.key");

#[test]
fn policy_admits_devices_only() {
    let policy = esp32_common::client_policy().unwrap();
    assert_eq!(policy.allow_rule_count(), 1);
}

#[test]
fn offline_verifier_admits_a_fleet_device() {
    let v = esp32_common::offline_verifier(&DEMO).unwrap();
    let chain = esp32_common::client_chain(samples::DEVICE_17, &DEMO).unwrap();
    let ok = v.verify(&chain).expect("device-17 is admitted");
    assert_eq!(ok.authorized_by(), Some(AllowRule::UriPrefix(0)));
    assert!(ok.time_checked());
    assert_eq!(
        esp32_common::device_uri(&ok.leaf()),
        Some("spiffe://fleet.example/device/17")
    );
}

#[test]
fn offline_verifier_refuses_a_laptop_of_the_same_ca() {
    let v = esp32_common::offline_verifier(&DEMO).unwrap();
    let chain = esp32_common::client_chain(samples::LAPTOP_3, &DEMO).unwrap();
    let err = v.verify(&chain).expect_err("laptop-3 is not a device");
    assert!(err.flags.is_empty(), "{err}");
    assert!(
        err.reasons.iter().any(|r| matches!(r, Reason::Policy(_))),
        "{err}"
    );
}

#[test]
fn offline_verifier_refuses_another_ca() {
    let v = esp32_common::offline_verifier(&DEMO).unwrap();
    let chain = esp32_common::client_chain(samples::FOREIGN_DEVICE, &DEMO).unwrap();
    let err = v.verify(&chain).expect_err("another CA's device");
    assert!(err.flags.contains(VerifyFlags::NOT_TRUSTED), "{err}");
}

#[test]
fn offline_verifier_refuses_the_server_certificate_as_a_client() {
    // The CA issued it, but for serverAuth: the policy requires clientAuth.
    let v = esp32_common::offline_verifier(&DEMO).unwrap();
    let chain = esp32_common::client_chain(DEMO.server_cert, &DEMO).unwrap();
    let err = v.verify(&chain).expect_err("serverAuth only");
    assert!(
        err.reasons.iter().any(|r| matches!(r, Reason::Policy(_))),
        "{err}"
    );
}

#[test]
fn offline_verifier_checks_validity_dates() {
    // Before the CA existed (2001-09-09): not yet valid.
    let v = esp32_common::offline_verifier(&DEMO)
        .unwrap()
        .at_time(ValidationTime::At(1_000_000_000));
    let chain = esp32_common::client_chain(samples::DEVICE_17, &DEMO).unwrap();
    let err = v.verify(&chain).expect_err("not yet valid");
    assert!(err.flags.contains(VerifyFlags::FUTURE), "{err}");
}

fn client_config(chain: &[u8], key: &[u8]) -> ClientConfig {
    ClientConfig::builder()
        .identity(Identity::from_pem(chain, key).unwrap())
        .trust(esp32_common::trust(&esp32_common::DEMO).unwrap())
        .build()
        .unwrap()
}

fn handshake(
    client: &ClientConfig,
) -> (
    mbedtls_verify::Result<()>,
    Session<mbedtls_verify::ssl::mem::MemoryTransport>,
) {
    let hook = VerifyHook::new(|call| {
        let line = esp32_common::describe_call(call);
        assert!(line.starts_with("depth "), "{line}");
        Verdict::Accept
    });
    let server_cfg = esp32_common::server_config(&DEMO, hook).unwrap();
    let (c_io, s_io) = memory_pair();
    let mut c = Session::client(client, esp32_common::SERVER_NAME, c_io).unwrap();
    let mut s = Session::server(&server_cfg, s_io).unwrap();
    let (_c, s_res) = run_handshakes(&mut c, &mut s);
    (s_res, s)
}

#[test]
fn server_config_admits_a_device_over_tls() {
    let (res, server) = handshake(&client_config(HOST_DEVICE_CHAIN, HOST_DEVICE_KEY));
    res.expect("device-17 completes the handshake");
    let peer = server.verified_peer().expect("verified and authorized");
    assert_eq!(peer.authorized_by(), Some(AllowRule::UriPrefix(0)));
}

#[test]
fn server_config_refuses_a_laptop_over_tls() {
    let (res, server) = handshake(&client_config(HOST_LAPTOP_CHAIN, HOST_LAPTOP_KEY));
    assert!(
        matches!(res, Err(Error::Tls(_) | Error::Verify(_))),
        "{res:?}"
    );
    assert!(server.verified_peer().is_none());
}
