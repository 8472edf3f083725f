//! Writes the seed corpora of the fuzz targets (and, with `--fixtures`, the fixed PKI).
//!
//! ```text
//! make_corpus CORPUS_DIR          # CORPUS_DIR/<target>/<seed>, for every target
//! make_corpus --fixtures DIR      # a new fixed PKI (invalidates recorded seeds)
//! ```
//!
//! Everything is made through the crate: certificates with `issue::CertificateBuilder`
//! (signed by the fixture CAs, so that chains verify), TLS flights recorded from
//! in-memory handshakes through a transport that tees what each side sends, with the
//! deterministic entropy and clock the TLS targets use (so the flights replay).

use std::fs;
use std::path::{Path, PathBuf};

use mbedtls_verify::der::Writer;
use mbedtls_verify::issue::{CertificateBuilder, San};
use mbedtls_verify::pk::{KeyType, PrivateKey};
use mbedtls_verify::ssl::mem::memory_pair;
use mbedtls_verify::ssl::{ClientConfig, Identity, ServerConfig, Session};
use mbedtls_verify::x509::{CertChain, DateTime, ExtendedKeyUsage, HashAlgorithm, IpAddress};
use mbedtls_verify::Error;
use mvfuzz::*;

const O: &str = "O=mbedtls-verify fuzz";

fn date(y: u16) -> DateTime {
    DateTime::new(y, 1, 1, 0, 0, 0).unwrap()
}

fn valid(b: CertificateBuilder) -> CertificateBuilder {
    b.validity(date(2020), date(2049))
}

struct Ca {
    cert: CertChain,
    key: PrivateKey,
}

fn p256() -> PrivateKey {
    PrivateKey::generate(KeyType::EcdsaP256).unwrap()
}

fn load(crt: &[u8], key: &[u8]) -> Ca {
    Ca {
        cert: CertChain::from_pem(crt).unwrap(),
        key: PrivateKey::parse(key).unwrap(),
    }
}

fn issue(parent: &Ca, b: CertificateBuilder, key: &PrivateKey) -> CertChain {
    b.signed_by(key, parent.cert.first().unwrap(), &parent.key)
        .unwrap()
}

fn issue_der(parent: &Ca, b: CertificateBuilder, key: &PrivateKey) -> Vec<u8> {
    b.signed_by_der(key, parent.cert.first().unwrap(), &parent.key)
        .unwrap()
}

fn sub_ca(parent: &Ca, cn: &str, path_len: Option<u32>, serial: u8) -> Ca {
    let key = p256();
    let cert = issue(
        parent,
        valid(CertificateBuilder::new(&format!("CN={cn},{O}")))
            .ca(path_len)
            .serial(&[serial]),
        &key,
    );
    Ca { cert, key }
}

fn client_builder(cn: &str, n: u32) -> CertificateBuilder {
    valid(CertificateBuilder::new(&format!("CN={cn},{O}")))
        .extended_key_usage(&[ExtendedKeyUsage::ClientAuth])
        .san(San::Uri(format!("{DEVICE_URI_PREFIX}{n}")))
}

fn concat(certs: &[&CertChain]) -> CertChain {
    let mut c = CertChain::new().unwrap();
    for chain in certs {
        for cert in chain.iter() {
            c.push_der(cert.der()).unwrap();
        }
    }
    c
}

fn der_concat(c: &CertChain) -> Vec<u8> {
    c.iter().flat_map(|c| c.der().to_vec()).collect()
}

// ---------------------------------------------------------------------------------

