//! Mutual TLS between a client and a server session in this one program, over the safe
//! crate's in-memory transport pair (`ssl::mem::memory_pair`), for TLS 1.2 and TLS 1.3
//! (each forced with `versions(v, v)`): complete handshakes, application data both
//! ways, close_notify; refusals of clients the server must not let in; and handshakes
//! without a usable clock or entropy source, which must fail closed.
//!
//! # How heap and instructions are attributed to each side
//! Both peers share one heap and one hart, so this module drives the handshakes itself
//! (one `handshake()` step per side and round, as `ssl::mem::run_handshakes` does) and
//! runs everything a side does — building its configuration, creating its session, each
//! of its handshake steps, its reads and writes — under that side's heap tag
//! (`heap::Heap::with_tag`). The allocator charges every block to the tag current when
//! it was allocated, and its free to the same tag, so each side's use and peak are
//! exact even though the two interleave. The transport's own queues run under a third
//! tag (a device has a network stack there instead), so they count for neither side.
//! "Handshake peak" is the side's peak from creating its session to the end of the
//! handshake, above what its configuration (certificates, key, trust anchors) holds.
//!
//! Instructions: `minstret` around each side's handshake steps, summed per side (the
//! transport's copying included); the Rust share of verification from `measure.rs`.

use alloc::vec;
use alloc::vec::Vec;

use mbedtls_verify::policy::{AllowRule, ClientPolicy};
use mbedtls_verify::ssl::mem::{MemoryTransport, memory_pair};
use mbedtls_verify::ssl::{
    ClientAuth, ClientConfig, IoStatus, ServerConfig, Session, TlsVersion, Transport,
};
use mbedtls_verify::trust::Trust;
use mbedtls_verify::{Error, Reason, Result, platform};

use crate::heap::{HEAP, Tag};
use crate::machine::counted;
use crate::pki::{DEVICE_PREFIX, Pki, SERVER_NAME, identity};
use crate::{Tally, measure, testonly, trace};

/// One end of the in-memory pair, with its queue operations charged to `Tag::Transport`.
pub struct Wire(MemoryTransport);

impl Transport for Wire {
    fn send(&mut self, data: &[u8]) -> IoStatus {
        HEAP.with_tag(Tag::Transport, || self.0.send(data))
    }

    fn recv(&mut self, buf: &mut [u8]) -> IoStatus {
        HEAP.with_tag(Tag::Transport, || self.0.recv(buf))
    }
}

/// What one side of one handshake cost.
#[derive(Clone, Copy, Default)]
pub struct SideFigures {
    /// Heap held by the configuration (certificates, key, trust anchors).
    pub config_bytes: usize,
    /// Peak from session creation to the end of the handshake, above the configuration.
    pub handshake_peak: usize,
    /// Held by the open session after the handshake, above the configuration.
    pub session_bytes: usize,
    /// Instructions of this side's handshake steps.
    pub instr: u64,
    pub steps: u32,
    /// Verification of the peer's chain inside the handshake (see `measure.rs`).
    pub verify: measure::Counters,
}

#[derive(Clone, Copy, Default)]
pub struct Figures {
    pub version: Option<TlsVersion>,
    pub client: SideFigures,
    pub server: SideFigures,
    /// Highest total heap in use during the handshake (both sides, configurations and
    /// the transport queues included).
    pub total_peak: usize,
}

struct Side<'a> {
    tag: Tag,
    session: &'a mut Session<Wire>,
    done: Option<Result<()>>,
    fig: &'a mut SideFigures,
}

impl Side<'_> {
    /// One handshake step, if this side is not done yet.
    fn step(&mut self) {
        if self.done.is_some() {
            return;
        }
        let m0 = measure::snapshot();
        let (r, n) = HEAP.with_tag(self.tag, || counted(|| self.session.handshake()));
        self.fig.verify = self.fig.verify.plus(measure::snapshot().since(m0));
        self.fig.instr += n;
        self.fig.steps += 1;
        match r {
            Err(Error::WantRead | Error::WantWrite) => {}
            r => self.done = Some(r),
        }
    }
}

