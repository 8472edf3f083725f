//! What every benchmark shares: a small PKI (P-256 and RSA-2048), kept as DER files so
//! the C baseline (`benches/c`) and the peer crates (`benches/rustls`) verify and
//! handshake with exactly the same certificates and keys.
//!
//! Layout of `$MV_BENCH_PKI` (default `target/bench-pki`), per algorithm (`p256/`, `rsa2048/`):
//! `root.der` (trust anchor), `int.der` (issuing CA), `client.der` + `client.key.der`
//! (clientAuth, SAN URI and email), `server.der` + `server.key.der` (serverAuth, SAN DNS
//! `server.bench`). Keys are SEC1 (EC) or PKCS#1 (RSA) DER. Created on first use.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::Criterion;
use mbedtls_verify::issue::{CertificateBuilder, San};
use mbedtls_verify::pk::{KeyType, PrivateKey};
use mbedtls_verify::policy::ClientPolicy;
use mbedtls_verify::ssl::{ClientAuth, ClientConfig, Identity, ServerConfig, TlsVersion};
use mbedtls_verify::sys;
use mbedtls_verify::trust::Trust;
use mbedtls_verify::verify::{Verdict, VerifyHook};
use mbedtls_verify::x509::{CertChain, DateTime, ExtendedKeyUsage};

/// The server name in the server certificate (what clients check).
pub const SERVER_NAME: &str = "server.bench";
/// The client's SAN URI, under the prefix the benchmark policy allows.
pub const CLIENT_URI: &str = "spiffe://bench.example/device/1";
pub const CLIENT_URI_PREFIX: &str = "spiffe://bench.example/device/";
pub const CLIENT_EMAIL: &str = "device-1@devices.bench.example";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    P256,
    Rsa2048,
}

impl Alg {
    pub const ALL: [Alg; 2] = [Alg::P256, Alg::Rsa2048];

    pub fn name(self) -> &'static str {
        match self {
            Alg::P256 => "p256",
            Alg::Rsa2048 => "rsa2048",
        }
    }

    pub fn parse(s: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|a| a.name() == s)
    }

    fn key_type(self) -> KeyType {
        match self {
            Alg::P256 => KeyType::EcdsaP256,
            Alg::Rsa2048 => KeyType::Rsa(2048),
        }
    }
}

/// Where the PKI files live.
pub fn pki_dir() -> PathBuf {
    match std::env::var_os("MV_BENCH_PKI") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-pki"),
    }
}

/// One algorithm's certificates (parsed) and keys (DER, parsed on demand: keys are not Clone).
pub struct Pki {
    pub alg: Alg,
    pub root: CertChain,
    pub int: CertChain,
    pub client: CertChain,
    pub client_key: Vec<u8>,
    pub server: CertChain,
    pub server_key: Vec<u8>,
}

const FILES: [&str; 6] = [
    "root.der",
    "int.der",
    "client.der",
    "client.key.der",
    "server.der",
    "server.key.der",
];

fn date(y: u16) -> DateTime {
    DateTime::new(y, 1, 1, 0, 0, 0).expect("valid date")
}

/// Issue the PKI and write it (each file written to a temporary name, then renamed).
fn create(dir: &Path, alg: Alg) {
    std::fs::create_dir_all(dir).expect("creating the PKI directory");
    let key = || PrivateKey::generate(alg.key_type()).expect("key generation");
    let (from, to) = (date(2025), date(2045));
    let root_key = key();
    let root = CertificateBuilder::new("CN=Bench Root CA,O=mbedtls-verify bench")
        .validity(from, to)
        .ca(None)
        .self_signed(&root_key)
        .expect("root");
    let int_key = key();
    let int = CertificateBuilder::new("CN=Bench Issuing CA,O=mbedtls-verify bench")
        .validity(from, to)
        .ca(Some(0))
        .signed_by(&int_key, root.first().unwrap(), &root_key)
        .expect("intermediate");
    let client_key = key();
    let client = CertificateBuilder::new("CN=device-1,O=mbedtls-verify bench")
        .validity(from, to)
        .extended_key_usage(&[ExtendedKeyUsage::ClientAuth])
        .san(San::Uri(CLIENT_URI.into()))
        .san(San::Email(CLIENT_EMAIL.into()))
        .signed_by(&client_key, int.first().unwrap(), &int_key)
        .expect("client leaf");
    let server_key = key();
    let server = CertificateBuilder::new(&format!("CN={SERVER_NAME},O=mbedtls-verify bench"))
        .validity(from, to)
        .extended_key_usage(&[ExtendedKeyUsage::ServerAuth])
        .san(San::Dns(SERVER_NAME.into()))
        .signed_by(&server_key, int.first().unwrap(), &int_key)
        .expect("server leaf");
    let contents: [Vec<u8>; 6] = [
        root.first().unwrap().der().to_vec(),
        int.first().unwrap().der().to_vec(),
        client.first().unwrap().der().to_vec(),
        client_key.to_der().unwrap().as_bytes().to_vec(),
        server.first().unwrap().der().to_vec(),
        server_key.to_der().unwrap().as_bytes().to_vec(),
    ];
    for (name, bytes) in FILES.iter().zip(contents) {
        let tmp = dir.join(format!("{name}.tmp{}", std::process::id()));
        std::fs::write(&tmp, bytes).expect("writing the PKI");
        std::fs::rename(&tmp, dir.join(name)).expect("writing the PKI");
    }
}

