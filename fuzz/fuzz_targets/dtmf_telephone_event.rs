#![no_main]
//! RFC 4733 telephone-events: a stream of packets, each framed in the input as
//! 4-byte RTP timestamp, 1 byte (marker bit + payload length), then the payload.

use libfuzzer_sys::fuzz_target;
use switchboard::media::dtmf::TelephoneEventReceiver;

fuzz_target!(|data: &[u8]| {
    let mut receiver = TelephoneEventReceiver::new();
    let mut rest = data;
    while rest.len() >= 5 {
        let timestamp = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
        let marker = rest[4] & 0x80 != 0;
        let len = usize::from(rest[4] & 0x7F).min(rest.len() - 5);
        let payload = &rest[5..5 + len];
        let _ = receiver.on_packet(timestamp, marker, payload);
        rest = &rest[5 + len..];
    }
});
