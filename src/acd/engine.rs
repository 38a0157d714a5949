//! The ACD state machine.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::agent::{Agent, Pending};
use super::call::{Call, Phase};
use super::queue::Queue;
use super::routing;
use super::{
    AcdError, Action, AgentConfig, AgentId, AgentState, CallId, CallInfo, CallPhase, CallStatus,
    ChangeReason, Event, OverflowTarget, QueueConfig, Strategy, NO_ANSWER_REASON,
};

/// Global defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcdConfig {
    /// Default wrap-up time after a call.
    pub wrap_up: Duration,
    /// Default time an offer rings before it counts as no answer.
    pub ring_timeout: Duration,
    /// Default for pausing an agent who does not answer an offer.
    pub pause_on_no_answer: bool,
    /// Handle time assumed while a queue has no sample yet.
    pub default_handle_time: Duration,
    /// Number of recent handle times averaged (at least 1).
    pub handle_time_window: usize,
}

impl Default for AcdConfig {
    fn default() -> Self {
        Self {
            wrap_up: Duration::from_secs(10),
            ring_timeout: Duration::from_secs(15),
            pause_on_no_answer: true,
            default_handle_time: Duration::from_secs(180),
            handle_time_window: 20,
        }
    }
}

/// The ACD: queues, agents, waiting calls and routing decisions.
#[derive(Debug, Clone)]
pub struct Acd {
    config: AcdConfig,
    agents: BTreeMap<AgentId, Agent>,
    queues: BTreeMap<String, Queue>,
    calls: BTreeMap<CallId, Call>,
    actions: VecDeque<Action>,
    next_seq: u64,
}

fn valid_level(level: u8) -> bool {
    (1..=10).contains(&level)
}

/// Takes `agent` out of `queue`'s members. Round robin goes on from the
/// member before it, as if it had never been there.
fn forget_member(queue: &mut Queue, agent: &AgentId) {
    let Some(index) = queue.members.iter().position(|m| m == agent) else {
        return;
    };
    if queue.rr_last.as_ref() == Some(agent) {
        queue.rr_last = index
            .checked_sub(1)
            .or_else(|| queue.members.len().checked_sub(1).filter(|last| *last > 0))
            .and_then(|before| queue.members.get(before).cloned());
    }
    queue.members.remove(index);
}

impl Acd {
    /// New ACD without queues or agents.
    pub fn new(config: AcdConfig) -> Self {
        Self {
            config,
            agents: BTreeMap::new(),
            queues: BTreeMap::new(),
            calls: BTreeMap::new(),
            actions: VecDeque::new(),
            next_seq: 0,
        }
    }

    /// Adds a queue.
    pub fn add_queue(&mut self, cfg: QueueConfig) -> Result<(), AcdError> {
        if self.queues.contains_key(&cfg.name) {
            return Err(AcdError::DuplicateQueue(cfg.name));
        }
        if let Some(req) = &cfg.required_skill {
            if !valid_level(req.min_level) {
                return Err(AcdError::InvalidConfig(format!(
                    "queue {}: skill level must be 1..=10",
                    cfg.name
                )));
            }
        }
        if let Some(rule) = &cfg.max_wait {
            if rule.after.is_zero() {
                return Err(AcdError::InvalidConfig(format!(
                    "queue {}: max wait must be non-zero",
                    cfg.name
                )));
            }
            if rule.to == OverflowTarget::Queue(cfg.name.clone()) {
                return Err(AcdError::InvalidConfig(format!(
                    "queue {}: overflows into itself",
                    cfg.name
                )));
            }
        }
        if cfg.announce_interval.is_some_and(|d| d.is_zero()) {
            return Err(AcdError::InvalidConfig(format!(
                "queue {}: announce interval must be non-zero",
                cfg.name
            )));
        }
        self.queues.insert(cfg.name.clone(), Queue::new(cfg));
        Ok(())
    }

    /// Adds an agent (logged out). Its queues must already exist.
    pub fn add_agent(&mut self, mut cfg: AgentConfig) -> Result<(), AcdError> {
        if self.agents.contains_key(&cfg.id) {
            return Err(AcdError::DuplicateAgent(cfg.id));
        }
        self.check_agent_config(&mut cfg)?;
        for q in &cfg.queues {
            if let Some(queue) = self.queues.get_mut(q) {
                queue.members.push(cfg.id.clone());
            }
        }
        self.agents.insert(cfg.id.clone(), Agent::new(cfg));
        Ok(())
    }

