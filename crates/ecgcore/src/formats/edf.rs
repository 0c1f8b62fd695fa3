//! EDF, EDF+ and BDF reader: European Data Format for long multichannel recordings.
//!
//! Follows Kemp et al., "A simple format for exchange of digitized polygraphic
//! recordings", EEG Clin. Neurophysiol. 82 (1992) 391–393 (EDF), Kemp & Olivan, "European
//! data format 'plus' (EDF+)", Clin. Neurophysiol. 114 (2003) 1755–1761 (EDF+, including
//! time-stamped annotation lists, TALs), and BioSemi's 24-bit variant (BDF / BDF+).
//!
//! A 256-byte fixed header is followed by 256 bytes per signal (label, transducer,
//! physical dimension, physical/digital min/max, prefiltering, samples per data record),
//! then data records, each holding every signal's samples for `record_duration_s`
//! (little-endian two's complement, 16 bits for EDF, 24 bits for BDF).
//! Physical value = (digital − digital_min) · (physical_max − physical_min) /
//! (digital_max − digital_min) + physical_min, in the signal's physical dimension,
//! converted here to millivolts (`uV`/`µV`, `mV`, `V`, `nV`).
//!
//! Long recordings are read lazily: [`read_header`] reads only the header,
//! [`read_window`] seeks to the data records covering a time window, and [`EdfWindow`],
//! [`default_window`] and [`open_window`] page through a long file window by window. [`Reader::read`]
//! returns the whole recording when it lasts at most [`WHOLE_READ_MAX_S`], otherwise the
//! first [`DEFAULT_WINDOW_S`] seconds (with a provenance note). Only signals sharing one
//! sample rate become leads (the rate of the first ECG lead, else the most common one);
//! other signals are named in a note. EDF+ annotations inside the window are listed in
//! the provenance notes; [`read_annotations`] lists all of them.

use super::{limits, FormatError, OpenOptions, Reader};
use crate::recording::{Lead, Patient, Provenance, Recording, Sex, StandardLead};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

const FORMAT: &str = "EDF";

/// Recordings up to this long (seconds) are read whole by [`Reader::read`].
pub const WHOLE_READ_MAX_S: f64 = 300.0;
/// Window read by [`Reader::read`] from longer recordings (seconds).
pub const DEFAULT_WINDOW_S: f64 = 10.0;
/// Most signals a header may declare (EDF allows 9999; the header alone is then 2.5 MB).
const MAX_HEADER_SIGNALS: usize = 4096;
/// Largest single data record accepted (bytes).
const MAX_RECORD_BYTES: u64 = 64 * 1024 * 1024;
/// Most annotations kept by [`read_annotations`].
pub const MAX_ANNOTATIONS: usize = 100_000;
/// Most annotations copied into the provenance notes of a window.
const MAX_NOTE_ANNOTATIONS: usize = 200;

/// Which variant of the format a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdfVariant {
    /// Plain EDF (1992), 16-bit samples.
    Edf,
    /// EDF+, continuous (`EDF+C`) or discontinuous (`EDF+D`).
    EdfPlus { continuous: bool },
    /// BioSemi BDF, 24-bit samples.
    Bdf,
    /// BDF+ (`BDF+C` / `BDF+D`).
    BdfPlus { continuous: bool },
}

impl EdfVariant {
    fn bytes_per_sample(self) -> usize {
        match self {
            EdfVariant::Edf | EdfVariant::EdfPlus { .. } => 2,
            EdfVariant::Bdf | EdfVariant::BdfPlus { .. } => 3,
        }
    }

    fn is_plus(self) -> bool {
        matches!(
            self,
            EdfVariant::EdfPlus { .. } | EdfVariant::BdfPlus { .. }
        )
    }

    /// Name for provenance ("EDF+", "BDF", ...).
    pub fn label(self) -> &'static str {
        match self {
            EdfVariant::Edf => "EDF",
            EdfVariant::EdfPlus { .. } => "EDF+",
            EdfVariant::Bdf => "BDF",
            EdfVariant::BdfPlus { .. } => "BDF+",
        }
    }
}

/// One signal's header entry.
#[derive(Debug, Clone, PartialEq)]
pub struct EdfSignal {
    pub label: String,
    pub transducer: String,
    /// Physical dimension as written ("uV", "mV", ...).
    pub physical_dimension: String,
    pub physical_min: f64,
    pub physical_max: f64,
    pub digital_min: i32,
    pub digital_max: i32,
    pub prefiltering: String,
    pub samples_per_record: usize,
}

impl EdfSignal {
    /// True for the EDF+/BDF+ annotation channel.
    pub fn is_annotation(&self) -> bool {
        self.label == "EDF Annotations" || self.label == "BDF Annotations"
    }

    /// Physical units per digital step.
    fn gain(&self) -> f64 {
        (self.physical_max - self.physical_min)
            / (f64::from(self.digital_max) - f64::from(self.digital_min))
    }
}

/// The parsed header: everything but the samples.
#[derive(Debug, Clone, PartialEq)]
pub struct EdfHeader {
    pub variant: EdfVariant,
    /// Local patient identification field (EDF+: "code sex birthdate name").
    pub patient_field: String,
    /// Local recording identification field (EDF+: "Startdate date admincode technician equipment").
    pub recording_field: String,
    /// Start date as written (dd.mm.yy).
    pub start_date: String,
    /// Start time as written (hh.mm.ss).
    pub start_time: String,
    pub header_bytes: u64,
    /// Data records present (the smaller of the header's count and what the file holds).
    pub n_records: usize,
    /// Data records the header claims (−1 in the file = unknown, reported as `None`).
    pub n_records_declared: Option<usize>,
    pub record_duration_s: f64,
    pub signals: Vec<EdfSignal>,
}

