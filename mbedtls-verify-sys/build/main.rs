//! Build script of `mbedtls-verify-sys`: a small dispatcher over the modules beside it.
//!
//! - `source`: find a mbedTLS 3.6 tree (env var, crate dir, vendor/, pinned registry package);
//! - `config`: profile (host / bare metal), record buffer sizes, the feature probe;
//! - `espidf`: compile only the shim against ESP-IDF's own mbedTLS;
//! - `bindgen` (feature `bindgen`): regenerate and check `src/bindings.rs`.
//!
//! Needs Rust and a C compiler only: no cmake, ninja or clang. With `DOCS_RS` set
//! (documentation builds) it needs neither a C compiler nor a mbedTLS tree: it declares
//! the host profile's options and builds nothing.

#[cfg(feature = "bindgen")]
mod bindgen;
mod config;
mod espidf;
mod source;

use std::path::{Path, PathBuf};
use std::process::Command;

use config::Profile;

/// Read an environment variable and tell cargo to rerun when it changes.
fn env(name: &str) -> Option<String> {
    println!("cargo:rerun-if-env-changed={name}");
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Variables cargo itself sets for build scripts (not user configuration).
fn cargo_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("cargo did not set {name}"))
}

fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("\nerror: mbedtls-verify-sys: {msg}\n");
    std::process::exit(1);
}

/// Include directories and defines that every C file of this build sees.
struct CFlags {
    includes: Vec<PathBuf>,
    defines: Vec<(String, Option<String>)>,
}

impl CFlags {
    fn apply(&self, b: &mut cc::Build) {
        for i in &self.includes {
            b.include(i);
        }
        for (k, v) in &self.defines {
            b.define(k, v.as_deref());
        }
    }
}

