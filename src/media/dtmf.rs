//! DTMF: RFC 4733 telephone-events (out of band) and an in-band Goertzel
//! detector for callers whose gateway sends the tones as audio.

/// Map an RFC 4733 event code to its DTMF digit (RFC 4733 §3.2, table 1:
/// 0-9, 10 = '*', 11 = '#', 12-15 = 'A'-'D').
pub const fn event_to_digit(event: u8) -> Option<char> {
    match event {
        0..=9 => Some((b'0' + event) as char),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some((b'A' + (event - 12)) as char),
        _ => None,
    }
}

/// Map a DTMF digit to its RFC 4733 event code (case-insensitive A-D).
pub const fn digit_to_event(digit: char) -> Option<u8> {
    match digit {
        '0'..='9' => Some(digit as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        'A'..='D' => Some(digit as u8 - b'A' + 12),
        'a'..='d' => Some(digit as u8 - b'a' + 12),
        _ => None,
    }
}

/// One telephone-event payload (RFC 4733 §2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// Event code.
    pub event: u8,
    /// E bit: this packet reports the end of the event.
    pub end: bool,
    /// Volume in -dBm0, 0..=63 (power level with the sign dropped).
    pub volume: u8,
    /// Duration so far, in RTP timestamp units, from the event's start.
    pub duration: u16,
}

impl TelephoneEvent {
    /// Decode the first four bytes of a payload; `None` if shorter.
    ///
    /// Extra bytes are ignored: §2.3 allows several events per packet only
    /// via redundancy (RFC 2198), which arrives as a different payload type.
    pub fn parse(payload: &[u8]) -> Option<TelephoneEvent> {
        match payload {
            [event, flags, d_hi, d_lo, ..] => Some(TelephoneEvent {
                event: *event,
                end: flags & 0x80 != 0,
                volume: flags & 0x3F,
                duration: u16::from_be_bytes([*d_hi, *d_lo]),
            }),
            _ => None,
        }
    }

    /// Encode into the 4-byte wire format (R bit zero, §2.3).
    pub fn to_bytes(self) -> [u8; 4] {
        let d = self.duration.to_be_bytes();
        [
            self.event,
            (u8::from(self.end) << 7) | (self.volume & 0x3F),
            d[0],
            d[1],
        ]
    }
}

/// How many distinct event start timestamps the receiver remembers, to
/// swallow late duplicates of events already reported.
const EVENT_HISTORY: usize = 32;

/// Default reorder window: a packet whose event started this many clock
/// ticks before the newest event is considered stale (2 s at 8 kHz).
pub const DEFAULT_REORDER_WINDOW: u32 = 16_000;

/// Durations at or above this suggest the sender is about to split a long
/// event into segments (RFC 4733 §2.5.1.3, duration field saturates at
/// 0xFFFF).
const LONG_EVENT_DURATION: u16 = 0xF000;

/// Turns a stream of RFC 4733 telephone-event packets into digits.
///
/// Each event is identified by its RTP timestamp: RFC 4733 §2.5.1.2 makes
/// every packet of one event (start, updates, the three repeated ends of
/// §2.5.1.4) carry the timestamp of the event's start. A digit is reported
/// on the first packet seen of an event, whichever kind it is, so a lost
/// start packet still yields the digit, and never again for that event.
#[derive(Clone, Debug)]
pub struct TelephoneEventReceiver {
    /// Ring of recently seen event start timestamps.
    history: [u32; EVENT_HISTORY],
    history_len: usize,
    history_next: usize,
    /// Most recent (newest-timestamp) event, for the stale window and for
    /// stitching long-event segments.
    newest: Option<LastEvent>,
    reorder_window: u32,
}

#[derive(Clone, Copy, Debug)]
struct LastEvent {
    timestamp: u32,
    event: u8,
    ended: bool,
    max_duration: u16,
}

impl Default for TelephoneEventReceiver {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether RTP timestamp `a` is later than `b`, modulo 2^32.
fn ts_newer(a: u32, b: u32) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000_0000
}

impl TelephoneEventReceiver {
    /// Receiver with the default reorder window.
    pub fn new() -> Self {
        Self::with_reorder_window(DEFAULT_REORDER_WINDOW)
    }