impl EdfHeader {
    /// Bytes of one data record (all signals).
    pub fn record_bytes(&self) -> u64 {
        self.signals
            .iter()
            .map(|s| s.samples_per_record as u64 * self.variant.bytes_per_sample() as u64)
            .sum()
    }

    /// Total duration of the data records present (seconds).
    pub fn duration_s(&self) -> f64 {
        self.n_records as f64 * self.record_duration_s
    }

    /// Sample rate of signal `i` (Hz).
    pub fn sample_rate_hz(&self, i: usize) -> Option<f64> {
        let s = self.signals.get(i)?;
        (self.record_duration_s > 0.0).then(|| s.samples_per_record as f64 / self.record_duration_s)
    }
}

/// One EDF+ annotation (from a time-stamped annotation list).
#[derive(Debug, Clone, PartialEq)]
pub struct EdfAnnotation {
    /// Seconds from the start of the recording.
    pub onset_s: f64,
    pub duration_s: Option<f64>,
    pub text: String,
}

/// Reader for EDF / EDF+ / BDF files.
pub struct EdfReader;

impl Reader for EdfReader {
    fn name(&self) -> &'static str {
        FORMAT
    }

    fn read(
        &self,
        path: &Path,
        head: &[u8],
        _options: &OpenOptions,
    ) -> Result<Recording, FormatError> {
        if !looks_like_edf(head) {
            return Err(FormatError::Incompatible {
                format: FORMAT,
                path: path.to_path_buf(),
            });
        }
        let mut file = std::fs::File::open(path).map_err(|e| FormatError::io(path, e))?;
        let len = file.metadata().map_err(|e| FormatError::io(path, e))?.len();
        read_default_from(&mut file, len, path)
    }
}

/// The first 8 bytes are "0" + 7 spaces (EDF) or 0xFF "BIOSEMI" (BDF), and the header
/// size, record count and signal count fields are numbers.
fn looks_like_edf(head: &[u8]) -> bool {
    let Some(version) = head.get(..8) else {
        return false;
    };
    if version != b"0       " && version != b"\xffBIOSEMI" {
        return false;
    }
    let Some(fixed) = head.get(..256) else {
        return true; // short file: let the parser explain what is missing
    };
    field_str(fixed, 184, 8).trim().parse::<u64>().is_ok()
        && field_str(fixed, 252, 4).trim().parse::<u64>().is_ok()
}

/// Read only the header of `path`.
///
/// # Errors
/// I/O errors, [`FormatError::Incompatible`] for non-EDF content, [`FormatError::Invalid`]
/// for a malformed header.
pub fn read_header(path: &Path) -> Result<EdfHeader, FormatError> {
    let mut file = std::fs::File::open(path).map_err(|e| FormatError::io(path, e))?;
    let len = file.metadata().map_err(|e| FormatError::io(path, e))?.len();
    read_header_from(&mut file, len, path)
}

/// Read `duration_s` seconds starting at `start_s` (both clamped to the recording).
///
/// # Errors
/// As [`read_header`], plus [`FormatError::TooLarge`] when the window would exceed
/// [`limits::MAX_TOTAL_SAMPLES`].
pub fn read_window(path: &Path, start_s: f64, duration_s: f64) -> Result<Recording, FormatError> {
    let mut file = std::fs::File::open(path).map_err(|e| FormatError::io(path, e))?;
    let len = file.metadata().map_err(|e| FormatError::io(path, e))?.len();
    let header = read_header_from(&mut file, len, path)?;
    read_window_with(&mut file, &header, path, start_s, duration_s)
}

/// Where a window read from a long EDF/BDF file lies in the whole recording (seconds
/// from the first sample). Used by the GUI and CLI to page through recordings longer
/// than [`WHOLE_READ_MAX_S`] in windows of [`DEFAULT_WINDOW_S`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EdfWindow {
    /// Start of the window.
    pub start_s: f64,
    /// Length of the window (shorter than [`DEFAULT_WINDOW_S`] at the end of the file).
    pub duration_s: f64,
    /// Length of the whole recording.
    pub total_s: f64,
}

impl EdfWindow {
    /// The [`DEFAULT_WINDOW_S`] window starting at `start_s`, moved inside a recording of
    /// `total_s` (a start past the end gives the last full window; NaN gives 0).
    #[must_use]
    pub fn at(start_s: f64, total_s: f64) -> EdfWindow {
        let total_s = if total_s.is_finite() {
            total_s.max(0.0)
        } else {
            0.0
        };
        let last_start = (total_s - DEFAULT_WINDOW_S).max(0.0);
        let start_s = if start_s.is_finite() {
            start_s.clamp(0.0, last_start)
        } else {
            0.0
        };
        EdfWindow {
            start_s,
            duration_s: DEFAULT_WINDOW_S.min(total_s - start_s),
            total_s,
        }
    }

    /// End of the window.
    #[must_use]
    pub fn end_s(&self) -> f64 {
        self.start_s + self.duration_s
    }

