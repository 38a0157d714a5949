//! ITU-T G.711 companding (μ-law and A-law).
//!
//! Both laws map a 16-bit linear sample onto an 8-bit code made of a sign
//! bit, a 3-bit segment (exponent) and a 4-bit step (mantissa). The segment
//! is found with `leading_zeros`, so encoding is branch-light integer math;
//! decoding is a lookup in 256-entry tables computed at compile time.
//!
//! Linear samples are taken as full-scale 16-bit values. G.711 itself is
//! specified on 14-bit (μ-law) and 13-bit (A-law) inputs, so the low bits of
//! the 16-bit sample are simply below the codec's resolution.

/// Bias added before μ-law segment search (G.711 §3: the μ-law curve is
/// piecewise linear with segment boundaries at 2^n - 33 in 14-bit units;
/// adding 33, i.e. 132 at 16-bit scale, turns them into powers of two).
const ULAW_BIAS: i32 = 0x84;
/// Largest magnitude that still fits in the top μ-law segment once biased.
const ULAW_CLIP: i32 = 32635;

/// A G.711 payload format usable on a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Codec {
    /// μ-law, static RTP payload type 0 (RFC 3551 §6, table 4).
    Pcmu,
    /// A-law, static RTP payload type 8 (RFC 3551 §6, table 4).
    Pcma,
}

impl Codec {
    /// Static RTP payload type assigned by RFC 3551 §6.
    pub const fn payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
        }
    }

    /// Encoding name as used in `a=rtpmap` (RFC 3551 §4.5.14).
    pub const fn name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }

    /// RTP clock rate; both G.711 laws are sampled at 8 kHz (RFC 3551 §4.5.14).
    pub const fn clock_rate(self) -> u32 {
        8000
    }

    /// Code word of a zero-level sample, used to fill silence.
    pub const fn silence_byte(self) -> u8 {
        match self {
            Codec::Pcmu => 0xFF,
            Codec::Pcma => 0xD5,
        }
    }

    /// Codec for a static payload type, if it is one of ours.
    pub const fn from_payload_type(pt: u8) -> Option<Codec> {
        match pt {
            0 => Some(Codec::Pcmu),
            8 => Some(Codec::Pcma),
            _ => None,
        }
    }

    /// Encode one sample.
    #[inline]
    pub fn encode(self, sample: i16) -> u8 {
        match self {
            Codec::Pcmu => linear_to_ulaw(sample),
            Codec::Pcma => linear_to_alaw(sample),
        }
    }

    /// Decode one code word.
    #[inline]
    pub fn decode(self, code: u8) -> i16 {
        match self {
            Codec::Pcmu => ulaw_to_linear(code),
            Codec::Pcma => alaw_to_linear(code),
        }
    }
}

/// Encode a 16-bit linear sample as μ-law.
#[inline]
pub fn linear_to_ulaw(sample: i16) -> u8 {
    let s = i32::from(sample);
    // Sign is carried separately; work on the magnitude (i32 so -32768 is safe).
    let (sign, magnitude) = if s < 0 { (0x80u8, -s) } else { (0, s) };
    let biased = magnitude.min(ULAW_CLIP) + ULAW_BIAS;
    // `biased` is in 132..=32767, so its top bit is bit 7..=14 and the
    // segment number is that bit index minus 7.
    let top_bit = 31 - biased.leading_zeros() as i32;
    let exponent = top_bit - 7;
    let mantissa = (biased >> (exponent + 3)) & 0x0F;
    // Code words are transmitted inverted (G.711 table 2a), which keeps the
    // line busy with ones during silence.
    !(sign | ((exponent as u8) << 4) | mantissa as u8)
}

const fn ulaw_decode_const(code: u8) -> i16 {
    let c = !code;
    let exponent = (c >> 4) & 0x07;
    let mantissa = (c & 0x0F) as i32;
    let magnitude = (((mantissa << 3) + ULAW_BIAS) << exponent) - ULAW_BIAS;
    if c & 0x80 != 0 {
        -magnitude as i16
    } else {
        magnitude as i16
    }
}

