//! Typed accessors on [`CertRef`]: names, serial, validity, subject alternative names,
//! key usages, basicConstraints (re-parsed strictly), algorithms and fingerprints.
//!
//! Most values come from what mbedTLS parsed (through the shim's `mv_cert_info` and
//! `mv_crt_seq_get`); basicConstraints and the extension list are re-read by this crate
//! with the strict [`der`](crate::der) reader, because mbedTLS 3.6.5 accepts some
//! malformed basicConstraints as cA=TRUE (see [`BasicConstraints`]).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::fmt::Write as _;

use super::CertRef;
use crate::der::{DerError, Oid, Reader, oid, tag};
use crate::sys;
use crate::time::DateTime;

/// `MBEDTLS_X509_EXT_KEY_USAGE` (`MBEDTLS_OID_X509_EXT_KEY_USAGE`, `1 << 2`): the
/// bindings do not carry the `MBEDTLS_X509_EXT_*` macros (they alias `oid.h` macros).
const EXT_KEY_USAGE_BIT: u32 = 1 << 2;
/// `MBEDTLS_X509_EXT_EXTENDED_KEY_USAGE` (`1 << 11`).
const EXT_EXTENDED_KEY_USAGE_BIT: u32 = 1 << 11;

// ---------------------------------------------------------------------------------
// Hex helpers
// ---------------------------------------------------------------------------------

/// Lowercase hex, no separators.
pub fn to_hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Parse hex (upper or lower case), optionally with one `:` between bytes
/// (`"0a:1B:ff"` or `"0a1bff"`). `None` on anything else.
pub fn parse_hex(s: &str) -> Option<Vec<u8>> {
    let digits = s.as_bytes();
    let mut out = Vec::with_capacity(digits.len() / 2);
    let mut i = 0;
    while i < digits.len() {
        if i > 0 && digits[i] == b':' {
            i += 1; // a colon only between two bytes
            if i == digits.len() {
                return None;
            }
        }
        let hi = hex_val(*digits.get(i)?)?;
        let lo = hex_val(*digits.get(i + 1)?)?;
        out.push(hi << 4 | lo);
        i += 2;
    }
    Some(out)
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------

/// A distinguished name (`Name`), borrowed as DER.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Name<'a> {
    der: &'a [u8],
}

impl<'a> Name<'a> {
    /// A name over its DER encoding (the `SEQUENCE`). Not validated: a malformed name
    /// yields attributes up to the first error.
    pub const fn from_der(der: &'a [u8]) -> Self {
        Name { der }
    }

    /// The DER encoding (byte-exact, as in the certificate).
    pub const fn der(&self) -> &'a [u8] {
        self.der
    }

    /// Whether the encoding is a well-formed `SEQUENCE OF SET OF AttributeTypeAndValue`.
    pub fn is_well_formed(&self) -> bool {
        let mut it = self.attributes();
        for _ in it.by_ref() {}
        !it.failed
    }

    /// Every attribute, in encoding order (multi-valued RDNs flattened).
    pub fn attributes(&self) -> Attributes<'a> {
        let mut r = Reader::new(self.der);
        let rdns = r.read_sequence().and_then(|s| r.finish().map(|()| s));
        let failed = rdns.is_err();
        Attributes {
            rdns: rdns.unwrap_or(Reader::new(&[])),
            set: Reader::new(&[]),
            failed,
        }
    }

    /// The first commonName, if present and decodable.
    pub fn common_name(&self) -> Option<&'a str> {
        self.attributes()
            .find(|a| a.kind == AttributeKind::CommonName)?
            .value_str()
    }

    /// The decodable values of every attribute of `kind`, in order.
    pub fn values(&self, kind: AttributeKind) -> impl Iterator<Item = &'a str> + use<'a> {
        self.attributes()
            .filter(move |a| a.kind == kind)
            .filter_map(|a| a.value_str())
    }

    /// `CN=device-1, O=Fleet`: RDNs in encoding order separated by `", "`, multi-valued
    /// RDNs joined with `+`, `,` `+` `\` `=` escaped with `\`, control characters as
    /// `\XX`, and values that are not text as `#` and the hex of their DER (RFC 4514).
    pub fn to_string_lossy(&self) -> String {
        let mut s = String::new();
        let mut it = self.attributes();
        let mut first = true;
        while let Some((a, new_rdn)) = it.next_with_rdn() {
            if !first {
                s.push_str(if new_rdn { ", " } else { "+" });
            }
            first = false;
            match a.kind.short_name() {
                Some(n) => s.push_str(n),
                None => {
                    let _ = write!(s, "{}", a.oid);
                }
            }
            s.push('=');
            match a.value_str() {
                Some(v) => {
                    for c in v.chars() {
                        match c {
                            ',' | '+' | '\\' | '=' => {
                                s.push('\\');
                                s.push(c);
                            }
                            c if c.is_control() && (c as u32) < 0x80 => {
                                let _ = write!(s, "\\{:02X}", c as u32);
                            }
                            c => s.push(c),
                        }
                    }
                }
                None => {
                    s.push('#');
                    s.push_str(&to_hex(a.raw_tlv));
                }
            }
        }
        if it.failed {
            s.push_str(if first {
                "<malformed name>"
            } else {
                ", <malformed>"
            });
        }
        s
    }
}

impl fmt::Display for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string_lossy())
    }
}

impl fmt::Debug for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name({:?})", self.to_string_lossy())
    }
}

/// The attribute types this crate names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AttributeKind {
    /// commonName (CN).
    CommonName,
    /// organizationName (O).
    Organization,
    /// organizationalUnitName (OU).
    OrganizationalUnit,
    /// countryName (C).
    Country,
    /// localityName (L).
    Locality,
    /// stateOrProvinceName (ST).
    State,
    /// serialNumber (the attribute, not the certificate's serial).
    SerialNumber,
    /// PKCS #9 emailAddress.
    EmailAddress,
    /// domainComponent (DC).
    DomainComponent,
    /// Any other attribute type.
    Other,
}

impl AttributeKind {
    /// The kind of an attribute type OID ([`Other`](Self::Other) if not named here).
    pub fn from_oid(o: &Oid<'_>) -> Self {
        const TABLE: [(Oid<'static>, AttributeKind); 9] = [
            (oid::COMMON_NAME, AttributeKind::CommonName),
            (oid::ORGANIZATION, AttributeKind::Organization),
            (oid::ORGANIZATIONAL_UNIT, AttributeKind::OrganizationalUnit),
            (oid::COUNTRY, AttributeKind::Country),
            (oid::LOCALITY, AttributeKind::Locality),
            (oid::STATE, AttributeKind::State),
            (oid::SERIAL_NUMBER, AttributeKind::SerialNumber),
            (oid::EMAIL_ADDRESS, AttributeKind::EmailAddress),
            (oid::DOMAIN_COMPONENT, AttributeKind::DomainComponent),
        ];
        TABLE
            .iter()
            .find(|(t, _)| t == o)
            .map_or(AttributeKind::Other, |(_, k)| *k)
    }

    /// `CN`, `O`, `OU`, `C`, `L`, `ST`, `serialNumber`, `emailAddress`, `DC`.
    pub fn short_name(self) -> Option<&'static str> {
        Some(match self {
            AttributeKind::CommonName => "CN",
            AttributeKind::Organization => "O",
            AttributeKind::OrganizationalUnit => "OU",
            AttributeKind::Country => "C",
            AttributeKind::Locality => "L",
            AttributeKind::State => "ST",
            AttributeKind::SerialNumber => "serialNumber",
            AttributeKind::EmailAddress => "emailAddress",
            AttributeKind::DomainComponent => "DC",
            AttributeKind::Other => return None,
        })
    }
}

/// One `AttributeTypeAndValue` of a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute<'a> {
    /// The attribute type.
    pub oid: Oid<'a>,
    /// The attribute type, when it is one this crate names.
    pub kind: AttributeKind,
    /// The value's contents (without tag and length).
    pub value: &'a [u8],
    /// The value's tag (UTF8String 0x0C, PrintableString 0x13, ...).
    pub tag: u8,
    raw_tlv: &'a [u8],
}

impl<'a> Attribute<'a> {
    /// The value as text: UTF8String (valid UTF-8), or PrintableString, IA5String or
    /// TeletexString holding only ASCII. `None` for other types (BMPString,
    /// UniversalString, ...), invalid encodings and any value containing a NUL.
    pub fn value_str(&self) -> Option<&'a str> {
        let s = match self.tag {
            tag::UTF8_STRING => core::str::from_utf8(self.value).ok()?,
            tag::PRINTABLE_STRING | tag::IA5_STRING | tag::TELETEX_STRING
                if self.value.is_ascii() =>
            {
                core::str::from_utf8(self.value).ok()?
            }
            _ => return None,
        };
        (!s.contains('\0')).then_some(s)
    }

    /// The value's whole DER encoding: tag, length and contents.
    pub fn value_der(&self) -> &'a [u8] {
        self.raw_tlv
    }
}

/// The attributes of a [`Name`]. Stops at the first malformed element.
#[derive(Debug, Clone)]
pub struct Attributes<'a> {
    rdns: Reader<'a>,
    set: Reader<'a>,
    failed: bool,
}

impl<'a> Attributes<'a> {
    /// The next attribute and whether it starts a new RDN.
    pub(crate) fn next_with_rdn(&mut self) -> Option<(Attribute<'a>, bool)> {
        if self.failed {
            return None;
        }
        let r = self.step();
        match r {
            Ok(v) => v,
            Err(_) => {
                self.failed = true;
                None
            }
        }
    }