    /// Start of the previous window, if this is not the first.
    #[must_use]
    pub fn previous_start_s(&self) -> Option<f64> {
        (self.start_s > 0.0).then(|| (self.start_s - DEFAULT_WINDOW_S).max(0.0))
    }

    /// Start of the next window, if this is not the last.
    #[must_use]
    pub fn next_start_s(&self) -> Option<f64> {
        (self.end_s() < self.total_s - 1e-9).then(|| Self::at(self.end_s(), self.total_s).start_s)
    }

    /// "window 00:10:00–00:10:10 of 02:13:45".
    #[must_use]
    pub fn label(&self) -> String {
        format!(
            "window {}–{} of {}",
            hms(self.start_s),
            hms(self.end_s()),
            hms(self.total_s)
        )
    }
}

/// Seconds → "hh:mm:ss" (whole seconds, rounded down; hours may exceed 99).
#[must_use]
pub fn hms(seconds: f64) -> String {
    let s = if seconds.is_finite() {
        seconds.max(0.0).floor() as u64
    } else {
        0
    };
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

/// "hh:mm:ss", "mm:ss" or plain seconds ("600", "90.5") → seconds; `None` when it is
/// none of these.
#[must_use]
pub fn parse_hms(text: &str) -> Option<f64> {
    let mut total = 0.0f64;
    let parts: Vec<&str> = text.trim().split(':').collect();
    if parts.len() > 3 {
        return None;
    }
    for (i, part) in parts.iter().enumerate() {
        let v: f64 = part.trim().parse().ok()?;
        // minutes and seconds fields after the first are below 60
        if !v.is_finite() || v < 0.0 || (i > 0 && v >= 60.0) {
            return None;
        }
        total = total * 60.0 + v;
    }
    Some(total)
}

/// The window [`Reader::read`] shows of `path` when the file is an EDF/BDF recording
/// longer than [`WHOLE_READ_MAX_S`] (the first [`DEFAULT_WINDOW_S`]); `None` when the
/// whole recording is read.
///
/// # Errors
/// As [`read_header`].
pub fn default_window(path: &Path) -> Result<Option<EdfWindow>, FormatError> {
    let total_s = read_header(path)?.duration_s();
    Ok((total_s > WHOLE_READ_MAX_S).then(|| EdfWindow::at(0.0, total_s)))
}

/// Read the [`DEFAULT_WINDOW_S`] window of `path` starting at `start_s` (moved inside the
/// recording, see [`EdfWindow::at`]), checked with [`Recording::validate`] like
/// [`super::open`] does.
///
/// # Errors
/// As [`read_window`], plus [`FormatError::BadRecording`] when the window fails validation.
pub fn open_window(path: &Path, start_s: f64) -> Result<(Recording, EdfWindow), FormatError> {
    let mut file = std::fs::File::open(path).map_err(|e| FormatError::io(path, e))?;
    let len = file.metadata().map_err(|e| FormatError::io(path, e))?.len();
    let header = read_header_from(&mut file, len, path)?;
    let window = EdfWindow::at(start_s, header.duration_s());
    let rec = read_window_with(&mut file, &header, path, window.start_s, window.duration_s)?;
    rec.validate().map_err(|error| FormatError::BadRecording {
        path: path.to_path_buf(),
        error,
    })?;
    Ok((rec, window))
}

/// Every EDF+ annotation in the file (at most [`MAX_ANNOTATIONS`]), reading the file
/// record by record.
///
/// # Errors
/// As [`read_header`].
pub fn read_annotations(path: &Path) -> Result<Vec<EdfAnnotation>, FormatError> {
    let mut file = std::fs::File::open(path).map_err(|e| FormatError::io(path, e))?;
    let len = file.metadata().map_err(|e| FormatError::io(path, e))?.len();
    let header = read_header_from(&mut file, len, path)?;
    let mut out = Vec::new();
    let offset_s = first_record_onset(&mut file, &header, path)?;
    let chunk_records = chunk_records(&header);
    let mut r = 0;
    while r < header.n_records && out.len() < MAX_ANNOTATIONS {
        let n = chunk_records.min(header.n_records - r);
        let bytes = read_records(&mut file, &header, path, r, n)?;
        collect_annotations(&header, &bytes, n, &mut out);
        r += n;
    }
    out.truncate(MAX_ANNOTATIONS);
    for a in &mut out {
        a.onset_s -= offset_s;
    }
    Ok(out)
}

/// Onset of the first data record after the header's start time (EDF+ time-keeping
/// TAL, e.g. "+0.0394531" for a sub-second start); 0 for plain EDF. Annotation onsets
/// are reported relative to the first sample, i.e. minus this.
fn first_record_onset<R: Read + Seek>(
    src: &mut R,
    header: &EdfHeader,
    path: &Path,
) -> Result<f64, FormatError> {
    if !header.variant.is_plus() || header.n_records == 0 {
        return Ok(0.0);
    }
    let bytes = read_records(src, header, path, 0, 1)?;
    Ok(record_onsets(header, &bytes, 1)
        .first()
        .copied()
        .unwrap_or(0.0))
}

/// The time-keeping onset (first TAL of the first annotation signal) of each record.
fn record_onsets(header: &EdfHeader, bytes: &[u8], n: usize) -> Vec<f64> {
    let bps = header.variant.bytes_per_sample();
    let record_bytes = header.record_bytes() as usize;
    let mut off = 0usize;
    for s in &header.signals {
        let width = s.samples_per_record * bps;
        if s.is_annotation() {
            return (0..n)
                .map(|r| {
                    let start = r * record_bytes + off;
                    bytes
                        .get(start..start + width)
                        .and_then(|b| b.split(|&c| c == 0x14).next())
                        .and_then(|t| std::str::from_utf8(t).ok())
                        .and_then(|t| t.trim().parse::<f64>().ok())
                        .filter(|v| v.is_finite())
                        .unwrap_or(0.0)
                })
                .collect();
        }
        off += width;
    }
    Vec::new()
}

/// Parse a complete EDF/BDF file held in memory, as [`Reader::read`] would (used by
/// property tests and fuzzing).
///
/// # Errors
/// As [`read_window`].
pub fn read_bytes(bytes: &[u8], path: &Path) -> Result<Recording, FormatError> {
    if !looks_like_edf(bytes) {
        return Err(FormatError::Incompatible {
            format: FORMAT,
            path: path.to_path_buf(),
        });
    }
    let mut cursor = std::io::Cursor::new(bytes);
    read_default_from(&mut cursor, bytes.len() as u64, path)
}

fn read_default_from<R: Read + Seek>(
    src: &mut R,
    len: u64,
    path: &Path,
) -> Result<Recording, FormatError> {
    let header = read_header_from(src, len, path)?;
    let total_s = header.duration_s();
    let (dur, partial) = if total_s <= WHOLE_READ_MAX_S {
        (total_s, false)
    } else {
        (DEFAULT_WINDOW_S, true)
    };
    let mut rec = read_window_with(src, &header, path, 0.0, dur)?;
    if partial {
        rec.provenance.notes.push(format!(
            "long recording ({total_s:.1} s): showing the first {DEFAULT_WINDOW_S} s; other windows can be read on request"
        ));
    }
    Ok(rec)
}

fn chunk_records(header: &EdfHeader) -> usize {
    let rb = header.record_bytes().max(1);
    ((4 * 1024 * 1024) / rb).max(1) as usize
}

/// Latin-1 field → String, trimmed of spaces and NULs.
fn field_str(bytes: &[u8], offset: usize, width: usize) -> String {
    let slice = bytes.get(offset..offset + width).unwrap_or(&[]);
    slice
        .iter()
        .map(|&b| char::from(b))
        .collect::<String>()
        .trim_matches(|c: char| c == ' ' || c == '\0')
        .to_string()
}

fn read_header_from<R: Read + Seek>(
    src: &mut R,
    len: u64,
    path: &Path,
) -> Result<EdfHeader, FormatError> {
    let bad = |reason: String| FormatError::invalid(FORMAT, path, reason);
    src.seek(SeekFrom::Start(0))
        .map_err(|e| FormatError::io(path, e))?;
    let mut fixed = vec![0u8; 256];
    src.read_exact(&mut fixed).map_err(|_| {
        bad(format!(
            "the file is {len} bytes, shorter than the 256-byte header"
        ))
    })?;
    let version = fixed.get(..8).unwrap_or(&[]);
    let is_bdf = version == b"\xffBIOSEMI";
    if !is_bdf && version != b"0       " {
        return Err(FormatError::Incompatible {
            format: FORMAT,
            path: path.to_path_buf(),
        });
    }
    let reserved = field_str(&fixed, 192, 44);
    let variant = match (is_bdf, reserved.get(..5)) {
        (false, Some("EDF+C")) => EdfVariant::EdfPlus { continuous: true },
        (false, Some("EDF+D")) => EdfVariant::EdfPlus { continuous: false },
        (true, Some("BDF+C")) => EdfVariant::BdfPlus { continuous: true },
        (true, Some("BDF+D")) => EdfVariant::BdfPlus { continuous: false },
        (false, _) => EdfVariant::Edf,
        (true, _) => EdfVariant::Bdf,
    };
    let number = |offset: usize, width: usize, what: &str| -> Result<f64, FormatError> {
        let s = field_str(&fixed, offset, width);
        s.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| bad(format!("{what} is not a number: {s:?}")))
    };
    let header_bytes = number(184, 8, "header size")?;
    let n_records_raw = number(236, 8, "number of data records")?;
    let record_duration_s = number(244, 8, "data record duration")?;
    let ns = number(252, 4, "number of signals")?;
    if !(1.0..=MAX_HEADER_SIGNALS as f64).contains(&ns) || ns.fract() != 0.0 {
        return Err(bad(format!(
            "number of signals {ns} (expected 1–{MAX_HEADER_SIGNALS})"
        )));
    }
    let ns = ns as usize;
    let expected_header = 256 * (ns as u64 + 1);
    if header_bytes != expected_header as f64 {
        return Err(bad(format!(
            "header size {header_bytes} does not match {ns} signals ({expected_header} bytes)"
        )));
    }
    if !(0.0..=1.0e6).contains(&record_duration_s) {
        return Err(bad(format!("data record duration {record_duration_s} s")));
    }
    let mut sig = vec![0u8; 256 * ns];
    src.read_exact(&mut sig).map_err(|_| {
        bad(format!(
            "the signal headers are truncated ({ns} signals declared)"
        ))
    })?;
    let col = |i: usize, field_offset: usize, width: usize| {
        field_str(&sig, field_offset * ns + i * width, width)
    };
    let mut signals = Vec::with_capacity(ns);
    for i in 0..ns {
        let label = col(i, 0, 16);
        let num = |field_offset: usize, what: &str| -> Result<f64, FormatError> {
            let s = col(i, field_offset, 8);
            s.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| {
                    bad(format!(
                        "signal {} ({label}): {what} is not a number: {s:?}",
                        i + 1
                    ))
                })
        };
        let physical_min = num(104, "physical minimum")?;
        let physical_max = num(112, "physical maximum")?;
        let digital_min = num(120, "digital minimum")?;
        let digital_max = num(128, "digital maximum")?;
        let spr = num(216, "samples per record")?;
        let digital_range = if is_bdf { 8_388_608.0 } else { 32_768.0 };
        for (v, what) in [
            (digital_min, "digital minimum"),
            (digital_max, "digital maximum"),
        ] {
            if v.fract() != 0.0 || v < -digital_range || v >= digital_range {
                return Err(bad(format!(
                    "signal {} ({label}): {what} {v} out of range",
                    i + 1
                )));
            }
        }
        if digital_max == digital_min {
            return Err(bad(format!(
                "signal {} ({label}): digital minimum equals digital maximum",
                i + 1
            )));
        }
        if !(0.0..=1.0e7).contains(&spr) || spr.fract() != 0.0 {
            return Err(bad(format!(
                "signal {} ({label}): {spr} samples per record",
                i + 1
            )));
        }
        signals.push(EdfSignal {
            label,
            transducer: col(i, 16, 80),
            physical_dimension: col(i, 96, 8),
            physical_min,
            physical_max,
            digital_min: digital_min as i32,
            digital_max: digital_max as i32,
            prefiltering: col(i, 136, 80),
            samples_per_record: spr as usize,
        });
    }
    let mut header = EdfHeader {
        variant,
        patient_field: field_str(&fixed, 8, 80),
        recording_field: field_str(&fixed, 88, 80),
        start_date: field_str(&fixed, 168, 8),
        start_time: field_str(&fixed, 176, 8),
        header_bytes: expected_header,
        n_records: 0,
        n_records_declared: None,
        record_duration_s,
        signals,
    };
    let record_bytes = header.record_bytes();
    if record_bytes == 0 {
        return Err(bad("data records hold no samples".into()));
    }
    if record_bytes > MAX_RECORD_BYTES {
        return Err(FormatError::TooLarge {
            what: format!("{record_bytes} bytes per data record, limit {MAX_RECORD_BYTES}"),
            path: path.to_path_buf(),
        });
    }
    let available = len.saturating_sub(expected_header) / record_bytes;
    header.n_records_declared = (n_records_raw >= 0.0 && n_records_raw.fract() == 0.0)
        .then_some(n_records_raw.min(usize::MAX as f64) as usize);
    if n_records_raw < 0.0 && n_records_raw != -1.0 {
        return Err(bad(format!("number of data records {n_records_raw}")));
    }
    header.n_records = match header.n_records_declared {
        Some(n) => n.min(available as usize),
        None => available as usize,
    };
    Ok(header)
}

