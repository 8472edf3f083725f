//! The names of the structural certificate rules ([`Rule`], a set of them: [`Rules`]),
//! as data: what [`crate::profile::Profile`] checks, and what a failed check reports
//! ([`crate::Reason::Profile`]). Re-exported from [`crate::profile`].

use core::fmt;

/// One structural rule a certificate of the path must meet (RFC 5280, or the CA/Browser
/// Forum Baseline Requirements for TLS server certificates).
///
/// A failed rule is a named, allocation-free reason ([`crate::Reason::Profile`]); the
/// verify hook sees it ([`crate::verify::HookCall::violation`]) before the chain fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rule {
    // RFC 5280.
    /// Every known extension (AKI, SKI, keyUsage, basicConstraints, SAN, IAN, EKU, AIA,
    /// nameConstraints, certificatePolicies, policyConstraints, inhibitAnyPolicy) is
    /// well-formed DER, critical or not; none appears twice (RFC 5280 §4.2).
    WellFormedExtensions,
    /// The serial number is positive and at most 20 octets (§4.1.2.2).
    SerialNumber,
    /// authorityKeyIdentifier is not critical (§4.2.1.1).
    AkiNonCritical,
    /// A certificate not issued by itself carries authorityKeyIdentifier with a
    /// keyIdentifier (§4.2.1.1; self-signed certificates may omit it).
    AkiPresent,
    /// subjectKeyIdentifier is not critical (§4.2.1.2).
    SkiNonCritical,
    /// A CA certificate carries subjectKeyIdentifier (§4.2.1.2).
    SkiInCa,
    /// keyCertSign is asserted only with cA TRUE (§4.2.1.3, §4.2.1.9).
    KeyCertSignNeedsCa,
    /// basicConstraints is critical in a CA certificate (§4.2.1.9).
    CaBasicConstraintsCritical,
    /// nameConstraints is critical (§4.2.1.10).
    NameConstraintsCritical,
    /// nameConstraints appears only in CA certificates (§4.2.1.10).
    NameConstraintsOnlyInCa,
    /// With an empty subject, subjectAltName is present and critical (§4.2.1.6).
    SanCriticalIfSubjectEmpty,
    /// policyConstraints is critical (§4.2.1.11).
    PolicyConstraintsCritical,
    /// dNSNames in subjectAltName use the preferred name syntax (letters, digits, `-`,
    /// labels of 1 to 63 characters, a leaf may have one leading `*` label), and DNS
    /// name constraints too, without a leading period (§4.2.1.6, §4.2.1.10).
    DnsNameSyntax,
    // CA/Browser Forum Baseline Requirements (TLS server certificates).
    /// The leaf has an extendedKeyUsage with serverAuth (BR 7.1.2.7.10).
    LeafServerAuth,
    /// The leaf's extendedKeyUsage has no anyExtendedKeyUsage (BR 7.1.2.7.10).
    LeafNoAnyEku,
    /// The leaf's extendedKeyUsage is not critical (BR 7.1.2.7.6).
    LeafEkuNonCritical,
    /// The leaf is not a CA (basicConstraints cA FALSE or absent; BR 7.1.2.7.8).
    LeafNotCa,
    /// The trust anchor has no extendedKeyUsage (BR 7.1.2.1.2).
    AnchorNoEku,
    /// subjectAltName is critical only with an empty subject (BR 7.1.2.7.12).
    SanNonCriticalWithSubject,
    /// authorityKeyIdentifier has a keyIdentifier and neither authorityCertIssuer nor
    /// authorityCertSerialNumber (BR 7.1.2.1.3, 7.1.2.11.1).
    AkiKeyIdOnly,
    /// A self-issued trust anchor's authorityKeyIdentifier, if any, equals its
    /// subjectKeyIdentifier (BR 7.1.2.1.3).
    AnchorAkiMatchesSki,
    /// An RSA modulus is a multiple of 8 bits (BR 6.1.5).
    RsaModulusMultipleOf8,
    /// The leaf's subject commonName, if any, is one of its subjectAltName values
    /// (BR 7.1.4.3). Not in the built-in profiles (see the README's rule table).
    CnAmongSans,
    // CRLs (checked on the CRLs of the trust store issued by a CA of the path).
    /// A CRL has a non-critical cRLNumber, a non-negative integer of at most 20 octets
    /// (RFC 5280 5.2.3).
    CrlNumber,
    /// A CRL meets RFC 5280 section 5's other MUSTs: version 2, a non-empty issuer, the
    /// same signature algorithm inside and outside, nextUpdate present, a non-critical
    /// authorityKeyIdentifier with a keyIdentifier, well-formed and unique extensions
    /// (5.1.2.1 to 5.1.2.5, 5.2.1).
    CrlProfile,
}

