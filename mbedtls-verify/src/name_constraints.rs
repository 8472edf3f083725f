//! X.509 nameConstraints (RFC 5280 §4.2.1.10), which mbedTLS 3.6 does not implement.
//!
//! mbedTLS 3.6 has no nameConstraints support at all: its parser refuses a certificate
//! whose nameConstraints extension is *critical* (an unknown critical extension) and
//! silently ignores a *non-critical* one, so a CA restricted to `.fleet.example` could
//! still issue a certificate for `bank.example` and mbedTLS would accept it. This module closes that
//! hole: [`NameConstraints::of`] reads the extension of a CA certificate (strictly, from
//! its DER) and [`NameConstraints::check`] checks the names of a certificate issued below
//! that CA. Wiring it into chain verification (and the RFC's exemption of self-issued
//! intermediates) is the caller's job; `check` always checks.
//!
//! # What is enforced
//!
//! The names checked are every `dNSName`, `rfc822Name`, `uniformResourceIdentifier`,
//! `iPAddress` and `directoryName` subject alternative name; the subject (when not
//! empty) as a `directoryName`; every `emailAddress` attribute of the subject as an
//! `rfc822Name`; and, when the certificate has no `dNSName` SAN, every subject
//! commonName that looks like a host name (letters, digits, `-`, `_`, dots, at least one
//! dot, optionally a leading `*.`) as a `dNSName`, because mbedTLS matches the hostname
//! against the commonName when there is no subjectAltName. (Where mbedTLS's hostname
//! check is the only one, the crate's verify callback also takes a single-label
//! commonName such as `gateway` as a `dNSName` when the certificate has no
//! subjectAltName at all.) mbedTLS also compares the hostname with every URI
//! subjectAltName as text, so a URI spelled as a host name (`bank.example`) or an IP
//! address is also checked as a `dNSName` or an `iPAddress`.
//!
//! Excluded subtrees are checked first: a name inside any excluded subtree of its form
//! is [`Excluded`](NameConstraintError::Excluded). Then, for every form with at least one
//! permitted subtree, each name of that form must be inside one of them, or it is
//! [`NotPermitted`](NameConstraintError::NotPermitted). Forms without constraints are
//! unrestricted.
//!
//! - `dNSName`: ASCII case-insensitive, on label boundaries: `example.com` covers
//!   `example.com` and `a.example.com` but not `badexample.com`; `.example.com` covers
//!   subdomains only; an empty constraint covers everything. A trailing dot of a name is
//!   ignored. A wildcard name `*.example.com` (a leading `*.`, as mbedTLS matches it: one
//!   whole label) is permitted only if every name it can match is, and excluded as soon
//!   as any name it can match is (`*.example.com` is excluded by `foo.example.com` and by
//!   `example.com`, not by `a.b.example.com`).
//! - `rfc822Name`: a constraint with `@` is one mailbox (local part byte for byte, host
//!   case-insensitive); `host` is any mailbox at exactly that host; `.host` any mailbox
//!   at a subdomain of it.
//! - `uniformResourceIdentifier`: the constraint applies to the host of the URI's
//!   authority (userinfo and port removed): `host` exactly, `.host` any subdomain.
//! - `iPAddress`: address and mask (8 bytes for IPv4, 32 for IPv6; the mask must be a
//!   prefix); a 4-byte address only matches IPv4 constraints, 16 bytes only IPv6, except
//!   that against an excluded subtree an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) and
//!   its IPv4 address stand for each other.
//! - `directoryName`: the constraint's RDNs must be a prefix of the name's. Against a
//!   permitted subtree RDNs are compared byte for byte (DER), which may reject a name
//!   that differs only in string type or case; against an excluded subtree they are
//!   compared loosely (same attribute types, values equal ignoring string type, case,
//!   insignificant spaces, the invisible characters LDAP StringPrep maps to nothing and
//!   the fullwidth forms of ASCII), which may exclude more. Both err on the side of
//!   rejecting.
//!
//! # Fail-closed choices
//!
//! - A malformed extension is an error, never "no constraints": an empty
//!   `NameConstraints` or `GeneralSubtrees`, trailing bytes, a non-DER encoding, an
//!   unknown GeneralName tag, a text constraint that is not a host name (LDH, `_`, dots;
//!   an optional leading `.`; no empty label, no trailing dot), a mailbox constraint
//!   with several `@`, an `iPAddress` constraint of the wrong size or with a
//!   non-contiguous mask, and a `directoryName` that is not one well-formed Name.
//! - A `minimum` other than 0 and any `maximum` are
//!   [`Unsupported`](NameConstraintError::Unsupported) (RFC 5280: minimum MUST be zero,
//!   maximum MUST be absent).
//! - `otherName`, `x400Address`, `ediPartyName` and `registeredID` are not implemented:
//!   a constraint of such a form is accepted, but a certificate with a name of that same
//!   form is `Unsupported` (one without such a name passes).
//! - A subject alternative name this crate cannot decode (a text form that is not
//!   printable ASCII, a malformed `directoryName` or `otherName`, an unknown tag) is
//!   `Malformed`, whatever the constraints; so is a malformed subject.
//! - Under constraints of its form: a `dNSName` that is not a host name (an optional
//!   leading `*.`, non-empty labels of letters, digits, `-` and `_`, at most one
//!   trailing dot; so `.example.com`, `a..b`, `a*.example.com` are refused), a mailbox
//!   without exactly one `@`, and a subject `emailAddress` that is not printable ASCII
//!   are `Malformed`.
//! - A URI whose host cannot be compared (no authority, an empty host, an IP literal in
//!   `[..]`, percent-encoding or other characters outside host names, a userinfo with
//!   characters RFC 3986 does not allow there such as `\`) is `Unsupported` when any URI
//!   constraint exists.
//! - A name that mbedTLS may match against an IP address is checked as one: a `dNSName`
//!   that parses as an IP address is checked against `iPAddress` constraints too, and a
//!   subject commonName that parses as one (when there is no `dNSName` SAN) is checked
//!   as an `iPAddress` instead of as a `dNSName`. A host name that does not parse as an
//!   IP address but ends in a number (`10.1`, `0x0a.0.0.1`: IPv4 addresses to
//!   `inet_aton` and URL parsers) is `Unsupported` when any `iPAddress` constraint
//!   exists.
//!
//! `parse` and `check` never allocate and never panic: they iterate over the borrowed
//! DER of the extension and of the certificate.

// Input-derived indexing, unwraps and panics are forbidden in this module's library
// code; the tests may use them.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::arithmetic_side_effects
    )
)]

use core::cell::Cell;
use core::char::DecodeUtf16;
use core::iter::Map;
use core::slice::ChunksExact;

use crate::der::{DerError, Oid, Reader, Tlv, oid, tag};
use crate::x509::{AttributeKind, CertRef, Extensions, IpAddress, Name, SubjectAltName};

// GeneralName CHOICE numbers (RFC 5280 §4.2.1.6).
const OTHER_NAME: u8 = 0;
const RFC822_NAME: u8 = 1;
const DNS_NAME: u8 = 2;
const X400_ADDRESS: u8 = 3;
const DIRECTORY_NAME: u8 = 4;
const EDI_PARTY_NAME: u8 = 5;
const URI: u8 = 6;
const IP_ADDRESS: u8 = 7;
const REGISTERED_ID: u8 = 8;

/// The GeneralName form's name, as in RFC 5280.
fn form_name(form: u8) -> &'static str {
    match form {
        OTHER_NAME => "otherName",
        RFC822_NAME => "rfc822Name",
        DNS_NAME => "dNSName",
        X400_ADDRESS => "x400Address",
        DIRECTORY_NAME => "directoryName",
        EDI_PARTY_NAME => "ediPartyName",
        URI => "uniformResourceIdentifier",
        IP_ADDRESS => "iPAddress",
        REGISTERED_ID => "registeredID",
        _ => "unknown GeneralName",
    }
}

/// The bit of `form` in a set of forms (`form` is at most 8).
const fn bit(form: u8) -> u16 {
    1u16 << (form & 0x0F)
}

/// Why a nameConstraints extension or a certificate's names were rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameConstraintError {
    /// The extension is not well formed, or a name of the certificate is not (see the
    /// [module documentation](self) for the cases).
    #[error("malformed nameConstraints extension or certificate name")]
    Malformed,
    /// The CA certificate has more than one nameConstraints extension.
    #[error("more than one nameConstraints extension")]
    Duplicate,
    /// Something this implementation does not support (a `minimum` or `maximum`, a
    /// name of a form it does not implement under a constraint of that form, a URI whose
    /// host cannot be compared); the certificate is rejected.
    #[error("unsupported by the nameConstraints check: {0}")]
    Unsupported(&'static str),
    /// The verification's work budget for name constraints ([`COMPARISON_BUDGET`]
    /// comparisons of a name with a constraint) ran out: a pathological chain (thousands
    /// of constraints against thousands of names) fails closed in bounded time.
    #[error(
        "the nameConstraints work budget ({COMPARISON_BUDGET} name-to-constraint comparisons per verification) is exhausted"
    )]
    BudgetExhausted,
    /// A name falls inside an excluded subtree. `form` says which name: a GeneralName
    /// form (`"dNSName"`, ...) for a subject alternative name, or where in the subject
    /// it was found (`"subject commonName (as dNSName)"`, ...).
    #[error("{form} excluded by the issuer's nameConstraints")]
    Excluded {
        /// Which name (see above).
        form: &'static str,
    },
    /// A name of a form that has permitted subtrees is inside none of them (`form` as
    /// for [`Excluded`](Self::Excluded)).
    #[error("{form} not permitted by the issuer's nameConstraints")]
    NotPermitted {
        /// Which name (see above).
        form: &'static str,
    },
}

impl From<DerError> for NameConstraintError {
    fn from(_: DerError) -> Self {
        NameConstraintError::Malformed
    }
}

/// How many comparisons of a name with a constraint one verification may make, over every
/// constrained CA and every certificate below it (rustls-webpki's figure). A chain within
/// it costs at most a few milliseconds on a host; ordinary chains use a handful.
pub const COMPARISON_BUDGET: u32 = 250_000;

/// What is left of a verification's [`COMPARISON_BUDGET`].
#[derive(Debug, Clone)]
pub struct Budget(Cell<u32>);

impl Budget {
    /// A full budget of [`COMPARISON_BUDGET`] comparisons.
    pub const fn new() -> Self {
        Budget(Cell::new(COMPARISON_BUDGET))
    }

    /// A budget of `n` comparisons.
    pub const fn with_comparisons(n: u32) -> Self {
        Budget(Cell::new(n))
    }

    /// Comparisons left.
    pub fn left(&self) -> u32 {
        self.0.get()
    }

    /// Spend one comparison, or fail when none is left.
    fn spend(&self) -> Result<(), NameConstraintError> {
        match self.0.get().checked_sub(1) {
            Some(left) => {
                self.0.set(left);
                Ok(())
            }
            None => Err(NameConstraintError::BudgetExhausted),
        }
    }
}

impl Default for Budget {
    fn default() -> Self {
        Budget::new()
    }
}

/// A parsed nameConstraints extension: the borrowed DER of its permitted and excluded
/// `GeneralSubtrees`, validated by [`parse`](Self::parse).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameConstraints<'a> {
    /// Contents of `permittedSubtrees [0]`, if present (never empty).
    permitted: Option<&'a [u8]>,
    /// Contents of `excludedSubtrees [1]`, if present (never empty).
    excluded: Option<&'a [u8]>,
    /// The GeneralName forms (as [`bit`]s) with at least one permitted subtree.
    permitted_forms: u16,
    /// The forms with at least one excluded subtree.
    excluded_forms: u16,
}

impl<'a> NameConstraints<'a> {
    /// Strictly parse the extension's value (the contents of extnValue):
    ///
    /// ```text
    /// NameConstraints ::= SEQUENCE {
    ///      permittedSubtrees       [0]     GeneralSubtrees OPTIONAL,
    ///      excludedSubtrees        [1]     GeneralSubtrees OPTIONAL }
    /// GeneralSubtrees ::= SEQUENCE SIZE (1..MAX) OF GeneralSubtree
    /// GeneralSubtree ::= SEQUENCE {
    ///      base                    GeneralName,
    ///      minimum         [0]     BaseDistance DEFAULT 0,
    ///      maximum         [1]     BaseDistance OPTIONAL }
    /// ```
    ///
    /// Every constraint is validated here (see the [module documentation](self)), so
    /// that [`check`](Self::check) only meets well-formed ones.
    pub fn parse(value: &'a [u8]) -> Result<Self, NameConstraintError> {
        let mut r = Reader::new(value);
        let mut seq = r.read_sequence()?;
        r.finish()?;
        let permitted = seq.read_optional(tag::context(0, true))?;
        let excluded = seq.read_optional(tag::context(1, true))?;
        seq.finish()?;
        if permitted.is_none() && excluded.is_none() {
            return Err(NameConstraintError::Malformed); // "MUST NOT be empty"
        }
        Ok(NameConstraints {
            permitted,
            excluded,
            permitted_forms: permitted.map_or(Ok(0), validate_subtrees)?,
            excluded_forms: excluded.map_or(Ok(0), validate_subtrees)?,
        })
    }

    /// The nameConstraints extension of `ca`: `Ok(None)` when it has none, an error
    /// when the extension (or the extension list) is malformed or when it is present
    /// more than once. Critical or not, it is read the same way.
    pub fn of(ca: &CertRef<'a>) -> Result<Option<Self>, NameConstraintError> {
        Self::from_extensions(ca.extensions())
    }

    /// As [`of`](Self::of), over an extension list.
    fn from_extensions(extensions: Extensions<'a>) -> Result<Option<Self>, NameConstraintError> {
        let mut found = None;
        for ext in extensions {
            let ext = ext?;
            if ext.oid == oid::NAME_CONSTRAINTS {
                if found.is_some() {
                    return Err(NameConstraintError::Duplicate);
                }
                found = Some(ext.value);
            }
        }
        found.map(Self::parse).transpose()
    }

    /// Whether there is a permitted subtree of `form`.
    fn permits_form(&self, form: u8) -> bool {
        self.permitted_forms & bit(form) != 0
    }

    /// Whether there is an excluded subtree of `form`.
    fn excludes_form(&self, form: u8) -> bool {
        self.excluded_forms & bit(form) != 0
    }

    /// Whether there is any constraint of `form`.
    fn constrains(&self, form: u8) -> bool {
        self.permits_form(form) || self.excludes_form(form)
    }

    /// Check the names of `cert`, a certificate issued below the CA that carries these
    /// constraints (see the [module documentation](self) for which names and how).
    ///
    /// Excluded subtrees win: if any name is excluded the result is
    /// [`Excluded`](NameConstraintError::Excluded) even when another name is also not
    /// permitted.
    pub fn check(&self, cert: &CertRef<'_>) -> Result<(), NameConstraintError> {
        self.check_names(cert, false, &Budget::new())
    }

    /// As [`check`](Self::check), spending comparisons from `budget` (shared by every
    /// check of one verification).
    pub fn check_with_budget(
        &self,
        cert: &CertRef<'_>,
        budget: &Budget,
    ) -> Result<(), NameConstraintError> {
        self.check_names(cert, false, budget)
    }

    /// As [`check`](Self::check); with `any_host_cn`, a subject commonName of a
    /// certificate without subjectAltName is taken as a `dNSName` whenever it is spelled
    /// like a host name, also without a dot (`gateway`): for verifications where
    /// mbedTLS's hostname check, which falls back to the commonName, is the only one.
    pub(crate) fn check_names(
        &self,
        cert: &CertRef<'_>,
        any_host_cn: bool,
        budget: &Budget,
    ) -> Result<(), NameConstraintError> {
        let mut not_permitted = None;
        for_each_name(cert, any_host_cn, |name| {
            if let Some(form) = self.check_name(&name, budget)? {
                not_permitted.get_or_insert(form);
            }
            Ok(())
        })?;
        match not_permitted {
            Some(form) => Err(NameConstraintError::NotPermitted { form }),
            None => Ok(()),
        }
    }

