//! The calling window is honoured in the callee's local time, in every zone
//! the callee may be in, on allowed days only, across DST changes.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc, Weekday, WeekdaySet};
use chrono_tz::{America, Asia, Europe, Pacific, Tz};
use switchboard::dialer::compliance::{
    check, CallingWindow, CompliancePolicy, Decision, LeadFacts, NeverReason, WaitReason,
};

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

fn window(start: (u32, u32), end: (u32, u32)) -> CallingWindow {
    CallingWindow::new(hm(start.0, start.1), hm(end.0, end.1)).unwrap()
}

fn lead(zones: &[Tz]) -> LeadFacts<'_> {
    LeadFacts {
        lead_id: "lead-1",
        number: "+12125550100",
        timezones: zones,
        on_dnc: false,
        attempts_made: 0,
        number_attempts: &[],
    }
}

fn with_legal_window(start: (u32, u32), end: (u32, u32)) -> CompliancePolicy {
    CompliancePolicy {
        legal_window: window(start, end),
        ..CompliancePolicy::default()
    }
}

/// The instant a `Wait` decision says to come back, failing on anything else.
fn wait_until(decision: &Decision) -> DateTime<Utc> {
    match decision {
        Decision::Wait(_, at) => *at,
        other => panic!("expected Wait, got {other}"),
    }
}

fn assert_dial(decision: &Decision) {
    assert!(
        matches!(decision, Decision::Dial(_)),
        "expected Dial, got {decision}"
    );
}

// All US zones a number could be in when only the country is known
// (contiguous states plus Alaska and Hawaii).
const US_ALL: [Tz; 7] = [
    America::New_York,
    America::Chicago,
    America::Denver,
    America::Phoenix,
    America::Los_Angeles,
    America::Anchorage,
    Pacific::Honolulu,
];

#[test]
fn inside_the_window_dials_and_says_why() {
    let policy = CompliancePolicy::default();
    // 2026-06-10 14:00 UTC is 10:00 in New York (EDT).
    let decision = check(
        &policy,
        &lead(&[America::New_York]),
        utc(2026, 6, 10, 14, 0),
    );
    let Decision::Dial(permit) = &decision else {
        panic!("expected Dial, got {decision}");
    };
    assert_eq!(permit.local_times.len(), 1);
    assert_eq!(permit.local_times[0].zone, America::New_York);
    assert_eq!(permit.local_times[0].local.time(), hm(10, 0));
    assert_eq!(permit.window, CallingWindow::default());
    assert!(permit.dnc_checked_not_listed);
    let text = decision.to_string();
    assert!(text.contains("inside calling window 08:00-21:00"), "{text}");
    assert!(text.contains("America/New_York"), "{text}");
    assert!(text.contains("DNC checked: not listed"), "{text}");
    assert!(text.contains("lead attempts 0 of 3"), "{text}");
}

#[test]
fn before_the_window_waits_for_the_local_opening() {
    let policy = CompliancePolicy::default();
    // 11:12 UTC is 07:12 EDT: opens at 08:00 EDT = 12:00 UTC.
    let decision = check(
        &policy,
        &lead(&[America::New_York]),
        utc(2026, 6, 10, 11, 12),
    );
    match &decision {
        Decision::Wait(
            WaitReason::OutsideWindow {
                zone,
                local,
                window,
            },
            at,
        ) => {
            assert_eq!(*zone, America::New_York);
            assert_eq!(local.time(), hm(7, 12));
            assert_eq!(*window, CallingWindow::default());
            assert_eq!(*at, utc(2026, 6, 10, 12, 0));
        }
        other => panic!("expected OutsideWindow wait, got {other}"),
    }
    assert_eq!(
        decision.to_string(),
        "wait until 2026-06-10 12:00:00 UTC: outside calling window 08:00-21:00 \
         in America/New_York (local 07:12)"
    );
}

