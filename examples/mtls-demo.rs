//! The main job: a device that lets in only its own clients.
//!
//! It creates a private CA (root + issuing CA), a server certificate, and five client
//! certificates; starts an mTLS server on localhost that requires client certificates
//! and authorizes them with a policy (clientAuth + a SPIFFE-style URI in the SAN); then
//! connects each client and prints, per connection, the verify hook's trace (depth,
//! role, subject, flags) and the decision. Exits 0 when every decision is the expected one.
//!
//!     cargo run --example mtls-demo

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use mbedtls_verify::issue::{CertificateBuilder, San};
use mbedtls_verify::pk::{KeyType, PrivateKey};
use mbedtls_verify::policy::ClientPolicy;
use mbedtls_verify::ssl::{ClientAuth, ClientConfig, Identity, ServerConfig, Session, StdIo};
use mbedtls_verify::trust::Trust;
use mbedtls_verify::verify::{Verdict, VerifyHook};
use mbedtls_verify::x509::{CertChain, DateTime, ExtendedKeyUsage};

type Demo<T> = Result<T, Box<dyn std::error::Error>>;

/// A certificate and its key.
struct Issued {
    cert: CertChain,
    key: PrivateKey,
}

fn issue(builder: CertificateBuilder, issuer: Option<&Issued>) -> Demo<Issued> {
    let key = PrivateKey::generate(KeyType::EcdsaP256)?;
    let cert = match issuer {
        Some(ca) => builder.signed_by(&key, ca.cert.first().unwrap(), &ca.key)?,
        None => builder.self_signed(&key)?,
    };
    Ok(Issued { cert, key })
}

fn client(cn: &str, uri: &str, eku: ExtendedKeyUsage<'static>) -> CertificateBuilder {
    CertificateBuilder::new(&format!("CN={cn},O=Fleet"))
        .extended_key_usage(&[eku])
        .san(San::Uri(uri.into()))
}

