//! The Convoy policy SDK: everything a policy author needs besides their own logic.
//!
//! It mirrors the `convoy:policy@1.0.0` WIT types as plain Rust types ([`Host`],
//! [`RolloutInput`], [`Plan`], [`GateInput`], [`Verdict`] …) so policy logic is ordinary
//! Rust that runs natively in tests and benchmarks. The rollout and gate worlds see the
//! fleet as one columnar [`Snapshot`] and name hosts by [`HostId`]; a policy reads hosts
//! as [`HostRef`] views that borrow their strings from the snapshot ([`snapshot`]), and
//! [`call`] converts the by-name form of fixtures and call files. The SDK also parses the
//! canonical JSON configuration ([`config`]); evaluates [`Selector`]s; rounds percentages
//! ([`pct`]); judges a host's progress and every time boundary the same way for every
//! built-in ([`progress`]); and, on `wasm32`, exports a policy as a component with one macro per world
//! ([`export_rollout!`], [`export_gate!`], [`export_health!`], [`export_attestation!`]),
//! sending each decision's reasons as one table ([`reasons`]).
//!
//! A policy implements [`Policy`] (its typed configuration and its validation) and one of
//! [`RolloutPolicy`], [`GatePolicy`], [`HealthPolicy`], [`AttestationPolicy`]; the
//! functions of [`eval`] run it with the safe fallback the ABI promises when the
//! configuration is bad (hold, refuse, pending, keep standing — never a panic).
#![deny(unsafe_code)]

// The generated bindings name paths from outside (`convoy_policy_sdk::glue::…`).
extern crate self as convoy_policy_sdk;

pub mod call;
pub mod config;
pub mod eval;
pub mod graph;
#[doc(hidden)]
pub mod mem;
pub mod pct;
pub mod progress;
pub mod reasons;
pub mod selector;
pub mod snapshot;
pub mod types;

#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub mod glue;

// The guests' allocator (wasm32 only); a crate that brings its own global allocator
// disables it with the SDK's `system-allocator` feature.
#[cfg(all(target_arch = "wasm32", not(feature = "system-allocator")))]
#[doc(hidden)]
pub mod bump;

pub use call::{GateCall, NamedPlan, NamedVerdict, RolloutCall, UnknownHost};
pub use config::{ConfigError, parse_config};
pub use eval::{AttestationPolicy, GatePolicy, HealthPolicy, Policy, RolloutPolicy};
pub use progress::{Progress, Skip, Thresholds};
pub use selector::Selector;
pub use snapshot::{Columns, HostId, HostRef, Snapshot, StrId, Tags};
pub use types::*;
