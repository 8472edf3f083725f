//! Safe, typed mbedTLS 3.6 bindings for deciding **whom a TLS endpoint trusts**.
//!
//! - [`x509`]: certificates and chains ([`CertChain`](x509::CertChain), the borrowed
//!   [`CertRef`](x509::CertRef)) with typed accessors;
//! - [`trust`]: one [`Trust`](trust::Trust) value — a static CA set with CRLs, or a CA
//!   callback; [`roots`]: public roots in flash, found through the CA callback;
//! - [`verify`]: the verify hook, which sees each certificate's depth, its
//!   [`Role`](verify::Role) and typed [`VerifyFlags`](verify::VerifyFlags);
//! - [`verifier`]: offline chain verification with a security [`profile`];
//! - [`platform`]: entropy, clock and allocator glue for bare metal.
//!
//! `no_std` + `alloc`; the `std` feature (default) adds panic catching in callbacks and
//! `std::io` transports.
//!
//! # Layers
//!
//! Modules use only modules of lower layers (or of their own layer, without a cycle);
//! nothing points up. `scripts/check-layers` reads this table and checks every `crate::`
//! use in `src/` against it (CI runs it); unit tests may use any layer for fixtures.
//!
//! | layer | modules |
//! |---|---|
//! | 6 tools | `issue`, `danger` |
//! | 5 users of the trampoline | `verifier`, `ssl` |
//! | 4 the trampoline | `verify` |
//! | 3 decisions | `trust`, `roots`, `profile`, `policy`, `name_constraints` |
//! | 2 objects | `pk`, `x509` |
//! | 1 basics | `error`, `flags`, `rules`, `time`, `der`, `pem`, `platform` |
//! | 0 floor | `sys`, `sync` |
//!
//! - **floor**: the raw bindings (`sys`) and the `Arc` that works without compare-and-swap;
//! - **basics**: error codes and types, the failure flags ([`verify::VerifyFlags`]), the
//!   names of the structural certificate rules ([`profile::Rule`]),
//!   dates ([`x509::DateTime`]), the strict DER reader and writer, PEM, and the platform
//!   glue (entropy, clock, allocator);
//! - **objects**: keys and certificates (C handles and typed accessors);
//! - **decisions**: what to trust and what to admit — trust anchors or a CA callback,
//!   security profiles, the client policy, nameConstraints;
//! - **the trampoline**: the verify callback mbedTLS calls, which applies the decisions;
//! - **users**: the offline verifier and the TLS sessions;
//! - **tools**: certificate and CRL issuing, and the `danger` overrides.
//!
//! `unsafe` lives only in the modules that own a C object or register a callback
//! (`x509`, `pk`, `trust`, `platform`, `verify`, `verifier`, `ssl`) and in `error`'s call
//! of `mbedtls_strerror`; every block has a `// SAFETY:` comment.
#![no_std]
// Feature badges on docs.rs (`--cfg docsrs`, nightly rustdoc).
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

/// The raw bindings, for escape hatches.
pub use mbedtls_verify_sys as sys;

pub mod danger;
pub mod der;
mod error;
mod flags;
pub mod issue;
#[cfg(feature = "name-constraints")]
#[cfg_attr(docsrs, doc(cfg(feature = "name-constraints")))]
pub mod name_constraints;
pub mod pem;
pub mod pk;
pub mod platform;
pub mod policy;
pub mod profile;
#[cfg(mbedtls_ca_cb)]
#[cfg_attr(docsrs, doc(cfg(mbedtls_ca_cb)))]
pub mod roots;
mod rules;
pub mod ssl;
mod sync;
mod time;
pub mod trust;
pub mod verifier;
pub mod verify;
pub mod x509;

pub use error::{Error, MbedtlsError, Reason, Result, VerifyError};

/// The workspace README's Rust examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
