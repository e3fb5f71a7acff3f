//! Output contracts: what a decision must satisfy, whatever the policy computed.
//!
//! A policy is untrusted code. The runtime refuses (as [`crate::PolicyError::InvalidOutput`])
//! any output that names a host it was not shown, admits or refuses a candidate twice,
//! moves a rollout backwards, or omits the reason the ABI requires.

use std::collections::HashSet;

use crate::abi::attestation::{AttestationInput, AttestationVerdict, TrustLevel};
use crate::abi::gate::Verdict;
use crate::abi::health::HealthVerdict;
use crate::abi::rollout::{Candidate, Plan, Step};
use crate::abi::types::{Refusal, Rollout};
use crate::abi::wire::{PlanOut, VerdictOut};
use crate::snapshot::Snapshot;

/// A gate decides about exactly its candidates: each one admitted or refused, exactly once,
/// in candidate order, every refusal with a reason. The policy saw the candidates that
/// are in the snapshot, by `host-id`; the others are refused here, in their place. The
/// result names hosts.
///
/// `resolved[i]` is the `host-id` of `candidates[i]`, if it is in the snapshot.
pub(crate) fn verdict(
    candidates: &[String],
    resolved: &[Option<u32>],
    snapshot: &Snapshot,
    out: VerdictOut,
) -> Result<Verdict, String> {
    const NOT_A_CANDIDATE: usize = usize::MAX;
    // Per host-id: the position of its first appearance among the candidates.
    let mut first = vec![NOT_A_CANDIDATE; snapshot.hosts().len()];
    let mut unknown: Vec<(usize, &str)> = Vec::new();
    let mut seen_unknown = HashSet::new();
    let mut known = 0usize;
    for (pos, (name, id)) in candidates.iter().zip(resolved).enumerate() {
        match *id {
            Some(id) => {
                let slot = &mut first[id as usize];
                if *slot == NOT_A_CANDIDATE {
                    *slot = pos;
                    known += 1;
                }
            }
            None => {
                if seen_unknown.insert(name.as_str()) {
                    unknown.push((pos, name.as_str()));
                }
            }
        }
    }
    let mut decided = vec![false; snapshot.hosts().len()];
    let mut check = |label: &str, ids: &mut dyn Iterator<Item = u32>| {
        let mut last = None;
        let mut named = Vec::new();
        for id in ids {
            let Some(host) = snapshot.host(id) else {
                return Err(format!("{label} host-id {id} is not in the snapshot"));
            };
            let name = &host.name;
            let pos = first[id as usize];
            if pos == NOT_A_CANDIDATE {
                return Err(format!("{label} host `{name}` was not a candidate"));
            }
            if std::mem::replace(&mut decided[id as usize], true) {
                return Err(format!("candidate `{name}` decided twice"));
            }
            if last.is_some_and(|l| pos < l) {
                return Err(format!(
                    "{label} hosts are not in candidate order at `{name}`"
                ));
            }
            last = Some(pos);
            named.push((pos, name.clone()));
        }
        Ok(named)
    };
    let admitted = check("admitted", &mut out.admitted.iter().copied())?;
    let refused = check("refused", &mut out.refused.iter().map(|r| r.host))?;
    if let Some((i, _)) = out
        .refused
        .iter()
        .enumerate()
        .find(|(_, r)| r.reason.trim().is_empty())
    {
        return Err(format!("refusal of `{}` has no reason", refused[i].1));
    }
    if admitted.len() + refused.len() != known {
        let missing = candidates
            .iter()
            .zip(resolved)
            .find(|(_, id)| id.is_some_and(|id| !decided[id as usize]))
            .map_or("?", |(c, _)| c.as_str());
        return Err(format!(
            "candidate `{missing}` neither admitted nor refused"
        ));
    }
    // The policy's refusals and the runtime's, merged in candidate order.
    let mut merged = Vec::with_capacity(refused.len() + unknown.len());
    let mut theirs = refused
        .into_iter()
        .zip(out.refused.into_iter().map(|r| r.reason))
        .peekable();
    let mut ours = unknown.into_iter().peekable();
    loop {
        let take_ours = match (theirs.peek(), ours.peek()) {
            (None, None) => break,
            (Some(_), None) => false,
            (None, Some(_)) => true,
            (Some(((t, _), _)), Some((o, _))) => o < t,
        };
        if take_ours {
            if let Some((_, name)) = ours.next() {
                merged.push(Refusal {
                    host: name.to_owned(),
                    reason: format!("{name} is not in the fleet snapshot"),
                });
            }
        } else if let Some(((_, host), reason)) = theirs.next() {
            merged.push(Refusal { host, reason });
        }
    }
    Ok(Verdict {
        admitted: admitted.into_iter().map(|(_, n)| n).collect(),
        refused: merged,
    })
}

