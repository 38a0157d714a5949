mod dialplan_common;

use dialplan_common::*;
use switchboard::dialplan::{Action, TimelineKind};

const PLAN: &str = r##"
[dialplan]
start = "account"

[nodes.account]
type = "collect"
prompts = ["account_prompt"]
variable = "account"
min_length = 4
max_length = 6
terminator = "#"
first_digit_timeout_secs = 7
inter_digit_timeout_secs = 3
pattern = "^[0-9]+$"
max_retries = 1
invalid_prompt = "account_invalid"
timeout_prompt = "no_input"
next = "done"
fallback = "failed"

[nodes.done]
type = "hangup"
outcome = "collected"

[nodes.failed]
type = "hangup"
outcome = "not_collected"
"##;

#[test]
fn terminator_ends_collection() {
    let (mut call, _) = Call::start(plan(PLAN));
    call.finish_playback();
    assert_eq!(call.session.poll_timeout(), Some(call.now + seconds(7)));
    call.press("1234");
    assert_eq!(call.session.poll_timeout(), Some(call.now + seconds(3)));
    let actions = call.press("#");
    assert_eq!(call.session.variables()["account"], "1234");
    assert!(has_log(&actions, TimelineKind::Variable));
    assert_eq!(call.session.outcome(), Some("collected"));
    assert_eq!(call.session.digits(), "1234#");
}

#[test]
fn max_length_ends_collection() {
    let (mut call, _) = Call::start(plan(PLAN));
    call.finish_playback();
    call.press("123456");
    assert_eq!(call.session.variables()["account"], "123456");
    assert_eq!(call.session.outcome(), Some("collected"));
}

#[test]
fn inter_digit_timeout_ends_collection_when_long_enough() {
    let (mut call, _) = Call::start(plan(PLAN));
    call.finish_playback();
    call.press("98765");
    call.expire();
    assert_eq!(call.session.variables()["account"], "98765");
    assert_eq!(call.session.outcome(), Some("collected"));
}

#[test]
fn inter_digit_timeout_with_too_few_digits_is_invalid() {
    let (mut call, _) = Call::start(plan(PLAN));
    call.finish_playback();
    call.press("12");
    let actions = call.expire();
    assert!(has_log(&actions, TimelineKind::InputInvalid));
    assert_eq!(
        played(&actions),
        strings(&["account_invalid", "account_prompt"])
    );
    assert!(!call.session.variables().contains_key("account"));
    // The retry starts from scratch.
    call.finish_playback();
    call.press("5555#");
    assert_eq!(call.session.variables()["account"], "5555");
}

#[test]
fn pattern_failure_is_invalid_and_exhausts_to_fallback() {
    let text = PLAN.replace("^[0-9]+$", "^9[0-9]*$");
    let (mut call, _) = Call::start(plan(&text));
    call.finish_playback();
    let actions = call.press("1234#");
    assert!(has_log(&actions, TimelineKind::InputInvalid));
    assert_eq!(
        played(&actions),
        strings(&["account_invalid", "account_prompt"])
    );
    call.finish_playback();
    let actions = call.press("1234#");
    assert_eq!(
        effects(&actions),
        vec![Action::Hangup {
            outcome: "not_collected".to_string()
        }]
    );
    assert!(!call.session.variables().contains_key("account"));
}

#[test]
fn no_digits_at_all_is_a_timeout() {
    let (mut call, _) = Call::start(plan(PLAN));
    call.finish_playback();
    let actions = call.expire();
    assert!(has_log(&actions, TimelineKind::InputTimeout));
    assert_eq!(played(&actions), strings(&["no_input", "account_prompt"]));
}

#[test]
fn barge_in_digit_is_the_first_digit() {
    let (mut call, _) = Call::start(plan(PLAN));
    let actions = call.press("4");
    assert_eq!(effects(&actions), vec![Action::StopPlayback]);
    call.press("321#");
    assert_eq!(call.session.variables()["account"], "4321");
}

#[test]
fn collection_without_terminator_treats_pound_as_a_digit() {
    let text = PLAN
        .replace("terminator = \"#\"", "terminator = \"\"")
        .replace("^[0-9]+$", "^[0-9#]+$");
    let (mut call, _) = Call::start(plan(&text));
    call.finish_playback();
    call.press("12#4");
    call.expire();
    assert_eq!(call.session.variables()["account"], "12#4");
}
