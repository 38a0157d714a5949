mod acd_common;
use acd_common::*;
use switchboard::acd::{CallInfo, Event, Strategy};

fn take_call(acd: &mut switchboard::acd::Acd, agent: &str, call: &str, t: u64) {
    enqueue(acd, CallInfo::new(call, "q"), secs(t));
    let who = offered_to(&drain(acd), call);
    assert_eq!(who, vec![a(agent)], "call {call}");
    answer(acd, agent, call, secs(t + 1));
    end(acd, call, secs(t + 2));
    acd.handle(Event::WrapUpDone { agent: a(agent) }, secs(t + 3))
        .unwrap();
}

#[test]
fn fewest_calls_prefers_the_least_loaded_agent() {
    let mut acd = single_queue(Strategy::FewestCalls, &["a1", "a2"]);
    login(&mut acd, "a1", secs(0));
    login(&mut acd, "a2", secs(1));
    // Tie (0 calls each): longest idle a1.
    take_call(&mut acd, "a1", "c1", 10);
    // a1 has 1 call, a2 has 0.
    take_call(&mut acd, "a2", "c2", 20);
    // Tie again (1 each): a1 idle since 13, a2 since 23.
    take_call(&mut acd, "a1", "c3", 30);
    take_call(&mut acd, "a2", "c4", 40);
}

#[test]
fn fewest_calls_beats_longest_idle() {
    let mut acd = single_queue(Strategy::FewestCalls, &["a1", "a2"]);
    login(&mut acd, "a1", secs(0));
    take_call(&mut acd, "a1", "c1", 10);
    take_call(&mut acd, "a1", "c2", 20);
    // a2 logs in later (shorter idle) but has taken no calls.
    login(&mut acd, "a2", secs(30));
    take_call(&mut acd, "a2", "c3", 40);
}
