//! Output contracts: what a decision must satisfy, whatever the policy computed.
//!
//! A policy is untrusted code. The runtime refuses (as [`crate::PolicyError::InvalidOutput`])
//! any output that names a host it was not shown, admits or refuses a candidate twice,
//! moves a rollout backwards, or omits the reason the ABI requires.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::abi::attestation::{AttestationInput, AttestationVerdict, TrustLevel};
use crate::abi::gate::{GateInput, Verdict};
use crate::abi::health::HealthVerdict;
use crate::abi::rollout::{Plan, RolloutInput, Step};

/// A gate decides about exactly its candidates: each one admitted or refused, exactly once,
/// in candidate order, every refusal with a reason.
pub(crate) fn verdict(input: &GateInput, out: &Verdict) -> Result<(), String> {
    let position: HashMap<&str, usize> = input
        .candidates
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    // Indexed by a name's (last) position among the candidates: no string copies.
    let mut decided = vec![false; input.candidates.len()];
    let mut check_list = |label: &str, names: &mut dyn Iterator<Item = &str>| {
        let mut last = None;
        for name in names {
            let Some(&pos) = position.get(name) else {
                return Err(format!("{label} host `{name}` was not a candidate"));
            };
            if std::mem::replace(&mut decided[pos], true) {
                return Err(format!("candidate `{name}` decided twice"));
            }
            if last.is_some_and(|l| pos < l) {
                return Err(format!(
                    "{label} hosts are not in candidate order at `{name}`"
                ));
            }
            last = Some(pos);
        }
        Ok(())
    };
    check_list("admitted", &mut out.admitted.iter().map(String::as_str))?;
    check_list("refused", &mut out.refused.iter().map(|r| r.host.as_str()))?;
    if let Some(r) = out.refused.iter().find(|r| r.reason.trim().is_empty()) {
        return Err(format!("refusal of `{}` has no reason", r.host));
    }
    if let Some(missing) = input
        .candidates
        .iter()
        .find(|c| position.get(c.as_str()).is_none_or(|&p| !decided[p]))
    {
        return Err(format!(
            "candidate `{missing}` neither admitted nor refused"
        ));
    }
    Ok(())
}

/// A plan only dispatches hosts of its rollout's snapshot, each once and with a reason; it
/// only promotes forward; a stopped or finished rollout dispatches nothing.
pub(crate) fn plan(input: &RolloutInput, out: &Plan) -> Result<(), String> {
    let hosts: HashSet<&str> = input.hosts.iter().map(|h| h.name.as_str()).collect();
    let mut seen = BTreeSet::new();
    for c in &out.candidates {
        if !hosts.contains(c.host.as_str()) {
            return Err(format!(
                "candidate `{}` is not a host of the rollout",
                c.host
            ));
        }
        if !seen.insert(c.host.as_str()) {
            return Err(format!("candidate `{}` listed twice", c.host));
        }
        if c.reason.trim().is_empty() {
            return Err(format!("candidate `{}` has no reason", c.host));
        }
    }
    match &out.step {
        Step::Promote(wave) if *wave <= input.rollout.current_wave => Err(format!(
            "promotes to wave {wave}, not after the current wave {}",
            input.rollout.current_wave
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
    use super::*;
    use crate::abi::types::Refusal;

    fn input(candidates: &[&str]) -> GateInput {
        GateInput {
            now: 0,
            candidates: candidates.iter().map(|c| (*c).to_owned()).collect(),
            hosts: Vec::new(),
            active: Vec::new(),
        }
    }

    fn out(admitted: &[&str], refused: &[&str]) -> Verdict {
        Verdict {
            admitted: admitted.iter().map(|c| (*c).to_owned()).collect(),
            refused: refused
                .iter()
                .map(|h| Refusal {
                    host: (*h).to_owned(),
                    reason: "full".into(),
                })
                .collect(),
        }
    }

    #[test]
    fn a_gate_decides_each_candidate_once_in_order() {
        let i = input(&["a", "b", "c"]);
        assert_eq!(verdict(&i, &out(&["a", "c"], &["b"])), Ok(()));
        assert!(
            verdict(&i, &out(&["a", "x"], &["b", "c"]))
                .is_err_and(|e| e.contains("not a candidate"))
        );
        assert!(verdict(&i, &out(&["a", "a"], &["b", "c"])).is_err_and(|e| e.contains("twice")));
        assert!(verdict(&i, &out(&["a"], &["a", "b", "c"])).is_err_and(|e| e.contains("twice")));
        assert!(verdict(&i, &out(&["c", "a"], &["b"])).is_err_and(|e| e.contains("order")));
        assert!(verdict(&i, &out(&["a"], &["b"])).is_err_and(|e| e.contains("`c` neither")));
        // A candidate listed twice is decided once.
        assert_eq!(
            verdict(&input(&["a", "a", "b"]), &out(&["a", "b"], &[])),
            Ok(())
        );
        // A refusal without a reason.
        let mut v = out(&["a", "b"], &["c"]);
        v.refused[0].reason = " ".into();
        assert!(verdict(&i, &v).is_err_and(|e| e.contains("no reason")));
    }
}
