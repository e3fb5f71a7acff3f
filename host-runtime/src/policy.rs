//! A loaded policy and its evaluation: one fresh instance per call, limits, receipts.

use std::time::Duration;

use convoy_proto::Sha256Digest;
use wasmtime::component::{ComponentNamedList, InstancePre, Lift, Lower};
use wasmtime::{Store, Trap, WasmBacktrace};

use crate::abi::attestation::{AttestationInput, AttestationVerdict};
use crate::abi::gate::{GateInput, Verdict};
use crate::abi::health::{HealthInput, HealthVerdict};
use crate::abi::rollout::{Plan, RolloutInput};
use crate::abi::types::Rollout;
use crate::abi::wire::{GateIn, PlanOut, RolloutIn, VerdictOut};
use crate::engine::{PolicyEngine, PolicySpec, one_line};
use crate::limits::{Limits, MemoryCapHit, StoreLimiter};
use crate::receipt::{self, Evaluation, Receipt};
use crate::snapshot::Snapshot;
use crate::validate;
use convoy_proto::PolicyKind;

use crate::PolicyError;

/// Per-store state: only the limiter. Policies import nothing, so there is no host state.
pub struct StoreState {
    limiter: StoreLimiter,
}

impl StoreState {
    pub(crate) fn new(memory_cap: u64) -> Self {
        StoreState {
            limiter: StoreLimiter {
                memory_cap,
                max_tables_elements: 1 << 20,
            },
        }
    }

    pub(crate) fn limiter(&mut self) -> &mut StoreLimiter {
        &mut self.limiter
    }
}

/// The pre-instantiated component whose exports were type-checked against its world.
pub(crate) struct KindPre {
    pub(crate) kind: PolicyKind,
    pub(crate) pre: InstancePre<StoreState>,
}

impl KindPre {
    /// Instantiates afresh and calls `export` with typed parameters and results.
    fn call<P, R>(
        &self,
        store: &mut Store<StoreState>,
        export: &str,
        params: P,
    ) -> wasmtime::Result<R>
    where
        P: ComponentNamedList + Lower,
        R: ComponentNamedList + Lift,
    {
        let instance = self
            .pre
            .instantiate(&mut *store)
            .map_err(|e| e.context(Instantiation))?;
        let func = instance.get_typed_func::<P, R>(&mut *store, export)?;
        func.call(&mut *store, params)
    }
}

/// Marks a failure to instantiate (a full instance pool, say): the engine's, not the
/// policy's, unless it was a trap or the memory cap, which keep their own errors.
#[derive(Debug)]
struct Instantiation;

impl std::fmt::Display for Instantiation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("instantiating the policy")
    }
}

/// A policy component that passed its hash, import and world checks, ready to evaluate.
///
/// Every evaluation instantiates afresh from the pre-instantiated component (fuel is only
/// reproducible from a fresh instance, and no state may leak between decisions), runs
/// under the engine's [`Limits`] (or the ones given), validates the output against its
/// world's contract, and returns the decision together with a [`Receipt`].
pub struct Policy {
    engine: PolicyEngine,
    spec: PolicySpec,
    size: u64,
    pre: KindPre,
}

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policy")
            .field("spec", &self.spec)
            .field("size", &self.size)
            .finish()
    }
}

impl Policy {
    pub(crate) fn new(engine: PolicyEngine, spec: PolicySpec, size: u64, pre: KindPre) -> Self {
        Policy {
            engine,
            spec,
            size,
            pre,
        }
    }

    /// The policy's name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// The world the policy implements.
    pub fn kind(&self) -> PolicyKind {
        self.pre.kind
    }

    /// The sha256 of the component.
    pub fn sha256(&self) -> &Sha256Digest {
        &self.spec.sha256
    }

    /// Size of the component in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Runs the policy's `validate-config` export on a configuration (canonical JSON).
    ///
    /// The outer `Result` is the runtime's verdict on the call; the inner one is the
    /// policy's verdict on the configuration.
    pub fn validate_config(&self, config: &str) -> Result<Evaluation<ConfigVerdict>, PolicyError> {
        self.validate_config_with(config, self.engine.limits())
    }

