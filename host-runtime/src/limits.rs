//! Per-call resource limits and the store-side limiter that enforces the memory cap.

use std::time::Duration;

/// The budget of one policy evaluation.
///
/// Fuel is the deterministic limit: the same component and input consume the same fuel
/// on every machine, so running out of it is itself a reproducible outcome. Memory is
/// capped by a limiter that makes a refused `memory.grow` trap instead of returning -1
/// (a guest that handles -1 could take a different, machine-dependent path). The timeout
/// is only a wall-clock backstop for a host that is too slow to reach the fuel limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Fuel (roughly, wasm instructions) one call may consume.
    pub fuel: u64,
    /// Largest linear memory (bytes) the guest may grow to.
    pub memory_bytes: u64,
    /// Wall-clock deadline of one call, enforced by epoch interruption.
    pub timeout: Duration,
    /// Most bytes the host copies out of the guest for one result (strings and lists),
    /// so a result that aliases one large string a million times cannot exhaust the host.
    pub max_output_bytes: u64,
}

impl Default for Limits {
    /// Generous enough for the built-in policies on a 10,000-host fleet, small enough that a
    /// runaway policy is stopped in about a second.
    fn default() -> Self {
        Limits {
            fuel: 4_000_000_000,
            memory_bytes: 256 * 1024 * 1024,
            timeout: Duration::from_secs(10),
            max_output_bytes: 32 * 1024 * 1024,
        }
    }
}

/// Marker error returned by the limiter; the evaluator recognises it in the trap chain
/// and turns it into [`crate::PolicyError::MemoryExceeded`].
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("linear memory grow to {requested} bytes refused (cap {cap})")]
pub(crate) struct MemoryCapHit {
    pub(crate) cap: u64,
    pub(crate) requested: u64,
}

/// The per-store limiter. One store serves exactly one evaluation.
pub(crate) struct StoreLimiter {
    pub(crate) memory_cap: u64,
    pub(crate) max_tables_elements: usize,
}

impl wasmtime::ResourceLimiter for StoreLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let desired = u64::try_from(desired).unwrap_or(u64::MAX);
        if desired > self.memory_cap {
            // An error (not `Ok(false)`) makes wasmtime trap the guest.
            return Err(wasmtime::Error::new(MemoryCapHit {
                cap: self.memory_cap,
                requested: desired,
            }));
        }
        Ok(true)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        // The OS refused memory the cap allowed: still a trap, never a -1 the guest sees.
        Err(error.context("linear memory grow failed"))
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_tables_elements {
            return Err(wasmtime::Error::msg(format!(
                "table grow to {desired} elements refused"
            )));
        }
        Ok(true)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        Err(error.context("table grow failed"))
    }
}
