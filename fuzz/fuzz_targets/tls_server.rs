//! A TLS server fed an arbitrary client record stream.
//!
//! Input: one byte choosing the configuration variant (bits 0-1: TLS 1.2 / 1.3; static
//! anchors with client authentication required, or a CA callback with it optional;
//! always the recording hook and the client policy; bits 2-3: none, or the depth 0-2
//! the hook rejects), then everything the client sends. The bytes are queued on an in-
//! memory transport whose client end is dropped (so the stream ends with EOF), and
//! `handshake()` is driven a bounded number of times; after a successful handshake a
//! few `read()`s consume what follows. Entropy and time are deterministic, so recorded
//! client flights (the seed corpus) replay to the end of the handshake.
//!
//! Invariants: no panic; a hook rejection always fails the handshake; a completed
//! handshake with client authentication required has a verified peer; with it optional,
//! a client that did send a certificate must have been verified (CVE-2024-45159); a
//! verified peer passes `check_accepted` (hook saw no flags, roles, strict CA bits,
//! policy) and verifies offline with the same trust and policy; a failed session never
//! reports a verified peer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mbedtls_verify::danger::unverified_peer_certificate;
use mbedtls_verify::policy::ClientPolicy;
use mbedtls_verify::ssl::{ClientAuth, ServerConfig};
use mbedtls_verify::verify::Role;
use mbedtls_verify::x509::{CertChain, CertRef};
use mvfuzz::*;

thread_local! {
    static CONFIGS: Vec<ServerConfig> = {
        make_deterministic();
        (0..TLS_VARIANTS).map(server_config).collect()
    };
    static ANCHORS: CertChain = ca_chain();
    static POLICY: ClientPolicy = client_policy();
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
        let (mut s, result) = run_server(&configs[usize::from(v)], flight);
        let calls = take_calls();
        match result {
            Ok(()) => {
                let sent_cert = unverified_peer_certificate(&s).is_some();
                let peer = s.verified_peer();
                if client_auth(v) == ClientAuth::Required || sent_cert {
                    assert!(
                        peer.is_some(),
                        "handshake completed without a verified client"
                    );
                }
                if let Some(peer) = peer {
                    let sent: Vec<CertRef<'_>> = peer.certs().collect();
                    // The chain as mbedTLS built it is what the hook saw, by depth.
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
                            check_accepted(
                                &certs,
                                &roles,
                                &calls,
                                a,
                                Some((p, peer.authorized_by())),
                            )
                        })
                    });
                    assert_eq!(certs[0].der(), sent[0].der(), "verified another leaf");
                    // The offline verifier agrees with the TLS endpoint.
                    let mut chain = CertChain::new().unwrap();
                    for c in &sent {
                        chain.push_der(c.der()).unwrap();
                    }
                    let offline = verifier(trust(v), Some(client_policy()));
                    let r = offline.verify(&chain);
                    take_calls();
                    assert!(
                        r.is_ok(),
                        "TLS accepted a client the offline verifier rejects: {r:?}"
                    );
                }
                let mut buf = [0u8; 512];
                for _ in 0..MAX_CALLS {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {}
                    }
                }
            }
            Err(_) => {
                assert!(
                    s.verified_peer().is_none(),
                    "a failed session has a verified peer"
                );
            }
        }
        take_calls();
        set_reject_depth(None);
    });
});
