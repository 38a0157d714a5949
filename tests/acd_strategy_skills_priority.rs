mod acd_common;
use acd_common::*;
use switchboard::acd::{Acd, AcdConfig, AgentConfig, CallInfo, QueueConfig, Strategy};

fn setup() -> Acd {
    let mut acd = Acd::new(AcdConfig::default());
    acd.add_queue(
        QueueConfig::new("support", Strategy::SkillsWithPriority).require_skill("english", 3),
    )
    .unwrap();
    for (id, en, de) in [("junior", 3, 0), ("senior", 9, 5), ("nope", 2, 10)] {
        let mut cfg = AgentConfig::new(id, id)
            .queue("support")
            .skill("english", en);
        if de > 0 {
            cfg = cfg.skill("german", de);
        }
        acd.add_agent(cfg).unwrap();
    }
    acd
}

#[test]
fn highest_skill_level_wins_and_minimum_is_enforced() {
    let mut acd = setup();
    login(&mut acd, "nope", secs(0)); // longest idle but below min level
    login(&mut acd, "junior", secs(1));
    login(&mut acd, "senior", secs(2));
    drain(&mut acd);
    enqueue(&mut acd, CallInfo::new("c1", "support"), secs(5));
    assert_eq!(offered_to(&drain(&mut acd), "c1"), vec![a("senior")]);
    enqueue(&mut acd, CallInfo::new("c2", "support"), secs(6));
    assert_eq!(offered_to(&drain(&mut acd), "c2"), vec![a("junior")]);
    // Nobody eligible left: the third call waits even though "nope" is free.
    enqueue(&mut acd, CallInfo::new("c3", "support"), secs(7));
    assert!(offers(&drain(&mut acd)).is_empty());
    assert_eq!(acd.waiting_calls("support"), vec![c("c3")]);
}

#[test]
fn call_required_skills_filter_agents() {
    let mut acd = setup();
    login(&mut acd, "junior", secs(0));
    login(&mut acd, "senior", secs(1));
    enqueue(
        &mut acd,
        CallInfo::new("c1", "support").skill("german", 4),
        secs(5),
    );
    assert_eq!(offered_to(&drain(&mut acd), "c1"), vec![a("senior")]);
}

#[test]
fn vip_caller_jumps_the_queue() {
    let mut acd = setup();
    enqueue(&mut acd, CallInfo::new("n1", "support"), secs(0));
    enqueue(&mut acd, CallInfo::new("n2", "support"), secs(1));
    enqueue(
        &mut acd,
        CallInfo::new("vip", "support").priority(5),
        secs(2),
    );
    assert_eq!(
        acd.waiting_calls("support"),
        vec![c("vip"), c("n1"), c("n2")]
    );
    login(&mut acd, "junior", secs(3));
    let acts = drain(&mut acd);
    assert_eq!(offered_to(&acts, "vip"), vec![a("junior")]);
    assert!(offered_to(&acts, "n1").is_empty());
    login(&mut acd, "senior", secs(4));
    assert_eq!(offered_to(&drain(&mut acd), "n1"), vec![a("senior")]);
}
