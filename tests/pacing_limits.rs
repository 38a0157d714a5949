//! The pacer never exceeds its concurrency cap or its calls per second, in
//! simulated time with irregular ticks and jumps.

use std::time::Duration;

use switchboard::dialer::pacing::{
    combined_wakeup, plan_new_calls, DialingMode, Limit, ModeStats, Pacer, PacingLimits,
    PowerUnattended, Timestamp, TrunkLimits,
};

/// Small deterministic generator so runs are reproducible without a crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn ms(n: u64) -> Timestamp {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Timestamp {
    Duration::from_secs(n)
}

/// Most starts inside any half-open window `[s, s + width)`, checked from
/// every recorded start (a maximal window can always be slid to begin at one).
fn max_in_any_window(starts: &[Timestamp], width: Duration) -> usize {
    let mut most = 0;
    let mut end = 0;
    for (begin, &first) in starts.iter().enumerate() {
        while end < starts.len() && starts[end] < first + width {
            end += 1;
        }
        most = most.max(end - begin);
    }
    most
}

struct RunReport {
    starts: Vec<Timestamp>,
    most_active: u32,
}

/// Ten simulated minutes of a driver that ticks irregularly (sometimes
/// exactly at `next_wakeup`, sometimes late, sometimes after a long stall)
/// and starts as many calls as allowed, each lasting 1-40 s.
fn simulate(limits: PacingLimits, seed: u64) -> RunReport {
    let mut rng = Rng(seed);
    let mut pacer = Pacer::new(limits, Duration::ZERO);
    let mut now = Duration::ZERO;
    let end = secs(600);
    let mut call_ends: Vec<Timestamp> = Vec::new();
    let mut starts = Vec::new();
    let mut most_active = 0;
    while now < end {
        call_ends.retain(|&t| t > now);
        let active = call_ends.len() as u32;
        let available = pacer.available(now, active);
        assert!(
            active + available <= limits.max_concurrent,
            "at {now:?}: {active} active + {available} available > {}",
            limits.max_concurrent
        );
        // Sometimes start fewer than allowed (no lead ready).
        let count = if rng.below(10) == 0 {
            available / 2
        } else {
            available
        };
        for _ in 0..count {
            starts.push(now);
            call_ends.push(now + ms(1_000 + rng.below(39_000)));
        }
        pacer.started(now, count);
        most_active = most_active.max(call_ends.len() as u32);

        let wake = pacer.next_wakeup(now, call_ends.len() as u32);
        let step = match rng.below(20) {
            // A stall: the driver was busy elsewhere.
            0 => ms(2_000 + rng.below(28_000)),
            // Exactly when the pacer said, if it said anything.
            1..=9 => match wake {
                Some(at) if at > now => at - now,
                _ => ms(1 + rng.below(50)),
            },
            // An ordinary tick.
            _ => ms(1 + rng.below(300)),
        };
        now += step;
    }
    RunReport {
        starts,
        most_active,
    }
}

#[test]
fn never_exceeds_concurrency() {
    for seed in [1, 2, 3] {
        let limits = PacingLimits {
            max_concurrent: 12,
            max_new_per_second: 50.0,
        };
        let report = simulate(limits, seed);
        assert!(report.most_active <= 12);
        assert_eq!(report.most_active, 12, "the cap is actually reached");
    }
}

#[test]
fn never_exceeds_calls_per_second_in_any_one_second_window() {
    for (rate, seed) in [(5.0, 11), (10.0, 12), (1.0, 13), (30.0, 14)] {
        let limits = PacingLimits {
            max_concurrent: 1_000,
            max_new_per_second: rate,
        };
        let report = simulate(limits, seed);
        let most = max_in_any_window(&report.starts, secs(1));
        assert!(
            most <= rate as usize,
            "rate {rate}: {most} starts in one second"
        );
        // Long-run rate over the whole run stays at or below the limit
        // (plus the initial burst). Stalls cost throughput, so no lower bound
        // here: see `a_punctual_driver_gets_the_full_rate`.
        let total = report.starts.len() as f64;
        assert!(total <= rate * 600.0 + rate, "rate {rate}: {total} starts");
        assert!(total > 0.0);
    }
}

