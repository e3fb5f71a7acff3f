//! Dependency edges between named things (channels, hosts) and cycle detection, shared by
//! the edge gates so that `validate-config` refuses a cycle the same way everywhere.
#![forbid(unsafe_code)]

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use crate::ConfigError;

/// The configuration of an edge gate, `{"edges": [{"before", "after"}]}`: the shape of
/// `edges` and `channelEdges` in fleet.resolved.json.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EdgesConfig {
    /// Ordering constraints.
    #[serde(default)]
    pub edges: Vec<Edge>,
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

    /// Refuses empty names, self-edges and cycles; `noun` names what the edges join
    /// (`channel`, `host`) in the messages.
    pub fn check(&self, noun: &str) -> Result<(), ConfigError> {
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
                "{noun} edges form a cycle: {}",
                cycle.join(" → ")
            ))),
            None => Ok(()),
        }
    }
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
    fn long_chains_do_not_recurse() {
        let names: Vec<String> = (0..20_000).map(|i| format!("h{i:05}")).collect();
        let graph = waits_for(names.windows(2).map(|w| (w[0].as_str(), w[1].as_str())));
        assert_eq!(find_cycle(&graph), None);
    }
}
