//! Installing this crate's trust, verify hook and policy onto mbedTLS objects that
//! another stack created — for instance the `mbedtls_ssl_config` / `mbedtls_ssl_context`
//! of esp-tls on ESP-IDF (which links ESP-IDF's own mbedTLS, the one this crate's shim
//! is compiled against there).
//!
//! ```ignore
//! let mut v = ExternalVerification::new(trust, Some(hook), Some(policy), SecurityProfile::DEFAULT)?;
//! // SAFETY: `ssl` is esp-tls's set-up context; `v` outlives it (see below).
//! unsafe { v.as_mut().install_on_context(ssl)? };
//! // ... the other stack runs the handshake ...
//! // SAFETY: same context, handshake finished.
//! let rule = unsafe { v.check_after_handshake(ssl)? };
//! ```
//!
//! # Lifetime contract
//! mbedTLS keeps raw pointers into the `ExternalVerification` (its trust anchors,
//! profile, CA-callback context and per-verification state). It must therefore:
//! 1. stay alive and pinned (it is returned as `Pin<Box<_>>`) until every context that
//!    can still verify with it is freed (`mbedtls_ssl_free`) or has another verify
//!    callback installed, and for [`install_on_config`](ExternalVerification::install_on_config)
//!    until the config is freed;
//! 2. be used by one verification at a time: install one per context, or — on a config —
//!    make sure handshakes sharing that config never verify concurrently;
//! 3. be installed on objects of the same mbedTLS build this crate links.
//!
//! The other stack must still read the outcome: mbedTLS's "optional" mode forgives
//! flags, so call [`check_after_handshake`](ExternalVerification::check_after_handshake)
//! (or check `mbedtls_ssl_get_verify_result() == 0`) before trusting the peer.
//!
//! The hostname is the other stack's, so mbedTLS's hostname check (which falls back to
//! the subject CN of a leaf without subjectAltName) is the only one: under a CA's
//! nameConstraints, every subject CN of such a leaf that is spelled like a host name,
//! single labels included (`gateway`), is checked as a dNSName.
#![allow(unsafe_code)]

use alloc::boxed::Box;
use alloc::vec;
use core::ffi::c_void;
use core::fmt;
use core::marker::PhantomPinned;
use core::pin::Pin;

use crate::error::{Error, Reason, Result, VerifyError, cvt};
use crate::policy::{AllowRule, ClientPolicy};
use crate::profile::SecurityProfile;
use crate::sync::Arc;
use crate::sys;
use crate::trust::Trust;
use crate::verify::{Scope, VerifyFlags, VerifyHook, verify_trampoline};

/// Trust + hook + policy + profile, ready to be installed on foreign mbedTLS objects.
pub struct ExternalVerification {
    scope: Scope,
    profile: sys::mv_profile,
    ca_ctx: Option<crate::trust::CaCtx>,
    _pin: PhantomPinned,
}

impl fmt::Debug for ExternalVerification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExternalVerification")
            .field("trust", &self.scope.trust)
            .finish_non_exhaustive()
    }
}

impl ExternalVerification {
    /// Bind `trust`, an optional hook and an optional policy into one pinned value that [`install_on_context`](Self::install_on_context) or [`install_on_config`](Self::install_on_config) attaches to objects another stack created.
    pub fn new(
        trust: Trust,
        hook: Option<VerifyHook>,
        policy: Option<ClientPolicy>,
        profile: SecurityProfile,
    ) -> Result<Pin<Box<Self>>> {
        crate::platform::init()?;
        let ca_ctx = match &trust {
            #[cfg(mbedtls_ca_cb)]
            Trust::Callback(cb) => Some(crate::trust::CaCtx {
                cb: cb.clone(),
                failure: None,
                record: false,
            }),
            Trust::Anchors(_) => None,
        };
        let mut scope = Scope::new(trust, hook);
        scope.policy = policy.map(Arc::new);
        scope.fatal_on_flags = true;
        scope.cn_fallback = true;
        scope.profile = profile.rules;
        Ok(Box::pin(ExternalVerification {
            scope,
            profile: profile.to_c(),
            ca_ctx,
            _pin: PhantomPinned,
        }))
    }

    fn scope_ptr(self: Pin<&mut Self>) -> *mut c_void {
        // SAFETY: the value is pinned (never moved); the pointer is only handed to mbedTLS.
        let this = unsafe { self.get_unchecked_mut() };
        (&mut this.scope as *mut Scope).cast()
    }

