//! How many new calls may start now.
//!
//! Three things bound it, and the number started is the least of them:
//! - the dialing mode: how many calls it wants (see [`DialingMode`]);
//! - the campaign's [`Pacer`]: its concurrency cap and calls-per-second;
//! - the trunk's [`Pacer`]: the carrier's concurrency and attempts-per-second
//!   limits, shared by every campaign on that trunk.
//!
//! Time is injected as a [`Timestamp`] (a `Duration` since any fixed
//! epoch, typically the driver's `Instant` at start-up), so tests drive the
//! pacer through simulated time without sleeping.

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

/// A monotonic instant, as time elapsed since an epoch the caller picks.
pub type Timestamp = Duration;

const ONE_SECOND_NANOS: u128 = 1_000_000_000;

/// Rates above this are treated as this: the pacer keeps one entry per
/// start instant for the last second, and no SIP trunk takes more.
pub const MAX_CALLS_PER_SECOND: f64 = 100_000.0;

/// Limits for one pacer (a campaign or a trunk).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PacingLimits {
    /// Calls that may be up at once.
    pub max_concurrent: u32,
    /// New calls per second, fractions allowed (0.5 = one call every 2 s).
    /// Zero, negative or NaN allows no new calls at all.
    pub max_new_per_second: f64,
}

/// The carrier's limits on one SIP trunk. Enforced by a [`Pacer`] of its
/// own (`Pacer::new(trunk_limits.into(), now)`), shared by all campaigns
/// that dial through the trunk.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrunkLimits {
    /// Calls the trunk carries at once.
    pub max_concurrent: u32,
    /// INVITEs per second the carrier accepts.
    pub max_attempts_per_second: f64,
}

impl From<TrunkLimits> for PacingLimits {
    fn from(trunk: TrunkLimits) -> Self {
        PacingLimits {
            max_concurrent: trunk.max_concurrent,
            max_new_per_second: trunk.max_attempts_per_second,
        }
    }
}

/// Paces call starts for one campaign or one trunk.
///
/// Two rate rules apply together:
/// - a token bucket (kept as a "theoretical arrival time", GCRA style, in
///   whole nanoseconds so it never drifts) refilling at
///   `max_new_per_second` with a burst of `max(1, floor(rate))` calls, which
///   bounds the long-run rate and allows a short burst after idle time;
/// - at most `ceil(rate)` starts in any sliding 1-second window. A bucket
///   alone would allow its burst plus a second's refill inside one second
///   (up to twice the rate), which is exactly what carriers count and
///   reject. For whole-number rates this means "never more than `rate`
///   calls in any second".
#[derive(Clone, Debug)]
pub struct Pacer {
    limits: PacingLimits,
    /// Nanoseconds between tokens; `None` when the rate allows nothing.
    interval_nanos: Option<u128>,
    /// Largest burst, in calls.
    burst: u32,
    /// Most starts in any 1-second window.
    per_second_cap: u32,
    /// GCRA: the instant (nanos) at which the bucket would have one token
    /// more than empty if nothing else started. Starting is allowed while
    /// `now + (burst - 1) * interval >= tat`.
    tat_nanos: u128,
    /// Starts in the last second, oldest first, as (instant, count).
    recent: VecDeque<(u128, u32)>,
}

/// What one pacer allows right now, split by rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacerStatus {
    /// Room under the concurrency cap.
    pub by_concurrency: u32,
    /// Calls the rate rules (bucket and 1-second window) allow now.
    pub by_rate: u32,
}

impl PacerStatus {
    /// The number that may start: the tighter of the two rules.
    pub fn allowed(&self) -> u32 {
        self.by_concurrency.min(self.by_rate)
    }
}

impl Pacer {
    /// A pacer with a full bucket at `now`.
    pub fn new(limits: PacingLimits, now: Timestamp) -> Pacer {
        let rate = limits.max_new_per_second;
        let usable = rate.is_finite() && rate > 0.0;
        let rate = rate.min(MAX_CALLS_PER_SECOND);
        let (interval_nanos, burst, per_second_cap) = if usable {
            // Round the interval up so float error can only make us slower.
            let interval = (1e9 / rate).ceil().max(1.0) as u128;
            let burst = (rate.floor() as u32).max(1);
            let cap = (rate.ceil() as u32).max(1);
            (Some(interval), burst, cap)
        } else {
            (None, 0, 0)
        };
        Pacer {
            limits,
            interval_nanos,
            burst,
            per_second_cap,
            tat_nanos: now.as_nanos(),
            recent: VecDeque::new(),
        }
    }