#[test]
fn fractional_rate_half_a_call_per_second() {
    let limits = PacingLimits {
        max_concurrent: 1_000,
        max_new_per_second: 0.5,
    };
    let report = simulate(limits, 21);
    assert!(max_in_any_window(&report.starts, secs(1)) <= 1);
    assert!(
        max_in_any_window(&report.starts, secs(2)) <= 1,
        "one call per 2 s"
    );
    assert!(max_in_any_window(&report.starts, secs(20)) <= 10);
    assert!(report.starts.len() <= 301);
}

/// Starts as many calls as allowed, waking exactly at `next_wakeup`.
fn punctual_run(rate: f64, duration: Timestamp) -> Vec<Timestamp> {
    let mut pacer = Pacer::new(
        PacingLimits {
            max_concurrent: 100_000,
            max_new_per_second: rate,
        },
        Duration::ZERO,
    );
    let mut now = Duration::ZERO;
    let mut starts = Vec::new();
    while now < duration {
        let count = pacer.available(now, 0);
        pacer.started(now, count);
        starts.extend(std::iter::repeat_n(now, count as usize));
        match pacer.next_wakeup(now, 0) {
            Some(at) if at > now => now = at,
            other => panic!("at {now:?} after starting {count}: wake-up {other:?}"),
        }
    }
    starts
}

#[test]
fn a_punctual_driver_gets_the_full_rate() {
    // Upper bound: the burst plus the rate times the duration.
    let cases = [
        (5.0, 2_995, 3_005),
        (0.5, 299, 301),
        (2.5, 1_495, 1_502),
        (30.0, 17_970, 18_030),
    ];
    for (rate, low, high) in cases {
        let starts = punctual_run(rate, secs(600));
        let total = starts.len();
        assert!(
            (low..=high).contains(&total),
            "rate {rate}: {total} starts in 600 s"
        );
        assert!(max_in_any_window(&starts, secs(1)) <= rate.ceil() as usize);
    }
}

#[test]
fn fractional_rate_above_one() {
    let limits = PacingLimits {
        max_concurrent: 1_000,
        max_new_per_second: 2.5,
    };
    let report = simulate(limits, 31);
    // Never more than ceil(2.5) in any second, never more than the rate
    // (plus a burst of 2) over longer spans.
    assert!(max_in_any_window(&report.starts, secs(1)) <= 3);
    assert!(max_in_any_window(&report.starts, secs(10)) <= 25 + 2);
    assert!(max_in_any_window(&report.starts, secs(60)) <= 150 + 2);
}

#[test]
fn next_wakeup_is_exactly_when_a_token_appears() {
    let mut pacer = Pacer::new(
        PacingLimits {
            max_concurrent: 10,
            max_new_per_second: 0.5,
        },
        secs(100),
    );
    // A call may start now: wake-up is now.
    assert_eq!(pacer.available(secs(100), 0), 1);
    assert_eq!(pacer.next_wakeup(secs(100), 0), Some(secs(100)));
    pacer.started(secs(100), 1);
    assert_eq!(pacer.available(secs(100), 1), 0);
    let wake = pacer.next_wakeup(secs(100), 1);
    assert_eq!(wake, Some(secs(102)));
    // Asking later gives the same answer, and not one nanosecond early.
    assert_eq!(pacer.next_wakeup(secs(101), 1), Some(secs(102)));
    let just_before = secs(102) - Duration::from_nanos(1);
    assert_eq!(pacer.clone().available(just_before, 1), 0);
    assert_eq!(pacer.available(secs(102), 1), 1);
}

