//! Feature `p256-ecdh-rustcrypto` end to end: mutual TLS 1.3 handshakes whose ephemeral key
//! exchange runs through the Rust P-256 driver on both sides (each side: its key share's
//! public value and the shared secret, counted), with data flowing afterwards; and TLS 1.2
//! still working (its ECDHE is mbedTLS's own code without PSA in this configuration).
//! (`cargo test --features p256-ecdh-rustcrypto --test p256_ecdh_tls`; the differential
//! tests against mbedTLS's own code are in mbedtls-verify-sys/tests/p256_ecdh.rs; the
//! OpenSSL interop of this build is `cargo test --features p256-ecdh-rustcrypto --test interop`.)

#[path = "../mbedtls-verify/tests/common/mod.rs"]
mod pki;

use std::io::Read;

use mbedtls_verify::issue::San;
use mbedtls_verify::ssl::{ClientAuth, ClientConfig, Identity, ServerConfig, TlsVersion};
use mbedtls_verify::sys::p256_ecdh::fast_path_calls;
use mbedtls_verify::trust::Trust;
use pki::*;

#[test]
fn tls13_key_exchange_runs_in_rust_on_both_sides() {
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
        let (mut c, mut s, rc, rs) = connect(&server_config, &client_config, "device.local");
        rc.unwrap();
        rs.unwrap();
        assert_eq!(c.version(), Some(v));
        let calls = fast_path_calls().wrapping_sub(before);
        match v {
            // Client: key share public value + shared secret; server: the same.
            TlsVersion::Tls13 => assert_eq!(calls, 4, "{v:?}: {calls} Rust ECDH operations"),
            // The client's ClientHello also offers TLS 1.3, with a key share (its public
            // value: 1); the server picks 1.2, whose ECDHE is mbedTLS's own code without PSA.
            _ => assert_eq!(calls, 1, "{v:?}: {calls} Rust ECDH operations"),
        }
        // Both sides derived the same keys: application data flows both ways.
        c.write_all(b"ping").unwrap();
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ping");
        s.write_all(b"pong").unwrap();
        c.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"pong");
    }
}
