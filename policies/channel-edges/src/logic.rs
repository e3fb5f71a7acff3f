//! The channel-edges gate as a pure function of its configuration and the snapshot.
//!
//! A channel has **converged** when no rollout of it is active (any state but
//! `Converged`) and every one of its hosts is settled
//! ([`Progress::is_settled`](convoy_policy_sdk::Progress::is_settled)): done, or skipped
//! the way the waves policy skips it — no target closure, quarantined (it cannot converge
//! until attestation clears it), or offline past `skipOfflineAfterMinutes` (an upstream
//! host that never comes back does not block downstream channels forever). A channel with
//! no host has converged.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;

use convoy_policy_sdk::eval::gate_each;
use convoy_policy_sdk::graph::EdgesConfig;
use convoy_policy_sdk::{
    ConfigError, GateInput, GatePolicy, Policy, RolloutState, Snapshot, Thresholds, Verdict,
};

/// Configuration of the channel-edges gate: the fleet's channelEdges.
pub type Config = EdgesConfig;

/// The channel-edges gate.
pub struct ChannelEdges;

impl Policy for ChannelEdges {
    type Config = Config;

    fn check(cfg: &Config) -> Result<(), ConfigError> {
        cfg.check("channel")
    }
}

impl GatePolicy for ChannelEdges {
    fn admit(cfg: &Config, input: &GateInput) -> Verdict {
        let graph = cfg.graph();
        // Each gating channel's state is computed once, whatever the number of candidates.
        let thresholds = cfg.thresholds();
        let mut waiting: BTreeMap<&str, Option<String>> = BTreeMap::new();
        for befores in graph.values() {
            for before in befores {
                waiting.entry(before).or_insert_with(|| {
                    not_converged(before, &input.snapshot, input.now, &thresholds)
                });
            }
        }
        // A candidate's answer depends on its channel alone: each waiting channel's
        // refusal is written once (`None`: the channel waits for nothing).
        let mut refusals: BTreeMap<&str, Option<String>> = BTreeMap::new();
        for (after, befores) in &graph {
            let refusal = befores.iter().find_map(|before| {
                let why = waiting.get(before)?.as_ref()?;
                Some(format!(
                    "channel {after} waits for channel {before} to converge ({why})"
                ))
            });
            refusals.insert(after, refusal);
        }
        // Candidates mostly come channel by channel: the last channel's answer is reused
        // without a lookup (the same channel is mostly the same string of the snapshot).
        let mut last: Option<(&str, Option<&String>)> = None;
        gate_each(input, |candidate| {
            let channel = candidate.channel;
            let refusal = match last {
                Some((seen, refusal)) if std::ptr::eq(seen, channel) || seen == channel => refusal,
                _ => {
                    let refusal = refusals.get(channel).and_then(Option::as_ref);
                    last = Some((channel, refusal));
                    refusal
                }
            };
            refusal.map_or(Ok(()), |why| Err(why.clone()))
        })
    }
}

/// Why `channel` has not converged, or `None` if it has.
fn not_converged(
    channel: &str,
    snapshot: &Snapshot,
    now: u64,
    thresholds: &Thresholds,
) -> Option<String> {
    if let Some(r) = snapshot
        .active()
        .iter()
        .find(|r| r.channel == channel && r.state != RolloutState::Converged)
    {
        return Some(format!("rollout {} is {:?}", r.id, r.state));
    }
    let mut pending = snapshot
        .hosts_on(channel)
        .filter(|h| !h.progress(now, thresholds).is_settled());
    let first = pending.next()?;
    Some(format!(
        "{} host(s) not converged, first {} ({:?})",
        1 + pending.count(),
        first.name,
        first.phase
    ))
}
