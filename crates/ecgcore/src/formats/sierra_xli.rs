//! Philips XLI waveform decompression (Philips Sierra ECG XML 1.03–1.04.01,
//! `compressmethod`/`compression="XLI"`), written from the format's public description in
//! sixlettervariables/sierra-ecg-tools (MIT).
//!
//! The decoded Base64 block is a sequence of chunks, one per lead. Each chunk has an
//! 8-byte little-endian header — `i32` compressed size, 2 unused bytes, `i16` first sample
//! — followed by LZW data: 10-bit codes read most-significant bit first, a dictionary
//! seeded with the 256 single bytes, new entries from code 256 up to 1022, code 1023 or an
//! exhausted bit stream ending the chunk, no dictionary reset. The LZW output, padded to
//! even length, holds 16-bit values split in two halves: high bytes first, then low bytes.
//! Those values are second differences: with `x, y` the first two values and `last` the
//! header's first sample, each following output is `z = 2y − x − last`, where `last` then
//! becomes the stored value − 64. Output units are the device's integer units (multiply by
//! the file's resolution in µV). Every loop is bounded by the input and an output cap.

/// Longest LZW code in bits.
const CODE_BITS: u32 = 10;
/// Largest code that carries data; larger codes end the chunk.
const MAX_CODE: u16 = (1 << CODE_BITS) - 2;
/// Bias of the stored "last" value.
const LAST_BIAS: i64 = 64;

/// Why an XLI block could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XliError {
    #[error("XLI chunk {chunk}: header claims {claimed} bytes but {available} remain")]
    Truncated {
        chunk: usize,
        claimed: i64,
        available: usize,
    },
    #[error("XLI chunk {chunk}: LZW code {code} is not defined yet (corrupt data)")]
    BadCode { chunk: usize, code: u16 },
    #[error("XLI data decodes to more than {0} samples")]
    TooLarge(usize),
    #[error("XLI data has more than {0} chunks (leads)")]
    TooManyChunks(usize),
}

/// Decode an XLI block into one integer series per chunk (lead), in stored order.
/// `max_samples` caps the total output; `max_chunks` the number of leads.
///
/// # Errors
/// [`XliError`] for truncated chunks, undefined LZW codes or output above the caps.
pub fn decode(
    data: &[u8],
    max_samples: usize,
    max_chunks: usize,
) -> Result<Vec<Vec<i16>>, XliError> {
    let mut leads = Vec::new();
    let mut offset = 0usize;
    let mut budget = max_samples;
    while let Some(header) = data.get(offset..offset + 8) {
        let chunk = leads.len();
        if chunk >= max_chunks {
            return Err(XliError::TooManyChunks(max_chunks));
        }
        let size = i32::from_le_bytes([header[0], header[1], header[2], header[3]]);
        let first = i16::from_le_bytes([header[6], header[7]]);
        offset += 8;
        let available = data.len() - offset;
        let Ok(size_usize) = usize::try_from(size) else {
            return Err(XliError::Truncated {
                chunk,
                claimed: i64::from(size),
                available,
            });
        };
        if size_usize > available {
            return Err(XliError::Truncated {
                chunk,
                claimed: i64::from(size),
                available,
            });
        }
        let compressed = &data[offset..offset + size_usize];
        offset += size_usize;
        let bytes = lzw_decode(
            compressed,
            budget.saturating_mul(2).saturating_add(1),
            chunk,
        )?;
        let samples = second_differences(&bytes, first);
        if samples.len() > budget {
            return Err(XliError::TooLarge(max_samples));
        }
        budget -= samples.len();
        leads.push(samples);
    }
    Ok(leads)
}

/// MSB-first reader of fixed-width codes.
struct CodeReader<'a> {
    data: &'a [u8],
    pos: usize,
    acc: u32,
    nbits: u32,
}

impl CodeReader<'_> {
    fn next_code(&mut self) -> Option<u16> {
        while self.nbits < CODE_BITS {
            let byte = *self.data.get(self.pos)?;
            self.pos += 1;
            self.acc = (self.acc << 8) | u32::from(byte);
            self.nbits += 8;
        }
        self.nbits -= CODE_BITS;
        let code = (self.acc >> self.nbits) & ((1 << CODE_BITS) - 1);
        self.acc &= (1 << self.nbits) - 1;
        Some(code as u16)
    }
}

