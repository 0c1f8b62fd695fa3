//! DICOM waveform reader: 12-lead ECG, General ECG and Ambulatory ECG Waveform Storage
//! (DICOM PS3.3 §A.34, Waveform module §C.10.9), parsed with dicom-rs (`dicom-object`).
//!
//! Each item of the Waveform Sequence (5400,0100) is a multiplex group: channels ×
//! samples at one sampling frequency, interleaved sample by sample in Waveform Data
//! (5400,1010) as signed/unsigned 8/16/32-bit integers (Waveform Sample Interpretation
//! SS/US/SB/UB/SL/UL). A channel's physical value is
//! `(stored + Channel Baseline) × Channel Sensitivity × Channel Sensitivity Correction
//! Factor`, in the units of Channel Sensitivity Units (µV, mV, V), converted here to mV.
//! Channel names come from Channel Source Sequence code meanings ("Lead I", "Lead aVR")
//! or Channel Label. The group labelled RHYTHM (else the longest ORIGINAL group) becomes
//! the leads; a group labelled MEDIAN (or a DERIVED group) becomes the median beats.
//! Patient, study, device and filter fields, and Waveform Annotation Sequence
//! measurements and statements are copied out.
//!
//! Untrusted lengths: dicom-rs sizes each value buffer from the element's declared
//! length before reading it. Before the real parse, a byte pre-scan and then a walk with
//! dicom-rs's own token reader (which sees exactly the headers the parse will see) refuse
//! any element, sequence or item that claims more bytes than the file has left, nesting
//! deeper than 32 sequences, or more than 2 million tokens; so no value buffer exceeds
//! the file size (itself capped by [`limits::MAX_FILE_BYTES`]).

use super::{limits, read_capped, FormatError, OpenOptions, Reader};
use crate::recording::{DeviceFindings, Lead, Patient, Provenance, Recording, Sex};
use dicom_core::dictionary::DataDictionary;
use dicom_dictionary_std::{tags, StandardDataDictionary};
use dicom_object::mem::InMemDicomObject;
use dicom_object::OpenFileOptions;
use std::path::Path;

const FORMAT: &str = "DICOM";
/// Most annotation items read from the Waveform Annotation Sequence.
const MAX_ANNOTATIONS: usize = 1000;

/// Reader for DICOM ECG waveform objects.
pub struct DicomReader;

impl Reader for DicomReader {
    fn name(&self) -> &'static str {
        FORMAT
    }

    fn read(
        &self,
        path: &Path,
        head: &[u8],
        _options: &OpenOptions,
    ) -> Result<Recording, FormatError> {
        if !looks_like_dicom(head) {
            return Err(FormatError::Incompatible {
                format: FORMAT,
                path: path.to_path_buf(),
            });
        }
        let bytes = read_capped(path, limits::MAX_FILE_BYTES)?;
        read_bytes(&bytes, path)
    }
}

/// A DICOM Part 10 file: 128-byte preamble then "DICM".
fn looks_like_dicom(head: &[u8]) -> bool {
    head.get(128..132) == Some(b"DICM".as_slice())
}

type Obj = InMemDicomObject;

