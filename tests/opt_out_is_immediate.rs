//! "Press 9 to stop these calls": the caller's number is on the do-not-call
//! list the moment they reach the opt-out node, while the goodbye is still
//! playing, not when the call ends.

mod common;

use std::time::Duration;

use common::*;
use switchboard::media::g711::Codec;

const PLAN: &str = r#"
[dialplan]
name = "hotline"
start = "menu"
[nodes.menu]
type = "menu"
prompts = ["welcome"]
choices = { "9" = "stop_calls" }
timeout_secs = 20
fallback = "bye"
[nodes.stop_calls]
type = "hangup"
prompts = ["main_menu"]   # a long goodbye: the number must be listed long before it ends
outcome = "opted_out"
[nodes.bye]
type = "hangup"
outcome = "completed"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opt_out_lists_the_number_before_the_call_ends() {
    let plans = temp_dialplans(&[("hotline.toml", PLAN)]);
    let engine = Engine::start_with(EngineOptions {
        dialplans: plans.path().to_path_buf(),
        ..EngineOptions::default()
    })
    .await;
    let (media, sipp, at) = call_until_welcome(&engine, "uac_wait_for_bye.xml").await;
    let _keepalive = media.stream_silence(Codec::Pcmu, Duration::from_secs(60));
    media.send_digit('9', 101).await;
    let goodbye = encoded_prompt("en", "main_menu", Codec::Pcmu);
    media
        .wait_for_prompt(&goodbye, at, Duration::from_secs(20))
        .await
        .expect("the goodbye starts");

    // The number gets listed (the engine writes it in the background)...
    let store = engine.store().await;
    poll_until(Duration::from_secs(30), Some(&engine), async || {
        if store.dnc_contains("+15551234567").await.unwrap() {
            return Ok(());
        }
        Err("not on the list 30 s after opting out".to_string())
    })
    .await;

    // ...and it was listed before the call ended: the engine logs the
    // listing once written, and the call's end after its BYE, which comes
    // only once the goodbye (about 11 s) has played out.
    assert_sipp_passes(sipp, &engine).await;
    let calls = engine.ended_calls(1).await;
    assert_eq!(calls[0].outcome.as_deref(), Some("opted_out"));
    let listed = engine
        .wait_for_log(
            "opted out: on the do-not-call list",
            0,
            Duration::from_secs(10),
        )
        .await;
    let ended = engine
        .wait_for_log("call ended", 0, Duration::from_secs(10))
        .await;
    assert!(
        listed < ended,
        "listed only after the call ended; log:\n{}",
        engine.log_text()
    );
    let events = engine.events(&calls[0].id).await;
    assert!(events.iter().any(|e| e.kind == "opt_out"), "{events:?}");
}
