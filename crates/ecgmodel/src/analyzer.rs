//! Inference: load the shipped weights (SHA-256 checked against `models/manifest.json`)
//! and analyse one `Recording` with MSCR and the baseline.
//!
//! The recording passes through the input contract (any rate → 100 Hz, 10 s windows
//! tiled over the recording); each window is scored without autograd (`tch::no_grad`);
//! scores, lead scores and predicted attributes are averaged over windows; the point
//! error maps are turned into a likelihood in [0, 1] by the per-lead, per-beat-phase
//! calibration against fold-9 normals ([`crate::mapcal`]; 0.9 = beyond what almost every
//! normal ECG shows anywhere), pasted back and resampled to the recording's own rate. Attribute gaps use the recorded age/sex and the measured
//! HR/PR/QRS/QT/QTc (`ecgcore::dsp::measurements`); unknown values do not count.

use crate::attributes::{Attributes, N_ATTRIBUTES};
use crate::contract::{self, InputError, N_LEADS, N_SAMPLES};
use crate::manifest::{self, ModelManifest};
use crate::mapcal::MapCalibration;
use crate::net::{BeatAe, Mscr};
use crate::partial::PartialCalibration;
use crate::score::{self, BaselineRaw, MscrRaw};
use crate::ModelError;
use ecgcore::analysis::{ModelOutput, PredictedAttributes};
use ecgcore::dsp::measurements::Measurements;
use ecgcore::recording::{Recording, Sex, StandardLead};
use std::path::Path;
use tch::{nn, Device, Tensor};

/// Method names shown to the user.
pub const MSCR_NAME: &str = "MSCR (masked multi-scale cross-restoration, ours)";
pub const BASELINE_NAME: &str = "Autoencoder baseline (BeatGAN-style reconstruction MSE)";

/// Loaded networks and calibration.
#[derive(Debug)]
pub struct Analyzer {
    device: Device,
    manifest: ModelManifest,
    /// Owns the MSCR weights (copied by [`Analyzer::try_clone`]).
    mscr_vs: nn::VarStore,
    mscr: Mscr,
    /// Owns the baseline weights.
    baseline_vs: nn::VarStore,
    baseline: BeatAe,
}

fn load_vs(
    dir: &Path,
    file: &str,
    sha256: &str,
    device: Device,
) -> Result<nn::VarStore, ModelError> {
    let path = dir.join(file);
    if !path.exists() {
        return Err(ModelError::Io {
            path,
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "weights file not found"),
        });
    }
    manifest::verify_sha256(&path, sha256)?;
    Ok(nn::VarStore::new(device))
}

/// Both networks' raw results for one recording.
struct NetworkRun {
    prepared: contract::Prepared,
    mscr: Vec<MscrRaw>,
    baseline: Vec<BaselineRaw>,
    /// Known attributes (recorded age/sex, measured intervals).
    actual: Attributes,
    /// The median-beat vector of the `shape` component (None: no usable median beat).
    beat: Option<Vec<f32>>,
}

impl Analyzer {
    /// Load `models_dir/manifest.json` and the two weight files, checking their SHA-256.
    pub fn load(models_dir: &Path, device: Device) -> Result<Analyzer, ModelError> {
        let manifest = ModelManifest::read(models_dir)?;
        manifest.check_compatible(models_dir)?;
        let mut mscr_vs = load_vs(
            models_dir,
            &manifest.mscr.file,
            &manifest.mscr.sha256,
            device,
        )?;
        let mscr = Mscr::new(&mscr_vs.root());
        let p = models_dir.join(&manifest.mscr.file);
        mscr_vs.load(&p).map_err(|e| ModelError::torch(&p, e))?;
        let mut baseline_vs = load_vs(
            models_dir,
            &manifest.baseline.file,
            &manifest.baseline.sha256,
            device,
        )?;
        let baseline = BeatAe::new(&baseline_vs.root());
        let p = models_dir.join(&manifest.baseline.file);
        baseline_vs.load(&p).map_err(|e| ModelError::torch(&p, e))?;
        Ok(Analyzer {
            device,
            manifest,
            mscr_vs,
            mscr,
            baseline_vs,
            baseline,
        })
    }

