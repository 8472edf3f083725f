//! Offline verification: the same trust, hook and security profile as a TLS endpoint,
//! applied to a chain without TLS (provisioning, logs, the CLI, conformance tests).
#![allow(unsafe_code)]

use alloc::ffi::CString;
use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::c_void;

use crate::error::{Error, MbedtlsError, Reason, Result, VerifyError};
use crate::platform::TimeOverride;
use crate::policy::{AllowRule, ClientPolicy};
use crate::profile::SecurityProfile;
use crate::sync::Arc;
use crate::sys;
use crate::trust::Trust;
use crate::verify::{Role, Scope, TraceEntry, VerifyFlags, VerifyHook, verify_trampoline};
use crate::x509::{CertChain, CertRef};

/// When certificates must be valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ValidationTime {
    /// The current time: the OS clock on the host, the clock installed with
    /// [`crate::platform::set_clock`] on bare metal (none installed: verification fails).
    #[default]
    Now,
    /// A fixed time, in Unix seconds (tests, conformance, devices without a clock).
    /// Applies to the calling thread only (mbedTLS reads time through the shim, whose
    /// override is thread-local on the host), so nothing is serialised. Needs the crate's
    /// own mbedTLS build: with ESP-IDF's or a prebuilt mbedTLS, which read the system time
    /// themselves, verification with a fixed time fails (`Reason::NoClock`) rather than
    /// silently using the current time.
    At(i64),
}

/// Verifies certificate chains against a [`Trust`], with an optional hook and policy.
#[derive(Clone)]
pub struct Verifier {
    trust: Trust,
    hook: Option<VerifyHook>,
    profile: SecurityProfile,
    time: ValidationTime,
    ignore_time: bool,
    policy: Option<Arc<ClientPolicy>>,
    name: Option<String>,
}

impl core::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Verifier")
            .field("trust", &self.trust)
            .field("hook", &self.hook.is_some())
            .field("profile", &self.profile)
            .field("time", &self.time)
            .field("ignore_time", &self.ignore_time)
            .finish()
    }
}

/// A chain that verified: the certificates as mbedTLS built the path (leaf first, trust
/// anchor last) with their roles.
#[derive(Debug, Clone)]
pub struct Verified {
    certs: CertChain,
    roles: Vec<Role>,
    time_checked: bool,
    authorized_by: Option<AllowRule>,
}

impl Verified {
    /// The verified path, leaf first.
    pub fn chain(&self) -> &CertChain {
        &self.certs
    }

    /// The role of each certificate of [`chain`](Self::chain), in the same order.
    pub fn roles(&self) -> &[Role] {
        &self.roles
    }

    /// The peer's own certificate (depth 0).
    pub fn leaf(&self) -> CertRef<'_> {
        self.certs.first().expect("a verified chain has a leaf")
    }

    /// The policy rule that admitted the chain, when the verifier has a policy.
    pub fn authorized_by(&self) -> Option<AllowRule> {
        self.authorized_by
    }

    /// `false` when validity dates were deliberately not checked
    /// ([`crate::danger::skip_time_checks`]).
    pub fn time_checked(&self) -> bool {
        self.time_checked
    }
}

impl Verifier {
    /// Verify against `trust` with the default [`SecurityProfile`], at the current time.
    pub fn new(trust: Trust) -> Self {
        Verifier {
            trust,
            hook: None,
            profile: SecurityProfile::DEFAULT,
            time: ValidationTime::Now,
            ignore_time: false,
            policy: None,
            name: None,
        }
    }

    /// Call `hook` for every certificate of each chain.
    pub fn with_hook(mut self, hook: VerifyHook) -> Self {
        self.hook = Some(hook);
        self
    }

    /// Check chains against this profile (`mbedtls_x509_crt_verify_with_profile`) instead of [`SecurityProfile::DEFAULT`].
    pub fn with_profile(mut self, profile: SecurityProfile) -> Self {
        self.profile = profile;
        self
    }

    /// Check validity dates at this time instead of now (the clock installed with [`platform::set_clock`](crate::platform::set_clock)).
    pub fn at_time(mut self, time: ValidationTime) -> Self {
        self.time = time;
        self
    }

    /// Also require the leaf to match this DNS name or IP address (as a TLS client does).
    pub fn expect_name(mut self, name: &str) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Also apply a client-authorization policy to every chain that verifies.
    pub fn with_policy(mut self, policy: ClientPolicy) -> Self {
        self.policy = Some(Arc::new(policy));
        self
    }

    /// The policy set with [`with_policy`](Self::with_policy).
    pub fn policy(&self) -> Option<&ClientPolicy> {
        self.policy.as_deref()
    }

    pub(crate) fn set_ignore_time(&mut self) {
        self.ignore_time = true;
    }

    /// The trust set chains are checked against.
    pub fn trust(&self) -> &Trust {
        &self.trust
    }

    /// Verify `chain` (leaf first, then any intermediates the peer would send).
    #[doc(alias = "mbedtls_x509_crt_verify_with_profile")]
    #[doc(alias = "mbedtls_x509_crt_verify_with_ca_cb")]
    pub fn verify(&self, chain: &CertChain) -> Result<Verified, VerifyError> {
        self.run(chain, false).1
    }

    /// Like [`verify`](Self::verify), also returning every hook call (depth, role, subject,
    /// flags) in the order mbedTLS made them.
    pub fn verify_traced(
        &self,
        chain: &CertChain,
    ) -> (Vec<TraceEntry>, Result<Verified, VerifyError>) {
        self.run(chain, true)
    }