fn main() {
    let crate_dir = PathBuf::from(cargo_env("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(cargo_env("OUT_DIR"));
    for p in ["build", "config", "shim", "pin"] {
        println!("cargo:rerun-if-changed={}", crate_dir.join(p).display());
    }
    let target_os = cargo_env("CARGO_CFG_TARGET_OS");

    // Documentation only (docs.rs): no C compiler runs and nothing is read or downloaded;
    // the cfgs and version of the pinned host build are declared instead of probed.
    if config::docs_only(env("DOCS_RS").as_deref()) {
        let mut cfgs: Vec<String> = config::DOCS_CFGS.iter().map(|c| c.to_string()).collect();
        if config::DOCS_VERSION < 0x0306_0700 {
            cfgs.push("lt_3_6_7".into());
        }
        println!(
            "cargo:warning=DOCS_RS is set: documentation only, no mbedTLS is built or linked \
             (documenting the host profile of mbedTLS {})",
            source::version_string(config::DOCS_VERSION)
        );
        emit_metadata(&cfgs, config::DOCS_VERSION, &[]);
        return;
    }

    let mut cfgs: Vec<String>;
    let flags: CFlags;
    if target_os == "espidf" {
        refuse_rust_verify("ESP-IDF");
        flags = build_espidf();
    } else if let (Some(lib), Some(inc)) = (
        env("MBEDTLS_VERIFY_SYS_LIB_DIR"),
        env("MBEDTLS_VERIFY_SYS_INCLUDE_DIR"),
    ) {
        refuse_rust_verify("MBEDTLS_VERIFY_SYS_LIB_DIR");
        flags = CFlags {
            includes: vec![PathBuf::from(inc)],
            defines: vec![],
        };
        println!("cargo:rustc-link-search=native={lib}");
        compile_shim(&crate_dir, &flags);
        for l in ["mbedtls", "mbedx509", "mbedcrypto"] {
            println!("cargo:rustc-link-lib=static={l}");
        }
        println!("cargo:warning=linking the prebuilt mbedTLS in {lib}");
    } else {
        flags = build_from_source(&crate_dir, &out_dir, &target_os);
    }

    let (probed, version) = probe(&out_dir, &flags);
    if let Err(e) = config::check_version(version) {
        fail(e);
    }
    cfgs = probed;
    if version < 0x0306_0700 {
        // TLS 1.3 resumption / session-reset advisories fixed in 3.6.6 and 3.6.7.
        cfgs.push("lt_3_6_7".into());
    }
    if target_os == "espidf" {
        cfgs.push("espidf".into());
    }
    if target_os != "espidf" && !cfgs.iter().any(|c| c == "time_override") {
        cfgs.push("external".into());
    }
    let plain = is_plain_host(&flags);
    // For the check of config::DOCS_CFGS against a real host build (tests/build_logic.rs).
    println!(
        "cargo:rustc-env=MBEDTLS_VERIFY_SYS_PROBED={}",
        if plain { cfgs.join(",") } else { "-".into() }
    );
    emit_metadata(&cfgs, version, &flags.includes);

    // The checked-in bindings are those of the plain host configuration (some constants
    // exist only with RSA, threading, ...): only that build compares against them.
    #[cfg(feature = "bindgen")]
    bindgen::generate(&crate_dir, &out_dir, &flags.includes, &flags.defines, plain);
}

/// Whether this is the reference configuration: mbedTLS built from source with the host
/// profile and no feature or define that changes which options are compiled in (record
/// sizes aside).
fn is_plain_host(flags: &CFlags) -> bool {
    flags
        .defines
        .iter()
        .any(|(k, _)| k == Profile::Host.define())
        && !flags.defines.iter().any(|(k, _)| {
            k == "MV_P256_ONLY" || (!k.starts_with("MV_") && k != "MBEDTLS_CONFIG_FILE")
        })
        && std::env::var_os("MBEDTLS_VERIFY_SYS_EXTRA_DEFINES").is_none()
}

/// The cfgs for this crate and, through the `links` metadata, for its dependents.
fn emit_metadata(cfgs: &[String], version: u32, includes: &[PathBuf]) {
    let all: Vec<&str> = config::PROBED
        .iter()
        .map(|p| p.1)
        .chain(["lt_3_6_7", "espidf", "external"])
        .collect();
    for c in &all {
        println!("cargo:rustc-check-cfg=cfg(mbedtls_{c})");
    }
    for c in cfgs {
        println!("cargo:rustc-cfg=mbedtls_{c}");
    }
    // `links` metadata for dependents: DEP_MBEDTLS_CFG, _VERSION_NUMBER, _VERSION, _INCLUDE.
    println!("cargo:cfg={}", cfgs.join(","));
    println!("cargo:all_cfgs={}", all.join(","));
    println!("cargo:version_number={version:#010x}");
    println!("cargo:rustc-env=MBEDTLS_VERIFY_SYS_VERSION_NUMBER={version:#010x}");
    println!("cargo:version={}", source::version_string(version));
    let inc: Vec<String> = includes.iter().map(|p| p.display().to_string()).collect();
    println!(
        "cargo:include={}",
        std::env::join_paths(&inc).unwrap().to_string_lossy()
    );
}

fn build_from_source(crate_dir: &Path, out_dir: &Path, target_os: &str) -> CFlags {
    let profile = Profile::select(target_os, env("MBEDTLS_VERIFY_SYS_PROFILE").as_deref())
        .unwrap_or_else(|e| fail(e));
    let vendor = crate_dir.parent().map(|p| p.join("vendor").join("mbedtls"));
    let tree = source::resolve(
        env(source::ENV_DIR).map(PathBuf::from),
        crate_dir,
        vendor,
        || registry_tree(crate_dir, out_dir),
    )
    .unwrap_or_else(|e| fail(e));
    // Lets the crate's own tests find the tree that was used.
    println!(
        "cargo:rustc-env=MBEDTLS_VERIFY_SYS_TREE={}",
        tree.root.display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        tree.root.join("include").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        tree.root.join("library").display()
    );

    let (in_len, out_len) = config::record_lens(
        profile,
        std::env::var_os("CARGO_FEATURE_SMALL_RECORDS").is_some(),
        env("MBEDTLS_VERIFY_SYS_SSL_IN_CONTENT_LEN").as_deref(),
        env("MBEDTLS_VERIFY_SYS_SSL_OUT_CONTENT_LEN").as_deref(),
    )
    .unwrap_or_else(|e| fail(e));

    let mut defines = vec![
        (
            "MBEDTLS_CONFIG_FILE".to_string(),
            Some("\"mv_config.h\"".to_string()),
        ),
        (profile.define().to_string(), None),
        ("MV_OWN_CONFIG".to_string(), None),
        (
            "MV_SSL_IN_CONTENT_LEN".to_string(),
            Some(in_len.to_string()),
        ),
        (
            "MV_SSL_OUT_CONTENT_LEN".to_string(),
            Some(out_len.to_string()),
        ),
    ];
    if std::env::var_os("CARGO_FEATURE_P256_ONLY").is_some() {
        defines.push(("MV_P256_ONLY".to_string(), None));
    }
    let rust_verify = std::env::var_os("CARGO_FEATURE_P256_VERIFY_RUSTCRYPTO").is_some();
    if rust_verify {
        defines.push(("MV_ECDSA_VERIFY_RUST".to_string(), None));
    }
    let rust_ecdh = std::env::var_os("CARGO_FEATURE_P256_ECDH_RUSTCRYPTO").is_some();
    if rust_ecdh {
        defines.push(("MV_P256_ECDH_RUST".to_string(), None));
    }
    // Tuning knobs measured in benches/ (e.g. "MBEDTLS_ECP_WINDOW_SIZE=2,MV_NO_NIST_OPTIM").
    if let Some(extra) = env("MBEDTLS_VERIFY_SYS_EXTRA_DEFINES") {
        defines.extend(config::parse_extra_defines(&extra).unwrap_or_else(|e| fail(e)));
    }
    let flags = CFlags {
        includes: vec![
            crate_dir.join("config"),
            tree.root.join("include"),
            tree.root.join("library"),
        ],
        defines,
    };

    let opt = env("MBEDTLS_VERIFY_SYS_OPT_LEVEL").unwrap_or_else(|| {
        match profile {
            Profile::Host => "2",
            Profile::BareMetal => "s",
        }
        .to_string()
    });

    // The shim first: with GNU ld, a static library must come before what it uses.
    compile_shim(crate_dir, &flags);
    if rust_verify {
        compile_ecdsa_alt(crate_dir, &flags, &opt);
    }

    let mut sources: Vec<PathBuf> = std::fs::read_dir(tree.root.join("library"))
        .unwrap_or_else(|e| fail(format!("cannot read {}: {e}", tree.root.display())))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "c"))
        .collect();
    sources.sort();
    let mut b = cc::Build::new();
    flags.apply(&mut b);
    // Opt-in p256-m (`MV_P256M` in MBEDTLS_VERIFY_SYS_EXTRA_DEFINES; see config/mv_config.h):
    // the tree's 3rdparty driver, two C files, built into the same library.
    if flags.defines.iter().any(|(k, _)| k == "MV_P256M") {
        let p256m = tree.root.join("3rdparty").join("p256-m");
        let files = [
            p256m.join("p256-m_driver_entrypoints.c"),
            p256m.join("p256-m").join("p256-m.c"),
        ];
        if let Some(missing) = files.iter().find(|f| !f.is_file()) {
            fail(format!(
                "MV_P256M: {} is missing (the tree has no 3rdparty/p256-m)",
                missing.display()
            ));
        }
        println!("cargo:rerun-if-changed={}", p256m.display());
        b.include(&p256m).include(p256m.join("p256-m"));
        sources.extend(files);
    }
    // Feature `p256-ecdh-rustcrypto`: the PSA driver entry points (shim/mv_p256_driver.c)
    // go into the same library as the PSA core that calls them (GNU ld resolves a static
    // library's symbols only from the libraries after it), compiled against the tree's
    // header that declares them.
    if rust_ecdh {
        let header_dir = tree.root.join("3rdparty").join("p256-m");
        if !header_dir.join("p256-m_driver_entrypoints.h").is_file() {
            fail(format!(
                "feature `p256-ecdh-rustcrypto`: {} has no p256-m_driver_entrypoints.h (PSA's \
                 P-256 driver interface of mbedTLS 3.6)",
                header_dir.display()
            ));
        }
        b.include(crate_dir.join("shim")).include(&header_dir);
        sources.push(crate_dir.join("shim/mv_p256_driver.c"));
    }
    b.files(&sources).warnings(false).opt_level_str(&opt);
    b.compile("mbedtls_verify_c");
    if profile == Profile::Host {
        println!("cargo:rustc-link-lib=pthread");
    }
    println!(
        "cargo:warning=built mbedTLS {} from {} ({:?} tree, {:?} profile, records {in_len}/{out_len})",
        std::fs::read_to_string(tree.root.join("include/mbedtls/build_info.h"))
            .ok()
            .and_then(|t| source::version_from_build_info(&t))
            .map(source::version_string)
            .unwrap_or_else(|| "?".into()),
        tree.root.display(),
        tree.origin,
        profile
    );
    flags
}

