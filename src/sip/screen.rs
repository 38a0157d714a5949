//! Screening of incoming SIP datagrams before the SIP stack sees them.
//!
//! rsipstack drops a datagram it cannot parse without a word, and has no way to
//! answer a request whose method it does not know. A caller deserves an answer
//! (RFC 3261 §8.2: a UAS that rejects a request says why), so every request is
//! screened here first and the bad ones are answered with the right status in
//! this one place:
//!
//! | problem                                        | status |
//! |------------------------------------------------|--------|
//! | unparsable request line, header or URI        | 400    |
//! | missing Via/From/To/Call-ID/CSeq, From tag    | 400    |
//! | CSeq method differs from the request method    | 400    |
//! | Content-Length larger than the datagram body   | 400    |
//! | `Require` with an extension we do not support  | 420    |
//! | Max-Forwards: 0 (not OPTIONS)                  | 483    |
//! | method we do not implement                     | 501    |
//! | SIP version other than 2.0                     | 505    |
//!
//! ACKs are never answered (RFC 3261 §17.2.3) and responses pass untouched.
//! This module is pure: bytes in, verdict out.

/// Largest datagram we look at; a UDP datagram can be no larger anyway.
const MAX_DATAGRAM: usize = 65_535;
/// At most this many header lines are screened (a bound on work per packet).
const MAX_HEADER_LINES: usize = 256;

/// Methods the stack implements (RFC 3261 and the extensions rsipstack knows).
const KNOWN_METHODS: &[&str] = &[
    "ACK",
    "BYE",
    "CANCEL",
    "INFO",
    "INVITE",
    "MESSAGE",
    "NOTIFY",
    "OPTIONS",
    "PRACK",
    "PUBLISH",
    "REFER",
    "REGISTER",
    "SUBSCRIBE",
    "UPDATE",
];

#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Hand the datagram to the SIP stack.
    Pass,
    /// Ignore it (keep-alives, garbage that is not SIP, bad ACKs).
    Drop,
    /// Answer it with this response and do not hand it on.
    Reply(Rejection),
}

/// Why a request is refused: the status to send and a human reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub status: u16,
    pub reason: String,
    /// Extra header lines (without CRLF), e.g. `Unsupported: foo`.
    pub extra_headers: Vec<String>,
    /// Copied headers the response must carry (Via, From, To, Call-ID, CSeq).
    echo: Vec<String>,
}

impl Rejection {
    fn new(status: u16, reason: impl Into<String>) -> Rejection {
        Rejection {
            status,
            reason: reason.into(),
            extra_headers: Vec::new(),
            echo: Vec::new(),
        }
    }

    /// The response as it goes on the wire.
    pub fn to_bytes(&self, user_agent: &str) -> Vec<u8> {
        let mut out = format!("SIP/2.0 {} {}\r\n", self.status, sanitize(&self.reason));
        for line in &self.echo {
            let name = header_name(line).unwrap_or_default();
            // RFC 3261 §8.2.6.2: a final response adds a To tag.
            if canonical_name(&name) == "to" && !line.to_ascii_lowercase().contains(";tag=") {
                out.push_str(line);
                out.push_str(";tag=sb-reject\r\n");
                continue;
            }
            out.push_str(line);
            out.push_str("\r\n");
        }
        for line in &self.extra_headers {
            out.push_str(line);
            out.push_str("\r\n");
        }
        out.push_str(&format!(
            "Warning: 399 switchboard \"{}\"\r\nServer: {}\r\nContent-Length: 0\r\n\r\n",
            sanitize(&self.reason).replace('"', "'"),
            sanitize(user_agent)
        ));
        out.into_bytes()
    }
}

/// Keeps only printable ASCII so a reason can never break the response framing.
fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(120)
        .collect()
}

fn header_name(line: &str) -> Option<String> {
    let (name, _) = line.split_once(':')?;
    let name = name.trim();
    (!name.is_empty() && name.bytes().all(is_token_byte)).then(|| name.to_string())
}

