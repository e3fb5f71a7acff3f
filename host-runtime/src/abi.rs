//! The Rust form of `wit/` (package `convoy:policy@1.0.0`): every type of every world.
//!
//! The types that cross the boundary derive wasmtime's component traits, so calls are
//! lifted and lowered through the canonical ABI with no dynamic values; the rollout and
//! gate worlds cross in their columnar form ([`wire`]), and their by-name forms here
//! ([`rollout::Plan`], [`gate::Verdict`], the inputs) are serde only. Serde's form is the JSON of
//! `convoy policy eval`, the scenario fixtures and the receipts (the same form as the
//! guest SDK's types): record fields in snake_case, enum and variant cases in
//! UpperCamelCase, a payload-less case as a string (`"Converge"`), a case with a payload
//! as a one-key object (`{"Promote": 2}`). Component-model types are structural: when a
//! component is loaded its exports are type-checked against these types, so any drift
//! from `wit/` is a [`crate::PolicyError::RejectedModule`], and the tests load real
//! components built from `wit/`.
//!
//! Why not `wasmtime::component::bindgen!`: it generates a `Host` trait in the module of
//! every imported interface, and `convoy:policy/types` has a record named `host`; the two
//! collide and no bindgen option separates them (the world-level `add_to_linker` needs the
//! trait under that exact path). Renaming the record in a later minor version of the ABI
//! would let this module become a `bindgen!` invocation again.

use wasmtime::component::{ComponentType, Lift, Lower};

/// `convoy:policy/types`: the types every world shares.
pub mod types {
    use super::*;

    /// Unix seconds, supplied by the host: a policy has no clock.
    pub type Timestamp = u64;

    /// The policy's configuration: canonical JSON from the signed fleet artifact.
    pub type Config = String;

