//! Output contracts: what a decision must satisfy, whatever the policy computed.
//!
//! A policy is untrusted code. The runtime refuses (as [`crate::PolicyError::InvalidOutput`]
//! with its [`OutputViolation`]) any output that names a host it was not shown, admits or
//! refuses a candidate twice, moves a rollout backwards or past its waves, dispatches for
//! a rollout that is not running, or omits the reason the ABI requires (blank meaning
//! [`crate::text::is_blank`]). These checks are pure functions of the output and what the
//! policy was shown, public so that a fuzzer (`host-runtime/fuzz`) and a reconciler's
//! tests can run them on any output.

use std::collections::HashSet;

use crate::abi::attestation::{AttestationInput, AttestationVerdict, TrustLevel};
use crate::abi::gate::Verdict;
use crate::abi::health::HealthVerdict;
use crate::abi::rollout::{Candidate, Plan, Step};
use crate::abi::types::{Refusal, Rollout, RolloutState};
use crate::abi::wire::{PlanOut, VerdictOut};
use crate::error::{DecisionList, OutputViolation, ReasonProblem};
use crate::snapshot::Snapshot;
use crate::text::is_blank;

/// A gate decides about exactly its candidates: each one admitted or refused, exactly once,
/// in candidate order, every refusal with a reason from the verdict's table. `candidates`
/// are the host-ids the policy was given (in the snapshot; a repeated one is decided at
/// its first position).
pub fn verdict(
    candidates: &[u32],
    snapshot: &Snapshot,
    out: &VerdictOut,
) -> Result<(), OutputViolation> {
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
    let name = |id: u32| snapshot.name(id).unwrap_or("?").to_owned();
    let mut decided = 0usize;
    let mut check = |list: DecisionList, ids: &mut dyn Iterator<Item = u32>| {
        let mut last = None;
        for id in ids {
            let Some(s) = slot.get_mut(id as usize) else {
                return Err(OutputViolation::UnknownHost { list, id });
            };
            let pos = match std::mem::replace(s, DECIDED) {
                NOT_A_CANDIDATE => {
                    return Err(OutputViolation::NotACandidate {
                        list,
                        host: name(id),
                    });
                }
                DECIDED => return Err(OutputViolation::DecidedTwice { host: name(id) }),
                pos => pos,
            };
            if last.is_some_and(|l| pos < l) {
                return Err(OutputViolation::OutOfOrder {
                    list,
                    host: name(id),
                });
            }
            last = Some(pos);
            decided += 1;
        }
        Ok(())
    };
    check(DecisionList::Admitted, &mut out.admitted.iter().copied())?;
    check(
        DecisionList::Refused,
        &mut out.refused.iter().map(|r| r.host),
    )?;
    for r in &out.refused {
        reason(&out.reasons, r.reason).map_err(|problem| OutputViolation::MissingReason {
            list: DecisionList::Refused,
            host: name(r.host),
            problem,
        })?;
    }
    if decided != distinct {
        let missing = candidates
            .iter()
            .find(|&&id| slot.get(id as usize).is_some_and(|&s| s != DECIDED))
            .map_or_else(|| "?".to_owned(), |&id| name(id));
        return Err(OutputViolation::Undecided { host: missing });
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
fn reason(reasons: &[String], id: u32) -> Result<&str, ReasonProblem> {
    match reasons.get(id as usize) {
        None => Err(ReasonProblem::Beyond {
            id,
            len: reasons.len(),
        }),
        Some(r) if is_blank(r) => Err(ReasonProblem::Blank { id }),
        Some(r) => Ok(r),
    }
}

/// A plan only dispatches hosts of its rollout's channel, each once and with a reason from
/// its table, and only while the rollout is `running`; it promotes to the next wave only,
/// and (when the caller knows the channel's `waves`) not past the last one; a halting or
/// converging plan dispatches nothing.
pub fn plan(
    rollout: &Rollout,
    waves: Option<u32>,
    snapshot: &Snapshot,
    out: &PlanOut,
) -> Result<(), OutputViolation> {
    if rollout.state != RolloutState::Running && !out.candidates.is_empty() {
        return Err(OutputViolation::DispatchWhileNotRunning {
            state: rollout.state,
        });
    }
    let channel = snapshot.string_id(&rollout.channel);
    let mut seen = vec![false; snapshot.len()];
    for c in &out.candidates {
        let Some(name) = snapshot.name(c.host) else {
            return Err(OutputViolation::UnknownHost {
                list: DecisionList::Candidates,
                id: c.host,
            });
        };
        if channel.is_none() || snapshot.channel_of(c.host) != channel {
            return Err(OutputViolation::OtherChannel {
                host: name.to_owned(),
                channel: rollout.channel.clone(),
            });
        }
        if std::mem::replace(&mut seen[c.host as usize], true) {
            return Err(OutputViolation::ListedTwice {
                host: name.to_owned(),
            });
        }
        reason(&out.reasons, c.reason).map_err(|problem| OutputViolation::MissingReason {
            list: DecisionList::Candidates,
            host: name.to_owned(),
            problem,
        })?;
    }
    let current = rollout.current_wave;
    match &out.step {
        &Step::Promote(wave) if wave <= current => {
            Err(OutputViolation::PromotesBackward { wave, current })
        }
        &Step::Promote(wave) if waves.is_some_and(|n| wave >= n) => {
            Err(OutputViolation::PromotesPastLastWave {
                wave,
                waves: waves.unwrap_or_default(),
            })
        }
        &Step::Promote(wave) if wave - current > 1 => {
            Err(OutputViolation::PromotesSkipping { wave, current })
        }
        Step::Hold(why) | Step::Halt(why) | Step::RollbackAndHalt(why) if is_blank(why) => {
            Err(OutputViolation::StepWithoutReason)
        }
        Step::Halt(_) | Step::RollbackAndHalt(_) | Step::Converge if !out.candidates.is_empty() => {
            Err(OutputViolation::DispatchWhileStopping)
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
pub fn health(out: &HealthVerdict) -> Result<(), OutputViolation> {
    if is_blank(&out.reason) {
        return Err(OutputViolation::VerdictWithoutReason);
    }
    Ok(())
}

/// An attestation verdict says why, and expulsion is final (only re-enrollment, outside
/// any policy, brings a host back).
pub fn attestation(
    input: &AttestationInput,
    out: &AttestationVerdict,
) -> Result<(), OutputViolation> {
    if is_blank(&out.reason) {
        return Err(OutputViolation::VerdictWithoutReason);
    }
    if input.standing == TrustLevel::Expel && out.standing != TrustLevel::Expel {
        return Err(OutputViolation::ExpelledRecovers {
            standing: out.standing,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::abi::types::Host;
    use crate::abi::wire::{CandidateOut, RefusalOut};

    /// Hosts a..e (ids 0..4), all on `prod`.
    fn snapshot() -> Snapshot {
        let hosts: Vec<Host> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|n| Host::idle(*n, if *n == "e" { "dev" } else { "prod" }))
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
        super::verdict(&ids, s, &out).map_err(|e| e.to_string())?;
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
        assert!(err(v).contains("refused `c` has no reason (reason 0 is blank)"));
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
        super::plan(&rollout, None, &s, &ok).unwrap();
        let ok = named_plan(&s, &ok);
        let hosts: Vec<(&str, &str)> = ok
            .candidates
            .iter()
            .map(|c| (c.host.as_str(), c.reason.as_str()))
            .collect();
        assert_eq!(hosts, [("d", "wave 1"), ("a", "wave 1")]);
        let err = |p| super::plan(&rollout, None, &s, &p).unwrap_err().to_string();
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

    fn rollout(state: RolloutState, current_wave: u32) -> Rollout {
        Rollout {
            id: "r".into(),
            channel: "prod".into(),
            target_version: 1,
            current_wave,
            started_at: 0,
            wave_started_at: 0,
            state,
        }
    }

    fn out_plan(step: Step, ids: &[u32], reason: &str) -> PlanOut {
        PlanOut {
            step,
            candidates: ids
                .iter()
                .map(|&host| CandidateOut { host, reason: 0 })
                .collect(),
            reasons: vec![reason.into()],
            notes: vec![],
        }
    }

    /// Item 14 of issue 9: a rollout that is not running dispatches nothing, whatever step
    /// the plan takes.
    #[test]
    fn a_rollout_not_running_dispatches_nothing() {
        let s = snapshot();
        for state in [
            RolloutState::Halted,
            RolloutState::RollingBack,
            RolloutState::Converged,
        ] {
            let r = rollout(state, 0);
            for step in [Step::Hold("soaking".into()), Step::Promote(1)] {
                let err =
                    super::plan(&r, None, &s, &out_plan(step.clone(), &[0], "go")).unwrap_err();
                assert_eq!(
                    err,
                    OutputViolation::DispatchWhileNotRunning { state },
                    "{step:?}"
                );
                // The same plan without candidates is fine.
                super::plan(&r, None, &s, &out_plan(step, &[], "go")).unwrap();
            }
        }
        super::plan(
            &rollout(RolloutState::Running, 0),
            None,
            &s,
            &out_plan(Step::Hold("soaking".into()), &[0], "go"),
        )
        .unwrap();
    }

    /// Item 14: a promotion goes to the next wave, and never past the last configured one.
    #[test]
    fn promotion_is_to_the_next_configured_wave_only() {
        let s = snapshot();
        let r = rollout(RolloutState::Running, 0);
        let promote = |wave| out_plan(Step::Promote(wave), &[], "x");
        super::plan(&r, Some(2), &s, &promote(1)).unwrap();
        super::plan(&r, None, &s, &promote(1)).unwrap();
        assert_eq!(
            super::plan(&r, Some(2), &s, &promote(u32::MAX)),
            Err(OutputViolation::PromotesPastLastWave {
                wave: u32::MAX,
                waves: 2
            })
        );
        assert_eq!(
            super::plan(&r, None, &s, &promote(u32::MAX)),
            Err(OutputViolation::PromotesSkipping {
                wave: u32::MAX,
                current: 0
            })
        );
        let last = rollout(RolloutState::Running, 1);
        assert_eq!(
            super::plan(&last, Some(2), &s, &promote(2)),
            Err(OutputViolation::PromotesPastLastWave { wave: 2, waves: 2 })
        );
        assert_eq!(
            super::plan(&last, Some(2), &s, &promote(1)),
            Err(OutputViolation::PromotesBackward {
                wave: 1,
                current: 1
            })
        );
    }

    /// Item 14: a reason of invisible characters is as blank as an empty one, in every
    /// place a reason is required.
    #[test]
    fn invisible_reasons_are_blank() {
        let s = snapshot();
        let r = rollout(RolloutState::Running, 0);
        for blank in [
            "\u{200b}\u{200b}",
            "\u{feff}",
            " \u{2060}\t",
            "\u{202e}\u{200d}",
        ] {
            assert_eq!(
                super::plan(&r, None, &s, &out_plan(Step::Hold(blank.into()), &[], "x")),
                Err(OutputViolation::StepWithoutReason)
            );
            assert!(matches!(
                super::plan(&r, None, &s, &out_plan(Step::Hold("x".into()), &[0], blank)),
                Err(OutputViolation::MissingReason {
                    problem: ReasonProblem::Blank { id: 0 },
                    ..
                })
            ));
            let mut v = out(&[0], &[1]);
            v.reasons[0] = blank.into();
            assert!(matches!(
                super::verdict(&[0, 1], &s, &v),
                Err(OutputViolation::MissingReason { .. })
            ));
            let h = HealthVerdict {
                status: crate::abi::health::HealthStatus::Healthy,
                reason: blank.into(),
            };
            assert_eq!(health(&h), Err(OutputViolation::VerdictWithoutReason));
        }
    }
}