impl Rule {
    /// Every rule, in declaration order.
    pub const ALL: [Rule; 25] = [
        Rule::WellFormedExtensions,
        Rule::SerialNumber,
        Rule::AkiNonCritical,
        Rule::AkiPresent,
        Rule::SkiNonCritical,
        Rule::SkiInCa,
        Rule::KeyCertSignNeedsCa,
        Rule::CaBasicConstraintsCritical,
        Rule::NameConstraintsCritical,
        Rule::NameConstraintsOnlyInCa,
        Rule::SanCriticalIfSubjectEmpty,
        Rule::PolicyConstraintsCritical,
        Rule::DnsNameSyntax,
        Rule::LeafServerAuth,
        Rule::LeafNoAnyEku,
        Rule::LeafEkuNonCritical,
        Rule::LeafNotCa,
        Rule::AnchorNoEku,
        Rule::SanNonCriticalWithSubject,
        Rule::AkiKeyIdOnly,
        Rule::AnchorAkiMatchesSki,
        Rule::RsaModulusMultipleOf8,
        Rule::CnAmongSans,
        Rule::CrlNumber,
        Rule::CrlProfile,
    ];

    /// Its bit in [`Rules`].
    pub const fn bit(self) -> Rules {
        Rules::from_bits_retain(1 << self as u32)
    }

