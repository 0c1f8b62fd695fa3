//! WFDB (MIT-format) annotation files, e.g. LUDB's per-lead wave marks `N.i` … `N.v6`.
//!
//! Follows PhysioNet's "annot(5)" specification: a stream of 16-bit little-endian words,
//! each with a 6-bit annotation code `A` (high bits) and a 10-bit field `I`. For an
//! ordinary code, `I` is the time since the previous annotation (samples); the pseudo-codes
//! modify the annotation just read: `SKIP` (59, followed by a 32-bit interval in PDP-11
//! order: high word then low word), `NUM` (60), `SUB` (61), `CHN` (62) set its number,
//! subtype and channel, and `AUX` (63) attaches `I` bytes of text (padded to an even
//! length). `A = 0, I = 0` ends the file. Mnemonics are those of WFDB's `ecgcodes.h`
//! (`N` normal beat, `p`/`t` P and T wave peaks, `(`/`)` wave onset/offset, …).
//!
//! [`waves`] groups LUDB-style marks (`(` onset, peak `p`/`N`/`t`, `)` offset) into P,
//! QRS and T waves with sample indices. Untrusted input: bounded size, never panics.

use super::{read_capped, FormatError};
use std::path::Path;

const FORMAT: &str = "WFDB annotation";
/// Largest annotation file read (bytes).
const MAX_ANNOTATION_BYTES: u64 = 64 * 1024 * 1024;

const SKIP: u8 = 59;
const NUM: u8 = 60;
const SUB: u8 = 61;
const CHN: u8 = 62;
const AUX: u8 = 63;

/// WFDB annotation mnemonics by code (`ecgcodes.h`), "" where unassigned.
const MNEMONICS: [&str; 42] = [
    "", "N", "L", "R", "a", "V", "F", "J", "A", "S", "E", "j", "/", "Q", "~", "", "|", "", "s",
    "T", "*", "D", "\"", "=", "p", "B", "^", "t", "+", "u", "?", "!", "[", "]", "e", "n", "@", "x",
    "f", "(", ")", "r",
];

/// One annotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    /// Sample index from the start of the record.
    pub sample: u64,
    /// WFDB annotation code (1 = normal beat, 24 = P wave, 27 = T wave, 39 = `(`, 40 = `)`).
    pub code: u8,
    /// Mnemonic of the code ("N", "p", "t", "(", ")", …; "" when unassigned).
    pub symbol: &'static str,
    pub subtype: i16,
    pub channel: u16,
    pub num: i16,
    /// Auxiliary text (e.g. rhythm strings "(AFIB"), when present.
    pub aux: Option<String>,
}

/// Mnemonic for a WFDB annotation code.
pub fn mnemonic(code: u8) -> &'static str {
    MNEMONICS.get(usize::from(code)).copied().unwrap_or("")
}

/// Read an annotation file.
///
/// # Errors
/// I/O errors, files over 64 MiB, and malformed streams (truncated `SKIP`/`AUX`).
pub fn read_annotations(path: &Path) -> Result<Vec<Annotation>, FormatError> {
    let bytes = read_capped(path, MAX_ANNOTATION_BYTES)?;
    parse_annotations(&bytes, path)
}

/// Sign-extend a 10-bit field.
fn signed10(i: u16) -> i16 {
    if i & 0x200 != 0 {
        (i as i16) - 0x400
    } else {
        i as i16
    }
}

/// Parse an annotation byte stream (`path` only names the file in errors).
///
/// # Errors
/// A truncated `SKIP` or `AUX` field, or a time that overflows.
pub fn parse_annotations(bytes: &[u8], path: &Path) -> Result<Vec<Annotation>, FormatError> {
    let word_at = |pos: usize| -> Option<u16> {
        let b = bytes.get(pos..pos + 2)?;
        Some(u16::from_le_bytes([b[0], b[1]]))
    };
    let mut out: Vec<Annotation> = Vec::new();
    let mut time: u64 = 0;
    let mut pos = 0;
    let mut chan: u16 = 0;
    let mut num: i16 = 0;
    while let Some(word) = word_at(pos) {
        pos += 2;
        let a = (word >> 10) as u8;
        let i = word & 0x3ff;
        match a {
            0 if i == 0 => break,
            SKIP => {
                let (Some(hi), Some(lo)) = (word_at(pos), word_at(pos + 2)) else {
                    return Err(FormatError::invalid(
                        FORMAT,
                        path,
                        "truncated SKIP interval",
                    ));
                };
                pos += 4;
                let skip = (u32::from(hi) << 16 | u32::from(lo)) as i32;
                time = time.checked_add_signed(i64::from(skip)).ok_or_else(|| {
                    FormatError::invalid(FORMAT, path, "annotation time out of range")
                })?;
            }
            NUM => {
                num = signed10(i);
                if let Some(last) = out.last_mut() {
                    last.num = num;
                }
            }
            SUB => {
                if let Some(last) = out.last_mut() {
                    last.subtype = signed10(i);
                }
            }
            CHN => {
                chan = i;
                if let Some(last) = out.last_mut() {
                    last.channel = chan;
                }
            }
            AUX => {
                let len = usize::from(i);
                let Some(text) = bytes.get(pos..pos + len) else {
                    return Err(FormatError::invalid(FORMAT, path, "truncated AUX text"));
                };
                pos += len + (len & 1);
                let text = String::from_utf8_lossy(text)
                    .trim_end_matches('\0')
                    .to_string();
                if let Some(last) = out.last_mut() {
                    last.aux = Some(text);
                }
            }
            code => {
                time += u64::from(i);
                out.push(Annotation {
                    sample: time,
                    code,
                    symbol: mnemonic(code),
                    subtype: 0,
                    channel: chan,
                    num,
                    aux: None,
                });
            }
        }
    }
    Ok(out)
}