/// Parse a DICOM Part 10 file held in memory (used by [`DicomReader`], property tests
/// and fuzzing).
///
/// # Errors
/// [`FormatError::Incompatible`] when the bytes are not DICOM or hold no waveform,
/// [`FormatError::Invalid`] / [`FormatError::Unsupported`] naming the problem.
pub fn read_bytes(bytes: &[u8], path: &Path) -> Result<Recording, FormatError> {
    if !looks_like_dicom(bytes) {
        return Err(FormatError::Incompatible {
            format: FORMAT,
            path: path.to_path_buf(),
        });
    }
    let bad = |reason: String| FormatError::invalid(FORMAT, path, reason);
    prescan(bytes).map_err(bad)?;
    let body = bytes.get(128..).unwrap_or(&[]);
    token_walk(body).map_err(bad)?;
    let parsed = std::panic::catch_unwind(|| {
        OpenFileOptions::new()
            .read_preamble(dicom_object::file::ReadPreamble::Never)
            .from_reader(body)
    });
    let obj = match parsed {
        Ok(Ok(obj)) => obj,
        Ok(Err(e)) => return Err(bad(format!("DICOM parse error: {e}"))),
        Err(_) => return Err(bad("DICOM parser failed on malformed data".into())),
    };
    let sop_class = obj
        .meta()
        .media_storage_sop_class_uid()
        .trim_end_matches('\0')
        .trim()
        .to_string();
    let Some(groups) = obj.get(tags::WAVEFORM_SEQUENCE).and_then(|e| e.items()) else {
        return Err(FormatError::Unsupported {
            format: FORMAT,
            what: format!("DICOM object without waveform data (SOP class {sop_class})"),
            path: path.to_path_buf(),
        });
    };
    let mut notes = Vec::new();
    let mut parsed_groups = Vec::new();
    for (i, g) in groups.iter().enumerate() {
        match read_group(g, i) {
            Ok(group) => parsed_groups.push(group),
            Err(reason) => notes.push(format!("multiplex group {} skipped: {reason}", i + 1)),
        }
    }
    let rhythm_idx = parsed_groups
        .iter()
        .position(|g| g.label.to_ascii_uppercase().contains("RHYTHM"))
        .or_else(|| {
            (0..parsed_groups.len())
                .filter(|&i| {
                    parsed_groups
                        .get(i)
                        .is_some_and(|g| !g.derived && !g.is_median())
                })
                .max_by_key(|&i| parsed_groups.get(i).map_or(0, |g| g.n_samples))
        })
        .or_else(|| {
            (0..parsed_groups.len())
                .max_by_key(|&i| parsed_groups.get(i).map_or(0, |g| g.n_samples))
        });
    let Some(rhythm_idx) = rhythm_idx else {
        let why = notes.join("; ");
        return Err(bad(format!("no readable waveform multiplex group ({why})")));
    };
    let median_idx = (0..parsed_groups.len())
        .find(|&i| i != rhythm_idx && parsed_groups.get(i).is_some_and(Group::is_median));
    for (i, g) in parsed_groups.iter().enumerate() {
        if i != rhythm_idx && Some(i) != median_idx {
            notes.push(format!(
                "multiplex group {:?} ({} channels, {} Hz) not shown",
                g.label,
                g.channels.len(),
                g.rate_hz
            ));
        }
    }
    let median_beats = median_idx.and_then(|i| parsed_groups.get(i)).and_then(|m| {
        let rhythm_rate = parsed_groups.get(rhythm_idx).map_or(0.0, |g| g.rate_hz);
        if (m.rate_hz - rhythm_rate).abs() < 1e-6 {
            Some(
                m.channels
                    .iter()
                    .map(|c| lead(c.name.clone(), c.samples_mv.clone()))
                    .collect(),
            )
        } else {
            notes.push(format!(
                "median beats at {} Hz differ from the rhythm rate; not shown",
                m.rate_hz
            ));
            None
        }
    });
    let Some(rhythm) = parsed_groups.into_iter().nth(rhythm_idx) else {
        return Err(bad("no rhythm multiplex group".into()));
    };
    notes.extend(rhythm.notes.iter().cloned());

    let text = |tag| -> Option<String> {
        obj.get(tag)
            .and_then(|e| e.to_str().ok())
            .map(|s| {
                s.trim_matches(|c: char| c.is_whitespace() || c == '\0')
                    .to_string()
            })
            .filter(|s| !s.is_empty())
    };
    let patient = Patient {
        id: text(tags::PATIENT_ID),
        age_years: text(tags::PATIENT_AGE).and_then(|a| age_from_dicom(&a)),
        sex: match text(tags::PATIENT_SEX).as_deref() {
            Some("M") => Some(Sex::Male),
            Some("F") => Some(Sex::Female),
            _ => None,
        },
        birth_date: text(tags::PATIENT_BIRTH_DATE).and_then(|d| iso_date(&d)),
    };
    let acquisition_time = text(tags::ACQUISITION_DATE_TIME)
        .and_then(|dt| iso_datetime(dt.get(..8)?, dt.get(8..)))
        .or_else(|| {
            iso_datetime(
                &text(tags::ACQUISITION_DATE)?,
                text(tags::ACQUISITION_TIME).as_deref(),
            )
        })
        .or_else(|| {
            iso_datetime(
                &text(tags::CONTENT_DATE)?,
                text(tags::CONTENT_TIME).as_deref(),
            )
        })
        .or_else(|| iso_datetime(&text(tags::STUDY_DATE)?, text(tags::STUDY_TIME).as_deref()));
    let device = {
        let parts: Vec<String> = [
            text(tags::MANUFACTURER),
            text(tags::MANUFACTURER_MODEL_NAME),
            text(tags::SOFTWARE_VERSIONS).map(|s| format!("(software {s})")),
        ]
        .into_iter()
        .flatten()
        .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    };
    let device_findings = read_annotations(&obj);

    Ok(Recording {
        leads: rhythm
            .channels
            .into_iter()
            .map(|c| lead(c.name, c.samples_mv))
            .collect(),
        sample_rate_hz: rhythm.rate_hz,
        patient,
        provenance: Provenance {
            format: FORMAT.into(),
            path: path.to_path_buf(),
            original_sample_rate_hz: rhythm.rate_hz,
            device,
            device_filters: rhythm.filters,
            acquisition_time,
            notes,
            ..Provenance::default()
        },
        device_findings,
        median_beats,
    })
}

