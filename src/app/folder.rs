//! A folder of studies: the list of the studies in one folder (not its subfolders), each
//! opened and analysed in the background on one named worker thread, and the position of
//! the study being reviewed (next/previous).
//!
//! The worker streams one status per entry through a channel that the app polls each
//! frame; it stops when the folder is closed, another folder is opened or the app quits
//! (a cancel flag, checked between studies). A file that cannot be read, or whose
//! analysis panics, becomes that entry's error and the worker goes on with the next.

use super::jobs::Job;
use super::{Command, EcgApp, Severity};
use crate::pipeline::{self, Engine};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};

/// Most studies listed from one folder.
pub const MAX_ENTRIES: usize = 2000;

/// Extensions of the files listed as studies (a WFDB record by its `.hea`).
pub const STUDY_EXTENSIONS: [&str; 16] = [
    "hea", "csv", "txt", "scp", "xml", "dcm", "edf", "bdf", "png", "jpg", "jpeg", "tif", "tiff",
    "bmp", "pdf", "webp",
];

/// File stems that are documentation next to data, never studies (README.txt, …).
const NOT_STUDIES: [&str; 9] = [
    "readme",
    "license",
    "licence",
    "copying",
    "changelog",
    "provenance",
    "sha256sums",
    "md5sums",
    "records",
];

/// What the list shows about a study once it is opened.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StudyInfo {
    pub patient_id: Option<String>,
    pub acquisition_time: Option<String>,
    pub format: String,
}

/// The model's verdict on a study (from `ecgsession::StudyFindings`).
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub abnormal: bool,
    /// Within the borderline band around the threshold.
    pub borderline: bool,
    /// "outside the normal range", "borderline, just within the normal range", ….
    pub short: String,
    /// "score 1.83 (threshold 1.20)".
    pub score_line: String,
    /// "Outside/Within the range of …".
    pub verdict: String,
}

/// A study analysed.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub info: StudyInfo,
    /// `None` when the model could not run (`model_status` says why).
    pub verdict: Option<Verdict>,
    pub model_status: Option<String>,
    pub heart_rate_bpm: Option<f32>,
}

/// Where a study of the list stands.
#[derive(Debug, Clone, PartialEq)]
pub enum EntryStatus {
    Pending,
    /// Opened; the analysis is running.
    Analysing(StudyInfo),
    Done(Summary),
    /// The file and what is wrong with it.
    Error(String),
}

impl EntryStatus {
    /// Opened and analysed, or failed.
    pub fn finished(&self) -> bool {
        matches!(self, EntryStatus::Done(_) | EntryStatus::Error(_))
    }

    pub fn info(&self) -> Option<&StudyInfo> {
        match self {
            EntryStatus::Analysing(info) => Some(info),
            EntryStatus::Done(s) => Some(&s.info),
            _ => None,
        }
    }
}

/// One study of the folder.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub path: PathBuf,
    pub status: EntryStatus,
}

impl Entry {
    /// The file name as shown in the list.
    pub fn name(&self) -> String {
        file_name(&self.path)
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Whether a file of a folder is listed as a study: a supported extension, not hidden,
/// not a WFDB record's data or annotation file, not documentation.
pub fn is_study_file(path: &Path) -> bool {
    let name = file_name(path);
    if name.starts_with('.') || name.starts_with('~') {
        return false;
    }
    let Some(ext) = path.extension().and_then(|e| e.to_str()) else {
        return false;
    };
    let ext = ext.to_ascii_lowercase();
    if !STUDY_EXTENSIONS.contains(&ext.as_str()) {
        return false;
    }
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    !NOT_STUDIES.contains(&stem.as_str())
}

/// The studies of `dir` (not its subfolders), sorted by name, at most [`MAX_ENTRIES`];
/// the second value says how many were left out, when some were.
pub fn scan(dir: &Path) -> Result<(Vec<PathBuf>, Option<String>), String> {
    let read = std::fs::read_dir(dir)
        .map_err(|e| format!("could not read the folder {}: {e}", dir.display()))?;
    let mut paths: Vec<PathBuf> = read
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| !t.is_dir()))
        .map(|e| e.path())
        .filter(|p| p.is_file() && is_study_file(p))
        .collect();
    paths.sort_by_key(|p| file_name(p).to_lowercase());
    let notice = (paths.len() > MAX_ENTRIES).then(|| {
        format!(
            "{} has {} studies; the first {MAX_ENTRIES} (by name) are listed",
            dir.display(),
            paths.len()
        )
    });
    paths.truncate(MAX_ENTRIES);
    Ok((paths, notice))
}

