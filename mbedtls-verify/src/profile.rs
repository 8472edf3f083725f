//! The security profile of certificate verification (`mbedtls_x509_crt_profile`), typed:
//! which hashes and key algorithms may sign certificates, which curves, and the
//! minimum RSA size ([`SecurityProfile`]); and the structural rules every certificate of
//! a built path must meet ([`Profile`], [`Rule`]).

use alloc::vec::Vec;

use crate::der::{DerError, Oid, Reader, oid, tag};
pub use crate::rules::{Rule, Rules};
use crate::sys;
use crate::x509::{
    AttributeKind, BasicConstraints, CertRef, Crl, Extension, Extensions, IpAddress, Presence,
    PublicKeyAlgorithm, SubjectAltName, quick_find_extension,
};

bitflags::bitflags! {
    /// Hashes allowed in certificate signatures.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct Hashes: u32 {
        /// Legacy: collisions are practical. Never in the default profile.
        const SHA1 = id_flag(sys::MBEDTLS_MD_SHA1);
        /// SHA-224.
        const SHA224 = id_flag(sys::MBEDTLS_MD_SHA224);
        /// SHA-256.
        const SHA256 = id_flag(sys::MBEDTLS_MD_SHA256);
        /// SHA-384.
        const SHA384 = id_flag(sys::MBEDTLS_MD_SHA384);
        /// SHA-512.
        const SHA512 = id_flag(sys::MBEDTLS_MD_SHA512);
    }
}

bitflags::bitflags! {
    /// Public-key algorithms allowed to sign certificates.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct KeyAlgorithms: u32 {
        /// RSA PKCS #1 v1.5.
        const RSA = id_flag(sys::MBEDTLS_PK_RSA);
        /// RSASSA-PSS.
        const RSA_PSS = id_flag(sys::MBEDTLS_PK_RSASSA_PSS);
        /// ECDSA (both the generic EC key and the ECDSA-only type).
        const ECDSA = id_flag(sys::MBEDTLS_PK_ECKEY) | id_flag(sys::MBEDTLS_PK_ECDSA);
    }
}

bitflags::bitflags! {
    /// Elliptic curves allowed for certificate keys.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct Curves: u32 {
        /// NIST P-256.
        const P256 = id_flag(sys::MBEDTLS_ECP_DP_SECP256R1);
        /// NIST P-384.
        const P384 = id_flag(sys::MBEDTLS_ECP_DP_SECP384R1);
        /// NIST P-521.
        const P521 = id_flag(sys::MBEDTLS_ECP_DP_SECP521R1);
    }
}

/// `MBEDTLS_X509_ID_FLAG(id)`.
const fn id_flag(id: u32) -> u32 {
    1 << (id - 1)
}

/// What may sign certificates in a chain, and how strong keys must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecurityProfile {
    /// Hashes allowed in certificate signatures.
    pub hashes: Hashes,
    /// Public-key algorithms allowed to sign certificates.
    pub key_algorithms: KeyAlgorithms,
    /// Curves allowed for EC keys in the chain.
    pub curves: Curves,
    /// Minimum RSA modulus size in bits.
    pub min_rsa_bits: u32,
    /// The structural rules every certificate of the path must meet.
    pub rules: Profile,
}

impl SecurityProfile {
    /// SHA-256/384/512, RSA (PKCS#1 v1.5 and PSS) of 2048 bits or more, ECDSA on
    /// P-256/P-384/P-521. mbedTLS's own default also allows SHA-224; this does not.
    pub const DEFAULT: SecurityProfile = SecurityProfile {
        hashes: Hashes::SHA256.union(Hashes::SHA384).union(Hashes::SHA512),
        key_algorithms: KeyAlgorithms::all(),
        curves: Curves::all(),
        min_rsa_bits: 2048,
        rules: Profile::PrivateFleet,
    };

    /// NSA Suite B-like: ECDSA on P-256/P-384 with SHA-256/384 only.
    pub const SUITE_B: SecurityProfile = SecurityProfile {
        hashes: Hashes::SHA256.union(Hashes::SHA384),
        key_algorithms: KeyAlgorithms::ECDSA,
        curves: Curves::P256.union(Curves::P384),
        min_rsa_bits: u32::MAX,
        rules: Profile::PrivateFleet,
    };

    /// The same algorithms with other structural rules.
    pub const fn with_rules(mut self, rules: Profile) -> Self {
        self.rules = rules;
        self
    }

    pub(crate) fn to_c(self) -> sys::mv_profile {
        sys::mv_profile {
            allowed_mds: self.hashes.bits(),
            allowed_pks: self.key_algorithms.bits(),
            allowed_curves: self.curves.bits(),
            rsa_min_bitlen: self.min_rsa_bits,
        }
    }
}

impl Default for SecurityProfile {
    fn default() -> Self {
        Self::DEFAULT
    }
}

// ---------------------------------------------------------------------------------
// Certificate profiles: structural rules on every certificate of the built path
// ---------------------------------------------------------------------------------

/// Which structural rules every certificate of a built path must meet, named by what the
/// verification is for. Applied in the verify trampoline (offline verifier, TLS client,
/// TLS server, `ssl::external`) before the hook; a failure is fatal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Profile {
    /// The default, for private device fleets: every rule that protects the trust
    /// decision (well-formed extensions, sane serials, keyCertSign only in CAs,
    /// nameConstraints only in CAs), none of the bookkeeping rules that common device-CA
    /// tools break without weakening anything (missing AKI/SKI, non-critical
    /// basicConstraints or nameConstraints — this crate reads both either way).
    #[default]
    PrivateFleet,
    /// Every RFC 5280 structural rule this crate knows.
    Rfc5280Strict,
    /// A TLS client verifying public (Web PKI) servers: RFC 5280 strict plus the CA/B
    /// Forum Baseline Requirements' subscriber and root rules.
    WebPkiClient,
    /// Exactly these rules.
    Custom(Rules),
}

