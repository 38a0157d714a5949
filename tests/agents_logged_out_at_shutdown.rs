//! When the engine stops, logged-in agents get a logout event (reason
//! "shutdown") before the database closes, so time per state does not run
//! on through the downtime. After a crash (kill -9), the next start writes
//! that logout instead (reason "engine_restart"), dated at the previous
//! run's last write.

mod common;

use common::*;

const PASSWORD: &str = "agent-password";

fn config() -> (tempfile::TempDir, std::path::PathBuf) {
    config_file(&format!(
        "[[agents]]\nid = \"alice\"\nname = \"Alice\"\npassword = \"{PASSWORD}\"\nqueues = [\"support\"]\n"
    ))
}

async fn start(config: &std::path::Path, dir: Option<tempfile::TempDir>) -> Engine {
    Engine::start_with(EngineOptions {
        config: Some(config.to_path_buf()),
        dir,
        ..EngineOptions::default()
    })
    .await
}

/// Alice registers her phone and is available.
async fn alice_available(engine: &Engine) {
    register_as(engine, "alice", PASSWORD, "uac_register.xml").await;
    Api::of(engine)
        .wait_for_state(engine, "alice", "available")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_stop_writes_a_logout_for_each_logged_in_agent() {
    let (_config_dir, config) = config();
    let engine = start(&config, None).await;
    alice_available(&engine).await;
    let database_url = engine.database_url.clone();
    let (status, dir) = engine.stop().await;
    assert!(status.success(), "{status}");

    let store = switchboard::store::Store::open(&database_url)
        .await
        .unwrap();
    let events = store.agent_events("alice").await.unwrap();
    let last = events.last().expect("alice's events");
    assert_eq!(
        (
            last.from_state.as_str(),
            last.to_state.as_str(),
            last.reason.as_str()
        ),
        ("available", "logged_out", "shutdown"),
        "{events:?}"
    );
    drop(store);

    // A clean stop leaves nothing for the next start to close.
    let engine = start(&config, Some(dir)).await;
    assert!(!engine.log_text().contains("did not stop cleanly"));
    let events = engine.store().await.agent_events("alice").await.unwrap();
    assert!(
        events.iter().all(|event| event.reason != "engine_restart"),
        "{events:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_crash_the_next_start_logs_agents_out_as_of_the_last_write() {
    let (_config_dir, config) = config();
    let engine = start(&config, None).await;
    alice_available(&engine).await;
    // The login row is written in the background: wait until it is stored
    // before the crash, or the crash could come first.
    let login = stored_agent_events(&engine, "alice", 1).await;
    assert_eq!(login[0].reason, "login", "{login:?}");
    let login_at = login[0].at;
    let dir = engine.kill().await;

    let restarted_at = chrono::Utc::now();
    let engine = start(&config, Some(dir)).await;
    assert!(
        engine.log_text().contains("did not stop cleanly"),
        "{}",
        engine.log_text()
    );
    let events = engine.store().await.agent_events("alice").await.unwrap();
    let closed = events
        .iter()
        .find(|event| event.reason == "engine_restart")
        .unwrap_or_else(|| panic!("no logout after the crash: {events:?}"));
    assert_eq!(closed.from_state, "available");
    assert_eq!(closed.to_state, "logged_out");
    // Dated at the last thing the crashed run wrote (alice's login), not at
    // the restart.
    assert_eq!(closed.at, login_at);
    assert!(closed.at < restarted_at);
}
