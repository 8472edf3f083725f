//! Memory-safety stress of the CA-callback path, meant to run under valgrind
//! (`scripts/valgrind-ca-cb`).
//!
//! `Trust::callback` hands mbedTLS a candidate list built in mbedTLS's allocator, and
//! mbedTLS frees it (on the next lookup, and when verification ends, also on error). This
//! program runs many offline verifications (1,000 by default) cycling through callbacks
//! that return no candidate, one, several (with a same-named decoy CA and an unrelated
//! one), only wrong ones, an error, an error after a first list was handed over, a panic,
//! and a list that is followed by a hook rejection; then TLS handshakes whose server
//! authenticates clients through a CA callback (shared by every connection), accepting
//! and failing. Every outcome is checked; any surprise exits with status 2.
//!
//! Usage: `ca_cb_stress [verifications] [handshakes]` (defaults 1000 and 16).

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use mbedtls_verify::issue::{CertificateBuilder, San};
use mbedtls_verify::pk::{KeyType, PrivateKey};
use mbedtls_verify::ssl::mem::{memory_pair, run_handshakes};
use mbedtls_verify::ssl::{ClientAuth, ClientConfig, Identity, ServerConfig, Session, TlsVersion};
use mbedtls_verify::trust::{CaCandidates, CaLookupError, Trust};
use mbedtls_verify::verifier::Verifier;
use mbedtls_verify::verify::{Role, Verdict, VerifyFlags, VerifyHook};
use mbedtls_verify::x509::{CertChain, ExtendedKeyUsage};
use mbedtls_verify::{Reason, VerifyError};

/// What a callback does; one verifier per mode, reused for every iteration.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// No candidate at all: NOT_TRUSTED.
    NoCandidate,
    /// The root, only for the certificate it issued.
    One,
    /// An unrelated CA, a decoy with the root's name but another key, and the root, for
    /// every certificate asked about.
    Several,
    /// The unrelated CA and the decoy only: NOT_TRUSTED.
    SeveralWrong,
    /// An error on the first lookup.
    Error,
    /// Several candidates for the leaf, then an error for the intermediate: mbedTLS must
    /// free the first list on its error path.
    ErrorAfterList,
    /// A panic (caught in the trampoline).
    Panic,
    /// The root is returned, then the verify hook rejects the leaf.
    HookReject,
}

const MODES: [Mode; 8] = [
    Mode::NoCandidate,
    Mode::One,
    Mode::Several,
    Mode::SeveralWrong,
    Mode::Error,
    Mode::ErrorAfterList,
    Mode::Panic,
    Mode::HookReject,
];

struct Pki {
    root: CertChain,
    root_key: PrivateKey,
    decoy: CertChain,
    unrelated: CertChain,
    /// Leaf first, then the intermediate, as a peer sends it.
    client: CertChain,
    client_key: PrivateKey,
}

fn key() -> PrivateKey {
    PrivateKey::generate(KeyType::EcdsaP256).expect("generating a key")
}

fn pki() -> Pki {
    let root_key = key();
    let root = CertificateBuilder::new("CN=Stress Root,O=Test")
        .ca(None)
        .self_signed(&root_key)
        .expect("root");
    // Same subject as the root, another key: mbedTLS must skip it by its signature.
    let decoy = CertificateBuilder::new("CN=Stress Root,O=Test")
        .ca(None)
        .self_signed(&key())
        .expect("decoy");
    let unrelated = CertificateBuilder::new("CN=Unrelated Root,O=Test")
        .ca(None)
        .self_signed(&key())
        .expect("unrelated");
    let issuing_key = key();
    let issuing = CertificateBuilder::new("CN=Stress Issuing,O=Test")
        .ca(Some(0))
        .signed_by(&issuing_key, root.first().unwrap(), &root_key)
        .expect("issuing CA");
    let client_key = key();
    let mut client = CertificateBuilder::new("CN=device-1,O=Test")
        .extended_key_usage(&[ExtendedKeyUsage::ClientAuth])
        .san(San::Dns("device-1.test".into()))
        .signed_by(&client_key, issuing.first().unwrap(), &issuing_key)
        .expect("client leaf");
    client
        .push_der(issuing.first().unwrap().der())
        .expect("chain");
    Pki {
        root,
        root_key,
        decoy,
        unrelated,
        client,
        client_key,
    }
}

/// The CA callback of `mode`; `calls` counts lookups.
fn trust_for(mode: Mode, pki: &Pki, calls: Arc<AtomicUsize>) -> Trust {
    let root = pki.root.first().unwrap().der().to_vec();
    let root_subject = pki.root.first().unwrap().subject().der().to_vec();
    let decoy = pki.decoy.first().unwrap().der().to_vec();
    let unrelated = pki.unrelated.first().unwrap().der().to_vec();
    Trust::callback(move |child| {
        calls.fetch_add(1, Ordering::Relaxed);
        let list = |ders: &[&[u8]]| -> Result<CaCandidates, CaLookupError> {
            let mut c = CaCandidates::none();
            for d in ders {
                c.push_der(d)
                    .map_err(|e| CaLookupError(format!("copying a candidate: {e}")))?;
            }
            Ok(c)
        };
        match mode {
            Mode::NoCandidate => Ok(CaCandidates::none()),
            Mode::One | Mode::HookReject => {
                if child.issuer().der() == root_subject.as_slice() {
                    list(&[&root])
                } else {
                    Ok(CaCandidates::none())
                }
            }
            Mode::Several => list(&[&unrelated, &decoy, &root]),
            Mode::SeveralWrong => list(&[&unrelated, &decoy]),
            Mode::Error => Err(CaLookupError("CA store offline".into())),
            Mode::ErrorAfterList => {
                // Per verification: the leaf is asked about first, then the intermediate.
                if child.issuer().der() == root_subject.as_slice() {
                    Err(CaLookupError("CA store failed mid-chain".into()))
                } else {
                    list(&[&unrelated, &decoy, &root])
                }
            }
            Mode::Panic => panic!("CA lookup bug (expected by the stress test)"),
        }
    })
}

