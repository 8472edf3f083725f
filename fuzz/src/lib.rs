//! Shared by the fuzz targets (`fuzz_targets/`) and the seed-corpus generator
//! (`examples/make_corpus.rs`): the fixed PKI, a deterministic entropy source and clock
//! for replayable TLS flights, a recording verify hook, and the invariants every target
//! checks on a verification that succeeded.
//!
//! Determinism is what makes the TLS targets reach past the first flight: with the
//! entropy and the time fixed, a client (or server) fed a recorded peer flight sends
//! byte for byte what it sent when the flight was recorded, so the recorded rest of
//! the handshake still fits and the fuzzer mutates a handshake that otherwise succeeds.
#![allow(clippy::missing_panics_doc)]

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use mbedtls_verify::der::Reader;
use mbedtls_verify::policy::ClientPolicy;
use mbedtls_verify::ssl::mem::MemoryTransport;
use mbedtls_verify::ssl::{
    ClientAuth, ClientConfig, Identity, IoStatus, ServerConfig, TlsVersion, Transport,
};
use mbedtls_verify::trust::{CaCandidates, CaLookupError, Trust};
use mbedtls_verify::verifier::{ValidationTime, Verified, Verifier};
use mbedtls_verify::verify::{Role, Verdict, VerifyFlags, VerifyHook};
use mbedtls_verify::x509::{CertChain, CertRef, ExtendedKeyUsage};

/// The validation time of every target: 2030-01-01T00:00:00Z (inside the fixtures'
/// validity, 2020 to 2049).
pub const NOW: i64 = 1_893_456_000;
/// The DNS name in the fixture server certificate, checked by the TLS client target.
pub const SERVER_NAME: &str = "server.fuzz.example";
/// The URI prefix the server policy admits (the fixture client has `.../device/1`).
pub const DEVICE_URI_PREFIX: &str = "spiffe://fuzz.example/device/";
/// Most certificates taken from one input (mbedTLS builds at most 10 anyway).
pub const MAX_CERTS: usize = 16;

/// The fixed PKI (P-256, valid 2020–2049), written once by
/// `make_corpus --fixtures fuzz/fixtures` and kept in git so that recorded seeds stay
/// valid. Test keys only: they protect nothing.
pub mod fixtures {
    pub const CA_CRT: &[u8] = include_bytes!("../fixtures/ca.crt");
    pub const CA_KEY: &[u8] = include_bytes!("../fixtures/ca.key");
    pub const INT_CRT: &[u8] = include_bytes!("../fixtures/int.crt");
    pub const INT_KEY: &[u8] = include_bytes!("../fixtures/int.key");
    /// Leaf (clientAuth, URI `spiffe://fuzz.example/device/1`) then the issuing CA.
    pub const CLIENT_CRT: &[u8] = include_bytes!("../fixtures/client.crt");
    pub const CLIENT_KEY: &[u8] = include_bytes!("../fixtures/client.key");
    /// Leaf (serverAuth, DNS `server.fuzz.example`) then the issuing CA.
    pub const SERVER_CRT: &[u8] = include_bytes!("../fixtures/server.crt");
    pub const SERVER_KEY: &[u8] = include_bytes!("../fixtures/server.key");
}

thread_local! {
    static CA: CertChain = CertChain::from_pem(fixtures::CA_CRT).expect("fixture CA");
}

/// The trust anchor of every target.
pub fn ca_chain() -> CertChain {
    CA.with(Clone::clone)
}

/// `Trust::anchors` with the fixture CA.
pub fn anchors() -> Trust {
    Trust::anchors(ca_chain()).expect("fixture CA")
}

/// `Trust::callback` that returns the fixture CA for a certificate naming it as issuer.
pub fn ca_callback() -> Trust {
    let ca = ca_chain();
    Trust::callback(move |cert: CertRef<'_>| {
        let anchor = ca.first().expect("fixture CA");
        if cert.issuer().der() == anchor.subject().der() {
            CaCandidates::from_chain(&ca).map_err(|e| CaLookupError(e.to_string()))
        } else {
            Ok(CaCandidates::none())
        }
    })
}

