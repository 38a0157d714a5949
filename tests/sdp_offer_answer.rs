//! SDP parsing (RFC 4566) and offer/answer (RFC 3264) against offers as
//! real user agents send them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use switchboard::media::g711::Codec;
use switchboard::media::sdp::{
    self, build_answer, build_offer, negotiate, Direction, LocalMediaConfig, NegotiationError,
    SdpError,
};

const LOCAL_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5));

/// SIPp's built-in uac scenario SDP with [media_ip]/[media_port] filled in.
const SIPP_OFFER: &str = "v=0\r\n\
o=user1 53655765 2353687637 IN IP4 127.0.0.1\r\n\
s=-\r\n\
c=IN IP4 127.0.0.1\r\n\
t=0 0\r\n\
m=audio 6000 RTP/AVP 0\r\n\
a=rtpmap:0 PCMU/8000\r\n";

/// Linphone-style offer: many codecs, telephone-event at three rates, and a
/// video stream we must reject in place.
const LINPHONE_OFFER: &str = "v=0\r\n\
o=alice 3356 1785 IN IP4 192.168.1.20\r\n\
s=Talk\r\n\
c=IN IP4 192.168.1.20\r\n\
t=0 0\r\n\
a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics\r\n\
m=audio 7078 RTP/AVP 96 97 98 9 0 8 18 101 99 100\r\n\
a=rtpmap:96 opus/48000/2\r\n\
a=fmtp:96 useinbandfec=1\r\n\
a=rtpmap:97 speex/16000\r\n\
a=fmtp:97 vbr=on\r\n\
a=rtpmap:98 speex/8000\r\n\
a=fmtp:98 vbr=on\r\n\
a=rtpmap:9 G722/8000\r\n\
a=rtpmap:18 G729/8000\r\n\
a=fmtp:18 annexb=no\r\n\
a=rtpmap:101 telephone-event/48000\r\n\
a=rtpmap:99 telephone-event/16000\r\n\
a=rtpmap:100 telephone-event/8000\r\n\
a=fmtp:100 0-15\r\n\
a=rtcp-fb:* trr-int 5000\r\n\
a=rtcp-fb:* ccm tmmbr\r\n\
m=video 9078 RTP/AVP 96 97\r\n\
a=rtpmap:96 VP8/90000\r\n\
a=rtpmap:97 H264/90000\r\n\
a=fmtp:97 profile-level-id=42801F\r\n";

/// baresip-style: bare \n line endings, PCMA preferred, media-level c=,
/// ptime 30.
const BARESIP_OFFER: &str = "v=0\n\
o=- 1790423522 1790423522 IN IP4 172.16.0.9\n\
s=-\n\
t=0 0\n\
m=audio 10122 RTP/AVP 9 8 0 101\n\
c=IN IP4 172.16.0.9\n\
b=AS:96\n\
a=rtpmap:9 G722/8000/1\n\
a=rtpmap:8 PCMA/8000/1\n\
a=rtpmap:0 PCMU/8000/1\n\
a=rtpmap:101 telephone-event/8000\n\
a=fmtp:101 0-15\n\
a=ptime:30\n\
a=sendrecv\n\
a=label:1\n";

fn local() -> LocalMediaConfig {
    LocalMediaConfig {
        codecs: vec![Codec::Pcmu, Codec::Pcma],
        telephone_event: true,
    }
}

fn with_direction(base: &str, attr: &str) -> String {
    format!("{base}a={attr}\r\n")
}