/// A lead named as recorded; the standard lead is recognised without the
/// parenthesised lead system DICOM code meanings carry ("Lead I (Einthoven)").
fn lead(name: String, samples_mv: Vec<f32>) -> Lead {
    let plain = name.split('(').next().unwrap_or(&name).trim().to_string();
    let mut lead = Lead::new(name, samples_mv);
    if lead.standard.is_none() {
        lead.standard = crate::recording::StandardLead::from_name(&plain);
    }
    lead
}

struct Channel {
    name: String,
    samples_mv: Vec<f32>,
}

struct Group {
    label: String,
    derived: bool,
    rate_hz: f64,
    n_samples: usize,
    channels: Vec<Channel>,
    filters: Option<String>,
    notes: Vec<String>,
}

impl Group {
    fn is_median(&self) -> bool {
        let l = self.label.to_ascii_uppercase();
        l.contains("MEDIAN") || (self.derived && !l.contains("RHYTHM"))
    }
}

fn first_item(obj: &Obj, tag: dicom_object::Tag) -> Option<&Obj> {
    obj.get(tag).and_then(|e| e.items()).and_then(|i| i.first())
}

fn str_of(obj: &Obj, tag: dicom_object::Tag) -> Option<String> {
    obj.get(tag)
        .and_then(|e| e.to_str().ok())
        .map(|s| {
            s.trim_matches(|c: char| c.is_whitespace() || c == '\0')
                .to_string()
        })
        .filter(|s| !s.is_empty())
}

fn f64_of(obj: &Obj, tag: dicom_object::Tag) -> Option<f64> {
    obj.get(tag)
        .and_then(|e| e.to_float64().ok())
        .filter(|v| v.is_finite())
}

