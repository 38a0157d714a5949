//! Answering machine detection (AMD) and voicemail beep detection.
//!
//! When an outbound call is answered, the dialer has to decide quickly
//! whether a person or an answering machine picked up. People usually say
//! something short ("Hello?") and then wait for the caller; machines play a
//! long greeting, often followed by a beep.
//!
//! [`AnsweringMachineDetector`] listens to the first seconds of the answered
//! call (8 kHz mono signed 16-bit samples, any chunk size) and classifies the
//! speech/silence pattern:
//!
//! * a voice activity detector works on 10 ms frames; a frame is speech when
//!   its level is 10 dB above an adaptive noise floor (the minimum frame level
//!   over the last ~3 s, ignoring digital silence, never assumed above
//!   -35 dBFS) and above the absolute [`AmdConfig::silence_threshold`];
//! * speech runs of at least [`AmdConfig::min_word_ms`] are *words*; gaps
//!   shorter than [`AmdConfig::between_words_silence_ms`] do not split words;
//! * the *greeting* is the speech from the first word until the first pause
//!   of [`AmdConfig::after_greeting_silence_ms`]:
//!   a short greeting followed by that pause means **Human**; a greeting
//!   with more than [`AmdConfig::greeting_ms`] of speech, or more than
//!   [`AmdConfig::max_words`] words, means **Machine**;
//! * [`AmdConfig::initial_silence_ms`] of silence before any word means
//!   **Machine** (see the trade-off documented on that field);
//! * a beep (see [`BeepDetector`]) during analysis means **Machine**;
//! * if nothing is certain after [`AmdConfig::total_analysis_ms`] the verdict
//!   is **Unknown**.
//!
//! Time is derived from the number of samples received, never from a clock,
//! so results do not depend on how the audio is chunked or how fast it is
//! pushed. Nothing is allocated per frame; the only allocation happens once,
//! when the result (with its human-readable reasons) is built.

/// Sample rate the detectors expect.
pub const SAMPLE_RATE: u32 = 8000;

/// Samples per analysis frame of the voice activity detector (10 ms).
const FRAME_SAMPLES: u32 = 80;
/// Duration of one voice activity frame.
const FRAME_MS: u64 = 10;
/// Frames per block of the noise floor tracker (100 ms).
const NOISE_BLOCK_FRAMES: u32 = 10;
/// Number of blocks the noise floor looks back over (3 s).
const NOISE_BLOCKS: usize = 30;
/// Level assigned to digital silence, dBFS.
const MIN_LEVEL_DB: f32 = -100.0;
/// Frames below this level are digital silence and do not feed the noise
/// floor estimate.
const DIGITAL_SILENCE_DB: f32 = -90.0;
/// The noise floor is never assumed louder than this (dBFS): a line noisier
/// than that has an SNR too poor for reliable detection anyway.
const NOISE_FLOOR_CAP_DB: f32 = -35.0;
/// A frame starts speech when it is this far above the noise floor.
const SPEECH_ON_SNR_DB: f32 = 10.0;
/// Once in speech, frames stay speech while this far above the noise floor.
const SPEECH_OFF_SNR_DB: f32 = 7.0;
/// A steady tone this long counts as a beep for AMD even before it ends.
const AMD_BEEP_MIN_SAMPLES: u64 = 200 * SAMPLE_RATE as u64 / 1000;