impl Profile {
    const PRIVATE_FLEET: Rules = Rules::WELL_FORMED_EXTENSIONS
        .union(Rules::SERIAL_NUMBER)
        .union(Rules::KEY_CERT_SIGN_NEEDS_CA)
        .union(Rules::NAME_CONSTRAINTS_ONLY_IN_CA);
    const RFC5280_STRICT: Rules = Profile::PRIVATE_FLEET
        .union(Rules::AKI_NON_CRITICAL)
        .union(Rules::AKI_PRESENT)
        .union(Rules::SKI_NON_CRITICAL)
        .union(Rules::SKI_IN_CA)
        .union(Rules::CA_BASIC_CONSTRAINTS_CRITICAL)
        .union(Rules::NAME_CONSTRAINTS_CRITICAL)
        .union(Rules::SAN_CRITICAL_IF_SUBJECT_EMPTY)
        .union(Rules::POLICY_CONSTRAINTS_CRITICAL)
        .union(Rules::DNS_NAME_SYNTAX)
        .union(Rules::CRL_NUMBER)
        .union(Rules::CRL_PROFILE);
    const WEBPKI_CLIENT: Rules = Profile::RFC5280_STRICT
        .union(Rules::LEAF_SERVER_AUTH)
        .union(Rules::LEAF_NO_ANY_EKU)
        .union(Rules::LEAF_EKU_NON_CRITICAL)
        .union(Rules::LEAF_NOT_CA)
        .union(Rules::ANCHOR_NO_EKU)
        .union(Rules::SAN_NON_CRITICAL_WITH_SUBJECT)
        .union(Rules::AKI_KEY_ID_ONLY)
        .union(Rules::ANCHOR_AKI_MATCHES_SKI)
        .union(Rules::RSA_MODULUS_MULTIPLE_OF_8);

    /// The rules this profile enforces.
    pub const fn rules(self) -> Rules {
        match self {
            Profile::PrivateFleet => Profile::PRIVATE_FLEET,
            Profile::Rfc5280Strict => Profile::RFC5280_STRICT,
            Profile::WebPkiClient => Profile::WEBPKI_CLIENT,
            Profile::Custom(r) => r,
        }
    }

    /// Check one certificate of a built path. `leaf`: the peer's own certificate;
    /// `anchor`: the trusted top of the path (both for a pinned self-signed leaf).
    /// Allocates nothing.
    pub fn check(self, cert: &CertRef<'_>, leaf: bool, anchor: bool) -> Result<(), Rule> {
        check_certificate(self.rules(), cert, leaf, anchor)
    }
}

/// The issuer Name (its DER, tag included) of a CRL, for matching it with a CA.
pub(crate) fn crl_issuer(crl: &[u8]) -> Option<&[u8]> {
    let mut r = Reader::new(crl);
    let mut list = r.read_sequence().ok()?;
    let mut tbs = list.read_sequence().ok()?;
    if tbs.peek_tag() == Some(tag::INTEGER) {
        tbs.read_tlv().ok()?;
    }
    tbs.read_sequence().ok()?;
    tbs.read_tlv()
        .ok()
        .filter(|t| t.tag == tag::SEQUENCE)
        .map(|t| t.raw)
}

/// Check one CRL (its DER) against the CRL rules in `rules` ([`Rule::CrlNumber`],
/// [`Rule::CrlProfile`]). Allocates nothing.
pub fn check_crl(rules: Rules, crl: &[u8]) -> Result<(), Rule> {
    if !rules.intersects(Rules::CRL_NUMBER | Rules::CRL_PROFILE) {
        return Ok(());
    }
    crl_facts(crl).judge(rules)
}

/// What the CRL rules need to know of one CRL, whatever the rules: read once, judged
/// under any [`Rules`] by [`judge`](Self::judge).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CrlFacts {
    /// The CRL reads strictly.
    readable: bool,
    /// cRLNumber present, non-critical, non-negative, at most 20 octets.
    number_ok: bool,
    /// v2, nextUpdate, AKI with a keyIdentifier and non-critical, inner = outer
    /// signature algorithm, a non-empty issuer.
    profile_ok: bool,
}

/// Read what the CRL rules need of one CRL (its DER).
fn crl_facts(crl: &[u8]) -> CrlFacts {
    #[derive(Default)]
    struct Found {
        number: Option<bool>,
        aki: Option<bool>,
        next_update: bool,
        v2: bool,
        same_alg: bool,
        issuer_empty: bool,
    }
    let read = || -> Result<Found, DerError> {
        let mut f = Found::default();
        let mut r = Reader::new(crl);
        let mut list = r.read_sequence()?;
        r.finish()?;
        let mut tbs = list.read_sequence()?;
        let outer_alg = list.read_tlv()?;
        list.read(tag::BIT_STRING)?;
        list.finish()?;
        if tbs.peek_tag() == Some(tag::INTEGER) {
            f.v2 = tbs.read_u64()? == 1;
        }
        let inner_alg = tbs.read_tlv()?;
        f.same_alg = inner_alg.raw == outer_alg.raw;
        let issuer = tbs.read_sequence()?;
        f.issuer_empty = issuer.is_empty();
        tbs.read_tlv()?; // thisUpdate
        if matches!(tbs.peek_tag(), Some(tag::UTC_TIME | tag::GENERALIZED_TIME)) {
            tbs.read_tlv()?;
            f.next_update = true;
        }
        if tbs.peek_tag() == Some(tag::SEQUENCE) {
            tbs.read_sequence()?; // revokedCertificates (mbedTLS reads the entries)
        }
        if let Some(exts) = tbs.read_optional(tag::context(0, true))? {
            let mut known = 0u8;
            for ext in Extensions::from_der(exts) {
                let ext = ext?;
                let bit = if ext.oid == oid::CRL_NUMBER {
                    let mut v = Reader::new(ext.value);
                    let n = v.read_integer()?;
                    v.finish()?;
                    f.number = Some(!ext.critical && serial_or_number_ok(n, true));
                    1
                } else if ext.oid == oid::AUTHORITY_KEY_IDENTIFIER {
                    let mut seen = Seen::default();
                    read_known(&ext, &mut seen)?;
                    f.aki = Some(!ext.critical && seen.aki.is_some_and(|a| a.key_id.is_some()));
                    2
                } else if ext.oid == oid::ISSUER_ALT_NAME {
                    read_known(&ext, &mut Seen::default())?;
                    4
                } else {
                    0
                };
                if known & bit != 0 {
                    return Err(DerError::InvalidValue); // a duplicate
                }
                known |= bit;
            }
        }
        tbs.finish()?;
        Ok(f)
    };
    match read() {
        Ok(f) => CrlFacts {
            readable: true,
            number_ok: f.number == Some(true),
            profile_ok: f.v2
                && f.same_alg
                && !f.issuer_empty
                && f.next_update
                && f.aki == Some(true),
        },
        Err(_) => CrlFacts {
            readable: false,
            number_ok: false,
            profile_ok: false,
        },
    }
}

impl CrlFacts {
    /// The first rule of `rules` these facts break, in [`check_crl`]'s order: an
    /// unreadable CRL breaks `CrlProfile` only; else `CrlNumber`, then `CrlProfile`.
    fn judge(self, rules: Rules) -> Result<(), Rule> {
        if !self.readable {
            return fail(rules, Rule::CrlProfile);
        }
        if !self.number_ok {
            fail(rules, Rule::CrlNumber)?;
        }
        if !self.profile_ok {
            fail(rules, Rule::CrlProfile)?;
        }
        Ok(())
    }

