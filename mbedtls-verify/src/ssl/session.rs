//! One TLS connection (`mbedtls_ssl_context`) over a [`Transport`].
#![allow(unsafe_code)]

use alloc::boxed::Box;
use alloc::ffi::CString;
use alloc::string::String;
use alloc::vec;
use core::ffi::{CStr, c_void};
use core::fmt;
use core::marker::PhantomData;
use core::ptr::NonNull;

use super::io::{IO_FAILED, IoCtx, recv_trampoline, send_trampoline};
use super::{ClientAuth, ClientConfig, ConfigInner, ServerConfig, TlsVersion, Transport};
use crate::error::{Error, MbedtlsError, Reason, Result, VerifyError};
use crate::policy::AllowRule;
use crate::sync::Arc;
use crate::sys;
use crate::verify::{Scope, VerifyFlags, verify_trampoline};
use crate::x509::{CertRef, Certs};

/// TLS alert descriptions used when the crate refuses a peer after mbedTLS accepted it.
const ALERT_BAD_CERTIFICATE: u8 = 42;
const ALERT_ACCESS_DENIED: u8 = 49;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Handshake,
    Open,
    Closed,
    Failed,
}

/// A TLS client or server session. Create it with [`Session::server`] or
/// [`Session::client`], then call [`handshake`](Self::handshake) (or just read/write,
/// which handshake first).
pub struct Session<T: Transport> {
    ssl: NonNull<sys::mv_ssl>,
    // Fields below are pointed to by `ssl`; `Drop` frees `ssl` first.
    io: Box<IoCtx<T>>,
    scope: Option<Box<Scope>>,
    config: Arc<ConfigInner>,
    state: State,
    verified: bool,
    authorized_by: Option<AllowRule>,
}

// SAFETY: the session exclusively owns its mbedTLS context, transport and scope; the
// shared config is Sync. Moving it to another thread moves all of them together.
unsafe impl<T: Transport + Send> Send for Session<T> {}

/// The peer's certificate chain, as sent, after it verified with no flag left and the
/// policy (if any) accepted it.
#[derive(Clone, Copy)]
pub struct VerifiedPeer<'a> {
    head: CertRef<'a>,
    authorized_by: Option<AllowRule>,
    _session: PhantomData<&'a ()>,
}

impl<'a> VerifiedPeer<'a> {
    /// The peer's own certificate.
    pub fn leaf(&self) -> CertRef<'a> {
        self.head
    }

    /// The chain as the peer sent it, leaf first.
    pub fn certs(&self) -> Certs<'a> {
        // SAFETY: head is the first node of the session's peer list, alive for 'a.
        unsafe { crate::x509::certs_from(self.head) }
    }

    /// The policy rule that admitted the peer, when the configuration has a policy.
    pub fn authorized_by(&self) -> Option<AllowRule> {
        self.authorized_by
    }
}

impl fmt::Debug for VerifiedPeer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedPeer")
            .field("leaf", &self.head)
            .field("authorized_by", &self.authorized_by)
            .finish()
    }
}

impl<T: Transport> Session<T> {
    /// A server session: the client connecting over `transport` is authenticated as the
    /// configuration says.
    #[doc(alias = "mbedtls_ssl_setup")]
    pub fn server(config: &ServerConfig, transport: T) -> Result<Self> {
        Self::new(config.0.clone(), transport, None)
    }

    /// A client session that checks the server's certificate against `server_name` (DNS
    /// name or IP address) and sends it as SNI. To connect without a name check (never
    /// for a real server), see [`crate::danger::client_without_name_check`].
    #[doc(alias = "mbedtls_ssl_setup")]
    #[doc(alias = "mbedtls_ssl_set_hostname")]
    pub fn client(config: &ClientConfig, server_name: &str, transport: T) -> Result<Self> {
        if server_name.is_empty() {
            return Err(Error::InvalidInput(
                "a server name is required to verify the server".into(),
            ));
        }
        Self::new(config.0.clone(), transport, Some(Some(server_name)))
    }

    pub(crate) fn client_without_name(config: &ClientConfig, transport: T) -> Result<Self> {
        Self::new(config.0.clone(), transport, Some(None))
    }

