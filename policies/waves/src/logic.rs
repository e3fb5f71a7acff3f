//! The waves rollout policy as a pure function of its configuration and the snapshot.
//!
//! **Waves.** Each host of the rollout's channel belongs to the first wave whose selector
//! matches it. A host no selector matches is in no wave: this rollout never dispatches it
//! (the selectors say what the operator meant; mkFleet warns about such hosts, and the
//! converge notes name them).
//!
//! **A tick**, for the current wave `w` (hosts judged by the SDK's
//! [`HostRef::progress`], the definition the edge gates share; every time threshold is
//! reached at `elapsed ≥ threshold`):
//! 1. Failures: hosts of waves `0..=w` that failed or reverted, or that have been stuck in
//!    `Dispatched`/`Activating`/`ConfirmWindow` for at least `healthGate.timeoutMinutes`.
//!    More than `maxFailuresPerWave` in one wave → `Halt` or `RollbackAndHalt`
//!    (`onHealthFailure`). Tolerated failures are skipped and noted.
//! 2. Each host of wave `w`: without a target closure → not part of the rollout (noted);
//!    **done** when on its target closure and soaked (`Soaked`/`Converged`/`Idle`, or
//!    `Healthy` for at least the wave's `soakMinutes`); **skipped** (noted) when
//!    quarantined or **offline** — silent (since its last check-in, or since the wave
//!    started if it never checked in) for at least `skipOfflineAfterMinutes`; in flight
//!    or soaking → waited for; otherwise → a **candidate** to dispatch now.
//! 3. Anything to dispatch or wait for → `Hold` with the candidates. Else, if the wave
//!    has hosts to update and none of them was updated (every one skipped) → `Halt`:
//!    a wave of skipped hosts is not done. Else `Promote(w+1)`, or `Converge` after the
//!    last wave, with one note `not updated: <host>: <why>` per host of the channel the
//!    rollout leaves behind. A wave with no host to update is promoted at once (noted).
#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt::{self, Display, Write as _};

use convoy_policy_sdk::progress::{DEFAULT_SKIP_OFFLINE_AFTER_MINUTES, minutes, reached};
use convoy_policy_sdk::{
    Candidate, ConfigError, HostPhase, HostRef, Plan, Policy, Progress, RolloutInput,
    RolloutPolicy, RolloutState, Selector, Skip, Step, Thresholds,
};
use serde::Deserialize;

/// Configuration of the waves policy: the rollout policy of fleet.resolved.json, plus the
/// knobs of offline skipping and failure tolerance.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// The overall shape, checked against `waves`.
    #[serde(default)]
    pub strategy: Strategy,
    /// Waves in order. May be omitted for `all-at-once` (one wave of every host).
    #[serde(default)]
    pub waves: Vec<Wave>,
    /// What to do when hosts fail: `halt` (default) or `rollback-and-halt`.
    #[serde(default)]
    pub on_health_failure: OnHealthFailure,
    /// How long a host may sit in an in-flight phase before it counts as failed.
    #[serde(default)]
    pub health_gate: Option<HealthGate>,
    /// A host silent this long is skipped instead of blocking its wave (default 60).
    #[serde(default = "default_skip_offline")]
    pub skip_offline_after_minutes: u32,
    /// Failed hosts tolerated per wave before the rollout stops (default 0).
    #[serde(default)]
    pub max_failures_per_wave: u32,
}

fn default_skip_offline() -> u32 {
    DEFAULT_SKIP_OFFLINE_AFTER_MINUTES
}

/// The shape of a rollout.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// A first (small) wave, then the rest: at least two waves.
    Canary,
    /// Waves in order: at least one.
    #[default]
    Staged,
    /// Every host at once: exactly one wave (or none given: `{"all": true}`).
    AllAtOnce,
}

