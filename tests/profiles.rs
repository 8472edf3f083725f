//! Certificate profiles (`profile::Profile`): every rule, positive and negative, through
//! the offline verifier, and the profiles through TLS handshakes (client and server), with
//! the violation visible to the verify hook. Also: the default profile for private fleets
//! admits the chains this crate's issuer writes (what the CLI's `ca` uses) and the chains
//! OpenSSL's usual commands write (when `openssl` is installed).

#[path = "../mbedtls-verify/tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};

use common::{Ca, connect, key, key_copy, leaf_with, root};
use mbedtls_verify::Reason;
use mbedtls_verify::der::Writer;
use mbedtls_verify::issue::{CertificateBuilder, San};
use mbedtls_verify::pk::{KeyType, PrivateKey};
use mbedtls_verify::profile::{Profile, Rule, Rules, SecurityProfile};
use mbedtls_verify::ssl::{ClientAuth, ClientConfig, Identity, ServerConfig};
use mbedtls_verify::trust::Trust;
use mbedtls_verify::verifier::Verifier;
use mbedtls_verify::verify::{Verdict, VerifyHook};
use mbedtls_verify::x509::{CertChain, ExtendedKeyUsage, IpAddress, KeyUsage};

const PROFILES: [Profile; 3] = [
    Profile::PrivateFleet,
    Profile::Rfc5280Strict,
    Profile::WebPkiClient,
];

/// The outcome of verifying `chain` against `anchor` under `profile`: `Ok`, or the
/// profile rule that failed (`None`: failed for another reason).
fn outcome(profile: Profile, anchor: &CertChain, chain: &CertChain) -> Result<(), Option<Rule>> {
    let trust = Trust::anchors(anchor.clone()).unwrap();
    Verifier::new(trust)
        .with_profile(SecurityProfile::DEFAULT.with_rules(profile))
        .verify(chain)
        .map(|_| ())
        .map_err(|e| {
            e.reasons.iter().find_map(|r| match r {
                Reason::Profile { rule, .. } => Some(*rule),
                _ => None,
            })
        })
}

/// A server leaf that meets every built-in profile.
fn good_leaf() -> CertificateBuilder {
    CertificateBuilder::new("CN=device.example.com")
        .extended_key_usage(&[ExtendedKeyUsage::ServerAuth])
        .san(San::Dns("device.example.com".into()))
}

fn leaf(ca: &Ca, builder: CertificateBuilder) -> CertChain {
    leaf_with(ca, builder).cert
}

/// Checks that `rule` fails exactly in the profiles whose rule set contains it, and that
/// the chain is otherwise valid (accepted where the rule is not enforced).
fn assert_rule(what: &str, rule: Rule, anchor: &CertChain, chain: &CertChain) {
    for p in PROFILES {
        let got = outcome(p, anchor, chain);
        if p.rules().contains(rule.bit()) {
            assert_eq!(got, Err(Some(rule)), "{what}: {p:?} must fail on {rule:?}");
        } else {
            assert_eq!(got, Ok(()), "{what}: {p:?} does not enforce {rule:?}");
        }
    }
    let only = Profile::Custom(rule.bit());
    assert_eq!(
        outcome(only, anchor, chain),
        Err(Some(rule)),
        "{what}: only {rule:?}"
    );
    let all_but = Profile::Custom(Rules::all().difference(rule.bit()));
    assert_ne!(
        outcome(all_but, anchor, chain),
        Err(Some(rule)),
        "{what}: without {rule:?}"
    );
}

fn der(f: impl FnOnce(&mut Writer)) -> Vec<u8> {
    let mut w = Writer::new();
    f(&mut w);
    w.into_vec()
}

const AKI: &str = "2.5.29.35";
const SKI: &str = "2.5.29.14";
const BC: &str = "2.5.29.19";
const SAN: &str = "2.5.29.17";
const EKU: &str = "2.5.29.37";
const AIA: &str = "1.3.6.1.5.5.7.1.1";
const IAN: &str = "2.5.29.18";
const NC: &str = "2.5.29.30";
const POLICY_CONSTRAINTS: &str = "2.5.29.36";

fn aki(key_id: &[u8]) -> Vec<u8> {
    der(|w| {
        w.sequence(|w| {
            w.implicit(0, false, key_id);
        });
    })
}

fn dns_san(name: &str) -> Vec<u8> {
    der(|w| {
        w.sequence(|w| {
            w.implicit(2, false, name.as_bytes());
        });
    })
}

#[test]
fn the_well_formed_chain_passes_every_profile() {
    let ca = root("Profiles Root");
    let chain = leaf(&ca, good_leaf());
    for p in PROFILES {
        assert_eq!(outcome(p, &ca.cert, &chain), Ok(()), "{p:?}");
    }
    // With an intermediate too.
    let sub = common::sub_ca(&ca, "Profiles Sub");
    let chain = common::chain(&leaf(&sub, good_leaf()), &[&sub]);
    for p in PROFILES {
        assert_eq!(
            outcome(p, &ca.cert, &chain),
            Ok(()),
            "{p:?} with an intermediate"
        );
    }
}