    /// [`Policy::validate_config`] with explicit limits.
    pub fn validate_config_with(
        &self,
        config: &str,
        limits: Limits,
    ) -> Result<Evaluation<ConfigVerdict>, PolicyError> {
        let input = CallInput::<()> {
            config,
            function: "validate-config",
            input: None,
        };
        self.run(
            &input,
            None,
            limits,
            |pre, store| {
                pre.call::<(&str,), (Result<(), String>,)>(store, "validate-config", (config,))
                    .map(|(r,)| match r {
                        Ok(()) => ConfigVerdict::Ok(()),
                        Err(why) => ConfigVerdict::Err(why),
                    })
            },
            with_json_sha256,
        )
    }

    /// Plans one tick of a rollout (`rollout` world) on hosts given as a list: builds the
    /// [`Snapshot`] (an input error if it cannot be one) and calls [`Policy::plan_on`].
    pub fn plan(
        &self,
        config: &str,
        input: &RolloutInput,
    ) -> Result<Evaluation<Plan>, PolicyError> {
        self.plan_with(config, input, self.engine.limits())
    }

    /// [`Policy::plan`] with explicit limits.
    pub fn plan_with(
        &self,
        config: &str,
        input: &RolloutInput,
        limits: Limits,
    ) -> Result<Evaluation<Plan>, PolicyError> {
        let snapshot = Snapshot::new(&input.hosts, input.active.clone())?;
        self.plan_on_with(config, input.now, &input.rollout, &snapshot, limits)
    }

    /// Plans one tick of `rollout` on the tick's shared `snapshot`; the plan names hosts.
    pub fn plan_on(
        &self,
        config: &str,
        now: u64,
        rollout: &Rollout,
        snapshot: &Snapshot,
    ) -> Result<Evaluation<Plan>, PolicyError> {
        self.plan_on_with(config, now, rollout, snapshot, self.engine.limits())
    }

    /// [`Policy::plan_on`] with explicit limits.
    pub fn plan_on_with(
        &self,
        config: &str,
        now: u64,
        rollout: &Rollout,
        snapshot: &Snapshot,
        limits: Limits,
    ) -> Result<Evaluation<Plan>, PolicyError> {
        let e = self.plan_ids_with(config, now, rollout, snapshot, limits)?;
        Ok(Evaluation {
            output: validate::named_plan(snapshot, &e.output),
            receipt: e.receipt,
        })
    }

    /// Plans one tick of `rollout` on the tick's shared `snapshot`, and returns the plan
    /// as the policy gave it, validated: candidates by `host-id`, reasons by table. The
    /// receipt is the one [`Policy::plan_on`] gives; a reconciler chains gates on these
    /// ids and names only the hosts it dispatches ([`Snapshot::name`]).
    pub fn plan_ids(
        &self,
        config: &str,
        now: u64,
        rollout: &Rollout,
        snapshot: &Snapshot,
    ) -> Result<Evaluation<PlanOut>, PolicyError> {
        self.plan_ids_with(config, now, rollout, snapshot, self.engine.limits())
    }

