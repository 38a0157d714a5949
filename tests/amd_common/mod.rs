//! Signal generators shared by the AMD tests (8 kHz mono i16).
#![allow(dead_code)]

use std::f64::consts::TAU;

pub const RATE: usize = 8000;

pub fn samples_for_ms(ms: u32) -> usize {
    ms as usize * RATE / 1000
}

/// Digital silence.
pub fn silence(ms: u32) -> Vec<i16> {
    vec![0; samples_for_ms(ms)]
}

/// Deterministic white noise with the given RMS level (dBFS, full-scale
/// square wave = 0 dBFS).
pub fn noise(ms: u32, level_db: f64, seed: u64) -> Vec<i16> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    // Uniform in [-1, 1) has RMS 1/sqrt(3).
    let amp = 32767.0 * 10f64.powf(level_db / 20.0) * 3f64.sqrt();
    (0..samples_for_ms(ms))
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
            clip(u * amp)
        })
        .collect()
}

/// Sine tone with 5 ms ramps at `level_db` dBFS peak.
pub fn tone(freq: f64, ms: u32, level_db: f64) -> Vec<i16> {
    tones(&[(freq, level_db)], ms)
}

/// Sum of sines, each `(frequency, peak level dBFS)`, with 5 ms ramps.
pub fn tones(parts: &[(f64, f64)], ms: u32) -> Vec<i16> {
    let n = samples_for_ms(ms);
    let ramp = samples_for_ms(5).max(1);
    (0..n)
        .map(|i| {
            let t = i as f64 / RATE as f64;
            let env = (i.min(n - 1 - i) as f64 / ramp as f64).min(1.0);
            let v: f64 = parts
                .iter()
                .map(|&(f, db)| 32767.0 * 10f64.powf(db / 20.0) * (TAU * f * t).sin())
                .sum();
            clip(v * env)
        })
        .collect()
}

/// Speech-like voiced sound: a harmonic-rich buzz whose pitch glides around
/// `f0` and whose loudness follows a ~4 Hz syllable rhythm (never silent, so
/// it is one continuous "word"). Peak level around -8 dBFS.
pub fn buzz(ms: u32, f0: f64) -> Vec<i16> {
    let n = samples_for_ms(ms);
    let mut phase = 0.0f64;
    let ramp = samples_for_ms(10).max(1);
    (0..n)
        .map(|i| {
            let t = i as f64 / RATE as f64;
            let pitch = f0 * (1.0 + 0.15 * (TAU * 1.3 * t).sin());
            phase += TAU * pitch / RATE as f64;
            let mut v = 0.0;
            let mut k = 1.0;
            while k * pitch < 3400.0 {
                v += (k * phase).sin() / k;
                k += 1.0;
            }
            let syllable = 0.55 + 0.45 * (TAU * 4.0 * t).sin().abs();
            let env = (i.min(n - 1 - i) as f64 / ramp as f64).min(1.0);
            clip(v * syllable * env * 7000.0)
        })
        .collect()
}

pub fn concat(parts: &[Vec<i16>]) -> Vec<i16> {
    parts.iter().flatten().copied().collect()
}

/// Adds two signals sample by sample (the result has the longer length).
pub fn mix(a: &[i16], b: &[i16]) -> Vec<i16> {
    (0..a.len().max(b.len()))
        .map(|i| {
            let x = f64::from(a.get(i).copied().unwrap_or(0));
            let y = f64::from(b.get(i).copied().unwrap_or(0));
            clip(x + y)
        })
        .collect()
}

fn clip(v: f64) -> i16 {
    v.round().clamp(-32768.0, 32767.0) as i16
}
