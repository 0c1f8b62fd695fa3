//! SCP-ECG reader (Standard Communications Protocol for computer-assisted
//! electrocardiography, EN 1064:2005 / ISO 11073-91064:2009, protocol versions 1.x–2.x).
//!
//! A file is a 6-byte prefix (CRC-CCITT of the rest, file length) followed by sections,
//! each with a 16-byte header (CRC, id, length, versions). Section 0 points at the others.
//! Read here: 1 (patient and acquisition tags), 2 (Huffman tables; 19999 = the standard's
//! default table), 3 (lead definitions), 4 (reference-beat QRS locations), 5 (reference
//! beats = median beats), 6 (rhythm data), 7 (global measurements), 8 and 11
//! (interpretive statements). Sections 9 and 10 (manufacturer-specific data and per-lead
//! measurements) are noted, not interpreted.
//!
//! Decoding of sections 5 and 6 per lead: Huffman bit stream (MSB first; section-2 base
//! codes are stored bit-reversed) or raw little-endian 16-bit values, then undo first
//! (`x[n] = d[n] + x[n−1]`) or second (`x[n] = d[n] + 2x[n−1] − x[n−2]`) differences in
//! 16-bit wrapping arithmetic as encoders do, then, when section 3 says reference-beat
//! subtraction was used, add reference beat type 0 back over each subtraction zone of
//! section 4. Amplitudes: value × AVM (nanovolts) → millivolts. Bimodal compression
//! (decimated rhythm outside protected zones) is refused as unsupported.
//!
//! CRC mismatches are reported as provenance notes (the data is still read: many
//! devices write wrong CRCs), structural problems as errors. Every count read from the
//! file is bounded by the bytes actually present and by [`limits`].

use super::{limits, read_capped, FormatError, OpenOptions, Reader};
use crate::recording::{DeviceFindings, Lead, Patient, Recording, Sex};
use std::collections::HashMap;
use std::path::Path;

const FORMAT: &str = "SCP-ECG";
/// Value the standard uses for "not computed" in section 7.
const UNDEFINED: u16 = 29999;
/// Most Huffman tables / codes per table accepted from section 2.
const MAX_TABLES: usize = 256;
const MAX_CODES: usize = 1024;
/// Most statements kept from sections 8 and 11.
const MAX_STATEMENTS: usize = 256;

/// Reader for SCP-ECG files.
pub struct ScpReader;

impl Reader for ScpReader {
    fn name(&self) -> &'static str {
        FORMAT
    }

    fn read(
        &self,
        path: &Path,
        head: &[u8],
        _options: &OpenOptions,
    ) -> Result<Recording, FormatError> {
        if !looks_like_scp(head) {
            return Err(FormatError::Incompatible {
                format: FORMAT,
                path: path.to_path_buf(),
            });
        }
        let bytes = read_capped(path, limits::MAX_FILE_BYTES)?;
        parse(&bytes, path)
    }
}

/// Section 0 starts at byte 6 with id 0, and either carries "SCPECG" in its reserved
/// field or its first pointer is to itself (id 0 at index 7).
fn looks_like_scp(head: &[u8]) -> bool {
    if head.len() < 32 || u16_at(head, 8) != Some(0) {
        return false;
    }
    if head.get(16..22) == Some(b"SCPECG".as_slice()) {
        return true;
    }
    u16_at(head, 22) == Some(0) && u32_at(head, 28) == Some(7)
}

/// Parse SCP-ECG bytes held in memory (used by [`ScpReader`], property tests and fuzzing).
///
/// # Errors
/// [`FormatError::Incompatible`] when the bytes are not SCP-ECG, otherwise
/// [`FormatError::Invalid`] / [`FormatError::Unsupported`] naming the problem.
pub fn read_bytes(bytes: &[u8], path: &Path) -> Result<Recording, FormatError> {
    if !looks_like_scp(bytes) {
        return Err(FormatError::Incompatible {
            format: FORMAT,
            path: path.to_path_buf(),
        });
    }
    parse(bytes, path)
}

