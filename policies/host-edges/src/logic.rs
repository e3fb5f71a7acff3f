//! The host-edges gate as a pure function of its configuration and the snapshot.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::ops::Range;

use convoy_policy_sdk::eval::gate_each;
use convoy_policy_sdk::graph::EdgesConfig;
use convoy_policy_sdk::{
    ConfigError, GateInput, GatePolicy, HostId, HostRef, Policy, Snapshot, Thresholds, Verdict,
};

/// Configuration of the host-edges gate: the fleet's edges.
pub type Config = EdgesConfig;

/// The host-edges gate.
pub struct HostEdges;

impl Policy for HostEdges {
    type Config = Config;

    fn check(cfg: &Config) -> Result<(), ConfigError> {
        cfg.check("host")
    }
}

impl GatePolicy for HostEdges {
    fn admit(cfg: &Config, input: &GateInput) -> Verdict {
        let snapshot = &input.snapshot;
        let graph = cfg.graph();
        // Each gating host's state is looked up once, and each waiting host's refusal
        // found once, whatever the number of candidates: a candidate costs one lookup by
        // id, no string compared.
        let thresholds = cfg.thresholds();
        let mut states: BTreeMap<&str, Option<String>> = BTreeMap::new();
        for before in graph.values().flatten() {
            states
                .entry(before)
                .or_insert_with(|| waits_for(snapshot, input.now, &thresholds, before));
        }
        let mut waiting: BTreeMap<HostId, &str> = BTreeMap::new();
        for (after, befores) in &graph {
            let why = befores
                .iter()
                .find_map(|before| states.get(before).and_then(Option::as_deref));
            if let Some(why) = why {
                for id in named(snapshot, after) {
                    waiting.insert(HostId(id), why);
                }
            }
        }
        gate_each(input, |candidate| match waiting.get(&candidate.id) {
            Some(why) => Err((*why).to_owned()),
            None => Ok(()),
        })
    }
}

/// Why a host waits for `before`, or `None` if `before` has converged: it is settled
/// ([`Progress::is_settled`](convoy_policy_sdk::Progress::is_settled)) — done, or skipped as the waves policy skips it.
fn waits_for(snapshot: &Snapshot, now: u64, t: &Thresholds, before: &str) -> Option<String> {
    match snapshot.position(before).and_then(|id| snapshot.host(id)) {
        None => Some(format!(
            "waits for host {before}, which is not in the fleet snapshot"
        )),
        Some(h) if !h.progress(now, t).is_settled() => Some(format!(
            "waits for host {before} to converge ({before} is {})",
            progress(&h)
        )),
        Some(_) => None,
    }
}

/// The ids of the hosts called `name`: one in a well-formed snapshot; in a malformed one
/// that repeats the name, every one of them (adjacent, since hosts are sorted by name).
fn named(snapshot: &Snapshot, name: &str) -> Range<u32> {
    let Some(HostId(at)) = snapshot.position(name) else {
        return 0..0;
    };
    let is_named = |i: u32| snapshot.name(HostId(i)) == Some(name);
    let mut ids = at..at.saturating_add(1);
    while ids.start > 0 && is_named(ids.start - 1) {
        ids.start -= 1;
    }
    while ids.end < u32::MAX && is_named(ids.end) {
        ids.end += 1;
    }
    ids
}

/// How far a not-yet-converged host is, in words.
pub(crate) fn progress(h: &HostRef) -> String {
    if h.on_target() {
        format!("{} on its target closure", h.phase.as_str())
    } else {
        format!("{}, not yet on its target closure", h.phase.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use convoy_policy_sdk::eval::{admit, validate_config};
    use convoy_policy_sdk::{GateCall, Host, HostPhase};

    fn host(name: &str, on_target: bool, phase: HostPhase) -> Host {
        Host {
            name: name.into(),
            channel: "prod".into(),
            tags: vec![],
            current_closure: Some(
                if on_target {
                    "/nix/store/new"
                } else {
                    "/nix/store/old"
                }
                .into(),
            ),
            target_closure: Some("/nix/store/new".into()),
            phase,
            phase_since: 0,
            last_seen: Some(0),
            rollout: None,
        }
    }

    #[test]
    fn waits_for_the_gating_host() {
        let cfg = r#"{"edges":[{"before":"db1","after":"db2"}]}"#;
        let call = |db1: HostPhase| GateCall {
            now: 100,
            candidates: vec!["db2".into(), "web1".into()],
            hosts: vec![
                host("db1", true, db1),
                host("db2", false, HostPhase::Idle),
                host("web1", false, HostPhase::Idle),
            ],
            active: vec![],
        };
        let v = call(HostPhase::Healthy)
            .run(|input| admit::<HostEdges>(cfg, input))
            .expect("named");
        assert_eq!(v.admitted, ["web1"]);
        assert_eq!(v.refused.len(), 1);
        assert_eq!(v.refused[0].host, "db2");
        assert_eq!(
            v.refused[0].reason,
            "waits for host db1 to converge (db1 is healthy on its target closure)"
        );
        let v = call(HostPhase::Soaked)
            .run(|input| admit::<HostEdges>(cfg, input))
            .expect("named");
        assert_eq!(v.admitted, ["db2", "web1"]);
    }

    #[test]
    fn every_host_of_a_repeated_name_waits() {
        use convoy_policy_sdk::{Columns, GateInput, Snapshot};
        // Strings "a", "b", "c"; hosts a, b, b, c (sorted, b repeated): a malformed
        // snapshot, which the gate still reads by name.
        let n = 4;
        let columns = Columns {
            name: vec![0, 1, 1, 2],
            channel: vec![0; n],
            tags_end: vec![0; n],
            current_closure: vec![Columns::ABSENT_STR; n],
            target_closure: vec![Columns::ABSENT_STR; n],
            phase: vec![0; n],
            phase_since: vec![0; n],
            last_seen: vec![0; n],
            rollout: vec![Columns::ABSENT_STR; n],
        };
        let snapshot = Snapshot::from_columns("abc".into(), vec![1, 2, 3], columns, vec![], vec![]);
        let input = GateInput {
            now: 0,
            candidates: (0..4).map(HostId).collect(),
            snapshot,
        };
        let cfg = r#"{"edges":[{"before":"ghost","after":"b"}]}"#;
        let verdict = admit::<HostEdges>(cfg, &input);
        assert_eq!(verdict.admitted, [HostId(0), HostId(3)]);
        let refused: Vec<(HostId, &str)> = verdict
            .refused
            .iter()
            .map(|r| (r.host, r.reason.as_str()))
            .collect();
        let why = "waits for host ghost, which is not in the fleet snapshot";
        assert_eq!(refused, [(HostId(1), why), (HostId(2), why)]);
    }

    #[test]
    fn cycles_are_refused() {
        let err = validate_config::<HostEdges>(
            r#"{"edges":[{"before":"b","after":"a"},{"before":"a","after":"b"}]}"#,
        )
        .expect_err("cycle");
        assert!(err.contains("cycle in host edges: a -> b -> a"), "{err}");
        assert!(validate_config::<HostEdges>(r#"{"edges":[{"before":"a","after":"a"}]}"#).is_err());
    }
}
