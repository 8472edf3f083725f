//! Raw, `no_std` bindings to mbedTLS 3.6 through the `mbedtls-verify` C shim.
//!
//! Rust code sees only the shim's opaque handles and fixed-width integers (see
//! `shim/mv_shim.h`), plus a few mbedTLS constants (verification flags, key usage bits,
//! error codes, algorithm identifiers). Use the safe crate `mbedtls-verify` instead.
//!
//! # Linking
//! The build script compiles mbedTLS with `cc` from the project's own configuration
//! (`config/mv_config.h`) — or, on `*-espidf` targets, compiles only the shim against
//! ESP-IDF's own mbedTLS — and declares `links = "mbedtls"`, so a second copy of
//! mbedTLS in one dependency graph is refused by cargo. Dependents read, in their build
//! scripts:
//! - `DEP_MBEDTLS_CFG`: comma-separated options compiled in (`ca_cb`, `crl`,
//!   `time_date`, `threading`, `tls13`, `tls12`, `rsa`, `x509write`, `ssl_srv`, `ssl_cli`,
//!   `self_test`, `time_override`, and `lt_3_6_7` when the linked mbedTLS is older than
//!   3.6.7); emit each as `mbedtls_<name>`; `DEP_MBEDTLS_ALL_CFGS` lists every name for
//!   `rustc-check-cfg`;
//! - `DEP_MBEDTLS_VERSION_NUMBER` / `DEP_MBEDTLS_VERSION`;
//! - `DEP_MBEDTLS_INCLUDE`: include directories (path-list).
//!
//! On the host the C code needs from the C library: `calloc`, `free`, `memcpy`-family,
//! `getrandom`, `time`, `clock_gettime` and pthreads. On bare metal: `calloc`/`free`
//! (or hooks installed with [`mv_set_calloc_free`]) and the `mem*`/`str*` functions;
//! entropy and time come from the application ([`mv_set_rng`], [`mv_set_clock`]).
//!
//! Feature `p256-verify-rustcrypto`: ECDSA P-256 verification in Rust (module
//! `p256_verify`, which exports `mbedtls_ecdsa_verify` to mbedTLS); adds the cfg
//! `mbedtls_ecdsa_verify_alt` to `DEP_MBEDTLS_CFG`.
//!
//! Feature `p256-ecdh-rustcrypto`: P-256 key generation, public values and ECDH shared
//! secrets in Rust (module `p256_ecdh`), registered as PSA's P-256 transparent driver, which
//! TLS 1.3's key exchange uses; the TLS configuration then offers P-256 first (before
//! X25519); adds the cfg `mbedtls_p256_psa_driver` to `DEP_MBEDTLS_CFG`.
#![no_std]
#![allow(non_camel_case_types, non_upper_case_globals, non_snake_case)]
#![allow(clippy::all)]

#[allow(missing_debug_implementations, clippy::undocumented_unsafe_blocks)]
mod bindings {
    use super::{
        mbedtls_pk_context, mbedtls_ssl_config, mbedtls_ssl_context, mbedtls_x509_crl,
        mbedtls_x509_crt,
    };
    include!("bindings.rs");
}
pub use bindings::*;

macro_rules! opaque {
    ($($(#[$m:meta])* $name:ident),* $(,)?) => {$(
        $(#[$m])*
        ///
        /// An incomplete C type: only ever used behind a pointer from the shim.
        #[repr(C)]
        #[derive(Debug)]
        pub struct $name {
            _data: [u8; 0],
            _marker: core::marker::PhantomData<(*mut u8, core::marker::PhantomPinned)>,
        }
    )*};
}

opaque!(
    /// `mbedtls_x509_crt`: a certificate, or the head of a chain (`mv_cert`).
    mbedtls_x509_crt,
    /// `mbedtls_x509_crl` (`mv_crl`).
    mbedtls_x509_crl,
    /// `mbedtls_pk_context` (`mv_pk`).
    mbedtls_pk_context,
    /// `mbedtls_ssl_config` (`mv_ssl_conf`).
    mbedtls_ssl_config,
    /// `mbedtls_ssl_context` (`mv_ssl`).
    mbedtls_ssl_context,
);

// Features `p256-verify-rustcrypto`, `p256-ecdh-rustcrypto`: catching a panic before it
// reaches C needs std's catch_unwind, which exists wherever panics unwind (hosts); abort
// builds need nothing.
#[cfg(all(
    any(feature = "p256-verify-rustcrypto", feature = "p256-ecdh-rustcrypto"),
    panic = "unwind"
))]
extern crate std;

#[cfg(any(feature = "p256-verify-rustcrypto", feature = "p256-ecdh-rustcrypto"))]
mod rust_hook;

#[cfg(feature = "p256-ecdh-rustcrypto")]
pub mod p256_ecdh;

#[cfg(feature = "p256-verify-rustcrypto")]
pub mod p256_verify;

/// mbedTLS version number this crate was built against (e.g. `0x03060500`).
pub const fn version_number() -> u32 {
    // Emitted by the build script from the headers it compiled.
    match u32::from_str_radix(env_hex(), 16) {
        Ok(v) => v,
        Err(_) => 0,
    }
}

const fn env_hex() -> &'static str {
    let s = env!("MBEDTLS_VERIFY_SYS_VERSION_NUMBER").as_bytes();
    // Strip the "0x" prefix.
    let (_, rest) = s.split_at(2);
    match core::str::from_utf8(rest) {
        Ok(r) => r,
        Err(_) => "0",
    }
}