fn write_fixtures(dir: &Path) {
    fs::create_dir_all(dir).unwrap();
    let ca_key = p256();
    let ca = valid(CertificateBuilder::new(&format!("CN=Fuzz Root CA,{O}")))
        .ca(None)
        .serial(&[1])
        .self_signed(&ca_key)
        .unwrap();
    let ca = Ca {
        cert: ca,
        key: ca_key,
    };
    let int = sub_ca(&ca, "Fuzz Issuing CA", Some(0), 2);
    let client_key = p256();
    let client = issue(
        &int,
        client_builder("device-1", 1)
            .san(San::Email("device-1@devices.fuzz.example".into()))
            .serial(&[3]),
        &client_key,
    );
    let server_key = p256();
    let server = issue(
        &int,
        valid(CertificateBuilder::new(&format!("CN={SERVER_NAME},{O}")))
            .extended_key_usage(&[ExtendedKeyUsage::ServerAuth])
            .san(San::Dns(SERVER_NAME.into()))
            .serial(&[4]),
        &server_key,
    );
    let w = |name: &str, data: &[u8]| fs::write(dir.join(name), data).unwrap();
    w("ca.crt", ca.cert.to_pem().as_bytes());
    w("ca.key", ca.key.to_pem().unwrap().as_bytes());
    w("int.crt", int.cert.to_pem().as_bytes());
    w("int.key", int.key.to_pem().unwrap().as_bytes());
    w(
        "client.crt",
        concat(&[&client, &int.cert]).to_pem().as_bytes(),
    );
    w("client.key", client_key.to_pem().unwrap().as_bytes());
    w(
        "server.crt",
        concat(&[&server, &int.cert]).to_pem().as_bytes(),
    );
    w("server.key", server_key.to_pem().unwrap().as_bytes());
    println!("fixtures written to {}", dir.display());
}

// ---------------------------------------------------------------------------------

struct Out {
    root: PathBuf,
    count: usize,
}

impl Out {
    fn put(&mut self, target: &str, name: &str, data: &[u8]) {
        let dir = self.root.join(target);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(name), data).unwrap();
        self.count += 1;
    }

    /// A chain for `verify_chain` (DER concatenation and PEM) and each certificate of it
    /// for `x509_parse` and `der_reader`.
    fn chain(&mut self, name: &str, chain: &CertChain) {
        self.put("verify_chain", &format!("{name}.der"), &der_concat(chain));
        self.put(
            "verify_chain",
            &format!("{name}.pem"),
            chain.to_pem().as_bytes(),
        );
        self.put(
            "x509_parse",
            &format!("{name}.pem"),
            chain.to_pem().as_bytes(),
        );
        for (i, c) in chain.iter().enumerate() {
            self.put("x509_parse", &format!("{name}-{i}.der"), c.der());
            self.put("der_reader", &format!("{name}-{i}.der"), c.der());
            for (j, e) in c.extensions().flatten().enumerate() {
                self.put("der_reader", &format!("{name}-{i}-ext{j}"), e.value);
            }
            self.put(
                "der_reader",
                &format!("{name}-{i}-subject"),
                c.subject().der(),
            );
        }
    }
}

