//! [`VerifyFlags`]: mbedTLS's certificate and CRL verification failure flags, typed.
//!
//! A basic layer (see the crate's layer picture): errors, the verify hook, the offline
//! verifier and the sessions all carry these flags, so they live below all of them. The
//! public path is [`crate::verify::VerifyFlags`].

use crate::sys;

bitflags::bitflags! {
    /// mbedTLS's verification failure flags (`MBEDTLS_X509_BADCERT_*`, `MBEDTLS_X509_BADCRL_*`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct VerifyFlags: u32 {
        /// The certificate has expired (`MBEDTLS_X509_BADCERT_EXPIRED`).
        const EXPIRED = sys::MBEDTLS_X509_BADCERT_EXPIRED;
        /// The certificate is revoked by a CRL (`MBEDTLS_X509_BADCERT_REVOKED`).
        const REVOKED = sys::MBEDTLS_X509_BADCERT_REVOKED;
        /// The expected name matches neither the SAN nor (mbedTLS) the CN (`MBEDTLS_X509_BADCERT_CN_MISMATCH`).
        const CN_MISMATCH = sys::MBEDTLS_X509_BADCERT_CN_MISMATCH;
        /// The chain does not end at a trusted CA (`MBEDTLS_X509_BADCERT_NOT_TRUSTED`).
        const NOT_TRUSTED = sys::MBEDTLS_X509_BADCERT_NOT_TRUSTED;
        /// The CRL is not signed by a trusted CA (`MBEDTLS_X509_BADCRL_NOT_TRUSTED`).
        const CRL_NOT_TRUSTED = sys::MBEDTLS_X509_BADCRL_NOT_TRUSTED;
        /// The CRL is past its nextUpdate (`MBEDTLS_X509_BADCRL_EXPIRED`).
        const CRL_EXPIRED = sys::MBEDTLS_X509_BADCRL_EXPIRED;
        /// No certificate was presented (`MBEDTLS_X509_BADCERT_MISSING`).
        const MISSING = sys::MBEDTLS_X509_BADCERT_MISSING;
        /// Verification was skipped (`MBEDTLS_X509_BADCERT_SKIP_VERIFY`).
        const SKIP_VERIFY = sys::MBEDTLS_X509_BADCERT_SKIP_VERIFY;
        /// Another reason, e.g. a callback failed (`MBEDTLS_X509_BADCERT_OTHER`).
        const OTHER = sys::MBEDTLS_X509_BADCERT_OTHER;
        /// The certificate is not valid yet (`MBEDTLS_X509_BADCERT_FUTURE`).
        const FUTURE = sys::MBEDTLS_X509_BADCERT_FUTURE;
        /// The CRL is not valid yet (`MBEDTLS_X509_BADCRL_FUTURE`).
        const CRL_FUTURE = sys::MBEDTLS_X509_BADCRL_FUTURE;
        /// keyUsage does not allow the use (`MBEDTLS_X509_BADCERT_KEY_USAGE`).
        const KEY_USAGE = sys::MBEDTLS_X509_BADCERT_KEY_USAGE;
        /// extendedKeyUsage does not allow the use (`MBEDTLS_X509_BADCERT_EXT_KEY_USAGE`).
        const EXT_KEY_USAGE = sys::MBEDTLS_X509_BADCERT_EXT_KEY_USAGE;
        /// The Netscape certificate type does not allow the use (`MBEDTLS_X509_BADCERT_NS_CERT_TYPE`).
        const NS_CERT_TYPE = sys::MBEDTLS_X509_BADCERT_NS_CERT_TYPE;
        /// Signed with a hash the profile does not allow (`MBEDTLS_X509_BADCERT_BAD_MD`).
        const BAD_MD = sys::MBEDTLS_X509_BADCERT_BAD_MD;
        /// Signed with a key algorithm the profile does not allow (`MBEDTLS_X509_BADCERT_BAD_PK`).
        const BAD_PK = sys::MBEDTLS_X509_BADCERT_BAD_PK;
        /// A key the profile does not allow (curve, RSA size) (`MBEDTLS_X509_BADCERT_BAD_KEY`).
        const BAD_KEY = sys::MBEDTLS_X509_BADCERT_BAD_KEY;
        /// The CRL is signed with a hash the profile does not allow (`MBEDTLS_X509_BADCRL_BAD_MD`).
        const CRL_BAD_MD = sys::MBEDTLS_X509_BADCRL_BAD_MD;
        /// The CRL is signed with a key algorithm the profile does not allow (`MBEDTLS_X509_BADCRL_BAD_PK`).
        const CRL_BAD_PK = sys::MBEDTLS_X509_BADCRL_BAD_PK;
        /// The CRL is signed with a key the profile does not allow (`MBEDTLS_X509_BADCRL_BAD_KEY`).
        const CRL_BAD_KEY = sys::MBEDTLS_X509_BADCRL_BAD_KEY;
    }
}

