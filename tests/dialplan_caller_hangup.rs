mod dialplan_common;

use dialplan_common::*;
use switchboard::dialplan::{Action, Event, TimelineKind};

const PLAN: &str = r#"
[dialplan]
start = "main"

[nodes.main]
type = "menu"
prompts = ["main_menu"]
choices = { "1" = "bye" }
fallback = "bye"

[nodes.bye]
type = "hangup"
"#;

#[test]
fn caller_hangup_mid_menu_finishes_the_call() {
    let (mut call, _) = Call::start(plan(PLAN));
    call.finish_playback();
    let actions = call.send(Event::CallerHangup);
    assert_eq!(actions.len(), 1);
    assert!(matches!(&actions[0], Action::Log(entry) if entry.kind == TimelineKind::Hangup));
    assert!(call.session.is_finished());
    assert_eq!(call.session.outcome(), Some("caller_hangup"));
    assert_eq!(call.session.poll_timeout(), None);

    // Nothing happens after the caller is gone.
    assert!(call.press("1").is_empty());
    assert!(call.finish_playback().is_empty());
    call.session.handle_timeout(call.now + seconds(3600));
    assert!(call.drain().is_empty());
    assert_eq!(call.session.outcome(), Some("caller_hangup"));
}

#[test]
fn menu_without_prompts_waits_at_once_and_hangup_without_prompts_is_immediate() {
    let text = PLAN.replace("prompts = [\"main_menu\"]\n", "");
    let (mut call, actions) = Call::start(plan(&text));
    assert!(played(&actions).is_empty());
    assert!(call.session.poll_timeout().is_some());
    let actions = call.press("1");
    assert_eq!(
        effects(&actions),
        vec![Action::Hangup {
            outcome: "completed".to_string()
        }]
    );
    assert_eq!(call.session.outcome(), Some("completed"));
}
