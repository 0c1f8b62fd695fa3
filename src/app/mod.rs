//! The application: state, background jobs and the once-per-frame application of the
//! commands the panels emit.
//!
//! Panels (in `ui/`) never change state directly: they return [`Command`]s, applied at the
//! end of the frame by [`EcgApp::apply`]. Opening a file (or another window of a long
//! EDF/BDF recording), the file dialog and the analysis run on named background threads
//! whose results are polled each frame, so the UI thread never blocks on I/O or inference.

pub mod folder;
pub mod jobs;
pub mod settings;
pub mod view;

use crate::pipeline::{self, Engine};
use ecgcore::analysis::Analysis;
use ecgcore::formats::edf;
use ecgcore::Recording;
use jobs::Job;
use settings::{FilterSettings, Layout, Settings};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Something a panel asks the app to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    OpenDialog,
    Open(PathBuf),
    /// Pick a prior ECG of the patient to compare with.
    OpenPriorDialog,
    /// Open a prior ECG of the patient and compare the current study with it.
    OpenPrior(PathBuf),
    /// Close the selected prior.
    ClosePrior,
    /// Compare with the prior at this index of `priors`.
    SelectPrior(usize),
    /// Show the serial comparison instead of the paper view (when a prior is open).
    ShowComparison(bool),
    /// The reader's corrections of the study's measurements (replacing earlier ones; empty
    /// = revert to automatic).
    EditMeasurements(ecgcore::review::MeasurementEdits),
    /// Show the measurement review window.
    ShowReview(bool),
    ExportPdfDialog,
    SetLayout(Layout),
    SetSpeed(f32),
    SetGain(f32),
    SetFilters(FilterSettings),
    SetScreenCalibration(f32),
    SetSingleLead(usize),
    SetCaliperMode(bool),
    ClearCaliper,
    /// A click on the paper in caliper mode (paper millimetres).
    CaliperClick(egui::Pos2),
    ShowCalibrationWindow(bool),
    ShowAbout(bool),
    SetOverlay(bool),
    SetOverlayOpacity(f32),
    SetCompare(bool),
    /// Show the scanned image with the traces read from it (digitized studies).
    ShowSourceImage(bool),
    /// Run the digitizer again with corrected settings (on the open page, or on the page
    /// it could not read).
    Redigitize(ecgdigitize::DigitizeOptions),
    /// Put away a page the digitizer could not read.
    CloseUnreadPage,
    /// Show the window of a long EDF/BDF recording that starts this many seconds in.
    ShowWindow(f64),
    /// Scroll the tracing to a lead at a time and highlight it.
    JumpTo {
        lead: String,
        time_s: f64,
    },
    DismissMessage,
    Quit,
    /// A folder of studies (`app::folder`): pick one, open one, move through its studies.
    OpenFolderDialog,
    OpenFolder(PathBuf),
    OpenFolderEntry(usize),
    NextStudy,
    PreviousStudy,
    CloseFolder,
}

/// How serious a message to the user is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Info,
    Warning,
    Error,
}

/// The open study.
pub struct Study {
    /// Unique per opened study.
    pub id: u64,
    pub path: PathBuf,
    /// As read from the file.
    pub original: Arc<Recording>,
    /// With the display filters applied (what the paper shows).
    pub display: Recording,
    /// Changes whenever `display` changes.
    pub display_generation: u64,
    /// What the digitizer read, for a paper image.
    pub digitized: Option<ecgdigitize::Digitized>,
    /// The settings the digitizer ran with (what the user may correct).
    pub digitize_options: ecgdigitize::DigitizeOptions,
    /// The scanned image (downscaled) and its texture once uploaded.
    pub source_image: Option<egui::ColorImage>,
    pub source_texture: Option<egui::TextureHandle>,
    /// Show the scan instead of the paper view.
    pub show_source: bool,
    /// Measurements and model outputs, once the background analysis is done, with the
    /// reader's corrections applied.
    pub analysis: Option<Analysis>,
    /// The analysis as computed (automatic measurements).
    pub automatic: Option<Analysis>,
    /// The reader's corrections (saved in the app's data folder).
    pub edits: ecgcore::review::MeasurementEdits,
    /// The study file's fingerprint when corrections can be saved for it (not for a window
    /// of a long recording).
    pub edits_fingerprint: Option<String>,
    /// Segments and map disagreement, derived once from `analysis`.
    pub findings: ecgsession::StudyFindings,
    pub analysis_generation: u64,
    /// For a long EDF/BDF recording: which window of the file `original` holds.
    pub edf: Option<pipeline::EdfPaging>,
}

