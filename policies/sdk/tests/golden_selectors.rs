//! The guest SDK's selector evaluator is a twin of `convoy_proto::Selector` (guests may not
//! depend on proto). Both are pinned to the same data: every wave and budget selector of
//! every Nix golden fixture must select exactly the hosts that Nix resolved
//! (`selectorResolutions`), as proto's `nix_fixtures` test checks for the Rust side.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::Path;

use convoy_policy_sdk::selector::{Selector, SelectorSubject};
use serde_json::Value;

struct GoldenHost<'a> {
    name: &'a str,
    host: &'a Value,
}

impl SelectorSubject for GoldenHost<'_> {
    fn name(&self) -> &str {
        self.name
    }
    fn channel(&self) -> &str {
        self.host["channel"].as_str().unwrap()
    }
    fn has_tag(&self, tag: &str) -> bool {
        self.host["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == tag)
    }
}

/// The selector that `key` (`disruptionBudgets.N` or `rolloutPolicies.P.waves.N`) names.
fn selector_at<'a>(resolved: &'a Value, key: &str) -> &'a Value {
    let parts: Vec<&str> = key.split('.').collect();
    match parts.as_slice() {
        ["disruptionBudgets", i] => {
            &resolved["disruptionBudgets"][i.parse::<usize>().unwrap()]["selector"]
        }
        ["rolloutPolicies", policy, "waves", i] => {
            &resolved["rolloutPolicies"][*policy]["waves"][i.parse::<usize>().unwrap()]["selector"]
        }
        _ => panic!("unexpected selectorResolutions key {key}"),
    }
}

#[test]
fn sdk_selectors_resolve_every_golden_fixture_like_nix() {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../nix/tests/golden");
    let mut checked = 0;
    for entry in std::fs::read_dir(&golden).unwrap() {
        let case = entry.unwrap().path();
        let expected: Value =
            serde_json::from_slice(&std::fs::read(case.join("expected.json")).unwrap()).unwrap();
        let resolved = &expected["resolved"];
        let hosts: Vec<GoldenHost> = resolved["hosts"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(name, host)| GoldenHost { name, host })
            .collect();
        for (key, names) in expected["selectorResolutions"].as_object().unwrap() {
            let selector: Selector = serde_json::from_value(selector_at(resolved, key).clone())
                .unwrap_or_else(|e| panic!("{}: {key}: {e}", case.display()));
            let sdk: BTreeSet<&str> = hosts
                .iter()
                .filter(|h| selector.matches(*h))
                .map(|h| h.name)
                .collect();
            let nix: BTreeSet<&str> = names
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n.as_str().unwrap())
                .collect();
            assert_eq!(sdk, nix, "{}: {key}", case.display());
            checked += 1;
        }
    }
    assert!(
        checked >= 20,
        "only {checked} selectors checked: are the golden fixtures there?"
    );
}
