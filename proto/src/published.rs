//! Reading what `convoy-release publish` writes, for every verifier that reads files: the
//! trust anchor (org-root public key + trust root), single artifacts by expected kind, and
//! a whole artifact directory verified as one release set, its snapshot binding included.
//!
//! This is the I/O edge of the crate: every file is read through
//! [`crate::read::read_bounded`] with its kind's limit, then handed to the pure
//! verification pipeline. The control plane, the agent, `convoy verify` and
//! `convoy-release` all load through here.
//!
//! ```text
//! artifacts/
//!   fleet.resolved.json          FleetResolved  (names the two below in its snapshot)
//!   revocations.json             Revocations
//!   policies/policy-bundle.json  PolicyBundle   (+ <sha256>.wasm components)
//! ```

use std::path::{Path, PathBuf};

use crate::policy_bundle::PolicyBundle;
use crate::read::{
    MAX_ARTIFACT_BYTES, MAX_KEY_FILE_BYTES, MAX_TRUST_ROOT_BYTES, ReadError, read_bounded,
};
use crate::state::StateError;
use crate::verify::PinMismatch;
use crate::{
    Artifact, ArtifactKind, ArtifactPin, FleetResolved, KeyError, PublicKeyFile, Revocations,
    SecretKey, TrustRoot, Verified, VerifierState, VerifyError, VerifyOptions, verify_artifact,
    verify_trust_root,
};

/// File name of the signed fleet in an artifact directory.
pub const FLEET_FILE: &str = ArtifactKind::Fleet.file_name();
/// File name of the signed revocations in an artifact directory.
pub const REVOCATIONS_FILE: &str = ArtifactKind::Revocations.file_name();
/// Sub-directory of the policy bundle (the signed manifest and `<sha256>.wasm` files).
pub const POLICIES_DIR: &str = "policies";
/// Path of the signed policy bundle manifest in an artifact directory.
pub const BUNDLE_MANIFEST: &str = "policies/policy-bundle.json";

/// Why a file could not be loaded as what it was expected to be.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read, or is above its kind's size limit.
    #[error("{0}")]
    Read(ReadError),
    /// A key file that is not a valid key file.
    #[error("key file {path}: {error}")]
    Key {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        error: KeyError,
    },
    /// The artifact was refused by verification.
    #[error("{kind} {path}: {error}")]
    Verify {
        /// The kind expected.
        kind: ArtifactKind,
        /// The file.
        path: PathBuf,
        /// Why it was refused (boxed: errors stay small on the happy path).
        error: Box<VerifyError>,
    },
    /// The verifier state could not be loaded or written.
    #[error("{0}")]
    State(StateError),
}

impl LoadError {
    /// A stable, kebab-case name of the failure: verification's own codes
    /// ([`VerifyError::code`]) for a refused artifact, and [`LoadError::CODES`] otherwise.
    pub fn code(&self) -> &'static str {
        match self {
            LoadError::Read(e) => e.code(),
            LoadError::Key { .. } => "malformed-key",
            LoadError::Verify { error, .. } => error.code(),
            LoadError::State(e) => e.code(),
        }
    }

    /// The verification error, if that is what this is.
    pub fn verify_error(&self) -> Option<&VerifyError> {
        match self {
            LoadError::Verify { error, .. } => Some(error.as_ref()),
            _ => None,
        }
    }

    /// Codes of the loading layer, besides [`VerifyError::CODES`].
    pub const CODES: &'static [&'static str] = &[
        "unreadable",
        "not-found",
        "malformed-key",
        "state-corrupt",
        "state-write-failed",
    ];
}

impl From<ReadError> for LoadError {
    fn from(e: ReadError) -> Self {
        LoadError::Read(e)
    }
}

impl From<StateError> for LoadError {
    fn from(e: StateError) -> Self {
        LoadError::State(e)
    }
}

/// The size limit of a file of `kind`.
pub fn max_bytes(kind: ArtifactKind) -> u64 {
    match kind {
        ArtifactKind::TrustRoot => MAX_TRUST_ROOT_BYTES,
        _ => MAX_ARTIFACT_BYTES,
    }
}

/// Reads the artifact file `path` of `kind`, bounded by its kind's limit.
pub fn read_artifact(path: &Path, kind: ArtifactKind) -> Result<Vec<u8>, LoadError> {
    Ok(read_bounded(path, max_bytes(kind))?)
}

