//! Robustness of the binary readers (SCP-ECG, DICOM waveform, EDF/EDF+/BDF): the bad-file
//! corpus in `tests/data/bad/` (`scp_*`, `dicom_*`, `edf_*`, written by
//! `scripts/fixtures/binary_bad_corpus.py`) must give the listed outcome with an error that
//! names the file, and property tests feed arbitrary bytes, magic-prefixed noise,
//! truncations and bit flips of the real samples — every input must give `Ok` or a clean
//! `Err` (no panic, no hang, no allocation sized by a header field).
//!
//! The long random-mutation loop (the stand-in for `cargo fuzz` where no fuzzing run is
//! possible; targets in `fuzz/fuzz_targets/{scp,dicom,edf}.rs`) runs with
//! `BIN_FUZZ_ITERS=200000 cargo test -p ecgcore --release --test binary_robustness -- --ignored`.

use ecgcore::formats::{self, dicom, edf, scp, FormatError};
use proptest::prelude::*;
use std::path::{Path, PathBuf};

fn bad_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bad")
}

fn shared_formats() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/formats");
    dir.is_dir().then_some(dir)
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Scp,
    Dicom,
    Edf,
}

fn read_bytes(kind: Kind, bytes: &[u8]) -> Result<ecgcore::Recording, FormatError> {
    let path = Path::new("mutated");
    match kind {
        Kind::Scp => scp::read_bytes(bytes, path),
        Kind::Dicom => dicom::read_bytes(bytes, path),
        Kind::Edf => edf::read_bytes(bytes, path),
    }
}

/// Every reader on every input: Ok (a recording that passes `validate` or fails it
/// cleanly) or an Err; never a panic.
fn all_readers(bytes: &[u8]) {
    for kind in [Kind::Scp, Kind::Dicom, Kind::Edf] {
        if let Ok(rec) = read_bytes(kind, bytes) {
            let _ = rec.validate();
            assert!(rec.leads.len() <= formats::limits::MAX_SIGNALS);
        }
    }
}

/// Expected outcome of each corpus file: `Ok(note substring)` or `Err(message substring)`.
const CORPUS: &[(&str, Result<&str, &str>)] = &[
    ("scp_valid_minimal.scp", Ok("")),
    ("scp_truncated_in_section0.scp", Err("section 0")),
    ("scp_truncated_in_rhythm.scp", Err("section 6")),
    ("scp_bitflip_crc_mismatch.scp", Ok("CRC mismatch")),
    ("scp_lead_length_lies.scp", Err("declares")),
    ("scp_sample_range_lies.scp", Ok("declared")),
    ("scp_zero_sample_interval.scp", Err("sample interval is 0")),
    ("scp_255_leads.scp", Err("255 leads")),
    ("scp_pointer_to_wrong_section.scp", Err("id 3")),
    (
        "scp_subtraction_without_reference.scp",
        Err("section 4 or 5 is missing"),
    ),
    ("scp_pointer_beyond_file.scp", Err("section 6")),
    ("edf_valid_minimal.edf", Ok("annotation at 1.500 s")),
    (
        "edf_truncated_header.edf",
        Err("shorter than the 256-byte header"),
    ),
    ("edf_9999_signals.edf", Err("number of signals 9999")),
    ("edf_header_size_lies.edf", Err("header size")),
    (
        "edf_record_count_lies.edf",
        Ok("declares 99999999 data records"),
    ),
    (
        "edf_digital_range_empty.edf",
        Err("digital minimum equals digital maximum"),
    ),
    (
        "edf_huge_samples_per_record.edf",
        Err("no complete data record"),
    ),
    ("edf_duration_nan.edf", Err("data record duration")),
    ("edf_duration_zero.edf", Err("zero duration")),
    (
        "edf_truncated_in_record.edf",
        Ok("declares 4 data records but the file holds 3"),
    ),
    ("edf_annotation_junk.edf", Ok("")),
    ("dicom_valid_minimal.dcm", Ok("")),
    ("dicom_truncated.dcm", Err("truncated")),
    ("dicom_sample_count_lies.dcm", Err("samples")),
    ("dicom_channel_count_lies.dcm", Err("60000 channels")),
    ("dicom_24_bit_samples.dcm", Err("24-bit")),
    (
        "dicom_zero_sampling_frequency.dcm",
        Err("sampling frequency 0"),
    ),
    ("dicom_no_waveform.dcm", Err("without waveform data")),
    ("dicom_data_length_lies.dcm", Err("remain")),
    // found by the mutation loop: an unknown VR reads as UN with a 32-bit length (4 GB);
    // dicom-rs zero-filled it for 3.6 s before failing. Now refused by the pre-scan.
    (
        "dicom_unknown_vr_4gb_length.dcm",
        Err("claims 3772645374 bytes"),
    ),
    // found by cargo fuzz: the transfer syntax says big endian, the data is little endian;
    // dicom-rs asked for a 3.8 GB buffer. The pre-scan now reads big-endian data sets.
    ("dicom_big_endian_lie_4gb.dcm", Err("claims")),
    // found by cargo fuzz (from ECG Toolkit's Example.dcm): dicom-rs and the byte pre-scan
    // parted ways at an item tag inside an item; refused by the dicom-rs token walk.
    (
        "dicom_fuzz_oom_implicit_vr_annotations.dcm",
        Err("claims 4294049772 bytes"),
    ),
];

