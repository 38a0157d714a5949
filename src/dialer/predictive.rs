//! Call pacing for agent-backed outbound campaigns.
//!
//! Two pacers live here:
//!
//! * [`ProgressivePacer`] — dial exactly one lead per idle agent that does
//!   not already have a call ringing for it. Every answered call is
//!   guaranteed an agent, so it never abandons.
//! * [`PredictivePacer`] — dial ahead of agents becoming free, using the
//!   measured human-answer rate, the answer delay and the expected remaining
//!   busy time of agents, while keeping the abandonment rate under a cap.
//!
//! # Predictive model
//!
//! The pacer is pure logic: it never reads a clock; every time is a
//! [`Duration`] since an arbitrary epoch supplied by the driver.
//!
//! 1. **Answer rate.** `p` is the fraction of *human* answers over the last
//!    [`PredictiveConfig::rate_window_attempts`] resolved attempts. Machine
//!    answers are assumed to be handled by answering-machine detection and
//!    never need an agent. To stay on the safe side the pacer uses an upper
//!    confidence bound `p⁺ = p + z·sqrt(p(1-p)/n)`: over-estimating the
//!    answer rate makes it dial *fewer* calls.
//! 2. **Horizon.** `H` = mean dial→answer delay of human answers plus the
//!    connect grace (2 s). A call placed now is answered around `now + H`.
//! 3. **Agents free at the horizon.** `F = available + #busy agents whose
//!    expected remaining talk+wrap time is ≤ H`. Drivers that only know the
//!    elapsed time of a call can obtain the expected remaining time from the
//!    empirical handle-time distribution with
//!    [`PredictivePacer::expected_remaining`].
//! 4. **Balance.** Calls already in flight are expected to deliver
//!    `in_flight·p⁺` answers. The pacer places
//!    `n = floor((g·F − in_flight·p⁺) / p⁺)` new calls so that the expected
//!    answers match `g·F`, where `g` is the controller gain.
//! 5. **Feedback controller.** `g` is an integral controller driven by every
//!    answered call: an abandon lowers it by `step·(1−r*)`, a connected call
//!    raises it by `step·r*`, with `r* = target_fraction · abandon_cap`
//!    (default 80 % of the cap). Its fixed point is an abandonment rate of
//!    `r*`. When the rolling abandonment rate is above `r*` the gain is
//!    further scaled down linearly, reaching zero at the cap; at or over
//!    the cap the pacer falls back to progressive dialing.
//! 6. **Limits.** Never more than `max_ratio · F` lines in total (new plus
//!    in flight), never fewer than the progressive count (which is always
//!    safe), and progressive behaviour until `min_samples` attempts have
//!    been resolved and at least one human answer has been seen.
//!
//! The abandonment rate is measured over the last
//! [`PredictiveConfig::window_answered`] human-answered calls, optionally
//! also limited by age ([`PredictiveConfig::window_age`], e.g. 30 days).
//!
//! A deterministic discrete-event campaign simulation lives in
//! [`simulation`].

use std::collections::VecDeque;
use std::time::Duration;

/// Outcome of one dial attempt, reported when the attempt resolves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptResult {
    /// A person answered `after` the dial started.
    Answered { after: Duration },
    /// Nobody answered (ring-out, busy, failure) `after` the dial started.
    NotAnswered { after: Duration },
    /// An answering machine picked up `after` the dial started.
    Machine { after: Duration },
}

/// Tuning for [`PredictivePacer`].
#[derive(Debug, Clone, PartialEq)]
pub struct PredictiveConfig {
    /// Maximum abandonment rate (abandoned / human-answered), e.g. 0.03.
    pub abandon_cap: f64,
    /// Fraction of the cap the controller aims at, e.g. 0.8.
    pub target_fraction: f64,
    /// Rolling window of human-answered calls for the abandonment rate.
    pub window_answered: usize,
    /// Optional age limit of the abandonment window (e.g. 30 days).
    pub window_age: Option<Duration>,
    /// Maximum lines per agent free at the horizon.
    pub max_ratio: f64,
    /// Until this many attempts are resolved, dial progressively.
    pub min_samples: usize,
    /// Number of recent attempts used to estimate the answer rate.
    pub rate_window_attempts: usize,
    /// Number of recent handle times kept for [`PredictivePacer::expected_remaining`].
    pub handle_window: usize,
    /// How long an answered person may wait for an agent before abandon.
    pub connect_grace: Duration,
    /// z-score of the upper confidence bound on the answer rate.
    pub confidence_z: f64,
    /// Integral controller step.
    pub gain_step: f64,
    /// Initial controller gain.
    pub initial_gain: f64,
    /// Lower and upper bound of the controller gain.
    pub gain_bounds: (f64, f64),
}

