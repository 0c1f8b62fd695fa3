//! Robustness of the XML readers (HL7 aECG, GE MUSE, Philips Sierra + XLI): the bad-file
//! corpus in `tests/data/bad/` must be refused with clear errors naming the file, and
//! property tests feed arbitrary bytes, XML-shaped noise, truncations and mutations of the
//! real samples in `../shared/data/formats` — every input must give `Ok` or a clean `Err`
//! (no panic, no hang, no unbounded allocation).
//!
//! A longer random-mutation loop (the stand-in for `cargo fuzz`, see `fuzz/`) runs with
//! `XML_FUZZ_ITERS=200000 cargo test -p ecgcore --test xml_robustness -- --ignored`.

use ecgcore::formats::{self, aecg, muse, sierra, sierra_xli, xml_util, FormatError};
use proptest::prelude::*;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn bad_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bad")
}

fn shared_formats() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/formats");
    dir.is_dir().then_some(dir)
}

/// Real samples (relative to `../shared/data/formats`) and which reader reads them.
const REAL: [(&str, Kind); 7] = [
    (
        "hl7_aecg/src/aecg/data/examples/minimum_aecg.xml",
        Kind::Aecg,
    ),
    ("hl7_aecg/liryc_hl7aecg_example.xml", Kind::Aecg),
    (
        "ge_muse_xml/perottelab_IntroECG/MUSE_20200923_093504_79000_example.xml",
        Kind::Muse,
    ),
    ("sierra_xml/examples/xml/1_03/129DYPRG.XML", Kind::Sierra),
    (
        "sierra_xml/examples/xml/1_04/3191723_ZZDEMOPTONLY_1-04_orig.xml",
        Kind::Sierra,
    ),
    (
        "sierra_xml/examples/xml/1_04_01/2020-5-18_15-48-11.xml",
        Kind::Sierra,
    ),
    (
        "hl7_aecg/src/aecg/data/hl7/2003-12 Schema/example/Example aECG.xml",
        Kind::Aecg,
    ),
];

#[derive(Clone, Copy, Debug)]
enum Kind {
    Aecg,
    Muse,
    Sierra,
}

fn read_bytes(kind: Kind, path: &Path, bytes: &[u8]) -> Result<ecgcore::Recording, FormatError> {
    match kind {
        Kind::Aecg => aecg::read_aecg_bytes(path, bytes),
        Kind::Muse => muse::read_muse_bytes(path, bytes),
        Kind::Sierra => sierra::read_sierra_bytes(path, bytes),
    }
}

fn read_text(kind: Kind, path: &Path, text: &str) -> Result<ecgcore::Recording, FormatError> {
    match kind {
        Kind::Aecg => aecg::read_aecg_text(path, text),
        Kind::Muse => muse::read_muse_text(path, text),
        Kind::Sierra => sierra::read_sierra_text(path, text),
    }
}

/// An `Ok` must be a valid recording; an `Err` must name the file.
fn check_outcome(result: Result<ecgcore::Recording, FormatError>, path: &Path) {
    match result {
        Ok(rec) => {
            rec.validate().expect("Ok recordings validate");
        }
        Err(FormatError::Incompatible { .. }) => {}
        Err(e) => {
            let msg = e.to_string();
            let name = path.file_name().unwrap().to_string_lossy();
            assert!(
                msg.contains(name.as_ref()),
                "error does not name the file: {msg}"
            );
        }
    }
}

