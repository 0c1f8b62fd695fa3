//! Fuzz target: arbitrary bytes into the dicom reader (`ecgcore::formats::dicom::read_bytes`).
//! Must return Ok or a clean Err, never panic, hang or allocate without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::path::Path::new("fuzz.dicom");
    if let Ok(rec) = ecgcore::formats::dicom::read_bytes(data, path) {
        let _ = rec.validate();
    }
});
