//! The demo's account lookup (collect digits, HTTP GET, JSON fields become
//! variables, balance read out) with a real HTTP server on loopback, its
//! fallback when the lookup fails, and recording a message ended by '#'
//! with the reference number read back.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use switchboard::media::g711::Codec;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const WAIT: Duration = Duration::from_secs(30);

/// Serves one canned HTTP response per connection; records request lines.
async fn lookup_server(status: &'static str, body: &'static str) -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = requests.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buffer = vec![0u8; 4096];
            let length = stream.read(&mut buffer).await.unwrap_or(0);
            let text = String::from_utf8_lossy(&buffer[..length]).to_string();
            seen.lock()
                .unwrap()
                .push(text.lines().next().unwrap_or("").to_string());
            let response = format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(response.as_bytes()).await.ok();
        }
    });
    (port, requests)
}

/// The demo plan, pointed at the test's lookup server, which it waits for
/// up to 15 s instead of 2 (the server is a task in this test's process,
/// which a busy machine may run late; a slow answer is not what these
/// tests are about).
fn demo_with_lookup_port(port: u16) -> tempfile::TempDir {
    let demo = std::fs::read_to_string(repo_root().join("dialplans/hotline.toml")).unwrap();
    assert!(demo.contains("http://127.0.0.1:8089/"));
    assert_eq!(demo.matches("timeout_ms = 2000").count(), 1);
    let text = demo
        .replace(
            "http://127.0.0.1:8089/",
            &format!("http://127.0.0.1:{port}/"),
        )
        .replace("timeout_ms = 2000", "timeout_ms = 15000");
    temp_dialplans(&[("hotline.toml", &text)])
}

async fn enter_account(media: &CallerMedia, at: usize) -> usize {
    let prompt = encoded_prompt("en", "account_prompt", Codec::Pcmu);
    let at = media
        .wait_for_prompt(&prompt, at, WAIT)
        .await
        .expect("account prompt");
    for digit in "12345#".chars() {
        media.send_digit(digit, 101).await;
    }
    at
}

async fn to_main_menu(media: &CallerMedia) -> usize {
    let english = |name: &str| encoded_prompt("en", name, Codec::Pcmu);
    let at = media
        .wait_for_prompt(&english("language_menu"), 0, WAIT)
        .await
        .expect("language menu");
    media.send_digit('1', 101).await;
    media
        .wait_for_prompt(&english("main_menu"), at, WAIT)
        .await
        .expect("main menu")
}

/// A demo-hotline call whose account lookup goes to a server answering
/// `status` and `body`, taken as far as entering account 12345#.
struct LookupCall {
    engine: Engine,
    media: Arc<CallerMedia>,
    sipp: Sipp,
    requests: Arc<Mutex<Vec<String>>>,
    /// Byte offset of the account prompt in what the caller heard.
    at: usize,
    _plans: tempfile::TempDir,
    _keepalive: tokio::task::JoinHandle<()>,
}

