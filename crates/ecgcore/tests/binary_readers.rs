//! Real-sample tests of the binary readers (SCP-ECG, DICOM waveform, EDF/EDF+/BDF) against
//! reference values from independent readers.
//!
//! Fixtures in `tests/data/binary_reference/` were written by
//! `scripts/fixtures/binary_formats_reference.py`: pydicom 3.0.2 (DICOM), pyedflib 0.1.42
//! (EDF/BDF), ecgdatakit 2.0.3 (SCP-ECG Example.scp), the Contec device's own CSV export
//! (0000050) and a minimal numpy reading (demo.scp). Each holds the first 100 samples and
//! every 499th sample per lead in mV. Tests skip with a message when `../shared/data` is
//! absent.

use ecgcore::formats::{self, dicom, edf, scp, FormatError, OpenOptions, Reader};
use ecgcore::{Lead, Recording, Sex, StandardLead};
use std::path::{Path, PathBuf};

fn formats_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/formats");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIP: {} is absent (shared ECG format samples)",
            dir.display()
        );
        None
    }
}

fn fixture(name: &str) -> serde_json::Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/binary_reference")
        .join(format!("{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

fn read_with(reader: &dyn Reader, path: &Path) -> Result<Recording, FormatError> {
    let head = formats::read_head(path)?;
    reader.read(path, &head, &OpenOptions::default())
}

/// Compare `lead` with a fixture summary (`n`, `head`, `stride` 499) within `tol_mv`;
/// `offset` is the index of the lead's first sample in the reference.
/// Returns the number of samples compared.
fn compare(lead: &Lead, summary: &serde_json::Value, tol_mv: f64, what: &str) -> usize {
    let mut compared = 0;
    let head = summary["head"].as_array().unwrap();
    for (i, v) in head.iter().enumerate() {
        let Some(&got) = lead.samples_mv.get(i) else {
            break;
        };
        let want = v.as_f64().unwrap();
        assert!(
            (f64::from(got) - want).abs() <= tol_mv,
            "{what} {}[{i}]: {got} vs reference {want}",
            lead.name
        );
        compared += 1;
    }
    for (k, v) in summary["stride"].as_array().unwrap().iter().enumerate() {
        let i = k * 499;
        let Some(&got) = lead.samples_mv.get(i) else {
            break;
        };
        let want = v.as_f64().unwrap();
        assert!(
            (f64::from(got) - want).abs() <= tol_mv,
            "{what} {}[{i}]: {got} vs reference {want}",
            lead.name
        );
        compared += 1;
    }
    compared
}

fn measurement<'a>(rec: &'a Recording, name: &str) -> Option<&'a str> {
    rec.device_findings
        .measurements
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

// ------------------------------------------------------------------ SCP-ECG

#[test]
fn scp_ecgtoolkit_example_matches_ecgdatakit() {
    let Some(dir) = formats_dir() else { return };
    let path = dir.join("ecgtoolkit_examples/Example.scp");
    let rec = formats::open(&path).unwrap();
    assert_eq!(rec.provenance.format, "SCP-ECG");
    assert_eq!(rec.sample_rate_hz, 500.0);
    assert_eq!(rec.len_samples(), 5000);
    assert_eq!(rec.leads.len(), 12);
    assert!(
        rec.missing_standard_leads().is_empty(),
        "{:?}",
        rec.lead_names()
    );
    let fx = fixture("scp_ecgtoolkit_example");
    let mut n = 0;
    for (label, summary) in fx["leads"].as_object().unwrap() {
        let std = StandardLead::from_name(label).unwrap();
        n += compare(rec.lead(std).unwrap(), summary, 1e-6, "Example.scp");
        assert_eq!(
            rec.lead(std).unwrap().samples_mv.len() as u64,
            summary["n"].as_u64().unwrap()
        );
    }
    assert!(n > 12 * 100);
    // reference beats (section 5) = median beats
    let median = rec.median_beats.as_ref().expect("median beats");
    assert_eq!(median.len(), 12);
    for (label, summary) in fx["median"].as_object().unwrap() {
        let std = StandardLead::from_name(label).unwrap();
        let lead = median.iter().find(|l| l.standard == Some(std)).unwrap();
        assert_eq!(lead.samples_mv.len() as u64, summary["n"].as_u64().unwrap());
        compare(lead, summary, 1e-6, "Example.scp median");
    }
    // patient and acquisition (section 1)
    assert_eq!(rec.patient.id.as_deref(), Some("SBJ-123"));
    assert_eq!(rec.patient.sex, Some(Sex::Male));
    assert_eq!(rec.patient.age_years, Some(49.0));
    assert_eq!(rec.patient.birth_date.as_deref(), Some("1953-05-08"));
    assert_eq!(
        rec.provenance.acquisition_time.as_deref(),
        Some("2002-11-22T09:10:00")
    );
    assert!(rec
        .provenance
        .device
        .as_deref()
        .unwrap_or("")
        .contains("ELI250"));
    // global measurements (section 7): the same values the DICOM export of this ECG carries
    assert_eq!(measurement(&rec, "PR interval"), Some("148 ms"));
    assert_eq!(measurement(&rec, "QRS duration"), Some("120 ms"));
    assert_eq!(measurement(&rec, "QT interval"), Some("420 ms"));
    assert_eq!(measurement(&rec, "QRS axis"), Some("-61°"));
    assert!(
        !rec.provenance.notes.iter().any(|n| n.contains("CRC")),
        "{:?}",
        rec.provenance.notes
    );
}

#[test]
fn scp_contec_0000050_matches_device_csv() {
    let Some(dir) = formats_dir() else { return };
    let path = dir.join("contec_ecg/tools/0000050.ECG.scp");
    let rec = read_with(&scp::ScpReader, &path).unwrap();
    assert_eq!(rec.sample_rate_hz, 800.0);
    assert_eq!(rec.leads.len(), 12);
    // the writer capped section 6 at 65534 bytes per lead: 32767 of 37855 samples
    assert_eq!(rec.len_samples(), 32767);
    assert!(
        rec.provenance.notes.iter().any(|n| n.contains("37855")),
        "{:?}",
        rec.provenance.notes
    );
    let fx = fixture("scp_contec_0000050");
    let mut n = 0;
    for (label, summary) in fx["leads"].as_object().unwrap() {
        let std = StandardLead::from_name(label).unwrap();
        n += compare(rec.lead(std).unwrap(), summary, 1e-6, "0000050.ECG.scp");
    }
    assert!(n > 6 * 150);
    // the Contec writer puts the record number in tag 31 (ECG sequence number), not tag 2
    assert_eq!(rec.patient.id, None);
    assert!(rec
        .provenance
        .notes
        .iter()
        .any(|n| n == "ECG sequence number 0000050"));
    assert!(rec
        .provenance
        .acquisition_time
        .as_deref()
        .unwrap_or("")
        .starts_with("2020-11-16T"));
}

#[test]
fn scp_demo_matches_raw_reading() {
    let Some(dir) = formats_dir() else { return };
    let path = dir.join("contec_ecg/examples/demo.scp");
    let rec = formats::open(&path).unwrap();
    assert_eq!(rec.sample_rate_hz, 1000.0);
    // The file stores I, II, V1–V6; III, aVR, aVL, aVF are derived and marked so.
    assert_eq!(rec.leads.len(), 12);
    assert_eq!(
        rec.lead_names(),
        ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    );
    let derived: Vec<&str> = rec
        .leads
        .iter()
        .filter(|l| l.derived)
        .map(|l| l.name.as_str())
        .collect();
    assert_eq!(derived, ["III", "aVR", "aVL", "aVF"]);
    let (i, ii) = (
        rec.lead(StandardLead::I).unwrap(),
        rec.lead(StandardLead::II).unwrap(),
    );
    let iii = rec.lead(StandardLead::III).unwrap();
    assert!((iii.samples_mv[500] - (ii.samples_mv[500] - i.samples_mv[500])).abs() < 1e-6);
    assert!(rec
        .provenance
        .notes
        .iter()
        .any(|n| n.contains("derived from I and II")));
    assert_eq!(rec.len_samples(), 10000);
    let fx = fixture("scp_demo");
    for (label, summary) in fx["leads"].as_object().unwrap() {
        let std = StandardLead::from_name(label).unwrap();
        compare(rec.lead(std).unwrap(), summary, 1e-6, "demo.scp");
    }
}

#[test]
fn scp_other_copy_of_example_is_identical() {
    let Some(dir) = formats_dir() else { return };
    let a = formats::open(&dir.join("ecgtoolkit_examples/Example.scp")).unwrap();
    let b = formats::open(&dir.join("contec_ecg/examples/Example.scp")).unwrap();
    assert_eq!(a.leads, b.leads);
}

// ------------------------------------------------------------------ DICOM

fn check_dicom(rel: &str, name: &str) -> Recording {
    let dir = formats_dir().unwrap();
    let rec = formats::open(&dir.join(rel)).unwrap();
    assert_eq!(rec.provenance.format, "DICOM");
    let fx = fixture(name);
    let groups = fx["groups"].as_array().unwrap();
    let rhythm = groups.iter().find(|g| g["label"] == "RHYTHM").unwrap();
    assert_eq!(rec.sample_rate_hz, rhythm["rate_hz"].as_f64().unwrap());
    assert_eq!(
        rec.len_samples() as u64,
        rhythm["n_samples"].as_u64().unwrap()
    );
    let mut n = 0;
    for (label, summary) in rhythm["leads"].as_object().unwrap() {
        let lead = rec.leads.iter().find(|l| &l.name == label).unwrap();
        assert!(
            lead.standard.is_some(),
            "{label} not recognised as a standard lead"
        );
        n += compare(lead, summary, 1e-6, rel);
    }
    assert!(n >= 12 * 100);
    if let Some(median) = groups
        .iter()
        .find(|g| g["label"].as_str().unwrap().contains("MEDIAN"))
    {
        let beats = rec.median_beats.as_ref().expect("median beats");
        for (label, summary) in median["leads"].as_object().unwrap() {
            let lead = beats.iter().find(|l| &l.name == label).unwrap();
            assert_eq!(lead.samples_mv.len() as u64, summary["n"].as_u64().unwrap());
            compare(lead, summary, 1e-6, rel);
        }
    }
    assert_eq!(rec.patient.id.as_deref(), fx["patient_id"].as_str());
    rec
}

#[test]
fn dicom_pydicom_sample_matches_pydicom() {
    if formats_dir().is_none() {
        return;
    }
    let rec = check_dicom("dicom_ecg/waveform_ecg.dcm", "dicom_pydicom_waveform_ecg");
    assert_eq!(rec.patient.sex, Some(Sex::Female));
    assert_eq!(rec.patient.birth_date.as_deref(), Some("1971-01-23"));
    assert_eq!(
        rec.provenance.acquisition_time.as_deref(),
        Some("2013-01-25T10:59:19")
    );
    assert!(rec
        .provenance
        .device
        .as_deref()
        .unwrap_or("")
        .contains("Mortara"));
    assert!(
        rec.device_findings
            .statements
            .iter()
            .any(|s| s.contains("RITMO SINUSALE")),
        "{:?}",
        rec.device_findings
    );
    assert!(rec.lead(StandardLead::AVF).is_some());
    assert_eq!(measurement(&rec, "QRS Duration"), Some("75 ms"));
    assert_eq!(measurement(&rec, "P Axis"), Some("74°"));
}

#[test]
fn dicom_ecgtoolkit_example_matches_pydicom_and_its_scp_twin() {
    let Some(dir) = formats_dir() else { return };
    let rec = check_dicom(
        "ecgtoolkit_examples/Example.dcm",
        "dicom_ecgtoolkit_example",
    );
    assert_eq!(rec.patient.sex, Some(Sex::Male));
    assert!(rec.median_beats.is_some());
    // ECG Toolkit wrote Example.dcm from the same ECG as Example.scp: identical samples
    let scp = formats::open(&dir.join("ecgtoolkit_examples/Example.scp")).unwrap();
    for std in StandardLead::ALL {
        let a = &rec.lead(std).unwrap().samples_mv;
        let b = &scp.lead(std).unwrap().samples_mv;
        assert_eq!(a.len(), b.len());
        let max_diff = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert!(
            max_diff < 1e-6,
            "{std:?}: DICOM vs SCP differ by {max_diff} mV"
        );
    }
    // device measurements as the file codes them (the same values as the SCP's section 7)
    assert_eq!(measurement(&rec, "PR Interval"), Some("148 ms"));
    assert_eq!(measurement(&rec, "QRS Duration"), Some("120 ms"));
    assert_eq!(measurement(&rec, "QT Interval"), Some("420 ms"));
}

// ------------------------------------------------------------------ EDF / BDF

fn check_edf(rel: &str, name: &str, tol_mv: f64) -> Recording {
    let dir = formats_dir().unwrap();
    let path = dir.join(rel);
    let rec = formats::open(&path).unwrap();
    let fx = fixture(name);
    let rates = fx["rates_hz"].as_object().unwrap();
    let mut n = 0;
    for lead in &rec.leads {
        let rate = rates[&lead.name].as_f64().unwrap();
        assert!(
            (rec.sample_rate_hz - rate).abs() < 1e-9,
            "{rel}: rate {} vs {rate}",
            rec.sample_rate_hz
        );
        n += compare(lead, &fx["leads"][&lead.name], tol_mv, rel);
    }
    assert!(n >= 100, "{rel}: compared only {n} samples");
    rec
}

#[test]
fn edf_bdf_generator_files_match_pyedflib() {
    if formats_dir().is_none() {
        return;
    }
    for (rel, name) in [
        ("edf/pyedflib/test_generator.bdf", "edf_test_generator_bdf"),
        (
            "edf/pyedflib/test_generator_datarec_generator_0_5.bdf",
            "edf_test_generator_0_5_bdf",
        ),
        (
            "edf/pyedflib/test_generator_datarec_generator_2.bdf",
            "edf_test_generator_2_bdf",
        ),
    ] {
        let rec = check_edf(rel, name, 1e-6);
        assert_eq!(rec.provenance.format, "BDF+");
        assert_eq!(rec.duration_s(), 30.0);
        assert_eq!(
            rec.provenance.acquisition_time.as_deref(),
            Some("2000-01-01T00:00:00")
        );
        // signals at other rates are named, not silently dropped
        assert!(rec
            .provenance
            .notes
            .iter()
            .any(|n| n.contains("pink noise")));
    }
}

#[test]
fn edf_plus_long_file_reads_first_window_and_any_window() {
    let Some(dir) = formats_dir() else { return };
    for (rel, name) in [
        ("edf/pyedflib/test_subsecond.edf", "edf_test_subsecond"),
        ("edf/pyedflib/test_utf8.edf", "edf_test_utf8"),
    ] {
        let path = dir.join(rel);
        let rec = check_edf(rel, name, 1e-6);
        assert_eq!(rec.provenance.format, "EDF+");
        // 698 s is long: the default read is the first 10 s
        assert_eq!(rec.len_samples(), 1280);
        assert!(rec
            .provenance
            .notes
            .iter()
            .any(|n| n.contains("long recording")));
        assert_eq!(rec.patient.sex, Some(Sex::Female));
        assert_eq!(rec.patient.birth_date.as_deref(), Some("1998-01-20"));
        assert_eq!(
            rec.provenance.acquisition_time.as_deref(),
            Some("2020-01-24T04:05:56")
        );
        let header = edf::read_header(&path).unwrap();
        assert_eq!(header.duration_s(), 698.0);
        // a window in the middle agrees with pyedflib at the reference's stride points
        let w = edf::read_window(&path, 100.0, 10.0).unwrap();
        assert_eq!(w.len_samples(), 1280);
        let fx = fixture(name);
        let stride = fx["leads"]["Fp1"]["stride"].as_array().unwrap();
        let mut checked = 0;
        for (k, v) in stride.iter().enumerate() {
            let i = k * 499;
            if (12800..14080).contains(&i) {
                let got = f64::from(w.leads[0].samples_mv[i - 12800]);
                assert!(
                    (got - v.as_f64().unwrap()).abs() < 1e-6,
                    "{rel} window sample {i}"
                );
                checked += 1;
            }
        }
        assert!(checked >= 2);
        // paging: the default window, a window by start time, and past the end
        let first = edf::default_window(&path)
            .unwrap()
            .expect("a long recording");
        assert_eq!(first.label(), "window 00:00:00–00:00:10 of 00:11:38");
        assert_eq!(first.next_start_s(), Some(10.0));
        let (paged, window) = edf::open_window(&path, 100.0).unwrap();
        assert_eq!(window.label(), "window 00:01:40–00:01:50 of 00:11:38");
        assert_eq!(paged.leads[0].samples_mv, w.leads[0].samples_mv);
        let (last, window) = edf::open_window(&path, 1e9).unwrap();
        assert_eq!((window.start_s, window.duration_s), (688.0, 10.0));
        assert_eq!(window.next_start_s(), None);
        assert_eq!(last.len_samples(), 1280);
        // annotations: the same onsets and texts as pyedflib
        let ann = edf::read_annotations(&path).unwrap();
        assert_eq!(ann.len() as u64, fx["n_annotations"].as_u64().unwrap());
        for (a, r) in ann.iter().zip(fx["annotations"].as_array().unwrap()) {
            assert!((a.onset_s - r[0].as_f64().unwrap()).abs() < 1e-6);
            assert_eq!(a.text, r[2].as_str().unwrap());
        }
    }
}

#[test]
fn edf_contec_0000050_matches_pyedflib_scp_and_csv() {
    let Some(dir) = formats_dir() else { return };
    let rec = check_edf(
        "contec_ecg/tools/0000050.ECG.edf",
        "edf_contec_0000050",
        1e-4,
    );
    assert_eq!(rec.sample_rate_hz, 800.0);
    assert_eq!(rec.len_samples(), 37855);
    assert_eq!(rec.leads.len(), 12);
    assert!(rec.missing_standard_leads().is_empty());
    // Same recording as the SCP-ECG export. Contec's EDF writer stores the device's raw
    // 5 µV counts as digital values but declares ±1000 mV for ±32768, so its physical
    // values are 6.1× too large (pyedflib reads the same). In digital counts the two files
    // agree sample for sample over the 32767 samples the SCP file holds.
    let scp = read_with(
        &scp::ScpReader,
        &dir.join("contec_ecg/tools/0000050.ECG.scp"),
    )
    .unwrap();
    let gain_mv = 2000.0 / 65535.0;
    for std in StandardLead::ALL {
        let e = &rec.lead(std).unwrap().samples_mv;
        let s = &scp.lead(std).unwrap().samples_mv;
        assert_eq!(s.len(), 32767);
        for (i, (a, b)) in e.iter().zip(s).enumerate() {
            let edf_counts = ((f64::from(*a) + 1000.0) / gain_mv - 32768.0).round();
            let scp_counts = (f64::from(*b) / 0.005).round();
            assert_eq!(
                edf_counts, scp_counts,
                "{std:?}[{i}]: EDF {a} mV vs SCP {b} mV"
            );
        }
    }
}

#[test]
fn readers_refuse_each_others_files_fast() {
    let Some(dir) = formats_dir() else { return };
    let scp_file = dir.join("ecgtoolkit_examples/Example.scp");
    let dcm_file = dir.join("dicom_ecg/waveform_ecg.dcm");
    let edf_file = dir.join("edf/pyedflib/test_utf8.edf");
    for (reader, files) in [
        (&scp::ScpReader as &dyn Reader, [&dcm_file, &edf_file]),
        (&dicom::DicomReader, [&scp_file, &edf_file]),
        (&edf::EdfReader, [&scp_file, &dcm_file]),
    ] {
        for f in files {
            assert!(
                matches!(read_with(reader, f), Err(FormatError::Incompatible { .. })),
                "{} accepted {}",
                reader.name(),
                f.display()
            );
        }
    }
}
