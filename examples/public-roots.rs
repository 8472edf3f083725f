//! A client that trusts the public roots from a bundle (`roots::RootBundle`, found
//! through the CA callback), against a local `openssl s_server` on 127.0.0.1.
//!
//! The server presents a chain under a public-looking test root ("Example Public Root CA
//! 2026"), issued here; the client's bundle is the system's public root set
//! (`ROOTS_PEM`, default Debian's `/etc/ssl/certs/ca-certificates.crt`, when present)
//! plus that test root. The first connection verifies (the verify hook prints the chain,
//! the trust anchor found in the bundle); the second, with a bundle lacking the test root,
//! is refused. Exits 0 when both outcomes are the expected ones. Needs `openssl`.
//!
//!     cargo run --example public-roots

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use mbedtls_verify::issue::{CertificateBuilder, San};
use mbedtls_verify::pk::{KeyType, PrivateKey};
use mbedtls_verify::roots::RootBundle;
use mbedtls_verify::ssl::{ClientConfig, Session, StdIo};
use mbedtls_verify::verify::{Verdict, VerifyHook};
use mbedtls_verify::x509::{CertChain, ExtendedKeyUsage};

type Demo<T> = Result<T, Box<dyn std::error::Error>>;

/// The openssl process, killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn bundle(roots: &[&[u8]]) -> Demo<RootBundle> {
    let bytes = RootBundle::build(roots.iter().copied())?;
    // Firmware keeps the bundle in flash as static bytes; here it is leaked once.
    Ok(RootBundle::from_static(Box::leak(
        bytes.into_boxed_slice(),
    ))?)
}

/// Connect, send an HTTP request, return the first line of the answer.
fn fetch(roots: RootBundle, port: u16) -> Demo<String> {
    let hook = VerifyHook::new(|call| {
        println!(
            "  depth {} {:<13} {}",
            call.depth(),
            call.role().as_str(),
            call.cert().subject()
        );
        Verdict::Accept
    });
    let config = ClientConfig::builder()
        .trust(roots.trust())
        .verify_hook(hook)
        .build()?;
    let tcp = TcpStream::connect(("127.0.0.1", port))?;
    tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut tls = Session::client(&config, "public.example", StdIo(tcp))?;
    tls.handshake()?;
    tls.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match tls.read(&mut buf) {
            Ok(0) | Err(mbedtls_verify::Error::Closed) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) if answer.is_empty() => return Err(e.into()),
            Err(_) => break,
        }
    }
    Ok(String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or("")
        .to_string())
}

fn main() -> Demo<()> {
    // 1. The server's PKI: a public-looking root, an issuing CA, the server.
    let root_key = PrivateKey::generate(KeyType::EcdsaP256)?;
    let root =
        CertificateBuilder::new("CN=Example Public Root CA 2026,O=Example Trust Services,C=US")
            .ca(Some(1))
            .self_signed(&root_key)?;
    let int_key = PrivateKey::generate(KeyType::EcdsaP256)?;
    let int = CertificateBuilder::new("CN=Example TLS Issuing CA,O=Example Trust Services,C=US")
        .ca(Some(0))
        .signed_by(&int_key, root.first().ok_or("root")?, &root_key)?;
    let leaf_key = PrivateKey::generate(KeyType::EcdsaP256)?;
    let leaf = CertificateBuilder::new("CN=public.example")
        .extended_key_usage(&[ExtendedKeyUsage::ServerAuth])
        .san(San::Dns("public.example".into()))
        .signed_by(&leaf_key, int.first().ok_or("int")?, &int_key)?;

    // 2. The bundles: the public set (if the system has one) with and without the test root.
    let path =
        std::env::var("ROOTS_PEM").unwrap_or_else(|_| "/etc/ssl/certs/ca-certificates.crt".into());
    let public = match std::fs::read(&path) {
        Ok(pem) => CertChain::from_pem(&pem)?,
        Err(_) => {
            println!("no public root set at {path}: the bundle holds the test root only");
            CertChain::new()?
        }
    };
    let mut with_test: Vec<&[u8]> = public.iter().map(|c| c.der()).collect();
    let without_test = with_test.clone();
    with_test.push(root.first().ok_or("root")?.der());
    let good = bundle(&with_test)?;
    println!(
        "bundle: {} roots, {} bytes (public set from {path} + the test root)",
        good.len(),
        good.as_bytes().len()
    );

    // 3. openssl s_server on 127.0.0.1, sending leaf + issuing CA.
    let dir = std::env::temp_dir().join(format!("mv-public-roots-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let write = |name: &str, data: &[u8]| -> Demo<std::path::PathBuf> {
        let p = dir.join(name);
        std::fs::write(&p, data)?;
        Ok(p)
    };
    let cert = write("leaf.pem", leaf.to_pem().as_bytes())?;
    let chain = write("int.pem", int.to_pem().as_bytes())?;
    let key = write("leaf.key", leaf_key.to_pem()?.as_bytes())?;
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut child = Command::new("openssl")
        .args(["s_server", "-www", "-naccept", "2", "-accept"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("-cert")
        .arg(&cert)
        .arg("-cert_chain")
        .arg(&chain)
        .arg("-key")
        .arg(&key)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run openssl: {e}"))?;
    let stdout = child.stdout.take().ok_or("stdout")?;
    let server = Server(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("ACCEPT") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(10))
        .map_err(|_| "openssl s_server did not start")?;

    // 4. The bundle with the test root: verified, the anchor found through the CA callback.
    println!("connecting with the test root in the bundle:");
    let first = fetch(good, port)?;
    println!("  verified; the server answered: {first}");

    // 5. Without it: refused.
    println!("connecting with a bundle that lacks the test root:");
    let refused = fetch(bundle(&without_test)?, port).is_err();
    println!("  refused: {refused}");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    if first.starts_with("HTTP/1.0 200") && refused {
        println!("public-roots: OK");
        Ok(())
    } else {
        Err("unexpected outcome".into())
    }
}
