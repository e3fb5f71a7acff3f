//! `convoy simulate`: a whole-fleet release played through the reconciler, with simulated
//! agents.
//!
//! The decisions are the [`convoy_reconciler::Reconciler`]'s, made by the channels' real
//! policy components, exactly as the control plane makes them; this module only plays the
//! agents. Each agent picks up its dispatch, activates it (`activationSeconds`), samples
//! its probes every `probeIntervalSeconds` from activation on and judges them with the
//! channel's health policy after every sample, confirms as soon as it is healthy, and rolls
//! back by itself on an unhealthy verdict, a failed activation, or at its confirm deadline
//! (a deadline reached is passed: `≥`). The faults of a [`Scenario`] decide which agents
//! are offline (for good, or until they come back), whose activation fails and whose
//! probes fail. The whole fleet is simulated: every host is in every snapshot, so channel
//! edges and fleet-wide percentage budgets decide as they would in production.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use convoy_host_runtime::PolicyError;
use convoy_host_runtime::health::{HealthInput, HealthStatus, ProbeKind, ProbeResult};
use convoy_host_runtime::rollout::Step;
use convoy_host_runtime::text::printable_owned;
use convoy_host_runtime::types::{Host, HostPhase};
use convoy_proto::{FleetDocument, Sha256Digest};
use convoy_reconciler::{
    Action, AgentReport, DesiredError, DesiredFleet, Event, PolicySet, ReconcileError, Reconciler,
    ReconcilerConfig, RolloutState, State,
};

/// Faults and timing of a simulation.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scenario {
    /// Unix time of tick 0.
    pub start: u64,
    /// Seconds between ticks (the reconcile interval).
    pub tick_seconds: u64,
    /// Most ticks to run (the simulation stops earlier once nothing is left to happen).
    pub ticks: u32,
    /// Hosts whose agent is down for the whole simulation.
    #[serde(default)]
    pub offline: BTreeSet<String>,
    /// Hosts whose agent is down until this many seconds after `start`, then checks in.
    #[serde(default)]
    pub returns: BTreeMap<String, u64>,
    /// Hosts whose activation fails.
    #[serde(default)]
    pub fail_activation: BTreeSet<String>,
    /// Hosts whose health probes fail after activation.
    #[serde(default)]
    pub fail_probes: BTreeSet<String>,
    /// Seconds between two runs of a host's probe (the agent's `intervalSeconds`).
    #[serde(default = "default_probe_interval")]
    pub probe_interval_seconds: u64,
    /// Seconds an activation takes.
    #[serde(default = "default_activation")]
    pub activation_seconds: u64,
    /// A running rollout without progress for this long halts (the reconciler's stall
    /// limit; default 6 hours).
    #[serde(default = "default_stall")]
    pub stall_after_seconds: u64,
}

fn default_stall() -> u64 {
    6 * 3600
}

fn default_probe_interval() -> u64 {
    10
}

fn default_activation() -> u64 {
    30
}

impl Scenario {
    /// A scenario with no faults: `ticks` ticks of `tick_seconds` from `start`.
    pub fn new(start: u64, tick_seconds: u64, ticks: u32) -> Scenario {
        Scenario {
            start,
            tick_seconds,
            ticks,
            offline: BTreeSet::new(),
            returns: BTreeMap::new(),
            fail_activation: BTreeSet::new(),
            fail_probes: BTreeSet::new(),
            probe_interval_seconds: default_probe_interval(),
            activation_seconds: default_activation(),
            stall_after_seconds: default_stall(),
        }
    }

    /// Refuses timing that would hide a threshold of `fleet`: a tick longer than a confirm
    /// window or a (non-zero) soak time, or a probe interval or activation that does not
    /// fit in a confirm window.
    pub fn check(&self, fleet: &DesiredFleet) -> Result<(), ScenarioError> {
        let at_least_one = [
            ("tickSeconds", self.tick_seconds),
            ("probeIntervalSeconds", self.probe_interval_seconds),
        ];
        if let Some((field, _)) = at_least_one.iter().find(|(_, v)| *v == 0) {
            return Err(ScenarioError::Zero { field });
        }
        for (name, c) in &fleet.channels {
            let mut thresholds = vec![("healthGate.timeoutMinutes", c.confirm_window_seconds)];
            thresholds.extend(c.soak_seconds.iter().map(|s| ("a wave's soakMinutes", *s)));
            for (threshold, seconds) in thresholds.into_iter().filter(|(_, s)| *s > 0) {
                if self.tick_seconds > seconds {
                    return Err(ScenarioError::TickHidesThreshold {
                        tick_seconds: self.tick_seconds,
                        channel: name.clone(),
                        threshold,
                        seconds,
                    });
                }
            }
            let window = c.confirm_window_seconds;
            if self.activation_seconds + self.probe_interval_seconds > window {
                return Err(ScenarioError::NoRoomToConfirm {
                    channel: name.clone(),
                    window,
                });
            }
        }
        Ok(())
    }
}

