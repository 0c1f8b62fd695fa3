//! WFDB records (PhysioNet): a text header `NAME.hea` plus binary signal files.
//!
//! Follows the WFDB header and signal-file specification (PhysioNet, "header(5)" and
//! "signal(5)" man pages): record line `name[/segments] nsig [fs[/cfreq[(cbase)]] [nsamp
//! [time [date]]]]`, signal lines `file fmt[xspf][:skew][+offset] [gain[(baseline)][/units]
//! [adcres [adczero [initval [checksum [blocksize [description]]]]]]]`, comment lines `#`.
//! Signal formats read: 8, 16, 24, 32, 61, 80, 160, 212, 310, 311. Multi-segment records
//! (fixed and variable layout, `~` null segments) are read and concatenated.
//! Physical value = (digital − baseline) / gain, converted to millivolts from the stated
//! units (mV, uV/µV, V); non-voltage channels (mmHg, NU, …) are left out with a note.
//! Invalid-sample markers become `NaN`. Comments `Age: 56` / `Sex: Male` (CinC, PTB) are
//! read; for PTB-XL trees the record's row in `ptbxl_database.csv`/`labels.csv` supplies
//! age and sex. Writing produces format 16 at 1000 adu/mV (1 µV resolution).

use super::{limits, read_capped, FormatError, OpenOptions, Reader};
use crate::recording::{Lead, Patient, Provenance, Recording, Sex};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const FORMAT: &str = "WFDB";

/// Reader for WFDB `.hea` records.
pub struct WfdbReader;

impl Reader for WfdbReader {
    fn name(&self) -> &'static str {
        FORMAT
    }

    fn read(
        &self,
        path: &Path,
        head: &[u8],
        _options: &OpenOptions,
    ) -> Result<Recording, FormatError> {
        let hea = header_path_for(path);
        let is_hea_ext = hea
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("hea"));
        if !is_hea_ext {
            return Err(FormatError::Incompatible {
                format: FORMAT,
                path: path.to_path_buf(),
            });
        }
        // Content check only when the user gave the header itself.
        if hea == path && !looks_like_header(head) {
            return Err(FormatError::Incompatible {
                format: FORMAT,
                path: path.to_path_buf(),
            });
        }
        read_record(&hea)
    }
}

/// `rec.dat` → `rec.hea` when such a header exists; otherwise the path itself.
fn header_path_for(path: &Path) -> PathBuf {
    let is_hea = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("hea"));
    if !is_hea {
        let candidate = path.with_extension("hea");
        if candidate.exists() {
            return candidate;
        }
    }
    path.to_path_buf()
}

fn looks_like_header(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(head);
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut tokens = line.split_whitespace();
        let _name = tokens.next();
        return tokens.next().is_some_and(|n| n.parse::<usize>().is_ok());
    }
    false
}

/// One signal line of a header.
#[derive(Debug, Clone)]
struct SignalSpec {
    file_name: String,
    format: u32,
    samples_per_frame: usize,
    skew: usize,
    byte_offset: u64,
    gain_adu_per_unit: f64,
    baseline: i64,
    units: String,
    initial_value: i64,
    description: String,
}

/// A parsed header (single segment, or the master header of a multi-segment record).
#[derive(Debug, Clone)]
struct Header {
    n_signals: usize,
    frame_rate_hz: f64,
    n_samples: Option<usize>,
    base_time: Option<String>,
    base_date: Option<String>,
    signals: Vec<SignalSpec>,
    /// (segment name, samples) for multi-segment records.
    segments: Option<Vec<(String, usize)>>,
    comments: Vec<String>,
}

