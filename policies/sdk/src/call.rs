//! Rollout and gate calls with hosts by name — the form of scenario fixtures and
//! `convoy policy eval` call files (`policy-tests/fixtures/README.md`) — and their
//! conversion to and from the ABI's form, where the fleet is a [`Snapshot`] and hosts are
//! [`HostId`]s.
//!
//! The conversion does the host's share of a call, as the host runtime does it: it encodes
//! the snapshot ([`Snapshot::new`]); it passes the policy only the gate candidates that are
//! in the snapshot and refuses the others itself, with the reason `"{name} is not in the
//! fleet snapshot"`, each once, at its first position in candidate order; and it names the
//! hosts of the output. Native code (the conformance suite, tests, benchmarks) uses it to
//! run a policy on the same calls the components get.
#![forbid(unsafe_code)]

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::snapshot::{HostId, Snapshot};
use crate::types::{GateInput, Host, Plan, Rollout, RolloutInput, Step, Timestamp, Verdict};

/// A rollout call with hosts by name: `{"now", "rollout", "hosts", "active"}` (`active`
/// may be left out: none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolloutCall {
    /// Host-supplied current time.
    pub now: Timestamp,
    /// The rollout being planned.
    pub rollout: Rollout,
    /// The fleet, in any order (the rollout's hosts are those on its channel).
    pub hosts: Vec<Host>,
    /// Every active rollout of the fleet.
    #[serde(default)]
    pub active: Vec<Rollout>,
}

impl RolloutCall {
    /// The input the policy gets.
    pub fn into_input(self) -> RolloutInput {
        RolloutInput {
            now: self.now,
            rollout: self.rollout,
            snapshot: Snapshot::new(self.hosts, self.active),
        }
    }

    /// Plans the call with `plan` (e.g. `|i| eval::plan::<P>(cfg, i)`) and names the
    /// hosts of the plan.
    pub fn run(self, plan: impl FnOnce(&RolloutInput) -> Plan) -> Result<NamedPlan, UnknownHost> {
        let input = self.into_input();
        plan(&input).named(&input.snapshot)
    }
}

/// A gate call with hosts by name: `{"now", "candidates", "hosts", "active"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateCall {
    /// Host-supplied current time.
    pub now: Timestamp,
    /// Names of the hosts proposed for dispatch, in priority order (may repeat, may name
    /// a host that is not in `hosts`).
    pub candidates: Vec<String>,
    /// The fleet, in any order.
    pub hosts: Vec<Host>,
    /// Every active rollout of the fleet.
    pub active: Vec<Rollout>,
}

impl GateCall {
    /// The input the policy gets — the candidates that are in the snapshot, by id, in
    /// order — and the candidates' names, which [`Verdict::named`] answers for.
    pub fn into_input(self) -> (GateInput, Vec<String>) {
        let snapshot = Snapshot::new(self.hosts, self.active);
        let candidates = self
            .candidates
            .iter()
            .filter_map(|name| snapshot.position(name))
            .collect();
        let input = GateInput {
            now: self.now,
            candidates,
            snapshot,
        };
        (input, self.candidates)
    }

    /// Admits with `admit` (e.g. `|i| eval::admit::<P>(cfg, i)`) and names the verdict,
    /// refusing the candidates that are not in the snapshot.
    pub fn run(
        self,
        admit: impl FnOnce(&GateInput) -> Verdict,
    ) -> Result<NamedVerdict, UnknownHost> {
        let (input, names) = self.into_input();
        admit(&input).named(&names, &input.snapshot)
    }
}

/// A [`Plan`] with hosts by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedPlan {
    /// What the rollout does next.
    pub step: Step,
    /// Hosts to dispatch now, each with a reason.
    pub candidates: Vec<NamedCandidate>,
    /// Observations for the operator.
    pub notes: Vec<String>,
}

/// A [`crate::Candidate`] by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedCandidate {
    /// Host name.
    pub host: String,
    /// Why it is dispatched now.
    pub reason: String,
}

/// A [`Verdict`] with hosts by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedVerdict {
    /// Admitted host names, in candidate order.
    pub admitted: Vec<String>,
    /// Refused candidates, in candidate order.
    pub refused: Vec<NamedRefusal>,
}

/// A [`crate::Refusal`] by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedRefusal {
    /// The refused candidate's name.
    pub host: String,
    /// Reason an operator can read.
    pub reason: String,
}