    /// Verify the peer of one connection with this crate's hook and policy
    /// (`mbedtls_ssl_set_verify`). Trust anchors and the profile stay those of the
    /// context's config (install them with [`install_on_config`](Self::install_on_config)
    /// or the other stack's own API).
    ///
    /// # Safety
    /// `ssl` must be a valid, set-up `mbedtls_ssl_context` of the mbedTLS this crate
    /// links, and the lifetime contract of the module documentation must hold.
    #[doc(alias = "mbedtls_ssl_set_verify")]
    pub unsafe fn install_on_context(self: Pin<&mut Self>, ssl: *mut sys::mv_ssl) -> Result<()> {
        if ssl.is_null() {
            return Err(Error::InvalidInput("null mbedtls_ssl_context".into()));
        }
        let scope = self.scope_ptr();
        // SAFETY: the caller guarantees ssl is valid and that self outlives it.
        unsafe { sys::mv_ssl_set_verify(ssl, Some(verify_trampoline), scope) };
        Ok(())
    }

    /// Install trust (CA chain with CRL, or CA callback), the security profile, the hook
    /// and the policy on a whole config (`mbedtls_ssl_conf_ca_chain` / `_ca_cb`,
    /// `_cert_profile`, `_verify`). The authentication mode is left as the other stack set it.
    ///
    /// # Safety
    /// `conf` must be a valid `mbedtls_ssl_config` of the mbedTLS this crate links; the
    /// lifetime contract of the module documentation must hold, including: no two
    /// handshakes using this config verify at the same time.
    pub unsafe fn install_on_config(
        mut self: Pin<&mut Self>,
        conf: *mut sys::mv_ssl_conf,
    ) -> Result<()> {
        if conf.is_null() {
            return Err(Error::InvalidInput("null mbedtls_ssl_config".into()));
        }
        let scope = self.as_mut().scope_ptr();
        // SAFETY: pinned; we only take addresses of fields that mbedTLS will read.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: conf is valid (caller); every pointer handed over lives in the pinned
        // value, which the caller keeps alive as long as the config.
        unsafe {
            sys::mv_ssl_conf_profile(conf, &this.profile);
            match &this.scope.trust {
                Trust::Anchors(a) => {
                    let crl = a.crl.as_ref().map_or(core::ptr::null_mut(), |c| c.as_ptr());
                    sys::mv_ssl_conf_ca_chain(conf, a.cas.as_ptr(), crl);
                }
                #[cfg(mbedtls_ca_cb)]
                Trust::Callback(_) => {
                    let cx = this
                        .ca_ctx
                        .as_mut()
                        .expect("CA context built with the callback");
                    let cx = (cx as *mut crate::trust::CaCtx).cast();
                    cvt(sys::mv_ssl_conf_ca_cb(
                        conf,
                        Some(crate::trust::ca_cb_trampoline),
                        cx,
                    ))?;
                }
            }
            sys::mv_ssl_conf_verify(conf, Some(verify_trampoline), scope);
        }
        Ok(())
    }

