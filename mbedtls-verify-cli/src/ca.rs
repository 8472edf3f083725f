//! `ca`: a small fleet CA in a directory.
//!
//! `ca init` writes a root CA (`root.crt`, `root.key`) and an issuing CA signed by it
//! (`ca.crt`, `ca.key`), plus the index `index.tsv`. The issuing CA signs client and
//! server certificates and CRLs; the root key is needed only by `ca init`, so it can be
//! moved offline afterwards.
//!
//! # The index (`index.tsv`)
//!
//! Text, UTF-8, one record per line, fields separated by a tab; lines starting with
//! `#` are comments. Records:
//!
//! - `crl_number<TAB>N`: the number of the last CRL written (0: none yet);
//! - `cert<TAB>SERIAL<TAB>STATUS<TAB>NOT_AFTER<TAB>REVOKED_AT<TAB>PROFILE<TAB>SUBJECT`:
//!   one certificate the issuing CA signed. SERIAL is lowercase hex without a sign
//!   byte (as `openssl x509 -serial` prints it, in lowercase); STATUS is `valid` or
//!   `revoked`; NOT_AFTER and REVOKED_AT are RFC 3339 UTC (`-` when not revoked);
//!   PROFILE is `client` or `server`; SUBJECT is the subject name as printed by the
//!   tool (control characters escaped, so it holds no tab).
//!
//! Every command that changes the directory holds `DIR/.lock` (created exclusively and
//! removed at the end), and the index is replaced atomically (written aside, renamed).

use std::fs::OpenOptions;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use clap::{ArgGroup, Args, Subcommand, ValueEnum};

use mbedtls_verify::issue::{CertificateBuilder, CrlBuilder, San};
use mbedtls_verify::pk::{KeyType, PrivateKey};
use mbedtls_verify::x509::{
    AttributeKind, CertChain, CertRef, DateTime, ExtendedKeyUsage, IpAddress, KeyUsage, parse_hex,
    to_hex,
};

use crate::util::{CliResult, EXIT_OK, Failure, load_certs, load_key, log, out};

const ROOT_CRT: &str = "root.crt";
const ROOT_KEY: &str = "root.key";
const CA_CRT: &str = "ca.crt";
const CA_KEY: &str = "ca.key";
const INDEX: &str = "index.tsv";
const LOCK: &str = ".lock";

const DAY: i64 = 86_400;
/// Validity of the root CA and of the issuing CA written by `ca init`.
const ROOT_DAYS: i64 = 20 * 365;
const ISSUING_DAYS: i64 = 10 * 365;
/// Longest subject commonName (RFC 5280 ub-common-name).
const MAX_CN_CHARS: usize = 64;

#[derive(Debug, Subcommand)]
pub enum CaCmd {
    /// Create a root CA and an issuing CA in DIR (root.crt, root.key, ca.crt, ca.key,
    /// index.tsv); refuses to overwrite any of them.
    Init(InitArgs),
    /// Issue a client certificate (clientAuth) to PREFIX.crt and PREFIX.key.
    IssueClient(IssueClientArgs),
    /// Issue a server certificate (serverAuth) to PREFIX.crt and PREFIX.key.
    IssueServer(IssueServerArgs),
    /// Mark a certificate the issuing CA signed as revoked (publish with `ca crl`).
    Revoke(RevokeArgs),
    /// Write a CRL signed by the issuing CA listing every revoked certificate.
    Crl(CrlArgs),
}

/// Key algorithm of a new key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeyKind {
    P256,
    P384,
    Rsa2048,
    Rsa3072,
    Rsa4096,
}

impl KeyKind {
    /// The name on the command line (`p256`, `rsa3072`, ...).
    fn name(self) -> String {
        self.to_possible_value()
            .map_or_else(|| format!("{self:?}"), |v| v.get_name().to_string())
    }

    fn key_type(self) -> KeyType {
        match self {
            KeyKind::P256 => KeyType::EcdsaP256,
            KeyKind::P384 => KeyType::EcdsaP384,
            KeyKind::Rsa2048 => KeyType::Rsa(2048),
            KeyKind::Rsa3072 => KeyType::Rsa(3072),
            KeyKind::Rsa4096 => KeyType::Rsa(4096),
        }
    }
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The CA directory (created if missing).
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// The fleet's name: subjects "CN=NAME Root CA, O=NAME" and "CN=NAME Issuing CA, O=NAME".
    #[arg(long, value_name = "NAME", default_value = "Fleet")]
    name: String,
    /// Key algorithm of both CA keys.
    #[arg(long, value_enum, default_value_t = KeyKind::P256)]
    key_type: KeyKind,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("identity").required(true).multiple(true).args(["email", "uri", "cn"])))]
