//! A discrete-time simulation of one channel's rollout under its signed policies.
//!
//! Every tick the simulator advances each host one step through the agent's life
//! (dispatched → activating → confirm window → healthy, or failed), with the faults of a
//! [`Scenario`] (hosts that stay offline, activations that fail, probes that fail); asks
//! the channel's rollout policy for a plan; passes the plan's candidates through the
//! channel's gates in order; and applies the result (dispatch, promote, halt, roll back,
//! converge). All decisions come from the real components through the host runtime, so
//! the timeline is what the control plane would do with the same policies.

use std::collections::{BTreeMap, BTreeSet};

use convoy_host_runtime::health::{HealthInput, HealthStatus, ProbeKind, ProbeResult};
use convoy_host_runtime::rollout::Step;
use convoy_host_runtime::text::printable_owned;
use convoy_host_runtime::types::{Host, HostPhase, Rollout, RolloutState};
use convoy_host_runtime::{Policy, PolicyError, Snapshot};

/// A loaded policy and its configuration string.
pub struct Configured {
    /// The policy.
    pub policy: Policy,
    /// Its canonical JSON configuration.
    pub config: String,
}

/// The policies of the simulated channel.
pub struct ChannelPolicies {
    /// The rollout policy (`rollout` world).
    pub rollout: Configured,
    /// The gates, in the order they chain.
    pub gates: Vec<Configured>,
    /// The health policy run in each host's confirm window; without one a host is healthy
    /// unless its probes fail.
    pub health: Option<Configured>,
}

/// Faults and timing of a simulation.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scenario {
    /// Unix time of tick 0.
    pub start: u64,
    /// Seconds between ticks (the channel's reconcile interval).
    pub tick_seconds: u64,
    /// Most ticks to run (the simulation stops earlier once the rollout ends).
    pub ticks: u32,
    /// Hosts that never check in (their agent is down).
    #[serde(default)]
    pub offline: BTreeSet<String>,
    /// Hosts whose activation fails.
    #[serde(default)]
    pub fail_activation: BTreeSet<String>,
    /// Hosts whose health probes fail after activation.
    #[serde(default)]
    pub fail_probes: BTreeSet<String>,
    /// How long a healthy host soaks before the control plane marks it `Soaked` (default:
    /// the current wave's `soakMinutes` in the rollout policy's configuration, else 0).
    #[serde(default)]
    pub soak_minutes: Option<u64>,
}

/// One tick of the timeline.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tick {
    /// Tick number from 0.
    pub tick: u32,
    /// Simulated time.
    pub now: u64,
    /// The rollout's current wave after the tick.
    pub wave: u32,
    /// What the rollout policy decided (`hold: …`, `promote 1`, `halt: …`, `converge`).
    pub step: String,
    /// Hosts dispatched this tick.
    pub dispatched: Vec<String>,
    /// Candidates a gate refused, with the gate and its reason.
    pub refused: Vec<String>,
    /// Agent-side events (activation failed, healthy, …).
    pub events: Vec<String>,
    /// Host count per phase after the tick.
    pub phases: BTreeMap<String, usize>,
}

/// The whole simulation.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Timeline {
    /// Per tick.
    pub ticks: Vec<Tick>,
    /// How it ended: `converged`, `halted`, `rolling-back` or `running`.
    pub outcome: String,
    /// Policy evaluations made (each with a receipt).
    pub evaluations: u64,
}

struct SimHost {
    host: Host,
    activated_at: Option<u64>,
    probes: Vec<ProbeResult>,
}