    /// Whether no rules can fail on this CRL.
    #[cfg_attr(not(mbedtls_crl), allow(dead_code))]
    fn clean(self) -> bool {
        self.readable && self.number_ok && self.profile_ok
    }
}

/// The CRL rules' verdicts on a trust store's CRLs, computed once when the trust store
/// is built (its CRLs never change afterwards), so that a verification only looks them
/// up: [`violation`](Self::violation) gives exactly what reading each CRL issued by the
/// CA with [`check_crl`] would give.
///
/// Only the CRLs that break some rule are kept (with their issuer, in the list's order):
/// a CRL that meets every rule can never be reported. If memory for that list cannot be
/// had, the verdicts are not cached and every lookup reads the CRLs again ([`Self::Live`]),
/// as before: never fail open.
#[derive(Debug)]
pub(crate) enum CrlVerdicts {
    /// The CRLs that break some rule: (issuer Name DER, facts), in the list's order.
    Cached(Vec<(Vec<u8>, CrlFacts)>),
    /// Not cached: read the CRLs on every lookup.
    Live,
}

impl CrlVerdicts {
    /// Read every CRL of `crl` once.
    #[cfg_attr(not(mbedtls_crl), allow(dead_code))]
    pub(crate) fn of(crl: &Crl) -> Self {
        Self::cache(crl.ders()).unwrap_or(CrlVerdicts::Live)
    }

    /// `None` when memory ran out.
    fn cache<'a>(ders: impl Iterator<Item = &'a [u8]>) -> Option<Self> {
        let mut bad = Vec::new();
        for der in ders {
            // A CRL whose issuer cannot be found is never matched with a CA.
            let Some(issuer) = crl_issuer(der) else {
                continue;
            };
            let facts = crl_facts(der);
            if facts.clean() {
                continue;
            }
            let mut owned = Vec::new();
            owned.try_reserve_exact(issuer.len()).ok()?;
            owned.extend_from_slice(issuer);
            bad.try_reserve(1).ok()?;
            bad.push((owned, facts));
        }
        Some(CrlVerdicts::Cached(bad))
    }

    /// The first rule of `rules` broken by a CRL of `crl` (the list these verdicts were
    /// built from) whose issuer is `subject` (a Name's DER), in the list's order.
    pub(crate) fn violation(&self, crl: &Crl, rules: Rules, subject: &[u8]) -> Option<Rule> {
        match self {
            CrlVerdicts::Cached(_) => self.cached_violation(rules, subject),
            CrlVerdicts::Live => read_crl_violation(crl.ders(), rules, subject),
        }
    }

    /// The lookup of [`violation`](Self::violation) (`None` for [`Self::Live`]).
    fn cached_violation(&self, rules: Rules, subject: &[u8]) -> Option<Rule> {
        let CrlVerdicts::Cached(bad) = self else {
            return None;
        };
        if !rules.intersects(Rules::CRL_NUMBER | Rules::CRL_PROFILE) {
            return None;
        }
        bad.iter()
            .filter(|(issuer, _)| issuer.as_slice() == subject)
            .find_map(|(_, facts)| facts.judge(rules).err())
    }
}

/// The CRL rules read from the CRLs themselves: the first rule of `rules` broken by a
/// CRL of `ders` whose issuer is `subject` (what [`CrlVerdicts`] caches).
fn read_crl_violation<'a>(
    ders: impl Iterator<Item = &'a [u8]>,
    rules: Rules,
    subject: &[u8],
) -> Option<Rule> {
    if !rules.intersects(Rules::CRL_NUMBER | Rules::CRL_PROFILE) {
        return None;
    }
    ders.filter(|der| crl_issuer(der) == Some(subject))
        .find_map(|der| check_crl(rules, der).err())
}

/// What one pass over a certificate's extensions found.
#[derive(Default)]
struct Seen<'a> {
    /// Bit per known extension already seen (duplicates).
    known: u16,
    ca: bool,
    bc_critical: bool,
    aki: Option<Aki<'a>>,
    aki_critical: bool,
    ski: Option<&'a [u8]>,
    ski_critical: bool,
    key_cert_sign: bool,
    san: Option<bool>,
    eku: Option<Eku>,
    nc: Option<bool>,
    pc_critical: Option<bool>,
}

struct Aki<'a> {
    key_id: Option<&'a [u8]>,
    issuer_or_serial: bool,
}

struct Eku {
    critical: bool,
    server_auth: bool,
    any: bool,
}

/// A failed rule, if `rules` has it.
fn fail(rules: Rules, rule: Rule) -> Result<(), Rule> {
    if rules.contains(rule.bit()) {
        Err(rule)
    } else {
        Ok(())
    }
}

fn check_certificate(
    rules: Rules,
    cert: &CertRef<'_>,
    leaf: bool,
    anchor: bool,
) -> Result<(), Rule> {
    read_certificate(rules, cert, leaf, anchor, false).profile
}

/// What the verify trampoline needs of one certificate of the path, from one strict
/// pass over its extensions (see [`read_path_certificate`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PathCertificate {
    /// The profile's verdict: exactly [`Profile::check`]'s.
    pub(crate) profile: Result<(), Rule>,
    /// Exactly [`CertRef::basic_constraints`] (only when asked for; else `Absent`).
    pub(crate) basic_constraints: BasicConstraints,
    /// Whether the certificate carries nameConstraints, and whether critical: the first
    /// such extension as the quick walk ([`quick_find_extension`]) sees it, or, where the
    /// walk cannot tell, the first one the strict reader reads before any error.
    pub(crate) name_constraints: Option<bool>,
}

/// One pass over a certificate's extensions that yields the profile's verdict, its
/// basicConstraints (when `basic_constraints`) and its nameConstraints presence, each
/// equal to what the separate readings give ([`Profile::check`],
/// [`CertRef::basic_constraints`], the quick walk). Allocates nothing.
pub(crate) fn read_path_certificate(
    profile: Profile,
    cert: &CertRef<'_>,
    leaf: bool,
    anchor: bool,
    basic_constraints: bool,
) -> PathCertificate {
    let rules = profile.rules();
    if rules.is_empty() && !basic_constraints {
        // Nothing needs the strict reader: the quick walk alone (it is cheaper).
        return PathCertificate {
            profile: Ok(()),
            basic_constraints: BasicConstraints::Absent,
            name_constraints: quick_name_constraints(cert, None),
        };
    }
    let mut read = read_certificate(rules, cert, leaf, anchor, true);
    if !basic_constraints {
        read.basic_constraints = BasicConstraints::Absent;
    }
    read
}

