//! TLS sessions end to end, in memory: TLS 1.2 and 1.3 mutual authentication, client
//! authentication modes, the hook and the policy in the handshake (also in "optional"
//! mode), server names, SNI, ALPN, and hostile input.

#[path = "../mbedtls-verify/tests/common/mod.rs"]
mod pki;

use mbedtls_verify::issue::{CertificateBuilder, San};
use mbedtls_verify::policy::ClientPolicy;
use mbedtls_verify::ssl::mem::{MemoryTransport, memory_pair, run_handshakes};
use mbedtls_verify::ssl::{ClientAuth, ClientConfig, Identity, ServerConfig, Session, TlsVersion};
use mbedtls_verify::trust::Trust;
use mbedtls_verify::verifier::Verifier;
use mbedtls_verify::verify::{Role, Verdict, VerifyFlags, VerifyHook};
use mbedtls_verify::x509::{CertChain, ExtendedKeyUsage};
use mbedtls_verify::{Error, Reason, danger};
use pki::*;

struct Fleet {
    root: Ca,
    issuing: Ca,
    server: Leaf,
}

fn fleet() -> Fleet {
    let root = root("Fleet Root");
    let issuing = sub_ca(&root, "Fleet Issuing");
    let server = server_leaf(&issuing, "device.local");
    Fleet {
        root,
        issuing,
        server,
    }
}

fn identity(leaf: &Leaf, cas: &[&Ca]) -> Identity {
    Identity::new(chain(&leaf.cert, cas), key_copy(&leaf.key)).unwrap()
}

fn server_config(f: &Fleet, auth: ClientAuth) -> mbedtls_verify::ssl::ServerConfigBuilder {
    ServerConfig::builder()
        .identity(identity(&f.server, &[&f.issuing]))
        .client_auth(auth)
        .trust(Trust::anchors(f.root.cert.clone()).unwrap())
}

fn client_config(f: &Fleet, id: Option<&Leaf>) -> mbedtls_verify::ssl::ClientConfigBuilder {
    let b = ClientConfig::builder().trust(Trust::anchors(f.root.cert.clone()).unwrap());
    match id {
        Some(l) => b.identity(identity(l, &[&f.issuing])),
        None => b,
    }
}

fn exchange(c: &mut Session<MemoryTransport>, s: &mut Session<MemoryTransport>) {
    c.write_all(b"ping").unwrap();
    let mut buf = [0u8; 4];
    assert_eq!(s.read(&mut buf).unwrap(), 4);
    assert_eq!(&buf, b"ping");
    s.write_all(b"pong").unwrap();
    assert_eq!(c.read(&mut buf).unwrap(), 4);
    assert_eq!(&buf, b"pong");
}

#[test]
fn mutual_tls_12_and_13() {
    let f = fleet();
    let dev = client_leaf(
        &f.issuing,
        "device-1",
        vec![San::Uri("spiffe://fleet.example/device/1".into())],
    );
    for v in [TlsVersion::Tls12, TlsVersion::Tls13] {
        let server = server_config(&f, ClientAuth::Required)
            .versions(v, v)
            .build()
            .unwrap();
        let client = client_config(&f, Some(&dev)).build().unwrap();
        let (mut c, mut s, rc, rs) = connect(&server, &client, "device.local");
        rc.unwrap();
        rs.unwrap();
        assert_eq!(c.version(), Some(v));
        assert_eq!(s.version(), Some(v));
        assert!(c.cipher_suite().is_some());
        let peer = s.verified_peer().expect("client verified");
        assert_eq!(peer.leaf().subject().common_name(), Some("device-1"));
        assert_eq!(peer.certs().count(), 2, "leaf + issuing CA as sent");
        let server_seen = c.verified_peer().expect("server verified");
        assert_eq!(
            server_seen.leaf().subject().common_name(),
            Some("device.local")
        );
        exchange(&mut c, &mut s);
        c.close().unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(
            s.read(&mut buf).unwrap(),
            0,
            "close_notify reads as end of stream"
        );
    }
}

