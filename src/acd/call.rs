//! Calls.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{AgentId, CallId};

/// A call handed to the ACD with [`Event::CallEnqueued`](super::Event::CallEnqueued).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallInfo {
    /// Unique id.
    pub id: CallId,
    /// Queue the call enters.
    pub queue: String,
    /// Caller priority: 0 normal, higher is served first (e.g. VIP).
    pub priority: u8,
    /// Skill name → minimum level the agent needs, on top of the queue's.
    pub required_skills: BTreeMap<String, u8>,
    /// The caller is not on the line: place a callback once an agent is free.
    pub callback: bool,
}

impl CallInfo {
    /// Normal-priority call without extra skill requirements.
    pub fn new(id: impl Into<CallId>, queue: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            queue: queue.into(),
            priority: 0,
            required_skills: BTreeMap::new(),
            callback: false,
        }
    }

    /// Sets the caller priority.
    pub fn priority(mut self, priority: u8) -> Self {
        self.priority = priority;
        self
    }

    /// Requires a skill at a minimum level.
    pub fn skill(mut self, name: impl Into<String>, min_level: u8) -> Self {
        self.required_skills.insert(name.into(), min_level);
        self
    }

    /// Marks the call as a callback request.
    pub fn callback(mut self) -> Self {
        self.callback = true;
        self
    }
}

/// Where a call is, as seen from outside.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CallPhase {
    /// Waiting in its queue at this 1-based position.
    Waiting {
        /// 1-based position.
        position: usize,
    },
    /// Being offered to these agents (callbacks: the reserved agent).
    Offered {
        /// Ringing agents.
        agents: Vec<AgentId>,
    },
    /// Connected to an agent.
    Connected {
        /// The agent.
        agent: AgentId,
    },
}

/// Snapshot of a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallStatus {
    /// Current queue.
    pub queue: String,
    /// Whether it is a callback (caller not on the line).
    pub callback: bool,
    /// Caller priority.
    pub priority: u8,
    /// When the call first entered the ACD.
    pub entered_at: Duration,
    /// Phase.
    pub phase: CallPhase,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Phase {
    Waiting,
    Offering { agents: Vec<AgentId> },
    Connected { agent: AgentId, since: Duration },
}

#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) info: CallInfo,
    pub(crate) entered_at: Duration,
    /// When the call entered its current queue (max-wait clock).
    pub(crate) queue_since: Duration,
    pub(crate) seq: u64,
    pub(crate) phase: Phase,
    pub(crate) next_announce: Option<Duration>,
    /// Agents that did not answer this call; avoided while others exist.
    pub(crate) declined: BTreeSet<AgentId>,
}

impl Call {
    pub(crate) fn is_waiting(&self) -> bool {
        self.phase == Phase::Waiting
    }

    /// Sort key: priority desc, entered_at asc, arrival order.
    pub(crate) fn order_key(&self) -> (std::cmp::Reverse<u8>, Duration, u64) {
        (
            std::cmp::Reverse(self.info.priority),
            self.entered_at,
            self.seq,
        )
    }
}
