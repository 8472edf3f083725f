//! `serve`: an mTLS echo server that requires client certificates.
//!
//! Every connection runs on its own thread. The verify hook records what mbedTLS shows
//! it (depth, role, subject, flags); the hook belongs to the configuration, which all
//! connection threads share, so the record is kept per thread (a thread-local list that
//! each connection clears before its handshake and takes after it). Each connection's
//! decision is logged to stderr with that trace, as one block.

use std::cell::RefCell;
use std::io::Read;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Args;

use mbedtls_verify::Error;
use mbedtls_verify::policy::ClientPolicy;
use mbedtls_verify::ssl::{ClientAuth, ServerConfig, Session, StdIo};
use mbedtls_verify::verify::{TraceEntry, Verdict, VerifyHook};

use crate::TlsArg;
use crate::util::{
    CliResult, Failure, load_identity, load_policy, load_trust, log, log_lines, reasons,
    trace_lines,
};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on, e.g. 0.0.0.0:8443 (port 0 picks a free port; the address
    /// is logged as "listening on ADDR").
    #[arg(long, value_name = "ADDR")]
    listen: String,
    /// The server's certificate chain (its certificate first, then intermediates; PEM).
    #[arg(long, value_name = "FILE")]
    cert: PathBuf,
    /// The server's private key (unencrypted PEM or DER).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// CA certificate(s) that issue client certificates (repeatable).
    #[arg(long, value_name = "FILE", required = true)]
    ca: Vec<PathBuf>,
    /// Certificate revocation list(s) for client certificates (repeatable).
    #[arg(long, value_name = "FILE")]
    crl: Vec<PathBuf>,
    /// A client-authorization policy (TOML); without it every client whose chain
    /// verifies (with the clientAuth usage mbedTLS checks) is let in.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Only this TLS version (default: 1.2 and 1.3).
    #[arg(long, value_enum, value_name = "VERSION")]
    tls: Option<TlsArg>,
    /// Seconds a client may take to complete the handshake.
    #[arg(long, value_name = "SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..))]
    handshake_timeout: u64,
    /// Seconds without data after which a connection is closed.
    #[arg(long, value_name = "SECONDS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..))]
    idle_timeout: u64,
    /// Connections served at once; more are closed at once (and logged).
    #[arg(long, value_name = "N", default_value_t = 64,
          value_parser = clap::value_parser!(u64).range(1..))]
    max_connections: u64,
}

thread_local! {
    /// The hook calls of the handshake running on this thread.
    static TRACE: RefCell<Vec<TraceEntry>> = const { RefCell::new(Vec::new()) };
}

fn take_trace() -> Vec<TraceEntry> {
    TRACE
        .try_with(|t| t.try_borrow_mut().map(|mut t| std::mem::take(&mut *t)))
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default()
}

/// Records every call in this thread's trace and accepts (the decision is mbedTLS's and
/// the policy's).
fn tracing_hook() -> VerifyHook {
    VerifyHook::new(|call| {
        let entry = TraceEntry {
            depth: call.depth(),
            role: call.role(),
            subject: call.cert().subject().to_string_lossy(),
            flags: call.flags(),
            violation: call.violation(),
        };
        let _ = TRACE.try_with(|t| {
            if let Ok(mut t) = t.try_borrow_mut() {
                t.push(entry);
            }
        });
        Verdict::Accept
    })
}

/// What every connection thread shares.
struct Shared {
    config: ServerConfig,
    policy: Option<ClientPolicy>,
    handshake_timeout: Duration,
    idle_timeout: Duration,
}

pub fn run(args: ServeArgs) -> CliResult<u8> {
    let identity = load_identity(&args.cert, &args.key)?;
    let trust = load_trust(&args.ca, &args.crl)?;
    let policy = args.policy.as_deref().map(load_policy).transpose()?;

    let mut builder = ServerConfig::builder()
        .identity(identity)
        .trust(trust)
        .client_auth(ClientAuth::Required)
        .verify_hook(tracing_hook());
    if let Some(v) = args.tls {
        builder = builder.versions(v.version(), v.version());
    }
    if let Some(p) = &policy {
        builder = builder.policy(p.clone());
    }
    let config = builder
        .build()
        .map_err(|e| Failure::input(format!("cannot set up the server: {e}")))?;

    let listener = TcpListener::bind(&args.listen)
        .map_err(|e| Failure::input(format!("cannot listen on {}: {e}", args.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Failure::input(format!("cannot listen on {}: {e}", args.listen)))?;
    log(format!(
        "listening on {addr} (mTLS echo; client certificates required; policy: {})",
        args.policy
            .as_ref()
            .map_or("none".to_string(), |p| p.display().to_string())
    ));

    let shared = Arc::new(Shared {
        config,
        policy,
        handshake_timeout: Duration::from_secs(args.handshake_timeout),
        idle_timeout: Duration::from_secs(args.idle_timeout),
    });
    let active = Arc::new(AtomicUsize::new(0));
    let max = usize::try_from(args.max_connections).unwrap_or(usize::MAX);
    let mut next_id: u64 = 0;
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                log(format!("accept failed: {e}"));
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        next_id += 1;
        let id = next_id;
        if active.load(Ordering::SeqCst) >= max {
            log(format!(
                "[conn {id}] closed at once: {max} connections are being served"
            ));
            continue;
        }
        active.fetch_add(1, Ordering::SeqCst);
        let (shared, active_for_thread) = (shared.clone(), active.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("conn-{id}"))
            .spawn(move || {
                let _active = Active(active_for_thread);
                handle(id, stream, &shared);
            });
        if let Err(e) = spawned {
            active.fetch_sub(1, Ordering::SeqCst);
            log(format!("[conn {id}] cannot start a thread: {e}"));
        }
    }
    Ok(crate::util::EXIT_OK)
}

/// Counts a connection as served until dropped (also if its thread unwinds).
struct Active(Arc<AtomicUsize>);

impl Drop for Active {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// After a failed handshake (whose fatal alert mbedTLS has sent): stop writing and read
/// what the client still sends, briefly, so that closing does not reset the connection
/// and destroy the alert before the client has read it.
fn drain_and_close(stream: &TcpStream) {
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(250)));
    let deadline = Instant::now() + Duration::from_secs(1);
    let mut buf = [0u8; 4096];
    let mut reader = stream;
    let mut total = 0usize;
    while Instant::now() < deadline && total < 256 * 1024 {
        match reader.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n,
        }
    }
}

