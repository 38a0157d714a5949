//! Two answered legs talking to each other: each side's RTP is decoded and
//! re-sent to the other side in that side's codec (so a PCMU caller and a
//! PCMA agent hear each other), with each side's own sequence numbers,
//! timestamps and SSRC. Either side hanging up ends both. A stereo recording
//! (caller left, agent right) is written when asked for.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tracing::{debug, info, warn};

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

/// Relays media between `caller` and `agent` until one hangs up (the other
/// is then hung up too), the media stops, or the engine shuts down.
pub(crate) async fn bridge(
    engine: &CallEngineShared,
    mut caller: PartyMut<'_>,
    mut agent: PartyMut<'_>,
    recording: Option<PathBuf>,
) -> BridgeEnd {
    let started = Instant::now();
    caller.media.start_relay();
    agent.media.start_relay();
    let mut recorder = recording.and_then(|path| match StereoRecorder::create(&path) {
        Ok(recorder) => Some(recorder),
        Err(error) => {
            warn!(path = %path.display(), %error, "cannot record the bridged call; continuing without");
            None
        }
    });
    let caller_socket = caller.media.socket();
    let agent_socket = agent.media.socket();
    let mut caller_buffer = vec![0u8; 2048];
    let mut agent_buffer = vec![0u8; 2048];
    let mut audio = Vec::with_capacity(FRAME_SAMPLES * 2);
    let mut digits = Vec::new();
    let mut ticker = tokio::time::interval(Duration::from_millis(20));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let timeout = engine.settings.media_timeout;

    let (hung_up_by, cause) = loop {
        tokio::select! {
            received = caller_socket.recv_from(&mut caller_buffer) => {
                if let Ok((length, source)) = received {
                    digits.clear();
                    caller.media.on_datagram(&caller_buffer[..length], source, Instant::now(), &mut digits);
                    caller.media.take_relayed(&mut audio);
                    if let Some(recorder) = recorder.as_mut() {
                        recorder.push_left(&audio);
                    }
                    agent.media.send_relayed(&audio).await;
                }
            }
            received = agent_socket.recv_from(&mut agent_buffer) => {
                if let Ok((length, source)) = received {
                    digits.clear();
                    agent.media.on_datagram(&agent_buffer[..length], source, Instant::now(), &mut digits);
                    agent.media.take_relayed(&mut audio);
                    if let Some(recorder) = recorder.as_mut() {
                        recorder.push_right(&audio);
                    }
                    caller.media.send_relayed(&audio).await;
                }
            }
            event = caller.leg.next_event() => {
                if let Some(cause) = on_leg_event(engine, &mut caller, event).await {
                    break (Some(Side::Caller), cause);
                }
            }
            event = agent.leg.next_event() => {
                if let Some(cause) = on_leg_event(engine, &mut agent, event).await {
                    break (Some(Side::Agent), cause);
                }
            }
            _ = ticker.tick() => {
                if let Some(recorder_ref) = recorder.as_mut() {
                    if let Err(error) = recorder_ref.tick(FRAME_SAMPLES) {
                        warn!(%error, "recording stopped (disk full?); the call goes on");
                        recorder = None;
                    }
                }
                let now = Instant::now();
                let silent = |media: &MediaSession| media.expects_media() && now.duration_since(media.last_packet_at) > timeout;
                if silent(caller.media) || silent(agent.media) {
                    info!(timeout_s = timeout.as_secs(), "no RTP in the bridge; hanging up both sides");
                    break (None, "media_timeout".to_string());
                }
            }
            _ = engine.shutdown.cancelled() => break (None, "shutdown".to_string()),
        }
    };
    // Hang up whoever is still there (bounded, as at shutdown).
    async fn hang_up(leg: &Leg) {
        tokio::time::timeout(Duration::from_secs(2), leg.hangup())
            .await
            .ok();
    }
    match hung_up_by {
        Some(Side::Caller) => hang_up(agent.leg).await,
        Some(Side::Agent) => hang_up(caller.leg).await,
        None => {
            tokio::join!(hang_up(caller.leg), hang_up(agent.leg));
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
        agent_rtp_in = agent.media.packets_received,
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
