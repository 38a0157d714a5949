//! Agents deleted or changed while the ACD runs (the REST API does this):
//! a removed agent leaves at once unless it is on a call, which it finishes
//! first; a ringing agent's offer goes to someone else; changed queues and
//! skills take effect for the next offer. Also: logging in again while a
//! logout waits for the end of a call cancels the logout.

mod acd_common;
use acd_common::*;
use switchboard::acd::{
    AcdError, Action, AgentConfig, AgentState, CallInfo, ChangeReason, Event, QueueConfig, Strategy,
};

fn removed_actions(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|action| match action {
            Action::AgentRemoved { agent } => Some(agent.to_string()),
            _ => None,
        })
        .collect()
}

#[test]
fn an_available_agent_is_logged_out_and_removed_at_once() {
    let mut acd = single_queue(Strategy::LongestIdle, &["a1", "a2"]);
    login(&mut acd, "a1", secs(0));
    drain(&mut acd);
    assert_eq!(acd.remove_agent(&a("a1"), secs(5)), Ok(true));
    assert_eq!(
        drain(&mut acd),
        vec![
            Action::AgentStateChanged {
                agent: a("a1"),
                from: AgentState::Available { since: secs(0) },
                to: AgentState::LoggedOut,
                reason: ChangeReason::Removed,
            },
            Action::AgentRemoved { agent: a("a1") },
        ]
    );
    assert!(acd.agent_state(&a("a1")).is_none());
    assert!(!acd.serves(&a("a1"), "q"));
    // Events for it are refused, not fatal.
    assert_eq!(
        acd.handle(Event::AgentLogin { agent: a("a1") }, secs(6)),
        Err(AcdError::UnknownAgent(a("a1")))
    );
    // A logged-out agent just leaves; its id can be added again.
    assert_eq!(acd.remove_agent(&a("a2"), secs(7)), Ok(true));
    assert_eq!(removed_actions(&drain(&mut acd)), vec!["a2"]);
    assert_eq!(
        acd.remove_agent(&a("a2"), secs(8)),
        Err(AcdError::UnknownAgent(a("a2")))
    );
    acd.add_agent(AgentConfig::new("a2", "A2").queue("q"))
        .unwrap();
    login(&mut acd, "a2", secs(9));
    enqueue(&mut acd, CallInfo::new("c1", "q"), secs(10));
    assert_eq!(offered_to(&drain(&mut acd), "c1"), vec![a("a2")]);
}

#[test]
fn a_ringing_agent_loses_the_offer_and_the_call_goes_to_the_next_agent() {
    let mut acd = single_queue(Strategy::LongestIdle, &["a1", "a2"]);
    login(&mut acd, "a1", secs(0));
    login(&mut acd, "a2", secs(1));
    enqueue(&mut acd, CallInfo::new("c1", "q"), secs(2));
    assert_eq!(offered_to(&drain(&mut acd), "c1"), vec![a("a1")]);
    acd.remove_agent(&a("a1"), secs(3)).unwrap();
    let actions = drain(&mut acd);
    assert!(actions.contains(&Action::CancelOffer {
        call: c("c1"),
        agents: vec![a("a1")],
    }));
    assert_eq!(offered_to(&actions, "c1"), vec![a("a2")]);
    assert_eq!(removed_actions(&actions), vec!["a1"]);
    // The withdrawn agent's late answer changes nothing.
    assert!(acd
        .handle(
            Event::AgentAnswered {
                agent: a("a1"),
                call: c("c1"),
            },
            secs(4),
        )
        .is_err());
    answer(&mut acd, "a2", "c1", secs(4));
}

#[test]
fn the_last_ringing_agent_removed_leaves_the_call_waiting_not_stuck() {
    let mut acd = single_queue(Strategy::LongestIdle, &["a1", "a2"]);
    login(&mut acd, "a1", secs(0));
    enqueue(&mut acd, CallInfo::new("c1", "q"), secs(1));
    drain(&mut acd);
    acd.remove_agent(&a("a1"), secs(2)).unwrap();
    drain(&mut acd);
    assert_eq!(acd.waiting_calls("q"), vec![c("c1")]);
    // The next agent who logs in gets it.
    login(&mut acd, "a2", secs(3));
    assert_eq!(offered_to(&drain(&mut acd), "c1"), vec![a("a2")]);
}

#[test]
fn an_agent_on_a_call_finishes_it_then_leaves_without_wrap_up() {
    let mut acd = single_queue(Strategy::LongestIdle, &["a1"]);
    login(&mut acd, "a1", secs(0));
    enqueue(&mut acd, CallInfo::new("c1", "q"), secs(1));
    answer(&mut acd, "a1", "c1", secs(2));
    drain(&mut acd);
    assert_eq!(acd.remove_agent(&a("a1"), secs(3)), Ok(false));
    assert!(drain(&mut acd).is_empty());
    // The caller stays connected to the agent.
    assert_eq!(state(&acd, "a1"), AgentState::OnCall { call: c("c1") });
    // Neither a pause, a logout nor a new login undoes the removal.
    assert!(acd
        .handle(
            Event::AgentPause {
                agent: a("a1"),
                reason: "x".into(),
            },
            secs(4),
        )
        .is_err());
    acd.handle(Event::AgentLogout { agent: a("a1") }, secs(5))
        .unwrap();
    assert!(acd
        .handle(Event::AgentLogin { agent: a("a1") }, secs(6))
        .is_err());
    end(&mut acd, "c1", secs(10));
    assert_eq!(
        drain(&mut acd),
        vec![
            Action::AgentStateChanged {
                agent: a("a1"),
                from: AgentState::OnCall { call: c("c1") },
                to: AgentState::LoggedOut,
                reason: ChangeReason::Removed,
            },
            Action::AgentRemoved { agent: a("a1") },
        ]
    );
    assert!(acd.agent_state(&a("a1")).is_none());
    assert_eq!(acd.poll_timeout(), None);
}