fn u8_at(b: &[u8], i: usize) -> Option<u8> {
    b.get(i).copied()
}
fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(i..i + 2)?.try_into().ok()?))
}
fn i16_at(b: &[u8], i: usize) -> Option<i16> {
    Some(i16::from_le_bytes(b.get(i..i + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

/// CRC-CCITT as SCP-ECG uses it (polynomial 0x1021, initial value 0xFFFF, MSB first).
pub fn crc_ccitt(bytes: &[u8]) -> u16 {
    const TABLE: [u16; 256] = {
        let mut t = [0u16; 256];
        let mut i = 0;
        while i < 256 {
            let mut crc = (i as u16) << 8;
            let mut k = 0;
            while k < 8 {
                crc = if crc & 0x8000 != 0 {
                    (crc << 1) ^ 0x1021
                } else {
                    crc << 1
                };
                k += 1;
            }
            t[i] = crc;
            i += 1;
        }
        t
    };
    let mut crc: u16 = 0xFFFF;
    for &b in bytes {
        let idx = usize::from((crc >> 8) as u8 ^ b);
        crc = (crc << 8) ^ TABLE[idx];
    }
    crc
}

/// One section: its id, versions and the bytes after its 16-byte header.
struct Section<'a> {
    body: &'a [u8],
}

struct Ctx<'a> {
    path: &'a Path,
    notes: Vec<String>,
}

impl Ctx<'_> {
    fn bad(&self, reason: impl Into<String>) -> FormatError {
        FormatError::invalid(FORMAT, self.path, reason)
    }
    fn unsupported(&self, what: impl Into<String>) -> FormatError {
        FormatError::Unsupported {
            format: FORMAT,
            what: what.into(),
            path: self.path.to_path_buf(),
        }
    }
}

fn parse(bytes: &[u8], path: &Path) -> Result<Recording, FormatError> {
    let mut ctx = Ctx {
        path,
        notes: Vec::new(),
    };
    let (Some(file_crc), Some(file_len)) = (u16_at(bytes, 0), u32_at(bytes, 2)) else {
        return Err(ctx.bad("file shorter than its 6-byte prefix"));
    };
    let file_len = file_len as usize;
    let data = if file_len > bytes.len() {
        ctx.notes.push(format!(
            "file is {} bytes but declares {file_len}: truncated?",
            bytes.len()
        ));
        bytes
    } else {
        if file_len < bytes.len() {
            ctx.notes.push(format!(
                "{} bytes after the declared end are ignored",
                bytes.len() - file_len
            ));
        }
        bytes.get(..file_len).unwrap_or(bytes)
    };
    if let Some(rest) = data.get(2..) {
        if file_len <= bytes.len() && crc_ccitt(rest) != file_crc {
            ctx.notes
                .push("file CRC mismatch (data may be damaged)".into());
        }
    }

    let sections = read_section_table(data, &mut ctx)?;
    let get = |id: usize| sections.get(id).and_then(Option::as_ref);

    let mut rec = Recording::default();
    let mut device = None;
    let mut filters = None;
    if let Some(s1) = get(1) {
        let info = parse_section1(s1.body, &mut ctx);
        rec.patient = info.patient;
        rec.provenance.acquisition_time = info.acquisition_time;
        device = info.device;
        filters = info.filters;
    } else {
        ctx.notes.push("no section 1 (patient data)".into());
    }
    let tables = match get(2) {
        Some(s2) => Some(parse_section2(s2.body, &ctx)?),
        None => None,
    };
    let s3 = get(3).ok_or_else(|| ctx.bad("no section 3 (lead definitions)"))?;
    let leads_def = parse_section3(s3.body, &ctx)?;
    let qrs = match get(4) {
        Some(s4) => Some(parse_section4(s4.body, &mut ctx)?),
        None => None,
    };

    // reference beats (section 5)
    let mut median: Option<Decoded> = None;
    if let Some(s5) = get(5) {
        let expected = qrs.as_ref().map(|q| q.ref_len_ms);
        match decode_section(
            s5.body,
            5,
            &leads_def,
            tables.as_deref(),
            expected.map(ExpectedLen::Ms),
            &mut ctx,
        ) {
            Ok(m) => median = Some(m),
            // without reference-beat subtraction the rhythm does not need them
            Err(e) if !leads_def.reference_beat_subtracted => {
                ctx.notes
                    .push(format!("reference beats (section 5) not shown: {e}"));
            }
            Err(e) => return Err(e),
        }
    }
    // rhythm (section 6)
    let s6 = get(6).ok_or_else(|| ctx.bad("no section 6 (rhythm data)"))?;
    let mut rhythm = decode_section(
        s6.body,
        6,
        &leads_def,
        tables.as_deref(),
        Some(ExpectedLen::Section3),
        &mut ctx,
    )?;
    if rhythm.bimodal {
        return Err(ctx.unsupported("bimodal compression of rhythm data"));
    }
    let mut rhythm_nv: Vec<Vec<f64>> = rhythm
        .leads
        .iter()
        .map(|l| {
            l.iter()
                .map(|&v| f64::from(v) * f64::from(rhythm.avm_nv))
                .collect()
        })
        .collect();
    if leads_def.reference_beat_subtracted {
        let (Some(q), Some(m)) = (&qrs, &median) else {
            return Err(ctx.bad(
                "section 3 says reference beats were subtracted but section 4 or 5 is missing",
            ));
        };
        if m.interval_us != rhythm.interval_us {
            return Err(ctx.unsupported("reference beat and rhythm data at different sample rates"));
        }
        add_reference_beats(&mut rhythm_nv, &leads_def, q, m).map_err(|e| ctx.bad(e))?;
        ctx.notes.push(
            "rhythm data stored as residual after reference-beat subtraction (restored)".into(),
        );
    }

    if rhythm.interval_us == 0 {
        return Err(ctx.bad("section 6 sample interval is 0"));
    }
    let rate_hz = 1.0e6 / f64::from(rhythm.interval_us);
    // align leads on section 3's sample numbers (leads may start at different samples)
    let first = leads_def.leads.iter().map(|l| l.start).min().unwrap_or(1);
    let n_total = rhythm
        .leads
        .iter()
        .zip(&leads_def.leads)
        .map(|(l, d)| (d.start - first) as usize + l.len())
        .max()
        .unwrap_or(0);
    // leads recorded one group after another start at later samples, but together they
    // never span more samples than they hold: a lying start cannot inflate the recording
    let held: usize = rhythm.leads.iter().map(Vec::len).sum();
    if n_total > held.max(1) {
        return Err(ctx.bad(format!(
            "section 3 lead start samples spread the leads over {n_total} samples, more than the {held} the file holds"
        )));
    }
    if n_total.saturating_mul(leads_def.leads.len()) > limits::MAX_TOTAL_SAMPLES {
        return Err(FormatError::TooLarge {
            what: format!("{n_total} samples × {} leads", leads_def.leads.len()),
            path: path.to_path_buf(),
        });
    }
    for (i, (samples_nv, d)) in rhythm_nv.iter().zip(&leads_def.leads).enumerate() {
        let mut mv = vec![f32::NAN; n_total];
        let offset = (d.start - first) as usize;
        for (dst, &v) in mv.iter_mut().skip(offset).zip(samples_nv) {
            *dst = (v * 1e-6) as f32;
        }
        let name = lead_name(d.id, i);
        rec.leads.push(Lead::new(name, mv));
    }
    rhythm.leads.clear();

    if let Some(m) = &median {
        if m.interval_us == rhythm.interval_us && m.leads.iter().any(|l| !l.is_empty()) {
            let n = m.leads.iter().map(Vec::len).max().unwrap_or(0);
            let beats = m
                .leads
                .iter()
                .zip(&leads_def.leads)
                .enumerate()
                .map(|(i, (l, d))| {
                    let mut mv: Vec<f32> = l
                        .iter()
                        .map(|&v| (f64::from(v) * f64::from(m.avm_nv) * 1e-6) as f32)
                        .collect();
                    mv.resize(n, f32::NAN);
                    Lead::new(lead_name(d.id, i), mv)
                })
                .collect();
            rec.median_beats = Some(beats);
        } else if m.interval_us != rhythm.interval_us {
            ctx.notes.push(format!(
                "reference beats at {} µs per sample differ from the rhythm rate; not shown",
                m.interval_us
            ));
        }
    }

    let mut findings = DeviceFindings::default();
    if let Some(s7) = get(7) {
        parse_section7(s7.body, &mut findings);
    }
    for id in [8usize, 11] {
        if let Some(s) = get(id) {
            parse_statements(s.body, id == 11, &mut findings);
        }
    }
    for id in [9usize, 10] {
        if get(id).is_some() {
            ctx.notes
                .push(format!("section {id} present, not interpreted"));
        }
    }

    rec.sample_rate_hz = rate_hz;
    rec.device_findings = findings;
    rec.provenance.format = FORMAT.into();
    rec.provenance.path = path.to_path_buf();
    rec.provenance.original_sample_rate_hz = rate_hz;
    rec.provenance.device = device;
    rec.provenance.device_filters = filters;
    rec.provenance.notes = ctx.notes;
    // Many devices store 8 leads (I, II, V1–V6): the other limb leads are derived, and
    // labelled so, as for MUSE files.
    rec.derive_missing_limb_leads();
    rec.order_standard_leads();
    Ok(rec)
}

/// Sections 0–11 by id (`None` where absent).
fn read_section_table<'a>(
    data: &'a [u8],
    ctx: &mut Ctx,
) -> Result<Vec<Option<Section<'a>>>, FormatError> {
    let s0 = read_section_at(data, 6, 0, ctx)?;
    let mut out: Vec<Option<Section>> = (0..12).map(|_| None).collect();
    let n = s0.body.len() / 10;
    for k in 0..n {
        let base = k * 10;
        let (Some(id), Some(len), Some(index)) = (
            u16_at(s0.body, base),
            u32_at(s0.body, base + 2),
            u32_at(s0.body, base + 6),
        ) else {
            break;
        };
        let id = usize::from(id);
        // the first pointer to each section wins (duplicates would only cost CRC time)
        if id == 0 || len == 0 || index == 0 || out.get(id).is_none_or(Option::is_some) {
            continue;
        }
        let start = index as usize - 1;
        match read_section_at(data, start, id, ctx) {
            Ok(s) => {
                if let Some(slot) = out.get_mut(id) {
                    *slot = Some(s);
                }
            }
            Err(e) => {
                // sections needed for the signal are checked later; others only noted
                if matches!(id, 2..=6) {
                    return Err(e);
                }
                ctx.notes
                    .push(format!("section {id} unreadable, ignored ({e})"));
            }
        }
    }
    Ok(out)
}

