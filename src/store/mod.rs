//! The call log in SQL. This is the only module that names sqlx or writes SQL.
//!
//! Calls write through a [`CallLog`] handle that never blocks the call: updates go
//! over a channel to one writer task, which applies whatever has queued up in a
//! single transaction. A call's row is inserted when the call starts and updated
//! as it goes; rows still open at start-up are closed as `interrupted`.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{FromRow, SqlitePool};
use tokio::sync::{mpsc, oneshot};

mod agents;
mod callbacks;
mod campaigns;

pub use agents::{
    AgentEventRow, AgentFigures, DispositionRow, QueueCallEnd, QueueFigures, StoredAgent,
};
pub use callbacks::CallbackRow;

pub use campaigns::{
    AttemptRecord, AttemptResult, CampaignCounts, CampaignRecord, LeadRecord, NewLead, Recovery,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database URL '{url}' is not supported: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("cannot open database '{url}': {source}")]
    Open { url: String, source: sqlx::Error },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
}

impl StoreError {
    /// True when a UNIQUE constraint refused the write (e.g. a campaign name
    /// that exists), so callers can answer "already exists" without naming sqlx.
    pub fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Sql(sqlx::Error::Database(error)) => error.is_unique_violation(),
            _ => false,
        }
    }
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// A new call, as known when its INVITE arrives.
#[derive(Debug, Clone)]
pub struct NewCall {
    pub id: String,
    pub sip_call_id: String,
    pub direction: &'static str,
    pub caller: String,
    pub called: String,
    pub dialplan: Option<String>,
    pub started_at: DateTime<Utc>,
}

/// How a call ended.
#[derive(Debug, Clone, Default)]
pub struct CallEnd {
    pub ended_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    pub hangup_by: String,
    pub hangup_cause: String,
    pub sip_status: Option<u16>,
    pub outcome: Option<String>,
    pub path: Vec<String>,
    pub digits: String,
    pub variables: BTreeMap<String, String>,
    pub recording_path: Option<String>,
}

/// One entry in a call's timeline.
#[derive(Debug, Clone)]
pub struct CallEvent {
    pub at: DateTime<Utc>,
    pub kind: String,
    pub node: Option<String>,
    pub detail: String,
}

/// Progress of an answered call, written as it moves so that a crash keeps it.
#[derive(Debug, Clone)]
pub struct CallProgress {
    pub path: Vec<String>,
    pub digits: String,
    pub variables: BTreeMap<String, String>,
    pub recording_path: Option<String>,
}

#[derive(Debug)]
enum Update {
    Started(NewCall),
    Answered(String, DateTime<Utc>),
    Event(String, CallEvent),
    Progress(String, CallProgress),
    Ended(String, CallEnd),
    Flush(oneshot::Sender<()>),
}

/// A row of the `calls` table.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct CallRecord {
    pub id: String,
    pub sip_call_id: String,
    pub direction: String,
    pub caller: String,
    pub called: String,
    pub dialplan: Option<String>,
    pub state: String,
    pub started_at: String,
    pub answered_at: Option<String>,
    pub ended_at: Option<String>,
    pub duration_ms: Option<i64>,
    pub hangup_by: Option<String>,
    pub hangup_cause: Option<String>,
    pub sip_status: Option<i64>,
    pub outcome: Option<String>,
    pub path: String,
    pub digits: String,
    pub variables: String,
    pub recording_path: Option<String>,
}

/// A row of the `call_events` table.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct CallEventRecord {
    pub id: i64,
    pub call_id: String,
    pub at: String,
    pub kind: String,
    pub node: Option<String>,
    pub detail: String,
}