/// The policy a server applies to clients: clientAuth, a URI under
/// [`DEVICE_URI_PREFIX`], at most 2 levels.
pub fn client_policy() -> ClientPolicy {
    ClientPolicy::builder()
        .allow_uri_prefix(DEVICE_URI_PREFIX)
        .max_chain_depth(2)
        .min_ec_bits(256)
        .build()
        .expect("client policy")
}

/// The policy a client applies to the server: serverAuth and [`SERVER_NAME`].
pub fn server_policy() -> ClientPolicy {
    ClientPolicy::builder()
        .require_eku([ExtendedKeyUsage::ServerAuth])
        .allow_dns(SERVER_NAME)
        .build()
        .expect("server policy")
}

pub fn identity(crt: &[u8], key: &[u8]) -> Identity {
    Identity::from_pem(crt, key).expect("fixture identity")
}

pub fn client_identity() -> Identity {
    identity(fixtures::CLIENT_CRT, fixtures::CLIENT_KEY)
}

pub fn server_identity() -> Identity {
    identity(fixtures::SERVER_CRT, fixtures::SERVER_KEY)
}

// ---------------------------------------------------------------------------------
// Deterministic entropy and time
// ---------------------------------------------------------------------------------

/// Which side of an in-memory handshake is running: each has its own entropy stream,
/// so that a side consumes the same bytes whether or not its peer runs in the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Client = 0,
    Server = 1,
    Other = 2,
}

thread_local! {
    static SIDE: Cell<usize> = const { Cell::new(2) };
    static STREAMS: [Cell<u64>; 3] = const { [Cell::new(0), Cell::new(0), Cell::new(0)] };
}