/// One wave.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Wave {
    /// Name used in notes and reasons (default `wave <index>`).
    #[serde(default)]
    pub name: Option<String>,
    /// The hosts of this wave.
    pub selector: Selector,
    /// How long every host must stay healthy before the next wave.
    #[serde(default)]
    pub soak_minutes: u32,
}

/// The reaction to failed hosts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnHealthFailure {
    /// Stop dispatching; hosts stay where they are.
    #[default]
    Halt,
    /// Stop dispatching and roll dispatched hosts back.
    RollbackAndHalt,
}

/// The rollout's health gate (fleet.resolved.json `healthGate`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HealthGate {
    /// Name of the channel's health policy (informational here).
    pub policy: String,
    /// A host still in flight this long after its dispatch counts as failed.
    pub timeout_minutes: u32,
}

/// Selectors nest at most this deep.
const MAX_SELECTOR_DEPTH: usize = 32;

/// The waves rollout policy.
pub struct Waves;

impl Config {
    /// The waves to run (the implicit single wave of a bare `all-at-once`): the
    /// configuration's own, borrowed, unless that one is implied.
    pub fn effective_waves(&self) -> Cow<'_, [Wave]> {
        if self.waves.is_empty() && self.strategy == Strategy::AllAtOnce {
            return Cow::Owned(vec![Wave {
                name: Some("all".into()),
                selector: Selector::all(),
                soak_minutes: 0,
            }]);
        }
        Cow::Borrowed(&self.waves)
    }
}

impl Policy for Waves {
    type Config = Config;

    fn check(cfg: &Config) -> Result<(), ConfigError> {
        let waves = cfg.effective_waves();
        match (cfg.strategy, waves.len()) {
            (_, 0) => return Err(ConfigError::invalid("waves: at least one wave is needed")),
            (Strategy::Canary, 1) => {
                return Err(ConfigError::invalid(
                    "a canary rollout needs at least two waves (the canary, then the rest)",
                ));
            }
            (Strategy::AllAtOnce, n) if n > 1 => {
                return Err(ConfigError::invalid(format!(
                    "an all-at-once rollout has exactly one wave, not {n}"
                )));
            }
            _ => {}
        }
        let mut names = BTreeSet::new();
        for (i, w) in waves.iter().enumerate() {
            let name = wave_name(w, i);
            if name.is_empty() || !names.insert(name.clone()) {
                return Err(ConfigError::invalid(format!(
                    "waves[{i}]: wave name {name:?} is empty or repeated"
                )));
            }
            if w.selector.depth() > MAX_SELECTOR_DEPTH {
                return Err(ConfigError::invalid(format!(
                    "waves[{i}]: selector nests deeper than {MAX_SELECTOR_DEPTH}"
                )));
            }
        }
        if cfg.skip_offline_after_minutes == 0 {
            return Err(ConfigError::invalid(
                "skipOfflineAfterMinutes must be at least 1",
            ));
        }
        if let Some(gate) = &cfg.health_gate
            && gate.timeout_minutes == 0
        {
            return Err(ConfigError::invalid(
                "healthGate.timeoutMinutes must be at least 1",
            ));
        }
        Ok(())
    }
}

fn wave_name(w: &Wave, index: usize) -> String {
    w.name.clone().unwrap_or_else(|| format!("wave {index}"))
}

/// What one host of the current wave means for this tick. Reasons are words only when
/// they reach the output: a wave of 10,000 in-flight hosts names five of them.
enum Status<'h> {
    /// Counted as failed but tolerated (`maxFailuresPerWave`): passed over, not updated.
    Tolerated(Failure<'h>),
    /// Everything else, as the SDK judges it for every built-in.
    Progress(Progress),
}

/// What the wave waits for on a host.
enum Wait {
    Soaking { soaked_for: u64, soak: u64 },
    InFlight(HostPhase),
    OnTarget(HostPhase),
}

/// A host that counts as failed.
#[derive(Clone, Copy)]
enum Failure<'h> {
    Failed {
        host: &'h str,
        phase: HostPhase,
    },
    Stuck {
        host: &'h str,
        phase: HostPhase,
        stuck_for: u64,
        limit: u64,
    },
}

