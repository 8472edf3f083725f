//! Library part of the `mbedtls-verify` command-line tool: what the binary and its tests
//! share. Host-only; firmware never links it.
//!
//! - [`conformance`]: the x509-limbo case runner, used by the `limbo` subcommand and by
//!   the conformance test (`tests/conformance.rs`).

pub mod conformance;
