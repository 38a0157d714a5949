use std::time::Duration;
use switchboard::dialer::predictive::simulation::{run, Mode, SimConfig};
use switchboard::dialer::predictive::{PredictiveConfig, PredictivePacer, ProgressivePacer};

#[test]
fn one_line_per_idle_agent() {
    assert_eq!(ProgressivePacer::calls_to_place(5, 0), 5);
    assert_eq!(ProgressivePacer::calls_to_place(5, 2), 3);
    assert_eq!(ProgressivePacer::calls_to_place(5, 5), 0);
}

#[test]
fn never_negative_when_more_in_flight_than_agents() {
    assert_eq!(ProgressivePacer::calls_to_place(2, 7), 0);
    assert_eq!(ProgressivePacer::calls_to_place(0, 0), 0);
    assert_eq!(ProgressivePacer::calls_to_place(u32::MAX, 0), u32::MAX);
}

#[test]
fn predictive_pacer_without_samples_is_progressive() {
    let pacer = PredictivePacer::new(PredictiveConfig::default());
    let busy = [Duration::from_secs(1), Duration::from_secs(3)];
    for (avail, in_flight) in [(0, 0), (4, 0), (4, 3), (4, 9), (20, 1)] {
        assert_eq!(
            pacer.calls_to_place(Duration::ZERO, avail, &busy, in_flight),
            ProgressivePacer::calls_to_place(avail, in_flight)
        );
    }
}

#[test]
fn progressive_campaign_never_abandons() {
    for seed in [11u64, 12] {
        for cfg in [
            SimConfig::standard(seed, 5_000),
            SimConfig::with_mid_run_change(seed, 5_000, 0.30, 0.50),
            SimConfig::with_mid_run_change(seed, 5_000, 0.30, 0.15),
        ] {
            let r = run(&cfg, Mode::Progressive);
            assert_eq!(r.dials, 5_000);
            assert_eq!(r.abandoned, 0, "{r:?}");
            assert_eq!(r.abandon_rate, 0.0);
            assert_eq!(r.connected, r.human_answered);
        }
    }
}
