//! RTP fixed header parsing and building (RFC 3550 §5.1).
//!
//! Parsing borrows from the datagram and building writes into a caller
//! buffer, so neither allocates per packet.

use thiserror::Error;

/// Length of the fixed RTP header (RFC 3550 §5.1).
pub const RTP_HEADER_LEN: usize = 12;
/// The only RTP version in use (RFC 3550 §5.1, field V).
pub const RTP_VERSION: u8 = 2;

/// Why a datagram is not a well-formed RTP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum RtpError {
    /// Shorter than the 12-byte fixed header.
    #[error("packet is {0} bytes, shorter than the 12-byte RTP header")]
    TooShort(usize),
    /// Version field is not 2.
    #[error("unsupported RTP version {0}")]
    BadVersion(u8),
    /// The CSRC list runs past the end of the packet.
    #[error("CSRC list truncated")]
    TruncatedCsrc,
    /// The header extension runs past the end of the packet.
    #[error("header extension truncated")]
    TruncatedExtension,
    /// Padding count is zero or larger than what follows the header.
    #[error("invalid padding length {0}")]
    BadPadding(u8),
}

/// Header extension (RFC 3550 §5.3.1): a 16-bit profile-defined value and
/// the extension body (a whole number of 32-bit words).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtpExtension<'a> {
    /// "defined by profile" field, e.g. 0xBEDE for RFC 8285 one-byte headers.
    pub profile: u16,
    /// Extension body, without its 4-byte preamble.
    pub data: &'a [u8],
}

/// A parsed RTP packet borrowing the datagram it came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    /// Always 2 for a successfully parsed packet.
    pub version: u8,
    /// P bit: the payload was followed by padding (already stripped).
    pub padding: bool,
    /// M bit; for audio it flags the first packet of a talkspurt
    /// (RFC 3551 §4.1) and for telephone-event the start of an event.
    pub marker: bool,
    /// 7-bit payload type.
    pub payload_type: u8,
    /// Sequence number.
    pub sequence: u16,
    /// RTP timestamp in units of the payload's clock.
    pub timestamp: u32,
    /// Synchronisation source.
    pub ssrc: u32,
    /// Raw CSRC list, 4 bytes per contributor (see [`RtpPacket::csrcs`]).
    pub csrc: &'a [u8],
    /// Header extension if the X bit was set.
    pub extension: Option<RtpExtension<'a>>,
    /// Payload with the header, extension and padding removed.
    pub payload: &'a [u8],
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

impl<'a> RtpPacket<'a> {
    /// Parse one RTP datagram (RFC 3550 §5.1, §5.3.1).
    pub fn parse(bytes: &'a [u8]) -> Result<RtpPacket<'a>, RtpError> {
        if bytes.len() < RTP_HEADER_LEN {
            return Err(RtpError::TooShort(bytes.len()));
        }
        let b0 = bytes[0];
        let b1 = bytes[1];
        let version = b0 >> 6;
        if version != RTP_VERSION {
            return Err(RtpError::BadVersion(version));
        }
        let padding = b0 & 0x20 != 0;
        let has_extension = b0 & 0x10 != 0;
        let csrc_count = usize::from(b0 & 0x0F);
        let marker = b1 & 0x80 != 0;
        let payload_type = b1 & 0x7F;
        let sequence = u16::from_be_bytes([bytes[2], bytes[3]]);
        let timestamp = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
        let ssrc = u32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);

        // CC counts 32-bit CSRC identifiers following the fixed header.
        let csrc_end = RTP_HEADER_LEN + 4 * csrc_count;
        let csrc = bytes
            .get(RTP_HEADER_LEN..csrc_end)
            .ok_or(RtpError::TruncatedCsrc)?;

        // §5.3.1: a 4-byte preamble (profile, length in 32-bit words not
        // counting the preamble) followed by the extension body.
        let mut header_end = csrc_end;
        let extension = if has_extension {
            let profile = be16(bytes, header_end).ok_or(RtpError::TruncatedExtension)?;
            let words = be16(bytes, header_end + 2).ok_or(RtpError::TruncatedExtension)?;
            let data_start = header_end + 4;
            let data_end = data_start + 4 * usize::from(words);
            let data = bytes
                .get(data_start..data_end)
                .ok_or(RtpError::TruncatedExtension)?;
            header_end = data_end;
            Some(RtpExtension { profile, data })
        } else {
            None
        };

        let mut body = bytes.get(header_end..).unwrap_or(&[]);
        if padding {
            // §5.1: the last octet counts the padding octets including
            // itself, so it cannot be zero nor exceed what follows the header.
            let count = body.last().copied().unwrap_or(0);
            if count == 0 || usize::from(count) > body.len() {
                return Err(RtpError::BadPadding(count));
            }
            body = &body[..body.len() - usize::from(count)];
        }

        Ok(RtpPacket {
            version,
            padding,
            marker,
            payload_type,
            sequence,
            timestamp,
            ssrc,
            csrc,
            extension,
            payload: body,
        })
    }