/// What the one pass ([`read_path_certificate`]) replaces: the profile's verdict
/// ([`Profile::check`]), basicConstraints ([`CertRef::basic_constraints`], `Absent` unless
/// `ca`) and nameConstraints presence (the quick walk, the strict reader where it cannot
/// tell), each read separately. The oracle of the one pass: debug builds compare the two
/// on every certificate of every verification, and [`one_pass_disagreement`] in tests.
pub(crate) fn separate_readings(
    profile: Profile,
    cert: &CertRef<'_>,
    leaf: bool,
    anchor: bool,
    ca: bool,
) -> PathCertificate {
    PathCertificate {
        profile: profile.check(cert, leaf, anchor),
        basic_constraints: if ca {
            cert.basic_constraints()
        } else {
            BasicConstraints::Absent
        },
        name_constraints: quick_name_constraints(cert, None),
    }
}

/// Test entry (not a stable API): the first reading of `cert` on which the verify
/// trampoline's one pass ([`read_path_certificate`]) and the separate readings it replaces
/// ([`separate_readings`]) disagree, over every profile kind, role (leaf, intermediate,
/// trust anchor, trusted leaf) and basicConstraints request; `None` when all 48 agree.
#[doc(hidden)]
pub fn one_pass_disagreement(cert: &CertRef<'_>) -> Option<alloc::string::String> {
    const PROFILES: [Profile; 6] = [
        Profile::PrivateFleet,
        Profile::Rfc5280Strict,
        Profile::WebPkiClient,
        Profile::Custom(Rules::empty()),
        Profile::Custom(Rules::all()),
        Profile::Custom(Rules::DNS_NAME_SYNTAX.union(Rules::AKI_PRESENT)),
    ];
    for p in PROFILES {
        for (leaf, anchor) in [(true, false), (false, false), (false, true), (true, true)] {
            for ca in [false, true] {
                let one = read_path_certificate(p, cert, leaf, anchor, ca);
                let separate = separate_readings(p, cert, leaf, anchor, ca);
                if one != separate {
                    return Some(alloc::format!(
                        "{p:?} leaf={leaf} anchor={anchor} ca={ca}: one pass {one:?}, \
                         separately {separate:?}"
                    ));
                }
            }
        }
    }
    None
}

/// nameConstraints presence by the quick walk; where it cannot tell, `strict` (the strict
/// reader's first one before any error), read here unless given.
fn quick_name_constraints(cert: &CertRef<'_>, strict: Option<Option<bool>>) -> Option<bool> {
    match quick_find_extension(
        cert.part(sys::MV_PART_V3_EXT),
        oid::NAME_CONSTRAINTS.as_bytes(),
    ) {
        Presence::Absent => None,
        Presence::Present { critical } => Some(critical),
        Presence::Unknown => strict.unwrap_or_else(|| {
            cert.extensions()
                .map_while(Result::ok)
                .find(|e| e.oid == oid::NAME_CONSTRAINTS)
                .map(|e| e.critical)
        }),
    }
}

/// The profile's verdict and, when `whole`, what the trampoline also needs (reading the
/// whole list even after the verdict is known). Without `whole` the reading stops where
/// the verdict is known, and the other fields are not meaningful.
fn read_certificate(
    rules: Rules,
    cert: &CertRef<'_>,
    leaf: bool,
    anchor: bool,
    whole: bool,
) -> PathCertificate {
    let mut verdict = if rules.is_empty() {
        Some(Ok(()))
    } else if rules.contains(Rules::SERIAL_NUMBER) && !serial_ok(cert.serial()) {
        Some(Err(Rule::SerialNumber))
    } else {
        None
    };
    let dns = rules.contains(Rules::DNS_NAME_SYNTAX);
    let mut seen = Seen::default();
    // A malformed extension fails `WellFormedExtensions`; without that rule the other
    // rules still judge what could be read (a malformed list ends the reading).
    let mut malformed = false;
    // For the trampoline: the list's errors, basicConstraints, nameConstraints.
    let mut list_error = false;
    let mut bc: Option<&[u8]> = None;
    let mut bc_duplicate = false;
    let mut nc: Option<bool> = None;
    if whole || verdict.is_none() {
        for ext in cert.extensions() {
            let Ok(ext) = ext else {
                list_error = true;
                malformed = true;
                break;
            };
            let known = known_index(ext.oid.as_bytes());
            if whole {
                match known {
                    Some(KNOWN_BASIC_CONSTRAINTS) => {
                        bc_duplicate |= bc.is_some();
                        bc = Some(ext.value);
                    }
                    Some(KNOWN_NAME_CONSTRAINTS) if nc.is_none() => nc = Some(ext.critical),
                    _ => {}
                }
            }
            if verdict.is_some() {
                if whole {
                    continue;
                }
                break;
            }
            malformed |= read_known_at(known, &ext, &mut seen).is_err();
            if let Some(Bad::Dns) = seen_dns_failure(&ext, dns) {
                verdict = Some(Err(Rule::DnsNameSyntax));
            }
        }
    }
    let profile = match verdict {
        Some(v) => v,
        None => judge_certificate(rules, cert, leaf, anchor, &seen, malformed),
    };
    let basic_constraints = match (list_error || bc_duplicate, bc) {
        (true, _) => BasicConstraints::Malformed,
        (false, Some(value)) => BasicConstraints::from_extension_value(value),
        (false, None) => BasicConstraints::Absent,
    };
    // A list the strict reader reads to its end, the quick walk reads the same way (it
    // checks less), so its answer is the strict one; only a list with an error needs it.
    let name_constraints = if list_error {
        quick_name_constraints(cert, Some(nc))
    } else {
        nc
    };
    PathCertificate {
        profile,
        basic_constraints,
        name_constraints,
    }
}

