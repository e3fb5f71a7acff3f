//! mkFleet (Nix) and the built-in policies agree.
//!
//! - **Who a rollout updates.** Every golden fleet of `nix/tests/golden` (and the ported
//!   example of `docs/porting-from-nixfleet.md`) is evaluated by `mkFleet`; each channel's
//!   waves configuration is then run through the waves policy until it converges, every
//!   candidate updated at once. The hosts it never dispatched are exactly the hosts
//!   mkFleet's `unselectedHosts` (and its warning) names, and the converge notes name
//!   them too.
//! - **What a fleet may declare.** For every rule that both mkFleet and a built-in's
//!   `validate-config` enforce, a negative fixture of `nix/tests/negative` is refused by
//!   mkFleet (each `# expect:` line among its `errors`) and the configuration mkFleet
//!   hands the built-in (`builtinConfigs`) is refused by its `validate-config`.
//! - **Cycles read the same.** A cycle mkFleet names is named identically by the edge
//!   policies.
//!
//! Nix is required: without `nix-instantiate` on `PATH` these tests fail, never skip.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use convoy_policy_conformance::{config_string, evaluate};
use serde_json::{Value, json};

const NOW: u64 = 1_700_000_000;
const OLD: &str = "/nix/store/0a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p-nixos-system-old";
const NEW: &str = "/nix/store/9z8y7x6w5v4u3t2s1r0q9p8o7n6m5l4k-nixos-system-new";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `nix-instantiate --eval --strict --json FILE -A ATTR`, or the error text.
fn nix_eval(file: &Path, attr: &str) -> Result<Value, String> {
    let output = Command::new("nix-instantiate")
        .current_dir(repo_root())
        .env("NIX_CONFIG", "experimental-features = nix-command flakes")
        .args(["--eval", "--strict", "--json"])
        .arg(file)
        .args(["-A", attr])
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run nix-instantiate ({e}): these tests need Nix (apt-get install nix-bin)"
            )
        });
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    serde_json::from_slice(&output.stdout).map_err(|e| format!("nix printed invalid JSON: {e}"))
}

fn eval_ok(file: &Path, attr: &str) -> Value {
    nix_eval(file, attr).unwrap_or_else(|e| panic!("{} -A {attr}: {e}", file.display()))
}

/// The fleets whose rollouts are checked: every golden input, and the porting example.
fn fleets() -> Vec<PathBuf> {
    let golden = repo_root().join("nix/tests/golden");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&golden)
        .expect("nix/tests/golden")
        .map(|e| e.expect("entry").path().join("input.nix"))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files.push(repo_root().join("nix/examples/porting/fleet.nix"));
    files
}

/// The waves configuration a channel runs: the one mkFleet hands the `waves` policy, or,
/// for a channel that does not list it, the same derivation from its rollout policy.
fn waves_config(resolved: &Value, builtin: &Value, channel: &str) -> String {
    if let Some(cfg) = builtin[channel].get("waves") {
        return config_string(cfg);
    }
    let rp = resolved["channels"][channel]["rolloutPolicy"]
        .as_str()
        .expect("a rollout policy name");
    let policy = &resolved["rolloutPolicies"][rp];
    let waves: Vec<Value> = policy["waves"]
        .as_array()
        .expect("waves")
        .iter()
        .map(|w| json!({ "selector": w["selector"], "soakMinutes": w["soakMinutes"] }))
        .collect();
    config_string(&json!({
        "strategy": policy["strategy"],
        "waves": waves,
        "healthGate": policy["healthGate"],
        "onHealthFailure": policy["onHealthFailure"],
    }))
}

/// Runs one rollout of `channel` to convergence, updating every candidate at once (soaked
/// right away). Returns the hosts dispatched and the converge notes.
fn roll_out(config: &str, channel: &str, hosts: &mut [Value]) -> (BTreeSet<String>, Vec<String>) {
    let (mut wave, mut wave_started, mut now) = (0u64, NOW, NOW);
    let mut dispatched = BTreeSet::new();
    for _ in 0..1000 {
        now += 60;
        for h in hosts.iter_mut() {
            h["last_seen"] = json!(now);
        }
        let input = json!({
            "now": now,
            "rollout": {
                "id": "r1", "channel": channel, "target_version": 2, "current_wave": wave,
                "started_at": NOW, "wave_started_at": wave_started, "state": "Running",
            },
            "hosts": hosts,
            "active": [],
        });
        let plan = evaluate("waves", config, Some(&input)).expect("a plan");
        for c in plan["candidates"].as_array().expect("candidates") {
            let name = c["host"].as_str().expect("a host name").to_owned();
            let h = hosts
                .iter_mut()
                .find(|h| h["name"] == name.as_str())
                .expect("a candidate is a host of the fleet");
            assert_eq!(
                h["channel"], channel,
                "{name} dispatched by another channel"
            );
            h["current_closure"] = json!(NEW);
            h["phase"] = json!("Soaked");
            h["phase_since"] = json!(now);
            dispatched.insert(name);
        }
        let notes: Vec<String> = serde_json::from_value(plan["notes"].clone()).expect("notes");
        match &plan["step"] {
            Value::String(s) if s == "Converge" => return (dispatched, notes),
            Value::Object(o) if o.contains_key("Promote") => {
                wave = o["Promote"].as_u64().expect("a wave");
                wave_started = now;
            }
            Value::Object(o) if o.contains_key("Hold") => {}
            other => panic!("channel {channel}: the rollout stopped: {other}"),
        }
    }
    panic!("channel {channel}: no convergence within 1000 ticks");
}

