//! SDP (RFC 4566) parsing and RFC 3264 offer/answer for one audio stream.
//!
//! Only what a G.711 IVR needs is interpreted: origin, connection data,
//! media lines, rtpmap/fmtp/ptime and direction attributes. Everything else
//! is skipped, as RFC 4566 §5 asks of unknown attributes. Input is bounded
//! before any work is done, since SDP comes straight from the network.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use thiserror::Error;

use super::g711::Codec;

/// Largest SDP body accepted, in bytes.
pub const MAX_SDP_LEN: usize = 16 * 1024;
/// Largest single line accepted, in bytes (without the line ending).
pub const MAX_LINE_LEN: usize = 1024;
/// Most m= sections accepted.
pub const MAX_MEDIA: usize = 64;
/// Packetisation interval assumed when none is given (RFC 3551 §4.5: the
/// default for frame-based G.711 use is 20 ms).
pub const DEFAULT_PTIME_MS: u32 = 20;
/// Payload type we use for telephone-event in our own offers (a common
/// choice; any dynamic type 96-127 would do, RFC 3551 §3).
pub const OFFER_TELEPHONE_EVENT_PT: u8 = 101;

/// Why an SDP body could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum SdpError {
    /// Body larger than [`MAX_SDP_LEN`].
    #[error("SDP body is {0} bytes, limit is 16384")]
    TooLarge(usize),
    /// Body with no lines at all.
    #[error("SDP body is empty")]
    Empty,
    /// A required line is absent.
    #[error("SDP has no {0}= line")]
    Missing(char),
    /// A line that is malformed or exceeds a limit.
    #[error("SDP line {line}: {reason}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
}

fn line_err(line: usize, reason: &'static str) -> SdpError {
    SdpError::Line { line, reason }
}

/// Media direction attribute (RFC 4566 §6, RFC 3264 §5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    /// Both ways; the default when no attribute is present.
    #[default]
    SendRecv,
    /// The describing side only sends.
    SendOnly,
    /// The describing side only receives.
    RecvOnly,
    /// Neither side sends media.
    Inactive,
}

impl Direction {
    /// Attribute name as written after `a=`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    fn from_attribute(name: &str) -> Option<Direction> {
        match name {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        }
    }

    /// Whether the describing side sends media.
    pub const fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    /// Whether the describing side receives media.
    pub const fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    const fn from_flags(sends: bool, receives: bool) -> Direction {
        match (sends, receives) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }

    /// Direction to answer an offer made with `self`, given what we are
    /// willing to do (RFC 3264 §6.1): we may send only if the offerer
    /// receives, and receive only if the offerer sends.
    pub const fn answer(self, ours: Direction) -> Direction {
        Direction::from_flags(
            self.receives() && ours.sends(),
            self.sends() && ours.receives(),
        )
    }
}

/// `o=` line (RFC 4566 §5.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// User name, `-` when none.
    pub username: String,
    /// Session id; kept as text since implementations exceed 64 bits.
    pub session_id: String,
    /// Session version, compared by the answerer to spot re-offers.
    pub session_version: String,
    /// Network type, `IN`.
    pub net_type: String,
    /// Address type, `IP4` or `IP6`.
    pub addr_type: String,
    /// Unicast address of the originator, as written (may be a name).
    pub address: String,
}

/// `c=` line (RFC 4566 §5.7), restricted to literal IP addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Connection {
    /// Connection address; 0.0.0.0 signals hold (RFC 3264 §8.4).
    pub address: IpAddr,
}

/// `a=rtpmap` (RFC 4566 §6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RtpMap {
    /// Payload type being described.
    pub payload_type: u8,
    /// Encoding name as written (compare case-insensitively, RFC 4855 §3).
    pub encoding: String,
    /// RTP clock rate in Hz.
    pub clock_rate: u32,
    /// Encoding parameters; for audio, the channel count.
    pub channels: Option<u16>,
}

/// `a=fmtp` (RFC 4566 §6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fmtp {
    /// Payload type the parameters apply to.
    pub payload_type: u8,
    /// Format-specific parameters, verbatim.
    pub params: String,
}

