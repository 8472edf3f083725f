//! The client-authorization policy on real certificates: every rule accepting and
//! rejecting, the edge cases of issue 4, the policy file, and the same decision through
//! the offline verifier as through `ClientPolicy::evaluate`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::OnceLock;

use mbedtls_verify::Reason;
use mbedtls_verify::issue::{CertificateBuilder, San};
use mbedtls_verify::pk::{KeyType, PrivateKey};
use mbedtls_verify::policy::{AllowRule, ClientPolicy};
use mbedtls_verify::trust::Trust;
use mbedtls_verify::verifier::Verifier;
use mbedtls_verify::x509::{
    CertChain, CertRef, ExtendedKeyUsage, HashAlgorithm, SignatureAlgorithm,
};

// ---- an allocator that counts this thread's allocations ------------------------------

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every call is forwarded unchanged to the system allocator; counting touches only
// a const-initialised thread-local without a destructor.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

// ---- certificates ----------------------------------------------------------------------

struct Ca {
    key: PrivateKey,
    cert: CertChain,
}

impl Ca {
    fn cert(&self) -> CertRef<'_> {
        self.cert.first().unwrap()
    }

    fn spki(&self) -> [u8; 32] {
        self.cert().spki_sha256()
    }

    fn issue(&self, key: &PrivateKey, b: CertificateBuilder) -> CertChain {
        b.signed_by(key, self.cert(), &self.key).unwrap()
    }
}

fn ec_key() -> PrivateKey {
    PrivateKey::generate(KeyType::EcdsaP256).unwrap()
}

fn root(name: &str) -> Ca {
    let key = ec_key();
    let cert = CertificateBuilder::new(&format!("CN={name},O=Fleet"))
        .ca(None)
        .self_signed(&key)
        .unwrap();
    Ca { key, cert }
}

fn intermediate(parent: &Ca, name: &str) -> Ca {
    let key = ec_key();
    let cert = parent.issue(
        &key,
        CertificateBuilder::new(&format!("CN={name},O=Fleet")).ca(None),
    );
    Ca { key, cert }
}

/// The fleet's root CA, shared by the tests.
fn fleet() -> &'static Ca {
    static CA: OnceLock<Ca> = OnceLock::new();
    CA.get_or_init(|| root("Fleet Root"))
}

fn device_key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(ec_key)
}

/// A client certificate (clientAuth) for `subject` with `sans`, issued by the fleet root.
fn device(subject: &str, sans: &[San]) -> CertChain {
    let b = CertificateBuilder::new(subject)
        .extended_key_usage(&[ExtendedKeyUsage::ClientAuth])
        .sans(sans.iter().cloned());
    fleet().issue(device_key(), b)
}

/// `leaf` followed by the CA certificates, as a verified path (leaf first).
fn path(leaf: &CertChain, cas: &[&Ca]) -> CertChain {
    let mut p = leaf.clone();
    for ca in cas {
        p.push_der(ca.cert().der()).unwrap();
    }
    p
}

fn eval(policy: &ClientPolicy, chain: &CertChain) -> Result<AllowRule, Vec<String>> {
    let refs: Vec<CertRef<'_>> = chain.iter().collect();
    policy.evaluate(&refs)
}

/// Evaluate `leaf` issued by the fleet root (path leaf, root).
fn eval_fleet(policy: &ClientPolicy, leaf: &CertChain) -> Result<AllowRule, Vec<String>> {
    eval(policy, &path(leaf, &[fleet()]))
}

fn rejected(r: Result<AllowRule, Vec<String>>) -> String {
    match r {
        Ok(rule) => panic!("accepted by {rule:?}"),
        Err(why) => why.join(" | "),
    }
}

fn email(e: &str) -> CertChain {
    device("CN=device", &[San::Email(e.into())])
}

fn uri(u: &str) -> CertChain {
    device("CN=device", &[San::Uri(u.into())])
}

fn dns(d: &str) -> CertChain {
    device("CN=device", &[San::Dns(d.into())])
}

// ---- requirements ------------------------------------------------------------------------

#[test]
fn client_auth_is_required_by_default() {
    let policy = ClientPolicy::builder()
        .allow_subject_cn("device-1")
        .build()
        .unwrap();
    let good = device("CN=device-1", &[]);
    assert_eq!(eval_fleet(&policy, &good), Ok(AllowRule::SubjectCn(0)));

    let server = fleet().issue(
        device_key(),
        CertificateBuilder::new("CN=device-1").extended_key_usage(&[ExtendedKeyUsage::ServerAuth]),
    );
    assert_eq!(
        eval_fleet(&policy, &server),
        Err(vec![
            "extended key usage: clientAuth required, certificate has serverAuth".to_string()
        ])
    );

    // anyExtendedKeyUsage does not stand in for clientAuth.
    let any = fleet().issue(
        device_key(),
        CertificateBuilder::new("CN=device-1").extended_key_usage(&[ExtendedKeyUsage::Any]),
    );
    assert_eq!(
        rejected(eval_fleet(&policy, &any)),
        "extended key usage: clientAuth required, certificate has anyExtendedKeyUsage"
    );
}

#[test]
fn missing_eku_is_rejected_unless_allowed() {
    let no_eku = fleet().issue(device_key(), CertificateBuilder::new("CN=device-1"));
    let strict = ClientPolicy::builder()
        .allow_subject_cn("device-1")
        .build()
        .unwrap();
    assert_eq!(
        rejected(eval_fleet(&strict, &no_eku)),
        "extended key usage: clientAuth required, certificate has no extendedKeyUsage extension \
         (allow_missing_eku is not set)"
    );
    let lenient = ClientPolicy::builder()
        .allow_subject_cn("device-1")
        .allow_missing_eku(true)
        .build()
        .unwrap();
    assert_eq!(eval_fleet(&lenient, &no_eku), Ok(AllowRule::SubjectCn(0)));
    // allow_missing_eku does not excuse an extension that lacks the purpose.
    let server = fleet().issue(
        device_key(),
        CertificateBuilder::new("CN=device-1").extended_key_usage(&[ExtendedKeyUsage::ServerAuth]),
    );
    assert!(eval_fleet(&lenient, &server).is_err());
}