    fn step(&mut self) -> Result<Option<(Attribute<'a>, bool)>, DerError> {
        let mut new_rdn = false;
        if self.set.is_empty() {
            if self.rdns.is_empty() {
                return Ok(None);
            }
            self.set = self.rdns.read_set()?;
            if self.set.is_empty() {
                return Err(DerError::Truncated); // an RDN has at least one attribute
            }
            new_rdn = true;
        }
        let mut atv = self.set.read_sequence()?;
        let oid = atv.read_oid()?;
        let value = atv.read_tlv()?;
        atv.finish()?;
        let kind = AttributeKind::from_oid(&oid);
        Ok(Some((
            Attribute {
                oid,
                kind,
                value: value.contents,
                tag: value.tag,
                raw_tlv: value.raw,
            },
            new_rdn,
        )))
    }
}

impl<'a> Iterator for Attributes<'a> {
    type Item = Attribute<'a>;
    fn next(&mut self) -> Option<Attribute<'a>> {
        self.next_with_rdn().map(|(a, _)| a)
    }
}

// ---------------------------------------------------------------------------------
// Subject alternative names
// ---------------------------------------------------------------------------------

/// An IPv4 or IPv6 address from an `iPAddress` GeneralName.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IpAddress {
    /// An IPv4 address.
    V4([u8; 4]),
    /// An IPv6 address.
    V6([u8; 16]),
}

impl IpAddress {
    /// The 4 or 16 bytes of an `iPAddress`; `None` for any other length.
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        if let Ok(v4) = <[u8; 4]>::try_from(b) {
            Some(IpAddress::V4(v4))
        } else {
            <[u8; 16]>::try_from(b).ok().map(IpAddress::V6)
        }
    }

    /// The address bytes (4 or 16).
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            IpAddress::V4(b) => b,
            IpAddress::V6(b) => b,
        }
    }

    /// Parse `192.0.2.1` or `2001:db8::1`.
    pub fn parse(s: &str) -> Option<Self> {
        s.parse::<core::net::IpAddr>().ok().map(Into::into)
    }
}

impl From<core::net::IpAddr> for IpAddress {
    fn from(ip: core::net::IpAddr) -> Self {
        match ip {
            core::net::IpAddr::V4(a) => IpAddress::V4(a.octets()),
            core::net::IpAddr::V6(a) => IpAddress::V6(a.octets()),
        }
    }
}

impl From<IpAddress> for core::net::IpAddr {
    fn from(ip: IpAddress) -> Self {
        match ip {
            IpAddress::V4(b) => core::net::IpAddr::from(b),
            IpAddress::V6(b) => core::net::IpAddr::from(b),
        }
    }
}

impl fmt::Display for IpAddress {
    /// Dotted quad, or RFC 5952 text for IPv6.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&core::net::IpAddr::from(*self), f)
    }
}

/// One `GeneralName` of the subjectAltName extension.
///
/// Text forms (`Dns`, `Email`, `Uri`) are returned only when the value is ASCII without
/// control characters (IA5String as it should be); anything else comes back as `Other`
/// so that it can never match an allow-list by accident.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubjectAltName<'a> {
    /// `dNSName` `[2]`.
    Dns(&'a str),
    /// `rfc822Name` `[1]`.
    Email(&'a str),
    /// `uniformResourceIdentifier` `[6]`.
    Uri(&'a str),
    /// `iPAddress` `[7]`, 4 or 16 bytes.
    Ip(IpAddress),
    /// `otherName` `[0]`: the type OID and the DER inside its `[0] EXPLICIT` value.
    OtherName {
        /// The type-id OID.
        type_id: Oid<'a>,
        /// The DER inside the `[0] EXPLICIT` value.
        value: &'a [u8],
    },
    /// `directoryName` `[4]`.
    DirectoryName(Name<'a>),
    /// Anything else, or a known form whose contents are malformed: the tag byte and the
    /// contents.
    Other {
        /// The tag byte.
        tag: u8,
        /// The contents.
        raw: &'a [u8],
    },
}

impl<'a> SubjectAltName<'a> {
    /// Decode one GeneralName from its tag byte and contents.
    pub fn from_general_name(tag_byte: u8, contents: &'a [u8]) -> Self {
        let other = SubjectAltName::Other {
            tag: tag_byte,
            raw: contents,
        };
        let text = || {
            contents
                .iter()
                .all(|&b| (0x20..0x7F).contains(&b))
                .then(|| core::str::from_utf8(contents).ok())
                .flatten()
        };
        match tag_byte {
            0x81 => text().map_or(other, SubjectAltName::Email),
            0x82 => text().map_or(other, SubjectAltName::Dns),
            0x86 => text().map_or(other, SubjectAltName::Uri),
            0x87 => IpAddress::from_bytes(contents).map_or(other, SubjectAltName::Ip),
            0xA0 => {
                let parse = || -> Result<Self, DerError> {
                    let mut r = Reader::new(contents);
                    let type_id = r.read_oid()?;
                    let value = r.read(tag::context(0, true))?;
                    r.finish()?;
                    Ok(SubjectAltName::OtherName { type_id, value })
                };
                parse().unwrap_or(other)
            }
            0xA4 => {
                let mut r = Reader::new(contents);
                match r.read_tlv() {
                    Ok(t) if t.tag == tag::SEQUENCE && r.is_empty() => {
                        let name = Name::from_der(t.raw);
                        if name.is_well_formed() {
                            SubjectAltName::DirectoryName(name)
                        } else {
                            other
                        }
                    }
                    _ => other,
                }
            }
            _ => other,
        }
    }
}

impl fmt::Display for SubjectAltName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubjectAltName::Dns(s) => write!(f, "DNS:{s}"),
            SubjectAltName::Email(s) => write!(f, "email:{s}"),
            SubjectAltName::Uri(s) => write!(f, "URI:{s}"),
            SubjectAltName::Ip(ip) => write!(f, "IP:{ip}"),
            SubjectAltName::OtherName { type_id, value } => {
                write!(f, "othername:{type_id};#{}", to_hex(value))
            }
            SubjectAltName::DirectoryName(n) => write!(f, "dirName:{n}"),
            SubjectAltName::Other { tag, raw } => write!(f, "tag{tag:#04x}:#{}", to_hex(raw)),
        }
    }
}

/// The subject alternative names of a certificate.
#[derive(Debug, Clone)]
pub struct SubjectAltNames<'a> {
    cert: CertRef<'a>,
    idx: usize,
}

impl<'a> Iterator for SubjectAltNames<'a> {
    type Item = SubjectAltName<'a>;
    fn next(&mut self) -> Option<SubjectAltName<'a>> {
        let (t, contents) = self.cert.seq(sys::MV_SEQ_SUBJECT_ALT_NAMES, self.idx)?;
        self.idx += 1;
        Some(SubjectAltName::from_general_name(t, contents))
    }
}

// ---------------------------------------------------------------------------------
// Key usage
// ---------------------------------------------------------------------------------

bitflags::bitflags! {
    /// The keyUsage extension's bits (mbedTLS's `MBEDTLS_X509_KU_*` values).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct KeyUsage: u32 {
        /// digitalSignature.
        const DIGITAL_SIGNATURE = sys::MBEDTLS_X509_KU_DIGITAL_SIGNATURE;
        /// nonRepudiation (contentCommitment).
        const NON_REPUDIATION = sys::MBEDTLS_X509_KU_NON_REPUDIATION;
        /// keyEncipherment.
        const KEY_ENCIPHERMENT = sys::MBEDTLS_X509_KU_KEY_ENCIPHERMENT;
        /// dataEncipherment.
        const DATA_ENCIPHERMENT = sys::MBEDTLS_X509_KU_DATA_ENCIPHERMENT;
        /// keyAgreement.
        const KEY_AGREEMENT = sys::MBEDTLS_X509_KU_KEY_AGREEMENT;
        /// keyCertSign: may sign certificates.
        const KEY_CERT_SIGN = sys::MBEDTLS_X509_KU_KEY_CERT_SIGN;
        /// cRLSign: may sign CRLs.
        const CRL_SIGN = sys::MBEDTLS_X509_KU_CRL_SIGN;
        /// encipherOnly.
        const ENCIPHER_ONLY = sys::MBEDTLS_X509_KU_ENCIPHER_ONLY;
        /// decipherOnly.
        const DECIPHER_ONLY = sys::MBEDTLS_X509_KU_DECIPHER_ONLY;
    }
}

/// An extended key usage purpose.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExtendedKeyUsage<'a> {
    /// id-kp-serverAuth: TLS server.
    ServerAuth,
    /// id-kp-clientAuth: TLS client.
    ClientAuth,
    /// id-kp-codeSigning.
    CodeSigning,
    /// id-kp-emailProtection.
    EmailProtection,
    /// id-kp-timeStamping.
    TimeStamping,
    /// id-kp-OCSPSigning.
    OcspSigning,
    /// `anyExtendedKeyUsage` (2.5.29.37.0).
    Any,
    /// Any other purpose, by OID.
    Other(Oid<'a>),
}

const EKU_TABLE: [(ExtendedKeyUsage<'static>, Oid<'static>, &str); 7] = [
    (
        ExtendedKeyUsage::ServerAuth,
        oid::KP_SERVER_AUTH,
        "serverAuth",
    ),
    (
        ExtendedKeyUsage::ClientAuth,
        oid::KP_CLIENT_AUTH,
        "clientAuth",
    ),
    (
        ExtendedKeyUsage::CodeSigning,
        oid::KP_CODE_SIGNING,
        "codeSigning",
    ),
    (
        ExtendedKeyUsage::EmailProtection,
        oid::KP_EMAIL_PROTECTION,
        "emailProtection",
    ),
    (
        ExtendedKeyUsage::TimeStamping,
        oid::KP_TIME_STAMPING,
        "timeStamping",
    ),
    (
        ExtendedKeyUsage::OcspSigning,
        oid::KP_OCSP_SIGNING,
        "OCSPSigning",
    ),
    (
        ExtendedKeyUsage::Any,
        oid::ANY_EXTENDED_KEY_USAGE,
        "anyExtendedKeyUsage",
    ),
];