pub struct IssueClientArgs {
    /// The CA directory (`ca init`).
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// An email address for the SAN (repeatable).
    #[arg(long, value_name = "E")]
    email: Vec<String>,
    /// A URI for the SAN, e.g. spiffe://fleet.example/device/17 (repeatable).
    #[arg(long, value_name = "U")]
    uri: Vec<String>,
    /// The subject commonName (default: the first email or URI).
    #[arg(long, value_name = "N")]
    cn: Option<String>,
    /// Days of validity.
    #[arg(long, value_name = "N", default_value_t = 365,
          value_parser = clap::value_parser!(u32).range(1..=36_500))]
    days: u32,
    /// Write PREFIX.crt (certificate + issuing CA) and PREFIX.key (mode 0600).
    #[arg(long, value_name = "PREFIX")]
    out: PathBuf,
    /// Key algorithm.
    #[arg(long, value_enum, default_value_t = KeyKind::P256)]
    key_type: KeyKind,
}

#[derive(Debug, Args)]
pub struct IssueServerArgs {
    /// The CA directory (`ca init`).
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// DNS name(s) for the SAN; the first is also the subject commonName.
    #[arg(long, value_name = "NAME", required = true, num_args = 1..)]
    dns: Vec<String>,
    /// IP address(es) for the SAN.
    #[arg(long, value_name = "IP", num_args = 1..)]
    ip: Vec<IpAddr>,
    /// Days of validity.
    #[arg(long, value_name = "N", default_value_t = 365,
          value_parser = clap::value_parser!(u32).range(1..=36_500))]
    days: u32,
    /// Write PREFIX.crt (certificate + issuing CA) and PREFIX.key (mode 0600).
    #[arg(long, value_name = "PREFIX")]
    out: PathBuf,
    /// Key algorithm.
    #[arg(long, value_enum, default_value_t = KeyKind::P256)]
    key_type: KeyKind,
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The CA directory (`ca init`).
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// The serial number in hex (colons allowed), as `ca issue-*` printed it.
    #[arg(long, value_name = "HEX")]
    serial: String,
}

#[derive(Debug, Args)]
pub struct CrlArgs {
    /// The CA directory (`ca init`).
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// Where to write the CRL (PEM); an existing file is replaced.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Days until the CRL's nextUpdate.
    #[arg(long, value_name = "N", default_value_t = 7,
          value_parser = clap::value_parser!(u32).range(1..=3650))]
    days: u32,
}

pub fn run(cmd: CaCmd) -> CliResult<u8> {
    match cmd {
        CaCmd::Init(a) => init(a),
        CaCmd::IssueClient(a) => issue_client(a),
        CaCmd::IssueServer(a) => issue_server(a),
        CaCmd::Revoke(a) => revoke(a),
        CaCmd::Crl(a) => crl(a),
    }
}

// ---------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------

/// Holds `DIR/.lock` while a command changes the directory.
struct Lock(PathBuf);

impl Lock {
    fn take(dir: &Path) -> CliResult<Lock> {
        let path = dir.join(LOCK);
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(_) => Ok(Lock(path)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Err(Failure::input(format!(
                    "another `ca` command is using {} (if none is running, remove {})",
                    dir.display(),
                    path.display()
                )))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Failure::input(format!(
                "{} is not a CA directory (run `ca init --dir {}` first)",
                dir.display(),
                dir.display()
            ))),
            Err(e) => Err(Failure::input(format!(
                "cannot lock {}: {e}",
                path.display()
            ))),
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Create `path` with `data`; never replaces an existing file. Private keys get mode
/// 0600 (on Unix), set explicitly so that the umask does not change it.
fn create_file(path: &Path, data: &[u8], private: bool) -> CliResult {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Failure::input(format!(
                "{} exists: refusing to overwrite it",
                path.display()
            ))
        } else {
            Failure::input(format!("cannot create {}: {e}", path.display()))
        }
    })?;
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| Failure::input(format!("cannot protect {}: {e}", path.display())))?;
    }
    file.write_all(data)
        .and_then(|()| file.sync_all())
        .map_err(|e| Failure::input(format!("cannot write {}: {e}", path.display())))
}

