//! `convoy-release`: the CI tool. See `convoy-release --help`.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use convoy_proto::{
    ClosureHash, RevocationList, StateFile, Timestamp, UnsignedFleet, VerifyOptions,
};
use convoy_release::nix::Nix;
use convoy_release::publish::{
    self, ArtifactDir, BinaryCache, PolicyInputs, Progress, Publisher, ReleaseError, ReleaseInput,
    Summary, TrustAnchor,
};
use indicatif::{ProgressBar, ProgressStyle};

/// Convoy's CI tool: evaluates the fleet, pushes each host's system closure to a Nix binary
/// cache, and signs and publishes fleet.resolved.json and the revocations with the release
/// key. The control plane holds no key, so CI also re-signs on a schedule (`refresh`).
#[derive(Parser)]
#[command(name = "convoy-release", version)]
struct Cli {
    /// Print the summary as JSON on stdout.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Release the fleet: build/push closures, pin them, bump the version, sign, publish.
    Publish(Box<PublishArgs>),
    /// Re-sign the published artifacts with a new signedAt and version (run every signing
    /// interval from a scheduled CI job, so agents never see them go stale). Only what CI
    /// itself last published (per --state) is re-signed.
    Refresh(RefreshArgs),
    /// Check, content-address and sign the policy components into a policy bundle.
    PolicyBundle(convoy_release::bundle::BundleArgs),
}

#[derive(Args)]
struct PublishArgs {
    /// The fleet as JSON (what mkFleet's `.resolved` evaluates to).
    #[arg(long, group = "fleet_source", required = true)]
    fleet_json: Option<PathBuf>,
    /// A Nix file evaluating to mkFleet's result; `--fleet-attr` of it is the fleet.
    #[arg(long, group = "fleet_source")]
    fleet_nix: Option<PathBuf>,
    /// A flake installable that evaluates to the fleet, e.g. `.#fleet.resolved`.
    #[arg(long, group = "fleet_source")]
    fleet_flake: Option<String>,
    /// The attribute of --fleet-nix holding the resolved fleet.
    #[arg(long, default_value = "resolved")]
    fleet_attr: String,
    /// A host's system closure, as HOST=/nix/store/... (repeatable).
    #[arg(long = "closure", value_name = "HOST=PATH")]
    closures: Vec<String>,
    /// A Nix file with one attribute per host that builds its system (for hosts without
    /// --closure).
    #[arg(long)]
    systems: Option<PathBuf>,
    /// Binary cache URL to push closures to, e.g. file:///srv/cache.
    #[arg(long)]
    cache: String,
    /// Nix secret key that signs the cache's narinfos.
    #[arg(long)]
    cache_key: PathBuf,
    /// The release key file (from `convoy keygen`).
    #[arg(long)]
    release_key: PathBuf,
    /// Revocation list as JSON: {"revocations": [{host, notBefore, reason}]}.
    #[arg(long, conflicts_with = "revocations_attr")]
    revocations: Option<PathBuf>,
    /// The attribute of --fleet-nix holding the revocation list.
    #[arg(long, requires = "fleet_nix")]
    revocations_attr: Option<String>,
    /// Freshness window of the revocations (default: the strictest channel's).
    #[arg(long)]
    revocations_freshness_minutes: Option<u32>,
    /// A policy component to bundle, as NAME=FILE.wasm (repeatable; overrides --policies-dir).
    #[arg(long = "policy", value_name = "NAME=FILE")]
    policies: Vec<String>,
    /// A directory of policy components named `<policy>.wasm` (what policies/build.sh
    /// writes); every policy the channels use is taken from it.
    #[arg(long)]
    policies_dir: Option<PathBuf>,
    /// Commit of the policy sources, recorded in the bundle manifest (default: --ci-commit).
    #[arg(long)]
    policy_source_commit: Option<String>,
    /// The fleet repository commit being released (default: `git rev-parse HEAD` here).
    #[arg(long)]
    ci_commit: Option<String>,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Args)]
struct RefreshArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// The release key file.
    #[arg(long)]
    release_key: PathBuf,
}

