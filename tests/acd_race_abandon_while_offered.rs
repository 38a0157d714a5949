mod acd_common;
use acd_common::*;
use switchboard::acd::{Action, AgentState, CallInfo, Event, Strategy};

#[test]
fn caller_hangs_up_while_offered_agent_is_available_at_once() {
    let mut acd = single_queue(Strategy::LongestIdle, &["a1"]);
    login(&mut acd, "a1", secs(3));
    enqueue(&mut acd, CallInfo::new("c1", "q"), secs(5));
    drain(&mut acd);
    acd.handle(Event::CallAbandoned { call: c("c1") }, secs(8))
        .unwrap();
    let acts = drain(&mut acd);
    assert!(acts.contains(&Action::CancelOffer {
        call: c("c1"),
        agents: vec![a("a1")]
    }));
    // No wrap-up, idle time kept.
    assert_eq!(state(&acd, "a1"), AgentState::Available { since: secs(3) });
    assert!(acd.call_status(&c("c1")).is_none());
    assert_eq!(acd.poll_timeout(), None);
    // The late ring timeout / answer do nothing.
    acd.handle_timeout(secs(20));
    assert_eq!(state(&acd, "a1"), AgentState::Available { since: secs(3) });
    assert!(acd
        .handle(
            Event::AgentAnswered {
                agent: a("a1"),
                call: c("c1")
            },
            secs(9)
        )
        .is_err());
}

#[test]
fn caller_hangs_up_while_waiting() {
    let mut acd = single_queue(Strategy::LongestIdle, &["a1"]);
    enqueue(&mut acd, CallInfo::new("c1", "q"), secs(5));
    acd.handle(Event::CallAbandoned { call: c("c1") }, secs(8))
        .unwrap();
    assert!(acd.waiting_calls("q").is_empty());
    login(&mut acd, "a1", secs(9));
    assert!(offers(&drain(&mut acd)).is_empty());
}
