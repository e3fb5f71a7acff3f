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
/// in candidate order, every refusal with a reason from the verdict's table. `candidates`
/// are the host-ids the policy was given (in the snapshot; a repeated one is decided at
/// its first position).
pub(crate) fn verdict(
    candidates: &[u32],
    snapshot: &Snapshot,
    out: &VerdictOut,
) -> Result<(), String> {
    // Per host-id: the position of its first appearance among the candidates, until it is
    // decided.
    const NOT_A_CANDIDATE: usize = usize::MAX;
    const DECIDED: usize = usize::MAX - 1;
    let mut slot = vec![NOT_A_CANDIDATE; snapshot.len()];
    let mut distinct = 0usize;
    for (pos, &id) in candidates.iter().enumerate() {
        if let Some(s) = slot.get_mut(id as usize)
            && *s == NOT_A_CANDIDATE
        {
            *s = pos;
            distinct += 1;
        }
    }
    let name = |id: u32| snapshot.name(id).unwrap_or("?");
    let mut decided = 0usize;
    let mut check = |label: &str, ids: &mut dyn Iterator<Item = u32>| {
        let mut last = None;
        for id in ids {
            let Some(s) = slot.get_mut(id as usize) else {
                return Err(format!("{label} host-id {id} is not in the snapshot"));
            };
            let pos = match std::mem::replace(s, DECIDED) {
                NOT_A_CANDIDATE => {
                    return Err(format!("{label} host `{}` was not a candidate", name(id)));
                }
                DECIDED => return Err(format!("candidate `{}` decided twice", name(id))),
                pos => pos,
            };
            if last.is_some_and(|l| pos < l) {
                return Err(format!(
                    "{label} hosts are not in candidate order at `{}`",
                    name(id)
                ));
            }
            last = Some(pos);
            decided += 1;
        }
        Ok(())
    };
    check("admitted", &mut out.admitted.iter().copied())?;
    check("refused", &mut out.refused.iter().map(|r| r.host))?;
    for r in &out.refused {
        reason(&out.reasons, r.reason)
            .map_err(|why| format!("refusal of `{}` has no reason{why}", name(r.host)))?;
    }
    if decided != distinct {
        let missing = candidates
            .iter()
            .find(|&&id| slot[id as usize] != DECIDED)
            .map_or("?", |&id| name(id));
        return Err(format!(
            "candidate `{missing}` neither admitted nor refused"
        ));
    }
    Ok(())
}

/// A validated verdict on host names: the policy's decisions on the candidates it saw
/// (`resolved[i]` is the host-id of `candidates[i]`, if it is in the snapshot), and the
/// runtime's refusal of every name not in the snapshot, merged in candidate order. One
/// walk: the policy's refusals are in candidate order, each at its host's first place.
pub(crate) fn named_verdict(
    candidates: &[String],
    resolved: &[Option<u32>],
    snapshot: &Snapshot,
    out: &VerdictOut,
) -> Verdict {
    let name = |id: u32| snapshot.name(id).unwrap_or("?").to_owned();
    let mut theirs = out.refused.iter().peekable();
    let mut unknown = HashSet::new();
    let mut refused = Vec::with_capacity(out.refused.len());
    for (candidate, id) in candidates.iter().zip(resolved) {
        match *id {
            None if unknown.insert(candidate.as_str()) => refused.push(Refusal {
                host: candidate.clone(),
                reason: format!("{candidate} is not in the fleet snapshot"),
            }),
            None => {}
            Some(id) => {
                if let Some(r) = theirs.next_if(|r| r.host == id) {
                    refused.push(Refusal {
                        host: name(id),
                        reason: reason(&out.reasons, r.reason)
                            .unwrap_or_default()
                            .to_owned(),
                    });
                }
            }
        }
    }
    Verdict {
        admitted: out.admitted.iter().map(|&id| name(id)).collect(),
        refused,
    }
}

/// Reason `id` of a decision's table, or why an operator could not read it.
fn reason(reasons: &[String], id: u32) -> Result<&str, String> {
    match reasons.get(id as usize) {
        None => Err(format!(
            " (reason-id {id} is beyond the {} reasons)",
            reasons.len()
        )),
        Some(r) if r.trim().is_empty() => Err(format!(" (reason {id} is blank)")),
        Some(r) => Ok(r),
    }
}

/// A plan only dispatches hosts of its rollout's channel, each once and with a reason from
/// its table; it only promotes forward; a stopped or finished rollout dispatches nothing.
pub(crate) fn plan(rollout: &Rollout, snapshot: &Snapshot, out: &PlanOut) -> Result<(), String> {
    let channel = snapshot.string_id(&rollout.channel);
    let mut seen = vec![false; snapshot.len()];
    for c in &out.candidates {
        let Some(name) = snapshot.name(c.host) else {
            return Err(format!(
                "candidate host-id {} is not in the snapshot",
                c.host
            ));
        };
        if channel.is_none() || snapshot.channel_of(c.host) != channel {
            return Err(format!(
                "candidate `{name}` is not a host of the rollout's channel `{}`",
                rollout.channel
            ));
        }
        if std::mem::replace(&mut seen[c.host as usize], true) {
            return Err(format!("candidate `{name}` listed twice"));
        }
        reason(&out.reasons, c.reason)
            .map_err(|why| format!("candidate `{name}` has no reason{why}"))?;
    }
    match &out.step {
        Step::Promote(wave) if *wave <= rollout.current_wave => Err(format!(
            "promotes to wave {wave}, not after the current wave {}",
            rollout.current_wave
        )),
        Step::Hold(why) | Step::Halt(why) | Step::RollbackAndHalt(why) if why.trim().is_empty() => {
            Err("a hold or halt without a reason".to_owned())
        }
        Step::Halt(_) | Step::RollbackAndHalt(_) | Step::Converge if !out.candidates.is_empty() => {
            Err("a halted or converged rollout dispatches no candidate".to_owned())
        }
        _ => Ok(()),
    }
}

