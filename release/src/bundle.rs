//! Building the signed policy bundle: each policy component is checked by the real host
//! runtime (valid component, imports nothing, exports its world), copied content-addressed
//! as `<sha256>.wasm`, and listed in a [`PolicyBundle`] manifest that is canonicalised and
//! signed with the release key through the one envelope of `convoy-proto`.
//!
//! Checking before signing matters: the release key must never vouch for a component that
//! every host would then refuse mid-rollout.

use std::path::{Path, PathBuf};

use convoy_host_runtime::bundle::MANIFEST_FILE;
use convoy_host_runtime::{PolicyEngine, PolicySpec, PolicyWorld};
use convoy_proto::policy_bundle::{BundledPolicy, POLICY_BUNDLE_SCHEMA_VERSION, PolicyBundle};
use convoy_proto::{
    Meta, PolicyKind, SecretKey, Sha256Digest, SignatureAlgorithm, Timestamp, Version,
};

use crate::publish::{self, ArtifactDir};

/// One policy to bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySource {
    /// The policy's name in the bundle (what channels refer to).
    pub name: String,
    /// The world it implements.
    pub kind: PolicyKind,
    /// The component file (from `convoy-policy-build`).
    pub component: PathBuf,
}

/// What goes into the manifest besides the policies.
#[derive(Debug, Clone)]
pub struct BundleRelease {
    /// The bundle's monotonic version.
    pub version: Version,
    /// Signing time.
    pub signed_at: Timestamp,
    /// Commit of the policy sources.
    pub source_commit: String,
    /// Fleet repository commit CI built from, if known.
    pub ci_commit: Option<String>,
}

/// Why a bundle was not built.
#[derive(Debug, thiserror::Error)]
pub enum BundleBuildError {
    /// A file could not be read or written.
    #[error("{path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        reason: String,
    },
    /// The host runtime refuses the component; it must not be signed.
    #[error("policy {name}: the host runtime refuses it")]
    Refused {
        /// Policy name.
        name: String,
        /// The runtime's typed reason.
        source: convoy_host_runtime::PolicyError,
    },
    /// The manifest could not be signed (invalid manifest, no key...).
    #[error(transparent)]
    Sign(#[from] convoy_proto::SignError),
}

/// Builds the bundle into `out` (created if needed): `<sha256>.wasm` for every component and
/// the signed manifest `policy-bundle.json`. Returns the manifest.
pub fn build_bundle(
    engine: &PolicyEngine,
    sources: &[PolicySource],
    release: &BundleRelease,
    keys: &[&SecretKey],
    out: &Path,
) -> Result<PolicyBundle, BundleBuildError> {
    std::fs::create_dir_all(out).map_err(|e| io(out, e))?;
    let mut policies = Vec::with_capacity(sources.len());
    for source in sources {
        let bytes = convoy_proto::read::read_bounded(
            &source.component,
            convoy_proto::read::MAX_COMPONENT_BYTES,
        )
        .map_err(|e| BundleBuildError::Io {
            path: source.component.display().to_string(),
            reason: e.reason(),
        })?;
        let sha256 = Sha256Digest::of(&bytes);
        let spec = PolicySpec {
            name: source.name.clone(),
            kind: source.kind,
            sha256,
        };
        engine
            .load(&spec, &bytes)
            .map_err(|source_err| BundleBuildError::Refused {
                name: source.name.clone(),
                source: source_err,
            })?;
        let entry = BundledPolicy {
            name: source.name.clone(),
            kind: source.kind,
            world: source.kind.world(),
            sha256,
            size: bytes.len() as u64,
        };
        let path = out.join(entry.file_name());
        std::fs::write(&path, &bytes).map_err(|e| io(&path, e))?;
        policies.push(entry);
    }
    policies.sort_by(|a, b| a.name.cmp(&b.name));
    let manifest = PolicyBundle {
        schema_version: POLICY_BUNDLE_SCHEMA_VERSION,
        source_commit: release.source_commit.clone(),
        policies,
        meta: Meta {
            version: release.version,
            signed_at: release.signed_at,
            ci_commit: release.ci_commit.clone(),
            signature_algorithm: SignatureAlgorithm::Ed25519,
        },
    };
    let signed = convoy_proto::sign(&manifest, keys)?;
    let path = out.join(MANIFEST_FILE);
    std::fs::write(&path, signed).map_err(|e| io(&path, e))?;
    Ok(manifest)
}

