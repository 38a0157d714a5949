//! Errors.

use thiserror::Error;

use super::{AgentId, CallId};

/// Why a configuration call or an event was refused.
///
/// Errors from [`Acd::handle`](super::Acd::handle) are not fatal: they mean
/// the event was ignored and the state is unchanged (typically a late event
/// losing a race, e.g. `CallEnded` for a call that already ended). Drivers
/// should log them.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AcdError {
    /// No agent with this id was added.
    #[error("unknown agent {0}")]
    UnknownAgent(AgentId),
    /// No queue with this name was added.
    #[error("unknown queue {0}")]
    UnknownQueue(String),
    /// The call is not (or no longer) known.
    #[error("unknown call {0}")]
    UnknownCall(CallId),
    /// An agent with this id already exists.
    #[error("duplicate agent {0}")]
    DuplicateAgent(AgentId),
    /// A queue with this name already exists.
    #[error("duplicate queue {0}")]
    DuplicateQueue(String),
    /// A call with this id is already being handled.
    #[error("duplicate call {0}")]
    DuplicateCall(CallId),
    /// The agent is not currently being offered this call.
    #[error("call {call} is not offered to agent {agent}")]
    NotOffered {
        /// Agent named in the event.
        agent: AgentId,
        /// Call named in the event.
        call: CallId,
    },
    /// The event does not apply to the agent's current state.
    #[error("agent {agent}: {what}")]
    InvalidAgentState {
        /// Agent named in the event.
        agent: AgentId,
        /// What was refused.
        what: &'static str,
    },
    /// The event does not apply to the call's current state.
    #[error("call {call}: {what}")]
    InvalidCallState {
        /// Call named in the event.
        call: CallId,
        /// What was refused.
        what: &'static str,
    },
    /// A queue, agent or call configuration is invalid.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
}
