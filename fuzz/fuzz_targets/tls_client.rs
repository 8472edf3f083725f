//! A TLS client fed an arbitrary server flight.
//!
//! Input: one byte choosing the configuration variant (bits 0-1: TLS 1.2 / 1.3; static
//! anchors or a CA callback; the client always has the fixture identity, the recording
//! hook and a policy requiring serverAuth and the DNS name `server.fuzz.example`; bits
//! 2-3: none, or the depth 0-2 the hook rejects), then everything the server sends.
//! Same driving as `tls_server`, with the server end dropped.
//!
//! Invariants: no panic; a hook rejection always fails the handshake; a completed
//! handshake has a verified server, which passes `check_accepted`, carries the expected
//! DNS name, and verifies offline with the same trust, policy and name; a failed
//! session never reports a verified peer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mbedtls_verify::policy::ClientPolicy;
use mbedtls_verify::ssl::ClientConfig;
use mbedtls_verify::verify::Role;
use mbedtls_verify::x509::{CertChain, CertRef, SubjectAltName};
use mvfuzz::*;

thread_local! {
    static CONFIGS: Vec<ClientConfig> = {
        make_deterministic();
        (0..TLS_VARIANTS).map(client_config).collect()
    };
    static ANCHORS: CertChain = ca_chain();
    static POLICY: ClientPolicy = server_policy();
}

fuzz_target!(|data: &[u8]| {
    let Some((&b, flight)) = data.split_first() else {
        return;
    };
    let v = b % TLS_VARIANTS;
    fix_time();
    set_reject_depth(reject_depth(b));
    CONFIGS.with(|configs| {
        take_calls();
        let (mut c, result) = run_client(&configs[usize::from(v)], flight);
        let calls = take_calls();
        match result {
            Ok(()) => {
                let peer = c
                    .verified_peer()
                    .expect("handshake completed without a verified server");
                let sent: Vec<CertRef<'_>> = peer.certs().collect();
                assert!(
                    peer.leaf()
                        .subject_alt_names()
                        .any(|s| s == SubjectAltName::Dns(SERVER_NAME)),
                    "the server's certificate does not carry the name"
                );
                let mut path: Vec<(u32, Role, Vec<u8>)> = calls
                    .iter()
                    .map(|c| (c.depth, c.role, c.der.clone()))
                    .collect();
                path.sort_by_key(|p| p.0);
                let mut built = CertChain::new().unwrap();
                for (_, _, der) in &path {
                    built.push_der(der).unwrap();
                }
                let roles: Vec<Role> = path.iter().map(|p| p.1).collect();
                let certs: Vec<CertRef<'_>> = built.iter().collect();
                ANCHORS.with(|a| {
                    POLICY.with(|p| {
                        check_accepted(&certs, &roles, &calls, a, Some((p, peer.authorized_by())))
                    })
                });
                assert_eq!(certs[0].der(), sent[0].der(), "verified another leaf");
                let mut chain = CertChain::new().unwrap();
                for s in &sent {
                    chain.push_der(s.der()).unwrap();
                }
                let offline = verifier(trust(v), Some(server_policy())).expect_name(SERVER_NAME);
                let r = offline.verify(&chain);
                take_calls();
                assert!(
                    r.is_ok(),
                    "TLS accepted a server the offline verifier rejects: {r:?}"
                );
                let mut buf = [0u8; 512];
                for _ in 0..MAX_CALLS {
                    match c.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {}
                    }
                }
            }
            Err(_) => {
                assert!(
                    c.verified_peer().is_none(),
                    "a failed session has a verified peer"
                );
            }
        }
        take_calls();
        set_reject_depth(None);
    });
});
