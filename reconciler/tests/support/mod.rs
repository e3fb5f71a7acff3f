//! A small driver of the reconciler for its tests: the real built-in components, hosts
//! that report what the test tells them to.
#![allow(dead_code)]

pub mod fleet;

pub use fleet::policies;

use std::collections::BTreeMap;

use convoy_host_runtime::types::HostPhase;
use convoy_proto::UnsignedFleet;
use convoy_reconciler::{
    Action, AgentReport, DesiredFleet, Event, ReconcileError, Reconciler, ReconcilerConfig,
    RolloutState,
};

/// A reconciler and what each host runs.
pub struct Harness {
    pub reconciler: Reconciler,
    pub running: BTreeMap<String, String>,
}

impl Harness {
    /// A reconciler with a stall limit of `stall` seconds.
    pub fn new(stall: u64) -> Harness {
        let mut config = ReconcilerConfig::default();
        config.stall_after(stall);
        Harness {
            reconciler: Reconciler::new(config),
            running: BTreeMap::new(),
        }
    }

    /// Releases `fleet` as `version` at `at`.
    pub fn release(&mut self, at: u64, fleet: &UnsignedFleet, version: u64) -> Vec<Action> {
        let desired = DesiredFleet::from_document(fleet, version).expect("desired");
        self.reconciler
            .handle(Event::Release {
                at,
                fleet: desired,
                policies: policies(fleet),
            })
            .expect("release")
    }

    /// Every host but `silent` checks in with what it runs.
    pub fn check_in(&mut self, at: u64, silent: &[&str]) {
        let names: Vec<String> = self.reconciler.state().hosts.keys().cloned().collect();
        for name in names {
            if silent.contains(&name.as_str()) {
                continue;
            }
            let current = self.running.get(&name).cloned();
            self.reconciler
                .handle(Event::CheckIn {
                    host: name,
                    at,
                    current_closure: current,
                })
                .expect("check-in");
        }
    }

    /// One tick.
    pub fn tick(&mut self, now: u64) -> Vec<Action> {
        self.reconciler.handle(Event::Tick { now }).expect("tick")
    }

    /// `host` reports.
    pub fn report(
        &mut self,
        host: &str,
        at: u64,
        report: AgentReport,
    ) -> Result<Vec<Action>, ReconcileError> {
        if let AgentReport::Confirmed { closure } = &report {
            self.running.insert(host.to_owned(), closure.clone());
        }
        if let AgentReport::RolledBack { running: Some(c) } = &report {
            self.running.insert(host.to_owned(), c.clone());
        }
        self.reconciler.handle(Event::Report {
            host: host.to_owned(),
            at,
            report,
        })
    }

    /// The closure dispatched to `host`.
    pub fn dispatched(&self, host: &str) -> String {
        self.reconciler.state().hosts[host]
            .dispatch
            .as_ref()
            .expect("a dispatch")
            .closure
            .clone()
    }

    /// `host` activates and confirms its dispatch at `at`.
    pub fn confirm(&mut self, host: &str, at: u64) {
        let closure = self.dispatched(host);
        for report in [
            AgentReport::Activating {
                closure: closure.clone(),
            },
            AgentReport::Activated {
                closure: closure.clone(),
            },
            AgentReport::Confirmed { closure },
        ] {
            self.report(host, at, report).expect("report");
        }
    }

    /// `host`'s activation fails at `at`; it rolls back to `previous` when `rolls_back`.
    pub fn fail(&mut self, host: &str, at: u64, rolls_back: bool) {
        let closure = self.dispatched(host);
        self.report(
            host,
            at,
            AgentReport::Activating {
                closure: closure.clone(),
            },
        )
        .expect("activating");
        self.report(
            host,
            at,
            AgentReport::Failed {
                closure,
                reason: "switch-to-configuration failed".into(),
            },
        )
        .expect("failed");
        if rolls_back {
            let previous = self.running.get(host).cloned();
            self.report(host, at, AgentReport::RolledBack { running: previous })
                .expect("rolled back");
        }
    }

    /// Every host dispatched and not yet confirmed confirms at `at`, except `except`.
    pub fn confirm_all(&mut self, at: u64, except: &[&str]) {
        let dispatched: Vec<String> = self
            .reconciler
            .state()
            .hosts
            .iter()
            .filter(|(n, h)| h.phase == HostPhase::Dispatched && !except.contains(&n.as_str()))
            .map(|(n, _)| n.clone())
            .collect();
        for host in dispatched {
            self.confirm(&host, at);
        }
    }

    /// The state of rollout `id`.
    pub fn state_of(&self, id: &str) -> RolloutState {
        self.reconciler.state().rollout(id).expect("rollout").state
    }

    /// The phase of `host`.
    pub fn phase(&self, host: &str) -> HostPhase {
        self.reconciler.state().hosts[host].phase
    }

    /// Sets what every host runs.
    pub fn all_run(&mut self, closure_of: impl Fn(&str) -> String) {
        let names: Vec<String> = self.reconciler.state().hosts.keys().cloned().collect();
        for n in names {
            let c = closure_of(&n);
            self.running.insert(n, c);
        }
    }
}

/// The hosts dispatched among `actions`.
pub fn dispatches(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Dispatch { host, .. } => Some(host.clone()),
            _ => None,
        })
        .collect()
}
