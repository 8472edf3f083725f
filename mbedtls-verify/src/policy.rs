//! Client authorization: "is this client one of mine?" — typed rules that fail closed,
//! evaluated on a verified chain (leaf first) identically in the TLS server, the TLS
//! client and the offline verifier.
//!
//! A [`ClientPolicy`] runs **after** mbedTLS verified the chain with no failure flag. It
//! holds two kinds of rules:
//!
//! - **requirements**, which must all hold: the leaf's extended key usages (`clientAuth`
//!   by default), a maximum chain depth, minimum RSA and EC key sizes and allowed
//!   signature algorithms over the chain, a leaf that is not a CA, no certificate denied
//!   by (issuer key, serial number), and — when issuer pins are set — a CA above the leaf
//!   whose key is pinned;
//! - **allow rules**, of which at least one must match the **leaf**: a SAN email address
//!   or email domain, a SAN URI or URI prefix, a SAN DNS name, a subject CN, O or OU, or
//!   the leaf's public-key pin.
//!
//! A policy without any allow rule admits nothing, unless it says
//! [`allow_any_verified`](ClientPolicyBuilder::allow_any_verified). The decision names
//! the allow rule that matched ([`AllowRule`], rendered by [`ClientPolicy::describe`]) or
//! lists every failure, each as a sentence that names the rule.
//!
//! # Example: only my own devices, without a list of certificates
//!
//! Trust your private CA (and only it), require `clientAuth`, and admit devices by the
//! identity the CA put in their certificate — here any SPIFFE ID under
//! `spiffe://fleet.example/device/` — or by a pinned key:
//!
//! ```
//! use mbedtls_verify::issue::{CertificateBuilder, San};
//! use mbedtls_verify::pk::{KeyType, PrivateKey};
//! use mbedtls_verify::policy::{AllowRule, ClientPolicy};
//! use mbedtls_verify::trust::Trust;
//! use mbedtls_verify::verifier::Verifier;
//! use mbedtls_verify::x509::ExtendedKeyUsage;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The fleet's private CA (in real life: loaded from its PEM file).
//! let ca_key = PrivateKey::generate(KeyType::EcdsaP256)?;
//! let ca = CertificateBuilder::new("CN=Fleet CA,O=Fleet").ca(Some(0)).self_signed(&ca_key)?;
//!
//! let policy = ClientPolicy::builder() // requires clientAuth unless told otherwise
//!     .allow_uri_prefix("spiffe://fleet.example/device/")
//!     .allow_email_domain("fleet.example")
//!     .max_chain_depth(1)
//!     .min_ec_bits(256)
//!     .build()?;
//! let verifier = Verifier::new(Trust::anchors(ca.clone())?).with_policy(policy);
//!
//! // A device certificate, issued by the CA when the device was provisioned.
//! let key = PrivateKey::generate(KeyType::EcdsaP256)?;
//! let device = CertificateBuilder::new("CN=device-17,O=Fleet")
//!     .extended_key_usage(&[ExtendedKeyUsage::ClientAuth])
//!     .san(San::Uri("spiffe://fleet.example/device/17".into()))
//!     .signed_by(&key, ca.first().unwrap(), &ca_key)?;
//!
//! let verified = verifier.verify(&device)?;
//! assert_eq!(verified.authorized_by(), Some(AllowRule::UriPrefix(0)));
//! let rule = verified.authorized_by().unwrap();
//! assert_eq!(
//!     verifier.policy().unwrap().describe(rule),
//!     r#"allow_uri_prefix = "spiffe://fleet.example/device/""#
//! );
//!
//! // Another client of the same CA, with only serverAuth: rejected, and told why.
//! let web = CertificateBuilder::new("CN=web")
//!     .extended_key_usage(&[ExtendedKeyUsage::ServerAuth])
//!     .san(San::Uri("spiffe://fleet.example/device/18".into()))
//!     .signed_by(&key, ca.first().unwrap(), &ca_key)?;
//! let err = verifier.verify(&web).unwrap_err();
//! assert!(err.to_string().contains("extended key usage: clientAuth required, certificate has serverAuth"));
//! # Ok(())
//! # }
//! ```
//!
//! The same policy as a file (with the `config` feature, on the host):
//!
//! ```toml
//! allow_uri_prefix = ["spiffe://fleet.example/device/"]
//! allow_email_domain = ["fleet.example"]
//! max_chain_depth = 1
//! min_ec_bits = 256
//! ```
//!
//! # In a TLS server
//!
//! The README's answer to "how do I let in only my own devices?", compiled here:
//!
//! ```no_run
//! use mbedtls_verify::policy::{ClientPolicy, parse_sha256_hex};
//! use mbedtls_verify::ssl::{ClientAuth, Identity, ServerConfig};
//! use mbedtls_verify::trust::Trust;
//! use mbedtls_verify::x509::CertChain;
//!
//! fn server_config() -> Result<ServerConfig, Box<dyn std::error::Error>> {
//!     // 1. Your private CA, and nothing else.
//!     let fleet_ca = CertChain::from_pem(&std::fs::read("fleet-ca.pem")?)?;
//!
//!     // 2. clientAuth is required by default; 3. identities your CA wrote; 4. one key pin.
//!     let bench_key = "5f:1c:9a:0e:77:42:3b:d8:c1:06:aa:93:4e:2d:b0:18:6c:f5:3a:91:0d:e7:58:24:b3:6f:c0:19:8e:47:a2:3d";
//!     let policy = ClientPolicy::builder()
//!         .allow_uri_prefix("spiffe://fleet.example/device/") // any device the CA named so
//!         .allow_email_domain("devices.fleet.example")        // exactly this domain, no subdomain
//!         .allow_spki_sha256(parse_sha256_hex(bench_key).ok_or("bad pin")?)
//!         .max_chain_depth(2) // root -> issuing CA -> device
//!         .min_ec_bits(256)
//!         .build()?;
//!
//!     let identity = Identity::from_pem(&std::fs::read("server-chain.pem")?, &std::fs::read("server-key.pem")?)?;
//!     Ok(ServerConfig::builder()
//!         .identity(identity)
//!         .trust(Trust::anchors(fleet_ca)?)
//!         .client_auth(ClientAuth::Required)
//!         .policy(policy) // a rejection fails the handshake with a fatal alert
//!         .build()?)
//! }
//! # let _ = server_config;
//! ```
//!
//! # How each rule matches
//!
//! | rule | matches |
//! |---|---|
//! | `require_eku` | the leaf's extendedKeyUsage lists **every** purpose given (default `clientAuth`); `anyExtendedKeyUsage` does not stand in for another purpose; an absent extension fails unless `allow_missing_eku` |
//! | `max_chain_depth` | the trust anchor's depth (the leaf is depth 0): `1` = leaf issued directly by a trusted CA |
//! | `min_rsa_bits`, `min_ec_bits` | every certificate of the chain, the trust anchor included; with either set, a key that is neither RSA nor EC fails |
//! | `signature_algorithms` | every signature verification checked: each certificate except the trust anchor (whose self-signature proves nothing); exact names, so `rsa-pss` (unknown hash) is not `rsa-pss-sha256` |
//! | leaf not a CA | the leaf's basicConstraints, read strictly; cA=TRUE or a malformed extension list fails |
//! | `deny_serial` | each certificate with its issuer in the chain: (SHA-256 of the issuer's SubjectPublicKeyInfo, serial); serials compare as numbers (leading zero bytes ignored) |
//! | `allow_issuer_spki_sha256` | a certificate above the leaf that is a CA (strict basicConstraints) has a pinned key; never the leaf |
//! | `allow_email` | a SAN email equal to the entry: local part byte for byte, domain case-insensitively |
//! | `allow_email_domain` | a SAN email whose domain (after the last `@`, with a non-empty local part) **equals** the entry, case-insensitively; never a subdomain nor a longer name |
//! | `allow_uri` | a SAN URI equal to the entry, byte for byte |
//! | `allow_uri_prefix` | a SAN URI that starts with the entry, byte for byte, and whose rest has no `.`/`..` segment (also percent-encoded), no `%2F` and no `\` |
//! | `allow_dns` | a SAN DNS name equal to the entry, case-insensitively; `*` is an ordinary character on both sides |
//! | `allow_subject_cn`, `_o`, `_ou` | a subject attribute value equal to the entry, byte for byte |
//! | `allow_spki_sha256` | SHA-256 of the leaf's SubjectPublicKeyInfo: survives renewal when the device keeps its key |
//!
//! When several allow rules match, the one reported is the first in the order of
//! [`AllowRule`]'s variants (and the first entry of that kind in the certificate).
//! Lookups are hashed, so an allow-list of thousands of entries costs a few probes.
//! [`ClientPolicy::evaluate`] allocates nothing when it accepts.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use core::hash::{BuildHasher, Hasher};

