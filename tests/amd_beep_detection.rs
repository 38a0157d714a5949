//! BeepDetector: finds single steady tones and where they end; ignores
//! speech, noise and dual tones.

mod amd_common;

use std::path::Path;

use amd_common::{buzz, concat, mix, noise, samples_for_ms, silence, tone, tones};
use switchboard::media::amd::BeepDetector;

/// All beep end positions reported while feeding `signal` in `chunk`s.
fn beeps(signal: &[i16], chunk: usize) -> Vec<u64> {
    let mut det = BeepDetector::new();
    signal.chunks(chunk).filter_map(|c| det.push(c)).collect()
}

const TOLERANCE: i64 = 40 * 8; // ±40 ms in samples

#[test]
fn beeps_are_found_with_accurate_end() {
    for freq in [440.0, 850.0, 1000.0, 1400.0] {
        for (lead_ms, beep_ms, level) in [
            (500u32, 300u32, -8.0),
            (1200, 1000, -20.0),
            (300, 150, -3.0),
        ] {
            let signal = concat(&[silence(lead_ms), tone(freq, beep_ms, level), silence(1000)]);
            let end = samples_for_ms(lead_ms + beep_ms) as i64;
            let found = beeps(&signal, 160);
            assert_eq!(found.len(), 1, "{freq} Hz {beep_ms} ms: {found:?}");
            let err = found[0] as i64 - end;
            assert!(
                err.abs() <= TOLERANCE,
                "{freq} Hz {beep_ms} ms: end {} vs {end} ({} ms off)",
                found[0],
                err / 8
            );
        }
    }
}

#[test]
fn beep_after_speech_in_line_noise_is_found() {
    for freq in [440.0, 850.0, 1000.0, 1400.0] {
        let clean = concat(&[
            silence(200),
            buzz(1800, 140.0),
            silence(300),
            tone(freq, 500, -10.0),
            silence(1500),
        ]);
        let signal = mix(&clean, &noise(3800, -40.0, 5));
        let end = samples_for_ms(200 + 1800 + 300 + 500) as i64;
        for chunk in [1usize, 160, 333, signal.len()] {
            let found = beeps(&signal, chunk);
            assert_eq!(found.len(), 1, "{freq} Hz chunk {chunk}: {found:?}");
            assert!(
                (found[0] as i64 - end).abs() <= TOLERANCE,
                "{freq} Hz: end {} vs {end}",
                found[0]
            );
        }
    }
}

#[test]
fn consecutive_beeps_are_each_reported() {
    let signal = concat(&[
        silence(300),
        tone(1000.0, 200, -8.0),
        silence(300),
        tone(1000.0, 200, -8.0),
        silence(500),
    ]);
    let found = beeps(&signal, 160);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!((found[0] as i64 - samples_for_ms(500) as i64).abs() <= TOLERANCE);
    assert!((found[1] as i64 - samples_for_ms(1000) as i64).abs() <= TOLERANCE);
}

#[test]
fn speech_like_sounds_are_not_beeps() {
    for f0 in [90.0, 120.0, 180.0, 250.0, 320.0] {
        let signal = concat(&[silence(200), buzz(3000, f0), silence(500)]);
        assert!(beeps(&signal, 160).is_empty(), "buzz at {f0} Hz");
    }
}

#[test]
fn noise_is_not_a_beep() {
    for (level, seed) in [(-50.0, 1u64), (-30.0, 2), (-10.0, 3)] {
        assert!(
            beeps(&noise(5000, level, seed), 160).is_empty(),
            "{level} dBFS"
        );
    }
}

#[test]
fn dual_tones_are_not_beeps() {
    let rows = [697.0, 770.0, 852.0, 941.0];
    let cols = [1209.0, 1336.0, 1477.0, 1633.0];
    let mut parts = vec![silence(200)];
    for r in rows {
        for c in cols {
            // Equal levels and 4 dB of twist, as DTMF senders produce.
            parts.push(tones(&[(r, -10.0), (c, -10.0)], 200));
            parts.push(silence(100));
            parts.push(tones(&[(r, -12.0), (c, -8.0)], 200));
            parts.push(silence(100));
        }
    }
    // Dial tone (350 + 440 Hz) and ringback (440 + 480 Hz).
    parts.push(tones(&[(350.0, -13.0), (440.0, -13.0)], 1000));
    parts.push(silence(200));
    parts.push(tones(&[(440.0, -19.0), (480.0, -19.0)], 1000));
    parts.push(silence(500));
    let found = beeps(&concat(&parts), 160);
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn too_short_or_too_long_tones_are_not_beeps() {
    let signal = concat(&[
        silence(300),
        tone(1000.0, 40, -8.0),
        silence(500),
        tone(1000.0, 4000, -8.0),
        silence(500),
    ]);
    assert!(beeps(&signal, 160).is_empty());
}

fn rms(x: &[i16]) -> f64 {
    (x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len().max(1) as f64).sqrt()
}

#[test]
fn recorded_fixtures_report_only_their_beeps() {
    // Clips whose beep falls inside the (4.6 s) recording; the others end
    // before their beep or have none. Speech must never be reported.
    let with_beep = ["m06", "m07", "m10", "m11"];
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/amd");
    let mut checked = 0;
    for class in ["human", "machine"] {
        let mut files: Vec<_> = std::fs::read_dir(root.join(class))
            .expect("fixture dir")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "wav"))
            .collect();
        files.sort();
        for path in files {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let samples: Vec<i16> = hound::WavReader::open(&path)
                .expect("wav")
                .samples::<i16>()
                .map(|s| s.expect("sample"))
                .collect();
            let found = beeps(&samples, 160);
            let expected = usize::from(with_beep.iter().any(|p| name.starts_with(p)));
            assert_eq!(found.len(), expected, "{name}: {found:?}");
            if let Some(&end) = found.first() {
                // Loud tone just before the reported end, (near) silence after.
                let end = end as usize;
                let before = rms(&samples[end - 400..end - 80]);
                let after =
                    rms(&samples[(end + 80).min(samples.len())..(end + 400).min(samples.len())]);
                assert!(
                    after < before * 0.1,
                    "{name}: {before} before, {after} after"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 24);
}