fn read_section_at<'a>(
    data: &'a [u8],
    start: usize,
    id: usize,
    ctx: &mut Ctx,
) -> Result<Section<'a>, FormatError> {
    let (Some(crc), Some(sid), Some(len)) = (
        u16_at(data, start),
        u16_at(data, start + 2),
        u32_at(data, start + 4),
    ) else {
        return Err(ctx.bad(format!(
            "section {id} lies outside the file (offset {start})"
        )));
    };
    if usize::from(sid) != id {
        return Err(ctx.bad(format!(
            "section pointer {id} leads to a section with id {sid} (offset {start})"
        )));
    }
    let len = len as usize;
    if len < 16 {
        return Err(ctx.bad(format!(
            "section {id} length {len} is shorter than its header"
        )));
    }
    let end = start
        .checked_add(len)
        .filter(|&e| e <= data.len())
        .ok_or_else(|| {
            ctx.bad(format!(
                "section {id} ({len} bytes at offset {start}) runs past the end of the file"
            ))
        })?;
    let whole = data.get(start..end).unwrap_or(&[]);
    if whole.get(2..).is_some_and(|r| crc_ccitt(r) != crc) {
        ctx.notes.push(format!("section {id} CRC mismatch"));
    }
    Ok(Section {
        body: whole.get(16..).unwrap_or(&[]),
    })
}

// ---------------------------------------------------------------- section 1

struct Section1 {
    patient: Patient,
    acquisition_time: Option<String>,
    device: Option<String>,
    filters: Option<String>,
}

fn text_from(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let raw = bytes.get(..end).unwrap_or(&[]);
    match std::str::from_utf8(raw) {
        Ok(s) => s.trim().to_string(),
        Err(_) => raw
            .iter()
            .map(|&b| char::from(b))
            .collect::<String>()
            .trim()
            .to_string(),
    }
}

fn parse_section1(body: &[u8], ctx: &mut Ctx) -> Section1 {
    let mut patient = Patient::default();
    let mut date = None;
    let mut time = None;
    let mut device = None;
    let mut filters = Vec::new();
    let mut age_unit_note = None;
    let mut pos = 0usize;
    while let (Some(tag), Some(len)) = (u8_at(body, pos), u16_at(body, pos + 1)) {
        if tag == 255 {
            break;
        }
        let len = usize::from(len);
        let Some(value) = body.get(pos + 3..pos + 3 + len) else {
            ctx.notes.push(format!("section 1 tag {tag} is truncated"));
            break;
        };
        match tag {
            2 => {
                let id = text_from(value);
                if !id.is_empty() {
                    patient.id = Some(id);
                }
            }
            4 => {
                if let (Some(age), Some(unit)) = (u16_at(value, 0), u8_at(value, 2)) {
                    let years = match unit {
                        0 | 1 => Some(f32::from(age)),
                        2 => Some(f32::from(age) / 12.0),
                        3 => Some(f32::from(age) * 7.0 / 365.25),
                        4 => Some(f32::from(age) / 365.25),
                        5 => Some(f32::from(age) / 8766.0),
                        _ => None,
                    };
                    if age > 0 || unit > 1 {
                        patient.age_years = years.filter(|y| (0.0..=150.0).contains(y));
                    }
                    if unit == 0 && age > 0 {
                        age_unit_note = Some("age unit not specified; read as years");
                    }
                }
            }
            5 => {
                if let (Some(y), Some(m), Some(d)) =
                    (u16_at(value, 0), u8_at(value, 2), u8_at(value, 3))
                {
                    if (1800..=2200).contains(&y) && (1..=12).contains(&m) && (1..=31).contains(&d)
                    {
                        patient.birth_date = Some(format!("{y:04}-{m:02}-{d:02}"));
                    }
                }
            }
            8 => {
                patient.sex = match u8_at(value, 0) {
                    Some(1) => Some(Sex::Male),
                    Some(2) => Some(Sex::Female),
                    _ => None,
                };
            }
            14 => device = device_from_tag14(value),
            31 => {
                let seq = text_from(value);
                if !seq.is_empty() {
                    ctx.notes.push(format!("ECG sequence number {seq}"));
                }
            }
            25 => {
                if let (Some(y), Some(m), Some(d)) =
                    (u16_at(value, 0), u8_at(value, 2), u8_at(value, 3))
                {
                    if (1900..=2200).contains(&y) && (1..=12).contains(&m) && (1..=31).contains(&d)
                    {
                        date = Some(format!("{y:04}-{m:02}-{d:02}"));
                    }
                }
            }
            26 => {
                if let (Some(h), Some(mi), Some(s)) =
                    (u8_at(value, 0), u8_at(value, 1), u8_at(value, 2))
                {
                    if h < 24 && mi < 60 && s < 61 {
                        time = Some(format!("{h:02}:{mi:02}:{s:02}"));
                    }
                }
            }
            27 => {
                if let Some(v) = u16_at(value, 0).filter(|&v| v != 0 && v != 0xFFFF) {
                    filters.push(format!("high-pass {} Hz", f64::from(v) / 100.0));
                }
            }
            28 => {
                if let Some(v) = u16_at(value, 0).filter(|&v| v != 0 && v != 0xFFFF) {
                    filters.push(format!("low-pass {v} Hz"));
                }
            }
            29 => {
                if let Some(bits) = u8_at(value, 0) {
                    if bits & 1 != 0 {
                        filters.push("60 Hz notch".into());
                    }
                    if bits & 2 != 0 {
                        filters.push("50 Hz notch".into());
                    }
                    if bits & 4 != 0 {
                        filters.push("artefact filter".into());
                    }
                    if bits & 8 != 0 {
                        filters.push("baseline filter".into());
                    }
                }
            }
            _ => {}
        }
        pos += 3 + len;
    }
    if let Some(n) = age_unit_note {
        ctx.notes.push(n.into());
    }
    let acquisition_time = match (date, time) {
        (Some(d), Some(t)) => Some(format!("{d}T{t}")),
        (Some(d), None) => Some(d),
        _ => None,
    };
    if patient.age_years.is_none() {
        if let (Some(b), Some(a)) = (&patient.birth_date, &acquisition_time) {
            patient.age_years = super::edf::age_years(b, a);
        }
    }
    Section1 {
        patient,
        acquisition_time,
        device,
        filters: (!filters.is_empty()).then(|| filters.join(", ")),
    }
}

