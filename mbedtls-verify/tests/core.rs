//! The core: roles at every depth, trust anchors, CA callback, hook verdicts, panics,
//! danger flag clearing, CRLs, time, the forged basicConstraints CA bit, RSA and ECDSA.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use mbedtls_verify::issue::{CertificateBuilder, CrlBuilder};
use mbedtls_verify::pk::{KeyType, PrivateKey};
use mbedtls_verify::trust::{CaCandidates, CaLookupError, Trust};
use mbedtls_verify::verifier::{ValidationTime, Verifier};
use mbedtls_verify::verify::{Role, TraceEntry, Verdict, VerifyFlags, VerifyHook};
use mbedtls_verify::x509::{CertChain, Crl};
use mbedtls_verify::{Reason, danger};

fn roles(trace: &[TraceEntry]) -> Vec<(u32, Role)> {
    trace.iter().map(|t| (t.depth, t.role)).collect()
}

fn anchors(cas: &[&Ca]) -> Trust {
    let mut c = CertChain::new().unwrap();
    for ca in cas {
        c.push_der(ca.cert().der()).unwrap();
    }
    Trust::anchors(c).unwrap()
}

#[test]
fn roles_for_chains_of_one_to_four_certificates() {
    // 1: a trusted self-signed leaf.
    let key = key();
    let selfsigned = CertificateBuilder::new("CN=pinned-device")
        .self_signed(&key)
        .unwrap();
    let v = Verifier::new(Trust::anchors(selfsigned.clone()).unwrap());
    let (trace, res) = v.verify_traced(&selfsigned);
    let ok = res.expect("a trusted self-signed leaf verifies");
    assert_eq!(roles(&trace), [(0, Role::TrustedLeaf)]);
    assert_eq!(ok.roles(), [Role::TrustedLeaf]);

    // 2, 3, 4: root -> (intermediates) -> leaf.
    let root = root("Root");
    let i1 = sub_ca(&root, "Int 1");
    let i2 = sub_ca(&i1, "Int 2");
    let l2 = client_leaf(&root, "l2", vec![]);
    let l3 = client_leaf(&i1, "l3", vec![]);
    let l4 = client_leaf(&i2, "l4", vec![]);
    let v = Verifier::new(anchors(&[&root]));
    for (peer, expected) in [
        (
            chain(&l2.cert, &[]),
            vec![(1, Role::TrustAnchor), (0, Role::Leaf)],
        ),
        (
            chain(&l3.cert, &[&i1]),
            vec![
                (2, Role::TrustAnchor),
                (1, Role::Intermediate),
                (0, Role::Leaf),
            ],
        ),
        (
            chain(&l4.cert, &[&i2, &i1]),
            vec![
                (3, Role::TrustAnchor),
                (2, Role::Intermediate),
                (1, Role::Intermediate),
                (0, Role::Leaf),
            ],
        ),
    ] {
        let (trace, res) = v.verify_traced(&peer);
        let ok = res.unwrap();
        assert_eq!(roles(&trace), expected, "mbedTLS calls the top first");
        assert_eq!(ok.chain().len(), expected.len());
        assert_eq!(ok.roles().first(), Some(&Role::Leaf));
        assert_eq!(ok.roles().last(), Some(&Role::TrustAnchor));
        assert_eq!(
            ok.chain().iter().last().unwrap(),
            root.cert(),
            "the anchor ends the verified path"
        );
        assert!(trace.iter().all(|t| t.flags.is_empty()));
    }
}

#[test]
fn a_trusted_intermediate_is_the_anchor() {
    let root = root("Root");
    let int = sub_ca(&root, "Int");
    let leaf = client_leaf(&int, "dev", vec![]);
    let v = Verifier::new(anchors(&[&int]));
    for peer in [chain(&leaf.cert, &[]), chain(&leaf.cert, &[&int])] {
        let (trace, res) = v.verify_traced(&peer);
        res.unwrap();
        assert_eq!(roles(&trace), [(1, Role::TrustAnchor), (0, Role::Leaf)]);
    }
}

#[test]
fn an_untrusted_top_is_never_a_trust_anchor() {
    let root = root("Root");
    let other = root_named_like_nothing();
    let int = sub_ca(&root, "Int");
    let leaf = client_leaf(&int, "dev", vec![]);
    let v = Verifier::new(anchors(&[&other]));
    // The peer even sends its root: it is still not trusted.
    let (trace, res) = v.verify_traced(&chain(&leaf.cert, &[&int, &root]));
    let err = res.unwrap_err();
    assert!(err.flags.contains(VerifyFlags::NOT_TRUSTED));
    assert!(
        trace.iter().all(|t| t.role != Role::TrustAnchor),
        "{trace:?}"
    );
    assert_eq!(trace.first().unwrap().role, Role::Intermediate);
    assert!(
        trace
            .first()
            .unwrap()
            .flags
            .contains(VerifyFlags::NOT_TRUSTED)
    );
}

