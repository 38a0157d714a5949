//! The REST API: campaigns, list uploads, state changes, exports and the
//! do-not-call list over HTTP with JSON; agents, queues and calls; and the
//! agent page (`/agent`) with its WebSocket.
//!
//! [`app`] is a plain function from state to a router, so tests drive it with
//! `tower::ServiceExt::oneshot` and no socket; [`serve`] puts it on a listener
//! for the engine. Handlers call the same functions as the command line
//! (`crate::campaign_cli`), so both behave alike. axum's types stay inside
//! this module.

mod agent_page;
mod agents;
mod campaigns;
mod dnc;
mod error;

use std::net::SocketAddr;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use tokio_util::sync::CancellationToken;

pub use error::AppError;

use crate::store::Store;

/// Largest list upload accepted, in bytes (the whole multipart body).
/// About two million rows of a typical list.
pub const MAX_UPLOAD_BYTES: u64 = 200 * 1024 * 1024;

/// What every handler shares.
#[derive(Clone)]
pub struct ApiState {
    pub store: Store,
    /// When set, every route except `/api/health` needs `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// Agent queues, once the engine has started them.
    pub desk: std::sync::Arc<std::sync::OnceLock<crate::call::AgentDesk>>,
}

/// The API with the default upload limit ([`MAX_UPLOAD_BYTES`]).
pub fn app(state: ApiState) -> Router {
    app_with_upload_limit(state, MAX_UPLOAD_BYTES)
}

/// The API with another upload limit (tests use a small one).
pub fn app_with_upload_limit(state: ApiState, upload_limit: u64) -> Router {
    let upload_limit_bytes = usize::try_from(upload_limit).unwrap_or(usize::MAX);
    let protected = Router::new()
        .route(
            "/api/campaigns",
            get(campaigns::list).post(campaigns::create),
        )
        .route("/api/campaigns/{name}", get(campaigns::show))
        .route(
            "/api/campaigns/{name}/leads",
            post(campaigns::upload_leads).layer(DefaultBodyLimit::max(upload_limit_bytes)),
        )
        .route("/api/campaigns/{name}/start", post(campaigns::start))
        .route("/api/campaigns/{name}/pause", post(campaigns::pause))
        .route("/api/campaigns/{name}/resume", post(campaigns::resume))
        .route("/api/campaigns/{name}/stop", post(campaigns::stop))
        .route("/api/campaigns/{name}/export", get(campaigns::export))
        .route("/api/agents", get(agents::agents).post(agents::create))
        .route(
            "/api/agents/{id}",
            get(agents::show)
                .patch(agents::change)
                .delete(agents::delete),
        )
        .route("/api/agents/{id}/pause", post(agents::pause))
        .route("/api/agents/{id}/available", post(agents::available))
        .route("/api/agents/{id}/login", post(agents::login))
        .route("/api/agents/{id}/logout", post(agents::logout))
        .route("/api/calls/{id}", get(agents::call))
        .route("/api/events", get(agents::events))
        .route("/api/queues", get(agents::queues))
        .route(
            "/api/dnc/{number}",
            get(dnc::check).put(dnc::add).delete(dnc::remove),
        )
        .layer(axum::Extension(UploadLimit(upload_limit)));
    let protected = if state.token.is_some() {
        protected.route_layer(middleware::from_fn_with_state(state.clone(), require_token))
    } else {
        protected
    };
    let protected = protected.route_layer(middleware::from_fn(same_origin_only));
    // Agents log in with their own password on the socket, not the API token;
    // the origin check keeps other sites' pages off it.
    let agent_socket = Router::new()
        .route("/api/agent/socket", get(agent_page::socket))
        .route_layer(middleware::from_fn(same_origin_only));
    Router::new()
        .route("/api/health", get(health))
        .route("/agent", get(agent_page::page))
        .merge(agent_socket)
        .merge(protected)
        .fallback(|| async { AppError::NotFound("no such route; the API is under /api/".into()) })
        .method_not_allowed_fallback(|| async { AppError::MethodNotAllowed })
        .with_state(state)
}

/// The upload limit, for the upload handler's own count and message.
#[derive(Clone, Copy)]
struct UploadLimit(u64);

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Browsers send `Origin` with cross-site requests, and a plain form POST or
/// multipart upload needs no CORS preflight: without this check any web page
/// the operator opens could start a campaign or upload a list. Requests from
/// tools (curl, scripts) carry no Origin and pass; a browser may only call us
/// from a page we served (same host and port).
async fn same_origin_only(request: Request, next: Next) -> Result<Response, AppError> {
    let headers = request.headers();
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        let host = headers
            .get(header::HOST)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("");
        let origin_host = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .unwrap_or("");
        if host.is_empty() || origin_host != host {
            return Err(AppError::Forbidden(
                "cross-site requests are not accepted".into(),
            ));
        }
    }
    Ok(next.run(request).await)
}

async fn require_token(
    State(state): State<ApiState>,
    request: Request,
    next: Next,
) -> Result<Response, AppError> {
    let Some(expected) = state.token.as_deref() else {
        return Ok(next.run(request).await);
    };
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(bearer_token);
    match presented {
        Some(token) if constant_time_equal(token.as_bytes(), expected.as_bytes()) => {
            Ok(next.run(request).await)
        }
        _ => Err(AppError::Unauthorized),
    }
}

/// The token of an `Authorization: Bearer <token>` value (RFC 6750 §2.1; the
/// scheme name is case-insensitive, RFC 7235 §2.1).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}

use crate::sip::digest::constant_time_equal;

/// A running API server.
pub struct HttpServer {
    local_address: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl HttpServer {
    /// Binds `listen` (port 0 picks a free port) and serves [`app`] until
    /// `shutdown` is cancelled; requests in flight then finish.
    pub async fn start(
        listen: SocketAddr,
        state: ApiState,
        shutdown: CancellationToken,
    ) -> std::io::Result<HttpServer> {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let local_address = listener.local_addr()?;
        let router = app(state);
        let task = tokio::spawn(async move {
            let server = axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move { shutdown.cancelled_owned().await });
            if let Err(error) = server.await {
                tracing::error!(%error, "HTTP API stopped");
            }
        });
        tracing::info!(%local_address, "HTTP API listening");
        Ok(HttpServer {
            local_address,
            task,
        })
    }

    pub fn local_address(&self) -> SocketAddr {
        self.local_address
    }

    /// Waits (after the shutdown token was cancelled) for requests in flight
    /// to finish, at most `grace`.
    pub async fn stopped(self, grace: std::time::Duration) {
        let abort = self.task.abort_handle();
        if tokio::time::timeout(grace, self.task).await.is_err() {
            tracing::warn!("HTTP requests still running at shutdown were cut off");
            abort.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_parsed_and_compared() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert!(constant_time_equal(b"abc", b"abc"));
        assert!(!constant_time_equal(b"abd", b"abc"));
        assert!(!constant_time_equal(b"ab", b"abc"));
        assert!(!constant_time_equal(b"abcd", b"abc"));
        assert!(!constant_time_equal(b"", b"abc"));
    }
}
