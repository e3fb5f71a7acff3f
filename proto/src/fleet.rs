//! `fleet.resolved.json`: the whole desired state of a fleet, as `mkFleet` evaluates it and
//! `convoy-release` signs it. Field names are camelCase; absent optional values are written
//! as explicit `null`s so that the key set, and so the canonical bytes, are stable.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::selector::SelectorSubject;
use crate::{Meta, Selector, Sha256Digest};

/// The fleet schema version this crate reads and writes.
pub const FLEET_SCHEMA_VERSION: u32 = 1;

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
    /// Version and signing metadata.
    pub meta: M,
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

impl Serialize for ClosureHash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ClosureHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

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
}
