//! Classifies every recorded fixture (tests/fixtures/amd/{human,machine}/*.wav,
//! made by tests/fixtures/amd/generate.sh) in 20 ms chunks and checks accuracy.

use std::path::{Path, PathBuf};

use switchboard::media::amd::{AmdConfig, AmdResult, AnsweringMachineDetector, Verdict};

fn fixtures(class: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/amd")
        .join(class);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "wav"))
        .collect();
    files.sort();
    files
}

fn load(path: &Path) -> Vec<i16> {
    let mut reader = hound::WavReader::open(path).expect("open wav");
    let spec = reader.spec();
    assert_eq!(spec.sample_rate, 8000, "{}", path.display());
    assert_eq!(spec.channels, 1, "{}", path.display());
    assert_eq!(spec.bits_per_sample, 16, "{}", path.display());
    reader
        .samples::<i16>()
        .map(|s| s.expect("sample"))
        .collect()
}

fn classify(samples: &[i16]) -> AmdResult {
    classify_chunked(samples, 160)
}

fn classify_chunked(samples: &[i16], chunk_size: usize) -> AmdResult {
    let mut amd = AnsweringMachineDetector::new(AmdConfig::default());
    for chunk in samples.chunks(chunk_size) {
        if let Some(result) = amd.push(chunk) {
            return result;
        }
    }
    amd.finish()
}

struct ClassReport {
    total: usize,
    correct: usize,
    wrong: Vec<(String, AmdResult)>,
}

fn run_class(class: &str, expected: Verdict) -> ClassReport {
    let files = fixtures(class);
    assert!(files.len() >= 12, "need at least 12 {class} fixtures");
    let mut report = ClassReport {
        total: files.len(),
        correct: 0,
        wrong: Vec::new(),
    };
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let samples = load(&path);
        let result = classify(&samples);
        for chunk_size in [1, 333] {
            assert_eq!(
                classify_chunked(&samples, chunk_size),
                result,
                "{name}: result depends on chunk size"
            );
        }
        println!(
            "{class:8} {name:32} {:8} conf {:.2} at {:4} ms words {} init {:4} ms longest {:4} ms beep {:5} | {}",
            format!("{:?}", result.verdict),
            result.confidence,
            result.decided_after_ms,
            result.words,
            result.initial_silence_ms,
            result.longest_speech_ms,
            result.beep_heard,
            result.reasons.join("; ")
        );
        assert!(result.decided_after_ms <= 4000, "{name}: decided too late");
        if result.verdict == expected {
            report.correct += 1;
        } else {
            report.wrong.push((name, result));
        }
    }
    report
}

#[test]
fn recorded_answers_are_classified() {
    let humans = run_class("human", Verdict::Human);
    let machines = run_class("machine", Verdict::Machine);

    println!();
    println!("class    correct/total  accuracy");
    for (class, r) in [("human", &humans), ("machine", &machines)] {
        let acc = 100.0 * r.correct as f64 / r.total as f64;
        println!("{class:8} {:>7}/{:<5}  {acc:6.1} %", r.correct, r.total);
        for (name, res) in &r.wrong {
            println!(
                "  misclassified {name}: {:?} ({:.2}) - {}",
                res.verdict,
                res.confidence,
                res.reasons.join("; ")
            );
        }
    }

    for (name, res) in &humans.wrong {
        assert!(
            !(res.verdict == Verdict::Machine && res.confidence > 0.8),
            "human {name} called Machine with confidence {}",
            res.confidence
        );
    }
    assert!(
        humans.correct * 10 >= humans.total * 9,
        "human accuracy below 90 %"
    );
    assert!(
        machines.correct * 10 >= machines.total * 9,
        "machine accuracy below 90 %"
    );
}