    /// Changes an agent's name, skills, queues and overrides, keeping its
    /// state. The agent joins new queues at the end of their round-robin
    /// order; calls waiting in them may be offered to it at once. An offer
    /// already ringing stands even if the agent left that call's queue.
    pub fn update_agent(&mut self, mut cfg: AgentConfig, now: Duration) -> Result<(), AcdError> {
        if !self.agents.contains_key(&cfg.id) {
            return Err(AcdError::UnknownAgent(cfg.id));
        }
        self.check_agent_config(&mut cfg)?;
        for (name, queue) in &mut self.queues {
            let wanted = cfg.queues.contains(name);
            let member = queue.members.contains(&cfg.id);
            if wanted && !member {
                queue.members.push(cfg.id.clone());
            } else if !wanted && member {
                forget_member(queue, &cfg.id);
            }
        }
        if let Some(agent) = self.agents.get_mut(&cfg.id) {
            agent.cfg = cfg;
        }
        self.dispatch(now);
        Ok(())
    }

    /// Removes an agent (deleted by an administrator). An agent ringing for
    /// a call has the offer withdrawn (`CancelOffer`) and the call goes to
    /// someone else. An agent on a call stays until that call ends, so no
    /// caller is cut off, and then leaves without wrap-up. Either way
    /// [`Action::AgentRemoved`] says when it is gone (after an
    /// `AgentStateChanged` to logged out with [`ChangeReason::Removed`] if
    /// it was logged in). Returns true when it left at once.
    pub fn remove_agent(&mut self, id: &AgentId, now: Duration) -> Result<bool, AcdError> {
        match self.agent(id)?.state.clone() {
            AgentState::OnCall { .. } => {
                if let Some(a) = self.agents.get_mut(id) {
                    a.pending = Some(Pending::Remove);
                }
                return Ok(false);
            }
            AgentState::Ringing { call, .. } => {
                self.withdraw(&call, id, now, false);
                self.push(Action::CancelOffer {
                    call,
                    agents: vec![id.clone()],
                });
            }
            AgentState::LoggedOut
            | AgentState::Available { .. }
            | AgentState::WrapUp { .. }
            | AgentState::Paused { .. } => {}
        }
        self.finish_removal(id);
        self.dispatch(now);
        Ok(true)
    }

    /// Skill levels in range and queues that exist; drops repeated queues.
    fn check_agent_config(&self, cfg: &mut AgentConfig) -> Result<(), AcdError> {
        if cfg.skills.values().any(|l| !valid_level(*l)) {
            return Err(AcdError::InvalidConfig(format!(
                "agent {}: skill level must be 1..=10",
                cfg.id
            )));
        }
        if let Some(q) = cfg.queues.iter().find(|q| !self.queues.contains_key(*q)) {
            return Err(AcdError::UnknownQueue(q.clone()));
        }
        let mut seen = BTreeSet::new();
        cfg.queues.retain(|q| seen.insert(q.clone()));
        Ok(())
    }

    /// Feeds an event. An `Err` means the event was ignored (state
    /// unchanged); it is not fatal.
    pub fn handle(&mut self, event: Event, now: Duration) -> Result<(), AcdError> {
        let result = match event {
            Event::AgentLogin { agent } => self.login(&agent, now),
            Event::AgentLogout { agent } => self.logout(&agent, ChangeReason::Logout, now),
            Event::AgentRegistrationLost { agent } => {
                self.logout(&agent, ChangeReason::RegistrationLost, now)
            }
            Event::AgentPause { agent, reason } => self.pause(&agent, reason, now),
            Event::AgentUnpause { agent } => self.unpause(&agent, now),
            Event::AgentAnswered { agent, call } => self.answered(&agent, &call, now),
            Event::AgentRejectedOrNoAnswer { agent, call } => {
                self.check_ringing(&agent, &call)?;
                self.no_answer(&agent, &call, now, false);
                Ok(())
            }
            Event::CallEnded { call } | Event::CallAbandoned { call } => self.end_call(&call, now),
            Event::CallEnqueued(info) => self.enqueue(info, now),
            Event::CallbackRequested { call } => self.callback_requested(&call, now),
            Event::WrapUpDone { agent } => self.wrap_up_done(&agent, now),
        };
        if result.is_ok() {
            self.dispatch(now);
        }
        result
    }