/// Replace `path` atomically (write aside, then rename).
fn replace_file(path: &Path, data: &[u8]) -> CliResult {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    create_file(&tmp, data, false)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Failure::input(format!("cannot write {}: {e}", path.display()))
    })
}

fn refuse_existing(paths: &[&Path]) -> CliResult {
    for p in paths {
        if p.exists() {
            return Err(Failure::input(format!(
                "{} exists: refusing to overwrite it",
                p.display()
            )));
        }
    }
    Ok(())
}

/// `PREFIX.crt` and `PREFIX.key`.
fn out_paths(prefix: &Path) -> (PathBuf, PathBuf) {
    let with = |ext: &str| {
        let mut s = prefix.as_os_str().to_owned();
        s.push(ext);
        PathBuf::from(s)
    };
    (with(".crt"), with(".key"))
}

// ---------------------------------------------------------------------------------
// The index
// ---------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    serial: String,
    revoked_at: Option<String>,
    not_after: String,
    profile: String,
    subject: String,
}

#[derive(Debug, Default)]
struct Index {
    crl_number: u64,
    entries: Vec<Entry>,
}

const INDEX_HEADER: &str = "\
# mbedtls-verify CA index (format 1): tab-separated; '#' starts a comment.
# crl_number<TAB>N  -- the number of the last CRL written (0: none yet)
# cert<TAB>SERIAL<TAB>STATUS<TAB>NOT_AFTER<TAB>REVOKED_AT<TAB>PROFILE<TAB>SUBJECT
#   SERIAL: lowercase hex; STATUS: valid | revoked; times: RFC 3339 UTC, '-' if none
";

impl Index {
    fn load(dir: &Path) -> CliResult<Index> {
        let path = dir.join(INDEX);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Failure::input(format!(
                "cannot read the CA index {}: {e} (is {} a CA directory?)",
                path.display(),
                dir.display()
            ))
        })?;
        let mut index = Index::default();
        for (n, line) in text.lines().enumerate() {
            let bad =
                |why: &str| Failure::input(format!("{} line {}: {why}", path.display(), n + 1));
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split('\t').collect();
            match fields.as_slice() {
                ["crl_number", n] => {
                    index.crl_number = n.parse().map_err(|_| bad("crl_number is not a number"))?;
                }
                [
                    "cert",
                    serial,
                    status,
                    not_after,
                    revoked_at,
                    profile,
                    subject,
                ] => {
                    let serial = normalize_serial(serial).ok_or_else(|| bad("bad serial"))?;
                    let revoked_at = match (*status, *revoked_at) {
                        ("valid", _) => None,
                        ("revoked", t) => Some(t.to_string()),
                        _ => return Err(bad("status must be valid or revoked")),
                    };
                    index.entries.push(Entry {
                        serial,
                        revoked_at,
                        not_after: not_after.to_string(),
                        profile: profile.to_string(),
                        subject: subject.to_string(),
                    });
                }
                _ => return Err(bad("unknown record")),
            }
        }
        Ok(index)
    }

    fn save(&self, dir: &Path) -> CliResult {
        let mut text = String::from(INDEX_HEADER);
        text.push_str(&format!("crl_number\t{}\n", self.crl_number));
        for e in &self.entries {
            text.push_str(&format!(
                "cert\t{}\t{}\t{}\t{}\t{}\t{}\n",
                e.serial,
                if e.revoked_at.is_some() {
                    "revoked"
                } else {
                    "valid"
                },
                e.not_after,
                e.revoked_at.as_deref().unwrap_or("-"),
                e.profile,
                e.subject
            ));
        }
        replace_file(&dir.join(INDEX), text.as_bytes())
    }

    fn find(&self, serial: &str) -> Option<usize> {
        self.entries.iter().position(|e| e.serial == serial)
    }
}

/// Lowercase hex without leading zeros (`0x`, colons and spaces allowed on input).
fn normalize_serial(s: &str) -> Option<String> {
    let s = s.trim();
    let s = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    let digits: String = s.chars().filter(|c| *c != ':' && *c != ' ').collect();
    if digits.is_empty() || digits.len() > 64 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let trimmed = digits.trim_start_matches('0').to_ascii_lowercase();
    Some(if trimmed.is_empty() {
        "0".into()
    } else {
        trimmed
    })
}

