//! The policy bundle manifest: which policy components a release ships, pinned by sha256.
//!
//! CI builds each policy into a component, writes it next to the manifest as
//! `<sha256>.wasm` (content-addressed), and signs the manifest with a release key through
//! the same envelope as every other artifact ([`crate::sign`], [`crate::verify_artifact`]).
//! A host loads a component only through a [`crate::Verified`] manifest, and only if the
//! file's bytes hash to the pinned sha256: a mismatch is a refusal, never a fallback.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::artifact::{Artifact, Meta, SignerRole};
use crate::{PolicyKind, Sha256Digest};

/// The policy bundle schema version this crate reads and writes.
pub const POLICY_BUNDLE_SCHEMA_VERSION: u32 = 1;

/// The WIT package every bundled policy's world belongs to.
pub const POLICY_PACKAGE: &str = "convoy:policy";

/// The signed manifest of a policy bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyBundle {
    /// Always [`POLICY_BUNDLE_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The commit of the policy sources the components were built from.
    pub source_commit: String,
    /// The bundled policies, sorted by name, names unique.
    pub policies: Vec<BundledPolicy>,
    /// Version and signing metadata.
    pub meta: Meta,
}

/// One policy component of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BundledPolicy {
    /// The policy's name, as channels in fleet.resolved.json refer to it.
    pub name: String,
    /// Which world it implements.
    pub kind: PolicyKind,
    /// The fully qualified world and WIT package version (`convoy:policy/gate@1.0.0`).
    pub world: String,
    /// sha256 of the component bytes; the file is `<sha256>.wasm` beside the manifest.
    pub sha256: Sha256Digest,
    /// Size of the component in bytes.
    pub size: u64,
}

impl BundledPolicy {
    /// The content-addressed file name of the component (`<sha256>.wasm`).
    pub fn file_name(&self) -> String {
        format!("{}.wasm", self.sha256)
    }
}

impl PolicyBundle {
    /// The entry named `name`.
    pub fn policy(&self, name: &str) -> Option<&BundledPolicy> {
        self.policies.iter().find(|p| p.name == name)
    }

    /// The entry with component hash `sha256` (how a channel pins a policy).
    pub fn by_sha256(&self, sha256: &Sha256Digest) -> Option<&BundledPolicy> {
        self.policies.iter().find(|p| &p.sha256 == sha256)
    }
}

/// The world a [`PolicyKind`] names inside [`POLICY_PACKAGE`].
pub fn world_name(kind: PolicyKind) -> &'static str {
    match kind {
        PolicyKind::Rollout => "rollout",
        PolicyKind::Gate => "gate",
        PolicyKind::Health => "health",
        PolicyKind::Attestation => "attestation",
    }
}

impl Artifact for PolicyBundle {
    const KIND: crate::ArtifactKind = crate::ArtifactKind::PolicyBundle;
    const SCHEMA_VERSION: u32 = POLICY_BUNDLE_SCHEMA_VERSION;
    const SIGNER: SignerRole = SignerRole::Release;
    fn meta(&self) -> &Meta {
        &self.meta
    }
    /// A bundle is not re-signed on a schedule: what is current is decided by the fresh
    /// fleet artifact, whose channels pin policies by hash. Anti-rollback still applies.
    fn freshness_window_minutes(&self, _channel: Option<&str>) -> Result<Option<u32>, String> {
        Ok(None)
    }
    fn check(&self) -> Result<(), String> {
        if self.source_commit.trim().is_empty() {
            return Err("sourceCommit is empty".to_owned());
        }
        let mut names = BTreeSet::new();
        for (i, p) in self.policies.iter().enumerate() {
            let at = format!("policies[{i}]");
            if p.name.is_empty()
                || !p
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(format!("{at}: name `{}` is not [A-Za-z0-9_-]+", p.name));
            }
            if !names.insert(p.name.as_str()) {
                return Err(format!("{at}: policy `{}` listed twice", p.name));
            }
            let prefix = format!("{POLICY_PACKAGE}/{}@", world_name(p.kind));
            let version = p
                .world
                .strip_prefix(&prefix)
                .ok_or_else(|| format!("{at}: world `{}` is not `{prefix}<version>`", p.world))?;
            let parts: Vec<&str> = version.split('.').collect();
            if parts.len() != 3 || parts.iter().any(|n| n.parse::<u32>().is_err()) {
                return Err(format!(
                    "{at}: world version `{version}` is not MAJOR.MINOR.PATCH"
                ));
            }
            if p.size == 0 {
                return Err(format!("{at}: size is 0"));
            }
        }
        if !self.policies.windows(2).all(|w| w[0].name < w[1].name) {
            return Err("policies are not sorted by name".to_owned());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        SecretKey, SignatureAlgorithm, Timestamp, TrustRoot, VerifyError, VerifyOptions, Version,
    };
    use crate::{sign, verify_artifact, verify_trust_root};