    /// Processes every deadline that is due at `now`.
    pub fn handle_timeout(&mut self, now: Duration) {
        let expired: Vec<(AgentId, CallId)> = self
            .agents
            .values()
            .filter_map(|a| match &a.state {
                AgentState::Ringing { call, until } if *until <= now => {
                    Some((a.cfg.id.clone(), call.clone()))
                }
                _ => None,
            })
            .collect();
        for (agent, call) in expired {
            self.no_answer(&agent, &call, now, true);
        }
        let wrapped: Vec<AgentId> = self
            .agents
            .values()
            .filter(|a| matches!(a.state, AgentState::WrapUp { until } if until <= now))
            .map(|a| a.cfg.id.clone())
            .collect();
        for agent in wrapped {
            self.make_available(&agent, now, ChangeReason::WrapUpElapsed);
        }
        // Free agents take waiting calls before those calls overflow.
        self.dispatch(now);

        let overflowing: Vec<CallId> = self
            .calls
            .values()
            .filter(|c| self.overflow_deadline(c).is_some_and(|d| d <= now))
            .map(|c| c.info.id.clone())
            .collect();
        for call in overflowing {
            self.overflow(&call, now);
        }

        let announce: Vec<CallId> = self
            .calls
            .values()
            .filter(|c| c.is_waiting() && !c.info.callback)
            .filter(|c| c.next_announce.is_some_and(|t| t <= now))
            .map(|c| c.info.id.clone())
            .collect();
        for call in announce {
            self.announce(&call, now);
        }
        self.dispatch(now);
    }

    /// The earliest pending deadline, if any.
    pub fn poll_timeout(&self) -> Option<Duration> {
        let agent_deadlines = self.agents.values().filter_map(|a| match a.state {
            AgentState::Ringing { until, .. } | AgentState::WrapUp { until } => Some(until),
            _ => None,
        });
        let call_deadlines = self.calls.values().flat_map(|c| {
            let announce = if c.is_waiting() && !c.info.callback {
                c.next_announce
            } else {
                None
            };
            [self.overflow_deadline(c), announce]
        });
        agent_deadlines.chain(call_deadlines.flatten()).min()
    }

    /// Next output action.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// Whether the agent serves the queue.
    pub fn serves(&self, agent: &AgentId, queue: &str) -> bool {
        self.queues
            .get(queue)
            .is_some_and(|q| q.members.contains(agent))
    }

    /// Current state of an agent.
    pub fn agent_state(&self, agent: &AgentId) -> Option<&AgentState> {
        self.agents.get(agent).map(|a| &a.state)
    }

    /// All agents and their states, ordered by id.
    pub fn agents(&self) -> impl Iterator<Item = (&AgentId, &AgentState)> {
        self.agents.iter().map(|(id, a)| (id, &a.state))
    }

    /// Snapshot of a call the ACD is handling.
    pub fn call_status(&self, call: &CallId) -> Option<CallStatus> {
        let c = self.calls.get(call)?;
        let phase = match &c.phase {
            Phase::Waiting => CallPhase::Waiting {
                position: self.position(c),
            },
            Phase::Offering { agents } => CallPhase::Offered {
                agents: agents.clone(),
            },
            Phase::Connected { agent, .. } => CallPhase::Connected {
                agent: agent.clone(),
            },
        };
        Some(CallStatus {
            queue: c.info.queue.clone(),
            callback: c.info.callback,
            priority: c.info.priority,
            entered_at: c.entered_at,
            phase,
        })
    }

    /// Ids of all calls the ACD is handling, ordered by id.
    pub fn call_ids(&self) -> impl Iterator<Item = &CallId> {
        self.calls.keys()
    }

    /// Waiting calls of a queue, in service order.
    pub fn waiting_calls(&self, queue: &str) -> Vec<CallId> {
        let mut waiting: Vec<&Call> = self
            .calls
            .values()
            .filter(|c| c.is_waiting() && c.info.queue == queue)
            .collect();
        waiting.sort_by_key(|c| c.order_key());
        waiting.into_iter().map(|c| c.info.id.clone()).collect()
    }

