//! `fleet.resolved.json`: the whole desired state of a fleet, as `mkFleet` evaluates it and
//! `convoy-release` signs it. Field names are camelCase; absent optional values are written
//! as explicit `null`s so that the key set, and so the canonical bytes, are stable.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::json::JsonError;
use crate::selector::SelectorSubject;
use crate::{ArtifactPin, Meta, Selector, Sha256Digest};

/// The fleet schema version this crate reads and writes. Version 2 added the `snapshot`
/// binding.
pub const FLEET_SCHEMA_VERSION: u32 = 2;

/// A fleet artifact before release: closures and policy hashes may still be `null`, and
/// `meta` is whatever the input carried (the release tool replaces it).
pub type UnsignedFleet = FleetDocument<Option<Meta>>;

/// A released fleet artifact: the payload of a signed `fleet.resolved.json`.
pub type FleetResolved = FleetDocument<Meta>;

/// The fleet document, generic over its `meta` so that the unsigned input and the signed
/// artifact share one schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FleetDocument<M> {
    /// Always [`FLEET_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Every managed host, by name.
    pub hosts: BTreeMap<String, Host>,
    /// Release channels, by name.
    pub channels: BTreeMap<String, Channel>,
    /// Rollout policies that channels refer to, by name.
    pub rollout_policies: BTreeMap<String, RolloutPolicy>,
    /// Host-level ordering: `after` waits until `before` has converged.
    pub edges: Vec<Edge>,
    /// Channel-level ordering: channel `after` waits until channel `before` has converged.
    pub channel_edges: Vec<Edge>,
    /// Limits on how many selected hosts may be disrupted at once.
    pub disruption_budgets: Vec<DisruptionBudget>,
    /// The revocations and policy bundle released with this fleet (TUF's snapshot role):
    /// written by the release tool, required in a signed fleet, absent or `null` in
    /// `mkFleet`'s output (and then not written back, so its key set round-trips).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<Snapshot>,
    /// Version and signing metadata.
    pub meta: M,
}

/// The snapshot binding of a released fleet: the exact revocations and policy bundle
/// published with it, by version and payload sha256. A verifier of the set refuses any
/// other (`snapshot-mismatch`), so an older but still fresh revocation list, or another
/// bundle, can never be served next to this fleet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Snapshot {
    /// The revocations released with the fleet.
    pub revocations: ArtifactPin,
    /// The policy bundle released with the fleet; `null` when the release published none.
    pub policy_bundle: Option<ArtifactPin>,
}

/// One managed host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Host {
    /// Nix system double, e.g. `x86_64-linux`.
    pub system: String,
    /// Free-form tags that selectors match.
    pub tags: Vec<String>,
    /// The channel the host follows.
    pub channel: String,
    /// The host's system closure; `null` until `convoy-release` builds and pushes it.
    pub closure_hash: Option<ClosureHash>,
    /// The host's Ed25519 public key (base64), once enrolled; `null` before.
    pub pubkey: Option<String>,
    /// An operator pin that holds the host at a given closure.
    pub pin: Option<Pin>,
}

/// An operator pin: the host stays on `closure_hash` whatever its channel ships.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Pin {
    /// The closure the host is held at.
    pub closure_hash: ClosureHash,
    /// Why (shown in status and audit output).
    pub reason: String,
}

/// A release channel: which rollout policy drives it, how often things happen, and the
/// signed policy modules it runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Channel {
    /// Name of an entry of `rolloutPolicies`.
    pub rollout_policy: String,
    /// How often the control plane reconciles this channel.
    pub reconcile_interval_minutes: u32,
    /// How often CI re-signs the artifact (`convoy-release refresh`).
    pub signing_interval_minutes: u32,
    /// How old a signature may be before agents and the CP refuse the artifact as stale.
    pub freshness_window_minutes: u32,
    /// The policy modules this channel runs, gates in the order they chain.
    pub policies: Vec<PolicyRef>,
}

