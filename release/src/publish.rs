//! The release pipeline and the artifact directory it publishes into.
//!
//! Every step that can fail (evaluating, building, pushing, signing, self-verifying) runs
//! before anything is written; publishing then stages the files next to their final place
//! and renames them in, so a failed release publishes nothing and a reader never sees a
//! half-written file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use convoy_proto::published::{LoadError, check_snapshot, read_artifact};
use convoy_proto::read::{MAX_ARTIFACT_BYTES, read_bounded};
use convoy_proto::{
    Artifact, ArtifactKind, ArtifactPin, ClosureHash, FleetResolved, Meta,
    REVOCATIONS_SCHEMA_VERSION, RevocationList, Revocations, SecretKey, Sha256Digest, SignError,
    SignatureAlgorithm, Snapshot, StateError, StateFile, Timestamp, UnsignedFleet, Verified,
    VerifierState, VerifyError, VerifyOptions, Version, pin_of_unsigned, verify_artifact,
};
use serde::Serialize;

use convoy_host_runtime::bundle::MANIFEST_FILE;
use convoy_host_runtime::{ConfigVerdict, EngineOptions, PolicyEngine, PolicySpec};
use convoy_proto::PolicyKind;
use convoy_proto::policy_bundle::PolicyBundle;

use crate::bundle::{BundleBuildError, BundleRelease, PolicySource, build_bundle};
use crate::nix::{Nix, NixError};

pub use convoy_proto::published::{
    BUNDLE_MANIFEST, FLEET_FILE, POLICIES_DIR, REVOCATIONS_FILE, TrustAnchor,
};

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
    #[error("policy `{policy}` is used as {first} and as {second}: one name, one kind")]
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
    /// Refresh was asked to run without a trust root to verify the directory against.
    #[error("refresh re-signs only what verifies: give --trust-root and --org-root")]
    NoTrustRoot,
    /// There is nothing to refresh.
    #[error("{0} does not exist: publish a release first")]
    NothingToRefresh(PathBuf),
    /// A file (trust root, key, published artifact) could not be loaded or was refused.
    #[error("{0}")]
    Load(LoadError),
    /// The release record (what CI last signed) could not be read or written.
    #[error("release record: {0}")]
    Record(StateError),
    /// The artifact directory holds a release, but the release record knows none: the
    /// next version would come from a file CI did not write.
    #[error(
        "{dir} holds a published {kind}, but the release record {record} has none: CI keeps its own record of what it signed and never takes a version from the artifact directory"
    )]
    NoRecord {
        /// The artifact kind.
        kind: ArtifactKind,
        /// The artifact directory.
        dir: PathBuf,
        /// The release record file.
        record: PathBuf,
    },
    /// The published artifact is not what CI last signed (a higher version CI never
    /// signed, or a missing file); a lower version or other content at the same version
    /// is refused as `rollback` / `equivocation` instead.
    #[error("the published {kind} is {}, but CI last signed version {} (payload sha256 {}): refusing to re-sign what CI did not publish", found.map_or_else(|| "missing".to_owned(), |f| format!("version {} (payload sha256 {})", f.version, f.payload_sha256)), recorded.version, recorded.payload_sha256)]
    NotLastPublished {
        /// The artifact kind.
        kind: ArtifactKind,
        /// What the record says CI signed last.
        recorded: ArtifactPin,
        /// What the directory holds.
        found: Option<ArtifactPin>,
    },
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

impl ReleaseError {
    /// A stable, kebab-case name of the failure. Refusals of an artifact carry the same
    /// codes as `convoy verify` ([`VerifyError::code`]).
    pub fn code(&self) -> &'static str {
        match self {
            ReleaseError::Read { .. } => "unreadable",
            ReleaseError::Input { source, .. } | ReleaseError::SelfCheck { source, .. } => {
                source.code()
            }
            ReleaseError::Eval(_) => "eval-failed",
            ReleaseError::InvalidFleet(_) => "invalid-fleet",
            ReleaseError::UnknownHost(_) => "unknown-host",
            ReleaseError::MissingClosure(_) => "missing-closure",
            ReleaseError::Build { .. } => "build-failed",
            ReleaseError::Push { .. } => "push-failed",
            ReleaseError::UnpinnedPolicy { .. } => "unpinned-policy",
            ReleaseError::PolicyKindConflict { .. } => "policy-kind-conflict",
            ReleaseError::MissingPolicyComponent { .. } => "missing-policy-component",
            ReleaseError::PolicyHashMismatch { .. } => "policy-hash-mismatch",
            ReleaseError::PolicyConfig { .. } => "policy-config-refused",
            ReleaseError::Bundle(_) => "bundle-failed",
            ReleaseError::Previous { .. } => "previous-unreadable",
            ReleaseError::NothingToRefresh(_) => "nothing-to-refresh",
            ReleaseError::NoTrustRoot => "no-trust-root",
            ReleaseError::Load(e) => e.code(),
            ReleaseError::Record(e) => e.code(),
            ReleaseError::NoRecord { .. } => "no-release-record",
            ReleaseError::NotLastPublished { .. } => "not-last-published",
            ReleaseError::VersionExhausted(_) => "version-exhausted",
            ReleaseError::Sign(_) => "sign-failed",
            ReleaseError::Write { .. } => "write-failed",
        }
    }
}