/// A host the wave waits for, with why.
struct Waiting<'h> {
    host: &'h str,
    why: Wait,
}

/// A host of the wave that was passed over, with why.
struct Passed<'h> {
    host: &'h str,
    why: String,
}

impl Display for Wait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Wait::Soaking { soaked_for, soak } => write!(f, "soaking ({soaked_for}s of {soak}s)"),
            Wait::InFlight(phase) => write!(f, "{phase:?}"),
            Wait::OnTarget(phase) => write!(f, "{phase:?} on the target closure"),
        }
    }
}

impl Display for Failure<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Failed { host, phase } => write!(f, "{host} is {phase:?}"),
            Failure::Stuck {
                host,
                phase,
                stuck_for,
                limit,
            } => write!(
                f,
                "{host} stuck in {phase:?} for {stuck_for}s (health gate timeout {limit}s)"
            ),
        }
    }
}

impl Display for Waiting<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.host, self.why)
    }
}

impl Display for Passed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.host, self.why)
    }
}

/// The wave `h` belongs to: the first whose selector matches it. `None`: no wave selects
/// it, so this rollout never dispatches it (the operator's selectors are what they meant;
/// mkFleet warns about such hosts).
fn wave_of(waves: &[Wave], h: &HostRef) -> Option<usize> {
    waves.iter().position(|w| w.selector.matches(h))
}