/// Runs the simulation of `hosts` (the channel's hosts, sorted by name or not) rolling out
/// to `target_closure`.
pub fn simulate(
    channel: &str,
    hosts: Vec<(String, Vec<String>)>,
    target_closure: &str,
    policies: &ChannelPolicies,
    scenario: &Scenario,
) -> Result<Timeline, PolicyError> {
    let mut sim: Vec<SimHost> = hosts
        .into_iter()
        .map(|(name, tags)| SimHost {
            host: Host {
                last_seen: (!scenario.offline.contains(&name)).then_some(scenario.start),
                name,
                channel: channel.to_owned(),
                tags,
                current_closure: Some("/nix/store/previous-system".to_owned()),
                target_closure: Some(target_closure.to_owned()),
                phase: HostPhase::Idle,
                phase_since: scenario.start,
                rollout: None,
            },
            activated_at: None,
            probes: Vec::new(),
        })
        .collect();
    sim.sort_by(|a, b| a.host.name.cmp(&b.host.name));
    let mut rollout = Rollout {
        id: format!("sim-{channel}"),
        channel: channel.to_owned(),
        target_version: 1,
        current_wave: 0,
        started_at: scenario.start,
        wave_started_at: scenario.start,
        state: RolloutState::Running,
    };
    let mut timeline = Timeline {
        ticks: Vec::new(),
        outcome: String::new(),
        evaluations: 0,
    };
    for tick in 0..scenario.ticks {
        let now = scenario.start + u64::from(tick) * scenario.tick_seconds;
        let mut events = Vec::new();
        let soak = 60
            * scenario.soak_minutes.unwrap_or_else(|| {
                wave_soak_minutes(&policies.rollout.config, rollout.current_wave)
            });
        for h in &mut sim {
            advance(
                h,
                now,
                scenario,
                policies,
                &mut events,
                &mut timeline.evaluations,
            )?;
            // The control plane's part: a host healthy for the soak time is soaked.
            if h.host.phase == HostPhase::Healthy && now.saturating_sub(h.host.phase_since) >= soak
            {
                set_phase(&mut h.host, HostPhase::Soaked, now);
                events.push(format!("{}: soaked", h.host.name));
            }
        }
        // One snapshot per tick, shared by the plan and every gate (hashed once). `sim` is
        // sorted by name like the snapshot, so a host-id is an index into it. The gates
        // are chained by host-id, as the control plane does; only refusals and the
        // dispatched hosts are named.
        let hosts: Vec<Host> = sim.iter().map(|h| h.host.clone()).collect();
        let snapshot = Snapshot::new(&hosts, vec![rollout.clone()])?;
        let plan = policies
            .rollout
            .policy
            .call()
            .plan(&policies.rollout.config, now, &rollout, &snapshot)?
            .output;
        timeline.evaluations += 1;
        let mut candidates: Vec<u32> = plan.candidates.iter().map(|c| c.host).collect();
        let mut refused = Vec::new();
        for gate in &policies.gates {
            if candidates.is_empty() {
                break;
            }
            let verdict = gate
                .policy
                .call()
                .admit(&gate.config, now, &candidates, &snapshot)?
                .output;
            timeline.evaluations += 1;
            refused.extend(verdict.refused.iter().map(|r| {
                format!(
                    "{} by {}: {}",
                    snapshot.name(r.host).unwrap_or("?"),
                    gate.policy.name(),
                    printable_owned(
                        verdict
                            .reasons
                            .get(r.reason as usize)
                            .map_or("", String::as_str)
                    )
                )
            }));
            candidates = verdict.admitted;
        }
        let step = match &plan.step {
            Step::Hold(why) => format!("hold: {}", printable_owned(why)),
            Step::Promote(wave) => {
                rollout.current_wave = *wave;
                rollout.wave_started_at = now;
                format!("promote to wave {wave}")
            }
            Step::Halt(why) => {
                rollout.state = RolloutState::Halted;
                format!("halt: {}", printable_owned(why))
            }
            Step::RollbackAndHalt(why) => {
                rollout.state = RolloutState::RollingBack;
                for h in sim.iter_mut().filter(|h| h.host.rollout.is_some()) {
                    set_phase(&mut h.host, HostPhase::Reverted, now);
                    h.host.current_closure = Some("/nix/store/previous-system".to_owned());
                }
                format!("rollback-and-halt: {}", printable_owned(why))
            }
            Step::Converge => {
                rollout.state = RolloutState::Converged;
                for h in sim
                    .iter_mut()
                    .filter(|h| h.host.phase == HostPhase::Healthy)
                {
                    set_phase(&mut h.host, HostPhase::Converged, now);
                }
                "converge".to_owned()
            }
        };
        let dispatch = matches!(plan.step, Step::Hold(_) | Step::Promote(_));
        let mut dispatched = Vec::new();
        if dispatch {
            for id in candidates {
                if let Some(h) = sim.get_mut(id as usize) {
                    set_phase(&mut h.host, HostPhase::Dispatched, now);
                    h.host.rollout = Some(rollout.id.clone());
                    dispatched.push(h.host.name.clone());
                }
            }
        }
        let mut phases = BTreeMap::new();
        for h in &sim {
            *phases.entry(format!("{:?}", h.host.phase)).or_insert(0) += 1;
        }
        timeline.ticks.push(Tick {
            tick,
            now,
            wave: rollout.current_wave,
            step,
            dispatched,
            refused,
            events,
            phases,
        });
        if rollout.state != RolloutState::Running {
            break;
        }
    }
    timeline.outcome = match rollout.state {
        RolloutState::Running => "running",
        RolloutState::Halted => "halted",
        RolloutState::RollingBack => "rolling-back",
        RolloutState::Converged => "converged",
    }
    .to_owned();
    Ok(timeline)
}

