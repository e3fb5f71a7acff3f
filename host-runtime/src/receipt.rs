//! Receipts: what an auditor needs to prove which policy decided what.

use convoy_proto::Sha256Digest;
use sha2::Digest;

use crate::abi::rollout::Step;
use crate::abi::wire::{PlanOut, VerdictOut};

use convoy_proto::PolicyKind;

/// The record of one evaluation.
///
/// `input_sha256` covers the canonical JSON (RFC 8785) of `{config, function, input}`,
/// where a rollout or gate input names its fleet snapshot by hash (`"snapshot": "<hex>"`,
/// also given as `snapshot_sha256`) instead of repeating its hosts: the snapshot is hashed
/// once per tick (see [`crate::Snapshot`]), and a gate's candidates are the host-ids the
/// policy was given. `output_sha256` covers what the policy returned: for a plan or a
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

impl<T: serde::Serialize> Evaluation<T> {
    /// The canonical JSON (RFC 8785) of the decision: what `convoy policy eval` prints.
    pub fn output_json(&self) -> Result<Vec<u8>, convoy_proto::json::JsonError> {
        convoy_proto::json::canonical_bytes(&self.output)
    }
}

/// The byte layout of a decision's hash (`docs/policy-abi.md`, "Decision hash"): a domain
/// tag, then the output's fields in WIT order; a list is its u64 little-endian count then
/// its items, a `u32` four little-endian bytes, a string its u64 little-endian byte length
/// then its bytes, the plan's `step` its case index as one byte then its payload.
struct DecisionHash(sha2::Sha256);

impl DecisionHash {
    fn new(domain: &[u8]) -> Self {
        let mut h = sha2::Sha256::new();
        h.update(domain);
        DecisionHash(h)
    }

    fn count(&mut self, n: usize) {
        self.0.update((n as u64).to_le_bytes());
    }

    fn text(&mut self, s: &str) {
        self.count(s.len());
        self.0.update(s.as_bytes());
    }

    fn texts(&mut self, items: &[String]) {
        self.count(items.len());
        for s in items {
            self.text(s);
        }
    }

    fn pairs(&mut self, items: impl ExactSizeIterator<Item = (u32, u32)>) {
        self.count(items.len());
        let mut buf = Vec::with_capacity(items.len() * 8);
        for (a, b) in items {
            buf.extend_from_slice(&a.to_le_bytes());
            buf.extend_from_slice(&b.to_le_bytes());
        }
        self.0.update(&buf);
    }

    fn finish(self) -> Sha256Digest {
        Sha256Digest::from_bytes(self.0.finalize().into())
    }
}

/// The domain tag of a plan's hash.
pub const PLAN_DOMAIN: &[u8] = b"convoy:policy/plan@1\n";
/// The domain tag of a verdict's hash.
pub const VERDICT_DOMAIN: &[u8] = b"convoy:policy/verdict@1\n";

/// sha256 of a plan in its boundary form.
pub(crate) fn plan_sha256(plan: &PlanOut) -> Sha256Digest {
    let mut h = DecisionHash::new(PLAN_DOMAIN);
    let (case, text, wave) = match &plan.step {
        Step::Hold(why) => (0u8, Some(why), None),
        Step::Promote(wave) => (1, None, Some(*wave)),
        Step::Halt(why) => (2, Some(why), None),
        Step::RollbackAndHalt(why) => (3, Some(why), None),
        Step::Converge => (4, None, None),
    };
    h.0.update([case]);
    if let Some(why) = text {
        h.text(why);
    }
    if let Some(wave) = wave {
        h.0.update(wave.to_le_bytes());
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
    let mut h = DecisionHash::new(CANDIDATES_DOMAIN);
    h.count(ids.len());
    let bytes: Vec<u8> = ids.iter().flat_map(|id| id.to_le_bytes()).collect();
    h.0.update(&bytes);
    h.finish()
}

/// sha256 of a verdict in its boundary form.
pub(crate) fn verdict_sha256(verdict: &VerdictOut) -> Sha256Digest {
    let mut h = DecisionHash::new(VERDICT_DOMAIN);
    h.count(verdict.admitted.len());
    let bytes: Vec<u8> = verdict
        .admitted
        .iter()
        .flat_map(|id| id.to_le_bytes())
        .collect();
    h.0.update(&bytes);
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
    /// The fields of `self` that differ from `other`, named as in the JSON form.
    pub fn differences(&self, other: &Receipt) -> Vec<String> {
        let mut out = Vec::new();
        let mut check = |field: &str, a: String, b: String| {
            if a != b {
                out.push(format!("{field}: {a} != {b}"));
            }
        };
        check("policy", self.policy.clone(), other.policy.clone());
        check(
            "policySha256",
            self.policy_sha256.to_string(),
            other.policy_sha256.to_string(),
        );
        check(
            "kind",
            format!("{:?}", self.kind),
            format!("{:?}", other.kind),
        );
        check("function", self.function.clone(), other.function.clone());
        check(
            "inputSha256",
            self.input_sha256.to_string(),
            other.input_sha256.to_string(),
        );
        check(
            "snapshotSha256",
            format!("{:?}", self.snapshot_sha256.map(|d| d.to_string())),
            format!("{:?}", other.snapshot_sha256.map(|d| d.to_string())),
        );
        check(
            "outputSha256",
            self.output_sha256.to_string(),
            other.output_sha256.to_string(),
        );
        check(
            "fuelUsed",
            self.fuel_used.to_string(),
            other.fuel_used.to_string(),
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
}