    /// Receiver that drops packets of events starting more than `window`
    /// clock ticks before the newest event seen (use 6x for 48 kHz clocks).
    pub fn with_reorder_window(window: u32) -> Self {
        TelephoneEventReceiver {
            history: [0; EVENT_HISTORY],
            history_len: 0,
            history_next: 0,
            newest: None,
            reorder_window: window,
        }
    }

    fn seen(&self, timestamp: u32) -> bool {
        self.history[..self.history_len].contains(&timestamp)
    }

    fn remember(&mut self, timestamp: u32) {
        self.history[self.history_next] = timestamp;
        self.history_next = (self.history_next + 1) % EVENT_HISTORY;
        self.history_len = (self.history_len + 1).min(EVENT_HISTORY);
    }

    /// Feed one telephone-event packet; returns the digit if this packet
    /// is the first one seen of a new DTMF event.
    ///
    /// The marker bit is not needed for this: it only flags the start
    /// packet (§2.5.1.2), which may be lost.
    pub fn on_packet(&mut self, rtp_timestamp: u32, marker: bool, payload: &[u8]) -> Option<char> {
        let _ = marker;
        let ev = TelephoneEvent::parse(payload)?;
        // Non-DTMF events (flash, line tones, 16+) are not digits.
        let digit = event_to_digit(ev.event)?;

        if self.seen(rtp_timestamp) {
            if let Some(last) = self.newest.as_mut() {
                if last.timestamp == rtp_timestamp {
                    last.ended |= ev.end;
                    last.max_duration = last.max_duration.max(ev.duration);
                }
            }
            return None;
        }

        if let Some(last) = self.newest {
            if ts_newer(last.timestamp, rtp_timestamp) {
                // Out-of-order packet of an older event. Accept it only if
                // it is recent; otherwise it is a stale duplicate whose
                // event may have already dropped out of the history.
                if last.timestamp.wrapping_sub(rtp_timestamp) > self.reorder_window {
                    return None;
                }
                self.remember(rtp_timestamp);
                return Some(digit);
            }
            // §2.5.1.3: an event longer than the 16-bit duration field is
            // sent as segments with new timestamps, the next starting where
            // the previous ended. Treat such a continuation as the same
            // press rather than a new digit.
            let gap = rtp_timestamp.wrapping_sub(last.timestamp);
            let continuation = !last.ended
                && last.event == ev.event
                && last.max_duration >= LONG_EVENT_DURATION
                && gap <= u32::from(last.max_duration) + u32::from(u16::MAX - LONG_EVENT_DURATION);
            self.remember(rtp_timestamp);
            self.newest = Some(LastEvent {
                timestamp: rtp_timestamp,
                event: ev.event,
                ended: ev.end,
                max_duration: ev.duration,
            });
            if continuation {
                return None;
            }
            return Some(digit);
        }

        self.remember(rtp_timestamp);
        self.newest = Some(LastEvent {
            timestamp: rtp_timestamp,
            event: ev.event,
            ended: ev.end,
            max_duration: ev.duration,
        });
        Some(digit)
    }
}

/// Packets an RFC 4733 sender emits for one digit: `(marker, timestamp,
/// payload)` in sending order.
///
/// The first packet carries the marker bit (§2.5.1.2). Each packet reports
/// the duration so far, growing by `packet_interval_samples`; the event ends
/// with three identical packets with the E bit and the final duration
/// (§2.5.1.4). All carry `start_timestamp`. Durations are capped at 0xFFFF
/// (long-event segmentation, §2.5.1.3, is not produced). An unknown digit
/// yields no packets.
pub fn telephone_event_packets(
    digit: char,
    start_timestamp: u32,
    duration_samples: u32,
    packet_interval_samples: u32,
    volume: u8,
) -> Vec<(bool, u32, [u8; 4])> {
    let Some(event) = digit_to_event(digit) else {
        return Vec::new();
    };
    let total = duration_samples.min(u32::from(u16::MAX));
    let interval = packet_interval_samples.max(1);
    let mut packets = Vec::new();
    let mut elapsed = interval;
    while elapsed < total {
        let ev = TelephoneEvent {
            event,
            end: false,
            volume: volume & 0x3F,
            duration: elapsed as u16,
        };
        packets.push((packets.is_empty(), start_timestamp, ev.to_bytes()));
        elapsed = elapsed.saturating_add(interval);
    }
    let end = TelephoneEvent {
        event,
        end: true,
        volume: volume & 0x3F,
        duration: total as u16,
    };
    for _ in 0..3 {
        packets.push((packets.is_empty(), start_timestamp, end.to_bytes()));
    }
    packets
}

