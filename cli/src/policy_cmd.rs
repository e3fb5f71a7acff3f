//! `convoy policy …`: build, inspect, evaluate and test policy components with the same
//! host runtime the control plane and the agents use.

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use anyhow::{Context, anyhow};
use convoy_host_runtime::bundle::{BundleDir, MANIFEST_FILE};
use convoy_host_runtime::{
    EngineOptions, Evidence, Policy, PolicyCall, PolicyEngine, PolicyKind, Receipt,
};
use convoy_policy_tests::{ComponentSource, Runner};
use convoy_proto::policy_bundle::{PolicyBundle, world_name};
use convoy_proto::published::TrustAnchor;
use convoy_proto::read::MAX_COMPONENT_BYTES;
use convoy_proto::{Sha256Digest, Timestamp, VerifyOptions};
use serde::Serialize;

use crate::{Failure, print_json, read_document};

/// Build, inspect, evaluate and test policy components.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Build a guest policy crate for wasm32-unknown-unknown, wrap it into a component,
    /// check it with the host runtime, and print its world and sha256.
    Build(BuildArgs),
    /// Show what a component or a signed bundle contains: world, exports, hash, size and,
    /// for a bundle, who signed it.
    Inspect(InspectArgs),
    /// Evaluate one policy on a call file and print the decision and its receipt.
    Eval(EvalArgs),
    /// Run scenario fixtures (policy + config + input → expected output) through wasmtime;
    /// prints PASS/FAIL per fixture and `N passed, M failed`; exits 1 on any failure.
    Test(TestArgs),
}

/// Where policies come from: a verified signed bundle.
#[derive(clap::Args, Clone)]
pub struct BundleArgs {
    /// A policy bundle directory (policy-bundle.json + <sha256>.wasm).
    #[arg(long, requires_all = ["org_root", "trust_root"])]
    pub bundle: Option<PathBuf>,
    /// Org-root public key file that signed the trust root.
    #[arg(long)]
    pub org_root: Option<PathBuf>,
    /// The signed trust root listing the release keys.
    #[arg(long)]
    pub trust_root: Option<PathBuf>,
    /// Verify as of this instant instead of the clock (YYYY-MM-DDTHH:MM:SSZ).
    #[arg(long)]
    pub now: Option<Timestamp>,
}

impl BundleArgs {
    /// The verification options: as of --now, or the clock.
    pub fn options(&self) -> VerifyOptions {
        VerifyOptions::at(self.now.unwrap_or_else(Timestamp::now))
    }

    /// The trust anchor (org-root key and the trust root verified with it), if both were
    /// given; a refusal carries the same stable code as `convoy verify`.
    pub fn anchor(&self, options: &VerifyOptions) -> Result<Option<TrustAnchor>, Failure> {
        let (Some(org), Some(root)) = (&self.org_root, &self.trust_root) else {
            return Ok(None);
        };
        TrustAnchor::load(root, org, options)
            .map(Some)
            .map_err(Failure::load)
    }

    /// Opens and verifies the bundle, if one was given: the manifest is read bounded and
    /// verified here, so a refusal carries the same stable code as `convoy verify`.
    pub fn open(&self) -> Result<Option<BundleDir>, Failure> {
        let Some(dir) = &self.bundle else {
            return Ok(None);
        };
        let options = self.options();
        let anchor = self
            .anchor(&options)?
            .context("--bundle needs --org-root and --trust-root")?;
        let manifest = anchor
            .verify_file::<PolicyBundle>(&dir.join(MANIFEST_FILE), &options)
            .map_err(Failure::load)?;
        Ok(Some(BundleDir::from_verified(dir, manifest)))
    }

    /// The verified bundle if one was given, otherwise the unsigned development components
    /// `unsigned` names.
    pub fn source_or(
        &self,
        unsigned: impl FnOnce() -> Result<ComponentSource, Failure>,
    ) -> Result<ComponentSource, Failure> {
        match self.open()? {
            Some(bundle) => Ok(ComponentSource::Bundle(bundle)),
            None => unsigned(),
        }
    }
}

