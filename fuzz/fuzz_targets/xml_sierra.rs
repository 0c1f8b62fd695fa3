//! Fuzz target: arbitrary bytes into the sierra XML reader (`ecgcore::formats::sierra`).
//! Must return Ok or a clean Err, never panic, hang or allocate without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::path::Path::new("fuzz.xml");
    if let Ok(rec) = ecgcore::formats::sierra::read_sierra_bytes(path, data) {
        let _ = rec.validate();
    }
});
