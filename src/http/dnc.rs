//! `/api/dnc/{number}`: check, add and remove do-not-call numbers. Numbers
//! are normalised to E.164 as the command line does (`?region=ES` for numbers
//! without a country code; US by default).

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::{ApiState, AppError};
use crate::campaign_cli::dnc_number;

#[derive(Debug, Deserialize)]
pub struct RegionQuery {
    region: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct DncEntry {
    number: String,
    listed: bool,
}

fn normalised(
    number: Result<Path<String>, PathRejection>,
    query: Result<Query<RegionQuery>, QueryRejection>,
) -> Result<String, AppError> {
    let Path(raw) = number?;
    let Query(query) = query?;
    Ok(dnc_number(&raw, query.region.as_deref().unwrap_or("US"))?)
}

/// 200 with `listed` true or false.
pub async fn check(
    State(state): State<ApiState>,
    number: Result<Path<String>, PathRejection>,
    query: Result<Query<RegionQuery>, QueryRejection>,
) -> Result<Json<DncEntry>, AppError> {
    let number = normalised(number, query)?;
    let listed = state.store.dnc_contains(&number).await?;
    Ok(Json(DncEntry { number, listed }))
}

/// 201 when added, 200 when it was already listed.
pub async fn add(
    State(state): State<ApiState>,
    number: Result<Path<String>, PathRejection>,
    query: Result<Query<RegionQuery>, QueryRejection>,
) -> Result<(StatusCode, Json<DncEntry>), AppError> {
    let number = normalised(number, query)?;
    let added = state
        .store
        .dnc_add(&number, "api", chrono::Utc::now())
        .await?;
    let status = if added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(DncEntry {
            number,
            listed: true,
        }),
    ))
}

/// 200 when removed, 404 when it was not listed.
pub async fn remove(
    State(state): State<ApiState>,
    number: Result<Path<String>, PathRejection>,
    query: Result<Query<RegionQuery>, QueryRejection>,
) -> Result<Json<DncEntry>, AppError> {
    let number = normalised(number, query)?;
    if !state.store.dnc_remove(&number).await? {
        return Err(AppError::NotFound(format!(
            "{number} is not on the do-not-call list"
        )));
    }
    Ok(Json(DncEntry {
        number,
        listed: false,
    }))
}