impl RolloutPolicy for Waves {
    fn plan(cfg: &Config, input: &RolloutInput) -> Plan {
        let rollout = &input.rollout;
        if rollout.state != RolloutState::Running {
            return stop(Step::Hold(format!(
                "rollout {} is {:?}; nothing to plan",
                rollout.id, rollout.state
            )));
        }
        let waves = cfg.effective_waves();
        let current = rollout.current_wave as usize;
        let Some(wave) = waves.get(current) else {
            return stop(Step::Halt(format!(
                "current wave {current} does not exist: the policy has {} wave(s)",
                waves.len()
            )));
        };
        let name = wave_name(wave, current);

        // One pass over the channel's hosts (by name): each host's wave, the failures of
        // the current and earlier waves, and what each host of the current wave means for
        // this tick. Of the failures and the hosts waited for, only what a reason names is
        // kept: the first few, and how many.
        let stuck_after = cfg.health_gate.as_ref().map(|g| minutes(g.timeout_minutes));
        let thresholds = Thresholds {
            soak: Some(minutes(wave.soak_minutes)),
            offline_after: minutes(cfg.skip_offline_after_minutes),
            never_seen_since: Some(rollout.wave_started_at),
        };
        // Every candidate of the wave has the same reason: built once, not per host.
        let candidate_reason = format!("wave {current} ({name}): not on the target closure");
        let mut failed: Vec<Listed<Failure>> = (0..=current).map(|_| Listed::new()).collect();
        let (mut members, mut targetless, mut done) = (0usize, 0usize, 0usize);
        let (mut waiting, mut passed) = (Listed::new(), Listed::new());
        let (mut candidates, mut notes) = (Vec::new(), Vec::new());
        for h in input.hosts() {
            let Some(w) = wave_of(&waves, &h) else {
                continue; // in no wave: not part of this rollout
            };
            let Some(failed) = failed.get_mut(w) else {
                continue; // a later wave
            };
            let failure = failure(&h, input.now, stuck_after);
            if let Some(failure) = failure {
                failed.push(failure);
            }
            if w != current {
                continue;
            }
            members += 1;
            let status = match (failure, h.progress(input.now, &thresholds)) {
                (Some(failure), _) => Status::Tolerated(failure),
                // `failure` sees every failed host with a target: kept total all the same.
                (None, Progress::Failed(phase)) => Status::Tolerated(Failure::Failed {
                    host: h.name,
                    phase,
                }),
                (None, progress) => Status::Progress(progress),
            };
            if let Status::Progress(Progress::Skipped(Skip::NoTarget)) = status {
                // Not part of the rollout: noted, but it neither counts nor blocks.
                targetless += 1;
                notes.push(format!("skipped {}: {}", h.name, Skip::NoTarget));
                continue;
            }
            let mut pass = |why: String| {
                notes.push(format!("skipped {}: {why}", h.name));
                passed.push(Passed { host: h.name, why });
            };
            match status {
                Status::Tolerated(failure) => pass(format!("{failure} (tolerated)")),
                Status::Progress(Progress::Skipped(skip)) => pass(skip.to_string()),
                Status::Progress(Progress::Done) => done += 1,
                Status::Progress(Progress::Soaking { soaked_for, soak }) => waiting.push(Waiting {
                    host: h.name,
                    why: Wait::Soaking {
                        soaked_for,
                        soak: soak.unwrap_or_default(),
                    },
                }),
                Status::Progress(Progress::InFlight(phase)) => waiting.push(Waiting {
                    host: h.name,
                    why: Wait::InFlight(phase),
                }),
                Status::Progress(Progress::OnTarget(phase)) => waiting.push(Waiting {
                    host: h.name,
                    why: Wait::OnTarget(phase),
                }),
                Status::Progress(Progress::Outdated) => candidates.push(Candidate {
                    host: h.id,
                    reason: candidate_reason.clone(),
                }),
                Status::Progress(Progress::Failed(_)) => {} // mapped to Tolerated above
            }
        }

        // 1. Failures in the current and earlier waves stop the rollout.
        for (w, (failed, wave)) in failed.iter().zip(waves.iter()).enumerate() {
            if failed.len() > cfg.max_failures_per_wave as usize {
                let why = format!(
                    "wave {w} ({}): {} host(s) failed, {} tolerated: {}",
                    wave_name(wave, w),
                    failed.len(),
                    cfg.max_failures_per_wave,
                    failed.summarise("; ")
                );
                return stop(match cfg.on_health_failure {
                    OnHealthFailure::Halt => Step::Halt(why),
                    OnHealthFailure::RollbackAndHalt => Step::RollbackAndHalt(why),
                });
            }
        }

        // 2. Otherwise the current wave: hold, promote or converge.
        if !candidates.is_empty() || !waiting.is_empty() {
            let mut why = format!("wave {current} ({name}): {done} of {members} host(s) done");
            if !candidates.is_empty() {
                why.push_str(&format!(", {} to dispatch", candidates.len()));
            }
            if !waiting.is_empty() {
                why.push_str(&format!(", waiting for {}", waiting.summarise(", ")));
            }
            return Plan {
                step: Step::Hold(why),
                candidates,
                notes,
            };
        }
        // 3. A wave with hosts to update of which none was updated is not done: every one
        //    was skipped (offline, quarantined, a tolerated failure). Converging or
        //    promoting would hide them; the rollout halts and says why.
        if done == 0 && !passed.is_empty() {
            return Plan {
                step: Step::Halt(format!(
                    "wave {current} ({name}): no host was updated; all {} skipped: {}",
                    passed.len(),
                    passed.summarise("; ")
                )),
                candidates,
                notes,
            };
        }
        if members == targetless {
            notes.push(format!("wave {current} ({name}) has no host to update"));
        } else {
            let mut note = format!(
                "wave {current} ({name}) done: {done} of {} host(s) soaked",
                members - targetless
            );
            if !passed.is_empty() {
                note.push_str(&format!(", {} skipped", passed.len()));
            }
            notes.push(note);
        }
        let step = if current + 1 < waves.len() {
            Step::Promote(rollout.current_wave + 1)
        } else {
            not_updated(&waves, input, &thresholds, &mut notes);
            Step::Converge
        };
        Plan {
            step,
            candidates,
            notes,
        }
    }
}

