//! Live agents on SIP phones (SIPp), reached from the shipped hotline's
//! "talk to a person" key:
//! - the caller is bridged to a registered agent with RTP both ways, PCMU on
//!   the caller's side and PCMA on the agent's (converted by the engine), the
//!   caller's data in the agent's INVITE, and a stereo recording;
//! - an agent who does not answer is skipped for the next one (and paused);
//! - a caller who waits too long overflows to voicemail;
//! - a caller who presses 1 is called back when an agent is free.

#[path = "common/browser.rs"]
mod browser;
mod common;

use std::path::PathBuf;
use std::time::Duration;
use tokio::process::Child;

use browser::by_id;
use common::*;
use switchboard::media::g711::{self, Codec};

const PASSWORD: &str = "agent-password";

/// A config: agents (all in queue "support"), the queue's extra settings,
/// and optionally a trunk for callbacks.
fn config(agents: &[&str], queue: &str, trunk_port: Option<u16>) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchboard.toml");
    let mut text = String::new();
    // "bob:sales" puts bob in queue sales instead of support.
    for agent in agents {
        let (agent, queue) = agent.split_once(':').unwrap_or((agent, "support"));
        text.push_str(&format!(
            "[[agents]]\nid = \"{agent}\"\nname = \"{agent}\"\npassword = \"{PASSWORD}\"\nqueues = [\"{queue}\"]\n\n"
        ));
    }
    text.push_str(&format!(
        "[[queues]]\nname = \"support\"\nannounce_every_secs = 0\n{queue}\n\n"
    ));
    if let Some(port) = trunk_port {
        text.push_str(&format!(
            "[[trunks]]\nname = \"main\"\nuri = \"sip:127.0.0.1:{port}\"\ncaller_id = \"+15550001111\"\n"
        ));
    }
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

/// Starts the engine with [`config`].
async fn engine_with(
    agents: &[&str],
    queue: &str,
    trunk_port: Option<u16>,
) -> (Engine, tempfile::TempDir) {
    let (dir, path) = config(agents, queue, trunk_port);
    let engine = Engine::start_with(EngineOptions {
        config: Some(path),
        ..EngineOptions::default()
    })
    .await;
    (engine, dir)
}

/// An agent's phone: a SIPp answering (or ringing) at its own port, which a
/// second SIPp registers as the agent's contact. Returns once the engine
/// has logged the agent in.
struct Phone {
    child: Child,
    logs: tempfile::TempDir,
    /// Its SIP port.
    port: u16,
}

async fn phone(engine: &Engine, agent: &str, scenario_file: &str, talk_ms: u64) -> Phone {
    phone_with(engine, agent, scenario_file, talk_ms, &[]).await
}

/// [`phone`], with `-key` values for the scenario.
async fn phone_with(
    engine: &Engine,
    agent: &str,
    scenario_file: &str,
    talk_ms: u64,
    keys: &[(&str, String)],
) -> Phone {
    phone_for_calls(engine, agent, scenario_file, talk_ms, keys, 1).await
}

/// [`phone_with`], taking `calls` calls before it finishes.
async fn phone_for_calls(
    engine: &Engine,
    agent: &str,
    scenario_file: &str,
    talk_ms: u64,
    keys: &[(&str, String)],
    calls: u32,
) -> Phone {
    let logs = tempfile::tempdir().unwrap();
    let media_port = free_udp_port().to_string();
    let (child, port) = sipp_server(
        scenario_file,
        keys,
        &[
            "-d",
            &talk_ms.max(1).to_string(),
            "-m",
            &calls.to_string(),
            "-mp",
            &media_port,
            "-rtp_echo",
            "-trace_logs",
            "-trace_err",
            "-timeout",
            "120s",
        ],
        Some(logs.path()),
    );
    let before = engine.log_len();
    register_agent_phone(engine, agent, PASSWORD, port).await;
    wait_for_agent_state(engine, agent, "available", before).await;
    Phone { child, logs, port }
}

