//! A burst of malformed and unacceptable requests: each gets its own 4xx/5xx
//! (never silence, never a crash), garbage is ignored, and a normal call made
//! at the same time still completes.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use tokio::net::UdpSocket;

/// A request with the usual headers; `edit` rewrites it into a broken one.
fn request(method: &str, call_id: &str, local: SocketAddr, target: SocketAddr) -> String {
    format!(
        "{method} sip:100@{target} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch=z9hG4bK-{call_id};rport\r\n\
         From: <sip:+15550001111@{local}>;tag=t-{call_id}\r\n\
         To: <sip:100@{target}>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 {method}\r\n\
         Contact: <sip:tester@{local}>\r\n\
         Max-Forwards: 70\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

fn with_body(message: &str, content_type: &str, body: &str) -> String {
    message.replace(
        "Content-Length: 0\r\n\r\n",
        &format!(
            "Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
}

/// (what is wrong, the datagram, the status we expect)
fn cases(round: usize, local: SocketAddr, target: SocketAddr) -> Vec<(&'static str, String, u16)> {
    let id = |name: &str| format!("{name}-{round}");
    let good_sdp = "v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
    vec![
        (
            "missing Call-ID",
            request("OPTIONS", &id("a"), local, target)
                .replace(&format!("Call-ID: {}\r\n", id("a")), ""),
            400,
        ),
        (
            "CSeq method mismatch",
            request("OPTIONS", &id("b"), local, target)
                .replace("CSeq: 1 OPTIONS", "CSeq: 1 INVITE"),
            400,
        ),
        (
            "CSeq not a number",
            request("OPTIONS", &id("c"), local, target)
                .replace("CSeq: 1 OPTIONS", "CSeq: one OPTIONS"),
            400,
        ),
        (
            "unknown method",
            request("FROBNICATE", &id("d"), local, target),
            501,
        ),
        (
            "SIP/3.0",
            request("OPTIONS", &id("e"), local, target).replacen("SIP/2.0\r\n", "SIP/3.0\r\n", 1),
            505,
        ),
        (
            "no From tag",
            request("OPTIONS", &id("f"), local, target).replace(&format!(";tag=t-{}", id("f")), ""),
            400,
        ),
        (
            "Content-Length past the end",
            request("OPTIONS", &id("g"), local, target)
                .replace("Content-Length: 0", "Content-Length: 900"),
            400,
        ),
        (
            "header line without colon",
            request("OPTIONS", &id("h"), local, target)
                .replace("Max-Forwards: 70", "Max-Forwards 70"),
            400,
        ),
        (
            "Require unsupported extension",
            request("INVITE", &id("i"), local, target).replace(
                "Max-Forwards: 70",
                "Max-Forwards: 70\r\nRequire: 100rel, timer",
            ),
            420,
        ),
        (
            "Max-Forwards exhausted",
            request("INVITE", &id("j"), local, target)
                .replace("Max-Forwards: 70", "Max-Forwards: 0"),
            483,
        ),
        (
            "SDP that is not SDP",
            with_body(
                &request("INVITE", &id("k"), local, target),
                "application/sdp",
                "hello there",
            ),
            400,
        ),
        (
            "body that is not SDP",
            with_body(
                &request("INVITE", &id("l"), local, target),
                "text/plain",
                "hello",
            ),
            415,
        ),
        (
            "INVITE to an unknown number",
            with_body(
                &request("INVITE", &id("m"), local, target).replace("sip:100@", "sip:999@"),
                "application/sdp",
                good_sdp,
            ),
            404,
        ),
        (
            "BYE in an unknown dialog",
            request("BYE", &id("n"), local, target).replace(
                &format!("To: <sip:100@{target}>"),
                &format!("To: <sip:100@{target}>;tag=nosuch"),
            ),
            481,
        ),
        (
            // The registrar runs even without agents in the config (agents
            // may be created through the API): a REGISTER is challenged.
            "REGISTER without credentials",
            request("REGISTER", &id("o"), local, target),
            401,
        ),
    ]
}

async fn final_status(socket: &UdpSocket, call_id: &str) -> Option<u16> {
    let mut buffer = vec![0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
        let (length, _) = tokio::time::timeout(remaining, socket.recv_from(&mut buffer))
            .await
            .ok()?
            .ok()?;
        let text = String::from_utf8_lossy(&buffer[..length]);
        // Skip keep-alive answers (a CRLF for our CRLFCRLF, RFC 5626 §3.5.1)
        // and responses to other requests.
        if !text.starts_with("SIP/2.0 ") || (!call_id.is_empty() && !text.contains(call_id)) {
            continue;
        }
        let status: u16 = text.split_whitespace().nth(1)?.parse().ok()?;
        if status >= 200 {
            return Some(status);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_request_gets_its_status_while_a_call_completes() {
    let engine = Engine::start().await;
    let call = Sipp::spawn_with(
        engine.sip,
        "uac_caller_hangs_up.xml",
        "100",
        &[("rtp_port", free_udp_port().to_string())],
        &["-d", "3000"],
    );

    let mut failures = Vec::new();
    let mut answered = 0;
    for round in 0..10 {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let local = socket.local_addr().unwrap();
        // Not SIP at all: ignored, and must not disturb anything.
        socket
            .send_to(&[0xde, 0xad, 0xbe, 0xef, 0x00, 0xff], engine.sip)
            .await
            .unwrap();
        socket.send_to(b"\r\n\r\n", engine.sip).await.unwrap();
        for (what, datagram, expected) in cases(round, local, engine.sip) {
            socket
                .send_to(datagram.as_bytes(), engine.sip)
                .await
                .unwrap();
            let call_id = datagram
                .lines()
                .find_map(|line| line.strip_prefix("Call-ID: "))
                .unwrap_or("")
                .to_string();
            match final_status(&socket, &call_id).await {
                Some(status) if status == expected => answered += 1,
                other => failures.push(format!("{what}: expected {expected}, got {other:?}")),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{failures:#?}\nengine log:\n{}",
        engine.log_text()
    );
    assert_eq!(answered, 150);

    assert_sipp_passes(call, &engine).await;
    let calls = engine.ended_calls(1).await;
    assert_eq!(
        calls.iter().filter(|c| c.caller == "+15551234567").count(),
        1
    );
    assert!(!engine.log_text().contains("panicked"));
}
