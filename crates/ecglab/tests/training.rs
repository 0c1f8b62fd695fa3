//! Training learns: a few optimizer steps of the MSCR loss on real PTB-XL normals lower it.
//! Reads `.data/ptbxl` (`make data`) and fails without it.

use ecgmodel::contract::{self, N_SAMPLES};
use ecgmodel::net::Mscr;
use ecgmodel::views::SplitMix64;
use std::path::PathBuf;
use tch::{nn, Device, Kind, Tensor};

fn ptbxl() -> PathBuf {
    let p =
        ecglab::data::default_ptbxl_dir(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."));
    assert!(
        p.join("labels.csv").exists(),
        "{} is absent: run `make data` (it unpacks ../shared/data/ptbxl and its packed/ records)",
        p.display()
    );
    p
}

fn open_ptbxl(dir: &std::path::Path, id: u32) -> ecgcore::Recording {
    let path = dir.join(format!(
        "records100/{:05}/{:05}_lr.hea",
        (id / 1000) * 1000,
        id
    ));
    ecgcore::formats::open(&path).expect("PTB-XL record opens")
}

#[test]
fn a_few_optimizer_steps_on_real_records_lower_the_loss() {
    let dir = ptbxl();
    tch::set_num_threads(2);
    // Eight NORM records from folds 1–8 (ids 1, 2, 3, 4, 5, 6, 7, 8 are NORM in labels.csv).
    let rows = ecglab::data::read_labels(&dir).unwrap();
    let ids: Vec<u32> = rows
        .iter()
        .filter(|r| r.label() == Some(0) && (1..=8).contains(&r.fold) && !r.excluded)
        .take(8)
        .map(|r| r.ecg_id)
        .collect();
    let mut flat = Vec::new();
    let mut beats = Vec::new();
    for id in &ids {
        let p = contract::prepare(&open_ptbxl(&dir, *id)).unwrap();
        let w = p.windows[0].clone();
        beats.push(contract::usable_beats(
            &contract::detect_r_peaks(&w, N_SAMPLES),
            N_SAMPLES,
        ));
        flat.extend(w);
    }
    let x = Tensor::from_slice(&flat).view([ids.len() as i64, 12, N_SAMPLES as i64]);
    let targets = Tensor::full([ids.len() as i64, 7], f64::NAN, (Kind::Float, Device::Cpu));
    let beat_refs: Vec<&[usize]> = beats.iter().map(Vec::as_slice).collect();
    tch::manual_seed(5);
    let vs = nn::VarStore::new(Device::Cpu);
    let model = Mscr::new(&vs.root());
    let mut opt = nn::OptimizerConfig::build(nn::Adam::default(), &vs, 2e-3).unwrap();
    let loss_at = |model: &Mscr| {
        tch::manual_seed(11);
        let mut rng = SplitMix64(11);
        tch::no_grad(|| {
            ecglab::train::mscr_loss(model, &x, &targets, &beat_refs, &mut rng, true)
                .double_value(&[])
        })
    };
    let before = loss_at(&model);
    let mut rng = SplitMix64(1);
    for _ in 0..15 {
        let loss = ecglab::train::mscr_loss(&model, &x, &targets, &beat_refs, &mut rng, true);
        opt.backward_step(&loss);
    }
    let after = loss_at(&model);
    assert!(after < before - 0.05, "loss {before} → {after}");
}
