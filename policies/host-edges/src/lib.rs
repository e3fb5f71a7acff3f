//! Built-in gate `host-edges`: a host waits until the hosts it depends on have converged
//! (`{"edges": [{"before": "db1", "after": "db2"}]}`: db2 is dispatched only once db1 runs
//! its target closure and has soaked). Cycles are refused by `validate-config`.
//!
//! The logic is [`logic::HostEdges`], plain Rust; on wasm32 it is exported as the `gate`
//! world.
#![deny(unsafe_code)]

pub mod logic;

pub use logic::{Config, HostEdges};

#[cfg(target_arch = "wasm32")]
convoy_policy_sdk::export_gate!(logic::HostEdges);
