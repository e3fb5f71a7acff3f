//! Native mirrors of the `convoy:policy@1.0.0` WIT types (the fleet snapshot of the
//! rollout and gate worlds is in [`crate::snapshot`]).
//!
//! The types that hold no snapshot or host id ([`Host`], [`Rollout`], [`Step`], the
//! health and attestation worlds' inputs and verdicts) have the ABI's JSON form as their
//! serde form, the same as the host runtime's bindings: record fields in snake_case, enum
//! and variant cases in UpperCamelCase (`"ConfirmWindow"`), an `option` is `null` or the
//! value, a variant case without payload is its name (`"Converge"`) and one with a
//! payload is `{"Case": payload}` (`{"Hold": "why"}`). See `docs/policy-abi.md`. The
//! rollout and gate worlds' inputs hold a [`Snapshot`], which is built, never parsed:
//! scenario fixtures and `convoy policy eval` call files spell those calls, and their
//! outputs, with hosts by name ([`crate::call`]). A [`Plan`] or [`Verdict`] serialises
//! hosts as [`HostId`] numbers and each reason in full, unlike the ABI's reason tables.
#![forbid(unsafe_code)]

use serde::{Deserialize, Serialize};

use crate::selector::SelectorSubject;
use crate::snapshot::{HostId, HostRef, Snapshot};

/// Unix seconds, supplied by the host: a policy has no clock.
pub type Timestamp = u64;

/// Where a host stands in the rollout of its closure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum HostPhase {
    /// Not part of any rollout step right now (may be on an older closure).
    Idle,
    /// A dispatch was issued; the agent has not started activating.
    Dispatched,
    /// The agent is fetching and activating the closure.
    Activating,
    /// Activated; the agent must confirm before the deadline.
    ConfirmWindow,
    /// Confirmed healthy on the target closure; soaking.
    Healthy,
    /// Healthy for at least the wave's soak time.
    Soaked,
    /// On the target closure, made permanent.
    Converged,
    /// Activation or health failed.
    Failed,
    /// The agent rolled back to its previous generation.
    Reverted,
    /// Attestation quarantined the host.
    Quarantined,
}

impl HostPhase {
    /// Dispatched and not yet confirmed: the host is being disrupted right now.
    pub fn is_in_flight(self) -> bool {
        matches!(
            self,
            HostPhase::Dispatched | HostPhase::Activating | HostPhase::ConfirmWindow
        )
    }

    /// Activation or health failed (whether or not the host already rolled back).
    pub fn is_failure(self) -> bool {
        matches!(self, HostPhase::Failed | HostPhase::Reverted)
    }

    /// Counted against disruption budgets: in flight, soaking (`healthy` on a new closure
    /// that has not proven itself for the soak time yet), or failed and not yet reverted.
    /// A soaking host counts because it may still fail and roll back: admitting another
    /// host in its place could put more hosts at risk at once than the budget allows.
    pub fn is_disrupted(self) -> bool {
        self.is_in_flight() || matches!(self, HostPhase::Healthy | HostPhase::Failed)
    }

    /// Confirmed healthy (soaking, soaked or converged).
    pub fn is_confirmed(self) -> bool {
        matches!(
            self,
            HostPhase::Healthy | HostPhase::Soaked | HostPhase::Converged
        )
    }

    /// The WIT name of the phase, for reasons and notes.
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

/// One host, owned: what the health and attestation worlds see, and what
/// [`Snapshot::new`] encodes. The rollout and gate worlds read hosts as [`HostRef`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Host {
    /// Unique host name.
    pub name: String,
    /// The channel the host follows.
    pub channel: String,
    /// Tags from the fleet definition.
    pub tags: Vec<String>,
    /// Closure the host reported running.
    pub current_closure: Option<String>,
    /// Closure the signed artifact assigns to the host.
    pub target_closure: Option<String>,
    /// Rollout phase.
    pub phase: HostPhase,
    /// When the host entered `phase`.
    pub phase_since: Timestamp,
    /// Last authenticated check-in.
    pub last_seen: Option<Timestamp>,
    /// Id of the rollout that dispatched the host's current step.
    pub rollout: Option<String>,
}

