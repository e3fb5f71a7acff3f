//! The host-edges gate as a pure function of its configuration and the snapshot.
#![forbid(unsafe_code)]

use convoy_policy_sdk::eval::gate_each;
use convoy_policy_sdk::graph::EdgesConfig;
use convoy_policy_sdk::{ConfigError, GateInput, GatePolicy, HostRef, Policy, Verdict};

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
        let graph = cfg.graph();
        let snapshot = &input.snapshot;
        gate_each(input, |candidate| {
            let Some(afters) = graph.get(candidate.name) else {
                return Ok(());
            };
            for before in afters {
                match snapshot.position(before).and_then(|id| snapshot.host(id)) {
                    None => {
                        return Err(format!(
                            "waits for host {before}, which is not in the fleet snapshot"
                        ));
                    }
                    Some(h) if !h.is_converged() => {
                        return Err(format!(
                            "waits for host {before} to converge ({before} is {})",
                            progress(&h)
                        ));
                    }
                    Some(_) => {}
                }
            }
            Ok(())
        })
    }
}

/// How far a not-yet-converged host is, in words.
pub(crate) fn progress(h: &HostRef) -> String {
    if h.target_closure.is_none() {
        "without a target closure".to_owned()
    } else if h.on_target() {
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
    fn cycles_are_refused() {
        let err = validate_config::<HostEdges>(
            r#"{"edges":[{"before":"b","after":"a"},{"before":"a","after":"b"}]}"#,
        )
        .expect_err("cycle");
        assert!(err.contains("a → b → a"), "{err}");
        assert!(validate_config::<HostEdges>(r#"{"edges":[{"before":"a","after":"a"}]}"#).is_err());
    }
}