#[test]
fn end_of_window_is_exclusive_and_waits_for_tomorrow() {
    let policy = CompliancePolicy::default();
    // 00:59 UTC on the 11th is 20:59 EDT on the 10th: still open.
    assert_dial(&check(
        &policy,
        &lead(&[America::New_York]),
        utc(2026, 6, 11, 0, 59),
    ));
    // 01:00 UTC is 21:00 EDT: closed until 08:00 EDT on the 11th.
    let decision = check(&policy, &lead(&[America::New_York]), utc(2026, 6, 11, 1, 0));
    assert_eq!(wait_until(&decision), utc(2026, 6, 11, 12, 0));
}

#[test]
fn los_angeles_and_new_york_differ_at_the_same_instant() {
    let policy = CompliancePolicy::default();
    let now = utc(2026, 6, 10, 14, 0); // 10:00 EDT, 07:00 PDT
    assert_dial(&check(&policy, &lead(&[America::New_York]), now));
    let decision = check(&policy, &lead(&[America::Los_Angeles]), now);
    assert_eq!(wait_until(&decision), utc(2026, 6, 10, 15, 0));
    assert!(decision
        .to_string()
        .contains("outside calling window 08:00-21:00 in America/Los_Angeles (local 07:00)"));
}

#[test]
fn eastern_and_pacific_together_give_eleven_to_nine_eastern() {
    let policy = CompliancePolicy::default();
    let zones = [America::New_York, America::Los_Angeles];
    // 10:59 EDT: Pacific is still at 07:59.
    let decision = check(&policy, &lead(&zones), utc(2026, 6, 10, 14, 59));
    assert_eq!(wait_until(&decision), utc(2026, 6, 10, 15, 0)); // 11:00 EDT
                                                                // 11:00 EDT: both open; the permit lists both local times.
    let decision = check(&policy, &lead(&zones), utc(2026, 6, 10, 15, 0));
    let Decision::Dial(permit) = &decision else {
        panic!("expected Dial, got {decision}");
    };
    let locals: Vec<_> = permit.local_times.iter().map(|z| z.local.time()).collect();
    assert_eq!(locals, vec![hm(11, 0), hm(8, 0)]);
    // 21:00 EDT: Eastern closes although Pacific is at 18:00; reopens 11:00 EDT.
    let decision = check(&policy, &lead(&zones), utc(2026, 6, 11, 1, 0));
    assert_eq!(wait_until(&decision), utc(2026, 6, 11, 15, 0));
}

#[test]
fn country_only_us_number_gets_the_narrow_intersection() {
    let policy = CompliancePolicy::default();
    // Summer: Hawaii (UTC-10) opens last at 08:00 HST = 18:00 UTC = 14:00 EDT,
    // New York closes first at 21:00 EDT = 01:00 UTC.
    let decision = check(&policy, &lead(&US_ALL), utc(2026, 6, 10, 15, 0));
    assert_eq!(wait_until(&decision), utc(2026, 6, 10, 18, 0));
    assert_dial(&check(&policy, &lead(&US_ALL), utc(2026, 6, 10, 18, 0)));
    assert_dial(&check(&policy, &lead(&US_ALL), utc(2026, 6, 11, 0, 59)));
    let decision = check(&policy, &lead(&US_ALL), utc(2026, 6, 11, 1, 0));
    assert_eq!(wait_until(&decision), utc(2026, 6, 11, 18, 0));

    // Winter: EST is UTC-5, so New York closes at 02:00 UTC instead.
    assert_dial(&check(&policy, &lead(&US_ALL), utc(2026, 1, 14, 1, 30)));
    let decision = check(&policy, &lead(&US_ALL), utc(2026, 1, 14, 2, 0));
    assert_eq!(wait_until(&decision), utc(2026, 1, 14, 18, 0));
}

