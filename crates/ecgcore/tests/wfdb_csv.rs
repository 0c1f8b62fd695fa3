//! WFDB and CSV readers/writers: sample-for-sample agreement with the independent python
//! `wfdb` reader (fixture made by `scripts/fixtures/wfdb_reference.py`), round trips, and
//! bad input (truncated, lying or missing files) giving clear errors, never panics.

use ecgcore::formats::{self, csv, wfdb, FormatError, OpenOptions};
use ecgcore::{Lead, Recording, Sex, StandardLead};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn shared_data() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if p.is_dir() {
        Some(p)
    } else {
        ecgcore::testing::skip("../shared/data is absent; the WFDB reference comparison needs it");
        None
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ecgscope-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn wfdb_matches_python_wfdb_sample_for_sample() {
    let Some(data) = shared_data() else { return };
    let fixture: Value = serde_json::from_str(include_str!("data/wfdb_reference.json")).unwrap();
    let mut checked_formats = 0;
    for r in fixture["records"].as_array().unwrap() {
        let rel = r["record"].as_str().unwrap();
        let rec = formats::open(&data.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert_eq!(rec.provenance.format, "WFDB");
        assert_eq!(rec.sample_rate_hz, r["fs"].as_f64().unwrap(), "{rel} rate");
        assert_eq!(
            rec.len_samples() as u64,
            r["n_samples"].as_u64().unwrap(),
            "{rel} length"
        );
        let names = r["sig_name"].as_array().unwrap();
        let units = r["units"].as_array().unwrap();
        // wfdb averages super-sampled frames (212x4) in integer arithmetic, we in floating
        // point: allow one ADC step (1/2000 mV) there; elsewhere values agree exactly.
        let tolerance = if r["what"].as_str().unwrap().contains("x4") {
            5.1e-4
        } else {
            1e-5
        };
        let mut compared = 0;
        for (j, (name, unit)) in names.iter().zip(units).enumerate() {
            let name = name.as_str().unwrap();
            if unit.as_str() != Some("mV") {
                assert!(
                    rec.leads.iter().all(|l| l.name != name),
                    "{rel}: non-voltage {name} left out"
                );
                continue;
            }
            let lead = rec
                .leads
                .iter()
                .find(|l| l.name == name)
                .unwrap_or_else(|| panic!("{rel}: lead {name} missing"));
            let sig = &r["signals"][j];
            for (k, v) in sig["first"].as_array().unwrap().iter().enumerate() {
                let ours = lead.samples_mv[k];
                match v.as_f64() {
                    None => assert!(ours.is_nan(), "{rel} {name}[{k}] should be missing"),
                    Some(v) => assert!(
                        (f64::from(ours) - v).abs() <= tolerance * v.abs().max(1.0),
                        "{rel} {name}[{k}]: ours {ours}, wfdb {v}"
                    ),
                }
            }
            let n_nan = lead.samples_mv.iter().filter(|v| v.is_nan()).count() as u64;
            assert_eq!(
                n_nan,
                sig["n_nan"].as_u64().unwrap(),
                "{rel} {name} NaN count"
            );
            let sum: f64 = lead
                .samples_mv
                .iter()
                .filter(|v| !v.is_nan())
                .map(|&v| f64::from(v))
                .sum();
            let want = sig["sum"].as_f64().unwrap();
            assert!(
                (sum - want).abs()
                    <= tolerance * 10.0 * (lead.samples_mv.len() as f64).max(want.abs()),
                "{rel} {name}: sum {sum} vs {want}"
            );
            compared += 1;
        }
        assert!(compared > 0, "{rel}: nothing compared");
        checked_formats += 1;
    }
    assert_eq!(checked_formats, 8);
}

#[test]
fn ptbxl_record_opens_by_name_without_extension_with_patient_from_table() {
    let Some(data) = shared_data() else { return };
    let rec = formats::open(&data.join("ptbxl/records500/00000/00010_hr")).unwrap();
    assert_eq!(rec.leads.len(), 12);
    assert_eq!(rec.sample_rate_hz, 500.0);
    assert_eq!(rec.duration_s(), 10.0);
    assert_eq!(rec.lead(StandardLead::AVR).unwrap().name, "AVR");
    assert_eq!(rec.patient.age_years, Some(22.0));
    assert_eq!(rec.patient.sex, Some(Sex::Female));
}

fn small_recording() -> Recording {
    let n = 1250;
    let leads = StandardLead::ALL
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let samples = (0..n)
                .map(|t| ((t as f32) * 0.01 * (i as f32 + 1.0)).sin() * 1.5 - 0.2)
                .collect();
            Lead::new(s.label(), samples)
        })
        .collect();
    let mut rec = Recording {
        leads,
        sample_rate_hz: 250.0,
        ..Recording::default()
    };
    rec.patient.age_years = Some(64.0);
    rec.patient.sex = Some(Sex::Male);
    rec.leads[3].samples_mv[10] = f32::NAN;
    rec
}

