//! After an attempt: retry later, finish, exhaust, or never call again.

use chrono::{DateTime, Duration, TimeZone, Utc};
use switchboard::dialer::outcome::{LeadState, Outcome};
use switchboard::dialer::retry::{decide, next_step, NextStep, RetryRules, RetryRulesError};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 10, 16, 0, 0).unwrap()
}

#[test]
fn default_delays_per_outcome() {
    let rules = RetryRules::default();
    let cases = [
        (Outcome::Busy, Duration::minutes(10)),
        (Outcome::NoAnswer, Duration::hours(2)),
        (Outcome::Machine, Duration::hours(4)),
        (Outcome::Failed, Duration::minutes(30)),
    ];
    for (outcome, delay) in cases {
        let step = next_step(&rules, outcome, 1, now());
        assert_eq!(step, NextStep::RetryAt(now() + delay), "{outcome}");
        assert_eq!(step.lead_state(), LeadState::RetryScheduled);
    }
}

#[test]
fn final_outcomes_are_done() {
    let rules = RetryRules::default();
    for outcome in [
        Outcome::Rejected,
        Outcome::InvalidNumber,
        Outcome::HumanAnswered,
        Outcome::Completed,
        Outcome::Transferred,
    ] {
        let step = next_step(&rules, outcome, 1, now());
        assert_eq!(step, NextStep::Done, "{outcome}");
        assert_eq!(step.lead_state(), LeadState::Done);
    }
    assert_eq!(
        next_step(&rules, Outcome::OptedOut, 1, now()).lead_state(),
        LeadState::DoNotCall
    );
}

#[test]
fn retries_stop_at_max_attempts() {
    let rules = RetryRules::default(); // 3 attempts
    assert!(matches!(
        next_step(&rules, Outcome::Busy, 2, now()),
        NextStep::RetryAt(_)
    ));
    let step = next_step(&rules, Outcome::Busy, 3, now());
    assert_eq!(step, NextStep::Exhausted);
    assert_eq!(step.lead_state(), LeadState::Exhausted);
    assert_eq!(
        next_step(&rules, Outcome::NoAnswer, 7, now()),
        NextStep::Exhausted
    );
    // Exhaustion only applies to outcomes that would be retried.
    assert_eq!(
        next_step(&rules, Outcome::Completed, 3, now()),
        NextStep::Done
    );
}

#[test]
fn decisions_explain_themselves() {
    let rules = RetryRules::default();
    let retry = decide(&rules, Outcome::NoAnswer, 1, now());
    assert_eq!(
        retry.to_string(),
        "no_answer: retry after 2h at 2026-06-10 18:00:00 UTC (attempt 2 of 3)"
    );
    let exhausted = decide(&rules, Outcome::Busy, 3, now());
    assert_eq!(
        exhausted.to_string(),
        "busy: would retry, but 3 of 3 attempts used, lead exhausted"
    );
    let done = decide(&rules, Outcome::Rejected, 1, now());
    assert_eq!(done.to_string(), "rejected: not retried, lead done");
}

#[test]
fn rules_string_parses() {
    let rules: RetryRules = "busy=10m,no_answer=2h,machine=4h,failed=30m"
        .parse()
        .unwrap();
    assert_eq!(rules, RetryRules::default());

    let custom: RetryRules = " busy = 5m , no_answer=1h30m, rejected=1d, max_attempts=5 "
        .parse()
        .unwrap();
    assert_eq!(custom.max_attempts, 5);
    assert_eq!(custom.delays.len(), 3);
    assert_eq!(
        next_step(&custom, Outcome::NoAnswer, 4, now()),
        NextStep::RetryAt(now() + Duration::minutes(90))
    );
    assert_eq!(
        next_step(&custom, Outcome::Rejected, 1, now()),
        NextStep::RetryAt(now() + Duration::days(1))
    );
    // Not listed: done. The string replaces the defaults.
    assert_eq!(
        next_step(&custom, Outcome::Machine, 1, now()),
        NextStep::Done
    );
    assert_eq!(
        next_step(&custom, Outcome::NoAnswer, 5, now()),
        NextStep::Exhausted
    );

    let nothing: RetryRules = "".parse().unwrap();
    assert_eq!(next_step(&nothing, Outcome::Busy, 1, now()), NextStep::Done);
}

#[test]
fn rules_string_errors_name_the_bad_part() {
    let cases: [(&str, &str); 8] = [
        ("busy=10m,noanswer=2h", "\"noanswer=2h\""),
        ("busy=10m,machine", "\"machine\""),
        ("busy=10", "\"busy=10\""),
        ("busy=10m,failed=3w", "\"failed=3w\""),
        ("busy=10m,busy=5m", "\"busy=5m\""),
        ("busy=10m,,failed=1m", "item 2"),
        ("opted_out=1h", "\"opted_out=1h\""),
        ("busy=1m,max_attempts=0", "\"max_attempts=0\""),
    ];
    for (text, named) in cases {
        let err = text.parse::<RetryRules>().unwrap_err();
        let message = err.to_string();
        assert!(message.contains(named), "{text}: {message}");
    }
    assert!(matches!(
        "busy=10m,noanswer=2h".parse::<RetryRules>(),
        Err(RetryRulesError::UnknownOutcome { .. })
    ));
    let message = "busy=10m,noanswer=2h"
        .parse::<RetryRules>()
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("no_answer"),
        "lists valid names: {message}"
    );
}

#[test]
fn rules_round_trip_through_text() {
    let custom: RetryRules = "busy=5m,no_answer=1h30m,max_attempts=4".parse().unwrap();
    assert_eq!(custom.to_string(), "busy=5m,no_answer=1h30m,max_attempts=4");
    assert_eq!(custom.to_string().parse::<RetryRules>(), Ok(custom));
}
