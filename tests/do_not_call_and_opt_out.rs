//! Numbers on a do-not-call list are never dialled, and an opt-out puts the
//! lead there.

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::{America, Tz};
use switchboard::dialer::compliance::{check, CompliancePolicy, Decision, LeadFacts, NeverReason};
use switchboard::dialer::outcome::{LeadState, Outcome};
use switchboard::dialer::retry::{decide, next_step, NextStep, RetryRules};

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

fn dnc_lead(zones: &[Tz]) -> LeadFacts<'_> {
    LeadFacts {
        lead_id: "lead-dnc",
        number: "+13105550100",
        timezones: zones,
        on_dnc: true,
        attempts_made: 0,
        number_attempts: &[],
    }
}

#[test]
fn dnc_lead_is_never_dialled_inside_the_window() {
    // 12:00 in Los Angeles: the window is open, the list still wins.
    let decision = check(
        &CompliancePolicy::default(),
        &dnc_lead(&[America::Los_Angeles]),
        utc(2026, 6, 10, 19, 0),
    );
    assert_eq!(decision, Decision::Never(NeverReason::DoNotCall));
    assert_eq!(
        decision.to_string(),
        "never: number is on a do-not-call list"
    );
}

#[test]
fn dnc_lead_is_never_rather_than_wait_outside_the_window() {
    // 03:00 in Los Angeles: a window wait would invite a later dial; DNC must not.
    let decision = check(
        &CompliancePolicy::default(),
        &dnc_lead(&[America::Los_Angeles]),
        utc(2026, 6, 10, 10, 0),
    );
    assert_eq!(decision, Decision::Never(NeverReason::DoNotCall));
}

#[test]
fn dnc_wins_over_every_other_problem() {
    // No time zone and attempts exhausted as well: DNC is the reason recorded.
    let mut lead = dnc_lead(&[]);
    lead.attempts_made = 10;
    let decision = check(&CompliancePolicy::default(), &lead, utc(2026, 6, 10, 19, 0));
    assert_eq!(decision, Decision::Never(NeverReason::DoNotCall));
}

#[test]
fn opted_out_outcome_moves_the_lead_to_do_not_call() {
    let now = utc(2026, 6, 10, 19, 0);
    let rules = RetryRules::default();
    for attempts in [1, 2, 3, 99] {
        let step = next_step(&rules, Outcome::OptedOut, attempts, now);
        assert_eq!(step, NextStep::DoNotCall);
        assert_eq!(step.lead_state(), LeadState::DoNotCall);
    }
    let text = decide(&rules, Outcome::OptedOut, 1, now).to_string();
    assert!(text.contains("opted out"), "{text}");
}

#[test]
fn opt_out_cannot_be_configured_as_retryable() {
    // Even hand-built rules listing it do not retry an opt-out.
    let mut rules = RetryRules::default();
    rules
        .delays
        .insert(Outcome::OptedOut, chrono::Duration::minutes(5));
    let step = next_step(&rules, Outcome::OptedOut, 1, utc(2026, 6, 10, 19, 0));
    assert_eq!(step, NextStep::DoNotCall);
    // And the rules string refuses it outright.
    let err = "busy=10m,opted_out=1h".parse::<RetryRules>().unwrap_err();
    assert!(err.to_string().contains("opted_out=1h"), "{err}");
}
