//! The wasmtime embedding that runs Convoy's signed policy components.
//!
//! A [`PolicyEngine`] is a wasmtime engine configured for determinism (NaN
//! canonicalisation, no relaxed SIMD, no threads, fuel metering, an epoch ticker as the
//! wall-clock backstop) with a local cache of compiled code ([`CompiledCache`]).
//! [`PolicyEngine::load`] turns component bytes pinned by a [`PolicySpec`] (normally an
//! entry of a verified [`convoy_proto::policy_bundle`] manifest, see [`bundle`]) into a
//! [`Policy`]: hash first, then the pre-scan ([`scan`]), then compile or reuse, then refuse
//! anything that imports or does not export its world ([`WORLDS`]). Every evaluation
//! ([`Policy::call`], a [`CallBuilder`]) runs in a fresh instance under [`Limits`], is
//! validated against its world's contract ([`validate`]), and returns an [`Evaluation`]
//! with a [`Receipt`]; every failure is a typed [`PolicyError`] whose sub-enums callers
//! switch on. Guest text is printed only through [`text::printable`].

pub mod abi;
pub mod bundle;
mod cache;
mod call;
mod engine;
mod error;
mod kind;
mod le_hash;
mod limits;
mod policy;
mod receipt;
pub mod scan;
mod snapshot;
pub mod text;
pub mod validate;

pub use abi::{attestation, gate, health, rollout, types, wire};
pub use cache::CompiledCache;
pub use call::PolicyCall;
pub use convoy_proto::PolicyKind;
pub use engine::{
    ComponentInfo, EngineOptions, LoadStats, POOL_SLOTS, PolicyEngine, PolicySpec,
    deterministic_config,
};
pub use error::{
    CacheProblem, DecisionList, EngineProblem, GuestTrap, InputProblem, OutputViolation,
    PolicyError, ReasonProblem, Rejection, ResourceLimit,
};
pub use kind::{
    ABI_MAJOR, ABI_VERSION, ALL_KINDS, Export, PolicyWorld, WORLDS, World, parse_kind, parse_world,
};
pub use limits::{Limits, MAX_TABLE_ELEMENTS, TABLE_ELEMENT_BYTES};
pub use policy::{CallBuilder, ConfigVerdict, Policy, StoreState};
pub use receipt::{Evaluation, Evidence, Receipt, Replay};
pub use snapshot::{NamedCandidates, Snapshot, SnapshotError};

/// The exact wasmtime version policies are compiled and metered with; receipts are only
/// reproducible under the same one.
pub const WASMTIME_VERSION: &str = "48.0.8";

#[cfg(test)]
mod tests {
    /// The control plane evaluates policies from several threads at once.
    #[test]
    fn engine_and_policies_are_shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<crate::PolicyEngine>();
        assert_send_sync::<crate::Policy>();
        assert_send_sync::<crate::bundle::BundleDir>();
    }
}