/// Read `n` data records starting at record `first` (fewer when the file ends early).
fn read_records<R: Read + Seek>(
    src: &mut R,
    header: &EdfHeader,
    path: &Path,
    first: usize,
    n: usize,
) -> Result<Vec<u8>, FormatError> {
    let rb = header.record_bytes();
    let start = header.header_bytes + first as u64 * rb;
    let want = n as u64 * rb;
    src.seek(SeekFrom::Start(start))
        .map_err(|e| FormatError::io(path, e))?;
    let mut buf = Vec::with_capacity(want.min(limits::MAX_FILE_BYTES) as usize);
    src.take(want)
        .read_to_end(&mut buf)
        .map_err(|e| FormatError::io(path, e))?;
    Ok(buf)
}

/// Indices of the signals that become leads, and the notes about those left out.
fn choose_signals(header: &EdfHeader) -> (Vec<usize>, Vec<String>) {
    let ordinary: Vec<usize> = (0..header.signals.len())
        .filter(|&i| {
            header
                .signals
                .get(i)
                .is_some_and(|s| !s.is_annotation() && s.samples_per_record > 0)
        })
        .collect();
    let spr_of = |i: usize| header.signals.get(i).map_or(0, |s| s.samples_per_record);
    let ecg_rate = ordinary.iter().copied().find(|&i| {
        header
            .signals
            .get(i)
            .is_some_and(|s| StandardLead::from_name(&s.label).is_some())
    });
    let chosen_spr = ecg_rate.map(spr_of).or_else(|| {
        // most common samples-per-record, ties to the higher rate
        let mut counts: Vec<(usize, usize)> = Vec::new();
        for &i in &ordinary {
            let spr = spr_of(i);
            match counts.iter_mut().find(|(s, _)| *s == spr) {
                Some((_, c)) => *c += 1,
                None => counts.push((spr, 1)),
            }
        }
        counts
            .into_iter()
            .max_by_key(|&(s, c)| (c, s))
            .map(|(s, _)| s)
    });
    let mut chosen = Vec::new();
    let mut left_out = Vec::new();
    for &i in &ordinary {
        if Some(spr_of(i)) == chosen_spr && chosen.len() < limits::MAX_SIGNALS {
            chosen.push(i);
        } else if let Some(s) = header.signals.get(i) {
            left_out.push(s.label.clone());
        }
    }
    let mut notes = Vec::new();
    if !left_out.is_empty() {
        notes.push(format!(
            "signals at another sample rate (or beyond {} signals) not shown: {}",
            limits::MAX_SIGNALS,
            left_out.join(", ")
        ));
    }
    (chosen, notes)
}