/// Tuning knobs of [`AnsweringMachineDetector`]. All durations in ms.
#[derive(Debug, Clone, PartialEq)]
pub struct AmdConfig {
    /// Decide by then; the verdict is [`Verdict::Unknown`] if still unsure.
    /// Default 4000.
    pub total_analysis_ms: u32,
    /// This much silence after answer, before any word → Machine.
    /// Default 2500.
    ///
    /// Trade-off: many voicemail systems (and carrier platforms) connect and
    /// then wait a second or two before playing the greeting, while most
    /// people speak within a second of picking up. A lower value catches
    /// those machines sooner but misclassifies people who answer silently
    /// (waiting for the caller to speak first, or whose "Hello" is lost to a
    /// bad line) and calls whose answer signal arrives before the audio
    /// path is connected. A value above `total_analysis_ms` disables the
    /// rule: pure silence then ends as [`Verdict::Unknown`].
    pub initial_silence_ms: u32,
    /// More speech than this in the greeting (before the first long pause)
    /// → Machine. Default 1500.
    pub greeting_ms: u32,
    /// Silence this long after a short greeting → Human. Default 800.
    pub after_greeting_silence_ms: u32,
    /// Speech runs shorter than this are not words (clicks, line pops).
    /// Default 100.
    pub min_word_ms: u32,
    /// Silence at least this long separates two words; shorter gaps are
    /// bridged. Default 50.
    pub between_words_silence_ms: u32,
    /// More words than this in the greeting → Machine. Default 3.
    pub max_words: u32,
    /// Absolute speech threshold in dBFS (frame RMS relative to full scale,
    /// i.e. 0 dBFS is a full-scale square wave). A frame is speech only if it
    /// is above this level *and* well above the adaptive noise floor, which
    /// is tracked automatically, so this mainly matters on very clean lines.
    /// Default -45.0 (an RMS of about 184).
    pub silence_threshold: f32,
}

impl Default for AmdConfig {
    fn default() -> Self {
        Self {
            total_analysis_ms: 4000,
            initial_silence_ms: 2500,
            greeting_ms: 1500,
            after_greeting_silence_ms: 800,
            min_word_ms: 100,
            between_words_silence_ms: 50,
            max_words: 3,
            silence_threshold: -45.0,
        }
    }
}

/// Who answered the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// A person answered.
    Human,
    /// An answering machine, voicemail or carrier announcement answered.
    Machine,
    /// No confident decision was possible in the analysis time.
    Unknown,
}

/// Outcome of answering machine detection.
#[derive(Debug, Clone, PartialEq)]
pub struct AmdResult {
    /// The decision.
    pub verdict: Verdict,
    /// Confidence in `verdict`, 0..=1. Always 0 for [`Verdict::Unknown`].
    pub confidence: f32,
    /// Human-readable evidence, the deciding rule first
    /// (e.g. `"greeting 1.6 s > 1.5 s"`).
    pub reasons: Vec<String>,
    /// Audio time (from the first sample) at which the decision was made.
    pub decided_after_ms: u32,
    /// Words heard in the greeting.
    pub words: u32,
    /// Silence before the first word (or all the silence heard if none).
    pub initial_silence_ms: u32,
    /// Longest word (continuous speech, short gaps bridged).
    pub longest_speech_ms: u32,
    /// Whether a beep was heard during analysis.
    pub beep_heard: bool,
}

/// Which rule decided, with the evidence needed to phrase the reasons.
#[derive(Debug, Clone, Copy)]
enum Cause {
    InitialSilence,
    LongGreeting,
    TooManyWords,
    Beep { at_ms: u64, freq_hz: f32 },
    SilenceAfterGreeting,
    Timeout,
}

/// Classifies an answered call as human or machine from its first seconds.
///
/// Feed audio with [`push`](Self::push) until it returns `Some`; call
/// [`finish`](Self::finish) to force a decision when the call ends early or
/// an external timer fires.
///
/// ```
/// use switchboard::media::amd::{AmdConfig, AnsweringMachineDetector, Verdict};
///
/// let mut amd = AnsweringMachineDetector::new(AmdConfig::default());
/// let frame = [0i16; 160]; // 20 ms of silence
/// let mut result = None;
/// for _ in 0..250 {
///     if let Some(r) = amd.push(&frame) {
///         result = Some(r);
///         break;
///     }
/// }
/// let result = result.unwrap_or_else(|| amd.finish());
/// // Nobody said anything for 2.5 s: probably a machine waiting to play.
/// assert_eq!(result.verdict, Verdict::Machine);
/// assert_eq!(result.decided_after_ms, 2500);
/// ```
#[derive(Debug, Clone)]
pub struct AnsweringMachineDetector {
    cfg: AmdConfig,
    deadline_samples: u64,
    samples: u64,