/// LZW-decode one chunk, stopping at an exhausted stream or a code above [`MAX_CODE`].
fn lzw_decode(data: &[u8], max_out: usize, chunk: usize) -> Result<Vec<u8>, XliError> {
    let mut dict: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
    let mut reader = CodeReader {
        data,
        pos: 0,
        acc: 0,
        nbits: 0,
    };
    let mut out = Vec::new();
    let mut previous: Vec<u8> = Vec::new();
    while let Some(code) = reader.next_code() {
        if code > MAX_CODE {
            break;
        }
        let entry = if let Some(known) = dict.get(usize::from(code)) {
            known.clone()
        } else if usize::from(code) == dict.len() && !previous.is_empty() {
            // The KwKwK case: the code being defined by this very step.
            let mut e = previous.clone();
            e.push(previous[0]);
            e
        } else {
            return Err(XliError::BadCode { chunk, code });
        };
        if !previous.is_empty() && dict.len() <= usize::from(MAX_CODE) {
            let mut e = previous.clone();
            e.push(entry[0]);
            dict.push(e);
        }
        if out.len() + entry.len() > max_out {
            return Err(XliError::TooLarge(max_out / 2));
        }
        out.extend_from_slice(&entry);
        previous = entry;
    }
    Ok(out)
}

/// Unpack the high/low byte halves and integrate the second differences.
fn second_differences(bytes: &[u8], first: i16) -> Vec<i16> {
    let n = bytes.len().div_ceil(2);
    let byte_at = |i: usize| i64::from(bytes.get(i).copied().unwrap_or(0));
    let mut values: Vec<i64> = (0..n)
        .map(|i| {
            let joined = (byte_at(i) << 8) | byte_at(n + i);
            i64::from(joined as u16 as i16)
        })
        .collect();
    if n >= 2 {
        let (mut x, mut y) = (values[0], values[1]);
        let mut last = i64::from(first);
        for v in values.iter_mut().skip(2) {
            let z = y.wrapping_mul(2).wrapping_sub(x).wrapping_sub(last);
            last = *v - LAST_BIAS;
            *v = z;
            x = y;
            y = z;
        }
    }
    values.into_iter().map(|v| v as i16).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pack 10-bit codes MSB-first.
    fn pack(codes: &[u16]) -> Vec<u8> {
        let mut out = Vec::new();
        let (mut acc, mut n) = (0u32, 0u32);
        for &c in codes {
            acc = (acc << 10) | u32::from(c);
            n += 10;
            while n >= 8 {
                n -= 8;
                out.push((acc >> n) as u8);
                acc &= (1 << n) - 1;
            }
        }
        if n > 0 {
            out.push((acc << (8 - n)) as u8);
        }
        out
    }

    #[test]
    fn lzw_handles_known_and_kwkwk_codes() {
        // "ABABABA": A B <AB=256> <ABA=258 (KwKwK)>
        let data = pack(&[65, 66, 256, 258]);
        assert_eq!(lzw_decode(&data, 100, 0).unwrap(), b"ABABABA".to_vec());
        // An undefined code is an error, not a panic.
        let data = pack(&[65, 900]);
        assert!(matches!(
            lzw_decode(&data, 100, 0),
            Err(XliError::BadCode { .. })
        ));
        // Code 1023 ends the chunk.
        let data = pack(&[65, 1023, 66]);
        assert_eq!(lzw_decode(&data, 100, 0).unwrap(), b"A".to_vec());
    }

    #[test]
    fn second_differences_integrate() {
        // Values (high bytes then low bytes): 10, 20, then stored "last"+64 values.
        let vals: [i16; 4] = [10, 20, 64 + 1, 64 + 2];
        let mut bytes: Vec<u8> = vals.iter().map(|v| (*v as u16 >> 8) as u8).collect();
        bytes.extend(vals.iter().map(|v| (*v as u16 & 0xFF) as u8));
        let out = second_differences(&bytes, 0);
        // z2 = 2*20 - 10 - 0 = 30; last = 1; z3 = 2*30 - 20 - 1 = 39.
        assert_eq!(out, vec![10, 20, 30, 39]);
    }

    #[test]
    fn truncated_and_oversized_blocks_are_errors() {
        let mut data = vec![100, 0, 0, 0, 0, 0, 0, 0];
        data.extend_from_slice(&[1, 2, 3]);
        assert!(matches!(
            decode(&data, 1000, 12),
            Err(XliError::Truncated { .. })
        ));
        let mut neg = (-5i32).to_le_bytes().to_vec();
        neg.extend_from_slice(&[0; 4]);
        assert!(matches!(
            decode(&neg, 1000, 12),
            Err(XliError::Truncated { .. })
        ));
        let codes: Vec<u16> = std::iter::once(65).chain(256..1000).collect();
        let payload = pack(&codes);
        let mut block = (payload.len() as i32).to_le_bytes().to_vec();
        block.extend_from_slice(&[0; 4]);
        block.extend_from_slice(&payload);
        assert!(matches!(
            decode(&block, 1000, 12),
            Err(XliError::TooLarge(_))
        ));
    }
}
