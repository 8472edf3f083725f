//! Certificates, chains and CRLs.
//!
//! [`CertChain`] owns one or more parsed certificates (an `mbedtls_x509_crt` list);
//! [`CertRef`] is a borrowed view of one certificate, handed to callbacks, that cannot
//! outlive what it borrows. Typed accessors live in [`fields`](self) (`subject()`,
//! `subject_alt_names()`, `extended_key_usage()`, `basic_constraints()`, ...).
//!
//! This module owns the C handles: it is one of the few places with `unsafe`.
#![allow(unsafe_code)]

mod fields;
pub use crate::time::DateTime;
pub use fields::*;

use alloc::vec::Vec;
use core::fmt;
use core::marker::PhantomData;
use core::ptr::NonNull;

use crate::error::{Error, MbedtlsError, Result, cvt};
use crate::pem::looks_like_pem;
use crate::sys;

/// An owned chain of one or more certificates, as mbedTLS parsed them.
///
/// The first certificate is the head (for a peer chain: the leaf).
#[doc(alias = "mbedtls_x509_crt")]
pub struct CertChain {
    ptr: NonNull<sys::mv_cert>,
}

// SAFETY: a parsed mbedtls_x509_crt list is only read after parsing (verification takes
// it by pointer but does not modify it; mbedTLS documents sharing a CA chain between
// threads with MBEDTLS_THREADING_C, which guards the one mutable part, the RSA context).
// Mutation (`push_*`) needs `&mut self`.
unsafe impl Send for CertChain {}
// SAFETY: see above: shared access is read-only.
unsafe impl Sync for CertChain {}

impl CertChain {
    /// An empty chain (no certificate yet).
    #[doc(alias = "mbedtls_x509_crt_init")]
    pub fn new() -> Result<Self> {
        crate::platform::init()?;
        // SAFETY: returns an owned, initialised list head allocated by mbedtls_calloc, or NULL.
        let ptr = unsafe { sys::mv_crt_new() };
        NonNull::new(ptr)
            .map(|ptr| CertChain { ptr })
            .ok_or(Error::Mbedtls(MbedtlsError::new(
                sys::MBEDTLS_ERR_X509_ALLOC_FAILED,
            )))
    }

    /// Parse one DER certificate.
    #[doc(alias = "mbedtls_x509_crt_parse_der")]
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let mut c = Self::new()?;
        c.push_der(der)?;
        Ok(c)
    }

    /// Parse every certificate of a PEM text (at least one; any bad block is an error).
    #[doc(alias = "mbedtls_x509_crt_parse")]
    pub fn from_pem(pem: &[u8]) -> Result<Self> {
        let mut c = Self::new()?;
        c.push_pem(pem)?;
        Ok(c)
    }

    /// Parse PEM (one or many certificates) or a single DER certificate.
    #[doc(alias = "mbedtls_x509_crt_parse")]
    pub fn parse(data: &[u8]) -> Result<Self> {
        if looks_like_pem(data) {
            Self::from_pem(data)
        } else {
            Self::from_der(data)
        }
    }

    /// Parse DER kept in static memory (flash) without copying it.
    #[doc(alias = "mbedtls_x509_crt_parse_der_nocopy")]
    pub fn from_static_der(der: &'static [u8]) -> Result<Self> {
        let mut c = Self::new()?;
        c.push_static_der(der)?;
        Ok(c)
    }

    /// Append one DER certificate (copied).
    #[doc(alias = "mbedtls_x509_crt_parse_der")]
    pub fn push_der(&mut self, der: &[u8]) -> Result<()> {
        // SAFETY: self.ptr is a valid list; der is readable for its length and copied.
        let rc = unsafe { sys::mv_crt_parse_der(self.ptr.as_ptr(), der.as_ptr(), der.len()) };
        cvt(rc).map_err(|code| Error::Parse {
            what: "certificate (DER)",
            code,
        })?;
        Ok(())
    }

    /// Append one DER certificate that lives for the whole program (not copied).
    #[doc(alias = "mbedtls_x509_crt_parse_der_nocopy")]
    pub fn push_static_der(&mut self, der: &'static [u8]) -> Result<()> {
        // SAFETY: der is 'static, so it outlives the list, as nocopy parsing requires.
        let rc =
            unsafe { sys::mv_crt_parse_der_nocopy(self.ptr.as_ptr(), der.as_ptr(), der.len()) };
        cvt(rc).map_err(|code| Error::Parse {
            what: "certificate (DER)",
            code,
        })?;
        Ok(())
    }

    /// Append every certificate of a PEM text. Fails if none is found or any fails.
    #[doc(alias = "mbedtls_x509_crt_parse")]
    pub fn push_pem(&mut self, pem: &[u8]) -> Result<()> {
        if !looks_like_pem(pem) {
            return Err(Error::InvalidInput("no PEM certificate found".into()));
        }
        let before = self.len();
        let mut buf = Vec::with_capacity(pem.len() + 1);
        buf.extend_from_slice(pem);
        buf.push(0);
        // SAFETY: buf is NUL-terminated and its length counts the NUL, as PEM parsing needs.
        let rc = unsafe { sys::mv_crt_parse_pem(self.ptr.as_ptr(), buf.as_ptr(), buf.len()) };
        cvt(rc).map_err(|code| Error::Parse {
            what: "certificate (PEM)",
            code,
        })?;
        if self.len() == before {
            return Err(Error::InvalidInput("no certificate in PEM input".into()));
        }
        Ok(())
    }

    /// Number of certificates.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether the chain holds no certificate.
    pub fn is_empty(&self) -> bool {
        // SAFETY: self.ptr is a valid list head.
        unsafe { sys::mv_crt_is_empty(self.ptr.as_ptr()) != 0 }
    }

    /// The certificates, head first.
    pub fn iter(&self) -> Certs<'_> {
        let first = if self.is_empty() {
            None
        } else {
            Some(self.ptr)
        };
        Certs {
            next: first,
            _chain: PhantomData,
        }
    }

    /// The first certificate (for a peer chain, the leaf).
    pub fn first(&self) -> Option<CertRef<'_>> {
        self.iter().next()
    }

    /// The raw list head, for the shim. Valid while `self` lives.
    pub(crate) fn as_ptr(&self) -> *mut sys::mv_cert {
        self.ptr.as_ptr()
    }

    /// Every certificate as PEM (`CERTIFICATE` blocks), head first.
    pub fn to_pem(&self) -> alloc::string::String {
        self.iter()
            .map(|c| crate::pem::encode("CERTIFICATE", c.der()))
            .collect()
    }

    /// Whether a certificate with exactly this DER encoding is in the chain.
    pub fn contains_der(&self, der: &[u8]) -> bool {
        self.iter().any(|c| c.der() == der)
    }

    /// Hand the list to mbedTLS, which frees it with `mbedtls_x509_crt_free` + `mbedtls_free`.
    pub(crate) fn into_raw(self) -> *mut sys::mv_cert {
        let p = self.ptr.as_ptr();
        core::mem::forget(self);
        p
    }
}

