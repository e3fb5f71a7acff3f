//! `convoy verify`: an auditor verifies an artifact (or a whole published release) offline,
//! sees every check that ran, and gets the typed reason with its stable code (and exit
//! status 1) when an agent would refuse it.

use std::path::PathBuf;

use convoy_proto::published::{LoadError, TrustAnchor, VerifiedDocument, read_artifact};
use convoy_proto::{
    Accepted, Artifact, ArtifactKind, Sha256Digest, StateFile, Timestamp, TrustRoot, Verified,
    VerifierState, VerifyError, VerifyOptions, Version, verify_trust_root,
};
use serde::Serialize;

use crate::Failure;

/// Verify a signed artifact (fleet.resolved.json, revocations.json, a policy bundle
/// manifest or a trust root), or a published artifact directory as one release set.
#[derive(clap::Args)]
pub struct Args {
    /// The signed artifact file, or an artifact directory (as `convoy-release publish`
    /// writes it) to verify the fleet, revocations and policy bundle as one set.
    artifact: PathBuf,
    /// What the file must be. Inferred from the well-known file names (fleet.resolved.json,
    /// revocations.json, policy-bundle.json, trust-root.json) when omitted; a file of
    /// another kind is refused (`wrong-payload-type`).
    #[arg(long, value_name = "fleet|revocations|policy-bundle|trust-root")]
    expect: Option<ArtifactKind>,
    /// The org-root public key file the verifier pins.
    #[arg(long)]
    org_root: PathBuf,
    /// The signed trust root (not needed to verify a trust root itself).
    #[arg(long)]
    trust_root: Option<PathBuf>,
    /// The verifier state file (created if missing): per kind, the highest version accepted
    /// and its payload sha256. A lower version is refused as `rollback`, the same version
    /// with other content as `equivocation`; what verifies is recorded in it.
    #[arg(long)]
    state: Option<PathBuf>,
    /// Apply this channel's freshness window (default: the strictest channel's).
    #[arg(long)]
    channel: Option<String>,
    /// Verify as of this instant instead of the clock (YYYY-MM-DDTHH:MM:SSZ).
    #[arg(long)]
    now: Option<Timestamp>,
    /// Refuse a version lower than this (the highest one already accepted).
    #[arg(long)]
    min_version: Option<u64>,
    /// Require the file to hash to this sha256 (e.g. from a receipt).
    #[arg(long)]
    expect_sha256: Option<Sha256Digest>,
    /// Tolerated clock skew in seconds (at most 900).
    #[arg(long, default_value_t = convoy_proto::DEFAULT_CLOCK_SKEW_SECS)]
    clock_skew: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    ok: bool,
    artifact: PathBuf,
    expected: Option<String>,
    payload_type: Option<String>,
    checks: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct ErrorReport {
    code: &'static str,
    message: String,
}

/// A refusal with its stable code.
struct Refusal {
    code: &'static str,
    message: String,
}

impl From<VerifyError> for Refusal {
    fn from(e: VerifyError) -> Self {
        Refusal {
            code: e.code(),
            message: e.to_string(),
        }
    }
}

impl From<LoadError> for Refusal {
    fn from(e: LoadError) -> Self {
        Refusal {
            code: e.code(),
            message: e.to_string(),
        }
    }
}

/// What is being verified: one kind, or the release set of a directory.
#[derive(Clone, Copy)]
enum Target {
    One(ArtifactKind),
    Release,
}

pub fn run(args: Args, json: bool) -> Result<(), Failure> {
    let now = args.now.unwrap_or_else(Timestamp::now);
    let target = if args.artifact.is_dir() {
        Target::Release
    } else {
        match args.expect {
            Some(kind) => Target::One(kind),
            None => Target::One(ArtifactKind::from_file_name(&args.artifact).ok_or_else(
                || {
                    anyhow::anyhow!(
                        "cannot tell what {} is from its name: give --expect fleet|revocations|policy-bundle|trust-root",
                        args.artifact.display()
                    )
                },
            )?),
        }
    };
    let mut checks = Vec::new();
    let outcome = verify(&args, target, now, &mut checks);
    let report = Report {
        ok: outcome.is_ok(),
        artifact: args.artifact.clone(),
        expected: Some(match target {
            Target::One(kind) => kind.to_string(),
            Target::Release => "release".to_owned(),
        }),
        payload_type: match target {
            Target::One(kind) => Some(kind.payload_type().to_owned()),
            Target::Release => None,
        },
        checks,
        error: outcome.as_ref().err().map(|r| ErrorReport {
            code: r.code,
            message: r.message.clone(),
        }),
        summary: outcome.ok(),
    };
    if json {
        crate::print_json(&report)?;
    } else {
        for check in &report.checks {
            println!("  ok  {check}");
        }
        match &report.error {
            None => println!(
                "VERIFIED {} {}",
                report.artifact.display(),
                report
                    .summary
                    .as_ref()
                    .map(|s| s.to_string())
                    .unwrap_or_default()
            ),
            Some(e) => println!(
                "REFUSED {}: [{}] {}",
                report.artifact.display(),
                e.code,
                e.message
            ),
        }
    }
    if report.ok {
        Ok(())
    } else {
        Err(Failure::Refused)
    }
}

/// Runs every check, recording what passed in `checks`; commits the verifier state only
/// when everything passed.
fn verify(
    args: &Args,
    target: Target,
    now: Timestamp,
    checks: &mut Vec<String>,
) -> Result<serde_json::Value, Refusal> {
    let mut options = VerifyOptions::at(now).clock_skew(args.clock_skew)?;
    checks.push(format!(
        "verifying as of {now} with {}s clock skew",
        options.skew_secs()
    ));
    if let Some(channel) = &args.channel {
        options = options.channel(channel.clone());
    }
    if let Some(v) = args.min_version {
        let version = Version::new(v).ok_or_else(|| Refusal {
            code: "integer-out-of-range",
            message: format!("--min-version {v} is above 2^53 - 1"),
        })?;
        options = options.last_accepted(Accepted {
            version,
            payload_sha256: None,
        });
    }
    if let Some(digest) = args.expect_sha256 {
        options = options.expect_sha256(digest);
    }
    let mut state_file = match &args.state {
        Some(path) => Some(StateFile::load_or_create(path).map_err(LoadError::State)?),
        None => None,
    };
    let mut state = state_file
        .as_ref()
        .map(|f| f.state().clone())
        .unwrap_or_default();
    if let Some(file) = &state_file {
        checks.push(format!(
            "verifier state {} read: {}",
            file.path().display(),
            describe_state(&state)
        ));
        options = options.state(&state);
    }

    let summary =
        match target {
            Target::One(ArtifactKind::TrustRoot) => {
                let org = convoy_proto::published::load_public_key(&args.org_root)?;
                let bytes = read_artifact(&args.artifact, ArtifactKind::TrustRoot)?;
                let root = verify_trust_root(&bytes, &org.public_key, &options)?;
                checks.push(format!("signed by the pinned org-root key {}", org.key_id));
                describe(&root, &options, checks);
                state.record(&root);
                trust_root_summary(&root)
            }
            Target::One(kind) => {
                let anchor = load_anchor(args, &options, &state, checks)?;
                let bytes = read_artifact(&args.artifact, kind)?;
                let document = anchor.verify_document(kind, &bytes, &options)?;
                state.record(anchor.trust_root());
                document.record(&mut state);
                document_summary(&document, &options, checks)
            }
            Target::Release => {
                let anchor = load_anchor(args, &options, &state, checks)?;
                let release =
                    convoy_proto::published::read_release(&args.artifact, &anchor, &options)?;
                describe(&release.fleet, &options, checks);
                describe(&release.revocations, &options, checks);
                if let Some(bundle) = &release.policy_bundle {
                    describe(bundle, &options, checks);
                }
                checks.push(format!(
                    "snapshot: the fleet names revocations version {} and {}",
                    release.revocations.meta.version,
                    release.policy_bundle.as_ref().map_or(
                        "no policy bundle".to_owned(),
                        |b| format!("policy bundle version {}", b.meta.version)
                    )
                ));
                state.record(anchor.trust_root());
                release.record(&mut state);
                serde_json::json!({
                    "fleetVersion": release.fleet.meta.version,
                    "revocationsVersion": release.revocations.meta.version,
                    "policyBundleVersion": release.policy_bundle.as_ref().map(|b| b.meta.version),
                    "hosts": release.fleet.hosts.len(),
                })
            }
        };
    // Everything passed: only now is the new high-water mark persisted.
    if let Some(file) = &mut state_file {
        file.commit(state.clone()).map_err(LoadError::State)?;
        checks.push(format!(
            "verifier state {} updated: {}",
            file.path().display(),
            describe_state(&state)
        ));
    }
    Ok(summary)
}

/// The trust anchor: org-root key and trust root, checked against the verifier state.
fn load_anchor(
    args: &Args,
    options: &VerifyOptions,
    state: &VerifierState,
    checks: &mut Vec<String>,
) -> Result<TrustAnchor, Refusal> {
    let path = args.trust_root.as_deref().ok_or_else(|| Refusal {
        code: "not-found",
        message: "--trust-root is required to verify a release-signed artifact".to_owned(),
    })?;
    let root_options = VerifyOptions::at(options.now())
        .clock_skew(options.skew_secs())?
        .state(state);
    let anchor = TrustAnchor::load(path, &args.org_root, &root_options)?;
    checks.push(format!(
        "trust root {} version {} verified against org root {}",
        path.display(),
        anchor.trust_root().meta.version,
        anchor.org_root().key_id
    ));
    Ok(anchor)
}

fn describe_state(state: &VerifierState) -> String {
    let entries: Vec<String> = ArtifactKind::ALL
        .into_iter()
        .filter_map(|k| state.get(k).map(|p| format!("{k} {}", p.version)))
        .collect();
    if entries.is_empty() {
        "nothing accepted yet".to_owned()
    } else {
        entries.join(", ")
    }
}

fn document_summary(
    document: &VerifiedDocument,
    options: &VerifyOptions,
    checks: &mut Vec<String>,
) -> serde_json::Value {
    match document {
        VerifiedDocument::TrustRoot(v) => {
            describe(v, options, checks);
            trust_root_summary(v)
        }
        VerifiedDocument::Revocations(v) => {
            describe(v, options, checks);
            serde_json::json!({"revocations": v.revocations.len()})
        }
        VerifiedDocument::PolicyBundle(v) => {
            describe(v, options, checks);
            checks.push(format!(
                "components are checked against these hashes when loaded: {}",
                v.policies
                    .iter()
                    .map(|p| format!("{}={}", p.name, p.sha256))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            serde_json::json!({"policies": v.policies.len(), "sourceCommit": v.source_commit})
        }
        VerifiedDocument::Fleet(v) => {
            describe(v, options, checks);
            serde_json::json!({
                "hosts": v.hosts.len(),
                "channels": v.channels.keys().collect::<Vec<_>>(),
                "hostsWithoutClosure": v.hosts.values().filter(|h| h.closure_hash.is_none()).count(),
            })
        }
    }
}

/// The checks a successful verification passed, in pipeline order.
fn describe<T: Artifact>(v: &Verified<T>, options: &VerifyOptions, checks: &mut Vec<String>) {
    let meta = v.meta();
    checks.push(format!(
        "{}: strict canonical JSON (RFC 8785): no duplicate keys, integers within 2^53, no lone surrogates",
        T::KIND
    ));
    checks.push(format!("payload type {}", T::PAYLOAD_TYPE));
    let keys: Vec<String> = v.signed_by().iter().map(|k| k.to_string()).collect();
    checks.push(format!(
        "Ed25519 signature(s) by {} valid at signedAt and now",
        keys.join(", ")
    ));
    checks.push(format!(
        "schema version {}, no unknown fields",
        T::SCHEMA_VERSION
    ));
    checks.push(format!("signed at {}, not future-dated", meta.signed_at));
    match v.freshness_window_minutes() {
        Some(w) => checks.push(format!(
            "fresh: {w}-minute window, valid until {}",
            meta.signed_at
                .plus_secs(u64::from(w) * 60 + options.skew_secs())
        )),
        None => checks.push("freshness: not applicable to this kind".into()),
    }
    checks.push(format!(
        "version {} (ci commit {})",
        meta.version,
        meta.ci_commit.as_deref().unwrap_or("unknown")
    ));
    checks.push(format!("payload sha256 {}", v.payload_sha256()));
    checks.push(format!("file sha256 {}", v.envelope_sha256()));
}

fn trust_root_summary(root: &TrustRoot) -> serde_json::Value {
    serde_json::json!({
        "releaseKeys": root.release_keys.iter().map(|k| serde_json::json!({
            "keyId": k.key_id, "notBefore": k.not_before, "notAfter": k.not_after,
        })).collect::<Vec<_>>(),
        "releaseThreshold": root.release_threshold,
    })
}
