//! `convoy verify`: an auditor verifies any artifact offline, sees every check that ran,
//! and gets the typed reason (and exit status 1) when an agent would refuse it.

use std::path::PathBuf;

use anyhow::Context;
use convoy_proto::policy_bundle::PolicyBundle;
use convoy_proto::{
    Accepted, Artifact, FleetResolved, Revocations, Sha256Digest, Timestamp, TrustRoot, Verified,
    VerifyError, VerifyOptions, Version, verify_artifact, verify_trust_root,
};
use serde::Serialize;

use crate::Failure;

/// Verify a signed artifact (fleet.resolved.json, revocations.json, a policy bundle
/// manifest or a trust root).
#[derive(clap::Args)]
pub struct Args {
    /// The signed artifact file.
    artifact: PathBuf,
    /// The org-root public key file the verifier pins.
    #[arg(long)]
    org_root: PathBuf,
    /// The signed trust root (not needed to verify a trust root itself).
    #[arg(long)]
    trust_root: Option<PathBuf>,
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

pub fn run(args: Args, json: bool) -> Result<(), Failure> {
    let now = args.now.unwrap_or_else(Timestamp::now);
    let org = crate::trust::load_public(&args.org_root)?;
    let bytes = std::fs::read(&args.artifact)
        .with_context(|| format!("reading {}", args.artifact.display()))?;
    let payload_type = convoy_proto::json::parse_strict(&bytes).ok().and_then(|v| {
        v.get("payloadType")
            .and_then(|t| t.as_str())
            .map(str::to_owned)
    });

    let mut options = VerifyOptions::at(now).clock_skew(args.clock_skew)?;
    if let Some(channel) = &args.channel {
        options = options.channel(channel.clone());
    }
    if let Some(v) = args.min_version {
        let version = Version::new(v).context("--min-version is above 2^53 - 1")?;
        options = options.last_accepted(Accepted {
            version,
            payload_sha256: None,
        });
    }
    if let Some(digest) = args.expect_sha256 {
        options = options.expect_sha256(digest);
    }

    let mut checks = vec![format!(
        "verifying as of {now} with {}s clock skew",
        options.skew_secs()
    )];
    let outcome = match payload_type.as_deref() {
        Some(TrustRoot::PAYLOAD_TYPE) => {
            verify_trust_root(&bytes, &org.public_key, &options).map(|v| {
                checks.push(format!("signed by the pinned org-root key {}", org.key_id));
                describe(&v, &options, &mut checks);
                trust_root_summary(&v)
            })
        }
        Some(other) => {
            let path = args
                .trust_root
                .as_ref()
                .context("--trust-root is required to verify a release-signed artifact")?;
            let root_bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let root = verify_trust_root(&root_bytes, &org.public_key, &VerifyOptions::at(now))
                .with_context(|| format!("the trust root {} does not verify", path.display()))?;
            checks.push(format!(
                "trust root {} version {} verified against org root {}",
                path.display(),
                root.meta.version,
                org.key_id
            ));
            match other {
                Revocations::PAYLOAD_TYPE => verify_artifact::<Revocations>(&bytes, &root, &options).map(|v| {
                    describe(&v, &options, &mut checks);
                    serde_json::json!({"revocations": v.revocations.len()})
                }),
                PolicyBundle::PAYLOAD_TYPE => verify_artifact::<PolicyBundle>(&bytes, &root, &options).map(|v| {
                    describe(&v, &options, &mut checks);
                    checks.push(format!(
                        "components are checked against these hashes when loaded: {}",
                        v.policies.iter().map(|p| format!("{}={}", p.name, p.sha256)).collect::<Vec<_>>().join(", ")
                    ));
                    serde_json::json!({"policies": v.policies.len(), "sourceCommit": v.source_commit})
                }),
                // The fleet is the default: a wrong type is then reported by the pipeline.
                _ => verify_artifact::<FleetResolved>(&bytes, &root, &options).map(|v| {
                    describe(&v, &options, &mut checks);
                    serde_json::json!({
                        "hosts": v.hosts.len(),
                        "channels": v.channels.keys().collect::<Vec<_>>(),
                        "hostsWithoutClosure": v.hosts.values().filter(|h| h.closure_hash.is_none()).count(),
                    })
                }),
            }
        }
        // No readable payloadType: report the JSON or envelope problem itself.
        None => Err(match convoy_proto::json::parse_canonical(&bytes) {
            Err(e) => VerifyError::Json(e),
            Ok(_) => VerifyError::Envelope("no `payloadType` string".into()),
        }),
    };

    let report = match outcome {
        Ok(summary) => Report {
            ok: true,
            artifact: args.artifact,
            payload_type,
            checks,
            error: None,
            summary: Some(summary),
        },
        Err(err) => Report {
            ok: false,
            artifact: args.artifact,
            payload_type,
            checks,
            error: Some(ErrorReport {
                code: err.code(),
                message: err.to_string(),
            }),
            summary: None,
        },
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

/// The checks a successful verification passed, in pipeline order.
fn describe<T: Artifact>(v: &Verified<T>, options: &VerifyOptions, checks: &mut Vec<String>) {
    let meta = v.meta();
    checks.push("strict canonical JSON (RFC 8785): no duplicate keys, integers within 2^53, no lone surrogates".into());
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