/// Why a scenario cannot be simulated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScenarioError {
    /// A duration that must be positive is 0.
    #[error("scenario: {field} must be at least 1")]
    Zero {
        /// The field.
        field: &'static str,
    },
    /// The tick is longer than a threshold: what happens in between would be invisible.
    #[error(
        "scenario: tickSeconds {tick_seconds} is longer than channel {channel}'s {threshold} ({seconds}s); a tick must not hide a threshold"
    )]
    TickHidesThreshold {
        /// The tick length.
        tick_seconds: u64,
        /// The channel.
        channel: String,
        /// The threshold.
        threshold: &'static str,
        /// Its length in seconds.
        seconds: u64,
    },
    /// Activation plus one probe interval does not fit in the confirm window.
    #[error(
        "scenario: activationSeconds + probeIntervalSeconds exceed channel {channel}'s confirm window of {window}s"
    )]
    NoRoomToConfirm {
        /// The channel.
        channel: String,
        /// The window in seconds.
        window: u64,
    },
}

/// Why a simulation stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    /// The scenario's timing or faults.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The fleet cannot be acted upon.
    #[error(transparent)]
    Fleet(#[from] DesiredError),
    /// The reconciler refused an event (a bug of the simulated agents if it happens).
    #[error(transparent)]
    Reconcile(#[from] ReconcileError),
    /// A health policy gave no verdict.
    #[error(transparent)]
    Health(#[from] PolicyError),
}

/// What happened in one rollout at one tick.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutTick {
    /// The rollout.
    pub rollout: String,
    /// The wave it was planned on.
    pub wave: u32,
    /// What its rollout policy decided (`hold: …`, `promote to wave 1`, `converge`…).
    pub step: String,
    /// Hosts dispatched.
    pub dispatched: Vec<String>,
    /// Refusals: `gate: hosts: reason`.
    pub refused: Vec<String>,
    /// Notes that are new since its previous tick, and its state changes.
    pub notes: Vec<String>,
}

/// One tick of the timeline.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tick {
    /// Tick number from 0.
    pub tick: u32,
    /// Simulated time.
    pub now: u64,
    /// What agents reported since the previous tick: `+SECONDS host: report`.
    pub agents: Vec<String>,
    /// Each rollout the reconciler planned or caught up.
    pub rollouts: Vec<RolloutTick>,
    /// Host count per phase after the tick.
    pub phases: BTreeMap<String, usize>,
}

/// How one rollout ended (or where it stood when the simulation stopped).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutEnd {
    /// The rollout.
    pub rollout: String,
    /// Its state.
    pub state: String,
    /// Why.
    pub reason: String,
    /// Hosts that did not reach the target.
    pub skipped: Vec<String>,
}

/// The whole simulation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Timeline {
    /// Unix time of tick 0.
    pub start: u64,
    /// Per tick.
    pub ticks: Vec<Tick>,
    /// Every rollout, in start order.
    pub rollouts: Vec<RolloutEnd>,
    /// Policy evaluations made (each with a receipt), health included.
    pub evaluations: u64,
}

impl Timeline {
    /// The state `rollout` ended in.
    pub fn state_of(&self, rollout: &str) -> Option<&str> {
        self.rollouts
            .iter()
            .find(|r| r.rollout == rollout)
            .map(|r| r.state.as_str())
    }

