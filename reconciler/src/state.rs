//! The reconciler's state: plain serde types the control plane stores and the simulator
//! keeps in memory. Everything a decision needs is here, except the loaded policies
//! (which a driver reloads by the hashes the fleet pins).

use std::collections::{BTreeMap, BTreeSet};

use convoy_host_runtime::types::{self, HostPhase};
use convoy_proto::Sha256Digest;
use serde::{Deserialize, Serialize};

use crate::desired::DesiredFleet;

/// Lifecycle of a rollout.
///
/// `running`, `paused`, `halted` and `rolling-back` are **active**: the rollout is the
/// channel's current one. `converged`, `cancelled` and `superseded` are **finished**.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RolloutState {
    /// Planned every tick; dispatches what its policies admit.
    Running,
    /// Stopped by an operator; resumes where it was.
    Paused,
    /// Stopped by its policy, a stall or an operator; a newer version or an operator's
    /// cancel ends it.
    Halted,
    /// Stopped by its policy, its hosts asked to roll back; halted once every one of them
    /// has reported its rollback.
    RollingBack,
    /// Every wave done (hosts that were skipped are named in its outcome, and still get the
    /// closure when they come back).
    Converged,
    /// Ended by an operator.
    Cancelled,
    /// A newer fleet version changed the channel and started another rollout.
    Superseded,
}

impl RolloutState {
    /// Whether the rollout is the channel's current one (running, paused, halted or
    /// rolling back).
    pub fn is_active(self) -> bool {
        matches!(
            self,
            RolloutState::Running
                | RolloutState::Paused
                | RolloutState::Halted
                | RolloutState::RollingBack
        )
    }

    /// The state policies see (`convoy:policy/types.rollout-state`), for an active or
    /// converged rollout; a paused one is halted as far as any policy is concerned.
    pub fn for_policies(self) -> Option<types::RolloutState> {
        match self {
            RolloutState::Running => Some(types::RolloutState::Running),
            RolloutState::Paused | RolloutState::Halted => Some(types::RolloutState::Halted),
            RolloutState::RollingBack => Some(types::RolloutState::RollingBack),
            RolloutState::Converged => Some(types::RolloutState::Converged),
            RolloutState::Cancelled | RolloutState::Superseded => None,
        }
    }

    /// The state's name (`rolling-back`).
    pub fn as_str(self) -> &'static str {
        match self {
            RolloutState::Running => "running",
            RolloutState::Paused => "paused",
            RolloutState::Halted => "halted",
            RolloutState::RollingBack => "rolling-back",
            RolloutState::Converged => "converged",
            RolloutState::Cancelled => "cancelled",
            RolloutState::Superseded => "superseded",
        }
    }
}

/// An open dispatch: what a host was told to activate, for which rollout, and by when it
/// must confirm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Dispatch {
    /// The closure to activate.
    pub closure: String,
    /// The rollout that dispatched it.
    pub rollout: String,
    /// When.
    pub at: u64,
    /// The host must confirm strictly before this time; at or after it the agent has
    /// rolled back by itself (the `≥` convention of every boundary).
    pub confirm_deadline: u64,
}

/// A closure refused for one host until `until` (its activation failed there).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FailedClosure {
    /// The closure that failed.
    pub closure: String,
    /// The rollout it failed in.
    pub rollout: String,
    /// When it failed.
    pub at: u64,
}

/// One host as the reconciler knows it: the fleet's wish and the agent's last report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HostRecord {
    /// The channel it follows.
    pub channel: String,
    /// Its tags, sorted.
    pub tags: Vec<String>,
    /// The closure the current fleet version assigns.
    pub target: Option<String>,
    /// The closure the agent last reported running.
    pub current_closure: Option<String>,
    /// Where it stands.
    pub phase: HostPhase,
    /// Since when.
    pub phase_since: u64,
    /// Its last authenticated check-in.
    pub last_seen: Option<u64>,
    /// The rollout its phase belongs to (the one that dispatched it, or whose failure it
    /// is).
    pub rollout: Option<String>,
    /// Its open dispatch, if any.
    pub dispatch: Option<Dispatch>,
    /// Closures whose activation failed on this host, newest last.
    #[serde(default)]
    pub failed_closures: Vec<FailedClosure>,
}