fn certificate_seeds(out: &mut Out) {
    let ca = load(fixtures::CA_CRT, fixtures::CA_KEY);
    let int = load(fixtures::INT_CRT, fixtures::INT_KEY);
    let client = CertChain::from_pem(fixtures::CLIENT_CRT).unwrap();
    let leaf = CertChain::from_der(client.first().unwrap().der()).unwrap();

    out.chain("good", &client);
    out.chain("leaf-only", &leaf);
    out.chain("with-anchor", &concat(&[&client, &ca.cert]));
    out.chain("anchor-only", &ca.cert);
    out.chain(
        "server",
        &CertChain::from_pem(fixtures::SERVER_CRT).unwrap(),
    );
    let k = p256();
    out.chain("direct", &issue(&ca, client_builder("direct", 2), &k));
    let mut add = |name: &str, b: CertificateBuilder| {
        let k = p256();
        let c = issue(&int, b, &k);
        out.chain(name, &concat(&[&c, &int.cert]));
    };
    add(
        "eku-server",
        valid(CertificateBuilder::new(&format!("CN=web,{O}")))
            .extended_key_usage(&[ExtendedKeyUsage::ServerAuth])
            .san(San::Uri(format!("{DEVICE_URI_PREFIX}3"))),
    );
    add(
        "no-eku",
        valid(CertificateBuilder::new(&format!("CN=plain,{O}")))
            .san(San::Uri(format!("{DEVICE_URI_PREFIX}4"))),
    );
    add(
        "expired",
        client_builder("old", 5).validity(date(2020), date(2021)),
    );
    add(
        "not-yet",
        client_builder("future", 6).validity(date(2040), date(2045)),
    );
    add(
        "other-uri",
        valid(CertificateBuilder::new(&format!("CN=x,{O}")))
            .extended_key_usage(&[ExtendedKeyUsage::ClientAuth, ExtendedKeyUsage::Any])
            .san(San::Uri("spiffe://other.example/device/7".into())),
    );
    add(
        "all-sans",
        client_builder("sans", 8)
            .san(San::Email("a@devices.fuzz.example".into()))
            .san(San::Dns("a.fuzz.example".into()))
            .san(San::Ip(IpAddress::parse("192.0.2.7").unwrap()))
            .san(San::Ip(IpAddress::parse("2001:db8::7").unwrap()))
            .san(San::Raw {
                tag: 0xA0,
                contents: {
                    let mut w = Writer::new();
                    w.oid_dotted("1.3.6.1.4.1.311.20.2.3").unwrap();
                    w.explicit(0, |w| {
                        w.utf8_string("upn@fuzz.example");
                    });
                    w.into_vec()
                },
            })
            .san(San::Raw {
                tag: 0xA4,
                contents: {
                    let mut w = Writer::new();
                    w.sequence(|w| {
                        w.set(|w| {
                            w.sequence(|w| {
                                w.oid_dotted("2.5.4.3").unwrap();
                                w.utf8_string("dir");
                            });
                        });
                    });
                    w.into_vec()
                },
            }),
    );
    add(
        "key-usage",
        client_builder("ku", 9)
            .key_usage(mbedtls_verify::x509::KeyUsage::KEY_ENCIPHERMENT)
            .basic_constraints_leaf()
            .hash(HashAlgorithm::Sha384),
    );
    add(
        "policies",
        client_builder("pol", 10)
            .raw_extension("2.5.29.32", false, {
                let mut w = Writer::new();
                w.sequence(|w| {
                    w.sequence(|w| {
                        w.oid_dotted("2.5.29.32.0").unwrap();
                    });
                });
                w.into_vec()
            })
            .key_identifiers(false),
    );
    add(
        "name-constraints",
        client_builder("nc", 11).raw_extension("2.5.29.30", false, vec![0x30, 0x00]),
    );
    add(
        "multi-valued-rdn",
        valid(CertificateBuilder::new(&format!(
            "CN=a\\,b+OU=x,emailAddress=e@fuzz.example,DC=fuzz,{O},C=DE,L=Here,ST=There,serialNumber=42"
        )))
        .extended_key_usage(&[ExtendedKeyUsage::ClientAuth]),
    );
    {
        let k = PrivateKey::generate(KeyType::EcdsaP384).unwrap();
        let c = issue(&int, client_builder("p384", 12), &k);
        out.chain("p384", &concat(&[&c, &int.cert]));
        let k = PrivateKey::generate(KeyType::Rsa(2048)).unwrap();
        let c = issue(&int, client_builder("rsa", 13), &k);
        out.chain("rsa", &concat(&[&c, &int.cert]));
    }
    // An unknown critical extension: mbedTLS refuses it at parse time.
    {
        let k = p256();
        let der = issue_der(
            &int,
            client_builder("crit", 14).raw_extension("1.2.3.4.5", true, vec![0x05, 0x00]),
            &k,
        );
        out.put("x509_parse", "unknown-critical.der", &der);
        out.put("verify_chain", "unknown-critical.der", &der);
    }
    // The 2026 CA-bit forgery: a leaf with basicConstraints SEQUENCE { INTEGER 5 }
    // issuing another leaf.
    {
        let k = p256();
        let forged = issue(
            &ca,
            valid(CertificateBuilder::new(&format!("CN=forged,{O}")))
                .raw_extension("2.5.29.19", true, vec![0x30, 0x03, 0x02, 0x01, 0x05])
                .serial(&[20]),
            &k,
        );
        let forged = Ca {
            cert: forged,
            key: k,
        };
        let k2 = p256();
        let victim = issue(&forged, client_builder("victim", 15), &k2);
        out.chain("forged-bc", &concat(&[&victim, &forged.cert]));
    }
    // pathLen: the issuing CA has pathLen 0, so a CA under it cannot issue.
    {
        let sub = sub_ca(&int, "Too Deep CA", None, 21);
        let k = p256();
        let l = issue(&sub, client_builder("deep", 16), &k);
        out.chain("pathlen", &concat(&[&l, &sub.cert, &int.cert]));
    }
    // Name constraints on an intermediate (critical and not), with a leaf inside and one
    // outside: permitted URI host, email domain, DNS and IPv4 subtrees; an excluded DNS
    // subtree.
    {
        let host = DEVICE_URI_PREFIX
            .split("//")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .unwrap();
        let permitted = [
            San::Uri(host.into()),
            San::Email(".fuzz.example".into()),
            San::Dns("fuzz.example".into()),
            San::Raw {
                tag: 0x87,
                contents: vec![192, 0, 2, 0, 255, 255, 255, 0],
            },
        ];
        let excluded = [San::Dns("bad.fuzz.example".into())];
        for (critical, serial) in [(false, 40u8), (true, 41)] {
            let key = p256();
            let cert = issue(
                &int,
                valid(CertificateBuilder::new(&format!("CN=Constrained {serial},{O}")))
                    .ca(None)
                    .serial(&[serial])
                    .name_constraints(critical, &permitted, &excluded),
                &key,
            );
            let sub = Ca { cert, key };
            let k = p256();
            let inside = issue(
                &sub,
                client_builder("inside", 18)
                    .san(San::Dns("device.fuzz.example".into()))
                    .san(San::Email("d@x.fuzz.example".into())),
                &k,
            );
            let outside = issue(
                &sub,
                client_builder("outside", 19).san(San::Dns("bad.fuzz.example".into())),
                &k,
            );
            let tag = if critical { "critical" } else { "noncritical" };
            out.chain(
                &format!("nc-{tag}-inside"),
                &concat(&[&inside, &sub.cert, &int.cert]),
            );
            out.chain(
                &format!("nc-{tag}-outside"),
                &concat(&[&outside, &sub.cert, &int.cert]),
            );
        }
    }
    // Nine intermediates (mbedTLS allows 8).
    {
        let mut cas = vec![sub_ca(&ca, "Long 1", None, 30)];
        for i in 2..=9u8 {
            let next = sub_ca(cas.last().unwrap(), &format!("Long {i}"), None, 29 + i);
            cas.push(next);
        }
        let k = p256();
        let l = issue(cas.last().unwrap(), client_builder("long", 17), &k);
        let mut parts = vec![&l];
        parts.extend(cas.iter().rev().map(|c| &c.cert));
        out.chain("nine-intermediates", &concat(&parts));
        let parts3: Vec<&CertChain> = parts[..4].to_vec();
        out.chain("three-of-long", &concat(&parts3));
    }
    // A loop: two CAs with each other as issuer.
    {
        let ka = p256();
        let kb = p256();
        let a_self = valid(CertificateBuilder::new(&format!("CN=Loop A,{O}")))
            .ca(None)
            .self_signed(&ka)
            .unwrap();
        let a_ca = Ca {
            cert: a_self,
            key: ka,
        };
        let b = issue(
            &a_ca,
            valid(CertificateBuilder::new(&format!("CN=Loop B,{O}"))).ca(None),
            &kb,
        );
        let b_ca = Ca { cert: b, key: kb };
        let a = issue(
            &b_ca,
            valid(CertificateBuilder::new(&format!("CN=Loop A,{O}"))).ca(None),
            &a_ca.key,
        );
        let k = p256();
        let l = issue(&b_ca, client_builder("loop", 18), &k);
        out.chain("loop", &concat(&[&l, &b_ca.cert, &a, &b_ca.cert, &a]));
    }
    // Untrusted self-signed leaf and duplicates.
    {
        let k = p256();
        let s = client_builder("self", 19).self_signed(&k).unwrap();
        out.chain("self-signed", &s);
        out.chain("duplicates", &concat(&[&client, &client, &int.cert]));
    }
    // Odd text for the DER reader's string helpers.
    for (i, s) in [
        "2030-01-01T00:00:00Z",
        "2026-01-02T05:04:05.123+02:00",
        "0a:1B:ff",
        "5f1c9a0e77423bd8c106aa934e2db0186cf53a910de75824b36fc0198e47a23d",
        "1.2.840.10045.4.3.2",
        "rsa-pss-sha256",
        "clientAuth",
        "2001:db8::1",
    ]
    .iter()
    .enumerate()
    {
        out.put("der_reader", &format!("text-{i}"), s.as_bytes());
    }
}