/// A validated plan on host names.
pub(crate) fn named_plan(snapshot: &Snapshot, out: &PlanOut) -> Plan {
    Plan {
        step: out.step.clone(),
        candidates: out
            .candidates
            .iter()
            .map(|c| Candidate {
                host: snapshot.name(c.host).unwrap_or("?").to_owned(),
                reason: reason(&out.reasons, c.reason)
                    .unwrap_or_default()
                    .to_owned(),
            })
            .collect(),
        notes: out.notes.clone(),
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
        let hosts: Vec<Host> = ["a", "b", "c", "d", "e"]
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
        Snapshot::new(&hosts, vec![]).unwrap()
    }

    fn names(c: &[&str]) -> Vec<String> {
        c.iter().map(|c| (*c).to_owned()).collect()
    }

    /// Validates on the candidates' ids, then names the verdict.
    fn verdict(c: &[String], s: &Snapshot, out: VerdictOut) -> Result<Verdict, String> {
        let resolved: Vec<Option<u32>> = c.iter().map(|c| s.position(c)).collect();
        let ids: Vec<u32> = resolved.iter().flatten().copied().collect();
        super::verdict(&ids, s, &out)?;
        Ok(named_verdict(c, &resolved, s, &out))
    }

    fn out(admitted: &[u32], refused: &[u32]) -> VerdictOut {
        VerdictOut {
            admitted: admitted.to_vec(),
            refused: refused
                .iter()
                .map(|&host| RefusalOut { host, reason: 0 })
                .collect(),
            reasons: vec!["full".into()],
        }
    }

    #[test]
    fn a_gate_decides_each_candidate_once_in_order() {
        let s = snapshot();
        let c = names(&["a", "b", "c"]);
        let v = verdict(&c, &s, out(&[0, 2], &[1])).unwrap();
        assert_eq!(v.admitted, ["a", "c"]);
        assert_eq!(v.refused[0].host, "b");
        assert_eq!(v.refused[0].reason, "full");
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
        // A refusal without a reason: blank, or beyond the table.
        let mut v = out(&[0, 1], &[2]);
        v.reasons[0] = " ".into();
        assert!(err(v).contains("refusal of `c` has no reason (reason 0 is blank)"));
        let mut v = out(&[0, 1], &[2]);
        v.refused[0].reason = 1;
        assert!(err(v).contains("reason-id 1 is beyond the 1 reasons"));
        // An unused table entry is allowed, blank or not; so is an empty table with no
        // refusal.
        let mut v = out(&[0, 1, 2], &[]);
        v.reasons.push(String::new());
        assert!(verdict(&c, &s, v).is_ok());
        let mut v = out(&[0, 1, 2], &[]);
        v.reasons.clear();
        assert!(verdict(&c, &s, v).is_ok());
    }

    #[test]
    fn unknown_candidates_are_refused_in_their_place() {
        let s = snapshot();
        let c = names(&["x", "b", "y", "a", "x", "c", "z"]);
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
                ("z", "z is not in the fleet snapshot"),
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
                .map(|&host| CandidateOut { host, reason: 0 })
                .collect(),
            reasons: vec!["wave 1".into()],
            notes: vec![],
        };
        let ok = plan(Step::Hold("soaking".into()), &[3, 0]);
        super::plan(&rollout, &s, &ok).unwrap();
        let ok = named_plan(&s, &ok);
        let hosts: Vec<(&str, &str)> = ok
            .candidates
            .iter()
            .map(|c| (c.host.as_str(), c.reason.as_str()))
            .collect();
        assert_eq!(hosts, [("d", "wave 1"), ("a", "wave 1")]);
        let err = |p| super::plan(&rollout, &s, &p).unwrap_err();
        let mut blank = plan(Step::Hold("x".into()), &[0]);
        blank.reasons[0] = String::new();
        assert!(err(blank).contains("`a` has no reason"));
        let mut beyond = plan(Step::Hold("x".into()), &[0]);
        beyond.candidates[0].reason = 5;
        assert!(err(beyond).contains("reason-id 5"));
        assert!(err(plan(Step::Hold("x".into()), &[4])).contains("channel `prod`"));
        assert!(err(plan(Step::Hold("x".into()), &[7])).contains("host-id 7"));
        assert!(err(plan(Step::Hold("x".into()), &[1, 1])).contains("twice"));
        assert!(err(plan(Step::Promote(1), &[])).contains("not after the current wave"));
        assert!(err(plan(Step::Converge, &[0])).contains("dispatches no candidate"));
    }
}