/// A prior ECG of the patient, opened for serial comparison.
pub struct Prior {
    pub path: PathBuf,
    pub analysis: Analysis,
    pub findings: ecgsession::StudyFindings,
    /// Current vs prior; `None` until the current study is analysed.
    pub comparison: Option<ecgsession::comparison::Comparison>,
}

/// What the opening job delivers.
pub struct Loaded {
    pub opened: pipeline::Opened,
    /// Saved corrections (or why they could not be used) and the file's fingerprint.
    pub edits: Result<Option<ecgcore::review::MeasurementEdits>, String>,
    pub fingerprint: Option<String>,
    pub options: ecgdigitize::DigitizeOptions,
    pub source_image: Option<egui::ColorImage>,
}

/// A page image the digitizer could not read, kept with its error and the settings it
/// was tried with so that the user can set the layout and grid by hand and re-run.
pub struct UnreadPage {
    pub path: PathBuf,
    pub error: String,
    /// The trace rows the failed read found (fractions of the image height): the row
    /// bands start there.
    pub found_rows: Vec<f32>,
    pub options: ecgdigitize::DigitizeOptions,
    pub image: Option<egui::ColorImage>,
    pub texture: Option<egui::TextureHandle>,
}

/// A scan decoded for display (at most 2048 px a side: the largest texture side every GPU
/// backend and wgpu's downlevel limits accept; overlays are drawn in image coordinates,
/// so only the displayed bitmap is reduced).
fn preview_image(path: &Path) -> Option<egui::ColorImage> {
    let img = image::ImageReader::open(path)
        .ok()?
        .with_guessed_format()
        .ok()?
        .decode()
        .ok()?;
    let img = img.thumbnail(2048, 2048).to_rgba8();
    let size = [img.width() as usize, img.height() as usize];
    Some(egui::ColorImage::from_rgba_unmultiplied(size, img.as_raw()))
}

/// Open a file (digitizing images with `options`) and decode a scan for display.
/// Why a file did not open, and for a paper page the rows its failed read found.
#[derive(Debug, Clone, Default)]
pub struct LoadError {
    pub message: String,
    pub found_rows: Vec<f32>,
}

impl From<String> for LoadError {
    fn from(message: String) -> Self {
        LoadError {
            message,
            found_rows: Vec::new(),
        }
    }
}

fn load(
    path: &Path,
    options: ecgdigitize::DigitizeOptions,
    store: Option<crate::edits::EditsStore>,
) -> Result<Loaded, LoadError> {
    let opened = pipeline::open_any(path, &ecgcore::formats::OpenOptions::default(), &options)
        .map_err(|e| LoadError {
            found_rows: e
                .downcast_ref::<ecgdigitize::DigitizeError>()
                .map(|d| d.found_rows().to_vec())
                .unwrap_or_default(),
            message: format!("{e:#}"),
        })?;
    // Corrections are kept per file; a long EDF/BDF recording is read in windows, which
    // are not corrected.
    let store = store.filter(|_| opened.edf.is_none());
    let fingerprint = store
        .as_ref()
        .and_then(|_| crate::edits::EditsStore::fingerprint(path).ok());
    let edits = store.map_or(Ok(None), |s| s.load(path));
    let source_image = opened.digitized.as_ref().and_then(|_| preview_image(path));
    Ok(Loaded {
        opened,
        edits,
        fingerprint,
        options,
        source_image,
    })
}