fn policy_seeds(out: &mut Out) {
    let seeds: &[(&str, &str)] = &[
        (
            "readme",
            r#"# clients.toml: who may connect. All keys are optional.
require_eku = ["clientAuth"]
allow_uri_prefix = ["spiffe://fleet.example/device/"]
allow_email_domain = ["devices.fleet.example"]
allow_spki_sha256 = ["5f1c9a0e77423bd8c106aa934e2db0186cf53a910de75824b36fc0198e47a23d"]
max_chain_depth = 2
min_ec_bits = 256
min_rsa_bits = 3072
signature_algorithms = ["ecdsa-sha256", "ecdsa-sha384"]
deny_serial = [
  { issuer_spki_sha256 = "0e3f5c6a1b2d4e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7", serial = "4f2a91" },
]
allow_issuer_spki_sha256 = ["0e3f5c6a1b2d4e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7"]
"#,
        ),
        (
            "every-allow",
            r#"allow_email = ["device-1@devices.fuzz.example"]
allow_email_domain = ["devices.fuzz.example"]
allow_uri = ["spiffe://fuzz.example/device/1"]
allow_uri_prefix = ["spiffe://fuzz.example/device/"]
allow_dns = ["server.fuzz.example", "*.fuzz.example"]
allow_subject_cn = ["device-1"]
allow_subject_o = ["mbedtls-verify fuzz"]
allow_subject_ou = ["x"]
allow_missing_eku = true
require_eku = ["clientAuth", "1.3.6.1.5.5.7.3.2", "anyExtendedKeyUsage"]
signature_algorithms = ["rsa-pss", "rsa-pss-sha512", "rsa-pkcs1-sha256", "1.2.3.4"]
"#,
        ),
        ("any", "allow_any_verified = true\nmax_chain_depth = 0\n"),
        (
            "contradiction",
            "allow_any_verified = true\nallow_dns = [\"a.example\"]\n",
        ),
        ("empty-eku", "require_eku = []\n"),
        ("bad-prefix", "allow_uri_prefix = [\"spiffe://fleet.example\"]\n"),
        ("bad-pin", "allow_spki_sha256 = [\"00:11\"]\n"),
        ("unknown", "allow_everyone = true\n"),
        (
            "deny-table",
            "[[deny_serial]]\nissuer_spki_sha256 = \"0E:3F:5C:6A:1B:2D:4E:7F:80:91:A2:B3:C4:D5:E6:F7:08:19:2A:3B:4C:5D:6E:7F:80:91:A2:B3:C4:D5:E6:F7\"\nserial = \"abc\"\n",
        ),
        ("syntax", "allow_dns = [\"a\"\n"),
        ("wrong-type", "max_chain_depth = \"two\"\n"),
        ("empty", ""),
    ];
    for (name, text) in seeds {
        out.put("policy_toml", &format!("{name}.toml"), text.as_bytes());
    }
}

