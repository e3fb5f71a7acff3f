//! The compiled-code cache: keyed by component hash and engine compatibility, reused by a
//! new engine, and a corrupt or truncated entry is discarded and recompiled, never
//! deserialised.

mod common;

use common::{admit_named, gate_input, spec_for};
use convoy_host_runtime::{EngineOptions, PolicyEngine, PolicyKind};
use convoy_test_support::corpus::corpus_component;

fn engine(dir: &std::path::Path) -> PolicyEngine {
    PolicyEngine::new(EngineOptions {
        cache_dir: Some(dir.to_owned()),
        ..EngineOptions::default()
    })
    .expect("engine")
}

#[test]
fn entries_are_keyed_by_component_and_engine_and_reused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bytes = corpus_component("good_gate.wat");
    let spec = spec_for("good", PolicyKind::Gate, &bytes);
    let first = engine(dir.path());
    assert!(first.load(&spec, &bytes).expect("loads").1.compiled);
    let entry = first
        .cache()
        .expect("cache")
        .path_for(&spec.sha256, first.compatibility_hash());
    assert!(entry.exists(), "{}", entry.display());
    assert!(
        entry
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(&spec.sha256.to_string()))
    );
    // Another engine configuration would use another entry for the same component.
    let cache = first.cache().expect("cache");
    assert_ne!(cache.path_for(&spec.sha256, "another-engine"), entry);
    let other_bytes = corpus_component("infinite_loop.wat");
    let other = spec_for("other", PolicyKind::Gate, &other_bytes);
    assert_ne!(
        cache.path_for(&other.sha256, first.compatibility_hash()),
        entry
    );
    let second = engine(dir.path());
    assert_eq!(first.compatibility_hash(), second.compatibility_hash());
    assert!(!second.load(&spec, &bytes).expect("loads").1.compiled);
}

#[test]
fn corrupt_or_truncated_entries_are_recompiled() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bytes = corpus_component("good_gate.wat");
    let spec = spec_for("good", PolicyKind::Gate, &bytes);
    let e = engine(dir.path());
    e.load(&spec, &bytes).expect("loads");
    let entry = e
        .cache()
        .expect("cache")
        .path_for(&spec.sha256, e.compatibility_hash());
    let good = std::fs::read(&entry).expect("entry");

    // One flipped bit in the compiled code: the checksum catches it.
    let mut flipped = good.clone();
    let at = flipped.len() - 100;
    flipped[at] ^= 0x10;
    std::fs::write(&entry, &flipped).expect("write");
    let (policy, stats) = engine(dir.path()).load(&spec, &bytes).expect("loads");
    assert!(stats.compiled, "a corrupt entry is recompiled");
    admit_named(&policy, "{}", &gate_input(5, 2)).expect("evaluates");
    assert_eq!(std::fs::read(&entry).expect("entry"), good, "rewritten");

    // Truncated, and garbage: the same.
    for broken in [good[..good.len() / 2].to_vec(), b"garbage".to_vec()] {
        std::fs::write(&entry, &broken).expect("write");
        let (_, stats) = engine(dir.path()).load(&spec, &bytes).expect("loads");
        assert!(stats.compiled);
    }
}

#[test]
fn clearing_the_cache_forces_a_compile() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bytes = corpus_component("good_gate.wat");
    let spec = spec_for("good", PolicyKind::Gate, &bytes);
    let e = engine(dir.path());
    e.load(&spec, &bytes).expect("loads");
    e.cache().expect("cache").clear().expect("clear");
    assert!(
        engine(dir.path())
            .load(&spec, &bytes)
            .expect("loads")
            .1
            .compiled
    );
}