    /// A stable short name (`snake_case`), for logs and traces.
    pub fn name(self) -> &'static str {
        match self {
            Rule::WellFormedExtensions => "well_formed_extensions",
            Rule::SerialNumber => "serial_number",
            Rule::AkiNonCritical => "aki_non_critical",
            Rule::AkiPresent => "aki_present",
            Rule::SkiNonCritical => "ski_non_critical",
            Rule::SkiInCa => "ski_in_ca",
            Rule::KeyCertSignNeedsCa => "key_cert_sign_needs_ca",
            Rule::CaBasicConstraintsCritical => "ca_basic_constraints_critical",
            Rule::NameConstraintsCritical => "name_constraints_critical",
            Rule::NameConstraintsOnlyInCa => "name_constraints_only_in_ca",
            Rule::SanCriticalIfSubjectEmpty => "san_critical_if_subject_empty",
            Rule::PolicyConstraintsCritical => "policy_constraints_critical",
            Rule::DnsNameSyntax => "dns_name_syntax",
            Rule::LeafServerAuth => "leaf_server_auth",
            Rule::LeafNoAnyEku => "leaf_no_any_eku",
            Rule::LeafEkuNonCritical => "leaf_eku_non_critical",
            Rule::LeafNotCa => "leaf_not_ca",
            Rule::AnchorNoEku => "anchor_no_eku",
            Rule::SanNonCriticalWithSubject => "san_non_critical_with_subject",
            Rule::AkiKeyIdOnly => "aki_key_id_only",
            Rule::AnchorAkiMatchesSki => "anchor_aki_matches_ski",
            Rule::RsaModulusMultipleOf8 => "rsa_modulus_multiple_of_8",
            Rule::CnAmongSans => "cn_among_sans",
            Rule::CrlNumber => "crl_number",
            Rule::CrlProfile => "crl_profile",
        }
    }

    /// What the rule asks, in words.
    pub fn describe(self) -> &'static str {
        match self {
            Rule::WellFormedExtensions => {
                "a known extension is malformed or repeated (RFC 5280 4.2)"
            }
            Rule::SerialNumber => {
                "the serial number is not a positive integer of at most 20 octets (RFC 5280 4.1.2.2)"
            }
            Rule::AkiNonCritical => "authorityKeyIdentifier is marked critical (RFC 5280 4.2.1.1)",
            Rule::AkiPresent => {
                "authorityKeyIdentifier with a keyIdentifier is missing in a certificate \
                 not issued by itself (RFC 5280 4.2.1.1)"
            }
            Rule::SkiNonCritical => "subjectKeyIdentifier is marked critical (RFC 5280 4.2.1.2)",
            Rule::SkiInCa => "a CA certificate has no subjectKeyIdentifier (RFC 5280 4.2.1.2)",
            Rule::KeyCertSignNeedsCa => {
                "keyUsage keyCertSign without basicConstraints cA TRUE (RFC 5280 4.2.1.3)"
            }
            Rule::CaBasicConstraintsCritical => {
                "a CA certificate's basicConstraints is not critical (RFC 5280 4.2.1.9)"
            }
            Rule::NameConstraintsCritical => "nameConstraints is not critical (RFC 5280 4.2.1.10)",
            Rule::NameConstraintsOnlyInCa => {
                "nameConstraints in a certificate that is not a CA (RFC 5280 4.2.1.10)"
            }
            Rule::SanCriticalIfSubjectEmpty => {
                "the subject is empty and subjectAltName is missing or not critical (RFC 5280 4.2.1.6)"
            }
            Rule::PolicyConstraintsCritical => {
                "policyConstraints is not critical (RFC 5280 4.2.1.11)"
            }
            Rule::DnsNameSyntax => {
                "a dNSName (subjectAltName or name constraint) is not in preferred name syntax \
                 (RFC 5280 4.2.1.6, 4.2.1.10)"
            }
            Rule::LeafServerAuth => {
                "the server certificate has no extendedKeyUsage serverAuth (CA/B BR 7.1.2.7.10)"
            }
            Rule::LeafNoAnyEku => {
                "the server certificate's extendedKeyUsage has anyExtendedKeyUsage (CA/B BR 7.1.2.7.10)"
            }
            Rule::LeafEkuNonCritical => {
                "the server certificate's extendedKeyUsage is critical (CA/B BR 7.1.2.7.6)"
            }
            Rule::LeafNotCa => "the server certificate is a CA (CA/B BR 7.1.2.7.8)",
            Rule::AnchorNoEku => "the root has an extendedKeyUsage (CA/B BR 7.1.2.1.2)",
            Rule::SanNonCriticalWithSubject => {
                "subjectAltName is critical although the subject is not empty (CA/B BR 7.1.2.7.12)"
            }
            Rule::AkiKeyIdOnly => {
                "authorityKeyIdentifier lacks keyIdentifier or carries authorityCertIssuer / \
                 authorityCertSerialNumber (CA/B BR 7.1.2.1.3)"
            }
            Rule::AnchorAkiMatchesSki => {
                "the self-issued root's authorityKeyIdentifier differs from its \
                 subjectKeyIdentifier (CA/B BR 7.1.2.1.3)"
            }
            Rule::RsaModulusMultipleOf8 => {
                "the RSA modulus is not a multiple of 8 bits (CA/B BR 6.1.5)"
            }
            Rule::CnAmongSans => {
                "the subject commonName is not one of the subjectAltName values (CA/B BR 7.1.4.3)"
            }
            Rule::CrlNumber => {
                "a CRL of this CA lacks a valid non-critical cRLNumber (RFC 5280 5.2.3)"
            }
            Rule::CrlProfile => {
                "a CRL of this CA breaks RFC 5280 section 5 (version 2, issuer, signature \
                 algorithm, nextUpdate, authorityKeyIdentifier, extensions)"
            }
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.describe(), self.name())
    }
}

