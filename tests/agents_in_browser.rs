//! Browser agents: the agent page served by the engine, in real headless
//! Chromium with a fake microphone, takes a hotline call from a SIPp caller.
//! - the page logs in and the agent becomes available;
//! - the call is offered with the caller's data on screen (screen pop);
//! - audio flows both ways over WebRTC (the page's microphone tone reaches
//!   the caller; the caller's tone reaches the page);
//! - the agent hangs up, sets a disposition, and wrap-up ends;
//! - closing the page logs the agent out.
//!
//! And without a browser: the page's socket refuses wrong passwords and
//! unknown agents alike, and refuses other sites' pages.

#[path = "common/browser.rs"]
mod browser;
mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use browser::{by_id, Browser};
use common::*;
use futures_util::{SinkExt, StreamExt};
use switchboard::media::g711::{self, Codec};
use tokio_tungstenite::tungstenite::Message;

const PASSWORD: &str = "carol-password";
/// What the agent's fake microphone plays.
const AGENT_TONE: f64 = 1100.0;
/// What the caller says.
const CALLER_TONE: f64 = 1700.0;

/// The agent's config. The test answers and fills in forms through
/// DevTools, which can be slow on a busy machine: the page rings for a
/// minute and wrap-up lasts two, so neither runs out under the test.
fn config(dir: &Path) -> PathBuf {
    let path = dir.join("switchboard.toml");
    std::fs::write(
        &path,
        format!(
            "[[agents]]\nid = \"carol\"\nname = \"Carol Jones\"\npassword = \"{PASSWORD}\"\nqueues = [\"support\"]\n\n\
             [[queues]]\nname = \"support\"\nannounce_every_secs = 0\nwrap_up_secs = 120\n\
             ring_timeout_secs = 60\n\
             dispositions = [\"resolved\", \"follow_up\"]\n\n\
             # Media on loopback only: the engine offers 127.0.0.1 and ignores\n\
             # the browser's other addresses.\n\
             [webrtc]\nice_addresses = [\"127.0.0.1\"]\nallowed_peer_networks = [\"127.0.0.0/8\"]\n"
        ),
    )
    .unwrap();
    path
}

async fn engine() -> (Engine, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path());
    let engine = Engine::start_with(EngineOptions {
        config: Some(path),
        ..EngineOptions::default()
    })
    .await;
    (engine, dir)
}

