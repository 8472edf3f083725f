//! Errors: a raw mbedTLS code newtype that keeps and names the code, and the crate's
//! `#[non_exhaustive]` error enum with verification failures decoded into reasons.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::flags::VerifyFlags;
use crate::sys;

/// A negative mbedTLS (or shim) error code, kept as is and named when displayed.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct MbedtlsError(i32);

impl MbedtlsError {
    /// The error for this raw (negative) code.
    pub const fn new(code: i32) -> Self {
        Self(code)
    }

    /// The raw code, e.g. `-0x2700`.
    pub const fn code(self) -> i32 {
        self.0
    }

    /// mbedTLS's text for the code (empty if mbedTLS was built without `MBEDTLS_ERROR_C`).
    #[doc(alias = "mbedtls_strerror")]
    pub fn describe(self, buf: &mut [u8; 160]) -> &str {
        let text = match self.0 {
            sys::MV_ERR_NOT_FOUND => Some("not found"),
            sys::MV_ERR_NO_ENTROPY => Some("no entropy source installed"),
            sys::MV_ERR_BAD_INPUT => Some("bad input"),
            sys::MV_ERR_HOOK_REJECTED => Some("the verify hook rejected a certificate"),
            sys::MV_ERR_CALLBACK_PANIC => Some("a callback panicked"),
            sys::MV_ERR_CALLBACK_FAILED => Some("a callback returned an error"),
            sys::MV_ERR_POLICY_REJECTED => {
                Some("the client-authorization policy rejected the peer")
            }
            sys::MV_ERR_UNVERIFIED => Some("the peer's certificate chain did not verify"),
            _ => None,
        };
        if let Some(t) = text {
            return t;
        }
        strerror(self.0, buf)
    }
}

impl fmt::Display for MbedtlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 160];
        let sign = if self.0 < 0 { "-" } else { "" };
        write!(f, "{sign}0x{:04X}", self.0.unsigned_abs())?;
        let text = self.describe(&mut buf);
        if !text.is_empty() {
            write!(f, " ({text})")?;
        }
        Ok(())
    }
}

impl fmt::Debug for MbedtlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MbedtlsError({self})")
    }
}

impl core::error::Error for MbedtlsError {}

/// Turn a C return code into a `Result`: the one place this is done.
pub(crate) fn cvt(code: i32) -> Result<i32, MbedtlsError> {
    if code < 0 {
        Err(MbedtlsError(code))
    } else {
        Ok(code)
    }
}