impl Drop for CertChain {
    fn drop(&mut self) {
        // SAFETY: self.ptr is the owned list from mv_crt_new; never used again.
        unsafe { sys::mv_crt_free(self.ptr.as_ptr()) }
    }
}

impl Clone for CertChain {
    fn clone(&self) -> Self {
        let mut c = CertChain::new().expect("allocating a certificate list");
        for cert in self.iter() {
            c.push_der(cert.der())
                .expect("re-parsing a parsed certificate");
        }
        c
    }
}

impl fmt::Debug for CertChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for &'a CertChain {
    type Item = CertRef<'a>;
    type IntoIter = Certs<'a>;
    fn into_iter(self) -> Certs<'a> {
        self.iter()
    }
}

/// Iterator over the certificates of a chain.
#[derive(Debug)]
pub struct Certs<'a> {
    next: Option<NonNull<sys::mv_cert>>,
    _chain: PhantomData<&'a CertChain>,
}

impl<'a> Iterator for Certs<'a> {
    type Item = CertRef<'a>;
    fn next(&mut self) -> Option<CertRef<'a>> {
        let cur = self.next?;
        // SAFETY: cur is a parsed node of a list borrowed for 'a.
        self.next = NonNull::new(unsafe { sys::mv_crt_next(cur.as_ptr()) });
        Some(CertRef {
            ptr: cur,
            _life: PhantomData,
        })
    }
}

/// The certificates from `head` on, following mbedTLS's list.
///
/// # Safety
/// `head` must be a node of a parsed list that stays alive and unchanged for `'a`.
pub(crate) unsafe fn certs_from(head: CertRef<'_>) -> Certs<'_> {
    Certs {
        next: Some(head.ptr),
        _chain: PhantomData,
    }
}

/// SHA-256 of `data`.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    // SAFETY: data is readable for its length; out is writable for the 32 bytes the shim
    // writes.
    let rc = unsafe { sys::mv_sha256(data.as_ptr(), data.len(), out.as_mut_ptr()) };
    // SHA-256 is always compiled in (the config requires it for X.509 and TLS), and
    // hashing a memory buffer has no other failure mode.
    assert!(
        rc == 0,
        "mv_sha256 failed ({rc}): SHA-256 missing from the mbedTLS build"
    );
    out
}

