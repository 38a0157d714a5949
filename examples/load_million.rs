//! Generates a 1,000,000-row call list in memory and loads it, printing rows per second.
//!
//! Run with `cargo run --release --example load_million [rows]`.
//! The mix: US numbers in assorted formats, about 2% invalid, about 1% duplicates, a name, a
//! state code and two extra columns. It also times number normalisation alone, so the share of
//! the load spent parsing phone numbers is visible.

use std::time::Instant;

use switchboard::dialer::list::{load_csv, ColumnMapping, LoadOptions, NumberNormaliser};

/// Real area codes, so the generated numbers are valid ones.
const AREA_CODES: &[u32] = &[
    201, 202, 203, 205, 206, 207, 208, 212, 213, 214, 215, 303, 305, 312, 313, 404, 415, 469, 503,
    512, 602, 617, 702, 713, 718, 801, 808, 818, 907, 919,
];
const STATES: &[&str] = &["NY", "CA", "TX", "FL", "IL", "WA", "AZ", "OR", "HI", "AK"];

/// A small deterministic generator, so every run loads the same list.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

fn format_number(area: u32, exchange: u32, line: u32, style: u64) -> String {
    match style {
        0 => format!("({area}) {exchange}-{line:04}"),
        1 => format!("{area}-{exchange}-{line:04}"),
        2 => format!("{area}.{exchange}.{line:04}"),
        3 => format!("+1 {area} {exchange} {line:04}"),
        4 => format!("+1{area}{exchange}{line:04}"),
        5 => format!("1-{area}-{exchange}-{line:04}"),
        6 => format!("tel:+1-{area}-{exchange}-{line:04}"),
        7 => format!("001 {area} {exchange} {line:04}"),
        _ => format!("{area}{exchange}{line:04}"),
    }
}

fn generate(rows: usize) -> (Vec<u8>, Vec<String>) {
    let mut random = Random(0x5eed);
    let mut csv = String::with_capacity(rows * 70);
    let mut numbers = Vec::with_capacity(rows);
    let mut earlier: Vec<(u32, u32, u32)> = Vec::new();
    csv.push_str("Phone,Name,State,Customer Id,Segment\n");
    for row in 0..rows {
        let roll = random.below(100);
        let style = random.below(9);
        let phone = if roll < 2 {
            // Invalid: too short, or an area code that does not exist.
            if random.below(2) == 0 {
                format!(
                    "{}-{}-12",
                    AREA_CODES[random.below(30) as usize],
                    200 + random.below(700)
                )
            } else {
                format!(
                    "(099) {}-{:04}",
                    200 + random.below(700),
                    random.below(10_000)
                )
            }
        } else if roll < 3 && !earlier.is_empty() {
            let (area, exchange, line) = earlier[random.below(earlier.len() as u64) as usize];
            format_number(area, exchange, line, style)
        } else {
            let area = AREA_CODES[random.below(AREA_CODES.len() as u64) as usize];
            let exchange = 201 + random.below(698) as u32;
            let exchange = if exchange % 100 == 11 {
                exchange + 1
            } else {
                exchange
            };
            let line = random.below(10_000) as u32;
            if earlier.len() < 100_000 {
                earlier.push((area, exchange, line));
            }
            format_number(area, exchange, line, style)
        };
        let state = STATES[random.below(STATES.len() as u64) as usize];
        csv.push_str(&format!(
            "{phone},Customer {row},{state},C{row:07},{}\n",
            if roll.is_multiple_of(2) {
                "gold"
            } else {
                "standard"
            }
        ));
        numbers.push(phone);
    }
    (csv.into_bytes(), numbers)
}

fn main() {
    let rows: usize = std::env::args()
        .nth(1)
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(1_000_000);
    let started = Instant::now();
    let (csv, numbers) = generate(rows);
    println!(
        "generated {rows} rows ({:.1} MB) in {:.2}s",
        csv.len() as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );

    let mapping = ColumnMapping::parse("phone=Phone,name=Name,location=State").expect("mapping");
    let options = LoadOptions::default();
    let started = Instant::now();
    let summary = load_csv(
        csv.as_slice(),
        &mapping,
        &options,
        &mut |_| false,
        &mut |_batch| Ok(()),
        &mut |_| {},
    )
    .expect("load");
    let load_seconds = started.elapsed().as_secs_f64();
    println!(
        "loaded {} of {} rows in {:.2}s: {:.0} rows/s",
        summary.loaded,
        summary.rows,
        load_seconds,
        summary.rows as f64 / load_seconds
    );
    println!("problems: {:?}", summary.problems_by_kind);

    let started = Instant::now();
    let mut normaliser = NumberNormaliser::new("US".parse().expect("region"));
    let valid = numbers
        .iter()
        .filter(|number| normaliser.normalise(number).is_ok())
        .count();
    let parse_seconds = started.elapsed().as_secs_f64();
    println!(
        "number normalisation alone: {valid} valid of {} in {:.2}s ({:.0}% of the load)",
        numbers.len(),
        parse_seconds,
        100.0 * parse_seconds / load_seconds
    );
}