    fn bundle(policies: Vec<BundledPolicy>) -> PolicyBundle {
        PolicyBundle {
            schema_version: POLICY_BUNDLE_SCHEMA_VERSION,
            source_commit: "0123abcd".into(),
            policies,
            meta: Meta {
                version: Version::new(3).expect("small"),
                signed_at: now(),
                ci_commit: None,
                signature_algorithm: SignatureAlgorithm::Ed25519,
            },
        }
    }

    fn entry(name: &str, kind: PolicyKind, world: &str) -> BundledPolicy {
        BundledPolicy {
            name: name.into(),
            kind,
            world: world.into(),
            sha256: Sha256Digest::of(name.as_bytes()),
            size: 1234,
        }
    }

    fn now() -> Timestamp {
        "2026-11-24T10:00:00Z".parse().expect("timestamp")
    }

    #[test]
    fn signed_by_a_release_key_verifies_and_by_another_key_does_not() {
        let org = SecretKey::generate();
        let release = SecretKey::generate();
        let stranger = SecretKey::generate();
        let opts = VerifyOptions::at(now());
        let root = verify_trust_root(
            &sign(&TrustRoot::single(&org, &release, now()), &[&org]).expect("sign root"),
            &org.public_key(),
            &opts,
        )
        .expect("root");
        let b = bundle(vec![
            entry("budget", PolicyKind::Gate, "convoy:policy/gate@1.0.0"),
            entry("waves", PolicyKind::Rollout, "convoy:policy/rollout@1.0.0"),
        ]);
        let good = sign(&b, &[&release]).expect("sign");
        let verified = verify_artifact::<PolicyBundle>(&good, &root, &opts).expect("verifies");
        assert_eq!(
            verified.policy("waves").map(|p| p.kind),
            Some(PolicyKind::Rollout)
        );

        let forged = sign(&b, &[&stranger]).expect("sign");
        let err = verify_artifact::<PolicyBundle>(&forged, &root, &opts).expect_err("refused");
        assert!(
            matches!(
                err,
                VerifyError::UnknownKey { .. } | VerifyError::ThresholdNotMet { .. }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn check_refuses_duplicates_unsorted_and_mismatched_worlds() {
        let g = |n: &str| entry(n, PolicyKind::Gate, "convoy:policy/gate@1.0.0");
        assert!(bundle(vec![g("a"), g("b")]).check().is_ok());
        assert!(bundle(vec![g("a"), g("a")]).check().is_err());
        assert!(bundle(vec![g("b"), g("a")]).check().is_err());
        assert!(
            bundle(vec![entry(
                "a",
                PolicyKind::Gate,
                "convoy:policy/health@1.0.0"
            )])
            .check()
            .is_err()
        );
        assert!(
            bundle(vec![entry("a", PolicyKind::Gate, "convoy:policy/gate@1")])
                .check()
                .is_err()
        );
        assert!(
            bundle(vec![entry(
                "a b",
                PolicyKind::Gate,
                "convoy:policy/gate@1.0.0"
            )])
            .check()
            .is_err()
        );
    }
}
