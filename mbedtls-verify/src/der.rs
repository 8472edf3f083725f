//! A small, strict DER reader and writer.
//!
//! This is a helper for the certificate accessors (which re-parse a few structures
//! strictly, e.g. basicConstraints) and for the issuing code (which encodes extensions
//! and CRLs), not a general ASN.1 library. It handles single-byte tags only, definite
//! minimal lengths only, and never panics on any input: every malformed encoding is a
//! [`DerError`].
//!
//! ```
//! use mbedtls_verify::der::{Reader, Writer};
//!
//! let mut w = Writer::new();
//! w.sequence(|w| {
//!     w.bool(true);
//!     w.integer_u64(5);
//! });
//! let der = w.into_vec();
//! assert_eq!(der, [0x30, 0x06, 0x01, 0x01, 0xFF, 0x02, 0x01, 0x05]);
//!
//! let mut r = Reader::new(&der);
//! let mut seq = r.read_sequence().unwrap();
//! r.finish().unwrap();
//! assert!(seq.read_bool().unwrap());
//! assert_eq!(seq.read_u64().unwrap(), 5);
//! seq.finish().unwrap();
//! ```

use alloc::borrow::Cow;
use alloc::vec::Vec;
use core::fmt;

use crate::time::DateTime;

/// Universal and context-specific tag bytes used in certificates.
pub mod tag {
    /// BOOLEAN.
    pub const BOOLEAN: u8 = 0x01;
    /// INTEGER.
    pub const INTEGER: u8 = 0x02;
    /// BIT STRING.
    pub const BIT_STRING: u8 = 0x03;
    /// OCTET STRING.
    pub const OCTET_STRING: u8 = 0x04;
    /// NULL.
    pub const NULL: u8 = 0x05;
    /// OBJECT IDENTIFIER.
    pub const OID: u8 = 0x06;
    /// UTF8String.
    pub const UTF8_STRING: u8 = 0x0C;
    /// PrintableString.
    pub const PRINTABLE_STRING: u8 = 0x13;
    /// TeletexString (T61String).
    pub const TELETEX_STRING: u8 = 0x14;
    /// IA5String.
    pub const IA5_STRING: u8 = 0x16;
    /// UTCTime.
    pub const UTC_TIME: u8 = 0x17;
    /// GeneralizedTime.
    pub const GENERALIZED_TIME: u8 = 0x18;
    /// UniversalString.
    pub const UNIVERSAL_STRING: u8 = 0x1C;
    /// BMPString.
    pub const BMP_STRING: u8 = 0x1E;
    /// SEQUENCE (constructed).
    pub const SEQUENCE: u8 = 0x30;
    /// SET (constructed).
    pub const SET: u8 = 0x31;

    /// The constructed bit.
    pub const CONSTRUCTED: u8 = 0x20;

    /// Context-specific tag `[n]` (`n` < 31), primitive or constructed.
    pub const fn context(n: u8, constructed: bool) -> u8 {
        0x80 | (if constructed { CONSTRUCTED } else { 0 }) | (n & 0x1F)
    }
}

/// Why a DER input was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DerError {
    /// The input ends inside a tag, length or value.
    Truncated,
    /// A tag number of 31 or more (multi-byte tag), not used in X.509.
    MultiByteTag,
    /// The indefinite length form (BER only).
    IndefiniteLength,
    /// A length not in its shortest form.
    NonMinimalLength,
    /// A length too large for this reader (more than 4 length bytes).
    LengthTooLarge,
    /// Another tag than the one expected.
    UnexpectedTag {
        /// The tag the reader wanted.
        expected: u8,
        /// The tag in the input.
        found: u8,
    },
    /// Bytes left after the last expected element.
    TrailingData,
    /// A BOOLEAN that is not exactly one byte 0x00 or 0xFF.
    InvalidBool,
    /// An INTEGER that is empty or not minimally encoded.
    InvalidInteger,
    /// An INTEGER out of the range asked for (e.g. negative where unsigned is needed).
    IntegerOutOfRange,
    /// A malformed OBJECT IDENTIFIER (encoding or dotted text).
    InvalidOid,
    /// A value that cannot be encoded (e.g. a date out of range for its time type).
    InvalidValue,
}

impl fmt::Display for DerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DerError::Truncated => f.write_str("truncated DER"),
            DerError::MultiByteTag => f.write_str("multi-byte DER tag"),
            DerError::IndefiniteLength => f.write_str("indefinite length (not DER)"),
            DerError::NonMinimalLength => f.write_str("non-minimal DER length"),
            DerError::LengthTooLarge => f.write_str("DER length too large"),
            DerError::UnexpectedTag { expected, found } => {
                write!(f, "expected DER tag 0x{expected:02x}, found 0x{found:02x}")
            }
            DerError::TrailingData => f.write_str("trailing data after DER value"),
            DerError::InvalidBool => f.write_str("invalid DER BOOLEAN"),
            DerError::InvalidInteger => f.write_str("invalid DER INTEGER"),
            DerError::IntegerOutOfRange => f.write_str("INTEGER out of range"),
            DerError::InvalidOid => f.write_str("invalid OBJECT IDENTIFIER"),
            DerError::InvalidValue => f.write_str("value cannot be DER-encoded"),
        }
    }
}

