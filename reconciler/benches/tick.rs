//! One reconciler tick of a 10,000-host fleet through the full chain (waves →
//! channel-edges → host-edges → disruption-budget), in wasmtime through the
//! [`Reconciler`], against the same policy logic compiled natively.
//!
//! The wasm side is everything `Reconciler::handle(Event::Tick)` does: the copy of the
//! state that keeps a failed tick from being half-applied, the soak marks, the snapshot
//! (columnar encoding and sha256), the four policy calls with their receipts, and the
//! dispatch bookkeeping of the admitted hosts. The native side is the four calls of the
//! same crates through the same SDK entry points, from a ready SDK snapshot.
//!
//! Run: `cargo bench -p convoy-reconciler --bench tick` (`CONVOY_POLICY_COMPONENTS=DIR`
//! for components built elsewhere; `CONVOY_BENCH_RUNS` for the number of runs).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use convoy_host_runtime::types::HostPhase;
use convoy_host_runtime::{PolicyEngine, PolicyKind};
use convoy_proto::Sha256Digest;
use convoy_reconciler::{
    ComponentSource, Configured, DesiredChannel, DesiredFleet, DesiredHost, Event, HostRecord,
    PolicyChain, PolicySet, Reconciler, ReconcilerConfig, RolloutRecord, RolloutState, State,
};

const HOSTS: usize = 10_000;
const NOW: u64 = 1_700_010_000;
const WAVES: &str = r#"{"onHealthFailure":"halt","strategy":"canary","waves":[{"name":"canary","selector":{"tags":["canary"]},"soakMinutes":30},{"name":"rest","selector":{"all":true},"soakMinutes":0}]}"#;
const CHANNEL_EDGES: &str = r#"{"edges":[{"after":"prod","before":"staging"}]}"#;
const HOST_EDGES: &str =
    r#"{"edges":[{"after":"db-0001","before":"db-0000"},{"after":"db-0002","before":"db-0001"}]}"#;
const BUDGET: &str = r#"{"budgets":[{"maxInFlightPct":10,"name":"fleet","selector":{"all":true}},{"maxInFlight":50,"name":"db","selector":{"tags":["db"]}}]}"#;

