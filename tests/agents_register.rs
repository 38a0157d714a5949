//! Agents' SIP phones register with the engine: good credentials get 200;
//! a wrong password and an unknown user get the very same 401 (accounts
//! cannot be enumerated); repeated failures lock the source out (403).

mod common;

use common::*;

async fn engine_with_agents() -> (Engine, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("switchboard.toml");
    std::fs::write(
        &config,
        "[[agents]]\nid = \"alice\"\nname = \"Alice\"\npassword = \"correct horse\"\nqueues = [\"support\"]\n",
    )
    .unwrap();
    let engine = Engine::start_with(EngineOptions {
        config: Some(config),
        ..EngineOptions::default()
    })
    .await;
    (engine, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn good_credentials_register() {
    let (engine, _dir) = engine_with_agents().await;
    register_as(&engine, "alice", "correct horse", "uac_register.xml").await;
    // The engine's log is read in the background: wait for the line.
    engine.wait_for_log("agent registered", 0, AGENT_WAIT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_refused() {
    let (engine, _dir) = engine_with_agents().await;
    register_as(
        &engine,
        "alice",
        "battery staple",
        "uac_register_refused.xml",
    )
    .await;
    assert!(!engine.log_text().contains("agent registered"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_user_and_wrong_password_look_the_same() {
    let (engine, _dir) = engine_with_agents().await;
    let wrong_password = raw_register(engine.sip, "alice", "t1").await;
    let unknown_user = raw_register(engine.sip, "mallory", "t2").await;
    assert!(
        wrong_password.starts_with("SIP/2.0 401 "),
        "{wrong_password}"
    );
    assert_eq!(
        response_shape(&wrong_password),
        response_shape(&unknown_user)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_lock_the_source_out() {
    let (engine, _dir) = engine_with_agents().await;
    for attempt in 0..5 {
        let answer = raw_register(engine.sip, "alice", &format!("l{attempt}")).await;
        assert!(answer.starts_with("SIP/2.0 401 "), "{answer}");
    }
    // Even the right password is refused from this source for a while.
    register_as(
        &engine,
        "alice",
        "correct horse",
        "uac_register_locked_out.xml",
    )
    .await;
    engine.wait_for_log("locked out", 0, AGENT_WAIT).await;
}
