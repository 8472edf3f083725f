//! What the ESP32 examples share: the credentials layout, the client-authorization
//! policy and the way both build their server configuration and offline verifier.
//!
//! `no_std` + `alloc`, like the safe crate without its `std` feature: the bare-metal
//! example (`esp32c3-baremetal`) uses it as it is, the ESP-IDF example (`esp32-idf`)
//! turns on `mbedtls-verify/std` in its own manifest (cargo unifies the features).
//!
//! # The credentials layout
//! Four DER blobs, each `&'static [u8]` so that certificates are parsed **in place**
//! (`CertChain::from_static_der`, mbedTLS's `x509_crt_parse_der_nocopy`): on an ESP32
//! the bytes stay in memory-mapped flash and only mbedTLS's parsed fields take RAM.
//! [`DEMO`] embeds the TEST-ONLY set from `credentials/` with `include_bytes!`; a product
//! builds the same [`Credentials`] from its own provisioning partition instead.
#![no_std]

extern crate alloc;

use alloc::format;
use alloc::string::String;

use mbedtls_verify::Result;
use mbedtls_verify::pk::PrivateKey;
use mbedtls_verify::policy::{ClientPolicy, PolicyError};
use mbedtls_verify::ssl::{ClientAuth, Identity, ServerConfig};
use mbedtls_verify::trust::Trust;
use mbedtls_verify::verifier::Verifier;
use mbedtls_verify::verify::{HookCall, VerifyHook};
use mbedtls_verify::x509::{CertChain, CertRef, SubjectAltName};

/// The TCP port the examples' mTLS servers listen on.
pub const PORT: u16 = 8443;

/// The DNS name in the demo server certificate (clients pass it as the server name).
pub const SERVER_NAME: &str = "esp32-mtls.local";

/// The identities the fleet CA writes into device certificates: any device, never a
/// laptop or a server issued by the same CA.
pub const DEVICE_URI_PREFIX: &str = "spiffe://fleet.example/device/";

/// One device's TLS credentials, all DER, all living as long as the program (flash).
#[derive(Clone, Copy, Debug)]
pub struct Credentials {
    /// The private root CA that issues client certificates: the only trust anchor.
    pub root_ca: &'static [u8],
    /// The issuing CA below the root; the server sends it after its own certificate.
    pub issuing_ca: &'static [u8],
    /// The device's server certificate (serverAuth).
    pub server_cert: &'static [u8],
    /// The server certificate's private key (PKCS#8 or SEC1 DER).
    pub server_key: &'static [u8],
}

/// TEST-ONLY credentials made by `credentials/generate`. Their private keys are in this
/// repository: never flash them onto a device that matters.
pub const DEMO: Credentials = Credentials {
    root_ca: include_bytes!("../credentials/root-ca.der"),
    issuing_ca: include_bytes!("../credentials/issuing-ca.der"),
    server_cert: include_bytes!("../credentials/server.der"),
    server_key: include_bytes!("../credentials/server-key.der"),
};

/// Leaf certificates for the offline verifier: what it should accept and reject.
pub mod samples {
    /// `spiffe://fleet.example/device/17`, issued by the fleet's issuing CA: admitted.
    pub const DEVICE_17: &[u8] = include_bytes!("../credentials/sample/device-17.der");
    /// `spiffe://fleet.example/laptop/3`, same CA: verifies, but the policy refuses it.
    pub const LAPTOP_3: &[u8] = include_bytes!("../credentials/sample/laptop-3.der");
    /// A device certificate from another CA: not trusted.
    pub const FOREIGN_DEVICE: &[u8] = include_bytes!("../credentials/sample/foreign-device.der");
}

/// Who may connect: a leaf that lists `clientAuth` (the builder's default requirement),
/// carries a SAN URI under [`DEVICE_URI_PREFIX`], sits at most two levels below the root
/// (root -> issuing CA -> device) and uses EC keys of at least 256 bits.
pub fn client_policy() -> core::result::Result<ClientPolicy, PolicyError> {
    ClientPolicy::builder()
        .allow_uri_prefix(DEVICE_URI_PREFIX)
        .max_chain_depth(2)
        .min_ec_bits(256)
        .build()
}

/// The private root, and nothing else, as the trust for client certificates. Parsed in
/// place: the chain points into `creds.root_ca`.
pub fn trust(creds: &Credentials) -> Result<Trust> {
    Trust::anchors(CertChain::from_static_der(creds.root_ca)?)
}

/// The server's certificate chain (leaf, then the issuing CA; both parsed in place) and
/// its key. mbedTLS always copies a private key into its own context when it parses it:
/// the key is the one credential that takes RAM.
pub fn identity(creds: &Credentials) -> Result<Identity> {
    let mut chain = CertChain::from_static_der(creds.server_cert)?;
    chain.push_static_der(creds.issuing_ca)?;
    Identity::new(chain, PrivateKey::parse(creds.server_key)?)
}

/// The mTLS server configuration both examples run: client certificates required, the
/// private root as the only anchor, `hook` to log what mbedTLS checks, and
/// [`client_policy`] to authorize. Build it once; every connection shares it.
pub fn server_config(creds: &Credentials, hook: VerifyHook) -> Result<ServerConfig> {
    ServerConfig::builder()
        .identity(identity(creds)?)
        .client_auth(ClientAuth::Required)
        .trust(trust(creds)?)
        .verify_hook(hook)
        .policy(client_policy()?)
        .build()
}

/// The same trust and policy without TLS, for checking a chain offline.
pub fn offline_verifier(creds: &Credentials) -> Result<Verifier> {
    Ok(Verifier::new(trust(creds)?).with_policy(client_policy()?))
}

/// A client chain as a device would receive it: the leaf, then the fleet's issuing CA
/// (a leaf alone cannot reach the root). Both parsed in place.
pub fn client_chain(leaf: &'static [u8], creds: &Credentials) -> Result<CertChain> {
    let mut chain = CertChain::from_static_der(leaf)?;
    chain.push_static_der(creds.issuing_ca)?;
    Ok(chain)
}

/// One log line for a verify-hook call: depth, role, subject and flags.
pub fn describe_call(call: &HookCall<'_>) -> String {
    let flags = call.flags();
    let mut names = String::new();
    for name in flags.names() {
        if !names.is_empty() {
            names.push(',');
        }
        names.push_str(name);
    }
    if names.is_empty() {
        names.push_str("none");
    }
    format!(
        "depth {} {:<12} {}  flags: {}",
        call.depth(),
        call.role().as_str(),
        call.cert().subject().to_string_lossy(),
        names
    )
}

/// The first SAN URI of a certificate (the device identity the policy matched), if any.
pub fn device_uri<'a>(cert: &CertRef<'a>) -> Option<&'a str> {
    cert.subject_alt_names().find_map(|san| match san {
        SubjectAltName::Uri(uri) => Some(uri),
        _ => None,
    })
}
