//! `convoy-release` end to end: real Nix builds, a real binary cache, real signatures.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::Command;

use convoy_proto::*;

const NOW: &str = "2026-11-24T10:00:00Z";

fn release_cmd(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_convoy-release"))
        .args(args)
        .output()
        .unwrap()
}

struct Fixture {
    dir: tempfile::TempDir,
    keys: support::Keys,
    systems: std::path::PathBuf,
    fleet: std::path::PathBuf,
}

fn fixture(hosts: &[&str], failing: &[&str]) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let keys = support::keys(dir.path(), "2026-01-01T00:00:00Z".parse().unwrap());
    let systems = support::write_systems(dir.path(), hosts, failing);
    let fleet = dir.path().join("fleet.json");
    std::fs::write(&fleet, support::fleet_json(hosts)).unwrap();
    Fixture {
        dir,
        keys,
        systems,
        fleet,
    }
}

impl Fixture {
    fn out(&self) -> std::path::PathBuf {
        self.dir.path().join("artifacts")
    }
    fn record(&self) -> std::path::PathBuf {
        self.dir.path().join("release-record.json")
    }
    fn cache(&self) -> String {
        format!("file://{}", self.dir.path().join("cache").display())
    }
    /// `convoy-release publish` of this fixture's fleet JSON and systems.
    fn publish(&self, now: &str, extra: &[&str]) -> std::process::Output {
        let (fleet, systems) = (self.fleet.to_str().unwrap(), self.systems.to_str().unwrap());
        self.publish_from(now, &["--fleet-json", fleet, "--systems", systems], extra)
    }

    /// `convoy-release publish` of the fleet and systems named by `source`, with this
    /// fixture's keys, cache and artifact directory.
    fn publish_from(&self, now: &str, source: &[&str], extra: &[&str]) -> std::process::Output {
        let (cache, out, record) = (self.cache(), self.out(), self.record());
        let mut args = vec!["--json", "publish"];
        args.extend_from_slice(source);
        args.extend_from_slice(&[
            "--cache",
            &cache,
            "--cache-key",
            self.keys.cache_key.to_str().unwrap(),
            "--release-key",
            self.keys.release_key.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--state",
            record.to_str().unwrap(),
            "--trust-root",
            self.keys.trust_root.to_str().unwrap(),
            "--org-root",
            self.keys.org_pub.to_str().unwrap(),
            "--now",
            now,
            "--ci-commit",
            "abc123",
        ]);
        args.extend_from_slice(extra);
        release_cmd(&args)
    }

    /// `convoy-release refresh` of this fixture's artifact directory.
    fn refresh(&self, now: &str) -> std::process::Output {
        let (out, record) = (self.out(), self.record());
        release_cmd(&[
            "--json",
            "refresh",
            "--out",
            out.to_str().unwrap(),
            "--state",
            record.to_str().unwrap(),
            "--release-key",
            self.keys.release_key.to_str().unwrap(),
            "--trust-root",
            self.keys.trust_root.to_str().unwrap(),
            "--org-root",
            self.keys.org_pub.to_str().unwrap(),
            "--now",
            now,
        ])
    }

    fn verify(&self, now: &str) -> Verified<FleetResolved> {
        let root = verify_trust_root(
            &std::fs::read(&self.keys.trust_root).unwrap(),
            &self.keys.org.public_key(),
            &VerifyOptions::at(now.parse().unwrap()),
        )
        .unwrap();
        let bytes = std::fs::read(self.out().join("fleet.resolved.json")).unwrap();
        verify_artifact::<FleetResolved>(&bytes, &root, &VerifyOptions::at(now.parse().unwrap()))
            .unwrap()
    }
}