/// Millivolts per physical unit, from the physical dimension; `None` when it is not a voltage.
fn mv_per_physical_unit(dimension: &str) -> Option<f64> {
    let d = dimension.trim();
    match d {
        "uV" | "\u{b5}V" | "\u{3bc}V" | "UV" | "microV" => Some(1e-3),
        "mV" | "MV" | "mv" => Some(1.0),
        "V" | "v" => Some(1e3),
        "nV" => Some(1e-6),
        _ => None,
    }
}

fn read_window_with<R: Read + Seek>(
    src: &mut R,
    header: &EdfHeader,
    path: &Path,
    start_s: f64,
    duration_s: f64,
) -> Result<Recording, FormatError> {
    let bad = |reason: String| FormatError::invalid(FORMAT, path, reason);
    if header.n_records == 0 {
        return Err(bad("the file holds no complete data record".into()));
    }
    if header.record_duration_s <= 0.0 || header.record_duration_s.is_nan() {
        return Err(FormatError::Unsupported {
            format: FORMAT,
            what: "data records of zero duration (annotation-only file)".into(),
            path: path.to_path_buf(),
        });
    }
    let (chosen, mut notes) = choose_signals(header);
    let Some(&first_sig) = chosen.first() else {
        return Err(bad("no signal holds samples (annotations only)".into()));
    };
    let spr = header
        .signals
        .get(first_sig)
        .map_or(0, |s| s.samples_per_record);
    let rate_hz = spr as f64 / header.record_duration_s;
    if !(1.0..=100_000.0).contains(&rate_hz) {
        return Err(bad(format!("sample rate {rate_hz} Hz")));
    }
    let total_s = header.duration_s();
    let start_s = if start_s.is_finite() {
        start_s.clamp(0.0, total_s)
    } else {
        0.0
    };
    let duration_s = if duration_s.is_finite() {
        duration_s.max(0.0)
    } else {
        0.0
    };
    let end_s = (start_s + duration_s).min(total_s);
    let total_samples = header.n_records.saturating_mul(spr);
    let first_sample = ((start_s * rate_hz).floor() as usize).min(total_samples);
    let end_sample = ((end_s * rate_hz).round() as usize).clamp(first_sample, total_samples);
    let n_samples = end_sample - first_sample;
    if n_samples == 0 {
        return Err(bad(format!(
            "the window {start_s}–{end_s} s holds no samples"
        )));
    }
    if n_samples.saturating_mul(chosen.len()) > limits::MAX_TOTAL_SAMPLES {
        return Err(FormatError::TooLarge {
            what: format!(
                "{n_samples} samples × {} signals, limit {} samples",
                chosen.len(),
                limits::MAX_TOTAL_SAMPLES
            ),
            path: path.to_path_buf(),
        });
    }
    let first_record = first_sample / spr;
    let last_record = (end_sample - 1) / spr; // inclusive
    let n_records = last_record - first_record + 1;
    let bytes = read_records(src, header, path, first_record, n_records)?;
    let got_records = bytes.len() as u64 / header.record_bytes();
    if got_records < n_records as u64 {
        return Err(bad(format!(
            "the file ends inside data record {} of {}",
            first_record as u64 + got_records + 1,
            header.n_records
        )));
    }

    // byte offset of each signal within a record
    let bps = header.variant.bytes_per_sample();
    let mut offsets = Vec::with_capacity(header.signals.len());
    let mut acc = 0usize;
    for s in &header.signals {
        offsets.push(acc);
        acc += s.samples_per_record * bps;
    }
    let record_bytes = acc;
    let mut leads = Vec::with_capacity(chosen.len());
    for &i in &chosen {
        let (Some(sig), Some(&off)) = (header.signals.get(i), offsets.get(i)) else {
            continue;
        };
        let gain = sig.gain();
        let scale = mv_per_physical_unit(&sig.physical_dimension).unwrap_or_else(|| {
            notes.push(format!(
                "signal {}: physical dimension {:?} is not a voltage; values kept as stored",
                sig.label, sig.physical_dimension
            ));
            1.0
        });
        let mut samples = Vec::with_capacity(n_samples);
        for k in first_sample..end_sample {
            let rec = k / spr - first_record;
            let pos = rec * record_bytes + off + (k % spr) * bps;
            let digital = match bytes.get(pos..pos + bps) {
                Some([a, b]) => i32::from(i16::from_le_bytes([*a, *b])),
                Some([a, b, c]) => {
                    let v = i32::from_le_bytes([*a, *b, *c, 0]);
                    (v << 8) >> 8
                }
                _ => return Err(bad("data record shorter than its signals".into())),
            };
            let physical =
                (f64::from(digital) - f64::from(sig.digital_min)) * gain + sig.physical_min;
            samples.push((physical * scale) as f32);
        }
        leads.push(Lead::new(sig.label.clone(), samples));
    }
    if header.variant.is_plus() {
        let mut annotations = Vec::new();
        collect_annotations(header, &bytes, n_records, &mut annotations);
        let offset_s = first_record_onset(src, header, path)?;
        for a in &mut annotations {
            a.onset_s -= offset_s;
        }
        let in_window: Vec<_> = annotations
            .iter()
            .filter(|a| a.onset_s >= start_s && a.onset_s < end_s.max(start_s + 1e-9))
            .collect();
        for a in in_window.iter().take(MAX_NOTE_ANNOTATIONS) {
            notes.push(match a.duration_s {
                Some(d) => format!("annotation at {:.3} s ({d} s): {}", a.onset_s, a.text),
                None => format!("annotation at {:.3} s: {}", a.onset_s, a.text),
            });
        }
        if in_window.len() > MAX_NOTE_ANNOTATIONS {
            notes.push(format!(
                "{} more annotations in this window not listed",
                in_window.len() - MAX_NOTE_ANNOTATIONS
            ));
        }
        if matches!(
            header.variant,
            EdfVariant::EdfPlus { continuous: false } | EdfVariant::BdfPlus { continuous: false }
        ) {
            notes.push(
                "discontinuous EDF+ (EDF+D): data records are shown back to back, gaps are not drawn"
                    .into(),
            );
        }
    }
    if start_s > 0.0 || end_sample < total_samples {
        notes.push(format!(
            "window {:.3}–{:.3} s of {:.3} s",
            first_sample as f64 / rate_hz,
            end_sample as f64 / rate_hz,
            total_s
        ));
    }
    if let Some(declared) = header.n_records_declared {
        if declared > header.n_records {
            notes.push(format!(
                "the header declares {declared} data records but the file holds {}",
                header.n_records
            ));
        }
    }
    let (patient, device, start_date_plus) = parse_plus_fields(header);
    let acquisition_time = acquisition_time(header, start_date_plus.as_deref());
    let mut patient = patient;
    if let (Some(birth), Some(acq)) = (&patient.birth_date, &acquisition_time) {
        patient.age_years = age_years(birth, acq);
    }
    let filters: Vec<String> = chosen
        .iter()
        .filter_map(|&i| header.signals.get(i))
        .map(|s| s.prefiltering.clone())
        .filter(|p| !p.is_empty())
        .collect();
    let device_filters = filters.first().cloned();
    Ok(Recording {
        leads,
        sample_rate_hz: rate_hz,
        patient,
        provenance: Provenance {
            format: header.variant.label().to_string(),
            path: path.to_path_buf(),
            original_sample_rate_hz: rate_hz,
            device,
            device_filters,
            acquisition_time,
            notes,
            ..Provenance::default()
        },
        device_findings: crate::recording::DeviceFindings::default(),
        median_beats: None,
    })
}

