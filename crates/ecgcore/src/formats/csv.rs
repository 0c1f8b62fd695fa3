//! CSV ECGs: one row per sample, one column per lead, a header row naming the leads.
//!
//! Accepted: comma, semicolon or tab separators; an optional leading time column
//! (`time`, `t`, `time_s`, `time_ms`, `sec`, `ms`) from which the sample rate is derived;
//! an optional `sample`/`index` column (ignored); units in the column names
//! (`I (mV)`, `II [uV]`, `V1_uV`) or from [`OpenOptions::mv_per_unit`]; comment lines
//! starting with `#`, where `# sample_rate_hz: 500` (or `fs=500`) states the rate.
//! Empty cells or `NaN` become missing samples. Without a time column, a rate comment or
//! `OpenOptions::sample_rate_hz`, the file is refused (the rate is never guessed).
//! Writing produces `time_s` + one column per lead in mV with a rate comment.

use super::{limits, read_capped, FormatError, OpenOptions, Reader};
use crate::recording::{Lead, Provenance, Recording};
use std::fmt::Write as _;
use std::path::Path;

const FORMAT: &str = "CSV";

/// Reader for CSV ECGs.
pub struct CsvReader;

impl Reader for CsvReader {
    fn name(&self) -> &'static str {
        FORMAT
    }

    fn read(
        &self,
        path: &Path,
        head: &[u8],
        options: &OpenOptions,
    ) -> Result<Recording, FormatError> {
        if !looks_like_csv(head) {
            return Err(FormatError::Incompatible {
                format: FORMAT,
                path: path.to_path_buf(),
            });
        }
        let bytes = read_capped(path, limits::MAX_FILE_BYTES)?;
        let text = String::from_utf8(bytes)
            .map_err(|_| FormatError::invalid(FORMAT, path, "not UTF-8 text"))?;
        parse(&text, path, options)
    }
}

/// Text whose first data-ish line splits into ≥ 2 fields, with a numeric line after it.
fn looks_like_csv(head: &[u8]) -> bool {
    if head.contains(&0) {
        return false;
    }
    let text = String::from_utf8_lossy(head);
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'));
    let Some(header) = lines.next() else {
        return false;
    };
    if header.starts_with('<') || header.starts_with('{') {
        return false;
    }
    let sep = detect_separator(header);
    let n_fields = split_csv_line(header, sep).len();
    if n_fields < 1 {
        return false;
    }
    lines.next().is_some_and(|row| {
        let fields = split_csv_line(row, sep);
        fields.len() == n_fields
            && fields
                .iter()
                .all(|f| f.is_empty() || f.parse::<f64>().is_ok())
    })
}

fn detect_separator(line: &str) -> char {
    [',', ';', '\t']
        .into_iter()
        .max_by_key(|c| line.matches(*c).count())
        .filter(|c| line.contains(*c))
        .unwrap_or(',')
}

/// Split one CSV line on `sep`, honouring double quotes (`""` inside quotes is a quote).
pub fn split_csv_line(line: &str, sep: char) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut in_quotes = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if in_quotes && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => in_quotes = !in_quotes,
            c if c == sep && !in_quotes => {
                fields.push(std::mem::take(&mut field).trim().to_string());
            }
            c => field.push(c),
        }
    }
    fields.push(field.trim().to_string());
    fields
}

/// Column kinds found in the header row.
enum Column {
    TimeSeconds,
    TimeMillis,
    Ignored,
    Lead {
        name: String,
        mv_per_unit: Option<f64>,
    },
}

fn classify(name: &str) -> Column {
    let lower = name.trim().to_ascii_lowercase();
    match lower.as_str() {
        "time" | "t" | "time_s" | "time (s)" | "time [s]" | "sec" | "seconds" | "s" => {
            return Column::TimeSeconds
        }
        "time_ms" | "time (ms)" | "time [ms]" | "ms" => return Column::TimeMillis,
        "sample" | "index" | "idx" | "n" | "" => return Column::Ignored,
        _ => {}
    }
    let (base, unit) = split_unit(name.trim());
    Column::Lead {
        name: base,
        mv_per_unit: unit,
    }
}

/// `I (mV)` → ("I", 1.0), `V1_uV` → ("V1", 0.001), `II` → ("II", None).
fn split_unit(name: &str) -> (String, Option<f64>) {
    let unit_of = |u: &str| match u.trim().to_ascii_lowercase().as_str() {
        "mv" => Some(1.0),
        "uv" | "µv" | "μv" => Some(1.0e-3),
        "v" => Some(1.0e3),
        _ => None,
    };
    for (open, close) in [('(', ')'), ('[', ']')] {
        if let (Some(a), true) = (name.rfind(open), name.ends_with(close)) {
            if let Some(f) = unit_of(&name[a + 1..name.len() - 1]) {
                return (name[..a].trim().to_string(), Some(f));
            }
        }
    }
    if let Some((base, u)) = name.rsplit_once('_') {
        if let Some(f) = unit_of(u) {
            return (base.to_string(), Some(f));
        }
    }
    (name.to_string(), None)
}

