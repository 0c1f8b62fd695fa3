//! The borderline band (`ecglab::borderline`): refitted from the unpacked PTB-XL folds 9
//! and 10 (`make data`), the shipped models' margins and the card's counts come back
//! exactly; a real fold-9 study inside the band is called borderline in the words the
//! screen, the PDF and the JSON share, and one far from the threshold is not. Fails,
//! never skips, without the data.

use ecgmodel::Analyzer;
use std::path::PathBuf;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn ptbxl() -> PathBuf {
    let p = ecglab::data::default_ptbxl_dir(&repo());
    assert!(
        p.join("labels.csv").exists(),
        "{} is absent: run `make data` (it unpacks ../shared/data/ptbxl and its packed/ records)",
        p.display()
    );
    p
}

#[test]
fn the_shipped_band_refits_from_fold_9_and_marks_studies_near_the_threshold() {
    tch::set_num_threads(2);
    let analyzer = Analyzer::load(&repo().join("models"), tch::Device::Cpu).unwrap();
    let shipped = analyzer
        .manifest()
        .borderline
        .clone()
        .expect("the shipped manifest has its borderline band");
    let m = analyzer.manifest();
    assert_eq!(m.mscr.borderline_margin, shipped.ours.margin);
    assert_eq!(m.baseline.borderline_margin, shipped.baseline.margin);
    // The band is a real share of the threshold, not a sliver or the whole scale.
    let relative = shipped.ours.margin / m.mscr.threshold;
    assert!(
        (0.05..0.9).contains(&relative),
        "margin {relative} × threshold"
    );

    let dir = ptbxl();
    let validation = ecglab::manifests::ptbxl_rows(&dir, 9).unwrap();
    let test = ecglab::manifests::ptbxl_rows(&dir, 10).unwrap();
    let refit = ecglab::borderline::fit(&analyzer, &validation, &test);
    for (name, a, b) in [
        ("ours", &refit.ours, &shipped.ours),
        ("baseline", &refit.baseline, &shipped.baseline),
    ] {
        assert!(
            (a.margin - b.margin).abs() <= 1e-6 * b.margin.abs().max(1e-6),
            "{name}: margin {} refitted, {} shipped",
            a.margin,
            b.margin
        );
        assert_eq!(a.validation, b.validation, "{name}: fold 9");
        assert_eq!(a.test, b.test, "{name}: fold 10");
        // The band holds what it was fitted to hold: at least 90 % of the fold-9 copies
        // whose verdict the noise turned.
        let v = &a.validation;
        assert!(
            v.flipped > 0 && v.flipped_outside_band * 10 <= v.flipped,
            "{v:?}"
        );
    }

    // Real studies: the fold-9 study scoring nearest the threshold is borderline, and
    // says so; the one scoring highest is not.
    let bar = indicatif::ProgressBar::hidden();
    let rows: Vec<_> = validation.iter().take(300).cloned().collect();
    let scored = ecgmodel::eval::score_rows(&rows, &analyzer, &bar, None);
    let scores: Vec<(usize, f32)> = scored
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.as_ref().ok().map(|(o, _, _)| (i, o.score)))
        .collect();
    let t = m.mscr.threshold;
    let nearest = scores
        .iter()
        .min_by(|a, b| (a.1 - t).abs().total_cmp(&(b.1 - t).abs()))
        .unwrap()
        .0;
    let highest = scores.iter().max_by(|a, b| a.1.total_cmp(&b.1)).unwrap().0;
    let analysis = |i: usize| {
        let rec = rows[i].open().unwrap();
        let (ours, baseline) = analyzer.analyze(&rec).unwrap();
        ecgcore::analysis::Analysis {
            recording: rec,
            anomaly: Some(ours),
            baseline: Some(baseline),
            ..Default::default()
        }
    };
    let near = analysis(nearest);
    let said = ecgsession::StudyFindings::of(&near).ours.unwrap();
    assert!(
        said.borderline,
        "{}: score {}",
        rows[nearest].path.display(),
        said.score
    );
    assert!(
        said.verdict.starts_with("Borderline: just "),
        "{}",
        said.verdict
    );
    assert!(
        said.score_line.contains("borderline ± 0.36"),
        "{}",
        said.score_line
    );
    assert!(said.borderline_note.is_some());
    let far = analysis(highest);
    let said = ecgsession::StudyFindings::of(&far).ours.unwrap();
    assert!(!said.borderline && said.abnormal, "score {}", said.score);
    assert!(
        said.verdict.starts_with("Outside the range"),
        "{}",
        said.verdict
    );
    assert!(said.borderline_note.is_none());
}
