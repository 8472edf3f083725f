//! Interop with real peers on loopback: our server against `openssl s_client` (TLS 1.2
//! and 1.3, with and without a client certificate) and `curl` with a client
//! certificate; our client against `openssl s_server -Verify`. Ports are chosen at run
//! time; every peer process is bounded by `timeout` and killed by the test.

#[path = "../mbedtls-verify/tests/common/mod.rs"]
mod pki;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use mbedtls_verify::issue::San;
use mbedtls_verify::policy::ClientPolicy;
use mbedtls_verify::ssl::{
    ClientAuth, ClientConfig, Identity, ServerConfig, Session, StdIo, TlsVersion,
};
use mbedtls_verify::trust::Trust;
use pki::*;

struct Files {
    dir: PathBuf,
}

impl Files {
    fn new(tag: &str) -> Files {
        let dir = std::env::temp_dir().join(format!("mv-interop-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Files { dir }
    }
    fn write(&self, name: &str, data: &[u8]) -> PathBuf {
        let p = self.dir.join(name);
        std::fs::write(&p, data).unwrap();
        p
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn have(tool: &str) -> bool {
    let ok = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
        || Command::new(tool)
            .arg("version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok();
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{tool} is required in CI"
        );
        eprintln!("skipping: {tool} not installed");
    }
    ok
}

struct Pki {
    root: Ca,
    issuing: Ca,
    server: Leaf,
    device: Leaf,
}

fn pki() -> Pki {
    let root = root("Interop Root");
    let issuing = sub_ca(&root, "Interop Issuing");
    let server = server_leaf(&issuing, "device.local");
    let device = client_leaf(
        &issuing,
        "device-1",
        vec![San::Uri("spiffe://fleet.example/device/1".into())],
    );
    Pki {
        root,
        issuing,
        server,
        device,
    }
}

/// Our mTLS server: per connection, handshake, then answer one line (echo) or one HTTP
/// request, and close. Reports each connection's outcome.
fn spawn_server(
    config: ServerConfig,
    connections: usize,
) -> (u16, mpsc::Receiver<Result<String, String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(connections) {
            let stream = stream.unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(15)))
                .unwrap();
            let mut tls = Session::server(&config, StdIo(stream)).unwrap();
            let outcome = (|| -> Result<String, String> {
                tls.handshake().map_err(|e| e.to_string())?;
                let who = tls
                    .verified_peer()
                    .and_then(|p| p.leaf().subject().common_name().map(String::from))
                    .unwrap_or_else(|| "anonymous".into());
                let mut reader = BufReader::new(&mut tls);
                let mut line = String::new();
                reader.read_line(&mut line).map_err(|e| e.to_string())?;
                if line.starts_with("GET ") {
                    loop {
                        let mut h = String::new();
                        if reader.read_line(&mut h).map_err(|e| e.to_string())? == 0 || h == "\r\n"
                        {
                            break;
                        }
                    }
                    let body = format!("hello {who}\n");
                    let resp = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    tls.write_all(resp.as_bytes()).map_err(|e| e.to_string())?;
                } else {
                    tls.write_all(line.as_bytes()).map_err(|e| e.to_string())?;
                }
                let _ = tls.close();
                Ok(who)
            })();
            let _ = tx.send(outcome);
        }
    });
    (port, rx)
}

