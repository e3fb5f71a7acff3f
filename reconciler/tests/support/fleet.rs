//! Test fleets written the way `mkFleet` resolves them: every channel runs the built-in
//! policies, each configured from the fleet's own declarations (waves from the channel's
//! rollout policy, the edges, the budgets). Shared by the reconciler's tests and the
//! simulator's (policy-tests includes this file by path).
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use convoy_host_runtime::{EngineOptions, PolicyEngine};
use convoy_proto::UnsignedFleet;
use convoy_reconciler::{ComponentSource, PolicyChain, PolicySet};
use serde_json::{Value, json};

/// The built-in components (`convoy_test_support::builtin_components`).
pub fn components() -> PathBuf {
    convoy_test_support::builtin_components().expect("the built-in policy components")
}

/// One engine per test process, with a compiled-code cache under the target directory
/// (so each component compiles once, not once per fleet).
pub fn engine() -> &'static PolicyEngine {
    static ENGINE: OnceLock<PolicyEngine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        PolicyEngine::new(EngineOptions {
            cache_dir: Some(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("policy-cache")),
            ..EngineOptions::default()
        })
        .expect("engine")
    })
}

/// Every channel's chain of `fleet`, from the built-in components.
pub fn policies(fleet: &UnsignedFleet) -> PolicySet {
    PolicyChain::load_all(fleet, &ComponentSource::Dir(components()), engine())
        .expect("the built-in components load (run policies/build.sh)")
}

/// One channel of a test fleet.
#[derive(Debug, Clone)]
pub struct TestChannel {
    /// Its name.
    pub name: String,
    /// `staged`, `canary` or `all-at-once`.
    pub strategy: String,
    /// Waves: selector and soak minutes.
    pub waves: Vec<(Value, u32)>,
    /// `healthGate.timeoutMinutes`.
    pub timeout_minutes: u32,
    /// `halt` or `rollback-and-halt`.
    pub on_health_failure: String,
    /// Extra keys of the waves policy's configuration (`skipOfflineAfterMinutes`…).
    pub waves_extra: Value,
    /// The health policy's configuration.
    pub health: Value,
}

impl TestChannel {
    /// A staged channel with one wave of every host of `name`.
    pub fn new(name: &str) -> TestChannel {
        TestChannel {
            name: name.to_owned(),
            strategy: "staged".to_owned(),
            waves: vec![(json!({"channel": name}), 0)],
            timeout_minutes: 15,
            on_health_failure: "halt".to_owned(),
            waves_extra: json!({}),
            health: json!({}),
        }
    }

    /// Sets the health policy's configuration.
    pub fn health(mut self, config: Value) -> TestChannel {
        self.health = config;
        self
    }

    /// Replaces the waves.
    pub fn waves(mut self, waves: Vec<(Value, u32)>) -> TestChannel {
        self.waves = waves;
        self
    }

    /// Sets `onHealthFailure`.
    pub fn on_failure(mut self, what: &str) -> TestChannel {
        self.on_health_failure = what.to_owned();
        self
    }

    /// Sets `healthGate.timeoutMinutes`.
    pub fn timeout(mut self, minutes: u32) -> TestChannel {
        self.timeout_minutes = minutes;
        self
    }

    /// Adds keys to the waves policy's configuration.
    pub fn extra(mut self, extra: Value) -> TestChannel {
        self.waves_extra = extra;
        self
    }
}

/// A whole test fleet.
#[derive(Debug, Clone, Default)]
pub struct TestFleet {
    /// Hosts: name, channel, tags.
    pub hosts: Vec<(String, String, Vec<String>)>,
    /// Channels.
    pub channels: Vec<TestChannel>,
    /// Host edges: before, after.
    pub edges: Vec<(String, String)>,
    /// Channel edges: before, after.
    pub channel_edges: Vec<(String, String)>,
    /// Disruption budgets as fleet JSON.
    pub budgets: Vec<Value>,
}

/// The closure of `host` in release `release` (a valid store path).
pub fn closure(release: &str, host: &str) -> String {
    let digest = format!("{:x}", sha2_lite(&format!("{release}/{host}")));
    let alphabet = b"0123456789abcdfghijklmnpqrsvwxyz";
    let hash: String = digest
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(32)
        .map(|b| alphabet[(b as usize) % 32] as char)
        .collect();
    format!("/nix/store/{hash}-{release}-{host}")
}

/// A small deterministic hash (FNV-1a), enough to spread test closures.
fn sha2_lite(s: &str) -> u128 {
    let mut h: u128 = 0x6c62272e07bb014262b821756295c58d;
    for b in s.bytes() {
        h ^= u128::from(b);
        h = h.wrapping_mul(0x0000000001000000000000000000013B);
    }
    h
}

