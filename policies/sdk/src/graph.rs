//! Dependency edges between named things (channels, hosts) and cycle detection, shared by
//! the edge gates so that `validate-config` refuses a cycle the same way everywhere.
#![forbid(unsafe_code)]

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use crate::ConfigError;
use crate::progress::{DEFAULT_SKIP_OFFLINE_AFTER_MINUTES, Thresholds};

/// The configuration of an edge gate, `{"edges": [{"before", "after"}]}`: the shape of
/// `edges` and `channelEdges` in fleet.resolved.json.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EdgesConfig {
    /// Ordering constraints.
    #[serde(default)]
    pub edges: Vec<Edge>,
    /// A `before` host silent this long is skipped, as the waves policy skips it: it does
    /// not hold its `after` back forever. Default
    /// [`DEFAULT_SKIP_OFFLINE_AFTER_MINUTES`](crate::progress::DEFAULT_SKIP_OFFLINE_AFTER_MINUTES),
    /// the waves policy's default.
    #[serde(default)]
    pub skip_offline_after_minutes: Option<u32>,
}

/// `after` waits until `before` has converged.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Edge {
    /// What goes first.
    pub before: String,
    /// What waits.
    pub after: String,
}

impl EdgesConfig {
    /// `waiter → what it waits for`.
    pub fn graph(&self) -> BTreeMap<&str, BTreeSet<&str>> {
        waits_for(
            self.edges
                .iter()
                .map(|e| (e.after.as_str(), e.before.as_str())),
        )
    }

    /// The thresholds by which an edge gate judges whether a `before` host has converged
    /// ([`HostRef::progress`](crate::HostRef::progress)).
    pub fn thresholds(&self) -> Thresholds {
        Thresholds::for_gate(
            self.skip_offline_after_minutes
                .unwrap_or(DEFAULT_SKIP_OFFLINE_AFTER_MINUTES),
        )
    }

    /// Refuses empty names, self-edges, cycles and a zero offline threshold; `noun` names
    /// what the edges join (`channel`, `host`) in the messages.
    pub fn check(&self, noun: &str) -> Result<(), ConfigError> {
        if self.skip_offline_after_minutes == Some(0) {
            return Err(ConfigError::invalid(
                "skipOfflineAfterMinutes must be at least 1",
            ));
        }
        for (i, e) in self.edges.iter().enumerate() {
            if e.before.is_empty() || e.after.is_empty() {
                return Err(ConfigError::invalid(format!(
                    "edges[{i}]: {noun} names must not be empty"
                )));
            }
            if e.before == e.after {
                return Err(ConfigError::invalid(format!(
                    "edges[{i}]: {noun} {} cannot wait for itself",
                    e.after
                )));
            }
        }
        match find_cycle(&self.graph()) {
            Some(cycle) => Err(ConfigError::invalid(format!(
                "cycle in {noun} edges: {}",
                in_rollout_order(cycle).join(" -> ")
            ))),
            None => Ok(()),
        }
    }
}

/// A cycle of the `waiter → waits for` graph, as mkFleet names it (`nix/lib/graph.nix`):
/// in rollout order (`before -> after`, each name going before the next), starting and
/// ending at its smallest name. `[a, b, a]` (a waits for b, b for a) stays `[a, b, a]`;
/// `[c, b, a, c]` (c waits for b …) becomes `[a, b, c, a]`.
pub fn in_rollout_order(mut cycle: Vec<String>) -> Vec<String> {
    // The path repeats its first name at the end: drop it, reverse, rotate, close.
    cycle.pop();
    cycle.reverse();
    if let Some(start) = (0..cycle.len()).min_by(|&a, &b| cycle[a].cmp(&cycle[b])) {
        cycle.rotate_left(start);
    }
    if let Some(first) = cycle.first().cloned() {
        cycle.push(first);
    }
    cycle
}

