//! Hostile input must never panic and must still respect the deadline.

mod amd_common;

use amd_common::{buzz, concat, noise, silence};
use switchboard::media::amd::{AmdConfig, AnsweringMachineDetector, BeepDetector, Verdict};

fn extreme_signals() -> Vec<Vec<i16>> {
    let n = 8000 * 6;
    vec![
        vec![i16::MAX; n],
        vec![i16::MIN; n],
        (0..n)
            .map(|i| if i % 2 == 0 { i16::MAX } else { i16::MIN })
            .collect(),
        (0..n)
            .map(|i| if (i / 4) % 2 == 0 { i16::MAX } else { i16::MIN })
            .collect(),
        (0..n)
            .map(|i| if (i / 8000) % 2 == 0 { i16::MIN } else { 0 })
            .collect(),
        (0..n)
            .map(|i| (i as i64 * 7919 % 65536 - 32768) as i16)
            .collect(),
        noise(6000, 0.0, 9),
        concat(&[vec![i16::MIN; 80], silence(3000), vec![i16::MAX; 1]]),
        vec![1; n],
        vec![-1; n],
    ]
}

#[test]
fn extreme_sample_values_do_not_panic() {
    for (i, signal) in extreme_signals().iter().enumerate() {
        for chunk in [1usize, 160, 7777] {
            let mut amd = AnsweringMachineDetector::new(AmdConfig::default());
            let mut beep = BeepDetector::new();
            let mut decided = None;
            for c in signal.chunks(chunk) {
                if let Some(r) = amd.push(c) {
                    decided = Some(r);
                }
                let _ = beep.push(c);
            }
            let r = decided.unwrap_or_else(|| amd.finish());
            assert!(r.decided_after_ms <= 4000, "signal {i}: {r:?}");
            assert!((0.0..=1.0).contains(&r.confidence), "signal {i}: {r:?}");
            assert!(!r.reasons.is_empty(), "signal {i}: {r:?}");
        }
    }
}

#[test]
fn empty_chunks_are_harmless() {
    let mut amd = AnsweringMachineDetector::new(AmdConfig::default());
    let mut beep = BeepDetector::new();
    for _ in 0..10_000 {
        assert!(amd.push(&[]).is_none());
        assert!(beep.push(&[]).is_none());
    }
    let r = amd.finish();
    assert_eq!(r.verdict, Verdict::Unknown);
    assert_eq!(r.decided_after_ms, 0);
    assert_eq!(beep.samples_seen(), 0);
}

#[test]
fn huge_chunk_is_handled() {
    // Ten minutes in one push: the decision still comes at the right time.
    let mut signal = concat(&[silence(300), buzz(3000, 130.0)]);
    signal.resize(8000 * 600, 0);
    let mut amd = AnsweringMachineDetector::new(AmdConfig::default());
    let r = amd.push(&signal).expect("decided within the chunk");
    assert_eq!(r.verdict, Verdict::Machine);
    assert!(r.decided_after_ms < 2000, "{r:?}");
    assert!(amd.push(&signal).is_none());

    let mut beep = BeepDetector::new();
    assert!(beep.push(&signal).is_none());
    assert_eq!(beep.samples_seen(), signal.len() as u64);
}

#[test]
fn extreme_configurations_do_not_panic() {
    let configs = [
        AmdConfig {
            total_analysis_ms: 0,
            initial_silence_ms: 0,
            greeting_ms: 0,
            after_greeting_silence_ms: 0,
            min_word_ms: 0,
            between_words_silence_ms: 0,
            max_words: 0,
            silence_threshold: 0.0,
        },
        AmdConfig {
            total_analysis_ms: u32::MAX,
            initial_silence_ms: u32::MAX,
            greeting_ms: u32::MAX,
            after_greeting_silence_ms: u32::MAX,
            min_word_ms: u32::MAX,
            between_words_silence_ms: u32::MAX,
            max_words: u32::MAX,
            silence_threshold: f32::INFINITY,
        },
        AmdConfig {
            silence_threshold: f32::NAN,
            ..AmdConfig::default()
        },
        AmdConfig {
            silence_threshold: f32::NEG_INFINITY,
            min_word_ms: 1,
            ..AmdConfig::default()
        },
        AmdConfig {
            total_analysis_ms: 1,
            min_word_ms: 0,
            ..AmdConfig::default()
        },
    ];
    let signals = extreme_signals();
    for (ci, config) in configs.iter().enumerate() {
        for (si, signal) in signals.iter().enumerate().step_by(3) {
            let mut amd = AnsweringMachineDetector::new(config.clone());
            let mut decided = None;
            for c in signal.chunks(160) {
                if let Some(r) = amd.push(c) {
                    decided = Some(r);
                }
            }
            let r = decided.unwrap_or_else(|| amd.finish());
            assert!(
                r.decided_after_ms <= config.total_analysis_ms,
                "config {ci} signal {si}: {r:?}"
            );
            assert!((0.0..=1.0).contains(&r.confidence));
        }
    }
}

#[test]
fn finish_is_repeatable_and_final() {
    let mut amd = AnsweringMachineDetector::new(AmdConfig::default());
    let first = amd.finish();
    assert_eq!(amd.finish(), first);
    assert!(amd.push(&buzz(3000, 150.0)).is_none());
    assert_eq!(amd.finish(), first);
}
