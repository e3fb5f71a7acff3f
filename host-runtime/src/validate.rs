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
    let first = first_positions(candidates, snapshot.hosts().len());
    let name = |id: u32| snapshot.name(id).unwrap_or("?");
    let mut decided = vec![false; snapshot.hosts().len()];
    let mut count = 0usize;
    let mut check = |label: &str, ids: &mut dyn Iterator<Item = u32>| {
        let mut last = None;
        for id in ids {
            let Some(&pos) = first.get(id as usize) else {
                return Err(format!("{label} host-id {id} is not in the snapshot"));
            };
            if pos == NOT_A_CANDIDATE {
                return Err(format!("{label} host `{}` was not a candidate", name(id)));
            }
            if std::mem::replace(&mut decided[id as usize], true) {
                return Err(format!("candidate `{}` decided twice", name(id)));
            }
            if last.is_some_and(|l| pos < l) {
                return Err(format!(
                    "{label} hosts are not in candidate order at `{}`",
                    name(id)
                ));
            }
            last = Some(pos);
            count += 1;
        }
        Ok(())
    };
    check("admitted", &mut out.admitted.iter().copied())?;
    check("refused", &mut out.refused.iter().map(|r| r.host))?;
    let reasons = reason_table(&out.reasons)?;
    if let Some(r) = out.refused.iter().find(|r| !reasons.has(r.reason)) {
        return Err(format!(
            "refusal of `{}` has no reason{}",
            name(r.host),
            reasons.why(r.reason)
        ));
    }
    let distinct = first.iter().filter(|&&p| p != NOT_A_CANDIDATE).count();
    if count != distinct {
        let missing = candidates
            .iter()
            .find(|&&id| !decided[id as usize])
            .map_or("?", |&id| name(id));
        return Err(format!(
            "candidate `{missing}` neither admitted nor refused"
        ));
    }
    Ok(())
}

/// A validated verdict on host names: the policy's decisions on the candidates it saw
/// (`resolved[i]` is the host-id of `candidates[i]`, if it is in the snapshot), and the
/// runtime's refusal of every name not in the snapshot, merged in candidate order.
pub(crate) fn named_verdict(
    candidates: &[String],
    resolved: &[Option<u32>],
    snapshot: &Snapshot,
    out: &VerdictOut,
) -> Verdict {
    let ids: Vec<u32> = resolved.iter().flatten().copied().collect();
    let first = first_positions(&ids, snapshot.hosts().len());
    let name = |id: u32| snapshot.name(id).unwrap_or("?").to_owned();
    let reason = |r: u32| out.reasons.get(r as usize).cloned().unwrap_or_default();
    // Candidate positions of the policy's refusals (by their place among the known ones)
    // against the unknown names' places in the whole list.
    let mut unknown = Vec::new();
    let mut seen_unknown = HashSet::new();
    let mut known_before = 0usize;
    for (name, id) in candidates.iter().zip(resolved) {
        match id {
            Some(_) => known_before += 1,
            None => {
                if seen_unknown.insert(name.as_str()) {
                    unknown.push((known_before, name.as_str()));
                }
            }
        }
    }
    let mut refused = Vec::with_capacity(out.refused.len() + unknown.len());
    let mut ours = unknown.into_iter().peekable();
    for r in &out.refused {
        let pos = first
            .get(r.host as usize)
            .copied()
            .unwrap_or(NOT_A_CANDIDATE);
        while let Some((_, n)) = ours.next_if(|(before, _)| *before <= pos) {
            refused.push(Refusal {
                host: n.to_owned(),
                reason: format!("{n} is not in the fleet snapshot"),
            });
        }
        refused.push(Refusal {
            host: name(r.host),
            reason: reason(r.reason),
        });
    }
    refused.extend(ours.map(|(_, n)| Refusal {
        host: n.to_owned(),
        reason: format!("{n} is not in the fleet snapshot"),
    }));
    Verdict {
        admitted: out.admitted.iter().map(|&id| name(id)).collect(),
        refused,
    }
}

const NOT_A_CANDIDATE: usize = usize::MAX;

/// Per host-id: the position of its first appearance among `candidates`.
fn first_positions(candidates: &[u32], hosts: usize) -> Vec<usize> {
    let mut first = vec![NOT_A_CANDIDATE; hosts];
    for (pos, &id) in candidates.iter().enumerate() {
        if let Some(slot) = first.get_mut(id as usize)
            && *slot == NOT_A_CANDIDATE
        {
            *slot = pos;
        }
    }
    first
}

/// Which entries of a decision's reason table an operator can read.
struct Reasons(Vec<bool>);

impl Reasons {
    fn has(&self, id: u32) -> bool {
        self.0.get(id as usize).copied().unwrap_or(false)
    }

    fn why(&self, id: u32) -> String {
        match self.0.get(id as usize) {
            None => format!(" (reason-id {id} is beyond the {} reasons)", self.0.len()),
            Some(_) => format!(" (reason {id} is blank)"),
        }
    }
}

fn reason_table(reasons: &[String]) -> Result<Reasons, String> {
    u32::try_from(reasons.len()).map_err(|_| "reason table too large".to_owned())?;
    Ok(Reasons(
        reasons.iter().map(|r| !r.trim().is_empty()).collect(),
    ))
}

/// A plan only dispatches hosts of its rollout's channel, each once and with a reason from
/// its table; it only promotes forward; a stopped or finished rollout dispatches nothing.
pub(crate) fn plan(rollout: &Rollout, snapshot: &Snapshot, out: &PlanOut) -> Result<(), String> {
    let channel = snapshot.string_id(&rollout.channel);
    let reasons = reason_table(&out.reasons)?;
    let mut seen = vec![false; snapshot.hosts().len()];
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
        if !reasons.has(c.reason) {
            return Err(format!(
                "candidate `{name}` has no reason{}",
                reasons.why(c.reason)
            ));
        }
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
                reason: out
                    .reasons
                    .get(c.reason as usize)
                    .cloned()
                    .unwrap_or_default(),
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
        // An unused table entry is allowed; so is an empty table with no refusal.
        let mut v = out(&[0, 1, 2], &[]);
        v.reasons.push(String::new());
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
