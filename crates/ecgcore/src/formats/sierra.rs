//! Philips Sierra ECG XML (PageWriter / IntelliSpace ECG exports, `restingecgdata` in
//! namespace `http://www3.medical.philips.com`, document versions 1.03, 1.04 and 1.04.01;
//! often UTF-16) reader.
//!
//! Rhythm data is `waveforms/parsedwaveforms`: Base64, either XLI-compressed (see
//! [`super::sierra_xli`]) with one chunk per lead, or uncompressed lead after lead as
//! little-endian `i16`. Each lead has `durationperchannel` (ms) × rate / 1000 samples.
//! Sierra stores leads III, aVR, aVL and aVF as residuals against the values computed from
//! I and II, so after decoding they are rebuilt (integer arithmetic, halves rounded down):
//! III = II − I − III′, aVR = −aVR′ − ⌊(I + II)/2⌋, aVL = ⌊(I − III)/2⌋ − aVL′,
//! aVF = ⌊(II + III)/2⌋ − aVF′ (as sierra-ecg-tools does). Physical value = integer ×
//! resolution (µV per bit, `signalresolution` in 1.03, `resolution` in 1.04). Representative
//! beats (`repbeats`, 1.04+) become `median_beats`, resampled to the rhythm rate when they
//! differ (1.04.01 stores them at 1000 Hz). Patient data, the device, filter settings,
//! global measurements and interpretation statements are read as the device's findings.
//! Samples are in mV.

use super::sierra_xli;
use super::xml_util::{self, attr, attr_text, child, children, path as xpath, path_text, text_of};
use super::{limits, FormatError, OpenOptions, Reader};
use crate::recording::{DeviceFindings, Lead, Patient, Provenance, Recording};
use roxmltree::Node;
use std::path::Path;

const FORMAT: &str = "Philips Sierra XML";
const STANDARD_12: [&str; 12] = [
    "I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6",
];

/// Reader for Philips Sierra ECG XML files.
pub struct SierraReader;

impl Reader for SierraReader {
    fn name(&self) -> &'static str {
        FORMAT
    }

    fn read(
        &self,
        path: &Path,
        head: &[u8],
        _options: &OpenOptions,
    ) -> Result<Recording, FormatError> {
        if !xml_util::head_has_root(head, "restingecgdata") {
            return Err(FormatError::Incompatible {
                format: FORMAT,
                path: path.to_path_buf(),
            });
        }
        let text = xml_util::load_text(path, FORMAT)?;
        read_sierra_text(path, &text)
    }
}

/// Read a Sierra XML document from bytes in memory (`path` names it in messages).
///
/// # Errors
/// [`FormatError::Incompatible`] when the root is not `restingecgdata`; otherwise a
/// [`FormatError`] naming the problem.
pub fn read_sierra_bytes(path: &Path, bytes: &[u8]) -> Result<Recording, FormatError> {
    let text = xml_util::decode_xml_text(bytes).map_err(|e| xml_util::invalid(FORMAT, path, &e))?;
    read_sierra_text(path, &text)
}