#[test]
fn sipp_default_offer() {
    let offer = sdp::parse(SIPP_OFFER).unwrap();
    assert_eq!(offer.origin.username, "user1");
    assert_eq!(offer.origin.session_id, "53655765");
    assert_eq!(offer.origin.session_version, "2353687637");
    assert_eq!(offer.media.len(), 1);
    assert_eq!(offer.media[0].payload_types(), vec![0]);

    let n = negotiate(&offer, &local()).unwrap();
    assert_eq!(n.codec, Codec::Pcmu);
    assert_eq!(n.payload_type, 0);
    assert_eq!(n.telephone_event_payload_type, None);
    assert_eq!(n.remote_address, Some("127.0.0.1:6000".parse().unwrap()));
    assert_eq!(n.remote_port, 6000);
    assert_eq!(n.direction, Direction::SendRecv);
    assert_eq!(n.ptime_ms, 20);

    let answer = build_answer(&n, LOCAL_IP, 20000, 42, 1, Direction::SendRecv);
    assert_eq!(
        answer,
        "v=0\r\n\
o=switchboard 42 1 IN IP4 10.0.0.5\r\n\
s=switchboard\r\n\
c=IN IP4 10.0.0.5\r\n\
t=0 0\r\n\
m=audio 20000 RTP/AVP 0\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=ptime:20\r\n\
a=sendrecv\r\n"
    );
}

#[test]
fn linphone_offer_with_many_codecs() {
    let offer = sdp::parse(LINPHONE_OFFER).unwrap();
    assert_eq!(offer.media.len(), 2);
    let audio = &offer.media[0];
    assert_eq!(audio.rtpmaps.len(), 8);
    assert_eq!(audio.rtpmap(96).unwrap().channels, Some(2));
    assert_eq!(audio.fmtp(18), Some("annexb=no"));

    let n = negotiate(&offer, &local()).unwrap();
    // Offerer's order: 9 (G722) unsupported, then 0 (PCMU).
    assert_eq!((n.codec, n.payload_type), (Codec::Pcmu, 0));
    // Only the 8 kHz telephone-event matches G.711's clock.
    assert_eq!(n.telephone_event_payload_type, Some(100));
    assert_eq!(n.media_index, 0);

    let answer = build_answer(&n, LOCAL_IP, 30000, 7, 7, Direction::SendRecv);
    assert!(
        answer.contains("m=audio 30000 RTP/AVP 0 100\r\n"),
        "{answer}"
    );
    assert!(answer.contains("a=rtpmap:100 telephone-event/8000\r\na=fmtp:100 0-16\r\n"));
    // RFC 3264 §6: the video line is kept, rejected with port 0, after audio.
    let audio_at = answer.find("m=audio").unwrap();
    let video_at = answer.find("m=video 0 RTP/AVP 96\r\n").unwrap();
    assert!(audio_at < video_at);

    // The answer is itself valid SDP that negotiates the same way.
    let reparsed = sdp::parse(&answer).unwrap();
    assert_eq!(reparsed.media.len(), 2);
    let again = negotiate(&reparsed, &local()).unwrap();
    assert_eq!(again.codec, Codec::Pcmu);
    assert_eq!(again.telephone_event_payload_type, Some(100));
}

#[test]
fn baresip_offer_prefers_offerers_order_and_media_level_c() {
    let offer = sdp::parse(BARESIP_OFFER).unwrap();
    assert!(offer.connection.is_none());
    let n = negotiate(&offer, &local()).unwrap();
    assert_eq!((n.codec, n.payload_type), (Codec::Pcma, 8));
    assert_eq!(n.telephone_event_payload_type, Some(101));
    assert_eq!(n.remote_address, Some("172.16.0.9:10122".parse().unwrap()));
    assert_eq!(n.ptime_ms, 30);
    let answer = build_answer(&n, LOCAL_IP, 30000, 1, 2, Direction::SendRecv);
    assert!(answer.contains("a=rtpmap:8 PCMA/8000\r\n"));
    assert!(answer.contains("a=ptime:20\r\n"));
}

#[test]
fn local_codec_restrictions_apply() {
    let offer = sdp::parse(BARESIP_OFFER).unwrap();
    let only_pcmu = LocalMediaConfig {
        codecs: vec![Codec::Pcmu],
        telephone_event: false,
    };
    let n = negotiate(&offer, &only_pcmu).unwrap();
    assert_eq!((n.codec, n.payload_type), (Codec::Pcmu, 0));
    assert_eq!(n.telephone_event_payload_type, None);
    let answer = build_answer(&n, LOCAL_IP, 30000, 1, 2, Direction::SendRecv);
    assert!(!answer.contains("telephone-event"));
}