use hashbrown::{DefaultHashBuilder, HashMap, HashSet, HashTable};

use crate::x509::{
    AttributeKind, BasicConstraints, CertRef, ExtendedKeyUsage, PublicKeyAlgorithm,
    SignatureAlgorithm, SubjectAltName, parse_hex, to_hex,
};

#[cfg(feature = "config")]
#[cfg_attr(docsrs, doc(cfg(feature = "config")))]
pub use self::file::PolicyFileError;

/// Which allow rule admitted the chain (an index into the policy's list of that kind).
/// `Copy` and allocation-free, so evaluation on the TLS hot path allocates nothing when
/// it accepts; [`ClientPolicy::describe`] renders it for logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AllowRule {
    /// The `n`-th `allow_email` rule: an exact email address.
    Email(usize),
    /// The `n`-th `allow_email_domain` rule: an email domain.
    EmailDomain(usize),
    /// The `n`-th `allow_uri` rule: an exact URI.
    Uri(usize),
    /// The `n`-th `allow_uri_prefix` rule: a URI prefix.
    UriPrefix(usize),
    /// The `n`-th `allow_dns` rule: an exact DNS name.
    Dns(usize),
    /// The `n`-th `allow_subject_cn` rule: a subject commonName.
    SubjectCn(usize),
    /// The `n`-th `allow_subject_o` rule: a subject organizationName.
    SubjectO(usize),
    /// The `n`-th `allow_subject_ou` rule: a subject organizationalUnitName.
    SubjectOu(usize),
    /// The `n`-th `allow_spki_sha256` rule: a public-key pin (SHA-256 of the SubjectPublicKeyInfo).
    SpkiPin(usize),
    /// `allow_any_verified = true`.
    AnyVerified,
}

impl AllowRule {
    /// The policy-file key of the rule's kind, e.g. `allow_email_domain`.
    pub fn key(self) -> &'static str {
        match self {
            AllowRule::Email(_) => "allow_email",
            AllowRule::EmailDomain(_) => "allow_email_domain",
            AllowRule::Uri(_) => "allow_uri",
            AllowRule::UriPrefix(_) => "allow_uri_prefix",
            AllowRule::Dns(_) => "allow_dns",
            AllowRule::SubjectCn(_) => "allow_subject_cn",
            AllowRule::SubjectO(_) => "allow_subject_o",
            AllowRule::SubjectOu(_) => "allow_subject_ou",
            AllowRule::SpkiPin(_) => "allow_spki_sha256",
            AllowRule::AnyVerified => "allow_any_verified",
        }
    }
}

/// A rule that cannot be built: the policy-file key it belongs to and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    key: &'static str,
    message: String,
}

impl PolicyError {
    fn new(key: &'static str, message: impl Into<String>) -> Self {
        PolicyError {
            key,
            message: message.into(),
        }
    }

    /// The policy-file key of the rule, e.g. `allow_uri_prefix`.
    pub fn key(&self) -> &'static str {
        self.key
    }

    /// What is wrong, without the key.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

impl core::error::Error for PolicyError {}

impl From<PolicyError> for crate::Error {
    fn from(e: PolicyError) -> Self {
        crate::Error::InvalidInput(e.to_string())
    }
}

/// Parse a SHA-256 pin: 64 hex digits, upper or lower case, optionally with a `:`
/// between bytes (`"ab:cd:.."`, as `openssl x509 -fingerprint` prints).
pub fn parse_sha256_hex(s: &str) -> Option<[u8; 32]> {
    parse_hex(s)?.try_into().ok()
}

// ---------------------------------------------------------------------------------
// Hashed indexes
// ---------------------------------------------------------------------------------

/// Which part of a string is compared case-insensitively (ASCII).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Fold {
    /// Byte for byte.
    #[default]
    Exact,
    /// The whole string (DNS names, domains).
    All,
    /// From the last `@` on (email addresses: the domain).
    Domain,
}

impl Fold {
    /// The index from which bytes are folded.
    fn start(self, s: &str) -> usize {
        match self {
            Fold::Exact => s.len(),
            Fold::All => 0,
            Fold::Domain => s.rfind('@').unwrap_or(s.len()),
        }
    }
}

/// A hashed set of strings with their insertion index. Entries are stored normalized
/// (folded at build time); probes are folded while hashing, so a lookup allocates nothing.
#[derive(Clone, Default)]
struct StrIndex {
    fold: Fold,
    entries: Vec<Box<str>>,
    table: HashTable<usize>,
    hasher: DefaultHashBuilder,
    max_len: usize,
}

fn fold_hash(hasher: &DefaultHashBuilder, fold: Fold, s: &str) -> u64 {
    let from = fold.start(s);
    let mut h = hasher.build_hasher();
    let mut buf = [0u8; 64];
    for (n, chunk) in s.as_bytes().chunks(buf.len()).enumerate() {
        let base = n * buf.len();
        for (i, (&b, slot)) in chunk.iter().zip(buf.iter_mut()).enumerate() {
            *slot = if base + i >= from {
                b.to_ascii_lowercase()
            } else {
                b
            };
        }
        h.write(&buf[..chunk.len()]);
    }
    h.write_usize(s.len());
    h.finish()
}

impl StrIndex {
    fn new(fold: Fold) -> Self {
        StrIndex {
            fold,
            ..StrIndex::default()
        }
    }

    fn len(&self) -> usize {
        self.entries.len()
    }

    fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn get(&self, i: usize) -> Option<&str> {
        self.entries.get(i).map(|e| &**e)
    }

    /// Add `s` (normalized); a duplicate keeps its first index.
    fn insert(&mut self, s: &str) -> usize {
        let from = self.fold.start(s);
        let mut norm = String::with_capacity(s.len());
        norm.push_str(&s[..from]);
        norm.push_str(&s[from..].to_ascii_lowercase());
        let hash = fold_hash(&self.hasher, self.fold, &norm);
        if let Some(&i) = self.table.find(hash, |&i| *self.entries[i] == *norm) {
            return i;
        }
        let i = self.entries.len();
        self.max_len = self.max_len.max(norm.len());
        self.entries.push(norm.into_boxed_str());
        let (entries, hasher, fold) = (&self.entries, &self.hasher, self.fold);
        self.table
            .insert_unique(hash, i, |&j| fold_hash(hasher, fold, &entries[j]));
        i
    }

    /// The index of the entry equal to `probe` (folded as the index says).
    fn find(&self, probe: &str) -> Option<usize> {
        if self.entries.is_empty() || probe.len() > self.max_len {
            return None;
        }
        let hash = fold_hash(&self.hasher, self.fold, probe);
        let from = self.fold.start(probe);
        let eq = |entry: &str| {
            entry.len() == probe.len()
                && entry
                    .bytes()
                    .zip(probe.bytes())
                    .enumerate()
                    .all(|(i, (e, p))| e == if i >= from { p.to_ascii_lowercase() } else { p })
        };
        self.table.find(hash, |&i| eq(&self.entries[i])).copied()
    }
}

impl fmt::Debug for StrIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.entries).finish()
    }
}

/// SHA-256 pins with their insertion index.
#[derive(Clone, Default)]
struct PinIndex {
    pins: Vec<[u8; 32]>,
    map: HashMap<[u8; 32], usize>,
}

impl PinIndex {
    fn insert(&mut self, pin: [u8; 32]) -> usize {
        let next = self.pins.len();
        let i = *self.map.entry(pin).or_insert(next);
        if i == next {
            self.pins.push(pin);
        }
        i
    }

    fn find(&self, pin: &[u8; 32]) -> Option<usize> {
        self.map.get(pin).copied()
    }

    fn is_empty(&self) -> bool {
        self.pins.is_empty()
    }

    fn len(&self) -> usize {
        self.pins.len()
    }
}

impl fmt::Debug for PinIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.pins.iter().map(|p| HexPin(p)))
            .finish()
    }
}

struct HexPin<'a>(&'a [u8]);

impl fmt::Debug for HexPin<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// A serial number's significant bytes (leading zero bytes dropped, at least one kept).
fn serial_digits(serial: &[u8]) -> &[u8] {
    let skip = serial
        .iter()
        .take_while(|&&b| b == 0)
        .count()
        .min(serial.len().saturating_sub(1));
    &serial[skip..]
}

