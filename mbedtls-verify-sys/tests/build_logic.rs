//! Unit tests of the build script's pure logic (source resolution, ESP-IDF metadata,
//! profile and probe parsing), compiled from the same files the build script uses.

#[allow(dead_code)]
#[path = "../build/config.rs"]
mod config;
#[allow(dead_code)]
#[path = "../build/espidf.rs"]
mod espidf;
#[allow(dead_code)]
#[path = "../build/source.rs"]
mod source;

use std::fs;
use std::path::{Path, PathBuf};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mv-build-logic-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

fn fake_tree(root: &Path) {
    fs::create_dir_all(root.join("include/mbedtls")).unwrap();
    fs::create_dir_all(root.join("library")).unwrap();
    fs::write(
        root.join("include/mbedtls/build_info.h"),
        "#define MBEDTLS_VERSION_NUMBER 0x03060800\n",
    )
    .unwrap();
    fs::write(root.join("library/x509_crt.c"), "").unwrap();
}

#[test]
fn env_var_wins_over_everything() {
    let d = tmp("env");
    let env_tree = d.join("env");
    fake_tree(&env_tree);
    fake_tree(&d.join("crate/mbedtls"));
    let t = source::resolve(Some(env_tree.clone()), &d.join("crate"), None, || {
        panic!("registry must not be consulted")
    })
    .unwrap();
    assert_eq!(t.origin, source::Origin::EnvVar);
    assert_eq!(t.root, env_tree);
}

#[test]
fn bad_env_var_is_an_error_not_a_fallback() {
    let d = tmp("badenv");
    fake_tree(&d.join("crate/mbedtls"));
    let err = source::resolve(Some(d.join("nope")), &d.join("crate"), None, || {
        panic!("registry must not be consulted")
    })
    .unwrap_err();
    assert!(err.contains("MBEDTLS_VERIFY_SYS_MBEDTLS_DIR="), "{err}");
    assert!(err.contains("is not a mbedTLS 3.6 tree"), "{err}");
}

#[test]
fn crate_dir_then_vendor_then_registry() {
    let d = tmp("order");
    let krate = d.join("crate");
    let vendor = d.join("vendor/mbedtls");
    fs::create_dir_all(&krate).unwrap();
    // Nothing local: the registry is asked.
    let t = source::resolve(None, &krate, Some(vendor.clone()), || {
        Ok(PathBuf::from("/reg"))
    })
    .unwrap();
    assert_eq!(t.origin, source::Origin::Registry);
    // vendor/ filled: used before the registry.
    fake_tree(&vendor);
    let t = source::resolve(None, &krate, Some(vendor.clone()), || panic!("no")).unwrap();
    assert_eq!(t.origin, source::Origin::Vendor);
    // A tree inside the crate: used before vendor/.
    fake_tree(&krate.join("mbedtls"));
    let t = source::resolve(None, &krate, Some(vendor), || panic!("no")).unwrap();
    assert_eq!(t.origin, source::Origin::CrateDir);
}

#[test]
fn nothing_found_explains_what_was_tried() {
    let d = tmp("none");
    let err = source::resolve(None, &d, Some(d.join("vendor/mbedtls")), || {
        Err("offline and not in cargo's cache".into())
    })
    .unwrap_err();
    for needle in [
        "MBEDTLS_VERIFY_SYS_MBEDTLS_DIR",
        "vendor/mbedtls",
        "scripts/prefetch-mbedtls",
        "mbedtls-rs-sys =0.3.1",
        "offline and not in cargo's cache",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in: {err}");
    }
}