fn read_group(g: &Obj, index: usize) -> Result<Group, String> {
    let n_channels: usize = g
        .get(tags::NUMBER_OF_WAVEFORM_CHANNELS)
        .and_then(|e| e.to_int::<u32>().ok())
        .ok_or("no Number of Waveform Channels")? as usize;
    let n_samples: usize = g
        .get(tags::NUMBER_OF_WAVEFORM_SAMPLES)
        .and_then(|e| e.to_int::<u32>().ok())
        .ok_or("no Number of Waveform Samples")? as usize;
    let rate_hz = f64_of(g, tags::SAMPLING_FREQUENCY).ok_or("no Sampling Frequency")?;
    if n_channels == 0 || n_channels > limits::MAX_SIGNALS {
        return Err(format!("{n_channels} channels"));
    }
    if n_samples == 0 || n_samples.saturating_mul(n_channels) > limits::MAX_TOTAL_SAMPLES {
        return Err(format!("{n_samples} samples × {n_channels} channels"));
    }
    if !(1.0..=100_000.0).contains(&rate_hz) {
        return Err(format!("sampling frequency {rate_hz} Hz"));
    }
    let bits = g
        .get(tags::WAVEFORM_BITS_ALLOCATED)
        .and_then(|e| e.to_int::<u16>().ok())
        .ok_or("no Waveform Bits Allocated")?;
    let interp = str_of(g, tags::WAVEFORM_SAMPLE_INTERPRETATION).unwrap_or_else(|| "SS".into());
    let width = match (bits, interp.as_str()) {
        (8, "SB" | "UB") => 1,
        (16, "SS" | "US") => 2,
        (32, "SL" | "UL") => 4,
        _ => {
            return Err(format!(
                "{bits}-bit {interp} samples (only SB/UB, SS/US, SL/UL read)"
            ))
        }
    };
    let signed = interp.starts_with('S');
    let data_elem = g.get(tags::WAVEFORM_DATA).ok_or("no Waveform Data")?;
    let prim = data_elem
        .value()
        .primitive()
        .ok_or("Waveform Data is not a plain value")?;
    let raw: std::borrow::Cow<[u8]> = prim.to_bytes();
    let needed = n_samples * n_channels * width;
    if raw.len() < needed {
        return Err(format!(
            "Waveform Data holds {} bytes, {n_samples} samples × {n_channels} channels need {needed}",
            raw.len()
        ));
    }
    let label =
        str_of(g, tags::MULTIPLEX_GROUP_LABEL).unwrap_or_else(|| format!("group {}", index + 1));
    let derived = str_of(g, tags::WAVEFORM_ORIGINALITY).is_some_and(|o| o == "DERIVED");
    let defs = g
        .get(tags::CHANNEL_DEFINITION_SEQUENCE)
        .and_then(|e| e.items())
        .ok_or("no Channel Definition Sequence")?;
    if defs.len() != n_channels {
        return Err(format!(
            "{} channel definitions for {n_channels} channels",
            defs.len()
        ));
    }
    let mut notes = Vec::new();
    let mut channels = Vec::with_capacity(n_channels);
    let mut filters = None;
    for (c, def) in defs.iter().enumerate() {
        let source = first_item(def, tags::CHANNEL_SOURCE_SEQUENCE);
        let name = source
            .and_then(|s| str_of(s, tags::CODE_MEANING))
            .or_else(|| str_of(def, tags::CHANNEL_LABEL))
            .or_else(|| source.and_then(|s| str_of(s, tags::CODE_VALUE)))
            .unwrap_or_else(|| format!("channel {}", c + 1));
        let sensitivity = f64_of(def, tags::CHANNEL_SENSITIVITY);
        let correction = f64_of(def, tags::CHANNEL_SENSITIVITY_CORRECTION_FACTOR).unwrap_or(1.0);
        let baseline = f64_of(def, tags::CHANNEL_BASELINE).unwrap_or(0.0);
        let unit = first_item(def, tags::CHANNEL_SENSITIVITY_UNITS_SEQUENCE)
            .and_then(|u| str_of(u, tags::CODE_VALUE));
        let mv_per_unit = match unit.as_deref() {
            Some("uV" | "µV") => 1e-3,
            Some("mV") => 1.0,
            Some("V") => 1e3,
            Some("nV") => 1e-6,
            Some(other) => {
                notes.push(format!(
                    "channel {name}: unit {other:?} is not a voltage; values kept as stored"
                ));
                1.0
            }
            None => {
                if sensitivity.is_some() {
                    notes.push(format!("channel {name}: no sensitivity unit; µV assumed"));
                }
                1e-3
            }
        };
        let gain = if let Some(s) = sensitivity {
            s * correction * mv_per_unit
        } else {
            notes.push(format!(
                "channel {name}: no Channel Sensitivity; raw values shown"
            ));
            1.0
        };
        if c == 0 {
            let lo = f64_of(def, tags::FILTER_LOW_FREQUENCY);
            let hi = f64_of(def, tags::FILTER_HIGH_FREQUENCY);
            let notch = f64_of(def, tags::NOTCH_FILTER_FREQUENCY);
            let parts: Vec<String> = [
                lo.map(|v| format!("high-pass {v} Hz")),
                hi.map(|v| format!("low-pass {v} Hz")),
                notch.filter(|&v| v > 0.0).map(|v| format!("notch {v} Hz")),
            ]
            .into_iter()
            .flatten()
            .collect();
            filters = (!parts.is_empty()).then(|| parts.join(", "));
        }
        let mut samples = Vec::with_capacity(n_samples);
        for k in 0..n_samples {
            let at = (k * n_channels + c) * width;
            let stored = match (raw.get(at..at + width), signed) {
                (Some([a]), true) => f64::from(*a as i8),
                (Some([a]), false) => f64::from(*a),
                (Some([a, b]), true) => f64::from(i16::from_le_bytes([*a, *b])),
                (Some([a, b]), false) => f64::from(u16::from_le_bytes([*a, *b])),
                (Some([a, b, cc, d]), true) => f64::from(i32::from_le_bytes([*a, *b, *cc, *d])),
                (Some([a, b, cc, d]), false) => f64::from(u32::from_le_bytes([*a, *b, *cc, *d])),
                _ => return Err("Waveform Data shorter than declared".into()),
            };
            samples.push(((stored + baseline) * gain) as f32);
        }
        channels.push(Channel {
            name,
            samples_mv: samples,
        });
    }
    Ok(Group {
        label,
        derived,
        rate_hz,
        n_samples,
        channels,
        filters,
        notes,
    })
}

