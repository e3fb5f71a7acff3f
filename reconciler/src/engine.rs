//! The reconciler's one door into the policy engine.
//!
//! Every policy call of the crate goes through these three functions, so the way the
//! reconciler calls `convoy-host-runtime` (its call builder, the limits, the wave count
//! the output contract is checked against) is decided in this file alone. They run the
//! id-level forms: the tick's snapshot is built once and shared, candidates and refusals
//! stay `host-id`s until a host is dispatched.

use convoy_host_runtime::health::{HealthInput, HealthVerdict};
use convoy_host_runtime::types::Rollout;
use convoy_host_runtime::wire::{PlanOut, VerdictOut};
use convoy_host_runtime::{Evaluation, PolicyError, Snapshot};

use crate::chain::Configured;

/// Plans one tick of `rollout` with the channel's rollout policy; `waves` is the wave
/// count its signed configuration declares, if it says, so that a promotion past the last
/// wave is refused rather than acted upon.
pub(crate) fn plan(
    policy: &Configured,
    waves: Option<u32>,
    now: u64,
    rollout: &Rollout,
    snapshot: &Snapshot,
) -> Result<Evaluation<PlanOut>, PolicyError> {
    let mut call = policy.policy.call();
    if let Some(waves) = waves {
        call.waves(waves);
    }
    call.plan(&policy.config, now, rollout, snapshot)
}

/// Asks one gate which of `candidates` (host-ids of `snapshot`) it admits.
pub(crate) fn admit(
    gate: &Configured,
    now: u64,
    candidates: &[u32],
    snapshot: &Snapshot,
) -> Result<Evaluation<VerdictOut>, PolicyError> {
    gate.policy
        .call()
        .admit(&gate.config, now, candidates, snapshot)
}

/// Judges one host's probe results with the channel's health policy (what an agent runs
/// in its confirm window, and what the simulator's agents run).
pub fn assess_health(
    health: &Configured,
    input: &HealthInput,
) -> Result<Evaluation<HealthVerdict>, PolicyError> {
    health.policy.call().assess_health(&health.config, input)
}
