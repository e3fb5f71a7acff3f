//! The simulator's agents: timing checks, probes sampled at their interval, the confirm
//! deadline, the whole fleet in every snapshot.

#[path = "../../reconciler/tests/support/fleet.rs"]
mod fleet;

use std::collections::BTreeSet;

use convoy_policy_tests::simulate::{Scenario, ScenarioError, SimulateError, Timeline, simulate};
use convoy_proto::UnsignedFleet;
use fleet::{TestChannel, TestFleet};
use serde_json::json;

const T0: u64 = 1_700_000_000;

fn run(
    fleet: &UnsignedFleet,
    only: Option<&str>,
    scenario: &Scenario,
) -> Result<Timeline, SimulateError> {
    let policies = fleet::policies(fleet);
    simulate(fleet, policies, only, scenario)
}

fn one_channel(channel: TestChannel) -> UnsignedFleet {
    TestFleet::default()
        .host("a1", "a", &[])
        .host("a2", "a", &[])
        .channel(channel)
        .document("r1")
}

#[test]
fn a_tick_longer_than_a_threshold_is_refused() {
    let fleet = one_channel(TestChannel::new("a").timeout(15));
    let err = run(&fleet, None, &Scenario::new(T0, 16 * 60, 10)).expect_err("hides the deadline");
    assert!(
        matches!(
            err,
            SimulateError::Scenario(ScenarioError::TickHidesThreshold { seconds: 900, .. })
        ),
        "{err}"
    );
    let fleet = one_channel(TestChannel::new("a").waves(vec![(json!({"all": true}), 5)]));
    let err = run(&fleet, None, &Scenario::new(T0, 301, 10)).expect_err("hides the soak");
    assert!(
        matches!(
            err,
            SimulateError::Scenario(ScenarioError::TickHidesThreshold { seconds: 300, .. })
        ),
        "{err}"
    );
    let mut zero = Scenario::new(T0, 60, 10);
    zero.probe_interval_seconds = 0;
    assert!(matches!(
        run(&fleet, None, &zero),
        Err(SimulateError::Scenario(ScenarioError::Zero { .. }))
    ));
    assert!(
        run(&fleet, None, &Scenario::new(T0, 300, 10)).is_ok(),
        "a tick equal to the soak is fine"
    );
}

#[test]
fn probes_are_sampled_at_their_interval_within_a_tick() {
    // Three consecutive failures make a host unhealthy: with samples every 10 s from
    // activation (30 s after pick-up), that is 50 s after dispatch, inside one 5-minute tick.
    let fleet = one_channel(TestChannel::new("a").health(json!({"consecutiveFailures": 3})));
    let mut scenario = Scenario::new(T0, 300, 20);
    scenario.fail_probes = BTreeSet::from(["a1".to_owned()]);
    let t = run(&fleet, None, &scenario).expect("simulates");
    let tick1 = &t.ticks[1].agents;
    assert!(
        tick1.contains(&"+50s a1: failed (health policy: unhealthy)".to_owned()),
        "{tick1:#?}"
    );
    assert!(
        tick1.contains(&"+30s a2: healthy, confirmed".to_owned()),
        "{tick1:#?}"
    );
    assert_eq!(t.state_of("a@1"), Some("halted"));
}

#[test]
fn an_agent_that_cannot_confirm_rolls_back_at_its_deadline() {
    // The health policy waits for a probe that never reports: pending until the deadline.
    let fleet = one_channel(
        TestChannel::new("a")
            .timeout(10)
            .health(json!({"required": ["disk"]})),
    );
    let t = run(&fleet, None, &Scenario::new(T0, 120, 30)).expect("simulates");
    let lines: Vec<&String> = t.ticks.iter().flat_map(|tick| &tick.agents).collect();
    assert!(
        lines.contains(&&"+600s a1: failed (confirm deadline passed)".to_owned()),
        "{lines:#?}"
    );
    assert!(!lines.iter().any(|l| l.contains("confirmed")));
}

#[test]
fn the_whole_fleet_is_simulated_so_channel_edges_refuse_and_budgets_count_every_host() {
    // Channel b waits for a; a fleet-wide 25 % budget of 8 hosts is 2 (of b's 4 alone: 1).
    let mut f = TestFleet::default();
    for i in 1..=4 {
        f = f
            .host(&format!("a{i}"), "a", &[])
            .host(&format!("b{i}"), "b", &[]);
    }
    let fleet = f
        .channel(TestChannel::new("a"))
        .channel(TestChannel::new("b"))
        .channel_edge("a", "b")
        .budget(json!({"selector": {"all": true}, "maxInFlightPct": 25}))
        .document("r1");
    let t = run(&fleet, None, &Scenario::new(T0, 60, 100)).expect("simulates");
    let first = &t.ticks[0].rollouts;
    let b = first
        .iter()
        .find(|r| r.rollout == "b@1")
        .expect("b planned");
    assert!(
        b.refused
            .iter()
            .any(|r| r.contains("channel b waits for channel a")),
        "{b:#?}"
    );
    let a = first
        .iter()
        .find(|r| r.rollout == "a@1")
        .expect("a planned");
    assert_eq!(
        a.dispatched,
        ["a1", "a2"],
        "25 % of the 8 hosts of the fleet"
    );
    assert_eq!(t.state_of("a@1"), Some("converged"));
    assert_eq!(t.state_of("b@1"), Some("converged"));
    // With --channel b, a's hosts start on their targets: b is not held back.
    let t = run(&fleet, Some("b"), &Scenario::new(T0, 60, 100)).expect("simulates");
    let b = t.ticks[0]
        .rollouts
        .iter()
        .find(|r| r.rollout == "b@1")
        .expect("b planned");
    assert_eq!(b.dispatched, ["b1", "b2"]);
}

#[test]
fn same_scenario_same_timeline() {
    let fleet = one_channel(TestChannel::new("a"));
    let mut s = Scenario::new(T0, 60, 60);
    s.offline = BTreeSet::from(["a2".to_owned()]);
    s.fail_activation = BTreeSet::from(["a1".to_owned()]);
    let (a, b) = (
        run(&fleet, None, &s).expect("a"),
        run(&fleet, None, &s).expect("b"),
    );
    assert_eq!(a.render(), b.render());
}
