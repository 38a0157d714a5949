//! Delayed offer (RFC 3261 §13.2.1): an INVITE without SDP gets our offer in
//! the 200 and the caller's answer comes in the ACK; the caller then hears
//! the hotline. An ACK without an answer ends the call with a BYE.

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answer_in_the_ack_sets_up_media() {
    let engine = Engine::start().await;
    let (_media, sipp, _) = call_until_welcome(&engine, "uac_delayed_offer.xml").await;
    assert_sipp_passes(sipp, &engine).await;
    let calls = engine.ended_calls(1).await;
    assert_eq!(calls[0].hangup_by.as_deref(), Some("caller"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ack_without_an_answer_is_hung_up() {
    let engine = Engine::start().await;
    let sipp = Sipp::spawn(
        engine.sip,
        "uac_delayed_offer_no_answer.xml",
        "100",
        &[("rtp_port", free_udp_port().to_string())],
    );
    assert_sipp_passes(sipp, &engine).await;
    let calls = engine.ended_calls(1).await;
    assert_eq!(calls[0].hangup_by.as_deref(), Some("engine"));
    let cause = calls[0].hangup_cause.clone().unwrap_or_default();
    assert!(cause.starts_with("no SDP answer in ACK"), "{cause}");
}
