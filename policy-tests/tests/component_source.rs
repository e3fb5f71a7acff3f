//! `ComponentSource::load`, the one loader behind the fixture runner, `convoy policy eval`,
//! `convoy audit replay` and `convoy simulate`: a pin chooses the policy and must match the
//! component, and a bundle never hands out a policy of another world than the one asked for.

use std::path::PathBuf;

use convoy_host_runtime::bundle::{BundleDir, MANIFEST_FILE};
use convoy_host_runtime::{PolicyEngine, PolicyError, PolicyKind, PolicyWorld};
use convoy_policy_tests::{ComponentSource, LoadError};
use convoy_proto::policy_bundle::{BundledPolicy, POLICY_BUNDLE_SCHEMA_VERSION, PolicyBundle};
use convoy_proto::{
    Meta, SecretKey, Sha256Digest, SignatureAlgorithm, Timestamp, TrustRoot, VerifyOptions,
    Version, sign, verify_trust_root,
};

fn components() -> PathBuf {
    convoy_test_support::builtin_components().expect("the built-in policy components")
}

fn now() -> Timestamp {
    "2026-11-24T10:00:00Z".parse().expect("timestamp")
}

/// The hash of the built-in `name`.
fn sha256_of(name: &str) -> Sha256Digest {
    Sha256Digest::of(&std::fs::read(components().join(format!("{name}.wasm"))).expect("read"))
}

/// A signed bundle of the built-in gate `disruption-budget` and health policy `health`.
fn bundle(dir: &std::path::Path) -> BundleDir {
    let org = SecretKey::generate();
    let release = SecretKey::generate();
    let mut policies = Vec::new();
    for (name, kind) in [
        ("disruption-budget", PolicyKind::Gate),
        ("health", PolicyKind::Health),
    ] {
        let bytes = std::fs::read(components().join(format!("{name}.wasm"))).expect("read");
        let entry = BundledPolicy {
            name: name.into(),
            kind,
            world: kind.world(),
            sha256: Sha256Digest::of(&bytes),
            size: bytes.len() as u64,
        };
        std::fs::write(dir.join(entry.file_name()), bytes).expect("write");
        policies.push(entry);
    }
    let manifest = PolicyBundle {
        schema_version: POLICY_BUNDLE_SCHEMA_VERSION,
        source_commit: "abc123".into(),
        policies,
        meta: Meta {
            version: Version::new(1).expect("version"),
            signed_at: now(),
            ci_commit: None,
            signature_algorithm: SignatureAlgorithm::Ed25519,
        },
    };
    std::fs::write(
        dir.join(MANIFEST_FILE),
        sign(&manifest, &[&release]).expect("sign"),
    )
    .expect("write");
    let options = VerifyOptions::at(now());
    let root = verify_trust_root(
        &sign(&TrustRoot::single(&org, &release, now()), &[&org]).expect("root"),
        &org.public_key(),
        &options,
    )
    .expect("root verifies");
    BundleDir::open(dir, &root, &options).expect("bundle verifies")
}

#[test]
fn an_unsigned_component_loads_by_name_and_must_match_its_pin() {
    let engine = PolicyEngine::new(Default::default()).expect("engine");
    let dir = ComponentSource::Dir(components());
    let budget = sha256_of("disruption-budget");
    let policy = dir
        .load(
            &engine,
            "disruption-budget",
            PolicyKind::Gate,
            Some(&budget),
        )
        .expect("loads");
    assert_eq!(policy.sha256(), &budget);

    let file = ComponentSource::File(components().join("disruption-budget.wasm"));
    let other = sha256_of("health");
    let err = file
        .load(&engine, "disruption-budget", PolicyKind::Gate, Some(&other))
        .expect_err("a pin of another component");
    assert!(
        matches!(err, LoadError::Policy(PolicyError::HashMismatch { .. })),
        "{err}"
    );
}

#[test]
fn a_bundle_chooses_by_pin_then_by_name_and_checks_the_world() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let source = ComponentSource::Bundle(bundle(tmp.path()));
    let engine = PolicyEngine::new(Default::default()).expect("engine");

    // By name without a pin; by hash with one, whatever the name says.
    let policy = source
        .load(&engine, "disruption-budget", PolicyKind::Gate, None)
        .expect("loads by name");
    assert_eq!(policy.name(), "disruption-budget");
    let health = sha256_of("health");
    let policy = source
        .load(&engine, "renamed", PolicyKind::Health, Some(&health))
        .expect("loads by pin");
    assert_eq!(policy.name(), "health");

    // The pinned policy is a health policy: never handed out as a gate.
    let err = source
        .load(&engine, "health", PolicyKind::Gate, Some(&health))
        .expect_err("wrong world");
    assert!(
        matches!(
            err,
            LoadError::WrongKind {
                wanted: PolicyKind::Gate,
                actual: PolicyKind::Health,
                ..
            }
        ),
        "{err}"
    );
}

/// An unsigned component file is outside input too: a sparse file of many GiB is refused
/// as `too-large` from its size, before a byte of it is read or hashed.
#[test]
fn a_huge_component_file_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("huge.wasm");
    std::fs::File::create(&path)
        .and_then(|f| f.set_len(8 << 30))
        .expect("sparse file");
    let engine = PolicyEngine::new(Default::default()).expect("engine");
    let err = ComponentSource::File(path)
        .load(&engine, "huge", PolicyKind::Gate, None)
        .expect_err("refused");
    assert!(
        matches!(&err, LoadError::Read(e) if e.code() == "too-large"),
        "{err}"
    );
}
