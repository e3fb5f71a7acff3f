//! Real closures through a real `file://` binary cache with signed narinfos.
#![allow(clippy::unwrap_used)]

mod support;

use convoy_release::nix::{Nix, NixError};

#[test]
fn closures_round_trip_through_a_signed_cache_and_a_foreign_signature_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let nix = Nix::default();
    let systems = support::write_systems(dir.path(), &["web1"], &[]);
    let path = nix.build(&systems, "web1").unwrap();
    let (key1, pub1) = nix.generate_cache_key("cache-one", dir.path()).unwrap();
    let (key2, pub2) = nix.generate_cache_key("cache-two", dir.path()).unwrap();
    let cache1 = format!("file://{}", dir.path().join("cache1").display());
    let cache2 = format!("file://{}", dir.path().join("cache2").display());

    nix.copy_to(&cache1, &key1, &path).unwrap();
    nix.copy_to(&cache2, &key2, &path).unwrap();
    let narinfo = dir
        .path()
        .join("cache1")
        .join(format!("{}.narinfo", path.digest()));
    let text = std::fs::read_to_string(&narinfo).unwrap();
    assert!(
        text.contains("Sig: cache-one:"),
        "narinfo is signed by the cache key:\n{text}"
    );

    // Gone locally, then fetched back with the right key.
    nix.delete(&path).unwrap();
    assert!(!std::path::Path::new(path.store_path()).exists());
    nix.copy_from(&cache1, &pub1, &path).unwrap();
    assert!(
        std::path::Path::new(path.store_path())
            .join("bin/switch-to-configuration")
            .exists()
    );

    // A cache whose narinfo is signed by a different key is refused.
    nix.delete(&path).unwrap();
    let err = nix.copy_from(&cache2, &pub1, &path).unwrap_err();
    assert!(
        matches!(&err, NixError::Failed { stderr, .. } if stderr.contains("lacks a valid signature")),
        "{err}"
    );
    assert!(!std::path::Path::new(path.store_path()).exists());
    // And the same cache is accepted with its own key.
    nix.copy_from(&cache2, &pub2, &path).unwrap();
}

#[test]
fn a_narinfo_whose_signature_was_forged_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let nix = Nix::default();
    let systems = support::write_systems(dir.path(), &["db1"], &[]);
    let path = nix.build(&systems, "db1").unwrap();
    let (key, public) = nix.generate_cache_key("cache-one", dir.path()).unwrap();
    let cache = format!("file://{}", dir.path().join("cache").display());
    nix.copy_to(&cache, &key, &path).unwrap();
    // Tamper with the narinfo: point it at a different NAR size; the signature no longer matches.
    let narinfo = dir
        .path()
        .join("cache")
        .join(format!("{}.narinfo", path.digest()));
    let text = std::fs::read_to_string(&narinfo).unwrap();
    let forged: String = text
        .lines()
        .map(|l| {
            if l.starts_with("References:") {
                "References: 00000000000000000000000000000000-evil".to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&narinfo, forged + "\n").unwrap();
    nix.delete(&path).unwrap();
    assert!(nix.copy_from(&cache, &public, &path).is_err());
}
