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

const QUEUE_PLAN: &str = r#"
[dialplan]
start = "agent"

[nodes.agent]
type = "transfer"
queue = "support"
on_failure = "unavailable"
on_timeout = "voicemail"

[nodes.unavailable]
type = "hangup"
outcome = "no_agent"

[nodes.voicemail]
type = "hangup"
outcome = "voicemail"
"#;

#[test]
fn queue_outcomes_lead_to_their_nodes() {
    use switchboard::dialplan::QueueOutcome;
    let cases = [
        (
            QueueOutcome::Connected {
                agent: "alice".into(),
            },
            "agent",
        ),
        (QueueOutcome::TimedOut, "voicemail"),
        (QueueOutcome::Unavailable("nobody".into()), "no_agent"),
        // No on_callback node: the call ends saying why.
        (QueueOutcome::CallbackRequested, "callback_requested"),
    ];
    for (outcome, expected) in cases {
        let (mut call, actions) = Call::start(plan(QUEUE_PLAN));
        assert_eq!(
            effects(&actions),
            vec![Action::Transfer {
                target: TransferTarget::Queue("support".to_string())
            }]
        );
        call.send(Event::QueueResult(outcome.clone()));
        assert_eq!(call.session.outcome(), Some(expected), "{outcome:?}");
    }
    let (mut call, _) = Call::start(plan(QUEUE_PLAN));
    call.send(Event::QueueResult(QueueOutcome::Connected {
        agent: "alice".into(),
    }));
    assert_eq!(
        call.session.variables().get("agent").map(String::as_str),
        Some("alice")
    );
}

#[test]
fn queue_only_targets_are_refused_on_a_sip_transfer() {
    let text = PLAN.replace(
        "on_failure = \"unavailable\"",
        "on_failure = \"unavailable\"\non_timeout = \"unavailable\"",
    );
    let errors = switchboard::dialplan::parse_and_validate("plan.toml", &text, &EveryPrompt)
        .expect_err("refused");
    assert!(
        errors
            .iter()
            .any(|e| e.to_string().contains("only apply to a queue")),
        "{errors:?}"
    );
}
