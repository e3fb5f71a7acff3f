//! The rollout + gate chain over a 10,000-host fleet, in wasmtime and natively.
//!
//! Prints: cold (compile) and warm (compiled cache) load times of the four components; the
//! time per evaluation of each policy and of the whole chain (fresh instance per call,
//! marshalling of the 10,000 hosts in and the decision out included); the part of it that
//! is receipt hashing (RFC 8785 canonical JSON + sha256 of the input); and the ratio to
//! the same policy logic compiled natively (the policies' rlib crates, same SDK entry
//! points, configuration parsed on every call in both).
//!
//! Run: `CARGO_TARGET_DIR=target-policy cargo bench -p convoy-host-runtime --bench policy_chain`
//! (set `CONVOY_POLICY_COMPONENTS=DIR` to reuse components built by `policies/build.sh`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use convoy_host_runtime::gate::GateInput;
use convoy_host_runtime::rollout::{RolloutInput, Step};
use convoy_host_runtime::types::{Host, HostPhase, Rollout, RolloutState};
use convoy_host_runtime::{EngineOptions, Policy, PolicyEngine, PolicyKind, PolicySpec};
use convoy_proto::Sha256Digest;

const HOSTS: usize = 10_000;
const RUNS: usize = 15;

const WAVES: &str = r#"{"onHealthFailure":"halt","strategy":"canary","waves":[{"name":"canary","selector":{"tags":["canary"]},"soakMinutes":30},{"name":"rest","selector":{"all":true},"soakMinutes":0}]}"#;
const CHANNEL_EDGES: &str = r#"{"edges":[{"after":"prod","before":"staging"}]}"#;
const HOST_EDGES: &str =
    r#"{"edges":[{"after":"db-0001","before":"db-0000"},{"after":"db-0002","before":"db-0001"}]}"#;
const BUDGET: &str = r#"{"budgets":[{"maxInFlightPct":10,"name":"fleet","selector":{"all":true}},{"maxInFlight":50,"name":"db","selector":{"tags":["db"]}}]}"#;

