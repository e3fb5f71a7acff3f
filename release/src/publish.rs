//! The release pipeline and the artifact directory it publishes into.
//!
//! Every step that can fail (evaluating, building, pushing, signing, self-verifying) runs
//! before anything is written; publishing then stages the files next to their final place
//! and renames them in, so a failed release publishes nothing and a reader never sees a
//! half-written file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use convoy_proto::{
    Artifact, ClosureHash, FleetResolved, Meta, REVOCATIONS_SCHEMA_VERSION, RevocationList,
    Revocations, SecretKey, SignError, SignatureAlgorithm, Timestamp, TrustRoot, UnsignedFleet,
    Verified, VerifyError, VerifyOptions, Version, verify_artifact, verify_trust_root,
};
use serde::Serialize;

use crate::nix::{Nix, NixError};

/// File name of the signed fleet artifact in an artifact directory.
pub const FLEET_FILE: &str = "fleet.resolved.json";
/// File name of the signed revocations in an artifact directory.
pub const REVOCATIONS_FILE: &str = "revocations.json";

/// Used for the revocations when the fleet defines no channel.
const DEFAULT_REVOCATIONS_FRESHNESS_MINUTES: u32 = 24 * 60;

/// Why a release (or refresh) published nothing.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// An input file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// An input document is malformed.
    #[error("{what}: {source}")]
    Input {
        /// Which input.
        what: String,
        /// What is wrong with it.
        source: VerifyError,
    },
    /// Evaluating the fleet failed.
    #[error("evaluating the fleet: {0}")]
    Eval(NixError),
    /// A `--closure` names a host that the fleet does not have.
    #[error("a closure is given for host `{0}`, which the fleet does not define")]
    UnknownHost(String),
    /// A host has no closure: none given and no systems file to build it from.
    #[error(
        "host `{0}` has no system closure: pass --closure {0}=/nix/store/... or --systems FILE"
    )]
    MissingClosure(String),
    /// Building a host's system failed.
    #[error("building the system of host `{host}`: {source}")]
    Build {
        /// The host.
        host: String,
        /// What Nix said.
        source: NixError,
    },
    /// Pushing a closure to the binary cache failed.
    #[error("pushing the closure of host `{host}` ({closure}) to the binary cache: {source}")]
    Push {
        /// The host.
        host: String,
        /// The closure.
        closure: ClosureHash,
        /// What Nix said.
        source: NixError,
    },
    /// A channel uses a policy whose component hash is not pinned.
    #[error(
        "policy `{policy}` of channel `{channel}` is not pinned by sha256: release it with its signed policy bundle"
    )]
    UnpinnedPolicy {
        /// The channel.
        channel: String,
        /// The policy.
        policy: String,
    },
    /// The previously published artifact cannot be read.
    #[error("the published {path} is unreadable ({reason}); refusing to guess the next version")]
    Previous {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// There is nothing to refresh.
    #[error("{0} does not exist: publish a release first")]
    NothingToRefresh(PathBuf),
    /// The version cannot be bumped.
    #[error("version {0} cannot be bumped (2^53 - 1 reached)")]
    VersionExhausted(Version),
    /// Signing failed.
    #[error("signing: {0}")]
    Sign(#[from] SignError),
    /// The freshly signed artifact does not verify against the trust root: agents would
    /// refuse it, so it is not published.
    #[error("self-check: the signed {what} would be refused by agents: {source}")]
    SelfCheck {
        /// Which artifact.
        what: &'static str,
        /// Why.
        source: VerifyError,
    },
    /// Writing the artifact directory failed.
    #[error("writing {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Where closures go: a Nix binary cache URL and the key that signs its narinfos.
#[derive(Debug, Clone)]
pub struct BinaryCache {
    /// e.g. `file:///srv/cache` or `s3://…`.
    pub url: String,
    /// The Nix secret key file (`nix-store --generate-binary-cache-key`).
    pub signing_key: PathBuf,
}

/// The trust root agents pin, used to check a release before publishing it.
pub struct TrustAnchor {
    /// The verified trust root.
    pub trust_root: Verified<TrustRoot>,
}

impl TrustAnchor {
    /// Reads and verifies `trust_root` against the org-root public key file `org_root`.
    pub fn load(trust_root: &Path, org_root: &Path, now: Timestamp) -> Result<Self, ReleaseError> {
        let org = convoy_proto::PublicKeyFile::from_file_bytes(&read(org_root)?).map_err(|e| {
            ReleaseError::Input {
                what: format!("org-root key {}", org_root.display()),
                source: VerifyError::Envelope(e.to_string()),
            }
        })?;
        let trust_root =
            verify_trust_root(&read(trust_root)?, &org.public_key, &VerifyOptions::at(now))
                .map_err(|source| ReleaseError::Input {
                    what: format!("trust root {}", trust_root.display()),
                    source,
                })?;
        Ok(TrustAnchor { trust_root })
    }

    fn check<T: Artifact>(
        &self,
        what: &'static str,
        bytes: &[u8],
        now: Timestamp,
    ) -> Result<(), ReleaseError> {
        verify_artifact::<T>(bytes, &self.trust_root, &VerifyOptions::at(now))
            .map(drop)
            .map_err(|source| ReleaseError::SelfCheck { what, source })
    }
}

/// Everything a release starts from.
#[derive(Debug, Clone)]
pub struct ReleaseInput {
    /// The fleet as `mkFleet` evaluated it.
    pub fleet: UnsignedFleet,
    /// Closures given on the command line, by host.
    pub closures: BTreeMap<String, ClosureHash>,
    /// A Nix file with one attribute per host that builds its system.
    pub systems: Option<PathBuf>,
    /// The hosts to revoke.
    pub revocations: RevocationList,
    /// Freshness window of the revocations; default: the strictest channel's.
    pub revocations_freshness_minutes: Option<u32>,
    /// The fleet repository commit CI built.
    pub ci_commit: Option<String>,
}

/// What a release or refresh published.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// The artifact directory.
    pub out_dir: PathBuf,
    /// The new fleet artifact version.
    pub fleet_version: Version,
    /// The new revocations version.
    pub revocations_version: Version,
    /// When it was signed.
    pub signed_at: Timestamp,
    /// The release key that signed.
    pub key_id: String,
    /// sha256 of the published fleet envelope.
    pub fleet_sha256: String,
    /// Each host's closure.
    pub closures: BTreeMap<String, ClosureHash>,
}

/// Reports progress of closure uploads (a progress bar on a terminal, log lines elsewhere).
pub trait Progress {
    /// `host`'s closure is about to be pushed (`index` of `total`).
    fn pushing(&self, host: &str, closure: &ClosureHash, index: usize, total: usize);
    /// All pushes are done.
    fn done(&self);
}

/// Who signs, where the result goes, and what it must verify against first.
pub struct Publisher<'a> {
    /// The release key.
    pub key: &'a SecretKey,
    /// The artifact directory.
    pub out: &'a ArtifactDir,
    /// If given, the signed artifacts must verify against it before they are published.
    pub anchor: Option<&'a TrustAnchor>,
}

