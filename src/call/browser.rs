//! A browser agent's media: one WebRTC peer connection per call, audio only,
//! G.711 (PCMU or PCMA, whichever the browser offers first), so nothing is
//! transcoded beyond the G.711 the bridge already converts. The page makes
//! the offer; the engine answers with the `webrtc` crate, which owns ICE,
//! DTLS and SRTP. Only this file names `webrtc` types.
//!
//! What the bridge sees is plain PCM: [`BrowserLeg::next_frame`] yields the
//! agent's voice decoded, [`BrowserLeg::send_audio`] sends the caller's.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};
use webrtc::api::media_engine::{MediaEngine, MIME_TYPE_PCMA, MIME_TYPE_PCMU};
use webrtc::api::setting_engine::SettingEngine;
use webrtc::api::APIBuilder;
use webrtc::ice::mdns::MulticastDnsMode;
use webrtc::ice::network_type::NetworkType;
use webrtc::ice::udp_mux::{UDPMux, UDPMuxDefault, UDPMuxParams};
use webrtc::ice::udp_network::{EphemeralUDP, UDPNetwork};
use webrtc::ice_transport::ice_candidate_type::RTCIceCandidateType;
use webrtc::ice_transport::ice_server::RTCIceServer;
use webrtc::media::Sample;
use webrtc::peer_connection::configuration::RTCConfiguration;
use webrtc::peer_connection::peer_connection_state::RTCPeerConnectionState;
use webrtc::peer_connection::sdp::session_description::RTCSessionDescription;
use webrtc::peer_connection::RTCPeerConnection;
use webrtc::rtp_transceiver::rtp_codec::{
    RTCRtpCodecCapability, RTCRtpCodecParameters, RTPCodecType,
};
use webrtc::track::track_local::track_local_static_sample::TrackLocalStaticSample;

use crate::config::{Network, WebRtcConfig};
use crate::media::g711::{self, Codec};

/// Frames of the agent's voice buffered for the bridge (20 ms each).
const INBOUND_FRAMES: usize = 50;

/// How the engine's side of browser media is set up (from `[webrtc]`).
#[derive(Debug, Clone, Default)]
pub struct BrowserMediaConfig {
    pub ice_addresses: Vec<std::net::IpAddr>,
    pub allowed_peer_networks: Vec<Network>,
    pub public_ip: Option<std::net::IpAddr>,
    pub ice_servers: Vec<String>,
    pub port_range: Option<(u16, u16)>,
}

impl BrowserMediaConfig {
    /// From the checked config (networks were validated at load).
    pub fn from_config(config: &WebRtcConfig) -> BrowserMediaConfig {
        BrowserMediaConfig {
            ice_addresses: config.ice_addresses.clone(),
            allowed_peer_networks: config
                .allowed_peer_networks
                .iter()
                .filter_map(|text| Network::parse(text).ok())
                .collect(),
            public_ip: config.public_ip,
            ice_servers: config.ice_servers.clone(),
            port_range: (config.port_min != 0).then_some((config.port_min, config.port_max)),
        }
    }
}

/// Counters the page and the logs show.
#[derive(Debug, Default)]
pub struct MediaCounters {
    pub packets_in: AtomicU64,
    pub packets_out: AtomicU64,
    /// Frames the bridge did not take in time (or of an unknown codec).
    pub dropped: AtomicU64,
}

/// A browser agent's answered call.
pub(crate) struct BrowserLeg {
    connection: Arc<RTCPeerConnection>,
    track: Arc<TrackLocalStaticSample>,
    codec: Codec,
    frames: mpsc::Receiver<Vec<i16>>,
    /// Cancelled when the agent hangs up on the page or the page goes away.
    pub hangup: CancellationToken,
    /// Cancelled when the peer connection fails or closes.
    failed: CancellationToken,
    pub counters: Arc<MediaCounters>,
    pub last_packet_at: Instant,
    encoded: Vec<u8>,
    /// The page's call buttons (the session keeps the sender).
    pub controls: mpsc::UnboundedSender<PageControl>,
    control_receiver: mpsc::UnboundedReceiver<PageControl>,
    /// The leg's own ICE socket, when it screens sources
    /// (`allowed_peer_networks`); closed with the leg.
    mux: Option<Arc<UDPMuxDefault>>,
}