impl From<LoadError> for ReleaseError {
    fn from(e: LoadError) -> Self {
        ReleaseError::Load(e)
    }
}

impl From<StateError> for ReleaseError {
    fn from(e: StateError) -> Self {
        ReleaseError::Record(e)
    }
}

/// Where closures go: a Nix binary cache URL and the key that signs its narinfos.
#[derive(Debug, Clone)]
pub struct BinaryCache {
    /// e.g. `file:///srv/cache` or `s3://…`.
    pub url: String,
    /// The Nix secret key file (`nix-store --generate-binary-cache-key`).
    pub signing_key: PathBuf,
}

/// Checks a freshly signed artifact against the trust root agents pin, as of `now`.
fn self_check<T: Artifact>(
    anchor: &TrustAnchor,
    what: &'static str,
    bytes: &[u8],
    now: Timestamp,
) -> Result<Verified<T>, ReleaseError> {
    verify_artifact::<T>(bytes, anchor.trust_root(), &VerifyOptions::at(now))
        .map_err(|source| ReleaseError::SelfCheck { what, source })
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
    /// The version of the policy bundle the fleet's snapshot names, if any.
    pub policy_bundle_version: Option<Version>,
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

/// Who signs, where the result goes, what it must verify against first, and CI's own
/// record of what it signed last.
pub struct Publisher<'a> {
    /// The release key.
    pub key: &'a SecretKey,
    /// The artifact directory.
    pub out: &'a ArtifactDir,
    /// If given, the signed artifacts must verify against it before they are published.
    pub anchor: Option<&'a TrustAnchor>,
    /// The release record: the version and payload sha256 of every artifact CI signed
    /// last (a [`convoy_proto::VerifierState`] kept by CI, never in the artifact
    /// directory). Versions are taken from it, and it is committed after publishing.
    pub record: &'a mut StateFile,
}