fn root_named_like_nothing() -> Ca {
    root("Unrelated Root")
}

#[test]
fn a_bad_signature_in_the_middle_fails() {
    let root = root("Root");
    // Same name as the root, different key: the intermediate's signature cannot verify
    // against the real root.
    let impostor = Ca {
        key: key(),
        cert: CertChain::new().unwrap(),
    };
    let impostor_cert = CertificateBuilder::new("CN=Root,O=Test")
        .ca(None)
        .self_signed(&impostor.key)
        .unwrap();
    let impostor = Ca {
        cert: impostor_cert,
        key: impostor.key,
    };
    let int = sub_ca(&impostor, "Int");
    let leaf = client_leaf(&int, "dev", vec![]);
    let v = Verifier::new(anchors(&[&root]));
    let (trace, res) = v.verify_traced(&chain(&leaf.cert, &[&int]));
    let err = res.unwrap_err();
    assert!(err.flags.contains(VerifyFlags::NOT_TRUSTED), "{err}");
    let int_entry = trace.iter().find(|t| t.depth == 1).unwrap();
    assert!(
        int_entry.flags.contains(VerifyFlags::NOT_TRUSTED),
        "{trace:?}"
    );
}

#[test]
fn expired_and_not_yet_valid() {
    let root = root("Root");
    let expired = leaf_with(
        &root,
        CertificateBuilder::new("CN=old").validity(date(2020, 1, 1), date(2021, 1, 1)),
    );
    let future = leaf_with(
        &root,
        CertificateBuilder::new("CN=new").validity(date(2090, 1, 1), date(2091, 1, 1)),
    );
    let v = Verifier::new(anchors(&[&root]));
    let e = v.verify(&expired.cert).unwrap_err();
    assert_eq!(e.flags, VerifyFlags::EXPIRED);
    assert!(e.to_string().contains("expired"), "{e}");
    let f = v.verify(&future.cert).unwrap_err();
    assert_eq!(f.flags, VerifyFlags::FUTURE);

    // At a time inside their validity, both verify (the root was issued "now", so pick a
    // root valid then too).
    let old_root_key = key();
    let old_root = CertificateBuilder::new("CN=Old Root")
        .ca(None)
        .validity(date(2019, 1, 1), date(2095, 1, 1))
        .self_signed(&old_root_key)
        .unwrap();
    let old_root = Ca {
        cert: old_root,
        key: old_root_key,
    };
    let expired = leaf_with(
        &old_root,
        CertificateBuilder::new("CN=old").validity(date(2020, 1, 1), date(2021, 1, 1)),
    );
    let v = Verifier::new(anchors(&[&old_root]));
    assert!(v.verify(&expired.cert).is_err());
    let at_2020 = v
        .clone()
        .at_time(ValidationTime::At(date(2020, 6, 1).unix_timestamp()));
    at_2020.verify(&expired.cert).expect("valid in mid-2020");

    // Explicitly skipping time checks shows in the result.
    let skipped = danger::skip_time_checks(v).verify(&expired.cert).unwrap();
    assert!(!skipped.time_checked());
}

#[test]
fn ca_callback_none_one_several_and_error() {
    let root = root("Root");
    let other = root_named_like_nothing();
    let int = sub_ca(&root, "Int");
    let leaf = client_leaf(&int, "dev", vec![]);
    let peer = chain(&leaf.cert, &[&int]);
    let root_der = root.cert().der().to_vec();
    let other_der = other.cert().der().to_vec();

    let calls = Arc::new(AtomicUsize::new(0));
    let none = Verifier::new(Trust::callback({
        let calls = calls.clone();
        move |_child| {
            calls.fetch_add(1, Ordering::Relaxed);
            Ok(CaCandidates::none())
        }
    }));
    let err = none.verify(&peer).unwrap_err();
    assert!(err.flags.contains(VerifyFlags::NOT_TRUSTED));
    assert!(calls.load(Ordering::Relaxed) >= 1);

    let one = Verifier::new(Trust::callback({
        let root_der = root_der.clone();
        move |child| {
            let mut c = CaCandidates::none();
            // Only the certificate whose issuer is the root gets it.
            if child.issuer().der()
                == CertChain::from_der(&root_der)
                    .unwrap()
                    .first()
                    .unwrap()
                    .subject()
                    .der()
            {
                c.push_der(&root_der).unwrap();
            }
            Ok(c)
        }
    }));
    let (trace, res) = one.verify_traced(&peer);
    let ok = res.unwrap();
    assert_eq!(
        roles(&trace),
        [
            (2, Role::TrustAnchor),
            (1, Role::Intermediate),
            (0, Role::Leaf)
        ]
    );
    assert_eq!(ok.chain().iter().last().unwrap(), root.cert());

    let several = Verifier::new(Trust::callback(move |_child| {
        let mut c = CaCandidates::none();
        c.push_der(&other_der).unwrap();
        c.push_der(&root_der).unwrap();
        Ok(c)
    }));
    let (trace, res) = several.verify_traced(&peer);
    res.unwrap();
    assert_eq!(trace.first().unwrap().role, Role::TrustAnchor);

    let failing = Verifier::new(Trust::callback(|_child| {
        Err(CaLookupError("CA store offline".into()))
    }));
    let err = failing.verify(&peer).unwrap_err();
    assert!(
        err.reasons
            .iter()
            .any(|r| matches!(r, Reason::CaCallbackFailed(m) if m == "CA store offline")),
        "{err:?}"
    );

    let panicking = Verifier::new(Trust::callback(|_child| panic!("lookup bug")));
    let err = panicking.verify(&peer).unwrap_err();
    assert!(err.reasons.contains(&Reason::CallbackPanicked), "{err:?}");
}