impl core::error::Error for DerError {}

/// One tag-length-value element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The tag byte (class, constructed bit and number).
    pub tag: u8,
    /// The value bytes (after the length).
    pub contents: &'a [u8],
    /// The whole element: tag, length and contents.
    pub raw: &'a [u8],
}

/// A cursor over a sequence of DER elements.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `data`, which holds zero or more whole elements.
    pub const fn new(data: &'a [u8]) -> Self {
        Reader { data }
    }

    /// Whether all input was consumed.
    pub const fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The bytes not read yet.
    pub const fn remaining(&self) -> &'a [u8] {
        self.data
    }

    /// The tag of the next element, if any (not validated).
    pub fn peek_tag(&self) -> Option<u8> {
        self.data.first().copied()
    }

    /// Read the next element, whatever its tag.
    pub fn read_tlv(&mut self) -> Result<Tlv<'a>, DerError> {
        let data = self.data;
        let (&tag, rest) = data.split_first().ok_or(DerError::Truncated)?;
        if tag & 0x1F == 0x1F {
            return Err(DerError::MultiByteTag);
        }
        let (&first, mut rest) = rest.split_first().ok_or(DerError::Truncated)?;
        let len = match first {
            0x00..=0x7F => usize::from(first),
            0x80 => return Err(DerError::IndefiniteLength),
            _ => {
                let n = usize::from(first & 0x7F);
                if n > 4 {
                    return Err(DerError::LengthTooLarge);
                }
                let bytes = rest.get(..n).ok_or(DerError::Truncated)?;
                rest = &rest[n..];
                if bytes[0] == 0 {
                    return Err(DerError::NonMinimalLength);
                }
                let len = bytes
                    .iter()
                    .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
                if len < 0x80 {
                    return Err(DerError::NonMinimalLength);
                }
                len
            }
        };
        let contents = rest.get(..len).ok_or(DerError::Truncated)?;
        let header = data.len() - rest.len();
        let raw = &data[..header + len];
        self.data = &rest[len..];
        Ok(Tlv { tag, contents, raw })
    }

    /// Read the next element, which must have tag `tag`; returns its contents.
    pub fn read(&mut self, tag: u8) -> Result<&'a [u8], DerError> {
        let mut copy = *self;
        let tlv = copy.read_tlv()?;
        if tlv.tag != tag {
            return Err(DerError::UnexpectedTag {
                expected: tag,
                found: tlv.tag,
            });
        }
        *self = copy;
        Ok(tlv.contents)
    }

    /// Read the next element if it has tag `tag`; `None` (nothing consumed) otherwise.
    pub fn read_optional(&mut self, tag: u8) -> Result<Option<&'a [u8]>, DerError> {
        if self.peek_tag() == Some(tag) {
            self.read(tag).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Read a constructed element with tag `tag` and return a reader over its contents.
    pub fn read_constructed(&mut self, tag: u8) -> Result<Reader<'a>, DerError> {
        self.read(tag).map(Reader::new)
    }

    /// Read a SEQUENCE and return a reader over its contents.
    pub fn read_sequence(&mut self) -> Result<Reader<'a>, DerError> {
        self.read_constructed(tag::SEQUENCE)
    }

    /// Read a SET and return a reader over its contents.
    pub fn read_set(&mut self) -> Result<Reader<'a>, DerError> {
        self.read_constructed(tag::SET)
    }

    /// Read an OBJECT IDENTIFIER (validated).
    pub fn read_oid(&mut self) -> Result<Oid<'a>, DerError> {
        let mut copy = *self;
        let oid = Oid::parse(copy.read(tag::OID)?)?;
        *self = copy;
        Ok(oid)
    }

    /// Read an INTEGER; returns its contents (two's complement, big-endian), checked to
    /// be non-empty and minimally encoded.
    pub fn read_integer(&mut self) -> Result<&'a [u8], DerError> {
        let mut copy = *self;
        let c = copy.read(tag::INTEGER)?;
        check_integer(c)?;
        *self = copy;
        Ok(c)
    }

    /// Read a non-negative INTEGER that fits in a `u64`.
    pub fn read_u64(&mut self) -> Result<u64, DerError> {
        let mut copy = *self;
        let v = integer_to_u64(copy.read_integer()?)?;
        *self = copy;
        Ok(v)
    }

    /// Read a BOOLEAN: exactly one byte, 0x00 or 0xFF.
    pub fn read_bool(&mut self) -> Result<bool, DerError> {
        let mut copy = *self;
        let v = match copy.read(tag::BOOLEAN)? {
            [0x00] => false,
            [0xFF] => true,
            _ => return Err(DerError::InvalidBool),
        };
        *self = copy;
        Ok(v)
    }

    /// Succeed only if all input was consumed.
    pub fn finish(self) -> Result<(), DerError> {
        if self.data.is_empty() {
            Ok(())
        } else {
            Err(DerError::TrailingData)
        }
    }
}