/// EDF+ patient ("code sex birthdate name") and recording ("Startdate dd-MMM-yyyy
/// admincode technician equipment") subfields; "X" means unknown.
fn parse_plus_fields(header: &EdfHeader) -> (Patient, Option<String>, Option<String>) {
    let mut patient = Patient::default();
    let known = |s: &str| (!s.is_empty() && s != "X").then(|| s.to_string());
    if header.variant.is_plus() {
        let mut parts = header.patient_field.split_whitespace();
        patient.id = parts.next().and_then(known);
        patient.sex = match parts.next() {
            Some("M") => Some(Sex::Male),
            Some("F") => Some(Sex::Female),
            _ => None,
        };
        patient.birth_date = parts.next().and_then(iso_from_edf_plus_date);
    }
    let mut device = None;
    let mut start_date = None;
    let mut parts = header.recording_field.split_whitespace();
    if parts.next() == Some("Startdate") {
        start_date = parts.next().and_then(iso_from_edf_plus_date);
        if header.variant.is_plus() {
            let _admin = parts.next();
            let _technician = parts.next();
            device = parts.next().and_then(known);
        }
    }
    (patient, device, start_date)
}

/// "02-MAY-1951" → "1951-05-02".
fn iso_from_edf_plus_date(s: &str) -> Option<String> {
    let mut it = s.split('-');
    let day: u32 = it.next()?.parse().ok()?;
    let month = it.next()?.to_ascii_uppercase();
    let year: u32 = it.next()?.parse().ok()?;
    const MONTHS: [&str; 12] = [
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ];
    let m = MONTHS.iter().position(|&x| x == month)? + 1;
    ((1..=31).contains(&day) && (1000..=9999).contains(&year))
        .then(|| format!("{year:04}-{m:02}-{day:02}"))
}