/// Read a Sierra XML document from decoded text.
///
/// # Errors
/// As [`read_sierra_bytes`].
pub fn read_sierra_text(path: &Path, text: &str) -> Result<Recording, FormatError> {
    let doc = xml_util::parse(text).map_err(|e| xml_util::invalid(FORMAT, path, &e))?;
    let root = doc.root_element();
    if root.tag_name().name() != "restingecgdata" {
        return Err(FormatError::Incompatible {
            format: FORMAT,
            path: path.to_path_buf(),
        });
    }
    let bad = |reason: String| FormatError::invalid(FORMAT, path, reason);
    let unsupported = |what: String| FormatError::Unsupported {
        format: FORMAT,
        what,
        path: path.to_path_buf(),
    };
    let version = path_text(root, &["documentinfo", "documentversion"]).unwrap_or_default();
    let signal = xpath(root, &["dataacquisition", "signalcharacteristics"]);
    let waves = xpath(root, &["waveforms", "parsedwaveforms"])
        .ok_or_else(|| bad("no <waveforms>/<parsedwaveforms>".into()))?;

    // Rate and resolution: the 1.04 attributes, else signalcharacteristics.
    let sample_rate_hz = attr(waves, "samplespersecond")
        .and_then(xml_util::parse_f64)
        .or_else(|| {
            signal
                .and_then(|s| path_text(s, &["samplingrate"]))
                .and_then(|s| xml_util::parse_f64(&s))
        })
        .ok_or_else(|| bad("no sampling rate".into()))?;
    if !(1.0..=100_000.0).contains(&sample_rate_hz) {
        return Err(bad(format!(
            "sampling rate {sample_rate_hz} Hz is not usable"
        )));
    }
    let resolution_uv = attr(waves, "resolution")
        .and_then(xml_util::parse_f64)
        .or_else(|| {
            signal
                .and_then(|s| {
                    path_text(s, &["signalresolution"]).or_else(|| path_text(s, &["resolution"]))
                })
                .and_then(|s| xml_util::parse_f64(&s))
        })
        .ok_or_else(|| bad("no signal resolution".into()))?;
    let duration_ms = attr(waves, "durationperchannel")
        .and_then(xml_util::parse_f64)
        .ok_or_else(|| bad("no durationperchannel".into()))?;
    let n_samples_f = (duration_ms * sample_rate_hz / 1000.0).round();
    if !(1.0..=limits::MAX_TOTAL_SAMPLES as f64).contains(&n_samples_f) {
        return Err(bad(format!("{n_samples_f} samples per lead is not usable")));
    }
    let n_samples = n_samples_f as usize;
    let labels = lead_labels(waves, signal);

    let encoding = attr(waves, "dataencoding").unwrap_or("Base64");
    if !encoding.eq_ignore_ascii_case("Base64") {
        return Err(unsupported(format!("waveform data encoding {encoding}")));
    }
    let compression = attr(waves, "compressmethod")
        .or_else(|| attr(waves, "compression"))
        .unwrap_or("Uncompressed")
        .to_string();
    let compressed_flag = attr(waves, "compressflag").map(|f| f.eq_ignore_ascii_case("True"));
    let raw = xml_util::decode_base64(
        waves.text().unwrap_or(""),
        limits::MAX_TOTAL_SAMPLES.saturating_mul(2),
    )
    .map_err(bad)?;
    let mut ints: Vec<Vec<i16>> = if compression.eq_ignore_ascii_case("XLI")
        && compressed_flag != Some(false)
    {
        sierra_xli::decode(&raw, limits::MAX_TOTAL_SAMPLES, limits::MAX_SIGNALS)
            .map_err(|e| bad(e.to_string()))?
    } else if compression.eq_ignore_ascii_case("Uncompressed") || compressed_flag == Some(false) {
        raw.chunks_exact(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]))
            .collect::<Vec<_>>()
            .chunks(n_samples)
            .take(labels.len().max(1))
            .map(<[i16]>::to_vec)
            .collect()
    } else {
        return Err(unsupported(format!("waveform compression {compression}")));
    };
    if ints.is_empty() {
        return Err(bad("waveform block holds no leads".into()));
    }
    let mut notes = Vec::new();
    if !labels.is_empty() && ints.len() > labels.len() {
        notes.push(format!(
            "{} unlabelled extra channels in the waveform block were ignored",
            ints.len() - labels.len()
        ));
        ints.truncate(labels.len());
    }
    for lead in &mut ints {
        lead.truncate(n_samples);
    }
    if ints.iter().any(|l| l.len() < n_samples) {
        notes.push(format!(
            "some leads hold fewer than the {n_samples} samples declared; the rest is shown as gaps"
        ));
    }
    let rebuilt = rebuild_limb_leads(&mut ints, &labels);
    if !rebuilt && ints.len() >= 6 {
        notes.push(
            "lead labels are not the standard 12-lead order; III/aVR/aVL/aVF not rebuilt".into(),
        );
    }
    let scale_mv = resolution_uv / 1000.0;
    let mut leads: Vec<Lead> = ints
        .iter()
        .enumerate()
        .map(|(i, samples)| {
            let name = labels
                .get(i)
                .cloned()
                .unwrap_or_else(|| format!("Channel {}", i + 1));
            Lead::new(
                name,
                samples
                    .iter()
                    .map(|&v| (f64::from(v) * scale_mv) as f32)
                    .collect(),
            )
        })
        .collect();
    for lead in &mut leads {
        lead.samples_mv.resize(n_samples, f32::NAN);
    }

    let median_beats = match read_repbeats(root, sample_rate_hz, &mut notes) {
        Ok(b) => b,
        Err(e) => {
            notes.push(format!("representative beats not read: {e}"));
            None
        }
    };
    if !version.is_empty() {
        notes.push(format!("Sierra XML document version {version}"));
    }

    Ok(Recording {
        leads,
        sample_rate_hz,
        patient: read_patient(root),
        provenance: Provenance {
            format: FORMAT.into(),
            path: path.to_path_buf(),
            original_sample_rate_hz: sample_rate_hz,
            device: read_device(root),
            device_filters: read_filters(root, waves, signal),
            acquisition_time: child(root, "dataacquisition").and_then(date_time),
            notes,
            ..Provenance::default()
        },
        device_findings: read_findings(root),
        median_beats,
    })
}

