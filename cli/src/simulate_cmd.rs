//! `convoy simulate`: a whole rollout of one channel, tick by tick, under the channel's
//! signed policies, with failing probes, offline hosts and failing activations.

use std::path::PathBuf;

use anyhow::{Context, anyhow};
use convoy_host_runtime::bundle::BundleDir;
use convoy_host_runtime::{Policy, PolicyEngine, PolicySpec};
use convoy_policy_tests::simulate::{ChannelPolicies, Configured, Scenario, simulate};
use convoy_proto::{
    FleetResolved, PolicyKind, PolicyRef, Sha256Digest, Timestamp, UnsignedFleet, VerifyOptions,
    verify_artifact, verify_trust_root,
};

use crate::policy_cmd::{BundleArgs, EngineArgs};
use crate::{Failure, print_json};

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
    /// "failActivation": [..], "failProbes": [..]} (default: no faults, 5-minute ticks).
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// Unsigned development components <name>.wasm, when no --bundle is given.
    #[arg(long, default_value = "policies/out", conflicts_with = "bundle")]
    pub components: PathBuf,
    #[command(flatten)]
    pub bundle: BundleArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// Runs `convoy simulate`.
pub fn run(args: Args, json: bool) -> Result<(), Failure> {
    let bytes =
        std::fs::read(&args.fleet).with_context(|| format!("reading {}", args.fleet.display()))?;
    let fleet = load_fleet(&args, &bytes)?;
    let channel = fleet
        .channels
        .get(&args.channel)
        .with_context(|| format!("the fleet has no channel `{}`", args.channel))?;
    let scenario = match &args.scenario {
        Some(path) => {
            let b = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_slice(&b).with_context(|| format!("{}", path.display()))?
        }
        None => Scenario {
            start: Timestamp::now().unix(),
            tick_seconds: u64::from(channel.reconcile_interval_minutes.max(1)) * 60,
            ticks: 100,
            ..Scenario::default()
        },
    };
    let engine = args.engine.engine()?;
    let bundle = args.bundle.open()?;
    let load = |r: &PolicyRef| -> Result<Configured, Failure> {
        let policy = load_ref(&engine, bundle.as_ref(), &args.components, r)?;
        let config = String::from_utf8(convoy_proto::json::canonical_bytes(&r.config)?)?;
        Ok(Configured { policy, config })
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
    let (Some(org), Some(root)) = (&args.bundle.org_root, &args.bundle.trust_root) else {
        return Err(anyhow!("a signed fleet needs --org-root and --trust-root").into());
    };
    let options = VerifyOptions::at(args.bundle.now.unwrap_or_else(Timestamp::now));
    let org = crate::trust::load_public(org)?;
    let root_bytes = std::fs::read(root).with_context(|| format!("reading {}", root.display()))?;
    let root = verify_trust_root(&root_bytes, &org.public_key, &options)?;
    let fleet = verify_artifact::<FleetResolved>(bytes, &root, &options)?;
    let fleet: FleetResolved = (*fleet).clone();
    Ok(UnsignedFleet {
        schema_version: fleet.schema_version,
        hosts: fleet.hosts,
        channels: fleet.channels,
        rollout_policies: fleet.rollout_policies,
        edges: fleet.edges,
        channel_edges: fleet.channel_edges,
        disruption_budgets: fleet.disruption_budgets,
        meta: Some(fleet.meta),
    })
}

/// A channel's policy: from the verified bundle by its pinned hash, or (development) the
/// unsigned component `<name>.wasm`, which must match the pin when there is one.
fn load_ref(
    engine: &PolicyEngine,
    bundle: Option<&BundleDir>,
    components: &std::path::Path,
    r: &PolicyRef,
) -> Result<Policy, Failure> {
    if let Some(bundle) = bundle {
        let sha = r
            .sha256
            .as_ref()
            .with_context(|| format!("policy `{}` is not pinned by sha256 in the fleet", r.name))?;
        return Ok(bundle.load_pinned(engine, sha)?.0);
    }
    let path = components.join(format!("{}.wasm", r.name));
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let spec = PolicySpec {
        name: r.name.clone(),
        kind: r.kind,
        sha256: r.sha256.unwrap_or_else(|| Sha256Digest::of(&bytes)),
    };
    Ok(engine.load(&spec, &bytes)?.0)
}