    /// A second analyzer with copies of the same weights and calibration, for a worker
    /// thread (LibTorch tensors cannot be shared between threads; each worker owns its
    /// networks).
    pub fn try_clone(&self) -> Result<Analyzer, ModelError> {
        let torch =
            |e: tch::TchError| ModelError::Other(format!("copying the loaded weights failed: {e}"));
        let mut mscr_vs = nn::VarStore::new(self.device);
        let mscr = Mscr::new(&mscr_vs.root());
        mscr_vs.copy(&self.mscr_vs).map_err(torch)?;
        let mut baseline_vs = nn::VarStore::new(self.device);
        let baseline = BeatAe::new(&baseline_vs.root());
        baseline_vs.copy(&self.baseline_vs).map_err(torch)?;
        Ok(Analyzer {
            device: self.device,
            manifest: self.manifest.clone(),
            mscr_vs,
            mscr,
            baseline_vs,
            baseline,
        })
    }

    pub fn manifest(&self) -> &ModelManifest {
        &self.manifest
    }

    /// The loaded MSCR network (for research tools that run it over whole datasets).
    pub fn mscr(&self) -> &Mscr {
        &self.mscr
    }

    /// The loaded baseline network.
    pub fn baseline(&self) -> &BeatAe {
        &self.baseline
    }

    pub fn device(&self) -> Device {
        self.device
    }

    /// Analyse a recording (measures it first for the attribute gaps).
    pub fn analyze(&self, rec: &Recording) -> Result<(ModelOutput, ModelOutput), ModelError> {
        self.analyze_with(rec, None)
    }

    /// Analyse a recording, reusing measurements the caller already has.
    pub fn analyze_with(
        &self,
        rec: &Recording,
        measurements: Option<&Measurements>,
    ) -> Result<(ModelOutput, ModelOutput), ModelError> {
        self.analyze_opts(rec, measurements, true)
            .map(|(ours, theirs, _)| (ours, theirs))
    }

    /// Scores, lead scores and attributes without the maps (`map` left empty), and the
    /// known attributes they were compared with (recorded age/sex, measured intervals;
    /// NaN unknown): what batch evaluation needs, a few milliseconds faster per study.
    pub fn analyze_scores(
        &self,
        rec: &Recording,
        measurements: Option<&Measurements>,
    ) -> Result<(ModelOutput, ModelOutput, Attributes), ModelError> {
        self.analyze_opts(rec, measurements, false)
    }

    fn analyze_opts(
        &self,
        rec: &Recording,
        measurements: Option<&Measurements>,
        with_maps: bool,
    ) -> Result<(ModelOutput, ModelOutput, Attributes), ModelError> {
        let own;
        let meas = if let Some(m) = measurements {
            m
        } else {
            own = ecgcore::dsp::measurements::measure(rec);
            &own
        };
        let run = self.run_networks(rec, meas, with_maps)?;
        let partial = match (run.prepared.partial, self.manifest.partial.as_ref()) {
            (false, _) => None,
            (true, Some(p)) => Some(p),
            (true, None) => return Err(InputError::PartialUncalibrated.into()),
        };
        let (prepared, raw, base, actual) = (&run.prepared, &run.mscr, &run.baseline, &run.actual);
        let (mut ours, mut theirs) = (
            self.mscr_output(rec, prepared, raw, (actual, run.beat.as_deref()), partial),
            self.baseline_output(rec, prepared, base),
        );
        if !with_maps {
            ours.map.clear();
            theirs.map.clear();
        } else if partial.is_none() {
            self.add_shape_map(&mut ours, meas, rec.len_samples());
            self.add_score_guide(&mut ours, prepared, raw, rec.len_samples());
        }
        if let Some(p) = partial {
            judge_partial(&mut theirs, p.baseline_threshold);
            let note = format!(
                "Leads are only partly recorded (as on a paper ECG): scores and maps cover \
                 the recorded samples only, and the thresholds come from validation studies \
                 of this kind ({}; test AUROC {:.2} ours, {:.2} baseline). On real scans, \
                 scanning and digitizing noise raise the score: treat it as weak evidence. \
                 Predicted attributes are less reliable.",
                p.layout, p.mscr_test.auroc, p.baseline_test.auroc
            );
            ours.note = Some(note.clone());
            theirs.note = Some(note);
        }
        // A score that weighs the median beat's measures says when the study has none.
        let cal = partial.map_or(&self.manifest.calibration, |p| &p.calibration);
        if let Some(missing) = missing_beat_note(cal, run.beat.is_some()) {
            add_note(&mut ours, &missing);
        }
        // A paper page's doubtful leads qualify both verdicts, which lean on them.
        if let Some(doubt) = paper_doubt(&rec.provenance) {
            add_note(&mut ours, &doubt);
            add_note(&mut theirs, &doubt);
        }
        Ok((ours, theirs, run.actual))
    }

