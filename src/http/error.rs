//! The API's one error type: every failure becomes a status code and a JSON
//! body `{"error": "..."}`. Internal failures are logged here and answered
//! with a fixed sentence, so database or file-system details never reach a
//! client.

use axum::extract::multipart::{MultipartError, MultipartRejection};
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::campaign_cli::CampaignError;
use crate::dialer::list::ListError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request is wrong: bad JSON, bad settings, a bad CSV, a bad number.
    #[error("{0}")]
    BadRequest(String),
    #[error("missing or wrong bearer token")]
    Unauthorized,
    /// Refused whoever asks (e.g. a cross-site browser request).
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed on this route")]
    MethodNotAllowed,
    /// The request conflicts with the current state: a name in use, a
    /// transition the campaign's state does not allow.
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    /// A part of the engine this request needs is not running.
    #[error("{0}")]
    Unavailable(String),
    /// Our fault. The text is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub fn internal(error: impl std::fmt::Display) -> AppError {
        AppError::Internal(error.to_string())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            AppError::Internal(detail) => {
                tracing::error!(error = %detail, "REST API request failed");
                "internal error; the server log has the details".to_string()
            }
            other => other.to_string(),
        };
        let mut response = (status, Json(serde_json::json!({ "error": message }))).into_response();
        if status == StatusCode::UNAUTHORIZED {
            // RFC 6750 §3: a 401 names the scheme the client should use.
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

impl From<CampaignError> for AppError {
    fn from(error: CampaignError) -> AppError {
        match error {
            CampaignError::NotFound(_) => AppError::NotFound(error.to_string()),
            CampaignError::AlreadyExists(_) | CampaignError::BadTransition { .. } => {
                AppError::Conflict(error.to_string())
            }
            CampaignError::EmptyField(_)
            | CampaignError::InvalidSettings { .. }
            | CampaignError::UnknownAction(_)
            | CampaignError::BadRegion(_)
            | CampaignError::BadNumber { .. } => AppError::BadRequest(error.to_string()),
            CampaignError::List(list) => list_error(list),
            CampaignError::Read { .. }
            | CampaignError::StoredSettings { .. }
            | CampaignError::Export(_)
            | CampaignError::Loader(_)
            | CampaignError::Store(_) => AppError::internal(error),
        }
    }
}

/// A list that cannot be loaded at all is the uploader's problem, except
/// when saving its leads failed.
fn list_error(error: ListError) -> AppError {
    match error {
        ListError::BatchFailed { .. } => AppError::internal(error),
        other => AppError::BadRequest(other.to_string()),
    }
}

impl From<crate::call::AccountError> for AppError {
    fn from(error: crate::call::AccountError) -> AppError {
        use crate::call::AccountError;
        match error {
            AccountError::Invalid(_) | AccountError::NothingToChange => {
                AppError::BadRequest(error.to_string())
            }
            AccountError::NotFound(_) => AppError::NotFound(error.to_string()),
            AccountError::Exists(_) | AccountError::InConfig(_) | AccountError::Deleting(_) => {
                AppError::Conflict(error.to_string())
            }
            AccountError::Stopped => AppError::Unavailable(error.to_string()),
            AccountError::Desk { .. } => AppError::internal(error),
            AccountError::Store(store) => AppError::internal(store),
        }
    }
}

impl From<crate::store::StoreError> for AppError {
    fn from(error: crate::store::StoreError) -> AppError {
        AppError::internal(error)
    }
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> AppError {
        AppError::BadRequest(rejection.body_text())
    }
}

impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> AppError {
        AppError::BadRequest(rejection.body_text())
    }
}

impl From<PathRejection> for AppError {
    fn from(rejection: PathRejection) -> AppError {
        AppError::BadRequest(rejection.body_text())
    }
}

impl From<MultipartRejection> for AppError {
    fn from(rejection: MultipartRejection) -> AppError {
        AppError::BadRequest(format!(
            "{} (send the list as multipart/form-data with a 'file' part)",
            rejection.body_text()
        ))
    }
}

/// A multipart stream that broke: too large, malformed, or cut off.
pub fn upload_error(error: MultipartError, limit: u64) -> AppError {
    let status = error.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        too_large(limit)
    } else if status.is_client_error() {
        AppError::BadRequest(format!(
            "the upload is not valid multipart: {}",
            error.body_text()
        ))
    } else {
        // Usually the client went away mid-upload; the detail may name I/O internals.
        tracing::warn!(error = %error, "list upload stopped");
        AppError::BadRequest("the upload was cut off before its end".into())
    }
}

pub fn too_large(limit: u64) -> AppError {
    const MEGABYTE: u64 = 1024 * 1024;
    let size = if limit >= MEGABYTE {
        format!("{} MB", limit / MEGABYTE)
    } else {
        format!("{limit} bytes")
    };
    AppError::PayloadTooLarge(format!(
        "the upload is larger than the limit of {size}; split the list into smaller files \
         (numbers already in the campaign are skipped if a file is loaded again)"
    ))
}
