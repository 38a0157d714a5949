use std::time::Duration;
use switchboard::dialer::predictive::{AttemptResult, PredictiveConfig, PredictivePacer};

const S: fn(u64) -> Duration = Duration::from_secs;

/// Feeds `n` attempts, a fraction `human` of them answered by a person
/// after 10 s (deterministic pattern), the rest unanswered after 20 s.
fn warmed(config: PredictiveConfig, n: u32, human: f64) -> PredictivePacer {
    let mut p = PredictivePacer::new(config);
    let mut acc = 0.0;
    for i in 0..n {
        acc += human;
        let now = S(u64::from(i));
        if acc >= 1.0 {
            acc -= 1.0;
            p.record_attempt_result(now, AttemptResult::Answered { after: S(10) });
            p.record_answered_connected(now);
        } else {
            p.record_attempt_result(now, AttemptResult::NotAnswered { after: S(20) });
        }
    }
    p
}

#[test]
fn dials_ahead_once_warmed_up() {
    let p = warmed(PredictiveConfig::default(), 300, 0.3);
    let n = p.calls_to_place(S(400), 10, &[], 0);
    assert!(n > 10, "expected more than one line per agent, got {n}");
    assert!(n <= 30);
    assert!((p.answer_rate() - 0.3).abs() < 0.01);
}

#[test]
fn progressive_until_min_samples() {
    let cfg = PredictiveConfig {
        min_samples: 100,
        ..PredictiveConfig::default()
    };
    let p = warmed(cfg.clone(), 99, 0.3);
    assert_eq!(p.calls_to_place(S(200), 10, &[], 0), 10);
    let p = warmed(cfg, 100, 0.3);
    assert!(p.calls_to_place(S(200), 10, &[], 0) > 10);
}

#[test]
fn never_exceeds_max_ratio() {
    let cfg = PredictiveConfig {
        max_ratio: 3.0,
        ..PredictiveConfig::default()
    };
    // 2 % answer rate would want ~50 lines per agent.
    let p = warmed(cfg, 500, 0.02);
    assert_eq!(p.calls_to_place(S(600), 4, &[], 0), 12);
    assert_eq!(p.calls_to_place(S(600), 4, &[], 5), 7);
    assert_eq!(p.calls_to_place(S(600), 4, &[], 40), 0);
    // Busy agents finishing within the horizon count towards the ratio.
    assert_eq!(p.calls_to_place(S(600), 4, &[S(1), S(300)], 0), 15);
}

#[test]
fn no_agents_no_calls() {
    let p = warmed(PredictiveConfig::default(), 300, 0.3);
    assert_eq!(p.calls_to_place(S(400), 0, &[], 0), 0);
    assert_eq!(p.calls_to_place(S(400), 0, &[S(500), S(90)], 0), 0);
}

#[test]
fn in_flight_calls_reduce_new_calls() {
    let p = warmed(PredictiveConfig::default(), 300, 0.3);
    let a = p.calls_to_place(S(400), 10, &[], 0);
    let b = p.calls_to_place(S(400), 10, &[], 10);
    assert!(b < a, "{b} !< {a}");
    assert!(b + 10 <= a);
}

#[test]
fn soon_free_agents_count_only_within_horizon() {
    let p = warmed(PredictiveConfig::default(), 300, 0.3);
    let base = p.calls_to_place(S(400), 5, &[], 0);
    // Horizon = 10 s answer delay + 2 s grace.
    let soon = p.calls_to_place(S(400), 5, &[S(3), S(11)], 0);
    let late = p.calls_to_place(S(400), 5, &[S(60), S(120)], 0);
    assert!(soon > base);
    assert_eq!(late, base);
}

#[test]
fn falls_back_to_progressive_at_cap() {
    let mut p = warmed(PredictiveConfig::default(), 300, 0.3);
    // 90 connected so far; add abandons until the rate reaches 3 %.
    while p.abandon_rate() < 0.03 {
        p.record_abandon(S(500));
    }
    assert_eq!(p.calls_to_place(S(500), 10, &[S(1)], 0), 10);
    assert_eq!(p.calls_to_place(S(500), 10, &[S(1)], 4), 6);
}

#[test]
fn throttles_as_rate_approaches_cap() {
    let mut p = warmed(PredictiveConfig::default(), 1000, 0.3);
    let free = p.calls_to_place(S(2000), 10, &[], 0);
    // 300 answered, 0 abandons; add abandons to 2.6 % (between 2.4 % target and 3 % cap).
    for _ in 0..8 {
        p.record_abandon(S(2000));
    }
    assert!(p.abandon_rate() > 0.024 && p.abandon_rate() < 0.03);
    let throttled = p.calls_to_place(S(2000), 10, &[], 0);
    assert!(throttled < free, "{throttled} !< {free}");
    assert!(throttled >= 10);
}

