//! The rollout semantics of `docs/rollout-semantics.md`, one test per case, through the
//! real built-in components.

mod support;

use convoy_host_runtime::types::HostPhase;
use convoy_reconciler::{
    Action, AgentError, AgentReport, DesiredFleet, Event, OperatorAction, OperatorError, PolicySet,
    ReconcileError, Reconciler, ReconcilerConfig, ReleaseError, RolloutState, State,
};
use serde_json::json;
use support::fleet::{TestChannel, TestFleet, closure};
use support::{Harness, dispatches, policies};

const T0: u64 = 1_800_000_000;
const MIN: u64 = 60;

fn three_hosts(channel: TestChannel) -> TestFleet {
    TestFleet::default()
        .host("a1", "a", &[])
        .host("a2", "a", &[])
        .host("a3", "a", &[])
        .channel(channel)
}

/// Releases `fleet` as v1 at T0 with every host on `previous` and checked in.
fn start(h: &mut Harness, fleet: &TestFleet) {
    h.release(T0, &fleet.document("r1"), 1);
    h.all_run(|n| closure("r0", n));
    h.check_in(T0, &[]);
}

/// What a refused event's error must be.
type Expected = fn(&ReconcileError) -> bool;

fn json_of(state: &State) -> String {
    serde_json::to_string(state).expect("state serialises")
}

