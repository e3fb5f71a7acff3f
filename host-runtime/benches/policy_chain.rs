//! The rollout + gate chain over a 10,000-host fleet, in wasmtime and natively.
//!
//! Prints: cold (compile) and warm (compiled cache) load times of the four components; the
//! time of one reconciler tick — building the tick's snapshot (columnar encoding and its
//! sha256), then each policy call (fresh pooled instance, lowering the snapshot, lifting,
//! validating the decision, receipt), gates chained by host-id as a reconciler chains them
//! and the admitted hosts named at the end — step by step and in total; the ratio to the
//! same policy logic compiled natively (the policies' rlib crates, same SDK entry points,
//! configuration parsed on every call in both, chained by host-id too, starting from a
//! ready SDK snapshot); and the same tick through the by-name entry points, every step
//! named.
//!
//! Run: `cargo bench -p convoy-host-runtime --bench policy_chain` (the workspace target dir:
//! `target-policy` belongs to the separate policies workspace, and sharing it mixes the two).
//! (set `CONVOY_POLICY_COMPONENTS=DIR` to use components built by `policies/build.sh`
//! elsewhere; by default `policies/out`, built first if missing).

use std::path::Path;
use std::time::{Duration, Instant};

use convoy_host_runtime::rollout::{RolloutInput, Step};
use convoy_host_runtime::types::{Host, HostPhase, Rollout, RolloutState};
use convoy_host_runtime::{EngineOptions, Policy, PolicyEngine, PolicyKind, PolicySpec, Snapshot};
use convoy_proto::Sha256Digest;

