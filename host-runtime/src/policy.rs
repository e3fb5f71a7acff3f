//! A loaded policy and its evaluation: one fresh instance per call, limits, receipts.

use std::time::Duration;

use convoy_proto::Sha256Digest;
use wasmtime::component::{ComponentNamedList, InstancePre, Lift, Lower};
use wasmtime::{Store, Trap, WasmBacktrace};

use crate::abi::attestation::{AttestationInput, AttestationVerdict};
use crate::abi::health::{HealthInput, HealthVerdict};
use crate::abi::types::Rollout;
use crate::abi::wire::{GateIn, PlanOut, RolloutIn, VerdictOut};
use crate::engine::{PolicyEngine, PolicySpec, one_line};
use crate::error::{EngineProblem, GuestTrap, InputProblem, OutputViolation};
use crate::kind::PolicyWorld;
use crate::limits::{LimitHit, Limits, StoreLimiter};
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
            limiter: StoreLimiter::new(memory_cap),
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

    /// Starts a call of this policy with the engine's default [`Limits`]; the builder's
    /// methods run one export each.
    ///
    /// ```no_run
    /// # fn tick(
    /// #     waves: &convoy_host_runtime::Policy,
    /// #     budget: &convoy_host_runtime::Policy,
    /// #     rollout: &convoy_host_runtime::types::Rollout,
    /// #     snapshot: &convoy_host_runtime::Snapshot,
    /// #     limits: convoy_host_runtime::Limits,
    /// # ) -> Result<(), convoy_host_runtime::PolicyError> {
    /// let now = 1_700_000_000;
    /// let plan = waves.call().waves(2).plan("{}", now, rollout, snapshot)?;
    /// let ids: Vec<u32> = plan.output.candidates.iter().map(|c| c.host).collect();
    /// let verdict = budget.call().limits(limits).admit("{}", now, &ids, snapshot)?;
    /// let dispatch: Vec<&str> = verdict.output.admitted.iter()
    ///     .filter_map(|&id| snapshot.name(id))
    ///     .collect();
    /// # Ok(()) }
    /// ```
    pub fn call(&self) -> CallBuilder<'_> {
        CallBuilder {
            policy: self,
            limits: self.engine.limits(),
            waves: None,
        }
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

    /// The one place a policy runs: the policy must implement `kind`; a fresh store with
    /// `limits`; `invoke` calls `function` in a fresh instance; the failure is classified;
    /// `finish` validates the output and gives the hash the receipt records of it; `named`
    /// is what the receipt's input hash covers.
    #[allow(clippy::too_many_arguments)]
    fn run<N, W, O>(
        &self,
        kind: PolicyKind,
        function: &'static str,
        config: &str,
        named: Option<&N>,
        snapshot: Option<&Snapshot>,
        limits: Limits,
        invoke: impl FnOnce(&KindPre, &mut Store<StoreState>) -> wasmtime::Result<W>,
        finish: impl FnOnce(W) -> Result<(O, Sha256Digest), OutputViolation>,
    ) -> Result<Evaluation<O>, PolicyError>
    where
        N: serde::Serialize,
    {
        self.expect_kind(kind)?;
        let name = &self.spec.name;
        let call = CallInput {
            config,
            function,
            input: named,
        };
        let input_bytes =
            convoy_proto::json::canonical_bytes(&call).map_err(|e| PolicyError::Input {
                policy: name.clone(),
                problem: InputProblem::NotCanonical {
                    detail: e.to_string(),
                },
            })?;
        let mut store = self.engine.store(&limits)?;
        let outcome = invoke(&self.pre, &mut store);
        let fuel_used = limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0));
        let output = outcome.map_err(|e| classify(name, &limits, e))?;
        let (output, output_sha256) =
            finish(output).map_err(|violation| PolicyError::InvalidOutput {
                policy: name.clone(),
                violation,
            })?;
        let receipt = Receipt {
            policy: name.clone(),
            policy_sha256: self.spec.sha256,
            kind: self.kind(),
            function: function.to_owned(),
            input_sha256: Sha256Digest::of(&input_bytes),
            snapshot_sha256: snapshot.map(|s| *s.sha256()),
            output_sha256,
            fuel_used,
        };
        Ok(Evaluation { output, receipt })
    }
}