#[test]
fn rfc5280_leaf_rules() {
    let ca = root("Profiles Root");
    let cases = rfc5280_leaf_rules_cases();
    for (what, rule, builder) in cases {
        assert_rule(what, rule, &ca.cert, &leaf(&ca, builder));
    }
}

/// A malformed extension does not hide the other rules from a profile without
/// `WellFormedExtensions`.
#[test]
fn a_malformed_extension_does_not_end_the_checks() {
    let ca = root("Profiles Root");
    let chain = leaf(
        &ca,
        good_leaf()
            .raw_extension(AIA, false, b"malformed".to_vec())
            .key_usage(KeyUsage::DIGITAL_SIGNATURE | KeyUsage::KEY_CERT_SIGN),
    );
    let without = Profile::Custom(Rules::all().difference(Rules::WELL_FORMED_EXTENSIONS));
    assert_eq!(
        outcome(without, &ca.cert, &chain),
        Err(Some(Rule::KeyCertSignNeedsCa))
    );
    assert_eq!(
        outcome(Profile::PrivateFleet, &ca.cert, &chain),
        Err(Some(Rule::WellFormedExtensions))
    );
}

/// Leaves that break one RFC 5280 rule each (issued by any CA).
fn rfc5280_leaf_rules_cases() -> Vec<(&'static str, Rule, CertificateBuilder)> {
    vec![
        (
            "critical AKI",
            Rule::AkiNonCritical,
            good_leaf().raw_extension(AKI, true, aki(&[1; 20])),
        ),
        (
            "no AKI",
            Rule::AkiPresent,
            good_leaf().key_identifiers(false),
        ),
        (
            "critical SKI",
            Rule::SkiNonCritical,
            good_leaf().raw_extension(
                SKI,
                true,
                der(|w| {
                    w.octet_string(&[7; 20]);
                }),
            ),
        ),
        (
            "keyCertSign in a leaf",
            Rule::KeyCertSignNeedsCa,
            good_leaf().key_usage(KeyUsage::DIGITAL_SIGNATURE | KeyUsage::KEY_CERT_SIGN),
        ),
        (
            "nameConstraints in a leaf",
            Rule::NameConstraintsOnlyInCa,
            good_leaf().name_constraints(false, &[San::Dns("example.com".into())], &[]),
        ),
        (
            "underscore in a dNSName",
            Rule::DnsNameSyntax,
            good_leaf().san(San::Dns("bad_name.example.com".into())),
        ),
        (
            "malformed authorityInfoAccess",
            Rule::WellFormedExtensions,
            good_leaf().raw_extension(AIA, false, b"malformed".to_vec()),
        ),
        (
            "empty authorityInfoAccess",
            Rule::WellFormedExtensions,
            good_leaf().raw_extension(AIA, false, vec![0x30, 0x00]),
        ),
        (
            // mbedTLS does not read issuerAltName; GeneralNames must not be empty.
            "empty issuerAltName",
            Rule::WellFormedExtensions,
            good_leaf().raw_extension(IAN, false, vec![0x30, 0x00]),
        ),
        (
            "iPAddress of 5 octets in issuerAltName",
            Rule::WellFormedExtensions,
            good_leaf().raw_extension(
                IAN,
                false,
                der(|w| {
                    w.sequence(|w| {
                        w.implicit(7, false, &[192, 0, 2, 1, 0]);
                    });
                }),
            ),
        ),
    ]
}

/// Leaves that break one CA/B Forum rule each.
fn web_pki_leaf_rules_cases() -> Vec<(&'static str, Rule, CertificateBuilder)> {
    vec![
        (
            "no EKU",
            Rule::LeafServerAuth,
            CertificateBuilder::new("CN=device.example.com")
                .san(San::Dns("device.example.com".into())),
        ),
        (
            "clientAuth only",
            Rule::LeafServerAuth,
            CertificateBuilder::new("CN=device.example.com")
                .extended_key_usage(&[ExtendedKeyUsage::ClientAuth])
                .san(San::Dns("device.example.com".into())),
        ),
        (
            "anyExtendedKeyUsage",
            Rule::LeafNoAnyEku,
            good_leaf().extended_key_usage(&[ExtendedKeyUsage::ServerAuth, ExtendedKeyUsage::Any]),
        ),
        (
            "critical EKU",
            Rule::LeafEkuNonCritical,
            good_leaf().raw_extension(
                EKU,
                true,
                der(|w| {
                    w.sequence(|w| {
                        w.oid(&mbedtls_verify::der::oid::KP_SERVER_AUTH);
                    });
                }),
            ),
        ),
        ("a CA as the leaf", Rule::LeafNotCa, good_leaf().ca(None)),
        (
            "critical SAN with a subject",
            Rule::SanNonCriticalWithSubject,
            good_leaf().raw_extension(SAN, true, dns_san("device.example.com")),
        ),
        (
            "AKI with issuer and serial",
            Rule::AkiKeyIdOnly,
            good_leaf().raw_extension(
                AKI,
                false,
                der(|w| {
                    w.sequence(|w| {
                        w.implicit(0, false, &[1; 20]);
                        w.constructed(0xA1, |w| {
                            w.constructed(0xA4, |w| {
                                w.sequence(|w| {
                                    w.set(|w| {
                                        w.sequence(|w| {
                                            w.oid(&mbedtls_verify::der::oid::COMMON_NAME);
                                            w.utf8_string("x");
                                        });
                                    });
                                });
                            });
                        });
                        w.implicit(2, false, &[1]);
                    });
                }),
            ),
        ),
    ]
}

