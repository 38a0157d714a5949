mod acd_common;
use acd_common::*;
use switchboard::acd::{
    Action, AgentState, CallInfo, ChangeReason, QueueConfig, Strategy, NO_ANSWER_REASON,
};

#[test]
fn ring_timeout_moves_to_next_agent_and_pauses_the_silent_one() {
    let mut acd = single_queue(Strategy::LongestIdle, &["a1", "a2"]);
    login(&mut acd, "a1", secs(0));
    login(&mut acd, "a2", secs(1));
    enqueue(&mut acd, CallInfo::new("c1", "q"), secs(10));
    assert_eq!(offered_to(&drain(&mut acd), "c1"), vec![a("a1")]);
    assert_eq!(acd.poll_timeout(), Some(secs(25)));
    acd.handle_timeout(secs(24));
    assert!(matches!(state(&acd, "a1"), AgentState::Ringing { .. }));
    acd.handle_timeout(secs(25));
    let acts = drain(&mut acd);
    assert!(acts.contains(&Action::CancelOffer {
        call: c("c1"),
        agents: vec![a("a1")]
    }));
    assert!(acts.contains(&Action::AgentStateChanged {
        agent: a("a1"),
        from: AgentState::Ringing {
            call: c("c1"),
            until: secs(25)
        },
        to: AgentState::Paused {
            reason: NO_ANSWER_REASON.into()
        },
        reason: ChangeReason::NoAnswer,
    }));
    assert_eq!(offered_to(&acts, "c1"), vec![a("a2")]);
    assert_eq!(
        state(&acd, "a2"),
        AgentState::Ringing {
            call: c("c1"),
            until: secs(40)
        }
    );
}

#[test]
fn without_pause_the_agent_stays_available_but_next_agent_is_tried_first() {
    let mut acd = single_queue_with(
        QueueConfig::new("q", Strategy::LongestIdle).pause_on_no_answer(false),
        &["a1", "a2"],
    );
    login(&mut acd, "a1", secs(0));
    login(&mut acd, "a2", secs(1));
    enqueue(&mut acd, CallInfo::new("c1", "q"), secs(10));
    drain(&mut acd);
    acd.handle_timeout(secs(25));
    let acts = drain(&mut acd);
    assert_eq!(offered_to(&acts, "c1"), vec![a("a2")]);
    assert_eq!(state(&acd, "a1"), AgentState::Available { since: secs(25) });
    // a2 also does not answer: a1 is the only one left and gets it again.
    acd.handle_timeout(secs(40));
    assert_eq!(offered_to(&drain(&mut acd), "c1"), vec![a("a1")]);
}

#[test]
fn nobody_left_call_waits_without_anyone_ringing() {
    let mut acd = single_queue(Strategy::LongestIdle, &["a1"]);
    login(&mut acd, "a1", secs(0));
    enqueue(&mut acd, CallInfo::new("c1", "q"), secs(1));
    acd.handle_timeout(secs(16));
    assert!(matches!(state(&acd, "a1"), AgentState::Paused { .. }));
    assert_eq!(acd.waiting_calls("q"), vec![c("c1")]);
    assert_eq!(acd.poll_timeout(), None);
}