/// Builds or takes every host's closure, pushes them, signs and publishes. On any error
/// nothing is written.
pub fn release(
    input: ReleaseInput,
    nix: &Nix,
    cache: &BinaryCache,
    publisher: &Publisher,
    now: Timestamp,
    progress: &dyn Progress,
) -> Result<Summary, ReleaseError> {
    let ReleaseInput {
        mut fleet,
        closures,
        systems,
        revocations,
        revocations_freshness_minutes,
        ci_commit,
    } = input;
    if fleet.schema_version != FleetResolved::SCHEMA_VERSION {
        return Err(ReleaseError::Input {
            what: "fleet".into(),
            source: VerifyError::WrongSchemaVersion {
                found: Some(u64::from(fleet.schema_version)),
                expected: FleetResolved::SCHEMA_VERSION,
            },
        });
    }
    if let Some(host) = closures.keys().find(|h| !fleet.hosts.contains_key(*h)) {
        return Err(ReleaseError::UnknownHost(host.clone()));
    }
    for (channel, spec) in &fleet.channels {
        if let Some(policy) = spec.policies.iter().find(|p| p.sha256.is_none()) {
            return Err(ReleaseError::UnpinnedPolicy {
                channel: channel.clone(),
                policy: policy.name.clone(),
            });
        }
    }
    // Read the previous versions first: an unreadable artifact directory stops the release
    // before any build work.
    let out = publisher.out;
    let (previous_fleet, previous_revocations) = (
        out.previous_version(FLEET_FILE)?,
        out.previous_version(REVOCATIONS_FILE)?,
    );

    // Resolve every host's closure (given, or built), then push them all.
    let mut resolved = BTreeMap::new();
    for name in fleet.hosts.keys() {
        let closure = match (closures.get(name), &systems) {
            (Some(given), _) => given.clone(),
            (None, Some(file)) => nix
                .build(file, name)
                .map_err(|source| ReleaseError::Build {
                    host: name.clone(),
                    source,
                })?,
            (None, None) => return Err(ReleaseError::MissingClosure(name.clone())),
        };
        resolved.insert(name.clone(), closure);
    }
    let mut uploads: Vec<(&str, &ClosureHash)> =
        resolved.iter().map(|(h, c)| (h.as_str(), c)).collect();
    uploads.extend(
        fleet
            .hosts
            .iter()
            .filter_map(|(h, spec)| spec.pin.as_ref().map(|p| (h.as_str(), &p.closure_hash))),
    );
    for (i, (host, closure)) in uploads.iter().enumerate() {
        progress.pushing(host, closure, i + 1, uploads.len());
        nix.copy_to(&cache.url, &cache.signing_key, closure)
            .map_err(|source| ReleaseError::Push {
                host: (*host).to_owned(),
                closure: (*closure).clone(),
                source,
            })?;
    }
    progress.done();
    for (name, host) in fleet.hosts.iter_mut() {
        host.closure_hash = resolved.get(name).cloned();
    }

    let meta = |previous: Option<Version>| -> Result<Meta, ReleaseError> {
        Ok(Meta {
            version: next_version(previous)?,
            signed_at: now,
            ci_commit: ci_commit.clone(),
            signature_algorithm: SignatureAlgorithm::Ed25519,
        })
    };
    let revocations = Revocations {
        schema_version: REVOCATIONS_SCHEMA_VERSION,
        freshness_window_minutes: revocations_freshness_minutes
            .or_else(|| fleet.freshness_window_minutes(None))
            .unwrap_or(DEFAULT_REVOCATIONS_FRESHNESS_MINUTES),
        revocations: revocations.revocations,
        meta: meta(previous_revocations)?,
    };
    let fleet: FleetResolved = fleet.with_meta(meta(previous_fleet)?);
    sign_and_publish(&fleet, &revocations, publisher, resolved)
}

