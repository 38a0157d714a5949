//! Agents created, changed and deleted through the REST API, against the
//! real engine and SIPp phones:
//! - an agent created through the API registers a phone at once (200); a
//!   wrong password gets the same 401 as an unknown user; it is listed;
//! - bad fields are refused with the field named, never echoing the
//!   password; a taken id and the config file's agents give 409;
//! - a deleted agent's phone is refused, and its id can be used again;
//! - a changed password counts for the next registration, and drops the
//!   phone's binding and closes the page the old one opened;
//! - an agent stored under another SIP realm keeps that realm (and cannot
//!   log in) until it gets a new password: other changes leave it;
//! - agents created through the API are still there after a restart (same
//!   database), and the database holds no password.

mod common;

use common::*;
use serde_json::json;
use switchboard::store::{Store, StoredAgent};

const CONFIG: &str = "[[agents]]\nid = \"alice\"\nname = \"Alice\"\npassword = \"correct horse\"\nqueues = [\"support\"]\n\n\
                      [[queues]]\nname = \"sales\"\n";

async fn engine() -> (Engine, tempfile::TempDir) {
    let (dir, config) = config_file(CONFIG);
    let engine = Engine::start_with(EngineOptions {
        config: Some(config),
        ..EngineOptions::default()
    })
    .await;
    (engine, dir)
}