/// Input of [`write_crt_der`]: what `mv_crt_write_params` carries, borrowed.
pub(crate) struct CrtWriteParams<'p> {
    /// mbedTLS string form, e.g. `CN=x,O=y`.
    pub subject_name: &'p core::ffi::CStr,
    pub issuer_name: &'p core::ffi::CStr,
    /// Unsigned big-endian, 1 to 20 bytes.
    pub serial: &'p [u8],
    /// `YYYYMMDDhhmmss`.
    pub not_before: &'p core::ffi::CStr,
    pub not_after: &'p core::ffi::CStr,
    /// An `mbedtls_md_type_t`.
    pub md_alg: u32,
    pub key_identifiers: bool,
    /// (OID contents, critical, extnValue contents) of every other extension.
    pub extensions: &'p [(&'p [u8], bool, &'p [u8])],
}

/// Write and sign a certificate with `mbedtls_x509write_crt_der`; returns its DER.
#[doc(alias = "mbedtls_x509write_crt_der")]
pub(crate) fn write_crt_der(
    params: &CrtWriteParams<'_>,
    subject_key: &crate::pk::PrivateKey,
    issuer_key: &crate::pk::PrivateKey,
) -> Result<Vec<u8>> {
    let buf_ptr = |b: &[u8]| sys::mv_buf {
        p: b.as_ptr(),
        len: b.len(),
    };
    let exts: Vec<sys::mv_raw_ext> = params
        .extensions
        .iter()
        .map(|&(oid, critical, value)| sys::mv_raw_ext {
            oid: buf_ptr(oid),
            critical: i32::from(critical),
            value: buf_ptr(value),
        })
        .collect();
    let raw = sys::mv_crt_write_params {
        subject_name: params.subject_name.as_ptr(),
        issuer_name: params.issuer_name.as_ptr(),
        serial: buf_ptr(params.serial),
        not_before: params.not_before.as_ptr(),
        not_after: params.not_after.as_ptr(),
        md_alg: params.md_alg,
        key_identifiers: i32::from(params.key_identifiers),
        exts: exts.as_ptr(),
        ext_count: exts.len(),
    };
    let ext_bytes: usize = params
        .extensions
        .iter()
        .map(|(o, _, v)| o.len() + v.len() + 16)
        .sum();
    let mut buf = alloc::vec![0u8; 8192 + ext_bytes];
    let mut len = 0usize;
    // SAFETY: every pointer in `raw` borrows from `params` or `exts`, which outlive the
    // call; the strings are NUL-terminated CStrs; both keys are valid contexts that the
    // writer only reads (and signs with); buf is writable for its length and the shim
    // sets len to the size of the DER it moved to the front of buf.
    let rc = unsafe {
        sys::mv_crt_write_der(
            &raw,
            subject_key.as_ptr(),
            issuer_key.as_ptr(),
            buf.as_mut_ptr(),
            buf.len(),
            &mut len,
        )
    };
    cvt(rc)?;
    buf.truncate(len);
    Ok(buf)
}

/// A borrowed view of one parsed certificate. It cannot outlive what it borrows (a
/// [`CertChain`], or the verification that handed it to a callback).
#[derive(Clone, Copy)]
pub struct CertRef<'a> {
    ptr: NonNull<sys::mv_cert>,
    _life: PhantomData<&'a sys::mv_cert>,
}