/// Which wave a mark belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WaveKind {
    P,
    Qrs,
    T,
}

/// One delineated wave: onset, peak and offset sample indices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wave {
    pub kind: WaveKind,
    pub onset: Option<u64>,
    pub peak: u64,
    pub offset: Option<u64>,
}

/// Group `(` peak `)` triplets into waves. The peak code decides the kind: `p` → P, `t` →
/// T, any beat code (`N`, `V`, `A`, …) → QRS; other codes are skipped. An onset counts
/// only when it immediately precedes the peak, an offset only when it immediately follows.
pub fn waves(annotations: &[Annotation]) -> Vec<Wave> {
    let mut out = Vec::new();
    for (k, ann) in annotations.iter().enumerate() {
        let kind = match ann.symbol {
            "p" => WaveKind::P,
            "t" => WaveKind::T,
            "N" | "L" | "R" | "a" | "V" | "F" | "J" | "A" | "S" | "E" | "j" | "/" | "Q" | "e"
            | "n" | "f" => WaveKind::Qrs,
            _ => continue,
        };
        let onset = k
            .checked_sub(1)
            .and_then(|j| annotations.get(j))
            .filter(|a| a.symbol == "(" && a.sample <= ann.sample)
            .map(|a| a.sample);
        let offset = annotations
            .get(k + 1)
            .filter(|a| a.symbol == ")" && a.sample >= ann.sample)
            .map(|a| a.sample);
        out.push(Wave {
            kind,
            onset,
            peak: ann.sample,
            offset,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(a: u8, i: u16) -> [u8; 2] {
        ((u16::from(a) << 10) | (i & 0x3ff)).to_le_bytes()
    }

    #[test]
    fn parses_ludb_style_triplets() {
        let mut b = Vec::new();
        for w in [word(39, 644), word(1, 18), word(40, 20), word(24, 100)] {
            b.extend_from_slice(&w);
        }
        b.extend_from_slice(&word(SKIP, 0));
        // 70 000 = 1 × 65 536 + 4 464, high word first.
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&4464u16.to_le_bytes());
        b.extend_from_slice(&word(27, 0));
        b.extend_from_slice(&word(AUX, 3));
        b.extend_from_slice(b"abc\0");
        b.extend_from_slice(&word(0, 0));
        let anns = parse_annotations(&b, Path::new("x")).unwrap();
        let samples: Vec<u64> = anns.iter().map(|a| a.sample).collect();
        assert_eq!(samples, vec![644, 662, 682, 782, 70_782]);
        let symbols: Vec<&str> = anns.iter().map(|a| a.symbol).collect();
        assert_eq!(symbols, vec!["(", "N", ")", "p", "t"]);
        assert_eq!(anns[4].aux.as_deref(), Some("abc"));
        let w = waves(&anns);
        assert_eq!(w.len(), 3);
        assert_eq!(
            w[0],
            Wave {
                kind: WaveKind::Qrs,
                onset: Some(644),
                peak: 662,
                offset: Some(682)
            }
        );
        assert_eq!(w[1].kind, WaveKind::P);
        assert_eq!(w[1].onset, None);
    }

    #[test]
    fn truncated_streams_are_errors_not_panics() {
        let mut b = Vec::new();
        b.extend_from_slice(&word(SKIP, 0));
        b.push(1);
        assert!(parse_annotations(&b, Path::new("x")).is_err());
        let mut b = Vec::new();
        b.extend_from_slice(&word(AUX, 10));
        b.extend_from_slice(b"ab");
        assert!(parse_annotations(&b, Path::new("x")).is_err());
        assert!(parse_annotations(&[1], Path::new("x")).unwrap().is_empty());
    }

    #[test]
    fn reads_a_ludb_file() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/ludb/data/1.ii");
        if !path.exists() {
            crate::testing::skip(&format!("LUDB not found at {}", path.display()));
            return;
        }
        let anns = read_annotations(&path).unwrap();
        let w = waves(&anns);
        // Record 1, lead II: python wfdb 4.3.1 `wfdb.rdann('1', 'ii')` gives 48 annotations,
        // the first at sample 644, with 6 QRS ('N') marks.
        assert_eq!(anns.len(), 48);
        assert_eq!(anns.first().map(|a| a.sample), Some(644));
        assert_eq!(w.iter().filter(|w| w.kind == WaveKind::Qrs).count(), 6);
        assert!(w.iter().all(|w| w.onset.is_some() && w.offset.is_some()));
    }
}
