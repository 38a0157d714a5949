//! The agent page: a softphone in the browser. `GET /agent` serves the page;
//! `GET /api/agent/socket` is its WebSocket, which logs the agent in and
//! carries offers, state changes, the WebRTC offer and answer, and the
//! disposition form. The messages are defined in
//! [`crate::call::browser_agents`]; this file only moves them.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::connect_info::ConnectInfo;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use axum::Extension;
use tracing::{debug, info};

use super::error::AppError;
use super::ApiState;
use crate::call::browser_agents::{BrowserAgents, FromPage, ToPage};

/// A page that says nothing for this long (not even a pong) is logged out.
const SILENT_LIMIT: Duration = Duration::from_secs(45);
const PING_EVERY: Duration = Duration::from_secs(15);
const LOGIN_WITHIN: Duration = Duration::from_secs(60);
const SEND_WITHIN: Duration = Duration::from_secs(10);

/// `GET /agent`: the page.
pub async fn page() -> Response {
    (
        [
            (axum::http::header::CACHE_CONTROL, "no-store"),
            (
                axum::http::header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'",
            ),
        ],
        Html(include_str!("agent_page.html")),
    )
        .into_response()
}

/// `GET /api/agent/socket`: the page's WebSocket.
pub async fn socket(
    State(state): State<ApiState>,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, AppError> {
    let desk = state.desk.get().ok_or_else(|| {
        AppError::Unavailable("agent queues are not running in this process".into())
    })?;
    let browsers = desk.browsers();
    let source = connect
        .map(|Extension(ConnectInfo(address))| address.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    Ok(upgrade
        .max_message_size(256 * 1024)
        .on_upgrade(move |socket| run(socket, browsers, source)))
}

/// Sends one message; false when the page is gone or stopped reading (a
/// page that takes over 10 s to take a message is treated as gone).
async fn send(socket: &mut WebSocket, message: &ToPage) -> bool {
    let Ok(text) = serde_json::to_string(message) else {
        return false;
    };
    matches!(
        tokio::time::timeout(SEND_WITHIN, socket.send(Message::Text(text.into()))).await,
        Ok(Ok(()))
    )
}

/// The first message must be a login.
async fn login_message(socket: &mut WebSocket) -> Option<(String, String)> {
    loop {
        match socket.recv().await? {
            Ok(Message::Text(text)) => {
                return match serde_json::from_str::<FromPage>(&text) {
                    Ok(FromPage::Login { agent, password }) => Some((agent, password)),
                    _ => None,
                }
            }
            Ok(Message::Ping(_) | Message::Pong(_)) => continue,
            _ => return None,
        }
    }
}

async fn run(mut socket: WebSocket, browsers: Arc<BrowserAgents>, source: IpAddr) {
    let Ok(Some((agent, password))) =
        tokio::time::timeout(LOGIN_WITHIN, login_message(&mut socket)).await
    else {
        send(
            &mut socket,
            &ToPage::Error {
                message: "log in first: {\"type\":\"login\",\"agent\":...,\"password\":...}".into(),
            },
        )
        .await;
        return;
    };
    let (session, mut to_page) = match browsers.login(&agent, &password, source) {
        Ok(logged_in) => logged_in,
        Err(error) => {
            send(
                &mut socket,
                &ToPage::Error {
                    message: error.to_string(),
                },
            )
            .await;
            return;
        }
    };
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();
    loop {
        tokio::select! {
            message = socket.recv() => match message {
                Some(Ok(Message::Text(text))) => {
                    last_heard = Instant::now();
                    match serde_json::from_str::<FromPage>(&text) {
                        Ok(message) => browsers.from_page(&session, message),
                        Err(error) => {
                            debug!(%error, "agent page sent a message we do not understand");
                            if !send(&mut socket, &ToPage::Error { message: format!("message not understood: {error}") }).await {
                                break;
                            }
                        }
                    }
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => last_heard = Instant::now(),
            },
            message = to_page.recv() => match message {
                Some(message) => {
                    let last = message == ToPage::Replaced;
                    if !send(&mut socket, &message).await || last {
                        break;
                    }
                }
                None => break,
            },
            _ = ping.tick() => {
                if last_heard.elapsed() > SILENT_LIMIT {
                    info!(agent = %session.agent, "agent page silent for 45 s; logging out");
                    break;
                }
                let pinged = tokio::time::timeout(SEND_WITHIN, socket.send(Message::Ping(Vec::new().into()))).await;
                if !matches!(pinged, Ok(Ok(()))) {
                    break;
                }
            }
            _ = session.closed.cancelled() => {
                // Say why (replaced by another page) before closing.
                while let Ok(message) = to_page.try_recv() {
                    send(&mut socket, &message).await;
                }
                break;
            }
        }
    }
    browsers.logout(&session);
    socket.send(Message::Close(None)).await.ok();
}