    /// The timeline as text, one event per line: what `convoy simulate` prints and the
    /// golden files hold. Steps, notes, refusals and outcome reasons carry the policies'
    /// own text, so they are escaped and cut ([`printable_owned`]) before they reach a
    /// terminal.
    pub fn render(&self) -> String {
        let mut s = String::new();
        for t in &self.ticks {
            let minutes = (t.now - self.start) / 60;
            for a in &t.agents {
                let _ = writeln!(s, "tick {:>3} +{minutes:>4}m  agent {a}", t.tick);
            }
            for r in &t.rollouts {
                let _ = writeln!(
                    s,
                    "tick {:>3} +{minutes:>4}m  {} wave {}: {}",
                    t.tick,
                    r.rollout,
                    r.wave,
                    printable_owned(&r.step)
                );
                for n in &r.notes {
                    let _ = writeln!(s, "                     note {}", printable_owned(n));
                }
                if !r.dispatched.is_empty() {
                    let _ = writeln!(
                        s,
                        "                     dispatch {}: {}",
                        r.dispatched.len(),
                        r.dispatched.join(", ")
                    );
                }
                for f in &r.refused {
                    let _ = writeln!(s, "                     refused {}", printable_owned(f));
                }
            }
            let phases: Vec<String> = t.phases.iter().map(|(p, n)| format!("{p} {n}")).collect();
            let _ = writeln!(s, "                     hosts: {}", phases.join(", "));
        }
        for r in &self.rollouts {
            if r.reason.is_empty() {
                let _ = writeln!(s, "outcome {}: {}", r.rollout, r.state);
            } else {
                let _ = writeln!(
                    s,
                    "outcome {}: {} ({})",
                    r.rollout,
                    r.state,
                    printable_owned(&r.reason)
                );
            }
            if !r.skipped.is_empty() {
                let _ = writeln!(s, "        not on the target: {}", r.skipped.join(", "));
            }
        }
        let _ = writeln!(
            s,
            "{} tick(s), {} policy evaluations",
            self.ticks.len(),
            self.evaluations
        );
        s
    }
}

/// A stand-in store path for a fleet whose closures are not built yet.
pub fn stand_in_closure(what: &str, host: &str) -> String {
    const NIX_BASE32: &[u8] = b"0123456789abcdfghijklmnpqrsvwxyz";
    let digest = Sha256Digest::of(format!("{what}/{host}").as_bytes()).to_string();
    let hash: String = digest
        .bytes()
        .take(32)
        .map(|b| NIX_BASE32[(b as usize) % 32] as char)
        .collect();
    format!("/nix/store/{hash}-{what}-{host}")
}

/// The agent's dispatch in progress.
#[derive(Debug, Clone)]
struct Job {
    closure: String,
    deadline: u64,
    /// When the agent picked it up (it was online).
    picked_up: Option<u64>,
    activated_at: Option<u64>,
    next_probe: u64,
    probes: Vec<ProbeResult>,
}

/// One simulated agent.
#[derive(Debug, Clone)]
struct Agent {
    /// From when it is online (`None`: never).
    online_from: Option<u64>,
    fail_activation: bool,
    fail_probes: bool,
    running: String,
    previous: String,
    job: Option<Job>,
    /// The rollback it was asked for, not done yet.
    rollback: bool,
}

impl Agent {
    fn online(&self, at: u64) -> bool {
        self.online_from.is_some_and(|from| at >= from)
    }
}

/// Runs a simulation of `fleet` (every host in every snapshot) as fleet version 1, with the
/// channels' loaded `policies`. With `only`, just that channel's rollout plays: the other
/// channels' hosts start on their targets. A host without a closure in the fleet gets a
/// stand-in one ([`stand_in_closure`]).
pub fn simulate<M>(
    fleet: &FleetDocument<M>,
    policies: PolicySet,
    only: Option<&str>,
    scenario: &Scenario,
) -> Result<Timeline, SimulateError> {
    simulate_observed(fleet, policies, only, scenario, |_, _, _| {})
}