/// How the worker opens and analyses one study (replaced in tests).
type Summarise = fn(&Path, &Engine, &dyn Fn(StudyInfo)) -> Result<Summary, String>;

/// Open and analyse one study (on the worker thread); `opened` hears of it once it is open.
fn summarise(path: &Path, engine: &Engine, opened: &dyn Fn(StudyInfo)) -> Result<Summary, String> {
    let study = pipeline::open_any(
        path,
        &ecgcore::formats::OpenOptions::default(),
        &ecgdigitize::DigitizeOptions::default(),
    )
    .map_err(|e| {
        format!(
            "{}: {}",
            file_name(path),
            format!("{e:#}").replace('\n', " ")
        )
    })?;
    let rec = study.recording;
    let info = StudyInfo {
        patient_id: rec.patient.id.clone(),
        acquisition_time: rec.provenance.acquisition_time.clone(),
        format: rec.provenance.format.clone(),
    };
    opened(info.clone());
    let analysis = pipeline::analyze(&rec, engine);
    let findings = ecgsession::StudyFindings::of(&analysis);
    Ok(Summary {
        info,
        verdict: findings.ours.map(|o| Verdict {
            abnormal: o.abnormal,
            borderline: o.borderline,
            short: o.verdict_short,
            score_line: o.score_line,
            verdict: o.verdict,
        }),
        model_status: analysis.model_status,
        heart_rate_bpm: analysis.measurements.and_then(|m| m.heart_rate_bpm),
    })
}

/// The background worker over a folder's entries.
struct Worker {
    cancel: Arc<AtomicBool>,
    updates: Mutex<Receiver<(usize, EntryStatus)>>,
}

/// Run `work`, turning a panic into an error naming the file.
fn guarded<T>(path: &Path, work: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).unwrap_or_else(|p| {
        let what = p
            .downcast_ref::<&str>()
            .map(ToString::to_string)
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        Err(format!("{}: internal error: {what}", file_name(path)))
    })
}

fn work(
    paths: &[PathBuf],
    engine: &Engine,
    cancel: &AtomicBool,
    sender: &Sender<(usize, EntryStatus)>,
    summarise: Summarise,
) {
    for (i, path) in paths.iter().enumerate() {
        if cancel.load(Ordering::Relaxed) {
            return;
        }
        let opened = |info| {
            let _ = sender.send((i, EntryStatus::Analysing(info)));
        };
        let status = match guarded(path, || summarise(path, engine, &opened)) {
            Ok(summary) => EntryStatus::Done(summary),
            Err(e) => EntryStatus::Error(e),
        };
        if sender.send((i, status)).is_err() {
            return;
        }
    }
}

/// How a folder's finished studies came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    /// Studies with the model's verdict.
    pub with_verdict: usize,
    /// Of those, outside the normal range and not borderline.
    pub abnormal: usize,
    /// Of those, within the borderline band (either side of the threshold).
    pub borderline: usize,
    /// Files that could not be read.
    pub unreadable: usize,
}

/// An open folder of studies.
pub struct Folder {
    pub dir: PathBuf,
    pub entries: Vec<Entry>,
    /// The entry being reviewed (the last one opened from the list).
    pub current: Option<usize>,
    /// Said when the folder holds more than [`MAX_ENTRIES`] studies.
    pub notice: Option<String>,
    worker: Option<Worker>,
    /// Open the first readable study once the worker finds it.
    auto_open: bool,
}

impl Folder {
    /// List `dir` and start analysing its studies in the background.
    pub fn open(dir: &Path, engine: Arc<Engine>) -> Result<Folder, String> {
        Folder::open_with(dir, engine, summarise)
    }