/// Waveform Annotation Sequence: coded measurements (concept name + numeric value +
/// units) and free-text statements.
fn read_annotations(obj: &Obj) -> DeviceFindings {
    let mut findings = DeviceFindings::default();
    let Some(items) = obj
        .get(tags::WAVEFORM_ANNOTATION_SEQUENCE)
        .and_then(|e| e.items())
    else {
        return findings;
    };
    for item in items.iter().take(MAX_ANNOTATIONS) {
        if let Some(text) = str_of(item, tags::UNFORMATTED_TEXT_VALUE) {
            findings.statements.push(text);
            continue;
        }
        let name = first_item(item, tags::CONCEPT_NAME_CODE_SEQUENCE)
            .and_then(|c| str_of(c, tags::CODE_MEANING));
        let value = str_of(item, tags::NUMERIC_VALUE);
        if let (Some(name), Some(value)) = (name, value) {
            let unit = first_item(item, tags::MEASUREMENT_UNITS_CODE_SEQUENCE)
                .and_then(|u| str_of(u, tags::CODE_VALUE))
                .map(|u| match u.as_str() {
                    "deg" => "°".to_string(),
                    "/min" => "bpm".to_string(),
                    _ => u,
                })
                .unwrap_or_default();
            let v = if unit == "°" {
                format!("{value}{unit}")
            } else {
                format!("{value} {unit}")
            };
            findings.measurements.push((name, v.trim().to_string()));
        }
    }
    findings
}

/// "042Y" / "006M" / "010W" / "003D" → years.
fn age_from_dicom(s: &str) -> Option<f32> {
    let s = s.trim();
    // the unit is the last character, which in a damaged file may be any character
    let (num, unit) = s.split_at(s.char_indices().last()?.0);
    let n: f32 = num.trim().parse().ok()?;
    let years = match unit {
        "Y" => n,
        "M" => n / 12.0,
        "W" => n * 7.0 / 365.25,
        "D" => n / 365.25,
        _ => return None,
    };
    (0.0..=150.0).contains(&years).then_some(years)
}

/// "YYYYMMDD" → "YYYY-MM-DD".
fn iso_date(d: &str) -> Option<String> {
    let d = d.trim();
    if d.len() != 8 || !d.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(format!(
        "{}-{}-{}",
        d.get(0..4)?,
        d.get(4..6)?,
        d.get(6..8)?
    ))
}