    fn new(config: Arc<ConfigInner>, transport: T, hostname: Option<Option<&str>>) -> Result<Self> {
        let mut err = 0;
        // SAFETY: the config is valid and outlives the context (held by the session).
        let ssl = NonNull::new(unsafe { sys::mv_ssl_new(config.as_ptr(), &mut err) })
            .ok_or(Error::Mbedtls(MbedtlsError::new(err)))?;
        let mut session = Session {
            ssl,
            io: Box::new(IoCtx {
                transport,
                blocked: false,
                error: None,
            }),
            scope: None,
            config,
            state: State::Handshake,
            verified: false,
            authorized_by: None,
        };
        let p = session.ssl.as_ptr();
        if let Some(name) = hostname {
            let c = name
                .map(CString::new)
                .transpose()
                .map_err(|_| Error::InvalidInput("server name contains NUL".into()))?;
            // SAFETY: valid context; mbedTLS copies the name. NULL explicitly disables
            // the name check (mbedTLS otherwise refuses to verify without a name).
            let rc = unsafe {
                sys::mv_ssl_set_hostname(p, c.as_ref().map_or(core::ptr::null(), |c| c.as_ptr()))
            };
            crate::error::cvt(rc)?;
        }
        let io_ptr = (&mut *session.io as *mut IoCtx<T>).cast::<c_void>();
        // SAFETY: the boxed IoCtx lives as long as the session, which frees ssl first.
        unsafe {
            sys::mv_ssl_set_bio(
                p,
                io_ptr,
                Some(send_trampoline::<T>),
                Some(recv_trampoline::<T>),
            )
        };
        let verifies = !session.config.server || session.config.client_auth != ClientAuth::None;
        if let (true, Some(trust)) = (verifies, session.config.trust.clone()) {
            let mut scope = Box::new(Scope::new(trust, session.config.hook.clone()));
            scope.policy = session.config.policy.clone();
            scope.profile = session.config.rules;
            scope.fatal_on_flags = true;
            scope.server_name = hostname.flatten().map(String::from);
            let scope_ptr = (&mut *scope as *mut Scope).cast::<c_void>();
            session.scope = Some(scope);
            // SAFETY: the boxed scope lives as long as the session (freed after ssl);
            // only this connection's verification uses it.
            unsafe { sys::mv_ssl_set_verify(p, Some(verify_trampoline), scope_ptr) };
        }
        Ok(session)
    }

    /// Run the handshake to completion (or until a non-blocking transport would block:
    /// then `Error::WantRead` / `Error::WantWrite`; call again later).
    #[doc(alias = "mbedtls_ssl_handshake")]
    pub fn handshake(&mut self) -> Result<()> {
        match self.state {
            State::Handshake => {}
            State::Open => return Ok(()),
            State::Closed | State::Failed => return Err(Error::Closed),
        }
        loop {
            self.io.blocked = false;
            // SAFETY: valid context; the transport and scope it uses are alive.
            let rc = unsafe { sys::mv_ssl_handshake(self.ssl.as_ptr()) };
            if rc == 0 {
                break;
            }
            if let Some(e) = self.retry_or_error(rc) {
                return Err(e);
            }
        }
        self.after_handshake()?;
        self.state = State::Open;
        Ok(())
    }

    /// `None` to retry the call (mbedTLS made progress without waiting on the transport).
    fn retry_or_error(&mut self, rc: i32) -> Option<Error> {
        let want = rc == sys::MBEDTLS_ERR_SSL_WANT_READ || rc == sys::MBEDTLS_ERR_SSL_WANT_WRITE;
        if (want && !self.io.blocked) || rc == sys::MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET {
            return None;
        }
        if rc == sys::MBEDTLS_ERR_SSL_WANT_READ {
            return Some(Error::WantRead);
        }
        if rc == sys::MBEDTLS_ERR_SSL_WANT_WRITE {
            return Some(Error::WantWrite);
        }
        self.state = State::Failed;
        if rc == IO_FAILED {
            if let Some(e) = self.io.error.take() {
                return Some(Error::Transport(e));
            }
        }
        // Verification failures: the reasons the trampolines recorded, plus the flags.
        let reasons = self
            .scope
            .as_mut()
            .map(|s| core::mem::take(&mut s.reasons))
            .unwrap_or_default();
        let verify_codes = [
            sys::MV_ERR_HOOK_REJECTED,
            sys::MV_ERR_CALLBACK_PANIC,
            sys::MV_ERR_CALLBACK_FAILED,
            sys::MV_ERR_POLICY_REJECTED,
            sys::MV_ERR_UNVERIFIED,
            sys::MBEDTLS_ERR_X509_CERT_VERIFY_FAILED,
            sys::MBEDTLS_ERR_SSL_BAD_CERTIFICATE,
            sys::MBEDTLS_ERR_X509_FATAL_ERROR,
        ];
        if !reasons.is_empty() || verify_codes.contains(&rc) {
            // SAFETY: valid context.
            let raw = unsafe { sys::mv_ssl_verify_result(self.ssl.as_ptr()) };
            // After a fatal return from the hook mbedTLS sets every bit; the flags the
            // hook saw are then in the recorded reasons.
            let flags = if raw == u32::MAX {
                reasons.iter().fold(VerifyFlags::empty(), |acc, r| match r {
                    Reason::Flags(f) => acc | *f,
                    _ => acc,
                })
            } else {
                VerifyFlags::from_bits_retain(raw)
            };
            let mut reasons = reasons;
            if !flags.is_empty() && !reasons.iter().any(|r| matches!(r, Reason::Flags(_))) {
                reasons.push(Reason::Flags(flags));
            }
            if reasons.is_empty() {
                reasons.push(Reason::Fatal(MbedtlsError::new(rc)));
            }
            return Some(Error::Verify(VerifyError { reasons, flags }));
        }
        Some(Error::Tls(MbedtlsError::new(rc)))
    }