fn parse_header(text: &str, hea: &Path) -> Result<Header, FormatError> {
    let bad = |reason: String| FormatError::invalid(FORMAT, hea, reason);
    let mut lines = text.lines().map(str::trim);
    let mut comments = Vec::new();
    let record_line = loop {
        match lines.next() {
            None => return Err(bad("no record line".into())),
            Some("") => {}
            Some(l) if l.starts_with('#') => {
                comments.push(l.trim_start_matches('#').trim().to_string());
            }
            Some(l) => break l,
        }
    };
    let mut tok = record_line.split_whitespace();
    let name_field = tok.next().ok_or_else(|| bad("empty record line".into()))?;
    let n_segments = match name_field.split_once('/') {
        Some((_, n)) => Some(
            n.parse::<usize>()
                .map_err(|_| bad(format!("bad segment count {n:?}")))?,
        ),
        None => None,
    };
    let n_signals: usize = tok
        .next()
        .ok_or_else(|| bad("record line lacks the number of signals".into()))?
        .parse()
        .map_err(|_| bad("number of signals is not an integer".into()))?;
    if n_signals > limits::MAX_SIGNALS {
        return Err(FormatError::TooLarge {
            what: format!("{n_signals} signals, limit {}", limits::MAX_SIGNALS),
            path: hea.to_path_buf(),
        });
    }
    let frame_rate_hz = match tok.next() {
        Some(f) => {
            let f = f.split(['/', '(']).next().unwrap_or(f);
            f.parse::<f64>()
                .map_err(|_| bad(format!("bad sampling frequency {f:?}")))?
        }
        None => 250.0,
    };
    if !(frame_rate_hz.is_finite() && frame_rate_hz > 0.0 && frame_rate_hz <= 1.0e6) {
        return Err(bad(format!(
            "sampling frequency {frame_rate_hz} Hz is not usable"
        )));
    }
    let n_samples = match tok.next() {
        Some(n) => Some(
            n.parse::<usize>()
                .map_err(|_| bad(format!("bad number of samples {n:?}")))?,
        ),
        None => None,
    };
    let base_time = tok.next().map(str::to_string);
    let base_date = tok.next().map(str::to_string);

    let mut segments = None;
    if let Some(n_seg) = n_segments {
        if n_seg > limits::MAX_SEGMENTS {
            return Err(FormatError::TooLarge {
                what: format!("{n_seg} segments, limit {}", limits::MAX_SEGMENTS),
                path: hea.to_path_buf(),
            });
        }
        let mut segs = Vec::with_capacity(n_seg);
        while segs.len() < n_seg {
            let line = lines.next().ok_or_else(|| {
                bad(format!(
                    "expected {n_seg} segment lines, found {}",
                    segs.len()
                ))
            })?;
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut t = line.split_whitespace();
            let seg_name = t.next().unwrap_or("~").to_string();
            let seg_len: usize = t
                .next()
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| bad(format!("bad segment line {line:?}")))?;
            segs.push((seg_name, seg_len));
        }
        segments = Some(segs);
    }

    let mut signals = Vec::with_capacity(n_signals);
    if segments.is_none() {
        while signals.len() < n_signals {
            let line = lines.next().ok_or_else(|| {
                bad(format!(
                    "header promises {n_signals} signals but describes {}",
                    signals.len()
                ))
            })?;
            if line.is_empty() {
                continue;
            }
            if line.starts_with('#') {
                comments.push(line.trim_start_matches('#').trim().to_string());
                continue;
            }
            signals.push(parse_signal_line(line, hea)?);
        }
    }
    for line in lines {
        if let Some(c) = line.strip_prefix('#') {
            comments.push(c.trim().to_string());
        }
    }
    Ok(Header {
        n_signals,
        frame_rate_hz,
        n_samples,
        base_time,
        base_date,
        signals,
        segments,
        comments,
    })
}

fn parse_signal_line(line: &str, hea: &Path) -> Result<SignalSpec, FormatError> {
    let bad = |reason: String| FormatError::invalid(FORMAT, hea, reason);
    let mut tok = line.split_whitespace();
    let file_name = tok.next().unwrap_or_default().to_string();
    let fmt_field = tok
        .next()
        .ok_or_else(|| bad(format!("signal line lacks a format: {line:?}")))?;
    // fmt[xspf][:skew][+offset]
    let (fmt_field, byte_offset) = match fmt_field.split_once('+') {
        Some((f, o)) => (
            f,
            o.parse::<u64>()
                .map_err(|_| bad(format!("bad byte offset {o:?}")))?,
        ),
        None => (fmt_field, 0),
    };
    let (fmt_field, skew) = match fmt_field.split_once(':') {
        Some((f, s)) => (
            f,
            s.parse::<usize>()
                .map_err(|_| bad(format!("bad skew {s:?}")))?,
        ),
        None => (fmt_field, 0),
    };
    let (fmt_str, spf) = match fmt_field.split_once('x') {
        Some((f, x)) => (
            f,
            x.parse::<usize>()
                .map_err(|_| bad(format!("bad samples per frame {x:?}")))?,
        ),
        None => (fmt_field, 1),
    };
    let format: u32 = fmt_str
        .parse()
        .map_err(|_| bad(format!("bad signal format {fmt_str:?}")))?;
    if !(1..=64).contains(&spf) {
        return Err(bad(format!("samples per frame {spf} out of range")));
    }
    if skew > 1_000_000 {
        return Err(bad(format!("skew {skew} out of range")));
    }
    let mut gain_adu_per_unit = 200.0;
    let mut baseline: Option<i64> = None;
    let mut units = "mV".to_string();
    if let Some(g) = tok.next() {
        let (g, u) = match g.split_once('/') {
            Some((g, u)) => (g, Some(u)),
            None => (g, None),
        };
        if let Some(u) = u {
            units = u.to_string();
        }
        let (g, b) = match g.split_once('(') {
            Some((g, b)) => (g, Some(b.trim_end_matches(')'))),
            None => (g, None),
        };
        let gain: f64 = g.parse().map_err(|_| bad(format!("bad ADC gain {g:?}")))?;
        if gain.is_finite() && gain > 0.0 {
            gain_adu_per_unit = gain;
        } else if !gain.is_finite() || gain < 0.0 {
            return Err(bad(format!("ADC gain {gain} is not usable")));
        }
        if let Some(b) = b {
            baseline = Some(b.parse().map_err(|_| bad(format!("bad baseline {b:?}")))?);
        }
    }
    let _adc_resolution = tok.next();
    let adc_zero: i64 = tok.next().and_then(|z| z.parse().ok()).unwrap_or(0);
    let initial_value: i64 = tok.next().and_then(|z| z.parse().ok()).unwrap_or(0);
    let _checksum = tok.next();
    let _block_size = tok.next();
    let description = tok.collect::<Vec<_>>().join(" ");
    Ok(SignalSpec {
        file_name,
        format,
        samples_per_frame: spf,
        skew,
        byte_offset,
        gain_adu_per_unit,
        baseline: baseline.unwrap_or(adc_zero),
        units,
        initial_value,
        description,
    })
}