    /// Number of CSRC identifiers present.
    pub fn csrc_count(&self) -> usize {
        self.csrc.len() / 4
    }

    /// Iterate over the contributing sources.
    pub fn csrcs(&self) -> impl Iterator<Item = u32> + 'a {
        self.csrc
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
    }
}

/// Parse one RTP datagram; shorthand for [`RtpPacket::parse`].
pub fn parse(bytes: &[u8]) -> Result<RtpPacket<'_>, RtpError> {
    RtpPacket::parse(bytes)
}

/// Fill a 12-byte fixed header with no padding, extension or CSRCs
/// (RFC 3550 §5.1). `payload_type` is masked to its 7 bits.
pub fn write_header(
    buf: &mut [u8; RTP_HEADER_LEN],
    marker: bool,
    payload_type: u8,
    sequence: u16,
    timestamp: u32,
    ssrc: u32,
) {
    buf[0] = RTP_VERSION << 6;
    buf[1] = (u8::from(marker) << 7) | (payload_type & 0x7F);
    buf[2..4].copy_from_slice(&sequence.to_be_bytes());
    buf[4..8].copy_from_slice(&timestamp.to_be_bytes());
    buf[8..12].copy_from_slice(&ssrc.to_be_bytes());
}

/// Whether a datagram on a shared RTP/RTCP port is RTCP.
///
/// RFC 5761 §4: RTCP packet types 200-204 (SR, RR, SDES, BYE, APP) sit in
/// the second octet, where RTP carries marker + payload type. Payload types
/// 64-95 must not be used when multiplexing, so any second octet in
/// 192..=223 is RTCP; this also covers later RTCP types such as 205-207
/// (RFC 4585 feedback, RFC 3611 XR).
pub fn is_rtcp(bytes: &[u8]) -> bool {
    match bytes {
        [b0, b1, ..] => b0 >> 6 == RTP_VERSION && (192..=223).contains(b1),
        _ => false,
    }
}

/// Builds the outgoing RTP stream of one source.
///
/// The caller picks the SSRC and initial sequence/timestamp; RFC 3550 §5.1
/// asks for them to be random, and this module has no randomness of its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RtpSender {
    /// Our synchronisation source identifier.
    pub ssrc: u32,
    /// Sequence number the next packet will carry.
    pub next_sequence: u16,
    /// Timestamp the next media packet will carry.
    pub next_timestamp: u32,
    /// Packets sent so far (RTCP SR sender's packet count, RFC 3550 §6.4.1);
    /// wraps like the 32-bit field it feeds.
    pub packet_count: u32,
    /// Payload octets sent so far (RTCP SR sender's octet count, §6.4.1).
    pub octet_count: u32,
}

impl RtpSender {
    /// Start a stream with the given SSRC and initial counters.
    pub fn new(ssrc: u32, initial_sequence: u16, initial_timestamp: u32) -> Self {
        RtpSender {
            ssrc,
            next_sequence: initial_sequence,
            next_timestamp: initial_timestamp,
            packet_count: 0,
            octet_count: 0,
        }
    }

    /// Build the next media packet into `out` (cleared first).
    ///
    /// The packet carries the current timestamp; afterwards the timestamp
    /// advances by `samples` (the payload's duration in clock ticks) and the
    /// sequence number by one, both wrapping modulo 2^32 / 2^16.
    pub fn next_packet(
        &mut self,
        payload_type: u8,
        payload: &[u8],
        samples: u32,
        marker: bool,
        out: &mut Vec<u8>,
    ) {
        let timestamp = self.next_timestamp;
        self.packet_at(payload_type, payload, timestamp, marker, out);
        self.next_timestamp = self.next_timestamp.wrapping_add(samples);
    }

    /// Build a packet with an explicit timestamp, without advancing the
    /// media timestamp. RFC 4733 §2.5.1.2 needs this: every packet of one
    /// telephone event repeats the event's start timestamp.
    pub fn packet_at(
        &mut self,
        payload_type: u8,
        payload: &[u8],
        timestamp: u32,
        marker: bool,
        out: &mut Vec<u8>,
    ) {
        let mut header = [0u8; RTP_HEADER_LEN];
        write_header(
            &mut header,
            marker,
            payload_type,
            self.next_sequence,
            timestamp,
            self.ssrc,
        );
        out.clear();
        out.reserve(RTP_HEADER_LEN + payload.len());
        out.extend_from_slice(&header);
        out.extend_from_slice(payload);
        self.next_sequence = self.next_sequence.wrapping_add(1);
        self.packet_count = self.packet_count.wrapping_add(1);
        // Truncating a huge payload length is fine: the field wraps anyway.
        self.octet_count = self.octet_count.wrapping_add(payload.len() as u32);
    }

