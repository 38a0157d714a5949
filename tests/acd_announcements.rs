mod acd_common;
use acd_common::*;
use switchboard::acd::{Action, CallInfo, QueueConfig, Strategy};

fn announcements(acts: &[Action]) -> Vec<(String, usize, u64)> {
    acts.iter()
        .filter_map(|x| match x {
            Action::AnnouncePosition {
                call,
                position,
                estimated_wait,
            } => Some((call.0.clone(), *position, estimated_wait.as_secs())),
            _ => None,
        })
        .collect()
}

#[test]
fn positions_are_announced_at_the_interval() {
    let mut acd = single_queue_with(
        QueueConfig::new("q", Strategy::LongestIdle).announce_every(secs(30)),
        &["a1", "a2"],
    );
    // Two staffed agents, default handle time 180 s.
    login(&mut acd, "a1", secs(0));
    login(&mut acd, "a2", secs(0));
    enqueue(&mut acd, CallInfo::new("x1", "q"), secs(0));
    enqueue(&mut acd, CallInfo::new("x2", "q"), secs(0));
    answer(&mut acd, "a1", "x1", secs(1));
    answer(&mut acd, "a2", "x2", secs(1));
    enqueue(&mut acd, CallInfo::new("c1", "q"), secs(10));
    enqueue(&mut acd, CallInfo::new("c2", "q"), secs(20));
    drain(&mut acd);
    assert_eq!(acd.poll_timeout(), Some(secs(40)));
    acd.handle_timeout(secs(40));
    // 180 s × 1 ÷ 2 agents = 90 s
    assert_eq!(announcements(&drain(&mut acd)), vec![("c1".into(), 1, 90)]);
    assert_eq!(acd.poll_timeout(), Some(secs(50)));
    acd.handle_timeout(secs(50));
    assert_eq!(announcements(&drain(&mut acd)), vec![("c2".into(), 2, 180)]);
    acd.handle_timeout(secs(69));
    assert!(announcements(&drain(&mut acd)).is_empty());
    acd.handle_timeout(secs(70));
    assert_eq!(announcements(&drain(&mut acd)), vec![("c1".into(), 1, 90)]);
}

#[test]
fn estimated_wait_uses_moving_average_of_handle_times() {
    let mut acd = single_queue_with(
        QueueConfig::new("q", Strategy::LongestIdle).wrap_up(secs(10)),
        &["a1"],
    );
    login(&mut acd, "a1", secs(0));
    // Two calls: talk 50 s and 90 s, +10 s wrap-up each → 60 and 100 → 80.
    enqueue(&mut acd, CallInfo::new("c1", "q"), secs(0));
    answer(&mut acd, "a1", "c1", secs(0));
    end(&mut acd, "c1", secs(50));
    acd.handle_timeout(secs(60));
    enqueue(&mut acd, CallInfo::new("c2", "q"), secs(60));
    answer(&mut acd, "a1", "c2", secs(60));
    end(&mut acd, "c2", secs(150));
    assert_eq!(acd.estimated_wait("q", 1), Some(secs(80)));
    assert_eq!(acd.estimated_wait("q", 3), Some(secs(240)));
    assert_eq!(acd.estimated_wait("nope", 1), None);
}