/// Unsigned big-endian bytes of a normalized serial.
fn serial_bytes(serial: &str) -> Option<Vec<u8>> {
    if serial.len() % 2 == 1 {
        parse_hex(&format!("0{serial}"))
    } else {
        parse_hex(serial)
    }
}

// ---------------------------------------------------------------------------------
// Certificates
// ---------------------------------------------------------------------------------

fn now() -> CliResult<i64> {
    mbedtls_verify::platform::now()
        .ok_or_else(|| Failure::input("the system clock is not readable"))
}

fn date(t: i64) -> CliResult<DateTime> {
    DateTime::from_unix(t).ok_or_else(|| Failure::input("a date out of range (years 0 to 9999)"))
}

fn generate(kind: KeyKind) -> CliResult<PrivateKey> {
    PrivateKey::generate(kind.key_type())
        .map_err(|e| Failure::input(format!("cannot generate a key: {e}")))
}

/// An attribute value for mbedTLS's subject string: `#` and the hex of a UTF8String's
/// DER, so that no character of the value needs escaping.
fn utf8_value(what: &str, value: &str) -> CliResult<String> {
    if value.is_empty() || value.chars().count() > MAX_CN_CHARS {
        return Err(Failure::input(format!(
            "{what} must have 1 to {MAX_CN_CHARS} characters: {value:?}"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(Failure::input(format!(
            "{what} must not contain control characters: {value:?}"
        )));
    }
    let bytes = value.as_bytes();
    let len = match bytes.len() {
        n @ 0..=127 => format!("{n:02x}"),
        n => format!("81{n:02x}"),
    };
    Ok(format!("#0c{len}{}", to_hex(bytes)))
}

/// Error text of a library call that should not fail with valid input.
fn lib(what: &str) -> impl Fn(mbedtls_verify::Error) -> Failure + '_ {
    move |e| Failure::input(format!("{what}: {e}"))
}

fn ca_subject(cn: &str, org: &str) -> CliResult<String> {
    Ok(format!(
        "CN={},O={}",
        utf8_value("the CA name", cn)?,
        utf8_value("--name", org)?
    ))
}

fn pem_of(chain: &CertChain) -> String {
    chain.to_pem()
}

fn init(a: InitArgs) -> CliResult<u8> {
    let name = a.name.trim();
    if name.is_empty() {
        return Err(Failure::input("--name must not be empty"));
    }
    let root_subject = ca_subject(&format!("{name} Root CA"), name)?;
    let issuing_subject = ca_subject(&format!("{name} Issuing CA"), name)?;
    let dir = &a.dir;
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::input(format!("cannot create {}: {e}", dir.display())))?;
    let paths: Vec<PathBuf> = [ROOT_CRT, ROOT_KEY, CA_CRT, CA_KEY, INDEX]
        .iter()
        .map(|f| dir.join(f))
        .collect();
    refuse_existing(&paths.iter().map(PathBuf::as_path).collect::<Vec<_>>())?;
    let _lock = Lock::take(dir)?;

    let t = now()?;
    let root_key = generate(a.key_type)?;
    let root = CertificateBuilder::new(&root_subject)
        .ca(Some(1))
        .validity(date(t - 3600)?, date(t + ROOT_DAYS * DAY)?)
        .self_signed(&root_key)
        .map_err(lib("cannot create the root CA"))?;
    let root_ref = root.first().ok_or_else(|| Failure::input("empty root"))?;
    let ca_key = generate(a.key_type)?;
    let issuing = CertificateBuilder::new(&issuing_subject)
        .ca(Some(0))
        .validity(date(t - 3600)?, date(t + ISSUING_DAYS * DAY)?)
        .signed_by(&ca_key, root_ref, &root_key)
        .map_err(lib("cannot create the issuing CA"))?;
    let issuing_ref = issuing.first().ok_or_else(|| Failure::input("empty CA"))?;

    let root_key_pem = root_key
        .to_pem()
        .map_err(lib("cannot encode the root key"))?;
    let ca_key_pem = ca_key.to_pem().map_err(lib("cannot encode the CA key"))?;
    // Keys first: a certificate without its key would be useless.
    create_file(&dir.join(ROOT_KEY), root_key_pem.as_bytes(), true)?;
    create_file(&dir.join(CA_KEY), ca_key_pem.as_bytes(), true)?;
    create_file(&dir.join(ROOT_CRT), pem_of(&root).as_bytes(), false)?;
    create_file(&dir.join(CA_CRT), pem_of(&issuing).as_bytes(), false)?;
    let index = Index::default();
    let mut text = String::from(INDEX_HEADER);
    text.push_str(&format!("crl_number\t{}\n", index.crl_number));
    create_file(&dir.join(INDEX), text.as_bytes(), false)?;

    out(&format!(
        "created a fleet CA in {dir}\n\
         root CA:    {root_s} (serial {root_serial}, until {root_until})\n\
         \x20           {dir}/{ROOT_CRT}, key {dir}/{ROOT_KEY} (needed only to create the issuing CA: keep it offline)\n\
         issuing CA: {ca_s} (serial {ca_serial}, until {ca_until})\n\
         \x20           {dir}/{CA_CRT}, key {dir}/{CA_KEY}\n\
         index:      {dir}/{INDEX}\n\
         trust anchor for servers and clients: {dir}/{ROOT_CRT}\n\
         issuing CA key pin (allow_issuer_spki_sha256): {pin}\n",
        dir = dir.display(),
        root_s = root_ref.subject(),
        root_serial = root_ref.serial_hex(),
        root_until = root_ref.not_after(),
        ca_s = issuing_ref.subject(),
        ca_serial = issuing_ref.serial_hex(),
        ca_until = issuing_ref.not_after(),
        pin = to_hex(&issuing_ref.spki_sha256()),
    ))?;
    Ok(EXIT_OK)
}

/// The issuing CA and its key, checked to belong together.
struct Issuer {
    chain: CertChain,
    key: PrivateKey,
}

impl Issuer {
    fn load(dir: &Path) -> CliResult<Issuer> {
        let crt = dir.join(CA_CRT);
        if !crt.exists() && !dir.join(INDEX).exists() {
            return Err(Failure::input(format!(
                "{} is not a CA directory (run `ca init --dir {}` first)",
                dir.display(),
                dir.display()
            )));
        }
        let chain = load_certs(std::slice::from_ref(&crt), "CA certificate")?;
        let key = load_key(&dir.join(CA_KEY))?;
        let matches = chain.first().is_some_and(|c| c.matches_key(&key));
        if !matches {
            return Err(Failure::input(format!(
                "the key {} does not match the certificate {}",
                dir.join(CA_KEY).display(),
                crt.display()
            )));
        }
        Ok(Issuer { chain, key })
    }

    fn cert(&self) -> CertRef<'_> {
        // `load_certs` never returns an empty chain.
        self.chain
            .iter()
            .next()
            .expect("a loaded chain has a certificate")
    }
}

