//! A channel's policy chain: its rollout policy, its gates in the order they chain, and its
//! health policy, each loaded by the hash the signed fleet pins and configured with the
//! canonical JSON the fleet gives it.

use std::collections::BTreeMap;
use std::sync::Arc;

use convoy_host_runtime::{Policy, PolicyEngine, PolicyKind};
use convoy_proto::json::JsonError;
use convoy_proto::{Channel, FleetDocument, PolicyRef, RolloutPolicy, Strategy};

use crate::source::{ComponentSource, LoadError};

/// A loaded policy and the configuration it is called with.
#[derive(Debug)]
pub struct Configured {
    /// The policy.
    pub policy: Policy,
    /// Its configuration: canonical JSON from the signed fleet.
    pub config: String,
}

/// The policies of one channel, ready to run.
#[derive(Debug)]
pub struct PolicyChain {
    /// The rollout policy (`rollout` world): plans each tick.
    pub rollout: Configured,
    /// The gates (`gate` world), in the order the channel lists them.
    pub gates: Vec<Configured>,
    /// The health policy the channel's rollout gates on (`health` world), if it runs one.
    pub health: Option<Configured>,
    /// How many waves the channel's signed rollout policy declares: a plan promoting past
    /// the last one is refused by the host runtime as a broken output contract.
    pub waves: Option<u32>,
}

/// The number of waves the signed rollout policy declares (`all-at-once` without any is
/// one wave of every host).
fn declared_waves(rollout: &RolloutPolicy) -> Option<u32> {
    match (rollout.waves.len(), rollout.strategy) {
        (0, Strategy::AllAtOnce) => Some(1),
        (0, _) => None,
        (n, _) => u32::try_from(n).ok(),
    }
}

/// The chain of every channel of a fleet version, by channel name.
pub type PolicySet = BTreeMap<String, Arc<PolicyChain>>;

/// Why a channel's policy chain could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// A signed source hands out policies by pinned hash only; this one has none.
    #[error("channel {channel}: policy {policy} is not pinned by sha256 in the fleet")]
    NotPinned {
        /// The channel.
        channel: String,
        /// The policy.
        policy: String,
    },
    /// The channel runs no rollout policy, or more than one.
    #[error("channel {channel}: runs {count} rollout policies; exactly one is needed")]
    RolloutPolicyCount {
        /// The channel.
        channel: String,
        /// How many it lists.
        count: usize,
    },
    /// A policy could not be loaded.
    #[error("channel {channel}: policy {policy}: {source}")]
    Load {
        /// The channel.
        channel: String,
        /// The policy.
        policy: String,
        /// Why.
        source: Box<LoadError>,
    },
    /// A policy's configuration has no canonical JSON form.
    #[error("channel {channel}: policy {policy}: configuration: {source}")]
    Config {
        /// The channel.
        channel: String,
        /// The policy.
        policy: String,
        /// Why.
        source: JsonError,
    },
}

impl PolicyChain {
    /// Loads the chain of `channel` (named `name`) from `source`. With a signed source
    /// every policy must be pinned by hash. `rollout_policy` is the fleet's rollout policy
    /// of the channel: its `healthGate.policy` names the health policy the rollout gates
    /// on (without one, the channel's first health policy is used), and its waves are
    /// what a plan may promote through.
    pub fn load(
        name: &str,
        channel: &Channel,
        rollout_policy: Option<&RolloutPolicy>,
        source: &ComponentSource,
        engine: &PolicyEngine,
    ) -> Result<PolicyChain, ChainError> {
        let load = |r: &PolicyRef| -> Result<Configured, ChainError> {
            if source.is_signed() && r.sha256.is_none() {
                return Err(ChainError::NotPinned {
                    channel: name.to_owned(),
                    policy: r.name.clone(),
                });
            }
            let config = r.config_json().map_err(|source| ChainError::Config {
                channel: name.to_owned(),
                policy: r.name.clone(),
                source,
            })?;
            let policy = source
                .load(engine, &r.name, r.kind, r.sha256.as_ref())
                .map_err(|source| ChainError::Load {
                    channel: name.to_owned(),
                    policy: r.name.clone(),
                    source: Box::new(source),
                })?;
            Ok(Configured { policy, config })
        };
        let of_kind = |k: PolicyKind| channel.policies.iter().filter(move |p| p.kind == k);
        let rollouts: Vec<&PolicyRef> = of_kind(PolicyKind::Rollout).collect();
        let [rollout] = rollouts.as_slice() else {
            return Err(ChainError::RolloutPolicyCount {
                channel: name.to_owned(),
                count: rollouts.len(),
            });
        };
        let health = of_kind(PolicyKind::Health)
            .find(|p| rollout_policy.is_none_or(|r| r.health_gate.policy == p.name))
            .or_else(|| of_kind(PolicyKind::Health).next());
        Ok(PolicyChain {
            waves: rollout_policy.and_then(declared_waves),
            rollout: load(rollout)?,
            gates: of_kind(PolicyKind::Gate)
                .map(load)
                .collect::<Result<_, _>>()?,
            health: health.map(load).transpose()?,
        })
    }

    /// Loads the chain of every channel of `fleet`.
    pub fn load_all<M>(
        fleet: &FleetDocument<M>,
        source: &ComponentSource,
        engine: &PolicyEngine,
    ) -> Result<PolicySet, ChainError> {
        fleet
            .channels
            .iter()
            .map(|(name, channel)| {
                let rollout = fleet.rollout_policies.get(&channel.rollout_policy);
                let chain = PolicyChain::load(name, channel, rollout, source, engine)?;
                Ok((name.clone(), Arc::new(chain)))
            })
            .collect()
    }
}
