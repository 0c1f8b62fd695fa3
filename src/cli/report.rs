//! `ecgscope report FILE -o OUT.pdf [--paper a4|letter] [--baseline] [--force]`.

use super::ReadArgs;
use crate::app::settings::FilterSettings;
use crate::pipeline;
use anyhow::Context as _;
use std::path::Path;

/// Run the verb. Refuses to replace an existing file unless `force`.
pub fn run(
    file: &Path,
    output: &Path,
    paper: &str,
    baseline: bool,
    force: bool,
    read: &ReadArgs,
) -> anyhow::Result<()> {
    if output.exists() && !force {
        anyhow::bail!("{} exists; pass --force to replace it", output.display());
    }
    let rec = pipeline::open_with(file, &read.options())?;
    let engine = pipeline::Engine::load_default();
    let analysis = pipeline::analyze(&rec, &engine);
    let filters = FilterSettings::default();
    let paper = if paper == "letter" {
        ecgreport::Paper::Letter
    } else {
        ecgreport::Paper::A4
    };
    let options = pipeline::report_options(&analysis, &filters, paper, baseline);
    ecgreport::write_pdf(
        &pipeline::filtered_for_report(&analysis, &filters),
        &options,
        output,
        force,
    )
    .with_context(|| format!("could not write the report {}", output.display()))?;
    eprintln!("report written: {}", output.display());
    Ok(())
}
