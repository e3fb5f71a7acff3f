//! The wasm32 export glue: the `wit-bindgen` bindings of each world, conversions between
//! the generated types and the SDK's, and the adapters behind the `export_*!` macros.
//!
//! This is the only place with `unsafe` (inside the generated bindings, which implement
//! the canonical ABI). Each world is behind its cargo feature so a guest's core module
//! carries only the component-type metadata of the world it exports.
#![allow(unsafe_code)]

#[doc(hidden)]
pub use wit_bindgen;

/// Leaves a large value unfreed: the input once decided, the snapshot's host columns once
/// read, a decision's per-host reasons once interned. Every evaluation runs in a fresh
/// instance whose memory the host throws away whole (DESIGN.md §3: fuel is only
/// reproducible that way), so freeing them first is wasted work. Were an instance ever
/// reused, its memory would grow until the host's memory limit traps: a typed error, never
/// a wrong answer.
#[cfg(any(feature = "rollout", feature = "gate"))]
fn discard<T>(input: T) {
    core::mem::forget(input);
}

/// `From` between two C-like enums with the same variant names.
macro_rules! map_enum {
    ($from:ty => $to:ty { $($v:ident),* $(,)? }) => {
        impl From<$from> for $to {
            fn from(v: $from) -> Self {
                match v { $(<$from>::$v => <$to>::$v,)* }
            }
        }
    };
}

/// Conversions for the shared `types` interface, generated once per world module (each
/// world's bindings have their own copy of the interface).
macro_rules! shared_conversions {
    () => {
        use self::convoy::policy::types as wit;
        use crate::types as sdk;

        map_enum!(wit::HostPhase => sdk::HostPhase {
            Idle, Dispatched, Activating, ConfirmWindow, Healthy, Soaked, Converged, Failed,
            Reverted, Quarantined,
        });
        map_enum!(wit::RolloutState => sdk::RolloutState { Running, Halted, RollingBack, Converged });

        impl From<wit::Host> for sdk::Host {
            fn from(h: wit::Host) -> Self {
                sdk::Host {
                    name: h.name,
                    channel: h.channel,
                    tags: h.tags,
                    current_closure: h.current_closure,
                    target_closure: h.target_closure,
                    phase: h.phase.into(),
                    phase_since: h.phase_since,
                    last_seen: h.last_seen,
                    rollout: h.rollout,
                }
            }
        }

        impl From<wit::Rollout> for sdk::Rollout {
            fn from(r: wit::Rollout) -> Self {
                sdk::Rollout {
                    id: r.id,
                    channel: r.channel,
                    target_version: r.target_version,
                    current_wave: r.current_wave,
                    started_at: r.started_at,
                    wave_started_at: r.wave_started_at,
                    state: r.state.into(),
                }
            }
        }
    };
}

/// The snapshot of the rollout and gate worlds, moved into the SDK's: the string table, the
/// host columns and the tag column are taken as they are, without a pass over the hosts.
/// Nothing is checked: reading a snapshot is total, and malformed columns read by the
/// rules of [`crate::snapshot::Columns`] (the shortest column sets the host count,
/// `tags-end` saturates, a phase byte past 9 is `quarantined`).
#[cfg(any(feature = "rollout", feature = "gate"))]
macro_rules! snapshot_conversion {
    () => {
        fn snapshot(s: wit::Snapshot) -> crate::snapshot::Snapshot {
            use crate::snapshot::{Columns, Snapshot, StrId};
            let c = s.hosts;
            Snapshot::from_columns(
                s.text,
                s.ends,
                Columns {
                    name: c.name,
                    channel: c.channel,
                    tags_end: c.tags_end,
                    current_closure: c.current_closure,
                    target_closure: c.target_closure,
                    phase: c.phase,
                    phase_since: c.phase_since,
                    last_seen: c.last_seen,
                    rollout: c.rollout,
                },
                s.tags.into_iter().map(StrId).collect(),
                s.active.into_iter().map(Into::into).collect(),
            )
        }
    };
}

