//! The attestation-quarantine policy as a pure function of the standing and the history.
//!
//! With `b` the trailing run of bad outcomes (drift or invalid) and `g` the trailing run
//! of good ones in the history (sorted by time):
//! - an expelled host stays expelled (only re-enrollment, outside policy, brings it back);
//! - `b ≥ expelAfter` → expel; `b ≥ quarantineAfter` → quarantine;
//! - a quarantined or warned host needs `g ≥ recoverAfter` to become trusted again, and
//!   keeps its standing until then (a quarantined host with new bad outcomes below the
//!   threshold stays quarantined);
//! - a trusted host with `1 ≤ b` becomes warn;
//! - an empty history keeps the standing.
#![forbid(unsafe_code)]

use convoy_policy_sdk::{
    AttestationInput, AttestationOutcome, AttestationPolicy, AttestationRecord, AttestationVerdict,
    ConfigError, Policy, TrustLevel,
};
use serde::Deserialize;

/// Configuration of the attestation-quarantine policy.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// Consecutive bad outcomes that quarantine a host (N ≥ 1, default 3).
    #[serde(default = "default_quarantine_after")]
    pub quarantine_after: u32,
    /// Consecutive bad outcomes that expel a host (M > N, default 10).
    #[serde(default = "default_expel_after")]
    pub expel_after: u32,
    /// Consecutive good outcomes that bring a warned or quarantined host back (K ≥ 1,
    /// default 3).
    #[serde(default = "default_recover_after")]
    pub recover_after: u32,
}

fn default_quarantine_after() -> u32 {
    3
}

fn default_expel_after() -> u32 {
    10
}

fn default_recover_after() -> u32 {
    3
}

/// The attestation-quarantine policy.
pub struct AttestationQuarantine;

impl Policy for AttestationQuarantine {
    type Config = Config;

    fn check(cfg: &Config) -> Result<(), ConfigError> {
        if cfg.quarantine_after == 0 {
            return Err(ConfigError::invalid("quarantineAfter must be at least 1"));
        }
        if cfg.expel_after <= cfg.quarantine_after {
            return Err(ConfigError::invalid(format!(
                "expelAfter ({}) must be greater than quarantineAfter ({})",
                cfg.expel_after, cfg.quarantine_after
            )));
        }
        if cfg.recover_after == 0 {
            return Err(ConfigError::invalid("recoverAfter must be at least 1"));
        }
        Ok(())
    }
}

impl AttestationPolicy for AttestationQuarantine {
    fn assess(cfg: &Config, input: &AttestationInput) -> AttestationVerdict {
        let verdict = |standing, reason: String| AttestationVerdict { standing, reason };
        if input.standing == TrustLevel::Expel {
            return verdict(
                TrustLevel::Expel,
                "expelled; only re-enrollment brings the host back".into(),
            );
        }
        let mut history: Vec<&AttestationRecord> = input.history.iter().collect();
        history.sort_by_key(|r| r.at);
        let Some(last) = history.last() else {
            return verdict(
                input.standing,
                "no attestation outcome yet; standing kept".into(),
            );
        };
        let is_bad = |r: &&&AttestationRecord| r.outcome != AttestationOutcome::Good;
        let bad = history.iter().rev().take_while(is_bad).count() as u64;
        let good = history.iter().rev().take_while(|r| !is_bad(r)).count() as u64;
        let last_bad = || format!("{:?}: {}", last.outcome, last.detail);

        if bad >= u64::from(cfg.expel_after) {
            return verdict(
                TrustLevel::Expel,
                format!(
                    "{bad} consecutive bad outcomes (expel at {}); last {}",
                    cfg.expel_after,
                    last_bad()
                ),
            );
        }
        if bad >= u64::from(cfg.quarantine_after) {
            return verdict(
                TrustLevel::Quarantine,
                format!(
                    "{bad} consecutive bad outcomes (quarantine at {}); last {}",
                    cfg.quarantine_after,
                    last_bad()
                ),
            );
        }
        match input.standing {
            TrustLevel::Quarantine | TrustLevel::Warn if good >= u64::from(cfg.recover_after) => {
                verdict(
                    TrustLevel::Trusted,
                    format!(
                        "recovered from {}: {good} consecutive good outcomes (needs {})",
                        input.standing.as_str(),
                        cfg.recover_after
                    ),
                )
            }
            TrustLevel::Quarantine | TrustLevel::Warn => verdict(
                input.standing,
                format!(
                    "{}: {good} of {} consecutive good outcomes needed to recover",
                    input.standing.as_str(),
                    cfg.recover_after
                ),
            ),
            _ if bad > 0 => verdict(
                TrustLevel::Warn,
                format!(
                    "{bad} consecutive bad outcome(s) (quarantine at {}); last {}",
                    cfg.quarantine_after,
                    last_bad()
                ),
            ),
            _ => verdict(TrustLevel::Trusted, "latest outcome good".into()),
        }
    }
}