/// The rules on what the reading of the extensions found.
fn judge_certificate(
    rules: Rules,
    cert: &CertRef<'_>,
    leaf: bool,
    anchor: bool,
    seen: &Seen<'_>,
    malformed: bool,
) -> Result<(), Rule> {
    if malformed {
        fail(rules, Rule::WellFormedExtensions)?;
    }
    let subject_empty = cert.subject().attributes().next().is_none();
    let self_issued = cert.is_self_issued();
    let checks: [(Rule, bool); 20] = [
        (Rule::KeyCertSignNeedsCa, seen.key_cert_sign && !seen.ca),
        (Rule::NameConstraintsOnlyInCa, seen.nc.is_some() && !seen.ca),
        (
            Rule::AkiNonCritical,
            seen.aki.is_some() && seen.aki_critical,
        ),
        (
            Rule::AkiPresent,
            !self_issued && seen.aki.as_ref().is_none_or(|a| a.key_id.is_none()),
        ),
        (
            Rule::SkiNonCritical,
            seen.ski.is_some() && seen.ski_critical,
        ),
        (Rule::SkiInCa, seen.ca && seen.ski.is_none()),
        (
            Rule::CaBasicConstraintsCritical,
            seen.ca && !seen.bc_critical,
        ),
        (Rule::NameConstraintsCritical, seen.nc == Some(false)),
        (
            Rule::SanCriticalIfSubjectEmpty,
            subject_empty && seen.san != Some(true),
        ),
        (
            Rule::PolicyConstraintsCritical,
            seen.pc_critical == Some(false),
        ),
        (
            Rule::LeafServerAuth,
            leaf && !seen.eku.as_ref().is_some_and(|e| e.server_auth),
        ),
        (
            Rule::LeafNoAnyEku,
            leaf && seen.eku.as_ref().is_some_and(|e| e.any),
        ),
        (
            Rule::LeafEkuNonCritical,
            leaf && seen.eku.as_ref().is_some_and(|e| e.critical),
        ),
        (Rule::LeafNotCa, leaf && !anchor && seen.ca),
        (Rule::AnchorNoEku, anchor && !leaf && seen.eku.is_some()),
        (
            Rule::SanNonCriticalWithSubject,
            !subject_empty && seen.san == Some(true),
        ),
        (
            Rule::AkiKeyIdOnly,
            seen.aki
                .as_ref()
                .is_some_and(|a| a.key_id.is_none() || a.issuer_or_serial),
        ),
        (
            Rule::AnchorAkiMatchesSki,
            anchor
                && self_issued
                && matches!((&seen.aki, seen.ski), (Some(Aki { key_id: Some(k), .. }), Some(s)) if *k != s),
        ),
        (
            Rule::RsaModulusMultipleOf8,
            rules.contains(Rules::RSA_MODULUS_MULTIPLE_OF_8) && {
                let pk = cert.public_key();
                pk.algorithm == PublicKeyAlgorithm::Rsa && pk.bits % 8 != 0
            },
        ),
        (
            Rule::CnAmongSans,
            leaf && rules.contains(Rules::CN_AMONG_SANS) && !cn_among_sans(cert),
        ),
    ];
    for (rule, broken) in checks {
        if broken {
            fail(rules, rule)?;
        }
    }
    Ok(())
}

enum Bad {
    Dns,
}

/// A dNSName syntax failure in a SAN or nameConstraints extension (checked separately
/// from well-formedness so that its own rule is reported).
fn seen_dns_failure(ext: &Extension<'_>, dns: bool) -> Option<Bad> {
    if !dns {
        return None;
    }
    if ext.oid == oid::SUBJECT_ALT_NAME {
        let mut r = Reader::new(ext.value);
        let mut names = r.read_sequence().ok()?;
        while let Ok(t) = names.read_tlv() {
            if t.tag == 0x82 && !preferred_dns_name(t.contents, true) {
                return Some(Bad::Dns);
            }
        }
    } else if ext.oid == oid::NAME_CONSTRAINTS {
        let mut r = Reader::new(ext.value);
        let mut nc = r.read_sequence().ok()?;
        while let Ok(subtrees) = nc.read_tlv() {
            let mut s = Reader::new(subtrees.contents);
            while let Ok(subtree) = s.read_tlv() {
                let mut st = Reader::new(subtree.contents);
                if let Ok(base) = st.read_tlv() {
                    // An empty dNSName constraint means every name (allowed).
                    if base.tag == 0x82
                        && !base.contents.is_empty()
                        && !preferred_dns_name(base.contents, false)
                    {
                        return Some(Bad::Dns);
                    }
                }
            }
        }
    }
    None
}

/// RFC 1034 preferred name syntax as RFC 5280 4.2.1.6 asks: labels of 1 to 63 letters,
/// digits and hyphens, not starting or ending with a hyphen; `wildcard` allows one
/// leading `*` label (as certificates use them).
fn preferred_dns_name(name: &[u8], wildcard: bool) -> bool {
    let name = match name.strip_prefix(b"*.") {
        Some(rest) if wildcard => rest,
        _ => name,
    };
    !name.is_empty()
        && name.len() <= 253
        && name.split(|&b| b == b'.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
                && label.first() != Some(&b'-')
                && label.last() != Some(&b'-')
        })
}

/// A serial number (INTEGER contents) that is positive and at most 20 octets (a
/// leading 0x00 sign octet is not counted).
fn serial_ok(serial: &[u8]) -> bool {
    serial_or_number_ok(serial, false)
}

/// INTEGER contents that are non-negative (positive unless `zero`) and at most 20
/// octets, a leading 0x00 sign octet not counted.
fn serial_or_number_ok(n: &[u8], zero: bool) -> bool {
    let magnitude = match n {
        [0, rest @ ..] if !rest.is_empty() => rest,
        s => s,
    };
    !n.is_empty()
        && n[0] & 0x80 == 0
        && (zero || n.iter().any(|&b| b != 0))
        && magnitude.len() <= 20
}

fn cn_among_sans(cert: &CertRef<'_>) -> bool {
    let mut cns = cert.subject().values(AttributeKind::CommonName);
    let Some(cn) = cns.next() else {
        return true;
    };
    let ip = IpAddress::parse(cn);
    cert.subject_alt_names().any(|san| match (san, ip) {
        (SubjectAltName::Dns(d), None) => d.eq_ignore_ascii_case(cn),
        (SubjectAltName::Ip(a), Some(b)) => a == b,
        _ => false,
    })
}

/// Known extensions, in the order of their bit in `Seen::known`: the table
/// [`known_index`] encodes (its unit test checks them against each other).
#[cfg(test)]
const KNOWN: [Oid<'static>; 12] = [
    oid::AUTHORITY_KEY_IDENTIFIER,
    oid::SUBJECT_KEY_IDENTIFIER,
    oid::KEY_USAGE,
    oid::BASIC_CONSTRAINTS,
    oid::SUBJECT_ALT_NAME,
    oid::ISSUER_ALT_NAME,
    oid::EXT_KEY_USAGE,
    oid::AUTHORITY_INFO_ACCESS,
    oid::NAME_CONSTRAINTS,
    oid::CERTIFICATE_POLICIES,
    oid::POLICY_CONSTRAINTS,
    oid::INHIBIT_ANY_POLICY,
];

/// The index in `KNOWN` of an extension's OID (its DER contents): the certificate
/// extensions of RFC 5280 are `2.5.29.n` (`55 1D n`), so one byte decides, without a
/// comparison per entry (equal to `KNOWN.iter().position(..)`; a unit test checks).
fn known_index(oid: &[u8]) -> Option<usize> {
    match oid {
        [0x55, 0x1D, n] => match n {
            0x23 => Some(0),
            0x0E => Some(1),
            0x0F => Some(2),
            0x13 => Some(KNOWN_BASIC_CONSTRAINTS),
            0x11 => Some(4),
            0x12 => Some(5),
            0x25 => Some(6),
            0x1E => Some(KNOWN_NAME_CONSTRAINTS),
            0x20 => Some(9),
            0x24 => Some(10),
            0x36 => Some(11),
            _ => None,
        },
        [0x2B, ..] if oid == oid::AUTHORITY_INFO_ACCESS.as_bytes() => Some(7),
        _ => None,
    }
}

