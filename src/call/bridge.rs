//! Two answered legs talking to each other: each side's RTP is decoded and
//! re-sent to the other side in that side's codec (so a PCMU caller and a
//! PCMA agent hear each other), with each side's own sequence numbers,
//! timestamps and SSRC. Either side hanging up ends both. A stereo recording
//! (caller left, agent right) is written when asked for.
//!
//! The agent is on a SIP phone (RTP, like the caller) or on the agent page
//! (WebRTC, see [`super::browser`]); the bridge moves decoded audio either way.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::{debug, info, warn};

use super::agents::{DeskHandle, Transfer};
use super::browser::PageControl;
use super::browser_agents::BrowserCall;
use super::media::{MediaSession, FRAME_SAMPLES};
use super::{CallEngineShared, MediaSide};
use crate::media::prompts::Prompt;
use crate::media::recorder::StereoRecorder;
use crate::media::sdp::Negotiated;
use crate::sip::{Leg, LegEvent};

/// One answered leg with its media.
pub(crate) struct Party {
    pub leg: Leg,
    pub media: MediaSession,
    pub current: Negotiated,
    pub local_port: u16,
    pub session_id: u64,
    pub session_version: u64,
}

impl Party {
    pub fn as_mut(&mut self) -> PartyMut<'_> {
        PartyMut {
            leg: &mut self.leg,
            media: &mut self.media,
            current: &mut self.current,
            local_port: self.local_port,
            session_id: self.session_id,
            session_version: &mut self.session_version,
        }
    }
}

/// An agent's answered leg: a SIP phone or the agent page.
pub(crate) enum AgentLeg {
    Phone(Box<Party>),
    Browser(BrowserCall),
}

impl AgentLeg {
    /// Hangs up (bounded); for the page, also tells it the call ended.
    pub async fn hang_up(&self, cause: &str) {
        match self {
            AgentLeg::Phone(party) => {
                tokio::time::timeout(Duration::from_secs(2), party.leg.hangup())
                    .await
                    .ok();
            }
            AgentLeg::Browser(call) => call.end(cause).await,
        }
    }

    /// Hangs up in the background.
    pub fn hang_up_later(self, cause: &'static str) {
        tokio::spawn(async move { self.hang_up(cause).await });
    }
}

/// A leg and its media, borrowed from whoever owns them (the caller's task
/// owns the caller's).
pub(crate) struct PartyMut<'a> {
    pub leg: &'a mut Leg,
    pub media: &'a mut MediaSession,
    pub current: &'a mut Negotiated,
    pub local_port: u16,
    pub session_id: u64,
    pub session_version: &'a mut u64,
}

/// Which side ended the bridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Caller,
    Agent,
}

/// How a bridge ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BridgeEnd {
    /// `None` when the engine ended it (shutdown, media timeout).
    pub hung_up_by: Option<Side>,
    pub cause: String,
    /// The stereo recording, when one was made.
    pub recording: Option<String>,
    pub talk_time: Duration,
    /// Where the agent sent the caller (the agent's leg is gone, the
    /// caller's is not).
    pub transfer: Option<Transfer>,
}

/// How a bridge behaves.
#[derive(Default)]
pub(crate) struct BridgeOptions<'a> {
    /// Stereo WAV (caller left, agent right).
    pub recording: Option<PathBuf>,
    /// Played to the caller while the agent holds the call.
    pub music: Vec<Arc<Prompt>>,
    /// When set, the agent may transfer the caller (REFER from a phone, the
    /// page's transfer button) to what this desk knows.
    pub transfers: Option<&'a DeskHandle>,
}

/// What woke the bridge up.
enum Input {
    CallerRtp(usize, SocketAddr),
    AgentRtp(usize, SocketAddr),
    AgentAudio(Vec<i16>),
    CallerEvent(Option<LegEvent>),
    AgentEvent(Option<LegEvent>),
    AgentEnded(String),
    AgentControl(PageControl),
    Tick,
    Shutdown,
    Nothing,
}