/// Re-signs the published artifacts with a new `signedAt` and a higher version, after
/// checking that they verify against the trust root as of the time they were signed (so a
/// tampered directory is never laundered by a refresh).
pub fn refresh(
    key: &SecretKey,
    out: &ArtifactDir,
    anchor: &TrustAnchor,
    now: Timestamp,
) -> Result<Summary, ReleaseError> {
    let publisher = Publisher {
        key,
        out,
        anchor: Some(anchor),
    };
    let fleet: Verified<FleetResolved> = out.verify_as_signed(FLEET_FILE, anchor)?;
    let revocations: Verified<Revocations> = out.verify_as_signed(REVOCATIONS_FILE, anchor)?;
    let bump = |meta: &Meta| -> Result<Meta, ReleaseError> {
        Ok(Meta {
            version: next_version(Some(meta.version))?,
            signed_at: now,
            ..meta.clone()
        })
    };
    let mut new_fleet = (*fleet).clone();
    new_fleet.meta = bump(&fleet.meta)?;
    let mut new_revocations = (*revocations).clone();
    new_revocations.meta = bump(&revocations.meta)?;
    let closures = new_fleet
        .hosts
        .iter()
        .filter_map(|(h, spec)| spec.closure_hash.clone().map(|c| (h.clone(), c)))
        .collect();
    sign_and_publish(&new_fleet, &new_revocations, &publisher, closures)
}

fn sign_and_publish(
    fleet: &FleetResolved,
    revocations: &Revocations,
    publisher: &Publisher,
    closures: BTreeMap<String, ClosureHash>,
) -> Result<Summary, ReleaseError> {
    let Publisher { key, out, anchor } = publisher;
    let fleet_bytes = convoy_proto::sign(fleet, &[key])?;
    let revocations_bytes = convoy_proto::sign(revocations, &[key])?;
    if let Some(anchor) = *anchor {
        let now = fleet.meta.signed_at;
        anchor.check::<FleetResolved>(FLEET_FILE, &fleet_bytes, now)?;
        anchor.check::<Revocations>(REVOCATIONS_FILE, &revocations_bytes, now)?;
    }
    // Revocations first: a reader that sees the new fleet also sees the new revocations.
    out.publish(&[
        (REVOCATIONS_FILE, &revocations_bytes),
        (FLEET_FILE, &fleet_bytes),
    ])?;
    Ok(Summary {
        out_dir: out.path().to_owned(),
        fleet_version: fleet.meta.version,
        revocations_version: revocations.meta.version,
        signed_at: fleet.meta.signed_at,
        key_id: key.key_id().to_string(),
        fleet_sha256: convoy_proto::Sha256Digest::of(&fleet_bytes).to_string(),
        closures,
    })
}

fn next_version(previous: Option<Version>) -> Result<Version, ReleaseError> {
    match previous {
        None => Ok(Version::new(1).unwrap_or_else(|| unreachable!("1 < 2^53"))),
        Some(v) => v.next().ok_or(ReleaseError::VersionExhausted(v)),
    }
}

