//! Proves the caller really hears the prompt: the RTP the engine sends is
//! captured on the caller's media socket, decoded, and compared with the
//! prompt's own samples; the RTP headers follow RFC 3550.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use switchboard::media::g711::{decode_into, Codec};
use switchboard::media::prompts::PromptLibrary;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_audio_is_the_welcome_prompt() {
    let engine = Engine::start().await;
    let media = Arc::new(CallerMedia::bind().await);
    // The caller stays 10 s: the test needs the whole welcome (about 2.5 s)
    // before the BYE, and a busy machine may start it late.
    let sipp = Sipp::spawn_with(
        engine.sip,
        "uac_caller_hangs_up.xml",
        "100",
        &[("rtp_port", media.port.to_string())],
        &["-d", "10000"],
    );

    let library = PromptLibrary::new(repo_root().join("prompts"));
    let welcome = library.get("en", "welcome").expect("welcome prompt");
    let encoded = welcome.encoded(Codec::Pcmu).to_vec();
    let start = media
        .wait_for_prompt(&encoded, 0, Duration::from_secs(20))
        .await
        .unwrap_or_else(|| panic!("welcome never heard; log:\n{}", engine.log_text()));
    // Wait until the whole prompt has arrived (it lasts about 2.5 s).
    assert!(
        media
            .wait_until_played(start, encoded.len(), Duration::from_secs(20))
            .await,
        "prompt cut short"
    );
    let audio = media.audio_bytes();

    // Decode what the caller received and compare with the prompt's samples.
    let mut heard = Vec::new();
    decode_into(
        Codec::Pcmu,
        &audio[start..start + encoded.len()],
        &mut heard,
    );
    assert_eq!(heard.len(), welcome.samples.len());
    let signal: f64 = welcome.samples.iter().map(|&s| f64::from(s).powi(2)).sum();
    let error: f64 = welcome
        .samples
        .iter()
        .zip(&heard)
        .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
        .sum();
    let snr_db = 10.0 * (signal / error.max(1.0)).log10();
    // G.711 quantisation gives about 35-38 dB on speech; anything else (other
    // audio, silence, a shifted stream) would be near or below 0 dB.
    assert!(
        snr_db > 30.0,
        "decoded audio differs from the prompt: SNR {snr_db:.1} dB"
    );
    assert!(
        signal / welcome.samples.len() as f64 > 1000.0,
        "the prompt is not silence"
    );

    // RTP headers: one SSRC, consecutive sequence numbers, timestamps in 160-sample
    // steps, payload type 0 (PCMU), marker on the first packet of the prompt.
    let packets = media.received.lock().unwrap().clone();
    assert!(packets.len() > 100);
    let ssrc = packets[0].ssrc;
    for pair in packets.windows(2) {
        assert_eq!(pair[1].ssrc, ssrc);
        assert_eq!(pair[1].payload_type, 0);
        assert_eq!(pair[1].sequence, pair[0].sequence.wrapping_add(1));
        assert_eq!(pair[1].timestamp, pair[0].timestamp.wrapping_add(160));
        assert_eq!(pair[1].payload.len(), 160);
    }
    let first_prompt_packet = start / 160;
    assert_eq!(start % 160, 0, "the prompt starts on a packet boundary");
    assert!(
        packets[first_prompt_packet].marker,
        "marker bit on the prompt's first packet"
    );

    assert_sipp_passes(sipp, &engine).await;
}

/// A stream still flowing to the engine's RTP port (left over from an earlier
/// call on that port, or forged) must not take the next call's audio: the
/// engine answers the address the caller's SDP names once it hears from it.
/// Before the engine learnt sources this way, the stray stream arrived first,
/// was latched, and the caller heard nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stray_stream_on_the_rtp_port_does_not_take_the_call() {
    // One RTP port, so the test knows which one to spray.
    let port = loop {
        let port = free_udp_port();
        if port.is_multiple_of(2) && port < u16::MAX {
            break port;
        }
    };
    let engine = Engine::start_with(EngineOptions {
        extra_args: vec!["--rtp-ports".into(), format!("{port}-{}", port + 1)],
        ..EngineOptions::default()
    })
    .await;

    let stray = std::sync::Arc::new(CallerMedia::bind().await);
    let target: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let sprayer = stray.stream_silence_to(Some(target), Codec::Pcmu, Duration::from_secs(40));
    // The stray stream is flowing before the call starts.
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The caller sends from the address its SDP names from the start, as a
    // phone does.
    let media = Arc::new(CallerMedia::bind().await);
    let talking = media.stream_silence_to(Some(target), Codec::Pcmu, Duration::from_secs(40));
    // The caller stays 10 s: time enough to hear the welcome start even on
    // a busy machine.
    let sipp = Sipp::spawn_with(
        engine.sip,
        "uac_caller_hangs_up.xml",
        "100",
        &[("rtp_port", media.port.to_string())],
        &["-d", "10000"],
    );
    let welcome = encoded_prompt("en", "welcome", Codec::Pcmu);
    let heard = media
        .wait_for_prompt(&welcome, 0, Duration::from_secs(20))
        .await;
    sprayer.abort();
    talking.abort();
    assert!(
        heard.is_some(),
        "the caller never heard the welcome; the stray source got {} packets; log:\n{}",
        stray.packet_count(),
        engine.log_text()
    );
    // The stray stream can be heard first and pass probation before the
    // caller's first packet is read; from then on the caller's address wins.
    // So the stray source gets a packet or two at most, never the call.
    assert!(
        stray.packet_count() <= 5,
        "the engine answered the stray stream: {} packets",
        stray.packet_count()
    );
    assert_sipp_passes(sipp, &engine).await;
}
