//! Offline chain verification through the safe crate's `Verifier` with a verify hook and
//! a client-authorization policy: the accepted chain and its depth/role trace, the
//! refusals (another CA, wrong extendedKeyUsage), the clock contract (fail closed
//! without a clock, explicit opt-out visible in the result, validity period), and the
//! instruction split between the Rust layer and mbedTLS's C verification.

use core::ffi::c_int;

use mbedtls_verify::policy::{AllowRule, ClientPolicy};
use mbedtls_verify::profile::SecurityProfile;
use mbedtls_verify::trust::Trust;
use mbedtls_verify::verifier::Verifier;
use mbedtls_verify::verify::{Role, VerifyFlags};
use mbedtls_verify::x509::CertChain;
use mbedtls_verify::{Reason, VerifyError, danger, platform, sys};

use crate::machine::counted;
use crate::pki::{DEVICE_PREFIX, Pki, chain_of};
use crate::testonly;
use crate::{Tally, measure, trace};

/// Instruction figures for the final report.
#[derive(Default)]
pub struct Figures {
    pub verifier_instr: u64,
    pub verify: measure::Counters,
    pub bare_c_instr: u64,
}

fn has_reason(e: &VerifyError, f: impl Fn(&Reason) -> bool) -> bool {
    e.reasons.iter().any(f)
}

pub fn run(t: &mut Tally, pki: &Pki) -> Result<Figures, &'static str> {
    let mut fig = Figures::default();
    let trust = Trust::anchors(pki.root.cert.clone()).map_err(|_| "trust anchors")?;
    let policy = ClientPolicy::builder()
        .allow_uri_prefix(DEVICE_PREFIX)
        .build()
        .map_err(|_| "policy")?;
    let verifier = Verifier::new(trust)
        .with_hook(trace::recording_hook(&trace::OFFLINE))
        .with_policy(policy);
    let chain = chain_of(&[&pki.client.cert, &pki.issuing.cert]).map_err(|_| "chain")?;

    // ---- The clock contract: no clock installed yet. -----------------------------
    let r = verifier.verify(&chain);
    t.check(
        "no clock installed: verification fails closed",
        matches!(&r, Err(e) if has_reason(e, |r| *r == Reason::NoClock)),
        format_args!(
            "{:?}",
            r.as_ref().map(|_| ()).map_err(|e| e.reasons.clone())
        ),
    );
    let r = danger::skip_time_checks(verifier.clone()).verify(&chain);
    t.check(
        "no clock, explicit opt-out (danger::skip_time_checks): verifies, result says so",
        matches!(&r, Ok(v) if !v.time_checked()),
        format_args!(
            "time_checked = {:?}",
            r.as_ref()
                .map(|v| v.time_checked())
                .map_err(|e| alloc::format!("{e}"))
        ),
    );
    platform::set_clock(testonly::clock_unavailable);
    let r = verifier.verify(&chain);
    t.check(
        "clock that does not know the time: verification fails closed",
        matches!(&r, Err(e) if has_reason(e, |r| *r == Reason::NoClock)),
        format_args!(
            "{:?}",
            r.as_ref().map(|_| ()).map_err(|e| e.reasons.clone())
        ),
    );
    platform::set_clock(testonly::test_only_clock);
    println!(
        "note: TEST-ONLY fixed clock (2026-01-01T00:00:00Z) installed with platform::set_clock"
    );

    // ---- The 3-certificate chain, with the hook and the policy. -------------------
    trace::clear(&trace::OFFLINE);
    let before = measure::snapshot();
    let (r, n) = counted(|| verifier.verify(&chain));
    let inside = measure::snapshot().since(before);
    let tr = trace::get(&trace::OFFLINE);
    match &r {
        Ok(v) => {
            t.check(
                "root -> issuing CA -> leaf verifies (Verifier + hook + policy)",
                v.chain().len() == 3
                    && v.roles() == [Role::Leaf, Role::Intermediate, Role::TrustAnchor]
                    && v.time_checked(),
                format_args!(
                    "{} certificates, roles {:?}, leaf {}",
                    v.chain().len(),
                    v.roles(),
                    v.leaf().subject().to_string_lossy()
                ),
            );
            t.check(
                "the policy admitted the leaf by its URI prefix",
                v.authorized_by() == Some(AllowRule::UriPrefix(0)),
                format_args!("authorized_by = {:?}", v.authorized_by()),
            );
        }
        Err(e) => t.check(
            "root -> issuing CA -> leaf verifies (Verifier + hook + policy)",
            false,
            format_args!("{e}"),
        ),
    }
    t.check(
        "hook trace: depth 2 trust_anchor, depth 1 intermediate, depth 0 leaf",
        tr.calls() == trace::ROOT_ISSUING_LEAF,
        format_args!("{tr}"),
    );
    fig.verifier_instr = n;
    fig.verify = inside;

    // The same verification in bare C: mv_verify, same chain and anchors, no callback.
    fig.bare_c_instr = bare_c_verification(&chain, &pki.root.cert).map_err(|rc| {
        println!("bare mv_verify failed: {rc:#x}");
        "bare C verification"
    })?;

    // ---- Refusals. -----------------------------------------------------------------
    trace::clear(&trace::OFFLINE);
    let r = verifier.verify(&pki.other_client);
    t.check(
        "a chain from another CA is rejected (NOT_TRUSTED)",
        matches!(&r, Err(e) if e.flags.contains(VerifyFlags::NOT_TRUSTED)),
        format_args!(
            "{}; hook saw: {}",
            r.as_ref()
                .map(|_| "accepted".into())
                .unwrap_or_else(|e| alloc::format!("{e}")),
            trace::get(&trace::OFFLINE)
        ),
    );
    let wrong = chain_of(&[&pki.wrong_eku, &pki.issuing.cert]).map_err(|_| "chain")?;
    let r = verifier.verify(&wrong);
    t.check(
        "a leaf with EKU serverAuth is rejected by the policy (mbedTLS itself found no flag)",
        matches!(&r, Err(e) if e.flags.is_empty()
            && has_reason(e, |r| matches!(r, Reason::Policy(_)))),
        format_args!(
            "{}",
            r.as_ref()
                .map(|_| "accepted".into())
                .unwrap_or_else(|e| alloc::format!("{e}"))
        ),
    );

    // ---- Validity period, as judged by the installed clock. ------------------------
    for (what, clock, flag) in [
        (
            "clock before notBefore: FUTURE",
            testonly::clock_before_validity as platform::ClockFn,
            VerifyFlags::FUTURE,
        ),
        (
            "clock after notAfter: EXPIRED",
            testonly::clock_after_validity,
            VerifyFlags::EXPIRED,
        ),
    ] {
        platform::set_clock(clock);
        let r = verifier.verify(&chain);
        t.check(
            what,
            matches!(&r, Err(e) if e.flags.contains(flag)),
            format_args!("{:?}", r.as_ref().map(|_| ()).map_err(|e| e.flags)),
        );
    }
    platform::set_clock(testonly::test_only_clock);
    let r = verifier.verify(&chain);
    t.check(
        "clock restored: the chain verifies again",
        r.is_ok(),
        format_args!(
            "{:?}",
            r.as_ref().map(|_| ()).map_err(|e| e.reasons.clone())
        ),
    );
    Ok(fig)
}