#[test]
fn next_wakeup_after_a_burst_waits_for_the_window() {
    let mut pacer = Pacer::new(
        PacingLimits {
            max_concurrent: 100,
            max_new_per_second: 4.0,
        },
        Duration::ZERO,
    );
    pacer.started(ms(0), 2);
    pacer.started(ms(100), 2);
    assert_eq!(pacer.available(ms(200), 4), 0);
    // The bucket has a token by 0.25 s, but four starts sit in the last
    // second until the first two leave it at 1.0 s.
    assert_eq!(pacer.next_wakeup(ms(200), 4), Some(ms(1_000)));
    assert_eq!(pacer.clone().available(ms(999), 4), 0);
    assert!(pacer.available(ms(1_000), 4) >= 1);
}

#[test]
fn next_wakeup_is_none_when_only_a_call_ending_helps() {
    let mut pacer = Pacer::new(
        PacingLimits {
            max_concurrent: 3,
            max_new_per_second: 10.0,
        },
        Duration::ZERO,
    );
    assert_eq!(pacer.available(secs(5), 3), 0);
    assert_eq!(pacer.next_wakeup(secs(5), 3), None);
    assert_eq!(pacer.available(secs(5), 2), 1);
}

#[test]
fn plan_takes_the_least_of_mode_campaign_and_trunk() {
    let start = Duration::ZERO;
    let mut campaign = Pacer::new(
        PacingLimits {
            max_concurrent: 10,
            max_new_per_second: 100.0,
        },
        start,
    );
    let mut trunk = Pacer::new(
        TrunkLimits {
            max_concurrent: 30,
            max_attempts_per_second: 100.0,
        }
        .into(),
        start,
    );
    let mut stats = ModeStats {
        active_calls: 2,
        available_agents: 0,
        max_concurrent: 10,
        leads_ready: 50,
        calls_waiting_for_agent: 0,
    };
    assert_eq!(PowerUnattended.wanted_new_calls(&stats), 8);

    // The trunk is almost full with other campaigns' calls.
    let plan = plan_new_calls(
        &PowerUnattended,
        &stats,
        &mut campaign,
        &mut trunk,
        26,
        start,
    );
    assert_eq!(plan.count, 4);
    assert_eq!(plan.limited_by, Limit::TrunkConcurrency);
    assert!(
        plan.to_string().contains("limited by trunk concurrency"),
        "{plan}"
    );

    // Plenty of trunk room: the mode fills the campaign up to its cap.
    let plan = plan_new_calls(
        &PowerUnattended,
        &stats,
        &mut campaign,
        &mut trunk,
        0,
        start,
    );
    assert_eq!(plan.count, 8);
    assert_eq!(plan.limited_by, Limit::Mode);

    // Few leads ready: the mode wants only those.
    stats.leads_ready = 3;
    let plan = plan_new_calls(
        &PowerUnattended,
        &stats,
        &mut campaign,
        &mut trunk,
        0,
        start,
    );
    assert_eq!(plan.count, 3);
    assert_eq!(plan.limited_by, Limit::Mode);
}

#[test]
fn trunk_rate_limits_every_campaign_on_it() {
    let start = Duration::ZERO;
    let limits = PacingLimits {
        max_concurrent: 50,
        max_new_per_second: 20.0,
    };
    let mut first = Pacer::new(limits, start);
    let mut second = Pacer::new(limits, start);
    let mut trunk = Pacer::new(
        TrunkLimits {
            max_concurrent: 100,
            max_attempts_per_second: 2.0,
        }
        .into(),
        start,
    );
    let stats = ModeStats {
        active_calls: 0,
        available_agents: 0,
        max_concurrent: 50,
        leads_ready: 100,
        calls_waiting_for_agent: 0,
    };
    let plan = plan_new_calls(&PowerUnattended, &stats, &mut first, &mut trunk, 0, start);
    assert_eq!(plan.count, 2);
    assert_eq!(plan.limited_by, Limit::TrunkRate);
    first.started(start, plan.count);
    trunk.started(start, plan.count);

    // The other campaign gets nothing this second, and is told when to look again.
    let plan = plan_new_calls(&PowerUnattended, &stats, &mut second, &mut trunk, 2, start);
    assert_eq!(plan.count, 0);
    assert_eq!(plan.limited_by, Limit::TrunkRate);
    assert_eq!(combined_wakeup(&second, 0, &trunk, 2, start), Some(secs(1)));
}