/// A policy module used by a channel, pinned by the sha256 of its component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyRef {
    /// The policy's name in the signed policy bundle.
    pub name: String,
    /// Which world the policy implements.
    pub kind: PolicyKind,
    /// The component's sha256; `null` until `convoy-release` pins it from the bundle.
    pub sha256: Option<Sha256Digest>,
    /// The policy's configuration, handed to it as canonical JSON.
    pub config: serde_json::Value,
}

impl PolicyRef {
    /// The configuration as the guest receives it: the RFC 8785 canonical JSON text of
    /// `config` (a JSON string too is handed over as JSON, quotes included).
    pub fn config_json(&self) -> Result<String, JsonError> {
        let bytes = crate::json::canonical_bytes(&self.config)?;
        String::from_utf8(bytes).map_err(|e| JsonError::Canonicalise(e.to_string()))
    }
}

/// The policy worlds of `wit/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyKind {
    /// Plans a rollout: current wave, promotion, candidates.
    Rollout,
    /// Admits a subset of the candidates.
    Gate,
    /// Judges a host's probe results.
    Health,
    /// Judges a host's attestation history.
    Attestation,
}

impl fmt::Display for PolicyKind {
    /// The world's name (`rollout`, `gate`, `health`, `attestation`), as in JSON and WIT.
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(crate::policy_bundle::world_name(*self))
    }
}

/// How a channel's new closures roll out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RolloutPolicy {
    /// The overall shape.
    pub strategy: Strategy,
    /// Waves in order; a host belongs to the first wave whose selector matches it.
    pub waves: Vec<Wave>,
    /// What decides that a wave is healthy.
    pub health_gate: HealthGate,
    /// What to do when a wave fails its health gate.
    pub on_health_failure: OnHealthFailure,
}

/// The shape of a rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// A small first wave, then the rest.
    Canary,
    /// Several waves in order.
    Staged,
    /// Every host at once (still subject to gates and budgets).
    AllAtOnce,
}

/// One wave of a rollout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Wave {
    /// The hosts of this wave.
    pub selector: Selector,
    /// How long every host of the wave must stay healthy before the next wave starts.
    pub soak_minutes: u32,
}

/// The health gate of a rollout policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HealthGate {
    /// Name of the `health` policy (in the channel's `policies`) that judges each host.
    pub policy: String,
    /// A host still `pending` this long after activation counts as unhealthy.
    pub timeout_minutes: u32,
}

/// The reaction to a failed health gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnHealthFailure {
    /// Stop dispatching; hosts stay where they are.
    Halt,
    /// Stop dispatching and return the wave's hosts to their previous closure.
    RollbackAndHalt,
}

/// An ordering constraint: `after` waits until `before` has converged.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Edge {
    /// The host (or channel) that goes first.
    pub before: String,
    /// The host (or channel) that waits.
    pub after: String,
}

/// A limit on concurrent disruption among the selected hosts. Both limits apply when both
/// are set; at least one must be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DisruptionBudget {
    /// The hosts this budget covers, across every channel and rollout.
    pub selector: Selector,
    /// At most this many covered hosts in flight.
    pub max_in_flight: Option<u32>,
    /// At most this percentage (0–100) of covered hosts in flight.
    pub max_in_flight_pct: Option<u8>,
}

/// A named host, as selectors see it.
#[derive(Debug, Clone, Copy)]
pub struct NamedHost<'a> {
    /// The host's name (the key in `hosts`).
    pub name: &'a str,
    /// The host.
    pub host: &'a Host,
}

impl SelectorSubject for NamedHost<'_> {
    fn name(&self) -> &str {
        self.name
    }
    fn channel(&self) -> &str {
        &self.host.channel
    }
    fn has_tag(&self, tag: &str) -> bool {
        self.host.tags.iter().any(|t| t == tag)
    }
}

