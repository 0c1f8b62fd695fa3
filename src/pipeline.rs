//! One way through (DESIGN.md §2): file → `Recording` → measurements + model outputs →
//! `Analysis`, shared by the GUI, the JSON of `ecgscope analyze` and the PDF report.

use anyhow::Context as _;
use ecgcore::analysis::Analysis;
use ecgcore::formats::edf::{self, EdfAnnotation, EdfWindow};
use ecgcore::formats::{self, OpenOptions};
use ecgcore::Recording;
use ecgmodel::Analyzer;
use ecgsession::display::FilterSettings;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// The model side of the analysis: the shipped weights, loaded lazily on first use (from
/// a background thread in the GUI), CUDA when available unless a device is forced. Without
/// weights the viewer still opens and measures studies, and says why the model is absent.
pub struct Engine {
    models_dir: Option<PathBuf>,
    device: Option<tch::Device>,
    analyzer: OnceLock<Result<Mutex<Analyzer>, String>>,
    /// Weights and device as the manifest and LibTorch announce them, before loading.
    planned: OnceLock<(String, String)>,
    /// The validation fold's score percentiles (`score_reference.json` beside the weights).
    reference: OnceLock<Option<ecgsession::reference::ScoreReference>>,
    /// Shown to the user when the model is not available.
    pub model_status: String,
}

impl Default for Engine {
    fn default() -> Engine {
        Engine::without_model("no model loaded")
    }
}

impl Engine {
    /// The engine with the shipped weights (found next to the binary, in the working
    /// folder, or in the installed package), on CUDA when available.
    pub fn load_default() -> Engine {
        Engine::with_models(find_models_dir(), None)
    }

    /// An engine over a weights folder and a device (`None` = CUDA if available).
    pub fn with_models(models_dir: Option<PathBuf>, device: Option<tch::Device>) -> Engine {
        let status = match &models_dir {
            Some(d) => format!("model in {}", d.display()),
            None => "no model weights found (models/manifest.json)".to_string(),
        };
        Engine {
            models_dir,
            device,
            analyzer: OnceLock::new(),
            planned: OnceLock::new(),
            reference: OnceLock::new(),
            model_status: status,
        }
    }

    /// An engine that only measures (no anomaly model).
    pub fn without_model(reason: &str) -> Engine {
        let engine = Engine {
            models_dir: None,
            device: None,
            analyzer: OnceLock::new(),
            planned: OnceLock::new(),
            reference: OnceLock::new(),
            model_status: reason.to_string(),
        };
        let _ = engine.analyzer.set(Err(reason.to_string()));
        engine
    }

    /// The loaded model, loading it on first call.
    /// The folder the weights are loaded from, when one was found.
    pub fn models_dir(&self) -> Option<&std::path::Path> {
        self.models_dir.as_deref()
    }

    pub fn analyzer(&self) -> Result<&Mutex<Analyzer>, &str> {
        self.analyzer
            .get_or_init(|| {
                let dir = self
                    .models_dir
                    .as_ref()
                    .ok_or_else(|| "no model weights found (models/manifest.json)".to_string())?;
                let device = self.device.unwrap_or_else(tch::Device::cuda_if_available);
                Analyzer::load(dir, device)
                    .map(Mutex::new)
                    .map_err(|e| format!("the anomaly model could not be loaded: {e}"))
            })
            .as_ref()
            .map_err(String::as_str)
    }

    /// Where the validation ECGs' scores lie (for the score plot), when shipped with the
    /// weights; a damaged file is ignored with a log line.
    pub fn score_reference(&self) -> Option<&ecgsession::reference::ScoreReference> {
        self.reference
            .get_or_init(|| {
                let path = self.models_dir.as_ref()?.join("score_reference.json");
                let text = std::fs::read_to_string(&path).ok()?;
                let parsed: Result<ecgsession::reference::ScoreReference, String> =
                    serde_json::from_str(&text)
                        .map_err(|e| e.to_string())
                        .and_then(|r: ecgsession::reference::ScoreReference| r.check().map(|()| r));
                parsed
                    .map_err(|e| log::warn!("{} is not usable: {e}", path.display()))
                    .ok()
            })
            .as_ref()
    }