/// Read a WFDB record given its `.hea` path.
///
/// # Errors
/// Any [`FormatError`]; the header and every signal file are checked against each other.
pub fn read_record(hea: &Path) -> Result<Recording, FormatError> {
    let text = read_header_text(hea)?;
    let header = parse_header(&text, hea)?;
    let dir = hea.parent().unwrap_or(Path::new("."));
    let (mut leads, rate_hz, mut notes) = match &header.segments {
        None => read_single(&header, dir, hea)?,
        Some(segments) => read_multi(&header, segments, dir, hea)?,
    };
    if leads.is_empty() {
        return Err(FormatError::invalid(
            FORMAT,
            hea,
            "the record holds no ECG (voltage) signals",
        ));
    }
    let mut patient = patient_from_comments(&header.comments);
    if patient.age_years.is_none() && patient.sex.is_none() {
        if let Some(p) = ptbxl_patient(hea) {
            patient = p;
            notes.push("age and sex from the PTB-XL database table".into());
        }
    }
    let acquisition_time =
        acquisition_time(header.base_date.as_deref(), header.base_time.as_deref());
    for l in &mut leads {
        l.name = l.name.trim().to_string();
    }
    Ok(Recording {
        leads,
        sample_rate_hz: rate_hz,
        patient,
        provenance: Provenance {
            format: FORMAT.into(),
            path: hea.to_path_buf(),
            original_sample_rate_hz: rate_hz,
            acquisition_time,
            notes,
            ..Provenance::default()
        },
        ..Recording::default()
    })
}