#[test]
fn lifecycle_a_release_that_changes_a_channel_starts_a_rollout_and_an_unchanged_one_does_not() {
    let fleet = TestFleet::default()
        .host("a1", "a", &[])
        .host("b1", "b", &[])
        .channel(TestChannel::new("a"))
        .channel(TestChannel::new("b"));
    let mut h = Harness::new(4 * 3600);
    let actions = h.release(T0, &fleet.document("r1"), 1);
    let started: Vec<&str> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Rollout {
                rollout,
                from: None,
                ..
            } => Some(rollout.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(started, ["a@1", "b@1"]);
    // v2 changes channel a's closures only.
    let v2 = fleet.document_with(|h| if h.starts_with('a') { "r2" } else { "r1" }.into());
    h.release(T0 + MIN, &v2, 2);
    assert_eq!(h.state_of("a@1"), RolloutState::Superseded);
    assert_eq!(h.state_of("a@2"), RolloutState::Running);
    assert_eq!(h.state_of("b@1"), RolloutState::Running);
    assert!(h.reconciler.state().rollout("b@2").is_none());
    // Changing only a policy's configuration starts a rollout too.
    let mut v3 = v2.clone();
    v3.channels.get_mut("b").expect("b").policies[3].config =
        json!({"budgets": [{"selector": {"all": true}, "maxInFlight": 1}]});
    h.release(T0 + 2 * MIN, &v3, 3);
    assert_eq!(h.state_of("b@1"), RolloutState::Superseded);
    assert_eq!(h.state_of("b@3"), RolloutState::Running);
    assert_eq!(h.state_of("a@2"), RolloutState::Running);
}

#[test]
fn lifecycle_a_newer_release_supersedes_the_rollout_and_hosts_already_on_its_target_count_as_done()
{
    let fleet = three_hosts(TestChannel::new("a"))
        .budget(json!({"selector": {"all": true}, "maxInFlight": 1}));
    let mut h = Harness::new(4 * 3600);
    start(&mut h, &fleet);
    assert_eq!(dispatches(&h.tick(T0)), ["a1"]);
    h.confirm("a1", T0 + 30);
    // v2 keeps a1's closure (it is already there) and changes the others'.
    let v2 = fleet.document_with(|h| if h == "a1" { "r1" } else { "r2" }.into());
    h.release(T0 + MIN, &v2, 2);
    assert_eq!(h.state_of("a@1"), RolloutState::Superseded);
    let mut dispatched = Vec::new();
    for i in 1..20 {
        let now = T0 + i * MIN;
        h.check_in(now, &[]);
        dispatched.extend(dispatches(&h.tick(now)));
        h.confirm_all(now + 1, &[]);
    }
    assert_eq!(dispatched, ["a2", "a3"], "a1 already runs its target");
    assert_eq!(h.state_of("a@2"), RolloutState::Converged);
    for host in ["a1", "a2", "a3"] {
        assert!(h.reconciler.state().hosts[host].on_target(), "{host}");
    }
}

#[test]
fn lifecycle_pause_resume_and_cancel_and_no_dispatch_while_paused_or_cancelled() {
    let fleet = three_hosts(TestChannel::new("a"))
        .budget(json!({"selector": {"all": true}, "maxInFlight": 1}));
    let mut h = Harness::new(4 * 3600);
    start(&mut h, &fleet);
    assert_eq!(dispatches(&h.tick(T0)), ["a1"]);
    h.confirm("a1", T0 + 10);
    let op = |action| Event::Operator {
        at: T0 + 20,
        action,
    };
    h.reconciler
        .handle(op(OperatorAction::Pause {
            rollout: "a@1".into(),
        }))
        .expect("pause");
    assert_eq!(h.state_of("a@1"), RolloutState::Paused);
    let actions = h.tick(T0 + MIN);
    assert!(dispatches(&actions).is_empty());
    assert!(!actions.iter().any(|a| matches!(a, Action::Planned { .. })));
    h.reconciler
        .handle(op(OperatorAction::Resume {
            rollout: "a@1".into(),
        }))
        .expect("resume");
    assert_eq!(dispatches(&h.tick(T0 + 2 * MIN)), ["a2"]);
    h.reconciler
        .handle(op(OperatorAction::Cancel {
            rollout: "a@1".into(),
        }))
        .expect("cancel");
    h.confirm("a2", T0 + 2 * MIN + 5);
    assert!(dispatches(&h.tick(T0 + 3 * MIN)).is_empty());
    let err = h
        .reconciler
        .handle(op(OperatorAction::Resume {
            rollout: "a@1".into(),
        }))
        .expect_err("a cancelled rollout stays cancelled");
    assert!(matches!(
        err,
        ReconcileError::Operator(OperatorError::NotApplicable {
            state: RolloutState::Cancelled,
            ..
        })
    ));
}

#[test]
fn lifecycle_the_state_persists_and_a_restored_reconciler_decides_the_same() {
    let fleet = three_hosts(TestChannel::new("a"))
        .budget(json!({"selector": {"all": true}, "maxInFlight": 2}));
    let mut h = Harness::new(4 * 3600);
    start(&mut h, &fleet);
    h.tick(T0);
    h.confirm("a1", T0 + 10);
    let stored = json_of(h.reconciler.state());
    let state: State = serde_json::from_str(&stored).expect("the stored state reads back");
    let policies: PolicySet = policies(&fleet.document("r1"));
    let mut restored = Reconciler::restore(ReconcilerConfig::default(), state, policies);
    let next = Event::Tick { now: T0 + MIN };
    let a = h.reconciler.handle(next.clone()).expect("tick");
    let b = restored.handle(next).expect("tick");
    assert_eq!(a, b);
    assert_eq!(json_of(h.reconciler.state()), json_of(restored.state()));
}

#[test]
fn failures_belong_to_their_rollout_a_host_failed_by_r1_does_not_halt_r2() {
    let fleet = TestFleet::default()
        .host("a1", "a", &[])
        .host("a2", "a", &[])
        .channel(TestChannel::new("a"));
    let mut h = Harness::new(4 * 3600);
    start(&mut h, &fleet);
    assert_eq!(dispatches(&h.tick(T0)), ["a1", "a2"]);
    h.fail("a1", T0 + 10, true);
    h.confirm("a2", T0 + 10);
    h.tick(T0 + MIN);
    assert_eq!(h.state_of("a@1"), RolloutState::Halted);
    assert_eq!(h.phase("a1"), HostPhase::Reverted);
    // r2 ships a fixed closure: a1's failure was r1's.
    h.release(T0 + 2 * MIN, &fleet.document("r2"), 2);
    h.check_in(T0 + 2 * MIN, &[]);
    let actions = h.tick(T0 + 2 * MIN);
    assert_eq!(h.state_of("a@2"), RolloutState::Running, "{actions:#?}");
    assert_eq!(dispatches(&actions), ["a1", "a2"]);
    assert_eq!(h.dispatched("a1"), closure("r2", "a1"));
    // a1's failure of r1's closure stays on record.
    let failed = &h.reconciler.state().hosts["a1"].failed_closures;
    assert_eq!(failed.len(), 1);
    assert_eq!(
        (failed[0].closure.as_str(), failed[0].rollout.as_str()),
        (closure("r1", "a1").as_str(), "a@1")
    );
}

#[test]
fn stall_a_host_edge_against_the_wave_order_halts_the_rollout_naming_the_edge() {
    // a1 is in the first wave but waits for a2, which is in the second: nothing moves.
    let channel = TestChannel::new("a").waves(vec![
        (json!({"hosts": ["a1"]}), 0),
        (json!({"channel": "a"}), 0),
    ]);
    let fleet = TestFleet::default()
        .host("a1", "a", &[])
        .host("a2", "a", &[])
        .channel(channel)
        .edge("a2", "a1");
    let mut h = Harness::new(30 * MIN);
    start(&mut h, &fleet);
    let mut halted = None;
    for i in 0..10 {
        let now = T0 + i * 5 * MIN;
        h.check_in(now, &[]);
        let actions = h.tick(now);
        assert!(dispatches(&actions).is_empty());
        if let Some(reason) = actions.iter().find_map(|a| match a {
            Action::Rollout {
                to: RolloutState::Halted,
                reason,
                ..
            } => Some(reason.clone()),
            _ => None,
        }) {
            halted = Some((now - T0, reason));
            break;
        }
    }
    let (after, reason) = halted.expect("the rollout halts");
    assert_eq!(
        after,
        30 * MIN,
        "it halts when the stall limit is reached (≥)"
    );
    assert!(
        reason.contains("a1: waits for host a2 to converge"),
        "{reason}"
    );
    assert_eq!(h.state_of("a@1"), RolloutState::Halted);
}

#[test]
fn rollback_and_halt_reverts_only_the_hosts_that_report_their_rollback() {
    let fleet = three_hosts(TestChannel::new("a").on_failure("rollback-and-halt"));
    let mut h = Harness::new(4 * 3600);
    start(&mut h, &fleet);
    assert_eq!(dispatches(&h.tick(T0)), ["a1", "a2", "a3"]);
    h.confirm("a1", T0 + 10);
    h.fail("a2", T0 + 10, true);
    // a3 never answers: it stays dispatched.
    let actions = h.tick(T0 + MIN);
    let asked: Vec<&str> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Rollback { host, .. } => Some(host.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(asked, ["a1", "a3"], "a2 has rolled back already");
    assert_eq!(h.state_of("a@1"), RolloutState::RollingBack);
    assert_eq!(
        h.phase("a1"),
        HostPhase::Soaked,
        "healthy for the wave's soak of 0"
    );
    assert_eq!(h.phase("a2"), HostPhase::Reverted);
    assert_eq!(h.phase("a3"), HostPhase::Dispatched, "no report, no revert");
    let previous = closure("r0", "a1");
    h.report(
        "a1",
        T0 + 2 * MIN,
        AgentReport::RolledBack {
            running: Some(previous),
        },
    )
    .expect("a1 rolls back");
    assert_eq!(h.phase("a1"), HostPhase::Reverted);
    assert_eq!(
        h.state_of("a@1"),
        RolloutState::RollingBack,
        "a3 has not answered"
    );
    h.report(
        "a3",
        T0 + 3 * MIN,
        AgentReport::RolledBack {
            running: Some(closure("r0", "a3")),
        },
    )
    .expect("a3 rolls back");
    assert_eq!(h.state_of("a@1"), RolloutState::Halted);
}

#[test]
fn skipped_hosts_are_named_in_the_outcome_and_caught_up_under_the_gates_when_they_return() {
    let channel = TestChannel::new("a").extra(json!({"skipOfflineAfterMinutes": 10}));
    let fleet = three_hosts(channel).budget(json!({"selector": {"all": true}, "maxInFlight": 1}));
    let mut h = Harness::new(4 * 3600);
    // Every host checked in once, long before the release; a3 then went silent.
    h.release(T0, &fleet.document("r0"), 1);
    h.all_run(|n| closure("r0", n));
    h.check_in(T0, &[]);
    let t1 = T0 + 2 * 3600;
    h.release(t1, &fleet.document("r1"), 2);
    let mut dispatched = Vec::new();
    for i in 0..10 {
        let now = t1 + i * MIN;
        h.check_in(now, &["a3"]);
        dispatched.extend(dispatches(&h.tick(now)));
        h.confirm_all(now + 1, &[]);
    }
    assert_eq!(dispatched, ["a1", "a2"]);
    let rollout = h.reconciler.state().rollout("a@2").expect("a@2");
    assert_eq!(rollout.state, RolloutState::Converged);
    let outcome = rollout.outcome.as_ref().expect("an outcome");
    assert_eq!(outcome.skipped, ["a3"]);
    assert!(
        outcome
            .reason
            .contains("1 host(s) skipped, not on the target: a3"),
        "{}",
        outcome.reason
    );
    // a3 comes back: it gets its closure, through the channel's gates.
    let back = t1 + 20 * MIN;
    h.check_in(back, &[]);
    let actions = h.tick(back);
    assert_eq!(dispatches(&actions), ["a3"]);
    let gates: Vec<&str> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Receipt { receipt, .. } => Some(receipt.policy.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(gates, ["channel-edges", "host-edges", "disruption-budget"]);
    h.confirm("a3", back + 5);
    h.tick(back + MIN);
    let outcome = h
        .reconciler
        .state()
        .rollout("a@2")
        .and_then(|r| r.outcome.clone())
        .expect("outcome");
    assert!(outcome.skipped.is_empty());
    assert_eq!(h.phase("a3"), HostPhase::Converged);
}

#[test]
fn skipped_catch_up_waits_for_a_full_budget() {
    let channel = TestChannel::new("a").extra(json!({"skipOfflineAfterMinutes": 10}));
    let fleet = three_hosts(channel)
        .host("b1", "b", &[])
        .channel(TestChannel::new("b"))
        .budget(json!({"selector": {"all": true}, "maxInFlight": 1}));
    let mut h = Harness::new(4 * 3600);
    h.release(T0, &fleet.document("r0"), 1);
    h.all_run(|n| closure("r0", n));
    h.check_in(T0, &[]);
    let t1 = T0 + 2 * 3600;
    // Only channel a changes in v2; b's rollout is v3, released once a has converged.
    h.release(
        t1,
        &fleet.document_with(|n| if n.starts_with('a') { "r1" } else { "r0" }.into()),
        2,
    );
    for i in 0..10 {
        let now = t1 + i * MIN;
        h.check_in(now, &["a3"]);
        h.tick(now);
        h.confirm_all(now + 1, &[]);
    }
    assert_eq!(h.state_of("a@2"), RolloutState::Converged);
    // b1 is dispatched (v3 changes channel b) while a3 is still away: the budget is full.
    h.release(t1 + 11 * MIN, &fleet.document("r1"), 3);
    let now = t1 + 12 * MIN;
    h.check_in(now, &["a3"]);
    assert_eq!(dispatches(&h.tick(now)), ["b1"]);
    // a3 comes back: its catch-up is refused by the budget while b1 is in flight...
    let now = now + MIN;
    h.check_in(now, &[]);
    let actions = h.tick(now);
    assert!(dispatches(&actions).is_empty());
    assert!(actions.iter().any(|a| matches!(a,
        Action::Refused { rollout, gate, hosts, .. }
            if rollout == "a@2" && gate == "disruption-budget" && hosts == &["a3".to_owned()])));
    // ...and dispatched once b1 is through.
    h.confirm("b1", now + 5);
    let actions = h.tick(now + MIN);
    assert_eq!(dispatches(&actions), ["a3"]);
}

#[test]
fn deadlines_a_confirm_at_its_deadline_is_refused_and_changes_nothing() {
    let fleet = three_hosts(TestChannel::new("a").timeout(15));
    let mut h = Harness::new(4 * 3600);
    start(&mut h, &fleet);
    let actions = h.tick(T0);
    let deadline = actions
        .iter()
        .find_map(|a| match a {
            Action::Dispatch {
                host,
                confirm_deadline,
                ..
            } if host == "a1" => Some(*confirm_deadline),
            _ => None,
        })
        .expect("a1 dispatched");
    assert_eq!(deadline, T0 + 15 * MIN);
    let closure = h.dispatched("a1");
    h.report(
        "a1",
        T0 + 1,
        AgentReport::Activated {
            closure: closure.clone(),
        },
    )
    .expect("activated");
    let before = json_of(h.reconciler.state());
    let err = h
        .report(
            "a1",
            deadline,
            AgentReport::Confirmed {
                closure: closure.clone(),
            },
        )
        .expect_err("at the deadline is too late");
    assert!(
        matches!(
            err,
            ReconcileError::Agent(AgentError::ConfirmTooLate { .. })
        ),
        "{err}"
    );
    assert_eq!(json_of(h.reconciler.state()), before);
    h.report("a1", deadline - 1, AgentReport::Confirmed { closure })
        .expect("one second before is in time");
    assert_eq!(h.phase("a1"), HostPhase::Healthy);
}

#[test]
fn hostile_events_are_refused_with_a_typed_error_and_change_nothing() {
    let fleet = three_hosts(TestChannel::new("a"));
    let mut h = Harness::new(4 * 3600);
    start(&mut h, &fleet);
    h.tick(T0);
    let dispatched = h.dispatched("a1");
    let doc = fleet.document("r9");
    let cases: Vec<(Event, Expected)> = vec![
        (
            Event::Report {
                host: "nope".into(),
                at: T0,
                report: AgentReport::Activating {
                    closure: dispatched.clone(),
                },
            },
            |e| matches!(e, ReconcileError::Agent(AgentError::UnknownHost { .. })),
        ),
        (
            Event::CheckIn {
                host: "a1".into(),
                at: u64::MAX,
                current_closure: None,
            },
            |e| matches!(e, ReconcileError::TimeOutOfRange { .. }),
        ),
        (Event::Tick { now: 1 << 53 }, |e| {
            matches!(e, ReconcileError::TimeOutOfRange { .. })
        }),
        (
            Event::CheckIn {
                host: "../etc".into(),
                at: T0,
                current_closure: None,
            },
            |e| matches!(e, ReconcileError::Agent(AgentError::UnknownHost { .. })),
        ),
        (
            Event::Report {
                host: "a1".into(),
                at: T0,
                report: AgentReport::Confirmed {
                    closure: closure("evil", "a1"),
                },
            },
            |e| matches!(e, ReconcileError::Agent(AgentError::WrongClosure { .. })),
        ),
        (
            Event::Release {
                at: T0,
                fleet: DesiredFleet::from_document(&doc, 1).expect("desired"),
                policies: policies(&doc),
            },
            |e| {
                matches!(
                    e,
                    ReconcileError::Release(ReleaseError::NotNewer {
                        version: 1,
                        current: 1
                    })
                )
            },
        ),
        (
            Event::Release {
                at: T0,
                fleet: DesiredFleet::from_document(&doc, 7).expect("desired"),
                policies: PolicySet::new(),
            },
            |e| {
                matches!(
                    e,
                    ReconcileError::Release(ReleaseError::MissingPolicies { .. })
                )
            },
        ),
        (
            Event::Operator {
                at: T0,
                action: OperatorAction::Pause {
                    rollout: "a@9".into(),
                },
            },
            |e| {
                matches!(
                    e,
                    ReconcileError::Operator(OperatorError::UnknownRollout { .. })
                )
            },
        ),
        (
            Event::Operator {
                at: T0,
                action: OperatorAction::ClearQuarantine {
                    host: "a1".into(),
                    closure: dispatched.clone(),
                },
            },
            |e| {
                matches!(
                    e,
                    ReconcileError::Operator(OperatorError::NotQuarantined { .. })
                )
            },
        ),
    ];
    for (i, (event, expected)) in cases.into_iter().enumerate() {
        let before = json_of(h.reconciler.state());
        let err = h.reconciler.handle(event).expect_err("refused");
        assert!(expected(&err), "case {i}: {err}");
        assert_eq!(
            json_of(h.reconciler.state()),
            before,
            "case {i} changed the state"
        );
    }
    // A report that does not follow the host's phase: a2 confirmed, then "activating".
    let closure = h.dispatched("a2");
    h.report(
        "a2",
        T0,
        AgentReport::Confirmed {
            closure: closure.clone(),
        },
    )
    .expect("a confirm in time");
    let before = json_of(h.reconciler.state());
    let err = h
        .report("a2", T0, AgentReport::Activating { closure })
        .expect_err("activating after confirmed");
    assert!(
        matches!(
            err,
            ReconcileError::Agent(AgentError::UnexpectedReport { .. })
        ),
        "{err}"
    );
    assert_eq!(json_of(h.reconciler.state()), before);
}