/// Long header names, lower case, for the compact forms of RFC 3261 §7.3.3.
fn canonical_name(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    match lower.as_str() {
        "v" => "via".into(),
        "f" => "from".into(),
        "t" => "to".into(),
        "i" => "call-id".into(),
        "l" => "content-length".into(),
        "m" => "contact".into(),
        "c" => "content-type".into(),
        "k" => "supported".into(),
        _ => lower,
    }
}

fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&byte)
}

/// Decides what to do with one datagram.
pub fn screen(packet: &[u8]) -> Verdict {
    if packet.len() > MAX_DATAGRAM {
        return Verdict::Drop;
    }
    // Keep-alives (CRLF, RFC 5626 §3.5.1) and empty datagrams are not requests.
    if packet.iter().all(|b| b.is_ascii_whitespace()) {
        return Verdict::Pass;
    }
    if packet.starts_with(b"SIP/") {
        return Verdict::Pass;
    }
    let (head, body) = split_head_body(packet);
    let head = match std::str::from_utf8(head) {
        Ok(text) => text,
        // Not even text: we cannot know where to answer sensibly, but a
        // request line that starts like a method still earns a 400.
        Err(_) => {
            return if looks_like_request(packet) {
                Verdict::Reply(Rejection::new(400, "Request Is Not UTF-8 Text"))
            } else {
                Verdict::Drop
            }
        }
    };
    let mut lines = head
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line));
    let request_line = lines.next().unwrap_or_default();
    let parts: Vec<&str> = request_line.split(' ').collect();
    if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
        return if looks_like_request(packet) {
            Verdict::Reply(Rejection::new(400, "Malformed Request-Line"))
        } else {
            Verdict::Drop
        };
    }
    let (method, uri, version) = (parts[0], parts[1], parts[2]);
    if !method.bytes().all(is_token_byte) {
        return Verdict::Drop;
    }

    // Collect the header lines, unfolding continuation lines (RFC 3261 §7.3.1).
    let mut headers: Vec<String> = Vec::new();
    for line in lines {
        if headers.len() >= MAX_HEADER_LINES {
            return reply_with(400, "Too Many Header Lines", &headers);
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            match headers.last_mut() {
                Some(last) => {
                    last.push(' ');
                    last.push_str(line.trim());
                }
                None => return reply_with(400, "Malformed Header Folding", &headers),
            }
        } else if !line.is_empty() {
            headers.push(line.to_string());
        }
    }
    let is_ack = method == "ACK";
    let reject = |status: u16, reason: &str| -> Verdict {
        if is_ack {
            Verdict::Drop
        } else {
            reply_with(status, reason, &headers)
        }
    };

    for line in &headers {
        if header_name(line).is_none() {
            return reject(400, "Malformed Header Line");
        }
    }
    let find = |wanted: &str| -> Vec<&str> {
        headers
            .iter()
            .filter(|line| header_name(line).is_some_and(|name| canonical_name(&name) == wanted))
            .map(|line| line.split_once(':').map(|(_, v)| v.trim()).unwrap_or(""))
            .collect()
    };

    if version != "SIP/2.0" {
        if version.starts_with("SIP/") {
            return reject(505, "Version Not Supported");
        }
        return reject(400, "Malformed Request-Line");
    }
    for (name, label) in [
        ("via", "Via"),
        ("from", "From"),
        ("to", "To"),
        ("call-id", "Call-ID"),
        ("cseq", "CSeq"),
    ] {
        let values = find(name);
        if values.is_empty() || values.iter().all(|v| v.is_empty()) {
            return reject(400, &format!("Missing {label} Header"));
        }
        if name != "via" && values.len() > 1 {
            return reject(400, &format!("Duplicate {label} Header"));
        }
    }
    let cseq = find("cseq")[0];
    let mut cseq_parts = cseq.split_whitespace();
    let cseq_number = cseq_parts.next().and_then(|n| n.parse::<u32>().ok());
    let cseq_method = cseq_parts.next();
    if cseq_number.is_none() || cseq_method.is_none() || cseq_parts.next().is_some() {
        return reject(400, "Malformed CSeq Header");
    }
    if cseq_method != Some(method) {
        return reject(400, "CSeq Method Does Not Match Request");
    }
    if !find("from")[0].to_ascii_lowercase().contains(";tag=") {
        return reject(400, "Missing From Tag");
    }
    if let Some(length) = find("content-length").first() {
        match length.parse::<usize>() {
            Ok(length) if length <= body.len() => {}
            Ok(_) => return reject(400, "Content-Length Larger Than Body"),
            Err(_) => return reject(400, "Malformed Content-Length Header"),
        }
    }
    if let Some(max_forwards) = find("max-forwards").first() {
        match max_forwards.parse::<u32>() {
            Ok(0) if method != "OPTIONS" => return reject(483, "Too Many Hops"),
            Ok(_) => {}
            Err(_) => return reject(400, "Malformed Max-Forwards Header"),
        }
    }
    if !uri.contains(':') || uri.len() > 2048 {
        return reject(400, "Malformed Request-URI");
    }
    if !KNOWN_METHODS.contains(&method) {
        let mut rejection = rejection_with_echo(501, "Not Implemented", &headers);
        rejection.extra_headers.push(format!("Allow: {}", ALLOW));
        return Verdict::Reply(rejection);
    }
    // RFC 3261 §8.2.2.3: we support no extensions, so any required one is refused
    // (ACK and CANCEL never carry a meaningful Require).
    if method != "CANCEL" {
        let required: Vec<String> = find("require")
            .iter()
            .flat_map(|value| value.split(','))
            .map(|tag| tag.trim().to_string())
            .filter(|tag| !tag.is_empty())
            .collect();
        if !required.is_empty() {
            if is_ack {
                return Verdict::Drop;
            }
            let mut rejection = rejection_with_echo(420, "Bad Extension", &headers);
            rejection
                .extra_headers
                .push(format!("Unsupported: {}", sanitize(&required.join(", "))));
            return Verdict::Reply(rejection);
        }
    }
    // Last gate: the stack's own parser must accept it too, or it would drop it.
    match rsipstack::sip::SipMessage::try_from(packet) {
        Ok(_) => Verdict::Pass,
        Err(error) => {
            let reason = format!("Bad Request ({})", first_line_of(&error.to_string()));
            reject(400, &reason)
        }
    }
}

