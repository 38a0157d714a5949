//! What `switchboard campaign ...` and `switchboard dnc ...` do, shared by the
//! command line and the REST API (`crate::http`). The running engine (`serve`)
//! picks up state changes from the database within a second.

use std::collections::{BTreeMap, HashSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use chrono::Utc;
use serde::Serialize;

use crate::dialer::campaign::{CampaignSettings, DialMode};
use crate::dialer::list::{
    load_csv, normalise_number, ColumnMapping, ListError, LoadOptions, LoadSummary,
};
use crate::store::{CampaignCounts, CampaignRecord, NewLead, Store, StoreError};

/// Why a campaign or do-not-call operation failed, split by whose fault it is:
/// the caller's request (bad input, unknown campaign, a transition that makes
/// no sense) or the system (database, stored data, I/O).
#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    #[error("no campaign named '{0}'")]
    NotFound(String),
    #[error("a campaign named '{0}' already exists")]
    AlreadyExists(String),
    #[error("{0} must not be empty")]
    EmptyField(&'static str),
    #[error("campaign '{name}': {reason}")]
    InvalidSettings { name: String, reason: String },
    #[error(
        "cannot {action} campaign '{name}': it is {state} (only a campaign that is {allowed} can)"
    )]
    BadTransition {
        action: String,
        name: String,
        state: String,
        allowed: String,
    },
    #[error("unknown action '{0}' (use start, pause, resume or stop)")]
    UnknownAction(String),
    #[error("'{0}' is not a country code (e.g. US, ES)")]
    BadRegion(String),
    #[error("'{raw}' is not a valid number: {reason}")]
    BadNumber { raw: String, reason: String },
    // Fields named `error` rather than `source`: the text already includes
    // them, and anyhow's `{:#}` would print a source a second time.
    #[error("cannot read {}: {error}", path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    /// A problem with a list as a whole (bad rows never stop a load).
    #[error(transparent)]
    List(#[from] ListError),
    #[error("campaign '{name}': its stored settings are not valid JSON: {error}")]
    StoredSettings {
        name: String,
        error: serde_json::Error,
    },
    #[error("cannot write the export: {0}")]
    Export(#[from] csv::Error),
    #[error("the list loader stopped unexpectedly: {0}")]
    Loader(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub async fn create(
    store: &Store,
    name: &str,
    dialplan: &str,
    trunk: &str,
    caller_id: &str,
    settings: &CampaignSettings,
) -> Result<CampaignRecord, CampaignError> {
    // Agent-backed campaigns send people to agents: no dialplan needed.
    let needs_dialplan = settings.mode == DialMode::Unattended;
    for (field, value) in [
        ("name", name),
        ("dialplan", if needs_dialplan { dialplan } else { "-" }),
        ("trunk", trunk),
        ("caller_id", caller_id),
    ] {
        if value.trim().is_empty() {
            return Err(CampaignError::EmptyField(field));
        }
    }
    settings
        .policy()
        .map_err(|reason| CampaignError::InvalidSettings {
            name: name.to_string(),
            reason,
        })?;
    if store.campaign(name).await?.is_some() {
        return Err(CampaignError::AlreadyExists(name.to_string()));
    }
    let now = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let record = CampaignRecord {
        id: format!("{:016x}", rand::random::<u64>()),
        name: name.to_string(),
        dialplan: dialplan.to_string(),
        trunk: trunk.to_string(),
        caller_id: caller_id.to_string(),
        state: "draft".into(),
        settings: serde_json::to_string(settings).map_err(|error| {
            CampaignError::StoredSettings {
                name: name.to_string(),
                error,
            }
        })?,
        created_at: now.clone(),
        updated_at: now,
    };
    match store.create_campaign(&record).await {
        Ok(()) => Ok(record),
        // Two creates racing past the check above: the name is UNIQUE.
        Err(error) if error.is_unique_violation() => {
            Err(CampaignError::AlreadyExists(name.to_string()))
        }
        Err(error) => Err(error.into()),
    }
}

/// The campaign named (or with the id) `name`.
pub async fn find(store: &Store, name: &str) -> Result<CampaignRecord, CampaignError> {
    store
        .campaign(name)
        .await?
        .ok_or_else(|| CampaignError::NotFound(name.to_string()))
}

/// A campaign's stored settings.
pub fn settings_of(campaign: &CampaignRecord) -> Result<CampaignSettings, CampaignError> {
    serde_json::from_str(&campaign.settings).map_err(|error| CampaignError::StoredSettings {
        name: campaign.name.clone(),
        error,
    })
}

/// Moves a campaign to a new state, refusing transitions that make no sense.
pub async fn set_state(store: &Store, name: &str, action: &str) -> Result<String, CampaignError> {
    let (allowed, target): (&[&str], &str) = match action {
        "start" => (&["draft", "paused"], "running"),
        "pause" => (&["running"], "paused"),
        "resume" => (&["paused"], "running"),
        "stop" => (&["draft", "running", "paused"], "finished"),
        other => return Err(CampaignError::UnknownAction(other.to_string())),
    };
    let campaign = find(store, name).await?;
    if !allowed.contains(&campaign.state.as_str()) {
        return Err(CampaignError::BadTransition {
            action: action.to_string(),
            name: name.to_string(),
            state: campaign.state,
            allowed: allowed.join(" or "),
        });
    }
    store
        .set_campaign_state(&campaign.id, target, Utc::now())
        .await?;
    Ok(target.to_string())
}

/// What a list load did: the list's own summary (rows, problems with their
/// lines) and the numbers skipped because the campaign already had them.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    pub summary: LoadSummary,
    /// (line, number) of rows whose number was already in the campaign.
    pub already_in_campaign: Vec<(u64, String)>,
}

impl LoadReport {
    /// Leads actually added to the campaign.
    pub fn added(&self) -> u64 {
        self.summary
            .loaded
            .saturating_sub(self.already_in_campaign.len() as u64)
    }
}

/// Loads the CSV file at `file` into a campaign (see [`load`]).
pub async fn load_file(
    store: &Store,
    name: &str,
    file: &Path,
    mapping: &ColumnMapping,
    progress: impl Fn(u64) + Send + 'static,
) -> Result<LoadReport, CampaignError> {
    // Look the campaign up first, so a typo in its name is reported before a
    // missing file.
    find(store, name).await?;
    let reader = std::fs::File::open(file).map_err(|error| CampaignError::Read {
        path: file.to_path_buf(),
        error,
    })?;
    load(store, name, Box::new(reader), mapping, progress).await
}

/// Loads a CSV list into a campaign: good rows load, bad ones are reported
/// with their line numbers. Progress goes to `progress` every 100,000 rows.
///
/// `reader` is read on a blocking thread, so it may block (a file, or the
/// REST API's bridge from an upload stream).
pub async fn load(
    store: &Store,
    name: &str,
    reader: Box<dyn Read + Send>,
    mapping: &ColumnMapping,
    progress: impl Fn(u64) + Send + 'static,
) -> Result<LoadReport, CampaignError> {
    let campaign = find(store, name).await?;
    let settings = settings_of(&campaign)?;
    let dnc: HashSet<String> = store.dnc_numbers().await?;
    let options = LoadOptions {
        default_region: settings.default_region.clone(),
        ..LoadOptions::default()
    };
    let mapping = mapping.clone();
    // Parsing runs on a blocking thread; batches come back over a channel and
    // are inserted one transaction each.
    let (sender, mut batches) = tokio::sync::mpsc::channel::<Vec<NewLead>>(4);
    let parser = tokio::task::spawn_blocking(move || {
        let mut is_dnc = |number: &str| dnc.contains(number);
        let mut on_batch = |leads: Vec<crate::dialer::list::Lead>| {
            let batch = leads
                .into_iter()
                .map(|lead| NewLead {
                    source_line: lead.line,
                    number: lead.number,
                    name: lead.name,
                    timezones: lead
                        .timezones
                        .iter()
                        .map(|zone| zone.name().to_string())
                        .collect(),
                    fields: serde_json::to_string(
                        &lead.fields.into_iter().collect::<BTreeMap<_, _>>(),
                    )
                    .unwrap_or_else(|_| "{}".into()),
                })
                .collect();
            sender
                .blocking_send(batch)
                .map_err(|_| "the database writer stopped".to_string())
        };
        let mut on_progress = |rows: u64| {
            if rows.is_multiple_of(100_000) {
                progress(rows);
            }
        };
        load_csv(
            reader,
            &mapping,
            &options,
            &mut is_dnc,
            &mut on_batch,
            &mut on_progress,
        )
    });
    let mut already_in_campaign = Vec::new();
    while let Some(batch) = batches.recv().await {
        already_in_campaign.extend(store.insert_leads(&campaign.id, &batch, Utc::now()).await?);
    }
    let summary = parser
        .await
        .map_err(|error| CampaignError::Loader(error.to_string()))??;
    Ok(LoadReport {
        summary,
        already_in_campaign,
    })
}

/// Writes every attempt of a campaign as CSV.
pub async fn export(
    store: &Store,
    name: &str,
    out: &mut (dyn Write + Send),
) -> Result<usize, CampaignError> {
    let campaign = find(store, name).await?;
    let leads: BTreeMap<i64, _> = store
        .campaign_leads(&campaign.id)
        .await?
        .into_iter()
        .map(|lead| (lead.id, lead))
        .collect();
    let attempts = store.campaign_attempts(&campaign.id).await?;
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record([
        "lead_line",
        "number",
        "name",
        "attempt_id",
        "started_at",
        "ringing_at",
        "answered_at",
        "ended_at",
        "sip_status",
        "outcome",
        "lead_state",
        "next_attempt_at",
        "path",
        "digits",
        "allowed_because",
    ])?;
    for attempt in &attempts {
        let lead = leads.get(&attempt.lead_id);
        writer.write_record([
            lead.map(|l| l.source_line.to_string()).unwrap_or_default(),
            attempt.number.clone(),
            lead.and_then(|l| l.name.clone()).unwrap_or_default(),
            attempt.id.clone(),
            attempt.started_at.clone(),
            attempt.ringing_at.clone().unwrap_or_default(),
            attempt.answered_at.clone().unwrap_or_default(),
            attempt.ended_at.clone().unwrap_or_default(),
            attempt
                .sip_status
                .map(|s| s.to_string())
                .unwrap_or_default(),
            attempt
                .outcome
                .clone()
                .unwrap_or_else(|| attempt.state.clone()),
            lead.map(|l| l.state.clone()).unwrap_or_default(),
            lead.and_then(|l| l.next_attempt_at.clone())
                .unwrap_or_default(),
            attempt.path.clone().unwrap_or_default(),
            attempt.digits.clone().unwrap_or_default(),
            attempt.allowed_because.clone(),
        ])?;
    }
    writer.flush().map_err(csv::Error::from)?;
    Ok(attempts.len())
}

/// Normalises a number for the do-not-call list.
pub fn dnc_number(raw: &str, region: &str) -> Result<String, CampaignError> {
    let region = region
        .parse()
        .map_err(|_| CampaignError::BadRegion(region.to_string()))?;
    normalise_number(raw, region)
        .map(|number| number.e164)
        .map_err(|reason| CampaignError::BadNumber {
            raw: raw.to_string(),
            reason,
        })
}

/// Imports numbers (one per line, or the first CSV column); returns
/// (added, already listed, bad lines with their numbers).
pub async fn dnc_import(
    store: &Store,
    file: &Path,
    region: &str,
) -> Result<(u64, u64, Vec<(u64, String)>), CampaignError> {
    let text = std::fs::read_to_string(file).map_err(|error| CampaignError::Read {
        path: file.to_path_buf(),
        error,
    })?;
    let (mut added, mut present, mut bad) = (0, 0, Vec::new());
    let now = Utc::now();
    for (index, line) in text.lines().enumerate() {
        let raw = line.split([',', ';']).next().unwrap_or("").trim();
        if raw.is_empty() || (index == 0 && !raw.chars().any(|c| c.is_ascii_digit())) {
            continue; // blank line or a header
        }
        match dnc_number(raw, region) {
            Ok(number) => {
                if store.dnc_add(&number, "import", now).await? {
                    added += 1;
                } else {
                    present += 1;
                }
            }
            Err(error) => bad.push((index as u64 + 1, error.to_string())),
        }
    }
    Ok((added, present, bad))
}

/// A campaign's live numbers: leads by state, attempts by outcome and the
/// rates a campaign manager watches. A rate is `None` while its denominator
/// is zero (no attempt has finished yet), rather than a misleading 0.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CampaignStatus {
    pub leads: BTreeMap<String, i64>,
    pub leads_total: i64,
    pub attempts: BTreeMap<String, i64>,
    pub attempts_in_progress: i64,
    pub attempts_finished: i64,
    pub attempts_answered: i64,
    pub rates: CampaignRates,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CampaignRates {
    /// Answered attempts / finished attempts.
    pub answer_rate: Option<f64>,
    /// Attempts answered by a machine / answered attempts.
    pub machine_rate: Option<f64>,
    /// Busy, no-answer and failed attempts / finished attempts.
    pub busy_rate: Option<f64>,
    pub no_answer_rate: Option<f64>,
    pub failed_rate: Option<f64>,
    /// Leads that will not be dialled again (done, exhausted, do-not-call) / all leads.
    pub leads_completed: Option<f64>,
}

impl CampaignStatus {
    /// Works the rates out from the store's counts (pure; no I/O).
    pub fn from_counts(counts: &CampaignCounts) -> CampaignStatus {
        let leads: BTreeMap<String, i64> = counts.leads_by_state.iter().cloned().collect();
        let attempts: BTreeMap<String, i64> = counts.attempts_by_outcome.iter().cloned().collect();
        let leads_total = leads.values().sum();
        let count = |map: &BTreeMap<String, i64>, key: &str| map.get(key).copied().unwrap_or(0);
        let ratio = |part: i64, whole: i64| (whole > 0).then(|| part as f64 / whole as f64);
        let finished = counts.attempts_finished;
        let leads_completed = ["done", "exhausted", "do_not_call"]
            .iter()
            .map(|state| count(&leads, state))
            .sum();
        let rates = CampaignRates {
            answer_rate: ratio(counts.attempts_answered, finished),
            machine_rate: ratio(count(&attempts, "machine"), counts.attempts_answered),
            busy_rate: ratio(count(&attempts, "busy"), finished),
            no_answer_rate: ratio(count(&attempts, "no_answer"), finished),
            failed_rate: ratio(count(&attempts, "failed"), finished),
            leads_completed: ratio(leads_completed, leads_total),
        };
        CampaignStatus {
            leads,
            leads_total,
            attempts,
            attempts_in_progress: counts.attempts_in_progress,
            attempts_finished: finished,
            attempts_answered: counts.attempts_answered,
            rates,
        }
    }
}

/// A campaign with its live status.
pub async fn status(
    store: &Store,
    name: &str,
) -> Result<(CampaignRecord, CampaignStatus), CampaignError> {
    let campaign = find(store, name).await?;
    let counts = store.campaign_counts(&campaign.id).await?;
    Ok((campaign, CampaignStatus::from_counts(&counts)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_none_until_attempts_finish() {
        let status = CampaignStatus::from_counts(&CampaignCounts::default());
        assert_eq!(status.rates.answer_rate, None);
        assert_eq!(status.rates.leads_completed, None);
    }

    #[test]
    fn rates_divide_by_finished_and_answered_attempts() {
        let counts = CampaignCounts {
            leads_by_state: vec![("done".into(), 3), ("pending".into(), 1)],
            attempts_by_outcome: vec![
                ("busy".into(), 1),
                ("dialing".into(), 1),
                ("human_answered".into(), 2),
                ("machine".into(), 1),
            ],
            attempts_in_progress: 1,
            attempts_finished: 4,
            attempts_answered: 3,
        };
        let status = CampaignStatus::from_counts(&counts);
        assert_eq!(status.leads_total, 4);
        assert_eq!(status.rates.answer_rate, Some(0.75));
        assert_eq!(status.rates.machine_rate, Some(1.0 / 3.0));
        assert_eq!(status.rates.busy_rate, Some(0.25));
        assert_eq!(status.rates.no_answer_rate, Some(0.0));
        assert_eq!(status.rates.leads_completed, Some(0.75));
    }
}
