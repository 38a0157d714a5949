//! Inputs and outputs of the state machine.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{AgentId, AgentState, CallId, CallInfo, OverflowTarget};

/// Input events, fed with [`Acd::handle`](super::Acd::handle).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// Agent logs in (becomes available).
    AgentLogin {
        /// Agent.
        agent: AgentId,
    },
    /// Agent logs out. While on a call, takes effect when the call ends.
    AgentLogout {
        /// Agent.
        agent: AgentId,
    },
    /// Agent pauses. While on a call or in wrap-up, takes effect afterwards.
    AgentPause {
        /// Agent.
        agent: AgentId,
        /// Reason shown in the state.
        reason: String,
    },
    /// Agent resumes (or cancels a pending pause).
    AgentUnpause {
        /// Agent.
        agent: AgentId,
    },
    /// Agent answered an offered call (or the callback got connected).
    AgentAnswered {
        /// Agent.
        agent: AgentId,
        /// Call.
        call: CallId,
    },
    /// Agent rejected the offer, or its phone reported no answer.
    AgentRejectedOrNoAnswer {
        /// Agent.
        agent: AgentId,
        /// Call.
        call: CallId,
    },
    /// The call ended (either side hung up).
    CallEnded {
        /// Call.
        call: CallId,
    },
    /// The agent's SIP registration / browser session is gone: treated as a
    /// logout (deferred to the end of a connected call).
    AgentRegistrationLost {
        /// Agent.
        agent: AgentId,
    },
    /// A new call waits for an agent.
    CallEnqueued(CallInfo),
    /// The caller hung up while waiting or while being offered.
    CallAbandoned {
        /// Call.
        call: CallId,
    },
    /// The caller chose a callback: it leaves the line but keeps its place.
    CallbackRequested {
        /// Call.
        call: CallId,
    },
    /// Agent ends wrap-up early.
    WrapUpDone {
        /// Agent.
        agent: AgentId,
    },
}

/// Why an agent changed state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeReason {
    /// Agent logged in.
    Login,
    /// Agent logged out.
    Logout,
    /// Registration lost.
    RegistrationLost,
    /// Agent paused.
    Pause,
    /// Agent unpaused.
    Unpause,
    /// A call was offered.
    Offered,
    /// Reserved for a callback being placed.
    CallbackReserved,
    /// Agent answered.
    Answered,
    /// Agent rejected or did not answer in time.
    NoAnswer,
    /// Offer withdrawn (someone else answered, the caller left or chose a
    /// callback); not the agent's fault.
    OfferCancelled,
    /// The connected call ended.
    CallEnded,
    /// Wrap-up time elapsed.
    WrapUpElapsed,
    /// Agent ended wrap-up early.
    WrapUpDone,
    /// The agent was removed from the ACD (deleted).
    Removed,
}

/// Output actions, drained with [`Acd::poll_action`](super::Acd::poll_action).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// Ring these agents with this call.
    OfferCall {
        /// Call.
        call: CallId,
        /// One agent, or several for ring-all.
        agents: Vec<AgentId>,
    },
    /// Stop ringing these agents for this call.
    CancelOffer {
        /// Call.
        call: CallId,
        /// Agents to stop ringing.
        agents: Vec<AgentId>,
    },
    /// Bridge the call to the agent.
    Connect {
        /// Call.
        call: CallId,
        /// Agent.
        agent: AgentId,
    },
    /// Tell the caller its position and estimated wait.
    AnnouncePosition {
        /// Call.
        call: CallId,
        /// 1-based position.
        position: usize,
        /// Estimated wait (see the module docs for the formula).
        estimated_wait: Duration,
    },
    /// The call waited too long. It left the ACD unless `to` is a known queue.
    Overflow {
        /// Call.
        call: CallId,
        /// Target.
        to: OverflowTarget,
    },
    /// Dial the customer back; the agent is reserved (Ringing) meanwhile.
    /// Report the outcome with `AgentAnswered`, `AgentRejectedOrNoAnswer`
    /// or `CallAbandoned` (customer did not pick up).
    PlaceCallback {
        /// Call.
        call: CallId,
        /// Reserved agent.
        agent: AgentId,
    },
    /// An agent changed state (for the call log / live display).
    AgentStateChanged {
        /// Agent.
        agent: AgentId,
        /// Previous state.
        from: AgentState,
        /// New state.
        to: AgentState,
        /// Why.
        reason: ChangeReason,
    },
    /// The agent left the ACD ([`Acd::remove_agent`](super::Acd::remove_agent)),
    /// at once or once its call ended; its id may be added again.
    AgentRemoved {
        /// Agent.
        agent: AgentId,
    },
}
