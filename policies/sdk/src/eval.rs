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
use crate::snapshot::HostRef;
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
            let reason = bad_config(&e);
            gate_each(input, |_| Err(reason.clone()))
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

/// Run a gate candidate by candidate, in candidate order, each candidate once (at its
/// first position): `decide` gets the candidate's host and returns `Err(reason)` to refuse
/// it. A candidate id that is not in the snapshot is refused without calling `decide`.
///
/// Repeats are found with a flag per host of the snapshot, not a set: over 10,000
/// candidates that would be most of a gate's work otherwise.
///
/// ```
/// use convoy_policy_sdk::eval::gate_each;
/// use convoy_policy_sdk::{GateInput, Host, HostId, HostPhase, Snapshot};
///
/// # let host = |name: &str| Host {
/// #     name: name.into(), channel: "prod".into(), tags: vec![], current_closure: None,
/// #     target_closure: None, phase: HostPhase::Idle, phase_since: 0, last_seen: None,
/// #     rollout: None,
/// # };
/// let snapshot = Snapshot::new(vec![host("web1"), host("db1")], vec![]); // db1 is #0
/// let candidates = vec![HostId(1), HostId(0), HostId(1), HostId(9)];
/// let input = GateInput { now: 0, candidates, snapshot };
/// let verdict = gate_each(&input, |h| match h.name {
///     "db1" => Err("databases wait".to_owned()),
///     _ => Ok(()),
/// });
/// assert_eq!(verdict.admitted, [HostId(1)]);
/// let refused: Vec<_> = verdict.refused.iter().map(|r| (r.host, r.reason.as_str())).collect();
/// assert_eq!(refused, [
///     (HostId(0), "databases wait"),
///     (HostId(9), "host #9 is not in the fleet snapshot of 2 hosts"),
/// ]);
/// ```
pub fn gate_each<'s>(
    input: &'s GateInput,
    mut decide: impl FnMut(HostRef<'s>) -> Result<(), String>,
) -> Verdict {
    let snapshot = &input.snapshot;
    let mut seen = vec![false; snapshot.len()];
    let mut seen_stray = std::collections::BTreeSet::new();
    let mut verdict = Verdict::default();
    for &id in &input.candidates {
        // A repeat is passed over before its host is read.
        if let Some(seen) = seen.get_mut(id.index()) {
            if std::mem::replace(seen, true) {
                continue;
            }
            // `seen` has a flag per host, so the host is there.
            if let Some(host) = snapshot.host(id) {
                match decide(host) {
                    Ok(()) => verdict.admitted.push(id),
                    Err(reason) => verdict.refuse(id, reason),
                }
                continue;
            }
        }
        if seen_stray.insert(id) {
            let hosts = snapshot.len();
            verdict.refuse(
                id,
                format!("host {id} is not in the fleet snapshot of {hosts} hosts"),
            );
        }
    }
    verdict
}
