//! GE MUSE resting ECG XML (root `RestingECG`, MUSE 7–9 "restecg.dtd" exports) reader.
//!
//! Each `Waveform` (`WaveformType` `Rhythm` or `Median`) has a rate `SampleBase ·
//! 10^SampleExponent` Hz and one `LeadData` per stored lead: `WaveFormData` is Base64 of
//! little-endian signed 16-bit samples; physical value = sample · `LeadAmplitudeUnitsPerBit`
//! in `LeadAmplitudeUnits` (MICROVOLTS usually). MUSE usually stores 8 leads (I, II,
//! V1–V6); III, aVR, aVL and aVF are then derived with Einthoven/Goldberger and labelled
//! derived (`Recording::derive_missing_limb_leads`). Demographics, `RestingECGMeasurements`
//! and `Diagnosis` statements (joined into lines at `ENDSLINE` flags) are read as the
//! device's own findings. Samples are in mV.

use super::xml_util::{self, child, children, path_text, text_of};
use super::{limits, FormatError, OpenOptions, Reader};
use crate::recording::{DeviceFindings, Lead, Patient, Provenance, Recording};
use roxmltree::Node;
use std::path::Path;

const FORMAT: &str = "GE MUSE XML";

/// Reader for GE MUSE XML exports.
pub struct MuseReader;

impl Reader for MuseReader {
    fn name(&self) -> &'static str {
        FORMAT
    }

    fn read(
        &self,
        path: &Path,
        head: &[u8],
        _options: &OpenOptions,
    ) -> Result<Recording, FormatError> {
        if !xml_util::head_has_root(head, "RestingECG") {
            return Err(FormatError::Incompatible {
                format: FORMAT,
                path: path.to_path_buf(),
            });
        }
        let text = xml_util::load_text(path, FORMAT)?;
        read_muse_text(path, &text)
    }
}

/// Read a MUSE XML document from bytes in memory (`path` names it in messages).
///
/// # Errors
/// [`FormatError::Incompatible`] when the root is not `RestingECG`; otherwise a
/// [`FormatError`] naming the problem.
pub fn read_muse_bytes(path: &Path, bytes: &[u8]) -> Result<Recording, FormatError> {
    let text = xml_util::decode_xml_text(bytes).map_err(|e| xml_util::invalid(FORMAT, path, &e))?;
    read_muse_text(path, &text)
}

/// Read a MUSE XML document from decoded text.
///
/// # Errors
/// As [`read_muse_bytes`].
pub fn read_muse_text(path: &Path, text: &str) -> Result<Recording, FormatError> {
    let doc = xml_util::parse(text).map_err(|e| xml_util::invalid(FORMAT, path, &e))?;
    let root = doc.root_element();
    if root.tag_name().name() != "RestingECG" {
        return Err(FormatError::Incompatible {
            format: FORMAT,
            path: path.to_path_buf(),
        });
    }
    let bad = |reason: String| FormatError::invalid(FORMAT, path, reason);
    let mut budget = limits::MAX_TOTAL_SAMPLES;
    let mut notes = Vec::new();

    let waveforms: Vec<Node> = children(root, "Waveform").collect();
    let kind = |w: Node| path_text(w, &["WaveformType"]).unwrap_or_default();
    let rhythm_node = waveforms
        .iter()
        .copied()
        .find(|w| kind(*w).eq_ignore_ascii_case("Rhythm"))
        .or_else(|| {
            waveforms
                .iter()
                .copied()
                .find(|w| !kind(*w).eq_ignore_ascii_case("Median"))
        })
        .ok_or_else(|| bad("no rhythm <Waveform>".into()))?;
    let (sample_rate_hz, leads, padded) = read_waveform(rhythm_node, &mut budget).map_err(bad)?;
    if padded {
        notes.push("leads of unequal length were padded with gaps".into());
    }
    let mut rec = Recording {
        leads,
        sample_rate_hz,
        ..Recording::default()
    };
    rec.derive_missing_limb_leads();
    rec.order_standard_leads();

    if let Some(median_node) = waveforms
        .iter()
        .copied()
        .find(|w| kind(*w).eq_ignore_ascii_case("Median"))
    {
        match read_waveform(median_node, &mut budget) {
            Ok((rate, leads, _)) => {
                let mut beats = Recording {
                    leads,
                    sample_rate_hz: rate,
                    ..Recording::default()
                };
                beats.derive_missing_limb_leads();
                beats.order_standard_leads();
                if (rate - sample_rate_hz).abs() > 1e-6 {
                    for lead in &mut beats.leads {
                        lead.samples_mv = xml_util::resample_linear(
                            &lead.samples_mv,
                            rate,
                            sample_rate_hz,
                            limits::MAX_TOTAL_SAMPLES,
                        );
                    }
                    notes.push(format!(
                        "median beats resampled from {rate} Hz to {sample_rate_hz} Hz"
                    ));
                }
                rec.median_beats = Some(beats.leads);
            }
            Err(e) => notes.push(format!("median beats not read: {e}")),
        }
    }

    rec.patient = read_patient(root);
    let mut provenance = Provenance {
        format: FORMAT.into(),
        path: path.to_path_buf(),
        original_sample_rate_hz: sample_rate_hz,
        device: read_device(root),
        device_filters: read_filters(rhythm_node),
        acquisition_time: read_acquisition_time(root),
        notes: std::mem::take(&mut rec.provenance.notes),
        ..Provenance::default()
    };
    provenance.notes.extend(notes);
    rec.provenance = provenance;
    rec.device_findings = read_findings(root);
    Ok(rec)
}

