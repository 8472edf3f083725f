//! Adversarial tests of the nameConstraints enforcement (mbedTLS 3.6 has none; the crate
//! enforces it in its verify callback). Each test is an attack by someone who controls
//! the contents of an intermediate or a leaf below a constrained CA; it documents that
//! the attack was considered and that the chain is refused (or, where accepting is
//! right, why).
//!
//! Three verification paths are exercised: the offline [`Verifier`] and a TLS client
//! [`Session`], which run mbedTLS's hostname check *and* the crate's second check, and
//! [`ExternalVerification`] installed on a foreign mbedTLS client config, where
//! mbedTLS's own hostname check (subject CN fallback, URI subjectAltNames compared with
//! the hostname as text) is the only one: there the constraints must cover every name
//! mbedTLS can match.

#[path = "../mbedtls-verify/tests/common/mod.rs"]
mod pki;

use core::ffi::{c_int, c_void};
use std::ffi::CString;

use mbedtls_verify::der::Writer;
use mbedtls_verify::issue::{CertificateBuilder, San, name_constraints_der};
use mbedtls_verify::profile::SecurityProfile;
use mbedtls_verify::ssl::external::ExternalVerification;
use mbedtls_verify::ssl::mem::{MemoryTransport, memory_pair, run_handshakes};
use mbedtls_verify::ssl::{
    ClientAuth, ClientConfig, Identity, IoStatus, ServerConfig, Session, Transport,
};
use mbedtls_verify::sys;
use mbedtls_verify::trust::{CaCandidates, CaLookupError, Trust};
use mbedtls_verify::verifier::Verifier;
use mbedtls_verify::x509::{ExtendedKeyUsage, IpAddress};
use mbedtls_verify::{Reason, VerifyError};
use pki::*;

// ---------------------------------------------------------------------------------
// Building constraints and certificates
// ---------------------------------------------------------------------------------

const DNS: u8 = 0x82;
const URI: u8 = 0x86;
const IP: u8 = 0x87;

/// The DER of a NameConstraints with these (GeneralName tag, contents) bases.
fn nc(permitted: &[(u8, &[u8])], excluded: &[(u8, &[u8])]) -> Vec<u8> {
    let raw = |list: &[(u8, &[u8])]| -> Vec<San> {
        list.iter()
            .map(|&(tag, contents)| San::Raw {
                tag,
                contents: contents.to_vec(),
            })
            .collect()
    };
    name_constraints_der(&raw(permitted), &raw(excluded))
}

fn permit_dns(subtree: &str) -> Vec<u8> {
    nc(&[(DNS, subtree.as_bytes())], &[])
}

fn exclude_ip(net: [u8; 4], mask: [u8; 4]) -> Vec<u8> {
    let mut c = net.to_vec();
    c.extend_from_slice(&mask);
    nc(&[], &[(IP, &c)])
}

fn constrained_root(name: &str, constraints: Vec<u8>) -> Ca {
    let key = key();
    let cert = CertificateBuilder::new(&format!("CN={name},O=Test"))
        .ca(None)
        .raw_extension("2.5.29.30", false, constraints)
        .self_signed(&key)
        .unwrap();
    Ca { cert, key }
}

fn constrained_sub(parent: &Ca, subject: &str, constraints: Option<Vec<u8>>) -> Ca {
    let key = key();
    let mut b = CertificateBuilder::new(subject).ca(None);
    if let Some(c) = constraints {
        b = b.raw_extension("2.5.29.30", false, c);
    }
    let cert = b.signed_by(&key, parent.cert(), &parent.key).unwrap();
    Ca { cert, key }
}

/// A server leaf with this subject and these SANs (serverAuth).
fn leaf(parent: &Ca, subject: &str, sans: Vec<San>) -> Leaf {
    leaf_with(
        parent,
        CertificateBuilder::new(subject)
            .extended_key_usage(&[ExtendedKeyUsage::ServerAuth])
            .sans(sans),
    )
}

fn dns(s: &str) -> San {
    San::Dns(s.into())
}

fn uri(s: &str) -> San {
    San::Uri(s.into())
}

fn ip(s: &str) -> San {
    San::Ip(IpAddress::parse(s).unwrap())
}