fn read_header_text(hea: &Path) -> Result<String, FormatError> {
    let bytes = read_capped(hea, 1024 * 1024)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

type Leads = (Vec<Lead>, f64, Vec<String>);

/// Read the signals of a single-segment header.
fn read_single(header: &Header, dir: &Path, hea: &Path) -> Result<Leads, FormatError> {
    let spf_max = header
        .signals
        .iter()
        .map(|s| s.samples_per_frame)
        .max()
        .unwrap_or(1);
    let spf_all_equal = header
        .signals
        .iter()
        .all(|s| s.samples_per_frame == spf_max);
    let mut notes = Vec::new();
    let raw = read_signals_digital(header, dir, hea)?;
    // Output rate: the full rate when every signal has the same samples per frame,
    // otherwise the frame rate (higher-rate signals averaged per frame, as wfdb does).
    let (rate_hz, out_spf) = if spf_all_equal {
        (header.frame_rate_hz * spf_max as f64, spf_max)
    } else {
        notes.push("signals with different rates were averaged to the frame rate".into());
        (header.frame_rate_hz, 1)
    };
    let mut leads = Vec::new();
    for (spec, digital) in header.signals.iter().zip(raw) {
        let Some(mv_per_unit) = mv_per_unit(&spec.units) else {
            notes.push(format!(
                "signal {:?} in {} left out (not a voltage)",
                spec.description, spec.units
            ));
            continue;
        };
        let scale = mv_per_unit / spec.gain_adu_per_unit;
        let physical: Vec<f32> = digital
            .iter()
            .map(|d| match d {
                Some(v) => ((v - spec.baseline) as f64 * scale) as f32,
                None => f32::NAN,
            })
            .collect();
        let samples = if out_spf == spec.samples_per_frame {
            physical
        } else {
            physical
                .chunks(spec.samples_per_frame)
                .map(|c| {
                    // Average the valid sub-samples of the frame; NaN only if none is valid.
                    let (sum, n) = c
                        .iter()
                        .filter(|v| v.is_finite())
                        .fold((0.0f32, 0u32), |(s, n), v| (s + v, n + 1));
                    if n == 0 {
                        f32::NAN
                    } else {
                        sum / n as f32
                    }
                })
                .collect()
        };
        let name = if spec.description.is_empty() {
            format!("signal {}", leads.len() + 1)
        } else {
            spec.description.clone()
        };
        leads.push(Lead::new(name, samples));
    }
    Ok((leads, rate_hz, notes))
}

/// Millivolts per physical unit, or `None` for non-voltage units.
fn mv_per_unit(units: &str) -> Option<f64> {
    match units.trim() {
        "mV" | "mv" | "MV" => Some(1.0),
        "uV" | "µV" | "μV" | "uv" => Some(1.0e-3),
        "nV" => Some(1.0e-6),
        "V" | "v" => Some(1.0e3),
        "" => Some(1.0),
        _ => None,
    }
}

/// Decode every signal of a single-segment header to digital values (`None` = invalid
/// sample), `n_frames × spf` values per signal.
fn read_signals_digital(
    header: &Header,
    dir: &Path,
    hea: &Path,
) -> Result<Vec<Vec<Option<i64>>>, FormatError> {
    let mut out: Vec<Vec<Option<i64>>> = vec![Vec::new(); header.signals.len()];
    // Group signals by file, keeping header order.
    let mut files: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, s) in header.signals.iter().enumerate() {
        match files.iter_mut().find(|(f, _)| *f == s.file_name) {
            Some((_, idx)) => idx.push(i),
            None => files.push((s.file_name.clone(), vec![i])),
        }
    }
    for (file_name, idx) in files {
        let first = &header.signals[idx[0]];
        let format = first.format;
        if idx.iter().any(|&i| header.signals[i].format != format) {
            return Err(FormatError::invalid(
                FORMAT,
                hea,
                format!("signals in {file_name} use different formats"),
            ));
        }
        if file_name == "~" {
            let n = header.n_samples.unwrap_or(0);
            for &i in &idx {
                out[i] = vec![None; n * header.signals[i].samples_per_frame];
            }
            continue;
        }
        if file_name.contains('/') || file_name.contains('\\') || file_name.contains("..") {
            return Err(FormatError::invalid(
                FORMAT,
                hea,
                format!("signal file name {file_name:?} points outside the record's folder"),
            ));
        }
        let dat = dir.join(&file_name);
        if !dat.exists() {
            return Err(FormatError::invalid(
                FORMAT,
                hea,
                format!("signal file {file_name} is missing"),
            ));
        }
        if !matches!(format, 8 | 16 | 24 | 32 | 61 | 80 | 160 | 212 | 310 | 311) {
            return Err(FormatError::Unsupported {
                format: FORMAT,
                what: format!("signal format {format}"),
                path: dat,
            });
        }
        let bytes = read_capped(&dat, limits::MAX_FILE_BYTES)?;
        let bytes = bytes
            .get(first.byte_offset as usize..)
            .ok_or_else(|| FormatError::invalid(FORMAT, &dat, "byte offset beyond end of file"))?;
        let spfs: Vec<usize> = idx
            .iter()
            .map(|&i| header.signals[i].samples_per_frame)
            .collect();
        let frame_len: usize = spfs.iter().sum();
        let available = decoded_len(format, bytes.len());
        let n_frames_file = available / frame_len.max(1);
        let n_frames = match header.n_samples {
            Some(n) if n > 0 => {
                if n > n_frames_file {
                    return Err(FormatError::invalid(
                        FORMAT,
                        &dat,
                        format!(
                            "header promises {n} samples per signal but the file holds {n_frames_file}"
                        ),
                    ));
                }
                n
            }
            _ => n_frames_file,
        };
        let total = n_frames.saturating_mul(frame_len);
        if total > limits::MAX_TOTAL_SAMPLES {
            return Err(FormatError::TooLarge {
                what: format!("{total} samples, limit {}", limits::MAX_TOTAL_SAMPLES),
                path: dat,
            });
        }
        let flat = decode(format, bytes, total);
        for &i in &idx {
            out[i] = Vec::with_capacity(n_frames * header.signals[i].samples_per_frame);
        }
        let mut k = 0;
        for _ in 0..n_frames {
            for (&i, &spf) in idx.iter().zip(&spfs) {
                out[i].extend_from_slice(&flat[k..k + spf]);
                k += spf;
            }
        }
        // Format 8 stores first differences: integrate from the initial value.
        if format == 8 {
            for &i in &idx {
                let mut acc = header.signals[i].initial_value;
                for v in &mut out[i] {
                    acc += v.unwrap_or(0);
                    *v = Some(acc);
                }
            }
        }
        for &i in &idx {
            let skew = header.signals[i].skew * header.signals[i].samples_per_frame;
            if skew > 0 {
                let n = out[i].len();
                out[i].drain(..skew.min(n));
                out[i].resize(n, None);
            }
        }
    }
    Ok(out)
}

/// How many samples `n_bytes` of `format` hold.
fn decoded_len(format: u32, n_bytes: usize) -> usize {
    match format {
        8 | 80 => n_bytes,
        16 | 61 | 160 => n_bytes / 2,
        24 => n_bytes / 3,
        32 => n_bytes / 4,
        212 => n_bytes * 2 / 3,
        // A trailing partial group holds one sample in 2 bytes (310 and 311) or two in
        // 3 bytes (311 only).
        310 => n_bytes / 4 * 3 + usize::from(n_bytes % 4 >= 2),
        311 => n_bytes / 4 * 3 + (n_bytes % 4).saturating_sub(1),
        _ => 0,
    }
}