    /// The study's MSCR score components (mean over its windows, order
    /// [`score::COMPONENTS`]) and baseline score, without calibration or maps — for fitting
    /// calibrations (e.g. on digitized pages). Partial leads are handled as in
    /// [`Analyzer::analyze`].
    pub fn study_components(&self, rec: &Recording) -> Result<(Vec<f32>, f32), ModelError> {
        let meas = ecgcore::dsp::measurements::measure(rec);
        let run = self.run_networks(rec, &meas, false)?;
        let n = run.mscr.len().max(1) as f32;
        let mut comps = vec![0.0_f32; score::COMPONENTS.len()];
        for r in &run.mscr {
            let c = score::components(
                r,
                &run.actual,
                run.beat.as_deref(),
                self.manifest.normal_models(),
            );
            for (a, v) in comps.iter_mut().zip(c) {
                *a += v / n;
            }
        }
        let base_score =
            run.baseline.iter().map(|r| r.mse).sum::<f32>() / run.baseline.len().max(1) as f32;
        Ok((comps, base_score))
    }

    /// Prepare a recording by the contract and run both networks over its windows
    /// (recorded samples only when leads are partial).
    fn run_networks(
        &self,
        rec: &Recording,
        meas: &Measurements,
        with_maps: bool,
    ) -> Result<NetworkRun, ModelError> {
        let prepared = contract::prepare(rec)?;
        let shape = [
            prepared.windows.len() as i64,
            N_LEADS as i64,
            N_SAMPLES as i64,
        ];
        let windows = Tensor::from_slice(&prepared.windows.concat())
            .view(shape)
            .to_device(self.device);
        let valid = prepared.partial.then(|| {
            Tensor::from_slice(&prepared.valid.concat())
                .view(shape)
                .to_device(self.device)
        });
        let beats: Vec<Vec<usize>> = prepared
            .peaks
            .iter()
            .map(|p| contract::usable_beats(p, N_SAMPLES))
            .collect();
        let (mscr, baseline) = tch::no_grad(|| {
            (
                score::mscr_raw(
                    &self.mscr,
                    &windows,
                    &beats,
                    &self.manifest.attr_norm,
                    with_maps,
                    valid.as_ref(),
                ),
                score::baseline_raw(&self.baseline, &windows, &beats, with_maps, valid.as_ref()),
            )
        });
        let actual = actual_attributes(rec, meas, beats.first().map_or(&[][..], Vec::as_slice));
        Ok(NetworkRun {
            prepared,
            mscr,
            baseline,
            actual,
            beat: crate::shape::beat_vector(meas),
        })
    }

