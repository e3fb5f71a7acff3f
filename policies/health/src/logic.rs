//! The health policy as a pure function of its configuration, the time and the results.
//!
//! Only results taken at or after activation count (older ones judge the previous
//! generation). For each required probe, in configuration order (by name when `required`
//! is omitted and every probe that reported is required):
//! - no result yet, or the latest at least `maxResultAgeSeconds` old → **pending**;
//! - the trailing run of failures taken after the grace period (at or after
//!   `activated-at + graceSeconds`) reaches `consecutiveFailures` → **unhealthy**;
//! - the latest result passed → this probe is fine;
//! - otherwise (failing, below the threshold or within the grace period) → **pending**.
//!
//! The host is unhealthy if any probe is, else pending if any probe is, else healthy. The
//! reason names the first deciding probe. A host not activated yet is pending. Every time
//! boundary is reached at `elapsed ≥ threshold`, as in every built-in
//! ([`convoy_policy_sdk::progress::reached`]).
#![forbid(unsafe_code)]

use std::collections::BTreeSet;

use convoy_policy_sdk::progress::reached;
use convoy_policy_sdk::{
    ConfigError, HealthInput, HealthPolicy, HealthStatus, HealthVerdict, Policy, ProbeKind,
    ProbeResult,
};
use serde::Deserialize;

/// Configuration of the health policy.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// Names of the probes that must pass. Omitted (`null`): every probe that reported
    /// since activation is required (and at least one must have).
    #[serde(default)]
    pub required: Option<Vec<String>>,
    /// Consecutive failures (after the grace period) that make the host unhealthy (≥ 1,
    /// default 3).
    #[serde(default = "default_threshold")]
    pub consecutive_failures: u32,
    /// Seconds after activation during which failures do not count.
    #[serde(default)]
    pub grace_seconds: u64,
    /// A latest result at least this old is stale and counts as missing (`null`: never).
    #[serde(default)]
    pub max_result_age_seconds: Option<u64>,
}

fn default_threshold() -> u32 {
    3
}

/// The health policy.
pub struct Health;

impl Policy for Health {
    type Config = Config;

    fn check(cfg: &Config) -> Result<(), ConfigError> {
        let required = cfg.required.as_deref().unwrap_or_default();
        if cfg.required.is_some() && required.is_empty() {
            return Err(ConfigError::invalid(
                "required: name at least one probe (or omit it)",
            ));
        }
        let mut seen = BTreeSet::new();
        for (i, name) in required.iter().enumerate() {
            if name.is_empty() {
                return Err(ConfigError::invalid(format!(
                    "required[{i}]: empty probe name"
                )));
            }
            if !seen.insert(name) {
                return Err(ConfigError::invalid(format!(
                    "required[{i}]: probe {name} listed twice"
                )));
            }
        }
        if cfg.consecutive_failures == 0 {
            return Err(ConfigError::invalid(
                "consecutiveFailures must be at least 1",
            ));
        }
        if cfg.max_result_age_seconds == Some(0) {
            return Err(ConfigError::invalid(
                "maxResultAgeSeconds must be at least 1 (or null)",
            ));
        }
        Ok(())
    }
}

/// One probe's judgement.
enum Probe {
    Fine,
    Pending(String),
    Unhealthy(String),
}

impl HealthPolicy for Health {
    fn assess(cfg: &Config, input: &HealthInput) -> HealthVerdict {
        let Some(activated) = input.activated_at else {
            return verdict(HealthStatus::Pending, "not activated yet".to_owned());
        };
        let required: Vec<&str> = match &cfg.required {
            Some(names) => names.iter().map(String::as_str).collect(),
            None => {
                let seen: BTreeSet<&str> = input
                    .results
                    .iter()
                    .filter(|r| r.at >= activated)
                    .map(|r| r.probe.as_str())
                    .collect();
                if seen.is_empty() {
                    return verdict(
                        HealthStatus::Pending,
                        "no probe result since activation".to_owned(),
                    );
                }
                seen.into_iter().collect()
            }
        };
        let mut first_pending = None;
        for name in required.iter().copied() {
            match judge(cfg, input.now, activated, name, &input.results) {
                Probe::Unhealthy(why) => return verdict(HealthStatus::Unhealthy, why),
                Probe::Pending(why) => {
                    first_pending.get_or_insert(why);
                }
                Probe::Fine => {}
            }
        }
        match first_pending {
            Some(why) => verdict(HealthStatus::Pending, why),
            None => verdict(
                HealthStatus::Healthy,
                format!("all {} required probe(s) pass", required.len()),
            ),
        }
    }
}

fn verdict(status: HealthStatus, reason: String) -> HealthVerdict {
    HealthVerdict { status, reason }
}

fn judge(cfg: &Config, now: u64, activated: u64, name: &str, all: &[ProbeResult]) -> Probe {
    let mut results: Vec<&ProbeResult> = all
        .iter()
        .filter(|r| r.probe == name && r.at >= activated)
        .collect();
    // Oldest first, whatever order the host sent; stable, so equal times keep input order.
    results.sort_by_key(|r| r.at);
    let Some(latest) = results.last() else {
        return Probe::Pending(format!("probe {name}: no result since activation"));
    };
    let what = format!("{} probe {name}", kind(latest.kind));
    if let Some(max_age) = cfg.max_result_age_seconds {
        let age = now.saturating_sub(latest.at);
        if reached(age, max_age) {
            return Probe::Pending(format!(
                "{what}: latest result is {age}s old (stale at {max_age}s)"
            ));
        }
    }
    let after_grace = |r: &ProbeResult| reached(r.at.saturating_sub(activated), cfg.grace_seconds);
    let failures = results
        .iter()
        .rev()
        .take_while(|r| !r.passed && after_grace(r))
        .count();
    if failures >= cfg.consecutive_failures as usize {
        return Probe::Unhealthy(format!(
            "{what} failed {failures} consecutive time(s) (threshold {}): {}",
            cfg.consecutive_failures, latest.detail
        ));
    }
    if latest.passed {
        Probe::Fine
    } else if !after_grace(latest) {
        Probe::Pending(format!(
            "{what} failing within the grace period: {}",
            latest.detail
        ))
    } else {
        Probe::Pending(format!(
            "{what} failing ({failures} of {} consecutive failures): {}",
            cfg.consecutive_failures, latest.detail
        ))
    }
}

fn kind(k: ProbeKind) -> &'static str {
    match k {
        ProbeKind::Http => "http",
        ProbeKind::Tcp => "tcp",
        ProbeKind::Exec => "exec",
        ProbeKind::SystemdFailedUnits => "systemd-failed-units",
    }
}
