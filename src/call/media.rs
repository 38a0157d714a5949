//! The media side of one call: a thin driver over the pure parts in
//! `crate::media`. It owns the call's RTP socket, sends one 20 ms packet per
//! tick (prompt audio or silence), and turns incoming packets into digits and
//! recorded audio. No allocation per packet: buffers are reused.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use tokio::net::UdpSocket;

use crate::media::amd::{AmdResult, AnsweringMachineDetector, BeepDetector};
use crate::media::dtmf::{InbandDtmfDetector, TelephoneEventReceiver};
use crate::media::g711::{self, Codec};
use crate::media::prompts::Prompt;
use crate::media::recorder::{Recorder, RecordingStop};
use crate::media::rtp::{self, RtpPacket, RtpSender, SourceLearning, SourceVerdict};
use crate::media::sdp::{Direction, Negotiated};

/// 20 ms of 8 kHz audio: the packet size we send (RFC 3551 §4.5: G.711 default ptime).
pub const FRAME_SAMPLES: usize = 160;

/// What happened on the media path that the call must act on.
#[derive(Debug, PartialEq)]
pub enum MediaEvent {
    Digit(char),
    PlaybackFinished,
    RecordingStopped(RecordingStop),
    /// The answering-machine detector decided.
    MachineDetected(AmdResult),
    /// A voicemail beep just ended.
    BeepEnded,
}

pub struct MediaSession {
    socket: Arc<UdpSocket>,
    codec: Codec,
    payload_type: u8,
    telephone_event_payload_type: Option<u8>,
    /// Where we send: the SDP address until the caller's RTP arrives, then
    /// the source of that RTP (symmetric RTP, RFC 4961), which is what gets
    /// through NATs.
    remote: Option<SocketAddr>,
    /// Which source the caller's RTP is taken from, once learnt.
    learning: SourceLearning,
    /// The caller asked us not to send (hold: sendonly/inactive from them).
    sending_allowed: bool,
    /// The caller does not send to us (hold), so no media timeout applies.
    expecting_media: bool,
    sender: RtpSender,
    queue: VecDeque<Arc<Prompt>>,
    playing: Option<(Arc<Prompt>, usize)>,
    start_of_talkspurt: bool,
    telephone_events: TelephoneEventReceiver,
    inband: Option<InbandDtmfDetector>,
    recorder: Option<(Recorder, Instant)>,
    machine_detector: Option<AnsweringMachineDetector>,
    beep_detector: Option<BeepDetector>,
    pub last_packet_at: Instant,
    frame: Vec<u8>,
    packet: Vec<u8>,
    decoded: Vec<i16>,
    inband_digits: Vec<char>,
    /// While bridged: the caller's decoded audio, waiting to be relayed.
    relayed: Option<Vec<i16>>,
    pub packets_sent: u64,
    pub packets_received: u64,
    /// Packets from a source the call does not answer (see [`SourceLearning`]).
    pub packets_dropped: u64,
}

impl MediaSession {
    pub fn new(socket: Arc<UdpSocket>, negotiated: &Negotiated, now: Instant) -> MediaSession {
        let mut session = MediaSession {
            socket,
            codec: negotiated.codec,
            payload_type: negotiated.payload_type,
            telephone_event_payload_type: None,
            remote: None,
            learning: SourceLearning::default(),
            sending_allowed: true,
            expecting_media: true,
            sender: RtpSender::new(rand::random(), rand::random(), rand::random()),
            queue: VecDeque::new(),
            playing: None,
            start_of_talkspurt: true,
            telephone_events: TelephoneEventReceiver::new(),
            inband: None,
            recorder: None,
            machine_detector: None,
            beep_detector: None,
            last_packet_at: now,
            frame: Vec::with_capacity(FRAME_SAMPLES),
            packet: Vec::with_capacity(12 + FRAME_SAMPLES),
            decoded: Vec::with_capacity(FRAME_SAMPLES * 2),
            inband_digits: Vec::new(),
            relayed: None,
            packets_sent: 0,
            packets_received: 0,
            packets_dropped: 0,
        };
        session.apply_offer(negotiated, now);
        session
    }

    /// Takes a (re-)negotiated offer: new address, codec, hold state.
    pub fn apply_offer(&mut self, negotiated: &Negotiated, now: Instant) {
        // A new offer restarts the media clock: after a resume the caller
        // gets a full timeout to start sending again.
        self.last_packet_at = now;
        self.codec = negotiated.codec;
        self.payload_type = negotiated.payload_type;
        self.telephone_event_payload_type = negotiated.telephone_event_payload_type;
        // In-band detection runs only when the caller cannot send RFC 4733
        // events: it costs a decode and eight Goertzel filters per packet.
        self.inband = match negotiated.telephone_event_payload_type {
            Some(_) => None,
            None => Some(self.inband.take().unwrap_or_default()),
        };
        // A re-INVITE naming the same address (a session refresh, hold and
        // resume) keeps what was learnt; a new address starts afresh.
        if negotiated.remote_address.is_some()
            && negotiated.remote_address != self.learning.signalled()
        {
            self.remote = negotiated.remote_address;
            self.learning = SourceLearning::new(negotiated.remote_address);
        }
        self.sending_allowed = negotiated.remote_address.is_some()
            && matches!(
                negotiated.direction,
                Direction::SendRecv | Direction::RecvOnly
            );
        self.expecting_media = matches!(
            negotiated.direction,
            Direction::SendRecv | Direction::SendOnly
        );
    }

