//! Campaigns, leads, attempts and the do-not-call list.
//!
//! Everything a crash must not lose is written synchronously here (not
//! through the call log's queue): a lead is leased, and its attempt row
//! committed, before the INVITE leaves. After a crash, [`Store::recover_campaigns`]
//! returns leased-but-never-dialled leads to the queue and marks attempts whose
//! outcome is unknown as `interrupted`, without redialling them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::FromRow;

use super::{time_text, Store, StoreError};

#[derive(Debug, Clone, FromRow, Serialize)]
pub struct CampaignRecord {
    pub id: String,
    pub name: String,
    pub dialplan: String,
    pub trunk: String,
    pub caller_id: String,
    pub state: String,
    /// JSON settings (see `crate::dialer::CampaignSettings`).
    pub settings: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, FromRow, Serialize)]
pub struct LeadRecord {
    pub id: i64,
    pub campaign_id: String,
    pub source_line: i64,
    pub number: String,
    pub name: Option<String>,
    pub timezones: String,
    pub fields: String,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: Option<String>,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<String>,
    pub last_outcome: Option<String>,
    pub updated_at: String,
}

#[derive(Debug, Clone, FromRow, Serialize)]
pub struct AttemptRecord {
    pub id: String,
    pub campaign_id: String,
    pub lead_id: i64,
    pub number: String,
    pub trunk: String,
    pub call_id: Option<String>,
    pub state: String,
    pub allowed_because: String,
    pub started_at: String,
    pub ringing_at: Option<String>,
    pub answered_at: Option<String>,
    pub ended_at: Option<String>,
    pub sip_status: Option<i64>,
    pub outcome: Option<String>,
    pub amd_result: Option<String>,
    pub amd_confidence: Option<f64>,
    pub amd_reasons: Option<String>,
    pub path: Option<String>,
    pub digits: Option<String>,
}

/// A lead to insert (from a loaded list).
#[derive(Debug, Clone)]
pub struct NewLead {
    pub source_line: u64,
    pub number: String,
    pub name: Option<String>,
    pub timezones: Vec<String>,
    /// JSON object text of the extra columns.
    pub fields: String,
}

/// The end of an attempt and what becomes of its lead.
#[derive(Debug, Clone)]
pub struct AttemptResult {
    pub call_id: Option<String>,
    pub ringing_at: Option<DateTime<Utc>>,
    pub answered_at: Option<DateTime<Utc>>,
    pub ended_at: DateTime<Utc>,
    pub sip_status: Option<u16>,
    pub outcome: String,
    pub amd_result: Option<String>,
    pub amd_confidence: Option<f32>,
    pub amd_reasons: Option<String>,
    pub path: Option<String>,
    pub digits: Option<String>,
    /// The lead's next state and, for a retry, when.
    pub lead_state: String,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// Leads by state, attempts by outcome.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CampaignCounts {
    pub leads_by_state: Vec<(String, i64)>,
    pub attempts_by_outcome: Vec<(String, i64)>,
    pub attempts_in_progress: i64,
    /// Attempts no longer dialling (ended or interrupted).
    pub attempts_finished: i64,
    /// Finished attempts that were answered (by a person or a machine).
    pub attempts_answered: i64,
}

/// What crash recovery did.
#[derive(Debug, Clone, Default)]
pub struct Recovery {
    pub leases_released: u64,
    pub attempts_interrupted: u64,
}