    /// Estimated wait for the 1-based `position` in `queue` (see the module
    /// docs for the formula).
    pub fn estimated_wait(&self, queue: &str, position: usize) -> Option<Duration> {
        let q = self.queues.get(queue)?;
        let aht = q.average_handle_time(self.config.default_handle_time);
        let staffed = q
            .members
            .iter()
            .filter_map(|m| self.agents.get(m))
            .filter(|a| a.state.is_logged_in() && !matches!(a.state, AgentState::Paused { .. }))
            .count()
            .max(1);
        let pos = u32::try_from(position).unwrap_or(u32::MAX);
        let staffed = u32::try_from(staffed).unwrap_or(u32::MAX);
        Some(aht.saturating_mul(pos) / staffed)
    }

    // ----- event handlers -------------------------------------------------

    fn agent(&self, id: &AgentId) -> Result<&Agent, AcdError> {
        self.agents
            .get(id)
            .ok_or_else(|| AcdError::UnknownAgent(id.clone()))
    }

    fn login(&mut self, id: &AgentId, now: Duration) -> Result<(), AcdError> {
        let agent = self.agent(id)?;
        if agent.state.is_logged_in() {
            // Logging in again while a logout waits for the end of a call
            // (the phone came back, or the agent or a supervisor logged in
            // again) cancels that logout.
            if matches!(agent.pending, Some(Pending::Logout(_))) {
                if let Some(a) = self.agents.get_mut(id) {
                    a.pending = None;
                }
                return Ok(());
            }
            return Err(AcdError::InvalidAgentState {
                agent: id.clone(),
                what: "already logged in",
            });
        }
        if let Some(a) = self.agents.get_mut(id) {
            a.pending = None;
            a.idle_since = now;
        }
        self.transition(
            id,
            AgentState::Available { since: now },
            ChangeReason::Login,
        );
        Ok(())
    }

    fn logout(
        &mut self,
        id: &AgentId,
        reason: ChangeReason,
        now: Duration,
    ) -> Result<(), AcdError> {
        let state = self.agent(id)?.state.clone();
        match state {
            AgentState::LoggedOut => {
                return Err(AcdError::InvalidAgentState {
                    agent: id.clone(),
                    what: "not logged in",
                })
            }
            // An agent who asks to log out (not one whose phone is gone)
            // keeps the wrap-up to record how the call went: the logout
            // takes effect when wrap-up ends.
            AgentState::OnCall { .. } => {
                self.defer_logout(id, reason);
                return Ok(());
            }
            AgentState::WrapUp { .. } if reason == ChangeReason::Logout => {
                self.defer_logout(id, reason);
                return Ok(());
            }
            AgentState::Ringing { call, .. } => {
                self.withdraw(&call, id, now, false);
                self.push(Action::CancelOffer {
                    call,
                    agents: vec![id.clone()],
                });
            }
            AgentState::Available { .. }
            | AgentState::WrapUp { .. }
            | AgentState::Paused { .. } => {}
        }
        if let Some(a) = self.agents.get_mut(id) {
            a.pending = None;
        }
        self.transition(id, AgentState::LoggedOut, reason);
        Ok(())
    }

    /// Logs the agent out when its call (and, for a requested logout, its
    /// wrap-up) ends.
    fn defer_logout(&mut self, id: &AgentId, reason: ChangeReason) {
        if let Some(a) = self.agents.get_mut(id) {
            // A removal after the call already logs the agent out.
            if !matches!(a.pending, Some(Pending::Remove)) {
                a.pending = Some(Pending::Logout(reason));
            }
        }
    }

