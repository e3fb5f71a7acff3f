//! `convoy verify` against hostile inputs: a payload of another kind under a well-known
//! name, replayed trust roots and equivocating artifacts across runs (`--state`), files
//! that would exhaust memory, an out-of-range clock skew, and a mixed-and-matched release.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Output;

use convoy_proto::*;

mod common;
use common::{convoy, json, s};

const NOW: &str = "2026-11-24T10:30:00Z";

fn ts(t: &str) -> Timestamp {
    t.parse().unwrap()
}

fn meta(version: u64, at: &str) -> Meta {
    Meta {
        version: Version::new(version).unwrap(),
        signed_at: ts(at),
        ci_commit: None,
        signature_algorithm: SignatureAlgorithm::Ed25519,
    }
}

/// Keys and trust roots on disk: `trust-root-1.json` (release key `release`) and its
/// rotation `trust-root-2.json` (adds `release2`).
struct Setup {
    dir: tempfile::TempDir,
    release: SecretKey,
}

impl Setup {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let org = SecretKey::generate();
        let release = SecretKey::generate();
        let release2 = SecretKey::generate();
        std::fs::write(
            dir.path().join("org.pub"),
            PublicKeyFile::new(org.public_key()).to_file_bytes(),
        )
        .unwrap();
        let mut root = TrustRoot::single(&org, &release, ts("2026-01-01T00:00:00Z"));
        std::fs::write(
            dir.path().join("trust-root-1.json"),
            sign(&root, &[&org]).unwrap(),
        )
        .unwrap();
        root.release_keys.push(ReleaseKey {
            key_id: release2.key_id(),
            public_key: release2.public_key(),
            not_before: ts("2026-06-01T00:00:00Z"),
            not_after: None,
        });
        root.meta = meta(2, "2026-06-01T00:00:00Z");
        std::fs::write(
            dir.path().join("trust-root-2.json"),
            sign(&root, &[&org]).unwrap(),
        )
        .unwrap();
        Setup { dir, release }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn revocations(&self, version: u64, at: &str) -> Revocations {
        Revocations {
            schema_version: REVOCATIONS_SCHEMA_VERSION,
            freshness_window_minutes: 180,
            revocations: vec![],
            meta: meta(version, at),
        }
    }

    fn fleet(&self, version: u64, at: &str, revocations: &Revocations, tag: &str) -> FleetResolved {
        let text = format!(
            r#"{{"schemaVersion":2,"hosts":{{"web1":{{"system":"x86_64-linux","tags":["{tag}"],"channel":"stable","closureHash":null,"pubkey":null,"pin":null}}}},"channels":{{"stable":{{"rolloutPolicy":"all","reconcileIntervalMinutes":1,"signingIntervalMinutes":60,"freshnessWindowMinutes":180,"policies":[]}}}},"rolloutPolicies":{{"all":{{"strategy":"all-at-once","waves":[{{"selector":{{"all":true}},"soakMinutes":0}}],"healthGate":{{"policy":"health","timeoutMinutes":10}},"onHealthFailure":"halt"}}}},"edges":[],"channelEdges":[],"disruptionBudgets":[],"meta":null}}"#
        );
        let unsigned: UnsignedFleet = parse_document(text.as_bytes()).unwrap();
        let mut fleet = unsigned.with_meta(meta(version, at));
        fleet.snapshot = Some(Snapshot {
            revocations: pin_of_unsigned(revocations).unwrap(),
            policy_bundle: None,
        });
        fleet
    }

    fn write<T: Artifact>(&self, name: &str, artifact: &T) -> PathBuf {
        let path = self.path(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, sign(artifact, &[&self.release]).unwrap()).unwrap();
        path
    }

    /// `convoy --json verify FILE --org-root … --trust-root ROOT --now NOW EXTRA…`.
    fn verify(&self, file: &Path, root: &str, extra: &[&str]) -> Output {
        let (org, root) = (self.path("org.pub"), self.path(root));
        let mut args = vec![
            "--json",
            "verify",
            s(file),
            "--org-root",
            s(&org),
            "--trust-root",
            s(&root),
            "--now",
            NOW,
        ];
        args.extend_from_slice(extra);
        convoy(&args)
    }
}

fn refused(out: &Output, code: &str) {
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout {} stderr {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json(out)["error"]["code"], code, "{}", json(out));
}

fn verified(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "stdout {} stderr {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    json(out)
}

