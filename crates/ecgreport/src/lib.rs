//! ecgreport: the annotated 12-lead PDF report of one study, drawn from an
//! [`ecgcore::analysis::Analysis`].
//!
//! Page 1 (landscape A4 or Letter) is the report a cardiologist files: patient header,
//! measurements, the anomaly model's verdict and predicted-vs-actual table, and the ECG
//! in the 3×4 + lead II rhythm layout at true scale (25 mm/s, 10 mm/mV, 1 mm / 5 mm grid,
//! 1 mV calibration pulses — IEC 60601-2-25; AHA/ACCF/HRS recommendations, Kligfield et
//! al. 2007) with the model's likelihood map as colour bands along the traces. Page 2
//! (optional) repeats the ECG with the baseline method's map, both scores side by side,
//! and the most anomalous segments. With a prior ECG (`ReportOptions::prior`), a last page
//! compares the two (serial comparison). Every part prints "not available" when the
//! `Analysis` lacks it.
//!
//! The PDF is written with krilla: traces and grid are vector paths, the text font
//! (Ubuntu Light) is embedded and subset, and the file conforms to PDF/A-2b (krilla
//! validates it). Units: millimetres on the page, mV and seconds in the signal.
//!
//! ```no_run
//! use ecgreport::{render_pdf, ReportOptions};
//! let recording = ecgcore::formats::open("00010_hr.hea".as_ref())?;
//! let analysis = ecgcore::analysis::Analysis { recording, ..Default::default() };
//! let pdf = render_pdf(&analysis, &ReportOptions::default())?;
//! assert!(pdf.starts_with(b"%PDF"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod canvas;
pub mod colour;
mod compare_page;
mod ecg;
pub mod layout;
mod pages;
mod text;

pub use colour::likelihood_colour;
pub use ecg::{BAND_FROM, BAND_OPACITY};
pub use layout::Paper;

use ecgcore::analysis::Analysis;
use ecgcore::formats::{write_atomic, FormatError};
use krilla::configure::{Archival, ConfigurationBuilder};
use krilla::metadata::{DateTime, Metadata};
use krilla::page::PageSettings;
use krilla::{Document, SerializeSettings};
use std::path::Path;
use std::time::{Duration, Instant};

