//! What the fuzz targets (fuzz/, scripts/fuzz-smoke) found, one test each, written so
//! that it fails while the defect is there.

#[path = "../mbedtls-verify/tests/common/mod.rs"]
mod pki;

use std::sync::{Arc, Mutex};

use mbedtls_verify::ssl::mem::{memory_pair, run_handshakes};
use mbedtls_verify::ssl::{ClientAuth, ClientConfig, Identity, ServerConfig, Session, TlsVersion};
use mbedtls_verify::trust::{CaCandidates, CaLookupError, Trust};
use mbedtls_verify::verify::{Role, Verdict, VerifyHook};
use mbedtls_verify::x509::CertRef;
use pki::*;

/// An mTLS handshake whose server trusts `root` through a CA callback; returns the
/// server's result and the (depth, role) of every verify-hook call.
fn callback_handshake(version: TlsVersion) -> (mbedtls_verify::Result<()>, Vec<(u32, Role)>) {
    let root = root("Root");
    let issuing = sub_ca(&root, "Issuing");
    let srv = server_leaf(&root, "device.local");
    let device = client_leaf(&issuing, "device-1", vec![]);

    let anchor = root.cert.clone();
    let trust = Trust::callback(move |cert: CertRef<'_>| {
        let a = anchor.first().unwrap();
        if cert.issuer().der() == a.subject().der() {
            CaCandidates::from_chain(&anchor).map_err(|e| CaLookupError(e.to_string()))
        } else {
            Ok(CaCandidates::none())
        }
    });
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let hook = VerifyHook::new(move |call| {
        log.lock().unwrap().push((call.depth(), call.role()));
        Verdict::Accept
    });
    let server = ServerConfig::builder()
        .identity(Identity::new(srv.cert.clone(), key_copy(&srv.key)).unwrap())
        .client_auth(ClientAuth::Required)
        .versions(version, version)
        .trust(trust)
        .verify_hook(hook)
        .build()
        .unwrap();
    let client = ClientConfig::builder()
        .versions(version, version)
        .trust(Trust::anchors(root.cert.clone()).unwrap())
        .identity(Identity::new(chain(&device.cert, &[&issuing]), key_copy(&device.key)).unwrap())
        .build()
        .unwrap();

    let (a, b) = memory_pair();
    let mut c = Session::client(&client, "device.local", a).unwrap();
    let mut s = Session::server(&server, b).unwrap();
    let (_, rs) = run_handshakes(&mut c, &mut s);
    let calls = seen.lock().unwrap().clone();
    (rs, calls)
}

fn assert_roles(version: TlsVersion) {
    let (rs, calls) = callback_handshake(version);
    rs.unwrap();
    let mut calls = calls;
    calls.sort_by_key(|c| c.0);
    assert_eq!(
        calls,
        [
            (0, Role::Leaf),
            (1, Role::Intermediate),
            (2, Role::TrustAnchor)
        ],
        "{version}: the root the CA callback returned must be reported as the trust anchor"
    );
}

#[test]
fn tls13_ca_callback_reports_the_trust_anchor() {
    assert_roles(TlsVersion::Tls13);
}

/// Found by the `tls_server` and `tls_client` fuzz targets (their unmodified seed
/// flights, variant 2: TLS 1.2 with a CA callback). In TLS 1.2 mbedTLS attaches the
/// peer's chain to the session only after verification, so during the verify callback
/// `Scope::top_is_trusted` (mbedtls-verify/src/verify.rs) finds no peer list and falls
/// back to DER identity with the static anchors, which a CA callback has none of: the
/// trust anchor is reported to the hook as `intermediate` (fail-safe, but a hook that
/// checks the anchor's role rejects every TLS 1.2 client, and a v1 root returned by
/// the callback is refused as "not a CA").
/// Fixed: the CA callback records the list it handed over (trust::last_candidates) and the
/// role mapping recognises the anchor in it.
#[test]
fn tls12_ca_callback_reports_the_trust_anchor() {
    assert_roles(TlsVersion::Tls12);
}