    /// Where a host stands in the rollout of its closure.
    #[derive(
        ComponentType,
        Lift,
        Lower,
        Clone,
        Copy,
        Debug,
        PartialEq,
        Eq,
        Hash,
        serde::Serialize,
        serde::Deserialize,
    )]
    #[component(enum)]
    #[repr(u8)]
    pub enum HostPhase {
        /// Not part of any rollout step right now.
        #[component(name = "idle")]
        Idle,
        /// A dispatch was issued; the agent has not started activating.
        #[component(name = "dispatched")]
        Dispatched,
        /// The agent is fetching and activating the closure.
        #[component(name = "activating")]
        Activating,
        /// Activated; the agent must confirm before the deadline.
        #[component(name = "confirm-window")]
        ConfirmWindow,
        /// Confirmed healthy on the target closure; soaking.
        #[component(name = "healthy")]
        Healthy,
        /// Healthy for at least the wave's soak time.
        #[component(name = "soaked")]
        Soaked,
        /// On the target closure, made permanent.
        #[component(name = "converged")]
        Converged,
        /// Activation or health failed.
        #[component(name = "failed")]
        Failed,
        /// The agent rolled back to its previous generation.
        #[component(name = "reverted")]
        Reverted,
        /// Attestation quarantined the host.
        #[component(name = "quarantined")]
        Quarantined,
    }

    impl HostPhase {
        /// The WIT name of the phase (`confirm-window`, …), as policies and timelines
        /// spell it.
        pub fn as_str(self) -> &'static str {
            match self {
                HostPhase::Idle => "idle",
                HostPhase::Dispatched => "dispatched",
                HostPhase::Activating => "activating",
                HostPhase::ConfirmWindow => "confirm-window",
                HostPhase::Healthy => "healthy",
                HostPhase::Soaked => "soaked",
                HostPhase::Converged => "converged",
                HostPhase::Failed => "failed",
                HostPhase::Reverted => "reverted",
                HostPhase::Quarantined => "quarantined",
            }
        }
    }

    /// One host of the fleet snapshot.
    #[derive(
        ComponentType,
        Lift,
        Lower,
        Clone,
        Debug,
        PartialEq,
        Eq,
        serde::Serialize,
        serde::Deserialize,
    )]
    #[serde(deny_unknown_fields)]
    #[component(record)]
    pub struct Host {
        /// Unique host name.
        pub name: String,
        /// The channel the host follows.
        pub channel: String,
        /// Tags from the fleet definition, sorted.
        pub tags: Vec<String>,
        /// Closure the host reported running.
        #[component(name = "current-closure")]
        pub current_closure: Option<String>,
        /// Closure the signed artifact assigns to the host.
        #[component(name = "target-closure")]
        pub target_closure: Option<String>,
        /// Rollout phase.
        pub phase: HostPhase,
        /// When the host entered `phase`.
        #[component(name = "phase-since")]
        pub phase_since: Timestamp,
        /// Last authenticated check-in.
        #[component(name = "last-seen")]
        pub last_seen: Option<Timestamp>,
        /// Id of the rollout that dispatched the host's current step.
        pub rollout: Option<String>,
    }

    impl Host {
        /// A host of `channel` with no tags, no closures, `idle` since time 0 and never
        /// seen: the starting point that tests and fuzz targets build on.
        pub fn idle(name: impl Into<String>, channel: impl Into<String>) -> Host {
            Host {
                name: name.into(),
                channel: channel.into(),
                tags: Vec::new(),
                current_closure: None,
                target_closure: None,
                phase: HostPhase::Idle,
                phase_since: 0,
                last_seen: None,
                rollout: None,
            }
        }
    }

    /// Lifecycle of a rollout.
    #[derive(
        ComponentType,
        Lift,
        Lower,
        Clone,
        Copy,
        Debug,
        PartialEq,
        Eq,
        Hash,
        serde::Serialize,
        serde::Deserialize,
    )]
    #[component(enum)]
    #[repr(u8)]
    pub enum RolloutState {
        /// Dispatching waves.
        #[component(name = "running")]
        Running,
        /// Stopped; nothing is dispatched.
        #[component(name = "halted")]
        Halted,
        /// Stopped, hosts being rolled back.
        #[component(name = "rolling-back")]
        RollingBack,
        /// Every wave done.
        #[component(name = "converged")]
        Converged,
    }

    /// One rollout of a channel to a new artifact version.
    #[derive(
        ComponentType,
        Lift,
        Lower,
        Clone,
        Debug,
        PartialEq,
        Eq,
        serde::Serialize,
        serde::Deserialize,
    )]
    #[serde(deny_unknown_fields)]
    #[component(record)]
    pub struct Rollout {
        /// Unique rollout id.
        pub id: String,
        /// The channel being rolled out.
        pub channel: String,
        /// Version of the signed fleet artifact being rolled out.
        #[component(name = "target-version")]
        pub target_version: u64,
        /// Index of the current wave, from 0.
        #[component(name = "current-wave")]
        pub current_wave: u32,
        /// When the rollout started.
        #[component(name = "started-at")]
        pub started_at: Timestamp,
        /// When the current wave started.
        #[component(name = "wave-started-at")]
        pub wave_started_at: Timestamp,
        /// Lifecycle state.
        pub state: RolloutState,
    }

    /// Why a host was not admitted by a gate.
    #[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Refusal {
        /// Host name (a candidate).
        pub host: String,
        /// Reason an operator can read.
        pub reason: String,
    }
}

/// `convoy:policy/rollout`.
pub mod rollout {
    pub use super::types::{Host, Rollout, Timestamp};
    use super::*;