    /// Checks after mbedTLS completed the handshake: in "optional" mode mbedTLS forgives
    /// verification flags (including the key-usage flags it adds after the hook); this
    /// crate does not.
    fn after_handshake(&mut self) -> Result<()> {
        let p = self.ssl.as_ptr();
        // SAFETY: valid context after a completed handshake.
        let (peer, raw) = unsafe { (sys::mv_ssl_peer_cert(p), sys::mv_ssl_verify_result(p)) };
        let verifies = !self.config.server || self.config.client_auth != ClientAuth::None;
        if !verifies {
            return Ok(());
        }
        if peer.is_null() {
            if self.config.server && self.config.client_auth == ClientAuth::Optional {
                return Ok(()); // no certificate sent: allowed, but nothing is verified
            }
            return self.refuse(
                ALERT_BAD_CERTIFICATE,
                Reason::Flags(VerifyFlags::MISSING),
                VerifyFlags::MISSING,
            );
        }
        if raw != 0 {
            let flags = VerifyFlags::from_bits_retain(raw);
            return self.refuse(ALERT_BAD_CERTIFICATE, Reason::Flags(flags), flags);
        }
        let accepted = self.scope.as_ref().and_then(|s| s.accepted);
        if self.config.policy.is_some() && accepted.is_none() {
            // The policy did not run on this peer (it must on every handshake).
            return self.refuse(
                ALERT_ACCESS_DENIED,
                Reason::Policy(vec![
                    "the policy was not evaluated for this handshake".into(),
                ]),
                VerifyFlags::empty(),
            );
        }
        self.verified = true;
        self.authorized_by = accepted;
        Ok(())
    }

    fn refuse(&mut self, alert: u8, reason: Reason, flags: VerifyFlags) -> Result<()> {
        // SAFETY: valid context; sending an alert on a completed handshake.
        unsafe { sys::mv_ssl_send_fatal_alert(self.ssl.as_ptr(), alert) };
        self.state = State::Failed;
        Err(Error::Verify(VerifyError {
            reasons: vec![reason],
            flags,
        }))
    }

