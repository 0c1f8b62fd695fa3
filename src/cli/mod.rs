//! Command-line verbs. Raw arguments (clap structs) are parsed here and turned into calls
//! of the same code the GUI uses. Errors are handled once, in `main`: a bad or unsupported
//! file exits with status 2 and one line on stderr.

/// Print a line to stdout; a closed pipe (`ecgscope analyze … | head`) ends output
/// quietly instead of panicking.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::write_stdout(&format!($($arg)*))
    };
}
pub(crate) use outln;

/// Write one line to stdout, treating a closed pipe as success.
pub fn write_stdout(line: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let result = writeln!(out, "{line}").and_then(|()| out.flush());
    if let Err(e) = result {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("ecgscope: cannot write to standard output: {e}");
        }
    }
}

pub mod analyze;
pub mod bench;
pub mod digitize;
pub mod report;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// ecgscope — review a 12-lead ECG with a local anomaly model.
#[derive(Debug, Parser)]
#[command(
    name = "ecgscope",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// ECG file to open in the viewer (WFDB .hea, CSV, …), or a folder of them to review
    /// one after the other.
    pub file: Option<PathBuf>,
    /// A prior ECG of the same patient to compare with (serial comparison).
    #[arg(long, value_name = "PRIOR", requires = "file")]
    pub prior: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Verb>,
}

/// Options for files that do not state everything themselves.
#[derive(Debug, Clone, clap::Args, Default)]
pub struct ReadArgs {
    /// Sample rate (Hz) for files that do not state it (CSV without a time column).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Units of values for files that do not state them (CSV): mV, uV or V.
    #[arg(long, value_enum)]
    pub units: Option<UnitsArg>,
    /// Paper-ECG images: the print layout, when it is not detected (3x4, 3x4+II,
    /// 3x4+V1,II,V5, 3x5+II (15 leads), 6x2, 6x2+II, 6x2i+II, 12x1, 12x1i+II, partial; see `digitize --help`).
    #[arg(long, value_parser = parse_layout)]
    pub layout: Option<ecgdigitize::Layout>,
    /// Paper-ECG images: the trace rows' baselines, when rows are missed (see
    /// `digitize --help`), e.g. 0.18,0.40,0.62,0.85.
    #[arg(long, value_name = "FRACTIONS", value_parser = parse_rows)]
    pub rows: Option<ecgdigitize::RowPositions>,
}

/// Units of a file's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum UnitsArg {
    #[value(name = "mV")]
    Millivolt,
    #[value(name = "uV")]
    Microvolt,
    #[value(name = "V")]
    Volt,
}

impl UnitsArg {
    /// Millivolts per unit.
    pub fn mv_per_unit(self) -> f64 {
        match self {
            UnitsArg::Millivolt => 1.0,
            UnitsArg::Microvolt => 1.0e-3,
            UnitsArg::Volt => 1.0e3,
        }
    }
}

/// Paper size of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PaperArg {
    /// ISO A4 (297 × 210 mm, landscape).
    A4,
    /// US Letter (11 × 8.5 in, landscape).
    Letter,
}

impl From<PaperArg> for ecgreport::Paper {
    fn from(p: PaperArg) -> ecgreport::Paper {
        match p {
            PaperArg::A4 => ecgreport::Paper::A4,
            PaperArg::Letter => ecgreport::Paper::Letter,
        }
    }
}

/// `--layout`: a paper layout name.
fn parse_layout(text: &str) -> Result<ecgdigitize::Layout, String> {
    ecgdigitize::Layout::parse(text).ok_or_else(|| {
        format!(
            "{text:?} is not a layout: use 3x4, 3x4+II, 3x4+N (N rhythm strips), 3x4+V1,II,V5, \
             3x5, 3x5+II (15 leads: V4R, V8, V9 in a fifth column), 3x5(V3R,V4R,V7)+II, \
             6x2, 6x2+II, 6x2i (rows V1|V4 / I|aVR / …), 12x1, 12x1+II, 12x1i (rows V4, V1, aVR, I, …) \
             or partial (a crop showing some leads: each read by its printed label)"
        )
    })
}

/// `--rows`: the trace rows' baselines as fractions of the image height.
fn parse_rows(text: &str) -> Result<ecgdigitize::RowPositions, String> {
    ecgdigitize::RowPositions::parse(text).map_err(|e| {
        format!(
            "{e}: give each trace row's baseline, top to bottom, as a fraction of the \
             image height (0 = top edge, 1 = bottom edge) where the row crosses the image's \
             vertical centre line, separated by commas, e.g. --rows 0.18,0.40,0.62,0.85 \
             (1–16 rows, at least 5 mm apart)"
        )
    })
}

/// Which device runs the model.
#[derive(Debug, Clone, clap::Args, Default)]
pub struct ModelArgs {
    /// Device for the anomaly model: auto (CUDA when available), cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// Folder with the model weights and manifest.json (default: the shipped models/).
    #[arg(long)]
    pub models: Option<PathBuf>,
}

