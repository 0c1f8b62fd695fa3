//! Loading an ECG image from disk with bounded memory.
//!
//! Raster images (PNG, JPEG, TIFF, BMP) are decoded by the `image` crate under explicit
//! limits: the header's dimensions are checked before any pixel is decoded, so a file
//! that claims a huge size is refused without allocating it. Transparent pixels are
//! composited over white paper. PDF pages are rasterized at 200 dpi by poppler's
//! `pdftoppm` when it is installed (first page only).
//!
//! Units: pixels.

use crate::DigitizeError;
use image::{ImageReader, Limits, RgbImage};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Largest file read, in bytes.
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;
/// Largest image decoded, in pixels (a 600-dpi A3 page is about 70 M).
pub const MAX_DECODE_PIXELS: u64 = 120_000_000;
/// Smallest side that can hold a readable ECG, in pixels.
pub const MIN_SIDE_PX: u32 = 100;
/// Resolution for rasterizing PDF pages, in dots per inch.
pub const PDF_DPI: u32 = 200;

/// Read the image at `path` as 8-bit RGB.
pub fn load_rgb(path: &Path) -> Result<RgbImage, DigitizeError> {
    let meta = std::fs::metadata(path).map_err(|source| DigitizeError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(DigitizeError::TooLarge {
            what: format!("{} bytes, at most {MAX_FILE_BYTES}", meta.len()),
            path: path.to_path_buf(),
        });
    }
    let mut head = [0u8; 5];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|source| DigitizeError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    if head.get(..n).is_some_and(|h| h.starts_with(b"%PDF")) {
        return rasterize_pdf(path);
    }
    decode_raster(path)
}

fn decode_error(path: &Path, e: impl std::fmt::Display) -> DigitizeError {
    DigitizeError::Decode {
        reason: e.to_string(),
        path: path.to_path_buf(),
    }
}

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(60_000);
    limits.max_image_height = Some(60_000);
    limits.max_alloc = Some(MAX_DECODE_PIXELS * 4 + (64 << 20));
    limits
}

fn decode_raster(path: &Path) -> Result<RgbImage, DigitizeError> {
    let open = || -> Result<ImageReader<std::io::BufReader<std::fs::File>>, DigitizeError> {
        let mut reader = ImageReader::open(path)
            .map_err(|source| DigitizeError::Io {
                path: path.to_path_buf(),
                source,
            })?
            .with_guessed_format()
            .map_err(|source| DigitizeError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        reader.limits(limits());
        Ok(reader)
    };
    let (w, h) = open()?
        .into_dimensions()
        .map_err(|e| decode_error(path, e))?;
    check_size(w, h, path)?;
    let img = open()?.decode().map_err(|e| decode_error(path, e))?;
    let rgba = img.into_rgba8();
    let (w, h) = rgba.dimensions();
    let mut rgb = RgbImage::new(w, h);
    for (dst, src) in rgb.pixels_mut().zip(rgba.pixels()) {
        let a = u16::from(src[3]);
        for c in 0..3 {
            // Composite over white paper.
            let v = (u16::from(src[c]) * a + 255 * (255 - a) + 127) / 255;
            dst[c] = v.min(255) as u8;
        }
    }
    Ok(rgb)
}

/// Refuse images too small to hold an ECG or too large to process.
pub fn check_size(w: u32, h: u32, path: &Path) -> Result<(), DigitizeError> {
    if w < MIN_SIDE_PX || h < MIN_SIDE_PX {
        return Err(DigitizeError::TooSmall {
            width: w,
            height: h,
            path: path.to_path_buf(),
        });
    }
    if u64::from(w) * u64::from(h) > MAX_DECODE_PIXELS {
        return Err(DigitizeError::TooLarge {
            what: format!("{w}×{h} pixels, at most {MAX_DECODE_PIXELS} pixels"),
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// Rasterize the first page of a PDF with `pdftoppm`, then decode it.
fn rasterize_pdf(path: &Path) -> Result<RgbImage, DigitizeError> {
    let dir = unique_temp_dir();
    std::fs::create_dir_all(&dir).map_err(|source| DigitizeError::Io {
        path: dir.clone(),
        source,
    })?;
    let prefix = dir.join("page");
    let output = Command::new("pdftoppm")
        .args([
            "-r",
            &PDF_DPI.to_string(),
            "-f",
            "1",
            "-l",
            "1",
            "-png",
            "-singlefile",
        ])
        .arg(path)
        .arg(&prefix)
        .output();
    let result = match output {
        Err(e) => Err(DigitizeError::Pdf {
            reason: format!("pdftoppm (poppler-utils) is needed to read PDF pages: {e}"),
            path: path.to_path_buf(),
        }),
        Ok(out) if !out.status.success() => Err(DigitizeError::Pdf {
            reason: format!(
                "pdftoppm failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            path: path.to_path_buf(),
        }),
        Ok(_) => decode_raster(&prefix.with_extension("png")).map_err(|e| DigitizeError::Pdf {
            reason: format!("the rasterized page could not be read ({e})"),
            path: path.to_path_buf(),
        }),
    };
    // Best effort: a temp folder left behind is harmless.
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn unique_temp_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    std::env::temp_dir().join(format!("ecgdigitize-{}-{nanos}", std::process::id()))
}
