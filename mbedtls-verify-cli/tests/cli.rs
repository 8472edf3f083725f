//! The `mbedtls-verify` binary, run as a user would: every subcommand and exit code,
//! bad input, a fleet CA flow (init, issue, verify, revoke, CRL), an mTLS server with
//! clients on loopback, and the x509-limbo harness protocol.
//!
//! Every process is bounded in time and killed at the end; servers listen on port 0 of
//! 127.0.0.1 and tell their address on stderr.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_mbedtls-verify");
/// Longest any one command may run.
const TIMEOUT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------

/// A directory under the system's temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "mv-cli-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn write(&self, name: &str, data: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, data).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[derive(Debug)]
struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Output {
    /// stderr has exactly one non-empty line.
    fn one_error_line(&self) -> &str {
        let lines: Vec<&str> = self.stderr.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), 1, "expected one line on stderr: {self:#?}");
        assert!(!self.stderr.contains("panicked"), "{self:#?}");
        lines[0]
    }
}

fn collect(mut r: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = r.read_to_end(&mut v);
        v
    })
}

/// Wait for `child` at most `limit`; kill it and fail past that.
fn wait_bounded(child: &mut Child, limit: Duration, what: &str) -> i32 {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Run the binary in `dir` with `args` and `stdin`.
fn run_with_input(dir: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = collect(child.stdout.take().unwrap());
    let err = collect(child.stderr.take().unwrap());
    let code = wait_bounded(&mut child, TIMEOUT, &format!("mbedtls-verify {args:?}"));
    let _ = writer.join();
    Output {
        code,
        stdout: String::from_utf8_lossy(&out.join().unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&err.join().unwrap()).into_owned(),
    }
}

fn run(dir: &Path, args: &[&str]) -> Output {
    run_with_input(dir, args, b"")
}

/// Run and require exit code `code`.
fn expect(dir: &Path, args: &[&str], code: i32) -> Output {
    let out = run(dir, args);
    assert_eq!(out.code, code, "mbedtls-verify {args:?}: {out:#?}");
    assert!(!out.stderr.contains("panicked"), "{out:#?}");
    out
}

/// The value printed after `label` (e.g. `serial:`) on stdout.
fn field(out: &Output, label: &str) -> String {
    out.stdout
        .lines()
        .find_map(|l| l.strip_prefix(label))
        .unwrap_or_else(|| panic!("no {label} in {out:#?}"))
        .trim()
        .to_string()
}

/// `--json` output: one object per line.
fn json_lines(out: &Output) -> Vec<Value> {
    out.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// A fleet CA in `dir/fleet` with a server certificate (`server.*`), a device
/// (`device.*`, email + URI + CN) and a policy admitting the device by email domain.
fn fleet(dir: &TempDir) -> String {
    let d = dir.path();
    expect(d, &["ca", "init", "--dir", "fleet"], 0);
    expect(
        d,
        &[
            "ca",
            "issue-server",
            "--dir",
            "fleet",
            "--dns",
            "localhost",
            "--ip",
            "127.0.0.1",
            "--out",
            "server",
        ],
        0,
    );
    let device = expect(
        d,
        &[
            "ca",
            "issue-client",
            "--dir",
            "fleet",
            "--email",
            "sensor-17@devices.fleet.example",
            "--uri",
            "spiffe://fleet.example/device/17",
            "--cn",
            "device-17",
            "--out",
            "device",
        ],
        0,
    );
    dir.write(
        "clients.toml",
        "allow_email_domain = [\"devices.fleet.example\"]\nmax_chain_depth = 2\n",
    );
    field(&device, "serial:")
}

// ---------------------------------------------------------------------------------
// Usage and bad input
// ---------------------------------------------------------------------------------

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    let dir = TempDir::new("usage");
    let d = dir.path();
    for args in [
        &[][..],
        &["no-such-command"],
        &["verify"],
        &["verify", "--chain", "x.pem"],
        &["verify", "--ca", "a.pem", "--chain", "b.pem", "--bogus"],
        &["serve", "--listen", "127.0.0.1:0"],
        &["connect", "--ca", "a", "--cert", "b", "--key", "c"],
        &["ca", "init"],
        &["ca", "issue-client", "--dir", "fleet", "--out", "x"],
        &["ca", "issue-server", "--dir", "fleet", "--out", "x"],
        &[
            "ca",
            "issue-client",
            "--dir",
            "f",
            "--cn",
            "x",
            "--days",
            "0",
            "--out",
            "x",
        ],
        &[
            "serve", "--listen", "x", "--cert", "a", "--key", "b", "--ca", "c", "--tls", "1.1",
        ],
    ] {
        let out = expect(d, args, 2);
        assert!(out.stdout.is_empty(), "{args:?}: {out:#?}");
        assert!(!out.stderr.is_empty(), "{args:?}: usage error on stderr");
    }
    let help = expect(d, &["--help"], 0);
    assert!(help.stdout.contains("verify") && help.stdout.contains("limbo"));
    expect(d, &["ca", "--help"], 0);
    expect(d, &["--version"], 0);
}

#[test]
fn missing_files_and_garbage_input_exit_2_with_one_line() {
    let dir = TempDir::new("bad-input");
    let d = dir.path();
    fleet(&dir);
    dir.write("garbage.pem", "this is not a certificate\n");
    dir.write(
        "bad-block.pem",
        "-----BEGIN CERTIFICATE-----\nAAAAAAAA\n-----END CERTIFICATE-----\n",
    );

    let out = expect(
        d,
        &["verify", "--ca", "missing.crt", "--chain", "device.crt"],
        2,
    );
    assert!(out.one_error_line().contains("missing.crt"), "{out:#?}");

    let out = expect(
        d,
        &["verify", "--ca", "fleet/root.crt", "--chain", "nope.crt"],
        2,
    );
    assert!(out.one_error_line().contains("nope.crt"), "{out:#?}");

    for (ca, chain, crl, named) in [
        ("garbage.pem", "device.crt", None, "garbage.pem"),
        ("fleet/root.crt", "garbage.pem", None, "garbage.pem"),
        ("fleet/root.crt", "bad-block.pem", None, "bad-block.pem"),
        (
            "fleet/root.crt",
            "device.crt",
            Some("garbage.pem"),
            "garbage.pem",
        ),
        (
            "fleet/root.crt",
            "device.crt",
            Some("missing.crl"),
            "missing.crl",
        ),
    ] {
        let mut args = vec!["verify", "--ca", ca, "--chain", chain];
        if let Some(crl) = crl {
            args.extend(["--crl", crl]);
        }
        let out = expect(d, &args, 2);
        assert!(out.one_error_line().contains(named), "{args:?}: {out:#?}");
        assert!(out.stdout.is_empty());
    }

    let out = expect(
        d,
        &[
            "verify",
            "--ca",
            "fleet/root.crt",
            "--chain",
            "device.crt",
            "--time",
            "tomorrow",
        ],
        2,
    );
    assert!(out.one_error_line().contains("--time"), "{out:#?}");

    // A key that is not a key, for serve and connect.
    let out = expect(
        d,
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--cert",
            "server.crt",
            "--key",
            "garbage.pem",
            "--ca",
            "fleet/root.crt",
        ],
        2,
    );
    assert!(out.one_error_line().contains("garbage.pem"), "{out:#?}");

    // limbo: not JSON, and JSON that is not a limbo file.
    let out = run_with_input(d, &["limbo"], b"{ not json");
    assert_eq!(out.code, 2, "{out:#?}");
    out.one_error_line();
    let out = run_with_input(d, &["limbo"], b"{\"version\": 1}");
    assert_eq!(out.code, 2, "{out:#?}");
    assert!(out.one_error_line().contains("testcases"));
}