#[test]
fn bad_corpus_gives_the_listed_outcome_and_names_the_file() {
    let dir = bad_dir();
    for (name, expected) in CORPUS {
        let path = dir.join(name);
        assert!(path.is_file(), "corpus file {name} missing");
        match (formats::open(&path), expected) {
            (Ok(rec), Ok(note)) => {
                assert!(
                    note.is_empty() || rec.provenance.notes.iter().any(|n| n.contains(note)),
                    "{name}: notes {:?} lack {note:?}",
                    rec.provenance.notes
                );
                assert!(rec.validate().is_ok());
            }
            (Err(e), Err(want)) => {
                let msg = e.to_string();
                assert!(msg.contains(want), "{name}: error {msg:?} lacks {want:?}");
                assert!(
                    msg.contains(name),
                    "{name}: error {msg:?} does not name the file"
                );
            }
            (Ok(rec), Err(want)) => panic!(
                "{name}: read OK ({:?}), expected error {want:?}",
                rec.provenance.notes
            ),
            (Err(e), Ok(_)) => panic!("{name}: expected OK, got {e}"),
        }
    }
    // every scp_/dicom_/edf_ file in the folder is listed
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if ["scp_", "dicom_", "edf_"]
            .iter()
            .any(|p| name.starts_with(p))
        {
            assert!(
                CORPUS.iter().any(|(n, _)| *n == name),
                "{name} not listed in CORPUS"
            );
        }
    }
}

#[test]
fn minimal_synthetic_files_read_right() {
    let dir = bad_dir();
    let rec = formats::open(&dir.join("scp_valid_minimal.scp")).unwrap();
    assert_eq!(rec.sample_rate_hz, 500.0);
    // I and II stored; the other limb leads derived (and marked so)
    assert_eq!(
        rec.lead_names(),
        vec!["I", "II", "III", "aVR", "aVL", "aVF"]
    );
    assert!(rec.leads[2..].iter().all(|l| l.derived));
    // lead 2 sample k is (2k mod 200) − 100 in 5 µV units: k = 3 → −94 × 0.005 mV
    assert_eq!(rec.leads[1].samples_mv[3], -94.0 * 0.005);
    assert_eq!(rec.patient.id.as_deref(), Some("BAD-0001"));
    assert_eq!(
        rec.provenance.acquisition_time.as_deref(),
        Some("2020-01-02T10:11:12")
    );
    let rec = formats::open(&dir.join("edf_valid_minimal.edf")).unwrap();
    assert_eq!(rec.sample_rate_hz, 10.0);
    assert_eq!(rec.len_samples(), 40);
    assert_eq!(rec.provenance.device.as_deref(), Some("ecgscope-test"));
    let rec = formats::open(&dir.join("dicom_valid_minimal.dcm")).unwrap();
    assert_eq!(rec.len_samples(), 64);
    assert_eq!(rec.leads.len(), 12);
}