fn nc_failure(err: &VerifyError) -> bool {
    err.reasons
        .iter()
        .any(|r| matches!(r, Reason::NameConstraints { .. }))
}

// ---------------------------------------------------------------------------------
// The three verification paths
// ---------------------------------------------------------------------------------

fn server_config(leaf: &Leaf, cas: &[&Ca]) -> ServerConfig {
    ServerConfig::builder()
        .identity(Identity::new(chain(&leaf.cert, cas), key_copy(&leaf.key)).unwrap())
        .client_auth(ClientAuth::None)
        .build()
        .unwrap()
}

/// This crate's TLS client (mbedTLS's hostname check + the crate's second check).
fn session_accepts(root: &Ca, leaf: &Leaf, cas: &[&Ca], hostname: &str) -> bool {
    let client = ClientConfig::builder()
        .trust(Trust::anchors(root.cert.clone()).unwrap())
        .build()
        .unwrap();
    let (a, b) = memory_pair();
    let mut c = Session::client(&client, hostname, a).unwrap();
    let mut s = Session::server(&server_config(leaf, cas), b).unwrap();
    run_handshakes(&mut c, &mut s).0.is_ok()
}

/// `mbedtls_ssl_send_t` over a [`MemoryTransport`].
unsafe extern "C" fn bio_send(ctx: *mut c_void, buf: *const u8, len: usize) -> c_int {
    // SAFETY: ctx is the boxed MemoryTransport handed to mbedTLS by `external_accepts`,
    // alive and used by nothing else during the call; buf holds len bytes.
    let (t, data) = unsafe {
        (
            &mut *ctx.cast::<MemoryTransport>(),
            core::slice::from_raw_parts(buf, len),
        )
    };
    match t.send(data) {
        IoStatus::Done(n) => n as c_int,
        IoStatus::WouldBlock => sys::MBEDTLS_ERR_SSL_WANT_WRITE,
        IoStatus::Failed(_) => sys::MBEDTLS_ERR_SSL_INTERNAL_ERROR,
    }
}

/// `mbedtls_ssl_recv_t` over a [`MemoryTransport`].
unsafe extern "C" fn bio_recv(ctx: *mut c_void, buf: *mut u8, len: usize) -> c_int {
    // SAFETY: as in bio_send; buf has room for len bytes.
    let (t, data) = unsafe {
        (
            &mut *ctx.cast::<MemoryTransport>(),
            core::slice::from_raw_parts_mut(buf, len),
        )
    };
    match t.recv(data) {
        IoStatus::Done(n) => n as c_int,
        IoStatus::WouldBlock => sys::MBEDTLS_ERR_SSL_WANT_READ,
        IoStatus::Failed(_) => sys::MBEDTLS_ERR_SSL_INTERNAL_ERROR,
    }
}

/// A "foreign" mbedTLS client (raw shim calls, as esp-tls would make them) with this
/// crate's verification installed on its config: mbedTLS's own hostname check is the
/// only one.
fn external_accepts_with(trust: Trust, leaf: &Leaf, cas: &[&Ca], hostname: &str) -> bool {
    let mut ext = ExternalVerification::new(trust, None, None, SecurityProfile::DEFAULT).unwrap();
    let (a, b) = memory_pair();
    let mut server = Session::server(&server_config(leaf, cas), b).unwrap();
    let mut io = Box::new(a);
    let host = CString::new(hostname).unwrap();
    let mut err = 0;
    // SAFETY: the config, context, transport and verification are created here and
    // outlive every use; the context and config are freed before them.
    unsafe {
        let conf = sys::mv_ssl_conf_new(sys::MV_ENDPOINT_CLIENT as i32, &mut err);
        assert!(!conf.is_null(), "{err}");
        sys::mv_ssl_conf_authmode(conf, sys::MBEDTLS_SSL_VERIFY_REQUIRED as i32);
        ext.as_mut().install_on_config(conf).unwrap();
        let ssl = sys::mv_ssl_new(conf, &mut err);
        assert!(!ssl.is_null(), "{err}");
        assert_eq!(sys::mv_ssl_set_hostname(ssl, host.as_ptr()), 0);
        sys::mv_ssl_set_bio(
            ssl,
            (&mut *io as *mut MemoryTransport).cast(),
            Some(bio_send),
            Some(bio_recv),
        );
        let mut rc = sys::MBEDTLS_ERR_SSL_WANT_READ;
        for _ in 0..64 {
            if rc == sys::MBEDTLS_ERR_SSL_WANT_READ || rc == sys::MBEDTLS_ERR_SSL_WANT_WRITE {
                rc = sys::mv_ssl_handshake(ssl);
            }
            let _ = server.handshake();
        }
        let accepted = rc == 0 && ext.check_after_handshake(ssl).is_ok();
        sys::mv_ssl_free(ssl);
        sys::mv_ssl_conf_free(conf);
        accepted
    }
}