/// Every leaf rule through a TLS handshake: a client with a profile of that one rule fails
/// on it; with no rule at all the handshake succeeds, except where mbedTLS's TLS layer
/// refuses the server certificate itself (without serverAuth, or a CA certificate without
/// digitalSignature), which the offline tests cover.
#[test]
fn leaf_rules_through_tls_handshakes() {
    let ca = root("TLS Rules Root");
    let client = common::client_leaf(&ca, "client-1", vec![]);
    for (what, rule, builder) in rfc5280_leaf_rules_cases()
        .into_iter()
        .chain(web_pki_leaf_rules_cases())
    {
        let server = common::leaf_with(&ca, builder);
        let s = server_config(&ca, &server, Profile::PrivateFleet);
        let without = client_config(&ca, &client, Profile::Custom(Rules::empty()));
        let (_, _, rc, rs) = connect(&s, &without, "device.example.com");
        if matches!(what, "clientAuth only" | "a CA as the leaf") {
            // mbedTLS's TLS layer refuses such a server certificate itself (no serverAuth,
            // or no digitalSignature): the handshake fails before any profile matters.
            assert!(rc.is_err() || rs.is_err(), "{what}: {rc:?} {rs:?}");
            assert_eq!(profile_rule(&rc), None, "{what}");
            continue;
        }
        assert!(rc.is_ok() && rs.is_ok(), "{what}: {rc:?} {rs:?}");
        let with = client_config(&ca, &client, Profile::Custom(rule.bit()));
        let (_, _, rc, _) = connect(&s, &with, "device.example.com");
        assert_eq!(profile_rule(&rc), Some(rule), "{what}: {rc:?}");
    }
}

#[test]
fn rfc5280_ca_rules() {
    let bc_non_critical = vec![0x30, 0x03, 0x01, 0x01, 0xFF];
    let cases: Vec<(&str, Rule, CertificateBuilder)> = vec![
        (
            "CA without SKI",
            Rule::SkiInCa,
            CertificateBuilder::new("CN=No SKI")
                .ca(None)
                .key_identifiers(false),
        ),
        (
            "non-critical basicConstraints in a CA",
            Rule::CaBasicConstraintsCritical,
            CertificateBuilder::new("CN=BC")
                .ca(None)
                .raw_extension(BC, false, bc_non_critical),
        ),
        (
            "non-critical nameConstraints",
            Rule::NameConstraintsCritical,
            CertificateBuilder::new("CN=NC").ca(None).name_constraints(
                false,
                &[San::Dns("example.com".into())],
                &[],
            ),
        ),
        (
            "leading period in a DNS constraint",
            Rule::DnsNameSyntax,
            CertificateBuilder::new("CN=NC").ca(None).raw_extension(
                NC,
                true,
                der(|w| {
                    w.sequence(|w| {
                        w.constructed(0xA0, |w| {
                            w.sequence(|w| {
                                w.implicit(2, false, b".example.com");
                            });
                        });
                    });
                }),
            ),
        ),
        (
            "non-critical policyConstraints",
            Rule::PolicyConstraintsCritical,
            CertificateBuilder::new("CN=PC").ca(None).raw_extension(
                POLICY_CONSTRAINTS,
                false,
                vec![0x30, 0x03, 0x80, 0x01, 0x00],
            ),
        ),
    ];
    for (what, rule, builder) in cases {
        let key = key();
        let anchor = builder.self_signed(&key).unwrap();
        let ca = Ca { cert: anchor, key };
        let chain = leaf(&ca, good_leaf());
        assert_rule(what, rule, &ca.cert, &chain);
    }
}

#[test]
fn an_intermediate_is_checked_too() {
    let ca = root("Profiles Root");
    let key = key();
    let sub = CertificateBuilder::new("CN=Sub without AKI")
        .ca(None)
        .key_identifiers(false)
        .signed_by(&key, ca.cert(), &ca.key)
        .unwrap();
    let sub = Ca { cert: sub, key };
    let chain = common::chain(&leaf(&sub, good_leaf()), &[&sub]);
    // Missing AKI (checked first), and SKI, in a CA that is not self-issued.
    assert_rule(
        "intermediate without AKI",
        Rule::AkiPresent,
        &ca.cert,
        &chain,
    );
}

