//! Shared helpers for the tests that drive the real engine binary with real
//! SIP peers (SIPp) on loopback. Each test starts its own engine on free
//! ports with its own database, so tests run in parallel without colliding.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{Timelike, Utc};
use switchboard::media::dtmf::telephone_event_packets;
use switchboard::media::g711::Codec;
use switchboard::media::prompts::PromptLibrary;
use switchboard::media::rtp::{RtpPacket, RtpSender};
use switchboard::store::{CallEventRecord, CallRecord, Store};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::UdpSocket;
use tokio::process::{Child, Command};

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn scenario(name: &str) -> PathBuf {
    repo_root().join("tests/sipp").join(name)
}

/// SIPp must be installed (the README's test command installs it). A missing
/// SIPp is a failure, never a silent skip.
pub fn require_sipp() {
    let found = std::process::Command::new("sipp")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    assert!(
        found,
        "sipp is not installed: run scripts/test.sh (it installs sip-tester)"
    );
}

/// Runs `check` every 50 ms until it gives `Ok(value)` and returns that
/// value; once `limit` has passed, panics with the last `Err` (what was
/// seen), followed by `engine`'s log if one is given.
pub async fn poll_until<T>(
    limit: Duration,
    engine: Option<&Engine>,
    mut check: impl AsyncFnMut() -> Result<T, String>,
) -> T {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let seen = match check().await {
            Ok(value) => return value,
            Err(seen) => seen,
        };
        if tokio::time::Instant::now() >= deadline {
            match engine {
                Some(engine) => panic!("{seen}\nengine log:\n{}", engine.log_text()),
                None => panic!("{seen}"),
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A running engine process.
pub struct Engine {
    child: Child,
    pub sip: SocketAddr,
    /// The REST API (on a free loopback port).
    pub http: SocketAddr,
    pub database_url: String,
    pub dir: tempfile::TempDir,
    pub log: Arc<Mutex<Vec<String>>>,
}

pub struct EngineOptions {
    pub dialplans: PathBuf,
    pub extra_args: Vec<String>,
    /// Reuse this working folder (and its database) instead of a new one.
    pub dir: Option<tempfile::TempDir>,
    /// A TOML config file (`--config`).
    pub config: Option<PathBuf>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            dialplans: repo_root().join("dialplans"),
            extra_args: Vec::new(),
            dir: None,
            config: None,
        }
    }
}

impl Engine {
    pub async fn start() -> Engine {
        Engine::start_with(EngineOptions::default()).await
    }

    pub async fn start_with(options: EngineOptions) -> Engine {
        let dir = options
            .dir
            .unwrap_or_else(|| tempfile::tempdir().expect("temp dir"));
        let database_url = format!("sqlite://{}", dir.path().join("calls.db").display());
        let mut command = Command::new(env!("CARGO_BIN_EXE_switchboard"));
        if let Some(config) = &options.config {
            command.arg("--config").arg(config);
        }
        command
            .arg("--database")
            .arg(&database_url)
            .arg("serve")
            .arg("--sip-listen")
            .arg("127.0.0.1:0")
            .arg("--http-listen")
            .arg("127.0.0.1:0")
            .arg("--dialplans")
            .arg(&options.dialplans)
            .arg("--prompts")
            .arg(repo_root().join("prompts"))
            .arg("--recordings")
            .arg(dir.path().join("recordings"))
            .arg("--log-format")
            .arg("json")
            .args(&options.extra_args)
            .env("RUST_LOG", "info,rsipstack=warn")
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("start the engine binary");
        let stderr = child.stderr.take().expect("engine stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (sip_sender, sip_receiver) = tokio::sync::oneshot::channel();
        let (http_sender, http_receiver) = tokio::sync::oneshot::channel();
        let (running_sender, running_receiver) = tokio::sync::oneshot::channel();
        let log_writer = log.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            let mut sip_sender = Some(sip_sender);
            let mut http_sender = Some(http_sender);
            let mut running_sender = Some(running_sender);
            while let Ok(Some(line)) = lines.next_line().await {
                for (text, sender) in [
                    ("SIP listening", &mut sip_sender),
                    ("HTTP API listening", &mut http_sender),
                ] {
                    if line.contains(text) {
                        if let Some(address) = json_field(&line, "local_address") {
                            if let Some(sender) = sender.take() {
                                sender.send(address).ok();
                            }
                        }
                    }
                }
                // Everything (the agent desk too) is up.
                if line.contains("Switchboard is running") {
                    if let Some(sender) = running_sender.take() {
                        sender.send(()).ok();
                    }
                }
                log_writer.lock().unwrap().push(line);
            }
        });
        let addresses = tokio::time::timeout(Duration::from_secs(30), async {
            (
                sip_receiver.await,
                http_receiver.await,
                running_receiver.await,
            )
        })
        .await;
        let (sip, http) = match addresses {
            Ok((Ok(sip), Ok(http), Ok(()))) => (sip, http),
            _ => panic!(
                "engine did not start; log:\n{}",
                log.lock().unwrap().join("\n")
            ),
        };
        Engine {
            child,
            sip: sip.parse().expect("SIP address"),
            http: http.parse().expect("HTTP address"),
            database_url,
            dir,
            log,
        }
    }

    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    pub async fn store(&self) -> Store {
        Store::open(&self.database_url)
            .await
            .expect("open database")
    }

    /// Waits until the call log holds `count` ended calls, then returns them
    /// (newest first). Engine writes are asynchronous, so poll briefly.
    pub async fn ended_calls(&self, count: usize) -> Vec<CallRecord> {
        let store = self.store().await;
        for _ in 0..200 {
            let calls = store.recent_calls(100).await.expect("calls");
            let ended = calls.iter().filter(|c| c.state == "ended").count();
            if ended >= count {
                return calls;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "call log never showed {count} ended calls: {:?}\nengine log:\n{}",
            store.recent_calls(100).await,
            self.log_text()
        );
    }

    pub async fn events(&self, call_id: &str) -> Vec<CallEventRecord> {
        self.store()
            .await
            .call_events(call_id)
            .await
            .expect("events")
    }

    /// Sends a signal (e.g. "HUP") to the engine process.
    pub fn signal(&self, name: &str) {
        let pid = self.child.id().expect("engine is running");
        let status = std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .arg(pid.to_string())
            .status()
            .expect("kill command");
        assert!(status.success());
    }

    /// Waits for a log line containing `text` that was not there before
    /// `after` lines; returns its index.
    pub async fn wait_for_log(&self, text: &str, after: usize, limit: Duration) -> usize {
        poll_until(limit, Some(self), async || {
            let log = self.log.lock().unwrap();
            match log.iter().skip(after).position(|l| l.contains(text)) {
                Some(index) => Ok(after + index),
                None => Err(format!("no log line with {text:?}")),
            }
        })
        .await
    }

    pub fn log_len(&self) -> usize {
        self.log.lock().unwrap().len()
    }

    /// Waits until a call row reaches `state`.
    pub async fn wait_for_call_state(&self, state: &str, limit: Duration) -> CallRecord {
        let store = self.store().await;
        poll_until(limit, None, async || {
            let calls = store.recent_calls(10).await.expect("calls");
            calls
                .into_iter()
                .find(|c| c.state == state)
                .ok_or_else(|| format!("no call reached state {state}"))
        })
        .await
    }

    /// Waits until campaign `name` reaches `state` (the engine runs it).
    pub async fn wait_for_campaign_state(&self, name: &str, state: &str, limit: Duration) {
        let store = self.store().await;
        poll_until(limit, Some(self), async || {
            let campaign = store
                .campaign(name)
                .await
                .unwrap()
                .expect("campaign exists");
            if campaign.state == state {
                return Ok(());
            }
            Err(format!(
                "campaign {name} never became {state} (it is {})",
                campaign.state
            ))
        })
        .await
    }

    /// kill -9: no chance to clean up.
    pub async fn kill(mut self) -> tempfile::TempDir {
        self.child.kill().await.ok();
        self.child.wait().await.ok();
        self.dir
    }

    /// SIGTERM and wait for a clean exit; returns the exit status and the
    /// working folder (which would be deleted with the engine otherwise).
    pub async fn stop(mut self) -> (std::process::ExitStatus, tempfile::TempDir) {
        if let Some(pid) = self.child.id() {
            std::process::Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status()
                .ok();
        }
        let status = tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .expect("engine stops within 20 s")
            .expect("exit status");
        (status, self.dir)
    }
}

/// A string field from a JSON log line (top level or under "fields").
pub fn json_field(line: &str, key: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    let found = value
        .get("fields")
        .and_then(|fields| fields.get(key))
        .or_else(|| value.get(key))?;
    Some(match found {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    })
}

/// A SIPp process.
pub struct Sipp {
    child: Child,
    pub local_port: u16,
}

pub struct SippOutcome {
    pub success: bool,
    pub output: String,
}

impl Sipp {
    /// Runs `scenario` against the engine. `keys` become `[name]` keywords in
    /// the scenario (SIPp `-key`).
    pub fn spawn(
        engine: SocketAddr,
        scenario_file: &str,
        service: &str,
        keys: &[(&str, String)],
    ) -> Sipp {
        Sipp::spawn_with(engine, scenario_file, service, keys, &[])
    }

    /// As [`Sipp::spawn`], with extra SIPp arguments (e.g. `-t t1` for TCP).
    pub fn spawn_with(
        engine: SocketAddr,
        scenario_file: &str,
        service: &str,
        keys: &[(&str, String)],
        extra: &[&str],
    ) -> Sipp {
        require_sipp();
        let local_port = free_udp_port();
        let mut command = Command::new("sipp");
        command
            .arg(engine.to_string())
            .args([
                "-bind_local",
                "-i",
                "127.0.0.1",
                "-mi",
                "127.0.0.1",
                "-ci",
                "127.0.0.1",
            ])
            .arg("-p")
            .arg(local_port.to_string())
            .arg("-s")
            .arg(service)
            .args([
                "-m",
                "1",
                "-l",
                "1",
                "-nostdin",
                "-timeout",
                "120s",
                "-timeout_error",
            ])
            .args(["-recv_timeout", "60000"])
            .args(extra);
        for (name, value) in keys {
            command.arg("-key").arg(name).arg(value);
        }
        command
            .arg("-sf")
            .arg(scenario(scenario_file))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let child = command.spawn().expect("start sipp");
        Sipp { child, local_port }
    }

    /// Wraps a SIPp process started elsewhere (e.g. a server-mode trunk).
    pub fn from_child(child: Child, local_port: u16) -> Sipp {
        Sipp { child, local_port }
    }

    pub async fn finish(self, limit: Duration) -> SippOutcome {
        let output = tokio::time::timeout(limit, self.child.wait_with_output())
            .await
            .expect("sipp finishes in time")
            .expect("sipp output");
        let text = format!(
            "{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        SippOutcome {
            success: output.status.success(),
            output: text,
        }
    }
}

pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|socket| socket.local_addr())
        .map(|address| address.port())
        .expect("free port")
}