/// Real samples and which reader reads them.
const REAL: [(&str, Kind); 6] = [
    ("ecgtoolkit_examples/Example.scp", Kind::Scp),
    ("contec_ecg/examples/demo.scp", Kind::Scp),
    ("dicom_ecg/waveform_ecg.dcm", Kind::Dicom),
    ("ecgtoolkit_examples/Example.dcm", Kind::Dicom),
    ("edf/pyedflib/test_utf8.edf", Kind::Edf),
    (
        "edf/pyedflib/test_generator_datarec_generator_2.bdf",
        Kind::Edf,
    ),
];

fn real_samples() -> &'static [(Vec<u8>, Kind)] {
    static SAMPLES: std::sync::OnceLock<Vec<(Vec<u8>, Kind)>> = std::sync::OnceLock::new();
    SAMPLES.get_or_init(load_samples)
}

fn load_samples() -> Vec<(Vec<u8>, Kind)> {
    let mut out: Vec<(Vec<u8>, Kind)> = Vec::new();
    for name in [
        "scp_valid_minimal.scp",
        "edf_valid_minimal.edf",
        "dicom_valid_minimal.dcm",
    ] {
        let kind = match &name[..3] {
            "scp" => Kind::Scp,
            "edf" => Kind::Edf,
            _ => Kind::Dicom,
        };
        out.push((std::fs::read(bad_dir().join(name)).unwrap(), kind));
    }
    if let Some(dir) = shared_formats() {
        for (rel, kind) in REAL {
            if let Ok(b) = std::fs::read(dir.join(rel)) {
                out.push((b, kind));
            }
        }
    } else {
        eprintln!(
            "SKIP (partly): ../shared/data/formats absent; mutating the synthetic files only"
        );
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_give_ok_or_clean_err(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        all_readers(&bytes);
    }

    #[test]
    fn magic_prefixed_noise_gives_ok_or_clean_err(
        which in 0usize..3,
        tail in proptest::collection::vec(any::<u8>(), 0..3000),
    ) {
        let mut bytes = match which {
            // SCP: CRC, length, section 0 header with "SCPECG"
            0 => {
                let mut b = vec![0u8, 0, 0, 16, 0, 0, 0, 0, 0, 0, 136, 0, 0, 0, 20, 20];
                b.extend_from_slice(b"SCPECG");
                b
            }
            1 => {
                let mut b = vec![0u8; 128];
                b.extend_from_slice(b"DICM");
                b
            }
            _ => {
                let mut b = b"0       ".to_vec();
                b.resize(184, b' ');
                b.extend_from_slice(b"768     ");
                b.resize(252, b' ');
                b.extend_from_slice(b"2   ");
                b
            }
        };
        bytes.extend_from_slice(&tail);
        all_readers(&bytes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn truncated_and_bit_flipped_samples_give_ok_or_clean_err(
        pick in any::<prop::sample::Index>(),
        cut in any::<prop::sample::Index>(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..8), 0..8),
    ) {
        let samples = real_samples();
        let (bytes, kind) = &samples[pick.index(samples.len())];
        let mut b = bytes.clone();
        for (at, bit) in &flips {
            let i = at.index(b.len());
            b[i] ^= 1 << bit;
        }
        let _ = read_bytes(*kind, &b);
        b.truncate(cut.index(b.len() + 1));
        let _ = read_bytes(*kind, &b);
    }
}

/// xorshift64*: a tiny deterministic generator for the long mutation loop.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One to eight random mutations of `b`: bit flips, byte overwrites with "interesting"
/// values (0, 0xFF, 0x7F, 0x80, 1), header-biased multi-byte overwrites, chunk deletion
/// and duplication, truncation.
fn mutate(rng: &mut Rng, b: &mut Vec<u8>) {
    let n_mut = 1 + rng.below(8);
    for _ in 0..n_mut {
        if b.is_empty() {
            break;
        }
        match rng.below(6) {
            0 => {
                let i = rng.below(b.len());
                b[i] ^= 1 << rng.below(8);
            }
            1 => {
                let i = rng.below(b.len());
                b[i] = [0u8, 0xFF, 0x7F, 0x80, 1][rng.below(5)];
            }
            2 => {
                // bias towards headers, where the lengths and counts live
                let i = rng.below(b.len().min(2048));
                let v = rng.next().to_le_bytes();
                let w = 1 + rng.below(4);
                for (k, x) in v.iter().take(w).enumerate() {
                    if let Some(d) = b.get_mut(i + k) {
                        *d = *x;
                    }
                }
            }
            3 => {
                let i = rng.below(b.len());
                let len = rng.below(64).min(b.len() - i);
                b.drain(i..i + len);
            }
            4 => {
                let i = rng.below(b.len());
                let len = rng.below(64).min(b.len() - i);
                let chunk: Vec<u8> = b[i..i + len].to_vec();
                b.splice(i..i, chunk);
            }
            _ => {
                let cut = rng.below(b.len() + 1);
                b.truncate(cut);
            }
        }
    }
}

/// Mutate real and synthetic samples: bit flips, byte overwrites with "interesting"
/// values (0, 0xFF, 0x7F, 0x80), chunk deletion/duplication, truncation; time each read.
#[test]
#[ignore = "long mutation loop; run with BIN_FUZZ_ITERS=N -- --ignored"]
fn long_random_mutation_loop() {
    let iters: usize = std::env::var("BIN_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let samples = real_samples();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut slowest = (0.0f64, String::new());
    let (mut ok, mut err) = (0usize, 0usize);
    for it in 0..iters {
        let (orig, kind) = &samples[rng.below(samples.len())];
        let mut b = orig.clone();
        mutate(&mut rng, &mut b);
        let t = std::time::Instant::now();
        match read_bytes(*kind, &b) {
            Ok(_) => ok += 1,
            Err(_) => err += 1,
        }
        let s = t.elapsed().as_secs_f64();
        if s > 1.0 {
            let dump = std::env::temp_dir().join(format!("ecgscope_slow_{kind:?}_{it}.bin"));
            let _ = std::fs::write(&dump, &b);
            eprintln!("slow input ({s:.1} s) saved to {}", dump.display());
        }
        if s > slowest.0 {
            slowest = (s, format!("iteration {it} ({kind:?}, {} bytes)", b.len()));
        }
    }
    eprintln!(
        "mutation loop: {iters} inputs, {ok} read, {err} refused, slowest {:.1} ms at {}",
        slowest.0 * 1e3,
        slowest.1
    );
    assert!(slowest.0 < 5.0, "an input took {:.1} s", slowest.0);
}

/// Regression (found by the mutation loop): in an implicit-VR file, an element nested in
/// a defined-length sequence claimed 4 GB; dicom-rs zero-filled 4 GB before failing
/// (4 s, 4 GB RSS). The pre-scan now enters implicit-VR sequences.
#[test]
fn dicom_nested_element_claiming_4_gb_is_refused_fast() {
    let Some(dir) = shared_formats() else {
        ecgcore::testing::skip("../shared/data/formats absent");
        return;
    };
    let mut b = std::fs::read(dir.join("ecgtoolkit_examples/Example.dcm")).unwrap();
    // (0008,0102) Coding Scheme Designator inside the first code sequence, length 6
    let at = b
        .windows(8)
        .position(|w| w == [0x08, 0, 0x02, 0x01, 6, 0, 0, 0])
        .unwrap();
    b[at + 6] = 0x5B;
    b[at + 7] = 0xEE;
    let t = std::time::Instant::now();
    let err = dicom::read_bytes(&b, Path::new("Example.dcm")).unwrap_err();
    assert!(err.to_string().contains("claims"), "{err}");
    assert!(t.elapsed().as_secs_f64() < 0.5);
}

/// Regression (found by cargo fuzz): a VR rewritten from US to SL (length 2, not a
/// multiple of 4) left dicom-rs 2 bytes out of step, so it read a 4 GB length from the
/// next element and asked for a 4 GB buffer. The pre-scan now refuses such lengths.
#[test]
fn dicom_binary_value_of_broken_length_is_refused() {
    let Some(dir) = shared_formats() else {
        ecgcore::testing::skip("../shared/data/formats absent");
        return;
    };
    let mut b = std::fs::read(dir.join("dicom_ecg/waveform_ecg.dcm")).unwrap();
    // (0040,A180) US, length 2
    let needle = [0x40, 0x00, 0x80, 0xA1, b'U', b'S', 0x02, 0x00];
    let at = b.windows(8).position(|w| w == needle).unwrap();
    b[at + 4] = b'S';
    b[at + 5] = b'L';
    let t = std::time::Instant::now();
    let err = dicom::read_bytes(&b, Path::new("waveform_ecg.dcm")).unwrap_err();
    assert!(err.to_string().contains("not a multiple of 4"), "{err}");
    assert!(t.elapsed().as_secs_f64() < 0.5);
}

/// Regression (found by cargo fuzz): a mutated implicit-VR file (from ECG Toolkit's
/// Example.dcm, Apache-2.0) where an (FFFE,E000) item tag inside a defined-length item is
/// read by dicom-rs as a plain element (VR UN, 65 KB value) while the byte pre-scan
/// entered it as an item; dicom-rs then landed in Waveform Data and read
/// (0025,0022) LO claiming 4 294 049 772 bytes, which it zero-filled (3.5 s, 4 GB). The
/// token walk with dicom-rs's own reader now refuses it before the parse.
#[test]
fn dicom_fuzz_oom_in_implicit_vr_annotations_is_refused_fast() {
    let path = bad_dir().join("dicom_fuzz_oom_implicit_vr_annotations.dcm");
    let b = std::fs::read(&path).unwrap();
    let t = std::time::Instant::now();
    let err = dicom::read_bytes(&b, &path).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("(0025,0022) LO") && msg.contains("claims 4294049772 bytes"),
        "{msg}"
    );
    assert!(
        msg.contains("dicom_fuzz_oom_implicit_vr_annotations.dcm"),
        "{msg}"
    );
    assert!(
        t.elapsed().as_secs_f64() < 0.5,
        "took {:.1} s",
        t.elapsed().as_secs_f64()
    );
}

/// The path-based EDF/BDF readers that page through long files (the header, the default
/// window, any window, all annotations) read a mutated file as a clean error or a result:
/// no panic, no hang. Mutations of the real EDF/BDF samples (the 698 s EDF+ files are long
/// enough to be paged) and the synthetic minimal file, written to a temporary file.
/// `EDF_PATH_FUZZ_ITERS` sets the count (default 400).
#[test]
fn edf_paging_readers_survive_mutated_files() {
    let iters: usize = std::env::var("EDF_PATH_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let samples: Vec<&Vec<u8>> = real_samples()
        .iter()
        .filter(|(_, k)| matches!(k, Kind::Edf))
        .map(|(b, _)| b)
        .collect();
    assert!(
        !samples.is_empty(),
        "the synthetic EDF sample is always there"
    );
    let dir = std::env::temp_dir().join(format!("ecgcore-edf-paging-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("mutated.edf");
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let (mut windows, mut refused, mut slowest) = (0usize, 0usize, 0.0f64);
    for _ in 0..iters {
        let mut b = samples[rng.below(samples.len())].clone();
        mutate(&mut rng, &mut b);
        std::fs::write(&path, &b).unwrap();
        let t = std::time::Instant::now();
        let _ = edf::read_header(&path);
        let _ = edf::read_annotations(&path);
        match edf::default_window(&path) {
            Ok(Some(w)) => {
                windows += 1;
                let later = w.start_s + (w.total_s - w.start_s) * 0.6;
                for start in [0.0, later, f64::NAN, 1e12] {
                    match edf::open_window(&path, start) {
                        Ok((rec, got)) => {
                            assert!(got.start_s.is_finite() && got.duration_s >= 0.0);
                            assert!(rec.leads.iter().all(|l| l.samples_mv.len() < 50_000_000));
                        }
                        Err(e) => assert!(!e.to_string().is_empty()),
                    }
                }
            }
            Ok(None) => {}
            Err(e) => {
                refused += 1;
                assert!(e.to_string().contains("mutated.edf"), "{e}");
            }
        }
        slowest = slowest.max(t.elapsed().as_secs_f64());
    }
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!(
        "EDF paging: {iters} mutated files, {windows} paged as long recordings, {refused} refused, slowest {:.0} ms",
        slowest * 1e3
    );
    assert!(slowest < 10.0, "a mutated file took {slowest:.1} s");
}
