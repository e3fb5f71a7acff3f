//! Fixture builders shared by proto's integration tests and benchmark.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;

use base64::Engine;
use convoy_proto::*;
use serde_json::{Value, json};

/// A fleet of `n` hosts over three channels, with waves, edges and budgets.
pub fn fleet(n: usize, version: u64, signed_at: Timestamp) -> FleetResolved {
    let mut hosts = BTreeMap::new();
    for i in 0..n {
        let channel = ["canary", "staging", "prod"][i % 3];
        hosts.insert(
            format!("host{i:05}"),
            Host {
                system: "x86_64-linux".into(),
                tags: vec![
                    format!("rack{}", i % 40),
                    if i % 2 == 0 { "web" } else { "db" }.into(),
                ],
                channel: channel.into(),
                closure_hash: Some(
                    format!("/nix/store/{}-nixos-system-host{i:05}", nix_hash(i))
                        .parse()
                        .unwrap(),
                ),
                pubkey: None,
                pin: None,
            },
        );
    }
    let channel = |window| Channel {
        rollout_policy: "staged".into(),
        reconcile_interval_minutes: 1,
        signing_interval_minutes: 60,
        freshness_window_minutes: window,
        policies: vec![PolicyRef {
            name: "health".into(),
            kind: PolicyKind::Health,
            sha256: Some(Sha256Digest::of(b"health.wasm")),
            config: json!({"graceSeconds": 30, "required": ["http"]}),
        }],
    };
    let doc: FleetResolved = FleetDocument {
        schema_version: FLEET_SCHEMA_VERSION,
        hosts,
        channels: [("canary", 180), ("staging", 240), ("prod", 1440)]
            .into_iter()
            .map(|(n, w)| (n.to_owned(), channel(w)))
            .collect(),
        rollout_policies: [(
            "staged".to_owned(),
            RolloutPolicy {
                strategy: Strategy::Staged,
                waves: vec![
                    Wave {
                        selector: Selector::Tags(vec!["rack0".into()]),
                        soak_minutes: 10,
                    },
                    Wave {
                        selector: Selector::All(True),
                        soak_minutes: 30,
                    },
                ],
                health_gate: HealthGate {
                    policy: "health".into(),
                    timeout_minutes: 15,
                },
                on_health_failure: OnHealthFailure::RollbackAndHalt,
            },
        )]
        .into(),
        edges: vec![],
        channel_edges: vec![Edge {
            before: "canary".into(),
            after: "prod".into(),
        }],
        disruption_budgets: vec![DisruptionBudget {
            selector: Selector::Tags(vec!["db".into()]),
            max_in_flight: Some(5),
            max_in_flight_pct: Some(10),
        }],
        snapshot: Some(Snapshot {
            revocations: ArtifactPin {
                version: Version::new(1).unwrap(),
                payload_sha256: Sha256Digest::of(b"revocations"),
            },
            policy_bundle: None,
        }),
        meta: meta(version, signed_at),
    };
    doc
}

pub fn meta(version: u64, signed_at: Timestamp) -> Meta {
    Meta {
        version: Version::new(version).unwrap(),
        signed_at,
        ci_commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
        signature_algorithm: SignatureAlgorithm::Ed25519,
    }
}

fn nix_hash(i: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789abcdfghijklmnpqrsvwxyz";
    (0..32)
        .map(|k| ALPHABET[(i * 7 + k * 13) % 32] as char)
        .collect()
}

/// Signs an arbitrary JSON payload as `payload_type` (for crafting hostile artifacts).
pub fn sign_raw(payload_type: &str, payload: &Value, keys: &[&SecretKey]) -> Vec<u8> {
    let message = signed_message(payload_type, &json::canonical_bytes(payload).unwrap());
    let signatures: Vec<Value> = keys
        .iter()
        .map(|k| {
            json!({
                "keyId": k.key_id(),
                "algorithm": "ed25519",
                "signature": base64::engine::general_purpose::STANDARD.encode(k.sign(&message)),
            })
        })
        .collect();
    json::canonical_bytes(
        &json!({"payloadType": payload_type, "payload": payload, "signatures": signatures}),
    )
    .unwrap()
}

pub fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}
