//! Calls the engine places: INVITE through a trunk, ring with a timeout
//! (then CANCEL), and on answer the same conversation an inbound call has.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use std::time::Instant;

use chrono::{DateTime, Utc};
use tokio::net::UdpSocket;
use tracing::{debug, info, warn};

use super::media::{MediaEvent, MediaSession};
use super::{converse, negotiate_body, new_call_id, new_reference, CallEngine, Conversation};
use crate::dialer::outcome_for_final_status;
use crate::dialplan::{CallInfo, Dialplan};
use crate::media::amd::{AmdConfig, AmdResult, AnsweringMachineDetector, Verdict};
use crate::pii::Masked;
use crate::sip::{DialProgress, DialRequest, SipServer, TrunkCredential};
use crate::sip::{Leg, LegEvent};
use crate::store::CallEvent;
use crate::store::{CallEnd, NewCall};

/// One call to place.
#[derive(Debug, Clone)]
pub struct OriginateRequest {
    /// Where the INVITE goes, e.g. `sip:+15551234567@trunk.example.com:5060`.
    pub target: String,
    /// The number called, for the call log.
    pub number: String,
    /// Caller ID (user part of our From).
    pub caller_id: String,
    pub credential: Option<TrunkCredential>,
    /// The dialplan run when the call is answered.
    pub plan_name: String,
    /// Extra starting variables for the dialplan.
    pub variables: BTreeMap<String, String>,
    /// CANCEL after ringing this long without an answer.
    pub ring_timeout: Duration,
    /// Answering-machine detection on answer, if wanted.
    pub amd: Option<AmdOptions>,
    pub headers: Vec<(String, String)>,
    /// Agent-backed campaigns: a person who answers goes to agents.
    pub agents: Option<AgentConnect>,
}

/// How an answered call reaches an agent (agent-backed campaigns).
#[derive(Debug, Clone)]
pub struct AgentConnect {
    /// From [`CallEngine::agent_dialplan`]: the queue, then the safe-harbor
    /// message when no agent takes the call in time.
    pub plan: Arc<Dialplan>,
    /// How long the person may wait for an agent (2 s).
    pub within: Duration,
    /// Record the agent call in stereo.
    pub record: bool,
    /// Settled when an agent takes the call.
    pub pending: Arc<super::PendingAgent>,
}

/// What to do about answering machines.
#[derive(Debug, Clone)]
pub struct AmdOptions {
    pub config: AmdConfig,
    /// Dialplan to run after a machine's beep (a message); `None` hangs up.
    pub machine_plan: Option<String>,
    /// How long to wait for the beep before leaving the message anyway.
    pub beep_wait: Duration,
}

/// What happened to one placed call.
#[derive(Debug, Clone)]
pub struct AttemptReport {
    /// Our call log id.
    pub id: String,
    pub sip_call_id: String,
    /// The INVITE's final status (200 when answered; 487 after our CANCEL;
    /// 0 when it could not be sent at all).
    pub final_status: u16,
    pub started_at: DateTime<Utc>,
    pub ringing_at: Option<DateTime<Utc>>,
    pub answered_at: Option<DateTime<Utc>>,
    /// The call log row's final state: outcome label, path, digits, variables.
    pub end: CallEnd,
    /// The answering-machine detector's result, when it ran.
    pub amd: Option<AmdResult>,
}

