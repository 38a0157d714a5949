//! An agent deleted, or logged out through the API, while talking to a
//! caller finishes the call first: the caller is not cut off, and the
//! agent leaves (or is logged out, without wrap-up) when the call ends.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use tokio::process::Child;

const PASSWORD: &str = "agent-password";
/// How long the agent's phone talks before it hangs up: the room the test
/// has to act while the call is up.
const TALK_MS: u64 = 20_000;

async fn engine(agents: &str) -> (Engine, tempfile::TempDir) {
    let (dir, config) = config_file(&format!(
        "{agents}[[queues]]\nname = \"support\"\nannounce_every_secs = 0\nwrap_up_secs = 2\n"
    ));
    let engine = Engine::start_with(EngineOptions {
        config: Some(config),
        ..EngineOptions::default()
    })
    .await;
    (engine, dir)
}

/// The agent's phone (SIPp answering, talking TALK_MS, then hanging up),
/// registered as the agent's contact; returns once the agent is available.
async fn answering_phone(engine: &Engine, agent: &str) -> (Child, tempfile::TempDir) {
    let logs = tempfile::tempdir().unwrap();
    let media_port = free_udp_port().to_string();
    let (child, port) = sipp_server(
        "uas_agent_answers.xml",
        &[],
        &[
            "-d",
            &TALK_MS.to_string(),
            "-m",
            "1",
            "-mp",
            &media_port,
            "-rtp_echo",
            "-trace_logs",
            "-timeout",
            "120s",
        ],
        Some(logs.path()),
    );
    register_agent_phone(engine, agent, PASSWORD, port).await;
    Api::of(engine)
        .wait_for_state(engine, agent, "available")
        .await;
    (child, logs)
}

async fn phone_hangs_up(mut phone: Child, engine: &Engine) {
    let status = tokio::time::timeout(Duration::from_secs(90), phone.wait())
        .await
        .expect("the agent's phone finishes")
        .unwrap();
    assert!(
        status.success(),
        "agent phone failed; engine log:\n{}",
        engine.log_text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_deleted_on_a_call_finishes_it_then_leaves() {
    let (engine, _config) = engine("").await;
    let api = Api::of(&engine);
    let (status, created) = api
        .post(
            "/api/agents",
            json!({ "id": "dora", "name": "Dora", "password": PASSWORD, "queues": ["support"] }),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let (phone, _logs) = answering_phone(&engine, "dora").await;
    let (_media, caller, _, _silence) = caller_asks_for_a_person(&engine).await;
    wait_for_agent_state(&engine, "dora", "on_call", 0).await;

    let (status, deleted) = api.delete("/api/agents/dora").await;
    assert_eq!(status, 200, "{deleted}");
    assert_eq!(deleted["leaves"], "after_call", "{deleted}");
    let (_, shown) = api.get("/api/agents/dora").await;
    assert_eq!(shown["deleting"], true, "{shown}");
    assert_eq!(shown["live"]["state"], "on_call", "{shown}");
    // Its id stays taken until it has left.
    let (status, _) = api
        .post(
            "/api/agents",
            json!({ "id": "dora", "name": "Dora", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, 409);

    // The agent hangs up when it is done; the caller gets a BYE then.
    phone_hangs_up(phone, &engine).await;
    assert_sipp_passes(caller, &engine).await;
    let call = &engine.ended_calls(1).await[0];
    assert_eq!(call.hangup_by.as_deref(), Some("agent"), "{call:?}");

    let gone = wait_for_agent_state(&engine, "dora", "logged_out", 0).await;
    let line = engine.log.lock().unwrap()[gone].clone();
    assert_eq!(json_field(&line, "reason").as_deref(), Some("removed"));
    poll_until(AGENT_WAIT, None, async || {
        match api.get("/api/agents/dora").await.0 {
            404 => Ok(()),
            _ => Err("dora never left".to_string()),
        }
    })
    .await;
    assert!(api.agent("dora").await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_on_a_call_takes_effect_when_the_call_ends() {
    let (engine, _config) = engine(&format!(
        "[[agents]]\nid = \"alice\"\nname = \"Alice\"\npassword = \"{PASSWORD}\"\nqueues = [\"support\"]\n\n"
    ))
    .await;
    let api = Api::of(&engine);
    let (phone, _logs) = answering_phone(&engine, "alice").await;
    let (_media, caller, _, _silence) = caller_asks_for_a_person(&engine).await;
    wait_for_agent_state(&engine, "alice", "on_call", 0).await;

    let (status, answer) = api.post("/api/agents/alice/logout", json!({})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["state"], "on_call", "{answer}");
    assert_eq!(answer["logout_after_call"], true, "{answer}");

    phone_hangs_up(phone, &engine).await;
    assert_sipp_passes(caller, &engine).await;
    // She keeps her wrap-up (to record how the call went), then is out.
    let wrap_up = wait_for_agent_state(&engine, "alice", "wrap_up", 0).await;
    let logged_out = wait_for_agent_state(&engine, "alice", "logged_out", wrap_up).await;
    let line = engine.log.lock().unwrap()[logged_out].clone();
    assert_eq!(
        json_field(&line, "from").as_deref(),
        Some("wrap_up"),
        "after the wrap-up: {line}"
    );
    assert_eq!(json_field(&line, "reason").as_deref(), Some("logout"));
    // The phone is still registered, but the agent stays out. (The log
    // line can reach the test before the API's view is updated: wait.)
    api.wait_for_state(&engine, "alice", "logged_out").await;
    let alice = api.agent("alice").await.unwrap();
    assert_eq!(alice["state"], "logged_out", "{alice}");
    assert_eq!(alice["stays_logged_out"], true, "{alice}");
}
