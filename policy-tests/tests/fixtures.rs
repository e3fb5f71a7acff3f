//! Every scenario fixture of `policy-tests/fixtures`, run through the real host runtime
//! against the built-in components freshly built by the guest build tool.

use std::path::{Path, PathBuf};

use convoy_host_runtime::PolicyEngine;
use convoy_policy_tests::{ComponentSource, Runner};

fn components() -> PathBuf {
    convoy_test_support::builtin_components().expect("the built-in policy components")
}

#[test]
fn every_fixture_passes_in_wasmtime() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let engine = PolicyEngine::new(Default::default()).expect("engine");
    let mut runner = Runner::new(engine, ComponentSource::Dir(components()));
    let report = runner.run_dir(&fixtures).expect("fixtures readable");
    print!("{report}");
    assert!(
        report.outcomes.len() >= 40,
        "only {} fixtures",
        report.outcomes.len()
    );
    assert_eq!(report.failed(), 0, "{report}");
}

#[test]
fn a_wrong_expectation_is_reported_as_a_failure_not_a_pass() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/disruption-budget/pct_rounds_down.json");
    let mut fixture: serde_json::Value =
        serde_json::from_slice(&std::fs::read(src).expect("fixture")).expect("json");
    fixture["expected"]["admitted"] = serde_json::json!(["nobody"]);
    std::fs::write(dir.path().join("tampered.json"), fixture.to_string()).expect("write");
    std::fs::write(dir.path().join("broken.json"), "{ not json").expect("write");
    let engine = PolicyEngine::new(Default::default()).expect("engine");
    let mut runner = Runner::new(engine, ComponentSource::Dir(components()));
    let report = runner.run_dir(dir.path()).expect("dir");
    assert_eq!((report.passed(), report.failed()), (0, 2), "{report}");
    assert!(report.to_string().ends_with("0 passed, 2 failed\n"));
}