impl Default for PredictiveConfig {
    fn default() -> Self {
        Self {
            abandon_cap: 0.03,
            target_fraction: 0.8,
            window_answered: 1000,
            window_age: None,
            max_ratio: 3.0,
            min_samples: 100,
            rate_window_attempts: 300,
            handle_window: 500,
            connect_grace: Duration::from_secs(2),
            confidence_z: 1.0,
            gain_step: 0.05,
            initial_gain: 0.9,
            gain_bounds: (0.2, 1.5),
        }
    }
}

/// Snapshot of what the pacer has measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// Attempts resolved since creation.
    pub attempts_total: u64,
    /// Attempts in the answer-rate window.
    pub attempts_in_window: usize,
    /// Human answer rate over the answer-rate window.
    pub human_answer_rate: f64,
    /// Machine answer rate over the answer-rate window.
    pub machine_rate: f64,
    /// Mean dial→answer delay of human answers in the window.
    pub mean_answer_delay: Option<Duration>,
    /// Mean handle (talk + wrap) time over the handle window.
    pub mean_handle: Option<Duration>,
    /// Human-answered calls in the abandonment window.
    pub answered_in_window: usize,
    /// Abandons in the abandonment window.
    pub abandons_in_window: usize,
    /// Abandonment rate over the window.
    pub abandon_rate: f64,
    /// Current controller gain.
    pub gain: f64,
}

