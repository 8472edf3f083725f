//! Issuing certificates and CRLs: for tests, the demo and a small fleet CA.
//!
//! Certificates are written by mbedTLS (`mbedtls_x509write_crt_der`); extensions are
//! encoded here with the [`der`](crate::der) writer. mbedTLS 3.6 has no CRL writer, so
//! [`CrlBuilder`] encodes the CRL itself and signs it with the issuer's key.
//!
//! ```no_run
//! use mbedtls_verify::issue::{CertificateBuilder, San};
//! use mbedtls_verify::pk::{KeyType, PrivateKey};
//! use mbedtls_verify::x509::ExtendedKeyUsage;
//!
//! # fn main() -> mbedtls_verify::Result<()> {
//! let ca_key = PrivateKey::generate(KeyType::EcdsaP256)?;
//! let ca = CertificateBuilder::new("CN=Fleet CA,O=Fleet").ca(Some(0)).self_signed(&ca_key)?;
//!
//! let key = PrivateKey::generate(KeyType::EcdsaP256)?;
//! let leaf = CertificateBuilder::new("CN=device-1,O=Fleet")
//!     .extended_key_usage(&[ExtendedKeyUsage::ClientAuth])
//!     .san(San::Uri("urn:fleet:device-1".into()))
//!     .signed_by(&key, ca.first().unwrap(), &ca_key)?;
//! print!("{}", leaf.to_pem());
//! # Ok(())
//! # }
//! ```

use alloc::ffi::CString;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::der::{DerError, Oid, Reader, Writer, oid};
use crate::error::{Error, Result};
use crate::pk::PrivateKey;
use crate::x509::{
    self, CertChain, CertRef, DateTime, ExtendedKeyUsage, HashAlgorithm, IpAddress, KeyUsage, Name,
};

/// A subject alternative name to put in a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum San {
    /// `dNSName` (ASCII).
    Dns(String),
    /// `rfc822Name` (ASCII).
    Email(String),
    /// `uniformResourceIdentifier` (ASCII).
    Uri(String),
    /// `iPAddress`.
    Ip(IpAddress),
    /// Any GeneralName, already encoded: its tag byte (e.g. `0xA0` otherName, `0xA4`
    /// directoryName) and contents, written as given (for tests of odd certificates).
    Raw {
        /// The GeneralName's tag byte.
        tag: u8,
        /// Its contents, written as given.
        contents: Vec<u8>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// No basicConstraints.
    Leaf,
    /// basicConstraints present with cA absent: `SEQUENCE {}`.
    LeafExplicit,
    Ca(Option<u32>),
}

/// Builds an X.509 v3 certificate.
///
/// Defaults: a random 16-byte serial, validity from one hour ago to one year ahead
/// (needs a clock: see [`platform::now`](crate::platform::now)), a leaf without
/// basicConstraints, SHA-256, subject and authority key identifiers.
#[derive(Debug, Clone)]
pub struct CertificateBuilder {
    subject: String,
    serial: Option<Vec<u8>>,
    validity: Option<(DateTime, DateTime)>,
    role: Role,
    key_usage: Option<KeyUsage>,
    eku: Vec<ExtendedKeyUsage<'static>>,
    sans: Vec<San>,
    raw_extensions: Vec<(String, bool, Vec<u8>)>,
    hash: HashAlgorithm,
    key_identifiers: bool,
}

impl CertificateBuilder {
    /// `subject` in mbedTLS's string form: `CN=device-1,O=Fleet` (`\,` escapes a comma;
    /// see `mbedtls_x509_string_to_names`).
    pub fn new(subject: &str) -> Self {
        CertificateBuilder {
            subject: subject.to_string(),
            serial: None,
            validity: None,
            role: Role::Leaf,
            key_usage: None,
            eku: Vec::new(),
            sans: Vec::new(),
            raw_extensions: Vec::new(),
            hash: HashAlgorithm::Sha256,
            key_identifiers: true,
        }
    }

    /// The serial number, unsigned big-endian (leading zeros are dropped; 1 to 20
    /// significant bytes).
    pub fn serial(mut self, serial: &[u8]) -> Self {
        self.serial = Some(serial.to_vec());
        self
    }

    /// The validity period (`mbedtls_x509write_crt_set_validity`); both ends inclusive.
    pub fn validity(mut self, not_before: DateTime, not_after: DateTime) -> Self {
        self.validity = Some((not_before, not_after));
        self
    }

    /// A CA: basicConstraints cA=TRUE (with `path_len` if given), critical, and unless
    /// [`key_usage`](Self::key_usage) says otherwise keyUsage keyCertSign + cRLSign,
    /// critical.
    pub fn ca(mut self, path_len: Option<u32>) -> Self {
        self.role = Role::Ca(path_len);
        self
    }