#[test]
fn dynamic_payload_type_for_g711_is_honoured() {
    let text = "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\n\
m=audio 4000 RTP/AVP 112 113\r\na=rtpmap:112 pcmu/8000\r\na=rtpmap:113 TELEPHONE-EVENT/8000\r\n";
    let n = negotiate(&sdp::parse(text).unwrap(), &local()).unwrap();
    assert_eq!((n.codec, n.payload_type), (Codec::Pcmu, 112));
    assert_eq!(n.telephone_event_payload_type, Some(113));
    let answer = build_answer(&n, LOCAL_IP, 5000, 1, 1, Direction::SendRecv);
    assert!(answer.contains("m=audio 5000 RTP/AVP 112 113\r\na=rtpmap:112 PCMU/8000\r\n"));
}

#[test]
fn hold_with_sendonly() {
    let offer = sdp::parse(&with_direction(SIPP_OFFER, "sendonly")).unwrap();
    let n = negotiate(&offer, &local()).unwrap();
    assert_eq!(n.direction, Direction::SendOnly);
    let answer = build_answer(&n, LOCAL_IP, 20000, 42, 2, Direction::SendRecv);
    assert!(answer.ends_with("a=recvonly\r\n"), "{answer}");
}

#[test]
fn hold_with_zero_connection_address() {
    let text = SIPP_OFFER.replace("c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0");
    let n = negotiate(&sdp::parse(&text).unwrap(), &local()).unwrap();
    assert_eq!(n.remote_address, None);
    assert_eq!(n.remote_port, 6000);
}

#[test]
fn direction_answers_follow_rfc3264() {
    let cases = [
        ("sendrecv", Direction::SendRecv, "sendrecv"),
        ("sendonly", Direction::SendRecv, "recvonly"),
        ("recvonly", Direction::SendRecv, "sendonly"),
        ("inactive", Direction::SendRecv, "inactive"),
        ("sendrecv", Direction::SendOnly, "sendonly"),
        ("sendrecv", Direction::Inactive, "inactive"),
        ("recvonly", Direction::RecvOnly, "inactive"),
    ];
    for (offered, ours, expected) in cases {
        let offer = sdp::parse(&with_direction(SIPP_OFFER, offered)).unwrap();
        let n = negotiate(&offer, &local()).unwrap();
        let answer = build_answer(&n, LOCAL_IP, 20000, 1, 1, ours);
        assert!(
            answer.ends_with(&format!("a={expected}\r\n")),
            "{offered} offered, ours {ours:?}: {answer}"
        );
    }
}

#[test]
fn session_level_direction_is_overridden_by_media_level() {
    let text =
        "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\na=inactive\r\n\
m=audio 4000 RTP/AVP 0\r\n";
    let offer = sdp::parse(text).unwrap();
    assert_eq!(
        negotiate(&offer, &local()).unwrap().direction,
        Direction::Inactive
    );
    let offer = sdp::parse(&format!("{text}a=sendonly\r\n")).unwrap();
    assert_eq!(
        negotiate(&offer, &local()).unwrap().direction,
        Direction::SendOnly
    );
}

#[test]
fn only_g729_is_no_common_codec() {
    let text = SIPP_OFFER
        .replace("RTP/AVP 0", "RTP/AVP 18")
        .replace("a=rtpmap:0 PCMU/8000", "a=rtpmap:18 G729/8000");
    let err = negotiate(&sdp::parse(&text).unwrap(), &local()).unwrap_err();
    assert_eq!(err, NegotiationError::NoCommonCodec);
    assert_eq!(err.sip_status(), 488);
}

#[test]
fn rtpmap_overrides_static_meaning() {
    // Payload type 0 remapped to something else is not PCMU.
    let text = SIPP_OFFER.replace("a=rtpmap:0 PCMU/8000", "a=rtpmap:0 G729/8000");
    assert_eq!(
        negotiate(&sdp::parse(&text).unwrap(), &local()),
        Err(NegotiationError::NoCommonCodec)
    );
}