/// A plan only dispatches hosts of its rollout's channel, each once and with a reason; it
/// only promotes forward; a stopped or finished rollout dispatches nothing. The result
/// names hosts.
pub(crate) fn plan(rollout: &Rollout, snapshot: &Snapshot, out: PlanOut) -> Result<Plan, String> {
    let mut seen = vec![false; snapshot.hosts().len()];
    let mut candidates = Vec::with_capacity(out.candidates.len());
    for c in out.candidates {
        let Some(host) = snapshot.host(c.host) else {
            return Err(format!(
                "candidate host-id {} is not in the snapshot",
                c.host
            ));
        };
        if host.channel != rollout.channel {
            return Err(format!(
                "candidate `{}` is not a host of the rollout's channel `{}`",
                host.name, rollout.channel
            ));
        }
        if std::mem::replace(&mut seen[c.host as usize], true) {
            return Err(format!("candidate `{}` listed twice", host.name));
        }
        if c.reason.trim().is_empty() {
            return Err(format!("candidate `{}` has no reason", host.name));
        }
        candidates.push(Candidate {
            host: host.name.clone(),
            reason: c.reason,
        });
    }
    match &out.step {
        Step::Promote(wave) if *wave <= rollout.current_wave => Err(format!(
            "promotes to wave {wave}, not after the current wave {}",
            rollout.current_wave
        )),
        Step::Hold(why) | Step::Halt(why) | Step::RollbackAndHalt(why) if why.trim().is_empty() => {
            Err("a hold or halt without a reason".to_owned())
        }
        Step::Halt(_) | Step::RollbackAndHalt(_) | Step::Converge if !candidates.is_empty() => {
            Err("a halted or converged rollout dispatches no candidate".to_owned())
        }
        _ => Ok(Plan {
            step: out.step,
            candidates,
            notes: out.notes,
        }),
    }
}

/// A health verdict says why.
pub(crate) fn health(out: &HealthVerdict) -> Result<(), String> {
    if out.reason.trim().is_empty() {
        return Err("health verdict without a reason".to_owned());
    }
    Ok(())
}