#[test]
fn campaign_window_only_narrows() {
    let narrow = CompliancePolicy {
        campaign_window: Some(window((10, 0), (18, 0))),
        ..CompliancePolicy::default()
    };
    let ny = [America::New_York];
    // 09:30 EDT: legal but before the campaign's 10:00.
    let decision = check(&narrow, &lead(&ny), utc(2026, 6, 10, 13, 30));
    assert_eq!(wait_until(&decision), utc(2026, 6, 10, 14, 0));
    assert!(decision.to_string().contains("10:00-18:00"), "{decision}");
    // 18:00 EDT: the campaign has stopped although the law allows until 21:00.
    let decision = check(&narrow, &lead(&ny), utc(2026, 6, 10, 22, 0));
    assert_eq!(wait_until(&decision), utc(2026, 6, 11, 14, 0));

    // A campaign window starting before the legal one cannot widen it.
    let early = CompliancePolicy {
        campaign_window: Some(window((6, 0), (9, 0))),
        ..CompliancePolicy::default()
    };
    assert_eq!(early.effective_window(), Some(window((8, 0), (9, 0))));
    let decision = check(&early, &lead(&ny), utc(2026, 6, 10, 10, 30)); // 06:30 EDT
    assert_eq!(wait_until(&decision), utc(2026, 6, 10, 12, 0));
    let decision = check(&early, &lead(&ny), utc(2026, 6, 10, 13, 0)); // 09:00 EDT
    assert_eq!(wait_until(&decision), utc(2026, 6, 11, 12, 0));

    // Disjoint from the legal window: never.
    let night = CompliancePolicy {
        campaign_window: Some(window((21, 30), (23, 0))),
        ..CompliancePolicy::default()
    };
    let decision = check(&night, &lead(&ny), utc(2026, 6, 10, 14, 0));
    assert!(
        matches!(decision, Decision::Never(NeverReason::EmptyWindow { .. })),
        "{decision}"
    );
    assert_eq!(
        decision.to_string(),
        "never: campaign window 21:30-23:00 does not overlap legal window 08:00-21:00"
    );
}

#[test]
fn wrapping_windows_are_rejected_at_construction() {
    assert!(CallingWindow::new(hm(20, 0), hm(2, 0)).is_err());
    assert!("20:00-02:00".parse::<CallingWindow>().is_err());
}

#[test]
fn only_allowed_weekdays() {
    let weekdays = CompliancePolicy {
        days: Some(WeekdaySet::from_array([
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
        ])),
        ..CompliancePolicy::default()
    };
    // Saturday 2026-06-13, 10:00 EDT.
    let decision = check(
        &weekdays,
        &lead(&[America::New_York]),
        utc(2026, 6, 13, 14, 0),
    );
    match &decision {
        Decision::Wait(WaitReason::NotAnAllowedDay { zone, .. }, at) => {
            assert_eq!(*zone, America::New_York);
            assert_eq!(*at, utc(2026, 6, 15, 12, 0)); // Monday 08:00 EDT
        }
        other => panic!("expected NotAnAllowedDay, got {other}"),
    }
    assert!(decision
        .to_string()
        .contains("Saturday is not an allowed calling day"));
    // Friday evening after closing also rolls over to Monday.
    let decision = check(
        &weekdays,
        &lead(&[America::New_York]),
        utc(2026, 6, 13, 1, 30),
    );
    assert_eq!(wait_until(&decision), utc(2026, 6, 15, 12, 0));

    // The weekday is the callee's: 01:30 UTC Saturday is still Friday 18:30 in Los Angeles.
    assert_dial(&check(
        &weekdays,
        &lead(&[America::Los_Angeles]),
        utc(2026, 6, 13, 1, 30),
    ));
}

#[test]
fn holidays_are_skipped() {
    let holidays = CompliancePolicy {
        holidays: BTreeSet::from([NaiveDate::from_ymd_opt(2026, 7, 3).unwrap()]),
        ..CompliancePolicy::default()
    };
    // Friday 2026-07-03 10:00 EDT is a holiday: next opening Saturday 08:00 EDT.
    let decision = check(
        &holidays,
        &lead(&[America::New_York]),
        utc(2026, 7, 3, 14, 0),
    );
    match &decision {
        Decision::Wait(WaitReason::Holiday { zone, date }, at) => {
            assert_eq!(*zone, America::New_York);
            assert_eq!(*date, NaiveDate::from_ymd_opt(2026, 7, 3).unwrap());
            assert_eq!(*at, utc(2026, 7, 4, 12, 0));
        }
        other => panic!("expected Holiday, got {other}"),
    }
    assert!(decision
        .to_string()
        .contains("2026-07-03 is a holiday in America/New_York"));

    // With weekdays only as well, the next opening is Monday.
    let both = CompliancePolicy {
        days: Some(WeekdaySet::from_array([
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
        ])),
        ..holidays.clone()
    };
    let decision = check(&both, &lead(&[America::New_York]), utc(2026, 7, 3, 14, 0));
    assert_eq!(wait_until(&decision), utc(2026, 7, 6, 12, 0));

    // Holidays count in every zone: at 03:30 UTC on the 3rd it is the evening
    // of the 2nd in both zones, New York is already closed, and the holiday
    // then blocks both zones for the 3rd, so the next opening is the 4th,
    // when Los Angeles (the later zone) opens.
    let decision = check(
        &holidays,
        &lead(&[America::Los_Angeles, America::New_York]),
        utc(2026, 7, 3, 3, 30),
    );
    assert_eq!(wait_until(&decision), utc(2026, 7, 4, 15, 0)); // 08:00 PDT on the 4th
}

