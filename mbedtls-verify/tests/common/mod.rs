//! A small PKI for tests: CAs and leaves issued at test time through the crate. Also used
//! by the workspace-level tests (`tests/`), which include this file by path.
#![allow(dead_code)]

use mbedtls_verify::issue::{CertificateBuilder, San};
use mbedtls_verify::pk::{KeyType, PrivateKey};
use mbedtls_verify::ssl::mem::{MemoryTransport, memory_pair, run_handshakes};
use mbedtls_verify::ssl::{ClientConfig, ServerConfig, Session};
use mbedtls_verify::x509::{CertChain, CertRef, DateTime, ExtendedKeyUsage};

#[derive(Debug)]
pub struct Ca {
    pub cert: CertChain,
    pub key: PrivateKey,
}

impl Ca {
    pub fn cert(&self) -> CertRef<'_> {
        self.cert.first().unwrap()
    }
}

pub fn key() -> PrivateKey {
    PrivateKey::generate(KeyType::EcdsaP256).unwrap()
}

pub fn root(name: &str) -> Ca {
    let key = key();
    let cert = CertificateBuilder::new(&format!("CN={name},O=Test"))
        .ca(None)
        .self_signed(&key)
        .unwrap();
    Ca { cert, key }
}

pub fn sub_ca(parent: &Ca, name: &str) -> Ca {
    let key = key();
    let cert = CertificateBuilder::new(&format!("CN={name},O=Test"))
        .ca(None)
        .signed_by(&key, parent.cert(), &parent.key)
        .unwrap();
    Ca { cert, key }
}

#[derive(Debug)]
pub struct Leaf {
    pub cert: CertChain,
    pub key: PrivateKey,
}

pub fn client_leaf(parent: &Ca, cn: &str, sans: Vec<San>) -> Leaf {
    leaf_with(
        parent,
        CertificateBuilder::new(&format!("CN={cn},O=Test"))
            .extended_key_usage(&[ExtendedKeyUsage::ClientAuth])
            .sans(sans),
    )
}

pub fn server_leaf(parent: &Ca, dns: &str) -> Leaf {
    leaf_with(
        parent,
        CertificateBuilder::new(&format!("CN={dns}"))
            .extended_key_usage(&[ExtendedKeyUsage::ServerAuth])
            .san(San::Dns(dns.into())),
    )
}

pub fn leaf_with(parent: &Ca, builder: CertificateBuilder) -> Leaf {
    let key = key();
    let cert = builder.signed_by(&key, parent.cert(), &parent.key).unwrap();
    Leaf { cert, key }
}

/// `leaf` followed by the given CA certificates, as a peer would send them.
pub fn chain(leaf: &CertChain, cas: &[&Ca]) -> CertChain {
    let mut c = CertChain::from_der(leaf.first().unwrap().der()).unwrap();
    for ca in cas {
        c.push_der(ca.cert().der()).unwrap();
    }
    c
}

pub fn date(y: u16, m: u8, d: u8) -> DateTime {
    DateTime::new(y, m, d, 0, 0, 0).unwrap()
}

/// A second handle on the same key (keys are not `Clone` on purpose).
pub fn key_copy(k: &PrivateKey) -> PrivateKey {
    PrivateKey::parse(k.to_der().unwrap().as_bytes()).unwrap()
}

/// One in-memory handshake with `name` as the server name: both sessions and both
/// sides' results.
pub fn connect(
    server: &ServerConfig,
    client: &ClientConfig,
    name: &str,
) -> (
    Session<MemoryTransport>,
    Session<MemoryTransport>,
    mbedtls_verify::Result<()>,
    mbedtls_verify::Result<()>,
) {
    let (a, b) = memory_pair();
    let mut c = Session::client(client, name, a).unwrap();
    let mut s = Session::server(server, b).unwrap();
    let (rc, rs) = run_handshakes(&mut c, &mut s);
    (c, s, rc, rs)
}