impl CallEngine {
    /// Places one call and runs it to its end. Never panics on network
    /// trouble: every way it can go wrong ends in the report.
    pub async fn originate(&self, sip: &SipServer, request: OriginateRequest) -> AttemptReport {
        let engine = &self.shared;
        engine
            .active
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let _active = super::ActiveGuard(engine.active.clone());
        let id = new_call_id();
        let sip_call_id = format!("{}@switchboard", new_call_id());
        let started_at = Utc::now();
        let mut report = AttemptReport {
            id: id.clone(),
            sip_call_id: sip_call_id.clone(),
            final_status: 0,
            started_at,
            ringing_at: None,
            answered_at: None,
            end: CallEnd::default(),
            amd: None,
        };
        let unanswered = |report: &mut AttemptReport, status: u16, cause: &str| {
            report.final_status = status;
            report.end = CallEnd {
                ended_at: Utc::now(),
                hangup_by: "system".into(),
                hangup_cause: cause.to_string(),
                sip_status: (status != 0).then_some(status),
                outcome: Some(outcome_for_final_status(status).as_str().to_string()),
                ..CallEnd::default()
            };
            engine.call_log.call_ended(&report.id, report.end.clone());
        };

        engine.call_log.call_started(NewCall {
            id: id.clone(),
            sip_call_id: sip_call_id.clone(),
            direction: "outbound",
            caller: request.caller_id.clone(),
            called: request.number.clone(),
            dialplan: Some(request.plan_name.clone()).filter(|name| !name.is_empty()),
            started_at,
        });
        // An agent-backed campaign does not run its dialplan (people go to
        // agents; machines to the machine plan): it need not name one.
        let plan = match (&request.agents, engine.plans.get(&request.plan_name)) {
            (Some(agents), _) => agents.plan.clone(),
            (None, Some(plan)) => plan,
            (None, None) => {
                unanswered(&mut report, 0, "dialplan_missing");
                return report;
            }
        };
        let Some(super::LocalOffer {
            socket,
            local_port,
            session_id,
            sdp: offer,
        }) = engine.local_offer().await
        else {
            warn!("no free RTP port for an outbound call");
            unanswered(&mut report, 0, "no_media_port");
            return report;
        };
        let mut call = match sip.dial(DialRequest {
            target: request.target.clone(),
            caller_id: request.caller_id.clone(),
            display_name: None,
            sdp_offer: offer,
            credential: request.credential.clone(),
            headers: request.headers.clone(),
            call_id: Some(sip_call_id),
        }) {
            Ok(call) => call,
            Err(error) => {
                warn!(%error, "could not send the INVITE");
                unanswered(&mut report, 0, &format!("dial_failed: {error}"));
                return report;
            }
        };
        info!(id = %id, number = %Masked(&request.number), plan = %request.plan_name, "dialling");

        // Ring until answered, refused, timed out or shut down.
        let ring_timeout = tokio::time::sleep(request.ring_timeout);
        tokio::pin!(ring_timeout);
        let mut cancelled = false;
        let mut stopping = false;
        // After our CANCEL the trunk owes a final response; if it never comes
        // (RFC 3261 §9.1 and Timer C), give up after 64*T1 rather than hold
        // the attempt forever.
        let give_up = tokio::time::sleep(Duration::from_secs(3600));
        tokio::pin!(give_up);
        let answer = loop {
            tokio::select! {
                progress = call.next() => match progress {
                    DialProgress::Ringing { status, early_media } => {
                        debug!(status, early_media = early_media.is_some(), "ringing");
                        report.ringing_at.get_or_insert_with(Utc::now);
                    }
                    DialProgress::Answered { sdp } => break sdp,
                    DialProgress::Failed { status, reason } => {
                        let cause = match (stopping, cancelled) {
                            (true, _) => "shutdown".to_string(),
                            (false, true) => "ring_timeout".to_string(),
                            (false, false) => reason,
                        };
                        info!(id = %id, status, %cause, "not answered");
                        unanswered(&mut report, status, &cause);
                        return report;
                    }
                },
                _ = &mut ring_timeout, if !cancelled => {
                    cancelled = true;
                    give_up.as_mut().reset(tokio::time::Instant::now() + Duration::from_secs(32));
                    if let Err(error) = call.cancel().await {
                        warn!(%error, "CANCEL failed");
                    }
                }
                _ = engine.shutdown.cancelled(), if !cancelled => {
                    cancelled = true;
                    stopping = true;
                    give_up.as_mut().reset(tokio::time::Instant::now() + Duration::from_secs(32));
                    call.cancel().await.ok();
                }
                _ = &mut give_up, if cancelled => {
                    warn!(id = %id, "no final response after our CANCEL; giving up on the attempt");
                    let cause = if stopping { "shutdown" } else { "ring_timeout" };
                    unanswered(&mut report, 408, cause);
                    return report;
                }
            }
        };

        let answered_at = Utc::now();
        report.answered_at = Some(answered_at);
        report.final_status = 200;
        engine.call_log.call_answered(&id, answered_at);
        let mut leg = call.into_leg();
        let negotiated = match negotiate_body(&answer) {
            Ok(negotiated) => negotiated,
            Err((_, reason)) => {
                // RFC 3264 §6: an answer we cannot use ends the call.
                warn!(%reason, "unusable SDP answer; hanging up");
                leg.hangup().await.ok();
                finish_answered(
                    engine,
                    &mut report,
                    "engine",
                    &format!("bad SDP answer: {reason}"),
                    "failed",
                );
                return report;
            }
        };
        let mut media = MediaSession::new(socket.clone(), &negotiated, Instant::now());
        let mut plan = plan;
        let mut for_a_machine = false;
        if let Some(amd) = &request.amd {
            media.detect_machine(AnsweringMachineDetector::new(amd.config.clone()));
            let limit = Duration::from_millis(u64::from(amd.config.total_analysis_ms) + 300);
            let result = match listen(
                &mut media,
                &mut leg,
                &socket,
                limit,
                &engine.shutdown,
                Listen::ForMachine,
            )
            .await
            {
                Heard::Machine(result) => result,
                Heard::Beep | Heard::Nothing => media
                    .finish_machine_detection()
                    .unwrap_or_else(|| AnsweringMachineDetector::new(amd.config.clone()).finish()),
                Heard::HungUp => {
                    finish_answered(engine, &mut report, "caller", "BYE", "caller_hangup");
                    return report;
                }
                Heard::Shutdown => {
                    finish_answered(engine, &mut report, "system", "shutdown", "interrupted");
                    return report;
                }
            };
            let detail = format!(
                "{:?} ({:.2}): {}",
                result.verdict,
                result.confidence,
                result.reasons.join("; ")
            );
            info!(id = %id, verdict = ?result.verdict, confidence = result.confidence, "answering-machine detection");
            engine.call_log.event(
                &id,
                CallEvent {
                    at: Utc::now(),
                    kind: "amd".into(),
                    node: None,
                    detail,
                },
            );
            let machine = result.verdict == Verdict::Machine;
            report.amd = Some(result);
            if machine {
                let Some(machine_plan) = amd
                    .machine_plan
                    .as_ref()
                    .and_then(|name| engine.plans.get(name))
                else {
                    leg.hangup().await.ok();
                    finish_answered(
                        engine,
                        &mut report,
                        "engine",
                        "answering_machine",
                        "machine",
                    );
                    return report;
                };
                // Leave the message after the beep (or when no beep comes in time).
                media.watch_for_beep();
                match listen(
                    &mut media,
                    &mut leg,
                    &socket,
                    amd.beep_wait,
                    &engine.shutdown,
                    Listen::ForBeep,
                )
                .await
                {
                    Heard::HungUp => {
                        finish_answered(engine, &mut report, "caller", "BYE", "machine");
                        return report;
                    }
                    Heard::Shutdown => {
                        finish_answered(engine, &mut report, "system", "shutdown", "interrupted");
                        return report;
                    }
                    _ => {}
                }
                media.stop_watching_for_beep();
                plan = machine_plan;
                for_a_machine = true;
            }
        }
        // A person (or no detection): straight to an agent, or the
        // safe-harbor message when none takes the call in time.
        let mut queue_options = super::queue_wait::WaitOptions::default();
        if let (Some(agents), false) = (&request.agents, for_a_machine) {
            plan = agents.plan.clone();
            agents.pending.person_answered();
            // The limit runs from the end of the person's greeting; the
            // detector said "human" only after this much silence after it.
            let heard_silence = request.amd.as_ref().map_or(Duration::ZERO, |amd| {
                Duration::from_millis(u64::from(amd.config.after_greeting_silence_ms))
            });
            queue_options = super::queue_wait::WaitOptions {
                max_wait: Some(agents.within.saturating_sub(heard_silence)),
                record: agents.record,
                offer_callback: false,
                on_connect: Some(agents.pending.clone()),
            };
        }
        report.end = converse(
            engine,
            Conversation {
                id: id.clone(),
                leg,
                socket,
                local_port,
                session_id,
                session_version: 1,
                current: negotiated,
                waiting_for_answer: false,
                plan,
                info: CallInfo {
                    call_id: report.sip_call_id.clone(),
                    caller: request.caller_id.clone(),
                    called: request.number.clone(),
                    reference: new_reference(),
                },
                variables: request.variables.clone(),
                remote_number: request.number.clone(),
                media: Some(media),
                answered_at,
                queue_options,
            },
        )
        .await;
        report
    }
}