/// One RTP packet the engine sent us.
#[derive(Debug, Clone)]
pub struct ReceivedRtp {
    pub marker: bool,
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    pub payload: Vec<u8>,
    pub arrived: std::time::Instant,
}

/// The caller's media side: a real UDP socket whose port goes into the SDP
/// offer. It records every RTP packet the engine sends and can send digits.
pub struct CallerMedia {
    socket: Arc<UdpSocket>,
    pub port: u16,
    pub received: Arc<Mutex<Vec<ReceivedRtp>>>,
    engine_media: Arc<Mutex<Option<SocketAddr>>>,
    sender: Mutex<RtpSender>,
}

impl CallerMedia {
    pub async fn bind() -> CallerMedia {
        let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await.expect("media socket"));
        let port = socket.local_addr().expect("addr").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let engine_media = Arc::new(Mutex::new(None));
        let (reader, sink, source) = (socket.clone(), received.clone(), engine_media.clone());
        tokio::spawn(async move {
            let mut buffer = vec![0u8; 2048];
            while let Ok((length, from)) = reader.recv_from(&mut buffer).await {
                if let Ok(packet) = RtpPacket::parse(&buffer[..length]) {
                    *source.lock().unwrap() = Some(from);
                    sink.lock().unwrap().push(ReceivedRtp {
                        marker: packet.marker,
                        payload_type: packet.payload_type,
                        sequence: packet.sequence,
                        timestamp: packet.timestamp,
                        ssrc: packet.ssrc,
                        payload: packet.payload.to_vec(),
                        arrived: std::time::Instant::now(),
                    });
                }
            }
        });
        CallerMedia {
            socket,
            port,
            received,
            engine_media,
            sender: Mutex::new(RtpSender::new(0x5157_1234, 100, 8000)),
        }
    }

    /// Everything received so far, payloads joined.
    pub fn audio_bytes(&self) -> Vec<u8> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .flat_map(|packet| packet.payload.iter().copied())
            .collect()
    }

    pub fn packet_count(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    /// Waits until the engine has sent the first 200 ms of `prompt` (encoded
    /// with `codec`), byte for byte, after byte offset `after`; returns the
    /// offset where it starts.
    pub async fn wait_for_prompt(
        &self,
        prompt: &[u8],
        after: usize,
        limit: Duration,
    ) -> Option<usize> {
        let needle = &prompt[..prompt.len().min(1600)];
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let audio = self.audio_bytes();
            if audio.len() > after {
                if let Some(position) = audio[after..]
                    .windows(needle.len())
                    .position(|w| w == needle)
                {
                    return Some(after + position);
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until `length` bytes of audio from byte offset `start` have
    /// arrived (a prompt played to its end); false if `limit` passes first.
    pub async fn wait_until_played(&self, start: usize, length: usize, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        while self.audio_bytes().len() < start + length {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        true
    }

    /// Sends one RFC 4733 digit (start, updates, three end packets) to where
    /// the engine's media comes from.
    pub async fn send_digit(&self, digit: char, payload_type: u8) {
        let target = self
            .engine_media
            .lock()
            .unwrap()
            .expect("engine media address known (it sends first)");
        let start = {
            let mut sender = self.sender.lock().unwrap();
            let start = sender.next_timestamp;
            sender.skip(1600);
            start
        };
        let mut pace = RealTimePacer::new();
        for (marker, timestamp, payload) in telephone_event_packets(digit, start, 800, 160, 10) {
            pace.next().await;
            let mut packet = Vec::new();
            self.sender.lock().unwrap().packet_at(
                payload_type,
                &payload,
                timestamp,
                marker,
                &mut packet,
            );
            self.socket
                .send_to(&packet, target)
                .await
                .expect("send digit");
        }
        pace.finish().await;
    }

    /// Streams 20 ms silence packets until the returned guard is dropped, as a
    /// phone does (it keeps the engine's media timeout away). Bounded: stops
    /// by itself after `limit`.
    pub fn stream_silence(
        self: &Arc<Self>,
        codec: Codec,
        limit: Duration,
    ) -> tokio::task::JoinHandle<()> {
        self.stream_silence_to(None, codec, limit)
    }

    /// [`CallerMedia::stream_silence`] to `target`, or (`None`) to wherever
    /// the engine's media comes from once it has come.
    pub fn stream_silence_to(
        self: &Arc<Self>,
        target: Option<SocketAddr>,
        codec: Codec,
        limit: Duration,
    ) -> tokio::task::JoinHandle<()> {
        let media = self.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(Duration::from_millis(20));
            let deadline = tokio::time::Instant::now() + limit;
            while tokio::time::Instant::now() < deadline {
                ticker.tick().await;
                match target {
                    Some(target) => media.send_silence_to(target, codec, 1).await,
                    None => media.send_silence(codec, 1).await,
                }
            }
        })
    }

    /// Sends a DTMF digit as in-band audio (two tones, 100 ms, then 100 ms of
    /// silence), for callers whose phone cannot send RFC 4733 events.
    pub async fn send_inband_digit(&self, digit: char, codec: Codec) {
        let mut samples = switchboard::media::tone::dtmf_tone(digit, 100, 0.3, 8000);
        samples.extend(switchboard::media::tone::silence(100, 8000));
        self.send_audio(&samples, codec).await;
    }

    /// Sends `samples` as 20 ms audio packets, paced in real time.
    pub async fn send_audio(&self, samples: &[i16], codec: Codec) {
        let target = self
            .engine_media
            .lock()
            .unwrap()
            .expect("engine media address known");
        let mut encoded = Vec::new();
        switchboard::media::g711::encode_into(codec, samples, &mut encoded);
        let mut pace = RealTimePacer::new();
        for chunk in encoded.chunks(160) {
            pace.next().await;
            let mut packet = Vec::new();
            self.sender.lock().unwrap().next_packet(
                codec.payload_type(),
                chunk,
                160,
                false,
                &mut packet,
            );
            self.socket
                .send_to(&packet, target)
                .await
                .expect("send audio");
        }
        pace.finish().await;
    }

    /// Sends 20 ms of silence in `codec` (keeps the engine's media timeout away).
    pub async fn send_silence(&self, codec: Codec, packets: usize) {
        let Some(target) = *self.engine_media.lock().unwrap() else {
            return;
        };
        self.send_silence_to(target, codec, packets).await;
    }

    /// Sends 20 ms silence packets to `target`, before or without hearing
    /// from it.
    pub async fn send_silence_to(&self, target: SocketAddr, codec: Codec, packets: usize) {
        let payload = vec![codec.silence_byte(); 160];
        for _ in 0..packets {
            let mut packet = Vec::new();
            self.sender.lock().unwrap().next_packet(
                codec.payload_type(),
                &payload,
                160,
                false,
                &mut packet,
            );
            self.socket.send_to(&packet, target).await.ok();
        }
    }
}

/// Paces 20 ms packets against a fixed schedule (the n-th goes at start +
/// n x 20 ms), the way a phone's clock does: a late wake-up on a busy
/// machine is made up by sending the overdue packets at once, instead of
/// every sleep's lateness adding up and the stream running slower than
/// real time.
struct RealTimePacer {
    ticker: tokio::time::Interval,
}

impl RealTimePacer {
    fn new() -> RealTimePacer {
        let mut ticker = tokio::time::interval(Duration::from_millis(20));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        RealTimePacer { ticker }
    }

    /// Waits until the next packet is due (the first is due at once).
    async fn next(&mut self) {
        self.ticker.tick().await;
    }

    /// Waits out the last packet's 20 ms, so n packets take n x 20 ms and
    /// whatever the caller sends next stays on the same schedule.
    async fn finish(mut self) {
        self.ticker.tick().await;
    }
}

/// Places a call to extension 100 with `scenario`, its media on a fresh
/// [`CallerMedia`], and waits until the caller hears the English welcome.
/// Returns the media, the SIPp process and the byte offset of the welcome.
pub async fn call_until_welcome(
    engine: &Engine,
    scenario_file: &str,
) -> (Arc<CallerMedia>, Sipp, usize) {
    let media = Arc::new(CallerMedia::bind().await);
    let sipp = Sipp::spawn(
        engine.sip,
        scenario_file,
        "100",
        &[("rtp_port", media.port.to_string())],
    );
    let welcome = encoded_prompt("en", "welcome", Codec::Pcmu);
    let at = media
        .wait_for_prompt(&welcome, 0, Duration::from_secs(30))
        .await
        .unwrap_or_else(|| {
            panic!(
                "the caller never heard the welcome; engine log:\n{}",
                engine.log_text()
            )
        });
    (media, sipp, at)
}

/// Waits for SIPp to finish and asserts its scenario passed.
pub async fn assert_sipp_passes(sipp: Sipp, engine: &Engine) {
    let outcome = sipp.finish(Duration::from_secs(60)).await;
    assert!(
        outcome.success,
        "sipp failed:\n{}\nengine log:\n{}",
        outcome.output,
        engine.log_text()
    );
}

/// A prompt as the engine would send it.
pub fn encoded_prompt(language: &str, name: &str, codec: Codec) -> Vec<u8> {
    let library = PromptLibrary::new(repo_root().join("prompts"));
    library
        .get(language, name)
        .unwrap_or_else(|error| panic!("prompt {language}/{name}: {error}"))
        .encoded(codec)
        .to_vec()
}

pub fn path_of(call: &CallRecord) -> Vec<String> {
    serde_json::from_str(&call.path).expect("path is a JSON array")
}

pub fn variables_of(call: &CallRecord) -> serde_json::Map<String, serde_json::Value> {
    serde_json::from_str(&call.variables).expect("variables are a JSON object")
}

pub fn temp_dialplans(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write dialplan");
    }
    dir
}

pub fn exists(path: &Path) -> bool {
    path.exists()
}

// ----- campaigns -----

/// A time zone where it is daytime now, so the calling window is open
/// whenever this test runs.
pub fn daytime_zone() -> &'static str {
    let zones = [
        "Pacific/Honolulu",
        "America/Los_Angeles",
        "America/New_York",
        "Europe/London",
        "Europe/Madrid",
        "Asia/Dubai",
        "Asia/Kolkata",
        "Asia/Tokyo",
        "Australia/Sydney",
        "Pacific/Auckland",
    ];
    let now = Utc::now();
    zones
        .into_iter()
        .find(|zone| {
            let tz: chrono_tz::Tz = zone.parse().unwrap();
            (10..19).contains(&now.with_timezone(&tz).hour())
        })
        .expect("some zone is in daytime")
}