const HOSTS: usize = 10_000;
/// Measured ticks; `CONVOY_BENCH_RUNS` overrides (e.g. a long run under `perf record`).
fn runs() -> usize {
    std::env::var("CONVOY_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15)
}

const WAVES: &str = r#"{"onHealthFailure":"halt","strategy":"canary","waves":[{"name":"canary","selector":{"tags":["canary"]},"soakMinutes":30},{"name":"rest","selector":{"all":true},"soakMinutes":0}]}"#;
const CHANNEL_EDGES: &str = r#"{"edges":[{"after":"prod","before":"staging"}]}"#;
const HOST_EDGES: &str =
    r#"{"edges":[{"after":"db-0001","before":"db-0000"},{"after":"db-0002","before":"db-0001"}]}"#;
const BUDGET: &str = r#"{"budgets":[{"maxInFlightPct":10,"name":"fleet","selector":{"all":true}},{"maxInFlight":50,"name":"db","selector":{"tags":["db"]}}]}"#;

fn main() {
    let runs = runs();
    let dir = convoy_test_support::builtin_components().expect("built-in components");
    let chain = [
        ("waves", PolicyKind::Rollout),
        ("channel-edges", PolicyKind::Gate),
        ("host-edges", PolicyKind::Gate),
        ("disruption-budget", PolicyKind::Gate),
    ];
    let components: Vec<(PolicySpec, Vec<u8>)> = chain
        .iter()
        .map(|(name, kind)| {
            let bytes = std::fs::read(dir.join(format!("{name}.wasm"))).expect("component");
            let spec = PolicySpec {
                name: (*name).to_owned(),
                kind: *kind,
                sha256: Sha256Digest::of(&bytes),
            };
            (spec, bytes)
        })
        .collect();

    // Load times: cold compiles into an empty cache, warm reads the cache in a new engine.
    let cache = std::env::temp_dir().join(format!("convoy-bench-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);
    let engine = |c: &Path| {
        PolicyEngine::new(EngineOptions {
            cache_dir: Some(c.to_owned()),
            ..EngineOptions::default()
        })
        .expect("engine")
    };
    let cold_engine = engine(&cache);
    let started = Instant::now();
    for (spec, bytes) in &components {
        let (_, stats) = cold_engine.load(spec, bytes).expect("load");
        assert!(stats.compiled);
    }
    let cold = started.elapsed();
    let warm_engine = engine(&cache);
    let started = Instant::now();
    let policies: Vec<Policy> = components
        .iter()
        .map(|(spec, bytes)| {
            let (p, stats) = warm_engine.load(spec, bytes).expect("load");
            assert!(!stats.compiled);
            p
        })
        .collect();
    let warm = started.elapsed();

    let (rollout_input, active) = fleet();
    let (now, rollout) = (rollout_input.now, &rollout_input.rollout);
    let waves = &policies[0];
    let gates = &policies[1..];
    let gate_configs = [CHANNEL_EDGES, HOST_EDGES, BUDGET];

    // One reconciler tick in wasm: build the tick's snapshot (columnar encoding + its
    // sha256, once), plan, then each gate on the survivors of the previous one, by host-id
    // as a reconciler chains them; then name the hosts to dispatch. Every call
    // instantiates afresh, lowers the snapshot, lifts, validates and writes its receipt.
    // Slot 0 is the snapshot, slots 1-4 the four calls (the last one's naming included).
    let fuel = std::cell::RefCell::new([0u64; 4]);
    let run_wasm = |timings: &mut [Duration; 5]| {
        let t = Instant::now();
        let snapshot = Snapshot::new(&rollout_input.hosts, active.clone()).expect("snapshot");
        timings[0] += t.elapsed();
        let t = Instant::now();
        let plan = waves
            .call()
            .plan(WAVES, now, rollout, &snapshot)
            .expect("plan");
        timings[1] += t.elapsed();
        fuel.borrow_mut()[0] = plan.receipt.fuel_used;
        let plan = plan.output;
        assert!(
            matches!(plan.step, Step::Hold(_) | Step::Promote(_)),
            "{:?}",
            plan.step
        );
        let mut candidates: Vec<u32> = plan.candidates.iter().map(|c| c.host).collect();
        for (i, (gate, cfg)) in gates.iter().zip(gate_configs).enumerate() {
            let t = Instant::now();
            let verdict = gate
                .call()
                .admit(cfg, now, &candidates, &snapshot)
                .expect("admit");
            candidates = verdict.output.admitted;
            if i == gates.len() - 1 {
                let dispatch: Vec<&str> = candidates
                    .iter()
                    .filter_map(|&id| snapshot.name(id))
                    .collect();
                std::hint::black_box(dispatch);
            }
            timings[i + 2] += t.elapsed();
            fuel.borrow_mut()[i + 1] = verdict.receipt.fuel_used;
        }
        candidates.len()
    };

    // The same tick through the by-name entry points (fixtures, `convoy policy eval`):
    // every plan and verdict named, every gate's candidates resolved by name.
    let run_named = |total: &mut Duration| {
        let t = Instant::now();
        let snapshot = Snapshot::new(&rollout_input.hosts, active.clone()).expect("snapshot");
        let plan = waves
            .call()
            .plan(WAVES, now, rollout, &snapshot)
            .expect("plan");
        let plan = snapshot.name_plan(&plan.output);
        let mut candidates: Vec<String> = plan.candidates.into_iter().map(|c| c.host).collect();
        for (gate, cfg) in gates.iter().zip(gate_configs) {
            let named = snapshot.candidates(&candidates);
            let verdict = gate
                .call()
                .admit(cfg, now, named.ids(), &snapshot)
                .expect("admit");
            let verdict = named.name_verdict(&snapshot, &verdict.output);
            candidates = verdict.admitted;
        }
        *total += t.elapsed();
        candidates.len()
    };

    // The same chain natively: the same crates through the same SDK entry points, on
    // inputs already in the SDK's types (its snapshot built once, outside the timing).
    let native_snapshot = convoy_policy_sdk::Snapshot::new(
        serde_json::from_value(serde_json::to_value(&rollout_input.hosts).expect("json"))
            .expect("sdk hosts"),
        serde_json::from_value(serde_json::to_value(&active).expect("json")).expect("sdk"),
    );
    let native_rollout: convoy_policy_sdk::Rollout =
        serde_json::from_value(serde_json::to_value(rollout).expect("json")).expect("sdk");
    let run_native = |timings: &mut [Duration; 5]| {
        use convoy_policy_sdk::{GateInput, RolloutInput, eval};
        let input = RolloutInput {
            now,
            rollout: native_rollout.clone(),
            snapshot: native_snapshot.clone(),
        };
        let t = Instant::now();
        let plan = eval::plan::<convoy_policy_waves::Waves>(WAVES, &input);
        timings[1] += t.elapsed();
        let mut candidates: Vec<_> = plan.candidates.into_iter().map(|c| c.host).collect();
        for (i, cfg) in gate_configs.iter().enumerate() {
            let input = GateInput {
                now,
                candidates,
                snapshot: native_snapshot.clone(),
            };
            let t = Instant::now();
            let verdict = match i {
                0 => eval::admit::<convoy_policy_channel_edges::ChannelEdges>(cfg, &input),
                1 => eval::admit::<convoy_policy_host_edges::HostEdges>(cfg, &input),
                _ => eval::admit::<convoy_policy_disruption_budget::DisruptionBudget>(cfg, &input),
            };
            candidates = verdict.admitted;
            if i == gate_configs.len() - 1 {
                let dispatch: Vec<&str> = candidates
                    .iter()
                    .filter_map(|&id| native_snapshot.name(id))
                    .collect();
                std::hint::black_box(dispatch);
            }
            timings[i + 2] += t.elapsed();
        }
        candidates.len()
    };

    // Warm up, check both agree, then measure.
    let (mut w, mut n) = ([Duration::ZERO; 5], [Duration::ZERO; 5]);
    let admitted_wasm = run_wasm(&mut w);
    let admitted_native = run_native(&mut n);
    assert_eq!(
        admitted_wasm, admitted_native,
        "wasm and native chains disagree"
    );
    let mut warmup = Duration::ZERO;
    assert_eq!(run_named(&mut warmup), admitted_native);
    let (mut w, mut n, mut named) = ([Duration::ZERO; 5], [Duration::ZERO; 5], Duration::ZERO);
    for _ in 0..runs {
        run_wasm(&mut w);
        run_native(&mut n);
        run_named(&mut named);
    }
    let snapshot = Snapshot::new(&rollout_input.hosts, active.clone()).expect("snapshot");
    let per = |d: Duration| d / runs as u32;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;

    println!(
        "policy chain benchmark: {HOSTS} hosts, one tick: snapshot -> waves -> channel-edges -> host-edges -> disruption-budget"
    );
    println!(
        "wasmtime {} ({} runs, mean per run)",
        convoy_host_runtime::WASMTIME_VERSION,
        runs
    );
    println!(
        "load, 4 components: cold (compile) {:.1} ms, warm (cached) {:.1} ms",
        ms(cold),
        ms(warm)
    );
    println!(
        "{:<20} {:>10} {:>10} {:>7}",
        "step", "wasm ms", "native ms", "ratio"
    );
    let row = |name: &str, w: Duration, n: Duration| {
        if n.is_zero() {
            println!("{:<20} {:>10.2} {:>10} {:>7}", name, ms(per(w)), "-", "-");
        } else {
            println!(
                "{:<20} {:>10.2} {:>10.2} {:>7.2}",
                name,
                ms(per(w)),
                ms(per(n)),
                w.as_secs_f64() / n.as_secs_f64()
            );
        }
    };
    row("snapshot", w[0], n[0]);
    for (i, (name, _)) in chain.iter().enumerate() {
        row(name, w[i + 1], n[i + 1]);
    }
    row("tick (chain)", w.iter().sum(), n.iter().sum());
    println!("snapshot = sorting check, columnar encoding, name index and sha256, once per tick");
    println!(
        "ratio = wasm / native (the native chain starts from a ready SDK snapshot; both chain by host-id and name the admitted hosts)"
    );
    let tick_named = per(named).as_secs_f64() / per(n.iter().sum()).as_secs_f64();
    println!(
        "tick through the by-name entry points (every step named): {:.2} ms, {:.2}x native",
        ms(per(named)),
        tick_named
    );
    let fuel = fuel.borrow();
    println!(
        "fuel per call: waves {}, channel-edges {}, host-edges {}, disruption-budget {}",
        fuel[0], fuel[1], fuel[2], fuel[3]
    );
    println!("admitted after the chain: {admitted_wasm} hosts");

    // The runtime's own floor: a gate that returns its candidates untouched, so the time is
    // instantiation + lowering 10,000 hosts + lifting the verdict + receipt.
    // A gate written in WAT that admits its candidate list as is (`tests/hostile/good_gate.wat`).
    let floor_bytes = convoy_test_support::corpus::corpus_component("good_gate.wat");
    let floor_spec = PolicySpec {
        name: "floor".into(),
        kind: PolicyKind::Gate,
        sha256: Sha256Digest::of(&floor_bytes),
    };
    let (floor, _) = warm_engine
        .load(&floor_spec, &floor_bytes)
        .expect("floor gate");
    let candidates: Vec<String> = rollout_input.hosts.iter().map(|h| h.name.clone()).collect();
    let validate = Instant::now();
    for _ in 0..runs {
        std::hint::black_box(floor.call().validate_config("{}").expect("validate"));
    }
    let validate = validate.elapsed();
    let floor_admit = || {
        let named = snapshot.candidates(&candidates);
        let eval = floor
            .call()
            .admit("{}", now, named.ids(), &snapshot)
            .expect("admit");
        eval.map(|out| named.name_verdict(&snapshot, &out))
    };
    let t = Instant::now();
    for _ in 0..runs {
        std::hint::black_box(floor_admit());
    }
    let floor_time = t.elapsed();
    let floor_fuel = floor_admit().receipt.fuel_used;
    println!(
        "runtime floor: empty call (fresh instance) {:.3} ms; identity gate over a {HOSTS}-host snapshot and {HOSTS} candidates {:.2} ms (receipt included), fuel {}",
        ms(per(validate)),
        ms(per(floor_time)),
        floor_fuel
    );
    let _ = std::fs::remove_dir_all(&cache);
}

/// 10,000 hosts on `prod`: 100 canaries already soaked, 20 db hosts, the rest web and idle;
/// the rollout is on its second wave.
fn fleet() -> (RolloutInput, Vec<Rollout>) {
    let now = 1_700_010_000;
    let hosts: Vec<Host> = (0..HOSTS)
        .map(|i| {
            let (name, tag) = if i < 100 {
                (format!("canary-{i:04}"), "canary")
            } else if i < 120 {
                (format!("db-{:04}", i - 100), "db")
            } else {
                (format!("web-{i:05}"), "web")
            };
            let canary = tag == "canary";
            Host {
                name,
                channel: "prod".into(),
                tags: vec![tag.into()],
                current_closure: Some(
                    if canary {
                        "/nix/store/new-system"
                    } else {
                        "/nix/store/old-system"
                    }
                    .into(),
                ),
                target_closure: Some("/nix/store/new-system".into()),
                phase: if canary {
                    HostPhase::Soaked
                } else {
                    HostPhase::Idle
                },
                phase_since: 1_700_000_000,
                last_seen: Some(now - 30),
                rollout: canary.then(|| "r-prod-7".into()),
            }
        })
        .collect();
    let mut hosts = hosts;
    hosts.sort_by(|a, b| a.name.cmp(&b.name));
    let rollout = Rollout {
        id: "r-prod-7".into(),
        channel: "prod".into(),
        target_version: 7,
        current_wave: 1,
        started_at: 1_700_000_000,
        wave_started_at: 1_700_009_000,
        state: RolloutState::Running,
    };
    (
        RolloutInput {
            now,
            rollout: rollout.clone(),
            hosts,
            active: vec![rollout.clone()],
        },
        vec![rollout],
    )
}