#[test]
fn progressive_mode_dials_one_per_free_agent_without_a_call_on_its_way() {
    use switchboard::dialer::pacing::Progressive;
    let stats = |available, waiting, leads| ModeStats {
        active_calls: 7,
        available_agents: available,
        max_concurrent: 50,
        leads_ready: leads,
        calls_waiting_for_agent: waiting,
    };
    assert_eq!(Progressive.wanted_new_calls(&stats(3, 0, 100)), 3);
    assert_eq!(Progressive.wanted_new_calls(&stats(3, 2, 100)), 1);
    assert_eq!(Progressive.wanted_new_calls(&stats(3, 5, 100)), 0);
    assert_eq!(Progressive.wanted_new_calls(&stats(0, 0, 100)), 0);
    assert_eq!(Progressive.wanted_new_calls(&stats(3, 0, 1)), 1);
}

#[test]
fn predictive_mode_dials_ahead_only_once_it_has_measured() {
    use std::time::Duration;
    use switchboard::dialer::pacing::Predictive;
    use switchboard::dialer::predictive::{AttemptResult, PredictiveConfig, PredictivePacer};
    let stats = ModeStats {
        active_calls: 0,
        available_agents: 4,
        max_concurrent: 100,
        leads_ready: 1000,
        calls_waiting_for_agent: 0,
    };
    let mut pacer = PredictivePacer::new(PredictiveConfig::default());
    let now = Duration::from_secs(1000);
    let fresh = Predictive {
        pacer: &pacer,
        now,
        busy_free_in: &[],
        queued: 0,
        answered_waiting: 0,
    };
    // No measurements yet: progressive.
    assert_eq!(fresh.wanted_new_calls(&stats), 4);
    // One person in three answers: it dials more lines than agents.
    for i in 0..300u64 {
        let after = Duration::from_secs(8);
        let result = if i % 3 == 0 {
            AttemptResult::Answered { after }
        } else {
            AttemptResult::NotAnswered {
                after: Duration::from_secs(25),
            }
        };
        pacer.record_attempt_result(now, result);
        if i % 3 == 0 {
            pacer.record_answered_connected(now);
            pacer.record_handle_time(Duration::from_secs(120));
        }
    }
    let measured = Predictive {
        pacer: &pacer,
        now,
        busy_free_in: &[],
        queued: 0,
        answered_waiting: 0,
    };
    let lines = measured.wanted_new_calls(&stats);
    assert!((5..=12).contains(&lines), "{lines} lines for 4 agents");
    // Four people already answered and wait: they take the four agents,
    // so only the ones freeing up soon are dialled for.
    let waiting = ModeStats {
        calls_waiting_for_agent: 4,
        ..stats
    };
    let queued = Predictive {
        pacer: &pacer,
        now,
        busy_free_in: &[Duration::from_secs(1), Duration::from_secs(300)],
        queued: 4,
        answered_waiting: 4,
    };
    let extra = queued.wanted_new_calls(&waiting);
    assert!(
        (1..=4).contains(&extra),
        "{extra} lines for one agent freeing up"
    );
    let all_busy = Predictive {
        busy_free_in: &[Duration::from_secs(300)],
        ..queued
    };
    assert_eq!(all_busy.wanted_new_calls(&waiting), 0);
    // Leads run out first.
    let few = ModeStats {
        leads_ready: 2,
        ..stats
    };
    assert_eq!(measured.wanted_new_calls(&few), 2);
}
