//! TLS 1.2 / 1.3 client and server sessions with mutual authentication.
//!
//! Build a [`ServerConfig`] or [`ClientConfig`] once (they are shared by every connection,
//! across threads), then run a [`Session`] over any [`Transport`]: `std::io` streams on
//! the host ([`StdIo`]), or your own (an `embedded-io` socket, a callback pair).
//!
//! After the handshake, [`Session::verified_peer`] returns the peer's chain and the
//! policy decision **only** when verification succeeded with no flag left and the policy
//! (if any) accepted — `None` otherwise.
//!
//! # Resumption
//! The bundled mbedTLS 3.6.5 has TLS 1.3 resumption and session-reset advisories fixed
//! in 3.6.6/3.6.7 (CVE-2026-34873: client impersonation while resuming). This crate
//! never builds servers with session tickets or a session cache (`MBEDTLS_SSL_TICKET_C`
//! and `MBEDTLS_SSL_CACHE_C` are not compiled in), turns tickets off on clients, and
//! uses a fresh mbedTLS context for every connection (no `mbedtls_ssl_session_reset`).
//! So the verify hook and the policy run on every handshake.
#![allow(unsafe_code)]

#[cfg(feature = "async")]
#[cfg_attr(docsrs, doc(cfg(feature = "async")))]
pub mod asynch;
pub mod external;
mod io;
pub mod mem;
mod session;

#[cfg(feature = "embedded-io")]
pub use io::EmbeddedIo;
#[cfg(feature = "std")]
pub use io::StdIo;
pub use io::{IoStatus, Transport};
pub use session::{Session, VerifiedPeer};

use alloc::boxed::Box;
use alloc::ffi::CString;
use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::{c_char, c_void};
use core::fmt;
use core::ptr::NonNull;

use crate::error::{Error, MbedtlsError, Result, cvt};
use crate::pk::PrivateKey;
use crate::policy::ClientPolicy;
use crate::profile::SecurityProfile;
use crate::sync::Arc;
use crate::sys;
use crate::trust::Trust;
use crate::verify::VerifyHook;
use crate::x509::CertChain;

/// Whether a server asks clients for a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuth {
    /// Do not ask.
    None,
    /// Ask; a client may send none, but a certificate it does send must verify and pass
    /// the policy, or the handshake fails.
    Optional,
    /// A client must send a certificate that verifies and passes the policy.
    #[default]
    Required,
}

/// A TLS protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    /// TLS 1.2.
    Tls12,
    /// TLS 1.3.
    Tls13,
}

impl TlsVersion {
    fn wire(self) -> u32 {
        match self {
            TlsVersion::Tls12 => 0x0303,
            TlsVersion::Tls13 => 0x0304,
        }
    }

    pub(crate) fn from_wire(v: u32) -> Option<Self> {
        match v {
            0x0303 => Some(TlsVersion::Tls12),
            0x0304 => Some(TlsVersion::Tls13),
            _ => None,
        }
    }
}

impl fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TlsVersion::Tls12 => "TLSv1.2",
            TlsVersion::Tls13 => "TLSv1.3",
        })
    }
}

/// An endpoint's own certificate chain and private key.
pub struct Identity {
    chain: CertChain,
    key: PrivateKey,
}

impl Identity {
    /// `chain` is the endpoint's certificate first, then intermediates to send. The key
    /// must belong to the first certificate.
    #[doc(alias = "mbedtls_pk_check_pair")]
    pub fn new(chain: CertChain, key: PrivateKey) -> Result<Self> {
        let leaf = chain
            .first()
            .ok_or_else(|| Error::InvalidInput("empty certificate chain".into()))?;
        if !leaf.matches_key(&key) {
            return Err(Error::InvalidInput(
                "the private key does not match the certificate".into(),
            ));
        }
        Ok(Identity { chain, key })
    }

    /// From PEM (or DER) certificate chain and key bytes.
    pub fn from_pem(chain: &[u8], key: &[u8]) -> Result<Self> {
        Self::new(CertChain::parse(chain)?, PrivateKey::parse(key)?)
    }

    /// The certificate chain sent to the peer (the leaf first).
    pub fn chain(&self) -> &CertChain {
        &self.chain
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("chain", &self.chain)
            .finish_non_exhaustive()
    }
}

/// Everything a configuration owns that mbedTLS points into. Never mutated after build.
pub(crate) struct ConfigInner {
    conf: NonNull<sys::mv_ssl_conf>,
    pub(crate) server: bool,
    pub(crate) trust: Option<Trust>,
    pub(crate) hook: Option<VerifyHook>,
    pub(crate) policy: Option<Arc<ClientPolicy>>,
    pub(crate) client_auth: ClientAuth,
    /// The structural rules of the certificate profile (applied by the trampoline).
    pub(crate) rules: crate::profile::Profile,
    identities: Vec<Identity>,
    sni: Vec<(String, usize)>,
    _profile: Box<sys::mv_profile>,
    _ca_ctx: Option<Box<crate::trust::CaCtx>>,
    _alpn: Vec<CString>,
    _alpn_ptrs: Box<[*const c_char]>,
}