fn ok(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn publishes_verifiable_artifacts_with_pushed_closures_and_bumps_versions() {
    let f = fixture(&["web1", "web2", "db1"], &[]);
    let summary = ok(&f.publish(NOW, &[]));
    assert_eq!(summary["fleetVersion"], 1);

    let fleet = f.verify(NOW);
    assert_eq!(fleet.meta.version.get(), 1);
    assert_eq!(fleet.meta.ci_commit.as_deref(), Some("abc123"));
    for (name, host) in &fleet.hosts {
        let closure = host
            .closure_hash
            .as_ref()
            .unwrap_or_else(|| panic!("{name} has no closure"));
        assert!(
            closure
                .store_path()
                .ends_with(&format!("-nixos-system-{name}"))
        );
        let narinfo = f
            .dir
            .path()
            .join("cache")
            .join(format!("{}.narinfo", closure.digest()));
        assert!(narinfo.exists(), "{name}'s closure is in the binary cache");
    }

    // The revocations are published and signed too.
    let root = verify_trust_root(
        &std::fs::read(&f.keys.trust_root).unwrap(),
        &f.keys.org.public_key(),
        &VerifyOptions::at(NOW.parse().unwrap()),
    )
    .unwrap();
    let revocations = std::fs::read(f.out().join("revocations.json")).unwrap();
    let revocations = verify_artifact::<Revocations>(
        &revocations,
        &root,
        &VerifyOptions::at(NOW.parse().unwrap()),
    )
    .unwrap();
    assert_eq!(revocations.freshness_window_minutes, 180);

    // A second release bumps the version.
    ok(&f.publish("2026-11-24T11:00:00Z", &[]));
    assert_eq!(f.verify("2026-11-24T11:00:00Z").meta.version.get(), 2);
}

#[test]
fn refresh_re_signs_with_a_new_time_and_version_so_agents_never_see_it_stale() {
    let f = fixture(&["web1"], &[]);
    ok(&f.publish(NOW, &[]));
    let later = "2026-11-24T13:30:00Z"; // beyond the 180-minute window + skew of NOW
    let root_bytes = std::fs::read(&f.keys.trust_root).unwrap();
    let root = verify_trust_root(
        &root_bytes,
        &f.keys.org.public_key(),
        &VerifyOptions::at(later.parse().unwrap()),
    )
    .unwrap();
    let fleet_path = f.out().join("fleet.resolved.json");
    let stale = verify_artifact::<FleetResolved>(
        &std::fs::read(&fleet_path).unwrap(),
        &root,
        &VerifyOptions::at(later.parse().unwrap()),
    );
    assert!(matches!(stale, Err(VerifyError::Stale { .. })), "{stale:?}");

    let out = f.refresh(later);
    let summary = ok(&out);
    assert_eq!(summary["fleetVersion"], 2);
    assert_eq!(summary["revocationsVersion"], 2);
    let fresh = f.verify(later);
    assert_eq!(fresh.meta.signed_at, later.parse().unwrap());
    assert_eq!(fresh.meta.ci_commit.as_deref(), Some("abc123"));
}

#[test]
fn refresh_refuses_to_launder_a_tampered_artifact() {
    let f = fixture(&["web1"], &[]);
    ok(&f.publish(NOW, &[]));
    let path = f.out().join("fleet.resolved.json");
    let tampered = String::from_utf8(std::fs::read(&path).unwrap())
        .unwrap()
        .replace("\"web\"", "\"evil\"");
    std::fs::write(&path, &tampered).unwrap();
    let out = f.refresh(NOW);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bad signature"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        tampered,
        "nothing was re-signed"
    );
}

#[test]
fn a_failing_host_build_names_the_host_and_publishes_nothing() {
    let f = fixture(&["web1", "web2"], &["web2"]);
    let out = f.publish(NOW, &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("host `web2`"), "{stderr}");
    assert!(!f.out().exists(), "nothing published");
}

#[test]
fn a_failing_build_leaves_the_previous_release_untouched() {
    let f = fixture(&["web1"], &[]);
    ok(&f.publish(NOW, &[]));
    let before = std::fs::read(f.out().join("fleet.resolved.json")).unwrap();
    // The next release cannot push: the cache key is gone.
    std::fs::remove_file(&f.keys.cache_key).unwrap();
    let out = f.publish("2026-11-24T11:00:00Z", &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("pushing the closure of host `web1`"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(f.out().join("fleet.resolved.json")).unwrap(),
        before
    );
    let leftovers: Vec<_> = std::fs::read_dir(f.out())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 2, "no staging files left: {leftovers:?}");
}

