//! `convoy audit …`: what an auditor runs offline to prove which policy decided what.

use std::path::PathBuf;

use convoy_host_runtime::Evidence;
use serde::Serialize;

use crate::policy_cmd::{BundleArgs, EngineArgs, load_policy};
use crate::{Failure, print_json, read_document};

/// Audit past policy decisions.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Re-execute a recorded decision (receipt + call) with the policy the receipt names,
    /// and prove that the output hash and fuel are the same; exits 1 if they are not.
    Replay(ReplayArgs),
}

/// `convoy audit replay`.
#[derive(clap::Args)]
pub struct ReplayArgs {
    /// The evidence file: {"receipt": …, "call": …} (written by `convoy policy eval
    /// --evidence` or journaled by the control plane).
    pub receipt: PathBuf,
    /// An unsigned component file; its sha256 must be the receipt's. Or use --bundle.
    #[arg(long, conflicts_with = "bundle", required_unless_present = "bundle")]
    pub component: Option<PathBuf>,
    #[command(flatten)]
    pub bundle: BundleArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// Runs a `convoy audit` subcommand.
pub fn run(cmd: Command, json: bool) -> Result<(), Failure> {
    match cmd {
        Command::Replay(args) => replay(args, json),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReplayReport<'a> {
    proven: bool,
    recorded: &'a convoy_host_runtime::Receipt,
    replayed: &'a convoy_host_runtime::Receipt,
    mismatches: &'a [String],
}

fn replay(args: ReplayArgs, json: bool) -> Result<(), Failure> {
    let evidence: Evidence = read_document(&args.receipt)?;
    let engine = args.engine.engine()?;
    // The policy is chosen by the receipt's hash: never "whatever is called that now".
    let policy = load_policy(
        &engine,
        &args.bundle,
        args.component.as_deref(),
        &evidence.receipt.policy,
        evidence.call.kind,
        Some(&evidence.receipt.policy_sha256),
    )?;
    let replay = policy.replay(&evidence)?;
    if json {
        print_json(&ReplayReport {
            proven: replay.proven(),
            recorded: &evidence.receipt,
            replayed: &replay.replayed,
            mismatches: &replay.mismatches,
        })?;
    } else if replay.proven() {
        let r = &replay.replayed;
        println!(
            "PROVEN: policy {} ({}) reproduces the decision",
            r.policy, r.policy_sha256
        );
        println!("  input sha256  {}", r.input_sha256);
        println!("  output sha256 {}", r.output_sha256);
        println!("  fuel used     {}", r.fuel_used);
    } else {
        println!("NOT REPRODUCED: the replay differs from the receipt");
        for m in &replay.mismatches {
            println!("  {m}");
        }
    }
    if replay.proven() {
        Ok(())
    } else {
        Err(Failure::Refused)
    }
}
