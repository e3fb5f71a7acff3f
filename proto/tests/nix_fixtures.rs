//! The Nix front door against the Rust schema: every golden fixture of `nix/tests/golden`
//! is evaluated with `nix-instantiate` (exactly as `nix/tests/run.sh` does, through
//! `nix/tests/golden.nix`), and its `.resolved` must parse as an [`UnsignedFleet`], survive
//! a round trip unchanged (stable key set, explicit nulls), and have every wave and budget
//! selector resolve to the same hosts in Rust as `mkFleet` computed in Nix.
//!
//! Nix is required: without `nix-instantiate` on `PATH` this test fails, it never skips.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use convoy_proto::{FLEET_SCHEMA_VERSION, RevocationList, UnsignedFleet, parse_document};
use serde_json::Value;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("proto/ has a parent directory")
        .to_path_buf()
}

fn golden_dir() -> PathBuf {
    repo_root().join("nix/tests/golden")
}

/// The golden cases, by directory name, sorted.
fn golden_cases() -> Vec<String> {
    let mut cases: Vec<String> = std::fs::read_dir(golden_dir())
        .expect("nix/tests/golden exists")
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.join("input.nix").is_file())
        .map(|path| {
            path.file_name()
                .expect("a directory name")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    cases.sort();
    cases
}

/// Evaluates one golden case with Nix, as `nix/tests/run.sh` does.
fn evaluate(case: &str) -> Value {
    let output = Command::new("nix-instantiate")
        .current_dir(repo_root())
        .env("NIX_CONFIG", "experimental-features = nix-command flakes")
        .args(["--eval", "--strict", "--json", "nix/tests/golden.nix"])
        .args(["--argstr", "case", case])
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run nix-instantiate ({e}): this test needs Nix (Debian: apt-get install \
                 nix-bin); it evaluates the golden fixtures of nix/tests/golden"
            )
        });
    assert!(
        output.status.success(),
        "nix-instantiate failed on golden case `{case}`:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("golden case `{case}`: nix printed invalid JSON: {e}"))
}

/// Every selector of the document with the key `mkFleet` gives it in
/// `selectorResolutions`, resolved by Rust.
fn rust_resolutions(fleet: &UnsignedFleet) -> BTreeMap<String, BTreeSet<String>> {
    let waves = fleet.rollout_policies.iter().flat_map(|(name, policy)| {
        policy.waves.iter().enumerate().map(move |(i, wave)| {
            (
                format!("rolloutPolicies.{name}.waves.{i}"),
                fleet.select(&wave.selector),
            )
        })
    });
    let budgets = fleet
        .disruption_budgets
        .iter()
        .enumerate()
        .map(|(i, budget)| {
            (
                format!("disruptionBudgets.{i}"),
                fleet.select(&budget.selector),
            )
        });
    waves.chain(budgets).collect()
}

fn nix_resolutions(case: &str, value: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let object = value
        .as_object()
        .unwrap_or_else(|| panic!("golden case `{case}`: selectorResolutions is not an object"));
    object
        .iter()
        .map(|(key, hosts)| {
            let hosts: Vec<String> = serde_json::from_value(hosts.clone()).unwrap_or_else(|e| {
                panic!(
                    "golden case `{case}`: selectorResolutions.{key} is not a list of names: {e}"
                )
            });
            let sorted = hosts.windows(2).all(|w| w[0] < w[1]);
            assert!(
                sorted,
                "golden case `{case}`: Nix resolved {key} to an unsorted or repeated list {hosts:?}"
            );
            (key.clone(), hosts.into_iter().collect())
        })
        .collect()
}

fn parse_fleet(case: &str, what: &str, resolved: &Value) -> UnsignedFleet {
    let bytes = serde_json::to_vec(resolved).expect("a JSON value serialises");
    parse_document::<UnsignedFleet>(&bytes)
        .unwrap_or_else(|e| panic!("golden case `{case}`: {what} is not an UnsignedFleet: {e}"))
}

#[test]
fn golden_fixtures_parse_and_resolve_like_rust() {
    let cases = golden_cases();
    assert!(
        cases.len() >= 8,
        "expected at least 8 golden fixtures in nix/tests/golden, found {cases:?}"
    );
    for case in &cases {
        let evaluated = evaluate(case);
        let resolved = &evaluated["resolved"];

        let fleet = parse_fleet(case, "the evaluated `.resolved`", resolved);
        assert_eq!(fleet.schema_version, FLEET_SCHEMA_VERSION, "case `{case}`");
        assert_eq!(
            fleet.meta, None,
            "case `{case}`: mkFleet leaves meta to the release tool"
        );
        assert_eq!(
            fleet.problems(),
            Vec::<String>::new(),
            "case `{case}`: what mkFleet accepts, Rust's rules accept too"
        );

        // Nothing the schema does not know, nothing it would fill in: serialising the
        // parsed document gives back exactly what Nix wrote.
        let round_trip = serde_json::to_value(&fleet).expect("an UnsignedFleet serialises");
        assert_eq!(
            &round_trip, resolved,
            "golden case `{case}`: the resolved document changes in a parse/serialise round trip"
        );

        let revocations = serde_json::to_vec(&evaluated["revocations"]).expect("serialises");
        parse_document::<RevocationList>(&revocations).unwrap_or_else(|e| {
            panic!("golden case `{case}`: `.revocations` is not a RevocationList: {e}")
        });

        let nix = nix_resolutions(case, &evaluated["selectorResolutions"]);
        let rust = rust_resolutions(&fleet);
        assert_eq!(
            nix.keys().collect::<Vec<_>>(),
            rust.keys().collect::<Vec<_>>(),
            "golden case `{case}`: Nix and Rust see different selectors"
        );
        for (key, hosts) in &rust {
            assert_eq!(
                &nix[key], hosts,
                "golden case `{case}`: {key} selects {:?} in Nix but {hosts:?} in Rust",
                nix[key]
            );
        }

        // The checked-in expectation is itself a valid document, equal to what Nix gives.
        let expected_path = golden_dir().join(case).join("expected.json");
        let expected: Value = serde_json::from_slice(
            &std::fs::read(&expected_path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", expected_path.display())),
        )
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", expected_path.display()));
        parse_fleet(case, "expected.json's `resolved`", &expected["resolved"]);
        assert_eq!(
            evaluated, expected,
            "golden case `{case}`: Nix output differs from expected.json (see nix/tests/run.sh)"
        );
    }
}

/// The example fleet that the README's demo releases is among the golden cases, so the
/// document CI signs is always one Rust has parsed.
#[test]
fn the_demo_fleet_is_a_golden_case_with_three_channels() {
    assert!(golden_cases().iter().any(|c| c == "demo"));
    let evaluated = evaluate("demo");
    let fleet = parse_fleet("demo", "the demo fleet", &evaluated["resolved"]);
    assert_eq!(fleet.channels.len(), 3);
    assert!(fleet.hosts.len() >= 4);
}
