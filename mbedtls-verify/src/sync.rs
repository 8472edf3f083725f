//! The shared pointer used for callbacks and shared configuration.
//!
//! `alloc::sync::Arc` needs atomic compare-and-swap, which targets such as the ESP32-C3
//! (`riscv32imc`) lack; there `portable-atomic-util`'s `Arc` (backed by
//! `portable-atomic` + `critical-section`) takes its place. Unsized coercion
//! (`Arc<dyn Fn>`) is not available for it on stable Rust, so callbacks are stored as
//! `Arc<Box<dyn ..>>`: one extra pointer load per call.

#[cfg(target_has_atomic = "ptr")]
pub(crate) use alloc::sync::Arc;
#[cfg(not(target_has_atomic = "ptr"))]
pub(crate) use portable_atomic_util::Arc;
