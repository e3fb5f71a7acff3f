//! Helpers shared by the integration tests: real components (the WAT corpus and the
//! built-ins, through `convoy-test-support`), engines, specs and small fleet snapshots.

#![allow(dead_code)]

use convoy_host_runtime::gate::{GateInput, Verdict};
use convoy_host_runtime::types::{Host, HostPhase, Rollout, RolloutState};
use convoy_host_runtime::{
    Evaluation, Limits, Policy, PolicyEngine, PolicyError, PolicyKind, PolicySpec, Snapshot,
};
use convoy_proto::Sha256Digest;

/// A spec pinning exactly these bytes.
pub fn spec_for(name: &str, kind: PolicyKind, bytes: &[u8]) -> PolicySpec {
    PolicySpec {
        name: name.to_owned(),
        kind,
        sha256: Sha256Digest::of(bytes),
    }
}

/// An engine without a cache and default limits.
pub fn engine() -> PolicyEngine {
    PolicyEngine::new(Default::default()).expect("engine")
}

/// `n` idle hosts `host-0000`… on channel `prod`.
pub fn hosts(n: usize) -> Vec<Host> {
    (0..n)
        .map(|i| Host {
            name: format!("host-{i:05}"),
            channel: "prod".into(),
            tags: vec![if i % 10 == 0 {
                "canary".into()
            } else {
                "web".into()
            }],
            current_closure: Some("/nix/store/aaaa-system".into()),
            target_closure: Some("/nix/store/bbbb-system".into()),
            phase: HostPhase::Idle,
            phase_since: 1_700_000_000,
            last_seen: Some(1_700_000_000),
            rollout: None,
        })
        .collect()
}

/// A gate input whose candidates are the first `candidates` of `n` hosts.
pub fn gate_input(n: usize, candidates: usize) -> GateInput {
    let hosts = hosts(n);
    GateInput {
        now: 1_700_000_600,
        candidates: hosts
            .iter()
            .take(candidates)
            .map(|h| h.name.clone())
            .collect(),
        hosts,
        active: vec![Rollout {
            id: "r1".into(),
            channel: "prod".into(),
            target_version: 7,
            current_wave: 0,
            started_at: 1_700_000_000,
            wave_started_at: 1_700_000_000,
            state: RolloutState::Running,
        }],
    }
}

/// The bytes of a built-in policy component (`disruption-budget`).
pub fn builtin(name: &str) -> Vec<u8> {
    let dir = convoy_test_support::builtin_components().expect("built-in components");
    std::fs::read(dir.join(format!("{name}.wasm"))).expect("built-in component")
}

/// A gate call on a host list, named: the snapshot built from the input's hosts, the
/// candidates resolved on it, the id-level call under `limits` (the engine's defaults if
/// `None`), and the verdict named again.
pub fn admit_named_with(
    policy: &Policy,
    limits: Option<Limits>,
    config: &str,
    input: &GateInput,
) -> Result<Evaluation<Verdict>, PolicyError> {
    let snapshot = Snapshot::new(&input.hosts, input.active.clone())?;
    let candidates = snapshot.candidates(&input.candidates);
    let mut call = policy.call();
    if let Some(limits) = limits {
        call.limits(limits);
    }
    let eval = call.admit(config, input.now, candidates.ids(), &snapshot)?;
    Ok(eval.map(|out| candidates.name_verdict(&snapshot, &out)))
}

/// [`admit_named_with`] under the engine's default limits.
pub fn admit_named(
    policy: &Policy,
    config: &str,
    input: &GateInput,
) -> Result<Evaluation<Verdict>, PolicyError> {
    admit_named_with(policy, None, config, input)
}
