mod dialplan_common;

use dialplan_common::*;
use switchboard::dialplan::{Action, TimelineKind};

const MENU_PLAN: &str = r#"
[dialplan]
start = "main"

[nodes.main]
type = "menu"
prompts = ["main_menu"]
choices = { "1" = "info", "2" = "bye" }
timeout_secs = 5
max_retries = 2
invalid_prompt = "invalid"
timeout_prompt = "no_input"
fallback = "fallback_bye"

[nodes.info]
type = "play"
prompts = ["info"]
next = "main"

[nodes.bye]
type = "hangup"
prompts = ["goodbye"]

[nodes.fallback_bye]
type = "hangup"
outcome = "no_choice"
"#;

#[test]
fn path_through_menus() {
    let (mut call, actions) = Call::start(plan(MENU_PLAN));
    assert_eq!(played(&actions), strings(&["main_menu"]));
    assert_eq!(
        call.session.poll_timeout(),
        None,
        "no input timeout while the prompt plays"
    );

    let actions = call.finish_playback();
    assert!(effects(&actions).is_empty());
    assert_eq!(call.session.poll_timeout(), Some(call.now + seconds(5)));

    let actions = call.press("1");
    assert_eq!(played(&actions), strings(&["info"]));
    assert_eq!(call.session.current_node(), "info");

    let actions = call.finish_playback();
    assert_eq!(played(&actions), strings(&["main_menu"]));
    call.finish_playback();
    let actions = call.press("2");
    assert_eq!(played(&actions), strings(&["goodbye"]));
    let actions = call.finish_playback();
    assert_eq!(
        effects(&actions),
        vec![Action::Hangup {
            outcome: "completed".to_string()
        }]
    );
    assert!(call.session.is_finished());
    assert_eq!(call.session.outcome(), Some("completed"));
    assert_eq!(
        call.session.path(),
        strings(&["main", "info", "main", "bye"]).as_slice()
    );
    assert_eq!(call.session.digits(), "12");
}

#[test]
fn every_node_entry_is_logged() {
    let (_call, actions) = Call::start(plan(MENU_PLAN));
    let entries = logs(&actions);
    assert_eq!(entries[0].kind, TimelineKind::Node);
    assert_eq!(entries[0].node, "main");
    assert_eq!(entries[0].kind.as_str(), "node");
}

#[test]
fn invalid_choice_plays_invalid_prompt_then_menu() {
    let (mut call, _) = Call::start(plan(MENU_PLAN));
    call.finish_playback();
    let actions = call.press("7");
    assert!(has_log(&actions, TimelineKind::InputInvalid));
    assert_eq!(played(&actions), strings(&["invalid", "main_menu"]));
    assert_eq!(call.session.current_node(), "main");
}

#[test]
fn timeout_plays_timeout_prompt_then_menu() {
    let (mut call, _) = Call::start(plan(MENU_PLAN));
    call.finish_playback();
    let actions = call.expire();
    assert!(has_log(&actions, TimelineKind::InputTimeout));
    assert_eq!(played(&actions), strings(&["no_input", "main_menu"]));
    assert_eq!(call.session.poll_timeout(), None);
}

#[test]
fn retries_exhausted_go_to_fallback() {
    let (mut call, _) = Call::start(plan(MENU_PLAN));
    call.finish_playback();
    // max_retries = 2: two repeats, the third failure goes to the fallback.
    let actions = call.press("9");
    assert_eq!(played(&actions), strings(&["invalid", "main_menu"]));
    call.finish_playback();
    let actions = call.expire();
    assert_eq!(played(&actions), strings(&["no_input", "main_menu"]));
    call.finish_playback();
    let actions = call.press("8");
    assert_eq!(
        effects(&actions),
        vec![Action::Hangup {
            outcome: "no_choice".to_string()
        }]
    );
    assert_eq!(call.session.outcome(), Some("no_choice"));
    assert_eq!(
        call.session.path(),
        strings(&["main", "fallback_bye"]).as_slice()
    );
}

#[test]
fn retry_counter_resets_when_the_menu_is_entered_again() {
    let (mut call, _) = Call::start(plan(MENU_PLAN));
    call.finish_playback();
    call.press("9");
    call.finish_playback();
    call.press("9");
    call.finish_playback();
    call.press("1"); // info, then back to the menu
    call.finish_playback();
    call.finish_playback();
    let actions = call.press("9");
    assert_eq!(played(&actions), strings(&["invalid", "main_menu"]));
}

#[test]
fn barge_in_stops_playback_and_takes_the_digit() {
    let (mut call, _) = Call::start(plan(MENU_PLAN));
    let actions = call.press("1");
    let effects = effects(&actions);
    assert_eq!(effects[0], Action::StopPlayback);
    assert_eq!(played(&actions), strings(&["info"]));
    assert_eq!(call.session.current_node(), "info");
}

#[test]
fn digits_during_non_barge_in_prompt_are_ignored_but_kept() {
    let text = MENU_PLAN.replace("timeout_secs = 5", "timeout_secs = 5\nbarge_in = false");
    let (mut call, _) = Call::start(plan(&text));
    let actions = call.press("1");
    assert!(effects(&actions).is_empty());
    assert!(has_log(&actions, TimelineKind::Digit));
    assert_eq!(call.session.current_node(), "main");
    assert_eq!(call.session.digits(), "1");
    call.finish_playback();
    call.press("1");
    assert_eq!(call.session.current_node(), "info");
    assert_eq!(call.session.digits(), "11");
}

#[test]
fn early_timeout_call_is_harmless() {
    let (mut call, _) = Call::start(plan(MENU_PLAN));
    call.finish_playback();
    let deadline = call.session.poll_timeout().expect("deadline");
    call.session.handle_timeout(deadline - seconds(1));
    assert!(call.drain().is_empty());
    assert_eq!(call.session.poll_timeout(), Some(deadline));
}

#[test]
fn non_dtmf_characters_are_ignored() {
    let (mut call, _) = Call::start(plan(MENU_PLAN));
    call.finish_playback();
    let actions = call.press("x");
    assert!(effects(&actions).is_empty());
    assert_eq!(call.session.digits(), "");
}

#[test]
fn zero_retries_goes_straight_to_fallback() {
    let text = MENU_PLAN.replace("max_retries = 2", "max_retries = 0");
    let (mut call, _) = Call::start(plan(&text));
    call.finish_playback();
    call.expire();
    assert_eq!(call.session.outcome(), Some("no_choice"));
}

#[test]
fn barge_in_on_a_play_node_skips_the_prompt() {
    let text = r#"
[dialplan]
start = "intro"

[nodes.intro]
type = "play"
prompts = ["welcome"]
barge_in = true
next = "bye"

[nodes.bye]
type = "hangup"
outcome = "skipped"
"#;
    let (mut call, _) = Call::start(plan(text));
    let actions = call.press("5");
    assert_eq!(
        effects(&actions),
        vec![
            Action::StopPlayback,
            Action::Hangup {
                outcome: "skipped".to_string()
            }
        ]
    );
}

#[test]
fn stray_playback_finished_after_barge_in_changes_nothing() {
    let (mut call, _) = Call::start(plan(MENU_PLAN));
    call.press("9"); // barge-in, invalid: replays with the invalid prompt
    call.finish_playback();
    let deadline = call.session.poll_timeout();
    assert!(effects(&call.finish_playback()).is_empty());
    assert_eq!(call.session.poll_timeout(), deadline);
}
