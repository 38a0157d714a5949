//! A call's life: INVITE → ring → answer → dialplan with media → hang up, and
//! the call log written along the way. One task per call; it owns the SIP leg,
//! the media session and the dialplan session, and performs the dialplan's
//! actions (the dialplan itself never does I/O).

mod agent_accounts;
mod agents;
mod bridge;
mod browser;
pub mod browser_agents;
mod consult;
pub mod media;
mod originate;
mod queue_wait;
mod talk;

pub use agent_accounts::{load_stored_agents, AccountError, AgentChange, Deletion, NewAgent};
pub use agents::{AgentDesk, DeskEvent, DeskSnapshot, Presence};

pub use originate::{AgentConnect, AmdOptions, AttemptReport, OriginateRequest};

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::Utc;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn, Instrument};

use crate::dialplan::{
    Action, CallInfo, Dialplan, Event, PromptRef, RecordingEndReason, Session, TransferTarget,
};
use crate::media::prompts::{Prompt, PromptLibrary};
use crate::media::recorder::RecordingStop;
use crate::media::sdp::{self, Direction, LocalMediaConfig, Negotiated};
use crate::pii::Masked;
use crate::plans::PlanRegistry;
use crate::sip::{CallHandler, IncomingInvite, InviteRejection, Leg, LegEvent, PreparedCall};
use crate::store::{CallEnd, CallEvent, CallLog, CallProgress, NewCall};
use media::{MediaEvent, MediaSession};

/// Settings a call needs, fixed at start.
#[derive(Debug, Clone)]
pub struct CallSettings {
    pub advertised_address: IpAddr,
    pub rtp_bind_address: IpAddr,
    pub rtp_port_min: u16,
    pub rtp_port_max: u16,
    pub media_timeout: Duration,
    pub answer_delay: Duration,
    pub recordings_dir: PathBuf,
    pub routes: BTreeMap<String, String>,
    /// Base URL of the REST API (`http://127.0.0.1:8080`), for links in
    /// agents' screen pops.
    pub api_base: Option<String>,
}

/// Accepts or refuses new INVITEs and runs accepted calls.
pub struct CallEngine {
    shared: Arc<CallEngineShared>,
}