/// One call of a [`Policy`] being set up: [`Policy::call`] starts it with the engine's
/// default [`Limits`], the setters change what the call runs under, and each of the
/// other methods runs one export of the policy's world in a fresh instance, validates
/// the output against the world's contract and returns it with its [`Receipt`].
///
/// The rollout and gate calls take and return hosts by `host-id` (their position in the
/// tick's [`Snapshot`]): that is what a reconciler chains, each gate's `admitted` being
/// the next one's candidates. Naming hosts is a separate step, done once at the end:
/// [`Snapshot::name`], [`Snapshot::name_plan`], [`Snapshot::candidates`] and
/// [`NamedCandidates::name_verdict`].
#[derive(Debug, Clone, Copy)]
pub struct CallBuilder<'p> {
    policy: &'p Policy,
    limits: Limits,
    waves: Option<u32>,
}

impl CallBuilder<'_> {
    /// Runs the call under `limits` instead of the engine's defaults.
    pub fn limits(&mut self, limits: Limits) -> &mut Self {
        self.limits = limits;
        self
    }

    /// The number of waves the channel's rollout configures (from the signed fleet): a
    /// plan promoting to wave `waves` or beyond is refused as
    /// [`OutputViolation::PromotesPastLastWave`]. Without it, only the rules that need no
    /// wave count apply (a promotion is always to the next wave).
    pub fn waves(&mut self, waves: u32) -> &mut Self {
        self.waves = Some(waves);
        self
    }

    /// The limits the call runs under.
    pub fn current_limits(&self) -> Limits {
        self.limits
    }

    /// The policy being called.
    pub fn policy(&self) -> &Policy {
        self.policy
    }

    /// Runs the policy's `validate-config` export on a configuration (canonical JSON).
    ///
    /// The outer `Result` is the runtime's verdict on the call; the inner one is the
    /// policy's verdict on the configuration.
    pub fn validate_config(&self, config: &str) -> Result<Evaluation<ConfigVerdict>, PolicyError> {
        let policy = self.policy;
        policy.run(
            policy.kind(),
            "validate-config",
            config,
            None::<&()>,
            None,
            self.limits,
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

    /// Plans one tick of `rollout` (`rollout` world) on the tick's shared `snapshot`, and
    /// returns the plan as the policy gave it, validated: candidates by `host-id`,
    /// reasons by table ([`Snapshot::name_plan`] names it).
    pub fn plan(
        &self,
        config: &str,
        now: u64,
        rollout: &Rollout,
        snapshot: &Snapshot,
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
        let kind = PolicyKind::Rollout;
        self.policy.run(
            kind,
            kind.decision_export(),
            config,
            Some(&named),
            Some(snapshot),
            self.limits,
            |pre, store| {
                pre.call::<_, (PlanOut,)>(store, kind.decision_export(), (config, wire))
                    .map(|(o,)| o)
            },
            |out| {
                validate::plan(rollout, self.waves, snapshot, &out)?;
                let sha256 = receipt::plan_sha256(&out);
                Ok((out, sha256))
            },
        )
    }

    /// Admits a subset of `candidates` (`gate` world; host-ids of `snapshot`, in priority
    /// order; a repeated one is decided at its first position) and returns the verdict as
    /// the policy gave it, validated: hosts by `host-id`, reasons by table
    /// ([`NamedCandidates::name_verdict`] names it). A host-id past the snapshot is an
    /// [`InputProblem::UnknownCandidate`].
    pub fn admit(
        &self,
        config: &str,
        now: u64,
        candidates: &[u32],
        snapshot: &Snapshot,
    ) -> Result<Evaluation<VerdictOut>, PolicyError> {
        if let Some(&id) = candidates.iter().find(|&&id| id as usize >= snapshot.len()) {
            return Err(PolicyError::Input {
                policy: self.policy.spec.name.clone(),
                problem: InputProblem::UnknownCandidate {
                    id,
                    hosts: snapshot.len(),
                },
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
        let kind = PolicyKind::Gate;
        self.policy.run(
            kind,
            kind.decision_export(),
            config,
            Some(&named),
            Some(snapshot),
            self.limits,
            |pre, store| {
                pre.call::<_, (VerdictOut,)>(store, kind.decision_export(), (config, wire))
                    .map(|(o,)| o)
            },
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
        let kind = PolicyKind::Health;
        self.policy.run(
            kind,
            kind.decision_export(),
            config,
            Some(input),
            None,
            self.limits,
            |pre, store| {
                pre.call::<_, (HealthVerdict,)>(store, kind.decision_export(), (config, input))
                    .map(|(o,)| o)
            },
            |out| validate::health(&out).and_then(|()| with_json_sha256(out)),
        )
    }

    /// Judges one host's attestation standing (`attestation` world).
    pub fn assess_attestation(
        &self,
        config: &str,
        input: &AttestationInput,
    ) -> Result<Evaluation<AttestationVerdict>, PolicyError> {
        let kind = PolicyKind::Attestation;
        self.policy.run(
            kind,
            kind.decision_export(),
            config,
            Some(input),
            None,
            self.limits,
            |pre, store| {
                pre.call::<_, (AttestationVerdict,)>(store, kind.decision_export(), (config, input))
                    .map(|(o,)| o)
            },
            |out| validate::attestation(input, &out).and_then(|()| with_json_sha256(out)),
        )
    }
}

/// A policy's verdict on a configuration (`validate-config`); JSON `{"ok": null}` or
/// `{"err": "why"}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConfigVerdict {
    /// The configuration is valid.
    Ok(()),
    /// The configuration is refused, with the policy's reason (guest text: print it
    /// through [`crate::text::printable`]).
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
fn with_json_sha256<O: serde::Serialize>(output: O) -> Result<(O, Sha256Digest), OutputViolation> {
    let bytes = convoy_proto::json::canonical_bytes(&output).map_err(|e| {
        OutputViolation::NotCanonical {
            detail: e.to_string(),
        }
    })?;
    Ok((output, Sha256Digest::of(&bytes)))
}

pub(crate) fn deadline_ticks(timeout: Duration, tick: Duration) -> u64 {
    let ticks = timeout.as_nanos().div_ceil(tick.as_nanos().max(1));
    u64::try_from(ticks).unwrap_or(u64::MAX).max(1)
}

/// Turns a wasmtime failure into the typed error that says what happened: by the types
/// in the error's chain (the limiter's markers, wasmtime's [`Trap`], the instantiation
/// marker), never by its text.
fn classify(policy: &str, limits: &Limits, err: wasmtime::Error) -> PolicyError {
    let policy = policy.to_owned();
    for cause in err.chain() {
        if let Some(hit) = cause.downcast_ref::<LimitHit>() {
            return PolicyError::ResourceExceeded {
                policy,
                limit: hit.0,
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
                trap: guest_trap(*other, err.downcast_ref::<WasmBacktrace>()),
            },
        };
    }
    let detail = one_line(&err);
    if err.downcast_ref::<Instantiation>().is_some() {
        return PolicyError::Engine(EngineProblem::Instantiate { policy, detail });
    }
    // Not a trap: the canonical ABI refused what the guest handed back (an out-of-bounds
    // pointer, invalid UTF-8, an unknown enum case, more than the output byte limit...).
    PolicyError::InvalidOutput {
        policy,
        violation: OutputViolation::Unliftable { detail },
    }
}

/// A trap, with the guest function it happened in, and whether the stack shows Rust's
/// panic machinery (a `wasm32-unknown-unknown` panic ends in `unreachable`; the message
/// itself never leaves the sandbox, which has no imports). Function names come from the
/// guest's name section: they only label the message, made printable and cut to length.
fn guest_trap(trap: Trap, backtrace: Option<&WasmBacktrace>) -> GuestTrap {
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
    GuestTrap {
        code: trap.to_string(),
        function: frames
            .iter()
            .find(|n| !is_panic_frame(n))
            .map(|f| crate::text::printable_owned(f)),
        panicked: frames.iter().any(|n| n.contains("panic")),
    }
}
