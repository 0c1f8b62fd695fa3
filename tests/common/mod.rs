//! Helpers shared by the integration tests (each test file uses what it needs).
#![allow(dead_code)]

use std::path::PathBuf;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shipped MSCR weights' SHA-256 as `models/manifest.json` records it, or `None`
/// (after saying so) when the weights are absent.
pub fn shipped_mscr_sha256() -> Option<String> {
    let Ok(text) = std::fs::read_to_string(repo().join("models/manifest.json")) else {
        ecgcore::testing::skip("models/manifest.json is absent");
        return None;
    };
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    Some(v["mscr"]["sha256"].as_str().unwrap().to_string())
}

/// A fresh copy of `models/` in the temp folder whose MSCR weights have one byte changed
/// (`None`, after saying so, when the weights are absent).
pub fn corrupted_models(tag: &str) -> Option<PathBuf> {
    shipped_mscr_sha256()?;
    let models = repo().join("models");
    let dir = std::env::temp_dir().join(format!("ecgscope-corrupt-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(&models).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
        }
    }
    let weights = dir.join("mscr.safetensors");
    let mut bytes = std::fs::read(&weights).unwrap();
    let at = bytes.len() - 100;
    bytes[at] ^= 0x01;
    std::fs::write(&weights, bytes).unwrap();
    Some(dir)
}

/// Run `cmd`, assert it succeeded (showing its stderr when not) and return its output.
pub fn run_ok(cmd: &mut std::process::Command) -> std::process::Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Run `cmd` like [`run_ok`] and parse its standard output as JSON.
pub fn json_ok(cmd: &mut std::process::Command) -> serde_json::Value {
    serde_json::from_slice(&run_ok(cmd).stdout).unwrap()
}

/// The app as `ecgscope [PATH]` starts it, without the model (tests run without it) and
/// without a settings file; the opening job (if any) is still running.
pub fn app_without_model(
    settings: ecgscope::app::settings::Settings,
    open: Option<PathBuf>,
) -> ecgscope::app::EcgApp {
    ecgscope::app::EcgApp::new(
        settings,
        None,
        std::sync::Arc::new(ecgscope::pipeline::Engine::without_model(
            "tests run without the model",
        )),
        open,
        None,
    )
}
