//! Calls as JSON documents: the input files of `convoy policy eval`, the scenario fixtures
//! and the replay evidence kept next to receipts.

use serde_json::Value;

use crate::abi::attestation::AttestationInput;
use crate::abi::gate::GateInput;
use crate::abi::health::HealthInput;
use crate::abi::rollout::RolloutInput;
use crate::error::InputProblem;
use crate::kind::PolicyWorld;
use crate::policy::{CallBuilder, Policy};
use crate::receipt::{Evaluation, Evidence, Replay};
use crate::snapshot::Snapshot;
use convoy_proto::PolicyKind;

use crate::PolicyError;

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

impl CallBuilder<'_> {
    /// Evaluates a call given as data; the output comes back as JSON (for
    /// `validate-config`: `{"ok": null}` or `{"err": "why"}`, see [`crate::ConfigVerdict`]).
    ///
    /// A rollout or gate input names its hosts: they become the call's [`Snapshot`], and the
    /// decision is named on it ([`Snapshot::name_plan`], [`crate::NamedCandidates`]).
    pub fn evaluate(&self, call: &PolicyCall) -> Result<Evaluation<Value>, PolicyError> {
        let policy = self.policy();
        let bad_input = |problem: InputProblem| PolicyError::Input {
            policy: policy.name().to_owned(),
            problem,
        };
        if call.kind != policy.kind() {
            return Err(PolicyError::WrongKind {
                policy: policy.name().to_owned(),
                wanted: call.kind,
                actual: policy.kind(),
            });
        }
        let config = call
            .config_string()
            .map_err(|detail| bad_input(InputProblem::Config { detail }))?;
        let Some(input) = &call.input else {
            return self.validate_config(&config).map(erase);
        };
        fn typed<T: serde::de::DeserializeOwned>(v: &Value) -> Result<T, InputProblem> {
            serde_path_to_error::deserialize(v.clone()).map_err(|e| InputProblem::Decode {
                detail: e.to_string(),
            })
        }
        match call.kind {
            PolicyKind::Rollout => {
                let i: RolloutInput = typed(input).map_err(bad_input)?;
                let snapshot = Snapshot::new(&i.hosts, i.active.clone())?;
                self.plan(&config, i.now, &i.rollout, &snapshot)
                    .map(|e| erase(e.map(|o| snapshot.name_plan(&o))))
            }
            PolicyKind::Gate => {
                let i: GateInput = typed(input).map_err(bad_input)?;
                let snapshot = Snapshot::new(&i.hosts, i.active.clone())?;
                let candidates = snapshot.candidates(&i.candidates);
                self.admit(&config, i.now, candidates.ids(), &snapshot)
                    .map(|e| erase(e.map(|o| candidates.name_verdict(&snapshot, &o))))
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
        let replayed = self.call().evaluate(&evidence.call)?.receipt;
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
