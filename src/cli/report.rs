//! `ecgscope report FILE -o OUT.pdf [--paper a4|letter] [--baseline] [--prior PRIOR] [--force]
//! [--device D]`: the same report writer as File → Export PDF… (`--prior` adds the serial
//! comparison page).

use super::{ModelArgs, PaperArg, ReadArgs};
use crate::pipeline;
use ecgsession::display::FilterSettings;
use std::path::Path;

/// Run the verb. Refuses to replace an existing file unless `force`.
pub fn run(
    file: &Path,
    output: &Path,
    paper: PaperArg,
    baseline: bool,
    force: bool,
    prior: Option<&Path>,
    read: &ReadArgs,
    model: &ModelArgs,
) -> anyhow::Result<()> {
    if output.exists() && !force {
        anyhow::bail!("{} exists; pass --force to replace it", output.display());
    }
    let rec = pipeline::open_with(file, &read.options())?;
    let engine = model.engine()?;
    let analysis = pipeline::analyze(&rec, &engine);
    let (analysis, prior) = super::reviewed(analysis, file, true, prior, read, &engine)?;
    pipeline::write_report(
        &analysis,
        prior.as_ref(),
        &FilterSettings::default(),
        paper.into(),
        output,
        baseline,
        force,
    )?;
    eprintln!("report written: {}", output.display());
    Ok(())
}