    fn common(&self, rec: &Recording, entry: &manifest::NetEntry, method: &str) -> ModelOutput {
        ModelOutput {
            method: method.to_string(),
            weights: format!(
                "{} sha256:{}",
                entry.file,
                entry.sha256.get(..12).unwrap_or("")
            ),
            threshold: entry.threshold,
            // The band was fitted on complete recordings; partly recorded leads (paper)
            // have none (`judge_partial`).
            borderline_margin: entry.borderline_margin,
            leads: StandardLead::ALL
                .iter()
                .map(|s| {
                    rec.lead(*s)
                        .map_or_else(|| s.label().to_string(), |l| l.name.clone())
                })
                .collect(),
            map_rate_hz: rec.sample_rate_hz,
            n_training_normals: self.manifest.n_training_normals,
            device: crate::device_name(self.device),
            ..ModelOutput::default()
        }
    }

    fn mscr_output(
        &self,
        rec: &Recording,
        prepared: &contract::Prepared,
        raw: &[MscrRaw],
        (actual, beat): (&Attributes, Option<&[f32]>),
        partial: Option<&PartialCalibration>,
    ) -> ModelOutput {
        let entry = &self.manifest.mscr;
        let mut out = self.common(rec, entry, MSCR_NAME);
        let calibration = partial.map_or(&self.manifest.calibration, |p| &p.calibration);
        let n = raw.len().max(1) as f32;
        out.score = raw
            .iter()
            .map(|r| {
                calibration.score(&score::components(
                    r,
                    actual,
                    beat,
                    self.manifest.normal_models(),
                ))
            })
            .sum::<f32>()
            / n;
        match partial {
            Some(p) => judge_partial(&mut out, p.threshold),
            None => out.judge_against(out.threshold),
        }
        out.lead_scores = mean_rows(raw.iter().map(|r| r.lead_err.as_slice()));
        let mut mean = [0.0_f32; N_ATTRIBUTES];
        for r in raw {
            for (a, v) in mean.iter_mut().zip(r.attrs) {
                *a += v / n;
            }
        }
        let attrs = Attributes::from_array(mean);
        let opt = |v: f32| v.is_finite().then_some(v);
        out.predicted = Some(PredictedAttributes {
            age_years: opt(attrs.age_years),
            female_probability: opt(attrs.female),
            heart_rate_bpm: opt(attrs.heart_rate_bpm),
            pr_ms: opt(attrs.pr_ms),
            qrs_ms: opt(attrs.qrs_ms),
            qt_ms: opt(attrs.qt_ms),
            qtc_ms: opt(attrs.qtc_ms),
        });
        out.normal_spread = Some(self.manifest.normal_spread.clone());
        out.map = paste_maps(
            raw.iter().map(|r| r.point_err.as_slice()),
            prepared,
            rec.len_samples(),
            &entry.map,
        );
        out
    }

    /// Lay the median-beat map over our restoration map (the higher of the two), on
    /// complete recordings only: a paper page's median beat is too noisy for the
    /// normals' point-wise spread.
    fn add_shape_map(&self, out: &mut ModelOutput, meas: &Measurements, n_samples: usize) {
        let Some(shape) = self
            .manifest
            .shape
            .as_ref()
            .and_then(|m| m.lead_map(meas, n_samples))
        else {
            return;
        };
        for (lead, extra) in out.map.iter_mut().zip(shape) {
            for (v, e) in lead.iter_mut().zip(extra) {
                if v.is_finite() {
                    *v = v.max(e);
                }
            }
        }
    }

    /// Raise the study's most deviant segments to its score's level (see
    /// [`crate::mapcal::ScoreGuide`]), on complete recordings only (as the median-beat map).
    fn add_score_guide(
        &self,
        out: &mut ModelOutput,
        prepared: &contract::Prepared,
        raw: &[MscrRaw],
        n_samples: usize,
    ) {
        let cal = &self.manifest.mscr.map;
        let Some(guide) = cal.guide.as_ref() else {
            return;
        };
        let level = guide.level(out.score);
        if level.is_nan() || level <= 0.0 || out.map.is_empty() {
            return;
        }
        let z = paste_windows(
            raw.iter().map(|r| r.point_err.as_slice()),
            prepared,
            n_samples,
            |w, peaks| cal.z(w, peaks),
        );
        guide.apply(&mut out.map, &z, level);
    }