/// Feature `p256-verify-rustcrypto`: mbedTLS's own ECDSA verify under another name, and the
/// accessors the Rust side uses (shim/mv_ecdsa_alt.c).
fn compile_ecdsa_alt(crate_dir: &Path, flags: &CFlags, opt: &str) {
    let mut b = cc::Build::new();
    flags.apply(&mut b);
    b.include(crate_dir.join("shim"))
        .file(crate_dir.join("shim/mv_ecdsa_alt.c"))
        .warnings(false)
        .opt_level_str(opt);
    b.compile("mv_ecdsa_alt");
}

/// The features replace code inside mbedTLS: only a tree this crate compiles can take them.
fn refuse_rust_verify(which: &str) {
    if std::env::var_os("CARGO_FEATURE_P256_VERIFY_RUSTCRYPTO").is_some() {
        fail(format!(
            "feature `p256-verify-rustcrypto` needs mbedTLS built by this crate (it sets \
             MBEDTLS_ECDSA_VERIFY_ALT in the project's config); {which} brings its own mbedTLS"
        ));
    }
    if std::env::var_os("CARGO_FEATURE_P256_ECDH_RUSTCRYPTO").is_some() {
        fail(format!(
            "feature `p256-ecdh-rustcrypto` needs mbedTLS built by this crate (it registers a \
             PSA driver in the project's config); {which} brings its own mbedTLS"
        ));
    }
}

