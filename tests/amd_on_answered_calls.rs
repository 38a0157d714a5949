//! Answering-machine detection on real answered calls: the trunk (SIPp)
//! answers and the test plays a recorded answer as the callee's RTP. A
//! person's "hello" gets the dialplan; a voicemail greeting is hung up on,
//! or, with a message dialplan, gets the message after its beep.

mod common;

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use switchboard::media::g711::Codec;
use switchboard::media::prompts::read_wav_as_telephone_audio;
use tokio::process::Command;

const PLANS: [(&str, &str); 2] = [
    (
        "notice.toml",
        r#"
[dialplan]
name = "notice"
start = "message"
[nodes.message]
type = "play"
prompts = ["welcome"]
next = "bye"
[nodes.bye]
type = "hangup"
outcome = "delivered"
"#,
    ),
    (
        "voicemail.toml",
        r#"
[dialplan]
name = "voicemail"
start = "message"
[nodes.message]
type = "play"
prompts = ["goodbye"]
next = "bye"
[nodes.bye]
type = "hangup"
outcome = "message_left"
"#,
    ),
];

/// Dials through a SIPp trunk whose callee "says" `fixture`; returns the
/// dial report and what the callee heard.
async fn call_answered_by(
    fixture: &str,
    machine_plan: Option<&str>,
) -> (serde_json::Value, Arc<CallerMedia>) {
    let callee = Arc::new(CallerMedia::bind().await);
    let (trunk, trunk_port) = trunk_answering_into(&callee);

    let plans = temp_dialplans(&PLANS);
    let (_config_dir, config) = campaign_config(trunk_port, "notice");
    let mut command = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    command
        .arg("--config")
        .arg(&config)
        .arg("--database")
        .arg(format!(
            "sqlite://{}",
            plans.path().join("calls.db").display()
        ))
        .args([
            "dial",
            "+12125550101",
            "--trunk",
            "main",
            "--dialplan",
            "notice",
            "--json",
            "--amd",
        ])
        .args(["--caller-id", "+12125550000", "--sip-listen", "127.0.0.1:0"])
        .arg("--dialplans")
        .arg(plans.path())
        .arg("--prompts")
        .arg(repo_root().join("prompts"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(plan) = machine_plan {
        command.args(["--machine-dialplan", plan]);
    }
    let dial = command.spawn().expect("run switchboard dial");

    // Once the engine's media reaches the callee, the callee answers with
    // the recorded greeting, then stays quiet (silence, as a line would).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while callee.packet_count() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no media from the engine after answer"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut audio =
        read_wav_as_telephone_audio(&repo_root().join("tests/fixtures/amd").join(fixture)).unwrap();
    audio.extend(std::iter::repeat_n(0i16, 8000 * 3));
    let talker = callee.clone();
    let speaking = tokio::spawn(async move { talker.send_audio(&audio, Codec::Pcmu).await });

    let output = tokio::time::timeout(Duration::from_secs(60), dial.wait_with_output())
        .await
        .expect("dial finishes")
        .expect("dial output");
    speaking.abort();
    drop(trunk);
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    (
        serde_json::from_str(stdout.trim()).expect("JSON report"),
        callee,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_gets_the_dialplan() {
    let (report, callee) = call_answered_by("human/h01_hello_us_m.wav", None).await;
    assert_eq!(report["amd"]["verdict"], "human", "{report}");
    assert_eq!(report["outcome"], "delivered", "{report}");
    let welcome = encoded_prompt("en", "welcome", Codec::Pcmu);
    assert!(callee
        .wait_for_prompt(&welcome, 0, Duration::from_secs(2))
        .await
        .is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_voicemail_greeting_is_hung_up_on() {
    let (report, callee) = call_answered_by("machine/m01_voicemail_john_us.wav", None).await;
    assert_eq!(report["amd"]["verdict"], "machine", "{report}");
    assert_eq!(report["outcome"], "machine");
    assert_eq!(report["hangup_by"], "engine");
    assert_eq!(report["hangup_cause"], "answering_machine");
    assert!(!report["amd"]["reasons"].as_array().unwrap().is_empty());
    let welcome = encoded_prompt("en", "welcome", Codec::Pcmu);
    assert!(
        callee
            .wait_for_prompt(&welcome, 0, Duration::from_millis(100))
            .await
            .is_none(),
        "a machine got the dialplan"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_is_left_after_the_beep() {
    let (report, callee) =
        call_answered_by("machine/m06_leave_msg_beep_us.wav", Some("voicemail")).await;
    assert_eq!(report["amd"]["verdict"], "machine", "{report}");
    assert_eq!(report["outcome"], "message_left", "{report}");
    let message = encoded_prompt("en", "goodbye", Codec::Pcmu);
    assert!(
        callee
            .wait_for_prompt(&message, 0, Duration::from_secs(2))
            .await
            .is_some(),
        "the message was not played"
    );
}