#[test]
fn require_eku_replaces_the_default_and_needs_every_purpose() {
    let oid = ExtendedKeyUsage::from_name("1.3.6.1.4.1.99999.1").unwrap();
    let both = fleet().issue(
        device_key(),
        CertificateBuilder::new("CN=gw")
            .extended_key_usage(&[ExtendedKeyUsage::ServerAuth, oid.clone()]),
    );
    let server_only = ClientPolicy::builder()
        .require_eku([ExtendedKeyUsage::ServerAuth])
        .allow_subject_cn("gw")
        .build()
        .unwrap();
    assert_eq!(eval_fleet(&server_only, &both), Ok(AllowRule::SubjectCn(0)));
    assert!(eval_fleet(&server_only, &device("CN=gw", &[])).is_err());

    let two = ClientPolicy::builder()
        .require_eku([ExtendedKeyUsage::ClientAuth, oid])
        .allow_subject_cn("gw")
        .build()
        .unwrap();
    assert_eq!(
        rejected(eval_fleet(&two, &both)),
        "extended key usage: clientAuth and 1.3.6.1.4.1.99999.1 required, certificate has serverAuth, \
         1.3.6.1.4.1.99999.1"
    );
}

#[test]
fn a_ca_leaf_is_rejected() {
    let policy = ClientPolicy::builder()
        .allow_subject_cn("device-1")
        .build()
        .unwrap();
    let ca_leaf = fleet().issue(
        device_key(),
        CertificateBuilder::new("CN=device-1")
            .ca(None)
            .extended_key_usage(&[ExtendedKeyUsage::ClientAuth]),
    );
    assert_eq!(
        rejected(eval_fleet(&policy, &ca_leaf)),
        "basic constraints: the leaf is a CA certificate (cA=TRUE)"
    );
    // A basicConstraints that mbedTLS 3.6.5 would read as cA=TRUE (SEQUENCE { INTEGER 5 }).
    let forged = fleet().issue(
        device_key(),
        CertificateBuilder::new("CN=device-1")
            .extended_key_usage(&[ExtendedKeyUsage::ClientAuth])
            .raw_extension("2.5.29.19", true, vec![0x30, 0x03, 0x02, 0x01, 0x05]),
    );
    assert!(
        rejected(eval_fleet(&policy, &forged))
            .starts_with("basic constraints: the leaf's extensions are malformed")
    );
    // An explicit basicConstraints with cA absent is a leaf.
    let explicit = fleet().issue(
        device_key(),
        CertificateBuilder::new("CN=device-1")
            .basic_constraints_leaf()
            .extended_key_usage(&[ExtendedKeyUsage::ClientAuth]),
    );
    assert_eq!(eval_fleet(&policy, &explicit), Ok(AllowRule::SubjectCn(0)));
}

#[test]
fn max_chain_depth_counts_cas_above_the_leaf() {
    let int = intermediate(fleet(), "Fleet Devices");
    let leaf = int.issue(
        device_key(),
        CertificateBuilder::new("CN=device-1").extended_key_usage(&[ExtendedKeyUsage::ClientAuth]),
    );
    let chain = path(&leaf, &[&int, fleet()]);
    let one = ClientPolicy::builder()
        .allow_subject_cn("device-1")
        .max_chain_depth(1)
        .build()
        .unwrap();
    assert_eq!(
        rejected(eval(&one, &chain)),
        "chain depth: at most 1 allowed (max_chain_depth), the chain has depth 2 (3 certificates)"
    );
    let two = ClientPolicy::builder()
        .allow_subject_cn("device-1")
        .max_chain_depth(2)
        .build()
        .unwrap();
    assert_eq!(eval(&two, &chain), Ok(AllowRule::SubjectCn(0)));
    assert_eq!(
        eval_fleet(&one, &device("CN=device-1", &[])),
        Ok(AllowRule::SubjectCn(0))
    );
}

#[test]
fn minimum_key_sizes_apply_to_every_certificate() {
    let leaf = device("CN=device-1", &[]);
    let p256 = ClientPolicy::builder()
        .allow_subject_cn("device-1")
        .min_ec_bits(256)
        .build()
        .unwrap();
    assert_eq!(eval_fleet(&p256, &leaf), Ok(AllowRule::SubjectCn(0)));
    let p384 = ClientPolicy::builder()
        .allow_subject_cn("device-1")
        .min_ec_bits(384)
        .build()
        .unwrap();
    let why = eval_fleet(&p384, &leaf).unwrap_err();
    assert_eq!(why.len(), 2, "{why:?}");
    assert_eq!(
        why[0],
        "EC key size: at least 384 bits required (min_ec_bits), the certificate at depth 0 has 256 bits (P256)"
    );
    assert!(why[1].contains("at depth 1 has 256 bits"), "{why:?}");

    // A P-384 leaf under a P-256 root: the root still fails.
    let big = fleet().issue(
        &PrivateKey::generate(KeyType::EcdsaP384).unwrap(),
        CertificateBuilder::new("CN=device-1").extended_key_usage(&[ExtendedKeyUsage::ClientAuth]),
    );
    let why = eval_fleet(&p384, &big).unwrap_err();
    assert_eq!(why.len(), 1, "{why:?}");
    assert!(why[0].contains("at depth 1"));

    // RSA: the minimum is for RSA keys only.
    let rsa = fleet().issue(
        &PrivateKey::generate(KeyType::Rsa(2048)).unwrap(),
        CertificateBuilder::new("CN=device-1").extended_key_usage(&[ExtendedKeyUsage::ClientAuth]),
    );
    let rsa2048 = ClientPolicy::builder()
        .allow_subject_cn("device-1")
        .min_rsa_bits(2048)
        .build()
        .unwrap();
    assert_eq!(eval_fleet(&rsa2048, &rsa), Ok(AllowRule::SubjectCn(0)));
    let rsa3072 = ClientPolicy::builder()
        .allow_subject_cn("device-1")
        .min_rsa_bits(3072)
        .build()
        .unwrap();
    assert_eq!(
        rejected(eval_fleet(&rsa3072, &rsa)),
        "RSA key size: at least 3072 bits required (min_rsa_bits), the certificate at depth 0 has 2048 bits"
    );
    assert_eq!(
        eval_fleet(&rsa3072, &leaf),
        Ok(AllowRule::SubjectCn(0)),
        "EC keys are not RSA keys"
    );
}