    fn pause(&mut self, id: &AgentId, reason: String, now: Duration) -> Result<(), AcdError> {
        let agent = self.agent(id)?;
        let state = agent.state.clone();
        let logout_pending = matches!(agent.pending, Some(Pending::Logout(_) | Pending::Remove));
        match state {
            AgentState::LoggedOut => Err(AcdError::InvalidAgentState {
                agent: id.clone(),
                what: "not logged in",
            }),
            AgentState::OnCall { .. } | AgentState::WrapUp { .. } => {
                if logout_pending {
                    return Err(AcdError::InvalidAgentState {
                        agent: id.clone(),
                        what: "logout pending",
                    });
                }
                if let Some(a) = self.agents.get_mut(id) {
                    a.pending = Some(Pending::Pause(reason));
                }
                Ok(())
            }
            AgentState::Ringing { call, .. } => {
                self.withdraw(&call, id, now, false);
                self.push(Action::CancelOffer {
                    call,
                    agents: vec![id.clone()],
                });
                self.transition(id, AgentState::Paused { reason }, ChangeReason::Pause);
                Ok(())
            }
            AgentState::Available { .. } | AgentState::Paused { .. } => {
                self.transition(id, AgentState::Paused { reason }, ChangeReason::Pause);
                Ok(())
            }
        }
    }

    fn unpause(&mut self, id: &AgentId, now: Duration) -> Result<(), AcdError> {
        let agent = self.agent(id)?;
        if matches!(agent.state, AgentState::Paused { .. }) {
            if let Some(a) = self.agents.get_mut(id) {
                a.idle_since = now;
            }
            self.transition(
                id,
                AgentState::Available { since: now },
                ChangeReason::Unpause,
            );
            return Ok(());
        }
        if matches!(agent.pending, Some(Pending::Pause(_))) {
            if let Some(a) = self.agents.get_mut(id) {
                a.pending = None;
            }
            return Ok(());
        }
        Err(AcdError::InvalidAgentState {
            agent: id.clone(),
            what: "not paused",
        })
    }

    fn check_ringing(&self, agent: &AgentId, call: &CallId) -> Result<(), AcdError> {
        match &self.agent(agent)?.state {
            AgentState::Ringing { call: c, .. } if c == call => Ok(()),
            _ => Err(AcdError::NotOffered {
                agent: agent.clone(),
                call: call.clone(),
            }),
        }
    }

    fn answered(&mut self, agent: &AgentId, call: &CallId, now: Duration) -> Result<(), AcdError> {
        self.check_ringing(agent, call)?;
        let c = self
            .calls
            .get_mut(call)
            .ok_or_else(|| AcdError::UnknownCall(call.clone()))?;
        let others: Vec<AgentId> = match &c.phase {
            Phase::Offering { agents } if agents.contains(agent) => {
                agents.iter().filter(|a| *a != agent).cloned().collect()
            }
            _ => {
                return Err(AcdError::NotOffered {
                    agent: agent.clone(),
                    call: call.clone(),
                })
            }
        };
        c.phase = Phase::Connected {
            agent: agent.clone(),
            since: now,
        };
        c.next_announce = None;
        if let Some(a) = self.agents.get_mut(agent) {
            a.calls_taken += 1;
        }
        self.transition(
            agent,
            AgentState::OnCall { call: call.clone() },
            ChangeReason::Answered,
        );
        self.push(Action::Connect {
            call: call.clone(),
            agent: agent.clone(),
        });
        if !others.is_empty() {
            self.push(Action::CancelOffer {
                call: call.clone(),
                agents: others.clone(),
            });
            for other in &others {
                self.restore_available(other, ChangeReason::OfferCancelled);
            }
        }
        Ok(())
    }

    fn enqueue(&mut self, info: CallInfo, now: Duration) -> Result<(), AcdError> {
        if self.calls.contains_key(&info.id) {
            return Err(AcdError::DuplicateCall(info.id));
        }
        let queue = self
            .queues
            .get(&info.queue)
            .ok_or_else(|| AcdError::UnknownQueue(info.queue.clone()))?;
        if info.required_skills.values().any(|l| !valid_level(*l)) {
            return Err(AcdError::InvalidConfig(format!(
                "call {}: skill level must be 1..=10",
                info.id
            )));
        }
        let next_announce = queue.cfg.announce_interval.map(|i| now.saturating_add(i));
        let seq = self.next_seq;
        self.next_seq += 1;
        self.calls.insert(
            info.id.clone(),
            Call {
                info,
                entered_at: now,
                queue_since: now,
                seq,
                phase: Phase::Waiting,
                next_announce,
                declined: BTreeSet::new(),
            },
        );
        Ok(())
    }