    /// Check one name: an error if it is excluded or cannot be checked; `Some(label)`
    /// if it is not permitted (reported after every name was checked for exclusion).
    fn check_name(
        &self,
        name: &CertName<'_>,
        budget: &Budget,
    ) -> Result<Option<&'static str>, NameConstraintError> {
        let form = match name.kind {
            NameKind::Unrecognized => return Err(NameConstraintError::Malformed),
            NameKind::NotImplemented(form) => {
                return if self.constrains(form) {
                    Err(NameConstraintError::Unsupported(match form {
                        OTHER_NAME => "otherName names under otherName constraints",
                        X400_ADDRESS => "x400Address names under x400Address constraints",
                        EDI_PARTY_NAME => "ediPartyName names under ediPartyName constraints",
                        _ => "registeredID names under registeredID constraints",
                    }))
                } else {
                    Ok(None)
                };
            }
            NameKind::NumericHost => {
                return if self.constrains(IP_ADDRESS) {
                    Err(NameConstraintError::Unsupported(
                        "a host name ending in a number (an IPv4 address to some resolvers) \
                         under iPAddress constraints",
                    ))
                } else {
                    Ok(None)
                };
            }
            NameKind::Dns { .. } => DNS_NAME,
            NameKind::Email(_) => RFC822_NAME,
            NameKind::Uri(_) => URI,
            NameKind::Ip(_) => IP_ADDRESS,
            NameKind::Directory(_) => DIRECTORY_NAME,
        };
        if !self.constrains(form) {
            return Ok(None);
        }
        let prepared = Prepared::new(&name.kind)?;
        if self.excludes_form(form) {
            for base in Subtrees::new(self.excluded) {
                let base = base?;
                budget.spend()?;
                if base.form == form && prepared.within(&base, Mode::Excluded)? {
                    return Err(NameConstraintError::Excluded { form: name.label });
                }
            }
        }
        if self.permits_form(form) {
            for base in Subtrees::new(self.permitted) {
                let base = base?;
                budget.spend()?;
                if base.form == form && prepared.within(&base, Mode::Permitted)? {
                    return Ok(None);
                }
            }
            return Ok(Some(name.label));
        }
        Ok(None)
    }
}

// ---------------------------------------------------------------------------------
// Parsing and validating the subtrees
// ---------------------------------------------------------------------------------

/// The `base` of one GeneralSubtree: its GeneralName form and contents.
#[derive(Debug, Clone, Copy)]
struct Base<'a> {
    form: u8,
    contents: &'a [u8],
}

/// The bases of a `GeneralSubtrees` (its contents), in order. Yields an error (and
/// stops) at anything malformed; after [`validate_subtrees`] there is nothing.
#[derive(Debug, Clone)]
struct Subtrees<'a> {
    r: Reader<'a>,
    failed: bool,
}

impl<'a> Subtrees<'a> {
    fn new(contents: Option<&'a [u8]>) -> Self {
        Subtrees {
            r: Reader::new(contents.unwrap_or(&[])),
            failed: false,
        }
    }

    fn read_one(&mut self) -> Result<Base<'a>, NameConstraintError> {
        let mut subtree = self.r.read_sequence()?;
        let base = subtree.read_tlv()?;
        let mut unsupported = None;
        if let Some(min) = subtree.read_optional(tag::context(0, false))? {
            // DEFAULT 0: DER omits it, but an explicit 0 means the same thing.
            match crate::der::integer_to_u64(min) {
                Ok(0) => {}
                Ok(_) => unsupported = Some("a GeneralSubtree minimum other than 0"),
                Err(DerError::IntegerOutOfRange) if min.first().is_some_and(|b| b & 0x80 == 0) => {
                    unsupported = Some("a GeneralSubtree minimum other than 0");
                }
                Err(_) => return Err(NameConstraintError::Malformed),
            }
        }
        if let Some(max) = subtree.read_optional(tag::context(1, false))? {
            match crate::der::integer_to_u64(max) {
                Ok(_) => {}
                Err(DerError::IntegerOutOfRange) if max.first().is_some_and(|b| b & 0x80 == 0) => {}
                Err(_) => return Err(NameConstraintError::Malformed),
            }
            unsupported.get_or_insert("a GeneralSubtree maximum");
        }
        subtree.finish()?;
        if let Some(what) = unsupported {
            return Err(NameConstraintError::Unsupported(what));
        }
        let form = match base.tag {
            0xA0 => OTHER_NAME,
            0x81 => RFC822_NAME,
            0x82 => DNS_NAME,
            0xA3 => X400_ADDRESS,
            0xA4 => DIRECTORY_NAME,
            0xA5 => EDI_PARTY_NAME,
            0x86 => URI,
            0x87 => IP_ADDRESS,
            0x88 => REGISTERED_ID,
            _ => return Err(NameConstraintError::Malformed),
        };
        Ok(Base {
            form,
            contents: base.contents,
        })
    }
}

impl<'a> Iterator for Subtrees<'a> {
    type Item = Result<Base<'a>, NameConstraintError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.r.is_empty() {
            return None;
        }
        let r = self.read_one();
        self.failed = r.is_err();
        Some(r)
    }
}

/// Validate a `GeneralSubtrees` (its contents) and return the set of its forms.
fn validate_subtrees(contents: &[u8]) -> Result<u16, NameConstraintError> {
    if contents.is_empty() {
        return Err(NameConstraintError::Malformed); // SIZE (1..MAX)
    }
    let mut forms = 0u16;
    for base in Subtrees::new(Some(contents)) {
        let base = base?;
        if !valid_base(&base) {
            return Err(NameConstraintError::Malformed);
        }
        forms |= bit(base.form);
    }
    Ok(forms)
}

/// Whether a constraint's value is well formed for its form.
fn valid_base(base: &Base<'_>) -> bool {
    let c = base.contents;
    match base.form {
        DNS_NAME | URI => valid_host_constraint(c),
        RFC822_NAME => match split_once(c, b'@') {
            None => valid_host_constraint(c),
            Some((local, host)) => {
                !local.is_empty()
                    && local.iter().all(|&b| is_printable(b) && b != b'@')
                    && !host.is_empty()
                    && !host.starts_with(b".")
                    && valid_host_constraint(host)
            }
        },
        IP_ADDRESS => {
            (c.len() == 8 || c.len() == 32)
                && c.split_at_checked(c.len() / 2)
                    .is_some_and(|(_, mask)| is_prefix_mask(mask))
        }
        DIRECTORY_NAME => single_name(c).is_some(),
        OTHER_NAME => {
            let mut r = Reader::new(c);
            r.read_oid().is_ok() && r.read(tag::context(0, true)).is_ok() && r.is_empty()
        }
        REGISTERED_ID => Oid::parse(c).is_ok(),
        // x400Address and ediPartyName: not implemented, never compared.
        _ => true,
    }
}

/// Printable ASCII (what the text GeneralNames may hold here).
fn is_printable(b: u8) -> bool {
    (0x20..0x7F).contains(&b)
}

/// A host-name constraint: empty (everything), or an optional leading `.` and one or
/// more non-empty labels of letters, digits, `-` and `_`, without a trailing dot.
fn valid_host_constraint(c: &[u8]) -> bool {
    c.is_empty() || valid_labels(c.strip_prefix(b".").unwrap_or(c))
}

/// A dNSName of a certificate: an optional leading `*.`, one or more non-empty labels of
/// letters, digits, `-` and `_`, and an optional trailing dot.
fn valid_dns_name(name: &[u8]) -> bool {
    let body = name.strip_prefix(b"*.").unwrap_or(name);
    valid_labels(body.strip_suffix(b".").unwrap_or(body))
}