#[test]
fn bad_corpus_is_refused_with_clear_errors() {
    let expected: [(&str, &str); 29] = [
        ("aecg_bad_time_unit.xml", "time increment unit 'furlong'"),
        ("aecg_billion_laughs.xml", "entity"),
        ("aecg_deep_nesting.xml", "nested deeper than 256"),
        ("aecg_invalid_utf8.xml", "not valid UTF-8"),
        ("aecg_lying_digits.xml", "digit 'three' is not a number"),
        ("aecg_nan_increment.xml", "time increment is not a number"),
        ("aecg_no_series.xml", "no <series>"),
        ("aecg_non_voltage_unit.xml", "unit 'mmHg' is not a voltage"),
        ("aecg_truncated.xml", "XML syntax"),
        ("aecg_undefined_entity.xml", "XML syntax"),
        ("aecg_utf16_unpaired_surrogate.xml", "unpaired surrogate"),
        ("aecg_xxe_file.xml", "external entities"),
        (
            "aecg_zero_increment.xml",
            "sampling increment 0 s is not usable",
        ),
        ("muse_bad_base64.xml", "bad Base64"),
        ("muse_empty_waveform.xml", "no <WaveFormData>"),
        ("muse_huge_exponent.xml", "sample exponent 300"),
        ("muse_lying_units.xml", "amplitude units 'FURLONGS'"),
        ("muse_no_waveform.xml", "no rhythm <Waveform>"),
        ("muse_xxe_parameter_entity.xml", "external entities"),
        ("muse_zero_rate.xml", "sample rate 0 Hz"),
        ("sierra_empty_block.xml", "holds no leads"),
        ("sierra_entity_in_external_doctype.xml", "entity"),
        ("sierra_huge_duration.xml", "samples per lead is not usable"),
        (
            "sierra_negative_duration.xml",
            "samples per lead is not usable",
        ),
        ("sierra_no_waveforms.xml", "no <waveforms>"),
        ("sierra_unknown_compression.xml", "compression ZIP"),
        ("sierra_xli_negative_size.xml", "claims -8 bytes"),
        (
            "sierra_xli_truncated_chunk.xml",
            "claims 1000 bytes but 3 remain",
        ),
        ("sierra_xli_undefined_code.xml", "LZW code 900"),
    ];
    let mut seen = 0;
    for entry in std::fs::read_dir(bad_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("xml") {
            continue;
        }
        seen += 1;
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let want = expected
            .iter()
            .find(|(f, _)| *f == name)
            .unwrap_or_else(|| panic!("{name}: no expectation listed"))
            .1;
        let err = formats::open(&path).expect_err(&name);
        let msg = err.to_string();
        assert!(
            !matches!(
                err,
                FormatError::UnknownFormat { .. } | FormatError::Incompatible { .. }
            ),
            "{name}: not recognised: {msg}"
        );
        assert!(
            msg.contains(&name),
            "{name}: error does not name the file: {msg}"
        );
        assert!(
            msg.to_lowercase().contains(&want.to_lowercase()),
            "{name}: expected '{want}' in: {msg}"
        );
    }
    assert_eq!(seen, expected.len());
}

#[test]
fn billion_laughs_is_refused_before_any_expansion() {
    // Ten levels of ten: 10^10 "lol"s if expanded. Must fail fast.
    let mut xml = String::from("<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY l0 \"lol\">");
    for i in 1..10 {
        let prev = format!("&l{};", i - 1).repeat(10);
        let _ = write!(xml, "<!ENTITY l{i} \"{prev}\">");
    }
    xml.push_str("]><AnnotatedECG>&l9;</AnnotatedECG>");
    let t = std::time::Instant::now();
    let err = aecg::read_aecg_bytes(Path::new("laughs.xml"), xml.as_bytes()).unwrap_err();
    assert!(err.to_string().contains("entity"), "{err}");
    assert!(t.elapsed().as_secs_f64() < 1.0);
}

fn real_samples() -> Vec<(PathBuf, Kind, Vec<u8>)> {
    let Some(dir) = shared_formats() else {
        ecgcore::testing::skip("../shared/data/formats is absent; real-sample mutations not run");
        return Vec::new();
    };
    REAL.iter()
        .filter_map(|(rel, kind)| {
            let p = dir.join(rel);
            std::fs::read(&p).ok().map(|b| (p, *kind, b))
        })
        .collect()
}