/// Read the window of a long EDF/BDF file that starts at `start_s` (the file's
/// annotations, read when it was opened, are passed along).
fn load_window(
    path: &Path,
    start_s: f64,
    annotations: Arc<Vec<edf::EdfAnnotation>>,
) -> Result<Loaded, LoadError> {
    let opened =
        pipeline::open_edf_window(path, start_s, pipeline::Annotations::Known(annotations))
            .map_err(|e| LoadError::from(format!("{e:#}")))?;
    Ok(Loaded {
        opened,
        edits: Ok(None),
        fingerprint: None,
        options: ecgdigitize::DigitizeOptions::default(),
        source_image: None,
    })
}

/// Whether a file dropped at `pos` goes to the "prior" target: the right third of the
/// window, offered only while a study is open.
pub fn drop_is_prior(study_open: bool, pos: Option<egui::Pos2>, window: egui::Rect) -> bool {
    study_open && pos.is_some_and(|p| p.x >= prior_drop_zone(window).min.x)
}

/// The "prior" drop target (the right third of the window).
pub fn prior_drop_zone(window: egui::Rect) -> egui::Rect {
    egui::Rect::from_min_max(
        egui::pos2(window.max.x - window.width() / 3.0, window.min.y),
        window.max,
    )
}

/// The file dialog for an ECG to open, on its own thread.
fn open_file_dialog(title: &'static str) -> Job<Option<PathBuf>> {
    Job::spawn("ecgscope-file-dialog", move || {
        rfd::FileDialog::new()
            .set_title(title)
            .add_filter(
                "ECG files",
                &[
                    "hea", "csv", "txt", "scp", "xml", "dcm", "edf", "bdf", "png", "jpg", "jpeg",
                    "tif", "tiff", "bmp", "pdf",
                ],
            )
            .add_filter("All files", &["*"])
            .pick_file()
    })
}

/// ecgscope's GUI state.
pub struct EcgApp {
    pub settings: Settings,
    settings_path: Option<PathBuf>,
    pub study: Option<Study>,
    /// Prior ECGs of the patient, in the order opened; the study is compared with the
    /// selected one, and all of them make the trend.
    pub priors: Vec<Prior>,
    pub selected_prior: usize,
    /// Show the comparison view (when a prior is open).
    pub show_comparison: bool,
    /// Calipers and jumps of the paper view.
    pub paper: view::PaperView,
    pub message: Option<(Severity, String)>,
    pub show_calibration_window: bool,
    pub show_about: bool,
    pub show_review: bool,
    /// Where measurement corrections are saved (`None`: kept only while the study is open).
    pub edits_store: Option<crate::edits::EditsStore>,
    engine: Arc<Engine>,
    loading: Option<(PathBuf, Job<Result<Loaded, LoadError>>)>,
    /// The digitizer settings of the file being opened (for a page it cannot read).
    loading_options: ecgdigitize::DigitizeOptions,
    /// A page image the digitizer could not read, shown with its settings to correct.
    pub unread_page: Option<UnreadPage>,
    prior_loading: Option<(PathBuf, Job<Result<Analysis, String>>)>,
    prior_dialog: Option<Job<Option<PathBuf>>>,
    /// (study id, job).
    analysing: Option<(u64, Job<Analysis>)>,
    dialog: Option<Job<Option<PathBuf>>>,
    export_dialog: Option<Job<Option<PathBuf>>>,
    generation: u64,
    quit_requested: bool,
    /// Close the window once the first frame with the analysed study is drawn (used by
    /// `ecgscope bench` to time cold start to an analysed first frame).
    pub exit_when_analysed: bool,
    /// The open folder of studies, if any.
    pub folder: Option<folder::Folder>,
    folder_dialog: Option<Job<Option<PathBuf>>>,
}

