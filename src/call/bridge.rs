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
use std::time::{Duration, Instant};

use tracing::{debug, info, warn};

use super::browser_agents::BrowserCall;
use super::media::{MediaSession, FRAME_SAMPLES};
use super::{CallEngineShared, MediaSide};
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
}

/// What woke the bridge up.
enum Input {
    CallerRtp(usize, SocketAddr),
    AgentRtp(usize, SocketAddr),
    AgentAudio(Vec<i16>),
    CallerEvent(Option<LegEvent>),
    AgentEvent(Option<LegEvent>),
    AgentEnded(String),
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
        },
    }
}

/// Relays media between `caller` and `agent` until one hangs up (the other
/// is then hung up too), the media stops, or the engine shuts down.
pub(crate) async fn bridge(
    engine: &CallEngineShared,
    mut caller: PartyMut<'_>,
    agent: &mut AgentLeg,
    recording: Option<PathBuf>,
) -> BridgeEnd {
    let started = Instant::now();
    caller.media.start_relay();
    if let AgentLeg::Phone(party) = agent {
        party.media.start_relay();
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
                    AgentLeg::Browser(call) => call.leg.send_audio(&audio).await,
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
                if let Some(recorder) = recorder.as_mut() {
                    recorder.push_right(&frame);
                }
                caller.media.send_relayed(&frame).await;
            }
            Input::CallerEvent(event) => {
                if let Some(cause) = on_leg_event(engine, &mut caller, event).await {
                    break (Some(Side::Caller), cause);
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
                let agent_silent = match agent {
                    AgentLeg::Phone(party) => silent(&party.media),
                    AgentLeg::Browser(call) => {
                        now.duration_since(call.leg.last_packet_at) > timeout
                    }
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
        Some(Side::Caller) => "caller_hangup",
        Some(Side::Agent) => "agent_hangup",
        None => cause.as_str(),
    };
    match (hung_up_by, &*agent) {
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
