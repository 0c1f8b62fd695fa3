use ecgcore::StandardLead as L;
use ecgdigitize::{confidence, digitize_path, eval, DigitizeOptions};
use std::path::Path;
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let d = digitize_path(Path::new(&a[1]), &DigitizeOptions::default()).unwrap();
    let s: Vec<Vec<f32>> = d
        .recording
        .leads
        .iter()
        .map(|l| l.samples_mv.clone())
        .collect();
    let (_, truth) = eval::read_wfdb16(Path::new(&a[2])).unwrap();
    for (name, sig) in [("digitized", &s), ("truth", &truth)] {
        for sh in [-10i32, -5, 0, 5, 10] {
            let shifted: Vec<f32> = (0..5000)
                .map(|i| {
                    let j = i as i32 + sh;
                    if (0..5000).contains(&j) {
                        sig[L::III.index()][j as usize]
                    } else {
                        f32::NAN
                    }
                })
                .collect();
            let leads = [
                (sig[L::I.index()].as_slice(), 1.0),
                (shifted.as_slice(), 1.0),
                (sig[L::II.index()].as_slice(), -1.0),
            ];
            println!(
                "{name} shift {sh}: {:?}",
                confidence::law_residual(&leads, 250)
            );
        }
    }
    println!("{:?}", confidence::law_factors(&s));
}
