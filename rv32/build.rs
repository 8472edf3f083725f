//! Link arguments per binary (the common ones are in .cargo/config.toml):
//! - a link map per binary, for the size report of `scripts/rv32-build`;
//! - for the test binary only, `--wrap` of the two entry points of mbedTLS's certificate
//!   verification, which `src/measure.rs` instruments.

fn main() {
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    // OUT_DIR is <target-dir>/<triple>/<profile>/build/<pkg>-<hash>/out: the map goes
    // next to the binaries, in <target-dir>/<triple>/<profile>/.
    let profile_dir = out
        .ancestors()
        .nth(3)
        .expect("OUT_DIR has the cargo layout")
        .to_path_buf();
    for bin in ["mbedtls-verify-rv32", "mtls-server-size"] {
        println!(
            "cargo:rustc-link-arg-bin={bin}=-Wl,-Map={}",
            profile_dir.join(format!("{bin}.map")).display()
        );
    }
    for sym in ["mv_verify", "mbedtls_x509_crt_verify_restartable"] {
        println!("cargo:rustc-link-arg-bin=mbedtls-verify-rv32=-Wl,--wrap={sym}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