    /// The caller put the call on hold: it does not want our media
    /// (a=sendonly/inactive, or c=0.0.0.0 per RFC 3264 §8.4).
    pub fn on_hold(&self) -> bool {
        !self.sending_allowed
    }

    /// Whether the caller is meant to be sending to us; the media timeout
    /// applies only then.
    pub fn expects_media(&self) -> bool {
        self.expecting_media
    }

    /// Queues prompts to play after whatever is playing.
    pub fn play(&mut self, prompts: Vec<Arc<Prompt>>) {
        self.queue.extend(prompts);
        if self.playing.is_none() {
            self.playing = self.queue.pop_front().map(|p| (p, 0));
            self.start_of_talkspurt = true;
        }
    }

    /// Whether a prompt is playing or queued.
    pub fn is_playing(&self) -> bool {
        self.playing.is_some()
    }

    /// Barge-in: drop everything queued and playing.
    pub fn stop_playback(&mut self) {
        self.queue.clear();
        self.playing = None;
    }

    pub fn start_recording(
        &mut self,
        path: PathBuf,
        max_seconds: u32,
        silence_seconds: u32,
        now: Instant,
    ) -> std::io::Result<()> {
        let recorder = Recorder::create(&path, max_seconds, silence_seconds)?;
        self.recorder = Some((recorder, now));
        Ok(())
    }

    /// Feeds the caller's audio to an answering-machine detector until it
    /// decides (reported as [`MediaEvent::MachineDetected`]).
    pub fn detect_machine(&mut self, detector: AnsweringMachineDetector) {
        self.machine_detector = Some(detector);
    }

    /// Forces the detector's decision now (its time is up); `None` if none runs.
    pub fn finish_machine_detection(&mut self) -> Option<AmdResult> {
        self.machine_detector
            .take()
            .map(|mut detector| detector.finish())
    }

    /// Listens for a voicemail beep (reported as [`MediaEvent::BeepEnded`]).
    pub fn watch_for_beep(&mut self) {
        self.beep_detector = Some(BeepDetector::new());
    }

    pub fn stop_watching_for_beep(&mut self) {
        self.beep_detector = None;
    }

    /// Ends the recording; returns its path and length in ms.
    pub fn stop_recording(&mut self) -> Option<(PathBuf, std::io::Result<u64>)> {
        let (recorder, _) = self.recorder.take()?;
        let path = recorder.path().to_path_buf();
        Some((path, recorder.finish()))
    }

    /// Sends this tick's packet. Returns `PlaybackFinished` when the last queued
    /// prompt has just been sent in full, or a recording stop when the
    /// recording ran out of time with no audio from the caller.
    pub async fn on_tick(&mut self, now: Instant) -> Option<MediaEvent> {
        let mut event = None;
        self.frame.clear();
        let mut marker = false;
        // With nowhere to send yet (a delayed offer before its answer), hold
        // the prompt back rather than play it to nobody.
        let can_play = self.remote.is_some();
        while can_play && self.frame.len() < FRAME_SAMPLES {
            let Some((prompt, offset)) = self.playing.as_mut() else {
                break;
            };
            if self.start_of_talkspurt {
                // RFC 3551 §4.1: the marker flags the first packet after silence.
                marker = true;
                self.start_of_talkspurt = false;
            }
            let encoded = prompt.encoded(self.codec);
            let take = (FRAME_SAMPLES - self.frame.len()).min(encoded.len() - *offset);
            self.frame
                .extend_from_slice(&encoded[*offset..*offset + take]);
            *offset += take;
            if *offset >= encoded.len() {
                self.playing = self.queue.pop_front().map(|p| (p, 0));
                if self.playing.is_none() {
                    self.start_of_talkspurt = true;
                    event = Some(MediaEvent::PlaybackFinished);
                }
            }
        }
        // Silence between and after prompts keeps the stream (and NAT
        // bindings) alive and the caller's jitter buffer steady.
        self.frame.resize(FRAME_SAMPLES, self.codec.silence_byte());
        if let (Some(remote), true) = (self.remote, self.sending_allowed) {
            self.sender.next_packet(
                self.payload_type,
                &self.frame,
                FRAME_SAMPLES as u32,
                marker,
                &mut self.packet,
            );
            if self.socket.send_to(&self.packet, remote).await.is_ok() {
                self.packets_sent += 1;
            }
        } else {
            // Keep the timestamp running while we do not send (RFC 3550 §5.1:
            // it advances with real time).
            self.sender.skip(FRAME_SAMPLES as u32);
        }
        if let Some((recorder, started)) = self.recorder.as_mut() {
            // When the caller sends nothing (or is on hold) the recording still
            // advances with time, so silence ends it as promised.
            let expected = now.duration_since(*started).as_millis() as u64 * 8;
            let written = recorder.samples_written();
            if expected > written + 3 * FRAME_SAMPLES as u64 {
                let gap = (expected - written - FRAME_SAMPLES as u64) as usize;
                self.decoded.clear();
                self.decoded.resize(gap, 0);
                if let Some(stop) = recorder.push(&self.decoded) {
                    return Some(MediaEvent::RecordingStopped(stop));
                }
            }
        }
        event
    }

