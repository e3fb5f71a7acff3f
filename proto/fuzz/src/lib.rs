//! Shared set-up of the fuzz targets: one fixed org root, release key and verified trust
//! root, built once per process, so every target runs the real verification pipeline.
#![forbid(unsafe_code)]

use std::sync::OnceLock;

use convoy_proto::{
    Artifact, SecretKey, Timestamp, TrustRoot, Verified, VerifyOptions, sign, verify_artifact,
    verify_trust_root,
};

/// The keys and the verified trust root every target verifies against.
pub struct Fixture {
    /// The org-root key.
    pub org: SecretKey,
    /// The release key the trust root lists.
    pub release: SecretKey,
    /// The trust root, verified.
    pub root: Verified<TrustRoot>,
    /// The options every target verifies with.
    pub options: VerifyOptions,
}

/// The process-wide fixture.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let now = Timestamp::from_unix(1_795_000_000).expect("in range");
        let org = SecretKey::generate();
        let release = SecretKey::generate();
        let options = VerifyOptions::at(now);
        let bytes = sign(&TrustRoot::single(&org, &release, now), &[&org]).expect("sign");
        let root = verify_trust_root(&bytes, &org.public_key(), &options).expect("verifies");
        Fixture {
            org,
            release,
            root,
            options,
        }
    })
}

/// Runs everything outside input of kind `T` goes through: the strict typed parse with the
/// kind's own rules, and the whole verification pipeline (as is, and as a payload re-signed
/// by the release key, so the fuzzer reaches past the signature check).
pub fn exercise<T: Artifact>(data: &[u8]) {
    let f = fixture();
    if let Ok(doc) = convoy_proto::parse_document::<T>(data) {
        let _ = doc.check();
        let _ = doc.freshness_window_minutes(None);
        if let Ok(signed) = sign(&doc, &[&f.release]) {
            // What we sign must verify or be refused with a typed error, never panic.
            let _ = verify_artifact::<T>(&signed, &f.root, &f.options);
        }
    }
    let _ = verify_artifact::<T>(data, &f.root, &f.options);
}
