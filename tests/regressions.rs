//! One regression test per lesson, each named after its CVE or advisory.

#[path = "../mbedtls-verify/tests/common/mod.rs"]
mod pki;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use mbedtls_verify::issue::{CertificateBuilder, San};
use mbedtls_verify::pk::PrivateKey;
use mbedtls_verify::policy::ClientPolicy;
use mbedtls_verify::ssl::mem::{MemoryTransport, memory_pair};
use mbedtls_verify::ssl::{ClientAuth, ClientConfig, Identity, ServerConfig, Session, TlsVersion};
use mbedtls_verify::sys;
use mbedtls_verify::trust::{CaCandidates, Trust};
use mbedtls_verify::verifier::Verifier;
use mbedtls_verify::verify::{Role, Verdict, VerifyFlags, VerifyHook};
use mbedtls_verify::x509::{CertChain, ExtendedKeyUsage};
use mbedtls_verify::{Error, Reason};
use pki::*;

fn handshake(
    server: &ServerConfig,
    client: &ClientConfig,
) -> (Session<MemoryTransport>, mbedtls_verify::Result<()>) {
    let (_c, s, _rc, rs) = connect(server, client, "device.local");
    (s, rs)
}

/// A server presenting `chain` that asks for no client certificate.
fn server_presenting(chain: CertChain, key: &PrivateKey) -> ServerConfig {
    ServerConfig::builder()
        .identity(Identity::new(chain, key_copy(key)).unwrap())
        .client_auth(ClientAuth::None)
        .build()
        .unwrap()
}

struct Setup {
    root: Ca,
    server: ServerConfig,
}

fn setup(
    auth: ClientAuth,
    version: TlsVersion,
    hook: Option<VerifyHook>,
    policy: Option<ClientPolicy>,
) -> Setup {
    let root = root("Root");
    let srv = server_leaf(&root, "device.local");
    let mut b = ServerConfig::builder()
        .identity(Identity::new(srv.cert.clone(), key_copy(&srv.key)).unwrap())
        .client_auth(auth)
        .versions(version, version)
        .trust(Trust::anchors(root.cert.clone()).unwrap());
    if let Some(h) = hook {
        b = b.verify_hook(h);
    }
    if let Some(p) = policy {
        b = b.policy(p);
    }
    Setup {
        server: b.build().unwrap(),
        root,
    }
}

fn client_for(root: &Ca, leaf: &Leaf, extra: &[&Ca]) -> ClientConfig {
    ClientConfig::builder()
        .trust(Trust::anchors(root.cert.clone()).unwrap())
        .identity(Identity::new(chain(&leaf.cert, extra), key_copy(&leaf.key)).unwrap())
        .build()
        .unwrap()
}

#[test]
fn cve_2025_27809_a_client_without_server_name_fails() {
    let s = setup(ClientAuth::None, TlsVersion::Tls13, None, None);
    let client = ClientConfig::builder()
        .trust(Trust::anchors(s.root.cert.clone()).unwrap())
        .build()
        .unwrap();
    let (a, _b) = memory_pair();
    let err = Session::client(&client, "", a).unwrap_err();
    assert!(err.to_string().contains("server name"), "{err}");
}

#[test]
fn cve_2024_45159_tls13_optional_client_auth_wrong_eku_is_not_authorized() {
    for policy in [
        None,
        Some(
            ClientPolicy::builder()
                .allow_any_verified(true)
                .build()
                .unwrap(),
        ),
    ] {
        let s = setup(
            ClientAuth::Optional,
            TlsVersion::Tls13,
            None,
            policy.clone(),
        );
        let wrong = leaf_with(
            &s.root,
            CertificateBuilder::new("CN=device-1")
                .extended_key_usage(&[ExtendedKeyUsage::ServerAuth]),
        );
        let (session, rs) = handshake(&s.server, &client_for(&s.root, &wrong, &[]));
        assert!(
            rs.is_err(),
            "wrong EKU accepted (policy: {})",
            policy.is_some()
        );
        assert!(session.verified_peer().is_none());
    }
}

