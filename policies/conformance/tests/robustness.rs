//! Random snapshots through every built-in: no panic, the ABI's output contracts hold, and
//! the same input gives the same output — for fleets as fixtures spell them, and for
//! malformed columnar snapshots such as a buggy host could send. A tiny xorshift generator
//! keeps the test deterministic and dependency-free.

use std::collections::BTreeSet;

use convoy_policy_build::BUILTINS;
use convoy_policy_conformance::{Fixture, config_string, evaluate};
use convoy_policy_sdk::{
    Columns, GateInput, GatePolicy, HostId, HostPhase, Rollout, RolloutInput, RolloutState,
    Snapshot, StrId, eval,
};
use serde_json::{Value, json};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const PHASES: &[&str] = &[
    "Idle",
    "Dispatched",
    "Activating",
    "ConfirmWindow",
    "Healthy",
    "Soaked",
    "Converged",
    "Failed",
    "Reverted",
    "Quarantined",
];
const NOW: u64 = 1_700_000_000;

fn time(rng: &mut Rng) -> u64 {
    match rng.below(10) {
        0 => 0,
        1 => u64::MAX,
        2 => NOW + rng.below(100_000), // in the future: clock skew
        _ => NOW - rng.below(200_000),
    }
}

fn opt<T: Into<Value>>(rng: &mut Rng, v: T) -> Value {
    if rng.below(5) == 0 {
        Value::Null
    } else {
        v.into()
    }
}

fn hosts(rng: &mut Rng, n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let tags: Vec<&str> = ["web", "db", "eu", "us", "canary"]
                .into_iter()
                .filter(|_| rng.below(2) == 0)
                .collect();
            let cur = *rng.pick(&["/nix/store/old", "/nix/store/new"]);
            let seen = time(rng);
            let last_seen = opt(rng, seen);
            json!({
                "name": format!("h{i:03}"),
                "channel": rng.pick(&["prod", "staging", "canary"]),
                "tags": tags,
                "current_closure": opt(rng, cur),
                "target_closure": opt(rng, "/nix/store/new"),
                "phase": rng.pick(PHASES),
                "phase_since": time(rng),
                "last_seen": last_seen,
                "rollout": opt(rng, "r1"),
            })
        })
        .collect()
}

fn rollout(rng: &mut Rng, channel: &str) -> Value {
    json!({
        "id": format!("r-{channel}"), "channel": channel, "target_version": 7,
        "current_wave": rng.below(4), "started_at": time(rng), "wave_started_at": time(rng),
        "state": rng.pick(&["Running", "Running", "Halted", "RollingBack", "Converged"]),
    })
}

fn input(rng: &mut Rng, kind: &str) -> Value {
    let n = 1 + rng.below(40) as usize;
    let hosts = hosts(rng, n);
    let name = |h: &Value| h["name"].clone();
    match kind {
        "rollout" => json!({ "now": NOW, "rollout": rollout(rng, "prod"), "hosts": hosts }),
        "gate" => {
            let mut candidates: Vec<Value> = hosts
                .iter()
                .filter(|_| rng.below(2) == 0)
                .map(name)
                .collect();
            candidates.push(json!("ghost"));
            if let Some(first) = candidates.first().cloned() {
                candidates.push(first); // a duplicate
            }
            json!({ "now": NOW, "candidates": candidates, "hosts": hosts,
                    "active": [rollout(rng, "prod"), rollout(rng, "staging")] })
        }
        "health" => {
            let results: Vec<Value> = (0..rng.below(20))
                .map(|_| {
                    json!({ "probe": rng.pick(&["api", "units", "db"]),
                    "kind": rng.pick(&["Http", "Tcp", "Exec", "SystemdFailedUnits"]),
                    "at": time(rng), "passed": rng.below(2) == 0, "detail": "d" })
                })
                .collect();
            let at = time(rng);
            let activated_at = opt(rng, at);
            json!({ "now": NOW, "host": hosts[0], "activated_at": activated_at, "results": results })
        }
        _ => {
            let history: Vec<Value> = (0..rng.below(15))
                .map(|_| json!({ "at": time(rng), "outcome": rng.pick(&["Good", "Drift", "Invalid"]), "detail": "d" }))
                .collect();
            json!({ "now": NOW, "host": hosts[0],
                    "standing": rng.pick(&["Trusted", "Warn", "Quarantine", "Expel"]), "history": history })
        }
    }
}

/// The configurations of the fixtures (valid and invalid), plus garbage.
fn configs(policy: &str) -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../policy-tests/fixtures")
        .join(policy);
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .expect("fixtures")
        .filter_map(|f| std::fs::read_to_string(f.ok()?.path()).ok())
        .filter_map(|t| serde_json::from_str::<Fixture>(&t).ok())
        .map(|f| config_string(&f.config))
        .collect();
    out.sort();
    out.extend([
        "".into(),
        "null".into(),
        "[]".into(),
        "{\"waves\":".into(),
        "{}".into(),
    ]);
    out
}

