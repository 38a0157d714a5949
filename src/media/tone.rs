//! Test-signal generators: DTMF pairs, sines, silence and white noise.
//!
//! Amplitudes are fractions of 16-bit full scale (1.0 = 32767) and are
//! clamped to 0.0..=1.0, so the output never wraps.

use super::dtmf::{COL_FREQS, ROW_FREQS};

/// Sample rate assumed by [`white_noise`], the telephony rate of G.711.
pub const DEFAULT_SAMPLE_RATE: u32 = 8000;

fn sample_count(duration_ms: u32, sample_rate: u32) -> usize {
    let n = u64::from(duration_ms) * u64::from(sample_rate) / 1000;
    usize::try_from(n).unwrap_or(usize::MAX)
}

fn full_scale(amplitude: f32) -> f32 {
    if amplitude.is_nan() {
        return 0.0;
    }
    amplitude.clamp(0.0, 1.0) * f32::from(i16::MAX)
}

/// Row and column frequencies of a DTMF digit (ITU-T Q.23), case-insensitive
/// for A-D.
pub fn dtmf_frequencies(digit: char) -> Option<(f32, f32)> {
    let (row, col) = match digit.to_ascii_uppercase() {
        '1' => (0, 0),
        '2' => (0, 1),
        '3' => (0, 2),
        'A' => (0, 3),
        '4' => (1, 0),
        '5' => (1, 1),
        '6' => (1, 2),
        'B' => (1, 3),
        '7' => (2, 0),
        '8' => (2, 1),
        '9' => (2, 2),
        'C' => (2, 3),
        '*' => (3, 0),
        '0' => (3, 1),
        '#' => (3, 2),
        'D' => (3, 3),
        _ => return None,
    };
    Some((ROW_FREQS[row], COL_FREQS[col]))
}

/// A DTMF digit: two equal-level sines whose sum peaks at `amplitude`
/// (each tone gets half). An unknown digit gives silence of the same
/// length, so callers building sequences keep their timing.
pub fn dtmf_tone(digit: char, duration_ms: u32, amplitude: f32, sample_rate: u32) -> Vec<i16> {
    let Some((low, high)) = dtmf_frequencies(digit) else {
        return silence(duration_ms, sample_rate);
    };
    let n = sample_count(duration_ms, sample_rate);
    let a = full_scale(amplitude) / 2.0;
    let rate = sample_rate.max(1) as f64;
    let (wl, wh) = (
        std::f64::consts::TAU * f64::from(low) / rate,
        std::f64::consts::TAU * f64::from(high) / rate,
    );
    (0..n)
        .map(|i| {
            let t = i as f64;
            let v = f64::from(a) * ((wl * t).sin() + (wh * t).sin());
            v.round() as i16
        })
        .collect()
}

/// A sine of `freq_hz` peaking at `amplitude`.
pub fn sine(freq_hz: f32, duration_ms: u32, amplitude: f32, sample_rate: u32) -> Vec<i16> {
    let n = sample_count(duration_ms, sample_rate);
    let a = f64::from(full_scale(amplitude));
    let w = std::f64::consts::TAU * f64::from(freq_hz) / sample_rate.max(1) as f64;
    (0..n)
        .map(|i| (a * (w * i as f64).sin()).round() as i16)
        .collect()
}

/// Zero samples.
pub fn silence(duration_ms: u32, sample_rate: u32) -> Vec<i16> {
    vec![0; sample_count(duration_ms, sample_rate)]
}

/// Deterministic xorshift64 generator (Marsaglia 2003). Not for anything
/// security related; it exists so tests and comfort noise are repeatable
/// without an external crate.
#[derive(Clone, Debug)]
pub struct XorShift64 {
    state: u64,
}

impl XorShift64 {
    /// Seeded generator; a zero seed (a fixed point of xorshift) is replaced
    /// by a fixed non-zero constant.
    pub fn new(seed: u64) -> Self {
        XorShift64 {
            state: if seed == 0 {
                0x9E37_79B9_7F4A_7C15
            } else {
                seed
            },
        }
    }

    /// Next 64 pseudo-random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state = x;
        x
    }

    /// Next 32 pseudo-random bits (the high half, which mixes best).
    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// Uniform in `[-1.0, 1.0)`.
    pub fn next_f32_signed(&mut self) -> f32 {
        // 24 random bits give every representable step of an f32 mantissa.
        let bits = (self.next_u64() >> 40) as u32;
        bits as f32 / (1u32 << 23) as f32 - 1.0
    }

    /// Fill `buf` with pseudo-random bytes.
    pub fn fill_bytes(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

/// Uniform white noise at 8 kHz peaking at `amplitude` (RMS is
/// amplitude/√3 of full scale). The same seed gives the same samples.
pub fn white_noise(duration_ms: u32, amplitude: f32, seed: u64) -> Vec<i16> {
    let n = sample_count(duration_ms, DEFAULT_SAMPLE_RATE);
    let a = full_scale(amplitude);
    let mut rng = XorShift64::new(seed);
    (0..n)
        .map(|_| (a * rng.next_f32_signed()).round() as i16)
        .collect()
}

/// Add `b` onto `a` sample by sample with saturation; `a` keeps its length.
pub fn mix_into(a: &mut [i16], b: &[i16]) {
    for (x, &y) in a.iter_mut().zip(b) {
        *x = x.saturating_add(y);
    }
}