impl CallEngine {
    pub fn new(
        settings: CallSettings,
        plans: Arc<PlanRegistry>,
        prompts: Arc<PromptLibrary>,
        call_log: CallLog,
        shutdown: CancellationToken,
    ) -> CallEngine {
        // Start at a random even port, as Asterisk does: a restarted engine
        // (or a second one on the host) does not take back the ports just
        // closed, which a far end may still be sending to.
        let (min, max) = (
            u32::from(settings.rtp_port_min),
            u32::from(settings.rtp_port_max),
        );
        let offset = 2 * (rand::random::<u32>() % ((max - min.min(max)) / 2 + 1));
        // Out of range (an odd minimum at the very top) wraps in bind_rtp_socket.
        let first_port = u16::try_from(min + (min % 2) + offset).unwrap_or(0);
        CallEngine {
            shared: Arc::new(CallEngineShared {
                settings,
                plans,
                prompts,
                call_log,
                http: reqwest::Client::builder()
                    .user_agent(concat!("Switchboard/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .unwrap_or_default(),
                active: Arc::new(AtomicUsize::new(0)),
                shutdown,
                opt_out: std::sync::OnceLock::new(),
                desk: std::sync::OnceLock::new(),
                next_port: AtomicU16::new(first_port),
                replaceable: consult::Replaceable::default(),
            }),
        }
    }

    /// Sets what happens when a caller opts out (once; later calls are ignored).
    pub fn on_opt_out(&self, handler: OptOutHandler) {
        self.shared.opt_out.set(handler).ok();
    }

    /// Calls in progress.
    pub fn active_calls(&self) -> usize {
        self.shared.active.load(Ordering::Relaxed)
    }

    /// Connects agent queues (once; later calls are ignored).
    pub(crate) fn set_desk(&self, desk: agents::DeskHandle) {
        self.shared.desk.set(desk).ok();
    }

    pub(crate) fn shared(&self) -> Arc<CallEngineShared> {
        self.shared.clone()
    }

    async fn bind_rtp_socket(&self) -> Option<UdpSocket> {
        self.shared.bind_rtp_socket().await
    }
}

/// One campaign call that has no agent yet (dialling, ringing, or answered
/// and waiting): counted in the campaign's `waiting` until it gets an agent
/// or ends, whichever comes first, exactly once; and, while a person has
/// answered and waits, in `answered`.
#[derive(Debug)]
pub struct PendingAgent {
    waiting: Arc<std::sync::atomic::AtomicU32>,
    answered: Arc<std::sync::atomic::AtomicU32>,
    /// 0 dialling, 1 answered and waiting, 2 settled.
    stage: std::sync::atomic::AtomicU8,
}

impl PendingAgent {
    pub fn new(
        waiting: Arc<std::sync::atomic::AtomicU32>,
        answered: Arc<std::sync::atomic::AtomicU32>,
    ) -> Arc<PendingAgent> {
        waiting.fetch_add(1, Ordering::SeqCst);
        Arc::new(PendingAgent {
            waiting,
            answered,
            stage: std::sync::atomic::AtomicU8::new(0),
        })
    }

    /// A person answered and now waits for an agent.
    pub fn person_answered(&self) {
        if self
            .stage
            .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            self.answered.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// The call got its agent, or ended.
    pub fn settle(&self) {
        match self.stage.swap(2, Ordering::SeqCst) {
            0 => {
                self.waiting.fetch_sub(1, Ordering::SeqCst);
            }
            1 => {
                self.waiting.fetch_sub(1, Ordering::SeqCst);
                self.answered.fetch_sub(1, Ordering::SeqCst);
            }
            _ => {}
        }
    }

    /// Whether an agent took the call (or it ended).
    pub fn is_settled(&self) -> bool {
        self.stage.load(Ordering::SeqCst) == 2
    }
}

impl Drop for PendingAgent {
    fn drop(&mut self) {
        self.settle();
    }
}

impl CallEngine {
    /// The dialplan an agent-backed campaign's answered calls run: wait in
    /// `queue` for at most the connect limit, else hear `safe_harbor` and
    /// hang up (outcome `abandoned`). Checked when the campaign starts, so a
    /// missing queue or prompt pauses the campaign with the reason.
    pub fn agent_dialplan(&self, queue: &str, safe_harbor: &str) -> Result<Arc<Dialplan>, String> {
        let Some(desk) = self.shared.desk.get() else {
            return Err("agent queues are not configured ([[queues]] in the config)".into());
        };
        if desk.queue(queue).is_none() {
            return Err(format!("no agent queue is named '{queue}'"));
        }
        let quoted = |text: &str| toml::Value::String(text.to_string()).to_string();
        let text = format!(
            r#"[dialplan]
name = "campaign_agents"
start = "agent"
[nodes.agent]
type = "transfer"
queue = {queue}
on_failure = "safe_harbor"
on_timeout = "safe_harbor"
[nodes.safe_harbor]
type = "hangup"
prompts = [{prompt}]
outcome = "abandoned"
"#,
            queue = quoted(queue),
            prompt = quoted(safe_harbor),
        );
        crate::dialplan::parse_and_validate(
            "campaign agents",
            &text,
            &crate::plans::LoadingCatalog(&self.shared.prompts),
        )
        .map(Arc::new)
        .map_err(|errors| {
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        })
    }
}

/// A bound RTP socket and the SDP offer advertising it, for a call we place.
pub(crate) struct LocalOffer {
    pub socket: Arc<UdpSocket>,
    pub local_port: u16,
    pub session_id: u64,
    pub sdp: String,
}

impl CallEngineShared {
    /// Binds an RTP port and builds our offer for an outbound INVITE
    /// (session version 1); `None` when no port is free.
    pub(crate) async fn local_offer(&self) -> Option<LocalOffer> {
        let socket = Arc::new(self.bind_rtp_socket().await?);
        let local_port = socket.local_addr().map(|a| a.port()).unwrap_or(0);
        let session_id: u64 = rand::random::<u32>().into();
        let sdp = sdp::build_offer(
            &LocalMediaConfig::default(),
            self.settings.advertised_address,
            local_port,
            session_id,
            1,
            Direction::SendRecv,
        );
        Some(LocalOffer {
            socket,
            local_port,
            session_id,
            sdp,
        })
    }

    /// Binds an even RTP port in the configured range (RFC 3550 §11: RTP on
    /// even ports). The kernel tells us which are free; no bookkeeping.
    pub(crate) async fn bind_rtp_socket(&self) -> Option<UdpSocket> {
        let settings = &self.settings;
        let (min, max) = (settings.rtp_port_min, settings.rtp_port_max);
        let slots = (u32::from(max) - u32::from(min)) / 2 + 1;
        for _ in 0..slots.min(4096) {
            let mut port = self.next_port.fetch_add(2, Ordering::Relaxed);
            if port < min || port > max.saturating_sub(1).max(min) {
                port = min.saturating_add(min % 2);
                self.next_port
                    .store(port.wrapping_add(2), Ordering::Relaxed);
            }
            if let Ok(socket) =
                UdpSocket::bind(SocketAddr::new(settings.rtp_bind_address, port)).await
            {
                return Some(socket);
            }
        }
        None
    }
}

/// Accepts an SDP offer (or, for a delayed offer, the answer in the ACK):
/// the status to refuse it with and why, when it cannot be used.
fn negotiate_body(body: &[u8]) -> Result<Negotiated, (u16, String)> {
    let text = std::str::from_utf8(body).map_err(|_| (400, "SDP is not UTF-8".to_string()))?;
    let offer = sdp::parse(text).map_err(|error| (400, format!("Malformed SDP: {error}")))?;
    sdp::negotiate(&offer, &LocalMediaConfig::default())
        .map_err(|error| (error.sip_status(), error.to_string()))
}

/// Media state before a delayed offer's answer arrives: nothing to send to.
fn awaiting_answer() -> Negotiated {
    Negotiated {
        codec: crate::media::g711::Codec::Pcmu,
        payload_type: 0,
        telephone_event_payload_type: None,
        remote_address: None,
        remote_port: 0,
        direction: Direction::SendRecv,
        ptime_ms: 20,
        media_index: 0,
        rejected_media: vec![None],
    }
}

struct Prepared {
    invite: IncomingInvite,
    plan_name: String,
    /// `None` for a delayed offer.
    negotiated: Option<Negotiated>,
    socket: UdpSocket,
    engine: Arc<CallEngineShared>,
}

/// What a running call needs from the engine (cheap to share).
pub(crate) struct CallEngineShared {
    settings: CallSettings,
    plans: Arc<PlanRegistry>,
    prompts: Arc<PromptLibrary>,
    call_log: CallLog,
    http: reqwest::Client,
    active: Arc<AtomicUsize>,
    shutdown: CancellationToken,
    opt_out: std::sync::OnceLock<OptOutHandler>,
    desk: std::sync::OnceLock<agents::DeskHandle>,
    next_port: AtomicU16,
    /// Bridged calls a phone's attended transfer may take over.
    replaceable: consult::Replaceable,
}

/// Called with the other party's E.164 number the moment a call reaches a
/// hangup node whose outcome is `opted_out` ("press 9 to stop these calls").
pub type OptOutHandler = Arc<dyn Fn(&str) + Send + Sync>;

/// The dialplan outcome that means "never call me again".
pub const OPT_OUT_OUTCOME: &str = "opted_out";

#[async_trait]
impl CallHandler for CallEngine {
    async fn prepare(
        &self,
        invite: &IncomingInvite,
    ) -> Result<Box<dyn PreparedCall>, InviteRejection> {
        let shared = &self.shared;
        if shared.shutdown.is_cancelled() {
            return Err(InviteRejection::new(503, "Shutting Down"));
        }
        let Some(plan_name) = crate::config::route(&shared.settings.routes, &invite.called) else {
            return Err(InviteRejection::new(404, "No dialplan for this number"));
        };
        if shared.plans.get(plan_name).is_none() {
            return Err(InviteRejection::new(503, "Dialplan not loaded"));
        }
        // No body: a delayed offer (RFC 3261 §13.2.1). We offer in our 200 and
        // the caller answers in its ACK.
        let negotiated = if invite.body.is_empty() {
            None
        } else {
            match invite.content_type.as_deref() {
                Some(kind) if kind.starts_with("application/sdp") => {}
                _ => return Err(InviteRejection::new(415, "Only application/sdp bodies")),
            }
            Some(
                negotiate_body(&invite.body)
                    .map_err(|(status, reason)| InviteRejection::new(status, reason))?,
            )
        };
        let Some(socket) = self.bind_rtp_socket().await else {
            warn!("no free RTP port in the configured range");
            return Err(InviteRejection::new(503, "No media port available"));
        };
        Ok(Box::new(Prepared {
            invite: invite.clone(),
            plan_name: plan_name.to_string(),
            negotiated,
            socket,
            engine: shared.clone(),
        }))
    }
}

impl PreparedCall for Prepared {
    fn start(self: Box<Self>, leg: Leg) {
        let span = tracing::info_span!("call", call_id = %self.invite.call_id);
        tokio::spawn(run_call(*self, leg).instrument(span));
    }
}

fn new_call_id() -> String {
    format!(
        "{:016x}{:016x}",
        rand::random::<u64>(),
        rand::random::<u64>()
    )
}

/// A short reference number a caller can read back (e.g. for a complaint).
fn new_reference() -> String {
    format!("{:06}", rand::random::<u32>() % 1_000_000)
}

/// How the call ended, collected as it goes.
struct Ending {
    hangup_by: &'static str,
    cause: String,
}

async fn run_call(prepared: Prepared, mut leg: Leg) {
    let Prepared {
        invite,
        plan_name,
        negotiated,
        socket,
        engine,
    } = prepared;
    engine.active.fetch_add(1, Ordering::Relaxed);
    let _active = ActiveGuard(engine.active.clone());
    let id = new_call_id();
    let started_at = Utc::now();
    engine.call_log.call_started(NewCall {
        id: id.clone(),
        sip_call_id: invite.call_id.clone(),
        direction: "inbound",
        caller: invite.caller.clone(),
        called: invite.called.clone(),
        dialplan: Some(plan_name.clone()),
        started_at,
    });
    info!(id = %id, caller = %Masked(&invite.caller), called = %Masked(&invite.called), dialplan = %plan_name, "incoming call");

    let Some(plan) = engine.plans.get(&plan_name) else {
        // The plan vanished between prepare and start (a reload removed it).
        leg.reject(503, "Dialplan not loaded").ok();
        end_unanswered(&engine, &id, "engine", "dialplan_missing", 503);
        return;
    };

    // Ring, then answer (after the configured delay, if any).
    leg.ringing().ok();
    if !engine.settings.answer_delay.is_zero() {
        let delay = tokio::time::sleep(engine.settings.answer_delay);
        tokio::pin!(delay);
        loop {
            tokio::select! {
                _ = &mut delay => break,
                event = leg.next_event() => match event {
                    Some(LegEvent::Cancelled) | None => {
                        end_unanswered(&engine, &id, "caller", "CANCEL", 487);
                        return;
                    }
                    Some(LegEvent::Failed(reason)) => {
                        end_unanswered(&engine, &id, "system", &reason, 0);
                        return;
                    }
                    Some(other) => refuse_in_early_dialog(other).await,
                },
                _ = engine.shutdown.cancelled() => {
                    leg.reject(503, "Shutting Down").ok();
                    end_unanswered(&engine, &id, "system", "shutdown", 503);
                    return;
                }
            }
        }
    }

    let session_id: u64 = rand::random::<u32>().into();
    let session_version: u64 = 1;
    let socket = Arc::new(socket);
    let local_port = socket.local_addr().map(|a| a.port()).unwrap_or(0);
    let waiting_for_answer = negotiated.is_none();
    let current = negotiated.unwrap_or_else(awaiting_answer);
    let our_sdp = if waiting_for_answer {
        sdp::build_offer(
            &LocalMediaConfig::default(),
            engine.settings.advertised_address,
            local_port,
            session_id,
            session_version,
            Direction::SendRecv,
        )
    } else {
        sdp::build_answer(
            &current,
            engine.settings.advertised_address,
            local_port,
            session_id,
            session_version,
            Direction::SendRecv,
        )
    };
    if let Err(error) = leg.answer(&our_sdp) {
        warn!(%error, "could not answer");
        end_unanswered(&engine, &id, "system", "answer_failed", 500);
        return;
    }
    let answered_at = Utc::now();
    engine.call_log.call_answered(&id, answered_at);
    debug!(codec = ?current.codec, rtp_port = local_port, delayed_offer = waiting_for_answer, "answered");

    converse(
        &engine,
        Conversation {
            id,
            leg,
            socket,
            local_port,
            session_id,
            session_version,
            current,
            waiting_for_answer,
            plan,
            info: CallInfo {
                call_id: invite.call_id.clone(),
                caller: invite.caller.clone(),
                called: invite.called.clone(),
                reference: new_reference(),
            },
            variables: BTreeMap::new(),
            remote_number: invite.caller.clone(),
            media: None,
            answered_at,
            queue_options: queue_wait::WaitOptions::default(),
        },
    )
    .await;
}

/// An answered call, ready for its dialplan.
pub(crate) struct Conversation {
    pub id: String,
    pub leg: Leg,
    pub socket: Arc<UdpSocket>,
    pub local_port: u16,
    pub session_id: u64,
    pub session_version: u64,
    /// The negotiated media (a placeholder while a delayed offer's answer is due).
    pub current: Negotiated,
    pub waiting_for_answer: bool,
    pub plan: Arc<Dialplan>,
    pub info: CallInfo,
    /// Extra starting variables for the dialplan (a lead's list columns).
    pub variables: BTreeMap<String, String>,
    /// The other party's number (the caller inbound, the callee outbound).
    pub remote_number: String,
    /// The media session, when one already runs (after answering-machine
    /// detection); otherwise the conversation starts one.
    pub media: Option<MediaSession>,
    pub answered_at: chrono::DateTime<Utc>,
    /// How a queue node's wait goes (campaign calls: 2 s, then abandoned).
    pub queue_options: queue_wait::WaitOptions,
}

/// Everything after answer, for calls in both directions: media, the
/// dialplan, in-dialog SIP, and the call's final log row.
async fn converse(engine: &CallEngineShared, conversation: Conversation) -> CallEnd {
    let Conversation {
        id,
        mut leg,
        socket,
        local_port,
        session_id,
        mut session_version,
        mut current,
        mut waiting_for_answer,
        plan,
        info,
        variables,
        remote_number,
        media,
        answered_at,
        mut queue_options,
    } = conversation;
    let now = Instant::now();
    let mut media = media.unwrap_or_else(|| MediaSession::new(socket.clone(), &current, now));
    let mut session = Session::with_variables(plan.clone(), info, &variables, Utc::now());
    let (http_sender, mut http_results) = mpsc::channel(4);
    let mut ticker = tokio::time::interval(Duration::from_millis(20));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut buffer = vec![0u8; 2048];
    let mut media_events = Vec::new();
    let mut recording_path: Option<String> = None;
    let mut ending: Option<Ending> = None;
    let mut progress_marker = (0usize, 0usize, 0usize);

    let mut driver = Driver {
        engine,
        id: &id,
        plan: &plan,
        remote_number: &remote_number,
        media: &mut media,
        http_sender: &http_sender,
        recording_path: &mut recording_path,
        queue_request: None,
    };
    driver.perform_all(&leg, &mut session, &mut ending).await;

    while ending.is_none() {
        if let Some(queue) = driver.queue_request.take() {
            let caller = queue_wait::Caller {
                id: &id,
                leg: &mut leg,
                media: &mut *driver.media,
                socket: &socket,
                current: &mut current,
                local_port,
                session_id,
                session_version: &mut session_version,
                number: &remote_number,
            };
            let log = |kind: &str, detail: &str| {
                engine.call_log.event(
                    &id,
                    CallEvent {
                        at: Utc::now(),
                        kind: kind.to_string(),
                        node: None,
                        detail: detail.to_string(),
                    },
                )
            };
            match queue_wait::wait_in_queue(engine, caller, &queue, &session, &log, &queue_options)
                .await
            {
                queue_wait::WaitEnd::Outcome(outcome) => {
                    session.handle_event(Event::QueueResult(outcome), Utc::now());
                    driver.perform_all(&leg, &mut session, &mut ending).await;
                }
                queue_wait::WaitEnd::Transferred { queue } => {
                    // The person has talked to an agent: a campaign call's
                    // 2-second limit is over.
                    queue_options.max_wait = None;
                    queue_options.on_connect = None;
                    driver.queue_request = Some(queue);
                }
                queue_wait::WaitEnd::Over {
                    ending: over,
                    outcome,
                    recording,
                } => {
                    let event = outcome.map_or(Event::CallerHangup, Event::QueueResult);
                    session.handle_event(event, Utc::now());
                    if recording.is_some() {
                        *driver.recording_path = recording;
                    }
                    ending = Some(over);
                    let mut ignore = None;
                    driver.perform_all(&leg, &mut session, &mut ignore).await;
                }
            }
            continue;
        }
        let deadline = session.poll_timeout().map(|at| {
            let wait = (at - Utc::now()).to_std().unwrap_or_default();
            tokio::time::Instant::now() + wait
        });
        let sleep_until = async {
            match deadline {
                Some(deadline) => tokio::time::sleep_until(deadline).await,
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = ticker.tick() => {
                let now = Instant::now();
                let event = driver.media.on_tick(now).await;
                if let Some(event) = event {
                    driver.on_media_event(event, &mut session).await;
                }
                if driver.media.expects_media()
                    && now.duration_since(driver.media.last_packet_at) > engine.settings.media_timeout
                {
                    info!(timeout_s = engine.settings.media_timeout.as_secs(), "no RTP from the caller; hanging up");
                    leg.hangup().await.ok();
                    session.handle_event(Event::CallerHangup, Utc::now());
                    ending = Some(Ending { hangup_by: "engine", cause: "media_timeout".into() });
                }
            }
            received = socket.recv_from(&mut buffer) => {
                if let Ok((length, source)) = received {
                    media_events.clear();
                    driver.media.on_datagram(&buffer[..length], source, Instant::now(), &mut media_events);
                    for event in media_events.drain(..) {
                        driver.on_media_event(event, &mut session).await;
                    }
                }
            }
            event = leg.next_event() => {
                match event {
                    Some(LegEvent::Confirmed { body }) if waiting_for_answer => {
                        waiting_for_answer = false;
                        match negotiate_body(&body) {
                            Ok(answer) => {
                                debug!(codec = ?answer.codec, "SDP answer in ACK");
                                driver.media.apply_offer(&answer, Instant::now());
                                current = answer;
                            }
                            Err((_, reason)) => {
                                // RFC 3261 §13.2.1: an ACK without a usable answer
                                // ends the session.
                                warn!(%reason, "ACK carried no usable SDP answer; hanging up");
                                leg.hangup().await.ok();
                                session.handle_event(Event::CallerHangup, Utc::now());
                                ending = Some(Ending { hangup_by: "engine", cause: format!("no SDP answer in ACK: {reason}") });
                            }
                        }
                    }
                    Some(LegEvent::Confirmed { .. }) => debug!("ACK received"),
                    Some(LegEvent::RemoteHangup) => {
                        session.handle_event(Event::CallerHangup, Utc::now());
                        ending = Some(Ending { hangup_by: "caller", cause: "BYE".into() });
                    }
                    Some(LegEvent::Cancelled) => {
                        session.handle_event(Event::CallerHangup, Utc::now());
                        ending = Some(Ending { hangup_by: "caller", cause: "CANCEL".into() });
                    }
                    Some(LegEvent::Failed(reason)) => {
                        session.handle_event(Event::CallerHangup, Utc::now());
                        ending = Some(Ending { hangup_by: "system", cause: reason });
                    }
                    Some(LegEvent::Info { content_type, body, responder }) => {
                        match dtmf_from_info(&content_type, &body) {
                            InfoDigit::Digit(digit) => {
                                responder.respond(200, None, None).await;
                                driver.digit(digit, "sip_info", &mut session);
                            }
                            InfoDigit::NotDtmf => responder.respond(415, None, None).await,
                            InfoDigit::Malformed => responder.respond(400, None, None).await,
                        }
                    }
                    Some(LegEvent::Reoffer { body, responder }) => {
                        let mut side = MediaSide { media: driver.media, current: &mut current, local_port, session_id, session_version: &mut session_version };
                        if let Some(hold) = side.reoffer(engine, &body, responder).await {
                            driver.log_event("hold", None, if hold { "on hold" } else { "resumed" });
                        }
                    }
                    // Callers cannot transfer themselves.
                    Some(LegEvent::Refer { responder, .. }) => responder.respond(501, None, None).await,
                    Some(LegEvent::Other { method, responder }) => {
                        let status = match method.as_str() {
                            "OPTIONS" | "NOTIFY" => 200,
                            _ => 501,
                        };
                        responder.respond(status, None, None).await;
                    }
                    None => {
                        session.handle_event(Event::CallerHangup, Utc::now());
                        ending = Some(Ending { hangup_by: "system", cause: "dialog_gone".into() });
                    }
                }
            }
            _ = sleep_until => {
                session.handle_timeout(Utc::now());
            }
            Some(result) = http_results.recv() => {
                session.handle_event(Event::HttpResponse(result), Utc::now());
            }
            _ = engine.shutdown.cancelled() => {
                info!("engine shutting down; hanging up");
                // Bounded: a BYE nobody answers (32 s of retransmissions) must
                // not outlast the shutdown grace and lose the call's record.
                tokio::time::timeout(Duration::from_secs(2), leg.hangup()).await.ok();
                session.handle_event(Event::CallerHangup, Utc::now());
                ending = Some(Ending { hangup_by: "system", cause: "shutdown".into() });
            }
        }
        if ending.is_none() {
            driver.perform_all(&leg, &mut session, &mut ending).await;
        } else {
            // Log whatever the session said on its way out.
            let mut ignore = None;
            driver.perform_all(&leg, &mut session, &mut ignore).await;
        }
        let marker = (
            session.path().len(),
            session.digits().len(),
            session.variables().len(),
        );
        if marker != progress_marker {
            progress_marker = marker;
            engine.call_log.progress(
                &id,
                CallProgress {
                    path: session.path().to_vec(),
                    digits: session.digits().to_string(),
                    variables: session.variables().clone(),
                    recording_path: driver.recording_path.clone(),
                },
            );
        }
    }

    if let Some((path, Err(error))) = driver.media.stop_recording() {
        warn!(path = %path.display(), %error, "recording could not be finished");
    }
    let ending = ending.unwrap_or(Ending {
        hangup_by: "system",
        cause: "unknown".into(),
    });
    let outcome = session.outcome().map(str::to_string);
    info!(
        id = %id,
        hangup_by = ending.hangup_by,
        cause = %ending.cause,
        outcome = outcome.as_deref().unwrap_or("-"),
        path = %session.path().join(">"),
        rtp_sent = driver.media.packets_sent,
        rtp_received = driver.media.packets_received,
        rtp_dropped = driver.media.packets_dropped,
        "call ended"
    );
    let end = CallEnd {
        ended_at: Utc::now(),
        answered_at: Some(answered_at),
        hangup_by: ending.hangup_by.to_string(),
        hangup_cause: ending.cause,
        sip_status: Some(200),
        outcome,
        path: session.path().to_vec(),
        digits: session.digits().to_string(),
        variables: session.variables().clone(),
        recording_path: driver.recording_path.clone(),
    };
    engine.call_log.call_ended(&id, end.clone());
    end
}

/// One side's media and SDP state, for answering its re-INVITEs.
pub(crate) struct MediaSide<'a> {
    pub media: &'a mut MediaSession,
    pub current: &'a mut Negotiated,
    pub local_port: u16,
    pub session_id: u64,
    pub session_version: &'a mut u64,
}

impl MediaSide<'_> {
    /// Answers a re-INVITE (hold, resume, new address or codec). Returns the
    /// new hold state when the offer was taken.
    pub async fn reoffer(
        &mut self,
        engine: &CallEngineShared,
        body: &[u8],
        responder: crate::sip::Responder,
    ) -> Option<bool> {
        let outcome = (!body.iter().all(u8::is_ascii_whitespace)).then(|| negotiate_body(body));
        let address = engine.settings.advertised_address;
        match outcome {
            Some(Ok(renegotiated)) => {
                self.media.apply_offer(&renegotiated, Instant::now());
                *self.session_version += 1;
                let answer = sdp::build_answer(
                    &renegotiated,
                    address,
                    self.local_port,
                    self.session_id,
                    *self.session_version,
                    Direction::SendRecv,
                );
                *self.current = renegotiated;
                info!(hold = self.media.on_hold(), "re-INVITE accepted");
                responder
                    .respond(200, Some("application/sdp"), Some(answer.into_bytes()))
                    .await;
                Some(self.media.on_hold())
            }
            Some(Err((status, reason))) => {
                info!(status, %reason, "re-INVITE refused; call continues");
                responder.respond(status, None, None).await;
                None
            }
            None => {
                // No offer: answer with our current session (RFC 3264 §8).
                let answer = sdp::build_answer(
                    self.current,
                    address,
                    self.local_port,
                    self.session_id,
                    *self.session_version,
                    Direction::SendRecv,
                );
                responder
                    .respond(200, Some("application/sdp"), Some(answer.into_bytes()))
                    .await;
                None
            }
        }
    }
}

struct ActiveGuard(Arc<AtomicUsize>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn end_unanswered(engine: &CallEngineShared, id: &str, by: &'static str, cause: &str, status: u16) {
    info!(
        id,
        hangup_by = by,
        cause,
        status,
        "call ended before answer"
    );
    engine.call_log.call_ended(
        id,
        CallEnd {
            ended_at: Utc::now(),
            answered_at: None,
            hangup_by: by.to_string(),
            hangup_cause: cause.to_string(),
            sip_status: (status != 0).then_some(status),
            outcome: Some(
                if cause == "CANCEL" {
                    "cancelled"
                } else {
                    "failed"
                }
                .to_string(),
            ),
            ..CallEnd::default()
        },
    );
}

/// In-dialog requests before we answer: none is useful then.
async fn refuse_in_early_dialog(event: LegEvent) {
    match event {
        LegEvent::Info { responder, .. } | LegEvent::Reoffer { responder, .. } => {
            responder.respond(491, None, None).await
        }
        LegEvent::Other { responder, .. } => responder.respond(200, None, None).await,
        LegEvent::Refer { responder, .. } => responder.respond(501, None, None).await,
        _ => {}
    }
}

enum InfoDigit {
    Digit(char),
    NotDtmf,
    Malformed,
}

/// DTMF carried in SIP INFO: `application/dtmf-relay` ("Signal=5\r\nDuration=160")
/// or `application/dtmf` ("5"). Some phones send 10/11 for * and #.
fn dtmf_from_info(content_type: &str, body: &[u8]) -> InfoDigit {
    let Ok(text) = std::str::from_utf8(body) else {
        return InfoDigit::Malformed;
    };
    let signal = if content_type.starts_with("application/dtmf-relay") {
        text.lines().find_map(|line| {
            let (key, value) = line.split_once('=')?;
            key.trim()
                .eq_ignore_ascii_case("signal")
                .then(|| value.trim())
        })
    } else if content_type.starts_with("application/dtmf") {
        Some(text.trim())
    } else {
        return InfoDigit::NotDtmf;
    };
    match signal {
        Some("10") => InfoDigit::Digit('*'),
        Some("11") => InfoDigit::Digit('#'),
        Some(value) if value.chars().count() == 1 => {
            let digit = value.chars().next().unwrap_or(' ').to_ascii_uppercase();
            if digit.is_ascii_digit() || "*#ABCD".contains(digit) {
                InfoDigit::Digit(digit)
            } else {
                InfoDigit::Malformed
            }
        }
        _ => InfoDigit::Malformed,
    }
}

/// Performs dialplan actions for one call.
struct Driver<'a> {
    engine: &'a CallEngineShared,
    id: &'a str,
    plan: &'a Dialplan,
    /// The other party's number (the caller inbound, the callee outbound).
    remote_number: &'a str,
    media: &'a mut MediaSession,
    http_sender: &'a mpsc::Sender<Result<BTreeMap<String, String>, String>>,
    recording_path: &'a mut Option<String>,
    /// A queue the dialplan sent the call to; the call loop waits in it.
    queue_request: Option<String>,
}

impl Driver<'_> {
    fn log_event(&self, kind: &str, node: Option<&str>, detail: &str) {
        self.engine.call_log.event(
            self.id,
            CallEvent {
                at: Utc::now(),
                kind: kind.to_string(),
                node: node.map(str::to_string),
                detail: detail.to_string(),
            },
        );
    }

    /// An opt-out counts the moment the caller reaches the opt-out node, not
    /// when the goodbye prompt ends: nothing may dial the number meanwhile.
    fn opt_out_if_asked(&self, node: &str) {
        let Some(crate::dialplan::Node::Hangup(hangup)) = self.plan.node(node) else {
            return;
        };
        let number = self.remote_number;
        let is_e164 = number.len() > 4
            && number.starts_with('+')
            && number[1..].bytes().all(|b| b.is_ascii_digit());
        if hangup.outcome != OPT_OUT_OUTCOME || !is_e164 {
            return;
        }
        if let Some(handler) = self.engine.opt_out.get() {
            handler(number);
            self.log_event(
                "opt_out",
                Some(node),
                "number added to the do-not-call list",
            );
        }
    }

    fn digit(&mut self, digit: char, source: &str, session: &mut Session) {
        debug!(%digit, source, "digit");
        session.handle_event(Event::Digit(digit), Utc::now());
    }

    async fn on_media_event(&mut self, event: MediaEvent, session: &mut Session) {
        match event {
            MediaEvent::Digit(digit) => self.digit(digit, "rtp", session),
            MediaEvent::PlaybackFinished => {
                session.handle_event(Event::PlaybackFinished, Utc::now())
            }
            // Only the answering-machine phase of an outbound call asks for these.
            MediaEvent::MachineDetected(_) | MediaEvent::BeepEnded => {}
            MediaEvent::RecordingStopped(stop) => {
                let reason = match stop {
                    RecordingStop::Silence => RecordingEndReason::Silence,
                    RecordingStop::MaxLength => RecordingEndReason::MaxLength,
                };
                self.finish_recording(reason, session);
            }
        }
    }

    fn finish_recording(&mut self, reason: RecordingEndReason, session: &mut Session) {
        if let Some((path, result)) = self.media.stop_recording() {
            let duration_ms = match result {
                Ok(duration) => duration,
                Err(error) => {
                    warn!(path = %path.display(), %error, "recording could not be finished");
                    0
                }
            };
            let path_text = path.display().to_string();
            *self.recording_path = Some(path_text.clone());
            session.handle_event(
                Event::RecordingFinished {
                    path: path_text,
                    duration_ms,
                    reason,
                },
                Utc::now(),
            );
        }
    }

    fn resolve_prompts(&self, prompts: &[PromptRef]) -> Vec<Arc<Prompt>> {
        prompts
            .iter()
            .filter_map(
                |prompt| match self.engine.prompts.get(&prompt.language, &prompt.name) {
                    Ok(loaded) => Some(loaded),
                    Err(error) => {
                        // Validated plans only miss prompts named by templates;
                        // skip the prompt rather than drop the call.
                        warn!(%error, "prompt not played");
                        None
                    }
                },
            )
            .collect()
    }

    /// Performs every action the session has queued.
    async fn perform_all(&mut self, leg: &Leg, session: &mut Session, ending: &mut Option<Ending>) {
        // Bounded: a session emits a handful of actions per event.
        for _ in 0..10_000 {
            let Some(action) = session.poll_action() else {
                return;
            };
            match action {
                Action::Play { prompts } => {
                    let loaded = self.resolve_prompts(&prompts);
                    for prompt in &prompts {
                        self.log_event(
                            "prompt",
                            None,
                            &format!("{}/{}", prompt.language, prompt.name),
                        );
                    }
                    if loaded.is_empty() {
                        session.handle_event(Event::PlaybackFinished, Utc::now());
                    } else {
                        self.media.play(loaded);
                    }
                }
                Action::StopPlayback => self.media.stop_playback(),
                Action::StartRecording {
                    path,
                    max_seconds,
                    silence_seconds,
                } => {
                    let full_path = recording_path(&self.engine.settings.recordings_dir, &path);
                    match self.media.start_recording(
                        full_path.clone(),
                        max_seconds,
                        silence_seconds,
                        Instant::now(),
                    ) {
                        Ok(()) => self.log_event(
                            "record",
                            None,
                            &format!("started {}", full_path.display()),
                        ),
                        Err(error) => {
                            warn!(path = %full_path.display(), %error, "cannot record");
                            session.handle_event(
                                Event::RecordingFinished {
                                    path: String::new(),
                                    duration_ms: 0,
                                    reason: RecordingEndReason::MaxLength,
                                },
                                Utc::now(),
                            );
                        }
                    }
                }
                Action::StopRecording => self.finish_recording(RecordingEndReason::Digit, session),
                Action::HttpRequest {
                    method,
                    url,
                    body,
                    timeout_ms,
                } => {
                    self.log_event("http", None, &format!("{method} {}", redact_query(&url)));
                    let client = self.engine.http.clone();
                    let sender = self.http_sender.clone();
                    tokio::spawn(async move {
                        let result = http_lookup(&client, &method, &url, body, timeout_ms).await;
                        sender.send(result).await.ok();
                    });
                }
                Action::Transfer { target } => {
                    let result = match &target {
                        TransferTarget::Sip(uri) => {
                            self.log_event("transfer", None, &format!("REFER to {uri}"));
                            match leg.refer(uri).await {
                                Ok(status) if (200..300).contains(&status) => {
                                    Event::TransferResult {
                                        connected: true,
                                        reason: format!("REFER accepted ({status})"),
                                    }
                                }
                                Ok(status) => Event::TransferResult {
                                    connected: false,
                                    reason: format!("REFER refused ({status})"),
                                },
                                Err(error) => Event::TransferResult {
                                    connected: false,
                                    reason: error.to_string(),
                                },
                            }
                        }
                        TransferTarget::Queue(queue) => {
                            self.log_event("transfer", None, &format!("queue {queue}"));
                            self.queue_request = Some(queue.clone());
                            continue;
                        }
                    };
                    let connected = matches!(
                        result,
                        Event::TransferResult {
                            connected: true,
                            ..
                        }
                    );
                    session.handle_event(result, Utc::now());
                    if connected {
                        // The caller's phone now calls the target itself
                        // (RFC 3515); our leg is done.
                        leg.hangup().await.ok();
                        *ending = Some(Ending {
                            hangup_by: "engine",
                            cause: "transferred".into(),
                        });
                    }
                }
                Action::Hangup { outcome } => {
                    self.log_event("hangup", None, &outcome);
                    leg.hangup().await.ok();
                    if ending.is_none() {
                        *ending = Some(Ending {
                            hangup_by: "engine",
                            cause: "BYE".into(),
                        });
                    }
                }
                Action::Log(entry) => {
                    self.log_event(entry.kind.as_str(), Some(&entry.node), &entry.detail);
                    if entry.kind.as_str() == "node" {
                        self.opt_out_if_asked(&entry.node);
                    }
                }
            }
        }
        warn!("dialplan produced too many actions at once; hanging up");
        leg.hangup().await.ok();
        *ending = Some(Ending {
            hangup_by: "engine",
            cause: "dialplan_runaway".into(),
        });
    }
}

/// Joins a dialplan-supplied relative path under the recordings folder,
/// refusing anything that would climb out of it.
fn recording_path(root: &Path, relative: &str) -> PathBuf {
    let clean: PathBuf = Path::new(relative)
        .components()
        .filter_map(|component| match component {
            Component::Normal(part) => Some(part),
            _ => None,
        })
        .collect();
    if clean.as_os_str().is_empty() {
        return root.join(format!("{}.wav", new_call_id()));
    }
    root.join(clean)
}

/// Query strings may carry caller data; keep them out of logs.
fn redact_query(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

async fn http_lookup(
    client: &reqwest::Client,
    method: &str,
    url: &str,
    body: Option<String>,
    timeout_ms: u64,
) -> Result<BTreeMap<String, String>, String> {
    let request = match method {
        "POST" => client
            .post(url)
            .header("Content-Type", "application/json")
            .body(body.unwrap_or_else(|| "{}".into())),
        _ => client.get(url),
    };
    let response = request
        .timeout(Duration::from_millis(timeout_ms.max(1)))
        .send()
        .await
        .map_err(|error| {
            if error.is_timeout() {
                "timeout".to_string()
            } else {
                format!("request failed: {error}")
            }
        })?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("HTTP {}", status.as_u16()));
    }
    // Lookups answer small JSON objects; refuse anything huge, while reading
    // (a server that streams forever must not fill our memory).
    const LIMIT: usize = 256 * 1024;
    if response
        .content_length()
        .is_some_and(|length| length > LIMIT as u64)
    {
        return Err("response larger than 256 KiB".into());
    }
    let mut response = response;
    let mut bytes = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| format!("reading body: {error}"))?
    {
        if bytes.len() + chunk.len() > LIMIT {
            return Err("response larger than 256 KiB".into());
        }
        bytes.extend_from_slice(&chunk);
    }
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|error| format!("not JSON: {error}"))?;
    let serde_json::Value::Object(fields) = value else {
        return Err("JSON response is not an object".into());
    };
    Ok(fields
        .into_iter()
        .map(|(key, value)| {
            let text = match value {
                serde_json::Value::String(text) => text,
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            };
            (key, text)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_digits() {
        assert!(matches!(
            dtmf_from_info("application/dtmf-relay", b"Signal=5\r\nDuration=160\r\n"),
            InfoDigit::Digit('5')
        ));
        assert!(matches!(
            dtmf_from_info("application/dtmf-relay", b"Signal= 11\r\n"),
            InfoDigit::Digit('#')
        ));
        assert!(matches!(
            dtmf_from_info("application/dtmf", b"*"),
            InfoDigit::Digit('*')
        ));
        assert!(matches!(
            dtmf_from_info("text/plain", b"5"),
            InfoDigit::NotDtmf
        ));
        assert!(matches!(
            dtmf_from_info("application/dtmf", b"55"),
            InfoDigit::Malformed
        ));
    }

    #[test]
    fn recording_paths_stay_inside_the_folder() {
        let root = Path::new("/var/rec");
        assert_eq!(
            recording_path(root, "../../etc/passwd"),
            PathBuf::from("/var/rec/etc/passwd")
        );
        assert_eq!(
            recording_path(root, "/abs/x.wav"),
            PathBuf::from("/var/rec/abs/x.wav")
        );
    }
}