#[test]
fn hook_reject_panic_and_added_flags() {
    let root = root("Root");
    let leaf = client_leaf(&root, "dev", vec![]);
    let seen = Arc::new(AtomicUsize::new(0));
    let reject = Verifier::new(anchors(&[&root])).with_hook(VerifyHook::new({
        let seen = seen.clone();
        move |call| {
            seen.fetch_add(1, Ordering::Relaxed);
            if call.role() == Role::Leaf {
                Verdict::reject("device is quarantined")
            } else {
                Verdict::Accept
            }
        }
    }));
    let err = reject.verify(&leaf.cert).unwrap_err();
    assert_eq!(seen.load(Ordering::Relaxed), 2);
    assert!(err.reasons.iter().any(|r| matches!(r, Reason::HookRejected { depth: 0, reason } if reason == "device is quarantined")));

    let panic = Verifier::new(anchors(&[&root])).with_hook(VerifyHook::new(|call| {
        if call.depth() == 0 {
            panic!("hook bug");
        }
        Verdict::Accept
    }));
    let err = panic.verify(&leaf.cert).unwrap_err();
    assert!(err.reasons.contains(&Reason::CallbackPanicked));

    let stricter = Verifier::new(anchors(&[&root])).with_hook(VerifyHook::new(|call| {
        call.add_flags(VerifyFlags::OTHER);
        Verdict::Accept
    }));
    let err = stricter.verify(&leaf.cert).unwrap_err();
    assert!(err.flags.contains(VerifyFlags::OTHER));
}

#[test]
fn flags_are_cleared_only_through_danger_and_one_at_a_time() {
    let root = root("Root");
    let expired = leaf_with(
        &root,
        CertificateBuilder::new("CN=old").validity(date(2020, 1, 1), date(2021, 1, 1)),
    );
    let v = Verifier::new(anchors(&[&root]));
    let forgiving = v.clone().with_hook(VerifyHook::new(|call| {
        if call.depth() == 0 && call.flags() == VerifyFlags::EXPIRED {
            danger::clear_flag(call, VerifyFlags::EXPIRED).unwrap();
        }
        Verdict::Accept
    }));
    forgiving
        .verify(&expired.cert)
        .expect("the hook forgave exactly EXPIRED");

    // Clearing everything at once is refused, and the flags stay.
    let other = root_named_like_nothing();
    let untrusted = client_leaf(&other, "dev", vec![]);
    let refused = Arc::new(AtomicUsize::new(0));
    let wipe = v.with_hook(VerifyHook::new({
        let refused = refused.clone();
        move |call| {
            if danger::clear_flag(call, VerifyFlags::all()).is_err() {
                refused.fetch_add(1, Ordering::Relaxed);
            }
            Verdict::Accept
        }
    }));
    let err = wipe.verify(&untrusted.cert).unwrap_err();
    assert!(err.flags.contains(VerifyFlags::NOT_TRUSTED));
    assert!(refused.load(Ordering::Relaxed) >= 1);
}

#[test]
fn revoked_through_a_crl() {
    let root = root("Root");
    let good = client_leaf(&root, "good", vec![]);
    let bad = client_leaf(&root, "bad", vec![]);
    let now = DateTimeNow::get();
    let crl = CrlBuilder::new(root.cert(), &root.key)
        .revoke(bad.cert.first().unwrap().serial(), now.minus_days(1))
        .this_update(now.minus_days(1))
        .next_update(now.plus_days(30))
        .to_der()
        .unwrap();
    let trust = Trust::anchors_with_crl(root.cert.clone(), Crl::parse(&crl).unwrap()).unwrap();
    let v = Verifier::new(trust);
    v.verify(&good.cert).unwrap();
    let err = v.verify(&bad.cert).unwrap_err();
    assert_eq!(err.flags, VerifyFlags::REVOKED);
}

