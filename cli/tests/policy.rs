//! `convoy policy build/inspect/eval/test` and `convoy audit replay`, end to end, with the
//! real build tool, the real built-in `disruption-budget` component and wasmtime.

use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::convoy;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn build_inspect_eval_replay_and_test_a_builtin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let s = |p: &Path| p.to_str().expect("utf-8").to_owned();
    let policies = root().join("policies");

    // build: the guest build tool, then the runtime's own check; prints name, world, hash.
    let o = convoy(&[
        "policy",
        "build",
        "--builtin",
        "disruption-budget",
        "--out",
        &s(&out),
        "--policies",
        &s(&policies),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("disruption-budget\tconvoy:policy/gate@1.0.0\t"),
        "{}",
        text(&o)
    );
    let component = out.join("disruption-budget.wasm");

    // inspect: world, exports, imports (types only), unsigned.
    let o = convoy(&["--json", "policy", "inspect", &s(&component)]);
    assert!(o.status.success(), "{}", text(&o));
    let info: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(info[0]["world"], "convoy:policy/gate@1.0.0");
    assert_eq!(info[0]["exports"].as_array().map(Vec::len), Some(2));

    // eval with evidence, then replay it.
    let fixture: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root().join("policy-tests/fixtures/disruption-budget/pct_rounds_down.json"))
            .expect("fixture"),
    )
    .expect("json");
    let call = dir.path().join("call.json");
    let call_json = serde_json::json!({
        "kind": fixture["kind"], "config": fixture["config"], "input": fixture["input"]
    });
    std::fs::write(&call, call_json.to_string()).expect("write");
    let evidence = dir.path().join("evidence.json");
    let o = convoy(&[
        "--json",
        "policy",
        "eval",
        &s(&call),
        "--component",
        &s(&component),
        "--evidence",
        &s(&evidence),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let eval: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(eval["output"], fixture["expected"]);
    assert!(eval["receipt"]["fuelUsed"].as_u64().is_some_and(|f| f > 0));

    let o = convoy(&[
        "audit",
        "replay",
        &s(&evidence),
        "--component",
        &s(&component),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("PROVEN"), "{}", text(&o));

    // A doctored input no longer reproduces the receipt: exit 1, and it says what differs.
    let mut doctored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&evidence).expect("read")).expect("json");
    doctored["call"]["input"]["now"] = serde_json::json!(1);
    std::fs::write(&evidence, doctored.to_string()).expect("write");
    let o = convoy(&[
        "audit",
        "replay",
        &s(&evidence),
        "--component",
        &s(&component),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("inputSha256"), "{}", text(&o));

    // test: fixtures through wasmtime, a summary line; a wrong expectation fails (exit 1).
    let fixtures = dir.path().join("fixtures");
    std::fs::create_dir(&fixtures).expect("mkdir");
    std::fs::write(fixtures.join("good.json"), fixture.to_string()).expect("write");
    let o = convoy(&["policy", "test", &s(&fixtures), "--components", &s(&out)]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("1 passed, 0 failed"), "{}", text(&o));
    let mut wrong = fixture.clone();
    wrong["expected"]["admitted"] = serde_json::json!([]);
    std::fs::write(fixtures.join("wrong.json"), wrong.to_string()).expect("write");
    let o = convoy(&["policy", "test", &s(&fixtures), "--components", &s(&out)]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("1 passed, 1 failed"), "{}", text(&o));
}

#[test]
fn inspect_reports_a_component_that_imports_wasi_as_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wasm = dir.path().join("sneaky.wasm");
    let bytes =
        wat::parse_file(root().join("host-runtime/tests/hostile/imports_wasi.wat")).expect("wat");
    std::fs::write(&wasm, bytes).expect("write");
    let o = convoy(&["policy", "inspect", wasm.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("REFUSED"), "{}", text(&o));
    assert!(
        text(&o).contains("wasi:cli/environment@0.2.0"),
        "{}",
        text(&o)
    );
}
