#![no_main]
//! Lead lists: any CSV upload, with no-op callbacks.

use libfuzzer_sys::fuzz_target;
use switchboard::dialer::list::{load_csv, ColumnMapping, LoadOptions};

fuzz_target!(|data: &[u8]| {
    let mapping = ColumnMapping::new("phone");
    let options = LoadOptions {
        batch_size: 4,
        max_problems_kept: 8,
        ..LoadOptions::default()
    };
    let _ = load_csv(
        data,
        &mapping,
        &options,
        &mut |_| false,
        &mut |_| Ok(()),
        &mut |_| {},
    );
});