// SAFETY: after build the mbedTLS config and everything it points to are only read;
// mbedTLS supports sharing one mbedtls_ssl_config between threads (with
// MBEDTLS_THREADING_C on the host). The callbacks it holds are Send + Sync closures.
unsafe impl Send for ConfigInner {}
// SAFETY: see above.
unsafe impl Sync for ConfigInner {}

impl Drop for ConfigInner {
    fn drop(&mut self) {
        // SAFETY: owned config; every session holding an Arc to it is gone.
        unsafe { sys::mv_ssl_conf_free(self.conf.as_ptr()) }
    }
}

impl ConfigInner {
    pub(crate) fn as_ptr(&self) -> *const sys::mv_ssl_conf {
        self.conf.as_ptr()
    }
}

/// Settings common to both builders.
#[derive(Debug)]
struct Common {
    trust: Option<Trust>,
    hook: Option<VerifyHook>,
    policy: Option<ClientPolicy>,
    profile: SecurityProfile,
    min: TlsVersion,
    max: TlsVersion,
    alpn: Vec<String>,
}

impl Default for Common {
    fn default() -> Self {
        Common {
            trust: None,
            hook: None,
            policy: None,
            profile: SecurityProfile::DEFAULT,
            min: TlsVersion::Tls12,
            max: if cfg!(mbedtls_tls13) {
                TlsVersion::Tls13
            } else {
                TlsVersion::Tls12
            },
            alpn: Vec::new(),
        }
    }
}

fn build(
    server: bool,
    c: Common,
    identities: Vec<(Identity, Vec<String>)>,
    client_auth: ClientAuth,
) -> Result<Arc<ConfigInner>> {
    crate::platform::init()?;
    if c.min > c.max {
        return Err(Error::InvalidInput(
            "minimum TLS version is above the maximum".into(),
        ));
    }
    if c.max == TlsVersion::Tls13 && !cfg!(mbedtls_tls13) {
        return Err(Error::Unsupported("TLS 1.3"));
    }
    let verifies = !server || client_auth != ClientAuth::None;
    if verifies && c.trust.is_none() {
        return Err(Error::InvalidInput(if server {
            "client authentication needs a trust setting (the CAs that issue client certificates)"
                .into()
        } else {
            "a client needs a trust setting (the CAs that issue server certificates)".into()
        }));
    }
    if !verifies && (c.hook.is_some() || c.policy.is_some()) {
        return Err(Error::InvalidInput(
            "a verify hook or policy needs client authentication (optional or required)".into(),
        ));
    }
    let mut err = 0;
    let endpoint = if server {
        sys::MV_ENDPOINT_SERVER
    } else {
        sys::MV_ENDPOINT_CLIENT
    };
    // SAFETY: returns an owned, defaulted config or NULL with err set.
    let conf = NonNull::new(unsafe { sys::mv_ssl_conf_new(endpoint as i32, &mut err) })
        .ok_or(Error::Mbedtls(MbedtlsError::new(err)))?;
    let profile = Box::new(c.profile.to_c());
    let mut alpn: Vec<CString> = Vec::new();
    for p in &c.alpn {
        alpn.push(
            CString::new(p.as_str())
                .map_err(|_| Error::InvalidInput("ALPN name with NUL".into()))?,
        );
    }
    let mut alpn_ptrs: Vec<*const c_char> = alpn.iter().map(|s| s.as_ptr()).collect();
    alpn_ptrs.push(core::ptr::null());
    let mut inner = ConfigInner {
        conf,
        server,
        trust: c.trust,
        hook: c.hook,
        policy: c.policy.map(Arc::new),
        client_auth,
        rules: c.profile.rules,
        identities: Vec::new(),
        sni: Vec::new(),
        _profile: profile,
        _ca_ctx: None,
        _alpn: alpn,
        _alpn_ptrs: alpn_ptrs.into_boxed_slice(),
    };
    let p = inner.conf.as_ptr();
    let authmode = match (server, client_auth) {
        (true, ClientAuth::None) => sys::MBEDTLS_SSL_VERIFY_NONE,
        (true, ClientAuth::Optional) => sys::MBEDTLS_SSL_VERIFY_OPTIONAL,
        _ => sys::MBEDTLS_SSL_VERIFY_REQUIRED,
    };
    // SAFETY: p is the valid config owned by `inner`; every pointer handed to mbedTLS
    // below is owned by `inner` (boxed or in vectors that are never modified again) and
    // so lives as long as the config.
    unsafe {
        sys::mv_ssl_conf_authmode(p, authmode as i32);
        sys::mv_ssl_conf_versions(p, c.min.wire(), c.max.wire());
        sys::mv_ssl_conf_profile(p, &*inner._profile);
        sys::mv_ssl_conf_no_resumption(p);
        if !c.alpn.is_empty() {
            cvt(sys::mv_ssl_conf_alpn(
                p,
                inner._alpn_ptrs.as_ptr().cast_mut(),
            ))?;
        }
    }
    match &inner.trust {
        Some(Trust::Anchors(a)) => {
            let crl = a.crl.as_ref().map_or(core::ptr::null_mut(), |c| c.as_ptr());
            // SAFETY: the anchors (Arc) are owned by `inner.trust` for the config's life.
            unsafe { sys::mv_ssl_conf_ca_chain(p, a.cas.as_ptr(), crl) };
        }
        #[cfg(mbedtls_ca_cb)]
        Some(Trust::Callback(cb)) => {
            let cx = Box::new(crate::trust::CaCtx {
                cb: cb.clone(),
                failure: None,
                record: false,
            });
            let cx_ptr = (&*cx as *const crate::trust::CaCtx)
                .cast_mut()
                .cast::<c_void>();
            inner._ca_ctx = Some(cx);
            // SAFETY: the CA context is boxed in `inner`; with record = false the
            // trampoline only reads it, so sharing it between connections is sound.
            cvt(unsafe {
                sys::mv_ssl_conf_ca_cb(p, Some(crate::trust::ca_cb_trampoline), cx_ptr)
            })?;
        }
        None => {}
    }
    for (i, (id, names)) in identities.into_iter().enumerate() {
        // SAFETY: chain and key are moved into `inner.identities` right after and never
        // dropped before the config (their heap handles do not move).
        cvt(unsafe { sys::mv_ssl_conf_own_cert(p, id.chain.as_ptr(), id.key.as_ptr()) })?;
        for n in names {
            inner.sni.push((n.to_ascii_lowercase(), i));
        }
        inner.identities.push(id);
    }
    let inner = Arc::new(inner);
    if !inner.sni.is_empty() {
        let ctx = (&*inner as *const ConfigInner).cast_mut().cast::<c_void>();
        // SAFETY: the context is the Arc's heap value, alive as long as the config; the
        // SNI trampoline only reads it.
        unsafe { sys::mv_ssl_conf_sni(inner.conf.as_ptr(), Some(sni_trampoline), ctx) };
    }
    Ok(inner)
}