impl Host {
    /// Whether the host runs the closure the artifact assigns to it.
    pub fn on_target(&self) -> bool {
        matches!((&self.current_closure, &self.target_closure), (Some(c), Some(t)) if c == t)
    }

    /// On its target closure with nothing left to do: soaked, converged, or idle (it was
    /// already there). A host still soaking (`healthy`) has not converged yet.
    pub fn is_converged(&self) -> bool {
        is_converged(self.on_target(), self.phase)
    }

    /// Seconds since the host's last check-in, or `None` if it never checked in. A
    /// check-in stamped after `now` (clock skew) counts as just now.
    pub fn silent_for(&self, now: Timestamp) -> Option<u64> {
        silent_for(self.last_seen, now)
    }
}

/// [`Host::is_converged`], for [`Host`] and [`HostRef`] alike.
pub(crate) fn is_converged(on_target: bool, phase: HostPhase) -> bool {
    on_target
        && matches!(
            phase,
            HostPhase::Idle | HostPhase::Soaked | HostPhase::Converged
        )
}

/// [`Host::silent_for`], for [`Host`] and [`HostRef`] alike.
pub(crate) fn silent_for(last_seen: Option<Timestamp>, now: Timestamp) -> Option<u64> {
    last_seen.map(|seen| now.saturating_sub(seen))
}

impl SelectorSubject for Host {
    fn name(&self) -> &str {
        &self.name
    }
    fn channel(&self) -> &str {
        &self.channel
    }
    fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }
}

/// Lifecycle of a rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RolloutState {
    /// Dispatching waves.
    Running,
    /// Stopped; nothing is dispatched.
    Halted,
    /// Stopped, hosts rolling back.
    RollingBack,
    /// Every wave done.
    Converged,
}

/// One rollout of a channel to a new artifact version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rollout {
    /// Unique rollout id.
    pub id: String,
    /// The channel being rolled out.
    pub channel: String,
    /// Version of the signed fleet artifact being rolled out.
    pub target_version: u64,
    /// Index of the current wave, from 0.
    pub current_wave: u32,
    /// When the rollout started.
    pub started_at: Timestamp,
    /// When the current wave started.
    pub wave_started_at: Timestamp,
    /// Lifecycle state.
    pub state: RolloutState,
}

/// Why a gate did not admit a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Refusal {
    /// The refused candidate.
    pub host: HostId,
    /// Reason an operator can read. Across the ABI it is an index into the verdict's
    /// table of distinct reasons, which the export glue builds ([`crate::reasons::ReasonTable`]).
    pub reason: String,
}

/// What a rollout does next (WIT variant `step`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Step {
    /// Stay on the current wave.
    Hold(String),
    /// Make the given wave index current.
    Promote(u32),
    /// Stop the rollout; hosts keep what they run.
    Halt(String),
    /// Stop the rollout and roll dispatched hosts back.
    RollbackAndHalt(String),
    /// Every wave is done.
    Converge,
}

/// A host to dispatch now, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Candidate {
    /// The host, in the input's snapshot.
    pub host: HostId,
    /// Why it is dispatched now. Across the ABI it is an index into the plan's table of
    /// distinct reasons, which the export glue builds ([`crate::reasons::ReasonTable`]).
    pub reason: String,
}

/// Everything a rollout policy sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolloutInput {
    /// Host-supplied current time.
    pub now: Timestamp,
    /// The rollout being planned.
    pub rollout: Rollout,
    /// The fleet; the rollout's hosts are those on `rollout.channel` ([`Self::hosts`]).
    pub snapshot: Snapshot,
}

