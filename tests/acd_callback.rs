mod acd_common;
use acd_common::*;
use switchboard::acd::{Action, AgentState, CallInfo, CallPhase, Event, Strategy};

#[test]
fn callback_keeps_its_place_and_is_placed_when_an_agent_frees_up() {
    let mut acd = single_queue(Strategy::LongestIdle, &["a1"]);
    login(&mut acd, "a1", secs(0));
    enqueue(&mut acd, CallInfo::new("busy", "q"), secs(1));
    answer(&mut acd, "a1", "busy", secs(2));
    enqueue(&mut acd, CallInfo::new("c1", "q"), secs(10));
    enqueue(&mut acd, CallInfo::new("c2", "q"), secs(20));
    // c1 hangs up the line but asks for a callback.
    acd.handle(Event::CallbackRequested { call: c("c1") }, secs(30))
        .unwrap();
    enqueue(&mut acd, CallInfo::new("c3", "q"), secs(40));
    assert_eq!(acd.waiting_calls("q"), vec![c("c1"), c("c2"), c("c3")]);
    let st = acd.call_status(&c("c1")).unwrap();
    assert!(st.callback);
    assert_eq!(st.entered_at, secs(10));
    assert_eq!(st.phase, CallPhase::Waiting { position: 1 });
    drain(&mut acd);

    end(&mut acd, "busy", secs(100));
    acd.handle_timeout(secs(110));
    let acts = drain(&mut acd);
    assert!(acts.contains(&Action::PlaceCallback {
        call: c("c1"),
        agent: a("a1")
    }));
    assert!(offers(&acts).is_empty());
    assert!(matches!(state(&acd, "a1"), AgentState::Ringing { .. }));
    // Customer picked up: connected.
    answer(&mut acd, "a1", "c1", secs(115));
    assert!(drain(&mut acd).contains(&Action::Connect {
        call: c("c1"),
        agent: a("a1")
    }));
}

#[test]
fn callback_requested_while_offered_releases_the_agent() {
    let mut acd = single_queue(Strategy::RingAll, &["a1", "a2"]);
    login(&mut acd, "a1", secs(0));
    login(&mut acd, "a2", secs(0));
    enqueue(&mut acd, CallInfo::new("c1", "q"), secs(1));
    drain(&mut acd);
    acd.handle(Event::CallbackRequested { call: c("c1") }, secs(2))
        .unwrap();
    let acts = drain(&mut acd);
    assert!(acts.contains(&Action::CancelOffer {
        call: c("c1"),
        agents: vec![a("a1"), a("a2")]
    }));
    // Re-dispatched at once as a callback to exactly one agent.
    let placed: Vec<_> = acts
        .iter()
        .filter(|x| matches!(x, Action::PlaceCallback { .. }))
        .collect();
    assert_eq!(placed.len(), 1);
}

#[test]
fn enqueued_callback_is_placed_and_never_announced_or_overflowed() {
    let mut acd = single_queue_with(
        switchboard::acd::QueueConfig::new("q", Strategy::LongestIdle)
            .announce_every(secs(10))
            .overflow_after(secs(20), switchboard::acd::OverflowTarget::Voicemail),
        &["a1"],
    );
    enqueue(&mut acd, CallInfo::new("cb", "q").callback(), secs(0));
    assert_eq!(acd.poll_timeout(), None);
    acd.handle_timeout(secs(1000));
    assert!(drain(&mut acd).is_empty());
    login(&mut acd, "a1", secs(1001));
    assert!(drain(&mut acd).contains(&Action::PlaceCallback {
        call: c("cb"),
        agent: a("a1")
    }));
}