    /// `CallEnded` and `CallAbandoned`: the call is gone whatever its phase.
    fn end_call(&mut self, call: &CallId, now: Duration) -> Result<(), AcdError> {
        let c = self
            .calls
            .remove(call)
            .ok_or_else(|| AcdError::UnknownCall(call.clone()))?;
        match c.phase {
            Phase::Waiting => {}
            Phase::Offering { agents } => {
                self.push(Action::CancelOffer {
                    call: call.clone(),
                    agents: agents.clone(),
                });
                for a in &agents {
                    self.restore_available(a, ChangeReason::OfferCancelled);
                }
            }
            Phase::Connected { agent, since } => {
                let wrap = self.wrap_up_for(&agent, &c.info.queue);
                let window = self.config.handle_time_window;
                if let Some(q) = self.queues.get_mut(&c.info.queue) {
                    q.record_handle_time(now.saturating_sub(since).saturating_add(wrap), window);
                }
                self.after_call(&agent, wrap, now);
            }
        }
        Ok(())
    }

    fn callback_requested(&mut self, call: &CallId, _now: Duration) -> Result<(), AcdError> {
        let c = self
            .calls
            .get_mut(call)
            .ok_or_else(|| AcdError::UnknownCall(call.clone()))?;
        if c.info.callback {
            return Err(AcdError::InvalidCallState {
                call: call.clone(),
                what: "already a callback",
            });
        }
        let offered = match &c.phase {
            Phase::Connected { .. } => {
                return Err(AcdError::InvalidCallState {
                    call: call.clone(),
                    what: "already connected",
                })
            }
            Phase::Waiting => Vec::new(),
            Phase::Offering { agents } => agents.clone(),
        };
        c.info.callback = true;
        c.phase = Phase::Waiting;
        c.next_announce = None;
        if !offered.is_empty() {
            self.push(Action::CancelOffer {
                call: call.clone(),
                agents: offered.clone(),
            });
            for a in &offered {
                self.restore_available(a, ChangeReason::OfferCancelled);
            }
        }
        Ok(())
    }

    fn wrap_up_done(&mut self, id: &AgentId, now: Duration) -> Result<(), AcdError> {
        if !matches!(self.agent(id)?.state, AgentState::WrapUp { .. }) {
            return Err(AcdError::InvalidAgentState {
                agent: id.clone(),
                what: "not in wrap-up",
            });
        }
        self.make_available(id, now, ChangeReason::WrapUpDone);
        Ok(())
    }

    // ----- helpers ----------------------------------------------------------

    fn push(&mut self, action: Action) {
        self.actions.push_back(action);
    }

    fn transition(&mut self, id: &AgentId, to: AgentState, reason: ChangeReason) {
        if let Some(a) = self.agents.get_mut(id) {
            let from = std::mem::replace(&mut a.state, to.clone());
            self.actions.push_back(Action::AgentStateChanged {
                agent: id.clone(),
                from,
                to,
                reason,
            });
        }
    }

    /// Agent becomes free at `now` (new idle period), unless a pause or
    /// logout is pending.
    fn make_available(&mut self, id: &AgentId, now: Duration, reason: ChangeReason) {
        let Some(a) = self.agents.get_mut(id) else {
            return;
        };
        match a.pending.take() {
            Some(Pending::Pause(r)) => {
                self.transition(id, AgentState::Paused { reason: r }, ChangeReason::Pause)
            }
            Some(Pending::Logout(r)) => self.transition(id, AgentState::LoggedOut, r),
            Some(Pending::Remove) => self.finish_removal(id),
            None => {
                a.idle_since = now;
                self.transition(id, AgentState::Available { since: now }, reason);
            }
        }
    }

    /// An offer was withdrawn through no fault of the agent: it goes back to
    /// available keeping its idle-since (its place in longest-idle order).
    fn restore_available(&mut self, id: &AgentId, reason: ChangeReason) {
        let Some(a) = self.agents.get(id) else {
            return;
        };
        let since = a.idle_since;
        self.transition(id, AgentState::Available { since }, reason);
    }