#[test]
fn metadata_picks_the_pinned_package_only() {
    let d = tmp("meta");
    let pin = d.join("pin/Cargo.toml");
    let pkg = d.join("mbedtls-rs-sys-0.3.1/Cargo.toml");
    let other = d.join("mbedtls-rs-sys-0.2.0/Cargo.toml");
    let json = format!(
        r#"{{"packages":[{{"name":"x","dependencies":[{{"name":"mbedtls-rs-sys"}}],"manifest_path":"{}"}},{{"name":"mbedtls-rs-sys","manifest_path":"{}"}},{{"name":"mbedtls-rs-sys","manifest_path":"{}"}}]}}"#,
        pin.display(),
        other.display(),
        pkg.display()
    );
    let read = |p: &Path| -> Option<String> {
        if p == pkg {
            Some("[package]\nname = \"mbedtls-rs-sys\"\nversion = \"0.3.1\"\n".into())
        } else if p == other {
            Some("[package]\nname = \"mbedtls-rs-sys\"\nversion = \"0.2.0\"\n".into())
        } else {
            Some("[package]\nname = \"mbedtls-verify-source-pin\"\nversion = \"0.0.0\"\n".into())
        }
    };
    let tree = source::tree_from_metadata(&json, read).unwrap();
    assert_eq!(tree, d.join("mbedtls-rs-sys-0.3.1/mbedtls"));
    assert!(source::tree_from_metadata("{}", read).is_none());
}

#[test]
fn version_parsing() {
    assert_eq!(
        source::version_from_build_info("#define MBEDTLS_VERSION_NUMBER         0x03060500\n"),
        Some(0x0306_0500)
    );
    assert_eq!(source::version_string(0x0306_0800), "3.6.8");
    assert!(config::check_version(0x0306_0500).is_ok());
    assert!(
        config::check_version(0x0400_0000)
            .unwrap_err()
            .contains("4.x")
    );
    assert!(
        config::check_version(0x0305_0000)
            .unwrap_err()
            .contains("older than 3.6")
    );
}

#[test]
fn probe_output_parsing() {
    let out =
        "# 1 \"probe.c\"\nMV_PROBE_HAS ca_cb\n\nMV_PROBE_HAS crl\nMV_PROBE_VERSION 0x03060500\n";
    let (cfgs, v) = config::parse_probe(out).unwrap();
    assert_eq!(cfgs, ["ca_cb", "crl"]);
    assert_eq!(v, 0x0306_0500);
    assert!(config::parse_probe("MV_PROBE_HAS crl\n").is_err());
}

#[test]
fn profile_and_record_sizes() {
    use config::Profile;
    assert_eq!(Profile::select("linux", None).unwrap(), Profile::Host);
    assert_eq!(Profile::select("none", None).unwrap(), Profile::BareMetal);
    assert_eq!(
        Profile::select("linux", Some("baremetal")).unwrap(),
        Profile::BareMetal
    );
    assert!(
        Profile::select("linux", Some("tiny"))
            .unwrap_err()
            .contains("host")
    );
    assert_eq!(
        config::record_lens(Profile::Host, false, None, None).unwrap(),
        (16384, 16384)
    );
    assert_eq!(
        config::record_lens(Profile::BareMetal, false, None, None).unwrap(),
        (16384, 4096)
    );
    assert_eq!(
        config::record_lens(Profile::Host, true, None, None).unwrap(),
        (4096, 2048)
    );
    assert_eq!(
        config::record_lens(Profile::Host, true, Some("8192"), None).unwrap(),
        (8192, 2048)
    );
    assert!(config::record_lens(Profile::Host, false, Some("100"), None).is_err());
    assert!(config::record_lens(Profile::Host, false, None, Some("big")).is_err());
}

// Fixture strings in the shape esp-idf-sys exports (embuild's CInclArgs / CfgArgs).
const IDF_INCL: &str = r#"-isystem"/idf/components/mbedtls/port/include" -isystem"/idf/components/mbedtls/mbedtls/include" -I/build/config -DMBEDTLS_CONFIG_FILE="mbedtls/esp_config.h" -DESP_PLATFORM"#;