    /// [`Policy::plan_ids`] with explicit limits.
    pub fn plan_ids_with(
        &self,
        config: &str,
        now: u64,
        rollout: &Rollout,
        snapshot: &Snapshot,
        limits: Limits,
    ) -> Result<Evaluation<PlanOut>, PolicyError> {
        #[derive(serde::Serialize)]
        struct Named<'a> {
            now: u64,
            rollout: &'a Rollout,
            snapshot: &'a Sha256Digest,
        }
        let named = Named {
            now,
            rollout,
            snapshot: snapshot.sha256(),
        };
        let wire = RolloutIn {
            now,
            rollout,
            snapshot: snapshot.wire(),
        };
        self.decide(
            PolicyKind::Rollout,
            "plan",
            config,
            &named,
            Some(snapshot),
            limits,
            |pre, store| pre.call::<_, (PlanOut,)>(store, "plan", (config, wire)),
            |out| {
                validate::plan(rollout, snapshot, &out)?;
                let sha256 = receipt::plan_sha256(&out);
                Ok((out, sha256))
            },
        )
    }

    /// Admits a subset of the candidates (`gate` world) on hosts given as a list: builds
    /// the [`Snapshot`] and calls [`Policy::admit_on`].
    pub fn admit(
        &self,
        config: &str,
        input: &GateInput,
    ) -> Result<Evaluation<Verdict>, PolicyError> {
        self.admit_with(config, input, self.engine.limits())
    }

    /// [`Policy::admit`] with explicit limits.
    pub fn admit_with(
        &self,
        config: &str,
        input: &GateInput,
        limits: Limits,
    ) -> Result<Evaluation<Verdict>, PolicyError> {
        let snapshot = Snapshot::new(&input.hosts, input.active.clone())?;
        self.admit_on_with(config, input.now, &input.candidates, &snapshot, limits)
    }

    /// Admits a subset of `candidates` (host names, in priority order) on the tick's
    /// shared `snapshot`. A name not in the snapshot is refused here, in its place, with
    /// "`name` is not in the fleet snapshot"; the policy decides the others by `host-id`
    /// ([`Policy::admit_ids`], whose receipt this is).
    pub fn admit_on(
        &self,
        config: &str,
        now: u64,
        candidates: &[String],
        snapshot: &Snapshot,
    ) -> Result<Evaluation<Verdict>, PolicyError> {
        self.admit_on_with(config, now, candidates, snapshot, self.engine.limits())
    }

    /// [`Policy::admit_on`] with explicit limits.
    pub fn admit_on_with(
        &self,
        config: &str,
        now: u64,
        candidates: &[String],
        snapshot: &Snapshot,
        limits: Limits,
    ) -> Result<Evaluation<Verdict>, PolicyError> {
        let resolved: Vec<Option<u32>> = candidates.iter().map(|c| snapshot.position(c)).collect();
        let ids: Vec<u32> = resolved.iter().flatten().copied().collect();
        let e = self.admit_ids_with(config, now, &ids, snapshot, limits)?;
        Ok(Evaluation {
            output: validate::named_verdict(candidates, &resolved, snapshot, &e.output),
            receipt: e.receipt,
        })
    }

    /// Admits a subset of `candidates` (host-ids of `snapshot`, in priority order; a
    /// repeated one is decided at its first position) and returns the verdict as the
    /// policy gave it, validated: hosts by `host-id`, reasons by table. This is how a
    /// reconciler chains a channel's gates: each one's `admitted` is the next one's
    /// candidates, and only the hosts finally dispatched are named.
    pub fn admit_ids(
        &self,
        config: &str,
        now: u64,
        candidates: &[u32],
        snapshot: &Snapshot,
    ) -> Result<Evaluation<VerdictOut>, PolicyError> {
        self.admit_ids_with(config, now, candidates, snapshot, self.engine.limits())
    }

    /// [`Policy::admit_ids`] with explicit limits.
    pub fn admit_ids_with(
        &self,
        config: &str,
        now: u64,
        candidates: &[u32],
        snapshot: &Snapshot,
        limits: Limits,
    ) -> Result<Evaluation<VerdictOut>, PolicyError> {
        if let Some(id) = candidates.iter().find(|&&id| id as usize >= snapshot.len()) {
            return Err(PolicyError::Input {
                policy: self.spec.name.clone(),
                reason: format!(
                    "candidate host-id {id} is not in the snapshot of {} hosts",
                    snapshot.len()
                ),
            });
        }
        #[derive(serde::Serialize)]
        struct Named<'a> {
            candidates: Sha256Digest,
            now: u64,
            snapshot: &'a Sha256Digest,
        }
        let named = Named {
            candidates: receipt::candidates_sha256(candidates),
            now,
            snapshot: snapshot.sha256(),
        };
        let wire = GateIn {
            now,
            candidates,
            snapshot: snapshot.wire(),
        };
        self.decide(
            PolicyKind::Gate,
            "admit",
            config,
            &named,
            Some(snapshot),
            limits,
            |pre, store| pre.call::<_, (VerdictOut,)>(store, "admit", (config, wire)),
            |out| {
                validate::verdict(candidates, snapshot, &out)?;
                let sha256 = receipt::verdict_sha256(&out);
                Ok((out, sha256))
            },
        )
    }

    /// Assesses one host's health (`health` world).
    pub fn assess_health(
        &self,
        config: &str,
        input: &HealthInput,
    ) -> Result<Evaluation<HealthVerdict>, PolicyError> {
        self.assess_health_with(config, input, self.engine.limits())
    }

    /// [`Policy::assess_health`] with explicit limits.
    pub fn assess_health_with(
        &self,
        config: &str,
        input: &HealthInput,
        limits: Limits,
    ) -> Result<Evaluation<HealthVerdict>, PolicyError> {
        self.decide(
            PolicyKind::Health,
            "assess",
            config,
            input,
            None,
            limits,
            |pre, store| pre.call::<_, (HealthVerdict,)>(store, "assess", (config, input)),
            |out| validate::health(&out).and_then(|()| with_json_sha256(out)),
        )
    }

    /// Judges one host's attestation standing (`attestation` world).
    pub fn assess_attestation(
        &self,
        config: &str,
        input: &AttestationInput,
    ) -> Result<Evaluation<AttestationVerdict>, PolicyError> {
        self.assess_attestation_with(config, input, self.engine.limits())
    }

    /// [`Policy::assess_attestation`] with explicit limits.
    pub fn assess_attestation_with(
        &self,
        config: &str,
        input: &AttestationInput,
        limits: Limits,
    ) -> Result<Evaluation<AttestationVerdict>, PolicyError> {
        self.decide(
            PolicyKind::Attestation,
            "assess",
            config,
            input,
            None,
            limits,
            |pre, store| pre.call::<_, (AttestationVerdict,)>(store, "assess", (config, input)),
            |out| validate::attestation(input, &out).and_then(|()| with_json_sha256(out)),
        )
    }

    /// The one shape of a decision: the policy must implement `kind`; `invoke` runs
    /// `function` in a fresh instance and `finish` validates its output and gives the
    /// hash the receipt records of it. `named` is what the receipt's input hash covers.
    #[allow(clippy::too_many_arguments)]
    fn decide<N, W, O>(
        &self,
        kind: PolicyKind,
        function: &'static str,
        config: &str,
        named: &N,
        snapshot: Option<&Snapshot>,
        limits: Limits,
        invoke: impl FnOnce(&KindPre, &mut Store<StoreState>) -> wasmtime::Result<(W,)>,
        finish: impl FnOnce(W) -> Result<(O, Sha256Digest), String>,
    ) -> Result<Evaluation<O>, PolicyError>
    where
        N: serde::Serialize,
    {
        self.expect_kind(kind)?;
        let call = CallInput {
            config,
            function,
            input: Some(named),
        };
        self.run(
            &call,
            snapshot.map(|s| *s.sha256()),
            limits,
            |pre, store| invoke(pre, store).map(|(o,)| o),
            finish,
        )
    }

    fn expect_kind(&self, wanted: PolicyKind) -> Result<(), PolicyError> {
        if self.kind() == wanted {
            Ok(())
        } else {
            Err(PolicyError::WrongKind {
                policy: self.spec.name.clone(),
                wanted,
                actual: self.kind(),
            })
        }
    }

    /// The one place a policy runs: fresh store with limits, call, classify the failure,
    /// validate, and write the receipt.
    fn run<I, W, O>(
        &self,
        call: &CallInput<'_, I>,
        snapshot_sha256: Option<Sha256Digest>,
        limits: Limits,
        invoke: impl FnOnce(&KindPre, &mut Store<StoreState>) -> wasmtime::Result<W>,
        finish: impl FnOnce(W) -> Result<(O, Sha256Digest), String>,
    ) -> Result<Evaluation<O>, PolicyError>
    where
        I: serde::Serialize,
    {
        let name = &self.spec.name;
        let input_bytes =
            convoy_proto::json::canonical_bytes(call).map_err(|e| PolicyError::Input {
                policy: name.clone(),
                reason: e.to_string(),
            })?;
        let inner = &self.engine.inner;
        let mut store = Store::new(&inner.engine, StoreState::new(limits.memory_bytes));
        store.limiter(|s| s.limiter());
        store
            .set_fuel(limits.fuel)
            .map_err(|e| PolicyError::Engine(format!("setting fuel: {e}")))?;
        store.set_epoch_deadline(deadline_ticks(limits.timeout, inner.epoch_tick));
        store.epoch_deadline_trap();
        // Bounds what the guest can make the host allocate when its result is lifted
        // (a list of a million aliases of one large string, say).
        store.set_hostcall_fuel(usize::try_from(limits.max_output_bytes).unwrap_or(usize::MAX));

        let outcome = invoke(&self.pre, &mut store);
        let fuel_used = limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0));
        let output = outcome.map_err(|e| classify(name, &limits, e))?;
        let (output, output_sha256) =
            finish(output).map_err(|reason| PolicyError::InvalidOutput {
                policy: name.clone(),
                reason,
            })?;
        let receipt = Receipt {
            policy: name.clone(),
            policy_sha256: self.spec.sha256,
            kind: self.kind(),
            function: call.function.to_owned(),
            input_sha256: Sha256Digest::of(&input_bytes),
            snapshot_sha256,
            output_sha256,
            fuel_used,
        };
        Ok(Evaluation { output, receipt })
    }
}

