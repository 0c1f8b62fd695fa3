//! Fuzz target: arbitrary bytes into the aecg XML reader (`ecgcore::formats::aecg`).
//! Must return Ok or a clean Err, never panic, hang or allocate without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::path::Path::new("fuzz.xml");
    if let Ok(rec) = ecgcore::formats::aecg::read_aecg_bytes(path, data) {
        let _ = rec.validate();
    }
});
