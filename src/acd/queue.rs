//! Queues.

use std::collections::VecDeque;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::AgentId;

/// How a queue picks agents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Strategy {
    /// The eligible agent idle the longest.
    LongestIdle,
    /// The next eligible agent after the last one offered, in the order the
    /// agents were added.
    RoundRobin,
    /// Every eligible agent at once; the first to answer wins.
    RingAll,
    /// The eligible agent that has answered the fewest calls (ties: longest
    /// idle).
    FewestCalls,
    /// The eligible agent with the highest skill score (queue skill level +
    /// levels of the call's required skills; ties: longest idle).
    SkillsWithPriority,
}

/// A skill an agent needs to serve a queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkillRequirement {
    /// Skill name.
    pub skill: String,
    /// Minimum level (1..=10).
    pub min_level: u8,
}

/// Where a call goes when it waited too long.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum OverflowTarget {
    /// Another queue. If the ACD knows it, the call moves there (keeping its
    /// original `entered_at`); otherwise the call leaves the ACD.
    Queue(String),
    /// Send to voicemail; the call leaves the ACD.
    Voicemail,
    /// Offer the caller a callback; the call leaves the ACD (re-enqueue it
    /// as a callback if accepted).
    CallbackOffer,
}

/// Maximum wait and overflow target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverflowRule {
    /// Maximum time waiting in this queue (non-zero).
    pub after: Duration,
    /// Where to send the call then.
    pub to: OverflowTarget,
}

/// Static configuration of a queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueConfig {
    /// Unique name.
    pub name: String,
    /// Agent selection strategy.
    pub strategy: Strategy,
    /// Skill every agent needs to take calls from this queue.
    pub required_skill: Option<SkillRequirement>,
    /// Maximum wait before overflow. Callbacks never overflow.
    pub max_wait: Option<OverflowRule>,
    /// Interval of position / estimated-wait announcements (non-zero).
    pub announce_interval: Option<Duration>,
    /// Wrap-up time (else the global default).
    pub wrap_up: Option<Duration>,
    /// Ring timeout (else the global default).
    pub ring_timeout: Option<Duration>,
    /// Pause agents who do not answer (else the global default).
    pub pause_on_no_answer: Option<bool>,
}

impl QueueConfig {
    /// New queue with no requirement, overflow or announcements.
    pub fn new(name: impl Into<String>, strategy: Strategy) -> Self {
        Self {
            name: name.into(),
            strategy,
            required_skill: None,
            max_wait: None,
            announce_interval: None,
            wrap_up: None,
            ring_timeout: None,
            pause_on_no_answer: None,
        }
    }

    /// Requires a skill at a minimum level.
    pub fn require_skill(mut self, skill: impl Into<String>, min_level: u8) -> Self {
        self.required_skill = Some(SkillRequirement {
            skill: skill.into(),
            min_level,
        });
        self
    }

    /// Overflows calls waiting longer than `after` to `to`.
    pub fn overflow_after(mut self, after: Duration, to: OverflowTarget) -> Self {
        self.max_wait = Some(OverflowRule { after, to });
        self
    }

    /// Announces position and estimated wait every `interval`.
    pub fn announce_every(mut self, interval: Duration) -> Self {
        self.announce_interval = Some(interval);
        self
    }

    /// Sets the wrap-up time.
    pub fn wrap_up(mut self, d: Duration) -> Self {
        self.wrap_up = Some(d);
        self
    }

    /// Sets the ring timeout.
    pub fn ring_timeout(mut self, d: Duration) -> Self {
        self.ring_timeout = Some(d);
        self
    }

    /// Sets "pause after no answer".
    pub fn pause_on_no_answer(mut self, pause: bool) -> Self {
        self.pause_on_no_answer = Some(pause);
        self
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Queue {
    pub(crate) cfg: QueueConfig,
    /// Serving agents, in the order they were added (round-robin order).
    pub(crate) members: Vec<AgentId>,
    pub(crate) rr_last: Option<AgentId>,
    pub(crate) handle_times: VecDeque<Duration>,
}

impl Queue {
    pub(crate) fn new(cfg: QueueConfig) -> Self {
        Self {
            cfg,
            members: Vec::new(),
            rr_last: None,
            handle_times: VecDeque::new(),
        }
    }

    pub(crate) fn record_handle_time(&mut self, d: Duration, window: usize) {
        self.handle_times.push_back(d);
        while self.handle_times.len() > window.max(1) {
            self.handle_times.pop_front();
        }
    }

    /// Mean of the recent handle times, or `default` without samples.
    pub(crate) fn average_handle_time(&self, default: Duration) -> Duration {
        let n = self.handle_times.len();
        if n == 0 {
            return default;
        }
        let total: u128 = self.handle_times.iter().map(Duration::as_nanos).sum();
        let mean = total / n as u128;
        Duration::from_nanos(u64::try_from(mean).unwrap_or(u64::MAX))
    }
}