// ---------------------------------------------------------------------------------
// The policy
// ---------------------------------------------------------------------------------

/// A client-authorization policy: requirements that must all hold, and allow rules of
/// which one must match the leaf. See the [module documentation](self) for the rules.
///
/// Build one with [`ClientPolicy::builder`] or, on the host with the `config` feature,
/// from a TOML file ([`ClientPolicy::from_toml_str`]). The default policy requires
/// `clientAuth` and has no allow rule, so it admits nothing.
#[derive(Clone)]
pub struct ClientPolicy {
    required_eku: Vec<ExtendedKeyUsage<'static>>,
    allow_missing_eku: bool,
    max_chain_depth: Option<u32>,
    min_rsa_bits: Option<u32>,
    min_ec_bits: Option<u32>,
    signature_algorithms: Option<Vec<SignatureAlgorithm<'static>>>,
    issuer_pins: PinIndex,
    /// Issuer SPKI SHA-256 → significant serial bytes.
    deny: HashMap<[u8; 32], HashSet<Box<[u8]>>>,
    deny_count: usize,
    email: StrIndex,
    email_domain: StrIndex,
    uri: StrIndex,
    uri_prefix: StrIndex,
    dns: StrIndex,
    subject_cn: StrIndex,
    subject_o: StrIndex,
    subject_ou: StrIndex,
    spki: PinIndex,
    any_verified: bool,
}

impl Default for ClientPolicy {
    /// Requires `clientAuth`, has no allow rule: admits nothing.
    fn default() -> Self {
        ClientPolicy {
            required_eku: alloc::vec![ExtendedKeyUsage::ClientAuth],
            allow_missing_eku: false,
            max_chain_depth: None,
            min_rsa_bits: None,
            min_ec_bits: None,
            signature_algorithms: None,
            issuer_pins: PinIndex::default(),
            deny: HashMap::new(),
            deny_count: 0,
            email: StrIndex::new(Fold::Domain),
            email_domain: StrIndex::new(Fold::All),
            uri: StrIndex::new(Fold::Exact),
            uri_prefix: StrIndex::new(Fold::Exact),
            dns: StrIndex::new(Fold::All),
            subject_cn: StrIndex::new(Fold::Exact),
            subject_o: StrIndex::new(Fold::Exact),
            subject_ou: StrIndex::new(Fold::Exact),
            spki: PinIndex::default(),
            any_verified: false,
        }
    }
}

impl fmt::Debug for ClientPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ClientPolicy");
        d.field("require_eku", &self.required_eku)
            .field("allow_missing_eku", &self.allow_missing_eku);
        if let Some(v) = self.max_chain_depth {
            d.field("max_chain_depth", &v);
        }
        if let Some(v) = self.min_rsa_bits {
            d.field("min_rsa_bits", &v);
        }
        if let Some(v) = self.min_ec_bits {
            d.field("min_ec_bits", &v);
        }
        if let Some(v) = &self.signature_algorithms {
            d.field("signature_algorithms", v);
        }
        if !self.issuer_pins.is_empty() {
            d.field("allow_issuer_spki_sha256", &self.issuer_pins);
        }
        if self.deny_count > 0 {
            d.field("deny_serial", &self.deny_count);
        }
        for (key, idx) in self.string_rules() {
            if !idx.is_empty() {
                d.field(key, idx);
            }
        }
        if !self.spki.is_empty() {
            d.field("allow_spki_sha256", &self.spki);
        }
        d.field("allow_any_verified", &self.any_verified);
        d.finish()
    }
}

impl ClientPolicy {
    /// A builder that requires `clientAuth` and has no allow rule yet.
    pub fn builder() -> ClientPolicyBuilder {
        ClientPolicyBuilder {
            policy: ClientPolicy::default(),
            error: None,
        }
    }

