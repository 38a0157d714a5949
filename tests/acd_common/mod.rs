//! Shared helpers for the ACD integration tests.
#![allow(dead_code)]

use std::time::Duration;

use switchboard::acd::{
    Acd, AcdConfig, Action, AgentConfig, AgentId, AgentState, CallId, CallInfo, Event, QueueConfig,
    Strategy,
};

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub fn a(id: &str) -> AgentId {
    AgentId::from(id)
}

pub fn c(id: &str) -> CallId {
    CallId::from(id)
}

pub fn drain(acd: &mut Acd) -> Vec<Action> {
    std::iter::from_fn(|| acd.poll_action()).collect()
}

/// `OfferCall` actions as (call, agents).
pub fn offers(actions: &[Action]) -> Vec<(CallId, Vec<AgentId>)> {
    actions
        .iter()
        .filter_map(|x| match x {
            Action::OfferCall { call, agents } => Some((call.clone(), agents.clone())),
            _ => None,
        })
        .collect()
}

/// The single agent a call was offered to.
pub fn offered_to(actions: &[Action], call: &str) -> Vec<AgentId> {
    offers(actions)
        .into_iter()
        .filter(|(cl, _)| cl.0 == call)
        .flat_map(|(_, ag)| ag)
        .collect()
}

pub fn state(acd: &Acd, agent: &str) -> AgentState {
    acd.agent_state(&a(agent))
        .cloned()
        .unwrap_or(AgentState::LoggedOut)
}

pub fn login(acd: &mut Acd, agent: &str, now: Duration) {
    acd.handle(Event::AgentLogin { agent: a(agent) }, now)
        .unwrap();
}

pub fn enqueue(acd: &mut Acd, info: CallInfo, now: Duration) {
    acd.handle(Event::CallEnqueued(info), now).unwrap();
}

pub fn answer(acd: &mut Acd, agent: &str, call: &str, now: Duration) {
    acd.handle(
        Event::AgentAnswered {
            agent: a(agent),
            call: c(call),
        },
        now,
    )
    .unwrap();
}

pub fn end(acd: &mut Acd, call: &str, now: Duration) {
    acd.handle(Event::CallEnded { call: c(call) }, now).unwrap();
}

/// One queue "q" with the given strategy and agents (added in order, not
/// logged in), default config.
pub fn single_queue(strategy: Strategy, agents: &[&str]) -> Acd {
    single_queue_with(QueueConfig::new("q", strategy), agents)
}

pub fn single_queue_with(queue: QueueConfig, agents: &[&str]) -> Acd {
    let name = queue.name.clone();
    let mut acd = Acd::new(AcdConfig::default());
    acd.add_queue(queue).unwrap();
    for id in agents {
        acd.add_agent(AgentConfig::new(*id, id.to_uppercase()).queue(name.clone()))
            .unwrap();
    }
    acd
}
