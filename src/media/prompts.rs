//! Prompts: WAV files under `prompts/<language>/<name>.wav`, in any common
//! sample rate, sample format and channel count. Each is converted once, at
//! load, to 8 kHz mono and encoded once per codec; every call shares the same
//! encoded bytes (`Arc<[u8]>`), so playing a prompt copies nothing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use super::g711::{self, Codec};

/// Telephone sample rate: G.711 is 8 kHz (ITU-T G.711 §1).
pub const SAMPLE_RATE: u32 = 8000;

#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error("prompt file {path} is missing")]
    Missing { path: PathBuf },
    #[error("prompt file {path} is not a readable WAV file: {reason}")]
    Unreadable { path: PathBuf, reason: String },
}

/// One prompt, ready to play in either codec.
#[derive(Debug)]
pub struct Prompt {
    pub language: String,
    pub name: String,
    /// 8 kHz mono linear samples (kept for tests and in-band work).
    pub samples: Arc<[i16]>,
    pcmu: Arc<[u8]>,
    pcma: Arc<[u8]>,
}

impl Prompt {
    pub fn from_samples(language: &str, name: &str, samples: Vec<i16>) -> Prompt {
        let mut pcmu = Vec::with_capacity(samples.len());
        let mut pcma = Vec::with_capacity(samples.len());
        g711::encode_into(Codec::Pcmu, &samples, &mut pcmu);
        g711::encode_into(Codec::Pcma, &samples, &mut pcma);
        Prompt {
            language: language.to_string(),
            name: name.to_string(),
            samples: samples.into(),
            pcmu: pcmu.into(),
            pcma: pcma.into(),
        }
    }

    /// The prompt encoded for `codec` (one byte per sample).
    pub fn encoded(&self, codec: Codec) -> &Arc<[u8]> {
        match codec {
            Codec::Pcmu => &self.pcmu,
            Codec::Pcma => &self.pcma,
        }
    }

    pub fn duration_ms(&self) -> u64 {
        self.samples.len() as u64 * 1000 / u64::from(SAMPLE_RATE)
    }
}

/// All prompts, loaded on first use and shared by every call.
#[derive(Debug)]
pub struct PromptLibrary {
    root: PathBuf,
    loaded: RwLock<HashMap<(String, String), Arc<Prompt>>>,
}

impl PromptLibrary {
    pub fn new(root: impl Into<PathBuf>) -> PromptLibrary {
        PromptLibrary {
            root: root.into(),
            loaded: RwLock::new(HashMap::new()),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn path_of(&self, language: &str, name: &str) -> PathBuf {
        self.root.join(language).join(format!("{name}.wav"))
    }

    /// True if the prompt's file exists (used by dialplan validation).
    pub fn exists(&self, language: &str, name: &str) -> bool {
        is_safe_name(language) && is_safe_name(name) && self.path_of(language, name).is_file()
    }

    /// The prompt, loading and converting it on first use.
    pub fn get(&self, language: &str, name: &str) -> Result<Arc<Prompt>, PromptError> {
        let key = (language.to_string(), name.to_string());
        if let Some(prompt) = self
            .loaded
            .read()
            .ok()
            .and_then(|map| map.get(&key).cloned())
        {
            return Ok(prompt);
        }
        let path = self.path_of(language, name);
        // Names come from dialplans and may be templated with caller input:
        // never let one climb out of the prompts folder.
        if !is_safe_name(language) || !is_safe_name(name) {
            return Err(PromptError::Missing { path });
        }
        let samples = read_wav_as_telephone_audio(&path)?;
        let prompt = Arc::new(Prompt::from_samples(language, name, samples));
        if let Ok(mut map) = self.loaded.write() {
            map.insert(key, prompt.clone());
        }
        Ok(prompt)
    }

    /// Number of prompts loaded so far.
    pub fn loaded_count(&self) -> usize {
        self.loaded.read().map(|map| map.len()).unwrap_or(0)
    }
}

fn is_safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
        && !name.starts_with('.')
}

/// Reads a WAV file and converts it to 8 kHz mono 16-bit samples.
pub fn read_wav_as_telephone_audio(path: &Path) -> Result<Vec<i16>, PromptError> {
    if !path.is_file() {
        return Err(PromptError::Missing {
            path: path.to_path_buf(),
        });
    }
    let unreadable = |reason: String| PromptError::Unreadable {
        path: path.to_path_buf(),
        reason,
    };
    let mut reader = hound::WavReader::open(path).map_err(|e| unreadable(e.to_string()))?;
    let spec = reader.spec();
    if spec.channels == 0 || spec.sample_rate == 0 {
        return Err(unreadable("no channels or a zero sample rate".into()));
    }
    // Normalise every sample format to f32 in [-1, 1].
    let interleaved: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader
            .samples::<f32>()
            .collect::<Result<_, _>>()
            .map_err(|e| unreadable(e.to_string()))?,
        hound::SampleFormat::Int => {
            let scale = (1u64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f32;
            reader
                .samples::<i32>()
                .map(|sample| sample.map(|value| value as f32 / scale))
                .collect::<Result<_, _>>()
                .map_err(|e| unreadable(e.to_string()))?
        }
    };
    let channels = usize::from(spec.channels);
    let mono: Vec<f32> = interleaved
        .chunks(channels)
        .map(|frame| frame.iter().sum::<f32>() / frame.len() as f32)
        .collect();
    let resampled = resample(&mono, spec.sample_rate, SAMPLE_RATE);
    Ok(resampled
        .into_iter()
        .map(|value| (value * 32767.0).round().clamp(-32768.0, 32767.0) as i16)
        .collect())
}

/// Band-limited resampling with a windowed-sinc filter (Blackman window).
/// The cut-off sits below the lower of the two Nyquist frequencies, so
/// down-sampling a 44.1 kHz prompt does not alias into the telephone band.
/// Runs once per prompt at load, never per call.
pub fn resample(input: &[f32], from_rate: u32, to_rate: u32) -> Vec<f32> {
    if from_rate == to_rate || input.is_empty() {
        return input.to_vec();
    }
    let ratio = f64::from(to_rate) / f64::from(from_rate);
    let cutoff = ratio.min(1.0) * 0.92;
    let half_width = (16.0 / cutoff).ceil() as i64;
    let output_length = ((input.len() as f64) * ratio).floor() as usize;
    let mut output = Vec::with_capacity(output_length);
    for index in 0..output_length {
        let center = index as f64 / ratio;
        let first = center.floor() as i64 - half_width + 1;
        let mut sum = 0.0f64;
        let mut weight_sum = 0.0f64;
        for tap in first..first + 2 * half_width {
            if tap < 0 || tap as usize >= input.len() {
                continue;
            }
            let distance = center - tap as f64;
            let x = distance * cutoff;
            let sinc = if x.abs() < 1e-9 {
                1.0
            } else {
                (std::f64::consts::PI * x).sin() / (std::f64::consts::PI * x)
            };
            let position = (distance / half_width as f64 + 1.0) / 2.0;
            let window = if (0.0..=1.0).contains(&position) {
                0.42 - 0.5 * (2.0 * std::f64::consts::PI * position).cos()
                    + 0.08 * (4.0 * std::f64::consts::PI * position).cos()
            } else {
                0.0
            };
            let weight = sinc * window;
            sum += f64::from(input[tap as usize]) * weight;
            weight_sum += weight;
        }
        output.push(if weight_sum.abs() > 1e-12 {
            (sum / weight_sum) as f32
        } else {
            0.0
        });
    }
    output
}