struct DateTimeNow(i64);
impl DateTimeNow {
    fn get() -> Self {
        DateTimeNow(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64,
        )
    }
    fn minus_days(&self, d: i64) -> mbedtls_verify::x509::DateTime {
        mbedtls_verify::x509::DateTime::from_unix(self.0 - d * 86400).unwrap()
    }
    fn plus_days(&self, d: i64) -> mbedtls_verify::x509::DateTime {
        mbedtls_verify::x509::DateTime::from_unix(self.0 + d * 86400).unwrap()
    }
}

#[test]
fn forged_basic_constraints_leaf_cannot_issue() {
    // The 2026 CA-bit forgery advisory: mbedTLS 3.6.5 reads SEQUENCE { INTEGER 5 } as cA=TRUE.
    let root = root("Root");
    let forged = leaf_with(
        &root,
        CertificateBuilder::new("CN=forged").raw_extension(
            "2.5.29.19",
            true,
            vec![0x30, 0x03, 0x02, 0x01, 0x05],
        ),
    );
    let forged_ca = Ca {
        cert: forged.cert,
        key: forged.key,
    };
    let victim = client_leaf(&forged_ca, "victim", vec![]);
    let hook_roles = Arc::new(std::sync::Mutex::new(Vec::new()));
    let v = Verifier::new(anchors(&[&root])).with_hook(VerifyHook::new({
        let hook_roles = hook_roles.clone();
        move |call| {
            hook_roles.lock().unwrap().push((
                call.depth(),
                call.role(),
                call.cert().subject().to_string_lossy(),
            ));
            Verdict::Accept
        }
    }));
    let (trace, res) = v.verify_traced(&chain(&victim.cert, &[&forged_ca]));
    let err = res.unwrap_err();
    assert!(
        err.reasons.contains(&Reason::NotACa { depth: 1 }),
        "{err:?}"
    );
    let seen = hook_roles.lock().unwrap();
    assert!(
        !seen
            .iter()
            .any(|(_, role, subject)| *role == Role::Intermediate && subject.contains("forged")),
        "the hook saw the forged leaf as an intermediate: {seen:?}"
    );
    assert!(!trace.iter().any(|t| t.subject.contains("forged")));
}

#[test]
fn rsa_and_ecdsa_chains() {
    let rsa_key = PrivateKey::generate(KeyType::Rsa(2048)).unwrap();
    let rsa_root = CertificateBuilder::new("CN=RSA Root")
        .ca(None)
        .self_signed(&rsa_key)
        .unwrap();
    let rsa_root = Ca {
        cert: rsa_root,
        key: rsa_key,
    };
    // An ECDSA leaf under an RSA root, and an RSA-signed chain verifies.
    let leaf = client_leaf(&rsa_root, "ec-under-rsa", vec![]);
    let v = Verifier::new(anchors(&[&rsa_root]));
    let ok = v.verify(&leaf.cert).unwrap();
    assert_eq!(ok.chain().len(), 2);
    assert!(rsa_root.cert().public_key().bits >= 2048);

    let ec_root = root("EC Root");
    let ec_leaf = client_leaf(&ec_root, "ec", vec![]);
    Verifier::new(anchors(&[&ec_root]))
        .verify(&ec_leaf.cert)
        .unwrap();
    // The RSA root does not vouch for the EC root's leaf.
    assert!(v.verify(&ec_leaf.cert).is_err());
}

#[test]
fn static_der_is_parsed_without_copying() {
    let root = root("Root");
    let der: &'static [u8] = Box::leak(root.cert().der().to_vec().into_boxed_slice());
    let chain = CertChain::from_static_der(der).unwrap();
    assert_eq!(
        chain.first().unwrap().der().as_ptr(),
        der.as_ptr(),
        "no copy"
    );
    Verifier::new(Trust::anchors(chain.clone()).unwrap())
        .verify(&chain)
        .unwrap();
}

#[test]
fn bad_input_is_an_error() {
    assert!(CertChain::from_der(b"not a certificate").is_err());
    assert!(
        CertChain::from_pem(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
            .is_err()
    );
    assert!(CertChain::from_pem(b"no pem here").is_err());
    assert!(Trust::anchors(CertChain::new().unwrap()).is_err());
    let root = root("Root");
    let v = Verifier::new(anchors(&[&root]));
    let err = v.verify(&CertChain::new().unwrap()).unwrap_err();
    assert!(err.flags.contains(VerifyFlags::MISSING));
}
