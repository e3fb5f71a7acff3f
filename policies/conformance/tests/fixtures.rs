//! Every scenario fixture of `policy-tests/fixtures`, run through the native logic.
//!
//! `CONVOY_BLESS=1 cargo test -p convoy-policy-conformance` rewrites each fixture's
//! `expected` with the current output: use it only after checking the change by hand.

use std::path::{Path, PathBuf};

use convoy_policy_build::BUILTINS;
use convoy_policy_conformance::{Fixture, config_string, evaluate};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policy-tests/fixtures")
}

fn fixture_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for policy in std::fs::read_dir(fixtures_dir()).expect("fixtures dir") {
        let policy = policy.expect("dir entry").path();
        if !policy.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&policy).expect("policy dir") {
            let f = f.expect("dir entry").path();
            if f.extension().is_some_and(|e| e == "json") {
                files.push(f);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_fixture_gives_its_expected_output() {
    let bless = std::env::var_os("CONVOY_BLESS").is_some();
    let files = fixture_files();
    assert!(files.len() >= 40, "only {} fixtures", files.len());
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read fixture");
        let mut fixture: Fixture =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let dir = file
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        assert_eq!(
            dir,
            fixture.policy,
            "{}: folder and policy differ",
            file.display()
        );
        let world = BUILTINS
            .iter()
            .find(|b| b.name == fixture.policy)
            .map(|b| b.world);
        assert_eq!(
            world,
            Some(fixture.kind.as_str()),
            "{}: kind",
            file.display()
        );
        let output = evaluate(
            &fixture.policy,
            &config_string(&fixture.config),
            fixture.input.as_ref(),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        if bless {
            fixture.expected = output;
            let mut text = serde_json::to_string_pretty(&fixture).expect("serialise");
            text.push('\n');
            std::fs::write(file, text).expect("write fixture");
        } else if output != fixture.expected {
            failures.push(format!(
                "{}:\n  expected {}\n  got      {}",
                file.display(),
                fixture.expected,
                output
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} fixture(s) differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_builtin_has_fixtures() {
    let files = fixture_files();
    for builtin in BUILTINS {
        let policy = builtin.name;
        let n = files
            .iter()
            .filter(|f| f.parent().is_some_and(|p| p.ends_with(policy)))
            .count();
        assert!(n >= 4, "{policy} has only {n} fixtures");
    }
}