// ---------------------------------------------------------------------------
// In-band detection
// ---------------------------------------------------------------------------

/// Sample rate the in-band detector works at.
pub const INBAND_SAMPLE_RATE: u32 = 8000;
/// Goertzel block length: 105 samples = 13.1 ms at 8 kHz. The DTFT main
/// lobe of a 105-point window has its first null about 76 Hz away, close to
/// the 73-89 Hz spacing of the row tones, so a tone leaks very little into
/// its neighbours' filters.
pub const BLOCK_LEN: usize = 105;
/// DTMF row (low group) frequencies, Hz (ITU-T Q.23).
pub const ROW_FREQS: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
/// DTMF column (high group) frequencies, Hz (ITU-T Q.23).
pub const COL_FREQS: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
const KEYPAD: [[char; 4]; 4] = [
    ['1', '2', '3', 'A'],
    ['4', '5', '6', 'B'],
    ['7', '8', '9', 'C'],
    ['*', '0', '#', 'D'],
];

/// Strongest tone in a group must exceed each other tone of the group by
/// this power ratio (9 dB).
const GROUP_DOMINANCE: f32 = 7.9;
/// Normal twist: column tone up to 8 dB above the row tone (Q.24 allows
/// the high group to be louder, as line loss is higher there).
const MAX_NORMAL_TWIST: f32 = 6.31;
/// Reverse twist: row tone up to 4 dB above the column tone.
const MAX_REVERSE_TWIST: f32 = 2.51;
/// Share of the block's energy that must be in the two detected tones.
/// A tone filling the whole block scores about 1.0; one filling L of the
/// 105 samples scores about L/105, so 0.6 needs ~63 samples (8 ms) of tone
/// in a block, which keeps a 10 ms blip from satisfying two blocks.
const MIN_TONE_SHARE: f32 = 0.6;
/// Minimum estimated amplitude of each tone (≈ -50 dBFS), so line noise at
/// very low level is never taken for a digit.
const MIN_TONE_AMPLITUDE: f32 = 100.0;
/// Consecutive blocks a digit must be seen in before it is reported
/// (2 x 13.1 ms ≈ 26 ms; any 40 ms tone contains two whole blocks).
const MIN_ON_BLOCKS: u8 = 2;
/// Consecutive blocks without the current digit before it is released, so
/// that a single dropout in noise does not split a press in two, while a
/// 40 ms inter-digit gap (≥ 2 whole blocks) still separates presses.
const RELEASE_BLOCKS: u8 = 2;

/// Goertzel filter state for one frequency.
#[derive(Clone, Copy, Debug)]
struct Goertzel {
    coeff: f32,
    s1: f32,
    s2: f32,
}

impl Goertzel {
    fn new(freq: f32) -> Self {
        let w = 2.0 * std::f32::consts::PI * freq / INBAND_SAMPLE_RATE as f32;
        Goertzel {
            coeff: 2.0 * w.cos(),
            s1: 0.0,
            s2: 0.0,
        }
    }

    #[inline]
    fn push(&mut self, x: f32) {
        let s0 = x + self.coeff * self.s1 - self.s2;
        self.s2 = self.s1;
        self.s1 = s0;
    }

    /// |X(f)|^2 over the samples pushed since the last reset.
    fn power_and_reset(&mut self) -> f32 {
        let p = self.s1 * self.s1 + self.s2 * self.s2 - self.coeff * self.s1 * self.s2;
        self.s1 = 0.0;
        self.s2 = 0.0;
        p.max(0.0)
    }
}

/// In-band DTMF detector for 8 kHz linear audio.
///
/// Samples are processed in fixed 105-sample blocks regardless of how the
/// caller chunks them, so results do not depend on chunk size. Each block
/// is classified as a digit or nothing; a digit is reported once when seen
/// in [`MIN_ON_BLOCKS`] consecutive blocks, and the same digit is reported
/// again only after a gap of [`RELEASE_BLOCKS`] blocks without it.
#[derive(Clone, Debug)]
pub struct InbandDtmfDetector {
    rows: [Goertzel; 4],
    cols: [Goertzel; 4],
    block_energy: f32,
    block_fill: usize,
    candidate: Option<char>,
    candidate_blocks: u8,
    latched: Option<char>,
    misses: u8,
}

