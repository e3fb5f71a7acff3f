//! The typed failures of loading and evaluating a policy.
//!
//! One top-level [`PolicyError`] wraps typed sub-enums ([`Rejection`], [`ResourceLimit`],
//! [`OutputViolation`], [`InputProblem`], [`CacheProblem`], [`EngineProblem`]), as rustls'
//! `Error` wraps `PeerMisbehaved` and `CertificateError`: callers switch on variants, never
//! on message text. Every variant and sub-variant has a stable [`PolicyError::code`] /
//! `code()` for logs, JSON output, metrics and tests. Text that came from a guest (export
//! and import names, function names from its name section) is made printable by
//! [`crate::text::printable`] before it is stored here.

use convoy_proto::PolicyKind;

use crate::abi::attestation::TrustLevel;
use crate::abi::types::RolloutState;
use crate::scan::ComponentLimit;

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
    /// The bytes are not an acceptable policy component.
    #[error("policy {policy}: rejected module: {reason}")]
    RejectedModule {
        /// Policy name.
        policy: String,
        /// What was wrong with it.
        reason: Rejection,
    },
    /// The evaluation used up its fuel budget (the deterministic instruction budget).
    #[error("policy {policy}: out of fuel (budget {budget})")]
    OutOfFuel {
        /// Policy name.
        policy: String,
        /// The fuel budget of the call.
        budget: u64,
    },
    /// The guest went past a resource limit of the call (memory, table elements).
    #[error("policy {policy}: {limit}")]
    ResourceExceeded {
        /// Policy name.
        policy: String,
        /// Which limit, and by how much.
        limit: ResourceLimit,
    },
    /// The wall-clock backstop (epoch deadline) fired before the call returned: "no
    /// decision", never a verdict (the fuel budget is set so that a call within it cannot
    /// reach the deadline, see `docs/policy-runtime.md`).
    #[error("policy {policy}: timed out after {millis} ms")]
    Timeout {
        /// Policy name.
        policy: String,
        /// The deadline in milliseconds.
        millis: u64,
    },
    /// The guest trapped: a panic (`unreachable`), an out-of-bounds access, a stack
    /// overflow...
    #[error("policy {policy}: trapped: {trap}")]
    Trap {
        /// Policy name.
        policy: String,
        /// What happened and where.
        trap: GuestTrap,
    },
    /// The policy returned a value that breaks the contract of its world (for example a
    /// gate admitting a host that was not a candidate).
    #[error("policy {policy}: invalid output: {violation}")]
    InvalidOutput {
        /// Policy name.
        policy: String,
        /// Which rule the output broke.
        violation: OutputViolation,
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
    /// The local compiled-code cache could not be used.
    #[error("compiled-code cache at {path}: {problem}")]
    Cache {
        /// The file or directory involved.
        path: String,
        /// What was wrong.
        problem: CacheProblem,
    },
    /// The call's input could not be given to the policy.
    #[error("policy {policy}: input refused: {problem}")]
    Input {
        /// Policy name.
        policy: String,
        /// What was wrong with it.
        problem: InputProblem,
    },
    /// The hosts given could not become a fleet snapshot (a repeated name, say).
    #[error(transparent)]
    Snapshot(#[from] crate::SnapshotError),
    /// The engine itself failed: not the policy's fault.
    #[error("wasm engine: {0}")]
    Engine(EngineProblem),
}

impl PolicyError {
    /// A short stable name of the variant, for logs, JSON output and tests.
    pub fn code(&self) -> &'static str {
        match self {
            PolicyError::HashMismatch { .. } => "hash-mismatch",
            PolicyError::RejectedModule { .. } => "rejected-module",
            PolicyError::OutOfFuel { .. } => "out-of-fuel",
            PolicyError::ResourceExceeded { .. } => "resource-exceeded",
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

    /// The stable code of the sub-variant, for the variants that have one
    /// (`rejected-module` → `imports`, `resource-exceeded` → `memory`...).
    pub fn sub_code(&self) -> Option<&'static str> {
        Some(match self {
            PolicyError::RejectedModule { reason, .. } => reason.code(),
            PolicyError::ResourceExceeded { limit, .. } => limit.code(),
            PolicyError::InvalidOutput { violation, .. } => violation.code(),
            PolicyError::Cache { problem, .. } => problem.code(),
            PolicyError::Input { problem, .. } => problem.code(),
            PolicyError::Engine(problem) => problem.code(),
            _ => return None,
        })
    }

    /// Whether the failure says something about the policy component itself (as opposed
    /// to this host's engine, cache or the caller's input). A reconciler treats every
    /// error as "no decision this tick"; this tells it whom to alert.
    pub fn is_policy_fault(&self) -> bool {
        !matches!(
            self,
            PolicyError::Cache { .. }
                | PolicyError::Input { .. }
                | PolicyError::Snapshot(_)
                | PolicyError::Engine(_)
                | PolicyError::WrongKind { .. }
        )
    }
}

/// Why a component is not an acceptable policy ([`PolicyError::RejectedModule`]).
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Past a documented limit of the pre-scan (size, functions, instances...), refused
    /// before compilation.
    #[error("{limit} is {value}, past the limit of {max}")]
    PastLimit {
        /// Which limit.
        limit: ComponentLimit,
        /// What the component has (at least; the scan stops at the first excess).
        value: u64,
        /// The limit.
        max: u64,
    },
    /// Not a valid WebAssembly component (a core module, garbage, or invalid wasm).
    #[error("not a valid component: {detail}")]
    NotAComponent {
        /// The validator's or compiler's explanation.
        detail: String,
    },
    /// It imports something with behaviour; a policy world imports nothing.
    #[error("imports {} (a policy world imports nothing: no WASI, no clock, no I/O)", .imports.join(", "))]
    Imports {
        /// The imports (names made printable).
        imports: Vec<String>,
    },
    /// Its exports are not its world's.
    #[error("exports [{}] but world {world} exports [{}]", .found.join(", "), .expected.join(", "))]
    Exports {
        /// What it exports (names made printable).
        found: Vec<String>,
        /// The world it had to implement.
        world: String,
        /// What the world exports.
        expected: Vec<&'static str>,
    },
    /// Its exports have the world's names but not its signatures.
    #[error("export signatures do not match world {world}: {detail}")]
    Signature {
        /// The world.
        world: String,
        /// wasmtime's type-check explanation.
        detail: String,
    },
    /// It cannot be instantiated with nothing imported (a start function that traps, say).
    #[error("instantiation fails: {detail}")]
    Instantiation {
        /// What failed.
        detail: String,
    },
}

