//! The state machine: [`Reconciler::handle`] takes one [`Event`] and returns the
//! [`Action`]s it decided, or refuses the event with a typed error and changes nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use convoy_host_runtime::Snapshot;
use convoy_host_runtime::rollout::Step;
use convoy_host_runtime::types::{self, HostPhase};

use crate::chain::{PolicyChain, PolicySet};
use crate::desired::DesiredFleet;
use crate::engine;
use crate::error::{AgentError, OperatorError, ReconcileError, ReleaseError};
use crate::event::{Action, AgentReport, Event, OperatorAction};
use crate::state::{
    Dispatch, FailedClosure, HostRecord, Outcome, RolloutRecord, RolloutState, State,
};

/// The latest time an event may carry: canonical JSON's largest exact integer.
const MAX_TIME: u64 = (1 << 53) - 1;

/// How many refusals a stall note names.
const NAMED_REFUSALS: usize = 3;

/// The reconciler's own settings (the rollout rules live in the policies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconcilerConfig {
    stall_after_seconds: u64,
}

impl Default for ReconcilerConfig {
    /// A running rollout that makes no progress for four hours halts.
    fn default() -> Self {
        ReconcilerConfig {
            stall_after_seconds: 4 * 3600,
        }
    }
}

impl ReconcilerConfig {
    /// A running rollout that makes no progress (no dispatch, no promotion, no report from
    /// one of its hosts) for this many seconds halts, naming what blocks it. At least 1.
    pub fn stall_after(&mut self, seconds: u64) -> &mut Self {
        self.stall_after_seconds = seconds.max(1);
        self
    }

    /// The stall limit in seconds.
    pub fn stall_after_seconds(&self) -> u64 {
        self.stall_after_seconds
    }
}

/// The rollout state machine of a fleet.
///
/// Drivers (the control plane, `convoy simulate`) feed it events and carry out its
/// actions; its [`State`] is plain data they may store and later [`Reconciler::restore`].
pub struct Reconciler {
    config: ReconcilerConfig,
    state: State,
    policies: PolicySet,
}

impl Reconciler {
    /// A reconciler that knows nothing yet: the first event is normally a release.
    pub fn new(config: ReconcilerConfig) -> Self {
        Reconciler {
            config,
            state: State::default(),
            policies: PolicySet::new(),
        }
    }

    /// A reconciler resuming from stored `state`, with the policy chains of its fleet
    /// version reloaded by the driver.
    pub fn restore(config: ReconcilerConfig, state: State, policies: PolicySet) -> Self {
        Reconciler {
            config,
            state,
            policies,
        }
    }

    /// What the reconciler knows.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The loaded policy chains of the current fleet version.
    pub fn policies(&self) -> &PolicySet {
        &self.policies
    }

    /// Applies one event. On error nothing changed.
    pub fn handle(&mut self, event: Event) -> Result<Vec<Action>, ReconcileError> {
        let at = match &event {
            Event::Release { at, .. }
            | Event::CheckIn { at, .. }
            | Event::Report { at, .. }
            | Event::Operator { at, .. } => *at,
            Event::Tick { now } => *now,
        };
        if at > MAX_TIME {
            return Err(ReconcileError::TimeOutOfRange { at });
        }
        let mut out = Vec::new();
        match event {
            Event::Release {
                at,
                fleet,
                policies,
            } => self.release(at, fleet, policies, &mut out)?,
            Event::CheckIn {
                host,
                at,
                current_closure,
            } => {
                let rec = self
                    .state
                    .hosts
                    .get_mut(&host)
                    .ok_or(AgentError::UnknownHost { host })?;
                rec.last_seen = Some(rec.last_seen.map_or(at, |s| s.max(at)));
                rec.current_closure = current_closure;
            }
            Event::Report { host, at, report } => self.report(host, at, report, &mut out)?,
            Event::Operator { at, action } => self.operator(at, action, &mut out)?,
            Event::Tick { now } => {
                let before = self.state.clone();
                if let Err(e) = self.tick(now, &mut out) {
                    self.state = before;
                    return Err(e);
                }
            }
        }
        Ok(out)
    }