fn external_accepts(root: &Ca, leaf: &Leaf, cas: &[&Ca], hostname: &str) -> bool {
    external_accepts_with(
        Trust::anchors(root.cert.clone()).unwrap(),
        leaf,
        cas,
        hostname,
    )
}

/// The offline verifier with a server name.
fn verifier_accepts(root: &Ca, leaf: &Leaf, cas: &[&Ca], hostname: &str) -> bool {
    Verifier::new(Trust::anchors(root.cert.clone()).unwrap())
        .expect_name(hostname)
        .verify(&chain(&leaf.cert, cas))
        .is_ok()
}

/// Whether each path accepts: (offline verifier, TLS session, foreign mbedTLS client).
fn paths(root: &Ca, leaf: &Leaf, cas: &[&Ca], hostname: &str) -> (bool, bool, bool) {
    (
        verifier_accepts(root, leaf, cas, hostname),
        session_accepts(root, leaf, cas, hostname),
        external_accepts(root, leaf, cas, hostname),
    )
}

const REFUSED: (bool, bool, bool) = (false, false, false);
const ACCEPTED: (bool, bool, bool) = (true, true, true);

// ---------------------------------------------------------------------------------
// Names mbedTLS matches against the hostname
// ---------------------------------------------------------------------------------

/// The harness itself: a name inside the constraint passes every path, one outside
/// fails every path, and the foreign client does check the hostname.
#[test]
fn every_path_enforces_constraints_on_the_matched_dns_name() {
    let root = constrained_root("Fleet Root", permit_dns("fleet.example"));
    let inside = leaf(&root, "CN=gw", vec![dns("gw.fleet.example")]);
    assert_eq!(paths(&root, &inside, &[], "gw.fleet.example"), ACCEPTED);
    assert_eq!(paths(&root, &inside, &[], "GW.Fleet.Example"), ACCEPTED);
    assert_eq!(paths(&root, &inside, &[], "other.fleet.example"), REFUSED);
    let outside = leaf(&root, "CN=bank", vec![dns("bank.example")]);
    assert_eq!(paths(&root, &outside, &[], "bank.example"), REFUSED);
    // Case and a trailing dot do not get a name out of an excluded subtree.
    let ex = constrained_root("Ex Root", nc(&[], &[(DNS, b"bank.example")]));
    for name in ["BANK.Example", "www.BANK.example", "bank.example."] {
        let l = leaf(&ex, "CN=x", vec![dns(name)]);
        assert_eq!(paths(&ex, &l, &[], name), REFUSED, "{name}");
    }
}

/// mbedTLS 3.6 compares the hostname with every URI subjectAltName as text
/// (`x509_crt_check_san_uri`): a URI SAN `bank.example` authenticates the host
/// `bank.example`. Under dNSName constraints only (the usual case), a URI is of an
/// unconstrained form, so such a URI must be checked as the host name it can stand for.
#[test]
fn a_uri_san_spelled_as_a_host_name_is_constrained_as_one() {
    let root = constrained_root("Fleet Root", permit_dns(".fleet.example"));
    let attack = leaf(
        &root,
        "CN=gw",
        vec![dns("gw.fleet.example"), uri("bank.example")],
    );
    assert_eq!(paths(&root, &attack, &[], "bank.example"), REFUSED);
    // A URI SAN that is the hostname spelled as an IP address, under iPAddress
    // exclusions (mbedTLS compares it as text too).
    let ex = constrained_root("Ex Root", exclude_ip([10, 0, 0, 0], [255, 0, 0, 0]));
    let attack = leaf(&ex, "CN=gw", vec![dns("gw.test"), uri("10.0.0.1")]);
    assert_eq!(paths(&ex, &attack, &[], "10.0.0.1"), REFUSED);
    // Real URIs are unaffected (they cannot equal a host name).
    let ok = leaf(
        &root,
        "CN=gw",
        vec![
            dns("gw.fleet.example"),
            uri("spiffe://bank.example/device/1"),
            uri("urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66"),
        ],
    );
    assert_eq!(paths(&root, &ok, &[], "gw.fleet.example"), ACCEPTED);
}