fn io(path: &Path, e: std::io::Error) -> BundleBuildError {
    BundleBuildError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use convoy_host_runtime::bundle::{BundleDir, BundleError};
    use convoy_proto::{TrustRoot, VerifyOptions, sign, verify_trust_root};

    /// A real, import-free gate component: admits every candidate.
    fn gate_component() -> Vec<u8> {
        convoy_test_support::corpus::corpus_component("good_gate.wat")
    }

    fn now() -> Timestamp {
        "2026-11-24T10:00:00Z".parse().expect("timestamp")
    }

    #[test]
    fn bundle_round_trips_and_refuses_a_foreign_signer_and_a_tampered_component() {
        let dir = tempfile::tempdir().expect("tempdir");
        let component = dir.path().join("budget.wasm");
        std::fs::write(&component, gate_component()).expect("write");
        let org = SecretKey::generate();
        let release_key = SecretKey::generate();
        let stranger = SecretKey::generate();
        let opts = VerifyOptions::at(now());
        let root = verify_trust_root(
            &sign(&TrustRoot::single(&org, &release_key, now()), &[&org]).expect("root"),
            &org.public_key(),
            &opts,
        )
        .expect("root verifies");
        let engine = PolicyEngine::new(Default::default()).expect("engine");
        let release = BundleRelease {
            version: Version::new(1).expect("v"),
            signed_at: now(),
            source_commit: "abc123".into(),
            ci_commit: None,
        };
        let sources = [PolicySource {
            name: "budget".into(),
            kind: PolicyKind::Gate,
            component,
        }];

        // Signed by the release key: verifies, loads, evaluates.
        let good = dir.path().join("good");
        let manifest =
            build_bundle(&engine, &sources, &release, &[&release_key], &good).expect("builds");
        let bundle = BundleDir::open(&good, &root, &opts).expect("verifies");
        let (policy, _) = bundle.load(&engine, "budget").expect("loads");
        assert_eq!(policy.sha256(), &manifest.policies[0].sha256);

        // Signed by a key the trust root does not list: refused before anything loads.
        let forged = dir.path().join("forged");
        build_bundle(&engine, &sources, &release, &[&stranger], &forged).expect("builds");
        let err = BundleDir::open(&forged, &root, &opts).expect_err("foreign signer refused");
        assert!(matches!(err, BundleError::Verify { .. }), "{err}");

        // One byte of the component changed: refused by hash before compilation.
        let wasm = good.join(manifest.policies[0].file_name());
        let mut bytes = std::fs::read(&wasm).expect("read");
        let last = bytes.len() - 1;
        bytes[last] ^= 0x01;
        std::fs::write(&wasm, bytes).expect("write");
        let err = bundle
            .load(&engine, "budget")
            .expect_err("tampered refused");
        assert!(
            matches!(
                err,
                BundleError::Policy(convoy_host_runtime::PolicyError::HashMismatch { .. })
            ),
            "{err}"
        );
        // A manifest the size of a disk (sparse): refused as too large from its metadata,
        // never read whole into memory.
        let huge = dir.path().join("huge");
        std::fs::create_dir(&huge).expect("mkdir");
        std::fs::File::create(huge.join(convoy_host_runtime::bundle::MANIFEST_FILE))
            .and_then(|f| f.set_len(8 << 30))
            .expect("sparse manifest");
        let err = BundleDir::open(&huge, &root, &opts).expect_err("huge manifest refused");
        assert!(
            matches!(&err, BundleError::Read(e) if e.code() == "too-large"),
            "{err}"
        );

        // Reading the bytes without loading them checks them too.
        let err = bundle
            .component_bytes(&manifest.policies[0])
            .expect_err("tampered bytes refused");
        assert!(
            matches!(
                err,
                BundleError::Policy(convoy_host_runtime::PolicyError::HashMismatch { .. })
            ),
            "{err}"
        );
    }

    #[test]
    fn a_component_the_runtime_refuses_is_not_signed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let component = dir.path().join("wasi.wasm");
        std::fs::write(
            &component,
            convoy_test_support::corpus::corpus_component("imports_wasi.wat"),
        )
        .expect("write");
        let engine = PolicyEngine::new(Default::default()).expect("engine");
        let err = build_bundle(
            &engine,
            &[PolicySource {
                name: "sneaky".into(),
                kind: PolicyKind::Gate,
                component,
            }],
            &BundleRelease {
                version: Version::new(1).expect("v"),
                signed_at: now(),
                source_commit: "abc".into(),
                ci_commit: None,
            },
            &[&SecretKey::generate()],
            &dir.path().join("out"),
        )
        .expect_err("refused");
        assert!(matches!(err, BundleBuildError::Refused { .. }), "{err}");
        assert!(!dir.path().join("out").join(MANIFEST_FILE).exists());
    }
}

