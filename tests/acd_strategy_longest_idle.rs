mod acd_common;
use acd_common::*;
use switchboard::acd::{AgentState, CallInfo, Strategy};

#[test]
fn longest_idle_agent_gets_the_call() {
    let mut acd = single_queue(Strategy::LongestIdle, &["a1", "a2", "a3"]);
    login(&mut acd, "a2", secs(1));
    login(&mut acd, "a3", secs(2));
    login(&mut acd, "a1", secs(3));
    drain(&mut acd);
    enqueue(&mut acd, CallInfo::new("c1", "q"), secs(10));
    let acts = drain(&mut acd);
    assert_eq!(offered_to(&acts, "c1"), vec![a("a2")]);
    assert_eq!(
        state(&acd, "a2"),
        AgentState::Ringing {
            call: c("c1"),
            until: secs(25)
        }
    );
    // Next call goes to the next-longest idle agent.
    enqueue(&mut acd, CallInfo::new("c2", "q"), secs(11));
    assert_eq!(offered_to(&drain(&mut acd), "c2"), vec![a("a3")]);
}

#[test]
fn agent_back_from_call_goes_to_the_end_of_the_idle_line() {
    let mut acd = single_queue(Strategy::LongestIdle, &["a1", "a2"]);
    login(&mut acd, "a1", secs(0));
    login(&mut acd, "a2", secs(5));
    enqueue(&mut acd, CallInfo::new("c1", "q"), secs(10));
    answer(&mut acd, "a1", "c1", secs(12));
    end(&mut acd, "c1", secs(60));
    acd.handle_timeout(secs(70)); // wrap-up (10 s) over: a1 idle since 70
    assert_eq!(state(&acd, "a1"), AgentState::Available { since: secs(70) });
    drain(&mut acd);
    enqueue(&mut acd, CallInfo::new("c2", "q"), secs(80));
    assert_eq!(offered_to(&drain(&mut acd), "c2"), vec![a("a2")]);
}