unsafe extern "C" fn sni_trampoline(
    ctx: *mut c_void,
    ssl: *mut sys::mv_ssl,
    name: *const u8,
    len: usize,
) -> i32 {
    if ctx.is_null() || ssl.is_null() || (name.is_null() && len > 0) {
        return sys::MV_ERR_CALLBACK_FAILED;
    }
    // SAFETY: ctx is the ConfigInner registered in build(); read-only.
    let inner = unsafe { &*(ctx as *const ConfigInner) };
    let name = if len == 0 {
        &[][..]
    } else {
        // SAFETY: mbedTLS passes the server name it received, len bytes.
        unsafe { core::slice::from_raw_parts(name, len) }
    };
    let found = crate::platform::guard(|| {
        inner
            .sni
            .iter()
            .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name))
            .map(|(_, i)| *i)
    });
    match found {
        // SAFETY: the identity is owned by the config, which outlives the handshake.
        Ok(Some(i)) => unsafe {
            let id = &inner.identities[i];
            sys::mv_ssl_set_hs_own_cert(ssl, id.chain.as_ptr(), id.key.as_ptr())
        },
        // Unknown or absent name: mbedTLS uses the default (first) identity.
        Ok(None) => 0,
        Err(()) => sys::MV_ERR_CALLBACK_PANIC,
    }
}

/// A TLS server configuration, shared by every connection it accepts.
#[derive(Clone)]
pub struct ServerConfig(pub(crate) Arc<ConfigInner>);

/// A TLS client configuration, shared by every connection it makes.
#[derive(Clone)]
pub struct ClientConfig(pub(crate) Arc<ConfigInner>);

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("client_auth", &self.0.client_auth)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig").finish_non_exhaustive()
    }
}