    fn open_with(dir: &Path, engine: Arc<Engine>, summarise: Summarise) -> Result<Folder, String> {
        let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        let (paths, notice) = scan(&dir)?;
        let mut folder = Folder {
            dir,
            entries: paths
                .iter()
                .map(|p| Entry {
                    path: p.clone(),
                    status: EntryStatus::Pending,
                })
                .collect(),
            current: None,
            notice,
            worker: None,
            auto_open: true,
        };
        if paths.is_empty() {
            return Ok(folder);
        }
        let cancel = Arc::new(AtomicBool::new(false));
        let (sender, receiver) = mpsc::channel();
        let stop = Arc::clone(&cancel);
        let spawned = std::thread::Builder::new()
            .name("ecgscope-folder".into())
            .spawn(move || work(&paths, &engine, &stop, &sender, summarise));
        match spawned {
            Ok(_) => {
                folder.worker = Some(Worker {
                    cancel,
                    updates: Mutex::new(receiver),
                });
            }
            Err(e) => {
                for entry in &mut folder.entries {
                    entry.status =
                        EntryStatus::Error(format!("could not start the folder analysis: {e}"));
                }
            }
        }
        Ok(folder)
    }

    /// Take the worker's results so far; the first readable study found, when the folder
    /// is still to open one.
    pub fn poll(&mut self) -> Option<usize> {
        let mut updates = Vec::new();
        let mut finished = false;
        if let Some(worker) = &self.worker {
            if let Ok(receiver) = worker.updates.lock() {
                loop {
                    match receiver.try_recv() {
                        Ok(u) => updates.push(u),
                        Err(mpsc::TryRecvError::Empty) => break,
                        Err(mpsc::TryRecvError::Disconnected) => {
                            finished = true;
                            break;
                        }
                    }
                }
            }
        }
        if finished {
            self.worker = None;
        }
        let mut first_readable = None;
        for (i, status) in updates {
            if let Some(entry) = self.entries.get_mut(i) {
                // The worker goes in order: the first one opened is the first readable.
                if self.auto_open && first_readable.is_none() && status.info().is_some() {
                    first_readable = Some(i);
                }
                entry.status = status;
            }
        }
        // The worker stopped early (it panicked outside an entry): say so on what is left.
        if finished {
            for entry in &mut self.entries {
                if !entry.status.finished() {
                    entry.status = EntryStatus::Error(format!(
                        "{}: not analysed (the folder analysis stopped)",
                        entry.name()
                    ));
                }
            }
        }
        if first_readable.is_some() {
            self.auto_open = false;
        }
        first_readable
    }

    /// Whether the background analysis is still running.
    pub fn running(&self) -> bool {
        self.worker.is_some()
    }

    /// (studies finished, studies listed).
    pub fn progress(&self) -> (usize, usize) {
        let done = self.entries.iter().filter(|e| e.status.finished()).count();
        (done, self.entries.len())
    }

    /// Verdicts and errors so far.
    pub fn tally(&self) -> Tally {
        let mut t = Tally::default();
        for e in &self.entries {
            match &e.status {
                EntryStatus::Done(s) => {
                    if let Some(v) = &s.verdict {
                        t.with_verdict += 1;
                        t.abnormal += usize::from(v.abnormal && !v.borderline);
                        t.borderline += usize::from(v.borderline);
                    }
                }
                EntryStatus::Error(_) => t.unreadable += 1,
                _ => {}
            }
        }
        t
    }

    /// Stop the background analysis after the study it is on.
    pub fn cancel(&mut self) {
        if let Some(worker) = self.worker.take() {
            worker.cancel.store(true, Ordering::Relaxed);
        }
    }

    /// The entry of `path`, if it is one of the folder's.
    pub fn index_of(&self, path: &Path) -> Option<usize> {
        let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        self.entries
            .iter()
            .position(|e| e.path == path || e.path == canonical)
    }

    /// The study after the current one, skipping files known to be unreadable; `None` at
    /// the end of the list (no wrapping round: the last study is the last).
    pub fn next_index(&self) -> Option<usize> {
        self.next_after(self.current)
    }

    /// The study before the current one, skipping files known to be unreadable; `None` at
    /// the start of the list.
    pub fn previous_index(&self) -> Option<usize> {
        self.previous_before(self.current?)
    }