#[test]
fn required_client_auth_refuses_a_client_without_certificate() {
    let f = fleet();
    let server = server_config(&f, ClientAuth::Required).build().unwrap();
    let client = client_config(&f, None).build().unwrap();
    let (mut c, s, _rc, rs) = connect(&server, &client, "device.local");
    assert!(rs.is_err());
    assert!(s.verified_peer().is_none());
    let mut buf = [0u8; 4];
    assert!(c.read(&mut buf).is_err());
}

#[test]
fn optional_client_auth() {
    let f = fleet();
    let dev = client_leaf(&f.issuing, "device-1", vec![]);
    let policy = ClientPolicy::builder()
        .allow_subject_cn("device-1")
        .build()
        .unwrap();
    for v in [TlsVersion::Tls12, TlsVersion::Tls13] {
        let server = server_config(&f, ClientAuth::Optional)
            .versions(v, v)
            .policy(policy.clone())
            .build()
            .unwrap();
        // No certificate: allowed, but nothing verified.
        let (mut c, mut s, rc, rs) = connect(
            &server,
            &client_config(&f, None).build().unwrap(),
            "device.local",
        );
        rc.unwrap();
        rs.unwrap();
        assert!(s.verified_peer().is_none());
        exchange(&mut c, &mut s);

        // A good certificate: verified and authorized.
        let (_c, s, _rc, rs) = connect(
            &server,
            &client_config(&f, Some(&dev)).build().unwrap(),
            "device.local",
        );
        rs.unwrap();
        assert!(s.verified_peer().unwrap().authorized_by().is_some());

        // A certificate from another CA: mbedTLS's "optional" would forgive it; we do not.
        let other = root("Other Root");
        let stranger = client_leaf(&other, "device-1", vec![]);
        let id = Identity::new(stranger.cert.clone(), key_copy(&stranger.key)).unwrap();
        let client = ClientConfig::builder()
            .trust(Trust::anchors(f.root.cert.clone()).unwrap())
            .identity(id)
            .build()
            .unwrap();
        let (_c, s, _rc, rs) = connect(&server, &client, "device.local");
        let err = rs.unwrap_err();
        assert!(
            matches!(&err, Error::Verify(v) if v.flags.contains(VerifyFlags::NOT_TRUSTED) || v.reasons.iter().any(|r| matches!(r, Reason::Flags(fl) if fl.contains(VerifyFlags::NOT_TRUSTED)))),
            "{err}"
        );
        assert!(s.verified_peer().is_none());

        // Wrong EKU in optional mode (CVE-2024-45159 for TLS 1.3): not authorized.
        let wrong_eku = leaf_with(
            &f.issuing,
            CertificateBuilder::new("CN=device-1")
                .extended_key_usage(&[ExtendedKeyUsage::ServerAuth]),
        );
        let (_c, s, _rc, rs) = connect(
            &server,
            &client_config(&f, Some(&wrong_eku)).build().unwrap(),
            "device.local",
        );
        assert!(rs.is_err(), "wrong EKU accepted with {v}");
        assert!(s.verified_peer().is_none());
    }
}

#[test]
fn hook_reject_is_fatal_even_in_optional_mode() {
    let f = fleet();
    let dev = client_leaf(&f.issuing, "device-1", vec![]);
    let hook = VerifyHook::new(|call| {
        if call.role() == Role::Leaf {
            Verdict::reject("blocked by hook")
        } else {
            Verdict::Accept
        }
    });
    for auth in [ClientAuth::Optional, ClientAuth::Required] {
        let server = server_config(&f, auth)
            .verify_hook(hook.clone())
            .build()
            .unwrap();
        let (_c, s, _rc, rs) = connect(
            &server,
            &client_config(&f, Some(&dev)).build().unwrap(),
            "device.local",
        );
        let err = rs.unwrap_err();
        assert!(err.to_string().contains("blocked by hook"), "{err}");
        assert!(s.verified_peer().is_none());
    }
}