/// Drive both handshakes to completion, alternating sides.
fn handshake(
    client: &mut Session<Wire>,
    server: &mut Session<Wire>,
    fig: &mut Figures,
) -> (Result<()>, Result<()>) {
    let mut c = Side {
        tag: Tag::Client,
        session: client,
        done: None,
        fig: &mut fig.client,
    };
    let mut s = Side {
        tag: Tag::Server,
        session: server,
        done: None,
        fig: &mut fig.server,
    };
    for _ in 0..64 {
        c.step();
        s.step();
        match (&c.done, &s.done) {
            (Some(_), Some(_)) => break,
            // One side failed: give the other one step to read the alert.
            (Some(Err(_)), None) => {
                s.step();
                break;
            }
            (None, Some(Err(_))) => {
                c.step();
                break;
            }
            _ => {}
        }
    }
    (
        c.done.unwrap_or(Err(Error::WantRead)),
        s.done.unwrap_or(Err(Error::WantRead)),
    )
}

pub fn version_name(v: TlsVersion) -> &'static str {
    match v {
        TlsVersion::Tls12 => "TLS 1.2",
        TlsVersion::Tls13 => "TLS 1.3",
    }
}

fn server_config(pki: &Pki, v: TlsVersion) -> Result<ServerConfig> {
    let policy = ClientPolicy::builder()
        .allow_uri_prefix(DEVICE_PREFIX)
        .build()
        .map_err(Error::from)?;
    ServerConfig::builder()
        .identity(identity(
            &pki.server.cert,
            &pki.server.key,
            &pki.issuing.cert,
        )?)
        .client_auth(ClientAuth::Required)
        .trust(Trust::anchors(pki.root.cert.clone())?)
        .verify_hook(trace::recording_hook(&trace::SERVER))
        .policy(policy)
        .versions(v, v)
        .build()
}

fn client_config(
    pki: &Pki,
    v: TlsVersion,
    leaf: &mbedtls_verify::x509::CertChain,
) -> Result<ClientConfig> {
    ClientConfig::builder()
        .identity(identity(leaf, &pki.client.key, &pki.issuing.cert)?)
        .trust(Trust::anchors(pki.root.cert.clone())?)
        .verify_hook(trace::recording_hook(&trace::CLIENT))
        .versions(v, v)
        .build()
}