fn samples_cached() -> &'static [(PathBuf, Kind, Vec<u8>)] {
    static CELL: std::sync::OnceLock<Vec<(PathBuf, Kind, Vec<u8>)>> = std::sync::OnceLock::new();
    CELL.get_or_init(real_samples)
}

/// Replace characters of the decoded text at the given positions with characters that
/// keep the damage inside XML text and Base64 (so the decoders behind the parser run).
fn mutate_text(text: &str, edits: &[(usize, u8)]) -> String {
    const ALPHABET: &[u8] =
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=- .<>\"";
    let mut chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return String::new();
    }
    for &(pos, pick) in edits {
        let i = pos % chars.len();
        chars[i] = char::from(ALPHABET[usize::from(pick) % ALPHABET.len()]);
    }
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        let p = Path::new("fuzz.xml");
        check_outcome(aecg::read_aecg_bytes(p, &bytes), p);
        check_outcome(muse::read_muse_bytes(p, &bytes), p);
        check_outcome(sierra::read_sierra_bytes(p, &bytes), p);
        let _ = sierra_xli::decode(&bytes, 1 << 20, 64);
        let _ = xml_util::root_element_name(&bytes);
    }

    #[test]
    fn xml_shaped_noise_never_panics(
        root in prop::sample::select(vec!["AnnotatedECG", "RestingECG", "restingecgdata"]),
        parts in prop::collection::vec(prop::sample::select(vec![
            "<component>", "</component>", "<series>", "</series>", "<code code=\"RHYTHM\"/>",
            "<sequenceSet>", "</sequenceSet>", "<sequence>", "</sequence>",
            "<code code=\"TIME_ABSOLUTE\"/>", "<code code=\"MDC_ECG_LEAD_I\"/>",
            "<value><increment value=\"0.002\" unit=\"s\"/></value>",
            "<value><origin value=\"1e308\" unit=\"V\"/><scale value=\"1e308\" unit=\"V\"/><digits>1 -2 3e9</digits></value>",
            "<Waveform>", "</Waveform>", "<WaveformType>Rhythm</WaveformType>",
            "<SampleBase>500</SampleBase>", "<SampleExponent>-3</SampleExponent>",
            "<LeadData><LeadID>II</LeadID><LeadAmplitudeUnitsPerBit>1e308</LeadAmplitudeUnitsPerBit><WaveFormData>AAECAwQF</WaveFormData></LeadData>",
            "<waveforms>", "</waveforms>",
            "<parsedwaveforms durationperchannel=\"20\" samplespersecond=\"500\" resolution=\"5\" compression=\"XLI\">CAAAAAAAAAABAgMEBQYHCA==</parsedwaveforms>",
            "<parsedwaveforms durationperchannel=\"2\" samplespersecond=\"1000\" resolution=\"5\">AAECAwQFBgc=</parsedwaveforms>",
            "<repbeats samplespersec=\"1\" resolution=\"1\"><repbeat leadname=\"I\"><waveform>AAEC</waveform></repbeat></repbeats>",
            "text", "&amp;", "<!-- c -->", "<![CDATA[x]]>",
        ]), 0..40),
    ) {
        let body: String = parts.concat();
        let xml = format!("<{root}>{body}</{root}>");
        let p = Path::new("noise.xml");
        check_outcome(aecg::read_aecg_bytes(p, xml.as_bytes()), p);
        check_outcome(muse::read_muse_bytes(p, xml.as_bytes()), p);
        check_outcome(sierra::read_sierra_bytes(p, xml.as_bytes()), p);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn truncated_real_samples_never_panic(which in 0usize..REAL.len(), cut in any::<u32>()) {
        let samples = samples_cached();
        if let Some((path, kind, bytes)) = samples.get(which % samples.len().max(1)) {
            let cut = cut as usize % (bytes.len() + 1);
            check_outcome(read_bytes(*kind, path, &bytes[..cut]), path);
        }
    }

    #[test]
    fn mutated_real_samples_never_panic(
        which in 0usize..REAL.len(),
        edits in prop::collection::vec((any::<usize>(), any::<u8>()), 1..12),
        flips in prop::collection::vec((any::<usize>(), any::<u8>()), 0..4),
    ) {
        let samples = samples_cached();
        if let Some((path, kind, bytes)) = samples.get(which % samples.len().max(1)) {
            // Text-level edits reach the Base64/XLI/digit decoders...
            if let Ok(text) = xml_util::decode_xml_text(bytes) {
                let mutated = mutate_text(&text, &edits);
                check_outcome(read_text(*kind, path, &mutated), path);
            }
            // ...and raw bit flips reach the encoding and XML layers.
            let mut raw = bytes.clone();
            for (pos, bit) in &flips {
                let i = pos % raw.len().max(1);
                if let Some(b) = raw.get_mut(i) {
                    *b ^= 1 << (bit % 8);
                }
            }
            check_outcome(read_bytes(*kind, path, &raw), path);
        }
    }
}

