//! File-format readers and writers: bytes on disk → [`Recording`].
//!
//! Every reader implements [`Reader`]. [`open`] tries each in turn; a reader that does
//! not recognise the file's *content* answers [`FormatError::Incompatible`] quickly so
//! the next one can try (detection by content, not only by extension). All readers get
//! untrusted input: they bound every allocation by [`limits`], never panic, and name
//! the file and the problem in their errors (path last, as in "…: /path/file").

pub mod aecg;
pub mod csv;
pub mod dicom;
pub mod edf;
pub mod muse;
pub mod scp;
pub mod sierra;
pub mod sierra_xli;
pub mod wfdb;
pub mod wfdb_annotation;
pub mod xml_util;

use crate::recording::{Recording, RecordingError};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Hard caps applied to every untrusted input.
pub mod limits {
    /// Largest file any reader will load into memory (bytes).
    pub const MAX_FILE_BYTES: u64 = 512 * 1024 * 1024;
    /// Most samples (all leads together) a recording may hold: 64 M samples = 256 MB of f32.
    pub const MAX_TOTAL_SAMPLES: usize = 64 * 1024 * 1024;
    /// Most signals (channels) in one recording.
    pub const MAX_SIGNALS: usize = 64;
    /// Most segments in a multi-segment record.
    pub const MAX_SEGMENTS: usize = 10_000;
}

/// One error type for every reader and writer.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// The reader does not recognise this file; another reader may.
    #[error("not a {format} file: {}", path.display())]
    Incompatible { format: &'static str, path: PathBuf },
    /// (The I/O error is part of the message, not a separate cause, so it prints once.)
    #[error("cannot read or write ({error}): {}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    /// The file claims to be this format but is malformed.
    #[error("invalid {format} file ({reason}): {}", path.display())]
    Invalid {
        format: &'static str,
        reason: String,
        path: PathBuf,
    },
    /// Valid but uses a feature we do not read.
    #[error("unsupported {format} feature ({what}): {}", path.display())]
    Unsupported {
        format: &'static str,
        what: String,
        path: PathBuf,
    },
    #[error("file is too large ({what}): {}", path.display())]
    TooLarge { what: String, path: PathBuf },
    #[error("no reader recognises this file (tried {tried}): {}", path.display())]
    UnknownFormat { tried: String, path: PathBuf },
    #[error("{error}: {}", path.display())]
    BadRecording {
        path: PathBuf,
        error: RecordingError,
    },
}

impl FormatError {
    /// Shorthand for [`FormatError::Invalid`].
    pub fn invalid(format: &'static str, path: &Path, reason: impl Into<String>) -> FormatError {
        FormatError::Invalid {
            format,
            reason: reason.into(),
            path: path.to_path_buf(),
        }
    }

    /// Shorthand for [`FormatError::Io`].
    #[must_use]
    pub fn io(path: &Path, source: std::io::Error) -> FormatError {
        FormatError::Io {
            path: path.to_path_buf(),
            error: source,
        }
    }
}

/// A file format reader.
pub trait Reader: Sync {
    /// Short human name ("WFDB", "CSV", ...).
    fn name(&self) -> &'static str;

    /// Read `path`. `head` holds the file's first bytes (up to 4 KiB, fewer for small
    /// files) so detection by content is cheap. Return [`FormatError::Incompatible`]
    /// when the content is not this format.
    ///
    /// # Errors
    /// Any [`FormatError`]; never panics on any input.
    fn read(
        &self,
        path: &Path,
        head: &[u8],
        options: &OpenOptions,
    ) -> Result<Recording, FormatError>;
}

/// What the user can tell a reader that the file may not say (e.g. a CSV without a
/// time column has no sample rate). Readers ignore what they do not need.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OpenOptions {
    /// Sample rate to assume when the file does not state one (Hz).
    pub sample_rate_hz: Option<f64>,
    /// Multiply raw values by this to get millivolts when the file does not state units
    /// (e.g. 0.001 for µV).
    pub mv_per_unit: Option<f64>,
}