impl ModelArgs {
    /// The engine these arguments ask for.
    pub fn engine(&self) -> anyhow::Result<crate::pipeline::Engine> {
        let device = ecgmodel::parse_device(&self.device)?;
        let dir = self
            .models
            .clone()
            .or_else(crate::pipeline::find_models_dir);
        Ok(crate::pipeline::Engine::with_models(dir, Some(device)))
    }
}

impl ReadArgs {
    /// Digitizer settings for paper-ECG images.
    pub fn digitize_options(&self) -> ecgdigitize::DigitizeOptions {
        ecgdigitize::DigitizeOptions {
            layout: self.layout,
            rows: self.rows,
            ..ecgdigitize::DigitizeOptions::default()
        }
    }

    pub fn options(&self) -> ecgcore::formats::OpenOptions {
        ecgcore::formats::OpenOptions {
            sample_rate_hz: self.rate,
            mv_per_unit: self.units.map(UnitsArg::mv_per_unit),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Verb {
    /// Open a study (or a folder of studies) in the viewer.
    Open {
        file: PathBuf,
        /// A prior ECG of the same patient to compare with (serial comparison).
        #[arg(long, value_name = "PRIOR")]
        prior: Option<PathBuf>,
    },
    /// Analyse a study and print the result.
    Analyze {
        file: PathBuf,
        /// Print one JSON object to stdout.
        #[arg(long)]
        json: bool,
        /// Leave the per-sample anomaly maps out of the JSON (smaller output).
        #[arg(long)]
        no_maps: bool,
        /// Long EDF/BDF recordings: analyse the 10 s window starting here (seconds, mm:ss
        /// or hh:mm:ss; without it, the first 10 s of a recording over 300 s).
        #[arg(long, value_name = "TIME", value_parser = parse_start)]
        start: Option<f64>,
        /// A prior ECG of the same patient: add the serial comparison (what changed).
        #[arg(long, value_name = "PRIOR")]
        prior: Option<PathBuf>,
        #[command(flatten)]
        read: ReadArgs,
        #[command(flatten)]
        model: ModelArgs,
    },
    /// Evaluate the model on a manifest CSV (`path,label[,age,sex,class]`).
    Eval {
        manifest: PathBuf,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        model: ModelArgs,
    },
    /// Write the annotated PDF report of a study.
    Report {
        file: PathBuf,
        /// Output PDF.
        #[arg(short, long)]
        output: PathBuf,
        /// Paper size.
        #[arg(long, value_enum, default_value_t = PaperArg::A4)]
        paper: PaperArg,
        /// Add a second page with the baseline method side by side.
        #[arg(long)]
        baseline: bool,
        /// Replace OUTPUT if it exists.
        #[arg(long)]
        force: bool,
        /// A prior ECG of the same patient: add a comparison page.
        #[arg(long, value_name = "PRIOR")]
        prior: Option<PathBuf>,
        #[command(flatten)]
        read: ReadArgs,
        #[command(flatten)]
        model: ModelArgs,
    },
    /// Measure speed and memory (the figures the README quotes).
    Bench {
        /// Study to analyse (default: the built-in sample).
        #[arg(default_value = "assets/sample/00010_hr.hea")]
        file: PathBuf,
        #[arg(long)]
        json: bool,
        /// Repetitions per timing.
        #[arg(long, default_value_t = 30)]
        runs: usize,
    },
    /// Digitize a paper-ECG image (PNG, JPEG, TIFF, BMP, PDF page) to WFDB (or CSV).
    Digitize {
        image: PathBuf,
        /// Output record: NAME.hea (WFDB, 500 Hz, format 16) or NAME.csv.
        #[arg(short, long)]
        output: PathBuf,
        /// Replace existing output files.
        #[arg(long)]
        force: bool,
        /// Pixels per mm of paper (default: from the printed grid).
        #[arg(long)]
        px_per_mm: Option<f32>,
        /// Paper speed in mm/s (default: 50 when the calibration pulses are 10 mm wide, else 25).
        #[arg(long)]
        speed: Option<f32>,
        /// Gain in mm/mV (default: from the calibration pulse, else 10).
        #[arg(long)]
        gain: Option<f32>,
        /// Do not warp photos flat when the grid lines converge (perspective).
        #[arg(long)]
        no_perspective: bool,
        /// Print layout, when it is not detected: 3x4, 3x4+II, 3x4+N (N rhythm strips),
        /// 3x4+V1,II,V5, 3x5, 3x5+II (15 leads: three rows of five 2 s columns, V4R, V8, V9
        /// in the fifth; 3x5(V3R,V4R,V7)+II names them; the labels printed there win),
        /// 6x2, 6x2+II, 6x2i (rows V1|V4 / I|aVR / …), 12x1, 12x1+II,
        /// 12x1i (rows V4, V1, aVR, I, …), partial (a crop or close-up showing only some leads:
        /// each is read by its printed label, the others are missing).
        #[arg(long, value_parser = parse_layout)]
        layout: Option<ecgdigitize::Layout>,
        /// The trace rows' baselines set by hand, when rows are missed: top to bottom, each
        /// a fraction of the image height (0 = top edge, 1 = bottom edge) where the row
        /// crosses the image's vertical centre line, e.g. 0.18,0.40,0.62,0.85 for a 3x4+II
        /// page. They replace the rows found; each is moved onto the trace within 3 mm.
        /// With --layout give as many as it has rows; without, the layout is chosen from
        /// their number. `digitize` prints the rows it read in the same numbers.
        #[arg(long, value_name = "FRACTIONS", value_parser = parse_rows)]
        rows: Option<ecgdigitize::RowPositions>,
    },
}

/// The study's analysis with the reader's corrections saved in the viewer (when `edits`; a
/// line on stderr when saved ones cannot be used), and the prior's analysis when one is given.
fn reviewed(
    analysis: ecgcore::analysis::Analysis,
    file: &std::path::Path,
    edits: bool,
    prior: Option<&std::path::Path>,
    read: &ReadArgs,
    engine: &crate::pipeline::Engine,
) -> anyhow::Result<(
    ecgcore::analysis::Analysis,
    Option<ecgcore::analysis::Analysis>,
)> {
    let store = crate::edits::EditsStore::default_location().filter(|_| edits);
    let (analysis, warning) = crate::pipeline::with_saved_edits(analysis, file, store.as_ref());
    if let Some(w) = warning {
        eprintln!("ecgscope: {w}");
    }
    let prior = prior
        .map(|p| crate::pipeline::analyze_prior(p, &read.options(), engine))
        .transpose()?;
    Ok((analysis, prior))
}

/// `--start`: seconds, mm:ss or hh:mm:ss.
fn parse_start(text: &str) -> Result<f64, String> {
    ecgcore::formats::edf::parse_hms(text)
        .ok_or_else(|| format!("{text:?} is not a time (seconds, mm:ss or hh:mm:ss)"))
}

/// Verbs that read one study refuse a folder with what to do instead.
fn refuse_folder(path: &std::path::Path) -> anyhow::Result<()> {
    if path.is_dir() {
        anyhow::bail!(
            "{} is a folder; open it in the viewer with `ecgscope {}` to review its studies \
             one by one, or give one of its files here",
            path.display(),
            path.display()
        );
    }
    Ok(())
}

/// Run a verb; `Ok(())` = exit status 0.
pub fn run(verb: Verb) -> anyhow::Result<()> {
    match verb {
        Verb::Open { .. } => unreachable!("handled by main"),
        Verb::Analyze {
            file,
            json,
            no_maps,
            start,
            prior,
            read,
            model,
        } => {
            refuse_folder(&file)?;
            analyze::run(
                &file,
                json,
                !no_maps,
                start,
                prior.as_deref(),
                &read,
                &model,
            )
        }
        Verb::Eval {
            manifest,
            json,
            model,
        } => {
            let engine = model.engine()?;
            let analyzer = engine.analyzer().map_err(|e| anyhow::anyhow!("{e}"))?;
            let analyzer = analyzer
                .lock()
                .map_err(|_| anyhow::anyhow!("the model is unavailable"))?;
            let report = ecgmodel::eval::run(&manifest, &analyzer, true)?;
            // The report is structured data: pretty JSON either way (--json kept for
            // symmetry with analyze/bench).
            let _ = json;
            outln!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        Verb::Report {
            file,
            output,
            paper,
            baseline,
            force,
            prior,
            read,
            model,
        } => {
            refuse_folder(&file)?;
            report::run(
                &file,
                &output,
                paper,
                baseline,
                force,
                prior.as_deref(),
                &read,
                &model,
            )
        }
        Verb::Bench { file, json, runs } => bench::run(&file, json, runs),
        Verb::Digitize {
            image,
            output,
            force,
            px_per_mm,
            speed,
            gain,
            no_perspective,
            layout,
            rows,
        } => digitize::run(
            &image,
            &output,
            force,
            &ecgdigitize::DigitizeOptions {
                px_per_mm,
                speed_mm_per_s: speed,
                gain_mm_per_mv: gain,
                correct_perspective: no_perspective.then_some(false),
                layout,
                rows,
                ..ecgdigitize::DigitizeOptions::default()
            },
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_flag_takes_fifteen_lead_pages() {
        let l = parse_layout("3x5+II").unwrap();
        assert_eq!(l.to_string(), "3×5 (V4R, V8, V9) + II");
        assert_eq!(parse_layout(&l.to_string()), Ok(l));
        let l = parse_layout("3x5(V3R,V4R,V7)").unwrap();
        assert_eq!(l.rows(), 3);
        let err = parse_layout("3x5(V4R,V8)").unwrap_err();
        assert!(err.contains("3x5+II"), "{err}");
    }
}
