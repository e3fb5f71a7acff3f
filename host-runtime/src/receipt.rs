//! Receipts: what an auditor needs to prove which policy decided what.

use convoy_proto::Sha256Digest;

use convoy_proto::PolicyKind;

/// The record of one evaluation.
///
/// `input_sha256` covers the canonical JSON (RFC 8785) of `{function, config, input}`;
/// `output_sha256` the canonical JSON of the validated output. Replaying the same input
/// through the same component must reproduce both hashes and `fuel_used` exactly.
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
