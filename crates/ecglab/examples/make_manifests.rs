//! Write the PTB-XL fold-9 (validation) and fold-10 (test) manifests, the fold-9 records
//! that PTB-XL's 500 Hz files here cover at both rates (`ptbxl_fold9_100hz.csv`,
//! `ptbxl_fold9_500hz.csv`), and the external LUDB one for `eval`:
//! `cargo run -p ecglab --example make_manifests -- [PTBXL_DIR] [OUT_DIR] [LUDB_DIR]`
//! (defaults `.data/ptbxl`, `models/manifests` and `../shared/data/ludb`). Paths in the manifests are
//! relative to OUT_DIR.
use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let ptbxl = PathBuf::from(args.first().map_or(".data/ptbxl", String::as_str));
    let out = PathBuf::from(args.get(1).map_or("models/manifests", String::as_str));
    std::fs::create_dir_all(&out)?;
    for (fold, name) in [(9u8, "ptbxl_fold9.csv"), (10, "ptbxl_fold10.csv")] {
        let n = ecglab::manifests::write_ptbxl_manifest(&ptbxl, fold, &out.join(name))?;
        println!("{}: {n} records", out.join(name).display());
    }
    let (lr, hr) = (
        out.join("ptbxl_fold9_100hz.csv"),
        out.join("ptbxl_fold9_500hz.csv"),
    );
    let n = ecglab::manifests::write_ptbxl_rate_pair(&ptbxl, 9, &lr, &hr)?;
    println!(
        "{} and {}: the same {n} records at 100 and 500 Hz",
        lr.display(),
        hr.display()
    );
    let ludb = PathBuf::from(args.get(2).map_or("../shared/data/ludb", String::as_str));
    let path = out.join("ludb_external.csv");
    let (normals, abnormals) = ecglab::manifests::write_ludb_manifest(&ludb, &path)?;
    println!(
        "{}: {normals} normal, {abnormals} abnormal (external check)",
        path.display()
    );
    Ok(())
}