    fn string_rules(&self) -> [(&'static str, &StrIndex); 8] {
        [
            ("allow_email", &self.email),
            ("allow_email_domain", &self.email_domain),
            ("allow_uri", &self.uri),
            ("allow_uri_prefix", &self.uri_prefix),
            ("allow_dns", &self.dns),
            ("allow_subject_cn", &self.subject_cn),
            ("allow_subject_o", &self.subject_o),
            ("allow_subject_ou", &self.subject_ou),
        ]
    }

    /// The number of allow rules (entries over all kinds; `allow_any_verified` not counted).
    pub fn allow_rule_count(&self) -> usize {
        self.string_rules()
            .iter()
            .map(|(_, i)| i.len())
            .sum::<usize>()
            + self.spki.len()
    }

    /// Whether the policy admits every verified chain that meets the requirements.
    pub fn allows_any_verified(&self) -> bool {
        self.any_verified
    }

    /// The extended key usages the leaf must list.
    pub fn required_eku(&self) -> &[ExtendedKeyUsage<'static>] {
        &self.required_eku
    }

    /// Evaluate the policy on a verified chain, leaf first (the trust anchor last).
    /// `Ok` names the allow rule that matched; `Err` lists every failed requirement (and,
    /// when no allow rule matched, says so and what the leaf holds).
    ///
    /// Allocates nothing when it accepts.
    pub fn evaluate(&self, chain: &[CertRef<'_>]) -> Result<AllowRule, Vec<String>> {
        let Some(leaf) = chain.first() else {
            return Err(alloc::vec![String::from("chain: no certificate")]);
        };
        let mut why = Vec::new();
        self.check_eku(leaf, &mut why);
        self.check_leaf_not_ca(leaf, &mut why);
        self.check_depth(chain, &mut why);
        self.check_key_sizes(chain, &mut why);
        self.check_signatures(chain, &mut why);
        self.check_denied(chain, &mut why);
        self.check_issuer_pins(chain, &mut why);
        match self.match_allow(leaf) {
            Some(rule) if why.is_empty() => Ok(rule),
            Some(_) => Err(why),
            None => {
                why.push(self.no_match_reason(leaf));
                Err(why)
            }
        }
    }

    /// A person-readable description of a matched rule, e.g. `allow_email_domain = "fleet.example"`.
    pub fn describe(&self, rule: AllowRule) -> String {
        let text = |idx: &StrIndex, i: usize| match idx.get(i) {
            Some(v) => format!("{} = {v:?}", rule.key()),
            None => format!("{}[{i}] (not in this policy)", rule.key()),
        };
        match rule {
            AllowRule::Email(i) => text(&self.email, i),
            AllowRule::EmailDomain(i) => text(&self.email_domain, i),
            AllowRule::Uri(i) => text(&self.uri, i),
            AllowRule::UriPrefix(i) => text(&self.uri_prefix, i),
            AllowRule::Dns(i) => text(&self.dns, i),
            AllowRule::SubjectCn(i) => text(&self.subject_cn, i),
            AllowRule::SubjectO(i) => text(&self.subject_o, i),
            AllowRule::SubjectOu(i) => text(&self.subject_ou, i),
            AllowRule::SpkiPin(i) => match self.spki.pins.get(i) {
                Some(p) => format!("allow_spki_sha256 = \"{}\"", to_hex(p)),
                None => format!("allow_spki_sha256[{i}] (not in this policy)"),
            },
            AllowRule::AnyVerified => String::from("allow_any_verified = true"),
        }
    }

    // ---- requirements ----------------------------------------------------------

    fn check_eku(&self, leaf: &CertRef<'_>, why: &mut Vec<String>) {
        let required = || join(self.required_eku.iter(), " and ");
        match leaf.extended_key_usage() {
            None if self.allow_missing_eku => {}
            None => why.push(format!(
                "extended key usage: {} required, certificate has no extendedKeyUsage extension \
                 (allow_missing_eku is not set)",
                required()
            )),
            Some(ekus) => {
                if !self.required_eku.iter().all(|r| ekus.contains(r)) {
                    let has = join(ekus, ", ");
                    let has = if has.is_empty() {
                        String::from("an empty list")
                    } else {
                        has
                    };
                    why.push(format!(
                        "extended key usage: {} required, certificate has {has}",
                        required()
                    ));
                }
            }
        }
    }

    fn check_leaf_not_ca(&self, leaf: &CertRef<'_>, why: &mut Vec<String>) {
        match leaf.basic_constraints() {
            BasicConstraints::Valid { ca: true, .. } => why.push(String::from(
                "basic constraints: the leaf is a CA certificate (cA=TRUE)",
            )),
            BasicConstraints::Malformed => why.push(String::from(
                "basic constraints: the leaf's extensions are malformed (strict DER reading), \
                 so it cannot be shown not to be a CA",
            )),
            BasicConstraints::Valid { ca: false, .. } | BasicConstraints::Absent => {}
        }
    }

    fn check_depth(&self, chain: &[CertRef<'_>], why: &mut Vec<String>) {
        let depth = chain.len() - 1;
        if let Some(max) = self.max_chain_depth {
            if depth > max as usize {
                why.push(format!(
                    "chain depth: at most {max} allowed (max_chain_depth), the chain has depth {depth} \
                     ({} certificates)",
                    chain.len()
                ));
            }
        }
    }

    fn check_key_sizes(&self, chain: &[CertRef<'_>], why: &mut Vec<String>) {
        if self.min_rsa_bits.is_none() && self.min_ec_bits.is_none() {
            return;
        }
        for (depth, cert) in chain.iter().enumerate() {
            let pk = cert.public_key();
            match pk.algorithm {
                PublicKeyAlgorithm::Rsa => {
                    if let Some(min) = self.min_rsa_bits.filter(|&m| pk.bits < m) {
                        why.push(format!(
                            "RSA key size: at least {min} bits required (min_rsa_bits), the certificate \
                             at depth {depth} has {} bits",
                            pk.bits
                        ));
                    }
                }
                PublicKeyAlgorithm::Ec(curve) => {
                    if let Some(min) = self.min_ec_bits.filter(|&m| pk.bits < m) {
                        why.push(format!(
                            "EC key size: at least {min} bits required (min_ec_bits), the certificate \
                             at depth {depth} has {} bits ({curve:?})",
                            pk.bits
                        ));
                    }
                }
                _ => why.push(format!(
                    "key type: the certificate at depth {depth} has a key that is neither RSA nor EC, \
                     so its size cannot be checked (min_rsa_bits / min_ec_bits)"
                )),
            }
        }
    }

    fn check_signatures(&self, chain: &[CertRef<'_>], why: &mut Vec<String>) {
        let Some(allowed) = &self.signature_algorithms else {
            return;
        };
        // The trust anchor's own signature is not checked by verification.
        for (depth, cert) in chain[..chain.len() - 1].iter().enumerate() {
            let alg = cert.signature_algorithm();
            if !allowed.contains(&alg) {
                why.push(format!(
                    "signature algorithm: the certificate at depth {depth} is signed with {alg}, \
                     allowed: {}",
                    join(allowed.iter(), ", ")
                ));
            }
        }
    }

    fn check_denied(&self, chain: &[CertRef<'_>], why: &mut Vec<String>) {
        if self.deny.is_empty() {
            return;
        }
        for (depth, pair) in chain.windows(2).enumerate() {
            let issuer = pair[1].spki_sha256();
            let Some(serials) = self.deny.get(&issuer) else {
                continue;
            };
            let serial = serial_digits(pair[0].serial());
            if serials.contains(serial) {
                why.push(format!(
                    "denied serial: the certificate at depth {depth} (serial {}) issued by the key \
                     {} is listed in deny_serial",
                    to_hex(serial),
                    to_hex(&issuer)
                ));
            }
        }
    }

    fn check_issuer_pins(&self, chain: &[CertRef<'_>], why: &mut Vec<String>) {
        if self.issuer_pins.is_empty() {
            return;
        }
        let pinned = chain[1..].iter().any(|c| {
            c.basic_constraints().is_ca() && self.issuer_pins.find(&c.spki_sha256()).is_some()
        });
        if !pinned {
            why.push(String::from(
                "issuer pin: no CA certificate above the leaf has a key listed in allow_issuer_spki_sha256",
            ));
        }
    }

    // ---- allow rules -------------------------------------------------------------

    fn match_allow(&self, leaf: &CertRef<'_>) -> Option<AllowRule> {
        if self.any_verified {
            return Some(AllowRule::AnyVerified);
        }
        let sans = || leaf.subject_alt_names();
        if !self.email.is_empty() {
            for san in sans() {
                if let SubjectAltName::Email(e) = san {
                    if let Some(i) = self.email.find(e).filter(|_| email_parts(e).is_some()) {
                        return Some(AllowRule::Email(i));
                    }
                }
            }
        }
        if !self.email_domain.is_empty() {
            for san in sans() {
                if let SubjectAltName::Email(e) = san {
                    if let Some(i) = email_parts(e).and_then(|(_, d)| self.email_domain.find(d)) {
                        return Some(AllowRule::EmailDomain(i));
                    }
                }
            }
        }
        if !self.uri.is_empty() {
            for san in sans() {
                if let SubjectAltName::Uri(u) = san {
                    if let Some(i) = self.uri.find(u) {
                        return Some(AllowRule::Uri(i));
                    }
                }
            }
        }
        if !self.uri_prefix.is_empty() {
            for san in sans() {
                if let SubjectAltName::Uri(u) = san {
                    if let Some(i) = self.find_uri_prefix(u) {
                        return Some(AllowRule::UriPrefix(i));
                    }
                }
            }
        }
        if !self.dns.is_empty() {
            for san in sans() {
                if let SubjectAltName::Dns(d) = san {
                    if let Some(i) = self.dns.find(d) {
                        return Some(AllowRule::Dns(i));
                    }
                }
            }
        }
        let subject = leaf.subject();
        type Attr<'p> = (&'p StrIndex, AttributeKind, fn(usize) -> AllowRule);
        let attrs: [Attr<'_>; 3] = [
            (
                &self.subject_cn,
                AttributeKind::CommonName,
                AllowRule::SubjectCn,
            ),
            (
                &self.subject_o,
                AttributeKind::Organization,
                AllowRule::SubjectO,
            ),
            (
                &self.subject_ou,
                AttributeKind::OrganizationalUnit,
                AllowRule::SubjectOu,
            ),
        ];
        for (idx, kind, rule) in attrs {
            if !idx.is_empty() {
                if let Some(i) = subject.values(kind).find_map(|v| idx.find(v)) {
                    return Some(rule(i));
                }
            }
        }
        if !self.spki.is_empty() {
            if let Some(i) = self.spki.find(&leaf.spki_sha256()) {
                return Some(AllowRule::SpkiPin(i));
            }
        }
        None
    }

    /// Probe each prefix of `uri` that ends in `/` (up to the longest entry).
    fn find_uri_prefix(&self, uri: &str) -> Option<usize> {
        let limit = self.uri_prefix.max_len.min(uri.len());
        let found = uri.as_bytes()[..limit]
            .iter()
            .enumerate()
            .filter(|&(_, &b)| b == b'/')
            .find_map(|(i, _)| self.uri_prefix.find(&uri[..=i]).map(|idx| (idx, i)));
        let (idx, end) = found?;
        (!is_ambiguous_path(&uri[end + 1..])).then_some(idx)
    }

    fn no_match_reason(&self, leaf: &CertRef<'_>) -> String {
        if self.allow_rule_count() == 0 {
            return String::from(
                "allow rules: the policy has none, so it admits nothing (set allow_any_verified to admit \
                 every verified chain that meets the requirements)",
            );
        }
        let mut ids: Vec<String> = leaf
            .subject_alt_names()
            .filter(|s| {
                matches!(
                    s,
                    SubjectAltName::Email(_) | SubjectAltName::Uri(_) | SubjectAltName::Dns(_)
                )
            })
            .map(|s| s.to_string())
            .collect();
        ids.insert(0, format!("subject {}", leaf.subject()));
        ids.push(format!("SPKI sha256 {}", to_hex(&leaf.spki_sha256())));
        format!("allow rules: none matched the leaf ({})", ids.join("; "))
    }
}

fn join<T: fmt::Display>(items: impl IntoIterator<Item = T>, sep: &str) -> String {
    let mut s = String::new();
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            s.push_str(sep);
        }
        s.push_str(&item.to_string());
    }
    s
}

/// `(local, domain)` of an address with a non-empty local part and domain (split at the
/// last `@`).
fn email_parts(e: &str) -> Option<(&str, &str)> {
    e.rsplit_once('@')
        .filter(|(l, d)| !l.is_empty() && !d.is_empty())
}

/// Whether the rest of a URI after a matched prefix could mean something else once
/// normalised: a `.` or `..` segment (also percent-encoded), an encoded `/` or `\`, or a literal `\`.
fn is_ambiguous_path(rest: &str) -> bool {
    let path = rest.split(['?', '#']).next().unwrap_or("");
    if path.contains('\\') || contains_ignore_case(path, "%2f") || contains_ignore_case(path, "%5c")
    {
        return true;
    }
    path.split('/').any(is_dot_segment)
}

/// `.` or `..`, each dot literal or as `%2e`.
fn is_dot_segment(seg: &str) -> bool {
    let mut s = seg.as_bytes();
    let mut dots = 0;
    while !s.is_empty() {
        if let Some(r) = s.strip_prefix(b".") {
            s = r;
        } else if s.len() >= 3 && s[..3].eq_ignore_ascii_case(b"%2e") {
            s = &s[3..];
        } else {
            return false;
        }
        dots += 1;
    }
    (1..=2).contains(&dots)
}

fn contains_ignore_case(hay: &str, needle: &str) -> bool {
    hay.as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

// ---------------------------------------------------------------------------------
// Builder
// ---------------------------------------------------------------------------------

/// Builds a [`ClientPolicy`]. Each method adds one rule; a bad value is reported by
/// [`build`](Self::build), naming the rule's policy-file key.
#[derive(Debug, Clone)]
#[must_use]
pub struct ClientPolicyBuilder {
    policy: ClientPolicy,
    error: Option<PolicyError>,
}

impl ClientPolicyBuilder {
    fn fail(mut self, key: &'static str, message: String) -> Self {
        if self.error.is_none() {
            self.error = Some(PolicyError::new(key, message));
        }
        self
    }

    fn add(
        mut self,
        key: &'static str,
        value: &str,
        check: fn(&str) -> Result<(), &'static str>,
        index: fn(&mut ClientPolicy) -> &mut StrIndex,
    ) -> Self {
        match check(value) {
            Ok(()) => {
                index(&mut self.policy).insert(value);
                self
            }
            Err(why) => self.fail(key, format!("{value:?}: {why}")),
        }
    }

    /// The extended key usages the leaf must **all** list, replacing the default
    /// (`clientAuth`). A TLS client checking servers uses `[ExtendedKeyUsage::ServerAuth]`.
    /// An empty list is an error.
    pub fn require_eku(
        mut self,
        ekus: impl IntoIterator<Item = ExtendedKeyUsage<'static>>,
    ) -> Self {
        self.policy.required_eku.clear();
        for e in ekus {
            if !self.policy.required_eku.contains(&e) {
                self.policy.required_eku.push(e);
            }
        }
        self
    }

    /// Admit a leaf without an extendedKeyUsage extension (default: rejected).
    pub fn allow_missing_eku(mut self, allow: bool) -> Self {
        self.policy.allow_missing_eku = allow;
        self
    }

    /// The largest depth of the trust anchor, the leaf being depth 0: `1` means the leaf
    /// must be issued directly by a trusted CA; `0` admits only a leaf that is itself trusted.
    pub fn max_chain_depth(mut self, depth: u32) -> Self {
        self.policy.max_chain_depth = Some(depth);
        self
    }

    /// The smallest RSA modulus, in bits, of every certificate of the chain.
    pub fn min_rsa_bits(mut self, bits: u32) -> Self {
        self.policy.min_rsa_bits = Some(bits);
        self
    }

    /// The smallest EC key (curve) size, in bits, of every certificate of the chain.
    pub fn min_ec_bits(mut self, bits: u32) -> Self {
        self.policy.min_ec_bits = Some(bits);
        self
    }

    /// The signature algorithms allowed on every certificate but the trust anchor,
    /// replacing any earlier list. An empty list is an error.
    pub fn signature_algorithms(
        mut self,
        algs: impl IntoIterator<Item = SignatureAlgorithm<'static>>,
    ) -> Self {
        let mut list = Vec::new();
        for a in algs {
            if !list.contains(&a) {
                list.push(a);
            }
        }
        self.policy.signature_algorithms = Some(list);
        self
    }

    /// Require a CA certificate above the leaf whose SubjectPublicKeyInfo has this
    /// SHA-256 ("the chain must pass through this CA"). Several pins: any one suffices.
    pub fn allow_issuer_spki_sha256(mut self, pin: [u8; 32]) -> Self {
        self.policy.issuer_pins.insert(pin);
        self
    }

    /// Reject the certificate with this serial number (unsigned big-endian; leading zero
    /// bytes are ignored) issued by the CA whose SubjectPublicKeyInfo has this SHA-256.
    pub fn deny_serial(mut self, issuer_spki_sha256: [u8; 32], serial: &[u8]) -> Self {
        if serial.is_empty() {
            return self.fail("deny_serial", String::from("the serial number is empty"));
        }
        let digits: Box<[u8]> = serial_digits(serial).into();
        if self
            .policy
            .deny
            .entry(issuer_spki_sha256)
            .or_default()
            .insert(digits)
        {
            self.policy.deny_count += 1;
        }
        self
    }

    /// Admit a leaf with this SAN email address (local part exact, domain case-insensitive).
    pub fn allow_email(self, address: &str) -> Self {
        self.add("allow_email", address, check_email, |p| &mut p.email)
    }

    /// Admit a leaf with a SAN email address at exactly this domain (case-insensitive);
    /// never its subdomains.
    pub fn allow_email_domain(self, domain: &str) -> Self {
        self.add("allow_email_domain", domain, check_domain, |p| {
            &mut p.email_domain
        })
    }

    /// Admit a leaf with exactly this SAN URI.
    pub fn allow_uri(self, uri: &str) -> Self {
        self.add("allow_uri", uri, check_uri, |p| &mut p.uri)
    }

    /// Admit a leaf with a SAN URI that starts with `prefix`, which must have a scheme,
    /// `://`, an authority, and end in `/` (e.g. `spiffe://fleet.example/device/`).
    pub fn allow_uri_prefix(self, prefix: &str) -> Self {
        self.add("allow_uri_prefix", prefix, check_uri_prefix, |p| {
            &mut p.uri_prefix
        })
    }

    /// Admit a leaf with this SAN DNS name (case-insensitive, never as a wildcard).
    pub fn allow_dns(self, name: &str) -> Self {
        self.add("allow_dns", name, check_dns, |p| &mut p.dns)
    }

    /// Admit a leaf whose subject has this commonName (exact).
    pub fn allow_subject_cn(self, value: &str) -> Self {
        self.add("allow_subject_cn", value, check_attribute, |p| {
            &mut p.subject_cn
        })
    }

    /// Admit a leaf whose subject has this organizationName (exact).
    pub fn allow_subject_o(self, value: &str) -> Self {
        self.add("allow_subject_o", value, check_attribute, |p| {
            &mut p.subject_o
        })
    }

    /// Admit a leaf whose subject has this organizationalUnitName (exact).
    pub fn allow_subject_ou(self, value: &str) -> Self {
        self.add("allow_subject_ou", value, check_attribute, |p| {
            &mut p.subject_ou
        })
    }

    /// Admit a leaf whose SubjectPublicKeyInfo has this SHA-256 (see
    /// [`CertRef::spki_sha256`] and [`parse_sha256_hex`]).
    pub fn allow_spki_sha256(mut self, pin: [u8; 32]) -> Self {
        self.policy.spki.insert(pin);
        self
    }

    /// Admit every chain that verified and meets the requirements. Cannot be combined
    /// with allow rules (they would mean nothing).
    pub fn allow_any_verified(mut self, allow: bool) -> Self {
        self.policy.any_verified = allow;
        self
    }

    /// The policy, or the first rule that is not acceptable.
    ///
    /// Contradictions are errors: an empty `require_eku` or `signature_algorithms` list
    /// (nothing could pass), and `allow_any_verified` together with allow rules.
    pub fn build(self) -> Result<ClientPolicy, PolicyError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let p = self.policy;
        if p.required_eku.is_empty() {
            return Err(PolicyError::new(
                "require_eku",
                "the list is empty; leave the rule out to require clientAuth, or set allow_missing_eku",
            ));
        }
        if p.signature_algorithms.as_ref().is_some_and(Vec::is_empty) {
            return Err(PolicyError::new(
                "signature_algorithms",
                "the list is empty, so no chain could pass",
            ));
        }
        if p.any_verified && p.allow_rule_count() > 0 {
            return Err(PolicyError::new(
                "allow_any_verified",
                "cannot be combined with allow rules (allow_email, allow_uri, allow_spki_sha256, ...): \
                 either list who is allowed or allow any verified chain",
            ));
        }
        Ok(p)
    }
}

fn check_printable(v: &str) -> Result<(), &'static str> {
    if v.is_empty() {
        return Err("empty");
    }
    if !v.bytes().all(|b| (0x21..0x7F).contains(&b)) {
        return Err("must be printable ASCII without spaces (what a certificate's SAN can hold)");
    }
    Ok(())
}

fn check_email(v: &str) -> Result<(), &'static str> {
    check_printable(v)?;
    if email_parts(v).is_none() {
        return Err("an address needs a local part, '@' and a domain");
    }
    Ok(())
}

fn check_domain(v: &str) -> Result<(), &'static str> {
    check_printable(v)?;
    if v.contains('@') {
        return Err("a domain has no '@' (use allow_email for an address)");
    }
    if v.contains('*') {
        return Err("wildcards are not supported: a domain is matched exactly");
    }
    if v.starts_with('.') || v.ends_with('.') || v.contains("..") {
        return Err(
            "not a domain name (a domain is matched exactly, never its subdomains: list each one)",
        );
    }
    Ok(())
}

fn check_dns(v: &str) -> Result<(), &'static str> {
    check_printable(v)?;
    if v.starts_with('.') || v.contains("..") {
        return Err("not a DNS name");
    }
    Ok(())
}

