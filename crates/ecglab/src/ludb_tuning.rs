//! Tuning and timing tools for the delineator on LUDB (`ecglab tune NAME`: sweep, timing, timing-parts, inspect, ptbxl-rates, axis, dump).
//!
//! The sweep sees ONLY the tuning half of LUDB (`ludb_half`: record id mod 4 in {0, 1}),
//! where the thresholds were fitted. The constant shifts are fitted and cross-validated
//! over all records by `ecglab validate-intervals` (`interval_cv`), which the
//! `ludb_intervals` test asserts.
//!
//! `SWEEP` is a `;`-separated list of parameter sets, each a `,`-separated list of
//! `key=value` (on, off, pf, rank, lp, son, soff, spon, spoff, st, tmin, pcons, af, pmin:
//! see `DelineationParams`); `DETAIL=1` prints every record, `PCONS=1` the P-wave
//! consistency and RR irregularity per record, `WORST=n` the n records with the largest
//! QRS error with the error of each boundary, `RATE=100` resamples first (to fit the
//! sampling-rate corrections). This is how the defaults were fitted.

use crate::intervals::{compare, load_ludb, records_of_half, LudbHalf, BOUNDARIES};
use ecgcore::dsp::delineate::DelineationParams;
use std::path::PathBuf;
pub fn sweep() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/ludb");
    let (all, failed) = load_ludb(&dir).unwrap();
    let mut recs = records_of_half(&all, LudbHalf::Tuning);
    if let Ok(rate) = std::env::var("RATE") {
        let rate: f64 = rate.parse().unwrap();
        for r in &mut recs {
            let from = r.recording.sample_rate_hz;
            for lead in &mut r.recording.leads {
                lead.samples_mv = ecgcore::dsp::filter::resample(&lead.samples_mv, from, rate);
            }
            r.recording.sample_rate_hz = rate;
        }
    }
    let spec = std::env::var("SWEEP").unwrap_or_default();
    for item in spec.split(';').filter(|s| !s.is_empty()) {
        let mut p = DelineationParams::default();
        for kv in item.split(',') {
            let (k, v) = kv.split_once('=').unwrap();
            let f: f32 = v.parse().unwrap();
            match k {
                "on" => p.qrs_onset_fraction = f,
                "off" => p.qrs_offset_fraction = f,
                "pf" => p.p_fraction = f,
                "rank" => p.t_end_rank = f as usize,
                "lp" => p.lowpass_hz = f64::from(f),
                "son" => p.qrs_onset_shift_ms = f,
                "soff" => p.qrs_offset_shift_ms = f,
                "spon" => p.p_onset_shift_ms = f,
                "spoff" => p.p_offset_shift_ms = f,
                "st" => p.t_end_shift_ms = f,
                "trel" => p.t_min_relative = f,
                "tout" => p.t_outlier_ms = f,
                "tsq" => p.t_search_sqrt_rr = f64::from(f),
                "qrank" => p.qrs_lead_rank = f as usize,
                "qlf" => p.qrs_lead_fraction = f,
                "qw" => p.qrs_lead_weight = f,
                "eq" => p.qrs_lead_equalise = f,
                "tmin" => p.t_min_amplitude_mv = f,
                "pcons" => p.p_min_consistency = f,
                "af" => p.af_rr_irregularity = f,
                "pmin" => p.p_min_amplitude_mv = f,
                _ => panic!("{k}"),
            }
        }
        let t = compare(&dir, &recs, failed.clone(), &p);
        println!("== {item}\n{t}");
        if std::env::var("PCONS").is_ok() {
            for r in &recs {
                let m = ecgcore::dsp::measurements::measure_with(&r.recording, &p);
                let cv = m.rr_irregularity;
                println!(
                    "PC {} {:?} cons {:?} amp? rmssd/rr {:?} refpr {:?}",
                    r.name, r.rhythm, m.p_wave_consistency, cv, r.reference.values[1]
                );
            }
        }
        if let Ok(n) = std::env::var("WORST") {
            let n: usize = n.parse().unwrap();
            let mean = t.row("QRS").and_then(|r| r.mean_diff).unwrap_or(0.0);
            let mut rows: Vec<_> = t
                .records
                .iter()
                .filter_map(|r| Some((r.ours[3]? - r.reference[3]? - mean, r)))
                .collect();
            rows.sort_by(|a, b| b.0.abs().total_cmp(&a.0.abs()));
            for (e, r) in rows.iter().take(n) {
                let b: Vec<String> = BOUNDARIES
                    .iter()
                    .zip(&r.boundary_ms)
                    .map(|(name, v)| {
                        format!("{name} {}", v.map_or("—".into(), |v| format!("{v:+.0}")))
                    })
                    .collect();
                println!(
                    "WORST {:>4} QRS err {e:+6.1} (ours {:?} ref {:?}) | {} | {:?}",
                    r.record,
                    r.ours[3],
                    r.reference[3],
                    b.join(", "),
                    r.rhythm
                );
            }
        }
        if std::env::var("DETAIL").is_ok() {
            for r in &t.records {
                println!(
                    "{} {:?} ours {:?} ref {:?} boundaries {:?}",
                    r.record, r.rhythm, r.ours, r.reference, r.boundary_ms
                );
            }
        }
    }
}

