//! Running x509-limbo test cases through the offline [`Verifier`]: shared by the
//! conformance test (`tests/conformance.rs`) and the CLI's `limbo` harness mode. It lives
//! with the tool that speaks the harness protocol, not in the library firmware links. JSON is the caller's business;
//! this module takes a case's fields as plain values.
//!
//! What the runner does with a case (SERVER validation, as a TLS client would):
//! - `trusted_certs` become a [`Trust::anchors`] set (with `crls`, if any); any
//!   certificate mbedTLS refuses to parse fails the case (fail closed, as loading a
//!   trust store or receiving a peer chain does);
//! - `untrusted_intermediates` are an unordered pool. mbedTLS looks for a certificate's
//!   issuer only among the certificates that *follow* it in the peer's list (the TLS 1.2
//!   order), so the pool is appended after the leaf once per member: every member then
//!   follows every other one, and any path through the pool can be found. Nothing is
//!   added that the case did not give, and using a certificate twice cannot make an
//!   invalid path valid;
//! - `validation_time` (RFC 3339) is the verification time, otherwise the current time;
//! - `expected_peer_name` (DNS or IP) is checked by mbedTLS against the SAN (dNSName,
//!   iPAddress) or, without a SAN extension, the subject CN;
//! - `extended_key_usage` and `key_usage` constrain the leaf the way mbedTLS's TLS layer
//!   does (`mbedtls_x509_crt_check_extended_key_usage` / `_key_usage`): an absent
//!   extension allows everything, and `anyExtendedKeyUsage` allows every purpose;
//! - `max_chain_depth` bounds the intermediates between the leaf and the trust anchor;
//!   self-issued intermediates are not counted (as for pathLenConstraint, RFC 5280
//!   4.2.1.9);
//! - `signature_algorithms`, CLIENT validation and RFC822 peer names are not expressible:
//!   such cases are skipped.

use mbedtls_verify::profile::{Profile, SecurityProfile};
use mbedtls_verify::trust::Trust;
use mbedtls_verify::verifier::{ValidationTime, Verifier};
use mbedtls_verify::x509::{CertChain, DateTime, ExtendedKeyUsage, KeyUsage};

/// The peer name a SERVER case expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerName {
    Dns(String),
    Ip(String),
    /// An email address (not a SERVER name: such cases are skipped).
    Rfc822(String),
}

/// One x509-limbo test case (the fields this harness uses).
#[derive(Debug, Clone, Default)]
pub struct Case {
    pub id: String,
    /// `SERVER` or `CLIENT`.
    pub validation_kind: String,
    pub trusted_certs: Vec<String>,
    pub untrusted_intermediates: Vec<String>,
    pub peer_certificate: String,
    /// RFC 3339.
    pub validation_time: Option<String>,
    pub expected_peer_name: Option<PeerName>,
    pub extended_key_usage: Vec<String>,
    pub key_usage: Vec<String>,
    pub max_chain_depth: Option<u32>,
    pub signature_algorithms: Vec<String>,
    /// PEM CRLs to check revocation against.
    pub crls: Vec<String>,
}

/// What the harness answers for a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure(String),
    Skipped(String),
}

impl Outcome {
    /// `SUCCESS`, `FAILURE` or `SKIPPED`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Success => "SUCCESS",
            Outcome::Failure(_) => "FAILURE",
            Outcome::Skipped(_) => "SKIPPED",
        }
    }

    /// Why (empty for success).
    pub fn context(&self) -> &str {
        match self {
            Outcome::Success => "",
            Outcome::Failure(c) | Outcome::Skipped(c) => c,
        }
    }
}