impl<M> FleetDocument<M> {
    /// Every host with its name, for selector resolution.
    pub fn named_hosts(&self) -> Vec<NamedHost<'_>> {
        self.hosts
            .iter()
            .map(|(name, host)| NamedHost { name, host })
            .collect()
    }

    /// The hosts `selector` picks, sorted by name.
    pub fn select(&self, selector: &Selector) -> std::collections::BTreeSet<String> {
        selector.resolve(&self.named_hosts())
    }

    /// The freshness window for `channel`, or the strictest of all channels when `None`
    /// (what a verifier that serves every channel must apply). `None` if there is no such
    /// channel, or no channel at all.
    pub fn freshness_window_minutes(&self, channel: Option<&str>) -> Option<u32> {
        match channel {
            Some(name) => self.channels.get(name).map(|c| c.freshness_window_minutes),
            None => self
                .channels
                .values()
                .map(|c| c.freshness_window_minutes)
                .min(),
        }
    }

    /// Replaces `meta`, keeping everything else.
    pub fn with_meta<N>(self, meta: N) -> FleetDocument<N> {
        FleetDocument {
            schema_version: self.schema_version,
            hosts: self.hosts,
            channels: self.channels,
            rollout_policies: self.rollout_policies,
            edges: self.edges,
            channel_edges: self.channel_edges,
            disruption_budgets: self.disruption_budgets,
            snapshot: self.snapshot,
            meta,
        }
    }
}

/// A Nix store path of a system closure (`/nix/store/<32 base32 chars>-<name>`), parsed once
/// at the edge. The 32-character digest is what identifies the closure; the name is kept so
/// that agents can fetch the path from a binary cache.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClosureHash(String);

/// A string that is not a Nix store path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a Nix store path (/nix/store/<32 base32 chars>-<name>)")]
pub struct ClosureHashParseError(pub String);

const NIX_BASE32: &[u8] = b"0123456789abcdfghijklmnpqrsvwxyz";
const STORE_DIR: &str = "/nix/store/";

impl ClosureHash {
    /// The full store path.
    pub fn store_path(&self) -> &str {
        &self.0
    }

    /// The 32-character digest part (what the binary cache's `<digest>.narinfo` is named).
    pub fn digest(&self) -> &str {
        &self.0[STORE_DIR.len()..STORE_DIR.len() + 32]
    }
}

impl FromStr for ClosureHash {
    type Err = ClosureHashParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ClosureHashParseError(s.chars().take(120).collect());
        let rest = s.strip_prefix(STORE_DIR).ok_or_else(bad)?;
        let (digest, name) = (
            rest.get(..32).ok_or_else(bad)?,
            rest.get(32..).ok_or_else(bad)?,
        );
        let name = name.strip_prefix('-').ok_or_else(bad)?;
        let name_ok = !name.is_empty()
            && name.len() <= 211
            && !name.starts_with('.')
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-._?=".contains(&b));
        if digest.bytes().all(|b| NIX_BASE32.contains(&b)) && name_ok {
            Ok(ClosureHash(s.to_owned()))
        } else {
            Err(bad())
        }
    }
}

impl fmt::Display for ClosureHash {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ClosureHash {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "ClosureHash({})", self.0)
    }
}