/// Lead labels: `leadlabels` (1.04), else the standard order for STD-12/10-WIRE sets.
fn lead_labels(waves: Node, signal: Option<Node>) -> Vec<String> {
    if let Some(labels) = attr_text(waves, "leadlabels") {
        let n = attr(waves, "numberofleads")
            .and_then(|s| s.trim().parse::<usize>().ok())
            .unwrap_or(usize::MAX);
        return labels
            .split_whitespace()
            .take(n.min(limits::MAX_SIGNALS))
            .map(|s| s.chars().take(40).collect())
            .collect();
    }
    let count = signal
        .and_then(|s| path_text(s, &["numberchannelsallocated"]))
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(12)
        .min(limits::MAX_SIGNALS);
    let set = signal
        .and_then(|s| path_text(s, &["acquisitiontype"]).or_else(|| path_text(s, &["leadset"])))
        .unwrap_or_default();
    (0..count)
        .map(|i| match (set.as_str(), STANDARD_12.get(i)) {
            ("STD-12" | "10-WIRE", Some(l)) => (*l).to_string(),
            _ => format!("Channel {}", i + 1),
        })
        .collect()
}

/// Rebuild III, aVR, aVL, aVF from their stored residuals when the first six leads are
/// the standard limb leads. Returns whether it did.
fn rebuild_limb_leads(ints: &mut [Vec<i16>], labels: &[String]) -> bool {
    let standard = labels.len() >= 6
        && ints.len() >= 6
        && labels
            .iter()
            .zip(STANDARD_12)
            .take(6)
            .all(|(l, s)| l.eq_ignore_ascii_case(s));
    if !standard {
        return false;
    }
    let n = ints[..6].iter().map(Vec::len).min().unwrap_or(0);
    let half = |v: i32| v.div_euclid(2);
    #[allow(clippy::needless_range_loop)] // six leads indexed in step
    for k in 0..n {
        let i = i32::from(ints[0][k]);
        let ii = i32::from(ints[1][k]);
        let iii = ii - i - i32::from(ints[2][k]);
        let avr = -i32::from(ints[3][k]) - half(i + ii);
        let avl = half(i - iii) - i32::from(ints[4][k]);
        let avf = half(ii + iii) - i32::from(ints[5][k]);
        ints[2][k] = iii as i16;
        ints[3][k] = avr as i16;
        ints[4][k] = avl as i16;
        ints[5][k] = avf as i16;
    }
    true
}

