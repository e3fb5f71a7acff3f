//! Determinism: the same component and input give the same output bytes and fuel, 1,000
//! times in one engine, and again in a fresh engine after the compiled cache is cleared.

mod common;

use common::{admit_named, builtin, gate_input, spec_for};
use convoy_host_runtime::{EngineOptions, Evaluation, PolicyEngine, PolicyKind};

const BUDGET_CONFIG: &str =
    r#"{"budgets":[{"maxInFlight":7,"maxInFlightPct":10,"selector":{"all":true}}]}"#;

fn engine_with_cache(dir: &std::path::Path) -> PolicyEngine {
    PolicyEngine::new(EngineOptions {
        cache_dir: Some(dir.to_owned()),
        ..EngineOptions::default()
    })
    .expect("engine")
}

fn fingerprint<T: serde::Serialize>(e: &Evaluation<T>) -> (Vec<u8>, u64, String) {
    (
        e.output_json().expect("canonical output"),
        e.receipt.fuel_used,
        e.receipt.output_sha256.to_string(),
    )
}

#[test]
fn same_input_same_output_and_fuel_1000_times_and_across_engines() {
    let bytes = builtin("disruption-budget");
    let spec = spec_for("disruption-budget", PolicyKind::Gate, &bytes);
    let input = gate_input(200, 40);
    let cache = tempfile::tempdir().expect("tempdir");

    let engine = engine_with_cache(cache.path());
    let (policy, stats) = engine.load(&spec, &bytes).expect("loads");
    assert!(stats.compiled, "first load compiles");
    let first = admit_named(&policy, BUDGET_CONFIG, &input).expect("evaluates");
    assert!(first.receipt.fuel_used > 0);
    let reference = fingerprint(&first);
    for i in 0..1000 {
        let again = admit_named(&policy, BUDGET_CONFIG, &input).expect("evaluates");
        assert_eq!(fingerprint(&again), reference, "evaluation {i} differs");
        assert_eq!(again.receipt, first.receipt);
    }

    // A second engine reuses the compiled cache ...
    let warm = engine_with_cache(cache.path());
    let (policy, stats) = warm.load(&spec, &bytes).expect("loads");
    assert!(!stats.compiled, "second engine loads from the cache");
    assert_eq!(
        fingerprint(&admit_named(&policy, BUDGET_CONFIG, &input).expect("evaluates")),
        reference
    );

    // ... and a fresh engine with the cache cleared recompiles and agrees.
    warm.cache().expect("cache").clear().expect("clear");
    drop((policy, warm, engine));
    let cold = engine_with_cache(cache.path());
    let (policy, stats) = cold.load(&spec, &bytes).expect("loads");
    assert!(stats.compiled, "cleared cache recompiles");
    let fresh = admit_named(&policy, BUDGET_CONFIG, &input).expect("evaluates");
    assert_eq!(fingerprint(&fresh), reference);
    assert_eq!(fresh.receipt, first.receipt);
}

#[test]
fn every_builtin_loads_and_validates_its_empty_config_deterministically() {
    let engine = common::engine();
    for (name, kind) in [
        ("waves", PolicyKind::Rollout),
        ("channel-edges", PolicyKind::Gate),
        ("host-edges", PolicyKind::Gate),
        ("disruption-budget", PolicyKind::Gate),
        ("health", PolicyKind::Health),
        ("attestation-quarantine", PolicyKind::Attestation),
    ] {
        let bytes = builtin(name);
        let (policy, _) = engine
            .load(&spec_for(name, kind, &bytes), &bytes)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let a = policy
            .call()
            .validate_config("{}")
            .expect("validate-config runs");
        let b = policy
            .call()
            .validate_config("{}")
            .expect("validate-config runs");
        assert_eq!(a.receipt, b.receipt, "{name}");
    }
}

#[test]
fn concurrent_evaluations_of_one_policy_agree() {
    let bytes = builtin("disruption-budget");
    let spec = spec_for("disruption-budget", PolicyKind::Gate, &bytes);
    let engine = common::engine();
    let (policy, _) = engine.load(&spec, &bytes).expect("loads");
    let input = gate_input(100, 30);
    let reference = admit_named(&policy, BUDGET_CONFIG, &input)
        .expect("evaluates")
        .receipt;
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    (0..50)
                        .map(|_| {
                            admit_named(&policy, BUDGET_CONFIG, &input)
                                .expect("evaluates")
                                .receipt
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            for receipt in h.join().expect("thread") {
                assert_eq!(receipt, reference);
            }
        }
    });
}