/// Owns a raw chain parsed by the shim, for the bare-C baseline.
struct RawChain(*mut sys::mv_cert);

impl RawChain {
    fn from(chain: &CertChain) -> Result<RawChain, c_int> {
        // SAFETY: returns an owned, initialised chain head or NULL.
        let raw = RawChain(unsafe { sys::mv_crt_new() });
        if raw.0.is_null() {
            return Err(sys::MBEDTLS_ERR_X509_ALLOC_FAILED);
        }
        for c in chain.iter() {
            let der = c.der();
            // SAFETY: raw.0 is valid; der is readable (mbedTLS copies it).
            match unsafe { sys::mv_crt_parse_der(raw.0, der.as_ptr(), der.len()) } {
                0 => {}
                rc => return Err(rc),
            }
        }
        Ok(raw)
    }
}

impl Drop for RawChain {
    fn drop(&mut self) {
        // SAFETY: owned pointer from mv_crt_new.
        unsafe { sys::mv_crt_free(self.0) }
    }
}

/// Instructions of one `mv_verify` of `chain` against `anchors` with the crate's default
/// profile and no callback: mbedTLS alone.
fn bare_c_verification(chain: &CertChain, anchors: &CertChain) -> Result<u64, c_int> {
    let (chain, anchors) = (RawChain::from(chain)?, RawChain::from(anchors)?);
    let p = SecurityProfile::DEFAULT;
    let profile = sys::mv_profile {
        allowed_mds: p.hashes.bits(),
        allowed_pks: p.key_algorithms.bits(),
        allowed_curves: p.curves.bits(),
        rsa_min_bitlen: p.min_rsa_bits,
    };
    let mut flags = 0u32;
    // SAFETY: both chains are parsed and alive for the call; no callback.
    let (rc, n) = counted(|| unsafe {
        sys::mv_verify(
            chain.0,
            anchors.0,
            core::ptr::null_mut(),
            &profile,
            core::ptr::null(),
            &mut flags,
            None,
            core::ptr::null_mut(),
        )
    });
    if rc != 0 || flags != 0 {
        return Err(if rc != 0 { rc } else { -1 });
    }
    Ok(n)
}