    // ---- releases ----------------------------------------------------------------------

    fn release(
        &mut self,
        at: u64,
        fleet: DesiredFleet,
        policies: PolicySet,
        out: &mut Vec<Action>,
    ) -> Result<(), ReconcileError> {
        if let Some(current) = &self.state.desired
            && fleet.version <= current.version
        {
            return Err(ReleaseError::NotNewer {
                version: fleet.version,
                current: current.version,
            }
            .into());
        }
        if let Some(channel) = fleet.channels.keys().find(|c| !policies.contains_key(*c)) {
            return Err(ReleaseError::MissingPolicies {
                channel: channel.clone(),
            }
            .into());
        }
        // Hosts: the fleet's wish, with what agents reported kept.
        self.state
            .hosts
            .retain(|name, _| fleet.hosts.contains_key(name));
        for (name, want) in &fleet.hosts {
            let rec = self
                .state
                .hosts
                .entry(name.clone())
                .or_insert_with(|| HostRecord {
                    channel: want.channel.clone(),
                    tags: Vec::new(),
                    target: None,
                    current_closure: None,
                    phase: HostPhase::Idle,
                    phase_since: at,
                    last_seen: None,
                    rollout: None,
                    dispatch: None,
                    failed_closures: Vec::new(),
                });
            rec.channel = want.channel.clone();
            rec.tags = want.tags.clone();
            rec.target = want.target.clone();
        }
        // Channels whose shipped content changed get a rollout; the one running is
        // superseded.
        for (channel, want) in &fleet.channels {
            let last = self
                .state
                .rollouts
                .iter()
                .rev()
                .find(|r| &r.channel == channel);
            if last.is_some_and(|r| r.fingerprint == want.fingerprint) {
                continue;
            }
            let id = format!("{channel}@{}", fleet.version);
            for r in self
                .state
                .rollouts
                .iter_mut()
                .filter(|r| &r.channel == channel && r.state.is_active())
            {
                let reason = format!("superseded by {id}");
                set_state(r, RolloutState::Superseded, at, reason, out);
            }
            for (name, h) in self
                .state
                .hosts
                .iter_mut()
                .filter(|(_, h)| &h.channel == channel)
            {
                // A new rollout starts from what each host last reported: a host another
                // rollout left failed, reverted or confirmed is idle for this one (its
                // failures stay on record); one still in flight stays in flight.
                if !in_flight(h.phase)
                    && h.phase != HostPhase::Idle
                    && h.phase != HostPhase::Quarantined
                {
                    set_phase(name, h, HostPhase::Idle, at, out);
                    h.rollout = None;
                    h.dispatch = None;
                }
            }
            self.state.rollouts.push(RolloutRecord {
                id: id.clone(),
                channel: channel.clone(),
                version: fleet.version,
                fingerprint: want.fingerprint,
                state: RolloutState::Running,
                state_since: at,
                current_wave: 0,
                started_at: at,
                wave_started_at: at,
                last_progress_at: at,
                last_step: None,
                last_refusals: Vec::new(),
                rollback_pending: Default::default(),
                outcome: None,
            });
            out.push(Action::Rollout {
                rollout: id,
                from: None,
                to: RolloutState::Running,
                reason: format!("fleet version {} changes channel {channel}", fleet.version),
            });
        }
        self.state.desired = Some(fleet);
        self.policies = policies;
        Ok(())
    }

    // ---- agents ------------------------------------------------------------------------

