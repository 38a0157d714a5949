//! Agents and queues: who is logged in and in what state, how many callers
//! wait, and the queue and agent figures from the database; agents created,
//! changed and deleted, logged in and out.

use std::collections::BTreeMap;
use std::convert::Infallible;

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::Json;
use chrono::{Duration, Utc};
use futures_util::StreamExt;
use serde::{Deserialize, Deserializer, Serialize};
use tokio::sync::broadcast::error::RecvError;

use super::error::AppError;
use super::ApiState;
use crate::call::{AgentChange, Deletion, NewAgent, Presence};
use crate::directory::AgentAccount;

/// A password in a request body. Read only as a JSON string: anything else
/// is refused without repeating it, and `Debug` never shows it.
pub struct Password(String);

impl<'de> Deserialize<'de> for Password {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::String(text) => Ok(Password(text)),
            _ => Err(serde::de::Error::custom(
                "the password must be a JSON string",
            )),
        }
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(hidden)")
    }
}

/// `POST /api/agents`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAgentBody {
    id: String,
    name: String,
    password: Password,
    #[serde(default)]
    skills: BTreeMap<String, u8>,
    #[serde(default)]
    queues: Vec<String>,
}

/// `PATCH /api/agents/{id}`: the fields to change.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeBody {
    name: Option<String>,
    password: Option<Password>,
    skills: Option<BTreeMap<String, u8>>,
    queues: Option<Vec<String>>,
}

/// An agent's account as the API shows it: never the password or its hash.
#[derive(Debug, Serialize)]
pub struct AccountView {
    id: String,
    name: String,
    skills: BTreeMap<String, u8>,
    queues: Vec<String>,
    /// "config" (the config file; read-only here) or "api".
    origin: &'static str,
}