fn check_integer(c: &[u8]) -> Result<(), DerError> {
    match c {
        [] => Err(DerError::InvalidInteger),
        [0x00, b, ..] if b & 0x80 == 0 => Err(DerError::InvalidInteger),
        [0xFF, b, ..] if b & 0x80 != 0 => Err(DerError::InvalidInteger),
        _ => Ok(()),
    }
}

/// The value of INTEGER contents (as returned by [`Reader::read_integer`]) as a `u64`;
/// negative or too large values are errors.
pub fn integer_to_u64(contents: &[u8]) -> Result<u64, DerError> {
    check_integer(contents)?;
    if contents[0] & 0x80 != 0 {
        return Err(DerError::IntegerOutOfRange);
    }
    let c = if contents[0] == 0 {
        &contents[1..]
    } else {
        contents
    };
    if c.len() > 8 {
        return Err(DerError::IntegerOutOfRange);
    }
    Ok(c.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

/// An OBJECT IDENTIFIER: the contents bytes of its DER encoding, borrowed or owned.
///
/// Built with [`Oid::parse`] or [`Reader::read_oid`] it is always well formed;
/// [`Oid::new`] checks at compile time when used in a constant.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Oid<'a>(Cow<'a, [u8]>);

impl<'a> Oid<'a> {
    /// An OID from its DER contents bytes, for constants.
    ///
    /// # Panics
    /// If the encoding is malformed (a compile error in a `const`). Use [`Oid::parse`]
    /// for untrusted input.
    pub const fn new(contents: &'a [u8]) -> Oid<'a> {
        assert!(oid_is_valid(contents), "malformed OID encoding");
        Oid(Cow::Borrowed(contents))
    }

    /// Validate DER contents bytes as an OID.
    pub fn parse(contents: &'a [u8]) -> Result<Oid<'a>, DerError> {
        if oid_is_valid(contents) {
            Ok(Oid(Cow::Borrowed(contents)))
        } else {
            Err(DerError::InvalidOid)
        }
    }

    /// Bytes that came from mbedTLS and may not be a well-formed OID (mbedTLS does not
    /// check). Displayed as `?` and hex when malformed.
    pub(crate) fn from_unchecked(contents: &'a [u8]) -> Oid<'a> {
        Oid(Cow::Borrowed(contents))
    }

    /// Encode a dotted-decimal OID (`"2.5.29.19"`).
    pub fn from_dotted(s: &str) -> Result<Oid<'static>, DerError> {
        let mut arcs = s.split('.').map(|a| {
            if a.is_empty()
                || (a.len() > 1 && a.starts_with('0'))
                || !a.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(DerError::InvalidOid);
            }
            a.parse::<u64>().map_err(|_| DerError::InvalidOid)
        });
        let first = arcs.next().ok_or(DerError::InvalidOid)??;
        let second = arcs.next().ok_or(DerError::InvalidOid)??;
        if first > 2 || (first < 2 && second >= 40) {
            return Err(DerError::InvalidOid);
        }
        let mut out = Vec::new();
        let head = (first * 40)
            .checked_add(second)
            .ok_or(DerError::InvalidOid)?;
        push_base128(&mut out, head);
        for arc in arcs {
            push_base128(&mut out, arc?);
        }
        Ok(Oid(Cow::Owned(out)))
    }

    /// The DER contents bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Whether the encoding is well formed.
    pub fn is_valid(&self) -> bool {
        oid_is_valid(&self.0)
    }

    /// An owned copy.
    pub fn into_owned(self) -> Oid<'static> {
        Oid(Cow::Owned(self.0.into_owned()))
    }

    /// The numeric arcs (the first sub-identifier split into two). Empty if malformed.
    pub fn arcs(&self) -> Arcs<'_> {
        Arcs {
            rest: if self.is_valid() { &self.0 } else { &[] },
            started: false,
            pending: None,
        }
    }
}

const fn oid_is_valid(c: &[u8]) -> bool {
    if c.is_empty() {
        return false;
    }
    let mut i = 0;
    let mut start = true;
    let mut bits = 0u32;
    while i < c.len() {
        let b = c[i];
        if start && b == 0x80 {
            return false; // leading zero group: not minimal
        }
        bits = if start {
            7 - leading_zeros7(b)
        } else {
            bits + 7
        };
        if bits > 64 {
            return false;
        }
        start = b & 0x80 == 0;
        i += 1;
    }
    start // the last byte must end a sub-identifier
}

/// Significant bits of the 7-bit group `b & 0x7F`, counted from 7 down (0..=7 leading zeros).
const fn leading_zeros7(b: u8) -> u32 {
    (b & 0x7F).leading_zeros() - 1
}

fn push_base128(out: &mut Vec<u8>, v: u64) {
    let mut n = 1;
    while n < 10 && v >> (7 * n) != 0 {
        n += 1;
    }
    for i in (0..n).rev() {
        let group = ((v >> (7 * i)) & 0x7F) as u8;
        out.push(if i == 0 { group } else { group | 0x80 });
    }
}

/// The numeric arcs of an [`Oid`].
#[derive(Debug, Clone)]
pub struct Arcs<'o> {
    rest: &'o [u8],
    started: bool,
    pending: Option<u64>,
}