// ---------------------------------------------------------------------------------
// TLS flights
// ---------------------------------------------------------------------------------

/// A handshake between `client` and `server` over a teed memory pair, each side on its
/// own deterministic entropy stream (as in the targets); then a little application data
/// and a close. Returns what the client and the server sent.
fn record(client: &ClientConfig, server: &ServerConfig) -> (Vec<u8>, Vec<u8>, bool) {
    let (a, b) = memory_pair();
    let (ta, client_sent) = Tee::new(a);
    let (tb, server_sent) = Tee::new(b);
    reset_stream(Side::Client);
    let mut c = Session::client(client, SERVER_NAME, ta).unwrap();
    reset_stream(Side::Server);
    let mut s = Session::server(server, tb).unwrap();
    let want =
        |r: &mbedtls_verify::Result<()>| matches!(r, Err(Error::WantRead | Error::WantWrite));
    let (mut cr, mut sr) = (None, None);
    for _ in 0..64 {
        if cr.is_none() {
            switch_side(Side::Client);
            let r = c.handshake();
            if !want(&r) {
                cr = Some(r);
            }
        }
        if sr.is_none() {
            switch_side(Side::Server);
            let r = s.handshake();
            if !want(&r) {
                sr = Some(r);
            }
        }
        match (&cr, &sr) {
            (Some(_), Some(_)) => break,
            (Some(Err(_)), None) => {
                switch_side(Side::Server);
                let _ = s.handshake();
                break;
            }
            (None, Some(Err(_))) => {
                switch_side(Side::Client);
                let _ = c.handshake();
                break;
            }
            _ => {}
        }
    }
    let ok = matches!((&cr, &sr), (Some(Ok(())), Some(Ok(()))));
    if ok {
        let mut buf = [0u8; 64];
        switch_side(Side::Client);
        c.write_all(b"ping from the client").unwrap();
        switch_side(Side::Server);
        let _ = s.read(&mut buf);
        s.write_all(b"pong from the server").unwrap();
        switch_side(Side::Client);
        let _ = c.read(&mut buf);
        let _ = c.close();
        switch_side(Side::Server);
        let _ = s.read(&mut buf);
        let _ = s.close();
    }
    take_calls();
    let cs = client_sent.borrow().clone();
    let ss = server_sent.borrow().clone();
    (cs, ss, ok)
}