/// A 48 kHz WAV of a steady tone, for Chromium's fake microphone.
fn tone_wav(path: &Path, frequency: f64) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    for index in 0..48_000 * 10 {
        let t = f64::from(index) / 48_000.0;
        let sample = (t * frequency * 2.0 * std::f64::consts::PI).sin() * 0.4 * 32767.0;
        writer.write_sample(sample as i16).unwrap();
    }
    writer.finalize().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_agent_takes_a_call_with_audio_both_ways_and_sets_a_disposition() {
    let (engine, dir) = engine().await;
    let microphone = dir.path().join("microphone.wav");
    tone_wav(&microphone, AGENT_TONE);
    let mut page = Browser::launch(Some(&microphone)).await;
    let before = engine.log_len();
    page.log_in_as_agent(engine.http, "carol", PASSWORD).await;
    page.wait_for(
        &format!("{}.textContent === 'available'", by_id("state")),
        AGENT_WAIT,
        "the agent available",
    )
    .await;
    assert!(page.text().await.contains("Carol Jones (carol)"));
    wait_for_agent_state(&engine, "carol", "available", before).await;

    // A caller asks for a person; the page shows who is calling.
    let (media, sipp, _, silence) = caller_asks_for_a_person(&engine).await;
    page.wait_for(
        &format!("!{}.hidden", by_id("offer")),
        AGENT_WAIT,
        "the offer",
    )
    .await;
    let pop = page
        .eval(&format!("{}.innerText", by_id("offer")))
        .await
        .as_str()
        .unwrap()
        .to_string();
    assert!(pop.contains("+15551234567"), "screen pop: {pop}");
    assert!(
        pop.contains("welcome>language>main_menu>agent"),
        "screen pop: {pop}"
    );
    assert!(pop.contains("support"), "screen pop: {pop}");

    // Answer; the engine bridges the caller to the page's audio.
    page.eval(&format!("{}.click(); true", by_id("answer")))
        .await;
    engine
        .wait_for_log("bridging caller to agent", 0, AGENT_WAIT)
        .await;
    let heard_from = media.audio_bytes().len();

    // The caller speaks (a 1,700 Hz tone): the page receives audio packets,
    // and what it plays peaks at 1,700 Hz (measured in the page with Web
    // Audio, by this test's own script).
    page.wait_for(
        "(() => { const s = document.getElementById('remote-audio').srcObject; if (!s) return false; \
          const ctx = new AudioContext(); const analyser = ctx.createAnalyser(); analyser.fftSize = 4096; \
          ctx.createMediaStreamSource(s).connect(analyser); ctx.resume(); \
          window.peakHz = () => { const d = new Float32Array(analyser.frequencyBinCount); analyser.getFloatFrequencyData(d); \
            let best = 1; for (let i = 2; i < d.length; i++) if (d[i] > d[best]) best = i; \
            return { hz: best * ctx.sampleRate / analyser.fftSize, db: d[best] }; }; return true; })()",
        AGENT_WAIT,
        "the caller's audio stream",
    )
    .await;
    // The analyser only sees the last ~85 ms of what plays, so the caller
    // keeps speaking until the page has measured it.
    silence.abort();
    let speaking = {
        let media = media.clone();
        tokio::spawn(async move {
            let tone = switchboard::media::tone::sine(CALLER_TONE as f32, 1000, 0.3, 8000);
            let deadline = tokio::time::Instant::now() + AGENT_WAIT;
            while tokio::time::Instant::now() < deadline {
                media.send_audio(&tone, Codec::Pcmu).await;
            }
        })
    };
    let peak = page
        .wait_for(
            &format!("(() => {{ const p = window.peakHz(); return Math.abs(p.hz - {CALLER_TONE}) < 25 && p.db > -60 ? p : null; }})()"),
            AGENT_WAIT,
            "the caller's tone in the page's audio",
        )
        .await;
    speaking.abort();
    eprintln!("the page heard the caller's tone: {peak}");
    let _silence = media.stream_silence(Codec::Pcmu, Duration::from_secs(60));
    page.wait_for(
        &format!(
            "Number({}.textContent) >= 50 && Number({}.textContent) > 0",
            by_id("packets-in"),
            by_id("level-in")
        ),
        AGENT_WAIT,
        "audio from the caller",
    )
    .await;

    // The agent's microphone (a 1,100 Hz tone) reaches the caller.
    let heard = poll_until(AGENT_WAIT, Some(&engine), async || {
        let audio = media.audio_bytes();
        let mut decoded = Vec::new();
        g711::decode_into(
            Codec::Pcmu,
            &audio[heard_from.min(audio.len())..],
            &mut decoded,
        );
        let heard = tone_frames(&decoded, AGENT_TONE, 0.6);
        if heard >= 25 {
            return Ok(heard);
        }
        Err(format!(
            "the caller heard the agent's microphone in only {heard} frames"
        ))
    })
    .await;
    eprintln!("the caller heard the agent tone in {heard} frames");
    let packets_out: u64 = page
        .eval(&format!("Number({}.textContent)", by_id("packets-out")))
        .await
        .as_u64()
        .unwrap_or(0);
    assert!(packets_out >= 25, "the page sent {packets_out} packets");

    // The agent holds: the caller hears the queue's hold music; then resumes.
    let before_hold = media.audio_bytes().len();
    page.eval(&format!("{}.click(); true", by_id("hold"))).await;
    media
        .wait_for_prompt(
            &encoded_prompt("en", "hold_music", Codec::Pcmu),
            before_hold,
            AGENT_WAIT,
        )
        .await
        .expect("hold music while the agent holds");
    page.eval(&format!("{}.click(); true", by_id("resume")))
        .await;
    engine.wait_for_log("agent page hold", 0, AGENT_WAIT).await;

    // The agent hangs up on the page: the caller gets a BYE.
    let wrap_from = engine.log_len();
    page.eval(&format!("{}.click(); true", by_id("hangup")))
        .await;
    assert_sipp_passes(sipp, &engine).await;
    let call = engine.ended_calls(1).await.remove(0);
    assert_eq!(call.outcome.as_deref(), Some("agent"));
    assert_eq!(call.hangup_by.as_deref(), Some("agent"));
    assert_eq!(
        variables_of(&call).get("agent").and_then(|v| v.as_str()),
        Some("carol")
    );

    // The disposition form: the agent saves one, which ends wrap-up.
    wait_for_agent_state(&engine, "carol", "wrap_up", wrap_from).await;
    page.wait_for(
        &format!("!{}.hidden", by_id("wrapup")),
        AGENT_WAIT,
        "the disposition form",
    )
    .await;
    page.eval(&format!(
        "{}.value = 'follow_up'; {}.value = 'Wants a call on Monday'; {}.requestSubmit(); true",
        by_id("disposition"),
        by_id("notes"),
        by_id("disposition-form")
    ))
    .await;
    page.wait_for(
        &format!("{}.textContent === 'Saved.'", by_id("disposition-status")),
        AGENT_WAIT,
        "the disposition saved",
    )
    .await;
    let store = engine.store().await;
    let dispositions = store.dispositions_of(&call.id).await.unwrap();
    assert_eq!(dispositions.len(), 1, "{dispositions:?}");
    assert_eq!(dispositions[0].agent, "carol");
    assert_eq!(dispositions[0].code, "follow_up");
    assert_eq!(dispositions[0].notes, "Wants a call on Monday");
    let index = wait_for_agent_state(&engine, "carol", "available", wrap_from).await;
    let line = engine.log.lock().unwrap()[index].clone();
    assert_eq!(json_field(&line, "reason").as_deref(), Some("wrap_up_done"));

    // Closing the page logs the agent out.
    let closed_from = engine.log_len();
    page.close().await;
    wait_for_agent_state(&engine, "carol", "logged_out", closed_from).await;
}