    /// Handles one datagram from the RTP socket. Returns digits and recording
    /// stops it caused (usually none).
    pub fn on_datagram(
        &mut self,
        bytes: &[u8],
        source: SocketAddr,
        now: Instant,
        events: &mut Vec<MediaEvent>,
    ) {
        if rtp::is_rtcp(bytes) {
            return;
        }
        let Ok(packet) = RtpPacket::parse(bytes) else {
            return;
        };
        // Symmetric RTP: answer where the media really comes from, so a
        // caller behind NAT is heard, while nobody else who reaches the port
        // (a stream left over from an earlier call on it, or a forger) can
        // take over the call's audio or inject digits. A new offer
        // (re-INVITE) lets it be learnt again.
        match self.learning.check(source, packet.ssrc, packet.sequence) {
            SourceVerdict::Accept => {}
            SourceVerdict::Latch => {
                tracing::debug!(%source, "RTP source latched");
                self.remote = Some(source);
            }
            SourceVerdict::Drop => {
                self.packets_dropped += 1;
                return;
            }
        }
        self.packets_received += 1;
        self.last_packet_at = now;
        if Some(packet.payload_type) == self.telephone_event_payload_type {
            if let Some(digit) =
                self.telephone_events
                    .on_packet(packet.timestamp, packet.marker, packet.payload)
            {
                events.push(MediaEvent::Digit(digit));
            }
            return;
        }
        if packet.payload_type != self.payload_type {
            return;
        }
        if let Some(relayed) = self.relayed.as_mut() {
            // Bounded: a side that is never drained (the other is on hold)
            // keeps at most a second.
            if relayed.len() > 8000 {
                relayed.clear();
            }
            g711::decode_into(self.codec, packet.payload, relayed);
        }
        if self.inband.is_none()
            && self.recorder.is_none()
            && self.machine_detector.is_none()
            && self.beep_detector.is_none()
        {
            return;
        }
        self.decoded.clear();
        g711::decode_into(self.codec, packet.payload, &mut self.decoded);
        if let Some(detector) = self.inband.as_mut() {
            self.inband_digits.clear();
            detector.process(&self.decoded, &mut self.inband_digits);
            events.extend(self.inband_digits.iter().map(|&d| MediaEvent::Digit(d)));
        }
        if let Some((recorder, _)) = self.recorder.as_mut() {
            if let Some(stop) = recorder.push(&self.decoded) {
                events.push(MediaEvent::RecordingStopped(stop));
            }
        }
        if let Some(detector) = self.machine_detector.as_mut() {
            if let Some(result) = detector.push(&self.decoded) {
                self.machine_detector = None;
                events.push(MediaEvent::MachineDetected(result));
            }
        }
        if let Some(detector) = self.beep_detector.as_mut() {
            if detector.push(&self.decoded).is_some() {
                self.beep_detector = None;
                events.push(MediaEvent::BeepEnded);
            }
        }
    }

    /// Starts keeping the decoded incoming audio for a bridge
    /// ([`MediaSession::take_relayed`]); prompts stop.
    pub fn start_relay(&mut self) {
        self.stop_playback();
        self.relayed = Some(Vec::with_capacity(FRAME_SAMPLES * 2));
    }

    /// Moves the audio received since the last call into `out` (cleared first).
    pub fn take_relayed(&mut self, out: &mut Vec<i16>) {
        out.clear();
        if let Some(relayed) = self.relayed.as_mut() {
            std::mem::swap(relayed, out);
        }
    }

    /// Sends audio from the other side of a bridge, in this side's codec
    /// (PCMU/PCMA conversion happens here), with this side's own sequence
    /// numbers, timestamps and SSRC.
    pub async fn send_relayed(&mut self, samples: &[i16]) {
        if samples.is_empty() {
            return;
        }
        let count = samples.len() as u32;
        match (self.remote, self.sending_allowed) {
            (Some(remote), true) => {
                self.frame.clear();
                g711::encode_into(self.codec, samples, &mut self.frame);
                let marker = std::mem::take(&mut self.start_of_talkspurt);
                self.sender.next_packet(
                    self.payload_type,
                    &self.frame,
                    count,
                    marker,
                    &mut self.packet,
                );
                if self.socket.send_to(&self.packet, remote).await.is_ok() {
                    self.packets_sent += 1;
                }
            }
            _ => self.sender.skip(count),
        }
    }

    /// The RTP socket, for the call loop to wait on.
    pub fn socket(&self) -> Arc<UdpSocket> {
        self.socket.clone()
    }
}