fn rate_from_comment(line: &str) -> Option<f64> {
    let body = line.trim_start_matches('#').trim();
    let (key, value) = body.split_once([':', '='])?;
    let key = key.trim().to_ascii_lowercase();
    if matches!(
        key.as_str(),
        "sample_rate_hz" | "sample rate" | "sampling_rate" | "fs" | "sample_rate" | "rate_hz"
    ) {
        value.trim().trim_end_matches("Hz").trim().parse().ok()
    } else {
        None
    }
}

fn parse(text: &str, path: &Path, options: &OpenOptions) -> Result<Recording, FormatError> {
    let bad = |reason: String| FormatError::invalid(FORMAT, path, reason);
    let mut comment_rate = None;
    let mut lines = text.lines().enumerate().filter_map(|(i, l)| {
        let l = l.trim();
        if l.starts_with('#') {
            if let Some(r) = rate_from_comment(l) {
                comment_rate = Some(r);
            }
            None
        } else if l.is_empty() {
            None
        } else {
            Some((i + 1, l))
        }
    });
    let (_, header_line) = lines.next().ok_or_else(|| bad("no header row".into()))?;
    let sep = detect_separator(header_line);
    let header_fields = split_csv_line(header_line, sep);
    // A first row of numbers is a sample, not lead names: reading it as names would
    // silently misread the file (names "-20", "-25", … and one sample lost).
    let filled: Vec<&str> = header_fields
        .iter()
        .map(|f| f.trim())
        .filter(|f| !f.is_empty())
        .collect();
    if !filled.is_empty() && filled.iter().all(|f| f.parse::<f64>().is_ok()) {
        return Err(bad(
            "the first row holds numbers, not lead names: the file has no header row; add a \
             first row naming the leads (e.g. I,II,III,aVR,aVL,aVF,V1,V2,V3,V4,V5,V6) and \
             give the sample rate (a `# sample_rate_hz:` line or --rate)"
                .into(),
        ));
    }
    let columns: Vec<Column> = header_fields.iter().map(|n| classify(n)).collect();
    let n_leads = columns
        .iter()
        .filter(|c| matches!(c, Column::Lead { .. }))
        .count();
    if n_leads == 0 {
        return Err(bad("the header row names no lead columns".into()));
    }
    if n_leads > limits::MAX_SIGNALS {
        return Err(FormatError::TooLarge {
            what: format!("{n_leads} columns, limit {}", limits::MAX_SIGNALS),
            path: path.to_path_buf(),
        });
    }
    let mut samples: Vec<Vec<f32>> = vec![Vec::new(); n_leads];
    let mut times_s: Vec<f64> = Vec::new();
    for (line_no, line) in lines {
        let fields = split_csv_line(line, sep);
        if fields.len() != columns.len() {
            return Err(bad(format!(
                "line {line_no} has {} fields, the header has {}",
                fields.len(),
                columns.len()
            )));
        }
        if samples[0].len().saturating_mul(n_leads) >= limits::MAX_TOTAL_SAMPLES {
            return Err(FormatError::TooLarge {
                what: format!("more than {} samples", limits::MAX_TOTAL_SAMPLES),
                path: path.to_path_buf(),
            });
        }
        let mut k = 0;
        for (field, column) in fields.iter().zip(&columns) {
            let value = || -> Result<f64, FormatError> {
                if field.is_empty() || field.eq_ignore_ascii_case("nan") {
                    Ok(f64::NAN)
                } else {
                    field
                        .parse::<f64>()
                        .map_err(|_| bad(format!("line {line_no}: {field:?} is not a number")))
                }
            };
            match column {
                Column::TimeSeconds => times_s.push(value()?),
                Column::TimeMillis => times_s.push(value()? / 1000.0),
                Column::Ignored => {}
                Column::Lead { .. } => {
                    samples[k].push(value()? as f32);
                    k += 1;
                }
            }
        }
    }
    if samples[0].len() < 2 {
        return Err(bad("fewer than two samples".into()));
    }
    let rate_from_time = if times_s.len() >= 2 {
        let span = times_s[times_s.len() - 1] - times_s[0];
        if !(span.is_finite() && span > 0.0) {
            return Err(bad("the time column does not increase".into()));
        }
        Some((times_s.len() - 1) as f64 / span)
    } else {
        None
    };
    let sample_rate_hz = rate_from_time
        .or(comment_rate)
        .or(options.sample_rate_hz)
        .ok_or_else(|| {
            bad("sample rate unknown: add a time column or a '# sample_rate_hz: N' line, or pass --rate".into())
        })?;
    let sample_rate_hz = if (sample_rate_hz - sample_rate_hz.round()).abs() < 1e-3 {
        sample_rate_hz.round()
    } else {
        sample_rate_hz
    };
    let mut leads = Vec::with_capacity(n_leads);
    let mut notes = Vec::new();
    for (column, mut values) in columns
        .iter()
        .filter_map(|c| match c {
            Column::Lead { name, mv_per_unit } => Some((name, *mv_per_unit)),
            _ => None,
        })
        .zip(samples)
    {
        let (name, unit) = column;
        let factor = unit.or(options.mv_per_unit).unwrap_or(1.0);
        if unit.is_none() && options.mv_per_unit.is_none() && leads.is_empty() {
            notes.push("units not stated; values taken as mV".to_string());
        }
        if (factor - 1.0).abs() > f64::EPSILON {
            for v in &mut values {
                *v = (f64::from(*v) * factor) as f32;
            }
        }
        leads.push(Lead::new(name.clone(), values));
    }
    Ok(Recording {
        leads,
        sample_rate_hz,
        provenance: Provenance {
            format: FORMAT.into(),
            path: path.to_path_buf(),
            original_sample_rate_hz: sample_rate_hz,
            notes,
            ..Provenance::default()
        },
        ..Recording::default()
    })
}

