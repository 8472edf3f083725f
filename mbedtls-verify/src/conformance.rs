//! Running x509-limbo test cases through the offline [`Verifier`]: shared by the
//! conformance test and the CLI's `limbo` harness mode. JSON is the caller's business;
//! this module takes a case's fields as plain values.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::trust::Trust;
use crate::verifier::{ValidationTime, Verifier};
use crate::x509::{CertChain, DateTime, ExtendedKeyUsage, KeyUsage};

/// The peer name a SERVER case expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerName {
    Dns(String),
    Ip(String),
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
        return Outcome::Skipped(alloc::format!(
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
    for pem in &case.trusted_certs {
        if let Err(e) = trusted.push_pem(pem.as_bytes()) {
            return Outcome::Failure(alloc::format!("trusted certificate rejected: {e}"));
        }
    }
    let mut chain = match CertChain::from_pem(case.peer_certificate.as_bytes()) {
        Ok(c) => c,
        Err(e) => return Outcome::Failure(alloc::format!("peer certificate rejected: {e}")),
    };
    for pem in &case.untrusted_intermediates {
        if let Err(e) = chain.push_pem(pem.as_bytes()) {
            return Outcome::Failure(alloc::format!("intermediate rejected: {e}"));
        }
    }
    let trust = match Trust::anchors(trusted) {
        Ok(t) => t,
        Err(e) => return Outcome::Failure(e.to_string()),
    };
    let mut verifier = Verifier::new(trust);
    if let Some(t) = &case.validation_time {
        match DateTime::parse_rfc3339(t) {
            Some(dt) => verifier = verifier.at_time(ValidationTime::At(dt.unix_timestamp())),
            None => return Outcome::Skipped(alloc::format!("unreadable validation_time {t}")),
        }
    }
    match &case.expected_peer_name {
        Some(PeerName::Dns(n)) | Some(PeerName::Ip(n)) => verifier = verifier.expect_name(n),
        None => {}
    }
    let verified = match verifier.verify(&chain) {
        Ok(v) => v,
        Err(e) => return Outcome::Failure(e.to_string()),
    };
    let leaf = verified.leaf();
    if let Some(max) = case.max_chain_depth {
        let intermediates = verified.chain().len().saturating_sub(2) as u32;
        if intermediates > max {
            return Outcome::Failure(alloc::format!(
                "{intermediates} intermediates exceed max_chain_depth {max}"
            ));
        }
    }
    for name in &case.extended_key_usage {
        let Some(wanted) = ExtendedKeyUsage::from_name(name) else {
            return Outcome::Skipped(alloc::format!("unknown extended key usage {name}"));
        };
        if let Some(ekus) = leaf.extended_key_usage() {
            let mut ekus = ekus;
            if !ekus.any(|e| e == wanted || e == ExtendedKeyUsage::Any) {
                return Outcome::Failure(alloc::format!("leaf lacks extended key usage {name}"));
            }
        }
    }
    for name in &case.key_usage {
        let wanted = match name.as_str() {
            "digitalSignature" => KeyUsage::DIGITAL_SIGNATURE,
            "keyEncipherment" => KeyUsage::KEY_ENCIPHERMENT,
            "keyAgreement" => KeyUsage::KEY_AGREEMENT,
            other => return Outcome::Skipped(alloc::format!("key usage {other} is not supported")),
        };
        if let Some(ku) = leaf.key_usage() {
            if !ku.contains(wanted) {
                return Outcome::Failure(alloc::format!("leaf lacks key usage {name}"));
            }
        }
    }
    Outcome::Success
}
