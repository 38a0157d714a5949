#![no_main]
//! SIP datagram screening: any bytes from the network.

use libfuzzer_sys::fuzz_target;
use switchboard::sip::screen::{screen, Verdict};

fuzz_target!(|data: &[u8]| {
    if let Verdict::Reply(rejection) = screen(data) {
        let _ = rejection.to_bytes("switchboard-fuzz");
    }
});