    /// After the other stack completed a handshake on `ssl`: `Ok` only if the peer sent
    /// a certificate that verified with no flag left and the policy (if any) accepted it.
    ///
    /// # Safety
    /// `ssl` must be a valid context whose handshake completed, verified with this value.
    pub unsafe fn check_after_handshake(
        &self,
        ssl: *const sys::mv_ssl,
    ) -> Result<Option<AllowRule>> {
        // SAFETY: valid context (caller).
        let (peer, raw) = unsafe { (sys::mv_ssl_peer_cert(ssl), sys::mv_ssl_verify_result(ssl)) };
        let fail = |reason: Reason, flags: VerifyFlags| {
            Err(Error::Verify(VerifyError {
                reasons: vec![reason],
                flags,
            }))
        };
        if peer.is_null() {
            return fail(Reason::Flags(VerifyFlags::MISSING), VerifyFlags::MISSING);
        }
        if raw != 0 {
            let flags = VerifyFlags::from_bits_retain(raw);
            return fail(Reason::Flags(flags), flags);
        }
        match (&self.scope.policy, self.scope.accepted) {
            (Some(_), None) => fail(
                Reason::Policy(vec![
                    "the policy was not evaluated for this handshake".into(),
                ]),
                VerifyFlags::empty(),
            ),
            (_, rule) => Ok(rule),
        }
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use crate::issue::{CertificateBuilder, San};
    use crate::pk::{KeyType, PrivateKey};
    use crate::ssl::io::{IoCtx, recv_trampoline, send_trampoline};
    use crate::ssl::mem::{MemoryTransport, memory_pair};
    use crate::ssl::{ClientConfig, Identity, Session};
    use crate::verify::{Role, Verdict};
    use crate::x509::{CertChain, ExtendedKeyUsage};
    use alloc::vec::Vec;
    use std::sync::Mutex;

    fn issue(
        b: CertificateBuilder,
        ca: Option<(&CertChain, &PrivateKey)>,
    ) -> (CertChain, PrivateKey) {
        let k = PrivateKey::generate(KeyType::EcdsaP256).unwrap();
        let c = match ca {
            Some((c, ck)) => b.signed_by(&k, c.first().unwrap(), ck).unwrap(),
            None => b.self_signed(&k).unwrap(),
        };
        (c, k)
    }

    type Outcome = (Result<()>, Result<Option<AllowRule>>, Vec<(u32, Role)>);

    /// A "foreign" server built with raw shim calls (as another stack would), with this
    /// crate's verification installed on its config; our client connects in memory.
    fn foreign_handshake(client_cn: &str) -> Outcome {
        let (root, root_key) = issue(CertificateBuilder::new("CN=Root").ca(None), None);
        let (srv, srv_key) = issue(
            CertificateBuilder::new("CN=srv")
                .san(San::Dns("srv.local".into()))
                .extended_key_usage(&[ExtendedKeyUsage::ServerAuth]),
            Some((&root, &root_key)),
        );
        let (cli, cli_key) = issue(
            CertificateBuilder::new(&alloc::format!("CN={client_cn}"))
                .extended_key_usage(&[ExtendedKeyUsage::ClientAuth]),
            Some((&root, &root_key)),
        );
        let seen = Arc::new(Mutex::new(Vec::new()));
        let hook = VerifyHook::new({
            let seen = seen.clone();
            move |call| {
                seen.lock().unwrap().push((call.depth(), call.role()));
                Verdict::Accept
            }
        });
        let policy = ClientPolicy::builder()
            .allow_subject_cn("device-1")
            .build()
            .unwrap();
        let mut ext = ExternalVerification::new(
            Trust::anchors(root.clone()).unwrap(),
            Some(hook),
            Some(policy),
            SecurityProfile::DEFAULT,
        )
        .unwrap();
        let mut err = 0;
        // SAFETY: raw objects created and freed in this function, after everything using them.
        unsafe {
            let conf = sys::mv_ssl_conf_new(sys::MV_ENDPOINT_SERVER as i32, &mut err);
            assert!(!conf.is_null());
            sys::mv_ssl_conf_authmode(conf, sys::MBEDTLS_SSL_VERIFY_OPTIONAL as i32);
            assert_eq!(
                sys::mv_ssl_conf_own_cert(conf, srv.as_ptr(), srv_key.as_ptr()),
                0
            );
            ext.as_mut().install_on_config(conf).unwrap();
            let ssl = sys::mv_ssl_new(conf, &mut err);
            assert!(!ssl.is_null());
            let (a, b) = memory_pair();
            let mut io = Box::new(IoCtx {
                transport: b,
                blocked: false,
                error: None,
            });
            sys::mv_ssl_set_bio(
                ssl,
                (&mut *io as *mut IoCtx<MemoryTransport>).cast(),
                Some(send_trampoline::<MemoryTransport>),
                Some(recv_trampoline::<MemoryTransport>),
            );
            let client = ClientConfig::builder()
                .trust(Trust::anchors(root.clone()).unwrap())
                .identity(
                    Identity::new(
                        cli.clone(),
                        PrivateKey::parse(cli_key.to_der().unwrap().as_bytes()).unwrap(),
                    )
                    .unwrap(),
                )
                .build()
                .unwrap();
            let mut c = Session::client(&client, "srv.local", a).unwrap();
            let mut server_rc = sys::MBEDTLS_ERR_SSL_WANT_READ;
            for _ in 0..32 {
                let _ = c.handshake();
                if server_rc == sys::MBEDTLS_ERR_SSL_WANT_READ
                    || server_rc == sys::MBEDTLS_ERR_SSL_WANT_WRITE
                {
                    server_rc = sys::mv_ssl_handshake(ssl);
                }
            }
            let server = if server_rc == 0 {
                Ok(())
            } else {
                Err(Error::Tls(crate::MbedtlsError::new(server_rc)))
            };
            let checked = if server_rc == 0 {
                ext.check_after_handshake(ssl)
            } else {
                Err(Error::Closed)
            };
            drop(c);
            sys::mv_ssl_free(ssl);
            sys::mv_ssl_conf_free(conf);
            drop(io);
            let roles = seen.lock().unwrap().clone();
            (server, checked, roles)
        }
    }

    #[test]
    fn installed_on_a_foreign_config() {
        let (server, checked, roles) = foreign_handshake("device-1");
        server.unwrap();
        assert!(checked.unwrap().is_some(), "policy rule reported");
        assert_eq!(roles, [(1, Role::TrustAnchor), (0, Role::Leaf)]);

        // The policy rejects: fatal even though the foreign config is "optional".
        let (server, _checked, _) = foreign_handshake("laptop");
        assert!(server.is_err());
    }
}
