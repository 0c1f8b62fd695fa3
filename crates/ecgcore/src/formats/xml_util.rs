//! Safe XML loading shared by the XML readers (HL7 aECG, GE MUSE, Philips Sierra).
//!
//! Untrusted XML is decoded to UTF-8 (UTF-8 with or without BOM, UTF-16 LE/BE with BOM or
//! detected from `<\0`, ISO-8859-1 / Windows-1252 when declared), then parsed by
//! `roxmltree` with a node cap and a nesting-depth cap. Document type declarations are
//! treated as hostile: a DOCTYPE with an internal subset (`[...]`) or any `<!ENTITY`
//! declaration is refused before parsing, so external entities (XXE) and entity expansion
//! ("billion laughs") cannot happen. A bare DOCTYPE naming an external DTD only (GE MUSE
//! writes `<!DOCTYPE RestingECG SYSTEM "restecg.dtd">`) is blanked out and never loaded.
//! Also here: small namespace-agnostic element lookups and a capped Base64 decoder.

use super::FormatError;
use roxmltree::{Document, Node, ParsingOptions};
use std::path::Path;

/// Largest XML file the XML readers load (bytes). Real resting ECG exports are < 2 MB;
/// long HL7 aECG Holter extracts can reach tens of MB.
pub const MAX_XML_BYTES: u64 = 256 * 1024 * 1024;
/// Most XML nodes (elements, text, ...) one document may hold.
pub const MAX_XML_NODES: u32 = 8_000_000;
/// Deepest element nesting accepted (real ECG XML is < 30 deep).
pub const MAX_XML_DEPTH: usize = 256;

/// Why an XML document could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum XmlError {
    #[error("text encoding: {0}")]
    Encoding(String),
    #[error(
        "document type declaration with internal subset or entity declarations refused \
         (external entities and entity expansion are not allowed)"
    )]
    DtdRefused,
    #[error("elements nested deeper than {MAX_XML_DEPTH} levels")]
    TooDeep,
    #[error("XML syntax: {0}")]
    Syntax(#[from] roxmltree::Error),
}

/// Decode raw file bytes to a UTF-8 string and neutralise a harmless external-only
/// DOCTYPE; refuses internal DTD subsets and entity declarations.
///
/// # Errors
/// [`XmlError::Encoding`] for undecodable text, [`XmlError::DtdRefused`] for DTDs.
pub fn decode_xml_text(bytes: &[u8]) -> Result<String, XmlError> {
    let mut text = decode_bytes(bytes)?;
    neutralise_doctype(&mut text)?;
    Ok(text)
}

/// Read an XML file (size-capped) and decode it to text, as [`decode_xml_text`].
///
/// # Errors
/// I/O, [`FormatError::TooLarge`], or [`FormatError::Invalid`] naming the XML problem.
pub fn load_text(path: &Path, format: &'static str) -> Result<String, FormatError> {
    let bytes = super::read_capped(path, MAX_XML_BYTES)?;
    decode_xml_text(&bytes).map_err(|e| invalid(format, path, &e))
}

/// An [`XmlError`] as a [`FormatError::Invalid`] naming the file.
pub fn invalid(format: &'static str, path: &Path, e: &XmlError) -> FormatError {
    FormatError::invalid(format, path, e.to_string())
}

/// Parse XML text with the node cap and a nesting-depth check.
///
/// # Errors
/// [`XmlError::Syntax`] (including the node cap and undefined entities),
/// [`XmlError::TooDeep`].
pub fn parse(text: &str) -> Result<Document<'_>, XmlError> {
    let opts = ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_XML_NODES,
        entity_resolver: None,
    };
    let doc = Document::parse_with_options(text, opts)?;
    // Depth check in O(n): descendants come in document order, parents first.
    let mut depth = vec![0u16; doc.descendants().len()];
    for node in doc.root().descendants() {
        let d = node
            .parent()
            .and_then(|p| depth.get(p.id().get_usize()).copied())
            .map_or(0, |d| d.saturating_add(1));
        if usize::from(d) > MAX_XML_DEPTH {
            return Err(XmlError::TooDeep);
        }
        if let Some(slot) = depth.get_mut(node.id().get_usize()) {
            *slot = d;
        }
    }
    Ok(doc)
}