    /// The limits this pacer enforces.
    pub fn limits(&self) -> PacingLimits {
        self.limits
    }

    /// How many calls may start at `now` with `active_calls` already up.
    pub fn available(&mut self, now: Timestamp, active_calls: u32) -> u32 {
        self.forget_old_starts(now);
        self.status(now, active_calls).allowed()
    }

    /// What each rule allows at `now`, without changing anything.
    pub fn status(&self, now: Timestamp, active_calls: u32) -> PacerStatus {
        PacerStatus {
            by_concurrency: self.limits.max_concurrent.saturating_sub(active_calls),
            by_rate: self.bucket_allows(now).min(self.window_allows(now)),
        }
    }

    /// Records that `count` calls started at `now` (consumes tokens). Calls
    /// started beyond what was allowed are still counted, so the pacer
    /// slows down afterwards instead of losing track.
    pub fn started(&mut self, now: Timestamp, count: u32) {
        if count == 0 {
            return;
        }
        self.forget_old_starts(now);
        let now_nanos = now.as_nanos();
        if let Some(interval) = self.interval_nanos {
            self.tat_nanos = self.tat_nanos.max(now_nanos) + interval * u128::from(count);
        }
        match self.recent.back_mut() {
            Some((at, n)) if *at == now_nanos => *n = n.saturating_add(count),
            _ => self.recent.push_back((now_nanos, count)),
        }
    }

    /// When at least one more call may start, if only time is missing.
    ///
    /// `Some(now)` if one may start now; `Some(later)` if the rate rules
    /// hold it back until `later`; `None` if waiting will not help: the
    /// concurrency cap is reached (a call ending is the event to wait for)
    /// or the rate allows no calls.
    pub fn next_wakeup(&self, now: Timestamp, active_calls: u32) -> Option<Timestamp> {
        if active_calls >= self.limits.max_concurrent {
            return None;
        }
        let interval = self.interval_nanos?;
        let now_nanos = now.as_nanos();
        let tolerance = interval * u128::from(self.burst.saturating_sub(1));
        let bucket_ready = self.tat_nanos.saturating_sub(tolerance).max(now_nanos);
        let ready = bucket_ready.max(self.window_ready(now_nanos));
        Some(nanos_to_timestamp(ready))
    }

    /// Calls the token bucket allows at `now`.
    fn bucket_allows(&self, now: Timestamp) -> u32 {
        let Some(interval) = self.interval_nanos else {
            return 0;
        };
        let now_nanos = now.as_nanos();
        let tolerance = interval * u128::from(self.burst.saturating_sub(1));
        let base = self.tat_nanos.max(now_nanos);
        let reach = now_nanos + tolerance;
        if reach < base {
            return 0;
        }
        let allowed = (reach - base) / interval + 1;
        u32::try_from(allowed).unwrap_or(u32::MAX).min(self.burst)
    }

    /// Room left in the sliding 1-second window ending at `now`.
    fn window_allows(&self, now: Timestamp) -> u32 {
        self.per_second_cap
            .saturating_sub(self.starts_in_window(now.as_nanos()))
    }

    /// Starts in `(now - 1 s, now]` (and any stamped after `now`, which can
    /// only happen if the caller's clock stepped back; counting them is the
    /// safe side).
    fn starts_in_window(&self, now_nanos: u128) -> u32 {
        self.recent
            .iter()
            .filter(|(at, _)| at + ONE_SECOND_NANOS > now_nanos)
            .fold(0u32, |sum, (_, n)| sum.saturating_add(*n))
    }

    /// First instant at which the 1-second window has room again.
    fn window_ready(&self, now_nanos: u128) -> u128 {
        let in_window = self.starts_in_window(now_nanos);
        if in_window < self.per_second_cap {
            return now_nanos;
        }
        // Enough of the oldest starts must leave the window that one fits.
        let must_leave = in_window - self.per_second_cap + 1;
        let mut left = 0u32;
        for (at, n) in self
            .recent
            .iter()
            .filter(|(at, _)| at + ONE_SECOND_NANOS > now_nanos)
        {
            left = left.saturating_add(*n);
            if left >= must_leave {
                return at + ONE_SECOND_NANOS;
            }
        }
        now_nanos
    }

