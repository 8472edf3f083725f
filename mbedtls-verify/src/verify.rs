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
#[cfg(feature = "name-constraints")]
use crate::name_constraints::{Budget, NameConstraintError, NameConstraints};
use crate::policy::{AllowRule, ClientPolicy};
use crate::profile::{Profile, Rule, Rules, read_path_certificate};
use crate::sync::Arc;
use crate::sys;
use crate::trust::Trust;
use crate::x509::{CertRef, IpAddress, SubjectAltName};

pub use crate::flags::VerifyFlags;

/// The role of a certificate in the chain mbedTLS built.
///
/// Decided per verification from where mbedTLS stopped building the chain: it stops at
/// the first trusted parent (a configured CA, or one the CA callback returned for this
/// verification), or at a certificate for which it found no parent, which it flags
/// `NOT_TRUSTED` (a bad signature flags the child, never the parent). So the top above
/// the leaf is `TrustAnchor` exactly when it is trusted; an untrusted top is never
/// `TrustAnchor`. A single trusted certificate is `TrustedLeaf` only if it is one of the
/// static anchors.
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
    /// `leaf`, `intermediate`, `trust_anchor` or `trusted_leaf`.
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
    violation: Option<Rule>,
    pub(crate) cleared: VerifyFlags,
}

impl<'a> HookCall<'a> {
    /// 0 for the peer's own certificate, increasing towards the trust anchor.
    pub fn depth(&self) -> u32 {
        self.depth
    }

    /// The certificate's role in the chain.
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

    /// The rule of the verification's [`Profile`] this certificate breaks, if any. Such
    /// a certificate fails the chain whatever the hook answers; the hook sees it (to log
    /// it, say) before the verification stops.
    pub fn violation(&self) -> Option<Rule> {
        self.violation
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
            .field("violation", &self.violation)
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
    /// A rejection with this reason.
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
    /// Wrap a closure; it is called once per certificate (`mbedtls_ssl_conf_verify`, `mbedtls_x509_crt_verify`'s `f_vrfy`), from the top of the chain down.
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
// One bit per recorded certificate in `Scope::constrained`.
const _: () = assert!(MAX_CHAIN <= u16::BITS as usize);

/// Per-verification (offline) or per-connection (TLS) state of the hook trampoline.
/// It is owned by one verification at a time and only ever accessed by it.
pub(crate) struct Scope {
    pub(crate) hook: Option<VerifyHook>,
    pub(crate) trust: Trust,
    /// Runs on the whole chain (leaf first) once mbedTLS found no failure.
    pub(crate) policy: Option<Arc<ClientPolicy>>,
    /// The allow rule that admitted the chain in the last verification.
    pub(crate) accepted: Option<AllowRule>,
    /// Remaining flags at the end make the verification fail fatally (TLS "optional" mode
    /// would otherwise forgive them).
    pub(crate) fatal_on_flags: bool,
    /// The server name being checked. mbedTLS checks it too; the leaf must also pass
    /// [`leaf_matches_name`], which closes two gaps of mbedTLS's check.
    pub(crate) server_name: Option<String>,
    /// mbedTLS's hostname check, if any, is the only one (verification installed on a
    /// foreign context, whose hostname this crate does not know): mbedTLS falls back to
    /// the subject commonName of a leaf without subjectAltName, so nameConstraints take
    /// every commonName spelled like a host name as a dNSName, single labels included.
    pub(crate) cn_fallback: bool,
    /// Ignore validity dates (explicit opt-out; reported in the result).
    pub(crate) ignore_time: bool,
    /// The structural rules every certificate of the path must meet.
    pub(crate) profile: Profile,
    /// Copy the verified chain (offline verifier) — allocates, so off for TLS.
    pub(crate) collect: bool,
    // Per verification:
    last_depth: Option<u32>,
    chain: [*mut sys::mv_cert; MAX_CHAIN],
    roles: [Role; MAX_CHAIN],
    len: usize,
    /// Bit i: the recorded chain[i] (a CA) carries nameConstraints.
    constrained: u16,
    /// What is left of this verification's name-constraint work budget.
    #[cfg(feature = "name-constraints")]
    nc_budget: Budget,
    merged: u32,
    pub(crate) reasons: Vec<Reason>,
    pub(crate) collected: Vec<(Vec<u8>, Role)>,
    pub(crate) trace: Option<Vec<TraceEntry>>,
}

/// Why a certificate failed the nameConstraints step.
enum NcFailure {
    Detail(String),
    /// The verification's work budget ran out.
    #[cfg_attr(not(feature = "name-constraints"), allow(dead_code))]
    Budget,
}

/// One hook call, as recorded for people (the CLI's trace, the demo).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceEntry {
    /// Depth: 0 for the leaf.
    pub depth: u32,
    /// Role in the chain.
    pub role: Role,
    /// Subject name, RFC 4514-style.
    pub subject: String,
    /// Flags mbedTLS set on this certificate.
    pub flags: VerifyFlags,
    /// The profile rule the certificate breaks, if any (the verification then fails).
    pub violation: Option<Rule>,
}

impl Scope {
    pub(crate) fn new(trust: Trust, hook: Option<VerifyHook>) -> Self {
        Scope {
            hook,
            trust,
            policy: None,
            accepted: None,
            fatal_on_flags: false,
            server_name: None,
            cn_fallback: false,
            ignore_time: false,
            profile: Profile::PrivateFleet,
            collect: false,
            last_depth: None,
            chain: [core::ptr::null_mut(); MAX_CHAIN],
            roles: [Role::Leaf; MAX_CHAIN],
            len: 0,
            constrained: 0,
            #[cfg(feature = "name-constraints")]
            nc_budget: Budget::new(),
            merged: 0,
            reasons: Vec::new(),
            collected: Vec::new(),
            trace: None,
        }
    }