    /// "cpu", "cuda:0", or "none" when no model is loaded.
    pub fn device_label(&self) -> String {
        match self.analyzer() {
            Ok(a) => a
                .lock()
                .map_or_else(|_| "none".into(), |a| ecgmodel::device_name(a.device())),
            Err(_) => "none".to_string(),
        }
    }

    /// Weights and device for the About window, without loading the model: the loaded
    /// model's, else (before the first analysis) the manifest's weights and the device
    /// the model will run on, else why there is no model.
    pub fn about_summary(&self) -> (String, String) {
        match self.analyzer.get() {
            // try_lock: never wait on the UI thread for an analysis in progress
            Some(Ok(a)) => a.try_lock().map_or_else(
                |_| ("(busy analysing)".into(), "(busy analysing)".into()),
                |a| {
                    let m = a.manifest();
                    (
                        format!(
                            "{} sha256 {} (verified)",
                            m.mscr.file,
                            m.mscr.sha256.get(..16).unwrap_or("")
                        ),
                        ecgmodel::device_name(a.device()),
                    )
                },
            ),
            Some(Err(e)) => (format!("not usable: {e}"), "none".into()),
            None => self
                .planned
                .get_or_init(|| {
                    let weights = self
                        .models_dir
                        .as_deref()
                        .and_then(|d| ecgmodel::manifest::ModelManifest::read(d).ok())
                        .map_or_else(
                            || self.model_status.clone(),
                            |m| {
                                format!(
                                    "{} sha256 {} (checked when first used)",
                                    m.mscr.file,
                                    m.mscr.sha256.get(..16).unwrap_or("")
                                )
                            },
                        );
                    let device = ecgmodel::device_name(
                        self.device.unwrap_or_else(tch::Device::cuda_if_available),
                    );
                    (weights, format!("{device} (when the model first runs)"))
                })
                .clone(),
        }
    }

    /// Weights identity for reports and About: manifest version and hashes.
    pub fn weights_label(&self) -> Option<String> {
        let a = self.analyzer().ok()?;
        let a = a.lock().ok()?;
        let m = a.manifest();
        Some(format!(
            "{} weights {}",
            m.mscr.file,
            m.mscr.sha256.get(..12).unwrap_or("")
        ))
    }
}

/// The shipped `models/` folder: beside the binary (`target/*/ecgscope` → `models/`), the
/// working folder, or the installed package.
pub fn find_models_dir() -> Option<PathBuf> {
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf));
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(dir) = std::env::var_os("ECGSCOPE_MODELS") {
        candidates.push(PathBuf::from(dir));
    }
    if let Some(d) = &exe_dir {
        candidates.push(d.join("../../models"));
        candidates.push(d.join("models"));
        candidates.push(d.join("../models"));
    }
    candidates.push(PathBuf::from("models"));
    candidates.push(PathBuf::from("/usr/lib/ecgscope/models"));
    candidates
        .into_iter()
        .find(|d| d.join("manifest.json").is_file())
}

/// A study as opened: the recording, for a paper image what the digitizer read, and for a
/// long EDF/BDF recording which window of the file the recording holds (the app pages
/// through it, `analyze --start` picks one) with the file's annotations.
pub struct Opened {
    pub recording: Recording,
    pub digitized: Option<ecgdigitize::Digitized>,
    pub edf: Option<EdfPaging>,
}

/// Where a window of a long EDF/BDF file lies, and the file's EDF+ annotations (jump targets;
/// read once when the file is opened).
#[derive(Debug, Clone)]
pub struct EdfPaging {
    pub window: EdfWindow,
    pub annotations: Arc<Vec<EdfAnnotation>>,
}