impl<'a> CertRef<'a> {
    /// # Safety
    /// `ptr` must be a parsed certificate that stays valid and unchanged for `'a`.
    pub(crate) unsafe fn from_raw(ptr: NonNull<sys::mv_cert>) -> CertRef<'a> {
        CertRef {
            ptr,
            _life: PhantomData,
        }
    }

    pub(crate) fn as_ptr(&self) -> *mut sys::mv_cert {
        self.ptr.as_ptr()
    }

    /// What the shim reads out of the certificate (pointers borrow from it).
    pub(crate) fn info(&self) -> sys::mv_cert_info {
        let mut info = sys::mv_cert_info::default();
        // SAFETY: self.ptr is a valid parsed certificate; info is a valid out-pointer.
        unsafe { sys::mv_crt_info(self.ptr.as_ptr(), &mut info) };
        info
    }

    /// A byte range of this certificate as a slice living as long as the view.
    pub(crate) fn slice(&self, b: sys::mv_buf) -> &'a [u8] {
        if b.p.is_null() || b.len == 0 {
            return &[];
        }
        // SAFETY: the shim returns ranges inside the certificate, valid for 'a.
        unsafe { core::slice::from_raw_parts(b.p, b.len) }
    }

    /// Entry `idx` of one of the lists mbedTLS keeps (SANs, EKUs, policies): tag + contents.
    pub(crate) fn seq(&self, kind: u32, idx: usize) -> Option<(u8, &'a [u8])> {
        let mut tag = 0u8;
        let mut out = sys::mv_buf::default();
        // SAFETY: valid certificate and out-pointers.
        let rc =
            unsafe { sys::mv_crt_seq_get(self.ptr.as_ptr(), kind as i32, idx, &mut tag, &mut out) };
        (rc == 0).then(|| (tag, self.slice(out)))
    }

    /// The whole certificate, DER.
    pub fn der(&self) -> &'a [u8] {
        self.part(sys::MV_PART_RAW)
    }

    /// One byte range of the certificate (`MV_PART_*`), cheaper than [`info`](Self::info).
    pub(crate) fn part(&self, part: u32) -> &'a [u8] {
        // SAFETY: self.ptr is a valid parsed certificate; unknown parts come back empty.
        self.slice(unsafe { sys::mv_crt_part(self.ptr.as_ptr(), part as core::ffi::c_int) })
    }

    /// A new owned chain holding a copy of this certificate.
    pub fn to_chain(&self) -> Result<CertChain> {
        CertChain::from_der(self.der())
    }

    /// Whether `key` is the private key of this certificate's public key.
    #[doc(alias = "mbedtls_pk_check_pair")]
    pub fn matches_key(&self, key: &crate::pk::PrivateKey) -> bool {
        // SAFETY: both handles are valid for the call.
        unsafe { sys::mv_crt_check_key(self.ptr.as_ptr(), key.as_ptr()) == 0 }
    }
}

// SAFETY: a CertRef is a shared, read-only borrow of a parsed certificate (see CertChain).
unsafe impl Send for CertRef<'_> {}
// SAFETY: as above.
unsafe impl Sync for CertRef<'_> {}

impl PartialEq for CertRef<'_> {
    /// Identity: the same DER encoding.
    fn eq(&self, other: &Self) -> bool {
        self.der() == other.der()
    }
}
impl Eq for CertRef<'_> {}

impl fmt::Debug for CertRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertRef")
            .field("subject", &self.subject().to_string_lossy())
            .field("issuer", &self.issuer().to_string_lossy())
            .finish()
    }
}

/// One or more certificate revocation lists.
#[doc(alias = "mbedtls_x509_crl")]
pub struct Crl {
    ptr: NonNull<sys::mv_crl>,
}

// SAFETY: read-only after parsing, like CertChain; mutation needs &mut self.
unsafe impl Send for Crl {}
// SAFETY: as above.
unsafe impl Sync for Crl {}

impl Crl {
    fn new() -> Result<Self> {
        crate::platform::init()?;
        // SAFETY: returns an owned, initialised CRL head or NULL (also when CRLs are compiled out).
        let ptr = unsafe { sys::mv_crl_new() };
        NonNull::new(ptr)
            .map(|ptr| Crl { ptr })
            .ok_or(Error::Unsupported("CRLs"))
    }

    /// Parse a CRL (PEM or DER); several PEM CRLs may be concatenated.
    #[doc(alias = "mbedtls_x509_crl_parse")]
    pub fn parse(data: &[u8]) -> Result<Self> {
        let mut c = Self::new()?;
        c.push(data)?;
        Ok(c)
    }

    /// Add another CRL (PEM or DER).
    #[doc(alias = "mbedtls_x509_crl_parse")]
    pub fn push(&mut self, data: &[u8]) -> Result<()> {
        let mut buf = Vec::with_capacity(data.len() + 1);
        buf.extend_from_slice(data);
        if looks_like_pem(data) {
            buf.push(0);
        }
        // SAFETY: valid handle; buf readable; NUL-terminated for PEM as required.
        let rc = unsafe { sys::mv_crl_parse(self.ptr.as_ptr(), buf.as_ptr(), buf.len()) };
        cvt(rc).map_err(|code| Error::Parse { what: "CRL", code })?;
        Ok(())
    }

    /// The DER of each CRL of the list, in order.
    pub fn ders(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..).map_while(move |i| {
            // SAFETY: valid handle; the shim only reads the list.
            let b = unsafe { sys::mv_crl_raw(self.ptr.as_ptr(), i) };
            // SAFETY: the buffer belongs to the CRL, which outlives the borrow of self.
            (!b.p.is_null()).then(|| unsafe { core::slice::from_raw_parts(b.p, b.len) })
        })
    }

    pub(crate) fn as_ptr(&self) -> *mut sys::mv_crl {
        self.ptr.as_ptr()
    }
}

impl Drop for Crl {
    fn drop(&mut self) {
        // SAFETY: owned handle from mv_crl_new.
        unsafe { sys::mv_crl_free(self.ptr.as_ptr()) }
    }
}

impl fmt::Debug for Crl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Crl { .. }")
    }
}