    fn begin(&mut self) {
        self.len = 0;
        self.constrained = 0;
        #[cfg(feature = "name-constraints")]
        {
            self.nc_budget = Budget::new();
        }
        self.merged = 0;
        self.accepted = None;
        self.reasons.clear();
        self.collected.clear();
        if let Some(t) = self.trace.as_mut() {
            t.clear();
        }
    }

    /// The role of a certificate in the chain mbedTLS built. mbedTLS builds it upwards
    /// and stops either at the first trusted parent, or at a certificate for which it
    /// found no parent, which it flags `NOT_TRUSTED` (`x509_crt_verify_chain`); a parent
    /// with a bad signature flags its child, never itself. So the top of a chain above the
    /// leaf is a trust anchor exactly when mbedTLS did not flag it `NOT_TRUSTED` — whether
    /// the anchor came from the static list or from a CA callback, and whether or not the
    /// peer's list is known (TLS 1.2 attaches it to the session only after verification;
    /// a foreign config never shows it). `flags` are mbedTLS's own at this point: the
    /// hook has not seen this certificate yet.
    fn role_of(&self, cert: CertRef<'_>, depth: u32, is_top: bool, flags: u32) -> Role {
        let untrusted = flags & sys::MBEDTLS_X509_BADCERT_NOT_TRUSTED != 0;
        match (is_top, depth) {
            (true, 0) => {
                let trusted = !untrusted && self.trust.anchors_contain(cert.der());
                if trusted {
                    Role::TrustedLeaf
                } else {
                    Role::Leaf
                }
            }
            (true, _) if !untrusted => Role::TrustAnchor,
            (_, 0) => Role::Leaf,
            _ => Role::Intermediate,
        }
    }