impl EcgApp {
    /// A new app with the given settings; `settings_path` = where to persist them
    /// (`None` in tests). `open` is opened at once (in the background).
    pub fn new(
        settings: Settings,
        settings_path: Option<PathBuf>,
        engine: Arc<Engine>,
        open: Option<PathBuf>,
        warning: Option<String>,
    ) -> EcgApp {
        let mut app = EcgApp {
            settings,
            settings_path,
            study: None,
            priors: Vec::new(),
            selected_prior: 0,
            show_comparison: false,
            paper: view::PaperView::default(),
            message: warning.map(|w| (Severity::Warning, w)),
            show_calibration_window: false,
            show_about: false,
            show_review: false,
            edits_store: None,
            engine,
            loading: None,
            loading_options: ecgdigitize::DigitizeOptions::default(),
            unread_page: None,
            prior_loading: None,
            prior_dialog: None,
            analysing: None,
            dialog: None,
            export_dialog: None,
            generation: 0,
            quit_requested: false,
            exit_when_analysed: false,
            folder: None,
            folder_dialog: None,
        };
        if let Some(path) = open {
            app.apply(Command::Open(path));
        }
        app
    }

    /// The prior the study is compared with.
    pub fn prior(&self) -> Option<&Prior> {
        self.priors.get(self.selected_prior)
    }

    /// Whether a background job is running (the GUI shows a spinner).
    pub fn busy(&self) -> Option<&'static str> {
        if self.loading.is_some() {
            Some("Opening…")
        } else if self.analysing.is_some() {
            Some("Analysing…")
        } else if self.prior_loading.is_some() {
            Some("Opening the prior ECG…")
        } else {
            None
        }
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    fn next_generation(&mut self) -> u64 {
        self.generation += 1;
        self.generation
    }