/// `repbeats` (1.04+): uncompressed Base64 `i16` per lead at `samplespersec`, `resolution`
/// µV per bit.
fn read_repbeats(
    root: Node,
    rhythm_rate_hz: f64,
    notes: &mut Vec<String>,
) -> Result<Option<Vec<Lead>>, String> {
    let Some(reps) = xpath(root, &["waveforms", "repbeats"]) else {
        return Ok(None);
    };
    let rate = attr(reps, "samplespersec")
        .and_then(xml_util::parse_f64)
        .ok_or("no samplespersec")?;
    if !(1.0..=100_000.0).contains(&rate) {
        return Err(format!("rate {rate} Hz is not usable"));
    }
    let resolution = attr(reps, "resolution")
        .and_then(xml_util::parse_f64)
        .ok_or("no resolution")?;
    let mut beats = Vec::new();
    for rep in children(reps, "repbeat").take(limits::MAX_SIGNALS) {
        let name: String = attr(rep, "leadname")
            .unwrap_or("?")
            .chars()
            .take(40)
            .collect();
        // 1.04+: <repbeat><waveform>…</waveform></repbeat>; 1.03: the data is the
        // <repbeat> element's own text.
        let text = child(rep, "waveform")
            .and_then(|w| w.text())
            .or_else(|| rep.text())
            .unwrap_or("");
        let bytes = xml_util::decode_base64(text, 4 * 1024 * 1024)?;
        let samples: Vec<f32> = bytes
            .chunks_exact(2)
            .map(|c| (f64::from(i16::from_le_bytes([c[0], c[1]])) * resolution / 1000.0) as f32)
            .collect();
        let samples = if (rate - rhythm_rate_hz).abs() > 1e-6 {
            xml_util::resample_linear(&samples, rate, rhythm_rate_hz, limits::MAX_TOTAL_SAMPLES)
        } else {
            samples
        };
        beats.push(Lead::new(name, samples));
    }
    if beats.is_empty() {
        return Ok(None);
    }
    if (rate - rhythm_rate_hz).abs() > 1e-6 {
        notes.push(format!(
            "representative beats resampled from {rate} Hz to {rhythm_rate_hz} Hz"
        ));
    }
    xml_util::equalise_lengths(&mut beats);
    Ok(Some(beats))
}

/// `date="YYYY-MM-DD" time="HH:MM:SS"` attributes → ISO 8601.
fn date_time(node: Node) -> Option<String> {
    let date = attr_text(node, "date")?;
    let ok_date = date.len() == 10 && date.as_bytes().get(4) == Some(&b'-');
    if !ok_date {
        return None;
    }
    Some(match attr_text(node, "time") {
        Some(t) if t.len() == 8 => format!("{date}T{t}"),
        _ => date,
    })
}

fn read_patient(root: Node) -> Patient {
    let Some(general) = xpath(root, &["patient", "generalpatientdata"]) else {
        return Patient::default();
    };
    let age = child(general, "age");
    let birth_date = age
        .and_then(|a| path_text(a, &["dateofbirth"]))
        .filter(|d| d.len() == 10 && d.as_bytes().get(4) == Some(&b'-'));
    let age_years = age.and_then(|a| {
        path_text(a, &["years"])
            .and_then(|y| xml_util::parse_f64(&y))
            .or_else(|| {
                path_text(a, &["months"])
                    .and_then(|m| xml_util::parse_f64(&m))
                    .map(|m| m / 12.0)
            })
            .or_else(|| {
                path_text(a, &["days"])
                    .and_then(|d| xml_util::parse_f64(&d))
                    .map(|d| d / 365.25)
            })
    });
    Patient {
        id: path_text(general, &["patientid"]),
        age_years: age_years.map(|a| a as f32),
        sex: path_text(general, &["sex"]).and_then(|s| xml_util::sex_from_text(&s)),
        birth_date,
    }
}

fn read_device(root: Node) -> Option<String> {
    let machine = xpath(root, &["dataacquisition", "machine"])?;
    let model = text_of(machine);
    let detail = attr_text(machine, "detaildescription");
    let mut parts = vec![String::from("Philips")];
    parts.extend(model);
    parts.extend(detail.map(|d| format!("({d})")));
    parts.extend(attr_text(machine, "machineid").map(|id| format!("id {id}")));
    Some(parts.join(" "))
}