    /// nameConstraints, which mbedTLS 3.6 does not implement (RFC 5280 4.2.1.10 and
    /// 6.1.3 b/c): the constraints of every CA above `cert` apply to it, except to a
    /// self-issued intermediate. A CA whose nameConstraints is malformed or uses a form
    /// this crate cannot enforce fails here, at its own turn (fail closed; with a
    /// critical extension the shim's parser already let it through for this check).
    /// `own`: whether and how critically `cert` carries nameConstraints (from the one
    /// pass over its extensions, [`read_path_certificate`]). Returns whether `cert` (a
    /// CA) carries nameConstraints itself. Allocates only to describe a failure.
    fn check_name_constraints(
        &self,
        cert: CertRef<'_>,
        depth: u32,
        own: Option<bool>,
    ) -> Result<bool, NcFailure> {
        // The leaf's own constraints restrict nothing (RFC 5280 allows them only in CA
        // certificates). A non-critical one is skipped, as mbedTLS skips it; a critical
        // one mbedTLS would refuse to parse, and the shim let it through only for
        // enforcement, so it fails here.
        if depth == 0 && own == Some(true) {
            return Err(NcFailure::Detail(
                "a critical nameConstraints extension in an end-entity certificate".into(),
            ));
        }
        self.enforce_name_constraints(cert, depth, own.is_some())
    }

    #[cfg(feature = "name-constraints")]
    fn enforce_name_constraints(
        &self,
        cert: CertRef<'_>,
        depth: u32,
        has_own: bool,
    ) -> Result<bool, NcFailure> {
        // Its own constraints must be enforceable (the strict parse), whatever is below.
        let own = depth > 0
            && has_own
            && NameConstraints::of(&cert)
                .map_err(|e| NcFailure::Detail(alloc::format!("its own nameConstraints: {e}")))?
                .is_some();
        if self.constrained == 0 || (depth > 0 && cert.is_self_issued()) {
            return Ok(own);
        }
        for i in (0..self.len).filter(|i| self.constrained & (1 << i) != 0) {
            // SAFETY: every recorded pointer is alive until mbedTLS returns.
            let ca = unsafe { CertRef::from_raw(NonNull::new_unchecked(self.chain[i])) };
            if let Some(nc) =
                NameConstraints::of(&ca).map_err(|e| NcFailure::Detail(alloc::format!("{e}")))?
            {
                nc.check_names(&cert, self.cn_fallback, &self.nc_budget)
                    .map_err(|e| match e {
                        NameConstraintError::BudgetExhausted => NcFailure::Budget,
                        e => NcFailure::Detail(alloc::format!(
                            "{e} (constraint of {})",
                            ca.subject().to_string_lossy()
                        )),
                    })?;
            }
        }
        Ok(own)
    }

    /// Without the `name-constraints` feature a constrained CA cannot be honoured, so
    /// it fails the chain (never silently ignored, as mbedTLS would ignore it).
    #[cfg(not(feature = "name-constraints"))]
    fn enforce_name_constraints(
        &self,
        _cert: CertRef<'_>,
        depth: u32,
        has_own: bool,
    ) -> Result<bool, NcFailure> {
        if depth > 0 && has_own {
            return Err(NcFailure::Detail(
                "it carries nameConstraints, which this build does not enforce \
                        (feature `name-constraints` of mbedtls-verify is off)"
                    .into(),
            ));
        }
        Ok(false)
    }