impl<'a> ExtendedKeyUsage<'a> {
    /// The named purpose for a known OID, `Other` otherwise.
    pub fn from_oid(o: Oid<'a>) -> Self {
        EKU_TABLE
            .iter()
            .find(|(_, t, _)| *t == o)
            .map_or(ExtendedKeyUsage::Other(o), |(e, _, _)| e.clone())
    }

    /// `serverAuth`, `clientAuth`, `codeSigning`, `emailProtection`, `timeStamping`,
    /// `OCSPSigning`, `anyExtendedKeyUsage` (case-insensitive), or a dotted OID.
    pub fn from_name(name: &str) -> Option<ExtendedKeyUsage<'static>> {
        if let Some((e, _, _)) = EKU_TABLE
            .iter()
            .find(|(_, _, n)| n.eq_ignore_ascii_case(name))
        {
            return Some(e.clone());
        }
        Oid::from_dotted(name).ok().map(ExtendedKeyUsage::from_oid)
    }

    /// The purpose's OID.
    pub fn oid(&self) -> Oid<'_> {
        match self {
            ExtendedKeyUsage::Other(o) => o.clone(),
            known => EKU_TABLE
                .iter()
                .find(|(e, _, _)| e == known)
                .map_or(oid::ANY_EXTENDED_KEY_USAGE, |(_, o, _)| o.clone()),
        }
    }

    /// The same purpose, owning its OID.
    pub fn into_owned(self) -> ExtendedKeyUsage<'static> {
        match self {
            ExtendedKeyUsage::Other(o) => ExtendedKeyUsage::from_oid(o.into_owned()),
            ExtendedKeyUsage::ServerAuth => ExtendedKeyUsage::ServerAuth,
            ExtendedKeyUsage::ClientAuth => ExtendedKeyUsage::ClientAuth,
            ExtendedKeyUsage::CodeSigning => ExtendedKeyUsage::CodeSigning,
            ExtendedKeyUsage::EmailProtection => ExtendedKeyUsage::EmailProtection,
            ExtendedKeyUsage::TimeStamping => ExtendedKeyUsage::TimeStamping,
            ExtendedKeyUsage::OcspSigning => ExtendedKeyUsage::OcspSigning,
            ExtendedKeyUsage::Any => ExtendedKeyUsage::Any,
        }
    }
}

impl fmt::Display for ExtendedKeyUsage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExtendedKeyUsage::Other(o) => write!(f, "{o}"),
            known => {
                let name = EKU_TABLE
                    .iter()
                    .find(|(e, _, _)| e == known)
                    .map_or("?", |(_, _, n)| n);
                f.write_str(name)
            }
        }
    }
}

/// The purposes of an extendedKeyUsage extension (an iterator; cheap to clone).
#[derive(Debug, Clone)]
pub struct ExtKeyUsages<'a> {
    cert: CertRef<'a>,
    idx: usize,
}

impl ExtKeyUsages<'_> {
    /// Whether `eku` is listed (exactly; `Any` does not imply the others, see
    /// [`permits`](Self::permits)).
    pub fn contains(&self, eku: &ExtendedKeyUsage<'_>) -> bool {
        let mut all = self.clone();
        all.idx = 0;
        all.any(|e| e == *eku)
    }

    /// Whether `eku` is listed or `anyExtendedKeyUsage` is.
    pub fn permits(&self, eku: &ExtendedKeyUsage<'_>) -> bool {
        self.contains(eku) || self.contains(&ExtendedKeyUsage::Any)
    }
}

impl<'a> Iterator for ExtKeyUsages<'a> {
    type Item = ExtendedKeyUsage<'a>;
    fn next(&mut self) -> Option<ExtendedKeyUsage<'a>> {
        let (_, contents) = self.cert.seq(sys::MV_SEQ_EXT_KEY_USAGE, self.idx)?;
        self.idx += 1;
        let o = Oid::parse(contents).unwrap_or_else(|_| Oid::from_unchecked(contents));
        Some(ExtendedKeyUsage::from_oid(o))
    }
}

// ---------------------------------------------------------------------------------
// Extensions and basicConstraints
// ---------------------------------------------------------------------------------

/// What a quick walk of an extension list says about one extension (see
/// [`quick_find_extension`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Presence {
    Absent,
    /// Present (the first occurrence; `critical` as encoded).
    Present {
        critical: bool,
    },
    /// The walk did not understand the encoding: ask the strict reader.
    Unknown,
}

/// Find the extension `oid` (DER contents of the OID) in an `Extensions` SEQUENCE by a
/// minimal walk: tags and lengths only, no validation of anything else. For the verify
/// callback's hot path, where the strict [`Extensions`] reader costs more than a
/// hundred nanoseconds per certificate: `Absent` is exact for any list this walk reads
/// to the end, anything it cannot read is `Unknown`, and callers treat `Present` and
/// `Unknown` with the strict reader.
pub(crate) fn quick_find_extension(ext_der: &[u8], oid: &[u8]) -> Presence {
    /// (tag, start of contents, end of contents) of the TLV at `at`, inside `limit`.
    fn tlv(b: &[u8], at: usize, limit: usize) -> Option<(u8, usize, usize)> {
        let tag = *b.get(at)?;
        let first = *b.get(at.checked_add(1)?)?;
        let (len, start) = match first {
            0..=0x7F => (usize::from(first), at.checked_add(2)?),
            0x81..=0x84 => {
                let n = usize::from(first & 0x7F);
                let mut len = 0usize;
                for i in 0..n {
                    let byte = *b.get(at.checked_add(2 + i)?)?;
                    len = len.checked_mul(256)?.checked_add(usize::from(byte))?;
                }
                (len, at.checked_add(2 + n)?)
            }
            _ => return None,
        };
        let end = start.checked_add(len)?;
        (end <= limit).then_some((tag, start, end))
    }
    if ext_der.is_empty() {
        return Presence::Absent;
    }
    let Some((0x30, mut pos, end)) = tlv(ext_der, 0, ext_der.len()) else {
        return Presence::Unknown;
    };
    if end != ext_der.len() {
        return Presence::Unknown;
    }
    while pos < end {
        let Some((0x30, inner, next)) = tlv(ext_der, pos, end) else {
            return Presence::Unknown;
        };
        let Some((0x06, o_start, o_end)) = tlv(ext_der, inner, next) else {
            return Presence::Unknown;
        };
        if ext_der.get(o_start..o_end) == Some(oid) {
            let critical = matches!(
                tlv(ext_der, o_end, next),
                Some((0x01, v, v_end)) if v_end == v + 1 && ext_der.get(v) != Some(&0)
            );
            return Presence::Present { critical };
        }
        pos = next;
    }
    Presence::Absent
}

/// One certificate extension, as encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension<'a> {
    /// The extension's OID (extnID).
    pub oid: Oid<'a>,
    /// Whether it is marked critical.
    pub critical: bool,
    /// The extnValue OCTET STRING's contents (the extension's own DER).
    pub value: &'a [u8],
}

/// The extensions of a certificate, read strictly (DER). An `Err` item ends the
/// iteration: the rest of the list cannot be trusted.
#[derive(Debug, Clone)]
pub struct Extensions<'a> {
    list: Reader<'a>,
    error: Option<DerError>,
    done: bool,
}

impl<'a> Extensions<'a> {
    /// The extensions in the DER of an `Extensions` SEQUENCE (empty input: none).
    pub fn from_der(der: &'a [u8]) -> Self {
        let mut ext = Extensions {
            list: Reader::new(&[]),
            error: None,
            done: false,
        };
        if der.is_empty() {
            return ext;
        }
        let mut r = Reader::new(der);
        match r.read_sequence().and_then(|s| r.finish().map(|()| s)) {
            // SIZE (1..MAX) says an empty list is malformed, but mbedTLS writes one for a
            // v3 certificate without extensions; nothing is in it, so accept it.
            Ok(list) => ext.list = list,
            Err(e) => ext.error = Some(e),
        }
        ext
    }

    fn parse_one(&mut self) -> Result<Extension<'a>, DerError> {
        let mut ext = self.list.read_sequence()?;
        let oid = ext.read_oid()?;
        let critical = if ext.peek_tag() == Some(tag::BOOLEAN) {
            // DER forbids encoding the DEFAULT FALSE.
            if !ext.read_bool()? {
                return Err(DerError::InvalidBool);
            }
            true
        } else {
            false
        };
        let value = ext.read(tag::OCTET_STRING)?;
        ext.finish()?;
        Ok(Extension {
            oid,
            critical,
            value,
        })
    }
}

impl<'a> Iterator for Extensions<'a> {
    type Item = Result<Extension<'a>, DerError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if let Some(e) = self.error.take() {
            self.done = true;
            return Some(Err(e));
        }
        if self.list.is_empty() {
            self.done = true;
            return None;
        }
        let r = self.parse_one();
        self.done = r.is_err();
        Some(r)
    }
}

/// The basicConstraints extension, as this crate reads it: strictly, by DER rules.
///
/// mbedTLS 3.6.5 (fixed in 3.6.7) reads `SEQUENCE { INTEGER n }` as cA=TRUE (the 2026
/// CA-bit forgery advisory). Here that, an explicitly encoded `cA FALSE` (DER forbids
/// encoding the default), a BOOLEAN other than 0x00/0xFF, a pathLenConstraint without
/// cA (RFC 5280 §4.2.1.9), a negative or non-minimal or larger-than-`u32` pathLen,
/// trailing bytes, a duplicate extension, or malformed extensions are all `Malformed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BasicConstraints {
    /// No basicConstraints extension.
    Absent,
    /// A well-formed extension.
    Valid {
        /// The cA boolean.
        ca: bool,
        /// pathLenConstraint, when present.
        path_len: Option<u32>,
    },
    /// Present but not acceptable: the certificate is not a CA.
    Malformed,
}