/// What ended a browser leg, or a frame of the agent's voice, or a button
/// the agent pressed.
pub(crate) enum BrowserInput {
    Audio(Vec<i16>),
    Ended(String),
    Control(PageControl),
}

/// Call buttons on the agent page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageControl {
    /// Send the caller to a queue or number.
    Transfer(String),
    /// Hold (`true`: the caller hears music) or resume.
    Hold(bool),
    /// Hold the caller and call a queue or number first (attended transfer).
    Consult(String),
    /// Hand the caller to the consulted party.
    CompleteTransfer,
    /// Hang up the consulted party; back to the caller.
    CancelConsult,
}

/// Removes the browser's ICE candidates outside `allowed` (and host names,
/// which cannot be checked), so the engine never sends media elsewhere.
pub fn filter_candidates(sdp: &str, allowed: &[Network]) -> String {
    if allowed.is_empty() {
        return sdp.to_string();
    }
    let mut kept = String::with_capacity(sdp.len());
    for line in sdp.split_inclusive('\n') {
        if let Some(candidate) = line.trim_end().strip_prefix("a=candidate:") {
            // foundation component transport priority address port typ ...
            let address = candidate.split_whitespace().nth(4);
            let allowed = address
                .and_then(|address| address.parse::<std::net::IpAddr>().ok())
                .is_some_and(|address| allowed.iter().any(|network| network.contains(address)));
            if !allowed {
                debug!(
                    candidate,
                    "browser ICE candidate outside allowed_peer_networks dropped"
                );
                continue;
            }
        }
        kept.push_str(line);
    }
    kept
}

/// The G.711 codec the browser lists first, if any.
pub fn offered_codec(sdp: &str) -> Option<Codec> {
    // The m=audio line's payload types, in the browser's order of preference.
    let formats: Vec<&str> = sdp
        .lines()
        .find_map(|line| line.strip_prefix("m=audio "))?
        .split_whitespace()
        .skip(2)
        .collect();
    let name_of = |format: &str| -> Option<Codec> {
        match format {
            "0" => return Some(Codec::Pcmu),
            "8" => return Some(Codec::Pcma),
            _ => {}
        }
        sdp.lines().find_map(|line| {
            let rest = line.strip_prefix("a=rtpmap:")?;
            let (payload, name) = rest.split_once(' ')?;
            if payload != format {
                return None;
            }
            let name = name.trim().to_ascii_uppercase();
            if name.starts_with("PCMU/8000") {
                Some(Codec::Pcmu)
            } else if name.starts_with("PCMA/8000") {
                Some(Codec::Pcma)
            } else {
                None
            }
        })
    };
    formats.into_iter().find_map(name_of)
}

/// The offer's G.711 payload types: 0 and 8, and dynamic ones by name.
pub fn payload_types(sdp: &str) -> std::collections::HashMap<u8, Codec> {
    let mut types = std::collections::HashMap::from([(0, Codec::Pcmu), (8, Codec::Pcma)]);
    for line in sdp.lines() {
        let Some((payload, name)) = line
            .strip_prefix("a=rtpmap:")
            .and_then(|rest| rest.split_once(' '))
        else {
            continue;
        };
        let Ok(payload) = payload.trim().parse::<u8>() else {
            continue;
        };
        let name = name.trim().to_ascii_uppercase();
        if name.starts_with("PCMU/8000") {
            types.insert(payload, Codec::Pcmu);
        } else if name.starts_with("PCMA/8000") {
            types.insert(payload, Codec::Pcma);
        }
    }
    types
}

fn capability(codec: Codec) -> RTCRtpCodecCapability {
    RTCRtpCodecCapability {
        mime_type: match codec {
            Codec::Pcmu => MIME_TYPE_PCMU,
            Codec::Pcma => MIME_TYPE_PCMA,
        }
        .to_owned(),
        clock_rate: 8000,
        channels: 1,
        sdp_fmtp_line: String::new(),
        rtcp_feedback: Vec::new(),
    }
}