pub fn switchboard_cli(engine: &Engine, config: &std::path::Path, args: &[&str]) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("--config")
        .arg(config)
        .arg("--database")
        .arg(&engine.database_url)
        .args(args)
        .output()
        .expect("run switchboard");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "switchboard {args:?} failed:\n{text}"
    );
    text
}

/// SIPp in server mode (a trunk or registrar) on a free loopback port.
/// `keys` become `[name]` keywords; `dir` is where its logs go (-trace_logs).
pub fn sipp_server(
    scenario_file: &str,
    keys: &[(&str, String)],
    extra: &[&str],
    dir: Option<&Path>,
) -> (Child, u16) {
    require_sipp();
    let port = free_udp_port();
    let mut command = Command::new("sipp");
    command
        .args([
            "-bind_local",
            "-i",
            "127.0.0.1",
            "-mi",
            "127.0.0.1",
            "-ci",
            "127.0.0.1",
        ])
        .arg("-p")
        .arg(port.to_string())
        .arg("-nostdin")
        .args(extra);
    for (name, value) in keys {
        command.arg("-key").arg(name).arg(value);
    }
    command
        .arg("-sf")
        .arg(scenario(scenario_file))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    (command.spawn().expect("start sipp"), port)
}

/// A SIPp trunk that answers one call (`uas_trunk_answers.xml`), its callee's
/// media on `callee`. Returns the process and its SIP port.
pub fn trunk_answering_into(callee: &CallerMedia) -> (Child, u16) {
    sipp_server(
        "uas_trunk_answers.xml",
        &[("rtp_port", callee.port.to_string())],
        &["-m", "1", "-timeout", "60s"],
        None,
    )
}