/// On convergence, names every host of the channel that this rollout leaves without its
/// target closure: one note `not updated: <host>: <why>` each (skipped offline or
/// quarantined, a tolerated failure, in no wave), after a count. A converged rollout
/// never hides a host; the control plane catches the skipped ones up when they return.
fn not_updated(waves: &[Wave], input: &RolloutInput, t: &Thresholds, notes: &mut Vec<String>) {
    let mut left = Vec::new();
    for h in input.hosts() {
        let why = match (wave_of(waves, &h), h.progress(input.now, t)) {
            (_, Progress::Skipped(Skip::NoTarget)) => continue,
            (None, _) => "in no wave of the rollout".to_owned(),
            (Some(_), Progress::Done | Progress::Soaking { .. }) => continue,
            (Some(_), Progress::Skipped(skip)) => skip.to_string(),
            (Some(_), Progress::Failed(phase)) => format!("{} (tolerated)", phase.as_str()),
            (Some(_), Progress::InFlight(phase) | Progress::OnTarget(phase)) => {
                format!("{}, not confirmed", phase.as_str())
            }
            (Some(_), Progress::Outdated) => "not on its target closure".to_owned(),
        };
        left.push(format!("not updated: {}: {why}", h.name));
    }
    if !left.is_empty() {
        notes.push(format!("converged with {} host(s) not updated", left.len()));
        notes.append(&mut left);
    }
}

/// A plan that only takes `step`: no candidate, no note.
fn stop(step: Step) -> Plan {
    Plan {
        step,
        candidates: Vec::new(),
        notes: Vec::new(),
    }
}

/// What a reason says about a list: the first few items, and how many there are.
struct Listed<T> {
    first: Vec<T>,
    len: usize,
}

impl<T: Display> Listed<T> {
    /// A reason names at most this many items, then how many more: it stays readable (and
    /// small) on a 10,000-host fleet.
    const NAMED: usize = 5;

    fn new() -> Self {
        Listed {
            first: Vec::new(),
            len: 0,
        }
    }

    fn push(&mut self, item: T) {
        if self.first.len() < Self::NAMED {
            self.first.push(item);
        }
        self.len += 1;
    }

    fn len(&self) -> usize {
        self.len
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The first items joined by `sep`, then `and N more` if there are more.
    fn summarise(&self, sep: &str) -> String {
        let mut out = String::new();
        for (i, item) in self.first.iter().enumerate() {
            if i > 0 {
                out.push_str(sep);
            }
            // Writing into a String cannot fail.
            let _ = write!(out, "{item}");
        }
        if self.len > self.first.len() {
            let _ = write!(out, "{sep}and {} more", self.len - self.first.len());
        }
        out
    }
}

/// Why `h` counts as a failure now, if it does.
fn failure<'h>(h: &HostRef<'h>, now: u64, stuck_after: Option<u64>) -> Option<Failure<'h>> {
    // A host with no target closure is not part of the rollout: it cannot fail it.
    h.target_closure?;
    if h.phase.is_failure() {
        return Some(Failure::Failed {
            host: h.name,
            phase: h.phase,
        });
    }
    let stuck_for = now.saturating_sub(h.phase_since);
    match stuck_after {
        Some(limit) if h.phase.is_in_flight() && reached(stuck_for, limit) => {
            Some(Failure::Stuck {
                host: h.name,
                phase: h.phase,
                stuck_for,
                limit,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::Listed;

    #[test]
    fn a_summary_names_five_then_counts() {
        let mut items = Listed::new();
        assert_eq!(items.summarise(", "), "");
        for i in 0..5 {
            items.push(i);
        }
        assert_eq!(items.summarise(", "), "0, 1, 2, 3, 4");
        for i in 5..12 {
            items.push(i);
        }
        assert_eq!((items.len(), items.first.len()), (12, 5));
        assert_eq!(items.summarise("; "), "0; 1; 2; 3; 4; and 7 more");
    }
}