fn compile_shim(crate_dir: &Path, flags: &CFlags) {
    let mut b = cc::Build::new();
    flags.apply(&mut b);
    b.include(crate_dir.join("shim"))
        .file(crate_dir.join("shim/mv_shim.c"))
        .warnings(true)
        .extra_warnings(true)
        .flag_if_supported("-Wno-unused-parameter")
        .opt_level(2);
    b.compile("mv_shim");
}

/// Ask the preprocessor which options the mbedTLS actually linked has.
fn probe(out_dir: &Path, flags: &CFlags) -> (Vec<String>, u32) {
    let path = out_dir.join("mv_probe.c");
    std::fs::write(&path, config::probe_source()).unwrap_or_else(|e| fail(e));
    let mut b = cc::Build::new();
    flags.apply(&mut b);
    b.file(&path);
    let out = b
        .try_expand()
        .unwrap_or_else(|e| fail(format!("feature probe failed: {e}")));
    config::parse_probe(&String::from_utf8_lossy(&out)).unwrap_or_else(|e| fail(e))
}

/// Download (never build) the pinned package through cargo and return its tree.
fn registry_tree(crate_dir: &Path, out_dir: &Path) -> Result<PathBuf, String> {
    let pin = out_dir.join("mbedtls-source-pin");
    std::fs::create_dir_all(&pin).map_err(|e| e.to_string())?;
    let manifest = std::fs::read_to_string(crate_dir.join("pin/Cargo.toml.in"))
        .map_err(|e| format!("pin/Cargo.toml.in: {e}"))?;
    std::fs::write(pin.join("Cargo.toml"), manifest).map_err(|e| e.to_string())?;
    std::fs::copy(crate_dir.join("pin/Cargo.lock"), pin.join("Cargo.lock"))
        .map_err(|e| format!("pin/Cargo.lock: {e}"))?;
    std::fs::write(pin.join("lib.rs"), "").map_err(|e| e.to_string())?;

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "metadata",
        "--format-version",
        "1",
        "--locked",
        "--manifest-path",
    ])
    .arg(pin.join("Cargo.toml"));
    // Cargo does not pass --offline to build scripts: honour it here.
    if env("CARGO_NET_OFFLINE").is_some_and(|v| v == "true" || v == "1") {
        cmd.arg("--offline");
    }
    let out = cmd.output().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!("`cargo metadata` failed: {}", err.trim()));
    }
    let json = String::from_utf8_lossy(&out.stdout);
    let tree = source::tree_from_metadata(&json, |p| std::fs::read_to_string(p).ok())
        .ok_or("cargo metadata did not list the pinned package")?;
    if !source::is_tree(&tree) {
        return Err(format!("{} holds no mbedTLS tree", tree.display()));
    }
    Ok(tree)
}

fn build_espidf() -> CFlags {
    let incl = env("DEP_ESP_IDF_EMBUILD_C_INCLUDE_ARGS").unwrap_or_else(|| {
        fail(
            "esp-idf-sys did not export DEP_ESP_IDF_EMBUILD_C_INCLUDE_ARGS: on ESP-IDF targets \
             this crate compiles its shim against ESP-IDF's own mbedTLS (never a second copy), \
             located through esp-idf-sys; build the application with esp-idf-sys's builder \
             (e.g. through esp-idf-svc, features `native` or `pio`)",
        )
    });
    let idf = espidf::parse_cfg_args(&env("DEP_ESP_IDF_EMBUILD_CFG_ARGS").unwrap_or_default());
    match espidf::check(&idf) {
        Ok(warnings) => {
            for w in warnings {
                println!("cargo:warning={w}");
            }
        }
        Err(e) => fail(e),
    }
    let args = espidf::parse_c_args(&incl);
    let flags = CFlags {
        includes: args.includes.iter().map(PathBuf::from).collect(),
        defines: args.defines,
    };
    let crate_dir = PathBuf::from(cargo_env("CARGO_MANIFEST_DIR"));
    compile_shim(&crate_dir, &flags);
    flags
}