#[derive(Args)]
struct CommonArgs {
    /// The artifact directory to publish into.
    #[arg(long)]
    out: PathBuf,
    /// CI's release record: the version and payload sha256 of everything it signed last
    /// (a verifier state file, created on the first publish). Keep it in CI, never in the
    /// artifact directory: the next versions come from it, and refresh re-signs only what
    /// it names.
    #[arg(long)]
    state: PathBuf,
    /// Trust root to self-check the signed artifacts against before publishing (required
    /// by refresh).
    #[arg(long, requires = "org_root")]
    trust_root: Option<PathBuf>,
    /// Org-root public key file that signed the trust root.
    #[arg(long)]
    org_root: Option<PathBuf>,
    /// Also commit the published files to this branch of --git-repo.
    #[arg(long, requires = "git_repo")]
    git_branch: Option<String>,
    /// The fleet repository for --git-branch.
    #[arg(long)]
    git_repo: Option<PathBuf>,
    /// Sign as of this instant instead of the clock (YYYY-MM-DDTHH:MM:SSZ; for tests and
    /// reproducing a release).
    #[arg(long)]
    now: Option<Timestamp>,
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if let Err(err) = run(&cli) {
        let code = err
            .downcast_ref::<ReleaseError>()
            .map_or("error", ReleaseError::code);
        let message = chain_message(&err);
        if cli.json {
            let report = serde_json::json!({
                "ok": false,
                "error": {"code": code, "message": message},
            });
            println!("{report:#}");
        }
        eprintln!("convoy-release: [{code}] {message}");
        std::process::exit(1);
    }
}

/// The error and its causes on one line, each said once.
fn chain_message(err: &anyhow::Error) -> String {
    convoy_proto::error_chain_line(err.as_ref())
}

fn run(cli: &Cli) -> Result<()> {
    let (summary, common) = match &cli.command {
        Command::Publish(args) => (publish_cmd(args)?, &args.common),
        Command::PolicyBundle(args) => return convoy_release::bundle::run_cli(args, cli.json),
        Command::Refresh(args) => {
            let common = &args.common;
            let now = common.now.unwrap_or_else(Timestamp::now);
            let mut record =
                StateFile::load_or_create(&common.state).map_err(ReleaseError::from)?;
            let anchor = load_anchor(common, &record, now)?.ok_or(ReleaseError::NoTrustRoot)?;
            let key = publish::load_key(&args.release_key)?;
            let mut publisher = Publisher {
                key: &key,
                out: &ArtifactDir::new(&common.out),
                anchor: Some(&anchor),
                record: &mut record,
            };
            (publish::refresh(&mut publisher, now)?, common)
        }
    };
    if let (Some(branch), Some(repo)) = (&common.git_branch, &common.git_repo) {
        let files = ArtifactDir::new(&common.out).read_published()?;
        let files: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (*n, b.as_slice())).collect();
        let message = format!("convoy-release: fleet version {}", summary.fleet_version);
        let commit = convoy_release::git::commit_files(repo, branch, &files, &message)?;
        tracing::info!(%branch, %commit, "committed the artifacts");
    }
    report(cli.json, &summary)
}

/// The trust anchor of `--trust-root`/`--org-root`, if given; a trust root older than the
/// one the release record names is refused as `rollback`.
fn load_anchor(
    common: &CommonArgs,
    record: &StateFile,
    now: Timestamp,
) -> Result<Option<TrustAnchor>, ReleaseError> {
    match (&common.trust_root, &common.org_root) {
        (Some(t), Some(o)) => {
            let options = VerifyOptions::at(now).state(record.state());
            Ok(Some(TrustAnchor::load(t, o, &options)?))
        }
        _ => Ok(None),
    }
}

