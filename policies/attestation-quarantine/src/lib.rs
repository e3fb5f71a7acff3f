//! Built-in attestation policy `attestation-quarantine`: `quarantineAfter` consecutive
//! drift/invalid outcomes quarantine a host, `expelAfter` expel it, and a quarantined or
//! warned host recovers after `recoverAfter` consecutive good ones.
//!
//! The logic is [`logic::AttestationQuarantine`], plain Rust; on wasm32 it is exported as
//! the `attestation` world.
#![deny(unsafe_code)]

pub mod logic;

pub use logic::{AttestationQuarantine, Config};

#[cfg(target_arch = "wasm32")]
convoy_policy_sdk::export_attestation!(logic::AttestationQuarantine);
