//! The `convoy` binary: keygen, trust init/rotate, verify — as operators and auditors run it.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use convoy_proto::*;

mod common;
use common::{convoy, json, s};

fn keygen(dir: &Path, name: &str) -> SecretKey {
    let out = convoy(&["keygen", "--name", name, "--out-dir", s(dir)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    SecretKey::from_file_bytes(&std::fs::read(dir.join(format!("{name}.key"))).unwrap()).unwrap()
}

fn fleet(signed_at: &str) -> FleetResolved {
    let text = format!(
        r#"{{"schemaVersion":2,"hosts":{{"web1":{{"system":"x86_64-linux","tags":["web"],"channel":"stable","closureHash":"/nix/store/0c5z8ss6l8yqvgqpx0n3iybxrcdhg1fs-nixos-system-web1","pubkey":null,"pin":null}}}},"channels":{{"stable":{{"rolloutPolicy":"all","reconcileIntervalMinutes":1,"signingIntervalMinutes":60,"freshnessWindowMinutes":180,"policies":[{{"name":"health","kind":"health","sha256":"abababababababababababababababababababababababababababababababab","config":{{}}}}]}}}},"rolloutPolicies":{{"all":{{"strategy":"all-at-once","waves":[{{"selector":{{"all":true}},"soakMinutes":0}}],"healthGate":{{"policy":"health","timeoutMinutes":10}},"onHealthFailure":"halt"}}}},"edges":[],"channelEdges":[],"disruptionBudgets":[],"snapshot":{{"revocations":{{"version":1,"payloadSha256":"cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"}},"policyBundle":null}},"meta":{{"version":3,"signedAt":"{signed_at}","ciCommit":null,"signatureAlgorithm":"ed25519"}}}}"#
    );
    parse_document(text.as_bytes()).unwrap()
}

#[test]
fn keygen_writes_a_private_key_readable_only_by_its_owner_and_never_overwrites_it() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path(), "release");
    let mode = std::fs::metadata(dir.path().join("release.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let public =
        PublicKeyFile::from_file_bytes(&std::fs::read(dir.path().join("release.pub")).unwrap())
            .unwrap();
    assert_eq!(public.key_id, key.key_id());

    let again = convoy(&["keygen", "--name", "release", "--out-dir", s(dir.path())]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    let still = SecretKey::from_file_bytes(&std::fs::read(dir.path().join("release.key")).unwrap())
        .unwrap();
    assert_eq!(
        still.key_id(),
        key.key_id(),
        "the existing key is untouched"
    );
}

#[test]
fn trust_init_rotate_and_verify_through_the_overlap() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let _org = keygen(d, "org");
    let old = keygen(d, "release-old");
    let new = keygen(d, "release-new");
    let (root1, root2) = (d.join("trust-root.json"), d.join("trust-root-2.json"));

    let out = convoy(&[
        "--json",
        "trust",
        "init",
        "--org-key",
        s(&d.join("org.key")),
        "--release-key",
        s(&d.join("release-old.pub")),
        "--out",
        s(&root1),
        "--now",
        "2026-01-01T00:00:00Z",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json(&out)["meta"]["version"], 1);

    let out = convoy(&[
        "--json",
        "trust",
        "rotate",
        "--org-key",
        s(&d.join("org.key")),
        "--trust-root",
        s(&root1),
        "--add-release-key",
        s(&d.join("release-new.pub")),
        "--retire",
        old.key_id().as_str(),
        "--retire-at",
        "2026-11-25T00:00:00Z",
        "--out",
        s(&root2),
        "--now",
        "2026-11-24T00:00:00Z",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rotated = json(&out);
    assert_eq!(rotated["meta"]["version"], 2);
    assert_eq!(
        rotated["releaseKeys"][0]["notAfter"],
        "2026-11-25T00:00:00Z"
    );

    let artifact = |key: &SecretKey, at: &str| {
        let path = d.join(format!("fleet-{}-{at}.json", key.key_id()));
        std::fs::write(&path, sign(&fleet(at), &[key]).unwrap()).unwrap();
        path
    };
    let verify = |path: &Path, now: &str| {
        convoy(&[
            "--json",
            "verify",
            s(path),
            "--expect",
            "fleet",
            "--org-root",
            s(&d.join("org.pub")),
            "--trust-root",
            s(&root2),
            "--now",
            now,
        ])
    };
    let during = "2026-11-24T12:00:00Z";
    let after = "2026-11-25T01:00:00Z";
    for (key, signed, now) in [
        (&new, during, during),
        (&old, during, during),
        (&new, after, after),
    ] {
        let out = verify(&artifact(key, signed), now);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(json(&out)["ok"], true);
    }
    let out = verify(&artifact(&old, during), after);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["error"]["code"], "key-outside-validity");

    // The rotation itself refuses a retirement in the past (no overlap).
    let out = convoy(&[
        "trust",
        "rotate",
        "--org-key",
        s(&d.join("org.key")),
        "--trust-root",
        s(&root2),
        "--add-release-key",
        s(&d.join("org.pub")),
        "--retire",
        new.key_id().as_str(),
        "--retire-at",
        "2026-01-01T00:00:00Z",
        "--out",
        s(&d.join("x.json")),
        "--now",
        "2026-11-24T00:00:00Z",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not in the future"));
}

#[test]
fn verify_prints_its_checks_and_the_typed_reason() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    keygen(d, "org");
    let release = keygen(d, "release");
    let root = d.join("trust-root.json");
    assert!(
        convoy(&[
            "trust",
            "init",
            "--org-key",
            s(&d.join("org.key")),
            "--release-key",
            s(&d.join("release.pub")),
            "--out",
            s(&root),
            "--now",
            "2026-01-01T00:00:00Z"
        ])
        .status
        .success()
    );
    let path = d.join("fleet.resolved.json");
    std::fs::write(
        &path,
        sign(&fleet("2026-11-24T10:00:00Z"), &[&release]).unwrap(),
    )
    .unwrap();
    let org_pub = d.join("org.pub");
    let base = [
        "verify",
        s(&path),
        "--org-root",
        s(&org_pub),
        "--trust-root",
        s(&root),
    ];

    let out = convoy(&[&base[..], &["--now", "2026-11-24T10:30:00Z"]].concat());
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("VERIFIED")
            && text.contains("fresh: 180-minute window")
            && text.contains("version 3"),
        "{text}"
    );

    let out = convoy(&[&["--json"], &base[..], &["--now", "2026-11-25T10:30:00Z"]].concat());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["error"]["code"], "stale");

    let out = convoy(
        &[
            &["--json"],
            &base[..],
            &["--now", "2026-11-24T10:30:00Z", "--min-version", "4"],
        ]
        .concat(),
    );
    assert_eq!(json(&out)["error"]["code"], "rollback");

    std::fs::write(&path, b"{\"payloadType\":1,\"payloadType\":2}").unwrap();
    let out = convoy(&[&["--json"], &base[..]].concat());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["error"]["code"], "duplicate-key");

    // A trust root verifies on its own against the pinned org root.
    let out = convoy(&[
        "--json",
        "verify",
        s(&root),
        "--org-root",
        s(&d.join("org.pub")),
        "--now",
        "2026-11-24T10:30:00Z",
    ]);
    assert!(out.status.success());
    assert_eq!(json(&out)["summary"]["releaseThreshold"], 1);
    // …but not against another org root.
    keygen(d, "other");
    let out = convoy(&[
        "--json",
        "verify",
        s(&root),
        "--org-root",
        s(&d.join("other.pub")),
    ]);
    assert_eq!(json(&out)["error"]["code"], "unknown-key");
}

#[test]
fn every_command_explains_itself() {
    for args in [
        &["--help"][..],
        &["keygen", "--help"],
        &["trust", "rotate", "--help"],
        &["verify", "--help"],
    ] {
        let out = convoy(args);
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("Usage:"));
    }
}