#[test]
fn espidf_include_args() {
    let a = espidf::parse_c_args(IDF_INCL);
    assert_eq!(
        a.includes,
        [
            "/idf/components/mbedtls/port/include",
            "/idf/components/mbedtls/mbedtls/include",
            "/build/config"
        ]
    );
    assert_eq!(
        a.defines,
        [
            (
                "MBEDTLS_CONFIG_FILE".to_string(),
                Some("mbedtls/esp_config.h".to_string())
            ),
            ("ESP_PLATFORM".to_string(), None)
        ]
    );
    assert_eq!(
        espidf::split_args(r#"-I"/a b/c" -I /d"#),
        ["-I/a b/c", "-I", "/d"]
    );
    assert_eq!(
        espidf::parse_c_args(r#"-I"/a b/c" -I /d"#).includes,
        ["/a b/c", "/d"]
    );
}

#[test]
fn espidf_defaults_turn_ca_callback_off_and_warn_about_time() {
    // ESP-IDF 5.3 defaults: no CA callback, no certificate time checks.
    let cfg = espidf::parse_cfg_args(
        r#"esp_idf_version_major="5":esp_idf_version_minor="3":esp_idf_mbedtls_x509_crl_parse_c:esp_idf_freertos_hz="100""#,
    );
    assert_eq!(cfg.version, Some((5, 3)));
    assert!(!cfg.ca_callback && !cfg.time_date && cfg.crl);
    let warnings = espidf::check(&cfg).unwrap();
    assert!(warnings.iter().any(|w| w.contains("TRUSTED_CERT_CALLBACK")));
    assert!(warnings.iter().any(|w| w.contains("fails closed")));
}

#[test]
fn espidf_with_options_on_and_versions_refused() {
    let cfg = espidf::parse_cfg_args(
        "esp_idf_version_major=\"5\":esp_idf_version_minor=\"5\":esp_idf_mbedtls_x509_trusted_cert_callback:esp_idf_mbedtls_have_time_date",
    );
    assert!(cfg.ca_callback && cfg.time_date);
    assert!(espidf::check(&cfg).unwrap().is_empty());
    let v6 = espidf::parse_cfg_args("esp_idf_version_major=\"6\":esp_idf_version_minor=\"0\"");
    assert!(espidf::check(&v6).unwrap_err().contains("mbedTLS 4.x"));
    let v51 = espidf::parse_cfg_args("esp_idf_version_major=\"5\":esp_idf_version_minor=\"1\"");
    assert!(espidf::check(&v51).unwrap_err().contains("older than 3.6"));
}

#[test]
fn extra_defines_are_validated() {
    assert_eq!(
        config::parse_extra_defines("MBEDTLS_ECP_WINDOW_SIZE=2, MV_NO_NIST_OPTIM").unwrap(),
        [
            ("MBEDTLS_ECP_WINDOW_SIZE".to_string(), Some("2".to_string())),
            ("MV_NO_NIST_OPTIM".to_string(), None)
        ]
    );
    assert!(config::parse_extra_defines("A=\"x\"").is_err());
    assert!(config::parse_extra_defines("1BAD").is_err());
    assert!(config::parse_extra_defines("A B").is_err());
    assert!(config::parse_extra_defines("").unwrap().is_empty());
}

#[test]
fn docs_only_cfgs_match_a_plain_host_build() {
    assert!(config::docs_only(Some("1")));
    assert!(!config::docs_only(None));
    // Set by the build script from the real probe; `-` when this build is not a plain
    // host build (another profile, p256-only, extra defines, a prebuilt or ESP-IDF mbedTLS).
    let probed = env!("MBEDTLS_VERIFY_SYS_PROBED");
    if probed == "-" {
        eprintln!("not a plain host build: the docs-only cfg list is not compared");
        return;
    }
    let mut got: Vec<&str> = probed
        .split(',')
        .filter(|c| *c != "lt_3_6_7" && *c != "external")
        .collect();
    let mut want = config::DOCS_CFGS.to_vec();
    got.sort_unstable();
    want.sort_unstable();
    assert_eq!(
        got, want,
        "config::DOCS_CFGS (what a DOCS_RS build declares) differs from the probe of \
         config/mv_config.h's host profile: update it"
    );
}