#[test]
fn key_not_matching_its_certificate_exits_2() {
    let dir = TempDir::new("mismatch");
    let d = dir.path();
    fleet(&dir);
    let out = expect(
        d,
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--cert",
            "server.crt",
            "--key",
            "device.key",
            "--ca",
            "fleet/root.crt",
        ],
        2,
    );
    let line = out.one_error_line();
    assert!(
        line.contains("does not match")
            && line.contains("device.key")
            && line.contains("server.crt"),
        "{out:#?}"
    );
    let out = expect(
        d,
        &[
            "connect",
            "--ca",
            "fleet/root.crt",
            "--cert",
            "device.crt",
            "--key",
            "server.key",
            "--server-name",
            "localhost",
            "127.0.0.1:9",
        ],
        2,
    );
    assert!(out.one_error_line().contains("does not match"), "{out:#?}");
}

#[test]
fn malformed_policy_is_an_input_error_naming_the_key() {
    let dir = TempDir::new("policy");
    let d = dir.path();
    fleet(&dir);
    for (text, key) in [
        (
            "allow_uri_prefix = [\"spiffe://fleet.example\"]\n",
            "allow_uri_prefix",
        ),
        ("allow_urls = [\"spiffe://fleet.example/\"]\n", "allow_urls"),
        ("allow_spki_sha256 = [\"abcd\"]\n", "allow_spki_sha256"),
        (
            "allow_email_domain = [\"*.fleet.example\"]\n",
            "allow_email_domain",
        ),
        ("max_chain_depth = \"two\"\n", "max_chain_depth"),
    ] {
        dir.write("bad.toml", text);
        let out = expect(
            d,
            &[
                "verify",
                "--ca",
                "fleet/root.crt",
                "--chain",
                "device.crt",
                "--policy",
                "bad.toml",
            ],
            2,
        );
        assert!(out.one_error_line().contains(key), "{text}: {out:#?}");
        let out = expect(
            d,
            &[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--cert",
                "server.crt",
                "--key",
                "server.key",
                "--ca",
                "fleet/root.crt",
                "--policy",
                "bad.toml",
            ],
            2,
        );
        assert!(out.one_error_line().contains(key), "{text}: {out:#?}");
    }
    let out = expect(
        d,
        &[
            "verify",
            "--ca",
            "fleet/root.crt",
            "--chain",
            "device.crt",
            "--policy",
            "none.toml",
        ],
        2,
    );
    assert!(out.one_error_line().contains("none.toml"), "{out:#?}");
}