/// What differs between client and server certificates.
struct Profile {
    name: &'static str,
    eku: ExtendedKeyUsage<'static>,
    cn: String,
    sans: Vec<San>,
}

fn issue(dir: &Path, prefix: &Path, days: u32, key_kind: KeyKind, p: Profile) -> CliResult<u8> {
    let (crt_path, key_path) = out_paths(prefix);
    refuse_existing(&[&crt_path, &key_path])?;
    let issuer = Issuer::load(dir)?;
    let _lock = Lock::take(dir)?;
    let mut index = Index::load(dir)?;

    let t = now()?;
    let not_after = t + i64::from(days) * DAY;
    let ca = issuer.cert();
    if not_after > ca.not_after().unix_timestamp() {
        return Err(Failure::input(format!(
            "--days {days} would outlive the issuing CA (valid until {})",
            ca.not_after()
        )));
    }
    let mut subject = format!("CN={}", utf8_value("the commonName", &p.cn)?);
    if let Some(org) = ca
        .subject()
        .attributes()
        .find(|a| a.kind == AttributeKind::Organization)
    {
        subject.push_str(&format!(",O=#{}", to_hex(org.value_der())));
    }
    let key = generate(key_kind)?;
    let mut usage = KeyUsage::DIGITAL_SIGNATURE;
    if key.is_rsa() && p.name == "server" {
        usage |= KeyUsage::KEY_ENCIPHERMENT;
    }
    let builder = CertificateBuilder::new(&subject)
        .leaf()
        .key_usage(usage)
        .extended_key_usage(std::slice::from_ref(&p.eku))
        .sans(p.sans.clone())
        .validity(date(t - 3600)?, date(not_after)?);
    // Random serials; a collision with an issued one (never seen in practice) is retried.
    let mut leaf = None;
    for _ in 0..4 {
        let cert = builder
            .signed_by(&key, ca, &issuer.key)
            .map_err(lib("cannot issue the certificate"))?;
        let serial = cert.first().map(|c| c.serial_hex()).unwrap_or_default();
        let serial = normalize_serial(&serial).unwrap_or_default();
        if index.find(&serial).is_none() {
            leaf = Some((cert, serial));
            break;
        }
    }
    let (cert, serial) =
        leaf.ok_or_else(|| Failure::input("cannot find an unused serial number"))?;
    let cert_ref = cert
        .first()
        .ok_or_else(|| Failure::input("empty certificate"))?;

    index.entries.push(Entry {
        serial: serial.clone(),
        revoked_at: None,
        not_after: cert_ref.not_after().to_string(),
        profile: p.name.into(),
        subject: cert_ref.subject().to_string(),
    });
    // The index first: an entry for a certificate that was not written is harmless; a
    // certificate the index does not know could not be revoked.
    index.save(dir)?;
    let key_pem = key.to_pem().map_err(lib("cannot encode the key"))?;
    create_file(&key_path, key_pem.as_bytes(), true)?;
    let mut chain_pem = pem_of(&cert);
    chain_pem.push_str(&pem_of(&issuer.chain));
    if let Err(e) = create_file(&crt_path, chain_pem.as_bytes(), false) {
        let _ = std::fs::remove_file(&key_path);
        return Err(e);
    }

    let sans: Vec<String> = cert_ref
        .subject_alt_names()
        .map(|s| s.to_string())
        .collect();
    out(&format!(
        "issued a {} certificate\n\
         subject:   {}\n\
         SAN:       {}\n\
         serial:    {serial}\n\
         valid:     {} .. {}\n\
         key:       {}, SPKI SHA-256 (allow_spki_sha256) {}\n\
         files:     {} (certificate + issuing CA), {} (private key, mode 0600)\n",
        p.name,
        cert_ref.subject(),
        if sans.is_empty() {
            "(none)".into()
        } else {
            sans.join(", ")
        },
        cert_ref.not_before(),
        cert_ref.not_after(),
        key_kind.name(),
        to_hex(&cert_ref.spki_sha256()),
        crt_path.display(),
        key_path.display(),
    ))?;
    Ok(EXIT_OK)
}

