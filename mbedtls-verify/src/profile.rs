//! The security profile of certificate verification (`mbedtls_x509_crt_profile`), typed:
//! which hashes and key algorithms may sign certificates, which curves, and the
//! minimum RSA size.

use crate::sys;

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
}

impl SecurityProfile {
    /// SHA-256/384/512, RSA (PKCS#1 v1.5 and PSS) of 2048 bits or more, ECDSA on
    /// P-256/P-384/P-521. mbedTLS's own default also allows SHA-224; this does not.
    pub const DEFAULT: SecurityProfile = SecurityProfile {
        hashes: Hashes::SHA256.union(Hashes::SHA384).union(Hashes::SHA512),
        key_algorithms: KeyAlgorithms::all(),
        curves: Curves::all(),
        min_rsa_bits: 2048,
    };

    /// NSA Suite B-like: ECDSA on P-256/P-384 with SHA-256/384 only.
    pub const SUITE_B: SecurityProfile = SecurityProfile {
        hashes: Hashes::SHA256.union(Hashes::SHA384),
        key_algorithms: KeyAlgorithms::ECDSA,
        curves: Curves::P256.union(Curves::P384),
        min_rsa_bits: u32::MAX,
    };

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