    /// An end-entity certificate without basicConstraints (the default).
    pub fn leaf(mut self) -> Self {
        self.role = Role::Leaf;
        self
    }

    /// An end-entity certificate with an explicit, critical basicConstraints whose cA
    /// is absent (`SEQUENCE {}`).
    pub fn basic_constraints_leaf(mut self) -> Self {
        self.role = Role::LeafExplicit;
        self
    }

    /// keyUsage (critical).
    pub fn key_usage(mut self, usage: KeyUsage) -> Self {
        self.key_usage = Some(usage);
        self
    }

    /// extendedKeyUsage (non-critical), replacing any earlier list.
    pub fn extended_key_usage(mut self, usages: &[ExtendedKeyUsage<'_>]) -> Self {
        self.eku = usages.iter().map(|e| e.clone().into_owned()).collect();
        self
    }

    /// Add a subject alternative name (the extension is non-critical).
    pub fn san(mut self, san: San) -> Self {
        self.sans.push(san);
        self
    }

    /// Add several subject alternative names.
    pub fn sans(mut self, sans: impl IntoIterator<Item = San>) -> Self {
        self.sans.extend(sans);
        self
    }

    /// Add an extension as given: dotted OID, criticality and the DER of its value
    /// (what goes inside extnValue). It replaces an extension with the same OID that the
    /// builder would write (e.g. to forge basicConstraints `30 03 02 01 05`).
    pub fn raw_extension(mut self, oid: &str, critical: bool, value_der: Vec<u8>) -> Self {
        self.raw_extensions
            .push((oid.to_string(), critical, value_der));
        self
    }

    /// A nameConstraints extension ([`name_constraints_der`]), critical as RFC 5280
    /// requires unless `critical` is false.
    pub fn name_constraints(self, critical: bool, permitted: &[San], excluded: &[San]) -> Self {
        self.raw_extension(
            "2.5.29.30",
            critical,
            name_constraints_der(permitted, excluded),
        )
    }

    /// The hash for the signature (default SHA-256).
    pub fn hash(mut self, hash: HashAlgorithm) -> Self {
        self.hash = hash;
        self
    }

    /// Whether to add subjectKeyIdentifier and authorityKeyIdentifier (default on).
    pub fn key_identifiers(mut self, on: bool) -> Self {
        self.key_identifiers = on;
        self
    }

    /// A self-signed certificate for `key`.
    pub fn self_signed(&self, key: &PrivateKey) -> Result<CertChain> {
        CertChain::from_der(&self.self_signed_der(key)?)
    }

    /// A certificate for `subject_key`, issued by `issuer` (whose subject becomes the
    /// issuer name, byte for byte) and signed with `issuer_key`, which must be the key
    /// of `issuer`.
    pub fn signed_by(
        &self,
        subject_key: &PrivateKey,
        issuer: CertRef<'_>,
        issuer_key: &PrivateKey,
    ) -> Result<CertChain> {
        CertChain::from_der(&self.signed_by_der(subject_key, issuer, issuer_key)?)
    }

    /// As [`self_signed`](Self::self_signed), but the DER, not parsed back (for
    /// certificates mbedTLS refuses to parse, e.g. with an unknown critical extension).
    pub fn self_signed_der(&self, key: &PrivateKey) -> Result<Vec<u8>> {
        self.write(key, &self.subject, key)
    }

    /// As [`signed_by`](Self::signed_by), but the DER, not parsed back.
    pub fn signed_by_der(
        &self,
        subject_key: &PrivateKey,
        issuer: CertRef<'_>,
        issuer_key: &PrivateKey,
    ) -> Result<Vec<u8>> {
        if !issuer.matches_key(issuer_key) {
            return Err(Error::InvalidInput(
                "the issuer key does not match the issuer certificate".into(),
            ));
        }
        let issuer_name = name_to_mbedtls_string(&issuer.subject())?;
        self.write(subject_key, &issuer_name, issuer_key)
    }

    fn write(
        &self,
        subject_key: &PrivateKey,
        issuer_name: &str,
        issuer_key: &PrivateKey,
    ) -> Result<Vec<u8>> {
        let cstr = |what: &str, s: &str| {
            CString::new(s).map_err(|_| Error::InvalidInput(format!("{what} contains a NUL byte")))
        };
        let subject = cstr("subject", &self.subject)?;
        let issuer = cstr("issuer name", issuer_name)?;

        let serial = match &self.serial {
            Some(s) => {
                let skip = s
                    .iter()
                    .take_while(|&&b| b == 0)
                    .count()
                    .min(s.len().saturating_sub(1));
                let s = &s[skip..];
                if s.is_empty() || s.len() > 20 {
                    return Err(Error::InvalidInput(
                        "the serial number must have 1 to 20 bytes".into(),
                    ));
                }
                s.to_vec()
            }
            None => {
                let mut s = alloc::vec![0u8; 16];
                crate::platform::random(&mut s)?;
                s[0] = (s[0] & 0x7F) | 0x40; // positive, and minimal as written
                s
            }
        };

        let (not_before, not_after) = match self.validity {
            Some(v) => v,
            None => {
                let now = crate::platform::now().ok_or_else(|| {
                    Error::InvalidInput("no clock is known: set the validity explicitly".into())
                })?;
                let at = |t: i64| {
                    DateTime::from_unix(t)
                        .ok_or_else(|| Error::InvalidInput("time out of range".into()))
                };
                (at(now - 3600)?, at(now + 365 * 86_400)?)
            }
        };
        if !not_before.is_valid() || !not_after.is_valid() || not_after < not_before {
            return Err(Error::InvalidInput(format!(
                "invalid validity {not_before} .. {not_after}"
            )));
        }
        let compact = |t: &DateTime| {
            format!(
                "{:04}{:02}{:02}{:02}{:02}{:02}",
                t.year, t.month, t.day, t.hour, t.minute, t.second
            )
        };
        let not_before = cstr("notBefore", &compact(&not_before))?;
        let not_after = cstr("notAfter", &compact(&not_after))?;

        let exts = self.extensions()?;
        let ext_refs: Vec<(&[u8], bool, &[u8])> = exts
            .iter()
            .map(|(o, c, v)| (o.as_bytes(), *c, v.as_slice()))
            .collect();
        let params = x509::CrtWriteParams {
            subject_name: &subject,
            issuer_name: &issuer,
            serial: &serial,
            not_before: &not_before,
            not_after: &not_after,
            md_alg: self.hash.md_type(),
            key_identifiers: self.key_identifiers,
            extensions: &ext_refs,
        };
        x509::write_crt_der(&params, subject_key, issuer_key)
    }

    /// (OID, critical, value DER) of every extension the builder adds, raw ones last.
    fn extensions(&self) -> Result<Vec<(Oid<'static>, bool, Vec<u8>)>> {
        let mut out = Vec::new();
        match self.role {
            Role::Leaf => {}
            Role::LeafExplicit => out.push((oid::BASIC_CONSTRAINTS, true, alloc::vec![0x30, 0x00])),
            Role::Ca(path_len) => {
                let mut w = Writer::new();
                w.sequence(|w| {
                    w.bool(true);
                    if let Some(n) = path_len {
                        w.integer_u64(u64::from(n));
                    }
                });
                out.push((oid::BASIC_CONSTRAINTS, true, w.into_vec()));
            }
        }
        let ku = match (self.key_usage, self.role) {
            (Some(ku), _) => Some(ku),
            (None, Role::Ca(_)) => Some(KeyUsage::KEY_CERT_SIGN | KeyUsage::CRL_SIGN),
            (None, _) => None,
        };
        if let Some(ku) = ku {
            out.push((oid::KEY_USAGE, true, encode_key_usage(ku)));
        }
        if !self.eku.is_empty() {
            let mut w = Writer::new();
            w.sequence(|w| {
                for e in &self.eku {
                    w.oid(&e.oid());
                }
            });
            out.push((oid::EXT_KEY_USAGE, false, w.into_vec()));
        }
        if !self.sans.is_empty() {
            out.push((
                oid::SUBJECT_ALT_NAME,
                false,
                encode_general_names(&self.sans)?,
            ));
        }
        for (dotted, critical, value) in &self.raw_extensions {
            let o = Oid::from_dotted(dotted).map_err(|e| der_err("extension OID", e))?;
            out.retain(|(existing, _, _)| *existing != o);
            out.push((o, *critical, value.clone()));
        }
        Ok(out)
    }
}

fn der_err(what: &str, e: DerError) -> Error {
    Error::InvalidInput(format!("{what}: {e}"))
}

/// keyUsage as a DER BIT STRING with named bits (trailing zero bits dropped).
fn encode_key_usage(ku: KeyUsage) -> Vec<u8> {
    // mbedTLS keeps bit 0 (digitalSignature) as 0x80 of the first byte and bit 8
    // (decipherOnly) as 0x80 of the second: the bytes of the BIT STRING, in order.
    let bits = ku.bits();
    let bytes = [(bits & 0xFF) as u8, ((bits >> 8) & 0xFF) as u8];
    let used = if bytes[1] != 0 {
        2
    } else if bytes[0] != 0 {
        1
    } else {
        0
    };
    let unused = if used == 0 {
        0
    } else {
        bytes[used - 1].trailing_zeros() as u8
    };
    let mut w = Writer::new();
    w.bit_string(unused, &bytes[..used]);
    w.into_vec()
}

fn encode_general_names(sans: &[San]) -> Result<Vec<u8>> {
    let ascii = |what: &str, s: &str| {
        if !s.is_empty() && s.bytes().all(|b| (0x20..0x7F).contains(&b)) {
            Ok(())
        } else {
            Err(Error::InvalidInput(format!(
                "{what} SAN must be non-empty printable ASCII: {s:?}"
            )))
        }
    };
    for san in sans {
        match san {
            San::Dns(s) => ascii("DNS", s)?,
            San::Email(s) => ascii("email", s)?,
            San::Uri(s) => ascii("URI", s)?,
            San::Ip(_) | San::Raw { .. } => {}
        }
    }
    let mut w = Writer::new();
    w.sequence(|w| {
        for san in sans {
            write_general_name(w, san);
        }
    });
    Ok(w.into_vec())
}

fn write_general_name(w: &mut Writer, name: &San) {
    match name {
        San::Email(s) => w.implicit(1, false, s.as_bytes()),
        San::Dns(s) => w.implicit(2, false, s.as_bytes()),
        San::Uri(s) => w.implicit(6, false, s.as_bytes()),
        San::Ip(ip) => w.implicit(7, false, ip.as_bytes()),
        San::Raw { tag, contents } => w.tlv(*tag, contents),
    };
}

/// The DER of a nameConstraints extension value (RFC 5280 4.2.1.10): `permitted` and
/// `excluded` subtree bases as GeneralNames — `San::Dns("fleet.example")`,
/// `San::Email`, `San::Uri` (a host), or `San::Raw` for the other forms (an iPAddress
/// range is `San::Raw { tag: 0x87, contents }` with the address followed by its mask, a
/// directoryName `0xA4` around a Name). Written as given, not validated (verification
/// refuses what it cannot enforce); an empty list is left out. See also
/// [`CertificateBuilder::name_constraints`].
pub fn name_constraints_der(permitted: &[San], excluded: &[San]) -> Vec<u8> {
    let subtrees = |w: &mut Writer, n: u8, bases: &[San]| {
        if !bases.is_empty() {
            w.constructed(crate::der::tag::context(n, true), |w| {
                for base in bases {
                    w.sequence(|w| write_general_name(w, base));
                }
            });
        }
    };
    let mut w = Writer::new();
    w.sequence(|w| {
        subtrees(w, 0, permitted);
        subtrees(w, 1, excluded);
    });
    w.into_vec()
}

/// A name in mbedTLS's string form that mbedTLS writes back byte for byte: every
/// attribute as `<dotted OID>=#<hex of the value's DER>`, so tags and bytes are kept.
///
/// mbedTLS cannot write multi-valued RDNs, and merges attributes with the same type:
/// such names are refused rather than silently changed.
fn name_to_mbedtls_string(name: &Name<'_>) -> Result<String> {
    let refuse = |why: &str| Err(Error::InvalidInput(format!("issuer name {name}: {why}")));
    if !name.is_well_formed() {
        return refuse("malformed");
    }
    let mut out = String::new();
    let mut seen: Vec<Oid<'_>> = Vec::new();
    let mut attrs = name.attributes();
    let mut first = true;
    while let Some((a, new_rdn)) = attrs.next_with_rdn() {
        if !new_rdn {
            return refuse("multi-valued RDNs cannot be written by mbedTLS");
        }
        if seen.contains(&a.oid) {
            return refuse("repeated attribute types cannot be written by mbedTLS");
        }
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str(&a.oid.to_string());
        out.push_str("=#");
        out.push_str(&x509::to_hex(a.value_der()));
        seen.push(a.oid);
    }
    if first {
        return refuse("empty");
    }
    Ok(out)
}

/// Builds and signs a certificate revocation list (v2) for an issuer certificate.
///
/// Defaults: thisUpdate now, nextUpdate seven days after thisUpdate, SHA-256.
#[derive(Debug)]
pub struct CrlBuilder<'a> {
    issuer: CertRef<'a>,
    key: &'a PrivateKey,
    revoked: Vec<(Vec<u8>, DateTime)>,
    this_update: Option<DateTime>,
    next_update: Option<DateTime>,
    number: Option<u64>,
    hash: HashAlgorithm,
}