/// Loads a public key file (`convoy keygen`'s `.pub`), bounded.
pub fn load_public_key(path: &Path) -> Result<PublicKeyFile, LoadError> {
    let bytes = read_bounded(path, MAX_KEY_FILE_BYTES)?;
    PublicKeyFile::from_file_bytes(&bytes).map_err(|error| LoadError::Key {
        path: path.to_owned(),
        error,
    })
}

/// Loads a private key file, bounded.
pub fn load_secret_key(path: &Path) -> Result<SecretKey, LoadError> {
    let bytes = read_bounded(path, MAX_KEY_FILE_BYTES)?;
    SecretKey::from_file_bytes(&bytes).map_err(|error| LoadError::Key {
        path: path.to_owned(),
        error,
    })
}

/// What a verifier pins: the org-root public key, and the trust root it verified with it.
#[derive(Debug, Clone)]
pub struct TrustAnchor {
    org_root: PublicKeyFile,
    trust_root: Verified<TrustRoot>,
}

impl TrustAnchor {
    /// Loads the org-root public key file and verifies the trust root file against it
    /// (with `options`: pass the verifier state so an older trust root is a `rollback`).
    pub fn load(
        trust_root: &Path,
        org_root: &Path,
        options: &VerifyOptions,
    ) -> Result<Self, LoadError> {
        let org_root = load_public_key(org_root)?;
        let bytes = read_artifact(trust_root, ArtifactKind::TrustRoot)?;
        let verified =
            verify_trust_root(&bytes, &org_root.public_key, options).map_err(|error| {
                LoadError::Verify {
                    kind: ArtifactKind::TrustRoot,
                    path: trust_root.to_owned(),
                    error: Box::new(error),
                }
            })?;
        Ok(TrustAnchor {
            org_root,
            trust_root: verified,
        })
    }

    /// The pinned org-root key.
    pub fn org_root(&self) -> &PublicKeyFile {
        &self.org_root
    }

    /// The verified trust root.
    pub fn trust_root(&self) -> &Verified<TrustRoot> {
        &self.trust_root
    }

    /// Verifies `bytes` as an artifact of `kind` (the caller always says which): a trust
    /// root against the org root, anything else against the trust root's release keys.
    pub fn verify_document(
        &self,
        kind: ArtifactKind,
        bytes: &[u8],
        options: &VerifyOptions,
    ) -> Result<VerifiedDocument, VerifyError> {
        Ok(match kind {
            ArtifactKind::TrustRoot => VerifiedDocument::TrustRoot(verify_trust_root(
                bytes,
                &self.org_root.public_key,
                options,
            )?),
            ArtifactKind::Fleet => {
                VerifiedDocument::Fleet(verify_artifact(bytes, &self.trust_root, options)?)
            }
            ArtifactKind::Revocations => {
                VerifiedDocument::Revocations(verify_artifact(bytes, &self.trust_root, options)?)
            }
            ArtifactKind::PolicyBundle => {
                VerifiedDocument::PolicyBundle(verify_artifact(bytes, &self.trust_root, options)?)
            }
        })
    }

    /// Reads and verifies the file `path` as a release-signed `T`.
    pub fn verify_file<T: Artifact>(
        &self,
        path: &Path,
        options: &VerifyOptions,
    ) -> Result<Verified<T>, LoadError> {
        let bytes = read_artifact(path, T::KIND)?;
        verify_artifact::<T>(&bytes, &self.trust_root, options).map_err(|error| LoadError::Verify {
            kind: T::KIND,
            path: path.to_owned(),
            error: Box::new(error),
        })
    }
}

/// A verified artifact of a kind picked at run time ([`TrustAnchor::verify_document`]).
#[derive(Debug, Clone)]
pub enum VerifiedDocument {
    /// A trust root.
    TrustRoot(Verified<TrustRoot>),
    /// A fleet.
    Fleet(Verified<FleetResolved>),
    /// A revocation list.
    Revocations(Verified<Revocations>),
    /// A policy bundle manifest.
    PolicyBundle(Verified<PolicyBundle>),
}

