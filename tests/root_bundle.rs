//! Public roots in a bundle, found through the CA callback (`roots::RootBundle`): TLS
//! handshakes where the client trusts only a bundle — the root found, an unknown root,
//! several roots with the same subject, a cross-signed root — and the offline verifier.

#[path = "../mbedtls-verify/tests/common/mod.rs"]
mod pki;

use std::sync::{Arc, Mutex};

use mbedtls_verify::issue::CertificateBuilder;
use mbedtls_verify::roots::RootBundle;
use mbedtls_verify::ssl::{ClientAuth, ClientConfig, Identity, ServerConfig};
use mbedtls_verify::trust::Trust;
use mbedtls_verify::verifier::Verifier;
use mbedtls_verify::verify::{Role, Verdict, VerifyHook};
use mbedtls_verify::x509::CertChain;
use pki::*;

/// A bundle in static memory, as firmware keeps it in flash (leaked for the test).
fn static_bundle(roots: &[&Ca]) -> RootBundle {
    let ders: Vec<&[u8]> = roots.iter().map(|r| r.cert().der()).collect();
    let bytes = RootBundle::build(ders).unwrap();
    RootBundle::from_static(Box::leak(bytes.into_boxed_slice())).unwrap()
}

/// Other roots, so the bundle holds more than the one that matters.
fn filler() -> Vec<Ca> {
    ["Alpha Root", "Omega Root", "Middle Root", "Zulu Root"]
        .iter()
        .map(|n| root(n))
        .collect()
}

/// A server sending `sent` (leaf first) for `public.example`, client authentication off.
fn server(sent: CertChain, key: &mbedtls_verify::pk::PrivateKey) -> ServerConfig {
    ServerConfig::builder()
        .identity(Identity::new(sent, key_copy(key)).unwrap())
        .client_auth(ClientAuth::None)
        .build()
        .unwrap()
}

/// A client trusting only `bundle`; the hook records (depth, role, subject).
fn client(bundle: RootBundle, trace: Arc<Mutex<Vec<(u32, Role, String)>>>) -> ClientConfig {
    ClientConfig::builder()
        .trust(bundle.trust())
        .verify_hook(VerifyHook::new(move |call| {
            trace.lock().unwrap().push((
                call.depth(),
                call.role(),
                call.cert().subject().to_string(),
            ));
            Verdict::Accept
        }))
        .build()
        .unwrap()
}

#[test]
fn the_servers_root_is_found_in_the_bundle() {
    let public_root = root("Public Root");
    let issuing = sub_ca(&public_root, "Public Issuing CA");
    let leaf = server_leaf(&issuing, "public.example");
    let others = filler();
    let mut all: Vec<&Ca> = others.iter().collect();
    all.push(&public_root);
    let trace = Arc::new(Mutex::new(Vec::new()));
    let (_c, s, rc, rs) = connect(
        &server(chain(&leaf.cert, &[&issuing]), &leaf.key),
        &client(static_bundle(&all), trace.clone()),
        "public.example",
    );
    rc.expect("client handshake");
    rs.expect("server handshake");
    drop(s);
    let trace = trace.lock().unwrap();
    assert_eq!(
        trace.as_slice(),
        [
            (2, Role::TrustAnchor, "CN=Public Root, O=Test".to_string()),
            (
                1,
                Role::Intermediate,
                "CN=Public Issuing CA, O=Test".to_string()
            ),
            (0, Role::Leaf, "CN=public.example".to_string()),
        ]
    );
}

#[test]
fn a_root_not_in_the_bundle_fails_the_handshake() {
    let stranger = root("Stranger Root");
    let leaf = server_leaf(&stranger, "public.example");
    let others = filler();
    let all: Vec<&Ca> = others.iter().collect();
    let trace = Arc::new(Mutex::new(Vec::new()));
    let (_c, _s, rc, _rs) = connect(
        &server(chain(&leaf.cert, &[]), &leaf.key),
        &client(static_bundle(&all), trace),
        "public.example",
    );
    assert!(
        rc.is_err(),
        "a chain to a root outside the bundle must fail"
    );
}

