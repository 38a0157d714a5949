#![no_main]
//! Dialplan files: parse and validate any text, with every prompt present.

use libfuzzer_sys::fuzz_target;
use switchboard::dialplan::parse_and_validate;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let catalog = |_: &str, _: &str| true;
    let _ = parse_and_validate("fuzz.toml", text, &catalog);
});