fn check_uri(v: &str) -> Result<(), &'static str> {
    check_printable(v)?;
    if scheme_end(v).is_none() {
        return Err("a URI starts with a scheme and ':'");
    }
    Ok(())
}

/// The index of the `:` ending a valid scheme (ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )).
fn scheme_end(v: &str) -> Option<usize> {
    let colon = v.find(':')?;
    let scheme = &v.as_bytes()[..colon];
    let first = *scheme.first()?;
    let ok = first.is_ascii_alphabetic()
        && scheme
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    ok.then_some(colon)
}

fn check_uri_prefix(v: &str) -> Result<(), &'static str> {
    check_printable(v)?;
    let Some(colon) = scheme_end(v) else {
        return Err("a prefix must start with a scheme (e.g. \"spiffe://fleet.example/device/\")");
    };
    let Some(rest) = v[colon + 1..].strip_prefix("//") else {
        return Err(
            "a prefix must have an authority: scheme://authority/ (e.g. \"spiffe://fleet.example/\")",
        );
    };
    let authority = rest.split('/').next().unwrap_or("");
    if authority.is_empty() {
        return Err("a prefix must have a non-empty authority: scheme://authority/");
    }
    if v.contains(['?', '#']) {
        return Err("a prefix cannot contain a query or fragment ('?' or '#')");
    }
    if !v.ends_with('/') {
        return Err(
            "a prefix must end in '/' (otherwise \"…/device\" would also allow \"…/device-evil\")",
        );
    }
    if is_ambiguous_path(&rest[authority.len()..]) {
        return Err("a prefix cannot contain '.' or '..' segments, encoded '/' or '\\'");
    }
    Ok(())
}

