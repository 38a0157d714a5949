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

use tokio::sync::mpsc;

use super::agents::{DeskHandle, Transfer};
use super::browser::PageControl;
use super::browser_agents::BrowserCall;
use super::consult::{self, Consult, ConsultContext, ConsultInput, HandOver};
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

impl PartyMut<'_> {
    /// The same borrow, for a shorter while (one bridge of several).
    pub fn reborrow(&mut self) -> PartyMut<'_> {
        PartyMut {
            leg: &mut *self.leg,
            media: &mut *self.media,
            current: &mut *self.current,
            local_port: self.local_port,
            session_id: self.session_id,
            session_version: &mut *self.session_version,
        }
    }
}

/// Which side ended the bridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Caller,
    Agent,
}

/// How a bridge ended.
#[derive(Debug)]
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
    /// Another call asked for this call's agent (a phone's attended
    /// transfer replaces this call's caller side): the caller's leg is hung
    /// up, the agent's is not; send it the agent.
    pub handed_over: Option<HandOver>,
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
    /// Blind transfers may name a queue (not for a callback's customer, who
    /// has no place to wait; a consultation with the queue still works).
    pub queue_transfers: bool,
    /// The agent's id: a phone's REFER with `Replaces` may only take over a
    /// call this agent placed.
    pub agent: Option<&'a str>,
    /// When set, the agent page may consult before transferring.
    pub consult: Option<ConsultContext<'a>>,
    /// Requests from another call for this call's agent.
    pub hand_over: Option<mpsc::UnboundedReceiver<HandOver>>,
}

/// Something one leg did.
pub(crate) enum LegInput {
    Rtp(usize, SocketAddr),
    /// A frame of the page's audio.
    Audio(Vec<i16>),
    Event(Option<LegEvent>),
    /// The page's call ended.
    Ended(String),
    Control(PageControl),
    Nothing,
}

/// What woke the bridge up.
enum Input {
    CallerRtp(usize, SocketAddr),
    CallerEvent(Option<LegEvent>),
    Agent(LegInput),
    Consult(ConsultInput),
    HandOver(Option<HandOver>),
    Tick,
    Shutdown,
    Nothing,
}

