mod acd_common;
use acd_common::*;
use switchboard::acd::{Action, AgentState, CallInfo, Event, Strategy};

#[test]
fn agent_logs_out_while_ringing_call_goes_to_next_agent() {
    let mut acd = single_queue(Strategy::LongestIdle, &["a1", "a2"]);
    login(&mut acd, "a1", secs(0));
    login(&mut acd, "a2", secs(1));
    enqueue(&mut acd, CallInfo::new("c1", "q"), secs(5));
    assert_eq!(offered_to(&drain(&mut acd), "c1"), vec![a("a1")]);
    acd.handle(Event::AgentLogout { agent: a("a1") }, secs(6))
        .unwrap();
    let acts = drain(&mut acd);
    assert!(acts.contains(&Action::CancelOffer {
        call: c("c1"),
        agents: vec![a("a1")]
    }));
    assert_eq!(state(&acd, "a1"), AgentState::LoggedOut);
    assert_eq!(offered_to(&acts, "c1"), vec![a("a2")]);
    // The old ring deadline is gone: only a2's remains.
    assert_eq!(acd.poll_timeout(), Some(secs(21)));
    // A late answer from a1 is refused.
    assert!(acd
        .handle(
            Event::AgentAnswered {
                agent: a("a1"),
                call: c("c1")
            },
            secs(7)
        )
        .is_err());
}

#[test]
fn registration_lost_while_ringing_acts_like_logout() {
    let mut acd = single_queue(Strategy::LongestIdle, &["a1"]);
    login(&mut acd, "a1", secs(0));
    enqueue(&mut acd, CallInfo::new("c1", "q"), secs(5));
    acd.handle(Event::AgentRegistrationLost { agent: a("a1") }, secs(6))
        .unwrap();
    assert_eq!(state(&acd, "a1"), AgentState::LoggedOut);
    assert_eq!(acd.waiting_calls("q"), vec![c("c1")]);
}
