//! Progressive vs predictive campaign simulation.
//! Run: cargo run --release --example predictive_simulation
use switchboard::dialer::predictive::simulation::{format_row, header, run, Mode, SimConfig};

fn main() {
    let dials = 20_000;
    println!("{}", header());
    for seed in [1u64, 2, 3] {
        let scenarios = [
            ("steady 30%", SimConfig::standard(seed, dials)),
            (
                "drop 30%->15%",
                SimConfig::with_mid_run_change(seed, dials, 0.30, 0.15),
            ),
            (
                "rise 30%->50%",
                SimConfig::with_mid_run_change(seed, dials, 0.30, 0.50),
            ),
        ];
        for (name, cfg) in scenarios {
            let label = format!("{name} seed {seed}");
            for mode in [Mode::Progressive, Mode::Predictive] {
                println!("{}", format_row(&label, &run(&cfg, mode)));
            }
        }
    }
}