/// CSV text for `rec`: a rate comment, `time_s` and one `<lead> (mV)` column per lead.
pub fn to_csv_string(rec: &Recording) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# sample_rate_hz: {}", rec.sample_rate_hz);
    out.push_str("time_s");
    for lead in &rec.leads {
        let _ = write!(out, ",{} (mV)", lead.name.replace([',', '"', '\n'], " "));
    }
    out.push('\n');
    for t in 0..rec.len_samples() {
        let _ = write!(out, "{:.6}", t as f64 / rec.sample_rate_hz);
        for lead in &rec.leads {
            let v = lead.samples_mv[t];
            if v.is_finite() {
                let _ = write!(out, ",{v}");
            } else {
                out.push(',');
            }
        }
        out.push('\n');
    }
    out
}

/// Write `rec` as CSV (atomically; refuses to overwrite unless `overwrite`).
///
/// # Errors
/// I/O errors naming the file; an invalid recording.
pub fn write_csv(rec: &Recording, path: &Path, overwrite: bool) -> Result<(), FormatError> {
    rec.validate().map_err(|error| FormatError::BadRecording {
        path: path.to_path_buf(),
        error,
    })?;
    super::write_atomic(path, to_csv_string(rec).as_bytes(), overwrite)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_quoted_fields() {
        assert_eq!(
            split_csv_line(r#"1,"a, b","say ""hi""",x"#, ','),
            vec!["1", "a, b", "say \"hi\"", "x"]
        );
    }

    #[test]
    fn reads_units_and_rate_from_time_column() {
        let text = "time_ms;I (uV);II\n0;1000;1\n2;2000;2\n4;;3\n";
        let rec = parse(text, Path::new("x.csv"), &OpenOptions::default()).unwrap();
        assert_eq!(rec.sample_rate_hz, 500.0);
        assert_eq!(rec.leads[0].name, "I");
        assert_eq!(rec.leads[0].samples_mv[..2], [1.0, 2.0]);
        assert!(rec.leads[0].samples_mv[2].is_nan());
        assert_eq!(rec.leads[1].samples_mv, vec![1.0, 2.0, 3.0]);
    }

    #[test]
    fn refuses_unknown_rate() {
        let err = parse(
            "I,II\n1,2\n3,4\n",
            Path::new("y.csv"),
            &OpenOptions::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("sample rate unknown"), "{err}");
        let ok = parse(
            "I,II\n1,2\n3,4\n",
            Path::new("y.csv"),
            &OpenOptions {
                sample_rate_hz: Some(250.0),
                ..OpenOptions::default()
            },
        )
        .unwrap();
        assert_eq!(ok.sample_rate_hz, 250.0);
    }

    #[test]
    fn ragged_rows_are_errors() {
        let err = parse(
            "# fs=100\nI,II\n1,2\n3\n",
            Path::new("z.csv"),
            &OpenOptions::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("line 4"), "{err}");
    }

    #[test]
    fn a_first_row_of_numbers_is_refused_not_read_as_lead_names() {
        // The shape of formats/contec_ecg/tools/0000050.ECG.csv: samples, no header row.
        let text = "-20,-25,-5,23,-7,-15,,,,,,\n-30,-34,-4,32,-13,-19,,,,,,\n";
        let err = parse(
            text,
            Path::new("0000050.ECG.csv"),
            &OpenOptions {
                sample_rate_hz: Some(500.0),
                ..OpenOptions::default()
            },
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("no header row"), "{err}");
        assert!(err.contains("0000050.ECG.csv"), "{err}");
        // A header of names with a number among them is still a header.
        let ok = parse(
            "I,II,3\n1,2,3\n4,5,6\n",
            Path::new("h.csv"),
            &OpenOptions {
                sample_rate_hz: Some(500.0),
                ..OpenOptions::default()
            },
        );
        assert!(ok.is_ok(), "{ok:?}");
    }
}
