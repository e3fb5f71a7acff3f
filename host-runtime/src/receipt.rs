//! Receipts: what an auditor needs to prove which policy decided what.

use convoy_proto::Sha256Digest;

use crate::abi::rollout::Step;
use crate::abi::wire::{PlanOut, VerdictOut};
use crate::le_hash::LeHash;

use convoy_proto::PolicyKind;

/// The record of one evaluation.
///
/// `input_sha256` covers the canonical JSON (RFC 8785) of `{config, function, input}`,
/// where a rollout or gate input names its fleet snapshot by hash (`"snapshot": "<hex>"`,
/// also given as `snapshot_sha256`) instead of repeating its hosts: the snapshot is hashed
/// once per tick (see [`crate::Snapshot`]), and a gate's candidates by the hash of the
/// host-ids the policy was given, in order. `output_sha256` covers what the policy returned: for a plan or a
/// verdict, its boundary form (hosts by host-id, reasons by table) in the byte layout of
/// `docs/policy-abi.md` ("Decision hash"); for the other calls, the canonical JSON of the
/// validated output. Replaying the same input through the same component must
/// reproduce every hash and `fuel_used` exactly.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Receipt {
    /// Policy name from the bundle manifest.
    pub policy: String,
    /// sha256 of the component that ran.
    pub policy_sha256: Sha256Digest,
    /// The world it ran as.
    pub kind: PolicyKind,
    /// The export that was called (`admit`, `validate-config`...).
    pub function: String,
    /// sha256 of the canonical input.
    pub input_sha256: Sha256Digest,
    /// sha256 of the fleet snapshot the input names (rollout and gate calls).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_sha256: Option<Sha256Digest>,
    /// sha256 of the output (see above).
    pub output_sha256: Sha256Digest,
    /// Fuel the call consumed, instantiation included.
    pub fuel_used: u64,
}

/// A validated decision and its receipt.
#[derive(Debug, Clone)]
pub struct Evaluation<T> {
    /// The policy's decision.
    pub output: T,
    /// The receipt of the call.
    pub receipt: Receipt,
}

impl<T> Evaluation<T> {
    /// The same evaluation with its output mapped (named, say: `eval.map(|o|
    /// snapshot.name_plan(&o))`); the receipt is unchanged.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Evaluation<U> {
        Evaluation {
            output: f(self.output),
            receipt: self.receipt,
        }
    }
}

impl<T: serde::Serialize> Evaluation<T> {
    /// The canonical JSON (RFC 8785) of the decision, to compare two evaluations byte for
    /// byte (the receipt's `output_sha256` of a plan or a verdict covers their boundary
    /// form instead).
    pub fn output_json(&self) -> Result<Vec<u8>, convoy_proto::json::JsonError> {
        convoy_proto::json::canonical_bytes(&self.output)
    }
}

/// The domain tag of a plan's hash.
pub const PLAN_DOMAIN: &[u8] = b"convoy:policy/plan@1\n";
/// The domain tag of a verdict's hash.
pub const VERDICT_DOMAIN: &[u8] = b"convoy:policy/verdict@1\n";

/// sha256 of a plan in its boundary form (`docs/policy-abi.md`, "Decision hash"): the
/// shared layout of [`LeHash`], with the `step` as its case index in one byte, then its
/// payload.
pub(crate) fn plan_sha256(plan: &PlanOut) -> Sha256Digest {
    let mut h = LeHash::new(PLAN_DOMAIN);
    let (case, text, wave) = match &plan.step {
        Step::Hold(why) => (0u8, Some(why), None),
        Step::Promote(wave) => (1, None, Some(*wave)),
        Step::Halt(why) => (2, Some(why), None),
        Step::RollbackAndHalt(why) => (3, Some(why), None),
        Step::Converge => (4, None, None),
    };
    h.raw(&[case]);
    if let Some(why) = text {
        h.bytes(why.as_bytes());
    }
    if let Some(wave) = wave {
        h.raw(&wave.to_le_bytes());
    }
    h.pairs(plan.candidates.iter().map(|c| (c.host, c.reason)));
    h.texts(&plan.reasons);
    h.texts(&plan.notes);
    h.finish()
}

/// The domain tag of a gate's candidate list in its receipt's input.
pub const CANDIDATES_DOMAIN: &[u8] = b"convoy:policy/candidates@1\n";

/// sha256 of the host-ids a gate was given, in order: what the receipt's input names
/// instead of listing thousands of ids.
pub(crate) fn candidates_sha256(ids: &[u32]) -> Sha256Digest {
    let mut h = LeHash::new(CANDIDATES_DOMAIN);
    h.u32s(ids);
    h.finish()
}

/// sha256 of a verdict in its boundary form.
pub(crate) fn verdict_sha256(verdict: &VerdictOut) -> Sha256Digest {
    let mut h = LeHash::new(VERDICT_DOMAIN);
    h.u32s(&verdict.admitted);
    h.pairs(verdict.refused.iter().map(|r| (r.host, r.reason)));
    h.texts(&verdict.reasons);
    h.finish()
}

/// A receipt together with the call it records: what `convoy audit replay` re-executes.
///
/// The control plane journals these; `convoy policy eval --evidence FILE` writes one.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// The receipt of the original evaluation.
    pub receipt: Receipt,
    /// The call that was evaluated.
    pub call: crate::PolicyCall,
}