#[test]
fn abandon_rate_uses_rolling_answered_window() {
    let cfg = PredictiveConfig {
        window_answered: 100,
        ..PredictiveConfig::default()
    };
    let mut p = PredictivePacer::new(cfg);
    assert_eq!(p.abandon_rate(), 0.0);
    for _ in 0..10 {
        p.record_abandon(S(1));
    }
    for _ in 0..90 {
        p.record_answered_connected(S(2));
    }
    assert!((p.abandon_rate() - 0.10).abs() < 1e-9);
    for _ in 0..10 {
        p.record_answered_connected(S(3));
    }
    assert_eq!(p.abandon_rate(), 0.0);
    assert_eq!(p.stats().answered_in_window, 100);
}

#[test]
fn abandon_window_can_be_limited_by_age() {
    let day = S(86_400);
    let cfg = PredictiveConfig {
        window_age: Some(day * 30),
        ..PredictiveConfig::default()
    };
    let mut p = PredictivePacer::new(cfg);
    p.record_abandon(Duration::ZERO);
    p.record_answered_connected(day);
    assert!((p.abandon_rate() - 0.5).abs() < 1e-9);
    p.record_answered_connected(day * 31);
    assert_eq!(p.abandon_rate(), 0.0);
}

#[test]
fn gain_moves_with_outcomes_and_stays_bounded() {
    let mut p = PredictivePacer::new(PredictiveConfig::default());
    let g0 = p.gain();
    p.record_abandon(S(1));
    assert!(p.gain() < g0);
    let g1 = p.gain();
    p.record_answered_connected(S(2));
    assert!(p.gain() > g1);
    for i in 0..1000 {
        p.record_abandon(S(i));
    }
    assert!(p.gain() >= PredictiveConfig::default().gain_bounds.0);
    for i in 0..100_000 {
        p.record_answered_connected(S(i));
    }
    assert!(p.gain() <= PredictiveConfig::default().gain_bounds.1);
}

#[test]
fn answer_rate_follows_recent_attempts() {
    let cfg = PredictiveConfig {
        rate_window_attempts: 200,
        ..PredictiveConfig::default()
    };
    let mut p = warmed(cfg, 400, 0.3);
    assert!((p.answer_rate() - 0.3).abs() < 0.01);
    for i in 0..200 {
        let now = S(1000 + i);
        if i % 2 == 0 {
            p.record_attempt_result(now, AttemptResult::Answered { after: S(4) });
        } else {
            p.record_attempt_result(now, AttemptResult::Machine { after: S(4) });
        }
    }
    assert!((p.answer_rate() - 0.5).abs() < 1e-9);
    let st = p.stats();
    assert!((st.machine_rate - 0.5).abs() < 1e-9);
    assert_eq!(st.mean_answer_delay, Some(S(4)));
    assert_eq!(st.attempts_total, 600);
}

#[test]
fn expected_remaining_from_handle_distribution() {
    let mut p = PredictivePacer::new(PredictiveConfig::default());
    assert_eq!(p.expected_remaining(S(0)), None);
    for h in [60, 120, 180, 240] {
        p.record_handle_time(S(h));
    }
    assert_eq!(p.mean_handle(), Some(S(150)));
    assert_eq!(p.expected_remaining(S(0)), Some(S(150)));
    // Calls still running at 100 s: 120, 180, 240 → mean 180 → 80 s left.
    assert_eq!(p.expected_remaining(S(100)), Some(S(80)));
    assert_eq!(p.expected_remaining(S(240)), None);
}

#[test]
fn handle_window_evicts_oldest() {
    let cfg = PredictiveConfig {
        handle_window: 2,
        ..PredictiveConfig::default()
    };
    let mut p = PredictivePacer::new(cfg);
    p.record_handle_time(S(1000));
    p.record_handle_time(S(10));
    p.record_handle_time(S(20));
    assert_eq!(p.mean_handle(), Some(S(15)));
}

#[test]
fn zero_cap_means_progressive() {
    let cfg = PredictiveConfig {
        abandon_cap: 0.0,
        ..PredictiveConfig::default()
    };
    let p = warmed(cfg, 300, 0.3);
    assert_eq!(p.calls_to_place(S(400), 10, &[], 0), 10);
}