/// What the caller decides about a report.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportOptions {
    pub paper: Paper,
    /// Add page 2: the baseline method's map and score beside ours.
    pub include_baseline_page: bool,
    /// Filters applied to the traces before drawing, as printed ("0.5–40 Hz, 50 Hz notch").
    pub filters_label: String,
    /// ecgscope version, as printed.
    pub software_version: String,
    /// Model name, version and weights hash, as printed.
    pub model_label: String,
    /// A prior ECG of the patient (drawn with the same filters): adds the serial
    /// comparison page.
    pub prior: Option<Analysis>,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            paper: Paper::A4,
            include_baseline_page: false,
            filters_label: "none".to_string(),
            software_version: env!("CARGO_PKG_VERSION").to_string(),
            model_label: String::new(),
            prior: None,
        }
    }
}

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("the recording cannot be drawn: {0}")]
    BadRecording(#[from] ecgcore::recording::RecordingError),
    #[error("the built-in font {0} could not be loaded")]
    Font(&'static str),
    #[error("the PDF could not be written: {0}")]
    Pdf(String),
    #[error(transparent)]
    Write(#[from] FormatError),
}

/// The pages a report can have, in print order.
#[derive(Clone, Copy)]
enum Page {
    Main,
    Baseline,
    Comparison,
}

/// Render the report of `analysis` to PDF bytes (1 page, or 2 with the baseline page).
///
/// # Errors
/// [`ReportError::BadRecording`] when the recording breaks its invariants (no leads,
/// ragged leads, bad rate); [`ReportError::Pdf`] if krilla refuses the document.
pub fn render_pdf(analysis: &Analysis, options: &ReportOptions) -> Result<Vec<u8>, ReportError> {
    analysis.recording.validate()?;
    let fonts = text::Fonts::load()?;
    let configuration = ConfigurationBuilder::new()
        .with_archival_validator(Archival::A2_B)
        .finish()
        .map_err(|e| ReportError::Pdf(format!("{e:?}")))?;
    let settings = SerializeSettings {
        configuration,
        ..SerializeSettings::default()
    };
    let mut document = Document::new_with(settings);
    document.set_metadata(metadata(analysis, options));
    let frame = layout::PageFrame::new(options.paper);
    let findings = ecgsession::StudyFindings::of(analysis);
    let (w_pt, h_pt) = options.paper.size_pt();
    let comparison = options.prior.as_ref().map(|prior| {
        (
            prior,
            ecgsession::comparison::Comparison::of(analysis, prior),
        )
    });
    let pages: Vec<Page> = std::iter::once(Page::Main)
        .chain(options.include_baseline_page.then_some(Page::Baseline))
        .chain(comparison.is_some().then_some(Page::Comparison))
        .collect();
    let page_count = pages.len();
    for (page_number, which) in (1..).zip(pages) {
        let settings = PageSettings::from_wh(w_pt, h_pt)
            .ok_or_else(|| ReportError::Pdf("bad page size".to_string()))?;
        let mut page = document.start_page_with(settings);
        {
            let mut canvas = canvas::Canvas {
                surface: page.surface(),
                fonts: &fonts,
            };
            match which {
                Page::Main => pages::draw_main_page(
                    &mut canvas,
                    &frame,
                    analysis,
                    &findings,
                    options,
                    page_count,
                ),
                Page::Baseline => pages::draw_baseline_page(
                    &mut canvas,
                    &frame,
                    analysis,
                    &findings,
                    options,
                    page_count,
                ),
                Page::Comparison => {
                    if let Some((prior, comparison)) = &comparison {
                        pages::draw_patient_header(
                            &mut canvas,
                            &frame,
                            analysis,
                            page_number,
                            page_count,
                            "Serial comparison with a prior ECG",
                        );
                        compare_page::draw_comparison_page(
                            &mut canvas,
                            &frame,
                            analysis,
                            prior,
                            comparison,
                        );
                        pages::draw_footer(&mut canvas, &frame, analysis, options);
                    }
                }
            }
            canvas.surface.finish();
        }
        page.finish();
    }
    document
        .finish()
        .map_err(|e| ReportError::Pdf(format!("{e:?}")))
}

/// Render and write the report to `path` atomically (temporary file + rename).
/// Refuses to replace an existing file unless `overwrite`.
///
/// # Errors
/// As [`render_pdf`], plus [`ReportError::Write`] (e.g. `AlreadyExists`).
pub fn write_pdf(
    analysis: &Analysis,
    options: &ReportOptions,
    path: &Path,
    overwrite: bool,
) -> Result<(), ReportError> {
    if !overwrite && path.exists() {
        // Fail before rendering; write_atomic checks again.
        return Err(ReportError::Write(FormatError::io(
            path,
            std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "file exists (refusing to overwrite)",
            ),
        )));
    }
    let bytes = render_pdf(analysis, options)?;
    write_atomic(path, &bytes, overwrite)?;
    Ok(())
}

/// Timing of repeated renders, for `ecgscope bench`.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderTiming {
    pub runs: usize,
    pub median: Duration,
    pub min: Duration,
    pub max: Duration,
    /// Size of the PDF (bytes).
    pub pdf_bytes: usize,
}

/// Render the report `runs` times (at least once) and report the times.
///
/// For `ecgscope bench`: build the study's `Analysis` first (reading, dsp and model are
/// timed separately), then call `bench_render(&analysis, &options, 20)` and print
/// `median`. `cargo run --release -p ecgreport --example report_bench -- FILE` does the
/// same with synthetic maps.
///
/// # Errors
/// As [`render_pdf`].
pub fn bench_render(
    analysis: &Analysis,
    options: &ReportOptions,
    runs: usize,
) -> Result<RenderTiming, ReportError> {
    let runs = runs.max(1);
    let mut times = Vec::with_capacity(runs);
    let mut pdf_bytes = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let pdf = render_pdf(analysis, options)?;
        times.push(start.elapsed());
        pdf_bytes = pdf.len();
    }
    times.sort();
    Ok(RenderTiming {
        runs,
        median: times.get(runs / 2).copied().unwrap_or_default(),
        min: times.first().copied().unwrap_or_default(),
        max: times.last().copied().unwrap_or_default(),
        pdf_bytes,
    })
}

fn metadata(analysis: &Analysis, options: &ReportOptions) -> Metadata {
    let patient = analysis
        .recording
        .patient
        .id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("unknown patient");
    let version = options.software_version.trim();
    Metadata::new()
        .title(format!("12-lead ECG report, patient {patient}"))
        .creator(format!("ecgscope {version}").trim().to_string())
        .language("en".to_string())
        .creation_date(now_utc())
}

/// The current UTC time as a PDF date (days-from-civil, Hinnant's algorithm).
fn now_utc() -> DateTime {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    DateTime::new(year.clamp(0, 9999) as u16)
        .month(month as u8)
        .day(day as u8)
        .hour((rem / 3600) as u8)
        .minute((rem % 3600 / 60) as u8)
        .second((rem % 60) as u8)
        .utc_offset_hour(0)
        .utc_offset_minute(0)
}
