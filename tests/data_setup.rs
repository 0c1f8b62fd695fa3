//! `scripts/data.sh`, which `make setup` and `make data` run: PTB-XL's plain and packed
//! records of `../shared/data` become one tree (training, `eval` manifests and the data
//! tests read `.data/ptbxl`). It must unpack every record of the packed `labels.csv`,
//! leave a finished tree alone on the next call, and fail clearly, naming what is
//! missing and what to do, when the shared data is absent.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn data_sh(dest: &Path, shared: Option<&Path>) -> std::process::Output {
    let mut cmd = Command::new("bash");
    cmd.arg(repo().join("scripts/data.sh")).arg(dest);
    if let Some(s) = shared {
        cmd.env("ECGSCOPE_SHARED", s);
    } else {
        cmd.env_remove("ECGSCOPE_SHARED");
    }
    cmd.output().expect("bash runs")
}

fn count_headers(dir: &Path) -> usize {
    let mut n = 0;
    for sub in std::fs::read_dir(dir)
        .expect("records100 is a folder")
        .flatten()
    {
        n += std::fs::read_dir(sub.path()).map_or(0, |it| {
            it.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "hea"))
                .count()
        });
    }
    n
}

#[test]
fn unpack_builds_the_whole_tree_once_and_fails_clearly_without_the_packs() {
    let shared = repo().join("../shared/data");
    assert!(
        shared.join("ptbxl/packed/unpack.sh").exists(),
        "this test needs the project's shared data folder at {} (PTB-XL and its packed/ records)",
        shared.display()
    );
    let tmp = std::env::temp_dir().join(format!("ecgscope-data-{}", std::process::id()));
    let dest = tmp.join("ptbxl");
    let first = data_sh(&dest, None);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    // Every record listed in labels.csv is there (header + data), 10,420 of them.
    let labels = std::fs::read_to_string(dest.join("labels.csv")).unwrap();
    let rows = labels.lines().count() - 1;
    assert_eq!(rows, 10_420);
    assert_eq!(count_headers(&dest.join("records100")), rows);
    assert!(dest.join("records100/21000").is_dir() || dest.join("records100/20000").is_dir());
    assert!(dest.join("records500/00000/00010_hr.hea").exists());
    // The second call leaves the finished tree alone.
    let stamp = dest.join(".unpacked");
    let probe = dest.join("records100/00000/00001_lr.hea");
    let (t_stamp, t_probe) = (
        std::fs::metadata(&stamp).unwrap().modified().unwrap(),
        std::fs::metadata(&probe).unwrap().modified().unwrap(),
    );
    std::thread::sleep(std::time::Duration::from_millis(20));
    let second = data_sh(&dest, None);
    assert!(second.status.success());
    assert_eq!(
        std::fs::metadata(&stamp).unwrap().modified().unwrap(),
        t_stamp
    );
    assert_eq!(
        std::fs::metadata(&probe).unwrap().modified().unwrap(),
        t_probe
    );
    // Without the shared data: exit 3 and a message naming the missing script and the fix.
    let empty = tmp.join("no-shared");
    std::fs::create_dir_all(&empty).unwrap();
    let missing = data_sh(&tmp.join("other"), Some(&empty));
    assert_eq!(missing.status.code(), Some(3));
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(err.contains("ptbxl/packed/unpack.sh is absent"), "{err}");
    assert!(err.contains("make data"), "{err}");
    assert!(!tmp.join("other").exists(), "nothing is created on failure");
    let _ = std::fs::remove_dir_all(&tmp);
}