/// Where a command takes its policies from: a verified bundle, or (development) a
/// directory of unsigned components.
#[derive(clap::Args, Clone)]
pub struct SourceArgs {
    /// Directory of unsigned development components <policy>.wasm, when no --bundle is given.
    #[arg(long, default_value = "policies/out", conflicts_with = "bundle")]
    pub components: PathBuf,
    #[command(flatten)]
    pub bundle: BundleArgs,
}

impl SourceArgs {
    /// The verified bundle, or the components directory.
    pub fn source(&self) -> Result<ComponentSource, Failure> {
        self.bundle
            .source_or(|| Ok(ComponentSource::Dir(self.components.clone())))
    }
}

/// Options of the compiled-code cache.
#[derive(clap::Args, Clone)]
pub struct EngineArgs {
    /// Directory of the local compiled-code cache (never shared, never from a bundle).
    #[arg(long, env = "CONVOY_POLICY_CACHE")]
    pub cache_dir: Option<PathBuf>,
}

impl EngineArgs {
    /// The engine with these options.
    pub fn engine(&self) -> Result<PolicyEngine, Failure> {
        Ok(PolicyEngine::new(EngineOptions {
            cache_dir: self.cache_dir.clone(),
            ..EngineOptions::default()
        })?)
    }
}

/// `convoy policy build`.
#[derive(clap::Args)]
pub struct BuildArgs {
    /// The guest crate (directory or Cargo.toml); omit with --builtin.
    #[arg(required_unless_present = "builtin")]
    pub krate: Option<PathBuf>,
    /// Build a built-in policy of policies/ instead (waves, disruption-budget, …).
    #[arg(long, conflicts_with = "krate")]
    pub builtin: Option<String>,
    /// Component name (default: the crate's package name).
    #[arg(long)]
    pub name: Option<String>,
    /// Output directory for <name>.wasm.
    #[arg(long, default_value = "policies/out")]
    pub out: PathBuf,
    /// The convoy-policy-build binary (default: `cargo run` it from --policies).
    #[arg(long, env = "CONVOY_POLICY_BUILD")]
    pub build_tool: Option<PathBuf>,
    /// The policies workspace holding the SDK and the build tool.
    #[arg(long, default_value = "policies")]
    pub policies: PathBuf,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// `convoy policy inspect`.
#[derive(clap::Args)]
pub struct InspectArgs {
    /// A component file (.wasm); omit with --bundle to inspect every policy of a bundle.
    #[arg(required_unless_present = "bundle")]
    pub component: Option<PathBuf>,
    #[command(flatten)]
    pub bundle: BundleArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// `convoy policy eval`.
#[derive(clap::Args)]
pub struct EvalArgs {
    /// The call file: {"kind", "config", "input"} (no input: validate-config).
    pub call: PathBuf,
    /// An unsigned component file to evaluate (development); or use --bundle and --name.
    #[arg(long, conflicts_with = "bundle", required_unless_present = "bundle")]
    pub component: Option<PathBuf>,
    /// The policy's name in the bundle.
    #[arg(long, requires = "bundle")]
    pub name: Option<String>,
    /// Write the receipt and the call here, for `convoy audit replay`.
    #[arg(long)]
    pub evidence: Option<PathBuf>,
    #[command(flatten)]
    pub bundle: BundleArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// `convoy policy test`.
#[derive(clap::Args)]
pub struct TestArgs {
    /// Directory of fixture files (searched recursively for *.json).
    pub dir: PathBuf,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// Runs a `convoy policy` subcommand.
pub fn run(cmd: Command, json: bool) -> Result<(), Failure> {
    match cmd {
        Command::Build(args) => build(args, json),
        Command::Inspect(args) => inspect(args, json),
        Command::Eval(args) => eval(args, json),
        Command::Test(args) => test(args, json),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Built {
    name: String,
    world: String,
    sha256: Sha256Digest,
    size: u64,
    path: PathBuf,
}

fn build(args: BuildArgs, json: bool) -> Result<(), Failure> {
    let mut cmd = match &args.build_tool {
        Some(tool) => Process::new(tool),
        None => {
            let mut c = Process::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
            c.args(["run", "-q", "--manifest-path"])
                .arg(args.policies.join("Cargo.toml"))
                .args(["-p", "convoy-policy-build", "--"]);
            c
        }
    };
    cmd.arg("--out").arg(&args.out);
    if let Some(krate) = &args.krate {
        cmd.arg("--crate").arg(krate);
    }
    if let Some(name) = &args.name {
        cmd.arg("--name").arg(name);
    }
    if let Some(builtin) = &args.builtin {
        cmd.arg(builtin);
    }
    let output = cmd
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("running convoy-policy-build")?;
    if !output.status.success() {
        return Err(anyhow!("convoy-policy-build failed ({})", output.status).into());
    }
    let engine = args.engine.engine()?;
    let mut built = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        let [name, _, _, _] = fields[..] else {
            continue;
        };
        let path = args.out.join(format!("{name}.wasm"));
        let bytes = crate::read_input(&path, MAX_COMPONENT_BYTES)?;
        // Check it the way every host will: no imports, exports of its world. A world in
        // `info` means the runtime type-checked the component against it, as loading does.
        let info = engine.inspect(name, &bytes)?;
        let Some(world) = info.world else {
            return Err(anyhow!(
                "{name}: the host runtime refuses it: {}",
                info.refusal.unwrap_or_default()
            )
            .into());
        };
        built.push(Built {
            name: name.to_owned(),
            world,
            sha256: info.sha256,
            size: info.size,
            path,
        });
    }
    if json {
        return print_json(&built);
    }
    for b in &built {
        println!(
            "{}\t{}\t{}\t{} bytes\t{}",
            b.name,
            b.world,
            b.sha256,
            b.size,
            b.path.display()
        );
    }
    Ok(())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Inspected {
    name: String,
    #[serde(flatten)]
    info: convoy_host_runtime::ComponentInfo,
    signer: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bundle_version: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_commit: Option<String>,
}

fn inspect(args: InspectArgs, json: bool) -> Result<(), Failure> {
    let engine = args.engine.engine()?;
    let mut out = Vec::new();
    if let Some(bundle) = args.bundle.open()? {
        let manifest = bundle.manifest();
        let signer: Vec<String> = manifest.signed_by().iter().map(|k| k.to_string()).collect();
        for entry in &manifest.policies {
            if let Some(path) = &args.component
                && path.file_name().and_then(|f| f.to_str()) != Some(entry.name.as_str())
                && path.file_name().and_then(|f| f.to_str()) != Some(entry.file_name().as_str())
            {
                continue;
            }
            let bytes = bundle.component_bytes(entry)?;
            let mut info = engine.inspect(&entry.name, &bytes)?;
            if info.kind != Some(entry.kind) && info.refusal.is_none() {
                info.refusal = Some(format!(
                    "the manifest declares {} but the component is {}",
                    entry.world,
                    info.kind.map_or("not a policy of any world", world_name)
                ));
            }
            out.push(Inspected {
                name: entry.name.clone(),
                info,
                signer: signer.clone(),
                bundle_version: Some(manifest.meta.version.get()),
                source_commit: Some(manifest.source_commit.clone()),
            });
        }
    } else if let Some(path) = &args.component {
        let bytes = crate::read_input(path, MAX_COMPONENT_BYTES)?;
        let name = file_stem(path);
        out.push(Inspected {
            info: engine.inspect(&name, &bytes)?,
            name,
            signer: Vec::new(),
            bundle_version: None,
            source_commit: None,
        });
    }
    let refused = out.iter().any(|i| i.info.refusal.is_some());
    if json {
        print_json(&out)?;
    } else {
        for i in &out {
            println!("policy   {}", i.name);
            println!(
                "world    {}",
                i.info
                    .world
                    .as_deref()
                    .unwrap_or("(none: not a loadable policy)")
            );
            println!("sha256   {}", i.info.sha256);
            println!("size     {} bytes", i.info.size);
            println!("exports  {}", i.info.exports.join(", "));
            println!(
                "imports  {}",
                if i.info.imports.is_empty() {
                    "(none)".to_owned()
                } else {
                    i.info.imports.join(", ")
                }
            );
            if i.signer.is_empty() {
                println!("signer   (unsigned: not read through a verified bundle)");
            } else {
                println!("signer   {} (release key, verified)", i.signer.join(", "));
            }
            if let (Some(v), Some(c)) = (i.bundle_version, &i.source_commit) {
                println!("bundle   version {v}, source commit {c}");
            }
            if let Some(r) = &i.info.refusal {
                println!("REFUSED  {r}");
            }
            println!();
        }
    }
    if refused {
        Err(Failure::Refused)
    } else {
        Ok(())
    }
}

/// Loads the policy to evaluate from `--bundle` (by `name`, or by the `pinned` hash when
/// there is one) or from the unsigned `--component` file (development only), which must
/// hash to `pinned` when there is one.
pub fn load_policy(
    engine: &PolicyEngine,
    bundle: &BundleArgs,
    component: Option<&Path>,
    name: &str,
    kind: PolicyKind,
    pinned: Option<&Sha256Digest>,
) -> Result<Policy, Failure> {
    let source = bundle.source_or(|| {
        let path = component.context("give --component FILE or --bundle DIR")?;
        Ok(ComponentSource::File(path.to_owned()))
    })?;
    Ok(source.load(engine, name, kind, pinned)?)
}

#[derive(Serialize)]
struct EvalReport<'a> {
    output: &'a serde_json::Value,
    receipt: &'a Receipt,
}

fn eval(args: EvalArgs, json: bool) -> Result<(), Failure> {
    let call: PolicyCall = read_document(&args.call)?;
    let engine = args.engine.engine()?;
    // With --bundle, --name is required; a --component file is named by its stem.
    let name = match (&args.name, &args.component) {
        (Some(name), _) => name.clone(),
        (None, Some(path)) => file_stem(path),
        (None, None) => return Err(anyhow!("--name is required with --bundle").into()),
    };
    let policy = load_policy(
        &engine,
        &args.bundle,
        args.component.as_deref(),
        &name,
        call.kind,
        None,
    )?;
    let eval = policy.call().evaluate(&call)?;
    if let Some(path) = &args.evidence {
        let evidence = Evidence {
            receipt: eval.receipt.clone(),
            call: call.clone(),
        };
        let bytes = serde_json::to_vec_pretty(&evidence)?;
        std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    if json {
        return print_json(&EvalReport {
            output: &eval.output,
            receipt: &eval.receipt,
        });
    }
    let r = &eval.receipt;
    let decision = serde_json::to_string_pretty(&eval.output)?;
    println!(
        "decision {}",
        convoy_host_runtime::text::json_printable(&decision)
    );
    println!("receipt");
    println!(
        "  policy        {} ({:?}, {})",
        r.policy, r.kind, r.function
    );
    println!("  policy sha256 {}", r.policy_sha256);
    println!("  input sha256  {}", r.input_sha256);
    println!("  output sha256 {}", r.output_sha256);
    println!("  fuel used     {}", r.fuel_used);
    if let Some(path) = &args.evidence {
        println!(
            "evidence written to {} (replay: convoy audit replay {})",
            path.display(),
            path.display()
        );
    }
    Ok(())
}

/// A component file's name without its extension: the policy name of an unsigned build.
fn file_stem(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("component")
        .to_owned()
}

fn test(args: TestArgs, json: bool) -> Result<(), Failure> {
    let engine = args.engine.engine()?;
    let mut runner = Runner::new(engine, args.source.source()?);
    let report = runner.run_dir(&args.dir).map_err(|e| anyhow!(e))?;
    if json {
        #[derive(Serialize)]
        struct Line {
            fixture: PathBuf,
            policy: String,
            passed: bool,
            #[serde(skip_serializing_if = "Option::is_none")]
            detail: Option<String>,
        }
        let lines: Vec<Line> = report
            .outcomes
            .iter()
            .map(|o| Line {
                fixture: o.path.clone(),
                policy: o.policy.clone(),
                passed: o.passed(),
                detail: match &o.outcome {
                    convoy_policy_tests::Outcome::Pass { .. } => None,
                    convoy_policy_tests::Outcome::Fail { expected, actual } => {
                        Some(format!("expected {expected}, actual {actual}"))
                    }
                    convoy_policy_tests::Outcome::Error(e) => Some(e.clone()),
                },
            })
            .collect();
        print_json(&serde_json::json!({
            "fixtures": lines,
            "passed": report.passed(),
            "failed": report.failed(),
        }))?;
    } else {
        print!("{report}");
    }
    if report.failed() > 0 {
        return Err(Failure::Refused);
    }
    Ok(())
}