    /// Apply one command.
    pub fn apply(&mut self, command: Command) {
        match command {
            Command::OpenDialog => {
                if self.dialog.is_none() {
                    self.dialog = Some(open_file_dialog("Open an ECG"));
                }
            }
            Command::OpenPriorDialog => {
                if self.prior_dialog.is_none() {
                    self.prior_dialog = Some(open_file_dialog(
                        "Open a prior ECG of the patient to compare with",
                    ));
                }
            }
            Command::OpenPrior(path) => {
                let engine = Arc::clone(&self.engine);
                let p = path.clone();
                self.prior_loading = Some((
                    path,
                    Job::spawn("ecgscope-open-prior", move || {
                        pipeline::analyze_prior(
                            &p,
                            &ecgcore::formats::OpenOptions::default(),
                            &engine,
                        )
                        .map_err(|e| format!("{e:#}"))
                    }),
                ));
            }
            Command::ClosePrior => {
                if self.selected_prior < self.priors.len() {
                    self.priors.remove(self.selected_prior);
                }
                self.selected_prior = self.priors.len().saturating_sub(1);
                self.show_comparison &= !self.priors.is_empty();
            }
            Command::SelectPrior(i) => {
                if i < self.priors.len() {
                    self.selected_prior = i;
                }
            }
            Command::ShowComparison(show) => self.show_comparison = show && !self.priors.is_empty(),
            Command::ShowReview(show) => self.show_review = show,
            Command::EditMeasurements(edits) => self.edit_measurements(edits),
            Command::ExportPdfDialog => {
                if self.export_dialog.is_none() {
                    let suggested = self
                        .study
                        .as_ref()
                        .and_then(|s| s.path.file_stem())
                        .map_or_else(
                            || "ecgscope-report.pdf".into(),
                            |s| format!("{}-ecgscope.pdf", s.to_string_lossy()),
                        );
                    // rfd's save dialog asks before replacing an existing file.
                    self.export_dialog = Some(Job::spawn("ecgscope-save-dialog", move || {
                        rfd::FileDialog::new()
                            .set_title("Export PDF report")
                            .set_file_name(suggested)
                            .add_filter("PDF", &["pdf"])
                            .save_file()
                    }));
                }
            }
            Command::Open(path) if path.is_dir() => self.apply(Command::OpenFolder(path)),
            Command::Open(path) => {
                let p = path.clone();
                let store = self.edits_store.clone();
                self.loading_options = ecgdigitize::DigitizeOptions::default();
                self.loading = Some((
                    path,
                    Job::spawn("ecgscope-open", move || {
                        load(&p, ecgdigitize::DigitizeOptions::default(), store)
                    }),
                ));
            }
            Command::Redigitize(options) => {
                // The unread page when there is one (it is what the user sees), else
                // the open study's page.
                let path = self
                    .unread_page
                    .as_ref()
                    .map(|u| u.path.clone())
                    .or_else(|| self.study.as_ref().map(|s| s.path.clone()));
                if let Some(p) = path {
                    let store = self.edits_store.clone();
                    self.loading_options = options;
                    self.loading = Some((
                        p.clone(),
                        Job::spawn("ecgscope-digitize", move || load(&p, options, store)),
                    ));
                }
            }
            Command::CloseUnreadPage => {
                self.unread_page = None;
                self.message = None;
            }
            Command::ShowWindow(start_s) => {
                if let Some((study, paging)) = self
                    .study
                    .as_ref()
                    .and_then(|s| s.edf.as_ref().map(|e| (s, e)))
                {
                    let p = study.path.clone();
                    let annotations = Arc::clone(&paging.annotations);
                    self.loading = Some((
                        p.clone(),
                        Job::spawn("ecgscope-edf-window", move || {
                            load_window(&p, start_s, annotations)
                        }),
                    ));
                }
            }
            Command::ShowSourceImage(show) => {
                if let Some(study) = &mut self.study {
                    study.show_source = show;
                }
            }
            Command::SetLayout(l) => self.settings.layout = l,
            Command::SetSpeed(s) => self.settings.speed_mm_per_s = s,
            Command::SetGain(g) => self.settings.gain_mm_per_mv = g,
            Command::SetFilters(f) => {
                self.settings.filters = f;
                self.refilter();
            }
            Command::SetScreenCalibration(c) => {
                self.settings.screen_calibration = c.clamp(0.25, 4.0);
            }
            Command::SetSingleLead(i) => self.settings.single_lead = i.min(11),
            Command::SetCaliperMode(on) => {
                self.paper.caliper_mode = on;
                if !on {
                    self.paper.caliper = view::Caliper::default();
                }
            }
            Command::ClearCaliper => self.paper.caliper = view::Caliper::default(),
            Command::ShowCalibrationWindow(show) => self.show_calibration_window = show,
            Command::ShowAbout(show) => self.show_about = show,
            Command::SetOverlay(on) => self.settings.show_overlay = on,
            Command::SetOverlayOpacity(o) => self.settings.overlay_opacity = o.clamp(0.0, 1.0),
            Command::SetCompare(on) => self.settings.compare = on,
            Command::JumpTo { lead, time_s } => {
                let id = self.next_generation();
                self.paper.jump = Some(view::Jump { lead, time_s, id });
            }
            Command::CaliperClick(at_mm) => {
                if self.paper.caliper_mode {
                    self.paper.caliper.click(at_mm);
                }
            }
            Command::DismissMessage => self.message = None,
            Command::Quit => {
                if let Some(f) = &mut self.folder {
                    f.cancel();
                }
                self.quit_requested = true;
            }
            c @ (Command::OpenFolderDialog
            | Command::OpenFolder(_)
            | Command::OpenFolderEntry(_)
            | Command::NextStudy
            | Command::PreviousStudy
            | Command::CloseFolder) => self.apply_folder(c),
        }
    }

    /// Apply the reader's corrections: checked, applied to the automatic measurements
    /// (findings and comparison follow) and saved.
    fn edit_measurements(&mut self, edits: ecgcore::review::MeasurementEdits) {
        if let Err(e) = edits.check() {
            self.message = Some((Severity::Warning, e));
            return;
        }
        let Some(study) = &mut self.study else {
            return;
        };
        if study.edits == edits {
            return;
        }
        study.edits = edits;
        if let Some(auto) = &study.automatic {
            let a = auto.with_edits(&edits);
            study.findings = ecgsession::StudyFindings::of(&a);
            study.analysis = Some(a);
        }
        let saved = match (&self.edits_store, &study.edits_fingerprint) {
            (Some(store), Some(fp)) => store.save(&study.path, fp, &edits),
            _ => Ok(()),
        };
        if let Err(e) = saved {
            self.message = Some((Severity::Warning, e));
        }
        self.refresh_comparison();
    }

