//! Why an event was refused. A refused event changes nothing.

use convoy_host_runtime::SnapshotError;
use convoy_host_runtime::types::HostPhase;

use crate::state::RolloutState;

/// Why the reconciler refused an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReconcileError {
    /// The fleet version cannot be acted upon.
    #[error(transparent)]
    Release(#[from] ReleaseError),
    /// An agent's check-in or report does not fit what the reconciler knows.
    #[error(transparent)]
    Agent(#[from] AgentError),
    /// An operator's action does not fit the rollout's state.
    #[error(transparent)]
    Operator(#[from] OperatorError),
    /// The state cannot be handed to policies.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// An event's time is beyond 2^53 − 1, which canonical JSON (and so a receipt's
    /// input) cannot carry.
    #[error("event time {at} is beyond 2^53 - 1")]
    TimeOutOfRange {
        /// The time given.
        at: u64,
    },
}

/// Why a fleet version was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReleaseError {
    /// Not newer than the version already acted on (anti-rollback).
    #[error("fleet version {version} is not newer than {current}")]
    NotNewer {
        /// The version offered.
        version: u64,
        /// The version acted on.
        current: u64,
    },
    /// A channel of the version has no loaded policy chain.
    #[error("channel {channel}: no policy chain was loaded for it")]
    MissingPolicies {
        /// The channel.
        channel: String,
    },
}

/// Why an agent's message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgentError {
    /// No such host in the fleet version.
    #[error("host {host} is not in the fleet")]
    UnknownHost {
        /// The host.
        host: String,
    },
    /// The report does not follow from the host's phase.
    #[error("host {host}: report `{report}` does not follow phase {phase:?}")]
    UnexpectedReport {
        /// The host.
        host: String,
        /// Its phase.
        phase: HostPhase,
        /// The report.
        report: &'static str,
    },
    /// The report names another closure than the one dispatched.
    #[error("host {host}: report names closure {reported}, but {dispatched} was dispatched")]
    WrongClosure {
        /// The host.
        host: String,
        /// The dispatched closure.
        dispatched: String,
        /// The reported one.
        reported: String,
    },
    /// A confirm at or after its deadline: the agent has rolled back by then.
    #[error("host {host}: confirm at {at} is not before its deadline {deadline}")]
    ConfirmTooLate {
        /// The host.
        host: String,
        /// The deadline.
        deadline: u64,
        /// The confirm's time.
        at: u64,
    },
}

/// Why an operator's action was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OperatorError {
    /// No such rollout.
    #[error("no rollout {rollout}")]
    UnknownRollout {
        /// The rollout.
        rollout: String,
    },
    /// No such host.
    #[error("no host {host}")]
    UnknownHost {
        /// The host.
        host: String,
    },
    /// The action does not apply in the rollout's state.
    #[error("rollout {rollout} is {state:?}; cannot {action}")]
    NotApplicable {
        /// The rollout.
        rollout: String,
        /// Its state.
        state: RolloutState,
        /// The action.
        action: &'static str,
    },
    /// The host has no failure of that closure on record.
    #[error("host {host}: closure {closure} is not quarantined")]
    NotQuarantined {
        /// The host.
        host: String,
        /// The closure.
        closure: String,
    },
}
