//! The demo dialplan that ships as dialplans/hotline.toml.

mod dialplan_common;

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use dialplan_common::*;
use switchboard::dialplan::{
    parse_and_validate, Action, Event, RecordingEndReason, TransferTarget,
};

#[test]
fn hotline_validates_with_exactly_the_shipped_prompts() {
    let plan = hotline();
    assert_eq!(plan.name(), "hotline");
    assert_eq!(plan.start(), "welcome");
    assert_eq!(
        plan.languages(),
        ["en".to_string(), "es".to_string()].as_slice()
    );
    assert_eq!(plan.timezone_name(), "America/New_York");
    // Every prompt the plan can play is one the catalog lists.
    let names = hotline_prompt_names();
    for (language, prompt) in plan.prompts_used() {
        assert!(language == "en" || language == "es");
        assert!(names.contains(&prompt), "{prompt}");
    }
}

#[test]
fn hotline_needs_every_language() {
    let catalog = Catalog::with(&["en"], &hotline_prompt_names());
    let errors = parse_and_validate("dialplans/hotline.toml", &hotline_text(), &catalog)
        .expect_err("Spanish prompts are missing");
    assert!(errors
        .iter()
        .any(|error| error.reason.contains("for language 'es'")));
}

fn to_main_menu_in(language_key: &str) -> Call {
    let (mut call, actions) = Call::start(hotline());
    assert_eq!(played(&actions), strings(&["welcome"]));
    let actions = call.finish_playback();
    assert_eq!(played(&actions), strings(&["language_menu"]));
    call.finish_playback();
    let actions = call.press(language_key);
    assert_eq!(played(&actions), strings(&["main_menu"]));
    call.finish_playback();
    call
}

#[test]
fn information_reads_hours_and_office_status() {
    // Monday 2026-03-02 10:00 in New York: open.
    let mut call = to_main_menu_in("2");
    let mut heard = played(&call.press("1"));
    for _ in 0..6 {
        heard.extend(played(&call.finish_playback()));
    }
    assert_eq!(
        heard,
        strings(&[
            "hours_from",
            "num_9",
            "hours_am_to",
            "num_5",
            "hours_pm",
            "office_open",
            "main_menu"
        ])
    );
    assert_eq!(call.session.variables()["language"], "es");
    assert_eq!(call.session.current_node(), "main_menu");
}

#[test]
fn information_on_a_holiday_says_closed() {
    let christmas_morning = Utc
        .with_ymd_and_hms(2026, 12, 25, 15, 0, 0)
        .single()
        .expect("time");
    let (mut call, _) = Call::start_at(hotline(), call_info(), christmas_morning);
    call.finish_playback();
    call.finish_playback();
    call.press("1");
    call.finish_playback();
    call.press("1");
    let mut heard = Vec::new();
    for _ in 0..5 {
        heard.extend(played(&call.finish_playback()));
    }
    assert_eq!(heard.last().map(String::as_str), Some("office_closed"));
}

#[test]
fn report_records_reads_reference_and_runs_survey() {
    let mut call = to_main_menu_in("1");
    let actions = call.press("2");
    assert_eq!(played(&actions), strings(&["report_intro", "beep"]));
    let actions = call.finish_playback();
    assert!(matches!(
        effects(&actions)[0],
        Action::StartRecording { .. }
    ));
    assert_eq!(effects(&call.press("#")), vec![Action::StopRecording]);
    let actions = call.send(Event::RecordingFinished {
        path: "recordings/call-1.wav".to_string(),
        duration_ms: 8000,
        reason: RecordingEndReason::Digit,
    });
    assert_eq!(played(&actions), strings(&["report_thanks"]));
    let actions = call.finish_playback();
    assert_eq!(
        played(&actions),
        strings(&["digit_4", "digit_2", "digit_0", "digit_7"])
    );
    let actions = call.finish_playback();
    assert_eq!(played(&actions), strings(&["survey"]));
    call.finish_playback();
    let actions = call.press("5");
    assert_eq!(played(&actions), strings(&["survey_thanks"]));
    assert_eq!(call.session.variables()["survey_score"], "5");
    let actions = call.finish_playback();
    assert_eq!(played(&actions), strings(&["goodbye"]));
    let actions = call.finish_playback();
    assert_eq!(
        effects(&actions),
        vec![Action::Hangup {
            outcome: "completed".to_string()
        }]
    );
}

#[test]
fn account_lookup_reads_the_balance() {
    let mut call = to_main_menu_in("1");
    assert_eq!(played(&call.press("3")), strings(&["account_prompt"]));
    call.finish_playback();
    let actions = call.press("123456#");
    let Some(Action::HttpRequest { method, url, .. }) = effects(&actions).into_iter().next() else {
        panic!("expected lookup");
    };
    assert_eq!(method, "GET");
    assert_eq!(url, "http://127.0.0.1:8089/accounts/123456");
    let mut fields = BTreeMap::new();
    fields.insert("balance".to_string(), "1250".to_string());
    let mut heard = played(&call.send(Event::HttpResponse(Ok(fields))));
    heard.extend(played(&call.finish_playback()));
    heard.extend(played(&call.finish_playback()));
    heard.extend(played(&call.finish_playback()));
    assert_eq!(
        heard,
        strings(&[
            "account_balance",
            "num_1",
            "num_thousand",
            "num_200",
            "num_50",
            "dollars",
            "main_menu"
        ])
    );
}

#[test]
fn account_lookup_failure_returns_to_menu() {
    let mut call = to_main_menu_in("1");
    call.press("3");
    call.finish_playback();
    call.press("9999#");
    let actions = call.send(Event::HttpResponse(Err("connection refused".to_string())));
    assert_eq!(played(&actions), strings(&["lookup_failed"]));
    assert_eq!(played(&call.finish_playback()), strings(&["main_menu"]));
}

#[test]
fn agent_unavailable_leads_to_survey_and_skipped_survey_outcome() {
    let mut call = to_main_menu_in("1");
    assert_eq!(played(&call.press("0")), strings(&["transfer_wait"]));
    let actions = call.finish_playback();
    assert_eq!(
        effects(&actions),
        vec![Action::Transfer {
            target: TransferTarget::Queue("support".to_string())
        }]
    );
    let actions = call.send(Event::TransferResult {
        connected: false,
        reason: "no agents".to_string(),
    });
    assert_eq!(played(&actions), strings(&["agents_unavailable"]));
    assert_eq!(played(&call.finish_playback()), strings(&["survey"]));
    call.finish_playback();
    assert_eq!(
        played(&call.press("9")),
        strings(&["survey_invalid", "survey"])
    );
    call.finish_playback();
    assert_eq!(played(&call.expire()), strings(&["no_input", "survey"]));
    call.finish_playback();
    assert_eq!(played(&call.press("#")), strings(&["goodbye"]));
    call.finish_playback();
    assert_eq!(call.session.outcome(), Some("survey_skipped"));
}

#[test]
fn main_menu_fallback_says_goodbye() {
    let mut call = to_main_menu_in("1");
    for _ in 0..3 {
        call.expire();
        call.finish_playback();
    }
    assert_eq!(played(&call.expire()), strings(&["goodbye"]));
    call.finish_playback();
    assert_eq!(call.session.outcome(), Some("completed"));
}
