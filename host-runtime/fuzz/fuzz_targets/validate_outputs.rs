//! The output contracts on arbitrary decisions: never a panic; a plan or verdict that
//! passes names only hosts of the snapshot, and naming it afterwards works.
#![no_main]

use arbitrary::Arbitrary;
use convoy_host_runtime::Snapshot;
use convoy_host_runtime::attestation::{AttestationInput, AttestationVerdict, TrustLevel};
use convoy_host_runtime::health::{HealthStatus, HealthVerdict};
use convoy_host_runtime::rollout::Step;
use convoy_host_runtime::types::{Host, Rollout, RolloutState};
use convoy_host_runtime::validate;
use convoy_host_runtime::wire::{CandidateOut, PlanOut, RefusalOut, VerdictOut};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
enum FuzzStep {
    Hold(String),
    Promote(u32),
    Halt(String),
    RollbackAndHalt(String),
    Converge,
}

#[derive(Debug, Arbitrary)]
struct Input {
    /// Hosts: (name, on the rollout's channel?).
    hosts: Vec<(String, bool)>,
    state: u8,
    current_wave: u32,
    waves: Option<u32>,
    step: FuzzStep,
    plan_candidates: Vec<(u32, u32)>,
    reasons: Vec<String>,
    notes: Vec<String>,
    gate_candidates: Vec<u32>,
    admitted: Vec<u32>,
    refused: Vec<(u32, u32)>,
    verdict_reason: String,
    standing: u8,
    new_standing: u8,
}

fn host(name: String, prod: bool) -> Host {
    Host::idle(name, if prod { "prod" } else { "dev" })
}

fn trust(n: u8) -> TrustLevel {
    [
        TrustLevel::Trusted,
        TrustLevel::Warn,
        TrustLevel::Quarantine,
        TrustLevel::Expel,
    ][usize::from(n % 4)]
}

fuzz_target!(|input: Input| {
    let hosts: Vec<Host> = input
        .hosts
        .into_iter()
        .take(64)
        .map(|(n, p)| host(n, p))
        .collect();
    let Ok(snapshot) = Snapshot::new(&hosts, vec![]) else {
        return;
    };
    let rollout = Rollout {
        id: "r".into(),
        channel: "prod".into(),
        target_version: 1,
        current_wave: input.current_wave,
        started_at: 0,
        wave_started_at: 0,
        state: [
            RolloutState::Running,
            RolloutState::Halted,
            RolloutState::RollingBack,
            RolloutState::Converged,
        ][usize::from(input.state % 4)],
    };
    let step = match input.step {
        FuzzStep::Hold(s) => Step::Hold(s),
        FuzzStep::Promote(w) => Step::Promote(w),
        FuzzStep::Halt(s) => Step::Halt(s),
        FuzzStep::RollbackAndHalt(s) => Step::RollbackAndHalt(s),
        FuzzStep::Converge => Step::Converge,
    };
    let plan = PlanOut {
        step,
        candidates: input
            .plan_candidates
            .iter()
            .map(|&(host, reason)| CandidateOut { host, reason })
            .collect(),
        reasons: input.reasons.clone(),
        notes: input.notes,
    };
    if validate::plan(&rollout, input.waves, &snapshot, &plan).is_ok() {
        let named = snapshot.name_plan(&plan);
        assert_eq!(named.candidates.len(), plan.candidates.len());
        assert!(rollout.state == RolloutState::Running || plan.candidates.is_empty());
    }

    let candidates: Vec<u32> = input
        .gate_candidates
        .into_iter()
        .filter(|&id| (id as usize) < snapshot.len())
        .collect();
    let verdict = VerdictOut {
        admitted: input.admitted,
        refused: input
            .refused
            .iter()
            .map(|&(host, reason)| RefusalOut { host, reason })
            .collect(),
        reasons: input.reasons,
    };
    if validate::verdict(&candidates, &snapshot, &verdict).is_ok() {
        let names: Vec<String> = candidates
            .iter()
            .filter_map(|&id| snapshot.name(id).map(str::to_owned))
            .collect();
        let named = snapshot
            .candidates(&names)
            .name_verdict(&snapshot, &verdict);
        assert_eq!(named.admitted.len(), verdict.admitted.len());
    }

    let health = HealthVerdict {
        status: HealthStatus::Healthy,
        reason: input.verdict_reason.clone(),
    };
    let _ = validate::health(&health);
    let attestation = AttestationInput {
        now: 0,
        host: host("h".into(), true),
        standing: trust(input.standing),
        history: vec![],
    };
    let out = AttestationVerdict {
        standing: trust(input.new_standing),
        reason: input.verdict_reason,
    };
    if validate::attestation(&attestation, &out).is_ok() {
        assert!(attestation.standing != TrustLevel::Expel || out.standing == TrustLevel::Expel);
    }
});