impl BasicConstraints {
    /// True only for a well-formed extension with cA=TRUE.
    pub fn is_ca(&self) -> bool {
        matches!(self, BasicConstraints::Valid { ca: true, .. })
    }

    /// Find basicConstraints in a certificate's extensions: `Malformed` if the list is
    /// malformed or has it twice.
    pub fn from_extensions(extensions: Extensions<'_>) -> Self {
        let mut found = None;
        for ext in extensions {
            let Ok(ext) = ext else {
                return BasicConstraints::Malformed;
            };
            if ext.oid == oid::BASIC_CONSTRAINTS {
                if found.is_some() {
                    return BasicConstraints::Malformed; // duplicate
                }
                found = Some(ext.value);
            }
        }
        found.map_or(
            BasicConstraints::Absent,
            BasicConstraints::from_extension_value,
        )
    }

    /// Read the extension's value (the DER inside extnValue).
    pub fn from_extension_value(value: &[u8]) -> Self {
        let parse = || -> Result<BasicConstraints, DerError> {
            let mut r = Reader::new(value);
            let mut seq = r.read_sequence()?;
            r.finish()?;
            let ca = match seq.peek_tag() {
                Some(tag::BOOLEAN) => {
                    if !seq.read_bool()? {
                        return Err(DerError::InvalidBool); // DEFAULT FALSE encoded
                    }
                    true
                }
                _ => false,
            };
            let path_len = if seq.is_empty() {
                None
            } else {
                let v = seq.read_u64()?;
                Some(u32::try_from(v).map_err(|_| DerError::IntegerOutOfRange)?)
            };
            seq.finish()?;
            if path_len.is_some() && !ca {
                return Err(DerError::InvalidValue);
            }
            Ok(BasicConstraints::Valid { ca, path_len })
        };
        parse().unwrap_or(BasicConstraints::Malformed)
    }
}

// ---------------------------------------------------------------------------------
// Algorithms
// ---------------------------------------------------------------------------------

/// A hash function used in signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HashAlgorithm {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlgorithm {
    /// The `mbedtls_md_type_t`.
    pub(crate) fn md_type(self) -> u32 {
        match self {
            HashAlgorithm::Sha256 => sys::MBEDTLS_MD_SHA256,
            HashAlgorithm::Sha384 => sys::MBEDTLS_MD_SHA384,
            HashAlgorithm::Sha512 => sys::MBEDTLS_MD_SHA512,
        }
    }

    pub(crate) fn from_md_type(md: u32) -> Option<Self> {
        match md {
            sys::MBEDTLS_MD_SHA256 => Some(HashAlgorithm::Sha256),
            sys::MBEDTLS_MD_SHA384 => Some(HashAlgorithm::Sha384),
            sys::MBEDTLS_MD_SHA512 => Some(HashAlgorithm::Sha512),
            _ => None,
        }
    }

    /// `sha256`, `sha384`, `sha512`.
    pub fn name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha256 => "sha256",
            HashAlgorithm::Sha384 => "sha384",
            HashAlgorithm::Sha512 => "sha512",
        }
    }
}

/// The algorithm a certificate is signed with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureAlgorithm<'a> {
    /// ecdsa-with-SHA256.
    EcdsaSha256,
    /// ecdsa-with-SHA384.
    EcdsaSha384,
    /// ecdsa-with-SHA512.
    EcdsaSha512,
    /// sha256WithRSAEncryption (PKCS #1 v1.5).
    RsaPkcs1Sha256,
    /// sha384WithRSAEncryption (PKCS #1 v1.5).
    RsaPkcs1Sha384,
    /// sha512WithRSAEncryption (PKCS #1 v1.5).
    RsaPkcs1Sha512,
    /// RSASSA-PSS; `hash` from its parameters when it is SHA-256/384/512.
    RsaPss {
        /// The hash, if it is one of [`HashAlgorithm`]'s.
        hash: Option<HashAlgorithm>,
    },
    /// Any other algorithm, by OID.
    Other(Oid<'a>),
}

const SIG_TABLE: [(SignatureAlgorithm<'static>, Oid<'static>, &str); 6] = [
    (
        SignatureAlgorithm::EcdsaSha256,
        oid::ECDSA_WITH_SHA256,
        "ecdsa-sha256",
    ),
    (
        SignatureAlgorithm::EcdsaSha384,
        oid::ECDSA_WITH_SHA384,
        "ecdsa-sha384",
    ),
    (
        SignatureAlgorithm::EcdsaSha512,
        oid::ECDSA_WITH_SHA512,
        "ecdsa-sha512",
    ),
    (
        SignatureAlgorithm::RsaPkcs1Sha256,
        oid::SHA256_WITH_RSA,
        "rsa-pkcs1-sha256",
    ),
    (
        SignatureAlgorithm::RsaPkcs1Sha384,
        oid::SHA384_WITH_RSA,
        "rsa-pkcs1-sha384",
    ),
    (
        SignatureAlgorithm::RsaPkcs1Sha512,
        oid::SHA512_WITH_RSA,
        "rsa-pkcs1-sha512",
    ),
];

impl<'a> SignatureAlgorithm<'a> {
    /// Decide by OID; for RSASSA-PSS the hash is taken from `pss_md` (an
    /// `mbedtls_md_type_t`, as mbedTLS read it from the parameters).
    pub(crate) fn from_oid(o: Oid<'a>, pss_md: u32) -> Self {
        if o == oid::RSASSA_PSS {
            return SignatureAlgorithm::RsaPss {
                hash: HashAlgorithm::from_md_type(pss_md),
            };
        }
        SIG_TABLE
            .iter()
            .find(|(_, t, _)| *t == o)
            .map_or(SignatureAlgorithm::Other(o), |(s, _, _)| s.clone())
    }

    /// Parse what [`Display`](fmt::Display) writes: `ecdsa-sha256`, `rsa-pkcs1-sha384`,
    /// `rsa-pss`, `rsa-pss-sha256`, ... or a dotted OID.
    pub fn from_name(name: &str) -> Option<SignatureAlgorithm<'static>> {
        if let Some((s, _, _)) = SIG_TABLE.iter().find(|(_, _, n)| *n == name) {
            return Some(s.clone());
        }
        if let Some(rest) = name.strip_prefix("rsa-pss") {
            let hash = match rest {
                "" => None,
                "-sha256" => Some(HashAlgorithm::Sha256),
                "-sha384" => Some(HashAlgorithm::Sha384),
                "-sha512" => Some(HashAlgorithm::Sha512),
                _ => return None,
            };
            return Some(SignatureAlgorithm::RsaPss { hash });
        }
        let o = Oid::from_dotted(name).ok()?;
        Some(SignatureAlgorithm::from_oid(o, sys::MBEDTLS_MD_NONE))
    }
}

impl fmt::Display for SignatureAlgorithm<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignatureAlgorithm::RsaPss { hash: None } => f.write_str("rsa-pss"),
            SignatureAlgorithm::RsaPss { hash: Some(h) } => write!(f, "rsa-pss-{}", h.name()),
            SignatureAlgorithm::Other(o) => write!(f, "{o}"),
            known => {
                let name = SIG_TABLE
                    .iter()
                    .find(|(s, _, _)| s == known)
                    .map_or("?", |(_, _, n)| n);
                f.write_str(name)
            }
        }
    }
}

/// An elliptic curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Curve {
    /// NIST P-256 (secp256r1).
    P256,
    /// NIST P-384 (secp384r1).
    P384,
    /// NIST P-521 (secp521r1).
    P521,
    /// X25519 (key exchange only).
    X25519,
    /// Another `mbedtls_ecp_group_id`.
    Other(u32),
}

/// The subject public key's algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PublicKeyAlgorithm {
    /// An elliptic-curve key on this curve.
    Ec(Curve),
    /// An RSA key.
    Rsa,
    /// Another key type.
    Other,
}

/// The subject public key's algorithm and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKeyInfo {
    /// The algorithm (and curve).
    pub algorithm: PublicKeyAlgorithm,
    /// The key size in bits (`mbedtls_pk_get_bitlen`).
    pub bits: u32,
}

// ---------------------------------------------------------------------------------
// Accessors
// ---------------------------------------------------------------------------------

