//! Calls the engine places through a SIP trunk (SIPp plays the trunk): an
//! answered call runs its dialplan and the callee hears it; busy, ring
//! timeout (CANCEL) and a digest challenge each end the right way.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use switchboard::media::g711::Codec;
use tokio::process::Command;

const PLAN: &str = r#"
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
"#;

/// A SIPp trunk in server mode on a free port.
fn trunk(scenario_file: &str, rtp_port: u16) -> (Sipp, u16) {
    let (child, port) = sipp_server(
        scenario_file,
        &[("rtp_port", rtp_port.to_string())],
        &["-m", "1", "-timeout", "60s", "-timeout_error"],
        None,
    );
    (Sipp::from_child(child, port), port)
}

struct Dial {
    json: serde_json::Value,
    output: String,
}

/// Runs `switchboard dial` against the trunk and returns its JSON report.
async fn dial(trunk_port: u16, extra_trunk_config: &str, ring_timeout: u64) -> Dial {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("plans")).unwrap();
    std::fs::write(dir.path().join("plans/notice.toml"), PLAN).unwrap();
    let config = dir.path().join("switchboard.toml");
    std::fs::write(
        &config,
        format!(
            "[routes]\n\"100\" = \"notice\"\n\n[[trunks]]\nname = \"test\"\nuri = \"sip:127.0.0.1:{trunk_port}\"\ncaller_id = \"+15550001111\"\n{extra_trunk_config}"
        ),
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("--config")
        .arg(&config)
        .arg("--database")
        .arg(format!(
            "sqlite://{}",
            dir.path().join("calls.db").display()
        ))
        .args([
            "dial",
            "+15557654321",
            "--trunk",
            "test",
            "--dialplan",
            "notice",
            "--json",
        ])
        .args([
            "--sip-listen",
            "127.0.0.1:0",
            "--ring-timeout",
            &ring_timeout.to_string(),
        ])
        .arg("--dialplans")
        .arg(dir.path().join("plans"))
        .arg("--prompts")
        .arg(repo_root().join("prompts"))
        .env("RUST_LOG", "info,rsipstack=warn")
        .output();
    let output = tokio::time::timeout(Duration::from_secs(60), output)
        .await
        .expect("dial finishes")
        .expect("run switchboard dial");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let text = format!("{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{text}");
    let json = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {text}"));
    Dial { json, output: text }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answered_call_runs_the_dialplan_and_the_callee_hears_it() {
    let callee = Arc::new(CallerMedia::bind().await);
    let (sipp, port) = trunk("uas_trunk_answers.xml", callee.port);
    let result = dial(port, "", 25).await;
    assert_eq!(result.json["answered"], true, "{}", result.output);
    assert_eq!(result.json["final_status"], 200);
    assert_eq!(result.json["outcome"], "delivered");
    assert_eq!(result.json["hangup_by"], "engine");
    let welcome = encoded_prompt("en", "welcome", Codec::Pcmu);
    assert!(
        callee
            .wait_for_prompt(&welcome, 0, Duration::from_secs(5))
            .await
            .is_some(),
        "the callee did not hear the message"
    );
    let outcome = sipp.finish(Duration::from_secs(30)).await;
    assert!(outcome.success, "{}", outcome.output);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_callee_is_busy() {
    let (sipp, port) = trunk("uas_trunk_busy.xml", free_udp_port());
    let result = dial(port, "", 25).await;
    assert_eq!(result.json["answered"], false, "{}", result.output);
    assert_eq!(result.json["final_status"], 486);
    assert_eq!(result.json["outcome"], "busy");
    let outcome = sipp.finish(Duration::from_secs(30)).await;
    assert!(outcome.success, "{}", outcome.output);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ring_timeout_cancels() {
    let (sipp, port) = trunk("uas_trunk_rings_forever.xml", free_udp_port());
    let result = dial(port, "", 2).await;
    assert_eq!(result.json["answered"], false, "{}", result.output);
    assert_eq!(result.json["final_status"], 487);
    assert_eq!(result.json["outcome"], "no_answer");
    assert_eq!(result.json["hangup_cause"], "ring_timeout");
    let outcome = sipp.finish(Duration::from_secs(30)).await;
    assert!(
        outcome.success,
        "the trunk never saw our CANCEL:\n{}",
        outcome.output
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digest_challenge_is_answered_with_the_trunk_credentials() {
    let callee = Arc::new(CallerMedia::bind().await);
    let (sipp, port) = trunk("uas_trunk_digest.xml", callee.port);
    let result = dial(
        port,
        "username = \"switchboard\"\npassword = \"s3cret\"\n",
        25,
    )
    .await;
    assert_eq!(result.json["answered"], true, "{}", result.output);
    assert_eq!(result.json["outcome"], "delivered");
    let outcome = sipp.finish(Duration::from_secs(30)).await;
    assert!(outcome.success, "{}", outcome.output);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_refused() {
    let (sipp, port) = trunk("uas_trunk_digest.xml", free_udp_port());
    let result = dial(
        port,
        "username = \"switchboard\"\npassword = \"wrong\"\n",
        25,
    )
    .await;
    assert_eq!(result.json["answered"], false, "{}", result.output);
    assert_eq!(result.json["final_status"], 403);
    assert_eq!(result.json["outcome"], "rejected");
    let outcome = sipp.finish(Duration::from_secs(30)).await;
    assert!(outcome.success, "{}", outcome.output);
}
