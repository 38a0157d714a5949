//! Behaviour of the detector on synthetic signals with known timing.

mod amd_common;

use amd_common::{buzz, concat, mix, noise, silence, tone};
use switchboard::media::amd::{AmdConfig, AmdResult, AnsweringMachineDetector, Verdict};

fn run(config: AmdConfig, signal: &[i16], chunk: usize) -> AmdResult {
    let mut amd = AnsweringMachineDetector::new(config);
    let mut decided = None;
    for c in signal.chunks(chunk.max(1)) {
        if let Some(r) = amd.push(c) {
            assert!(decided.is_none(), "push returned Some twice");
            decided = Some(r);
        }
    }
    match decided {
        Some(r) => {
            assert_eq!(amd.finish(), r, "finish() must repeat the decision");
            r
        }
        None => amd.finish(),
    }
}

fn classify(signal: &[i16]) -> AmdResult {
    run(AmdConfig::default(), signal, 160)
}

#[test]
fn silence_only_is_machine_after_initial_silence() {
    let r = classify(&silence(6000));
    assert_eq!(r.verdict, Verdict::Machine, "{r:?}");
    assert_eq!(r.decided_after_ms, 2500);
    assert_eq!(r.words, 0);
    assert!(r.reasons[0].starts_with("initial silence"), "{r:?}");
    // Machines are only *likely* here: some people answer silently.
    assert!(r.confidence <= 0.7);
}

#[test]
fn line_noise_only_is_not_speech() {
    let r = classify(&noise(6000, -45.0, 7));
    assert_eq!(r.verdict, Verdict::Machine, "{r:?}");
    assert_eq!(r.words, 0, "{r:?}");
    let loud = classify(&noise(6000, -30.0, 8));
    assert_eq!(loud.verdict, Verdict::Machine, "{loud:?}");
    assert_eq!(loud.words, 0, "{loud:?}");
}

#[test]
fn silence_only_is_unknown_when_initial_silence_rule_is_off() {
    // initial_silence_ms beyond the analysis window disables that rule:
    // silence alone proves nothing, so the answer is Unknown at the deadline.
    let config = AmdConfig {
        initial_silence_ms: 5000,
        ..AmdConfig::default()
    };
    let r = run(config, &silence(6000), 160);
    assert_eq!(r.verdict, Verdict::Unknown, "{r:?}");
    assert_eq!(r.decided_after_ms, 4000);
    assert_eq!(r.confidence, 0.0);
}

#[test]
fn long_continuous_speech_is_machine() {
    let signal = concat(&[silence(300), buzz(3500, 130.0), silence(1000)]);
    let r = classify(&signal);
    assert_eq!(r.verdict, Verdict::Machine, "{r:?}");
    assert!(r.reasons[0].starts_with("greeting"), "{r:?}");
    assert!(!r.beep_heard, "a harmonic buzz is not a beep: {r:?}");
    // Greeting threshold 1.5 s after the onset at 0.3 s.
    assert!((1800..=1900).contains(&r.decided_after_ms), "{r:?}");
    assert!((250..=350).contains(&r.initial_silence_ms), "{r:?}");
}

#[test]
fn short_burst_then_silence_is_human() {
    let signal = concat(&[silence(500), buzz(450, 180.0), silence(3000)]);
    let r = classify(&signal);
    assert_eq!(r.verdict, Verdict::Human, "{r:?}");
    assert_eq!(r.words, 1);
    // Speech ends at 0.95 s, plus 0.8 s of silence.
    assert!((1700..=1800).contains(&r.decided_after_ms), "{r:?}");
    assert!(r.confidence > 0.8, "{r:?}");
}

#[test]
fn short_burst_in_line_noise_is_human() {
    let speech = concat(&[silence(700), buzz(600, 120.0), silence(3000)]);
    let signal = mix(&speech, &noise(4300, -40.0, 3));
    let r = classify(&signal);
    assert_eq!(r.verdict, Verdict::Human, "{r:?}");
}

#[test]
fn two_short_words_then_silence_is_human() {
    let signal = concat(&[
        silence(400),
        buzz(350, 200.0),
        silence(300),
        buzz(400, 200.0),
        silence(3000),
    ]);
    let r = classify(&signal);
    assert_eq!(r.verdict, Verdict::Human, "{r:?}");
    assert_eq!(r.words, 2);
}

#[test]
fn many_words_is_machine() {
    let mut parts = vec![silence(200)];
    for _ in 0..6 {
        parts.push(buzz(200, 150.0));
        parts.push(silence(200));
    }
    parts.push(silence(2000));
    let r = classify(&concat(&parts));
    assert_eq!(r.verdict, Verdict::Machine, "{r:?}");
    assert_eq!(r.words, 4, "{r:?}");
    assert!(r.reasons[0].contains("4 words > 3"), "{r:?}");
}

#[test]
fn late_speech_after_long_silence_is_machine() {
    let signal = concat(&[silence(2700), buzz(400, 150.0), silence(2000)]);
    let r = classify(&signal);
    assert_eq!(r.verdict, Verdict::Machine, "{r:?}");
    assert_eq!(r.decided_after_ms, 2500);
}

