//! The disruption-budget gate as a pure function of its configuration and the snapshot.
//!
//! For each budget, the **group** is every host of the snapshot its selector matches
//! (across channels); its **limit** is the smaller of `maxInFlight` and
//! `pct_of(group size, maxInFlightPct)` (floor, at least 1); **in flight** counts the
//! group's hosts that are disrupted now ([`HostPhase::is_disrupted`]: dispatched,
//! activating, in their confirm window, soaking — `healthy` and not yet `soaked` — or
//! failed and not yet reverted), whichever rollout dispatched them. A soaking host counts:
//! it has not proven the new closure yet and may still fail. Candidates are admitted in candidate order while every budget that
//! matches them has room; each admission takes a slot in each of those budgets. A
//! candidate that is already disrupted holds its slot and is admitted.
#![forbid(unsafe_code)]

use std::collections::BTreeSet;

use convoy_policy_sdk::eval::gate_each;
use convoy_policy_sdk::pct::pct_of;
use convoy_policy_sdk::{ConfigError, GateInput, GatePolicy, HostId, Policy, Selector, Verdict};
use serde::Deserialize;

/// Configuration of the disruption-budget gate.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// The budgets (the fleet's `disruptionBudgets`); a candidate must fit in every budget
    /// that matches it. None (`{}`): every candidate is admitted.
    #[serde(default)]
    pub budgets: Vec<Budget>,
}

/// One budget (the shape of `disruptionBudgets` in fleet.resolved.json, plus a name).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Budget {
    /// Name used in refusals (default `budget #<index>`).
    #[serde(default)]
    pub name: Option<String>,
    /// The hosts this budget covers, across every channel and rollout.
    pub selector: Selector,
    /// At most this many covered hosts in flight (0 freezes them).
    #[serde(default)]
    pub max_in_flight: Option<u32>,
    /// At most this percentage (0–100) of covered hosts in flight (0 freezes them).
    #[serde(default)]
    pub max_in_flight_pct: Option<u8>,
}

/// Selectors nest at most this deep.
const MAX_SELECTOR_DEPTH: usize = 32;

/// The disruption-budget gate.
pub struct DisruptionBudget;

impl Policy for DisruptionBudget {
    type Config = Config;

    fn check(cfg: &Config) -> Result<(), ConfigError> {
        let mut names = BTreeSet::new();
        for (i, b) in cfg.budgets.iter().enumerate() {
            let name = label(b, i);
            if !names.insert(name.clone()) {
                return Err(ConfigError::invalid(format!(
                    "budgets[{i}]: duplicate name {name}"
                )));
            }
            if b.max_in_flight.is_none() && b.max_in_flight_pct.is_none() {
                return Err(ConfigError::invalid(format!(
                    "budgets[{i}]: set maxInFlight, maxInFlightPct or both"
                )));
            }
            // 0 is allowed: it freezes the covered hosts (every candidate is refused, saying so).
            if let Some(pct) = b.max_in_flight_pct
                && pct > 100
            {
                return Err(ConfigError::invalid(format!(
                    "budgets[{i}]: maxInFlightPct must be between 0 and 100, not {pct}"
                )));
            }
            if b.selector.depth() > MAX_SELECTOR_DEPTH {
                return Err(ConfigError::invalid(format!(
                    "budgets[{i}]: selector nests deeper than {MAX_SELECTOR_DEPTH}"
                )));
            }
        }
        Ok(())
    }
}

/// A budget's state while candidates are admitted.
struct Room<'c> {
    budget: &'c Budget,
    name: String,
    /// The hosts the budget's selector matches, one bit per host of the snapshot: the
    /// selector runs once per host, in the fleet pass, and never again for a candidate.
    members: Vec<u64>,
    group: usize,
    limit: usize,
    in_flight: usize,
    /// The refusal reason, once the budget is full. A full budget stays full for the rest
    /// of the call (nothing more is admitted into it), so the text is built once.
    full: Option<String>,
}

impl Room<'_> {
    /// Whether host `id` is in the budget's group.
    fn covers(&self, id: HostId) -> bool {
        let i = id.index();
        self.members
            .get(i / 64)
            .is_some_and(|word| word & (1u64 << (i % 64)) != 0)
    }

    fn explain(&self) -> String {
        let mut parts = Vec::new();
        if let Some(n) = self.budget.max_in_flight {
            parts.push(format!("maxInFlight {n}"));
        }
        if let Some(pct) = self.budget.max_in_flight_pct {
            parts.push(format!(
                "maxInFlightPct {pct}% of {} hosts = {}",
                self.group,
                pct_of(self.group, pct.into())
            ));
        }
        if self.limit == 0 {
            return format!(
                "disruption budget {} freezes its hosts ({})",
                self.name,
                parts.join(", ")
            );
        }
        format!(
            "disruption budget {} is full: {} of {} in flight ({})",
            self.name,
            self.in_flight,
            self.limit,
            parts.join(", ")
        )
    }
}

impl GatePolicy for DisruptionBudget {
    fn admit(cfg: &Config, input: &GateInput) -> Verdict {
        let hosts = input.snapshot.len();
        let mut rooms: Vec<Room> = cfg
            .budgets
            .iter()
            .enumerate()
            .map(|(i, b)| Room {
                budget: b,
                name: label(b, i),
                members: vec![0; hosts.div_ceil(64)],
                group: 0,
                limit: 0,
                in_flight: 0,
                full: None,
            })
            .collect();
        // One pass over the fleet for every budget: its group and what is in flight.
        for host in input.snapshot.hosts() {
            let i = host.id.index();
            for room in rooms
                .iter_mut()
                .filter(|r| r.budget.selector.matches(&host))
            {
                if let Some(word) = room.members.get_mut(i / 64) {
                    *word |= 1u64 << (i % 64);
                }
                room.group += 1;
                if host.phase.is_disrupted() {
                    room.in_flight += 1;
                }
            }
        }
        for room in &mut rooms {
            let b = room.budget;
            let by_count = b.max_in_flight.map_or(usize::MAX, |n| n as usize);
            let by_pct = b
                .max_in_flight_pct
                .map_or(usize::MAX, |p| pct_of(room.group, p.into()));
            room.limit = by_count.min(by_pct);
        }
        gate_each(input, |host| {
            if host.phase.is_disrupted() {
                // Already counted in every matching budget.
                return Ok(());
            }
            if let Some(room) = rooms
                .iter_mut()
                .find(|r| r.in_flight >= r.limit && r.covers(host.id))
            {
                if room.full.is_none() {
                    room.full = Some(room.explain());
                }
                return Err(room.full.clone().unwrap_or_default());
            }
            for room in rooms.iter_mut().filter(|r| r.covers(host.id)) {
                room.in_flight += 1;
            }
            Ok(())
        })
    }
}

fn label(b: &Budget, index: usize) -> String {
    b.name.clone().unwrap_or_else(|| format!("#{index}"))
}