/// One `m=` section with its attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaDescription {
    /// Media type: `audio`, `video`, ...
    pub kind: String,
    /// Transport port; 0 means the stream is rejected/disabled (RFC 3264 §5.1).
    pub port: u16,
    /// Number of ports from `<port>/<count>`, if given.
    pub port_count: Option<u16>,
    /// Transport protocol, e.g. `RTP/AVP`.
    pub protocol: String,
    /// Format list; for RTP these are payload type numbers.
    pub formats: Vec<String>,
    /// Media-level `c=`, overriding the session-level one.
    pub connection: Option<Connection>,
    /// `a=rtpmap` lines in order.
    pub rtpmaps: Vec<RtpMap>,
    /// `a=fmtp` lines in order.
    pub fmtps: Vec<Fmtp>,
    /// Media-level direction attribute.
    pub direction: Option<Direction>,
    /// `a=ptime` in ms.
    pub ptime_ms: Option<u32>,
}

impl MediaDescription {
    /// Formats that are valid RTP payload type numbers (0-127), in order.
    pub fn payload_types(&self) -> Vec<u8> {
        self.formats
            .iter()
            .filter_map(|f| f.parse::<u8>().ok())
            .filter(|pt| *pt < 128)
            .collect()
    }

    /// The rtpmap for `pt`, if any.
    pub fn rtpmap(&self, pt: u8) -> Option<&RtpMap> {
        self.rtpmaps.iter().find(|m| m.payload_type == pt)
    }

    /// The fmtp parameters for `pt`, if any.
    pub fn fmtp(&self, pt: u8) -> Option<&str> {
        self.fmtps
            .iter()
            .find(|f| f.payload_type == pt)
            .map(|f| f.params.as_str())
    }
}

/// A parsed session description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionDescription {
    /// `o=` line.
    pub origin: Origin,
    /// `s=` text (empty if absent).
    pub session_name: String,
    /// Session-level `c=`.
    pub connection: Option<Connection>,
    /// Session-level direction attribute.
    pub direction: Option<Direction>,
    /// Session-level `a=ptime` (not in RFC 4566 at this level, but common).
    pub ptime_ms: Option<u32>,
    /// `m=` sections in order.
    pub media: Vec<MediaDescription>,
}

impl SessionDescription {
    /// Direction of media section `m`: its own attribute, else the
    /// session-level one, else sendrecv (RFC 4566 §6, RFC 3264 §5.1).
    pub fn media_direction(&self, m: &MediaDescription) -> Direction {
        m.direction.or(self.direction).unwrap_or_default()
    }

    /// Connection address for media section `m` (media-level wins,
    /// RFC 4566 §5.7).
    pub fn media_connection(&self, m: &MediaDescription) -> Option<Connection> {
        m.connection.or(self.connection)
    }
}

fn parse_origin(value: &str, line: usize) -> Result<Origin, SdpError> {
    let f: Vec<&str> = value.split_ascii_whitespace().collect();
    let [username, session_id, session_version, net_type, addr_type, address] = f[..] else {
        return Err(line_err(line, "o= needs 6 fields"));
    };
    Ok(Origin {
        username: username.to_owned(),
        session_id: session_id.to_owned(),
        session_version: session_version.to_owned(),
        net_type: net_type.to_owned(),
        addr_type: addr_type.to_owned(),
        address: address.to_owned(),
    })
}

fn parse_connection(value: &str, line: usize) -> Result<Connection, SdpError> {
    let mut it = value.split_ascii_whitespace();
    let (Some(net), Some(addr_type), Some(addr), None) =
        (it.next(), it.next(), it.next(), it.next())
    else {
        return Err(line_err(line, "c= needs 3 fields"));
    };
    if net != "IN" {
        return Err(line_err(line, "c= network type is not IN"));
    }
    // Multicast addresses may carry /ttl and /count suffixes (§5.7); the
    // address itself is what precedes the first slash.
    let host = addr.split('/').next().unwrap_or(addr);
    let address = match addr_type {
        "IP4" => host
            .parse::<Ipv4Addr>()
            .map(IpAddr::V4)
            .map_err(|_| line_err(line, "c= IP4 address is not a literal IPv4 address"))?,
        "IP6" => host
            .parse::<Ipv6Addr>()
            .map(IpAddr::V6)
            .map_err(|_| line_err(line, "c= IP6 address is not a literal IPv6 address"))?,
        _ => return Err(line_err(line, "c= address type is not IP4 or IP6")),
    };
    Ok(Connection { address })
}