/// DA + optional TM ("HHMMSS.frac") → ISO 8601.
fn iso_datetime(date: &str, time: Option<&str>) -> Option<String> {
    let d = iso_date(date)?;
    let Some(t) = time.map(str::trim).filter(|t| t.len() >= 4) else {
        return Some(d);
    };
    let digits =
        |r: std::ops::Range<usize>| t.get(r).filter(|s| s.bytes().all(|b| b.is_ascii_digit()));
    let (Some(h), Some(m)) = (digits(0..2), digits(2..4)) else {
        return Some(d);
    };
    let s = digits(4..6).unwrap_or("00");
    Some(format!("{d}T{h}:{m}:{s}"))
}

/// Check every element length against the bytes left, reading the stream as dicom-rs
/// will: the meta group (explicit VR little endian) up to its group length, then the data
/// set in the transfer syntax the meta group names (implicit/explicit VR, little/big
/// endian), walking flatly (sequence and item contents are scanned as the elements they
/// hold).
fn prescan(bytes: &[u8]) -> Result<(), String> {
    let rd16 = |i: usize, be: bool| {
        bytes.get(i..i + 2).map(|b| {
            if be {
                u16::from_be_bytes([b[0], b[1]])
            } else {
                u16::from_le_bytes([b[0], b[1]])
            }
        })
    };
    let rd32 = |i: usize, be: bool| {
        bytes.get(i..i + 4).map(|b| {
            if be {
                u32::from_be_bytes([b[0], b[1], b[2], b[3]])
            } else {
                u32::from_le_bytes([b[0], b[1], b[2], b[3]])
            }
        })
    };
    let truncated = |pos: usize| format!("element header truncated at byte {pos}");
    // meta group: (0002,0000) UL 4 = group length, then elements until it is consumed
    let mut pos = 132usize;
    if rd16(pos, false) != Some(2) || rd16(pos + 2, false) != Some(0) {
        return Err("the file meta group does not start with its group length".into());
    }
    let group_length = rd32(pos + 8, false).ok_or_else(|| truncated(pos))? as usize;
    pos += 12;
    let meta_start = pos;
    let mut ts = String::new();
    while pos - meta_start < group_length {
        let (Some(group), Some(element)) = (rd16(pos, false), rd16(pos + 2, false)) else {
            return Err(truncated(pos));
        };
        let (header_len, len) = explicit_header(bytes, pos, false).ok_or_else(|| truncated(pos))?;
        let value_start = pos + header_len;
        if len as usize > bytes.len().saturating_sub(value_start) {
            return Err(format!(
                "element ({group:04X},{element:04X}) claims {len} bytes but only {} remain",
                bytes.len().saturating_sub(value_start)
            ));
        }
        if (group, element) == (0x0002, 0x0010) {
            let v = bytes
                .get(value_start..value_start + len as usize)
                .unwrap_or(&[]);
            ts = String::from_utf8_lossy(v)
                .trim_end_matches(['\0', ' '])
                .to_string();
        }
        pos = value_start + len as usize;
    }
    let implicit = ts == "1.2.840.10008.1.2";
    let be = ts == "1.2.840.10008.1.2.2";
    if ts == "1.2.840.10008.1.2.1.99" {
        return Ok(()); // deflated: not readable without the deflate feature; dicom-rs refuses it
    }
    let mut elements = 0usize;
    while pos < bytes.len() {
        elements += 1;
        if elements > 10_000_000 {
            return Err("too many elements".into());
        }
        let (Some(group), Some(element)) = (rd16(pos, be), rd16(pos + 2, be)) else {
            return Err(truncated(pos));
        };
        let (header_len, len) = if group == 0xFFFE || implicit {
            (8, rd32(pos + 4, be).ok_or_else(|| truncated(pos))?)
        } else {
            explicit_header(bytes, pos, be).ok_or_else(|| truncated(pos))?
        };
        // the VR dicom-rs will use: the file's (explicit) or the dictionary's (implicit)
        let vr: &[u8] = if group == 0xFFFE {
            b"--"
        } else if implicit {
            StandardDataDictionary
                .by_tag(dicom_object::Tag(group, element))
                .map_or("UN", |e| e.vr.relaxed().to_string())
                .as_bytes()
        } else {
            bytes.get(pos + 4..pos + 6).unwrap_or(b"UN")
        };
        let value_start = pos + header_len;
        if len == 0xFFFF_FFFF {
            pos = value_start; // undefined length: contents follow as elements
            continue;
        }
        // Sequences and items are entered, so the elements nested in them are checked
        // too. Implicit VR has no "SQ" marker: a value that starts with an item tag
        // (FFFE,E000) is taken for a sequence.
        let item_tag: [u8; 4] = if be {
            [0xFF, 0xFE, 0xE0, 0x00]
        } else {
            [0xFE, 0xFF, 0x00, 0xE0]
        };
        let starts_with_item = bytes.get(value_start..value_start + 4) == Some(item_tag.as_slice());
        let is_container = group == 0xFFFE && element == 0xE000
            || vr == b"SQ"
            || (implicit && group != 0xFFFE && starts_with_item);
        let len = len as usize;
        // dicom-rs reads whole numbers of binary values and leaves any remainder in the
        // stream, which then desynchronises it (a fuzzed US of length 3, SL of length 2)
        let unit = match vr {
            b"AT" | b"FL" | b"OF" | b"OL" | b"SL" | b"UL" => 4,
            b"FD" | b"OD" | b"OV" | b"SV" | b"UV" => 8,
            b"OW" | b"SS" | b"US" => 2,
            _ => 1,
        };
        if !is_container && !len.is_multiple_of(unit) {
            return Err(format!(
                "element ({group:04X},{element:04X}) {} has length {len}, not a multiple of {unit}",
                String::from_utf8_lossy(vr)
            ));
        }
        if len > bytes.len().saturating_sub(value_start) {
            return Err(format!(
                "element ({group:04X},{element:04X}) claims {len} bytes but only {} remain",
                bytes.len().saturating_sub(value_start)
            ));
        }
        pos = if is_container {
            value_start
        } else {
            value_start + len
        };
    }
    Ok(())
}