#[test]
fn several_roots_with_the_same_subject_are_all_candidates() {
    // Two generations of a root with one name (a re-keyed root): whichever signed the
    // server's chain, the lookup returns both and mbedTLS keeps the one that verifies.
    let old = root("Same Name Root");
    let new = root("Same Name Root");
    assert_eq!(old.cert().subject().der(), new.cert().subject().der());
    let bundle_of = || static_bundle(&[&new, &filler()[0], &old]);
    let subject = old.cert().subject().der().to_vec();
    assert_eq!(bundle_of().find(&subject).count(), 2);
    for signer in [&old, &new] {
        let leaf = server_leaf(signer, "public.example");
        let trace = Arc::new(Mutex::new(Vec::new()));
        let (_c, _s, rc, _rs) = connect(
            &server(chain(&leaf.cert, &[]), &leaf.key),
            &client(bundle_of(), trace.clone()),
            "public.example",
        );
        rc.expect("the root that signed is among the candidates");
        assert_eq!(trace.lock().unwrap()[0].1, Role::TrustAnchor);
    }
}

#[test]
fn a_cross_signed_root_chains_to_either_generation() {
    // "New Root" also exists as a certificate issued by "Old Root" (same subject and key):
    // the server sends leaf, issuing CA, and that cross certificate.
    let old = root("Old Root");
    let new = root("New Root");
    let cross = CertificateBuilder::new("CN=New Root,O=Test")
        .ca(None)
        .signed_by(&new.key, old.cert(), &old.key)
        .unwrap();
    let cross = Ca {
        cert: cross,
        key: key_copy(&new.key),
    };
    let issuing = sub_ca(&new, "Issuing CA");
    let leaf = server_leaf(&issuing, "public.example");
    let sent = chain(&leaf.cert, &[&issuing, &cross]);

    // Only the old root in the bundle: the path goes through the cross certificate.
    let trace = Arc::new(Mutex::new(Vec::new()));
    let (_c, _s, rc, _rs) = connect(
        &server(sent.clone(), &leaf.key),
        &client(static_bundle(&[&old]), trace.clone()),
        "public.example",
    );
    rc.expect("old root through the cross certificate");
    let t = trace.lock().unwrap().clone();
    assert_eq!(t[0], (3, Role::TrustAnchor, "CN=Old Root, O=Test".into()));
    assert_eq!(t.len(), 4);

    // Only the new root: the path stops at it (the cross certificate is not needed).
    let trace = Arc::new(Mutex::new(Vec::new()));
    let (_c, _s, rc, _rs) = connect(
        &server(sent.clone(), &leaf.key),
        &client(static_bundle(&[&new]), trace.clone()),
        "public.example",
    );
    rc.expect("new root directly");
    let t = trace.lock().unwrap().clone();
    assert_eq!(t[0], (2, Role::TrustAnchor, "CN=New Root, O=Test".into()));

    // Neither: refused.
    let trace = Arc::new(Mutex::new(Vec::new()));
    let (_c, _s, rc, _rs) = connect(
        &server(sent, &leaf.key),
        &client(static_bundle(&[&filler()[1]]), trace),
        "public.example",
    );
    assert!(rc.is_err());
}

#[test]
fn offline_verification_with_an_owned_bundle_and_anchor_equivalence() {
    let public_root = root("Public Root");
    let issuing = sub_ca(&public_root, "Public Issuing CA");
    let leaf = server_leaf(&issuing, "public.example");
    let others = filler();
    let mut all: Vec<&Ca> = others.iter().collect();
    all.push(&public_root);
    let ders: Vec<&[u8]> = all.iter().map(|r| r.cert().der()).collect();
    let owned = RootBundle::from_vec(RootBundle::build(ders).unwrap()).unwrap();
    let sent = chain(&leaf.cert, &[&issuing]);
    let by_bundle = Verifier::new(owned.clone().trust())
        .expect_name("public.example")
        .verify(&sent)
        .expect("verified through the bundle");
    assert_eq!(
        by_bundle.roles(),
        [Role::Leaf, Role::Intermediate, Role::TrustAnchor]
    );
    // The same roots loaded whole (what mbedtls_ssl_conf_ca_chain would get) agree.
    Verifier::new(Trust::anchors(owned.to_chain().unwrap()).unwrap())
        .expect_name("public.example")
        .verify(&sent)
        .expect("verified through the whole set");
    // A leaf from elsewhere fails both ways.
    let stranger = server_leaf(&root("Stranger"), "public.example");
    assert!(Verifier::new(owned.trust()).verify(&stranger.cert).is_err());
}