    fn run(
        &self,
        chain: &CertChain,
        traced: bool,
    ) -> (Vec<TraceEntry>, Result<Verified, VerifyError>) {
        let fail = |reasons: Vec<Reason>, flags: VerifyFlags| Err(VerifyError { reasons, flags });
        if chain.is_empty() {
            return (
                Vec::new(),
                fail(
                    alloc::vec![Reason::Flags(VerifyFlags::MISSING)],
                    VerifyFlags::MISSING,
                ),
            );
        }
        if !cfg!(mbedtls_time_date) && !self.ignore_time {
            return (
                Vec::new(),
                fail(alloc::vec![Reason::NoClock], VerifyFlags::empty()),
            );
        }
        let cn = match self.name.as_deref().map(CString::new) {
            Some(Ok(c)) => Some(c),
            Some(Err(_)) => {
                return (
                    Vec::new(),
                    fail(
                        alloc::vec![Reason::Flags(VerifyFlags::CN_MISMATCH)],
                        VerifyFlags::CN_MISMATCH,
                    ),
                );
            }
            None => None,
        };
        if matches!(self.time, ValidationTime::At(_)) && !cfg!(mbedtls_time_override) {
            // The linked mbedTLS (ESP-IDF's, or a prebuilt one) reads the system time
            // itself: a requested validation time cannot be honoured, so refuse.
            return (
                Vec::new(),
                fail(alloc::vec![Reason::NoClock], VerifyFlags::empty()),
            );
        }
        let _time = match (self.time, self.ignore_time) {
            (ValidationTime::At(t), _) => Some(TimeOverride::set(t)),
            // With time checks off, still give mbedTLS a time (it needs one to run).
            // SAFETY: reads the shim's clock state.
            (ValidationTime::Now, true) if unsafe { sys::mv_time_known() } == 0 => {
                Some(TimeOverride::set(0))
            }
            (ValidationTime::Now, _) => None,
        };
        // SAFETY: reads the shim's clock state (thread-local override or installed clock).
        if unsafe { sys::mv_time_known() } == 0 {
            return (
                Vec::new(),
                fail(alloc::vec![Reason::NoClock], VerifyFlags::empty()),
            );
        }

        let mut scope = Scope::new(self.trust.clone(), self.hook.clone());
        scope.collect = true;
        scope.policy = self.policy.clone();
        scope.ignore_time = self.ignore_time;
        scope.profile = self.profile.rules;
        scope.server_name = cn.is_some().then(|| self.name.clone()).flatten();
        scope.trace = traced.then(Vec::new);
        let profile = self.profile.to_c();
        let cn_ptr = cn.as_ref().map_or(core::ptr::null(), |c| c.as_ptr());
        let scope_ptr = (&mut scope as *mut Scope).cast::<c_void>();
        let mut flags = 0u32;
        let mut ca_failure = None;

        let rc = match &self.trust {
            Trust::Anchors(a) => {
                let crl = a.crl.as_ref().map_or(core::ptr::null_mut(), |c| c.as_ptr());
                // SAFETY: every pointer is valid for the call: the chain and anchors are
                // borrowed, the scope is exclusive to this call, the profile and name live
                // on this stack frame.
                unsafe {
                    sys::mv_verify(
                        chain.as_ptr(),
                        a.cas.as_ptr(),
                        crl,
                        &profile,
                        cn_ptr,
                        &mut flags,
                        Some(verify_trampoline),
                        scope_ptr,
                    )
                }
            }
            #[cfg(mbedtls_ca_cb)]
            Trust::Callback(cb) => {
                let mut cx = crate::trust::CaCtx {
                    cb: cb.clone(),
                    failure: None,
                    record: true,
                };
                // SAFETY: as above; the CA context is exclusive to this call.
                let rc = unsafe {
                    sys::mv_verify_with_ca_cb(
                        chain.as_ptr(),
                        Some(crate::trust::ca_cb_trampoline),
                        (&mut cx as *mut crate::trust::CaCtx).cast(),
                        &profile,
                        cn_ptr,
                        &mut flags,
                        Some(verify_trampoline),
                        scope_ptr,
                    )
                };
                ca_failure = cx.failure;
                rc
            }
        };

        let trace = scope.trace.take().unwrap_or_default();
        let mut reasons = core::mem::take(&mut scope.reasons);
        reasons.extend(ca_failure);
        let known_flags = if flags == u32::MAX {
            VerifyFlags::empty()
        } else {
            VerifyFlags::from_bits_retain(flags)
        };
        if rc == 0 && flags == 0 && reasons.is_empty() {
            let mut certs = match CertChain::new() {
                Ok(c) => c,
                Err(e) => {
                    return (
                        trace,
                        fail(alloc::vec![Reason::Fatal(mbedtls_code(&e))], known_flags),
                    );
                }
            };
            let mut roles = Vec::with_capacity(scope.collected.len());
            for (der, role) in &scope.collected {
                if let Err(e) = certs.push_der(der) {
                    return (
                        trace,
                        fail(alloc::vec![Reason::Fatal(mbedtls_code(&e))], known_flags),
                    );
                }
                roles.push(*role);
            }
            return (
                trace,
                Ok(Verified {
                    certs,
                    roles,
                    time_checked: !self.ignore_time,
                    authorized_by: scope.accepted,
                }),
            );
        }
        if !known_flags.is_empty() {
            reasons.push(Reason::Flags(known_flags));
        }
        // Nothing more specific was recorded: keep mbedTLS's code as the reason.
        if reasons.is_empty() {
            reasons.push(Reason::Fatal(MbedtlsError::new(rc)));
        }
        (trace, fail(reasons, known_flags))
    }
}

fn mbedtls_code(e: &Error) -> MbedtlsError {
    match e {
        Error::Mbedtls(c) | Error::Parse { code: c, .. } => *c,
        _ => MbedtlsError::new(sys::MBEDTLS_ERR_X509_FATAL_ERROR),
    }
}