/// Most nested sequences (sequence in item in sequence …) accepted; PS3.3 ECG objects
/// nest about 4 deep, and dicom-rs builds each level by recursion.
const MAX_SEQUENCE_DEPTH: usize = 32;
/// Most parser tokens (element headers, values, item and sequence marks) accepted: a
/// 12-lead object has a few thousand; each token costs dicom-rs ~100 bytes of tree.
const MAX_TOKENS: usize = 2_000_000;

/// A byte source that counts what the parser has consumed.
struct CountingReader<'a> {
    rest: &'a [u8],
    consumed: &'a std::cell::Cell<usize>,
}

impl std::io::Read for CountingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.rest.read(buf)?;
        self.consumed.set(self.consumed.get() + n);
        Ok(n)
    }
}

/// Walk the data set with dicom-rs's own token reader (same meta-group reader, transfer
/// syntax registry and reader options as `OpenFileOptions`), and stop before any value
/// is read whose declared length exceeds the bytes left in the file. dicom-rs allocates
/// a value's buffer from its declared length before reading it; the token stream is a
/// deterministic function of the bytes, so the later parse sees exactly the headers
/// checked here and no value buffer can exceed the file size. Nesting depth and token
/// count are capped too (stack depth and tree size). `body` starts at "DICM".
fn token_walk(body: &[u8]) -> Result<(), String> {
    use dicom_encoding::transfer_syntax::{Codec, TransferSyntaxIndex};
    use dicom_parser::dataset::{read::DataSetReaderOptions, DataToken};
    use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

    let consumed = std::cell::Cell::new(0usize);
    let mut src = CountingReader {
        rest: body,
        consumed: &consumed,
    };
    // dicom-rs is told not to read a preamble, so it starts at the magic code
    let Ok(meta) = dicom_object::FileMetaTable::from_reader(&mut src) else {
        return Ok(()); // dicom-rs reports the same meta-group error itself
    };
    let Some(ts) = TransferSyntaxRegistry.get(meta.transfer_syntax()) else {
        return Ok(()); // unknown transfer syntax: dicom-rs refuses it before reading
    };
    if !matches!(ts.codec(), Codec::None | Codec::EncapsulatedPixelData(..)) {
        return Ok(()); // deflated data set: refused by dicom-rs without the feature
    }
    let Ok(mut reader) =
        dicom_parser::DataSetReader::new_with_ts_options(src, ts, DataSetReaderOptions::default())
    else {
        return Ok(());
    };
    let left = |at: usize| body.len().saturating_sub(at);
    let mut depth = 0usize;
    for (n_tokens, token) in reader.by_ref().enumerate() {
        if n_tokens >= MAX_TOKENS {
            return Err(format!("more than {MAX_TOKENS} data elements and items"));
        }
        let at = consumed.get();
        // the parse itself reports errors; what came before them was checked
        let Ok(token) = token else { return Ok(()) };
        let (what, len) = match token {
            DataToken::ElementHeader(h) => (format!("element {} {}", h.tag, h.vr), h.len),
            DataToken::SequenceStart { tag, len } => {
                depth += 1;
                if depth > MAX_SEQUENCE_DEPTH {
                    return Err(format!(
                        "sequence {tag} nested more than {MAX_SEQUENCE_DEPTH} deep"
                    ));
                }
                (format!("sequence {tag}"), len)
            }
            DataToken::PixelSequenceStart => {
                depth += 1;
                continue;
            }
            DataToken::SequenceEnd => {
                depth = depth.saturating_sub(1);
                continue;
            }
            DataToken::ItemStart { len } => ("item".to_string(), len),
            _ => continue,
        };
        if let Some(len) = len.get() {
            if len as usize > left(at) {
                return Err(format!(
                    "{what} at byte {} claims {len} bytes but only {} remain",
                    at + 128,
                    left(at)
                ));
            }
        }
    }
    Ok(())
}

