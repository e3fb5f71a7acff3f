//! How far a host has come in a rollout, decided once for every built-in.
//!
//! The waves policy's **done** and the edge gates' **converged** are one definition,
//! [`HostRef::progress`]: a host is *settled* ([`Progress::is_settled`]) when it is done
//! (on its target closure and soaked) or skipped (no target closure, quarantined, or
//! offline past the skip threshold). So a host the waves policy passed over as offline
//! does not block a downstream channel or host forever either.
//!
//! **Time boundaries.** Every duration threshold of every built-in (soak, health-gate
//! timeout, offline skip, health grace period, result age) is *reached* when the elapsed
//! time is **at least** the threshold ([`reached`]): a 900 s timeout fires at exactly
//! 900 s, a host silent for exactly 60 minutes is offline after 60 minutes.
#![forbid(unsafe_code)]

use std::fmt::{self, Display};

use crate::snapshot::HostRef;
use crate::types::{HostPhase, Timestamp};

/// The offline-skip threshold every built-in uses unless configured
/// (`skipOfflineAfterMinutes`): the waves policy and the edge gates agree on it.
pub const DEFAULT_SKIP_OFFLINE_AFTER_MINUTES: u32 = 60;

/// Whether a threshold of `threshold` seconds is reached after `elapsed` seconds: the
/// one convention of every time boundary (`elapsed ≥ threshold`).
pub fn reached(elapsed: u64, threshold: u64) -> bool {
    elapsed >= threshold
}

/// `m` minutes in seconds.
pub fn minutes(m: u32) -> u64 {
    u64::from(m) * 60
}

/// The thresholds a host's progress is judged by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// How long a `healthy` host soaks before it is done. `None` where the soak time is
    /// not known (an edge gate): only a host already `soaked` or `converged` is done.
    pub soak: Option<u64>,
    /// A host silent this many seconds is skipped as offline.
    pub offline_after: u64,
    /// When the silence of a host that never checked in started (the waves policy: the
    /// wave's start). `None`: it counts as silent since time 0, so it is offline.
    pub never_seen_since: Option<Timestamp>,
}

impl Thresholds {
    /// An edge gate's thresholds: soak unknown, offline after `skip_offline_after_minutes`.
    pub fn for_gate(skip_offline_after_minutes: u32) -> Self {
        Thresholds {
            soak: None,
            offline_after: minutes(skip_offline_after_minutes),
            never_seen_since: None,
        }
    }
}

/// Where a host stands against its target closure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// On the target closure and soaked (`soaked`, `converged`, `idle` — it already ran
    /// it — or `healthy` for at least the soak time).
    Done,
    /// Passed over: it cannot or will not be updated now.
    Skipped(Skip),
    /// Failed or reverted (the waves policy counts it against the wave).
    Failed(HostPhase),
    /// Healthy on the target closure, still soaking.
    Soaking {
        /// Seconds in `healthy` so far.
        soaked_for: u64,
        /// The soak time, if known.
        soak: Option<u64>,
    },
    /// Dispatched and not yet confirmed.
    InFlight(HostPhase),
    /// On the target closure, neither confirmed nor in flight: waiting for the agent.
    OnTarget(HostPhase),
    /// Not on the target closure and not in flight: to be dispatched.
    Outdated,
}

/// Why a host is passed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// The artifact assigns it no closure: it is not part of the rollout.
    NoTarget,
    /// Attestation quarantined it.
    Quarantined,
    /// Silent for at least the offline threshold.
    Offline {
        /// Seconds of silence.
        silent: u64,
        /// Its last check-in, if any.
        last_seen: Option<Timestamp>,
        /// The threshold, in seconds.
        after: u64,
    },
}

impl Progress {
    /// Done or skipped: nothing is left to wait for on this host. This is what "done"
    /// means for a wave and "converged" for an edge gate.
    pub fn is_settled(&self) -> bool {
        matches!(self, Progress::Done | Progress::Skipped(_))
    }
}

impl HostRef<'_> {
    /// The host's progress at `now` under `t` (see the module documentation).
    pub fn progress(&self, now: Timestamp, t: &Thresholds) -> Progress {
        if self.target_closure.is_none() {
            return Progress::Skipped(Skip::NoTarget);
        }
        if self.phase == HostPhase::Quarantined {
            return Progress::Skipped(Skip::Quarantined);
        }
        if self.phase.is_failure() {
            return Progress::Failed(self.phase);
        }
        let on_target = self.on_target();
        if on_target {
            match self.phase {
                HostPhase::Soaked | HostPhase::Converged | HostPhase::Idle => {
                    return Progress::Done;
                }
                HostPhase::Healthy => {
                    let soaked_for = now.saturating_sub(self.phase_since);
                    return match t.soak {
                        Some(soak) if reached(soaked_for, soak) => Progress::Done,
                        soak => Progress::Soaking { soaked_for, soak },
                    };
                }
                _ => {}
            }
        }
        let silent = match self.last_seen {
            Some(seen) => now.saturating_sub(seen),
            None => now.saturating_sub(t.never_seen_since.unwrap_or(0)),
        };
        if reached(silent, t.offline_after) {
            return Progress::Skipped(Skip::Offline {
                silent,
                last_seen: self.last_seen,
                after: t.offline_after,
            });
        }
        if self.phase.is_in_flight() {
            Progress::InFlight(self.phase)
        } else if on_target {
            Progress::OnTarget(self.phase)
        } else {
            Progress::Outdated
        }
    }
}

