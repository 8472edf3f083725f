//! Whom to trust, as one value.
//!
//! mbedTLS has two setters whose last call wins (`mbedtls_ssl_conf_ca_chain`,
//! `mbedtls_ssl_conf_ca_cb`), and the CA callback silently ignores CRLs. Here trust is
//! one [`Trust`] value, so no impossible state can be expressed:
//! - [`Trust::anchors`]: a static set of trusted CAs, optionally with CRLs;
//! - [`Trust::callback`]: a closure that receives the certificate whose issuer is
//!   sought and returns the candidate trusted CAs for it (none, one or many), or an error
//!   that fails verification. No CRLs in this mode (mbedTLS does not support them there).
#![allow(unsafe_code)]

use alloc::boxed::Box;
use alloc::string::String;
use core::ffi::c_void;
use core::fmt;
use core::ptr::NonNull;

use crate::error::{Error, Reason, Result};
use crate::profile::{CrlVerdicts, Rule, Rules};
use crate::sync::Arc;
use crate::sys;
use crate::x509::{CertChain, CertRef, Crl};

/// The trusted CAs (and revocation lists) a verification or TLS endpoint uses.
#[derive(Clone, Debug)]
pub enum Trust {
    /// A static set of trusted CAs (`mbedtls_ssl_conf_ca_chain`).
    Anchors(Anchors),
    /// A runtime lookup (`mbedtls_ssl_conf_ca_cb`).
    #[cfg(mbedtls_ca_cb)]
    #[cfg_attr(docsrs, doc(cfg(mbedtls_ca_cb)))]
    Callback(CaCallback),
}

/// A static set of trusted CA certificates with optional CRLs.
#[derive(Clone)]
pub struct Anchors {
    pub(crate) cas: Arc<CertChain>,
    pub(crate) crl: Option<Arc<TrustedCrl>>,
}

/// The trust store's CRLs with the CRL rules' verdicts on them, read once when the trust
/// store is built (the CRLs never change afterwards).
pub(crate) struct TrustedCrl {
    crl: Crl,
    verdicts: CrlVerdicts,
}

impl TrustedCrl {
    /// The CRLs, for `mbedtls_ssl_conf_ca_chain` / `mbedtls_x509_crt_verify`.
    pub(crate) fn as_ptr(&self) -> *mut sys::mv_crl {
        self.crl.as_ptr()
    }
}

impl fmt::Debug for Anchors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Anchors")
            .field("cas", &self.cas.len())
            .field("crl", &self.crl.is_some())
            .finish()
    }
}

impl Anchors {
    /// The first rule of `rules` ([`Rule::CrlNumber`], [`Rule::CrlProfile`]) broken by a
    /// CRL of this trust store issued by `subject` (a Name's DER), as
    /// [`crate::profile::check_crl`] judges it; a lookup of verdicts computed when the
    /// trust store was built.
    pub(crate) fn crl_violation(&self, rules: Rules, subject: &[u8]) -> Option<Rule> {
        let t = self.crl.as_ref()?;
        let verdict = t.verdicts.violation(&t.crl, rules, subject);
        // Debug builds (every test) check the lookup against reading the CRLs.
        debug_assert_eq!(
            verdict,
            CrlVerdicts::Live.violation(&t.crl, rules, subject),
            "cached CRL verdicts disagree with the CRLs"
        );
        verdict
    }
}

impl Trust {
    /// Trust these CA certificates (at least one).
    #[doc(alias = "mbedtls_ssl_conf_ca_chain")]
    pub fn anchors(cas: CertChain) -> Result<Self> {
        if cas.is_empty() {
            return Err(Error::InvalidInput(
                "a trust anchor set needs at least one CA certificate".into(),
            ));
        }
        Ok(Trust::Anchors(Anchors {
            cas: Arc::new(cas),
            crl: None,
        }))
    }

    /// Trust these CAs and check revocation against `crl`. The certificate profiles' CRL
    /// rules ([`Rule::CrlNumber`], [`Rule::CrlProfile`]) are judged on `crl` here, once;
    /// a verification only looks the verdicts up.
    #[cfg(mbedtls_crl)]
    #[cfg_attr(docsrs, doc(cfg(mbedtls_crl)))]
    pub fn anchors_with_crl(cas: CertChain, crl: Crl) -> Result<Self> {
        let mut t = Self::anchors(cas)?;
        if let Trust::Anchors(a) = &mut t {
            a.crl = Some(Arc::new(TrustedCrl {
                verdicts: CrlVerdicts::of(&crl),
                crl,
            }));
        }
        Ok(t)
    }