/// `KNOWN`'s index of basicConstraints.
const KNOWN_BASIC_CONSTRAINTS: usize = 3;
/// `KNOWN`'s index of nameConstraints.
const KNOWN_NAME_CONSTRAINTS: usize = 8;

/// Read one extension if it is a known one, strictly; record what the rules need.
fn read_known<'a>(ext: &Extension<'a>, seen: &mut Seen<'a>) -> Result<(), DerError> {
    read_known_at(known_index(ext.oid.as_bytes()), ext, seen)
}

/// [`read_known`] with the extension's index in `KNOWN` already found.
fn read_known_at<'a>(
    known: Option<usize>,
    ext: &Extension<'a>,
    seen: &mut Seen<'a>,
) -> Result<(), DerError> {
    let Some(i) = known else {
        return Ok(());
    };
    if seen.known & (1 << i) != 0 {
        return Err(DerError::InvalidValue); // a duplicate
    }
    seen.known |= 1 << i;
    let mut r = Reader::new(ext.value);
    match i {
        0 => {
            // AuthorityKeyIdentifier ::= SEQUENCE { [0] keyIdentifier OPTIONAL,
            //   [1] authorityCertIssuer GeneralNames OPTIONAL, [2] serial OPTIONAL }
            let mut s = r.read_sequence()?;
            let key_id = s.read_optional(tag::context(0, false))?;
            let issuer = s.read_optional(tag::context(1, true))?;
            if let Some(names) = issuer {
                general_names(names)?;
            }
            let serial = s.read_optional(tag::context(2, false))?;
            s.finish()?;
            // Issuer and serial come together (X.509).
            if issuer.is_some() != serial.is_some() {
                return Err(DerError::InvalidValue);
            }
            seen.aki = Some(Aki {
                key_id,
                issuer_or_serial: issuer.is_some() || serial.is_some(),
            });
            seen.aki_critical = ext.critical;
        }
        1 => {
            seen.ski = Some(r.read(tag::OCTET_STRING)?);
            seen.ski_critical = ext.critical;
        }
        2 => {
            let bits = r.read(tag::BIT_STRING)?;
            match bits {
                [unused, rest @ ..] if *unused < 8 && !rest.is_empty() => {
                    seen.key_cert_sign = rest[0] & 0x04 != 0;
                }
                _ => return Err(DerError::InvalidValue),
            }
        }
        3 => match BasicConstraints::from_extension_value(ext.value) {
            BasicConstraints::Valid { ca, .. } => {
                seen.ca = ca;
                seen.bc_critical = ext.critical;
                return Ok(());
            }
            _ => return Err(DerError::InvalidValue),
        },
        4 | 5 => {
            general_names(r.read(tag::SEQUENCE)?)?;
            if i == 4 {
                seen.san = Some(ext.critical);
            }
        }
        6 => {
            let mut s = r.read_sequence()?;
            let mut eku = Eku {
                critical: ext.critical,
                server_auth: false,
                any: false,
            };
            if s.is_empty() {
                return Err(DerError::InvalidValue);
            }
            while !s.is_empty() {
                let o = s.read_oid()?;
                eku.server_auth |= o == oid::KP_SERVER_AUTH;
                eku.any |= o == oid::ANY_EXTENDED_KEY_USAGE;
            }
            seen.eku = Some(eku);
        }
        7 => {
            // AuthorityInfoAccessSyntax ::= SEQUENCE SIZE (1..MAX) OF
            //   SEQUENCE { accessMethod OID, accessLocation GeneralName }
            let mut s = r.read_sequence()?;
            if s.is_empty() {
                return Err(DerError::InvalidValue);
            }
            while !s.is_empty() {
                let mut d = s.read_sequence()?;
                d.read_oid()?;
                general_name(&mut d)?;
                d.finish()?;
            }
        }
        8 => {
            // Its contents are read strictly where it is enforced (name_constraints).
            r.read_sequence()?;
            seen.nc = Some(ext.critical);
        }
        9 => {
            // certificatePolicies ::= SEQUENCE SIZE (1..MAX) OF PolicyInformation
            let mut s = r.read_sequence()?;
            if s.is_empty() {
                return Err(DerError::InvalidValue);
            }
            while !s.is_empty() {
                let mut p = s.read_sequence()?;
                p.read_oid()?;
                if !p.is_empty() {
                    p.read_sequence()?;
                }
                p.finish()?;
            }
        }
        10 => {
            // PolicyConstraints ::= SEQUENCE { [0] INTEGER OPTIONAL, [1] INTEGER OPTIONAL },
            // not empty (RFC 5280 4.2.1.11).
            let mut s = r.read_sequence()?;
            let a = s.read_optional(tag::context(0, false))?;
            let b = s.read_optional(tag::context(1, false))?;
            s.finish()?;
            if a.is_none() && b.is_none() {
                return Err(DerError::InvalidValue);
            }
            seen.pc_critical = Some(ext.critical);
        }
        _ => {
            // inhibitAnyPolicy ::= INTEGER (0..MAX)
            r.read_u64()?;
        }
    }
    r.finish()
}

/// GeneralNames ::= SEQUENCE SIZE (1..MAX) OF GeneralName (the SEQUENCE's contents).
fn general_names(contents: &[u8]) -> Result<(), DerError> {
    let mut s = Reader::new(contents);
    if s.is_empty() {
        return Err(DerError::InvalidValue);
    }
    while !s.is_empty() {
        general_name(&mut s)?;
    }
    Ok(())
}

