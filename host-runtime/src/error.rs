//! The typed failures of loading and evaluating a policy.

use convoy_proto::PolicyKind;

/// Why a policy could not be loaded or evaluated.
///
/// Every variant names what failed; none of them is ever acted upon as a decision. A caller
/// that gets an error from an evaluation treats the policy as having said nothing (the
/// control plane holds, the agent rolls back), never as having admitted anything.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum PolicyError {
    /// The component's bytes do not hash to what the signed manifest pins. Raised before
    /// any parsing or compilation of the bytes.
    #[error("policy {policy}: sha256 {actual} does not match the pinned {expected}")]
    HashMismatch {
        /// Policy name from the manifest.
        policy: String,
        /// The sha256 the verified manifest pins (lowercase hex).
        expected: String,
        /// The sha256 of the bytes that were offered (lowercase hex).
        actual: String,
    },
    /// The bytes are not an acceptable policy component: not a component at all, it
    /// imports something, or its exports do not match the expected world.
    #[error("policy {policy}: rejected module: {reason}")]
    RejectedModule {
        /// Policy name.
        policy: String,
        /// What was wrong with it, in one line.
        reason: String,
    },
    /// The evaluation used up its fuel budget (the deterministic instruction budget).
    #[error("policy {policy}: out of fuel (budget {budget})")]
    OutOfFuel {
        /// Policy name.
        policy: String,
        /// The fuel budget of the call.
        budget: u64,
    },
    /// The guest tried to grow its linear memory beyond the cap.
    #[error("policy {policy}: memory exceeded (cap {cap_bytes} bytes, wanted {requested_bytes})")]
    MemoryExceeded {
        /// Policy name.
        policy: String,
        /// The memory cap of the call in bytes.
        cap_bytes: u64,
        /// The size the guest asked to grow to.
        requested_bytes: u64,
    },
    /// The wall-clock backstop (epoch deadline) fired before the call returned.
    #[error("policy {policy}: timed out after {millis} ms")]
    Timeout {
        /// Policy name.
        policy: String,
        /// The deadline in milliseconds.
        millis: u64,
    },
    /// The guest trapped: a panic (`unreachable`), an out-of-bounds access, a stack
    /// overflow, or an error the guest returned for a call that has no other way to fail.
    #[error("policy {policy}: trapped: {message}")]
    Trap {
        /// Policy name.
        policy: String,
        /// A one-line summary: the guest's panic message or error where it gave one,
        /// otherwise the trap code and the guest function it happened in.
        message: String,
    },
    /// The policy returned a value that breaks the contract of its world (for example a
    /// gate admitting a host that was not a candidate).
    #[error("policy {policy}: invalid output: {reason}")]
    InvalidOutput {
        /// Policy name.
        policy: String,
        /// Which rule the output broke.
        reason: String,
    },
    /// The policy was asked for a call of another world than the one it implements.
    #[error("policy {policy} implements the {actual:?} world, not {wanted:?}")]
    WrongKind {
        /// Policy name.
        policy: String,
        /// The world the call needs.
        wanted: PolicyKind,
        /// The world the policy was loaded as.
        actual: PolicyKind,
    },
    /// The local compiled-code cache could not be read or written.
    #[error("compiled-code cache at {path}: {reason}")]
    Cache {
        /// The file or directory involved.
        path: String,
        /// The I/O or format problem.
        reason: String,
    },
    /// The call's input could not be encoded (it is not representable as canonical JSON).
    #[error("policy {policy}: input not encodable: {reason}")]
    Input {
        /// Policy name.
        policy: String,
        /// What failed.
        reason: String,
    },
    /// The hosts given could not become a fleet snapshot (a repeated name, say).
    #[error(transparent)]
    Snapshot(#[from] crate::SnapshotError),
    /// The engine itself failed (configuration or an internal wasmtime error).
    #[error("wasm engine: {0}")]
    Engine(String),
}

impl PolicyError {
    /// A short stable name of the variant, for logs, JSON output and tests.
    pub fn code(&self) -> &'static str {
        match self {
            PolicyError::HashMismatch { .. } => "hash-mismatch",
            PolicyError::RejectedModule { .. } => "rejected-module",
            PolicyError::OutOfFuel { .. } => "out-of-fuel",
            PolicyError::MemoryExceeded { .. } => "memory-exceeded",
            PolicyError::Timeout { .. } => "timeout",
            PolicyError::Trap { .. } => "trap",
            PolicyError::InvalidOutput { .. } => "invalid-output",
            PolicyError::WrongKind { .. } => "wrong-kind",
            PolicyError::Cache { .. } => "cache",
            PolicyError::Input { .. } => "input",
            PolicyError::Snapshot(_) => "snapshot",
            PolicyError::Engine(_) => "engine",
        }
    }
}