#[test]
fn signature_algorithms_apply_below_the_trust_anchor() {
    let sha256 = device("CN=device-1", &[]);
    let sha384 = fleet().issue(
        device_key(),
        CertificateBuilder::new("CN=device-1")
            .extended_key_usage(&[ExtendedKeyUsage::ClientAuth])
            .hash(HashAlgorithm::Sha384),
    );
    let only384 = ClientPolicy::builder()
        .allow_subject_cn("device-1")
        .signature_algorithms([SignatureAlgorithm::from_name("ecdsa-sha384").unwrap()])
        .build()
        .unwrap();
    // The root's own (self-)signature is ecdsa-sha256 and is not checked.
    assert_eq!(eval_fleet(&only384, &sha384), Ok(AllowRule::SubjectCn(0)));
    assert_eq!(
        rejected(eval_fleet(&only384, &sha256)),
        "signature algorithm: the certificate at depth 0 is signed with ecdsa-sha256, allowed: ecdsa-sha384"
    );
    // An intermediate's signature is checked.
    let int = intermediate(fleet(), "Fleet Devices"); // signed ecdsa-sha256 by the root
    let leaf = int.issue(
        device_key(),
        CertificateBuilder::new("CN=device-1")
            .extended_key_usage(&[ExtendedKeyUsage::ClientAuth])
            .hash(HashAlgorithm::Sha384),
    );
    let why = eval(&only384, &path(&leaf, &[&int, fleet()])).unwrap_err();
    assert_eq!(why.len(), 1);
    assert!(
        why[0].contains("at depth 1 is signed with ecdsa-sha256"),
        "{why:?}"
    );
}

#[test]
fn deny_serial_matches_issuer_key_and_serial() {
    let leaf = fleet().issue(
        device_key(),
        CertificateBuilder::new("CN=device-1")
            .serial(&[0x8A, 0x02])
            .extended_key_usage(&[ExtendedKeyUsage::ClientAuth]),
    );
    assert_eq!(leaf.first().unwrap().serial(), [0x00, 0x8A, 0x02]);
    let deny = |issuer: [u8; 32], serial: &[u8]| {
        ClientPolicy::builder()
            .allow_subject_cn("device-1")
            .deny_serial(issuer, serial)
            .build()
            .unwrap()
    };
    assert_eq!(
        rejected(eval_fleet(
            &deny(fleet().spki(), &[0x00, 0x00, 0x8A, 0x02]),
            &leaf
        )),
        format!(
            "denied serial: the certificate at depth 0 (serial 8a02) issued by the key {} is listed in deny_serial",
            mbedtls_verify::x509::to_hex(&fleet().spki())
        )
    );
    // The same serial from another CA, or another serial: not denied.
    assert!(eval_fleet(&deny([7; 32], &[0x8A, 0x02]), &leaf).is_ok());
    assert!(eval_fleet(&deny(fleet().spki(), &[0x8A, 0x03]), &leaf).is_ok());

    // A denied intermediate (by the root's key and its serial) stops its whole branch.
    let int = intermediate(fleet(), "Fleet Devices");
    let below = int.issue(
        device_key(),
        CertificateBuilder::new("CN=device-1").extended_key_usage(&[ExtendedKeyUsage::ClientAuth]),
    );
    let p = deny(fleet().spki(), int.cert().serial());
    assert!(
        rejected(eval(&p, &path(&below, &[&int, fleet()]))).contains("the certificate at depth 1")
    );
}

// ---- pins --------------------------------------------------------------------------------

#[test]
fn issuer_pins_match_cas_above_the_leaf_never_the_leaf() {
    let int = intermediate(fleet(), "Fleet Devices");
    let leaf = int.issue(
        device_key(),
        CertificateBuilder::new("CN=device-1").extended_key_usage(&[ExtendedKeyUsage::ClientAuth]),
    );
    let chain = path(&leaf, &[&int, fleet()]);
    let pinned = |pin: [u8; 32]| {
        ClientPolicy::builder()
            .allow_any_verified(true)
            .allow_issuer_spki_sha256(pin)
            .build()
            .unwrap()
    };
    assert_eq!(
        eval(&pinned(int.spki()), &chain),
        Ok(AllowRule::AnyVerified)
    );
    assert_eq!(
        eval(&pinned(fleet().spki()), &chain),
        Ok(AllowRule::AnyVerified)
    );
    let other = root("Other Root");
    assert_eq!(
        rejected(eval(&pinned(other.spki()), &chain)),
        "issuer pin: no CA certificate above the leaf has a key listed in allow_issuer_spki_sha256"
    );
    // An issuer pin of the leaf's own key does not match the leaf.
    let leaf_spki = leaf.first().unwrap().spki_sha256();
    assert!(eval(&pinned(leaf_spki), &chain).is_err());
    // Nor a self-signed leaf that is its own trust anchor.
    let alone = CertificateBuilder::new("CN=device-1")
        .extended_key_usage(&[ExtendedKeyUsage::ClientAuth])
        .self_signed(device_key())
        .unwrap();
    assert!(eval(&pinned(leaf_spki), &alone).is_err());
    // Several issuer pins: any one suffices.
    let either = ClientPolicy::builder()
        .allow_subject_cn("device-1")
        .allow_issuer_spki_sha256(other.spki())
        .allow_issuer_spki_sha256(int.spki())
        .build()
        .unwrap();
    assert_eq!(eval(&either, &chain), Ok(AllowRule::SubjectCn(0)));
}

#[test]
fn leaf_pins_match_the_leaf_never_an_issuer() {
    let leaf = device("CN=device-1", &[]);
    let leaf_pin = leaf.first().unwrap().spki_sha256();
    let p = ClientPolicy::builder()
        .allow_spki_sha256([1; 32])
        .allow_spki_sha256(leaf_pin)
        .build()
        .unwrap();
    assert_eq!(eval_fleet(&p, &leaf), Ok(AllowRule::SpkiPin(1)));
    // The pin survives renewal: a new certificate for the same key, another subject.
    let renewed = device(
        "CN=device-1-renewed",
        &[San::Dns("d1.fleet.example".into())],
    );
    assert_eq!(eval_fleet(&p, &renewed), Ok(AllowRule::SpkiPin(1)));
    // Another key: rejected.
    let other = fleet().issue(
        &ec_key(),
        CertificateBuilder::new("CN=device-1").extended_key_usage(&[ExtendedKeyUsage::ClientAuth]),
    );
    assert!(rejected(eval_fleet(&p, &other)).starts_with("allow rules: none matched the leaf"));
    // A leaf pin of the issuer's key never matches (the chain passes through it, but the
    // leaf is someone else).
    let ca_pin = ClientPolicy::builder()
        .allow_spki_sha256(fleet().spki())
        .build()
        .unwrap();
    assert!(eval_fleet(&ca_pin, &leaf).is_err());
}