#[test]
fn secure_transports_are_unsupported() {
    for proto in ["RTP/SAVP", "RTP/SAVPF", "UDP/TLS/RTP/SAVPF"] {
        let text = SIPP_OFFER.replace("RTP/AVP", proto);
        assert_eq!(
            negotiate(&sdp::parse(&text).unwrap(), &local()),
            Err(NegotiationError::UnsupportedTransport),
            "{proto}"
        );
    }
    // An RTP/AVP alternative after an SRTP line is taken.
    let text = format!(
        "{}m=audio 6002 RTP/AVP 8\r\n",
        SIPP_OFFER.replace("RTP/AVP", "RTP/SAVP")
    );
    let n = negotiate(&sdp::parse(&text).unwrap(), &local()).unwrap();
    assert_eq!(
        (n.media_index, n.codec, n.remote_port),
        (1, Codec::Pcma, 6002)
    );
    let answer = build_answer(&n, LOCAL_IP, 20000, 1, 1, Direction::SendRecv);
    let first_m = answer.find("m=audio 0 RTP/SAVP 0\r\n").unwrap();
    assert!(first_m < answer.find("m=audio 20000 RTP/AVP 8").unwrap());
}

#[test]
fn no_audio() {
    let video_only = SIPP_OFFER.replace("m=audio", "m=video");
    assert_eq!(
        negotiate(&sdp::parse(&video_only).unwrap(), &local()),
        Err(NegotiationError::NoAudio)
    );
    let disabled = SIPP_OFFER.replace("m=audio 6000", "m=audio 0");
    assert_eq!(
        negotiate(&sdp::parse(&disabled).unwrap(), &local()),
        Err(NegotiationError::NoAudio)
    );
    let no_media = "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\n";
    assert_eq!(
        negotiate(&sdp::parse(no_media).unwrap(), &local()),
        Err(NegotiationError::NoAudio)
    );
}

#[test]
fn missing_connection_is_an_error() {
    let text = SIPP_OFFER.replace("c=IN IP4 127.0.0.1\r\n", "");
    assert_eq!(
        negotiate(&sdp::parse(&text).unwrap(), &local()),
        Err(NegotiationError::NoConnection)
    );
}

#[test]
fn ipv6_offer_and_answer() {
    let text = SIPP_OFFER.replace("IN IP4 127.0.0.1", "IN IP6 2001:db8::7");
    let n = negotiate(&sdp::parse(&text).unwrap(), &local()).unwrap();
    assert_eq!(
        n.remote_address,
        Some("[2001:db8::7]:6000".parse::<SocketAddr>().unwrap())
    );
    let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
    let answer = build_answer(&n, v6, 20000, 1, 1, Direction::SendRecv);
    assert!(answer.contains("c=IN IP6 ::1\r\n"));
    assert!(sdp::parse(&answer).is_ok());
}

#[test]
fn offer_for_outbound_calls() {
    let offer = build_offer(&local(), LOCAL_IP, 40000, 99, 1, Direction::SendRecv);
    let parsed = sdp::parse(&offer).unwrap();
    let m = &parsed.media[0];
    assert_eq!(m.payload_types(), vec![0, 8, 101]);
    assert_eq!(m.rtpmap(101).unwrap().encoding, "telephone-event");
    assert_eq!(m.fmtp(101), Some("0-16"));
    assert_eq!(m.ptime_ms, Some(20));
    assert_eq!(parsed.media_direction(m), Direction::SendRecv);
    // The far end would pick PCMU at 8 kHz events on 101.
    let n = negotiate(&parsed, &local()).unwrap();
    assert_eq!(
        (n.codec, n.telephone_event_payload_type),
        (Codec::Pcmu, Some(101))
    );
}