impl From<AgentAccount> for AccountView {
    fn from(account: AgentAccount) -> AccountView {
        AccountView {
            origin: account.origin.name(),
            id: account.id,
            name: account.name,
            skills: account.skills,
            queues: account.queues,
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct FiguresQuery {
    /// Figures over the last this many hours (default 24, at most 31 days).
    hours: Option<i64>,
    /// A call counts toward the service level when answered within this
    /// many seconds (default 20).
    service_level_secs: Option<i64>,
}

fn desk(state: &ApiState) -> Result<&crate::call::AgentDesk, AppError> {
    state
        .desk
        .get()
        .ok_or_else(|| AppError::Unavailable("agent queues are not running in this process".into()))
}

/// `GET /api/agents`: every agent's live state, and time per state.
pub async fn agents(
    State(state): State<ApiState>,
    Query(query): Query<FiguresQuery>,
) -> Result<Json<serde_json::Value>, AppError> {
    let snapshot = desk(&state)?.snapshot();
    let now = Utc::now();
    let since = now - Duration::hours(query.hours.unwrap_or(24).clamp(1, 24 * 31));
    let figures = state
        .store
        .agent_figures(since, now)
        .await
        .map_err(AppError::internal)?;
    Ok(Json(serde_json::json!({
        "agents": snapshot.agents,
        "figures": figures,
        "since": since.to_rfc3339(),
    })))
}

/// `GET /api/queues`: callers waiting now, and offered / answered /
/// abandoned, service level, speed of answer and handle time.
pub async fn queues(
    State(state): State<ApiState>,
    Query(query): Query<FiguresQuery>,
) -> Result<Json<serde_json::Value>, AppError> {
    let snapshot = desk(&state)?.snapshot();
    let since = Utc::now() - Duration::hours(query.hours.unwrap_or(24).clamp(1, 24 * 31));
    let figures = state
        .store
        .queue_figures(since, query.service_level_secs.unwrap_or(20).clamp(1, 3600))
        .await
        .map_err(AppError::internal)?;
    Ok(Json(serde_json::json!({
        "queues": snapshot.queues,
        "figures": figures,
        "since": since.to_rfc3339(),
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PauseBody {
    /// Shown as the agent's state detail (default "break").
    reason: Option<String>,
}

fn known_agent(desk: &crate::call::AgentDesk, agent: &str) -> Result<(), AppError> {
    if desk.snapshot().agents.iter().any(|view| view.id == agent) {
        Ok(())
    } else {
        Err(AppError::NotFound(format!("no agent is named '{agent}'")))
    }
}

/// `POST /api/agents/{id}/pause`: pause an agent (after the current call
/// and wrap-up, if any).
pub async fn pause(
    State(state): State<ApiState>,
    Path(agent): Path<String>,
    body: Option<Json<PauseBody>>,
) -> Result<Json<serde_json::Value>, AppError> {
    let desk = desk(&state)?;
    known_agent(desk, &agent)?;
    let reason = body
        .and_then(|Json(body)| body.reason)
        .map(|reason| {
            reason
                .chars()
                .filter(|c| !c.is_control())
                .take(40)
                .collect::<String>()
        })
        .filter(|reason| !reason.trim().is_empty())
        .unwrap_or_else(|| "break".into());
    if !desk.set_paused(&agent, Some(reason.clone())) {
        return Err(AppError::Unavailable("the agent desk has stopped".into()));
    }
    Ok(Json(
        serde_json::json!({ "agent": agent, "requested": "pause", "reason": reason }),
    ))
}

/// `POST /api/agents/{id}/available`: end a pause or wrap-up.
pub async fn available(
    State(state): State<ApiState>,
    Path(agent): Path<String>,
) -> Result<Json<serde_json::Value>, AppError> {
    let desk = desk(&state)?;
    known_agent(desk, &agent)?;
    if !desk.set_paused(&agent, None) {
        return Err(AppError::Unavailable("the agent desk has stopped".into()));
    }
    Ok(Json(
        serde_json::json!({ "agent": agent, "requested": "available" }),
    ))
}

/// `POST /api/agents`: creates an agent (201). It can register a phone and
/// log in on the agent page at once.
pub async fn create(
    State(state): State<ApiState>,
    body: Result<Json<NewAgentBody>, JsonRejection>,
) -> Result<(StatusCode, Json<AccountView>), AppError> {
    let desk = desk(&state)?;
    let Json(body) = body?;
    let account = desk
        .create_agent(NewAgent {
            id: body.id,
            name: body.name,
            password: body.password.0,
            skills: body.skills,
            queues: body.queues,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(account.into())))
}

/// `GET /api/agents/{id}`: one agent's account and live state.
pub async fn show(
    State(state): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<serde_json::Value>, AppError> {
    let Path(id) = id?;
    let desk = desk(&state)?;
    let account = desk
        .directory()
        .get(&id)
        .ok_or_else(|| AppError::NotFound(format!("no agent is named '{id}'")))?;
    let live = desk
        .snapshot()
        .agents
        .into_iter()
        .find(|view| view.id == id);
    Ok(Json(serde_json::json!({
        "agent": AccountView::from(account),
        "live": live,
        "deleting": desk.directory().is_deleting(&id),
    })))
}

/// `PATCH /api/agents/{id}`: changes name, password, skills or queues of an
/// agent created through the API.
pub async fn change(
    State(state): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
    body: Result<Json<ChangeBody>, JsonRejection>,
) -> Result<Json<AccountView>, AppError> {
    let Path(id) = id?;
    let desk = desk(&state)?;
    let Json(body) = body?;
    let account = desk
        .change_agent(
            &id,
            AgentChange {
                name: body.name,
                password: body.password.map(|password| password.0),
                skills: body.skills,
                queues: body.queues,
            },
        )
        .await?;
    Ok(Json(account.into()))
}

/// `DELETE /api/agents/{id}`: deletes an agent created through the API.
pub async fn delete(
    State(state): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<serde_json::Value>, AppError> {
    let Path(id) = id?;
    let desk = desk(&state)?;
    let deletion = desk.delete_agent(&id).await?;
    let (leaves, message) = match deletion {
        Deletion::Done => ("now", "deleted"),
        Deletion::AfterCall => (
            "after_call",
            "deleted: it can no longer log in, and leaves when its current call ends",
        ),
    };
    Ok(Json(serde_json::json!({
        "agent": id,
        "deleted": true,
        "leaves": leaves,
        "message": message,
    })))
}

#[derive(Debug, Serialize)]
pub struct PresenceView {
    #[serde(flatten)]
    presence: Presence,
    message: String,
}

/// `POST /api/agents/{id}/login`: ends a logout made through the API. The
/// agent is available if it has a registered phone or an open agent page;
/// the answer says when it has neither.
pub async fn login(
    State(state): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<PresenceView>, AppError> {
    let Path(id) = id?;
    let presence = desk(&state)?.log_in(&id).await?;
    let message = if presence.reachable {
        format!("agent '{id}' is logged in")
    } else {
        format!(
            "agent '{id}' has no registered phone and no open agent page: it is logged in as soon as one of them comes"
        )
    };
    Ok(Json(PresenceView { presence, message }))
}

/// `POST /api/agents/{id}/logout`: logs the agent out (its agent page
/// closes) until it logs in again through the API or the agent page; a
/// registered phone does not log it back in. On a call, the logout takes
/// effect when the call ends.
pub async fn logout(
    State(state): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<PresenceView>, AppError> {
    let Path(id) = id?;
    let presence = desk(&state)?.log_out(&id).await?;
    let message = if presence.logout_after_call {
        format!("agent '{id}' is logged out when the call in progress ends")
    } else {
        format!("agent '{id}' is logged out until it logs in again")
    };
    Ok(Json(PresenceView { presence, message }))
}

/// `GET /api/events`: the desk live, as Server-Sent Events (for a wallboard
/// or a supervisor's screen). First `snapshot` (every agent's and queue's
/// state now), then as they happen: `agent` (a state change), `queues`
/// (callers waiting and agents in, when they change) and `queue_call` (a
/// call left a queue: answered, abandoned, ..., with its wait and talk).
/// `lagged` says how many events a slow reader missed. The stream ends when
/// the engine stops.
pub async fn events(
    State(state): State<ApiState>,
) -> Result<Sse<impl futures_util::Stream<Item = Result<SseEvent, Infallible>>>, AppError> {
    let desk = desk(&state)?;
    let receiver = desk
        .subscribe()
        .ok_or_else(|| AppError::Unavailable("the agent desk has stopped".into()))?;
    let snapshot = json_event("snapshot", &desk.snapshot());
    let live = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let event = match receiver.recv().await {
            Ok(event) => {
                let name = match &event {
                    crate::call::DeskEvent::Agent { .. } => "agent",
                    crate::call::DeskEvent::Queues { .. } => "queues",
                    crate::call::DeskEvent::QueueCall { .. } => "queue_call",
                };
                json_event(name, &event)
            }
            Err(RecvError::Lagged(missed)) => {
                SseEvent::default().event("lagged").data(missed.to_string())
            }
            Err(RecvError::Closed) => return None,
        };
        Some((Ok(event), receiver))
    });
    let stream = futures_util::stream::once(async move { Ok(snapshot) }).chain(live);
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

fn json_event(name: &str, data: &impl serde::Serialize) -> SseEvent {
    SseEvent::default()
        .event(name)
        .json_data(data)
        .unwrap_or_else(|error| SseEvent::default().event("error").data(error.to_string()))
}

/// `GET /api/calls/{id}`: one call from the log with its timeline and the
/// agents' dispositions (the URL in the agent's `Call-Info`).
pub async fn call(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, AppError> {
    let call = state
        .store
        .find_call(&id)
        .await
        .map_err(AppError::internal)?
        .ok_or_else(|| AppError::NotFound(format!("no call {id} in the log")))?;
    let events = state
        .store
        .call_events(&id)
        .await
        .map_err(AppError::internal)?;
    let dispositions = state
        .store
        .dispositions_of(&id)
        .await
        .map_err(AppError::internal)?;
    Ok(Json(serde_json::json!({
        "call": call,
        "events": events,
        "dispositions": dispositions,
    })))
}