// ---- allow rules ---------------------------------------------------------------------------

#[test]
fn email_domain_is_exact_and_case_insensitive() {
    let p = ClientPolicy::builder()
        .allow_email_domain("fleet.example")
        .build()
        .unwrap();
    for ok in [
        "alice@fleet.example",
        "Bob@FLEET.Example",
        "\"a@b\"@fleet.example",
    ] {
        assert_eq!(
            eval_fleet(&p, &email(ok)),
            Ok(AllowRule::EmailDomain(0)),
            "{ok}"
        );
    }
    for bad in [
        "mallory@evil-fleet.example",
        "mallory@sub.fleet.example",
        "mallory@fleet.example.evil",
        "mallory@fleet.examplex",
        "fleet.example",
        "@fleet.example",
        "mallory@fleet.example@evil.example",
    ] {
        assert!(
            rejected(eval_fleet(&p, &email(bad))).starts_with("allow rules: none matched"),
            "{bad}"
        );
    }
    // Upper case in the policy is normalized.
    let upper = ClientPolicy::builder()
        .allow_email_domain("Fleet.EXAMPLE")
        .build()
        .unwrap();
    assert_eq!(
        eval_fleet(&upper, &email("carol@fleet.example")),
        Ok(AllowRule::EmailDomain(0))
    );
    // A DNS SAN with the domain is not an email.
    assert!(eval_fleet(&p, &dns("fleet.example")).is_err());
}

#[test]
fn email_address_is_exact_with_a_case_insensitive_domain() {
    let p = ClientPolicy::builder()
        .allow_email("alice@fleet.example")
        .allow_email("Bob@fleet.example")
        .build()
        .unwrap();
    assert_eq!(
        eval_fleet(&p, &email("alice@FLEET.example")),
        Ok(AllowRule::Email(0))
    );
    assert_eq!(
        eval_fleet(&p, &email("Bob@fleet.example")),
        Ok(AllowRule::Email(1))
    );
    assert!(
        eval_fleet(&p, &email("bob@fleet.example")).is_err(),
        "the local part is exact"
    );
    assert!(eval_fleet(&p, &email("alice@fleet.example.evil")).is_err());
    // Any of several SAN emails may match.
    let two = device(
        "CN=x",
        &[
            San::Email("nobody@else.example".into()),
            San::Email("alice@fleet.example".into()),
        ],
    );
    assert_eq!(eval_fleet(&p, &two), Ok(AllowRule::Email(0)));
}

#[test]
fn uri_prefix_needs_the_whole_segment() {
    let p = ClientPolicy::builder()
        .allow_uri_prefix("spiffe://fleet.example/device/")
        .build()
        .unwrap();
    for ok in [
        "spiffe://fleet.example/device/17",
        "spiffe://fleet.example/device/a/b",
        "spiffe://fleet.example/device/x?y",
    ] {
        assert_eq!(
            eval_fleet(&p, &uri(ok)),
            Ok(AllowRule::UriPrefix(0)),
            "{ok}"
        );
    }
    for bad in [
        "spiffe://fleet.example/device",
        "spiffe://fleet.example/device-evil/1",
        "spiffe://fleet.example/devices/1",
        "spiffe://fleet.example.evil/device/1",
        "spiffe://evil.example/spiffe://fleet.example/device/1",
        "SPIFFE://fleet.example/device/1",
        "spiffe://fleet.example/DEVICE/1",
        "spiffe://fleet.example/device/../admin",
        "spiffe://fleet.example/device/%2e%2E/admin",
        "spiffe://fleet.example/device/..%2Fadmin",
        "spiffe://fleet.example/device/.",
    ] {
        assert!(eval_fleet(&p, &uri(bad)).is_err(), "{bad}");
    }
    // Prefixes of many lengths, hashed: the longest one that matches is found too.
    let many = ClientPolicy::builder()
        .allow_uri_prefix("spiffe://other.example/")
        .allow_uri_prefix("spiffe://fleet.example/site/3/device/")
        .build()
        .unwrap();
    assert_eq!(
        eval_fleet(&many, &uri("spiffe://fleet.example/site/3/device/9")),
        Ok(AllowRule::UriPrefix(1))
    );
    assert!(eval_fleet(&many, &uri("spiffe://fleet.example/site/4/device/9")).is_err());
}

#[test]
fn uri_exact() {
    let p = ClientPolicy::builder()
        .allow_uri("urn:fleet:device:17")
        .build()
        .unwrap();
    assert_eq!(
        eval_fleet(&p, &uri("urn:fleet:device:17")),
        Ok(AllowRule::Uri(0))
    );
    for bad in [
        "urn:fleet:device:170",
        "urn:fleet:device:1",
        "URN:fleet:device:17",
    ] {
        assert!(eval_fleet(&p, &uri(bad)).is_err(), "{bad}");
    }
}

#[test]
fn dns_names_are_exact_and_never_wildcards() {
    let p = ClientPolicy::builder()
        .allow_dns("gw.fleet.example")
        .build()
        .unwrap();
    assert_eq!(
        eval_fleet(&p, &dns("GW.Fleet.example")),
        Ok(AllowRule::Dns(0))
    );
    assert!(
        eval_fleet(&p, &dns("*.fleet.example")).is_err(),
        "a wildcard certificate"
    );
    assert!(eval_fleet(&p, &dns("x.gw.fleet.example")).is_err());

    let star = ClientPolicy::builder()
        .allow_dns("*.fleet.example")
        .build()
        .unwrap();
    assert!(
        eval_fleet(&star, &dns("gw.fleet.example")).is_err(),
        "an allowed name is not a wildcard"
    );
    assert_eq!(
        eval_fleet(&star, &dns("*.fleet.example")),
        Ok(AllowRule::Dns(0))
    );
}

