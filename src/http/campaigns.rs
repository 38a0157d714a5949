//! `/api/campaigns...`: create, list, show with live status, upload a list,
//! change state, export attempts.

use std::io::Read;

use axum::body::Bytes;
use axum::extract::multipart::Field;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::error::{too_large, upload_error};
use super::{ApiState, AppError, UploadLimit};
use crate::campaign_cli::{self, CampaignStatus};
use crate::dialer::campaign::CampaignSettings;
use crate::dialer::list::{ColumnMapping, RowProblem};
use crate::store::CampaignRecord;

/// How many row problems an upload's answer lists in detail (all are counted).
const PROBLEMS_SHOWN: usize = 100;

/// A campaign as the API shows it: the stored row with its settings as an
/// object (every setting, defaults filled in).
#[derive(Debug, Serialize)]
pub struct CampaignView {
    pub id: String,
    pub name: String,
    pub dialplan: String,
    pub trunk: String,
    pub caller_id: String,
    pub state: String,
    pub settings: CampaignSettings,
    pub created_at: String,
    pub updated_at: String,
}

impl CampaignView {
    fn of(record: CampaignRecord) -> Result<CampaignView, AppError> {
        let settings = campaign_cli::settings_of(&record)?;
        Ok(CampaignView {
            id: record.id,
            name: record.name,
            dialplan: record.dialplan,
            trunk: record.trunk,
            caller_id: record.caller_id,
            state: record.state,
            settings,
            created_at: record.created_at,
            updated_at: record.updated_at,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCampaign {
    name: String,
    /// Not needed for agent-backed campaigns (mode progressive or predictive).
    #[serde(default)]
    dialplan: String,
    trunk: String,
    caller_id: String,
    /// Any subset of the settings; the rest take their safe defaults.
    #[serde(default)]
    settings: CampaignSettings,
}

pub async fn list(State(state): State<ApiState>) -> Result<Json<Vec<CampaignView>>, AppError> {
    let campaigns = state.store.campaigns().await?;
    let views = campaigns
        .into_iter()
        .map(CampaignView::of)
        .collect::<Result<_, _>>()?;
    Ok(Json(views))
}

pub async fn create(
    State(state): State<ApiState>,
    body: Result<Json<NewCampaign>, JsonRejection>,
) -> Result<(StatusCode, Json<CampaignView>), AppError> {
    let Json(new) = body?;
    let record = campaign_cli::create(
        &state.store,
        &new.name,
        &new.dialplan,
        &new.trunk,
        &new.caller_id,
        &new.settings,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(CampaignView::of(record)?)))
}

#[derive(Debug, Serialize)]
pub struct CampaignWithStatus {
    #[serde(flatten)]
    campaign: CampaignView,
    status: CampaignStatus,
}

pub async fn show(
    State(state): State<ApiState>,
    name: Result<Path<String>, PathRejection>,
) -> Result<Json<CampaignWithStatus>, AppError> {
    let Path(name) = name?;
    let (campaign, status) = campaign_cli::status(&state.store, &name).await?;
    Ok(Json(CampaignWithStatus {
        campaign: CampaignView::of(campaign)?,
        status,
    }))
}

#[derive(Debug, Serialize)]
pub struct StateChange {
    name: String,
    state: String,
}

async fn change_state(
    state: ApiState,
    name: Result<Path<String>, PathRejection>,
    action: &str,
) -> Result<Json<StateChange>, AppError> {
    let Path(name) = name?;
    let new_state = campaign_cli::set_state(&state.store, &name, action).await?;
    Ok(Json(StateChange {
        name,
        state: new_state,
    }))
}

pub async fn start(
    State(state): State<ApiState>,
    name: Result<Path<String>, PathRejection>,
) -> Result<Json<StateChange>, AppError> {
    change_state(state, name, "start").await
}

pub async fn pause(
    State(state): State<ApiState>,
    name: Result<Path<String>, PathRejection>,
) -> Result<Json<StateChange>, AppError> {
    change_state(state, name, "pause").await
}

pub async fn resume(
    State(state): State<ApiState>,
    name: Result<Path<String>, PathRejection>,
) -> Result<Json<StateChange>, AppError> {
    change_state(state, name, "resume").await
}

pub async fn stop(
    State(state): State<ApiState>,
    name: Result<Path<String>, PathRejection>,
) -> Result<Json<StateChange>, AppError> {
    change_state(state, name, "stop").await
}

/// Every attempt as CSV, the same file as `switchboard campaign export`.
pub async fn export(
    State(state): State<ApiState>,
    name: Result<Path<String>, PathRejection>,
) -> Result<Response, AppError> {
    let Path(name) = name?;
    let mut csv = Vec::new();
    campaign_cli::export(&state.store, &name, &mut csv).await?;
    let file_name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}-attempts.csv\""),
            ),
        ],
        csv,
    )
        .into_response())
}