/// The methods the engine answers, for Allow headers.
pub const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, REFER, NOTIFY";

fn first_line_of(text: &str) -> String {
    text.lines().next().unwrap_or("").chars().take(80).collect()
}

fn reply_with(status: u16, reason: &str, headers: &[String]) -> Verdict {
    Verdict::Reply(rejection_with_echo(status, reason, headers))
}

fn rejection_with_echo(status: u16, reason: &str, headers: &[String]) -> Rejection {
    let mut rejection = Rejection::new(status, reason);
    // RFC 3261 §8.2.6.2: copy Via (all of them, in order), From, To, Call-ID, CSeq.
    rejection.echo = headers
        .iter()
        .filter(|line| {
            header_name(line).is_some_and(|name| {
                matches!(
                    canonical_name(&name).as_str(),
                    "via" | "from" | "to" | "call-id" | "cseq"
                )
            })
        })
        .map(|line| sanitize(line))
        .collect();
    rejection
}

fn looks_like_request(packet: &[u8]) -> bool {
    let first_word: Vec<u8> = packet
        .iter()
        .take_while(|b| b.is_ascii_alphabetic())
        .copied()
        .collect();
    first_word.len() >= 3 && first_word.iter().all(|b| b.is_ascii_uppercase())
}

fn split_head_body(packet: &[u8]) -> (&[u8], &[u8]) {
    if let Some(index) = find_subslice(packet, b"\r\n\r\n") {
        return (&packet[..index], &packet[index + 4..]);
    }
    if let Some(index) = find_subslice(packet, b"\n\n") {
        return (&packet[..index], &packet[index + 2..]);
    }
    (packet, &[])
}

