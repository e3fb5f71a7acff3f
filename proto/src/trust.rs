//! The trust root: which release keys may sign artifacts, and when. The org-root key (kept
//! offline) signs it; agents and the CP pin the org-root public key and accept a trust root
//! only if that key signed it.

use serde::{Deserialize, Serialize};

use crate::{KeyId, Meta, PublicKey, Timestamp};

/// The trust-root schema version this crate reads and writes.
pub const TRUST_ROOT_SCHEMA_VERSION: u32 = 1;

/// The trust root document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrustRoot {
    /// Always [`TRUST_ROOT_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The key that signs trust roots (and, later, bootstrap tokens and operator certs).
    pub org_root: KeyEntry,
    /// Keys that may sign fleet artifacts, revocations, policy bundles and rollout manifests.
    pub release_keys: Vec<ReleaseKey>,
    /// How many distinct release keys must sign an artifact (N of M; at least 1).
    pub release_threshold: u32,
    /// Version and signing metadata; `version` rises with every rotation.
    pub meta: Meta,
}

/// A public key with its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyEntry {
    /// The id derived from `public_key`.
    pub key_id: KeyId,
    /// The key (base64).
    pub public_key: PublicKey,
}

/// A release key and the window in which it may sign. Windows of an outgoing and an
/// incoming key overlap during a rotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReleaseKey {
    /// The id derived from `public_key`.
    pub key_id: KeyId,
    /// The key (base64).
    pub public_key: PublicKey,
    /// Artifacts signed before this instant are refused.
    pub not_before: Timestamp,
    /// From this instant on, artifacts signed by this key are refused; `null` = open-ended.
    pub not_after: Option<Timestamp>,
}

impl ReleaseKey {
    /// Whether `at` is inside the key's window.
    pub fn valid_at(&self, at: Timestamp) -> bool {
        self.not_before <= at && self.not_after.is_none_or(|end| at < end)
    }
}

/// A trust root that is signed correctly but does not make sense.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustRootError {
    /// A key id that does not match its key.
    #[error("trust root: key id `{stated}` does not match its key (`{actual}`)")]
    KeyIdMismatch {
        /// The stated id.
        stated: KeyId,
        /// The id derived from the key.
        actual: KeyId,
    },
    /// The same key listed twice.
    #[error("trust root: release key `{0}` is listed twice")]
    DuplicateKey(KeyId),
    /// Threshold 0, or more than there are keys.
    #[error(
        "trust root: release threshold {threshold} must be between 1 and the {keys} release keys"
    )]
    BadThreshold {
        /// The stated threshold.
        threshold: u32,
        /// How many release keys there are.
        keys: usize,
    },
    /// A key whose window ends before it starts.
    #[error("trust root: release key `{0}` has notAfter before notBefore")]
    EmptyWindow(KeyId),
    /// The org-root key also listed as a release key: it must stay offline.
    #[error("trust root: the org-root key `{0}` must not be a release key")]
    OrgRootAsReleaseKey(KeyId),
}

impl TrustRoot {
    /// Checks the rules that signatures cannot: ids match keys, no key twice, a threshold
    /// between 1 and the number of keys, non-empty windows, org root separate.
    pub fn check(&self) -> Result<(), TrustRootError> {
        let entries = std::iter::once((&self.org_root.key_id, &self.org_root.public_key))
            .chain(self.release_keys.iter().map(|k| (&k.key_id, &k.public_key)));
        for (stated, key) in entries {
            if *stated != key.key_id() {
                return Err(TrustRootError::KeyIdMismatch {
                    stated: stated.clone(),
                    actual: key.key_id(),
                });
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for key in &self.release_keys {
            if key.key_id == self.org_root.key_id {
                return Err(TrustRootError::OrgRootAsReleaseKey(key.key_id.clone()));
            }
            if !seen.insert(&key.key_id) {
                return Err(TrustRootError::DuplicateKey(key.key_id.clone()));
            }
            if key.not_after.is_some_and(|end| end <= key.not_before) {
                return Err(TrustRootError::EmptyWindow(key.key_id.clone()));
            }
        }
        let threshold = self.release_threshold;
        if threshold == 0 || threshold as usize > self.release_keys.len() {
            return Err(TrustRootError::BadThreshold {
                threshold,
                keys: self.release_keys.len(),
            });
        }
        Ok(())
    }

    /// The release key with id `id`.
    pub fn release_key(&self, id: &KeyId) -> Option<&ReleaseKey> {
        self.release_keys.iter().find(|k| &k.key_id == id)
    }
}

impl TrustRoot {
    /// A first trust root: `org` as org root, `release` as the only release key from `now`
    /// on, threshold 1, version 1 (what `convoy trust init` writes).
    pub fn single(org: &crate::SecretKey, release: &crate::SecretKey, now: Timestamp) -> Self {
        TrustRoot {
            schema_version: TRUST_ROOT_SCHEMA_VERSION,
            org_root: KeyEntry {
                key_id: org.key_id(),
                public_key: org.public_key(),
            },
            release_keys: vec![ReleaseKey {
                key_id: release.key_id(),
                public_key: release.public_key(),
                not_before: now,
                not_after: None,
            }],
            release_threshold: 1,
            meta: Meta {
                version: crate::Version::new(1).unwrap_or_else(|| unreachable!()),
                signed_at: now,
                ci_commit: None,
                signature_algorithm: crate::SignatureAlgorithm::Ed25519,
            },
        }
    }
}
