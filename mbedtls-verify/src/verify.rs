//! The verify hook: a closure that mbedTLS calls once per certificate of the chain it
//! built, with the certificate's depth (0 = the peer's own certificate), its [`Role`],
//! a borrowed [`CertRef`], and the failure flags found so far as [`VerifyFlags`].
//!
//! mbedTLS calls the top of the chain first and the leaf last. The hook returns a
//! [`Verdict`]: accept as is, or reject with a reason. A rejection is **fatal**: the
//! trampoline returns an error code, so the handshake fails even in "optional" client
//! authentication (which forgives only verification flags). Hooks may add failure flags;
//! clearing one is possible only through [`crate::danger`].
//!
//! # What the hook cannot see
//! - mbedTLS's TLS layer checks keyUsage / extendedKeyUsage **after** the hook returns
//!   (`mbedtls_ssl_check_cert_usage`); those flags never reach the hook. The crate's
//!   client-authorization policy checks the EKU itself, and sessions refuse any flag
//!   left after the handshake.
//! - The hook is not called when the peer sends no certificate (a server in optional
//!   mode; see the session's `verified_peer()`), nor on session resumption (this crate
//!   never resumes sessions on servers that authenticate clients while the linked
//!   mbedTLS is older than 3.6.7).
//! - A chain that mbedTLS could not build past `MBEDTLS_X509_MAX_INTERMEDIATE_CA` or that
//!   stopped on a fatal error is never shown to the hook.
//!
//! Dispatch allocates nothing: the certificate view, role and flags live on the stack.
#![allow(unsafe_code)]

use alloc::borrow::Cow;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::fmt;
use core::ptr::NonNull;

use crate::error::Reason;
use crate::policy::{AllowRule, ClientPolicy};
use crate::sync::Arc;
use crate::sys;
use crate::trust::Trust;
use crate::x509::{CertRef, SubjectAltName};

bitflags::bitflags! {
    /// mbedTLS's verification failure flags (`MBEDTLS_X509_BADCERT_*`, `MBEDTLS_X509_BADCRL_*`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct VerifyFlags: u32 {
        const EXPIRED = sys::MBEDTLS_X509_BADCERT_EXPIRED;
        const REVOKED = sys::MBEDTLS_X509_BADCERT_REVOKED;
        const CN_MISMATCH = sys::MBEDTLS_X509_BADCERT_CN_MISMATCH;
        const NOT_TRUSTED = sys::MBEDTLS_X509_BADCERT_NOT_TRUSTED;
        const CRL_NOT_TRUSTED = sys::MBEDTLS_X509_BADCRL_NOT_TRUSTED;
        const CRL_EXPIRED = sys::MBEDTLS_X509_BADCRL_EXPIRED;
        const MISSING = sys::MBEDTLS_X509_BADCERT_MISSING;
        const SKIP_VERIFY = sys::MBEDTLS_X509_BADCERT_SKIP_VERIFY;
        const OTHER = sys::MBEDTLS_X509_BADCERT_OTHER;
        const FUTURE = sys::MBEDTLS_X509_BADCERT_FUTURE;
        const CRL_FUTURE = sys::MBEDTLS_X509_BADCRL_FUTURE;
        const KEY_USAGE = sys::MBEDTLS_X509_BADCERT_KEY_USAGE;
        const EXT_KEY_USAGE = sys::MBEDTLS_X509_BADCERT_EXT_KEY_USAGE;
        const NS_CERT_TYPE = sys::MBEDTLS_X509_BADCERT_NS_CERT_TYPE;
        const BAD_MD = sys::MBEDTLS_X509_BADCERT_BAD_MD;
        const BAD_PK = sys::MBEDTLS_X509_BADCERT_BAD_PK;
        const BAD_KEY = sys::MBEDTLS_X509_BADCERT_BAD_KEY;
        const CRL_BAD_MD = sys::MBEDTLS_X509_BADCRL_BAD_MD;
        const CRL_BAD_PK = sys::MBEDTLS_X509_BADCRL_BAD_PK;
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

/// The role of a certificate in the chain mbedTLS built.
///
/// Decided per verification, not from flags (`NOT_TRUSTED` is also set when a signature
/// fails): the top of the chain is a trust anchor only if it is one of the configured CAs,
/// or one the CA callback returned for this verification. An untrusted top is never
/// `TrustAnchor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The peer's own certificate (depth 0).
    Leaf,
    /// A CA certificate between the leaf and the top (or an untrusted top).
    Intermediate,
    /// The top of the chain, and trusted.
    TrustAnchor,
    /// A single certificate that is both the peer's and trusted (a pinned self-signed leaf).
    TrustedLeaf,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Leaf => "leaf",
            Role::Intermediate => "intermediate",
            Role::TrustAnchor => "trust_anchor",
            Role::TrustedLeaf => "trusted_leaf",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One call of the verify hook: what mbedTLS is asking about.
pub struct HookCall<'a> {
    depth: u32,
    role: Role,
    cert: CertRef<'a>,
    flags: VerifyFlags,
    pub(crate) cleared: VerifyFlags,
}

