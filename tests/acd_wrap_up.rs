mod acd_common;
use acd_common::*;
use switchboard::acd::{Action, AgentState, CallInfo, ChangeReason, Event, QueueConfig, Strategy};

#[test]
fn wrap_up_then_available() {
    let mut acd = single_queue(Strategy::LongestIdle, &["a1"]);
    login(&mut acd, "a1", secs(0));
    enqueue(&mut acd, CallInfo::new("c1", "q"), secs(1));
    answer(&mut acd, "a1", "c1", secs(2));
    // A call arriving while the agent is busy waits.
    enqueue(&mut acd, CallInfo::new("c2", "q"), secs(3));
    end(&mut acd, "c1", secs(30));
    assert_eq!(state(&acd, "a1"), AgentState::WrapUp { until: secs(40) });
    assert_eq!(acd.poll_timeout(), Some(secs(40)));
    drain(&mut acd);
    acd.handle_timeout(secs(39));
    assert_eq!(state(&acd, "a1"), AgentState::WrapUp { until: secs(40) });
    acd.handle_timeout(secs(40));
    let acts = drain(&mut acd);
    assert!(acts.contains(&Action::AgentStateChanged {
        agent: a("a1"),
        from: AgentState::WrapUp { until: secs(40) },
        to: AgentState::Available { since: secs(40) },
        reason: ChangeReason::WrapUpElapsed,
    }));
    // ... and immediately gets the waiting call.
    assert_eq!(offered_to(&acts, "c2"), vec![a("a1")]);
}

#[test]
fn wrap_up_done_ends_wrap_up_early() {
    let mut acd = single_queue(Strategy::LongestIdle, &["a1"]);
    login(&mut acd, "a1", secs(0));
    enqueue(&mut acd, CallInfo::new("c1", "q"), secs(1));
    answer(&mut acd, "a1", "c1", secs(2));
    end(&mut acd, "c1", secs(30));
    acd.handle(Event::WrapUpDone { agent: a("a1") }, secs(33))
        .unwrap();
    assert_eq!(state(&acd, "a1"), AgentState::Available { since: secs(33) });
    // Not in wrap-up any more: refused.
    assert!(acd
        .handle(Event::WrapUpDone { agent: a("a1") }, secs(34))
        .is_err());
}

#[test]
fn zero_wrap_up_goes_straight_to_available() {
    let mut acd = single_queue_with(
        QueueConfig::new("q", Strategy::LongestIdle).wrap_up(secs(0)),
        &["a1"],
    );
    login(&mut acd, "a1", secs(0));
    enqueue(&mut acd, CallInfo::new("c1", "q"), secs(1));
    answer(&mut acd, "a1", "c1", secs(2));
    end(&mut acd, "c1", secs(30));
    assert_eq!(state(&acd, "a1"), AgentState::Available { since: secs(30) });
}

#[test]
fn pause_during_call_applies_after_wrap_up() {
    let mut acd = single_queue(Strategy::LongestIdle, &["a1"]);
    login(&mut acd, "a1", secs(0));
    enqueue(&mut acd, CallInfo::new("c1", "q"), secs(1));
    answer(&mut acd, "a1", "c1", secs(2));
    acd.handle(
        Event::AgentPause {
            agent: a("a1"),
            reason: "lunch".into(),
        },
        secs(3),
    )
    .unwrap();
    assert_eq!(state(&acd, "a1"), AgentState::OnCall { call: c("c1") });
    end(&mut acd, "c1", secs(30));
    acd.handle_timeout(secs(40));
    assert_eq!(
        state(&acd, "a1"),
        AgentState::Paused {
            reason: "lunch".into()
        }
    );
}
