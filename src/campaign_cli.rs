//! What `switchboard campaign ...` and `switchboard dnc ...` do. The running
//! engine (`serve`) picks up state changes from the database within a second.

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::Path;

use anyhow::{anyhow, bail, Context};
use chrono::Utc;

use crate::dialer::campaign::CampaignSettings;
use crate::dialer::list::{load_csv, normalise_number, ColumnMapping, LoadOptions, LoadSummary};
use crate::store::{CampaignRecord, NewLead, Store};

pub async fn create(
    store: &Store,
    name: &str,
    dialplan: &str,
    trunk: &str,
    caller_id: &str,
    settings: &CampaignSettings,
) -> anyhow::Result<CampaignRecord> {
    settings
        .policy()
        .map_err(|reason| anyhow!("campaign '{name}': {reason}"))?;
    if store.campaign(name).await?.is_some() {
        bail!("a campaign named '{name}' already exists");
    }
    let now = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let record = CampaignRecord {
        id: format!("{:016x}", rand::random::<u64>()),
        name: name.to_string(),
        dialplan: dialplan.to_string(),
        trunk: trunk.to_string(),
        caller_id: caller_id.to_string(),
        state: "draft".into(),
        settings: serde_json::to_string(settings)?,
        created_at: now.clone(),
        updated_at: now,
    };
    store.create_campaign(&record).await?;
    Ok(record)
}

async fn find(store: &Store, name: &str) -> anyhow::Result<CampaignRecord> {
    store
        .campaign(name)
        .await?
        .ok_or_else(|| anyhow!("no campaign named '{name}' (see `switchboard campaign list`)"))
}

/// Moves a campaign to a new state, refusing transitions that make no sense.
pub async fn set_state(store: &Store, name: &str, action: &str) -> anyhow::Result<String> {
    let campaign = find(store, name).await?;
    let (allowed, target): (&[&str], &str) = match action {
        "start" => (&["draft", "paused"], "running"),
        "pause" => (&["running"], "paused"),
        "resume" => (&["paused"], "running"),
        "stop" => (&["draft", "running", "paused"], "finished"),
        other => bail!("unknown action '{other}'"),
    };
    if !allowed.contains(&campaign.state.as_str()) {
        bail!(
            "cannot {action} campaign '{name}': it is {} (only a campaign that is {} can)",
            campaign.state,
            allowed.join(" or ")
        );
    }
    store
        .set_campaign_state(&campaign.id, target, Utc::now())
        .await?;
    Ok(target.to_string())
}

/// Loads a CSV list into a campaign: good rows load, bad ones are reported
/// with their line numbers. Progress goes to `progress` every 100,000 rows.
pub async fn load(
    store: &Store,
    name: &str,
    file: &Path,
    mapping: &ColumnMapping,
    progress: impl Fn(u64) + Send + 'static,
) -> anyhow::Result<(LoadSummary, Vec<(u64, String)>)> {
    let campaign = find(store, name).await?;
    let settings: CampaignSettings = serde_json::from_str(&campaign.settings)?;
    let reader =
        std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
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
    let summary = parser.await??;
    Ok((summary, already_in_campaign))
}

/// Writes every attempt of a campaign as CSV.
pub async fn export(store: &Store, name: &str, out: &mut dyn Write) -> anyhow::Result<usize> {
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
    writer.flush()?;
    Ok(attempts.len())
}

/// Normalises a number for the do-not-call list.
pub fn dnc_number(raw: &str, region: &str) -> anyhow::Result<String> {
    let region = region
        .parse()
        .map_err(|_| anyhow!("'{region}' is not a country code (e.g. US, ES)"))?;
    normalise_number(raw, region)
        .map(|number| number.e164)
        .map_err(|reason| anyhow!("'{raw}' is not a valid number: {reason}"))
}

/// Imports numbers (one per line, or the first CSV column); returns
/// (added, already listed, bad lines with their numbers).
pub async fn dnc_import(
    store: &Store,
    file: &Path,
    region: &str,
) -> anyhow::Result<(u64, u64, Vec<(u64, String)>)> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
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