impl VerifiedDocument {
    /// Its kind.
    pub fn kind(&self) -> ArtifactKind {
        match self {
            VerifiedDocument::TrustRoot(_) => ArtifactKind::TrustRoot,
            VerifiedDocument::Fleet(_) => ArtifactKind::Fleet,
            VerifiedDocument::Revocations(_) => ArtifactKind::Revocations,
            VerifiedDocument::PolicyBundle(_) => ArtifactKind::PolicyBundle,
        }
    }

    /// Records it in `state` (call only once everything else about it has passed).
    pub fn record(&self, state: &mut VerifierState) {
        match self {
            VerifiedDocument::TrustRoot(v) => state.record(v),
            VerifiedDocument::Fleet(v) => state.record(v),
            VerifiedDocument::Revocations(v) => state.record(v),
            VerifiedDocument::PolicyBundle(v) => state.record(v),
        }
    }
}

/// A published release verified as one set: the fleet, and the revocations and policy
/// bundle its snapshot binding names.
#[derive(Debug, Clone)]
pub struct VerifiedRelease {
    /// The fleet.
    pub fleet: Verified<FleetResolved>,
    /// The revocations it was released with.
    pub revocations: Verified<Revocations>,
    /// The policy bundle it was released with, if the release has one.
    pub policy_bundle: Option<Verified<PolicyBundle>>,
}

impl VerifiedRelease {
    /// Records the three artifacts in `state` (the trust root is recorded by whoever
    /// loaded the anchor).
    pub fn record(&self, state: &mut VerifierState) {
        state.record(&self.fleet);
        state.record(&self.revocations);
        if let Some(bundle) = &self.policy_bundle {
            state.record(bundle);
        }
    }
}

/// The pin of a verified artifact (what a snapshot binding names).
pub fn pin_of<T: Artifact>(verified: &Verified<T>) -> ArtifactPin {
    ArtifactPin {
        version: verified.meta().version,
        payload_sha256: verified.payload_sha256(),
    }
}

/// Checks that `fleet`'s snapshot binding names exactly `revocations` and `bundle`.
pub fn check_snapshot(
    fleet: &FleetResolved,
    revocations: &Verified<Revocations>,
    bundle: Option<&Verified<PolicyBundle>>,
) -> Result<(), VerifyError> {
    let snapshot = fleet.snapshot.ok_or_else(|| {
        VerifyError::SnapshotMismatch(Box::new(PinMismatch {
            kind: ArtifactKind::Revocations,
            expected: None,
            found: Some(pin_of(revocations)),
        }))
    })?;
    let found = pin_of(revocations);
    if snapshot.revocations != found {
        return Err(VerifyError::SnapshotMismatch(Box::new(PinMismatch {
            kind: ArtifactKind::Revocations,
            expected: Some(snapshot.revocations),
            found: Some(found),
        })));
    }
    let found = bundle.map(pin_of);
    if snapshot.policy_bundle != found {
        return Err(VerifyError::SnapshotMismatch(Box::new(PinMismatch {
            kind: ArtifactKind::PolicyBundle,
            expected: snapshot.policy_bundle,
            found,
        })));
    }
    Ok(())
}

/// Reads and verifies the release published in `dir` as one set: each artifact through the
/// full pipeline with `options` (pass the verifier state), then the fleet's snapshot
/// binding against the revocations and policy bundle beside it. Nothing is recorded: on
/// success the caller records the set ([`VerifiedRelease::record`]) and commits its state.
pub fn read_release(
    dir: &Path,
    anchor: &TrustAnchor,
    options: &VerifyOptions,
) -> Result<VerifiedRelease, LoadError> {
    let fleet: Verified<FleetResolved> = anchor.verify_file(&dir.join(FLEET_FILE), options)?;
    let revocations: Verified<Revocations> =
        anchor.verify_file(&dir.join(REVOCATIONS_FILE), options)?;
    let bundle_path = dir.join(BUNDLE_MANIFEST);
    let policy_bundle = match fleet.snapshot.and_then(|s| s.policy_bundle) {
        Some(_) => Some(anchor.verify_file::<PolicyBundle>(&bundle_path, options)?),
        None => None,
    };
    check_snapshot(&fleet, &revocations, policy_bundle.as_ref()).map_err(|error| {
        LoadError::Verify {
            kind: ArtifactKind::Fleet,
            path: dir.join(FLEET_FILE),
            error: Box::new(error),
        }
    })?;
    Ok(VerifiedRelease {
        fleet,
        revocations,
        policy_bundle,
    })
}
