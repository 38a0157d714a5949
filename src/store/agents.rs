//! Agent state changes and calls' time in queues, and the figures computed
//! from them.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{time_text, Store, StoreError};

/// An agent created through the REST API, as stored (`agents` table).
#[derive(Clone, PartialEq, Eq)]
pub struct StoredAgent {
    pub id: String,
    pub name: String,
    /// MD5(id:realm:password), never the password.
    pub ha1: String,
    /// The realm `ha1` was made for.
    pub realm: String,
    pub skills: BTreeMap<String, u8>,
    pub queues: Vec<String>,
}

impl std::fmt::Debug for StoredAgent {
    // The HA1 opens the agent's SIP account: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredAgent")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("realm", &self.realm)
            .field("skills", &self.skills)
            .field("queues", &self.queues)
            .finish_non_exhaustive()
    }
}

/// id, name, ha1, realm, skills JSON, queues JSON
type AgentRow = (String, String, String, String, String, String);

/// One agent state change.
#[derive(Debug, Clone)]
pub struct AgentEventRow {
    pub agent: String,
    pub at: DateTime<Utc>,
    pub from_state: String,
    pub to_state: String,
    pub reason: String,
    pub detail: Option<String>,
}

/// An agent's disposition of a call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DispositionRow {
    pub call: String,
    pub agent: String,
    pub at: DateTime<Utc>,
    pub code: String,
    pub notes: String,
}

/// How a call's time in a queue ended.
#[derive(Debug, Clone)]
pub struct QueueCallEnd {
    pub left_at: DateTime<Utc>,
    pub result: String,
    pub wait_ms: i64,
    pub talk_ms: Option<i64>,
    pub recording: Option<String>,
}

/// Figures for one queue over a period.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QueueFigures {
    pub queue: String,
    pub offered: i64,
    pub answered: i64,
    pub abandoned: i64,
    /// Mean wait of abandoned calls, in seconds.
    pub average_abandon_wait_secs: Option<f64>,
    pub callbacks_requested: i64,
    pub timed_out: i64,
    pub unavailable: i64,
    /// Share of answered-or-abandoned calls answered within
    /// `service_level_secs`, in percent.
    pub service_level_percent: Option<f64>,
    pub service_level_secs: i64,
    /// Average speed of answer, seconds.
    pub average_speed_of_answer_secs: Option<f64>,
    /// Average talk time, seconds.
    pub average_handle_time_secs: Option<f64>,
}

/// Time an agent spent in each state over a period, seconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AgentFigures {
    pub agent: String,
    pub seconds_by_state: std::collections::BTreeMap<String, f64>,
    pub calls_answered: i64,
    /// Time ringing, on calls and in wrap-up over that plus time available
    /// (paused time is left out), in percent.
    pub occupancy_percent: Option<f64>,
}

/// queue, result, wait_ms, talk_ms
type QueueCallRow = (String, Option<String>, Option<i64>, Option<i64>);
/// Figures so far, answer waits, abandon waits, talk times (ms).
type QueueTally = (QueueFigures, Vec<i64>, Vec<i64>, Vec<i64>);