    /// Compare the analysed study with the prior (when both are there).
    fn refresh_comparison(&mut self) {
        let current = self.study.as_ref().and_then(|s| s.analysis.as_ref());
        for prior in &mut self.priors {
            prior.comparison =
                current.map(|a| ecgsession::comparison::Comparison::of(a, &prior.analysis));
        }
    }

    /// Recompute the filtered display copy of the study.
    fn refilter(&mut self) {
        let generation = self.next_generation();
        if let Some(study) = &mut self.study {
            study.display = self.settings.filters.apply(&study.original);
            study.display_generation = generation;
        }
    }

    /// Poll background jobs; call once per frame.
    pub fn poll(&mut self) {
        self.poll_folder();
        if let Some(job) = &self.dialog {
            if let Some(result) = job.try_take() {
                self.dialog = None;
                match result {
                    Ok(Some(path)) => self.apply(Command::Open(path)),
                    Ok(None) => {}
                    Err(e) => self.message = Some((Severity::Error, e)),
                }
            }
        }
        if let Some(job) = &self.export_dialog {
            if let Some(result) = job.try_take() {
                self.export_dialog = None;
                match result {
                    Ok(Some(path)) => self.export_pdf(&path),
                    Ok(None) => {}
                    Err(e) => self.message = Some((Severity::Error, e)),
                }
            }
        }
        if let Some(job) = &self.prior_dialog {
            if let Some(result) = job.try_take() {
                self.prior_dialog = None;
                match result {
                    Ok(Some(path)) => self.apply(Command::OpenPrior(path)),
                    Ok(None) => {}
                    Err(e) => self.message = Some((Severity::Error, e)),
                }
            }
        }
        if let Some((path, job)) = &self.prior_loading {
            if let Some(result) = job.try_take() {
                let path = path.clone();
                self.prior_loading = None;
                match result.and_then(|r| r) {
                    Ok(analysis) => {
                        let prior = Prior {
                            findings: ecgsession::StudyFindings::of(&analysis),
                            analysis,
                            comparison: None,
                            path,
                        };
                        // The same file opened again replaces its earlier copy.
                        if let Some(i) = self.priors.iter().position(|p| p.path == prior.path) {
                            self.priors[i] = prior;
                            self.selected_prior = i;
                        } else {
                            self.priors.push(prior);
                            self.selected_prior = self.priors.len() - 1;
                        }
                        self.show_comparison = true;
                        self.refresh_comparison();
                    }
                    Err(e) => self.message = Some((Severity::Error, e)),
                }
            }
        }
        if let Some((path, job)) = &self.loading {
            if let Some(result) = job.try_take() {
                let path = path.clone();
                self.loading = None;
                match result.map_err(LoadError::from).and_then(|r| r) {
                    Ok(loaded) => self.set_study(path, loaded),
                    Err(e) if pipeline::is_image(&path) => {
                        // Never a dead end: keep the page, its error and its settings.
                        let keep = self.unread_page.take().filter(|u| u.path == path);
                        self.unread_page = Some(UnreadPage {
                            image: keep.as_ref().map_or_else(|| preview_image(&path), |_| None),
                            texture: keep.and_then(|u| u.texture),
                            path,
                            error: e.message,
                            found_rows: e.found_rows,
                            options: self.loading_options,
                        });
                        // The page's own panel shows the error.
                        self.message = None;
                    }
                    Err(e) => self.message = Some((Severity::Error, e.message)),
                }
            }
        }
        if let Some((study_id, job)) = &self.analysing {
            if let Some(result) = job.try_take() {
                let study_id = *study_id;
                self.analysing = None;
                let analysis = match result {
                    Ok(a) => a,
                    Err(e) => {
                        self.message = Some((Severity::Error, e));
                        return;
                    }
                };
                let generation = self.next_generation();
                // A result for a study that has since been replaced is dropped.
                if let Some(study) = self.study.as_mut().filter(|s| s.id == study_id) {
                    let corrected = analysis.with_edits(&study.edits);
                    study.findings = ecgsession::StudyFindings::of(&corrected);
                    study.analysis = Some(corrected);
                    study.automatic = Some(analysis);
                    study.analysis_generation = generation;
                }
                self.refresh_comparison();
            }
        }
    }

