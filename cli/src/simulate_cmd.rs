//! `convoy simulate`: a whole-fleet release played through the reconciler with simulated
//! agents, tick by tick, under the channels' signed policies, with failing probes, offline
//! hosts and failing activations.

use std::path::PathBuf;

use anyhow::Context;
use convoy_policy_tests::simulate::{Scenario, simulate};
use convoy_proto::{FleetResolved, Timestamp, UnsignedFleet, verify_artifact};
use convoy_reconciler::PolicyChain;

use crate::policy_cmd::{EngineArgs, SourceArgs};
use crate::{Failure, print_json, read_document};

/// Simulate a release of the whole fleet under its policies.
#[derive(clap::Args)]
pub struct Args {
    /// The fleet: a signed fleet.resolved.json (verified with --org-root/--trust-root) or,
    /// for development, an unsigned fleet JSON.
    #[arg(long)]
    pub fleet: PathBuf,
    /// Play only this channel's rollout (the other channels' hosts start on their targets
    /// but stay in every snapshot, so edges and budgets see the whole fleet); default:
    /// every channel.
    #[arg(long)]
    pub channel: Option<String>,
    /// Faults and timing: {"start", "tickSeconds", "ticks", "offline": [..], "returns":
    /// {host: seconds}, "failActivation": [..], "failProbes": [..], "probeIntervalSeconds",
    /// "activationSeconds"} (default: no faults, 200 ticks of one minute from now).
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    // With --bundle, each policy is chosen by the hash the fleet pins, as agents do;
    // --org-root and --trust-root also verify a signed fleet.
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// Runs `convoy simulate`.
pub fn run(args: Args, json: bool) -> Result<(), Failure> {
    let bytes = crate::read_input(&args.fleet, convoy_proto::read::MAX_ARTIFACT_BYTES)?;
    let fleet = load_fleet(&args, &bytes)?;
    if let Some(channel) = &args.channel {
        fleet
            .channels
            .get(channel)
            .with_context(|| format!("the fleet has no channel `{channel}`"))?;
    }
    let scenario = match &args.scenario {
        Some(path) => read_document(path)?,
        None => Scenario::new(Timestamp::now().unix(), 60, 200),
    };
    let engine = args.engine.engine()?;
    let source = args.source.source()?;
    let policies = PolicyChain::load_all(&fleet, &source, &engine)?;
    let timeline = simulate(&fleet, policies, args.channel.as_deref(), &scenario)?;
    if json {
        return print_json(&timeline);
    }
    println!(
        "simulating {} ({} hosts)",
        args.channel
            .as_deref()
            .map_or_else(|| "every channel".to_owned(), |c| format!("channel {c}")),
        fleet.hosts.len()
    );
    print!("{}", timeline.render());
    Ok(())
}

/// The fleet document: verified when signed, parsed strictly when not.
fn load_fleet(args: &Args, bytes: &[u8]) -> Result<UnsignedFleet, Failure> {
    let value = convoy_proto::json::parse_strict(bytes)?;
    if value.get("payloadType").is_none() {
        return Ok(convoy_proto::parse_document::<UnsignedFleet>(bytes)?);
    }
    let bundle = &args.source.bundle;
    let options = bundle.options();
    let anchor = bundle
        .anchor(&options)?
        .context("a signed fleet needs --org-root and --trust-root")?;
    let fleet: FleetResolved =
        (*verify_artifact::<FleetResolved>(bytes, anchor.trust_root(), &options).map_err(|e| {
            Failure::Coded {
                code: e.code(),
                message: format!("{}: {e}", args.fleet.display()),
            }
        })?)
        .clone();
    let meta = fleet.meta.clone();
    Ok(fleet.with_meta(Some(meta)))
}