fn runs() -> usize {
    std::env::var("CONVOY_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15)
}

fn components() -> PathBuf {
    convoy_test_support::builtin_components().expect("the built-in policy components")
}

/// 10,000 hosts on `prod`: 100 canaries soaked on the target, 20 db hosts, the rest web
/// and idle on the old closure; the rollout is on its second wave.
fn state() -> State {
    let mut hosts = BTreeMap::new();
    for i in 0..HOSTS {
        let (name, tag) = if i < 100 {
            (format!("canary-{i:04}"), "canary")
        } else if i < 120 {
            (format!("db-{:04}", i - 100), "db")
        } else {
            (format!("web-{i:05}"), "web")
        };
        let canary = tag == "canary";
        let closure = if canary { "new" } else { "old" };
        hosts.insert(
            name,
            HostRecord {
                channel: "prod".into(),
                tags: vec![tag.into()],
                target: Some("/nix/store/new-system".into()),
                current_closure: Some(format!("/nix/store/{closure}-system")),
                phase: if canary {
                    HostPhase::Soaked
                } else {
                    HostPhase::Idle
                },
                phase_since: 1_700_000_000,
                last_seen: Some(NOW - 30),
                rollout: canary.then(|| "prod@7".into()),
                dispatch: None,
                failed_closures: Vec::new(),
            },
        );
    }
    let desired = DesiredFleet {
        version: 7,
        hosts: hosts
            .iter()
            .map(|(n, h)| {
                let host = DesiredHost {
                    channel: h.channel.clone(),
                    tags: h.tags.clone(),
                    target: h.target.clone(),
                };
                (n.clone(), host)
            })
            .collect(),
        channels: BTreeMap::from([(
            "prod".to_owned(),
            DesiredChannel {
                confirm_window_seconds: 900,
                soak_seconds: vec![1800, 0],
                fingerprint: Sha256Digest::of(b"prod"),
            },
        )]),
    };
    State {
        desired: Some(desired),
        hosts,
        rollouts: vec![RolloutRecord {
            id: "prod@7".into(),
            channel: "prod".into(),
            version: 7,
            fingerprint: Sha256Digest::of(b"prod"),
            state: RolloutState::Running,
            state_since: 1_700_000_000,
            current_wave: 1,
            started_at: 1_700_000_000,
            wave_started_at: 1_700_009_000,
            last_progress_at: 1_700_009_000,
            last_step: None,
            last_refusals: Vec::new(),
            rollback_pending: Default::default(),
            outcome: None,
        }],
        last_tick: None,
    }
}

fn main() {
    let runs = runs();
    let engine = PolicyEngine::new(Default::default()).expect("engine");
    let source = ComponentSource::Dir(components());
    let load = |name: &str, kind: PolicyKind, config: &str| Configured {
        policy: source.load(&engine, name, kind, None).expect("component"),
        config: config.to_owned(),
    };
    let chain = PolicyChain {
        rollout: load("waves", PolicyKind::Rollout, WAVES),
        gates: vec![
            load("channel-edges", PolicyKind::Gate, CHANNEL_EDGES),
            load("host-edges", PolicyKind::Gate, HOST_EDGES),
            load("disruption-budget", PolicyKind::Gate, BUDGET),
        ],
        health: None,
        waves: Some(2),
    };
    let policies: PolicySet = BTreeMap::from([("prod".to_owned(), Arc::new(chain))]);
    let state = state();

    let run_wasm = |total: &mut Duration| {
        let mut r =
            Reconciler::restore(ReconcilerConfig::default(), state.clone(), policies.clone());
        let t = Instant::now();
        let actions = r.handle(Event::Tick { now: NOW }).expect("tick");
        *total += t.elapsed();
        actions
            .iter()
            .filter(|a| matches!(a, convoy_reconciler::Action::Dispatch { .. }))
            .count()
    };

    // The native chain, from a ready SDK snapshot of the same hosts.
    let hosts: Vec<_> = state.hosts.iter().map(|(n, h)| h.for_policies(n)).collect();
    let active: Vec<_> = state
        .rollouts
        .iter()
        .filter_map(RolloutRecord::for_policies)
        .collect();
    let snapshot = convoy_policy_sdk::Snapshot::new(
        serde_json::from_value(serde_json::to_value(&hosts).expect("json")).expect("sdk hosts"),
        serde_json::from_value(serde_json::to_value(&active).expect("json")).expect("sdk"),
    );
    let rollout: convoy_policy_sdk::Rollout =
        serde_json::from_value(serde_json::to_value(&active[0]).expect("json")).expect("sdk");
    let run_native = |total: &mut Duration| {
        use convoy_policy_sdk::{GateInput, RolloutInput, eval};
        let input = RolloutInput {
            now: NOW,
            rollout: rollout.clone(),
            snapshot: snapshot.clone(),
        };
        let t = Instant::now();
        let plan = eval::plan::<convoy_policy_waves::Waves>(WAVES, &input);
        let mut candidates: Vec<_> = plan.candidates.into_iter().map(|c| c.host).collect();
        for (i, cfg) in [CHANNEL_EDGES, HOST_EDGES, BUDGET].iter().enumerate() {
            let input = GateInput {
                now: NOW,
                candidates,
                snapshot: snapshot.clone(),
            };
            let verdict = match i {
                0 => eval::admit::<convoy_policy_channel_edges::ChannelEdges>(cfg, &input),
                1 => eval::admit::<convoy_policy_host_edges::HostEdges>(cfg, &input),
                _ => eval::admit::<convoy_policy_disruption_budget::DisruptionBudget>(cfg, &input),
            };
            candidates = verdict.admitted;
        }
        let named: Vec<&str> = candidates
            .iter()
            .filter_map(|&id| snapshot.name(id))
            .collect();
        *total += t.elapsed();
        named.len()
    };

    let (mut w, mut n) = (Duration::ZERO, Duration::ZERO);
    assert_eq!(
        run_wasm(&mut w),
        run_native(&mut n),
        "wasm and native disagree"
    );
    let (mut w, mut n) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..runs {
        run_wasm(&mut w);
        run_native(&mut n);
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3 / runs as f64;
    println!(
        "reconciler tick benchmark: {HOSTS} hosts, waves -> channel-edges -> host-edges -> disruption-budget ({runs} runs, mean)"
    );
    println!(
        "reconciler tick (wasm, everything handle(Tick) does): {:.2} ms",
        ms(w)
    );
    println!(
        "native chain (same logic, ready snapshot):            {:.2} ms",
        ms(n)
    );
    println!("ratio: {:.2}x", w.as_secs_f64() / n.as_secs_f64());
}