#[test]
fn cve_2026_34873_no_resumption_and_client_auth_on_every_handshake() {
    let features = unsafe_free_features();
    if sys::version_number() < 0x0306_0700 {
        assert_eq!(
            features & sys::MV_FEAT_SERVER_TICKETS,
            0,
            "servers must not be able to issue tickets"
        );
        assert_eq!(features & sys::MV_FEAT_SESSION_CACHE, 0, "no session cache");
    }
    // Every connection, even from the same client config, runs the hook and the policy.
    let calls = Arc::new(AtomicUsize::new(0));
    let hook = VerifyHook::new({
        let calls = calls.clone();
        move |call| {
            if call.depth() == 0 {
                calls.fetch_add(1, Ordering::SeqCst);
            }
            Verdict::Accept
        }
    });
    for v in [TlsVersion::Tls12, TlsVersion::Tls13] {
        calls.store(0, Ordering::SeqCst);
        let policy = ClientPolicy::builder()
            .allow_subject_cn("device-1")
            .build()
            .unwrap();
        let s = setup(ClientAuth::Required, v, Some(hook.clone()), Some(policy));
        let dev = client_leaf(&s.root, "device-1", vec![]);
        let client = client_for(&s.root, &dev, &[]);
        for _ in 0..3 {
            let (session, rs) = handshake(&s.server, &client);
            rs.unwrap();
            assert!(session.verified_peer().unwrap().authorized_by().is_some());
        }
        assert_eq!(
            calls.load(Ordering::SeqCst),
            3,
            "{v}: the hook ran on every handshake"
        );
    }
}

fn unsafe_free_features() -> u32 {
    // SAFETY: a pure query of compile-time options.
    unsafe { sys::mv_features() }
}

#[test]
fn advisory_2026_ca_bit_forgery_in_a_handshake() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let hook = VerifyHook::new({
        let seen = seen.clone();
        move |call| {
            seen.lock()
                .unwrap()
                .push((call.role(), call.cert().subject().to_string_lossy()));
            Verdict::Accept
        }
    });
    for auth in [ClientAuth::Optional, ClientAuth::Required] {
        let s = setup(auth, TlsVersion::Tls13, Some(hook.clone()), None);
        let forged = leaf_with(
            &s.root,
            CertificateBuilder::new("CN=forged").raw_extension(
                "2.5.29.19",
                true,
                vec![0x30, 0x03, 0x02, 0x01, 0x05],
            ),
        );
        let forged_ca = Ca {
            cert: forged.cert,
            key: forged.key,
        };
        let victim = client_leaf(&forged_ca, "victim", vec![]);
        let (session, rs) = handshake(&s.server, &client_for(&s.root, &victim, &[&forged_ca]));
        let err = rs.unwrap_err();
        assert!(
            matches!(&err, Error::Verify(v) if v.reasons.contains(&Reason::NotACa { depth: 1 })),
            "{err}"
        );
        assert!(session.verified_peer().is_none());
        let seen = seen.lock().unwrap();
        assert!(
            !seen
                .iter()
                .any(|(r, s)| *r == Role::Intermediate && s.contains("forged")),
            "{seen:?}"
        );
    }
}

#[test]
fn more_than_eight_intermediates_fail() {
    let root = root("Root");
    let mut cas = vec![sub_ca(&root, "I0")];
    for i in 1..9 {
        let next = sub_ca(cas.last().unwrap(), &format!("I{i}"));
        cas.push(next);
    }
    let leaf = client_leaf(cas.last().unwrap(), "deep", vec![]);
    let refs: Vec<&Ca> = cas.iter().rev().collect();
    let err = Verifier::new(Trust::anchors(root.cert.clone()).unwrap())
        .verify(&chain(&leaf.cert, &refs))
        .unwrap_err();
    assert!(!err.reasons.is_empty());
}

