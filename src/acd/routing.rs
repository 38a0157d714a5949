//! Agent selection strategies.

use std::cmp::Reverse;

use super::agent::Agent;
use super::call::CallInfo;
use super::queue::Queue;
use super::{AgentId, AgentState, Strategy};

/// Whether `agent` may be offered `call` from `queue` right now.
pub(crate) fn eligible(agent: &Agent, queue: &Queue, call: &CallInfo) -> bool {
    if !matches!(agent.state, AgentState::Available { .. }) || !agent.serves(&queue.cfg.name) {
        return false;
    }
    if let Some(req) = &queue.cfg.required_skill {
        if agent.skill_level(&req.skill) < req.min_level {
            return false;
        }
    }
    call.required_skills
        .iter()
        .all(|(skill, level)| agent.skill_level(skill) >= *level)
}

fn skill_score(agent: &Agent, queue: &Queue, call: &CallInfo) -> u32 {
    let queue_part = queue
        .cfg
        .required_skill
        .as_ref()
        .map_or(0, |r| u32::from(agent.skill_level(&r.skill)));
    let call_part: u32 = call
        .required_skills
        .keys()
        .map(|s| u32::from(agent.skill_level(s)))
        .sum();
    queue_part + call_part
}

/// Picks the agent(s) to offer `call` to among the eligible `candidates`.
/// Returns an empty vector only if `candidates` is empty.
pub(crate) fn select(
    strategy: Strategy,
    queue: &Queue,
    call: &CallInfo,
    candidates: &[&Agent],
) -> Vec<AgentId> {
    let pick = match strategy {
        Strategy::RingAll => return candidates.iter().map(|a| a.cfg.id.clone()).collect(),
        Strategy::LongestIdle => candidates
            .iter()
            .min_by_key(|a| (a.idle_since, &a.cfg.id))
            .copied(),
        Strategy::FewestCalls => candidates
            .iter()
            .min_by_key(|a| (a.calls_taken, a.idle_since, &a.cfg.id))
            .copied(),
        Strategy::SkillsWithPriority => candidates
            .iter()
            .min_by_key(|a| {
                (
                    Reverse(skill_score(a, queue, call)),
                    a.idle_since,
                    &a.cfg.id,
                )
            })
            .copied(),
        Strategy::RoundRobin => round_robin(queue, candidates),
    };
    pick.map(|a| vec![a.cfg.id.clone()]).unwrap_or_default()
}

fn round_robin<'a>(queue: &Queue, candidates: &[&'a Agent]) -> Option<&'a Agent> {
    let members = &queue.members;
    let start = queue
        .rr_last
        .as_ref()
        .and_then(|last| members.iter().position(|m| m == last))
        .map_or(0, |i| i + 1);
    (0..members.len())
        .filter_map(|k| members.get((start + k) % members.len()))
        .find_map(|id| candidates.iter().find(|a| &a.cfg.id == id).copied())
}
