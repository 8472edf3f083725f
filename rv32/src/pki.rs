//! The test PKI, issued on the device with the safe crate (`issue::CertificateBuilder`):
//! a fleet root, an issuing CA under it, a server and a client certificate from the
//! issuing CA, and two certificates that must be refused: a client of another CA, and a
//! client whose extendedKeyUsage says serverAuth. All ECDSA P-256 / SHA-256, valid
//! 2025-01-01 .. 2030-12-31 (explicit, so issuing needs no clock).

use mbedtls_verify::Result;
use mbedtls_verify::issue::{CertificateBuilder, San};
use mbedtls_verify::pk::{KeyType, PrivateKey};
use mbedtls_verify::ssl::Identity;
use mbedtls_verify::x509::{CertChain, DateTime, ExtendedKeyUsage};

use crate::machine::counted;

/// What the client policy admits: device identities under this URI prefix.
pub const DEVICE_PREFIX: &str = "spiffe://fleet.example/device/";
/// The server's DNS name (SAN), checked by the client.
pub const SERVER_NAME: &str = "gateway.fleet.example";

pub struct Issued {
    pub cert: CertChain,
    pub key: PrivateKey,
}

pub struct Pki {
    pub root: Issued,
    pub issuing: Issued,
    pub server: Issued,
    pub client: Issued,
    /// A client certificate from an unrelated CA (its key is the client's).
    pub other_client: CertChain,
    /// A client certificate from the right CA with EKU serverAuth (the client's key).
    pub wrong_eku: CertChain,
    /// Instructions for one P-256 key generation and one certificate (averages).
    pub keygen_instr: u64,
    pub cert_instr: u64,
}

fn builder(subject: &str, serial: u8) -> CertificateBuilder {
    let (nb, na) = (
        DateTime::new(2025, 1, 1, 0, 0, 0).expect("valid date"),
        DateTime::new(2030, 12, 31, 23, 59, 59).expect("valid date"),
    );
    CertificateBuilder::new(subject)
        .serial(&[serial])
        .validity(nb, na)
}

fn device(cn: &str, serial: u8, eku: ExtendedKeyUsage<'static>) -> CertificateBuilder {
    builder(&alloc::format!("CN={cn},O=Fleet"), serial)
        .extended_key_usage(&[eku])
        .san(San::Uri(alloc::format!("{DEVICE_PREFIX}{cn}")))
}

pub fn issue() -> Result<Pki> {
    let mut keygen = 0;
    let mut certs = 0;
    let mut key = || -> Result<PrivateKey> {
        let (k, n) = counted(|| PrivateKey::generate(KeyType::EcdsaP256));
        keygen += n;
        k
    };
    let (root_key, issuing_key, server_key, client_key, other_key) =
        (key()?, key()?, key()?, key()?, key()?);

    let mut sign = |b: CertificateBuilder, subject_key: &PrivateKey, issuer: Option<&Issued>| {
        let (c, n) = counted(|| match issuer {
            Some(ca) => {
                let ca_cert = ca.cert.first().expect("issuer certificate");
                b.signed_by(subject_key, ca_cert, &ca.key)
            }
            None => b.self_signed(subject_key),
        });
        certs += n;
        c
    };
    let root = Issued {
        cert: sign(
            builder("CN=Fleet Root CA,O=Fleet", 1).ca(Some(1)),
            &root_key,
            None,
        )?,
        key: root_key,
    };
    let issuing = Issued {
        cert: sign(
            builder("CN=Fleet Issuing CA,O=Fleet", 2).ca(Some(0)),
            &issuing_key,
            Some(&root),
        )?,
        key: issuing_key,
    };
    let server = Issued {
        cert: sign(
            builder(&alloc::format!("CN={SERVER_NAME},O=Fleet"), 3)
                .extended_key_usage(&[ExtendedKeyUsage::ServerAuth])
                .san(San::Dns(SERVER_NAME.into())),
            &server_key,
            Some(&issuing),
        )?,
        key: server_key,
    };
    let client = Issued {
        cert: sign(
            device("device-1", 4, ExtendedKeyUsage::ClientAuth),
            &client_key,
            Some(&issuing),
        )?,
        key: client_key,
    };
    let other_ca = Issued {
        cert: sign(
            builder("CN=Someone Else's CA", 5).ca(None),
            &other_key,
            None,
        )?,
        key: other_key,
    };
    let other_client = sign(
        device("device-2", 6, ExtendedKeyUsage::ClientAuth),
        &client.key,
        Some(&other_ca),
    )?;
    let wrong_eku = sign(
        device("device-3", 7, ExtendedKeyUsage::ServerAuth),
        &client.key,
        Some(&issuing),
    )?;
    Ok(Pki {
        root,
        issuing,
        server,
        client,
        other_client,
        wrong_eku,
        keygen_instr: keygen / 5,
        cert_instr: certs / 7,
    })
}

/// One chain from several (leaf first).
pub fn chain_of(parts: &[&CertChain]) -> Result<CertChain> {
    let mut c = CertChain::new()?;
    for p in parts {
        for cert in p.iter() {
            c.push_der(cert.der())?;
        }
    }
    Ok(c)
}

/// A TLS identity: `leaf` (with `extra` sent after it as the chain) and a copy of its key.
pub fn identity(leaf: &CertChain, key: &PrivateKey, extra: &CertChain) -> Result<Identity> {
    let key = PrivateKey::parse(key.to_der()?.as_bytes())?;
    Identity::new(chain_of(&[leaf, extra])?, key)
}