    /// `steps` studies on (back when negative) from the current one, as far as the list
    /// goes; `None` when there is none that way (several key presses in one frame).
    pub fn step(&self, steps: isize) -> Option<usize> {
        let mut at = None;
        for _ in 0..steps.unsigned_abs() {
            let from = at.or(self.current);
            let to = if steps > 0 {
                self.next_after(from)
            } else {
                from.and_then(|f| self.previous_before(f))
            };
            match to {
                Some(i) => at = Some(i),
                None => break,
            }
        }
        at
    }

    fn readable(&self, i: usize) -> bool {
        !matches!(self.entries[i].status, EntryStatus::Error(_))
    }

    fn next_after(&self, from: Option<usize>) -> Option<usize> {
        let start = from.map_or(0, |c| c + 1);
        (start..self.entries.len()).find(|&i| self.readable(i))
    }

    fn previous_before(&self, from: usize) -> Option<usize> {
        (0..from).rev().find(|&i| self.readable(i))
    }

    /// A study was opened (from the list or otherwise): it is the current one if it is
    /// one of the folder's, and the folder no longer opens one by itself.
    pub fn note_opened(&mut self, path: &Path) {
        self.auto_open = false;
        if let Some(i) = self.index_of(path) {
            self.current = Some(i);
        }
    }

    /// "Analysing 12 of 40…" while the worker runs.
    pub fn progress_text(&self) -> Option<String> {
        let (done, total) = self.progress();
        self.running()
            .then(|| format!("Analysing {} of {total}…", (done + 1).min(total)))
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        self.cancel();
    }
}

/// The folder commands, applied by [`EcgApp::apply`].
impl EcgApp {
    pub(super) fn apply_folder(&mut self, command: Command) {
        match command {
            Command::OpenFolderDialog if self.folder_dialog.is_none() => {
                self.folder_dialog = Some(Job::spawn("ecgscope-folder-dialog", || {
                    rfd::FileDialog::new()
                        .set_title("Open a folder of ECGs")
                        .pick_folder()
                }));
            }
            Command::OpenFolder(dir) => {
                // The previous folder's worker stops (its `Folder` is dropped).
                self.folder = None;
                match Folder::open(&dir, Arc::clone(&self.engine)) {
                    Ok(mut folder) => {
                        self.settings.remember(&folder.dir);
                        let remembered = self
                            .settings
                            .folder_position(&folder.dir)
                            .and_then(|name| folder.entries.iter().position(|e| e.name() == name));
                        if folder.entries.is_empty() {
                            self.message = Some((
                                Severity::Warning,
                                format!("No ECG files in {}", folder.dir.display()),
                            ));
                        } else if let Some(notice) = &folder.notice {
                            self.message = Some((Severity::Warning, notice.clone()));
                        }
                        let open = remembered.map(|i| folder.entries[i].path.clone());
                        if let Some(i) = remembered {
                            folder.current = Some(i);
                            folder.auto_open = false;
                        }
                        self.folder = Some(folder);
                        if let Some(path) = open {
                            self.apply(Command::Open(path));
                        }
                    }
                    Err(e) => self.message = Some((Severity::Error, e)),
                }
            }
            Command::OpenFolderEntry(i) => {
                let Some(folder) = &mut self.folder else {
                    return;
                };
                let Some(entry) = folder.entries.get(i) else {
                    return;
                };
                let path = entry.path.clone();
                let name = entry.name();
                folder.current = Some(i);
                folder.auto_open = false;
                let dir = folder.dir.clone();
                self.settings.set_folder_position(&dir, &name);
                self.apply(Command::Open(path));
            }
            Command::NextStudy | Command::PreviousStudy => {
                let Some(folder) = &self.folder else {
                    return;
                };
                let next = command == Command::NextStudy;
                let to = if next {
                    folder.next_index()
                } else {
                    folder.previous_index()
                };
                match to {
                    Some(i) => self.apply(Command::OpenFolderEntry(i)),
                    None => {
                        self.message = Some((
                            Severity::Info,
                            if next {
                                "This is the last study of the folder."
                            } else {
                                "This is the first study of the folder."
                            }
                            .into(),
                        ));
                    }
                }
            }
            Command::CloseFolder => self.folder = None,
            _ => {}
        }
    }