impl Rejection {
    /// The stable code of the sub-variant.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::PastLimit { .. } => "past-limit",
            Rejection::NotAComponent { .. } => "not-a-component",
            Rejection::Imports { .. } => "imports",
            Rejection::Exports { .. } => "exports",
            Rejection::Signature { .. } => "signature",
            Rejection::Instantiation { .. } => "instantiation",
        }
    }
}

/// A resource limit of one call that the guest went past ([`PolicyError::ResourceExceeded`]).
#[derive(Debug, thiserror::Error, Clone, Copy, PartialEq, Eq)]
pub enum ResourceLimit {
    /// Memories and tables of the store together would exceed the call's memory cap
    /// ([`crate::Limits::memory_bytes`]).
    #[error(
        "memory exceeded (cap {cap_bytes} bytes across all memories and tables, wanted {requested_bytes})"
    )]
    Memory {
        /// The memory cap of the call in bytes.
        cap_bytes: u64,
        /// The total the store would have had after the grow.
        requested_bytes: u64,
    },
    /// One table would have more elements than a table may have.
    #[error("table exceeded (cap {cap} elements, wanted {requested})")]
    TableElements {
        /// The element cap of one table.
        cap: u64,
        /// The size the guest asked to grow to.
        requested: u64,
    },
}

