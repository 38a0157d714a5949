#![no_main]
//! SIP digest `Authorization` header values.

use libfuzzer_sys::fuzz_target;
use switchboard::sip::digest::parse_authorization;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_authorization(text);
    }
});