fn decode_bytes(bytes: &[u8]) -> Result<String, XmlError> {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return utf8(rest);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(rest, false);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(rest, true);
    }
    if bytes.starts_with(b"<\0") {
        return utf16(bytes, false);
    }
    if bytes.starts_with(b"\0<") {
        return utf16(bytes, true);
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_string()),
        Err(e) => {
            let decl = declared_encoding(bytes).unwrap_or_default();
            if is_single_byte_western(&decl) {
                Ok(bytes.iter().map(|&b| windows_1252(b)).collect())
            } else {
                Err(XmlError::Encoding(format!(
                    "not valid UTF-8 at byte {} and no single-byte encoding declared",
                    e.valid_up_to()
                )))
            }
        }
    }
}

fn utf8(bytes: &[u8]) -> Result<String, XmlError> {
    std::str::from_utf8(bytes)
        .map(str::to_string)
        .map_err(|e| XmlError::Encoding(format!("not valid UTF-8 at byte {}", e.valid_up_to())))
}

fn utf16(bytes: &[u8], big_endian: bool) -> Result<String, XmlError> {
    let units = bytes.chunks_exact(2).map(|c| {
        let pair = [c[0], c[1]];
        if big_endian {
            u16::from_be_bytes(pair)
        } else {
            u16::from_le_bytes(pair)
        }
    });
    let mut out = String::with_capacity(bytes.len() / 2);
    for (i, ch) in char::decode_utf16(units).enumerate() {
        match ch {
            Ok(c) => out.push(c),
            Err(_) => {
                return Err(XmlError::Encoding(format!(
                    "invalid UTF-16 (unpaired surrogate) at code unit {i}"
                )))
            }
        }
    }
    Ok(out)
}

/// The `encoding="..."` of an XML declaration, lower-cased.
fn declared_encoding(bytes: &[u8]) -> Option<String> {
    let head = &bytes[..bytes.len().min(200)];
    let head: String = head.iter().map(|&b| char::from(b)).collect();
    let decl_end = head.find("?>")?;
    let decl = head.get(..decl_end)?;
    let at = decl.find("encoding")?;
    let rest = decl.get(at + "encoding".len()..)?;
    let rest = rest.trim_start().strip_prefix('=')?.trim_start();
    let quote = rest.chars().next()?;
    let rest = rest.get(1..)?;
    let end = rest.find(quote)?;
    Some(rest.get(..end)?.trim().to_ascii_lowercase())
}

fn is_single_byte_western(enc: &str) -> bool {
    matches!(
        enc,
        "iso-8859-1"
            | "iso8859-1"
            | "latin1"
            | "latin-1"
            | "iso-8859-15"
            | "windows-1252"
            | "cp1252"
            | "us-ascii"
            | "ascii"
    )
}

/// Windows-1252 (a superset of ISO-8859-1's printable range) byte → char.
fn windows_1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž',
        '\u{8f}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}',
        'ž', 'Ÿ',
    ];
    if (0x80..0xA0).contains(&b) {
        HIGH[usize::from(b - 0x80)]
    } else {
        char::from(b)
    }
}

/// Refuse DTD internal subsets and entity declarations; blank out an external-only
/// DOCTYPE (same length, so positions in later error messages stay right).
fn neutralise_doctype(text: &mut String) -> Result<(), XmlError> {
    if contains_ascii_ci(text, "<!ENTITY") {
        return Err(XmlError::DtdRefused);
    }
    let Some(start) = find_ascii_ci(text, "<!DOCTYPE") else {
        return Ok(());
    };
    // The DOCTYPE must end at the first '>' with no '[' before it (no internal subset).
    let after = &text[start..];
    let Some(end_rel) = after.find('>') else {
        return Err(XmlError::DtdRefused);
    };
    if after[..end_rel].contains('[') {
        return Err(XmlError::DtdRefused);
    }
    let end = start + end_rel + 1;
    // A second DOCTYPE is malformed; let the parser reject it (allow_dtd = false).
    text.replace_range(start..end, &" ".repeat(end - start));
    Ok(())
}