fn sign_extend(v: i64, bits: u32) -> i64 {
    let shift = 64 - bits;
    (v << shift) >> shift
}

/// `bytes` zero-padded to a multiple of `group` (for a trailing partial sample group).
fn padded(bytes: &[u8], group: usize) -> std::borrow::Cow<'_, [u8]> {
    if bytes.len().is_multiple_of(group) {
        std::borrow::Cow::Borrowed(bytes)
    } else {
        let mut v = bytes.to_vec();
        v.resize(bytes.len().div_ceil(group) * group, 0);
        std::borrow::Cow::Owned(v)
    }
}

/// Decode `n` samples of `format` from `bytes` (the caller checked there are enough).
/// Invalid-sample markers become `None`.
fn decode(format: u32, bytes: &[u8], n: usize) -> Vec<Option<i64>> {
    let mut out = Vec::with_capacity(n);
    let invalid = |v: i64, marker: i64| if v == marker { None } else { Some(v) };
    match format {
        8 => out.extend(bytes.iter().take(n).map(|&b| Some(i64::from(b as i8)))),
        80 => out.extend(
            bytes
                .iter()
                .take(n)
                .map(|&b| invalid(i64::from(b) - 128, -128)),
        ),
        16 => out.extend(
            bytes
                .chunks_exact(2)
                .take(n)
                .map(|c| invalid(i64::from(i16::from_le_bytes([c[0], c[1]])), -32768)),
        ),
        61 => out.extend(
            bytes
                .chunks_exact(2)
                .take(n)
                .map(|c| invalid(i64::from(i16::from_be_bytes([c[0], c[1]])), -32768)),
        ),
        160 => out.extend(
            bytes
                .chunks_exact(2)
                .take(n)
                .map(|c| invalid(i64::from(u16::from_le_bytes([c[0], c[1]])) - 32768, -32768)),
        ),
        24 => out.extend(bytes.chunks_exact(3).take(n).map(|c| {
            let v = i64::from(c[0]) | i64::from(c[1]) << 8 | i64::from(c[2]) << 16;
            invalid(sign_extend(v, 24), -(1 << 23))
        })),
        32 => out.extend(bytes.chunks_exact(4).take(n).map(|c| {
            invalid(
                i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])),
                i64::from(i32::MIN),
            )
        })),
        212 => {
            for c in bytes.chunks_exact(3) {
                let s0 = i64::from(c[0]) | (i64::from(c[1]) & 0x0F) << 8;
                let s1 = i64::from(c[2]) | (i64::from(c[1]) & 0xF0) << 4;
                out.push(invalid(sign_extend(s0, 12), -2048));
                out.push(invalid(sign_extend(s1, 12), -2048));
                if out.len() >= n {
                    break;
                }
            }
            // An odd sample count leaves half a triplet (2 bytes) at the end.
            if out.len() < n {
                let tail = &bytes[bytes.len() / 3 * 3..];
                if tail.len() >= 2 {
                    let s0 = i64::from(tail[0]) | (i64::from(tail[1]) & 0x0F) << 8;
                    out.push(invalid(sign_extend(s0, 12), -2048));
                }
            }
        }
        310 => {
            for c in padded(bytes, 4).chunks_exact(4) {
                let w0 = i64::from(u16::from_le_bytes([c[0], c[1]]));
                let w1 = i64::from(u16::from_le_bytes([c[2], c[3]]));
                let s0 = (w0 >> 1) & 0x3FF;
                let s1 = (w1 >> 1) & 0x3FF;
                let s2 = ((w0 >> 11) & 0x1F) | (((w1 >> 11) & 0x1F) << 5);
                for s in [s0, s1, s2] {
                    out.push(invalid(sign_extend(s, 10), -512));
                }
                if out.len() >= n {
                    break;
                }
            }
        }
        311 => {
            for c in padded(bytes, 4).chunks_exact(4) {
                let w = i64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
                for s in [w & 0x3FF, (w >> 10) & 0x3FF, (w >> 20) & 0x3FF] {
                    out.push(invalid(sign_extend(s, 10), -512));
                }
                if out.len() >= n {
                    break;
                }
            }
        }
        _ => {}
    }
    out.truncate(n);
    out.resize(n, None);
    out
}

