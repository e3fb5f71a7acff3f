//! Random fleets driven through the reconciler by the simulator: no budget is ever
//! exceeded, no host is dispatched against an edge, nothing is dispatched by a rollout that
//! is paused, halted or cancelled, and every rollout ends converged or stopped within a
//! bound.

#[path = "../../reconciler/tests/support/fleet.rs"]
mod fleet;

use std::collections::{BTreeMap, BTreeSet};

use convoy_host_runtime::types::HostPhase;
use convoy_policy_tests::simulate::{Scenario, simulate_observed};
use convoy_reconciler::{Action, RolloutState, State};
use fleet::{TestChannel, TestFleet};
use proptest::prelude::*;
use serde_json::json;

const CHANNELS: [&str; 3] = ["c0", "c1", "c2"];
const TAGS: [&str; 2] = ["t0", "t1"];
const TICKS: u32 = 240;

#[derive(Debug, Clone)]
struct Budget {
    tag: Option<usize>,
    max: Option<u32>,
    pct: Option<u8>,
}

#[derive(Debug, Clone)]
struct Case {
    /// Per host: channel, tag.
    hosts: Vec<(usize, usize)>,
    /// Per channel: the waves (by tag, or the rest), rollback or halt.
    waves_by_tag: [bool; 3],
    rollback: [bool; 3],
    channel_edges: Vec<(usize, usize)>,
    /// Host edges as (before, after) indexes with before < after, same channel.
    edges: Vec<(usize, usize)>,
    budgets: Vec<Budget>,
    offline: BTreeSet<usize>,
    fail_activation: BTreeSet<usize>,
    fail_probes: BTreeSet<usize>,
}

fn budget() -> impl Strategy<Value = Budget> {
    (
        proptest::option::of(0..2usize),
        proptest::option::of(1..5u32),
        proptest::option::of(10..=100u8),
    )
        .prop_map(|(tag, max, pct)| Budget {
            tag,
            max: if max.is_none() && pct.is_none() {
                Some(2)
            } else {
                max
            },
            pct,
        })
}

fn case() -> impl Strategy<Value = Case> {
    (1..=50usize).prop_flat_map(|n| {
        (
            proptest::collection::vec((0..3usize, 0..2usize), n),
            any::<[bool; 3]>(),
            any::<[bool; 3]>(),
            proptest::collection::vec((0..3usize, 0..3usize), 0..3),
            proptest::collection::vec((0..n, 0..n), 0..6),
            proptest::collection::vec(budget(), 0..3),
            proptest::collection::btree_set(0..n, 0..3),
            proptest::collection::btree_set(0..n, 0..3),
            proptest::collection::btree_set(0..n, 0..3),
        )
            .prop_map(
                |(hosts, waves_by_tag, rollback, ce, e, budgets, offline, fa, fp)| {
                    // Acyclic by construction: edges point from a lower to a higher index.
                    let channel_edges = ce.into_iter().filter(|(a, b)| a < b).collect();
                    let edges = e
                        .into_iter()
                        .filter(|(a, b)| a < b && hosts[*a].0 == hosts[*b].0)
                        .collect();
                    Case {
                        hosts,
                        waves_by_tag,
                        rollback,
                        channel_edges,
                        edges,
                        budgets,
                        offline,
                        fail_activation: fa,
                        fail_probes: fp,
                    }
                },
            )
    })
}

fn name(i: usize) -> String {
    format!("h{i:02}")
}

fn fleet_of(case: &Case) -> TestFleet {
    let mut f = TestFleet::default();
    for (i, (c, t)) in case.hosts.iter().enumerate() {
        f = f.host(&name(i), CHANNELS[*c], &[TAGS[*t]]);
    }
    for (c, channel) in CHANNELS.iter().enumerate() {
        let mut waves = Vec::new();
        if case.waves_by_tag[c] {
            waves.push((json!({"and": [{"channel": channel}, {"tags": ["t0"]}]}), 1));
        }
        waves.push((json!({"channel": channel}), 2));
        let on_failure = if case.rollback[c] {
            "rollback-and-halt"
        } else {
            "halt"
        };
        f = f.channel(
            TestChannel::new(channel)
                .waves(waves)
                .timeout(10)
                .on_failure(on_failure)
                .extra(json!({"skipOfflineAfterMinutes": 5})),
        );
    }
    for (a, b) in &case.channel_edges {
        f = f.channel_edge(CHANNELS[*a], CHANNELS[*b]);
    }
    for (a, b) in &case.edges {
        f = f.edge(&name(*a), &name(*b));
    }
    for b in &case.budgets {
        let selector = match b.tag {
            Some(t) => json!({"tags": [TAGS[t]]}),
            None => json!({"all": true}),
        };
        let mut budget = json!({"selector": selector});
        if let Some(m) = b.max {
            budget["maxInFlight"] = json!(m);
        }
        if let Some(p) = b.pct {
            budget["maxInFlightPct"] = json!(p);
        }
        f = f.budget(budget);
    }
    f
}

/// The limit of a budget over `group` hosts (the disruption-budget policy's rule,
/// restated as the test's oracle).
fn limit(b: &Budget, group: usize) -> usize {
    let by_count = b.max.map_or(usize::MAX, |m| m as usize);
    let by_pct = b.pct.map_or(usize::MAX, |p| {
        if group == 0 || p == 0 {
            0
        } else {
            (group * usize::from(p) / 100).max(1)
        }
    });
    by_count.min(by_pct)
}

fn disrupted(phase: HostPhase) -> bool {
    matches!(
        phase,
        HostPhase::Dispatched
            | HostPhase::Activating
            | HostPhase::ConfirmWindow
            | HostPhase::Failed
    )
}

