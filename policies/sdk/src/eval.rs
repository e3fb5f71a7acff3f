//! The policy traits and the evaluation functions that apply the ABI's promises.
//!
//! A policy never panics and never fails a call: with a configuration it cannot parse it
//! returns the world's safe answer — a rollout holds, a gate refuses every candidate, a
//! health check stays pending, an attestation keeps the current standing — each with the
//! configuration error as its reason. The same functions serve the wasm export glue,
//! native tests and the host-runtime benchmark.
#![forbid(unsafe_code)]

use serde::de::DeserializeOwned;

use crate::config::{ConfigError, parse_config};
use crate::types::*;

/// A policy: its typed configuration and how to validate it.
pub trait Policy {
    /// The configuration, deserialised from canonical JSON (deny unknown fields).
    type Config: DeserializeOwned;

    /// Checks beyond the JSON shape (ranges, cycles, duplicate names…).
    fn check(cfg: &Self::Config) -> Result<(), ConfigError> {
        let _ = cfg;
        Ok(())
    }
}

/// A `rollout`-world policy.
pub trait RolloutPolicy: Policy {
    /// Plan one tick of `input.rollout`.
    fn plan(cfg: &Self::Config, input: &RolloutInput) -> Plan;
}

/// A `gate`-world policy.
pub trait GatePolicy: Policy {
    /// Admit a subset of `input.candidates`; every other candidate is refused with a reason.
    fn admit(cfg: &Self::Config, input: &GateInput) -> Verdict;
}

/// A `health`-world policy.
pub trait HealthPolicy: Policy {
    /// Assess one host.
    fn assess(cfg: &Self::Config, input: &HealthInput) -> HealthVerdict;
}

/// An `attestation`-world policy.
pub trait AttestationPolicy: Policy {
    /// Judge one host's standing.
    fn assess(cfg: &Self::Config, input: &AttestationInput) -> AttestationVerdict;
}

/// Parse and check a configuration.
pub fn load<P: Policy>(cfg: &str) -> Result<P::Config, ConfigError> {
    let parsed = parse_config::<P::Config>(cfg)?;
    P::check(&parsed)?;
    Ok(parsed)
}

/// The `validate-config` export.
pub fn validate_config<P: Policy>(cfg: &str) -> Result<(), String> {
    load::<P>(cfg).map(|_| ()).map_err(String::from)
}

fn bad_config(e: &ConfigError) -> String {
    format!("invalid policy configuration: {e}")
}

/// The rollout world's `plan` export: holds when the configuration is bad.
pub fn plan<P: RolloutPolicy>(cfg: &str, input: &RolloutInput) -> Plan {
    match load::<P>(cfg) {
        Ok(cfg) => P::plan(&cfg, input),
        Err(e) => Plan {
            step: Step::Hold(bad_config(&e)),
            candidates: Vec::new(),
            notes: Vec::new(),
        },
    }
}

/// The gate world's `admit` export: refuses every candidate when the configuration is bad.
pub fn admit<P: GatePolicy>(cfg: &str, input: &GateInput) -> Verdict {
    match load::<P>(cfg) {
        Ok(cfg) => P::admit(&cfg, input),
        Err(e) => {
            let mut verdict = Verdict::default();
            for c in dedup(&input.candidates) {
                verdict.refuse(c, bad_config(&e));
            }
            verdict
        }
    }
}

/// The health world's `assess` export: pending when the configuration is bad.
pub fn assess_health<P: HealthPolicy>(cfg: &str, input: &HealthInput) -> HealthVerdict {
    match load::<P>(cfg) {
        Ok(cfg) => P::assess(&cfg, input),
        Err(e) => HealthVerdict {
            status: HealthStatus::Pending,
            reason: bad_config(&e),
        },
    }
}

/// The attestation world's `assess` export: keeps the standing when the configuration is bad.
pub fn assess_attestation<P: AttestationPolicy>(
    cfg: &str,
    input: &AttestationInput,
) -> AttestationVerdict {
    match load::<P>(cfg) {
        Ok(cfg) => P::assess(&cfg, input),
        Err(e) => AttestationVerdict {
            standing: input.standing,
            reason: bad_config(&e),
        },
    }
}

/// Candidates without repeats, first occurrence kept, order preserved: a gate answers for
/// each candidate exactly once.
pub fn dedup(candidates: &[String]) -> Vec<&str> {
    let mut seen = std::collections::BTreeSet::new();
    candidates
        .iter()
        .map(String::as_str)
        .filter(|c| seen.insert(*c))
        .collect()
}

/// Run a gate candidate by candidate, in candidate order, each candidate once: `decide`
/// gets the candidate's host and returns `Err(reason)` to refuse it. A candidate that is
/// not in the snapshot is refused without calling `decide`.
pub fn gate_each(
    input: &GateInput,
    mut decide: impl FnMut(&Host) -> Result<(), String>,
) -> Verdict {
    let index: std::collections::BTreeMap<&str, &Host> =
        input.hosts.iter().map(|h| (h.name.as_str(), h)).collect();
    let mut verdict = Verdict::default();
    for name in dedup(&input.candidates) {
        match index.get(name) {
            None => verdict.refuse(name, format!("{name} is not in the fleet snapshot")),
            Some(host) => match decide(host) {
                Ok(()) => verdict.admitted.push(name.to_owned()),
                Err(reason) => verdict.refuse(name, reason),
            },
        }
    }
    verdict
}
