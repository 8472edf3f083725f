//! Chain verification with a verify hook and a policy: a fixed trust anchor (the
//! fixture CA), fuzz input = the peer's chain (PEM, or DER certificates one after the
//! other), verified offline at a fixed time by four verifiers: static anchors or a CA
//! callback, each with and without a client-authorization policy.
//!
//! Invariants: no panic; a success has no flag anywhere the hook looked, the roles and
//! the hook agree, the top is the configured CA, every issuer is strictly a CA, every
//! CA's nameConstraints hold below it, the policy accepts what it admitted; a policy only ever removes successes; a failure
//! always says why.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mbedtls_verify::policy::ClientPolicy;
use mbedtls_verify::verifier::Verifier;
use mbedtls_verify::x509::CertChain;
use mvfuzz::*;

struct Setup {
    anchors: CertChain,
    policy: ClientPolicy,
    with_policy: [Verifier; 2],
    without_policy: [Verifier; 2],
}

thread_local! {
    static SETUP: Setup = Setup {
        anchors: ca_chain(),
        policy: client_policy(),
        with_policy: [
            verifier(anchors(), Some(client_policy())),
            verifier(ca_callback(), Some(client_policy())),
        ],
        without_policy: [verifier(anchors(), None), verifier(ca_callback(), None)],
    };
}

fuzz_target!(|data: &[u8]| {
    let Some(chain) = parse_chain(data) else {
        return;
    };
    SETUP.with(|s| {
        let leaf = chain.first().unwrap().der().to_vec();
        let mut ok = [[false; 2]; 2];
        for (p, verifiers) in [&s.without_policy, &s.with_policy].into_iter().enumerate() {
            for (t, v) in verifiers.iter().enumerate() {
                take_calls();
                let r = v.verify(&chain);
                let calls = take_calls();
                match r {
                    Ok(verified) => {
                        ok[p][t] = true;
                        assert_eq!(verified.leaf().der(), &leaf[..], "verified another leaf");
                        check_verified(
                            &verified,
                            &calls,
                            &s.anchors,
                            (p == 1).then_some(&s.policy),
                        );
                    }
                    Err(e) => {
                        assert!(!e.reasons.is_empty(), "a failure without a reason");
                        let _ = e.to_string();
                    }
                }
            }
        }
        for (t, (without, with)) in ok[0].iter().zip(&ok[1]).enumerate() {
            assert!(
                !with || *without,
                "trust {t}: the policy turned a failure into a success"
            );
        }
        assert_eq!(
            ok[0][0], ok[0][1],
            "static anchors and the CA callback disagree on the same CA"
        );
    });
});
