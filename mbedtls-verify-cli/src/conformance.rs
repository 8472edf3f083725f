//! Running x509-limbo test cases through the offline [`Verifier`]: shared by the
//! conformance test (`tests/conformance.rs`) and the CLI's `limbo` harness mode. It lives
//! with the tool that speaks the harness protocol, not in the library firmware links. JSON is the caller's business;
//! this module takes a case's fields as plain values.
//!
//! What the runner does with a case:
//! - one configuration per validation kind ([`profile_for`]): SERVER cases (a TLS client
//!   verifying a server) with [`Profile::WebPkiClient`], CLIENT cases (a TLS server
//!   verifying a client) with [`Profile::Rfc5280Strict`], as the other libraries'
//!   harnesses run one configuration; never a choice per case;
//! - `trusted_certs` become a [`Trust::anchors`] set (with `crls`, if any);
//! - `untrusted_intermediates` are an unordered pool. mbedTLS looks for a certificate's
//!   issuer only among the certificates that *follow* it in the peer's list (the TLS 1.2
//!   order), so the pool is appended after the leaf once per member: every member then
//!   follows every other one, and any path through the pool can be found. Nothing is
//!   added that the case did not give, and using a certificate twice cannot make an
//!   invalid path valid. A trusted or pooled certificate that mbedTLS cannot parse is
//!   left out: no path can use it, and leaving it out only removes candidates (a path
//!   that needs it fails). The peer's own certificate must parse;
//! - `validation_time` (RFC 3339) is the verification time, otherwise the current time;
//! - `expected_peer_name`: for SERVER cases a DNS name or IP address is checked as a TLS
//!   client checks the server name (SAN dNSName / iPAddress, see `Verifier::expect_name`);
//!   for CLIENT cases a DNS name is a [`ClientPolicy`] `allow_dns` rule and an IP address
//!   is checked against the SAN as for servers; an RFC 822 name is an `allow_email` rule
//!   for either kind;
//! - `extended_key_usage`: for CLIENT cases the policy's `require_eku` (the leaf must list
//!   every one; without a list, a leaf with the extension must allow clientAuth, as the
//!   TLS server asks); for SERVER cases the leaf must allow each purpose the way mbedTLS's
//!   TLS layer checks it (`anyExtendedKeyUsage` allows every purpose), on top of the
//!   profile's serverAuth rule. `key_usage` constrains the leaf the way mbedTLS's TLS
//!   layer does (an absent extension allows everything);
//! - `signature_algorithms` become the policy's `signature_algorithms` (every signature
//!   checked on the path); names of algorithms this crate never verifies (MD5, SHA-1,
//!   SHA-224, SHA-3, DSA, EdDSA, GOST) add nothing;
//! - `max_chain_depth` bounds the intermediates between the leaf and the trust anchor;
//!   self-issued intermediates are not counted (as for pathLenConstraint, RFC 5280
//!   4.2.1.9).

use mbedtls_verify::policy::ClientPolicy;
use mbedtls_verify::profile::{Profile, SecurityProfile};
use mbedtls_verify::trust::Trust;
use mbedtls_verify::verifier::{ValidationTime, Verifier};
use mbedtls_verify::x509::{CertChain, DateTime, ExtendedKeyUsage, KeyUsage, SignatureAlgorithm};

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

/// The profile the runner verifies a validation kind with: the crate's strictest profile
/// for that purpose, one per kind, never chosen per case.
pub fn profile_for(validation_kind: &str) -> Option<Profile> {
    match validation_kind {
        // A TLS client verifying (public) servers.
        "SERVER" => Some(Profile::WebPkiClient),
        // A TLS server verifying clients: no Web PKI subscriber rules (they are about
        // server certificates), every RFC 5280 structural rule.
        "CLIENT" => Some(Profile::Rfc5280Strict),
        _ => None,
    }
}