#[test]
fn new_york_spring_forward_2026() {
    // 2026-03-08 02:00 EST jumps to 03:00 EDT (07:00 UTC).
    let ny = [America::New_York];
    let policy = CompliancePolicy::default();
    // 22:00 EST on the 7th: the next 08:00 is already EDT, so 12:00 UTC, not 13:00.
    let decision = check(&policy, &lead(&ny), utc(2026, 3, 8, 3, 0));
    assert_eq!(wait_until(&decision), utc(2026, 3, 8, 12, 0));

    // A window opening at 02:30, a time that does not exist that night:
    // the first instant inside it is the jump itself, 03:00 EDT.
    let early = with_legal_window((2, 30), (21, 0));
    let decision = check(&early, &lead(&ny), utc(2026, 3, 8, 5, 0)); // 00:00 EST
    assert_eq!(wait_until(&decision), utc(2026, 3, 8, 7, 0));
    assert_dial(&check(&early, &lead(&ny), utc(2026, 3, 8, 7, 0)));
    // One second before the jump the clock reads 01:59:59: closed.
    let just_before = utc(2026, 3, 8, 7, 0) - chrono::Duration::seconds(1);
    assert!(matches!(
        check(&early, &lead(&ny), just_before),
        Decision::Wait(..)
    ));
}

#[test]
fn new_york_fall_back_2026() {
    // 2026-11-01 02:00 EDT falls back to 01:00 EST (06:00 UTC); 01:xx happens twice.
    let ny = [America::New_York];
    let policy = CompliancePolicy::default();
    // 22:00 EDT on Oct 31: the next 08:00 is EST, so 13:00 UTC.
    let decision = check(&policy, &lead(&ny), utc(2026, 11, 1, 2, 0));
    assert_eq!(wait_until(&decision), utc(2026, 11, 1, 13, 0));

    // Window opening at 01:30: first reached at 01:30 EDT (05:30 UTC).
    let early = with_legal_window((1, 30), (21, 0));
    let decision = check(&early, &lead(&ny), utc(2026, 11, 1, 4, 0)); // 00:00 EDT
    assert_eq!(wait_until(&decision), utc(2026, 11, 1, 5, 30));
    assert_dial(&check(&early, &lead(&ny), utc(2026, 11, 1, 5, 45))); // 01:45 EDT
                                                                      // At 06:10 UTC the clock reads 01:10 EST again: outside, until 01:30 EST.
    let decision = check(&early, &lead(&ny), utc(2026, 11, 1, 6, 10));
    match &decision {
        Decision::Wait(WaitReason::OutsideWindow { local, .. }, at) => {
            assert_eq!(local.time(), hm(1, 10));
            assert_eq!(*at, utc(2026, 11, 1, 6, 30));
        }
        other => panic!("expected OutsideWindow, got {other}"),
    }

    // A window ending at 01:30: closed at 01:45 EDT, open again when the
    // clock falls back to 01:00 EST, the transition instant itself.
    let late_night = with_legal_window((0, 0), (1, 30));
    let decision = check(&late_night, &lead(&ny), utc(2026, 11, 1, 5, 45));
    assert_eq!(wait_until(&decision), utc(2026, 11, 1, 6, 0));
}