/// [`simulate`], calling `observe(tick, state, actions)` after every tick with the
/// reconciler's state and the tick's actions (what the property tests check).
pub fn simulate_observed<M>(
    fleet: &FleetDocument<M>,
    policies: PolicySet,
    only: Option<&str>,
    scenario: &Scenario,
    mut observe: impl FnMut(u32, &State, &[Action]),
) -> Result<Timeline, SimulateError> {
    let mut desired = DesiredFleet::from_document(fleet, 1)?;
    for (name, h) in desired.hosts.iter_mut() {
        if h.target.is_none() {
            h.target = Some(stand_in_closure("nixos-system", name));
        }
    }
    // Stand-in closures change what ships: recompute nothing, the fingerprint only decides
    // whether a rollout starts, and the first release starts one for every channel.
    scenario.check(&desired)?;
    let mut agents: BTreeMap<String, Agent> = desired
        .hosts
        .iter()
        .map(|(name, h)| {
            let previous = stand_in_closure("previous-system", name);
            let plays = only.is_none_or(|c| c == h.channel);
            let target = h.target.clone().unwrap_or_else(|| previous.clone());
            let online_from = if scenario.offline.contains(name) {
                None
            } else {
                Some(scenario.start + scenario.returns.get(name).copied().unwrap_or(0))
            };
            let agent = Agent {
                online_from,
                fail_activation: scenario.fail_activation.contains(name),
                fail_probes: scenario.fail_probes.contains(name),
                running: if plays { previous.clone() } else { target },
                previous,
                job: None,
                rollback: false,
            };
            (name.clone(), agent)
        })
        .collect();
    let mut config = ReconcilerConfig::default();
    config.stall_after(scenario.stall_after_seconds);
    let mut reconciler = Reconciler::new(config);
    let mut timeline = Timeline {
        start: scenario.start,
        ticks: Vec::new(),
        rollouts: Vec::new(),
        evaluations: 0,
    };
    let mut last_notes: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut previous_now = None;
    let timing = Timing {
        activation: scenario.activation_seconds,
        probe_interval: scenario.probe_interval_seconds,
    };
    for tick in 0..scenario.ticks {
        let now = scenario.start + u64::from(tick) * scenario.tick_seconds;
        // 1. What agents did since the previous tick, in time order.
        let mut reports: Vec<(u64, String, AgentReport)> = Vec::new();
        if let Some(from) = previous_now {
            for (name, agent) in agents.iter_mut() {
                let health = reconciler
                    .state()
                    .hosts
                    .get(name)
                    .and_then(|h| reconciler.policies().get(&h.channel))
                    .cloned();
                let host = reconciler
                    .state()
                    .hosts
                    .get(name)
                    .map(|h| h.for_policies(name));
                let mut out = Reports {
                    host: name,
                    out: &mut reports,
                };
                timeline.evaluations +=
                    advance(agent, from, now, timing, health.as_deref(), host, &mut out)?;
            }
        }
        reports.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        let mut agent_lines = Vec::new();
        let mut reported = Vec::new();
        for (at, host, report) in reports {
            agent_lines.push(format!(
                "+{}s {host}: {}",
                at - scenario.start,
                describe(&report)
            ));
            reported.extend(reconciler.handle(Event::Report { host, at, report })?);
        }
        // 2. The release, at tick 0.
        if tick == 0 {
            let actions = reconciler.handle(Event::Release {
                at: now,
                fleet: desired.clone(),
                policies: policies.clone(),
            })?;
            observe(tick, reconciler.state(), &actions);
        }
        // 3. Online agents check in.
        for (name, agent) in &agents {
            if agent.online(now) {
                reconciler.handle(Event::CheckIn {
                    host: name.clone(),
                    at: now,
                    current_closure: Some(agent.running.clone()),
                })?;
            }
        }
        // 4. The tick.
        let actions = reconciler.handle(Event::Tick { now })?;
        let mut rollouts: Vec<RolloutTick> = Vec::new();
        // What the reports changed (a rollback completed) is told first.
        for action in &reported {
            if let Action::Rollout {
                rollout,
                to,
                reason,
                ..
            } = action
            {
                entry(&mut rollouts, rollout)
                    .notes
                    .push(format!("{}: {reason}", to.as_str()));
            }
        }
        let mut notes_now: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for action in &actions {
            match action {
                Action::Planned {
                    rollout,
                    wave,
                    step,
                } => rollouts.push(RolloutTick {
                    rollout: rollout.clone(),
                    wave: *wave,
                    step: describe_step(step),
                    dispatched: Vec::new(),
                    refused: Vec::new(),
                    notes: Vec::new(),
                }),
                Action::Dispatch {
                    host,
                    closure,
                    rollout,
                    confirm_deadline,
                } => {
                    entry(&mut rollouts, rollout).dispatched.push(host.clone());
                    if let Some(agent) = agents.get_mut(host) {
                        agent.job = Some(Job {
                            closure: closure.clone(),
                            deadline: *confirm_deadline,
                            picked_up: None,
                            activated_at: None,
                            next_probe: 0,
                            probes: Vec::new(),
                        });
                        agent.rollback = false;
                    }
                }
                Action::Rollback { host, .. } => {
                    if let Some(agent) = agents.get_mut(host) {
                        agent.rollback = true;
                    }
                }
                Action::Refused {
                    rollout,
                    gate,
                    hosts,
                    reason,
                } => entry(&mut rollouts, rollout)
                    .refused
                    .push(format!("{} by {gate}: {reason}", hosts.join(", "))),
                Action::Note { rollout, text } => {
                    notes_now
                        .entry(rollout.clone())
                        .or_default()
                        .insert(text.clone());
                    let seen = last_notes.get(rollout).is_some_and(|n| n.contains(text));
                    if !seen {
                        entry(&mut rollouts, rollout).notes.push(text.clone());
                    }
                }
                Action::Rollout {
                    rollout,
                    to,
                    reason,
                    ..
                } => entry(&mut rollouts, rollout)
                    .notes
                    .push(format!("{}: {reason}", to.as_str())),
                Action::NoDecision { rollout, error } => entry(&mut rollouts, rollout)
                    .notes
                    .push(format!("no decision: {error}")),
                Action::Receipt { .. } => timeline.evaluations += 1,
                Action::Host { .. } => {}
            }
        }
        last_notes = notes_now;
        observe(tick, reconciler.state(), &actions);
        let mut phases = BTreeMap::new();
        for h in reconciler.state().hosts.values() {
            *phases.entry(h.phase.as_str().to_owned()).or_insert(0) += 1;
        }
        timeline.ticks.push(Tick {
            tick,
            now,
            agents: agent_lines,
            rollouts,
            phases,
        });
        previous_now = Some(now);
        if quiescent(&reconciler, &agents, now) {
            break;
        }
    }
    timeline.rollouts = reconciler
        .state()
        .rollouts
        .iter()
        .map(|r| RolloutEnd {
            rollout: r.id.clone(),
            state: r.state.as_str().to_owned(),
            reason: r
                .outcome
                .as_ref()
                .map_or_else(String::new, |o| o.reason.clone()),
            skipped: r
                .outcome
                .as_ref()
                .map_or_else(Vec::new, |o| o.skipped.clone()),
        })
        .collect();
    Ok(timeline)
}

