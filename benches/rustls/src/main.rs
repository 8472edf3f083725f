//! rustls 0.23 with the ring provider: complete in-memory handshakes with the benchmark
//! PKI (DER files written by the Rust side, `target/bench-pki`), both ends in one thread.
//! Resumption is off on both sides (no tickets, no cache), as in the mbedTLS runs.
//!
//! ```text
//! mbedtls-verify-bench-rustls PKI_DIR                      # time every case: "name ns/op"
//! mbedtls-verify-bench-rustls PKI_DIR ALG VER MODE N       # N handshakes (for callgrind)
//! ```

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::client::Resumption;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs1KeyDer, PrivateSec1KeyDer, ServerName,
};
use rustls::server::{NoServerSessionStorage, WebPkiClientVerifier};
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};

struct Setup {
    client: Arc<ClientConfig>,
    server: Arc<ServerConfig>,
}

fn read(dir: &Path, alg: &str, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(alg).join(name))
        .unwrap_or_else(|e| panic!("{}/{alg}/{name}: {e}", dir.display()))
}

fn key(dir: &Path, alg: &str, name: &str) -> PrivateKeyDer<'static> {
    let der = read(dir, alg, name);
    if alg == "rsa2048" {
        PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(der))
    } else {
        PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(der))
    }
}

fn setup(dir: &Path, alg: &str, tls13: bool, mutual: bool) -> Setup {
    let provider: Arc<CryptoProvider> = Arc::new(rustls::crypto::ring::default_provider());
    let versions: &[&rustls::SupportedProtocolVersion] = if tls13 {
        &[&rustls::version::TLS13]
    } else {
        &[&rustls::version::TLS12]
    };
    let cert = |n: &str| CertificateDer::from(read(dir, alg, n));
    let mut roots = RootCertStore::empty();
    roots.add(cert("root.der")).expect("root");
    let roots = Arc::new(roots);

    let sb = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .expect("versions");
    let sb = if mutual {
        let v = WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
            .build()
            .expect("client verifier");
        sb.with_client_cert_verifier(v)
    } else {
        sb.with_no_client_auth()
    };
    let mut server = sb
        .with_single_cert(
            vec![cert("server.der"), cert("int.der")],
            key(dir, alg, "server.key.der"),
        )
        .expect("server identity");
    server.session_storage = Arc::new(NoServerSessionStorage {});
    server.send_tls13_tickets = 0;

    let cb = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .expect("versions")
        .with_root_certificates(roots);
    let mut client = if mutual {
        cb.with_client_auth_cert(
            vec![cert("client.der"), cert("int.der")],
            key(dir, alg, "client.key.der"),
        )
        .expect("client identity")
    } else {
        cb.with_no_client_auth()
    };
    client.resumption = Resumption::disabled();
    Setup {
        client: Arc::new(client),
        server: Arc::new(server),
    }
}

fn pump_client_to_server(c: &mut ClientConnection, s: &mut ServerConnection, buf: &mut Vec<u8>) {
    while c.wants_write() {
        buf.clear();
        c.write_tls(buf).expect("client write");
        let mut rd = &buf[..];
        while !rd.is_empty() {
            s.read_tls(&mut rd).expect("server read");
            s.process_new_packets().expect("server handshake");
        }
    }
}

fn pump_server_to_client(s: &mut ServerConnection, c: &mut ClientConnection, buf: &mut Vec<u8>) {
    while s.wants_write() {
        buf.clear();
        s.write_tls(buf).expect("server write");
        let mut rd = &buf[..];
        while !rd.is_empty() {
            c.read_tls(&mut rd).expect("client read");
            c.process_new_packets().expect("client handshake");
        }
    }
}

/// One complete handshake; returns the negotiated suite's name.
fn handshake(st: &Setup) -> &'static str {
    let name = ServerName::try_from("server.bench").expect("name");
    let mut c = ClientConnection::new(st.client.clone(), name).expect("client");
    let mut s = ServerConnection::new(st.server.clone()).expect("server");
    let mut buf = Vec::with_capacity(16 * 1024);
    for _ in 0..32 {
        pump_client_to_server(&mut c, &mut s, &mut buf);
        pump_server_to_client(&mut s, &mut c, &mut buf);
        if !c.is_handshaking() && !s.is_handshaking() {
            let suite = c.negotiated_cipher_suite().expect("suite").suite();
            return suite.as_str().unwrap_or("?");
        }
    }
    panic!("handshake did not complete");
}

/// The only function whose instructions are counted under callgrind.
#[no_mangle]
#[inline(never)]
pub fn measured_work(n: u64, op: &mut dyn FnMut()) {
    for _ in 0..n {
        op();
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = Path::new(
        args.first()
            .map(String::as_str)
            .unwrap_or("target/bench-pki"),
    );
    if let [_, alg, ver, mode, n] = args.as_slice() {
        let st = setup(dir, alg, ver == "tls13", mode == "mutual");
        let n: u64 = n.parse().expect("N");
        handshake(&st);
        measured_work(n, &mut || {
            black_box(handshake(&st));
        });
        return;
    }
    let seconds: f64 = std::env::var("MV_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    for alg in ["p256", "rsa2048"] {
        for ver in ["tls13", "tls12"] {
            for mode in ["server_auth", "mutual"] {
                let st = setup(dir, alg, ver == "tls13", mode == "mutual");
                let suite = handshake(&st);
                let warm = Instant::now();
                while warm.elapsed() < Duration::from_millis(300) {
                    handshake(&st);
                }
                let start = Instant::now();
                let mut n = 0u64;
                while start.elapsed().as_secs_f64() < seconds {
                    black_box(handshake(&st));
                    n += 1;
                }
                let ns = start.elapsed().as_nanos() as f64 / n as f64;
                println!("handshake/{alg}/{ver}/{mode} {ns:.0} ns/op ({n} ops, {suite})");
            }
        }
    }
}
