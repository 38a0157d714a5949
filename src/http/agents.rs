//! Agents and queues: who is logged in and in what state, how many callers
//! wait, and the queue and agent figures from the database.

use axum::extract::{Query, State};
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
