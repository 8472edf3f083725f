//! x509-limbo conformance: every case of the shared limbo file through the offline
//! verifier (`mbedtls_verify_cli::conformance::run`), compared with its `expected_result`.
//!
//! Known divergences live in `tests/conformance/limbo-exceptions.json` (id -> reason).
//! The test fails on a divergence that is not listed, on a listed case that now agrees
//! (a stale exception), and on a listed id the data does not have. A reason starts with
//! `ACCEPTS:` when the case is accepted although it should be rejected (so that a
//! security review can find them), `REJECTS:` when a valid case is rejected, and
//! `SKIPPED:` when the runner cannot express the case.
//!
//! The data lives outside the repository (`../shared/conformance/` next to the checkout).
//! `MBEDTLS_VERIFY_LIMBO_JSON` may name the file instead. Where it is absent the test prints
//! a message and passes, unless `CI=true`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mbedtls_verify_cli::conformance::{self, Case, Outcome, PeerName};
use serde::{Deserialize, Serialize};

const DATA: &str = "../../shared/conformance/x509-limbo-2023-12.json";
/// Overrides [`DATA`] (a checkout elsewhere, or another copy of the file).
const DATA_ENV: &str = "MBEDTLS_VERIFY_LIMBO_JSON";
const EXCEPTIONS: &str = "tests/conformance/limbo-exceptions.json";
/// Prefix of the reason of a case accepted although it should fail: a potential security
/// hole, for review.
const ACCEPTS: &str = "ACCEPTS:";
/// Prefix of the reason of a valid case that is rejected (fails closed).
const REJECTS: &str = "REJECTS:";
/// Prefix of the reason of a case the runner cannot express.
const SKIPPED: &str = "SKIPPED:";

#[derive(Deserialize)]
struct Limbo {
    version: u32,
    testcases: Vec<Testcase>,
}

/// A limbo test case. Older files have `null` where newer ones have an empty list.
#[derive(Deserialize)]
struct Testcase {
    id: String,
    #[serde(default)]
    description: String,
    validation_kind: String,
    trusted_certs: Vec<String>,
    untrusted_intermediates: Vec<String>,
    peer_certificate: String,
    #[serde(default)]
    validation_time: Option<String>,
    #[serde(default)]
    signature_algorithms: Option<Vec<String>>,
    #[serde(default)]
    key_usage: Option<Vec<String>>,
    #[serde(default)]
    extended_key_usage: Option<Vec<String>>,
    expected_result: String,
    #[serde(default)]
    expected_peer_name: Option<JsonPeerName>,
    #[serde(default)]
    max_chain_depth: Option<u32>,
    #[serde(default)]
    crls: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct JsonPeerName {
    kind: String,
    value: String,
}

/// One line of the x509-limbo harness result format.
#[derive(Serialize)]
struct ResultLine<'a> {
    id: &'a str,
    actual_result: &'static str,
    context: &'a str,
}

#[derive(Serialize)]
struct Results<'a> {
    version: u32,
    harness: &'static str,
    results: Vec<ResultLine<'a>>,
}

impl Testcase {
    /// The runner's plain-value case, or why it cannot be expressed.
    fn to_case(&self) -> Result<Case, String> {
        let expected_peer_name = match &self.expected_peer_name {
            None => None,
            Some(n) => Some(match n.kind.as_str() {
                "DNS" => PeerName::Dns(n.value.clone()),
                "IP" => PeerName::Ip(n.value.clone()),
                "RFC822" => PeerName::Rfc822(n.value.clone()),
                other => return Err(format!("unknown peer name kind {other}")),
            }),
        };
        Ok(Case {
            id: self.id.clone(),
            validation_kind: self.validation_kind.clone(),
            trusted_certs: self.trusted_certs.clone(),
            untrusted_intermediates: self.untrusted_intermediates.clone(),
            peer_certificate: self.peer_certificate.clone(),
            validation_time: self.validation_time.clone(),
            expected_peer_name,
            extended_key_usage: self.extended_key_usage.clone().unwrap_or_default(),
            key_usage: self.key_usage.clone().unwrap_or_default(),
            max_chain_depth: self.max_chain_depth,
            signature_algorithms: self.signature_algorithms.clone().unwrap_or_default(),
            crls: self.crls.clone().unwrap_or_default(),
        })
    }
}