/// The agent side's next input.
async fn agent_input(agent: &mut AgentLeg, buffer: &mut [u8]) -> Input {
    match agent {
        AgentLeg::Phone(party) => {
            let socket = party.media.socket();
            tokio::select! {
                received = socket.recv_from(buffer) => match received {
                    Ok((length, source)) => Input::AgentRtp(length, source),
                    Err(_) => Input::Nothing,
                },
                event = party.leg.next_event() => Input::AgentEvent(event),
            }
        }
        AgentLeg::Browser(call) => match call.leg.next_frame().await {
            super::browser::BrowserInput::Audio(frame) => Input::AgentAudio(frame),
            super::browser::BrowserInput::Ended(cause) => Input::AgentEnded(cause),
            super::browser::BrowserInput::Control(control) => Input::AgentControl(control),
        },
    }
}

/// Resolves when the agent's leg ends (hang-up, page closed, media failed);
/// in-dialog requests meanwhile are answered. For waiting on the agent while
/// something else happens (a callback's customer ringing).
pub(crate) async fn agent_left(agent: &mut AgentLeg) {
    match agent {
        AgentLeg::Phone(party) => loop {
            match party.leg.next_event().await {
                Some(LegEvent::RemoteHangup | LegEvent::Cancelled | LegEvent::Failed(_)) | None => {
                    return
                }
                Some(LegEvent::Confirmed { .. }) => {}
                Some(LegEvent::Info { responder, .. } | LegEvent::Other { responder, .. }) => {
                    responder.respond(200, None, None).await
                }
                Some(LegEvent::Reoffer { responder, .. }) => {
                    responder.respond(491, None, None).await
                }
                Some(LegEvent::Refer { responder, .. }) => responder.respond(403, None, None).await,
            }
        },
        AgentLeg::Browser(call) => call.leg.ended().await,
    }
}

