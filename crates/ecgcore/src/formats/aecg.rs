//! HL7 v3 annotated ECG (aECG, HL7 Version 3 Standard: Annotated ECG, Release 1, 2004;
//! the FDA's format for ECGs in clinical-trial submissions) reader.
//!
//! An `AnnotatedECG` holds one or more `series` (code `RHYTHM`, or `REPRESENTATIVE_BEAT`
//! as a top-level or `derivation/derivedSeries`). Each series has a `sequenceSet`: one
//! time sequence (`TIME_ABSOLUTE`/`TIME_RELATIVE`, `GLIST_TS`/`GLIST_PQ` with a `head` and
//! an `increment` in s or ms → the sample rate) and one `SLIST_PQ` sequence per lead
//! (code `MDC_ECG_LEAD_*`), whose physical value is `origin + scale · digit` in the units
//! of `origin` and `scale` (uV, mV, V). We show the first rhythm series as the recording
//! and the representative beats as `median_beats` (resampled to the rhythm rate if they
//! differ). Global annotations (not bound to a region of interest) become device
//! measurements (`PQ` values) and statements (`ST`/`CE` values). Samples are in mV.

use super::xml_util::{self, attr, attr_text, child, children, path as xpath, text_of};
use super::{limits, FormatError, OpenOptions, Reader};
use crate::recording::{DeviceFindings, Lead, Patient, Provenance, Recording, StandardLead};
use roxmltree::Node;
use std::path::Path;

const FORMAT: &str = "HL7 aECG";
/// Most device measurements/statements kept from one file.
const MAX_FINDINGS: usize = 1000;

/// Reader for HL7 aECG XML files (root element `AnnotatedECG`).
pub struct AecgReader;

impl Reader for AecgReader {
    fn name(&self) -> &'static str {
        FORMAT
    }

    fn read(
        &self,
        path: &Path,
        head: &[u8],
        _options: &OpenOptions,
    ) -> Result<Recording, FormatError> {
        if !xml_util::head_has_root(head, "AnnotatedECG") {
            return Err(FormatError::Incompatible {
                format: FORMAT,
                path: path.to_path_buf(),
            });
        }
        let text = xml_util::load_text(path, FORMAT)?;
        read_aecg_text(path, &text)
    }
}

/// Read an HL7 aECG document from bytes already in memory (`path` only names it in
/// errors and provenance).
///
/// # Errors
/// [`FormatError::Incompatible`] when the root is not `AnnotatedECG`; otherwise
/// [`FormatError::Invalid`]/[`FormatError::Unsupported`] naming the problem.
pub fn read_aecg_bytes(path: &Path, bytes: &[u8]) -> Result<Recording, FormatError> {
    if bytes.len() as u64 > xml_util::MAX_XML_BYTES {
        return Err(FormatError::TooLarge {
            what: format!("{} bytes", bytes.len()),
            path: path.to_path_buf(),
        });
    }
    let text = xml_util::decode_xml_text(bytes).map_err(|e| xml_util::invalid(FORMAT, path, &e))?;
    read_aecg_text(path, &text)
}

