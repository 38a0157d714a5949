//! Untrusted bytes from the network must never panic any parser. A fixed
//! seed keeps failures reproducible.

use switchboard::media::dtmf::{InbandDtmfDetector, TelephoneEventReceiver};
use switchboard::media::g711::{decode_into, Codec};
use switchboard::media::rtp::{self, is_rtcp};
use switchboard::media::sdp::{self, LocalMediaConfig};
use switchboard::media::tone::XorShift64;

fn random_len(rng: &mut XorShift64, max: usize) -> usize {
    (rng.next_u32() as usize) % (max + 1)
}

#[test]
fn random_bytes_into_rtp_parse() {
    let mut rng = XorShift64::new(0x5EED_0001);
    let mut buf = [0u8; 256];
    let mut parsed = 0;
    for _ in 0..200_000 {
        let len = random_len(&mut rng, 96);
        rng.fill_bytes(&mut buf[..len]);
        // Bias half the inputs towards version 2 so deeper checks run.
        if len > 0 && rng.next_u32() & 1 == 0 {
            buf[0] = (buf[0] & 0x3F) | 0x80;
        }
        let bytes = &buf[..len];
        let _ = is_rtcp(bytes);
        if let Ok(p) = rtp::parse(bytes) {
            parsed += 1;
            // Every part of a successful parse lies within the input.
            assert!(p.payload.len() + 12 <= len);
            assert_eq!(p.csrcs().count(), p.csrc_count());
        }
    }
    assert!(parsed > 1000, "generator never produced valid packets");
}

#[test]
fn mutated_valid_rtp_packets() {
    let mut rng = XorShift64::new(0x5EED_0002);
    let mut base = vec![
        0x80u8 | 0x20 | 0x10 | 0x02,
        0x80,
        0,
        1,
        0,
        0,
        0,
        160,
        1,
        2,
        3,
        4,
    ];
    base.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2]); // 2 CSRCs
    base.extend_from_slice(&[0xBE, 0xDE, 0, 1, 0x10, 0xAA, 0, 0]); // extension
    base.extend_from_slice(&[0xFF; 20]);
    base.extend_from_slice(&[0, 0, 3]); // padding
    assert!(rtp::parse(&base).is_ok());
    for _ in 0..100_000 {
        let mut p = base.clone();
        for _ in 0..1 + random_len(&mut rng, 3) {
            let i = random_len(&mut rng, p.len() - 1);
            p[i] ^= 1 << (rng.next_u32() % 8);
        }
        let cut = random_len(&mut rng, p.len());
        let _ = rtp::parse(&p[..cut]);
        let _ = rtp::parse(&p);
    }
}

#[test]
fn random_payloads_into_telephone_event_receiver() {
    let mut rng = XorShift64::new(0x5EED_0003);
    let mut rx = TelephoneEventReceiver::new();
    let mut buf = [0u8; 16];
    let mut reported = 0usize;
    for i in 0..200_000u32 {
        let len = random_len(&mut rng, 8);
        rng.fill_bytes(&mut buf[..len]);
        // Mix in small event codes and clustered timestamps so the
        // history/reorder paths are hit, not just "unknown event".
        if len > 0 && rng.next_u32() & 1 == 0 {
            buf[0] &= 0x0F;
        }
        let ts = match rng.next_u32() % 4 {
            0 => rng.next_u32(),
            _ => i.wrapping_mul(97) & !0x3F,
        };
        let marker = rng.next_u32() & 1 == 1;
        if let Some(d) = rx.on_packet(ts, marker, &buf[..len]) {
            assert!("0123456789*#ABCD".contains(d));
            reported += 1;
        }
    }
    assert!(reported > 0);
}

#[test]
fn random_text_into_sdp_parse() {
    let mut rng = XorShift64::new(0x5EED_0004);
    let local = LocalMediaConfig::default();
    let mut buf = vec![0u8; 2048];
    for _ in 0..5_000 {
        let len = random_len(&mut rng, buf.len());
        rng.fill_bytes(&mut buf[..len]);
        let text = String::from_utf8_lossy(&buf[..len]);
        if let Ok(s) = sdp::parse(&text) {
            let _ = sdp::negotiate(&s, &local);
        }
    }
}

#[test]
fn structured_junk_into_sdp_parse() {
    // Lines assembled from SDP-shaped fragments reach far deeper than raw
    // random bytes, which fail on line 1.
    const TYPES: &[&str] = &["v=", "o=", "s=", "c=", "t=", "m=", "a=", "b=", "x", ""];
    const WORDS: &[&str] = &[
        "0",
        "IN",
        "IP4",
        "IP6",
        "127.0.0.1",
        "::1",
        "0.0.0.0",
        "audio",
        "video",
        "RTP/AVP",
        "RTP/SAVP",
        "rtpmap:",
        "fmtp:",
        "ptime:",
        "sendonly",
        "recvonly",
        "inactive",
        "PCMU/8000",
        "PCMA/8000",
        "telephone-event/8000",
        "/",
        ":",
        " ",
        "65536",
        "-1",
        "8",
        "101",
        "99999999999",
        "\t",
        "é",
        "\r",
        "1.2.3",
        "20.5",
        "abc",
    ];
    let mut rng = XorShift64::new(0x5EED_0005);
    let local = LocalMediaConfig::default();
    let mut ok = 0;
    for _ in 0..20_000 {
        let mut text = String::from("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\n");
        for _ in 0..random_len(&mut rng, 12) {
            text.push_str(TYPES[random_len(&mut rng, TYPES.len() - 1)]);
            for _ in 0..random_len(&mut rng, 6) {
                text.push_str(WORDS[random_len(&mut rng, WORDS.len() - 1)]);
                if rng.next_u32() & 1 == 0 {
                    text.push(' ');
                }
            }
            text.push_str(if rng.next_u32() & 1 == 0 {
                "\r\n"
            } else {
                "\n"
            });
        }
        if let Ok(s) = sdp::parse(&text) {
            ok += 1;
            if let Ok(n) = sdp::negotiate(&s, &local) {
                let answer = sdp::build_answer(
                    &n,
                    "10.0.0.1".parse().unwrap(),
                    1000,
                    1,
                    1,
                    sdp::Direction::SendRecv,
                );
                // Our own answers always parse.
                assert!(sdp::parse(&answer).is_ok(), "{answer}");
            }
        }
    }
    assert!(ok > 100);
}

#[test]
fn random_audio_into_decoders_and_inband_detector() {
    let mut rng = XorShift64::new(0x5EED_0006);
    let mut det = InbandDtmfDetector::new();
    let mut digits = Vec::new();
    let mut bytes = [0u8; 160];
    let mut pcm = Vec::with_capacity(160);
    for i in 0..2_000 {
        rng.fill_bytes(&mut bytes);
        pcm.clear();
        let codec = if i % 2 == 0 { Codec::Pcmu } else { Codec::Pcma };
        decode_into(codec, &bytes, &mut pcm);
        det.process(&pcm, &mut digits);
    }
    // Full-scale extremes must not overflow anything either.
    det.process(&[i16::MIN; 1000], &mut digits);
    det.process(&[i16::MAX; 1000], &mut digits);
    assert!(digits.is_empty(), "noise produced digits {digits:?}");
}
