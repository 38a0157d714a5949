//! The command line: `dialplan check` lists every problem with file, node and
//! reason and exits non-zero; `calls` reads the call log as a table, as JSON,
//! and one call with its timeline.

mod common;

use std::process::Command;

use chrono::{TimeZone, Utc};
use common::*;
use switchboard::store::{CallEnd, CallEvent, NewCall, Store};

fn switchboard(args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .current_dir(repo_root())
        .output()
        .expect("run switchboard");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn dialplan_check_accepts_the_demo() {
    let (ok, text) = switchboard(&["dialplan", "check", "dialplans"]);
    assert!(ok, "{text}");
    assert!(
        text.contains("ok    dialplans/hotline.toml (dialplan 'hotline'"),
        "{text}"
    );
}

#[test]
fn dialplan_check_lists_every_problem() {
    let plans = temp_dialplans(&[(
        "broken.toml",
        r#"
[dialplan]
start = "menu"
[nodes.menu]
type = "menu"
prompts = ["welcome", "not_recorded_yet"]
choices = { "1" = "nowhere" }
fallback = "menu"
[nodes.orphan]
type = "hangup"
"#,
    )]);
    let path = plans.path().join("broken.toml");
    let (ok, text) = switchboard(&["dialplan", "check", path.to_str().unwrap()]);
    assert!(!ok, "a broken plan must fail the check");
    let file = path.display().to_string();
    assert!(
        text.contains(&format!(
            "{file}: node 'menu': choice '1' goes to unknown node 'nowhere'"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{file}: node 'menu': prompt 'not_recorded_yet' is missing for language 'en'"
        )),
        "{text}"
    );
    assert!(
        text.contains("node 'orphan'") && text.contains("is not reachable from start node"),
        "{text}"
    );
    assert!(text.contains("3 problem(s) in 1 file(s)"), "{text}");
}

#[tokio::test]
async fn calls_lists_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("calls.db").display());
    let store = Store::open(&url).await.unwrap();
    let log = store.start_writer();
    let started = Utc.with_ymd_and_hms(2026, 11, 2, 9, 30, 0).unwrap();
    log.call_started(NewCall {
        id: "call-1".into(),
        sip_call_id: "abc@host".into(),
        direction: "inbound",
        caller: "+34600111222".into(),
        called: "100".into(),
        dialplan: Some("hotline".into()),
        started_at: started,
    });
    log.call_answered("call-1", started + chrono::Duration::seconds(1));
    log.event(
        "call-1",
        CallEvent {
            at: started,
            kind: "node".into(),
            node: Some("welcome".into()),
            detail: String::new(),
        },
    );
    log.call_ended(
        "call-1",
        CallEnd {
            ended_at: started + chrono::Duration::seconds(13),
            answered_at: Some(started + chrono::Duration::seconds(1)),
            hangup_by: "caller".into(),
            hangup_cause: "BYE".into(),
            sip_status: Some(200),
            outcome: Some("caller_hangup".into()),
            path: vec!["welcome".into()],
            digits: "1".into(),
            ..CallEnd::default()
        },
    );
    log.flush().await;

    let (ok, table) = switchboard(&["--database", &url, "calls"]);
    assert!(ok, "{table}");
    let row = table.lines().nth(1).expect("one row");
    for field in [
        "2026-11-02T09:30:00.000Z",
        "+34600111222",
        "hotline",
        "ended",
        "12.0",
        "caller_hangup",
        "caller",
    ] {
        assert!(row.contains(field), "{field} missing from {row}");
    }

    let (ok, json) = switchboard(&["--database", &url, "calls", "--json"]);
    assert!(ok);
    let calls: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(calls[0]["sip_call_id"], "abc@host");
    assert_eq!(calls[0]["duration_ms"], 12000);

    let (ok, shown) = switchboard(&["--database", &url, "calls", "--show", "abc@host"]);
    assert!(ok, "{shown}");
    assert!(
        shown.contains("hangup    by caller (BYE)")
            && shown.contains("node")
            && shown.contains("welcome"),
        "{shown}"
    );

    let (ok, missing) = switchboard(&["--database", &url, "calls", "--show", "nope"]);
    assert!(
        !ok && missing.contains("no call with id or Call-ID 'nope'"),
        "{missing}"
    );
}