/// A SIPp trunk running `uas_campaign_trunk.xml`, logging every INVITE, BYE
/// and busy answer with its millisecond clock. Returns the process, its SIP
/// port and the folder its log goes to.
pub fn campaign_trunk() -> (Child, u16, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let (child, port) = sipp_server(
        "uas_campaign_trunk.xml",
        &[("rtp_port", free_udp_port().to_string())],
        &["-m", "1000", "-trace_logs", "-timeout", "180s"],
        Some(dir.path()),
    );
    (child, port, dir)
}

/// The trunk's log text (empty until its first call).
pub fn trunk_log(dir: &tempfile::TempDir) -> String {
    std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .find(|path| path.to_string_lossy().ends_with("_logs.log"))
        .map(|path| std::fs::read_to_string(path).unwrap_or_default())
        .unwrap_or_default()
}

/// (clock ms, INVITE|BYE|BUSY, number) from a trunk log, in time order.
pub fn trunk_events(log: &str) -> Vec<(u64, &str, &str)> {
    let mut events: Vec<(u64, &str, &str)> = log
        .lines()
        .filter_map(|line| {
            let mut parts = line.split_whitespace();
            let kind = parts.next()?;
            let at: u64 = parts.next()?.parse().ok()?;
            Some((at, kind, parts.next()?))
        })
        .collect();
    events.sort();
    events
}