/// mbedTLS falls back to the subject commonName when a certificate has no
/// subjectAltName at all. The crate's own clients never do (second check), but a
/// foreign mbedTLS client does, also for single-label host names (`gateway`,
/// `localhost`), which the commonName heuristic (at least one dot) used to skip.
#[test]
fn a_common_name_without_san_cannot_name_a_host_outside_the_constraints() {
    let root = constrained_root("Fleet Root", permit_dns(".fleet.example"));
    for cn in [
        "gateway",
        "localhost",
        "bank.example",
        "*.example",
        "BANK.EXAMPLE.",
    ] {
        let attack = leaf(&root, &format!("CN={cn}"), vec![]);
        let host = match cn {
            "*.example" => "www.example",
            other => other,
        };
        assert_eq!(paths(&root, &attack, &[], host), REFUSED, "CN={cn}");
    }
    // A commonName that is the hostname spelled as an IP address, under iPAddress
    // exclusions.
    let ex = constrained_root("Ex Root", exclude_ip([10, 0, 0, 0], [255, 0, 0, 0]));
    let attack = leaf(&ex, "CN=10.0.0.1", vec![]);
    assert_eq!(paths(&ex, &attack, &[], "10.0.0.1"), REFUSED);
    // With a commonName inside the constraint, the foreign client (CN fallback) still
    // accepts; the crate's own clients never use the commonName.
    let inside = leaf(&root, "CN=gw.fleet.example", vec![]);
    assert_eq!(
        paths(&root, &inside, &[], "gw.fleet.example"),
        (false, false, true)
    );
}

/// A commonName that is not spelled as a host name (here with a space) is not taken as
/// one by the constraints: mbedTLS compares it with the hostname as a whole, so it can
/// only stand for a "host" with a space, which no resolver has. Such a leaf cannot
/// authenticate the host it imitates on any path. (mbedTLS cannot write an embedded
/// NUL; see the unit tests.)
#[test]
fn a_common_name_with_a_space_matches_no_host() {
    let root = constrained_root("Fleet Root", permit_dns(".fleet.example"));
    for cn in ["bank.example x", "x bank.example"] {
        let spaced = leaf(&root, &format!("CN={cn}"), vec![]);
        assert_eq!(paths(&root, &spaced, &[], "bank.example"), REFUSED, "{cn}");
    }
}

/// mbedTLS honours `*.com`; the crate's clients do not. Under an excluded subtree a
/// wildcard is excluded as soon as one name it can match is.
#[test]
fn wildcards_against_excluded_subtrees() {
    let ex = constrained_root("Ex Root", nc(&[], &[(DNS, b"bank.example")]));
    for (san, host) in [
        ("*.example", "bank.example"),
        ("*.bank.example", "www.bank.example"),
        ("*.EXAMPLE.", "bank.example."),
    ] {
        let l = leaf(&ex, "CN=x", vec![dns(san)]);
        assert_eq!(paths(&ex, &l, &[], host), REFUSED, "{san}");
    }
    // A wildcard that can only match names outside the excluded subtree passes.
    let l = leaf(&ex, "CN=x", vec![dns("*.other.example")]);
    assert_eq!(paths(&ex, &l, &[], "www.other.example"), ACCEPTED);
}