fn parse_media(value: &str, line: usize) -> Result<MediaDescription, SdpError> {
    let mut it = value.split_ascii_whitespace();
    let (Some(kind), Some(port_field), Some(protocol)) = (it.next(), it.next(), it.next()) else {
        return Err(line_err(line, "m= needs media, port and protocol"));
    };
    let (port_text, count_text) = match port_field.split_once('/') {
        Some((p, c)) => (p, Some(c)),
        None => (port_field, None),
    };
    let port = port_text
        .parse::<u16>()
        .map_err(|_| line_err(line, "m= port is not a number 0-65535"))?;
    let port_count = match count_text {
        Some(c) => Some(
            c.parse::<u16>()
                .map_err(|_| line_err(line, "m= port count is not a number"))?,
        ),
        None => None,
    };
    Ok(MediaDescription {
        kind: kind.to_owned(),
        port,
        port_count,
        protocol: protocol.to_owned(),
        formats: it.map(str::to_owned).collect(),
        connection: None,
        rtpmaps: Vec::new(),
        fmtps: Vec::new(),
        direction: None,
        ptime_ms: None,
    })
}

fn parse_payload_type(text: &str, line: usize) -> Result<u8, SdpError> {
    match text.parse::<u8>() {
        Ok(pt) if pt < 128 => Ok(pt),
        _ => Err(line_err(line, "payload type is not a number 0-127")),
    }
}

fn parse_rtpmap(value: &str, line: usize) -> Result<RtpMap, SdpError> {
    // a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]
    let (pt, rest) = value
        .split_once(' ')
        .ok_or_else(|| line_err(line, "rtpmap needs '<pt> <name>/<rate>'"))?;
    let payload_type = parse_payload_type(pt.trim(), line)?;
    let mut parts = rest.trim().split('/');
    let encoding = parts.next().unwrap_or("");
    if encoding.is_empty() {
        return Err(line_err(line, "rtpmap encoding name is empty"));
    }
    let clock_rate = parts
        .next()
        .and_then(|r| r.parse::<u32>().ok())
        .filter(|r| *r > 0)
        .ok_or_else(|| line_err(line, "rtpmap clock rate is missing or not a number"))?;
    let channels = match parts.next() {
        Some(c) => Some(
            c.parse::<u16>()
                .map_err(|_| line_err(line, "rtpmap channel count is not a number"))?,
        ),
        None => None,
    };
    if parts.next().is_some() {
        return Err(line_err(line, "rtpmap has too many '/' fields"));
    }
    Ok(RtpMap {
        payload_type,
        encoding: encoding.to_owned(),
        clock_rate,
        channels,
    })
}

fn parse_fmtp(value: &str, line: usize) -> Result<Fmtp, SdpError> {
    // a=fmtp:<format> <format specific parameters>
    let (pt, params) = value.split_once(' ').unwrap_or((value, ""));
    Ok(Fmtp {
        payload_type: parse_payload_type(pt.trim(), line)?,
        params: params.trim().to_owned(),
    })
}

fn parse_ptime(value: &str, line: usize) -> Result<u32, SdpError> {
    // RFC 4566 §6 gives milliseconds; some agents write a decimal ("20.0"),
    // whose whole part is what matters for G.711 framing.
    let value = value.trim();
    let whole = match value.split_once('.') {
        Some((w, frac)) if frac.bytes().all(|b| b.is_ascii_digit()) => w,
        Some(_) => return Err(line_err(line, "ptime is not a number")),
        None => value,
    };
    match whole.parse::<u32>() {
        Ok(ms) if ms > 0 => Ok(ms),
        _ => Err(line_err(line, "ptime is not a positive number")),
    }
}

