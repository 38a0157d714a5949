//! The campaign tables on real SQLite: leases are exclusive even when many
//! dialers lease at once, attempts are recorded before dialling, and crash
//! recovery returns undialled leads without redialling interrupted ones.

use std::collections::HashSet;

use chrono::{Duration, TimeZone, Utc};
use switchboard::store::{AttemptResult, CampaignRecord, NewLead, Store};

async fn store_with_leads(count: usize) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite://{}", dir.path().join("c.db").display()))
        .await
        .unwrap();
    store
        .create_campaign(&CampaignRecord {
            id: "c1".into(),
            name: "spring".into(),
            dialplan: "notice".into(),
            trunk: "main".into(),
            caller_id: "+15550001111".into(),
            state: "draft".into(),
            settings: "{}".into(),
            created_at: "2026-11-22T00:00:00Z".into(),
            updated_at: "2026-11-22T00:00:00Z".into(),
        })
        .await
        .unwrap();
    let leads: Vec<NewLead> = (0..count)
        .map(|i| NewLead {
            source_line: i as u64 + 2,
            number: format!("+1555000{i:04}"),
            name: None,
            timezones: vec!["America/New_York".into()],
            fields: "{}".into(),
        })
        .collect();
    let skipped = store.insert_leads("c1", &leads, Utc::now()).await.unwrap();
    assert!(skipped.is_empty());
    (dir, store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_leases_never_share_a_lead() {
    let (_dir, store) = store_with_leads(500).await;
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 15, 0, 0).unwrap();
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = store
                    .lease_due_leads(
                        "c1",
                        &format!("w{worker}"),
                        7,
                        now,
                        now + Duration::minutes(5),
                    )
                    .await
                    .unwrap();
                if batch.is_empty() {
                    return mine;
                }
                mine.extend(batch.into_iter().map(|lead| lead.id));
            }
        }));
    }
    let mut seen = HashSet::new();
    for task in tasks {
        for id in task.await.unwrap() {
            assert!(seen.insert(id), "lead {id} leased twice");
        }
    }
    assert_eq!(seen.len(), 500, "every lead leased exactly once");
}

#[tokio::test]
async fn duplicate_numbers_in_a_campaign_are_skipped() {
    let (_dir, store) = store_with_leads(3).await;
    let again = NewLead {
        source_line: 9,
        number: "+15550000001".into(),
        name: None,
        timezones: vec![],
        fields: "{}".into(),
    };
    let skipped = store
        .insert_leads("c1", &[again], Utc::now())
        .await
        .unwrap();
    assert_eq!(skipped, vec![(9, "+15550000001".to_string())]);
}

#[tokio::test]
async fn recovery_releases_undialled_leads_and_keeps_interrupted_ones() {
    let (_dir, store) = store_with_leads(3).await;
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 15, 0, 0).unwrap();
    let leased = store
        .lease_due_leads("c1", "node", 3, now, now + Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(leased.len(), 3);
    // Lead 0: dialled and finished. Lead 1: dialled, outcome unknown (crash).
    // Lead 2: leased but never dialled.
    store
        .start_attempt("a0", &leased[0], "main", "window ok", now)
        .await
        .unwrap();
    store
        .finish_attempt(
            "a0",
            leased[0].id,
            &AttemptResult {
                call_id: Some("call0".into()),
                ringing_at: Some(now),
                answered_at: None,
                ended_at: now + Duration::seconds(25),
                sip_status: Some(486),
                outcome: "busy".into(),
                amd_result: None,
                amd_confidence: None,
                amd_reasons: None,
                path: None,
                digits: None,
                lead_state: "retry_scheduled".into(),
                next_attempt_at: Some(now + Duration::minutes(10)),
            },
        )
        .await
        .unwrap();
    store
        .start_attempt("a1", &leased[1], "main", "window ok", now)
        .await
        .unwrap();

    let recovery = store
        .recover_campaigns(now + Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(
        (recovery.attempts_interrupted, recovery.leases_released),
        (1, 1)
    );
    let leads = store.campaign_leads("c1").await.unwrap();
    assert_eq!(leads[0].state, "retry_scheduled");
    assert_eq!(leads[0].attempts, 1);
    assert_eq!(leads[1].state, "done");
    assert_eq!(leads[1].last_outcome.as_deref(), Some("interrupted"));
    assert_eq!(leads[2].state, "pending");
    assert_eq!(leads[2].attempts, 0);
    let attempts = store.campaign_attempts("c1").await.unwrap();
    assert_eq!(
        attempts
            .iter()
            .map(|a| a.state.as_str())
            .collect::<Vec<_>>(),
        ["ended", "interrupted"]
    );
    // Only lead 2 is due again right away; lead 0 waits for its retry time.
    let due = store
        .lease_due_leads(
            "c1",
            "node",
            10,
            now + Duration::minutes(2),
            now + Duration::minutes(7),
        )
        .await
        .unwrap();
    assert_eq!(due.iter().map(|l| l.id).collect::<Vec<_>>(), [leased[2].id]);
    let later = store
        .lease_due_leads(
            "c1",
            "node",
            10,
            now + Duration::minutes(11),
            now + Duration::minutes(16),
        )
        .await
        .unwrap();
    assert_eq!(
        later.iter().map(|l| l.id).collect::<Vec<_>>(),
        [leased[0].id]
    );
    // The per-number history counts both attempts.
    assert_eq!(
        store
            .number_attempts_since(&leased[0].number, now - Duration::hours(24))
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn do_not_call_list() {
    let (_dir, store) = store_with_leads(0).await;
    let now = Utc::now();
    assert!(store.dnc_add("+15551112222", "manual", now).await.unwrap());
    assert!(
        !store.dnc_add("+15551112222", "import", now).await.unwrap(),
        "already listed"
    );
    assert!(store.dnc_contains("+15551112222").await.unwrap());
    assert!(store.dnc_numbers().await.unwrap().contains("+15551112222"));
    assert!(store.dnc_remove("+15551112222").await.unwrap());
    assert!(!store.dnc_contains("+15551112222").await.unwrap());
}