impl<'a> HookCall<'a> {
    /// 0 for the peer's own certificate, increasing towards the trust anchor.
    pub fn depth(&self) -> u32 {
        self.depth
    }

    pub fn role(&self) -> Role {
        self.role
    }

    /// The certificate; the view cannot outlive the call.
    pub fn cert(&self) -> CertRef<'a> {
        self.cert
    }

    /// The failure flags mbedTLS found for this certificate so far.
    pub fn flags(&self) -> VerifyFlags {
        self.flags
    }

    /// Add failure flags (making verification stricter is always allowed).
    pub fn add_flags(&mut self, flags: VerifyFlags) {
        self.flags |= flags;
    }

    pub(crate) fn clear_flag(&mut self, flag: VerifyFlags) {
        self.flags.remove(flag);
        self.cleared |= flag;
    }
}

impl fmt::Debug for HookCall<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HookCall")
            .field("depth", &self.depth)
            .field("role", &self.role)
            .field("cert", &self.cert)
            .field("flags", &self.flags)
            .finish()
    }
}

/// What the hook decides for one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Keep going with the flags as they are (including any the hook added).
    Accept,
    /// Stop: verification fails with this reason, whatever the flags say.
    Reject(Cow<'static, str>),
}

impl Verdict {
    pub fn reject(reason: impl Into<Cow<'static, str>>) -> Self {
        Verdict::Reject(reason.into())
    }
}

type HookFn = dyn Fn(&mut HookCall<'_>) -> Verdict + Send + Sync + 'static;

/// A verify hook, shared by reference counting (never turned into `&mut`).
///
/// The closure must be `'static`; one that borrows from its surroundings is rejected:
///
/// ```compile_fail
/// use mbedtls_verify::verify::{VerifyHook, Verdict};
/// let allowed = String::from("device-1");
/// let hook = VerifyHook::new(|call| {
///     if call.cert().subject().common_name() == Some(allowed.as_str()) { Verdict::Accept }
///     else { Verdict::reject("unknown device") }
/// });
/// # drop(hook);
/// ```
#[derive(Clone)]
pub struct VerifyHook(Arc<Box<HookFn>>);

impl VerifyHook {
    pub fn new(f: impl Fn(&mut HookCall<'_>) -> Verdict + Send + Sync + 'static) -> Self {
        VerifyHook(Arc::new(Box::new(f)))
    }
}

impl fmt::Debug for VerifyHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VerifyHook(..)")
    }
}

/// Longest chain mbedTLS builds: leaf + MBEDTLS_X509_MAX_INTERMEDIATE_CA + anchor.
const MAX_CHAIN: usize = sys::MBEDTLS_X509_MAX_INTERMEDIATE_CA as usize + 2;

/// Where the peer's chain is, to tell its certificates from trusted ones.
pub(crate) enum PeerChain {
    /// Offline verification: the chain being verified.
    Chain(*const sys::mv_cert),
    /// A TLS handshake: the chain the peer sent, read from the context when needed.
    Ssl(*const sys::mv_ssl),
}