/// Start date/time from the header ("dd.mm.yy", "hh.mm.ss"; years 85–99 are 19xx), the
/// EDF+ recording field's four-digit year taking precedence.
fn acquisition_time(header: &EdfHeader, plus_date: Option<&str>) -> Option<String> {
    let nums = |s: &str| -> Option<[u32; 3]> {
        let mut it = s.split('.').map(|p| p.trim().parse::<u32>().ok());
        let out = [it.next()??, it.next()??, it.next()??];
        it.next().is_none().then_some(out)
    };
    let [hh, mi, ss] = nums(&header.start_time)?;
    if hh > 23 || mi > 59 || ss > 60 {
        return None;
    }
    let date = if let Some(d) = plus_date {
        d.to_string()
    } else {
        let [dd, mm, yy] = nums(&header.start_date)?;
        if !(1..=31).contains(&dd) || !(1..=12).contains(&mm) || yy > 99 {
            return None;
        }
        let year = if yy >= 85 { 1900 + yy } else { 2000 + yy };
        format!("{year:04}-{mm:02}-{dd:02}")
    };
    Some(format!("{date}T{hh:02}:{mi:02}:{ss:02}"))
}

/// Whole years between an ISO birth date and an ISO acquisition time.
pub(crate) fn age_years(birth: &str, acquired: &str) -> Option<f32> {
    let ymd = |s: &str| -> Option<(i32, u32, u32)> {
        let y = s.get(0..4)?.parse().ok()?;
        let m = s.get(5..7)?.parse().ok()?;
        let d = s.get(8..10)?.parse().ok()?;
        Some((y, m, d))
    };
    let (by, bm, bd) = ymd(birth)?;
    let (ay, am, ad) = ymd(acquired)?;
    let mut age = ay - by;
    if (am, ad) < (bm, bd) {
        age -= 1;
    }
    (0..=150).contains(&age).then_some(age as f32)
}

