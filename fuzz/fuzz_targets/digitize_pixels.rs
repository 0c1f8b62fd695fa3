//! Fuzz target: arbitrary pixels into the digitizer (`ecgdigitize::digitize_rgb`).
//! Input: width and height (little-endian u16 each, held to 16–640 and 16–480), then RGB
//! bytes, repeated to fill the image (seeds: real pages shrunk to that size). Must
//! return a reading or a clean error, never panic, hang or allocate without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (Some(head), Some(pixels)) = (data.get(..4), data.get(4..)) else {
        return;
    };
    if pixels.is_empty() {
        return;
    }
    let w = u32::from(u16::from_le_bytes([head[0], head[1]])).clamp(16, 640);
    let h = u32::from(u16::from_le_bytes([head[2], head[3]])).clamp(16, 480);
    let n = (w * h * 3) as usize;
    let buf: Vec<u8> = pixels.iter().copied().cycle().take(n).collect();
    let Some(img) = image::RgbImage::from_raw(w, h, buf) else {
        return;
    };
    let options = ecgdigitize::DigitizeOptions::default();
    let _ = ecgdigitize::digitize_rgb(&img, std::path::Path::new("fuzz.png"), &options);
});
