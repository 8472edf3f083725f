//! `connect`: an mTLS client that sends its standard input and prints what comes back.
//!
//! A thread reads stdin into a channel; the main thread forwards it to the server and
//! polls the connection (a short socket read timeout) for replies, which go to stdout
//! as they arrive. Once stdin has ended, replies are read until the server has been
//! quiet for `--linger-ms` (or closes), then close_notify is sent. (The library's
//! session cannot read after sending close_notify, so the rest is read first.)

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::mpsc::{self, TryRecvError};
use std::time::{Duration, Instant};

use clap::Args;

use mbedtls_verify::Error;
use mbedtls_verify::ssl::{ClientConfig, Session, StdIo};

use crate::TlsArg;
use crate::util::{CliResult, EXIT_OK, Failure, load_identity, load_trust, log, reasons};

#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// CA certificate(s) that issue server certificates (repeatable).
    #[arg(long, value_name = "FILE", required = true)]
    ca: Vec<PathBuf>,
    /// The client's certificate chain (its certificate first, then intermediates; PEM).
    #[arg(long, value_name = "FILE")]
    cert: PathBuf,
    /// The client's private key (unencrypted PEM or DER).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// The name the server's certificate must carry (DNS name or IP address); also
    /// sent as SNI.
    #[arg(long, value_name = "NAME")]
    server_name: String,
    /// The server's address.
    #[arg(value_name = "HOST:PORT")]
    address: String,
    /// Only this TLS version (default: 1.2 and 1.3).
    #[arg(long, value_enum, value_name = "VERSION")]
    tls: Option<TlsArg>,
    /// Once standard input has ended, keep printing replies until the server has been
    /// quiet this long (milliseconds), then close.
    #[arg(long, value_name = "MS", default_value_t = 500)]
    linger_ms: u64,
    /// Seconds to wait for the TCP connection and for the handshake.
    #[arg(long, value_name = "SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
}

/// How often the connection is polled for replies while stdin is idle.
const POLL: Duration = Duration::from_millis(20);

fn tcp_connect(address: &str, timeout: Duration) -> CliResult<TcpStream> {
    let addrs: Vec<SocketAddr> = address
        .to_socket_addrs()
        .map_err(|e| Failure::input(format!("cannot resolve {address:?} (HOST:PORT): {e}")))?
        .collect();
    let mut last = None;
    for addr in &addrs {
        match TcpStream::connect_timeout(addr, timeout) {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    Err(Failure::input(match last {
        Some(e) => format!("cannot connect to {address}: {e}"),
        None => format!("{address} resolves to no address"),
    }))
}

/// An error after the TCP connection was made: the server refused us, or we refused it.
fn tls_failure(during: &str, e: Error) -> Failure {
    match e {
        Error::Verify(v) => Failure::rejected(format!(
            "the server's certificate was rejected: {}",
            reasons(&v).join("; ")
        )),
        Error::WantRead | Error::WantWrite => {
            Failure::rejected(format!("the server did not answer in time {during}"))
        }
        Error::Tls(code)
            if code.code() == mbedtls_verify::sys::MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE =>
        {
            Failure::rejected(format!(
                "the server refused us {during}: it sent a fatal alert ({code})"
            ))
        }
        other => Failure::rejected(format!("the connection failed {during}: {other}")),
    }
}

pub fn run(args: ConnectArgs) -> CliResult<u8> {
    let identity = load_identity(&args.cert, &args.key)?;
    let trust = load_trust(&args.ca, &[])?;
    let mut builder = ClientConfig::builder().identity(identity).trust(trust);
    if let Some(v) = args.tls {
        builder = builder.versions(v.version(), v.version());
    }
    let config = builder
        .build()
        .map_err(|e| Failure::input(format!("cannot set up the client: {e}")))?;

    let timeout = Duration::from_secs(args.timeout);
    let stream = tcp_connect(&args.address, timeout)?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| Failure::input(format!("cannot set socket timeouts: {e}")))?;
    let mut session = Session::client(&config, &args.server_name, StdIo(stream))
        .map_err(|e| Failure::input(format!("--server-name {:?}: {e}", args.server_name)))?;
    session
        .handshake()
        .map_err(|e| tls_failure("during the handshake", e))?;
    let server = session
        .verified_peer()
        .map(|p| p.leaf().subject().to_string())
        .unwrap_or_else(|| "?".into());
    log(format!(
        "connected to {} ({}, {}); server certificate: {server}",
        args.address,
        session.version().map_or("?".into(), |v| v.to_string()),
        session.cipher_suite().unwrap_or("?")
    ));
    session
        .transport()
        .0
        .set_read_timeout(Some(POLL))
        .map_err(|e| Failure::input(format!("cannot set socket timeouts: {e}")))?;

    // stdin -> channel; the end of input (or a read error) closes the channel.
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if tx.send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    log(format!("reading standard input failed: {e}"));
                    break;
                }
            }
        }
    });

    let linger = Duration::from_millis(args.linger_ms);
    let mut stdin_open = true;
    let mut received = false;
    let mut quiet_since = Instant::now();
    let mut buf = vec![0u8; 16 * 1024];
    let mut stdout = std::io::stdout().lock();
    loop {
        while stdin_open {
            match rx.try_recv() {
                Ok(chunk) => session
                    .write_all(&chunk)
                    .map_err(|e| tls_failure("while sending", e))?,
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    stdin_open = false;
                    quiet_since = Instant::now();
                }
            }
        }
        match session.read(&mut buf) {
            Ok(0) => {
                log("the server closed the connection (close_notify)");
                return Ok(EXIT_OK);
            }
            Ok(n) => {
                stdout
                    .write_all(&buf[..n])
                    .and_then(|()| stdout.flush())
                    .map_err(|e| Failure::input(format!("cannot write to standard output: {e}")))?;
                quiet_since = Instant::now();
                received = true;
            }
            Err(Error::WantRead) => {
                if !stdin_open && quiet_since.elapsed() >= linger {
                    break;
                }
            }
            Err(e) if !received => {
                return Err(Failure::rejected(format!(
                    "the server ended the connection before sending any data: {e} (this is \
                     how a TLS 1.3 server refuses a client certificate; see its log)"
                )));
            }
            Err(e) => return Err(tls_failure("after the handshake", e)),
        }
    }
    session
        .close()
        .map_err(|e| tls_failure("while closing", e))?;
    log("closed (close_notify sent)");
    Ok(EXIT_OK)
}