    fn after_call(&mut self, id: &AgentId, wrap: Duration, now: Duration) {
        let Some(a) = self.agents.get_mut(id) else {
            return;
        };
        // A requested logout waits for the wrap-up (see `logout`); a lost
        // phone's does not.
        let wrap_then_logout =
            matches!(a.pending, Some(Pending::Logout(ChangeReason::Logout))) && !wrap.is_zero();
        if let (Some(Pending::Logout(r)), false) = (&a.pending, wrap_then_logout) {
            let r = *r;
            a.pending = None;
            self.transition(id, AgentState::LoggedOut, r);
        } else if matches!(a.pending, Some(Pending::Remove)) {
            self.finish_removal(id);
        } else if wrap.is_zero() {
            self.make_available(id, now, ChangeReason::CallEnded);
        } else {
            self.transition(
                id,
                AgentState::WrapUp {
                    until: now.saturating_add(wrap),
                },
                ChangeReason::CallEnded,
            );
        }
    }

    /// Takes a removed agent out of the ACD and its queues.
    fn finish_removal(&mut self, id: &AgentId) {
        if self.agents.get(id).is_some_and(|a| a.state.is_logged_in()) {
            self.transition(id, AgentState::LoggedOut, ChangeReason::Removed);
        }
        if self.agents.remove(id).is_none() {
            return;
        }
        for queue in self.queues.values_mut() {
            forget_member(queue, id);
        }
        self.push(Action::AgentRemoved { agent: id.clone() });
    }

    /// Removes `agent` from the offer of `call`; the call waits again when
    /// nobody is left ringing.
    fn withdraw(&mut self, call: &CallId, agent: &AgentId, _now: Duration, declined: bool) {
        let Some(c) = self.calls.get_mut(call) else {
            return;
        };
        if let Phase::Offering { agents } = &mut c.phase {
            agents.retain(|a| a != agent);
            if agents.is_empty() {
                c.phase = Phase::Waiting;
            }
        }
        if declined {
            c.declined.insert(agent.clone());
        }
    }

    /// The agent rejected or did not answer `call` (already checked to be
    /// ringing for it).
    fn no_answer(&mut self, agent: &AgentId, call: &CallId, now: Duration, timed_out: bool) {
        let queue = self
            .calls
            .get(call)
            .map(|c| c.info.queue.clone())
            .unwrap_or_default();
        let pause = self.pause_on_no_answer_for(agent, &queue);
        self.withdraw(call, agent, now, true);
        if timed_out {
            self.push(Action::CancelOffer {
                call: call.clone(),
                agents: vec![agent.clone()],
            });
        }
        if pause {
            self.transition(
                agent,
                AgentState::Paused {
                    reason: NO_ANSWER_REASON.to_owned(),
                },
                ChangeReason::NoAnswer,
            );
        } else {
            self.make_available(agent, now, ChangeReason::NoAnswer);
        }
    }

    fn overflow_deadline(&self, c: &Call) -> Option<Duration> {
        if !c.is_waiting() || c.info.callback {
            return None;
        }
        let rule = self.queues.get(&c.info.queue)?.cfg.max_wait.as_ref()?;
        Some(c.queue_since.saturating_add(rule.after))
    }

    fn overflow(&mut self, call: &CallId, now: Duration) {
        let Some(c) = self.calls.get(call) else {
            return;
        };
        let Some(rule) = self
            .queues
            .get(&c.info.queue)
            .and_then(|q| q.cfg.max_wait.clone())
        else {
            return;
        };
        self.push(Action::Overflow {
            call: call.clone(),
            to: rule.to.clone(),
        });
        let next_queue = match &rule.to {
            OverflowTarget::Queue(name) => self.queues.get(name),
            _ => None,
        };
        match next_queue {
            Some(q) => {
                let interval = q.cfg.announce_interval;
                let name = q.cfg.name.clone();
                if let Some(c) = self.calls.get_mut(call) {
                    c.info.queue = name;
                    c.queue_since = now;
                    c.next_announce = interval.map(|i| now.saturating_add(i));
                    c.declined.clear();
                }
            }
            None => {
                self.calls.remove(call);
            }
        }
    }

    fn position(&self, c: &Call) -> usize {
        let key = c.order_key();
        1 + self
            .calls
            .values()
            .filter(|o| o.is_waiting() && o.info.queue == c.info.queue && o.order_key() < key)
            .count()
    }