/// One connection: handshake, log the decision with the trace, then echo.
fn handle(id: u64, stream: TcpStream, shared: &Shared) {
    let peer = stream
        .peer_addr()
        .map_or_else(|_| "?".to_string(), |a| a.to_string());
    let tag = format!("[conn {id} {peer}]");
    let timeouts = stream
        .set_read_timeout(Some(shared.handshake_timeout))
        .and_then(|()| stream.set_write_timeout(Some(shared.handshake_timeout)));
    if let Err(e) = timeouts {
        log(format!("{tag} cannot set timeouts: {e}"));
        return;
    }
    let _ = take_trace();
    let mut session = match Session::server(&shared.config, StdIo(stream)) {
        Ok(s) => s,
        Err(e) => {
            log(format!("{tag} cannot start TLS: {e}"));
            return;
        }
    };
    let handshake = session.handshake();
    let trace = take_trace();

    let mut lines = Vec::new();
    if !trace.is_empty() {
        lines.push(format!("{tag} verify hook trace:"));
        lines.extend(
            trace_lines(&trace)
                .into_iter()
                .map(|l| format!("{tag}   {l}")),
        );
    }
    let accepted = match handshake {
        Ok(()) => match session.verified_peer() {
            Some(peer) => {
                let rule = match (peer.authorized_by(), &shared.policy) {
                    (Some(rule), Some(policy)) => {
                        format!("authorized by {}", policy.describe(rule))
                    }
                    _ => "no policy: any verified client".into(),
                };
                lines.push(format!(
                    "{tag} accepted {} ({rule}); {} {}",
                    peer.leaf().subject(),
                    session.version().map_or("?".into(), |v| v.to_string()),
                    session.cipher_suite().unwrap_or("?"),
                ));
                true
            }
            None => {
                lines.push(format!("{tag} rejected: no verified client certificate"));
                false
            }
        },
        Err(Error::Verify(e)) => {
            lines.push(format!("{tag} rejected: {}", reasons(&e).join("; ")));
            false
        }
        Err(Error::WantRead | Error::WantWrite) => {
            lines.push(format!(
                "{tag} handshake failed: not finished within {} s",
                shared.handshake_timeout.as_secs()
            ));
            false
        }
        Err(e) => {
            let hint = if trace.is_empty() {
                " (before the client sent a certificate: the client may have refused ours)"
            } else {
                ""
            };
            lines.push(format!("{tag} handshake failed: {e}{hint}"));
            false
        }
    };
    log_lines(&lines);
    if !accepted {
        drain_and_close(&session.transport().0);
        return;
    }

    let stream = &session.transport().0;
    let timeouts = stream
        .set_read_timeout(Some(shared.idle_timeout))
        .and_then(|()| stream.set_write_timeout(Some(shared.idle_timeout)));
    if let Err(e) = timeouts {
        log(format!("{tag} cannot set timeouts: {e}"));
        return;
    }
    let mut buf = vec![0u8; 16 * 1024];
    let mut echoed: u64 = 0;
    let end = loop {
        match session.read(&mut buf) {
            Ok(0) => break "the client closed the connection (close_notify)".to_string(),
            Ok(n) => match session.write_all(&buf[..n]) {
                Ok(()) => echoed += n as u64,
                Err(e) => break format!("writing failed: {e}"),
            },
            Err(Error::WantRead) => {
                let _ = session.close();
                break format!(
                    "closed after {} s without data (close_notify sent)",
                    shared.idle_timeout.as_secs()
                );
            }
            Err(e) => break format!("the connection ended: {e}"),
        }
    };
    log(format!("{tag} {end}; {echoed} bytes echoed"));
}