/// Item 10 of issue 9: another component's entry copied onto this component's key is
/// not run: the header names the other component, so the entry is discarded and this
/// component recompiled, and the evaluation runs this component's code.
#[test]
fn another_components_entry_on_this_key_is_recompiled_never_run() {
    use convoy_host_runtime::{Limits, PolicyError};

    let dir = tempfile::tempdir().expect("tempdir");
    let good = corpus_component("good_gate.wat");
    let good_spec = spec_for("good", PolicyKind::Gate, &good);
    let looping = corpus_component("infinite_loop.wat");
    let loop_spec = spec_for("loop", PolicyKind::Gate, &looping);
    let e = engine(dir.path());
    e.load(&good_spec, &good).expect("loads");
    e.load(&loop_spec, &looping).expect("loads");
    let cache = e.cache().expect("cache");
    let good_entry = cache.path_for(&good_spec.sha256, e.compatibility_hash());
    let loop_entry = cache.path_for(&loop_spec.sha256, e.compatibility_hash());
    std::fs::copy(&loop_entry, &good_entry).expect("swap the entry");

    let (policy, stats) = engine(dir.path()).load(&good_spec, &good).expect("loads");
    assert!(stats.compiled, "the swapped entry is recompiled");
    let limits = Limits {
        fuel: 50_000_000,
        ..Limits::default()
    };
    let eval = common::admit_named_with(&policy, Some(limits), "{}", &gate_input(5, 2))
        .expect("runs the good gate's own code");
    assert_eq!(eval.receipt.policy_sha256, good_spec.sha256);
    assert_eq!(eval.output.admitted.len(), 2);
    // And the other way round: the looping component still runs its own code.
    let (looping, _) = engine(dir.path())
        .load(&loop_spec, &looping)
        .expect("loads");
    let err = common::admit_named_with(&looping, Some(limits), "{}", &gate_input(5, 2))
        .expect_err("loops");
    assert!(matches!(err, PolicyError::OutOfFuel { .. }), "{err:?}");
}

/// Item 10: an entry written by an engine of another compatibility hash, renamed onto
/// this engine's key, is refused the same way: the header binds both halves of the key.
#[test]
fn an_entry_of_another_engine_renamed_onto_this_key_is_recompiled() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bytes = corpus_component("good_gate.wat");
    let spec = spec_for("good", PolicyKind::Gate, &bytes);
    let e = engine(dir.path());
    e.load(&spec, &bytes).expect("loads");
    let cache = e.cache().expect("cache");
    let entry = cache.path_for(&spec.sha256, e.compatibility_hash());
    let mut other = std::fs::read(&entry).expect("entry");
    // The compatibility hash sits after the tag (8 bytes) and the component hash (32).
    other[8 + 32] ^= 0x01;
    std::fs::write(&entry, &other).expect("write");
    let (_, stats) = engine(dir.path()).load(&spec, &bytes).expect("loads");
    assert!(stats.compiled);
}

/// Item 10: the cache directory is created private, and refused when others can write it
/// or it belongs to someone else.
#[test]
fn the_cache_directory_is_private_or_refused() {
    use std::os::unix::fs::PermissionsExt;

    use convoy_host_runtime::{CacheProblem, PolicyError};

    let root = tempfile::tempdir().expect("tempdir");
    let fresh = root.path().join("a/b/cache");
    engine(&fresh);
    let mode = std::fs::metadata(&fresh)
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700, "{mode:o}");

    for bad in [0o777, 0o770, 0o702] {
        std::fs::set_permissions(&fresh, std::fs::Permissions::from_mode(bad)).expect("chmod");
        let err = PolicyEngine::new(EngineOptions {
            cache_dir: Some(fresh.clone()),
            ..EngineOptions::default()
        })
        .expect_err("refused");
        assert!(
            matches!(
                &err,
                PolicyError::Cache {
                    problem: CacheProblem::Writable { mode },
                    ..
                } if *mode == bad
            ),
            "{err:?}"
        );
    }
    std::fs::set_permissions(&fresh, std::fs::Permissions::from_mode(0o700)).expect("chmod");

    // Owned by another user (the tests run as root, which can give it away).
    std::os::unix::fs::chown(&fresh, Some(65534), Some(65534)).expect("chown");
    let err = PolicyEngine::new(EngineOptions {
        cache_dir: Some(fresh.clone()),
        ..EngineOptions::default()
    })
    .expect_err("refused");
    assert!(
        matches!(
            &err,
            PolicyError::Cache {
                problem: CacheProblem::ForeignOwner { owner: 65534, .. },
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.sub_code(), Some("foreign-owner"));

    // A file where the directory should be.
    let file = root.path().join("file");
    std::fs::write(&file, b"x").expect("write");
    assert!(
        PolicyEngine::new(EngineOptions {
            cache_dir: Some(file),
            ..EngineOptions::default()
        })
        .is_err()
    );
}