    /// What the rollout does next.
    #[derive(
        ComponentType,
        Lift,
        Lower,
        Clone,
        Debug,
        PartialEq,
        Eq,
        serde::Serialize,
        serde::Deserialize,
    )]
    #[component(variant)]
    pub enum Step {
        /// Stay on the current wave.
        #[component(name = "hold")]
        Hold(String),
        /// Make the given wave index current.
        #[component(name = "promote")]
        Promote(u32),
        /// Stop the rollout; hosts keep what they run.
        #[component(name = "halt")]
        Halt(String),
        /// Stop and roll dispatched hosts back.
        #[component(name = "rollback-and-halt")]
        RollbackAndHalt(String),
        /// Every wave is done.
        #[component(name = "converge")]
        Converge,
    }

    /// A host to dispatch now, and why.
    #[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Candidate {
        /// Host name.
        pub host: String,
        /// Why it is dispatched now.
        pub reason: String,
    }

    /// Everything the rollout policy sees.
    #[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct RolloutInput {
        /// Host-supplied current time.
        pub now: Timestamp,
        /// The rollout being planned.
        pub rollout: Rollout,
        /// The hosts of the fleet (at least the rollout's channel), in any order; the
        /// runtime sorts them into a [`crate::Snapshot`] and refuses a repeated name.
        pub hosts: Vec<Host>,
        /// Every active rollout of the fleet (the snapshot's `active`).
        #[serde(default)]
        pub active: Vec<Rollout>,
    }

    /// The decision for one tick.
    #[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Plan {
        /// Hosts to dispatch now.
        pub candidates: Vec<Candidate>,
        /// Observations for the operator.
        pub notes: Vec<String>,
        /// What the rollout does next.
        pub step: Step,
    }
}

/// `convoy:policy/gate`.
pub mod gate {
    pub use super::types::{Host, Refusal, Rollout, Timestamp};

    /// Everything a gate sees.
    #[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct GateInput {
        /// Host-supplied current time.
        pub now: Timestamp,
        /// Host names proposed for dispatch, in priority order. A name that is not in the
        /// snapshot is refused by the runtime itself, in its place; a repeated name is
        /// decided once, at its first position.
        pub candidates: Vec<String>,
        /// Every host of the fleet, in any order (see [`RolloutInput::hosts`](super::rollout::RolloutInput)).
        pub hosts: Vec<Host>,
        /// Every active rollout of the fleet.
        pub active: Vec<Rollout>,
    }

    /// Each candidate admitted or refused, exactly once.
    #[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Verdict {
        /// Admitted host names, in candidate order.
        pub admitted: Vec<String>,
        /// Refused candidates, in candidate order, each with a reason.
        pub refused: Vec<Refusal>,
    }
}

/// `convoy:policy/health`.
pub mod health {
    pub use super::types::{Host, Timestamp};
    use super::*;

    /// What a probe checked.
    #[derive(
        ComponentType,
        Lift,
        Lower,
        Clone,
        Copy,
        Debug,
        PartialEq,
        Eq,
        Hash,
        serde::Serialize,
        serde::Deserialize,
    )]
    #[component(enum)]
    #[repr(u8)]
    pub enum ProbeKind {
        /// An HTTP request expecting a success status.
        #[component(name = "http")]
        Http,
        /// A TCP connect.
        #[component(name = "tcp")]
        Tcp,
        /// A command expecting exit status 0.
        #[component(name = "exec")]
        Exec,
        /// `systemctl --failed` must list no unit.
        #[component(name = "systemd-failed-units")]
        SystemdFailedUnits,
    }

    /// One execution of one probe.
    #[derive(
        ComponentType,
        Lift,
        Lower,
        Clone,
        Debug,
        PartialEq,
        Eq,
        serde::Serialize,
        serde::Deserialize,
    )]
    #[serde(deny_unknown_fields)]
    #[component(record)]
    pub struct ProbeResult {
        /// Probe name.
        pub probe: String,
        /// What the probe checked.
        pub kind: ProbeKind,
        /// When the probe ran.
        pub at: Timestamp,
        /// Whether it passed.
        pub passed: bool,
        /// What was observed.
        pub detail: String,
    }

    /// Everything the health policy sees.
    #[derive(
        ComponentType,
        Lift,
        Lower,
        Clone,
        Debug,
        PartialEq,
        Eq,
        serde::Serialize,
        serde::Deserialize,
    )]
    #[serde(deny_unknown_fields)]
    #[component(record)]
    pub struct HealthInput {
        /// Host-supplied current time.
        pub now: Timestamp,
        /// The host being assessed.
        pub host: Host,
        /// When the current closure was activated.
        #[component(name = "activated-at")]
        pub activated_at: Option<Timestamp>,
        /// Probe results, oldest first.
        pub results: Vec<ProbeResult>,
    }

    /// Health outcome.
    #[derive(
        ComponentType,
        Lift,
        Lower,
        Clone,
        Copy,
        Debug,
        PartialEq,
        Eq,
        Hash,
        serde::Serialize,
        serde::Deserialize,
    )]
    #[component(enum)]
    #[repr(u8)]
    pub enum HealthStatus {
        /// Healthy.
        #[component(name = "healthy")]
        Healthy,
        /// Unhealthy.
        #[component(name = "unhealthy")]
        Unhealthy,
        /// Not decided yet.
        #[component(name = "pending")]
        Pending,
    }

    /// Health outcome with its reason.
    #[derive(
        ComponentType,
        Lift,
        Lower,
        Clone,
        Debug,
        PartialEq,
        Eq,
        serde::Serialize,
        serde::Deserialize,
    )]
    #[serde(deny_unknown_fields)]
    #[component(record)]
    pub struct HealthVerdict {
        /// The outcome.
        pub status: HealthStatus,
        /// Why.
        pub reason: String,
    }
}

