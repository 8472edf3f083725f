//! Feature `p256-verify-rustcrypto` end to end: mutual TLS 1.3 and 1.2 handshakes whose
//! signatures (both chains, both CertificateVerify messages) mbedTLS checks through the
//! Rust P-256 verify, counted; and a forged chain still fails.
//! (`cargo test --features p256-verify-rustcrypto --test p256_verify_tls`; the differential
//! tests against mbedTLS's own verify are in mbedtls-verify-sys/tests/p256_verify.rs.)

#[path = "../mbedtls-verify/tests/common/mod.rs"]
mod pki;

use mbedtls_verify::issue::San;
use mbedtls_verify::ssl::{ClientAuth, ClientConfig, Identity, ServerConfig, TlsVersion};
use mbedtls_verify::sys::p256_verify::fast_path_calls;
use mbedtls_verify::trust::Trust;
use pki::*;

#[test]
fn mutual_handshakes_verify_every_signature_in_rust() {
    let root = root("Root");
    let issuing = sub_ca(&root, "Issuing");
    let server = server_leaf(&issuing, "device.local");
    let dev = client_leaf(
        &issuing,
        "device-1",
        vec![San::Uri("spiffe://fleet.example/device/1".into())],
    );
    let id = |l: &Leaf| Identity::new(chain(&l.cert, &[&issuing]), key_copy(&l.key)).unwrap();
    for v in [TlsVersion::Tls13, TlsVersion::Tls12] {
        let server_config = ServerConfig::builder()
            .identity(id(&server))
            .client_auth(ClientAuth::Required)
            .trust(Trust::anchors(root.cert.clone()).unwrap())
            .versions(v, v)
            .build()
            .unwrap();
        let client_config = ClientConfig::builder()
            .trust(Trust::anchors(root.cert.clone()).unwrap())
            .identity(id(&dev))
            .build()
            .unwrap();
        let before = fast_path_calls();
        let (c, s, rc, rs) = connect(&server_config, &client_config, "device.local");
        rc.unwrap();
        rs.unwrap();
        assert!(c.verified_peer().is_some() && s.verified_peer().is_some());
        // Each side: the peer's leaf and issuing CA (2 signatures) and the peer's
        // CertificateVerify (TLS 1.3) or ServerKeyExchange / CertificateVerify (TLS 1.2).
        let calls = fast_path_calls().wrapping_sub(before);
        assert!(
            calls >= 6,
            "{v:?}: only {calls} verifications reached the Rust path"
        );
    }
}

#[test]
fn a_client_chain_signed_by_the_wrong_key_still_fails() {
    let root = root("Root");
    let issuing = sub_ca(&root, "Issuing");
    let impostor = sub_ca(&root, "Issuing"); // same name, other key, not sent
    let server = server_leaf(&issuing, "device.local");
    let forged = client_leaf(&impostor, "device-1", vec![]);
    let server_config = ServerConfig::builder()
        .identity(Identity::new(chain(&server.cert, &[&issuing]), key_copy(&server.key)).unwrap())
        .client_auth(ClientAuth::Required)
        .trust(Trust::anchors(root.cert.clone()).unwrap())
        .build()
        .unwrap();
    let client_config = ClientConfig::builder()
        .trust(Trust::anchors(root.cert.clone()).unwrap())
        .identity(Identity::new(chain(&forged.cert, &[&issuing]), key_copy(&forged.key)).unwrap())
        .build()
        .unwrap();
    let before = fast_path_calls();
    let (_c, s, _rc, rs) = connect(&server_config, &client_config, "device.local");
    assert!(rs.is_err(), "a forged client chain was accepted");
    assert!(s.verified_peer().is_none());
    assert!(fast_path_calls() > before);
}