/// Load the PKI for `alg`, creating it on first use.
pub fn pki(alg: Alg) -> Pki {
    let dir = pki_dir().join(alg.name());
    if !FILES.iter().all(|f| dir.join(f).is_file()) {
        create(&dir, alg);
    }
    let read = |f: &str| std::fs::read(dir.join(f)).expect("reading the PKI");
    let cert = |f: &str| CertChain::from_der(&read(f)).expect("parsing a PKI certificate");
    Pki {
        alg,
        root: cert("root.der"),
        int: cert("int.der"),
        client: cert("client.der"),
        client_key: read("client.key.der"),
        server: cert("server.der"),
        server_key: read("server.key.der"),
    }
}

impl Pki {
    /// What a client sends: its certificate, then the issuing CA (3 with the root).
    pub fn client_chain(&self) -> CertChain {
        let mut c = self.client.clone();
        c.push_der(self.int.first().unwrap().der()).unwrap();
        c
    }

    pub fn server_chain(&self) -> CertChain {
        let mut c = self.server.clone();
        c.push_der(self.int.first().unwrap().der()).unwrap();
        c
    }

    pub fn trust(&self) -> Trust {
        Trust::anchors(self.root.clone()).unwrap()
    }

    pub fn client_identity(&self) -> Identity {
        Identity::new(
            self.client_chain(),
            PrivateKey::parse(&self.client_key).unwrap(),
        )
        .unwrap()
    }

    pub fn server_identity(&self) -> Identity {
        Identity::new(
            self.server_chain(),
            PrivateKey::parse(&self.server_key).unwrap(),
        )
        .unwrap()
    }
}

/// A hook that accepts everything (what dispatch costs, not what a hook does).
pub fn noop_hook() -> VerifyHook {
    VerifyHook::new(|_| Verdict::Accept)
}

/// A realistic fleet policy that admits the benchmark client (clientAuth, depth, URI prefix).
pub fn fleet_policy() -> ClientPolicy {
    ClientPolicy::builder()
        .allow_uri_prefix(CLIENT_URI_PREFIX)
        .max_chain_depth(2)
        .build()
        .expect("policy")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Only the server authenticates (the client sends no certificate).
    ServerAuth,
    /// Both sides authenticate.
    Mutual,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::ServerAuth => "server_auth",
            Mode::Mutual => "mutual",
        }
    }
}

pub fn version_name(v: TlsVersion) -> &'static str {
    match v {
        TlsVersion::Tls12 => "tls12",
        TlsVersion::Tls13 => "tls13",
    }
}

/// What the server adds to client verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extra {
    Plain,
    Hook,
    Policy,
    HookAndPolicy,
}

impl Extra {
    pub fn name(self) -> &'static str {
        match self {
            Extra::Plain => "plain",
            Extra::Hook => "hook",
            Extra::Policy => "policy",
            Extra::HookAndPolicy => "hook+policy",
        }
    }
}

pub fn server_config(p: &Pki, v: TlsVersion, mode: Mode, extra: Extra) -> ServerConfig {
    let mut b = ServerConfig::builder()
        .identity(p.server_identity())
        .versions(v, v);
    b = match mode {
        Mode::ServerAuth => b.client_auth(ClientAuth::None),
        Mode::Mutual => b.client_auth(ClientAuth::Required).trust(p.trust()),
    };
    if mode == Mode::Mutual {
        if matches!(extra, Extra::Hook | Extra::HookAndPolicy) {
            b = b.verify_hook(noop_hook());
        }
        if matches!(extra, Extra::Policy | Extra::HookAndPolicy) {
            b = b.policy(fleet_policy());
        }
    }
    b.build().expect("server config")
}

pub fn client_config(p: &Pki, v: TlsVersion, mode: Mode) -> ClientConfig {
    let mut b = ClientConfig::builder().trust(p.trust()).versions(v, v);
    if mode == Mode::Mutual {
        b = b.identity(p.client_identity());
    }
    b.build().expect("client config")
}

/// The default security profile as mbedTLS's struct (for the raw-FFI baseline).
pub fn raw_profile() -> sys::mv_profile {
    let p = mbedtls_verify::profile::SecurityProfile::DEFAULT;
    sys::mv_profile {
        allowed_mds: p.hashes.bits(),
        allowed_pks: p.key_algorithms.bits(),
        allowed_curves: p.curves.bits(),
        rsa_min_bitlen: p.min_rsa_bits,
    }
}

/// A certificate list parsed through the raw bindings, as a C program would.
pub struct RawChain(pub *mut sys::mv_cert);

impl RawChain {
    pub fn from_ders(ders: &[&[u8]]) -> RawChain {
        // SAFETY: plain FFI: a fresh list, DER buffers readable for their length (copied).
        unsafe {
            let p = sys::mv_crt_new();
            assert!(!p.is_null());
            for d in ders {
                assert_eq!(sys::mv_crt_parse_der(p, d.as_ptr(), d.len()), 0);
            }
            RawChain(p)
        }
    }
}

impl Drop for RawChain {
    fn drop(&mut self) {
        // SAFETY: the list from mv_crt_new, freed once.
        unsafe { sys::mv_crt_free(self.0) }
    }
}

/// mbedtls_x509_crt_verify_with_profile with no callback: mbedTLS alone.
pub fn raw_verify(chain: &RawChain, anchors: &RawChain, profile: &sys::mv_profile) -> (i32, u32) {
    let mut flags = 0u32;
    // SAFETY: both lists are valid for the call; no callback.
    let rc = unsafe {
        sys::mv_verify(
            chain.0,
            anchors.0,
            std::ptr::null_mut(),
            profile,
            std::ptr::null(),
            &mut flags,
            None,
            std::ptr::null_mut(),
        )
    };
    (rc, flags)
}

/// Short measurements: the whole set must run in a few minutes on 2 shared cores.
pub fn criterion(measure: Duration) -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(measure)
        .sample_size(20)
        .without_plots()
        .configure_from_args()
}