impl<'a> CertRef<'a> {
    /// The subject name.
    pub fn subject(&self) -> Name<'a> {
        Name::from_der(self.part(sys::MV_PART_SUBJECT))
    }

    /// The issuer name.
    pub fn issuer(&self) -> Name<'a> {
        Name::from_der(self.part(sys::MV_PART_ISSUER))
    }

    /// The serial number: the INTEGER's contents (a leading 0x00 when the top bit is set).
    pub fn serial(&self) -> &'a [u8] {
        self.part(sys::MV_PART_SERIAL)
    }

    /// The serial number in lowercase hex, without the sign byte.
    pub fn serial_hex(&self) -> String {
        match self.serial() {
            [0, rest @ ..] if !rest.is_empty() => to_hex(rest),
            s => to_hex(s),
        }
    }

    /// notBefore.
    pub fn not_before(&self) -> DateTime {
        DateTime::from_mv(&self.info().valid_from)
    }

    /// notAfter.
    pub fn not_after(&self) -> DateTime {
        DateTime::from_mv(&self.info().valid_to)
    }

    /// The X.509 version: 1, 2 or 3.
    pub fn version(&self) -> u8 {
        u8::try_from(self.info().version).unwrap_or(0)
    }

    /// Whether subject and issuer are the same name (byte for byte).
    pub fn is_self_issued(&self) -> bool {
        self.part(sys::MV_PART_SUBJECT) == self.part(sys::MV_PART_ISSUER)
    }

    /// The subject alternative names (empty when the extension is absent).
    pub fn subject_alt_names(&self) -> SubjectAltNames<'a> {
        SubjectAltNames {
            cert: *self,
            idx: 0,
        }
    }

    /// The keyUsage bits, `None` when the extension is absent.
    pub fn key_usage(&self) -> Option<KeyUsage> {
        let info = self.info();
        (info.ext_types & EXT_KEY_USAGE_BIT != 0)
            .then(|| KeyUsage::from_bits_truncate(info.key_usage))
    }

    /// The extendedKeyUsage purposes, `None` when the extension is absent.
    pub fn extended_key_usage(&self) -> Option<ExtKeyUsages<'a>> {
        (self.info().ext_types & EXT_EXTENDED_KEY_USAGE_BIT != 0).then_some(ExtKeyUsages {
            cert: *self,
            idx: 0,
        })
    }

    /// The certificatePolicies OIDs (empty when absent).
    pub fn policies(&self) -> impl Iterator<Item = Oid<'a>> + use<'a> {
        let cert = *self;
        (0..)
            .map_while(move |i| cert.seq(sys::MV_SEQ_CERT_POLICIES, i))
            .map(|(_, c)| Oid::parse(c).unwrap_or_else(|_| Oid::from_unchecked(c)))
    }

    /// The extensions, read strictly from the certificate's DER.
    pub fn extensions(&self) -> Extensions<'a> {
        Extensions::from_der(self.part(sys::MV_PART_V3_EXT))
    }

    /// basicConstraints, re-parsed strictly (see [`BasicConstraints`]); this, not
    /// mbedTLS's own reading, decides whether a certificate is a CA.
    pub fn basic_constraints(&self) -> BasicConstraints {
        BasicConstraints::from_extensions(self.extensions())
    }

    /// The signature algorithm.
    pub fn signature_algorithm(&self) -> SignatureAlgorithm<'a> {
        let info = self.info();
        let raw = self.slice(info.sig_oid);
        let o = Oid::parse(raw).unwrap_or_else(|_| Oid::from_unchecked(raw));
        SignatureAlgorithm::from_oid(o, info.sig_md)
    }

    /// The subject public key's algorithm and size.
    #[doc(alias = "mbedtls_pk_get_type")]
    #[doc(alias = "mbedtls_pk_get_bitlen")]
    pub fn public_key(&self) -> PublicKeyInfo {
        let info = self.info();
        let algorithm = match info.pk_type {
            sys::MBEDTLS_PK_RSA | sys::MBEDTLS_PK_RSASSA_PSS => PublicKeyAlgorithm::Rsa,
            sys::MBEDTLS_PK_ECKEY | sys::MBEDTLS_PK_ECKEY_DH | sys::MBEDTLS_PK_ECDSA => {
                PublicKeyAlgorithm::Ec(match (info.ec_group, info.pk_bits) {
                    (sys::MBEDTLS_ECP_DP_SECP256R1, _) | (0, 256) => Curve::P256,
                    (sys::MBEDTLS_ECP_DP_SECP384R1, _) | (0, 384) => Curve::P384,
                    (sys::MBEDTLS_ECP_DP_SECP521R1, _) | (0, 521) => Curve::P521,
                    (sys::MBEDTLS_ECP_DP_CURVE25519, _) => Curve::X25519,
                    (g, _) => Curve::Other(g),
                })
            }
            _ => PublicKeyAlgorithm::Other,
        };
        PublicKeyInfo {
            algorithm,
            bits: info.pk_bits,
        }
    }

    /// The SubjectPublicKeyInfo, DER.
    pub fn spki_der(&self) -> &'a [u8] {
        self.part(sys::MV_PART_SPKI)
    }

    /// SHA-256 of the whole certificate (DER).
    pub fn fingerprint_sha256(&self) -> [u8; 32] {
        super::sha256(self.der())
    }

    /// SHA-256 of the SubjectPublicKeyInfo: a public-key pin that survives renewal.
    pub fn spki_sha256(&self) -> [u8; 32] {
        super::sha256(self.spki_der())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::der::Writer;
    use crate::issue::{CertificateBuilder, San};
    use crate::pk::{KeyType, PrivateKey};
    use crate::x509::CertChain;
    use alloc::string::ToString;
    use alloc::vec;

    fn p256() -> PrivateKey {
        PrivateKey::generate(KeyType::EcdsaP256).unwrap()
    }

    fn dt(s: &str) -> DateTime {
        DateTime::parse_rfc3339(s).unwrap()
    }

    fn builder(subject: &str) -> CertificateBuilder {
        CertificateBuilder::new(subject)
            .validity(dt("2026-01-02T03:04:05Z"), dt("2027-01-02T03:04:05Z"))
    }

    fn first(c: &CertChain) -> CertRef<'_> {
        c.first().unwrap()
    }

    #[test]
    fn hex_helpers() {
        assert_eq!(to_hex(&[0x00, 0xAB, 0x10]), "00ab10");
        assert_eq!(to_hex(&[]), "");
        assert_eq!(parse_hex("00ab10"), Some(vec![0, 0xAB, 0x10]));
        assert_eq!(parse_hex("00:AB:1f"), Some(vec![0, 0xAB, 0x1F]));
        assert_eq!(parse_hex(""), Some(vec![]));
        for bad in [
            "0", "abc", ":00", "00:", "00::11", "0:011", "zz", "00 11", "é1",
        ] {
            assert_eq!(parse_hex(bad), None, "{bad}");
        }
        assert_eq!(parse_hex(&to_hex(&[1, 2, 255])), Some(vec![1, 2, 255]));
    }

    #[test]
    fn date_time_conversions() {
        let t = dt("2026-01-02T03:04:05Z");
        assert_eq!(
            t,
            DateTime {
                year: 2026,
                month: 1,
                day: 2,
                hour: 3,
                minute: 4,
                second: 5
            }
        );
        assert_eq!(t.to_string(), "2026-01-02T03:04:05Z");
        assert_eq!(t.unix_timestamp(), 1_767_323_045);
        assert_eq!(DateTime::from_unix(1_767_323_045), Some(t));
        assert_eq!(
            DateTime::from_unix(0).unwrap().to_string(),
            "1970-01-01T00:00:00Z"
        );
        assert_eq!(
            DateTime::from_unix(-1).unwrap().to_string(),
            "1969-12-31T23:59:59Z"
        );
        assert_eq!(dt("2000-02-29T00:00:00Z").unix_timestamp(), 951_782_400);
        assert_eq!(
            DateTime::from_unix(253_402_300_799).unwrap().to_string(),
            "9999-12-31T23:59:59Z"
        );
        assert_eq!(DateTime::from_unix(253_402_300_800), None);
        assert_eq!(DateTime::from_unix(i64::MIN), None);
        for s in [
            -62_167_219_200i64,
            -1,
            0,
            951_782_400,
            4_102_444_800,
            253_402_300_799,
        ] {
            assert_eq!(DateTime::from_unix(s).unwrap().unix_timestamp(), s);
        }
        // Offsets convert to UTC; fractions are dropped.
        assert_eq!(dt("2026-01-02T05:04:05+02:00"), t);
        assert_eq!(dt("2026-01-01T22:34:05.123-04:30"), t);
        assert_eq!(dt("2026-01-02t03:04:05z"), t);
        for bad in [
            "2026-01-02T03:04:05",
            "2026-01-02T03:04:05+0200",
            "2026-13-02T03:04:05Z",
            "2026-02-29T03:04:05Z",
            "2026-01-02T24:04:05Z",
            "2026-01-02T03:04:60Z",
            "2026-01-02T03:04:05.Z",
            "2026-01-02T03:04:05+24:00",
            "2026-1-02T03:04:05Z",
            "+026-01-02T03:04:05Z",
            "2026-01-02T03:04:05Zjunk",
            "",
        ] {
            assert_eq!(DateTime::parse_rfc3339(bad), None, "{bad}");
        }
        assert!(dt("2026-01-02T03:04:05Z") < dt("2026-01-02T03:04:06Z"));
        assert!(dt("2025-12-31T23:59:59Z") < dt("2026-01-01T00:00:00Z"));
        assert_eq!(DateTime::new(2026, 2, 29, 0, 0, 0), None);
        assert!(DateTime::new(2024, 2, 29, 0, 0, 0).is_some());
    }

    #[test]
    fn subject_attributes_round_trip() {
        let key = p256();
        let subject = "CN=device-1,O=Fleet,OU=Sensors,C=DE,L=Berlin,ST=Berlin,serialNumber=SN-42,\
                       emailAddress=ops@example.com,DC=example";
        let c = builder(subject).self_signed(&key).unwrap();
        let name = first(&c).subject();
        assert!(name.is_well_formed());
        let kinds: Vec<_> = name
            .attributes()
            .map(|a| (a.kind, a.value_str().unwrap().to_string()))
            .collect();
        assert_eq!(
            kinds,
            [
                (AttributeKind::CommonName, "device-1".to_string()),
                (AttributeKind::Organization, "Fleet".into()),
                (AttributeKind::OrganizationalUnit, "Sensors".into()),
                (AttributeKind::Country, "DE".into()),
                (AttributeKind::Locality, "Berlin".into()),
                (AttributeKind::State, "Berlin".into()),
                (AttributeKind::SerialNumber, "SN-42".into()),
                (AttributeKind::EmailAddress, "ops@example.com".into()),
                (AttributeKind::DomainComponent, "example".into()),
            ]
        );
        assert_eq!(name.common_name(), Some("device-1"));
        assert_eq!(
            name.values(AttributeKind::OrganizationalUnit)
                .collect::<Vec<_>>(),
            ["Sensors"]
        );
        assert_eq!(
            name.to_string_lossy(),
            "CN=device-1, O=Fleet, OU=Sensors, C=DE, L=Berlin, ST=Berlin, serialNumber=SN-42, \
             emailAddress=ops@example.com, DC=example"
        );
        let tags: Vec<u8> = name.attributes().map(|a| a.tag).collect();
        assert_eq!(tags[0], tag::UTF8_STRING);
        assert_eq!(tags[3], tag::PRINTABLE_STRING); // C
        assert_eq!(tags[7], tag::IA5_STRING); // emailAddress
        assert_eq!(first(&c).issuer(), name);
        assert!(first(&c).is_self_issued());
        assert_eq!(first(&c).version(), 3);
        // The Debug impl of CertRef uses the lossy form.
        assert!(alloc::format!("{:?}", first(&c)).contains("CN=device-1, O=Fleet"));
    }

    #[test]
    fn name_escaping_and_lossy_forms() {
        let key = p256();
        let c = builder(r"CN=a\,b\+c\=d\\e,O=x").self_signed(&key).unwrap();
        let name = first(&c).subject();
        assert_eq!(name.common_name(), Some(r"a,b+c=d\e"));
        assert_eq!(name.to_string_lossy(), r"CN=a\,b\+c\=d\\e, O=x");

        // Hand-built name: a multi-valued RDN, an unknown OID, a BMPString, a control char.
        let mut w = Writer::new();
        w.sequence(|w| {
            w.set(|w| {
                w.sequence(|w| {
                    w.oid(&oid::COMMON_NAME).utf8_string("x");
                });
                w.sequence(|w| {
                    w.oid(&oid::ORGANIZATION).tlv(tag::PRINTABLE_STRING, b"y");
                });
            });
            w.set(|w| {
                w.sequence(|w| {
                    w.oid_dotted("2.5.4.42")
                        .unwrap()
                        .tlv(tag::BMP_STRING, &[0, b'G']);
                });
            });
            w.set(|w| {
                w.sequence(|w| {
                    w.oid(&oid::ORGANIZATIONAL_UNIT).utf8_string("a\nb");
                });
            });
        });
        let der = w.into_vec();
        let name = Name::from_der(&der);
        assert!(name.is_well_formed());
        assert_eq!(
            name.to_string_lossy(),
            r"CN=x+O=y, 2.5.4.42=#1e020047, OU=a\0Ab"
        );
        let bmp = name.attributes().nth(2).unwrap();
        assert_eq!((bmp.kind, bmp.value_str()), (AttributeKind::Other, None));

        // ASCII-only for the legacy string types; NUL never.
        let attr = |t: u8, v: &'static [u8]| Attribute {
            oid: oid::COMMON_NAME,
            kind: AttributeKind::CommonName,
            value: v,
            tag: t,
            raw_tlv: &[],
        };
        assert_eq!(
            attr(tag::UTF8_STRING, "ü".as_bytes()).value_str(),
            Some("ü")
        );
        assert_eq!(
            attr(tag::PRINTABLE_STRING, "ü".as_bytes()).value_str(),
            None
        );
        assert_eq!(attr(tag::TELETEX_STRING, b"abc").value_str(), Some("abc"));
        assert_eq!(attr(tag::UTF8_STRING, b"a\0b").value_str(), None);
        assert_eq!(attr(tag::UTF8_STRING, &[0xFF]).value_str(), None);

        // Malformed names never panic and report what they could read.
        let truncated = &der[..der.len() - 2];
        assert!(!Name::from_der(truncated).is_well_formed());
        assert_eq!(
            Name::from_der(truncated).to_string_lossy(),
            "<malformed name>"
        );
        let mut w = Writer::new();
        w.sequence(|w| {
            w.set(|w| {
                w.sequence(|w| {
                    w.oid(&oid::COMMON_NAME).utf8_string("x");
                });
            });
            w.set(|_| {}); // an empty RDN
        });
        let partial = w.into_vec();
        assert!(!Name::from_der(&partial).is_well_formed());
        assert_eq!(
            Name::from_der(&partial).to_string_lossy(),
            "CN=x, <malformed>"
        );
        assert_eq!(
            Name::from_der(&[0x31, 0x00]).to_string_lossy(),
            "<malformed name>"
        );
        assert_eq!(
            Name::from_der(&[0x30, 0x02, 0x31, 0x00])
                .attributes()
                .count(),
            0
        );
        assert_eq!(Name::from_der(&[0x30, 0x00]).to_string_lossy(), "");
    }

    #[test]
    fn serial_and_validity() {
        let key = p256();
        let c = builder("CN=s")
            .serial(&[0x00, 0x00, 0x12, 0x34])
            .self_signed(&key)
            .unwrap();
        assert_eq!(first(&c).serial(), [0x12, 0x34]);
        assert_eq!(first(&c).serial_hex(), "1234");
        let c = builder("CN=s")
            .serial(&[0x80, 0x01])
            .self_signed(&key)
            .unwrap();
        assert_eq!(first(&c).serial(), [0x00, 0x80, 0x01]);
        assert_eq!(first(&c).serial_hex(), "8001");
        assert_eq!(first(&c).not_before(), dt("2026-01-02T03:04:05Z"));
        assert_eq!(first(&c).not_after(), dt("2027-01-02T03:04:05Z"));

        // Default serial: 16 random bytes, positive, minimally encoded.
        let c1 = builder("CN=s").self_signed(&key).unwrap();
        let c2 = builder("CN=s").self_signed(&key).unwrap();
        let s1 = first(&c1).serial();
        assert_eq!(s1.len(), 16);
        assert!(s1[0] & 0x80 == 0 && s1[0] != 0);
        assert_ne!(s1, first(&c2).serial());

        // GeneralizedTime from 2050 on.
        let late =
            builder("CN=late").validity(dt("2049-12-31T23:59:59Z"), dt("2051-06-01T00:00:00Z"));
        let c = late.self_signed(&key).unwrap();
        assert_eq!(first(&c).not_before(), dt("2049-12-31T23:59:59Z"));
        assert_eq!(first(&c).not_after(), dt("2051-06-01T00:00:00Z"));
    }

    #[test]
    fn subject_alt_names_of_every_kind() {
        let key = p256();
        // otherName: UPN 1.3.6.1.4.1.311.20.2.3 [0] { UTF8String "dev@corp" }.
        let mut other = Writer::new();
        other
            .oid_dotted("1.3.6.1.4.1.311.20.2.3")
            .unwrap()
            .explicit(0, |w| {
                w.utf8_string("dev@corp");
            });
        let other = other.into_vec();
        let mut dir = Writer::new();
        dir.sequence(|w| {
            w.set(|w| {
                w.sequence(|w| {
                    w.oid(&oid::COMMON_NAME).utf8_string("dir");
                });
            });
        });
        let dir = dir.into_vec();
        let c = builder("CN=san")
            .san(San::Dns("device-1.fleet.example".into()))
            .san(San::Email("ops@example.com".into()))
            .san(San::Uri("urn:fleet:device-1".into()))
            .sans([
                San::Ip(IpAddress::parse("192.0.2.7").unwrap()),
                San::Ip(IpAddress::parse("2001:db8::1").unwrap()),
                San::Raw {
                    tag: 0xA0,
                    contents: other.clone(),
                },
                San::Raw {
                    tag: 0xA4,
                    contents: dir.clone(),
                },
                San::Raw {
                    tag: 0x82,
                    contents: "bü.example".as_bytes().to_vec(),
                },
                San::Raw {
                    tag: 0x82,
                    contents: b"a\x00b".to_vec(),
                },
                San::Raw {
                    tag: 0x88,
                    contents: vec![0x2A, 0x03],
                },
            ])
            .self_signed(&key)
            .unwrap();
        let sans: Vec<_> = first(&c).subject_alt_names().collect();
        assert_eq!(sans.len(), 10);
        assert_eq!(sans[0], SubjectAltName::Dns("device-1.fleet.example"));
        assert_eq!(sans[1], SubjectAltName::Email("ops@example.com"));
        assert_eq!(sans[2], SubjectAltName::Uri("urn:fleet:device-1"));
        assert_eq!(sans[3], SubjectAltName::Ip(IpAddress::V4([192, 0, 2, 7])));
        assert_eq!(sans[3].to_string(), "IP:192.0.2.7");
        assert_eq!(sans[4].to_string(), "IP:2001:db8::1");
        match &sans[5] {
            SubjectAltName::OtherName { type_id, value } => {
                assert_eq!(type_id.to_string(), "1.3.6.1.4.1.311.20.2.3");
                assert_eq!(*value, &[&[0x0C, 8][..], b"dev@corp"].concat()[..]);
            }
            other => panic!("{other:?}"),
        }
        match &sans[6] {
            SubjectAltName::DirectoryName(n) => assert_eq!(n.to_string_lossy(), "CN=dir"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            sans[7],
            SubjectAltName::Other {
                tag: 0x82,
                raw: "bü.example".as_bytes()
            }
        );
        assert_eq!(
            sans[8],
            SubjectAltName::Other {
                tag: 0x82,
                raw: b"a\x00b"
            }
        );
        assert_eq!(
            sans[9],
            SubjectAltName::Other {
                tag: 0x88,
                raw: &[0x2A, 0x03]
            }
        );

        // No extension: empty.
        let plain = builder("CN=plain").self_signed(&key).unwrap();
        assert_eq!(first(&plain).subject_alt_names().count(), 0);
    }

    #[test]
    fn general_name_decoding_edge_cases() {
        let g = SubjectAltName::from_general_name;
        assert_eq!(
            g(0x87, &[1, 2, 3]),
            SubjectAltName::Other {
                tag: 0x87,
                raw: &[1, 2, 3]
            }
        );
        assert_eq!(g(0x82, b"a b"), SubjectAltName::Dns("a b"));
        assert_eq!(
            g(0x82, b"tab\there"),
            SubjectAltName::Other {
                tag: 0x82,
                raw: b"tab\there"
            }
        );
        assert_eq!(
            g(0x81, &[0xC3, 0xBC]),
            SubjectAltName::Other {
                tag: 0x81,
                raw: &[0xC3, 0xBC]
            }
        );
        // otherName without its [0] value, or with trailing bytes.
        let bad = [0x06, 0x01, 0x2A];
        assert_eq!(
            g(0xA0, &bad),
            SubjectAltName::Other {
                tag: 0xA0,
                raw: &bad
            }
        );
        let trailing = [0x06, 0x01, 0x2A, 0xA0, 0x00, 0x05];
        assert_eq!(
            g(0xA0, &trailing),
            SubjectAltName::Other {
                tag: 0xA0,
                raw: &trailing
            }
        );
        // directoryName that is not one well-formed Name.
        let two = [0x30, 0x00, 0x30, 0x00];
        assert_eq!(
            g(0xA4, &two),
            SubjectAltName::Other {
                tag: 0xA4,
                raw: &two
            }
        );
        assert_eq!(
            IpAddress::V6([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]).to_string(),
            "2001:db8::1"
        );
    }

    #[test]
    fn key_usage_and_extended_key_usage() {
        let key = p256();
        let plain = builder("CN=plain").self_signed(&key).unwrap();
        assert_eq!(first(&plain).key_usage(), None);
        assert!(first(&plain).extended_key_usage().is_none());

        let ku = KeyUsage::DIGITAL_SIGNATURE | KeyUsage::KEY_AGREEMENT | KeyUsage::DECIPHER_ONLY;
        let custom = builder("CN=ku")
            .key_usage(ku)
            .extended_key_usage(&[
                ExtendedKeyUsage::ClientAuth,
                ExtendedKeyUsage::ServerAuth,
                ExtendedKeyUsage::from_name("1.2.3.4").unwrap(),
            ])
            .self_signed(&key)
            .unwrap();
        assert_eq!(first(&custom).key_usage(), Some(ku));
        let ekus = first(&custom).extended_key_usage().unwrap();
        let list: Vec<_> = ekus.clone().collect();
        assert_eq!(
            list[..2],
            [ExtendedKeyUsage::ClientAuth, ExtendedKeyUsage::ServerAuth]
        );
        assert_eq!(list[2].to_string(), "1.2.3.4");
        assert!(ekus.contains(&ExtendedKeyUsage::ClientAuth));
        assert!(ekus.contains(&ExtendedKeyUsage::from_name("1.2.3.4").unwrap()));
        assert!(!ekus.contains(&ExtendedKeyUsage::CodeSigning));
        assert!(!ekus.permits(&ExtendedKeyUsage::CodeSigning));

        let any = builder("CN=any")
            .extended_key_usage(&[ExtendedKeyUsage::Any])
            .self_signed(&key)
            .unwrap();
        let any = first(&any).extended_key_usage().unwrap();
        assert!(!any.contains(&ExtendedKeyUsage::ClientAuth));
        assert!(any.permits(&ExtendedKeyUsage::ClientAuth));

        // CA default keyUsage.
        let ca = builder("CN=ca").ca(None).self_signed(&key).unwrap();
        assert_eq!(
            first(&ca).key_usage(),
            Some(KeyUsage::KEY_CERT_SIGN | KeyUsage::CRL_SIGN)
        );
    }

    #[test]
    fn eku_names() {
        for (name, eku) in [
            ("serverAuth", ExtendedKeyUsage::ServerAuth),
            ("clientAuth", ExtendedKeyUsage::ClientAuth),
            ("codeSigning", ExtendedKeyUsage::CodeSigning),
            ("emailProtection", ExtendedKeyUsage::EmailProtection),
            ("timeStamping", ExtendedKeyUsage::TimeStamping),
            ("OCSPSigning", ExtendedKeyUsage::OcspSigning),
            ("anyExtendedKeyUsage", ExtendedKeyUsage::Any),
        ] {
            assert_eq!(ExtendedKeyUsage::from_name(name), Some(eku.clone()));
            assert_eq!(eku.to_string(), name);
            assert_eq!(ExtendedKeyUsage::from_oid(eku.oid()), eku);
        }
        assert_eq!(
            ExtendedKeyUsage::from_name("clientauth"),
            Some(ExtendedKeyUsage::ClientAuth)
        );
        assert_eq!(
            ExtendedKeyUsage::from_name("1.3.6.1.5.5.7.3.2"),
            Some(ExtendedKeyUsage::ClientAuth)
        );
        assert_eq!(ExtendedKeyUsage::from_name("client-auth"), None);
    }

    #[test]
    fn basic_constraints_strict() {
        let key = p256();
        let bc = |c: &CertChain| first(c).basic_constraints();
        let leaf = builder("CN=leaf").self_signed(&key).unwrap();
        assert_eq!(bc(&leaf), BasicConstraints::Absent);
        assert!(!bc(&leaf).is_ca());

        let explicit_leaf = builder("CN=leaf")
            .basic_constraints_leaf()
            .self_signed(&key)
            .unwrap();
        assert_eq!(
            bc(&explicit_leaf),
            BasicConstraints::Valid {
                ca: false,
                path_len: None
            }
        );

        let ca = builder("CN=ca").ca(None).self_signed(&key).unwrap();
        assert_eq!(
            bc(&ca),
            BasicConstraints::Valid {
                ca: true,
                path_len: None
            }
        );
        assert!(bc(&ca).is_ca());
        let ca2 = builder("CN=ca").ca(Some(2)).self_signed(&key).unwrap();
        assert_eq!(
            bc(&ca2),
            BasicConstraints::Valid {
                ca: true,
                path_len: Some(2)
            }
        );
        assert_eq!(first(&ca2).info().max_pathlen, 3); // mbedTLS: pathLen + 1
        let ca0 = builder("CN=ca").ca(Some(0)).self_signed(&key).unwrap();
        assert_eq!(
            bc(&ca0),
            BasicConstraints::Valid {
                ca: true,
                path_len: Some(0)
            }
        );
    }

    /// The 2026 CA-bit forgery advisory (fixed in mbedTLS 3.6.7): mbedTLS 3.6.5 reads
    /// basicConstraints `SEQUENCE { INTEGER 5 }` as cA=TRUE. The strict parse does not.
    #[test]
    fn forged_basic_constraints_is_malformed() {
        let key = p256();
        let der = builder("CN=forged leaf")
            .raw_extension("2.5.29.19", true, vec![0x30, 0x03, 0x02, 0x01, 0x05])
            .self_signed_der(&key)
            .unwrap();
        match CertChain::from_der(&der) {
            Ok(forged) => {
                let cert = first(&forged);
                assert_eq!(cert.basic_constraints(), BasicConstraints::Malformed);
                assert!(!cert.basic_constraints().is_ca());
                if cfg!(mbedtls_lt_3_6_7) {
                    // What the advisory is about: mbedTLS itself says cA=TRUE.
                    assert_eq!(cert.info().ca_istrue, 1);
                }
            }
            // A fixed mbedTLS may refuse the certificate altogether.
            Err(e) => {
                if cfg!(mbedtls_lt_3_6_7) {
                    panic!("mbedTLS < 3.6.7 parses the forged extension, but: {e}");
                }
            }
        }

        // Explicit cA FALSE: DER forbids encoding the default.
        let explicit_false = builder("CN=f")
            .raw_extension("2.5.29.19", true, vec![0x30, 0x03, 0x01, 0x01, 0x00])
            .self_signed(&key)
            .unwrap();
        assert_eq!(
            first(&explicit_false).basic_constraints(),
            BasicConstraints::Malformed
        );
        assert_eq!(first(&explicit_false).info().ca_istrue, 0);
    }

    #[test]
    fn basic_constraints_values() {
        let v = BasicConstraints::from_extension_value;
        let valid = |ca, path_len| BasicConstraints::Valid { ca, path_len };
        assert_eq!(v(&[0x30, 0x00]), valid(false, None));
        assert_eq!(v(&[0x30, 0x03, 0x01, 0x01, 0xFF]), valid(true, None));
        assert_eq!(
            v(&[0x30, 0x06, 0x01, 0x01, 0xFF, 0x02, 0x01, 0x00]),
            valid(true, Some(0))
        );
        let max = [
            0x30, 0x0A, 0x01, 0x01, 0xFF, 0x02, 0x05, 0x00, 0xFF, 0xFF, 0xFF, 0xFF,
        ];
        assert_eq!(v(&max), valid(true, Some(u32::MAX)));
        for bad in [
            &[0x30, 0x03, 0x02, 0x01, 0x05][..], // forged: INTEGER for cA
            &[0x30, 0x03, 0x01, 0x01, 0x00],     // explicit FALSE
            &[0x30, 0x03, 0x01, 0x01, 0x01],     // BOOLEAN not 0x00/0xFF
            &[0x30, 0x06, 0x01, 0x01, 0xFF, 0x02, 0x01, 0xFF], // negative pathLen
            &[0x30, 0x07, 0x01, 0x01, 0xFF, 0x02, 0x02, 0x00, 0x05], // non-minimal pathLen
            &[
                0x30, 0x0B, 0x01, 0x01, 0xFF, 0x02, 0x06, 0x01, 0, 0, 0, 0, 0,
            ], // > u32
            &[0x30, 0x05, 0x01, 0x01, 0xFF, 0x05, 0x00], // trailing element
            &[0x30, 0x03, 0x01, 0x01, 0xFF, 0x00], // trailing byte
            &[0x30, 0x06, 0x02, 0x01, 0x00, 0x01, 0x01, 0xFF], // wrong order
            &[0x30, 0x80, 0x00, 0x00],           // indefinite length
            &[0x30, 0x81, 0x00],                 // non-minimal length
            &[0x30, 0x03, 0x01, 0x01],           // truncated
            &[0x31, 0x00],                       // not a SEQUENCE
            &[],
        ] {
            assert_eq!(v(bad), BasicConstraints::Malformed, "{bad:02x?}");
        }
    }

    /// The quick walk agrees with the strict reader wherever it answers, also on
    /// mutated encodings, and never panics.
    #[test]
    fn quick_find_extension_agrees_with_the_strict_reader() {
        let key = PrivateKey::generate(KeyType::EcdsaP256).unwrap();
        let nc = vec![0x30, 0x06, 0xA0, 0x04, 0x30, 0x02, 0x82, 0x00];
        let cert = CertificateBuilder::new("CN=q")
            .ca(None)
            .san(San::Dns("a.example".into()))
            .raw_extension("2.5.29.30", true, nc)
            .self_signed(&key)
            .unwrap();
        let c = cert.first().unwrap();
        let ext = c.part(sys::MV_PART_V3_EXT).to_vec();
        let (nc_const, bc_const) = (oid::NAME_CONSTRAINTS, oid::BASIC_CONSTRAINTS);
        let (nc_oid, bc_oid) = (nc_const.as_bytes(), bc_const.as_bytes());
        assert_eq!(
            quick_find_extension(&ext, nc_oid),
            Presence::Present { critical: true }
        );
        assert_eq!(
            quick_find_extension(&ext, bc_oid),
            Presence::Present { critical: true }
        );
        assert_eq!(quick_find_extension(&ext, &[0x2A, 0x03]), Presence::Absent);
        assert_eq!(quick_find_extension(&[], nc_oid), Presence::Absent);
        assert_eq!(
            quick_find_extension(&[0x31, 0x00], nc_oid),
            Presence::Unknown
        );

        let strict = |der: &[u8], oid_: &[u8]| -> Option<Option<bool>> {
            let mut found = None;
            for e in Extensions::from_der(der) {
                let e = e.ok()?;
                if e.oid.as_bytes() == oid_ && found.is_none() {
                    found = Some(e.critical);
                }
            }
            Some(found)
        };
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let (mut answered, mut checked) = (0, 0);
        for _ in 0..20_000 {
            let mut m = ext.clone();
            for _ in 0..=(next() % 3) {
                let i = (next() as usize) % m.len();
                m[i] = next() as u8;
            }
            if next() % 4 == 0 {
                m.truncate((next() as usize) % m.len());
            }
            for o in [nc_oid, bc_oid] {
                let quick = quick_find_extension(&m, o);
                let Some(strict) = strict(&m, o) else {
                    continue;
                };
                checked += 1;
                match quick {
                    Presence::Absent => assert_eq!(strict, None, "{m:02x?}"),
                    Presence::Present { critical } => {
                        assert_eq!(strict, Some(critical), "{m:02x?}")
                    }
                    Presence::Unknown => continue,
                }
                answered += 1;
            }
        }
        assert!(
            answered > 1000 && checked >= answered,
            "{answered} / {checked}"
        );
    }

    #[test]
    fn extension_list_is_read_strictly() {
        let ext = |w: &mut Writer, oid_: &Oid<'_>, critical: Option<bool>, value: &[u8]| {
            w.sequence(|w| {
                w.oid(oid_);
                if let Some(c) = critical {
                    w.bool(c);
                }
                w.octet_string(value);
            });
        };
        let bc_ca = [0x30, 0x03, 0x01, 0x01, 0xFF];
        let list = |f: &dyn Fn(&mut Writer)| {
            let mut w = Writer::new();
            w.sequence(|w| f(w));
            w.into_vec()
        };
        let from = |der: &[u8]| BasicConstraints::from_extensions(Extensions::from_der(der));

        let one = list(&|w| ext(w, &oid::BASIC_CONSTRAINTS, Some(true), &bc_ca));
        assert_eq!(
            from(&one),
            BasicConstraints::Valid {
                ca: true,
                path_len: None
            }
        );
        let e: Vec<_> = Extensions::from_der(&one)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            (e[0].oid.clone(), e[0].critical, e[0].value),
            (oid::BASIC_CONSTRAINTS, true, &bc_ca[..])
        );

        let dup = list(&|w| {
            ext(w, &oid::BASIC_CONSTRAINTS, None, &bc_ca);
            ext(w, &oid::BASIC_CONSTRAINTS, None, &bc_ca);
        });
        assert_eq!(from(&dup), BasicConstraints::Malformed);
        let explicit_not_critical = list(&|w| ext(w, &oid::BASIC_CONSTRAINTS, Some(false), &bc_ca));
        assert_eq!(from(&explicit_not_critical), BasicConstraints::Malformed);
        let other_broken = list(&|w| {
            ext(w, &oid::BASIC_CONSTRAINTS, None, &bc_ca);
            w.tlv(tag::SEQUENCE, &[0x06, 0x01]);
        });
        assert_eq!(from(&other_broken), BasicConstraints::Malformed);
        let mut trailing = one.clone();
        trailing.push(0);
        assert_eq!(from(&trailing), BasicConstraints::Malformed);
        assert_eq!(from(&[0x30, 0x00]), BasicConstraints::Absent);
        assert_eq!(from(&[]), BasicConstraints::Absent);
        let no_bc = list(&|w| ext(w, &oid::KEY_USAGE, Some(true), &[0x03, 0x02, 0x01, 0x86]));
        assert_eq!(from(&no_bc), BasicConstraints::Absent);
    }

    #[test]
    fn algorithms_and_fingerprints_p256() {
        let key = p256();
        let a = builder("CN=a").self_signed(&key).unwrap();
        let b = builder("CN=b").self_signed(&key).unwrap();
        let (ca, cb) = (first(&a), first(&b));
        assert_eq!(ca.signature_algorithm(), SignatureAlgorithm::EcdsaSha256);
        assert_eq!(ca.signature_algorithm().to_string(), "ecdsa-sha256");
        assert_eq!(
            ca.public_key(),
            PublicKeyInfo {
                algorithm: PublicKeyAlgorithm::Ec(Curve::P256),
                bits: 256
            }
        );
        assert_eq!(ca.spki_der(), key.public_key_der().unwrap());

        assert_eq!(ca.fingerprint_sha256(), ca.fingerprint_sha256());
        assert_ne!(ca.fingerprint_sha256(), cb.fingerprint_sha256());
        assert_eq!(ca.spki_sha256(), cb.spki_sha256()); // same key: same pin
        assert_eq!(ca.fingerprint_sha256(), super::super::sha256(ca.der()));
        // SHA-256("abc"), a known answer.
        assert_eq!(
            to_hex(&super::super::sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let other = builder("CN=a").self_signed(&p256()).unwrap();
        assert_ne!(first(&other).spki_sha256(), ca.spki_sha256());

        let p384 = PrivateKey::generate(KeyType::EcdsaP384).unwrap();
        let c = builder("CN=384")
            .hash(HashAlgorithm::Sha384)
            .self_signed(&p384)
            .unwrap();
        assert_eq!(
            first(&c).signature_algorithm(),
            SignatureAlgorithm::EcdsaSha384
        );
        assert_eq!(
            first(&c).public_key().algorithm,
            PublicKeyAlgorithm::Ec(Curve::P384)
        );
        let c = builder("CN=512")
            .hash(HashAlgorithm::Sha512)
            .self_signed(&key)
            .unwrap();
        assert_eq!(
            first(&c).signature_algorithm(),
            SignatureAlgorithm::EcdsaSha512
        );
    }

    #[test]
    fn algorithms_rsa_2048() {
        let key = PrivateKey::generate(KeyType::Rsa(2048)).unwrap();
        let c = builder("CN=rsa").self_signed(&key).unwrap();
        assert_eq!(
            first(&c).signature_algorithm(),
            SignatureAlgorithm::RsaPkcs1Sha256
        );
        assert_eq!(
            first(&c).signature_algorithm().to_string(),
            "rsa-pkcs1-sha256"
        );
        assert_eq!(
            first(&c).public_key(),
            PublicKeyInfo {
                algorithm: PublicKeyAlgorithm::Rsa,
                bits: 2048
            }
        );
        let c = builder("CN=rsa")
            .hash(HashAlgorithm::Sha384)
            .self_signed(&key)
            .unwrap();
        assert_eq!(
            first(&c).signature_algorithm(),
            SignatureAlgorithm::RsaPkcs1Sha384
        );
    }

    #[test]
    fn signature_algorithm_names() {
        let all = [
            SignatureAlgorithm::EcdsaSha256,
            SignatureAlgorithm::EcdsaSha384,
            SignatureAlgorithm::EcdsaSha512,
            SignatureAlgorithm::RsaPkcs1Sha256,
            SignatureAlgorithm::RsaPkcs1Sha384,
            SignatureAlgorithm::RsaPkcs1Sha512,
            SignatureAlgorithm::RsaPss { hash: None },
            SignatureAlgorithm::RsaPss {
                hash: Some(HashAlgorithm::Sha256),
            },
            SignatureAlgorithm::RsaPss {
                hash: Some(HashAlgorithm::Sha512),
            },
            SignatureAlgorithm::Other(Oid::from_dotted("1.2.3.4").unwrap()),
        ];
        for alg in all {
            assert_eq!(
                SignatureAlgorithm::from_name(&alg.to_string()),
                Some(alg.clone()),
                "{alg}"
            );
        }
        assert_eq!(
            SignatureAlgorithm::RsaPss {
                hash: Some(HashAlgorithm::Sha384)
            }
            .to_string(),
            "rsa-pss-sha384"
        );
        assert_eq!(
            SignatureAlgorithm::from_name("1.2.840.10045.4.3.2"),
            Some(SignatureAlgorithm::EcdsaSha256)
        );
        assert_eq!(SignatureAlgorithm::from_name("rsa-pss-md5"), None);
        assert_eq!(SignatureAlgorithm::from_name("ecdsa"), None);
    }
}