/// Printable ASCII without spaces: what the SAN types here may hold.
fn check_ascii(what: &str, v: &str) -> CliResult {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Failure::input(format!(
            "{what} must be non-empty printable ASCII without spaces: {v:?}"
        )));
    }
    Ok(())
}

fn issue_client(a: IssueClientArgs) -> CliResult<u8> {
    let mut sans = Vec::new();
    for e in &a.email {
        check_ascii("--email", e)?;
        let valid = e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        });
        if !valid {
            return Err(Failure::input(format!(
                "--email {e:?} is not an email address (local@domain)"
            )));
        }
        sans.push(San::Email(e.clone()));
    }
    for u in &a.uri {
        check_ascii("--uri", u)?;
        let valid = u.split_once(':').is_some_and(|(scheme, rest)| {
            !rest.is_empty()
                && scheme
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        });
        if !valid {
            return Err(Failure::input(format!(
                "--uri {u:?} is not a URI (scheme:rest, e.g. spiffe://fleet.example/device/17)"
            )));
        }
        sans.push(San::Uri(u.clone()));
    }
    let cn =
        a.cn.clone()
            .or_else(|| a.email.first().cloned())
            .or_else(|| a.uri.first().cloned())
            .ok_or_else(|| Failure::input("give at least one of --email, --uri, --cn"))?;
    if a.cn.is_none() && cn.chars().count() > MAX_CN_CHARS {
        return Err(Failure::input(format!(
            "{cn:?} is too long for a commonName ({MAX_CN_CHARS} characters): give --cn"
        )));
    }
    issue(
        &a.dir,
        &a.out,
        a.days,
        a.key_type,
        Profile {
            name: "client",
            eku: ExtendedKeyUsage::ClientAuth,
            cn,
            sans,
        },
    )
}