/// Builds or takes every host's closure, pushes them, signs and publishes. On any error
/// nothing is written.
pub fn release(
    input: ReleaseInput,
    nix: &Nix,
    cache: &BinaryCache,
    publisher: &mut Publisher,
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
    // The next versions come from CI's own record, never from the artifact directory; a
    // directory that holds a release the record does not know stops the release before
    // any build work.
    let out = publisher.out;
    let record = publisher.record.state().clone();
    for (kind, file) in [
        (ArtifactKind::Fleet, FLEET_FILE),
        (ArtifactKind::Revocations, REVOCATIONS_FILE),
        (ArtifactKind::PolicyBundle, BUNDLE_MANIFEST),
    ] {
        if record.get(kind).is_none() && out.path().join(file).exists() {
            return Err(ReleaseError::NoRecord {
                kind,
                dir: out.path().to_owned(),
                record: publisher.record.path().to_owned(),
            });
        }
    }
    let recorded_version = |kind| record.get(kind).map(|p: ArtifactPin| p.version);
    let (previous_fleet, previous_revocations) = (
        recorded_version(ArtifactKind::Fleet),
        recorded_version(ArtifactKind::Revocations),
    );
    let bundle = match &policies {
        Some(inputs) => {
            let release = BundleRelease {
                version: next_version(recorded_version(ArtifactKind::PolicyBundle))?,
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
    // The bundle released with this fleet: the new one, or the one CI published before
    // (still in the directory, and still exactly what the record says).
    let (bundle_pin, bundle_files) = match bundle {
        Some(staged) => (Some(staged.pin), staged.files),
        None => (out.recorded_bundle(&record)?, Vec::new()),
    };
    sign_and_publish(
        fleet,
        &revocations,
        bundle_pin,
        publisher,
        resolved,
        bundle_files,
    )
}

/// A signed policy bundle, built but not yet published.
struct StagedBundle {
    manifest: PolicyBundle,
    /// Its version and payload sha256 (what the fleet's snapshot names).
    pin: ArtifactPin,
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
        let pin = pin_of_unsigned(&manifest).map_err(|e| BundleBuildError::Io {
            path: BUNDLE_MANIFEST.to_owned(),
            reason: e.to_string(),
        })?;
        Ok(StagedBundle {
            manifest,
            pin,
            files,
        })
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

/// Re-signs the published release with a new `signedAt` and the next versions, but only
/// if the directory holds exactly what CI itself last published: each artifact must
/// verify against the trust root as of the time it was signed, and its version and payload
/// sha256 must equal the release record's. A replayed older release is refused as
/// `rollback`, a swapped payload as `equivocation`, anything else CI did not sign as
/// `not-last-published`; the next version is the record's + 1, never the directory's.
pub fn refresh(publisher: &mut Publisher, now: Timestamp) -> Result<Summary, ReleaseError> {
    let anchor = publisher.anchor.ok_or(ReleaseError::NoTrustRoot)?;
    let out = publisher.out;
    let record = publisher.record.state().clone();
    let fleet: Verified<FleetResolved> =
        out.verify_as_recorded(FLEET_FILE, anchor, &record, publisher.record.path())?;
    let revocations: Verified<Revocations> =
        out.verify_as_recorded(REVOCATIONS_FILE, anchor, &record, publisher.record.path())?;
    let bundle: Option<Verified<PolicyBundle>> = match record.get(ArtifactKind::PolicyBundle) {
        Some(_) => Some(out.verify_as_recorded(
            BUNDLE_MANIFEST,
            anchor,
            &record,
            publisher.record.path(),
        )?),
        None => None,
    };
    check_snapshot(&fleet, &revocations, bundle.as_ref()).map_err(|source| {
        ReleaseError::Input {
            what: format!("published {}", out.path().join(FLEET_FILE).display()),
            source,
        }
    })?;
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
    let bundle_pin = bundle.as_ref().map(convoy_proto::published::pin_of);
    sign_and_publish(
        new_fleet,
        &new_revocations,
        bundle_pin,
        publisher,
        closures,
        Vec::new(),
    )
}

/// Signs the revocations, binds them (and the bundle) into the fleet's snapshot, signs the
/// fleet, self-checks both against the trust root, records what was signed in the release
/// record, and publishes.
fn sign_and_publish(
    mut fleet: FleetResolved,
    revocations: &Revocations,
    bundle: Option<ArtifactPin>,
    publisher: &mut Publisher,
    closures: BTreeMap<String, ClosureHash>,
    bundle_files: Vec<(String, Vec<u8>)>,
) -> Result<Summary, ReleaseError> {
    let (key, out, anchor) = (publisher.key, publisher.out, publisher.anchor);
    let revocations_pin = pin_of_unsigned(revocations).map_err(SignError::from)?;
    fleet.snapshot = Some(Snapshot {
        revocations: revocations_pin,
        policy_bundle: bundle,
    });
    let fleet_pin = pin_of_unsigned(&fleet).map_err(SignError::from)?;
    let fleet_bytes = convoy_proto::sign(&fleet, &[key])?;
    let revocations_bytes = convoy_proto::sign(revocations, &[key])?;
    if let Some(anchor) = anchor {
        let now = fleet.meta.signed_at;
        self_check::<FleetResolved>(anchor, FLEET_FILE, &fleet_bytes, now)?;
        self_check::<Revocations>(anchor, REVOCATIONS_FILE, &revocations_bytes, now)?;
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
    // The record first: if publishing then fails, the next release numbers past what was
    // signed instead of signing a second, different document under the same version
    // (which every verifier that saw the first would refuse as equivocation).
    let mut record = publisher.record.state().clone();
    record.record_entry(ArtifactKind::Fleet, fleet_pin);
    record.record_entry(ArtifactKind::Revocations, revocations_pin);
    if let Some(pin) = bundle {
        record.record_entry(ArtifactKind::PolicyBundle, pin);
    }
    if let Some(anchor) = anchor {
        record.record(anchor.trust_root());
    }
    publisher.record.commit(record)?;
    out.publish(&files)?;
    Ok(Summary {
        out_dir: out.path().to_owned(),
        fleet_version: fleet.meta.version,
        revocations_version: revocations.meta.version,
        policy_bundle_version: bundle.map(|b| b.version),
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

    /// The version of the published `file`, if there is one (`convoy-release
    /// policy-bundle` numbering a standalone bundle directory). An unreadable file is an
    /// error, never "none": restarting at 1 would be a rollback agents refuse.
    pub(crate) fn previous_version(&self, file: &str) -> Result<Option<Version>, ReleaseError> {
        Ok(self.published_pin(file)?.map(|p| p.version))
    }

    /// The version and payload sha256 of the published `file`, if there is one; read
    /// bounded, parsed strictly, not verified (callers compare it with the record).
    fn published_pin(&self, file: &str) -> Result<Option<ArtifactPin>, ReleaseError> {
        let path = self.path.join(file);
        let bytes = match read_bounded(&path, MAX_ARTIFACT_BYTES) {
            Ok(bytes) => bytes,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(LoadError::Read(e).into()),
        };
        let bad = |reason: String| ReleaseError::Previous {
            path: path.clone(),
            reason,
        };
        let value = convoy_proto::json::parse_strict(&bytes).map_err(|e| bad(e.to_string()))?;
        let payload = value
            .get("payload")
            .ok_or_else(|| bad("no payload".into()))?;
        let version = payload
            .pointer("/meta/version")
            .and_then(serde_json::Value::as_u64)
            .and_then(Version::new)
            .ok_or_else(|| bad("no payload.meta.version".into()))?;
        let canonical =
            convoy_proto::json::canonical_value_bytes(payload).map_err(|e| bad(e.to_string()))?;
        Ok(Some(ArtifactPin {
            version,
            payload_sha256: Sha256Digest::of(&canonical),
        }))
    }

    /// The pin of the policy bundle CI published before, when it is still in the
    /// directory exactly as the record says (so a new fleet can name it in its snapshot).
    fn recorded_bundle(&self, record: &VerifierState) -> Result<Option<ArtifactPin>, ReleaseError> {
        let Some(recorded) = record.get(ArtifactKind::PolicyBundle) else {
            return Ok(None);
        };
        let found = self.published_pin(BUNDLE_MANIFEST)?;
        check_recorded(ArtifactKind::PolicyBundle, recorded, found, record)?;
        Ok(Some(recorded))
    }

    /// Verifies the published `file` as of the instant it claims to have been signed, and
    /// requires it to be exactly what the release record says CI signed last.
    fn verify_as_recorded<T: Artifact>(
        &self,
        file: &str,
        anchor: &TrustAnchor,
        record: &VerifierState,
        record_path: &Path,
    ) -> Result<Verified<T>, ReleaseError> {
        let Some(recorded) = record.get(T::KIND) else {
            return Err(ReleaseError::NoRecord {
                kind: T::KIND,
                dir: self.path.clone(),
                record: record_path.to_owned(),
            });
        };
        let path = self.path.join(file);
        let bytes = match read_artifact(&path, T::KIND) {
            Err(LoadError::Read(e)) if e.is_not_found() => {
                return Err(ReleaseError::NothingToRefresh(path));
            }
            other => other?,
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
        let options = VerifyOptions::at(signed_at).state(record);
        let verified =
            verify_artifact::<T>(&bytes, anchor.trust_root(), &options).map_err(input)?;
        check_recorded(
            T::KIND,
            recorded,
            Some(convoy_proto::published::pin_of(&verified)),
            record,
        )?;
        Ok(verified)
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
            .map(|name| {
                Ok((
                    name,
                    read_bounded(&self.path.join(name), MAX_ARTIFACT_BYTES)
                        .map_err(LoadError::Read)?,
                ))
            })
            .collect()
    }
}

/// The published artifact of `kind` must be exactly what the record says CI signed last:
/// lower is `rollback`, the same version with other content `equivocation`, anything else
/// (higher, or missing) `not-last-published`.
fn check_recorded(
    kind: ArtifactKind,
    recorded: ArtifactPin,
    found: Option<ArtifactPin>,
    record: &VerifierState,
) -> Result<(), ReleaseError> {
    if let Some(found) = found {
        record
            .check(kind, found.version, found.payload_sha256)
            .map_err(|source| ReleaseError::Input {
                what: format!("published {kind}"),
                source,
            })?;
        if found == recorded {
            return Ok(());
        }
    }
    Err(ReleaseError::NotLastPublished {
        kind,
        recorded,
        found,
    })
}

/// Reads an input file (fleet JSON, revocation list, component), bounded, naming it in
/// the error.
pub fn read(path: &Path) -> Result<Vec<u8>, ReleaseError> {
    Ok(read_bounded(path, convoy_proto::read::MAX_INPUT_BYTES).map_err(LoadError::Read)?)
}

/// Loads the release key file, bounded.
pub fn load_key(path: &Path) -> Result<SecretKey, ReleaseError> {
    Ok(convoy_proto::published::load_secret_key(path)?)
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