#[test]
fn madrid_spring_forward_2026() {
    // 2026-03-29 02:00 CET jumps to 03:00 CEST (01:00 UTC).
    let madrid = [Europe::Madrid];
    let policy = CompliancePolicy::default();
    // Saturday 22:00 CET: next 08:00 is CEST = 06:00 UTC.
    let decision = check(&policy, &lead(&madrid), utc(2026, 3, 28, 21, 0));
    assert_eq!(wait_until(&decision), utc(2026, 3, 29, 6, 0));
    assert_dial(&check(&policy, &lead(&madrid), utc(2026, 3, 29, 6, 0)));

    let early = with_legal_window((2, 30), (21, 0));
    let decision = check(&early, &lead(&madrid), utc(2026, 3, 29, 0, 0)); // 01:00 CET
    assert_eq!(wait_until(&decision), utc(2026, 3, 29, 1, 0)); // the jump to 03:00 CEST
}

#[test]
fn madrid_fall_back_2026() {
    // 2026-10-25 03:00 CEST falls back to 02:00 CET (01:00 UTC).
    let madrid = [Europe::Madrid];
    let policy = CompliancePolicy::default();
    // Saturday 22:00 CEST: next 08:00 is CET = 07:00 UTC.
    let decision = check(&policy, &lead(&madrid), utc(2026, 10, 24, 20, 0));
    assert_eq!(wait_until(&decision), utc(2026, 10, 25, 7, 0));

    // Window opening at 02:30, which happens twice that night.
    let early = with_legal_window((2, 30), (21, 0));
    let decision = check(&early, &lead(&madrid), utc(2026, 10, 24, 23, 0)); // 01:00 CEST
    assert_eq!(wait_until(&decision), utc(2026, 10, 25, 0, 30)); // first 02:30 (CEST)
                                                                 // After the fall back the clock reads 02:00 CET: closed until the second 02:30.
    let decision = check(&early, &lead(&madrid), utc(2026, 10, 25, 1, 0));
    assert_eq!(wait_until(&decision), utc(2026, 10, 25, 1, 30));
}

#[test]
fn a_window_that_never_opens_is_never() {
    // 09:00-17:00 in both Tokyo and New York never overlaps.
    let office = CompliancePolicy {
        campaign_window: Some(window((9, 0), (17, 0))),
        ..CompliancePolicy::default()
    };
    let decision = check(
        &office,
        &lead(&[America::New_York, Asia::Tokyo]),
        utc(2026, 6, 10, 14, 0),
    );
    assert_eq!(
        decision,
        Decision::Never(NeverReason::NoOpeningWithin { days: 14 })
    );

    // No allowed weekday at all.
    let no_days = CompliancePolicy {
        days: Some(WeekdaySet::default()),
        ..CompliancePolicy::default()
    };
    let decision = check(
        &no_days,
        &lead(&[America::New_York]),
        utc(2026, 6, 10, 14, 0),
    );
    assert!(
        matches!(
            decision,
            Decision::Never(NeverReason::NoOpeningWithin { .. })
        ),
        "{decision}"
    );

    // Holidays covering more than the search horizon.
    let start = NaiveDate::from_ymd_opt(2026, 12, 20).unwrap();
    let long_break = CompliancePolicy {
        holidays: start.iter_days().take(20).collect(),
        ..CompliancePolicy::default()
    };
    let decision = check(
        &long_break,
        &lead(&[Europe::Madrid]),
        utc(2026, 12, 20, 10, 0),
    );
    assert!(
        matches!(
            decision,
            Decision::Never(NeverReason::NoOpeningWithin { .. })
        ),
        "{decision}"
    );
    // ...but a shorter break is waited out.
    let short_break = CompliancePolicy {
        holidays: start.iter_days().take(13).collect(),
        ..CompliancePolicy::default()
    };
    let decision = check(
        &short_break,
        &lead(&[Europe::Madrid]),
        utc(2026, 12, 20, 10, 0),
    );
    assert_eq!(wait_until(&decision), utc(2027, 1, 2, 7, 0)); // 08:00 CET
}

#[test]
fn a_lead_without_time_zone_is_never_dialled() {
    let decision = check(
        &CompliancePolicy::default(),
        &lead(&[]),
        utc(2026, 6, 10, 14, 0),
    );
    assert_eq!(decision, Decision::Never(NeverReason::NoTimezone));
}