// ---------------------------------------------------------------------------------
// The fleet CA
// ---------------------------------------------------------------------------------

#[test]
fn ca_writes_its_files_refuses_to_overwrite_and_never_prints_keys() {
    let dir = TempDir::new("ca");
    let d = dir.path();
    let init = expect(
        d,
        &["ca", "init", "--dir", "fleet", "--name", "Acme, Inc"],
        0,
    );
    for f in ["root.crt", "root.key", "ca.crt", "ca.key", "index.tsv"] {
        assert!(d.join("fleet").join(f).is_file(), "{f} missing");
    }
    assert!(init.stdout.contains("CN=Acme\\, Inc Root CA"), "{init:#?}");
    let again = expect(d, &["ca", "init", "--dir", "fleet"], 2);
    assert!(again.one_error_line().contains("refusing to overwrite"));

    let client = expect(
        d,
        &[
            "ca",
            "issue-client",
            "--dir",
            "fleet",
            "--cn",
            "bench-1",
            "--days",
            "30",
            "--out",
            "bench",
        ],
        0,
    );
    let server = expect(
        d,
        &[
            "ca",
            "issue-server",
            "--dir",
            "fleet",
            "--dns",
            "device.local",
            "--dns",
            "*.fleet.example",
            "--ip",
            "192.0.2.7",
            "--ip",
            "2001:db8::7",
            "--out",
            "srv",
        ],
        0,
    );
    for out in [&init, &client, &server] {
        assert!(!out.stdout.contains("PRIVATE KEY") && !out.stderr.contains("PRIVATE KEY"));
    }
    assert_eq!(field(&client, "subject:"), "CN=bench-1, O=Acme\\, Inc");
    assert_eq!(
        field(&server, "SAN:"),
        "DNS:device.local, DNS:*.fleet.example, IP:192.0.2.7, IP:2001:db8::7"
    );

    // PREFIX.crt: the certificate and the issuing CA, not the root.
    let crt = std::fs::read_to_string(d.join("bench.crt")).unwrap();
    assert_eq!(crt.matches("BEGIN CERTIFICATE").count(), 2);
    let ca = std::fs::read_to_string(d.join("fleet/ca.crt")).unwrap();
    let root = std::fs::read_to_string(d.join("fleet/root.crt")).unwrap();
    assert!(crt.ends_with(&ca) && !crt.contains(root.trim()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for key in ["bench.key", "srv.key", "fleet/root.key", "fleet/ca.key"] {
            let mode = std::fs::metadata(d.join(key)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{key}");
        }
    }

    // The index records both serials.
    let index = std::fs::read_to_string(d.join("fleet/index.tsv")).unwrap();
    for out in [&client, &server] {
        assert!(index.contains(&field(out, "serial:")), "{index}");
    }

    // Never overwrite an issued certificate or key.
    let before = std::fs::read(d.join("bench.key")).unwrap();
    let out = expect(
        d,
        &[
            "ca",
            "issue-client",
            "--dir",
            "fleet",
            "--cn",
            "x",
            "--out",
            "bench",
        ],
        2,
    );
    assert!(out.one_error_line().contains("refusing to overwrite"));
    assert_eq!(std::fs::read(d.join("bench.key")).unwrap(), before);

    // Bad values and a directory that is not a CA.
    for args in [
        &[
            "ca",
            "issue-client",
            "--dir",
            "fleet",
            "--email",
            "no-at-sign",
            "--out",
            "e",
        ][..],
        &[
            "ca",
            "issue-client",
            "--dir",
            "fleet",
            "--uri",
            "not a uri",
            "--out",
            "e",
        ],
        &[
            "ca",
            "issue-server",
            "--dir",
            "fleet",
            "--dns",
            "bad name",
            "--out",
            "e",
        ],
        &[
            "ca",
            "issue-client",
            "--dir",
            "fleet",
            "--cn",
            "x",
            "--days",
            "36500",
            "--out",
            "e",
        ],
        &[
            "ca",
            "issue-client",
            "--dir",
            "not-a-ca",
            "--cn",
            "x",
            "--out",
            "e",
        ],
        &["ca", "revoke", "--dir", "fleet", "--serial", "not-hex"],
        &[
            "ca",
            "revoke",
            "--dir",
            "fleet",
            "--serial",
            "0123456789abcdef",
        ],
        &["ca", "crl", "--dir", "not-a-ca", "--out", "crl.pem"],
    ] {
        let out = expect(d, args, 2);
        out.one_error_line();
        assert!(!d.join("e.crt").exists() && !d.join("e.key").exists());
    }
}

#[test]
fn verify_explains_acceptance_and_rejection_then_revocation() {
    let dir = TempDir::new("flow");
    let d = dir.path();
    let serial = fleet(&dir);
    let verify = |extra: &[&str]| {
        let mut args = vec!["verify", "--ca", "fleet/root.crt", "--chain", "device.crt"];
        args.extend_from_slice(extra);
        run(d, &args)
    };

    // Accepted, with the trace (top first) and the rule that admitted the device.
    let out = verify(&["--policy", "clients.toml", "--json"]);
    assert_eq!(out.code, 0, "{out:#?}");
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 4, "{out:#?}");
    let roles: Vec<&str> = lines[..3]
        .iter()
        .map(|l| l["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["trust_anchor", "intermediate", "leaf"]);
    for (line, depth) in lines[..3].iter().zip([2, 1, 0]) {
        assert_eq!(line["type"], "cert");
        assert_eq!(line["depth"], depth);
        assert_eq!(line["flags"], serde_json::json!([]));
        assert_eq!(line["flags_raw"], 0);
    }
    assert_eq!(lines[0]["subject"], "CN=Fleet Root CA, O=Fleet");
    assert_eq!(lines[2]["subject"], "CN=device-17, O=Fleet");
    let decision = &lines[3];
    assert_eq!(decision["type"], "decision");
    assert_eq!(decision["decision"], "accepted");
    assert_eq!(decision["reasons"], serde_json::json!([]));
    assert_eq!(
        decision["rule"],
        "allow_email_domain = \"devices.fleet.example\""
    );

    // The CA's chains meet every RFC 5280 structural rule; the device's certificate
    // (clientAuth only) is not a Web PKI server certificate, which the trace names.
    let out = verify(&["--policy", "clients.toml", "--profile", "rfc5280-strict"]);
    assert_eq!(out.code, 0, "{out:#?}");
    let out = verify(&["--profile", "webpki-client", "--json"]);
    assert_eq!(out.code, 1, "{out:#?}");
    let lines = json_lines(&out);
    let leaf = lines.iter().find(|l| l["depth"] == 0).unwrap();
    assert_eq!(leaf["violation"], "leaf_server_auth", "{out:#?}");
    let out = verify(&["--profile", "no-such-profile"]);
    assert_eq!(out.code, 2, "{out:#?}");

    // The same as text.
    let out = verify(&["--policy", "clients.toml"]);
    assert_eq!(out.code, 0, "{out:#?}");
    assert!(out.stdout.contains("decision: accepted"), "{out:#?}");
    assert!(out.stdout.contains("allow_email_domain"), "{out:#?}");
    assert!(out.stdout.contains("trust_anchor"), "{out:#?}");

    // A policy that does not admit the device: rejected by policy (exit 1).
    dir.write(
        "others.toml",
        "allow_uri_prefix = [\"spiffe://fleet.example/laptop/\"]\n",
    );
    let out = verify(&["--policy", "others.toml", "--json"]);
    assert_eq!(out.code, 1, "{out:#?}");
    let last = json_lines(&out).pop().unwrap();
    assert_eq!(last["decision"], "rejected");
    assert!(last["rule"].is_null());
    assert!(
        last["reasons"][0].as_str().unwrap().starts_with("policy: "),
        "{last}"
    );

    // A server certificate presented as a client: clientAuth is missing.
    let out = run(
        d,
        &[
            "verify",
            "--ca",
            "fleet/root.crt",
            "--chain",
            "server.crt",
            "--policy",
            "clients.toml",
        ],
    );
    assert_eq!(out.code, 1, "{out:#?}");
    assert!(out.stdout.contains("clientAuth"), "{out:#?}");

    // Verified at a time after it expires.
    let out = verify(&["--time", "2300-01-01T00:00:00Z", "--json"]);
    assert_eq!(out.code, 1, "{out:#?}");
    let lines = json_lines(&out);
    assert!(
        lines[2]["flags"]
            .as_array()
            .unwrap()
            .contains(&"expired".into())
    );

    // Under another CA: not trusted.
    expect(d, &["ca", "init", "--dir", "other"], 0);
    let out = run(
        d,
        &[
            "verify",
            "--ca",
            "other/root.crt",
            "--chain",
            "device.crt",
            "--json",
        ],
    );
    assert_eq!(out.code, 1, "{out:#?}");
    let lines = json_lines(&out);
    let decision = lines.last().unwrap();
    assert!(
        decision["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("not_trusted"),
        "{decision}"
    );
    assert!(lines.iter().all(|l| l["role"] != "trust_anchor"));

    // Revoke the device and publish a CRL: verification with the CRL rejects it.
    let out = expect(
        d,
        &["ca", "revoke", "--dir", "fleet", "--serial", &serial],
        0,
    );
    assert!(out.stdout.contains(&serial));
    expect(
        d,
        &["ca", "revoke", "--dir", "fleet", "--serial", &serial],
        0,
    ); // idempotent
    let index = std::fs::read_to_string(d.join("fleet/index.tsv")).unwrap();
    assert!(
        index
            .lines()
            .any(|l| l.contains(&serial) && l.contains("\trevoked\t"))
    );
    expect(d, &["ca", "crl", "--dir", "fleet", "--out", "crl.pem"], 0);
    assert!(
        std::fs::read_to_string(d.join("crl.pem"))
            .unwrap()
            .contains("BEGIN X509 CRL")
    );

    let out = verify(&["--crl", "crl.pem", "--policy", "clients.toml", "--json"]);
    assert_eq!(out.code, 1, "{out:#?}");
    let lines = json_lines(&out);
    let leaf = lines.iter().find(|l| l["role"] == "leaf").unwrap();
    assert_eq!(leaf["flags"], serde_json::json!(["revoked"]));
    assert_ne!(leaf["flags_raw"], 0);
    let decision = lines.last().unwrap();
    assert_eq!(decision["decision"], "rejected");
    assert!(
        decision["reasons"][0].as_str().unwrap().contains("revoked"),
        "{decision}"
    );

    let out = verify(&["--crl", "crl.pem"]);
    assert_eq!(out.code, 1, "{out:#?}");
    assert!(out.stdout.contains("decision: rejected") && out.stdout.contains("revoked"));

    // The server certificate is not revoked; a second CRL has a higher number.
    let out = run(
        d,
        &[
            "verify",
            "--ca",
            "fleet/root.crt",
            "--chain",
            "server.crt",
            "--crl",
            "crl.pem",
        ],
    );
    assert_eq!(out.code, 0, "{out:#?}");
    let out = expect(d, &["ca", "crl", "--dir", "fleet", "--out", "crl.pem"], 0);
    assert!(out.stdout.contains("CRL number 2"), "{out:#?}");
}

// ---------------------------------------------------------------------------------
// serve and connect
// ---------------------------------------------------------------------------------

/// A running `serve`, killed when dropped; its stderr is collected.
struct Server {
    child: Child,
    addr: String,
    log: Arc<Mutex<String>>,
}

impl Server {
    fn start(dir: &Path, extra: &[&str]) -> Server {
        let mut args = vec![
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--cert",
            "server.crt",
            "--key",
            "server.key",
            "--ca",
            "fleet/root.crt",
        ];
        args.extend_from_slice(extra);
        let mut child = Command::new(BIN)
            .args(&args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix("listening on ") {
                    let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_string());
                }
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let mut server = Server {
            child,
            addr: String::new(),
            log,
        };
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(addr) => server.addr = addr,
            Err(_) => panic!("serve did not report its address: {}", server.log()),
        }
        server
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Wait until the log has `count` lines containing `text`.
    fn wait_for(&self, text: &str, count: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let log = self.log();
            if log.lines().filter(|l| l.contains(text)).count() >= count {
                return log;
            }
            assert!(
                Instant::now() < deadline,
                "no {count}x {text:?} in the log:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn connect_args<'a>(server: &'a Server, ca: &'a str, id: &'a str, tls: &'a str) -> Vec<String> {
    [
        "connect",
        "--ca",
        ca,
        "--cert",
        &format!("{id}.crt"),
        "--key",
        &format!("{id}.key"),
        "--server-name",
        "localhost",
        "--tls",
        tls,
        // Generous: replies may be slow on a loaded machine.
        "--linger-ms",
        "2000",
        &server.addr,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn connect(d: &Path, server: &Server, ca: &str, id: &str, tls: &str, input: &[u8]) -> Output {
    let args = connect_args(server, ca, id, tls);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_with_input(d, &args, input)
}

#[test]
fn serve_and_connect_echo_and_explain_rejections() {
    let dir = TempDir::new("serve");
    let d = dir.path();
    fleet(&dir);
    // A device of another fleet: its own CA, and a URI the policy would allow.
    expect(d, &["ca", "init", "--dir", "other", "--name", "Other"], 0);
    expect(
        d,
        &[
            "ca",
            "issue-client",
            "--dir",
            "other",
            "--email",
            "x@devices.fleet.example",
            "--out",
            "intruder",
        ],
        0,
    );
    let mut server = Server::start(d, &["--policy", "clients.toml"]);
    assert!(server.addr.starts_with("127.0.0.1:"), "{}", server.addr);

    // Echo round trips, TLS 1.3 and 1.2.
    let mut accepted = 0;
    for tls in ["1.3", "1.2"] {
        let input = format!("hello over TLS {tls}\nsecond line\n");
        let out = connect(
            d,
            &server,
            "fleet/root.crt",
            "device",
            tls,
            input.as_bytes(),
        );
        assert_eq!(out.code, 0, "{out:#?}\nserver:\n{}", server.log());
        assert_eq!(out.stdout, input);
        assert!(out.stderr.contains(&format!("TLSv{tls}")), "{out:#?}");
        accepted += 1;
        let log = server.wait_for("accepted CN=device-17", accepted);
        assert!(
            log.contains("allow_email_domain = \"devices.fleet.example\""),
            "{log}"
        );
        assert!(log.contains(&format!("TLSv{tls}")), "{log}");
    }
    let log = server.wait_for("bytes echoed", 2);
    assert!(log.contains("trust_anchor  CN=Fleet Root CA"), "{log}");

    // A client from another CA: the server refuses it (exit 1), on both versions, and
    // logs why with the trace.
    for (n, tls) in ["1.3", "1.2"].iter().enumerate() {
        let out = connect(
            d,
            &server,
            "fleet/root.crt",
            "intruder",
            tls,
            b"let me in\n",
        );
        assert_eq!(out.code, 1, "{out:#?}\nserver:\n{}", server.log());
        assert!(out.stdout.is_empty(), "{out:#?}");
        assert!(!out.stderr.contains("panicked"));
        let log = server.wait_for("rejected: not_trusted", n + 1);
        assert!(log.contains("CN=Other Issuing CA"), "{log}");
    }

    // A client that does not trust the server's CA refuses it (exit 1).
    let out = connect(d, &server, "other/root.crt", "device", "1.3", b"x");
    assert_eq!(out.code, 1, "{out:#?}");
    assert!(out.stderr.contains("not_trusted"), "{out:#?}");

    // One connection does not block another: hold one open, finish a second.
    let args = connect_args(&server, "fleet/root.crt", "device", "1.3");
    let mut held = Command::new(BIN)
        .args(&args)
        .current_dir(d)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut held_in: ChildStdin = held.stdin.take().unwrap();
    held_in.write_all(b"first, still open\n").unwrap();
    let held_out = collect(held.stdout.take().unwrap());
    let held_err = collect(held.stderr.take().unwrap());
    server.wait_for("accepted CN=device-17", accepted + 1);
    let out = connect(d, &server, "fleet/root.crt", "device", "1.2", b"second\n");
    assert_eq!(out.code, 0, "{out:#?}");
    assert_eq!(out.stdout, "second\n");
    drop(held_in);
    let code = wait_bounded(&mut held, TIMEOUT, "the held connection");
    let held_out = String::from_utf8(held_out.join().unwrap()).unwrap();
    assert_eq!(
        code,
        0,
        "{held_out}\n{:?}",
        String::from_utf8_lossy(&held_err.join().unwrap())
    );
    assert_eq!(held_out, "first, still open\n");

    // Still serving, and the server never exited.
    assert!(server.child.try_wait_is_running());
    let out = connect(d, &server, "fleet/root.crt", "device", "1.3", b"");
    assert_eq!(out.code, 0, "{out:#?}");
    assert!(out.stdout.is_empty());
}

#[test]
fn connect_to_nothing_is_an_input_error() {
    let dir = TempDir::new("connect");
    let d = dir.path();
    fleet(&dir);
    // A port that nothing listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let out = expect(
        d,
        &[
            "connect",
            "--ca",
            "fleet/root.crt",
            "--cert",
            "device.crt",
            "--key",
            "device.key",
            "--server-name",
            "localhost",
            &addr,
        ],
        2,
    );
    assert!(out.one_error_line().contains("cannot connect"), "{out:#?}");
}

trait RunningExt {
    fn try_wait_is_running(&mut self) -> bool;
}

impl RunningExt for Child {
    fn try_wait_is_running(&mut self) -> bool {
        matches!(self.try_wait(), Ok(None))
    }
}

// ---------------------------------------------------------------------------------
// limbo
// ---------------------------------------------------------------------------------

/// The shared limbo file (read only), or `None` (with a message) where it is absent.
fn limbo_file() -> Option<PathBuf> {
    let path = std::env::var_os("MBEDTLS_VERIFY_LIMBO_JSON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/conformance/x509-limbo-2023-12.json")
        });
    if path.is_file() {
        return Some(path);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{} is required in CI",
        path.display()
    );
    eprintln!("skipping: {} not found", path.display());
    None
}

#[test]
fn limbo_answers_every_case_in_the_harness_format() {
    let Some(path) = limbo_file() else { return };
    let all: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cases = all["testcases"].as_array().unwrap();
    // Two expected successes, one expected failure, and one case that cannot be read.
    let mut picked: Vec<Value> = cases
        .iter()
        .filter(|c| c["expected_result"] == "SUCCESS")
        .take(2)
        .chain(
            cases
                .iter()
                .filter(|c| c["expected_result"] == "FAILURE")
                .take(1),
        )
        .cloned()
        .collect();
    let mut unreadable = picked[0].clone();
    unreadable["id"] = "cli::unreadable".into();
    unreadable
        .as_object_mut()
        .unwrap()
        .remove("peer_certificate");
    picked.push(unreadable);
    let input = serde_json::json!({"version": 1, "testcases": picked});

    let dir = TempDir::new("limbo");
    let out = run_with_input(dir.path(), &["limbo"], input.to_string().as_bytes());
    assert_eq!(out.code, 0, "{out:#?}");
    let results: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(results["version"], 1);
    assert_eq!(results["harness"], "mbedtls-verify");
    let results = results["results"].as_array().unwrap();
    assert_eq!(results.len(), picked.len());
    for (r, case) in results.iter().zip(&picked) {
        assert_eq!(r["id"], case["id"]);
        let actual = r["actual_result"].as_str().unwrap();
        assert!(["SUCCESS", "FAILURE", "SKIPPED"].contains(&actual), "{r}");
        assert!(r["context"].is_string(), "{r}");
        if actual != "SUCCESS" {
            assert!(!r["context"].as_str().unwrap().is_empty(), "{r}");
        }
    }
    let last = results.last().unwrap();
    assert_eq!(last["actual_result"], "SKIPPED");
    assert!(
        last["context"]
            .as_str()
            .unwrap()
            .contains("peer_certificate"),
        "{last}"
    );
    assert!(out.stderr.contains("4 cases"), "{out:#?}");
}

// ---------------------------------------------------------------------------------
// README
// ---------------------------------------------------------------------------------

/// The README's `verify --json` example has the fields, depths and roles that the tool
/// writes (keeps the documentation in step with the output).
#[test]
fn readme_documents_the_json_line_format() {
    let readme = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"));
    let section = &readme[readme
        .find("### `verify --json`")
        .expect("the README's verify --json section")..];
    let start = section.find("```json\n").unwrap() + "```json\n".len();
    let len = section[start..].find("```").unwrap();
    let documented: Vec<Value> = section[start..start + len]
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();

    let dir = TempDir::new("readme");
    fleet(&dir);
    let out = run(
        dir.path(),
        &[
            "verify",
            "--ca",
            "fleet/root.crt",
            "--chain",
            "device.crt",
            "--json",
        ],
    );
    let actual = json_lines(&out);
    let keys = |v: &Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    assert_eq!(documented.len(), actual.len());
    for (doc, real) in documented.iter().zip(&actual) {
        assert_eq!(doc["type"], real["type"]);
        assert_eq!(keys(doc), keys(real));
        if doc["type"] == "cert" {
            assert_eq!(doc["depth"], real["depth"]);
            assert_eq!(doc["role"], real["role"]);
        }
    }
}

// ---------------------------------------------------------------------------------
// Root bundles
// ---------------------------------------------------------------------------------

#[test]
fn bundle_build_writes_a_loadable_bundle_and_refuses_bad_input() {
    let dir = TempDir::new("bundle");
    let d = dir.path();
    expect(d, &["ca", "init", "--dir", "a", "--name", "A"], 0);
    expect(d, &["ca", "init", "--dir", "b", "--name", "B"], 0);
    let built = expect(
        d,
        &[
            "bundle",
            "build",
            "--out",
            "roots.bin",
            "a/root.crt",
            "b/root.crt",
            "a/root.crt",
        ],
        0,
    );
    let text = &built.stdout;
    assert!(text.contains("2 roots (3 certificates given)"), "{text}");
    let bytes = std::fs::read(d.join("roots.bin")).unwrap();
    let bundle = mbedtls_verify::roots::RootBundle::from_vec(bytes).unwrap();
    assert_eq!(bundle.len(), 2);
    let a = std::fs::read(d.join("a/root.crt")).unwrap();
    let a = mbedtls_verify::x509::CertChain::from_pem(&a).unwrap();
    let a = a.first().unwrap();
    assert_eq!(
        bundle.find(a.subject().der()).collect::<Vec<_>>(),
        [a.der()]
    );

    dir.write(
        "garbage.pem",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    );
    let bad = expect(d, &["bundle", "build", "--out", "x.bin", "garbage.pem"], 2);
    assert!(bad.one_error_line().contains("garbage.pem"));
    expect(d, &["bundle", "build", "--out", "x.bin", "missing.pem"], 2);
    expect(d, &["bundle", "build", "--out", "x.bin"], 2);
    assert!(!d.join("x.bin").exists());
}