/// Parse an SDP body (RFC 4566).
///
/// Accepts `\r\n` or bare `\n` line endings and blank lines. Requires
/// `v=0` first and an `o=` line (RFC 4566 §5). Unknown line types and
/// attributes are skipped. Connection addresses must be literal IPs.
pub fn parse(text: &str) -> Result<SessionDescription, SdpError> {
    if text.len() > MAX_SDP_LEN {
        return Err(SdpError::TooLarge(text.len()));
    }

    let mut origin = None;
    let mut session_name = String::new();
    let mut connection = None;
    let mut direction = None;
    let mut ptime_ms = None;
    let mut media: Vec<MediaDescription> = Vec::new();
    let mut seen_version = false;

    for (index, raw) in text.split('\n').enumerate() {
        let line = index + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if raw.len() > MAX_LINE_LEN {
            return Err(line_err(line, "line longer than 1024 bytes"));
        }
        if raw.trim().is_empty() {
            continue;
        }
        // RFC 4566 §5: every line is <type>=<value>, type a single letter.
        let bytes = raw.as_bytes();
        if bytes.len() < 2 || !bytes[0].is_ascii_lowercase() || bytes[1] != b'=' {
            return Err(line_err(line, "expected '<letter>=<value>'"));
        }
        let kind = char::from(bytes[0]);
        let value = &raw[2..];

        if !seen_version {
            if kind != 'v' {
                return Err(line_err(line, "first line must be v="));
            }
            if value.trim() != "0" {
                return Err(line_err(line, "unsupported SDP version (only v=0)"));
            }
            seen_version = true;
            continue;
        }

        match kind {
            'o' => origin = Some(parse_origin(value, line)?),
            's' if media.is_empty() => session_name = value.to_owned(),
            'c' => {
                let c = parse_connection(value, line)?;
                match media.last_mut() {
                    Some(m) => m.connection = Some(c),
                    None => connection = Some(c),
                }
            }
            'm' => {
                if media.len() >= MAX_MEDIA {
                    return Err(line_err(line, "more than 64 m= sections"));
                }
                media.push(parse_media(value, line)?);
            }
            'a' => {
                let (name, attr_value) = match value.split_once(':') {
                    Some((n, v)) => (n, Some(v)),
                    None => (value, None),
                };
                let name = name.trim();
                if let Some(d) = Direction::from_attribute(name) {
                    match media.last_mut() {
                        Some(m) => m.direction = Some(d),
                        None => direction = Some(d),
                    }
                    continue;
                }
                match (name, attr_value) {
                    ("rtpmap", Some(v)) => {
                        let map = parse_rtpmap(v, line)?;
                        // rtpmap is media-level only (§6); at session level
                        // it has no stream to apply to and is ignored.
                        if let Some(m) = media.last_mut() {
                            m.rtpmaps.push(map);
                        }
                    }
                    ("fmtp", Some(v)) => {
                        let f = parse_fmtp(v, line)?;
                        if let Some(m) = media.last_mut() {
                            m.fmtps.push(f);
                        }
                    }
                    ("ptime", Some(v)) => {
                        let p = parse_ptime(v, line)?;
                        match media.last_mut() {
                            Some(m) => m.ptime_ms = Some(p),
                            None => ptime_ms = Some(p),
                        }
                    }
                    ("rtpmap" | "fmtp" | "ptime", None) => {
                        return Err(line_err(line, "attribute needs a value"));
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }

    if !seen_version {
        return Err(SdpError::Empty);
    }
    let origin = origin.ok_or(SdpError::Missing('o'))?;
    Ok(SessionDescription {
        origin,
        session_name,
        connection,
        direction,
        ptime_ms,
        media,
    })
}

/// What we can do on a call: codecs in our preference order and whether
/// we handle RFC 4733 telephone-events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalMediaConfig {
    /// Supported codecs, most preferred first (used for our own offers).
    pub codecs: Vec<Codec>,
    /// Whether to negotiate telephone-event/8000.
    pub telephone_event: bool,
}

impl Default for LocalMediaConfig {
    fn default() -> Self {
        LocalMediaConfig {
            codecs: vec![Codec::Pcmu, Codec::Pcma],
            telephone_event: true,
        }
    }
}

/// An offered m= line we did not take; RFC 3264 §6 requires the answer to
/// repeat it, with port 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RejectedMedia {
    /// Media type as offered.
    pub kind: String,
    /// Protocol as offered.
    pub protocol: String,
    /// First offered format (the answer must list at least one, §6).
    pub format: String,
}

/// Result of accepting an offer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Negotiated {
    /// Codec chosen.
    pub codec: Codec,
    /// Payload type the offerer used for it (static or dynamic).
    pub payload_type: u8,
    /// Offered telephone-event/8000 payload type, if we both support it.
    pub telephone_event_payload_type: Option<u8>,
    /// Where to send RTP; `None` when the offer's address is 0.0.0.0 / ::,
    /// the pre-RFC 3264 way to put a call on hold (RFC 3264 §8.4).
    pub remote_address: Option<SocketAddr>,
    /// Offered RTP port.
    pub remote_port: u16,
    /// Direction of the accepted stream as the offerer stated it.
    pub direction: Direction,
    /// Offered packetisation time, or 20 ms.
    pub ptime_ms: u32,
    /// Index of the accepted m= line in the offer.
    pub media_index: usize,
    /// Every offered m= line by position; `None` at `media_index`.
    pub rejected_media: Vec<Option<RejectedMedia>>,
}

/// Why an offer cannot be accepted. All map to SIP 488 Not Acceptable Here
/// (RFC 3261 §21.4.26), see [`NegotiationError::sip_status`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum NegotiationError {
    /// No active audio stream in the offer.
    #[error("offer has no active audio stream")]
    NoAudio,
    /// Audio is offered only over a transport we do not speak (SRTP, DTLS).
    #[error("audio offered only over unsupported transports (need RTP/AVP)")]
    UnsupportedTransport,
    /// No offered payload format is one we support.
    #[error("no codec in common")]
    NoCommonCodec,
    /// Neither the session nor the stream has a c= line (RFC 4566 §5.7).
    #[error("no connection address for the audio stream")]
    NoConnection,
}

