//! What a signed fleet version asks for, in the form the reconciler works with.

use std::collections::BTreeMap;

use convoy_proto::json::JsonError;
use convoy_proto::{
    FleetDocument, FleetResolved, PolicyRef, RolloutPolicy, Sha256Digest, Verified,
};
use serde::{Deserialize, Serialize};

/// One host as the fleet version wants it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DesiredHost {
    /// The channel the host follows.
    pub channel: String,
    /// Its tags, sorted.
    pub tags: Vec<String>,
    /// The closure it should run: its operator pin if it has one, else its channel's build;
    /// `None` if the fleet has none for it (never dispatched).
    pub target: Option<String>,
}

/// One channel as the fleet version wants it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DesiredChannel {
    /// A dispatched host must confirm within this many seconds (`healthGate.timeoutMinutes`);
    /// the dispatch's confirm deadline is its time plus this.
    pub confirm_window_seconds: u64,
    /// Each wave's soak time in seconds (`waves[i].soakMinutes`): a host healthy this long
    /// in the current wave is marked soaked.
    pub soak_seconds: Vec<u64>,
    /// sha256 of what a rollout of the channel ships: every host's target closure, the
    /// channel's policies (hashes and configurations) and its rollout policy. A new fleet
    /// version with another fingerprint starts a rollout.
    pub fingerprint: Sha256Digest,
}

/// The part of a verified fleet version the reconciler acts on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DesiredFleet {
    /// The fleet artifact's version (monotonic).
    pub version: u64,
    /// Every host, by name.
    pub hosts: BTreeMap<String, DesiredHost>,
    /// Every channel, by name.
    pub channels: BTreeMap<String, DesiredChannel>,
}

/// Why a fleet document cannot be acted upon.
#[derive(Debug, thiserror::Error)]
pub enum DesiredError {
    /// A channel names a rollout policy the fleet does not define.
    #[error("channel {channel}: unknown rollout policy {policy}")]
    UnknownRolloutPolicy {
        /// The channel.
        channel: String,
        /// The missing rollout policy.
        policy: String,
    },
    /// A host follows a channel the fleet does not define.
    #[error("host {host}: unknown channel {channel}")]
    UnknownChannel {
        /// The host.
        host: String,
        /// The missing channel.
        channel: String,
    },
    /// The channel's content has no canonical JSON form (so no fingerprint).
    #[error("channel {channel}: {source}")]
    NotCanonical {
        /// The channel.
        channel: String,
        /// Why.
        source: JsonError,
    },
}

/// What a channel's fingerprint covers.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Shipped<'a> {
    targets: BTreeMap<&'a str, Option<&'a str>>,
    policies: &'a [PolicyRef],
    rollout_policy: &'a RolloutPolicy,
}

impl DesiredFleet {
    /// The desired state of a verified, signed fleet.
    pub fn from_verified(fleet: &Verified<FleetResolved>) -> Result<DesiredFleet, DesiredError> {
        DesiredFleet::from_document(&**fleet, fleet.meta.version.get())
    }

    /// The desired state of `fleet` as version `version`. Only for a fleet that was
    /// verified, or for development and simulation: the reconciler acts on what it is given.
    pub fn from_document<M>(
        fleet: &FleetDocument<M>,
        version: u64,
    ) -> Result<DesiredFleet, DesiredError> {
        let mut hosts = BTreeMap::new();
        for (name, h) in &fleet.hosts {
            if !fleet.channels.contains_key(&h.channel) {
                return Err(DesiredError::UnknownChannel {
                    host: name.clone(),
                    channel: h.channel.clone(),
                });
            }
            let target = h
                .pin
                .as_ref()
                .map(|p| &p.closure_hash)
                .or(h.closure_hash.as_ref())
                .map(|c| c.store_path().to_owned());
            let mut tags = h.tags.clone();
            tags.sort();
            tags.dedup();
            hosts.insert(
                name.clone(),
                DesiredHost {
                    channel: h.channel.clone(),
                    tags,
                    target,
                },
            );
        }
        let mut channels = BTreeMap::new();
        for (name, c) in &fleet.channels {
            let rollout = fleet
                .rollout_policies
                .get(&c.rollout_policy)
                .ok_or_else(|| DesiredError::UnknownRolloutPolicy {
                    channel: name.clone(),
                    policy: c.rollout_policy.clone(),
                })?;
            let shipped = Shipped {
                targets: hosts
                    .iter()
                    .filter(|(_, h)| &h.channel == name)
                    .map(|(n, h)| (n.as_str(), h.target.as_deref()))
                    .collect(),
                policies: &c.policies,
                rollout_policy: rollout,
            };
            let bytes = convoy_proto::json::canonical_bytes(&shipped).map_err(|source| {
                DesiredError::NotCanonical {
                    channel: name.clone(),
                    source,
                }
            })?;
            channels.insert(
                name.clone(),
                DesiredChannel {
                    confirm_window_seconds: u64::from(rollout.health_gate.timeout_minutes) * 60,
                    soak_seconds: rollout
                        .waves
                        .iter()
                        .map(|w| u64::from(w.soak_minutes) * 60)
                        .collect(),
                    fingerprint: Sha256Digest::of(&bytes),
                },
            );
        }
        Ok(DesiredFleet {
            version,
            hosts,
            channels,
        })
    }
}