fn valid_dns_name(name: &str) -> bool {
    let name = name.strip_prefix("*.").unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

fn issue_server(a: IssueServerArgs) -> CliResult<u8> {
    let mut sans = Vec::new();
    for d in &a.dns {
        if !valid_dns_name(d) {
            return Err(Failure::input(format!(
                "--dns {d:?} is not a DNS name (letters, digits, '-', dots; '*.' prefix allowed)"
            )));
        }
        sans.push(San::Dns(d.to_ascii_lowercase()));
    }
    sans.extend(a.ip.iter().map(|ip| San::Ip(IpAddress::from(*ip))));
    let cn = a.dns[0].to_ascii_lowercase();
    issue(
        &a.dir,
        &a.out,
        a.days,
        a.key_type,
        Profile {
            name: "server",
            eku: ExtendedKeyUsage::ServerAuth,
            cn,
            sans,
        },
    )
}

fn revoke(a: RevokeArgs) -> CliResult<u8> {
    let serial = normalize_serial(&a.serial).ok_or_else(|| {
        Failure::input(format!(
            "--serial {:?} is not a serial number in hex",
            a.serial
        ))
    })?;
    Issuer::load(&a.dir)?;
    let _lock = Lock::take(&a.dir)?;
    let mut index = Index::load(&a.dir)?;
    let i = index.find(&serial).ok_or_else(|| {
        Failure::input(format!(
            "serial {serial} was not issued by the CA in {}",
            a.dir.display()
        ))
    })?;
    if let Some(at) = &index.entries[i].revoked_at {
        log(format!("serial {serial} was already revoked at {at}"));
        return Ok(EXIT_OK);
    }
    let at = date(now()?)?.to_string();
    index.entries[i].revoked_at = Some(at.clone());
    index.save(&a.dir)?;
    out(&format!(
        "revoked serial {serial} ({}) at {at}\npublish it: ca crl --dir {} --out CRL_FILE\n",
        index.entries[i].subject,
        a.dir.display()
    ))?;
    Ok(EXIT_OK)
}

fn crl(a: CrlArgs) -> CliResult<u8> {
    let issuer = Issuer::load(&a.dir)?;
    let _lock = Lock::take(&a.dir)?;
    let mut index = Index::load(&a.dir)?;
    let t = now()?;
    let this_update = date(t)?;
    let next_update = date(t + i64::from(a.days) * DAY)?;
    let number = index.crl_number + 1;
    let mut builder = CrlBuilder::new(issuer.cert(), &issuer.key)
        .this_update(this_update)
        .next_update(next_update)
        .number(number);
    let mut revoked = 0usize;
    for e in &index.entries {
        let Some(at) = &e.revoked_at else { continue };
        let bytes = serial_bytes(&e.serial)
            .ok_or_else(|| Failure::input(format!("bad serial {} in the index", e.serial)))?;
        let when = DateTime::parse_rfc3339(at)
            .ok_or_else(|| Failure::input(format!("bad revocation time {at:?} in the index")))?;
        builder = builder.revoke(&bytes, when);
        revoked += 1;
    }
    let pem = builder.to_pem().map_err(lib("cannot write the CRL"))?;
    // The number is spent before the CRL is written: numbers must never repeat.
    index.crl_number = number;
    index.save(&a.dir)?;
    replace_file(&a.out, pem.as_bytes())?;
    out(&format!(
        "wrote CRL number {number} with {revoked} revoked certificate(s) to {}\n\
         this update {this_update}, next update {next_update}\n",
        a.out.display()
    ))?;
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_are_normalized() {
        assert_eq!(normalize_serial("0x00:4F:2a").as_deref(), Some("4f2a"));
        assert_eq!(normalize_serial("000").as_deref(), Some("0"));
        assert_eq!(normalize_serial("xyz"), None);
        assert_eq!(normalize_serial(""), None);
        assert_eq!(serial_bytes("f2a"), Some(vec![0x0f, 0x2a]));
    }

    #[test]
    fn utf8_values_are_hex_der() {
        assert_eq!(utf8_value("cn", "a,b").unwrap(), "#0c03612c62");
        assert!(utf8_value("cn", "").is_err());
        assert!(utf8_value("cn", "a\tb").is_err());
        let long = "é".repeat(64);
        assert!(utf8_value("cn", &long).unwrap().starts_with("#0c8180"));
    }

    #[test]
    fn dns_names() {
        assert!(valid_dns_name("localhost"));
        assert!(valid_dns_name("*.fleet.example"));
        assert!(!valid_dns_name("bad name"));
        assert!(!valid_dns_name("-x.example"));
        assert!(!valid_dns_name("a..b"));
    }
}