/// The result of replaying [`Evidence`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Replay {
    /// The receipt of the re-execution.
    pub replayed: Receipt,
    /// Every field that differs from the original receipt (empty: the decision is proven).
    pub mismatches: Vec<String>,
}

impl Replay {
    /// Whether the replay reproduced the original receipt exactly.
    pub fn proven(&self) -> bool {
        self.mismatches.is_empty()
    }
}

impl Receipt {
    /// The fields of `self` that differ from `other`, named as in the JSON form, with both
    /// values. The policy's name is not compared: it is the bundle's label for the
    /// component, not part of what was decided (`policySha256` is).
    pub fn differences(&self, other: &Receipt) -> Vec<String> {
        let mut out = Vec::new();
        let mut check =
            |field: &str, differs: bool, a: &dyn std::fmt::Debug, b: &dyn std::fmt::Debug| {
                if differs {
                    out.push(format!("{field}: {a:?} != {b:?}"));
                }
            };
        let (a, b) = (self, other);
        check(
            "policySha256",
            a.policy_sha256 != b.policy_sha256,
            &a.policy_sha256.to_string(),
            &b.policy_sha256.to_string(),
        );
        check("kind", a.kind != b.kind, &a.kind, &b.kind);
        check(
            "function",
            a.function != b.function,
            &a.function,
            &b.function,
        );
        check(
            "inputSha256",
            a.input_sha256 != b.input_sha256,
            &a.input_sha256.to_string(),
            &b.input_sha256.to_string(),
        );
        check(
            "snapshotSha256",
            a.snapshot_sha256 != b.snapshot_sha256,
            &a.snapshot_sha256.map(|d| d.to_string()),
            &b.snapshot_sha256.map(|d| d.to_string()),
        );
        check(
            "outputSha256",
            a.output_sha256 != b.output_sha256,
            &a.output_sha256.to_string(),
            &b.output_sha256.to_string(),
        );
        check(
            "fuelUsed",
            a.fuel_used != b.fuel_used,
            &a.fuel_used,
            &b.fuel_used,
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::wire::{CandidateOut, RefusalOut};

    // Pinned, and recomputed independently from the layout of docs/policy-abi.md
    // ("Decision hash") with a few lines of Python: the format must not drift.
    #[test]
    fn decision_hashes_follow_the_documented_layout() {
        let verdict = VerdictOut {
            admitted: vec![0, 2],
            refused: vec![RefusalOut { host: 1, reason: 0 }],
            reasons: vec!["full".into()],
        };
        assert_eq!(
            verdict_sha256(&verdict).to_string(),
            "401aed93b05174d726a350dea98b72ebf6299b426f8026ad02dcdf8520367d44"
        );
        let hold = PlanOut {
            step: Step::Hold("soaking".into()),
            candidates: vec![
                CandidateOut { host: 3, reason: 0 },
                CandidateOut { host: 0, reason: 0 },
            ],
            reasons: vec!["wave 1".into()],
            notes: vec!["n".into()],
        };
        assert_eq!(
            plan_sha256(&hold).to_string(),
            "7e14b7b3c76177f29aaccf1439c172a0e7b29394e27e0243b3dcf7929ccae81a"
        );
        let promote = PlanOut {
            step: Step::Promote(2),
            candidates: vec![],
            reasons: vec![],
            notes: vec![],
        };
        assert_eq!(
            plan_sha256(&promote).to_string(),
            "17f5481c2a848dae73ac1e48f360e6410139e2c29974bec4cfd97e519a75b684"
        );
        assert_eq!(
            candidates_sha256(&[2, 0, 7]).to_string(),
            "62ac99c54d9913f13f09681ad8a2c22329a90af5229cd19b053b6d3129f0bacd"
        );
        assert_ne!(candidates_sha256(&[0, 2, 7]), candidates_sha256(&[2, 0, 7]));
        // Every field counts.
        let mut other = verdict.clone();
        other.reasons[0].push('!');
        assert_ne!(verdict_sha256(&other), verdict_sha256(&verdict));
        let mut other = verdict.clone();
        other.refused[0].reason = 1;
        assert_ne!(verdict_sha256(&other), verdict_sha256(&verdict));
        let mut other = hold.clone();
        other.notes.clear();
        assert_ne!(plan_sha256(&other), plan_sha256(&hold));
    }

    #[test]
    fn differences_name_each_field_but_not_the_label() {
        let receipt = Receipt {
            policy: "budget".into(),
            policy_sha256: Sha256Digest::of(b"component"),
            kind: PolicyKind::Gate,
            function: "admit".into(),
            input_sha256: Sha256Digest::of(b"in"),
            snapshot_sha256: Some(Sha256Digest::of(b"snapshot")),
            output_sha256: Sha256Digest::of(b"out"),
            fuel_used: 7,
        };
        let mut relabelled = receipt.clone();
        relabelled.policy = "fleet-budget".into();
        assert!(receipt.differences(&relabelled).is_empty());
        let mut other = relabelled;
        other.fuel_used = 8;
        other.snapshot_sha256 = None;
        let diffs = receipt.differences(&other);
        assert_eq!(diffs.len(), 2, "{diffs:?}");
        assert!(diffs[0].starts_with("snapshotSha256: Some("), "{diffs:?}");
        assert_eq!(diffs[1], "fuelUsed: 7 != 8");
    }
}