#[test]
fn hosts_in_no_wave_are_exactly_the_hosts_the_waves_policy_never_updates() {
    let mut checked = 0;
    let mut unselected_seen = 0;
    for file in fleets() {
        let resolved = eval_ok(&file, "resolved");
        let builtin = eval_ok(&file, "builtinConfigs");
        let unselected = eval_ok(&file, "unselectedHosts");
        let warnings = eval_ok(&file, "warnings");
        let fleet_hosts = resolved["hosts"].as_object().expect("hosts");
        for channel in resolved["channels"].as_object().expect("channels").keys() {
            let mut hosts: Vec<Value> = fleet_hosts
                .iter()
                .map(|(name, h)| {
                    json!({
                        "name": name, "channel": h["channel"], "tags": h["tags"],
                        "current_closure": OLD, "target_closure": NEW, "phase": "Idle",
                        "phase_since": NOW - 3600, "last_seen": NOW, "rollout": null,
                    })
                })
                .collect();
            let members: BTreeSet<String> = fleet_hosts
                .iter()
                .filter(|(_, h)| h["channel"] == channel.as_str())
                .map(|(n, _)| n.clone())
                .collect();
            if members.is_empty() {
                continue;
            }
            let config = waves_config(&resolved, &builtin, channel);
            let (dispatched, notes) = roll_out(&config, channel, &mut hosts);
            let never: BTreeSet<String> = members.difference(&dispatched).cloned().collect();
            let nix: BTreeSet<String> =
                serde_json::from_value(unselected[channel].clone()).expect("a list of names");
            assert_eq!(
                never,
                nix,
                "{}: channel {channel}: the waves policy never updates {never:?}, mkFleet names {nix:?}",
                file.display()
            );
            let named: BTreeSet<String> = notes
                .iter()
                .filter_map(|n| n.strip_prefix("not updated: "))
                .filter_map(|n| n.strip_suffix(": in no wave of the rollout"))
                .map(str::to_owned)
                .collect();
            assert_eq!(named, nix, "{}: converge notes {notes:?}", file.display());
            if !nix.is_empty() {
                unselected_seen += 1;
                let warned = warnings.as_array().expect("warnings").iter().any(|w| {
                    let w = w.as_str().unwrap_or_default();
                    w.starts_with(&format!("channels.{channel}: hosts "))
                        && nix.iter().all(|h| w.contains(&format!("`{h}`")))
                        && w.contains("never dispatch them")
                });
                assert!(
                    warned,
                    "{}: no warning names {nix:?}: {warnings}",
                    file.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} channels rolled out");
    assert!(
        unselected_seen >= 2,
        "only {unselected_seen} channels with hosts in no wave"
    );
}

/// One rule both sides enforce: the negative fixture, the channel and built-in whose
/// configuration mkFleet derives from it, and what that built-in's validate-config says.
struct Rule {
    fixture: &'static str,
    channel: &'static str,
    policy: &'static str,
    refusal: &'static str,
}

const RULES: &[Rule] = &[
    Rule {
        fixture: "canary_with_one_wave",
        channel: "stable",
        policy: "waves",
        refusal: "a canary rollout needs at least two waves (the canary, then the rest)",
    },
    Rule {
        fixture: "explicit_waves_config_breaks_the_policy_rules",
        channel: "canary",
        policy: "waves",
        refusal: "a canary rollout needs at least two waves (the canary, then the rest)",
    },
    Rule {
        fixture: "all_at_once_with_two_waves",
        channel: "stable",
        policy: "waves",
        refusal: "an all-at-once rollout has exactly one wave, not 2",
    },
    Rule {
        fixture: "selector_too_deep",
        channel: "stable",
        policy: "waves",
        refusal: "waves[1]: selector nests deeper than 32",
    },
    Rule {
        fixture: "selector_too_deep",
        channel: "stable",
        policy: "disruption-budget",
        refusal: "budgets[0]: selector nests deeper than 32",
    },
    Rule {
        fixture: "budget_pct_out_of_range",
        channel: "stable",
        policy: "disruption-budget",
        refusal: "maxInFlightPct",
    },
    Rule {
        fixture: "budget_without_limit",
        channel: "stable",
        policy: "disruption-budget",
        refusal: "set maxInFlight, maxInFlightPct or both",
    },
    Rule {
        fixture: "host_edge_cycle",
        channel: "stable",
        policy: "host-edges",
        refusal: "cycle in host edges: db1 -> web1 -> web2 -> db1",
    },
    Rule {
        fixture: "channel_edge_cycle",
        channel: "stable",
        policy: "channel-edges",
        refusal: "cycle in channel edges: canary -> stable -> canary",
    },
    Rule {
        fixture: "channel_edge_self_loop",
        channel: "stable",
        policy: "channel-edges",
        refusal: "cannot wait for itself",
    },
];

#[test]
fn every_shared_rule_is_refused_by_mkfleet_and_by_validate_config() {
    let negative = repo_root().join("nix/tests/negative");
    for rule in RULES {
        let file = negative.join(format!("{}.nix", rule.fixture));
        let text = std::fs::read_to_string(&file).expect("the negative fixture");
        let expects: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# expect: "))
            .collect();
        assert!(!expects.is_empty(), "{}: no expect line", rule.fixture);
        let errors = eval_ok(&file, "errors");
        let errors: Vec<String> = serde_json::from_value(errors).expect("a list of errors");
        for e in &expects {
            assert!(
                errors.iter().any(|got| got.contains(e)),
                "{}: mkFleet does not say {e:?}: {errors:?}",
                rule.fixture
            );
        }
        let configs = eval_ok(&file, "builtinConfigs");
        let config = configs[rule.channel]
            .get(rule.policy)
            .unwrap_or_else(|| panic!("{}: no {} in {}", rule.fixture, rule.policy, rule.channel));
        let verdict = evaluate(rule.policy, &config_string(config), None).expect("validates");
        let refused = verdict["err"].as_str().unwrap_or_else(|| {
            panic!(
                "{}: {} accepts what mkFleet refuses: {config}",
                rule.fixture, rule.policy
            )
        });
        assert!(
            refused.contains(rule.refusal),
            "{}: {} says {refused:?}",
            rule.fixture,
            rule.policy
        );
    }
}

#[test]
fn cycles_read_the_same_in_nix_and_in_the_edge_policies() {
    let negative = repo_root().join("nix/tests/negative");
    for (fixture, noun, policy) in [
        ("host_edge_cycle", "host", "host-edges"),
        ("channel_edge_cycle", "channel", "channel-edges"),
    ] {
        let file = negative.join(format!("{fixture}.nix"));
        let errors: Vec<String> = serde_json::from_value(eval_ok(&file, "errors")).expect("errors");
        let marker = format!("cycle in {noun} edges: ");
        let nix: Vec<&str> = errors
            .iter()
            .filter_map(|e| e.split_once(&marker).map(|(_, c)| c))
            .collect();
        assert_eq!(nix.len(), 1, "{fixture}: {errors:?}");
        let configs = eval_ok(&file, "builtinConfigs");
        let verdict =
            evaluate(policy, &config_string(&configs["stable"][policy]), None).expect("validates");
        let wasm = verdict["err"].as_str().expect("a refusal");
        assert_eq!(
            wasm.split_once(&marker).map(|(_, c)| c),
            Some(nix[0]),
            "{fixture}: Nix says {:?}, {policy} says {wasm:?}",
            nix[0]
        );
    }
    // Also a cycle whose first-found path does not start at its smallest name.
    let edges = json!({"edges": [
        {"before": "web2", "after": "db1"},
        {"before": "db1", "after": "web3"},
        {"before": "web3", "after": "web2"},
    ]});
    let verdict = evaluate("host-edges", &config_string(&edges), None).expect("validates");
    assert_eq!(
        verdict["err"],
        "config: cycle in host edges: db1 -> web3 -> web2 -> db1"
    );
    let expr = r#"(import ./nix/lib/graph.nix { util = import ./nix/lib/util.nix; }).cycles [
        { before = "web2"; after = "db1"; }
        { before = "db1"; after = "web3"; }
        { before = "web3"; after = "web2"; } ]"#;
    let output = Command::new("nix-instantiate")
        .current_dir(repo_root())
        .args(["--eval", "--strict", "--json", "-E", expr])
        .output()
        .expect("nix-instantiate runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let cycles: Vec<Vec<String>> = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(cycles, [["db1", "web3", "web2", "db1"]]);
}