impl Store {
    /// Agents created through the API, by id. A row whose skills or queues
    /// cannot be read is skipped (and logged), so one bad row does not stop
    /// the engine.
    pub async fn stored_agents(&self) -> Result<Vec<StoredAgent>, StoreError> {
        let rows: Vec<AgentRow> =
            sqlx::query_as("SELECT id, name, ha1, realm, skills, queues FROM agents ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
        let mut agents = Vec::with_capacity(rows.len());
        for (id, name, ha1, realm, skills, queues) in rows {
            let parsed = serde_json::from_str(&skills)
                .and_then(|skills| Ok((skills, serde_json::from_str(&queues)?)));
            match parsed {
                Ok((skills, queues)) => agents.push(StoredAgent {
                    id,
                    name,
                    ha1,
                    realm,
                    skills,
                    queues,
                }),
                Err(error) => {
                    tracing::error!(agent = %id, %error, "stored agent skipped: its skills or queues are not readable")
                }
            }
        }
        Ok(agents)
    }

    /// Stores a new agent. A taken id fails with a unique violation
    /// ([`StoreError::is_unique_violation`]).
    pub async fn insert_agent(
        &self,
        agent: &StoredAgent,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO agents (id, name, ha1, realm, skills, queues, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
        )
        .bind(&agent.id)
        .bind(&agent.name)
        .bind(&agent.ha1)
        .bind(&agent.realm)
        .bind(super::json_text(&agent.skills))
        .bind(super::json_text(&agent.queues))
        .bind(time_text(at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Rewrites a stored agent; false if there is none with its id.
    pub async fn update_agent(
        &self,
        agent: &StoredAgent,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE agents SET name = ?2, ha1 = ?3, realm = ?4, skills = ?5, queues = ?6, \
             updated_at = ?7 WHERE id = ?1",
        )
        .bind(&agent.id)
        .bind(&agent.name)
        .bind(&agent.ha1)
        .bind(&agent.realm)
        .bind(super::json_text(&agent.skills))
        .bind(super::json_text(&agent.queues))
        .bind(time_text(at))
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() > 0)
    }

    /// Deletes a stored agent (its events stay); false if there was none.
    pub async fn delete_agent(&self, id: &str) -> Result<bool, StoreError> {
        let result = sqlx::query("DELETE FROM agents WHERE id = ?1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() > 0)
    }

    /// Agents whose last state change is a logout through the API (reason
    /// `logout`): they stay logged out after a restart until they log in.
    pub async fn agents_kept_logged_out(&self) -> Result<BTreeSet<String>, StoreError> {
        let agents: Vec<(String,)> = sqlx::query_as(
            "SELECT e.agent FROM agent_events e \
             JOIN (SELECT agent, MAX(id) AS id FROM agent_events GROUP BY agent) last \
             ON e.id = last.id WHERE e.reason = 'logout'",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(agents.into_iter().map(|(agent,)| agent).collect())
    }

    /// After an unclean stop (crash, kill -9, power loss), agents whose last
    /// event left them logged in get a logout (reason `engine_restart`),
    /// dated at the last thing the previous run wrote, so that time per
    /// state does not count the time the engine was down. Returns how many.
    /// Run it before anything of this run is written.
    pub async fn close_agent_states_left_open(&self) -> Result<u64, StoreError> {
        let open: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT e.agent, e.to_state, e.at FROM agent_events e \
             JOIN (SELECT agent, MAX(id) AS id FROM agent_events GROUP BY agent) last \
             ON e.id = last.id WHERE e.to_state <> 'logged_out'",
        )
        .fetch_all(&self.pool)
        .await?;
        if open.is_empty() {
            return Ok(0);
        }
        // Times are all written by `time_text` (same width, UTC), so the
        // text's order is the time order.
        let (last_seen,): (Option<String>,) = sqlx::query_as(
            "SELECT MAX(at) FROM ( \
               SELECT MAX(at) AS at FROM agent_events \
               UNION ALL SELECT MAX(at) FROM call_events \
               UNION ALL SELECT MAX(started_at) FROM calls \
               UNION ALL SELECT MAX(answered_at) FROM calls \
               UNION ALL SELECT MAX(ended_at) FROM calls \
               UNION ALL SELECT MAX(entered_at) FROM queue_calls \
               UNION ALL SELECT MAX(left_at) FROM queue_calls \
               UNION ALL SELECT MAX(at) FROM dispositions)",
        )
        .fetch_one(&self.pool)
        .await?;
        let mut transaction = self.pool.begin().await?;
        for (agent, state, at) in &open {
            let closed_at = last_seen
                .as_deref()
                .filter(|seen| *seen > at.as_str())
                .unwrap_or(at);
            sqlx::query(
                "INSERT INTO agent_events (agent, at, from_state, to_state, reason, detail) \
                 VALUES (?1, ?2, ?3, 'logged_out', 'engine_restart', NULL)",
            )
            .bind(agent)
            .bind(closed_at)
            .bind(state)
            .execute(&mut *transaction)
            .await?;
        }
        transaction.commit().await?;
        Ok(open.len() as u64)
    }

    /// Stores an agent's disposition of a call.
    pub async fn record_disposition(&self, row: &DispositionRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO dispositions (call_id, agent, at, code, notes) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .bind(&row.call)
        .bind(&row.agent)
        .bind(time_text(row.at))
        .bind(&row.code)
        .bind(&row.notes)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A call's dispositions, oldest first.
    pub async fn dispositions_of(&self, call_id: &str) -> Result<Vec<DispositionRow>, StoreError> {
        let rows: Vec<(String, String, String, String, String)> = sqlx::query_as(
            "SELECT call_id, agent, at, code, notes FROM dispositions WHERE call_id = ?1 ORDER BY id",
        )
        .bind(call_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(call, agent, at, code, notes)| DispositionRow {
                call,
                agent,
                at: DateTime::parse_from_rfc3339(&at)
                    .map(|at| at.with_timezone(&Utc))
                    .unwrap_or_default(),
                code,
                notes,
            })
            .collect())
    }

    /// An agent's state changes, oldest first.
    pub async fn agent_events(&self, agent: &str) -> Result<Vec<AgentEventRow>, StoreError> {
        let rows: Vec<(String, String, String, String, Option<String>)> = sqlx::query_as(
            "SELECT at, from_state, to_state, reason, detail FROM agent_events \
             WHERE agent = ?1 ORDER BY id",
        )
        .bind(agent)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(at, from_state, to_state, reason, detail)| AgentEventRow {
                agent: agent.to_string(),
                at: DateTime::parse_from_rfc3339(&at)
                    .map(|at| at.with_timezone(&Utc))
                    .unwrap_or_default(),
                from_state,
                to_state,
                reason,
                detail,
            })
            .collect())
    }

    pub async fn record_agent_event(&self, row: &AgentEventRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO agent_events (agent, at, from_state, to_state, reason, detail) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .bind(&row.agent)
        .bind(time_text(row.at))
        .bind(&row.from_state)
        .bind(&row.to_state)
        .bind(&row.reason)
        .bind(&row.detail)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn queue_call_entered(
        &self,
        call_id: &str,
        queue: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO queue_calls (call_id, queue, entered_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (call_id) DO UPDATE SET queue = excluded.queue",
        )
        .bind(call_id)
        .bind(queue)
        .bind(time_text(at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn queue_call_connected(
        &self,
        call_id: &str,
        agent: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE queue_calls SET connected_at = ?2, agent = ?3 WHERE call_id = ?1")
            .bind(call_id)
            .bind(time_text(at))
            .bind(agent)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn queue_call_left(
        &self,
        call_id: &str,
        end: &QueueCallEnd,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE queue_calls SET left_at = ?2, result = ?3, wait_ms = ?4, talk_ms = ?5, \
             recording = ?6 WHERE call_id = ?1",
        )
        .bind(call_id)
        .bind(time_text(end.left_at))
        .bind(&end.result)
        .bind(end.wait_ms)
        .bind(end.talk_ms)
        .bind(&end.recording)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Figures for every queue with calls entered since `since`.
    pub async fn queue_figures(
        &self,
        since: DateTime<Utc>,
        service_level_secs: i64,
    ) -> Result<Vec<QueueFigures>, StoreError> {
        let rows: Vec<QueueCallRow> = sqlx::query_as(
            "SELECT queue, result, wait_ms, talk_ms FROM queue_calls WHERE entered_at >= ?1",
        )
        .bind(time_text(since))
        .fetch_all(&self.pool)
        .await?;
        let mut figures: std::collections::BTreeMap<String, QueueTally> = Default::default();
        for (queue, result, wait_ms, talk_ms) in rows {
            let entry = figures.entry(queue.clone()).or_insert_with(|| {
                (
                    QueueFigures {
                        queue,
                        service_level_secs,
                        ..QueueFigures::default()
                    },
                    Vec::new(),
                    Vec::new(),
                    Vec::new(),
                )
            });
            let (f, answer_waits, abandon_waits, talks) = entry;
            f.offered += 1;
            match result.as_deref() {
                Some("answered") => {
                    f.answered += 1;
                    answer_waits.push(wait_ms.unwrap_or(0));
                    if let Some(talk) = talk_ms {
                        talks.push(talk);
                    }
                }
                Some("abandoned") => {
                    f.abandoned += 1;
                    abandon_waits.push(wait_ms.unwrap_or(0));
                }
                // A callback's row ends as requested, then answered, failed
                // or interrupted (tried again); its wait is not the caller's,
                // so it stays out of the service level and speed of answer.
                Some(
                    "callback_requested"
                    | "callback_answered"
                    | "callback_failed"
                    | "callback_interrupted",
                ) => f.callbacks_requested += 1,
                Some("timed_out") => f.timed_out += 1,
                Some("unavailable") => f.unavailable += 1,
                _ => {}
            }
        }
        let mean = |values: &[i64]| {
            (!values.is_empty())
                .then(|| values.iter().sum::<i64>() as f64 / values.len() as f64 / 1000.0)
        };
        Ok(figures
            .into_values()
            .map(|(mut f, answer_waits, abandon_waits, talks)| {
                f.average_speed_of_answer_secs = mean(&answer_waits);
                f.average_abandon_wait_secs = mean(&abandon_waits);
                f.average_handle_time_secs = mean(&talks);
                let within = answer_waits
                    .iter()
                    .filter(|&&wait| wait <= service_level_secs * 1000)
                    .count() as f64;
                let counted = (f.answered + f.abandoned) as f64;
                f.service_level_percent = (counted > 0.0).then(|| 100.0 * within / counted);
                f
            })
            .collect())
    }

    /// Time per state for every agent with state changes since `since`, up to `now`.
    pub async fn agent_figures(
        &self,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<AgentFigures>, StoreError> {
        let rows: Vec<(String, String, String, String, String)> = sqlx::query_as(
            "SELECT agent, at, from_state, to_state, reason FROM agent_events \
             WHERE at >= ?1 ORDER BY agent, id",
        )
        .bind(time_text(since))
        .fetch_all(&self.pool)
        .await?;
        let mut result: Vec<AgentFigures> = Vec::new();
        let mut current: Option<(String, DateTime<Utc>, String)> = None;
        let close = |result: &mut Vec<AgentFigures>,
                     agent: &str,
                     from: DateTime<Utc>,
                     state: &str,
                     to: DateTime<Utc>| {
            if result.last().is_none_or(|f| f.agent != agent) {
                result.push(AgentFigures {
                    agent: agent.to_string(),
                    ..AgentFigures::default()
                });
            }
            if let Some(figures) = result.last_mut() {
                let seconds = (to - from).num_milliseconds().max(0) as f64 / 1000.0;
                *figures
                    .seconds_by_state
                    .entry(state.to_string())
                    .or_default() += seconds;
            }
        };
        for (agent, at, from_state, to_state, reason) in rows {
            let at = DateTime::parse_from_rfc3339(&at)
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or(since);
            match current.take() {
                Some((previous_agent, started, state)) if previous_agent == agent => {
                    close(&mut result, &agent, started, &state, at)
                }
                Some((previous_agent, started, state)) => {
                    close(&mut result, &previous_agent, started, &state, now);
                    // Time before the first change in the period, in its old state.
                    close(&mut result, &agent, since, &from_state, at);
                }
                None => close(&mut result, &agent, since, &from_state, at),
            }
            if reason == "answered" {
                if let Some(figures) = result.last_mut() {
                    figures.calls_answered += 1;
                }
            }
            current = Some((agent, at, to_state));
        }
        if let Some((agent, started, state)) = current {
            close(&mut result, &agent, started, &state, now);
        }
        for figures in &mut result {
            let seconds = |state: &str| figures.seconds_by_state.get(state).copied().unwrap_or(0.0);
            let busy = seconds("on_call") + seconds("wrap_up") + seconds("ringing");
            let logged_in: f64 = figures
                .seconds_by_state
                .iter()
                .filter(|(state, _)| !["logged_out", "paused"].contains(&state.as_str()))
                .map(|(_, seconds)| seconds)
                .sum();
            figures.occupancy_percent = (logged_in > 0.0).then(|| 100.0 * busy / logged_in);
        }
        Ok(result)
    }
}