impl Arcs<'_> {
    fn sub_identifier(&mut self) -> Option<u64> {
        let mut v = 0u64;
        let mut used = 0;
        for &b in self.rest {
            used += 1;
            v = (v << 7) | u64::from(b & 0x7F);
            if b & 0x80 == 0 {
                break;
            }
        }
        self.rest = self.rest.get(used..)?;
        (used > 0).then_some(v)
    }
}

impl Iterator for Arcs<'_> {
    type Item = u64;
    fn next(&mut self) -> Option<u64> {
        if let Some(p) = self.pending.take() {
            return Some(p);
        }
        let v = self.sub_identifier()?;
        if self.started {
            return Some(v);
        }
        self.started = true;
        let (a, b) = match v {
            0..=39 => (0, v),
            40..=79 => (1, v - 40),
            _ => (2, v - 80),
        };
        self.pending = Some(b);
        Some(a)
    }
}

impl fmt::Display for Oid<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.is_valid() {
            f.write_str("?")?;
            for b in self.0.iter() {
                write!(f, "{b:02x}")?;
            }
            return Ok(());
        }
        for (i, arc) in self.arcs().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{arc}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Oid<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Oid({self})")
    }
}

/// Well-known OIDs.
pub mod oid {
    use super::Oid;

    // Attribute types (RFC 5280 appendix A).
    /// commonName, 2.5.4.3.
    pub const COMMON_NAME: Oid<'static> = Oid::new(&[0x55, 0x04, 0x03]);
    /// serialNumber (the attribute), 2.5.4.5.
    pub const SERIAL_NUMBER: Oid<'static> = Oid::new(&[0x55, 0x04, 0x05]);
    /// countryName, 2.5.4.6.
    pub const COUNTRY: Oid<'static> = Oid::new(&[0x55, 0x04, 0x06]);
    /// localityName, 2.5.4.7.
    pub const LOCALITY: Oid<'static> = Oid::new(&[0x55, 0x04, 0x07]);
    /// stateOrProvinceName, 2.5.4.8.
    pub const STATE: Oid<'static> = Oid::new(&[0x55, 0x04, 0x08]);
    /// organizationName, 2.5.4.10.
    pub const ORGANIZATION: Oid<'static> = Oid::new(&[0x55, 0x04, 0x0A]);
    /// organizationalUnitName, 2.5.4.11.
    pub const ORGANIZATIONAL_UNIT: Oid<'static> = Oid::new(&[0x55, 0x04, 0x0B]);
    /// PKCS #9 emailAddress, 1.2.840.113549.1.9.1.
    pub const EMAIL_ADDRESS: Oid<'static> =
        Oid::new(&[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x01]);
    /// domainComponent, 0.9.2342.19200300.100.1.25.
    pub const DOMAIN_COMPONENT: Oid<'static> =
        Oid::new(&[0x09, 0x92, 0x26, 0x89, 0x93, 0xF2, 0x2C, 0x64, 0x01, 0x19]);

    // Certificate extensions (2.5.29.x).
    /// subjectKeyIdentifier, 2.5.29.14.
    pub const SUBJECT_KEY_IDENTIFIER: Oid<'static> = Oid::new(&[0x55, 0x1D, 0x0E]);
    /// keyUsage, 2.5.29.15.
    pub const KEY_USAGE: Oid<'static> = Oid::new(&[0x55, 0x1D, 0x0F]);
    /// subjectAltName, 2.5.29.17.
    pub const SUBJECT_ALT_NAME: Oid<'static> = Oid::new(&[0x55, 0x1D, 0x11]);
    /// basicConstraints, 2.5.29.19.
    pub const BASIC_CONSTRAINTS: Oid<'static> = Oid::new(&[0x55, 0x1D, 0x13]);
    /// cRLNumber, 2.5.29.20.
    pub const CRL_NUMBER: Oid<'static> = Oid::new(&[0x55, 0x1D, 0x14]);
    /// nameConstraints, 2.5.29.30.
    pub const NAME_CONSTRAINTS: Oid<'static> = Oid::new(&[0x55, 0x1D, 0x1E]);
    /// certificatePolicies, 2.5.29.32.
    pub const CERTIFICATE_POLICIES: Oid<'static> = Oid::new(&[0x55, 0x1D, 0x20]);
    /// authorityKeyIdentifier, 2.5.29.35.
    pub const AUTHORITY_KEY_IDENTIFIER: Oid<'static> = Oid::new(&[0x55, 0x1D, 0x23]);
    /// extKeyUsage, 2.5.29.37.
    pub const EXT_KEY_USAGE: Oid<'static> = Oid::new(&[0x55, 0x1D, 0x25]);
    /// issuerAltName, 2.5.29.18.
    pub const ISSUER_ALT_NAME: Oid<'static> = Oid::new(&[0x55, 0x1D, 0x12]);
    /// policyConstraints, 2.5.29.36.
    pub const POLICY_CONSTRAINTS: Oid<'static> = Oid::new(&[0x55, 0x1D, 0x24]);
    /// inhibitAnyPolicy, 2.5.29.54.
    pub const INHIBIT_ANY_POLICY: Oid<'static> = Oid::new(&[0x55, 0x1D, 0x36]);
    /// id-pe-authorityInfoAccess (1.3.6.1.5.5.7.1.1).
    pub const AUTHORITY_INFO_ACCESS: Oid<'static> =
        Oid::new(&[0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x01]);