    /// Poll the folder dialog and the folder's worker; call once per frame.
    pub(super) fn poll_folder(&mut self) {
        if let Some(job) = &self.folder_dialog {
            if let Some(result) = job.try_take() {
                self.folder_dialog = None;
                match result {
                    Ok(Some(dir)) => self.apply(Command::OpenFolder(dir)),
                    Ok(None) => {}
                    Err(e) => self.message = Some((Severity::Error, e)),
                }
            }
        }
        let first_readable = self.folder.as_mut().and_then(Folder::poll);
        // Open the folder's first readable study, unless the user opened one meanwhile.
        if let Some(i) = first_readable {
            if self.loading.is_none() {
                self.apply(Command::OpenFolderEntry(i));
            }
        }
    }

    /// Whether the folder dialog or the folder's background analysis runs (the GUI keeps
    /// repainting to show progress).
    pub fn folder_busy(&self) -> bool {
        self.folder_dialog.is_some() || self.folder.as_ref().is_some_and(Folder::running)
    }

    /// Block until the folder's analysis and the app's jobs are done (tests only).
    pub fn wait_for_folder(&mut self, timeout: std::time::Duration) {
        let start = std::time::Instant::now();
        while start.elapsed() < timeout {
            self.poll();
            let folder_running = self.folder.as_ref().is_some_and(Folder::running);
            if !folder_running && self.loading.is_none() && self.analysing.is_none() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn repo() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    /// The built-in sample record copied into `dir` as record `name` (header and signal
    /// file renamed together).
    fn copy_sample(dir: &Path, name: &str) {
        let sample = repo().join("assets/sample");
        let header = std::fs::read_to_string(sample.join("00010_hr.hea")).unwrap();
        std::fs::write(
            dir.join(format!("{name}.hea")),
            header.replace("00010_hr", name),
        )
        .unwrap();
        std::fs::copy(sample.join("00010_hr.dat"), dir.join(format!("{name}.dat"))).unwrap();
    }

    /// A fresh folder: two real records, a junk file with an ECG extension and files to
    /// leave out.
    fn demo_folder(tag: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("ecgscope-folder-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        copy_sample(&dir, "b_record");
        copy_sample(&dir, "a_record");
        std::fs::write(dir.join("garbage.scp"), b"this is not an SCP-ECG file").unwrap();
        std::fs::write(dir.join("notes.docx"), b"not an ECG").unwrap();
        std::fs::write(dir.join("README.txt"), b"about this folder").unwrap();
        std::fs::write(dir.join(".hidden.csv"), b"I,II\n1,2\n").unwrap();
        copy_sample(&dir.join("sub"), "nested");
        dir
    }

    fn wait(folder: &mut Folder) {
        let start = Instant::now();
        while folder.running() && start.elapsed() < Duration::from_mins(2) {
            folder.poll();
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(!folder.running(), "the folder analysis finished in time");
    }

    fn names(folder: &Folder) -> Vec<String> {
        folder.entries.iter().map(Entry::name).collect()
    }

    #[test]
    fn folder_lists_one_entry_per_study_sorted_and_skips_the_rest() {
        let dir = demo_folder("scan");
        let (paths, notice) = scan(&dir).unwrap();
        let names: Vec<String> = paths.iter().map(|p| file_name(p)).collect();
        // WFDB by its header only; no .dat, hidden, documentation, unknown or nested files.
        assert_eq!(names, ["a_record.hea", "b_record.hea", "garbage.scp"]);
        assert!(notice.is_none());
        assert!(scan(&dir.join("absent")).unwrap_err().contains("absent"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn folder_scan_caps_the_list_and_says_so() {
        let dir = std::env::temp_dir().join(format!("ecgscope-folder-cap-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..=MAX_ENTRIES {
            std::fs::write(dir.join(format!("{i:05}.csv")), b"").unwrap();
        }
        let (paths, notice) = scan(&dir).unwrap();
        assert_eq!(paths.len(), MAX_ENTRIES);
        assert_eq!(file_name(&paths[0]), "00000.csv");
        let notice = notice.unwrap();
        assert!(notice.contains("2001 studies"), "{notice}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn folder_analysis_gives_verdicts_and_errors_and_reaches_the_total() {
        let dir = demo_folder("analyse");
        let engine = Arc::new(Engine::without_model("tests run without the model"));
        let mut folder = Folder::open(&dir, engine).unwrap();
        assert_eq!(
            names(&folder),
            ["a_record.hea", "b_record.hea", "garbage.scp"]
        );
        assert_eq!(folder.progress(), (0, 3));
        let mut first = None;
        let start = Instant::now();
        while folder.running() && start.elapsed() < Duration::from_mins(2) {
            first = first.or(folder.poll());
            std::thread::sleep(Duration::from_millis(5));
        }
        first = first.or(folder.poll());
        assert!(!folder.running());
        assert_eq!(first, Some(0), "the first readable study is found");
        assert_eq!(folder.progress(), (3, 3));
        assert!(folder.progress_text().is_none());
        assert_eq!(
            folder.tally(),
            Tally {
                with_verdict: 0,
                abnormal: 0,
                borderline: 0,
                unreadable: 1
            }
        );
        for i in 0..2 {
            let EntryStatus::Done(s) = &folder.entries[i].status else {
                panic!("{:?}", folder.entries[i]);
            };
            assert_eq!(s.info.format, "WFDB");
            let hr = s.heart_rate_bpm.expect("a heart rate");
            assert!((40.0..150.0).contains(&hr), "{hr}");
            // Without the model there is no verdict, and the list says why.
            assert!(s.verdict.is_none());
            assert!(s
                .model_status
                .as_deref()
                .unwrap()
                .contains("without the model"));
        }
        let EntryStatus::Error(e) = &folder.entries[2].status else {
            panic!("{:?}", folder.entries[2]);
        };
        assert!(e.starts_with("garbage.scp: "), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn folder_verdict_comes_from_the_model_when_it_is_there() {
        let models = repo().join("models");
        if !models.join("manifest.json").is_file() {
            ecgcore::testing::skip("models/manifest.json is absent");
            return;
        }
        let dir = demo_folder("model");
        std::fs::remove_file(dir.join("b_record.hea")).unwrap();
        let engine = Arc::new(Engine::with_models(Some(models), Some(tch::Device::Cpu)));
        let mut folder = Folder::open(&dir, engine).unwrap();
        wait(&mut folder);
        let EntryStatus::Done(s) = &folder.entries[0].status else {
            panic!("{:?}", folder.entries[0]);
        };
        let v = s.verdict.as_ref().expect("a verdict");
        assert_eq!(folder.tally().with_verdict, 1);
        assert_eq!(
            folder.tally().abnormal,
            usize::from(v.abnormal && !v.borderline)
        );
        assert_eq!(folder.tally().borderline, usize::from(v.borderline));
        assert!(v.short.contains("normal range"), "{}", v.short);
        assert!(v.score_line.starts_with("score "), "{}", v.score_line);
        assert!(v.verdict.contains("range of"), "{}", v.verdict);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn folder_panic_in_one_file_is_that_entrys_error() {
        let dir = demo_folder("panic");
        fn panicky(
            path: &Path,
            engine: &Engine,
            opened: &dyn Fn(StudyInfo),
        ) -> Result<Summary, String> {
            assert!(!path.ends_with("a_record.hea"), "boom");
            summarise(path, engine, opened)
        }
        let engine = Arc::new(Engine::without_model("test"));
        let mut folder = Folder::open_with(&dir, engine, panicky).unwrap();
        wait(&mut folder);
        assert_eq!(
            folder.entries[0].status,
            EntryStatus::Error("a_record.hea: internal error: boom".into())
        );
        assert!(matches!(folder.entries[1].status, EntryStatus::Done(_)));
        assert!(matches!(folder.entries[2].status, EntryStatus::Error(_)));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn folder_cancel_stops_the_worker_before_the_rest() {
        use std::sync::atomic::AtomicUsize;
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let dir = demo_folder("cancel");
        fn slow(
            path: &Path,
            engine: &Engine,
            opened: &dyn Fn(StudyInfo),
        ) -> Result<Summary, String> {
            STARTED.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(300));
            summarise(path, engine, opened)
        }
        let engine = Arc::new(Engine::without_model("test"));
        let mut folder = Folder::open_with(&dir, Arc::clone(&engine), slow).unwrap();
        folder.cancel();
        assert!(!folder.running());
        drop(folder);
        // The worker holds the engine until it stops: after the study it is on at most.
        let start = Instant::now();
        while Arc::strong_count(&engine) > 1 && start.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(Arc::strong_count(&engine), 1, "the worker stopped");
        assert!(
            STARTED.load(Ordering::SeqCst) <= 1,
            "no study after the cancel"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn folder_next_and_previous_stop_at_the_ends_and_skip_unreadable_files() {
        let status = |ok: bool| {
            if ok {
                EntryStatus::Pending
            } else {
                EntryStatus::Error("bad".into())
            }
        };
        let mut folder = Folder {
            dir: PathBuf::from("/x"),
            entries: [true, false, true, true, false]
                .iter()
                .enumerate()
                .map(|(i, &ok)| Entry {
                    path: PathBuf::from(format!("/x/{i}.hea")),
                    status: status(ok),
                })
                .collect(),
            current: None,
            notice: None,
            worker: None,
            auto_open: false,
        };
        assert_eq!(folder.next_index(), Some(0));
        assert_eq!(folder.previous_index(), None);
        folder.current = Some(0);
        assert_eq!(
            folder.next_index(),
            Some(2),
            "the unreadable entry is skipped"
        );
        assert_eq!(folder.previous_index(), None, "no wrapping at the start");
        folder.current = Some(2);
        assert_eq!(folder.previous_index(), Some(0));
        assert_eq!(folder.next_index(), Some(3));
        folder.current = Some(3);
        assert_eq!(folder.next_index(), None, "the last readable is the last");
        // Several presses at once: as far as the list goes, skipping unreadable files.
        assert_eq!(folder.step(-1), Some(2));
        assert_eq!(folder.step(-2), Some(0));
        assert_eq!(folder.step(-9), Some(0));
        assert_eq!(folder.step(1), None);
        folder.current = Some(0);
        assert_eq!(folder.step(2), Some(3));
        assert_eq!(folder.step(0), None);
    }

    #[test]
    fn folder_app_opens_the_first_study_then_next_and_previous() {
        let dir = demo_folder("app");
        // An unreadable first file: the folder opens the first readable study instead.
        std::fs::write(dir.join("0_broken.scp"), b"junk").unwrap();
        let mut app = EcgApp::new(
            super::super::settings::Settings::default(),
            None,
            Arc::new(Engine::without_model("tests run without the model")),
            Some(dir.clone()),
            None,
        );
        app.wait_for_folder(Duration::from_mins(2));
        let folder = app.folder.as_ref().expect("the folder is open");
        assert_eq!(
            names(folder),
            [
                "0_broken.scp",
                "a_record.hea",
                "b_record.hea",
                "garbage.scp"
            ]
        );
        assert_eq!(folder.current, Some(1));
        let study = app.study.as_ref().expect("the first readable study opened");
        assert!(study.path.ends_with("a_record.hea"), "{:?}", study.path);
        app.apply(Command::NextStudy);
        app.wait_for_folder(Duration::from_mins(1));
        assert!(app.study.as_ref().unwrap().path.ends_with("b_record.hea"));
        assert_eq!(app.folder.as_ref().unwrap().current, Some(2));
        // The last readable one: Next stays and says so.
        app.apply(Command::NextStudy);
        app.wait_for_folder(Duration::from_mins(1));
        assert!(app.study.as_ref().unwrap().path.ends_with("b_record.hea"));
        assert!(app.message.as_ref().unwrap().1.contains("last study"));
        app.apply(Command::PreviousStudy);
        app.wait_for_folder(Duration::from_mins(1));
        assert!(app.study.as_ref().unwrap().path.ends_with("a_record.hea"));
        // The position is remembered for the folder.
        let canonical = dir.canonicalize().unwrap();
        assert_eq!(
            app.settings.folder_position(&canonical),
            Some("a_record.hea")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