/// Read a multi-segment record: concatenate segments, mapping signals by name to the
/// layout (variable layout) or by position (fixed layout); `~` segments are gaps.
fn read_multi(
    header: &Header,
    segments: &[(String, usize)],
    dir: &Path,
    hea: &Path,
) -> Result<Leads, FormatError> {
    let total: usize = segments.iter().map(|(_, n)| *n).sum();
    if total.saturating_mul(header.n_signals) > limits::MAX_TOTAL_SAMPLES {
        return Err(FormatError::TooLarge {
            what: format!(
                "{total} samples × {} signals, limit {}",
                header.n_signals,
                limits::MAX_TOTAL_SAMPLES
            ),
            path: hea.to_path_buf(),
        });
    }
    let mut names: Vec<String> = Vec::new();
    let mut columns: Vec<Vec<f32>> = Vec::new();
    let mut notes = vec![format!(
        "multi-segment record ({} segments)",
        segments.len()
    )];
    let mut done = 0usize;
    let mut rate_hz = header.frame_rate_hz;
    for (k, (seg_name, seg_len)) in segments.iter().enumerate() {
        if seg_name == "~" {
            for c in &mut columns {
                c.resize(done + seg_len, f32::NAN);
            }
            done += seg_len;
            continue;
        }
        if seg_name.contains('/') || seg_name.contains('\\') || seg_name.contains("..") {
            return Err(FormatError::invalid(
                FORMAT,
                hea,
                format!("segment name {seg_name:?} points outside the record's folder"),
            ));
        }
        let seg_hea = dir.join(format!("{seg_name}.hea"));
        let text = read_header_text(&seg_hea)?;
        let seg_header = parse_header(&text, &seg_hea)?;
        if seg_header.segments.is_some() {
            return Err(FormatError::invalid(
                FORMAT,
                &seg_hea,
                "nested multi-segment record",
            ));
        }
        if k == 0 && *seg_len == 0 {
            // Layout segment: names only.
            names = seg_header
                .signals
                .iter()
                .map(|s| s.description.clone())
                .collect();
            columns = vec![Vec::new(); names.len()];
            continue;
        }
        let (leads, seg_rate, seg_notes) = read_single(&seg_header, dir, &seg_hea)?;
        rate_hz = seg_rate;
        notes.extend(seg_notes);
        if names.is_empty() {
            names = leads.iter().map(|l| l.name.clone()).collect();
            columns = vec![Vec::new(); names.len()];
        }
        for (name, column) in names.iter().zip(columns.iter_mut()) {
            if let Some(l) = leads.iter().find(|l| &l.name == name) {
                column.extend(l.samples_mv.iter().take(*seg_len));
            }
            column.resize(done + seg_len, f32::NAN);
        }
        done += seg_len;
    }
    let leads = names
        .into_iter()
        .zip(columns)
        .filter(|(_, c)| c.iter().any(|v| !v.is_nan()))
        .map(|(n, c)| Lead::new(n, c))
        .collect();
    Ok((leads, rate_hz, notes))
}

/// `Age: 56`, `Sex: Male` (CinC 2020/21), `age: 81`, `sex: female` (PTB).
fn patient_from_comments(comments: &[String]) -> Patient {
    let mut patient = Patient::default();
    for c in comments {
        let Some((key, value)) = c.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key.trim().to_ascii_lowercase().as_str() {
            "age" => {
                patient.age_years = value
                    .split_whitespace()
                    .next()
                    .and_then(|v| v.parse::<f32>().ok())
                    .filter(|a| (0.0..=130.0).contains(a));
            }
            "sex" => patient.sex = parse_sex(value),
            "patient id" | "patient_id" | "id" => patient.id = Some(value.to_string()),
            _ => {}
        }
    }
    patient
}

/// "M", "male", "1" (PTB-XL: 0 = male, 1 = female is handled by the caller).
pub(crate) fn parse_sex(value: &str) -> Option<Sex> {
    match value.trim().to_ascii_lowercase().as_str() {
        "m" | "male" => Some(Sex::Male),
        "f" | "female" => Some(Sex::Female),
        _ => None,
    }
}

/// WFDB `dd/mm/yyyy` + `hh:mm:ss` → ISO 8601.
fn acquisition_time(date: Option<&str>, time: Option<&str>) -> Option<String> {
    let date = date?;
    let mut parts = date.split('/');
    let (d, m, y) = (parts.next()?, parts.next()?, parts.next()?);
    let (d, m, y): (u32, u32, u32) = (d.parse().ok()?, m.parse().ok()?, y.parse().ok()?);
    let time = time.unwrap_or("00:00:00");
    let time = time.split('.').next().unwrap_or(time);
    let hms: Vec<u32> = time.split(':').filter_map(|t| t.parse().ok()).collect();
    let (hh, mm, ss) = match hms.as_slice() {
        [h, m, s] => (*h, *m, *s),
        [m, s] => (0, *m, *s),
        _ => (0, 0, 0),
    };
    Some(format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}"))
}

/// For a record inside a PTB-XL tree (`records500/00000/00001_hr.hea`), look up age and
/// sex in `ptbxl_database.csv` or `labels.csv` up to three folders above.
fn ptbxl_patient(hea: &Path) -> Option<Patient> {
    let stem = hea.file_stem()?.to_str()?;
    let (id, _) = stem.split_once('_')?;
    let ecg_id: u32 = id.parse().ok()?;
    let mut dir = hea.parent();
    for _ in 0..3 {
        let d = dir?;
        for table in ["ptbxl_database.csv", "labels.csv"] {
            let p = d.join(table);
            if p.is_file() {
                return ptbxl_row(&p, ecg_id);
            }
        }
        dir = d.parent();
    }
    None
}

