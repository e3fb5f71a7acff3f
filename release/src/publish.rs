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
    Revocations, SecretKey, Sha256Digest, SignError, SignatureAlgorithm, Timestamp, TrustRoot,
    UnsignedFleet, Verified, VerifyError, VerifyOptions, Version, verify_artifact,
    verify_trust_root,
};
use serde::Serialize;

use convoy_host_runtime::bundle::MANIFEST_FILE;
use convoy_host_runtime::{ConfigVerdict, EngineOptions, PolicyEngine, PolicySpec};
use convoy_proto::PolicyKind;
use convoy_proto::policy_bundle::PolicyBundle;

use crate::bundle::{BundleBuildError, BundleRelease, PolicySource, build_bundle};
use crate::nix::{Nix, NixError};

/// File name of the signed fleet artifact in an artifact directory.
pub const FLEET_FILE: &str = "fleet.resolved.json";
/// File name of the signed revocations in an artifact directory.
pub const REVOCATIONS_FILE: &str = "revocations.json";
/// Sub-directory of the policy bundle (`<sha256>.wasm` files and the signed manifest).
pub const POLICIES_DIR: &str = "policies";
/// Path of the signed policy bundle manifest in an artifact directory.
pub const BUNDLE_MANIFEST: &str = "policies/policy-bundle.json";

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
    /// The fleet breaks rules that mkFleet enforces (every problem listed).
    #[error("the fleet is invalid:\n  - {}", .0.join("\n  - "))]
    InvalidFleet(Vec<String>),
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
    /// Two channels use one policy name with different kinds.
    #[error("policy `{policy}` is used as {first:?} and as {second:?}: one name, one kind")]
    PolicyKindConflict {
        /// The policy.
        policy: String,
        /// One kind.
        first: PolicyKind,
        /// The other.
        second: PolicyKind,
    },
    /// A channel uses a policy for which no component was given.
    #[error(
        "channel `{channel}` uses policy `{policy}`, but no component was given for it (--policy {policy}=FILE or --policies-dir)"
    )]
    MissingPolicyComponent {
        /// The channel.
        channel: String,
        /// The policy.
        policy: String,
    },
    /// A policy reference pinned in the input differs from the bundled component.
    #[error(
        "channel `{channel}` pins policy `{policy}` to {pinned}, but the bundled component is {bundled}"
    )]
    PolicyHashMismatch {
        /// The channel.
        channel: String,
        /// The policy.
        policy: String,
        /// The hash in the input.
        pinned: Sha256Digest,
        /// The hash of the component.
        bundled: Sha256Digest,
    },
    /// A policy's `validate-config` refuses a channel's configuration of it.
    #[error("channel `{channel}`: policy `{policy}` refuses its configuration: {reason}")]
    PolicyConfig {
        /// The channel.
        channel: String,
        /// The policy.
        policy: String,
        /// The policy's own words.
        reason: String,
    },
    /// Building the policy bundle failed (a component the host runtime refuses, I/O…).
    #[error("policy bundle: {0}")]
    Bundle(#[from] BundleBuildError),
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
    /// Policy components to bundle and pin; `None` when every policy reference is already
    /// pinned in the input.
    pub policies: Option<PolicyInputs>,
}

/// The policy components a release bundles: one component file per policy name. Each
/// policy's kind comes from the channels that use it.
#[derive(Debug, Clone, Default)]
pub struct PolicyInputs {
    /// Component files by policy name.
    pub components: BTreeMap<String, PathBuf>,
    /// The commit of the policy sources (recorded in the bundle manifest).
    pub source_commit: String,
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
        policies,
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
    let problems = fleet.problems();
    if !problems.is_empty() {
        return Err(ReleaseError::InvalidFleet(problems));
    }
    if let Some(host) = closures.keys().find(|h| !fleet.hosts.contains_key(*h)) {
        return Err(ReleaseError::UnknownHost(host.clone()));
    }
    // Read the previous versions first: an unreadable artifact directory stops the release
    // before any build work.
    let out = publisher.out;
    let (previous_fleet, previous_revocations) = (
        out.previous_version(FLEET_FILE)?,
        out.previous_version(REVOCATIONS_FILE)?,
    );
    let bundle = match &policies {
        Some(inputs) => {
            let release = BundleRelease {
                version: next_version(out.previous_version(BUNDLE_MANIFEST)?)?,
                signed_at: now,
                source_commit: inputs.source_commit.clone(),
                ci_commit: ci_commit.clone(),
            };
            Some(stage_bundle(&fleet, inputs, &release, publisher.key)?)
        }
        None => None,
    };
    pin_policies(&mut fleet, bundle.as_ref().map(|b| &b.manifest))?;

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
    let bundle_files = bundle.map(|b| b.files).unwrap_or_default();
    sign_and_publish(&fleet, &revocations, publisher, resolved, bundle_files)
}

