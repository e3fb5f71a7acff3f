//! The deterministic wasmtime engine, its epoch ticker, and policy loading.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use convoy_proto::Sha256Digest;
use sha2::{Digest, Sha256};
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, OptLevel, Store};

use crate::cache::CompiledCache;
use crate::error::{EngineProblem, Rejection};
use crate::kind::{ALL_KINDS, PolicyWorld};
use crate::limits::Limits;
use crate::policy::{KindPre, Policy, StoreState, deadline_ticks};
use crate::scan;
use crate::text::printable_owned;
use convoy_proto::PolicyKind;

use crate::PolicyError;

/// How a [`PolicyEngine`] is set up.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Directory of the compiled-code cache; `None` compiles every load in memory.
    pub cache_dir: Option<PathBuf>,
    /// Default budget of every evaluation.
    pub limits: Limits,
    /// Period of the epoch ticker that enforces [`Limits::timeout`].
    pub epoch_tick: Duration,
    /// How many evaluations may run at once on this engine (its instance pool's slots);
    /// one more is refused with a typed [`EngineProblem::Instantiate`].
    pub max_concurrent: u32,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            cache_dir: None,
            limits: Limits::default(),
            epoch_tick: Duration::from_millis(10),
            max_concurrent: POOL_SLOTS,
        }
    }
}

/// Where a loaded policy's compiled code came from, and how long loading took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadStats {
    /// `true` when the component was compiled now, `false` when it came from the cache.
    pub compiled: bool,
    /// Hashing, compiling or deserialising, type-checking and pre-instantiating.
    pub elapsed: Duration,
}

/// What a policy must be, as pinned by a verified manifest: its name, kind and hash.
///
/// Loading checks the offered bytes against `sha256` before anything else looks at them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySpec {
    /// Policy name (from the bundle manifest).
    pub name: String,
    /// The world the policy must implement.
    pub kind: PolicyKind,
    /// The sha256 of the component bytes the manifest pins.
    pub sha256: Sha256Digest,
}

/// A wasmtime engine configured for deterministic policy evaluation, with an optional
/// on-disk cache of compiled components.
///
/// Cheap to clone; clones share the engine, the cache and the epoch ticker. The ticker
/// thread stops when the last clone is dropped.
#[derive(Clone)]
pub struct PolicyEngine {
    pub(crate) inner: Arc<EngineInner>,
}

pub(crate) struct EngineInner {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<StoreState>,
    compat: String,
    cache: Option<CompiledCache>,
    pub(crate) limits: Limits,
    pub(crate) epoch_tick: Duration,
    ticker: Option<EpochTicker>,
}

impl Drop for EngineInner {
    fn drop(&mut self) {
        if let Some(t) = self.ticker.take() {
            t.stop();
        }
    }
}

impl std::fmt::Debug for PolicyEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyEngine")
            .field("compat", &self.inner.compat)
            .field("cache", &self.inner.cache)
            .field("limits", &self.inner.limits)
            .finish()
    }
}

/// The wasmtime configuration every Convoy host uses. Changing any line here changes the
/// engine compatibility hash (so cached code is recompiled) and may change fuel figures,
/// which is why wasmtime is pinned exactly.
pub fn deterministic_config() -> Config {
    let mut c = Config::new();
    c.wasm_component_model(true);
    // Determinism: NaN bit patterns are canonicalised, relaxed SIMD (whose results are
    // implementation-defined, and which wasmtime enables by default) is off, and no
    // threads or shared memory exist.
    c.cranelift_nan_canonicalization(true);
    c.wasm_relaxed_simd(false);
    c.relaxed_simd_deterministic(true);
    // (wasmtime is built without its `threads` feature, so no thread or shared memory
    // proposal can be enabled at all.)
    // Limits: fuel is the reproducible budget, epochs the wall-clock backstop.
    c.consume_fuel(true);
    c.epoch_interruption(true);
    c.cranelift_opt_level(OptLevel::Speed);
    // Frames name the guest function a trap happened in; see `summarise_trap`.
    c.wasm_backtrace_max_frames(std::num::NonZeroUsize::new(64));
    c
}

