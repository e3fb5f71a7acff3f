//! `convoy`: the command line of operators and auditors. See `convoy --help`.
#![forbid(unsafe_code)]

mod audit_cmd;
mod keygen;
mod policy_cmd;
mod simulate_cmd;
mod trust;
mod verify;

use std::path::Path;

use anyhow::Context;
use clap::{Parser, Subcommand};

/// Convoy: signed GitOps for NixOS fleets. Key management, trust roots, and offline
/// verification of any artifact.
#[derive(Parser)]
#[command(name = "convoy", version)]
struct Cli {
    /// Print machine-readable JSON on stdout.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate an Ed25519 key pair (private key written 0600, public key beside it).
    Keygen(keygen::Args),
    /// Create or rotate the trust root (signed by the offline org-root key).
    #[command(subcommand)]
    Trust(trust::Command),
    /// Verify an artifact offline against a trust root and print what was checked; exits
    /// 1 with the typed reason if it would be refused.
    Verify(verify::Args),
    /// Build, inspect, evaluate and test policy components (the sandboxed WASM rollout logic).
    #[command(subcommand)]
    Policy(policy_cmd::Command),
    /// Re-execute recorded policy decisions offline and prove their output.
    #[command(subcommand)]
    Audit(audit_cmd::Command),
    /// Simulate a channel's rollout under its signed policies, tick by tick, with failing
    /// probes, offline hosts and failing activations.
    Simulate(simulate_cmd::Args),
}

/// How a command ended, beyond success: a negative verdict exits 1, usage and I/O errors
/// exit 2.
pub enum Failure {
    /// The command ran and its verdict is negative, already reported: an artifact refused
    /// (`verify`), a component the runtime refuses (`policy inspect`), a fixture that failed
    /// (`policy test`), a decision not reproduced (`audit replay`).
    Refused,
    /// Anything else.
    Error(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::Error(e.into())
    }
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Keygen(args) => keygen::run(args, cli.json),
        Command::Trust(cmd) => trust::run(cmd, cli.json),
        Command::Verify(args) => verify::run(args, cli.json),
        Command::Policy(cmd) => policy_cmd::run(cmd, cli.json),
        Command::Audit(cmd) => audit_cmd::run(cmd, cli.json),
        Command::Simulate(args) => simulate_cmd::run(args, cli.json),
    };
    match result {
        Ok(()) => {}
        Err(Failure::Refused) => std::process::exit(1),
        Err(Failure::Error(err)) => {
            eprintln!("convoy: {err:#}");
            std::process::exit(2);
        }
    }
}

/// Reads an input document (a call, evidence, a scenario) as strict JSON, with the same
/// duplicate-key and unknown-field rules as every artifact; errors name the file and the
/// JSON path of the problem.
pub fn read_document<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, Failure> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(convoy_proto::parse_document(&bytes).with_context(|| format!("{}", path.display()))?)
}

/// Prints `value` as pretty JSON.
pub fn print_json<T: serde::Serialize>(value: &T) -> Result<(), Failure> {
    // Outputs carry policies' text (reasons, notes): printed with its controls escaped.
    let text = serde_json::to_string_pretty(value)?;
    println!("{}", convoy_host_runtime::text::json_printable(&text));
    Ok(())
}