/// Read exactly `n` bytes (the peer has already queued them).
fn read_n(s: &mut Session<Wire>, n: usize) -> Result<Vec<u8>> {
    let mut out = vec![0u8; n];
    let mut got = 0;
    let mut idle = 0;
    while got < n && idle < 4 {
        match s.read(&mut out[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(Error::WantRead) => idle += 1,
            Err(e) => return Err(e),
        }
    }
    out.truncate(got);
    Ok(out)
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect()
}

/// A complete mTLS connection at version `v`: handshake, data both ways, close.
pub fn connection(t: &mut Tally, pki: &Pki, v: TlsVersion) -> Result<Figures, &'static str> {
    let mut fig = Figures {
        version: Some(v),
        ..Figures::default()
    };
    let scfg = HEAP.with_tag(Tag::Server, || server_config(pki, v));
    let ccfg = HEAP.with_tag(Tag::Client, || client_config(pki, v, &pki.client.cert));
    let (scfg, ccfg) = match (scfg, ccfg) {
        (Ok(s), Ok(c)) => (s, c),
        (s, c) => {
            t.check(
                "build the server and client configurations",
                false,
                format_args!("server: {:?}, client: {:?}", s.err(), c.err()),
            );
            return Err("configuration");
        }
    };
    let st = HEAP.stats();
    fig.server.config_bytes = st.tag(Tag::Server).in_use;
    fig.client.config_bytes = st.tag(Tag::Client).in_use;

    trace::clear(&trace::SERVER);
    trace::clear(&trace::CLIENT);
    HEAP.reset_peak();
    let (ct, stp) = HEAP.with_tag(Tag::Transport, memory_pair);
    let client = HEAP.with_tag(Tag::Client, || {
        Session::client(&ccfg, SERVER_NAME, Wire(ct))
    });
    let server = HEAP.with_tag(Tag::Server, || Session::server(&scfg, Wire(stp)));
    let (mut client, mut server) = match (client, server) {
        (Ok(c), Ok(s)) => (c, s),
        (c, s) => {
            t.check(
                "create the client and server sessions",
                false,
                format_args!("client: {:?}, server: {:?}", c.err(), s.err()),
            );
            return Err("sessions");
        }
    };
    let (cr, sr) = handshake(&mut client, &mut server, &mut fig);
    let st = HEAP.stats();
    for (side, tag) in [
        (&mut fig.client, Tag::Client),
        (&mut fig.server, Tag::Server),
    ] {
        let u = st.tag(tag);
        side.handshake_peak = u.peak - side.config_bytes;
        side.session_bytes = u.in_use - side.config_bytes;
    }
    fig.total_peak = st.peak;

    let name = version_name(v);
    let ok = cr.is_ok() && sr.is_ok();
    t.check(
        &alloc::format!("{name} mutual-TLS handshake completes on both sides"),
        ok && client.version() == Some(v) && server.version() == Some(v),
        format_args!(
            "client {:?}, server {:?}, version {:?}, suite {}, {} + {} steps",
            cr.as_ref().map_err(|e| alloc::format!("{e}")),
            sr.as_ref().map_err(|e| alloc::format!("{e}")),
            client.version(),
            client.cipher_suite().unwrap_or("?"),
            fig.client.steps,
            fig.server.steps
        ),
    );
    if !ok {
        return Err("handshake failed");
    }
    let authorized = server.verified_peer().and_then(|p| p.authorized_by());
    let client_leaf = server
        .verified_peer()
        .map(|p| p.leaf().subject().to_string_lossy());
    t.check(
        &alloc::format!("{name} server: client verified, admitted by the policy"),
        authorized == Some(AllowRule::UriPrefix(0)),
        format_args!("peer {client_leaf:?}, authorized_by = {authorized:?}"),
    );
    let (str_, ctr) = (trace::get(&trace::SERVER), trace::get(&trace::CLIENT));
    t.check(
        &alloc::format!("{name} hook traces (server sees the client's chain, client the server's)"),
        str_.calls() == trace::ROOT_ISSUING_LEAF
            && ctr.calls() == trace::ROOT_ISSUING_LEAF
            && client.verified_peer().is_some(),
        format_args!("server: {str_}; client: {ctr}"),
    );

    // Application data both ways, larger than one small record.
    let request = pattern(3000, 0x5a);
    let reply = pattern(5000, 0xa5);
    let sent = HEAP.with_tag(Tag::Client, || client.write_all(&request));
    let got = HEAP.with_tag(Tag::Server, || read_n(&mut server, request.len()));
    let back = HEAP.with_tag(Tag::Server, || server.write_all(&reply));
    let answer = HEAP.with_tag(Tag::Client, || read_n(&mut client, reply.len()));
    t.check(
        &alloc::format!("{name} application data: 3000 bytes client->server, 5000 back"),
        sent.is_ok()
            && back.is_ok()
            && got.as_deref().ok() == Some(&request[..])
            && answer.as_deref().ok() == Some(&reply[..]),
        format_args!(
            "write {:?}/{:?}, read {:?}/{:?} bytes",
            sent.as_ref().err(),
            back.as_ref().err(),
            got.as_ref().map(Vec::len),
            answer.as_ref().map(Vec::len)
        ),
    );
    let closed = HEAP.with_tag(Tag::Client, || client.close());
    let mut buf = [0u8; 16];
    let eof = HEAP.with_tag(Tag::Server, || server.read(&mut buf));
    t.check(
        &alloc::format!("{name} close_notify reaches the server"),
        closed.is_ok() && matches!(eof, Ok(0)),
        format_args!("close {closed:?}, server read {eof:?}"),
    );
    HEAP.with_tag(Tag::Server, || drop(server));
    HEAP.with_tag(Tag::Client, || drop(client));
    HEAP.with_tag(Tag::Server, || drop(scfg));
    HEAP.with_tag(Tag::Client, || drop(ccfg));
    Ok(fig)
}