/// How many evaluations one engine runs at once by default
/// ([`EngineOptions::max_concurrent`]): the slots of its instance pool. One beyond that is
/// refused with a typed [`EngineProblem::Instantiate`], never queued or half-run. Each slot
/// reserves (does not commit) the address space of [`scan::COMPONENT_LIMITS`]`.memories`
/// 4 GiB memories plus their guard regions, so 64 slots take about 520 GiB of the 128 TiB
/// a process can address.
pub const POOL_SLOTS: u32 = 64;

/// Bytes of each linear memory that stay mapped between evaluations (zeroed by `memset`
/// instead of returned to the kernel): a 10,000-host snapshot and the policy's working
/// set fit, so a warm slot takes no page fault.
pub const KEEP_RESIDENT_BYTES: usize = 16 << 20;

/// Where instances live. Every evaluation instantiates afresh (reproducible fuel, no state
/// carried over), and with the default allocator that means mapping a new linear memory,
/// faulting in every page the snapshot is copied into, and unmapping it again: about a
/// third of a small call's time at 10,000 hosts. The pooling allocator reserves
/// `slots` slots once ([`EngineOptions::max_concurrent`]) and reuses them; a reused memory is zeroed before its next
/// instance sees it, so nothing leaks from one evaluation to the next, exactly as with a
/// fresh mapping.
///
/// One component instance may take at most the pre-scan's counts of core instances,
/// memories and tables ([`scan::COMPONENT_LIMITS`]; a component past them is refused at
/// load), and the pool has that many of each per slot, so one call cannot take another's
/// slots. Memory growth is capped per call, across all memories and tables of the store,
/// by the store's limiter ([`Limits::memory_bytes`]); the pool's own bound is the whole
/// 4 GiB of a 32-bit memory, so the limiter always decides first.
fn instance_pool(slots: u32) -> wasmtime::InstanceAllocationStrategy {
    let per = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
    let limits = &scan::COMPONENT_LIMITS;
    let slots = slots.max(1);
    let mut pool = wasmtime::PoolingAllocationConfig::default();
    pool.total_component_instances(slots)
        .max_core_instances_per_component(per(limits.core_instances))
        .max_memories_per_component(per(limits.memories))
        .max_tables_per_component(per(limits.tables))
        .total_core_instances(slots.saturating_mul(per(limits.core_instances)))
        .total_memories(slots.saturating_mul(per(limits.memories)))
        .total_tables(slots.saturating_mul(per(limits.tables)))
        .table_elements(usize::try_from(crate::limits::MAX_TABLE_ELEMENTS).unwrap_or(usize::MAX))
        .max_memory_size(4 << 30)
        .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
        .table_keep_resident(64 << 10);
    wasmtime::InstanceAllocationStrategy::Pooling(pool)
}

impl PolicyEngine {
    /// Creates the engine (and the cache directory, if any) and starts the epoch ticker.
    pub fn new(options: EngineOptions) -> Result<Self, PolicyError> {
        let mut config = deterministic_config();
        config.allocation_strategy(instance_pool(options.max_concurrent));
        let engine = Engine::new(&config).map_err(|e| {
            PolicyError::Engine(EngineProblem::Configure {
                detail: one_line(&e),
            })
        })?;
        let compat = compatibility_hash(&engine);
        let cache = options.cache_dir.map(CompiledCache::open).transpose()?;
        let tick = options.epoch_tick.max(Duration::from_millis(1));
        let ticker = EpochTicker::start(&engine, tick)?;
        Ok(PolicyEngine {
            inner: Arc::new(EngineInner {
                linker: Linker::new(&engine),
                engine,
                compat,
                cache,
                limits: options.limits,
                epoch_tick: tick,
                ticker: Some(ticker),
            }),
        })
    }

