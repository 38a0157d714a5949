//! Agents: configuration, public state and internal bookkeeping.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::event::ChangeReason;
use super::{AgentId, CallId};

/// Pause reason used when an agent is paused for not answering an offer.
pub const NO_ANSWER_REASON: &str = "no answer";

/// Static configuration of an agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentConfig {
    /// Unique id.
    pub id: AgentId,
    /// Display name.
    pub name: String,
    /// Skill name → level (1..=10).
    pub skills: BTreeMap<String, u8>,
    /// Names of the queues this agent serves.
    pub queues: Vec<String>,
    /// Wrap-up time override (else the queue's, else the global default).
    pub wrap_up: Option<Duration>,
    /// Ring timeout override (else the queue's, else the global default).
    pub ring_timeout: Option<Duration>,
    /// "Pause after no answer" override (else the queue's, else global).
    pub pause_on_no_answer: Option<bool>,
}

impl AgentConfig {
    /// New agent serving no queue and with no skill.
    pub fn new(id: impl Into<AgentId>, name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            skills: BTreeMap::new(),
            queues: Vec::new(),
            wrap_up: None,
            ring_timeout: None,
            pause_on_no_answer: None,
        }
    }

    /// Adds a skill with a level (1..=10).
    pub fn skill(mut self, name: impl Into<String>, level: u8) -> Self {
        self.skills.insert(name.into(), level);
        self
    }

    /// Adds a served queue.
    pub fn queue(mut self, name: impl Into<String>) -> Self {
        self.queues.push(name.into());
        self
    }

    /// Sets the wrap-up override.
    pub fn wrap_up(mut self, d: Duration) -> Self {
        self.wrap_up = Some(d);
        self
    }

    /// Sets the ring timeout override.
    pub fn ring_timeout(mut self, d: Duration) -> Self {
        self.ring_timeout = Some(d);
        self
    }

    /// Sets the "pause after no answer" override.
    pub fn pause_on_no_answer(mut self, pause: bool) -> Self {
        self.pause_on_no_answer = Some(pause);
        self
    }
}

/// Live state of an agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AgentState {
    /// Not working.
    LoggedOut,
    /// Free to take a call; `since` is when the agent became idle.
    Available {
        /// Start of the idle period (used by longest-idle routing).
        since: Duration,
    },
    /// A call (or a callback placement) is offered to the agent.
    Ringing {
        /// Offered call.
        call: CallId,
        /// When the offer times out.
        until: Duration,
    },
    /// Talking.
    OnCall {
        /// Connected call.
        call: CallId,
    },
    /// After-call work.
    WrapUp {
        /// When wrap-up ends automatically.
        until: Duration,
    },
    /// Logged in but not taking calls.
    Paused {
        /// Why (e.g. [`NO_ANSWER_REASON`]).
        reason: String,
    },
}

impl AgentState {
    /// True unless [`AgentState::LoggedOut`].
    pub fn is_logged_in(&self) -> bool {
        !matches!(self, AgentState::LoggedOut)
    }
}

/// Something to do once the agent's current call ends.
#[derive(Debug, Clone)]
pub(crate) enum Pending {
    Logout(ChangeReason),
    Pause(String),
    /// The agent was removed while on a call: it leaves once the call ends.
    Remove,
}

#[derive(Debug, Clone)]
pub(crate) struct Agent {
    pub(crate) cfg: AgentConfig,
    pub(crate) state: AgentState,
    /// Start of the current/last idle period, restored when an offer is
    /// withdrawn through no fault of the agent.
    pub(crate) idle_since: Duration,
    pub(crate) calls_taken: u64,
    pub(crate) pending: Option<Pending>,
}

impl Agent {
    pub(crate) fn new(cfg: AgentConfig) -> Self {
        Self {
            cfg,
            state: AgentState::LoggedOut,
            idle_since: Duration::ZERO,
            calls_taken: 0,
            pending: None,
        }
    }

    pub(crate) fn skill_level(&self, skill: &str) -> u8 {
        self.cfg.skills.get(skill).copied().unwrap_or(0)
    }

    pub(crate) fn serves(&self, queue: &str) -> bool {
        self.cfg.queues.iter().any(|q| q == queue)
    }
}
