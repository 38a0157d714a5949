mod dialplan_common;

use dialplan_common::*;
use switchboard::dialplan::{Action, Event, TransferTarget};

const PLAN: &str = r#"
[dialplan]
start = "agent"

[nodes.agent]
type = "transfer"
prompts = ["transfer_wait"]
target = "sip:support@127.0.0.1:5070"
on_failure = "unavailable"

[nodes.unavailable]
type = "hangup"
prompts = ["agents_unavailable"]
outcome = "no_agent"
"#;

#[test]
fn connected_transfer_finishes_as_transferred() {
    let (mut call, actions) = Call::start(plan(PLAN));
    assert_eq!(played(&actions), strings(&["transfer_wait"]));
    let actions = call.finish_playback();
    assert_eq!(
        effects(&actions),
        vec![Action::Transfer {
            target: TransferTarget::Sip("sip:support@127.0.0.1:5070".to_string())
        }]
    );
    let actions = call.send(Event::TransferResult {
        connected: true,
        reason: "answered".to_string(),
    });
    assert!(effects(&actions).is_empty());
    assert!(call.session.is_finished());
    assert_eq!(call.session.outcome(), Some("transferred"));
}

#[test]
fn failed_transfer_goes_to_on_failure() {
    let text = PLAN.replace(
        "target = \"sip:support@127.0.0.1:5070\"",
        "queue = \"support\"",
    );
    let (mut call, _) = Call::start(plan(&text));
    let actions = call.finish_playback();
    assert_eq!(
        effects(&actions),
        vec![Action::Transfer {
            target: TransferTarget::Queue("support".to_string())
        }]
    );
    let actions = call.send(Event::TransferResult {
        connected: false,
        reason: "busy".to_string(),
    });
    assert_eq!(played(&actions), strings(&["agents_unavailable"]));
    call.finish_playback();
    assert_eq!(call.session.outcome(), Some("no_agent"));
}