impl ResourceLimit {
    /// The stable code of the sub-variant.
    pub fn code(&self) -> &'static str {
        match self {
            ResourceLimit::Memory { .. } => "memory",
            ResourceLimit::TableElements { .. } => "table",
        }
    }
}

/// A trap of the guest ([`PolicyError::Trap`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestTrap {
    /// wasmtime's trap code, as it names it (`wasm trap: wasm \`unreachable\` instruction
    /// executed`).
    pub code: String,
    /// The innermost guest function that is not Rust's panic machinery, from the
    /// component's name section (made printable and cut to length).
    pub function: Option<String>,
    /// Whether the stack shows Rust's panic machinery: a `wasm32-unknown-unknown` panic
    /// ends in `unreachable`, its message never leaves the sandbox (no imports).
    pub panicked: bool,
}

impl std::fmt::Display for GuestTrap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.panicked, &self.function) {
            (true, Some(func)) => write!(f, "guest panicked in `{func}` ({})", self.code),
            (true, None) => write!(f, "guest panicked ({})", self.code),
            (false, Some(func)) => write!(f, "{} in `{func}`", self.code),
            (false, None) => f.write_str(&self.code),
        }
    }
}

/// Which list of a decision a host-id was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecisionList {
    /// A plan's candidates.
    Candidates,
    /// A verdict's admitted hosts.
    Admitted,
    /// A verdict's refused hosts.
    Refused,
}

impl std::fmt::Display for DecisionList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DecisionList::Candidates => "candidate",
            DecisionList::Admitted => "admitted",
            DecisionList::Refused => "refused",
        })
    }
}

/// Why a reason a decision points at cannot be shown to an operator.
#[derive(Debug, thiserror::Error, Clone, Copy, PartialEq, Eq)]
pub enum ReasonProblem {
    /// The reason-id is past the end of the decision's reason table.
    #[error("reason-id {id} is beyond the {len} reasons")]
    Beyond {
        /// The reason-id.
        id: u32,
        /// How many reasons the table has.
        len: usize,
    },
    /// The reason is blank: nothing but whitespace, control and invisible characters.
    #[error("reason {id} is blank")]
    Blank {
        /// The reason-id.
        id: u32,
    },
}