#[test]
fn inputs_are_checked_before_any_work() {
    let f = fixture(&["web1"], &[]);
    let out = f.publish(
        NOW,
        &[
            "--closure",
            "ghost=/nix/store/0c5z8ss6l8yqvgqpx0n3iybxrcdhg1fs-x",
        ],
    );
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("host `ghost`, which the fleet does not define")
    );

    let pinned_policy = support::fleet_json(&["web1"]).replace(
        "\"policies\":[",
        "\"policies\":[{\"name\":\"waves\",\"kind\":\"rollout\",\"sha256\":null,\"config\":{}},",
    );
    std::fs::write(&f.fleet, pinned_policy).unwrap();
    let out = f.publish(NOW, &[]);
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("policy `waves` of channel `stable` is not pinned")
    );

    std::fs::write(
        &f.fleet,
        support::fleet_json(&["web1"]).replacen("\"meta\":null", "\"meta\":null,\"meta\":null", 1),
    )
    .unwrap();
    let out = f.publish(NOW, &[]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("duplicate key `meta`"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!f.out().exists());
}

#[test]
fn a_release_key_outside_the_trust_root_is_caught_before_publishing() {
    let f = fixture(&["web1"], &[]);
    let stranger = SecretKey::generate();
    std::fs::write(&f.keys.release_key, stranger.to_file_bytes()).unwrap();
    let out = f.publish(NOW, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("self-check") && stderr.contains("unknown key"),
        "{stderr}"
    );
    assert!(!f.out().exists());
}

#[test]
fn publishes_to_a_git_branch_without_touching_the_checkout() {
    let f = fixture(&["web1"], &[]);
    let repo = f.dir.path().join("fleet-repo");
    std::fs::create_dir(&repo).unwrap();
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .arg("-C")
            .arg(&repo)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    git(&["init", "-q", "-b", "main"]);
    ok(&f.publish(
        NOW,
        &[
            "--git-repo",
            repo.to_str().unwrap(),
            "--git-branch",
            "artifacts",
        ],
    ));
    ok(&f.publish(
        "2026-11-24T11:00:00Z",
        &[
            "--git-repo",
            repo.to_str().unwrap(),
            "--git-branch",
            "artifacts",
        ],
    ));
    let committed = git(&["show", "artifacts:fleet.resolved.json"]);
    assert_eq!(
        committed,
        std::fs::read(f.out().join("fleet.resolved.json")).unwrap()
    );
    assert_eq!(
        String::from_utf8(git(&["rev-list", "--count", "artifacts"]))
            .unwrap()
            .trim(),
        "2"
    );
    assert!(
        !repo.join("fleet.resolved.json").exists(),
        "the working tree is untouched"
    );
}

const GOOD_BUDGET: &str =
    r#"{"budgets":[{"maxInFlight":1,"name":"web","selector":{"tags":["web"]}}]}"#;

#[test]
fn bundles_the_policies_and_pins_every_channel_to_their_hashes() {
    let f = fixture(&["web1", "web2"], &[]);
    std::fs::write(
        &f.fleet,
        support::fleet_json_with_policies(&["web1", "web2"], GOOD_BUDGET),
    )
    .unwrap();
    let policies = support::builtin_policies_dir();
    ok(&f.publish(NOW, &["--policies-dir", policies.to_str().unwrap()]));

    let fleet = f.verify(NOW);
    let root = verify_trust_root(
        &std::fs::read(&f.keys.trust_root).unwrap(),
        &f.keys.org.public_key(),
        &VerifyOptions::at(NOW.parse().unwrap()),
    )
    .unwrap();
    let manifest = std::fs::read(f.out().join("policies/policy-bundle.json")).unwrap();
    let bundle = verify_artifact::<policy_bundle::PolicyBundle>(
        &manifest,
        &root,
        &VerifyOptions::at(NOW.parse().unwrap()),
    )
    .unwrap();
    assert_eq!(bundle.meta.version.get(), 1);
    assert_eq!(bundle.source_commit, "abc123");
    for reference in &fleet.channels["stable"].policies {
        let pinned = reference.sha256.unwrap();
        let entry = bundle.policy(&reference.name).unwrap();
        assert_eq!(
            entry.sha256, pinned,
            "{} is pinned to its bundled component",
            reference.name
        );
        let component = std::fs::read(f.out().join("policies").join(entry.file_name())).unwrap();
        assert_eq!(Sha256Digest::of(&component), pinned);
        assert_eq!(
            component,
            std::fs::read(policies.join(format!("{}.wasm", reference.name))).unwrap()
        );
    }
    ok(&f.publish(
        "2026-11-24T11:00:00Z",
        &["--policies-dir", policies.to_str().unwrap()],
    ));
    let manifest = std::fs::read(f.out().join("policies/policy-bundle.json")).unwrap();
    let again = verify_artifact::<policy_bundle::PolicyBundle>(
        &manifest,
        &root,
        &VerifyOptions::at("2026-11-24T11:00:00Z".parse().unwrap()),
    )
    .unwrap();
    assert_eq!(
        again.meta.version.get(),
        2,
        "the bundle version rises with each release"
    );
}