/// Writes a config with one trunk ("main") pointing at `trunk_port` and
/// routes "100" to `plan`; returns the folder holding it and the file path.
pub fn campaign_config(trunk_port: u16, plan: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("switchboard.toml");
    std::fs::write(
        &config,
        format!(
            "[routes]\n\"100\" = \"{plan}\"\n\n[[trunks]]\nname = \"main\"\nuri = \"sip:127.0.0.1:{trunk_port}\"\nmax_concurrent = 10\nmax_calls_per_second = 10\n"
        ),
    )
    .unwrap();
    (dir, config)
}

// ---- Agents and queues (shared by the SIP-phone and browser agent tests) ----

/// Registers the SIP phone listening at `phone_port` as `agent`'s contact
/// (a second SIPp sends the REGISTER with digest auth) and waits for the
/// engine's 200.
pub async fn register_agent_phone(engine: &Engine, agent: &str, password: &str, phone_port: u16) {
    let register = Sipp::spawn_with(
        engine.sip,
        "uac_agent_register.xml",
        agent,
        &[("agent_port", phone_port.to_string())],
        &["-au", agent, "-ap", password],
    );
    assert_sipp_passes(register, engine).await;
}

/// Starts an engine again on a stopped (or killed) one's working folder
/// (its database), with the config file at `config`.
pub async fn start_again(dir: tempfile::TempDir, config: PathBuf) -> Engine {
    Engine::start_with(EngineOptions {
        config: Some(config),
        dir: Some(dir),
        ..EngineOptions::default()
    })
    .await
}