#[test]
fn subject_attributes_are_exact() {
    let leaf = device("CN=device-1,OU=Sensors,O=Fleet", &[]);
    let p = |b: mbedtls_verify::policy::ClientPolicyBuilder| b.build().unwrap();
    assert_eq!(
        eval_fleet(
            &p(ClientPolicy::builder().allow_subject_cn("device-1")),
            &leaf
        ),
        Ok(AllowRule::SubjectCn(0))
    );
    assert_eq!(
        eval_fleet(&p(ClientPolicy::builder().allow_subject_o("Fleet")), &leaf),
        Ok(AllowRule::SubjectO(0))
    );
    assert_eq!(
        eval_fleet(
            &p(ClientPolicy::builder().allow_subject_ou("Sensors")),
            &leaf
        ),
        Ok(AllowRule::SubjectOu(0))
    );
    for b in [
        ClientPolicy::builder().allow_subject_cn("Device-1"),
        ClientPolicy::builder().allow_subject_cn("device"),
        ClientPolicy::builder().allow_subject_o("fleet"),
        ClientPolicy::builder().allow_subject_ou("Sensors "),
        // The O value is not a CN.
        ClientPolicy::builder().allow_subject_cn("Fleet"),
    ] {
        assert!(eval_fleet(&p(b), &leaf).is_err());
    }
}

#[test]
fn without_allow_rules_nothing_is_admitted() {
    let leaf = device("CN=device-1", &[San::Email("a@fleet.example".into())]);
    assert_eq!(
        eval_fleet(&ClientPolicy::default(), &leaf),
        Err(vec![
            "allow rules: the policy has none, so it admits nothing (set allow_any_verified to admit every \
             verified chain that meets the requirements)"
                .to_string()
        ])
    );
    assert!(eval_fleet(&ClientPolicy::builder().build().unwrap(), &leaf).is_err());
    let any = ClientPolicy::builder()
        .allow_any_verified(true)
        .build()
        .unwrap();
    assert_eq!(eval_fleet(&any, &leaf), Ok(AllowRule::AnyVerified));
    assert_eq!(
        any.describe(AllowRule::AnyVerified),
        "allow_any_verified = true"
    );
    // allow_any_verified does not lift the requirements.
    let no_eku = fleet().issue(device_key(), CertificateBuilder::new("CN=device-1"));
    assert!(eval_fleet(&any, &no_eku).is_err());
}

#[test]
fn every_failure_is_reported() {
    let int = intermediate(fleet(), "Fleet Devices");
    let leaf = int.issue(
        device_key(),
        CertificateBuilder::new("CN=intruder")
            .ca(None)
            .extended_key_usage(&[ExtendedKeyUsage::ServerAuth])
            .san(San::Email("intruder@evil.example".into())),
    );
    let p = ClientPolicy::builder()
        .allow_email_domain("fleet.example")
        .max_chain_depth(1)
        .min_ec_bits(384)
        .allow_issuer_spki_sha256([9; 32])
        .build()
        .unwrap();
    let why = eval(&p, &path(&leaf, &[&int, fleet()])).unwrap_err();
    let starts: Vec<&str> = why.iter().map(|w| w.split(':').next().unwrap()).collect();
    assert_eq!(
        starts,
        [
            "extended key usage",
            "basic constraints",
            "chain depth",
            "EC key size",
            "EC key size",
            "EC key size",
            "issuer pin",
            "allow rules"
        ],
        "{why:#?}"
    );
    let last = why.last().unwrap();
    assert!(
        last.contains("subject CN=intruder") && last.contains("email:intruder@evil.example"),
        "{last}"
    );
}

#[test]
fn the_first_matching_rule_kind_is_reported() {
    let leaf = device(
        "CN=device-1",
        &[
            San::Dns("d1.fleet.example".into()),
            San::Email("d1@fleet.example".into()),
        ],
    );
    let p = ClientPolicy::builder()
        .allow_subject_cn("device-1")
        .allow_dns("d1.fleet.example")
        .allow_email_domain("fleet.example")
        .allow_spki_sha256(leaf.first().unwrap().spki_sha256())
        .build()
        .unwrap();
    let rule = eval_fleet(&p, &leaf).unwrap();
    assert_eq!(rule, AllowRule::EmailDomain(0));
    assert_eq!(p.describe(rule), "allow_email_domain = \"fleet.example\"");
}

#[test]
fn large_allow_lists() {
    let mut b = ClientPolicy::builder();
    for i in 0..1000 {
        b = b
            .allow_email(&format!("device-{i}@fleet.example"))
            .allow_uri(&format!("spiffe://fleet.example/device/{i}"))
            .allow_dns(&format!("device-{i}.fleet.example"))
            .allow_spki_sha256([(i % 251) as u8; 32]);
    }
    let p = b.build().unwrap();
    assert_eq!(
        eval_fleet(&p, &email("device-999@fleet.example")),
        Ok(AllowRule::Email(999))
    );
    assert_eq!(
        eval_fleet(&p, &uri("spiffe://fleet.example/device/500")),
        Ok(AllowRule::Uri(500))
    );
    assert_eq!(
        eval_fleet(&p, &dns("DEVICE-7.fleet.example")),
        Ok(AllowRule::Dns(7))
    );
    assert!(eval_fleet(&p, &dns("device-1000.fleet.example")).is_err());
}

