//! A SIPp caller dials the demo hotline, hears its prompts, answers the menus
//! with RFC 4733 digits, and the call log records the path, digits, variables
//! and outcome.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use switchboard::media::g711::Codec;

const PROMPT_WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_call_follows_the_menu_and_is_logged() {
    let engine = Engine::start().await;
    let media = Arc::new(CallerMedia::bind().await);
    let sipp = Sipp::spawn(
        engine.sip,
        "uac_wait_for_bye.xml",
        "100",
        &[("rtp_port", media.port.to_string())],
    );
    let prompt = |name: &str| encoded_prompt("en", name, Codec::Pcmu);

    // The welcome prompt, byte for byte, then the language menu.
    let mut at = media
        .wait_for_prompt(&prompt("welcome"), 0, PROMPT_WAIT)
        .await
        .unwrap_or_else(|| panic!("no welcome prompt; engine log:\n{}", engine.log_text()));
    let _silence = media.stream_silence(Codec::Pcmu, Duration::from_secs(90));
    at = media
        .wait_for_prompt(&prompt("language_menu"), at, PROMPT_WAIT)
        .await
        .expect("language menu");
    media.send_digit('1', 101).await; // English
    at = media
        .wait_for_prompt(&prompt("main_menu"), at, PROMPT_WAIT)
        .await
        .expect("main menu");
    let menu_started = at;
    media.send_digit('0', 101).await; // talk to a person
    at = media
        .wait_for_prompt(&prompt("transfer_wait"), at, PROMPT_WAIT)
        .await
        .expect("transfer prompt");
    // Barge-in: the 11 s main menu was cut short by the key, not played out.
    let menu_length = prompt("main_menu").len();
    assert!(
        at - menu_started < menu_length / 2,
        "main menu played {} of {} bytes before the next prompt",
        at - menu_started,
        menu_length
    );
    // No agents are configured, so no queue can take the call: the plan's
    // on_failure path tells the caller so.
    at = media
        .wait_for_prompt(&prompt("agents_unavailable"), at, PROMPT_WAIT)
        .await
        .expect("agents unavailable");
    at = media
        .wait_for_prompt(&prompt("survey"), at, PROMPT_WAIT)
        .await
        .expect("survey");
    media.send_digit('5', 101).await;
    at = media
        .wait_for_prompt(&prompt("survey_thanks"), at, PROMPT_WAIT)
        .await
        .expect("survey thanks");
    media
        .wait_for_prompt(&prompt("goodbye"), at, PROMPT_WAIT)
        .await
        .expect("goodbye");

    // The engine hangs up; SIPp answers its BYE and exits cleanly.
    assert_sipp_passes(sipp, &engine).await;

    let calls = engine.ended_calls(1).await;
    let call = &calls[0];
    assert_eq!(call.direction, "inbound");
    assert_eq!(call.called, "100");
    assert_eq!(call.caller, "+15551234567");
    assert_eq!(call.dialplan.as_deref(), Some("hotline"));
    assert_eq!(call.outcome.as_deref(), Some("completed"));
    assert_eq!(call.hangup_by.as_deref(), Some("engine"));
    assert_eq!(call.sip_status, Some(200));
    assert!(call.answered_at.is_some() && call.duration_ms.unwrap_or(0) > 0);
    assert_eq!(call.digits, "105");
    assert_eq!(
        path_of(call),
        [
            "welcome",
            "language",
            "main_menu",
            "agent",
            "agents_unavailable",
            "survey",
            "survey_thanks",
            "goodbye"
        ]
    );
    let variables = variables_of(call);
    assert_eq!(variables["survey_score"], "5");
    assert_eq!(variables["language"], "en");

    // The timeline has each node, each digit and the failed queue transfer.
    let events = engine.events(&call.id).await;
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "digit").count(),
        3,
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e.kind == "transfer" && e.detail.contains("support")),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e.kind == "prompt" && e.detail == "en/welcome"),
        "{events:?}"
    );
    assert!(events.iter().any(|e| e.kind == "hangup"), "{events:?}");

    // Phone numbers are personal data: masked in the engine's logs.
    let log = engine.log_text();
    assert!(log.contains("+1********67"), "the masked caller is logged");
    assert!(
        !log.contains("+15551234567"),
        "the full caller number leaked into the log"
    );
}