/// Tag 14 (acquiring device): model at bytes 8–13, then after byte 35 NUL-separated
/// strings: analysing program, serial number, software, SCP implementation, manufacturer.
fn device_from_tag14(value: &[u8]) -> Option<String> {
    let model = value.get(8..14).map(text_from).unwrap_or_default();
    let strings: Vec<String> = value
        .get(36..)
        .unwrap_or(&[])
        .split(|&b| b == 0)
        .map(text_from)
        .collect();
    let manufacturer = strings.get(4).cloned().unwrap_or_default();
    let software = strings.get(2).cloned().unwrap_or_default();
    let mut parts: Vec<String> = [manufacturer, model]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    if !software.is_empty() {
        parts.push(format!("(software {software})"));
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

// ---------------------------------------------------------------- section 2

/// One Huffman code: `prefix_bits` bits (MSB-first value `code`), then
/// `total_bits - prefix_bits` bits of two's-complement value, or a table switch.
#[derive(Debug, Clone, Copy)]
struct HuffCode {
    prefix_bits: u8,
    total_bits: u8,
    /// 1 = value, 0 = switch to table `value`.
    mode: u8,
    value: i16,
    code: u32,
}

struct HuffTable {
    by_code: HashMap<(u8, u32), HuffCode>,
    max_prefix: u8,
    /// When every prefix is ≤ 16 bits: the code for each `max_prefix`-bit window (the
    /// shortest matching prefix wins, as in bit-by-bit decoding).
    direct: Option<Vec<Option<HuffCode>>>,
}

impl HuffTable {
    fn new(codes: &[HuffCode]) -> HuffTable {
        let max_prefix = codes.iter().map(|c| c.prefix_bits).max().unwrap_or(0);
        let direct = (max_prefix <= 16).then(|| {
            let mut direct = vec![None; 1usize << max_prefix];
            let mut sorted: Vec<&HuffCode> = codes.iter().collect();
            sorted.sort_by_key(|c| std::cmp::Reverse(c.prefix_bits));
            for c in sorted {
                let shift = max_prefix - c.prefix_bits;
                let Some(first) = usize::try_from(c.code)
                    .ok()
                    .and_then(|v| v.checked_shl(u32::from(shift)))
                else {
                    continue;
                };
                for slot in direct.iter_mut().skip(first).take(1usize << shift) {
                    *slot = Some(*c);
                }
            }
            direct
        });
        HuffTable {
            by_code: codes
                .iter()
                .map(|c| ((c.prefix_bits, c.code), *c))
                .collect(),
            max_prefix,
            direct,
        }
    }
}

/// The default table of EN 1064 (section 2 value 19999).
fn default_table() -> HuffTable {
    let mut codes = vec![HuffCode {
        prefix_bits: 1,
        total_bits: 1,
        mode: 1,
        value: 0,
        code: 0,
    }];
    // ±1..±8: prefix of n ones then 0, then a sign bit
    for k in 1..=8u8 {
        let ones = (1u32 << k) - 1; // k ones
        let bits = k + 2;
        for (sign, v) in [(0u32, i16::from(k)), (1, -i16::from(k))] {
            codes.push(HuffCode {
                prefix_bits: bits,
                total_bits: bits,
                mode: 1,
                value: v,
                code: (ones << 2) | sign,
            });
        }
    }
    // escape codes: 1111111110 + 8-bit value, 1111111111 + 16-bit value
    codes.push(HuffCode {
        prefix_bits: 10,
        total_bits: 18,
        mode: 1,
        value: 0,
        code: 0b11_1111_1110,
    });
    codes.push(HuffCode {
        prefix_bits: 10,
        total_bits: 26,
        mode: 1,
        value: 0,
        code: 0b11_1111_1111,
    });
    HuffTable::new(&codes)
}

fn parse_section2(body: &[u8], ctx: &Ctx) -> Result<Vec<HuffTable>, FormatError> {
    let n = u16_at(body, 0).ok_or_else(|| ctx.bad("section 2 is empty"))?;
    if n == 19999 {
        return Ok(vec![default_table()]);
    }
    let n = usize::from(n);
    if n == 0 || n > MAX_TABLES {
        return Err(ctx.bad(format!("section 2 declares {n} Huffman tables")));
    }
    let mut tables = Vec::with_capacity(n);
    let mut pos = 2;
    for t in 0..n {
        let n_codes = usize::from(
            u16_at(body, pos)
                .ok_or_else(|| ctx.bad(format!("section 2 table {} truncated", t + 1)))?,
        );
        if n_codes == 0 || n_codes > MAX_CODES {
            return Err(ctx.bad(format!("section 2 table {} has {n_codes} codes", t + 1)));
        }
        pos += 2;
        let mut codes = Vec::with_capacity(n_codes);
        for _ in 0..n_codes {
            let (Some(prefix_bits), Some(total_bits), Some(mode), Some(value), Some(stored)) = (
                u8_at(body, pos),
                u8_at(body, pos + 1),
                u8_at(body, pos + 2),
                i16_at(body, pos + 3),
                u32_at(body, pos + 5),
            ) else {
                return Err(ctx.bad(format!("section 2 table {} truncated", t + 1)));
            };
            pos += 9;
            if prefix_bits == 0
                || prefix_bits > 32
                || total_bits < prefix_bits
                || total_bits - prefix_bits > 32
            {
                return Err(ctx.bad(format!(
                    "section 2 table {}: code of {prefix_bits} prefix / {total_bits} total bits",
                    t + 1
                )));
            }
            // stored with the first transmitted bit in the least significant position
            let mut code = 0u32;
            for i in 0..prefix_bits {
                code = (code << 1) | ((stored >> i) & 1);
            }
            codes.push(HuffCode {
                prefix_bits,
                total_bits,
                mode,
                value,
                code,
            });
        }
        tables.push(HuffTable::new(&codes));
    }
    Ok(tables)
}

struct BitReader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl BitReader<'_> {
    /// The next `n` ≤ 16 bits without consuming them (zeros past the end).
    fn peek(&self, n: u8) -> u32 {
        let byte = self.pos / 8;
        let mut window = 0u32;
        for k in 0..3 {
            window = (window << 8) | u32::from(self.bytes.get(byte + k).copied().unwrap_or(0));
        }
        let shifted = window << (self.pos % 8) & 0x00FF_FFFF;
        shifted >> (24 - u32::from(n))
    }
    fn remaining(&self) -> usize {
        (self.bytes.len() * 8).saturating_sub(self.pos)
    }
    fn bit(&mut self) -> Option<u32> {
        let byte = self.bytes.get(self.pos / 8)?;
        let b = (byte >> (7 - (self.pos % 8))) & 1;
        self.pos += 1;
        Some(u32::from(b))
    }
    fn bits(&mut self, n: u8) -> Option<u64> {
        let mut v = 0u64;
        for _ in 0..n {
            v = (v << 1) | u64::from(self.bit()?);
        }
        Some(v)
    }
}

/// Decode up to `count` values (all complete codes when `count` is `None`).
fn huffman_decode(
    data: &[u8],
    count: Option<usize>,
    tables: &[HuffTable],
    what: &str,
    ctx: &Ctx,
) -> Result<Vec<i32>, FormatError> {
    let cap = count
        .unwrap_or(data.len() * 8)
        .min(limits::MAX_TOTAL_SAMPLES);
    let mut out = Vec::with_capacity(cap.min(data.len() * 8));
    let mut r = BitReader {
        bytes: data,
        pos: 0,
    };
    let mut table_idx = 0usize;
    let mut switches = 0usize;
    while out.len() < cap {
        let table = tables.get(table_idx).ok_or_else(|| {
            ctx.bad(format!(
                "{what}: switch to missing Huffman table {}",
                table_idx + 1
            ))
        })?;
        let mut code = 0u32;
        let mut len = 0u8;
        let entry = if let Some(direct) = &table.direct {
            let window = r.peek(table.max_prefix) as usize;
            let Some(e) = direct.get(window).copied().flatten() else {
                if r.remaining() < usize::from(table.max_prefix) {
                    // trailing padding or a cut stream
                    return match count {
                        None => Ok(out),
                        Some(c) => Err(ctx.bad(format!(
                            "{what}: Huffman data ends after {} of {c} samples",
                            out.len()
                        ))),
                    };
                }
                return Err(ctx.bad(format!("{what}: invalid Huffman code at bit {}", r.pos)));
            };
            if r.remaining() < usize::from(e.prefix_bits) {
                return match count {
                    None => Ok(out),
                    Some(c) => Err(ctx.bad(format!(
                        "{what}: Huffman data ends after {} of {c} samples",
                        out.len()
                    ))),
                };
            }
            r.pos += usize::from(e.prefix_bits);
            e
        } else {
            loop {
                let Some(bit) = r.bit() else {
                    return match count {
                        None => Ok(out),
                        Some(c) => Err(ctx.bad(format!(
                            "{what}: Huffman data ends after {} of {c} samples",
                            out.len()
                        ))),
                    };
                };
                code = (code << 1) | bit;
                len += 1;
                if let Some(e) = table.by_code.get(&(len, code)) {
                    break *e;
                }
                if len >= table.max_prefix {
                    return Err(ctx.bad(format!("{what}: invalid Huffman code at bit {}", r.pos)));
                }
            }
        };
        if entry.mode == 0 {
            switches += 1;
            if switches > cap + 16 {
                return Err(ctx.bad(format!("{what}: endless Huffman table switches")));
            }
            table_idx = usize::try_from(i32::from(entry.value) - 1).unwrap_or(usize::MAX);
            continue;
        }
        let extra = entry.total_bits - entry.prefix_bits;
        let mut value = i64::from(entry.value);
        if extra > 0 {
            let Some(raw) = r.bits(extra) else {
                return match count {
                    None => Ok(out),
                    Some(c) => Err(ctx.bad(format!(
                        "{what}: Huffman data ends after {} of {c} samples",
                        out.len()
                    ))),
                };
            };
            let signed = if raw >= 1u64 << (extra - 1) {
                raw as i64 - (1i64 << extra)
            } else {
                raw as i64
            };
            value += signed;
        }
        out.push(value.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32);
    }
    Ok(out)
}

// ---------------------------------------------------------------- section 3 / 4

struct LeadDef {
    start: u32,
    end: u32,
    id: u8,
}

struct LeadDefs {
    leads: Vec<LeadDef>,
    reference_beat_subtracted: bool,
}

fn parse_section3(body: &[u8], ctx: &Ctx) -> Result<LeadDefs, FormatError> {
    let (Some(n), Some(flags)) = (u8_at(body, 0), u8_at(body, 1)) else {
        return Err(ctx.bad("section 3 is too short"));
    };
    let n = usize::from(n);
    if n == 0 || n > limits::MAX_SIGNALS {
        return Err(ctx.bad(format!("section 3 declares {n} leads")));
    }
    let mut leads = Vec::with_capacity(n);
    for i in 0..n {
        let p = 2 + 9 * i;
        let (Some(start), Some(end), Some(id)) =
            (u32_at(body, p), u32_at(body, p + 4), u8_at(body, p + 8))
        else {
            return Err(ctx.bad(format!("section 3 declares {n} leads but holds {i}")));
        };
        // some writers number samples from 0 ([0, end)); the standard numbers from 1
        let start = start.max(1);
        if end < start {
            return Err(ctx.bad(format!("lead {} has sample range {start}–{end}", i + 1)));
        }
        leads.push(LeadDef { start, end, id });
    }
    Ok(LeadDefs {
        leads,
        reference_beat_subtracted: flags & 1 != 0,
    })
}

struct Qrs {
    beat_type: u16,
    start: u32,
    fiducial: u32,
    end: u32,
}

struct Section4 {
    ref_len_ms: u16,
    fiducial: u16,
    qrs: Vec<Qrs>,
}

fn parse_section4(body: &[u8], ctx: &mut Ctx) -> Result<Section4, FormatError> {
    let (Some(ref_len_ms), Some(fiducial), Some(n)) =
        (u16_at(body, 0), u16_at(body, 2), u16_at(body, 4))
    else {
        return Err(ctx.bad("section 4 is too short"));
    };
    let mut qrs = Vec::new();
    for k in 0..usize::from(n) {
        let p = 6 + 14 * k;
        let (Some(beat_type), Some(start), Some(fc), Some(end)) = (
            u16_at(body, p),
            u32_at(body, p + 2),
            u32_at(body, p + 6),
            u32_at(body, p + 10),
        ) else {
            ctx.notes.push(format!(
                "section 4 declares {n} QRS complexes but holds {k}"
            ));
            break;
        };
        qrs.push(Qrs {
            beat_type,
            start,
            fiducial: fc,
            end,
        });
    }
    Ok(Section4 {
        ref_len_ms,
        fiducial,
        qrs,
    })
}

// ---------------------------------------------------------------- sections 5 / 6

enum ExpectedLen {
    /// Reference beat length in milliseconds (section 4).
    Ms(u16),
    /// Section 3's sample range per lead.
    Section3,
}

struct Decoded {
    avm_nv: u16,
    interval_us: u16,
    bimodal: bool,
    leads: Vec<Vec<i32>>,
}

fn decode_section(
    body: &[u8],
    id: usize,
    defs: &LeadDefs,
    tables: Option<&[HuffTable]>,
    expected: Option<ExpectedLen>,
    ctx: &mut Ctx,
) -> Result<Decoded, FormatError> {
    let (Some(avm_nv), Some(interval_us), Some(diff), Some(bimodal)) = (
        u16_at(body, 0),
        u16_at(body, 2),
        u8_at(body, 4),
        u8_at(body, 5),
    ) else {
        return Err(ctx.bad(format!("section {id} is too short")));
    };
    if avm_nv == 0 {
        return Err(ctx.bad(format!("section {id} amplitude multiplier is 0")));
    }
    if interval_us == 0 {
        return Err(ctx.bad(format!("section {id} sample interval is 0")));
    }
    if diff > 2 {
        return Err(ctx.bad(format!(
            "section {id} difference encoding {diff} (expected 0–2)"
        )));
    }
    let n = defs.leads.len();
    let header = 6 + 2 * n;
    let mut lengths = Vec::with_capacity(n);
    for i in 0..n {
        lengths.push(usize::from(u16_at(body, 6 + 2 * i).ok_or_else(|| {
            ctx.bad(format!("section {id} lead lengths truncated"))
        })?));
    }
    let data = body.get(header..).unwrap_or(&[]);
    let declared: usize = lengths.iter().sum();
    if declared > data.len() {
        return Err(ctx.bad(format!(
            "section {id} lead data declares {declared} bytes but holds {}",
            data.len()
        )));
    }
    if tables.is_none() && declared < data.len() && data.len() - declared >= 2 * n && id == 6 {
        ctx.notes.push(format!(
            "section {id} holds {} bytes beyond the declared lead lengths (ignored)",
            data.len() - declared
        ));
    }
    let mut leads = Vec::with_capacity(n);
    let mut pos = 0usize;
    for (i, (&len, def)) in lengths.iter().zip(&defs.leads).enumerate() {
        let bytes = data.get(pos..pos + len).unwrap_or(&[]);
        pos += len;
        let want = match expected {
            Some(ExpectedLen::Section3) => Some((def.end - def.start) as usize + 1),
            Some(ExpectedLen::Ms(ms)) => Some(usize::from(ms) * 1000 / usize::from(interval_us)),
            None => None,
        };
        let what = format!("section {id} lead {}", i + 1);
        let mut values = match tables {
            Some(t) => huffman_decode(bytes, want, t, &what, ctx)?,
            None => bytes
                .chunks_exact(2)
                .map(|c| i32::from(i16::from_le_bytes([c[0], c.get(1).copied().unwrap_or(0)])))
                .collect(),
        };
        if let Some(w) = want {
            if tables.is_none() && values.len() != w && i == 0 {
                ctx.notes.push(format!(
                    "section {id} holds {} samples per lead where {w} are declared",
                    values.len()
                ));
            }
            values.truncate(w);
        }
        undo_differences(&mut values, diff);
        leads.push(values);
    }
    Ok(Decoded {
        avm_nv,
        interval_us,
        bimodal: bimodal != 0,
        leads,
    })
}

/// Undo first or second differences in 16-bit wrapping arithmetic (as encoders do).
fn undo_differences(values: &mut [i32], mode: u8) {
    match mode {
        1 => {
            let mut prev = 0i16;
            for (k, v) in values.iter_mut().enumerate() {
                let x = if k == 0 {
                    *v as i16
                } else {
                    prev.wrapping_add(*v as i16)
                };
                *v = i32::from(x);
                prev = x;
            }
        }
        2 => {
            let (mut x1, mut x2) = (0i16, 0i16);
            for (k, v) in values.iter_mut().enumerate() {
                let x = if k < 2 {
                    *v as i16
                } else {
                    (*v as i16)
                        .wrapping_add(x1.wrapping_mul(2))
                        .wrapping_sub(x2)
                };
                *v = i32::from(x);
                x2 = x1;
                x1 = x;
            }
        }
        _ => {}
    }
}

/// Add reference beat type 0 back over each subtraction zone (all in nanovolts).
/// Zones may not add up to more than twice the rhythm length (they do not overlap in a
/// valid file), which bounds the work a lying section 4 can cause.
fn add_reference_beats(
    rhythm_nv: &mut [Vec<f64>],
    defs: &LeadDefs,
    s4: &Section4,
    median: &Decoded,
) -> Result<(), String> {
    let fcm = i64::from(s4.fiducial);
    for ((signal, def), beat) in rhythm_nv.iter_mut().zip(&defs.leads).zip(&median.leads) {
        let mut budget = 2 * signal.len() + beat.len();
        for q in s4.qrs.iter().filter(|q| q.beat_type == 0) {
            let fc = i64::from(q.fiducial);
            let first = i64::from(q.start)
                .max(i64::from(def.start))
                .max(fc - fcm + 1);
            let last = i64::from(q.end)
                .min(i64::from(def.end))
                .min(fc - fcm + beat.len() as i64);
            let span = usize::try_from(last - first + 1).unwrap_or(0);
            budget = budget.checked_sub(span).ok_or_else(|| {
                format!(
                    "section 4 subtraction zones cover more than twice the {} rhythm samples",
                    signal.len()
                )
            })?;
            for j in first..=last {
                let r = j - i64::from(def.start);
                let m = fcm - fc + j - 1;
                let (Ok(r), Ok(m)) = (usize::try_from(r), usize::try_from(m)) else {
                    continue;
                };
                if let (Some(dst), Some(&b)) = (signal.get_mut(r), beat.get(m)) {
                    *dst += f64::from(b) * f64::from(median.avm_nv);
                }
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- sections 7 / 8 / 11

fn parse_section7(body: &[u8], findings: &mut DeviceFindings) {
    let (Some(n_blocks), Some(n_spikes), Some(rr), Some(pp)) = (
        u8_at(body, 0),
        u8_at(body, 1),
        u16_at(body, 2),
        u16_at(body, 4),
    ) else {
        return;
    };
    let ok = |v: u16| v != UNDEFINED && v != 0xFFFF && v != 0;
    let m = &mut findings.measurements;
    if ok(rr) {
        m.push(("RR interval".into(), format!("{rr} ms")));
        m.push((
            "Heart rate (from RR)".into(),
            format!("{:.0} bpm", 60_000.0 / f64::from(rr)),
        ));
    }
    if ok(pp) {
        m.push(("PP interval".into(), format!("{pp} ms")));
    }
    if n_blocks > 0 {
        let b = 6;
        let vals: Vec<Option<u16>> = (0..5).map(|k| u16_at(body, b + 2 * k)).collect();
        let axes: Vec<Option<i16>> = (0..3).map(|k| i16_at(body, b + 10 + 2 * k)).collect();
        if let [Some(p_on), Some(p_off), Some(qrs_on), Some(qrs_off), Some(t_off)] = vals[..] {
            if ok(p_on) && ok(qrs_on) && qrs_on >= p_on {
                m.push(("PR interval".into(), format!("{} ms", qrs_on - p_on)));
            }
            if ok(p_on) && ok(p_off) && p_off >= p_on {
                m.push(("P duration".into(), format!("{} ms", p_off - p_on)));
            }
            if ok(qrs_on) && ok(qrs_off) && qrs_off >= qrs_on {
                m.push(("QRS duration".into(), format!("{} ms", qrs_off - qrs_on)));
            }
            if ok(qrs_on) && ok(t_off) && t_off >= qrs_on {
                m.push(("QT interval".into(), format!("{} ms", t_off - qrs_on)));
            }
        }
        for (name, v) in ["P axis", "QRS axis", "T axis"].iter().zip(axes) {
            if let Some(v) = v.filter(|v| v.unsigned_abs() != UNDEFINED && v.unsigned_abs() != 999)
            {
                m.push(((*name).into(), format!("{v}°")));
            }
        }
    }
    // optional tail: QRS types, then ventricular rate, atrial rate, QTc, formula
    let mut pos = 6 + 16 * usize::from(n_blocks) + 10 * usize::from(n_spikes);
    if let Some(n_qrs) = u16_at(body, pos) {
        pos += 2 + usize::from(n_qrs);
        if let (Some(vent), Some(atrial), Some(qtc), Some(formula)) = (
            u16_at(body, pos),
            u16_at(body, pos + 2),
            u16_at(body, pos + 4),
            u8_at(body, pos + 6),
        ) {
            if ok(vent) {
                m.push(("Ventricular rate".into(), format!("{vent} bpm")));
            }
            if ok(atrial) {
                m.push(("Atrial rate".into(), format!("{atrial} bpm")));
            }
            if ok(qtc) {
                let name = match formula {
                    1 => "QTc (Bazett)",
                    2 => "QTc (Hodges)",
                    _ => "QTc",
                };
                m.push((name.into(), format!("{qtc} ms")));
            }
        }
    }
}

/// Sections 8 and 11: confirmed flag, date, time, count, then per statement a sequence
/// number, a u16 length and the text (section 11: a type byte first).
fn parse_statements(body: &[u8], universal: bool, findings: &mut DeviceFindings) {
    let Some(count) = u8_at(body, 8) else { return };
    let mut pos = 9usize;
    for _ in 0..count {
        let Some(len) = u16_at(body, pos + 1) else {
            return;
        };
        let len = usize::from(len);
        let Some(value) = body.get(pos + 3..pos + 3 + len) else {
            return;
        };
        pos += 3 + len;
        let value = if universal {
            value.get(1..).unwrap_or(&[])
        } else {
            value
        };
        let text: Vec<String> = value
            .split(|&b| b == 0)
            .map(text_from)
            .filter(|s| !s.is_empty())
            .collect();
        if !text.is_empty() && findings.statements.len() < MAX_STATEMENTS {
            findings.statements.push(text.join(" "));
        }
    }
}

/// Lead names of EN 1064 Table 2 (lead identification codes).
fn lead_name(id: u8, index: usize) -> String {
    let name = match id {
        1 => "I",
        2 => "II",
        3 => "V1",
        4 => "V2",
        5 => "V3",
        6 => "V4",
        7 => "V5",
        8 => "V6",
        9 => "V7",
        10 => "V2R",
        11 => "V3R",
        12 => "V4R",
        13 => "V5R",
        14 => "V6R",
        15 => "V7R",
        16 => "X",
        17 => "Y",
        18 => "Z",
        19 => "CC5",
        20 => "CM5",
        21 => "LA",
        22 => "RA",
        23 => "LL",
        24 => "fI",
        25 => "fE",
        26 => "fC",
        27 => "fA",
        28 => "fM",
        29 => "fF",
        30 => "fH",
        61 => "III",
        62 => "aVR",
        63 => "aVL",
        64 => "aVF",
        65 => "-aVR",
        66 => "V8",
        67 => "V9",
        68 => "V8R",
        69 => "V9R",
        70 => "D",
        71 => "A",
        72 => "J",
        86 => "dII",
        _ => return format!("lead {} (code {id})", index + 1),
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_known_value() {
        // CRC-CCITT (0xFFFF) of "123456789" is 0x29B1
        assert_eq!(crc_ccitt(b"123456789"), 0x29B1);
    }

    #[test]
    fn default_huffman_table_decodes() {
        let ctx = Ctx {
            path: Path::new("x.scp"),
            notes: Vec::new(),
        };
        // 0 | 100 | 101 | 1100 | 1111111110 00000011 → 0, 1, -1, 2, 3
        let bits = ["0", "100", "101", "1100", "1111111110", "00000011"].concat();
        let mut bytes = vec![0u8; bits.len().div_ceil(8)];
        for (i, c) in bits.chars().enumerate() {
            if c == '1' {
                bytes[i / 8] |= 0x80 >> (i % 8);
            }
        }
        let v = huffman_decode(&bytes, Some(5), &[default_table()], "t", &ctx).unwrap();
        assert_eq!(v, vec![0, 1, -1, 2, 3]);
    }

    #[test]
    fn second_differences_are_undone() {
        let x = [5i32, 7, 10, 14, 13];
        let mut d = vec![x[0], x[1]];
        for n in 2..x.len() {
            d.push(x[n] - 2 * x[n - 1] + x[n - 2]);
        }
        undo_differences(&mut d, 2);
        assert_eq!(d, x);
    }

    fn bits_to_bytes(bits: &str) -> Vec<u8> {
        let mut bytes = vec![0u8; bits.len().div_ceil(8)];
        for (i, c) in bits.chars().enumerate() {
            if c == '1' {
                bytes[i / 8] |= 0x80 >> (i % 8);
            }
        }
        bytes
    }

    /// Section-2 tables: base codes stored bit-reversed, 8-bit escapes and a switch to
    /// a second table (mode 0).
    #[test]
    fn section2_tables_with_reversed_codes_and_switch() {
        let ctx = Ctx {
            path: Path::new("x.scp"),
            notes: Vec::new(),
        };
        // (prefix bits, total bits, mode, value, code as transmitted)
        let table1 = [
            (1u8, 1u8, 1u8, 0i16, "0"),
            (2, 2, 1, 5, "10"),
            (3, 11, 1, 0, "110"),
            (3, 3, 0, 2, "111"),
        ];
        let table2 = [
            (1u8, 1u8, 1u8, -7i16, "1"),
            (2, 2, 0, 1, "01"),
            (2, 2, 1, 9, "00"),
        ];
        let mut body = 2u16.to_le_bytes().to_vec();
        for table in [&table1[..], &table2[..]] {
            body.extend_from_slice(&(table.len() as u16).to_le_bytes());
            for &(prefix, total, mode, value, code) in table {
                // stored with the first transmitted bit in the least significant position
                let stored = code
                    .chars()
                    .enumerate()
                    .fold(0u32, |acc, (i, c)| acc | (u32::from(c == '1') << i));
                body.extend_from_slice(&[prefix, total, mode]);
                body.extend_from_slice(&value.to_le_bytes());
                body.extend_from_slice(&stored.to_le_bytes());
            }
        }
        let tables = parse_section2(&body, &ctx).unwrap();
        assert_eq!(tables.len(), 2);
        // 0 | 10 | 110+11111101 (−3) | 111 → table 2: 1 (−7) | 00 (9) | 01 → table 1: 10 (5)
        let bits = ["0", "10", "110", "11111101", "111", "1", "00", "01", "10"].concat();
        let v = huffman_decode(&bits_to_bytes(&bits), Some(6), &tables, "t", &ctx).unwrap();
        assert_eq!(v, vec![0, 5, -3, -7, 9, 5]);
        // a stream of nothing but table switches ends with the stream, giving no values
        let switches = "11101".repeat(8);
        let v = huffman_decode(&bits_to_bytes(&switches), None, &tables, "t", &ctx).unwrap();
        assert!(v.is_empty());
        let too_many = [(1u8, 1u8, 1u8, 0i16, "0")];
        let mut body = 1u16.to_le_bytes().to_vec();
        body.extend_from_slice(&(too_many.len() as u16).to_le_bytes());
        body.extend_from_slice(&[40, 40, 1, 0, 0, 0, 0, 0, 0]);
        assert!(parse_section2(&body, &ctx).is_err());
    }

    /// Reference beat type 0 is added back over each subtraction zone, aligned on the
    /// fiducial points, with both sections' amplitude multipliers.
    #[test]
    fn reference_beat_is_added_back_on_fiducials() {
        let defs = LeadDefs {
            leads: vec![LeadDef {
                start: 1,
                end: 20,
                id: 1,
            }],
            reference_beat_subtracted: true,
        };
        // reference beat of 5 samples, fiducial at its 3rd sample (1-based)
        let median = Decoded {
            avm_nv: 1000,
            interval_us: 2000,
            bimodal: false,
            leads: vec![vec![1, 2, 10, 2, 1]],
        };
        let s4 = Section4 {
            ref_len_ms: 10,
            fiducial: 3,
            qrs: vec![
                Qrs {
                    beat_type: 0,
                    start: 4,
                    fiducial: 6,
                    end: 8,
                },
                Qrs {
                    beat_type: 1,
                    start: 12,
                    fiducial: 14,
                    end: 16,
                },
            ],
        };
        let mut rhythm = vec![vec![0.0f64; 20]];
        add_reference_beats(&mut rhythm, &defs, &s4, &median).unwrap();
        // samples 4..=8 (1-based) get the beat; the type-1 beat is left alone
        assert_eq!(
            &rhythm[0][2..9],
            &[0.0, 1000.0, 2000.0, 10000.0, 2000.0, 1000.0, 0.0]
        );
        assert!(rhythm[0][11..16].iter().all(|&v| v == 0.0));
        // zones that add up to far more than the rhythm are refused (bounded work)
        let many = Section4 {
            ref_len_ms: 10,
            fiducial: 3,
            qrs: (0..100)
                .map(|_| Qrs {
                    beat_type: 0,
                    start: 1,
                    fiducial: 6,
                    end: 20,
                })
                .collect(),
        };
        assert!(add_reference_beats(&mut rhythm, &defs, &many, &median).is_err());
    }
}