/// A dNSName that is an IP address literal is matched by mbedTLS as text against an IP
/// hostname; it is checked against iPAddress constraints too. Also in the shorthand
/// forms a resolver reads as IPv4 (`10.1` is 10.0.0.1 to `inet_aton`).
#[test]
fn a_dns_name_that_reads_as_an_ip_address() {
    let ex = constrained_root("Ex Root", exclude_ip([10, 0, 0, 0], [255, 0, 0, 0]));
    for name in ["10.0.0.1", "10.1", "167772161", "0x0a.0.0.1", "10.0.0.1."] {
        let l = leaf(&ex, "CN=x", vec![dns(name)]);
        assert_eq!(paths(&ex, &l, &[], name), REFUSED, "{name}");
    }
    // An IPv4-mapped IPv6 iPAddress is the same IPv4 address to the socket.
    let l = leaf(&ex, "CN=x", vec![ip("::ffff:10.0.0.1")]);
    assert_eq!(paths(&ex, &l, &[], "::ffff:10.0.0.1"), REFUSED);
    let l = leaf(&ex, "CN=x", vec![ip("::ffff:192.0.2.1")]);
    assert_eq!(paths(&ex, &l, &[], "::ffff:192.0.2.1"), ACCEPTED);
}

/// A critical nameConstraints with a form the crate cannot compare (here a URI without
/// a host) on a peer-sent intermediate fails closed, whatever the leaf's names.
#[test]
fn constraints_the_crate_cannot_enforce_fail_closed() {
    let root = root("Root");
    let ica = constrained_sub(
        &root,
        "CN=ICA,O=Test",
        Some(nc(&[(URI, b".fleet.example")], &[])),
    );
    let l = leaf(&ica, "CN=x", vec![dns("x.test"), uri("urn:fleet:1")]);
    assert_eq!(paths(&root, &l, &[&ica], "x.test"), REFUSED);
    // A GeneralSubtree maximum (RFC 5280: MUST be absent).
    let mut w = Writer::new();
    w.sequence(|w| {
        w.constructed(0xA0, |w| {
            w.sequence(|w| {
                w.tlv(DNS, b"fleet.example").tlv(0x81, &[1]);
            });
        });
    });
    let ica = constrained_sub(&root, "CN=ICA2,O=Test", Some(w.into_vec()));
    let l = leaf(&ica, "CN=x", vec![dns("x.fleet.example")]);
    assert_eq!(paths(&root, &l, &[&ica], "x.fleet.example"), REFUSED);
}

// ---------------------------------------------------------------------------------
// The path: self-issued certificates, several constrained CAs, long chains
// ---------------------------------------------------------------------------------

/// RFC 5280 exempts self-issued *intermediates* from the constraints above them; the
/// leaf is never exempt, even when its subject equals its issuer's.
#[test]
fn the_self_issued_exemption_never_covers_the_leaf() {
    let root = root("Root");
    let ica = constrained_sub(
        &root,
        "CN=Constrained ICA,O=Test",
        Some(permit_dns("fleet.example")),
    );
    // A leaf whose subject is its issuer's subject (self-issued), naming a host outside.
    let l = leaf(&ica, "CN=Constrained ICA,O=Test", vec![dns("bank.example")]);
    let c = l.cert.first().unwrap();
    assert!(c.is_self_issued());
    assert_eq!(paths(&root, &l, &[&ica], "bank.example"), REFUSED);
    let err = Verifier::new(Trust::anchors(root.cert.clone()).unwrap())
        .verify(&chain(&l.cert, &[&ica]))
        .unwrap_err();
    assert!(nc_failure(&err), "{err}");
}

/// A self-issued intermediate (same subject as the constrained CA, another key) below
/// the constrained CA: its own names are exempt, but everything below it is still held
/// to the constraints of every CA above.
#[test]
fn a_self_issued_intermediate_does_not_lift_the_constraints_above_it() {
    let root = constrained_root("Root", permit_dns("fleet.example"));
    let subject = "CN=Fleet ICA,O=Test";
    let ica = constrained_sub(&root, subject, None);
    // Rollover-style self-issued certificate: subject == issuer == the ICA's subject.
    let rolled = constrained_sub(&ica, subject, None);
    assert!(rolled.cert().is_self_issued());
    let inside = leaf(&rolled, "CN=x", vec![dns("x.fleet.example")]);
    assert_eq!(
        paths(&root, &inside, &[&rolled, &ica], "x.fleet.example"),
        ACCEPTED
    );
    let outside = leaf(&rolled, "CN=x", vec![dns("bank.example")]);
    assert_eq!(
        paths(&root, &outside, &[&rolled, &ica], "bank.example"),
        REFUSED
    );
    // The self-issued intermediate's own names are exempt (RFC 5280 6.1.3 b): a DNS
    // SAN outside the constraint on it does not fail the chain.
    let rolled_key = key();
    let rolled_named = Ca {
        cert: CertificateBuilder::new(subject)
            .ca(None)
            .san(dns("bank.example"))
            .signed_by(&rolled_key, ica.cert(), &ica.key)
            .unwrap(),
        key: rolled_key,
    };
    let inside = leaf(&rolled_named, "CN=x", vec![dns("x.fleet.example")]);
    assert_eq!(
        paths(&root, &inside, &[&rolled_named, &ica], "x.fleet.example"),
        ACCEPTED
    );
    // A non-self-issued intermediate with such a name is not exempt.
    let named = {
        let key = key();
        Ca {
            cert: CertificateBuilder::new("CN=Other ICA,O=Test")
                .ca(None)
                .san(dns("bank.example"))
                .signed_by(&key, ica.cert(), &ica.key)
                .unwrap(),
            key,
        }
    };
    let l = leaf(&named, "CN=x", vec![dns("x.fleet.example")]);
    assert_eq!(
        paths(&root, &l, &[&named, &ica], "x.fleet.example"),
        REFUSED
    );
}