/// The prefix the reason of a divergence must start with: a divergent success was
/// expected to fail, a divergent failure was expected to succeed.
fn divergence_kind(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Skipped(_) => SKIPPED,
        Outcome::Success => ACCEPTS,
        Outcome::Failure(_) => REJECTS,
    }
}

fn manifest_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn first_line(s: &str) -> &str {
    s.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
}

#[test]
fn x509_limbo() {
    let data_path = std::env::var_os(DATA_ENV).map_or_else(|| manifest_path(DATA), PathBuf::from);
    let data = match std::fs::read_to_string(&data_path) {
        Ok(d) => d,
        Err(e) => {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true");
            assert!(
                !ci,
                "CI=true but the x509-limbo data is unreadable at {}: {e}",
                data_path.display()
            );
            println!(
                "limbo: SKIPPED, no x509-limbo data at {} ({e}); \
                 place the shared folder next to the checkout to run it",
                data_path.display()
            );
            return;
        }
    };
    let limbo: Limbo = serde_json::from_str(&data).expect("parsing the x509-limbo file");
    assert_eq!(limbo.version, 1, "unknown x509-limbo format version");

    let exceptions_path = manifest_path(EXCEPTIONS);
    let exceptions: BTreeMap<String, String> = serde_json::from_str(
        &std::fs::read_to_string(&exceptions_path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", exceptions_path.display())),
    )
    .unwrap_or_else(|e| panic!("parsing {}: {e}", exceptions_path.display()));

    let mut problems = Vec::new();
    for (id, reason) in &exceptions {
        if reason.trim().is_empty() {
            problems.push(format!("{id}: the exception has no reason"));
        }
        if !limbo.testcases.iter().any(|t| &t.id == id) {
            problems.push(format!("{id}: listed as an exception but not in the data"));
        }
    }

    let (mut agree, mut known, mut skipped) = (0usize, 0usize, 0usize);
    let mut accepted_bad = Vec::new();
    let mut results = Vec::with_capacity(limbo.testcases.len());
    let outcomes: Vec<Outcome> = limbo
        .testcases
        .iter()
        .map(|t| match t.to_case() {
            Ok(case) => conformance::run(&case),
            Err(why) => Outcome::Skipped(why),
        })
        .collect();
    for (t, outcome) in limbo.testcases.iter().zip(&outcomes) {
        results.push(ResultLine {
            id: &t.id,
            actual_result: outcome.as_str(),
            context: outcome.context(),
        });
        let agrees = outcome.as_str() == t.expected_result;
        let listed = exceptions.get(&t.id);
        if matches!(outcome, Outcome::Skipped(_)) {
            skipped += 1;
        }
        match (agrees, listed) {
            (true, None) => agree += 1,
            (true, Some(_)) => problems.push(format!(
                "{}: listed as a known divergence but now agrees ({}): \
                 remove it from {EXCEPTIONS}",
                t.id, t.expected_result
            )),
            (false, Some(reason)) => {
                known += 1;
                let kind = divergence_kind(outcome);
                if !reason.starts_with(kind) {
                    problems.push(format!(
                        "{}: expected {}, got {}: its reason must start with {kind:?}",
                        t.id,
                        t.expected_result,
                        outcome.as_str()
                    ));
                }
                if kind == ACCEPTS {
                    accepted_bad.push(t.id.as_str());
                }
            }
            (false, None) => problems.push(format!(
                "{}: expected {}, got {} ({})\n    {}",
                t.id,
                t.expected_result,
                outcome.as_str(),
                outcome.context(),
                first_line(&t.description)
            )),
        }
    }

    // The harness's result file, for tooling that reads the x509-limbo format.
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("limbo-results.json");
    let results = Results {
        version: 1,
        harness: "mbedtls-verify",
        results,
    };
    if let Ok(json) = serde_json::to_string_pretty(&results) {
        let _ = std::fs::write(&out, json);
    }

    println!(
        "limbo: {agree}/{} agree, {known} known divergences, {skipped} skipped \
         ({} of them accepted although expected to fail); results in {}",
        limbo.testcases.len(),
        accepted_bad.len(),
        out.display()
    );
    for id in &accepted_bad {
        println!("  {ACCEPTS} {id}");
    }
    assert!(
        problems.is_empty(),
        "{} conformance problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// The runner's CLIENT path, RFC 822 names, `signature_algorithms` and unparseable pool
/// certificates, on cases made here (the 2023-12 limbo file has none of them).
#[test]
fn runner_covers_client_validation() {
    use mbedtls_verify::issue::{CertificateBuilder, San};
    use mbedtls_verify::pk::{KeyType, PrivateKey};
    use mbedtls_verify::x509::ExtendedKeyUsage;

    let key = || PrivateKey::generate(KeyType::EcdsaP256).unwrap();
    let root_key = key();
    let root = CertificateBuilder::new("CN=Limbo Client Root")
        .ca(None)
        .self_signed(&root_key)
        .unwrap();
    let device = CertificateBuilder::new("CN=device-1")
        .extended_key_usage(&[ExtendedKeyUsage::ClientAuth])
        .san(San::Email("device-1@fleet.example".into()))
        .san(San::Dns("device-1.fleet.example".into()))
        .signed_by(&key(), root.first().unwrap(), &root_key)
        .unwrap();
    let server_only = CertificateBuilder::new("CN=web")
        .extended_key_usage(&[ExtendedKeyUsage::ServerAuth])
        .san(San::Email("device-1@fleet.example".into()))
        .signed_by(&key(), root.first().unwrap(), &root_key)
        .unwrap();
    let case = |peer: &mbedtls_verify::x509::CertChain, name: Option<PeerName>| Case {
        id: "client".into(),
        validation_kind: "CLIENT".into(),
        trusted_certs: vec![root.to_pem()],
        peer_certificate: peer.to_pem(),
        expected_peer_name: name,
        ..Case::default()
    };
    let email = |s: &str| Some(PeerName::Rfc822(s.into()));
    assert_eq!(
        conformance::run(&case(&device, email("device-1@fleet.example"))),
        Outcome::Success
    );
    assert_eq!(conformance::run(&case(&device, None)), Outcome::Success);
    assert_eq!(
        conformance::run(&case(
            &device,
            Some(PeerName::Dns("device-1.fleet.example".into()))
        )),
        Outcome::Success
    );
    for bad in [
        case(&device, email("device-2@fleet.example")),
        case(
            &device,
            Some(PeerName::Dns("device-2.fleet.example".into())),
        ),
        // serverAuth only: not a client certificate.
        case(&server_only, None),
    ] {
        assert!(
            matches!(conformance::run(&bad), Outcome::Failure(_)),
            "{:?}",
            bad.expected_peer_name
        );
    }
    // extended_key_usage is require_eku: the leaf must list it.
    let mut c = case(&device, None);
    c.extended_key_usage = vec!["serverAuth".into()];
    assert!(matches!(conformance::run(&c), Outcome::Failure(_)));
    c.extended_key_usage = vec!["clientAuth".into()];
    assert_eq!(conformance::run(&c), Outcome::Success);
    // signature_algorithms through the policy: the chain is ECDSA with SHA-256.
    let mut c = case(&device, None);
    c.signature_algorithms = vec!["ECDSA_WITH_SHA256".into()];
    assert_eq!(conformance::run(&c), Outcome::Success);
    c.signature_algorithms = vec!["ECDSA_WITH_SHA384".into(), "RSA_WITH_SHA256".into()];
    assert!(matches!(conformance::run(&c), Outcome::Failure(_)));
    c.signature_algorithms = vec!["ED25519".into()];
    assert!(matches!(conformance::run(&c), Outcome::Failure(_)));
    // An RFC 822 name on a SERVER case is a policy rule too.
    let server = CertificateBuilder::new("CN=server")
        .extended_key_usage(&[ExtendedKeyUsage::ServerAuth])
        .san(San::Email("ops@fleet.example".into()))
        .signed_by(&key(), root.first().unwrap(), &root_key)
        .unwrap();
    let mut c = case(&server, email("ops@fleet.example"));
    c.validation_kind = "SERVER".into();
    assert_eq!(conformance::run(&c), Outcome::Success);
    c.expected_peer_name = email("root@fleet.example");
    assert!(matches!(conformance::run(&c), Outcome::Failure(_)));
    // A certificate of the pool that mbedTLS cannot parse does not fail a case whose
    // path does not use it.
    let mut c = case(&device, None);
    let garbage = "-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END CERTIFICATE-----\n";
    c.untrusted_intermediates = vec![garbage.into()];
    c.trusted_certs.push(garbage.into());
    assert_eq!(conformance::run(&c), Outcome::Success);
    // No validation kind but the two.
    let mut c = case(&device, None);
    c.validation_kind = "OTHER".into();
    assert!(matches!(conformance::run(&c), Outcome::Skipped(_)));
}

/// The profiles are ordered on every certificate of the limbo file (a certificate that
/// meets a profile meets every profile with fewer rules), and a failed rule is one of the
/// profile's own.
#[test]
fn profiles_are_ordered_on_every_limbo_certificate() {
    use mbedtls_verify::profile::{Profile, Rules};
    use mbedtls_verify::x509::CertChain;
    let path = std::env::var_os(DATA_ENV).map_or_else(|| manifest_path(DATA), PathBuf::from);
    let Ok(data) = std::fs::read_to_string(&path) else {
        println!("no x509-limbo data at {}: skipped", path.display());
        return;
    };
    let limbo: Limbo = serde_json::from_str(&data).expect("parsing the x509-limbo file");
    let mut checked = 0;
    for t in &limbo.testcases {
        let pems = t
            .trusted_certs
            .iter()
            .chain(&t.untrusted_intermediates)
            .chain(std::iter::once(&t.peer_certificate));
        for pem in pems {
            let Ok(chain) = CertChain::from_pem(pem.as_bytes()) else {
                continue;
            };
            let c = chain.first().unwrap();
            for (leaf, anchor) in [(true, false), (false, false), (false, true), (true, true)] {
                let web = Profile::WebPkiClient.check(&c, leaf, anchor);
                let strict = Profile::Rfc5280Strict.check(&c, leaf, anchor);
                let fleet = Profile::PrivateFleet.check(&c, leaf, anchor);
                assert!(web.is_err() || strict.is_ok(), "{}", t.id);
                assert!(strict.is_err() || fleet.is_ok(), "{}", t.id);
                for (p, r) in [
                    (Profile::WebPkiClient, web),
                    (Profile::Rfc5280Strict, strict),
                    (Profile::PrivateFleet, fleet),
                ] {
                    if let Err(rule) = r {
                        assert!(p.rules().contains(rule.bit()), "{}: {rule:?}", t.id);
                    }
                }
                assert_eq!(
                    Profile::Custom(Rules::empty()).check(&c, leaf, anchor),
                    Ok(())
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 300, "{checked} certificates");
}

/// The verify trampoline's one pass over a certificate's extensions gives what the
/// separate readings give (the profile's verdict, basicConstraints, nameConstraints
/// presence) on every certificate of the limbo file, in every role, under every profile.
#[test]
fn one_pass_equals_the_separate_readings_on_every_limbo_certificate() {
    use mbedtls_verify::profile::one_pass_disagreement;
    use mbedtls_verify::x509::CertChain;
    let path = std::env::var_os(DATA_ENV).map_or_else(|| manifest_path(DATA), PathBuf::from);
    let Ok(data) = std::fs::read_to_string(&path) else {
        println!("no x509-limbo data at {}: skipped", path.display());
        return;
    };
    let limbo: Limbo = serde_json::from_str(&data).expect("parsing the x509-limbo file");
    let mut checked = 0;
    for t in &limbo.testcases {
        let pems = t
            .trusted_certs
            .iter()
            .chain(&t.untrusted_intermediates)
            .chain(std::iter::once(&t.peer_certificate));
        for pem in pems {
            let Ok(chain) = CertChain::from_pem(pem.as_bytes()) else {
                continue;
            };
            let c = chain.first().unwrap();
            assert_eq!(one_pass_disagreement(&c), None, "{}", t.id);
            checked += 1;
        }
    }
    assert!(checked > 300, "{checked} certificates");
}
