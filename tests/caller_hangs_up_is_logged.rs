//! A caller who hangs up mid-menu (BYE) ends the call cleanly, over UDP and
//! over TCP, and the log says who hung up.

mod common;

use common::*;

async fn caller_hangs_up(transport: &[&str]) {
    let engine = Engine::start().await;
    // The caller hangs up 3 s after the answer.
    let mut args = vec!["-d", "3000"];
    args.extend_from_slice(transport);
    let sipp = Sipp::spawn_with(
        engine.sip,
        "uac_caller_hangs_up.xml",
        "100",
        &[("rtp_port", free_udp_port().to_string())],
        &args,
    );
    assert_sipp_passes(sipp, &engine).await;
    let calls = engine.ended_calls(1).await;
    let call = &calls[0];
    assert_eq!(call.hangup_by.as_deref(), Some("caller"));
    assert_eq!(call.hangup_cause.as_deref(), Some("BYE"));
    assert_eq!(call.outcome.as_deref(), Some("caller_hangup"));
    assert_eq!(path_of(call).first().map(String::as_str), Some("welcome"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_bye_over_udp() {
    caller_hangs_up(&[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_bye_over_tcp() {
    caller_hangs_up(&["-t", "t1"]).await;
}
