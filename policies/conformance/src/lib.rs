//! The built-in policies compiled natively, behind one data-driven entry point.
//!
//! [`evaluate`] runs a built-in by name on a JSON configuration and input, exactly as the
//! component would (same logic, same fallbacks), and returns the output in the JSON form
//! of the fixtures: hosts by name. For the rollout and gate worlds it also does what the
//! host does around the component, through the SDK's call forms
//! ([`convoy_policy_sdk::call`]): it encodes the snapshot, refuses the gate candidates
//! that are not in it, and names the hosts of the output. It checks the scenario fixtures
//! of `policy-tests/fixtures` natively ([`Fixture`], `tests/fixtures.rs`), so they are
//! known-correct independently of the wasm runner, and runs random and malformed inputs
//! through every built-in (`tests/robustness.rs`). The built-ins and their worlds are
//! listed once, by the build tool (`convoy_policy_build::BUILTINS`).
#![forbid(unsafe_code)]

use convoy_policy_sdk::{GateCall, RolloutCall, eval};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One scenario fixture (`policy-tests/fixtures/README.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// Built-in policy name.
    pub policy: String,
    /// World: `rollout`, `gate`, `health`, `attestation`.
    pub kind: String,
    /// What the case proves.
    pub description: String,
    /// Configuration (JSON; a string is passed as is).
    pub config: Value,
    /// Decision input; absent for a `validate-config` case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
    /// The exact expected output.
    pub expected: Value,
}

/// The configuration string a guest receives for `config`: a JSON string as is, anything
/// else serialised with sorted keys and no whitespace (RFC 8785 for the integer- and
/// ASCII-only configurations of the built-ins).
pub fn config_string(config: &Value) -> String {
    match config {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Run built-in `policy` natively: `validate-config` when `input` is `None` (output
/// `{"ok": null}` or `{"err": "…"}`), else the world's decision function.
pub fn evaluate(policy: &str, config: &str, input: Option<&Value>) -> Result<Value, String> {
    use convoy_policy_attestation_quarantine::AttestationQuarantine;
    use convoy_policy_channel_edges::ChannelEdges;
    use convoy_policy_disruption_budget::DisruptionBudget;
    use convoy_policy_health::Health;
    use convoy_policy_host_edges::HostEdges;
    use convoy_policy_waves::Waves;

    fn typed<T: serde::de::DeserializeOwned>(v: &Value) -> Result<T, String> {
        T::deserialize(v).map_err(|e| format!("input does not match the world's input record: {e}"))
    }
    fn json<T: Serialize, E: ToString>(v: Result<T, E>) -> Result<Value, String> {
        serde_json::to_value(v.map_err(|e| e.to_string())?).map_err(|e| e.to_string())
    }
    fn plan<P: eval::RolloutPolicy>(config: &str, input: &Value) -> Result<Value, String> {
        json(typed::<RolloutCall>(input)?.run(|i| eval::plan::<P>(config, i)))
    }
    fn admit<P: eval::GatePolicy>(config: &str, input: &Value) -> Result<Value, String> {
        json(typed::<GateCall>(input)?.run(|i| eval::admit::<P>(config, i)))
    }
    fn validated(r: Result<(), String>) -> Value {
        match r {
            Ok(()) => serde_json::json!({ "ok": null }),
            Err(e) => serde_json::json!({ "err": e }),
        }
    }
    let Some(input) = input else {
        return Ok(validated(match policy {
            "waves" => eval::validate_config::<Waves>(config),
            "channel-edges" => eval::validate_config::<ChannelEdges>(config),
            "host-edges" => eval::validate_config::<HostEdges>(config),
            "disruption-budget" => eval::validate_config::<DisruptionBudget>(config),
            "health" => eval::validate_config::<Health>(config),
            "attestation-quarantine" => eval::validate_config::<AttestationQuarantine>(config),
            other => return Err(format!("no built-in policy {other}")),
        }));
    };
    match policy {
        "waves" => plan::<Waves>(config, input),
        "channel-edges" => admit::<ChannelEdges>(config, input),
        "host-edges" => admit::<HostEdges>(config, input),
        "disruption-budget" => admit::<DisruptionBudget>(config, input),
        "health" => json(Ok::<_, String>(eval::assess_health::<Health>(
            config,
            &typed(input)?,
        ))),
        "attestation-quarantine" => json(Ok::<_, String>(eval::assess_attestation::<
            AttestationQuarantine,
        >(config, &typed(input)?))),
        other => Err(format!("no built-in policy {other}")),
    }
}
