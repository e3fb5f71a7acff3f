//! The verifier state: per [`ArtifactKind`], the highest version accepted and the sha256
//! of its canonical payload. Every verifier (the CLI, the control plane, the agent) keeps
//! one, and `convoy-release` keeps one as its record of what it last signed.
//!
//! It is pure data ([`VerifierState`]) with a file form ([`StateFile`]):
//!
//! 1. [`StateFile::load_or_create`] reads it (a missing file is an empty state);
//! 2. verification checks against it ([`crate::VerifyOptions::state`]): a lower version is
//!    `rollback`, the same version with another payload `equivocation`;
//! 3. only once *every* check of an artifact (or a whole release set) has passed does the
//!    caller [`VerifierState::record`] it and [`StateFile::commit`] the new state, written
//!    atomically (temp file, fsync, rename, fsync of the directory). A check never
//!    persists anything, so an artifact that fails a later check leaves no trace.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::read::{MAX_STATE_FILE_BYTES, ReadError, read_bounded};
use crate::{Accepted, Artifact, ArtifactKind, Sha256Digest, Verified, VerifyError, Version};

/// The state file schema version this crate reads and writes.
pub const STATE_SCHEMA_VERSION: u32 = 1;

/// One artifact by version and canonical payload sha256: what a verifier state records
/// per kind, and what a fleet's snapshot binding names for the revocations and the policy
/// bundle released with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArtifactPin {
    /// The version.
    pub version: Version,
    /// The sha256 of the canonical payload of that version.
    pub payload_sha256: Sha256Digest,
}

impl From<ArtifactPin> for Accepted {
    fn from(entry: ArtifactPin) -> Self {
        Accepted {
            version: entry.version,
            payload_sha256: Some(entry.payload_sha256),
        }
    }
}

/// Per artifact kind, the highest version accepted and its payload hash.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifierState {
    entries: BTreeMap<ArtifactKind, ArtifactPin>,
}

/// The state file: `{"schemaVersion": 1, "accepted": {"fleet": {"version", "payloadSha256"}, …}}`.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StateDocument {
    schema_version: u32,
    accepted: BTreeMap<ArtifactKind, ArtifactPin>,
}

impl VerifierState {
    /// An empty state: nothing accepted yet (a verifier's first start).
    pub fn new() -> Self {
        Self::default()
    }

    /// What was accepted of `kind`, if anything.
    pub fn get(&self, kind: ArtifactKind) -> Option<ArtifactPin> {
        self.entries.get(&kind).copied()
    }

    /// Checks an artifact of `kind` at `version` with payload hash `payload_sha256` against
    /// the state, without changing it.
    pub fn check(
        &self,
        kind: ArtifactKind,
        version: Version,
        payload_sha256: Sha256Digest,
    ) -> Result<(), VerifyError> {
        match self.get(kind) {
            Some(seen) if version < seen.version => Err(VerifyError::Rollback {
                version,
                highest: seen.version,
            }),
            Some(seen) if version == seen.version && payload_sha256 != seen.payload_sha256 => {
                Err(VerifyError::Equivocation { version })
            }
            _ => Ok(()),
        }
    }

    /// Records an artifact that passed every check. The high-water mark only rises: an
    /// equal or lower version leaves the state as it is.
    pub fn record<T: Artifact>(&mut self, verified: &Verified<T>) {
        self.record_entry(
            T::KIND,
            ArtifactPin {
                version: verified.meta().version,
                payload_sha256: verified.payload_sha256(),
            },
        );
    }

    /// Records `entry` for `kind` if it is higher than what is there.
    pub fn record_entry(&mut self, kind: ArtifactKind, entry: ArtifactPin) {
        let slot = self.entries.entry(kind).or_insert(entry);
        if entry.version > slot.version {
            *slot = entry;
        }
    }

    /// Parses a state file's bytes (strict JSON, unknown fields and other schema versions
    /// refused).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, VerifyError> {
        let value = crate::json::parse_strict(bytes)?;
        let found = value.get("schemaVersion").and_then(|v| v.as_u64());
        if found != Some(u64::from(STATE_SCHEMA_VERSION)) {
            return Err(VerifyError::WrongSchemaVersion {
                found,
                expected: STATE_SCHEMA_VERSION,
            });
        }
        let doc: StateDocument = crate::verify::parse_typed(value)?;
        Ok(VerifierState {
            entries: doc.accepted,
        })
    }

    /// The canonical bytes of the state file.
    pub fn to_bytes(&self) -> Vec<u8> {
        let doc = StateDocument {
            schema_version: STATE_SCHEMA_VERSION,
            accepted: self.entries.clone(),
        };
        // Versions are below 2^53 and everything else is a string: this cannot fail.
        crate::json::canonical_bytes(&doc).unwrap_or_default()
    }
}

/// Why a state file could not be loaded or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The file could not be read (or is above [`MAX_STATE_FILE_BYTES`]).
    #[error("verifier state: {0}")]
    Read(#[source] ReadError),
    /// The file is not a valid state document (corrupt or tampered with).
    #[error("verifier state {path} is corrupt: {source}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it (boxed: errors stay small on the happy path).
        source: Box<VerifyError>,
    },
    /// The new state could not be written; the old one is still in place.
    #[error("writing verifier state {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

