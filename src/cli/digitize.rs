//! `ecgscope digitize IMAGE -o OUT.hea|OUT.csv`: a paper ECG becomes 12 signals (500 Hz,
//! 10 s; samples the image does not show are written as missing), with a per-lead
//! confidence printed on stderr. A 15-lead page adds its extra leads (V4R, V8, …) under
//! their printed names after the twelve.

use anyhow::Context as _;
use ecgcore::formats::{csv, wfdb};
use std::path::Path;

/// Run the verb. Never replaces existing files unless `force`.
pub fn run(
    image: &Path,
    output: &Path,
    force: bool,
    options: &ecgdigitize::DigitizeOptions,
) -> anyhow::Result<()> {
    let d = ecgdigitize::digitize_path(image, options)?;
    let is_csv = output
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if is_csv {
        csv::write_csv(&d.recording, output, force)
    } else {
        let hea = if output
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("hea"))
        {
            output.to_path_buf()
        } else {
            output.with_extension("hea")
        };
        wfdb::write_record(&d.recording, &hea, force)
    }
    .with_context(|| format!("could not write {}", output.display()))?;
    let confidences: Vec<String> = ecgcore::StandardLead::ALL
        .iter()
        .zip(d.confidence_per_lead)
        .map(|(l, c)| format!("{} {:.2}", l.label(), c))
        .collect();
    eprintln!(
        "digitized {} ({}, {:.2} px/mm, rotation {:.1}°, {} mm/s, {} mm/mV{}): {}",
        image.display(),
        d.layout,
        d.px_per_mm,
        d.rotation_deg,
        d.speed_mm_per_s,
        d.gain_mm_per_mv,
        if d.gain_from_pulse { " from pulse" } else { "" },
        output.display()
    );
    if let Some(p) = d.perspective_deg {
        eprintln!("perspective corrected: grid lines converged by {p:.1}°");
    }
    let rows: Vec<String> = d.row_baselines.iter().map(|f| format!("{f:.3}")).collect();
    eprintln!(
        "rows at {} of the image height ({}; --rows sets them)",
        rows.join(","),
        if options.rows.is_some() {
            "set by hand"
        } else {
            "found"
        }
    );
    eprintln!("confidence per lead: {}", confidences.join(", "));
    if !d.extra_leads.is_empty() {
        let extra: Vec<String> = d
            .extra_leads
            .iter()
            .map(|x| format!("{} {:.2}", x.lead.label(), x.confidence))
            .collect();
        eprintln!(
            "extra leads (15-lead page; written and shown, not used by the model): {}",
            extra.join(", ")
        );
    }
    Ok(())
}