impl<'a> CrlBuilder<'a> {
    /// A CRL issued by `issuer`, signed with `key` (the issuer's key).
    pub fn new(issuer: CertRef<'a>, key: &'a PrivateKey) -> Self {
        CrlBuilder {
            issuer,
            key,
            revoked: Vec::new(),
            this_update: None,
            next_update: None,
            number: None,
            hash: HashAlgorithm::Sha256,
        }
    }

    /// Revoke the certificate with this serial number: as [`CertRef::serial`] returns it
    /// (INTEGER contents) or unsigned big-endian. It is written as given, with a 0x00
    /// added when the top bit is set, so it matches the certificate's bytes.
    pub fn revoke(mut self, serial: &[u8], when: DateTime) -> Self {
        self.revoked.push((serial.to_vec(), when));
        self
    }

    /// The CRL's thisUpdate: when it was issued.
    pub fn this_update(mut self, t: DateTime) -> Self {
        self.this_update = Some(t);
        self
    }

    /// The CRL's nextUpdate: when the next CRL is due (verifiers treat the CRL as expired after it).
    pub fn next_update(mut self, t: DateTime) -> Self {
        self.next_update = Some(t);
        self
    }

    /// Add the cRLNumber extension (non-critical).
    pub fn number(mut self, n: u64) -> Self {
        self.number = Some(n);
        self
    }