/// Long random-mutation loop over the real samples and the bad corpus (a stand-in for
/// `cargo fuzz` where no fuzzing toolchain is available). Iterations from
/// `XML_FUZZ_ITERS` (default 2000).
#[test]
#[ignore = "long-running; run explicitly"]
fn long_random_mutation_loop() {
    let iters: usize = std::env::var("XML_FUZZ_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    let mut seeds: Vec<(PathBuf, Kind, Vec<u8>)> = samples_cached().to_vec();
    for entry in std::fs::read_dir(bad_dir()).unwrap() {
        let p = entry.unwrap().path();
        let kind = match p.file_name().and_then(|n| n.to_str()).unwrap_or("") {
            n if n.starts_with("muse") => Kind::Muse,
            n if n.starts_with("sierra") => Kind::Sierra,
            n if n.starts_with("aecg") => Kind::Aecg,
            _ => continue,
        };
        let bytes = std::fs::read(&p).unwrap();
        seeds.push((p, kind, bytes));
    }
    // xorshift64*: deterministic, seedable from XML_FUZZ_SEED.
    let mut state: u64 = std::env::var("XML_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x9E37_79B9_7F4A_7C15);
    let mut next = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let start = std::time::Instant::now();
    for it in 0..iters {
        let (path, kind, bytes) = &seeds[(next() as usize) % seeds.len()];
        let mut data = bytes.clone();
        match next() % 4 {
            0 => data.truncate((next() as usize) % (data.len() + 1)),
            1 => {
                for _ in 0..=next() % 8 {
                    let i = (next() as usize) % data.len().max(1);
                    if let Some(b) = data.get_mut(i) {
                        *b = next() as u8;
                    }
                }
            }
            2 => {
                if let Ok(text) = xml_util::decode_xml_text(&data) {
                    let edits: Vec<(usize, u8)> = (0..=next() % 16)
                        .map(|_| (next() as usize, next() as u8))
                        .collect();
                    let t = mutate_text(&text, &edits);
                    check_outcome(read_text(*kind, path, &t), path);
                    continue;
                }
            }
            _ => {
                // Splice: duplicate a random slice somewhere else.
                let len = data.len();
                if len > 2 {
                    let a = (next() as usize) % len;
                    let b = (a + (next() as usize) % 256).min(len);
                    let at = (next() as usize) % len;
                    let slice = data[a..b].to_vec();
                    data.splice(at..at, slice);
                }
            }
        }
        check_outcome(read_bytes(*kind, path, &data), path);
        if it % 10_000 == 0 {
            eprintln!("iteration {it}, {:.0} s", start.elapsed().as_secs_f64());
        }
    }
    eprintln!(
        "{iters} iterations in {:.1} s, no panic",
        start.elapsed().as_secs_f64()
    );
}