/// A receipt names the snapshot it decided on: the shared-snapshot path and the by-name
/// path give the same receipt, and a change to one host that leaves the decision as it was
/// still changes the input hash, through the snapshot hash.
#[test]
fn a_receipt_names_the_snapshot_it_decided_on() {
    use convoy_host_runtime::Snapshot;

    let bytes = builtin("disruption-budget");
    let spec = spec_for("disruption-budget", PolicyKind::Gate, &bytes);
    let (policy, _) = common::engine().load(&spec, &bytes).expect("loads");
    let input = gate_input(50, 5);
    let snapshot = Snapshot::new(&input.hosts, input.active.clone()).expect("snapshot");

    let by_name = admit_named(&policy, BUDGET_CONFIG, &input).expect("evaluates");
    let candidates = snapshot.candidates(&input.candidates);
    let shared = policy
        .call()
        .admit(BUDGET_CONFIG, input.now, candidates.ids(), &snapshot)
        .expect("evaluates")
        .map(|out| candidates.name_verdict(&snapshot, &out));
    assert_eq!(shared.output, by_name.output);
    assert_eq!(by_name.receipt, shared.receipt);
    assert_eq!(by_name.receipt.snapshot_sha256, Some(*snapshot.sha256()));
    // The id path (how a reconciler chains gates) is the same call, with the same receipt;
    // naming its ids gives the by-name verdict; refusals for one reason share it.
    let big = gate_input(200, 40);
    let big_snapshot = Snapshot::new(&big.hosts, big.active.clone()).expect("snapshot");
    let big_by_name = admit_named(&policy, BUDGET_CONFIG, &big).expect("evaluates");
    let ids: Vec<u32> = big
        .candidates
        .iter()
        .map(|c| big_snapshot.position(c).expect("candidate in the snapshot"))
        .collect();
    let by_id = policy
        .call()
        .admit(BUDGET_CONFIG, big.now, &ids, &big_snapshot)
        .expect("evaluates");
    assert_eq!(by_id.receipt, big_by_name.receipt);
    let name = |id: &u32| big_snapshot.name(*id).expect("named");
    let admitted: Vec<&str> = by_id.output.admitted.iter().map(name).collect();
    assert_eq!(admitted, big_by_name.output.admitted);
    assert_eq!(by_id.output.refused.len(), 33);
    assert_eq!(by_id.output.reasons.len(), 1, "{:?}", by_id.output.reasons);
    for (r, named) in by_id.output.refused.iter().zip(&big_by_name.output.refused) {
        assert_eq!(name(&r.host), named.host);
        assert_eq!(by_id.output.reasons[r.reason as usize], named.reason);
    }
    let err = policy
        .call()
        .admit(BUDGET_CONFIG, big.now, &[200], &big_snapshot)
        .expect_err("a host-id beyond the snapshot");
    assert!(err.to_string().contains("host-id 200"), "{err}");
    // The receipt's input covers the candidates' order (it names them by hash): the
    // same hosts in another order are another call.
    let reversed: Vec<u32> = ids.iter().rev().copied().collect();
    let other = policy
        .call()
        .admit(BUDGET_CONFIG, big.now, &reversed, &big_snapshot)
        .expect("evaluates");
    assert_eq!(other.receipt.snapshot_sha256, by_id.receipt.snapshot_sha256);
    assert_ne!(other.receipt.input_sha256, by_id.receipt.input_sha256);

    // The last host, not a candidate, stops checking in: same verdict, another snapshot.
    let mut changed = input.clone();
    if let Some(last) = changed.hosts.last_mut() {
        last.last_seen = None;
    }
    let other = admit_named(&policy, BUDGET_CONFIG, &changed).expect("evaluates");
    assert_eq!(
        other.output_json().expect("json"),
        by_name.output_json().expect("json")
    );
    assert_ne!(
        other.receipt.snapshot_sha256,
        by_name.receipt.snapshot_sha256
    );
    assert_ne!(other.receipt.input_sha256, by_name.receipt.input_sha256);
    assert_eq!(other.receipt.output_sha256, by_name.receipt.output_sha256);

    // Hosts that cannot be a snapshot are a typed error before anything runs.
    let mut twice = input.clone();
    twice.hosts.push(twice.hosts[0].clone());
    let err = admit_named(&policy, BUDGET_CONFIG, &twice).expect_err("refused");
    assert!(
        matches!(
            &err,
            convoy_host_runtime::PolicyError::Snapshot(
                convoy_host_runtime::SnapshotError::DuplicateHost { name }
            ) if *name == input.hosts[0].name
        ),
        "{err}"
    );
    assert_eq!(err.code(), "snapshot");
}