/// `waiter → the things it waits for`, sorted and deduplicated.
pub fn waits_for<'a>(
    edges: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> BTreeMap<&'a str, BTreeSet<&'a str>> {
    let mut map: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (waiter, after) in edges {
        map.entry(waiter).or_default().insert(after);
    }
    map
}

/// The first cycle found (in name order), as the path `a → b → … → a`, or `None`.
pub fn find_cycle(graph: &BTreeMap<&str, BTreeSet<&str>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Active,
        Done,
    }
    let mut marks: BTreeMap<&str, Mark> = BTreeMap::new();
    for &start in graph.keys() {
        if marks.contains_key(start) {
            continue;
        }
        // Iterative DFS (no recursion: a long chain must not exhaust a guest's stack).
        let mut path: Vec<&str> = vec![start];
        let mut stack: Vec<Vec<&str>> = vec![next(graph, start)];
        marks.insert(start, Mark::Active);
        while let Some(todo) = stack.last_mut() {
            match todo.pop() {
                Some(n) => match marks.get(n) {
                    Some(Mark::Active) => {
                        let from = path.iter().position(|p| *p == n).unwrap_or(0);
                        let mut cycle: Vec<String> =
                            path[from..].iter().map(|s| s.to_string()).collect();
                        cycle.push(n.to_string());
                        return Some(cycle);
                    }
                    Some(Mark::Done) => {}
                    None => {
                        marks.insert(n, Mark::Active);
                        path.push(n);
                        stack.push(next(graph, n));
                    }
                },
                None => {
                    stack.pop();
                    if let Some(done) = path.pop() {
                        marks.insert(done, Mark::Done);
                    }
                }
            }
        }
    }
    None
}

/// Successors of `n`, reversed so that popping visits them in name order.
fn next<'a>(graph: &BTreeMap<&'a str, BTreeSet<&'a str>>, n: &str) -> Vec<&'a str> {
    graph
        .get(n)
        .map(|s| s.iter().rev().copied().collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_cycles_and_accepts_dags() {
        let dag = waits_for([("prod", "staging"), ("staging", "dev"), ("prod", "dev")]);
        assert_eq!(find_cycle(&dag), None);
        let cyclic = waits_for([("prod", "staging"), ("staging", "dev"), ("dev", "prod")]);
        assert_eq!(
            find_cycle(&cyclic).expect("cycle").join(" → "),
            "dev → prod → staging → dev"
        );
        let self_loop = waits_for([("a", "a")]);
        assert_eq!(find_cycle(&self_loop), Some(vec!["a".into(), "a".into()]));
    }

    #[test]
    fn cycles_are_named_in_rollout_order_from_the_smallest_name() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // prod waits for staging, staging for dev, dev for prod: the rollout order is
        // dev -> staging -> prod -> dev, the way mkFleet writes it.
        let cyclic = waits_for([("prod", "staging"), ("staging", "dev"), ("dev", "prod")]);
        let cycle = find_cycle(&cyclic).expect("cycle");
        assert_eq!(
            in_rollout_order(cycle).join(" -> "),
            "dev -> staging -> prod -> dev"
        );
        assert_eq!(
            in_rollout_order(names(&["b", "a", "b"])),
            names(&["a", "b", "a"])
        );
        assert_eq!(in_rollout_order(names(&["a", "a"])), names(&["a", "a"]));
        let err = EdgesConfig {
            skip_offline_after_minutes: None,
            edges: vec![
                Edge {
                    before: "web1".into(),
                    after: "db1".into(),
                },
                Edge {
                    before: "db1".into(),
                    after: "web1".into(),
                },
            ],
        }
        .check("host")
        .expect_err("a cycle");
        assert_eq!(
            err.to_string(),
            "config: cycle in host edges: db1 -> web1 -> db1"
        );
    }

    #[test]
    fn long_chains_do_not_recurse() {
        let names: Vec<String> = (0..20_000).map(|i| format!("h{i:05}")).collect();
        let graph = waits_for(names.windows(2).map(|w| (w[0].as_str(), w[1].as_str())));
        assert_eq!(find_cycle(&graph), None);
    }
}
