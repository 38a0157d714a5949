//! A caller whose media stops (no RTP at all here) is hung up after the
//! configured media timeout, set through the TOML config file.

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_caller_is_hung_up_after_the_media_timeout() {
    let config_dir = tempfile::tempdir().unwrap();
    let config = config_dir.path().join("switchboard.toml");
    std::fs::write(&config, "[rtp]\nmedia_timeout_secs = 2\n").unwrap();
    let engine = Engine::start_with(EngineOptions {
        extra_args: vec![],
        config: Some(config),
        ..EngineOptions::default()
    })
    .await;
    // The caller never sends RTP to the engine.
    let sipp = Sipp::spawn(
        engine.sip,
        "uac_wait_for_bye.xml",
        "100",
        &[("rtp_port", free_udp_port().to_string())],
    );
    assert_sipp_passes(sipp, &engine).await;
    let calls = engine.ended_calls(1).await;
    assert_eq!(calls[0].hangup_by.as_deref(), Some("engine"));
    assert_eq!(calls[0].hangup_cause.as_deref(), Some("media_timeout"));
    let duration = calls[0].duration_ms.unwrap_or(0);
    assert!(
        (1_900..10_000).contains(&duration),
        "hung up after {duration} ms"
    );
}
