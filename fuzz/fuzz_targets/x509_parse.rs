//! Certificate parsing (`CertChain::parse`, `from_der`, `from_pem`, a DER
//! concatenation) and every accessor of `CertRef`, on arbitrary bytes.
//!
//! Invariants: no panic; a parsed certificate's DER re-parses to the same certificate
//! and its PEM round-trips; a malformed extension list makes basicConstraints
//! `Malformed` (never a CA); only a well-formed basicConstraints with cA=TRUE is a CA;
//! the certificate profiles are deterministic and ordered (a certificate that meets a
//! profile meets every profile with fewer rules), and the CRL rules take any bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mbedtls_verify::name_constraints::NameConstraints;
use mbedtls_verify::profile::{Profile, Rules, check_crl};
use mbedtls_verify::x509::{
    AttributeKind, BasicConstraints, CertChain, CertRef, ExtendedKeyUsage, SignatureAlgorithm,
};

fn name(n: mbedtls_verify::x509::Name<'_>) {
    let s = n.to_string_lossy();
    assert_eq!(s, format!("{n}"));
    let _ = format!("{n:?}");
    let _ = n.is_well_formed();
    for a in n.attributes() {
        let _ = (
            a.value_str(),
            a.value_der(),
            a.kind.short_name(),
            a.oid.to_string(),
        );
        assert!(a.value_der().ends_with(a.value));
    }
    let _ = n.common_name();
    for kind in [
        AttributeKind::CommonName,
        AttributeKind::Organization,
        AttributeKind::OrganizationalUnit,
        AttributeKind::Country,
        AttributeKind::EmailAddress,
        AttributeKind::DomainComponent,
        AttributeKind::Other,
    ] {
        for v in n.values(kind) {
            assert!(!v.contains('\0'));
        }
    }
}

fn accessors(c: CertRef<'_>) {
    name(c.subject());
    name(c.issuer());
    let _ = (c.serial(), c.serial_hex(), c.is_self_issued());
    assert!((1..=3).contains(&c.version()), "version {}", c.version());
    for t in [c.not_before(), c.not_after()] {
        let _ = (t.to_string(), t.is_valid(), t.unix_timestamp());
    }
    for san in c.subject_alt_names().take(64) {
        let _ = san.to_string();
    }
    let _ = c.key_usage();
    if let Some(ekus) = c.extended_key_usage() {
        let _ = ekus.contains(&ExtendedKeyUsage::ClientAuth);
        let _ = ekus.permits(&ExtendedKeyUsage::ServerAuth);
        for e in ekus.take(64) {
            let _ = (e.to_string(), e.oid());
        }
    }
    for p in c.policies().take(64) {
        let _ = p.to_string();
    }
    let mut ext_error = false;
    let mut bc_count = 0;
    for e in c.extensions() {
        match e {
            Ok(e) => {
                let _ = e.oid.to_string();
                if e.oid == mbedtls_verify::der::oid::BASIC_CONSTRAINTS {
                    bc_count += 1;
                }
            }
            Err(_) => ext_error = true,
        }
    }
    let bc = c.basic_constraints();
    if ext_error || bc_count > 1 {
        assert_eq!(
            bc,
            BasicConstraints::Malformed,
            "malformed extensions, bc {bc:?}"
        );
    }
    if bc_count == 0 && !ext_error {
        assert_eq!(bc, BasicConstraints::Absent);
    }
    if bc.is_ca() {
        assert!(matches!(bc, BasicConstraints::Valid { ca: true, .. }));
    }
    let alg = c.signature_algorithm();
    let text = alg.to_string();
    if !text.starts_with('?') {
        if let SignatureAlgorithm::Other(_) | SignatureAlgorithm::RsaPss { .. } = alg {
        } else {
            assert_eq!(SignatureAlgorithm::from_name(&text), Some(alg.clone()));
        }
    }
    // Certificate profiles: deterministic; a certificate that meets a profile meets
    // every profile with fewer rules; no rules, no failure.
    for (leaf, anchor) in [(true, false), (false, false), (false, true), (true, true)] {
        let web = Profile::WebPkiClient.check(&c, leaf, anchor);
        assert_eq!(web, Profile::WebPkiClient.check(&c, leaf, anchor));
        let strict = Profile::Rfc5280Strict.check(&c, leaf, anchor);
        let fleet = Profile::PrivateFleet.check(&c, leaf, anchor);
        if web.is_ok() {
            assert_eq!(strict, Ok(()), "WebPkiClient passed, Rfc5280Strict did not");
        }
        if strict.is_ok() {
            assert_eq!(fleet, Ok(()), "Rfc5280Strict passed, PrivateFleet did not");
        }
        if let Err(rule) = web {
            assert!(Profile::WebPkiClient.rules().contains(rule.bit()));
        }
        assert_eq!(
            Profile::Custom(Rules::empty()).check(&c, leaf, anchor),
            Ok(())
        );
    }
    let _ = c.public_key();
    let _ = c.spki_der();
    assert_eq!(c.fingerprint_sha256(), c.fingerprint_sha256());
    let _ = c.spki_sha256();
    let _ = format!("{c:?}");

    // The DER mbedTLS kept re-parses to the same certificate.
    let again = CertChain::from_der(c.der()).expect("a parsed certificate re-parses");
    let a = again.first().unwrap();
    assert_eq!(a.der(), c.der());
    assert_eq!(a.subject().der(), c.subject().der());
    assert_eq!(a.spki_der(), c.spki_der());
    assert_eq!(a.basic_constraints(), bc);
}

fn chain(chain: &CertChain) {
    let n = chain.len();
    assert_eq!(chain.iter().count(), n);
    assert_eq!(chain.is_empty(), n == 0);
    for c in chain.iter() {
        accessors(c);
    }
    // nameConstraints of every certificate, checked against every certificate (any
    // outcome; no panic, and the same answer twice).
    for ca in chain.iter().take(8) {
        if let Ok(Some(nc)) = NameConstraints::of(&ca) {
            for c in chain.iter().take(8) {
                assert_eq!(nc.check(&c), nc.check(&c));
            }
        }
    }
    if n > 0 {
        let pem = chain.to_pem();
        let back = CertChain::from_pem(pem.as_bytes()).expect("PEM round trip");
        assert_eq!(back.len(), n);
        for (a, b) in back.iter().zip(chain.iter()) {
            assert_eq!(a.der(), b.der());
            assert!(chain.contains_der(a.der()));
        }
        let _ = chain.clone();
    }
}

fuzz_target!(|data: &[u8]| {
    // The CRL rules read any bytes (as a CRL's DER) without panicking.
    assert_eq!(check_crl(Rules::all(), data), check_crl(Rules::all(), data));
    assert_eq!(check_crl(Rules::empty(), data), Ok(()));
    if let Ok(c) = CertChain::parse(data) {
        chain(&c);
    }
    if !mvfuzz::looks_like_pem(data) {
        if let Some(c) = mvfuzz::parse_chain(data) {
            chain(&c);
        }
    }
});