/// A client and a server session at version `v` (the client presenting `leaf`), with
/// configurations of their own; nothing attributed per side.
fn session_pair(
    pki: &Pki,
    v: TlsVersion,
    leaf: &mbedtls_verify::x509::CertChain,
) -> Result<(Session<Wire>, Session<Wire>), &'static str> {
    let scfg = server_config(pki, v).map_err(|_| "server configuration")?;
    let ccfg = client_config(pki, v, leaf).map_err(|_| "client configuration")?;
    let (ct, stp) = memory_pair();
    let client = Session::client(&ccfg, SERVER_NAME, Wire(ct)).map_err(|_| "session")?;
    let server = Session::server(&scfg, Wire(stp)).map_err(|_| "session")?;
    Ok((client, server))
}

fn outcome(r: &Result<()>) -> alloc::string::String {
    match r {
        Ok(()) => "accepted".into(),
        Err(e) => alloc::format!("{e}"),
    }
}

/// A client the server must refuse, at version `v`: the server's handshake fails with a
/// verification error whose reason satisfies `expect`, and the client fails too (in its
/// handshake, or with TLS 1.3 at its first read).
pub fn refused(
    t: &mut Tally,
    pki: &Pki,
    v: TlsVersion,
    what: &str,
    leaf: &mbedtls_verify::x509::CertChain,
    expect: fn(&Reason) -> bool,
) -> Result<(), &'static str> {
    let (mut client, mut server) = session_pair(pki, v, leaf)?;
    let (mut cr, sr) = handshake(&mut client, &mut server, &mut Figures::default());
    let refused_for_reason = match &sr {
        Err(Error::Verify(e)) => e.reasons.iter().any(expect),
        _ => false,
    };
    // A TLS 1.3 client is done once it has sent its Finished: it learns of the server's
    // refusal (the alert) at its next read.
    if cr.is_ok() {
        let mut buf = [0u8; 16];
        cr = client.read(&mut buf).map(|_| ());
    }
    t.check(
        what,
        refused_for_reason && cr.is_err() && server.verified_peer().is_none(),
        format_args!("server: {}; client: {}", outcome(&sr), outcome(&cr)),
    );
    Ok(())
}

/// With a clock that does not know the time, a handshake fails closed: the client, the
/// first to verify a chain, stops with a verification error; the server admits no one.
pub fn without_clock(t: &mut Tally, pki: &Pki, v: TlsVersion) -> Result<(), &'static str> {
    let (mut client, mut server) = session_pair(pki, v, &pki.client.cert)?;
    platform::set_clock(testonly::clock_unavailable);
    let (cr, sr) = handshake(&mut client, &mut server, &mut Figures::default());
    platform::set_clock(testonly::test_only_clock);
    t.check(
        &alloc::format!(
            "{} with a clock that does not know the time: the handshake fails closed",
            version_name(v)
        ),
        matches!(cr, Err(Error::Verify(_))) && sr.is_err() && server.verified_peer().is_none(),
        format_args!("client: {}; server: {}", outcome(&cr), outcome(&sr)),
    );
    Ok(())
}

/// With an entropy source that fails, a handshake fails at once (the client's hello needs
/// random bytes): never a connection on weak randomness.
pub fn without_entropy(t: &mut Tally, pki: &Pki, v: TlsVersion) -> Result<(), &'static str> {
    let (mut client, mut server) = session_pair(pki, v, &pki.client.cert)?;
    platform::set_entropy_source(testonly::entropy_unavailable);
    let (cr, sr) = handshake(&mut client, &mut server, &mut Figures::default());
    platform::set_entropy_source(testonly::test_only_entropy);
    t.check(
        &alloc::format!(
            "{} with an entropy source that fails: the handshake fails",
            version_name(v)
        ),
        cr.is_err() && sr.is_err() && server.verified_peer().is_none(),
        format_args!("client: {}; server: {}", outcome(&cr), outcome(&sr)),
    );
    Ok(())
}
