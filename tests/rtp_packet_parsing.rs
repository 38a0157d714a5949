//! RTP header parsing and building (RFC 3550 §5.1, §5.3.1) and RTCP
//! demultiplexing (RFC 5761 §4).

use switchboard::media::rtp::{
    self, is_rtcp, sequence_newer, write_header, RtpError, RtpPacket, RtpSender,
};

fn header(b0: u8, b1: u8) -> Vec<u8> {
    let mut p = vec![
        b0, b1, 0x12, 0x34, 0xDE, 0xAD, 0xBE, 0xEF, 0x01, 0x02, 0x03, 0x04,
    ];
    p.reserve(64);
    p
}

#[test]
fn parses_minimal_packet() {
    let mut p = header(0x80, 0x80 | 8);
    p.extend_from_slice(&[0xD5; 160]);
    let pkt = RtpPacket::parse(&p).unwrap();
    assert_eq!(pkt.version, 2);
    assert!(pkt.marker);
    assert!(!pkt.padding);
    assert_eq!(pkt.payload_type, 8);
    assert_eq!(pkt.sequence, 0x1234);
    assert_eq!(pkt.timestamp, 0xDEAD_BEEF);
    assert_eq!(pkt.ssrc, 0x0102_0304);
    assert_eq!(pkt.csrc_count(), 0);
    assert!(pkt.extension.is_none());
    assert_eq!(pkt.payload.len(), 160);
    // The payload borrows the input buffer.
    assert_eq!(pkt.payload.as_ptr(), p[12..].as_ptr());
    assert_eq!(rtp::parse(&p), Ok(pkt));
}

#[test]
fn empty_payload_is_allowed() {
    let p = header(0x80, 0);
    assert_eq!(RtpPacket::parse(&p).unwrap().payload, &[] as &[u8]);
}

#[test]
fn skips_csrc_list() {
    let mut p = header(0x82, 0);
    p.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2]);
    p.extend_from_slice(b"abc");
    let pkt = RtpPacket::parse(&p).unwrap();
    assert_eq!(pkt.csrc_count(), 2);
    assert_eq!(pkt.csrcs().collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(pkt.payload, b"abc");
}