fn server_config(p: &Pki, auth: ClientAuth) -> ServerConfig {
    ServerConfig::builder()
        .identity(
            Identity::new(
                chain(&p.server.cert, &[&p.issuing]),
                key_copy(&p.server.key),
            )
            .unwrap(),
        )
        .client_auth(auth)
        .trust(Trust::anchors(p.root.cert.clone()).unwrap())
        .policy(
            ClientPolicy::builder()
                .allow_uri_prefix("spiffe://fleet.example/device/")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

/// Our client: trusts the root, presents device-1's chain.
fn our_client(p: &Pki) -> ClientConfig {
    ClientConfig::builder()
        .trust(Trust::anchors(p.root.cert.clone()).unwrap())
        .identity(
            Identity::new(
                chain(&p.device.cert, &[&p.issuing]),
                key_copy(&p.device.key),
            )
            .unwrap(),
        )
        .build()
        .unwrap()
}

/// `version`: OpenSSL options, space-separated (e.g. "-tls1_3 -groups P-256").
fn s_client(port: u16, files: &Files, p: &Pki, version: &str, with_cert: bool) -> (bool, String) {
    let ca = files.write("root.pem", p.root.cert.to_pem().as_bytes());
    let mut cmd = Command::new("timeout");
    cmd.args([
        "20",
        "openssl",
        "s_client",
        "-connect",
        &format!("127.0.0.1:{port}"),
        "-servername",
        "device.local",
    ])
    .arg("-CAfile")
    .arg(&ca)
    .args([
        "-verify_return_error",
        "-verify_hostname",
        "device.local",
        "-quiet",
    ])
    .args(version.split_whitespace());
    if with_cert {
        let cert = files.write("dev.pem", p.device.cert.to_pem().as_bytes());
        let int = files.write("int.pem", p.issuing.cert.to_pem().as_bytes());
        let key = files.write("dev.key", p.device.key.to_pem().unwrap().as_bytes());
        cmd.arg("-cert")
            .arg(cert)
            .arg("-cert_chain")
            .arg(int)
            .arg("-key")
            .arg(key);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .as_mut()
        .unwrap()
        .write_all(b"hello over tls\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (
        stdout.contains("hello over tls"),
        stdout + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn our_server_with_openssl_s_client() {
    if !have("openssl") {
        return;
    }
    let p = pki();
    let files = Files::new("s_client");
    let (port, outcomes) = spawn_server(server_config(&p, ClientAuth::Required), 4);
    for version in ["-tls1_2", "-tls1_3"] {
        let (echoed, log) = s_client(port, &files, &p, version, true);
        assert!(echoed, "{version} with a client certificate:\n{log}");
        assert_eq!(
            outcomes.recv_timeout(Duration::from_secs(20)).unwrap(),
            Ok("device-1".into())
        );

        let (echoed, log) = s_client(port, &files, &p, version, false);
        assert!(
            !echoed,
            "{version} without a certificate must be refused:\n{log}"
        );
        let refused = outcomes.recv_timeout(Duration::from_secs(20)).unwrap();
        assert!(refused.is_err(), "{refused:?}");
    }

    // Optional client authentication: no certificate is fine, and anonymous.
    let (port, outcomes) = spawn_server(server_config(&p, ClientAuth::Optional), 1);
    let (echoed, log) = s_client(port, &files, &p, "-tls1_3", false);
    assert!(echoed, "{log}");
    assert_eq!(
        outcomes.recv_timeout(Duration::from_secs(20)).unwrap(),
        Ok("anonymous".into())
    );
}

#[test]
fn our_server_with_curl() {
    if !have("curl") {
        return;
    }
    let p = pki();
    let files = Files::new("curl");
    let ca = files.write("root.pem", p.root.cert.to_pem().as_bytes());
    let cert = files.write(
        "dev.pem",
        chain(&p.device.cert, &[&p.issuing]).to_pem().as_bytes(),
    );
    let key = files.write("dev.key", p.device.key.to_pem().unwrap().as_bytes());
    let (port, outcomes) = spawn_server(server_config(&p, ClientAuth::Required), 2);
    let curl = |with_cert: bool| {
        let mut cmd = Command::new("timeout");
        cmd.args(["20", "curl", "-sS", "--max-time", "15", "--cacert"])
            .arg(&ca)
            .args(["--resolve", &format!("device.local:{port}:127.0.0.1")])
            .arg(format!("https://device.local:{port}/"));
        if with_cert {
            cmd.arg("--cert").arg(&cert).arg("--key").arg(&key);
        }
        cmd.output().unwrap()
    };
    let out = curl(true);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello device-1\n");
    assert!(
        outcomes
            .recv_timeout(Duration::from_secs(20))
            .unwrap()
            .is_ok()
    );

    let out = curl(false);
    assert!(
        !out.status.success(),
        "curl without a certificate must fail"
    );
    assert!(
        outcomes
            .recv_timeout(Duration::from_secs(20))
            .unwrap()
            .is_err()
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Killed(std::process::Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `version`: OpenSSL options, space-separated (e.g. "-tls1_3 -groups P-256").
fn s_server(files: &Files, p: &Pki, server: &Leaf, version: &str) -> (Killed, u16) {
    let port = free_port();
    let cert = files.write("srv.pem", server.cert.to_pem().as_bytes());
    let int = files.write("srv-int.pem", p.issuing.cert.to_pem().as_bytes());
    let key = files.write("srv.key", server.key.to_pem().unwrap().as_bytes());
    let ca = files.write("root.pem", p.root.cert.to_pem().as_bytes());
    let mut child = Command::new("timeout")
        .args([
            "30",
            "openssl",
            "s_server",
            "-accept",
            &port.to_string(),
            "-naccept",
            "1",
            "-rev",
            "-Verify",
            "3",
        ])
        .args(version.split_whitespace())
        .arg("-cert")
        .arg(cert)
        .arg("-cert_chain")
        .arg(int)
        .arg("-key")
        .arg(key)
        .arg("-CAfile")
        .arg(ca)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // s_server prints ACCEPT once it listens (a probe connection would use up -naccept).
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("ACCEPT") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("openssl s_server did not start");
    (Killed(child), port)
}

fn wait_listening(port: u16) -> TcpStream {
    TcpStream::connect(("127.0.0.1", port)).unwrap()
}

/// Our client connecting to `openssl s_server` on `port` (handshake not yet run).
fn client_session(client: &ClientConfig, port: u16) -> Session<StdIo<TcpStream>> {
    let stream = wait_listening(port);
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    Session::client(client, "device.local", StdIo(stream)).unwrap()
}

/// One line through `s_server -rev`: it comes back reversed.
fn echo_reversed(tls: &mut Session<StdIo<TcpStream>>) {
    tls.write_all(b"abc\n").unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    while !got.ends_with(b"\n") {
        let n = tls.read(&mut buf).unwrap();
        assert!(n > 0, "s_server closed early");
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, b"cba\n");
}

#[test]
fn our_client_with_openssl_s_server() {
    if !have("openssl") {
        return;
    }
    let p = pki();
    let files = Files::new("s_server");
    let client = our_client(&p);
    for (version, expected) in [
        ("-tls1_2", TlsVersion::Tls12),
        ("-tls1_3", TlsVersion::Tls13),
    ] {
        let (_srv, port) = s_server(&files, &p, &p.server, version);
        let mut tls = client_session(&client, port);
        tls.handshake().unwrap_or_else(|e| panic!("{version}: {e}"));
        assert_eq!(tls.version(), Some(expected));
        assert_eq!(
            tls.verified_peer().unwrap().leaf().subject().common_name(),
            Some("device.local")
        );
        echo_reversed(&mut tls);
    }

    // A server whose certificate is for another name is refused by our client.
    let wrong = server_leaf(&p.issuing, "elsewhere.local");
    let (_srv, port) = s_server(&files, &p, &wrong, "-tls1_3");
    let mut tls = client_session(&client, port);
    let err = tls.handshake().unwrap_err();
    assert!(err.to_string().contains("name"), "{err}");
}

/// TLS 1.3 key exchange with OpenSSL on each named group: P-256 (with feature
/// `p256-ecdh-rustcrypto`, our side's key share and shared secret come from the Rust driver —
/// counted — and an OpenSSL peer agreeing on the secret is the independent check) and X25519
/// (mbedTLS's own code in every build).
#[test]
fn key_exchange_groups_with_openssl() {
    if !have("openssl") {
        return;
    }
    let p = pki();
    let files = Files::new("groups");
    let client = our_client(&p);
    let (port, outcomes) = spawn_server(server_config(&p, ClientAuth::Required), 2);
    for group in ["P-256", "X25519"] {
        let opts = format!("-tls1_3 -groups {group}");
        #[cfg(feature = "p256-ecdh-rustcrypto")]
        let before = mbedtls_verify::sys::p256_ecdh::fast_path_calls();

        // Our server, OpenSSL's client offering only this group.
        let (echoed, log) = s_client(port, &files, &p, &opts, true);
        assert!(echoed, "{group}: our server:\n{log}");
        assert_eq!(
            outcomes.recv_timeout(Duration::from_secs(20)).unwrap(),
            Ok("device-1".into())
        );

        // Our client, OpenSSL's server accepting only this group.
        let (_srv, sport) = s_server(&files, &p, &p.server, &opts);
        let mut tls = client_session(&client, sport);
        tls.handshake()
            .unwrap_or_else(|e| panic!("{group}: our client: {e}"));
        echo_reversed(&mut tls);

        // Our server's and our client's public value and shared secret: 4 (other tests of
        // this binary may add theirs concurrently, hence "at least").
        #[cfg(feature = "p256-ecdh-rustcrypto")]
        if group == "P-256" {
            let calls = mbedtls_verify::sys::p256_ecdh::fast_path_calls().wrapping_sub(before);
            assert!(calls >= 4, "P-256: only {calls} Rust ECDH operations");
        }
    }
}

#[test]
fn server_keeps_serving_after_bad_clients() {
    if !have("openssl") {
        return;
    }
    let p = pki();
    let files = Files::new("bad-clients");
    let (port, outcomes) = spawn_server(server_config(&p, ClientAuth::Required), 3);
    // Garbage instead of a ClientHello.
    let mut raw = TcpStream::connect(("127.0.0.1", port)).unwrap();
    raw.write_all(&[0x42; 512]).unwrap();
    assert!(
        outcomes
            .recv_timeout(Duration::from_secs(20))
            .unwrap()
            .is_err()
    );
    drop(raw);
    // A truncated ClientHello, then the client disappears mid-handshake.
    let mut raw = TcpStream::connect(("127.0.0.1", port)).unwrap();
    raw.write_all(&[0x16, 0x03, 0x01, 0x01, 0x00, 0x01, 0x00, 0x00])
        .unwrap();
    drop(raw);
    assert!(
        outcomes
            .recv_timeout(Duration::from_secs(20))
            .unwrap()
            .is_err()
    );
    // The next, well-behaved client is served.
    let (echoed, log) = s_client(port, &files, &p, "-tls1_3", true);
    assert!(echoed, "{log}");
    assert_eq!(
        outcomes.recv_timeout(Duration::from_secs(20)).unwrap(),
        Ok("device-1".into())
    );
}
