//! Build profile, record-buffer sizes and the feature probe. Pure logic except
//! `probe_source`, which only writes the probe's C text.

/// How mbedTLS is obtained for this target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Hosted OS: OS entropy and clock, pthreads.
    Host,
    /// No OS: the application supplies entropy and the wall clock.
    BareMetal,
}

impl Profile {
    /// From `CARGO_CFG_TARGET_OS` (never `cfg!`, which describes the build host), or an
    /// explicit `MBEDTLS_VERIFY_SYS_PROFILE`.
    pub fn select(target_os: &str, explicit: Option<&str>) -> Result<Profile, String> {
        match explicit {
            Some("host") => Ok(Profile::Host),
            Some("baremetal") => Ok(Profile::BareMetal),
            Some(other) => Err(format!(
                "MBEDTLS_VERIFY_SYS_PROFILE={other}: expected `host` or `baremetal`"
            )),
            None if target_os == "none" => Ok(Profile::BareMetal),
            None => Ok(Profile::Host),
        }
    }

    pub fn define(self) -> &'static str {
        match self {
            Profile::Host => "MV_PROFILE_HOST",
            Profile::BareMetal => "MV_PROFILE_BAREMETAL",
        }
    }

    /// Default (incoming, outgoing) record buffer sizes. Bare metal keeps a full 16 KiB
    /// incoming buffer (a peer may send full-size records) and a 4 KiB outgoing one.
    pub fn default_record_lens(self) -> (u32, u32) {
        match self {
            Profile::Host => (16384, 16384),
            Profile::BareMetal => (16384, 4096),
        }
    }
}

/// Record buffer sizes: environment variables win, then the `small-records` feature
/// (4 KiB / 2 KiB: only for peers that negotiate smaller records), then the profile.
pub fn record_lens(
    profile: Profile,
    small_records: bool,
    env_in: Option<&str>,
    env_out: Option<&str>,
) -> Result<(u32, u32), String> {
    let (mut i, mut o) = if small_records {
        (4096, 2048)
    } else {
        profile.default_record_lens()
    };
    let parse = |name: &str, v: &str| -> Result<u32, String> {
        match v.trim().parse::<u32>() {
            Ok(n) if (512..=16384).contains(&n) => Ok(n),
            _ => Err(format!(
                "{name}={v}: expected a number of bytes from 512 to 16384"
            )),
        }
    };
    if let Some(v) = env_in {
        i = parse("MBEDTLS_VERIFY_SYS_SSL_IN_CONTENT_LEN", v)?;
    }
    if let Some(v) = env_out {
        o = parse("MBEDTLS_VERIFY_SYS_SSL_OUT_CONTENT_LEN", v)?;
    }
    Ok((i, o))
}

/// Options the safe crate depends on, as (mbedTLS macro, cfg name).
pub const PROBED: &[(&str, &str)] = &[
    ("MBEDTLS_X509_TRUSTED_CERTIFICATE_CALLBACK", "ca_cb"),
    ("MBEDTLS_X509_CRL_PARSE_C", "crl"),
    ("MBEDTLS_HAVE_TIME_DATE", "time_date"),
    ("MBEDTLS_THREADING_C", "threading"),
    ("MBEDTLS_SSL_PROTO_TLS1_3", "tls13"),
    ("MBEDTLS_SSL_PROTO_TLS1_2", "tls12"),
    ("MBEDTLS_RSA_C", "rsa"),
    ("MBEDTLS_X509_CRT_WRITE_C", "x509write"),
    ("MBEDTLS_SSL_SRV_C", "ssl_srv"),
    ("MBEDTLS_SSL_CLI_C", "ssl_cli"),
    ("MBEDTLS_SELF_TEST", "self_test"),
    ("MV_OWN_CONFIG", "time_override"),
    ("MBEDTLS_ECDSA_VERIFY_ALT", "ecdsa_verify_alt"),
    ("MBEDTLS_PSA_P256M_DRIVER_ENABLED", "p256_psa_driver"),
];