const fn build_ulaw_table() -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = ulaw_decode_const(i as u8);
        i += 1;
    }
    table
}

static ULAW_TO_LINEAR: [i16; 256] = build_ulaw_table();

/// Decode a μ-law code word to a 16-bit linear sample.
#[inline]
pub fn ulaw_to_linear(code: u8) -> i16 {
    ULAW_TO_LINEAR[usize::from(code)]
}

/// Encode a 16-bit linear sample as A-law.
#[inline]
pub fn linear_to_alaw(sample: i16) -> u8 {
    // A-law has no zero code: the negative half is the one's complement
    // (!x == -x - 1), which maps -1..-32768 onto 0..32767 without overflow.
    // Even bits are inverted on the line (G.711 table 1a), hence the 0x55
    // mask; positive values additionally carry the sign bit (0x80).
    let (mask, magnitude) = if sample >= 0 {
        (0xD5u8, sample as i32)
    } else {
        (0x55u8, !sample as i32)
    };
    // Reduce to the 13-bit range G.711 A-law is defined on.
    let m = magnitude >> 3;
    // Segment 0 and 1 share the same step size; above that each segment
    // doubles it. Segment = index of top bit minus 4, floored at 0.
    let segment = if m < 32 {
        0
    } else {
        (31 - m.leading_zeros() as i32) - 4
    };
    let step = if segment < 2 {
        (m >> 1) & 0x0F
    } else {
        (m >> segment) & 0x0F
    };
    (((segment as u8) << 4) | step as u8) ^ mask
}

const fn alaw_decode_const(code: u8) -> i16 {
    let c = code ^ 0x55;
    let segment = (c & 0x70) >> 4;
    let step = ((c & 0x0F) as i32) << 4;
    // Reconstruct at the middle of the quantisation interval (+8, and for
    // segments >= 1 the implicit leading one, 0x100).
    let magnitude = match segment {
        0 => step + 8,
        1 => step + 0x108,
        _ => (step + 0x108) << (segment - 1),
    };
    if c & 0x80 != 0 {
        magnitude as i16
    } else {
        -magnitude as i16
    }
}

const fn build_alaw_table() -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = alaw_decode_const(i as u8);
        i += 1;
    }
    table
}

static ALAW_TO_LINEAR: [i16; 256] = build_alaw_table();

/// Decode an A-law code word to a 16-bit linear sample.
#[inline]
pub fn alaw_to_linear(code: u8) -> i16 {
    ALAW_TO_LINEAR[usize::from(code)]
}

/// Append the encoding of `samples` to `out`.
///
/// Reserves once up front, so no reallocation happens when `out` already
/// has room for `samples.len()` more bytes.
pub fn encode_into(codec: Codec, samples: &[i16], out: &mut Vec<u8>) {
    out.reserve(samples.len());
    match codec {
        Codec::Pcmu => out.extend(samples.iter().map(|&s| linear_to_ulaw(s))),
        Codec::Pcma => out.extend(samples.iter().map(|&s| linear_to_alaw(s))),
    }
}

/// Append the decoding of `codes` to `out`.
///
/// Reserves once up front, so no reallocation happens when `out` already
/// has room for `codes.len()` more samples.
pub fn decode_into(codec: Codec, codes: &[u8], out: &mut Vec<i16>) {
    let table = match codec {
        Codec::Pcmu => &ULAW_TO_LINEAR,
        Codec::Pcma => &ALAW_TO_LINEAR,
    };
    out.reserve(codes.len());
    out.extend(codes.iter().map(|&c| table[usize::from(c)]));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_word_is_a_fixed_point_of_decode_then_encode() {
        // Decoding yields the reconstruction level of a quantisation
        // interval; re-encoding it must give the same code back (except the
        // μ-law negative zero 0x7F, which encodes as positive zero 0xFF).
        for code in 0..=255u8 {
            let u = ulaw_to_linear(code);
            if code != 0x7F {
                assert_eq!(linear_to_ulaw(u), code, "ulaw {code:#04x}");
            }
            let a = alaw_to_linear(code);
            assert_eq!(linear_to_alaw(a), code, "alaw {code:#04x}");
        }
    }
}