/// One GeneralName: a context tag 0 to 8, in its right form, with sane contents.
fn general_name(r: &mut Reader<'_>) -> Result<(), DerError> {
    let t = r.read_tlv()?;
    let ok = match t.tag {
        // otherName, directoryName (explicit Name), ediPartyName
        0xA0 | 0xA4 | 0xA5 => true,
        // rfc822Name, dNSName, URI: IA5String
        0x81 | 0x82 | 0x86 => t.contents.is_ascii(),
        // x400Address
        0xA3 => true,
        // iPAddress: 4 or 16 octets in a SAN (8 or 32 in constraints are not here)
        0x87 => matches!(t.contents.len(), 4 | 16),
        // registeredID
        0x88 => Oid::parse(t.contents).is_ok(),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(DerError::InvalidValue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_numbers() {
        assert!(serial_ok(&[1]));
        assert!(serial_ok(&[0x7F; 20]));
        // 20 octets with the top bit set: a 0x00 sign octet in front (21 encoded).
        let mut top = [0xFFu8; 21];
        top[0] = 0;
        assert!(serial_ok(&top));
        assert!(!serial_ok(&[0]), "zero");
        assert!(!serial_ok(&[0x80]), "negative");
        assert!(!serial_ok(&[0xFF, 0x01]), "negative");
        assert!(!serial_ok(&[0x01; 21]), "21 octets");
        assert!(!serial_ok(&[
            0x00, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
        ]));
        assert!(!serial_ok(&[]));
    }

    #[test]
    fn preferred_name_syntax() {
        assert!(preferred_dns_name(b"example.com", false));
        assert!(preferred_dns_name(b"a-b.example.com", false));
        assert!(preferred_dns_name(b"xn--bcher-kva.example", false));
        assert!(preferred_dns_name(b"localhost", false));
        assert!(preferred_dns_name(b"*.example.com", true));
        assert!(!preferred_dns_name(b"*.example.com", false));
        assert!(!preferred_dns_name(b"a.*.example.com", true));
        assert!(!preferred_dns_name(b"f*o.example.com", true));
        assert!(!preferred_dns_name(b"bad_name.example.com", false));
        assert!(
            !preferred_dns_name(b".example.com", false),
            "leading period"
        );
        assert!(
            !preferred_dns_name(b"example.com.", false),
            "trailing period"
        );
        assert!(!preferred_dns_name(b"a..b", false));
        assert!(!preferred_dns_name(b"-a.example", false));
        assert!(!preferred_dns_name(b"a-.example", false));
        assert!(!preferred_dns_name(b"", false));
        assert!(!preferred_dns_name(&[b'a'; 64], false), "label of 64");
        assert!(preferred_dns_name(&[b'a'; 63], false));
        assert!(!preferred_dns_name("é.example".as_bytes(), false));
    }

    #[test]
    fn known_indices() {
        assert_eq!(KNOWN[KNOWN_BASIC_CONSTRAINTS], oid::BASIC_CONSTRAINTS);
        assert_eq!(KNOWN[KNOWN_NAME_CONSTRAINTS], oid::NAME_CONSTRAINTS);
        let position = |o: &[u8]| KNOWN.iter().position(|k| k.as_bytes() == o);
        for (i, k) in KNOWN.iter().enumerate() {
            assert_eq!(known_index(k.as_bytes()), Some(i), "{k}");
        }
        let mut others = alloc::vec![
            oid::CRL_NUMBER.as_bytes().to_vec(),
            oid::KP_SERVER_AUTH.as_bytes().to_vec(),
            alloc::vec![0x2B, 6, 1, 5, 5, 7, 1, 2],
            alloc::vec![0x55, 0x1D],
            alloc::vec![0x55, 0x1D, 0x13, 0x00],
            alloc::vec![],
        ];
        others.extend((0..=255u8).map(|n| alloc::vec![0x55, 0x1D, n]));
        others.extend((0..=255u8).map(|n| alloc::vec![0x2B, 6, 1, 5, 5, 7, 1, n]));
        for o in &others {
            assert_eq!(known_index(o), position(o), "{o:02x?}");
        }
    }

    /// A small xorshift generator (deterministic mutations).
    fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
        move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        }
    }

    /// Every reading the trampoline makes of `cert`, one pass against the separate
    /// readings; returns how many were compared.
    fn compare_readings(cert: &CertRef<'_>) -> usize {
        if let Some(d) = one_pass_disagreement(cert) {
            panic!("{d}: {:02x?}", cert.der());
        }
        48
    }

    /// The trampoline's one pass over a certificate's extensions gives exactly what the
    /// profile check, the strict basicConstraints reading and the nameConstraints quick
    /// walk give separately: on certificates made to break the rules, and on thousands
    /// of mutations of their extensions that mbedTLS still parses.
    #[cfg(feature = "std")]
    #[test]
    fn one_pass_equals_the_separate_readings() {
        use crate::issue::{CertificateBuilder, San};
        use crate::pk::{KeyType, PrivateKey};
        use crate::x509::{CertChain, ExtendedKeyUsage};
        use alloc::vec;
        use alloc::vec::Vec;

        let key = PrivateKey::generate(KeyType::EcdsaP256).unwrap();
        let root = CertificateBuilder::new("CN=Root").ca(None);
        let root_der = root.self_signed_der(&key).unwrap();
        let root_chain = CertChain::from_der(&root_der).unwrap();
        let issuer = root_chain.first().unwrap();
        let signed = |b: CertificateBuilder| b.signed_by_der(&key, issuer, &key).unwrap();
        let dns = |d: &str| San::Dns(d.into());
        let fixtures: Vec<Vec<u8>> = vec![
            root_der.clone(),
            signed(
                CertificateBuilder::new("CN=leaf")
                    .san(dns("device.example"))
                    .extended_key_usage(&[ExtendedKeyUsage::ServerAuth]),
            ),
            signed(
                CertificateBuilder::new("CN=CA")
                    .ca(Some(0))
                    .name_constraints(true, &[dns("example.com")], &[dns("bad.example.com")]),
            ),
            signed(
                CertificateBuilder::new("CN=CA non-critical NC")
                    .ca(None)
                    .name_constraints(false, &[dns("example.com")], &[]),
            ),
            signed(CertificateBuilder::new("CN=leaf with NC").raw_extension(
                "2.5.29.30",
                false,
                vec![0x30, 0x06, 0xA0, 0x04, 0x30, 0x02, 0x82, 0x00],
            )),
            signed(
                CertificateBuilder::new("CN=bare CA")
                    .ca(None)
                    .key_identifiers(false),
            ),
            signed(CertificateBuilder::new("CN=bad name").san(dns("bad_name.example"))),
            signed(CertificateBuilder::new("CN=forged CA").raw_extension(
                "2.5.29.19",
                true,
                vec![0x30, 0x03, 0x02, 0x01, 0x05],
            )),
            signed(
                CertificateBuilder::new("CN=odd AKI")
                    .key_identifiers(false)
                    .raw_extension("2.5.29.35", true, vec![0x30, 0x03, 0x80, 0x01, 0x01]),
            ),
            signed(
                CertificateBuilder::new("CN=policy CA")
                    .ca(None)
                    .raw_extension("2.5.29.36", false, vec![0x30, 0x03, 0x80, 0x01, 0x00]),
            ),
            signed(CertificateBuilder::new("CN=unknown ext").raw_extension(
                "1.2.3.4",
                false,
                vec![0x30, 0x03, 0x01, 0x01, 0x00],
            )),
        ];
        let mut next = xorshift(0x9E37_79B9_7F4A_7C15);
        let (mut certificates, mut readings, mut refused) = (0, 0, 0);
        for (i, der) in fixtures.iter().enumerate() {
            let chain = CertChain::from_der(der).unwrap_or_else(|e| panic!("fixture {i}: {e}"));
            let c = chain.first().unwrap();
            readings += compare_readings(&c);
            certificates += 1;
            // Where the extensions lie in the DER.
            let ext = c.part(sys::MV_PART_V3_EXT);
            let start = ext.as_ptr() as usize - c.der().as_ptr() as usize;
            assert!(!ext.is_empty() && start + ext.len() <= der.len());
            for _ in 0..400 {
                let mut m = der.clone();
                for _ in 0..=(next() % 3) {
                    let i = start + (next() as usize) % ext.len();
                    m[i] = match next() % 4 {
                        // Flip criticality, change lengths and tags, or anything.
                        0 => 0xFF,
                        1 => m[i] ^ 1,
                        _ => next() as u8,
                    };
                }
                if let Ok(chain) = CertChain::from_der(&m) {
                    let c = chain.first().unwrap();
                    readings += compare_readings(&c);
                    certificates += 1;
                    // Lists the strict reader refuses (where the quick walk is asked).
                    refused += usize::from(c.extensions().any(|e| e.is_err()));
                }
            }
        }
        assert!(certificates > 1000, "{certificates} certificates");
        assert!(readings >= certificates * 48, "{readings}");
        assert!(
            refused > 50,
            "{refused} of {certificates} with a refused list"
        );
    }

    /// The cached CRL verdicts give what reading the CRLs gives, for every subject and
    /// every combination of the CRL rules, on made CRLs and on mutations of them.
    #[cfg(feature = "std")]
    #[test]
    fn cached_crl_verdicts_equal_reading_the_crls() {
        use crate::issue::{CertificateBuilder, CrlBuilder};
        use crate::pk::{KeyType, PrivateKey};
        use alloc::vec::Vec;

        let key = PrivateKey::generate(KeyType::EcdsaP256).unwrap();
        let ca = CertificateBuilder::new("CN=CRL CA")
            .ca(None)
            .self_signed(&key)
            .unwrap();
        let bare = CertificateBuilder::new("CN=CRL CA without SKI")
            .ca(None)
            .key_identifiers(false)
            .self_signed(&key)
            .unwrap();
        let (ca, bare) = (ca.first().unwrap(), bare.first().unwrap());
        let made: Vec<Vec<u8>> = [
            CrlBuilder::new(ca, &key).number(3).to_der().unwrap(),
            CrlBuilder::new(ca, &key).to_der().unwrap(),
            CrlBuilder::new(bare, &key).number(1).to_der().unwrap(),
            CrlBuilder::new(bare, &key).to_der().unwrap(),
        ]
        .into();
        let subjects = [
            ca.part(sys::MV_PART_SUBJECT),
            bare.part(sys::MV_PART_SUBJECT),
            &[0x30, 0x00][..],
        ];
        let rule_sets = [
            Rules::empty(),
            Rules::CRL_NUMBER,
            Rules::CRL_PROFILE,
            Rules::CRL_NUMBER | Rules::CRL_PROFILE,
            Profile::Rfc5280Strict.rules(),
            Rules::all(),
        ];
        let compare = |ders: &[Vec<u8>]| -> usize {
            let verdicts = CrlVerdicts::cache(ders.iter().map(Vec::as_slice)).unwrap();
            let mut n = 0;
            for subject in subjects {
                for rules in rule_sets {
                    let read = read_crl_violation(ders.iter().map(Vec::as_slice), rules, subject);
                    assert_eq!(verdicts.cached_violation(rules, subject), read, "{rules:?}");
                    n += usize::from(read.is_some());
                }
            }
            n
        };
        // Every order of the made CRLs (the first broken one is reported).
        let mut violations = compare(&made);
        let mut reversed = made.clone();
        reversed.reverse();
        violations += compare(&reversed);
        let mut next = xorshift(0x2545_F491_4F6C_DD1D);
        for _ in 0..3000 {
            let mut list = made.clone();
            let which = (next() as usize) % list.len();
            let m = &mut list[which];
            for _ in 0..=(next() % 2) {
                let i = (next() as usize) % m.len();
                m[i] = next() as u8;
            }
            if next() % 8 == 0 {
                m.truncate((next() as usize) % m.len());
            }
            violations += compare(&list);
        }
        assert!(violations > 1000, "{violations}");
    }

    /// Through the trust store: the cached verdicts and the fallback that reads the CRLs
    /// on every lookup (used when the cache cannot be built) agree.
    #[cfg(all(feature = "std", mbedtls_crl))]
    #[test]
    fn crl_verdicts_cached_or_live() {
        use crate::issue::{CertificateBuilder, CrlBuilder};
        use crate::pk::{KeyType, PrivateKey};
        use crate::x509::Crl;

        let key = PrivateKey::generate(KeyType::EcdsaP256).unwrap();
        let ca = CertificateBuilder::new("CN=CRL CA")
            .ca(None)
            .self_signed(&key)
            .unwrap();
        let ca = ca.first().unwrap();
        let mut crl = Crl::parse(&CrlBuilder::new(ca, &key).number(1).to_der().unwrap()).unwrap();
        crl.push(&CrlBuilder::new(ca, &key).to_der().unwrap())
            .unwrap();
        let cached = CrlVerdicts::of(&crl);
        assert!(matches!(&cached, CrlVerdicts::Cached(bad) if bad.len() == 1));
        let subject = ca.part(sys::MV_PART_SUBJECT);
        for rules in [Rules::CRL_NUMBER, Rules::CRL_PROFILE, Rules::all()] {
            assert_eq!(
                cached.violation(&crl, rules, subject),
                CrlVerdicts::Live.violation(&crl, rules, subject)
            );
        }
        assert_eq!(
            cached.violation(&crl, Rules::all(), subject),
            Some(Rule::CrlNumber)
        );
    }

    #[test]
    fn rules_and_profiles() {
        for (i, rule) in Rule::ALL.iter().enumerate() {
            assert_eq!(rule.bit().bits(), 1 << i, "{rule:?}");
            assert!(!rule.name().is_empty() && !rule.describe().is_empty());
        }
        assert_eq!(Rule::CnAmongSans.bit(), Rules::CN_AMONG_SANS);
        let fleet = Profile::PrivateFleet.rules();
        let strict = Profile::Rfc5280Strict.rules();
        let web = Profile::WebPkiClient.rules();
        assert!(strict.contains(fleet) && web.contains(strict));
        assert!(!web.contains(Rules::CN_AMONG_SANS));
        assert_eq!(Profile::default(), Profile::PrivateFleet);
        assert_eq!(SecurityProfile::DEFAULT.rules, Profile::PrivateFleet);
    }
}