/// Answers the page's SDP offer. Returns the leg and the SDP answer (with
/// every candidate gathered: the page does not trickle). The leg is usable
/// once [`BrowserLeg::connected`] says so.
pub(crate) async fn answer(
    config: &BrowserMediaConfig,
    offer: &str,
) -> Result<(BrowserLeg, String), String> {
    let codec = offered_codec(offer)
        .ok_or_else(|| "the browser offered neither PCMU nor PCMA audio".to_string())?;
    let offer = filter_candidates(offer, &config.allowed_peer_networks);

    let mut media_engine = MediaEngine::default();
    for (codec, payload_type) in [(Codec::Pcmu, 0), (Codec::Pcma, 8)] {
        media_engine
            .register_codec(
                RTCRtpCodecParameters {
                    capability: capability(codec),
                    payload_type,
                    ..Default::default()
                },
                RTPCodecType::Audio,
            )
            .map_err(|error| format!("codec setup: {error}"))?;
    }
    let mut settings = SettingEngine::default();
    // No multicast DNS: candidates are plain addresses.
    settings.set_ice_multicast_dns_mode(MulticastDnsMode::Disabled);
    settings.set_network_types(vec![NetworkType::Udp4, NetworkType::Udp6]);
    // With allowed networks, the leg's ICE runs on one socket of its own that
    // ignores every packet from elsewhere: a browser's connectivity checks
    // from another of its interfaces (a VPN, a second network card) then
    // never become a peer-reflexive pair the browser could pick, and the
    // engine never answers outside the allowed networks. The webrtc crate
    // gathers no server-reflexive candidates on such a socket, so with
    // `ice_servers` set the engine keeps its ephemeral sockets and checks the
    // chosen pair after connecting instead.
    let mux = if !config.allowed_peer_networks.is_empty() && config.ice_servers.is_empty() {
        let (socket, family) = bind_ice_socket(config).await?;
        settings.set_network_types(vec![family]);
        let mux = UDPMuxDefault::new(UDPMuxParams::new(AllowedSources {
            socket,
            allowed: config.allowed_peer_networks.clone(),
            ignored: AtomicU64::new(0),
        }));
        settings.set_udp_network(UDPNetwork::Muxed(mux.clone()));
        Some(mux)
    } else {
        None
    };
    if !config.ice_addresses.is_empty() {
        let addresses = config.ice_addresses.clone();
        settings.set_include_loopback_candidate(addresses.iter().any(|a| a.is_loopback()));
        settings.set_ip_filter(Box::new(move |ip| addresses.contains(&ip)));
    }
    if let Some(public) = config.public_ip {
        settings.set_nat_1to1_ips(vec![public.to_string()], RTCIceCandidateType::Host);
    }
    if let (Some((min, max)), None) = (config.port_range, &mux) {
        let ports = EphemeralUDP::new(min, max).map_err(|error| format!("port range: {error}"))?;
        settings.set_udp_network(UDPNetwork::Ephemeral(ports));
    }
    let api = APIBuilder::new()
        .with_media_engine(media_engine)
        .with_setting_engine(settings)
        .build();
    let connection = api
        .new_peer_connection(RTCConfiguration {
            ice_servers: vec![RTCIceServer {
                urls: config.ice_servers.clone(),
                ..Default::default()
            }]
            .into_iter()
            .filter(|server| !server.urls.is_empty())
            .collect(),
            ..Default::default()
        })
        .await
        .map_err(|error| format!("peer connection: {error}"));
    let connection = match connection {
        Ok(connection) => Arc::new(connection),
        Err(error) => {
            close_mux(mux.as_ref()).await;
            return Err(error);
        }
    };
    match negotiate(connection.clone(), codec, offer).await {
        Ok((mut leg, sdp)) => {
            leg.mux = mux;
            Ok((leg, sdp))
        }
        Err(error) => {
            connection.close().await.ok();
            close_mux(mux.as_ref()).await;
            Err(error)
        }
    }
}

