//! The call row is written when the call starts and updated as it goes: an
//! engine killed with SIGKILL mid-call leaves a row saying the call was in
//! progress, with its path so far, and the next start closes it as
//! `interrupted`.

mod common;

use std::time::Duration;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_engine_leaves_an_in_progress_row_closed_on_restart() {
    let engine = Engine::start().await;
    let (_media, sipp, _) = call_until_welcome(&engine, "uac_wait_for_bye.xml").await;

    let in_progress = engine
        .wait_for_call_state("answered", Duration::from_secs(10))
        .await;
    assert_eq!(in_progress.ended_at, None);
    // The path so far is written by a later batch than the answered row:
    // kill only once the row holds it, so the test checks that the path
    // survives the kill, not how fast the batch comes.
    let store = engine.store().await;
    poll_until(Duration::from_secs(30), Some(&engine), async || {
        let row = store
            .find_call(&in_progress.id)
            .await
            .unwrap()
            .expect("the call's row");
        if path_of(&row).first().map(String::as_str) == Some("welcome") {
            return Ok(());
        }
        Err(format!("the stored path never showed the welcome: {row:?}"))
    })
    .await;
    drop(store);

    let dir = engine.kill().await;
    drop(sipp);

    let restarted = Engine::start_with(EngineOptions {
        dir: Some(dir),
        ..EngineOptions::default()
    })
    .await;
    let calls = restarted.store().await.recent_calls(10).await.unwrap();
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(call.id, in_progress.id);
    assert_eq!(call.state, "interrupted");
    assert_eq!(call.hangup_by.as_deref(), Some("system"));
    assert_eq!(call.hangup_cause.as_deref(), Some("engine_restart"));
    assert_eq!(call.outcome.as_deref(), Some("interrupted"));
    assert!(call.ended_at.is_some());
    assert!(call.answered_at.is_some());
    assert_eq!(path_of(call).first().map(String::as_str), Some("welcome"));
    assert!(restarted
        .log_text()
        .contains("closed calls left open by a previous run"));
}