/// The patients of one PTB-XL table, by `ecg_id`, as [`ptbxl_table`] keeps them.
type PatientTable = std::collections::HashMap<u32, Patient>;

/// The tables read so far, each with the size and modification time it was read at.
type TableCache = std::collections::HashMap<
    PathBuf,
    (
        u64,
        Option<std::time::SystemTime>,
        std::sync::Arc<PatientTable>,
    ),
>;

/// Tables kept at once; a further one empties the cache first.
const MAX_CACHED_TABLES: usize = 4;

fn ptbxl_row(table: &Path, ecg_id: u32) -> Option<Patient> {
    ptbxl_table(table)?.get(&ecg_id).cloned()
}

/// Every row of a PTB-XL table, parsed once per process and file version: opening a
/// record reads one row, and a batch of records (`eval`, a folder of studies) would
/// otherwise parse the whole table (21,799 rows in PTB-XL's) for each of them.
fn ptbxl_table(table: &Path) -> Option<std::sync::Arc<PatientTable>> {
    static CACHE: std::sync::OnceLock<std::sync::Mutex<TableCache>> = std::sync::OnceLock::new();
    let meta = std::fs::metadata(table).ok()?;
    let stamp = (meta.len(), meta.modified().ok());
    let cache = CACHE.get_or_init(Default::default);
    if let Ok(c) = cache.lock() {
        if let Some((len, modified, rows)) = c.get(table) {
            if (*len, *modified) == stamp {
                return Some(rows.clone());
            }
        }
    }
    let rows = std::sync::Arc::new(parse_ptbxl_table(table)?);
    if let Ok(mut c) = cache.lock() {
        if c.len() >= MAX_CACHED_TABLES {
            c.clear();
        }
        c.insert(table.to_path_buf(), (stamp.0, stamp.1, rows.clone()));
    }
    Some(rows)
}

fn parse_ptbxl_table(table: &Path) -> Option<PatientTable> {
    let bytes = read_capped(table, 64 * 1024 * 1024).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let mut lines = text.lines();
    let header = super::csv::split_csv_line(lines.next()?, ',');
    let col = |name: &str| header.iter().position(|h| h == name);
    let (id_col, age_col, sex_col) = (col("ecg_id")?, col("age")?, col("sex")?);
    let patient_col = col("patient_id");
    let mut out = PatientTable::new();
    for line in lines {
        let fields = super::csv::split_csv_line(line, ',');
        let Some(ecg_id) = fields.get(id_col).and_then(|f| f.parse::<u32>().ok()) else {
            continue;
        };
        let age = fields.get(age_col).and_then(|a| a.parse::<f32>().ok());
        // PTB-XL codes sex as 0 = male, 1 = female; age 300 means "over 89".
        let sex = match fields.get(sex_col).map(String::as_str) {
            Some("0") => Some(Sex::Male),
            Some("1") => Some(Sex::Female),
            _ => None,
        };
        let id = patient_col
            .and_then(|c| fields.get(c))
            .filter(|s| !s.is_empty())
            .map(|s| s.trim_end_matches(".0").to_string());
        // The first row of an id counts, as when the table was searched row by row.
        out.entry(ecg_id).or_insert(Patient {
            id,
            age_years: age.filter(|a| (0.0..=130.0).contains(a)),
            sex,
            birth_date: None,
        });
    }
    Some(out)
}

/// Write `rec` as a WFDB record `<dir>/<name>.hea` + `<name>.dat` (format 16,
/// 1000 adu/mV, `NaN` → invalid-sample marker). Refuses to overwrite unless `overwrite`.
///
/// # Errors
/// I/O errors, an invalid recording, or a record name with path separators.
pub fn write_record(rec: &Recording, hea_path: &Path, overwrite: bool) -> Result<(), FormatError> {
    rec.validate().map_err(|error| FormatError::BadRecording {
        path: hea_path.to_path_buf(),
        error,
    })?;
    let name = hea_path
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| !s.is_empty() && !s.contains(char::is_whitespace))
        .ok_or_else(|| {
            FormatError::invalid(
                FORMAT,
                hea_path,
                "record name must be non-empty without spaces",
            )
        })?;
    let dat_path = hea_path.with_extension("dat");
    let dat_name = format!("{name}.dat");
    const GAIN: f64 = 1000.0;
    let n = rec.len_samples();
    let mut dat = Vec::with_capacity(n * rec.leads.len() * 2);
    let digital: Vec<Vec<i16>> = rec
        .leads
        .iter()
        .map(|l| {
            l.samples_mv
                .iter()
                .map(|&v| {
                    if v.is_finite() {
                        (f64::from(v) * GAIN).round().clamp(-32767.0, 32767.0) as i16
                    } else {
                        i16::MIN
                    }
                })
                .collect()
        })
        .collect();
    for t in 0..n {
        for d in &digital {
            dat.extend_from_slice(&d[t].to_le_bytes());
        }
    }
    let mut hea = format!(
        "{name} {} {} {n}\n",
        rec.leads.len(),
        fmt_rate(rec.sample_rate_hz)
    );
    for (lead, d) in rec.leads.iter().zip(&digital) {
        let checksum = d
            .iter()
            .fold(0i64, |acc, &v| acc.wrapping_add(i64::from(v)))
            .rem_euclid(65536) as i16;
        let init = d.first().copied().unwrap_or(0);
        let _ = writeln!(
            hea,
            "{dat_name} 16 {GAIN}(0)/mV 16 0 {init} {checksum} 0 {}",
            lead.name.replace(['\n', '\r'], " ")
        );
    }
    if let Some(age) = rec.patient.age_years {
        let _ = writeln!(hea, "# Age: {age}");
    }
    if let Some(sex) = rec.patient.sex {
        let _ = writeln!(
            hea,
            "# Sex: {}",
            if sex == Sex::Female { "Female" } else { "Male" }
        );
    }
    for lead in rec.leads.iter().filter(|l| l.derived) {
        let _ = writeln!(hea, "# {} derived", lead.name);
    }
    if !overwrite && (hea_path.exists() || dat_path.exists()) {
        return Err(FormatError::io(
            hea_path,
            std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "record exists (refusing to overwrite)",
            ),
        ));
    }
    super::write_atomic(&dat_path, &dat, true)?;
    super::write_atomic(hea_path, hea.as_bytes(), true)?;
    Ok(())
}