    /// Read application data. `Ok(0)`: the peer closed the connection with close_notify.
    #[doc(alias = "mbedtls_ssl_read")]
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        self.handshake()?;
        loop {
            self.io.blocked = false;
            // SAFETY: valid context; buf writable for its length.
            let rc = unsafe { sys::mv_ssl_read(self.ssl.as_ptr(), buf.as_mut_ptr(), buf.len()) };
            if rc >= 0 {
                return Ok(rc as usize);
            }
            if rc == sys::MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY {
                self.state = State::Closed;
                return Ok(0);
            }
            if let Some(e) = self.retry_or_error(rc) {
                return Err(e);
            }
        }
    }

    /// Write application data; returns how much was taken (at most one record).
    #[doc(alias = "mbedtls_ssl_write")]
    pub fn write(&mut self, data: &[u8]) -> Result<usize> {
        self.handshake()?;
        loop {
            self.io.blocked = false;
            // SAFETY: valid context; data readable for its length.
            let rc = unsafe { sys::mv_ssl_write(self.ssl.as_ptr(), data.as_ptr(), data.len()) };
            if rc >= 0 {
                return Ok(rc as usize);
            }
            if let Some(e) = self.retry_or_error(rc) {
                return Err(e);
            }
        }
    }

    /// Write all of `data`.
    #[doc(alias = "mbedtls_ssl_write")]
    pub fn write_all(&mut self, mut data: &[u8]) -> Result<()> {
        while !data.is_empty() {
            let n = self.write(data)?;
            data = &data[n..];
        }
        Ok(())
    }

    /// Send close_notify. The session cannot be used afterwards.
    #[doc(alias = "mbedtls_ssl_close_notify")]
    pub fn close(&mut self) -> Result<()> {
        if self.state != State::Open {
            self.state = State::Closed;
            return Ok(());
        }
        loop {
            self.io.blocked = false;
            // SAFETY: valid context.
            let rc = unsafe { sys::mv_ssl_close_notify(self.ssl.as_ptr()) };
            if rc >= 0 {
                self.state = State::Closed;
                return Ok(());
            }
            if let Some(e) = self.retry_or_error(rc) {
                return Err(e);
            }
        }
    }

    /// The peer's chain and the policy decision, only when the peer sent a certificate
    /// that verified with no flag left and the policy (if any) accepted it.
    #[doc(alias = "mbedtls_ssl_get_verify_result")]
    #[doc(alias = "mbedtls_ssl_get_peer_cert")]
    pub fn verified_peer(&self) -> Option<VerifiedPeer<'_>> {
        if !self.verified || self.state != State::Open {
            return None;
        }
        let head = self.peer_head()?;
        Some(VerifiedPeer {
            head,
            authorized_by: self.authorized_by,
            _session: PhantomData,
        })
    }

    pub(crate) fn peer_head(&self) -> Option<CertRef<'_>> {
        // SAFETY: valid context; the peer list lives as long as the context.
        let p = unsafe { sys::mv_ssl_peer_cert(self.ssl.as_ptr()) };
        // SAFETY: a parsed list owned by the session, borrowed for &self.
        NonNull::new(p.cast_mut()).map(|p| unsafe { CertRef::from_raw(p) })
    }

    /// The negotiated protocol version, after the handshake.
    #[doc(alias = "mbedtls_ssl_get_version_number")]
    pub fn version(&self) -> Option<TlsVersion> {
        // SAFETY: valid context.
        TlsVersion::from_wire(unsafe { sys::mv_ssl_version(self.ssl.as_ptr()) })
    }

    /// The negotiated cipher suite's name, e.g. `TLS1-3-AES-128-GCM-SHA256`.
    #[doc(alias = "mbedtls_ssl_get_ciphersuite")]
    pub fn cipher_suite(&self) -> Option<&str> {
        // SAFETY: valid context; mbedTLS returns a static string or NULL.
        let p = unsafe { sys::mv_ssl_ciphersuite(self.ssl.as_ptr()) };
        // SAFETY: a NUL-terminated static string.
        (!p.is_null())
            .then(|| unsafe { CStr::from_ptr(p) }.to_str().ok())
            .flatten()
    }

    /// The negotiated ALPN protocol.
    #[doc(alias = "mbedtls_ssl_get_alpn_protocol")]
    pub fn alpn(&self) -> Option<&str> {
        // SAFETY: valid context; returns a string owned by the config or NULL.
        let p = unsafe { sys::mv_ssl_alpn(self.ssl.as_ptr()) };
        // SAFETY: NUL-terminated, alive as long as the config this session holds.
        (!p.is_null())
            .then(|| unsafe { CStr::from_ptr(p) }.to_str().ok())
            .flatten()
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.io.transport
    }

    /// The transport, mutably (e.g. to change a socket's timeout between calls).
    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.io.transport
    }
}

impl<T: Transport> Drop for Session<T> {
    fn drop(&mut self) {
        // SAFETY: owned context, freed before the transport, scope and config it uses.
        unsafe { sys::mv_ssl_free(self.ssl.as_ptr()) }
    }
}

impl<T: Transport> fmt::Debug for Session<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("server", &self.config.server)
            .field("state", &self.state)
            .field("version", &self.version())
            .field("verified", &self.verified)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "std")]
fn to_io(e: Error) -> std::io::Error {
    match e {
        Error::WantRead | Error::WantWrite => {
            std::io::Error::new(std::io::ErrorKind::WouldBlock, e)
        }
        Error::Io(e) => e,
        other => std::io::Error::other(other),
    }
}

#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
impl<T: Transport> std::io::Read for Session<T> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        Session::read(self, buf).map_err(to_io)
    }
}

#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
impl<T: Transport> std::io::Write for Session<T> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Session::write(self, buf).map_err(to_io)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
