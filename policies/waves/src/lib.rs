//! Built-in rollout policy `waves`: canary, staged and all-at-once rollouts from the
//! configuration's wave selectors, with a soak time per wave, promotion only when every
//! host of the wave is healthy and soaked, offline hosts skipped after a configurable time
//! (and reported), and halt or rollback-and-halt when hosts fail.
//!
//! The logic is [`logic::Waves`], plain Rust; on wasm32 it is exported as the `rollout`
//! world.
#![deny(unsafe_code)]

pub mod logic;

pub use logic::{Config, Waves};

#[cfg(target_arch = "wasm32")]
convoy_policy_sdk::export_rollout!(logic::Waves);