/// The options the host profile compiles in (what the probe finds in `config/mv_config.h`
/// with `MV_PROFILE_HOST`, default features, no extra defines). Used instead of the probe
/// when only documentation is built (`DOCS_RS`: no C compiler runs, no tree is read), so
/// the documented API is the full host API. `tests/build_logic.rs` checks it against the
/// probe of a real host build.
pub const DOCS_CFGS: &[&str] = &[
    "ca_cb",
    "crl",
    "time_date",
    "threading",
    "tls13",
    "tls12",
    "rsa",
    "x509write",
    "ssl_srv",
    "ssl_cli",
    "self_test",
    "time_override",
];

/// The version documented in a docs-only build: the pinned tree's (mbedTLS 3.6.5).
pub const DOCS_VERSION: u32 = 0x0306_0500;

/// Whether this build only documents the crate: docs.rs sets `DOCS_RS` (its builds are
/// offline and have no use for a C library, since rustdoc links nothing).
pub fn docs_only(docs_rs: Option<&str>) -> bool {
    docs_rs.is_some()
}

/// C text whose preprocessed output lists the enabled options and the version.
pub fn probe_source() -> String {
    let mut s = String::from("#include \"mbedtls/build_info.h\"\n");
    for (mac, cfg) in PROBED {
        s.push_str(&format!("#if defined({mac})\nMV_PROBE_HAS {cfg}\n#endif\n"));
    }
    s.push_str("MV_PROBE_VERSION MBEDTLS_VERSION_NUMBER\n");
    s
}

/// Parse the preprocessed probe: (enabled cfg names, version number).
pub fn parse_probe(out: &str) -> Result<(Vec<String>, u32), String> {
    let mut cfgs = Vec::new();
    let mut version = None;
    for line in out.lines().map(str::trim) {
        if let Some(c) = line.strip_prefix("MV_PROBE_HAS ") {
            cfgs.push(c.trim().to_string());
        } else if let Some(v) = line.strip_prefix("MV_PROBE_VERSION ") {
            let v = v.trim().trim_end_matches(['u', 'U', 'l', 'L']);
            let n = v
                .strip_prefix("0x")
                .or_else(|| v.strip_prefix("0X"))
                .map(|h| u32::from_str_radix(h, 16))
                .unwrap_or_else(|| v.parse());
            version = n.ok();
        }
    }
    let version = version.ok_or("the mbedTLS headers define no MBEDTLS_VERSION_NUMBER")?;
    Ok((cfgs, version))
}

/// Only mbedTLS 3.6.x is supported.
pub fn check_version(v: u32) -> Result<(), String> {
    if v >= 0x0400_0000 {
        return Err(format!(
            "mbedTLS {} is 4.x: mbedtls-verify supports mbedTLS 3.6 LTS only for now",
            crate::source::version_string(v)
        ));
    }
    if v < 0x0306_0000 {
        return Err(format!(
            "mbedTLS {} is older than 3.6: mbedtls-verify needs 3.6 LTS",
            crate::source::version_string(v)
        ));
    }
    Ok(())
}

/// `MBEDTLS_VERIFY_SYS_EXTRA_DEFINES`: comma-separated `NAME` or `NAME=VALUE` (C identifiers,
/// values of letters, digits and `_`), for measuring configuration options.
pub fn parse_extra_defines(s: &str) -> Result<Vec<(String, Option<String>)>, String> {
    let ident = |x: &str| {
        !x.is_empty()
            && !x.starts_with(|c: char| c.is_ascii_digit())
            && x.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let mut out = Vec::new();
    for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (name, value) = match item.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim())),
            None => (item, None),
        };
        let value_ok = value.is_none_or(|v| {
            !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
        if !ident(name) || !value_ok {
            return Err(format!(
                "MBEDTLS_VERIFY_SYS_EXTRA_DEFINES: bad item `{item}` (expected NAME or NAME=VALUE)"
            ));
        }
        out.push((name.to_string(), value.map(str::to_string)));
    }
    Ok(out)
}