/// Every constrained CA of the path applies (the intersection of the permitted
/// subtrees): an intermediate cannot widen its issuer's constraints, nor escape them by
/// carrying its own.
#[test]
fn every_constrained_ca_in_the_path_applies() {
    let root = constrained_root("Root", permit_dns("fleet.example"));
    let wider = constrained_sub(&root, "CN=Wide ICA,O=Test", Some(permit_dns("example")));
    let l = leaf(&wider, "CN=x", vec![dns("bank.example")]);
    assert_eq!(paths(&root, &l, &[&wider], "bank.example"), REFUSED);
    let narrower = constrained_sub(
        &root,
        "CN=Narrow ICA,O=Test",
        Some(permit_dns("eu.fleet.example")),
    );
    let l = leaf(&narrower, "CN=x", vec![dns("us.fleet.example")]);
    assert_eq!(paths(&root, &l, &[&narrower], "us.fleet.example"), REFUSED);
    let l = leaf(&narrower, "CN=x", vec![dns("gw.eu.fleet.example")]);
    assert_eq!(
        paths(&root, &l, &[&narrower], "gw.eu.fleet.example"),
        ACCEPTED
    );
    // Excluded subtrees add up along the path.
    let ex = constrained_sub(
        &narrower,
        "CN=Ex ICA,O=Test",
        Some(nc(&[], &[(DNS, b"db.eu.fleet.example")])),
    );
    let l = leaf(&ex, "CN=x", vec![dns("db.eu.fleet.example")]);
    assert_eq!(
        paths(&root, &l, &[&ex, &narrower], "db.eu.fleet.example"),
        REFUSED
    );
}

/// The longest chain mbedTLS builds (leaf, MBEDTLS_X509_MAX_INTERMEDIATE_CA
/// intermediates, anchor): constraints on the anchor and on the intermediate right
/// above the leaf (the last slot of the bitmask) both hold.
#[test]
fn constraints_at_both_ends_of_the_longest_chain() {
    let max = sys::MBEDTLS_X509_MAX_INTERMEDIATE_CA as usize;
    for (on_root, on_last) in [(true, false), (false, true)] {
        let root = if on_root {
            constrained_root("Root", permit_dns("fleet.example"))
        } else {
            root("Root")
        };
        let mut cas: Vec<Ca> = Vec::new();
        for i in 0..max {
            let parent = cas.last().unwrap_or(&root);
            let constraints = (on_last && i + 1 == max).then(|| permit_dns("fleet.example"));
            let ca = constrained_sub(parent, &format!("CN=ICA {i},O=Test"), constraints);
            cas.push(ca);
        }
        let above: Vec<&Ca> = cas.iter().rev().collect();
        let last = cas.last().unwrap();
        let inside = leaf(last, "CN=x", vec![dns("x.fleet.example")]);
        let outside = leaf(last, "CN=x", vec![dns("bank.example")]);
        assert!(verifier_accepts(&root, &inside, &above, "x.fleet.example"));
        let err = Verifier::new(Trust::anchors(root.cert.clone()).unwrap())
            .expect_name("bank.example")
            .verify(&chain(&outside.cert, &above))
            .unwrap_err();
        assert!(nc_failure(&err), "root={on_root}: {err}");
        assert!(!session_accepts(&root, &outside, &above, "bank.example"));
    }
}