async fn close_mux(mux: Option<&Arc<UDPMuxDefault>>) {
    if let Some(mux) = mux {
        mux.close().await.ok();
    }
}

/// The UDP socket for one browser leg's ICE (see [`answer`]): on the one
/// ICE address when there is one, else on every IPv4 address; in the
/// configured port range when there is one.
async fn bind_ice_socket(
    config: &BrowserMediaConfig,
) -> Result<(tokio::net::UdpSocket, NetworkType), String> {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    let address = match config.ice_addresses.as_slice() {
        [one] => *one,
        [first, ..] if first.is_ipv6() => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        _ => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    };
    let family = if address.is_ipv6() {
        NetworkType::Udp6
    } else {
        NetworkType::Udp4
    };
    let Some((min, max)) = config.port_range else {
        return tokio::net::UdpSocket::bind((address, 0))
            .await
            .map(|socket| (socket, family))
            .map_err(|error| format!("no socket for browser media on {address}: {error}"));
    };
    // From a random place in the range, so legs do not all race for its
    // first ports.
    let span = u32::from(max - min) + 1;
    let start = rand::random::<u32>() % span;
    for offset in 0..span {
        let port = min + ((start + offset) % span) as u16;
        if let Ok(socket) = tokio::net::UdpSocket::bind((address, port)).await {
            return Ok((socket, family));
        }
    }
    Err(format!(
        "no free UDP port for browser media in {min}-{max} on {address}"
    ))
}

/// A socket that drops every datagram from outside the allowed networks
/// before ICE sees it.
struct AllowedSources {
    socket: tokio::net::UdpSocket,
    allowed: Vec<Network>,
    ignored: AtomicU64,
}

#[async_trait::async_trait]
impl webrtc::util::Conn for AllowedSources {
    async fn connect(&self, addr: std::net::SocketAddr) -> webrtc::util::Result<()> {
        Ok(self.socket.connect(addr).await?)
    }

    async fn recv(&self, buf: &mut [u8]) -> webrtc::util::Result<usize> {
        Ok(self.recv_from(buf).await?.0)
    }

    async fn recv_from(
        &self,
        buf: &mut [u8],
    ) -> webrtc::util::Result<(usize, std::net::SocketAddr)> {
        loop {
            let (length, source) = self.socket.recv_from(buf).await?;
            if self
                .allowed
                .iter()
                .any(|network| network.contains(source.ip()))
            {
                return Ok((length, source));
            }
            if self.ignored.fetch_add(1, Ordering::Relaxed) == 0 {
                // Once per leg: a browser with several networks does this
                // on every call.
                info!(%source, "browser packets from outside allowed_peer_networks ignored");
            }
        }
    }

    async fn send(&self, buf: &[u8]) -> webrtc::util::Result<usize> {
        Ok(self.socket.send(buf).await?)
    }

    async fn send_to(
        &self,
        buf: &[u8],
        target: std::net::SocketAddr,
    ) -> webrtc::util::Result<usize> {
        Ok(self.socket.send_to(buf, target).await?)
    }

    fn local_addr(&self) -> webrtc::util::Result<std::net::SocketAddr> {
        Ok(self.socket.local_addr()?)
    }

    fn remote_addr(&self) -> Option<std::net::SocketAddr> {
        None
    }

    async fn close(&self) -> webrtc::util::Result<()> {
        Ok(())
    }

    fn as_any(&self) -> &(dyn std::any::Any + Send + Sync) {
        self
    }
}