/// All readers, most specific first.
#[must_use]
pub fn readers() -> Vec<&'static dyn Reader> {
    vec![
        &scp::ScpReader,
        &dicom::DicomReader,
        &edf::EdfReader,
        &aecg::AecgReader,
        &muse::MuseReader,
        &sierra::SierraReader,
        &wfdb::WfdbReader,
        &csv::CsvReader,
    ]
}

/// Open any supported ECG file.
///
/// Accepts a WFDB record path with or without the `.hea` extension.
///
/// # Errors
/// [`FormatError::UnknownFormat`] when no reader recognises the file, or the first
/// reader's error when it recognised the file but could not read it.
pub fn open(path: &Path) -> Result<Recording, FormatError> {
    open_with(path, &OpenOptions::default())
}

/// [`open`] with options for files that do not state everything (see [`OpenOptions`]).
///
/// # Errors
/// As [`open`].
pub fn open_with(path: &Path, options: &OpenOptions) -> Result<Recording, FormatError> {
    let resolved = resolve_path(path);
    let head = read_head(&resolved)?;
    let mut tried = Vec::new();
    for reader in readers() {
        match reader.read(&resolved, &head, options) {
            Ok(rec) => {
                rec.validate().map_err(|error| FormatError::BadRecording {
                    path: resolved.clone(),
                    error,
                })?;
                return Ok(rec);
            }
            Err(FormatError::Incompatible { .. }) => tried.push(reader.name()),
            Err(e) => return Err(e),
        }
    }
    Err(FormatError::UnknownFormat {
        tried: tried.join(", "),
        path: resolved,
    })
}

/// `record` → `record.hea` when only the latter exists (WFDB record names).
fn resolve_path(path: &Path) -> PathBuf {
    if !path.exists() {
        let mut with_hea = path.as_os_str().to_owned();
        with_hea.push(".hea");
        let with_hea = PathBuf::from(with_hea);
        if with_hea.exists() {
            return with_hea;
        }
    }
    path.to_path_buf()
}

/// First bytes of a file, for content detection.
///
/// # Errors
/// I/O errors, naming the file.
pub fn read_head(path: &Path) -> Result<Vec<u8>, FormatError> {
    let file = std::fs::File::open(path).map_err(|e| FormatError::io(path, e))?;
    let mut head = Vec::with_capacity(4096);
    file.take(4096)
        .read_to_end(&mut head)
        .map_err(|e| FormatError::io(path, e))?;
    Ok(head)
}

/// Read a whole file, refusing files above `max_bytes` (checked before reading).
///
/// # Errors
/// I/O errors and [`FormatError::TooLarge`], naming the file.
pub fn read_capped(path: &Path, max_bytes: u64) -> Result<Vec<u8>, FormatError> {
    let file = std::fs::File::open(path).map_err(|e| FormatError::io(path, e))?;
    let len = file.metadata().map_err(|e| FormatError::io(path, e))?.len();
    if len > max_bytes {
        return Err(FormatError::TooLarge {
            what: format!("{len} bytes, limit {max_bytes}"),
            path: path.to_path_buf(),
        });
    }
    let mut buf = Vec::with_capacity(len as usize);
    file.take(max_bytes + 1)
        .read_to_end(&mut buf)
        .map_err(|e| FormatError::io(path, e))?;
    if buf.len() as u64 > max_bytes {
        return Err(FormatError::TooLarge {
            what: format!("more than {max_bytes} bytes"),
            path: path.to_path_buf(),
        });
    }
    Ok(buf)
}

/// Write `bytes` to `path` atomically: a temporary file in the same folder, then a rename.
/// Refuses to replace an existing file unless `overwrite`.
///
/// # Errors
/// I/O errors naming the file; `AlreadyExists` when the target exists and `!overwrite`.
pub fn write_atomic(path: &Path, bytes: &[u8], overwrite: bool) -> Result<(), FormatError> {
    use std::io::Write;
    if !overwrite && path.exists() {
        return Err(FormatError::io(
            path,
            std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "file exists (refusing to overwrite)",
            ),
        ));
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(FormatError::io(path, e));
    }
    Ok(())
}