impl TestFleet {
    /// Adds a host.
    pub fn host(mut self, name: &str, channel: &str, tags: &[&str]) -> TestFleet {
        self.hosts.push((
            name.to_owned(),
            channel.to_owned(),
            tags.iter().map(|t| (*t).to_owned()).collect(),
        ));
        self
    }

    /// Adds a channel.
    pub fn channel(mut self, channel: TestChannel) -> TestFleet {
        self.channels.push(channel);
        self
    }

    /// Adds a host edge.
    pub fn edge(mut self, before: &str, after: &str) -> TestFleet {
        self.edges.push((before.to_owned(), after.to_owned()));
        self
    }

    /// Adds a channel edge.
    pub fn channel_edge(mut self, before: &str, after: &str) -> TestFleet {
        self.channel_edges
            .push((before.to_owned(), after.to_owned()));
        self
    }

    /// Adds a budget.
    pub fn budget(mut self, budget: Value) -> TestFleet {
        self.budgets.push(budget);
        self
    }

    /// The fleet document of release `release`: every host's closure is
    /// `closure(release_of(host), host)`.
    pub fn document_with(&self, release_of: impl Fn(&str) -> String) -> UnsignedFleet {
        let edges = |list: &[(String, String)]| -> Vec<Value> {
            list.iter()
                .map(|(b, a)| json!({"before": b, "after": a}))
                .collect()
        };
        let budgets: Vec<Value> = self
            .budgets
            .iter()
            .map(|b| {
                json!({
                    "selector": b["selector"],
                    "maxInFlight": b.get("maxInFlight").cloned().unwrap_or(Value::Null),
                    "maxInFlightPct": b.get("maxInFlightPct").cloned().unwrap_or(Value::Null),
                })
            })
            .collect();
        let mut hosts = serde_json::Map::new();
        for (name, channel, tags) in &self.hosts {
            hosts.insert(
                name.clone(),
                json!({
                    "system": "x86_64-linux",
                    "tags": tags,
                    "channel": channel,
                    "closureHash": closure(&release_of(name), name),
                    "pubkey": null,
                    "pin": null,
                }),
            );
        }
        let mut channels = serde_json::Map::new();
        let mut rollout_policies = serde_json::Map::new();
        for c in &self.channels {
            let waves: Vec<Value> = c
                .waves
                .iter()
                .map(|(s, soak)| json!({"selector": s, "soakMinutes": soak}))
                .collect();
            let health_gate = json!({"policy": "health", "timeoutMinutes": c.timeout_minutes});
            let rollout = json!({
                "strategy": c.strategy,
                "waves": waves,
                "healthGate": health_gate,
                "onHealthFailure": c.on_health_failure,
            });
            let mut waves_config = rollout.clone();
            if let (Some(cfg), Some(extra)) =
                (waves_config.as_object_mut(), c.waves_extra.as_object())
            {
                for (k, v) in extra {
                    cfg.insert(k.clone(), v.clone());
                }
            }
            let policy = |name: &str, kind: &str, config: Value| json!({"name": name, "kind": kind, "sha256": null, "config": config});
            channels.insert(
                c.name.clone(),
                json!({
                    "rolloutPolicy": c.name,
                    "reconcileIntervalMinutes": 1,
                    "signingIntervalMinutes": 60,
                    "freshnessWindowMinutes": 180,
                    "policies": [
                        policy("waves", "rollout", waves_config),
                        policy("channel-edges", "gate", json!({"edges": edges(&self.channel_edges)})),
                        policy("host-edges", "gate", json!({"edges": edges(&self.edges)})),
                        policy("disruption-budget", "gate", json!({"budgets": budgets})),
                        policy("health", "health", c.health.clone()),
                    ],
                }),
            );
            rollout_policies.insert(c.name.clone(), rollout);
        }
        let doc = json!({
            "schemaVersion": 1,
            "hosts": hosts,
            "channels": channels,
            "rolloutPolicies": rollout_policies,
            "edges": edges(&self.edges),
            "channelEdges": edges(&self.channel_edges),
            "disruptionBudgets": budgets,
            "meta": null,
        });
        let bytes = serde_json::to_vec(&doc).expect("json");
        convoy_proto::parse_document(&bytes).expect("a valid fleet document")
    }

    /// The fleet document where every host's closure is that of `release`.
    pub fn document(&self, release: &str) -> UnsignedFleet {
        self.document_with(|_| release.to_owned())
    }
}