/// Why a certificate chain was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// mbedTLS reported failure flags (merged over the whole chain).
    Flags(VerifyFlags),
    /// The verify hook rejected the certificate at `depth`.
    HookRejected {
        /// The certificate's depth (0: the leaf).
        depth: u32,
        /// The reason the hook gave.
        reason: String,
    },
    /// A callback (verify hook or CA callback) panicked; the panic was caught.
    CallbackPanicked,
    /// The CA callback returned an error.
    CaCallbackFailed(String),
    /// A certificate above the leaf is not a CA by a strict reading of its
    /// basicConstraints (see `x509::BasicConstraints`).
    NotACa {
        /// The certificate's depth.
        depth: u32,
    },
    /// The certificate at `depth` is outside the nameConstraints of a CA above it, or a
    /// CA's nameConstraints cannot be enforced (malformed or unsupported): see
    /// [`name_constraints`](crate::name_constraints).
    NameConstraints {
        /// The depth of the certificate whose name is outside the constraints (or of the
        /// CA whose constraints cannot be enforced).
        depth: u32,
        /// What was found.
        detail: String,
    },
    /// The certificate at `depth` breaks a rule of the verification's structural
    /// [`Profile`](crate::profile::Profile).
    Profile {
        /// The depth of the certificate that breaks the rule (0 = leaf).
        depth: u32,
        /// The rule it breaks.
        rule: crate::rules::Rule,
    },
    /// Checking the certificate at `depth` against the name constraints above it ran
    /// out of the verification's work budget
    /// ([`COMPARISON_BUDGET`](crate::name_constraints::COMPARISON_BUDGET)): a
    /// pathological chain, failed closed in bounded time.
    WorkBudget {
        /// The depth of the certificate being checked when the budget ran out.
        depth: u32,
    },
    /// The client-authorization policy rejected the chain.
    Policy(Vec<String>),
    /// No wall clock is known and time checks were not explicitly disabled.
    NoClock,
    /// mbedTLS stopped with an error before finishing.
    Fatal(MbedtlsError),
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Flags(flags) => {
                let mut first = true;
                for (_, flag) in flags.iter_names() {
                    if !first {
                        f.write_str("; ")?;
                    }
                    first = false;
                    f.write_str(flag.describe())?;
                }
                if first {
                    f.write_str("no flags")?;
                }
                Ok(())
            }
            Reason::HookRejected { depth, reason } => {
                write!(f, "rejected by the verify hook at depth {depth}: {reason}")
            }
            Reason::CallbackPanicked => f.write_str("a verification callback panicked"),
            Reason::CaCallbackFailed(e) => write!(f, "the CA callback failed: {e}"),
            Reason::NotACa { depth } => write!(
                f,
                "the certificate at depth {depth} issues others but is not a CA (basicConstraints)"
            ),
            Reason::NameConstraints { depth, detail } => write!(
                f,
                "the certificate at depth {depth} fails the name constraints of a CA above it: {detail}"
            ),
            Reason::Profile { depth, rule } => {
                write!(
                    f,
                    "the certificate at depth {depth} breaks the profile: {rule}"
                )
            }
            Reason::WorkBudget { depth } => write!(
                f,
                "the certificate at depth {depth} exhausted the verification's work budget for \
                 name constraints (a pathological chain)"
            ),
            Reason::Policy(why) => write!(f, "not authorized by policy: {}", why.join("; ")),
            Reason::NoClock => {
                f.write_str("no wall clock is set, so validity dates cannot be checked")
            }
            Reason::Fatal(e) => write!(f, "verification stopped: {e}"),
        }
    }
}

/// A failed verification: every reason found, plus the mbedTLS flags as they ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyError {
    /// Every reason verification failed, in the order found.
    pub reasons: Vec<Reason>,
    /// mbedTLS's failure flags, merged over the chain, as the verification ended.
    pub flags: VerifyFlags,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.reasons.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{r}")?;
        }
        if self.reasons.is_empty() {
            f.write_str("verification failed")?;
        }
        Ok(())
    }
}

impl core::error::Error for VerifyError {}

/// The crate's error type.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// mbedTLS returned an error code.
    #[error("mbedTLS error {0}")]
    Mbedtls(#[from] MbedtlsError),
    /// Input that could not be parsed (certificate, key, CRL, PEM).
    #[error("cannot parse {what}: {code}")]
    Parse {
        /// What was parsed, e.g. `certificate`.
        what: &'static str,
        /// mbedTLS's error.
        code: MbedtlsError,
    },
    /// Input that is well-formed but not acceptable.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A certificate chain did not verify.
    #[error("certificate verification failed: {0}")]
    Verify(#[from] VerifyError),
    /// The linked mbedTLS was built without what this call needs.
    #[error("not available in this mbedTLS build: {0}")]
    Unsupported(&'static str),
    /// A non-blocking transport has no data yet: call again when it is readable.
    #[error("the transport would block reading (call again)")]
    WantRead,
    /// A non-blocking transport cannot take data yet: call again when it is writable.
    #[error("the transport would block writing (call again)")]
    WantWrite,
    /// The transport failed.
    #[error("transport error: {0}")]
    Transport(String),
    /// The TLS layer failed (handshake alert, protocol error, peer closed abruptly, ...).
    #[error("TLS error {0}")]
    Tls(MbedtlsError),
    /// The session was already closed or failed.
    #[error("the session is closed")]
    Closed,
    /// An I/O error from the transport.
    #[cfg(feature = "std")]
    #[cfg_attr(docsrs, doc(cfg(feature = "std")))]
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// mbedTLS's text for an error code, written into `buf`.
#[allow(unsafe_code)]
fn strerror(code: i32, buf: &mut [u8; 160]) -> &str {
    // SAFETY: buf is writable for its length; mv_strerror NUL-terminates within it.
    unsafe { sys::mv_strerror(code, buf.as_mut_ptr().cast(), buf.len()) };
    let n = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    core::str::from_utf8(&buf[..n]).unwrap_or("")
}