#[test]
fn a_payload_of_another_kind_is_refused_whatever_its_file_is_called() {
    let t = Setup::new();
    let revocations = t.revocations(1, "2026-11-24T10:00:00Z");
    // A signed revocation list saved as fleet.resolved.json: inferred `fleet`, refused.
    let disguised = t.write("fleet.resolved.json", &revocations);
    refused(
        &t.verify(&disguised, "trust-root-2.json", &[]),
        "wrong-payload-type",
    );
    // Said explicitly, it verifies as what it is, and not as anything else.
    verified(&t.verify(
        &disguised,
        "trust-root-2.json",
        &["--expect", "revocations"],
    ));
    for other in ["fleet", "policy-bundle", "trust-root"] {
        refused(
            &t.verify(&disguised, "trust-root-2.json", &["--expect", other]),
            "wrong-payload-type",
        );
    }
    // A trust root is not a fleet either.
    let root_as_fleet = t.path("root-copy/fleet.resolved.json");
    std::fs::create_dir_all(root_as_fleet.parent().unwrap()).unwrap();
    std::fs::copy(t.path("trust-root-2.json"), &root_as_fleet).unwrap();
    refused(
        &t.verify(&root_as_fleet, "trust-root-2.json", &[]),
        "wrong-payload-type",
    );
    // A name that says nothing needs --expect: a usage error, nothing verified.
    let anonymous = t.write("artifact.json", &revocations);
    let out = t.verify(&anonymous, "trust-root-2.json", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--expect"));
}

#[test]
fn the_verifier_state_refuses_an_older_trust_root_and_equivocation_and_records_only_success() {
    let t = Setup::new();
    let state = t.path("state.json");
    let state_arg = ["--state", s(&state)];
    let revocations = t.revocations(1, "2026-11-24T10:00:00Z");
    let fleet = t.write(
        "v3/fleet.resolved.json",
        &t.fleet(3, "2026-11-24T10:00:00Z", &revocations, "web"),
    );
    verified(&t.verify(&fleet, "trust-root-2.json", &state_arg));
    let recorded = VerifierState::from_bytes(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(
        recorded.get(ArtifactKind::TrustRoot).unwrap().version.get(),
        2
    );
    assert_eq!(recorded.get(ArtifactKind::Fleet).unwrap().version.get(), 3);
    let before = std::fs::read(&state).unwrap();

    // The older trust root (before the rotation) is a rollback, whatever it signs.
    refused(
        &t.verify(&fleet, "trust-root-1.json", &state_arg),
        "rollback",
    );
    // The same version with other content is equivocation.
    let other = t.write(
        "other/fleet.resolved.json",
        &t.fleet(3, "2026-11-24T10:00:00Z", &revocations, "db"),
    );
    refused(
        &t.verify(&other, "trust-root-2.json", &state_arg),
        "equivocation",
    );
    // A lower version is a rollback.
    let older = t.write(
        "v2/fleet.resolved.json",
        &t.fleet(2, "2026-11-24T10:00:00Z", &revocations, "web"),
    );
    refused(
        &t.verify(&older, "trust-root-2.json", &state_arg),
        "rollback",
    );
    // A higher version that fails a later check (stale) leaves no trace.
    let stale = t.write(
        "v9/fleet.resolved.json",
        &t.fleet(9, "2026-11-20T10:00:00Z", &revocations, "web"),
    );
    refused(&t.verify(&stale, "trust-root-2.json", &state_arg), "stale");
    assert_eq!(
        std::fs::read(&state).unwrap(),
        before,
        "refusals record nothing"
    );

    // A trust root checked on its own is anti-rollback protected too.
    let org = t.path("org.pub");
    let out = convoy(&[
        "--json",
        "verify",
        s(&t.path("trust-root-1.json")),
        "--expect",
        "trust-root",
        "--org-root",
        s(&org),
        "--state",
        s(&state),
    ]);
    refused(&out, "rollback");

    // A tampered state file is an error with its code, never a fresh start.
    std::fs::write(&state, b"{\"accepted\":{},\"schemaVersion\":1,\"x\":1}").unwrap();
    refused(
        &t.verify(&fleet, "trust-root-2.json", &state_arg),
        "state-corrupt",
    );
}

#[test]
fn huge_files_and_dev_zero_are_refused_as_too_large_without_being_read() {
    let t = Setup::new();
    let huge = t.path("huge/fleet.resolved.json");
    std::fs::create_dir_all(huge.parent().unwrap()).unwrap();
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(8 << 30)
        .unwrap();
    let revocations = t.revocations(1, "2026-11-24T10:00:00Z");
    let good = t.write(
        "fleet.resolved.json",
        &t.fleet(3, "2026-11-24T10:00:00Z", &revocations, "web"),
    );
    // As the artifact, as the trust root, as the org-root key, and /dev/zero.
    refused(&t.verify(&huge, "trust-root-2.json", &[]), "too-large");
    refused(
        &t.verify(&good, "huge/fleet.resolved.json", &[]),
        "too-large",
    );
    let out = convoy(&[
        "--json",
        "verify",
        s(&good),
        "--org-root",
        "/dev/zero",
        "--trust-root",
        s(&t.path("trust-root-2.json")),
    ]);
    refused(&out, "too-large");
    refused(
        &t.verify(
            Path::new("/dev/zero"),
            "trust-root-2.json",
            &["--expect", "fleet"],
        ),
        "too-large",
    );
    let out = convoy(&[
        "--json",
        "verify",
        "/dev/zero",
        "--expect",
        "trust-root",
        "--org-root",
        s(&t.path("org.pub")),
    ]);
    refused(&out, "too-large");
}

#[test]
fn an_out_of_range_clock_skew_is_refused_with_its_code_also_under_json() {
    let t = Setup::new();
    let revocations = t.revocations(1, "2026-11-24T10:00:00Z");
    let good = t.write(
        "fleet.resolved.json",
        &t.fleet(3, "2026-11-24T10:00:00Z", &revocations, "web"),
    );
    refused(
        &t.verify(&good, "trust-root-2.json", &["--clock-skew", "901"]),
        "skew-too-large",
    );
    let (org, root) = (t.path("org.pub"), t.path("trust-root-2.json"));
    let out = convoy(&[
        "verify",
        s(&good),
        "--org-root",
        s(&org),
        "--trust-root",
        s(&root),
        "--clock-skew",
        "901",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("[skew-too-large]"), "{text}");
    assert_eq!(text.matches("900").count(), 1, "said once: {text}");
}

#[test]
fn a_release_directory_verifies_as_one_set_and_refuses_mix_and_match() {
    let t = Setup::new();
    let state = t.path("state.json");
    let old = t.revocations(1, "2026-11-24T09:00:00Z");
    let new = t.revocations(2, "2026-11-24T10:00:00Z");
    t.write("release/revocations.json", &new);
    t.write(
        "release/fleet.resolved.json",
        &t.fleet(5, "2026-11-24T10:00:00Z", &new, "web"),
    );
    let dir = t.path("release");
    let summary = verified(&t.verify(&dir, "trust-root-2.json", &["--state", s(&state)]));
    assert_eq!(summary["summary"]["revocationsVersion"], 2);
    assert!(
        summary["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c.as_str().unwrap().contains("snapshot")),
        "{summary}"
    );
    let recorded = VerifierState::from_bytes(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(
        recorded
            .get(ArtifactKind::Revocations)
            .unwrap()
            .version
            .get(),
        2
    );

    // The older revocations are still fresh and validly signed, but not the ones this fleet
    // was released with.
    t.write("release/revocations.json", &old);
    refused(
        &t.verify(&dir, "trust-root-2.json", &[]),
        "snapshot-mismatch",
    );
    // And with the state, the older list is a rollback first.
    refused(
        &t.verify(&dir, "trust-root-2.json", &["--state", s(&state)]),
        "rollback",
    );
}

#[test]
fn policy_inspect_refuses_a_bundle_with_the_same_codes_as_verify() {
    let t = Setup::new();
    let (org, root) = (t.path("org.pub"), t.path("trust-root-2.json"));
    let inspect = |dir: &Path| {
        convoy(&[
            "--json",
            "policy",
            "inspect",
            "--bundle",
            s(dir),
            "--org-root",
            s(&org),
            "--trust-root",
            s(&root),
            "--now",
            NOW,
        ])
    };
    let bundle = policy_bundle::PolicyBundle {
        schema_version: policy_bundle::POLICY_BUNDLE_SCHEMA_VERSION,
        source_commit: "abc123".into(),
        policies: vec![],
        meta: meta(1, "2026-11-24T10:00:00Z"),
    };
    // Signed by a key the trust root does not list.
    let forged = t.path("forged");
    std::fs::create_dir_all(&forged).unwrap();
    std::fs::write(
        forged.join("policy-bundle.json"),
        sign(&bundle, &[&SecretKey::generate()]).unwrap(),
    )
    .unwrap();
    let out = inspect(&forged);
    refused(&out, "unknown-key");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("Some(") && !stderr.contains("Verify {"),
        "no Rust debug text: {stderr}"
    );
    // A revocation list in the manifest's place.
    let swapped = t.path("swapped");
    t.write(
        "swapped/policy-bundle.json",
        &t.revocations(1, "2026-11-24T10:00:00Z"),
    );
    refused(&inspect(&swapped), "wrong-payload-type");
    // A manifest that would exhaust memory.
    let huge = t.path("huge-bundle");
    std::fs::create_dir_all(&huge).unwrap();
    std::fs::File::create(huge.join("policy-bundle.json"))
        .unwrap()
        .set_len(8 << 30)
        .unwrap();
    refused(&inspect(&huge), "too-large");
}