/// Sends a login on the page's socket; returns the first reply.
async fn socket_login(engine: &Engine, agent: &str, password: &str) -> serde_json::Value {
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/api/agent/socket", engine.http))
            .await
            .expect("agent socket");
    let login = serde_json::json!({ "type": "login", "agent": agent, "password": password });
    socket
        .send(Message::Text(login.to_string().into()))
        .await
        .unwrap();
    loop {
        let message = tokio::time::timeout(AGENT_WAIT, socket.next())
            .await
            .expect("a reply to the login")
            .expect("socket open")
            .expect("a message");
        if let Message::Text(text) = message {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_socket_refuses_bad_logins_alike_and_other_sites() {
    let (engine, _dir) = engine().await;
    let unknown = socket_login(&engine, "mallory", PASSWORD).await;
    let wrong = socket_login(&engine, "carol", "not-the-password").await;
    assert_eq!(unknown["type"], "error");
    assert_eq!(
        unknown, wrong,
        "unknown agent and wrong password must look alike"
    );
    let good = socket_login(&engine, "carol", PASSWORD).await;
    assert_eq!(good["type"], "welcome", "{good}");
    assert_eq!(good["name"], "Carol Jones");
    assert_eq!(
        good["dispositions"],
        serde_json::json!(["resolved", "follow_up"])
    );

    // A page from another site may not open the socket.
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(format!(
            "ws://{}/api/agent/socket",
            engine.http
        ))
        .unwrap();
    request
        .headers_mut()
        .insert("Origin", "http://evil.example".parse().unwrap());
    let refused = tokio_tungstenite::connect_async(request).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403)
        }
        other => panic!(
            "a cross-site socket was not refused: {:?}",
            other.map(|_| ())
        ),
    }
}