/// (flag, JSON name, description) for every flag.
const FLAG_TABLE: &[(VerifyFlags, &str, &str)] = &[
    (
        VerifyFlags::EXPIRED,
        "expired",
        "the certificate has expired",
    ),
    (
        VerifyFlags::REVOKED,
        "revoked",
        "the certificate has been revoked (in a CRL)",
    ),
    (
        VerifyFlags::CN_MISMATCH,
        "cn_mismatch",
        "the certificate does not match the expected name",
    ),
    (
        VerifyFlags::NOT_TRUSTED,
        "not_trusted",
        "the chain does not lead to a trusted CA (or a signature is wrong)",
    ),
    (
        VerifyFlags::CRL_NOT_TRUSTED,
        "crl_not_trusted",
        "the CRL is not signed by the trusted CA",
    ),
    (
        VerifyFlags::CRL_EXPIRED,
        "crl_expired",
        "the CRL is expired",
    ),
    (
        VerifyFlags::MISSING,
        "missing",
        "the certificate was missing",
    ),
    (
        VerifyFlags::SKIP_VERIFY,
        "skip_verify",
        "certificate verification was skipped",
    ),
    (
        VerifyFlags::OTHER,
        "other",
        "another reason (set by a callback)",
    ),
    (
        VerifyFlags::FUTURE,
        "future",
        "the certificate is not yet valid",
    ),
    (
        VerifyFlags::CRL_FUTURE,
        "crl_future",
        "the CRL is from the future",
    ),
    (
        VerifyFlags::KEY_USAGE,
        "key_usage",
        "the key usage extension does not allow this use",
    ),
    (
        VerifyFlags::EXT_KEY_USAGE,
        "ext_key_usage",
        "the extended key usage does not allow this use",
    ),
    (
        VerifyFlags::NS_CERT_TYPE,
        "ns_cert_type",
        "the Netscape cert type does not allow this use",
    ),
    (
        VerifyFlags::BAD_MD,
        "bad_md",
        "the certificate is signed with an unacceptable hash",
    ),
    (
        VerifyFlags::BAD_PK,
        "bad_pk",
        "the certificate is signed with an unacceptable key algorithm",
    ),
    (
        VerifyFlags::BAD_KEY,
        "bad_key",
        "the certificate's key is unacceptable (curve or size)",
    ),
    (
        VerifyFlags::CRL_BAD_MD,
        "crl_bad_md",
        "the CRL is signed with an unacceptable hash",
    ),
    (
        VerifyFlags::CRL_BAD_PK,
        "crl_bad_pk",
        "the CRL is signed with an unacceptable key algorithm",
    ),
    (
        VerifyFlags::CRL_BAD_KEY,
        "crl_bad_key",
        "the CRL is signed with an unacceptable key",
    ),
];

impl VerifyFlags {
    /// The snake_case name of a single flag (`"expired"`), or `"unknown"`.
    pub fn name(self) -> &'static str {
        FLAG_TABLE
            .iter()
            .find(|e| e.0 == self)
            .map_or("unknown", |e| e.1)
    }

    /// A sentence for a single flag, for people.
    pub fn describe(self) -> &'static str {
        FLAG_TABLE
            .iter()
            .find(|e| e.0 == self)
            .map_or("unknown flag", |e| e.2)
    }

    /// The names of every set flag, in bit order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        FLAG_TABLE
            .iter()
            .filter(move |e| self.contains(e.0))
            .map(|e| e.1)
    }

    /// Bits mbedTLS set that this crate has no name for.
    pub fn unknown_bits(raw: u32) -> u32 {
        raw & !VerifyFlags::all().bits()
    }
}
