//! `mbedtls-verify`: explain a verification, serve and connect with mTLS, run a small
//! fleet CA, and speak the x509-limbo harness protocol.
//!
//! Results go to stdout, logs and errors to stderr. Exit codes, for every subcommand:
//! 0 success / accepted, 1 rejected (verification or policy, or the peer refused us),
//! 2 usage or input error (clap's usage errors included). Bad input ends with one line
//! on stderr, never a panic.
#![forbid(unsafe_code)]

mod bundle;
mod ca;
mod connect;
mod limbo;
mod serve;
mod util;
mod verify_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use mbedtls_verify::ssl::TlsVersion;

#[derive(Debug, Parser)]
#[command(
    name = "mbedtls-verify",
    version,
    about = "Whom does a TLS endpoint trust? Explain a verification, serve and connect with mTLS, run a fleet CA.",
    after_help = "Exit codes: 0 success/accepted, 1 rejected (verification, policy, or the peer refused us), 2 usage or input error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Verify a certificate chain offline; print the verify hook's trace and the decision.
    Verify(verify_cmd::VerifyArgs),
    /// Run an mTLS echo server that requires client certificates.
    Serve(serve::ServeArgs),
    /// Connect with mTLS, send standard input, print what comes back.
    Connect(connect::ConnectArgs),
    /// A small fleet CA: a root, an issuing CA, client and server certificates, CRLs.
    #[command(subcommand)]
    Ca(ca::CaCmd),
    /// Root bundles: public roots for firmware's flash, found through the CA callback.
    #[command(subcommand)]
    Bundle(bundle::BundleCmd),
    /// The x509-limbo harness protocol: test cases (JSON) on stdin, results on stdout.
    Limbo(limbo::LimboArgs),
}

/// `--tls 1.2` or `--tls 1.3`: use only that version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TlsArg {
    #[value(name = "1.2")]
    V12,
    #[value(name = "1.3")]
    V13,
}

impl TlsArg {
    pub fn version(self) -> TlsVersion {
        match self {
            TlsArg::V12 => TlsVersion::Tls12,
            TlsArg::V13 => TlsVersion::Tls13,
        }
    }
}

fn main() -> ExitCode {
    // clap prints its own usage errors and exits with 2 (0 for --help / --version).
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Verify(a) => verify_cmd::run(a),
        Command::Serve(a) => serve::run(a),
        Command::Connect(a) => connect::run(a),
        Command::Ca(c) => ca::run(c),
        Command::Bundle(c) => bundle::run(c),
        Command::Limbo(a) => limbo::run(a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            util::log(format!("mbedtls-verify: {failure}"));
            ExitCode::from(failure.code)
        }
    }
}