/// A rule of a world's output contract that a decision broke ([`PolicyError::InvalidOutput`]).
///
/// Host names here come from the host's own snapshot, never from the guest.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum OutputViolation {
    /// A host-id that is not in the snapshot.
    #[error("{list} host-id {id} is not in the snapshot")]
    UnknownHost {
        /// Where it was.
        list: DecisionList,
        /// The host-id.
        id: u32,
    },
    /// A gate decided about a host that was not a candidate.
    #[error("{list} host `{host}` was not a candidate")]
    NotACandidate {
        /// Admitted or refused.
        list: DecisionList,
        /// The host.
        host: String,
    },
    /// A gate decided about a candidate twice.
    #[error("candidate `{host}` decided twice")]
    DecidedTwice {
        /// The host.
        host: String,
    },
    /// A gate's admitted or refused hosts are not in candidate order.
    #[error("{list} hosts are not in candidate order at `{host}`")]
    OutOfOrder {
        /// Admitted or refused.
        list: DecisionList,
        /// The first host out of order.
        host: String,
    },
    /// A gate left a candidate undecided.
    #[error("candidate `{host}` neither admitted nor refused")]
    Undecided {
        /// The host.
        host: String,
    },
    /// A refusal or a plan's candidate has no readable reason.
    #[error("{list} `{host}` has no reason ({problem})")]
    MissingReason {
        /// Where the host was.
        list: DecisionList,
        /// The host.
        host: String,
        /// What is wrong with the reason.
        problem: ReasonProblem,
    },
    /// A plan dispatches a host of another channel than its rollout's.
    #[error("candidate `{host}` is not a host of the rollout's channel `{channel}`")]
    OtherChannel {
        /// The host.
        host: String,
        /// The rollout's channel.
        channel: String,
    },
    /// A plan lists a host twice.
    #[error("candidate `{host}` listed twice")]
    ListedTwice {
        /// The host.
        host: String,
    },
    /// A plan promotes to the current wave or an earlier one.
    #[error("promotes to wave {wave}, not after the current wave {current}")]
    PromotesBackward {
        /// The wave promoted to.
        wave: u32,
        /// The current wave.
        current: u32,
    },
    /// A plan promotes past the next wave, skipping a wave's soak and health gate.
    #[error("promotes to wave {wave}, skipping waves after the current wave {current}")]
    PromotesSkipping {
        /// The wave promoted to.
        wave: u32,
        /// The current wave.
        current: u32,
    },
    /// A plan promotes past the last wave the channel configures.
    #[error("promotes to wave {wave}, but the channel configures {waves} waves")]
    PromotesPastLastWave {
        /// The wave promoted to.
        wave: u32,
        /// How many waves the channel configures.
        waves: u32,
    },
    /// A hold, halt or rollback step without a reason.
    #[error("a hold or halt without a reason")]
    StepWithoutReason,
    /// A halting or converging plan dispatches hosts.
    #[error("a halted or converged rollout dispatches no candidate")]
    DispatchWhileStopping,
    /// A plan for a rollout that is not `running` dispatches hosts.
    #[error("the rollout is {state:?}, not running: it dispatches no candidate")]
    DispatchWhileNotRunning {
        /// The rollout's state.
        state: RolloutState,
    },
    /// A health or attestation verdict without a reason.
    #[error("verdict without a reason")]
    VerdictWithoutReason,
    /// An attestation verdict lifts an expulsion.
    #[error("an expelled host cannot become {standing:?} without re-enrollment")]
    ExpelledRecovers {
        /// The standing the policy gave.
        standing: TrustLevel,
    },
    /// The output cannot be written as canonical JSON for its receipt.
    #[error("output not representable as canonical JSON: {detail}")]
    NotCanonical {
        /// What failed.
        detail: String,
    },
    /// The canonical ABI could not lift the result: an out-of-bounds pointer, invalid
    /// UTF-8, an unknown case, or more bytes than [`crate::Limits::max_output_bytes`]
    /// (wasmtime reports that last one with no type of its own, so it is not told apart
    /// from the others).
    #[error("malformed result: {detail}")]
    Unliftable {
        /// wasmtime's explanation, made printable.
        detail: String,
    },
}

impl OutputViolation {
    /// The stable code of the sub-variant.
    pub fn code(&self) -> &'static str {
        match self {
            OutputViolation::UnknownHost { .. } => "unknown-host",
            OutputViolation::NotACandidate { .. } => "not-a-candidate",
            OutputViolation::DecidedTwice { .. } => "decided-twice",
            OutputViolation::OutOfOrder { .. } => "out-of-order",
            OutputViolation::Undecided { .. } => "undecided",
            OutputViolation::MissingReason { .. } => "missing-reason",
            OutputViolation::OtherChannel { .. } => "other-channel",
            OutputViolation::ListedTwice { .. } => "listed-twice",
            OutputViolation::PromotesBackward { .. } => "promotes-backward",
            OutputViolation::PromotesSkipping { .. } => "promotes-skipping",
            OutputViolation::PromotesPastLastWave { .. } => "promotes-past-last-wave",
            OutputViolation::StepWithoutReason => "step-without-reason",
            OutputViolation::DispatchWhileStopping => "dispatch-while-stopping",
            OutputViolation::DispatchWhileNotRunning { .. } => "dispatch-while-not-running",
            OutputViolation::VerdictWithoutReason => "verdict-without-reason",
            OutputViolation::ExpelledRecovers { .. } => "expelled-recovers",
            OutputViolation::NotCanonical { .. } => "not-canonical",
            OutputViolation::Unliftable { .. } => "unliftable",
        }
    }
}

