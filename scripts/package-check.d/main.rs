//! The program `scripts/package-check` builds against the packaged crates, outside the
//! workspace: a private CA issued on the spot, an offline verification with a hook and a
//! policy, and a mutual-TLS handshake over the in-memory transport. Exits non-zero on any
//! unexpected outcome.

use mbedtls_verify::issue::{CertificateBuilder, San};
use mbedtls_verify::pk::{KeyType, PrivateKey};
use mbedtls_verify::policy::ClientPolicy;
use mbedtls_verify::ssl::mem::{memory_pair, run_handshakes};
use mbedtls_verify::ssl::{ClientAuth, ClientConfig, Identity, ServerConfig, Session};
use mbedtls_verify::trust::Trust;
use mbedtls_verify::verifier::Verifier;
use mbedtls_verify::verify::{Role, Verdict, VerifyHook};
use mbedtls_verify::x509::{CertChain, ExtendedKeyUsage};

type R<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> R<()> {
    let v = mbedtls_verify::sys::version_number();
    println!(
        "mbedTLS {}.{}.{}",
        v >> 24,
        (v >> 16) & 0xff,
        (v >> 8) & 0xff
    );
    let root_key = PrivateKey::generate(KeyType::EcdsaP256)?;
    let root = CertificateBuilder::new("CN=Package Check Root")
        .ca(Some(0))
        .self_signed(&root_key)?;
    let root_ref = root.first().ok_or("no root")?;
    let leaf = |cn: &str, eku: ExtendedKeyUsage<'static>, san: San| -> R<(CertChain, PrivateKey)> {
        let key = PrivateKey::generate(KeyType::EcdsaP256)?;
        let cert = CertificateBuilder::new(&format!("CN={cn}"))
            .extended_key_usage(&[eku])
            .san(san)
            .signed_by(&key, root_ref, &root_key)?;
        Ok((cert, key))
    };
    let (server_cert, server_key) = leaf(
        "localhost",
        ExtendedKeyUsage::ServerAuth,
        San::Dns("localhost".into()),
    )?;
    let (device_cert, device_key) = leaf(
        "device-1",
        ExtendedKeyUsage::ClientAuth,
        San::Uri("spiffe://fleet.example/device/1".into()),
    )?;
    let policy = || {
        ClientPolicy::builder()
            .allow_uri_prefix("spiffe://fleet.example/device/")
            .build()
    };

    // Offline: the hook sees the anchor and the leaf; the policy admits the device.
    let hook = VerifyHook::new(|call| {
        println!(
            "  depth {} {} {}",
            call.depth(),
            call.role(),
            call.cert().subject()
        );
        Verdict::Accept
    });
    let verified = Verifier::new(Trust::anchors(root.clone())?)
        .with_hook(hook)
        .with_policy(policy()?)
        .verify(&device_cert)?;
    if verified.roles() != [Role::Leaf, Role::TrustAnchor] {
        return Err(format!("unexpected roles {:?}", verified.roles()).into());
    }
    println!("offline verification: accepted");

    // mTLS over the in-memory transport.
    let server = ServerConfig::builder()
        .identity(Identity::new(server_cert, server_key)?)
        .client_auth(ClientAuth::Required)
        .trust(Trust::anchors(root.clone())?)
        .policy(policy()?)
        .build()?;
    let client = ClientConfig::builder()
        .identity(Identity::new(device_cert, device_key)?)
        .trust(Trust::anchors(root)?)
        .build()?;
    let (a, b) = memory_pair();
    let mut c = Session::client(&client, "localhost", a)?;
    let mut s = Session::server(&server, b)?;
    let (rc, rs) = run_handshakes(&mut c, &mut s);
    rc?;
    rs?;
    let peer = s.verified_peer().ok_or("no verified peer")?;
    println!(
        "mTLS handshake: {:?}, client {} admitted",
        c.version().ok_or("no version")?,
        peer.leaf().subject()
    );
    println!("package-check program: OK");
    Ok(())
}