fn find_ascii_ci(haystack: &str, needle: &str) -> Option<usize> {
    let n = needle.as_bytes();
    haystack
        .as_bytes()
        .windows(n.len())
        .position(|w| w.eq_ignore_ascii_case(n))
}

fn contains_ascii_ci(haystack: &str, needle: &str) -> bool {
    find_ascii_ci(haystack, needle).is_some()
}

/// Local name (namespace prefix stripped) of the first element in the first bytes of a
/// file, for content detection. `None` when the head shows no element start.
pub fn root_element_name(head: &[u8]) -> Option<String> {
    let text = head_text(head);
    let mut rest = text.as_str();
    loop {
        let lt = rest.find('<')?;
        rest = rest.get(lt..)?;
        if rest.starts_with("<?") {
            rest = rest.get(rest.find("?>")? + 2..)?;
        } else if rest.starts_with("<!--") {
            rest = rest.get(rest.find("-->")? + 3..)?;
        } else if rest.starts_with("<!") {
            rest = rest.get(rest.find('>')? + 1..)?;
        } else {
            let name: String = rest
                .get(1..)?
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '>' && *c != '/')
                .collect();
            let local = name.rsplit(':').next().unwrap_or_default().to_string();
            return (!local.is_empty()).then_some(local);
        }
    }
}

/// Lossy text of a file's first bytes (UTF-16 aware) for content detection.
pub fn head_text(head: &[u8]) -> String {
    let utf16 = |bytes: &[u8], be: bool| -> String {
        let units = bytes.chunks_exact(2).map(|c| {
            if be {
                u16::from_be_bytes([c[0], c[1]])
            } else {
                u16::from_le_bytes([c[0], c[1]])
            }
        });
        char::decode_utf16(units)
            .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect()
    };
    if let Some(rest) = head.strip_prefix(&[0xFF, 0xFE]) {
        utf16(rest, false)
    } else if let Some(rest) = head.strip_prefix(&[0xFE, 0xFF]) {
        utf16(rest, true)
    } else if head.starts_with(b"<\0") {
        utf16(head, false)
    } else if head.starts_with(b"\0<") {
        utf16(head, true)
    } else {
        String::from_utf8_lossy(head.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(head)).into_owned()
    }
}

/// Does the head of a file have the given root element, or (when the root is beyond the
/// head) at least mention `<name`?
pub fn head_has_root(head: &[u8], local_name: &str) -> bool {
    if let Some(root) = root_element_name(head) {
        root == local_name
    } else {
        let text = head_text(head);
        text.contains(&format!("<{local_name}")) || text.contains(&format!(":{local_name}"))
    }
}

/// First child element with this local name.
pub fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

/// All child elements with this local name.
pub fn children<'a, 'i: 'a>(
    node: Node<'a, 'i>,
    name: &'a str,
) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    node.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

/// Follow a path of child element local names.
pub fn path<'a, 'i>(node: Node<'a, 'i>, names: &[&str]) -> Option<Node<'a, 'i>> {
    names.iter().try_fold(node, |n, name| child(n, name))
}

