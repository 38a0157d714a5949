mod dialplan_common;

use std::collections::BTreeMap;

use dialplan_common::*;
use switchboard::dialplan::{Action, Event, TimelineKind};

const PLAN: &str = r#"
[dialplan]
start = "lookup"

[variables]
account = "12 34/5"

[nodes.lookup]
type = "http"
method = "GET"
url = "http://127.0.0.1:8089/accounts/${account}?caller=${caller}"
timeout_ms = 2000
result_prefix = "account_"
next = "found"
on_error = "failed"

[nodes.found]
type = "hangup"
outcome = "found"

[nodes.failed]
type = "hangup"
outcome = "failed"
"#;

#[test]
fn get_request_has_url_encoded_values() {
    let (call, actions) = Call::start(plan(PLAN));
    assert_eq!(
        effects(&actions),
        vec![Action::HttpRequest {
            method: "GET".to_string(),
            url: "http://127.0.0.1:8089/accounts/12%2034%2F5?caller=%2B15551234567".to_string(),
            body: None,
            timeout_ms: 2000,
        }]
    );
    assert!(call.session.poll_timeout().is_some());
}

#[test]
fn ok_response_sets_prefixed_variables() {
    let (mut call, _) = Call::start(plan(PLAN));
    let mut fields = BTreeMap::new();
    fields.insert("balance".to_string(), "125".to_string());
    fields.insert("name".to_string(), "Ada".to_string());
    let actions = call.send(Event::HttpResponse(Ok(fields)));
    assert!(has_log(&actions, TimelineKind::Http));
    assert_eq!(call.session.variables()["account_balance"], "125");
    assert_eq!(call.session.variables()["account_name"], "Ada");
    assert_eq!(call.session.outcome(), Some("found"));
}

#[test]
fn error_response_goes_to_on_error() {
    let (mut call, _) = Call::start(plan(PLAN));
    let actions = call.send(Event::HttpResponse(Err("status 404".to_string())));
    assert!(logs(&actions)
        .iter()
        .any(|entry| entry.kind == TimelineKind::Http && entry.detail.contains("status 404")));
    assert_eq!(call.session.outcome(), Some("failed"));
}

#[test]
fn missing_response_times_out_to_on_error() {
    let (mut call, _) = Call::start(plan(PLAN));
    let started = call.now;
    let deadline = call.session.poll_timeout().expect("deadline");
    assert!(deadline > started + chrono::Duration::milliseconds(2000));
    call.expire();
    assert_eq!(call.session.outcome(), Some("failed"));
    // A late response changes nothing.
    assert!(call
        .send(Event::HttpResponse(Ok(BTreeMap::new())))
        .is_empty());
}

#[test]
fn post_sends_all_variables_as_json() {
    let text = PLAN.replace("method = \"GET\"", "method = \"POST\"");
    let (_call, actions) = Call::start(plan(&text));
    let Some(Action::HttpRequest { method, body, .. }) = effects(&actions).into_iter().next()
    else {
        panic!("expected an HTTP request");
    };
    assert_eq!(method, "POST");
    let body: serde_json::Value = serde_json::from_str(&body.expect("body")).expect("json");
    assert_eq!(body["account"], "12 34/5");
    assert_eq!(body["caller"], "+15551234567");
}
