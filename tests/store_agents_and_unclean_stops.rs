//! The store side of agents managed through the API: accounts round-trip
//! (HA1 only, skills and queues as JSON), a taken id is a unique
//! violation; after an unclean stop, agents left logged in are logged out as
//! of the previous run's last write, so time per state leaves out the
//! downtime; agents whose last event is a logout through the API are found
//! again at start.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use switchboard::store::{AgentEventRow, Store, StoredAgent};

async fn store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("s.db").display());
    (Store::open(&url).await.unwrap(), dir)
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn event(agent: &str, at_text: &str, from: &str, to: &str, reason: &str) -> AgentEventRow {
    AgentEventRow {
        agent: agent.into(),
        at: at(at_text),
        from_state: from.into(),
        to_state: to.into(),
        reason: reason.into(),
        detail: None,
    }
}

#[tokio::test]
async fn stored_agents_round_trip_and_ids_are_unique() {
    let (store, _dir) = store().await;
    let mut dave = StoredAgent {
        id: "dave".into(),
        name: "Dave".into(),
        ha1: "0123456789abcdef0123456789abcdef".into(),
        realm: "switchboard".into(),
        skills: BTreeMap::from([("spanish".to_string(), 7)]),
        queues: vec!["support".into()],
    };
    store.insert_agent(&dave, Utc::now()).await.unwrap();
    let again = store.insert_agent(&dave, Utc::now()).await.unwrap_err();
    assert!(again.is_unique_violation(), "{again}");
    assert_eq!(store.stored_agents().await.unwrap(), vec![dave.clone()]);
    dave.name = "David".into();
    dave.queues.clear();
    assert!(store.update_agent(&dave, Utc::now()).await.unwrap());
    assert_eq!(store.stored_agents().await.unwrap(), vec![dave.clone()]);
    assert!(!format!("{dave:?}").contains(&dave.ha1));
    assert!(store.delete_agent("dave").await.unwrap());
    assert!(!store.delete_agent("dave").await.unwrap());
    assert!(!store.update_agent(&dave, Utc::now()).await.unwrap());
    assert!(store.stored_agents().await.unwrap().is_empty());
}

#[tokio::test]
async fn agents_left_logged_in_by_a_crash_are_logged_out_at_the_last_write() {
    let (store, _dir) = store().await;
    // Previous run: alice logs in at 10:00 and takes a call; bob logs in and
    // out; carol was logged out through the API. The engine's last write is
    // at 10:30; it then crashes, and starts again at 12:00.
    for row in [
        event(
            "alice",
            "2024-05-01T10:00:00.000Z",
            "logged_out",
            "available",
            "login",
        ),
        event(
            "bob",
            "2024-05-01T10:05:00.000Z",
            "logged_out",
            "available",
            "login",
        ),
        event(
            "bob",
            "2024-05-01T10:10:00.000Z",
            "available",
            "logged_out",
            "registration_lost",
        ),
        event(
            "carol",
            "2024-05-01T10:00:00.000Z",
            "logged_out",
            "available",
            "login",
        ),
        event(
            "carol",
            "2024-05-01T10:12:00.000Z",
            "available",
            "logged_out",
            "logout",
        ),
        event(
            "alice",
            "2024-05-01T10:20:00.000Z",
            "available",
            "on_call",
            "answered",
        ),
    ] {
        store.record_agent_event(&row).await.unwrap();
    }
    store
        .queue_call_entered("c1", "support", at("2024-05-01T10:30:00.000Z"))
        .await
        .unwrap();
    assert_eq!(store.close_agent_states_left_open().await.unwrap(), 1);
    // Nothing is left open, so a second start closes nothing.
    assert_eq!(store.close_agent_states_left_open().await.unwrap(), 0);

    let figures = store
        .agent_figures(
            at("2024-05-01T09:00:00.000Z"),
            at("2024-05-01T12:00:00.000Z"),
        )
        .await
        .unwrap();
    let alice = figures.iter().find(|f| f.agent == "alice").unwrap();
    let seconds = |state: &str| alice.seconds_by_state.get(state).copied().unwrap_or(0.0);
    // On the call from 10:20 to the last write at 10:30, not until 12:00.
    assert_eq!(seconds("on_call"), 600.0);
    assert_eq!(seconds("available"), 1200.0);
    let since = at("2024-05-01T09:00:00.000Z");
    let now = at("2024-05-01T12:00:00.000Z");
    assert_eq!(
        seconds("logged_out"),
        (now - since - Duration::minutes(30)).num_seconds() as f64
    );

    let kept = store.agents_kept_logged_out().await.unwrap();
    assert_eq!(kept.into_iter().collect::<Vec<_>>(), vec!["carol"]);
}