    /// The CRL rules of the profile, on the trust store's CRLs issued by `cert` (a CA of
    /// the path): a CA whose revocation data breaks them fails (fail closed).
    /// The verdicts were computed once, when the trust store was built
    /// ([`crate::trust::Anchors`]); this only looks them up.
    fn crl_violation(&self, cert: CertRef<'_>, depth: u32) -> Option<Rule> {
        let rules = self.profile.rules();
        if depth == 0 || !rules.intersects(Rules::CRL_NUMBER | Rules::CRL_PROFILE) {
            return None;
        }
        let Trust::Anchors(a) = &self.trust else {
            return None;
        };
        a.crl_violation(rules, cert.part(sys::MV_PART_SUBJECT))
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
        let role = self.role_of(cert, depth, is_top, *flags);

        if self.ignore_time {
            *flags &= !(VerifyFlags::EXPIRED
                | VerifyFlags::FUTURE
                | VerifyFlags::CRL_EXPIRED
                | VerifyFlags::CRL_FUTURE)
                .bits();
        }

        // One pass over the certificate's extensions for everything below that reads
        // them: basicConstraints, the profile, nameConstraints (checked in this order).
        let anchor = matches!(role, Role::TrustAnchor | Role::TrustedLeaf);
        let read = read_path_certificate(self.profile, &cert, depth == 0, anchor, depth > 0);
        // Debug builds (every test) check it against the separate readings it
        // replaces, on every certificate of every path.
        debug_assert_eq!(
            read,
            crate::profile::separate_readings(self.profile, &cert, depth == 0, anchor, depth > 0),
            "one pass over the extensions disagrees with the separate readings"
        );
        // Strict basicConstraints for every issuer (mbedTLS 3.6.5 takes a malformed
        // `SEQUENCE { INTEGER n }` as cA=TRUE). v1 trust anchors have no extensions.
        if depth > 0 {
            let v1_anchor = role == Role::TrustAnchor && cert.version() < 3;
            if !v1_anchor && !read.basic_constraints.is_ca() {
                self.reasons.push(Reason::NotACa { depth });
                self.last_depth = None;
                return sys::MV_ERR_UNVERIFIED;
            }
        }
        // The structural profile, on every certificate of the path (fatal below, after
        // the hook and the trace have seen it).
        let violation = read
            .profile
            .err()
            .or_else(|| self.crl_violation(cert, depth));
        let constrained = match self.check_name_constraints(cert, depth, read.name_constraints) {
            Ok(c) => c,
            Err(failure) => {
                self.reasons.push(match failure {
                    NcFailure::Detail(detail) => Reason::NameConstraints { depth, detail },
                    NcFailure::Budget => Reason::WorkBudget { depth },
                });
                self.last_depth = None;
                return sys::MV_ERR_UNVERIFIED;
            }
        };

        if let (0, Some(name)) = (depth, &self.server_name) {
            if !leaf_matches_name(cert, name) {
                *flags |= sys::MBEDTLS_X509_BADCERT_CN_MISMATCH;
            }
        }

        let mut call = HookCall {
            depth,
            role,
            cert,
            flags: VerifyFlags::from_bits_retain(*flags),
            violation,
            cleared: VerifyFlags::empty(),
        };
        if let Some(hook) = &self.hook {
            match (hook.0)(&mut call) {
                Verdict::Accept => *flags = call.flags.bits(),
                Verdict::Reject(reason) => {
                    if let Some(rule) = violation {
                        self.reasons.push(Reason::Profile { depth, rule });
                    }
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
                violation,
            });
        }
        if let Some(rule) = violation {
            self.reasons.push(Reason::Profile { depth, rule });
            self.last_depth = None;
            return sys::MV_ERR_UNVERIFIED;
        }
        if self.len < MAX_CHAIN {
            if constrained {
                self.constrained |= 1 << self.len;
            }
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

/// Whether a leaf's subjectAltName covers `name`, the server name of a TLS client or an
/// offline verification (RFC 6125 / RFC 9525), as a second check after mbedTLS's own:
///
/// - only DNS and IP subjectAltNames count: no fallback to the subject CN, which mbedTLS
///   3.6 uses when a certificate has no subjectAltName at all;
/// - a wildcard is one whole leftmost label (`*.example.com` covers `a.example.com`, not
///   `example.com` nor `a.b.example.com`), and it must stand over at least two labels:
///   `*.com` covers nothing. mbedTLS honours `*.com`; without a public-suffix list two
///   labels is the line this crate draws (a CA issuing `*.co.uk` is not caught).
///
/// DNS names compare ASCII case-insensitively; a name that parses as an IP address
/// matches only an IP subjectAltName with the same bytes.
pub(crate) fn leaf_matches_name(cert: CertRef<'_>, name: &str) -> bool {
    let ip = IpAddress::parse(name);
    cert.subject_alt_names().any(|san| match (san, ip) {
        (SubjectAltName::Ip(a), Some(b)) => a == b,
        (SubjectAltName::Dns(pattern), None) => dns_name_matches(pattern, name),
        _ => false,
    })
}

fn dns_name_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_prefix("*.") {
        None => pattern.eq_ignore_ascii_case(name),
        Some(base) => {
            base.contains('.')
                && name.split_once('.').is_some_and(|(first, rest)| {
                    !first.is_empty() && rest.eq_ignore_ascii_case(base)
                })
        }
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
    pub fn new(hook: VerifyHook, trust: Trust) -> Self {
        DispatchBench {
            scope: Scope::new(trust, Some(hook)),
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

#[cfg(test)]
mod tests {
    use super::dns_name_matches;

    /// With the `name-constraints` feature a CA's nameConstraints is enforced; without
    /// it, a chain through such a CA fails instead of passing unchecked.
    #[cfg(feature = "std")]
    #[test]
    fn a_constrained_ca_is_enforced_or_refused() {
        use crate::Reason;
        use crate::issue::{CertificateBuilder, San};
        use crate::pk::{KeyType, PrivateKey};
        use crate::trust::Trust;
        use crate::verifier::Verifier;
        use alloc::vec::Vec;

        let key = PrivateKey::generate(KeyType::EcdsaP256).unwrap();
        let root = CertificateBuilder::new("CN=Constrained")
            .ca(None)
            .name_constraints(false, &[San::Dns("example.com".into())], &[])
            .self_signed(&key)
            .unwrap();
        let leaf = |dns: &str| {
            CertificateBuilder::new("CN=leaf")
                .san(San::Dns(dns.into()))
                .signed_by(
                    &PrivateKey::generate(KeyType::EcdsaP256).unwrap(),
                    root.first().unwrap(),
                    &key,
                )
                .unwrap()
        };
        let verify =
            |dns: &str| Verifier::new(Trust::anchors(root.clone()).unwrap()).verify(&leaf(dns));
        let nc_reasons = |r: Result<_, crate::VerifyError>| -> Vec<alloc::string::String> {
            r.err()
                .map(|e| e.reasons)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|r| match r {
                    Reason::NameConstraints { detail, .. } => Some(detail),
                    _ => None,
                })
                .collect()
        };
        assert_eq!(
            verify("a.example.com").is_ok(),
            cfg!(feature = "name-constraints")
        );
        let inside = nc_reasons(verify("a.example.com"));
        let outside = nc_reasons(verify("a.example.org"));
        if cfg!(feature = "name-constraints") {
            assert!(inside.is_empty(), "{inside:?}");
            assert_eq!(outside.len(), 1, "{outside:?}");
        } else {
            for r in [&inside, &outside] {
                assert!(r.len() == 1 && r[0].contains("does not enforce"), "{r:?}");
            }
        }
    }

    #[test]
    fn dns_names_compare_case_insensitively() {
        assert!(dns_name_matches("device.example.com", "DEVICE.Example.com"));
        assert!(!dns_name_matches("device.example.com", "device.example.co"));
        assert!(!dns_name_matches(
            "device.example.com",
            "device.example.com."
        ));
    }

    #[test]
    fn a_wildcard_is_one_leftmost_label() {
        assert!(dns_name_matches("*.example.com", "a.example.com"));
        assert!(dns_name_matches("*.Example.COM", "A.example.com"));
        assert!(!dns_name_matches("*.example.com", "example.com"));
        assert!(!dns_name_matches("*.example.com", "a.b.example.com"));
        assert!(!dns_name_matches("*.example.com", ".example.com"));
        // Not a wildcard label: taken literally.
        assert!(!dns_name_matches("a*.example.com", "ab.example.com"));
        assert!(!dns_name_matches("*", "com"));
    }

    #[test]
    fn a_wildcard_over_a_single_label_covers_nothing() {
        assert!(!dns_name_matches("*.com", "example.com"));
        assert!(!dns_name_matches("*.local", "device.local"));
        assert!(dns_name_matches("*.fleet.local", "device.fleet.local"));
    }
}
