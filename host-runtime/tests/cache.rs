//! The compiled-code cache: keyed by component hash and engine compatibility, reused by a
//! new engine, and a corrupt or truncated entry is discarded and recompiled, never
//! deserialised.

mod common;

use common::{gate_input, spec_for};
use convoy_host_runtime::{EngineOptions, PolicyEngine, PolicyKind};
use convoy_policy_tests::corpus::corpus_component;

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
    policy.admit("{}", &gate_input(5, 2)).expect("evaluates");
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