/// Nothing left to happen: no rollout running, no host soaking, no agent with work or
/// still to come back. (A host in flight whose agent is down for good changes nothing.)
fn quiescent(reconciler: &Reconciler, agents: &BTreeMap<String, Agent>, now: u64) -> bool {
    let state = reconciler.state();
    let running = state
        .rollouts
        .iter()
        .any(|r| r.state == RolloutState::Running);
    let soaking = state.hosts.values().any(|h| h.phase == HostPhase::Healthy);
    let agent_work = agents.values().any(|a| {
        let comes_back = a.online_from.is_some_and(|from| from > now);
        let works = a.online(now) && (a.job.is_some() || a.rollback);
        comes_back || works
    });
    !running && !soaking && !agent_work
}

fn entry<'a>(rollouts: &'a mut Vec<RolloutTick>, rollout: &str) -> &'a mut RolloutTick {
    if let Some(i) = rollouts.iter().position(|r| r.rollout == rollout) {
        return &mut rollouts[i];
    }
    rollouts.push(RolloutTick {
        rollout: rollout.to_owned(),
        wave: 0,
        step: "(not planned: a catch-up or a report)".to_owned(),
        dispatched: Vec::new(),
        refused: Vec::new(),
        notes: Vec::new(),
    });
    let last = rollouts.len() - 1;
    &mut rollouts[last]
}

/// The agents' timing, from the scenario.
#[derive(Clone, Copy)]
struct Timing {
    activation: u64,
    probe_interval: u64,
}

/// Appends one agent's report.
struct Reports<'a> {
    host: &'a str,
    out: &'a mut Vec<(u64, String, AgentReport)>,
}

impl Reports<'_> {
    fn push(&mut self, at: u64, report: AgentReport) {
        self.out.push((at, self.host.to_owned(), report));
    }

    /// The agent's own rollback: it reports the failure, then that it runs `previous`.
    fn roll_back(&mut self, agent: &mut Agent, closure: &str, at: u64, why: &str) {
        self.push(
            at,
            AgentReport::Failed {
                closure: closure.to_owned(),
                reason: why.to_owned(),
            },
        );
        self.push(
            at,
            AgentReport::RolledBack {
                running: Some(agent.previous.clone()),
            },
        );
        agent.running = agent.previous.clone();
        agent.job = None;
    }
}

