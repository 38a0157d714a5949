mod dialplan_common;

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use dialplan_common::*;
use switchboard::dialplan::{CallInfo, Dialplan, Timestamp};

const PLAN: &str = r#"
[dialplan]
start = "check"
timezone = "America/New_York"
holidays = ["2026-12-25"]

[nodes.check]
type = "branch"
default = "closed"
[[nodes.check.when]]
variable = "vip"
equals = "yes"
goto = "vip"
[[nodes.check.when]]
variable = "account"
matches = "^9[0-9]+$"
not_equals = "999"
goto = "premium"
[[nodes.check.when]]
caller_prefix = ["+44", "0044"]
goto = "uk"
[[nodes.check.when]]
holiday = true
goto = "holiday"
[[nodes.check.when]]
days = ["mon", "tue", "wed", "thu", "fri"]
time = "09:00-17:00"
holiday = false
goto = "open"
[[nodes.check.when]]
time = "22:00-06:00"
goto = "night"

[nodes.vip]
type = "hangup"
outcome = "vip"
[nodes.premium]
type = "hangup"
outcome = "premium"
[nodes.uk]
type = "hangup"
outcome = "uk"
[nodes.holiday]
type = "hangup"
outcome = "holiday"
[nodes.open]
type = "hangup"
outcome = "open"
[nodes.night]
type = "hangup"
outcome = "night"
[nodes.closed]
type = "hangup"
outcome = "closed"
"#;

fn utc(year: i32, month: u32, day: u32, hour: u32, minute: u32) -> Timestamp {
    Utc.with_ymd_and_hms(year, month, day, hour, minute, 0)
        .single()
        .expect("valid time")
}

fn outcome_at(plan: Arc<Dialplan>, caller: &str, now: Timestamp) -> String {
    let info = CallInfo {
        caller: caller.to_string(),
        ..call_info()
    };
    let (call, _) = Call::start_at(plan, info, now);
    call.session.outcome().expect("finished").to_string()
}

fn with_variables(extra: &str) -> Arc<Dialplan> {
    plan(&PLAN.replace(
        "[nodes.check]",
        &format!("[variables]\n{extra}\n\n[nodes.check]"),
    ))
}

#[test]
fn office_hours_follow_new_york_time_across_the_dst_change() {
    let plan = plan(PLAN);
    // Friday 2026-03-06, New York is UTC-5 (EST).
    assert_eq!(
        outcome_at(plan.clone(), "+1555", utc(2026, 3, 6, 13, 30)),
        "closed"
    ); // 08:30
    assert_eq!(
        outcome_at(plan.clone(), "+1555", utc(2026, 3, 6, 14, 0)),
        "open"
    ); // 09:00
    assert_eq!(
        outcome_at(plan.clone(), "+1555", utc(2026, 3, 6, 21, 30)),
        "open"
    ); // 16:30
    assert_eq!(
        outcome_at(plan.clone(), "+1555", utc(2026, 3, 6, 22, 0)),
        "closed"
    ); // 17:00
       // Clocks go forward on Sunday 2026-03-08; Monday is UTC-4 (EDT).
    assert_eq!(
        outcome_at(plan.clone(), "+1555", utc(2026, 3, 9, 13, 30)),
        "open"
    ); // 09:30
    assert_eq!(
        outcome_at(plan.clone(), "+1555", utc(2026, 3, 9, 12, 59)),
        "closed"
    ); // 08:59
    assert_eq!(
        outcome_at(plan.clone(), "+1555", utc(2026, 3, 9, 21, 30)),
        "closed"
    ); // 17:30
    assert_eq!(outcome_at(plan, "+1555", utc(2026, 3, 9, 20, 59)), "open"); // 16:59
}

#[test]
fn weekends_are_closed() {
    // Saturday 2026-03-07 12:00 local.
    assert_eq!(
        outcome_at(plan(PLAN), "+1555", utc(2026, 3, 7, 17, 0)),
        "closed"
    );
}

#[test]
fn time_range_wraps_midnight() {
    let plan = plan(PLAN);
    assert_eq!(
        outcome_at(plan.clone(), "+1555", utc(2026, 3, 7, 4, 0)),
        "night"
    ); // 23:00 Fri
    assert_eq!(
        outcome_at(plan.clone(), "+1555", utc(2026, 3, 7, 10, 59)),
        "night"
    ); // 05:59
    assert_eq!(outcome_at(plan, "+1555", utc(2026, 3, 7, 11, 0)), "closed"); // 06:00
}

#[test]
fn holidays_use_the_local_date() {
    let plan = plan(PLAN);
    // Friday 2026-12-25 10:00 local: a holiday during office hours.
    assert_eq!(
        outcome_at(plan.clone(), "+1555", utc(2026, 12, 25, 15, 0)),
        "holiday"
    );
    // 2026-12-25 03:00 UTC is still Christmas Eve (22:00) in New York.
    assert_eq!(
        outcome_at(plan.clone(), "+1555", utc(2026, 12, 25, 3, 0)),
        "night"
    );
    // Thursday 2026-12-24 10:00 local is an ordinary working day.
    assert_eq!(outcome_at(plan, "+1555", utc(2026, 12, 24, 15, 0)), "open");
}

#[test]
fn caller_prefix_matches_any_listed_prefix() {
    let plan = plan(PLAN);
    let saturday = utc(2026, 3, 7, 17, 0);
    assert_eq!(outcome_at(plan.clone(), "+442071234567", saturday), "uk");
    assert_eq!(outcome_at(plan.clone(), "00442071234567", saturday), "uk");
    assert_eq!(outcome_at(plan, "+4912345", saturday), "closed");
}

#[test]
fn variable_conditions_come_first_and_combine_with_and() {
    let saturday = utc(2026, 3, 7, 17, 0);
    assert_eq!(
        outcome_at(with_variables("vip = \"yes\""), "+44", saturday),
        "vip"
    );
    assert_eq!(
        outcome_at(with_variables("vip = \"no\""), "+1", saturday),
        "closed"
    );
    assert_eq!(
        outcome_at(with_variables("account = \"9123\""), "+1", saturday),
        "premium"
    );
    // matches holds but not_equals fails, so the entry does not match.
    assert_eq!(
        outcome_at(with_variables("account = \"999\""), "+1", saturday),
        "closed"
    );
    assert_eq!(
        outcome_at(with_variables("account = \"1123\""), "+1", saturday),
        "closed"
    );
}
