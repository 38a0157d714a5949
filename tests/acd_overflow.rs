mod acd_common;
use acd_common::*;
use switchboard::acd::{
    Acd, AcdConfig, Action, AgentConfig, CallInfo, CallPhase, OverflowTarget, QueueConfig, Strategy,
};

#[test]
fn max_wait_overflows_to_voicemail() {
    let mut acd = single_queue_with(
        QueueConfig::new("q", Strategy::LongestIdle)
            .overflow_after(secs(60), OverflowTarget::Voicemail),
        &["a1"],
    );
    enqueue(&mut acd, CallInfo::new("c1", "q"), secs(5));
    assert_eq!(acd.poll_timeout(), Some(secs(65)));
    acd.handle_timeout(secs(64));
    assert!(drain(&mut acd).is_empty());
    acd.handle_timeout(secs(65));
    assert_eq!(
        drain(&mut acd),
        vec![Action::Overflow {
            call: c("c1"),
            to: OverflowTarget::Voicemail
        }]
    );
    assert!(acd.call_status(&c("c1")).is_none());
    assert_eq!(acd.poll_timeout(), None);
}

#[test]
fn max_wait_overflows_into_another_queue_with_free_agents() {
    let mut acd = Acd::new(AcdConfig::default());
    acd.add_queue(
        QueueConfig::new("first", Strategy::LongestIdle)
            .overflow_after(secs(30), OverflowTarget::Queue("second".into())),
    )
    .unwrap();
    acd.add_queue(
        QueueConfig::new("second", Strategy::LongestIdle)
            .overflow_after(secs(30), OverflowTarget::CallbackOffer),
    )
    .unwrap();
    acd.add_agent(AgentConfig::new("b1", "B").queue("second"))
        .unwrap();
    acd.add_agent(AgentConfig::new("b2", "B2").queue("second"))
        .unwrap();
    login(&mut acd, "b1", secs(0));
    answer_busy(&mut acd);
    enqueue(&mut acd, CallInfo::new("c1", "first"), secs(10));
    drain(&mut acd);
    acd.handle_timeout(secs(40));
    let acts = drain(&mut acd);
    assert_eq!(
        acts[0],
        Action::Overflow {
            call: c("c1"),
            to: OverflowTarget::Queue("second".into())
        }
    );
    let st = acd.call_status(&c("c1")).unwrap();
    assert_eq!(st.queue, "second");
    assert_eq!(st.entered_at, secs(10));
    assert_eq!(st.phase, CallPhase::Waiting { position: 1 });
    // The second queue's own max wait restarts on entry.
    assert_eq!(acd.poll_timeout(), Some(secs(70)));
    login(&mut acd, "b2", secs(50));
    assert_eq!(offered_to(&drain(&mut acd), "c1"), vec![a("b2")]);
}

/// Keeps b1 busy on another call in "second".
fn answer_busy(acd: &mut Acd) {
    enqueue(acd, CallInfo::new("busy", "second"), secs(1));
    answer(acd, "b1", "busy", secs(2));
}

#[test]
fn a_call_being_offered_does_not_overflow() {
    let mut acd = single_queue_with(
        QueueConfig::new("q", Strategy::LongestIdle)
            .ring_timeout(secs(100))
            .overflow_after(secs(30), OverflowTarget::Voicemail),
        &["a1"],
    );
    login(&mut acd, "a1", secs(0));
    enqueue(&mut acd, CallInfo::new("c1", "q"), secs(1));
    drain(&mut acd);
    acd.handle_timeout(secs(50));
    assert!(drain(&mut acd).is_empty());
    answer(&mut acd, "a1", "c1", secs(60));
    assert!(matches!(
        acd.call_status(&c("c1")).unwrap().phase,
        CallPhase::Connected { .. }
    ));
}
