//! Loading policies through a verified, signed policy bundle.
//!
//! A bundle directory holds the signed manifest ([`MANIFEST_FILE`], an envelope around a
//! [`PolicyBundle`]) and the components as `<sha256>.wasm`. [`BundleDir`] exists only
//! around a [`Verified`] manifest, and hands out policies only by name or pinned hash from
//! that manifest; the component's bytes must then hash to the pinned sha256
//! ([`PolicyError::HashMismatch`] otherwise, before any compilation).

use std::io::Read;
use std::path::{Path, PathBuf};

use convoy_proto::policy_bundle::{BundledPolicy, PolicyBundle};
use convoy_proto::{Sha256Digest, TrustRoot, Verified, VerifyError, VerifyOptions};

use crate::PolicyError;
use crate::engine::{LoadStats, PolicyEngine, PolicySpec};
use crate::kind::parse_world;
use crate::policy::Policy;

/// The manifest's file name inside a bundle directory.
pub const MANIFEST_FILE: &str = "policy-bundle.json";

/// Why a bundle or a policy from it could not be used.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// The manifest failed verification (signature, signer, schema, rollback...).
    #[error("policy bundle manifest {path} refused")]
    Verify {
        /// The manifest file.
        path: String,
        /// What verification refused.
        source: VerifyError,
    },
    /// A file could not be read.
    #[error("{path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        reason: String,
    },
    /// The manifest file could not be read, or is larger than any manifest may be
    /// (`too-large`, refused without reading past the limit).
    #[error(transparent)]
    Read(convoy_proto::read::ReadError),
    /// The manifest has no policy of that name or hash.
    #[error("the policy bundle has no policy {0}")]
    UnknownPolicy(String),
    /// The manifest declares a world this runtime does not implement.
    #[error("policy {policy}: {reason}")]
    UnsupportedWorld {
        /// Policy name.
        policy: String,
        /// Why the world is refused.
        reason: String,
    },
    /// The component file's size differs from the manifest's.
    #[error("policy {policy}: component is {actual} bytes, the manifest says {expected}")]
    SizeMismatch {
        /// Policy name.
        policy: String,
        /// Size in the manifest.
        expected: u64,
        /// Size on disk (or a lower bound when larger).
        actual: u64,
    },
    /// Loading the component failed.
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

/// A bundle directory whose manifest passed verification.
#[derive(Debug, Clone)]
pub struct BundleDir {
    dir: PathBuf,
    manifest: Verified<PolicyBundle>,
}

impl BundleDir {
    /// Reads and verifies `<dir>/policy-bundle.json` against the trust root's release keys.
    pub fn open(
        dir: impl Into<PathBuf>,
        trust_root: &Verified<TrustRoot>,
        options: &VerifyOptions,
    ) -> Result<Self, BundleError> {
        let dir = dir.into();
        let path = dir.join(MANIFEST_FILE);
        // Outside input: refused past the artifact limit without reading further.
        let bytes = convoy_proto::read::read_bounded(&path, convoy_proto::read::MAX_ARTIFACT_BYTES)
            .map_err(BundleError::Read)?;
        let manifest = convoy_proto::verify_artifact::<PolicyBundle>(&bytes, trust_root, options)
            .map_err(|source| BundleError::Verify {
            path: path.display().to_string(),
            source,
        })?;
        Ok(BundleDir { dir, manifest })
    }

    /// Wraps a manifest that was verified elsewhere (e.g. fetched over HTTP).
    pub fn from_verified(dir: impl Into<PathBuf>, manifest: Verified<PolicyBundle>) -> Self {
        BundleDir {
            dir: dir.into(),
            manifest,
        }
    }

    /// The verified manifest.
    pub fn manifest(&self) -> &Verified<PolicyBundle> {
        &self.manifest
    }

    /// The bundle directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Loads the policy named `name`.
    pub fn load(
        &self,
        engine: &PolicyEngine,
        name: &str,
    ) -> Result<(Policy, LoadStats), BundleError> {
        let entry = self
            .manifest
            .policy(name)
            .ok_or_else(|| BundleError::UnknownPolicy(format!("named `{name}`")))?;
        self.load_entry(engine, entry)
    }

    /// Loads the policy a channel pins by component hash.
    pub fn load_pinned(
        &self,
        engine: &PolicyEngine,
        sha256: &Sha256Digest,
    ) -> Result<(Policy, LoadStats), BundleError> {
        let entry = self
            .manifest
            .by_sha256(sha256)
            .ok_or_else(|| BundleError::UnknownPolicy(format!("with sha256 {sha256}")))?;
        self.load_entry(engine, entry)
    }

    /// Reads the component bytes of `entry` without loading them, checked against the
    /// manifest's size and sha256: what a verified bundle hands out is verified.
    pub fn component_bytes(&self, entry: &BundledPolicy) -> Result<Vec<u8>, BundleError> {
        let bytes = self.sized_bytes(entry)?;
        let actual = Sha256Digest::of(&bytes);
        if actual != entry.sha256 {
            return Err(PolicyError::HashMismatch {
                policy: entry.name.clone(),
                expected: entry.sha256.to_string(),
                actual: actual.to_string(),
            }
            .into());
        }
        Ok(bytes)
    }

    /// The component file of `entry`, bounded by its declared size (the caller checks the
    /// hash: [`PolicyEngine::load`] does, first).
    fn sized_bytes(&self, entry: &BundledPolicy) -> Result<Vec<u8>, BundleError> {
        let path = self.dir.join(entry.file_name());
        let file = std::fs::File::open(&path).map_err(|e| io_err(&path, e))?;
        let mut bytes = Vec::new();
        // Never read more than the manifest allows: a swapped-in huge file costs nothing.
        file.take(entry.size.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| io_err(&path, e))?;
        if bytes.len() as u64 != entry.size {
            return Err(BundleError::SizeMismatch {
                policy: entry.name.clone(),
                expected: entry.size,
                actual: bytes.len() as u64,
            });
        }
        Ok(bytes)
    }

    fn load_entry(
        &self,
        engine: &PolicyEngine,
        entry: &BundledPolicy,
    ) -> Result<(Policy, LoadStats), BundleError> {
        let kind = parse_world(&entry.world).map_err(|reason| BundleError::UnsupportedWorld {
            policy: entry.name.clone(),
            reason,
        })?;
        if kind != entry.kind {
            return Err(BundleError::UnsupportedWorld {
                policy: entry.name.clone(),
                reason: format!("kind {:?} but world {}", entry.kind, entry.world),
            });
        }
        let bytes = self.sized_bytes(entry)?;
        let spec = PolicySpec {
            name: entry.name.clone(),
            kind,
            sha256: entry.sha256,
        };
        Ok(engine.load(&spec, &bytes)?)
    }
}

fn io_err(path: &Path, e: std::io::Error) -> BundleError {
    BundleError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}