fn time_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The database: a connection pool plus the queries the rest of the engine needs.
#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) the database and runs the embedded migrations.
    /// `url` is `sqlite://path`, `sqlite:path` or a plain file path.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            return Err(StoreError::BadUrl {
                url: url.to_string(),
                reason:
                    "Postgres support is not built yet; use a SQLite file (sqlite://switchboard.db)"
                        .into(),
            });
        }
        let options = if url.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(url).map_err(|e| StoreError::BadUrl {
                url: url.to_string(),
                reason: e.to_string(),
            })?
        } else {
            SqliteConnectOptions::new().filename(Path::new(url))
        };
        let options = options
            .create_if_missing(true)
            // WAL lets the CLI read the log while the engine writes it; NORMAL
            // synchronous in WAL mode still survives a process crash (kill -9).
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            // 64 MB of page cache per connection (the default is 2 MB): large
            // list loads insert into a million-entry unique index.
            .pragma("cache_size", "-65536")
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Open {
                url: url.to_string(),
                source,
            })?;
        SQLITE_MIGRATIONS.run(&pool).await?;
        Ok(Store { pool })
    }

    /// Closes calls left open by an engine that stopped without ending them
    /// (crash, kill -9, power loss). Returns how many were closed.
    pub async fn close_interrupted_calls(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "UPDATE calls SET state = 'interrupted', ended_at = ?1, \
             hangup_by = 'system', hangup_cause = 'engine_restart', \
             outcome = COALESCE(outcome, 'interrupted') \
             WHERE state IN ('ringing', 'answered')",
        )
        .bind(time_text(now))
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
    }

    pub async fn recent_calls(&self, limit: i64) -> Result<Vec<CallRecord>, StoreError> {
        Ok(sqlx::query_as::<_, CallRecord>(
            "SELECT * FROM calls ORDER BY started_at DESC, rowid DESC LIMIT ?1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Finds a call by its id, or by its SIP Call-ID.
    pub async fn find_call(&self, id: &str) -> Result<Option<CallRecord>, StoreError> {
        Ok(sqlx::query_as::<_, CallRecord>(
            "SELECT * FROM calls WHERE id = ?1 OR sip_call_id = ?1 ORDER BY started_at DESC LIMIT 1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn call_events(&self, call_id: &str) -> Result<Vec<CallEventRecord>, StoreError> {
        Ok(sqlx::query_as::<_, CallEventRecord>(
            "SELECT * FROM call_events WHERE call_id = ?1 ORDER BY id",
        )
        .bind(call_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Starts the writer task and returns the handle calls write through.
    pub fn start_writer(&self) -> CallLog {
        let (sender, receiver) = mpsc::unbounded_channel();
        let store = self.clone();
        tokio::spawn(async move { store.write_loop(receiver).await });
        CallLog { sender }
    }

    async fn write_loop(self, mut receiver: mpsc::UnboundedReceiver<Update>) {
        let mut batch = Vec::with_capacity(256);
        loop {
            if receiver.recv_many(&mut batch, 512).await == 0 {
                return;
            }
            // Flush requests are answered only after the commit that covers
            // everything queued before them.
            let (flushes, updates): (Vec<Update>, Vec<Update>) = batch
                .drain(..)
                .partition(|update| matches!(update, Update::Flush(_)));
            // Retry a failed batch a few times (a busy database, say). If it
            // still fails, one bad update must not take the rest of the batch
            // (other calls' outcomes) with it: apply them one at a time.
            let mut attempt = 0;
            loop {
                match self.apply(&updates).await {
                    Ok(()) => break,
                    Err(error) if attempt < 3 => {
                        attempt += 1;
                        tracing::warn!(%error, attempt, "call log write failed, retrying");
                        tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
                    }
                    Err(error) => {
                        let mut lost = 0usize;
                        for update in &updates {
                            if self.apply(std::slice::from_ref(update)).await.is_err() {
                                lost += 1;
                            }
                        }
                        // Counts only: the updates hold phone numbers and digits.
                        tracing::error!(%error, lost, of = updates.len(), "call log updates could not be written");
                        break;
                    }
                }
            }
            for flush in flushes {
                if let Update::Flush(waiter) = flush {
                    waiter.send(()).ok();
                }
            }
        }
    }

    async fn apply(&self, batch: &[Update]) -> Result<(), sqlx::Error> {
        let mut transaction = self.pool.begin().await?;
        for update in batch {
            match update {
                Update::Started(call) => {
                    sqlx::query(
                        "INSERT INTO calls (id, sip_call_id, direction, caller, called, dialplan, state, started_at) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'ringing', ?7)",
                    )
                    .bind(&call.id)
                    .bind(&call.sip_call_id)
                    .bind(call.direction)
                    .bind(&call.caller)
                    .bind(&call.called)
                    .bind(&call.dialplan)
                    .bind(time_text(call.started_at))
                    .execute(&mut *transaction)
                    .await?;
                }
                Update::Answered(id, at) => {
                    sqlx::query(
                        "UPDATE calls SET state = 'answered', answered_at = ?2 WHERE id = ?1",
                    )
                    .bind(id)
                    .bind(time_text(*at))
                    .execute(&mut *transaction)
                    .await?;
                }
                Update::Event(id, event) => {
                    sqlx::query(
                        "INSERT INTO call_events (call_id, at, kind, node, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
                    )
                    .bind(id)
                    .bind(time_text(event.at))
                    .bind(&event.kind)
                    .bind(&event.node)
                    .bind(&event.detail)
                    .execute(&mut *transaction)
                    .await?;
                }
                Update::Progress(id, progress) => {
                    sqlx::query(
                        "UPDATE calls SET path = ?2, digits = ?3, variables = ?4, \
                         recording_path = COALESCE(?5, recording_path) WHERE id = ?1",
                    )
                    .bind(id)
                    .bind(json_text(&progress.path))
                    .bind(&progress.digits)
                    .bind(json_text(&progress.variables))
                    .bind(&progress.recording_path)
                    .execute(&mut *transaction)
                    .await?;
                }
                Update::Ended(id, end) => {
                    let duration_ms = end
                        .answered_at
                        .map(|answered| (end.ended_at - answered).num_milliseconds().max(0));
                    sqlx::query(
                        "UPDATE calls SET state = 'ended', ended_at = ?2, answered_at = COALESCE(answered_at, ?3), \
                         duration_ms = ?4, hangup_by = ?5, hangup_cause = ?6, sip_status = ?7, outcome = ?8, \
                         path = ?9, digits = ?10, variables = ?11, recording_path = COALESCE(?12, recording_path) \
                         WHERE id = ?1",
                    )
                    .bind(id)
                    .bind(time_text(end.ended_at))
                    .bind(end.answered_at.map(time_text))
                    .bind(duration_ms)
                    .bind(&end.hangup_by)
                    .bind(&end.hangup_cause)
                    .bind(end.sip_status.map(i64::from))
                    .bind(&end.outcome)
                    .bind(json_text(&end.path))
                    .bind(&end.digits)
                    .bind(json_text(&end.variables))
                    .bind(&end.recording_path)
                    .execute(&mut *transaction)
                    .await?;
                }
                Update::Flush(_) => {}
            }
        }
        transaction.commit().await?;
        Ok(())
    }
}

fn json_text<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_string())
}

/// The handle calls use to write the log. Cloning is cheap; writes never block.
#[derive(Clone)]
pub struct CallLog {
    sender: mpsc::UnboundedSender<Update>,
}

impl CallLog {
    fn send(&self, update: Update) {
        if let Err(error) = self.sender.send(update) {
            let _ = error;
            tracing::error!("call log writer has stopped; an update was lost");
        }
    }
    pub fn call_started(&self, call: NewCall) {
        self.send(Update::Started(call));
    }
    pub fn call_answered(&self, id: &str, at: DateTime<Utc>) {
        self.send(Update::Answered(id.to_string(), at));
    }
    pub fn event(&self, id: &str, event: CallEvent) {
        self.send(Update::Event(id.to_string(), event));
    }
    pub fn progress(&self, id: &str, progress: CallProgress) {
        self.send(Update::Progress(id.to_string(), progress));
    }
    pub fn call_ended(&self, id: &str, end: CallEnd) {
        self.send(Update::Ended(id.to_string(), end));
    }
    /// Waits until everything written before this call is committed.
    pub async fn flush(&self) {
        let (sender, receiver) = oneshot::channel();
        self.send(Update::Flush(sender));
        receiver.await.ok();
    }
}
