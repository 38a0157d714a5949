//! RFC 4733 telephone-event reception: one digit per event, whatever the
//! network does to its packets.

use switchboard::media::dtmf::{
    digit_to_event, event_to_digit, telephone_event_packets, TelephoneEvent, TelephoneEventReceiver,
};

type Packet = (bool, u32, [u8; 4]);

fn feed(rx: &mut TelephoneEventReceiver, packets: &[Packet]) -> String {
    packets
        .iter()
        .filter_map(|(m, ts, p)| rx.on_packet(*ts, *m, p))
        .collect()
}

fn press(digit: char, ts: u32) -> Vec<Packet> {
    // 100 ms at 8 kHz, one packet per 20 ms.
    telephone_event_packets(digit, ts, 800, 160, 10)
}

#[test]
fn sender_helper_shape() {
    let p = press('5', 1000);
    // Updates at 160..640, then three ends at 800.
    assert_eq!(p.len(), 4 + 3);
    assert!(p[0].0, "first packet has the marker");
    assert!(p[1..].iter().all(|x| !x.0));
    assert!(p.iter().all(|x| x.1 == 1000));
    let first = TelephoneEvent::parse(&p[0].2).unwrap();
    assert_eq!(
        (first.event, first.end, first.volume, first.duration),
        (5, false, 10, 160)
    );
    for end in &p[4..] {
        let e = TelephoneEvent::parse(&end.2).unwrap();
        assert!(e.end);
        assert_eq!(e.duration, 800);
    }
    assert!(telephone_event_packets('x', 0, 800, 160, 10).is_empty());
    // Shorter than one interval: only the (marked) end packets.
    let short = telephone_event_packets('1', 0, 100, 160, 10);
    assert_eq!(short.len(), 3);
    assert!(short[0].0);
}

#[test]
fn event_codes_map_to_digits() {
    let digits = "0123456789*#ABCD";
    for (code, d) in digits.chars().enumerate() {
        assert_eq!(event_to_digit(code as u8), Some(d));
        assert_eq!(digit_to_event(d), Some(code as u8));
    }
    assert_eq!(digit_to_event('b'), Some(13));
    assert_eq!(event_to_digit(16), None);
}

#[test]
fn repeated_end_packets_count_once() {
    let mut rx = TelephoneEventReceiver::new();
    assert_eq!(feed(&mut rx, &press('7', 0)), "7");
    // A duplicated burst of the same ends (e.g. network duplication).
    assert_eq!(feed(&mut rx, &press('7', 0)[4..]), "");
}

#[test]
fn sequence_of_digits() {
    let mut rx = TelephoneEventReceiver::new();
    let mut all = Vec::new();
    for (i, d) in "1234#*0ABCD".chars().enumerate() {
        all.extend(press(d, 1600 * i as u32));
    }
    assert_eq!(feed(&mut rx, &all), "1234#*0ABCD");
}

#[test]
fn lost_start_packet_still_reports_digit_once() {
    let mut rx = TelephoneEventReceiver::new();
    let p = press('9', 5000);
    assert_eq!(feed(&mut rx, &p[1..]), "9");
    // Even with only the end packets left.
    let mut rx = TelephoneEventReceiver::new();
    assert_eq!(feed(&mut rx, &p[4..]), "9");
}

#[test]
fn lost_end_packets_do_not_block_next_digit() {
    let mut rx = TelephoneEventReceiver::new();
    let a = press('3', 0);
    let b = press('3', 2400);
    let c = press('4', 4800);
    let mut stream: Vec<Packet> = a[..4].to_vec();
    stream.extend_from_slice(&b);
    stream.extend_from_slice(&c[..2]);
    assert_eq!(feed(&mut rx, &stream), "334");
}

#[test]
fn reordered_packets_report_once() {
    let mut rx = TelephoneEventReceiver::new();
    let mut p = press('6', 100);
    p.reverse();
    assert_eq!(feed(&mut rx, &p), "6");

    // A late end packet of the previous digit arriving after the next digit
    // started must not re-report the previous digit.
    let mut rx = TelephoneEventReceiver::new();
    let a = press('1', 0);
    let b = press('2', 1200);
    let mut stream: Vec<Packet> = a[..6].to_vec();
    stream.extend_from_slice(&b[..2]);
    stream.push(a[6]);
    stream.extend_from_slice(&b[2..]);
    assert_eq!(feed(&mut rx, &stream), "12");
}

#[test]
fn late_first_packet_of_an_earlier_event_is_still_reported() {
    // The whole of a short event overtaken by the next one: both digits.
    let mut rx = TelephoneEventReceiver::new();
    let a = press('1', 0);
    let b = press('2', 1200);
    let mut stream: Vec<Packet> = b[..2].to_vec();
    stream.extend_from_slice(&a);
    stream.extend_from_slice(&b[2..]);
    assert_eq!(feed(&mut rx, &stream), "21");
}

#[test]
fn same_digit_twice_is_two_events() {
    let mut rx = TelephoneEventReceiver::new();
    let mut stream = press('5', 0);
    stream.extend(press('5', 1600));
    assert_eq!(feed(&mut rx, &stream), "55");
}

#[test]
fn timestamp_wrap_around() {
    let mut rx = TelephoneEventReceiver::new();
    let first = u32::MAX - 500;
    let mut stream = press('8', first);
    stream.extend(press('9', first.wrapping_add(1600)));
    stream.extend(press('9', first.wrapping_add(3200)));
    // A stray late duplicate of the first event after the wrap.
    stream.push(press('8', first)[6]);
    assert_eq!(feed(&mut rx, &stream), "899");
}

#[test]
fn stale_packet_outside_reorder_window_is_dropped() {
    let mut rx = TelephoneEventReceiver::new();
    assert_eq!(feed(&mut rx, &press('1', 100_000)), "1");
    // An event that "started" 10 s earlier is not a new press.
    assert_eq!(feed(&mut rx, &press('2', 20_000)), "");
}

#[test]
fn non_dtmf_events_and_malformed_payloads_are_ignored() {
    let mut rx = TelephoneEventReceiver::new();
    // Flash (16) and a tone event (e.g. 32).
    assert_eq!(rx.on_packet(0, true, &[16, 0x0A, 0, 160]), None);
    assert_eq!(rx.on_packet(160, true, &[32, 0x0A, 0, 160]), None);
    assert_eq!(rx.on_packet(320, true, &[]), None);
    assert_eq!(rx.on_packet(320, true, &[1, 2, 3]), None);
    // The malformed packet did not poison timestamp 320.
    assert_eq!(rx.on_packet(320, true, &[1, 0x0A, 0, 160]), Some('1'));
}

#[test]
fn long_event_segments_are_one_press() {
    // RFC 4733 §2.5.1.3: a press longer than 0xFFFF ticks continues under a
    // new timestamp at the end of the previous segment.
    let mut rx = TelephoneEventReceiver::new();
    let seg = |dur: u16, end: bool| -> [u8; 4] {
        TelephoneEvent {
            event: 0,
            end,
            volume: 10,
            duration: dur,
        }
        .to_bytes()
    };
    assert_eq!(rx.on_packet(0, true, &seg(160, false)), Some('0'));
    assert_eq!(rx.on_packet(0, false, &seg(0xFFFF, false)), None);
    assert_eq!(rx.on_packet(0xFFFF, false, &seg(800, false)), None);
    assert_eq!(rx.on_packet(0xFFFF, false, &seg(960, true)), None);
    // A genuinely new press afterwards.
    assert_eq!(
        rx.on_packet(0xFFFF + 4000, true, &seg(160, false)),
        Some('0')
    );
}