    /// Look trusted CAs up at run time. The closure gets the certificate whose issuer is
    /// sought; it is `Fn + Send + Sync + 'static` and shared by reference counting.
    #[cfg(mbedtls_ca_cb)]
    #[cfg_attr(docsrs, doc(cfg(mbedtls_ca_cb)))]
    #[doc(alias = "mbedtls_ssl_conf_ca_cb")]
    pub fn callback(
        f: impl Fn(CertRef<'_>) -> Result<CaCandidates, CaLookupError> + Send + Sync + 'static,
    ) -> Self {
        Trust::Callback(CaCallback(Arc::new(Box::new(f))))
    }

    /// Whether a certificate with exactly this DER is one of the static anchors.
    pub(crate) fn anchors_contain(&self, der: &[u8]) -> bool {
        match self {
            Trust::Anchors(a) => a.cas.contains_der(der),
            #[cfg(mbedtls_ca_cb)]
            Trust::Callback(_) => false,
        }
    }
}

type CaFn = dyn Fn(CertRef<'_>) -> Result<CaCandidates, CaLookupError> + Send + Sync + 'static;

/// A CA lookup callback, shared by reference counting.
#[derive(Clone)]
pub struct CaCallback(pub(crate) Arc<Box<CaFn>>);

impl fmt::Debug for CaCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CaCallback(..)")
    }
}

/// Why a CA lookup failed; verification then fails.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CaLookupError(pub String);

/// The candidate CAs a callback returns. Built directly in mbedTLS's allocator: mbedTLS
/// takes ownership of the list and frees it (`mbedtls_x509_crt_free` + `mbedtls_free`).
#[derive(Debug, Default)]
pub struct CaCandidates {
    list: Option<CertChain>,
}

impl CaCandidates {
    /// No candidate: the certificate's issuer is not trusted.
    pub fn none() -> Self {
        Self::default()
    }

    /// Add a copy of a CA certificate.
    pub fn push(&mut self, ca: CertRef<'_>) -> Result<()> {
        self.push_der(ca.der())
    }

    /// Add a CA certificate from DER.
    pub fn push_der(&mut self, der: &[u8]) -> Result<()> {
        match &mut self.list {
            Some(l) => l.push_der(der),
            None => {
                self.list = Some(CertChain::from_der(der)?);
                Ok(())
            }
        }
    }

    /// Add a CA certificate that lives for the whole program (e.g. in flash): parsed in
    /// place, not copied.
    #[doc(alias = "mbedtls_x509_crt_parse_der_nocopy")]
    pub fn push_static_der(&mut self, der: &'static [u8]) -> Result<()> {
        match &mut self.list {
            Some(l) => l.push_static_der(der),
            None => {
                let mut l = CertChain::new()?;
                l.push_static_der(der)?;
                self.list = Some(l);
                Ok(())
            }
        }
    }

    /// Every certificate of `chain`.
    pub fn from_chain(chain: &CertChain) -> Result<Self> {
        let mut c = Self::none();
        for cert in chain {
            c.push(cert)?;
        }
        Ok(c)
    }

    /// How many candidates were added.
    pub fn len(&self) -> usize {
        self.list.as_ref().map_or(0, |l| l.len())
    }

    /// Whether no candidate was added.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn into_raw(self) -> *mut sys::mv_cert {
        match self.list {
            Some(l) if !l.is_empty() => l.into_raw(),
            _ => core::ptr::null_mut(),
        }
    }
}

/// Context of the CA callback trampoline: the callback, and where to record a failure
/// (offline verification only; TLS reports the mbedTLS error).
pub(crate) struct CaCtx {
    pub(crate) cb: CaCallback,
    pub(crate) failure: Option<Reason>,
    pub(crate) record: bool,
}

/// The `f_ca_cb` trampoline. `ctx` points at a `CaCtx`: exclusive for offline
/// verification (`record = true`); for a TLS configuration it is shared by every
/// connection and only read (`record = false`).
pub(crate) unsafe extern "C" fn ca_cb_trampoline(
    ctx: *mut c_void,
    child: *const sys::mv_cert,
    candidates: *mut *mut sys::mv_cert,
) -> i32 {
    if ctx.is_null() || candidates.is_null() {
        return sys::MV_ERR_CALLBACK_FAILED;
    }
    let Some(child) = NonNull::new(child.cast_mut()) else {
        return sys::MV_ERR_CALLBACK_FAILED;
    };
    // SAFETY: out-pointer from mbedTLS; start with "no candidates".
    unsafe { *candidates = core::ptr::null_mut() };
    // SAFETY: ctx is the CaCtx registered with this verification or configuration.
    let cx = unsafe { &*(ctx as *const CaCtx) };
    // SAFETY: the child certificate is alive for the duration of the call.
    let child = unsafe { CertRef::from_raw(child) };
    let outcome = crate::platform::guard(|| (cx.cb.0)(child));
    let (rc, failure) = match outcome {
        Ok(Ok(list)) => {
            let raw = list.into_raw();
            // SAFETY: out-pointer from mbedTLS, which now owns the list.
            unsafe { *candidates = raw };
            (0, None)
        }
        Ok(Err(e)) => (
            sys::MV_ERR_CALLBACK_FAILED,
            Some(Reason::CaCallbackFailed(e.0)),
        ),
        Err(()) => (sys::MV_ERR_CALLBACK_PANIC, Some(Reason::CallbackPanicked)),
    };
    if let (true, Some(f)) = (cx.record, failure) {
        // SAFETY: record is true only for offline verification, where the context is
        // exclusive to this call chain (see CaCtx); no other reference is live now.
        unsafe { (*(ctx as *mut CaCtx)).failure.get_or_insert(f) };
    }
    rc
}
