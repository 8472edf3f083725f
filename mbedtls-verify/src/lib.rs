//! Safe, typed mbedTLS 3.6 bindings for deciding **whom a TLS endpoint trusts**.
//!
//! - [`x509`]: certificates and chains ([`CertChain`](x509::CertChain), the borrowed
//!   [`CertRef`](x509::CertRef)) with typed accessors;
//! - [`trust`]: one [`Trust`](trust::Trust) value — a static CA set with CRLs, or a CA
//!   callback;
//! - [`verify`]: the verify hook, which sees each certificate's depth, its
//!   [`Role`](verify::Role) and typed [`VerifyFlags`](verify::VerifyFlags);
//! - [`verifier`]: offline chain verification with a security [`profile`];
//! - [`platform`]: entropy, clock and allocator glue for bare metal.
//!
//! `no_std` + `alloc`; the `std` feature (default) adds panic catching in callbacks and
//! `std::io` transports.
#![no_std]
#![deny(unsafe_code)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

/// The raw bindings, for escape hatches.
pub use mbedtls_verify_sys as sys;

#[cfg(feature = "std")]
pub mod conformance;
pub mod danger;
pub mod der;
mod error;
pub mod issue;
#[cfg(feature = "name-constraints")]
pub mod name_constraints;
pub mod pem;
pub mod pk;
pub mod platform;
pub mod policy;
pub mod profile;
pub mod ssl;
mod sync;
pub mod trust;
pub mod verifier;
pub mod verify;
pub mod x509;

pub use error::{Error, MbedtlsError, Reason, Result, VerifyError};

/// The workspace README's Rust examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