pub fn timing() {
    // CPU time of this thread (Linux: /proc/thread-self/schedstat, first field in ns), so
    // the figure means something on a machine shared with other builds.
    fn cpu_ns() -> Option<u64> {
        std::fs::read_to_string("/proc/thread-self/schedstat")
            .ok()?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/ludb/data");
    for id in [1, 51, 121] {
        let rec = ecgcore::formats::open(&dir.join(format!("{id}.hea"))).unwrap();
        let n = 100;
        let cpu0 = cpu_ns();
        let wall = ecgcore::dsp::measurements::time_measure(&rec, n);
        let cpu = cpu_ns()
            .zip(cpu0)
            .map(|(b, a)| (b - a) as f64 / n as f64 / 1e6);
        println!("LUDB {id} (12 leads, 500 Hz, 10 s) measure: wall {wall:?} per call, thread CPU {cpu:?} ms per call");
    }
}

pub fn timing_parts() {
    use std::time::Instant;
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/ludb/data/1.hea");
    let rec = ecgcore::formats::open(&dir).unwrap();
    let fs = rec.sample_rate_hz;
    let raw: Vec<&[f32]> = rec.leads.iter().map(|l| l.samples_mv.as_slice()).collect();
    let n = 20;
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(ecgcore::dsp::qrs::detect_qrs(&raw, fs));
    }
    println!("qrs {:?}", t.elapsed() / n);
    let t = Instant::now();
    let mut clean = Vec::new();
    for _ in 0..n {
        clean = raw
            .iter()
            .map(|x| {
                ecgcore::dsp::filter::lowpass(
                    &ecgcore::dsp::filter::remove_baseline_wander(x, fs),
                    fs,
                    40.0,
                )
            })
            .collect::<Vec<_>>();
    }
    println!("filters {:?}", t.elapsed() / n);
    let peaks = ecgcore::dsp::qrs::detect_qrs(&raw, fs);
    let refs: Vec<&[f32]> = clean.iter().map(Vec::as_slice).collect();
    let t = Instant::now();
    let mut mb = None;
    for _ in 0..n {
        mb = ecgcore::dsp::beats::median_beat(&refs, &peaks, fs);
    }
    println!("median beat {:?}", t.elapsed() / n);
    let mb = mb.unwrap();
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(ecgcore::dsp::delineate::delineate(
            &mb.leads,
            mb.fiducial,
            fs,
            1.0,
            &DelineationParams::default(),
        ));
    }
    println!("delineate {:?}", t.elapsed() / n);
}

pub fn inspect() {
    let id = std::env::var("REC").unwrap_or_else(|_| "1".into());
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../../../shared/data/ludb/data/{id}.hea"));
    let mut rec = ecgcore::formats::open(&path).unwrap();
    if let Ok(rate) = std::env::var("RATE") {
        let rate: f64 = rate.parse().unwrap();
        let from = rec.sample_rate_hz;
        for lead in &mut rec.leads {
            lead.samples_mv = ecgcore::dsp::filter::resample(&lead.samples_mv, from, rate);
        }
        rec.sample_rate_hz = rate;
    }
    let m = ecgcore::dsp::measurements::measure(&rec);
    println!(
        "{:?}\n{:?}\nbeats {} dominant {} peaks {:?}",
        m.missing_reasons, m.fiducials, m.n_beats, m.n_dominant_beats, m.r_peaks
    );
    println!(
        "hr {:?} pr {:?} qrs {:?} qt {:?} axes {:?} {:?} {:?}",
        m.heart_rate_bpm, m.pr_ms, m.qrs_ms, m.qt_ms, m.p_axis_deg, m.qrs_axis_deg, m.t_axis_deg
    );
}

pub fn ptbxl_rates() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/ptbxl");
    let mut diffs: [Vec<f32>; 5] = Default::default();
    let mut missing = [0usize; 5];
    for id in 1..=200 {
        let hr = dir.join(format!("records500/00000/{id:05}_hr.hea"));
        let lr = dir.join(format!("records100/00000/{id:05}_lr.hea"));
        let (Ok(a), Ok(b)) = (ecgcore::formats::open(&hr), ecgcore::formats::open(&lr)) else {
            continue;
        };
        let (ma, mb) = (
            ecgcore::dsp::measurements::measure(&a),
            ecgcore::dsp::measurements::measure(&b),
        );
        let va = [
            ma.heart_rate_bpm,
            ma.pr_ms,
            ma.qrs_ms,
            ma.qt_ms,
            ma.qrs_axis_deg,
        ];
        let vb = [
            mb.heart_rate_bpm,
            mb.pr_ms,
            mb.qrs_ms,
            mb.qt_ms,
            mb.qrs_axis_deg,
        ];
        for k in 0..5 {
            match (va[k], vb[k]) {
                (Some(x), Some(y)) => diffs[k].push(y - x),
                (Some(_), None) | (None, Some(_)) => missing[k] += 1,
                _ => {}
            }
        }
    }
    for (k, name) in ["HR", "PR", "QRS", "QT", "QRS axis"].iter().enumerate() {
        let d = &diffs[k];
        let n = d.len() as f32;
        let mean = d.iter().sum::<f32>() / n;
        let sd = (d.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / (n - 1.0)).sqrt();
        println!("{name}: 100 Hz − 500 Hz mean {mean:.1} SD {sd:.1} (n {}, measured at one rate only {})", d.len(), missing[k]);
    }
}

