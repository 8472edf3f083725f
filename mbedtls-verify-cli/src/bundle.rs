//! `bundle build`: a root bundle (`mbedtls_verify::roots::RootBundle`) from PEM or DER
//! certificate files, for firmware to keep in flash (`include_bytes!`) and trust through
//! the CA callback.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use mbedtls_verify::roots::RootBundle;
use mbedtls_verify::x509::CertChain;

use crate::util::{CliResult, EXIT_OK, Failure, load_certs, out};

/// `bundle` subcommands.
#[derive(Debug, Subcommand)]
pub enum BundleCmd {
    /// Build a root bundle from certificate files (PEM with one or many certificates, or
    /// one DER certificate per file); every certificate must parse.
    Build(BuildArgs),
}

/// `bundle build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Where to write the bundle (replaced if it exists).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Certificate files.
    #[arg(required = true, value_name = "CERT_FILE")]
    certs: Vec<PathBuf>,
}

/// Run a `bundle` subcommand.
pub fn run(cmd: BundleCmd) -> CliResult<u8> {
    match cmd {
        BundleCmd::Build(a) => build(a),
    }
}

fn build(args: BuildArgs) -> CliResult<u8> {
    let chain: CertChain = load_certs(&args.certs, "certificate")?;
    let ders: Vec<&[u8]> = chain.iter().map(|c| c.der()).collect();
    let bytes = RootBundle::build(ders.iter().copied())
        .map_err(|e| Failure::input(format!("cannot build the bundle: {e}")))?;
    let bundle = RootBundle::from_vec(bytes)
        .map_err(|e| Failure::input(format!("the built bundle does not load: {e}")))?;
    let tmp = args.out.with_extension("tmp");
    std::fs::write(&tmp, bundle.as_bytes())
        .and_then(|()| std::fs::rename(&tmp, &args.out))
        .map_err(|e| Failure::input(format!("cannot write {}: {e}", args.out.display())))?;
    let certs = cert_bytes_unique(&bundle);
    out(&format!(
        "wrote {}: {} roots ({} certificates given), {} bytes ({} of certificates, {} of header and index)\n",
        args.out.display(),
        bundle.len(),
        ders.len(),
        bundle.as_bytes().len(),
        certs,
        bundle.as_bytes().len() - certs,
    ))?;
    Ok(EXIT_OK)
}

/// Bytes of the (de-duplicated) certificates the bundle holds.
fn cert_bytes_unique(bundle: &RootBundle) -> usize {
    bundle
        .to_chain()
        .map(|c| c.iter().map(|x| x.der().len()).sum())
        .unwrap_or(0)
}