/// The `rollout` world.
#[cfg(feature = "rollout")]
pub mod rollout {
    wit_bindgen::generate!({
        world: "rollout",
        path: "../../wit",
        pub_export_macro: true,
        export_macro_name: "__convoy_export_rollout",
        default_bindings_module: "convoy_policy_sdk::glue::rollout",
        runtime_path: "convoy_policy_sdk::glue::wit_bindgen::rt",
    });
    shared_conversions!();
    snapshot_conversion!();

    /// Exports the [`crate::RolloutPolicy`] `P`.
    pub struct Export<P>(core::marker::PhantomData<P>);

    impl<P: crate::RolloutPolicy + 'static> Guest for Export<P> {
        fn validate_config(cfg: String) -> Result<(), String> {
            crate::eval::validate_config::<P>(&cfg)
        }

        fn plan(cfg: String, input: RolloutInput) -> Plan {
            let input = sdk::RolloutInput {
                now: input.now,
                rollout: input.rollout.into(),
                snapshot: snapshot(input.snapshot),
            };
            let plan = crate::eval::plan::<P>(&cfg, &input);
            super::discard(input);
            let mut reasons = crate::reasons::ReasonTable::default();
            let candidates = plan
                .candidates
                .iter()
                .map(|c| Candidate {
                    host: c.host.0,
                    reason: reasons.intern(&c.reason),
                })
                .collect();
            let reasons = reasons.into_reasons();
            super::discard(plan.candidates);
            Plan {
                step: match plan.step {
                    sdk::Step::Hold(r) => Step::Hold(r),
                    sdk::Step::Promote(w) => Step::Promote(w),
                    sdk::Step::Halt(r) => Step::Halt(r),
                    sdk::Step::RollbackAndHalt(r) => Step::RollbackAndHalt(r),
                    sdk::Step::Converge => Step::Converge,
                },
                candidates,
                reasons,
                notes: plan.notes,
            }
        }
    }
}

/// The `gate` world.
#[cfg(feature = "gate")]
pub mod gate {
    wit_bindgen::generate!({
        world: "gate",
        path: "../../wit",
        pub_export_macro: true,
        export_macro_name: "__convoy_export_gate",
        default_bindings_module: "convoy_policy_sdk::glue::gate",
        runtime_path: "convoy_policy_sdk::glue::wit_bindgen::rt",
    });
    shared_conversions!();
    snapshot_conversion!();

    /// Exports the [`crate::GatePolicy`] `P`.
    pub struct Export<P>(core::marker::PhantomData<P>);

    impl<P: crate::GatePolicy + 'static> Guest for Export<P> {
        fn validate_config(cfg: String) -> Result<(), String> {
            crate::eval::validate_config::<P>(&cfg)
        }

        fn admit(cfg: String, input: GateInput) -> Verdict {
            let input = sdk::GateInput {
                now: input.now,
                candidates: input.candidates.into_iter().map(crate::HostId).collect(),
                snapshot: snapshot(input.snapshot),
            };
            let verdict = crate::eval::admit::<P>(&cfg, &input);
            super::discard(input);
            let mut reasons = crate::reasons::ReasonTable::default();
            let refused = verdict
                .refused
                .iter()
                .map(|r| wit::Refusal {
                    host: r.host.0,
                    reason: reasons.intern(&r.reason),
                })
                .collect();
            let reasons = reasons.into_reasons();
            super::discard(verdict.refused);
            Verdict {
                admitted: verdict.admitted.into_iter().map(|id| id.0).collect(),
                refused,
                reasons,
            }
        }
    }
}

/// The `health` world.
#[cfg(feature = "health")]
pub mod health {
    wit_bindgen::generate!({
        world: "health",
        path: "../../wit",
        pub_export_macro: true,
        export_macro_name: "__convoy_export_health",
        default_bindings_module: "convoy_policy_sdk::glue::health",
        runtime_path: "convoy_policy_sdk::glue::wit_bindgen::rt",
    });
    shared_conversions!();

    map_enum!(ProbeKind => sdk::ProbeKind { Http, Tcp, Exec, SystemdFailedUnits });
    map_enum!(sdk::HealthStatus => HealthStatus { Healthy, Unhealthy, Pending });

    /// Exports the [`crate::HealthPolicy`] `P`.
    pub struct Export<P>(core::marker::PhantomData<P>);

