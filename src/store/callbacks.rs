//! Callbacks waiting to be placed: written when a caller asks for one,
//! updated after every attempt, read back at start-up.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{time_text, Store, StoreError};

/// One callback as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct CallbackRow {
    /// The id of the call that asked for it.
    pub call: String,
    pub queue: String,
    pub number: String,
    /// The screen pop the agent gets (SIP header name, value).
    pub screen: Vec<(String, String)>,
    pub priority: u8,
    pub requested_at: DateTime<Utc>,
    /// Attempts that did not connect.
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    /// waiting | placing | completed | failed
    pub state: String,
    pub last_result: Option<String>,
    /// The call log id of the attempt being placed (state `placing`).
    pub last_call: Option<String>,
}

/// A stored value that cannot be read back.
fn corrupt(what: String) -> StoreError {
    StoreError::Sql(sqlx::Error::Decode(what.into()))
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|error| corrupt(format!("callback time '{text}': {error}")))
}

impl Store {
    /// Stores a new callback (or replaces one with the same call id: a
    /// caller who asks again).
    pub async fn save_callback(&self, row: &CallbackRow) -> Result<(), StoreError> {
        let screen = serde_json::to_string(&row.screen)
            .map_err(|error| corrupt(format!("callback screen: {error}")))?;
        sqlx::query(
            "INSERT INTO callbacks (call_id, queue, number, screen, priority, requested_at, \
             attempts, next_attempt_at, state, last_result, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
             ON CONFLICT (call_id) DO UPDATE SET queue = excluded.queue, number = excluded.number, \
             screen = excluded.screen, priority = excluded.priority, attempts = excluded.attempts, \
             next_attempt_at = excluded.next_attempt_at, state = excluded.state, \
             last_result = excluded.last_result, updated_at = excluded.updated_at",
        )
        .bind(&row.call)
        .bind(&row.queue)
        .bind(&row.number)
        .bind(screen)
        .bind(i64::from(row.priority))
        .bind(time_text(row.requested_at))
        .bind(i64::from(row.attempts))
        .bind(time_text(row.next_attempt_at))
        .bind(&row.state)
        .bind(&row.last_result)
        .bind(time_text(Utc::now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records how an attempt went: `state` waiting (retry at
    /// `next_attempt_at`), completed or failed.
    pub async fn callback_attempted(
        &self,
        call: &str,
        attempts: u32,
        state: &str,
        next_attempt_at: DateTime<Utc>,
        result: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE callbacks SET attempts = ?2, state = ?3, next_attempt_at = ?4, \
             last_result = ?5, updated_at = ?6 WHERE call_id = ?1",
        )
        .bind(call)
        .bind(i64::from(attempts))
        .bind(state)
        .bind(time_text(next_attempt_at))
        .bind(result)
        .bind(time_text(Utc::now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// An attempt is being placed: its call log id, so that after a crash
    /// the next start can tell whether the customer was reached.
    pub async fn callback_placing(&self, call: &str, attempt: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE callbacks SET state = 'placing', last_call = ?2, updated_at = ?3 \
             WHERE call_id = ?1",
        )
        .bind(call)
        .bind(attempt)
        .bind(time_text(Utc::now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The callbacks to put back in their queues at start-up: those waiting,
    /// and those an unclean stop caught being placed, unless that attempt's
    /// customer had answered (then it is completed, not placed again).
    pub async fn callbacks_to_restore(&self) -> Result<Vec<CallbackRow>, StoreError> {
        let mut restore = Vec::new();
        for row in self
            .callbacks_where("state IN ('waiting', ?1)", "placing")
            .await?
        {
            if row.state == "placing" {
                let attempt = match &row.last_call {
                    Some(id) => self.find_call(id).await?,
                    None => None,
                };
                if attempt.is_some_and(|call| call.answered_at.is_some()) {
                    self.callback_attempted(
                        &row.call,
                        row.attempts,
                        "completed",
                        Utc::now(),
                        "answered before the engine stopped",
                    )
                    .await?;
                    continue;
                }
            }
            restore.push(row);
        }
        Ok(restore)
    }

    /// One callback, if stored.
    pub async fn callback(&self, call: &str) -> Result<Option<CallbackRow>, StoreError> {
        let rows = self.callbacks_where("call_id = ?1", call).await?;
        Ok(rows.into_iter().next())
    }

    /// Callbacks still to place, oldest request first.
    pub async fn waiting_callbacks(&self) -> Result<Vec<CallbackRow>, StoreError> {
        self.callbacks_where("state = ?1", "waiting").await
    }

    async fn callbacks_where(
        &self,
        condition: &str,
        value: &str,
    ) -> Result<Vec<CallbackRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT call_id, queue, number, screen, priority, requested_at, attempts, \
             next_attempt_at, state, last_result, last_call FROM callbacks WHERE {condition} \
             ORDER BY requested_at, call_id"
        ))
        .bind(value)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let screen: String = row.try_get("screen")?;
                let priority: i64 = row.try_get("priority")?;
                let attempts: i64 = row.try_get("attempts")?;
                Ok(CallbackRow {
                    call: row.try_get("call_id")?,
                    queue: row.try_get("queue")?,
                    number: row.try_get("number")?,
                    screen: serde_json::from_str(&screen)
                        .map_err(|error| corrupt(format!("callback screen: {error}")))?,
                    priority: u8::try_from(priority).unwrap_or(0),
                    requested_at: parse_time(&row.try_get::<String, _>("requested_at")?)?,
                    attempts: u32::try_from(attempts).unwrap_or(0),
                    next_attempt_at: parse_time(&row.try_get::<String, _>("next_attempt_at")?)?,
                    state: row.try_get("state")?,
                    last_result: row.try_get("last_result")?,
                    last_call: row.try_get("last_call")?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn callbacks_are_kept_until_placed_and_count_their_attempts() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("calls.db").display());
        let store = Store::open(&url).await.unwrap();
        let requested_at = Utc::now();
        let row = CallbackRow {
            call: "c1".into(),
            queue: "support".into(),
            number: "+15551234567".into(),
            screen: vec![("X-Switchboard-Caller".into(), "+15551234567".into())],
            priority: 2,
            requested_at,
            attempts: 0,
            next_attempt_at: requested_at,
            state: "waiting".into(),
            last_result: None,
            last_call: None,
        };
        store.save_callback(&row).await.unwrap();
        let waiting = store.waiting_callbacks().await.unwrap();
        assert_eq!(waiting.len(), 1);
        assert_eq!(waiting[0].screen, row.screen);
        assert_eq!(waiting[0].priority, 2);

        let later = requested_at + chrono::Duration::minutes(10);
        store
            .callback_attempted("c1", 1, "waiting", later, "busy")
            .await
            .unwrap();
        let stored = store.callback("c1").await.unwrap().unwrap();
        assert_eq!(stored.attempts, 1);
        assert_eq!(stored.last_result.as_deref(), Some("busy"));
        assert_eq!(time_text(stored.next_attempt_at), time_text(later));

        store
            .callback_attempted("c1", 2, "failed", later, "busy")
            .await
            .unwrap();
        assert!(store.waiting_callbacks().await.unwrap().is_empty());
        drop(store);
        // Reopened (a restart): still there, still failed.
        let store = Store::open(&url).await.unwrap();
        assert_eq!(store.callback("c1").await.unwrap().unwrap().state, "failed");
    }

    #[tokio::test]
    async fn a_callback_caught_being_placed_is_placed_again_unless_it_was_answered() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("calls.db").display());
        let store = Store::open(&url).await.unwrap();
        let now = Utc::now();
        for (call, answered) in [("reached", true), ("ringing", false)] {
            store
                .save_callback(&CallbackRow {
                    call: call.into(),
                    queue: "support".into(),
                    number: "+15551234567".into(),
                    screen: Vec::new(),
                    priority: 0,
                    requested_at: now,
                    attempts: 0,
                    next_attempt_at: now,
                    state: "waiting".into(),
                    last_result: None,
                    last_call: None,
                })
                .await
                .unwrap();
            let attempt = format!("attempt-{call}");
            sqlx::query(
                "INSERT INTO calls (id, sip_call_id, direction, caller, called, state, started_at, \
                 answered_at) VALUES (?1, ?1, 'callback', '+15550001111', '+15551234567', ?2, ?3, ?4)",
            )
            .bind(&attempt)
            .bind(if answered { "answered" } else { "ringing" })
            .bind(time_text(now))
            .bind(answered.then(|| time_text(now)))
            .execute(&store.pool)
            .await
            .unwrap();
            store.callback_placing(call, &attempt).await.unwrap();
        }
        // The engine died here. At the next start only the unanswered one
        // goes back in its queue; the other is done.
        let restore = store.callbacks_to_restore().await.unwrap();
        let calls: Vec<&str> = restore.iter().map(|row| row.call.as_str()).collect();
        assert_eq!(calls, ["ringing"]);
        assert_eq!(
            store.callback("reached").await.unwrap().unwrap().state,
            "completed"
        );
    }
}