#[test]
fn a_configuration_the_policy_refuses_is_caught_at_release_time() {
    let f = fixture(&["web1"], &[]);
    let no_limit = r#"{"budgets":[{"name":"web","selector":{"tags":["web"]}}]}"#;
    std::fs::write(
        &f.fleet,
        support::fleet_json_with_policies(&["web1"], no_limit),
    )
    .unwrap();
    let out = f.publish(
        NOW,
        &[
            "--policies-dir",
            support::builtin_policies_dir().to_str().unwrap(),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("channel `stable`: policy `disruption-budget` refuses its configuration"),
        "{stderr}"
    );
    assert!(!f.out().exists(), "nothing published");
}

#[test]
fn a_missing_or_broken_policy_component_publishes_nothing() {
    let f = fixture(&["web1"], &[]);
    std::fs::write(
        &f.fleet,
        support::fleet_json_with_policies(&["web1"], GOOD_BUDGET),
    )
    .unwrap();
    let health = support::builtin_policies_dir().join("health.wasm");
    let out = f.publish(NOW, &["--policy", &format!("health={}", health.display())]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("uses policy `disruption-budget`, but no component was given"),
        "{stderr}"
    );

    // A component of the wrong world (health where a gate is expected) is refused by the
    // host runtime before the release key signs anything.
    let out = f.publish(
        NOW,
        &[
            "--policy",
            &format!("health={}", health.display()),
            "--policy",
            &format!("disruption-budget={}", health.display()),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("policy bundle: policy disruption-budget: the host runtime refuses it"),
        "{stderr}"
    );
    assert!(!f.out().exists(), "nothing published");
}

/// The fleet of [`GOOD_BUDGET`], changed by `edit`, published with the built-in components:
/// it must fail before anything is published, saying `expected`.
fn refused_before_publishing(edit: impl FnOnce(&mut serde_json::Value), expected: &str) {
    let f = fixture(&["web1"], &[]);
    let mut fleet: serde_json::Value =
        serde_json::from_str(&support::fleet_json_with_policies(&["web1"], GOOD_BUDGET)).unwrap();
    edit(&mut fleet);
    std::fs::write(&f.fleet, fleet.to_string()).unwrap();
    let policies = support::builtin_policies_dir();
    let out = f.publish(NOW, &["--policies-dir", policies.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains(expected), "{stderr}");
    assert!(!f.out().exists(), "nothing published");
}

#[test]
fn a_pin_that_is_not_the_bundled_component_publishes_nothing() {
    let pinned = "ab".repeat(32);
    refused_before_publishing(
        |fleet| fleet["channels"]["stable"]["policies"][0]["sha256"] = pinned.clone().into(),
        &format!(
            "channel `stable` pins policy `disruption-budget` to {pinned}, but the bundled component is"
        ),
    );
}

#[test]
fn one_policy_name_used_with_two_kinds_publishes_nothing() {
    refused_before_publishing(
        |fleet| {
            let mut canary = fleet["channels"]["stable"].clone();
            canary["policies"][0]["kind"] = "rollout".into();
            fleet["channels"]["canary"] = canary;
        },
        "policy `disruption-budget` is used as rollout and as gate: one name, one kind",
    );
}

/// `convoy-release policy-bundle` of two built-ins into `out`, as of `now`.
fn policy_bundle(f: &Fixture, out: &std::path::Path, now: &str) -> std::process::Output {
    let policies = support::builtin_policies_dir();
    let (budget, health) = (
        policies.join("disruption-budget.wasm"),
        policies.join("health.wasm"),
    );
    release_cmd(&[
        "--json",
        "policy-bundle",
        "--component",
        budget.to_str().unwrap(),
        "--component",
        health.to_str().unwrap(),
        "--release-key",
        f.keys.release_key.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--source-commit",
        "abc123",
        "--now",
        now,
    ])
}

#[test]
fn policy_bundle_numbers_its_versions_and_refuses_to_guess_past_a_garbled_manifest() {
    let f = fixture(&["web1"], &[]);
    let out = f.dir.path().join("bundle");
    let manifest = out.join("policy-bundle.json");
    let root = verify_trust_root(
        &std::fs::read(&f.keys.trust_root).unwrap(),
        &f.keys.org.public_key(),
        &VerifyOptions::at(NOW.parse().unwrap()),
    )
    .unwrap();
    for (now, version) in [(NOW, 1), ("2026-11-24T11:00:00Z", 2)] {
        ok(&policy_bundle(&f, &out, now));
        let bundle = verify_artifact::<policy_bundle::PolicyBundle>(
            &std::fs::read(&manifest).unwrap(),
            &root,
            &VerifyOptions::at(now.parse().unwrap()),
        )
        .unwrap();
        assert_eq!(bundle.meta.version.get(), version);
        let names: Vec<&str> = bundle.policies.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["disruption-budget", "health"]);
    }

    // Starting again at version 1 would be a rollback that every agent refuses.
    std::fs::write(&manifest, "{ not json").unwrap();
    let o = policy_bundle(&f, &out, "2026-11-24T12:00:00Z");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        stderr.contains("unreadable") && stderr.contains("refusing to guess the next version"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&manifest).unwrap(), b"{ not json");
}

#[test]
fn releases_the_demo_fleet_straight_from_a_flake_attribute() {
    let f = fixture(&["placeholder"], &[]);
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap();
    let flake = format!("git+file://{}#fleets.demo.resolved", repo.display());
    let systems = repo.join("nix/examples/demo/systems.nix");
    let policies = support::builtin_policies_dir();
    ok(&f.publish_from(
        NOW,
        &[
            "--fleet-flake",
            &flake,
            "--systems",
            systems.to_str().unwrap(),
        ],
        &["--policies-dir", policies.to_str().unwrap()],
    ));
    let fleet = f.verify(NOW);
    assert_eq!(
        fleet.hosts.keys().collect::<Vec<_>>(),
        ["ci1", "db1", "lb1", "web1", "web2"]
    );
    assert!(fleet.hosts.values().all(|h| h.closure_hash.is_some()));
    assert!(
        fleet
            .channels
            .values()
            .flat_map(|c| &c.policies)
            .all(|p| p.sha256.is_some()),
        "every policy pinned"
    );
}

/// The code of a refusal printed under `--json`, after checking it exited 1.
fn refusal_code(out: &std::process::Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(1),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {} stderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(report["ok"], false);
    report["error"]["code"].as_str().unwrap().to_owned()
}

/// The published files, to compare before and after a refused refresh.
fn published(f: &Fixture) -> Vec<(String, Vec<u8>)> {
    ["fleet.resolved.json", "revocations.json"]
        .iter()
        .map(|n| (n.to_string(), std::fs::read(f.out().join(n)).unwrap()))
        .collect()
}

/// The published fleet, re-signed by the release key after `edit` (what someone holding a
/// validly signed artifact, or the key, could put in the directory).
fn resign_fleet(f: &Fixture, edit: impl FnOnce(&mut FleetResolved)) {
    let mut fleet = (*f.verify(NOW)).clone();
    edit(&mut fleet);
    std::fs::write(
        f.out().join("fleet.resolved.json"),
        sign(&fleet, &[&f.keys.release]).unwrap(),
    )
    .unwrap();
}

#[test]
fn refresh_refuses_a_replayed_old_release_instead_of_laundering_it_into_a_rollback() {
    let f = fixture(&["web1"], &[]);
    ok(&f.publish(NOW, &[]));
    let old = published(&f);
    ok(&f.publish("2026-11-24T10:10:00Z", &[]));
    // Whoever can write the publish directory puts the old, validly signed release back.
    for (name, bytes) in &old {
        std::fs::write(f.out().join(name), bytes).unwrap();
    }
    let out = f.refresh("2026-11-24T10:20:00Z");
    assert_eq!(refusal_code(&out), "rollback");
    assert_eq!(published(&f), old, "nothing was re-signed");
    // Again and again: the version never creeps up past the hosts' high-water mark.
    assert_eq!(refusal_code(&f.refresh("2026-11-24T10:30:00Z")), "rollback");
}

#[test]
fn refresh_refuses_a_swapped_payload_and_a_version_ci_never_signed() {
    let f = fixture(&["web1"], &[]);
    ok(&f.publish(NOW, &[]));
    // Same version, other content, validly signed: equivocation.
    resign_fleet(&f, |fleet| {
        fleet.hosts.get_mut("web1").unwrap().tags = vec!["evil".into()]
    });
    let swapped = published(&f);
    assert_eq!(refusal_code(&f.refresh(NOW)), "equivocation");
    assert_eq!(published(&f), swapped);
    // A higher version CI never signed is not taken as the next base either.
    resign_fleet(&f, |fleet| {
        fleet.meta.version = Version::new(fleet.meta.version.get() + 40).unwrap()
    });
    assert_eq!(refusal_code(&f.refresh(NOW)), "not-last-published");
}

#[test]
fn refresh_refuses_a_tampered_or_missing_record() {
    let f = fixture(&["web1"], &[]);
    ok(&f.publish(NOW, &[]));
    let record = std::fs::read_to_string(f.record()).unwrap();
    let state = VerifierState::from_bytes(record.as_bytes()).unwrap();
    assert_eq!(state.get(ArtifactKind::Fleet).unwrap().version.get(), 1);
    let before = published(&f);

    // A record edited to a higher version: the directory is then an older release.
    let raised = record.replacen("\"version\":1", "\"version\":7", 1);
    assert_ne!(raised, record);
    std::fs::write(f.record(), &raised).unwrap();
    assert_eq!(refusal_code(&f.refresh(NOW)), "rollback");
    // A record edited to another payload hash.
    let fleet_hash = state
        .get(ArtifactKind::Fleet)
        .unwrap()
        .payload_sha256
        .to_string();
    let rehashed = record.replace(&fleet_hash, &"0".repeat(64));
    std::fs::write(f.record(), &rehashed).unwrap();
    assert_eq!(refusal_code(&f.refresh(NOW)), "equivocation");
    // A garbled record is an error, never "nothing published yet".
    std::fs::write(f.record(), b"{\"accepted\":").unwrap();
    assert_eq!(refusal_code(&f.refresh(NOW)), "state-corrupt");
    // No record at all, for refresh and for publish: no version is taken from the directory.
    std::fs::remove_file(f.record()).unwrap();
    assert_eq!(refusal_code(&f.refresh(NOW)), "no-release-record");
    assert_eq!(
        refusal_code(&f.publish("2026-11-24T11:00:00Z", &[])),
        "no-release-record"
    );
    assert_eq!(published(&f), before, "nothing was re-signed or published");
}

#[test]
fn publish_takes_versions_from_its_record_and_binds_the_set_refresh_keeps_it_bound() {
    let f = fixture(&["web1"], &[]);
    ok(&f.publish(NOW, &[]));
    // A forged high version in the directory does not move CI's numbering.
    resign_fleet(&f, |fleet| fleet.meta.version = Version::new(1000).unwrap());
    let summary = ok(&f.publish("2026-11-24T10:10:00Z", &[]));
    assert_eq!(summary["fleetVersion"], 2);

    let later = "2026-11-24T12:00:00Z";
    let summary = ok(&f.refresh(later));
    assert_eq!(summary["fleetVersion"], 3);
    assert_eq!(summary["revocationsVersion"], 3);
    // The refreshed directory verifies as one set: the fleet names the new revocations.
    let org = PublicKeyFile::new(f.keys.org.public_key());
    let org_path = f.dir.path().join("org-check.pub");
    std::fs::write(&org_path, org.to_file_bytes()).unwrap();
    let options = VerifyOptions::at(later.parse().unwrap());
    let anchor = published::TrustAnchor::load(&f.keys.trust_root, &org_path, &options).unwrap();
    let set = published::read_release(&f.out(), &anchor, &options).unwrap();
    assert_eq!(set.fleet.meta.version.get(), 3);
    let snapshot = set.fleet.snapshot.unwrap();
    assert_eq!(snapshot.revocations.version.get(), 3);
    assert_eq!(
        snapshot.revocations.payload_sha256,
        set.revocations.payload_sha256()
    );
    let record = VerifierState::from_bytes(&std::fs::read(f.record()).unwrap()).unwrap();
    assert_eq!(record.get(ArtifactKind::Fleet).unwrap().version.get(), 3);
    assert_eq!(
        record.get(ArtifactKind::TrustRoot).unwrap().version.get(),
        1
    );
}
