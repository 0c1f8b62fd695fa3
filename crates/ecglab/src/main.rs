//! `ecglab`: the lab's commands (not part of the shipped product).
//!
//! - `ecglab train`: train both networks on PTB-XL and write `models/`;
//! - `ecglab validate-intervals [LUDB]`: measured intervals against LUDB's marks;
//! - `ecglab eval-digitizer`: the digitizer's SNR against PTB-XL ground truth;
//! - `ecglab tune NAME`: the delineator's tuning and timing tools on LUDB.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "ecglab",
    version,
    about = "ecgscope's lab: training, evaluation, tuning"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train the anomaly model and the baseline on PTB-XL (folds 1–8 normals; fold 9 for
    /// model selection; fold 10 only for the final report) and write models/.
    Train {
        /// PTB-XL folder with labels.csv and records100/ (`make data` unpacks it here).
        #[arg(long, default_value = ecglab::data::PTBXL_DIR)]
        ptbxl: PathBuf,
        /// Output folder for weights, manifest and model card.
        #[arg(long, default_value = "models")]
        out: PathBuf,
        #[arg(long, default_value_t = 20240601)]
        seed: u64,
        /// Maximum epochs for our model.
        #[arg(long)]
        epochs: Option<usize>,
        /// Maximum epochs for the baseline.
        #[arg(long)]
        baseline_epochs: Option<usize>,
        /// Wall-clock budget per network (s).
        #[arg(long)]
        budget_s: Option<f64>,
        /// Device: auto, cpu, cuda.
        #[arg(long, default_value = "auto")]
        device: String,
        /// Do not train our model: load these weights and only refit the score, maps and
        /// thresholds (the same seed and data give the same weights as training them).
        #[arg(long)]
        reuse_mscr: Option<PathBuf>,
        /// Do not train the baseline: load these weights.
        #[arg(long)]
        reuse_baseline: Option<PathBuf>,
        /// Choose the epoch on the weighed score's cross-validated fold-9 AUROC instead
        /// of the restoration error plus feature density.
        #[arg(long)]
        select_weighed: bool,
    },
    /// Compare measured intervals with LUDB cardiologists' wave boundaries and print the table.
    ValidateIntervals {
        /// Folder with the LUDB records and annotations.
        #[arg(default_value = "../shared/data/ludb")]
        dir: PathBuf,
        /// Global boundaries as the N-th earliest onset / latest offset of the per-lead
        /// ones (0 = earliest), instead of the product's default definition.
        #[arg(long)]
        global_lead_rank: Option<usize>,
        /// Global boundaries from the spatial-velocity estimators (the definition before
        /// issue #16), instead of the product's default.
        #[arg(long)]
        spatial_velocity: bool,
        /// Weight of each lead's own boundary against the global one (0–1).
        #[arg(long)]
        lead_own_weight: Option<f32>,
    },
    /// QRS and QT on PTB-XL folds 1–9 by diagnosis (NORM, CLBBB, CRBBB).
    PtbxlIntervals {
        /// PTB-XL folder with labels.csv (`make data` unpacks it to .data/ptbxl).
        #[arg(long, default_value = ecglab::data::PTBXL_DIR)]
        ptbxl: PathBuf,
        /// Measure every N-th NORM record only.
        #[arg(long, default_value_t = 1)]
        norm_every: usize,
    },
    /// Evaluate the digitizer: SNR per lead against PTB-XL ground truth on rendered pages,
    /// the ecg-image-kit pages and (optionally) the real-world scans.
    EvalDigitizer {
        /// The shared data folder (with ptbxl/ and images/).
        #[arg(long, default_value = "../shared/data")]
        data: PathBuf,
        /// PTB-XL fold-10 records to render as clean and distorted pages.
        #[arg(long, default_value_t = 20)]
        synthetic: usize,
        /// Also try the real-world scans (no ground truth).
        #[arg(long)]
        real_world: bool,
    },
    /// The delineator's tuning and timing tools (see `ecglab::ludb_tuning`).
    Tune {
        #[arg(value_enum)]
        tool: TuneTool,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum TuneTool {
    Sweep,
    Timing,
    TimingParts,
    Inspect,
    PtbxlRates,
    Axis,
    Dump,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Train {
            ptbxl,
            out,
            seed,
            epochs,
            baseline_epochs,
            budget_s,
            device,
            reuse_mscr,
            reuse_baseline,
            select_weighed,
        } => {
            let mut cfg = ecglab::train::TrainConfig {
                ptbxl_dir: ptbxl,
                out_dir: out,
                seed,
                device: ecgmodel::parse_device(&device)?,
                command: std::env::args().collect::<Vec<_>>().join(" "),
                reuse_mscr,
                reuse_baseline,
                select: if select_weighed {
                    ecglab::train::Selection::Weighed
                } else {
                    ecglab::train::Selection::Restoration
                },
                ..ecglab::train::TrainConfig::default()
            };
            if let Some(e) = epochs {
                cfg.mscr_epochs = e;
            }
            if let Some(e) = baseline_epochs {
                cfg.baseline_epochs = e;
            }
            if let Some(b) = budget_s {
                cfg.time_budget_s = b;
            }
            let report = ecglab::train::run(&cfg)?;
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
        Command::ValidateIntervals {
            dir,
            global_lead_rank,
            spatial_velocity,
            lead_own_weight,
        } => {
            let mut params = ecgcore::dsp::delineate::DelineationParams::default();
            if spatial_velocity {
                params.global_lead_rank = None;
            }
            if let Some(w) = lead_own_weight {
                params.lead_own_weight = w;
            }
            if global_lead_rank.is_some() {
                params.global_lead_rank = global_lead_rank;
            }
            let (records, failed) = ecglab::intervals::load_ludb(&dir)?;
            for (name, err) in &failed {
                println!("not read: {name}: {err}");
            }
            println!("{}", ecglab::interval_cv::cross_validate(&records, &params));
        }
        Command::PtbxlIntervals { ptbxl, norm_every } => {
            println!(
                "{}",
                ecglab::ptbxl_intervals::evaluate_ptbxl(&ptbxl, norm_every)?
            );
        }
        Command::EvalDigitizer {
            data,
            synthetic,
            real_world,
        } => {
            let report = ecglab::digitizer_eval::evaluate(&ecglab::digitizer_eval::EvalConfig {
                data_dir: data,
                synthetic_records: synthetic,
                real_world,
            });
            println!("{report}");
        }
        Command::Tune { tool } => {
            use ecglab::ludb_tuning as t;
            match tool {
                TuneTool::Sweep => t::sweep(),
                TuneTool::Timing => t::timing(),
                TuneTool::TimingParts => t::timing_parts(),
                TuneTool::Inspect => t::inspect(),
                TuneTool::PtbxlRates => t::ptbxl_rates(),
                TuneTool::Axis => t::axis(),
                TuneTool::Dump => t::dump(),
            }
        }
    }
    Ok(())
}