fn fmt_rate(hz: f64) -> String {
    if (hz - hz.round()).abs() < 1e-9 {
        format!("{}", hz.round() as i64)
    } else {
        format!("{hz}")
    }
}

/// Names of the samples files a header refers to (for tools that copy records).
pub fn signal_files(hea: &Path) -> Result<Vec<String>, FormatError> {
    let text = read_header_text(hea)?;
    let header = parse_header(&text, hea)?;
    let mut files: Vec<String> = Vec::new();
    for s in header.signals {
        if !files.contains(&s.file_name) {
            files.push(s.file_name);
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_212_pairs() {
        // Two samples: 0x123 and -1 (0xFFF) packed per the spec.
        let bytes = [0x23, 0xF1, 0xFF];
        let v = decode(212, &bytes, 2);
        assert_eq!(v, vec![Some(0x123), Some(-1)]);
    }

    #[test]
    fn decodes_311_triplets() {
        let w: u32 = 5 | (0x3FF << 10) | (7 << 20);
        let v = decode(311, &w.to_le_bytes(), 3);
        assert_eq!(v, vec![Some(5), Some(-1), Some(7)]);
    }

    #[test]
    fn parses_header_fields() {
        let text = "rec 2 500 1000 12:00:01 05/06/2020\nrec.dat 16+24 200(5)/uV 16 0 0 0 0 I\nrec.dat 16 0 16 3 0 0 0 II\n# Age: 61\n# Sex: F\n";
        let h = parse_header(text, Path::new("rec.hea")).unwrap();
        assert_eq!(h.n_signals, 2);
        assert_eq!(h.frame_rate_hz, 500.0);
        assert_eq!(h.n_samples, Some(1000));
        assert_eq!(h.signals[0].byte_offset, 24);
        assert_eq!(h.signals[0].baseline, 5);
        assert_eq!(h.signals[0].units, "uV");
        assert_eq!(h.signals[1].gain_adu_per_unit, 200.0);
        assert_eq!(h.signals[1].baseline, 3);
        let p = patient_from_comments(&h.comments);
        assert_eq!(p.age_years, Some(61.0));
        assert_eq!(p.sex, Some(Sex::Female));
        assert_eq!(
            acquisition_time(h.base_date.as_deref(), h.base_time.as_deref()).as_deref(),
            Some("2020-06-05T12:00:01")
        );
    }

    #[test]
    fn ptbxl_table_rows_are_read_once_and_again_when_the_table_changes() {
        let dir = std::env::temp_dir().join(format!("ecgcore-ptbxl-table-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let table = dir.join("labels.csv");
        // A short row before the wanted one is skipped, not the end of the search.
        std::fs::write(
            &table,
            "ecg_id,patient_id,age,sex\n7\n12,15709.0,56,1\n13,1.0,300,0\n",
        )
        .unwrap();
        let p = ptbxl_row(&table, 12).unwrap();
        assert_eq!(p.id.as_deref(), Some("15709"));
        assert_eq!(p.age_years, Some(56.0));
        assert_eq!(p.sex, Some(Sex::Female));
        // Age 300 ("over 89") is out of range and left out.
        assert_eq!(ptbxl_row(&table, 13).unwrap().age_years, None);
        assert!(ptbxl_row(&table, 99).is_none());
        // The cache keeps one parse per file version: a changed table is read again.
        std::fs::write(&table, "ecg_id,patient_id,age,sex\n12,15709.0,57,0\n").unwrap();
        let p = ptbxl_row(&table, 12).unwrap();
        assert_eq!((p.age_years, p.sex), (Some(57.0), Some(Sex::Male)));
        assert!(ptbxl_row(&table, 13).is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