fn main() {
    let dir = components();
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
    let _ = std::fs::remove_dir_all(&cache);

    let (rollout_input, active) = fleet();
    let waves = &policies[0];
    let gates = &policies[1..];
    let gate_configs = [CHANNEL_EDGES, HOST_EDGES, BUDGET];

    // One chain in wasm: plan, then each gate on the survivors of the previous one.
    let run_wasm = |timings: &mut [Duration; 4], receipts: &mut Duration| {
        let t = Instant::now();
        let plan = waves.plan(WAVES, &rollout_input).expect("plan").output;
        timings[0] += t.elapsed();
        assert!(
            matches!(plan.step, Step::Hold(_) | Step::Promote(_)),
            "{:?}",
            plan.step
        );
        let mut candidates: Vec<String> = plan.candidates.into_iter().map(|c| c.host).collect();
        for (i, (gate, cfg)) in gates.iter().zip(gate_configs).enumerate() {
            let input = GateInput {
                now: rollout_input.now,
                candidates,
                hosts: rollout_input.hosts.clone(),
                active: active.clone(),
            };
            let t = Instant::now();
            let verdict = gate.admit(cfg, &input).expect("admit").output;
            timings[i + 1] += t.elapsed();
            // What the receipt costs inside that time: canonical JSON + sha256 of the call.
            let t = Instant::now();
            let bytes = convoy_proto::json::canonical_bytes(&serde_json::json!({
                "function": "admit", "config": cfg, "input": &input
            }))
            .expect("canonical");
            std::hint::black_box(Sha256Digest::of(&bytes));
            *receipts += t.elapsed();
            candidates = verdict.admitted;
        }
        candidates.len()
    };

    // The same chain natively, on the SDK's types (converted once, outside the timing).
    let native_rollout: convoy_policy_sdk::RolloutInput =
        serde_json::from_value(serde_json::to_value(&rollout_input).expect("json")).expect("sdk");
    let native_active: Vec<convoy_policy_sdk::Rollout> =
        serde_json::from_value(serde_json::to_value(&active).expect("json")).expect("sdk");
    let run_native = |timings: &mut [Duration; 4]| {
        use convoy_policy_sdk::eval;
        let t = Instant::now();
        let plan = eval::plan::<convoy_policy_waves::Waves>(WAVES, &native_rollout);
        timings[0] += t.elapsed();
        let mut candidates: Vec<String> = plan.candidates.into_iter().map(|c| c.host).collect();
        for (i, cfg) in gate_configs.iter().enumerate() {
            let input = convoy_policy_sdk::GateInput {
                now: native_rollout.now,
                candidates,
                hosts: native_rollout.hosts.clone(),
                active: native_active.clone(),
            };
            let t = Instant::now();
            let verdict = match i {
                0 => eval::admit::<convoy_policy_channel_edges::ChannelEdges>(cfg, &input),
                1 => eval::admit::<convoy_policy_host_edges::HostEdges>(cfg, &input),
                _ => eval::admit::<convoy_policy_disruption_budget::DisruptionBudget>(cfg, &input),
            };
            timings[i + 1] += t.elapsed();
            candidates = verdict.admitted;
        }
        candidates.len()
    };

    // Warm up, check both agree, then measure.
    let (mut w, mut n, mut r) = ([Duration::ZERO; 4], [Duration::ZERO; 4], Duration::ZERO);
    let admitted_wasm = run_wasm(&mut w, &mut r);
    let admitted_native = run_native(&mut n);
    assert_eq!(
        admitted_wasm, admitted_native,
        "wasm and native chains disagree"
    );
    let (mut w, mut n, mut r) = ([Duration::ZERO; 4], [Duration::ZERO; 4], Duration::ZERO);
    for _ in 0..RUNS {
        run_wasm(&mut w, &mut r);
        run_native(&mut n);
    }
    let per = |d: Duration| d / RUNS as u32;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (wasm_total, native_total) = (w.iter().sum::<Duration>(), n.iter().sum::<Duration>());

    println!(
        "policy chain benchmark: {HOSTS} hosts, waves -> channel-edges -> host-edges -> disruption-budget"
    );
    println!(
        "wasmtime {} ({} runs, mean per run)",
        convoy_host_runtime::WASMTIME_VERSION,
        RUNS
    );
    println!(
        "load, 4 components: cold (compile) {:.1} ms, warm (cached) {:.1} ms",
        ms(cold),
        ms(warm)
    );
    println!(
        "{:<20} {:>12} {:>12} {:>8}",
        "policy", "wasm ms", "native ms", "ratio"
    );
    for (i, (name, _)) in chain.iter().enumerate() {
        println!(
            "{:<20} {:>12.2} {:>12.2} {:>8.2}",
            name,
            ms(per(w[i])),
            ms(per(n[i])),
            w[i].as_secs_f64() / n[i].as_secs_f64()
        );
    }
    println!(
        "{:<20} {:>12.2} {:>12.2} {:>8.2}",
        "chain",
        ms(per(wasm_total)),
        ms(per(native_total)),
        wasm_total.as_secs_f64() / native_total.as_secs_f64()
    );
    println!(
        "receipt hashing inside the wasm figures (gates): {:.2} ms; chain without it: {:.2} ms, ratio {:.2}",
        ms(per(r)),
        ms(per(wasm_total.saturating_sub(r))),
        wasm_total.saturating_sub(r).as_secs_f64() / native_total.as_secs_f64()
    );
    println!("admitted after the chain: {admitted_wasm} hosts");
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
        },
        vec![rollout],
    )
}

/// The built-in components: `$CONVOY_POLICY_COMPONENTS`, or built now with the guest tool.
fn components() -> PathBuf {
    if let Some(dir) = std::env::var_os("CONVOY_POLICY_COMPONENTS") {
        return PathBuf::from(dir);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::env::temp_dir().join(format!("convoy-bench-policies-{}", std::process::id()));
    let status =
        std::process::Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .args(["run", "-q", "--manifest-path"])
            .arg(root.join("policies/Cargo.toml"))
            .args(["-p", "convoy-policy-build", "--", "--out"])
            .arg(&out)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("run convoy-policy-build");
    assert!(status.success(), "building the built-in policies failed");
    out
}