/// An attestation verdict says why, and expulsion is final (only re-enrollment, outside
/// any policy, brings a host back).
pub(crate) fn attestation(
    input: &AttestationInput,
    out: &AttestationVerdict,
) -> Result<(), String> {
    if out.reason.trim().is_empty() {
        return Err("attestation verdict without a reason".to_owned());
    }
    if input.standing == TrustLevel::Expel && out.standing != TrustLevel::Expel {
        return Err(format!(
            "an expelled host cannot become {:?} without re-enrollment",
            out.standing
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::abi::types::{Host, HostPhase, RolloutState};
    use crate::abi::wire::{CandidateOut, RefusalOut};

    /// Hosts a..e (ids 0..4), all on `prod`.
    fn snapshot() -> Snapshot {
        let hosts = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|n| Host {
                name: (*n).into(),
                channel: if *n == "e" { "dev" } else { "prod" }.into(),
                tags: vec![],
                current_closure: None,
                target_closure: None,
                phase: HostPhase::Idle,
                phase_since: 0,
                last_seen: None,
                rollout: None,
            })
            .collect();
        Snapshot::new(hosts, vec![]).unwrap()
    }

    fn names(c: &[&str]) -> Vec<String> {
        c.iter().map(|c| (*c).to_owned()).collect()
    }

    fn verdict(c: &[String], s: &Snapshot, out: VerdictOut) -> Result<Verdict, String> {
        let resolved: Vec<Option<u32>> = c.iter().map(|c| s.position(c)).collect();
        super::verdict(c, &resolved, s, out)
    }

    fn out(admitted: &[u32], refused: &[u32]) -> VerdictOut {
        VerdictOut {
            admitted: admitted.to_vec(),
            refused: refused
                .iter()
                .map(|&host| RefusalOut {
                    host,
                    reason: "full".into(),
                })
                .collect(),
        }
    }

    #[test]
    fn a_gate_decides_each_candidate_once_in_order() {
        let s = snapshot();
        let c = names(&["a", "b", "c"]);
        let v = verdict(&c, &s, out(&[0, 2], &[1])).unwrap();
        assert_eq!(v.admitted, ["a", "c"]);
        assert_eq!(v.refused[0].host, "b");
        let err = |o| verdict(&c, &s, o).unwrap_err();
        assert!(err(out(&[0, 3], &[1, 2])).contains("`d` was not a candidate"));
        assert!(err(out(&[0, 9], &[1, 2])).contains("host-id 9 is not in the snapshot"));
        assert!(err(out(&[0, 0], &[1, 2])).contains("twice"));
        assert!(err(out(&[0], &[0, 1, 2])).contains("twice"));
        assert!(err(out(&[2, 0], &[1])).contains("order"));
        assert!(err(out(&[0], &[1])).contains("`c` neither"));
        // A candidate listed twice is decided once.
        let twice = names(&["a", "a", "b"]);
        assert!(verdict(&twice, &s, out(&[0, 1], &[])).is_ok());
        // A refusal without a reason.
        let mut v = out(&[0, 1], &[2]);
        v.refused[0].reason = " ".into();
        assert!(err(v).contains("no reason"));
    }

    #[test]
    fn unknown_candidates_are_refused_in_their_place() {
        let s = snapshot();
        let c = names(&["x", "b", "y", "a", "x", "c"]);
        let v = verdict(&c, &s, out(&[1], &[0, 2])).unwrap();
        assert_eq!(v.admitted, ["b"]);
        let refused: Vec<(&str, &str)> = v
            .refused
            .iter()
            .map(|r| (r.host.as_str(), r.reason.as_str()))
            .collect();
        assert_eq!(
            refused,
            [
                ("x", "x is not in the fleet snapshot"),
                ("y", "y is not in the fleet snapshot"),
                ("a", "full"),
                ("c", "full"),
            ]
        );
    }

    #[test]
    fn a_plan_dispatches_hosts_of_its_channel_once_each() {
        let s = snapshot();
        let rollout = Rollout {
            id: "r".into(),
            channel: "prod".into(),
            target_version: 1,
            current_wave: 1,
            started_at: 0,
            wave_started_at: 0,
            state: RolloutState::Running,
        };
        let plan = |step: Step, ids: &[u32]| PlanOut {
            step,
            candidates: ids
                .iter()
                .map(|&host| CandidateOut {
                    host,
                    reason: "wave 1".into(),
                })
                .collect(),
            notes: vec![],
        };
        let ok = super::plan(&rollout, &s, plan(Step::Hold("soaking".into()), &[3, 0])).unwrap();
        let hosts: Vec<&str> = ok.candidates.iter().map(|c| c.host.as_str()).collect();
        assert_eq!(hosts, ["d", "a"]);
        let err = |p| super::plan(&rollout, &s, p).unwrap_err();
        assert!(err(plan(Step::Hold("x".into()), &[4])).contains("channel `prod`"));
        assert!(err(plan(Step::Hold("x".into()), &[7])).contains("host-id 7"));
        assert!(err(plan(Step::Hold("x".into()), &[1, 1])).contains("twice"));
        assert!(err(plan(Step::Promote(1), &[])).contains("not after the current wave"));
        assert!(err(plan(Step::Converge, &[0])).contains("dispatches no candidate"));
    }
}