fn main() -> Demo<()> {
    // 1. A private CA: a root kept offline, and an issuing CA that signs devices.
    let root = issue(
        CertificateBuilder::new("CN=Fleet Root CA,O=Fleet").ca(Some(1)),
        None,
    )?;
    let issuing = issue(
        CertificateBuilder::new("CN=Fleet Issuing CA,O=Fleet").ca(Some(0)),
        Some(&root),
    )?;
    let server = issue(
        CertificateBuilder::new("CN=localhost,O=Fleet")
            .extended_key_usage(&[ExtendedKeyUsage::ServerAuth])
            .san(San::Dns("localhost".into())),
        Some(&issuing),
    )?;

    // 2. Clients: (name, certificate, expected to be admitted).
    let elsewhere = issue(
        CertificateBuilder::new("CN=Someone Else's CA").ca(None),
        None,
    )?;
    let device = "spiffe://fleet.example/device/";
    let past = (
        DateTime::new(2020, 1, 1, 0, 0, 0).unwrap(),
        DateTime::new(2021, 1, 1, 0, 0, 0).unwrap(),
    );
    let clients = [
        (
            "authorized device",
            issue(
                client(
                    "device-1",
                    &format!("{device}1"),
                    ExtendedKeyUsage::ClientAuth,
                ),
                Some(&issuing),
            )?,
            true,
        ),
        (
            "device from another CA",
            issue(
                client(
                    "device-2",
                    &format!("{device}2"),
                    ExtendedKeyUsage::ClientAuth,
                ),
                Some(&elsewhere),
            )?,
            false,
        ),
        (
            "server EKU, not clientAuth",
            issue(
                client(
                    "device-3",
                    &format!("{device}3"),
                    ExtendedKeyUsage::ServerAuth,
                ),
                Some(&issuing),
            )?,
            false,
        ),
        (
            "identity the policy does not allow",
            issue(
                client(
                    "laptop",
                    "spiffe://fleet.example/laptop/1",
                    ExtendedKeyUsage::ClientAuth,
                ),
                Some(&issuing),
            )?,
            false,
        ),
        (
            "expired device certificate",
            issue(
                client(
                    "device-5",
                    &format!("{device}5"),
                    ExtendedKeyUsage::ClientAuth,
                )
                .validity(past.0, past.1),
                Some(&issuing),
            )?,
            false,
        ),
    ];

    // 3. The server: trust our root only, require clientAuth (the policy's default) and a
    //    device URI, and trace what the verify hook sees.
    let trace = Arc::new(Mutex::new(Vec::<String>::new()));
    let hook = VerifyHook::new({
        let trace = trace.clone();
        move |call| {
            let names: Vec<&str> = call.flags().names().collect();
            trace.lock().unwrap().push(format!(
                "    depth {} {:<13} {:<32} flags [{}]",
                call.depth(),
                call.role().as_str(),
                call.cert().subject().to_string_lossy(),
                names.join(", ")
            ));
            Verdict::Accept
        }
    });
    let policy = ClientPolicy::builder().allow_uri_prefix(device).build()?;
    let config = ServerConfig::builder()
        .identity(Identity::new(
            chain_of(&[&server.cert, &issuing.cert])?,
            server.key,
        )?)
        .client_auth(ClientAuth::Required)
        .trust(Trust::anchors(root.cert.clone())?)
        .verify_hook(hook)
        .policy(policy.clone())
        .build()?;

    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let (decisions, decided) = mpsc::channel();
    let n = clients.len();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(n) {
            let decision = serve(&config, &policy, stream);
            let _ = decisions.send(decision);
        }
    });
    println!(
        "mTLS server on {addr}: trusts \"Fleet Root CA\", requires clientAuth and a SAN URI under {device}\n"
    );

    // 4. Each client connects, sends a line, and reads the echo.
    let mut all_as_expected = true;
    for (what, id, expected) in clients {
        let config = ClientConfig::builder()
            .trust(Trust::anchors(root.cert.clone())?)
            .identity(Identity::new(
                chain_of(&[&id.cert, &issuing.cert])?,
                id.key,
            )?)
            .build()?;
        let stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut tls = Session::client(&config, "localhost", StdIo(stream))?;
        let echoed = tls.write_all(b"hello\n").and_then(|_| {
            let mut buf = [0u8; 6];
            tls.read(&mut buf).map(|n| n == 6 && &buf == b"hello\n")
        });
        let (accepted, why) = decided.recv_timeout(Duration::from_secs(20))?;
        let ok = accepted == expected && (accepted == matches!(echoed, Ok(true)));
        all_as_expected &= ok;
        println!("client: {what}");
        for line in trace.lock().unwrap().drain(..) {
            println!("{line}");
        }
        println!(
            "  => {} ({why}){}\n",
            if accepted { "ACCEPTED" } else { "REJECTED" },
            if ok {
                ""
            } else {
                "   <-- NOT THE EXPECTED DECISION"
            }
        );
    }
    println!(
        "{}",
        if all_as_expected {
            "every decision was the expected one"
        } else {
            "some decisions were wrong"
        }
    );
    std::process::exit(if all_as_expected { 0 } else { 1 });
}

/// Handle one connection: handshake, then echo one line. Returns (accepted, why).
fn serve(
    config: &ServerConfig,
    policy: &ClientPolicy,
    stream: std::io::Result<TcpStream>,
) -> (bool, String) {
    let stream = match stream {
        Ok(s) => s,
        Err(e) => return (false, format!("accept failed: {e}")),
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut tls = match Session::server(config, StdIo(stream)) {
        Ok(s) => s,
        Err(e) => return (false, e.to_string()),
    };
    if let Err(e) = tls.handshake() {
        return (false, e.to_string());
    }
    let why = match tls.verified_peer() {
        Some(peer) => match peer.authorized_by() {
            Some(rule) => format!("authorized by {}", policy.describe(rule)),
            None => "verified".into(),
        },
        None => return (false, "no verified client certificate".into()),
    };
    let mut line = [0u8; 6];
    match tls
        .read_exact(&mut line)
        .and_then(|_| Write::write_all(&mut tls, &line))
    {
        Ok(()) => {
            let _ = tls.close();
            (true, why)
        }
        Err(e) => (false, format!("echo failed: {e}")),
    }
}

/// One chain from several single-certificate chains (leaf first).
fn chain_of(parts: &[&CertChain]) -> Demo<CertChain> {
    let mut c = CertChain::new()?;
    for p in parts {
        for cert in p.iter() {
            c.push_der(cert.der())?;
        }
    }
    Ok(c)
}