fn find_subslice(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "OPTIONS sip:100@127.0.0.1 SIP/2.0\r\n\
        Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK-1\r\n\
        From: <sip:a@127.0.0.1>;tag=1\r\n\
        To: <sip:100@127.0.0.1>\r\n\
        Call-ID: abc\r\n\
        CSeq: 1 OPTIONS\r\n\
        Max-Forwards: 70\r\n\
        Content-Length: 0\r\n\r\n";

    fn status_of(text: &str) -> Option<u16> {
        match screen(text.as_bytes()) {
            Verdict::Reply(rejection) => Some(rejection.status),
            _ => None,
        }
    }

    #[test]
    fn a_good_request_passes() {
        assert_eq!(screen(GOOD.as_bytes()), Verdict::Pass);
    }

    #[test]
    fn each_problem_gets_its_status() {
        assert_eq!(status_of(&GOOD.replace("Call-ID: abc\r\n", "")), Some(400));
        assert_eq!(
            status_of(&GOOD.replace("CSeq: 1 OPTIONS", "CSeq: 1 INVITE")),
            Some(400)
        );
        assert_eq!(
            status_of(&GOOD.replace("CSeq: 1 OPTIONS", "CSeq: x OPTIONS")),
            Some(400)
        );
        assert_eq!(
            status_of(&GOOD.replace("SIP/2.0\r\nVia", "SIP/3.0\r\nVia")),
            Some(505)
        );
        assert_eq!(status_of(&GOOD.replace("OPTIONS", "FROB")), Some(501));
        assert_eq!(status_of(&GOOD.replace(";tag=1", "")), Some(400));
        assert_eq!(
            status_of(&GOOD.replace("Content-Length: 0", "Content-Length: 50")),
            Some(400)
        );
        assert_eq!(
            status_of(&GOOD.replace("Max-Forwards: 70", "Require: 100rel")),
            Some(420)
        );
        let invite = GOOD
            .replace("OPTIONS", "INVITE")
            .replace("Max-Forwards: 70", "Max-Forwards: 0");
        assert_eq!(status_of(&invite), Some(483));
    }

    #[test]
    fn responses_echo_the_transaction_headers() {
        let Verdict::Reply(rejection) = screen(
            GOOD.replace("FROM", "")
                .replace("OPTIONS", "FROB")
                .as_bytes(),
        ) else {
            panic!("expected a reply");
        };
        let text = String::from_utf8(rejection.to_bytes("test")).unwrap();
        assert!(
            text.starts_with("SIP/2.0 501 Not Implemented\r\n"),
            "{text}"
        );
        assert!(text.contains("Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK-1\r\n"));
        assert!(text.contains("Call-ID: abc\r\n"));
        assert!(text.contains("To: <sip:100@127.0.0.1>;tag=sb-reject\r\n"));
    }

    #[test]
    fn bad_acks_are_never_answered() {
        let ack = GOOD
            .replace("OPTIONS", "ACK")
            .replace("Call-ID: abc\r\n", "");
        assert_eq!(screen(ack.as_bytes()), Verdict::Drop);
    }

    #[test]
    fn garbage_never_panics() {
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        for length in 0..2000usize {
            let mut bytes = Vec::with_capacity(length % 300);
            for _ in 0..(length % 300) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                bytes.push((state & 0xFF) as u8);
            }
            let _ = screen(&bytes);
            // Mutations of a good request hit the deeper checks.
            let mut mutated = GOOD.as_bytes().to_vec();
            let index = (state as usize) % mutated.len();
            mutated[index] = (state >> 8) as u8;
            mutated.truncate(((state >> 16) as usize) % (GOOD.len() + 1));
            let _ = screen(&mutated);
        }
    }
}
