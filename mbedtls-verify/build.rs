//! Re-emit the options the linked mbedTLS was built with (from mbedtls-verify-sys's
//! `links` metadata) as `mbedtls_*` cfgs, so an API the C build lacks does not compile.
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_MBEDTLS_CFG");
    let all = std::env::var("DEP_MBEDTLS_ALL_CFGS").unwrap_or_default();
    for c in all.split(',').filter(|c| !c.is_empty()) {
        println!("cargo:rustc-check-cfg=cfg(mbedtls_{c})");
    }
    let on = std::env::var("DEP_MBEDTLS_CFG").unwrap_or_default();
    for c in on.split(',').filter(|c| !c.is_empty()) {
        println!("cargo:rustc-cfg=mbedtls_{c}");
    }
}