/// A policy's verdict on a configuration (`validate-config`); JSON `{"ok": null}` or
/// `{"err": "why"}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConfigVerdict {
    /// The configuration is valid.
    Ok(()),
    /// The configuration is refused, with the policy's reason.
    Err(String),
}

/// What a receipt's input hash covers: the exact configuration string the guest saw, the
/// function, and the input (naming its snapshot by hash), as canonical JSON. Fields in
/// canonical order, so it serialises without sorting.
#[derive(serde::Serialize)]
pub(crate) struct CallInput<'a, I> {
    pub(crate) config: &'a str,
    pub(crate) function: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) input: Option<&'a I>,
}

/// An output with the sha256 of its canonical JSON (the receipt of a call whose output
/// is not a plan or a verdict).
fn with_json_sha256<O: serde::Serialize>(output: O) -> Result<(O, Sha256Digest), String> {
    let bytes = convoy_proto::json::canonical_bytes(&output)
        .map_err(|e| format!("output not representable as canonical JSON: {e}"))?;
    Ok((output, Sha256Digest::of(&bytes)))
}

pub(crate) fn deadline_ticks(timeout: Duration, tick: Duration) -> u64 {
    let ticks = timeout.as_nanos().div_ceil(tick.as_nanos().max(1));
    u64::try_from(ticks).unwrap_or(u64::MAX).max(1)
}