impl NegotiationError {
    /// SIP response code to reject the INVITE with.
    pub const fn sip_status(self) -> u16 {
        488
    }
}

fn codec_for(m: &MediaDescription, pt: u8) -> Option<Codec> {
    match m.rtpmap(pt) {
        Some(map) => {
            let mono = map.channels.is_none_or(|c| c == 1);
            if map.clock_rate != 8000 || !mono {
                return None;
            }
            if map.encoding.eq_ignore_ascii_case("PCMU") {
                Some(Codec::Pcmu)
            } else if map.encoding.eq_ignore_ascii_case("PCMA") {
                Some(Codec::Pcma)
            } else {
                None
            }
        }
        // Static payload types need no rtpmap (RFC 3551 §6).
        None => Codec::from_payload_type(pt),
    }
}

fn telephone_event_pt(m: &MediaDescription) -> Option<u8> {
    // RFC 4733 §7.1.1: telephone-event/<rate> must use the audio codec's
    // clock, so only the 8000 Hz variant is usable with G.711.
    m.payload_types().into_iter().find(|&pt| {
        m.rtpmap(pt).is_some_and(|map| {
            map.encoding.eq_ignore_ascii_case("telephone-event") && map.clock_rate == 8000
        })
    })
}

/// Accept an offer (RFC 3264 §6): pick the first active RTP/AVP audio
/// stream and, within it, the first offered codec we support, honouring
/// the offerer's preference order (RFC 3264 §5.1).
pub fn negotiate(
    offer: &SessionDescription,
    local: &LocalMediaConfig,
) -> Result<Negotiated, NegotiationError> {
    let mut saw_audio = false;
    let mut saw_avp = false;
    let mut chosen = None;
    for (index, m) in offer.media.iter().enumerate() {
        if !m.kind.eq_ignore_ascii_case("audio") || m.port == 0 {
            continue;
        }
        saw_audio = true;
        if m.protocol != "RTP/AVP" {
            continue;
        }
        saw_avp = true;
        let codec = m.payload_types().into_iter().find_map(|pt| {
            codec_for(m, pt)
                .filter(|c| local.codecs.contains(c))
                .map(|c| (c, pt))
        });
        if let Some((codec, pt)) = codec {
            chosen = Some((index, m, codec, pt));
            break;
        }
    }
    let Some((media_index, m, codec, payload_type)) = chosen else {
        return Err(if !saw_audio {
            NegotiationError::NoAudio
        } else if !saw_avp {
            NegotiationError::UnsupportedTransport
        } else {
            NegotiationError::NoCommonCodec
        });
    };

    let connection = offer
        .media_connection(m)
        .ok_or(NegotiationError::NoConnection)?;
    let remote_address = if connection.address.is_unspecified() {
        None
    } else {
        Some(SocketAddr::new(connection.address, m.port))
    };

    let rejected_media = offer
        .media
        .iter()
        .enumerate()
        .map(|(i, other)| {
            (i != media_index).then(|| RejectedMedia {
                kind: other.kind.clone(),
                protocol: other.protocol.clone(),
                format: other.formats.first().cloned().unwrap_or_else(|| "0".into()),
            })
        })
        .collect();

    Ok(Negotiated {
        codec,
        payload_type,
        telephone_event_payload_type: if local.telephone_event {
            telephone_event_pt(m)
        } else {
            None
        },
        remote_address,
        remote_port: m.port,
        direction: offer.media_direction(m),
        ptime_ms: m.ptime_ms.or(offer.ptime_ms).unwrap_or(DEFAULT_PTIME_MS),
        media_index,
        rejected_media,
    })
}