/// One or more non-empty labels of letters, digits, `-` and `_`, separated by dots.
fn valid_labels(s: &[u8]) -> bool {
    !s.is_empty()
        && s.split(|&b| b == b'.').all(|label| {
            !label.is_empty()
                && label
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Whether `mask` is a run of one bits followed by zero bits.
fn is_prefix_mask(mask: &[u8]) -> bool {
    let mut ended = false;
    for &b in mask {
        if ended {
            if b != 0 {
                return false;
            }
        } else if b != 0xFF {
            if b.leading_ones().saturating_add(b.trailing_zeros()) != 8 {
                return false;
            }
            ended = true;
        }
    }
    true
}

/// The contents of a `directoryName` (an explicit `[4]` around one Name): the Name's
/// whole DER, if it is exactly one well-formed Name.
fn single_name(contents: &[u8]) -> Option<&[u8]> {
    let mut r = Reader::new(contents);
    let t = r.read_tlv().ok()?;
    (t.tag == tag::SEQUENCE && r.is_empty() && Name::from_der(t.raw).is_well_formed())
        .then_some(t.raw)
}

/// Split at the first `sep` (dropping it); `None` when there is none. Any further `sep`
/// stays in the second half.
fn split_once(s: &[u8], sep: u8) -> Option<(&[u8], &[u8])> {
    let i = s.iter().position(|&b| b == sep)?;
    Some((s.get(..i)?, s.get(i.checked_add(1)?..)?))
}

// ---------------------------------------------------------------------------------
// The names of a certificate
// ---------------------------------------------------------------------------------

/// One name of the certificate being checked.
#[derive(Debug, Clone, Copy)]
struct CertName<'n> {
    kind: NameKind<'n>,
    /// How errors name it.
    label: &'static str,
}

#[derive(Debug, Clone, Copy)]
enum NameKind<'n> {
    /// A host name; `san` for a dNSName (which must then be a valid host name), not for
    /// a commonName taken as one.
    Dns {
        name: &'n [u8],
        san: bool,
    },
    /// A mailbox, not yet split (checked when an rfc822Name constraint applies).
    Email(&'n [u8]),
    Uri(&'n [u8]),
    Ip(IpAddress),
    /// A host name that does not parse as an IP address but ends in a number
    /// ([`ends_in_a_number`]): `10.1`, `0x0a.0.0.1`, `167772161` are IPv4 addresses to
    /// `inet_aton` and to URL parsers. It cannot be compared with iPAddress constraints.
    NumericHost,
    /// A Name's DER.
    Directory(&'n [u8]),
    /// A name of a form this module does not compare (its GeneralName number).
    NotImplemented(u8),
    /// A subject alternative name that could not be decoded.
    Unrecognized,
}

/// Call `f` with every name of `cert` that constraints apply to (see the module
/// documentation).
fn for_each_name<'n>(
    cert: &CertRef<'n>,
    any_host_cn: bool,
    mut f: impl FnMut(CertName<'n>) -> Result<(), NameConstraintError>,
) -> Result<(), NameConstraintError> {
    let name = |kind, label| CertName { kind, label };
    let mut has_dns_san = false;
    let mut has_san = false;
    for san in cert.subject_alt_names() {
        has_san = true;
        match san {
            SubjectAltName::Dns(s) => {
                has_dns_san = true;
                f(name(
                    NameKind::Dns {
                        name: s.as_bytes(),
                        san: true,
                    },
                    "dNSName",
                ))?;
                // mbedTLS compares a dNSName with the hostname as text, IP addresses
                // included.
                if let Some(ip) = IpAddress::parse(s) {
                    f(name(NameKind::Ip(ip), "dNSName (as iPAddress)"))?;
                } else if ends_in_a_number(s.as_bytes()) {
                    f(name(NameKind::NumericHost, "dNSName (as iPAddress)"))?;
                }
            }
            SubjectAltName::Email(s) => f(name(NameKind::Email(s.as_bytes()), "rfc822Name"))?,
            SubjectAltName::Uri(s) => {
                f(name(
                    NameKind::Uri(s.as_bytes()),
                    "uniformResourceIdentifier",
                ))?;
                // mbedTLS also compares every URI with the hostname as text
                // (x509_crt_check_san_uri): a "URI" spelled as a host name or an IP
                // address stands for that host. (A real URI, with its scheme and ':',
                // is neither.)
                if let Some(ip) = IpAddress::parse(s) {
                    f(name(
                        NameKind::Ip(ip),
                        "uniformResourceIdentifier (as iPAddress)",
                    ))?;
                } else if looks_like_host(s.as_bytes()) {
                    f(name(
                        NameKind::Dns {
                            name: s.as_bytes(),
                            san: false,
                        },
                        "uniformResourceIdentifier (as dNSName)",
                    ))?;
                    if ends_in_a_number(s.as_bytes()) {
                        f(name(
                            NameKind::NumericHost,
                            "uniformResourceIdentifier (as iPAddress)",
                        ))?;
                    }
                }
            }
            SubjectAltName::Ip(ip) => f(name(NameKind::Ip(ip), "iPAddress"))?,
            SubjectAltName::DirectoryName(n) => {
                f(name(NameKind::Directory(n.der()), "directoryName"))?;
            }
            SubjectAltName::OtherName { .. } => {
                f(name(
                    NameKind::NotImplemented(OTHER_NAME),
                    form_name(OTHER_NAME),
                ))?;
            }
            SubjectAltName::Other { tag: t, .. } => {
                let kind = match t {
                    0xA3 => NameKind::NotImplemented(X400_ADDRESS),
                    0xA5 => NameKind::NotImplemented(EDI_PARTY_NAME),
                    0x88 => NameKind::NotImplemented(REGISTERED_ID),
                    _ => NameKind::Unrecognized,
                };
                let label = match kind {
                    NameKind::NotImplemented(form) => form_name(form),
                    _ => "subjectAltName",
                };
                f(name(kind, label))?;
            }
            // A form added to SubjectAltName later: not understood, so not accepted.
            #[allow(unreachable_patterns)]
            _ => f(name(NameKind::Unrecognized, "subjectAltName"))?,
        }
    }

    let subject = cert.subject();
    if !subject.is_well_formed() {
        return Err(NameConstraintError::Malformed);
    }
    let mut rdns = Reader::new(subject.der());
    if !rdns.read_sequence()?.is_empty() {
        f(name(
            NameKind::Directory(subject.der()),
            "subject (as directoryName)",
        ))?;
    }
    for attr in subject.attributes() {
        match attr.kind {
            AttributeKind::EmailAddress => f(name(
                NameKind::Email(attr.value),
                "subject emailAddress (as rfc822Name)",
            ))?,
            // mbedTLS compares the commonName's bytes with the hostname whatever the
            // string type, so the raw value is what counts.
            AttributeKind::CommonName if !has_dns_san => {
                let cn = attr.value;
                if let Some(ip) = core::str::from_utf8(cn).ok().and_then(IpAddress::parse) {
                    f(name(NameKind::Ip(ip), "subject commonName (as iPAddress)"))?;
                } else if looks_like_dns(cn) || (any_host_cn && !has_san && looks_like_host(cn)) {
                    f(name(
                        NameKind::Dns {
                            name: cn,
                            san: false,
                        },
                        "subject commonName (as dNSName)",
                    ))?;
                    if ends_in_a_number(cn) {
                        f(name(
                            NameKind::NumericHost,
                            "subject commonName (as iPAddress)",
                        ))?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Whether a commonName could be matched as a host name: an optional leading `*.`, then
/// letters, digits, `-`, `_` and dots, with at least one dot in all.
fn looks_like_dns(cn: &[u8]) -> bool {
    let body = cn.strip_prefix(b"*.").unwrap_or(cn);
    cn.contains(&b'.') && looks_like_host(body)
}

/// Whether mbedTLS could compare `s` as text with a hostname that is a host name:
/// non-empty, only letters, digits, `-`, `_` and dots (a single label too).
fn looks_like_host(s: &[u8]) -> bool {
    !s.is_empty()
        && s.iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

/// Whether a host name ends in a number as the WHATWG URL standard defines it (its last
/// label, ignoring one trailing dot, is all digits or `0x` and hex digits): a resolver
/// (`inet_aton`) or URL parser reads such a name as an IPv4 address (`10.1` is
/// 10.0.0.1), so it is never taken for a host name under iPAddress constraints.
fn ends_in_a_number(s: &[u8]) -> bool {
    let s = s.strip_suffix(b".").unwrap_or(s);
    let last = s.rsplit(|&b| b == b'.').next().unwrap_or(s);
    match last
        .strip_prefix(b"0x")
        .or_else(|| last.strip_prefix(b"0X"))
    {
        Some(hex) => hex.iter().all(u8::is_ascii_hexdigit),
        None => !last.is_empty() && last.iter().all(u8::is_ascii_digit),
    }
}

// ---------------------------------------------------------------------------------
// Matching
// ---------------------------------------------------------------------------------

/// Which list a constraint comes from: names are matched strictly against permitted
/// subtrees and generously against excluded ones, so that doubt rejects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Permitted,
    Excluded,
}

/// A name, decomposed for matching.
#[derive(Debug, Clone, Copy)]
enum Prepared<'n> {
    /// `host` without trailing dots; for `*.rest`, `wildcard` and `host` = `rest`.
    Dns {
        host: &'n [u8],
        wildcard: bool,
    },
    Email {
        local: &'n [u8],
        host: &'n [u8],
    },
    UriHost(&'n [u8]),
    Ip(IpAddress),
    Directory(&'n [u8]),
}

impl<'n> Prepared<'n> {
    fn new(kind: &NameKind<'n>) -> Result<Self, NameConstraintError> {
        Ok(match *kind {
            NameKind::Dns { name, san } => {
                if san && !valid_dns_name(name) {
                    return Err(NameConstraintError::Malformed);
                }
                match name.strip_prefix(b"*.") {
                    // mbedTLS: a leading "*." with something after it is a wildcard.
                    Some(rest) if !rest.is_empty() => Prepared::Dns {
                        host: trim_trailing_dots(rest),
                        wildcard: true,
                    },
                    _ => Prepared::Dns {
                        host: trim_trailing_dots(name),
                        wildcard: false,
                    },
                }
            }
            NameKind::Email(mailbox) => {
                if !mailbox.iter().all(|&b| is_printable(b)) {
                    return Err(NameConstraintError::Malformed);
                }
                let (local, host) =
                    split_once(mailbox, b'@').ok_or(NameConstraintError::Malformed)?;
                if host.contains(&b'@') {
                    return Err(NameConstraintError::Malformed);
                }
                Prepared::Email {
                    local,
                    host: trim_trailing_dots(host),
                }
            }
            NameKind::Uri(uri) => {
                Prepared::UriHost(uri_host(uri).ok_or(NameConstraintError::Unsupported(
                    "a URI without a comparable host name under URI constraints",
                ))?)
            }
            NameKind::Ip(ip) => Prepared::Ip(ip),
            NameKind::Directory(der) => Prepared::Directory(der),
            NameKind::NotImplemented(_) | NameKind::Unrecognized | NameKind::NumericHost => {
                return Err(NameConstraintError::Malformed);
            }
        })
    }

    /// Whether this name is within `base` (of the same form): for an excluded subtree,
    /// whether it *may* be.
    fn within(&self, base: &Base<'_>, mode: Mode) -> Result<bool, NameConstraintError> {
        let c = base.contents;
        Ok(match *self {
            Prepared::Dns { host, wildcard } => match (wildcard, mode) {
                (false, _) => dns_within(host, c),
                // Every name "<label>.host" must be within c.
                (true, Mode::Permitted) => dns_within(host, c.strip_prefix(b".").unwrap_or(c)),
                // Some name "<label>.host" may be within c.
                (true, Mode::Excluded) => wildcard_may_match(host, c),
            },
            Prepared::Email { local, host } => match split_once(c, b'@') {
                Some((c_local, c_host)) => local == c_local && host.eq_ignore_ascii_case(c_host),
                None => host_or_subdomains(host, c),
            },
            Prepared::UriHost(host) => host_or_subdomains(host, c),
            Prepared::Ip(ip) => {
                ip_within(ip.as_bytes(), c) || (mode == Mode::Excluded && mapped_ip_within(ip, c))
            }
            Prepared::Directory(der) => {
                let c = single_name(c).ok_or(NameConstraintError::Malformed)?;
                dn_within(der, c, mode)?
            }
        })
    }
}

fn trim_trailing_dots(mut s: &[u8]) -> &[u8] {
    while let Some(rest) = s.strip_suffix(b".") {
        s = rest;
    }
    s
}

/// Whether `s` ends with `suffix`, ASCII case-insensitively; returns what precedes it.
fn strip_suffix_ci<'s>(s: &'s [u8], suffix: &[u8]) -> Option<&'s [u8]> {
    let (head, tail) = s.split_at_checked(s.len().checked_sub(suffix.len())?)?;
    tail.eq_ignore_ascii_case(suffix).then_some(head)
}

/// dNSName semantics: `c` empty is everything; `.d` is strict subdomains of `d`;
/// `d` is `d` and its subdomains (on a label boundary).
fn dns_within(host: &[u8], c: &[u8]) -> bool {
    if c.is_empty() {
        return true;
    }
    if c.starts_with(b".") {
        return strip_suffix_ci(host, c).is_some_and(|head| !head.is_empty());
    }
    match strip_suffix_ci(host, c) {
        Some([]) => true,
        Some(head) => head.ends_with(b"."),
        None => false,
    }
}

/// Whether a name that `*.host` matches (one more, non-empty label in front of `host`,
/// as mbedTLS matches wildcards) may be within the dNSName constraint `c`.
fn wildcard_may_match(host: &[u8], c: &[u8]) -> bool {
    if c.is_empty() || host.is_empty() {
        return true;
    }
    let d = c.strip_prefix(b".").unwrap_or(c);
    // "<label>.host" is a subdomain of d (or d itself, for c = "d") exactly when host is
    // d or below it...
    if dns_within(host, d) {
        return true;
    }
    // ...or, for c = "d", when d is itself one label above host: "foo.host".
    !c.starts_with(b".")
        && strip_suffix_ci(d, host).is_some_and(|head| {
            head.strip_suffix(b".")
                .is_some_and(|label| !label.is_empty() && !label.contains(&b'.'))
        })
}

/// rfc822Name host and URI host semantics: `c` empty is everything; `.d` is strict
/// subdomains of `d`; `d` is exactly `d`.
fn host_or_subdomains(host: &[u8], c: &[u8]) -> bool {
    if c.is_empty() {
        return true;
    }
    if c.starts_with(b".") {
        strip_suffix_ci(host, c).is_some_and(|head| !head.is_empty())
    } else {
        host.eq_ignore_ascii_case(c)
    }
}

/// The host of a URI's authority (`scheme://[userinfo@]host[:port]/...`), trailing dots
/// removed; `None` when there is no authority or the host is empty, an IP literal, or
/// holds anything but letters, digits, `-`, `_` and dots.
fn uri_host(uri: &[u8]) -> Option<&[u8]> {
    let (scheme, rest) = split_once(uri, b':')?;
    let (first, others) = scheme.split_first()?;
    if !first.is_ascii_alphabetic()
        || !others
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    {
        return None;
    }
    let rest = rest.strip_prefix(b"//")?;
    let end = rest
        .iter()
        .position(|&b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let authority = rest.get(..end)?;
    let host_port = match authority.iter().rposition(|&b| b == b'@') {
        Some(at) => {
            // RFC 3986 userinfo (and '@', which URL parsers take as part of it). A `\`
            // ends the authority for WHATWG URL parsers, so `https://a.test\@b.test`
            // is host a.test to them and b.test here: refused.
            let userinfo = authority.get(..at)?;
            if !userinfo
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=:@".contains(&b))
            {
                return None;
            }
            authority.get(at.checked_add(1)?..)?
        }
        None => authority,
    };
    let host = match split_once(host_port, b':') {
        Some((host, port)) => {
            if !port.iter().all(u8::is_ascii_digit) {
                return None;
            }
            host
        }
        None => host_port,
    };
    let host = trim_trailing_dots(host);
    let ok = !host.is_empty()
        && host
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    ok.then_some(host)
}

/// `(addr & mask) == (net & mask)` for a constraint `net || mask` of twice the
/// address's length (so IPv4 only matches IPv4 constraints, IPv6 only IPv6).
fn ip_within(addr: &[u8], c: &[u8]) -> bool {
    if Some(c.len()) != addr.len().checked_mul(2) {
        return false;
    }
    let Some((net, mask)) = c.split_at_checked(addr.len()) else {
        return false;
    };
    addr.iter()
        .zip(net)
        .zip(mask)
        .all(|((a, n), m)| a & m == n & m)
}

/// For an excluded subtree: an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is the IPv4
/// address to a dual-stack socket, so it is within an IPv4 constraint that covers
/// `a.b.c.d`, and an IPv4 address within an IPv6 constraint that covers its mapped
/// form.
fn mapped_ip_within(ip: IpAddress, c: &[u8]) -> bool {
    const PREFIX: [u8; 12] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF];
    match ip {
        IpAddress::V6(v6) => v6
            .split_first_chunk::<12>()
            .is_some_and(|(head, v4)| *head == PREFIX && ip_within(v4, c)),
        IpAddress::V4([a, b, c4, d]) => {
            let mapped = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, a, b, c4, d];
            ip_within(&mapped, c)
        }
    }
}

/// Whether the RDNs of the Name `c` are a prefix of those of the Name `name` (both
/// whole DER). Permitted: RDNs equal byte for byte; excluded: loosely equal.
fn dn_within(name: &[u8], c: &[u8], mode: Mode) -> Result<bool, NameConstraintError> {
    let rdns = |der| -> Result<Reader<'_>, NameConstraintError> {
        let mut r = Reader::new(der);
        let seq = r.read_sequence()?;
        r.finish()?;
        Ok(seq)
    };
    let mut c_rdns = rdns(c)?;
    let mut n_rdns = rdns(name)?;
    while !c_rdns.is_empty() {
        let c_rdn = c_rdns.read_tlv()?;
        if n_rdns.is_empty() {
            return Ok(false);
        }
        let n_rdn = n_rdns.read_tlv()?;
        let equal = match mode {
            Mode::Permitted => c_rdn.raw == n_rdn.raw,
            Mode::Excluded => rdn_loosely_equal(c_rdn, n_rdn)?,
        };
        if !equal {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Two RDNs (SETs) with as many attributes, each attribute of `a` having one in `b` of
/// the same type and a [loosely equal](value_loosely_equal) value.
fn rdn_loosely_equal(a: Tlv<'_>, b: Tlv<'_>) -> Result<bool, NameConstraintError> {
    if a.raw == b.raw {
        return Ok(true);
    }
    let atvs = |set: Tlv<'_>| -> Result<usize, NameConstraintError> {
        let mut r = Reader::new(set.contents);
        let mut n = 0usize;
        while !r.is_empty() {
            atv(&mut r)?;
            n = n.saturating_add(1);
        }
        Ok(n)
    };
    if atvs(a)? != atvs(b)? {
        return Ok(false);
    }
    let mut ra = Reader::new(a.contents);
    while !ra.is_empty() {
        let (a_type, a_value) = atv(&mut ra)?;
        let mut rb = Reader::new(b.contents);
        let mut found = false;
        while !rb.is_empty() {
            let (b_type, b_value) = atv(&mut rb)?;
            if a_type == b_type && value_loosely_equal(a_value, b_value) {
                found = true;
                break;
            }
        }
        if !found {
            return Ok(false);
        }
    }
    Ok(true)
}

/// One AttributeTypeAndValue: the type's OID contents and the value element.
fn atv<'a>(r: &mut Reader<'a>) -> Result<(&'a [u8], Tlv<'a>), NameConstraintError> {
    let mut seq = r.read_sequence()?;
    let t = seq.read(tag::OID)?;
    let v = seq.read_tlv()?;
    seq.finish()?;
    Ok((t, v))
}

/// Equal encodings, or two text values equal after ignoring the string type, leading,
/// trailing and repeated white space, and case.
fn value_loosely_equal(a: Tlv<'_>, b: Tlv<'_>) -> bool {
    if a.raw == b.raw {
        return true;
    }
    let visible = |c: &char| !mapped_to_nothing(*c);
    match (TextChars::new(a), TextChars::new(b)) {
        (Some(a), Some(b)) => Spaces::new(a.filter(visible).map(narrow))
            .flat_map(char::to_lowercase)
            .eq(Spaces::new(b.filter(visible).map(narrow)).flat_map(char::to_lowercase)),
        _ => false,
    }
}

/// The fullwidth forms of ASCII (U+FF01..U+FF5E) as ASCII, as NFKC maps them
/// (`Ｂａｎｋ` is `Bank`). The rest of NFKC is not applied.
fn narrow(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => u32::from(c)
            .checked_sub(0xFEE0)
            .and_then(char::from_u32)
            .unwrap_or(c),
        _ => c,
    }
}

/// Code points that LDAP StringPrep maps to nothing (RFC 4518 2.2; RFC 5280 7.1 names
/// it for comparing names): soft hyphens, joiners, zero-width and format characters,
/// variation selectors, controls other than the white space ones. Invisible, so
/// `Ba\u{AD}nk` is `Bank` to a reader and to an excluded subtree.
fn mapped_to_nothing(c: char) -> bool {
    matches!(c,
        '\u{0000}'..='\u{0008}'
        | '\u{000E}'..='\u{001F}'
        | '\u{007F}'..='\u{0084}'
        | '\u{0086}'..='\u{009F}'
        | '\u{00AD}'
        | '\u{034F}'
        | '\u{06DD}'
        | '\u{070F}'
        | '\u{1806}'
        | '\u{180B}'..='\u{180E}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2063}'
        | '\u{206A}'..='\u{206F}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{FEFF}'
        | '\u{FFF9}'..='\u{FFFC}'
        | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0001}'
        | '\u{E0020}'..='\u{E007F}')
}

const NUMERIC_STRING: u8 = 0x12;
const VISIBLE_STRING: u8 = 0x1A;

type Utf16Units<'a> = Map<ChunksExact<'a, u8>, fn(&[u8]) -> u16>;
type Utf32Units<'a> = Map<ChunksExact<'a, u8>, fn(&[u8]) -> char>;

/// The characters of a directory string value, whatever its string type.
#[derive(Debug, Clone)]
enum TextChars<'a> {
    Utf8(core::str::Chars<'a>),
    /// One character per byte (ASCII types, and TeletexString read as Latin-1).
    Bytes(core::slice::Iter<'a, u8>),
    Bmp(DecodeUtf16<Utf16Units<'a>>),
    Universal(Utf32Units<'a>),
}

fn be_u16(b: &[u8]) -> u16 {
    b.iter().fold(0u16, |acc, &x| (acc << 8) | u16::from(x))
}

fn be_u32(b: &[u8]) -> u32 {
    b.iter().fold(0u32, |acc, &x| (acc << 8) | u32::from(x))
}

fn be_char(b: &[u8]) -> char {
    char::from_u32(be_u32(b)).unwrap_or(char::REPLACEMENT_CHARACTER)
}

impl<'a> TextChars<'a> {
    /// `None` for a value that is not a well-formed string of a known type.
    fn new(v: Tlv<'a>) -> Option<Self> {
        let c = v.contents;
        Some(match v.tag {
            tag::UTF8_STRING => TextChars::Utf8(core::str::from_utf8(c).ok()?.chars()),
            tag::PRINTABLE_STRING | tag::IA5_STRING | VISIBLE_STRING | NUMERIC_STRING
                if c.is_ascii() =>
            {
                TextChars::Bytes(c.iter())
            }
            tag::TELETEX_STRING => TextChars::Bytes(c.iter()),
            tag::BMP_STRING if c.len() % 2 == 0 => {
                let units: Utf16Units<'a> = c.chunks_exact(2).map(be_u16);
                if char::decode_utf16(units.clone()).any(|r| r.is_err()) {
                    return None;
                }
                TextChars::Bmp(char::decode_utf16(units))
            }
            tag::UNIVERSAL_STRING if c.len() % 4 == 0 => {
                if !c
                    .chunks_exact(4)
                    .all(|b| char::from_u32(be_u32(b)).is_some())
                {
                    return None;
                }
                TextChars::Universal(c.chunks_exact(4).map(be_char))
            }
            _ => return None,
        })
    }
}

impl Iterator for TextChars<'_> {
    type Item = char;
    fn next(&mut self) -> Option<char> {
        match self {
            TextChars::Utf8(c) => c.next(),
            TextChars::Bytes(b) => b.next().map(|&b| char::from(b)),
            TextChars::Bmp(d) => d.next().map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER)),
            TextChars::Universal(u) => u.next(),
        }
    }
}

/// Drops leading and trailing white space and turns every inner run of it into one
/// space.
#[derive(Debug, Clone)]
struct Spaces<I> {
    inner: I,
    started: bool,
    space: bool,
    held: Option<char>,
}

impl<I: Iterator<Item = char>> Spaces<I> {
    fn new(inner: I) -> Self {
        Spaces {
            inner,
            started: false,
            space: false,
            held: None,
        }
    }
}

impl<I: Iterator<Item = char>> Iterator for Spaces<I> {
    type Item = char;
    fn next(&mut self) -> Option<char> {
        if let Some(c) = self.held.take() {
            return Some(c);
        }
        loop {
            let c = self.inner.next()?;
            if c.is_whitespace() {
                self.space = self.started;
                continue;
            }
            self.started = true;
            if self.space {
                self.space = false;
                self.held = Some(c);
                return Some(' ');
            }
            return Some(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::der::Writer;
    use crate::issue::{CertificateBuilder, San};
    use crate::pk::{KeyType, PrivateKey};
    use crate::x509::{CertChain, DateTime};
    use alloc::string::ToString;
    use alloc::vec;
    use alloc::vec::Vec;

    type E = NameConstraintError;

    pub(super) const DNS: u8 = 0x82;
    pub(super) const EMAIL: u8 = 0x81;
    pub(super) const URI_TAG: u8 = 0x86;
    pub(super) const IP: u8 = 0x87;
    pub(super) const DIR: u8 = 0xA4;

    pub(super) fn key() -> PrivateKey {
        PrivateKey::generate(KeyType::EcdsaP256).unwrap()
    }

    fn builder(subject: &str) -> CertificateBuilder {
        let dt = |s| DateTime::parse_rfc3339(s).unwrap();
        CertificateBuilder::new(subject)
            .validity(dt("2026-01-01T00:00:00Z"), dt("2030-01-01T00:00:00Z"))
    }

    /// A certificate with this subject and these SANs (self-signed: `check` only reads
    /// names).
    pub(super) fn cert(subject: &str, sans: impl IntoIterator<Item = San>) -> CertChain {
        builder(subject).sans(sans).self_signed(&key()).unwrap()
    }

    pub(super) fn dns(s: &str) -> San {
        San::Dns(s.into())
    }

    pub(super) fn email(s: &str) -> San {
        San::Email(s.into())
    }

    pub(super) fn uri(s: &str) -> San {
        San::Uri(s.into())
    }

    pub(super) fn ip(s: &str) -> San {
        San::Ip(IpAddress::parse(s).unwrap())
    }

    pub(super) fn raw_san(tag: u8, contents: &[u8]) -> San {
        San::Raw {
            tag,
            contents: contents.to_vec(),
        }
    }

    /// The DER of a NameConstraints with these (tag, contents) bases.
    pub(super) fn nc(permitted: &[(u8, &[u8])], excluded: &[(u8, &[u8])]) -> Vec<u8> {
        let raw = |list: &[(u8, &[u8])]| -> Vec<San> {
            list.iter().map(|&(t, c)| raw_san(t, c)).collect()
        };
        crate::issue::name_constraints_der(&raw(permitted), &raw(excluded))
    }

    pub(super) fn check(constraints: &[u8], c: &CertChain) -> Result<(), E> {
        NameConstraints::parse(constraints)
            .unwrap()
            .check(&c.first().unwrap())
    }

    pub(super) fn not_permitted(form: &'static str) -> Result<(), E> {
        Err(E::NotPermitted { form })
    }

    pub(super) fn excluded(form: &'static str) -> Result<(), E> {
        Err(E::Excluded { form })
    }

    /// A Name: one attribute per RDN; `C` as PrintableString, the rest UTF8String (as
    /// mbedTLS writes them).
    fn name(rdns: &[(&str, &str)]) -> Vec<u8> {
        let mut w = Writer::new();
        w.sequence(|w| {
            for (t, v) in rdns {
                let (o, string_tag) = match *t {
                    "C" => (oid::COUNTRY, tag::PRINTABLE_STRING),
                    "O" => (oid::ORGANIZATION, tag::UTF8_STRING),
                    "OU" => (oid::ORGANIZATIONAL_UNIT, tag::UTF8_STRING),
                    "CN" => (oid::COMMON_NAME, tag::UTF8_STRING),
                    other => panic!("{other}"),
                };
                w.set(|w| {
                    w.sequence(|w| {
                        w.oid(&o).tlv(string_tag, v.as_bytes());
                    });
                });
            }
        });
        w.into_vec()
    }

    // -----------------------------------------------------------------------------
    // Parsing
    // -----------------------------------------------------------------------------

    #[test]
    fn parses_every_form() {
        let dir = name(&[("C", "DE"), ("O", "Fleet")]);
        let mut other = Writer::new();
        other
            .oid_dotted("1.3.6.1.4.1.311.20.2.3")
            .unwrap()
            .explicit(0, |w| {
                w.utf8_string("x");
            });
        let other = other.into_vec();
        let der = nc(
            &[
                (DNS, b"example.com"),
                (DNS, b".example.net"),
                (DNS, b""),
                (EMAIL, b"ops@example.com"),
                (EMAIL, b".example.com"),
                (URI_TAG, b"example.com"),
                (IP, &[10, 0, 0, 0, 255, 0, 0, 0]),
                (DIR, &dir),
                (DIR, &[0x30, 0x00]),
                (0xA0, &other),
                (0xA3, &[0x30, 0x00]),
                (0xA5, &[0x30, 0x00]),
                (0x88, &[0x2A, 0x03]),
            ],
            &[(IP, &[0u8; 32]), (DNS, b"Bad-Host_1.example.com")],
        );
        let parsed = NameConstraints::parse(&der).unwrap();
        assert_eq!(parsed.permitted_forms, 0x1FF);
        assert_eq!(parsed.excluded_forms, bit(IP_ADDRESS) | bit(DNS_NAME));
        assert!(parsed.permitted.is_some() && parsed.excluded.is_some());
        let bases: Vec<_> = Subtrees::new(parsed.permitted)
            .map(|b| b.unwrap().form)
            .collect();
        assert_eq!(bases, [2, 2, 2, 1, 1, 6, 7, 4, 4, 0, 3, 5, 8]);

        // Only one of the two lists.
        let only_excluded_der = nc(&[], &[(DNS, b"x.test")]);
        let only_excluded = NameConstraints::parse(&only_excluded_der).unwrap();
        assert_eq!(
            (only_excluded.permitted, only_excluded.permitted_forms),
            (None, 0)
        );
        // An explicit minimum 0 (DEFAULT, so not DER, but meaning the same) is accepted.
        let mut w = Writer::new();
        w.sequence(|w| {
            w.constructed(0xA0, |w| {
                w.sequence(|w| {
                    w.tlv(DNS, b"example.com").tlv(0x80, &[0]);
                });
            });
        });
        assert!(NameConstraints::parse(w.as_bytes()).is_ok());
    }

    #[test]
    fn rejects_malformed_extensions() {
        let parse = |der: &[u8]| NameConstraints::parse(der).map(|_| ());
        let ok = nc(&[(DNS, b"example.com")], &[]);
        assert_eq!(parse(&ok), Ok(()));
        let mut trailing = ok.clone();
        trailing.push(0);
        let mut non_minimal = vec![0x30, 0x81, ok.len() as u8 - 2];
        non_minimal.extend_from_slice(&ok[2..]);
        let bad: Vec<(&str, Vec<u8>)> = vec![
            ("no input", vec![]),
            ("empty NameConstraints", vec![0x30, 0x00]),
            ("empty permitted", vec![0x30, 0x02, 0xA0, 0x00]),
            ("empty excluded", vec![0x30, 0x02, 0xA1, 0x00]),
            ("trailing byte", trailing),
            ("non-minimal length", non_minimal),
            ("not a SEQUENCE", vec![0x31, 0x00]),
            ("lists swapped", {
                let mut w = Writer::new();
                // The contents of two one-list NameConstraints (short lengths).
                let excluded = nc(&[], &[(DNS, b"a.test")]);
                let permitted = nc(&[(DNS, b"b.test")], &[]);
                w.sequence(|w| {
                    w.raw(&excluded[2..]).raw(&permitted[2..]);
                });
                w.into_vec()
            }),
            ("unknown element in NameConstraints", {
                let mut w = Writer::new();
                let permitted = nc(&[(DNS, b"a.test")], &[]);
                w.sequence(|w| {
                    w.raw(&permitted[2..]).null();
                });
                w.into_vec()
            }),
            ("trailing element in a GeneralSubtree", {
                let mut w = Writer::new();
                w.sequence(|w| {
                    w.constructed(0xA0, |w| {
                        w.sequence(|w| {
                            w.tlv(DNS, b"a.test").null();
                        });
                    });
                });
                w.into_vec()
            }),
            ("subtree that is not a SEQUENCE", {
                let mut w = Writer::new();
                w.sequence(|w| {
                    w.constructed(0xA0, |w| {
                        w.tlv(DNS, b"a.test");
                    });
                });
                w.into_vec()
            }),
            ("empty GeneralSubtree", {
                let mut w = Writer::new();
                w.sequence(|w| {
                    w.constructed(0xA0, |w| {
                        w.sequence(|_| {});
                    });
                });
                w.into_vec()
            }),
            ("unknown GeneralName tag", nc(&[(0x89, b"x")], &[])),
            ("x400Address not constructed", nc(&[(0x83, b"x")], &[])),
            ("dNSName constructed", nc(&[(0xA2, b"")], &[])),
            (
                "dNSName not IA5",
                nc(&[(DNS, "bü.example".as_bytes())], &[]),
            ),
            ("dNSName with a space", nc(&[(DNS, b"a b.example")], &[])),
            ("dNSName wildcard", nc(&[(DNS, b"*.example.com")], &[])),
            ("dNSName trailing dot", nc(&[(DNS, b"example.com.")], &[])),
            ("dNSName empty label", nc(&[(DNS, b"a..example")], &[])),
            ("dNSName only a dot", nc(&[(DNS, b".")], &[])),
            ("dNSName two leading dots", nc(&[(DNS, b"..example")], &[])),
            ("rfc822Name two @", nc(&[(EMAIL, b"a@b@example.com")], &[])),
            (
                "rfc822Name empty local",
                nc(&[(EMAIL, b"@example.com")], &[]),
            ),
            ("rfc822Name empty host", nc(&[(EMAIL, b"a@")], &[])),
            (
                "rfc822Name dotted host",
                nc(&[(EMAIL, b"a@.example.com")], &[]),
            ),
            (
                "rfc822Name control",
                nc(&[(EMAIL, b"a\n@example.com")], &[]),
            ),
            (
                "URI with scheme",
                nc(&[(URI_TAG, b"https://example.com")], &[]),
            ),
            ("IPv4 address only", nc(&[(IP, &[10, 0, 0, 0])], &[])),
            ("IPv6 address only", nc(&[(IP, &[0; 16])], &[])),
            ("9-byte IP", nc(&[(IP, &[0; 9])], &[])),
            (
                "IPv4 mask with a hole",
                nc(&[(IP, &[10, 0, 0, 0, 255, 0, 255, 0])], &[]),
            ),
            (
                "IPv4 mask not a prefix",
                nc(&[(IP, &[10, 0, 0, 0, 0b1111_0001, 0, 0, 0])], &[]),
            ),
            ("IPv6 mask with a hole", {
                let mut c = [0u8; 32];
                c[16] = 0xFF;
                c[31] = 1;
                nc(&[(IP, &c)], &[])
            }),
            (
                "directoryName two Names",
                nc(&[(DIR, &[0x30, 0x00, 0x30, 0x00])], &[]),
            ),
            ("directoryName not a Name", nc(&[(DIR, &[0x31, 0x00])], &[])),
            (
                "directoryName empty RDN",
                nc(&[(DIR, &[0x30, 0x02, 0x31, 0x00])], &[]),
            ),
            ("directoryName empty", nc(&[(DIR, &[])], &[])),
            (
                "otherName without value",
                nc(&[(0xA0, &[0x06, 0x01, 0x2A])], &[]),
            ),
            ("registeredID bad OID", nc(&[(0x88, &[0x2A, 0x80])], &[])),
        ];
        for (what, der) in bad {
            assert_eq!(parse(&der), Err(E::Malformed), "{what}");
        }
    }

    #[test]
    fn minimum_and_maximum_are_unsupported() {
        let subtree = |extra: &[u8]| {
            let mut w = Writer::new();
            w.sequence(|w| {
                w.constructed(0xA0, |w| {
                    w.sequence(|w| {
                        w.tlv(DNS, b"example.com").raw(extra);
                    });
                });
            });
            NameConstraints::parse(w.as_bytes()).map(|_| ())
        };
        assert_eq!(subtree(&[]), Ok(()));
        assert_eq!(subtree(&[0x80, 0x01, 0x00]), Ok(()));
        assert!(matches!(
            subtree(&[0x80, 0x01, 0x01]),
            Err(E::Unsupported(_))
        ));
        // A minimum too large for u64 is still just unsupported.
        assert!(matches!(
            subtree(&[0x80, 0x09, 0x01, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(E::Unsupported(_))
        ));
        assert!(matches!(
            subtree(&[0x81, 0x01, 0x00]),
            Err(E::Unsupported(_))
        ));
        assert!(matches!(
            subtree(&[0x80, 0x01, 0x00, 0x81, 0x01, 0x05]),
            Err(E::Unsupported(_))
        ));
        // Negative, empty or non-minimal INTEGERs, wrong order, trailing data: malformed.
        for bad in [
            &[0x80, 0x01, 0xFF][..],
            &[0x80, 0x00],
            &[0x80, 0x02, 0x00, 0x01],
            &[0x81, 0x01, 0xFF],
            &[0x81, 0x01, 0x05, 0x80, 0x01, 0x00],
            &[0x81, 0x01, 0x05, 0x05, 0x00],
            &[0xA0, 0x03, 0x02, 0x01, 0x00],
        ] {
            assert_eq!(subtree(bad), Err(E::Malformed), "{bad:02x?}");
        }
    }

    // -----------------------------------------------------------------------------
    // dNSName
    // -----------------------------------------------------------------------------

    #[test]
    fn dns_permitted_on_label_boundaries() {
        let c = nc(&[(DNS, b"example.com")], &[]);
        for good in [
            "example.com",
            "a.example.com",
            "a.b.example.com",
            "EXAMPLE.Com",
        ] {
            assert_eq!(check(&c, &cert("CN=x", [dns(good)])), Ok(()), "{good}");
        }
        for bad in [
            "badexample.com",
            "example.com.evil",
            "example.org",
            "com",
            "xexample.com",
        ] {
            assert_eq!(
                check(&c, &cert("CN=x", [dns(bad)])),
                not_permitted("dNSName"),
                "{bad}"
            );
        }
        // Every dNSName must be permitted, not just one.
        assert_eq!(
            check(&c, &cert("CN=x", [dns("a.example.com"), dns("evil.test")])),
            not_permitted("dNSName")
        );
        // Two permitted subtrees: either will do.
        let two = nc(&[(DNS, b"example.com"), (DNS, b"fleet.test")], &[]);
        assert_eq!(
            check(
                &two,
                &cert("CN=x", [dns("a.example.com"), dns("fleet.test")])
            ),
            Ok(())
        );
        // Constraints of other forms do not restrict dNSNames.
        let other_form = nc(&[(EMAIL, b"example.com")], &[]);
        assert_eq!(
            check(&other_form, &cert("CN=x", [dns("evil.test")])),
            Ok(())
        );
        // An empty constraint permits every dNSName (but it is still a dNSName
        // constraint, so a malformed one would be refused).
        let all = nc(&[(DNS, b"")], &[]);
        assert_eq!(check(&all, &cert("CN=x", [dns("anything.test")])), Ok(()));
    }

    #[test]
    fn dns_leading_dot_means_subdomains_only() {
        let c = nc(&[(DNS, b".example.com")], &[]);
        assert_eq!(check(&c, &cert("CN=x", [dns("a.example.com")])), Ok(()));
        assert_eq!(check(&c, &cert("CN=x", [dns("a.b.EXAMPLE.COM")])), Ok(()));
        for bad in ["example.com", "badexample.com", "com"] {
            assert_eq!(
                check(&c, &cert("CN=x", [dns(bad)])),
                not_permitted("dNSName"),
                "{bad}"
            );
        }
        let ex = nc(&[], &[(DNS, b".example.com")]);
        assert_eq!(check(&ex, &cert("CN=x", [dns("example.com")])), Ok(()));
        assert_eq!(
            check(&ex, &cert("CN=x", [dns("a.example.com")])),
            excluded("dNSName")
        );
    }

    #[test]
    fn dns_excluded_and_trailing_dots() {
        let c = nc(&[], &[(DNS, b"evil.test")]);
        for bad in ["evil.test", "a.evil.test", "A.EVIL.TEST", "a.evil.test."] {
            assert_eq!(
                check(&c, &cert("CN=x", [dns(bad)])),
                excluded("dNSName"),
                "{bad}"
            );
        }
        for good in ["notevil.test", "evil.test.com", "test"] {
            assert_eq!(check(&c, &cert("CN=x", [dns(good)])), Ok(()), "{good}");
        }
        // Everything excluded.
        let all = nc(&[], &[(DNS, b"")]);
        assert_eq!(
            check(&all, &cert("CN=x", [dns("a.test")])),
            excluded("dNSName")
        );
        // One trailing dot (an absolute name) is fine in a permitted subtree too.
        let p = nc(&[(DNS, b"example.com")], &[]);
        assert_eq!(check(&p, &cert("CN=x", [dns("a.example.com.")])), Ok(()));
        // A dNSName that is not a host name is refused under dNSName constraints of
        // either list (and ignored without them).
        for odd in [
            ".example.com",
            "a..example.com",
            "a.example.com..",
            "",
            ".",
            "a b.example.com",
            "a@example.com",
        ] {
            for constraints in [&c, &p] {
                assert_eq!(
                    check(constraints, &cert("CN=x", [raw_san(DNS, odd.as_bytes())])),
                    Err(E::Malformed),
                    "{odd}"
                );
            }
            assert_eq!(
                check(
                    &nc(&[(EMAIL, b"x.test")], &[]),
                    &cert("CN=x", [raw_san(DNS, odd.as_bytes())])
                ),
                Ok(()),
                "{odd}"
            );
        }
    }

    #[test]
    fn excluded_wins_over_not_permitted() {
        let c = nc(&[(DNS, b"example.com")], &[(DNS, b"bad.example.com")]);
        assert_eq!(check(&c, &cert("CN=x", [dns("ok.example.com")])), Ok(()));
        assert_eq!(
            check(&c, &cert("CN=x", [dns("x.bad.example.com")])),
            excluded("dNSName")
        );
        // The not-permitted name comes first, the excluded one wins anyway.
        assert_eq!(
            check(
                &c,
                &cert("CN=x", [dns("other.test"), dns("bad.example.com")])
            ),
            excluded("dNSName")
        );
        // Across forms too.
        let c = nc(&[(EMAIL, b"example.com")], &[(DNS, b"evil.test")]);
        assert_eq!(
            check(&c, &cert("CN=x", [email("a@other.test"), dns("evil.test")])),
            excluded("dNSName")
        );
        assert_eq!(
            check(&c, &cert("CN=x", [email("a@other.test"), dns("ok.test")])),
            not_permitted("rfc822Name")
        );
    }

    #[test]
    fn dns_wildcards() {
        let p = nc(&[(DNS, b"example.com")], &[]);
        assert_eq!(check(&p, &cert("CN=x", [dns("*.example.com")])), Ok(()));
        assert_eq!(check(&p, &cert("CN=x", [dns("*.a.example.com")])), Ok(()));
        assert_eq!(
            check(&p, &cert("CN=x", [dns("*.com")])),
            not_permitted("dNSName")
        );
        let p_dot = nc(&[(DNS, b".example.com")], &[]);
        assert_eq!(check(&p_dot, &cert("CN=x", [dns("*.example.com")])), Ok(()));
        assert_eq!(
            check(&p_dot, &cert("CN=x", [dns("*.a.example.com")])),
            Ok(())
        );
        // A wildcard is only permitted if all it can match is.
        let p_host = nc(&[(DNS, b"www.example.com")], &[]);
        assert_eq!(
            check(&p_host, &cert("CN=x", [dns("*.example.com")])),
            not_permitted("dNSName")
        );

        // Excluded as soon as one name it matches is.
        for (constraint, name, hit) in [
            ("foo.example.com", "*.example.com", true),
            ("example.com", "*.example.com", true),
            (".example.com", "*.example.com", true),
            ("example.com", "*.a.example.com", true),
            ("a.b.example.com", "*.example.com", false), // "*" is one label
            (".foo.example.com", "*.example.com", false), // only below foo
            ("other.com", "*.example.com", false),
            ("example.com", "*.badexample.com", false),
            ("xample.com", "*.example.com", false),
        ] {
            let ex = nc(&[], &[(DNS, constraint.as_bytes())]);
            let expect = if hit { excluded("dNSName") } else { Ok(()) };
            assert_eq!(
                check(&ex, &cert("CN=x", [dns(name)])),
                expect,
                "{constraint} vs {name}"
            );
        }
        // A "*" anywhere else is not a host name: refused under dNSName constraints.
        let ex = nc(&[], &[(DNS, b"example.com")]);
        for odd in [
            "a*.example.com",
            "*",
            "*.",
            "a.*.example.com",
            "**.example.com",
        ] {
            assert_eq!(
                check(&ex, &cert("CN=x", [dns(odd)])),
                Err(E::Malformed),
                "{odd}"
            );
        }
    }

    // -----------------------------------------------------------------------------
    // rfc822Name and the subject's emailAddress
    // -----------------------------------------------------------------------------

    #[test]
    fn rfc822_forms() {
        let mailbox = nc(&[(EMAIL, b"ops@Example.com")], &[]);
        assert_eq!(
            check(&mailbox, &cert("CN=x", [email("ops@example.COM")])),
            Ok(())
        );
        for bad in ["Ops@example.com", "dev@example.com", "ops@a.example.com"] {
            assert_eq!(
                check(&mailbox, &cert("CN=x", [email(bad)])),
                not_permitted("rfc822Name"),
                "{bad}"
            );
        }
        let host = nc(&[(EMAIL, b"example.com")], &[]);
        assert_eq!(
            check(&host, &cert("CN=x", [email("any@EXAMPLE.com")])),
            Ok(())
        );
        assert_eq!(
            check(&host, &cert("CN=x", [email("any@a.example.com")])),
            not_permitted("rfc822Name")
        );
        let domain = nc(&[(EMAIL, b".example.com")], &[]);
        assert_eq!(
            check(&domain, &cert("CN=x", [email("a@b.example.com")])),
            Ok(())
        );
        for bad in ["a@example.com", "a@badexample.com"] {
            assert_eq!(
                check(&domain, &cert("CN=x", [email(bad)])),
                not_permitted("rfc822Name"),
                "{bad}"
            );
        }
        let ex = nc(&[], &[(EMAIL, b"evil.test"), (EMAIL, b"boss@corp.test")]);
        assert_eq!(
            check(&ex, &cert("CN=x", [email("x@Evil.Test")])),
            excluded("rfc822Name")
        );
        assert_eq!(
            check(&ex, &cert("CN=x", [email("boss@CORP.test")])),
            excluded("rfc822Name")
        );
        assert_eq!(check(&ex, &cert("CN=x", [email("x@a.evil.test")])), Ok(()));
        assert_eq!(check(&ex, &cert("CN=x", [email("Boss@corp.test")])), Ok(()));
        // A mailbox without exactly one "@", under rfc822Name constraints only.
        for bad in ["no-at.example.com", "a@b@example.com"] {
            assert_eq!(
                check(&host, &cert("CN=x", [email(bad)])),
                Err(E::Malformed),
                "{bad}"
            );
            assert_eq!(
                check(&nc(&[(DNS, b"x.test")], &[]), &cert("CN=x", [email(bad)])),
                Ok(())
            );
        }
    }

    #[test]
    fn subject_email_address_is_an_rfc822_name() {
        let c = nc(&[(EMAIL, b"example.com")], &[]);
        let good = cert("CN=x,emailAddress=ops@example.com", []);
        assert_eq!(check(&c, &good), Ok(()));
        let bad = cert("CN=x,emailAddress=ops@evil.test", []);
        assert_eq!(
            check(&c, &bad),
            not_permitted("subject emailAddress (as rfc822Name)")
        );
        let ex = nc(&[], &[(EMAIL, b"evil.test")]);
        assert_eq!(
            check(&ex, &bad),
            excluded("subject emailAddress (as rfc822Name)")
        );
        // Checked even when there are rfc822Name SANs.
        assert_eq!(
            check(
                &c,
                &builder("CN=x,emailAddress=ops@evil.test")
                    .san(email("ops@example.com"))
                    .self_signed(&key())
                    .unwrap()
            ),
            not_permitted("subject emailAddress (as rfc822Name)")
        );
        // Without rfc822Name constraints the subject's address does not matter.
        assert_eq!(check(&nc(&[(DNS, b"example.com")], &[]), &bad), Ok(()));
    }

    // -----------------------------------------------------------------------------
    // The subject commonName as a host name
    // -----------------------------------------------------------------------------

    #[test]
    fn common_name_is_checked_when_there_is_no_dns_san() {
        let c = nc(&[(DNS, b"example.com")], &[]);
        let cn = "subject commonName (as dNSName)";
        assert_eq!(check(&c, &cert("CN=dev.example.com", [])), Ok(()));
        assert_eq!(check(&c, &cert("CN=evil.test", [])), not_permitted(cn));
        assert_eq!(check(&c, &cert("CN=*.evil.test", [])), not_permitted(cn));
        assert_eq!(check(&c, &cert("CN=*.example.com", [])), Ok(()));
        assert_eq!(
            check(&c, &cert("CN=under_score.evil.test", [])),
            not_permitted(cn)
        );
        // Every commonName, not only the first.
        assert_eq!(
            check(&c, &cert("CN=a.example.com,O=x,CN=evil.test", [])),
            not_permitted(cn)
        );
        // Other SAN forms do not turn the fallback off.
        assert_eq!(
            check(&c, &cert("CN=evil.test", [uri("urn:x:y")])),
            not_permitted(cn)
        );
        let ex = nc(&[], &[(DNS, b"evil.test")]);
        assert_eq!(check(&ex, &cert("CN=www.evil.test", [])), excluded(cn));
        assert_eq!(check(&ex, &cert("CN=*.evil.test", [])), excluded(cn));
        assert_eq!(check(&ex, &cert("CN=WWW.Evil.Test.", [])), excluded(cn));

        // Not host names: not checked.
        for subject in [
            "CN=device-1",
            "CN=John Smith",
            "CN=ops@example.test",
            "CN=a.b c",
        ] {
            assert_eq!(check(&c, &cert(subject, [])), Ok(()), "{subject}");
        }
        // With a dNSName SAN the commonName is not used (by mbedTLS either).
        assert_eq!(
            check(&c, &cert("CN=evil.test", [dns("a.example.com")])),
            Ok(())
        );
        // Without dNSName constraints it does not matter.
        assert_eq!(
            check(&nc(&[(EMAIL, b"x.test")], &[]), &cert("CN=evil.test", [])),
            Ok(())
        );
    }

    #[test]
    fn ip_common_names_and_dns_names_are_checked_as_ip_addresses() {
        let c = nc(
            &[(IP, &[10, 0, 0, 0, 255, 0, 0, 0]), (DNS, b"example.com")],
            &[],
        );
        // An IP address commonName is not a host name...
        assert_eq!(check(&c, &cert("CN=10.1.2.3", [ip("10.1.2.3")])), Ok(()));
        // ...but is checked as an iPAddress.
        assert_eq!(
            check(&c, &cert("CN=192.0.2.1", [ip("10.1.2.3")])),
            not_permitted("subject commonName (as iPAddress)")
        );
        let ex = nc(&[], &[(IP, &[192, 0, 2, 0, 255, 255, 255, 0])]);
        assert_eq!(
            check(&ex, &cert("CN=192.0.2.9", [])),
            excluded("subject commonName (as iPAddress)")
        );
        assert_eq!(
            check(&ex, &cert("CN=x", [dns("192.0.2.9")])),
            excluded("dNSName (as iPAddress)")
        );
        assert_eq!(check(&ex, &cert("CN=x", [dns("192.0.3.9")])), Ok(()));
    }

    // -----------------------------------------------------------------------------
    // URI
    // -----------------------------------------------------------------------------

    #[test]
    fn uri_hosts() {
        let c = nc(&[(URI_TAG, b"example.com")], &[]);
        for good in [
            "https://example.com/path",
            "https://EXAMPLE.com:8443/",
            "https://user:pw@example.com?q",
            "spiffe://example.com/workload/1",
            "https://example.com.#frag",
            "h2c://example.com",
        ] {
            assert_eq!(check(&c, &cert("CN=x", [uri(good)])), Ok(()), "{good}");
        }
        for bad in [
            "https://a.example.com/",
            "https://example.com.evil/",
            "https://evil.test/example.com",
            "https://example.com@evil.test/",
        ] {
            assert_eq!(
                check(&c, &cert("CN=x", [uri(bad)])),
                not_permitted("uniformResourceIdentifier"),
                "{bad}"
            );
        }
        let sub = nc(&[(URI_TAG, b".example.com")], &[]);
        assert_eq!(
            check(&sub, &cert("CN=x", [uri("https://a.example.com")])),
            Ok(())
        );
        assert_eq!(
            check(&sub, &cert("CN=x", [uri("https://example.com")])),
            not_permitted("uniformResourceIdentifier")
        );
        let ex = nc(&[], &[(URI_TAG, b"evil.test")]);
        assert_eq!(
            check(&ex, &cert("CN=x", [uri("https://EVIL.test:1/")])),
            excluded("uniformResourceIdentifier")
        );
        assert_eq!(
            check(&ex, &cert("CN=x", [uri("https://a.evil.test/")])),
            Ok(())
        );

        // No comparable host: refused under URI constraints of either list...
        for odd in [
            "urn:fleet:device-1",
            "mailto:a@example.com",
            "https://[2001:db8::1]/",
            "https:///path",
            "https://exa%6dple.com/",
            "https://example.com:http/",
            "//example.com/",
            "1https://example.com/",
        ] {
            for constraints in [&c, &ex] {
                assert!(
                    matches!(
                        check(constraints, &cert("CN=x", [uri(odd)])),
                        Err(E::Unsupported(_))
                    ),
                    "{odd}"
                );
            }
            // ...and fine without them.
            assert_eq!(
                check(&nc(&[(DNS, b"x.test")], &[]), &cert("CN=x", [uri(odd)])),
                Ok(())
            );
        }
    }

    #[test]
    fn uri_host_extraction() {
        for (u, host) in [
            ("https://example.com", Some("example.com")),
            ("https://u@h.example:443/p?q#f", Some("h.example")),
            ("https://a@b@host.test", Some("host.test")),
            ("HTTPS://Host.Test:/", Some("Host.Test")),
            ("x+y-z.w://h", Some("h")),
            ("https://h.test.", Some("h.test")),
            ("https://", None),
            ("https://u@", None),
            ("https://:80", None),
            ("https://[::1]", None),
            ("https://h\\x.test", None),
            ("urn:isbn:123", None),
            ("noscheme", None),
            (":", None),
            ("", None),
        ] {
            assert_eq!(uri_host(u.as_bytes()), host.map(str::as_bytes), "{u}");
        }
    }

    // -----------------------------------------------------------------------------
    // iPAddress
    // -----------------------------------------------------------------------------

    #[test]
    fn ipv4_and_ipv6() {
        let v4 = nc(&[(IP, &[192, 168, 0, 0, 255, 255, 0, 0])], &[]);
        assert_eq!(check(&v4, &cert("CN=x", [ip("192.168.7.9")])), Ok(()));
        assert_eq!(
            check(&v4, &cert("CN=x", [ip("192.169.0.1")])),
            not_permitted("iPAddress")
        );
        // An IPv6 address never matches an IPv4 constraint (and so is not permitted).
        assert_eq!(
            check(&v4, &cert("CN=x", [ip("::ffff:192.168.0.1")])),
            not_permitted("iPAddress")
        );

        let mut net6 = [0u8; 32];
        net6[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        net6[16..20].fill(0xFF); // 2001:db8::/32
        let v6 = nc(&[(IP, &net6)], &[]);
        assert_eq!(check(&v6, &cert("CN=x", [ip("2001:db8:1::5")])), Ok(()));
        assert_eq!(
            check(&v6, &cert("CN=x", [ip("2001:db9::1")])),
            not_permitted("iPAddress")
        );
        assert_eq!(
            check(&v6, &cert("CN=x", [ip("10.0.0.1")])),
            not_permitted("iPAddress")
        );
        // Both families permitted.
        let both = nc(&[(IP, &[10, 0, 0, 0, 255, 0, 0, 0]), (IP, &net6)], &[]);
        assert_eq!(
            check(&both, &cert("CN=x", [ip("10.9.9.9"), ip("2001:db8::9")])),
            Ok(())
        );

        // Excluded, with host bits set in the constraint (masked away).
        let ex = nc(&[], &[(IP, &[10, 1, 2, 3, 255, 255, 255, 0])]);
        assert_eq!(
            check(&ex, &cert("CN=x", [ip("10.1.2.200")])),
            excluded("iPAddress")
        );
        assert_eq!(check(&ex, &cert("CN=x", [ip("10.1.3.1")])), Ok(()));
        // A /0 excludes every IPv4 address and no IPv6 one.
        let all4 = nc(&[], &[(IP, &[0; 8])]);
        assert_eq!(
            check(&all4, &cert("CN=x", [ip("8.8.8.8")])),
            excluded("iPAddress")
        );
        assert_eq!(check(&all4, &cert("CN=x", [ip("::1")])), Ok(()));
        // A /32 is one address.
        let one = nc(&[(IP, &[10, 0, 0, 1, 255, 255, 255, 255])], &[]);
        assert_eq!(check(&one, &cert("CN=x", [ip("10.0.0.1")])), Ok(()));
        assert_eq!(
            check(&one, &cert("CN=x", [ip("10.0.0.2")])),
            not_permitted("iPAddress")
        );

        // An iPAddress SAN of the wrong length is malformed under any constraints (if
        // mbedTLS lets the certificate through at all: 3.6 refuses it).
        let odd = builder("CN=x")
            .san(raw_san(0x87, &[10, 0, 0]))
            .self_signed(&key());
        if let Ok(odd) = odd {
            assert_eq!(check(&v4, &odd), Err(E::Malformed));
        }
    }

    #[test]
    fn prefix_masks() {
        assert!(is_prefix_mask(&[0xFF, 0xFF, 0xF0, 0x00]));
        assert!(is_prefix_mask(&[0; 4]));
        assert!(is_prefix_mask(&[0xFF; 16]));
        assert!(is_prefix_mask(&[0x80, 0, 0, 0]));
        assert!(!is_prefix_mask(&[0x7F, 0, 0, 0]));
        assert!(!is_prefix_mask(&[0xFF, 0x00, 0x01, 0x00]));
        assert!(!is_prefix_mask(&[0xFE, 0xFF, 0, 0]));
        for b in 0..=255u8 {
            let contiguous = (0..=8).any(|n| u16::from(b) == (0xFF00u16 >> n) & 0xFF);
            assert_eq!(is_prefix_mask(&[b, 0]), contiguous, "{b:08b}");
        }
    }

    // -----------------------------------------------------------------------------
    // directoryName
    // -----------------------------------------------------------------------------

    #[test]
    fn directory_name_prefix_of_the_subject() {
        let fleet = name(&[("C", "DE"), ("O", "Fleet")]);
        let c = nc(&[(DIR, &fleet)], &[]);
        assert_eq!(check(&c, &cert("C=DE,O=Fleet,CN=dev", [])), Ok(()));
        assert_eq!(check(&c, &cert("C=DE,O=Fleet", [])), Ok(()));
        for bad in [
            "C=DE,O=Other,CN=dev",
            "C=DE",
            "O=Fleet,C=DE,CN=x",
            "C=DE,OU=Fleet,CN=x",
            "CN=dev",
        ] {
            assert_eq!(
                check(&c, &cert(bad, [])),
                not_permitted("subject (as directoryName)"),
                "{bad}"
            );
        }
        // Permitted subtrees compare bytes: a different string type or case is refused.
        let upper = name(&[("C", "DE"), ("O", "FLEET")]);
        assert_eq!(
            check(&nc(&[(DIR, &upper)], &[]), &cert("C=DE,O=Fleet,CN=dev", [])),
            not_permitted("subject (as directoryName)")
        );
        // The empty Name permits every subject.
        assert_eq!(
            check(&nc(&[(DIR, &[0x30, 0x00])], &[]), &cert("CN=any", [])),
            Ok(())
        );

        // A directoryName SAN is checked too.
        let other = name(&[("C", "FR"), ("O", "Other")]);
        assert_eq!(
            check(&c, &cert("C=DE,O=Fleet,CN=dev", [raw_san(DIR, &other)])),
            not_permitted("directoryName")
        );
        let inside = name(&[("C", "DE"), ("O", "Fleet"), ("OU", "Ops")]);
        assert_eq!(
            check(&c, &cert("C=DE,O=Fleet,CN=dev", [raw_san(DIR, &inside)])),
            Ok(())
        );
        // A malformed one is refused (if mbedTLS parses the certificate: 3.6 does not).
        let odd = builder("C=DE,O=Fleet,CN=dev")
            .san(raw_san(DIR, &[0x30, 0x00, 0x30, 0x00]))
            .self_signed(&key());
        if let Ok(odd) = odd {
            assert_eq!(check(&c, &odd), Err(E::Malformed));
        }
        // The same name decoded by the crate is `Other`, which is refused.
        assert!(matches!(
            SubjectAltName::from_general_name(DIR, &[0x30, 0x00, 0x30, 0x00]),
            SubjectAltName::Other { .. }
        ));
    }

    #[test]
    fn directory_name_excluded_loosely() {
        let ex_name = name(&[("C", "DE"), ("O", "Evil  Corp ")]);
        let ex = nc(&[], &[(DIR, &ex_name)]);
        assert_eq!(
            check(&ex, &cert("C=DE,O=Evil Corp,CN=dev", [])),
            excluded("subject (as directoryName)")
        );
        assert_eq!(
            check(&ex, &cert("C=de,O=EVIL corp", [])),
            excluded("subject (as directoryName)")
        );
        assert_eq!(check(&ex, &cert("C=DE,O=Evil Corp2,CN=dev", [])), Ok(()));
        assert_eq!(check(&ex, &cert("C=DE,CN=dev", [])), Ok(()));
        // The empty Name excludes every non-empty subject.
        assert_eq!(
            check(&nc(&[], &[(DIR, &[0x30, 0x00])]), &cert("CN=x", [])),
            excluded("subject (as directoryName)")
        );
    }

    #[test]
    fn loose_value_comparison() {
        let tlv = |t: u8, v: &[u8]| {
            let mut w = Writer::new();
            w.tlv(t, v);
            w.into_vec()
        };
        let eq = |a: &[u8], b: &[u8]| {
            let a = Reader::new(a).read_tlv().unwrap();
            let b = Reader::new(b).read_tlv().unwrap();
            value_loosely_equal(a, b)
        };
        let utf8 = tlv(tag::UTF8_STRING, "  Straße  Süd ".as_bytes());
        let bmp: Vec<u8> = "STRASSE süd"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        let bmp_same: Vec<u8> = "straße SÜD"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        let univ: Vec<u8> = "Straße\tSüd"
            .chars()
            .flat_map(|c| (c as u32).to_be_bytes())
            .collect();
        assert!(eq(&utf8, &tlv(tag::BMP_STRING, &bmp_same)));
        assert!(eq(&utf8, &tlv(tag::UNIVERSAL_STRING, &univ)));
        assert!(!eq(&utf8, &tlv(tag::BMP_STRING, &bmp))); // no full case folding
        assert!(eq(
            &tlv(tag::PRINTABLE_STRING, b"A B"),
            &tlv(tag::IA5_STRING, b" a   b")
        ));
        assert!(eq(
            &tlv(tag::TELETEX_STRING, b"x"),
            &tlv(tag::UTF8_STRING, b"X")
        ));
        assert!(!eq(
            &tlv(tag::PRINTABLE_STRING, b"AB"),
            &tlv(tag::UTF8_STRING, b"A B")
        ));
        // Not text (or malformed text): only identical encodings are equal.
        assert!(eq(
            &tlv(tag::OCTET_STRING, b"a"),
            &tlv(tag::OCTET_STRING, b"a")
        ));
        assert!(!eq(
            &tlv(tag::OCTET_STRING, b"a"),
            &tlv(tag::UTF8_STRING, b"a")
        ));
        assert!(!eq(
            &tlv(tag::BMP_STRING, &[0, b'a', 0]),
            &tlv(tag::UTF8_STRING, b"a")
        ));
        assert!(!eq(
            &tlv(tag::BMP_STRING, &[0xD8, 0x00]),
            &tlv(tag::UTF8_STRING, b"a")
        ));
        assert!(!eq(
            &tlv(tag::UNIVERSAL_STRING, &[0, 0x11, 0, 0]),
            &tlv(tag::UTF8_STRING, b"a")
        ));
        assert!(!eq(
            &tlv(tag::UTF8_STRING, &[0xFF]),
            &tlv(tag::UTF8_STRING, b"a")
        ));
        assert!(!eq(
            &tlv(tag::PRINTABLE_STRING, &[0xE9]),
            &tlv(tag::UTF8_STRING, "é".as_bytes())
        ));
        // White space only, and empty.
        assert!(eq(
            &tlv(tag::UTF8_STRING, b"   "),
            &tlv(tag::PRINTABLE_STRING, b"")
        ));

        let spaces: alloc::string::String = Spaces::new("  a \t b  c  ".chars()).collect();
        assert_eq!(spaces, "a b c");
    }

    #[test]
    fn multi_valued_rdns() {
        // Subject { CN=x + O=y } and constraints with the two attributes swapped/changed.
        let rdn = |attrs: &[(Oid<'static>, u8, &str)]| {
            let mut w = Writer::new();
            w.sequence(|w| {
                w.set(|w| {
                    for (o, t, v) in attrs {
                        w.sequence(|w| {
                            w.oid(o).tlv(*t, v.as_bytes());
                        });
                    }
                });
            });
            w.into_vec()
        };
        let subject = rdn(&[
            (oid::COMMON_NAME, tag::UTF8_STRING, "x"),
            (oid::ORGANIZATION, tag::UTF8_STRING, "y"),
        ]);
        let swapped = rdn(&[
            (oid::ORGANIZATION, tag::PRINTABLE_STRING, "Y"),
            (oid::COMMON_NAME, tag::UTF8_STRING, "x"),
        ]);
        let fewer = rdn(&[(oid::COMMON_NAME, tag::UTF8_STRING, "x")]);
        assert_eq!(dn_within(&subject, &subject, Mode::Permitted), Ok(true));
        assert_eq!(dn_within(&subject, &swapped, Mode::Permitted), Ok(false));
        assert_eq!(dn_within(&subject, &swapped, Mode::Excluded), Ok(true));
        assert_eq!(dn_within(&subject, &fewer, Mode::Excluded), Ok(false));
        assert_eq!(
            dn_within(&subject, &[0x30, 0x00], Mode::Permitted),
            Ok(true)
        );
        assert_eq!(dn_within(&[0x30, 0x00], &fewer, Mode::Excluded), Ok(false));
        assert_eq!(
            dn_within(&[0x30, 0x01], &fewer, Mode::Excluded),
            Err(E::Malformed)
        );
    }

    // -----------------------------------------------------------------------------
    // Forms that are not implemented, and undecodable names
    // -----------------------------------------------------------------------------

    #[test]
    fn unimplemented_forms_fail_closed() {
        let mut other = Writer::new();
        other
            .oid_dotted("1.3.6.1.4.1.311.20.2.3")
            .unwrap()
            .explicit(0, |w| {
                w.utf8_string("dev@corp");
            });
        let other = other.into_vec();
        let upn = raw_san(0xA0, &other);
        let rid = raw_san(0x88, &[0x2A, 0x03]);

        let on_other = nc(&[(0xA0, &other)], &[]);
        assert!(matches!(
            check(&on_other, &cert("CN=x", [upn.clone()])),
            Err(E::Unsupported(_))
        ));
        let ex_other = nc(&[], &[(0xA0, &other)]);
        assert!(matches!(
            check(&ex_other, &cert("CN=x", [upn.clone()])),
            Err(E::Unsupported(_))
        ));
        // Without a name of that form, or a constraint of that form: no problem.
        assert_eq!(check(&on_other, &cert("CN=x", [dns("a.test")])), Ok(()));
        assert_eq!(
            check(
                &nc(&[(DNS, b"a.test")], &[]),
                &cert("CN=x", [upn, dns("a.test")])
            ),
            Ok(())
        );

        let on_rid = nc(&[(0x88, &[0x2A, 0x03])], &[]);
        assert!(matches!(
            check(&on_rid, &cert("CN=x", [rid.clone()])),
            Err(E::Unsupported(_))
        ));
        assert_eq!(
            check(&nc(&[(DNS, b"a.test")], &[]), &cert("CN=x", [rid])),
            Ok(())
        );
        let on_x400 = nc(&[(0xA3, &[0x30, 0x00])], &[]);
        assert!(matches!(
            check(&on_x400, &cert("CN=x", [raw_san(0xA3, &[0x30, 0x00])])),
            Err(E::Unsupported(_))
        ));
        let on_edi = nc(&[(0xA5, &[0x30, 0x00])], &[]);
        assert!(matches!(
            check(&on_edi, &cert("CN=x", [raw_san(0xA5, &[0x30, 0x00])])),
            Err(E::Unsupported(_))
        ));
        assert_eq!(
            check(&on_edi, &cert("CN=x", [raw_san(0xA3, &[0x30, 0x00])])),
            Ok(())
        );
    }

    #[test]
    fn undecodable_names_are_malformed_under_any_constraint() {
        let unrelated = nc(&[(EMAIL, b"example.com")], &[]);
        let mut tested = 0;
        for san in [
            raw_san(0x82, "bü.example".as_bytes()),
            raw_san(0x82, b"a\x00b"),
            raw_san(0x81, b"tab\tx@example.com"),
            raw_san(0x86, &[0xFF]),
            raw_san(0xA0, &[0x06, 0x01, 0x2A]),
            raw_san(0x89, b"?"),
        ] {
            let Ok(c) = builder("CN=x").san(san.clone()).self_signed(&key()) else {
                continue; // mbedTLS refused the certificate itself
            };
            assert_eq!(check(&unrelated, &c), Err(E::Malformed), "{san:?}");
            tested += 1;
        }
        assert!(tested >= 4, "mbedTLS 3.6 parses all six");
        // A non-ASCII subject emailAddress under rfc822Name constraints.
        let c = cert("CN=x,emailAddress=öps@example.com", []);
        assert_eq!(check(&unrelated, &c), Err(E::Malformed));
        assert_eq!(check(&nc(&[(DNS, b"x.test")], &[]), &c), Ok(()));
    }

    // -----------------------------------------------------------------------------
    // Finding the extension in a CA certificate
    // -----------------------------------------------------------------------------

    #[test]
    fn of_reads_the_ca_extension() {
        let ca_key = key();
        let value = nc(&[(DNS, b".fleet.example")], &[(DNS, b"bad.fleet.example")]);
        let ca = builder("CN=Constrained CA")
            .ca(None)
            .raw_extension("2.5.29.30", false, value.clone())
            .self_signed(&ca_key)
            .unwrap();
        let ca = ca.first().unwrap();
        let constraints = NameConstraints::of(&ca).unwrap().unwrap();
        assert_eq!(constraints, NameConstraints::parse(&value).unwrap());

        let leaf_key = key();
        let issue = |sans: &[&str]| {
            builder("CN=device")
                .sans(sans.iter().map(|s| dns(s)))
                .signed_by(&leaf_key, ca, &ca_key)
                .unwrap()
        };
        assert_eq!(
            constraints.check(&issue(&["d1.fleet.example"]).first().unwrap()),
            Ok(())
        );
        assert_eq!(
            constraints.check(&issue(&["d1.other.example"]).first().unwrap()),
            not_permitted("dNSName")
        );
        assert_eq!(
            constraints.check(&issue(&["x.bad.fleet.example"]).first().unwrap()),
            excluded("dNSName")
        );

        // No extension.
        let plain = builder("CN=Plain CA")
            .ca(None)
            .self_signed(&ca_key)
            .unwrap();
        assert_eq!(NameConstraints::of(&plain.first().unwrap()), Ok(None));

        // Malformed value: an error, not "no constraints".
        let broken = builder("CN=Broken CA")
            .ca(None)
            .raw_extension("2.5.29.30", false, vec![0x30, 0x00])
            .self_signed(&ca_key)
            .unwrap();
        assert_eq!(
            NameConstraints::of(&broken.first().unwrap()),
            Err(E::Malformed)
        );

        // Critical: mbedTLS 3.6 refuses it unless the shim lets this one through; when the
        // certificate parses, the extension is found all the same.
        let der = builder("CN=Critical CA")
            .ca(None)
            .raw_extension("2.5.29.30", true, value.clone())
            .self_signed_der(&ca_key)
            .unwrap();
        if let Ok(critical) = CertChain::from_der(&der) {
            let found = NameConstraints::of(&critical.first().unwrap()).unwrap();
            assert_eq!(found, Some(NameConstraints::parse(&value).unwrap()));
        }
    }

    #[test]
    fn duplicate_or_malformed_extension_lists() {
        let value = nc(&[(DNS, b"example.com")], &[]);
        let list = |exts: &[(&Oid<'_>, &[u8])]| {
            let mut w = Writer::new();
            w.sequence(|w| {
                for (o, v) in exts {
                    w.sequence(|w| {
                        w.oid(o).octet_string(v);
                    });
                }
            });
            w.into_vec()
        };
        let from = |der: &[u8]| {
            NameConstraints::from_extensions(Extensions::from_der(der)).map(|o| o.is_some())
        };
        let ku = [0x03, 0x02, 0x01, 0x86];
        assert_eq!(from(&list(&[(&oid::KEY_USAGE, &ku)])), Ok(false));
        assert_eq!(
            from(&list(&[
                (&oid::KEY_USAGE, &ku),
                (&oid::NAME_CONSTRAINTS, &value)
            ])),
            Ok(true)
        );
        assert_eq!(
            from(&list(&[
                (&oid::NAME_CONSTRAINTS, &value),
                (&oid::NAME_CONSTRAINTS, &value)
            ])),
            Err(E::Duplicate)
        );
        let mut truncated = list(&[(&oid::NAME_CONSTRAINTS, &value)]);
        truncated.pop();
        assert_eq!(from(&truncated), Err(E::Malformed));
        assert_eq!(from(&[]), Ok(false));
    }

    #[test]
    fn errors_display() {
        assert_eq!(
            E::Excluded { form: "dNSName" }.to_string(),
            "dNSName excluded by the issuer's nameConstraints"
        );
        assert_eq!(
            E::NotPermitted { form: "iPAddress" }.to_string(),
            "iPAddress not permitted by the issuer's nameConstraints"
        );
        assert_eq!(
            E::Unsupported("x").to_string(),
            "unsupported by the nameConstraints check: x"
        );
        assert!(!E::Malformed.to_string().is_empty());
        assert!(!E::Duplicate.to_string().is_empty());
        let _: &dyn core::error::Error = &E::Malformed;
        assert_eq!(E::from(DerError::Truncated), E::Malformed);
    }

    #[test]
    fn matching_helpers() {
        assert!(dns_within(b"a.example.com", b"example.com"));
        assert!(dns_within(b"example.com", b"example.com"));
        assert!(!dns_within(b"badexample.com", b"example.com"));
        assert!(!dns_within(b"", b"example.com"));
        assert!(dns_within(b"", b""));
        assert!(!dns_within(b"example.com", b".example.com"));
        assert!(dns_within(b".example.com.x", b""));
        assert!(wildcard_may_match(b"example.com", b"foo.example.com"));
        assert!(!wildcard_may_match(b"example.com", b".foo.example.com"));
        assert!(!wildcard_may_match(b"example.com", b"a.b.example.com"));
        assert!(wildcard_may_match(b"", b"anything"));
        assert!(host_or_subdomains(b"Example.com", b"example.COM"));
        assert!(!host_or_subdomains(b"a.example.com", b"example.com"));
        assert!(host_or_subdomains(b"a.example.com", b".example.com"));
        assert!(!host_or_subdomains(b"example.com", b".example.com"));
        assert!(ip_within(&[10, 1, 2, 3], &[10, 0, 0, 0, 255, 0, 0, 0]));
        assert!(!ip_within(&[10, 1, 2, 3], &[10, 0, 0, 0, 255, 0, 0]));
        assert!(!ip_within(&[10, 1, 2, 3], &[0; 32]));
        assert_eq!(split_once(b"a@b@c", b'@'), Some((&b"a"[..], &b"b@c"[..])));
        assert_eq!(split_once(b"abc", b'@'), None);
        assert_eq!(trim_trailing_dots(b"a.b..."), b"a.b");
        assert!(looks_like_dns(b"a.b"));
        assert!(looks_like_dns(b"*.b"));
        assert!(!looks_like_dns(b"*."));
        assert!(!looks_like_dns(b"ab"));
        assert!(!looks_like_dns(b"a.*.b"));
    }

    #[test]
    fn never_panics_on_garbage() {
        let c = cert(
            "C=DE,O=Fleet,CN=dev.example.com,emailAddress=a@example.com",
            [
                dns("*.example.com"),
                email("a@example.com"),
                uri("https://example.com/"),
                ip("10.0.0.1"),
                ip("2001:db8::1"),
                raw_san(DIR, &name(&[("C", "DE")])),
            ],
        );
        let c = c.first().unwrap();
        // Mutations of a valid extension with every form, and random bytes.
        let dir = name(&[("C", "DE"), ("O", "Fleet")]);
        let seed_der = nc(
            &[
                (DNS, b"example.com"),
                (EMAIL, b"a@example.com"),
                (URI_TAG, b".example.com"),
                (IP, &[10, 0, 0, 0, 255, 0, 0, 0]),
                (DIR, &dir),
            ],
            &[(DNS, b"x.example.com"), (DIR, &[0x30, 0x00])],
        );
        let mut seed = 0x9E37_79B9u32;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        let mut parsed = 0;
        for round in 0..20_000 {
            let mut der = seed_der.clone();
            if round % 4 == 0 {
                let len = (rnd() % 48) as usize;
                der = (0..len).map(|_| rnd() as u8).collect();
            } else {
                for _ in 0..=(rnd() % 3) {
                    let i = rnd() as usize % der.len();
                    match rnd() % 3 {
                        0 => der[i] = rnd() as u8,
                        1 => der[i] ^= 1 << (rnd() % 8),
                        _ => der.truncate(i),
                    }
                    if der.is_empty() {
                        break;
                    }
                }
            }
            if let Ok(constraints) = NameConstraints::parse(&der) {
                parsed += 1;
                let _ = constraints.check(&c);
            }
        }
        assert!(parsed > 0);
    }
}

/// Attacks by whoever controls the names of a certificate below a constrained CA: each
/// test is one trick, kept as a regression test whether it was a hole (fixed) or not.
#[cfg(test)]
mod adversarial_tests {
    // Helpers shared with `tests`.
    use super::tests::{
        DIR, DNS, EMAIL, IP, URI_TAG, cert, check, dns, email, excluded, ip, nc, not_permitted, uri,
    };
    use super::*;
    use crate::der::Writer;
    use crate::issue::{CertificateBuilder, San};
    use crate::pk::{KeyType, PrivateKey};
    use crate::x509::CertChain;
    use alloc::format;
    use alloc::string::String;
    use alloc::vec::Vec;

    type E = NameConstraintError;

    /// As the verify callback runs it where mbedTLS's hostname check is the only one.
    fn check_foreign(constraints: &[u8], c: &CertChain) -> Result<(), E> {
        NameConstraints::parse(constraints).unwrap().check_names(
            &c.first().unwrap(),
            true,
            &Budget::new(),
        )
    }

    fn unsupported(r: Result<(), E>) -> bool {
        matches!(r, Err(E::Unsupported(_)))
    }

    fn ipv4(net: [u8; 4], mask: [u8; 4]) -> Vec<u8> {
        [net, mask].concat()
    }

    /// `2.5.4.10=#<DER>`: an organizationName of any string type, as mbedTLS writes it.
    fn o_attr(string_tag: u8, value: &[u8]) -> String {
        let mut w = Writer::new();
        w.tlv(string_tag, value);
        let hex: String = w.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
        format!("2.5.4.10=#{hex}")
    }

    // -----------------------------------------------------------------------------
    // dNSName
    // -----------------------------------------------------------------------------

    #[test]
    fn case_and_trailing_dots_do_not_escape_a_subtree() {
        let ex = nc(&[], &[(DNS, b"bank.example")]);
        for name in [
            "BANK.EXAMPLE",
            "bank.example.",
            "Www.Bank.Example.",
            "*.BANK.example",
        ] {
            assert_eq!(
                check(&ex, &cert("CN=x", [dns(name)])),
                excluded("dNSName"),
                "{name}"
            );
        }
        let permit = nc(&[(DNS, b".fleet.example")], &[]);
        assert_eq!(
            check(&permit, &cert("CN=x", [dns("GW.FLEET.EXAMPLE.")])),
            Ok(())
        );
        // The subtree's own name is not one of its strict subdomains, in any case.
        assert_eq!(
            check(&permit, &cert("CN=x", [dns("FLEET.example.")])),
            not_permitted("dNSName")
        );
        // A label boundary is needed: no suffix match inside a label.
        assert_eq!(
            check(&permit, &cert("CN=x", [dns("evilfleet.example")])),
            not_permitted("dNSName")
        );
    }

    #[test]
    fn dns_names_that_are_not_host_names_fail_closed() {
        let permit = nc(&[(DNS, b".fleet.example")], &[]);
        let ex = nc(&[], &[(DNS, b"bank.example")]);
        for name in [
            "bank.example/.fleet.example",
            "bank.example%2e.fleet.example",
            "bank.example .fleet.example",
            "bank.example..",
            ".bank.example",
            "*.*.bank.example",
            "a*.bank.example",
            "*",
            "bank.example:443",
        ] {
            for constraints in [&permit, &ex] {
                assert_eq!(
                    check(constraints, &cert("CN=x", [dns(name)])),
                    Err(E::Malformed),
                    "{name}"
                );
            }
        }
        // IDNA: a U-label is not printable ASCII (undecodable, malformed under any
        // constraint); the A-label is an ordinary host name.
        let u_label = San::Raw {
            tag: DNS,
            contents: "bänk.fleet.example".as_bytes().to_vec(),
        };
        assert_eq!(check(&permit, &cert("CN=x", [u_label])), Err(E::Malformed));
        assert_eq!(
            check(&permit, &cert("CN=x", [dns("xn--bnk-sna.fleet.example")])),
            Ok(())
        );
        assert_eq!(
            check(
                &nc(&[], &[(DNS, b"xn--bnk-sna.example")]),
                &cert("CN=x", [dns("XN--BNK-SNA.example")])
            ),
            excluded("dNSName")
        );
        // A constructed [2] (mbedTLS reads the tag number only and matches it as a
        // dNSName) is not a dNSName to the crate: malformed, never unchecked.
        let constructed = San::Raw {
            tag: 0xA2,
            contents: b"bank.example".to_vec(),
        };
        if let Ok(c) = CertificateBuilder::new("CN=x")
            .san(constructed)
            .self_signed(&PrivateKey::generate(KeyType::EcdsaP256).unwrap())
        {
            assert_eq!(check(&permit, &c), Err(E::Malformed));
        }
    }

    #[test]
    fn wildcards_against_excluded_and_permitted_subtrees() {
        let ex = nc(&[], &[(DNS, b"bank.example")]);
        // Excluded as soon as one name the wildcard can match is.
        for name in ["*.example", "*.bank.example", "*.Example."] {
            assert_eq!(
                check(&ex, &cert("CN=x", [dns(name)])),
                excluded("dNSName"),
                "{name}"
            );
        }
        // One label only: `*.example` cannot match `www.bank.example`.
        let sub = nc(&[], &[(DNS, b".bank.example")]);
        assert_eq!(check(&sub, &cert("CN=x", [dns("*.example")])), Ok(()));
        assert_eq!(
            check(&sub, &cert("CN=x", [dns("*.bank.example")])),
            excluded("dNSName")
        );
        // The empty constraint excludes every wildcard too.
        assert_eq!(
            check(&nc(&[], &[(DNS, b"")]), &cert("CN=x", [dns("*.a.b")])),
            excluded("dNSName")
        );
        // Permitted only if every name it can match is.
        let one = nc(&[(DNS, b"gw.fleet.example")], &[]);
        assert_eq!(
            check(&one, &cert("CN=x", [dns("*.fleet.example")])),
            not_permitted("dNSName")
        );
        for c in [b".fleet.example".as_slice(), b"fleet.example"] {
            assert_eq!(
                check(
                    &nc(&[(DNS, c)], &[]),
                    &cert("CN=x", [dns("*.fleet.example")])
                ),
                Ok(())
            );
            assert_eq!(
                check(&nc(&[(DNS, c)], &[]), &cert("CN=x", [dns("*.example")])),
                not_permitted("dNSName")
            );
        }
        // As a commonName without SAN (mbedTLS's fallback honours wildcards too).
        assert_eq!(
            check(&ex, &cert("CN=*.example", [])),
            excluded("subject commonName (as dNSName)")
        );
    }

    // -----------------------------------------------------------------------------
    // Names mbedTLS compares with the hostname
    // -----------------------------------------------------------------------------

    #[test]
    fn uri_sans_mbedtls_compares_with_the_hostname() {
        let permit = nc(&[(DNS, b".fleet.example")], &[]);
        for host in ["bank.example", "gateway", "BANK.example."] {
            assert_eq!(
                check(&permit, &cert("CN=x", [dns("a.fleet.example"), uri(host)])),
                not_permitted("uniformResourceIdentifier (as dNSName)"),
                "{host}"
            );
        }
        assert_eq!(
            check(&permit, &cert("CN=x", [uri("x.fleet.example")])),
            Ok(())
        );
        let ex4 = nc(&[], &[(IP, &ipv4([10, 0, 0, 0], [255, 0, 0, 0]))]);
        assert_eq!(
            check(&ex4, &cert("CN=x", [uri("10.0.0.1")])),
            excluded("uniformResourceIdentifier (as iPAddress)")
        );
        assert!(unsupported(check(&ex4, &cert("CN=x", [uri("10.1")]))));
        let mut fe80 = [0u8; 32];
        fe80[..2].copy_from_slice(&[0xFE, 0x80]);
        fe80[16..18].copy_from_slice(&[0xFF, 0xC0]);
        let ex6 = nc(&[], &[(IP, &fe80)]);
        assert_eq!(
            check(&ex6, &cert("CN=x", [uri("fe80::1")])),
            excluded("uniformResourceIdentifier (as iPAddress)")
        );
        // Real URIs contain a scheme and ':', so they are never host names.
        for real in [
            "https://bank.example/",
            "spiffe://bank.example/w/1",
            "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66",
            "mailto:ceo@bank.example",
        ] {
            assert_eq!(check(&permit, &cert("CN=x", [uri(real)])), Ok(()), "{real}");
            assert_eq!(check(&ex4, &cert("CN=x", [uri(real)])), Ok(()), "{real}");
        }
    }

    #[test]
    fn common_names_mbedtls_falls_back_to() {
        let permit = nc(&[(DNS, b".fleet.example")], &[]);
        let cn = "subject commonName (as dNSName)";
        // A single label: not a host name to `check` (the crate's clients never use the
        // commonName), but one where mbedTLS's check is the only one.
        for subject in ["CN=gateway", "CN=localhost", "CN=device-1", "CN=GW_1"] {
            assert_eq!(check(&permit, &cert(subject, [])), Ok(()), "{subject}");
            assert_eq!(
                check_foreign(&permit, &cert(subject, [])),
                not_permitted(cn),
                "{subject}"
            );
        }
        // mbedTLS uses the commonName only without subjectAltName: with any SAN, a
        // single-label commonName is left alone.
        assert_eq!(
            check_foreign(&permit, &cert("CN=gateway", [email("ops@fleet.example")])),
            Ok(())
        );
        // Not host names, whatever the mode: mbedTLS compares the whole value with the
        // hostname, which has no space or '@'.
        for subject in ["CN=John Smith", "CN=ops@bank.example", "CN=bank.example x"] {
            assert_eq!(
                check_foreign(&permit, &cert(subject, [])),
                Ok(()),
                "{subject}"
            );
        }
        // An embedded NUL (mbedTLS will not write one): never a host name, and
        // mbedTLS compares lengths, so it cannot match a hostname either.
        assert!(!looks_like_host(b"bank.example\0.fleet.example"));
        assert!(!looks_like_dns(b"bank.example\0.fleet.example"));
        // A dotted commonName is checked in both modes, in any string type.
        for subject in ["CN=bank.example", "2.5.4.3=#130c62616e6b2e6578616d706c65"] {
            assert_eq!(check(&permit, &cert(subject, [])), not_permitted(cn));
            assert_eq!(
                check_foreign(&permit, &cert(subject, [])),
                not_permitted(cn)
            );
        }
        // A commonName that reads as an IPv4 address, under iPAddress constraints.
        let ex4 = nc(&[], &[(IP, &ipv4([10, 0, 0, 0], [255, 0, 0, 0]))]);
        assert_eq!(
            check(&ex4, &cert("CN=10.0.0.1", [])),
            excluded("subject commonName (as iPAddress)")
        );
        assert!(unsupported(check(&ex4, &cert("CN=10.1", []))));
        assert!(unsupported(check_foreign(&ex4, &cert("CN=167772161", []))));
    }

    #[test]
    fn host_names_that_read_as_ipv4_addresses() {
        let ex4 = nc(&[], &[(IP, &ipv4([10, 0, 0, 0], [255, 0, 0, 0]))]);
        for name in [
            "10.1",
            "10.0.1",
            "167772161",
            "0x0a.0.0.1",
            "0XA000001",
            "10.0.0.1.",
            "x.0x",
            "a.b.1",
        ] {
            assert!(
                unsupported(check(&ex4, &cert("CN=x", [dns(name)]))),
                "{name}"
            );
            // Without iPAddress constraints they are ordinary host names.
            assert_eq!(
                check(&nc(&[(DNS, b"")], &[]), &cert("CN=x", [dns(name)])),
                Ok(()),
                "{name}"
            );
        }
        for name in ["a.b1", "x.0xg", "1.example", "10.0.0.9.example"] {
            assert!(!ends_in_a_number(name.as_bytes()), "{name}");
            assert_eq!(check(&ex4, &cert("CN=x", [dns(name)])), Ok(()), "{name}");
        }
        // A canonical address is checked as one (and so excluded, not unsupported).
        assert_eq!(
            check(&ex4, &cert("CN=x", [dns("10.0.0.1")])),
            excluded("dNSName (as iPAddress)")
        );
    }

    // -----------------------------------------------------------------------------
    // iPAddress
    // -----------------------------------------------------------------------------

    #[test]
    fn ipv4_mapped_ipv6_addresses_and_excluded_subtrees() {
        let ex4 = nc(&[], &[(IP, &ipv4([10, 0, 0, 0], [255, 0, 0, 0]))]);
        for name in ["::ffff:10.0.0.1", "::FFFF:a00:1", "0:0:0:0:0:ffff:10.1.2.3"] {
            assert_eq!(
                check(&ex4, &cert("CN=x", [ip(name)])),
                excluded("iPAddress"),
                "{name}"
            );
            // As a dNSName (not a host name, but an address to mbedTLS and to us).
            assert_eq!(
                check(&ex4, &cert("CN=x", [dns(name)])),
                excluded("dNSName (as iPAddress)"),
                "{name}"
            );
        }
        assert_eq!(check(&ex4, &cert("CN=x", [ip("::ffff:192.0.2.1")])), Ok(()));
        // IPv4-compatible (deprecated) and NAT64 addresses are other IPv6 addresses.
        assert_eq!(check(&ex4, &cert("CN=x", [ip("::10.0.0.1")])), Ok(()));
        assert_eq!(check(&ex4, &cert("CN=x", [ip("64:ff9b::a00:1")])), Ok(()));
        // An IPv4 address under an exclusion written as IPv4-mapped IPv6.
        let mut mapped = [0u8; 32];
        mapped[10..13].copy_from_slice(&[0xFF, 0xFF, 10]);
        mapped[16..29].fill(0xFF); // ::ffff:10.0.0.0/104
        let ex6 = nc(&[], &[(IP, &mapped)]);
        assert_eq!(
            check(&ex6, &cert("CN=x", [ip("10.9.8.7")])),
            excluded("iPAddress")
        );
        assert_eq!(check(&ex6, &cert("CN=x", [ip("11.0.0.1")])), Ok(()));
        // Permitted subtrees stay per family (a mapped address is not permitted by an
        // IPv4 subtree alone: rejected, which errs on the safe side).
        let p4 = nc(&[(IP, &ipv4([10, 0, 0, 0], [255, 0, 0, 0]))], &[]);
        assert_eq!(
            check(&p4, &cert("CN=x", [ip("::ffff:10.0.0.1")])),
            not_permitted("iPAddress")
        );
    }

    // -----------------------------------------------------------------------------
    // rfc822Name
    // -----------------------------------------------------------------------------

    #[test]
    fn mailbox_quoting_and_several_at_signs() {
        let permit = nc(&[(EMAIL, b"fleet.example")], &[]);
        let ex = nc(&[], &[(EMAIL, b"ceo@fleet.example")]);
        for mailbox in [
            "\"a@b\"@evil.test",
            "a@evil.test@fleet.example",
            "a@fleet.example@evil.test",
            "@fleet.example@",
            "no-at-sign",
        ] {
            for constraints in [&permit, &ex] {
                assert_eq!(
                    check(constraints, &cert("CN=x", [email(mailbox)])),
                    Err(E::Malformed),
                    "{mailbox}"
                );
            }
        }
        assert_eq!(
            check(&permit, &cert("CN=x", [email("a@FLEET.Example.")])),
            Ok(())
        );
        assert_eq!(
            check(&ex, &cert("CN=x", [email("ceo@FLEET.EXAMPLE.")])),
            excluded("rfc822Name")
        );
        // The local part is case-sensitive (RFC 5280 4.2.1.10: a mailbox constraint is
        // that one mailbox).
        assert_eq!(
            check(&ex, &cert("CN=x", [email("CEO@fleet.example")])),
            Ok(())
        );
        // The subject's emailAddress, in any string type with ASCII contents.
        for subject in [
            "CN=x,emailAddress=ceo@fleet.example",
            "CN=x,1.2.840.113549.1.9.1=#0c1163656f40666c6565742e6578616d706c65",
        ] {
            assert_eq!(
                check(&ex, &cert(subject, [])),
                excluded("subject emailAddress (as rfc822Name)"),
                "{subject}"
            );
        }
    }

    // -----------------------------------------------------------------------------
    // uniformResourceIdentifier
    // -----------------------------------------------------------------------------

    #[test]
    fn uri_parsing_tricks() {
        for (u, host) in [
            // userinfo: everything up to the last '@' (as URL parsers read it).
            ("https://bank.example@x.test/", Some("x.test")),
            ("https://u:p@x.test:8443/", Some("x.test")),
            ("https://bank.example:443@x.test", Some("x.test")),
            ("https://u%40v@x.test", Some("x.test")),
            // A backslash ends the authority for WHATWG parsers: refused.
            ("https://bank.example\\@x.test/", None),
            ("https://x.test\\@bank.example/", None),
            ("https://x.test\\.bank.example/", None),
            ("https:\\\\bank.example", None),
            // The authority ends at the first '/', '?' or '#'.
            ("https://bank.example#@x.test", Some("bank.example")),
            ("https://bank.example?@x.test", Some("bank.example")),
            ("https://bank.example/@x.test", Some("bank.example")),
            // Ports: digits only, one colon.
            ("https://x.test:443:80/", None),
            ("https://x.test:+1/", None),
            ("https://x.test:/", Some("x.test")),
            // No authority, an IP literal, percent-encoding, odd bytes.
            ("https:bank.example", None),
            ("https:/bank.example", None),
            ("https:///bank.example", None),
            ("https://[::ffff:10.0.0.1]/", None),
            ("https://bank%2Eexample/", None),
            ("https://bank.example%00.x.test/", None),
            ("https://u\"@x.test/", None),
        ] {
            assert_eq!(uri_host(u.as_bytes()), host.map(str::as_bytes), "{u}");
        }
        let ex = nc(&[], &[(URI_TAG, b"bank.example")]);
        for u in [
            "https://x.test\\@bank.example/",
            "https://bank.example\\@x.test/",
        ] {
            assert!(unsupported(check(&ex, &cert("CN=x", [uri(u)]))), "{u}");
        }
        assert_eq!(
            check(&ex, &cert("CN=x", [uri("HTTPS://BANK.EXAMPLE.:443/")])),
            excluded("uniformResourceIdentifier")
        );
    }

    // -----------------------------------------------------------------------------
    // directoryName
    // -----------------------------------------------------------------------------

    #[test]
    fn directory_names_against_an_excluded_subtree() {
        let mut w = Writer::new();
        w.sequence(|w| {
            for (o, t, v) in [
                (oid::COUNTRY, tag::PRINTABLE_STRING, "US"),
                (oid::ORGANIZATION, tag::UTF8_STRING, "Bank"),
            ] {
                w.set(|w| {
                    w.sequence(|w| {
                        w.oid(&o).tlv(t, v.as_bytes());
                    });
                });
            }
        });
        let ex = nc(&[], &[(DIR, w.as_bytes())]);
        // (mbedTLS will not write a BMPString value; `loose_value_comparison` covers it.)
        let subjects = [
            String::from("C=US,O=BANK,CN=x"),
            String::from("C=us,O=  bank ,CN=x"),
            format!("C=US,{},CN=x", o_attr(tag::PRINTABLE_STRING, b"Bank")),
            format!("C=US,{},CN=x", o_attr(tag::IA5_STRING, b"bank")),
            // Invisible characters LDAP StringPrep maps to nothing.
            format!(
                "C=US,{},CN=x",
                o_attr(tag::UTF8_STRING, "Ba\u{AD}nk".as_bytes())
            ),
            format!(
                "C=US,{},CN=x",
                o_attr(tag::UTF8_STRING, "B\u{200B}ank".as_bytes())
            ),
            format!(
                "C=US,{},CN=x",
                o_attr(tag::UTF8_STRING, "\u{FEFF}Bank\u{2060}".as_bytes())
            ),
            // Fullwidth letters (NFKC).
            format!(
                "C=US,{},CN=x",
                o_attr(tag::UTF8_STRING, "Ｂａｎｋ".as_bytes())
            ),
            // White space of other kinds.
            format!(
                "C=US,{},CN=x",
                o_attr(tag::UTF8_STRING, "\u{3000}Bank\u{A0}".as_bytes())
            ),
        ];
        for subject in &subjects {
            assert_eq!(
                check(&ex, &cert(subject, [])),
                excluded("subject (as directoryName)"),
                "{subject}"
            );
            // Also as a directoryName SAN of a certificate with another subject.
            let c = cert(subject, []);
            let der = c.first().unwrap().subject().der().to_vec();
            assert_eq!(
                check(
                    &ex,
                    &cert(
                        "CN=y",
                        [San::Raw {
                            tag: DIR,
                            contents: der
                        }]
                    )
                ),
                excluded("directoryName"),
                "{subject}"
            );
        }
        // Different text is different: a homoglyph (Cyrillic 'а') is another name.
        let other = format!(
            "C=US,{},CN=x",
            o_attr(tag::UTF8_STRING, "B\u{430}nk".as_bytes())
        );
        assert_eq!(check(&ex, &cert(&other, [])), Ok(()));
        // Order matters (a subtree is a prefix of RDNs, RFC 5280 7.1): `CN=x` first, or
        // a multi-valued `O=Bank+CN=x` RDN, is another subtree. The `multi_valued_rdns`
        // test holds the second; an attribute-based allow rule is not a subtree.
        assert_eq!(check(&ex, &cert("CN=x,C=US,O=Bank", [])), Ok(()));
    }

    #[test]
    fn mapped_to_nothing_leaves_visible_text_alone() {
        for c in [
            '\u{AD}',
            '\u{200B}',
            '\u{200D}',
            '\u{FEFF}',
            '\u{FE0F}',
            '\u{E0041}',
        ] {
            assert!(mapped_to_nothing(c), "{c:?}");
        }
        for c in ['a', ' ', '\t', '\n', '\u{85}', '\u{A0}', 'é', '\u{430}'] {
            assert!(!mapped_to_nothing(c), "{c:?}");
        }
        assert_eq!(narrow('Ｂ'), 'B');
        assert_eq!(narrow('～'), '~');
        assert_eq!(narrow('！'), '!');
        assert_eq!(narrow('｟'), '｟');
        assert_eq!(narrow('a'), 'a');
    }

    // -----------------------------------------------------------------------------
    // RFC 5280 semantics
    // -----------------------------------------------------------------------------

    #[test]
    fn forms_without_constraints_are_unrestricted_and_lists_combine() {
        let dns_only = nc(&[(DNS, b"fleet.example")], &[]);
        // Names of other forms pass, whatever they say.
        assert_eq!(
            check(
                &dns_only,
                &cert(
                    "CN=x",
                    [
                        dns("a.fleet.example"),
                        email("ceo@bank.example"),
                        uri("https://bank.example/"),
                        ip("10.0.0.1"),
                    ]
                )
            ),
            Ok(())
        );
        // A form with a permitted subtree but no name of that form: nothing to check.
        let ip_only = nc(&[(IP, &ipv4([10, 0, 0, 0], [255, 0, 0, 0]))], &[]);
        assert_eq!(
            check(&ip_only, &cert("CN=x", [dns("bank.example")])),
            Ok(())
        );
        // The empty dNSName subtree: permitted covers all, excluded excludes all.
        assert_eq!(
            check(&nc(&[(DNS, b"")], &[]), &cert("CN=x", [dns("any.where")])),
            Ok(())
        );
        assert_eq!(
            check(&nc(&[], &[(DNS, b"")]), &cert("CN=x", [dns("any.where")])),
            excluded("dNSName")
        );
        // Every name of a constrained form must be permitted, not just one.
        assert_eq!(
            check(
                &dns_only,
                &cert("CN=x", [dns("a.fleet.example"), dns("bank.example")])
            ),
            not_permitted("dNSName")
        );
        // Excluded wins over permitted within the same extension.
        let both = nc(&[(DNS, b"fleet.example")], &[(DNS, b"db.fleet.example")]);
        assert_eq!(
            check(&both, &cert("CN=x", [dns("x.db.fleet.example")])),
            excluded("dNSName")
        );
        // A permitted subtree of one form does not permit names of another.
        let uri_host = nc(&[(URI_TAG, b"fleet.example")], &[]);
        assert_eq!(
            check(&uri_host, &cert("CN=x", [uri("https://bank.example/")])),
            not_permitted("uniformResourceIdentifier")
        );
    }
}