/// Parse the TALs of the annotation signal(s) of `n` records held in `bytes`.
fn collect_annotations(header: &EdfHeader, bytes: &[u8], n: usize, out: &mut Vec<EdfAnnotation>) {
    let bps = header.variant.bytes_per_sample();
    let record_bytes = header.record_bytes() as usize;
    let mut off = 0usize;
    for s in &header.signals {
        let width = s.samples_per_record * bps;
        if s.is_annotation() {
            for r in 0..n {
                let start = r * record_bytes + off;
                if let Some(tal_bytes) = bytes.get(start..start + width) {
                    parse_tals(tal_bytes, out);
                }
                if out.len() >= MAX_ANNOTATIONS {
                    return;
                }
            }
        }
        off += width;
    }
}

/// "+onset[\x15duration]\x14text\x14text\x14\x00" … ; empty texts (time-keeping TALs) are skipped.
fn parse_tals(bytes: &[u8], out: &mut Vec<EdfAnnotation>) {
    for tal in bytes.split(|&b| b == 0).filter(|t| !t.is_empty()) {
        let mut parts = tal.split(|&b| b == 0x14);
        let Some(time) = parts.next() else { continue };
        let time = String::from_utf8_lossy(time);
        let mut tp = time.split('\u{15}');
        let Some(onset_s) = tp.next().and_then(|s| s.trim().parse::<f64>().ok()) else {
            continue;
        };
        if !onset_s.is_finite() {
            continue;
        }
        let duration_s = tp
            .next()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|d| d.is_finite());
        for text in parts {
            if text.is_empty() {
                continue;
            }
            if out.len() >= MAX_ANNOTATIONS {
                return;
            }
            out.push(EdfAnnotation {
                onset_s,
                duration_s,
                text: String::from_utf8_lossy(text).into_owned(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tal_parsing() {
        let mut out = Vec::new();
        parse_tals(
            b"+0\x14\x14\x00+1.5\x1520\x14Lights off\x14Snore\x14\x00\x00",
            &mut out,
        );
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].onset_s, 1.5);
        assert_eq!(out[0].duration_s, Some(20.0));
        assert_eq!(out[1].text, "Snore");
    }

    #[test]
    fn edf_plus_dates() {
        assert_eq!(
            iso_from_edf_plus_date("02-MAY-1951").as_deref(),
            Some("1951-05-02")
        );
        assert_eq!(iso_from_edf_plus_date("X"), None);
        assert_eq!(age_years("1951-05-02", "2002-05-01T10:00:00"), Some(50.0));
    }

    #[test]
    fn windows_page_through_a_long_recording() {
        let w = EdfWindow::at(0.0, 8025.0);
        assert_eq!(w.label(), "window 00:00:00–00:00:10 of 02:13:45");
        assert_eq!(w.previous_start_s(), None);
        assert_eq!(w.next_start_s(), Some(10.0));
        let w = EdfWindow::at(600.0, 8025.0);
        assert_eq!(w.label(), "window 00:10:00–00:10:10 of 02:13:45");
        assert_eq!(w.previous_start_s(), Some(590.0));
        // past the end: the last full window, which has no next
        let last = EdfWindow::at(1e9, 8025.0);
        assert_eq!((last.start_s, last.duration_s), (8015.0, 10.0));
        assert_eq!(last.next_start_s(), None);
        // the window before the last one leads to the last full window
        assert_eq!(EdfWindow::at(8010.0, 8025.0).next_start_s(), Some(8015.0));
        assert_eq!(EdfWindow::at(f64::NAN, 8025.0).start_s, 0.0);
        // shorter than a window
        let short = EdfWindow::at(3.0, 4.0);
        assert_eq!((short.start_s, short.duration_s), (0.0, 4.0));
        assert_eq!(short.next_start_s(), None);
    }

    #[test]
    fn times_format_and_parse() {
        assert_eq!(hms(8025.9), "02:13:45");
        assert_eq!(hms(f64::NAN), "00:00:00");
        assert_eq!(hms(360_000.0), "100:00:00");
        assert_eq!(parse_hms("02:13:45"), Some(8025.0));
        assert_eq!(parse_hms(" 10:00 "), Some(600.0));
        assert_eq!(parse_hms("90.5"), Some(90.5));
        assert_eq!(parse_hms("1:60:00"), None);
        assert_eq!(parse_hms("-5"), None);
        assert_eq!(parse_hms("1:2:3:4"), None);
        assert_eq!(parse_hms("abc"), None);
        assert_eq!(parse_hms(""), None);
    }

    #[test]
    fn non_edf_is_incompatible() {
        let e = read_bytes(b"hello world", Path::new("x.edf"));
        assert!(matches!(e, Err(FormatError::Incompatible { .. })));
    }
}