/// `waves[wave].soakMinutes` of a rollout configuration shaped like the built-in `waves`
/// policy's, else 0.
fn wave_soak_minutes(config: &str, wave: u32) -> u64 {
    serde_json::from_str::<serde_json::Value>(config)
        .ok()
        .and_then(|c| c.pointer(&format!("/waves/{wave}/soakMinutes"))?.as_u64())
        .unwrap_or(0)
}

fn set_phase(host: &mut Host, phase: HostPhase, now: u64) {
    host.phase = phase;
    host.phase_since = now;
}

/// One step of the agent's life for one host.
fn advance(
    h: &mut SimHost,
    now: u64,
    scenario: &Scenario,
    policies: &ChannelPolicies,
    events: &mut Vec<String>,
    evaluations: &mut u64,
) -> Result<(), PolicyError> {
    let name = h.host.name.clone();
    if scenario.offline.contains(&name) {
        return Ok(()); // never checks in: stays where the control plane last saw it
    }
    h.host.last_seen = Some(now);
    match h.host.phase {
        HostPhase::Dispatched => set_phase(&mut h.host, HostPhase::Activating, now),
        HostPhase::Activating if scenario.fail_activation.contains(&name) => {
            set_phase(&mut h.host, HostPhase::Failed, now);
            events.push(format!("{name}: activation failed"));
        }
        HostPhase::Activating => {
            set_phase(&mut h.host, HostPhase::ConfirmWindow, now);
            h.activated_at = Some(now);
        }
        HostPhase::ConfirmWindow => {
            let passed = !scenario.fail_probes.contains(&name);
            h.probes.push(ProbeResult {
                probe: "http".into(),
                kind: ProbeKind::Http,
                at: now,
                passed,
                detail: if passed {
                    "200 OK"
                } else {
                    "503 Service Unavailable"
                }
                .into(),
            });
            let (status, reason) = match &policies.health {
                Some(health) => {
                    *evaluations += 1;
                    let verdict = health
                        .policy
                        .call()
                        .assess_health(
                            &health.config,
                            &HealthInput {
                                now,
                                host: h.host.clone(),
                                activated_at: h.activated_at,
                                results: h.probes.clone(),
                            },
                        )?
                        .output;
                    (verdict.status, printable_owned(&verdict.reason))
                }
                None if passed => (HealthStatus::Healthy, "probes pass".to_owned()),
                None => (HealthStatus::Unhealthy, "probe failed".to_owned()),
            };
            match status {
                HealthStatus::Healthy => {
                    set_phase(&mut h.host, HostPhase::Healthy, now);
                    h.host.current_closure = h.host.target_closure.clone();
                    events.push(format!("{name}: healthy ({reason})"));
                }
                HealthStatus::Unhealthy => {
                    set_phase(&mut h.host, HostPhase::Failed, now);
                    events.push(format!("{name}: unhealthy, rolls back ({reason})"));
                }
                HealthStatus::Pending => {}
            }
        }
        _ => {}
    }
    Ok(())
}