    /// Advance the media timestamp without sending, e.g. across a period of
    /// suppressed silence (RFC 3550 §5.1: the timestamp keeps counting
    /// sampling instants whether or not packets are sent).
    pub fn skip(&mut self, samples: u32) {
        self.next_timestamp = self.next_timestamp.wrapping_add(samples);
    }
}

/// Whether sequence number `a` is newer than `b`, modulo 2^16
/// (RFC 3550 Appendix A.1 treats the space as circular).
pub fn sequence_newer(a: u16, b: u16) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000
}

/// Packets in sequence a new source must send before we answer it
/// (the same probation as RFC 3550 Appendix A.1's MIN_SEQUENTIAL, and
/// Asterisk's strict RTP learning).
pub const SOURCE_PROBATION: u8 = 4;

/// What [`SourceLearning::check`] says about one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceVerdict {
    /// From the source we already answer: take it.
    Accept,
    /// From a source we now answer (learnt or switched): take it and send there.
    Latch,
    /// From anyone else, or still on probation: drop it.
    Drop,
}

/// Which address a call's RTP is taken from and sent to (symmetric RTP,
/// RFC 4961), learnt so that a stray or forged stream cannot take a call's
/// audio.
///
/// - The address the SDP names is trusted at once, and wins back the call
///   whenever it is heard from: signalling vouches for it.
/// - Any other source (a caller behind NAT, whose SDP names a private
///   address) is answered only after [`SOURCE_PROBATION`] packets in sequence
///   from one SSRC, and only while no source is latched.
/// - Once latched, every other source is dropped.
///
/// A stream still flowing to a port reused by a new call (its old call has
/// ended) is what this keeps out; Switchboard once lost a call's audio to
/// exactly that.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceLearning {
    signalled: Option<std::net::SocketAddr>,
    latched: Option<std::net::SocketAddr>,
    /// Sources on probation: address, SSRC, last sequence, packets so far.
    /// Several at once, so a stray stream interleaved with the caller's
    /// cannot keep resetting the caller's probation.
    candidates: Vec<(std::net::SocketAddr, u32, u16, u8)>,
}

/// Sources on probation at once; the oldest gives way.
const MAX_CANDIDATES: usize = 4;

impl SourceLearning {
    /// Starts learning afresh for the address an SDP offer or answer names
    /// (`None`: it names none, e.g. hold with c=0.0.0.0).
    pub fn new(signalled: Option<std::net::SocketAddr>) -> SourceLearning {
        SourceLearning {
            signalled,
            latched: None,
            candidates: Vec::new(),
        }
    }

    /// The address the SDP named.
    pub fn signalled(&self) -> Option<std::net::SocketAddr> {
        self.signalled
    }

    /// The source latched, if any.
    pub fn latched(&self) -> Option<std::net::SocketAddr> {
        self.latched
    }

    /// Judges one packet from `source` carrying `ssrc` and `sequence`.
    pub fn check(
        &mut self,
        source: std::net::SocketAddr,
        ssrc: u32,
        sequence: u16,
    ) -> SourceVerdict {
        if self.latched == Some(source) {
            return SourceVerdict::Accept;
        }
        if self.signalled == Some(source) {
            self.latched = Some(source);
            self.candidates.clear();
            return SourceVerdict::Latch;
        }
        if self.latched.is_some() {
            return SourceVerdict::Drop;
        }
        let known = self
            .candidates
            .iter()
            .position(|&(address, candidate_ssrc, _, _)| {
                address == source && candidate_ssrc == ssrc
            });
        let count = match known.map(|index| self.candidates[index]) {
            Some((_, _, last, count)) if sequence == last.wrapping_add(1) => count + 1,
            _ => 1,
        };
        if count >= SOURCE_PROBATION {
            self.latched = Some(source);
            self.candidates.clear();
            return SourceVerdict::Latch;
        }
        match known {
            Some(index) => self.candidates[index] = (source, ssrc, sequence, count),
            None => {
                if self.candidates.len() >= MAX_CANDIDATES {
                    self.candidates.remove(0);
                }
                self.candidates.push((source, ssrc, sequence, count));
            }
        }
        SourceVerdict::Drop
    }
}