impl HostRecord {
    /// Whether the host runs its target closure.
    pub fn on_target(&self) -> bool {
        self.target.is_some() && self.current_closure == self.target
    }

    /// The host as policies see it.
    pub fn for_policies(&self, name: &str) -> types::Host {
        types::Host {
            name: name.to_owned(),
            channel: self.channel.clone(),
            tags: self.tags.clone(),
            current_closure: self.current_closure.clone(),
            target_closure: self.target.clone(),
            phase: self.phase,
            phase_since: self.phase_since,
            last_seen: self.last_seen,
            rollout: self.rollout.clone(),
        }
    }
}

/// How a rollout ended, once it has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Outcome {
    /// The state it ended in (or stopped in, for a halt).
    pub state: RolloutState,
    /// When.
    pub at: u64,
    /// Why, in words.
    pub reason: String,
    /// Hosts of the channel with a target that did not reach it: skipped (offline, failed
    /// and tolerated, quarantined). A converged rollout still dispatches them when they
    /// come back.
    pub skipped: Vec<String>,
}

/// One rollout of a channel to one fleet version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RolloutRecord {
    /// `<channel>@<version>`.
    pub id: String,
    /// The channel.
    pub channel: String,
    /// The fleet version it rolls out.
    pub version: u64,
    /// The channel's fingerprint in that version.
    pub fingerprint: Sha256Digest,
    /// Its lifecycle state.
    pub state: RolloutState,
    /// When it entered `state`.
    pub state_since: u64,
    /// The current wave, from 0.
    pub current_wave: u32,
    /// When it started.
    pub started_at: u64,
    /// When the current wave started.
    pub wave_started_at: u64,
    /// The last time it made progress (a dispatch, a promotion, a report of one of its
    /// hosts): a running rollout silent for the stall limit halts.
    pub last_progress_at: u64,
    /// What the rollout policy said last (`hold: …`), for the stall note.
    pub last_step: Option<String>,
    /// What the gates refused last, for the stall note: `host: reason`, first few.
    pub last_refusals: Vec<String>,
    /// Hosts asked to roll back that have not reported it yet.
    pub rollback_pending: BTreeSet<String>,
    /// How it ended, once it stops or ends.
    pub outcome: Option<Outcome>,
}

impl RolloutRecord {
    /// The rollout as policies see it, if they see it at all.
    pub fn for_policies(&self) -> Option<types::Rollout> {
        Some(types::Rollout {
            id: self.id.clone(),
            channel: self.channel.clone(),
            target_version: self.version,
            current_wave: self.current_wave,
            started_at: self.started_at,
            wave_started_at: self.wave_started_at,
            state: self.state.for_policies()?,
        })
    }
}

/// Everything the reconciler knows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct State {
    /// The fleet version being acted on, once one arrived.
    pub desired: Option<DesiredFleet>,
    /// Every host of that version, by name.
    pub hosts: BTreeMap<String, HostRecord>,
    /// Every rollout, oldest first.
    pub rollouts: Vec<RolloutRecord>,
    /// The last tick's time.
    pub last_tick: Option<u64>,
}

impl State {
    /// The rollout `id`.
    pub fn rollout(&self, id: &str) -> Option<&RolloutRecord> {
        self.rollouts.iter().find(|r| r.id == id)
    }

    /// The active rollout of `channel`, if there is one.
    pub fn active_rollout(&self, channel: &str) -> Option<&RolloutRecord> {
        self.rollouts
            .iter()
            .rev()
            .find(|r| r.channel == channel && r.state.is_active())
    }
}