    // Extended key usages.
    /// anyExtendedKeyUsage, 2.5.29.37.0.
    pub const ANY_EXTENDED_KEY_USAGE: Oid<'static> = Oid::new(&[0x55, 0x1D, 0x25, 0x00]);
    /// id-kp-serverAuth, 1.3.6.1.5.5.7.3.1.
    pub const KP_SERVER_AUTH: Oid<'static> =
        Oid::new(&[0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01]);
    /// id-kp-clientAuth, 1.3.6.1.5.5.7.3.2.
    pub const KP_CLIENT_AUTH: Oid<'static> =
        Oid::new(&[0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02]);
    /// id-kp-codeSigning, 1.3.6.1.5.5.7.3.3.
    pub const KP_CODE_SIGNING: Oid<'static> =
        Oid::new(&[0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03]);
    /// id-kp-emailProtection, 1.3.6.1.5.5.7.3.4.
    pub const KP_EMAIL_PROTECTION: Oid<'static> =
        Oid::new(&[0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x04]);
    /// id-kp-timeStamping, 1.3.6.1.5.5.7.3.8.
    pub const KP_TIME_STAMPING: Oid<'static> =
        Oid::new(&[0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08]);
    /// id-kp-OCSPSigning, 1.3.6.1.5.5.7.3.9.
    pub const KP_OCSP_SIGNING: Oid<'static> =
        Oid::new(&[0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x09]);

    // Signature algorithms.
    /// ecdsa-with-SHA256, 1.2.840.10045.4.3.2.
    pub const ECDSA_WITH_SHA256: Oid<'static> =
        Oid::new(&[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02]);
    /// ecdsa-with-SHA384, 1.2.840.10045.4.3.3.
    pub const ECDSA_WITH_SHA384: Oid<'static> =
        Oid::new(&[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x03]);
    /// ecdsa-with-SHA512, 1.2.840.10045.4.3.4.
    pub const ECDSA_WITH_SHA512: Oid<'static> =
        Oid::new(&[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x04]);
    /// id-RSASSA-PSS, 1.2.840.113549.1.1.10.
    pub const RSASSA_PSS: Oid<'static> =
        Oid::new(&[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0A]);
    /// sha256WithRSAEncryption, 1.2.840.113549.1.1.11.
    pub const SHA256_WITH_RSA: Oid<'static> =
        Oid::new(&[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0B]);
    /// sha384WithRSAEncryption, 1.2.840.113549.1.1.12.
    pub const SHA384_WITH_RSA: Oid<'static> =
        Oid::new(&[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0C]);
    /// sha512WithRSAEncryption, 1.2.840.113549.1.1.13.
    pub const SHA512_WITH_RSA: Oid<'static> =
        Oid::new(&[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0D]);
}

