//! `verify`: the offline verifier, with the verify hook's trace and the decision.
//!
//! Text for people, or with `--json` one JSON object per line (documented in the
//! README, "Command-line tool"):
//!
//! ```text
//! {"type":"cert","depth":2,"role":"trust_anchor","subject":"CN=Fleet Root CA, O=Fleet","flags":[],"flags_raw":0,"violation":null}
//! {"type":"cert","depth":1,"role":"intermediate","subject":"CN=Fleet Issuing CA, O=Fleet","flags":[],"flags_raw":0,"violation":null}
//! {"type":"cert","depth":0,"role":"leaf","subject":"CN=device-17, O=Fleet","flags":["revoked"],"flags_raw":2,"violation":null}
//! {"type":"decision","decision":"rejected","reasons":["revoked: the certificate has been revoked (in a CRL)"],"rule":null}
//! ```

use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use mbedtls_verify::profile::{Profile, SecurityProfile};
use mbedtls_verify::verifier::{ValidationTime, Verifier};
use mbedtls_verify::verify::TraceEntry;
use mbedtls_verify::x509::DateTime;

use crate::util::{
    CliResult, EXIT_OK, EXIT_REJECTED, Failure, flag_list, load_certs, load_policy, load_trust,
    out, reasons, trace_lines,
};

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Trusted CA certificate file(s) (PEM, one or more certificates each, or DER).
    #[arg(long, value_name = "FILE", required = true, num_args = 1..)]
    ca: Vec<PathBuf>,
    /// The chain to verify: the leaf first, then any intermediates (PEM).
    #[arg(long, value_name = "FILE")]
    chain: PathBuf,
    /// Certificate revocation list(s) to check against (PEM or DER).
    #[arg(long, value_name = "FILE", num_args = 1..)]
    crl: Vec<PathBuf>,
    /// A client-authorization policy (TOML); without it only the chain is checked.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Verify at this time (RFC 3339, e.g. 2026-05-01T12:00:00Z) instead of now.
    #[arg(long, value_name = "RFC3339")]
    time: Option<String>,
    /// The structural certificate profile: `private-fleet` (default), `rfc5280-strict`
    /// or `webpki-client` (see the README's "Conformance").
    #[arg(long, value_name = "NAME", default_value = "private-fleet")]
    profile: String,
    /// One JSON object per line: the trace, then the decision.
    #[arg(long)]
    json: bool,
}

/// A profile by its command-line name.
fn profile_by_name(name: &str) -> CliResult<Profile> {
    match name {
        "private-fleet" => Ok(Profile::PrivateFleet),
        "rfc5280-strict" => Ok(Profile::Rfc5280Strict),
        "webpki-client" => Ok(Profile::WebPkiClient),
        other => Err(Failure::input(format!(
            "--profile {other:?}: expected private-fleet, rfc5280-strict or webpki-client"
        ))),
    }
}

/// A trace line of `--json`.
#[derive(Serialize)]
struct CertLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    depth: u32,
    role: &'static str,
    subject: &'a str,
    flags: Vec<&'static str>,
    flags_raw: u32,
    /// The profile rule the certificate breaks, if any.
    violation: Option<&'static str>,
}

/// The decision line of `--json`.
#[derive(Serialize)]
struct DecisionLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    decision: &'static str,
    reasons: &'a [String],
    rule: Option<&'a str>,
}

fn json_line(value: &impl Serialize) -> CliResult<String> {
    serde_json::to_string(value)
        .map(|mut s| {
            s.push('\n');
            s
        })
        .map_err(|e| Failure::input(format!("cannot encode JSON: {e}")))
}

fn cert_line(t: &TraceEntry) -> CertLine<'_> {
    CertLine {
        kind: "cert",
        depth: t.depth,
        role: t.role.as_str(),
        subject: &t.subject,
        flags: t.flags.names().collect(),
        flags_raw: t.flags.bits(),
        violation: t.violation.map(|r| r.name()),
    }
}

pub fn run(args: VerifyArgs) -> CliResult<u8> {
    let trust = load_trust(&args.ca, &args.crl)?;
    let chain = load_certs(std::slice::from_ref(&args.chain), "certificate chain")?;
    let policy = args.policy.as_deref().map(load_policy).transpose()?;
    let time = match &args.time {
        Some(t) => {
            let at = DateTime::parse_rfc3339(t).ok_or_else(|| {
                Failure::input(format!(
                    "--time {t:?} is not an RFC 3339 time (e.g. 2026-05-01T12:00:00Z)"
                ))
            })?;
            ValidationTime::At(at.unix_timestamp())
        }
        None => ValidationTime::Now,
    };

    let profile = profile_by_name(&args.profile)?;
    let mut verifier = Verifier::new(trust)
        .at_time(time)
        .with_profile(SecurityProfile::DEFAULT.with_rules(profile));
    if let Some(p) = policy {
        verifier = verifier.with_policy(p);
    }
    let (trace, result) = verifier.verify_traced(&chain);

    let (decision, why, rule) = match &result {
        Ok(v) => (
            "accepted",
            Vec::new(),
            v.authorized_by()
                .zip(verifier.policy())
                .map(|(rule, policy)| policy.describe(rule)),
        ),
        Err(e) => ("rejected", reasons(e), None),
    };

    let mut text = String::new();
    if args.json {
        for t in &trace {
            text.push_str(&json_line(&cert_line(t))?);
        }
        text.push_str(&json_line(&DecisionLine {
            kind: "decision",
            decision,
            reasons: &why,
            rule: rule.as_deref(),
        })?);
    } else {
        text.push_str("trace (in the order mbedTLS called the verify hook):\n");
        if trace.is_empty() {
            text.push_str("  (the hook was not called)\n");
        }
        for line in trace_lines(&trace) {
            text.push_str(&format!("  {line}\n"));
        }
        text.push_str(&format!("decision: {decision}\n"));
        match &result {
            Ok(v) => {
                if let Some(rule) = &rule {
                    text.push_str(&format!("  authorized by {rule}\n"));
                } else if verifier.policy().is_none() {
                    text.push_str("  (no --policy: the chain verified, nothing was authorized)\n");
                }
                let path: Vec<String> = v
                    .chain()
                    .iter()
                    .zip(v.roles())
                    .map(|(c, r)| format!("{} ({})", c.subject(), r.as_str()))
                    .collect();
                text.push_str(&format!("  path, leaf first: {}\n", path.join(", ")));
            }
            Err(e) => {
                for r in &why {
                    text.push_str(&format!("  - {r}\n"));
                }
                if !e.flags.is_empty() {
                    text.push_str(&format!("  flags: {}\n", flag_list(e.flags)));
                }
            }
        }
    }
    out(&text)?;
    Ok(if result.is_ok() {
        EXIT_OK
    } else {
        EXIT_REJECTED
    })
}