async fn lookup_call(status: &'static str, body: &'static str) -> LookupCall {
    let (port, requests) = lookup_server(status, body).await;
    let plans = demo_with_lookup_port(port);
    let engine = Engine::start_with(EngineOptions {
        dialplans: plans.path().to_path_buf(),
        ..EngineOptions::default()
    })
    .await;
    let (media, sipp, _) = call_until_welcome(&engine, "uac_wait_for_bye.xml").await;
    let keepalive = media.stream_silence(Codec::Pcmu, Duration::from_secs(100));
    let at = to_main_menu(&media).await;
    media.send_digit('3', 101).await;
    let at = enter_account(&media, at).await;
    LookupCall {
        engine,
        media,
        sipp,
        requests,
        at,
        _plans: plans,
        _keepalive: keepalive,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_lookup_then_recorded_report() {
    let LookupCall {
        engine,
        media,
        sipp,
        requests,
        mut at,
        _plans,
        _keepalive: keepalive,
    } = lookup_call("200 OK", r#"{"balance": 42, "name": "Ana", "vip": true}"#).await;
    let english = |name: &str| encoded_prompt("en", name, Codec::Pcmu);
    // The balance is read out: "Your balance is" forty two "dollars".
    at = media
        .wait_for_prompt(&english("account_balance"), at, WAIT)
        .await
        .expect("balance");
    at = media
        .wait_for_prompt(&english("num_40"), at, WAIT)
        .await
        .expect("forty");
    at = media
        .wait_for_prompt(&english("num_2"), at, WAIT)
        .await
        .expect("two");
    at = media
        .wait_for_prompt(&english("dollars"), at, WAIT)
        .await
        .expect("dollars");
    assert_eq!(
        requests.lock().unwrap().as_slice(),
        ["GET /accounts/12345 HTTP/1.1"]
    );

    // Back at the main menu: report a problem, speak 1.5 s, press #.
    at = media
        .wait_for_prompt(&english("main_menu"), at, WAIT)
        .await
        .expect("main menu again");
    // The recording cannot start before the engine has this '2', nor end
    // after the caller hears the thanks: it fits in between.
    let report_chosen = std::time::Instant::now();
    media.send_digit('2', 101).await;
    let beep = english("beep");
    at = media.wait_for_prompt(&beep, at, WAIT).await.expect("beep");
    // Speak once the beep has played out: recording starts after it. Only
    // the voice goes out meanwhile (no silence packets in between).
    assert!(
        media.wait_until_played(at, beep.len(), WAIT).await,
        "beep cut short"
    );
    keepalive.abort();
    let voice = switchboard::media::tone::sine(440.0, 1500, 0.3, 8000);
    media.send_audio(&voice, Codec::Pcmu).await;
    media.send_digit('#', 101).await;
    let _keepalive = media.stream_silence(Codec::Pcmu, Duration::from_secs(100));
    at = media
        .wait_for_prompt(&english("report_thanks"), at, WAIT)
        .await
        .expect("thanks");
    let report_window_ms = report_chosen.elapsed().as_millis() as u64;
    at = media
        .wait_for_prompt(&english("survey"), at, WAIT)
        .await
        .expect("survey");
    media.send_digit('5', 101).await;
    media
        .wait_for_prompt(&english("goodbye"), at, WAIT)
        .await
        .expect("goodbye");

    assert_sipp_passes(sipp, &engine).await;
    let calls = engine.ended_calls(1).await;
    let call = &calls[0];
    let variables = variables_of(call);
    assert_eq!(variables["account"], "12345");
    assert_eq!(variables["account_balance"], "42");
    assert_eq!(variables["account_name"], "Ana");
    assert_eq!(variables["account_vip"], "true");
    assert_eq!(variables["survey_score"], "5");
    let reference = variables["reference"].as_str().unwrap().to_string();
    assert_eq!(reference.len(), 6);
    assert!(reference.chars().all(|c| c.is_ascii_digit()));
    assert_eq!(call.outcome.as_deref(), Some("completed"));

    // The recording is on disk, linked from the call log, ended by the '#',
    // about as long as what was said, and holds the caller's audio. (Its
    // length follows the clock, so on a slow machine it is longer; it can
    // never outlast the time from choosing to report to hearing the
    // thanks, give or take a packet.)
    let path = call
        .recording_path
        .clone()
        .expect("recording path in the call log");
    let mut reader = hound::WavReader::open(&path).expect("recording is a WAV file");
    let spec = reader.spec();
    assert_eq!(
        (spec.sample_rate, spec.channels, spec.bits_per_sample),
        (8000, 1, 16)
    );
    let samples: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
    let longest_ms = report_window_ms + 100;
    assert!(
        (8_000..=longest_ms as usize * 8).contains(&samples.len()),
        "{} samples, in a window of {report_window_ms} ms",
        samples.len()
    );
    let loud = samples.iter().filter(|s| s.abs() > 3000).count();
    assert!(
        loud > 4_000,
        "the caller's tone is in the recording ({loud} loud samples)"
    );
    let duration: u64 = variables["recording_duration_ms"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1_000..=longest_ms).contains(&duration),
        "{duration} ms, in a window of {report_window_ms} ms"
    );
    let events = engine.events(&call.id).await;
    assert!(
        events.iter().any(|e| e.kind == "record"
            && e.detail.starts_with("finished:")
            && e.detail.ends_with("Digit")),
        "the '#' ended the recording: {events:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_lookup_takes_the_fallback() {
    let LookupCall {
        engine,
        media,
        sipp,
        requests,
        mut at,
        _plans,
        _keepalive,
    } = lookup_call("503 Service Unavailable", "{}").await;
    let english = |name: &str| encoded_prompt("en", name, Codec::Pcmu);
    at = media
        .wait_for_prompt(&english("lookup_failed"), at, WAIT)
        .await
        .expect("lookup failed prompt");
    at = media
        .wait_for_prompt(&english("main_menu"), at, WAIT)
        .await
        .expect("main menu after failure");
    media.send_digit('0', 101).await;
    at = media
        .wait_for_prompt(&english("survey"), at, WAIT)
        .await
        .expect("survey");
    media.send_digit('1', 101).await;
    media
        .wait_for_prompt(&english("goodbye"), at, WAIT)
        .await
        .expect("goodbye");
    assert_sipp_passes(sipp, &engine).await;
    assert_eq!(requests.lock().unwrap().len(), 1);
    let calls = engine.ended_calls(1).await;
    let call = &calls[0];
    assert!(path_of(call).contains(&"lookup_failed".to_string()));
    assert!(!variables_of(call).contains_key("account_balance"));
    let events = engine.events(&call.id).await;
    assert!(
        events
            .iter()
            .any(|e| e.kind == "http" && e.detail.contains("503")),
        "{events:?}"
    );
}
