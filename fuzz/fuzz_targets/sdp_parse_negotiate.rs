#![no_main]
//! SDP offers: parse, negotiate and answer whatever parses.

use std::net::{IpAddr, Ipv4Addr};

use libfuzzer_sys::fuzz_target;
use switchboard::media::sdp::{self, Direction, LocalMediaConfig};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(offer) = sdp::parse(text) else {
        return;
    };
    for m in &offer.media {
        let _ = offer.media_direction(m);
        let _ = offer.media_connection(m);
        for pt in m.payload_types() {
            let _ = m.rtpmap(pt);
            let _ = m.fmtp(pt);
        }
    }
    let local = LocalMediaConfig::default();
    if let Ok(negotiated) = sdp::negotiate(&offer, &local) {
        let _ = sdp::build_answer(
            &negotiated,
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            4000,
            1,
            1,
            Direction::SendRecv,
        );
    }
});