    fn report(
        &mut self,
        host: String,
        at: u64,
        report: AgentReport,
        out: &mut Vec<Action>,
    ) -> Result<(), ReconcileError> {
        let rec = self
            .state
            .hosts
            .get_mut(&host)
            .ok_or_else(|| AgentError::UnknownHost { host: host.clone() })?;
        let unexpected = |report: &'static str| AgentError::UnexpectedReport {
            host: host.clone(),
            phase: rec.phase,
            report,
        };
        let dispatched = |closure: &str| -> Result<(), AgentError> {
            match &rec.dispatch {
                Some(d) if d.closure == closure => Ok(()),
                Some(d) => Err(AgentError::WrongClosure {
                    host: host.clone(),
                    dispatched: d.closure.clone(),
                    reported: closure.to_owned(),
                }),
                None => Err(AgentError::UnexpectedReport {
                    host: host.clone(),
                    phase: rec.phase,
                    report: "a report without a dispatch",
                }),
            }
        };
        // Check first, change after: a refused report changes nothing.
        let next = match &report {
            AgentReport::Activating { closure } => {
                if rec.phase != HostPhase::Dispatched {
                    return Err(unexpected("activating").into());
                }
                dispatched(closure)?;
                HostPhase::Activating
            }
            AgentReport::Activated { closure } => {
                if !matches!(rec.phase, HostPhase::Dispatched | HostPhase::Activating) {
                    return Err(unexpected("activated").into());
                }
                dispatched(closure)?;
                HostPhase::ConfirmWindow
            }
            AgentReport::Confirmed { closure } => {
                if !in_flight(rec.phase) {
                    return Err(unexpected("confirmed").into());
                }
                dispatched(closure)?;
                if let Some(d) = &rec.dispatch
                    && at >= d.confirm_deadline
                {
                    return Err(AgentError::ConfirmTooLate {
                        host,
                        deadline: d.confirm_deadline,
                        at,
                    }
                    .into());
                }
                HostPhase::Healthy
            }
            AgentReport::Failed { closure, .. } => {
                if !in_flight(rec.phase) {
                    return Err(unexpected("failed").into());
                }
                dispatched(closure)?;
                HostPhase::Failed
            }
            AgentReport::RolledBack { .. } => {
                if rec.dispatch.is_none()
                    || !matches!(
                        rec.phase,
                        HostPhase::Dispatched
                            | HostPhase::Activating
                            | HostPhase::ConfirmWindow
                            | HostPhase::Healthy
                            | HostPhase::Soaked
                            | HostPhase::Failed
                    )
                {
                    return Err(unexpected("rolled back").into());
                }
                HostPhase::Reverted
            }
        };
        rec.last_seen = Some(rec.last_seen.map_or(at, |s| s.max(at)));
        match report {
            AgentReport::Confirmed { closure } => rec.current_closure = Some(closure),
            AgentReport::Failed { closure, reason } => {
                let rollout = rec.rollout.clone().unwrap_or_default();
                out.push(Action::Note {
                    rollout: rollout.clone(),
                    text: format!("{host}: {closure} failed: {reason}"),
                });
                rec.failed_closures.push(FailedClosure {
                    closure,
                    rollout,
                    at,
                });
            }
            AgentReport::RolledBack { running } => rec.current_closure = running,
            AgentReport::Activating { .. } | AgentReport::Activated { .. } => {}
        }
        set_phase(&host, rec, next, at, out);
        let owner = rec.rollout.clone();
        if let Some(r) = owner.and_then(|id| self.state.rollouts.iter_mut().find(|r| r.id == id)) {
            r.last_progress_at = r.last_progress_at.max(at);
            if next == HostPhase::Reverted
                && r.rollback_pending.remove(&host)
                && r.rollback_pending.is_empty()
                && r.state == RolloutState::RollingBack
            {
                set_state(
                    r,
                    RolloutState::Halted,
                    at,
                    "every asked host rolled back".to_owned(),
                    out,
                );
            }
        }
        Ok(())
    }

    // ---- operators ---------------------------------------------------------------------

    fn operator(
        &mut self,
        at: u64,
        action: OperatorAction,
        out: &mut Vec<Action>,
    ) -> Result<(), ReconcileError> {
        let (rollout, wanted, allowed, name): (&str, RolloutState, &[RolloutState], &str) =
            match &action {
                OperatorAction::Pause { rollout } => (
                    rollout,
                    RolloutState::Paused,
                    &[RolloutState::Running],
                    "pause",
                ),
                OperatorAction::Resume { rollout } => (
                    rollout,
                    RolloutState::Running,
                    &[RolloutState::Paused, RolloutState::Halted],
                    "resume",
                ),
                OperatorAction::Cancel { rollout } => (
                    rollout,
                    RolloutState::Cancelled,
                    &[
                        RolloutState::Running,
                        RolloutState::Paused,
                        RolloutState::Halted,
                        RolloutState::RollingBack,
                    ],
                    "cancel",
                ),
                OperatorAction::ClearQuarantine { host, closure } => {
                    let rec = self
                        .state
                        .hosts
                        .get_mut(host)
                        .ok_or_else(|| OperatorError::UnknownHost { host: host.clone() })?;
                    let before = rec.failed_closures.len();
                    rec.failed_closures.retain(|f| &f.closure != closure);
                    if rec.failed_closures.len() == before {
                        return Err(OperatorError::NotQuarantined {
                            host: host.clone(),
                            closure: closure.clone(),
                        }
                        .into());
                    }
                    return Ok(());
                }
            };
        let r = self
            .state
            .rollouts
            .iter_mut()
            .find(|r| r.id == rollout)
            .ok_or_else(|| OperatorError::UnknownRollout {
                rollout: rollout.to_owned(),
            })?;
        if !allowed.contains(&r.state) {
            return Err(OperatorError::NotApplicable {
                rollout: rollout.to_owned(),
                state: r.state,
                action: name,
            }
            .into());
        }
        if wanted == RolloutState::Running {
            r.last_progress_at = at;
            r.outcome = None;
        }
        set_state(r, wanted, at, format!("operator: {name}"), out);
        Ok(())
    }

    // ---- ticks -------------------------------------------------------------------------

    fn tick(&mut self, now: u64, out: &mut Vec<Action>) -> Result<(), ReconcileError> {
        self.mark_soaked(now, out);
        for i in 0..self.state.rollouts.len() {
            match self.state.rollouts[i].state {
                RolloutState::Running => self.plan(i, now, out)?,
                RolloutState::Converged => self.catch_up(i, now, out)?,
                _ => {}
            }
        }
        self.state.last_tick = Some(now);
        Ok(())
    }

    /// The control plane's part of soaking: a host healthy for its wave's soak time is
    /// soaked (converged, once its rollout has converged).
    fn mark_soaked(&mut self, now: u64, out: &mut Vec<Action>) {
        let Some(fleet) = &self.state.desired else {
            return;
        };
        for (name, h) in self.state.hosts.iter_mut() {
            if h.phase != HostPhase::Healthy {
                continue;
            }
            let Some(r) = h
                .rollout
                .as_ref()
                .and_then(|id| self.state.rollouts.iter_mut().find(|r| &r.id == id))
            else {
                continue;
            };
            let soak = fleet.channels.get(&r.channel).map_or(0, |c| {
                let wave = r.current_wave as usize;
                c.soak_seconds
                    .get(wave)
                    .or(c.soak_seconds.last())
                    .copied()
                    .unwrap_or(0)
            });
            if now.saturating_sub(h.phase_since) >= soak {
                let to = if r.state == RolloutState::Converged {
                    HostPhase::Converged
                } else {
                    HostPhase::Soaked
                };
                r.last_progress_at = now;
                set_phase(name, h, to, now, out);
            }
        }
    }

    /// The tick's snapshot: every host, every active rollout.
    fn snapshot(&self) -> Result<Snapshot, ReconcileError> {
        let hosts: Vec<types::Host> = self
            .state
            .hosts
            .iter()
            .map(|(name, h)| h.for_policies(name))
            .collect();
        let active = self
            .state
            .rollouts
            .iter()
            .filter(|r| r.state.is_active())
            .filter_map(RolloutRecord::for_policies)
            .collect();
        Ok(Snapshot::new(&hosts, active)?)
    }

    fn chain(&self, channel: &str) -> Option<Arc<PolicyChain>> {
        self.policies.get(channel).cloned()
    }

    /// Plans, gates and applies one tick of running rollout `i`.
    fn plan(&mut self, i: usize, now: u64, out: &mut Vec<Action>) -> Result<(), ReconcileError> {
        let snapshot = self.snapshot()?;
        let r = &self.state.rollouts[i];
        let id = r.id.clone();
        let Some(chain) = self.chain(&r.channel) else {
            return Ok(()); // a release never leaves a channel without its chain
        };
        let Some(wire) = r.for_policies() else {
            return Ok(());
        };
        let plan = match engine::plan(&chain.rollout, chain.waves, now, &wire, &snapshot) {
            Ok(e) => {
                out.push(Action::Receipt {
                    rollout: id.clone(),
                    receipt: e.receipt,
                });
                e.output
            }
            Err(error) => {
                out.push(Action::NoDecision { rollout: id, error });
                return Ok(());
            }
        };
        out.push(Action::Planned {
            rollout: id.clone(),
            wave: wire.current_wave,
            step: plan.step.clone(),
        });
        for text in &plan.notes {
            out.push(Action::Note {
                rollout: id.clone(),
                text: text.clone(),
            });
        }
        let dispatching = matches!(plan.step, Step::Hold(_) | Step::Promote(_));
        let candidates: Vec<u32> = plan.candidates.iter().map(|c| c.host).collect();
        let Some((admitted, refusals)) = self.gate(&chain, &id, now, candidates, &snapshot, out)
        else {
            return Ok(());
        };
        let r = &mut self.state.rollouts[i];
        r.last_refusals = refusals;
        let mut dispatched = 0;
        match plan.step {
            Step::Hold(why) => r.last_step = Some(format!("hold: {why}")),
            Step::Promote(wave) => {
                r.current_wave = wave;
                r.wave_started_at = now;
                r.last_progress_at = now;
                r.last_step = Some(format!("promote to wave {wave}"));
                let id = r.id.clone();
                for (name, h) in self.state.hosts.iter_mut() {
                    if h.rollout.as_deref() == Some(&id) && h.phase == HostPhase::Healthy {
                        set_phase(name, h, HostPhase::Soaked, now, out);
                    }
                }
            }
            Step::Halt(why) => self.stop(i, RolloutState::Halted, now, why, out),
            Step::RollbackAndHalt(why) => self.stop(i, RolloutState::RollingBack, now, why, out),
            Step::Converge => self.converge(i, now, out),
        }
        if dispatching {
            dispatched = self.dispatch(i, now, &admitted, &snapshot, out);
        }
        let stall = self.config.stall_after_seconds;
        let r = &mut self.state.rollouts[i];
        if dispatched > 0 {
            r.last_progress_at = now;
        } else if r.state == RolloutState::Running
            && now.saturating_sub(r.last_progress_at) >= stall
        {
            let mut why = format!(
                "no progress for {}s (stall limit {stall}s): {}",
                now - r.last_progress_at,
                r.last_step.as_deref().unwrap_or("no plan")
            );
            if !r.last_refusals.is_empty() {
                why.push_str(&format!("; refused: {}", r.last_refusals.join("; ")));
            }
            self.stop(i, RolloutState::Halted, now, why, out);
        }
        Ok(())
    }

    /// Chains `candidates` through the channel's gates. `None` if a gate gave no decision
    /// (nothing is dispatched then). Otherwise the admitted host-ids and the first few
    /// refusals, `host: reason`.
    fn gate(
        &self,
        chain: &PolicyChain,
        rollout: &str,
        now: u64,
        mut candidates: Vec<u32>,
        snapshot: &Snapshot,
        out: &mut Vec<Action>,
    ) -> Option<(Vec<u32>, Vec<String>)> {
        let mut named = Vec::new();
        for gate in &chain.gates {
            if candidates.is_empty() {
                break;
            }
            let verdict = match engine::admit(gate, now, &candidates, snapshot) {
                Ok(e) => {
                    out.push(Action::Receipt {
                        rollout: rollout.to_owned(),
                        receipt: e.receipt,
                    });
                    e.output
                }
                Err(error) => {
                    out.push(Action::NoDecision {
                        rollout: rollout.to_owned(),
                        error,
                    });
                    return None;
                }
            };
            let mut by_reason: BTreeMap<u32, Vec<String>> = BTreeMap::new();
            for r in &verdict.refused {
                let host = snapshot.name(r.host).unwrap_or("?").to_owned();
                if named.len() < NAMED_REFUSALS {
                    let why = verdict
                        .reasons
                        .get(r.reason as usize)
                        .map_or("", String::as_str);
                    named.push(format!("{host}: {why}"));
                }
                by_reason.entry(r.reason).or_default().push(host);
            }
            for (reason, hosts) in by_reason {
                out.push(Action::Refused {
                    rollout: rollout.to_owned(),
                    gate: gate.policy.name().to_owned(),
                    hosts,
                    reason: verdict
                        .reasons
                        .get(reason as usize)
                        .cloned()
                        .unwrap_or_default(),
                });
            }
            candidates = verdict.admitted;
        }
        Some((candidates, named))
    }

    /// Dispatches the admitted hosts for rollout `i`; returns how many.
    fn dispatch(
        &mut self,
        i: usize,
        now: u64,
        admitted: &[u32],
        snapshot: &Snapshot,
        out: &mut Vec<Action>,
    ) -> usize {
        let r = &self.state.rollouts[i];
        let (id, channel) = (r.id.clone(), r.channel.clone());
        let window = self
            .state
            .desired
            .as_ref()
            .and_then(|f| f.channels.get(&channel))
            .map_or(0, |c| c.confirm_window_seconds);
        let mut count = 0;
        for &host in admitted {
            let Some(name) = snapshot.name(host) else {
                continue;
            };
            let Some(h) = self.state.hosts.get_mut(name) else {
                continue;
            };
            // Policies choose; the reconciler still never dispatches a host of another
            // channel, one without a target, or one already in flight.
            let Some(closure) = h.target.clone() else {
                continue;
            };
            if h.channel != channel || in_flight(h.phase) {
                continue;
            }
            set_phase(name, h, HostPhase::Dispatched, now, out);
            h.rollout = Some(id.clone());
            let confirm_deadline = now.saturating_add(window);
            h.dispatch = Some(Dispatch {
                closure: closure.clone(),
                rollout: id.clone(),
                at: now,
                confirm_deadline,
            });
            out.push(Action::Dispatch {
                host: name.to_owned(),
                closure,
                rollout: id.clone(),
                confirm_deadline,
            });
            count += 1;
        }
        count
    }

    /// Halts rollout `i` (or starts rolling it back).
    fn stop(&mut self, i: usize, to: RolloutState, now: u64, why: String, out: &mut Vec<Action>) {
        let id = self.state.rollouts[i].id.clone();
        let mut pending = std::collections::BTreeSet::new();
        if to == RolloutState::RollingBack {
            for (name, h) in &self.state.hosts {
                let Some(d) = &h.dispatch else { continue };
                let rolls_back = matches!(
                    h.phase,
                    HostPhase::Dispatched
                        | HostPhase::Activating
                        | HostPhase::ConfirmWindow
                        | HostPhase::Healthy
                        | HostPhase::Soaked
                        | HostPhase::Failed
                );
                if d.rollout == id && rolls_back {
                    pending.insert(name.clone());
                    out.push(Action::Rollback {
                        host: name.clone(),
                        closure: d.closure.clone(),
                        rollout: id.clone(),
                    });
                }
            }
        }
        let skipped = self.not_on_target(&self.state.rollouts[i].channel);
        let r = &mut self.state.rollouts[i];
        let to = if to == RolloutState::RollingBack && pending.is_empty() {
            RolloutState::Halted
        } else {
            to
        };
        r.rollback_pending = pending;
        r.outcome = Some(Outcome {
            state: to,
            at: now,
            reason: why.clone(),
            skipped,
        });
        set_state(r, to, now, why, out);
    }

    /// Converges rollout `i`: its confirmed hosts are converged; hosts that did not reach
    /// the target are named in the outcome.
    fn converge(&mut self, i: usize, now: u64, out: &mut Vec<Action>) {
        let id = self.state.rollouts[i].id.clone();
        for (name, h) in self.state.hosts.iter_mut() {
            if h.rollout.as_deref() == Some(&id)
                && h.on_target()
                && matches!(h.phase, HostPhase::Healthy | HostPhase::Soaked)
            {
                set_phase(name, h, HostPhase::Converged, now, out);
            }
        }
        let skipped = self.not_on_target(&self.state.rollouts[i].channel);
        let mut why = "every wave done".to_owned();
        if !skipped.is_empty() {
            why.push_str(&format!(
                "; {} host(s) skipped, not on the target: {}",
                skipped.len(),
                skipped.join(", ")
            ));
        }
        let r = &mut self.state.rollouts[i];
        r.last_progress_at = now;
        r.outcome = Some(Outcome {
            state: RolloutState::Converged,
            at: now,
            reason: why.clone(),
            skipped,
        });
        set_state(r, RolloutState::Converged, now, why, out);
    }

    /// Hosts of `channel` with a target they do not run.
    fn not_on_target(&self, channel: &str) -> Vec<String> {
        self.state
            .hosts
            .iter()
            .filter(|(_, h)| h.channel == channel && h.target.is_some() && !h.on_target())
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// A converged rollout's skipped hosts that checked in since: dispatched as a catch-up,
    /// under the channel's gates and budgets.
    fn catch_up(
        &mut self,
        i: usize,
        now: u64,
        out: &mut Vec<Action>,
    ) -> Result<(), ReconcileError> {
        let r = &self.state.rollouts[i];
        let Some(outcome) = &r.outcome else {
            return Ok(());
        };
        if outcome.skipped.is_empty() {
            return Ok(());
        }
        let (id, since) = (r.id.clone(), outcome.at);
        let back: Vec<&String> = outcome
            .skipped
            .iter()
            .filter(|name| {
                self.state.hosts.get(*name).is_some_and(|h| {
                    h.target.is_some()
                        && !h.on_target()
                        && h.last_seen.is_some_and(|seen| seen >= since)
                        && !in_flight(h.phase)
                        // A catch-up that failed is not retried by this rollout.
                        && !(failed(h.phase) && h.rollout.as_deref() == Some(&id))
                })
            })
            .collect();
        if back.is_empty() {
            self.refresh_skipped(i);
            return Ok(());
        }
        let snapshot = self.snapshot()?;
        let candidates: Vec<u32> = back.iter().filter_map(|n| snapshot.position(n)).collect();
        let Some(chain) = self.chain(&self.state.rollouts[i].channel) else {
            return Ok(());
        };
        out.push(Action::Note {
            rollout: id.clone(),
            text: format!(
                "catch-up: {} skipped host(s) checked in again",
                candidates.len()
            ),
        });
        if let Some((admitted, _)) = self.gate(&chain, &id, now, candidates, &snapshot, out) {
            self.dispatch(i, now, &admitted, &snapshot, out);
        }
        self.refresh_skipped(i);
        Ok(())
    }

    /// Drops the hosts that reached the target from a converged rollout's skipped list.
    fn refresh_skipped(&mut self, i: usize) {
        let hosts = &self.state.hosts;
        if let Some(outcome) = &mut self.state.rollouts[i].outcome {
            outcome.skipped.retain(|n| {
                hosts
                    .get(n)
                    .is_some_and(|h| h.target.is_some() && !h.on_target())
            });
        }
    }
}

/// A host in flight: dispatched, activating, or in its confirm window.
fn in_flight(phase: HostPhase) -> bool {
    matches!(
        phase,
        HostPhase::Dispatched | HostPhase::Activating | HostPhase::ConfirmWindow
    )
}

/// A host whose dispatch failed (rolled back or not).
fn failed(phase: HostPhase) -> bool {
    matches!(phase, HostPhase::Failed | HostPhase::Reverted)
}

fn set_phase(name: &str, h: &mut HostRecord, to: HostPhase, now: u64, out: &mut Vec<Action>) {
    if h.phase != to {
        out.push(Action::Host {
            host: name.to_owned(),
            from: h.phase,
            to,
        });
    }
    h.phase = to;
    h.phase_since = now;
}

fn set_state(
    r: &mut RolloutRecord,
    to: RolloutState,
    now: u64,
    reason: String,
    out: &mut Vec<Action>,
) {
    if r.state == to {
        return;
    }
    out.push(Action::Rollout {
        rollout: r.id.clone(),
        from: Some(r.state),
        to,
        reason,
    });
    r.state = to;
    r.state_since = now;
}