/// How long agent tests wait for a state, a prompt or a peer.
pub const AGENT_WAIT: Duration = Duration::from_secs(30);

/// Waits for the engine to log the agent entering `state`.
pub async fn wait_for_agent_state(
    engine: &Engine,
    agent: &str,
    state: &str,
    after: usize,
) -> usize {
    poll_until(AGENT_WAIT, Some(engine), async || {
        let found = engine
            .log
            .lock()
            .unwrap()
            .iter()
            .skip(after)
            .position(|line| {
                line.contains("agent state")
                    && json_field(line, "agent").as_deref() == Some(agent)
                    && json_field(line, "to").as_deref() == Some(state)
            });
        match found {
            Some(index) => Ok(after + index),
            None => Err(format!("agent {agent} never became {state}")),
        }
    })
    .await
}

/// Dials the hotline, chooses English, presses 0 ("talk to a person") and
/// waits for "please hold". Returns the caller's media, SIPp, the offset
/// after the prompt, and the silence stream keeping the call alive.
pub async fn caller_asks_for_a_person(
    engine: &Engine,
) -> (Arc<CallerMedia>, Sipp, usize, tokio::task::JoinHandle<()>) {
    let (media, sipp, at) = call_until_welcome(engine, "uac_wait_for_bye.xml").await;
    let silence = media.stream_silence(Codec::Pcmu, Duration::from_secs(110));
    let prompt = |name: &str| encoded_prompt("en", name, Codec::Pcmu);
    let at = media
        .wait_for_prompt(&prompt("language_menu"), at, AGENT_WAIT)
        .await
        .expect("language menu");
    media.send_digit('1', 101).await;
    let at = media
        .wait_for_prompt(&prompt("main_menu"), at, AGENT_WAIT)
        .await
        .expect("main menu");
    media.send_digit('0', 101).await;
    let at = media
        .wait_for_prompt(&prompt("transfer_wait"), at, AGENT_WAIT)
        .await
        .expect("please hold");
    (media, sipp, at, silence)
}