impl Default for InbandDtmfDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl InbandDtmfDetector {
    /// A detector in its idle state.
    pub fn new() -> Self {
        InbandDtmfDetector {
            rows: ROW_FREQS.map(Goertzel::new),
            cols: COL_FREQS.map(Goertzel::new),
            block_energy: 0.0,
            block_fill: 0,
            candidate: None,
            candidate_blocks: 0,
            latched: None,
            misses: 0,
        }
    }

    /// Forget any partial block and digit in progress.
    pub fn reset(&mut self) {
        *self = Self::new();
    }

    /// Feed samples; digits whose press is recognised are appended to `out`.
    pub fn process(&mut self, samples: &[i16], out: &mut Vec<char>) {
        for &s in samples {
            let x = f32::from(s);
            for g in self.rows.iter_mut().chain(self.cols.iter_mut()) {
                g.push(x);
            }
            self.block_energy += x * x;
            self.block_fill += 1;
            if self.block_fill == BLOCK_LEN {
                let digit = self.classify_block();
                self.block_fill = 0;
                self.block_energy = 0.0;
                if let Some(d) = self.track(digit) {
                    out.push(d);
                }
            }
        }
    }

    /// Decide whether the block just completed holds a valid DTMF pair.
    fn classify_block(&mut self) -> Option<char> {
        let rows = self.rows.each_mut().map(|g| g.power_and_reset());
        let cols = self.cols.each_mut().map(|g| g.power_and_reset());
        let energy = self.block_energy;

        let (ri, rp) = strongest(&rows);
        let (ci, cp) = strongest(&cols);

        // Amplitude of a sinusoid filling the block is 2|X|/N.
        let n = BLOCK_LEN as f32;
        let min_power = (MIN_TONE_AMPLITUDE * n / 2.0).powi(2);
        if rp < min_power || cp < min_power {
            return None;
        }
        if !dominates(&rows, ri) || !dominates(&cols, ci) {
            return None;
        }
        if cp > rp * MAX_NORMAL_TWIST || rp > cp * MAX_REVERSE_TWIST {
            return None;
        }
        // A full-block sinusoid of amplitude A has |X|^2 = (N A / 2)^2 and
        // energy N A^2 / 2, so 2 |X|^2 / N equals its energy: the ratio
        // below is the fraction of the block's energy in the two tones.
        let share = 2.0 * (rp + cp) / (n * energy.max(f32::MIN_POSITIVE));
        if share < MIN_TONE_SHARE {
            return None;
        }
        Some(KEYPAD[ri][ci])
    }

    /// Debounce per-block decisions into one report per press.
    fn track(&mut self, digit: Option<char>) -> Option<char> {
        if digit.is_some() && digit == self.latched {
            self.misses = 0;
            self.candidate = None;
            self.candidate_blocks = 0;
            return None;
        }
        if self.latched.is_some() {
            self.misses = self.misses.saturating_add(1);
            if self.misses >= RELEASE_BLOCKS {
                self.latched = None;
            }
        }
        let Some(d) = digit else {
            self.candidate = None;
            self.candidate_blocks = 0;
            return None;
        };
        if self.candidate == Some(d) {
            self.candidate_blocks = self.candidate_blocks.saturating_add(1);
        } else {
            self.candidate = Some(d);
            self.candidate_blocks = 1;
        }
        if self.candidate_blocks >= MIN_ON_BLOCKS {
            self.latched = Some(d);
            self.misses = 0;
            self.candidate = None;
            self.candidate_blocks = 0;
            return Some(d);
        }
        None
    }
}

fn strongest(powers: &[f32; 4]) -> (usize, f32) {
    let mut best = 0;
    for i in 1..4 {
        if powers[i] > powers[best] {
            best = i;
        }
    }
    (best, powers[best])
}

fn dominates(powers: &[f32; 4], best: usize) -> bool {
    powers
        .iter()
        .enumerate()
        .all(|(i, &p)| i == best || p * GROUP_DOMINANCE <= powers[best])
}
