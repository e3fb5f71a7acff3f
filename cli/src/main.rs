//! `convoy`: the command line of operators and auditors. See `convoy --help`.
#![forbid(unsafe_code)]

mod audit_cmd;
mod keygen;
mod policy_cmd;
mod simulate_cmd;
mod trust;
mod verify;

use std::path::Path;

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
    /// A refusal with a stable code (the same codes as `convoy verify`): an input that is
    /// too large, a trust root or bundle that does not verify. Exits 1.
    Coded {
        /// The stable, kebab-case code.
        code: &'static str,
        /// What was refused and why.
        message: String,
    },
    /// Anything else.
    Error(anyhow::Error),
}

impl Failure {
    /// A loading or verification failure, with its stable code.
    pub fn load(e: convoy_proto::published::LoadError) -> Self {
        Failure::Coded {
            code: e.code(),
            message: e.to_string(),
        }
    }
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
        Err(Failure::Coded { code, message }) => {
            if cli.json {
                let report =
                    serde_json::json!({"ok": false, "error": {"code": code, "message": message}});
                println!("{report:#}");
            }
            eprintln!("convoy: REFUSED [{code}] {message}");
            std::process::exit(1);
        }
        Err(Failure::Error(err)) => {
            eprintln!("convoy: {}", chain_message(&err));
            std::process::exit(2);
        }
    }
}

/// The error and its causes on one line, each said once.
fn chain_message(err: &anyhow::Error) -> String {
    convoy_proto::error_chain_line(err.as_ref())
}

/// Reads an input document (a call, evidence, a scenario) as strict JSON, with the same
/// duplicate-key and unknown-field rules as every artifact; errors name the file and the
/// JSON path of the problem.
pub fn read_document<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, Failure> {
    let bytes = read_input(path, convoy_proto::read::MAX_INPUT_BYTES)?;
    convoy_proto::parse_document(&bytes).map_err(|e| Failure::Coded {
        code: e.code(),
        message: format!("{}: {e}", path.display()),
    })
}

/// Reads an input file bounded by `limit`; a larger one is refused as `too-large` without
/// reading past the limit.
pub fn read_input(path: &Path, limit: u64) -> Result<Vec<u8>, Failure> {
    convoy_proto::read::read_bounded(path, limit)
        .map_err(|e| Failure::load(convoy_proto::published::LoadError::Read(e)))
}

/// Prints `value` as pretty JSON.
pub fn print_json<T: serde::Serialize>(value: &T) -> Result<(), Failure> {
    // Outputs carry policies' text (reasons, notes): printed with its controls escaped.
    let text = serde_json::to_string_pretty(value)?;
    println!("{}", convoy_host_runtime::text::json_printable(&text));
    Ok(())
}
