//! Fuzz target: arbitrary bytes into the Philips XLI decoder (`ecgcore::formats::sierra_xli`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = ecgcore::formats::sierra_xli::decode(data, 1 << 22, 64);
});