    impl<P: crate::HealthPolicy + 'static> Guest for Export<P> {
        fn validate_config(cfg: String) -> Result<(), String> {
            crate::eval::validate_config::<P>(&cfg)
        }

        fn assess(cfg: String, input: HealthInput) -> HealthVerdict {
            let input = sdk::HealthInput {
                now: input.now,
                host: input.host.into(),
                activated_at: input.activated_at,
                results: input
                    .results
                    .into_iter()
                    .map(|r| sdk::ProbeResult {
                        probe: r.probe,
                        kind: r.kind.into(),
                        at: r.at,
                        passed: r.passed,
                        detail: r.detail,
                    })
                    .collect(),
            };
            let verdict = crate::eval::assess_health::<P>(&cfg, &input);
            HealthVerdict {
                status: verdict.status.into(),
                reason: verdict.reason,
            }
        }
    }
}

/// The `attestation` world.
#[cfg(feature = "attestation")]
pub mod attestation {
    wit_bindgen::generate!({
        world: "attestation",
        path: "../../wit",
        pub_export_macro: true,
        export_macro_name: "__convoy_export_attestation",
        default_bindings_module: "convoy_policy_sdk::glue::attestation",
        runtime_path: "convoy_policy_sdk::glue::wit_bindgen::rt",
    });
    shared_conversions!();

    map_enum!(AttestationOutcome => sdk::AttestationOutcome { Good, Drift, Invalid });
    map_enum!(TrustLevel => sdk::TrustLevel { Trusted, Warn, Quarantine, Expel });
    map_enum!(sdk::TrustLevel => TrustLevel { Trusted, Warn, Quarantine, Expel });

    /// Exports the [`crate::AttestationPolicy`] `P`.
    pub struct Export<P>(core::marker::PhantomData<P>);

    impl<P: crate::AttestationPolicy + 'static> Guest for Export<P> {
        fn validate_config(cfg: String) -> Result<(), String> {
            crate::eval::validate_config::<P>(&cfg)
        }

        fn assess(cfg: String, input: AttestationInput) -> AttestationVerdict {
            let input = sdk::AttestationInput {
                now: input.now,
                host: input.host.into(),
                standing: input.standing.into(),
                history: input
                    .history
                    .into_iter()
                    .map(|r| sdk::AttestationRecord {
                        at: r.at,
                        outcome: r.outcome.into(),
                        detail: r.detail,
                    })
                    .collect(),
            };
            let verdict = crate::eval::assess_attestation::<P>(&cfg, &input);
            AttestationVerdict {
                standing: verdict.standing.into(),
                reason: verdict.reason,
            }
        }
    }
}

/// Export a [`crate::RolloutPolicy`] as the component's `rollout` world (wasm32 only;
/// needs the SDK's `rollout` feature).
#[macro_export]
macro_rules! export_rollout {
    ($policy:ty) => {
        type __ConvoyRolloutExport = $crate::glue::rollout::Export<$policy>;
        $crate::glue::rollout::__convoy_export_rollout!(__ConvoyRolloutExport);
    };
}

/// Export a [`crate::GatePolicy`] as the component's `gate` world (wasm32 only; needs the
/// SDK's `gate` feature).
#[macro_export]
macro_rules! export_gate {
    ($policy:ty) => {
        type __ConvoyGateExport = $crate::glue::gate::Export<$policy>;
        $crate::glue::gate::__convoy_export_gate!(__ConvoyGateExport);
    };
}

/// Export a [`crate::HealthPolicy`] as the component's `health` world (wasm32 only; needs
/// the SDK's `health` feature).
#[macro_export]
macro_rules! export_health {
    ($policy:ty) => {
        type __ConvoyHealthExport = $crate::glue::health::Export<$policy>;
        $crate::glue::health::__convoy_export_health!(__ConvoyHealthExport);
    };
}

/// Export an [`crate::AttestationPolicy`] as the component's `attestation` world (wasm32
/// only; needs the SDK's `attestation` feature).
#[macro_export]
macro_rules! export_attestation {
    ($policy:ty) => {
        type __ConvoyAttestationExport = $crate::glue::attestation::Export<$policy>;
        $crate::glue::attestation::__convoy_export_attestation!(__ConvoyAttestationExport);
    };
}