    fn forget_old_starts(&mut self, now: Timestamp) {
        let now_nanos = now.as_nanos();
        while let Some((at, _)) = self.recent.front() {
            if at + ONE_SECOND_NANOS <= now_nanos {
                self.recent.pop_front();
            } else {
                break;
            }
        }
    }
}

fn nanos_to_timestamp(nanos: u128) -> Timestamp {
    let seconds = u64::try_from(nanos / ONE_SECOND_NANOS).unwrap_or(u64::MAX);
    // The remainder is below one second, so it always fits in u32.
    let rest = u32::try_from(nanos % ONE_SECOND_NANOS).unwrap_or(0);
    Duration::new(seconds, rest)
}

/// What a dialing mode looks at when deciding how many calls it wants.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ModeStats {
    /// Campaign calls currently up (ringing or connected).
    pub active_calls: u32,
    /// Agents logged in and idle (0 for unattended campaigns).
    pub available_agents: u32,
    /// The campaign's concurrency cap.
    pub max_concurrent: u32,
    /// Leads that passed the compliance check and are waiting to be dialled.
    pub leads_ready: u32,
    /// Calls dialling, ringing, or answered and waiting for an agent: each
    /// may soon need one (agent-backed modes only).
    pub calls_waiting_for_agent: u32,
}

/// How many new calls a campaign's dialing mode wants right now.
///
/// The pacers cap the answer, so a mode only expresses its intent. Modes
/// that depend on agents plug in here later: a progressive mode would want
/// `available_agents - calls still ringing`, a predictive one would scale
/// that by a measured answer rate and an abandonment target; both read the
/// extra fields they need from [`ModeStats`].
pub trait DialingMode {
    /// Calls to start now, before pacing.
    fn wanted_new_calls(&self, stats: &ModeStats) -> u32;
}

/// Unattended power dialing (IVR/message campaigns with no agent): keep
/// the campaign filled up to its concurrency cap, as far as leads allow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PowerUnattended;

impl DialingMode for PowerUnattended {
    fn wanted_new_calls(&self, stats: &ModeStats) -> u32 {
        stats
            .max_concurrent
            .saturating_sub(stats.active_calls)
            .min(stats.leads_ready)
    }
}

/// Progressive dialing: one call per available agent that has no call on
/// its way yet. Every answered call finds its agent, so it never abandons
/// (unless the agent leaves meanwhile).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progressive;

impl DialingMode for Progressive {
    fn wanted_new_calls(&self, stats: &ModeStats) -> u32 {
        super::predictive::ProgressivePacer::calls_to_place(
            stats.available_agents,
            stats.calls_waiting_for_agent,
        )
        .min(stats.leads_ready)
    }
}

/// Predictive dialing: the [`PredictivePacer`](super::predictive::PredictivePacer)
/// decides from the measured answer rate and handle time, and from how
/// long each busy agent has been busy.
pub struct Predictive<'a> {
    pub pacer: &'a super::predictive::PredictivePacer,
    /// The pacer's clock.
    pub now: Timestamp,
    /// For each busy agent, the expected time until free.
    pub busy_free_in: &'a [Duration],
    /// Callers waiting in the queue now (answered campaign calls and any
    /// inbound callers): each takes the next free agent for certain.
    pub queued: u32,
    /// Of [`ModeStats::calls_waiting_for_agent`], those already answered.
    pub answered_waiting: u32,
}

impl DialingMode for Predictive<'_> {
    fn wanted_new_calls(&self, stats: &ModeStats) -> u32 {
        // Waiting callers are certain, not answers expected at the answer
        // rate: they take the available agents, then the soonest free.
        let available = stats.available_agents.saturating_sub(self.queued);
        let taken_from_busy = self.queued.saturating_sub(stats.available_agents) as usize;
        let mut busy = self.busy_free_in.to_vec();
        busy.sort();
        let busy = &busy[taken_from_busy.min(busy.len())..];
        let in_flight = stats
            .calls_waiting_for_agent
            .saturating_sub(self.answered_waiting);
        self.pacer
            .calls_to_place(self.now, available, busy, in_flight)
            .min(stats.leads_ready)
    }
}

