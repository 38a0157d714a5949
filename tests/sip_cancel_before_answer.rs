//! A caller who hangs up while the engine is still ringing gets 200 for the
//! CANCEL and 487 for the INVITE, and the call is logged as cancelled.

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_while_ringing_gets_487_and_is_logged() {
    // The engine would answer only after 30 s: the CANCEL, sent as soon as
    // the caller hears ringing, must win however slowly this machine runs.
    // (A cancelled call ends at once; nothing waits for the delay.)
    let engine = Engine::start_with(EngineOptions {
        extra_args: vec!["--answer-delay-ms".into(), "30000".into()],
        ..EngineOptions::default()
    })
    .await;
    let sipp = Sipp::spawn(
        engine.sip,
        "uac_cancel.xml",
        "100",
        &[("rtp_port", free_udp_port().to_string())],
    );
    assert_sipp_passes(sipp, &engine).await;

    let calls = engine.ended_calls(1).await;
    let call = &calls[0];
    assert_eq!(call.state, "ended");
    assert_eq!(call.hangup_by.as_deref(), Some("caller"));
    assert_eq!(call.hangup_cause.as_deref(), Some("CANCEL"));
    assert_eq!(call.sip_status, Some(487));
    assert_eq!(call.outcome.as_deref(), Some("cancelled"));
    assert!(call.answered_at.is_none());
}
