#![no_main]
//! RTP packets: any datagram arriving on a media port.

use libfuzzer_sys::fuzz_target;
use switchboard::media::rtp::{self, RtpPacket};

fuzz_target!(|data: &[u8]| {
    let _ = rtp::is_rtcp(data);
    if let Ok(packet) = RtpPacket::parse(data) {
        let _ = packet.csrc_count();
        let _ = packet.csrcs().count();
    }
});