/// Which bound decided how many calls start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// The mode wanted no more.
    Mode,
    /// The campaign's concurrency cap.
    CampaignConcurrency,
    /// The campaign's calls-per-second.
    CampaignRate,
    /// The trunk's concurrency cap.
    TrunkConcurrency,
    /// The trunk's attempts-per-second.
    TrunkRate,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Limit::Mode => "dialing mode",
            Limit::CampaignConcurrency => "campaign concurrency",
            Limit::CampaignRate => "campaign calls per second",
            Limit::TrunkConcurrency => "trunk concurrency",
            Limit::TrunkRate => "trunk attempts per second",
        })
    }
}

/// How many calls to start now and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StartPlan {
    /// Calls to start: the least of the bounds below.
    pub count: u32,
    /// What the mode wanted.
    pub mode_wants: u32,
    /// What the campaign pacer allowed.
    pub campaign: PacerStatus,
    /// What the trunk pacer allowed.
    pub trunk: PacerStatus,
    /// The bound that decided `count` (the first in the order above when
    /// several tie).
    pub limited_by: Limit,
}

impl fmt::Display for StartPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "start {}: mode wants {}, campaign allows {} concurrent / {} by rate, \
             trunk allows {} concurrent / {} by rate; limited by {}",
            self.count,
            self.mode_wants,
            self.campaign.by_concurrency,
            self.campaign.by_rate,
            self.trunk.by_concurrency,
            self.trunk.by_rate,
            self.limited_by
        )
    }
}

/// Decides how many calls to start now: min(mode wants, campaign pacer,
/// trunk pacer). It does not consume tokens: after starting calls the
/// driver calls [`Pacer::started`] on both pacers with the number it
/// actually started.
pub fn plan_new_calls(
    mode: &dyn DialingMode,
    stats: &ModeStats,
    campaign: &mut Pacer,
    trunk: &mut Pacer,
    trunk_active_calls: u32,
    now: Timestamp,
) -> StartPlan {
    campaign.forget_old_starts(now);
    trunk.forget_old_starts(now);
    let mode_wants = mode.wanted_new_calls(stats);
    let campaign_status = campaign.status(now, stats.active_calls);
    let trunk_status = trunk.status(now, trunk_active_calls);
    let bounds = [
        (mode_wants, Limit::Mode),
        (campaign_status.by_concurrency, Limit::CampaignConcurrency),
        (campaign_status.by_rate, Limit::CampaignRate),
        (trunk_status.by_concurrency, Limit::TrunkConcurrency),
        (trunk_status.by_rate, Limit::TrunkRate),
    ];
    let count = bounds.iter().map(|(n, _)| *n).min().unwrap_or(0);
    let limited_by = bounds
        .iter()
        .find(|(n, _)| *n == count)
        .map_or(Limit::Mode, |(_, limit)| *limit);
    StartPlan {
        count,
        mode_wants,
        campaign: campaign_status,
        trunk: trunk_status,
        limited_by,
    }
}

/// When both pacers next allow a call: the later of the two wake-ups, or
/// `None` if either is waiting on a call to end rather than on time.
pub fn combined_wakeup(
    campaign: &Pacer,
    campaign_active_calls: u32,
    trunk: &Pacer,
    trunk_active_calls: u32,
    now: Timestamp,
) -> Option<Timestamp> {
    let campaign_at = campaign.next_wakeup(now, campaign_active_calls)?;
    let trunk_at = trunk.next_wakeup(now, trunk_active_calls)?;
    Some(campaign_at.max(trunk_at))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Timestamp {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn burst_then_steady() {
        let mut pacer = Pacer::new(
            PacingLimits {
                max_concurrent: 100,
                max_new_per_second: 5.0,
            },
            secs(0.0),
        );
        assert_eq!(pacer.available(secs(0.0), 0), 5);
        pacer.started(secs(0.0), 5);
        assert_eq!(pacer.available(secs(0.0), 5), 0);
        // The bucket refills at 0.2 s, but the 1-second window is full until 1.0 s.
        assert_eq!(pacer.available(secs(0.5), 5), 0);
        assert_eq!(pacer.next_wakeup(secs(0.5), 5), Some(secs(1.0)));
        assert_eq!(pacer.available(secs(1.0), 5), 5);
    }

    #[test]
    fn unusable_rate_allows_nothing() {
        for rate in [0.0, -1.0, f64::NAN] {
            let mut pacer = Pacer::new(
                PacingLimits {
                    max_concurrent: 10,
                    max_new_per_second: rate,
                },
                secs(0.0),
            );
            assert_eq!(pacer.available(secs(100.0), 0), 0);
            assert_eq!(pacer.next_wakeup(secs(100.0), 0), None);
        }
    }
}