/// Predictive pacer; see the module documentation for the model.
#[derive(Debug, Clone)]
pub struct PredictivePacer {
    config: PredictiveConfig,
    attempts_total: u64,
    attempts: VecDeque<AttemptResult>,
    humans: usize,
    machines: usize,
    human_delay_ms: u64,
    answered: VecDeque<(Duration, bool)>,
    abandons: usize,
    handle_fifo: VecDeque<u64>,
    handle_sorted: Vec<u64>,
    handle_prefix: Vec<u64>,
    gain: f64,
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl PredictivePacer {
    /// Creates a pacer with no measurements (it dials progressively).
    pub fn new(config: PredictiveConfig) -> Self {
        let gain = clamp(config.initial_gain, config.gain_bounds);
        Self {
            config,
            attempts_total: 0,
            attempts: VecDeque::new(),
            humans: 0,
            machines: 0,
            human_delay_ms: 0,
            answered: VecDeque::new(),
            abandons: 0,
            handle_fifo: VecDeque::new(),
            handle_sorted: Vec::new(),
            handle_prefix: vec![0],
            gain,
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &PredictiveConfig {
        &self.config
    }

    /// Records the resolution of a dial attempt.
    pub fn record_attempt_result(&mut self, now: Duration, result: AttemptResult) {
        self.prune_answered(now);
        self.attempts_total = self.attempts_total.saturating_add(1);
        self.add_attempt(result, true);
        self.attempts.push_back(result);
        while self.attempts.len() > self.config.rate_window_attempts.max(1) {
            if let Some(old) = self.attempts.pop_front() {
                self.add_attempt(old, false);
            }
        }
    }

    fn add_attempt(&mut self, result: AttemptResult, add: bool) {
        match result {
            AttemptResult::Answered { after } => {
                if add {
                    self.humans += 1;
                    self.human_delay_ms = self.human_delay_ms.saturating_add(ms(after));
                } else {
                    self.humans = self.humans.saturating_sub(1);
                    self.human_delay_ms = self.human_delay_ms.saturating_sub(ms(after));
                }
            }
            AttemptResult::Machine { .. } => {
                if add {
                    self.machines += 1;
                } else {
                    self.machines = self.machines.saturating_sub(1);
                }
            }
            AttemptResult::NotAnswered { .. } => {}
        }
    }

    /// Records the total agent busy time (talk + wrap-up) of a finished call.
    pub fn record_handle_time(&mut self, handle: Duration) {
        let v = ms(handle);
        self.handle_fifo.push_back(v);
        let pos = self.handle_sorted.partition_point(|&x| x < v);
        self.handle_sorted.insert(pos, v);
        while self.handle_fifo.len() > self.config.handle_window.max(1) {
            if let Some(old) = self.handle_fifo.pop_front() {
                let pos = self.handle_sorted.partition_point(|&x| x < old);
                if pos < self.handle_sorted.len() {
                    self.handle_sorted.remove(pos);
                }
            }
        }
        self.handle_prefix.clear();
        self.handle_prefix.push(0);
        let mut acc = 0u64;
        for &x in &self.handle_sorted {
            acc = acc.saturating_add(x);
            self.handle_prefix.push(acc);
        }
    }

    /// Records a human-answered call that got no agent within the grace time.
    pub fn record_abandon(&mut self, now: Duration) {
        self.push_answered(now, true);
        let r = self.target_rate();
        self.gain = clamp(
            self.gain - self.config.gain_step * (1.0 - r),
            self.config.gain_bounds,
        );
    }

    /// Records a human-answered call that was connected to an agent.
    pub fn record_answered_connected(&mut self, now: Duration) {
        self.push_answered(now, false);
        let r = self.target_rate();
        self.gain = clamp(
            self.gain + self.config.gain_step * r,
            self.config.gain_bounds,
        );
    }

    fn push_answered(&mut self, now: Duration, abandoned: bool) {
        self.answered.push_back((now, abandoned));
        if abandoned {
            self.abandons += 1;
        }
        while self.answered.len() > self.config.window_answered.max(1) {
            self.pop_answered();
        }
        self.prune_answered(now);
    }

    fn pop_answered(&mut self) {
        if let Some((_, ab)) = self.answered.pop_front() {
            if ab {
                self.abandons = self.abandons.saturating_sub(1);
            }
        }
    }

    fn prune_answered(&mut self, now: Duration) {
        if let Some(age) = self.config.window_age {
            while let Some(&(t, _)) = self.answered.front() {
                if now.saturating_sub(t) > age {
                    self.pop_answered();
                } else {
                    break;
                }
            }
        }
    }

    fn target_rate(&self) -> f64 {
        (self.config.abandon_cap * self.config.target_fraction).clamp(0.0, 1.0)
    }

    /// Abandonment rate (abandoned / human-answered) over the rolling window.
    pub fn abandon_rate(&self) -> f64 {
        if self.answered.is_empty() {
            0.0
        } else {
            self.abandons as f64 / self.answered.len() as f64
        }
    }

    /// Human answer rate over the answer-rate window (0 when unknown).
    pub fn answer_rate(&self) -> f64 {
        if self.attempts.is_empty() {
            0.0
        } else {
            self.humans as f64 / self.attempts.len() as f64
        }
    }

    /// Current controller gain.
    pub fn gain(&self) -> f64 {
        self.gain
    }

    /// Mean dial→answer delay of human answers in the answer-rate window.
    pub fn mean_answer_delay(&self) -> Option<Duration> {
        self.human_delay_ms
            .checked_div(self.humans as u64)
            .map(Duration::from_millis)
    }

    /// Mean handle (talk + wrap) time over the handle window.
    pub fn mean_handle(&self) -> Option<Duration> {
        let n = self.handle_sorted.len() as u64;
        let total = self.handle_prefix.last().copied().unwrap_or(0);
        total.checked_div(n).map(Duration::from_millis)
    }

    /// Expected remaining busy time of an agent whose call has lasted
    /// `elapsed`, from the empirical handle-time distribution:
    /// `E[H − elapsed | H > elapsed]`. `None` when no recorded handle time
    /// exceeds `elapsed`.
    pub fn expected_remaining(&self, elapsed: Duration) -> Option<Duration> {
        let e = ms(elapsed);
        let pos = self.handle_sorted.partition_point(|&x| x <= e);
        let count = (self.handle_sorted.len() - pos) as u64;
        if count == 0 {
            return None;
        }
        let total = self.handle_prefix.last().copied().unwrap_or(0);
        let below = self.handle_prefix.get(pos).copied().unwrap_or(0);
        let mean_above = total.saturating_sub(below) / count;
        Some(Duration::from_millis(mean_above.saturating_sub(e)))
    }

    /// Measurement snapshot.
    pub fn stats(&self) -> Stats {
        let n = self.attempts.len();
        Stats {
            attempts_total: self.attempts_total,
            attempts_in_window: n,
            human_answer_rate: self.answer_rate(),
            machine_rate: if n == 0 {
                0.0
            } else {
                self.machines as f64 / n as f64
            },
            mean_answer_delay: self.mean_answer_delay(),
            mean_handle: self.mean_handle(),
            answered_in_window: self.answered.len(),
            abandons_in_window: self.abandons,
            abandon_rate: self.abandon_rate(),
            gain: self.gain,
        }
    }

    /// Number of new calls to place now.
    ///
    /// * `agents_available` — idle agents.
    /// * `agents_busy_expected_free_within` — expected remaining talk+wrap
    ///   time of each busy agent.
    /// * `calls_in_flight` — dialled calls not yet resolved (plus answered
    ///   calls waiting for an agent).
    pub fn calls_to_place(
        &self,
        now: Duration,
        agents_available: u32,
        agents_busy_expected_free_within: &[Duration],
        calls_in_flight: u32,
    ) -> u32 {
        let progressive = ProgressivePacer::calls_to_place(agents_available, calls_in_flight);
        let cap = self.config.abandon_cap;
        let rate = self.rate_at(now);
        if self.attempts_total < self.config.min_samples as u64
            || self.humans == 0
            || rate >= cap
            || cap.is_nan()
            || cap <= 0.0
        {
            return progressive;
        }
        let n_att = self.attempts.len() as f64;
        let p = self.humans as f64 / n_att;
        let p_up = (p + self.config.confidence_z.max(0.0) * (p * (1.0 - p) / n_att).sqrt())
            .clamp(1e-3, 1.0);

        let horizon = self.mean_answer_delay().unwrap_or_default() + self.config.connect_grace;
        let soon_free = agents_busy_expected_free_within
            .iter()
            .filter(|&&r| r <= horizon)
            .count();
        let free = f64::from(agents_available) + soon_free as f64;

        let target = self.target_rate();
        let mut gain = self.gain;
        if rate > target && cap > target {
            gain *= ((cap - rate) / (cap - target)).clamp(0.0, 1.0);
        }

        let in_flight = f64::from(calls_in_flight);
        let wanted = (gain * free - in_flight * p_up) / p_up;
        let ratio_room = (self.config.max_ratio.max(1.0) * free).floor() - in_flight;
        let n = wanted.min(ratio_room).floor();
        let n = if n.is_finite() && n > 0.0 {
            n.min(f64::from(u32::MAX)) as u32
        } else {
            0
        };
        n.max(progressive)
    }

    /// Abandonment rate as it would be after pruning entries older than the
    /// age window at `now`.
    fn rate_at(&self, now: Duration) -> f64 {
        match self.config.window_age {
            None => self.abandon_rate(),
            Some(age) => {
                let mut total = 0usize;
                let mut ab = 0usize;
                for &(t, a) in self.answered.iter().rev() {
                    if now.saturating_sub(t) > age {
                        break;
                    }
                    total += 1;
                    if a {
                        ab += 1;
                    }
                }
                if total == 0 {
                    0.0
                } else {
                    ab as f64 / total as f64
                }
            }
        }
    }
}

fn clamp(v: f64, (lo, hi): (f64, f64)) -> f64 {
    if v.is_nan() {
        lo
    } else {
        v.max(lo).min(hi.max(lo))
    }
}

/// Progressive pacing: one line per idle agent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProgressivePacer;

impl ProgressivePacer {
    /// Idle agents that do not already have a call in flight for them.
    pub fn calls_to_place(agents_available: u32, calls_in_flight: u32) -> u32 {
        agents_available.saturating_sub(calls_in_flight)
    }
}

/// Deterministic discrete-event simulation of an agent-backed campaign.
///
/// Leads are dialled by a pacer; each dial resolves as a human answer, a
/// machine (handled by AMD, never needs an agent) or no answer. A human
/// answer takes the longest-idle agent; if none is idle it waits up to the
/// connect grace (2 s) for an agent to free up, otherwise it is abandoned.
/// Agents talk for a lognormal handle time then wrap up. Logged-in time is
/// measured from 0 to the moment the last lead is dialled.
pub mod simulation {
    use super::{AttemptResult, PredictiveConfig, PredictivePacer, ProgressivePacer};
    use std::cmp::Reverse;
    use std::collections::{BinaryHeap, VecDeque};
    use std::time::Duration;

    /// SplitMix64 pseudo-random generator (deterministic, seedable).
    #[derive(Debug, Clone)]
    pub struct SplitMix64(u64);

    impl SplitMix64 {
        /// New generator from a seed.
        pub fn new(seed: u64) -> Self {
            Self(seed)
        }

        /// Next 64 random bits.
        pub fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        /// Uniform in [0, 1).
        pub fn next_f64(&mut self) -> f64 {
            (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
        }

        /// Uniform in [lo, hi).
        pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
            lo + (hi - lo) * self.next_f64()
        }

        /// Standard normal (Box–Muller).
        pub fn normal(&mut self) -> f64 {
            let u1 = (1.0 - self.next_f64()).max(f64::MIN_POSITIVE);
            let u2 = self.next_f64();
            (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
        }
    }

    /// Which pacer drives the campaign.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Mode {
        /// [`ProgressivePacer`].
        Progressive,
        /// [`PredictivePacer`].
        Predictive,
    }

    /// Lead outcome mix, effective from dial number `from_dial` onwards.
    #[derive(Debug, Clone, PartialEq)]
    pub struct MixChange {
        /// First dial (0-based) using this mix.
        pub from_dial: u64,
        /// Probability of a human answer.
        pub human: f64,
        /// Probability of an answering machine.
        pub machine: f64,
    }

    /// Simulation parameters.
    #[derive(Debug, Clone, PartialEq)]
    pub struct SimConfig {
        /// Logged-in agents.
        pub agents: u32,
        /// Leads to dial.
        pub dials: u64,
        /// PRNG seed.
        pub seed: u64,
        /// Outcome mix schedule, sorted by `from_dial`.
        pub mix: Vec<MixChange>,
        /// Ring time of unanswered calls, seconds (uniform).
        pub ring_secs: (f64, f64),
        /// Dial→answer delay of human/machine answers, seconds (uniform).
        pub answer_secs: (f64, f64),
        /// Mean talk time, seconds (lognormal).
        pub mean_talk_secs: f64,
        /// Lognormal shape parameter.
        pub talk_sigma: f64,
        /// Wrap-up time after each call.
        pub wrap: Duration,
        /// Time an answered person waits for an agent before abandon.
        pub grace: Duration,
        /// Pacing re-evaluation period (pacing also runs after every event).
        pub tick: Duration,
        /// Predictive pacer configuration.
        pub pacer: PredictiveConfig,
    }

    impl SimConfig {
        /// 20 agents, 30 % human / 15 % machine / 55 % no answer, ring 5–25 s,
        /// answer after 3–20 s, talk lognormal mean 170 s + 10 s wrap.
        pub fn standard(seed: u64, dials: u64) -> Self {
            Self {
                agents: 20,
                dials,
                seed,
                mix: vec![MixChange {
                    from_dial: 0,
                    human: 0.30,
                    machine: 0.15,
                }],
                ring_secs: (5.0, 25.0),
                answer_secs: (3.0, 20.0),
                mean_talk_secs: 170.0,
                talk_sigma: 0.6,
                wrap: Duration::from_secs(10),
                grace: Duration::from_secs(2),
                tick: Duration::from_secs(1),
                pacer: PredictiveConfig::default(),
            }
        }

        /// Same as [`SimConfig::standard`] with the human answer rate
        /// switching from `before` to `after` half-way through the dials.
        pub fn with_mid_run_change(seed: u64, dials: u64, before: f64, after: f64) -> Self {
            let mut cfg = Self::standard(seed, dials);
            cfg.mix = vec![
                MixChange {
                    from_dial: 0,
                    human: before,
                    machine: 0.15,
                },
                MixChange {
                    from_dial: dials / 2,
                    human: after,
                    machine: 0.15,
                },
            ];
            cfg
        }
    }

    /// Simulation results.
    #[derive(Debug, Clone, PartialEq)]
    pub struct SimReport {
        /// Pacer used.
        pub mode: Mode,
        /// Leads dialled.
        pub dials: u64,
        /// Human-answered calls.
        pub human_answered: u64,
        /// Human-answered calls connected to an agent.
        pub connected: u64,
        /// Human-answered calls abandoned.
        pub abandoned: u64,
        /// abandoned / human_answered.
        pub abandon_rate: f64,
        /// Worst abandonment rate over any `pacer.window_answered` consecutive
        /// human-answered calls (whole run if fewer).
        pub max_window_abandon_rate: f64,
        /// (talk + wrap) / logged-in time.
        pub occupancy: f64,
        /// Mean agent idle time between calls.
        pub avg_wait: Duration,
        /// Connected calls per agent-hour.
        pub calls_per_agent_hour: f64,
        /// Dials per agent-hour.
        pub dials_per_agent_hour: f64,
        /// Logged-in period (0 → last dial).
        pub duration: Duration,
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    enum Outcome {
        Human,
        Machine,
        NoAnswer,
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    enum Event {
        Resolve {
            call: u64,
            outcome: Outcome,
            after_ms: u64,
        },
        Deadline {
            call: u64,
        },
        AgentFree {
            agent: usize,
        },
        Tick,
    }

    #[derive(Debug, Clone, Copy)]
    struct Agent {
        idle_since: Option<u64>,
        busy_since: u64,
        talk_end: u64,
        free_at: u64,
    }

    struct Sim<'a> {
        cfg: &'a SimConfig,
        mode: Mode,
        rng: SplitMix64,
        queue: BinaryHeap<Reverse<(u64, u64, Event)>>,
        seq: u64,
        pacer: PredictivePacer,
        agents: Vec<Agent>,
        waiting: VecDeque<u64>,
        call_done: Vec<bool>,
        in_flight: u32,
        dialled: u64,
        last_dial: u64,
        human_answered: u64,
        connected: u64,
        abandoned: u64,
        busy: Vec<(u64, u64)>,
        idle: Vec<(u64, u64)>,
        connect_times: Vec<u64>,
        outcomes: Vec<bool>,
    }

    fn d(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    fn secs_to_ms(s: f64) -> u64 {
        if s.is_finite() && s > 0.0 {
            (s * 1000.0).round() as u64
        } else {
            0
        }
    }

    impl Sim<'_> {
        fn push(&mut self, at: u64, ev: Event) {
            self.seq += 1;
            self.queue.push(Reverse((at, self.seq, ev)));
        }

        fn mix(&self, dial: u64) -> (f64, f64) {
            let mut cur = (0.3, 0.15);
            for m in &self.cfg.mix {
                if m.from_dial <= dial {
                    cur = (m.human, m.machine);
                }
            }
            cur
        }

        fn dial(&mut self, now: u64) {
            let call = self.dialled;
            self.dialled += 1;
            self.last_dial = now;
            self.in_flight += 1;
            let (h, m) = self.mix(call);
            let u = self.rng.next_f64();
            let (outcome, secs) = if u < h {
                let (lo, hi) = self.cfg.answer_secs;
                (Outcome::Human, self.rng.uniform(lo, hi))
            } else if u < h + m {
                let (lo, hi) = self.cfg.answer_secs;
                (Outcome::Machine, self.rng.uniform(lo, hi))
            } else {
                let (lo, hi) = self.cfg.ring_secs;
                (Outcome::NoAnswer, self.rng.uniform(lo, hi))
            };
            let after_ms = secs_to_ms(secs);
            self.push(
                now + after_ms,
                Event::Resolve {
                    call,
                    outcome,
                    after_ms,
                },
            );
        }

        fn idle_agent(&self) -> Option<usize> {
            self.agents
                .iter()
                .enumerate()
                .filter_map(|(i, a)| a.idle_since.map(|t| (t, i)))
                .min()
                .map(|(_, i)| i)
        }

        fn connect(&mut self, now: u64, agent: usize) {
            let sigma = self.cfg.talk_sigma;
            let mu = self.cfg.mean_talk_secs.max(1.0).ln() - sigma * sigma / 2.0;
            let talk = (mu + sigma * self.rng.normal()).exp().max(5.0);
            let talk_ms = secs_to_ms(talk);
            let wrap_ms = u64::try_from(self.cfg.wrap.as_millis()).unwrap_or(0);
            if let Some(a) = self.agents.get_mut(agent) {
                if let Some(since) = a.idle_since.take() {
                    self.idle.push((since, now));
                }
                a.busy_since = now;
                a.talk_end = now + talk_ms;
                a.free_at = now + talk_ms + wrap_ms;
                let free_at = a.free_at;
                self.busy.push((now, free_at));
                self.push(free_at, Event::AgentFree { agent });
            }
            self.connected += 1;
            self.outcomes.push(false);
            self.connect_times.push(now);
            self.pacer.record_answered_connected(d(now));
        }

        fn handle(&mut self, now: u64, ev: Event) {
            match ev {
                Event::Resolve {
                    call,
                    outcome,
                    after_ms,
                } => {
                    self.in_flight = self.in_flight.saturating_sub(1);
                    let after = d(after_ms);
                    let result = match outcome {
                        Outcome::Human => AttemptResult::Answered { after },
                        Outcome::Machine => AttemptResult::Machine { after },
                        Outcome::NoAnswer => AttemptResult::NotAnswered { after },
                    };
                    self.pacer.record_attempt_result(d(now), result);
                    if outcome == Outcome::Human {
                        self.human_answered += 1;
                        match self.idle_agent() {
                            Some(agent) => {
                                self.mark_done(call);
                                self.connect(now, agent);
                            }
                            None => {
                                self.waiting.push_back(call);
                                let grace = u64::try_from(self.cfg.grace.as_millis()).unwrap_or(0);
                                self.push(now + grace, Event::Deadline { call });
                            }
                        }
                    }
                }
                Event::Deadline { call } => {
                    if !self.is_done(call) {
                        self.mark_done(call);
                        self.waiting.retain(|&c| c != call);
                        self.abandoned += 1;
                        self.outcomes.push(true);
                        self.pacer.record_abandon(d(now));
                    }
                }
                Event::AgentFree { agent } => {
                    if let Some(a) = self.agents.get_mut(agent) {
                        a.idle_since = Some(now);
                        let handle = now.saturating_sub(a.busy_since);
                        self.pacer.record_handle_time(d(handle));
                    }
                    if let Some(call) = self.waiting.pop_front() {
                        self.mark_done(call);
                        self.connect(now, agent);
                    }
                }
                Event::Tick => {
                    if self.dialled < self.cfg.dials {
                        self.push(now + ms_of(self.cfg.tick).max(1), Event::Tick);
                    }
                }
            }
        }

        fn is_done(&self, call: u64) -> bool {
            usize::try_from(call)
                .ok()
                .and_then(|i| self.call_done.get(i))
                .copied()
                .unwrap_or(true)
        }

        fn mark_done(&mut self, call: u64) {
            if let Some(slot) = usize::try_from(call)
                .ok()
                .and_then(|i| self.call_done.get_mut(i))
            {
                *slot = true;
            }
        }

        fn pace(&mut self, now: u64) {
            if self.dialled >= self.cfg.dials {
                return;
            }
            let available = self
                .agents
                .iter()
                .filter(|a| a.idle_since.is_some())
                .count() as u32;
            let lines = self.in_flight + self.waiting.len() as u32;
            let n = match self.mode {
                Mode::Progressive => ProgressivePacer::calls_to_place(available, lines),
                Mode::Predictive => {
                    let fallback = self.pacer.mean_handle().unwrap_or(Duration::from_secs(180));
                    let remaining: Vec<Duration> = self
                        .agents
                        .iter()
                        .filter(|a| a.idle_since.is_none())
                        .map(|a| {
                            if now >= a.talk_end {
                                d(a.free_at.saturating_sub(now))
                            } else {
                                self.pacer
                                    .expected_remaining(d(now.saturating_sub(a.busy_since)))
                                    .unwrap_or(fallback)
                            }
                        })
                        .collect();
                    self.pacer
                        .calls_to_place(d(now), available, &remaining, lines)
                }
            };
            let n = u64::from(n).min(self.cfg.dials - self.dialled);
            for _ in 0..n {
                self.dial(now);
            }
        }
    }

    fn ms_of(dur: Duration) -> u64 {
        u64::try_from(dur.as_millis()).unwrap_or(u64::MAX)
    }

    fn overlap(total: &[(u64, u64)], end: u64) -> u64 {
        total
            .iter()
            .map(|&(a, b)| b.min(end).saturating_sub(a.min(end)))
            .sum()
    }

    fn max_window_rate(outcomes: &[bool], window: usize) -> f64 {
        let window = window.max(1);
        if outcomes.is_empty() {
            return 0.0;
        }
        if outcomes.len() <= window {
            let ab = outcomes.iter().filter(|&&a| a).count();
            return ab as f64 / outcomes.len() as f64;
        }
        let mut ab = outcomes.iter().take(window).filter(|&&a| a).count();
        let mut worst = ab;
        for i in window..outcomes.len() {
            if outcomes.get(i).copied().unwrap_or(false) {
                ab += 1;
            }
            if outcomes.get(i - window).copied().unwrap_or(false) {
                ab -= 1;
            }
            worst = worst.max(ab);
        }
        worst as f64 / window as f64
    }

    /// Runs one campaign with the given pacer.
    pub fn run(cfg: &SimConfig, mode: Mode) -> SimReport {
        let agents = cfg.agents.max(1) as usize;
        let mut sim = Sim {
            cfg,
            mode,
            rng: SplitMix64::new(cfg.seed),
            queue: BinaryHeap::new(),
            seq: 0,
            pacer: PredictivePacer::new(cfg.pacer.clone()),
            agents: vec![
                Agent {
                    idle_since: Some(0),
                    busy_since: 0,
                    talk_end: 0,
                    free_at: 0,
                };
                agents
            ],
            waiting: VecDeque::new(),
            call_done: vec![false; usize::try_from(cfg.dials).unwrap_or(0)],
            in_flight: 0,
            dialled: 0,
            last_dial: 0,
            human_answered: 0,
            connected: 0,
            abandoned: 0,
            busy: Vec::new(),
            idle: Vec::new(),
            connect_times: Vec::new(),
            outcomes: Vec::new(),
        };
        sim.push(0, Event::Tick);
        while let Some(Reverse((now, _, ev))) = sim.queue.pop() {
            sim.handle(now, ev);
            // Batch simultaneous events before pacing.
            let same_time = matches!(sim.queue.peek(), Some(Reverse((t, _, _))) if *t == now);
            if !same_time {
                sim.pace(now);
            }
        }
        let end = sim.last_dial.max(1);
        for a in &sim.agents {
            if let Some(since) = a.idle_since {
                sim.idle.push((since, end.max(since)));
            }
        }
        let busy_ms = overlap(&sim.busy, end);
        let idle_ms = overlap(&sim.idle, end);
        let connects_in = sim.connect_times.iter().filter(|&&t| t <= end).count() as u64;
        let logged_in_ms = end as f64 * agents as f64;
        let agent_hours = logged_in_ms / 3_600_000.0;
        SimReport {
            mode,
            dials: sim.dialled,
            human_answered: sim.human_answered,
            connected: sim.connected,
            abandoned: sim.abandoned,
            abandon_rate: if sim.human_answered == 0 {
                0.0
            } else {
                sim.abandoned as f64 / sim.human_answered as f64
            },
            max_window_abandon_rate: max_window_rate(&sim.outcomes, cfg.pacer.window_answered),
            occupancy: busy_ms as f64 / logged_in_ms,
            avg_wait: d(idle_ms / connects_in.max(1)),
            calls_per_agent_hour: connects_in as f64 / agent_hours,
            dials_per_agent_hour: sim.dialled as f64 / agent_hours,
            duration: d(end),
        }
    }

    /// Formats a report as one table row.
    pub fn format_row(scenario: &str, r: &SimReport) -> String {
        format!(
            "{:<24} {:<11} {:>7} {:>6} {:>5} {:>7.2}% {:>7.2}% {:>7.1}% {:>8.1}s {:>8.2} {:>6.1}",
            scenario,
            format!("{:?}", r.mode),
            r.dials,
            r.human_answered,
            r.abandoned,
            r.abandon_rate * 100.0,
            r.max_window_abandon_rate * 100.0,
            r.occupancy * 100.0,
            r.avg_wait.as_secs_f64(),
            r.calls_per_agent_hour,
            r.duration.as_secs_f64() / 3600.0,
        )
    }

    /// Table header matching [`format_row`].
    pub fn header() -> String {
        format!(
            "{:<24} {:<11} {:>7} {:>6} {:>5} {:>8} {:>8} {:>8} {:>9} {:>8} {:>6}",
            "scenario",
            "mode",
            "dials",
            "human",
            "aband",
            "aband%",
            "maxwin%",
            "occup%",
            "wait",
            "calls/ah",
            "hours"
        )
    }
}