/// `convoy-release policy-bundle`: the command line of [`build_bundle`].
#[derive(clap::Args, Debug)]
pub struct BundleArgs {
    /// A policy component to bundle (repeatable); its name is the file stem and its world is
    /// read from the component itself.
    #[arg(long = "component", value_name = "PATH")]
    pub components: Vec<PathBuf>,
    /// Bundle every `*.wasm` of this directory (e.g. policies/out).
    #[arg(long)]
    pub components_dir: Option<PathBuf>,
    /// The release key file (from `convoy keygen`).
    #[arg(long)]
    pub release_key: PathBuf,
    /// Output directory: policy-bundle.json and <sha256>.wasm files.
    #[arg(long)]
    pub out: PathBuf,
    /// Bundle version (default: one more than the bundle already in --out, else 1; an
    /// unreadable manifest there is refused rather than restarting at 1).
    #[arg(long)]
    pub version: Option<u64>,
    /// Commit of the policy sources (default: `git rev-parse HEAD` here).
    #[arg(long)]
    pub source_commit: Option<String>,
    /// Sign as of this instant instead of the clock (YYYY-MM-DDTHH:MM:SSZ).
    #[arg(long)]
    pub now: Option<Timestamp>,
}

/// Runs `convoy-release policy-bundle`; prints one line per policy (or the manifest as JSON).
pub fn run_cli(args: &BundleArgs, json: bool) -> anyhow::Result<()> {
    use anyhow::Context;
    let mut paths = args.components.clone();
    if let Some(dir) = &args.components_dir {
        let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
            .collect();
        found.sort();
        paths.extend(found);
    }
    anyhow::ensure!(
        !paths.is_empty(),
        "no component given (--component or --components-dir)"
    );
    let engine = PolicyEngine::new(Default::default())?;
    let mut sources = Vec::new();
    for path in paths {
        let bytes = publish::read(&path)?;
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .context("component file name is not UTF-8")?
            .to_owned();
        let info = engine.inspect(&name, &bytes)?;
        let kind = info.kind.with_context(|| {
            format!(
                "{name}: not a policy component: {}",
                info.refusal.unwrap_or_default()
            )
        })?;
        sources.push(PolicySource {
            name,
            kind,
            component: path,
        });
    }
    let key = publish::load_key(&args.release_key)?;
    // An unreadable manifest already in --out is refused, not taken for "no bundle yet":
    // restarting at version 1 would be a rollback that every agent refuses.
    let version = match args.version {
        Some(v) => Version::new(v).context("--version is above 2^53 - 1")?,
        None => {
            publish::next_version(ArtifactDir::new(&args.out).previous_version(MANIFEST_FILE)?)?
        }
    };
    let source_commit = args
        .source_commit
        .clone()
        .or_else(crate::git::head)
        .context("git rev-parse HEAD failed; pass --source-commit")?;
    let release = BundleRelease {
        version,
        signed_at: args.now.unwrap_or_else(Timestamp::now),
        source_commit,
        ci_commit: None,
    };
    let manifest = build_bundle(&engine, &sources, &release, &[&key], &args.out)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&manifest)?);
    } else {
        for p in &manifest.policies {
            println!("{}\t{}\t{}\t{} bytes", p.name, p.world, p.sha256, p.size);
        }
        println!(
            "signed policy bundle version {} by key {} → {}",
            version,
            key.key_id(),
            args.out.join(MANIFEST_FILE).display()
        );
    }
    Ok(())
}
