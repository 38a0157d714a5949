//! Crash safety: the engine is killed (SIGKILL) in the middle of a campaign
//! and started again on the same database. No lead is dialled twice (counted
//! at the trunk), no lead and no recorded outcome is lost, and the calls that
//! were in progress at the crash are marked `interrupted`, not redialled.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;

const PLAN: &str = r#"
[dialplan]
name = "notice"
start = "message"
[nodes.message]
type = "play"
prompts = ["welcome"]
next = "bye"
[nodes.bye]
type = "hangup"
outcome = "completed"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_campaign_resumes_without_redialling_or_losing_leads() {
    let (mut trunk, trunk_port, trunk_dir) = campaign_trunk();
    let plans = temp_dialplans(&[("notice.toml", PLAN)]);
    let (config_dir, config) = campaign_config(trunk_port, "notice");
    let options = || EngineOptions {
        dialplans: plans.path().to_path_buf(),
        config: Some(config.clone()),
        ..EngineOptions::default()
    };
    let engine = Engine::start_with(options()).await;

    let zone = daytime_zone();
    let numbers: Vec<String> = (1..=12)
        .map(|i| format!("+1212555{:04}", 100 + i))
        .collect();
    let list = config_dir.path().join("list.csv");
    let rows: String = numbers.iter().map(|n| format!("{n},{zone}\n")).collect();
    std::fs::write(&list, format!("phone,tz\n{rows}")).unwrap();
    switchboard_cli(
        &engine,
        &config,
        &[
            "campaign",
            "create",
            "recall",
            "--dialplan",
            "notice",
            "--trunk",
            "main",
            "--caller-id",
            "+12125550000",
            // The SIPp trunk sends no audio to analyse.
            "--no-amd",
            "--max-concurrent",
            "3",
            "--calls-per-second",
            "5",
        ],
    );
    switchboard_cli(
        &engine,
        &config,
        &[
            "campaign",
            "load",
            "recall",
            list.to_str().unwrap(),
            "--map",
            "phone=phone,timezone=tz",
        ],
    );
    switchboard_cli(&engine, &config, &["campaign", "start", "recall"]);

    // Kill it while calls are up: at least two attempts recorded and dialling.
    let store = engine.store().await;
    let campaign = store.campaign("recall").await.unwrap().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let counts = store.campaign_counts(&campaign.id).await.unwrap();
        if counts.attempts_in_progress >= 2 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no calls in progress; log:\n{}",
            engine.log_text()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let dir = engine.kill().await;
    let in_flight_at_kill: Vec<String> = store
        .campaign_attempts(&campaign.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.state == "dialing")
        .map(|a| a.number)
        .collect();
    assert!(!in_flight_at_kill.is_empty());

    // Start again on the same database; the campaign is still `running`.
    let engine = Engine::start_with(EngineOptions {
        dir: Some(dir),
        ..options()
    })
    .await;
    assert!(
        engine
            .log_text()
            .contains("recovered campaigns after an unclean stop"),
        "{}",
        engine.log_text()
    );
    engine
        .wait_for_campaign_state("recall", "finished", Duration::from_secs(90))
        .await;
    let store = engine.store().await;
    trunk.kill().await.ok();

    // Nothing lost: all 12 leads are final, each with exactly one attempt.
    let leads = store.campaign_leads(&campaign.id).await.unwrap();
    assert_eq!(leads.len(), 12);
    let attempts = store.campaign_attempts(&campaign.id).await.unwrap();
    let mut attempts_per_number: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for attempt in &attempts {
        attempts_per_number
            .entry(&attempt.number)
            .or_default()
            .push(attempt.state.as_str());
    }
    for lead in &leads {
        assert_eq!(lead.state, "done", "lead {} is {}", lead.number, lead.state);
        assert_eq!(
            lead.attempts, 1,
            "lead {} has {} attempts",
            lead.number, lead.attempts
        );
        let states = &attempts_per_number[lead.number.as_str()];
        if in_flight_at_kill.contains(&lead.number) {
            assert_eq!(states, &["interrupted"], "{}", lead.number);
            assert_eq!(lead.last_outcome.as_deref(), Some("interrupted"));
        } else {
            assert_eq!(states, &["ended"], "{}", lead.number);
            assert_eq!(lead.last_outcome.as_deref(), Some("completed"));
        }
    }

    // Counted at the trunk: every number got at most one INVITE.
    let log = trunk_log(&trunk_dir);
    let mut invites: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, kind, number) in trunk_events(&log) {
        if kind == "INVITE" {
            *invites.entry(number).or_default() += 1;
        }
    }
    for (number, count) in &invites {
        assert_eq!(*count, 1, "{number} was dialled {count} times");
    }
    let completed = leads
        .iter()
        .filter(|l| l.last_outcome.as_deref() == Some("completed"))
        .count();
    assert!(
        invites.len() >= completed,
        "every completed lead reached the trunk"
    );
}
