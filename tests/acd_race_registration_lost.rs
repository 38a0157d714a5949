mod acd_common;
use acd_common::*;
use switchboard::acd::{Action, AgentState, CallInfo, ChangeReason, Event, Strategy};

#[test]
fn registration_lost_during_call_logs_out_when_the_call_ends() {
    let mut acd = single_queue(Strategy::LongestIdle, &["a1"]);
    login(&mut acd, "a1", secs(0));
    enqueue(&mut acd, CallInfo::new("c1", "q"), secs(1));
    answer(&mut acd, "a1", "c1", secs(2));
    acd.handle(Event::AgentRegistrationLost { agent: a("a1") }, secs(10))
        .unwrap();
    // Still on the call until it ends ...
    assert_eq!(state(&acd, "a1"), AgentState::OnCall { call: c("c1") });
    drain(&mut acd);
    end(&mut acd, "c1", secs(20));
    // ... then logged out, with no wrap-up and no deadline left.
    assert_eq!(state(&acd, "a1"), AgentState::LoggedOut);
    assert_eq!(
        drain(&mut acd),
        vec![Action::AgentStateChanged {
            agent: a("a1"),
            from: AgentState::OnCall { call: c("c1") },
            to: AgentState::LoggedOut,
            reason: ChangeReason::RegistrationLost,
        }]
    );
    assert_eq!(acd.poll_timeout(), None);
    // New calls are not offered to the lost agent.
    enqueue(&mut acd, CallInfo::new("c2", "q"), secs(21));
    assert!(offers(&drain(&mut acd)).is_empty());
}

#[test]
fn a_lost_registration_during_wrap_up_logs_out_at_once() {
    let mut acd = single_queue(Strategy::LongestIdle, &["a1"]);
    login(&mut acd, "a1", secs(0));
    enqueue(&mut acd, CallInfo::new("c1", "q"), secs(1));
    answer(&mut acd, "a1", "c1", secs(2));
    end(&mut acd, "c1", secs(3));
    acd.handle(Event::AgentRegistrationLost { agent: a("a1") }, secs(4))
        .unwrap();
    assert_eq!(state(&acd, "a1"), AgentState::LoggedOut);
    assert_eq!(acd.poll_timeout(), None);
}

#[test]
fn a_requested_logout_during_wrap_up_waits_for_its_end() {
    let mut acd = single_queue(Strategy::LongestIdle, &["a1"]);
    login(&mut acd, "a1", secs(0));
    enqueue(&mut acd, CallInfo::new("c1", "q"), secs(1));
    answer(&mut acd, "a1", "c1", secs(2));
    end(&mut acd, "c1", secs(3));
    let wrap_up = state(&acd, "a1");
    assert!(matches!(wrap_up, AgentState::WrapUp { .. }), "{wrap_up:?}");
    drain(&mut acd);
    // The agent still records how the call went; nothing is offered meanwhile.
    acd.handle(Event::AgentLogout { agent: a("a1") }, secs(4))
        .unwrap();
    assert_eq!(state(&acd, "a1"), wrap_up);
    enqueue(&mut acd, CallInfo::new("c2", "q"), secs(5));
    assert!(offers(&drain(&mut acd)).is_empty());
    // Wrap-up ends (its timer, or a disposition): logged out, never stuck.
    let end_of_wrap_up = acd.poll_timeout().expect("the wrap-up timer");
    acd.handle_timeout(end_of_wrap_up);
    assert_eq!(state(&acd, "a1"), AgentState::LoggedOut);
    assert!(drain(&mut acd).iter().any(|action| matches!(
        action,
        Action::AgentStateChanged {
            to: AgentState::LoggedOut,
            reason: ChangeReason::Logout,
            ..
        }
    )));
}

#[test]
fn a_requested_logout_during_a_call_keeps_the_wrap_up() {
    let mut acd = single_queue(Strategy::LongestIdle, &["a1"]);
    login(&mut acd, "a1", secs(0));
    enqueue(&mut acd, CallInfo::new("c1", "q"), secs(1));
    answer(&mut acd, "a1", "c1", secs(2));
    acd.handle(Event::AgentLogout { agent: a("a1") }, secs(3))
        .unwrap();
    end(&mut acd, "c1", secs(4));
    assert!(matches!(state(&acd, "a1"), AgentState::WrapUp { .. }));
    acd.handle(Event::WrapUpDone { agent: a("a1") }, secs(5))
        .unwrap();
    assert_eq!(state(&acd, "a1"), AgentState::LoggedOut);
}