/// Header length and value length of an explicit-VR element at `pos`: 16-bit lengths
/// only for the VRs PS3.5 7.1.2 lists; any other VR, unknown ones included, has 2
/// reserved bytes and a 32-bit length (as dicom-rs reads it).
fn explicit_header(bytes: &[u8], pos: usize, be: bool) -> Option<(usize, u32)> {
    let vr = bytes.get(pos + 4..pos + 6)?;
    let b = |i: usize, n: usize| bytes.get(i..i + n);
    match vr {
        b"AE" | b"AS" | b"AT" | b"CS" | b"DA" | b"DS" | b"DT" | b"FL" | b"FD" | b"IS" | b"LO"
        | b"LT" | b"PN" | b"SH" | b"SL" | b"SS" | b"ST" | b"TM" | b"UI" | b"UL" | b"US" => {
            let v = b(pos + 6, 2)?;
            let len = if be {
                u16::from_be_bytes([v[0], v[1]])
            } else {
                u16::from_le_bytes([v[0], v[1]])
            };
            Some((8, u32::from(len)))
        }
        _ => {
            let v = b(pos + 8, 4)?;
            let arr = [v[0], v[1], v[2], v[3]];
            Some((
                12,
                if be {
                    u32::from_be_bytes(arr)
                } else {
                    u32::from_le_bytes(arr)
                },
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dicom_dates_and_ages() {
        assert_eq!(iso_date("19710123").as_deref(), Some("1971-01-23"));
        assert_eq!(
            iso_datetime("20130125", Some("105919")).as_deref(),
            Some("2013-01-25T10:59:19")
        );
        assert_eq!(age_from_dicom("042Y"), Some(42.0));
        assert_eq!(age_from_dicom("006M"), Some(0.5));
        assert_eq!(age_from_dicom(""), None);
        // found by the mutation loop: a non-ASCII last character panicked (split_at)
        assert_eq!(age_from_dicom("042\u{fe}"), None);
        assert_eq!(age_from_dicom("\u{fe}"), None);
    }

    #[test]
    fn non_dicom_is_incompatible() {
        let e = read_bytes(&[0u8; 200], Path::new("x.dcm"));
        assert!(matches!(e, Err(FormatError::Incompatible { .. })));
    }
}