#[test]
fn beep_after_short_greeting_is_machine() {
    // "Leave a message" (0.8 s) then a beep: too short for the greeting rule,
    // the beep decides.
    let signal = concat(&[
        silence(400),
        buzz(800, 140.0),
        silence(300),
        tone(1000.0, 600, -8.0),
        silence(2000),
    ]);
    let r = classify(&signal);
    assert_eq!(r.verdict, Verdict::Machine, "{r:?}");
    assert!(r.beep_heard);
    assert!(r.reasons[0].starts_with("beep at 1.5"), "{r:?}");
    assert!(r.confidence >= 0.9);
}

#[test]
fn decision_time_never_exceeds_total_analysis() {
    let signals = [
        silence(8000),
        noise(8000, -50.0, 1),
        concat(&[silence(300), buzz(6000, 110.0)]),
        concat(&[silence(3500), buzz(300, 150.0), silence(4000)]),
        concat(&[
            silence(1500),
            buzz(300, 150.0),
            silence(500),
            buzz(300, 150.0),
            silence(4000),
        ]),
    ];
    for total in [0u32, 1, 500, 1234, 2000, 3999, 4000] {
        for (i, signal) in signals.iter().enumerate() {
            for chunk in [1usize, 160, 999, 100_000] {
                let config = AmdConfig {
                    total_analysis_ms: total,
                    ..AmdConfig::default()
                };
                let r = run(config, signal, chunk);
                assert!(
                    r.decided_after_ms <= total,
                    "signal {i} chunk {chunk}: decided at {} > {total}: {r:?}",
                    r.decided_after_ms
                );
            }
        }
    }
}

#[test]
fn unknown_when_speech_starts_too_late_to_judge() {
    // A word at 3.5 s leaves too little time to see what follows it.
    let signal = concat(&[silence(3500), buzz(300, 150.0), silence(2000)]);
    let config = AmdConfig {
        initial_silence_ms: 10_000,
        ..AmdConfig::default()
    };
    let r = run(config, &signal, 160);
    assert_eq!(r.verdict, Verdict::Unknown, "{r:?}");
    assert_eq!(r.decided_after_ms, 4000);
    assert!(r.reasons[0].starts_with("undecided after 4.00 s"), "{r:?}");
}

#[test]
fn finish_forces_a_decision_early() {
    let mut amd = AnsweringMachineDetector::new(AmdConfig::default());
    assert!(amd
        .push(&concat(&[silence(300), buzz(400, 150.0)]))
        .is_none());
    let r = amd.finish();
    assert_eq!(r.verdict, Verdict::Unknown);
    assert_eq!(r.decided_after_ms, 700);
    assert_eq!(r.words, 1);
    // Later input is ignored and the decision stays.
    assert!(amd.push(&silence(3000)).is_none());
    assert_eq!(amd.finish(), r);
}

#[test]
fn result_does_not_depend_on_chunk_size() {
    let signals = [
        silence(6000),
        concat(&[silence(500), buzz(450, 180.0), silence(3000)]),
        concat(&[silence(300), buzz(3500, 130.0), silence(1000)]),
        mix(
            &concat(&[silence(700), buzz(600, 120.0), silence(3000)]),
            &noise(4300, -40.0, 3),
        ),
        concat(&[
            silence(400),
            buzz(800, 140.0),
            silence(300),
            tone(850.0, 500, -10.0),
            silence(2000),
        ]),
        concat(&[silence(3500), buzz(300, 150.0), silence(2000)]),
    ];
    for (i, signal) in signals.iter().enumerate() {
        let reference = run(AmdConfig::default(), signal, 160);
        for chunk in [
            1usize,
            2,
            7,
            79,
            80,
            81,
            159,
            161,
            320,
            1000,
            4096,
            signal.len(),
        ] {
            let r = run(AmdConfig::default(), signal, chunk);
            assert_eq!(r, reference, "signal {i}, chunk size {chunk}");
        }
        // Irregular chunking, with empty chunks in between.
        let mut amd = AnsweringMachineDetector::new(AmdConfig::default());
        let mut pos = 0;
        let mut k = 0usize;
        let mut got = None;
        while pos < signal.len() {
            let len = [0usize, 13, 160, 1, 333, 0, 47][k % 7].min(signal.len() - pos);
            k += 1;
            if let Some(r) = amd.push(&signal[pos..pos + len]) {
                got = Some(r);
            }
            pos += len;
        }
        let r = got.unwrap_or_else(|| amd.finish());
        assert_eq!(r, reference, "signal {i}, irregular chunks");
    }
}

#[test]
fn line_noise_appearing_after_digital_silence_is_not_speech() {
    // The media path often carries digital silence until the line is
    // connected; the noise that follows must not look like a greeting.
    let speech = concat(&[silence(1000), silence(500), buzz(400, 160.0), silence(3000)]);
    let line = concat(&[silence(1000), noise(3900, -35.0, 11)]);
    let r = classify(&mix(&speech, &line));
    assert_eq!(r.verdict, Verdict::Human, "{r:?}");
    assert_eq!(r.words, 1, "{r:?}");
}