#[test]
fn a_chain_that_loops_fails_within_bounds() {
    // A and B certify each other (same names, two keys): the peer sends a loop.
    let root = root("Root");
    let ka = key();
    let kb = key();
    let a_self = CertificateBuilder::new("CN=Loop A")
        .ca(None)
        .self_signed(&ka)
        .unwrap();
    let b = CertificateBuilder::new("CN=Loop B")
        .ca(None)
        .signed_by(&kb, a_self.first().unwrap(), &ka)
        .unwrap();
    let a = CertificateBuilder::new("CN=Loop A")
        .ca(None)
        .signed_by(&ka, b.first().unwrap(), &kb)
        .unwrap();
    let a_ca = Ca { cert: a, key: ka };
    let leaf = client_leaf(&a_ca, "looped", vec![]);
    let b_ca = Ca { cert: b, key: kb };
    let peer = chain(&leaf.cert, &[&a_ca, &b_ca, &a_ca, &b_ca]);
    let calls = Arc::new(AtomicUsize::new(0));
    let hook = VerifyHook::new({
        let calls = calls.clone();
        move |_| {
            calls.fetch_add(1, Ordering::SeqCst);
            Verdict::Accept
        }
    });
    let err = Verifier::new(Trust::anchors(root.cert.clone()).unwrap())
        .with_hook(hook)
        .verify(&peer)
        .unwrap_err();
    assert!(!err.reasons.is_empty());
    assert!(
        calls.load(Ordering::SeqCst) <= 10,
        "bounded by the chain limit"
    );
}

#[test]
fn deep_and_wide_ca_callback_candidate_sets_fail_within_bounds() {
    let stranger = root("Stranger");
    let leaf = client_leaf(&stranger, "dev", vec![]);
    // 200 candidates, none of which signed the leaf: every one is tried once.
    let mut many = CertChain::new().unwrap();
    for i in 0..200 {
        let k = key();
        let c = CertificateBuilder::new("CN=Stranger,O=Test")
            .ca(None)
            .serial(&[1, i as u8])
            .self_signed(&k)
            .unwrap();
        many.push_der(c.first().unwrap().der()).unwrap();
    }
    let lookups = Arc::new(AtomicUsize::new(0));
    let many = Arc::new(many);
    let trust = Trust::callback({
        let lookups = lookups.clone();
        let many = many.clone();
        move |_child| {
            lookups.fetch_add(1, Ordering::SeqCst);
            CaCandidates::from_chain(&many)
                .map_err(|e| mbedtls_verify::trust::CaLookupError(e.to_string()))
        }
    });
    let err = Verifier::new(trust).verify(&leaf.cert).unwrap_err();
    assert!(err.flags.contains(VerifyFlags::NOT_TRUSTED), "{err}");
    assert!(
        lookups.load(Ordering::SeqCst) <= 10,
        "one lookup per chain level at most"
    );
}

fn constrained_root(critical: bool) -> Ca {
    let key = key();
    let cert = CertificateBuilder::new("CN=Constrained Root,O=Test")
        .ca(None)
        .name_constraints(critical, &[San::Dns("example.com".into())], &[])
        .self_signed(&key)
        .unwrap();
    Ca { cert, key }
}

fn name_constraint_failure(err: &mbedtls_verify::VerifyError) -> bool {
    err.reasons
        .iter()
        .any(|r| matches!(r, Reason::NameConstraints { depth: 0, .. }))
}

