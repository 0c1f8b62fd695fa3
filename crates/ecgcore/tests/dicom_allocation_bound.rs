//! The DICOM reader's allocations are bounded by the file size: a counting global
//! allocator records the largest single allocation while mutated DICOM files (the real
//! samples in `../shared/data/formats` and the minimal synthetic one) are read, and
//! refuses any allocation over 256 MB outright, so a regression aborts this test binary
//! instead of zero-filling gigabytes (the 4 GB fuzz findings in `binary_robustness.rs`).
//!
//! Mutations: bit flips, "interesting" bytes, random 1–4 byte overwrites (lengths),
//! item/delimiter tags written anywhere, chunk deletion and duplication; a fixed seed, so
//! a failure names a reproducible iteration.
#![allow(
    unsafe_code,
    reason = "a counting global allocator (delegates to System) is the only way to observe allocation sizes"
)]

use ecgcore::formats::dicom;
use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Largest single allocation since the last reset.
static LARGEST: AtomicUsize = AtomicUsize::new(0);
/// Allocations above this are refused (the process aborts with "memory allocation failed").
const REFUSE_ABOVE: usize = 256 * 1024 * 1024;

struct Counting;

// SAFETY: every call is forwarded unchanged to `System`, except that requests over
// `REFUSE_ABOVE` get a null pointer, which the `GlobalAlloc` contract allows.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if note(layout.size()) {
            // SAFETY: same layout, forwarded.
            unsafe { System.alloc(layout) }
        } else {
            std::ptr::null_mut()
        }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if note(layout.size()) {
            // SAFETY: same layout, forwarded.
            unsafe { System.alloc_zeroed(layout) }
        } else {
            std::ptr::null_mut()
        }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if note(new_size) {
            // SAFETY: `ptr` came from `System` with this layout.
            unsafe { System.realloc(ptr, layout, new_size) }
        } else {
            std::ptr::null_mut()
        }
    }
}

/// Record an allocation size; false = refuse it.
fn note(size: usize) -> bool {
    LARGEST.fetch_max(size, Ordering::Relaxed);
    size <= REFUSE_ABOVE
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn samples() -> Vec<(String, Vec<u8>)> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = vec![here.join("tests/data/bad/dicom_valid_minimal.dcm")];
    let shared = here.join("../../../shared/data/formats");
    if shared.is_dir() {
        paths.push(shared.join("ecgtoolkit_examples/Example.dcm"));
        paths.push(shared.join("dicom_ecg/waveform_ecg.dcm"));
    } else {
        ecgcore::testing::skip("(partly) ../shared/data/formats absent; only the synthetic sample");
    }
    paths
        .into_iter()
        .map(|p: PathBuf| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect()
}

/// xorshift64*.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n.max(1) as u64).unwrap_or(0)
    }
}

fn mutate(rng: &mut Rng, b: &mut Vec<u8>) {
    const TAGS: [[u8; 4]; 3] = [
        [0xFE, 0xFF, 0x00, 0xE0], // item
        [0xFE, 0xFF, 0x0D, 0xE0], // item delimiter
        [0xFE, 0xFF, 0xDD, 0xE0], // sequence delimiter
    ];
    for _ in 0..=rng.below(6) {
        if b.is_empty() {
            return;
        }
        let i = rng.below(b.len());
        match rng.below(6) {
            0 => b[i] ^= 1 << rng.below(8),
            1 => b[i] = [0u8, 0xFF, 0x7F, 0x80, 1, 0xFE][rng.below(6)],
            2 => {
                let v = rng.next().to_le_bytes();
                for (k, x) in v.iter().take(1 + rng.below(4)).enumerate() {
                    if let Some(d) = b.get_mut(i + k) {
                        *d = *x;
                    }
                }
            }
            3 => {
                for (k, x) in TAGS[rng.below(3)].iter().enumerate() {
                    if let Some(d) = b.get_mut(i + k) {
                        *d = *x;
                    }
                }
            }
            4 => {
                let len = rng.below(16).min(b.len() - i);
                b.drain(i..i + len);
            }
            _ => {
                let len = rng.below(16).min(b.len() - i);
                let chunk = b[i..i + len].to_vec();
                b.splice(i..i, chunk);
            }
        }
    }
}

#[test]
fn dicom_allocations_stay_within_a_small_multiple_of_the_file_size() {
    let iters: usize = std::env::var("DICOM_ALLOC_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    // the 4 GB fuzz finding itself
    let bad = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/bad/dicom_fuzz_oom_implicit_vr_annotations.dcm");
    let bytes = std::fs::read(&bad).unwrap();
    LARGEST.store(0, Ordering::Relaxed);
    assert!(dicom::read_bytes(&bytes, &bad).is_err());
    let largest = LARGEST.load(Ordering::Relaxed);
    assert!(
        largest <= 4 * bytes.len(),
        "{largest} bytes allocated at once"
    );

    let samples = samples();
    let mut rng = Rng(0x5EED_D1C0_u64);
    let (mut ok, mut refused, mut worst) = (0usize, 0usize, 0.0f64);
    for it in 0..iters {
        let (name, orig) = &samples[rng.below(samples.len())];
        let mut b = orig.clone();
        mutate(&mut rng, &mut b);
        LARGEST.store(0, Ordering::Relaxed);
        let result = dicom::read_bytes(&b, Path::new("mutated.dcm"));
        let largest = LARGEST.load(Ordering::Relaxed);
        // f32 samples from 8-bit stored values are 4× the bytes; 1 MB slack for tables
        let bound = 4 * b.len() + (1 << 20);
        assert!(
            largest <= bound,
            "iteration {it} ({name} mutated): one allocation of {largest} bytes, bound {bound}"
        );
        worst = worst.max(largest as f64 / b.len().max(1) as f64);
        if result.is_ok() {
            ok += 1;
        } else {
            refused += 1;
        }
    }
    eprintln!(
        "{iters} mutated DICOM files: {ok} read, {refused} refused; largest single allocation {worst:.2}× the file size"
    );
}