    fn set_study(&mut self, path: PathBuf, loaded: Loaded) {
        self.unread_page = None;
        self.settings.remember(&path);
        // A paper page opens in the layout it was printed in, one that shows all of every
        // lead (a 6×2 or 12×1 page in the 3×4 view would show half of each lead or less);
        // the same page read again keeps the view the user chose, if it shows them all.
        if loaded.opened.digitized.is_some() {
            let rec = &loaded.opened.recording;
            let same_page = self.study.as_ref().is_some_and(|s| s.path == path);
            if !(same_page && self.settings.layout.shows_every_lead_whole(rec)) {
                self.settings.layout = Layout::for_page(rec, self.settings.layout);
            }
        }
        if let Some(f) = &mut self.folder {
            f.note_opened(&path);
        }
        self.save_settings();
        let show_source = loaded.opened.digitized.is_some()
            && self
                .study
                .as_ref()
                .is_some_and(|s| s.path == path && s.show_source);
        // A prior belongs to the patient of the study it was opened with: another file
        // drops it (a new window of the same EDF or a re-digitized page keeps it).
        if self.study.as_ref().is_none_or(|s| s.path != path) {
            self.priors.clear();
            self.selected_prior = 0;
            self.show_comparison = false;
        }
        let original = Arc::new(loaded.opened.recording);
        let display = self.settings.filters.apply(&original);
        let generation = self.next_generation();
        self.paper.caliper = view::Caliper::default();
        self.message = None;
        let edits = match loaded.edits {
            Ok(e) => e.unwrap_or_default(),
            Err(why) => {
                self.message = Some((Severity::Warning, why));
                ecgcore::review::MeasurementEdits::default()
            }
        };
        self.study = Some(Study {
            id: generation,
            path,
            original: Arc::clone(&original),
            display,
            display_generation: generation,
            digitized: loaded.opened.digitized,
            digitize_options: loaded.options,
            source_image: loaded.source_image,
            source_texture: None,
            show_source,
            analysis: None,
            automatic: None,
            edits,
            edits_fingerprint: loaded.fingerprint,
            findings: ecgsession::StudyFindings::default(),
            analysis_generation: 0,
            edf: loaded.opened.edf,
        });
        let engine = Arc::clone(&self.engine);
        self.analysing = Some((
            generation,
            Job::spawn("ecgscope-analysis", move || {
                // The score reference is read here too, off the UI thread.
                let _ = engine.score_reference();
                pipeline::analyze(&original, &engine)
            }),
        ));
    }

    fn export_pdf(&mut self, path: &Path) {
        let Some(study) = &self.study else {
            return;
        };
        let analysis = study.analysis.clone().unwrap_or_else(|| Analysis {
            recording: (*study.original).clone(),
            ..Analysis::default()
        });
        // The save dialog already confirmed replacing an existing file.
        match pipeline::write_report(
            &analysis,
            self.prior().map(|p| &p.analysis),
            &self.settings.filters,
            ecgreport::Paper::A4,
            path,
            true,
            true,
        ) {
            Ok(()) => {
                self.message = Some((
                    Severity::Info,
                    format!("Report written: {}", path.display()),
                ));
            }
            Err(e) => self.message = Some((Severity::Error, format!("{e:#}"))),
        }
    }