/// Rate, leads (mV) and whether any lead was padded, for one `<Waveform>`.
fn read_waveform(w: Node, budget: &mut usize) -> Result<(f64, Vec<Lead>, bool), String> {
    let base = path_text(w, &["SampleBase"])
        .and_then(|s| xml_util::parse_f64(&s))
        .ok_or("waveform without a numeric <SampleBase>")?;
    let exponent = path_text(w, &["SampleExponent"])
        .and_then(|s| s.parse::<i32>().ok())
        .unwrap_or(0);
    if !(-3..=3).contains(&exponent) {
        return Err(format!("sample exponent {exponent} is not usable"));
    }
    let rate = base * 10f64.powi(exponent);
    if !(1.0..=100_000.0).contains(&rate) {
        return Err(format!("sample rate {rate} Hz is not usable"));
    }
    let mut leads = Vec::new();
    for ld in children(w, "LeadData") {
        if leads.len() >= limits::MAX_SIGNALS {
            return Err(format!("more than {} leads", limits::MAX_SIGNALS));
        }
        let id = path_text(ld, &["LeadID"]).ok_or("<LeadData> without <LeadID>")?;
        let id: String = id.chars().take(40).collect();
        let per_bit = path_text(ld, &["LeadAmplitudeUnitsPerBit"])
            .and_then(|s| xml_util::parse_f64(&s))
            .ok_or_else(|| format!("lead {id}: no numeric <LeadAmplitudeUnitsPerBit>"))?;
        let units = path_text(ld, &["LeadAmplitudeUnits"]).unwrap_or_else(|| "MICROVOLTS".into());
        let mv_per_unit = xml_util::mv_per_unit(&units)
            .ok_or_else(|| format!("lead {id}: amplitude units '{units}' not supported"))?;
        let sample_size = path_text(ld, &["LeadSampleSize"])
            .and_then(|s| s.parse::<u32>().ok())
            .unwrap_or(2);
        if sample_size != 2 {
            return Err(format!(
                "lead {id}: {sample_size}-byte samples not supported"
            ));
        }
        let data = path_text(ld, &["WaveFormData"])
            .ok_or_else(|| format!("lead {id}: no <WaveFormData>"))?;
        let bytes = xml_util::decode_base64(&data, budget.saturating_mul(2))
            .map_err(|e| format!("lead {id}: {e}"))?;
        let mut n = bytes.len() / 2;
        if let Some(declared) =
            path_text(ld, &["LeadSampleCountTotal"]).and_then(|s| s.parse::<usize>().ok())
        {
            n = n.min(declared);
        }
        if n > *budget {
            return Err(format!(
                "more than {} samples in all leads",
                limits::MAX_TOTAL_SAMPLES
            ));
        }
        *budget -= n;
        let scale = per_bit * mv_per_unit;
        let samples = bytes
            .chunks_exact(2)
            .take(n)
            .map(|c| (f64::from(i16::from_le_bytes([c[0], c[1]])) * scale) as f32)
            .collect();
        leads.push(Lead::new(id, samples));
    }
    if leads.is_empty() {
        return Err("waveform without <LeadData>".into());
    }
    let padded = xml_util::equalise_lengths(&mut leads);
    Ok((rate, leads, padded))
}