/// An identity kept as PEM, so that a fresh `Identity` can be made for every config.
struct IdPem {
    name: &'static str,
    crt: String,
    key: String,
}

impl IdPem {
    fn new(name: &'static str, leaf: &CertChain, key: &PrivateKey, extra: &[&CertChain]) -> Self {
        let mut parts = vec![leaf];
        parts.extend_from_slice(extra);
        IdPem {
            name,
            crt: concat(&parts).to_pem(),
            key: String::from_utf8(key.to_pem().unwrap().as_bytes().to_vec()).unwrap(),
        }
    }

    fn fixture(name: &'static str, crt: &[u8], key: &[u8]) -> Self {
        IdPem {
            name,
            crt: String::from_utf8(crt.to_vec()).unwrap(),
            key: String::from_utf8(key.to_vec()).unwrap(),
        }
    }

    fn identity(&self) -> Identity {
        identity(self.crt.as_bytes(), self.key.as_bytes())
    }
}

fn tls_seeds(out: &mut Out) {
    make_deterministic();
    let ca = load(fixtures::CA_CRT, fixtures::CA_KEY);
    let int = load(fixtures::INT_CRT, fixtures::INT_KEY);

    // Client identities the server target's seeds come from (None: no certificate).
    let mut clients: Vec<(&str, Option<IdPem>)> = vec![
        (
            "client",
            Some(IdPem::fixture(
                "client",
                fixtures::CLIENT_CRT,
                fixtures::CLIENT_KEY,
            )),
        ),
        ("no-cert", None),
    ];
    let k = p256();
    let l = issue(
        &int,
        valid(CertificateBuilder::new(&format!("CN=web,{O}")))
            .extended_key_usage(&[ExtendedKeyUsage::ServerAuth])
            .san(San::Uri(format!("{DEVICE_URI_PREFIX}3"))),
        &k,
    );
    clients.push((
        "eku-server",
        Some(IdPem::new("eku-server", &l, &k, &[&int.cert])),
    ));
    let k = p256();
    let l = issue(
        &int,
        client_builder("old", 5).validity(date(2020), date(2021)),
        &k,
    );
    clients.push(("expired", Some(IdPem::new("expired", &l, &k, &[&int.cert]))));
    let k = p256();
    let l = client_builder("self", 19).self_signed(&k).unwrap();
    clients.push(("self-signed", Some(IdPem::new("self-signed", &l, &k, &[]))));
    let k = p256();
    let l = issue(&int, client_builder("anchor", 22), &k);
    clients.push((
        "with-anchor",
        Some(IdPem::new("with-anchor", &l, &k, &[&int.cert, &ca.cert])),
    ));
    let k = PrivateKey::generate(KeyType::Rsa(2048)).unwrap();
    let l = issue(&int, client_builder("rsa", 13), &k);
    clients.push(("rsa", Some(IdPem::new("rsa", &l, &k, &[&int.cert]))));

    // Server identities the client target's seeds come from.
    let server_b = |cn: &str, dns: &str, eku: ExtendedKeyUsage<'static>| {
        valid(CertificateBuilder::new(&format!("CN={cn},{O}")))
            .extended_key_usage(&[eku])
            .san(San::Dns(dns.into()))
    };
    let mut servers = vec![IdPem::fixture(
        "server",
        fixtures::SERVER_CRT,
        fixtures::SERVER_KEY,
    )];
    let k = p256();
    let l = issue(
        &int,
        server_b("other", "other.fuzz.example", ExtendedKeyUsage::ServerAuth),
        &k,
    );
    servers.push(IdPem::new("wrong-name", &l, &k, &[&int.cert]));
    let k = p256();
    let l = issue(
        &int,
        server_b("c", SERVER_NAME, ExtendedKeyUsage::ClientAuth),
        &k,
    );
    servers.push(IdPem::new("eku-client", &l, &k, &[&int.cert]));
    let k = p256();
    let l = issue(
        &int,
        server_b("old", SERVER_NAME, ExtendedKeyUsage::ServerAuth).validity(date(2020), date(2021)),
        &k,
    );
    servers.push(IdPem::new("expired", &l, &k, &[&int.cert]));
    let k = PrivateKey::generate(KeyType::Rsa(2048)).unwrap();
    let l = issue(
        &int,
        server_b("rsa", SERVER_NAME, ExtendedKeyUsage::ServerAuth),
        &k,
    );
    servers.push(IdPem::new("rsa", &l, &k, &[&int.cert, &ca.cert]));

    let mut successes = (0, 0);
    for v in 0..TLS_VARIANTS {
        // The server target's server, against every client.
        for (name, id) in &clients {
            let server = server_config(v);
            let client = client_config_with(v, id.as_ref().map(IdPem::identity));
            let (sent, _, ok) = record(&client, &server);
            successes.0 += usize::from(ok);
            // The seed replays: the target's fresh server, fed the flight alone, ends
            // the same way.
            let (_, replay) = run_server(&server_config(v), &sent);
            take_calls();
            assert_eq!(
                replay.is_ok(),
                ok,
                "server seed v{v}-{name} does not replay: {replay:?}"
            );
            let mut seed = vec![v];
            seed.extend_from_slice(&sent);
            out.put("tls_server", &format!("v{v}-{name}"), &seed);
            if ok && id.is_some() {
                // The same flight with the hook rejecting the issuing CA (depth 1).
                seed[0] = v | 2 << 2;
                out.put("tls_server", &format!("v{v}-{name}-reject1"), &seed);
                set_reject_depth(reject_depth(seed[0]));
                let (_, r) = run_server(&server_config(v), &sent);
                set_reject_depth(None);
                take_calls();
                assert!(
                    r.is_err(),
                    "v{v}-{name}: a hook rejection did not fail the handshake"
                );
            }
        }
        // The client target's client, against every server.
        for id in &servers {
            let server = server_config_with(v, id.identity());
            let client = client_config(v);
            let (_, sent, ok) = record(&client, &server);
            successes.1 += usize::from(ok);
            let (_, replay) = run_client(&client_config(v), &sent);
            take_calls();
            assert_eq!(
                replay.is_ok(),
                ok,
                "client seed v{v}-{} does not replay: {replay:?}",
                id.name
            );
            let mut seed = vec![v];
            seed.extend_from_slice(&sent);
            out.put("tls_client", &format!("v{v}-{}", id.name), &seed);
            if ok {
                seed[0] = v | 2 << 2;
                out.put("tls_client", &format!("v{v}-{}-reject1", id.name), &seed);
                set_reject_depth(reject_depth(seed[0]));
                let (_, r) = run_client(&client_config(v), &sent);
                set_reject_depth(None);
                take_calls();
                assert!(
                    r.is_err(),
                    "v{v}-{}: a hook rejection did not fail the handshake",
                    id.name
                );
            }
        }
    }
    println!(
        "TLS flights: {} of {} server seeds and {} of {} client seeds from successful handshakes",
        successes.0,
        clients.len() * usize::from(TLS_VARIANTS),
        successes.1,
        servers.len() * usize::from(TLS_VARIANTS),
    );
    // The fixture handshakes must succeed, or the recorded flights replay nothing.
    assert!(
        successes.0 >= 4 && successes.1 >= 4,
        "fixture handshakes failed"
    );
}