impl RolloutInput {
    /// The rollout's hosts: those of the snapshot on the rollout's channel, by name.
    pub fn hosts(&self) -> impl Iterator<Item = HostRef<'_>> {
        self.snapshot.hosts_on(&self.rollout.channel)
    }
}

/// A rollout policy's decision for one tick.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// What the rollout does next.
    pub step: Step,
    /// Hosts to dispatch now, each with a reason.
    pub candidates: Vec<Candidate>,
    /// Observations for the operator.
    pub notes: Vec<String>,
}

/// Everything a gate sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateInput {
    /// Host-supplied current time.
    pub now: Timestamp,
    /// Hosts proposed for dispatch, in priority order. A host may repeat: it is decided
    /// once, at its first position ([`crate::eval::gate_each`] does that).
    pub candidates: Vec<HostId>,
    /// The fleet: every host and every active rollout.
    pub snapshot: Snapshot,
}

/// A gate's decision: each candidate admitted or refused, exactly once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verdict {
    /// Admitted hosts, in candidate order.
    pub admitted: Vec<HostId>,
    /// Refused candidates, in candidate order.
    pub refused: Vec<Refusal>,
}

impl Verdict {
    /// Refuse `host` with `reason`.
    pub fn refuse(&mut self, host: HostId, reason: impl Into<String>) {
        self.refused.push(Refusal {
            host,
            reason: reason.into(),
        });
    }
}

/// What a probe checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ProbeKind {
    /// An HTTP request expecting a success status.
    Http,
    /// A TCP connect.
    Tcp,
    /// A command expecting exit status 0.
    Exec,
    /// `systemctl --failed` must list no unit.
    SystemdFailedUnits,
}

/// One execution of one probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeResult {
    /// Probe name.
    pub probe: String,
    /// What the probe checked.
    pub kind: ProbeKind,
    /// When it ran.
    pub at: Timestamp,
    /// Whether it passed.
    pub passed: bool,
    /// What was observed.
    pub detail: String,
}

/// Everything a health policy sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthInput {
    /// Host-supplied current time.
    pub now: Timestamp,
    /// The host being assessed.
    pub host: Host,
    /// When the current closure was activated.
    pub activated_at: Option<Timestamp>,
    /// Probe results, oldest first.
    pub results: Vec<ProbeResult>,
}

/// Health outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum HealthStatus {
    /// Every required probe passes.
    Healthy,
    /// A required probe failed past the threshold.
    Unhealthy,
    /// Not decided yet.
    Pending,
}

/// Health outcome with its reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthVerdict {
    /// Outcome.
    pub status: HealthStatus,
    /// Why.
    pub reason: String,
}

/// Result of verifying one piece of attestation evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AttestationOutcome {
    /// Evidence verified and matches.
    Good,
    /// Measured state differs from the expected closure.
    Drift,
    /// Evidence missing, malformed or badly signed.
    Invalid,
}

/// One attestation outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttestationRecord {
    /// When the evidence was verified.
    pub at: Timestamp,
    /// Outcome.
    pub outcome: AttestationOutcome,
    /// What was observed.
    pub detail: String,
}

/// How far the fleet trusts a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TrustLevel {
    /// Trusted.
    Trusted,
    /// Some bad outcomes, below the quarantine threshold.
    Warn,
    /// No dispatch, no certificate renewal until it recovers.
    Quarantine,
    /// Removed until re-enrolled.
    Expel,
}

impl TrustLevel {
    /// The WIT name of the level, for reasons.
    pub fn as_str(self) -> &'static str {
        match self {
            TrustLevel::Trusted => "trusted",
            TrustLevel::Warn => "warn",
            TrustLevel::Quarantine => "quarantine",
            TrustLevel::Expel => "expel",
        }
    }
}

/// Everything an attestation policy sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttestationVerdict {
    /// New standing.
    pub standing: TrustLevel,
    /// Why.
    pub reason: String,
}