fn seed(side: usize) -> u64 {
    0x6d62_6564_746c_7300 ^ (side as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// SplitMix64 over the current side's stream. Never use outside fuzzing.
fn deterministic_entropy(buf: &mut [u8]) -> bool {
    let side = SIDE.with(Cell::get);
    STREAMS.with(|s| {
        let state = &s[side];
        for chunk in buf.chunks_mut(8) {
            let mut z = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
            state.set(z);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
    });
    true
}

/// Replace the entropy source with [`deterministic_entropy`] and fix this thread's
/// clock at [`NOW`]. Call once, before any key or TLS operation.
pub fn make_deterministic() {
    mbedtls_verify::platform::set_entropy_source(deterministic_entropy);
    fix_time();
}

/// Fix this thread's validation time (mbedTLS's `mbedtls_time`) at [`NOW`].
pub fn fix_time() {
    // SAFETY: sets a thread-local integer in the shim.
    unsafe { mbedtls_verify::sys::mv_time_override_set(NOW) };
}

/// Restart `side`'s entropy stream and make it the current one.
pub fn reset_stream(side: Side) {
    STREAMS.with(|s| s[side as usize].set(seed(side as usize)));
    switch_side(side);
}

/// Make `side`'s stream the current one.
pub fn switch_side(side: Side) {
    SIDE.with(|s| s.set(side as usize));
}

// ---------------------------------------------------------------------------------
// The recording hook and the invariants of a success
// ---------------------------------------------------------------------------------

/// One verify-hook call as seen by the hook.
#[derive(Debug, Clone)]
pub struct Call {
    pub depth: u32,
    pub role: Role,
    pub flags: VerifyFlags,
    pub der: Vec<u8>,
    /// The hook rejected this certificate (see [`set_reject_depth`]).
    pub rejected: bool,
}

thread_local! {
    static CALLS: RefCell<Vec<Call>> = const { RefCell::new(Vec::new()) };
    static REJECT_AT: Cell<Option<u32>> = const { Cell::new(None) };
}

/// Make the recording hook (on this thread) reject the certificate at `depth`.
pub fn set_reject_depth(depth: Option<u32>) {
    REJECT_AT.with(|r| r.set(depth));
}

/// A hook that records every call (this thread) and accepts, unless told to reject a
/// depth ([`set_reject_depth`]).
pub fn recording_hook() -> VerifyHook {
    VerifyHook::new(|call| {
        let rejected = REJECT_AT.with(Cell::get) == Some(call.depth());
        let c = Call {
            depth: call.depth(),
            role: call.role(),
            flags: call.flags(),
            der: call.cert().der().to_vec(),
            rejected,
        };
        // Exercise the accessors on what mbedTLS hands the hook, too.
        let _ = call.cert().subject().to_string_lossy();
        CALLS.with(|v| v.borrow_mut().push(c));
        if rejected {
            Verdict::reject("rejected by the fuzz target")
        } else {
            Verdict::Accept
        }
    })
}

/// The calls recorded since the last `take_calls`.
pub fn take_calls() -> Vec<Call> {
    CALLS.with(|v| std::mem::take(&mut *v.borrow_mut()))
}

/// What must hold whenever a chain was accepted, whoever accepted it (the offline
/// verifier or a TLS endpoint): `chain` is the verified path leaf first with `roles`,
/// `calls` what the hook saw during that verification, `anchors` the configured CAs.
///
/// - the hook rejected nothing;
/// - the hook saw every certificate of the path once per depth, with no flag left
///   (a flag the hook did not clear through the danger API must fail verification),
///   and with the role the result reports;
/// - the top is a trust anchor (or the single certificate is a trusted leaf), and its
///   DER is one of the configured CAs;
/// - every certificate above the leaf is a CA by the strict basicConstraints reading
///   (the 2026 CA-bit forgery advisory);
/// - the policy, if any, accepts the path and names the same rule.
pub fn check_accepted(
    chain: &[CertRef<'_>],
    roles: &[Role],
    calls: &[Call],
    anchors: &CertChain,
    policy: Option<(&ClientPolicy, Option<mbedtls_verify::policy::AllowRule>)>,
) {
    assert!(!chain.is_empty(), "accepted an empty chain");
    assert_eq!(chain.len(), roles.len(), "one role per certificate");
    let n = chain.len();
    for (i, role) in roles.iter().enumerate() {
        let expected: &[Role] = match (i, n) {
            (0, 1) => &[Role::TrustedLeaf],
            (0, _) => &[Role::Leaf],
            (i, n) if i == n - 1 => &[Role::TrustAnchor],
            _ => &[Role::Intermediate],
        };
        assert!(
            expected.contains(role),
            "depth {i} of {n} accepted with role {role}"
        );
    }
    let top = chain[n - 1];
    assert!(
        anchors.contains_der(top.der()),
        "accepted a chain whose top is not a configured CA: {}",
        top.subject()
    );
    for (i, c) in chain.iter().enumerate().skip(1) {
        assert!(
            c.basic_constraints().is_ca(),
            "accepted depth {i} ({}) as an issuer, but its basicConstraints say {:?}",
            c.subject(),
            c.basic_constraints()
        );
    }
    // Every CA's nameConstraints hold for everything below it (self-issued
    // intermediates exempt, the leaf never).
    for (i, ca) in chain.iter().enumerate().skip(1) {
        let nc = mbedtls_verify::name_constraints::NameConstraints::of(ca);
        let nc = nc.expect("accepted a CA with a malformed nameConstraints");
        let Some(nc) = nc else { continue };
        for (j, c) in chain.iter().enumerate().take(i) {
            if j > 0 && c.is_self_issued() {
                continue;
            }
            assert_eq!(
                nc.check(c),
                Ok(()),
                "accepted depth {j} outside the nameConstraints of depth {i}"
            );
        }
    }
    for call in calls {
        assert!(
            !call.rejected,
            "accepted although the hook rejected depth {}",
            call.depth
        );
        assert!(
            call.flags.is_empty(),
            "accepted although the hook saw flags {:?} at depth {}",
            call.flags,
            call.depth
        );
    }
    let mut depths: Vec<u32> = calls.iter().map(|c| c.depth).collect();
    depths.sort_unstable();
    depths.dedup();
    assert_eq!(
        depths,
        (0..n as u32).collect::<Vec<_>>(),
        "the hook did not see every depth of the accepted path"
    );
    for call in calls {
        let d = call.depth as usize;
        assert_eq!(call.role, roles[d], "hook role differs at depth {d}");
        assert_eq!(
            call.der,
            chain[d].der(),
            "hook certificate differs at depth {d}"
        );
    }
    if let Some((policy, rule)) = policy {
        match policy.evaluate(chain) {
            Ok(r) => assert_eq!(Some(r), rule, "policy rule differs"),
            Err(why) => panic!("accepted a chain the policy rejects: {why:?}"),
        }
    }
}

/// [`check_accepted`] for an offline verification result.
pub fn check_verified(
    v: &Verified,
    calls: &[Call],
    anchors: &CertChain,
    policy: Option<&ClientPolicy>,
) {
    let chain: Vec<CertRef<'_>> = v.chain().iter().collect();
    check_accepted(
        &chain,
        v.roles(),
        calls,
        anchors,
        policy.map(|p| (p, v.authorized_by())),
    );
    assert!(v.time_checked(), "time checks were not skipped");
}

/// An offline verifier with the fixture trust, the recording hook and an optional policy,
/// at [`NOW`].
pub fn verifier(trust: Trust, policy: Option<ClientPolicy>) -> Verifier {
    let v = Verifier::new(trust)
        .with_hook(recording_hook())
        .at_time(ValidationTime::At(NOW));
    match policy {
        Some(p) => v.with_policy(p),
        None => v,
    }
}

// ---------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------

pub fn looks_like_pem(data: &[u8]) -> bool {
    data.windows(11).any(|w| w == b"-----BEGIN ")
}

/// A peer chain from fuzz input: PEM (any number of blocks) or DER certificates one
/// after the other (split with the strict DER reader; if that fails, the whole input is
/// given to mbedTLS as one DER certificate).
pub fn parse_chain(data: &[u8]) -> Option<CertChain> {
    if looks_like_pem(data) {
        return CertChain::from_pem(data).ok();
    }
    let mut r = Reader::new(data);
    let mut chain = CertChain::new().ok()?;
    while !r.is_empty() && chain.len() < MAX_CERTS {
        let Ok(tlv) = r.read_tlv() else {
            return CertChain::from_der(data).ok();
        };
        if chain.push_der(tlv.raw).is_err() {
            return None;
        }
    }
    (!chain.is_empty()).then_some(chain)
}

// ---------------------------------------------------------------------------------
// TLS
// ---------------------------------------------------------------------------------

/// Configuration variants of the TLS targets, chosen by bits 0–1 of the first input
/// byte (bits 2–3: [`reject_depth`]).
pub const TLS_VARIANTS: u8 = 4;

/// The depth the hook rejects for the TLS targets' first input byte `b`: none (the
/// recorded seeds), or 0, 1 or 2.
pub fn reject_depth(b: u8) -> Option<u32> {
    match (b >> 2) & 3 {
        0 => None,
        d => Some(u32::from(d) - 1),
    }
}

/// Variant `v`: bit 0 picks the version (TLS 1.2 / 1.3), bit 1 the trust (anchors /
/// CA callback) and, for servers, client authentication (required / optional).
pub fn version(v: u8) -> TlsVersion {
    if v & 1 == 0 {
        TlsVersion::Tls12
    } else {
        TlsVersion::Tls13
    }
}

pub fn trust(v: u8) -> Trust {
    if v & 2 == 0 {
        anchors()
    } else {
        ca_callback()
    }
}

pub fn client_auth(v: u8) -> ClientAuth {
    if v & 2 == 0 {
        ClientAuth::Required
    } else {
        ClientAuth::Optional
    }
}

/// The server of the `tls_server` target for variant `v` (what recorded client flights
/// were made against).
pub fn server_config(v: u8) -> ServerConfig {
    server_config_with(v, server_identity())
}

pub fn server_config_with(v: u8, id: Identity) -> ServerConfig {
    let ver = version(v);
    ServerConfig::builder()
        .identity(id)
        .client_auth(client_auth(v))
        .versions(ver, ver)
        .trust(trust(v))
        .verify_hook(recording_hook())
        .policy(client_policy())
        .build()
        .expect("server config")
}

/// The client of the `tls_client` target for variant `v`.
pub fn client_config(v: u8) -> ClientConfig {
    client_config_with(v, Some(client_identity()))
}

pub fn client_config_with(v: u8, id: Option<Identity>) -> ClientConfig {
    let ver = version(v);
    let mut b = ClientConfig::builder()
        .versions(ver, ver)
        .trust(trust(v))
        .verify_hook(recording_hook())
        .policy(server_policy());
    if let Some(id) = id {
        b = b.identity(id);
    }
    b.build().expect("client config")
}

/// A transport that keeps a copy of everything sent through it.
#[derive(Debug)]
pub struct Tee {
    pub inner: MemoryTransport,
    pub sent: Rc<RefCell<Vec<u8>>>,
}

impl Tee {
    pub fn new(inner: MemoryTransport) -> (Self, Rc<RefCell<Vec<u8>>>) {
        let sent = Rc::new(RefCell::new(Vec::new()));
        (
            Tee {
                inner,
                sent: sent.clone(),
            },
            sent,
        )
    }
}

impl Transport for Tee {
    fn send(&mut self, data: &[u8]) -> IoStatus {
        let r = self.inner.send(data);
        if let IoStatus::Done(n) = r {
            self.sent.borrow_mut().extend_from_slice(&data[..n]);
        }
        r
    }

    fn recv(&mut self, buf: &mut [u8]) -> IoStatus {
        self.inner.recv(buf)
    }
}

/// The most `handshake()` / `read()` calls a TLS target makes per input.
pub const MAX_CALLS: usize = 8;

/// The server side of the `tls_server` target: `flight` (what a client sends) queued on
/// a memory transport whose client end is gone, then at most [`MAX_CALLS`]
/// `handshake()` calls on the server's own deterministic entropy stream.
pub fn run_server(
    config: &ServerConfig,
    flight: &[u8],
) -> (
    mbedtls_verify::ssl::Session<MemoryTransport>,
    mbedtls_verify::Result<()>,
) {
    let (client_end, server_end) = mbedtls_verify::ssl::mem::memory_pair();
    // `inject` queues bytes towards that end, as if its peer had sent them.
    server_end.inject(flight);
    drop(client_end);
    reset_stream(Side::Server);
    let mut s = mbedtls_verify::ssl::Session::server(config, server_end).expect("session");
    let r = drive(|| s.handshake());
    (s, r)
}

/// The client side of the `tls_client` target (see [`run_server`]).
pub fn run_client(
    config: &ClientConfig,
    flight: &[u8],
) -> (
    mbedtls_verify::ssl::Session<MemoryTransport>,
    mbedtls_verify::Result<()>,
) {
    let (client_end, server_end) = mbedtls_verify::ssl::mem::memory_pair();
    client_end.inject(flight);
    drop(server_end);
    reset_stream(Side::Client);
    let mut c =
        mbedtls_verify::ssl::Session::client(config, SERVER_NAME, client_end).expect("session");
    let r = drive(|| c.handshake());
    (c, r)
}

fn drive(mut step: impl FnMut() -> mbedtls_verify::Result<()>) -> mbedtls_verify::Result<()> {
    let mut result = Err(mbedtls_verify::Error::WantRead);
    for _ in 0..MAX_CALLS {
        result = step();
        if !matches!(
            result,
            Err(mbedtls_verify::Error::WantRead | mbedtls_verify::Error::WantWrite)
        ) {
            break;
        }
    }
    result
}