pub fn axis() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/ludb/data");
    let mut rows = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "hea") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let cat = text
            .lines()
            .find_map(|l| l.strip_prefix("#Electric axis of the heart:"))
            .map(|s| s.trim().trim_end_matches('.').to_string());
        let rec = ecgcore::formats::open(&path).unwrap();
        let m = ecgcore::dsp::measurements::measure(&rec);
        rows.push((cat, m.qrs_axis_deg));
    }
    rows.sort_by(|a, b| format!("{:?}", a.0).cmp(&format!("{:?}", b.0)));
    // LUDB's (Russian) convention: normal 30–70°, horizontal 0–30°, vertical 70–90°,
    // left deviation < 0°, right deviation > 90°. Measured 2026-11-25: 55 of 96 in the
    // category's range, 74 of 96 within 15° of it (net-area axis; R+S amplitudes: 56/77).
    let range = |c: &str| match c {
        "normal" => Some((30.0, 70.0)),
        "horizontal" => Some((0.0, 30.0)),
        "vertical" => Some((70.0, 90.0)),
        "left axis deviation" => Some((-180.0, 0.0)),
        "right axis deviation" => Some((90.0, 180.0)),
        _ => None,
    };
    let (mut n, mut inside, mut near) = (0, 0, 0);
    for (c, a) in &rows {
        println!("{c:?} {a:?}");
        if let (Some((lo, hi)), Some(a)) = (c.as_deref().and_then(range), a) {
            n += 1;
            inside += usize::from((lo..=hi).contains(a));
            near += usize::from((lo - 15.0..=hi + 15.0).contains(a));
        }
    }
    println!("QRS axis in the cardiologists' category: {inside}/{n}, within 15°: {near}/{n}");
}

pub fn dump() {
    use crate::intervals::reference_relative;
    use ecgcore::formats::wfdb_annotation::{read_annotations, waves, WaveKind};
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/ludb");
    let (all, _) = load_ludb(&dir).unwrap();
    let mut out = Vec::new();
    for r in records_of_half(&all, LudbHalf::Tuning) {
        let fs = r.recording.sample_rate_hz;
        let m = ecgcore::dsp::measurements::measure(&r.recording);
        let Some(mb) = &m.median_beat else { continue };
        let rel = reference_relative(&r.reference_beats, r.reference_rate_hz, &m.r_peaks, fs);
        // Per lead: median over beats of QRS onset / offset − our nearest R peak (ms).
        let mut per_lead = Vec::new();
        for ext in crate::intervals::LUDB_LEADS {
            let path = dir.join(format!("data/{}.{ext}", r.name));
            let ws = waves(&read_annotations(&path).unwrap());
            let (mut on, mut off) = (Vec::new(), Vec::new());
            for w in ws.iter().filter(|w| w.kind == WaveKind::Qrs) {
                let Some(&p) = m
                    .r_peaks
                    .iter()
                    .min_by_key(|&&p| (p as i64 - w.peak as i64).abs())
                else {
                    continue;
                };
                if (p as i64 - w.peak as i64).abs() as f64 > 0.1 * fs {
                    continue;
                }
                if let Some(o) = w.onset {
                    on.push((o as f64 - p as f64) / fs * 1000.0);
                }
                if let Some(o) = w.offset {
                    off.push((o as f64 - p as f64) / fs * 1000.0);
                }
            }
            let med = |mut v: Vec<f64>| -> Option<f64> {
                v.sort_by(f64::total_cmp);
                v.get(v.len() / 2).copied()
            };
            per_lead.push((med(on), med(off)));
        }
        out.push(serde_json::json!({
            "name": r.name,
            "fs": fs,
            "rhythm": r.rhythm,
            "rr_ms": m.rr_ms,
            "fiducial": m.fiducials.r_peak,
            "ours": [m.fiducials.p_onset, m.fiducials.p_offset, m.fiducials.qrs_onset, m.fiducials.qrs_offset, m.fiducials.t_offset],
            "ref_rel_ms": rel,
            "ref_intervals": r.reference.values,
            "per_lead_qrs_ms": per_lead,
            "leads": mb.samples_mv,
        }));
    }
    let path = std::env::var("OUT").unwrap_or_else(|_| "/tmp/ludb_tuning.json".into());
    std::fs::write(&path, serde_json::to_string(&out).unwrap()).unwrap();
    println!("wrote {} records to {path}", out.len());
}