/// Relays media between `caller` and `agent` until one hangs up (the other
/// is then hung up too), the media stops, or the engine shuts down.
pub(crate) async fn bridge(
    engine: &CallEngineShared,
    mut caller: PartyMut<'_>,
    agent: &mut AgentLeg,
    options: BridgeOptions<'_>,
) -> BridgeEnd {
    let BridgeOptions {
        recording,
        music,
        transfers,
    } = options;
    let started = Instant::now();
    let mut transfer: Option<Transfer> = None;
    // The page's hold button (a phone holds with a re-INVITE instead).
    let mut page_hold = false;
    let mut was_held = false;
    caller.media.start_relay();
    match agent {
        AgentLeg::Phone(party) => party.media.start_relay(),
        AgentLeg::Browser(call) => call.leg.start_bridge(),
    }
    let mut recorder = recording.and_then(|path| match StereoRecorder::create(&path) {
        Ok(recorder) => Some(recorder),
        Err(error) => {
            warn!(path = %path.display(), %error, "cannot record the bridged call; continuing without");
            None
        }
    });
    let caller_socket = caller.media.socket();
    let mut caller_buffer = vec![0u8; 2048];
    let mut agent_buffer = vec![0u8; 2048];
    let mut audio = Vec::with_capacity(FRAME_SAMPLES * 2);
    let mut digits = Vec::new();
    let mut ticker = tokio::time::interval(Duration::from_millis(20));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let timeout = engine.settings.media_timeout;

    let (hung_up_by, cause) = loop {
        let input = tokio::select! {
            received = caller_socket.recv_from(&mut caller_buffer) => match received {
                Ok((length, source)) => Input::CallerRtp(length, source),
                Err(_) => Input::Nothing,
            },
            event = caller.leg.next_event() => Input::CallerEvent(event),
            input = agent_input(agent, &mut agent_buffer) => input,
            _ = ticker.tick() => Input::Tick,
            _ = engine.shutdown.cancelled() => Input::Shutdown,
        };
        match input {
            Input::CallerRtp(length, source) => {
                digits.clear();
                caller.media.on_datagram(
                    &caller_buffer[..length],
                    source,
                    Instant::now(),
                    &mut digits,
                );
                caller.media.take_relayed(&mut audio);
                if let Some(recorder) = recorder.as_mut() {
                    recorder.push_left(&audio);
                }
                match agent {
                    AgentLeg::Phone(party) => party.media.send_relayed(&audio).await,
                    AgentLeg::Browser(call) if !page_hold => call.leg.send_audio(&audio).await,
                    AgentLeg::Browser(_) => {}
                }
            }
            Input::AgentRtp(length, source) => {
                if let AgentLeg::Phone(party) = agent {
                    digits.clear();
                    party.media.on_datagram(
                        &agent_buffer[..length],
                        source,
                        Instant::now(),
                        &mut digits,
                    );
                    party.media.take_relayed(&mut audio);
                    if let Some(recorder) = recorder.as_mut() {
                        recorder.push_right(&audio);
                    }
                    caller.media.send_relayed(&audio).await;
                }
            }
            Input::AgentAudio(frame) => {
                if !page_hold {
                    if let Some(recorder) = recorder.as_mut() {
                        recorder.push_right(&frame);
                    }
                    caller.media.send_relayed(&frame).await;
                }
            }
            Input::AgentControl(PageControl::Hold(hold)) => {
                info!(hold, "agent page hold");
                page_hold = hold;
            }
            Input::AgentControl(PageControl::Transfer(target)) => {
                let AgentLeg::Browser(call) = &*agent else {
                    continue;
                };
                match transfers.map(|desk| desk.transfer_target(&target)) {
                    Some(Ok(to)) => {
                        info!(?to, "agent page transfers the caller");
                        transfer = Some(to);
                        break (Some(Side::Agent), "transferred".to_string());
                    }
                    Some(Err(reason)) => call
                        .agents
                        .tell(&call.agent, &format!("transfer refused: {reason}")),
                    None => call
                        .agents
                        .tell(&call.agent, "this call cannot be transferred"),
                }
            }
            Input::CallerEvent(event) => {
                if let Some(cause) = on_leg_event(engine, &mut caller, event).await {
                    break (Some(Side::Caller), cause);
                }
            }
            Input::AgentEvent(Some(LegEvent::Refer { target, responder })) => {
                match transfers.map(|desk| desk.transfer_target(&target)) {
                    Some(Ok(to)) => {
                        info!(?to, "agent phone transfers the caller (REFER)");
                        responder.respond(202, None, None).await;
                        transfer = Some(to);
                        break (Some(Side::Agent), "transferred".to_string());
                    }
                    Some(Err(reason)) => {
                        info!(%reason, "agent's REFER refused");
                        responder.respond(404, None, None).await;
                    }
                    None => responder.respond(403, None, None).await,
                }
            }
            Input::AgentEvent(event) => {
                if let AgentLeg::Phone(party) = agent {
                    if let Some(cause) =
                        on_leg_event(engine, &mut Party::as_mut(party), event).await
                    {
                        break (Some(Side::Agent), cause);
                    }
                }
            }
            Input::AgentEnded(cause) => break (Some(Side::Agent), cause),
            Input::Tick => {
                // The agent holds: the caller hears music.
                let held =
                    page_hold || matches!(&*agent, AgentLeg::Phone(party) if party.media.on_hold());
                if held {
                    if !caller.media.is_playing() {
                        caller.media.play(music.clone());
                    }
                    caller.media.on_tick(Instant::now()).await;
                } else if was_held {
                    caller.media.stop_playback();
                }
                was_held = held;
                if let Some(recorder_ref) = recorder.as_mut() {
                    if let Err(error) = recorder_ref.tick(FRAME_SAMPLES) {
                        warn!(%error, "recording stopped (disk full?); the call goes on");
                        recorder = None;
                    }
                }
                let now = Instant::now();
                let silent = |media: &MediaSession| {
                    media.expects_media() && now.duration_since(media.last_packet_at) > timeout
                };
                // A page may legitimately send nothing (no microphone, muted):
                // its connection's own liveness checks (ICE consent) end a
                // dead one instead.
                let agent_silent = match agent {
                    AgentLeg::Phone(party) => silent(&party.media),
                    AgentLeg::Browser(_) => false,
                };
                if silent(caller.media) || agent_silent {
                    info!(
                        timeout_s = timeout.as_secs(),
                        "no RTP in the bridge; hanging up both sides"
                    );
                    break (None, "media_timeout".to_string());
                }
            }
            Input::Shutdown => break (None, "shutdown".to_string()),
            Input::Nothing => {}
        }
    };
    // Hang up whoever is still there (bounded, as at shutdown).
    async fn hang_up(leg: &Leg) {
        tokio::time::timeout(Duration::from_secs(2), leg.hangup())
            .await
            .ok();
    }
    let agent_cause = match hung_up_by {
        _ if transfer.is_some() => "transferred",
        Some(Side::Caller) => "caller_hangup",
        Some(Side::Agent) => "agent_hangup",
        None => cause.as_str(),
    };
    if was_held {
        caller.media.stop_playback();
    }
    match (hung_up_by, &*agent) {
        // Transferred: the caller stays; the agent's phone is told the
        // transfer went through, then hung up.
        (_, AgentLeg::Phone(party)) if transfer.is_some() => {
            // The 202 goes out through the REFER's server transaction, which
            // can send it after a NOTIFY sent at once; phones expect the 202
            // first (SIPp aborts otherwise), so give it a moment.
            tokio::time::sleep(Duration::from_millis(200)).await;
            party.leg.notify_transfer(200).await;
            hang_up(&party.leg).await;
        }
        (_, leg @ AgentLeg::Browser(_)) if transfer.is_some() => leg.hang_up(agent_cause).await,
        (Some(Side::Agent), AgentLeg::Phone(_)) => hang_up(caller.leg).await,
        (Some(Side::Caller), leg) => leg.hang_up(agent_cause).await,
        // The page is told the call ended, whoever ended it.
        (Some(Side::Agent), leg @ AgentLeg::Browser(_)) => {
            tokio::join!(hang_up(caller.leg), leg.hang_up(agent_cause));
        }
        (None, leg) => {
            tokio::join!(hang_up(caller.leg), leg.hang_up(agent_cause));
        }
    }
    let recording = recorder.and_then(|recorder| {
        let path = recorder.path().display().to_string();
        match recorder.finish() {
            Ok(duration_ms) => {
                debug!(path = %path, duration_ms, "bridge recording written");
                Some(path)
            }
            Err(error) => {
                warn!(path = %path, %error, "bridge recording could not be finished");
                None
            }
        }
    });
    info!(
        ?hung_up_by,
        %cause,
        caller_rtp_in = caller.media.packets_received,
        agent_rtp_in = match &*agent {
            AgentLeg::Phone(party) => party.media.packets_received,
            AgentLeg::Browser(call) => call.leg.counters.packets_in.load(Ordering::Relaxed),
        },
        "bridge ended"
    );
    BridgeEnd {
        hung_up_by,
        cause,
        recording,
        talk_time: started.elapsed(),
        transfer,
    }
}