/// A constrained trust anchor found by a CA callback is enforced like a static one,
/// offline and on a foreign client.
#[test]
fn a_constrained_anchor_from_a_ca_callback() {
    let root = constrained_root("Root", permit_dns("fleet.example"));
    let callback = || {
        let anchor = root.cert.clone();
        Trust::callback(move |_child| {
            CaCandidates::from_chain(&anchor).map_err(|e| CaLookupError(e.to_string()))
        })
    };
    let inside = leaf(&root, "CN=x", vec![dns("x.fleet.example")]);
    let outside = leaf(&root, "CN=x", vec![dns("bank.example")]);
    Verifier::new(callback())
        .expect_name("x.fleet.example")
        .verify(&inside.cert)
        .unwrap();
    let err = Verifier::new(callback())
        .expect_name("bank.example")
        .verify(&outside.cert)
        .unwrap_err();
    assert!(nc_failure(&err), "{err}");
    assert!(external_accepts_with(
        callback(),
        &inside,
        &[],
        "x.fleet.example"
    ));
    assert!(!external_accepts_with(
        callback(),
        &outside,
        &[],
        "bank.example"
    ));
}

/// A constrained intermediate that also exists as an unconstrained self-signed
/// certificate (same subject and key): a peer sending the unconstrained twin first
/// does not get the leaf verified without the constraints (mbedTLS then builds a path
/// to nothing trusted).
#[test]
fn an_unconstrained_twin_of_a_constrained_intermediate_does_not_bypass_it() {
    let root = root("Root");
    let ica_key = key();
    let subject = "CN=Partner CA,O=Test";
    let constrained = Ca {
        cert: CertificateBuilder::new(subject)
            .ca(None)
            .raw_extension("2.5.29.30", false, permit_dns("partner.example"))
            .signed_by(&ica_key, root.cert(), &root.key)
            .unwrap(),
        key: key_copy(&ica_key),
    };
    let twin = Ca {
        cert: CertificateBuilder::new(subject)
            .ca(None)
            .self_signed(&ica_key)
            .unwrap(),
        key: ica_key,
    };
    let l = leaf(&constrained, "CN=x", vec![dns("bank.example")]);
    for cas in [
        vec![&twin, &constrained],
        vec![&constrained, &twin],
        vec![&constrained],
    ] {
        assert_eq!(paths(&root, &l, &cas, "bank.example"), REFUSED);
    }
    let ok = leaf(&constrained, "CN=x", vec![dns("x.partner.example")]);
    assert!(verifier_accepts(
        &root,
        &ok,
        &[&constrained],
        "x.partner.example"
    ));
}

/// Names on a client certificate are held to the constraints as well (a TLS server
/// verifying clients has no hostname; the constraints are on the certificate).
#[test]
fn client_certificates_below_a_constrained_ca() {
    let root = constrained_root(
        "Root",
        nc(
            &[(DNS, b"fleet.example"), (0x81, b"fleet.example")],
            &[(URI, b"admin.fleet.example")],
        ),
    );
    let verify = |sans: Vec<San>| {
        let l = client_leaf(&root, "device-1", sans);
        Verifier::new(Trust::anchors(root.cert.clone()).unwrap()).verify(&l.cert)
    };
    verify(vec![San::Email("dev@fleet.example".into())]).unwrap();
    for sans in [
        vec![San::Email("dev@FLEET.example.evil".into())],
        vec![San::Email("\"dev@fleet.example\"@evil.test".into())],
        vec![San::Email("dev@fleet.example@evil.test".into())],
        vec![uri("https://ADMIN.fleet.example:443/")],
        vec![uri("https://user@admin.fleet.example/")],
        vec![uri("https://x.fleet.example\\@admin.fleet.example/")],
        vec![uri("https://admin.fleet.example\\@x.fleet.example/")],
        vec![uri("https://admin%2Efleet.example/")],
        vec![uri("https:admin.fleet.example")],
        vec![uri("https://[::1]/")],
    ] {
        let Err(err) = verify(sans.clone()) else {
            panic!("accepted: {sans:?}");
        };
        assert!(nc_failure(&err), "{sans:?}: {err}");
    }
}