    /// Persist settings (errors are reported, not fatal).
    pub fn save_settings(&mut self) {
        if let Some(path) = &self.settings_path {
            if let Err(e) = self.settings.save(path) {
                log::warn!("could not save settings: {e}");
            }
        }
    }

    /// Block until background jobs are done (tests and screenshots only).
    pub fn wait_for_jobs(&mut self, timeout: std::time::Duration) {
        let start = std::time::Instant::now();
        while (self.loading.is_some() || self.analysing.is_some() || self.prior_loading.is_some())
            && start.elapsed() < timeout
        {
            self.poll();
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    /// One frame: poll the jobs, let `draw` (the panels, which read the state and return
    /// commands) draw, then apply the commands. The GUI shell passes the app's panels.
    pub fn frame_with(
        &mut self,
        ui: &mut egui::Ui,
        draw: impl FnOnce(&mut egui::Ui, &EcgApp) -> Vec<Command>,
    ) {
        self.poll();
        if let Some(page) = &mut self.unread_page {
            if let Some(img) = page.image.take() {
                page.texture = Some(ui.ctx().load_texture(
                    "unread-page",
                    img,
                    egui::TextureOptions::LINEAR,
                ));
            }
        }
        if let Some(study) = &mut self.study {
            if study.source_texture.is_none() {
                if let Some(img) = study.source_image.take() {
                    study.source_texture = Some(ui.ctx().load_texture(
                        "source-image",
                        img,
                        egui::TextureOptions::LINEAR,
                    ));
                }
            }
        }
        let commands = draw(ui, self);
        let settings_before = self.settings.clone();
        for c in commands {
            self.apply(c);
        }
        if self.settings != settings_before {
            self.save_settings();
        }
        if self.busy().is_some()
            || self.dialog.is_some()
            || self.export_dialog.is_some()
            || self.prior_dialog.is_some()
            || self.folder_busy()
        {
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(50));
        }
        if self.exit_when_analysed && !self.quit_requested {
            if let Some((study, analysis)) = self
                .study
                .as_ref()
                .and_then(|s| s.analysis.as_ref().map(|a| (s, a)))
            {
                // This frame shows the analysed study; close after it is presented, and
                // say what was shown (for start-up checks and the benchmark).
                let model = analysis.anomaly.as_ref().map_or_else(
                    || {
                        format!(
                            "no model output: {}",
                            analysis.model_status.as_deref().unwrap_or("unknown")
                        )
                    },
                    |m| format!("anomaly model on {}", m.device),
                );
                println!("ecgscope: analysed {} ({model})", study.path.display());
                self.quit_requested = true;
                ui.ctx().request_repaint();
            }
        }
        if self.quit_requested {
            ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
        }
        // Files dropped on the window: on the "prior" target (the right third, shown while
        // a file is dragged over an open study) as the prior, elsewhere as the study.
        let (dropped, pos, screen): (Vec<PathBuf>, _, _) = ui.ctx().input(|i| {
            (
                i.raw
                    .dropped_files
                    .iter()
                    .map(|f| f.path().to_path_buf())
                    .filter(|p| !p.as_os_str().is_empty())
                    .collect(),
                i.pointer.latest_pos(),
                i.content_rect(),
            )
        });
        if let Some(path) = dropped.into_iter().next() {
            if drop_is_prior(self.study.is_some(), pos, screen) {
                self.apply(Command::OpenPrior(path));
            } else {
                self.apply(Command::Open(path));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_dropped_on_the_right_third_of_an_open_study_is_the_prior() {
        let window = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(1500.0, 900.0));
        let right = Some(egui::pos2(1200.0, 400.0));
        let left = Some(egui::pos2(300.0, 400.0));
        assert!(drop_is_prior(true, right, window));
        assert!(!drop_is_prior(true, left, window));
        // Nothing to compare with yet, or no pointer position: opened as the study.
        assert!(!drop_is_prior(false, right, window));
        assert!(!drop_is_prior(true, None, window));
    }
}
