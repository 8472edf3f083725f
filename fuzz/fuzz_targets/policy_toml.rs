//! The TOML policy file (`ClientPolicy::from_toml_str`, feature `config`).
//!
//! Invariants: no panic; parsing is deterministic; an accepted policy has no
//! contradiction (a non-empty require_eku, never allow_any_verified with allow rules)
//! and evaluates the fixture chain without panicking; an error names its key or a line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mbedtls_verify::policy::{AllowRule, ClientPolicy, PolicyFileError};
use mbedtls_verify::x509::{CertChain, CertRef};

thread_local! {
    static CHAINS: [CertChain; 2] = [
        CertChain::from_pem(mvfuzz::fixtures::CLIENT_CRT).unwrap(),
        CertChain::from_pem(mvfuzz::fixtures::SERVER_CRT).unwrap(),
    ];
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let first = ClientPolicy::from_toml_str(text);
    let second = ClientPolicy::from_toml_str(text);
    match (first, second) {
        (Ok(p), Ok(q)) => {
            assert_eq!(
                format!("{p:?}"),
                format!("{q:?}"),
                "parsing is not deterministic"
            );
            assert!(
                !p.required_eku().is_empty(),
                "accepted an empty require_eku"
            );
            assert!(
                !(p.allows_any_verified() && p.allow_rule_count() > 0),
                "accepted allow_any_verified together with allow rules"
            );
            CHAINS.with(|chains| {
                for c in chains {
                    let certs: Vec<CertRef<'_>> = c.iter().collect();
                    match p.evaluate(&certs) {
                        Ok(rule) => {
                            let d = p.describe(rule);
                            assert!(d.starts_with(rule.key()), "{d}");
                            if rule == AllowRule::AnyVerified {
                                assert!(p.allows_any_verified());
                            }
                        }
                        Err(why) => assert!(!why.is_empty(), "a rejection without a reason"),
                    }
                }
            });
        }
        (Err(e), Err(f)) => {
            let msg = e.to_string();
            assert_eq!(msg, f.to_string(), "errors are not deterministic");
            assert!(!msg.is_empty());
            match &e {
                // The key may be empty: `'' = 1` is valid TOML with an unknown key "".
                PolicyFileError::Key { key, .. } => assert!(msg.contains(key.as_str()), "{msg}"),
                PolicyFileError::Syntax { line, .. } => assert!(*line >= 1, "{msg}"),
                _ => {}
            }
        }
        _ => panic!("the same text parsed once and failed once"),
    }
});