#[test]
fn accepting_allocates_nothing() {
    let leaf_pin = device("CN=x", &[]).first().unwrap().spki_sha256();
    let p = ClientPolicy::builder()
        .allow_email("ops@fleet.example")
        .allow_email_domain("devices.fleet.example")
        .allow_uri("urn:fleet:admin")
        .allow_uri_prefix("spiffe://fleet.example/device/")
        .allow_dns("gw.fleet.example")
        .allow_subject_cn("bootstrap")
        .allow_subject_o("Fleet Ops")
        .allow_subject_ou("Gateways")
        .allow_spki_sha256(leaf_pin)
        .allow_issuer_spki_sha256(fleet().spki())
        .deny_serial(fleet().spki(), &[1])
        .max_chain_depth(2)
        .min_ec_bits(256)
        .min_rsa_bits(2048)
        .signature_algorithms([SignatureAlgorithm::EcdsaSha256])
        .build()
        .unwrap();
    // Every device() certificate has device_key(), so the pin matches when nothing earlier does.
    let cases = [
        (email("ops@FLEET.example"), AllowRule::Email(0)),
        (email("d1@Devices.Fleet.Example"), AllowRule::EmailDomain(0)),
        (uri("urn:fleet:admin"), AllowRule::Uri(0)),
        (
            uri("spiffe://fleet.example/device/1"),
            AllowRule::UriPrefix(0),
        ),
        (dns("GW.fleet.example"), AllowRule::Dns(0)),
        (device("CN=bootstrap", &[]), AllowRule::SubjectCn(0)),
        (device("CN=x,O=Fleet Ops", &[]), AllowRule::SubjectO(0)),
        (device("CN=x,OU=Gateways", &[]), AllowRule::SubjectOu(0)),
        (email("OPS@fleet.example"), AllowRule::SpkiPin(0)),
    ];
    for (leaf, rule) in &cases {
        let chain = path(leaf, &[fleet()]);
        let refs: Vec<CertRef<'_>> = chain.iter().collect();
        let before = allocations();
        for _ in 0..10 {
            assert_eq!(p.evaluate(&refs), Ok(*rule));
        }
        assert_eq!(allocations() - before, 0, "{rule:?}");
    }
}

// ---- through the offline verifier -----------------------------------------------------------

#[test]
fn the_verifier_decides_as_evaluate_does() {
    let int = intermediate(fleet(), "Fleet Devices");
    let policy = || {
        ClientPolicy::builder()
            .allow_uri_prefix("spiffe://fleet.example/device/")
            .allow_subject_ou("Gateways")
            .allow_issuer_spki_sha256(int.spki())
            .max_chain_depth(2)
            .build()
            .unwrap()
    };
    let direct = policy();
    let verifier =
        Verifier::new(Trust::anchors(fleet().cert.clone()).unwrap()).with_policy(policy());
    let issue = |b: CertificateBuilder| int.issue(device_key(), b);
    let leaves = [
        issue(
            CertificateBuilder::new("CN=d1")
                .extended_key_usage(&[ExtendedKeyUsage::ClientAuth])
                .san(San::Uri("spiffe://fleet.example/device/1".into())),
        ),
        issue(
            CertificateBuilder::new("CN=gw,OU=Gateways")
                .extended_key_usage(&[ExtendedKeyUsage::ClientAuth]),
        ),
        issue(
            CertificateBuilder::new("CN=web").extended_key_usage(&[ExtendedKeyUsage::ServerAuth]),
        ),
        issue(
            CertificateBuilder::new("CN=d2")
                .extended_key_usage(&[ExtendedKeyUsage::ClientAuth])
                .san(San::Uri("spiffe://fleet.example/devices/2".into())),
        ),
    ];
    let mut outcomes = Vec::new();
    for leaf in &leaves {
        // The peer sends its certificate and the intermediate; the root is trusted.
        let sent = path(leaf, &[&int]);
        let expected = eval(&direct, &path(leaf, &[&int, fleet()]));
        match verifier.verify(&sent) {
            Ok(v) => {
                assert_eq!(v.chain().len(), 3);
                assert_eq!(Ok(v.authorized_by().unwrap()), expected);
                assert_eq!(eval(&direct, v.chain()), expected);
                outcomes.push(true);
            }
            Err(e) => {
                let policy_reasons: Vec<&Reason> = e
                    .reasons
                    .iter()
                    .filter(|r| matches!(r, Reason::Policy(_)))
                    .collect();
                assert_eq!(
                    policy_reasons,
                    [&Reason::Policy(expected.clone().unwrap_err())],
                    "{e}"
                );
                outcomes.push(false);
            }
        }
    }
    assert_eq!(outcomes, [true, true, false, false]);

    // A chain through another CA is rejected by mbedTLS before the policy runs.
    let other = root("Other Root");
    let stranger = other.issue(
        device_key(),
        CertificateBuilder::new("CN=gw,OU=Gateways")
            .extended_key_usage(&[ExtendedKeyUsage::ClientAuth]),
    );
    let e = verifier.verify(&stranger).unwrap_err();
    assert!(
        !e.reasons.iter().any(|r| matches!(r, Reason::Policy(_))),
        "{e}"
    );
}

// ---- the policy file -------------------------------------------------------------------------

#[cfg(feature = "config")]
mod file {
    use super::*;
    use mbedtls_verify::policy::PolicyFileError;
    use mbedtls_verify::x509::to_hex;

    fn err(text: &str) -> PolicyFileError {
        match ClientPolicy::from_toml_str(text) {
            Ok(p) => panic!("accepted: {p:?}"),
            Err(e) => e,
        }
    }