bitflags::bitflags! {
    /// A set of [`Rule`]s (one bit per rule, `1 << rule as u32`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct Rules: u32 {
        /// [`Rule::WellFormedExtensions`].
        const WELL_FORMED_EXTENSIONS = Rule::WellFormedExtensions.bit().bits();
        /// [`Rule::SerialNumber`].
        const SERIAL_NUMBER = Rule::SerialNumber.bit().bits();
        /// [`Rule::AkiNonCritical`].
        const AKI_NON_CRITICAL = Rule::AkiNonCritical.bit().bits();
        /// [`Rule::AkiPresent`].
        const AKI_PRESENT = Rule::AkiPresent.bit().bits();
        /// [`Rule::SkiNonCritical`].
        const SKI_NON_CRITICAL = Rule::SkiNonCritical.bit().bits();
        /// [`Rule::SkiInCa`].
        const SKI_IN_CA = Rule::SkiInCa.bit().bits();
        /// [`Rule::KeyCertSignNeedsCa`].
        const KEY_CERT_SIGN_NEEDS_CA = Rule::KeyCertSignNeedsCa.bit().bits();
        /// [`Rule::CaBasicConstraintsCritical`].
        const CA_BASIC_CONSTRAINTS_CRITICAL = Rule::CaBasicConstraintsCritical.bit().bits();
        /// [`Rule::NameConstraintsCritical`].
        const NAME_CONSTRAINTS_CRITICAL = Rule::NameConstraintsCritical.bit().bits();
        /// [`Rule::NameConstraintsOnlyInCa`].
        const NAME_CONSTRAINTS_ONLY_IN_CA = Rule::NameConstraintsOnlyInCa.bit().bits();
        /// [`Rule::SanCriticalIfSubjectEmpty`].
        const SAN_CRITICAL_IF_SUBJECT_EMPTY = Rule::SanCriticalIfSubjectEmpty.bit().bits();
        /// [`Rule::PolicyConstraintsCritical`].
        const POLICY_CONSTRAINTS_CRITICAL = Rule::PolicyConstraintsCritical.bit().bits();
        /// [`Rule::DnsNameSyntax`].
        const DNS_NAME_SYNTAX = Rule::DnsNameSyntax.bit().bits();
        /// [`Rule::LeafServerAuth`].
        const LEAF_SERVER_AUTH = Rule::LeafServerAuth.bit().bits();
        /// [`Rule::LeafNoAnyEku`].
        const LEAF_NO_ANY_EKU = Rule::LeafNoAnyEku.bit().bits();
        /// [`Rule::LeafEkuNonCritical`].
        const LEAF_EKU_NON_CRITICAL = Rule::LeafEkuNonCritical.bit().bits();
        /// [`Rule::LeafNotCa`].
        const LEAF_NOT_CA = Rule::LeafNotCa.bit().bits();
        /// [`Rule::AnchorNoEku`].
        const ANCHOR_NO_EKU = Rule::AnchorNoEku.bit().bits();
        /// [`Rule::SanNonCriticalWithSubject`].
        const SAN_NON_CRITICAL_WITH_SUBJECT = Rule::SanNonCriticalWithSubject.bit().bits();
        /// [`Rule::AkiKeyIdOnly`].
        const AKI_KEY_ID_ONLY = Rule::AkiKeyIdOnly.bit().bits();
        /// [`Rule::AnchorAkiMatchesSki`].
        const ANCHOR_AKI_MATCHES_SKI = Rule::AnchorAkiMatchesSki.bit().bits();
        /// [`Rule::RsaModulusMultipleOf8`].
        const RSA_MODULUS_MULTIPLE_OF_8 = Rule::RsaModulusMultipleOf8.bit().bits();
        /// [`Rule::CnAmongSans`].
        const CN_AMONG_SANS = Rule::CnAmongSans.bit().bits();
        /// [`Rule::CrlNumber`].
        const CRL_NUMBER = Rule::CrlNumber.bit().bits();
        /// [`Rule::CrlProfile`].
        const CRL_PROFILE = Rule::CrlProfile.bit().bits();
    }
}