/// What was wrong with a call's input ([`PolicyError::Input`]).
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum InputProblem {
    /// The configuration is not representable as the canonical JSON the guest receives.
    #[error("configuration: {detail}")]
    Config {
        /// What failed.
        detail: String,
    },
    /// A call given as data ([`crate::PolicyCall`]) does not decode as its world's input.
    #[error("input does not decode: {detail}")]
    Decode {
        /// Where and why.
        detail: String,
    },
    /// A gate's candidate host-id is not in the snapshot.
    #[error("candidate host-id {id} is not in the snapshot of {hosts} hosts")]
    UnknownCandidate {
        /// The host-id.
        id: u32,
        /// How many hosts the snapshot has.
        hosts: usize,
    },
    /// The input is not representable as canonical JSON (for the receipt's input hash).
    #[error("input not representable as canonical JSON: {detail}")]
    NotCanonical {
        /// What failed.
        detail: String,
    },
}

impl InputProblem {
    /// The stable code of the sub-variant.
    pub fn code(&self) -> &'static str {
        match self {
            InputProblem::Config { .. } => "config",
            InputProblem::Decode { .. } => "decode",
            InputProblem::UnknownCandidate { .. } => "unknown-candidate",
            InputProblem::NotCanonical { .. } => "not-canonical",
        }
    }
}

/// Why the compiled-code cache could not be used ([`PolicyError::Cache`]).
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum CacheProblem {
    /// Reading, writing or creating failed.
    #[error("{detail}")]
    Io {
        /// The OS error.
        detail: String,
    },
    /// The directory can be written by someone other than this user: compiled code in it
    /// is deserialised without validation, so it is refused.
    #[error("group- or world-writable (mode {mode:o}); the cache must be private (0700)")]
    Writable {
        /// The directory's permission bits.
        mode: u32,
    },
    /// The directory belongs to another user.
    #[error("owned by uid {owner}, not by this process's uid {me}")]
    ForeignOwner {
        /// The owner's uid.
        owner: u32,
        /// This process's effective uid.
        me: u32,
    },
    /// The path exists and is not a directory.
    #[error("not a directory")]
    NotADirectory,
}

impl CacheProblem {
    /// The stable code of the sub-variant.
    pub fn code(&self) -> &'static str {
        match self {
            CacheProblem::Io { .. } => "io",
            CacheProblem::Writable { .. } => "writable",
            CacheProblem::ForeignOwner { .. } => "foreign-owner",
            CacheProblem::NotADirectory => "not-a-directory",
        }
    }
}

/// A failure of the engine itself ([`PolicyError::Engine`]).
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum EngineProblem {
    /// wasmtime refused the configuration.
    #[error("configuring wasmtime: {detail}")]
    Configure {
        /// wasmtime's explanation.
        detail: String,
    },
    /// The epoch ticker thread could not start.
    #[error("starting the epoch ticker: {detail}")]
    Ticker {
        /// The OS error.
        detail: String,
    },
    /// A fresh instance could not be made for a call (every slot of the instance pool is
    /// taken, say): not queued, not half-run.
    #[error("`{policy}`: instantiating the policy: {detail}")]
    Instantiate {
        /// Policy name.
        policy: String,
        /// wasmtime's explanation.
        detail: String,
    },
    /// Setting up the call's store failed.
    #[error("setting up the store: {detail}")]
    Store {
        /// wasmtime's explanation.
        detail: String,
    },
    /// A compiled component could not be serialised for the cache.
    #[error("serialising compiled component: {detail}")]
    Serialize {
        /// wasmtime's explanation.
        detail: String,
    },
}

impl EngineProblem {
    /// The stable code of the sub-variant.
    pub fn code(&self) -> &'static str {
        match self {
            EngineProblem::Configure { .. } => "configure",
            EngineProblem::Ticker { .. } => "ticker",
            EngineProblem::Instantiate { .. } => "instantiate",
            EngineProblem::Store { .. } => "store",
            EngineProblem::Serialize { .. } => "serialize",
        }
    }
}