/// Extensions of paper-ECG images (and PDF pages) that go through the digitizer.
const IMAGE_EXTENSIONS: [&str; 8] = ["png", "jpg", "jpeg", "tif", "tiff", "bmp", "pdf", "webp"];

/// Whether a file is a paper-ECG image, by extension or by its first bytes.
pub fn is_image(path: &Path) -> bool {
    let by_ext = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
    by_ext
        || formats::read_head(path).is_ok_and(|h| {
            h.starts_with(b"\x89PNG")
                || h.starts_with(&[0xFF, 0xD8, 0xFF])
                || h.starts_with(b"II*\0")
                || h.starts_with(b"MM\0*")
                || h.starts_with(b"BM")
                || h.starts_with(b"%PDF")
        })
}

/// Open any supported file: an ECG file through the readers, an image through the
/// digitizer (`digitize` options apply then).
pub fn open_any(
    path: &Path,
    options: &OpenOptions,
    digitize: &ecgdigitize::DigitizeOptions,
) -> anyhow::Result<Opened> {
    if is_image(path) {
        let d = ecgdigitize::digitize_path(path, digitize)?;
        return Ok(Opened {
            recording: d.recording.clone(),
            digitized: Some(d),
            edf: None,
        });
    }
    let recording = formats::open_with(path, options)?;
    // A long EDF/BDF opens as its first window; note where it lies in the file and read its
    // annotations (a damaged annotation channel just gives none).
    let edf = if is_edf(&recording) {
        edf::default_window(path)?.map(|window| EdfPaging {
            window,
            annotations: Arc::new(edf::read_annotations(path).unwrap_or_default()),
        })
    } else {
        None
    };
    Ok(Opened {
        recording,
        digitized: None,
        edf,
    })
}

fn is_edf(rec: &Recording) -> bool {
    ["EDF", "EDF+", "BDF", "BDF+"].contains(&rec.provenance.format.as_str())
}

/// The EDF+ annotations to attach to a window of a long recording.
#[derive(Debug, Clone)]
pub enum Annotations {
    /// Read them from the file now.
    Read,
    /// Already read when the file was first opened.
    Known(Arc<Vec<EdfAnnotation>>),
    /// Not wanted (a single window analysed from the command line).
    Skip,
}

/// The window of an EDF/BDF file that starts at `start_s` (moved inside the recording).
pub fn open_edf_window(
    path: &Path,
    start_s: f64,
    annotations: Annotations,
) -> anyhow::Result<Opened> {
    let (recording, window) = match edf::open_window(path, start_s) {
        Ok(opened) => opened,
        Err(formats::FormatError::Incompatible { .. }) => anyhow::bail!(
            "a start time applies to EDF/BDF recordings; {} is not one",
            path.display()
        ),
        Err(e) => return Err(e.into()),
    };
    let annotations = match annotations {
        Annotations::Known(a) => a,
        Annotations::Read => Arc::new(edf::read_annotations(path).unwrap_or_default()),
        Annotations::Skip => Arc::default(),
    };
    Ok(Opened {
        recording,
        digitized: None,
        edf: Some(EdfPaging {
            window,
            annotations,
        }),
    })
}

/// Open any supported file (images are digitized with detected settings).
pub fn open(path: &Path) -> anyhow::Result<Recording> {
    open_with(path, &OpenOptions::default())
}

/// Open any supported file with reader options (e.g. a CSV's sample rate).
pub fn open_with(path: &Path, options: &OpenOptions) -> anyhow::Result<Recording> {
    Ok(open_any(path, options, &ecgdigitize::DigitizeOptions::default())?.recording)
}

