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
///
/// Repeats are found through the candidate's position in the snapshot (a flag per host),
/// not a set of names: over 10,000 candidates that is most of a gate's work otherwise.
pub fn gate_each(
    input: &GateInput,
    mut decide: impl FnMut(&Host) -> Result<(), String>,
) -> Verdict {
    let index = HostIndex::new(&input.hosts);
    let mut seen = vec![false; input.hosts.len()];
    let mut seen_unknown = std::collections::BTreeSet::new();
    let mut verdict = Verdict::default();
    for name in &input.candidates {
        match index.position(name) {
            None => {
                if seen_unknown.insert(name.as_str()) {
                    verdict.refuse(name, format!("{name} is not in the fleet snapshot"));
                }
            }
            Some(i) if seen[i] => {}
            Some(i) => {
                seen[i] = true;
                match decide(&input.hosts[i]) {
                    Ok(()) => verdict.admitted.push(name.clone()),
                    Err(reason) => verdict.refuse(name, reason),
                }
            }
        }
    }
    verdict
}

/// Hosts by name. The host sends snapshots sorted by name, so the common case is a binary
/// search in place (no allocation over a 10,000-host fleet); an unsorted snapshot falls
/// back to a map, with the same answers.
pub struct HostIndex<'a> {
    hosts: &'a [Host],
    sorted: bool,
    map: std::collections::BTreeMap<&'a str, usize>,
}

impl<'a> HostIndex<'a> {
    /// Index `hosts`; should a name repeat, the first host of that name wins.
    pub fn new(hosts: &'a [Host]) -> Self {
        let sorted = hosts.windows(2).all(|w| w[0].name < w[1].name);
        let mut map = std::collections::BTreeMap::new();
        if !sorted {
            for (i, h) in hosts.iter().enumerate() {
                map.entry(h.name.as_str()).or_insert(i);
            }
        }
        HostIndex { hosts, sorted, map }
    }

    /// Position in the snapshot of the host called `name`.
    pub fn position(&self, name: &str) -> Option<usize> {
        if self.sorted {
            self.hosts
                .binary_search_by(|h| h.name.as_str().cmp(name))
                .ok()
        } else {
            self.map.get(name).copied()
        }
    }

    /// The host called `name`.
    pub fn get(&self, name: &str) -> Option<&'a Host> {
        self.position(name).map(|i| &self.hosts[i])
    }
}