fn addr_type(ip: IpAddr) -> &'static str {
    match ip {
        IpAddr::V4(_) => "IP4",
        IpAddr::V6(_) => "IP6",
    }
}

fn write_session_header(
    out: &mut String,
    local_address: IpAddr,
    session_id: u64,
    session_version: u64,
) {
    let at = addr_type(local_address);
    // Writing to a String cannot fail.
    let _ = write!(
        out,
        "v=0\r\n\
         o=switchboard {session_id} {session_version} IN {at} {local_address}\r\n\
         s=switchboard\r\n\
         c=IN {at} {local_address}\r\n\
         t=0 0\r\n"
    );
}

fn write_telephone_event(out: &mut String, pt: u8) {
    // RFC 4733 §7.1.1: events 0-15 are the DTMF digits, 16 is flash.
    let _ = write!(
        out,
        "a=rtpmap:{pt} telephone-event/8000\r\na=fmtp:{pt} 0-16\r\n"
    );
}

/// Build the answer to an offer accepted by [`negotiate`].
///
/// One codec (with the offer's payload type) plus telephone-event when
/// negotiated, `a=ptime:20`, and the direction from RFC 3264 §6.1 combined
/// with `our_direction`. Other offered m= lines are repeated with port 0 in
/// their original positions (RFC 3264 §6).
pub fn build_answer(
    negotiated: &Negotiated,
    local_address: IpAddr,
    local_port: u16,
    session_id: u64,
    session_version: u64,
    our_direction: Direction,
) -> String {
    let mut out = String::with_capacity(384);
    write_session_header(&mut out, local_address, session_id, session_version);
    let slots = negotiated
        .rejected_media
        .len()
        .max(negotiated.media_index.saturating_add(1));
    for i in 0..slots {
        if let Some(Some(r)) = negotiated.rejected_media.get(i) {
            let _ = write!(out, "m={} 0 {} {}\r\n", r.kind, r.protocol, r.format);
            continue;
        }
        if i != negotiated.media_index {
            continue;
        }
        let pt = negotiated.payload_type;
        let _ = write!(out, "m=audio {local_port} RTP/AVP {pt}");
        if let Some(te) = negotiated.telephone_event_payload_type {
            let _ = write!(out, " {te}");
        }
        let _ = write!(
            out,
            "\r\na=rtpmap:{pt} {}/8000\r\n",
            negotiated.codec.name()
        );
        if let Some(te) = negotiated.telephone_event_payload_type {
            write_telephone_event(&mut out, te);
        }
        let _ = write!(
            out,
            "a=ptime:{DEFAULT_PTIME_MS}\r\na={}\r\n",
            negotiated.direction.answer(our_direction).as_str()
        );
    }
    out
}

/// Build an offer for an outbound call: our codecs in preference order with
/// their static payload types, telephone-event on 101 if enabled.
pub fn build_offer(
    local: &LocalMediaConfig,
    local_address: IpAddr,
    local_port: u16,
    session_id: u64,
    session_version: u64,
    direction: Direction,
) -> String {
    let mut out = String::with_capacity(384);
    write_session_header(&mut out, local_address, session_id, session_version);
    // A codec listed twice in the config is offered once.
    let mut codecs: Vec<Codec> = Vec::with_capacity(local.codecs.len());
    for c in &local.codecs {
        if !codecs.contains(c) {
            codecs.push(*c);
        }
    }
    let _ = write!(out, "m=audio {local_port} RTP/AVP");
    for c in &codecs {
        let _ = write!(out, " {}", c.payload_type());
    }
    if local.telephone_event {
        let _ = write!(out, " {OFFER_TELEPHONE_EVENT_PT}");
    }
    out.push_str("\r\n");
    for c in &codecs {
        let _ = write!(out, "a=rtpmap:{} {}/8000\r\n", c.payload_type(), c.name());
    }
    if local.telephone_event {
        write_telephone_event(&mut out, OFFER_TELEPHONE_EVENT_PT);
    }
    let _ = write!(
        out,
        "a=ptime:{DEFAULT_PTIME_MS}\r\na={}\r\n",
        direction.as_str()
    );
    out
}