#[test]
fn hook_panic_fails_the_handshake() {
    let f = fleet();
    let dev = client_leaf(&f.issuing, "device-1", vec![]);
    let server = server_config(&f, ClientAuth::Optional)
        .verify_hook(VerifyHook::new(|_| panic!("bug in hook")))
        .build()
        .unwrap();
    let (_c, _s, _rc, rs) = connect(
        &server,
        &client_config(&f, Some(&dev)).build().unwrap(),
        "device.local",
    );
    let err = rs.unwrap_err();
    assert!(
        matches!(&err, Error::Verify(v) if v.reasons.contains(&Reason::CallbackPanicked)),
        "{err}"
    );
}

#[test]
fn same_policy_same_decision_offline_and_in_tls() {
    let f = fleet();
    let policy = ClientPolicy::builder()
        .allow_uri_prefix("spiffe://fleet.example/device/")
        .build()
        .unwrap();
    let good = client_leaf(
        &f.issuing,
        "a",
        vec![San::Uri("spiffe://fleet.example/device/7".into())],
    );
    let bad = client_leaf(
        &f.issuing,
        "b",
        vec![San::Uri("spiffe://fleet.example/laptop/7".into())],
    );
    let offline =
        Verifier::new(Trust::anchors(f.root.cert.clone()).unwrap()).with_policy(policy.clone());
    let server = server_config(&f, ClientAuth::Required)
        .policy(policy)
        .build()
        .unwrap();
    for (leaf, expect) in [(&good, true), (&bad, false)] {
        let off = offline.verify(&chain(&leaf.cert, &[&f.issuing]));
        let (_c, s, _rc, rs) = connect(
            &server,
            &client_config(&f, Some(leaf)).build().unwrap(),
            "device.local",
        );
        assert_eq!(off.is_ok(), expect);
        assert_eq!(rs.is_ok(), expect);
        if expect {
            assert_eq!(
                off.unwrap().authorized_by(),
                s.verified_peer().unwrap().authorized_by()
            );
        }
    }
}

#[test]
fn client_checks_the_server_name() {
    let f = fleet();
    let server = server_config(&f, ClientAuth::None).build().unwrap();
    let client = client_config(&f, None).build().unwrap();
    let (_c, _s, rc, _rs) = connect(&server, &client, "other.local");
    let err = rc.unwrap_err();
    assert!(
        matches!(&err, Error::Verify(v) if v.flags.contains(VerifyFlags::CN_MISMATCH)),
        "{err}"
    );
    // No name: refused unless asked for through the danger API (CVE-2025-27809).
    let (a, _b) = memory_pair();
    assert!(Session::client(&client, "", a).is_err());
    let (a, b) = memory_pair();
    let mut c = danger::client_without_name_check(&client, a).unwrap();
    let mut s = Session::server(&server, b).unwrap();
    let (rc, rs) = run_handshakes(&mut c, &mut s);
    rc.unwrap();
    rs.unwrap();
}

#[test]
fn sni_selects_the_identity_and_alpn_is_negotiated() {
    let f = fleet();
    let other = server_leaf(&f.issuing, "api.local");
    let server = ServerConfig::builder()
        .identity(identity(&f.server, &[&f.issuing]))
        .identity_for_names(identity(&other, &[&f.issuing]), &["api.local"])
        .client_auth(ClientAuth::None)
        .alpn(&["h2", "mqtt"])
        .build()
        .unwrap();
    let client = client_config(&f, None).alpn(&["mqtt"]).build().unwrap();
    for (name, cn) in [("api.local", "api.local"), ("device.local", "device.local")] {
        let (c, s, rc, rs) = connect(&server, &client, name);
        rc.unwrap();
        rs.unwrap();
        assert_eq!(
            c.verified_peer().unwrap().leaf().subject().common_name(),
            Some(cn)
        );
        assert_eq!(c.alpn(), Some("mqtt"));
        assert_eq!(s.alpn(), Some("mqtt"));
    }
}