/// `ecdsa_p256_verify`: the fixture certificates' real signatures (the client by the
/// issuing CA, the issuing CA by the root), in the target's raw layout (hash, key, r, s)
/// and its DER layout (flag 0x80, hash, key, empty z/r/s, then the DER signature).
fn ecdsa_seeds(out: &mut Out) {
    use mbedtls_verify::der::Reader;
    let pairs = [
        (fixtures::CLIENT_CRT, fixtures::INT_CRT, "client-by-int"),
        (fixtures::INT_CRT, fixtures::CA_CRT, "int-by-root"),
    ];
    for (child, issuer, name) in pairs {
        let child = CertChain::from_pem(child).unwrap();
        let issuer = CertChain::from_pem(issuer).unwrap();
        let mut cert = Reader::new(child.first().unwrap().der());
        let mut body = Reader::new(cert.read_tlv().unwrap().contents);
        let tbs = body.read_tlv().unwrap().raw;
        body.read_tlv().unwrap(); // signatureAlgorithm
        let sig = &body.read_tlv().unwrap().contents[1..]; // BIT STRING: unused-bits byte
        let issuer = issuer.first().unwrap();
        let mut spki = Reader::new(Reader::new(issuer.spki_der()).read_tlv().unwrap().contents);
        let _alg = spki.read_tlv().unwrap();
        let point = &spki.read_tlv().unwrap().contents[1..]; // 0x04 || X || Y
        let (x, y) = point[1..].split_at(32);
        let mut seq = Reader::new(Reader::new(sig).read_tlv().unwrap().contents);
        let r = seq.read_tlv().unwrap().contents;
        let s = seq.read_tlv().unwrap().contents;
        let mut hash = [0u8; 32];
        // SAFETY: `tbs` is a live slice and `hash` the 32 bytes mv_sha256 writes.
        let rc = unsafe { mbedtls_verify::sys::mv_sha256(tbs.as_ptr(), tbs.len(), hash.as_mut_ptr()) };
        assert_eq!(rc, 0);
        let field = |v: &mut Vec<u8>, f: &[u8]| {
            v.push(f.len() as u8);
            v.extend_from_slice(f);
        };
        let mut raw = vec![0u8];
        for f in [&hash[..], x, y, &[1u8][..], r, s] {
            field(&mut raw, f);
        }
        out.put("ecdsa_p256_verify", &format!("{name}-raw"), &raw);
        let mut der = vec![0x80u8];
        for f in [&hash[..], x, y, &[][..], &[][..], &[][..]] {
            field(&mut der, f);
        }
        der.extend_from_slice(sig);
        out.put("ecdsa_p256_verify", &format!("{name}-der"), &der);
    }
}