fn check_attribute(v: &str) -> Result<(), &'static str> {
    if v.is_empty() {
        return Err("empty");
    }
    if v.contains('\0') {
        return Err("contains a NUL character");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// Policy file
// ---------------------------------------------------------------------------------

#[cfg(feature = "config")]
mod file {
    //! The TOML policy file (host: `std` + the `config` feature).

    use alloc::collections::BTreeMap;
    use alloc::format;
    use alloc::string::{String, ToString};
    use alloc::vec::Vec;
    use std::path::{Path, PathBuf};

    use serde::Deserialize;

    use super::{ClientPolicy, PolicyError, parse_sha256_hex};
    use crate::x509::{ExtendedKeyUsage, SignatureAlgorithm, parse_hex};

    /// Why a policy file was not accepted. Every error about a key names it.
    #[derive(Debug, thiserror::Error)]
    #[non_exhaustive]
    pub enum PolicyFileError {
        /// The file could not be read.
        #[error("cannot read policy file {}: {source}", path.display())]
        Io {
            /// The file's path.
            path: PathBuf,
            /// Why it could not be read.
            source: std::io::Error,
        },
        /// Not valid TOML.
        #[error("policy file, line {line}, column {column}: {message}")]
        Syntax {
            /// 1-based line of the error.
            line: usize,
            /// 1-based column of the error.
            column: usize,
            /// The TOML parser's message.
            message: String,
        },
        /// A key that is unknown, of the wrong type, in a bad format, or contradicting
        /// another key. `key` is e.g. `allow_uri_prefix` or `deny_serial[1].serial`.
        #[error("policy file: `{key}`: {message}{}", line.map(|l| format!(" (line {l})")).unwrap_or_default())]
        Key {
            /// The key, as written in the file (with an index for array items).
            key: String,
            /// What is wrong with it.
            message: String,
            /// The 1-based line of the key, when known.
            line: Option<usize>,
        },
    }

    impl PolicyFileError {
        /// The key the error is about, if any.
        pub fn key(&self) -> Option<&str> {
            match self {
                PolicyFileError::Key { key, .. } => Some(key),
                _ => None,
            }
        }

        fn key_error(key: impl Into<String>, message: impl Into<String>) -> Self {
            PolicyFileError::Key {
                key: key.into(),
                message: message.into(),
                line: None,
            }
        }
    }

    impl From<PolicyError> for PolicyFileError {
        fn from(e: PolicyError) -> Self {
            PolicyFileError::key_error(e.key(), e.message())
        }
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct PolicyFile {
        require_eku: Option<Vec<String>>,
        allow_missing_eku: Option<bool>,
        #[serde(default)]
        allow_email: Vec<String>,
        #[serde(default)]
        allow_email_domain: Vec<String>,
        #[serde(default)]
        allow_uri: Vec<String>,
        #[serde(default)]
        allow_uri_prefix: Vec<String>,
        #[serde(default)]
        allow_dns: Vec<String>,
        #[serde(default)]
        allow_subject_cn: Vec<String>,
        #[serde(default)]
        allow_subject_o: Vec<String>,
        #[serde(default)]
        allow_subject_ou: Vec<String>,
        #[serde(default)]
        allow_spki_sha256: Vec<String>,
        #[serde(default)]
        allow_issuer_spki_sha256: Vec<String>,
        #[serde(default)]
        deny_serial: Vec<DenyEntry>,
        max_chain_depth: Option<u32>,
        min_rsa_bits: Option<u32>,
        min_ec_bits: Option<u32>,
        signature_algorithms: Option<Vec<String>>,
        allow_any_verified: Option<bool>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct DenyEntry {
        issuer_spki_sha256: String,
        serial: String,
    }

    const PIN_FORMAT: &str = "is not a SHA-256 in hex (64 hex digits, upper or lower case, colons allowed between bytes)";

    fn pin(key: &str, v: &str) -> Result<[u8; 32], PolicyFileError> {
        parse_sha256_hex(v)
            .ok_or_else(|| PolicyFileError::key_error(key, format!("{v:?} {PIN_FORMAT}")))
    }

    /// Hex of an unsigned serial number: colons allowed between bytes, an odd number of
    /// digits allowed without colons.
    fn serial(key: &str, v: &str) -> Result<Vec<u8>, PolicyFileError> {
        let padded;
        let text = if !v.contains(':') && v.len() % 2 == 1 {
            padded = format!("0{v}");
            &padded
        } else {
            v
        };
        match parse_hex(text) {
            Some(b) if !b.is_empty() => Ok(b),
            _ => Err(PolicyFileError::key_error(
                key,
                format!("{v:?} is not a serial number in hex"),
            )),
        }
    }

    impl PolicyFile {
        fn into_policy(self) -> Result<ClientPolicy, PolicyFileError> {
            let mut b = ClientPolicy::builder();
            if let Some(names) = self.require_eku {
                let mut ekus = Vec::with_capacity(names.len());
                for n in &names {
                    ekus.push(ExtendedKeyUsage::from_name(n).ok_or_else(|| {
                        PolicyFileError::key_error(
                            "require_eku",
                            format!("{n:?} is not \"clientAuth\", \"serverAuth\", another purpose name or a dotted OID"),
                        )
                    })?);
                }
                b = b.require_eku(ekus);
            }
            if let Some(v) = self.allow_missing_eku {
                b = b.allow_missing_eku(v);
            }
            if let Some(names) = self.signature_algorithms {
                let mut algs = Vec::with_capacity(names.len());
                for n in &names {
                    algs.push(SignatureAlgorithm::from_name(n).ok_or_else(|| {
                        PolicyFileError::key_error(
                            "signature_algorithms",
                            format!(
                                "{n:?} is not a signature algorithm (ecdsa-sha256, ecdsa-sha384, ecdsa-sha512, \
                                 rsa-pkcs1-sha256, rsa-pkcs1-sha384, rsa-pkcs1-sha512, rsa-pss-sha256, \
                                 rsa-pss-sha384, rsa-pss-sha512 or a dotted OID)"
                            ),
                        )
                    })?);
                }
                b = b.signature_algorithms(algs);
            }
            if let Some(v) = self.max_chain_depth {
                b = b.max_chain_depth(v);
            }
            if let Some(v) = self.min_rsa_bits {
                b = b.min_rsa_bits(v);
            }
            if let Some(v) = self.min_ec_bits {
                b = b.min_ec_bits(v);
            }
            for v in &self.allow_issuer_spki_sha256 {
                b = b.allow_issuer_spki_sha256(pin("allow_issuer_spki_sha256", v)?);
            }
            for (i, d) in self.deny_serial.iter().enumerate() {
                let issuer = pin(
                    &format!("deny_serial[{i}].issuer_spki_sha256"),
                    &d.issuer_spki_sha256,
                )?;
                let s = serial(&format!("deny_serial[{i}].serial"), &d.serial)?;
                b = b.deny_serial(issuer, &s);
            }
            type Add = fn(super::ClientPolicyBuilder, &str) -> super::ClientPolicyBuilder;
            let lists: [(&[String], Add); 8] = [
                (&self.allow_email, super::ClientPolicyBuilder::allow_email),
                (
                    &self.allow_email_domain,
                    super::ClientPolicyBuilder::allow_email_domain,
                ),
                (&self.allow_uri, super::ClientPolicyBuilder::allow_uri),
                (
                    &self.allow_uri_prefix,
                    super::ClientPolicyBuilder::allow_uri_prefix,
                ),
                (&self.allow_dns, super::ClientPolicyBuilder::allow_dns),
                (
                    &self.allow_subject_cn,
                    super::ClientPolicyBuilder::allow_subject_cn,
                ),
                (
                    &self.allow_subject_o,
                    super::ClientPolicyBuilder::allow_subject_o,
                ),
                (
                    &self.allow_subject_ou,
                    super::ClientPolicyBuilder::allow_subject_ou,
                ),
            ];
            for (values, add) in lists {
                for v in values {
                    b = add(b, v);
                }
            }
            for v in &self.allow_spki_sha256 {
                b = b.allow_spki_sha256(pin("allow_spki_sha256", v)?);
            }
            if let Some(v) = self.allow_any_verified {
                b = b.allow_any_verified(v);
            }
            Ok(b.build()?)
        }
    }

    /// 1-based line and column of a byte offset.
    fn line_column(text: &str, offset: usize) -> (usize, usize) {
        let before = text.get(..offset).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, column)
    }

    /// The top-level key whose `key = value` text covers `offset`, if the text is TOML.
    fn key_at(text: &str, offset: usize) -> Option<String> {
        type Spanned<T> = toml::Spanned<T>;
        let doc: BTreeMap<Spanned<String>, Spanned<toml::Value>> = toml::from_str(text).ok()?;
        let covers = |k: &Spanned<String>, v: &Spanned<toml::Value>| {
            k.span().start.min(v.span().start) <= offset && offset < v.span().end.max(k.span().end)
        };
        // A `[table]` header starts before its key: fall back to the key on the same line.
        let line = |o: usize| line_column(text, o).0;
        doc.iter()
            .find(|(k, v)| covers(k, v))
            .or_else(|| {
                doc.iter()
                    .find(|(k, _)| line(k.span().start) == line(offset))
            })
            .map(|(k, _)| k.get_ref().clone())
    }

    /// The field named by serde's "unknown field `x`" or "missing field `x`" message.
    fn field_in_message(message: &str) -> Option<&str> {
        let rest = message
            .strip_prefix("unknown field `")
            .or_else(|| message.strip_prefix("missing field `"))?;
        rest.split('`').next()
    }

    fn from_toml_error(text: &str, e: toml::de::Error) -> PolicyFileError {
        let message = e.message().trim_end().replace('\n', ": ");
        let span = e.span();
        let (line, column) = span.as_ref().map_or((1, 1), |s| line_column(text, s.start));
        let top = span.as_ref().and_then(|s| key_at(text, s.start));
        let field = field_in_message(&message);
        let key = match (top, field) {
            (Some(t), Some(f)) if t != f => Some(format!("{t}.{f}")),
            (_, Some(f)) => Some(f.to_string()),
            (Some(t), None) => Some(t),
            (None, None) => None,
        };
        match key {
            Some(key) => PolicyFileError::Key {
                key,
                message,
                line: span.map(|_| line),
            },
            None => PolicyFileError::Syntax {
                line,
                column,
                message,
            },
        }
    }

    impl ClientPolicy {
        /// Parse a TOML policy file (keys: see the [module documentation](super)).
        /// Unknown keys, values of the wrong type or format, and contradictions are
        /// errors that name the key.
        ///
        /// ```
        /// use mbedtls_verify::policy::ClientPolicy;
        ///
        /// let policy = ClientPolicy::from_toml_str(
        ///     r#"
        ///     allow_uri_prefix = ["spiffe://fleet.example/device/"]
        ///     allow_email_domain = ["devices.fleet.example"]
        ///     max_chain_depth = 2
        ///     "#,
        /// )
        /// .unwrap();
        /// assert_eq!(policy.allow_rule_count(), 2);
        ///
        /// let err = ClientPolicy::from_toml_str(r#"allow_uri_prefix = ["spiffe://fleet.example"]"#).unwrap_err();
        /// assert_eq!(err.key(), Some("allow_uri_prefix"));
        /// assert!(err.to_string().contains("a prefix must end in '/'"));
        /// ```
        #[cfg_attr(docsrs, doc(cfg(feature = "config")))]
        pub fn from_toml_str(text: &str) -> Result<ClientPolicy, PolicyFileError> {
            let file: PolicyFile = toml::from_str(text).map_err(|e| from_toml_error(text, e))?;
            file.into_policy()
        }

        /// Read and parse a TOML policy file.
        #[cfg_attr(docsrs, doc(cfg(feature = "config")))]
        pub fn from_toml_file(path: impl AsRef<Path>) -> Result<ClientPolicy, PolicyFileError> {
            let path = path.as_ref();
            let text = std::fs::read_to_string(path).map_err(|source| PolicyFileError::Io {
                path: path.to_path_buf(),
                source,
            })?;
            Self::from_toml_str(&text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn policies_are_shared_between_threads() {
        fn shared<T: Send + Sync + Clone + 'static>() {}
        shared::<ClientPolicy>();
        shared::<AllowRule>();
    }

    #[test]
    fn string_index_folds_only_what_it_should() {
        let mut dns = StrIndex::new(Fold::All);
        assert_eq!(dns.insert("Device-1.Fleet.Example"), 0);
        assert_eq!(
            dns.insert("device-1.fleet.example"),
            0,
            "a duplicate keeps its index"
        );
        assert_eq!(dns.insert("*.fleet.example"), 1);
        assert_eq!(
            dns.get(0),
            Some("device-1.fleet.example"),
            "normalized at build time"
        );
        assert_eq!(dns.find("DEVICE-1.fleet.EXAMPLE"), Some(0));
        assert_eq!(dns.find("*.FLEET.example"), Some(1));
        assert_eq!(
            dns.find("x.fleet.example"),
            None,
            "a wildcard entry is an ordinary string"
        );
        assert_eq!(dns.find("device-1.fleet.example."), None);

        let mut email = StrIndex::new(Fold::Domain);
        email.insert("Alice@Fleet.Example");
        assert_eq!(email.get(0), Some("Alice@fleet.example"));
        assert_eq!(email.find("Alice@FLEET.example"), Some(0));
        assert_eq!(
            email.find("alice@fleet.example"),
            None,
            "the local part is exact"
        );

        let mut uri = StrIndex::new(Fold::Exact);
        uri.insert("spiffe://fleet.example/a");
        assert_eq!(uri.find("spiffe://fleet.example/a"), Some(0));
        assert_eq!(uri.find("SPIFFE://fleet.example/a"), None);
        assert_eq!(StrIndex::new(Fold::All).find("anything"), None);
    }

    #[test]
    fn long_entries_hash_the_same_folded_or_not() {
        // Longer than one 64-byte hashing chunk, with the fold boundary inside the second.
        let local = "a".repeat(70);
        let mut email = StrIndex::new(Fold::Domain);
        email.insert(&format!("{local}@{}", "D".repeat(100)));
        assert_eq!(email.find(&format!("{local}@{}", "d".repeat(100))), Some(0));
        assert_eq!(
            email.find(&format!("{}@{}", "A".repeat(70), "d".repeat(100))),
            None
        );
        let many: Vec<String> = (0..2000)
            .map(|i| format!("host-{i}.Fleet.Example"))
            .collect();
        let mut dns = StrIndex::new(Fold::All);
        for (i, n) in many.iter().enumerate() {
            assert_eq!(dns.insert(n), i);
        }
        for (i, n) in many.iter().enumerate() {
            assert_eq!(dns.find(&n.to_ascii_uppercase()), Some(i));
        }
    }

    #[test]
    fn uri_prefixes_are_validated() {
        for good in [
            "spiffe://fleet.example/device/",
            "spiffe://fleet.example/",
            "https://fleet.example:8443/devices/v1/",
            "urn+x://a/",
        ] {
            assert_eq!(check_uri_prefix(good), Ok(()), "{good}");
        }
        for (bad, why) in [
            ("spiffe://fleet.example/device", "must end in '/'"),
            ("spiffe://fleet.example", "must end in '/'"),
            ("spiffe:///device/", "non-empty authority"),
            ("fleet.example/device/", "scheme"),
            ("//fleet.example/device/", "scheme"),
            ("1http://fleet.example/", "scheme"),
            ("urn:fleet:device/", "authority"),
            ("spiffe://fleet.example/a/../b/", "'..' segments"),
            ("spiffe://fleet.example/a/%2E/", "'..' segments"),
            ("spiffe://fleet.example/a?x=/", "query"),
            ("spiffe://fleet example/", "printable ASCII"),
            ("", "empty"),
        ] {
            let err = check_uri_prefix(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn ambiguous_paths() {
        for amb in [
            "..", ".", "a/../b", "a/./b", "%2e%2E", ".%2e/x", "a/%2F", "a\\b", "x/%5c", "a/..?q",
        ] {
            assert!(is_ambiguous_path(amb), "{amb}");
        }
        for ok in [
            "", "17", "a/b/c", "...", "a..b", ".hidden", "a/b?x=..", "a#../",
        ] {
            assert!(!is_ambiguous_path(ok), "{ok}");
        }
    }

    #[test]
    fn email_and_domain_entries_are_validated() {
        assert_eq!(check_email("alice@fleet.example"), Ok(()));
        assert_eq!(check_email("\"a@b\"@fleet.example"), Ok(()));
        for bad in [
            "alice",
            "@fleet.example",
            "alice@",
            "alice smith@fleet.example",
            "élise@fleet.example",
        ] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
        assert_eq!(check_domain("fleet.example"), Ok(()));
        for bad in [
            ".fleet.example",
            "fleet.example.",
            "*.fleet.example",
            "a@fleet.example",
            "a..b",
            "",
        ] {
            assert!(check_domain(bad).is_err(), "{bad}");
        }
        assert_eq!(
            email_parts("a@b@Fleet.example"),
            Some(("a@b", "Fleet.example"))
        );
        assert_eq!(email_parts("@fleet.example"), None);
    }

    #[test]
    fn pins_and_serials() {
        let hex = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
        let pin = parse_sha256_hex(hex).unwrap();
        assert_eq!(pin[31], 0xFF);
        let colons: Vec<String> = pin.iter().map(|b| format!("{b:02X}")).collect();
        assert_eq!(parse_sha256_hex(&colons.join(":")), Some(pin));
        assert_eq!(parse_sha256_hex(&hex[..62]), None);
        assert_eq!(parse_sha256_hex(&format!("{hex}00")), None);
        assert_eq!(parse_sha256_hex(&hex.replace('0', "g")), None);
        assert_eq!(serial_digits(&[0, 0, 0x80, 1]), &[0x80, 1]);
        assert_eq!(serial_digits(&[0, 0]), &[0]);
        assert_eq!(serial_digits(&[]), &[] as &[u8]);
    }

    #[test]
    fn builder_rejects_contradictions_and_bad_entries() {
        let err = |b: ClientPolicyBuilder| b.build().unwrap_err();
        let e = err(ClientPolicy::builder().require_eku([]));
        assert_eq!(e.key(), "require_eku");
        let e = err(ClientPolicy::builder()
            .signature_algorithms([])
            .allow_dns("a"));
        assert_eq!(e.key(), "signature_algorithms");
        let e = err(ClientPolicy::builder()
            .allow_any_verified(true)
            .allow_subject_cn("device-1"));
        assert_eq!(e.key(), "allow_any_verified");
        let e = err(ClientPolicy::builder().allow_uri_prefix("spiffe://fleet.example/device"));
        assert_eq!(
            e.to_string(),
            "allow_uri_prefix: \"spiffe://fleet.example/device\": a prefix must end in '/' \
            (otherwise \"…/device\" would also allow \"…/device-evil\")"
        );
        let e = err(ClientPolicy::builder()
            .allow_email_domain("x.example")
            .allow_email_domain(".fleet.example"));
        assert_eq!(
            e.key(),
            "allow_email_domain",
            "the first bad entry is reported: {e}"
        );
        assert!(e.message().contains("\".fleet.example\""));
        assert_eq!(
            err(ClientPolicy::builder().deny_serial([0; 32], &[])).key(),
            "deny_serial"
        );
        assert_eq!(
            err(ClientPolicy::builder().allow_subject_o("")).key(),
            "allow_subject_o"
        );
        // Issuer pins are requirements: they combine with allow_any_verified.
        let p = ClientPolicy::builder()
            .allow_any_verified(true)
            .allow_issuer_spki_sha256([1; 32])
            .build()
            .unwrap();
        assert!(p.allows_any_verified());
        // Converts into the crate's error for `?`.
        let e: crate::Error = err(ClientPolicy::builder().require_eku([])).into();
        assert!(e.to_string().contains("require_eku"));
    }

    #[test]
    fn defaults_and_describe() {
        let p = ClientPolicy::default();
        assert_eq!(p.required_eku(), &[ExtendedKeyUsage::ClientAuth]);
        assert_eq!(p.allow_rule_count(), 0);
        assert!(!p.allows_any_verified());
        assert!(p.evaluate(&[]).is_err());

        let p = ClientPolicy::builder()
            .allow_email("Bob@Fleet.Example")
            .allow_email_domain("Fleet.Example")
            .allow_uri("urn:fleet:1")
            .allow_uri_prefix("spiffe://fleet.example/device/")
            .allow_dns("Gateway.Fleet.Example")
            .allow_subject_cn("device-1")
            .allow_subject_o("Fleet")
            .allow_subject_ou("Sensors")
            .allow_spki_sha256([0xAB; 32])
            .build()
            .unwrap();
        assert_eq!(p.allow_rule_count(), 9);
        let cases = [
            (AllowRule::Email(0), "allow_email = \"Bob@fleet.example\""),
            (
                AllowRule::EmailDomain(0),
                "allow_email_domain = \"fleet.example\"",
            ),
            (AllowRule::Uri(0), "allow_uri = \"urn:fleet:1\""),
            (
                AllowRule::UriPrefix(0),
                "allow_uri_prefix = \"spiffe://fleet.example/device/\"",
            ),
            (AllowRule::Dns(0), "allow_dns = \"gateway.fleet.example\""),
            (AllowRule::SubjectCn(0), "allow_subject_cn = \"device-1\""),
            (AllowRule::SubjectO(0), "allow_subject_o = \"Fleet\""),
            (AllowRule::SubjectOu(0), "allow_subject_ou = \"Sensors\""),
            (AllowRule::AnyVerified, "allow_any_verified = true"),
            (AllowRule::Dns(5), "allow_dns[5] (not in this policy)"),
        ];
        for (rule, text) in cases {
            assert_eq!(p.describe(rule), text);
        }
        assert_eq!(
            p.describe(AllowRule::SpkiPin(0)),
            format!("allow_spki_sha256 = \"{}\"", "ab".repeat(32))
        );
        let debug = format!("{p:?}");
        assert!(
            debug.contains("allow_uri_prefix: [\"spiffe://fleet.example/device/\"]"),
            "{debug}"
        );
        assert_eq!(
            vec![AllowRule::Email(1).key(), AllowRule::SpkiPin(0).key()],
            ["allow_email", "allow_spki_sha256"]
        );
    }
}
