//! Records what the caller says to a WAV file (8 kHz mono 16-bit PCM), and
//! decides when the recording should end: on trailing silence or at the
//! maximum length. Time comes from the samples themselves, never the clock.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use super::prompts::SAMPLE_RATE;

/// A 20 ms frame whose RMS level is below this counts as silence
/// (about -40 dBFS: quieter than speech, louder than line noise).
const SILENCE_RMS: f64 = 330.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordingStop {
    Silence,
    MaxLength,
}

pub struct Recorder {
    writer: hound::WavWriter<BufWriter<File>>,
    path: PathBuf,
    samples_written: u64,
    max_samples: u64,
    silence_limit_samples: u64,
    trailing_silence_samples: u64,
}

impl Recorder {
    pub fn create(
        path: &Path,
        max_seconds: u32,
        silence_seconds: u32,
    ) -> std::io::Result<Recorder> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: SAMPLE_RATE,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let writer = hound::WavWriter::create(path, spec).map_err(std::io::Error::other)?;
        Ok(Recorder {
            writer,
            path: path.to_path_buf(),
            samples_written: 0,
            max_samples: u64::from(max_seconds.max(1)) * u64::from(SAMPLE_RATE),
            silence_limit_samples: u64::from(silence_seconds.max(1)) * u64::from(SAMPLE_RATE),
            trailing_silence_samples: 0,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn samples_written(&self) -> u64 {
        self.samples_written
    }

    /// Appends audio; returns why the recording should stop, if it should.
    pub fn push(&mut self, samples: &[i16]) -> Option<RecordingStop> {
        for chunk in samples.chunks(160) {
            let room = self.max_samples.saturating_sub(self.samples_written) as usize;
            let chunk = &chunk[..chunk.len().min(room)];
            for &sample in chunk {
                if self.writer.write_sample(sample).is_err() {
                    // A full disk ends the recording rather than the call.
                    return Some(RecordingStop::MaxLength);
                }
            }
            self.samples_written += chunk.len() as u64;
            let energy: f64 = chunk.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
            let rms = if chunk.is_empty() {
                0.0
            } else {
                (energy / chunk.len() as f64).sqrt()
            };
            if rms < SILENCE_RMS {
                self.trailing_silence_samples += chunk.len() as u64;
            } else {
                self.trailing_silence_samples = 0;
            }
            if self.samples_written >= self.max_samples {
                return Some(RecordingStop::MaxLength);
            }
            if self.trailing_silence_samples >= self.silence_limit_samples {
                return Some(RecordingStop::Silence);
            }
        }
        None
    }

    /// Closes the file; returns the recorded length in milliseconds.
    pub fn finish(self) -> std::io::Result<u64> {
        let duration_ms = self.samples_written * 1000 / u64::from(SAMPLE_RATE);
        self.writer.finalize().map_err(std::io::Error::other)?;
        Ok(duration_ms)
    }
}
