//! Public roots in flash (`roots::RootBundle`) on the device: a small bundle built at
//! start-up from roots issued here — the fleet root of `pki.rs` among seven
//! public-looking roots with distinct subjects and one more whose subject repeats
//! another's — stored once in a static buffer (standing in for flash: the bundle is
//! `'static`, so candidates are parsed in place), then:
//! - the CA-callback lookup as mbedTLS calls it (binary search, parse of the candidates
//!   in place, free): instructions and heap, for one candidate, two, and none;
//! - offline verification of the server's chain (leaf + issuing CA) through the bundle's
//!   `Trust` against the same roots loaded whole with `Trust::anchors` (what
//!   `mbedtls_ssl_conf_ca_chain` holds): both accept it (anchored at the fleet root) and
//!   both refuse a chain whose root is not in the bundle (NOT_TRUSTED); instructions,
//!   heap held by each trust and peak heap during the verification.

use core::cell::{Cell, UnsafeCell};
use core::fmt;

use alloc::vec::Vec;
use critical_section::Mutex;
use mbedtls_verify::VerifyError;
use mbedtls_verify::issue::CertificateBuilder;
use mbedtls_verify::pk::{KeyType, PrivateKey};
use mbedtls_verify::roots::RootBundle;
use mbedtls_verify::trust::Trust;
use mbedtls_verify::verifier::{Verified, Verifier};
use mbedtls_verify::verify::VerifyFlags;
use mbedtls_verify::x509::{CertChain, DateTime};

use crate::Tally;
use crate::heap::HEAP;
use crate::machine::counted;
use crate::pki::{Pki, SERVER_NAME, chain_of};

/// Room for the bundle (nine P-256 roots take about 4 KiB).
const FLASH_SIZE: usize = 8 * 1024;

/// The bundle's "flash": written once, then only read.
struct Flash {
    bytes: UnsafeCell<[u8; FLASH_SIZE]>,
    written: Mutex<Cell<bool>>,
}

// SAFETY: `bytes` is written only by the one call of `store` that flips `written` (inside
// a critical section) and only read afterwards, through the shared slice it returns.
unsafe impl Sync for Flash {}

static FLASH: Flash = Flash {
    bytes: UnsafeCell::new([0; FLASH_SIZE]),
    written: Mutex::new(Cell::new(false)),
};

/// Copy `b` into the flash buffer; `None` if it does not fit or was already written.
fn store(b: &[u8]) -> Option<&'static [u8]> {
    if b.len() > FLASH_SIZE || critical_section::with(|cs| FLASH.written.borrow(cs).replace(true)) {
        return None;
    }
    // SAFETY: the flag above lets exactly one call reach this point, before any reader
    // exists; from here on the buffer is only read through the returned slice.
    let buf = unsafe { &mut *FLASH.bytes.get() };
    buf[..b.len()].copy_from_slice(b);
    Some(&buf[..b.len()])
}

/// A verification's outcome, for the check's detail.
struct Verdict<'a>(&'a Result<Verified, VerifyError>);

impl fmt::Display for Verdict<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Ok(v) => write!(f, "accepted, {} certificates", v.chain().len()),
            Err(e) => write!(f, "refused: {e}"),
        }
    }
}

/// Heap in use after `make` minus before (what the value it returns holds), and the value.
fn resident<T>(make: impl FnOnce() -> T) -> (usize, T) {
    let before = HEAP.stats().in_use;
    let v = make();
    (HEAP.stats().in_use.saturating_sub(before), v)
}

/// `op`'s result, its instructions, and the most heap in use during it above its start.
fn measured<R>(op: impl FnOnce() -> R) -> (R, u64, usize) {
    HEAP.reset_peak();
    let before = HEAP.stats().in_use;
    let (r, n) = counted(op);
    (r, n, HEAP.stats().peak - before)
}