crate::serde_via_str!(ClosureHash);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closure_hashes_are_store_paths() {
        let ok: ClosureHash = "/nix/store/0c5z8ss6l8yqvgqpx0n3iybxrcdhg1fs-nixos-system-web1"
            .parse()
            .unwrap();
        assert_eq!(ok.digest(), "0c5z8ss6l8yqvgqpx0n3iybxrcdhg1fs");
        for bad in [
            "/nix/store/0c5z8ss6l8yqvgqpx0n3iybxrcdhg1fs",
            "/nix/store/0c5z8ss6l8yqvgqpx0n3iybxrcdhg1fe-x",
            "/nix/store/0c5z8ss6l8yqvgqpx0n3iybxrcdhg1fs-a/b",
            "/tmp/store/0c5z8ss6l8yqvgqpx0n3iybxrcdhg1fs-x",
            "/nix/store/short-x",
        ] {
            assert!(bad.parse::<ClosureHash>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_policy_config_reaches_the_guest_as_canonical_json() {
        let reference = |config| PolicyRef {
            name: "disruption-budget".into(),
            kind: PolicyKind::Gate,
            sha256: None,
            config,
        };
        let config = serde_json::json!({"maxInFlight": 2, "budgets": [{"name": "é", "pct": 0.5}]});
        assert_eq!(
            reference(config).config_json().unwrap(),
            r#"{"budgets":[{"name":"é","pct":0.5}],"maxInFlight":2}"#
        );
        assert_eq!(
            reference(serde_json::json!("waves")).config_json().unwrap(),
            r#""waves""#
        );
    }
}

/// The rules a fleet must follow beyond its schema. `mkFleet` enforces the same rules at
/// evaluation time; they are checked again here so that a hand-written or tampered-with
/// input can never be signed, and a signed artifact that breaks them is refused.
impl<M> FleetDocument<M> {
    /// Every rule violation, sorted; empty if the fleet is valid.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (name, host) in &self.hosts {
            if !self.channels.contains_key(&host.channel) {
                problems.push(format!("host `{name}`: unknown channel `{}`", host.channel));
            }
        }
        for (name, channel) in &self.channels {
            if channel.freshness_window_minutes < channel.signing_interval_minutes.saturating_mul(2)
            {
                problems.push(format!(
                    "channel `{name}`: freshnessWindowMinutes {} is below twice signingIntervalMinutes {} (one missed signing run would make the fleet stale)",
                    channel.freshness_window_minutes, channel.signing_interval_minutes
                ));
            }
            let mut seen = std::collections::BTreeSet::new();
            for policy in &channel.policies {
                if !seen.insert(&policy.name) {
                    problems.push(format!(
                        "channel `{name}`: policy `{}` is listed twice",
                        policy.name
                    ));
                }
            }
            match self.rollout_policies.get(&channel.rollout_policy) {
                None => problems.push(format!(
                    "channel `{name}`: unknown rollout policy `{}`",
                    channel.rollout_policy
                )),
                Some(rollout) => {
                    let gate = &rollout.health_gate.policy;
                    let health = channel.policies.iter().find(|p| &p.name == gate);
                    if health.is_none_or(|p| p.kind != PolicyKind::Health) {
                        problems.push(format!(
                            "channel `{name}`: rollout policy `{}` gates on health policy `{gate}`, which the channel does not run as a health policy",
                            channel.rollout_policy
                        ));
                    }
                }
            }
        }
        for (i, budget) in self.disruption_budgets.iter().enumerate() {
            if budget.max_in_flight.is_none() && budget.max_in_flight_pct.is_none() {
                problems.push(format!(
                    "disruptionBudgets[{i}]: sets neither maxInFlight nor maxInFlightPct"
                ));
            }
            if let Some(pct) = budget.max_in_flight_pct.filter(|p| *p > 100) {
                problems.push(format!(
                    "disruptionBudgets[{i}]: maxInFlightPct {pct} is outside 0..100"
                ));
            }
        }
        for edge in &self.edges {
            match (self.hosts.get(&edge.before), self.hosts.get(&edge.after)) {
                (Some(a), Some(b)) if a.channel != b.channel => problems.push(format!(
                    "host edge {} -> {}: crosses channels `{}` and `{}` (use a channel edge)",
                    edge.before, edge.after, a.channel, b.channel
                )),
                (Some(_), Some(_)) => {}
                _ => problems.push(format!(
                    "host edge {} -> {}: unknown host",
                    edge.before, edge.after
                )),
            }
        }
        for edge in &self.channel_edges {
            if !self.channels.contains_key(&edge.before) || !self.channels.contains_key(&edge.after)
            {
                problems.push(format!(
                    "channel edge {} -> {}: unknown channel",
                    edge.before, edge.after
                ));
            }
        }
        for (what, edges) in [
            ("host edges", &self.edges),
            ("channel edges", &self.channel_edges),
        ] {
            if let Some(cycle) = find_cycle(edges) {
                problems.push(format!("{what} form a cycle: {}", cycle.join(" -> ")));
            }
        }
        problems.sort();
        problems
    }
}

