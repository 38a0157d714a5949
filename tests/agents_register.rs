//! Agents' SIP phones register with the engine: good credentials get 200;
//! a wrong password and an unknown user get the very same 401 (accounts
//! cannot be enumerated); repeated failures lock the source out (403).

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use tokio::net::UdpSocket;

async fn engine_with_agents() -> (Engine, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("switchboard.toml");
    std::fs::write(
        &config,
        "[[agents]]\nid = \"alice\"\nname = \"Alice\"\npassword = \"correct horse\"\nqueues = [\"support\"]\n",
    )
    .unwrap();
    let engine = Engine::start_with(EngineOptions {
        config: Some(config),
        ..EngineOptions::default()
    })
    .await;
    (engine, dir)
}

async fn register_as(engine: &Engine, user: &str, password: &str, scenario_file: &str) {
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
async fn raw_register(engine: SocketAddr, user: &str, tag: &str) -> String {
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

/// The response with what must differ between two requests (Via, tags,
/// Call-ID, the nonce) left out.
fn shape(response: &str) -> Vec<String> {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn good_credentials_register() {
    let (engine, _dir) = engine_with_agents().await;
    register_as(&engine, "alice", "correct horse", "uac_register.xml").await;
    assert!(
        engine.log_text().contains("agent registered"),
        "{}",
        engine.log_text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_refused() {
    let (engine, _dir) = engine_with_agents().await;
    register_as(
        &engine,
        "alice",
        "battery staple",
        "uac_register_refused.xml",
    )
    .await;
    assert!(!engine.log_text().contains("agent registered"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_user_and_wrong_password_look_the_same() {
    let (engine, _dir) = engine_with_agents().await;
    let wrong_password = raw_register(engine.sip, "alice", "t1").await;
    let unknown_user = raw_register(engine.sip, "mallory", "t2").await;
    assert!(
        wrong_password.starts_with("SIP/2.0 401 "),
        "{wrong_password}"
    );
    assert_eq!(shape(&wrong_password), shape(&unknown_user));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_lock_the_source_out() {
    let (engine, _dir) = engine_with_agents().await;
    for attempt in 0..5 {
        let answer = raw_register(engine.sip, "alice", &format!("l{attempt}")).await;
        assert!(answer.starts_with("SIP/2.0 401 "), "{answer}");
    }
    // Even the right password is refused from this source for a while.
    register_as(
        &engine,
        "alice",
        "correct horse",
        "uac_register_locked_out.xml",
    )
    .await;
    assert!(
        engine.log_text().contains("locked out"),
        "{}",
        engine.log_text()
    );
}
