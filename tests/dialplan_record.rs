mod dialplan_common;

use dialplan_common::*;
use switchboard::dialplan::{Action, CallInfo, Event, RecordingEndReason};

const PLAN: &str = r##"
[dialplan]
start = "report"

[nodes.report]
type = "record"
prompts = ["report_intro"]
beep = true
path = "recordings/${call_id}.wav"
max_seconds = 60
silence_seconds = 4
stop_digits = "#*"
next = "thanks"

[nodes.thanks]
type = "hangup"
prompts = ["report_thanks"]
"##;

#[test]
fn record_plays_intro_and_beep_then_records_until_stop_digit() {
    let (mut call, actions) = Call::start(plan(PLAN));
    assert_eq!(played(&actions), strings(&["report_intro", "beep"]));
    // Digits during the intro do nothing.
    assert!(effects(&call.press("#")).is_empty());
    let actions = call.finish_playback();
    assert_eq!(
        effects(&actions),
        vec![Action::StartRecording {
            path: "recordings/call-1.wav".to_string(),
            max_seconds: 60,
            silence_seconds: 4,
        }]
    );
    assert!(effects(&call.press("1")).is_empty());
    let actions = call.press("*");
    assert_eq!(effects(&actions), vec![Action::StopRecording]);
    let actions = call.send(Event::RecordingFinished {
        path: "recordings/call-1.wav".to_string(),
        duration_ms: 12_345,
        reason: RecordingEndReason::Digit,
    });
    assert_eq!(played(&actions), strings(&["report_thanks"]));
    assert_eq!(
        call.session.variables()["recording_path"],
        "recordings/call-1.wav"
    );
    assert_eq!(call.session.variables()["recording_duration_ms"], "12345");
}

#[test]
fn silence_end_reported_by_driver_moves_on() {
    let (mut call, _) = Call::start(plan(PLAN));
    call.finish_playback();
    let actions = call.send(Event::RecordingFinished {
        path: "recordings/call-1.wav".to_string(),
        duration_ms: 5000,
        reason: RecordingEndReason::Silence,
    });
    assert_eq!(played(&actions), strings(&["report_thanks"]));
}

#[test]
fn safety_deadline_stops_a_recording_the_driver_never_ends() {
    let (mut call, _) = Call::start(plan(PLAN));
    call.finish_playback();
    let started = call.now;
    assert_eq!(call.session.poll_timeout(), Some(started + seconds(65)));
    let actions = call.expire();
    assert_eq!(effects(&actions), vec![Action::StopRecording]);
    // The driver answers after the stop.
    let actions = call.send(Event::RecordingFinished {
        path: "recordings/call-1.wav".to_string(),
        duration_ms: 60_000,
        reason: RecordingEndReason::MaxLength,
    });
    assert_eq!(played(&actions), strings(&["report_thanks"]));
}

#[test]
fn silent_driver_after_stop_still_moves_on() {
    let (mut call, _) = Call::start(plan(PLAN));
    call.finish_playback();
    call.expire();
    let actions = call.expire();
    assert_eq!(played(&actions), strings(&["report_thanks"]));
    assert_eq!(call.session.variables()["recording_duration_ms"], "0");
}

#[test]
fn hangup_during_recording_finishes_the_call() {
    let (mut call, _) = Call::start(plan(PLAN));
    call.finish_playback();
    call.send(Event::RecordingFinished {
        path: "recordings/call-1.wav".to_string(),
        duration_ms: 3000,
        reason: RecordingEndReason::Hangup,
    });
    assert!(call.session.is_finished());
    assert_eq!(call.session.outcome(), Some("caller_hangup"));
    assert_eq!(call.session.variables()["recording_duration_ms"], "3000");
}

#[test]
fn recording_path_cannot_escape_the_recordings_folder() {
    let info = CallInfo {
        call_id: "../../etc/passwd".to_string(),
        ..call_info()
    };
    let (mut call, _) = Call::start_at(plan(PLAN), info, monday_morning_new_york());
    let actions = call.finish_playback();
    let Some(Action::StartRecording { path, .. }) = effects(&actions).into_iter().next() else {
        panic!("expected recording to start");
    };
    assert!(!path.contains(".."), "{path}");
    assert!(path.starts_with("recordings/"), "{path}");
    assert_eq!(path.matches('/').count(), 1, "{path}");
}