/// Trimmed, non-empty text of an element.
pub fn text_of(node: Node<'_, '_>) -> Option<String> {
    let t = node.text()?.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// Trimmed, non-empty text at a path of child names.
pub fn path_text(node: Node<'_, '_>, names: &[&str]) -> Option<String> {
    path(node, names).and_then(text_of)
}

/// Attribute by local name, ignoring its namespace (e.g. `xsi:type` → "type").
pub fn attr<'a>(node: Node<'a, '_>, local_name: &str) -> Option<&'a str> {
    node.attributes()
        .find(|a| a.name() == local_name)
        .map(|a| a.value())
}

/// Trimmed, non-empty attribute value.
pub fn attr_text(node: Node<'_, '_>, local_name: &str) -> Option<String> {
    let v = attr(node, local_name)?.trim();
    (!v.is_empty()).then(|| v.to_string())
}

/// Decode Base64 text that may contain whitespace/line breaks; refuses output larger
/// than `max_bytes` before decoding.
///
/// # Errors
/// A reason string for bad Base64 or oversize output.
pub fn decode_base64(text: &str, max_bytes: usize) -> Result<Vec<u8>, String> {
    use base64::Engine as _;
    let compact: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let estimated = compact.len() / 4 * 3 + 3;
    if estimated > max_bytes {
        return Err(format!(
            "Base64 block of about {estimated} bytes exceeds the limit of {max_bytes}"
        ));
    }
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    engine
        .decode(&compact)
        .map_err(|e| format!("bad Base64 data: {e}"))
}

/// Parse a number written by a device ("500", " 4.88 ", "1e3"); `None` if not finite.
pub fn parse_f64(s: &str) -> Option<f64> {
    let v: f64 = s.trim().parse().ok()?;
    v.is_finite().then_some(v)
}

/// Millivolts per unit for a voltage unit as written in ECG XML ("uV", "µV",
/// "MICROVOLTS", "mV", "V", "nV"); `None` for anything else.
pub fn mv_per_unit(unit: &str) -> Option<f64> {
    let u = unit.trim();
    match u.to_ascii_lowercase().as_str() {
        "uv" | "microvolt" | "microvolts" | "microvolt(s)" => Some(0.001),
        "mv" | "millivolt" | "millivolts" => Some(1.0),
        "v" | "volt" | "volts" => Some(1000.0),
        "nv" | "nanovolt" | "nanovolts" => Some(1e-6),
        _ if u == "µV" || u == "μV" => Some(0.001),
        _ => None,
    }
}

/// Pad every lead with `NaN` to the longest lead's length; true when any was padded.
pub fn equalise_lengths(leads: &mut [crate::Lead]) -> bool {
    let longest = leads.iter().map(|l| l.samples_mv.len()).max().unwrap_or(0);
    let mut padded = false;
    for lead in leads.iter_mut() {
        if lead.samples_mv.len() < longest {
            lead.samples_mv.resize(longest, f32::NAN);
            padded = true;
        }
    }
    padded
}

/// Linear-interpolation resampling from `from_hz` to `to_hz` (used to bring median beats
/// to the rhythm rate, as `Recording::median_beats` requires). The output length is
/// `round(len · to/from)`, capped at `max_len`.
pub fn resample_linear(samples: &[f32], from_hz: f64, to_hz: f64, max_len: usize) -> Vec<f32> {
    if samples.is_empty() || !(from_hz > 0.0 && to_hz > 0.0) {
        return Vec::new();
    }
    let ratio = to_hz / from_hz;
    let n_out = ((samples.len() as f64 * ratio).round() as usize).min(max_len);
    let last = samples.len() - 1;
    (0..n_out)
        .map(|k| {
            let t = k as f64 / ratio;
            let i = (t.floor() as usize).min(last);
            let j = (i + 1).min(last);
            let frac = (t - i as f64) as f32;
            let (a, b) = (samples[i], samples[j]);
            a + (b - a) * frac
        })
        .collect()
}

/// `YYYYMMDD[HHMMSS[.fff]][+zzzz]` (HL7 TS) → ISO 8601 date or date-time.
pub fn iso_from_hl7_ts(ts: &str) -> Option<String> {
    let digits: String = ts.trim().chars().take_while(char::is_ascii_digit).collect();
    let part = |a: usize, b: usize| digits.get(a..b);
    let date = format!("{}-{}-{}", part(0, 4)?, part(4, 6)?, part(6, 8)?);
    match (part(8, 10), part(10, 12)) {
        (Some(h), Some(m)) => Some(format!("{date}T{h}:{m}:{}", part(12, 14).unwrap_or("00"))),
        _ => Some(date),
    }
}

/// Sex from a device's word or code ("M", "Male", "MALE", "F", "female").
pub fn sex_from_text(s: &str) -> Option<crate::Sex> {
    match s.trim().to_ascii_lowercase().as_str() {
        "m" | "male" => Some(crate::Sex::Male),
        "f" | "female" => Some(crate::Sex::Female),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_subset_and_entities_are_refused() {
        let laughs = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \
                      \"&lol;&lol;\">]><lolz>&lol2;</lolz>";
        assert!(matches!(
            decode_xml_text(laughs.as_bytes()),
            Err(XmlError::DtdRefused)
        ));
        let xxe = "<!DOCTYPE foo [ <!ENTITY xxe SYSTEM \"file:///etc/passwd\"> ]><foo>&xxe;</foo>";
        assert!(matches!(
            decode_xml_text(xxe.as_bytes()),
            Err(XmlError::DtdRefused)
        ));
    }

    #[test]
    fn external_only_doctype_is_blanked_and_entities_stay_undefined() {
        let t =
            decode_xml_text(b"<!DOCTYPE RestingECG SYSTEM \"restecg.dtd\"><RestingECG/>").unwrap();
        let doc = parse(&t).unwrap();
        assert_eq!(doc.root_element().tag_name().name(), "RestingECG");
        let t = decode_xml_text(b"<a>&undefined;</a>").unwrap();
        assert!(parse(&t).is_err());
    }

    #[test]
    fn deep_nesting_is_refused() {
        let xml = format!("{}{}", "<a>".repeat(300), "</a>".repeat(300));
        assert!(matches!(parse(&xml), Err(XmlError::TooDeep)));
    }

    #[test]
    fn encodings_are_decoded() {
        let mut utf16 = vec![0xFF, 0xFE];
        for u in "<r>é</r>".encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(decode_xml_text(&utf16).unwrap(), "<r>é</r>");
        let latin1 = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><r>\xe9</r>";
        assert!(decode_xml_text(latin1).unwrap().ends_with("<r>é</r>"));
        assert!(decode_xml_text(b"<r>\xe9</r>").is_err());
        assert_eq!(root_element_name(&utf16).as_deref(), Some("r"));
        assert_eq!(
            root_element_name(b"<?xml version=\"1.0\"?><!-- c --><!DOCTYPE x><v3:AnnotatedECG>")
                .as_deref(),
            Some("AnnotatedECG")
        );
    }

    #[test]
    fn helpers_convert_units_dates_and_rates() {
        assert_eq!(mv_per_unit("uV"), Some(0.001));
        assert_eq!(mv_per_unit("MICROVOLTS"), Some(0.001));
        assert_eq!(mv_per_unit("µV"), Some(0.001));
        assert_eq!(mv_per_unit("mV"), Some(1.0));
        assert_eq!(mv_per_unit("mmHg"), None);
        assert_eq!(
            iso_from_hl7_ts("20021122091000.000").as_deref(),
            Some("2002-11-22T09:10:00")
        );
        assert_eq!(iso_from_hl7_ts("19530508").as_deref(), Some("1953-05-08"));
        assert_eq!(iso_from_hl7_ts("2002"), None);
        // 1000 Hz → 500 Hz keeps every other sample of a ramp.
        let ramp: Vec<f32> = (0..10).map(|i| i as f32).collect();
        assert_eq!(
            resample_linear(&ramp, 1000.0, 500.0, 100),
            vec![0.0, 2.0, 4.0, 6.0, 8.0]
        );
        assert_eq!(resample_linear(&ramp, 1000.0, 500.0, 3).len(), 3);
        let up = resample_linear(&[0.0, 1.0], 1.0, 2.0, 100);
        assert_eq!(up, vec![0.0, 0.5, 1.0, 1.0]);
        assert_eq!(decode_base64("AQID\nBA==", 100).unwrap(), vec![1, 2, 3, 4]);
        assert!(decode_base64("AQIDBA==", 2).is_err());
    }
}