/// A signed policy bundle, built but not yet published.
struct StagedBundle {
    manifest: PolicyBundle,
    /// `policies/<sha256>.wasm` files, then the manifest (the order they are published in).
    files: Vec<(String, Vec<u8>)>,
}

/// Builds and signs the bundle of every policy the channels use, in a scratch directory;
/// the host runtime checks each component before the release key signs anything.
fn stage_bundle(
    fleet: &UnsignedFleet,
    inputs: &PolicyInputs,
    release: &BundleRelease,
    key: &SecretKey,
) -> Result<StagedBundle, ReleaseError> {
    let mut kinds: BTreeMap<&str, (PolicyKind, &str)> = BTreeMap::new();
    for (channel, spec) in &fleet.channels {
        for policy in &spec.policies {
            match kinds.get(policy.name.as_str()) {
                Some((kind, _)) if *kind != policy.kind => {
                    return Err(ReleaseError::PolicyKindConflict {
                        policy: policy.name.clone(),
                        first: *kind,
                        second: policy.kind,
                    });
                }
                _ => {
                    kinds.insert(&policy.name, (policy.kind, channel));
                }
            }
        }
    }
    let sources = kinds
        .iter()
        .map(|(name, (kind, channel))| {
            let component = inputs.components.get(*name).ok_or_else(|| {
                ReleaseError::MissingPolicyComponent {
                    channel: (*channel).to_owned(),
                    policy: (*name).to_owned(),
                }
            })?;
            Ok(PolicySource {
                name: (*name).to_owned(),
                kind: *kind,
                component: component.clone(),
            })
        })
        .collect::<Result<Vec<_>, ReleaseError>>()?;
    let scratch = std::env::temp_dir().join(format!(
        "convoy-release-bundle-{}-{}",
        std::process::id(),
        release.signed_at.unix()
    ));
    // A scratch compile cache: validating configurations below reloads each component,
    // which then deserialises what the bundle build compiled instead of compiling again.
    let engine = PolicyEngine::new(EngineOptions {
        cache_dir: Some(scratch.join("compiled")),
        ..EngineOptions::default()
    })
    .map_err(|e| BundleBuildError::Io {
        path: "policy engine".into(),
        reason: e.to_string(),
    })?;
    let built = build_bundle(&engine, &sources, release, &[key], &scratch.join("bundle"));
    let collected = built.and_then(|manifest| {
        let mut files = Vec::new();
        for policy in &manifest.policies {
            let path = scratch.join("bundle").join(policy.file_name());
            let bytes = std::fs::read(&path).map_err(|e| BundleBuildError::Io {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
            files.push((format!("{POLICIES_DIR}/{}", policy.file_name()), bytes));
        }
        let path = scratch.join("bundle").join(MANIFEST_FILE);
        let manifest_bytes = std::fs::read(&path).map_err(|e| BundleBuildError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        files.push((BUNDLE_MANIFEST.to_owned(), manifest_bytes));
        Ok(StagedBundle { manifest, files })
    });
    let checked = collected
        .map_err(ReleaseError::from)
        .and_then(|staged| validate_configs(fleet, &engine, &staged).map(|()| staged));
    let _ = std::fs::remove_dir_all(&scratch);
    checked
}

/// Runs each policy's own `validate-config` on every channel's configuration of it, so a
/// bad configuration is refused at release time, not mid-rollout.
fn validate_configs(
    fleet: &UnsignedFleet,
    engine: &PolicyEngine,
    staged: &StagedBundle,
) -> Result<(), ReleaseError> {
    let component = |entry: &convoy_proto::policy_bundle::BundledPolicy| {
        let name = format!("{POLICIES_DIR}/{}", entry.file_name());
        staged
            .files
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, b)| b.as_slice())
    };
    let mut loaded = BTreeMap::new();
    for (channel, spec) in &fleet.channels {
        for reference in &spec.policies {
            let Some(entry) = staged.manifest.policy(&reference.name) else {
                continue;
            };
            let refused = |reason: String| ReleaseError::PolicyConfig {
                channel: channel.clone(),
                policy: reference.name.clone(),
                reason,
            };
            if !loaded.contains_key(&reference.name) {
                let bytes = component(entry)
                    .ok_or_else(|| refused("component missing from the staged bundle".into()))?;
                let spec = PolicySpec {
                    name: entry.name.clone(),
                    kind: entry.kind,
                    sha256: entry.sha256,
                };
                let (policy, _) = engine
                    .load(&spec, bytes)
                    .map_err(|e| refused(e.to_string()))?;
                loaded.insert(reference.name.clone(), policy);
            }
            let config = reference
                .config_json()
                .map_err(|e| refused(e.to_string()))?;
            let verdict = loaded[&reference.name]
                .call()
                .validate_config(&config)
                .map_err(|e| refused(e.to_string()))?;
            if let ConfigVerdict::Err(reason) = verdict.output {
                // The policy's own words: guest text, printed escaped and cut.
                return Err(refused(convoy_host_runtime::text::printable_owned(&reason)));
            }
        }
    }
    Ok(())
}

/// Pins every channel's policy references to the bundled components' hashes. Without a
/// bundle, every reference must already be pinned.
fn pin_policies(
    fleet: &mut UnsignedFleet,
    bundle: Option<&PolicyBundle>,
) -> Result<(), ReleaseError> {
    for (channel, spec) in fleet.channels.iter_mut() {
        for policy in spec.policies.iter_mut() {
            match (policy.sha256, bundle.and_then(|b| b.policy(&policy.name))) {
                (None, Some(bundled)) => policy.sha256 = Some(bundled.sha256),
                (Some(pinned), Some(bundled)) if pinned != bundled.sha256 => {
                    return Err(ReleaseError::PolicyHashMismatch {
                        channel: channel.clone(),
                        policy: policy.name.clone(),
                        pinned,
                        bundled: bundled.sha256,
                    });
                }
                (Some(_), _) => {}
                (None, None) => {
                    return Err(ReleaseError::UnpinnedPolicy {
                        channel: channel.clone(),
                        policy: policy.name.clone(),
                    });
                }
            }
        }
    }
    Ok(())
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
    sign_and_publish(
        &new_fleet,
        &new_revocations,
        &publisher,
        closures,
        Vec::new(),
    )
}

fn sign_and_publish(
    fleet: &FleetResolved,
    revocations: &Revocations,
    publisher: &Publisher,
    closures: BTreeMap<String, ClosureHash>,
    bundle_files: Vec<(String, Vec<u8>)>,
) -> Result<Summary, ReleaseError> {
    let Publisher { key, out, anchor } = publisher;
    let fleet_bytes = convoy_proto::sign(fleet, &[key])?;
    let revocations_bytes = convoy_proto::sign(revocations, &[key])?;
    if let Some(anchor) = *anchor {
        let now = fleet.meta.signed_at;
        anchor.check::<FleetResolved>(FLEET_FILE, &fleet_bytes, now)?;
        anchor.check::<Revocations>(REVOCATIONS_FILE, &revocations_bytes, now)?;
    }
    // Policy components and their manifest first, then revocations, the fleet last: a
    // reader that sees the new fleet also sees everything it refers to.
    let mut files: Vec<(&str, &[u8])> = bundle_files
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    files.extend([
        (REVOCATIONS_FILE, revocations_bytes.as_slice()),
        (FLEET_FILE, fleet_bytes.as_slice()),
    ]);
    out.publish(&files)?;
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

/// The version after `previous`: 1 for the first artifact.
pub(crate) fn next_version(previous: Option<Version>) -> Result<Version, ReleaseError> {
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
    /// forged, higher number merely skips versions); refresh verifies fully. An unreadable
    /// file is an error, never "none": restarting at 1 would be a rollback agents refuse.
    pub(crate) fn previous_version(&self, file: &str) -> Result<Option<Version>, ReleaseError> {
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
        let mut staged = Vec::new();
        for (name, bytes) in files {
            let target = self.path.join(name);
            let parent = target.parent().unwrap_or(&self.path).to_owned();
            std::fs::create_dir_all(&parent).map_err(write_err(&parent))?;
            let file_name = target
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            let tmp = parent.join(format!(".{file_name}.staging-{}", std::process::id()));
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
            staged.push((tmp, target));
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