#[test]
fn wfdb_write_then_read_round_trips_to_a_microvolt() {
    let dir = temp_dir("wfdb-rt");
    let rec = small_recording();
    let hea = dir.join("rt.hea");
    wfdb::write_record(&rec, &hea, false).unwrap();
    let back = formats::open(&hea).unwrap();
    assert_eq!(back.sample_rate_hz, 250.0);
    assert_eq!(back.lead_names(), rec.lead_names());
    assert_eq!(back.patient.age_years, Some(64.0));
    assert_eq!(back.patient.sex, Some(Sex::Male));
    for (a, b) in rec.leads.iter().zip(&back.leads) {
        for (x, y) in a.samples_mv.iter().zip(&b.samples_mv) {
            if x.is_nan() {
                assert!(y.is_nan());
            } else {
                assert!((x - y).abs() <= 0.0005 + 1e-6, "{x} vs {y}");
            }
        }
    }
    // Never overwrites unless asked.
    let err = wfdb::write_record(&rec, &hea, false).unwrap_err();
    assert!(err.to_string().contains("refusing to overwrite"), "{err}");
    wfdb::write_record(&rec, &hea, true).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn csv_write_then_read_round_trips() {
    let dir = temp_dir("csv-rt");
    let rec = small_recording();
    let path = dir.join("rt.csv");
    csv::write_csv(&rec, &path, false).unwrap();
    let back = formats::open(&path).unwrap();
    assert_eq!(back.provenance.format, "CSV");
    assert_eq!(back.sample_rate_hz, 250.0);
    assert_eq!(back.lead_names(), rec.lead_names());
    for (a, b) in rec.leads.iter().zip(&back.leads) {
        for (x, y) in a.samples_mv.iter().zip(&b.samples_mv) {
            assert!((x.is_nan() && y.is_nan()) || (x - y).abs() < 1e-6);
        }
    }
    assert!(
        csv::write_csv(&rec, &path, false).is_err(),
        "refuses to overwrite"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Write a 2-signal format-16 record with `n` samples and return its header path.
fn write_pair(dir: &Path, header: &str, n_bytes: usize) -> PathBuf {
    let hea = dir.join("bad.hea");
    std::fs::write(&hea, header).unwrap();
    std::fs::write(dir.join("bad.dat"), vec![1u8; n_bytes]).unwrap();
    hea
}

fn assert_clean_error(result: Result<Recording, FormatError>, want: &str) {
    let err = result.expect_err("bad input must be refused");
    let msg = err.to_string();
    assert!(
        msg.contains(want),
        "message {msg:?} should mention {want:?}"
    );
    assert!(
        msg.contains("bad.hea") || msg.contains("bad.dat"),
        "message names the file: {msg}"
    );
}

#[test]
fn bad_wfdb_input_gives_clear_errors() {
    let dir = temp_dir("wfdb-bad");
    // Truncated signal file: header promises 1000 samples, file holds 100.
    let hea = write_pair(
        &dir,
        "bad 2 500 1000\nbad.dat 16 200/mV 16 0 0 0 0 I\nbad.dat 16 200/mV 16 0 0 0 0 II\n",
        400,
    );
    assert_clean_error(formats::open(&hea), "promises 1000 samples");
    // Header that lies about the number of signals.
    let hea = write_pair(
        &dir,
        "bad 3 500 100\nbad.dat 16 200/mV 16 0 0 0 0 I\nbad.dat 16 200/mV 16 0 0 0 0 II\n",
        400,
    );
    assert_clean_error(formats::open(&hea), "promises 3 signals");
    // Absurd rate and a huge signal count.
    let hea = write_pair(
        &dir,
        "bad 2 -5 100\nbad.dat 16 200/mV 16 0 0 0 0 I\nbad.dat 16 200/mV 16 0 0 0 0 II\n",
        400,
    );
    assert_clean_error(formats::open(&hea), "not usable");
    let hea = write_pair(&dir, "bad 100000 500 10\n", 10);
    assert_clean_error(formats::open(&hea), "limit");
    // A lying length far beyond memory is refused before allocating.
    let hea = write_pair(
        &dir,
        "bad 2 500 99999999999\nbad.dat 16 200/mV 16 0 0 0 0 I\nbad.dat 16 200/mV 16 0 0 0 0 II\n",
        400,
    );
    assert_clean_error(formats::open(&hea), "promises");
    // Missing signal file.
    std::fs::write(
        dir.join("bad.hea"),
        "bad 1 500 10\nmissing.dat 16 200/mV 16 0 0 0 0 I\n",
    )
    .unwrap();
    assert_clean_error(
        formats::open(&dir.join("bad.hea")),
        "missing.dat is missing",
    );
    // A signal file outside the record's folder is refused.
    std::fs::write(
        dir.join("bad.hea"),
        "bad 1 500 10\n../../etc/passwd 16 200/mV 16 0 0 0 0 I\n",
    )
    .unwrap();
    assert_clean_error(formats::open(&dir.join("bad.hea")), "outside");
    // Unsupported format.
    std::fs::write(
        dir.join("bad.hea"),
        "bad 1 500 10\nbad.dat 508 200/mV 16 0 0 0 0 I\n",
    )
    .unwrap();
    let err = formats::open(&dir.join("bad.hea")).unwrap_err();
    assert!(matches!(err, FormatError::Unsupported { .. }), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn arbitrary_headers_never_panic() {
    let dir = temp_dir("wfdb-prop");
    std::fs::write(
        dir.join("x.dat"),
        (0..4000u32)
            .map(|i| (i * 7 % 251) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let hea = dir.join("x.hea");
    let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
        cases: 300,
        ..Default::default()
    });
    let line = "(x|bad|rec)( [0-9]{1,3})?( [0-9.]{1,6}(/[0-9]{1,3})?)?( [0-9]{1,7})?";
    let sig = "x\\.dat (8|16|61|80|160|212|310|311|24|32|99)(x[0-9])?(:[0-9])?(\\+[0-9]{1,4})?( [0-9.]{1,5}(\\([0-9-]{1,4}\\))?(/(mV|uV|mmHg))?)?( 1[0-9])?( [0-9-]{1,4})?";
    let strategy = (
        proptest::string::string_regex(line).unwrap(),
        proptest::collection::vec(proptest::string::string_regex(sig).unwrap(), 0..4),
    );
    runner
        .run(&strategy, |(record, signals)| {
            let text = format!("{record}\n{}\n", signals.join("\n"));
            std::fs::write(&hea, &text).unwrap();
            let _ = formats::open_with(&hea, &OpenOptions::default());
            Ok(())
        })
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_csv_input_gives_clear_errors() {
    let dir = temp_dir("csv-bad");
    let p = dir.join("bad.csv");
    std::fs::write(&p, "I,II\n1,2\n3,4\n").unwrap();
    // No rate stated: refused with a hint.
    let err = formats::open(&p).unwrap_err().to_string();
    assert!(
        err.contains("sample rate unknown") && err.contains("bad.csv"),
        "{err}"
    );
    std::fs::write(&p, "I,II\n1,2\nx,4\n").unwrap();
    let err = formats::open_with(
        &p,
        &OpenOptions {
            sample_rate_hz: Some(500.0),
            ..OpenOptions::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("line 3") && err.contains("not a number"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