#[test]
fn skips_header_extension() {
    let mut p = header(0x91, 0); // X bit + one CSRC
    p.extend_from_slice(&[0, 0, 0, 9]);
    p.extend_from_slice(&[0xBE, 0xDE, 0, 2]); // 2 words of extension
    p.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
    p.extend_from_slice(b"xyz");
    let pkt = RtpPacket::parse(&p).unwrap();
    let ext = pkt.extension.unwrap();
    assert_eq!(ext.profile, 0xBEDE);
    assert_eq!(ext.data, &[1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(pkt.payload, b"xyz");
}

#[test]
fn strips_padding() {
    let mut p = header(0xA0, 0);
    p.extend_from_slice(b"data");
    p.extend_from_slice(&[0, 0, 3]);
    let pkt = RtpPacket::parse(&p).unwrap();
    assert!(pkt.padding);
    assert_eq!(pkt.payload, b"data");

    // Padding may consume the whole payload.
    let mut p = header(0xA0, 0);
    p.extend_from_slice(&[0, 0, 0, 4]);
    assert_eq!(RtpPacket::parse(&p).unwrap().payload, &[] as &[u8]);
}

#[test]
fn rejects_bad_packets() {
    assert_eq!(RtpPacket::parse(&[]), Err(RtpError::TooShort(0)));
    assert_eq!(RtpPacket::parse(&[0x80; 11]), Err(RtpError::TooShort(11)));
    for v in [0u8, 1, 3] {
        let p = header(v << 6, 0);
        assert_eq!(RtpPacket::parse(&p), Err(RtpError::BadVersion(v)));
    }
    // CC=15 but no CSRCs.
    let p = header(0x8F, 0);
    assert_eq!(RtpPacket::parse(&p), Err(RtpError::TruncatedCsrc));
    // X bit with no room for the extension preamble.
    let mut p = header(0x90, 0);
    p.extend_from_slice(&[0xBE, 0xDE]);
    assert_eq!(RtpPacket::parse(&p), Err(RtpError::TruncatedExtension));
    // Extension claiming more words than present.
    let mut p = header(0x90, 0);
    p.extend_from_slice(&[0xBE, 0xDE, 0xFF, 0xFF, 1, 2, 3, 4]);
    assert_eq!(RtpPacket::parse(&p), Err(RtpError::TruncatedExtension));
    // Padding longer than the payload.
    let mut p = header(0xA0, 0);
    p.extend_from_slice(&[1, 2, 9]);
    assert_eq!(RtpPacket::parse(&p), Err(RtpError::BadPadding(9)));
    // Zero padding count is invalid (it counts itself).
    let mut p = header(0xA0, 0);
    p.extend_from_slice(&[1, 2, 0]);
    assert_eq!(RtpPacket::parse(&p), Err(RtpError::BadPadding(0)));
    // P bit with no byte after the header at all.
    let p = header(0xA0, 0);
    assert_eq!(RtpPacket::parse(&p), Err(RtpError::BadPadding(0)));
}

#[test]
fn write_header_round_trips() {
    let mut h = [0u8; 12];
    write_header(&mut h, true, 0xFF, 65535, u32::MAX, 42);
    let pkt = RtpPacket::parse(&h).unwrap();
    assert!(pkt.marker);
    assert_eq!(pkt.payload_type, 0x7F);
    assert_eq!(pkt.sequence, 65535);
    assert_eq!(pkt.timestamp, u32::MAX);
    assert_eq!(pkt.ssrc, 42);
}

#[test]
fn sender_builds_consecutive_packets_and_wraps() {
    let mut tx = RtpSender::new(0xCAFE_F00D, 65534, u32::MAX - 159);
    let mut out = Vec::with_capacity(200);
    let payload = [0xFFu8; 160];

    tx.next_packet(0, &payload, 160, true, &mut out);
    let p1 = RtpPacket::parse(&out).unwrap();
    assert_eq!(
        (p1.sequence, p1.timestamp, p1.marker),
        (65534, u32::MAX - 159, true)
    );
    assert_eq!(p1.ssrc, 0xCAFE_F00D);
    assert_eq!(p1.payload, &payload[..]);

    let ptr = out.as_ptr();
    tx.next_packet(0, &payload, 160, false, &mut out);
    assert_eq!(out.as_ptr(), ptr, "reused buffer was reallocated");
    let p2 = RtpPacket::parse(&out).unwrap();
    assert_eq!((p2.sequence, p2.timestamp, p2.marker), (65535, 0, false));

    tx.next_packet(0, &payload, 160, false, &mut out);
    let p3 = RtpPacket::parse(&out).unwrap();
    assert_eq!((p3.sequence, p3.timestamp), (0, 160));
    assert_eq!(out.len(), 172, "buffer is cleared, not appended to");
    assert_eq!(tx.packet_count, 3);
    assert_eq!(tx.octet_count, 480);
}

#[test]
fn sender_packet_at_keeps_media_clock() {
    let mut tx = RtpSender::new(1, 10, 1000);
    let mut out = Vec::new();
    tx.packet_at(101, &[1, 0, 0, 160], 840, true, &mut out);
    let p = RtpPacket::parse(&out).unwrap();
    assert_eq!((p.sequence, p.timestamp, p.payload_type), (10, 840, 101));
    assert_eq!(tx.next_timestamp, 1000);
    tx.skip(320);
    tx.next_packet(0, &[], 160, false, &mut out);
    let p = RtpPacket::parse(&out).unwrap();
    assert_eq!((p.sequence, p.timestamp), (11, 1320));
}

#[test]
fn rtcp_is_told_apart_from_rtp() {
    // RTCP SR, RR, SDES, BYE, APP (types 200-204) and feedback (205/206).
    for pt in 200..=206u8 {
        assert!(is_rtcp(&[0x80, pt, 0, 6]), "type {pt}");
    }
    // RTP with and without marker, PCMU, PCMA and a dynamic type.
    for b1 in [0u8, 8, 0x80, 0x88, 101, 0x80 | 101, 127, 0xFF] {
        assert!(!is_rtcp(&[0x80, b1, 0, 1]), "byte {b1}");
    }
    // Wrong version or too short.
    assert!(!is_rtcp(&[0x40, 200]));
    assert!(!is_rtcp(&[0x80]));
    assert!(!is_rtcp(&[]));
}

#[test]
fn sequence_comparison_wraps() {
    assert!(sequence_newer(1, 0));
    assert!(sequence_newer(0, 65535));
    assert!(!sequence_newer(65535, 0));
    assert!(!sequence_newer(5, 5));
}

mod source_learning {
    use std::net::SocketAddr;
    use switchboard::media::rtp::{SourceLearning, SourceVerdict, SOURCE_PROBATION};

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn the_signalled_address_is_taken_at_once() {
        let mut learning = SourceLearning::new(Some(addr(4000)));
        assert_eq!(learning.check(addr(4000), 7, 1), SourceVerdict::Latch);
        assert_eq!(learning.check(addr(4000), 7, 2), SourceVerdict::Accept);
        assert_eq!(learning.latched(), Some(addr(4000)));
    }

    #[test]
    fn a_stray_stream_is_dropped_once_the_signalled_address_is_heard() {
        let mut learning = SourceLearning::new(Some(addr(4000)));
        learning.check(addr(4000), 7, 1);
        for sequence in 0..20 {
            assert_eq!(learning.check(addr(5000), 9, sequence), SourceVerdict::Drop);
        }
        assert_eq!(learning.latched(), Some(addr(4000)));
    }

    #[test]
    fn a_natted_source_is_learnt_after_probation() {
        let mut learning = SourceLearning::new(Some(SocketAddr::from(([192, 168, 1, 10], 4000))));
        for sequence in 100..100 + u16::from(SOURCE_PROBATION) - 1 {
            assert_eq!(
                learning.check(addr(30000), 7, sequence),
                SourceVerdict::Drop
            );
        }
        assert_eq!(
            learning.check(addr(30000), 7, 100 + u16::from(SOURCE_PROBATION) - 1),
            SourceVerdict::Latch
        );
        assert_eq!(learning.check(addr(30000), 7, 200), SourceVerdict::Accept);
        // Later, a second source gets nothing.
        for sequence in 0..10 {
            assert_eq!(
                learning.check(addr(31000), 8, sequence),
                SourceVerdict::Drop
            );
        }
    }

    #[test]
    fn probation_restarts_on_a_gap_a_new_ssrc_or_another_source() {
        let mut learning = SourceLearning::new(None);
        learning.check(addr(30000), 7, 1);
        learning.check(addr(30000), 7, 2);
        // A gap in sequence.
        assert_eq!(learning.check(addr(30000), 7, 5), SourceVerdict::Drop);
        assert_eq!(learning.check(addr(30000), 7, 6), SourceVerdict::Drop);
        // Another SSRC from the same address.
        assert_eq!(learning.check(addr(30000), 8, 7), SourceVerdict::Drop);
        // A stray stream interleaved with the caller's does not reset the
        // caller's probation: the caller (in sequence) is learnt.
        let mut learning = SourceLearning::new(None);
        let mut verdicts = Vec::new();
        for sequence in 10..14u16 {
            learning.check(addr(31000), 9, sequence.wrapping_mul(7));
            verdicts.push(learning.check(addr(30000), 7, sequence));
        }
        assert_eq!(verdicts.last(), Some(&SourceVerdict::Latch));
        assert_eq!(learning.latched(), Some(addr(30000)));
        // Sequence numbers wrap.
        let mut learning = SourceLearning::new(None);
        let verdicts: Vec<_> = [65534u16, 65535, 0, 1]
            .into_iter()
            .map(|sequence| learning.check(addr(30000), 7, sequence))
            .collect();
        assert_eq!(verdicts.last(), Some(&SourceVerdict::Latch));
    }

    #[test]
    fn the_signalled_address_wins_back_a_call_learnt_from_elsewhere() {
        let mut learning = SourceLearning::new(Some(addr(4000)));
        for sequence in 0..u16::from(SOURCE_PROBATION) {
            learning.check(addr(5000), 9, sequence);
        }
        assert_eq!(learning.latched(), Some(addr(5000)));
        assert_eq!(learning.check(addr(4000), 7, 1), SourceVerdict::Latch);
        assert_eq!(learning.check(addr(5000), 9, 10), SourceVerdict::Drop);
    }
}
