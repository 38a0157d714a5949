//! `switchboard serve` serves the REST API on the address it logs, next to
//! SIP, and what it writes lands in the engine's own database.

mod common;

use common::Engine;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_serves_health_and_campaigns_over_http() {
    let engine = Engine::start().await;
    assert!(engine.http.ip().is_loopback());
    let base = format!("http://{}", engine.http);
    let client = reqwest::Client::new();

    let health = client
        .get(format!("{base}/api/health"))
        .send()
        .await
        .expect("health request");
    assert_eq!(health.status(), reqwest::StatusCode::OK);
    let body: serde_json::Value = health.json().await.expect("health JSON");
    assert_eq!(body, serde_json::json!({ "status": "ok" }));

    let created = client
        .post(format!("{base}/api/campaigns"))
        .json(&serde_json::json!({
            "name": "spring", "dialplan": "hotline", "trunk": "main", "caller_id": "+15550001111"
        }))
        .send()
        .await
        .expect("create request");
    assert_eq!(created.status(), reqwest::StatusCode::CREATED);

    let list: serde_json::Value = client
        .get(format!("{base}/api/campaigns"))
        .send()
        .await
        .expect("list request")
        .json()
        .await
        .expect("list JSON");
    assert_eq!(list[0]["name"], "spring", "{list}");
    assert_eq!(list[0]["state"], "draft");

    // The engine's own store sees what the API wrote.
    let store = engine.store().await;
    assert!(store.campaign("spring").await.unwrap().is_some());

    let (status, _dir) = engine.stop().await;
    assert!(status.success(), "engine exit status {status}");
}
