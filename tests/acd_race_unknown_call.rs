mod acd_common;
use acd_common::*;
use switchboard::acd::{AcdError, CallInfo, Event, Strategy};

#[test]
fn call_ended_for_unknown_call_is_ignored() {
    let mut acd = single_queue(Strategy::LongestIdle, &["a1"]);
    login(&mut acd, "a1", secs(0));
    drain(&mut acd);
    let err = acd
        .handle(Event::CallEnded { call: c("ghost") }, secs(1))
        .unwrap_err();
    assert_eq!(err, AcdError::UnknownCall(c("ghost")));
    assert!(drain(&mut acd).is_empty());
    assert_eq!(
        state(&acd, "a1"),
        switchboard::acd::AgentState::Available { since: secs(0) }
    );
}

#[test]
fn duplicate_call_end_is_ignored() {
    let mut acd = single_queue(Strategy::LongestIdle, &["a1"]);
    login(&mut acd, "a1", secs(0));
    enqueue(&mut acd, CallInfo::new("c1", "q"), secs(1));
    answer(&mut acd, "a1", "c1", secs(2));
    end(&mut acd, "c1", secs(3));
    drain(&mut acd);
    assert!(acd
        .handle(Event::CallEnded { call: c("c1") }, secs(4))
        .is_err());
    assert!(drain(&mut acd).is_empty());
}

#[test]
fn unknown_agents_queues_and_duplicates_are_refused() {
    let mut acd = single_queue(Strategy::LongestIdle, &["a1"]);
    assert_eq!(
        acd.handle(Event::AgentLogin { agent: a("x") }, secs(0)),
        Err(AcdError::UnknownAgent(a("x")))
    );
    assert_eq!(
        acd.handle(Event::CallEnqueued(CallInfo::new("c1", "nope")), secs(0)),
        Err(AcdError::UnknownQueue("nope".into()))
    );
    enqueue(&mut acd, CallInfo::new("c1", "q"), secs(0));
    assert_eq!(
        acd.handle(Event::CallEnqueued(CallInfo::new("c1", "q")), secs(0)),
        Err(AcdError::DuplicateCall(c("c1")))
    );
    login(&mut acd, "a1", secs(1));
    assert!(acd
        .handle(Event::AgentLogin { agent: a("a1") }, secs(2))
        .is_err());
}