/// A limbo signature algorithm name as the policy's algorithms (several for RSASSA-PSS,
/// whose hash the name leaves open); `None` for algorithms this crate never verifies
/// (MD5, SHA-1, SHA-224, SHA-3, DSA, EdDSA, GOST), which no verified chain can use.
fn signature_algorithms_from_name(name: &str) -> Option<Vec<SignatureAlgorithm<'static>>> {
    let names: &[&str] = match name {
        "RSA_WITH_SHA256" => &["rsa-pkcs1-sha256"],
        "RSA_WITH_SHA384" => &["rsa-pkcs1-sha384"],
        "RSA_WITH_SHA512" => &["rsa-pkcs1-sha512"],
        "ECDSA_WITH_SHA256" => &["ecdsa-sha256"],
        "ECDSA_WITH_SHA384" => &["ecdsa-sha384"],
        "ECDSA_WITH_SHA512" => &["ecdsa-sha512"],
        "RSASSA_PSS" => &["rsa-pss-sha256", "rsa-pss-sha384", "rsa-pss-sha512"],
        _ => return None,
    };
    names
        .iter()
        .map(|n| SignatureAlgorithm::from_name(n))
        .collect()
}

/// The client-authorization policy a case needs, if any: CLIENT validation (the leaf's
/// EKUs, the peer name as an allow rule), an RFC 822 peer name, or a list of signature
/// algorithms. `Err` when the case cannot be run (a reason for FAILURE).
fn policy_for(case: &Case) -> Result<Option<ClientPolicy>, Outcome> {
    let client = case.validation_kind == "CLIENT";
    let rfc822 = matches!(case.expected_peer_name, Some(PeerName::Rfc822(_)));
    if !client && !rfc822 && case.signature_algorithms.is_empty() {
        return Ok(None);
    }
    let mut b = ClientPolicy::builder();
    // EKUs: CLIENT cases list what the leaf must have; a leaf without the extension is
    // then refused, as by the TLS server. Without a list, a client certificate that has
    // the extension must allow clientAuth (what mbedTLS's TLS server checks). SERVER
    // cases keep their own EKU check (below).
    let mut ekus = Vec::new();
    for name in &case.extended_key_usage {
        match ExtendedKeyUsage::from_name(name) {
            Some(e) => ekus.push(e),
            None => {
                return Err(Outcome::Skipped(format!(
                    "unknown extended key usage {name}"
                )));
            }
        }
    }
    if client && !ekus.is_empty() {
        b = b.require_eku(ekus);
    } else {
        b = b
            .require_eku([if client {
                ExtendedKeyUsage::ClientAuth
            } else {
                ExtendedKeyUsage::ServerAuth
            }])
            .allow_missing_eku(true);
    }
    if !case.signature_algorithms.is_empty() {
        let algs: Vec<_> = case
            .signature_algorithms
            .iter()
            .filter_map(|n| signature_algorithms_from_name(n))
            .flatten()
            .collect();
        if algs.is_empty() {
            return Err(Outcome::Failure(
                "none of the allowed signature algorithms is one this crate verifies".into(),
            ));
        }
        b = b.signature_algorithms(algs);
    }
    b = match &case.expected_peer_name {
        Some(PeerName::Rfc822(mail)) => b.allow_email(mail),
        Some(PeerName::Dns(name)) if client => b.allow_dns(name),
        // SERVER names and IP addresses are checked as a TLS client checks them.
        _ => b.allow_any_verified(true),
    };
    b.build()
        .map(Some)
        .map_err(|e| Outcome::Failure(format!("the case's policy: {e}")))
}

/// Run one case.
pub fn run(case: &Case) -> Outcome {
    let Some(profile) = profile_for(&case.validation_kind) else {
        return Outcome::Skipped(format!("unknown validation kind {}", case.validation_kind));
    };
    let policy = match policy_for(case) {
        Ok(p) => p,
        Err(outcome) => return outcome,
    };
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
    let mut verifier =
        Verifier::new(trust).with_profile(SecurityProfile::DEFAULT.with_rules(profile));
    if let Some(p) = policy {
        verifier = verifier.with_policy(p);
    }
    if let Some(t) = &case.validation_time {
        match DateTime::parse_rfc3339(t) {
            Some(dt) => verifier = verifier.at_time(ValidationTime::At(dt.unix_timestamp())),
            None => return Outcome::Skipped(format!("unreadable validation_time {t}")),
        }
    }
    let client = case.validation_kind == "CLIENT";
    match &case.expected_peer_name {
        Some(PeerName::Ip(n)) => verifier = verifier.expect_name(n),
        Some(PeerName::Dns(n)) if !client => verifier = verifier.expect_name(n),
        _ => {}
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
    if !client {
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