#[test]
fn agents_in_wrap_up_or_paused_leave_at_once() {
    let mut acd = single_queue(Strategy::LongestIdle, &["a1", "a2"]);
    login(&mut acd, "a1", secs(0));
    login(&mut acd, "a2", secs(0));
    acd.handle(
        Event::AgentPause {
            agent: a("a2"),
            reason: "lunch".into(),
        },
        secs(1),
    )
    .unwrap();
    enqueue(&mut acd, CallInfo::new("c1", "q"), secs(1));
    answer(&mut acd, "a1", "c1", secs(2));
    end(&mut acd, "c1", secs(3));
    assert!(matches!(state(&acd, "a1"), AgentState::WrapUp { .. }));
    drain(&mut acd);
    assert_eq!(acd.remove_agent(&a("a1"), secs(4)), Ok(true));
    assert_eq!(acd.remove_agent(&a("a2"), secs(4)), Ok(true));
    assert_eq!(removed_actions(&drain(&mut acd)), vec!["a1", "a2"]);
    // No wrap-up deadline is left behind.
    assert_eq!(acd.poll_timeout(), None);
}

#[test]
fn round_robin_goes_on_after_the_removed_agent() {
    let mut acd = single_queue_with(
        QueueConfig::new("q", Strategy::RoundRobin).wrap_up(secs(0)),
        &["a1", "a2", "a3"],
    );
    for agent in ["a1", "a2", "a3"] {
        login(&mut acd, agent, secs(0));
    }
    for (call, agent) in [("c1", "a1"), ("c2", "a2")] {
        enqueue(&mut acd, CallInfo::new(call, "q"), secs(1));
        assert_eq!(offered_to(&drain(&mut acd), call), vec![a(agent)]);
        answer(&mut acd, agent, call, secs(2));
        end(&mut acd, call, secs(3));
    }
    // a2 had the last turn; without it, the next turn is a3's, not a1's.
    acd.remove_agent(&a("a2"), secs(4)).unwrap();
    drain(&mut acd);
    enqueue(&mut acd, CallInfo::new("c3", "q"), secs(5));
    assert_eq!(offered_to(&drain(&mut acd), "c3"), vec![a("a3")]);
}

#[test]
fn changed_queues_and_skills_take_effect_for_the_next_offer() {
    let mut acd = single_queue_with(
        QueueConfig::new("q", Strategy::LongestIdle).require_skill("spanish", 5),
        &[],
    );
    acd.add_queue(QueueConfig::new("other", Strategy::LongestIdle))
        .unwrap();
    acd.add_agent(AgentConfig::new("a1", "Ann").queue("other"))
        .unwrap();
    login(&mut acd, "a1", secs(0));
    enqueue(&mut acd, CallInfo::new("c1", "q"), secs(1));
    assert!(offers(&drain(&mut acd)).is_empty());
    // Joining the queue without the skill: still not eligible.
    acd.update_agent(AgentConfig::new("a1", "Ann").queue("q"), secs(2))
        .unwrap();
    assert!(offers(&drain(&mut acd)).is_empty());
    assert!(acd.serves(&a("a1"), "q"));
    assert!(!acd.serves(&a("a1"), "other"));
    // With the skill, the waiting call is offered at once.
    acd.update_agent(
        AgentConfig::new("a1", "Ann").queue("q").skill("spanish", 7),
        secs(3),
    )
    .unwrap();
    assert_eq!(offered_to(&drain(&mut acd), "c1"), vec![a("a1")]);
    // Bad changes are refused and change nothing.
    assert_eq!(
        acd.update_agent(AgentConfig::new("a1", "Ann").queue("nope"), secs(4)),
        Err(AcdError::UnknownQueue("nope".into()))
    );
    assert!(acd
        .update_agent(
            AgentConfig::new("a1", "Ann").queue("q").skill("x", 11),
            secs(4)
        )
        .is_err());
    assert!(acd.serves(&a("a1"), "q"));
    assert_eq!(
        acd.update_agent(AgentConfig::new("zz", "Z"), secs(4)),
        Err(AcdError::UnknownAgent(a("zz")))
    );
    // The agent's state was kept throughout.
    assert!(matches!(state(&acd, "a1"), AgentState::Ringing { .. }));
}

#[test]
fn logging_in_again_during_a_call_cancels_a_pending_logout() {
    let mut acd = single_queue(Strategy::LongestIdle, &["a1"]);
    login(&mut acd, "a1", secs(0));
    enqueue(&mut acd, CallInfo::new("c1", "q"), secs(1));
    answer(&mut acd, "a1", "c1", secs(2));
    acd.handle(Event::AgentRegistrationLost { agent: a("a1") }, secs(3))
        .unwrap();
    // The phone registers again before the call ends.
    acd.handle(Event::AgentLogin { agent: a("a1") }, secs(4))
        .unwrap();
    drain(&mut acd);
    end(&mut acd, "c1", secs(10));
    assert!(matches!(state(&acd, "a1"), AgentState::WrapUp { .. }));
    // Without a pending logout, a second login is refused as before.
    assert!(acd
        .handle(Event::AgentLogin { agent: a("a1") }, secs(11))
        .is_err());
}