    /// The sha256 (hex) of wasmtime's precompile compatibility hash for this engine: part
    /// of every compiled-cache key.
    pub fn compatibility_hash(&self) -> &str {
        &self.inner.compat
    }

    /// The compiled-code cache, if this engine has one.
    pub fn cache(&self) -> Option<&CompiledCache> {
        self.inner.cache.as_ref()
    }

    /// The default limits of evaluations.
    pub fn limits(&self) -> Limits {
        self.inner.limits
    }

    /// Loads a policy from component bytes pinned by `spec`.
    ///
    /// In order: the sha256 of `bytes` must equal `spec.sha256` (otherwise
    /// [`PolicyError::HashMismatch`], before any parsing); the pre-scan refuses a
    /// component past the documented limits ([`scan::COMPONENT_LIMITS`]) before any
    /// compilation; the compiled form comes from the local cache or is compiled now; the
    /// component must import nothing and export exactly its world's functions with the
    /// world's signatures (otherwise [`PolicyError::RejectedModule`]).
    pub fn load(
        &self,
        spec: &PolicySpec,
        bytes: &[u8],
    ) -> Result<(Policy, LoadStats), PolicyError> {
        let started = Instant::now();
        let actual = Sha256Digest::of(bytes);
        if actual != spec.sha256 {
            return Err(PolicyError::HashMismatch {
                policy: spec.name.clone(),
                expected: spec.sha256.to_string(),
                actual: actual.to_string(),
            });
        }
        let (component, compiled) = self.compile_cached(spec, bytes)?;
        let pre = self.check_world(spec, &component)?;
        let policy = Policy::new(self.clone(), spec.clone(), bytes.len() as u64, pre);
        Ok((
            policy,
            LoadStats {
                compiled,
                elapsed: started.elapsed(),
            },
        ))
    }

    fn compile_cached(
        &self,
        spec: &PolicySpec,
        bytes: &[u8],
    ) -> Result<(Component, bool), PolicyError> {
        let inner = &self.inner;
        let reject = |reason| PolicyError::RejectedModule {
            policy: spec.name.clone(),
            reason,
        };
        // Before the cache too: an entry only ever exists for a component that passed.
        scan::scan(bytes, &scan::COMPONENT_LIMITS).map_err(reject)?;
        if let Some(cache) = &inner.cache
            && let Some(c) = cache.load(&inner.engine, &spec.sha256, &inner.compat)?
        {
            return Ok((c, false));
        }
        let component = Component::new(&inner.engine, bytes).map_err(|e| {
            reject(Rejection::NotAComponent {
                detail: printable_owned(&one_line(&e)),
            })
        })?;
        if let Some(cache) = &inner.cache {
            cache.store(&component, &spec.sha256, &inner.compat)?;
        }
        Ok((component, true))
    }