    const PIN: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    #[test]
    fn a_full_file_decides_like_the_builder() {
        let int = intermediate(fleet(), "Fleet Devices");
        let colon_pin: Vec<String> = int.spki().iter().map(|b| format!("{b:02X}")).collect();
        let text = format!(
            r#"
# Who may connect to the fleet gateway.
require_eku = ["clientAuth"]
allow_missing_eku = false
allow_email = ["ops@fleet.example"]
allow_email_domain = ["devices.fleet.example"]
allow_uri = ["urn:fleet:admin"]
allow_uri_prefix = ["spiffe://fleet.example/device/"]
allow_dns = ["gw.fleet.example"]
allow_subject_cn = ["bootstrap"]
allow_subject_o = ["Fleet Ops"]
allow_subject_ou = ["Gateways"]
allow_spki_sha256 = ["{PIN}"]
allow_issuer_spki_sha256 = ["{}"]
deny_serial = [
  {{ issuer_spki_sha256 = "{}", serial = "0bad" }},
]
max_chain_depth = 2
min_rsa_bits = 2048
min_ec_bits = 256
signature_algorithms = ["ecdsa-sha256", "ecdsa-sha384", "rsa-pss-sha256"]
"#,
            colon_pin.join(":"),
            to_hex(&int.spki()),
        );
        let from_file = ClientPolicy::from_toml_str(&text).unwrap();
        assert_eq!(from_file.allow_rule_count(), 9);

        let issue = |b: CertificateBuilder| path(&int.issue(device_key(), b), &[&int, fleet()]);
        let client =
            || CertificateBuilder::new("CN=x").extended_key_usage(&[ExtendedKeyUsage::ClientAuth]);
        let cases = [
            (
                issue(client().san(San::Email("OPS@fleet.example".into()))),
                None,
            ),
            (
                issue(client().san(San::Email("ops@FLEET.example".into()))),
                Some(AllowRule::Email(0)),
            ),
            (
                issue(client().san(San::Email("d9@devices.fleet.example".into()))),
                Some(AllowRule::EmailDomain(0)),
            ),
            (
                issue(client().san(San::Email("d9@fleet.example".into()))),
                None,
            ),
            (
                issue(client().san(San::Uri("urn:fleet:admin".into()))),
                Some(AllowRule::Uri(0)),
            ),
            (
                issue(client().san(San::Uri("spiffe://fleet.example/device/9".into()))),
                Some(AllowRule::UriPrefix(0)),
            ),
            (
                issue(client().san(San::Dns("gw.fleet.example".into()))),
                Some(AllowRule::Dns(0)),
            ),
            (
                issue(
                    CertificateBuilder::new("CN=bootstrap")
                        .extended_key_usage(&[ExtendedKeyUsage::ClientAuth]),
                ),
                Some(AllowRule::SubjectCn(0)),
            ),
            (
                issue(
                    CertificateBuilder::new("CN=x,O=Fleet Ops")
                        .extended_key_usage(&[ExtendedKeyUsage::ClientAuth]),
                ),
                Some(AllowRule::SubjectO(0)),
            ),
            (
                issue(
                    CertificateBuilder::new("CN=x,OU=Gateways")
                        .extended_key_usage(&[ExtendedKeyUsage::ClientAuth]),
                ),
                Some(AllowRule::SubjectOu(0)),
            ),
            (
                issue(
                    client()
                        .serial(&[0x0B, 0xAD])
                        .san(San::Dns("gw.fleet.example".into())),
                ),
                None,
            ),
            (issue(CertificateBuilder::new("CN=bootstrap")), None),
            (path(&device("CN=bootstrap", &[]), &[fleet()]), None),
        ];
        for (i, (chain, expected)) in cases.iter().enumerate() {
            let got = eval(&from_file, chain);
            assert_eq!(got.as_ref().ok().copied(), *expected, "case {i}: {got:?}");
        }
        assert!(
            rejected(eval(&from_file, &cases[10].0))
                .starts_with("denied serial: the certificate at depth 0 (serial 0bad)")
        );
        assert!(rejected(eval(&from_file, &cases[12].0)).starts_with("issuer pin:"));
        assert_eq!(
            from_file.describe(AllowRule::SpkiPin(0)),
            format!("allow_spki_sha256 = \"{PIN}\"")
        );

        // The same rules through the builder decide the same.
        let built = ClientPolicy::builder()
            .allow_email("ops@fleet.example")
            .allow_email_domain("devices.fleet.example")
            .allow_uri("urn:fleet:admin")
            .allow_uri_prefix("spiffe://fleet.example/device/")
            .allow_dns("gw.fleet.example")
            .allow_subject_cn("bootstrap")
            .allow_subject_o("Fleet Ops")
            .allow_subject_ou("Gateways")
            .allow_issuer_spki_sha256(int.spki())
            .deny_serial(int.spki(), &[0x0B, 0xAD])
            .max_chain_depth(2)
            .min_rsa_bits(2048)
            .min_ec_bits(256)
            .build()
            .unwrap();
        for (chain, _) in &cases {
            assert_eq!(eval(&built, chain).is_ok(), eval(&from_file, chain).is_ok());
        }

        // And through the offline verifier.
        let verifier =
            Verifier::new(Trust::anchors(fleet().cert.clone()).unwrap()).with_policy(from_file);
        let sent = path(
            &int.issue(
                device_key(),
                client().san(San::Uri("spiffe://fleet.example/device/3".into())),
            ),
            &[&int],
        );
        assert_eq!(
            verifier.verify(&sent).unwrap().authorized_by(),
            Some(AllowRule::UriPrefix(0))
        );
    }

    #[test]
    fn an_empty_file_admits_nothing() {
        let p = ClientPolicy::from_toml_str("# nothing\n").unwrap();
        assert_eq!(p.allow_rule_count(), 0);
        assert!(eval_fleet(&p, &device("CN=device-1", &[])).is_err());
        let any = ClientPolicy::from_toml_str("allow_any_verified = true").unwrap();
        assert_eq!(
            eval_fleet(&any, &device("CN=device-1", &[])),
            Ok(AllowRule::AnyVerified)
        );
        let server = ClientPolicy::from_toml_str(
            "require_eku = [\"serverAuth\"]\nallow_any_verified = true",
        )
        .unwrap();
        assert!(eval_fleet(&server, &device("CN=device-1", &[])).is_err());
    }

