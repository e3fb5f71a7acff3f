//! What the reconciler reacts to, and what it asks its driver to do.

use convoy_host_runtime::rollout::Step;
use convoy_host_runtime::types::HostPhase;
use convoy_host_runtime::{PolicyError, Receipt};
use serde::{Deserialize, Serialize};

use crate::chain::PolicySet;
use crate::desired::DesiredFleet;
use crate::state::RolloutState;

/// One input of the state machine. Every event carries its time: the reconciler has no
/// clock.
#[derive(Debug, Clone)]
pub enum Event {
    /// A newly verified fleet version, with every channel's loaded policy chain.
    Release {
        /// When it was accepted.
        at: u64,
        /// What it asks for.
        fleet: DesiredFleet,
        /// Each channel's policies, loaded by the hashes that version pins.
        policies: PolicySet,
    },
    /// An agent's authenticated check-in.
    CheckIn {
        /// The host.
        host: String,
        /// When.
        at: u64,
        /// The closure it reports running.
        current_closure: Option<String>,
    },
    /// An agent's report about its dispatch.
    Report {
        /// The host.
        host: String,
        /// When.
        at: u64,
        /// What happened.
        report: AgentReport,
    },
    /// An operator's action.
    Operator {
        /// When.
        at: u64,
        /// What.
        action: OperatorAction,
    },
    /// Time to plan: every running rollout is planned, gated and applied.
    Tick {
        /// The time.
        now: u64,
    },
}

/// What an agent reports about the closure it was dispatched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum AgentReport {
    /// It fetched the closure and started activating it.
    Activating {
        /// The closure.
        closure: String,
    },
    /// Activated (`switch-to-configuration test`); its confirm window is open.
    Activated {
        /// The closure.
        closure: String,
    },
    /// Its health policy passed: it confirms (host-signed) and makes the closure permanent.
    Confirmed {
        /// The closure.
        closure: String,
    },
    /// Activation or health failed, or the confirm deadline passed.
    Failed {
        /// The closure.
        closure: String,
        /// What the agent saw.
        reason: String,
    },
    /// It rolled back to its previous generation.
    RolledBack {
        /// The closure it runs now.
        running: Option<String>,
    },
}

/// An operator's action on a rollout or a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum OperatorAction {
    /// Stop dispatching; resume later where it was.
    Pause {
        /// The rollout.
        rollout: String,
    },
    /// Resume a paused or halted rollout.
    Resume {
        /// The rollout.
        rollout: String,
    },
    /// End the rollout.
    Cancel {
        /// The rollout.
        rollout: String,
    },
    /// Lift the quarantine of `closure` on `host` (its failure no longer refuses it).
    ClearQuarantine {
        /// The host.
        host: String,
        /// The closure.
        closure: String,
    },
}

/// One output of the state machine, for the driver to carry out or record.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Tell `host` to activate `closure` for `rollout` and confirm before `confirm_deadline`.
    Dispatch {
        /// The host.
        host: String,
        /// The closure.
        closure: String,
        /// The rollout.
        rollout: String,
        /// The host must confirm strictly before this time.
        confirm_deadline: u64,
    },
    /// Tell `host` to roll back the closure `rollout` dispatched.
    Rollback {
        /// The host.
        host: String,
        /// The closure it should leave.
        closure: String,
        /// The rollout.
        rollout: String,
    },
    /// A rollout changed state (`from` is `None` when it starts).
    Rollout {
        /// The rollout.
        rollout: String,
        /// The state before.
        from: Option<RolloutState>,
        /// The state after.
        to: RolloutState,
        /// Why.
        reason: String,
    },
    /// The reconciler moved a host to another phase.
    Host {
        /// The host.
        host: String,
        /// The phase before.
        from: HostPhase,
        /// The phase after.
        to: HostPhase,
    },
    /// The rollout policy's step for a rollout this tick.
    Planned {
        /// The rollout.
        rollout: String,
        /// The wave it was on when planned.
        wave: u32,
        /// The step.
        step: Step,
    },
    /// A gate refused candidates, all for one reason.
    Refused {
        /// The rollout.
        rollout: String,
        /// The gate.
        gate: String,
        /// The refused hosts, in candidate order.
        hosts: Vec<String>,
        /// The gate's reason.
        reason: String,
    },
    /// An observation for the operator (a policy's note, a skipped host, a stall).
    Note {
        /// The rollout it concerns.
        rollout: String,
        /// The text.
        text: String,
    },
    /// A policy evaluation the decision rests on.
    Receipt {
        /// The rollout.
        rollout: String,
        /// The receipt.
        receipt: Receipt,
    },
    /// A policy gave no decision (it failed): the rollout holds this tick.
    NoDecision {
        /// The rollout.
        rollout: String,
        /// What failed.
        error: PolicyError,
    },
}
