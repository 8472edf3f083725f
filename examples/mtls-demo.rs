//! Placeholder until the sessions land: verifies a generated two-certificate chain
//! through the raw shim. Replaced by the full mTLS demo.
fn main() {
    // SAFETY: no arguments besides verbosity.
    let failed = unsafe { mbedtls_verify_sys::mv_selftest(0) };
    println!(
        "mbedTLS {:#010x} self-tests: {failed} failed",
        mbedtls_verify_sys::version_number()
    );
    std::process::exit(if failed == 0 { 0 } else { 1 });
}