    fn announce(&mut self, call: &CallId, now: Duration) {
        let Some(c) = self.calls.get(call) else {
            return;
        };
        let position = self.position(c);
        let queue = c.info.queue.clone();
        let interval = self
            .queues
            .get(&queue)
            .and_then(|q| q.cfg.announce_interval);
        let estimated_wait = self.estimated_wait(&queue, position).unwrap_or_default();
        if let Some(c) = self.calls.get_mut(call) {
            c.next_announce = interval.map(|i| now.saturating_add(i));
        }
        self.push(Action::AnnouncePosition {
            call: call.clone(),
            position,
            estimated_wait,
        });
    }

    fn wrap_up_for(&self, agent: &AgentId, queue: &str) -> Duration {
        self.agents
            .get(agent)
            .and_then(|a| a.cfg.wrap_up)
            .or_else(|| self.queues.get(queue).and_then(|q| q.cfg.wrap_up))
            .unwrap_or(self.config.wrap_up)
    }

    fn ring_timeout_for(&self, agent: &AgentId, queue: &str) -> Duration {
        self.agents
            .get(agent)
            .and_then(|a| a.cfg.ring_timeout)
            .or_else(|| self.queues.get(queue).and_then(|q| q.cfg.ring_timeout))
            .unwrap_or(self.config.ring_timeout)
    }

    fn pause_on_no_answer_for(&self, agent: &AgentId, queue: &str) -> bool {
        self.agents
            .get(agent)
            .and_then(|a| a.cfg.pause_on_no_answer)
            .or_else(|| {
                self.queues
                    .get(queue)
                    .and_then(|q| q.cfg.pause_on_no_answer)
            })
            .unwrap_or(self.config.pause_on_no_answer)
    }

    /// Offers waiting calls, best first, to free eligible agents.
    fn dispatch(&mut self, now: Duration) {
        let mut waiting: Vec<&Call> = self.calls.values().filter(|c| c.is_waiting()).collect();
        waiting.sort_by_key(|c| c.order_key());
        let order: Vec<CallId> = waiting.into_iter().map(|c| c.info.id.clone()).collect();
        for id in order {
            let Some(chosen) = self.choose(&id) else {
                continue;
            };
            self.offer(&id, chosen, now);
        }
    }

    fn choose(&self, id: &CallId) -> Option<Vec<AgentId>> {
        let call = self.calls.get(id)?;
        let queue = self.queues.get(&call.info.queue)?;
        let candidates: Vec<&Agent> = queue
            .members
            .iter()
            .filter_map(|m| self.agents.get(m))
            .filter(|a| routing::eligible(a, queue, &call.info))
            .collect();
        let fresh: Vec<&Agent> = candidates
            .iter()
            .filter(|a| !call.declined.contains(&a.cfg.id))
            .copied()
            .collect();
        let pool = if fresh.is_empty() { candidates } else { fresh };
        if pool.is_empty() {
            return None;
        }
        let strategy = match queue.cfg.strategy {
            // A callback reserves exactly one agent.
            Strategy::RingAll if call.info.callback => Strategy::LongestIdle,
            s => s,
        };
        let chosen = routing::select(strategy, queue, &call.info, &pool);
        (!chosen.is_empty()).then_some(chosen)
    }

    fn offer(&mut self, id: &CallId, chosen: Vec<AgentId>, now: Duration) {
        let Some(call) = self.calls.get_mut(id) else {
            return;
        };
        call.phase = Phase::Offering {
            agents: chosen.clone(),
        };
        let queue = call.info.queue.clone();
        let callback = call.info.callback;
        if let Some(q) = self.queues.get_mut(&queue) {
            q.rr_last = chosen.last().cloned();
        }
        let reason = if callback {
            ChangeReason::CallbackReserved
        } else {
            ChangeReason::Offered
        };
        for agent in &chosen {
            let until = now.saturating_add(self.ring_timeout_for(agent, &queue));
            self.transition(
                agent,
                AgentState::Ringing {
                    call: id.clone(),
                    until,
                },
                reason,
            );
        }
        match (callback, chosen.first()) {
            (true, Some(agent)) => self.push(Action::PlaceCallback {
                call: id.clone(),
                agent: agent.clone(),
            }),
            _ => self.push(Action::OfferCall {
                call: id.clone(),
                agents: chosen,
            }),
        }
    }
}