/// mbedTLS 3.6 refuses a certificate with a critical nameConstraints at parse time and
/// silently skips a non-critical one. The crate never ignores it: its own parser lets
/// nameConstraints (and no other unknown critical extension) through, and every
/// verification enforces it — offline, on a TLS client and on a TLS server.
#[test]
fn name_constraints_are_enforced_never_ignored() {
    // Any other unknown critical extension is still refused at parse time.
    let other = CertificateBuilder::new("CN=Odd CA")
        .ca(None)
        .raw_extension("1.3.6.1.4.1.55555.7", true, vec![0x05, 0x00])
        .self_signed_der(&key())
        .unwrap();
    assert!(CertChain::from_der(&other).is_err());

    for critical in [true, false] {
        let root = constrained_root(critical);
        let inside = server_leaf(&root, "device.example.com");
        let outside = server_leaf(&root, "device.example.org");
        let trust = || Trust::anchors(root.cert.clone()).unwrap();

        Verifier::new(trust())
            .expect_name("device.example.com")
            .verify(&inside.cert)
            .unwrap();
        let err = Verifier::new(trust())
            .expect_name("device.example.org")
            .verify(&outside.cert)
            .unwrap_err();
        assert!(name_constraint_failure(&err), "critical={critical}: {err}");
        // Also when no name is checked: the constraint is on the certificate.
        let err = Verifier::new(trust()).verify(&outside.cert).unwrap_err();
        assert!(name_constraint_failure(&err), "critical={critical}: {err}");

        // A TLS client refuses a server outside its anchor's constraints.
        for (leaf, name, ok) in [
            (&inside, "device.example.com", true),
            (&outside, "device.example.org", false),
        ] {
            let server = server_presenting(leaf.cert.clone(), &leaf.key);
            let client = ClientConfig::builder().trust(trust()).build().unwrap();
            let (_c, _s, rc, _rs) = connect(&server, &client, name);
            assert_eq!(rc.is_ok(), ok, "critical={critical} {name}: {rc:?}");
        }

        // A TLS server refuses a client outside its anchor's constraints, also with
        // optional client authentication.
        let server_leaf_ = server_leaf(&root, "device.example.com");
        for auth in [ClientAuth::Required, ClientAuth::Optional] {
            let server = ServerConfig::builder()
                .identity(
                    Identity::new(server_leaf_.cert.clone(), key_copy(&server_leaf_.key)).unwrap(),
                )
                .client_auth(auth)
                .trust(trust())
                .build()
                .unwrap();
            for (dns, ok) in [("client.example.com", true), ("client.evil.test", false)] {
                let leaf = leaf_with(
                    &root,
                    CertificateBuilder::new("CN=client")
                        .extended_key_usage(&[ExtendedKeyUsage::ClientAuth])
                        .san(San::Dns(dns.into())),
                );
                let client = ClientConfig::builder()
                    .trust(trust())
                    .identity(Identity::new(leaf.cert.clone(), key_copy(&leaf.key)).unwrap())
                    .build()
                    .unwrap();
                let (_c, s, _rc, rs) = connect(&server, &client, "device.example.com");
                assert_eq!(rs.is_ok(), ok, "critical={critical} {auth:?} {dns}: {rs:?}");
                assert_eq!(s.verified_peer().is_some(), ok);
            }
        }
    }
}

/// In a handshake mbedTLS parses the peer's chain itself: an intermediate with a
/// critical nameConstraints fails closed there; with a non-critical one (which mbedTLS
/// would skip) the crate enforces it.
#[test]
fn name_constraints_on_a_peer_sent_intermediate() {
    let root = root("Root");
    for critical in [true, false] {
        let key = key();
        let ica_cert = CertificateBuilder::new("CN=Constrained ICA,O=Test")
            .ca(None)
            .name_constraints(critical, &[San::Dns("example.com".into())], &[])
            .signed_by(&key, root.cert(), &root.key)
            .unwrap();
        let ica = Ca {
            cert: ica_cert,
            key,
        };
        for (dns, ok) in [
            ("device.example.com", !critical),
            ("device.evil.test", false),
        ] {
            let leaf = server_leaf(&ica, dns);
            let server = server_presenting(chain(&leaf.cert, &[&ica]), &leaf.key);
            let client = ClientConfig::builder()
                .trust(Trust::anchors(root.cert.clone()).unwrap())
                .build()
                .unwrap();
            let (_c, _s, rc, _rs) = connect(&server, &client, dns);
            assert_eq!(rc.is_ok(), ok, "critical={critical} {dns}: {rc:?}");
        }
    }
}

/// webpki::san::public-suffix-wildcard-san: mbedTLS lets `*.com` match `example.com`.
/// The crate's second name check does not honour a wildcard over a single label.
#[test]
fn a_wildcard_over_a_single_label_matches_nothing() {
    let root = root("Root");
    let leaf = |dns: &str| server_leaf(&root, dns);
    let trust = || Trust::anchors(root.cert.clone()).unwrap();
    let tld = leaf("*.com");
    let err = Verifier::new(trust())
        .expect_name("example.com")
        .verify(&tld.cert)
        .unwrap_err();
    assert!(err.flags.contains(VerifyFlags::CN_MISMATCH), "{err}");
    let ok = leaf("*.example.com");
    Verifier::new(trust())
        .expect_name("device.example.com")
        .verify(&ok.cert)
        .unwrap();
    // And in a handshake.
    let server = server_presenting(tld.cert.clone(), &tld.key);
    let client = ClientConfig::builder().trust(trust()).build().unwrap();
    let (_c, _s, rc, _rs) = connect(&server, &client, "example.com");
    assert!(rc.is_err());
}
