mod acd_common;
use acd_common::*;
use switchboard::acd::{CallInfo, Strategy};

#[test]
fn round_robin_rotates_through_agents_in_order() {
    let mut acd = single_queue(Strategy::RoundRobin, &["a1", "a2", "a3"]);
    // Login order deliberately differs from the rotation order.
    login(&mut acd, "a3", secs(0));
    login(&mut acd, "a1", secs(1));
    login(&mut acd, "a2", secs(2));
    drain(&mut acd);
    let mut picked = Vec::new();
    for i in 0..6 {
        let id = format!("c{i}");
        let t = secs(10 + 100 * i);
        enqueue(&mut acd, CallInfo::new(id.as_str(), "q"), t);
        let who = offered_to(&drain(&mut acd), &id);
        assert_eq!(who.len(), 1);
        picked.push(who[0].0.clone());
        // Free the agent again at once: answer, end, finish wrap-up.
        answer(&mut acd, &who[0].0, &id, t + secs(1));
        end(&mut acd, &id, t + secs(2));
        acd.handle(
            switchboard::acd::Event::WrapUpDone {
                agent: who[0].clone(),
            },
            t + secs(3),
        )
        .unwrap();
    }
    assert_eq!(picked, ["a1", "a2", "a3", "a1", "a2", "a3"]);
}

#[test]
fn round_robin_skips_busy_agents() {
    let mut acd = single_queue(Strategy::RoundRobin, &["a1", "a2", "a3"]);
    for id in ["a1", "a2", "a3"] {
        login(&mut acd, id, secs(0));
    }
    enqueue(&mut acd, CallInfo::new("c1", "q"), secs(1));
    enqueue(&mut acd, CallInfo::new("c2", "q"), secs(2));
    let acts = drain(&mut acd);
    assert_eq!(offered_to(&acts, "c1"), vec![a("a1")]);
    assert_eq!(offered_to(&acts, "c2"), vec![a("a2")]);
    answer(&mut acd, "a2", "c2", secs(3));
    // a1 still ringing with c1, a2 on call: next is a3.
    enqueue(&mut acd, CallInfo::new("c3", "q"), secs(4));
    assert_eq!(offered_to(&drain(&mut acd), "c3"), vec![a("a3")]);
}
