//! In-call SIP: a digit sent as SIP INFO (application/dtmf-relay) drives the
//! menu; a re-INVITE with a=sendonly puts the call on hold (we answer
//! recvonly and stop sending), another resumes it, and the call goes on.

mod common;

use std::time::Duration;

use common::*;
use switchboard::media::g711::Codec;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_digit_hold_and_resume_keep_the_call() {
    let engine = Engine::start().await;
    let (media, sipp, _) = call_until_welcome(&engine, "uac_hold_and_info.xml").await;

    let _keepalive = media.stream_silence(Codec::Pcmu, Duration::from_secs(30));
    assert_sipp_passes(sipp, &engine).await;

    let calls = engine.ended_calls(1).await;
    let call = &calls[0];
    assert_eq!(call.digits, "2", "the INFO digit chose Spanish");
    assert_eq!(variables_of(call)["language"], "es");
    assert!(path_of(call).contains(&"main_menu".to_string()));
    assert_eq!(call.hangup_by.as_deref(), Some("caller"));
    let events = engine.events(&call.id).await;
    let holds: Vec<&str> = events
        .iter()
        .filter(|e| e.kind == "hold")
        .map(|e| e.detail.as_str())
        .collect();
    assert_eq!(holds, ["on hold", "resumed"]);
    // After the digit, the Spanish main menu played.
    let spanish_menu = encoded_prompt("es", "main_menu", Codec::Pcmu);
    assert!(media
        .wait_for_prompt(&spanish_menu, 0, Duration::from_secs(1))
        .await
        .is_some());

    // While on hold (about 2 s) the engine sent nothing: a gap in arrivals.
    let packets = media.received.lock().unwrap().clone();
    let longest_gap = packets
        .windows(2)
        .map(|pair| pair[1].arrived.duration_since(pair[0].arrived))
        .max()
        .unwrap();
    assert!(
        longest_gap >= Duration::from_millis(1500),
        "no pause in RTP during hold: {longest_gap:?}"
    );
}