/// An output named a host id that its input's snapshot does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownHost(pub HostId);

impl fmt::Display for UnknownHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the output names host {}, which is not in the snapshot",
            self.0
        )
    }
}

impl std::error::Error for UnknownHost {}

fn name_of(snapshot: &Snapshot, id: HostId) -> Result<String, UnknownHost> {
    snapshot.name(id).map(str::to_owned).ok_or(UnknownHost(id))
}

impl Plan {
    /// The plan with its candidates named from `snapshot` (the input's).
    pub fn named(self, snapshot: &Snapshot) -> Result<NamedPlan, UnknownHost> {
        let candidates = self
            .candidates
            .into_iter()
            .map(|c| {
                Ok(NamedCandidate {
                    host: name_of(snapshot, c.host)?,
                    reason: c.reason,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(NamedPlan {
            step: self.step,
            candidates,
            notes: self.notes,
        })
    }
}

impl Verdict {
    /// The whole verdict of a gate call whose candidates were `names`: this verdict, by
    /// name, for the candidates in `snapshot` (the input's), and a refusal for each
    /// candidate that is not — `"{name} is not in the fleet snapshot"` — each refusal at
    /// its candidate's first position in `names`.
    pub fn named(self, names: &[String], snapshot: &Snapshot) -> Result<NamedVerdict, UnknownHost> {
        // Each refusal is sorted to its candidate's first position in `names`.
        let mut first = vec![usize::MAX; snapshot.len()];
        let mut strays = BTreeSet::new();
        let mut refused = Vec::new();
        for (at, name) in names.iter().enumerate() {
            match snapshot.position(name) {
                Some(id) => {
                    if let Some(first) = first.get_mut(id.index()) {
                        *first = (*first).min(at);
                    }
                }
                None => {
                    if strays.insert(name.as_str()) {
                        let reason = format!("{name} is not in the fleet snapshot");
                        refused.push((
                            at,
                            NamedRefusal {
                                host: name.clone(),
                                reason,
                            },
                        ));
                    }
                }
            }
        }
        for r in self.refused {
            let at = first.get(r.host.index()).copied().unwrap_or(usize::MAX);
            let host = name_of(snapshot, r.host)?;
            refused.push((
                at,
                NamedRefusal {
                    host,
                    reason: r.reason,
                },
            ));
        }
        refused.sort_by_key(|(at, _)| *at);
        let admitted = self
            .admitted
            .into_iter()
            .map(|id| name_of(snapshot, id))
            .collect::<Result<_, _>>()?;
        Ok(NamedVerdict {
            admitted,
            refused: refused.into_iter().map(|(_, r)| r).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HostPhase;
    use crate::eval::gate_each;

    fn host(name: &str) -> Host {
        Host {
            name: name.into(),
            channel: "prod".into(),
            tags: vec![],
            current_closure: None,
            target_closure: None,
            phase: HostPhase::Idle,
            phase_since: 0,
            last_seen: None,
            rollout: None,
        }
    }

    #[test]
    fn strays_are_refused_by_the_host_in_candidate_order() {
        let call = GateCall {
            now: 0,
            candidates: ["b", "ghost", "a", "b", "ghost", "c", "spook"]
                .map(String::from)
                .to_vec(),
            hosts: vec![host("c"), host("b"), host("a")],
            active: vec![],
        };
        let verdict = call
            .run(|input| {
                gate_each(input, |h| {
                    if h.name == "a" {
                        Ok(())
                    } else {
                        Err(h.name.to_owned())
                    }
                })
            })
            .expect("named");
        assert_eq!(verdict.admitted, ["a"]);
        let refused: Vec<(&str, &str)> = verdict
            .refused
            .iter()
            .map(|r| (r.host.as_str(), r.reason.as_str()))
            .collect();
        assert_eq!(
            refused,
            [
                ("b", "b"),
                ("ghost", "ghost is not in the fleet snapshot"),
                ("c", "c"),
                ("spook", "spook is not in the fleet snapshot"),
            ]
        );
    }

    #[test]
    fn outputs_with_foreign_ids_are_errors() {
        let plan = Plan {
            step: Step::Converge,
            candidates: vec![crate::Candidate {
                host: HostId(1),
                reason: "r".into(),
            }],
            notes: vec![],
        };
        let snapshot = Snapshot::new(vec![host("a")], vec![]);
        assert_eq!(plan.named(&snapshot), Err(UnknownHost(HostId(1))));
    }
}
