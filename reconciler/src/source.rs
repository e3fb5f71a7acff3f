//! Where policy components come from: a verified signed bundle (what servers use), or
//! unsigned development builds.
//!
//! This is the one loader of the control plane, `convoy simulate`, `convoy policy eval`,
//! `convoy audit replay` and the fixture runner. It reads component files when asked; the
//! state machine itself ([`crate::Reconciler`]) never does: it is handed loaded policies.

use std::path::{Path, PathBuf};

use convoy_host_runtime::bundle::{BundleDir, BundleError};
use convoy_host_runtime::{Policy, PolicyEngine, PolicyError, PolicyKind, PolicySpec};
use convoy_proto::Sha256Digest;

/// Where policy components come from: unsigned development builds, or a verified signed
/// bundle.
#[derive(Debug, Clone)]
pub enum ComponentSource {
    /// A build output directory holding `<policy>.wasm` (e.g. from `policies/build.sh`):
    /// unsigned development builds.
    Dir(PathBuf),
    /// One unsigned component file (`convoy policy eval --component`): whatever policy is
    /// asked for, this is its component.
    File(PathBuf),
    /// A verified signed bundle: policies by name or pinned hash from its manifest.
    Bundle(BundleDir),
}

/// Why a [`ComponentSource`] could not hand out a policy.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// An unsigned component file could not be read, or is larger than any component may
    /// be (`too-large`, refused without reading past the limit).
    #[error(transparent)]
    Read(#[from] convoy_proto::read::ReadError),
    /// The host runtime refused the component (hash mismatch, wrong world, invalid…).
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The bundle has no such policy, or its component is not the manifest's.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// The bundle's policy implements another world than the one asked for.
    #[error("policy {policy} in the bundle is a {actual:?} policy, not {wanted:?}")]
    WrongKind {
        /// The policy.
        policy: String,
        /// The world asked for.
        wanted: PolicyKind,
        /// The world of the bundled policy.
        actual: PolicyKind,
    },
}

impl ComponentSource {
    /// Whether policies come from a verified bundle (and so must be pinned by hash).
    pub fn is_signed(&self) -> bool {
        matches!(self, ComponentSource::Bundle(_))
    }

    /// Loads the policy `name` of world `kind`.
    ///
    /// `pinned` is the component hash the caller holds (a channel's policy reference, a
    /// receipt). A bundle then hands out the policy with that hash without consulting
    /// `name`, and an unsigned component must hash to it ([`PolicyError::HashMismatch`]).
    /// Without a pin, a bundle's policy is chosen by name and an unsigned component is
    /// pinned to the hash of the file as read.
    pub fn load(
        &self,
        engine: &PolicyEngine,
        name: &str,
        kind: PolicyKind,
        pinned: Option<&Sha256Digest>,
    ) -> Result<Policy, LoadError> {
        let unsigned = |path: &Path| -> Result<Policy, LoadError> {
            let bytes =
                convoy_proto::read::read_bounded(path, convoy_proto::read::MAX_COMPONENT_BYTES)?;
            let spec = PolicySpec {
                name: name.to_owned(),
                kind,
                sha256: pinned.copied().unwrap_or_else(|| Sha256Digest::of(&bytes)),
            };
            Ok(engine.load(&spec, &bytes)?.0)
        };
        match self {
            ComponentSource::Dir(dir) => unsigned(&dir.join(format!("{name}.wasm"))),
            ComponentSource::File(path) => unsigned(path),
            ComponentSource::Bundle(bundle) => {
                let (policy, _) = match pinned {
                    Some(sha256) => bundle.load_pinned(engine, sha256)?,
                    None => bundle.load(engine, name)?,
                };
                if policy.kind() != kind {
                    return Err(LoadError::WrongKind {
                        policy: policy.name().to_owned(),
                        wanted: kind,
                        actual: policy.kind(),
                    });
                }
                Ok(policy)
            }
        }
    }
}