/// `MM-DD-YYYY` (MUSE) → `YYYY-MM-DD`.
fn iso_date(mdy: &str) -> Option<String> {
    let mut it = mdy.trim().split(['-', '/']);
    let (m, d, y) = (it.next()?, it.next()?, it.next()?);
    let ok = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    (ok(m, 2) && ok(d, 2) && ok(y, 4)).then(|| format!("{y}-{m}-{d}"))
}

fn read_patient(root: Node) -> Patient {
    let Some(demo) = child(root, "PatientDemographics") else {
        return Patient::default();
    };
    let age = path_text(demo, &["PatientAge"]).and_then(|s| xml_util::parse_f64(&s));
    let units = path_text(demo, &["AgeUnits"]).unwrap_or_else(|| "YEARS".into());
    let factor = match units.to_ascii_uppercase().as_str() {
        "YEARS" => Some(1.0),
        "MONTHS" => Some(1.0 / 12.0),
        "WEEKS" => Some(7.0 / 365.25),
        "DAYS" => Some(1.0 / 365.25),
        "HOURS" => Some(1.0 / (365.25 * 24.0)),
        _ => None,
    };
    Patient {
        id: path_text(demo, &["PatientID"]),
        age_years: age.zip(factor).map(|(a, f)| (a * f) as f32),
        sex: path_text(demo, &["Gender"]).and_then(|g| xml_util::sex_from_text(&g)),
        birth_date: path_text(demo, &["DateofBirth"]).and_then(|d| iso_date(&d)),
    }
}

fn read_device(root: Node) -> Option<String> {
    let test = child(root, "TestDemographics")?;
    let dev = path_text(test, &["AcquisitionDevice"])?;
    Some(match path_text(test, &["AcquisitionSoftwareVersion"]) {
        Some(v) => format!("GE {dev} (software {v})"),
        None => format!("GE {dev}"),
    })
}

fn read_acquisition_time(root: Node) -> Option<String> {
    let test = child(root, "TestDemographics")?;
    let date = path_text(test, &["AcquisitionDate"]).and_then(|d| iso_date(&d))?;
    Some(match path_text(test, &["AcquisitionTime"]) {
        Some(t) if t.len() == 8 && t.as_bytes().get(2) == Some(&b':') => format!("{date}T{t}"),
        _ => date,
    })
}

fn read_filters(w: Node) -> Option<String> {
    let parts: Vec<String> = ["HighPassFilter", "LowPassFilter", "ACFilter"]
        .iter()
        .filter_map(|t| path_text(w, &[t]).map(|v| format!("{t} {v}")))
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// Unit of a `RestingECGMeasurements` field, by its name.
fn measurement_unit(name: &str) -> &'static str {
    match name {
        "VentricularRate" | "AtrialRate" => "bpm",
        "PAxis" | "RAxis" | "TAxis" => "deg",
        "PRInterval" | "QRSDuration" | "QTInterval" | "QTCorrected" | "QTcFrederica" => "ms",
        "QOnset" | "QOffset" | "POnset" | "POffset" | "TOffset" => "samples (median beat)",
        _ => "",
    }
}

fn read_findings(root: Node) -> DeviceFindings {
    let mut findings = DeviceFindings::default();
    if let Some(m) = child(root, "RestingECGMeasurements") {
        for field in m.children().filter(Node::is_element).take(200) {
            let name = field.tag_name().name();
            if let Some(v) = text_of(field) {
                let unit = measurement_unit(name);
                let shown = if unit.is_empty() {
                    v
                } else {
                    format!("{v} {unit}")
                };
                findings.measurements.push((name.to_string(), shown));
            }
        }
    }
    if let Some(diag) = child(root, "Diagnosis") {
        let mut line: Vec<String> = Vec::new();
        for stmt in children(diag, "DiagnosisStatement").take(500) {
            if let Some(t) = path_text(stmt, &["StmtText"]) {
                line.push(t);
            }
            let ends = children(stmt, "StmtFlag")
                .filter_map(text_of)
                .any(|f| f.eq_ignore_ascii_case("ENDSLINE"));
            if ends && !line.is_empty() {
                findings.statements.push(line.join(" "));
                line.clear();
            }
        }
        if !line.is_empty() {
            findings.statements.push(line.join(" "));
        }
    }
    findings
}