    #[test]
    fn invalid_files_name_the_key() {
        let cases: &[(&str, &str, &str)] = &[
            // (file, key, text in the message)
            (
                "allow_emails = [\"a@b.example\"]",
                "allow_emails",
                "unknown field `allow_emails`",
            ),
            ("[extra]\nx = 1", "extra", "unknown field `extra`"),
            ("require_eku = []", "require_eku", "the list is empty"),
            (
                "require_eku = [\"clientAuthentication\"]",
                "require_eku",
                "\"clientAuthentication\" is not \"clientAuth\"",
            ),
            (
                "require_eku = \"clientAuth\"",
                "require_eku",
                "expected a sequence",
            ),
            (
                "allow_missing_eku = \"yes\"",
                "allow_missing_eku",
                "expected a boolean",
            ),
            (
                "signature_algorithms = []",
                "signature_algorithms",
                "the list is empty",
            ),
            (
                "signature_algorithms = [\"sha1WithRSA\"]",
                "signature_algorithms",
                "\"sha1WithRSA\" is not a signature algorithm",
            ),
            (
                "allow_any_verified = true\nallow_dns = [\"gw.fleet.example\"]",
                "allow_any_verified",
                "cannot be combined with allow rules",
            ),
            (
                "allow_uri_prefix = [\"spiffe://fleet.example/device\"]",
                "allow_uri_prefix",
                "must end in '/'",
            ),
            (
                "allow_uri_prefix = [\"fleet.example/device/\"]",
                "allow_uri_prefix",
                "must start with a scheme",
            ),
            (
                "allow_uri_prefix = [\"urn:fleet:device/\"]",
                "allow_uri_prefix",
                "must have an authority",
            ),
            (
                "allow_uri_prefix = [\"spiffe:///device/\"]",
                "allow_uri_prefix",
                "non-empty authority",
            ),
            (
                "allow_email_domain = [\".fleet.example\"]",
                "allow_email_domain",
                "never its subdomains",
            ),
            (
                "allow_email_domain = [\"*.fleet.example\"]",
                "allow_email_domain",
                "wildcards are not supported",
            ),
            (
                "allow_email = [\"fleet.example\"]",
                "allow_email",
                "needs a local part, '@' and a domain",
            ),
            ("allow_dns = [\"\"]", "allow_dns", "empty"),
            (
                "allow_uri = [\"no scheme\"]",
                "allow_uri",
                "printable ASCII",
            ),
            ("allow_subject_cn = [\"\"]", "allow_subject_cn", "empty"),
            (
                "allow_spki_sha256 = [\"abcd\"]",
                "allow_spki_sha256",
                "\"abcd\" is not a SHA-256 in hex (64 hex digits",
            ),
            (
                "allow_spki_sha256 = [\"zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"]",
                "allow_spki_sha256",
                "is not a SHA-256",
            ),
            (
                "allow_issuer_spki_sha256 = [\"00\"]",
                "allow_issuer_spki_sha256",
                "is not a SHA-256",
            ),
            (
                "deny_serial = [{ issuer_spki_sha256 = \"00\", serial = \"01\" }]",
                "deny_serial[0].issuer_spki_sha256",
                "is not a SHA-256",
            ),
            (
                "deny_serial = [{ issuer_spki_sha256 = \"PIN\", serial = \"xyz\" }]",
                "deny_serial[0].serial",
                "\"xyz\" is not a serial number in hex",
            ),
            (
                "deny_serial = [{ issuer_spki_sha256 = \"PIN\", serial = \"\" }]",
                "deny_serial[0].serial",
                "not a serial number",
            ),
            (
                "deny_serial = [{ issuer_spki_sha256 = \"PIN\" }]",
                "deny_serial.serial",
                "missing field `serial`",
            ),
            (
                "deny_serial = [{ issuer_spki_sha256 = \"PIN\", serial = \"01\", why = \"lost\" }]",
                "deny_serial.why",
                "unknown field `why`",
            ),
            (
                "deny_serial = { issuer_spki_sha256 = \"PIN\", serial = \"01\" }",
                "deny_serial",
                "expected a sequence",
            ),
            (
                "[deny_serial]\nserial = \"01\"",
                "deny_serial",
                "expected a sequence",
            ),
            (
                "max_chain_depth = -1",
                "max_chain_depth",
                "invalid value: integer `-1`, expected u32",
            ),
            (
                "min_rsa_bits = \"2048\"",
                "min_rsa_bits",
                "invalid type: string \"2048\", expected u32",
            ),
            ("min_ec_bits = 256.0", "min_ec_bits", "expected u32"),
            (
                "allow_email = [\n  \"a@fleet.example\",\n  3,\n]",
                "allow_email",
                "invalid type: integer `3`, expected a string (line 3)",
            ),
        ];
        for (text, key, message) in cases {
            let text = text.replace("\"PIN\"", &format!("\"{PIN}\""));
            let e = err(&text);
            assert_eq!(e.key(), Some(*key), "{text}: {e}");
            let shown = e.to_string();
            assert!(
                shown.starts_with(&format!("policy file: `{key}`: ")),
                "{text}: {shown}"
            );
            assert!(shown.contains(message), "{text}: {shown}");
        }
    }

    #[test]
    fn syntax_errors_give_the_position() {
        let e = err("allow_email = [\"a@fleet.example\"\n");
        assert!(
            matches!(e, PolicyFileError::Syntax { line: 2, .. }),
            "{e:?}"
        );
        assert_eq!(e.key(), None);
        let e = err("max_chain_depth = 1\nmax_chain_depth = 2\n");
        assert_eq!(
            e.to_string(),
            "policy file, line 2, column 1: duplicate key `max_chain_depth` in document root"
        );
    }

    /// The README's example file is a valid policy (keeps the two in step).
    #[test]
    fn the_readme_example_file_parses() {
        let readme = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"));
        let start = readme
            .find("```toml\n# clients.toml")
            .expect("the README's policy file")
            + "```toml\n".len();
        let len = readme[start..].find("```").unwrap();
        let p = ClientPolicy::from_toml_str(&readme[start..start + len]).unwrap();
        assert_eq!(p.allow_rule_count(), 3);
        assert_eq!(
            eval_fleet(&p, &uri("spiffe://fleet.example/device/17")),
            Err(vec!["issuer pin: no CA certificate above the leaf has a key listed in allow_issuer_spki_sha256".to_string()])
        );
    }

    #[test]
    fn from_a_file() {
        let dir =
            std::env::temp_dir().join(format!("mbedtls-verify-policy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.toml");
        std::fs::write(
            &good,
            "allow_email_domain = [\"fleet.example\"]\nmin_ec_bits = 256\n",
        )
        .unwrap();
        let p = ClientPolicy::from_toml_file(&good).unwrap();
        assert_eq!(
            eval_fleet(&p, &email("a@fleet.example")),
            Ok(AllowRule::EmailDomain(0))
        );

        let bad = dir.join("bad.toml");
        std::fs::write(
            &bad,
            "allow_email_domain = [\"fleet.example\"]\nmin_ec_bit = 256\n",
        )
        .unwrap();
        let e = ClientPolicy::from_toml_file(&bad).unwrap_err();
        assert_eq!(e.key(), Some("min_ec_bit"));
        assert!(e.to_string().contains("(line 2)"), "{e}");

        let missing = dir.join("missing.toml");
        let e = ClientPolicy::from_toml_file(&missing).unwrap_err();
        assert!(matches!(e, PolicyFileError::Io { .. }));
        assert!(e.to_string().starts_with("cannot read policy file "), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