impl StateError {
    /// A stable, kebab-case name of the failure.
    pub fn code(&self) -> &'static str {
        match self {
            StateError::Read(e) => e.code(),
            StateError::Corrupt { .. } => "state-corrupt",
            StateError::Write { .. } => "state-write-failed",
        }
    }
}

/// A [`VerifierState`] and the file it lives in.
#[derive(Debug, Clone)]
pub struct StateFile {
    path: PathBuf,
    state: VerifierState,
}

impl StateFile {
    /// Reads the state at `path`; a missing file is an empty state (written on the first
    /// [`commit`](Self::commit)). A corrupt file is an error, never "empty": that would
    /// forget every high-water mark.
    pub fn load_or_create(path: impl Into<PathBuf>) -> Result<Self, StateError> {
        let path = path.into();
        let state = match read_bounded(&path, MAX_STATE_FILE_BYTES) {
            Ok(bytes) => {
                VerifierState::from_bytes(&bytes).map_err(|source| StateError::Corrupt {
                    path: path.clone(),
                    source: Box::new(source),
                })?
            }
            Err(e) if e.is_not_found() => VerifierState::new(),
            Err(e) => return Err(StateError::Read(e)),
        };
        Ok(StateFile { path, state })
    }

    /// The state as loaded (or as last committed).
    pub fn state(&self) -> &VerifierState {
        &self.state
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Persists `state` atomically (creating the file's directory if needed): written to a
    /// temporary file beside the target, synced, renamed over it, and the directory synced, so a crash leaves the old or the new
    /// state, never a torn one.
    pub fn commit(&mut self, state: VerifierState) -> Result<(), StateError> {
        let write = |source| StateError::Write {
            path: self.path.clone(),
            source,
        };
        let dir = match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "state".to_owned());
        let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
        let result = (|| {
            std::fs::create_dir_all(&dir)?;
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(&state.to_bytes())?;
            file.sync_all()?;
            std::fs::rename(&tmp, &self.path)?;
            std::fs::File::open(&dir)?.sync_all()
        })();
        if let Err(e) = result {
            let _ = std::fs::remove_file(&tmp);
            return Err(write(e));
        }
        self.state = state;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(version: u64, payload: &[u8]) -> ArtifactPin {
        ArtifactPin {
            version: Version::new(version).expect("small"),
            payload_sha256: Sha256Digest::of(payload),
        }
    }

    #[test]
    fn lower_is_rollback_same_with_other_content_is_equivocation() {
        let mut state = VerifierState::new();
        state.record_entry(ArtifactKind::Fleet, entry(5, b"five"));
        let v = |n| Version::new(n).expect("small");
        let check = |n, p: &[u8]| state.check(ArtifactKind::Fleet, v(n), Sha256Digest::of(p));
        assert_eq!(check(4, b"four").expect_err("lower").code(), "rollback");
        assert_eq!(check(5, b"other").expect_err("same").code(), "equivocation");
        assert!(check(5, b"five").is_ok());
        assert!(check(6, b"six").is_ok());
        // Kinds are independent.
        assert!(
            state
                .check(ArtifactKind::Revocations, v(1), Sha256Digest::of(b"r"))
                .is_ok()
        );
    }

    #[test]
    fn the_high_water_mark_only_rises() {
        let mut state = VerifierState::new();
        state.record_entry(ArtifactKind::TrustRoot, entry(3, b"3"));
        state.record_entry(ArtifactKind::TrustRoot, entry(2, b"2"));
        assert_eq!(state.get(ArtifactKind::TrustRoot), Some(entry(3, b"3")));
        state.record_entry(ArtifactKind::TrustRoot, entry(4, b"4"));
        assert_eq!(state.get(ArtifactKind::TrustRoot), Some(entry(4, b"4")));
    }

    #[test]
    fn commits_atomically_and_reloads_what_it_wrote() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.json");
        let mut file = StateFile::load_or_create(&path).expect("missing is empty");
        assert_eq!(file.state(), &VerifierState::new());
        assert!(!path.exists(), "nothing is written before a commit");
        let mut next = file.state().clone();
        next.record_entry(ArtifactKind::Fleet, entry(7, b"seven"));
        file.commit(next.clone()).expect("commit");
        assert_eq!(
            StateFile::load_or_create(&path).expect("reload").state(),
            &next
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .expect("dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(leftovers, vec![std::ffi::OsString::from("state.json")]);
    }

    #[test]
    fn a_corrupt_or_tampered_state_file_is_an_error_not_an_empty_state() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.json");
        for bad in [
            &b"{not json"[..],
            br#"{"accepted":{},"schemaVersion":2}"#,
            br#"{"accepted":{"fleet":{"payloadSha256":"00","version":1}},"schemaVersion":1}"#,
            br#"{"accepted":{"bogus":{}},"schemaVersion":1}"#,
            br#"{"accepted":{},"extra":1,"schemaVersion":1}"#,
        ] {
            std::fs::write(&path, bad).expect("write");
            let err = StateFile::load_or_create(&path).expect_err("refused");
            assert_eq!(
                err.code(),
                "state-corrupt",
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let huge = std::fs::File::create(&path).expect("create");
        huge.set_len(1 << 32).expect("sparse");
        assert_eq!(
            StateFile::load_or_create(&path).expect_err("huge").code(),
            "too-large"
        );
    }
}