/// A cycle in the directed graph `before -> after`, as the list of its nodes (first node
/// repeated at the end), if there is one.
fn find_cycle(edges: &[Edge]) -> Option<Vec<String>> {
    let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for e in edges {
        next.entry(&e.before).or_default().push(&e.after);
    }
    // Iterative depth-first search with colours: 1 = on the current path, 2 = done.
    let mut colour: BTreeMap<&str, u8> = BTreeMap::new();
    for &start in next.keys() {
        if colour.contains_key(start) {
            continue;
        }
        let mut path: Vec<(&str, usize)> = vec![(start, 0)];
        colour.insert(start, 1);
        while let Some((node, child)) = path.last().copied() {
            let children = next.get(node).map(Vec::as_slice).unwrap_or_default();
            if let Some(&succ) = children.get(child) {
                if let Some(top) = path.last_mut() {
                    top.1 += 1;
                }
                match colour.get(succ) {
                    Some(1) => {
                        let from = path.iter().position(|(n, _)| *n == succ).unwrap_or(0);
                        let mut cycle: Vec<String> =
                            path[from..].iter().map(|(n, _)| (*n).to_owned()).collect();
                        cycle.push(succ.to_owned());
                        return Some(cycle);
                    }
                    Some(_) => {}
                    None => {
                        colour.insert(succ, 1);
                        path.push((succ, 0));
                    }
                }
            } else {
                colour.insert(node, 2);
                path.pop();
            }
        }
    }
    None
}

#[cfg(test)]
mod rule_tests {
    use super::*;

    fn fleet() -> UnsignedFleet {
        crate::parse_document(include_bytes!("../tests/data/fleet_three_hosts.json")).unwrap()
    }

    #[test]
    fn a_valid_fleet_has_no_problems() {
        assert_eq!(fleet().problems(), Vec::<String>::new());
    }

    #[test]
    fn every_problem_is_reported_together() {
        let mut f = fleet();
        f.hosts.get_mut("web1").unwrap().channel = "nope".into();
        f.disruption_budgets[0].max_in_flight_pct = Some(101);
        f.disruption_budgets.push(DisruptionBudget {
            selector: Selector::All(crate::True),
            max_in_flight: None,
            max_in_flight_pct: None,
        });
        f.channels
            .get_mut("stable")
            .unwrap()
            .freshness_window_minutes = 60;
        f.channel_edges.push(Edge {
            before: "stable".into(),
            after: "stable".into(),
        });
        f.edges = vec![
            Edge {
                before: "web2".into(),
                after: "db1".into(),
            },
            Edge {
                before: "db1".into(),
                after: "web2".into(),
            },
        ];
        let problems = f.problems().join("\n");
        for expected in [
            "host `web1`: unknown channel `nope`",
            "maxInFlightPct 101 is outside 0..100",
            "sets neither maxInFlight nor maxInFlightPct",
            "freshnessWindowMinutes 60 is below twice signingIntervalMinutes 60",
            "channel edges form a cycle: stable -> stable",
            "host edges form a cycle: db1 -> web2 -> db1",
        ] {
            assert!(
                problems.contains(expected),
                "missing `{expected}` in:\n{problems}"
            );
        }
    }

    #[test]
    fn health_gates_must_name_a_health_policy_of_the_channel() {
        let mut f = fleet();
        f.channels.get_mut("stable").unwrap().policies[0].kind = PolicyKind::Gate;
        assert!(f.problems()[0].contains("gates on health policy `health`"));
    }

    #[test]
    fn cycles_are_found_in_larger_graphs() {
        let e = |a: &str, b: &str| Edge {
            before: a.into(),
            after: b.into(),
        };
        assert_eq!(find_cycle(&[e("a", "b"), e("b", "c"), e("a", "c")]), None);
        assert_eq!(
            find_cycle(&[e("a", "b"), e("b", "c"), e("c", "d"), e("d", "b")]),
            Some(vec!["b".into(), "c".into(), "d".into(), "b".into()])
        );
    }
}