/// Per-verification (offline) or per-connection (TLS) state of the hook trampoline.
/// It is owned by one verification at a time and only ever accessed by it.
pub(crate) struct Scope {
    pub(crate) hook: Option<VerifyHook>,
    pub(crate) trust: Trust,
    pub(crate) peer: PeerChain,
    /// Runs on the whole chain (leaf first) once mbedTLS found no failure.
    pub(crate) policy: Option<Arc<ClientPolicy>>,
    /// The allow rule that admitted the chain in the last verification.
    pub(crate) accepted: Option<AllowRule>,
    /// Remaining flags at the end make the verification fail fatally (TLS "optional" mode
    /// would otherwise forgive them).
    pub(crate) fatal_on_flags: bool,
    /// A server name is being checked: a leaf without a DNS or IP subjectAltName fails
    /// the check (mbedTLS would fall back to the subject CN, which RFC 6125 deprecates).
    pub(crate) name_check: bool,
    /// Ignore validity dates (explicit opt-out; reported in the result).
    pub(crate) ignore_time: bool,
    /// Copy the verified chain (offline verifier) — allocates, so off for TLS.
    pub(crate) collect: bool,
    // Per verification:
    last_depth: Option<u32>,
    chain: [*mut sys::mv_cert; MAX_CHAIN],
    roles: [Role; MAX_CHAIN],
    len: usize,
    merged: u32,
    pub(crate) reasons: Vec<Reason>,
    pub(crate) collected: Vec<(Vec<u8>, Role)>,
    pub(crate) trace: Option<Vec<TraceEntry>>,
}

/// One hook call, as recorded for people (the CLI's trace, the demo).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceEntry {
    pub depth: u32,
    pub role: Role,
    pub subject: String,
    pub flags: VerifyFlags,
}

impl Scope {
    pub(crate) fn new(trust: Trust, hook: Option<VerifyHook>, peer: PeerChain) -> Self {
        Scope {
            hook,
            trust,
            peer,
            policy: None,
            accepted: None,
            fatal_on_flags: false,
            name_check: false,
            ignore_time: false,
            collect: false,
            last_depth: None,
            chain: [core::ptr::null_mut(); MAX_CHAIN],
            roles: [Role::Leaf; MAX_CHAIN],
            len: 0,
            merged: 0,
            reasons: Vec::new(),
            collected: Vec::new(),
            trace: None,
        }
    }

    fn begin(&mut self) {
        self.len = 0;
        self.merged = 0;
        self.accepted = None;
        self.reasons.clear();
        self.collected.clear();
        if let Some(t) = self.trace.as_mut() {
            t.clear();
        }
    }

    fn peer_head(&self) -> *const sys::mv_cert {
        match self.peer {
            PeerChain::Chain(p) => p,
            // SAFETY: the pointer is the live TLS context that is running this handshake.
            PeerChain::Ssl(ssl) => unsafe { sys::mv_ssl_peer_chain_pending(ssl) },
        }
    }

    /// Whether `crt` is one of the certificates the peer sent (pointer identity).
    fn peer_contains(&self, crt: *const sys::mv_cert) -> bool {
        let mut cur = self.peer_head();
        while !cur.is_null() {
            if cur == crt {
                return true;
            }
            // SAFETY: cur is a node of the live peer list.
            cur = unsafe { sys::mv_crt_next(cur) };
        }
        false
    }

    /// Whether the top of a chain (depth > 0) is a trust anchor. mbedTLS ends a chain at
    /// the first trusted parent, so the top is an anchor exactly when it is not one of
    /// the certificates the peer sent (pointer identity). When the peer's list is not
    /// known (verification installed on a foreign config), static anchors are compared
    /// by DER identity and CA-callback results are never called anchors (fail safe).
    fn top_is_trusted(&self, cert: CertRef<'_>) -> bool {
        if !self.peer_head().is_null() {
            return !self.peer_contains(cert.as_ptr());
        }
        match &self.trust {
            Trust::Anchors(_) => self.trust.anchors_contain(cert.der()),
            #[cfg(mbedtls_ca_cb)]
            Trust::Callback(_) => {
                // The anchor is a node of the CA callback's last list (see
                // trust::last_candidates), alive until mbedTLS returns.
                let mut cur: *const sys::mv_cert = crate::trust::last_candidates::get();
                while !cur.is_null() {
                    if cur == cert.as_ptr().cast_const() {
                        return true;
                    }
                    // SAFETY: cur is a node of the list mbedTLS holds for this verification.
                    cur = unsafe { sys::mv_crt_next(cur) };
                }
                false
            }
        }
    }