/// A leg's next input (RTP or signalling for a phone; audio, controls or
/// the end for the page).
pub(crate) async fn leg_input(leg: &mut AgentLeg, buffer: &mut [u8]) -> LegInput {
    match leg {
        AgentLeg::Phone(party) => {
            let socket = party.media.socket();
            tokio::select! {
                received = socket.recv_from(buffer) => match received {
                    Ok((length, source)) => LegInput::Rtp(length, source),
                    Err(_) => LegInput::Nothing,
                },
                event = party.leg.next_event() => LegInput::Event(event),
            }
        }
        AgentLeg::Browser(call) => match call.leg.next_frame().await {
            super::browser::BrowserInput::Audio(frame) => LegInput::Audio(frame),
            super::browser::BrowserInput::Ended(cause) => LegInput::Ended(cause),
            super::browser::BrowserInput::Control(control) => LegInput::Control(control),
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

/// Sends one frame of decoded audio to a leg (a phone's RTP in its codec,
/// or the page's track).
async fn send_audio(leg: &mut AgentLeg, audio: &[i16]) {
    match leg {
        AgentLeg::Phone(party) => party.media.send_relayed(audio).await,
        AgentLeg::Browser(call) => call.leg.send_audio(audio).await,
    }
}

/// Decodes one RTP datagram of a phone leg into `audio` (DTMF dropped).
fn phone_audio(party: &mut Party, datagram: &[u8], source: SocketAddr, audio: &mut Vec<i16>) {
    // Never someone else's audio: what is left is only this leg's.
    audio.clear();
    let mut digits = Vec::new();
    party
        .media
        .on_datagram(datagram, source, Instant::now(), &mut digits);
    party.media.take_relayed(audio);
}

/// What a blind transfer's target means, when it is allowed.
fn blind_target(
    desk: &DeskHandle,
    target: &str,
    queue_transfers: bool,
) -> Result<Transfer, String> {
    match desk.transfer_target(target)? {
        Transfer::Queue(queue) if !queue_transfers => Err(format!(
            "this call cannot wait in {queue}: consult the queue instead"
        )),
        to => Ok(to),
    }
}

/// Tells the agent's page how a consultation is going.
fn tell_page(agent: &AgentLeg, state: &str, target: &str, detail: Option<String>) {
    if let AgentLeg::Browser(call) = agent {
        call.agents
            .consult_state(&call.agent, state, target, detail.as_deref());
    }
}

/// Relays media between `caller` and `agent` until one hangs up (the other
/// is then hung up too), the media stops, or the engine shuts down. From
/// the agent page, the agent may consult a third party meanwhile (the
/// caller holds) and hand the caller to them.
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
        queue_transfers,
        agent: agent_id,
        consult: consult_context,
        mut hand_over,
    } = options;
    let started = Instant::now();
    let mut transfer: Option<Transfer> = None;
    let mut handed_over: Option<HandOver> = None;
    let mut consult: Option<Consult> = None;
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
    let mut consult_buffer = vec![0u8; 2048];
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
            input = leg_input(agent, &mut agent_buffer) => Input::Agent(input),
            input = consult::next_input(&mut consult, &mut consult_buffer) => Input::Consult(input),
            request = async {
                match hand_over.as_mut() {
                    Some(requests) => requests.recv().await,
                    None => std::future::pending().await,
                }
            } => Input::HandOver(request),
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
                // Held for a consultation: the agent does not hear the caller.
                if consult.is_none() && !(page_hold && matches!(agent, AgentLeg::Browser(_))) {
                    send_audio(agent, &audio).await;
                }
            }
            Input::Agent(LegInput::Rtp(length, source)) => {
                if let AgentLeg::Phone(party) = agent {
                    phone_audio(party, &agent_buffer[..length], source, &mut audio);
                    if let Some(recorder) = recorder.as_mut() {
                        recorder.push_right(&audio);
                    }
                    caller.media.send_relayed(&audio).await;
                }
            }
            Input::Agent(LegInput::Audio(frame)) => {
                if let Some(party) = consult.as_mut().and_then(Consult::party) {
                    // The agent talks to the consulted party, not the caller.
                    send_audio(party, &frame).await;
                } else if consult.is_none() && !page_hold {
                    if let Some(recorder) = recorder.as_mut() {
                        recorder.push_right(&frame);
                    }
                    caller.media.send_relayed(&frame).await;
                }
            }
            Input::Agent(LegInput::Control(PageControl::Hold(hold))) => {
                info!(hold, "agent page hold");
                page_hold = hold;
            }
            Input::Agent(LegInput::Control(PageControl::Transfer(target))) => {
                let AgentLeg::Browser(call) = &*agent else {
                    continue;
                };
                if consult.is_some() {
                    call.agents.tell(
                        &call.agent,
                        "complete or cancel the consultation before a blind transfer",
                    );
                    continue;
                }
                match transfers.map(|desk| blind_target(desk, &target, queue_transfers)) {
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
            Input::Agent(LegInput::Control(PageControl::Consult(target))) => {
                let AgentLeg::Browser(call) = &*agent else {
                    continue;
                };
                if let Some(current) = &consult {
                    call.agents.tell(
                        &call.agent,
                        &format!("already consulting {}", current.target),
                    );
                    continue;
                }
                let Some(context) = consult_context.as_ref() else {
                    call.agents
                        .tell(&call.agent, "this call cannot be transferred");
                    continue;
                };
                match Consult::start(engine, context, &target) {
                    Ok(started) => {
                        info!(target = %started.target, "agent page consults; the caller holds");
                        tell_page(agent, "calling", &started.target, None);
                        consult = Some(started);
                    }
                    Err(reason) => call
                        .agents
                        .tell(&call.agent, &format!("consultation refused: {reason}")),
                }
            }
            Input::Agent(LegInput::Control(PageControl::CancelConsult)) => {
                if let Some(current) = consult.take() {
                    let target = current.target.clone();
                    info!(target = %target, "agent cancels the consultation; back to the caller");
                    current.finish("consult_cancelled");
                    tell_page(agent, "ended", &target, Some("cancelled".into()));
                }
            }
            Input::Agent(LegInput::Control(PageControl::CompleteTransfer)) => {
                let answered = consult.as_mut().map(Consult::take_answered);
                match (answered, &consult) {
                    (Some(Some(attended)), _) => {
                        consult = None;
                        info!(to = %attended.agent, "agent completes the attended transfer");
                        transfer = Some(Transfer::Attended(attended));
                        break (Some(Side::Agent), "transferred".to_string());
                    }
                    (_, Some(pending)) => {
                        if let AgentLeg::Browser(call) = &*agent {
                            call.agents.tell(
                                &call.agent,
                                &format!("{} has not answered yet", pending.target),
                            );
                        }
                    }
                    (_, None) => {
                        if let AgentLeg::Browser(call) = &*agent {
                            call.agents
                                .tell(&call.agent, "there is no consultation to complete");
                        }
                    }
                }
            }
            Input::CallerEvent(event) => {
                if let Some(cause) = on_leg_event(engine, &mut caller, event).await {
                    break (Some(Side::Caller), cause);
                }
            }
            Input::Agent(LegInput::Event(Some(LegEvent::Refer { target, responder }))) => {
                if let Some(replaced) = crate::sip::replaces_call_id(&target) {
                    // Attended transfer from the phone: the caller takes the
                    // place of the phone in its second call.
                    let taken = match agent_id {
                        Some(agent_id) => engine.replaceable.take(&replaced, agent_id).await,
                        None => Err("this call cannot be transferred".to_string()),
                    };
                    match taken {
                        Ok(attended) => {
                            info!(to = %attended.agent, "agent phone completes an attended transfer (REFER with Replaces)");
                            responder.respond(202, None, None).await;
                            transfer = Some(Transfer::Attended(Box::new(attended)));
                            break (Some(Side::Agent), "transferred".to_string());
                        }
                        Err(reason) => {
                            // Not 481: inside the phone's dialog with the
                            // caller that would say this dialog is gone.
                            info!(%reason, "agent's attended transfer refused");
                            responder.respond(603, None, None).await;
                        }
                    }
                    continue;
                }
                match transfers.map(|desk| blind_target(desk, &target, queue_transfers)) {
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
            Input::Agent(LegInput::Event(event)) => {
                if let AgentLeg::Phone(party) = agent {
                    if let Some(cause) =
                        on_leg_event(engine, &mut Party::as_mut(party), event).await
                    {
                        break (Some(Side::Agent), cause);
                    }
                }
            }
            Input::Agent(LegInput::Ended(cause)) => {
                // The page hung up while talking to the consulted party: that
                // completes the transfer, as on a phone.
                if let Some(mut pending) = consult.take() {
                    if let Some(attended) = pending.take_answered() {
                        info!(to = %attended.agent, "agent hung up during the consultation: transfer completed");
                        transfer = Some(Transfer::Attended(attended));
                        break (Some(Side::Agent), "transferred".to_string());
                    }
                    pending.finish("agent_hangup");
                }
                break (Some(Side::Agent), cause);
            }
            Input::Agent(LegInput::Nothing) | Input::Nothing => {}
            Input::Consult(ConsultInput::Answered) => {
                if let Some(current) = &consult {
                    tell_page(agent, "talking", &current.target, None);
                }
            }
            Input::Consult(ConsultInput::Failed(reason)) => {
                if let Some(current) = consult.take() {
                    info!(target = %current.target, %reason, "consultation failed; back to the caller");
                    tell_page(agent, "ended", &current.target, Some(reason));
                    current.finish("consult_failed");
                }
            }
            Input::Consult(ConsultInput::Leg(input)) => {
                let ended = match input {
                    LegInput::Rtp(length, source) => {
                        if let Some(AgentLeg::Phone(party)) =
                            consult.as_mut().and_then(Consult::party)
                        {
                            phone_audio(party, &consult_buffer[..length], source, &mut audio);
                            send_audio(agent, &audio).await;
                        }
                        None
                    }
                    LegInput::Audio(frame) => {
                        send_audio(agent, &frame).await;
                        None
                    }
                    LegInput::Event(Some(LegEvent::Refer { responder, .. })) => {
                        responder.respond(403, None, None).await;
                        None
                    }
                    LegInput::Event(event) => match consult.as_mut().and_then(Consult::party) {
                        Some(AgentLeg::Phone(party)) => {
                            on_leg_event(engine, &mut Party::as_mut(party), event).await
                        }
                        _ => None,
                    },
                    LegInput::Ended(cause) => Some(cause),
                    LegInput::Control(_) => {
                        if let Some(AgentLeg::Browser(call)) =
                            consult.as_mut().and_then(Consult::party)
                        {
                            call.agents
                                .tell(&call.agent, "the other agent controls this consultation");
                        }
                        None
                    }
                    LegInput::Nothing => None,
                };
                if let Some(cause) = ended {
                    if let Some(current) = consult.take() {
                        info!(target = %current.target, %cause, "the consulted party hung up; back to the caller");
                        tell_page(agent, "ended", &current.target, Some("they hung up".into()));
                        current.finish("consult_ended");
                    }
                }
            }
            Input::HandOver(Some(request)) => {
                info!("another call takes this call's agent (attended transfer); hanging up this caller");
                handed_over = Some(request);
                break (Some(Side::Caller), "replaced".to_string());
            }
            Input::HandOver(None) => hand_over = None,
            Input::Tick => {
                // The agent holds or consults: the caller hears music.
                let held = page_hold
                    || consult.is_some()
                    || matches!(&*agent, AgentLeg::Phone(party) if party.media.on_hold());
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
                let consult_silent = matches!(
                    consult.as_mut().and_then(Consult::party),
                    Some(AgentLeg::Phone(party)) if silent(&party.media)
                );
                if consult_silent {
                    if let Some(current) = consult.take() {
                        info!(target = %current.target, "no RTP from the consulted party; back to the caller");
                        tell_page(agent, "ended", &current.target, Some("no audio".into()));
                        current.finish("media_timeout");
                    }
                }
            }
            Input::Shutdown => break (None, "shutdown".to_string()),
        }
    };
    // A consultation still going when the call ends goes with it.
    if let Some(current) = consult.take() {
        tell_page(agent, "ended", &current.target, Some(cause.clone()));
        current.finish("caller_gone");
    }
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
        // Handed to another call: only the caller's leg here ends.
        _ if handed_over.is_some() => hang_up(caller.leg).await,
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
        handed_over,
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