fn read_filters(root: Node, waves: Node, signal: Option<Node>) -> Option<String> {
    let mut parts = Vec::new();
    let from = |label: &str, v: Option<String>, unit: &str, parts: &mut Vec<String>| {
        if let Some(v) = v {
            parts.push(format!("{label} {v} {unit}").trim().to_string());
        }
    };
    let hp = attr_text(waves, "hipass")
        .or_else(|| signal.and_then(|s| path_text(s, &["hipass"])))
        .or_else(|| {
            path_text(
                root,
                &["reportinfo", "reportbandwidth", "highpassfiltersetting"],
            )
        });
    let lp = attr_text(waves, "lowpass")
        .or_else(|| signal.and_then(|s| path_text(s, &["lowpass"])))
        .or_else(|| {
            path_text(
                root,
                &["reportinfo", "reportbandwidth", "lowpassfiltersetting"],
            )
        });
    let notch = signal
        .and_then(|s| path_text(s, &["acsetting"]))
        .or_else(|| {
            path_text(
                root,
                &["reportinfo", "reportbandwidth", "notchfiltersetting"],
            )
        });
    from("high-pass", hp, "Hz", &mut parts);
    from("low-pass", lp, "Hz", &mut parts);
    from("AC", notch, "Hz", &mut parts);
    if let Some(f) = attr_text(waves, "notchfiltered") {
        parts.push(format!("notch filtered: {f}"));
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// Unit of a Philips global measurement, by its element name.
fn measurement_unit(name: &str) -> &'static str {
    if name.ends_with("axis") {
        "deg"
    } else if name.contains("rate") {
        "bpm"
    } else if name.ends_with("int")
        || name.ends_with("dur")
        || name.ends_with("seg")
        || name.starts_with("qtc")
        || name.ends_with("onset")
        || name.starts_with("meanqtc")
    {
        "ms"
    } else {
        ""
    }
}

fn read_findings(root: Node) -> DeviceFindings {
    let mut findings = DeviceFindings::default();
    let Some(interp) = xpath(root, &["interpretations", "interpretation"]) else {
        return findings;
    };
    let measurements =
        child(interp, "globalmeasurements").or_else(|| child(interp, "interpretationmeasurements"));
    if let Some(m) = measurements {
        for field in m.children().filter(Node::is_element).take(200) {
            let name =
                attr_text(field, "label").unwrap_or_else(|| field.tag_name().name().to_string());
            if let Some(v) = text_of(field) {
                let unit = measurement_unit(field.tag_name().name());
                let shown = if unit.is_empty() || v.parse::<f64>().is_err() {
                    v
                } else {
                    format!("{v} {unit}")
                };
                findings.measurements.push((name, shown));
            }
        }
    }
    for stmt in children(interp, "statement").take(500) {
        let left = path_text(stmt, &["leftstatement"]);
        let right = path_text(stmt, &["rightstatement"]);
        let text = match (left, right) {
            (Some(l), Some(r)) => format!("{l} ({r})"),
            (Some(l), None) => l,
            (None, Some(r)) => r,
            (None, None) => continue,
        };
        findings.statements.push(text);
    }
    if let Some(sev) = child(interp, "severity").and_then(text_of) {
        let sev = sev
            .trim_matches(|c: char| c == '-' || c.is_whitespace())
            .to_string();
        if !sev.is_empty() {
            findings.statements.push(sev);
        }
    }
    if let Some(sig) = child(interp, "mdsignatureline").and_then(text_of) {
        findings.statements.push(sig);
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limb_leads_are_rebuilt_from_residuals() {
        let labels: Vec<String> = STANDARD_12.iter().map(|s| (*s).to_string()).collect();
        // I = 10, II = 30 → III = 20, aVR = −20, aVL = −5, aVF = 25 with zero residuals.
        let mut ints = vec![vec![10], vec![30], vec![0], vec![0], vec![0], vec![0]];
        assert!(rebuild_limb_leads(&mut ints, &labels));
        assert_eq!(
            ints,
            vec![vec![10], vec![30], vec![20], vec![-20], vec![-5], vec![25]]
        );
        // Odd negative halves round down (−7/2 → −4).
        let mut ints = vec![vec![-3], vec![-4], vec![0], vec![0], vec![0], vec![0]];
        rebuild_limb_leads(&mut ints, &labels);
        assert_eq!(ints[3], vec![4]);
    }
}