    fn role_of(&self, cert: CertRef<'_>, depth: u32, is_top: bool, flags: u32) -> Role {
        match (is_top, depth) {
            (true, 0) => {
                let trusted = flags & sys::MBEDTLS_X509_BADCERT_NOT_TRUSTED == 0
                    && self.trust.anchors_contain(cert.der());
                if trusted {
                    Role::TrustedLeaf
                } else {
                    Role::Leaf
                }
            }
            (true, _) if self.top_is_trusted(cert) => Role::TrustAnchor,
            (_, 0) => Role::Leaf,
            _ => Role::Intermediate,
        }
    }

    /// The body of the trampoline. Returns 0 or a fatal error code.
    fn on_cert(&mut self, crt: NonNull<sys::mv_cert>, depth: u32, flags: &mut u32) -> i32 {
        // SAFETY: mbedTLS hands a parsed certificate that lives until it returns.
        let cert = unsafe { CertRef::from_raw(crt) };
        let is_top = self.last_depth.is_none_or(|last| depth >= last);
        if is_top {
            self.begin();
        }
        self.last_depth = if depth == 0 { None } else { Some(depth) };
        if depth == 0 {
            // The chain ends here: the CA callback's list must not outlive it in our state.
            #[cfg(mbedtls_ca_cb)]
            crate::trust::last_candidates::set(core::ptr::null_mut());
        }
        let role = self.role_of(cert, depth, is_top, *flags);

        if self.ignore_time {
            *flags &= !(VerifyFlags::EXPIRED
                | VerifyFlags::FUTURE
                | VerifyFlags::CRL_EXPIRED
                | VerifyFlags::CRL_FUTURE)
                .bits();
        }

        // Strict basicConstraints for every issuer (mbedTLS 3.6.5 takes a malformed
        // `SEQUENCE { INTEGER n }` as cA=TRUE). v1 trust anchors have no extensions.
        if depth > 0 {
            let v1_anchor = role == Role::TrustAnchor && cert.version() < 3;
            if !v1_anchor && !cert.basic_constraints().is_ca() {
                self.reasons.push(Reason::NotACa { depth });
                self.last_depth = None;
                return sys::MV_ERR_UNVERIFIED;
            }
        }

        if depth == 0 && self.name_check {
            let has_name = cert
                .subject_alt_names()
                .any(|san| matches!(san, SubjectAltName::Dns(_) | SubjectAltName::Ip(_)));
            if !has_name {
                *flags |= sys::MBEDTLS_X509_BADCERT_CN_MISMATCH;
            }
        }

        let mut call = HookCall {
            depth,
            role,
            cert,
            flags: VerifyFlags::from_bits_retain(*flags),
            cleared: VerifyFlags::empty(),
        };
        if let Some(hook) = &self.hook {
            match (hook.0)(&mut call) {
                Verdict::Accept => *flags = call.flags.bits(),
                Verdict::Reject(reason) => {
                    self.reasons.push(Reason::HookRejected {
                        depth,
                        reason: reason.into_owned(),
                    });
                    self.last_depth = None;
                    return sys::MV_ERR_HOOK_REJECTED;
                }
            }
        }
        if let Some(t) = self.trace.as_mut() {
            t.push(TraceEntry {
                depth,
                role,
                subject: cert.subject().to_string_lossy(),
                flags: VerifyFlags::from_bits_retain(*flags),
            });
        }
        if self.len < MAX_CHAIN {
            self.chain[self.len] = crt.as_ptr();
            self.roles[self.len] = role;
            self.len += 1;
        } else {
            self.last_depth = None;
            return sys::MV_ERR_UNVERIFIED;
        }
        self.merged |= *flags;
        if depth != 0 {
            return 0;
        }

        // The leaf: the chain is complete (recorded top first).
        if self.collect {
            self.collected = (0..self.len)
                .rev()
                .map(|i| {
                    // SAFETY: every recorded pointer is alive until mbedTLS returns.
                    let c = unsafe { CertRef::from_raw(NonNull::new_unchecked(self.chain[i])) };
                    (c.der().to_vec(), self.roles[i])
                })
                .collect();
        }
        if self.merged != 0 {
            if !self.fatal_on_flags {
                return 0; // mbedTLS reports the flags itself
            }
            self.reasons
                .push(Reason::Flags(VerifyFlags::from_bits_retain(self.merged)));
            return sys::MV_ERR_UNVERIFIED;
        }
        if let Some(policy) = &self.policy {
            // The chain, leaf first, as borrowed views (no allocation).
            let mut refs = [cert; MAX_CHAIN];
            for (slot, i) in refs.iter_mut().zip((0..self.len).rev()) {
                // SAFETY: every recorded pointer is alive until mbedTLS returns.
                *slot = unsafe { CertRef::from_raw(NonNull::new_unchecked(self.chain[i])) };
            }
            match policy.evaluate(&refs[..self.len]) {
                Ok(rule) => self.accepted = Some(rule),
                Err(why) => {
                    self.reasons.push(Reason::Policy(why));
                    return sys::MV_ERR_POLICY_REJECTED;
                }
            }
        }
        0
    }
}

