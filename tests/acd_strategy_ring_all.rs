mod acd_common;
use acd_common::*;
use switchboard::acd::{Action, AgentState, CallInfo, Event, Strategy};

#[test]
fn ring_all_offers_everyone_and_cancels_the_rest_on_answer() {
    let mut acd = single_queue(Strategy::RingAll, &["a1", "a2", "a3"]);
    login(&mut acd, "a1", secs(0));
    login(&mut acd, "a2", secs(1));
    login(&mut acd, "a3", secs(2));
    drain(&mut acd);
    enqueue(&mut acd, CallInfo::new("c1", "q"), secs(10));
    let acts = drain(&mut acd);
    assert_eq!(offered_to(&acts, "c1"), vec![a("a1"), a("a2"), a("a3")]);
    for id in ["a1", "a2", "a3"] {
        assert!(matches!(state(&acd, id), AgentState::Ringing { .. }));
    }
    answer(&mut acd, "a2", "c1", secs(12));
    let acts = drain(&mut acd);
    assert!(acts.contains(&Action::Connect {
        call: c("c1"),
        agent: a("a2")
    }));
    assert!(acts.contains(&Action::CancelOffer {
        call: c("c1"),
        agents: vec![a("a1"), a("a3")]
    }));
    assert_eq!(state(&acd, "a2"), AgentState::OnCall { call: c("c1") });
    // Losers are available again immediately, keeping their idle time.
    assert_eq!(state(&acd, "a1"), AgentState::Available { since: secs(0) });
    assert_eq!(state(&acd, "a3"), AgentState::Available { since: secs(2) });
    // A late answer from a loser is refused and changes nothing.
    assert!(acd
        .handle(
            Event::AgentAnswered {
                agent: a("a1"),
                call: c("c1")
            },
            secs(13)
        )
        .is_err());
    assert_eq!(state(&acd, "a1"), AgentState::Available { since: secs(0) });
}

#[test]
fn ring_all_one_rejection_keeps_the_others_ringing() {
    let mut acd = single_queue(Strategy::RingAll, &["a1", "a2"]);
    login(&mut acd, "a1", secs(0));
    login(&mut acd, "a2", secs(0));
    enqueue(&mut acd, CallInfo::new("c1", "q"), secs(1));
    acd.handle(
        Event::AgentRejectedOrNoAnswer {
            agent: a("a1"),
            call: c("c1"),
        },
        secs(2),
    )
    .unwrap();
    assert!(matches!(state(&acd, "a2"), AgentState::Ringing { .. }));
    answer(&mut acd, "a2", "c1", secs(3));
    assert_eq!(state(&acd, "a2"), AgentState::OnCall { call: c("c1") });
}
