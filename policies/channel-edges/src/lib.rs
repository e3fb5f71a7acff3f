//! Built-in gate `channel-edges`: a gated channel waits until its gating channel has
//! converged (`{"edges": [{"before": "staging", "after": "prod"}]}`: no prod host is
//! dispatched while staging still rolls out). Cycles are refused by `validate-config`.
//!
//! The logic is [`logic::ChannelEdges`], plain Rust; on wasm32 it is exported as the
//! `gate` world.
#![deny(unsafe_code)]

pub mod logic;

pub use logic::{ChannelEdges, Config};

#[cfg(target_arch = "wasm32")]
convoy_policy_sdk::export_gate!(logic::ChannelEdges);