fn publish_cmd(args: &PublishArgs) -> Result<Summary> {
    let now = args.common.now.unwrap_or_else(Timestamp::now);
    let key = publish::load_key(&args.release_key)?;
    let mut record = StateFile::load_or_create(&args.common.state).map_err(ReleaseError::from)?;
    let anchor = load_anchor(&args.common, &record, now)?;
    let nix = Nix::default();
    let fleet_bytes = match (&args.fleet_json, &args.fleet_nix, &args.fleet_flake) {
        (Some(path), _, _) => publish::read(path)?,
        (_, Some(path), _) => nix
            .eval_file_json(path, &args.fleet_attr)
            .map_err(publish::ReleaseError::Eval)?,
        (_, _, Some(installable)) => nix
            .eval_flake_json(installable)
            .map_err(publish::ReleaseError::Eval)?,
        _ => bail!("give --fleet-json, --fleet-nix or --fleet-flake"),
    };
    let fleet: UnsignedFleet = publish::parse_input("fleet", &fleet_bytes)?;
    let revocations: RevocationList =
        match (&args.revocations, &args.revocations_attr, &args.fleet_nix) {
            (Some(path), _, _) => publish::parse_input("revocations", &publish::read(path)?)?,
            (None, Some(attr), Some(file)) => publish::parse_input(
                "revocations",
                &nix.eval_file_json(file, attr)
                    .map_err(publish::ReleaseError::Eval)?,
            )?,
            _ => RevocationList::default(),
        };
    let closures = args
        .closures
        .iter()
        .map(|pair| {
            let (host, path) = pair
                .split_once('=')
                .with_context(|| format!("--closure {pair}: expected HOST=PATH"))?;
            let closure: ClosureHash = path.parse().with_context(|| format!("--closure {pair}"))?;
            Ok((host.to_owned(), closure))
        })
        .collect::<Result<BTreeMap<_, _>>>()?;
    let ci_commit = args.ci_commit.clone().or_else(convoy_release::git::head);
    let policies = policy_inputs(args, &fleet, ci_commit.as_deref())?;
    let input = ReleaseInput {
        fleet,
        closures,
        systems: args.systems.clone(),
        revocations,
        revocations_freshness_minutes: args.revocations_freshness_minutes,
        ci_commit,
        policies,
    };
    let cache = BinaryCache {
        url: args.cache.clone(),
        signing_key: args.cache_key.clone(),
    };
    let progress = UploadProgress::new();
    let mut publisher = Publisher {
        key: &key,
        out: &ArtifactDir::new(&args.common.out),
        anchor: anchor.as_ref(),
        record: &mut record,
    };
    Ok(publish::release(
        input,
        &nix,
        &cache,
        &mut publisher,
        now,
        &progress,
    )?)
}

/// The components to bundle: `--policies-dir` for every policy a channel uses, overridden
/// by `--policy NAME=FILE`. `None` when neither is given.
fn policy_inputs(
    args: &PublishArgs,
    fleet: &UnsignedFleet,
    ci_commit: Option<&str>,
) -> Result<Option<PolicyInputs>> {
    if args.policies.is_empty() && args.policies_dir.is_none() {
        return Ok(None);
    }
    let mut components = BTreeMap::new();
    if let Some(dir) = &args.policies_dir {
        for name in fleet
            .channels
            .values()
            .flat_map(|c| c.policies.iter().map(|p| &p.name))
        {
            let file = dir.join(format!("{name}.wasm"));
            if file.exists() {
                components.insert(name.clone(), file);
            }
        }
    }
    for pair in &args.policies {
        let (name, file) = pair
            .split_once('=')
            .with_context(|| format!("--policy {pair}: expected NAME=FILE"))?;
        components.insert(name.to_owned(), PathBuf::from(file));
    }
    let source_commit = args
        .policy_source_commit
        .clone()
        .or_else(|| ci_commit.map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned());
    Ok(Some(PolicyInputs {
        components,
        source_commit,
    }))
}

fn report(json: bool, summary: &Summary) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(summary)?);
    } else {
        println!(
            "published fleet version {} and revocations version {} to {} (signed {} by key {})",
            summary.fleet_version,
            summary.revocations_version,
            summary.out_dir.display(),
            summary.signed_at,
            summary.key_id
        );
        println!("fleet.resolved.json sha256 {}", summary.fleet_sha256);
        for (host, closure) in &summary.closures {
            println!("  {host:<20} {closure}");
        }
    }
    Ok(())
}

/// A progress bar on a terminal; log lines otherwise (CI logs).
struct UploadProgress {
    bar: Option<ProgressBar>,
}

impl UploadProgress {
    fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} pushing closures [{bar:30}] {pos}/{len} {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        UploadProgress { bar }
    }
}

impl Progress for UploadProgress {
    fn pushing(&self, host: &str, closure: &ClosureHash, index: usize, total: usize) {
        match &self.bar {
            Some(bar) => {
                bar.set_length(total as u64);
                bar.set_position(index as u64 - 1);
                bar.set_message(host.to_owned());
            }
            None => tracing::info!(host, %closure, "pushing closure {index}/{total}"),
        }
    }
    fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_with_message("done");
        }
    }
}