/// Measurements and model outputs for a recording.
pub fn analyze(rec: &Recording, engine: &Engine) -> Analysis {
    let measurements = ecgcore::dsp::measurements::measure(rec);
    let mut analysis = Analysis {
        recording: rec.clone(),
        ..Analysis::default()
    };
    match engine.analyzer() {
        Ok(analyzer) => {
            let result = analyzer
                .lock()
                .map_err(|_| "the model is unavailable after an earlier failure".to_string())
                .and_then(|a| {
                    a.analyze_with(rec, Some(&measurements))
                        .map_err(|e| e.to_string())
                });
            match result {
                Ok((ours, baseline)) => {
                    analysis.anomaly = Some(ours);
                    analysis.baseline = Some(baseline);
                }
                Err(e) => analysis.model_status = Some(e),
            }
        }
        Err(e) => analysis.model_status = Some(e.to_string()),
    }
    analysis.measurements = Some(measurements);
    analysis
}

/// The analysis with the reader's saved corrections for `path` applied (when a store is
/// given and holds some), and why saved corrections could not be used (to tell the user).
pub fn with_saved_edits(
    analysis: Analysis,
    path: &Path,
    store: Option<&crate::edits::EditsStore>,
) -> (Analysis, Option<String>) {
    match store.map(|s| s.load(path)) {
        Some(Ok(Some(edits))) => (analysis.with_edits(&edits), None),
        Some(Err(why)) => (analysis, Some(why)),
        _ => (analysis, None),
    }
}

/// Open and analyse a prior ECG of the patient (for serial comparison); errors name it as
/// the prior.
pub fn analyze_prior(
    path: &Path,
    options: &OpenOptions,
    engine: &Engine,
) -> anyhow::Result<Analysis> {
    let opened = open_any(path, options, &ecgdigitize::DigitizeOptions::default())
        .with_context(|| format!("the prior ECG {} could not be opened", path.display()))?;
    Ok(analyze(&opened.recording, engine))
}

/// Time the model alone (ours + baseline) on a recording, when a model is loaded.
pub fn time_model(rec: &Recording, engine: &Engine, runs: usize) -> Option<crate::timing::Timing> {
    let analyzer = engine.analyzer().ok()?;
    let analyzer = analyzer.lock().ok()?;
    let m = ecgcore::dsp::measurements::measure(rec);
    analyzer.analyze_with(rec, Some(&m)).ok()?;
    Some(crate::timing::time(runs, || {
        let _ = analyzer.analyze_with(rec, Some(&m));
    }))
}

/// Report options for an analysis drawn with the given display filters.
pub fn report_options(
    analysis: &Analysis,
    filters: &FilterSettings,
    paper: ecgreport::Paper,
    include_baseline: bool,
) -> ecgreport::ReportOptions {
    let model_label = analysis.anomaly.as_ref().map_or_else(
        || "anomaly model not available".to_string(),
        |o| format!("{} ({})", o.method, o.weights),
    );
    ecgreport::ReportOptions {
        paper,
        include_baseline_page: include_baseline,
        filters_label: filters.label(),
        software_version: crate::VERSION.to_string(),
        model_label,
        prior: None,
    }
}

/// The analysis as drawn on paper: traces with the display filters applied.
pub fn filtered_for_report(analysis: &Analysis, filters: &FilterSettings) -> Analysis {
    Analysis {
        recording: filters.apply(&analysis.recording),
        ..analysis.clone()
    }
}

/// Write the PDF report for an analysis (atomically; refuses to replace a file unless
/// `overwrite`), with a comparison page when a prior ECG is given.
pub fn write_report(
    analysis: &Analysis,
    prior: Option<&Analysis>,
    filters: &FilterSettings,
    paper: ecgreport::Paper,
    path: &Path,
    include_baseline: bool,
    overwrite: bool,
) -> anyhow::Result<()> {
    let mut options = report_options(analysis, filters, paper, include_baseline);
    options.prior = prior.map(|p| filtered_for_report(p, filters));
    ecgreport::write_pdf(
        &filtered_for_report(analysis, filters),
        &options,
        path,
        overwrite,
    )
    .with_context(|| format!("could not write the report {}", path.display()))
}