    /// The hash the CRL is signed with.
    pub fn hash(mut self, hash: HashAlgorithm) -> Self {
        self.hash = hash;
        self
    }

    /// The signed CRL, DER.
    pub fn to_der(&self) -> Result<Vec<u8>> {
        if !self.issuer.matches_key(self.key) {
            return Err(Error::InvalidInput(
                "the CRL key does not match the issuer certificate".into(),
            ));
        }
        let this_update = match self.this_update {
            Some(t) => t,
            None => crate::platform::now()
                .and_then(DateTime::from_unix)
                .ok_or_else(|| Error::InvalidInput("no clock is known: set this_update".into()))?,
        };
        let next_update = match self.next_update {
            Some(t) => t,
            None => DateTime::from_unix(this_update.unix_timestamp() + 7 * 86_400)
                .ok_or_else(|| Error::InvalidInput("nextUpdate out of range".into()))?,
        };
        let time = |t: &DateTime| -> Result<Vec<u8>> {
            let mut w = Writer::new();
            w.time(t).map_err(|e| der_err("CRL time", e))?;
            Ok(w.into_vec())
        };
        let (this_der, next_der) = (time(&this_update)?, time(&next_update)?);
        let mut entries = Vec::with_capacity(self.revoked.len());
        for (serial, when) in &self.revoked {
            if serial.is_empty() || serial.len() > 32 {
                return Err(Error::InvalidInput(
                    "a revoked serial must have 1 to 32 bytes".into(),
                ));
            }
            let mut contents = Vec::with_capacity(serial.len() + 1);
            if serial[0] & 0x80 != 0 {
                contents.push(0);
            }
            contents.extend_from_slice(serial);
            entries.push((contents, time(when)?));
        }

        let alg = self.algorithm_identifier();
        let ski = self.issuer.extensions().flatten().find_map(|e| {
            (e.oid == oid::SUBJECT_KEY_IDENTIFIER)
                .then(|| {
                    Reader::new(e.value)
                        .read(crate::der::tag::OCTET_STRING)
                        .ok()
                })
                .flatten()
        });
        let mut tbs = Writer::new();
        tbs.sequence(|w| {
            w.integer_u64(1); // v2
            w.raw(&alg);
            w.raw(self.issuer.subject().der());
            w.raw(&this_der);
            w.raw(&next_der);
            if !entries.is_empty() {
                w.sequence(|w| {
                    for (serial, when) in &entries {
                        w.sequence(|w| {
                            w.tlv(crate::der::tag::INTEGER, serial);
                            w.raw(when);
                        });
                    }
                });
            }
            if self.number.is_some() || ski.is_some() {
                w.explicit(0, |w| {
                    w.sequence(|w| {
                        // authorityKeyIdentifier: the issuer's subjectKeyIdentifier
                        // (RFC 5280 5.2.1).
                        if let Some(ski) = ski {
                            w.sequence(|w| {
                                w.oid(&oid::AUTHORITY_KEY_IDENTIFIER);
                                let mut v = Writer::new();
                                v.sequence(|v| {
                                    v.implicit(0, false, ski);
                                });
                                w.octet_string(v.as_bytes());
                            });
                        }
                        if let Some(n) = self.number {
                            w.sequence(|w| {
                                w.oid(&oid::CRL_NUMBER);
                                let mut v = Writer::new();
                                v.integer_u64(n);
                                w.octet_string(v.as_bytes());
                            });
                        }
                    });
                });
            }
        });
        let tbs = tbs.into_vec();
        let sig = self.key.sign(self.hash.md_type(), &tbs)?;
        let mut crl = Writer::new();
        crl.sequence(|w| {
            w.raw(&tbs);
            w.raw(&alg);
            w.bit_string(0, &sig);
        });
        Ok(crl.into_vec())
    }

