//! Private keys: parse (PEM/DER, unencrypted), generate (ECDSA P-256/P-384, RSA), export.
//! Owns the `mbedtls_pk_context` handle: one of the few modules with `unsafe`.
#![allow(unsafe_code)]

use alloc::vec::Vec;
use core::fmt;
use core::ptr::NonNull;

use crate::error::{Error, MbedtlsError, Result, cvt};
use crate::sys;

/// Key algorithm to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyType {
    /// ECDSA on the NIST P-256 curve (secp256r1).
    EcdsaP256,
    /// ECDSA on the NIST P-384 curve (secp384r1).
    EcdsaP384,
    /// RSA with the given modulus size in bits (2048 or more).
    Rsa(u32),
}

/// A private key (`mbedtls_pk_context`). Key material is wiped by mbedTLS on drop.
#[doc(alias = "mbedtls_pk_context")]
pub struct PrivateKey {
    ptr: NonNull<sys::mv_pk>,
}

// SAFETY: the context is owned; mbedTLS guards RSA contexts with a mutex under
// MBEDTLS_THREADING_C and EC private-key operations do not modify the key.
unsafe impl Send for PrivateKey {}
// SAFETY: shared use only signs/reads; see above.
unsafe impl Sync for PrivateKey {}

impl PrivateKey {
    fn empty() -> Result<Self> {
        crate::platform::init()?;
        // SAFETY: returns an owned, initialised context or NULL.
        let ptr = unsafe { sys::mv_pk_new() };
        NonNull::new(ptr)
            .map(|ptr| PrivateKey { ptr })
            .ok_or(Error::Mbedtls(MbedtlsError::new(
                sys::MBEDTLS_ERR_PK_ALLOC_FAILED,
            )))
    }

    /// Generate a fresh key.
    #[doc(alias = "mbedtls_ecp_gen_key")]
    #[doc(alias = "mbedtls_rsa_gen_key")]
    pub fn generate(kind: KeyType) -> Result<Self> {
        let k = Self::empty()?;
        // SAFETY: k is a valid, empty context.
        let rc = unsafe {
            match kind {
                KeyType::EcdsaP256 => sys::mv_pk_gen_ec(k.as_ptr(), sys::MBEDTLS_ECP_DP_SECP256R1),
                KeyType::EcdsaP384 => sys::mv_pk_gen_ec(k.as_ptr(), sys::MBEDTLS_ECP_DP_SECP384R1),
                KeyType::Rsa(bits) if bits >= 2048 => sys::mv_pk_gen_rsa(k.as_ptr(), bits),
                KeyType::Rsa(_) => {
                    return Err(Error::InvalidInput(
                        "RSA keys must have at least 2048 bits".into(),
                    ));
                }
            }
        };
        cvt(rc)?;
        Ok(k)
    }

    /// Parse an unencrypted private key, PEM or DER (PKCS#8, SEC1 or PKCS#1).
    #[doc(alias = "mbedtls_pk_parse_key")]
    pub fn parse(data: &[u8]) -> Result<Self> {
        let k = Self::empty()?;
        let mut buf = zeroizing_copy(data);
        if crate::pem::looks_like_pem(data) {
            buf.0.push(0);
        }
        // SAFETY: valid context; buf readable for its length (NUL-terminated for PEM).
        let rc = unsafe { sys::mv_pk_parse_key(k.as_ptr(), buf.0.as_ptr(), buf.0.len()) };
        cvt(rc).map_err(|code| Error::Parse {
            what: "private key",
            code,
        })?;
        Ok(k)
    }

    /// The key as DER (SEC1 for EC, PKCS#1 for RSA).
    #[doc(alias = "mbedtls_pk_write_key_der")]
    pub fn to_der(&self) -> Result<Zeroizing> {
        let mut buf = Zeroizing(alloc::vec![0u8; 4096]);
        let mut len = 0usize;
        // SAFETY: valid context; buf writable for its length.
        let rc = unsafe {
            sys::mv_pk_write_key_der(self.as_ptr(), buf.0.as_mut_ptr(), buf.0.len(), &mut len)
        };
        cvt(rc)?;
        buf.0.truncate(len);
        Ok(buf)
    }

    /// The key as PEM (`EC PRIVATE KEY` or `RSA PRIVATE KEY`).
    pub fn to_pem(&self) -> Result<Zeroizing> {
        let der = self.to_der()?;
        let label = if self.is_rsa() {
            "RSA PRIVATE KEY"
        } else {
            "EC PRIVATE KEY"
        };
        Ok(Zeroizing(crate::pem::encode(label, &der.0).into_bytes()))
    }

    /// The SubjectPublicKeyInfo, DER.
    #[doc(alias = "mbedtls_pk_write_pubkey_der")]
    pub fn public_key_der(&self) -> Result<Vec<u8>> {
        let mut buf = alloc::vec![0u8; 2048];
        let mut len = 0usize;
        // SAFETY: valid context; buf writable for its length.
        let rc = unsafe {
            sys::mv_pk_write_pubkey_der(self.as_ptr(), buf.as_mut_ptr(), buf.len(), &mut len)
        };
        cvt(rc)?;
        buf.truncate(len);
        Ok(buf)
    }

    /// Whether this is an RSA key (`mbedtls_pk_get_type`).
    #[doc(alias = "mbedtls_pk_get_type")]
    pub fn is_rsa(&self) -> bool {
        // SAFETY: valid context.
        unsafe { sys::mv_pk_type(self.as_ptr()) == sys::MBEDTLS_PK_RSA }
    }

    /// Hash `data` with SHA-256/384/512 (`md` is an `MBEDTLS_MD_*` value) and sign it.
    pub(crate) fn sign(&self, md: u32, data: &[u8]) -> Result<Vec<u8>> {
        let mut sig = alloc::vec![0u8; 1024];
        let mut len = 0usize;
        // SAFETY: valid context and buffers.
        let rc = unsafe {
            sys::mv_pk_sign(
                self.as_ptr(),
                md,
                data.as_ptr(),
                data.len(),
                sig.as_mut_ptr(),
                sig.len(),
                &mut len,
            )
        };
        cvt(rc)?;
        sig.truncate(len);
        Ok(sig)
    }

    pub(crate) fn as_ptr(&self) -> *mut sys::mv_pk {
        self.ptr.as_ptr()
    }
}

impl Drop for PrivateKey {
    fn drop(&mut self) {
        // SAFETY: owned handle from mv_pk_new; mbedtls_pk_free zeroizes key material.
        unsafe { sys::mv_pk_free(self.ptr.as_ptr()) }
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_rsa() {
            "PrivateKey(RSA, ..)"
        } else {
            "PrivateKey(EC, ..)"
        })
    }
}

/// Bytes wiped (with `mbedtls_platform_zeroize`) when dropped: private key encodings.
pub struct Zeroizing(pub(crate) Vec<u8>);

impl Zeroizing {
    /// The bytes (wiped when this value is dropped).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Zeroizing {
    fn drop(&mut self) {
        // SAFETY: the vector's buffer is writable for its capacity.
        unsafe { sys::mv_zeroize(self.0.as_mut_ptr().cast(), self.0.capacity()) }
    }
}

impl fmt::Debug for Zeroizing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Zeroizing({} bytes)", self.0.len())
    }
}

fn zeroizing_copy(data: &[u8]) -> Zeroizing {
    let mut v = Vec::with_capacity(data.len() + 1);
    v.extend_from_slice(data);
    Zeroizing(v)
}