/// The directory the release publishes into and the control plane polls.
#[derive(Debug, Clone)]
pub struct ArtifactDir {
    path: PathBuf,
}

impl ArtifactDir {
    /// The directory at `path` (created on first publish).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        ArtifactDir { path: path.into() }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The version of the published `file`, if there is one. Only the number is read (a
    /// forged, higher number merely skips versions); refresh verifies fully.
    fn previous_version(&self, file: &str) -> Result<Option<Version>, ReleaseError> {
        let path = self.path.join(file);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(ReleaseError::Read { path, source }),
        };
        let bad = |reason: String| ReleaseError::Previous {
            path: path.clone(),
            reason,
        };
        let value = convoy_proto::json::parse_strict(&bytes).map_err(|e| bad(e.to_string()))?;
        let version = value
            .pointer("/payload/meta/version")
            .and_then(serde_json::Value::as_u64)
            .and_then(Version::new)
            .ok_or_else(|| bad("no payload.meta.version".into()))?;
        Ok(Some(version))
    }

    /// Verifies the published `file` as of the instant it claims to have been signed.
    fn verify_as_signed<T: Artifact>(
        &self,
        file: &str,
        anchor: &TrustAnchor,
    ) -> Result<Verified<T>, ReleaseError> {
        let path = self.path.join(file);
        let bytes = match std::fs::read(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ReleaseError::NothingToRefresh(path));
            }
            other => other.map_err(|source| ReleaseError::Read {
                path: path.clone(),
                source,
            })?,
        };
        let input = |source| ReleaseError::Input {
            what: format!("published {}", path.display()),
            source,
        };
        let signed_at = convoy_proto::json::parse_strict(&bytes)
            .ok()
            .and_then(|v| {
                v.pointer("/payload/meta/signedAt")
                    .and_then(|s| s.as_str().map(str::to_owned))
            })
            .and_then(|s| s.parse::<Timestamp>().ok())
            .ok_or_else(|| input(VerifyError::Envelope("no payload.meta.signedAt".into())))?;
        verify_artifact::<T>(&bytes, &anchor.trust_root, &VerifyOptions::at(signed_at))
            .map_err(input)
    }

    /// Writes `files` into the directory: each is staged beside its final name, synced, then
    /// renamed into place.
    pub fn publish(&self, files: &[(&str, &[u8])]) -> Result<(), ReleaseError> {
        let write_err = |path: &Path| {
            let path = path.to_owned();
            move |source| ReleaseError::Write { path, source }
        };
        std::fs::create_dir_all(&self.path).map_err(write_err(&self.path))?;
        let mut staged = Vec::new();
        for (name, bytes) in files {
            let tmp = self
                .path
                .join(format!(".{name}.staging-{}", std::process::id()));
            let result = (|| {
                use std::io::Write;
                let mut f = std::fs::File::create(&tmp)?;
                f.write_all(bytes)?;
                f.sync_all()
            })();
            if let Err(source) = result {
                let _ = std::fs::remove_file(&tmp);
                for (earlier, _) in &staged {
                    let _ = std::fs::remove_file(earlier);
                }
                return Err(ReleaseError::Write { path: tmp, source });
            }
            staged.push((tmp, self.path.join(name)));
        }
        for (tmp, target) in &staged {
            std::fs::rename(tmp, target).map_err(write_err(target))?;
        }
        Ok(())
    }

    /// The published files, for committing them elsewhere.
    pub fn read_published(&self) -> Result<Vec<(&'static str, Vec<u8>)>, ReleaseError> {
        [REVOCATIONS_FILE, FLEET_FILE]
            .into_iter()
            .map(|name| Ok((name, read(&self.path.join(name))?)))
            .collect()
    }
}

/// Reads a file, naming it in the error.
pub fn read(path: &Path) -> Result<Vec<u8>, ReleaseError> {
    std::fs::read(path).map_err(|source| ReleaseError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Loads the release key file.
pub fn load_key(path: &Path) -> Result<SecretKey, ReleaseError> {
    SecretKey::from_file_bytes(&read(path)?).map_err(|e| ReleaseError::Input {
        what: format!("release key {}", path.display()),
        source: VerifyError::Envelope(e.to_string()),
    })
}

/// Parses an input document, naming it in the error.
pub fn parse_input<T: serde::de::DeserializeOwned>(
    what: &str,
    bytes: &[u8],
) -> Result<T, ReleaseError> {
    convoy_proto::parse_document(bytes).map_err(|source| ReleaseError::Input {
        what: what.to_owned(),
        source,
    })
}