    /// Checks imports and exports against the expected world and pre-instantiates.
    fn check_world(
        &self,
        spec: &PolicySpec,
        component: &Component,
    ) -> Result<KindPre, PolicyError> {
        let engine = &self.inner.engine;
        let reject = |reason: Rejection| PolicyError::RejectedModule {
            policy: spec.name.clone(),
            reason,
        };
        let ty = component.component_type();
        // wit-component keeps `convoy:policy/types` as an import of an instance that
        // exports only value types (records, enums): it carries no function, resource or
        // module, so it grants nothing. Anything else is a capability and is refused.
        let imports: Vec<String> = ty
            .imports(engine)
            .filter(|(_, item)| !carries_only_types(engine, &item.ty))
            .map(|(name, _)| printable_owned(name))
            .collect();
        if !imports.is_empty() {
            return Err(reject(Rejection::Imports { imports }));
        }
        let mut exports: Vec<&str> = ty.exports(engine).map(|(name, _)| name).collect();
        exports.sort_unstable();
        let expected = spec.kind.exports();
        if exports != expected {
            return Err(reject(Rejection::Exports {
                found: exports.into_iter().map(printable_owned).collect(),
                world: spec.kind.world(),
                expected,
            }));
        }
        // An empty linker: instantiation can only succeed for a component without imports.
        let pre = self.inner.linker.instantiate_pre(component).map_err(|e| {
            reject(Rejection::Instantiation {
                detail: printable_owned(&one_line(&e)),
            })
        })?;
        let signature = |e: wasmtime::Error| {
            reject(Rejection::Signature {
                world: spec.kind.world(),
                detail: printable_owned(&one_line(&e)),
            })
        };
        // Type-check both exports once, in a throwaway instance, against the Rust form of
        // the world (component types are structural: names of records do not matter,
        // fields, cases and their types do).
        let pre = KindPre {
            kind: spec.kind,
            pre,
        };
        // Start functions run here, under the engine's default limits like any call.
        let mut store = self.store(&self.inner.limits)?;
        let instance =
            pre.pre
                .instantiate(&mut store)
                .map_err(|e| match classify_load(&spec.name, e) {
                    Ok(limit) => limit,
                    Err(detail) => reject(Rejection::Instantiation {
                        detail: printable_owned(&detail),
                    }),
                })?;
        for export in spec.kind.spec().exports {
            export.check(&mut store, &instance).map_err(signature)?;
        }
        Ok(pre)
    }

    /// A fresh store for one call under `limits`: the limiter's running total, fuel, the
    /// epoch deadline and the bound on what the host copies out of the guest.
    pub(crate) fn store(&self, limits: &Limits) -> Result<Store<StoreState>, PolicyError> {
        let inner = &self.inner;
        let mut store = Store::new(&inner.engine, StoreState::new(limits.memory_bytes));
        store.limiter(|s| s.limiter());
        store.set_fuel(limits.fuel).map_err(|e| {
            PolicyError::Engine(EngineProblem::Store {
                detail: one_line(&e),
            })
        })?;
        store.set_epoch_deadline(deadline_ticks(limits.timeout, inner.epoch_tick));
        store.epoch_deadline_trap();
        // Bounds what the guest can make the host allocate when its result is lifted
        // (a list of a million aliases of one large string, say).
        store.set_hostcall_fuel(usize::try_from(limits.max_output_bytes).unwrap_or(usize::MAX));
        Ok(store)
    }
}

/// A resource limit hit while instantiating at load (a start function growing memory):
/// its own typed error; anything else is the instantiation's detail.
fn classify_load(policy: &str, e: wasmtime::Error) -> Result<PolicyError, String> {
    for cause in e.chain() {
        if let Some(hit) = cause.downcast_ref::<crate::limits::LimitHit>() {
            return Ok(PolicyError::ResourceExceeded {
                policy: policy.to_owned(),
                limit: hit.0,
            });
        }
    }
    Err(one_line(&e))
}

/// What a component is, as an auditor reads it (`convoy policy inspect`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentInfo {
    /// sha256 of the component bytes.
    pub sha256: Sha256Digest,
    /// Size in bytes.
    pub size: u64,
    /// The Convoy world whose exports and signatures it matches, if any.
    pub kind: Option<PolicyKind>,
    /// That world, fully qualified (`convoy:policy/gate@1.0.0`).
    pub world: Option<String>,
    /// Its imports; a policy may only import type-only instances (marked "types only").
    pub imports: Vec<String>,
    /// Its exported functions with their parameter names (`admit(cfg, input)`).
    pub exports: Vec<String>,
    /// Why it is not a loadable policy of any world, if it is not.
    pub refusal: Option<String>,
}