/// Run one case.
pub fn run(case: &Case) -> Outcome {
    if case.validation_kind != "SERVER" {
        return Outcome::Skipped(format!(
            "validation kind {} is not supported",
            case.validation_kind
        ));
    }
    if !case.signature_algorithms.is_empty() {
        return Outcome::Skipped("signature_algorithms constraints are not expressible".into());
    }
    let mut trusted = match CertChain::new() {
        Ok(c) => c,
        Err(e) => return Outcome::Failure(e.to_string()),
    };
    // A certificate mbedTLS cannot parse cannot be part of any path: leaving it out of
    // the pool only removes candidates (fails closed), and a path that needs it fails.
    for pem in &case.trusted_certs {
        let _ = trusted.push_pem(pem.as_bytes());
    }
    let mut chain = match CertChain::from_pem(case.peer_certificate.as_bytes()) {
        Ok(c) => c,
        Err(e) => return Outcome::Failure(format!("peer certificate rejected: {e}")),
    };
    // The pool, once per member (see the module documentation): mbedTLS searches an
    // issuer only among the certificates after the child.
    for _ in 0..case.untrusted_intermediates.len() {
        for pem in &case.untrusted_intermediates {
            let _ = chain.push_pem(pem.as_bytes());
        }
    }
    let trust = if case.crls.is_empty() {
        Trust::anchors(trusted)
    } else {
        with_crls(trusted, &case.crls)
    };
    let trust = match trust {
        Ok(t) => t,
        Err(e) => return Outcome::Failure(e.to_string()),
    };
    let mut verifier = Verifier::new(trust)
        .with_profile(SecurityProfile::DEFAULT.with_rules(Profile::WebPkiClient));
    if let Some(t) = &case.validation_time {
        match DateTime::parse_rfc3339(t) {
            Some(dt) => verifier = verifier.at_time(ValidationTime::At(dt.unix_timestamp())),
            None => return Outcome::Skipped(format!("unreadable validation_time {t}")),
        }
    }
    match &case.expected_peer_name {
        Some(PeerName::Dns(n)) | Some(PeerName::Ip(n)) => verifier = verifier.expect_name(n),
        Some(PeerName::Rfc822(_)) => return Outcome::Skipped("RFC822 peer names".into()),
        None => {}
    }
    let verified = match verifier.verify(&chain) {
        Ok(v) => v,
        Err(e) => return Outcome::Failure(e.to_string()),
    };
    let leaf = verified.leaf();
    if let Some(max) = case.max_chain_depth {
        // The number of intermediates between the leaf and the trust anchor; as for
        // pathLenConstraint (RFC 5280 4.2.1.9), self-issued ones are not counted.
        let certs: Vec<_> = verified.chain().iter().collect();
        let intermediates = certs
            .get(1..certs.len().saturating_sub(1))
            .unwrap_or(&[])
            .iter()
            .filter(|c| !c.is_self_issued())
            .count() as u64;
        if intermediates > u64::from(max) {
            return Outcome::Failure(format!(
                "{intermediates} intermediates exceed max_chain_depth {max}"
            ));
        }
    }
    for name in &case.extended_key_usage {
        let Some(wanted) = ExtendedKeyUsage::from_name(name) else {
            return Outcome::Skipped(format!("unknown extended key usage {name}"));
        };
        if let Some(ekus) = leaf.extended_key_usage() {
            let mut ekus = ekus;
            if !ekus.any(|e| e == wanted || e == ExtendedKeyUsage::Any) {
                return Outcome::Failure(format!("leaf lacks extended key usage {name}"));
            }
        }
    }
    for name in &case.key_usage {
        let Some(wanted) = key_usage_from_name(name) else {
            return Outcome::Skipped(format!("unknown key usage {name}"));
        };
        if let Some(ku) = leaf.key_usage() {
            if !ku.contains(wanted) {
                return Outcome::Failure(format!("leaf lacks key usage {name}"));
            }
        }
    }
    Outcome::Success
}

/// A limbo / RFC 5280 keyUsage name.
fn key_usage_from_name(name: &str) -> Option<KeyUsage> {
    Some(match name {
        "digitalSignature" => KeyUsage::DIGITAL_SIGNATURE,
        "contentCommitment" | "nonRepudiation" => KeyUsage::NON_REPUDIATION,
        "keyEncipherment" => KeyUsage::KEY_ENCIPHERMENT,
        "dataEncipherment" => KeyUsage::DATA_ENCIPHERMENT,
        "keyAgreement" => KeyUsage::KEY_AGREEMENT,
        "keyCertSign" => KeyUsage::KEY_CERT_SIGN,
        "cRLSign" => KeyUsage::CRL_SIGN,
        "encipherOnly" => KeyUsage::ENCIPHER_ONLY,
        "decipherOnly" => KeyUsage::DECIPHER_ONLY,
        _ => return None,
    })
}

fn with_crls(cas: CertChain, crls: &[String]) -> mbedtls_verify::Result<Trust> {
    let mut list: Option<mbedtls_verify::x509::Crl> = None;
    for pem in crls {
        match &mut list {
            Some(l) => l.push(pem.as_bytes())?,
            None => list = Some(mbedtls_verify::x509::Crl::parse(pem.as_bytes())?),
        }
    }
    match list {
        Some(l) => Trust::anchors_with_crl(cas, l),
        None => Trust::anchors(cas),
    }
}