/// The `f_vrfy` trampoline. `ctx` is a `*mut Scope` owned by the caller for the whole
/// verification (offline) or connection (TLS), and used by nothing else meanwhile.
pub(crate) unsafe extern "C" fn verify_trampoline(
    ctx: *mut c_void,
    crt: *mut sys::mv_cert,
    depth: i32,
    flags: *mut u32,
) -> i32 {
    if ctx.is_null() || flags.is_null() || depth < 0 {
        return sys::MV_ERR_CALLBACK_FAILED;
    }
    let Some(crt) = NonNull::new(crt) else {
        return sys::MV_ERR_CALLBACK_FAILED;
    };
    // SAFETY: ctx is the Scope registered with this verification (see above); exclusive.
    let scope = unsafe { &mut *(ctx as *mut Scope) };
    // SAFETY: flags points at mbedTLS's flags for this certificate.
    let flags = unsafe { &mut *flags };
    match crate::platform::guard(|| scope.on_cert(crt, depth as u32, flags)) {
        Ok(rc) => rc,
        Err(()) => {
            scope.reasons.push(Reason::CallbackPanicked);
            scope.last_depth = None;
            sys::MV_ERR_CALLBACK_PANIC
        }
    }
}

/// Benchmark entry (not a stable API): the trampoline exactly as mbedTLS calls it, on a
/// prepared scope, so one call's cost (panic guard, role mapping, flag conversion, the
/// hook) can be measured without a whole verification around it.
#[doc(hidden)]
pub struct DispatchBench {
    scope: Scope,
}

impl fmt::Debug for DispatchBench {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DispatchBench")
    }
}

impl DispatchBench {
    pub fn new(hook: VerifyHook, trust: Trust, peer_head: CertRef<'_>) -> Self {
        DispatchBench {
            scope: Scope::new(trust, Some(hook), PeerChain::Chain(peer_head.as_ptr())),
        }
    }

    /// One call for `cert` at `depth`; returns (return code, flags after).
    pub fn call(&mut self, cert: CertRef<'_>, depth: u32, flags: u32) -> (i32, u32) {
        let mut f = flags;
        // SAFETY: the scope and the certificate outlive the call; the scope is exclusive.
        let rc = unsafe {
            verify_trampoline(
                (&mut self.scope as *mut Scope).cast(),
                cert.as_ptr(),
                depth as i32,
                &mut f,
            )
        };
        (rc, f)
    }
}