impl Store {
    pub async fn create_campaign(&self, campaign: &CampaignRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO campaigns (id, name, dialplan, trunk, caller_id, state, settings, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .bind(&campaign.id)
        .bind(&campaign.name)
        .bind(&campaign.dialplan)
        .bind(&campaign.trunk)
        .bind(&campaign.caller_id)
        .bind(&campaign.state)
        .bind(&campaign.settings)
        .bind(&campaign.created_at)
        .bind(&campaign.updated_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn campaign(&self, name: &str) -> Result<Option<CampaignRecord>, StoreError> {
        Ok(sqlx::query_as::<_, CampaignRecord>(
            "SELECT * FROM campaigns WHERE name = ?1 OR id = ?1",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn campaigns(&self) -> Result<Vec<CampaignRecord>, StoreError> {
        Ok(
            sqlx::query_as::<_, CampaignRecord>("SELECT * FROM campaigns ORDER BY created_at")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    pub async fn set_campaign_state(
        &self,
        id: &str,
        state: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE campaigns SET state = ?2, updated_at = ?3 WHERE id = ?1")
            .bind(id)
            .bind(state)
            .bind(time_text(now))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Inserts leads in one transaction. A number already in the campaign is
    /// skipped; returns the numbers skipped that way (with their lines).
    /// Rows go in many at a time (one statement per 2,000): per-row statements
    /// made a million-row list take half a minute.
    pub async fn insert_leads(
        &self,
        campaign_id: &str,
        leads: &[NewLead],
        now: DateTime<Utc>,
    ) -> Result<Vec<(u64, String)>, StoreError> {
        let now = time_text(now);
        let mut inserted = std::collections::HashSet::with_capacity(leads.len());
        let mut transaction = self.pool.begin().await?;
        // 7 values a row: 2,000 rows stay under SQLite's 32,766 variables.
        for chunk in leads.chunks(2000) {
            let mut builder = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT INTO leads (campaign_id, source_line, number, name, timezones, fields, updated_at) ",
            );
            builder.push_values(chunk, |mut row, lead| {
                row.push_bind(campaign_id)
                    .push_bind(lead.source_line as i64)
                    .push_bind(&lead.number)
                    .push_bind(&lead.name)
                    .push_bind(lead.timezones.join(","))
                    .push_bind(&lead.fields)
                    .push_bind(&now);
            });
            builder.push(" ON CONFLICT (campaign_id, number) DO NOTHING RETURNING source_line");
            let lines: Vec<(i64,)> = builder
                .build_query_as()
                .fetch_all(&mut *transaction)
                .await?;
            inserted.extend(lines.into_iter().map(|(line,)| line));
        }
        transaction.commit().await?;
        Ok(leads
            .iter()
            .filter(|lead| !inserted.contains(&(lead.source_line as i64)))
            .map(|lead| (lead.source_line, lead.number.clone()))
            .collect())
    }

    /// Atomically leases up to `limit` due leads of a campaign for `owner`.
    /// One statement, so two dialers (or two nodes) never lease the same lead.
    pub async fn lease_due_leads(
        &self,
        campaign_id: &str,
        owner: &str,
        limit: u32,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Vec<LeadRecord>, StoreError> {
        let now = time_text(now);
        Ok(sqlx::query_as::<_, LeadRecord>(
            "UPDATE leads SET state = 'leased', lease_owner = ?2, lease_expires_at = ?3, updated_at = ?4 \
             WHERE id IN (SELECT id FROM leads WHERE campaign_id = ?1 \
                 AND state IN ('pending', 'retry_scheduled') \
                 AND (next_attempt_at IS NULL OR next_attempt_at <= ?4) \
                 ORDER BY next_attempt_at IS NOT NULL, next_attempt_at, id LIMIT ?5) \
             RETURNING *",
        )
        .bind(campaign_id)
        .bind(owner)
        .bind(time_text(lease_until))
        .bind(&now)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?)
    }

    /// Start times of attempts to `number` since `since` (any campaign).
    pub async fn number_attempts_since(
        &self,
        number: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<DateTime<Utc>>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT started_at FROM attempts WHERE number = ?1 AND started_at >= ?2 ORDER BY started_at",
        )
        .bind(number)
        .bind(time_text(since))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(text,)| DateTime::parse_from_rfc3339(&text).ok())
            .map(|time| time.with_timezone(&Utc))
            .collect())
    }

    /// Records the attempt (and counts it on the lead) before the INVITE goes.
    pub async fn start_attempt(
        &self,
        attempt_id: &str,
        lead: &LeadRecord,
        trunk: &str,
        allowed_because: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let now = time_text(now);
        let mut transaction = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO attempts (id, campaign_id, lead_id, number, trunk, state, allowed_because, started_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, 'dialing', ?6, ?7)",
        )
        .bind(attempt_id)
        .bind(&lead.campaign_id)
        .bind(lead.id)
        .bind(&lead.number)
        .bind(trunk)
        .bind(allowed_because)
        .bind(&now)
        .execute(&mut *transaction)
        .await?;
        sqlx::query("UPDATE leads SET attempts = attempts + 1, updated_at = ?2 WHERE id = ?1")
            .bind(lead.id)
            .bind(&now)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(())
    }

    /// Records how an attempt ended and moves its lead on, in one transaction.
    pub async fn finish_attempt(
        &self,
        attempt_id: &str,
        lead_id: i64,
        result: &AttemptResult,
    ) -> Result<(), StoreError> {
        let ended = time_text(result.ended_at);
        let mut transaction = self.pool.begin().await?;
        sqlx::query(
            "UPDATE attempts SET state = 'ended', call_id = ?2, ringing_at = ?3, answered_at = ?4, ended_at = ?5, \
             sip_status = ?6, outcome = ?7, amd_result = ?8, amd_confidence = ?9, amd_reasons = ?10, \
             path = ?11, digits = ?12 WHERE id = ?1",
        )
        .bind(attempt_id)
        .bind(&result.call_id)
        .bind(result.ringing_at.map(time_text))
        .bind(result.answered_at.map(time_text))
        .bind(&ended)
        .bind(result.sip_status.map(i64::from))
        .bind(&result.outcome)
        .bind(&result.amd_result)
        .bind(result.amd_confidence.map(f64::from))
        .bind(&result.amd_reasons)
        .bind(&result.path)
        .bind(&result.digits)
        .execute(&mut *transaction)
        .await?;
        sqlx::query(
            "UPDATE leads SET state = ?2, next_attempt_at = ?3, last_outcome = ?4, lease_owner = NULL, \
             lease_expires_at = NULL, updated_at = ?5 WHERE id = ?1",
        )
        .bind(lead_id)
        .bind(&result.lead_state)
        .bind(result.next_attempt_at.map(time_text))
        .bind(&result.outcome)
        .bind(&ended)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(())
    }

    /// Puts a leased lead back, to be tried at `next_attempt_at` (a compliance
    /// wait) or never (`state` final), and records why.
    pub async fn release_lead(
        &self,
        lead_id: i64,
        state: &str,
        next_attempt_at: Option<DateTime<Utc>>,
        kind: &str,
        why: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let now = time_text(now);
        let mut transaction = self.pool.begin().await?;
        sqlx::query(
            "UPDATE leads SET state = ?2, next_attempt_at = ?3, lease_owner = NULL, lease_expires_at = NULL, \
             updated_at = ?4 WHERE id = ?1",
        )
        .bind(lead_id)
        .bind(state)
        .bind(next_attempt_at.map(time_text))
        .bind(&now)
        .execute(&mut *transaction)
        .await?;
        sqlx::query("INSERT INTO lead_events (lead_id, at, kind, detail) VALUES (?1, ?2, ?3, ?4)")
            .bind(lead_id)
            .bind(&now)
            .bind(kind)
            .bind(why)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(())
    }

    /// Ends a lease without a word: the lead is due as it was before.
    pub async fn return_lead(&self, lead_id: i64, state: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE leads SET state = ?2, lease_owner = NULL, lease_expires_at = NULL WHERE id = ?1 AND state = 'leased'",
        )
        .bind(lead_id)
        .bind(state)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn lead_events(
        &self,
        lead_id: i64,
    ) -> Result<Vec<(String, String, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT at, kind, detail FROM lead_events WHERE lead_id = ?1 ORDER BY id",
        )
        .bind(lead_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// After a crash (one node; with several nodes sharing Postgres this
    /// must be limited to the restarting node's own leases): leases whose
    /// attempt never started go back to the queue; attempts still `dialing` become `interrupted` and their leads
    /// are done (the call may have reached the person, so it is not redialled
    /// automatically; the export shows them for a manager to decide).
    pub async fn recover_campaigns(&self, now: DateTime<Utc>) -> Result<Recovery, StoreError> {
        let now = time_text(now);
        let mut transaction = self.pool.begin().await?;
        let interrupted = sqlx::query(
            "UPDATE attempts SET state = 'interrupted', ended_at = ?1, outcome = COALESCE(outcome, 'interrupted') \
             WHERE state = 'dialing'",
        )
        .bind(&now)
        .execute(&mut *transaction)
        .await?
        .rows_affected();
        sqlx::query(
            "UPDATE leads SET state = 'done', last_outcome = 'interrupted', lease_owner = NULL, \
             lease_expires_at = NULL, updated_at = ?1 \
             WHERE state = 'leased' AND id IN (SELECT lead_id FROM attempts WHERE state = 'interrupted' AND ended_at = ?1)",
        )
        .bind(&now)
        .execute(&mut *transaction)
        .await?;
        let released = sqlx::query(
            "UPDATE leads SET state = CASE WHEN attempts > 0 THEN 'retry_scheduled' ELSE 'pending' END, \
             lease_owner = NULL, lease_expires_at = NULL, updated_at = ?1 WHERE state = 'leased'",
        )
        .bind(&now)
        .execute(&mut *transaction)
        .await?
        .rows_affected();
        transaction.commit().await?;
        Ok(Recovery {
            leases_released: released,
            attempts_interrupted: interrupted,
        })
    }

    pub async fn campaign_counts(&self, campaign_id: &str) -> Result<CampaignCounts, StoreError> {
        let leads_by_state: Vec<(String, i64)> = sqlx::query_as(
            "SELECT state, COUNT(*) FROM leads WHERE campaign_id = ?1 GROUP BY state ORDER BY state",
        )
        .bind(campaign_id)
        .fetch_all(&self.pool)
        .await?;
        let attempts_by_outcome: Vec<(String, i64)> = sqlx::query_as(
            "SELECT COALESCE(outcome, state), COUNT(*) FROM attempts WHERE campaign_id = ?1 \
             GROUP BY COALESCE(outcome, state) ORDER BY 1",
        )
        .bind(campaign_id)
        .fetch_all(&self.pool)
        .await?;
        let (attempts_in_progress, attempts_finished, attempts_answered): (i64, i64, i64) =
            sqlx::query_as(
                "SELECT COALESCE(SUM(state = 'dialing'), 0), COALESCE(SUM(state != 'dialing'), 0), \
                 COALESCE(SUM(state != 'dialing' AND answered_at IS NOT NULL), 0) \
                 FROM attempts WHERE campaign_id = ?1",
            )
            .bind(campaign_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(CampaignCounts {
            leads_by_state,
            attempts_by_outcome,
            attempts_in_progress,
            attempts_finished,
            attempts_answered,
        })
    }

    pub async fn campaign_attempts(
        &self,
        campaign_id: &str,
    ) -> Result<Vec<AttemptRecord>, StoreError> {
        Ok(sqlx::query_as::<_, AttemptRecord>(
            "SELECT * FROM attempts WHERE campaign_id = ?1 ORDER BY started_at, id",
        )
        .bind(campaign_id)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn campaign_leads(&self, campaign_id: &str) -> Result<Vec<LeadRecord>, StoreError> {
        Ok(sqlx::query_as::<_, LeadRecord>(
            "SELECT * FROM leads WHERE campaign_id = ?1 ORDER BY id",
        )
        .bind(campaign_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// True when any lead of the campaign can still be dialled (now or later).
    pub async fn campaign_has_work(&self, campaign_id: &str) -> Result<bool, StoreError> {
        let (count,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM leads WHERE campaign_id = ?1 AND state IN ('pending', 'retry_scheduled', 'leased')",
        )
        .bind(campaign_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(count > 0)
    }

    pub async fn dnc_add(
        &self,
        number: &str,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result =
            sqlx::query("INSERT OR IGNORE INTO dnc (number, source, added_at) VALUES (?1, ?2, ?3)")
                .bind(number)
                .bind(source)
                .bind(time_text(now))
                .execute(&self.pool)
                .await?;
        Ok(result.rows_affected() > 0)
    }

    pub async fn dnc_remove(&self, number: &str) -> Result<bool, StoreError> {
        let result = sqlx::query("DELETE FROM dnc WHERE number = ?1")
            .bind(number)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() > 0)
    }

    pub async fn dnc_contains(&self, number: &str) -> Result<bool, StoreError> {
        let row: Option<(String,)> = sqlx::query_as("SELECT number FROM dnc WHERE number = ?1")
            .bind(number)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// Every number on the list (for checking a large CSV load in memory).
    pub async fn dnc_numbers(&self) -> Result<std::collections::HashSet<String>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as("SELECT number FROM dnc")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(|(number,)| number).collect())
    }
}