/// Turns a wasmtime failure into the typed error that says what happened.
fn classify(policy: &str, limits: &Limits, err: wasmtime::Error) -> PolicyError {
    let policy = policy.to_owned();
    for cause in err.chain() {
        if let Some(hit) = cause.downcast_ref::<MemoryCapHit>() {
            return PolicyError::MemoryExceeded {
                policy,
                cap_bytes: hit.cap,
                requested_bytes: hit.requested,
            };
        }
    }
    if let Some(trap) = err.downcast_ref::<Trap>() {
        return match trap {
            Trap::OutOfFuel => PolicyError::OutOfFuel {
                policy,
                budget: limits.fuel,
            },
            Trap::Interrupt => PolicyError::Timeout {
                policy,
                millis: u64::try_from(limits.timeout.as_millis()).unwrap_or(u64::MAX),
            },
            other => PolicyError::Trap {
                policy,
                message: summarise_trap(*other, err.downcast_ref::<WasmBacktrace>()),
            },
        };
    }
    let text = one_line(&err);
    if err.downcast_ref::<Instantiation>().is_some() {
        return PolicyError::Engine(format!("`{policy}`: {text}"));
    }
    if text.contains("too much data is being copied") {
        return PolicyError::InvalidOutput {
            policy,
            reason: format!(
                "output larger than the {} byte limit",
                limits.max_output_bytes
            ),
        };
    }
    // Not a trap: the canonical ABI refused what the guest handed back (an out-of-bounds
    // pointer, invalid UTF-8, an unknown enum case...).
    PolicyError::InvalidOutput {
        policy,
        reason: format!("malformed result: {text}"),
    }
}

/// One line for a trap: what happened and in which guest function, and "panicked" when the
/// stack shows Rust's panic machinery (a `wasm32-unknown-unknown` panic ends in
/// `unreachable`; the message itself never leaves the sandbox, which has no imports).
fn summarise_trap(trap: Trap, backtrace: Option<&WasmBacktrace>) -> String {
    let frames: Vec<&str> = backtrace
        .map(|bt| bt.frames().iter().filter_map(|f| f.func_name()).collect())
        .unwrap_or_default();
    let is_panic_frame = |n: &&str| {
        n.contains("panic")
            || n.contains("abort")
            || n.starts_with("core::")
            || n.starts_with("std::")
            || n.starts_with("__rust")
    };
    let panicked = frames.iter().any(|n| n.contains("panic"));
    let origin = frames.iter().find(|n| !is_panic_frame(n));
    match (panicked, origin) {
        (true, Some(f)) => format!("guest panicked in `{f}` ({trap})"),
        (true, None) => format!("guest panicked ({trap})"),
        (false, Some(f)) => format!("{trap} in `{f}`"),
        (false, None) => trap.to_string(),
    }
}