fn check_contract(kind: &str, input: &Value, out: &Value) -> Result<(), String> {
    match kind {
        "gate" => {
            let mut seen = std::collections::BTreeSet::new();
            let decided: Vec<&str> = out["admitted"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .chain(
                    out["refused"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|r| r["host"].as_str()),
                )
                .collect();
            for d in &decided {
                if !seen.insert(*d) {
                    return Err(format!("{d} decided twice"));
                }
            }
            let candidates: std::collections::BTreeSet<&str> = input["candidates"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            if seen != candidates {
                return Err("not every candidate decided exactly once".into());
            }
            if out["refused"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|r| r["reason"].as_str().unwrap_or("").is_empty())
            {
                return Err("refusal without reason".into());
            }
        }
        "rollout" => {
            let step = &out["step"];
            let candidates = out["candidates"].as_array().map_or(0, Vec::len);
            let stops = step == "Converge"
                || step.get("Halt").is_some()
                || step.get("RollbackAndHalt").is_some();
            if stops && candidates > 0 {
                return Err("candidates with a halt or converge".into());
            }
            if let Some(w) = step.get("Promote").and_then(Value::as_u64)
                && w <= input["rollout"]["current_wave"].as_u64().unwrap_or(0)
            {
                return Err("promotes backwards".into());
            }
            let hosts: std::collections::BTreeSet<&str> = input["hosts"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|h| h["name"].as_str())
                .collect();
            if out["candidates"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| !hosts.contains(c["host"].as_str().unwrap_or("")))
            {
                return Err("candidate that is not a host".into());
            }
        }
        "attestation" if input["standing"] == "Expel" && out["standing"] != "Expel" => {
            return Err("un-expelled a host".into());
        }
        _ => {}
    }
    if out.to_string().len() > 64 * 1024 {
        return Err("output larger than 64 KiB".into());
    }
    Ok(())
}

#[test]
fn random_inputs_never_panic_and_keep_the_contracts() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for builtin in BUILTINS {
        let (policy, kind) = (builtin.name, builtin.world);
        let configs = configs(policy);
        for round in 0..300 {
            let config = &configs[round % configs.len()];
            let input = input(&mut rng, kind);
            let out = evaluate(policy, config, Some(&input)).expect("the input matches the world");
            let again = evaluate(policy, config, Some(&input)).expect("same input");
            assert_eq!(out, again, "{policy}: not deterministic");
            if let Err(e) = check_contract(kind, &input, &out) {
                panic!("{policy} with {config}: {e}\ninput {input}\noutput {out}");
            }
            let validated = evaluate(policy, config, None).expect("validate-config");
            assert!(
                validated.get("ok").is_some()
                    || validated["err"].as_str().is_some_and(|e| !e.is_empty())
            );
        }
    }
}

/// Columns that break every rule of the encoding, read the way the export glue reads them
/// ([`Snapshot::from_columns`], by the rules of [`Columns`]): string ids and tag runs past
/// their tables, offsets out of order, past the text or inside a UTF-8 character, unsorted
/// and repeated names, host columns of unequal length, tag ends out of order, phase bytes
/// past the enum.
fn malformed_snapshot(rng: &mut Rng) -> Snapshot {
    let text: String = (0..rng.below(30))
        .map(|_| *rng.pick(&["prod", "é", "web", "/nix/store/new", "€", "h1"]))
        .collect();
    let strings = rng.below(12);
    let ends: Vec<u32> = (0..strings)
        .map(|_| rng.below(text.len() as u64 + 3) as u32)
        .collect();
    let tags: Vec<StrId> = (0..rng.below(8))
        .map(|_| StrId(rng.below(strings + 3) as u32))
        .collect();
    let hosts = rng.below(30);
    // Most columns have one entry per host; some have one more or one less.
    let len = |rng: &mut Rng| match rng.below(8) {
        0 => hosts.saturating_sub(1),
        1 => hosts + 1,
        _ => hosts,
    };
    let ids = |rng: &mut Rng| -> Vec<u32> {
        (0..len(rng))
            .map(|_| rng.below(strings + 3) as u32)
            .collect()
    };
    let optional_ids = |rng: &mut Rng| -> Vec<u32> {
        (0..len(rng))
            .map(|_| match rng.below(4) {
                0 => Columns::ABSENT_STR,
                _ => rng.below(strings + 3) as u32,
            })
            .collect()
    };
    let times = |rng: &mut Rng, absent: bool| -> Vec<u64> {
        (0..len(rng))
            .map(|_| match rng.below(3) {
                0 if absent => Columns::ABSENT_TIMESTAMP,
                _ => time(rng),
            })
            .collect()
    };
    // Tag ends mostly increasing, sometimes back, past `tags` or at the end of the range.
    let mut end = 0u32;
    let tags_end: Vec<u32> = (0..len(rng))
        .map(|_| {
            end = match rng.below(6) {
                0 => end.saturating_sub(2),
                1 => *rng.pick(&[tags.len() as u32 + 1, u32::MAX]),
                _ => end.saturating_add(rng.below(3) as u32),
            };
            end
        })
        .collect();
    let phase: Vec<u8> = (0..len(rng))
        .map(|_| *rng.pick(&[0, 1, 4, 5, 7, 9, 10, u8::MAX]))
        .collect();
    let (name, channel) = (ids(rng), ids(rng));
    let (current_closure, target_closure, rollout) =
        (optional_ids(rng), optional_ids(rng), optional_ids(rng));
    let (phase_since, last_seen) = (times(rng, false), times(rng, true));
    let columns = Columns {
        name,
        channel,
        tags_end,
        current_closure,
        target_closure,
        phase,
        phase_since,
        last_seen,
        rollout,
    };
    let active = vec![native_rollout(rng, "prod"), native_rollout(rng, "staging")];
    let snapshot = Snapshot::from_columns(text, ends, columns, tags, active);
    // The rules of `Columns` that a policy could not tell apart otherwise: the host count,
    // and phase bytes past the enum.
    let c = snapshot.columns();
    let shortest = [
        c.name.len(),
        c.channel.len(),
        c.tags_end.len(),
        c.current_closure.len(),
        c.target_closure.len(),
        c.phase.len(),
        c.phase_since.len(),
        c.last_seen.len(),
        c.rollout.len(),
    ]
    .into_iter()
    .min();
    assert_eq!(
        Some(snapshot.len()),
        shortest,
        "the shortest column sets the hosts"
    );
    for (h, &byte) in snapshot.hosts().zip(&c.phase) {
        assert_eq!(
            byte >= 9,
            h.phase == HostPhase::Quarantined,
            "phase byte {byte}"
        );
    }
    snapshot
}

fn native_rollout(rng: &mut Rng, channel: &str) -> Rollout {
    Rollout {
        id: format!("r-{channel}"),
        channel: channel.into(),
        target_version: 7,
        current_wave: rng.below(3) as u32,
        started_at: time(rng),
        wave_started_at: time(rng),
        state: *rng.pick(&[
            RolloutState::Running,
            RolloutState::Running,
            RolloutState::Halted,
        ]),
    }
}

fn admit_builtin(policy: &str, config: &str, input: &GateInput) -> convoy_policy_sdk::Verdict {
    fn run<P: GatePolicy>(config: &str, input: &GateInput) -> convoy_policy_sdk::Verdict {
        eval::admit::<P>(config, input)
    }
    match policy {
        "channel-edges" => run::<convoy_policy_channel_edges::ChannelEdges>(config, input),
        "host-edges" => run::<convoy_policy_host_edges::HostEdges>(config, input),
        _ => run::<convoy_policy_disruption_budget::DisruptionBudget>(config, input),
    }
}

#[test]
fn malformed_snapshots_never_panic_and_keep_the_contracts() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for builtin in BUILTINS
        .iter()
        .filter(|b| matches!(b.world, "rollout" | "gate"))
    {
        let (policy, kind) = (builtin.name, builtin.world);
        let configs = configs(policy);
        for round in 0..300 {
            let config = &configs[round % configs.len()];
            let snapshot = malformed_snapshot(&mut rng);
            let hosts = snapshot.len() as u64;
            if kind == "rollout" {
                let input = RolloutInput {
                    now: NOW,
                    rollout: native_rollout(&mut rng, "prod"),
                    snapshot,
                };
                let plan = eval::plan::<convoy_policy_waves::Waves>(config, &input);
                assert!(
                    plan.candidates
                        .iter()
                        .all(|c| input.snapshot.host(c.host).is_some()),
                    "{policy}: a candidate outside the snapshot: {plan:?}"
                );
                // Quarantined hosts (phase byte 9), and hosts whose phase byte names no
                // phase, stay put: read from the raw column, not through the SDK's reading.
                let phases = &input.snapshot.columns().phase;
                assert!(
                    plan.candidates
                        .iter()
                        .all(|c| phases.get(c.host.index()).is_some_and(|&p| p < 9)),
                    "{policy}: dispatched a quarantined host or one of unknown phase: {plan:?}"
                );
                continue;
            }
            let candidates: Vec<HostId> = (0..rng.below(40))
                .map(|_| HostId(rng.below(hosts + 3) as u32))
                .collect();
            let input = GateInput {
                now: NOW,
                candidates,
                snapshot,
            };
            let verdict = admit_builtin(policy, config, &input);
            let distinct: BTreeSet<HostId> = input.candidates.iter().copied().collect();
            let decided: Vec<HostId> = verdict
                .admitted
                .iter()
                .copied()
                .chain(verdict.refused.iter().map(|r| r.host))
                .collect();
            assert_eq!(
                decided.iter().copied().collect::<BTreeSet<_>>(),
                distinct,
                "{policy} with {config}: not every candidate decided"
            );
            assert_eq!(decided.len(), distinct.len(), "{policy}: decided twice");
            assert!(verdict.refused.iter().all(|r| !r.reason.is_empty()));
        }
    }
}
