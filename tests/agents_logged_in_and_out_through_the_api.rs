//! Login and logout from outside (`POST /api/agents/{id}/login|logout`):
//! a logout keeps an agent with a registered phone logged out, even when
//! the phone registers again, until a login; a login without phone or page
//! says so; a logout closes the agent's page, and logging in on the page
//! counts as a login. Every change is stored as an agent event.

mod common;

use common::*;
use serde_json::json;

const PASSWORD: &str = "agent-password";

async fn engine() -> (Engine, tempfile::TempDir) {
    let (dir, config) = config_file(&format!(
        "[[agents]]\nid = \"alice\"\nname = \"Alice\"\npassword = \"{PASSWORD}\"\nqueues = [\"support\"]\n\n\
         [[agents]]\nid = \"bob\"\nname = \"Bob\"\npassword = \"{PASSWORD}\"\nqueues = [\"support\"]\n"
    ));
    let engine = Engine::start_with(EngineOptions {
        config: Some(config),
        ..EngineOptions::default()
    })
    .await;
    (engine, dir)
}

/// The stored (to_state, reason) of each of the agent's state changes,
/// once there are `count` of them (they are written in the background).
async fn stored_changes(engine: &Engine, agent: &str, count: usize) -> Vec<(String, String)> {
    stored_agent_events(engine, agent, count)
        .await
        .into_iter()
        .map(|row| (row.to_state, row.reason))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_keeps_a_registered_agent_out_until_a_login() {
    let (engine, _config) = engine().await;
    let api = Api::of(&engine);
    register_as(&engine, "alice", PASSWORD, "uac_register.xml").await;
    api.wait_for_state(&engine, "alice", "available").await;

    let (status, answer) = api.post("/api/agents/alice/logout", json!({})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["state"], "logged_out", "{answer}");
    assert_eq!(answer["stays_logged_out"], true);
    assert_eq!(answer["logout_after_call"], false);

    // The phone registers again: the agent stays logged out.
    let registrations = engine.log_len();
    register_as(&engine, "alice", PASSWORD, "uac_register.xml").await;
    engine
        .wait_for_log("agent registered", registrations, AGENT_WAIT)
        .await;
    // A login of another agent makes the desk look at every registration
    // (after alice's new one) before it answers.
    let (status, bob) = api.post("/api/agents/bob/login", json!({})).await;
    assert_eq!(status, 200, "{bob}");
    assert_eq!(bob["reachable"], false, "{bob}");
    assert_eq!(bob["state"], "logged_out");
    assert!(
        bob["message"]
            .as_str()
            .unwrap()
            .contains("no registered phone and no open agent page"),
        "{bob}"
    );
    let alice = api.agent("alice").await.unwrap();
    assert_eq!(alice["state"], "logged_out", "{alice}");
    assert_eq!(alice["stays_logged_out"], true, "{alice}");
    assert_eq!(alice["registered"], false, "{alice}");

    let (status, answer) = api.post("/api/agents/alice/login", json!({})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["state"], "available", "{answer}");
    assert_eq!(answer["reachable"], true);
    assert_eq!(answer["stays_logged_out"], false);

    assert_eq!(
        stored_changes(&engine, "alice", 3).await,
        [
            ("available", "login"),
            ("logged_out", "logout"),
            ("available", "login")
        ]
        .map(|(state, reason)| (state.to_string(), reason.to_string()))
    );
    assert_eq!(api.post("/api/agents/nobody/login", json!({})).await.0, 404);
    assert_eq!(
        api.post("/api/agents/nobody/logout", json!({})).await.0,
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_closes_the_agent_page_and_a_page_login_logs_in_again() {
    let (engine, _config) = engine().await;
    let api = Api::of(&engine);
    let (mut page, welcome) = agent_page_login(&engine, "alice", PASSWORD).await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    api.wait_for_state(&engine, "alice", "available").await;

    let (status, answer) = api.post("/api/agents/alice/logout", json!({})).await;
    assert_eq!(status, 200, "{answer}");
    // The page is told why, then closed.
    let told = page_closed_with(&mut page)
        .await
        .expect("the page was told it was logged out");
    assert!(
        told["message"].as_str().unwrap().contains("logged out"),
        "{told}"
    );
    api.wait_for_state(&engine, "alice", "logged_out").await;

    // Logging in on the page again is a login.
    let (_page, welcome) = agent_page_login(&engine, "alice", PASSWORD).await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    api.wait_for_state(&engine, "alice", "available").await;
    assert_eq!(api.agent("alice").await.unwrap()["stays_logged_out"], false);
    assert_eq!(
        stored_changes(&engine, "alice", 3).await,
        [
            ("available", "login"),
            ("logged_out", "logout"),
            ("available", "login")
        ]
        .map(|(state, reason)| (state.to_string(), reason.to_string()))
    );
}
