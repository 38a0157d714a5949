//! Agents and queues: who is logged in and in what state, how many callers
//! wait, and the queue and agent figures from the database.

use axum::extract::{Path, Query, State};
use axum::Json;
use chrono::{Duration, Utc};
use serde::Deserialize;

use super::error::AppError;
use super::ApiState;

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
