//! Test support shared by Convoy's crates, with no dependency on any of them.
//!
//! [`corpus`] turns the hostile-module corpus (`host-runtime/tests/hostile`) and
//! hand-written WAT into real components built against the workspace's `wit/`;
//! [`builtin_components`] finds (building if needed) the built-in policy components. The
//! host runtime's tests and benchmark, the scenario fixtures and the release tool's tests
//! all use it, so none of them needs a dev-dependency on another (which made a cycle).

mod builtins;
pub mod corpus;

pub use builtins::{BUILTINS, builtin_components};
