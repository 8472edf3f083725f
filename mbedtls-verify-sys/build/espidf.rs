//! The ESP-IDF backend: no mbedTLS is built; the shim is compiled against ESP-IDF's own
//! mbedTLS using the metadata `esp-idf-sys` exports to direct dependents
//! (`DEP_ESP_IDF_EMBUILD_C_INCLUDE_ARGS`, `DEP_ESP_IDF_EMBUILD_CFG_ARGS`).
//! Pure logic, also compiled by `tests/build_logic.rs` with fixture strings.

/// Split embuild's C include arguments (`-isystem"/a b" -I/c -DX="y"`) into words,
/// honouring double quotes and backslash escapes.
pub fn split_args(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quoted = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                    in_word = true;
                }
            }
            '"' => {
                quoted = !quoted;
                in_word = true;
            }
            c if c.is_whitespace() && !quoted => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

/// Include directories and defines from the include arguments.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CArgs {
    pub includes: Vec<String>,
    pub defines: Vec<(String, Option<String>)>,
}

pub fn parse_c_args(s: &str) -> CArgs {
    let words = split_args(s);
    let mut out = CArgs::default();
    let mut it = words.into_iter();
    while let Some(w) = it.next() {
        if w == "-isystem" || w == "-I" {
            if let Some(p) = it.next() {
                out.includes.push(p);
            }
        } else if let Some(p) = w.strip_prefix("-isystem").or_else(|| w.strip_prefix("-I")) {
            out.includes.push(p.to_string());
        } else if let Some(d) = w.strip_prefix("-D") {
            match d.split_once('=') {
                Some((k, v)) => out.defines.push((k.to_string(), Some(v.to_string()))),
                None => out.defines.push((d.to_string(), None)),
            }
        }
    }
    out
}

/// The Kconfig facts this crate depends on, from embuild's colon-separated cfg list.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct IdfConfig {
    pub version: Option<(u32, u32)>,
    pub ca_callback: bool,
    pub time_date: bool,
    pub crl: bool,
}

pub fn parse_cfg_args(s: &str) -> IdfConfig {
    let mut major = None;
    let mut minor = None;
    let mut cfg = IdfConfig::default();
    for arg in s.split(':').map(str::trim).filter(|a| !a.is_empty()) {
        let (key, value) = match arg.split_once('=') {
            Some((k, v)) => (k, Some(v.trim_matches('"'))),
            None => (arg, None),
        };
        match key {
            "esp_idf_version_major" => major = value.and_then(|v| v.parse().ok()),
            "esp_idf_version_minor" => minor = value.and_then(|v| v.parse().ok()),
            "esp_idf_mbedtls_x509_trusted_cert_callback" => cfg.ca_callback = true,
            "esp_idf_mbedtls_have_time_date" => cfg.time_date = true,
            "esp_idf_mbedtls_x509_crl_parse_c" => cfg.crl = true,
            _ => {}
        }
    }
    cfg.version = major.zip(minor);
    cfg
}

/// Refuse what this crate cannot work with; `Ok` carries warnings to print.
pub fn check(cfg: &IdfConfig) -> Result<Vec<String>, String> {
    let mut warnings = Vec::new();
    match cfg.version {
        Some((major, _)) if major >= 6 => {
            return Err(format!(
                "ESP-IDF {major}.x ships mbedTLS 4.x, which mbedtls-verify does not support yet; \
                 use ESP-IDF 5.3-5.5 (mbedTLS 3.6)"
            ));
        }
        Some((major, minor)) if major < 5 || (major == 5 && minor < 3) => {
            return Err(format!(
                "ESP-IDF {major}.{minor} ships mbedTLS older than 3.6; use ESP-IDF 5.3-5.5"
            ));
        }
        Some(_) => {}
        None => warnings.push("ESP-IDF version not exported by esp-idf-sys; assuming 5.x".into()),
    }
    if !cfg.ca_callback {
        warnings.push(
            "CONFIG_MBEDTLS_X509_TRUSTED_CERT_CALLBACK is off: the CA-callback trust API is \
             compiled out"
                .into(),
        );
    }
    if !cfg.time_date {
        warnings.push(
            "CONFIG_MBEDTLS_HAVE_TIME_DATE is off: mbedTLS cannot check certificate validity \
             dates, so verification fails closed unless the application opts out explicitly"
                .into(),
        );
    }
    Ok(warnings)
}