impl Phone {
    /// Sends the phone an INFO on its current call (the one whose Call-ID
    /// its scenario logged as `DIALOG <id>`), for scenarios that wait for a
    /// cue from the test, and sends it again every 500 ms until the phone
    /// has logged `POKED <id>` (a datagram lost on a busy machine must not
    /// leave the phone waiting forever).
    ///
    /// The phone's log, not its 200, is the receipt: SIPp sends every
    /// message of a call, the 200 for this INFO too, to the address the call
    /// came from (the engine), never back to this socket. A copy that
    /// crossed the phone's log line is answered by SIPp as a retransmission
    /// during the short pause the scenarios make after their 200.
    async fn poke(&self) {
        let deadline = tokio::time::Instant::now() + AGENT_WAIT;
        let call_id = loop {
            let log = trunk_log(&self.logs);
            if let Some(id) = log
                .lines()
                .find_map(|line| line.trim().strip_prefix("DIALOG "))
            {
                break id.trim().to_string();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the phone never logged its call: {log}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let local = socket.local_addr().unwrap();
        let info = format!(
            "INFO sip:agent@127.0.0.1:{port} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {local};branch=z9hG4bK-poke-{port}\r\n\
             From: <sip:test@127.0.0.1>;tag=poke\r\n\
             To: <sip:agent@127.0.0.1:{port}>\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: 99 INFO\r\n\
             Max-Forwards: 70\r\n\
             Content-Length: 0\r\n\r\n",
            port = self.port
        );
        let receipt = format!("POKED {call_id}");
        let mut send_at = tokio::time::Instant::now();
        loop {
            let log = trunk_log(&self.logs);
            if log.lines().any(|line| line.trim() == receipt) {
                return;
            }
            let now = tokio::time::Instant::now();
            assert!(
                now < deadline,
                "the phone never got the test's INFO on call {call_id}: {log}"
            );
            if now >= send_at {
                socket
                    .send_to(info.as_bytes(), ("127.0.0.1", self.port))
                    .await
                    .unwrap();
                send_at = now + Duration::from_millis(500);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn finished(mut self, engine: &Engine) -> String {
        let status = tokio::time::timeout(Duration::from_secs(60), async {
            loop {
                if let Some(status) = self.child.try_wait().unwrap() {
                    return status;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await
        .expect("the agent's phone finishes");
        let log = trunk_log(&self.logs);
        let errors: String = std::fs::read_dir(self.logs.path())
            .unwrap()
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.to_string_lossy().ends_with("_errors.log"))
            .map(|path| std::fs::read_to_string(path).unwrap_or_default())
            .collect();
        assert!(
            status.success(),
            "agent phone scenario failed ({status}); its log:\n{log}\nits errors:\n{errors}\nengine log:\n{}",
            engine.log_text()
        );
        log
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_is_bridged_to_a_registered_agent_with_audio_both_ways() {
    let (engine, _config_dir) = engine_with(&["alice"], "record = true", None).await;
    // Alice talks until the test has heard what it needs, then hangs up.
    let alice = phone(&engine, "alice", "uas_agent_answers_until_poked.xml", 0).await;
    let (media, sipp, _, silence) = caller_asks_for_a_person(&engine).await;

    engine
        .wait_for_log("bridging caller to agent", 0, AGENT_WAIT)
        .await;
    // The caller speaks (a 1,700 Hz tone, PCMU); the agent's phone echoes
    // what it hears (PCMA); the caller must hear it back.
    silence.abort();
    let before = media.audio_bytes().len();
    let tone = switchboard::media::tone::sine(1700.0, 1000, 0.3, 8000);
    media.send_audio(&tone, Codec::Pcmu).await;
    let _silence = media.stream_silence(Codec::Pcmu, Duration::from_secs(60));
    poll_until(AGENT_WAIT, Some(&engine), async || {
        let audio = media.audio_bytes();
        let mut decoded = Vec::new();
        g711::decode_into(Codec::Pcmu, &audio[before.min(audio.len())..], &mut decoded);
        let heard = tone_frames(&decoded, 1700.0, 0.8);
        if heard >= 25 {
            return Ok(());
        }
        Err(format!(
            "the caller heard its voice back through the agent in only {heard} of 50 frames"
        ))
    })
    .await;
    // Everything the engine sent the caller is PCMU, though the agent spoke PCMA.
    assert!(media
        .received
        .lock()
        .unwrap()
        .iter()
        .all(|packet| packet.payload_type == 0));

    // The agent hangs up (after over a second of talk: the caller spoke
    // for one); the engine hangs up on the caller.
    alice.poke().await;
    let agent_log = alice.finished(&engine).await;
    assert_sipp_passes(sipp, &engine).await;
    assert!(
        agent_log.contains("CALLER +15551234567"),
        "screen pop: {agent_log}"
    );
    assert!(
        agent_log.contains("PATH welcome>language>main_menu>agent"),
        "screen pop: {agent_log}"
    );
    // A hotline caller's agent answers when they choose to.
    assert!(!agent_log.contains("ANSWER-MODE Auto"), "{agent_log}");

    let call = &engine.ended_calls(1).await[0];
    assert_eq!(call.outcome.as_deref(), Some("agent"));
    assert_eq!(call.hangup_by.as_deref(), Some("agent"));
    assert_eq!(
        variables_of(call).get("agent").and_then(|v| v.as_str()),
        Some("alice")
    );
    // A stereo recording: the caller on the left, the agent (the echo) on the right.
    let recording = call.recording_path.clone().expect("a recording");
    let mut reader = hound::WavReader::open(&recording).expect("the recording opens");
    assert_eq!(reader.spec().channels, 2);
    let samples: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
    let left: Vec<i16> = samples.iter().step_by(2).copied().collect();
    let right: Vec<i16> = samples.iter().skip(1).step_by(2).copied().collect();
    assert!(tone_frames(&left, 1700.0, 0.8) >= 25, "caller channel");
    assert!(tone_frames(&right, 1700.0, 0.8) >= 25, "agent channel");

    // The figures, through the API, from what the database recorded.
    let client = reqwest::Client::new();
    let base = format!("http://{}", engine.http);
    let queue = queue_figures_once_answered(&engine, "support").await;
    assert_eq!(queue["offered"], 1, "{queue}");
    assert_eq!(queue["abandoned"], 0, "{queue}");
    assert_eq!(queue["service_level_percent"], 100.0, "{queue}");
    assert!(
        queue["average_handle_time_secs"].as_f64().unwrap() > 1.0,
        "{queue}"
    );
    let agents: serde_json::Value = client
        .get(format!("{base}/api/agents"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let alice_now = &agents["agents"][0];
    assert_eq!(alice_now["id"], "alice", "{agents}");
    assert!(
        ["wrap_up", "available"].contains(&alice_now["state"].as_str().unwrap()),
        "{agents}"
    );
    let alice_time = &agents["figures"][0];
    assert!(
        alice_time["seconds_by_state"]["on_call"].as_f64().unwrap() > 1.0,
        "{agents}"
    );
    assert_eq!(alice_time["calls_answered"], 1, "{agents}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_transfers_the_caller_to_another_queue_by_refer() {
    let (engine, _config_dir) = engine_with(
        &["alice", "bob:sales"],
        "\n[[queues]]\nname = \"sales\"\nannounce_every_secs = 0",
        None,
    )
    .await;
    // Alice (support) takes the call, then REFERs the caller to "sales".
    let alice = phone_with(
        &engine,
        "alice",
        "uas_agent_transfers.xml",
        0,
        &[("target", "sales".to_string())],
    )
    .await;
    let bob = phone(&engine, "bob", "uas_agent_answers.xml", 1500).await;
    let (_media, sipp, _, _silence) = caller_asks_for_a_person(&engine).await;
    wait_for_agent_state(&engine, "alice", "on_call", 0).await;
    alice.poke().await;

    // Alice got 202, the NOTIFY with "SIP/2.0 200" and our BYE.
    let alice_log = alice.finished(&engine).await;
    assert!(alice_log.contains("NOTIFY SIP/2.0 200"), "{alice_log}");
    // Bob gets the caller, with the screen pop, and hangs up after talking.
    let bob_log = bob.finished(&engine).await;
    assert!(bob_log.contains("CALLER +15551234567"), "{bob_log}");
    assert_sipp_passes(sipp, &engine).await;

    let call = &engine.ended_calls(1).await[0];
    assert_transferred_to(
        &engine,
        call,
        "bob",
        "agent alice transferred the call to queue sales",
    )
    .await;
    // Both agents were on the call in turn; neither is left on it.
    wait_for_agent_state(&engine, "alice", "wrap_up", 0).await;
    wait_for_agent_state(&engine, "bob", "wrap_up", 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_who_does_not_answer_is_skipped_and_paused() {
    // Alice rings out after 4 s; bob must answer within that too.
    let (engine, _config_dir) = engine_with(
        &["alice", "bob"],
        "ring_timeout_secs = 4\nstrategy = \"longest_idle\"",
        None,
    )
    .await;
    // Alice logs in first, so she has waited longest and is rung first.
    let alice = phone(&engine, "alice", "uas_agent_rings_forever.xml", 0).await;
    let bob = phone(&engine, "bob", "uas_agent_answers.xml", 1000).await;
    let (_media, sipp, _, _silence) = caller_asks_for_a_person(&engine).await;

    let rang = wait_for_agent_state(&engine, "alice", "ringing", 0).await;
    let paused = wait_for_agent_state(&engine, "alice", "paused", rang).await;
    wait_for_agent_state(&engine, "bob", "on_call", paused).await;
    alice.finished(&engine).await; // got its CANCEL
    bob.finished(&engine).await;
    assert_sipp_passes(sipp, &engine).await;
    let call = &engine.ended_calls(1).await[0];
    assert_eq!(
        variables_of(call).get("agent").and_then(|v| v.as_str()),
        Some("bob")
    );
    let line = &engine.log.lock().unwrap()[paused];
    assert_eq!(json_field(line, "reason").as_deref(), Some("no_answer"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_who_waits_too_long_goes_to_voicemail() {
    let (engine, _config_dir) = engine_with(
        &["alice"],
        "ring_timeout_secs = 2\nmax_wait_secs = 4\noverflow = \"voicemail\"",
        None,
    )
    .await;
    let alice = phone(&engine, "alice", "uas_agent_rings_forever.xml", 0).await;
    let (media, sipp, at, _silence) = caller_asks_for_a_person(&engine).await;
    // Hold music while alice's phone rings out; then the queue gives up.
    let music = encoded_prompt("en", "hold_music", Codec::Pcmu);
    let at = media
        .wait_for_prompt(&music, at, AGENT_WAIT)
        .await
        .expect("hold music");
    media
        .wait_for_prompt(
            &encoded_prompt("en", "voicemail_intro", Codec::Pcmu),
            at,
            AGENT_WAIT,
        )
        .await
        .unwrap_or_else(|| panic!("no voicemail prompt; log:\n{}", engine.log_text()));
    media.send_digit('#', 101).await; // end the message at once
    alice.finished(&engine).await;
    let call = engine.wait_for_call_state("ended", AGENT_WAIT).await;
    drop(sipp);
    let path = path_of(&call);
    assert!(path.contains(&"voicemail".to_string()), "path {path:?}");
    let events = engine.events(&call.id).await;
    assert!(events
        .iter()
        .any(|e| e.kind == "transfer" && e.detail.contains("waited too long")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_who_presses_1_is_called_back_when_an_agent_is_free() {
    let (trunk, trunk_port, trunk_dir) = campaign_trunk();
    let (engine, _config_dir) = engine_with_a_callback_waiting("", trunk_port).await;

    // Bob logs in: the engine rings him, then calls the customer back
    // through the trunk and bridges them. Bob hangs up once the customer
    // has answered.
    let bob = phone(&engine, "bob", "uas_agent_answers_until_poked.xml", 0).await;
    answered_callback(&engine).await;
    bob.poke().await;
    let bob_log = bob.finished(&engine).await;
    assert!(bob_log.contains("CALLBACK yes"), "screen pop: {bob_log}");
    assert!(
        bob_log.contains("CALLER +15551234567"),
        "screen pop: {bob_log}"
    );
    let callback = poll_until(AGENT_WAIT, Some(&engine), async || {
        let store = engine.store().await;
        let calls = store.recent_calls(10).await.unwrap();
        calls
            .into_iter()
            .find(|c| c.direction == "callback" && c.ended_at.is_some())
            .ok_or_else(|| "no callback call logged".to_string())
    })
    .await;
    assert_eq!(callback.called, "+15551234567");
    assert_eq!(callback.outcome.as_deref(), Some("callback_completed"));
    let events = trunk_events_owned(&trunk_dir);
    assert_eq!(
        events
            .iter()
            .filter(|(kind, number)| kind == "INVITE" && number == "+15551234567")
            .count(),
        1,
        "trunk log: {events:?}"
    );
    drop(trunk);
}

/// A callback is stored: it survives a restart of the engine, and a
/// customer who does not answer is called again, up to the queue's
/// `callback_attempts`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_survives_a_restart_and_is_retried_until_given_up() {
    // The customer's line is busy on both attempts.
    let (trunk, trunk_port) = sipp_server(
        "uas_trunk_busy.xml",
        &[],
        &["-m", "2", "-timeout", "120s"],
        None,
    );
    let (engine, config_dir) = engine_with_a_callback_waiting(
        "wrap_up_secs = 1\ncallback_attempts = 2\ncallback_retry_secs = 1",
        trunk_port,
    )
    .await;
    let call = engine.ended_calls(1).await.remove(0);
    let stored = poll_callback(&engine, &call.id, |row| row.state == "waiting").await;
    assert_eq!(stored.number, "+15551234567");
    assert_eq!(stored.attempts, 0);

    // The engine restarts before any agent is free.
    let (status, dir) = engine.stop().await;
    assert!(status.success(), "{status}");
    let engine = start_again(dir, config_dir.path().join("switchboard.toml")).await;
    engine
        .wait_for_log("callbacks waiting from before the restart", 0, AGENT_WAIT)
        .await;

    // Bob logs in and takes the callback twice; the customer is busy both
    // times, so the callback is given up after 2 attempts.
    let bob = phone_for_calls(&engine, "bob", "uas_agent_answers_until_bye.xml", 1, &[], 2).await;
    let failed = poll_callback(&engine, &call.id, |row| row.state == "failed").await;
    assert_eq!(failed.attempts, 2, "{failed:?}");
    let bob_log = bob.finished(&engine).await;
    assert_eq!(
        bob_log.matches("CALLBACK yes").count(),
        2,
        "bob was rung for each attempt: {bob_log}"
    );
    // The screen pop links to the call in this run's API, not the last one's.
    let link = format!("LINK <http://{}/api/calls/{}>", engine.http, call.id);
    assert_eq!(bob_log.matches(&link).count(), 2, "{link}: {bob_log}");
    let store = engine.store().await;
    let attempts: Vec<_> = store
        .recent_calls(20)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.direction == "callback")
        .collect();
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert!(
        attempts
            .iter()
            .all(|c| c.outcome.as_deref() == Some("callback_not_answered")),
        "{attempts:?}"
    );
    drop(trunk);
}

/// A caller still waiting when the engine stops: its queue row says so
/// (result "shutdown"), rather than staying open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_waiting_at_shutdown_closes_its_queue_row() {
    let (engine, _config_dir) = engine_with(&["alice"], "ring_timeout_secs = 60", None).await;
    let _alice = phone(&engine, "alice", "uas_agent_rings_forever.xml", 0).await;
    let (_media, _sipp, _, _silence) = caller_asks_for_a_person(&engine).await;
    wait_for_agent_state(&engine, "alice", "ringing", 0).await;
    let (status, dir) = engine.stop().await;
    assert!(status.success(), "{status}");
    let url = format!("sqlite://{}", dir.path().join("calls.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let rows: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT queue, result FROM queue_calls")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        rows,
        [("support".to_string(), Some("shutdown".to_string()))]
    );
    // Alice was logged out at the stop, not left ringing.
    let last: (String, String) = sqlx::query_as(
        "SELECT to_state, reason FROM agent_events WHERE agent = 'alice' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(last.0, "logged_out", "{last:?}");
}

/// `GET /api/events` streams the desk as it happens (Server-Sent Events):
/// a snapshot, then agents' state changes, queue counts and calls leaving
/// queues, for a wallboard.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_event_stream_shows_agents_queues_and_calls() {
    let (engine, _config_dir) = engine_with(&["alice"], "", None).await;
    let mut response = reqwest::Client::new()
        .get(format!("http://{}/api/events", engine.http))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let text = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let reader = {
        let text = text.clone();
        tokio::spawn(async move {
            while let Ok(Some(chunk)) = response.chunk().await {
                text.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&chunk));
            }
        })
    };
    let alice = phone(&engine, "alice", "uas_agent_answers.xml", 1000).await;
    let (_media, sipp, _, _silence) = caller_asks_for_a_person(&engine).await;
    alice.finished(&engine).await;
    assert_sipp_passes(sipp, &engine).await;

    let seen = poll_until(AGENT_WAIT, None, async || {
        let seen = text.lock().unwrap().clone();
        if seen.contains("\"result\":\"answered\"") {
            return Ok(seen);
        }
        Err(format!("no answered call in the event stream:\n{seen}"))
    })
    .await;
    // The engine stops: the stream ends, and does not hold the stop up.
    let (status, _dir) = engine.stop().await;
    assert!(status.success(), "{status}");
    tokio::time::timeout(AGENT_WAIT, reader)
        .await
        .expect("the event stream ends when the engine stops")
        .unwrap();
    assert!(seen.starts_with("event: snapshot\n"), "{seen}");
    let events: Vec<(&str, serde_json::Value)> = seen
        .split("\n\n")
        .filter_map(|block| {
            let name = block
                .lines()
                .find_map(|line| line.strip_prefix("event: "))?;
            let data = block.lines().find_map(|line| line.strip_prefix("data: "))?;
            Some((name, serde_json::from_str(data).ok()?))
        })
        .collect();
    let has = |name: &str, test: &dyn Fn(&serde_json::Value) -> bool| {
        events
            .iter()
            .any(|(event, data)| *event == name && test(data))
    };
    assert!(
        has("agent", &|data| data["agent"] == "alice"
            && data["to"] == "available"),
        "{seen}"
    );
    assert!(
        has("agent", &|data| data["agent"] == "alice"
            && data["to"] == "on_call"),
        "{seen}"
    );
    assert!(
        has("queues", &|data| data["queues"][0]["name"] == "support"
            && data["queues"][0]["agents_logged_in"] == 1
            && data["queues"][0]["agents_available"] == 0),
        "{seen}"
    );
    assert!(
        has("queue_call", &|data| data["queue"] == "support"
            && data["result"] == "answered"
            && data["talk_ms"].as_i64().unwrap_or(0) > 0),
        "{seen}"
    );
}

/// The engine dies while a callback's customer rings: the next start
/// places the callback again (the customer was not reached).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_caught_ringing_by_a_crash_is_placed_again() {
    let (_trunk, trunk_port) = sipp_server(
        "uas_trunk_rings_forever.xml",
        &[],
        &["-m", "1", "-timeout", "120s"],
        None,
    );
    let (engine, config_dir) = engine_with_a_callback_waiting("", trunk_port).await;
    let call = engine.ended_calls(1).await.remove(0);
    // Bob takes the callback; the customer's phone rings.
    let _bob = phone_for_calls(&engine, "bob", "uas_agent_answers_until_bye.xml", 1, &[], 1).await;
    let placing = poll_callback(&engine, &call.id, |row| row.state == "placing").await;
    assert!(placing.last_call.is_some(), "{placing:?}");

    let dir = engine.kill().await;
    let engine = start_again(dir, config_dir.path().join("switchboard.toml")).await;
    engine
        .wait_for_log("stored callback back in its queue", 0, AGENT_WAIT)
        .await;
    let restored = poll_callback(&engine, &call.id, |row| row.state == "placing").await;
    assert_eq!(restored.attempts, 0, "{restored:?}");
}

/// Waits for the stored callback of `call` to satisfy `done`.
async fn poll_callback(
    engine: &Engine,
    call: &str,
    done: impl Fn(&switchboard::store::CallbackRow) -> bool,
) -> switchboard::store::CallbackRow {
    let store = engine.store().await;
    poll_until(Duration::from_secs(60), Some(engine), async || {
        let row = store.callback(call).await.unwrap();
        match row {
            Some(row) if done(&row) => Ok(row),
            row => Err(format!("callback never reached the state wanted: {row:?}")),
        }
    })
    .await
}

/// An engine with agents alice and bob, queue settings `extra` on top of
/// callbacks, a trunk at `trunk_port`, and a callback already asked for
/// ([`request_callback`]).
async fn engine_with_a_callback_waiting(
    extra: &str,
    trunk_port: u16,
) -> (Engine, tempfile::TempDir) {
    // A long ring: the agent who takes the callback answers whenever this
    // machine gets to it.
    let settings = format!("ring_timeout_secs = 30\ncallback = true\n{extra}");
    let (engine, config_dir) = engine_with(&["alice", "bob"], &settings, Some(trunk_port)).await;
    request_callback(&engine).await;
    (engine, config_dir)
}

/// Alice's phone is busy (she is paused), so the caller (+15551234567)
/// waits with nobody free, hears the callback option, presses 1 and hangs
/// up.
async fn request_callback(engine: &Engine) {
    let alice = phone(engine, "alice", "uas_trunk_busy.xml", 0).await;
    let (media, sipp, at, _silence) = caller_asks_for_a_person(engine).await;
    wait_for_agent_state(engine, "alice", "paused", 0).await;
    media
        .wait_for_prompt(
            &encoded_prompt("en", "queue_callback_option", Codec::Pcmu),
            at,
            AGENT_WAIT,
        )
        .await
        .expect("the callback offer");
    media.send_digit('1', 101).await;
    media
        .wait_for_prompt(
            &encoded_prompt("en", "callback_confirm", Codec::Pcmu),
            at,
            AGENT_WAIT,
        )
        .await
        .expect("the callback confirmation");
    assert_sipp_passes(sipp, engine).await;
    alice.finished(engine).await;
}

/// An agent who calls a customer back may transfer them, as on any call:
/// here blind to an outside number, through the trunk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_on_a_callback_transfers_the_customer_to_a_number() {
    let (trunk, trunk_port, trunk_dir) = campaign_trunk();
    let (engine, _config_dir) = engine_with_a_callback_waiting("", trunk_port).await;
    // Bob takes the callback and, once the customer is on, REFERs them to
    // +12125550177.
    let bob = phone_with(
        &engine,
        "bob",
        "uas_agent_transfers.xml",
        0,
        &[("target", "+12125550177".to_string())],
    )
    .await;
    answered_callback(&engine).await;
    bob.poke().await;
    let bob_log = bob.finished(&engine).await;
    assert!(bob_log.contains("CALLBACK yes"), "{bob_log}");
    assert!(bob_log.contains("NOTIFY SIP/2.0 200"), "{bob_log}");
    // The trunk got the customer's call, then the transfer's.
    poll_until(AGENT_WAIT, Some(&engine), async || {
        let invites: Vec<String> = trunk_events_owned(&trunk_dir)
            .into_iter()
            .filter(|(kind, _)| kind == "INVITE")
            .map(|(_, number)| number)
            .collect();
        if invites == ["+15551234567", "+12125550177"] {
            return Ok(());
        }
        Err(format!("trunk INVITEs: {invites:?}"))
    })
    .await;
    // The two outside parties talk until the engine stops.
    let (status, dir) = engine.stop().await;
    assert!(status.success(), "{status}");
    let store = switchboard::store::Store::open(&format!(
        "sqlite://{}",
        dir.path().join("calls.db").display()
    ))
    .await
    .unwrap();
    let callback = store
        .recent_calls(10)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.direction == "callback")
        .expect("the callback's call");
    assert_eq!(
        callback.outcome.as_deref(),
        Some("callback_completed"),
        "{callback:?}"
    );
    let events = store.call_events(&callback.id).await.unwrap();
    assert!(
        events.iter().any(|event| event.kind == "transfer"
            && event
                .detail
                .contains("agent bob transferred the call to +12125550177")),
        "{events:?}"
    );
    drop(trunk);
}

/// Waits until the engine has logged a callback call as answered by the
/// customer, so a test's agent acts only once the customer is on the line
/// (however long the machine takes to dial them).
async fn answered_callback(engine: &Engine) {
    poll_until(AGENT_WAIT, Some(engine), async || {
        let calls = engine.store().await.recent_calls(10).await.unwrap();
        if calls
            .iter()
            .any(|c| c.direction == "callback" && c.answered_at.is_some())
        {
            return Ok(());
        }
        Err("the customer never answered the callback".to_string())
    })
    .await
}

fn trunk_events_owned(dir: &tempfile::TempDir) -> Vec<(String, String)> {
    let log = trunk_log(dir);
    trunk_events(&log)
        .into_iter()
        .map(|(_, kind, number)| (kind.to_string(), number.to_string()))
        .collect()
}

/// Creates, loads and starts an agent-backed campaign "outreach" on queue
/// support through trunk "main", with `leads` (number, name) in a zone where
/// it is daytime.
fn start_agent_campaign(engine: &Engine, config: &std::path::Path, leads: &[(&str, &str)]) {
    start_campaign(
        engine,
        config,
        leads,
        // Agent modes need no dialplan: people go straight to the queue.
        None,
        &["--mode", "progressive", "--queue", "support"],
    );
}

/// Creates, loads and starts campaign "outreach" running `dialplan`.
fn start_campaign(
    engine: &Engine,
    config: &std::path::Path,
    leads: &[(&str, &str)],
    dialplan: Option<&str>,
    mode: &[&str],
) {
    let zone = daytime_zone();
    let list = config.with_file_name("leads.csv");
    let mut csv = String::from("Phone,Name,TZ,Plan\n");
    for (number, name) in leads {
        csv.push_str(&format!("{number},{name},{zone},gold\n"));
    }
    std::fs::write(&list, csv).unwrap();
    let mut args = vec![
        "campaign",
        "create",
        "outreach",
        "--trunk",
        "main",
        "--caller-id",
        "+12125550000",
        // The trunk's callee says nothing for a detector to hear.
        "--no-amd",
        "--max-concurrent",
        "5",
        "--calls-per-second",
        "5",
        "--max-attempts",
        "1",
    ];
    if let Some(dialplan) = dialplan {
        args.extend(["--dialplan", dialplan]);
    }
    args.extend_from_slice(mode);
    switchboard_cli(engine, config, &args);
    let loaded = switchboard_cli(
        engine,
        config,
        &[
            "campaign",
            "load",
            "outreach",
            list.to_str().unwrap(),
            "--map",
            "phone=Phone,name=Name,timezone=TZ",
        ],
    );
    assert!(loaded.contains("loaded"), "{loaded}");
    switchboard_cli(engine, config, &["campaign", "start", "outreach"]);
}

/// Progressive dialing with one agent: one call at a time (counted on the
/// trunk), each answered call goes straight to the agent with the lead's
/// fields in the screen pop, and every lead ends "transferred".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_progressive_campaign_dials_one_lead_per_free_agent() {
    require_sipp();
    let (mut trunk, trunk_port, trunk_dir) = campaign_trunk();
    let (engine, config_dir) = engine_with(&["alice"], "wrap_up_secs = 1", Some(trunk_port)).await;
    let alice = phone_for_calls(&engine, "alice", "uas_agent_answers.xml", 1000, &[], 3).await;
    let config = config_dir.path().join("switchboard.toml");
    start_agent_campaign(
        &engine,
        &config,
        &[
            ("+12125550101", "Ana"),
            ("+12125550102", "Ben"),
            ("+12125550103", "Cruz"),
        ],
    );
    engine
        .wait_for_campaign_state("outreach", "finished", Duration::from_secs(90))
        .await;
    let alice_log = alice.finished(&engine).await;
    trunk.kill().await.ok();

    let store = engine.store().await;
    let campaign = store.campaign("outreach").await.unwrap().unwrap();
    let attempts = store.campaign_attempts(&campaign.id).await.unwrap();
    let outcomes: Vec<&str> = attempts
        .iter()
        .map(|a| a.outcome.as_deref().unwrap_or("-"))
        .collect();
    assert_eq!(outcomes, ["transferred"; 3], "{}", engine.log_text());
    // The screen pop carried each lead's data.
    for (number, name) in [
        ("+12125550101", "Ana"),
        ("+12125550102", "Ben"),
        ("+12125550103", "Cruz"),
    ] {
        assert!(
            alice_log.contains(&format!("CALLER {number}")),
            "{alice_log}"
        );
        assert!(alice_log.contains(&format!("LEAD {name}")), "{alice_log}");
    }
    // Each campaign call asked the phone to answer at once (2-second rule).
    assert_eq!(
        alice_log.matches("ANSWER-MODE Auto").count(),
        3,
        "{alice_log}"
    );
    // One agent, so never more than one call up on the trunk.
    let log = trunk_log(&trunk_dir);
    let mut up = 0i32;
    let mut most = 0;
    for (_, kind, _) in trunk_events(&log) {
        match kind {
            "INVITE" => up += 1,
            "BYE" => up -= 1,
            _ => {}
        }
        most = most.max(up);
    }
    assert_eq!(most, 1, "calls up at once on the trunk:\n{log}");
    let calls = engine.ended_calls(3).await;
    assert_eq!(calls.len(), 3);
    for call in &calls {
        assert_eq!(
            variables_of(call).get("agent").and_then(|v| v.as_str()),
            Some("alice")
        );
    }
}

/// A person answers, the only agent's phone just rings: after 2 s the
/// person hears the safe-harbor message, the ring is cancelled, the attempt
/// is recorded as abandoned, and the agent is free again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_agent_within_two_seconds_plays_the_safe_harbor_message() {
    require_sipp();
    let callee = std::sync::Arc::new(CallerMedia::bind().await);
    let (mut trunk, trunk_port) = trunk_answering_into(&callee);
    let (engine, config_dir) =
        engine_with(&["alice"], "ring_timeout_secs = 20", Some(trunk_port)).await;
    let alice = phone(&engine, "alice", "uas_agent_rings_forever.xml", 0).await;
    let config = config_dir.path().join("switchboard.toml");
    start_agent_campaign(&engine, &config, &[("+12125550101", "Ana")]);

    let rang = wait_for_agent_state(&engine, "alice", "ringing", 0).await;
    let safe_harbor = encoded_prompt("en", "safe_harbor", Codec::Pcmu);
    assert!(
        callee
            .wait_for_prompt(&safe_harbor, 0, AGENT_WAIT)
            .await
            .is_some(),
        "the person never heard the safe-harbor message; engine log:\n{}",
        engine.log_text()
    );
    // The agent's ring was cancelled, and the agent is not stuck.
    alice.finished(&engine).await;
    wait_for_agent_state(&engine, "alice", "available", rang).await;
    engine
        .wait_for_campaign_state("outreach", "finished", Duration::from_secs(60))
        .await;
    trunk.kill().await.ok();

    let store = engine.store().await;
    let campaign = store.campaign("outreach").await.unwrap().unwrap();
    let attempts = store.campaign_attempts(&campaign.id).await.unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].outcome.as_deref(), Some("abandoned"));
    let call = &engine.ended_calls(1).await[0];
    assert_eq!(call.outcome.as_deref(), Some("abandoned"));
    let events = engine.events(&call.id).await;
    assert!(
        events
            .iter()
            .any(|e| e.detail.contains("no agent within 2000 ms")),
        "{events:?}"
    );
    // The pacing figures count it.
    let figures = engine
        .log
        .lock()
        .unwrap()
        .iter()
        .rev()
        .find(|line| line.contains("campaign pacing figures"))
        .cloned()
        .expect("pacing figures logged");
    assert_eq!(
        json_field(&figures, "abandoned").as_deref(),
        Some("1"),
        "{figures}"
    );
}

/// An unattended campaign whose message says "press 1 to talk to someone":
/// the person presses 1 and is bridged to an agent, who gets the lead's name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_who_presses_1_on_a_campaign_call_reaches_an_agent() {
    require_sipp();
    const PLAN: &str = r#"
[dialplan]
name = "press1"
start = "offer"
[nodes.offer]
type = "menu"
prompts = ["welcome"]
choices = { "1" = "advisor" }
fallback = "bye"
[nodes.advisor]
type = "transfer"
queue = "support"
on_failure = "bye"
[nodes.bye]
type = "hangup"
"#;
    let callee = std::sync::Arc::new(CallerMedia::bind().await);
    let (mut trunk, trunk_port) = trunk_answering_into(&callee);
    let hotline = std::fs::read_to_string(repo_root().join("dialplans/hotline.toml")).unwrap();
    let plans = temp_dialplans(&[("press1.toml", PLAN), ("hotline.toml", &hotline)]);
    let (dir, path) = config(&["alice"], "", Some(trunk_port));
    let engine = Engine::start_with(EngineOptions {
        dialplans: plans.path().to_path_buf(),
        config: Some(path.clone()),
        ..EngineOptions::default()
    })
    .await;
    let alice = phone(&engine, "alice", "uas_agent_answers.xml", 1000).await;
    start_campaign(
        &engine,
        &path,
        &[("+12125550101", "Ana")],
        Some("press1"),
        &[],
    );

    let welcome = encoded_prompt("en", "welcome", Codec::Pcmu);
    let silence = callee.stream_silence(Codec::Pcmu, Duration::from_secs(60));
    callee
        .wait_for_prompt(&welcome, 0, AGENT_WAIT)
        .await
        .expect("the message");
    callee.send_digit('1', 101).await;
    let alice_log = alice.finished(&engine).await;
    assert!(alice_log.contains("LEAD Ana"), "{alice_log}");
    assert!(alice_log.contains("CALLER +12125550101"), "{alice_log}");
    engine
        .wait_for_campaign_state("outreach", "finished", Duration::from_secs(60))
        .await;
    silence.abort();
    trunk.kill().await.ok();
    let store = engine.store().await;
    let campaign = store.campaign("outreach").await.unwrap().unwrap();
    let attempts = store.campaign_attempts(&campaign.id).await.unwrap();
    assert_eq!(attempts[0].outcome.as_deref(), Some("transferred"));
    assert_eq!(attempts[0].digits.as_deref(), Some("1"));
    drop(dir);
}

/// An engine whose agents can also dial queue "sales" directly (the number
/// "sales" routes to a dialplan that transfers to it), as an agent's phone
/// does for a consultation.
async fn engine_with_sales_line(agents: &[&str]) -> (Engine, tempfile::TempDir, tempfile::TempDir) {
    let (config_dir, path) = config(agents, "", None);
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(
        "\n[[queues]]\nname = \"sales\"\nannounce_every_secs = 0\n\n\
         [routes]\n\"100\" = \"hotline\"\n\"sales\" = \"to_sales\"\n",
    );
    std::fs::write(&path, text).unwrap();
    let plans = tempfile::tempdir().unwrap();
    std::fs::copy(
        repo_root().join("dialplans/hotline.toml"),
        plans.path().join("hotline.toml"),
    )
    .unwrap();
    std::fs::write(
        plans.path().join("to_sales.toml"),
        "[dialplan]\nname = \"to_sales\"\nstart = \"sales\"\n\n\
         [nodes.sales]\ntype = \"transfer\"\nqueue = \"sales\"\non_failure = \"bye\"\non_timeout = \"bye\"\n\n\
         [nodes.bye]\ntype = \"hangup\"\n",
    )
    .unwrap();
    let engine = Engine::start_with(EngineOptions {
        config: Some(path),
        dialplans: plans.path().to_path_buf(),
        ..EngineOptions::default()
    })
    .await;
    (engine, config_dir, plans)
}

/// The caller's call ended talking to `agent`, after a transfer the call's
/// timeline describes with `detail`.
async fn assert_transferred_to(
    engine: &Engine,
    call: &switchboard::store::CallRecord,
    agent: &str,
    detail: &str,
) {
    assert_eq!(call.outcome.as_deref(), Some("agent"), "{call:?}");
    assert_eq!(
        variables_of(call).get("agent").and_then(|v| v.as_str()),
        Some(agent)
    );
    let events = engine.events(&call.id).await;
    assert!(
        events
            .iter()
            .any(|event| event.kind == "transfer" && event.detail.contains(detail)),
        "{events:?}"
    );
}

/// Waits until the caller has got RTP (over 50 packets, a second's worth)
/// since it had `before`, while bridged to `who` (who stays on the call
/// until the test pokes them).
async fn wait_until_heard_since(media: &CallerMedia, before: usize, who: &str, engine: &Engine) {
    poll_until(AGENT_WAIT, Some(engine), async || {
        let heard = packets_heard(media) - before;
        if heard > 50 {
            return Ok(());
        }
        Err(format!(
            "the caller got only {heard} RTP packets while bridged to {who}"
        ))
    })
    .await
}

/// `queue`'s figures from `GET /api/queues`, once they count one answered
/// call (the database is written in the background).
async fn queue_figures_once_answered(engine: &Engine, queue: &str) -> serde_json::Value {
    let client = reqwest::Client::new();
    poll_until(AGENT_WAIT, None, async || {
        let queues: serde_json::Value = client
            .get(format!("http://{}/api/queues", engine.http))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let figures = queues["figures"]
            .as_array()
            .and_then(|figures| figures.iter().find(|f| f["queue"] == queue))
            .cloned();
        match figures {
            Some(figures) if figures["answered"] == 1 => Ok(figures),
            _ => Err(format!("queue figures: {queues}")),
        }
    })
    .await
}

/// How many RTP packets the caller has received.
fn packets_heard(media: &CallerMedia) -> usize {
    media.received.lock().unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_phone_completes_an_attended_transfer_with_replaces() {
    let (engine, _config_dir, _plans) = engine_with_sales_line(&["alice", "bob:sales"]).await;
    let consult_id = "consult-1@127.0.0.1";
    // Alice answers the caller and, once her phone's consultation with
    // sales is answered, sends REFER with Replaces naming that call.
    let alice = phone_with(
        &engine,
        "alice",
        "uas_agent_attended_transfer.xml",
        1,
        &[
            ("target", "sales".to_string()),
            ("consult_id", consult_id.to_string()),
        ],
    )
    .await;
    // Bob talks until the test has seen the caller's audio flow through
    // him, then hangs up.
    let bob = phone(&engine, "bob", "uas_agent_answers_until_poked.xml", 0).await;
    let before = engine.log_len();
    let (media, sipp, _, _silence) = caller_asks_for_a_person(&engine).await;
    wait_for_agent_state(&engine, "alice", "on_call", before).await;

    // Alice's phone calls sales; bob answers her.
    let consult_media = std::sync::Arc::new(CallerMedia::bind().await);
    let _consult_audio = consult_media.stream_silence(Codec::Pcmu, Duration::from_secs(60));
    let consult = Sipp::spawn_with(
        engine.sip,
        "uac_agent_consults.xml",
        "sales",
        &[
            ("rtp_port", consult_media.port.to_string()),
            ("agent", "alice".to_string()),
        ],
        &["-cid_str", consult_id],
    );
    wait_for_agent_state(&engine, "bob", "on_call", before).await;
    // Bob answered: the test tells alice's phone to transfer (an INFO on her
    // call with the caller, which the scenario waits for).
    alice.poke().await;

    // The REFER: alice's phone is told the transfer worked and is hung up;
    // her consultation call is replaced (hung up) too.
    let alice_log = alice.finished(&engine).await;
    assert!(alice_log.contains("NOTIFY SIP/2.0 200"), "{alice_log}");
    assert_sipp_passes(consult, &engine).await;
    let heard_before_bob = packets_heard(&media);

    // The caller now talks to bob (his phone echoes the caller), until bob
    // hangs up and the engine hangs up on the caller.
    wait_until_heard_since(&media, heard_before_bob, "bob", &engine).await;
    bob.poke().await;
    let bob_log = bob.finished(&engine).await;
    assert!(
        bob_log.contains("CALLER alice"),
        "bob saw who consulted him: {bob_log}"
    );
    assert_sipp_passes(sipp, &engine).await;

    let calls = engine.ended_calls(2).await;
    let call = calls
        .iter()
        .find(|call| call.called == "100")
        .expect("the caller's call");
    assert_eq!(call.hangup_by.as_deref(), Some("agent"), "{call:?}");
    assert_transferred_to(
        &engine,
        call,
        "bob",
        "agent alice transferred the call to bob after consulting",
    )
    .await;
    let consultation = calls
        .iter()
        .find(|call| call.called == "sales")
        .expect("the consultation");
    assert_eq!(
        consultation.hangup_cause.as_deref(),
        Some("replaced"),
        "{consultation:?}"
    );
    // Nobody is left on a call: both go to wrap-up.
    wait_for_agent_state(&engine, "alice", "wrap_up", 0).await;
    wait_for_agent_state(&engine, "bob", "wrap_up", 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_agent_consults_another_queue_then_completes_the_transfer() {
    // Carol works in the browser (queue support); bob has a phone in sales.
    // Support rings carol's page for a minute (the test answers it through
    // DevTools, however slowly) and keeps her in wrap-up until the test has
    // seen the page's wrap-up form.
    let (engine, _config_dir) = engine_with(
        &["carol", "bob:sales"],
        "ring_timeout_secs = 60\nwrap_up_secs = 300\n\n\
         [[queues]]\nname = \"sales\"\nannounce_every_secs = 0\n\n\
         [webrtc]\nice_addresses = [\"127.0.0.1\"]\nallowed_peer_networks = [\"127.0.0.0/8\"]\n",
        None,
    )
    .await;
    // Bob talks until the test has seen what it needs, then hangs up.
    let bob = phone(&engine, "bob", "uas_agent_answers_until_poked.xml", 0).await;
    let mut page = browser::Browser::launch(None).await;
    let before = engine.log_len();
    page.log_in_as_agent(engine.http, "carol", PASSWORD).await;
    wait_for_agent_state(&engine, "carol", "available", before).await;

    // Carol answers a caller on the page.
    let (media, sipp, _, silence) = caller_asks_for_a_person(&engine).await;
    page.wait_for(
        &format!("!{}.hidden", by_id("offer")),
        AGENT_WAIT,
        "the offer",
    )
    .await;
    page.eval(&format!("{}.click(); true", by_id("answer")))
        .await;
    wait_for_agent_state(&engine, "carol", "on_call", before).await;

    // She consults sales: the caller holds (music) while bob's phone rings
    // with the caller's data, and bob answers her. (The caller sends no
    // audio from now until the transfer: whatever reaches carol's page
    // meanwhile can only be bob's.)
    silence.abort();
    let held_from = media.audio_bytes().len();
    page.eval(&format!(
        "{}.value = 'sales'; {}.click(); true",
        by_id("transfer-target"),
        by_id("consult")
    ))
    .await;
    media
        .wait_for_prompt(
            &encoded_prompt("en", "hold_music", Codec::Pcmu),
            held_from,
            AGENT_WAIT,
        )
        .await
        .expect("hold music while the agent consults");
    wait_for_agent_state(&engine, "bob", "on_call", before).await;
    page.wait_for(
        &format!("!{}.hidden", by_id("complete-transfer")),
        AGENT_WAIT,
        "the consultation answered",
    )
    .await;
    let shown = page.text().await;
    assert!(shown.contains("Talking to sales"), "{shown}");
    // Carol hears bob: his phone echoes what she says, and that audio
    // reaches her page while the caller holds.
    // Audio packets the page has received, and whether a consultation is
    // on screen (read from the page's own WebRTC statistics).
    let received = "(async () => { let n = 0; (await peer.getStats()).forEach((e) => { \
        if (e.type === 'inbound-rtp' && e.kind === 'audio') n = e.packetsReceived; }); \
        const talking = document.getElementById('consult-status').textContent.includes('Talking to sales'); \
        return { n, talking }; })()";
    let consult_from = page.eval(received).await["n"].as_u64().unwrap();
    poll_until(AGENT_WAIT, None, async || {
        let now = page.eval(received).await;
        assert_eq!(
            now["talking"], true,
            "the consultation ended before carol heard bob: {now}"
        );
        if now["n"].as_u64().unwrap() >= consult_from + 25 {
            return Ok(());
        }
        Err(format!("carol's page got no audio from bob: {now}"))
    })
    .await;
    let _silence = media.stream_silence(Codec::Pcmu, Duration::from_secs(60));

    // She completes the transfer: she goes to wrap-up, the caller talks to
    // bob (his phone echoes the caller) until bob hangs up.
    let completed_from = engine.log_len();
    page.eval(&format!("{}.click(); true", by_id("complete-transfer")))
        .await;
    wait_for_agent_state(&engine, "carol", "wrap_up", completed_from).await;
    page.wait_for(
        &format!("!{}.hidden", by_id("wrapup")),
        AGENT_WAIT,
        "wrap-up",
    )
    .await;
    let heard_before_bob = packets_heard(&media);
    wait_until_heard_since(&media, heard_before_bob, "bob", &engine).await;
    bob.poke().await;
    let bob_log = bob.finished(&engine).await;
    assert!(
        bob_log.contains("CALLER +15551234567"),
        "bob saw the caller's data: {bob_log}"
    );
    assert!(
        bob_log.contains("PATH welcome>language>main_menu>agent"),
        "bob saw the caller's path: {bob_log}"
    );
    assert_sipp_passes(sipp, &engine).await;

    let call = &engine.ended_calls(1).await[0];
    assert_transferred_to(
        &engine,
        call,
        "bob",
        "agent carol transferred the call to bob after consulting",
    )
    .await;
    // The consultation counts as a call offered to and answered by sales.
    let sales = queue_figures_once_answered(&engine, "sales").await;
    assert_eq!(sales["offered"], 1, "{sales}");
    wait_for_agent_state(&engine, "bob", "wrap_up", 0).await;
    page.close().await;
}