/// A CA carrying nameConstraints (permitted dNSName `fleet.example`, non-critical, the
/// kind mbedTLS itself skips): with the safe crate's `name-constraints` feature a leaf
/// inside verifies and one outside fails; without it both fail (never unchecked).
pub fn name_constraints(t: &mut Tally, pki: &Pki) -> Result<(), &'static str> {
    use mbedtls_verify::issue::{CertificateBuilder, San};
    use mbedtls_verify::pk::{KeyType, PrivateKey};
    use mbedtls_verify::x509::DateTime;

    let (nb, na) = (
        DateTime::new(2025, 1, 1, 0, 0, 0).ok_or("date")?,
        DateTime::new(2030, 12, 31, 23, 59, 59).ok_or("date")?,
    );
    let ca_key = PrivateKey::generate(KeyType::EcdsaP256).map_err(|_| "key")?;
    let root = pki.root.cert.first().ok_or("root")?;
    let ca = CertificateBuilder::new("CN=Constrained CA,O=Fleet")
        .serial(&[40])
        .validity(nb, na)
        .ca(Some(0))
        .name_constraints(false, &[San::Dns("fleet.example".into())], &[])
        .signed_by(&ca_key, root, &pki.root.key)
        .map_err(|_| "constrained CA")?;
    let leaf_key = PrivateKey::generate(KeyType::EcdsaP256).map_err(|_| "key")?;
    let leaf = |dns: &str, serial: u8| {
        CertificateBuilder::new("CN=sensor,O=Fleet")
            .serial(&[serial])
            .validity(nb, na)
            .san(San::Dns(dns.into()))
            .signed_by(&leaf_key, ca.first().expect("CA"), &ca_key)
    };
    let verifier = Verifier::new(Trust::anchors(pki.root.cert.clone()).map_err(|_| "trust")?);
    let enforced = cfg!(feature = "name-constraints");
    for (dns, serial, inside) in [
        ("sensor.fleet.example", 41, true),
        ("sensor.evil.example", 42, false),
    ] {
        let chain = chain_of(&[&leaf(dns, serial).map_err(|_| "leaf")?, &ca])
            .map_err(|_| "chain")?;
        let r = verifier.verify(&chain);
        let nc_failure = matches!(&r, Err(e) if has_reason(e, |r| matches!(r, Reason::NameConstraints { .. })));
        let expected_ok = enforced && inside;
        t.check(
            if enforced {
                "nameConstraints enforced (feature on): inside verifies, outside fails"
            } else {
                "nameConstraints not compiled in: a constrained CA fails closed"
            },
            r.is_ok() == expected_ok && (expected_ok || nc_failure),
            format_args!(
                "{dns}: {:?}",
                r.as_ref().map(|_| ()).map_err(|e| e.reasons.clone())
            ),
        );
    }
    Ok(())
}

/// A pathological nameConstraints chain (a CA with 600 permitted dNSName subtrees, a leaf
/// with 600 dNSNames none of them covers: 360,000 comparisons unbounded) fails closed
/// with `Reason::WorkBudget` once the verification's budget of comparisons is spent; the
/// instructions it took are printed.
#[cfg(feature = "name-constraints")]
pub fn name_constraints_budget(t: &mut Tally, pki: &Pki) -> Result<(), &'static str> {
    use alloc::format;
    use alloc::vec::Vec;
    use mbedtls_verify::issue::{CertificateBuilder, San};
    use mbedtls_verify::name_constraints::COMPARISON_BUDGET;
    use mbedtls_verify::pk::{KeyType, PrivateKey};
    use mbedtls_verify::x509::DateTime;

    const M: usize = 600;
    let (nb, na) = (
        DateTime::new(2025, 1, 1, 0, 0, 0).ok_or("date")?,
        DateTime::new(2030, 12, 31, 23, 59, 59).ok_or("date")?,
    );
    let ca_key = PrivateKey::generate(KeyType::EcdsaP256).map_err(|_| "key")?;
    let root = pki.root.cert.first().ok_or("root")?;
    let permitted: Vec<San> = (0..M).map(|i| San::Dns(format!("p{i}.example"))).collect();
    let ca = CertificateBuilder::new("CN=Pathological CA,O=Fleet")
        .serial(&[50])
        .validity(nb, na)
        .ca(Some(0))
        .name_constraints(true, &permitted, &[])
        .signed_by(&ca_key, root, &pki.root.key)
        .map_err(|_| "pathological CA")?;
    drop(permitted);
    let leaf_key = PrivateKey::generate(KeyType::EcdsaP256).map_err(|_| "key")?;
    let leaf = CertificateBuilder::new("CN=sensor,O=Fleet")
        .serial(&[51])
        .validity(nb, na)
        .sans((0..M).map(|i| San::Dns(format!("n{i}.elsewhere.example"))))
        .signed_by(&leaf_key, ca.first().ok_or("CA")?, &ca_key)
        .map_err(|_| "leaf")?;
    let chain = chain_of(&[&leaf, &ca]).map_err(|_| "chain")?;
    drop(leaf);
    let verifier = Verifier::new(Trust::anchors(pki.root.cert.clone()).map_err(|_| "trust")?);
    let (r, n) = counted(|| verifier.verify(&chain));
    t.check(
        "nameConstraints work budget: a pathological chain fails closed (WorkBudget)",
        matches!(&r, Err(e) if e.reasons == [Reason::WorkBudget { depth: 0 }]),
        format_args!(
            "{:?}",
            r.as_ref().map(|_| ()).map_err(|e| e.reasons.clone())
        ),
    );
    println!(
        "measure: nameConstraints worst case ({M} constraints x {M} names, budget {COMPARISON_BUDGET} comparisons): {n} instructions"
    );
    Ok(())
}