#[test]
fn configuration_mistakes_are_errors() {
    let f = fleet();
    assert!(ServerConfig::builder().build().is_err(), "no identity");
    assert!(
        ServerConfig::builder()
            .identity(identity(&f.server, &[]))
            .client_auth(ClientAuth::Required)
            .build()
            .is_err(),
        "client auth without trust"
    );
    assert!(
        ClientConfig::builder().build().is_err(),
        "client without trust"
    );
    assert!(
        ServerConfig::builder()
            .identity(identity(&f.server, &[]))
            .client_auth(ClientAuth::None)
            .verify_hook(VerifyHook::new(|_| Verdict::Accept))
            .build()
            .is_err(),
        "a hook that would never run"
    );
    let wrong_key = key();
    assert!(
        Identity::new(f.server.cert.clone(), wrong_key).is_err(),
        "key does not match"
    );
    assert!(Identity::new(CertChain::new().unwrap(), key()).is_err());
    assert!(
        server_config(&f, ClientAuth::Required)
            .versions(TlsVersion::Tls13, TlsVersion::Tls12)
            .build()
            .is_err()
    );
}

/// Feed a server raw bytes and check it fails with an error, not a panic or a hang.
fn server_fed(bytes: &[u8], close: bool) -> mbedtls_verify::Result<()> {
    let f = fleet();
    let server = server_config(&f, ClientAuth::Required).build().unwrap();
    let (a, b) = memory_pair();
    a.inject(b"");
    let mut s = Session::server(&server, b).unwrap();
    // Bytes the "client" sends: inject into the server's inbox.
    s.transport().inject(bytes);
    if close {
        drop(a);
    }
    let mut last = Err(Error::WantRead);
    for _ in 0..8 {
        last = s.handshake();
        if !matches!(last, Err(Error::WantRead | Error::WantWrite)) {
            break;
        }
    }
    last
}

#[test]
fn hostile_input_gives_typed_errors() {
    // Garbage instead of a ClientHello.
    assert!(matches!(
        server_fed(&[0x47; 300], false),
        Err(Error::Tls(_))
    ));
    // A truncated handshake record, then the peer disconnects.
    assert!(matches!(
        server_fed(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00], true),
        Err(Error::Tls(_))
    ));
    // An oversized record header (length beyond what TLS allows).
    assert!(matches!(
        server_fed(&[0x16, 0x03, 0x03, 0xff, 0xff], false),
        Err(Error::Tls(_))
    ));
    // The peer disconnects before sending anything.
    assert!(server_fed(&[], true).is_err());
}

#[test]
fn a_chain_longer_than_allowed_is_refused() {
    let f = fleet();
    // Ten intermediates: more than MBEDTLS_X509_MAX_INTERMEDIATE_CA (8).
    let mut cas = vec![sub_ca(&f.root, "I0")];
    for i in 1..10 {
        let next = sub_ca(cas.last().unwrap(), &format!("I{i}"));
        cas.push(next);
    }
    let leaf = client_leaf(cas.last().unwrap(), "deep", vec![]);
    let refs: Vec<&Ca> = cas.iter().rev().collect();
    let peer = chain(&leaf.cert, &refs);
    let id = Identity::new(peer, key_copy(&leaf.key)).unwrap();
    let server = server_config(&f, ClientAuth::Required).build().unwrap();
    let client = ClientConfig::builder()
        .trust(Trust::anchors(f.root.cert.clone()).unwrap())
        .identity(id)
        .build()
        .unwrap();
    let (_c, s, _rc, rs) = connect(&server, &client, "device.local");
    assert!(rs.is_err());
    assert!(s.verified_peer().is_none());
}
