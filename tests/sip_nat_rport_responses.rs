//! Callers behind NAT: a request whose Via names an address that is not where
//! it came from (here 127.0.0.99:5099, where nothing listens) and asks for
//! `rport` gets its response at the real source, with `received` and `rport`
//! filled in (RFC 3581 §4). Tested for a 200 (OPTIONS) and a 404 (INVITE).

mod common;

use std::time::Duration;

use common::*;
use tokio::net::UdpSocket;

async fn exchange(socket: &UdpSocket, engine: std::net::SocketAddr, request: String) -> String {
    socket.send_to(request.as_bytes(), engine).await.unwrap();
    let mut buffer = vec![0u8; 4096];
    loop {
        let (length, _) =
            tokio::time::timeout(Duration::from_secs(10), socket.recv_from(&mut buffer))
                .await
                .expect("a response reaches the real source")
                .unwrap();
        let text = String::from_utf8_lossy(&buffer[..length]).to_string();
        if text.starts_with("SIP/2.0 ") && !text.starts_with("SIP/2.0 1") {
            return text;
        }
    }
}

fn request(
    method: &str,
    user: &str,
    call_id: &str,
    engine: std::net::SocketAddr,
    body: &str,
) -> String {
    let content = if body.is_empty() {
        "Content-Length: 0\r\n\r\n".to_string()
    } else {
        format!(
            "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    format!(
        "{method} sip:{user}@{engine} SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.99:5099;branch=z9hG4bK-{call_id};rport\r\n\
         From: <sip:+15550002222@127.0.0.99>;tag=nat-{call_id}\r\n\
         To: <sip:{user}@{engine}>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 {method}\r\n\
         Contact: <sip:phone@127.0.0.99:5099>\r\n\
         Max-Forwards: 70\r\n{content}"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_follow_rport_to_the_real_source() {
    let engine = Engine::start().await;
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = socket.local_addr().unwrap().port();

    let answer = exchange(
        &socket,
        engine.sip,
        request("OPTIONS", "100", "nat-options", engine.sip, ""),
    )
    .await;
    assert!(answer.starts_with("SIP/2.0 200"), "{answer}");
    assert!(answer.contains(&format!("rport={port}")), "{answer}");
    assert!(answer.contains("received=127.0.0.1"), "{answer}");

    let sdp = "v=0\r\no=x 1 1 IN IP4 127.0.0.99\r\ns=-\r\nc=IN IP4 127.0.0.99\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
    let answer = exchange(
        &socket,
        engine.sip,
        request("INVITE", "4040", "nat-invite", engine.sip, sdp),
    )
    .await;
    assert!(answer.starts_with("SIP/2.0 404"), "{answer}");
    assert!(answer.contains(&format!("rport={port}")), "{answer}");
}