/// Share of the energy of `samples` at `frequency` (Goertzel), 0..1.
pub fn tone_share(samples: &[i16], frequency: f64) -> f64 {
    let omega = 2.0 * std::f64::consts::PI * frequency / 8000.0;
    let coefficient = 2.0 * omega.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    let mut energy = 0.0;
    for &sample in samples {
        let x = f64::from(sample);
        energy += x * x;
        let s0 = x + coefficient * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - coefficient * s1 * s2;
    if energy == 0.0 {
        0.0
    } else {
        (2.0 * power / samples.len() as f64 / energy).min(1.0)
    }
}

/// How many 20 ms frames of `samples` have more than `min_share` of their
/// energy at `frequency`.
pub fn tone_frames(samples: &[i16], frequency: f64, min_share: f64) -> usize {
    samples
        .chunks(160)
        .filter(|frame| frame.len() == 160 && tone_share(frame, frequency) > min_share)
        .count()
}

// ---- Agents' phones registering, and agents over the REST API ----

/// Runs a REGISTER scenario as `user` with `password` (SIPp `-au`/`-ap`)
/// and asserts it passes (`uac_register.xml` expects 200,
/// `uac_register_refused.xml` a second 401).
pub async fn register_as(engine: &Engine, user: &str, password: &str, scenario_file: &str) {
    let sipp = Sipp::spawn_with(
        engine.sip,
        scenario_file,
        user,
        &[],
        &["-au", user, "-ap", password],
    );
    assert_sipp_passes(sipp, engine).await;
}

/// A REGISTER with a made-up digest answer; returns the response text.
pub async fn raw_register(engine: SocketAddr, user: &str, tag: &str) -> String {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let local = socket.local_addr().unwrap();
    let request = format!(
        "REGISTER sip:{engine} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch=z9hG4bK-{tag};rport\r\n\
         From: <sip:{user}@{engine}>;tag={tag}\r\n\
         To: <sip:{user}@{engine}>\r\n\
         Call-ID: {tag}\r\n\
         CSeq: 1 REGISTER\r\n\
         Contact: <sip:{user}@{local}>\r\n\
         Expires: 120\r\n\
         Max-Forwards: 70\r\n\
         Authorization: Digest username=\"{user}\", realm=\"switchboard\", nonce=\"1.abc\", uri=\"sip:{engine}\", response=\"00000000000000000000000000000000\", algorithm=MD5\r\n\
         Content-Length: 0\r\n\r\n"
    );
    socket.send_to(request.as_bytes(), engine).await.unwrap();
    let mut buffer = vec![0u8; 4096];
    let (length, _) = tokio::time::timeout(Duration::from_secs(10), socket.recv_from(&mut buffer))
        .await
        .expect("an answer")
        .unwrap();
    String::from_utf8_lossy(&buffer[..length]).to_string()
}

/// A response with what must differ between two requests (Via, tags,
/// Call-ID, the nonce) left out.
pub fn response_shape(response: &str) -> Vec<String> {
    response
        .lines()
        .filter(|line| {
            !["Via", "From", "To", "Call-ID"]
                .iter()
                .any(|name| line.starts_with(name))
        })
        .map(|line| match line.find("nonce=\"") {
            Some(start) => {
                let value_end = line[start + 7..]
                    .find('"')
                    .map_or(line.len(), |end| start + 7 + end + 1);
                format!("{}nonce=\"*\"{}", &line[..start], &line[value_end..])
            }
            None => line.to_string(),
        })
        .collect()
}

/// Writes `text` as a config file in a new folder; returns both.
pub fn config_file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchboard.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

/// The engine's REST API, for tests.
pub struct Api {
    base: String,
    client: reqwest::Client,
}

impl Api {
    pub fn of(engine: &Engine) -> Api {
        Api {
            base: format!("http://{}", engine.http),
            client: reqwest::Client::new(),
        }
    }

    /// Sends `method path` with an optional JSON body; returns the status
    /// and the JSON answer (`null` when the body is not JSON).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("API request");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        )
    }

    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.call(reqwest::Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (u16, serde_json::Value) {
        self.call(reqwest::Method::DELETE, path, None).await
    }

    /// The agent's entry in `GET /api/agents`, if listed.
    pub async fn agent(&self, id: &str) -> Option<serde_json::Value> {
        let (status, body) = self.get("/api/agents").await;
        assert_eq!(status, 200, "{body}");
        body["agents"]
            .as_array()
            .expect("agents list")
            .iter()
            .find(|agent| agent["id"] == id)
            .cloned()
    }

    /// Waits until `GET /api/agents` shows the agent in `state`.
    pub async fn wait_for_state(&self, engine: &Engine, id: &str, state: &str) {
        poll_until(AGENT_WAIT, Some(engine), async || {
            let agent = self.agent(id).await;
            if agent.as_ref().is_some_and(|agent| agent["state"] == state) {
                return Ok(());
            }
            Err(format!(
                "agent {id} never showed state {state} (last: {agent:?})"
            ))
        })
        .await
    }
}

/// The agent's stored state changes, once there are at least `count` of
/// them: the desk writes agent events from a background task, so a row may
/// land after the API already shows the change.
pub async fn stored_agent_events(
    engine: &Engine,
    agent: &str,
    count: usize,
) -> Vec<switchboard::store::AgentEventRow> {
    let store = engine.store().await;
    poll_until(AGENT_WAIT, None, async || {
        let events = store.agent_events(agent).await.expect("agent events");
        if events.len() >= count {
            return Ok(events);
        }
        Err(format!(
            "{agent} never had {count} stored state changes: {events:?}"
        ))
    })
    .await
}

/// The agent page's WebSocket.
pub type AgentPage =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens the agent page's socket and logs in as `agent`; returns the socket
/// and the engine's first reply.
pub async fn agent_page_login(
    engine: &Engine,
    agent: &str,
    password: &str,
) -> (AgentPage, serde_json::Value) {
    use futures_util::SinkExt;
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/api/agent/socket", engine.http))
            .await
            .expect("agent socket");
    let login = serde_json::json!({ "type": "login", "agent": agent, "password": password });
    socket
        .send(tokio_tungstenite::tungstenite::Message::Text(
            login.to_string().into(),
        ))
        .await
        .unwrap();
    let first = next_page_message(&mut socket)
        .await
        .expect("a reply to the login");
    (socket, first)
}

/// The page's next text message, or None when the socket closes.
pub async fn next_page_message(socket: &mut AgentPage) -> Option<serde_json::Value> {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        let message = tokio::time::timeout(AGENT_WAIT, socket.next())
            .await
            .expect("the page hears from the engine")?;
        match message {
            Ok(Message::Text(text)) => return Some(serde_json::from_str(&text).unwrap()),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// Reads the page until the engine closes it (within AGENT_WAIT, even
/// while it keeps sending); returns the last error message it was sent (why
/// it was closed), if any.
pub async fn page_closed_with(socket: &mut AgentPage) -> Option<serde_json::Value> {
    let mut told = None;
    let closed = tokio::time::timeout(AGENT_WAIT, async {
        while let Some(message) = next_page_message(socket).await {
            if message["type"] == "error" {
                told = Some(message);
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "the engine never closed the page (last error: {told:?})"
    );
    told
}