/// Ends an answered call that never reached its dialplan.
fn finish_answered(
    engine: &super::CallEngineShared,
    report: &mut AttemptReport,
    by: &str,
    cause: &str,
    outcome: &str,
) {
    report.end = CallEnd {
        ended_at: Utc::now(),
        answered_at: report.answered_at,
        hangup_by: by.into(),
        hangup_cause: cause.into(),
        sip_status: Some(200),
        outcome: Some(outcome.into()),
        ..CallEnd::default()
    };
    engine.call_log.call_ended(&report.id, report.end.clone());
}

enum Listen {
    ForMachine,
    ForBeep,
}

enum Heard {
    Machine(AmdResult),
    Beep,
    Nothing,
    HungUp,
    /// The engine is stopping: we hung up.
    Shutdown,
}

/// Listens to the callee for up to `limit` (sending silence, so the media
/// path stays open) until the detector asked for decides.
async fn listen(
    media: &mut MediaSession,
    leg: &mut Leg,
    socket: &UdpSocket,
    limit: Duration,
    shutdown: &tokio_util::sync::CancellationToken,
    what: Listen,
) -> Heard {
    let deadline = tokio::time::Instant::now() + limit;
    let mut ticker = tokio::time::interval(Duration::from_millis(20));
    let mut buffer = vec![0u8; 2048];
    let mut events = Vec::new();
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                media.on_tick(Instant::now()).await;
                if tokio::time::Instant::now() >= deadline {
                    return Heard::Nothing;
                }
            }
            received = socket.recv_from(&mut buffer) => {
                let Ok((length, source)) = received else { continue };
                events.clear();
                media.on_datagram(&buffer[..length], source, Instant::now(), &mut events);
                for event in events.drain(..) {
                    match (event, &what) {
                        (MediaEvent::MachineDetected(result), Listen::ForMachine) => return Heard::Machine(result),
                        (MediaEvent::BeepEnded, Listen::ForBeep) => return Heard::Beep,
                        _ => {}
                    }
                }
            }
            event = leg.next_event() => match event {
                Some(LegEvent::RemoteHangup | LegEvent::Cancelled | LegEvent::Failed(_)) | None => return Heard::HungUp,
                Some(LegEvent::Info { responder, .. }) => responder.respond(200, None, None).await,
                Some(LegEvent::Reoffer { responder, .. }) => responder.respond(491, None, None).await,
                Some(LegEvent::Other { responder, .. }) => responder.respond(200, None, None).await,
                Some(LegEvent::Refer { responder, .. }) => responder.respond(501, None, None).await,
                Some(LegEvent::Confirmed { .. }) => {}
            },
            _ = shutdown.cancelled() => {
                // Bounded: an unanswered BYE must not outlast the shutdown grace.
                tokio::time::timeout(Duration::from_secs(2), leg.hangup()).await.ok();
                return Heard::Shutdown;
            }
        }
    }
}