/// `convoy:policy/attestation`.
pub mod attestation {
    pub use super::types::{Host, Timestamp};
    use super::*;

    /// Result of verifying one piece of attestation evidence.
    #[derive(
        ComponentType,
        Lift,
        Lower,
        Clone,
        Copy,
        Debug,
        PartialEq,
        Eq,
        Hash,
        serde::Serialize,
        serde::Deserialize,
    )]
    #[component(enum)]
    #[repr(u8)]
    pub enum AttestationOutcome {
        /// Verified and matches the expected closure.
        #[component(name = "good")]
        Good,
        /// Verified but the measured state differs.
        #[component(name = "drift")]
        Drift,
        /// Missing, malformed or badly signed.
        #[component(name = "invalid")]
        Invalid,
    }

    /// One attestation outcome.
    #[derive(
        ComponentType,
        Lift,
        Lower,
        Clone,
        Debug,
        PartialEq,
        Eq,
        serde::Serialize,
        serde::Deserialize,
    )]
    #[serde(deny_unknown_fields)]
    #[component(record)]
    pub struct AttestationRecord {
        /// When.
        pub at: Timestamp,
        /// The outcome.
        pub outcome: AttestationOutcome,
        /// Details.
        pub detail: String,
    }

    /// How far the fleet trusts a host.
    #[derive(
        ComponentType,
        Lift,
        Lower,
        Clone,
        Copy,
        Debug,
        PartialEq,
        Eq,
        Hash,
        serde::Serialize,
        serde::Deserialize,
    )]
    #[component(enum)]
    #[repr(u8)]
    pub enum TrustLevel {
        /// Trusted.
        #[component(name = "trusted")]
        Trusted,
        /// Some bad outcomes, below the quarantine threshold.
        #[component(name = "warn")]
        Warn,
        /// No dispatch, no certificate renewal until it recovers.
        #[component(name = "quarantine")]
        Quarantine,
        /// Removed until re-enrollment.
        #[component(name = "expel")]
        Expel,
    }

    /// Everything the attestation policy sees.
    #[derive(
        ComponentType,
        Lift,
        Lower,
        Clone,
        Debug,
        PartialEq,
        Eq,
        serde::Serialize,
        serde::Deserialize,
    )]
    #[serde(deny_unknown_fields)]
    #[component(record)]
    pub struct AttestationInput {
        /// Host-supplied current time.
        pub now: Timestamp,
        /// The host being judged.
        pub host: Host,
        /// The host's current standing.
        pub standing: TrustLevel,
        /// Recent outcomes, oldest first.
        pub history: Vec<AttestationRecord>,
    }

    /// New standing with its reason.
    #[derive(
        ComponentType,
        Lift,
        Lower,
        Clone,
        Debug,
        PartialEq,
        Eq,
        serde::Serialize,
        serde::Deserialize,
    )]
    #[serde(deny_unknown_fields)]
    #[component(record)]
    pub struct AttestationVerdict {
        /// The new standing.
        pub standing: TrustLevel,
        /// Why.
        pub reason: String,
    }
}