fn verifier_for(mode: Mode, pki: &Pki, calls: Arc<AtomicUsize>) -> Verifier {
    let v = Verifier::new(trust_for(mode, pki, calls));
    match mode {
        Mode::HookReject => v.with_hook(VerifyHook::new(|call| {
            if call.role() == Role::Leaf {
                Verdict::reject("device is on the deny list")
            } else {
                Verdict::Accept
            }
        })),
        _ => v,
    }
}

/// Whether a verification outcome is what `mode` must produce.
fn check(mode: Mode, r: &Result<mbedtls_verify::verifier::Verified, VerifyError>) -> bool {
    let has = |e: &VerifyError, f: &dyn Fn(&Reason) -> bool| e.reasons.iter().any(f);
    match (mode, r) {
        (Mode::One | Mode::Several, Ok(v)) => {
            v.chain().len() == 3 && v.roles().last() == Some(&Role::TrustAnchor)
        }
        (Mode::NoCandidate | Mode::SeveralWrong, Err(e)) => {
            e.flags.contains(VerifyFlags::NOT_TRUSTED)
        }
        (Mode::Error | Mode::ErrorAfterList, Err(e)) => {
            has(e, &|r| matches!(r, Reason::CaCallbackFailed(_)))
        }
        (Mode::Panic, Err(e)) => has(e, &|r| *r == Reason::CallbackPanicked),
        (Mode::HookReject, Err(e)) => has(e, &|r| matches!(r, Reason::HookRejected { .. })),
        _ => false,
    }
}

fn handshakes(pki: &Pki, n: usize) -> Result<usize, String> {
    let server_key = key();
    let server_cert = CertificateBuilder::new("CN=server.test")
        .extended_key_usage(&[ExtendedKeyUsage::ServerAuth])
        .san(San::Dns("server.test".into()))
        .signed_by(&server_key, pki.root.first().unwrap(), &pki.root_key)
        .map_err(|e| e.to_string())?;
    let copy = |k: &PrivateKey| PrivateKey::parse(k.to_der().unwrap().as_bytes()).unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let server_for = |mode| {
        ServerConfig::builder()
            .identity(Identity::new(server_cert.clone(), copy(&server_key)).unwrap())
            .client_auth(ClientAuth::Required)
            .trust(trust_for(mode, pki, calls.clone()))
            .build()
            .map_err(|e| e.to_string())
    };
    let accepting = server_for(Mode::Several)?;
    let refusing = server_for(Mode::ErrorAfterList)?;
    let mut done = 0;
    for i in 0..n {
        let version = if i % 2 == 0 {
            TlsVersion::Tls13
        } else {
            TlsVersion::Tls12
        };
        let client = ClientConfig::builder()
            .trust(Trust::anchors(pki.root.clone()).map_err(|e| e.to_string())?)
            .identity(Identity::new(pki.client.clone(), copy(&pki.client_key)).unwrap())
            .versions(version, version)
            .build()
            .map_err(|e| e.to_string())?;
        let (server, should_pass) = if i % 4 < 2 {
            (&accepting, true)
        } else {
            (&refusing, false)
        };
        let (a, b) = memory_pair();
        let mut c = Session::client(&client, "server.test", a).map_err(|e| e.to_string())?;
        let mut s = Session::server(server, b).map_err(|e| e.to_string())?;
        let (rc, rs) = run_handshakes(&mut c, &mut s);
        if rs.is_ok() != should_pass || (should_pass && rc.is_err()) {
            return Err(format!(
                "handshake {i} ({version:?}): client {rc:?}, server {rs:?}, expected {}",
                if should_pass { "success" } else { "failure" }
            ));
        }
        done += 1;
    }
    if n > 0 && calls.load(Ordering::Relaxed) == 0 {
        return Err("the TLS CA callback was never called".into());
    }
    Ok(done)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let verifications: usize = args.next().map_or(1000, |a| a.parse().expect("a count"));
    let handshake_count: usize = args.next().map_or(16, |a| a.parse().expect("a count"));
    // The Panic mode panics on purpose; keep the output readable.
    std::panic::set_hook(Box::new(|_| {}));

    let pki = pki();
    let calls = Arc::new(AtomicUsize::new(0));
    let verifiers: Vec<(Mode, Verifier)> = MODES
        .iter()
        .map(|&m| (m, verifier_for(m, &pki, calls.clone())))
        .collect();
    let peer = &pki.client;
    let mut per_mode = [0usize; MODES.len()];
    let mut failures = 0usize;
    for i in 0..verifications {
        let (mode, verifier) = &verifiers[i % verifiers.len()];
        let r = verifier.verify(peer);
        if check(*mode, &r) {
            per_mode[i % verifiers.len()] += 1;
        } else {
            failures += 1;
            eprintln!("verification {i} ({mode:?}): unexpected outcome {r:?}");
        }
    }
    let lookups = calls.load(Ordering::Relaxed);
    println!(
        "{verifications} verifications through Trust::callback, {lookups} CA lookups, \
         {failures} unexpected outcomes"
    );
    for (m, n) in MODES.iter().zip(per_mode) {
        println!("  {m:?}: {n} as expected");
    }

    match handshakes(&pki, handshake_count) {
        Ok(n) => println!("{n} TLS handshakes with a CA-callback server, all as expected"),
        Err(e) => {
            eprintln!("TLS: {e}");
            failures += 1;
        }
    }
    if failures == 0 && lookups >= verifications {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}
