//! Built-in health policy `health`: a host is healthy when every required probe (http,
//! tcp, exec, systemd-failed-units) passes on its latest result since activation,
//! unhealthy when one failed `consecutiveFailures` times in a row after the grace period,
//! and pending otherwise.
//!
//! The logic is [`logic::Health`], plain Rust; on wasm32 it is exported as the `health`
//! world. The agent runs it to confirm or roll back; the control plane runs it for soak.
#![deny(unsafe_code)]

pub mod logic;

pub use logic::{Config, Health};

#[cfg(target_arch = "wasm32")]
convoy_policy_sdk::export_health!(logic::Health);