async fn negotiate(
    connection: Arc<RTCPeerConnection>,
    codec: Codec,
    offer: String,
) -> Result<(BrowserLeg, String), String> {
    let track = Arc::new(TrackLocalStaticSample::new(
        capability(codec),
        "audio".to_owned(),
        "switchboard".to_owned(),
    ));
    let sender = connection
        .add_track(track.clone())
        .await
        .map_err(|error| format!("adding the audio track: {error}"))?;
    // RTCP from the browser must be read for the sender's reports to work.
    tokio::spawn(async move {
        let mut buffer = vec![0u8; 1500];
        while sender.read(&mut buffer).await.is_ok() {}
    });

    let counters = Arc::new(MediaCounters::default());
    let (frames_tx, frames) = mpsc::channel(INBOUND_FRAMES);
    let inbound_counters = counters.clone();
    let offered_types = payload_types(&offer);
    connection.on_track(Box::new(move |track, _, _| {
        let frames_tx = frames_tx.clone();
        let counters = inbound_counters.clone();
        let payload_types = offered_types.clone();
        Box::pin(async move {
            tokio::spawn(async move {
                let mut pcm = Vec::with_capacity(160);
                // What each payload type means comes from the page's offer (a
                // browser may use a dynamic number for PCMU/PCMA).
                let mut warned = false;
                while let Ok((packet, _)) = track.read_rtp().await {
                    let payload_type = packet.header.payload_type;
                    let Some(codec) = payload_types.get(&payload_type).copied() else {
                        if !std::mem::replace(&mut warned, true) {
                            warn!(
                                payload_type,
                                "the browser sends audio in a codec we did not offer; ignored"
                            );
                        }
                        counters.dropped.fetch_add(1, Ordering::Relaxed);
                        continue;
                    };
                    counters.packets_in.fetch_add(1, Ordering::Relaxed);
                    pcm.clear();
                    g711::decode_into(codec, &packet.payload, &mut pcm);
                    match frames_tx.try_send(pcm.clone()) {
                        Ok(()) => {}
                        // The bridge is behind (or not started yet): drop.
                        Err(mpsc::error::TrySendError::Full(_)) => {
                            counters.dropped.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(mpsc::error::TrySendError::Closed(_)) => break,
                    }
                }
            });
        })
    }));

    let failed = CancellationToken::new();
    let failed_on_state = failed.clone();
    connection.on_peer_connection_state_change(Box::new(move |state| {
        debug!(?state, "browser peer connection");
        if matches!(
            state,
            RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed
        ) {
            failed_on_state.cancel();
        }
        Box::pin(async {})
    }));

    let offer = RTCSessionDescription::offer(offer)
        .map_err(|error| format!("the browser's offer is not SDP: {error}"))?;
    connection
        .set_remote_description(offer)
        .await
        .map_err(|error| format!("the browser's offer was refused: {error}"))?;
    let answer = connection
        .create_answer(None)
        .await
        .map_err(|error| format!("no answer to the browser's offer: {error}"))?;
    let mut gathered = connection.gathering_complete_promise().await;
    connection
        .set_local_description(answer)
        .await
        .map_err(|error| format!("setting our answer: {error}"))?;
    if tokio::time::timeout(Duration::from_secs(10), gathered.recv())
        .await
        .is_err()
    {
        warn!("ICE gathering took over 10 s; answering with the candidates found so far");
    }
    let sdp = connection
        .local_description()
        .await
        .map(|description| description.sdp)
        .ok_or_else(|| "no local description after answering".to_string())?;
    let (controls, control_receiver) = mpsc::unbounded_channel();
    Ok((
        BrowserLeg {
            controls,
            control_receiver,
            connection,
            track,
            codec,
            frames,
            hangup: CancellationToken::new(),
            failed,
            counters,
            last_packet_at: Instant::now(),
            encoded: Vec::with_capacity(160),
            mux: None,
        },
        sdp,
    ))
}

impl BrowserLeg {
    /// Waits until media can flow (ICE and DTLS done), at most `limit`.
    pub async fn connected(&self, limit: Duration) -> Result<(), String> {
        let (tx, mut rx) = mpsc::channel::<()>(1);
        let check = |state: RTCPeerConnectionState| state == RTCPeerConnectionState::Connected;
        if check(self.connection.connection_state()) {
            return Ok(());
        }
        let failed = self.failed.clone();
        self.connection
            .on_peer_connection_state_change(Box::new(move |state| {
                debug!(?state, "browser peer connection");
                match state {
                    RTCPeerConnectionState::Connected => {
                        tx.try_send(()).ok();
                    }
                    RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed => {
                        failed.cancel();
                    }
                    _ => {}
                }
                Box::pin(async {})
            }));
        // It may have connected between the first look and the handler.
        if check(self.connection.connection_state()) {
            return Ok(());
        }
        tokio::select! {
            _ = rx.recv() => Ok(()),
            _ = self.failed.cancelled() => Err("the browser's media connection failed".into()),
            _ = self.hangup.cancelled() => Err("the agent hung up".into()),
            _ = tokio::time::sleep(limit) => Err(format!("no media connection with the browser within {} s", limit.as_secs())),
        }
    }

    /// The remote address media flows with, once connected.
    pub async fn peer_address(&self) -> Option<std::net::IpAddr> {
        let pair = self
            .connection
            .sctp()
            .transport()
            .ice_transport()
            .get_selected_candidate_pair()
            .await?;
        pair.remote.address.parse().ok()
    }

    /// At the start of a bridge: forget audio buffered before it (ringing,
    /// a callback's customer ringing) and restart the media clock.
    pub fn start_bridge(&mut self) {
        while self.frames.try_recv().is_ok() {}
        self.last_packet_at = Instant::now();
    }

    /// Resolves when the agent hangs up or the connection fails.
    pub async fn ended(&self) {
        tokio::select! {
            _ = self.hangup.cancelled() => {}
            _ = self.failed.cancelled() => {}
        }
    }

    /// The agent's next 20 ms of voice, or why the leg ended.
    pub async fn next_frame(&mut self) -> BrowserInput {
        tokio::select! {
            frame = self.frames.recv() => match frame {
                Some(frame) => {
                    self.last_packet_at = Instant::now();
                    BrowserInput::Audio(frame)
                }
                None => BrowserInput::Ended("browser_media_gone".into()),
            },
            Some(control) = self.control_receiver.recv() => BrowserInput::Control(control),
            _ = self.hangup.cancelled() => BrowserInput::Ended("agent_hangup".into()),
            _ = self.failed.cancelled() => BrowserInput::Ended("browser_media_failed".into()),
        }
    }

    /// Sends the caller's voice to the browser.
    pub async fn send_audio(&mut self, samples: &[i16]) {
        if samples.is_empty() {
            return;
        }
        self.encoded.clear();
        g711::encode_into(self.codec, samples, &mut self.encoded);
        let sample = Sample {
            data: bytes::Bytes::copy_from_slice(&self.encoded),
            duration: Duration::from_micros(samples.len() as u64 * 125),
            ..Default::default()
        };
        if self.track.write_sample(&sample).await.is_ok() {
            self.counters.packets_out.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Ends the peer connection.
    pub async fn close(&self) {
        self.hangup.cancel();
        if tokio::time::timeout(Duration::from_secs(2), self.connection.close())
            .await
            .is_err()
        {
            warn!("closing a browser peer connection took over 2 s");
        }
        close_mux(self.mux.as_ref()).await;
        info!(
            packets_in = self.counters.packets_in.load(Ordering::Relaxed),
            packets_out = self.counters.packets_out.load(Ordering::Relaxed),
            dropped = self.counters.dropped.load(Ordering::Relaxed),
            "browser media closed"
        );
    }
}

impl Drop for BrowserLeg {
    /// A leg dropped without [`BrowserLeg::close`] (shutdown, a failed
    /// hand-over) still releases its sockets and tasks.
    fn drop(&mut self) {
        self.hangup.cancel();
        let connection = self.connection.clone();
        let mux = self.mux.take();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                tokio::time::timeout(Duration::from_secs(2), connection.close())
                    .await
                    .ok();
                close_mux(mux.as_ref()).await;
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHROME_OFFER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\nc=IN IP4 0.0.0.0\r\n\
a=candidate:1 1 udp 2122260223 192.0.2.2 50000 typ host generation 0\r\n\
a=candidate:2 1 udp 2122262783 127.0.0.1 50001 typ host generation 0\r\n\
a=candidate:3 1 udp 2122262783 abc.local 50002 typ host generation 0\r\n\
a=rtpmap:111 opus/48000/2\r\na=rtpmap:63 red/48000/2\r\na=rtpmap:9 G722/8000\r\n\
a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:126 telephone-event/8000\r\n";

    #[test]
    fn the_first_g711_codec_of_the_offer_is_chosen() {
        assert_eq!(offered_codec(CHROME_OFFER), Some(Codec::Pcmu));
        let pcma_first = CHROME_OFFER.replace("111 63 9 0 8", "111 8 0");
        assert_eq!(offered_codec(&pcma_first), Some(Codec::Pcma));
        let opus_only = CHROME_OFFER.replace("111 63 9 0 8 13 110 126", "111");
        assert_eq!(offered_codec(&opus_only), None);
        // Dynamic payload types are looked up by name.
        let dynamic = "m=audio 9 RTP/SAVPF 96\r\na=rtpmap:96 pcma/8000\r\n";
        assert_eq!(offered_codec(dynamic), Some(Codec::Pcma));
        let types = payload_types(dynamic);
        assert_eq!(types.get(&96), Some(&Codec::Pcma));
        assert_eq!(types.get(&0), Some(&Codec::Pcmu));
        assert_eq!(payload_types(CHROME_OFFER).get(&111), None);
    }

    /// Real loopback sockets: 127.0.0.2 is outside the allowed 127.0.0.1/32,
    /// so what it sends never reaches ICE; the allowed sender's datagram
    /// does, and it is the first one read.
    #[tokio::test]
    async fn an_ice_socket_ignores_senders_outside_the_allowed_networks() {
        use webrtc::util::Conn;
        let config = BrowserMediaConfig {
            ice_addresses: vec!["127.0.0.1".parse().unwrap()],
            allowed_peer_networks: vec![Network::parse("127.0.0.1/32").unwrap()],
            ..BrowserMediaConfig::default()
        };
        let (socket, family) = bind_ice_socket(&config).await.unwrap();
        assert_eq!(family, NetworkType::Udp4);
        let conn = AllowedSources {
            socket,
            allowed: config.allowed_peer_networks.clone(),
            ignored: AtomicU64::new(0),
        };
        let to = conn.local_addr().unwrap();
        let stranger = tokio::net::UdpSocket::bind("127.0.0.2:0").await.unwrap();
        let friend = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        stranger.send_to(b"from elsewhere", to).await.unwrap();
        // Sent after, so it is queued behind the stranger's datagram.
        friend.send_to(b"from the page", to).await.unwrap();
        let mut buffer = [0u8; 64];
        let (length, source) =
            tokio::time::timeout(Duration::from_secs(10), conn.recv_from(&mut buffer))
                .await
                .expect("the allowed datagram arrives")
                .unwrap();
        assert_eq!(&buffer[..length], b"from the page");
        assert_eq!(source, friend.local_addr().unwrap());
        assert_eq!(conn.ignored.load(Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn an_ice_socket_stays_in_the_port_range() {
        let config = BrowserMediaConfig {
            ice_addresses: vec!["127.0.0.1".parse().unwrap()],
            port_range: Some((42_000, 42_099)),
            ..BrowserMediaConfig::default()
        };
        let (first, _) = bind_ice_socket(&config).await.unwrap();
        let (second, _) = bind_ice_socket(&config).await.unwrap();
        for socket in [&first, &second] {
            let port = socket.local_addr().unwrap().port();
            assert!((42_000..=42_099).contains(&port), "{port}");
        }
        assert_ne!(first.local_addr().unwrap(), second.local_addr().unwrap());
    }

    #[test]
    fn candidates_outside_the_allowed_networks_are_dropped() {
        let loopback = [Network::parse("127.0.0.0/8").unwrap()];
        let filtered = filter_candidates(CHROME_OFFER, &loopback);
        assert!(filtered.contains("127.0.0.1 50001"));
        assert!(!filtered.contains("192.0.2.2"));
        assert!(!filtered.contains(".local"));
        assert!(filtered.contains("a=rtpmap:0 PCMU/8000\r\n"));
        // No list: nothing is dropped.
        assert_eq!(filter_candidates(CHROME_OFFER, &[]), CHROME_OFFER);
    }
}
