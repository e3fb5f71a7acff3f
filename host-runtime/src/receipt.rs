//! Receipts: what an auditor needs to prove which policy decided what.

use convoy_proto::Sha256Digest;

use convoy_proto::PolicyKind;

/// The record of one evaluation.
///
/// `input_sha256` covers the canonical JSON (RFC 8785) of `{config, function, input}`,
/// where a rollout or gate input names its fleet snapshot by hash (`"snapshot": "<hex>"`,
/// also given as `snapshot_sha256`) instead of repeating its hosts: the snapshot is hashed
/// once per tick (see [`crate::Snapshot`]). `output_sha256` covers the canonical JSON of
/// the validated output. Replaying the same input through the same component must
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
    /// sha256 of the canonical output.
    pub output_sha256: Sha256Digest,
    /// Fuel the call consumed, instantiation included.
    pub fuel_used: u64,
}

/// A validated decision and its receipt.
#[derive(Debug, Clone)]
pub struct Evaluation<T> {
    /// The policy's decision.
    pub output: T,
    /// The canonical JSON bytes of `output` (what `receipt.output_sha256` covers).
    pub output_json: Vec<u8>,
    /// The receipt of the call.
    pub receipt: Receipt,
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