impl Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Skip::NoTarget => f.write_str("no target closure"),
            Skip::Quarantined => f.write_str("quarantined"),
            Skip::Offline {
                silent,
                last_seen,
                after,
            } => {
                write!(f, "offline for {silent}s (")?;
                match last_seen {
                    Some(seen) => write!(f, "last seen {seen}")?,
                    None => f.write_str("never seen")?,
                }
                write!(f, "), skipped after {after}s")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Host, Snapshot};

    const NOW: u64 = 1_700_000_000;

    fn host(on_target: bool, phase: HostPhase, since: u64, seen: Option<u64>) -> Host {
        Host {
            name: "h".into(),
            channel: "c".into(),
            tags: vec![],
            current_closure: Some(if on_target { "/new" } else { "/old" }.into()),
            target_closure: Some("/new".into()),
            phase,
            phase_since: since,
            last_seen: seen,
            rollout: None,
        }
    }

    fn progress(h: Host, t: &Thresholds) -> Progress {
        let snapshot = Snapshot::new(vec![h], vec![]);
        let h = snapshot.hosts().next().expect("one host");
        h.progress(NOW, t)
    }

    const WAVE: Thresholds = Thresholds {
        soak: Some(600),
        offline_after: 3600,
        never_seen_since: Some(NOW - 100),
    };

    #[test]
    fn every_boundary_is_reached_at_exactly_the_threshold() {
        assert!(!reached(899, 900));
        assert!(reached(900, 900));
        assert!(reached(901, 900));
        // Soak: done at exactly 600 s, soaking one second before.
        let healthy = |since| host(true, HostPhase::Healthy, since, Some(NOW));
        assert_eq!(progress(healthy(NOW - 600), &WAVE), Progress::Done);
        assert_eq!(
            progress(healthy(NOW - 599), &WAVE),
            Progress::Soaking {
                soaked_for: 599,
                soak: Some(600)
            }
        );
        // Offline: skipped at exactly 3600 s of silence, outdated one second before.
        let idle = |seen| host(false, HostPhase::Idle, 0, Some(seen));
        assert!(matches!(
            progress(idle(NOW - 3600), &WAVE),
            Progress::Skipped(Skip::Offline { silent: 3600, .. })
        ));
        assert_eq!(progress(idle(NOW - 3599), &WAVE), Progress::Outdated);
    }

    #[test]
    fn gates_and_waves_share_done_and_skipped() {
        let gate = Thresholds::for_gate(DEFAULT_SKIP_OFFLINE_AFTER_MINUTES);
        // A healthy host is done for a wave once soaked; a gate, which does not know the
        // soak time, waits for the control plane to mark it soaked.
        let healthy = host(true, HostPhase::Healthy, NOW - 7200, Some(NOW));
        assert_eq!(progress(healthy.clone(), &WAVE), Progress::Done);
        assert!(!progress(healthy, &gate).is_settled());
        // An offline host is settled for both: skipped.
        let offline = host(false, HostPhase::Idle, 0, Some(NOW - 3600));
        assert!(progress(offline.clone(), &WAVE).is_settled());
        assert!(progress(offline, &gate).is_settled());
        // A host that never checked in: silent since the wave started for a wave, since
        // forever for a gate.
        let never = host(false, HostPhase::Idle, 0, None);
        assert_eq!(progress(never.clone(), &WAVE), Progress::Outdated);
        assert!(progress(never, &gate).is_settled());
        // A failed host is never settled, even when silent.
        let failed = host(true, HostPhase::Failed, 0, Some(0));
        assert_eq!(progress(failed, &gate), Progress::Failed(HostPhase::Failed));
        // Quarantined and target-less hosts are skipped.
        let quarantined = host(false, HostPhase::Quarantined, 0, Some(NOW));
        assert_eq!(
            progress(quarantined, &gate),
            Progress::Skipped(Skip::Quarantined)
        );
        let mut targetless = host(false, HostPhase::Idle, 0, Some(NOW));
        targetless.target_closure = None;
        assert_eq!(
            progress(targetless, &WAVE),
            Progress::Skipped(Skip::NoTarget)
        );
    }
}