/// The answer to a list upload.
#[derive(Debug, Serialize)]
pub struct UploadReport {
    /// Data rows read (not counting the header and blank rows).
    rows: u64,
    /// Leads added to the campaign.
    loaded: u64,
    /// Rows not loaded, counted by kind (missing_phone, invalid_number, ...).
    problems_by_kind: std::collections::BTreeMap<&'static str, u64>,
    problem_count: u64,
    /// The first problems, in file order, with their line numbers.
    problems: Vec<ProblemView>,
    /// Rows whose number the campaign already had (from an earlier upload).
    already_in_campaign: Vec<LineNumber>,
}

#[derive(Debug, Serialize)]
pub struct ProblemView {
    line: u64,
    /// The same names as `problems_by_kind`.
    kind: &'static str,
    detail: String,
}

impl From<&RowProblem> for ProblemView {
    fn from(problem: &RowProblem) -> ProblemView {
        ProblemView {
            line: problem.line,
            kind: problem.kind.name(),
            detail: problem.detail.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct LineNumber {
    line: u64,
    number: String,
}

/// `POST /api/campaigns/{name}/leads`, multipart/form-data:
/// an optional `map` part ("phone=Phone,name=Name,timezone=TZ", default
/// "phone=phone") and a `file` part holding the CSV. The file is streamed
/// into the loader as it arrives, so `map` must come before `file` (curl's
/// `-F` options keep their order); parts after `file` are not read.
pub async fn upload_leads(
    State(state): State<ApiState>,
    Extension(UploadLimit(limit)): Extension<UploadLimit>,
    name: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Json<UploadReport>, AppError> {
    let Path(name) = name?;
    // Refuse a body announced as too large before reading any of it.
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if announced.is_some_and(|length| length > limit) {
        return Err(too_large(limit));
    }
    let mut multipart = multipart?;
    let mut mapping = ColumnMapping::new("phone");
    loop {
        let field = multipart
            .next_field()
            .await
            .map_err(|error| upload_error(error, limit))?;
        let Some(field) = field else {
            return Err(AppError::BadRequest(
                "no 'file' part: send the CSV as a multipart part named 'file'".into(),
            ));
        };
        match field.name().unwrap_or("") {
            "map" => {
                let spec = field
                    .text()
                    .await
                    .map_err(|error| upload_error(error, limit))?;
                mapping = ColumnMapping::parse(&spec)
                    .map_err(|error| AppError::BadRequest(error.to_string()))?;
            }
            "file" => return load_upload(&state, &name, field, &mapping, limit).await,
            other => {
                return Err(AppError::BadRequest(format!(
                    "unknown part '{other}': send 'map' (optional) then 'file'"
                )))
            }
        }
    }
}

/// Streams the `file` part into the campaign's list loader.
async fn load_upload(
    state: &ApiState,
    name: &str,
    mut field: Field<'_>,
    mapping: &ColumnMapping,
    limit: u64,
) -> Result<Json<UploadReport>, AppError> {
    let (sender, receiver) = mpsc::channel::<std::io::Result<Bytes>>(8);
    let reader = ChannelReader {
        receiver,
        current: Bytes::new(),
    };
    let load = campaign_cli::load(&state.store, name, Box::new(reader), mapping, |_| {});
    let pump = async move {
        let mut received = 0u64;
        loop {
            let chunk = match field.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => return Ok(()),
                Err(error) => {
                    let error = upload_error(error, limit);
                    sender
                        .send(Err(std::io::Error::other("the upload stopped")))
                        .await
                        .ok();
                    return Err(error);
                }
            };
            received += chunk.len() as u64;
            if received > limit {
                sender
                    .send(Err(std::io::Error::other("the upload is too large")))
                    .await
                    .ok();
                return Err(too_large(limit));
            }
            if sender.send(Ok(chunk)).await.is_err() {
                // The loader stopped early (e.g. no such campaign, or a bad
                // header row); its error is the answer.
                return Ok(());
            }
        }
    };
    let (pumped, loaded) = tokio::join!(pump, load);
    // A broken upload explains a load error better than the load error does.
    pumped?;
    let report = loaded?;
    let summary = &report.summary;
    Ok(Json(UploadReport {
        rows: summary.rows,
        loaded: report.added(),
        problems_by_kind: summary.problems_by_kind.clone(),
        problem_count: summary.problem_count(),
        problems: summary
            .problems
            .iter()
            .take(PROBLEMS_SHOWN)
            .map(ProblemView::from)
            .collect(),
        already_in_campaign: report
            .already_in_campaign
            .iter()
            .map(|(line, number)| LineNumber {
                line: *line,
                number: number.clone(),
            })
            .collect(),
    }))
}

/// A blocking reader over the chunks of an upload: the list loader reads on a
/// blocking thread while the request's task feeds it.
struct ChannelReader {
    receiver: mpsc::Receiver<std::io::Result<Bytes>>,
    current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.receiver.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(error)) => return Err(error),
                None => return Ok(0),
            }
        }
        let length = buffer.len().min(self.current.len());
        buffer[..length].copy_from_slice(&self.current.split_to(length));
        Ok(length)
    }
}