    fn baseline_output(
        &self,
        rec: &Recording,
        prepared: &contract::Prepared,
        raw: &[BaselineRaw],
    ) -> ModelOutput {
        let entry = &self.manifest.baseline;
        let mut out = self.common(rec, entry, BASELINE_NAME);
        out.score = raw.iter().map(|r| r.mse).sum::<f32>() / raw.len().max(1) as f32;
        out.judge_against(out.threshold);
        out.lead_scores = mean_rows(raw.iter().map(|r| r.lead_err.as_slice()));
        out.map = paste_maps(
            raw.iter().map(|r| r.point_err.as_slice()),
            prepared,
            rec.len_samples(),
            &entry.map,
        );
        out
    }
}

/// Judge a partly recorded study (paper) against its own threshold. The borderline band
/// was fitted on complete recordings, where a noise-level change moves the score far less
/// than a page's scanning and digitizing do, so none is claimed here (the study's note
/// says to treat the score as weak evidence).
fn judge_partial(out: &mut ModelOutput, threshold: f32) {
    out.borderline_margin = 0.0;
    out.judge_against(threshold);
}

/// Known attributes: age and sex as recorded, HR/intervals as measured (NaN unknown).
pub fn actual_attributes(rec: &Recording, meas: &Measurements, beats: &[usize]) -> Attributes {
    let mut a = crate::attributes::attribute_targets(
        meas,
        beats,
        rec.patient
            .age_years
            .map(|a| if a > 120.0 { 90.0 } else { a }),
        rec.patient.sex.map(|s| s == Sex::Female),
    );
    if !a.age_years.is_finite() || a.age_years < 0.0 {
        a.age_years = f32::NAN;
    }
    a
}

/// Mean per lead over windows, skipping NaN ("not recorded in that window"); NaN when
/// no window has the lead.
fn mean_rows<'a>(rows: impl Iterator<Item = &'a [f32]>) -> Vec<f32> {
    let mut acc = [(0.0_f32, 0.0_f32); N_LEADS];
    for r in rows {
        for (a, v) in acc.iter_mut().zip(r) {
            if v.is_finite() {
                a.0 += v;
                a.1 += 1.0;
            }
        }
    }
    acc.iter()
        .map(|&(s, n)| if n > 0.0 { s / n } else { f32::NAN })
        .collect()
}

/// Turn per-window point errors (`[12 × 1000]` each) into likelihoods (per lead and beat
/// phase, with each window's own R peaks), paste them over the whole recording at the
/// model rate and resample each lead to `n_out` samples. Unrecorded samples stay NaN.
fn paste_maps<'a>(
    windows: impl Iterator<Item = &'a [f32]>,
    prepared: &contract::Prepared,
    n_out: usize,
    calibration: &MapCalibration,
) -> Vec<Vec<f32>> {
    paste_windows(windows, prepared, n_out, |w, peaks| {
        calibration.likelihood(w, peaks)
    })
}

/// Per-window values (`per_window` of each window's `[12 × 1000]` point errors and R
/// peaks) pasted over the whole recording and resampled to `n_out` samples per lead.
fn paste_windows<'a>(
    windows: impl Iterator<Item = &'a [f32]>,
    prepared: &contract::Prepared,
    n_out: usize,
    per_window: impl Fn(&[f32], &[usize]) -> Vec<f32>,
) -> Vec<Vec<f32>> {
    let total = prepared.total_len.max(1);
    let mut full = vec![vec![0.0_f32; total]; N_LEADS];
    let windows: Vec<&[f32]> = windows.filter(|w| !w.is_empty()).collect();
    if windows.is_empty() {
        return Vec::new();
    }
    for ((w, start), peaks) in windows
        .into_iter()
        .zip(&prepared.window_starts)
        .zip(&prepared.peaks)
    {
        let like = per_window(w, peaks);
        for (l, lead) in full.iter_mut().enumerate() {
            for i in 0..N_SAMPLES {
                if let (Some(dst), Some(v)) = (lead.get_mut(start + i), like.get(l * N_SAMPLES + i))
                {
                    *dst = *v;
                }
            }
        }
    }
    full.iter()
        .map(|lead| contract::resample_to_len(lead, n_out))
        .collect()
}

