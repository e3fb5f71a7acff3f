//! `convoy simulate`: a whole rollout of one channel, tick by tick, under the channel's
//! signed policies, with failing probes, offline hosts and failing activations.

use std::path::PathBuf;

use anyhow::{Context, anyhow};
use convoy_policy_tests::ComponentSource;
use convoy_policy_tests::simulate::{ChannelPolicies, Configured, Scenario, simulate};
use convoy_proto::{
    FleetResolved, PolicyKind, PolicyRef, Timestamp, UnsignedFleet, verify_artifact,
};

use crate::policy_cmd::{EngineArgs, SourceArgs};
use crate::{Failure, print_json, read_document};

/// Simulate a channel's rollout under its policies.
#[derive(clap::Args)]
pub struct Args {
    /// The fleet: a signed fleet.resolved.json (verified with --org-root/--trust-root) or,
    /// for development, an unsigned fleet JSON.
    #[arg(long)]
    pub fleet: PathBuf,
    /// The channel to roll out.
    #[arg(long)]
    pub channel: String,
    /// Faults and timing: {"start", "tickSeconds", "ticks", "offline": [..],
    /// "failActivation": [..], "failProbes": [..]} (default: no faults, 100 ticks from now,
    /// one per reconcile interval of the channel).
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
    let channel = fleet
        .channels
        .get(&args.channel)
        .with_context(|| format!("the fleet has no channel `{}`", args.channel))?;
    let scenario = match &args.scenario {
        Some(path) => read_document(path)?,
        None => Scenario {
            start: Timestamp::now().unix(),
            tick_seconds: u64::from(channel.reconcile_interval_minutes.max(1)) * 60,
            ticks: 100,
            ..Scenario::default()
        },
    };
    let engine = args.engine.engine()?;
    let source = args.source.source()?;
    let load = |r: &PolicyRef| -> Result<Configured, Failure> {
        if matches!(source, ComponentSource::Bundle(_)) && r.sha256.is_none() {
            return Err(anyhow!("policy `{}` is not pinned by sha256 in the fleet", r.name).into());
        }
        let policy = source.load(&engine, &r.name, r.kind, r.sha256.as_ref())?;
        Ok(Configured {
            policy,
            config: r.config_json()?,
        })
    };
    let of_kind = |k: PolicyKind| channel.policies.iter().filter(move |p| p.kind == k);
    let rollout_ref = of_kind(PolicyKind::Rollout)
        .next()
        .with_context(|| format!("channel `{}` has no rollout policy", args.channel))?;
    let policies = ChannelPolicies {
        rollout: load(rollout_ref)?,
        gates: of_kind(PolicyKind::Gate)
            .map(load)
            .collect::<Result<_, _>>()?,
        health: of_kind(PolicyKind::Health).next().map(load).transpose()?,
    };
    let hosts: Vec<(String, Vec<String>)> = fleet
        .hosts
        .iter()
        .filter(|(_, h)| h.channel == args.channel)
        .map(|(name, h)| (name.clone(), h.tags.clone()))
        .collect();
    let target = fleet
        .hosts
        .values()
        .find(|h| h.channel == args.channel)
        .and_then(|h| h.closure_hash.as_ref())
        .map_or_else(|| "/nix/store/new-system".to_owned(), |c| c.to_string());
    let timeline = simulate(&args.channel, hosts, &target, &policies, &scenario)?;
    if json {
        return print_json(&timeline);
    }
    println!(
        "simulating channel {} ({} hosts): rollout {}, gates [{}], health {}",
        args.channel,
        timeline
            .ticks
            .first()
            .map_or(0, |t| t.phases.values().sum::<usize>()),
        policies.rollout.policy.name(),
        policies
            .gates
            .iter()
            .map(|g| g.policy.name())
            .collect::<Vec<_>>()
            .join(" → "),
        policies
            .health
            .as_ref()
            .map_or("(none)", |h| h.policy.name()),
    );
    for t in &timeline.ticks {
        let minutes = (t.now - scenario.start) / 60;
        // Agents report first (their events happened before the plan), then the decision.
        for e in &t.events {
            println!("tick {:>3} +{:>4}m  agent: {e}", t.tick, minutes);
        }
        println!(
            "tick {:>3} +{:>4}m  wave {}  {}",
            t.tick, minutes, t.wave, t.step
        );
        if !t.dispatched.is_empty() {
            println!(
                "                      dispatch {}: {}",
                t.dispatched.len(),
                t.dispatched.join(", ")
            );
        }
        for r in &t.refused {
            println!("                      refused {r}");
        }
        let phases: Vec<String> = t.phases.iter().map(|(p, n)| format!("{p} {n}")).collect();
        println!("                      hosts: {}", phases.join(", "));
    }
    println!(
        "outcome: {} after {} tick(s), {} policy evaluations",
        timeline.outcome,
        timeline.ticks.len(),
        timeline.evaluations
    );
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
