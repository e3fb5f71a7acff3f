//! Built-in gate `disruption-budget`: at most `maxInFlight` hosts, and at most
//! `maxInFlightPct` percent of the hosts, matched by a budget's selector may be disrupted
//! at once, counted across every active rollout of the fleet.
//!
//! The logic is [`logic::DisruptionBudget`], plain Rust; on wasm32 it is exported as the
//! `gate` world. Percentages round as [`convoy_policy_sdk::pct`] says: down, but at
//! least one host.
#![deny(unsafe_code)]

pub mod logic;

pub use logic::{Budget, Config, DisruptionBudget};

#[cfg(target_arch = "wasm32")]
convoy_policy_sdk::export_gate!(logic::DisruptionBudget);
