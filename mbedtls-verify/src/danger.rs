//! Loosening verification, on purpose and by name.
//!
//! Everything here makes a verification accept something mbedTLS flagged. Each call
//! names the one check it weakens, so a reviewer can find every use with one search
//! for `danger::`.

use crate::error::{Error, Result};
use crate::verifier::Verifier;
use crate::verify::{HookCall, VerifyFlags};

/// Clear one failure flag of the certificate the hook is looking at, e.g. accept an
/// expired device certificate during a grace period:
///
/// ```
/// use mbedtls_verify::{danger, verify::{Verdict, VerifyFlags, VerifyHook}};
/// let hook = VerifyHook::new(|call| {
///     if call.depth() == 0 && call.flags() == VerifyFlags::EXPIRED {
///         danger::clear_flag(call, VerifyFlags::EXPIRED).unwrap();
///     }
///     Verdict::Accept
/// });
/// # drop(hook);
/// ```
///
/// `flag` must be exactly one flag: clearing several at once (or all) is refused, so a
/// hook cannot wipe out e.g. `NOT_TRUSTED` together with something it meant to forgive.
pub fn clear_flag(call: &mut HookCall<'_>, flag: VerifyFlags) -> Result<()> {
    if flag.bits().count_ones() != 1 || !VerifyFlags::all().contains(flag) {
        return Err(Error::InvalidInput(alloc::format!(
            "danger::clear_flag takes exactly one known flag, got {:#x}",
            flag.bits()
        )));
    }
    call.clear_flag(flag);
    Ok(())
}

/// Do not check validity dates (`EXPIRED`, `FUTURE`, and the CRL date flags are
/// ignored) — for a device that has no clock and accepts that expired or revoked-then-
/// expired certificates pass. The result says so: [`crate::verifier::Verified::time_checked`]
/// is `false`.
pub fn skip_time_checks(mut verifier: Verifier) -> Verifier {
    verifier.set_ignore_time();
    verifier
}

/// A client session that does **not** check the server's name (only its chain, hook and
/// policy). Without a name, any certificate the trusted CAs ever issued — to any server —
/// is accepted (the lesson of CVE-2025-27809). Use only with a private CA that issues
/// exactly one server certificate, or a policy that pins the server.
pub fn client_without_name_check<T: crate::ssl::Transport>(
    config: &crate::ssl::ClientConfig,
    transport: T,
) -> Result<crate::ssl::Session<T>> {
    crate::ssl::Session::client_without_name(config, transport)
}

/// The certificate the peer sent, whether or not it verified (for logging a rejected
/// peer). Never use it to make a trust decision: use `Session::verified_peer`.
pub fn unverified_peer_certificate<T: crate::ssl::Transport>(
    session: &crate::ssl::Session<T>,
) -> Option<crate::x509::CertRef<'_>> {
    session.peer_head()
}
