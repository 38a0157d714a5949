//! Attempt limits: per lead, and per number in any 24 hours.

use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::{America, Tz};
use switchboard::dialer::compliance::{
    check, CompliancePolicy, Decision, LeadFacts, NeverReason, WaitReason,
};

const NY: [Tz; 1] = [America::New_York];

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

fn lead<'a>(attempts_made: u32, number_attempts: &'a [DateTime<Utc>]) -> LeadFacts<'a> {
    LeadFacts {
        lead_id: "lead-7",
        number: "+12125550177",
        timezones: &NY,
        on_dnc: false,
        attempts_made,
        number_attempts,
    }
}

// Wednesday 2026-06-10 16:00 UTC = 12:00 EDT, well inside the window.
fn midday() -> DateTime<Utc> {
    utc(2026, 6, 10, 16, 0)
}

#[test]
fn lead_below_its_limit_dials_and_reports_counts() {
    let policy = CompliancePolicy::default();
    let decision = check(&policy, &lead(2, &[]), midday());
    let Decision::Dial(permit) = &decision else {
        panic!("expected Dial, got {decision}");
    };
    assert_eq!(permit.lead_attempts_made, 2);
    assert_eq!(permit.lead_attempt_limit, 3);
    assert!(decision.to_string().contains("lead attempts 2 of 3 used"));
}

#[test]
fn lead_at_its_limit_is_exhausted() {
    let policy = CompliancePolicy::default();
    let decision = check(&policy, &lead(3, &[]), midday());
    assert_eq!(
        decision,
        Decision::Never(NeverReason::LeadAttemptsExhausted {
            attempts_made: 3,
            limit: 3
        })
    );
    assert_eq!(
        decision.to_string(),
        "never: lead has used 3 of 3 allowed attempts"
    );
}

#[test]
fn number_limit_waits_until_the_oldest_attempt_is_24_hours_old() {
    let policy = CompliancePolicy::default();
    let now = midday();
    // Three attempts to this number (from other leads/campaigns) in the last day.
    let oldest = now - Duration::hours(20);
    let attempts = [now - Duration::hours(1), oldest, now - Duration::hours(6)];
    let decision = check(&policy, &lead(0, &attempts), now);
    match &decision {
        Decision::Wait(
            WaitReason::NumberAttemptLimit {
                attempts_last_24h,
                limit,
                clears_at,
            },
            at,
        ) => {
            assert_eq!(*attempts_last_24h, 3);
            assert_eq!(*limit, 3);
            assert_eq!(*clears_at, oldest + Duration::hours(24));
            // 2026-06-11 12:00 EDT: inside the window, so that is the answer.
            assert_eq!(*at, oldest + Duration::hours(24));
        }
        other => panic!("expected NumberAttemptLimit, got {other}"),
    }
    assert!(decision
        .to_string()
        .contains("number attempted 3 times in the last 24 h"));
    // At that instant the oldest no longer counts and the lead may be dialled.
    assert!(matches!(
        check(&policy, &lead(0, &attempts), oldest + Duration::hours(24)),
        Decision::Dial(_)
    ));
}

#[test]
fn number_limit_wait_also_respects_the_window() {
    let policy = CompliancePolicy::default();
    let now = midday();
    // The oldest attempt ages out at 02:00 UTC = 22:00 EDT, after closing.
    let oldest = utc(2026, 6, 10, 2, 0);
    let attempts = [oldest, now - Duration::hours(2), now - Duration::hours(1)];
    let decision = check(&policy, &lead(0, &attempts), now);
    match &decision {
        Decision::Wait(WaitReason::NumberAttemptLimit { clears_at, .. }, at) => {
            assert_eq!(*clears_at, utc(2026, 6, 11, 2, 0));
            assert_eq!(*at, utc(2026, 6, 11, 12, 0)); // next 08:00 EDT
        }
        other => panic!("expected NumberAttemptLimit, got {other}"),
    }
}

#[test]
fn attempts_older_than_24_hours_do_not_count() {
    let policy = CompliancePolicy::default();
    let now = midday();
    let attempts = [
        now - Duration::hours(24), // exactly a day old: no longer counts
        now - Duration::hours(30),
        now - Duration::days(3),
        now - Duration::hours(2),
        now - Duration::hours(1),
    ];
    let decision = check(&policy, &lead(0, &attempts), now);
    let Decision::Dial(permit) = &decision else {
        panic!("expected Dial, got {decision}");
    };
    assert_eq!(permit.number_attempts_last_24h, 2);
    assert!(decision
        .to_string()
        .contains("number attempts in last 24 h: 2 of 3"));
}

#[test]
fn over_the_limit_waits_for_enough_attempts_to_age_out() {
    // Five recent attempts against a limit of three (e.g. recorded by two
    // campaigns at once): three must age out, so the third oldest decides.
    let policy = CompliancePolicy::default();
    let now = midday();
    let attempts: Vec<_> = [23, 20, 15, 10, 5]
        .iter()
        .map(|h| now - Duration::hours(*h))
        .collect();
    let decision = check(&policy, &lead(0, &attempts), now);
    match &decision {
        Decision::Wait(WaitReason::NumberAttemptLimit { clears_at, .. }, _) => {
            assert_eq!(*clears_at, now - Duration::hours(15) + Duration::hours(24));
        }
        other => panic!("expected NumberAttemptLimit, got {other}"),
    }
}

#[test]
fn zero_number_limit_is_never() {
    let policy = CompliancePolicy {
        max_attempts_per_number_per_24h: 0,
        ..CompliancePolicy::default()
    };
    assert_eq!(
        check(&policy, &lead(0, &[]), midday()),
        Decision::Never(NeverReason::NumberAttemptsNotAllowed)
    );
}
