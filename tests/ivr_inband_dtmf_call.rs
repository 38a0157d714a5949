//! A caller whose phone offers no telephone-event: the engine hears the
//! keypresses as in-band tones (Goertzel) and the caller navigates the
//! Spanish side of the demo.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use switchboard::media::g711::Codec;

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inband_tones_navigate_the_spanish_menu() {
    let engine = Engine::start().await;
    let media = Arc::new(CallerMedia::bind().await);
    let sipp = Sipp::spawn(
        engine.sip,
        "uac_wait_for_bye_inband.xml",
        "100",
        &[("rtp_port", media.port.to_string())],
    );
    let english = |name: &str| encoded_prompt("en", name, Codec::Pcmu);
    let spanish = |name: &str| encoded_prompt("es", name, Codec::Pcmu);

    let mut at = media
        .wait_for_prompt(&english("welcome"), 0, WAIT)
        .await
        .expect("welcome");
    at = media
        .wait_for_prompt(&english("language_menu"), at, WAIT)
        .await
        .expect("language menu");
    media.send_inband_digit('2', Codec::Pcmu).await; // español
    at = media
        .wait_for_prompt(&spanish("main_menu"), at, WAIT)
        .await
        .expect("Spanish main menu");
    media.send_inband_digit('0', Codec::Pcmu).await;
    at = media
        .wait_for_prompt(&spanish("survey"), at, WAIT)
        .await
        .expect("Spanish survey");
    media.send_inband_digit('4', Codec::Pcmu).await;
    media
        .wait_for_prompt(&spanish("goodbye"), at, WAIT)
        .await
        .expect("Spanish goodbye");

    assert_sipp_passes(sipp, &engine).await;
    let calls = engine.ended_calls(1).await;
    let call = &calls[0];
    assert_eq!(call.digits, "204");
    assert_eq!(variables_of(call)["language"], "es");
    assert_eq!(variables_of(call)["survey_score"], "4");
    assert_eq!(call.outcome.as_deref(), Some("completed"));
}
