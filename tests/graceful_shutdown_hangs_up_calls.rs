//! SIGTERM stops the engine cleanly: live calls get a BYE, the call log is
//! flushed with cause `shutdown`, and the process exits 0.

mod common;

use std::time::Duration;

use common::*;
use switchboard::store::Store;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_hangs_up_live_calls_and_flushes_the_log() {
    let engine = Engine::start().await;
    let (_media, sipp, _) = call_until_welcome(&engine, "uac_wait_for_bye.xml").await;

    let database_url = engine.database_url.clone();
    let log = engine.log.clone();
    let started = std::time::Instant::now();
    let (status, dir) = engine.stop().await;
    eprintln!("engine stopped in {:?}", started.elapsed());
    assert!(status.success(), "engine exit status {status:?}");

    // The caller got a BYE (its scenario ends by answering one).
    let outcome = sipp.finish(Duration::from_secs(30)).await;
    assert!(outcome.success, "{}", outcome.output);

    assert!(dir.path().exists());
    assert!(log
        .lock()
        .unwrap()
        .iter()
        .any(|l| l.contains("engine shutting down; hanging up")));
    let store = Store::open(&database_url).await.unwrap();
    let calls = store.recent_calls(10).await.unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].state, "ended");
    assert_eq!(calls[0].hangup_by.as_deref(), Some("system"));
    assert_eq!(calls[0].hangup_cause.as_deref(), Some("shutdown"));
}
