//! Dialplans reload on SIGHUP (and on file change): new calls get the new
//! plan, a call in progress finishes on the plan it started with, and a
//! reload with errors keeps the old plan running and logs why.

mod common;

use std::time::Duration;

use common::*;
use switchboard::media::g711::Codec;

const VERSION_ONE: &str = r#"
[dialplan]
name = "hotline"
start = "welcome"
languages = ["en"]

[nodes.welcome]
type = "play"
prompts = ["welcome", "main_menu"]
next = "bye"

[nodes.bye]
type = "hangup"
outcome = "version_one"
"#;

const VERSION_TWO: &str = r#"
[dialplan]
name = "hotline"
start = "bye"
languages = ["en"]

[nodes.bye]
type = "hangup"
prompts = ["goodbye"]
outcome = "version_two"
"#;

const BROKEN: &str = r#"
[dialplan]
name = "hotline"
start = "bye"

[nodes.bye]
type = "hangup"
prompts = ["no_such_prompt"]
outcome = "broken"
"#;

/// Places a call that runs to the plan's end; returns its outcome. The call
/// is found by its SIP Call-ID, so a longer call ending meanwhile is never
/// taken for it.
async fn short_call(engine: &Engine) -> String {
    static CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let number = CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let sip_call_id = format!("short-call-{number}@127.0.0.1");
    let sipp = Sipp::spawn_with(
        engine.sip,
        "uac_wait_for_bye.xml",
        "100",
        &[("rtp_port", free_udp_port().to_string())],
        &["-cid_str", &sip_call_id],
    );
    assert_sipp_passes(sipp, engine).await;
    let store = engine.store().await;
    poll_until(Duration::from_secs(10), Some(engine), async || {
        let call = store.find_call(&sip_call_id).await.unwrap();
        if let Some(call) = call.as_ref().filter(|call| call.state == "ended") {
            return Ok(call.outcome.clone().unwrap_or_default());
        }
        Err(format!(
            "call {sip_call_id} never logged as ended: {call:?}"
        ))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_switches_new_calls_and_keeps_old_ones() {
    let plans = temp_dialplans(&[("hotline.toml", VERSION_ONE)]);
    let file = plans.path().join("hotline.toml");
    let engine = Engine::start_with(EngineOptions {
        dialplans: plans.path().to_path_buf(),
        ..EngineOptions::default()
    })
    .await;

    // A call starts on version one and is still playing its long prompts...
    let (media, long_call, _) = call_until_welcome(&engine, "uac_wait_for_bye.xml").await;

    let _keepalive = media.stream_silence(Codec::Pcmu, Duration::from_secs(60));

    // ...when version two replaces it (SIGHUP).
    let mark = engine.log_len();
    std::fs::write(&file, VERSION_TWO).unwrap();
    engine.signal("HUP");
    engine
        .wait_for_log("dialplans reloaded", mark, Duration::from_secs(10))
        .await;
    assert_eq!(short_call(&engine).await, "version_two");

    // A broken version is refused; version two stays in service.
    let mark = engine.log_len();
    std::fs::write(&file, BROKEN).unwrap();
    engine.signal("HUP");
    let line = engine
        .wait_for_log(
            "previous version stays in service",
            mark,
            Duration::from_secs(10),
        )
        .await;
    let logged = engine.log.lock().unwrap()[line].clone();
    assert!(
        logged.contains("hotline.toml") && logged.contains("no_such_prompt"),
        "{logged}"
    );
    assert_eq!(short_call(&engine).await, "version_two");

    // The first call finishes on version one.
    assert_sipp_passes(long_call, &engine).await;
    let calls = engine.ended_calls(3).await;
    let first = calls
        .iter()
        .find(|c| c.caller == "+15551234567" && path_of(c).contains(&"welcome".to_string()))
        .expect("first call");
    assert_eq!(first.outcome.as_deref(), Some("version_one"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_file_is_reloaded_without_a_signal() {
    let plans = temp_dialplans(&[("hotline.toml", VERSION_ONE)]);
    let engine = Engine::start_with(EngineOptions {
        dialplans: plans.path().to_path_buf(),
        ..EngineOptions::default()
    })
    .await;
    let mark = engine.log_len();
    std::fs::write(plans.path().join("hotline.toml"), VERSION_TWO).unwrap();
    let line = engine
        .wait_for_log("dialplans reloaded", mark, Duration::from_secs(15))
        .await;
    assert!(engine.log.lock().unwrap()[line].contains("file changed"));
    assert_eq!(short_call(&engine).await, "version_two");
}

#[test]
fn a_deleted_file_retires_its_plan() {
    use std::sync::Arc;
    use switchboard::media::prompts::PromptLibrary;
    use switchboard::plans::PlanRegistry;
    let plans = temp_dialplans(&[("hotline.toml", VERSION_TWO)]);
    let registry = PlanRegistry::new(
        plans.path(),
        Arc::new(PromptLibrary::new(repo_root().join("prompts"))),
    );
    assert!(registry.load_all().errors.is_empty());
    assert!(registry.get("hotline").is_some());
    std::fs::remove_file(plans.path().join("hotline.toml")).unwrap();
    registry.load_all();
    assert!(
        registry.get("hotline").is_none(),
        "a plan whose file is gone takes no new calls"
    );
}