/// Read an HL7 aECG document from decoded text.
///
/// # Errors
/// As [`read_aecg_bytes`].
pub fn read_aecg_text(path: &Path, text: &str) -> Result<Recording, FormatError> {
    let doc = xml_util::parse(text).map_err(|e| xml_util::invalid(FORMAT, path, &e))?;
    let root = doc.root_element();
    if root.tag_name().name() != "AnnotatedECG" {
        return Err(FormatError::Incompatible {
            format: FORMAT,
            path: path.to_path_buf(),
        });
    }
    let bad = |reason: String| FormatError::invalid(FORMAT, path, reason);

    // All series: top-level and derived.
    let mut series: Vec<Node> = Vec::new();
    for comp in children(root, "component") {
        for s in children(comp, "series") {
            series.push(s);
            for d in children(s, "derivation") {
                series.extend(children(d, "derivedSeries"));
            }
        }
    }
    if series.is_empty() {
        return Err(bad("no <series> with waveforms".into()));
    }
    let code_of = |s: Node| {
        child(s, "code")
            .and_then(|c| attr_text(c, "code"))
            .unwrap_or_default()
    };
    let mut budget = limits::MAX_TOTAL_SAMPLES;
    let mut notes = Vec::new();

    // Rhythm: the first RHYTHM series with leads, else the first non-beat series.
    let rhythm_candidates: Vec<Node> = series
        .iter()
        .copied()
        .filter(|s| code_of(*s) == "RHYTHM")
        .chain(
            series
                .iter()
                .copied()
                .filter(|s| !matches!(code_of(*s).as_str(), "RHYTHM" | "REPRESENTATIVE_BEAT")),
        )
        .collect();
    let mut rhythm = None;
    let mut first_err = None;
    for s in &rhythm_candidates {
        match read_series(*s, &mut budget) {
            Ok(Some(set)) => {
                rhythm = Some((*s, set));
                break;
            }
            Ok(None) => {}
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    let (rhythm_node, rhythm_set) = match (rhythm, first_err) {
        (Some(r), _) => r,
        (None, Some(e)) => return Err(bad(e)),
        (None, None) => return Err(bad("no rhythm series with lead data".into())),
    };
    let n_rhythm = series.iter().filter(|s| code_of(**s) == "RHYTHM").count();
    if n_rhythm > 1 {
        notes.push(format!(
            "the file holds {n_rhythm} rhythm series; the first is shown"
        ));
    }
    let SequenceSet {
        sample_rate_hz,
        mut leads,
        time_head,
        padded,
    } = rhythm_set;
    if padded {
        notes.push("leads of unequal length were padded with gaps".into());
    }

    // Representative beats.
    let mut median_beats = None;
    for s in series
        .iter()
        .filter(|s| code_of(**s) == "REPRESENTATIVE_BEAT")
    {
        match read_series(*s, &mut budget) {
            Ok(Some(set)) => {
                let mut beats = set.leads;
                if (set.sample_rate_hz - sample_rate_hz).abs() > 1e-6 {
                    for lead in &mut beats {
                        lead.samples_mv = xml_util::resample_linear(
                            &lead.samples_mv,
                            set.sample_rate_hz,
                            sample_rate_hz,
                            limits::MAX_TOTAL_SAMPLES,
                        );
                    }
                    notes.push(format!(
                        "representative beats resampled from {} Hz to {} Hz",
                        set.sample_rate_hz, sample_rate_hz
                    ));
                }
                median_beats = Some(beats);
                break;
            }
            Ok(None) => {}
            Err(e) => notes.push(format!("representative beats not read: {e}")),
        }
    }

    crate::recording::order_standard(&mut leads);
    let patient = read_patient(root);
    let acquisition_time = xpath(root, &["effectiveTime", "center"])
        .or_else(|| xpath(root, &["effectiveTime", "low"]))
        .or_else(|| xpath(rhythm_node, &["effectiveTime", "low"]))
        .and_then(|n| attr_text(n, "value"))
        .or(time_head)
        .and_then(|ts| xml_util::iso_from_hl7_ts(&ts));
    let device = read_device(rhythm_node);
    let device_filters = read_filters(rhythm_node);
    let mut findings = DeviceFindings::default();
    for set in children(rhythm_node, "subjectOf").flat_map(|s| children(s, "annotationSet")) {
        collect_findings(set, &mut findings);
    }
    if let Some(comment) = root
        .descendants()
        .find(|n| n.has_tag_name("subjectFindingComment"))
        .and_then(|n| child(n, "text"))
        .and_then(text_of)
    {
        notes.push(format!("comment: {comment}"));
    }

    Ok(Recording {
        leads,
        sample_rate_hz,
        patient,
        provenance: Provenance {
            format: FORMAT.into(),
            path: path.to_path_buf(),
            original_sample_rate_hz: sample_rate_hz,
            device,
            device_filters,
            acquisition_time,
            notes,
            ..Provenance::default()
        },
        device_findings: findings,
        median_beats,
    })
}

/// Leads and rate of one `sequenceSet`.
struct SequenceSet {
    sample_rate_hz: f64,
    leads: Vec<Lead>,
    time_head: Option<String>,
    padded: bool,
}

/// Read the first `sequenceSet` of a series that holds leads. `Ok(None)` when it holds
/// none; `Err(reason)` when it is malformed.
fn read_series(series: Node, budget: &mut usize) -> Result<Option<SequenceSet>, String> {
    let Some(set) = children(series, "component")
        .flat_map(|c| children(c, "sequenceSet"))
        .next()
    else {
        return Ok(None);
    };
    let mut increment_s = None;
    let mut time_head = None;
    let mut leads = Vec::new();
    for seq in children(set, "component").flat_map(|c| children(c, "sequence")) {
        let code = child(seq, "code")
            .and_then(|c| attr_text(c, "code"))
            .unwrap_or_default();
        let Some(value) = child(seq, "value") else {
            continue;
        };
        if code.starts_with("TIME_") {
            time_head = child(value, "head").and_then(|h| attr_text(h, "value"));
            let inc = child(value, "increment").ok_or("time sequence without <increment>")?;
            let v = attr(inc, "value")
                .and_then(xml_util::parse_f64)
                .ok_or("time increment is not a number")?;
            let unit = attr(inc, "unit").unwrap_or("s").trim();
            let seconds = match unit {
                "s" | "" => v,
                "ms" => v / 1000.0,
                "us" => v / 1e6,
                other => return Err(format!("time increment unit '{other}' is not supported")),
            };
            increment_s = Some(seconds);
            continue;
        }
        if leads.len() >= limits::MAX_SIGNALS {
            return Err(format!("more than {} leads", limits::MAX_SIGNALS));
        }
        leads.push(read_lead(&code, value, budget)?);
    }
    if leads.is_empty() {
        return Ok(None);
    }
    let inc = increment_s.ok_or("no time sequence giving the sampling increment")?;
    if !(inc > 0.0 && inc.is_finite()) {
        return Err(format!("sampling increment {inc} s is not usable"));
    }
    let sample_rate_hz = ((1.0 / inc) * 1e6).round() / 1e6;
    if !(1.0..=100_000.0).contains(&sample_rate_hz) {
        return Err(format!("sample rate {sample_rate_hz} Hz is not usable"));
    }
    let padded = xml_util::equalise_lengths(&mut leads);
    Ok(Some(SequenceSet {
        sample_rate_hz,
        leads,
        time_head,
        padded,
    }))
}

/// One lead: value = origin + scale · digit, converted to mV.
fn read_lead(code: &str, value: Node, budget: &mut usize) -> Result<Lead, String> {
    let name = lead_name(code);
    let quantity = |tag: &str, default: f64| -> Result<(f64, Option<f64>), String> {
        match child(value, tag) {
            None => Ok((default, None)),
            Some(n) => {
                let v = attr(n, "value")
                    .and_then(xml_util::parse_f64)
                    .ok_or_else(|| format!("lead {name}: <{tag}> value is not a number"))?;
                let unit = attr(n, "unit").unwrap_or("").trim();
                if unit.is_empty() {
                    return Ok((v, None));
                }
                let f = xml_util::mv_per_unit(unit)
                    .ok_or_else(|| format!("lead {name}: unit '{unit}' is not a voltage"))?;
                Ok((v, Some(f)))
            }
        }
    };
    let (origin, origin_unit) = quantity("origin", 0.0)?;
    let (scale, scale_unit) = quantity("scale", 1.0)?;
    // Without units HL7 examples mean microvolts; a unit on either applies to both.
    let scale_mv = scale_unit.or(origin_unit).unwrap_or(0.001);
    let origin_mv = origin_unit.or(scale_unit).unwrap_or(0.001);
    let digits = child(value, "digits")
        .ok_or_else(|| format!("lead {name}: no <digits>"))?
        .text()
        .unwrap_or("");
    let mut samples = Vec::new();
    for token in digits.split_ascii_whitespace() {
        if *budget == 0 {
            return Err(format!(
                "more than {} samples in all leads",
                limits::MAX_TOTAL_SAMPLES
            ));
        }
        *budget -= 1;
        let d: f64 = token
            .parse()
            .map_err(|_| format!("lead {name}: digit '{}' is not a number", clip(token)))?;
        let mv = origin * origin_mv + scale * scale_mv * d;
        samples.push(if mv.is_finite() { mv as f32 } else { f32::NAN });
    }
    Ok(Lead::new(name, samples))
}

fn clip(s: &str) -> String {
    s.chars().take(20).collect()
}

/// `MDC_ECG_LEAD_AVR` → "aVR"; unknown codes keep their suffix ("MDC_ECG_LEAD_X" → "X").
fn lead_name(code: &str) -> String {
    if let Some(std) = StandardLead::from_name(code) {
        return std.label().to_string();
    }
    let stripped = code.strip_prefix("MDC_ECG_LEAD_").unwrap_or(code);
    if stripped.is_empty() {
        "unnamed".into()
    } else {
        stripped.chars().take(40).collect()
    }
}

fn read_patient(root: Node) -> Patient {
    let mut patient = Patient::default();
    let subject = root.descendants().find(|n| n.has_tag_name("trialSubject"));
    if let Some(subject) = subject {
        patient.id = child(subject, "id").and_then(|i| attr_text(i, "extension"));
        if let Some(person) = child(subject, "subjectDemographicPerson") {
            patient.sex = child(person, "administrativeGenderCode")
                .and_then(|g| attr(g, "code"))
                .and_then(xml_util::sex_from_text);
            patient.birth_date = child(person, "birthTime")
                .and_then(|b| attr_text(b, "value"))
                .and_then(|v| xml_util::iso_from_hl7_ts(&v))
                .map(|d| d.chars().take(10).collect());
            // Vendor extensions (e.g. Mindray): <PatientID>, <Age>.
            if patient.id.is_none() {
                patient.id = child(person, "PatientID").and_then(text_of);
            }
            patient.age_years = child(person, "Age")
                .and_then(text_of)
                .and_then(|a| xml_util::parse_f64(&a))
                .map(|a| a as f32);
        }
    }
    // LOINC 21612-7 "Reported Age" as a control variable.
    for obs in root
        .descendants()
        .filter(|n| n.has_tag_name("relatedObservation"))
    {
        let is_age = child(obs, "code").and_then(|c| attr(c, "code")) == Some("21612-7");
        if let (true, Some(v)) = (is_age, child(obs, "value")) {
            let years = attr(v, "value").and_then(xml_util::parse_f64);
            let factor = match attr(v, "unit").unwrap_or("a") {
                "a" | "y" | "yr" | "years" => Some(1.0),
                "mo" => Some(1.0 / 12.0),
                "wk" => Some(7.0 / 365.25),
                "d" => Some(1.0 / 365.25),
                _ => None,
            };
            if let (Some(y), Some(f)) = (years, factor) {
                patient.age_years = Some((y * f) as f32);
            }
        }
    }
    patient
}

fn read_device(series: Node) -> Option<String> {
    let author = xpath(series, &["author", "seriesAuthor"])?;
    let mut parts = Vec::new();
    if let Some(org) = xpath(author, &["manufacturerOrganization", "name"]).and_then(text_of) {
        parts.push(org);
    }
    if let Some(dev) = child(author, "manufacturedSeriesDevice") {
        if let Some(model) = child(dev, "manufacturerModelName").and_then(text_of) {
            parts.push(model);
        }
        if let Some(sw) = child(dev, "softwareName").and_then(text_of) {
            parts.push(format!("(software {sw})"));
        }
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

fn read_filters(series: Node) -> Option<String> {
    let mut parts = Vec::new();
    for cv in children(series, "controlVariable").flat_map(|c| children(c, "controlVariable")) {
        let Some(code) = child(cv, "code") else {
            continue;
        };
        let label = attr_text(code, "displayName")
            .or_else(|| attr_text(code, "code"))
            .unwrap_or_default();
        let values: Vec<String> = children(cv, "component")
            .flat_map(|c| children(c, "controlVariable"))
            .filter_map(|inner| child(inner, "value"))
            .filter_map(|v| {
                let value = attr_text(v, "value")?;
                Some(
                    format!("{value} {}", attr(v, "unit").unwrap_or(""))
                        .trim()
                        .to_string(),
                )
            })
            .collect();
        parts.push(format!("{label} {}", values.join(", ")).trim().to_string());
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// Friendly names for the common MDC measurement codes.
fn measurement_name(code: &str) -> String {
    let known = match code {
        "MDC_ECG_HEART_RATE" => "Heart rate",
        "MDC_ECG_TIME_PD_PR" => "PR interval",
        "MDC_ECG_TIME_PD_QRS" => "QRS duration",
        "MDC_ECG_TIME_PD_QT" => "QT interval",
        "MDC_ECG_TIME_PD_QTc" => "QTc",
        "MDC_ECG_TIME_PD_QTcB" => "QTc (Bazett)",
        "MDC_ECG_TIME_PD_QTcF" => "QTc (Fridericia)",
        "MDC_ECG_TIME_PD_RR" => "RR interval",
        "MDC_ECG_TIME_PD_PP" => "PP interval",
        "MDC_ECG_ANGLE_P_FRONT" => "P axis",
        "MDC_ECG_ANGLE_QRS_FRONT" => "QRS axis",
        "MDC_ECG_ANGLE_T_FRONT" => "T axis",
        _ => "",
    };
    if known.is_empty() {
        code.to_string()
    } else {
        known.to_string()
    }
}

/// Global annotations → measurements and statements. Skipped with their children:
/// per-beat and wave-component marks (`MDC_ECG_BEAT*`, `MDC_ECG_WAVC*`) and annotations
/// whose region of interest names a lead (lead-specific values such as a measurement
/// matrix). A region bounded only in time (e.g. the rhythm over the whole strip) is global.
fn collect_findings(set: Node, findings: &mut DeviceFindings) {
    let mut stack: Vec<Node> = children(set, "component")
        .flat_map(|c| children(c, "annotation"))
        .collect();
    stack.reverse();
    while let Some(ann) = stack.pop() {
        if findings.measurements.len() + findings.statements.len() >= MAX_FINDINGS {
            return;
        }
        let code_text = child(ann, "code")
            .and_then(|c| attr_text(c, "code"))
            .unwrap_or_default();
        if code_text.starts_with("MDC_ECG_BEAT") || code_text.starts_with("MDC_ECG_WAVC") {
            continue;
        }
        let lead_bound = children(ann, "support")
            .flat_map(|s| children(s, "supportingROI"))
            .flat_map(|r| children(r, "component"))
            .flat_map(|c| children(c, "boundary"))
            .filter_map(|b| child(b, "code").and_then(|c| attr(c, "code")))
            .any(|c| c.starts_with("MDC_ECG_LEAD"));
        if lead_bound {
            continue;
        }
        let code = code_text;
        if let Some(value) = child(ann, "value") {
            match attr(value, "type").unwrap_or("") {
                "PQ" => {
                    if let Some(v) = attr_text(value, "value") {
                        let unit = attr(value, "unit").unwrap_or("").trim();
                        let shown = if unit.is_empty() || unit == "1" {
                            v
                        } else {
                            format!("{v} {unit}")
                        };
                        let entry = (measurement_name(&code), shown);
                        if !findings.measurements.contains(&entry) {
                            findings.measurements.push(entry);
                        }
                    }
                }
                "ST" => {
                    if let Some(t) = text_of(value) {
                        push_statement(findings, t);
                    }
                }
                "CE" | "CD" => {
                    if let Some(t) =
                        attr_text(value, "displayName").or_else(|| attr_text(value, "code"))
                    {
                        push_statement(findings, t);
                    }
                }
                _ => {}
            }
        }
        let mut nested: Vec<Node> = children(ann, "component")
            .flat_map(|c| children(c, "annotation"))
            .collect();
        nested.reverse();
        stack.extend(nested);
    }
}

fn push_statement(findings: &mut DeviceFindings, text: String) {
    if !findings.statements.contains(&text) {
        findings.statements.push(text);
    }
}