/// The lowered forms of the `rollout` and `gate` worlds: what actually crosses into the
/// guest. The fleet travels as one columnar `snapshot` (see [`crate::Snapshot`]), hosts
/// are named by their position in it and reasons by their position in the decision's
/// table. [`crate::Policy::plan_ids`] and [`crate::Policy::admit_ids`] return these forms,
/// validated; the by-name calls map them to the forms of [`rollout`] and [`gate`] above.
pub mod wire {
    use super::rollout::Step;
    use super::types::{Rollout, Timestamp};
    use super::*;

    /// The absent value of a `str-id` column.
    pub const NO_STR: u32 = u32::MAX;
    /// The absent value of the `last-seen` column.
    pub const NO_TIME: u64 = u64::MAX;

    /// `types.host-columns`, borrowed from a [`crate::Snapshot`] for one call: every
    /// column is a list of numbers, lowered as one block copy.
    #[derive(ComponentType, Lower, Clone, Copy, Debug)]
    #[component(record)]
    pub struct HostColumnsRef<'a> {
        pub name: &'a [u32],
        pub channel: &'a [u32],
        #[component(name = "tags-end")]
        pub tags_end: &'a [u32],
        #[component(name = "current-closure")]
        pub current_closure: &'a [u32],
        #[component(name = "target-closure")]
        pub target_closure: &'a [u32],
        pub phase: &'a [u8],
        #[component(name = "phase-since")]
        pub phase_since: &'a [Timestamp],
        #[component(name = "last-seen")]
        pub last_seen: &'a [Timestamp],
        pub rollout: &'a [u32],
    }

    /// `types.snapshot`, borrowed from a [`crate::Snapshot`] for one call.
    #[derive(ComponentType, Lower, Clone, Copy, Debug)]
    #[component(record)]
    pub struct SnapshotRef<'a> {
        pub text: &'a str,
        pub ends: &'a [u32],
        pub hosts: HostColumnsRef<'a>,
        pub tags: &'a [u32],
        pub active: &'a [Rollout],
    }

    /// `rollout.rollout-input`.
    #[derive(ComponentType, Lower, Clone, Copy, Debug)]
    #[component(record)]
    pub struct RolloutIn<'a> {
        pub now: Timestamp,
        pub rollout: &'a Rollout,
        pub snapshot: SnapshotRef<'a>,
    }

    /// `rollout.candidate`: a host to dispatch, and its reason in the plan's table.
    #[derive(ComponentType, Lift, Lower, Clone, Copy, Debug, PartialEq, Eq)]
    #[component(record)]
    pub struct CandidateOut {
        pub host: u32,
        pub reason: u32,
    }

    /// `rollout.plan`.
    #[derive(ComponentType, Lift, Lower, Clone, Debug, PartialEq, Eq)]
    #[component(record)]
    pub struct PlanOut {
        pub step: Step,
        pub candidates: Vec<CandidateOut>,
        pub reasons: Vec<String>,
        pub notes: Vec<String>,
    }

    /// `gate.gate-input`.
    #[derive(ComponentType, Lower, Clone, Copy, Debug)]
    #[component(record)]
    pub struct GateIn<'a> {
        pub now: Timestamp,
        pub candidates: &'a [u32],
        pub snapshot: SnapshotRef<'a>,
    }

    /// `types.refusal`: a refused candidate, and its reason in the verdict's table.
    #[derive(ComponentType, Lift, Lower, Clone, Copy, Debug, PartialEq, Eq)]
    #[component(record)]
    pub struct RefusalOut {
        pub host: u32,
        pub reason: u32,
    }

    /// `gate.verdict`.
    #[derive(ComponentType, Lift, Lower, Clone, Debug, PartialEq, Eq)]
    #[component(record)]
    pub struct VerdictOut {
        pub admitted: Vec<u32>,
        pub refused: Vec<RefusalOut>,
        pub reasons: Vec<String>,
    }
}