/// Plays one agent from `from` (exclusive) to `to` (inclusive); returns how many health
/// evaluations it made.
fn advance(
    agent: &mut Agent,
    from: u64,
    to: u64,
    timing: Timing,
    chain: Option<&convoy_reconciler::PolicyChain>,
    host: Option<Host>,
    reports: &mut Reports<'_>,
) -> Result<u64, PolicyError> {
    if agent.rollback {
        // Asked to roll back: done at its next moment online.
        let at = agent.online_from.map_or(u64::MAX, |f| f.max(from + 1));
        if at <= to {
            agent.rollback = false;
            agent.job = None;
            agent.running = agent.previous.clone();
            reports.push(
                at,
                AgentReport::RolledBack {
                    running: Some(agent.previous.clone()),
                },
            );
        }
        return Ok(0);
    }
    let Some(mut job) = agent.job.clone() else {
        return Ok(0);
    };
    // Pick-up: the dispatch reaches the agent once it is online, if before the deadline.
    let picked_up = match job.picked_up {
        Some(at) => at,
        None => {
            let Some(at) = agent.online_from.map(|f| f.max(from)) else {
                return Ok(0);
            };
            if at > to {
                return Ok(0);
            }
            if at >= job.deadline {
                agent.job = None; // too late to start: the agent ignores it
                return Ok(0);
            }
            reports.push(
                at,
                AgentReport::Activating {
                    closure: job.closure.clone(),
                },
            );
            job.picked_up = Some(at);
            at
        }
    };
    let activated_at = match job.activated_at {
        Some(at) => at,
        None => {
            let end = picked_up.saturating_add(timing.activation);
            if end >= job.deadline {
                if job.deadline <= to {
                    reports.roll_back(agent, &job.closure, job.deadline, "confirm deadline passed");
                } else {
                    agent.job = Some(job);
                }
                return Ok(0);
            }
            if end > to {
                agent.job = Some(job);
                return Ok(0);
            }
            if agent.fail_activation {
                reports.roll_back(agent, &job.closure, end, "switch-to-configuration failed");
                return Ok(0);
            }
            reports.push(
                end,
                AgentReport::Activated {
                    closure: job.closure.clone(),
                },
            );
            job.activated_at = Some(end);
            job.next_probe = end;
            end
        }
    };
    let mut evaluations = 0;
    while job.next_probe <= to && job.next_probe < job.deadline {
        let at = job.next_probe;
        job.next_probe += timing.probe_interval;
        let passed = !agent.fail_probes;
        job.probes.push(ProbeResult {
            probe: "http".into(),
            kind: ProbeKind::Http,
            at,
            passed,
            detail: if passed {
                "200 OK"
            } else {
                "503 Service Unavailable"
            }
            .into(),
        });
        let status = match (chain.and_then(|c| c.health.as_ref()), &host) {
            (Some(health), Some(host)) => {
                evaluations += 1;
                let mut host = host.clone();
                host.phase = HostPhase::ConfirmWindow;
                host.current_closure = Some(job.closure.clone());
                convoy_reconciler::engine::assess_health(
                    health,
                    &HealthInput {
                        now: at,
                        host,
                        activated_at: Some(activated_at),
                        results: job.probes.clone(),
                    },
                )?
                .output
                .status
            }
            _ if passed => HealthStatus::Healthy,
            _ => HealthStatus::Unhealthy,
        };
        match status {
            HealthStatus::Healthy => {
                reports.push(
                    at,
                    AgentReport::Confirmed {
                        closure: job.closure.clone(),
                    },
                );
                agent.running = job.closure.clone();
                agent.job = None;
                return Ok(evaluations);
            }
            HealthStatus::Unhealthy => {
                reports.roll_back(agent, &job.closure, at, "health policy: unhealthy");
                return Ok(evaluations);
            }
            HealthStatus::Pending => {}
        }
    }
    if job.deadline <= to && job.next_probe >= job.deadline {
        reports.roll_back(agent, &job.closure, job.deadline, "confirm deadline passed");
    } else {
        agent.job = Some(job);
    }
    Ok(evaluations)
}

fn describe(report: &AgentReport) -> String {
    match report {
        AgentReport::Activating { .. } => "activating".to_owned(),
        AgentReport::Activated { .. } => "activated, confirm window open".to_owned(),
        AgentReport::Confirmed { .. } => "healthy, confirmed".to_owned(),
        AgentReport::Failed { reason, .. } => format!("failed ({reason})"),
        AgentReport::RolledBack { .. } => "rolled back".to_owned(),
    }
}

fn describe_step(step: &Step) -> String {
    match step {
        Step::Hold(why) => format!("hold: {why}"),
        Step::Promote(wave) => format!("promote to wave {wave}"),
        Step::Halt(why) => format!("halt: {why}"),
        Step::RollbackAndHalt(why) => format!("rollback-and-halt: {why}"),
        Step::Converge => "converge".to_owned(),
    }
}