pub fn run(t: &mut Tally, pki: &Pki) -> Result<(), &'static str> {
    // ---- The roots. One key signs every public-looking root: what a lookup and a
    // verification cost does not depend on which key a root has, only on its size.
    let (nb, na) = (
        DateTime::new(2025, 1, 1, 0, 0, 0).ok_or("date")?,
        DateTime::new(2030, 12, 31, 23, 59, 59).ok_or("date")?,
    );
    let key = PrivateKey::generate(KeyType::EcdsaP256).map_err(|_| "key")?;
    let subject =
        |i: u8| alloc::format!("CN=Example Public Root CA {i},O=Example Trust Services {i},C=US");
    let mut roots: Vec<CertChain> = Vec::new();
    // Subjects 0 to 6, and subject 3 once more (another root, same name).
    for (i, serial) in (0..7u8).map(|i| (i, 60 + i)).chain([(3, 67)]) {
        let root = CertificateBuilder::new(&subject(i))
            .serial(&[serial])
            .validity(nb, na)
            .ca(Some(1))
            .self_signed(&key)
            .map_err(|_| "public-looking root")?;
        roots.push(root);
    }
    let fleet_root = pki.root.cert.first().ok_or("root")?;
    let ders = roots
        .iter()
        .filter_map(|c| c.first().map(|c| c.der()))
        .chain([fleet_root.der()]);
    let der_bytes: usize = ders.clone().map(<[u8]>::len).sum();
    let built = RootBundle::build(ders).map_err(|_| "bundle build")?;
    let bytes = store(&built).ok_or("bundle does not fit its flash buffer")?;
    drop(built);
    let (bundle, check_instr) = counted(|| RootBundle::from_static(bytes));
    let bundle = bundle.map_err(|_| "bundle")?;
    t.check(
        "root bundle built on the device: 9 roots, 8 distinct subjects, stored as static bytes",
        bundle.len() == 9,
        format_args!(
            "{} bytes ({der_bytes} of DER + {} header and index)",
            bytes.len(),
            bytes.len() - der_bytes
        ),
    );

    // ---- One CA-callback lookup: search + parse in place + free. --------------------
    let issuing = pki.issuing.cert.first().ok_or("issuing CA")?;
    let twin = roots[7].first().ok_or("root")?; // self-signed: its issuer is subject 3
    let stranger = pki.other_client.first().ok_or("other client")?;
    let mut lookups = [(0u64, 0usize, 0usize); 3];
    let mut found_ok = true;
    for (slot, (child, want)) in [(issuing, 1), (twin, 2), (stranger, 0)]
        .into_iter()
        .enumerate()
    {
        let (r, n, heap) = measured(|| bundle.candidates(child).map(|c| c.len()));
        let got = r.map_err(|_| "lookup")?;
        found_ok &= got == want;
        lookups[slot] = (n, heap, got);
    }
    let issuer = issuing.issuer().der();
    let (found, search_instr) = counted(|| bundle.find(issuer).count());
    t.check(
        "bundle lookups find the fleet root (1 candidate), both roots of a repeated subject (2), none for an unknown issuer (0)",
        found_ok && found == 1,
        format_args!(
            "candidates {}, {}, {}",
            lookups[0].2, lookups[1].2, lookups[2].2
        ),
    );
    println!(
        "measure: root bundle ({} roots, {} bytes: {der_bytes} of DER + {} header and index): binary search {search_instr} instructions",
        bundle.len(),
        bytes.len(),
        bytes.len() - der_bytes
    );
    for ((n, heap, got), what) in
        lookups
            .iter()
            .zip(["one candidate", "two candidates", "no candidate"])
    {
        println!(
            "measure:   one CA-callback lookup (search + parse in place + free), {what} ({got} parsed): {n} instructions, heap peak {heap} bytes"
        );
    }

    // ---- Offline verification: the bundle against the whole set as anchors. --------
    let (bundle_held, bundle_trust) = resident(|| bundle.clone().trust());
    let (chain_held, (anchors, load_instr)) =
        resident(|| counted(|| bundle.to_chain().and_then(Trust::anchors)));
    let anchors = anchors.map_err(|_| "anchors")?;
    let server = chain_of(&[&pki.server.cert, &pki.issuing.cert]).map_err(|_| "chain")?;
    let unknown = &pki.other_client;
    let mut figures = [(0u64, 0usize); 2];
    for (slot, (name, trust)) in [
        ("bundle (CA callback)", bundle_trust),
        ("ca_chain", anchors),
    ]
    .into_iter()
    .enumerate()
    {
        let verifier = Verifier::new(trust).expect_name(SERVER_NAME);
        verifier
            .verify(&server)
            .map_err(|_| "warm-up verification")?;
        let (r, n, heap) = measured(|| verifier.verify(&server));
        let accepted = matches!(&r, Ok(v) if v.chain().len() == 3
            && v.chain().iter().last().map(|c| c.der()) == Some(fleet_root.der()));
        t.check(
            &alloc::format!("{name}: the server's chain verifies, anchored at the fleet root"),
            accepted,
            format_args!("{}", Verdict(&r)),
        );
        // Without a name to match, so NOT_TRUSTED is the only flag.
        let r = Verifier::new(verifier.trust().clone()).verify(unknown);
        t.check(
            &alloc::format!(
                "{name}: a chain under a root outside the bundle is refused (NOT_TRUSTED)"
            ),
            matches!(&r, Err(e) if e.flags == VerifyFlags::NOT_TRUSTED),
            format_args!("{}", Verdict(&r)),
        );
        figures[slot] = (n, heap);
    }
    println!(
        "measure:   offline verification of leaf + issuing CA (2 ECDSA P-256 signatures), expect_name: bundle {} instructions (heap peak {} bytes), same roots with ca_chain {} instructions (heap peak {} bytes)",
        figures[0].0, figures[0].1, figures[1].0, figures[1].1
    );
    println!(
        "measure:   heap held by the trust: bundle {bundle_held} bytes, the same {} roots parsed with ca_chain {chain_held} bytes",
        bundle.len()
    );
    println!(
        "measure:   start-up: bundle header and order check (RootBundle::from_static) {check_instr} instructions; parsing the {} roots for ca_chain {load_instr} instructions",
        bundle.len()
    );
    Ok(())
}