/// A certificate with an empty subject (the crate's issuer cannot write one): made with
/// `openssl` when it is installed.
#[test]
fn empty_subject_needs_a_critical_san() {
    let Some(dir) = openssl_dir("empty-subject") else {
        return;
    };
    let run = |args: &[&str]| openssl(&dir, args);
    openssl_root(&dir, "/CN=Empty Subject Root");
    openssl_leaf_csr(&dir, "/CN=ignored");
    for (name, san) in [
        ("critical", "critical,DNS:device.example.com"),
        ("plain", "DNS:device.example.com"),
    ] {
        std::fs::write(
            dir.join(format!("{name}.cnf")),
            format!("subjectAltName={san}\nextendedKeyUsage=serverAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"),
        )
        .unwrap();
        run(&[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-set_serial",
            "7",
            "-days",
            "30",
            "-subj",
            "/",
            "-extfile",
            &format!("{name}.cnf"),
            "-out",
            &format!("{name}.pem"),
        ]);
    }
    let read = |f: &str| CertChain::from_pem(&std::fs::read(dir.join(f)).unwrap()).unwrap();
    let anchor = read("ca.pem");
    let plain = read("plain.pem");
    assert!(
        plain
            .first()
            .unwrap()
            .subject()
            .attributes()
            .next()
            .is_none(),
        "an empty subject"
    );
    assert_rule(
        "empty subject, non-critical SAN",
        Rule::SanCriticalIfSubjectEmpty,
        &anchor,
        &plain,
    );
    let critical = read("critical.pem");
    for p in PROFILES {
        assert_eq!(outcome(p, &anchor, &critical), Ok(()), "{p:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A fresh directory for `openssl` runs, or `None` (and a note) when it is not installed.
fn openssl_dir(tag: &str) -> Option<std::path::PathBuf> {
    let have = std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        // As in tests/interop.rs: a skip is allowed on a developer's machine, never in CI.
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "openssl is required in CI"
        );
        println!("openssl not installed: skipped");
        return None;
    }
    let dir = std::env::temp_dir().join(format!("mv-profiles-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    Some(dir)
}

fn openssl(dir: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// In `dir`: a P-256 key `ca.key` and a self-signed root `ca.pem` with `subject`, as
/// `openssl req -x509` writes it.
fn openssl_root(dir: &std::path::Path, subject: &str) {
    openssl(
        dir,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "ca.key",
        ],
    );
    openssl(
        dir,
        &[
            "req", "-x509", "-new", "-key", "ca.key", "-subj", subject, "-days", "30", "-out",
            "ca.pem",
        ],
    );
}

/// In `dir`: a P-256 key `leaf.key` and a request `leaf.csr` for `subject`.
fn openssl_leaf_csr(dir: &std::path::Path, subject: &str) {
    openssl(
        dir,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "leaf.key",
        ],
    );
    openssl(
        dir,
        &[
            "req", "-new", "-key", "leaf.key", "-subj", subject, "-out", "leaf.csr",
        ],
    );
}

#[test]
fn web_pki_leaf_rules() {
    let ca = root("Profiles Root");
    let cases = web_pki_leaf_rules_cases();
    for (what, rule, builder) in cases {
        assert_rule(what, rule, &ca.cert, &leaf(&ca, builder));
    }
}

#[test]
fn web_pki_root_rules() {
    let cases: Vec<(&str, Rule, CertificateBuilder)> = vec![
        (
            "EKU in the root",
            Rule::AnchorNoEku,
            CertificateBuilder::new("CN=Root EKU")
                .ca(None)
                .extended_key_usage(&[ExtendedKeyUsage::ServerAuth]),
        ),
        (
            "root AKI differs from its SKI",
            Rule::AnchorAkiMatchesSki,
            CertificateBuilder::new("CN=Root AKI")
                .ca(None)
                .raw_extension(AKI, false, aki(&[0x42; 20])),
        ),
    ];
    for (what, rule, builder) in cases {
        let key = key();
        let ca = Ca {
            cert: builder.self_signed(&key).unwrap(),
            key,
        };
        assert_rule(what, rule, &ca.cert, &leaf(&ca, good_leaf()));
    }
}

#[test]
fn rsa_moduli_are_whole_octets() {
    let ca = root("Profiles Root");
    let odd = PrivateKey::generate(KeyType::Rsa(2052)).unwrap();
    let chain = good_leaf().signed_by(&odd, ca.cert(), &ca.key).unwrap();
    assert_rule(
        "2052-bit RSA",
        Rule::RsaModulusMultipleOf8,
        &ca.cert,
        &chain,
    );
}

#[test]
fn the_cn_among_sans_rule_is_opt_in() {
    let ca = root("Profiles Root");
    let mismatched = leaf(
        &ca,
        CertificateBuilder::new("CN=other.example.com")
            .extended_key_usage(&[ExtendedKeyUsage::ServerAuth])
            .san(San::Dns("device.example.com".into())),
    );
    assert_rule(
        "CN not among SANs",
        Rule::CnAmongSans,
        &ca.cert,
        &mismatched,
    );
    let strict = Profile::Custom(Profile::WebPkiClient.rules() | Rules::CN_AMONG_SANS);
    assert_eq!(outcome(strict, &ca.cert, &leaf(&ca, good_leaf())), Ok(()));
    let ip = leaf(
        &ca,
        CertificateBuilder::new("CN=192.0.2.1")
            .extended_key_usage(&[ExtendedKeyUsage::ServerAuth])
            .san(San::Ip(IpAddress::parse("192.0.2.1").unwrap())),
    );
    assert_eq!(outcome(strict, &ca.cert, &ip), Ok(()));
}

/// The hook sees the violation; the chain fails whatever the hook answers.
#[test]
fn the_hook_sees_the_violation_and_cannot_forgive_it() {
    let ca = root("Profiles Root");
    let chain = leaf(&ca, good_leaf().key_identifiers(false));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let hook = VerifyHook::new(move |call| {
        s.lock().unwrap().push((call.depth(), call.violation()));
        Verdict::Accept
    });
    let err = Verifier::new(Trust::anchors(ca.cert.clone()).unwrap())
        .with_profile(SecurityProfile::DEFAULT.with_rules(Profile::Rfc5280Strict))
        .with_hook(hook)
        .verify(&chain)
        .unwrap_err();
    assert_eq!(
        err.reasons,
        vec![Reason::Profile {
            depth: 0,
            rule: Rule::AkiPresent
        }]
    );
    assert_eq!(
        *seen.lock().unwrap(),
        vec![(1, None), (0, Some(Rule::AkiPresent))]
    );
    // The trace shows it too.
    let (trace, _) = Verifier::new(Trust::anchors(ca.cert.clone()).unwrap())
        .with_profile(SecurityProfile::DEFAULT.with_rules(Profile::Rfc5280Strict))
        .verify_traced(&chain);
    assert_eq!(trace.last().unwrap().violation, Some(Rule::AkiPresent));
}

fn server_config(ca: &Ca, leaf: &common::Leaf, profile: Profile) -> ServerConfig {
    ServerConfig::builder()
        .identity(Identity::new(leaf.cert.clone(), key_copy(&leaf.key)).unwrap())
        .trust(Trust::anchors(ca.cert.clone()).unwrap())
        .client_auth(ClientAuth::Required)
        .profile(SecurityProfile::DEFAULT.with_rules(profile))
        .build()
        .unwrap()
}

fn client_config(ca: &Ca, leaf: &common::Leaf, profile: Profile) -> ClientConfig {
    ClientConfig::builder()
        .identity(Identity::new(leaf.cert.clone(), key_copy(&leaf.key)).unwrap())
        .trust(Trust::anchors(ca.cert.clone()).unwrap())
        .profile(SecurityProfile::DEFAULT.with_rules(profile))
        .build()
        .unwrap()
}

fn profile_rule(r: &mbedtls_verify::Result<()>) -> Option<Rule> {
    match r {
        Err(mbedtls_verify::Error::Verify(v)) => v.reasons.iter().find_map(|r| match r {
            Reason::Profile { rule, .. } => Some(*rule),
            _ => None,
        }),
        _ => None,
    }
}

/// A TLS client with the Web PKI profile refuses a server certificate without the
/// serverAuth EKU; with the default profile it connects.
#[test]
fn tls_client_applies_its_profile() {
    let ca = root("TLS Root");
    let server = common::leaf_with(
        &ca,
        CertificateBuilder::new("CN=device.example.com").san(San::Dns("device.example.com".into())),
    );
    let client = common::client_leaf(&ca, "client-1", vec![]);
    let s = server_config(&ca, &server, Profile::PrivateFleet);
    let ok = client_config(&ca, &client, Profile::PrivateFleet);
    let (_, _, rc, rs) = connect(&s, &ok, "device.example.com");
    assert!(rc.is_ok() && rs.is_ok(), "{rc:?} {rs:?}");
    let strict = client_config(&ca, &client, Profile::WebPkiClient);
    let (_, _, rc, _) = connect(&s, &strict, "device.example.com");
    assert_eq!(profile_rule(&rc), Some(Rule::LeafServerAuth), "{rc:?}");
}

/// A TLS server with the strict RFC 5280 profile refuses a client certificate without
/// AKI; the default profile admits it.
#[test]
fn tls_server_applies_its_profile() {
    let ca = root("TLS Root");
    let server = common::server_leaf(&ca, "device.example.com");
    let client = common::leaf_with(
        &ca,
        CertificateBuilder::new("CN=client-1")
            .extended_key_usage(&[ExtendedKeyUsage::ClientAuth])
            .key_identifiers(false),
    );
    let c = client_config(&ca, &client, Profile::PrivateFleet);
    let (_, _, rc, rs) = connect(
        &server_config(&ca, &server, Profile::PrivateFleet),
        &c,
        "device.example.com",
    );
    assert!(rc.is_ok() && rs.is_ok(), "{rc:?} {rs:?}");
    let (_, _, _, rs) = connect(
        &server_config(&ca, &server, Profile::Rfc5280Strict),
        &c,
        "device.example.com",
    );
    assert_eq!(profile_rule(&rs), Some(Rule::AkiPresent), "{rs:?}");
    // keyCertSign in a leaf fails every built-in profile, the default included.
    let bad = common::leaf_with(
        &ca,
        CertificateBuilder::new("CN=client-2")
            .extended_key_usage(&[ExtendedKeyUsage::ClientAuth])
            .key_usage(KeyUsage::DIGITAL_SIGNATURE | KeyUsage::KEY_CERT_SIGN),
    );
    let c = client_config(&ca, &bad, Profile::PrivateFleet);
    let (_, _, _, rs) = connect(
        &server_config(&ca, &server, Profile::PrivateFleet),
        &c,
        "device.example.com",
    );
    assert_eq!(profile_rule(&rs), Some(Rule::KeyCertSignNeedsCa), "{rs:?}");
}

/// The private-fleet default admits what OpenSSL's usual commands write: `req -x509` for
/// a root, `req -new` + `x509 -req -CA` for a leaf (without an extension file OpenSSL 3.0
/// writes a v1 certificate, with no extension at all), and the same with an extension
/// file.
#[test]
fn private_fleet_admits_openssl_chains() {
    let Some(dir) = openssl_dir("chains") else {
        return;
    };
    let run = |args: &[&str]| openssl(&dir, args);
    openssl_root(&dir, "/CN=OpenSSL Root");
    openssl_leaf_csr(&dir, "/CN=device-1");
    run(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "30",
        "-out",
        "plain.pem",
    ]);
    std::fs::write(
        dir.join("ext.cnf"),
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth,serverAuth\nsubjectAltName=DNS:device-1.fleet.local\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "30",
        "-extfile",
        "ext.cnf",
        "-out",
        "ext.pem",
    ]);
    let read = |f: &str| std::fs::read(dir.join(f)).unwrap();
    let anchor = CertChain::from_pem(&read("ca.pem")).unwrap();
    for f in ["plain.pem", "ext.pem"] {
        let chain = CertChain::from_pem(&read(f)).unwrap();
        assert_eq!(
            outcome(Profile::PrivateFleet, &anchor, &chain),
            Ok(()),
            "{f}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A pathological chain (hundreds of constraints against hundreds of names) fails closed
/// with its own reason once the verification's work budget is spent; a smaller one gets
/// its ordinary answer.
#[test]
fn name_constraints_have_a_work_budget() {
    use mbedtls_verify::name_constraints::{
        Budget, COMPARISON_BUDGET, NameConstraintError, NameConstraints,
    };
    let chain_of = |m: usize| {
        let key = key();
        let permitted: Vec<San> = (0..m)
            .map(|i| San::Dns(format!("permitted-{i}.example")))
            .collect();
        let root = CertificateBuilder::new("CN=Pathological Root")
            .ca(None)
            .name_constraints(true, &permitted, &[])
            .self_signed(&key)
            .unwrap();
        let ca = Ca { cert: root, key };
        let leaf = leaf(
            &ca,
            CertificateBuilder::new("CN=leaf")
                .sans((0..m).map(|i| San::Dns(format!("name-{i}.elsewhere.example")))),
        );
        (ca, leaf)
    };
    // 600 x 600 = 360,000 comparisons > the budget.
    const { assert!(600 * 600 > COMPARISON_BUDGET && 300 * 300 < COMPARISON_BUDGET) };
    let (ca, big) = chain_of(600);
    let err = Verifier::new(Trust::anchors(ca.cert.clone()).unwrap())
        .verify(&big)
        .unwrap_err();
    assert_eq!(err.reasons, vec![Reason::WorkBudget { depth: 0 }], "{err}");
    let (ca, small) = chain_of(300);
    let err = Verifier::new(Trust::anchors(ca.cert.clone()).unwrap())
        .verify(&small)
        .unwrap_err();
    assert!(
        matches!(&err.reasons[..], [Reason::NameConstraints { depth: 0, .. }]),
        "{err}"
    );
    // The budget through the public API.
    let nc = NameConstraints::of(&ca.cert()).unwrap().unwrap();
    let one = Budget::with_comparisons(1);
    assert_eq!(
        nc.check_with_budget(&small.first().unwrap(), &one),
        Err(NameConstraintError::BudgetExhausted)
    );
    let plenty = Budget::new();
    assert!(matches!(
        nc.check_with_budget(&small.first().unwrap(), &plenty),
        Err(NameConstraintError::NotPermitted { .. })
    ));
    assert_eq!(COMPARISON_BUDGET - plenty.left(), 300 * 300);
}

/// The examples' credentials (made by the crate's issuer, as the CLI's `ca` makes them)
/// pass the private-fleet default and the strict RFC 5280 profile; the server certificate
/// also passes the Web PKI client profile.
#[test]
fn the_examples_credentials_pass() {
    use mbedtls_verify::verifier::ValidationTime;
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/esp32-common/credentials");
    let read = |f: &str| std::fs::read(dir.join(f)).unwrap();
    let anchor = CertChain::from_der(&read("root-ca.der")).unwrap();
    // 2030-01-01, inside every validity period.
    let at = ValidationTime::At(1_893_456_000);
    let verify = |leaf: &str, profile: Profile| {
        let mut chain = CertChain::from_der(&read(leaf)).unwrap();
        chain.push_der(&read("issuing-ca.der")).unwrap();
        Verifier::new(Trust::anchors(anchor.clone()).unwrap())
            .with_profile(SecurityProfile::DEFAULT.with_rules(profile))
            .at_time(at)
            .verify(&chain)
            .map(|_| ())
    };
    for leaf in ["server.der", "sample/device-17.der", "sample/laptop-3.der"] {
        for p in [Profile::PrivateFleet, Profile::Rfc5280Strict] {
            assert!(
                verify(leaf, p).is_ok(),
                "{leaf} {p:?}: {:?}",
                verify(leaf, p)
            );
        }
    }
    assert!(verify("server.der", Profile::WebPkiClient).is_ok());
    assert!(
        verify("sample/device-17.der", Profile::WebPkiClient).is_err(),
        "clientAuth only"
    );
}

/// CRLs of the trust store issued by a CA of the path: cRLNumber and RFC 5280 section 5.
#[test]
fn crl_rules() {
    use mbedtls_verify::issue::CrlBuilder;
    use mbedtls_verify::x509::Crl;
    let check = |ca: &Ca, crl: &[u8], profile: Profile| {
        let trust = Trust::anchors_with_crl(ca.cert.clone(), Crl::parse(crl).unwrap()).unwrap();
        let chain = leaf(ca, good_leaf());
        Verifier::new(trust)
            .with_profile(SecurityProfile::DEFAULT.with_rules(profile))
            .verify(&chain)
            .map(|_| ())
            .map_err(|e| e.reasons)
    };
    let ca = root("CRL Root");
    let numbered = CrlBuilder::new(ca.cert(), &ca.key)
        .number(7)
        .to_der()
        .unwrap();
    let unnumbered = CrlBuilder::new(ca.cert(), &ca.key).to_der().unwrap();
    for p in PROFILES {
        assert_eq!(check(&ca, &numbered, p), Ok(()), "{p:?}");
    }
    assert_eq!(check(&ca, &unnumbered, Profile::PrivateFleet), Ok(()));
    for p in [Profile::Rfc5280Strict, Profile::WebPkiClient] {
        assert_eq!(
            check(&ca, &unnumbered, p),
            Err(vec![Reason::Profile {
                depth: 1,
                rule: Rule::CrlNumber
            }]),
            "{p:?}"
        );
    }
    // A CRL without authorityKeyIdentifier (its issuer has no SKI to point at).
    let key = key();
    let bare = Ca {
        cert: CertificateBuilder::new("CN=CRL Root without SKI")
            .ca(None)
            .key_identifiers(false)
            .self_signed(&key)
            .unwrap(),
        key,
    };
    let no_aki = CrlBuilder::new(bare.cert(), &bare.key)
        .number(1)
        .to_der()
        .unwrap();
    let crl_rules = Profile::Custom(Rules::CRL_NUMBER | Rules::CRL_PROFILE);
    assert_eq!(
        check(&bare, &no_aki, crl_rules),
        Err(vec![Reason::Profile {
            depth: 1,
            rule: Rule::CrlProfile
        }])
    );
    assert_eq!(
        check(&bare, &no_aki, Profile::Custom(Rules::CRL_NUMBER)),
        Ok(())
    );
    // A CRL of another CA does not concern this path.
    let other = root("Other CRL Root");
    let foreign = CrlBuilder::new(other.cert(), &other.key).to_der().unwrap();
    assert_eq!(check(&ca, &foreign, crl_rules), Ok(()));
    // The rules on the DER directly.
    use mbedtls_verify::profile::check_crl;
    assert_eq!(check_crl(Rules::all(), &numbered), Ok(()));
    assert_eq!(check_crl(Rules::all(), &unnumbered), Err(Rule::CrlNumber));
    assert_eq!(check_crl(Rules::CRL_PROFILE, &unnumbered), Ok(()));
    assert_eq!(
        check_crl(Rules::all(), &numbered[..numbered.len() - 1]),
        Err(Rule::CrlProfile)
    );
    assert_eq!(check_crl(Rules::empty(), b"not a CRL"), Ok(()));
}

/// The CRL rules' verdicts are read once, when the trust store is built: a CRL that
/// breaks a rule is still reported on every verification, at the depth of the CA that
/// issued it and with the same rule, offline and in TLS, through clones of the trust.
#[test]
fn crl_violations_are_reported_after_the_cache() {
    use mbedtls_verify::issue::CrlBuilder;
    use mbedtls_verify::x509::Crl;
    let root = root("Cached CRL Root");
    let ca = common::sub_ca(&root, "Cached CRL CA");
    let client = common::client_leaf(&ca, "client-1", vec![]);
    let peer = common::chain(&client.cert, &[&ca]);
    let numbered = |ca: &Ca| {
        CrlBuilder::new(ca.cert(), &ca.key)
            .number(1)
            .to_der()
            .unwrap()
    };
    let unnumbered = |ca: &Ca| CrlBuilder::new(ca.cert(), &ca.key).to_der().unwrap();
    let trust = |crls: [Vec<u8>; 2]| {
        let mut crl = Crl::parse(&crls[0]).unwrap();
        crl.push(&crls[1]).unwrap();
        Trust::anchors_with_crl(root.cert.clone(), crl).unwrap()
    };
    let verify = |trust: &Trust, profile: Profile| {
        Verifier::new(trust.clone())
            .with_profile(SecurityProfile::DEFAULT.with_rules(profile))
            .verify(&peer)
            .map(|_| ())
            .map_err(|e| e.reasons)
    };
    let violation = |depth, rule| Err(vec![Reason::Profile { depth, rule }]);

    // The issuing CA's CRL has no cRLNumber: depth 1, every time.
    let ca_bad = trust([numbered(&root), unnumbered(&ca)]);
    for _ in 0..3 {
        assert_eq!(
            verify(&ca_bad, Profile::Rfc5280Strict),
            violation(1, Rule::CrlNumber)
        );
    }
    assert_eq!(
        verify(&ca_bad, Profile::Custom(Rules::CRL_PROFILE)),
        Ok(()),
        "the same cached CRLs judged under other rules"
    );
    assert_eq!(verify(&ca_bad, Profile::PrivateFleet), Ok(()));
    // The root's: depth 2 (reported first: mbedTLS shows the top first).
    let root_bad = trust([unnumbered(&root), numbered(&ca)]);
    assert_eq!(
        verify(&root_bad, Profile::Rfc5280Strict),
        violation(2, Rule::CrlNumber)
    );
    let both_bad = trust([unnumbered(&root), unnumbered(&ca)]);
    assert_eq!(
        verify(&both_bad, Profile::Rfc5280Strict),
        violation(2, Rule::CrlNumber)
    );
    assert_eq!(
        verify(
            &trust([numbered(&root), numbered(&ca)]),
            Profile::Rfc5280Strict
        ),
        Ok(())
    );

    // A TLS server whose configuration holds the trust: every connection.
    let server_leaf = common::server_leaf(&root, "device.example.com");
    let server = ServerConfig::builder()
        .identity(Identity::new(server_leaf.cert.clone(), key_copy(&server_leaf.key)).unwrap())
        .trust(ca_bad.clone())
        .client_auth(ClientAuth::Required)
        .profile(SecurityProfile::DEFAULT.with_rules(Profile::Rfc5280Strict))
        .build()
        .unwrap();
    let client = ClientConfig::builder()
        .identity(Identity::new(peer.clone(), key_copy(&client.key)).unwrap())
        .trust(Trust::anchors(root.cert.clone()).unwrap())
        .build()
        .unwrap();
    for _ in 0..2 {
        let (_, _, _, rs) = connect(&server, &client, "device.example.com");
        match rs {
            Err(mbedtls_verify::Error::Verify(v)) => assert_eq!(
                v.reasons,
                vec![Reason::Profile {
                    depth: 1,
                    rule: Rule::CrlNumber
                }]
            ),
            other => panic!("{other:?}"),
        }
    }
}

/// The verify trampoline's one pass over a certificate's extensions gives what the
/// separate readings give (profile verdict, basicConstraints, nameConstraints presence)
/// on every certificate file of the repository, in every role, under every profile.
/// (Debug builds also check this on every certificate of every verification.)
#[test]
fn one_pass_equals_the_separate_readings_on_the_repository_certificates() {
    use mbedtls_verify::profile::one_pass_disagreement;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = [
        "examples/esp32-common/credentials/host/device-17.crt",
        "examples/esp32-common/credentials/host/laptop-3.crt",
        "examples/esp32-common/credentials/host/root-ca.pem",
        "examples/esp32-common/credentials/issuing-ca.der",
        "examples/esp32-common/credentials/root-ca.der",
        "examples/esp32-common/credentials/sample/device-17.der",
        "examples/esp32-common/credentials/sample/foreign-device.der",
        "examples/esp32-common/credentials/sample/laptop-3.der",
        "examples/esp32-common/credentials/server.der",
        "fuzz/fixtures/ca.crt",
        "fuzz/fixtures/client.crt",
        "fuzz/fixtures/int.crt",
        "fuzz/fixtures/server.crt",
    ];
    let mut compared = 0;
    for f in files {
        let data = std::fs::read(root.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        let chain = CertChain::from_pem(&data)
            .or_else(|_| CertChain::from_der(&data))
            .unwrap_or_else(|e| panic!("{f}: {e}"));
        for c in &chain {
            assert_eq!(one_pass_disagreement(&c), None, "{f}");
            compared += 1;
        }
    }
    assert!(compared >= 13, "{compared}");
}
