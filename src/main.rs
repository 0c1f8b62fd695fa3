//! ecgscope's entry point: the GUI when given no verb, otherwise a command-line verb.

use clap::Parser;
use ecgscope::app::settings::Settings;
use ecgscope::app::EcgApp;
use ecgscope::cli::{Cli, Verb};
use ecgscope::pipeline::Engine;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let cli = Cli::parse();
    let result = match cli.command {
        None => run_gui(cli.file, cli.prior),
        Some(Verb::Open { file, prior }) => run_gui(Some(file), prior),
        Some(verb) => ecgscope::cli::run(verb),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the chain of causes, joined.
            eprintln!("ecgscope: {}", format!("{e:#}").replace('\n', " "));
            ExitCode::from(2)
        }
    }
}

/// The built-in sample study, used when nothing else is asked for on first start.
fn sample_study() -> Option<PathBuf> {
    let candidates = [
        // target/{debug,release}/ecgscope in the source tree.
        std::env::current_exe().ok().and_then(|p| {
            p.parent()
                .map(|d| d.join("../../assets/sample/00010_hr.hea"))
        }),
        // usr/lib/ecgscope/ecgscope of the package, installed or extracted anywhere.
        std::env::current_exe().ok().and_then(|p| {
            p.parent()
                .map(|d| d.join("../../share/ecgscope/assets/sample/00010_hr.hea"))
        }),
        Some(PathBuf::from("assets/sample/00010_hr.hea")),
        Some(PathBuf::from(
            "/usr/share/ecgscope/assets/sample/00010_hr.hea",
        )),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.exists())
        .map(|p| std::fs::canonicalize(&p).unwrap_or(p))
}

fn run_gui(file: Option<PathBuf>, prior: Option<PathBuf>) -> anyhow::Result<()> {
    let settings_path = Settings::default_path();
    let (settings, warning) = settings_path
        .as_deref()
        .map_or((Settings::default(), None), Settings::load);
    if let Some(w) = &warning {
        log::warn!("{w}");
    }
    let open = file.or_else(|| {
        if settings.recent_files.is_empty() {
            sample_study()
        } else {
            None
        }
    });
    // Loaded lazily by the first analysis, on its background thread.
    let engine = Arc::new(Engine::load_default());
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("ecgscope")
            .with_app_id("ecgscope")
            .with_inner_size([1500.0, 950.0])
            .with_drag_and_drop(true),
        ..eframe::NativeOptions::default()
    };
    eframe::run_native(
        "ecgscope",
        options,
        Box::new(move |_cc| {
            let mut app = EcgApp::new(settings, settings_path, engine, None, warning);
            app.edits_store = ecgscope::edits::EditsStore::default_location();
            if let Some(open) = open {
                app.apply(ecgscope::app::Command::Open(open));
            }
            if let Some(prior) = prior {
                app.apply(ecgscope::app::Command::OpenPrior(prior));
            }
            app.exit_when_analysed = std::env::var_os("ECGSCOPE_EXIT_WHEN_ANALYSED").is_some();
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow::anyhow!("could not start the window: {e}"))
}