    /// The signed CRL, PEM (`X509 CRL`).
    pub fn to_pem(&self) -> Result<String> {
        Ok(crate::pem::encode("X509 CRL", &self.to_der()?))
    }

    /// ecdsa-with-SHAn without parameters, or shaNWithRSAEncryption with NULL.
    fn algorithm_identifier(&self) -> Vec<u8> {
        let rsa = self.key.is_rsa();
        let o = match (rsa, self.hash) {
            (false, HashAlgorithm::Sha256) => oid::ECDSA_WITH_SHA256,
            (false, HashAlgorithm::Sha384) => oid::ECDSA_WITH_SHA384,
            (false, HashAlgorithm::Sha512) => oid::ECDSA_WITH_SHA512,
            (true, HashAlgorithm::Sha256) => oid::SHA256_WITH_RSA,
            (true, HashAlgorithm::Sha384) => oid::SHA384_WITH_RSA,
            (true, HashAlgorithm::Sha512) => oid::SHA512_WITH_RSA,
        };
        let mut w = Writer::new();
        w.sequence(|w| {
            w.oid(&o);
            if rsa {
                w.null();
            }
        });
        w.into_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::der::{Reader, tag};
    use crate::pk::KeyType;
    use crate::x509::{BasicConstraints, Crl, SubjectAltName};
    use alloc::vec;

    fn p256() -> PrivateKey {
        PrivateKey::generate(KeyType::EcdsaP256).unwrap()
    }

    fn dt(s: &str) -> DateTime {
        DateTime::parse_rfc3339(s).unwrap()
    }

    fn builder(subject: &str) -> CertificateBuilder {
        CertificateBuilder::new(subject)
            .validity(dt("2026-01-01T00:00:00Z"), dt("2030-01-01T00:00:00Z"))
    }

    #[test]
    fn issued_chain_keeps_the_issuer_name_byte_for_byte() {
        let ca_key = p256();
        let subject = r"CN=Fleet\, Root CA,O=Fleet,OU=Ops,C=DE,L=Berlin,ST=BE,serialNumber=7,emailAddress=ca@example.com";
        let ca = builder(subject).ca(Some(1)).self_signed(&ca_key).unwrap();
        let ca = ca.first().unwrap();
        assert_eq!(ca.subject().common_name(), Some("Fleet, Root CA"));

        let key = p256();
        let leaf = builder("CN=device-1,O=Fleet")
            .extended_key_usage(&[ExtendedKeyUsage::ClientAuth])
            .san(San::Uri("urn:fleet:device-1".into()))
            .signed_by(&key, ca, &ca_key)
            .unwrap();
        let leaf = leaf.first().unwrap();
        assert_eq!(leaf.issuer().der(), ca.subject().der());
        assert!(!leaf.is_self_issued());
        assert!(leaf.matches_key(&key));
        assert_eq!(leaf.basic_constraints(), BasicConstraints::Absent);
        assert_eq!(
            leaf.subject_alt_names().collect::<Vec<_>>(),
            [SubjectAltName::Uri("urn:fleet:device-1")]
        );

        // An intermediate, then a leaf under it.
        let int_key = p256();
        let int = builder("CN=Intermediate,O=Fleet")
            .ca(Some(0))
            .signed_by(&int_key, ca, &ca_key)
            .unwrap();
        let int = int.first().unwrap();
        let leaf2 = builder("CN=device-2")
            .signed_by(&key, int, &int_key)
            .unwrap();
        assert_eq!(leaf2.first().unwrap().issuer().der(), int.subject().der());

        // The issuer key must be the issuer certificate's.
        let err = builder("CN=x").signed_by(&key, ca, &key).unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{err}");
    }

    #[test]
    fn issuer_names_mbedtls_cannot_write_are_refused() {
        let key = p256();
        // mbedTLS merges repeated attribute types, so DC=example,DC=com cannot be an issuer.
        let mut w = Writer::new();
        w.sequence(|w| {
            for dc in ["example", "com"] {
                w.set(|w| {
                    w.sequence(|w| {
                        w.oid(&oid::DOMAIN_COMPONENT)
                            .tlv(tag::IA5_STRING, dc.as_bytes());
                    });
                });
            }
        });
        let der = w.into_vec();
        assert!(name_to_mbedtls_string(&Name::from_der(&der)).is_err());
        assert!(name_to_mbedtls_string(&Name::from_der(&[0x30, 0x00])).is_err());
        assert!(name_to_mbedtls_string(&Name::from_der(&[0x30, 0x02, 0x31])).is_err());

        let ca = builder("CN=a,O=b").self_signed(&key).unwrap();
        assert_eq!(
            name_to_mbedtls_string(&ca.first().unwrap().subject()).unwrap(),
            "2.5.4.3=#0c0161,2.5.4.10=#0c0162"
        );
    }

    #[test]
    fn builder_input_errors() {
        let key = p256();
        let err = |b: CertificateBuilder| b.self_signed(&key).unwrap_err();
        assert!(matches!(
            err(builder("CN=a").serial(&[])),
            Error::InvalidInput(_)
        ));
        assert!(matches!(
            err(builder("CN=a").serial(&[1; 21])),
            Error::InvalidInput(_)
        ));
        assert!(matches!(
            err(builder("CN=a").san(San::Dns("bü".into()))),
            Error::InvalidInput(_)
        ));
        assert!(matches!(
            err(builder("CN=a").san(San::Email(String::new()))),
            Error::InvalidInput(_)
        ));
        assert!(matches!(
            err(builder("CN=a").raw_extension("1..2", false, vec![5, 0])),
            Error::InvalidInput(_)
        ));
        assert!(matches!(err(builder("CN=a\0b")), Error::InvalidInput(_)));
        let reversed = CertificateBuilder::new("CN=a")
            .validity(dt("2030-01-01T00:00:00Z"), dt("2026-01-01T00:00:00Z"));
        assert!(matches!(err(reversed), Error::InvalidInput(_)));
        let bad_date = DateTime {
            year: 2026,
            month: 2,
            day: 30,
            hour: 0,
            minute: 0,
            second: 0,
        };
        assert!(matches!(
            err(builder("CN=a").validity(bad_date, dt("2030-01-01T00:00:00Z"))),
            Error::InvalidInput(_)
        ));
        // mbedTLS rejects a subject it cannot parse.
        assert!(builder("nonsense").self_signed(&key).is_err());
        // A serial of 20 bytes is the maximum (RFC 5280).
        assert!(
            builder("CN=a")
                .serial(&[0x7F; 20])
                .self_signed(&key)
                .is_ok()
        );
    }

    #[cfg(feature = "std")]
    #[test]
    fn default_validity_uses_the_clock() {
        let key = p256();
        let c = CertificateBuilder::new("CN=now").self_signed(&key).unwrap();
        let c = c.first().unwrap();
        let now = crate::platform::now().unwrap();
        let nb = c.not_before().unix_timestamp();
        let na = c.not_after().unix_timestamp();
        assert!(
            (now - 3600 - 60..=now - 3600 + 60).contains(&nb),
            "{nb} vs {now}"
        );
        assert!((now + 365 * 86_400 - 60..=now + 365 * 86_400 + 60).contains(&na));
    }

    #[test]
    fn key_usage_bit_strings() {
        let hexed = |ku: KeyUsage| x509::to_hex(&encode_key_usage(ku));
        assert_eq!(hexed(KeyUsage::DIGITAL_SIGNATURE), "03020780");
        assert_eq!(
            hexed(KeyUsage::KEY_CERT_SIGN | KeyUsage::CRL_SIGN),
            "03020106"
        );
        assert_eq!(
            hexed(KeyUsage::DIGITAL_SIGNATURE | KeyUsage::KEY_ENCIPHERMENT),
            "030205a0"
        );
        assert_eq!(hexed(KeyUsage::ENCIPHER_ONLY), "03020001");
        assert_eq!(hexed(KeyUsage::DECIPHER_ONLY), "0303070080");
        assert_eq!(hexed(KeyUsage::empty()), "030100");
    }

    #[test]
    fn raw_extension_replaces_the_generated_one_and_pem_round_trips() {
        let key = p256();
        // nameConstraints (permitted dNSName .fleet.example), unknown to mbedTLS 3.6.
        let nc = name_constraints_der(&[San::Dns(".fleet.example".into())], &[]);
        let c = builder("CN=ca")
            .ca(Some(3))
            .raw_extension("2.5.29.19", true, vec![0x30, 0x03, 0x01, 0x01, 0xFF])
            .raw_extension("2.5.29.30", false, nc.clone())
            .self_signed(&key)
            .unwrap();
        let cert = c.first().unwrap();
        assert_eq!(
            cert.basic_constraints(),
            BasicConstraints::Valid {
                ca: true,
                path_len: None
            }
        );
        let exts: Vec<_> = cert
            .extensions()
            .collect::<core::result::Result<_, _>>()
            .unwrap();
        let found = exts
            .iter()
            .find(|e| e.oid == oid::NAME_CONSTRAINTS)
            .unwrap();
        assert_eq!((found.critical, found.value), (false, &nc[..]));
        assert_eq!(
            exts.iter()
                .filter(|e| e.oid == oid::BASIC_CONSTRAINTS)
                .count(),
            1
        );
        assert!(exts.iter().any(|e| e.oid == oid::SUBJECT_KEY_IDENTIFIER));
        assert!(exts.iter().any(|e| e.oid == oid::AUTHORITY_KEY_IDENTIFIER));

        // A critical nameConstraints parses (the verify path enforces it, see
        // name_constraints); any other critical extension mbedTLS does not know fails.
        let nc_critical = builder("CN=ca")
            .ca(None)
            .raw_extension("2.5.29.30", true, nc.clone())
            .self_signed(&key)
            .unwrap();
        let ca = nc_critical.first().unwrap();
        assert!(
            ca.extensions()
                .flatten()
                .any(|e| e.oid == oid::NAME_CONSTRAINTS && e.critical)
        );
        let critical =
            builder("CN=ca")
                .ca(None)
                .raw_extension("1.3.6.1.4.1.55555.1", true, vec![0x05, 0x00]);
        let der = critical.self_signed_der(&key).unwrap();
        assert!(matches!(
            CertChain::from_der(&der),
            Err(Error::Parse { .. })
        ));
        assert!(matches!(
            critical.self_signed(&key),
            Err(Error::Parse { .. })
        ));

        let no_ids = builder("CN=x")
            .key_identifiers(false)
            .self_signed(&key)
            .unwrap();
        assert_eq!(no_ids.first().unwrap().extensions().count(), 0);

        let pem = c.to_pem();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
        let back = CertChain::from_pem(pem.as_bytes()).unwrap();
        assert_eq!(back.first().unwrap().der(), cert.der());
        let mut two = c.clone();
        two.push_der(no_ids.first().unwrap().der()).unwrap();
        assert_eq!(
            CertChain::from_pem(two.to_pem().as_bytes()).unwrap().len(),
            2
        );
    }

    #[test]
    fn crl_is_accepted_by_mbedtls() {
        let ca_key = p256();
        let ca = builder("CN=Fleet CA,O=Fleet")
            .ca(None)
            .self_signed(&ca_key)
            .unwrap();
        let ca = ca.first().unwrap();
        let leaf = builder("CN=gone")
            .serial(&[0x80, 0x11])
            .signed_by(&p256(), ca, &ca_key)
            .unwrap();
        let crl = CrlBuilder::new(ca, &ca_key)
            .revoke(leaf.first().unwrap().serial(), dt("2026-03-01T12:00:00Z"))
            .revoke(&[0x05], dt("2051-01-01T00:00:00Z"))
            .this_update(dt("2026-03-02T00:00:00Z"))
            .next_update(dt("2026-04-02T00:00:00Z"))
            .number(7);
        let der = crl.to_der().unwrap();
        Crl::parse(&der).unwrap();
        Crl::parse(crl.to_pem().unwrap().as_bytes()).unwrap();

        // The structure: tbs with v2, the issuer's name byte for byte, UTCTime dates.
        let mut r = Reader::new(&der);
        let mut list = r.read_sequence().unwrap();
        r.finish().unwrap();
        let mut tbs = list.read_sequence().unwrap();
        assert_eq!(tbs.read_u64().unwrap(), 1);
        let mut alg = tbs.read_sequence().unwrap();
        assert_eq!(alg.read_oid().unwrap(), oid::ECDSA_WITH_SHA256);
        alg.finish().unwrap();
        assert_eq!(tbs.read_tlv().unwrap().raw, ca.subject().der());
        assert_eq!(tbs.read(tag::UTC_TIME).unwrap(), b"260302000000Z");
        assert_eq!(tbs.read(tag::UTC_TIME).unwrap(), b"260402000000Z");
        let mut revoked = tbs.read_sequence().unwrap();
        let mut first = revoked.read_sequence().unwrap();
        assert_eq!(first.read_integer().unwrap(), [0x00, 0x80, 0x11]);
        let mut second = revoked.read_sequence().unwrap();
        assert_eq!(second.read_integer().unwrap(), [0x05]);
        assert_eq!(
            second.read(tag::GENERALIZED_TIME).unwrap(),
            b"20510101000000Z"
        );
        assert!(tbs.read_optional(tag::context(0, true)).unwrap().is_some());
        tbs.finish().unwrap();

        // No revoked certificates: the list is omitted.
        let empty = CrlBuilder::new(ca, &ca_key)
            .this_update(dt("2026-03-02T00:00:00Z"))
            .to_der()
            .unwrap();
        Crl::parse(&empty).unwrap();

        // Wrong key.
        let other = p256();
        assert!(
            CrlBuilder::new(ca, &other)
                .this_update(dt("2026-03-02T00:00:00Z"))
                .to_der()
                .is_err()
        );
    }

    #[test]
    fn crl_with_rsa_issuer() {
        let ca_key = PrivateKey::generate(KeyType::Rsa(2048)).unwrap();
        let ca = builder("CN=RSA CA").ca(None).self_signed(&ca_key).unwrap();
        let ca = ca.first().unwrap();
        let crl = CrlBuilder::new(ca, &ca_key)
            .revoke(&[0x01, 0x02], dt("2026-03-01T12:00:00Z"))
            .this_update(dt("2026-03-02T00:00:00Z"))
            .hash(HashAlgorithm::Sha384);
        let der = crl.to_der().unwrap();
        Crl::parse(&der).unwrap();
        let mut r = Reader::new(&der);
        let mut list = r.read_sequence().unwrap();
        let _tbs = list.read_sequence().unwrap();
        let mut alg = list.read_sequence().unwrap();
        assert_eq!(alg.read_oid().unwrap(), oid::SHA384_WITH_RSA);
        alg.read(tag::NULL).unwrap();
        alg.finish().unwrap();
    }
}
