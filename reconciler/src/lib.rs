//! The rollout state machine shared by the control plane and `convoy simulate`.
//!
//! A [`Reconciler`] takes [`Event`]s (a verified fleet version, an agent's check-in or
//! report, an operator's action, a tick) and returns [`Action`]s (dispatch host H to closure
//! C for rollout R with confirm deadline D, rollbacks, state transitions, notes and the
//! receipt of every policy evaluation). It does no I/O and has no clock: its [`State`] is
//! plain serde data that the control plane stores and the simulator keeps in memory, and
//! every rule of a rollout comes from the channel's signed policies ([`PolicyChain`]),
//! run by `convoy-host-runtime`. [`ComponentSource`] loads those policies by the hashes
//! the fleet pins; `docs/rollout-semantics.md` says what each state and event means.
#![forbid(unsafe_code)]

mod chain;
mod desired;
pub mod engine;
mod error;
mod event;
mod machine;
mod source;
mod state;

pub use chain::{ChainError, Configured, PolicyChain, PolicySet};
pub use desired::{DesiredChannel, DesiredError, DesiredFleet, DesiredHost};
pub use error::{AgentError, OperatorError, ReconcileError, ReleaseError};
pub use event::{Action, AgentReport, Event, OperatorAction};
pub use machine::{Reconciler, ReconcilerConfig};
pub use source::{ComponentSource, LoadError};
pub use state::{Dispatch, FailedClosure, HostRecord, Outcome, RolloutRecord, RolloutState, State};
