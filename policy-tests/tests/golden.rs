//! The simulator's timelines for the demo fleet and a 12-host, 3-channel fleet, checked
//! against golden files that a person has read (`policy-tests/tests/golden/README.md` says
//! what was checked). `CONVOY_UPDATE_GOLDEN=1` rewrites them; read the diff before
//! committing it.

#[path = "../../reconciler/tests/support/fleet.rs"]
mod fleet;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use convoy_policy_tests::simulate::{Scenario, simulate};
use convoy_proto::UnsignedFleet;
use fleet::{TestChannel, TestFleet};
use serde_json::json;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The demo fleet as `mkFleet` resolves it (real Nix evaluation).
fn demo_fleet() -> UnsignedFleet {
    let out = Command::new("nix-instantiate")
        .args(["--eval", "--strict", "--json"])
        .arg(root().join("nix/examples/demo/fleet.nix"))
        .args(["-A", "resolved"])
        .output()
        .expect("nix-instantiate runs (scripts/lib/deps.sh installs Nix)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    convoy_proto::parse_document(&out.stdout).expect("the demo fleet parses")
}

/// 12 hosts on three channels: canary → stable → edge (channel edges), the databases of
/// stable first and s3 after s1 (a host edge), and one fleet-wide budget of 25 % (3 hosts).
fn twelve_hosts() -> UnsignedFleet {
    let mut f = TestFleet::default()
        .host("c1", "canary", &["web"])
        .host("c2", "canary", &["web"])
        .host("s1", "stable", &["db"])
        .host("s2", "stable", &["db"]);
    for i in 3..=6 {
        f = f.host(&format!("s{i}"), "stable", &["web"]);
    }
    for i in 1..=4 {
        f = f.host(&format!("e{i}"), "edge", &["web"]);
    }
    f.channel(TestChannel::new("canary").waves(vec![(json!({"channel": "canary"}), 5)]))
        .channel(TestChannel::new("stable").waves(vec![
            (json!({"and": [{"channel": "stable"}, {"tags": ["db"]}]}), 5),
            (json!({"channel": "stable"}), 10),
        ]))
        .channel(TestChannel::new("edge"))
        .channel_edge("canary", "stable")
        .channel_edge("stable", "edge")
        .edge("s1", "s3")
        .budget(json!({"selector": {"all": true}, "maxInFlightPct": 25}))
        .document("r1")
}

fn check(name: &str, fleet: &UnsignedFleet, scenario: &Scenario) {
    let policies = fleet::policies(fleet);
    let text = simulate(fleet, policies, None, scenario)
        .expect("simulates")
        .render();
    let path = root()
        .join("policy-tests/tests/golden")
        .join(format!("{name}.txt"));
    if std::env::var_os("CONVOY_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &text).expect("golden written");
        return;
    }
    let golden = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (CONVOY_UPDATE_GOLDEN=1 writes it)", path.display()));
    assert!(
        golden == text,
        "{name}: the timeline differs from {}:\n{text}",
        path.display()
    );
}

fn demo_scenario() -> Scenario {
    let bytes = std::fs::read(root().join("nix/examples/demo/scenario-web1-probes-fail.json"))
        .expect("the demo scenario");
    let mut s: Scenario = serde_json::from_slice(&bytes).expect("a scenario");
    s.fail_probes = BTreeSet::new();
    s
}

#[test]
fn demo_fleet_timeline_matches_its_golden_file() {
    check("demo", &demo_fleet(), &demo_scenario());
}

#[test]
fn demo_fleet_with_web1_probes_failing_matches_its_golden_file() {
    let mut s = demo_scenario();
    s.fail_probes = BTreeSet::from(["web1".to_owned()]);
    check("demo-web1-probes-fail", &demo_fleet(), &s);
}

#[test]
fn twelve_hosts_three_channels_timeline_matches_its_golden_file() {
    check(
        "twelve-hosts",
        &twelve_hosts(),
        &Scenario::new(1_800_000_000, 60, 200),
    );
}