/// Append a sentence to a verdict's note.
fn add_note(o: &mut ModelOutput, text: &str) {
    o.note = Some(match o.note.take() {
        Some(n) => format!("{n} {text}"),
        None => text.to_string(),
    });
}

/// Components computed from the study's median beat ([`crate::shape`], [`crate::waves`]).
const BEAT_COMPONENTS: [&str; 2] = ["shape", "waves"];

/// A sentence for a study without a median beat in all twelve leads, when the score in use
/// (`cal`) weighs components taken from that beat: they are missing and count as normal,
/// so the score may miss a change of the beat's shape. `None` otherwise.
pub fn missing_beat_note(cal: &score::Calibration, has_beat: bool) -> Option<String> {
    let weighs_beat = cal
        .names
        .iter()
        .zip(&cal.weights)
        .any(|(n, w)| *w != 0.0 && BEAT_COMPONENTS.contains(&n.as_str()));
    (weighs_beat && !has_beat).then(|| {
        "No median beat could be measured in all twelve leads, so the score's median-beat \
         measures are missing and count as normal: a change of the beat's shape may be \
         missed. Check the tracing itself."
            .to_string()
    })
}

/// For a recording read off a paper image, a sentence naming the leads the digitizer read
/// with low confidence (they count in the score like the others); `None` when every lead
/// shown was read confidently or the recording is not from paper.
pub fn paper_doubt(provenance: &ecgcore::Provenance) -> Option<String> {
    let doubtful: Vec<&str> = provenance
        .lead_confidence
        .iter()
        .filter(|(_, c)| *c < ecgcore::recording::LOW_LEAD_CONFIDENCE)
        .map(|(l, _)| l.as_str())
        .collect();
    if doubtful.is_empty() {
        return None;
    }
    let shown = provenance.lead_confidence.len();
    let who = if doubtful.len() == shown {
        "Every lead was".to_string()
    } else if doubtful.len() == 1 {
        "One lead was".to_string()
    } else {
        format!("{} of {shown} leads were", doubtful.len())
    };
    Some(format!(
        "{who} read from the paper with low confidence ({}): the score counts them like the \
         others, so check them against the page before relying on this verdict.",
        doubtful.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubtful_paper_leads_are_named_and_recorded_files_say_nothing() {
        let mut p = ecgcore::Provenance::default();
        assert_eq!(paper_doubt(&p), None);
        p.lead_confidence = vec![("I".into(), 0.9), ("V1".into(), 0.3), ("V2".into(), 0.2)];
        let text = paper_doubt(&p).unwrap();
        assert!(text.starts_with("2 of 3 leads were"), "{text}");
        assert!(text.contains("(V1, V2)"), "{text}");
        p.lead_confidence = vec![("I".into(), 0.9), ("II".into(), 0.5)];
        assert_eq!(paper_doubt(&p), None);
    }

    #[test]
    fn a_score_weighing_the_median_beat_says_when_the_study_has_none() {
        let n = score::COMPONENTS.len();
        let mut cal = score::Calibration {
            names: score::COMPONENTS.iter().map(|c| (*c).to_string()).collect(),
            center: vec![0.0; n],
            scale: vec![1.0; n],
            weights: vec![0.0; n],
        };
        let at = |name: &str| score::COMPONENTS.iter().position(|c| *c == name).unwrap();
        cal.weights[at("features")] = 1.0;
        assert_eq!(
            missing_beat_note(&cal, false),
            None,
            "no beat component weighed"
        );
        cal.weights[at("waves")] = 0.5;
        assert_eq!(missing_beat_note(&cal, true), None, "the beat is there");
        let note = missing_beat_note(&cal, false).expect("waves weighed, no beat");
        assert!(note.contains("median beat"), "{note}");
        cal.weights[at("waves")] = 0.0;
        cal.weights[at("shape")] = 1.0;
        assert!(missing_beat_note(&cal, false).is_some());
    }
}
