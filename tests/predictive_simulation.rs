use switchboard::dialer::predictive::simulation::{format_row, header, run, Mode, SimConfig};

const DIALS: u64 = 12_000;
const CAP: f64 = 0.03;

fn scenarios(seed: u64) -> Vec<(&'static str, SimConfig)> {
    vec![
        ("steady 30%", SimConfig::standard(seed, DIALS)),
        (
            "drop 30%->15%",
            SimConfig::with_mid_run_change(seed, DIALS, 0.30, 0.15),
        ),
        (
            "rise 30%->50%",
            SimConfig::with_mid_run_change(seed, DIALS, 0.30, 0.50),
        ),
    ]
}

#[test]
fn predictive_beats_progressive_within_abandon_cap() {
    println!("{}", header());
    for seed in [1u64, 2, 3] {
        for (name, cfg) in scenarios(seed) {
            let label = format!("{name} seed {seed}");
            let prog = run(&cfg, Mode::Progressive);
            let pred = run(&cfg, Mode::Predictive);
            println!("{}", format_row(&label, &prog));
            println!("{}", format_row(&label, &pred));

            assert_eq!(prog.abandoned, 0, "{label}: progressive abandoned");
            assert!(pred.abandon_rate <= CAP, "{label}: {pred:?}");
            assert!(
                pred.max_window_abandon_rate <= CAP,
                "{label}: rolling window over cap {pred:?}"
            );
            assert!(
                pred.occupancy >= prog.occupancy + 0.04,
                "{label}: occupancy {} vs {}",
                pred.occupancy,
                prog.occupancy
            );
            assert!(pred.avg_wait < prog.avg_wait, "{label}: wait");
            assert!(
                pred.calls_per_agent_hour > prog.calls_per_agent_hour,
                "{label}: throughput"
            );
        }
    }
}

#[test]
fn small_team_stays_within_cap() {
    for seed in [4u64, 5] {
        let mut cfg = SimConfig::with_mid_run_change(seed, 6_000, 0.15, 0.50);
        cfg.agents = 5;
        let pred = run(&cfg, Mode::Predictive);
        assert!(pred.abandon_rate <= CAP, "{pred:?}");
        assert!(pred.max_window_abandon_rate <= CAP, "{pred:?}");
    }
}

#[test]
fn simulation_is_deterministic() {
    let cfg = SimConfig::standard(42, 3_000);
    assert_eq!(run(&cfg, Mode::Predictive), run(&cfg, Mode::Predictive));
    assert_eq!(run(&cfg, Mode::Progressive), run(&cfg, Mode::Progressive));
    let other = SimConfig::standard(43, 3_000);
    assert_ne!(run(&cfg, Mode::Predictive), run(&other, Mode::Predictive));
}