#[test]
fn parse_records_attributes_and_tolerates_extras() {
    let text = "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=x\r\nc=IN IP4 224.2.1.1/127/3\r\nt=0 0\r\n\
a=ptime:40\r\nb=AS:64\r\nz=junk\r\nm=audio 4000/2 RTP/AVP 0\r\na=ptime:20.0\r\na=unknown\r\n\r\n";
    let s = sdp::parse(text).unwrap();
    assert_eq!(s.session_name, "x");
    assert_eq!(
        s.connection.unwrap().address,
        IpAddr::V4(Ipv4Addr::new(224, 2, 1, 1))
    );
    assert_eq!(s.ptime_ms, Some(40));
    assert_eq!(s.media[0].port_count, Some(2));
    assert_eq!(s.media[0].ptime_ms, Some(20));
}

fn line_of(err: SdpError) -> usize {
    match err {
        SdpError::Line { line, .. } => line,
        other => panic!("expected a line error, got {other:?}"),
    }
}

#[test]
fn errors_name_the_line() {
    let bad_port = SIPP_OFFER.replace("m=audio 6000", "m=audio 99999");
    let err = sdp::parse(&bad_port).unwrap_err();
    assert_eq!(
        err.to_string(),
        "SDP line 6: m= port is not a number 0-65535"
    );
    let bad_c = SIPP_OFFER.replace("127.0.0.1\r\nt", "example.com\r\nt");
    assert_eq!(line_of(sdp::parse(&bad_c).unwrap_err()), 4);
    let bad_rtpmap = SIPP_OFFER.replace("PCMU/8000", "PCMU");
    assert_eq!(line_of(sdp::parse(&bad_rtpmap).unwrap_err()), 7);
    let no_v = SIPP_OFFER.replace("v=0\r\n", "");
    assert_eq!(line_of(sdp::parse(&no_v).unwrap_err()), 1);
    let v1 = SIPP_OFFER.replace("v=0", "v=1");
    assert_eq!(line_of(sdp::parse(&v1).unwrap_err()), 1);
    let no_o = SIPP_OFFER.replace("o=user1 53655765 2353687637 IN IP4 127.0.0.1\r\n", "");
    assert_eq!(sdp::parse(&no_o).unwrap_err(), SdpError::Missing('o'));
    let short_o = SIPP_OFFER.replace("o=user1 53655765", "o=user1");
    assert_eq!(line_of(sdp::parse(&short_o).unwrap_err()), 2);
}

#[test]
fn garbage_is_rejected() {
    for text in [
        "",
        "\r\n\r\n",
        "hello world",
        "v=0",
        "<html><body>nope</body></html>",
        "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nthis is not sdp\r\n",
        "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nX=upper case type\r\n",
        "\u{feff}v=0\r\n",
    ] {
        assert!(sdp::parse(text).is_err(), "{text:?}");
    }
}

#[test]
fn truncated_sdp_never_panics() {
    for text in [SIPP_OFFER, LINPHONE_OFFER, BARESIP_OFFER] {
        for cut in 0..=text.len() {
            if let Ok(s) = sdp::parse(&text[..cut]) {
                let _ = negotiate(&s, &local());
            }
        }
    }
    // A cut in the middle of a c= address is an error, not a wrong address.
    let cut = SIPP_OFFER.find("127.0.0.1\r\nt").unwrap() + 5;
    assert!(sdp::parse(&SIPP_OFFER[..cut]).is_err());
}

#[test]
fn limits_are_enforced() {
    let big = format!(
        "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\n{}",
        "a=x\r\n".repeat(4000)
    );
    assert!(matches!(sdp::parse(&big), Err(SdpError::TooLarge(_))));
    let long_line = format!("{}a={}\r\n", SIPP_OFFER, "x".repeat(1100));
    assert_eq!(line_of(sdp::parse(&long_line).unwrap_err()), 8);
    let mut many =
        String::from("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\n");
    for _ in 0..64 {
        many.push_str("m=audio 0 RTP/AVP 0\r\n");
    }
    assert!(sdp::parse(&many).is_ok());
    many.push_str("m=audio 0 RTP/AVP 0\r\n");
    let err = sdp::parse(&many).unwrap_err();
    assert_eq!(line_of(err.clone()), 70);
    assert!(err.to_string().contains("64"));
}