impl PolicyEngine {
    /// Compiles (or takes from the cache) a component and describes it, trying each world
    /// whose export names it has. Never fails for a component that merely is not a
    /// policy: that is reported in [`ComponentInfo::refusal`].
    pub fn inspect(&self, name: &str, bytes: &[u8]) -> Result<ComponentInfo, PolicyError> {
        let sha256 = Sha256Digest::of(bytes);
        let mut info = ComponentInfo {
            sha256,
            size: bytes.len() as u64,
            kind: None,
            world: None,
            imports: Vec::new(),
            exports: Vec::new(),
            refusal: None,
        };
        let probe = |kind| PolicySpec {
            name: name.to_owned(),
            kind,
            sha256,
        };
        let component = match self.compile_cached(&probe(PolicyKind::Gate), bytes) {
            Ok((c, _)) => c,
            Err(e) => {
                info.refusal = Some(e.to_string());
                return Ok(info);
            }
        };
        let engine = &self.inner.engine;
        let ty = component.component_type();
        // Every name here is the component's own text: printable before it is shown.
        info.imports = ty
            .imports(engine)
            .map(|(n, item)| {
                let n = printable_owned(n);
                if carries_only_types(engine, &item.ty) {
                    format!("{n} (types only)")
                } else {
                    n
                }
            })
            .collect();
        info.exports = ty
            .exports(engine)
            .map(|(n, item)| match &item.ty {
                ComponentItem::ComponentFunc(f) => {
                    let params: Vec<String> = f.params().map(|(p, _)| printable_owned(p)).collect();
                    format!("{}({})", printable_owned(n), params.join(", "))
                }
                _ => printable_owned(n),
            })
            .collect();
        // Only a world with exactly these export names can be the component's (health and
        // attestation share theirs); with none, the first world's refusal says what is off.
        let mut names: Vec<&str> = ty.exports(engine).map(|(n, _)| n).collect();
        names.sort_unstable();
        let mut kinds: Vec<PolicyKind> = ALL_KINDS
            .into_iter()
            .filter(|k| names == k.exports())
            .collect();
        if kinds.is_empty() {
            kinds.extend(ALL_KINDS.first());
        }
        for kind in kinds {
            match self.check_world(&probe(kind), &component) {
                Ok(_) => {
                    info.kind = Some(kind);
                    info.world = Some(kind.world());
                    info.refusal = None;
                    return Ok(info);
                }
                Err(e) => info.refusal = Some(e.to_string()),
            }
        }
        Ok(info)
    }
}

/// Whether an imported item is made of value types only (nothing callable, no state).
fn carries_only_types(engine: &Engine, item: &ComponentItem) -> bool {
    match item {
        ComponentItem::Type(_) => true,
        ComponentItem::ComponentInstance(instance) => instance
            .exports(engine)
            .all(|(_, export)| carries_only_types(engine, &export.ty)),
        _ => false,
    }
}

/// The error and its causes on one line, without wasmtime's multi-line backtrace.
pub(crate) fn one_line(e: &wasmtime::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let text = cause.to_string();
        let first = text.lines().next().unwrap_or_default().trim().to_owned();
        if !first.is_empty()
            && !parts.iter().any(|p| p == &first)
            && !first.starts_with("error while executing at wasm backtrace")
        {
            parts.push(first);
        }
    }
    parts.join(": ")
}

fn compatibility_hash(engine: &Engine) -> String {
    use std::hash::Hash;
    let mut hasher = Sha256Hasher::default();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    Sha256Digest::of(&hasher.0.finalize()).to_string()
}

/// A `Hasher` over sha256, so the engine's `impl Hash` compatibility value gets a stable,
/// collision-resistant digest rather than a 64-bit SipHash.
#[derive(Default)]
struct Sha256Hasher(Sha256);

impl std::hash::Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        let d = self.0.clone().finalize();
        u64::from_le_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// The background thread that advances the engine's epoch: the wall-clock backstop.
struct EpochTicker {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<()>,
}

impl EpochTicker {
    fn start(engine: &Engine, tick: Duration) -> Result<Self, PolicyError> {
        let weak = engine.weak();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("convoy-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(tick);
                    match weak.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })
            .map_err(|e| {
                PolicyError::Engine(EngineProblem::Ticker {
                    detail: e.to_string(),
                })
            })?;
        Ok(EpochTicker { stop, handle })
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.handle.join();
    }
}