/// The setters both builders share (they differ only in whose certificates are verified).
macro_rules! common_setters {
    ($whose:literal) => {
        #[doc = concat!("The CAs that issue ", $whose, ".")]
        #[doc(alias = "mbedtls_ssl_conf_ca_chain")]
        #[doc(alias = "mbedtls_ssl_conf_ca_cb")]
        pub fn trust(mut self, trust: Trust) -> Self {
            self.common.trust = Some(trust);
            self
        }

        #[doc = concat!("Called for every certificate of the peer's chain (", $whose, ").")]
        #[doc(alias = "mbedtls_ssl_set_verify")]
        pub fn verify_hook(mut self, hook: VerifyHook) -> Self {
            self.common.hook = Some(hook);
            self
        }

        /// Authorize the peer with a policy (run after mbedTLS verified the chain).
        pub fn policy(mut self, policy: ClientPolicy) -> Self {
            self.common.policy = Some(policy);
            self
        }

        /// The algorithms allowed in the peer's chain, and its structural rules
        /// (`profile.rules`, applied to every certificate of the path; see
        /// [`Profile`](crate::profile::Profile)).
        #[doc(alias = "mbedtls_ssl_conf_cert_profile")]
        /// The security profile the peer's chain must meet (`mbedtls_ssl_conf_cert_profile`); [`SecurityProfile::DEFAULT`] unless set.
        pub fn profile(mut self, profile: SecurityProfile) -> Self {
            self.common.profile = profile;
            self
        }

        #[doc(alias = "mbedtls_ssl_conf_min_tls_version")]
        /// The lowest and highest TLS version to negotiate (`mbedtls_ssl_conf_min_tls_version`, `mbedtls_ssl_conf_max_tls_version`).
        pub fn versions(mut self, min: TlsVersion, max: TlsVersion) -> Self {
            self.common.min = min;
            self.common.max = max;
            self
        }

        #[doc(alias = "mbedtls_ssl_conf_alpn_protocols")]
        /// ALPN protocols, in order of preference (`mbedtls_ssl_conf_alpn_protocols`).
        pub fn alpn(mut self, protocols: &[&str]) -> Self {
            self.common.alpn = protocols.iter().map(|p| String::from(*p)).collect();
            self
        }
    };
}

/// Builds a [`ServerConfig`].
#[derive(Debug, Default)]
pub struct ServerConfigBuilder {
    common: Common,
    identities: Vec<(Identity, Vec<String>)>,
    client_auth: ClientAuth,
}

impl ServerConfig {
    /// Client authentication defaults to [`ClientAuth::Required`].
    pub fn builder() -> ServerConfigBuilder {
        ServerConfigBuilder::default()
    }
}

impl ServerConfigBuilder {
    /// The server's default identity (the first one added).
    #[doc(alias = "mbedtls_ssl_conf_own_cert")]
    pub fn identity(mut self, id: Identity) -> Self {
        self.identities.push((id, Vec::new()));
        self
    }

    /// An identity chosen when the client asks for one of `names` (SNI).
    #[doc(alias = "mbedtls_ssl_conf_sni")]
    pub fn identity_for_names(mut self, id: Identity, names: &[&str]) -> Self {
        self.identities
            .push((id, names.iter().map(|n| String::from(*n)).collect()));
        self
    }

    #[doc(alias = "mbedtls_ssl_conf_authmode")]
    /// Whether clients must present a certificate (`mbedtls_ssl_conf_authmode`).
    pub fn client_auth(mut self, mode: ClientAuth) -> Self {
        self.client_auth = mode;
        self
    }

    common_setters!("client certificates");

    /// The configuration (`mbedtls_ssl_config_defaults` and the setters); fails without an identity or on an inconsistent setting.
    pub fn build(self) -> Result<ServerConfig> {
        if self.identities.is_empty() {
            return Err(Error::InvalidInput(
                "a server needs an identity (certificate and key)".into(),
            ));
        }
        build(true, self.common, self.identities, self.client_auth).map(ServerConfig)
    }
}

/// Builds a [`ClientConfig`].
#[derive(Debug, Default)]
pub struct ClientConfigBuilder {
    common: Common,
    identity: Option<Identity>,
}

impl ClientConfig {
    /// A builder; the server's certificate is verified against the trust set, and its name against the one given to [`Session::client`].
    pub fn builder() -> ClientConfigBuilder {
        ClientConfigBuilder::default()
    }
}

impl ClientConfigBuilder {
    /// The client's certificate and key, sent when the server asks.
    pub fn identity(mut self, id: Identity) -> Self {
        self.identity = Some(id);
        self
    }

    common_setters!("server certificates");

    /// The configuration (`mbedtls_ssl_config_defaults` and the setters); fails without trust or on an inconsistent setting.
    pub fn build(self) -> Result<ClientConfig> {
        let ids = self.identity.into_iter().map(|i| (i, Vec::new())).collect();
        build(false, self.common, ids, ClientAuth::Required).map(ClientConfig)
    }
}
