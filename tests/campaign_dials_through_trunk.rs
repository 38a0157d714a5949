//! A campaign end to end: a CSV list is loaded (bad rows reported with their
//! line numbers), the campaign runs against a SIPp trunk, and every lead ends
//! right: answered calls run the dialplan, busy numbers are retried when
//! scheduled and then exhausted, an opt-out lands on the do-not-call list, a
//! number put on the list after loading is never dialled. Concurrency and
//! call rate are counted from the trunk's own log and never exceed the limits.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;

const PLAN: &str = r#"
[dialplan]
name = "reminder"
start = "message"
[nodes.message]
type = "play"
prompts = ["goodbye"]
next = "decide"
[nodes.decide]
type = "branch"
default = "done"
[[nodes.decide.when]]
variable = "called"
matches = "77$"
goto = "opt_out"
[nodes.done]
type = "hangup"
outcome = "completed"
[nodes.opt_out]
type = "hangup"
outcome = "opted_out"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn campaign_finishes_with_every_outcome_right_within_limits() {
    require_sipp();
    // The trunk.
    let (mut trunk, trunk_port, trunk_dir) = campaign_trunk();

    // The engine, with the trunk and the campaign's dialplan.
    let plans = temp_dialplans(&[("reminder.toml", PLAN)]);
    let (config_dir, config) = campaign_config(trunk_port, "reminder");
    let engine = Engine::start_with(EngineOptions {
        dialplans: plans.path().to_path_buf(),
        config: Some(config.clone()),
        ..EngineOptions::default()
    })
    .await;

    // The list: good rows, one invalid number, one duplicate.
    let zone = daytime_zone();
    let list = config_dir.path().join("list.csv");
    std::fs::write(
        &list,
        format!(
            "Phone,Name,TZ,Plan\n\
             +12125550101,Ana,{zone},gold\n\
             (212) 555-0102,Ben,{zone},silver\n\
             212.555.0103,Cruz,{zone},gold\n\
             +12125550104,Dee,{zone},gold\n\
             +12125550198,Busy One,{zone},gold\n\
             +12125550199,Busy Two,{zone},gold\n\
             +12125550177,Opt Out,{zone},gold\n\
             +12125550166,Listed Later,{zone},gold\n\
             555-12,Bad Number,{zone},gold\n\
             +12125550101,Ana Again,{zone},gold\n"
        ),
    )
    .unwrap();
    let config_path = config.as_path();
    switchboard_cli(
        &engine,
        config_path,
        &[
            "campaign",
            "create",
            "spring",
            "--dialplan",
            "reminder",
            "--trunk",
            "main",
            "--caller-id",
            "+12125550000",
            // The SIPp trunk sends no audio to analyse.
            "--no-amd",
            "--max-concurrent",
            "2",
            "--calls-per-second",
            "2",
            "--max-attempts",
            "2",
            "--retry",
            "busy=2s,no_answer=2s,failed=2s",
        ],
    );
    let loaded = switchboard_cli(
        &engine,
        config_path,
        &[
            "campaign",
            "load",
            "spring",
            list.to_str().unwrap(),
            "--map",
            "phone=Phone,name=Name,timezone=TZ",
        ],
    );
    assert!(loaded.contains("line 10: invalid number"), "{loaded}");
    assert!(
        loaded.contains("line 11") && loaded.contains("duplicate"),
        "{loaded}"
    );
    assert!(loaded.contains("10 rows: 8 loaded"), "{loaded}");
    // Listed after loading: the dialer must skip it.
    switchboard_cli(&engine, config_path, &["dnc", "add", "+12125550166"]);
    switchboard_cli(&engine, config_path, &["campaign", "start", "spring"]);

    // Wait for the campaign to finish (every lead final).
    engine
        .wait_for_campaign_state("spring", "finished", Duration::from_secs(90))
        .await;
    let store = engine.store().await;
    trunk.kill().await.ok();

    // Every lead's final state.
    let campaign = store.campaign("spring").await.unwrap().unwrap();
    let leads = store.campaign_leads(&campaign.id).await.unwrap();
    let states: BTreeMap<String, (String, i64)> = leads
        .iter()
        .map(|lead| (lead.number.clone(), (lead.state.clone(), lead.attempts)))
        .collect();
    let expect = |number: &str, state: &str, attempts: i64| {
        assert_eq!(
            states[number],
            (state.to_string(), attempts),
            "{number}: {states:?}"
        );
    };
    for number in [
        "+12125550101",
        "+12125550102",
        "+12125550103",
        "+12125550104",
    ] {
        expect(number, "done", 1);
    }
    expect("+12125550198", "exhausted", 2);
    expect("+12125550199", "exhausted", 2);
    expect("+12125550177", "do_not_call", 1);
    expect("+12125550166", "do_not_call", 0);
    assert!(
        store.dnc_contains("+12125550177").await.unwrap(),
        "the opt-out is on the list"
    );
    let attempts = store.campaign_attempts(&campaign.id).await.unwrap();
    assert_eq!(attempts.len(), 9);
    let outcomes: Vec<(&str, &str)> = attempts
        .iter()
        .map(|a| (a.number.as_str(), a.outcome.as_deref().unwrap_or("-")))
        .collect();
    assert_eq!(
        outcomes.iter().filter(|(_, o)| *o == "completed").count(),
        4,
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes.iter().filter(|(_, o)| *o == "busy").count(),
        4,
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes.iter().filter(|(_, o)| *o == "opted_out").count(),
        1,
        "{outcomes:?}"
    );
    // Every dial records why it was allowed.
    for attempt in &attempts {
        let why = &attempt.allowed_because;
        assert!(
            why.contains("inside calling window 08:00-21:00")
                && why.contains("DNC checked: not listed")
                && why.contains("lead attempts"),
            "{why}"
        );
    }
    let skip = store
        .lead_events(
            leads
                .iter()
                .find(|l| l.number == "+12125550166")
                .unwrap()
                .id,
        )
        .await
        .unwrap();
    assert!(
        skip.iter()
            .any(|(_, kind, detail)| kind == "skipped"
                && detail.to_lowercase().contains("do-not-call")),
        "{skip:?}"
    );

    // The pacing, on the engine's own clock: the attempts' recorded start
    // times (taken when the pacer lets each call start, before its INVITE
    // goes). Never more than 2 starts in any second; a busy number's retry
    // starts no sooner than 2 s after its first attempt ended.
    let millis = |text: &str| {
        chrono::DateTime::parse_from_rfc3339(text)
            .unwrap_or_else(|error| panic!("{text}: {error}"))
            .timestamp_millis()
    };
    let mut starts: Vec<i64> = attempts.iter().map(|a| millis(&a.started_at)).collect();
    starts.sort_unstable();
    for (index, at) in starts.iter().enumerate() {
        let in_window = starts[index..]
            .iter()
            .take_while(|later| *later - at < 1000)
            .count();
        assert!(
            in_window <= 2,
            "{in_window} attempts started within one second from {at}: {starts:?}"
        );
    }
    for number in ["+12125550198", "+12125550199"] {
        let tries: Vec<_> = attempts.iter().filter(|a| a.number == number).collect();
        assert_eq!(tries.len(), 2, "{number}: {tries:?}");
        let first_ended = millis(
            tries[0]
                .ended_at
                .as_deref()
                .expect("the first attempt ended"),
        );
        let retried = millis(&tries[1].started_at);
        assert!(
            retried - first_ended >= 2000,
            "{number} retried {} ms after its first attempt ended, before its 2 s retry time",
            retried - first_ended
        );
    }

    // From the trunk's log: who was called when, and how many at once.
    // The trunk's clock sees each INVITE after a send and receive delay
    // that varies from call to call on a busy machine, so its timing checks
    // allow some slack (the exact limits were checked on the engine's clock
    // above); what it sees must still be paced, not a burst.
    let log = trunk_log(&trunk_dir);
    let events = trunk_events(&log);
    let invites: Vec<(u64, &str)> = events
        .iter()
        .filter(|e| e.1 == "INVITE")
        .map(|e| (e.0, e.2))
        .collect();
    let mut per_number: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for (at, number) in &invites {
        per_number.entry(number).or_default().push(*at);
    }
    assert_eq!(per_number.len(), 7, "{per_number:?}");
    assert!(
        !per_number.contains_key("+12125550166"),
        "a do-not-call number was dialled"
    );
    for (number, times) in &per_number {
        let expected = if number.ends_with("98") || number.ends_with("99") {
            2
        } else {
            1
        };
        assert_eq!(
            times.len(),
            expected,
            "{number} dialled {} times",
            times.len()
        );
        if expected == 2 {
            assert!(
                times[1] - times[0] >= 1900,
                "{number} retried after {} ms, before its 2 s retry time",
                times[1] - times[0]
            );
        }
    }
    // Never more than 2 calls at once, never more than 2 new calls in any second.
    let mut current = 0i32;
    let mut peak = 0;
    for (_, kind, _) in &events {
        match *kind {
            "INVITE" => current += 1,
            "BYE" | "BUSY" => current -= 1,
            _ => {}
        }
        peak = peak.max(current);
    }
    assert!(peak <= 2, "trunk saw {peak} calls at once");
    for (index, (at, _)) in invites.iter().enumerate() {
        let in_window = invites[index..]
            .iter()
            .take_while(|(later, _)| later - at < 750)
            .count();
        assert!(
            in_window <= 2,
            "{in_window} INVITEs within 750 ms starting at {at}"
        );
    }

    // Status and export read the same story.
    let status = switchboard_cli(
        &engine,
        config_path,
        &["campaign", "status", "spring", "--json"],
    );
    let status: serde_json::Value = serde_json::from_str(status.trim()).unwrap();
    assert_eq!(status["state"], "finished");
    assert_eq!(status["attempts"]["busy"], 4);
    let export = switchboard_cli(&engine, config_path, &["campaign", "export", "spring"]);
    assert_eq!(
        export
            .lines()
            .filter(|line| line.contains("+1212555"))
            .count(),
        9,
        "{export}"
    );
}