fn bob() -> serde_json::Value {
    json!({
        "id": "bob",
        "name": "Bob Stone",
        "password": "bobs-password",
        "skills": { "spanish": 7 },
        "queues": ["sales", "support"],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_created_through_the_api_registers_its_phone_at_once() {
    let (engine, _config) = engine().await;
    let api = Api::of(&engine);
    let (status, created) = api.post("/api/agents", bob()).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        created,
        json!({
            "id": "bob", "name": "Bob Stone", "skills": { "spanish": 7 },
            "queues": ["sales", "support"], "origin": "api",
        })
    );

    register_as(&engine, "bob", "bobs-password", "uac_register.xml").await;
    api.wait_for_state(&engine, "bob", "available").await;
    let listed = api.agent("bob").await.expect("bob is listed");
    assert_eq!(listed["origin"], "api");
    assert_eq!(listed["registered"], true);
    assert_eq!(listed["queues"], json!(["sales", "support"]));
    assert_eq!(api.agent("alice").await.unwrap()["origin"], "config");

    // A wrong password gets the same 401 as an unknown user.
    register_as(&engine, "bob", "not-bobs", "uac_register_refused.xml").await;
    let wrong_password = raw_register(engine.sip, "bob", "t1").await;
    let unknown_user = raw_register(engine.sip, "nobody", "t2").await;
    assert!(
        wrong_password.starts_with("SIP/2.0 401 "),
        "{wrong_password}"
    );
    assert_eq!(
        response_shape(&wrong_password),
        response_shape(&unknown_user)
    );

    let (status, one) = api.get("/api/agents/bob").await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["agent"]["name"], "Bob Stone");
    assert_eq!(one["live"]["state"], "available");
    for text in [created.to_string(), one.to_string(), engine.log_text()] {
        assert!(!text.contains("bobs-password"), "password leaked: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_agents_are_refused_naming_the_field_and_config_agents_are_read_only() {
    let (engine, _config) = engine().await;
    let api = Api::of(&engine);
    let with = |key: &str, value: serde_json::Value| {
        let mut body = bob();
        body[key] = value;
        body
    };
    for (body, field) in [
        (with("password", json!("short")), "password"),
        (with("password", json!(12345678)), "password"),
        (with("id", json!("bob smith")), "id"),
        (with("id", json!("")), "id"),
        (with("name", json!("  ")), "name"),
        (with("skills", json!({ "spanish": 11 })), "skills"),
        (with("skills", json!({ "spanish": 0 })), "skills"),
        (with("skills", json!({ "spanish": 300 })), "skills"),
        (with("queues", json!(["billing"])), "queues"),
        (with("colour", json!("blue")), "colour"),
    ] {
        let (status, answer) = api.post("/api/agents", body.clone()).await;
        assert_eq!(status, 400, "{body} -> {answer}");
        let message = answer["error"].as_str().expect("an error message");
        assert!(message.contains(field), "{body} -> {message}");
        assert!(
            !message.contains("short") && !message.contains("12345678"),
            "{message}"
        );
    }
    let (status, answer) = api
        .post("/api/agents", json!({ "id": "bob", "name": "Bob" }))
        .await;
    assert_eq!(status, 400);
    assert!(answer["error"].as_str().unwrap().contains("password"));
    let (status, _) = api.call(reqwest::Method::POST, "/api/agents", None).await;
    assert!((400..500).contains(&status), "{status}");

    // A taken id: another API agent's, or a config agent's.
    assert_eq!(api.post("/api/agents", bob()).await.0, 201);
    let (status, answer) = api.post("/api/agents", bob()).await;
    assert_eq!(status, 409, "{answer}");
    let (status, answer) = api.post("/api/agents", with("id", json!("alice"))).await;
    assert_eq!(status, 409, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("config file"));

    // The config file's agents cannot be changed or deleted here.
    let (status, answer) = api.delete("/api/agents/alice").await;
    assert_eq!(status, 409, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("config file"),
        "{answer}"
    );
    let (status, _) = api
        .patch("/api/agents/alice", json!({ "name": "Al" }))
        .await;
    assert_eq!(status, 409);
    assert_eq!(api.agent("alice").await.unwrap()["name"], "Alice");

    // Changes are checked like creations; unknown agents are 404.
    let (status, answer) = api
        .patch("/api/agents/bob", json!({ "queues": ["nope"] }))
        .await;
    assert_eq!(status, 400);
    assert!(answer["error"].as_str().unwrap().contains("queues"));
    assert_eq!(api.patch("/api/agents/bob", json!({})).await.0, 400);
    assert_eq!(
        api.patch("/api/agents/bob", json!({ "id": "robert" }))
            .await
            .0,
        400
    );
    assert_eq!(
        api.patch("/api/agents/zed", json!({ "name": "Zed" }))
            .await
            .0,
        404
    );
    assert_eq!(api.delete("/api/agents/zed").await.0, 404);
    let (status, changed) = api
        .patch(
            "/api/agents/bob",
            json!({ "name": "Robert", "skills": {}, "queues": ["support"] }),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["name"], "Robert");
    let listed = api.agent("bob").await.unwrap();
    assert_eq!(listed["name"], "Robert");
    assert_eq!(listed["queues"], json!(["support"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_agent_is_refused_and_its_id_can_be_used_again() {
    let (engine, _config) = engine().await;
    let api = Api::of(&engine);
    assert_eq!(api.post("/api/agents", bob()).await.0, 201);
    register_as(&engine, "bob", "bobs-password", "uac_register.xml").await;
    api.wait_for_state(&engine, "bob", "available").await;

    let (status, answer) = api.delete("/api/agents/bob").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["leaves"], "now");
    assert!(api.agent("bob").await.is_none());
    assert_eq!(api.get("/api/agents/bob").await.0, 404);
    assert_eq!(api.delete("/api/agents/bob").await.0, 404);
    // The engine's log is read in the background: wait for the line.
    engine
        .wait_for_log("agent's phone binding dropped", 0, AGENT_WAIT)
        .await;
    // The right password no longer registers.
    register_as(&engine, "bob", "bobs-password", "uac_register_refused.xml").await;
    // It was logged out for the reason "removed".
    let logged_out = wait_for_agent_state(&engine, "bob", "logged_out", 0).await;
    let line = engine.log.lock().unwrap()[logged_out].clone();
    assert_eq!(
        json_field(&line, "reason").as_deref(),
        Some("removed"),
        "{line}"
    );

    // The id is free again, with a new password.
    let mut again = bob();
    again["password"] = json!("a-new-password");
    assert_eq!(api.post("/api/agents", again).await.0, 201);
    register_as(&engine, "bob", "a-new-password", "uac_register.xml").await;
    api.wait_for_state(&engine, "bob", "available").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_created_through_the_api_survive_a_restart_without_their_password() {
    let (engine, config_dir) = engine().await;
    let api = Api::of(&engine);
    assert_eq!(api.post("/api/agents", bob()).await.0, 201);
    // A new password: the old one must not work after the restart.
    let (status, _) = api
        .patch(
            "/api/agents/bob",
            json!({ "password": "bobs-new-password" }),
        )
        .await;
    assert_eq!(status, 200);
    let (status, dir) = engine.stop().await;
    assert!(status.success(), "{status}");

    let database = std::fs::read(dir.path().join("calls.db")).unwrap();
    let wal = std::fs::read(dir.path().join("calls.db-wal")).unwrap_or_default();
    for bytes in [&database, &wal] {
        let text = String::from_utf8_lossy(bytes);
        assert!(!text.contains("bobs-password") && !text.contains("bobs-new-password"));
    }

    let engine = start_again(dir, config_dir.path().join("switchboard.toml")).await;
    let api = Api::of(&engine);
    let listed = api
        .agent("bob")
        .await
        .expect("bob is back after the restart");
    assert_eq!(listed["origin"], "api");
    assert_eq!(listed["skills"], json!({ "spanish": 7 }));
    register_as(&engine, "bob", "bobs-password", "uac_register_refused.xml").await;
    register_as(&engine, "bob", "bobs-new-password", "uac_register.xml").await;
    api.wait_for_state(&engine, "bob", "available").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_password_drops_the_phone_binding_and_closes_the_page() {
    let (engine, _config) = engine().await;
    let api = Api::of(&engine);
    assert_eq!(api.post("/api/agents", bob()).await.0, 201);
    register_as(&engine, "bob", "bobs-password", "uac_register.xml").await;
    let (mut page, welcome) = agent_page_login(&engine, "bob", "bobs-password").await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    api.wait_for_state(&engine, "bob", "available").await;

    let (status, changed) = api
        .patch(
            "/api/agents/bob",
            json!({ "password": "bobs-new-password" }),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    // Neither what the old password opened keeps bob logged in.
    let told = page_closed_with(&mut page)
        .await
        .expect("the page was told why it closed");
    assert!(
        told["message"].as_str().unwrap().contains("password"),
        "{told}"
    );
    engine
        .wait_for_log("agent's phone binding dropped", 0, AGENT_WAIT)
        .await;
    api.wait_for_state(&engine, "bob", "logged_out").await;
    assert_eq!(api.agent("bob").await.unwrap()["registered"], false);

    // The new password opens both again.
    let (_page, welcome) = agent_page_login(&engine, "bob", "bobs-new-password").await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    register_as(&engine, "bob", "bobs-new-password", "uac_register.xml").await;
    api.wait_for_state(&engine, "bob", "available").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_keeps_its_stored_realm_until_it_gets_a_new_password() {
    // Erin was stored by an engine whose SIP realm was "elsewhere".
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("calls.db").display());
    let store = Store::open(&url).await.unwrap();
    store
        .insert_agent(
            &StoredAgent {
                id: "erin".into(),
                name: "Erin".into(),
                ha1: switchboard::sip::digest::ha1("erin", "elsewhere", "erins-password"),
                realm: "elsewhere".into(),
                skills: Default::default(),
                queues: vec!["support".into()],
            },
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    drop(store);
    let (_config_dir, config) = config_file(CONFIG);
    let engine = start_again(dir, config).await;
    let api = Api::of(&engine);
    let stored_realm = || async {
        let agents = engine.store().await.stored_agents().await.unwrap();
        let erin = agents.iter().find(|agent| agent.id == "erin").unwrap();
        erin.realm.clone()
    };

    // A change without a password leaves the realm its HA1 was made for.
    let (status, changed) = api
        .patch("/api/agents/erin", json!({ "name": "Erin Doe" }))
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(stored_realm().await, "elsewhere");
    register_as(
        &engine,
        "erin",
        "erins-password",
        "uac_register_refused.xml",
    )
    .await;

    // A new password is made for this engine's realm.
    let (status, changed) = api
        .patch(
            "/api/agents/erin",
            json!({ "password": "erins-new-password" }),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(stored_realm().await, "switchboard");
    register_as(&engine, "erin", "erins-new-password", "uac_register.xml").await;
    api.wait_for_state(&engine, "erin", "available").await;
}
