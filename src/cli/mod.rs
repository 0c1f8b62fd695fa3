//! Command-line verbs. Raw arguments (clap structs) are parsed here and turned into calls
//! of the same code the GUI uses. Errors are handled once, in `main`: a bad or unsupported
//! file exits with status 2 and one line on stderr.

pub mod analyze;
pub mod bench;
pub mod report;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// ecgscope — review a 12-lead ECG with a local anomaly model.
#[derive(Debug, Parser)]
#[command(name = "ecgscope", version, about, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// ECG file to open in the viewer (WFDB .hea, CSV, …).
    pub file: Option<PathBuf>,
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
    #[arg(long, value_parser = ["mV", "uV", "V"])]
    pub units: Option<String>,
}

impl ReadArgs {
    pub fn options(&self) -> ecgcore::formats::OpenOptions {
        ecgcore::formats::OpenOptions {
            sample_rate_hz: self.rate,
            mv_per_unit: self.units.as_deref().map(|u| match u {
                "uV" => 1.0e-3,
                "V" => 1.0e3,
                _ => 1.0,
            }),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Verb {
    /// Open a study in the viewer.
    Open {
        file: PathBuf,
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
        #[command(flatten)]
        read: ReadArgs,
    },
    /// Write the annotated PDF report of a study.
    Report {
        file: PathBuf,
        /// Output PDF.
        #[arg(short, long)]
        output: PathBuf,
        /// Paper size.
        #[arg(long, default_value = "a4", value_parser = ["a4", "letter"])]
        paper: String,
        /// Add a second page with the baseline method side by side.
        #[arg(long)]
        baseline: bool,
        /// Replace OUTPUT if it exists.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        read: ReadArgs,
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
    /// Compare measured intervals with LUDB cardiologists' wave boundaries and print the table.
    ValidateIntervals {
        /// Folder with the LUDB records and annotations (default ../shared/data/ludb).
        #[arg(default_value = "../shared/data/ludb")]
        dir: PathBuf,
    },
}

/// Run a verb; `Ok(())` = exit status 0.
pub fn run(verb: Verb) -> anyhow::Result<()> {
    match verb {
        Verb::Open { .. } => unreachable!("handled by main"),
        Verb::Analyze {
            file,
            json,
            no_maps,
            read,
        } => analyze::run(&file, json, !no_maps, &read),
        Verb::Report {
            file,
            output,
            paper,
            baseline,
            force,
            read,
        } => report::run(&file, &output, &paper, baseline, force, &read),
        Verb::Bench { file, json, runs } => bench::run(&file, json, runs),
        Verb::ValidateIntervals { dir } => {
            let table = ecgcore::dsp::validate::validate_ludb(&dir)?;
            println!("{table}");
            Ok(())
        }
    }
}
