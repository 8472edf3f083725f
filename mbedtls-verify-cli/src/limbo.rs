//! `limbo`: the x509-limbo harness protocol. Reads a limbo test-case file on stdin,
//! runs every case through the conformance runner
//! ([`crate::conformance::run`]) and writes
//! `{"version": 1, "harness": "mbedtls-verify", "results": [...]}` to stdout.
//!
//! Every case is answered: one that cannot be read (a missing or mistyped field) is
//! `SKIPPED` with the reason, as are the cases the runner cannot express. The
//! comparison with `expected_result` is the consumer's business; a summary goes to
//! stderr.

use std::io::Read;

use clap::Args;
use serde::Serialize;
use serde_json::Value;

use mbedtls_verify_cli::conformance::{self, Case, Outcome, PeerName};

use crate::util::{CliResult, EXIT_OK, Failure, log, out};

#[derive(Debug, Args)]
pub struct LimboArgs {}

#[derive(Serialize)]
struct ResultLine {
    id: String,
    actual_result: &'static str,
    context: String,
}

#[derive(Serialize)]
struct Results {
    version: u32,
    harness: &'static str,
    results: Vec<ResultLine>,
}

/// A string field (`None` when absent or null).
fn string(case: &Value, key: &str) -> Result<Option<String>, String> {
    match case.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("field {key} is not a string")),
    }
}

/// A list of strings (empty when absent or null).
fn strings(case: &Value, key: &str) -> Result<Vec<String>, String> {
    match case.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("field {key} holds a non-string"))
            })
            .collect(),
        Some(_) => Err(format!("field {key} is not a list")),
    }
}

/// The runner's case from one JSON test case, or why it cannot be read.
fn to_case(case: &Value, id: &str) -> Result<Case, String> {
    let required = |key: &str| string(case, key)?.ok_or_else(|| format!("field {key} is missing"));
    let expected_peer_name = match case.get("expected_peer_name") {
        None | Some(Value::Null) => None,
        Some(name) => {
            let kind = string(name, "kind")?.ok_or("expected_peer_name has no kind")?;
            let value = string(name, "value")?.ok_or("expected_peer_name has no value")?;
            Some(match kind.as_str() {
                "DNS" => PeerName::Dns(value),
                "IP" => PeerName::Ip(value),
                "RFC822" => PeerName::Rfc822(value),
                other => return Err(format!("unknown expected_peer_name kind {other}")),
            })
        }
    };
    let max_chain_depth = match case.get("max_chain_depth") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or("field max_chain_depth is not a small non-negative integer")?,
        ),
    };
    Ok(Case {
        id: id.to_string(),
        validation_kind: required("validation_kind")?,
        trusted_certs: strings(case, "trusted_certs")?,
        untrusted_intermediates: strings(case, "untrusted_intermediates")?,
        peer_certificate: required("peer_certificate")?,
        validation_time: string(case, "validation_time")?,
        expected_peer_name,
        extended_key_usage: strings(case, "extended_key_usage")?,
        key_usage: strings(case, "key_usage")?,
        max_chain_depth,
        signature_algorithms: strings(case, "signature_algorithms")?,
        crls: strings(case, "crls")?,
    })
}

/// Run one case; a panic in the runner (which should never happen) becomes a FAILURE.
fn run_case(case: &Case) -> Outcome {
    std::panic::catch_unwind(|| conformance::run(case))
        .unwrap_or_else(|_| Outcome::Failure("internal error: the runner panicked".into()))
}

pub fn run(_args: LimboArgs) -> CliResult<u8> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| Failure::input(format!("cannot read the test cases from stdin: {e}")))?;
    let doc: Value = serde_json::from_str(&input)
        .map_err(|e| Failure::input(format!("stdin is not a limbo test-case file (JSON): {e}")))?;
    let cases = doc
        .get("testcases")
        .and_then(Value::as_array)
        .ok_or_else(|| Failure::input("stdin has no \"testcases\" list (not a limbo file)"))?;

    let mut results = Vec::with_capacity(cases.len());
    let (mut differ, mut counts) = (0usize, [0usize; 3]);
    for (i, case) in cases.iter().enumerate() {
        let id = match case.get("id").and_then(Value::as_str) {
            Some(id) => id.to_string(),
            None => format!("<test case #{i} without an id>"),
        };
        let outcome = match to_case(case, &id) {
            Ok(c) => run_case(&c),
            Err(why) => Outcome::Skipped(format!("unreadable test case: {why}")),
        };
        counts[match outcome {
            Outcome::Success => 0,
            Outcome::Failure(_) => 1,
            Outcome::Skipped(_) => 2,
        }] += 1;
        let expected = case.get("expected_result").and_then(Value::as_str);
        if !matches!(outcome, Outcome::Skipped(_))
            && expected.is_some_and(|e| e != outcome.as_str())
        {
            differ += 1;
        }
        results.push(ResultLine {
            id,
            actual_result: outcome.as_str(),
            context: outcome.context().to_string(),
        });
    }
    let doc = Results {
        version: 1,
        harness: "mbedtls-verify",
        results,
    };
    let mut text = serde_json::to_string_pretty(&doc)
        .map_err(|e| Failure::input(format!("cannot encode JSON: {e}")))?;
    text.push('\n');
    out(&text)?;
    log(format!(
        "limbo: {} cases: {} SUCCESS, {} FAILURE, {} SKIPPED; {differ} of those run differ from expected_result",
        cases.len(),
        counts[0],
        counts[1],
        counts[2]
    ));
    Ok(EXIT_OK)
}