/// `ecdh_p256`: two generated key pairs — ECDH of the first private key with the second
/// public value (mode 0), and the first private key's public value (mode 1).
fn ecdh_seeds(out: &mut Out) {
    use mbedtls_verify::sys::p256_ecdh::mv_p256_generate_test;
    let pair = || {
        let (mut d, mut q) = ([0u8; 32], [0u8; 65]);
        let (mut dl, mut ql) = (0usize, 0usize);
        // SAFETY: live buffers with their sizes; the entry point writes the lengths.
        let rc = unsafe {
            mv_p256_generate_test(d.as_mut_ptr(), d.len(), &mut dl, q.as_mut_ptr(), q.len(), &mut ql)
        };
        assert_eq!((rc, dl, ql), (0, 32, 65));
        (d, q)
    };
    let ((d1, _), (_, q2)) = (pair(), pair());
    let mut agree = vec![0u8, 32];
    agree.extend_from_slice(&d1);
    agree.extend_from_slice(&q2);
    out.put("ecdh_p256", "agree", &agree);
    let mut public = vec![1u8, 32];
    public.extend_from_slice(&d1);
    out.put("ecdh_p256", "public", &public);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag, dir] if flag == "--fixtures" => write_fixtures(Path::new(dir)),
        [dir] => {
            let mut out = Out {
                root: PathBuf::from(dir),
                count: 0,
            };
            // Certificates need a clock only for defaults; the fixtures set validity.
            fix_time();
            certificate_seeds(&mut out);
            policy_seeds(&mut out);
            tls_seeds(&mut out);
            ecdsa_seeds(&mut out);
            ecdh_seeds(&mut out);
            println!("{} seed files written under {}", out.count, dir);
        }
        _ => {
            eprintln!("usage: make_corpus CORPUS_DIR | make_corpus --fixtures DIR");
            std::process::exit(2);
        }
    }
}