fn converged(state: &State, host: &str) -> bool {
    state.hosts.get(host).is_some_and(|h| {
        h.on_target()
            && matches!(
                h.phase,
                HostPhase::Idle | HostPhase::Soaked | HostPhase::Converged
            )
    })
}

/// The edge gates' one definition of an upstream host that no longer holds its
/// downstream back (docs/policy-abi.md, "Semantics decided"): converged, or skipped —
/// no target closure, or silent for the skip threshold (60 minutes by default; a host
/// that never checked in counts as silent since time 0). A failed host is never settled.
fn settled(state: &State, host: &str) -> bool {
    const SKIP_OFFLINE_AFTER: u64 = 60 * 60;
    let now = state.last_tick.unwrap_or(0);
    converged(state, host)
        || state.hosts.get(host).is_some_and(|h| {
            let failed = matches!(h.phase, HostPhase::Failed | HostPhase::Reverted);
            let offline = h
                .last_seen
                .is_none_or(|seen| now.saturating_sub(seen) >= SKIP_OFFLINE_AFTER);
            h.target.is_none() || (!failed && offline)
        })
}

/// Every invariant of one tick; `Err` names the broken one.
fn check_tick(case: &Case, state: &State, actions: &[Action]) -> Result<(), String> {
    let dispatched: Vec<(&str, &str)> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Dispatch { host, rollout, .. } => Some((host.as_str(), rollout.as_str())),
            _ => None,
        })
        .collect();
    if dispatched.is_empty() {
        return Ok(());
    }
    let index: BTreeMap<String, usize> = (0..case.hosts.len()).map(|i| (name(i), i)).collect();
    // Budgets: a budget that admitted a host this tick is within its limit after it.
    for (bi, b) in case.budgets.iter().enumerate() {
        let covers = |i: usize| b.tag.is_none_or(|t| case.hosts[i].1 == t);
        let group = (0..case.hosts.len()).filter(|i| covers(*i)).count();
        let admitted = dispatched.iter().any(|(h, _)| covers(index[*h]));
        let in_flight = (0..case.hosts.len())
            .filter(|i| covers(*i) && disrupted(state.hosts[&name(*i)].phase))
            .count();
        if admitted && in_flight > limit(b, group) {
            return Err(format!(
                "budget {bi} {b:?}: {in_flight} in flight of {group}"
            ));
        }
    }
    for (host, rollout) in &dispatched {
        // Only a running rollout dispatches (or a converged one catching up).
        let r = state.rollout(rollout).ok_or("unknown rollout")?;
        if !matches!(r.state, RolloutState::Running | RolloutState::Converged) {
            return Err(format!(
                "{host} dispatched by {rollout}, which is {:?}",
                r.state
            ));
        }
        let i = index[*host];
        for (before, after) in &case.edges {
            if *after == i && !settled(state, &name(*before)) {
                return Err(format!(
                    "{host} dispatched before {} converged or was skipped",
                    name(*before)
                ));
            }
        }
        let channel = case.hosts[i].0;
        for (before, after) in &case.channel_edges {
            if *after != channel {
                continue;
            }
            let upstream = CHANNELS[*before];
            let active = state
                .rollouts
                .iter()
                .any(|r| r.channel == upstream && r.state.is_active());
            let hosts_done = state
                .hosts
                .iter()
                .filter(|(_, h)| h.channel == upstream && h.target.is_some())
                .all(|(n, _)| settled(state, n));
            if active || !hosts_done {
                return Err(format!(
                    "{host} dispatched before channel {upstream} converged"
                ));
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, .. ProptestConfig::default() })]

    #[test]
    fn random_fleets_keep_budgets_edges_and_states_and_end(case in case()) {
        let doc = fleet_of(&case).document("r1");
        let policies = fleet::policies(&doc);
        let mut scenario = Scenario::new(1_800_000_000, 60, TICKS);
        scenario.offline = case.offline.iter().map(|i| name(*i)).collect();
        scenario.fail_activation = case.fail_activation.iter().map(|i| name(*i)).collect();
        scenario.fail_probes = case.fail_probes.iter().map(|i| name(*i)).collect();
        scenario.stall_after_seconds = 30 * 60;
        let mut broken = None;
        let mut last = State::default();
        let timeline = simulate_observed(&doc, policies, None, &scenario, |tick, state, actions| {
            if broken.is_none()
                && let Err(why) = check_tick(&case, state, actions)
            {
                broken = Some(format!("tick {tick}: {why}"));
            }
            last = state.clone();
        })
        .expect("simulates");
        prop_assert!(broken.is_none(), "{}", broken.unwrap_or_default());
        prop_assert!((timeline.ticks.len() as u32) < TICKS, "no end within {TICKS} ticks");
        for r in &last.rollouts {
            prop_assert!(
                matches!(r.state, RolloutState::Converged | RolloutState::Halted | RolloutState::RollingBack),
                "{} ended {:?}", r.id, r.state
            );
            if r.state == RolloutState::RollingBack {
                // Only hosts that never answer keep a rollback open.
                prop_assert!(r.rollback_pending.iter().all(|h| scenario.offline.contains(h)));
            }
        }
    }
}

#[test]
fn the_oracle_matches_the_budget_policy_on_rounding() {
    let b = |max, pct| Budget {
        tag: None,
        max,
        pct,
    };
    assert_eq!(limit(&b(None, Some(25)), 12), 3);
    assert_eq!(limit(&b(None, Some(10)), 5), 1);
    assert_eq!(limit(&b(Some(2), Some(50)), 12), 2);
}
