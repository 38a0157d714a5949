#![no_main]
//! Answering-machine detection on arbitrary audio. The first byte picks the
//! chunk size; the rest are little-endian i16 samples.

use libfuzzer_sys::fuzz_target;
use switchboard::media::amd::{AmdConfig, AnsweringMachineDetector};

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(first).max(1);
    let samples: Vec<i16> = rest
        .chunks_exact(2)
        .map(|pair| i16::from_le_bytes([pair[0], pair[1]]))
        .collect();
    let mut detector = AnsweringMachineDetector::new(AmdConfig::default());
    for piece in samples.chunks(chunk) {
        let _ = detector.push(piece);
    }
    let _ = detector.finish();
});
