//! `simulate` over the real built-in components: a clean staged rollout converges, a
//! failing probe in the canary wave halts it, an offline host is skipped.

use std::collections::BTreeSet;
use std::path::PathBuf;

use convoy_host_runtime::{PolicyEngine, PolicyKind};
use convoy_policy_tests::ComponentSource;
use convoy_policy_tests::simulate::{ChannelPolicies, Configured, Scenario, Timeline, simulate};

fn components() -> PathBuf {
    convoy_test_support::builtin_components().expect("the built-in policy components")
}

fn configured(engine: &PolicyEngine, name: &str, kind: PolicyKind, config: &str) -> Configured {
    Configured {
        policy: ComponentSource::Dir(components())
            .load(engine, name, kind, None)
            .expect("loads"),
        config: config.into(),
    }
}

fn run(scenario: Scenario) -> Timeline {
    let engine = PolicyEngine::new(Default::default()).expect("engine");
    let policies = ChannelPolicies {
        rollout: configured(
            &engine,
            "waves",
            PolicyKind::Rollout,
            r#"{"onHealthFailure":"rollback-and-halt","strategy":"canary","waves":[{"name":"canary","selector":{"tags":["canary"]},"soakMinutes":10},{"name":"rest","selector":{"all":true},"soakMinutes":0}]}"#,
        ),
        gates: vec![configured(
            &engine,
            "disruption-budget",
            PolicyKind::Gate,
            r#"{"budgets":[{"maxInFlight":3,"name":"web","selector":{"all":true}}]}"#,
        )],
        health: None,
    };
    let hosts = (0..12)
        .map(|i| {
            let tag = if i < 2 { "canary" } else { "web" };
            (format!("web{i:02}"), vec![tag.to_owned()])
        })
        .collect();
    simulate("prod", hosts, "/nix/store/new-system", &policies, &scenario).expect("simulates")
}

fn scenario() -> Scenario {
    Scenario {
        start: 1_700_000_000,
        tick_seconds: 300,
        ticks: 60,
        ..Scenario::default()
    }
}

#[test]
fn clean_rollout_converges_within_the_budget() {
    let t = run(scenario());
    assert_eq!(t.outcome, "converged", "{t:#?}");
    assert!(t.ticks.iter().all(|tick| tick.dispatched.len() <= 3));
    assert!(t.ticks.iter().any(|tick| tick.step.starts_with("promote")));
    let dispatched: usize = t.ticks.iter().map(|tick| tick.dispatched.len()).sum();
    assert_eq!(dispatched, 12);
}

#[test]
fn failing_probe_in_the_canary_wave_rolls_back_and_halts() {
    let t = run(Scenario {
        fail_probes: BTreeSet::from(["web00".to_owned()]),
        ..scenario()
    });
    assert_eq!(t.outcome, "rolling-back", "{t:#?}");
    let last = t.ticks.last().expect("ticks");
    assert!(last.step.starts_with("rollback-and-halt"), "{}", last.step);
    // Nothing beyond the canary wave was ever dispatched.
    let dispatched: Vec<&String> = t.ticks.iter().flat_map(|tick| &tick.dispatched).collect();
    assert!(
        dispatched.iter().all(|h| *h == "web00" || *h == "web01"),
        "{dispatched:?}"
    );
}

#[test]
fn same_scenario_same_timeline() {
    let s = Scenario {
        offline: BTreeSet::from(["web07".to_owned()]),
        fail_activation: BTreeSet::from(["web09".to_owned()]),
        ..scenario()
    };
    let (a, b) = (run(s.clone()), run(s));
    assert_eq!(
        serde_json::to_string(&a).expect("json"),
        serde_json::to_string(&b).expect("json")
    );
}
