//! What every subcommand shares: exit codes and failures, loading certificates, keys,
//! CRLs and policies with one clear error line, rendering verification results, and
//! writing to stdout / stderr without panicking.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use mbedtls_verify::policy::ClientPolicy;
use mbedtls_verify::ssl::Identity;
use mbedtls_verify::trust::Trust;
use mbedtls_verify::verify::{TraceEntry, VerifyFlags};
use mbedtls_verify::x509::{CertChain, Crl};
use mbedtls_verify::{Reason, VerifyError};

/// Success, or the peer / chain was accepted.
pub const EXIT_OK: u8 = 0;
/// Rejected: verification or policy failed, or the peer refused us.
pub const EXIT_REJECTED: u8 = 1;
/// Usage or input error (also what clap uses for its own usage errors).
pub const EXIT_INPUT: u8 = 2;

/// Why a subcommand stopped: the exit code and one line for stderr.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    /// A usage or input error (exit 2).
    pub fn input(message: impl Into<String>) -> Self {
        Failure {
            code: EXIT_INPUT,
            message: message.into(),
        }
    }

    /// A rejection (exit 1).
    pub fn rejected(message: impl Into<String>) -> Self {
        Failure {
            code: EXIT_REJECTED,
            message: message.into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&one_line(&self.message))
    }
}

pub type CliResult<T = ()> = Result<T, Failure>;

/// Text on one line: line breaks (from a nested error) become `"; "`.
pub fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, line) in s
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        if i > 0 {
            out.push_str("; ");
        }
        out.push_str(line);
    }
    out
}

/// Read a whole file; a missing or unreadable file is an input error naming it.
pub fn read_file(path: &Path, what: &str) -> CliResult<Vec<u8>> {
    std::fs::read(path)
        .map_err(|e| Failure::input(format!("cannot read {what} {}: {e}", path.display())))
}

fn looks_like_pem(data: &[u8]) -> bool {
    data.windows(11).any(|w| w == b"-----BEGIN ")
}

/// Every certificate of every file (PEM with one or more certificates, or one DER
/// certificate per file), in order.
pub fn load_certs(paths: &[PathBuf], what: &str) -> CliResult<CertChain> {
    let mut chain = CertChain::new().map_err(|e| Failure::input(e.to_string()))?;
    for path in paths {
        let data = read_file(path, what)?;
        let parsed = if looks_like_pem(&data) {
            chain.push_pem(&data)
        } else {
            chain.push_der(&data)
        };
        parsed.map_err(|e| {
            Failure::input(format!(
                "{}: not a valid {what} (PEM or DER certificate): {e}",
                path.display()
            ))
        })?;
    }
    if chain.is_empty() {
        return Err(Failure::input(format!("no {what} given")));
    }
    Ok(chain)
}

/// A private key (unencrypted PEM or DER). Its bytes never appear in a message.
pub fn load_key(path: &Path) -> CliResult<mbedtls_verify::pk::PrivateKey> {
    let data = read_file(path, "private key")?;
    mbedtls_verify::pk::PrivateKey::parse(&data).map_err(|e| {
        Failure::input(format!(
            "{}: not a usable private key (unencrypted PEM or DER expected): {e}",
            path.display()
        ))
    })
}

/// An endpoint identity: the certificate chain (own certificate first) and its key,
/// which must belong to the first certificate.
pub fn load_identity(cert: &Path, key: &Path) -> CliResult<Identity> {
    let chain = load_certs(&[cert.to_path_buf()], "certificate")?;
    let key_value = load_key(key)?;
    let leaf_matches = chain
        .first()
        .is_some_and(|leaf| leaf.matches_key(&key_value));
    if !leaf_matches {
        return Err(Failure::input(format!(
            "the private key in {} does not match the certificate in {}",
            key.display(),
            cert.display()
        )));
    }
    Identity::new(chain, key_value).map_err(|e| Failure::input(e.to_string()))
}

/// The CAs of `ca_paths` as trust anchors, with the CRLs of `crl_paths` if any.
pub fn load_trust(ca_paths: &[PathBuf], crl_paths: &[PathBuf]) -> CliResult<Trust> {
    let cas = load_certs(ca_paths, "CA certificate")?;
    let mut crl: Option<Crl> = None;
    for path in crl_paths {
        let data = read_file(path, "CRL")?;
        let parsed = match &mut crl {
            Some(list) => list.push(&data),
            None => Crl::parse(&data).map(|c| crl = Some(c)),
        };
        parsed.map_err(|e| Failure::input(format!("{}: not a valid CRL: {e}", path.display())))?;
    }
    let trust = match crl {
        Some(crl) => Trust::anchors_with_crl(cas, crl),
        None => Trust::anchors(cas),
    };
    trust.map_err(|e| Failure::input(e.to_string()))
}

/// A TOML policy file. Errors name the key they are about.
pub fn load_policy(path: &Path) -> CliResult<ClientPolicy> {
    ClientPolicy::from_toml_file(path).map_err(|e| Failure::input(format!("{e}")))
}

/// Flag names (`expired, revoked`) or `none`.
pub fn flag_list(flags: VerifyFlags) -> String {
    let names: Vec<&str> = flags.names().collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// One line per hook call, aligned, for people.
pub fn trace_lines(trace: &[TraceEntry]) -> Vec<String> {
    trace
        .iter()
        .map(|t| {
            let mut line = format!(
                "depth {}  {:<13} {}  flags: {}",
                t.depth,
                t.role.as_str(),
                t.subject,
                flag_list(t.flags)
            );
            if let Some(rule) = t.violation {
                line.push_str(&format!("  profile: breaks {}", rule.name()));
            }
            line
        })
        .collect()
}

/// Every reason of a failed verification as its own sentence: one per failure flag
/// (`revoked: the certificate has been revoked (in a CRL)`), one per policy finding
/// (`policy: ...`), and the others as the library words them.
pub fn reasons(e: &VerifyError) -> Vec<String> {
    let mut out = Vec::new();
    for reason in &e.reasons {
        match reason {
            Reason::Flags(flags) => {
                for (_, flag) in flags.iter_names() {
                    out.push(format!("{}: {}", flag.name(), flag.describe()));
                }
                let unknown = VerifyFlags::unknown_bits(flags.bits());
                if unknown != 0 {
                    out.push(format!("unknown verification flags 0x{unknown:08x}"));
                }
            }
            Reason::Policy(why) => out.extend(why.iter().map(|w| format!("policy: {w}"))),
            other => out.push(other.to_string()),
        }
    }
    if out.is_empty() {
        out.push(e.to_string());
    }
    out
}

/// Write to stdout; a closed or failing stdout is an error, never a panic.
pub fn out(text: &str) -> CliResult {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| Failure::input(format!("cannot write to standard output: {e}")))
}

/// Write lines to stderr as one block (a connection's log is not interleaved with
/// another's). Errors writing the log are ignored.
pub fn log_lines(lines: &[String]) {
    let mut text = String::new();
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(text.as_bytes());
    let _ = stderr.flush();
}

/// One log line to stderr.
pub fn log(line: impl Into<String>) {
    log_lines(&[line.into()]);
}
