//! Per-call resource limits and the store-side limiter that enforces the memory cap.

use std::time::Duration;

use crate::error::ResourceLimit;
use crate::scan::COMPONENT_LIMITS;

/// The budget of one policy evaluation.
///
/// Fuel is the deterministic limit: the same component and input consume the same fuel
/// on every machine, so running out of it is itself a reproducible outcome. Memory is
/// capped by a limiter that makes a refused `memory.grow` trap instead of returning -1
/// (a guest that handles -1 could take a different, machine-dependent path). The timeout
/// is only a wall-clock backstop for a host that is too slow to reach the fuel limit; it
/// must stay at least 10x above `fuel` times the worst time per fuel unit
/// (`examples/fuel_calibration.rs`), and a timeout is never a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Fuel (roughly, wasm instructions) one call may consume.
    pub fuel: u64,
    /// Most bytes the guest's memories and tables may take together (all of them, in every
    /// core instance of the component; a table element counts [`TABLE_ELEMENT_BYTES`]).
    pub memory_bytes: u64,
    /// Wall-clock deadline of one call, enforced by epoch interruption.
    pub timeout: Duration,
    /// Most bytes the host copies out of the guest for one result (strings and lists),
    /// so a result that aliases one large string a million times cannot exhaust the host.
    pub max_output_bytes: u64,
}

impl Default for Limits {
    /// Fuel: 100 M, about 4x the heaviest built-in call on a 10,000-host fleet (24 M).
    /// Deadline: 600 s, so that even at the worst measured time per fuel unit (329 ns, a
    /// cache- and TLB-missing pointer chase across the memory cap, on a busy 2-core VM) the
    /// whole budget (33 s) stays 18x below it: fuel decides, never the clock. The
    /// calculation and its command are in `docs/policy-runtime.md`.
    fn default() -> Self {
        Limits {
            fuel: 100_000_000,
            memory_bytes: 256 * 1024 * 1024,
            timeout: Duration::from_secs(600),
            max_output_bytes: 32 * 1024 * 1024,
        }
    }
}

/// Marker error returned by the limiter; the evaluator recognises it in the trap chain
/// and turns it into [`crate::PolicyError::ResourceExceeded`].
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("{0}")]
pub(crate) struct LimitHit(pub(crate) ResourceLimit);

/// What one table element is counted as against the memory cap: a function reference
/// is a pointer in wasmtime's tables.
pub const TABLE_ELEMENT_BYTES: u64 = 8;

/// Most elements one table may have (a policy needs a few hundred for its function
/// pointers); also the size of the instance pool's table slots, so the limiter decides
/// before the pool could refuse.
pub const MAX_TABLE_ELEMENTS: u64 = 1 << 16;

/// The per-store limiter. One store serves exactly one evaluation, so its running total
/// is the call's: every linear memory and every table of every core instance of the
/// component counts against one cap, however many of them the component has.
pub(crate) struct StoreLimiter {
    /// [`Limits::memory_bytes`].
    cap: u64,
    /// Bytes of all memories plus [`TABLE_ELEMENT_BYTES`] per element of all tables.
    total: u64,
}

impl StoreLimiter {
    pub(crate) fn new(cap: u64) -> Self {
        StoreLimiter { cap, total: 0 }
    }

    /// Moves the running total from `current` to `desired` bytes of one memory or table,
    /// or refuses with the typed error that makes wasmtime trap the guest.
    fn grow(&mut self, current: u64, desired: u64) -> wasmtime::Result<bool> {
        let total = self.total.saturating_sub(current).saturating_add(desired);
        if total > self.cap {
            // An error (not `Ok(false)`) makes wasmtime trap the guest: a guest that handles
            // -1 could take a different, machine-dependent path.
            return Err(wasmtime::Error::new(LimitHit(ResourceLimit::Memory {
                cap_bytes: self.cap,
                requested_bytes: total,
            })));
        }
        self.total = total;
        Ok(true)
    }
}

fn to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

impl wasmtime::ResourceLimiter for StoreLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.grow(to_u64(current), to_u64(desired))
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        // The OS refused memory the cap allowed: still a trap, never a -1 the guest sees.
        Err(error.context("linear memory grow failed"))
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let desired = to_u64(desired);
        if desired > MAX_TABLE_ELEMENTS {
            return Err(wasmtime::Error::new(LimitHit(
                ResourceLimit::TableElements {
                    cap: MAX_TABLE_ELEMENTS,
                    requested: desired,
                },
            )));
        }
        self.grow(
            to_u64(current).saturating_mul(TABLE_ELEMENT_BYTES),
            desired.saturating_mul(TABLE_ELEMENT_BYTES),
        )
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        Err(error.context("table grow failed"))
    }

    // Counts per store, i.e. per call. The pre-scan refuses a component past these at
    // load ([`crate::scan`]), so a loaded policy never reaches them.
    fn instances(&self) -> usize {
        COMPONENT_LIMITS.core_instances as usize
    }

    fn memories(&self) -> usize {
        COMPONENT_LIMITS.memories as usize
    }

    fn tables(&self) -> usize {
        COMPONENT_LIMITS.tables as usize
    }
}