/// Builds DER: each call appends one element.
#[derive(Debug, Default, Clone)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Writer::default()
    }

    /// The encoded bytes.
    pub fn into_vec(self) -> Vec<u8> {
        self.buf
    }

    /// The bytes encoded so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Append already-encoded DER.
    pub fn raw(&mut self, der: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(der);
        self
    }

    /// Append a tag, the length of `contents` and `contents`.
    pub fn tlv(&mut self, tag: u8, contents: &[u8]) -> &mut Self {
        self.buf.push(tag);
        let len = contents.len();
        if len < 0x80 {
            self.buf.push(len as u8);
        } else {
            let bytes = (len as u64).to_be_bytes();
            let skip = bytes.iter().take_while(|&&b| b == 0).count();
            self.buf.push(0x80 | (bytes.len() - skip) as u8);
            self.buf.extend_from_slice(&bytes[skip..]);
        }
        self.buf.extend_from_slice(contents);
        self
    }

    /// A constructed element whose contents `f` writes.
    pub fn constructed(&mut self, tag: u8, f: impl FnOnce(&mut Writer)) -> &mut Self {
        let mut inner = Writer::new();
        f(&mut inner);
        self.tlv(tag, &inner.buf)
    }

    /// A SEQUENCE whose contents `f` writes.
    pub fn sequence(&mut self, f: impl FnOnce(&mut Writer)) -> &mut Self {
        self.constructed(tag::SEQUENCE, f)
    }

    /// A SET whose contents `f` writes (the caller orders the elements, as DER requires for SET OF).
    pub fn set(&mut self, f: impl FnOnce(&mut Writer)) -> &mut Self {
        self.constructed(tag::SET, f)
    }

    /// `[n] EXPLICIT`: a constructed context tag around what `f` writes.
    pub fn explicit(&mut self, n: u8, f: impl FnOnce(&mut Writer)) -> &mut Self {
        self.constructed(tag::context(n, true), f)
    }

    /// `[n] IMPLICIT`: the contents of the underlying type under a context tag.
    pub fn implicit(&mut self, n: u8, constructed: bool, contents: &[u8]) -> &mut Self {
        self.tlv(tag::context(n, constructed), contents)
    }

    /// An OBJECT IDENTIFIER.
    pub fn oid(&mut self, oid: &Oid<'_>) -> &mut Self {
        self.tlv(tag::OID, oid.as_bytes())
    }

    /// An OID from dotted-decimal text.
    pub fn oid_dotted(&mut self, dotted: &str) -> Result<&mut Self, DerError> {
        let oid = Oid::from_dotted(dotted)?;
        Ok(self.oid(&oid))
    }

    /// A non-negative INTEGER from unsigned big-endian bytes: leading zeros are
    /// dropped and one 0x00 is added when the top bit is set. Empty input is zero.
    pub fn integer_unsigned(&mut self, be: &[u8]) -> &mut Self {
        let skip = be.iter().take_while(|&&b| b == 0).count();
        let digits = &be[skip..];
        let mut contents = Vec::with_capacity(digits.len() + 1);
        if digits.first().is_none_or(|&b| b & 0x80 != 0) {
            contents.push(0);
        }
        contents.extend_from_slice(digits);
        self.tlv(tag::INTEGER, &contents)
    }

    /// A non-negative INTEGER.
    pub fn integer_u64(&mut self, v: u64) -> &mut Self {
        self.integer_unsigned(&v.to_be_bytes())
    }

    /// A BOOLEAN (DER: `0xFF` for true).
    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.tlv(tag::BOOLEAN, &[if v { 0xFF } else { 0x00 }])
    }

    /// A NULL.
    pub fn null(&mut self) -> &mut Self {
        self.tlv(tag::NULL, &[])
    }

    /// An OCTET STRING.
    pub fn octet_string(&mut self, bytes: &[u8]) -> &mut Self {
        self.tlv(tag::OCTET_STRING, bytes)
    }

    /// A BIT STRING of `bytes` whose last `unused_bits` (0..=7) bits are padding.
    pub fn bit_string(&mut self, unused_bits: u8, bytes: &[u8]) -> &mut Self {
        let unused = if bytes.is_empty() { 0 } else { unused_bits & 7 };
        let mut contents = Vec::with_capacity(bytes.len() + 1);
        contents.push(unused);
        contents.extend_from_slice(bytes);
        if let (false, Some(last)) = (bytes.is_empty(), contents.last_mut()) {
            *last &= 0xFFu8 << unused; // DER: padding bits are zero
        }
        self.tlv(tag::BIT_STRING, &contents)
    }

    /// A UTF8String.
    pub fn utf8_string(&mut self, s: &str) -> &mut Self {
        self.tlv(tag::UTF8_STRING, s.as_bytes())
    }

    /// `YYMMDDhhmmssZ`; years 1950 to 2049 only.
    pub fn utc_time(&mut self, t: &DateTime) -> Result<&mut Self, DerError> {
        if !(1950..=2049).contains(&t.year) || !t.is_valid() {
            return Err(DerError::InvalidValue);
        }
        let s = alloc::format!(
            "{:02}{:02}{:02}{:02}{:02}{:02}Z",
            t.year % 100,
            t.month,
            t.day,
            t.hour,
            t.minute,
            t.second
        );
        Ok(self.tlv(tag::UTC_TIME, s.as_bytes()))
    }

    /// `YYYYMMDDhhmmssZ`.
    pub fn generalized_time(&mut self, t: &DateTime) -> Result<&mut Self, DerError> {
        if !t.is_valid() {
            return Err(DerError::InvalidValue);
        }
        let s = alloc::format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}Z",
            t.year,
            t.month,
            t.day,
            t.hour,
            t.minute,
            t.second
        );
        Ok(self.tlv(tag::GENERALIZED_TIME, s.as_bytes()))
    }

    /// RFC 5280 `Time`: UTCTime through 2049, GeneralizedTime from 2050.
    pub fn time(&mut self, t: &DateTime) -> Result<&mut Self, DerError> {
        if (1950..=2049).contains(&t.year) {
            self.utc_time(t)
        } else {
            self.generalized_time(t)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    #[test]
    fn reads_short_and_long_lengths() {
        let mut r = Reader::new(&[0x04, 0x02, 0xAA, 0xBB, 0x05, 0x00]);
        let t = r.read_tlv().unwrap();
        assert_eq!(
            (t.tag, t.contents, t.raw.len()),
            (0x04, &[0xAA, 0xBB][..], 4)
        );
        assert_eq!(r.read(tag::NULL).unwrap(), &[] as &[u8]);
        assert!(r.is_empty());

        let mut long = vec![0x04, 0x81, 0x80];
        long.extend_from_slice(&[7; 0x80]);
        let mut r = Reader::new(&long);
        assert_eq!(r.read(tag::OCTET_STRING).unwrap().len(), 0x80);
        r.finish().unwrap();

        let mut longer = vec![0x04, 0x82, 0x01, 0x00];
        longer.extend_from_slice(&[7; 0x100]);
        assert_eq!(
            Reader::new(&longer).read(tag::OCTET_STRING).unwrap().len(),
            0x100
        );
    }

    #[test]
    fn rejects_bad_lengths_and_tags() {
        let err = |b: &[u8]| Reader::new(b).read_tlv().unwrap_err();
        assert_eq!(
            err(&[0x04, 0x81, 0x05, 1, 2, 3, 4, 5]),
            DerError::NonMinimalLength
        );
        assert_eq!(err(&[0x04, 0x82, 0x00, 0x90]), DerError::NonMinimalLength);
        assert_eq!(err(&[0x30, 0x80, 0x00, 0x00]), DerError::IndefiniteLength);
        assert_eq!(err(&[0x04, 0x85, 1, 0, 0, 0, 0]), DerError::LengthTooLarge);
        assert_eq!(err(&[0x04, 0xFF]), DerError::LengthTooLarge);
        assert_eq!(err(&[0x1F, 0x81, 0x00, 0x00]), DerError::MultiByteTag);
        assert_eq!(err(&[0x04, 0x03, 1, 2]), DerError::Truncated);
        assert_eq!(err(&[0x04, 0x82, 0x01]), DerError::Truncated);
        assert_eq!(err(&[0x04]), DerError::Truncated);
        assert_eq!(err(&[]), DerError::Truncated);
        // The largest 4-byte length cannot overflow and is simply truncated input.
        assert_eq!(
            err(&[0x04, 0x84, 0xFF, 0xFF, 0xFF, 0xFF]),
            DerError::Truncated
        );
    }

    #[test]
    fn trailing_bytes_and_wrong_tags() {
        let mut r = Reader::new(&[0x05, 0x00, 0x00]);
        r.read(tag::NULL).unwrap();
        assert_eq!(r.finish(), Err(DerError::TrailingData));

        let mut r = Reader::new(&[0x02, 0x01, 0x05]);
        assert_eq!(
            r.read_bool(),
            Err(DerError::UnexpectedTag {
                expected: 0x01,
                found: 0x02
            })
        );
        // Nothing was consumed by the failed read.
        assert_eq!(r.read_u64(), Ok(5));
        assert_eq!(r.read_optional(tag::BOOLEAN), Ok(None));
    }

    #[test]
    fn strict_bool() {
        assert_eq!(Reader::new(&[0x01, 0x01, 0xFF]).read_bool(), Ok(true));
        assert_eq!(Reader::new(&[0x01, 0x01, 0x00]).read_bool(), Ok(false));
        assert_eq!(
            Reader::new(&[0x01, 0x01, 0x01]).read_bool(),
            Err(DerError::InvalidBool)
        );
        assert_eq!(
            Reader::new(&[0x01, 0x02, 0xFF, 0xFF]).read_bool(),
            Err(DerError::InvalidBool)
        );
        assert_eq!(
            Reader::new(&[0x01, 0x00]).read_bool(),
            Err(DerError::InvalidBool)
        );
    }

    #[test]
    fn strict_integers() {
        fn int(b: &[u8]) -> Result<&[u8], DerError> {
            Reader::new(b).read_integer()
        }
        assert_eq!(int(&[0x02, 0x01, 0x00]), Ok(&[0u8][..]));
        assert_eq!(int(&[0x02, 0x02, 0x00, 0x80]), Ok(&[0u8, 0x80][..]));
        assert_eq!(int(&[0x02, 0x00]), Err(DerError::InvalidInteger));
        assert_eq!(
            int(&[0x02, 0x02, 0x00, 0x7F]),
            Err(DerError::InvalidInteger)
        );
        assert_eq!(
            int(&[0x02, 0x02, 0xFF, 0x80]),
            Err(DerError::InvalidInteger)
        );
        assert_eq!(
            Reader::new(&[0x02, 0x01, 0xFF]).read_u64(),
            Err(DerError::IntegerOutOfRange)
        );
        let nine = [0x02, 0x09, 0x01, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            Reader::new(&nine).read_u64(),
            Err(DerError::IntegerOutOfRange)
        );
        let max = [
            0x02, 0x09, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        ];
        assert_eq!(Reader::new(&max).read_u64(), Ok(u64::MAX));
    }

    #[test]
    fn oid_display_and_validation() {
        assert_eq!(oid::BASIC_CONSTRAINTS.to_string(), "2.5.29.19");
        assert_eq!(
            oid::DOMAIN_COMPONENT.to_string(),
            "0.9.2342.19200300.100.1.25"
        );
        assert_eq!(oid::EMAIL_ADDRESS.to_string(), "1.2.840.113549.1.9.1");
        assert_eq!(oid::KP_CLIENT_AUTH.to_string(), "1.3.6.1.5.5.7.3.2");
        // 2.999.3: the first sub-identifier is 1079 (two bytes).
        assert_eq!(
            Oid::parse(&[0x88, 0x37, 0x03]).unwrap().to_string(),
            "2.999.3"
        );
        // Arcs up to u64::MAX.
        let max = Oid::from_dotted("1.2.18446744073709551615").unwrap();
        assert_eq!(max.to_string(), "1.2.18446744073709551615");
        assert_eq!(Oid::parse(max.as_bytes()).unwrap(), max);
        assert!(Oid::from_dotted("1.2.18446744073709551616").is_err());
        let too_big = [
            0x2A, 0x82, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00,
        ];
        assert_eq!(Oid::parse(&too_big), Err(DerError::InvalidOid));

        assert_eq!(Oid::parse(&[]), Err(DerError::InvalidOid));
        assert_eq!(Oid::parse(&[0x2A, 0x86]), Err(DerError::InvalidOid)); // truncated arc
        assert_eq!(Oid::parse(&[0x2A, 0x80, 0x01]), Err(DerError::InvalidOid)); // non-minimal
        assert_eq!(
            Reader::new(&[0x06, 0x01, 0x80]).read_oid(),
            Err(DerError::InvalidOid)
        );

        for bad in [
            "", "1", "3.1", "1.40", "1..2", "1.2.", "01.2", "1.+2", "1.2.a",
        ] {
            assert!(Oid::from_dotted(bad).is_err(), "{bad}");
        }
        for good in [
            "0.0",
            "2.5.29.19",
            "2.999.3",
            "1.3.6.1.4.1.311.20.2.3",
            "2.100.0",
        ] {
            assert_eq!(Oid::from_dotted(good).unwrap().to_string(), good);
        }
        assert_eq!(
            Oid::from_dotted("2.5.29.19").unwrap(),
            oid::BASIC_CONSTRAINTS
        );
        assert_eq!(Oid::from_unchecked(&[0x2A, 0x86]).to_string(), "?2a86");
    }

    #[test]
    fn writer_encodings() {
        let mut w = Writer::new();
        w.integer_unsigned(&[0x00, 0x00, 0x80])
            .integer_unsigned(&[0x01])
            .integer_unsigned(&[]);
        assert_eq!(
            w.as_bytes(),
            [0x02, 0x02, 0x00, 0x80, 0x02, 0x01, 0x01, 0x02, 0x01, 0x00]
        );

        let mut w = Writer::new();
        w.bool(true)
            .bool(false)
            .null()
            .bit_string(1, &[0x87])
            .bit_string(0, &[]);
        assert_eq!(
            w.as_bytes(),
            [1, 1, 0xFF, 1, 1, 0, 5, 0, 3, 2, 1, 0x86, 3, 1, 0]
        );

        let mut w = Writer::new();
        w.oid_dotted("2.5.29.19").unwrap().explicit(0, |w| {
            w.utf8_string("a");
        });
        w.implicit(2, false, b"x");
        assert_eq!(
            w.as_bytes(),
            [
                6, 3, 0x55, 0x1D, 0x13, 0xA0, 3, 0x0C, 1, b'a', 0x82, 1, b'x'
            ]
        );

        // Long-form lengths round-trip through the reader.
        for n in [0x7F, 0x80, 0xFF, 0x100, 0x1_0000] {
            let mut w = Writer::new();
            w.octet_string(&vec![0x5A; n]);
            let der = w.into_vec();
            let mut r = Reader::new(&der);
            assert_eq!(r.read(tag::OCTET_STRING).unwrap().len(), n);
            r.finish().unwrap();
        }
    }

    #[test]
    fn writer_times() {
        let t = DateTime {
            year: 2026,
            month: 1,
            day: 2,
            hour: 3,
            minute: 4,
            second: 5,
        };
        let mut w = Writer::new();
        w.time(&t).unwrap();
        assert_eq!(w.as_bytes()[0], tag::UTC_TIME);
        assert_eq!(&w.as_bytes()[2..], b"260102030405Z");
        let late = DateTime { year: 2050, ..t };
        let mut w = Writer::new();
        w.time(&late).unwrap();
        assert_eq!(w.as_bytes()[0], tag::GENERALIZED_TIME);
        assert_eq!(&w.as_bytes()[2..], b"20500102030405Z");
        assert!(Writer::new().utc_time(&late).is_err());
        assert!(Writer::new().time(&DateTime { month: 13, ..t }).is_err());
    }

    #[test]
    fn never_panics_on_garbage() {
        // A cheap deterministic sweep over short inputs (the fuzzers go further).
        let mut seed = 0x1234_5678u32;
        for len in 0..40usize {
            for _ in 0..200 {
                let buf: Vec<u8> = (0..len)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 17;
                        seed ^= seed << 5;
                        seed as u8
                    })
                    .collect();
                let mut r = Reader::new(&buf);
                while let Ok(t) = r.read_tlv() {
                    let _ = Oid::parse(t.contents).map(|o| o.to_string());
                    let mut inner = Reader::new(t.contents);
                    let _ = inner.read_integer();
                    let _ = inner.read_bool();
                    let _ = inner.read_sequence().map(|s| s.finish());
                    let _ = integer_to_u64(t.contents);
                }
            }
        }
    }
}