    // DC blocker state.
    dc_prev_in: f32,
    dc_prev_out: f32,

    // Frame accumulator.
    frame_energy: f64,
    frame_fill: u32,
    frames: u64,

    // Adaptive noise floor: minimum frame level per 100 ms block.
    block_min: [f32; NOISE_BLOCKS],
    block_count: usize,
    block_pos: usize,
    cur_block_min: f32,
    cur_block_frames: u32,
    in_speech: bool,

    // Word segmentation.
    started: bool,
    onset_frame: u64,
    in_word: bool,
    voiced_run: u64,
    silence_run: u64,
    words: u32,
    greeting_voiced: u64,
    longest_word: u64,

    beep: BeepDetector,
    beep_at: Option<(u64, f32)>,

    result: Option<AmdResult>,
}

impl AnsweringMachineDetector {
    /// Creates a detector; all buffers are allocated here.
    pub fn new(config: AmdConfig) -> Self {
        let deadline_samples = u64::from(config.total_analysis_ms) * u64::from(SAMPLE_RATE) / 1000;
        Self {
            cfg: config,
            deadline_samples,
            samples: 0,
            dc_prev_in: 0.0,
            dc_prev_out: 0.0,
            frame_energy: 0.0,
            frame_fill: 0,
            frames: 0,
            block_min: [f32::INFINITY; NOISE_BLOCKS],
            block_count: 0,
            block_pos: 0,
            cur_block_min: f32::INFINITY,
            cur_block_frames: 0,
            in_speech: false,
            started: false,
            onset_frame: 0,
            in_word: false,
            voiced_run: 0,
            silence_run: 0,
            words: 0,
            greeting_voiced: 0,
            longest_word: 0,
            beep: BeepDetector::new(),
            beep_at: None,
            result: None,
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &AmdConfig {
        &self.cfg
    }

    /// Whether a decision has been made.
    pub fn is_decided(&self) -> bool {
        self.result.is_some()
    }

    /// Feeds audio. Returns `Some` exactly once, for the chunk in which the
    /// decision was made; afterwards input is ignored and `None` returned.
    pub fn push(&mut self, samples: &[i16]) -> Option<AmdResult> {
        if self.result.is_some() {
            return None;
        }
        if self.deadline_samples == 0 {
            return Some(self.decide(Cause::Timeout));
        }
        for &s in samples {
            self.samples += 1;

            if let Some(run) = self.beep.push_sample(s) {
                // A beep ended; the steady-tone check below usually fired first.
                if self.beep_at.is_none() {
                    self.beep_at = Some((run.start, run.freq));
                }
            }
            if self.beep_at.is_none() {
                if let Some((start, len, freq)) = self.beep.current_tone() {
                    if len >= AMD_BEEP_MIN_SAMPLES {
                        self.beep_at = Some((start, freq));
                    }
                }
            }
            if let Some((start, freq)) = self.beep_at {
                return Some(self.decide(Cause::Beep {
                    at_ms: start * 1000 / u64::from(SAMPLE_RATE),
                    freq_hz: freq,
                }));
            }

            // One-pole DC blocker (~20 Hz corner) so an offset is not speech.
            let x = f32::from(s);
            let y = x - self.dc_prev_in + 0.985 * self.dc_prev_out;
            self.dc_prev_in = x;
            self.dc_prev_out = y;
            self.frame_energy += f64::from(y) * f64::from(y);
            self.frame_fill += 1;
            if self.frame_fill == FRAME_SAMPLES {
                let mean = self.frame_energy / f64::from(FRAME_SAMPLES);
                self.frame_energy = 0.0;
                self.frame_fill = 0;
                if let Some(cause) = self.process_frame(mean) {
                    return Some(self.decide(cause));
                }
            }
            if self.samples >= self.deadline_samples {
                return Some(self.decide(Cause::Timeout));
            }
        }
        None
    }

    /// Forces a decision now (call ended, external timer). Returns the
    /// earlier result if one was already made; otherwise the verdict is
    /// [`Verdict::Unknown`] unless a rule has already fired.
    pub fn finish(&mut self) -> AmdResult {
        match &self.result {
            Some(r) => r.clone(),
            None => self.decide(Cause::Timeout),
        }
    }

    fn now_ms(&self) -> u32 {
        clamp_u32(self.samples * 1000 / u64::from(SAMPLE_RATE))
    }

    /// Classifies one 10 ms frame (mean square of DC-free samples) and runs
    /// the decision rules.
    fn process_frame(&mut self, mean_square: f64) -> Option<Cause> {
        self.frames += 1;
        let level = level_db(mean_square);
        let voiced = self.update_vad(level);
        let cfg = &self.cfg;

        if voiced {
            self.voiced_run += 1;
            self.silence_run = 0;
            if self.started {
                self.greeting_voiced += 1;
            }
            if !self.in_word && self.voiced_run * FRAME_MS >= u64::from(cfg.min_word_ms) {
                self.in_word = true;
                self.words = self.words.saturating_add(1);
                if !self.started {
                    self.started = true;
                    self.onset_frame = self.frames - self.voiced_run;
                    self.greeting_voiced = self.voiced_run;
                }
            }
            if self.in_word {
                self.longest_word = self.longest_word.max(self.voiced_run);
            }
        } else {
            self.silence_run += 1;
            if self.silence_run * FRAME_MS >= u64::from(cfg.between_words_silence_ms) {
                self.in_word = false;
                self.voiced_run = 0;
            }
        }

        if !self.started {
            let silence_frames = self.frames - self.voiced_run;
            if silence_frames * FRAME_MS >= u64::from(cfg.initial_silence_ms) {
                return Some(Cause::InitialSilence);
            }
            return None;
        }
        if self.words > cfg.max_words {
            return Some(Cause::TooManyWords);
        }
        if self.greeting_voiced * FRAME_MS > u64::from(cfg.greeting_ms) {
            return Some(Cause::LongGreeting);
        }
        if !voiced && self.silence_run * FRAME_MS >= u64::from(cfg.after_greeting_silence_ms) {
            return Some(Cause::SilenceAfterGreeting);
        }
        None
    }

    /// Voice activity decision for a frame at `level` dBFS, updating the
    /// adaptive noise floor.
    fn update_vad(&mut self, level: f32) -> bool {
        // Digital silence (before the media path is connected, or from a
        // silence-suppressing gateway) says nothing about the line's noise.
        if level > DIGITAL_SILENCE_DB {
            self.cur_block_min = self.cur_block_min.min(level);
        }
        self.cur_block_frames += 1;
        let mut floor = self.cur_block_min;
        for &m in self.block_min.iter().take(self.block_count) {
            floor = floor.min(m);
        }
        if !floor.is_finite() {
            floor = MIN_LEVEL_DB;
        }
        // Speech that starts right after digital silence, with no pause yet,
        // would otherwise become its own noise floor.
        floor = floor.min(NOISE_FLOOR_CAP_DB);
        if self.cur_block_frames >= NOISE_BLOCK_FRAMES {
            self.block_min[self.block_pos] = self.cur_block_min;
            self.block_pos = (self.block_pos + 1) % NOISE_BLOCKS;
            self.block_count = (self.block_count + 1).min(NOISE_BLOCKS);
            self.cur_block_min = f32::INFINITY;
            self.cur_block_frames = 0;
        }
        let abs = if self.cfg.silence_threshold.is_nan() {
            AmdConfig::default().silence_threshold
        } else {
            self.cfg.silence_threshold
        };
        self.in_speech = if self.in_speech {
            level > (floor + SPEECH_OFF_SNR_DB).max(abs - 3.0)
        } else {
            level > (floor + SPEECH_ON_SNR_DB).max(abs)
        };
        self.in_speech
    }

    /// Builds the result for `cause`, stores it and returns a copy.
    fn decide(&mut self, cause: Cause) -> AmdResult {
        let cfg = &self.cfg;
        let words = self.words;
        let greeting_ms = self.greeting_voiced * FRAME_MS;
        let silence_ms = self.silence_run * FRAME_MS;
        let initial_silence_ms = if self.started {
            self.onset_frame * FRAME_MS
        } else {
            (self.frames - self.voiced_run) * FRAME_MS
        };
        let longest_ms = self.longest_word * FRAME_MS;
        let beep_heard = self.beep_at.is_some();
        let mut reasons = Vec::with_capacity(3);

        let (verdict, confidence) = match cause {
            Cause::Beep { at_ms, freq_hz } => {
                reasons.push(format!(
                    "beep at {} ({:.0} Hz)",
                    secs(at_ms),
                    freq_hz.round()
                ));
                (Verdict::Machine, 0.95)
            }
            Cause::InitialSilence => {
                reasons.push(format!(
                    "initial silence {} >= {}",
                    secs(initial_silence_ms),
                    secs(u64::from(cfg.initial_silence_ms))
                ));
                (Verdict::Machine, 0.6)
            }
            Cause::LongGreeting => {
                reasons.push(format!(
                    "greeting {} > {}",
                    secs(greeting_ms),
                    secs(u64::from(cfg.greeting_ms))
                ));
                reasons.push(format!(
                    "{}, longest {}",
                    plural(words, "word"),
                    secs(longest_ms)
                ));
                let conf = if words >= 2 { 0.85 } else { 0.75 };
                (Verdict::Machine, conf)
            }
            Cause::TooManyWords => {
                reasons.push(format!("{words} words > {}", cfg.max_words));
                reasons.push(format!("greeting {} so far", secs(greeting_ms)));
                // More confident when the greeting is also getting long.
                let frac = ratio(greeting_ms, u64::from(cfg.greeting_ms));
                (Verdict::Machine, 0.65 + 0.25 * frac)
            }
            Cause::SilenceAfterGreeting => {
                reasons.push(format!(
                    "{} ({} speech) then {} silence",
                    plural(words, "word"),
                    secs(greeting_ms),
                    secs(silence_ms)
                ));
                // Short greetings are the most human-like.
                let frac = ratio(greeting_ms, u64::from(cfg.greeting_ms));
                let few_words = if words <= 2 { 0.05 } else { 0.0 };
                (Verdict::Human, 0.7 + 0.2 * (1.0 - frac) + few_words)
            }
            Cause::Timeout => {
                let msg = if self.started {
                    format!(
                        "undecided after {}: {}, {} speech, {} silence",
                        secs(self.samples * 1000 / u64::from(SAMPLE_RATE)),
                        plural(words, "word"),
                        secs(greeting_ms),
                        secs(silence_ms)
                    )
                } else {
                    format!(
                        "undecided after {}: no speech, {} silence",
                        secs(self.samples * 1000 / u64::from(SAMPLE_RATE)),
                        secs(initial_silence_ms)
                    )
                };
                reasons.push(msg);
                (Verdict::Unknown, 0.0)
            }
        };
        if self.started && !matches!(cause, Cause::InitialSilence) {
            reasons.push(format!("initial silence {}", secs(initial_silence_ms)));
        }

        let result = AmdResult {
            verdict,
            confidence: confidence.clamp(0.0, 1.0),
            reasons,
            decided_after_ms: self.now_ms(),
            words,
            initial_silence_ms: clamp_u32(initial_silence_ms),
            longest_speech_ms: clamp_u32(longest_ms),
            beep_heard,
        };
        self.result = Some(result.clone());
        result
    }
}

/// Samples per analysis window of the beep detector (20 ms).
const BEEP_WINDOW: usize = 160;
/// Hop between beep windows (10 ms).
const BEEP_HOP: u32 = 80;
/// Lowest / highest accepted beep frequency.
const BEEP_MIN_HZ: f32 = 300.0;
const BEEP_MAX_HZ: f32 = 2500.0;
/// Share of a window's energy that must sit at the dominant frequency.
const BEEP_PURITY: f32 = 0.85;
/// Minimum window level for a beep, dBFS.
const BEEP_MIN_LEVEL_DB: f32 = -40.0;
/// Accepted beep length.
const BEEP_MIN_SAMPLES: u64 = 90 * SAMPLE_RATE as u64 / 1000;
const BEEP_MAX_SAMPLES: u64 = 2000 * SAMPLE_RATE as u64 / 1000;
/// Frequency drift allowed within one beep, Hz (or 2 %, whichever is more).
const BEEP_FREQ_TOLERANCE_HZ: f32 = 20.0;
/// Level drift allowed within one beep, dB.
const BEEP_LEVEL_TOLERANCE_DB: f32 = 6.0;

/// Finds voicemail beeps: a steady single tone (300–2500 Hz, 90 ms–2 s,
/// almost all of its energy at one frequency).
///
/// Every 10 ms the last 20 ms of audio are analysed: the dominant frequency
/// is estimated from the lag-one autocorrelation (exact for a pure tone),
/// then Goertzel filters at and around that frequency measure which share of
/// the window's energy is in that single tone. Speech (many harmonics),
/// noise (flat spectrum) and dual tones such as DTMF (two components, about
/// half the energy each) fail that purity test. A run of pure windows at a
/// steady frequency and level is a beep; it is reported once it has ended.
///
/// Known limits: a single-frequency segment of a special information tone
/// (SIT) or a fax calling tone shorter than 2 s is also reported.
#[derive(Debug, Clone)]
pub struct BeepDetector {
    ring: [f32; BEEP_WINDOW],
    pos: usize,
    filled: usize,
    samples: u64,
    since_hop: u32,
    tone: Option<ToneRun>,
}

/// A run of tonal windows (sample positions are absolute).
#[derive(Debug, Clone, Copy)]
struct ToneRun {
    start: u64,
    end: u64,
    freq: f32,
    level: f32,
}

impl Default for BeepDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl BeepDetector {
    /// Creates a beep detector for 8 kHz audio.
    pub fn new() -> Self {
        Self {
            ring: [0.0; BEEP_WINDOW],
            pos: 0,
            filled: 0,
            samples: 0,
            since_hop: 0,
            tone: None,
        }
    }

    /// Feeds audio. Returns the sample index (counted from the first sample
    /// ever pushed) just after the end of a beep, once that beep is over.
    /// A beep is reported once, 10–20 ms after its end; if several beeps end
    /// within one chunk, the last one is returned.
    pub fn push(&mut self, samples: &[i16]) -> Option<u64> {
        let mut found = None;
        for &s in samples {
            if let Some(run) = self.push_sample(s) {
                found = Some(run.end);
            }
        }
        found
    }

    /// Total number of samples pushed so far.
    pub fn samples_seen(&self) -> u64 {
        self.samples
    }

    /// The tone currently under way, if any: (start sample, length in
    /// samples so far, frequency in Hz).
    fn current_tone(&self) -> Option<(u64, u64, f32)> {
        self.tone
            .map(|t| (t.start, t.end.saturating_sub(t.start), t.freq))
    }

    /// Feeds one sample; returns a finished beep.
    fn push_sample(&mut self, s: i16) -> Option<ToneRun> {
        self.ring[self.pos] = f32::from(s);
        self.pos = (self.pos + 1) % BEEP_WINDOW;
        self.filled = (self.filled + 1).min(BEEP_WINDOW);
        self.samples += 1;
        self.since_hop += 1;
        if self.since_hop < BEEP_HOP || self.filled < BEEP_WINDOW {
            return None;
        }
        self.since_hop = 0;
        let window_start = self.samples - BEEP_WINDOW as u64;
        match self.analyse() {
            Some((freq, level, purity)) => {
                let covered = (f64::from(purity.min(1.0)) * BEEP_WINDOW as f64) as u64;
                let est_start = self.samples - covered;
                let est_end = window_start + covered;
                if let Some(run) = self.tone.as_mut() {
                    let tol = BEEP_FREQ_TOLERANCE_HZ.max(run.freq * 0.02);
                    if (freq - run.freq).abs() <= tol
                        && (level - run.level).abs() <= BEEP_LEVEL_TOLERANCE_DB
                    {
                        run.end = run.end.max(est_end);
                        run.freq = 0.9 * run.freq + 0.1 * freq;
                        return None;
                    }
                }
                let finished = self.close_run();
                self.tone = Some(ToneRun {
                    start: est_start,
                    end: est_end.max(est_start),
                    freq,
                    level,
                });
                finished
            }
            None => self.close_run(),
        }
    }

    /// Ends the current tone run; returns it if it qualifies as a beep.
    fn close_run(&mut self) -> Option<ToneRun> {
        let run = self.tone.take()?;
        let len = run.end.saturating_sub(run.start);
        (BEEP_MIN_SAMPLES..=BEEP_MAX_SAMPLES)
            .contains(&len)
            .then_some(run)
    }

    /// Analyses the last window: Some((frequency, level dBFS, purity)) when
    /// it is dominated by a single tone in the beep band.
    fn analyse(&self) -> Option<(f32, f32, f32)> {
        let n = BEEP_WINDOW;
        let mut energy = 0.0f64;
        let mut lag1 = 0.0f64;
        let mut first = 0.0f64;
        let mut last = 0.0f64;
        let mut prev = 0.0f64;
        let mut mean = 0.0f64;
        for i in 0..n {
            mean += f64::from(self.ring[(self.pos + i) % n]);
        }
        mean /= n as f64;
        for i in 0..n {
            let x = f64::from(self.ring[(self.pos + i) % n]) - mean;
            if i == 0 {
                first = x;
            } else {
                lag1 += x * prev;
            }
            energy += x * x;
            prev = x;
            last = x;
        }
        let level = level_db(energy / n as f64);
        if level < BEEP_MIN_LEVEL_DB {
            return None;
        }
        // Both sums over the same n-1 products, so a pure tone gives cos(w).
        let denom = 2.0 * energy - first * first - last * last;
        if denom <= 0.0 {
            return None;
        }
        let c = (2.0 * lag1 / denom).clamp(-1.0, 1.0);
        let w = c.acos();
        let freq = (w * f64::from(SAMPLE_RATE) / std::f64::consts::TAU) as f32;
        if !(BEEP_MIN_HZ..=BEEP_MAX_HZ).contains(&freq) {
            return None;
        }
        // Noise or a second tone bias the estimate a little: also try
        // neighbours a quarter bin (12.5 Hz) away.
        let mut best = 0.0f64;
        let mut best_freq = freq;
        for delta in [-12.5f32, 0.0, 12.5] {
            let f = freq + delta;
            let p = self.goertzel(f64::from(f), mean);
            if p > best {
                best = p;
                best_freq = f;
            }
        }
        let purity = (2.0 * best / (n as f64 * energy)) as f32;
        (purity >= BEEP_PURITY).then_some((best_freq, level, purity))
    }

    /// Goertzel power |X(f)|² of the window (mean removed).
    fn goertzel(&self, freq: f64, mean: f64) -> f64 {
        let n = BEEP_WINDOW;
        let w = std::f64::consts::TAU * freq / f64::from(SAMPLE_RATE);
        let coeff = 2.0 * w.cos();
        let (mut s1, mut s2) = (0.0f64, 0.0f64);
        for i in 0..n {
            let x = f64::from(self.ring[(self.pos + i) % n]) - mean;
            let s0 = x + coeff * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        s1 * s1 + s2 * s2 - coeff * s1 * s2
    }
}

/// Level in dBFS of a mean square (full-scale square wave = 0 dBFS).
fn level_db(mean_square: f64) -> f32 {
    let fs = 32768.0f64 * 32768.0;
    if mean_square.is_nan() || mean_square <= 0.0 {
        return MIN_LEVEL_DB;
    }
    ((10.0 * (mean_square / fs).log10()) as f32).max(MIN_LEVEL_DB)
}

/// `a / b` limited to 0..=1 (0 when b is 0).
fn ratio(a: u64, b: u64) -> f32 {
    if b == 0 {
        return 1.0;
    }
    (a as f64 / b as f64).clamp(0.0, 1.0) as f32
}

/// Milliseconds as "1.25 s".
fn secs(ms: u64) -> String {
    format!("{:.2} s", ms as f64 / 1000.0)
}

fn plural(n: u32, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn clamp_u32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}
