//! Calls as JSON documents: the input files of `convoy policy eval`, the scenario fixtures
//! and the replay evidence kept next to receipts.

use serde_json::Value;

use crate::abi::attestation::AttestationInput;
use crate::abi::gate::GateInput;
use crate::abi::health::HealthInput;
use crate::abi::rollout::RolloutInput;
use crate::policy::Policy;
use crate::receipt::{Evaluation, Evidence, Replay};
use convoy_proto::PolicyKind;

use crate::PolicyError;
use crate::kind::PolicyWorld;

/// One policy call as data.
///
/// ```json
/// { "kind": "gate", "config": {"maxInFlight": 2}, "input": { "now": 1700000000, ... } }
/// ```
///
/// `config` is the policy's configuration: a JSON object is canonicalised (RFC 8785) into
/// the string the guest receives, a JSON string is passed as is. Without `input` the call
/// is `validate-config`; with it, the world's decision function (`plan`, `admit`,
/// `assess`), and `input` is that function's input record in the serde form of the
/// bindings (snake_case fields, UpperCamelCase enum cases).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyCall {
    /// The world the call is for.
    pub kind: PolicyKind,
    /// The policy's configuration.
    pub config: Value,
    /// The decision input; absent for `validate-config`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
}

impl PolicyCall {
    /// The exact configuration string the guest receives.
    pub fn config_string(&self) -> Result<String, String> {
        match &self.config {
            Value::String(s) => Ok(s.clone()),
            other => convoy_proto::json::canonical_bytes(other)
                .map_err(|e| e.to_string())
                .and_then(|b| String::from_utf8(b).map_err(|e| e.to_string())),
        }
    }

    /// The export this call runs.
    pub fn function(&self) -> &'static str {
        if self.input.is_some() {
            self.kind.decision_export()
        } else {
            "validate-config"
        }
    }
}

impl Policy {
    /// Evaluates a call given as data; the output comes back as JSON (for
    /// `validate-config`: `{"ok": null}` or `{"err": "why"}`, see [`crate::ConfigVerdict`]).
    pub fn evaluate_call(&self, call: &PolicyCall) -> Result<Evaluation<Value>, PolicyError> {
        let bad_input = |reason: String| PolicyError::Input {
            policy: self.name().to_owned(),
            reason,
        };
        if call.kind != self.kind() {
            return Err(PolicyError::WrongKind {
                policy: self.name().to_owned(),
                wanted: call.kind,
                actual: self.kind(),
            });
        }
        let config = call.config_string().map_err(bad_input)?;
        let Some(input) = &call.input else {
            return self.validate_config(&config).map(erase);
        };
        fn typed<T: serde::de::DeserializeOwned>(v: &Value) -> Result<T, String> {
            serde_path_to_error::deserialize(v.clone()).map_err(|e| e.to_string())
        }
        match call.kind {
            PolicyKind::Rollout => {
                let i: RolloutInput = typed(input).map_err(bad_input)?;
                self.plan(&config, &i).map(erase)
            }
            PolicyKind::Gate => {
                let i: GateInput = typed(input).map_err(bad_input)?;
                self.admit(&config, &i).map(erase)
            }
            PolicyKind::Health => {
                let i: HealthInput = typed(input).map_err(bad_input)?;
                self.assess_health(&config, &i).map(erase)
            }
            PolicyKind::Attestation => {
                let i: AttestationInput = typed(input).map_err(bad_input)?;
                self.assess_attestation(&config, &i).map(erase)
            }
        }
    }
}

impl Policy {
    /// Re-executes the call of `evidence` and compares the new receipt with the recorded
    /// one. The policy must be the one the receipt names (same sha256) — otherwise the
    /// mismatch is reported, not hidden.
    pub fn replay(&self, evidence: &Evidence) -> Result<Replay, PolicyError> {
        let replayed = self.evaluate_call(&evidence.call)?.receipt;
        let mismatches = evidence.receipt.differences(&replayed);
        Ok(Replay {
            replayed,
            mismatches,
        })
    }
}

fn erase<T: serde::Serialize>(e: Evaluation<T>) -> Evaluation<Value> {
    let output = serde_json::to_value(&e.output).unwrap_or(Value::Null);
    Evaluation {
        output,
        receipt: e.receipt,
    }
}