/// Handles one in-dialog event of a bridged leg; returns the cause when the
/// leg is gone.
async fn on_leg_event(
    engine: &CallEngineShared,
    party: &mut PartyMut<'_>,
    event: Option<LegEvent>,
) -> Option<String> {
    match event {
        Some(LegEvent::RemoteHangup) => Some("BYE".into()),
        Some(LegEvent::Cancelled) => Some("CANCEL".into()),
        Some(LegEvent::Failed(reason)) => Some(reason),
        None => Some("dialog_gone".into()),
        Some(LegEvent::Confirmed { .. }) => None,
        Some(LegEvent::Reoffer { body, responder }) => {
            let mut side = MediaSide {
                media: party.media,
                current: party.current,
                local_port: party.local_port,
                session_id: party.session_id,
                session_version: party.session_version,
            };
            side.reoffer(engine, &body, responder).await;
            None
        }
        // Digits during a conversation are for the people in it.
        Some(LegEvent::Info { responder, .. }) => {
            responder.respond(200, None, None).await;
            None
        }
        // Callers cannot transfer; agents' REFERs are handled by the bridge.
        Some(LegEvent::Refer { responder, .. }) => {
            responder.respond(501, None, None).await;
            None
        }
        Some(LegEvent::Other { method, responder }) => {
            let status = match method.as_str() {
                "OPTIONS" | "NOTIFY" => 200,
                _ => 501,
            };
            responder.respond(status, None, None).await;
            None
        }
    }
}
