//! `ecgscope bench [--json] [FILE]`: the figures the README quotes, measured in one run.
//!
//! - `analysis_ms_median`: the full analysis of one study (dsp + model + baseline);
//! - `dsp_ms_median`, `model_ms_median`: its parts;
//! - `report_ms_median`: the PDF report;
//! - `frame_ms_median` / `frame_ms_p95`: CPU time of one GUI frame (egui pass, including
//!   tessellation) while panning and zooming the study with both overlays, headless;
//! - `load_ms`: reading the file; `engine_load_ms`: loading LibTorch and the weights the
//!   first time; `weights_load_ms_median`: loading the weights again (SHA-256 checks and
//!   manifest included, LibTorch already up), the median of repeated loads;
//! - `peak_rss_mb`: the process's peak resident memory (`VmHWM`).
//!
//! Each timing is the median (and spread: min, p95) of repeated runs after one warm-up.
//! Ratios against a reference in the same run: the model's share of the analysis, and the
//! analysis time against the 50 ms budget.

use crate::app::settings::Settings;
use crate::app::EcgApp;
use crate::pipeline::{self, Engine};
use crate::timing::{time, Timing};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Peak resident set size of this process in MB (Linux), if known.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// CPU time per GUI frame while panning/zooming with both overlays (headless egui pass).
fn frame_timing(path: &Path, engine: Arc<Engine>, frames: usize) -> Timing {
    let mut app = EcgApp::new(
        Settings::default(),
        None,
        engine,
        Some(path.to_path_buf()),
        None,
    );
    app.wait_for_jobs(Duration::from_mins(2));
    app.apply(crate::app::Command::SetCompare(true));
    let ctx = egui::Context::default();
    let mut k = 0usize;
    let mut input = move || {
        k += 1;
        let mut raw = egui::RawInput {
            screen_rect: Some(egui::Rect::from_min_size(
                egui::Pos2::ZERO,
                egui::vec2(1600.0, 1000.0),
            )),
            time: Some(k as f64 / 60.0),
            ..egui::RawInput::default()
        };
        let x = 400.0 + (k % 200) as f32 * 3.0;
        raw.events
            .push(egui::Event::PointerMoved(egui::pos2(x, 400.0)));
        // Alternate panning (scroll) and zooming (speed change every 30 frames).
        raw.events.push(egui::Event::MouseWheel {
            unit: egui::MouseWheelUnit::Point,
            delta: egui::vec2(if k % 60 < 30 { -15.0 } else { 15.0 }, 0.0),
            modifiers: egui::Modifiers::NONE,
            phase: egui::TouchPhase::Move,
            source: egui::MouseWheelSource::Wheel,
        });
        raw
    };
    let frame = |app: &mut EcgApp, raw: egui::RawInput, k: usize| {
        if k.is_multiple_of(30) {
            let speed = if (k / 30).is_multiple_of(2) {
                50.0
            } else {
                25.0
            };
            app.apply(crate::app::Command::SetSpeed(speed));
        }
        let mut out = ctx.run_ui(raw, |ui| app.frame_ui(ui));
        let _ = ctx.tessellate(out.shapes, out.pixels_per_point);
        // No renderer here: the font-atlas updates are consumed, not uploaded.
        out.textures_delta.clear();
    };
    let mut ms = Vec::with_capacity(frames);
    for i in 0..frames + 5 {
        let raw = input();
        let t = Instant::now();
        frame(&mut app, raw, i);
        if i >= 5 {
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    Timing::from_samples(ms)
}

/// Wall time from spawning the GUI to its first frame with the analysed study (the app
/// closes itself then), when a display is available; also that process's peak RSS (MB).
fn cold_start(file: &Path) -> Option<(f64, Option<f64>)> {
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        return None;
    }
    let exe = std::env::current_exe().ok()?;
    let t = Instant::now();
    let status = std::process::Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg(&exe)
        .arg(file)
        .env("ECGSCOPE_EXIT_WHEN_ANALYSED", "1")
        .env(
            "XDG_CONFIG_HOME",
            std::env::temp_dir().join("ecgscope-bench-config"),
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .output()
        .or_else(|_| {
            std::process::Command::new(&exe)
                .arg(file)
                .env("ECGSCOPE_EXIT_WHEN_ANALYSED", "1")
                .output()
        })
        .ok()?;
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    if !status.status.success() {
        return None;
    }
    let rss_mb = String::from_utf8_lossy(&status.stderr)
        .lines()
        .last()
        .and_then(|l| l.trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0);
    Some((ms, rss_mb))
}

/// Run the benchmark and print the figures.
/// Batch `eval` throughput (studies per second, studies) over the shipped fold-10 PTB-XL
/// manifest (`models/manifests/ptbxl_fold10.csv`, files in `.data/ptbxl`): reading,
/// measuring and scoring each file, as `ecgscope eval` does. `None` without the data.
fn eval_throughput(engine: &Engine) -> Option<(f64, usize)> {
    let analyzer = engine.analyzer().ok()?;
    let manifest = engine.models_dir()?.join("manifests/ptbxl_fold10.csv");
    let analyzer = analyzer.lock().ok()?;
    let t = Instant::now();
    let report = ecgmodel::eval::run(&manifest, &analyzer, false).ok()?;
    let n = report.n + report.failures.len();
    (n > 0).then(|| (n as f64 / t.elapsed().as_secs_f64(), n))
}

pub fn run(file: &Path, as_json: bool, runs: usize) -> anyhow::Result<()> {
    let process_start = Instant::now();
    let load = time(runs, || {
        let _ = pipeline::open(file);
    });
    let rec = pipeline::open(file)?;
    let t = Instant::now();
    let engine = Arc::new(Engine::load_default());
    // The engine loads LibTorch's weights lazily; time that first load here.
    let _ = engine.analyzer();
    let engine_load_ms = t.elapsed().as_secs_f64() * 1000.0;
    // One first load mixes LibTorch's start with the weights; reloads time the weights.
    let device = engine
        .analyzer()
        .ok()
        .and_then(|a| a.lock().ok().map(|a| a.device()));
    let weights = engine.models_dir().zip(device).map(|(dir, device)| {
        time(runs.clamp(1, 5), || {
            let _ = ecgmodel::Analyzer::load(dir, device);
        })
    });
    let dsp = time(runs, || {
        let _ = ecgcore::dsp::measurements::measure(&rec);
    });
    let analysis = time(runs, || {
        let _ = pipeline::analyze(&rec, &engine);
    });
    let model = pipeline::time_model(&rec, &engine, runs);
    let full = pipeline::analyze(&rec, &engine);
    let filters = crate::app::settings::FilterSettings::default();
    let options = pipeline::report_options(&full, &filters, ecgreport::Paper::A4, true);
    let filtered = pipeline::filtered_for_report(&full, &filters);
    let report = time(runs, || {
        let _ = ecgreport::render_pdf(&filtered, &options);
    });
    let eval_rate = eval_throughput(&engine);
    let frames = frame_timing(file, Arc::clone(&engine), 120);
    let cold = cold_start(file);
    let value = json!({
        "file": file,
        "device": engine.device_label(),
        "model": engine.model_status,
        "cpu_threads": std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        "load_ms_median": load.median_ms,
        "engine_load_ms": engine_load_ms,
        "weights_load_ms_median": weights.map(|w| w.median_ms),
        "dsp_ms_median": dsp.median_ms,
        "model_ms_median": model.map(|m| m.median_ms),
        "analysis_ms_median": analysis.median_ms,
        "analysis_ms_min": analysis.min_ms,
        "analysis_ms_p95": analysis.p95_ms,
        "analysis_vs_25ms_budget": analysis.median_ms / 25.0,
        "eval_studies_per_s": eval_rate.map(|r| r.0),
        "eval_vs_100_per_s_budget": eval_rate.map(|r| r.0 / 100.0),
        "eval_studies": eval_rate.map(|r| r.1),
        "model_share_of_analysis": model.map(|m| m.median_ms / analysis.median_ms.max(1e-9)),
        "report_ms_median": report.median_ms,
        "report_vs_300ms_budget": report.median_ms / 300.0,
        "frame_ms_median": frames.median_ms,
        "frame_ms_p95": frames.p95_ms,
        "frame_vs_16ms_budget": frames.p95_ms / 16.0,
        "peak_rss_mb": peak_rss_mb(),
        "gui_cold_start_to_analysed_frame_ms": cold.map(|c| c.0),
        "gui_cold_start_vs_1500ms_budget": cold.map(|c| c.0 / 1500.0),
        "gui_peak_rss_mb": cold.and_then(|c| c.1),
        "runs": runs,
        "bench_wall_s": process_start.elapsed().as_secs_f64(),
    });
    if as_json {
        super::outln!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        super::outln!("ecgscope bench on {} ({} runs each)", file.display(), runs);
        if let Some(obj) = value.as_object() {
            for (k, v) in obj {
                super::outln!("  {k:<28} {v}");
            }
        }
    }
    Ok(())
}
