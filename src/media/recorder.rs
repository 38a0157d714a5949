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

/// Records a bridged call as stereo WAV: the caller on the left channel, the
/// agent on the right. Each side's audio waits in its own buffer until
/// [`StereoRecorder::tick`] writes one 20 ms frame of both, so the channels
/// stay aligned in time even when one side sends nothing (muted, on hold):
/// the missing side is written as silence.
pub struct StereoRecorder {
    writer: hound::WavWriter<BufWriter<File>>,
    path: PathBuf,
    left: std::collections::VecDeque<i16>,
    right: std::collections::VecDeque<i16>,
    frames_written: u64,
}

/// Audio kept per side before the oldest is dropped (a side sending faster
/// than real time cannot grow memory or drift the channels apart).
const STEREO_BUFFER_LIMIT: usize = 1600;

impl StereoRecorder {
    pub fn create(path: &Path) -> std::io::Result<StereoRecorder> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: SAMPLE_RATE,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let writer = hound::WavWriter::create(path, spec).map_err(std::io::Error::other)?;
        Ok(StereoRecorder {
            writer,
            path: path.to_path_buf(),
            left: Default::default(),
            right: Default::default(),
            frames_written: 0,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Caller audio.
    pub fn push_left(&mut self, samples: &[i16]) {
        push_bounded(&mut self.left, samples);
    }

    /// Agent audio.
    pub fn push_right(&mut self, samples: &[i16]) {
        push_bounded(&mut self.right, samples);
    }

    /// Writes `frames` stereo frames (one per 1/8000 s that passed), taking
    /// what each side has and silence for the rest.
    pub fn tick(&mut self, frames: usize) -> std::io::Result<()> {
        for _ in 0..frames {
            let left = self.left.pop_front().unwrap_or(0);
            let right = self.right.pop_front().unwrap_or(0);
            self.writer
                .write_sample(left)
                .and_then(|()| self.writer.write_sample(right))
                .map_err(std::io::Error::other)?;
        }
        self.frames_written += frames as u64;
        Ok(())
    }

    /// Writes what is still buffered, closes the file and returns its length
    /// in milliseconds.
    pub fn finish(mut self) -> std::io::Result<u64> {
        let remaining = self.left.len().max(self.right.len());
        self.tick(remaining)?;
        let duration_ms = self.frames_written * 1000 / u64::from(SAMPLE_RATE);
        self.writer.finalize().map_err(std::io::Error::other)?;
        Ok(duration_ms)
    }
}

fn push_bounded(buffer: &mut std::collections::VecDeque<i16>, samples: &[i16]) {
    buffer.extend(samples.iter().copied());
    let excess = buffer.len().saturating_sub(STEREO_BUFFER_LIMIT);
    buffer.drain(..excess);
}

#[cfg(test)]
mod stereo_tests {
    use super::*;

    #[test]
    fn channels_stay_aligned_and_missing_audio_is_silence() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bridge.wav");
        let mut recorder = StereoRecorder::create(&path).unwrap();
        recorder.push_left(&[100; 160]);
        recorder.tick(160).unwrap();
        recorder.push_right(&[-200; 160]);
        recorder.tick(160).unwrap();
        // One side much faster than time: only the newest 200 ms is kept.
        recorder.push_left(&[7; 5000]);
        let duration = recorder.finish().unwrap();
        let mut reader = hound::WavReader::open(&path).unwrap();
        assert_eq!(reader.spec().channels, 2);
        let samples: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
        let (left, right): (Vec<i16>, Vec<i16>) =
            samples.chunks(2).map(|frame| (frame[0], frame[1])).unzip();
        assert_eq!(&left[..160], &[100; 160]);
        assert_eq!(&right[..160], &[0; 160]);
        assert_eq!(&left[160..320], &[0; 160]);
        assert_eq!(&right[160..320], &[-200; 160]);
        assert_eq!(left.len(), 320 + STEREO_BUFFER_LIMIT);
        assert_eq!(duration, (320 + STEREO_BUFFER_LIMIT as u64) * 1000 / 8000);
    }
}
