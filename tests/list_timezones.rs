//! Which zones a lead gets: its own zone, its location, or its number's country.

use chrono_tz::{America, Asia, Atlantic, Europe, Pacific, Tz};
use switchboard::dialer::list::{
    load_csv, timezones_for_region, timezones_for_us_state, ColumnMapping, Lead, LoadOptions,
    LoadSummary,
};

fn load(csv: &str) -> (Vec<Lead>, LoadSummary) {
    let mut leads = Vec::new();
    let summary = load_csv(
        csv.as_bytes(),
        &ColumnMapping::parse("phone=phone,timezone=tz,location=where").unwrap(),
        &LoadOptions::default(),
        &mut |_| false,
        &mut |batch| {
            leads.extend(batch);
            Ok(())
        },
        &mut |_| {},
    )
    .unwrap();
    (leads, summary)
}

const US_ZONES: [Tz; 7] = [
    America::New_York,
    America::Chicago,
    America::Denver,
    America::Phoenix,
    America::Los_Angeles,
    America::Anchorage,
    Pacific::Honolulu,
];

#[test]
fn row_zone_wins_then_location_then_country() {
    let csv = "phone,tz,where\n\
               2024561111,America/Chicago,TX\n\
               2127365000,,TX\n\
               6172531000,,\n\
               +34912345678,,\n\
               +34612345678,,ES\n\
               3053730000,,es\n\
               +1 416 555 0100,,CA\n\
               4155552671,,CA\n\
               +442079460958,,Europe/London\n\
               +81 3-1234-5678,,US-HI\n";
    let (leads, summary) = load(csv);
    assert!(summary.problems.is_empty(), "{:?}", summary.problems);
    let zones: Vec<Vec<Tz>> = leads.into_iter().map(|lead| lead.timezones).collect();
    assert_eq!(zones[0], vec![America::Chicago]);
    assert_eq!(zones[1], vec![America::Chicago, America::Denver]);
    assert_eq!(zones[2], US_ZONES.to_vec());
    assert_eq!(zones[3], vec![Europe::Madrid, Atlantic::Canary]);
    assert_eq!(zones[4], vec![Europe::Madrid, Atlantic::Canary]);
    // A US number whose location is a country, not a state.
    assert_eq!(zones[5], vec![Europe::Madrid, Atlantic::Canary]);
    // "CA" is Canada for a Canadian number and California for a US one.
    assert_eq!(zones[6], timezones_for_region("CA"));
    assert_eq!(zones[7], vec![America::Los_Angeles]);
    assert_eq!(zones[8], vec![Europe::London]);
    assert_eq!(zones[9], vec![Pacific::Honolulu]);
}

#[test]
fn bad_zone_or_location_is_reported() {
    let csv = "phone,tz,where\n\
               2024561111,Mars/Olympus,\n\
               2127365000,,Atlantis\n\
               6172531000,,ZZ\n\
               3053730000,america/chicago,\n";
    let (leads, summary) = load(csv);
    assert!(leads.is_empty());
    let details: Vec<String> = summary.problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(
        details,
        vec![
            "line 2: unknown time zone 'Mars/Olympus'",
            "line 3: unknown location 'Atlantis': expected a US state code such as TX, a country code such as ES or a time zone",
            "line 4: unknown location 'ZZ': expected a US state code such as TX, a country code such as ES or a time zone",
            "line 5: unknown time zone 'america/chicago'",
        ]
    );
    assert_eq!(summary.problems_by_kind.get("bad_timezone"), Some(&4));
}

#[test]
fn country_table() {
    assert_eq!(timezones_for_region("US"), US_ZONES.to_vec());
    assert_eq!(
        timezones_for_region("es"),
        vec![Europe::Madrid, Atlantic::Canary]
    );
    assert_eq!(timezones_for_region("JP"), vec![Asia::Tokyo]);
    assert_eq!(timezones_for_region("GB"), vec![Europe::London]);
    assert!(timezones_for_region("RU").len() >= 10);
    assert!(timezones_for_region("AU").len() >= 5);
    assert!(timezones_for_region("BR").len() >= 4);
    assert!(timezones_for_region("MX").len() >= 5);
    assert!(timezones_for_region("CA").len() >= 6);
    assert_eq!(timezones_for_region("ID").len(), 3);
    assert!(timezones_for_region("XX").is_empty());
    assert!(timezones_for_region("").is_empty());
}

#[test]
fn us_state_table() {
    assert_eq!(
        timezones_for_us_state("ca"),
        Some(vec![America::Los_Angeles])
    );
    assert_eq!(timezones_for_us_state("NY"), Some(vec![America::New_York]));
    assert_eq!(
        timezones_for_us_state("TX"),
        Some(vec![America::Chicago, America::Denver])
    );
    assert_eq!(timezones_for_us_state("HI"), Some(vec![Pacific::Honolulu]));
    assert_eq!(timezones_for_us_state("ES"), None);
    // All 50 states and DC.
    let states = [
        "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN",
        "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH",
        "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT",
        "VT", "VA", "WA", "WV", "WI", "WY",
    ];
    for state in states {
        assert!(timezones_for_us_state(state).is_some(), "{state}");
    }
}

#[test]
fn number_of_an_unlisted_country_gets_no_zones() {
    // Greenland is not in the table: without zones the dialer will not call the lead.
    let example = phonenumber::metadata::DATABASE
        .by_id("GL")
        .and_then(|greenland| greenland.descriptors().fixed_line())
        .and_then(|fixed_line| fixed_line.example())
        .unwrap();
    assert!(timezones_for_region("GL").is_empty());
    let (leads, summary) = load(&format!("phone,tz,where\n+299 {example},,\n"));
    assert!(summary.problems.is_empty(), "{:?}", summary.problems);
    assert_eq!(leads.len(), 1);
    assert!(leads[0].timezones.is_empty());
}
