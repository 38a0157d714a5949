//! Calls the engine cannot take are refused with the right status and nothing
//! else happens: 404 for a number with no dialplan, 488 when no codec is shared.

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_number_gets_404() {
    let engine = Engine::start().await;
    let sipp = Sipp::spawn(
        engine.sip,
        "uac_expect_404.xml",
        "5550000",
        &[("rtp_port", free_udp_port().to_string())],
    );
    assert_sipp_passes(sipp, &engine).await;
    // Refused before any dialog: no call row.
    assert!(engine
        .store()
        .await
        .recent_calls(10)
        .await
        .unwrap()
        .is_empty());
    assert!(engine.log_text().contains("INVITE refused"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offer_without_a_common_codec_gets_488() {
    let engine = Engine::start().await;
    let sipp = Sipp::spawn(
        engine.sip,
        "uac_g729_only_488.xml",
        "100",
        &[("rtp_port", free_udp_port().to_string())],
    );
    assert_sipp_passes(sipp, &engine).await;
    assert!(
        engine.log_text().contains("no codec in common"),
        "{}",
        engine.log_text()
    );
}
