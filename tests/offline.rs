//! Offline by construction (issue 9): `analyze`, `report` and the GUI start work inside a
//! new network namespace made with `unshare -n` (util-linux), which holds nothing but a
//! loopback interface that is down — no route to any host exists, so any attempt to reach
//! the network would fail. The X server socket is a filesystem unix socket, which is not
//! bound to the network namespace, so the GUI can still draw.
//!
//! Also checked without a namespace: no source file uses `std::net`, and no HTTP/TLS/socket
//! crate is in the dependency graph for the host platform (`cargo metadata
//! --filter-platform`).
//!
//! Each test skips with a `SKIPPED:` line when its tool is missing (`unshare -n` needs root
//! or unprivileged user namespaces; the GUI check needs `Xvfb`).

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::repo;

fn sample() -> PathBuf {
    repo().join("assets/sample/00010_hr.hea")
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ecgscope-offline-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The command prefix that runs a program in a fresh network namespace: `unshare -n`
/// (root), else `unshare -r -n` (unprivileged user namespace), else `None`.
fn netns_prefix() -> Option<Vec<&'static str>> {
    for prefix in [vec!["unshare", "-n"], vec!["unshare", "-r", "-n"]] {
        let ok = Command::new(prefix[0])
            .args(&prefix[1..])
            .arg("true")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Some(prefix);
        }
    }
    None
}

/// `ecgscope ARGS…` inside a new network namespace, or `None` (after saying so) when no
/// namespace can be made here.
fn offline_ecgscope(test: &str) -> Option<Command> {
    let Some(prefix) = netns_prefix() else {
        eprintln!(
            "SKIPPED {test}: `unshare -n` is not permitted here (needs root or user namespaces)"
        );
        return None;
    };
    let mut cmd = Command::new(prefix[0]);
    cmd.args(&prefix[1..]).arg(env!("CARGO_BIN_EXE_ecgscope"));
    Some(cmd)
}

#[test]
fn the_namespace_has_no_network() {
    let Some(prefix) = netns_prefix() else {
        ecgcore::testing::skip("the_namespace_has_no_network: `unshare -n` is not permitted here");
        return;
    };
    // /proc/self/net/dev lists the interfaces of the reader's own network namespace.
    let out = Command::new(prefix[0])
        .args(&prefix[1..])
        .args(["cat", "/proc/self/net/dev"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let interfaces: Vec<&str> = text
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(str::trim)
        .collect();
    assert_eq!(
        interfaces,
        ["lo"],
        "only a loopback inside the namespace:\n{text}"
    );
    // and no IPv4 route at all (the loopback is down); the kernel may omit even the header
    let route = Command::new(prefix[0])
        .args(&prefix[1..])
        .args(["cat", "/proc/self/net/route"])
        .output()
        .unwrap();
    let routes = String::from_utf8_lossy(&route.stdout);
    let route_count = routes.lines().filter(|l| !l.starts_with("Iface")).count();
    assert_eq!(route_count, 0, "no routes:\n{routes}");
}

#[test]
fn analyze_json_works_without_network() {
    let Some(mut cmd) = offline_ecgscope("analyze_json_works_without_network") else {
        return;
    };
    let v = common::json_ok(cmd.args(["analyze", "--json"]).arg(sample()));
    assert_eq!(v["leads"].as_array().map(Vec::len), Some(12));
    assert_eq!(v["sample_rate_hz"], 500.0);
    assert_eq!(v["duration_s"], 10.0);
    assert_eq!(v["source"]["format"], "WFDB");
}

#[test]
fn report_pdf_works_without_network() {
    let Some(mut cmd) = offline_ecgscope("report_pdf_works_without_network") else {
        return;
    };
    let dir = temp_dir("report");
    let pdf = dir.join("sample.pdf");
    common::run_ok(
        cmd.arg("report")
            .arg(sample())
            .arg("--output")
            .arg(&pdf)
            .arg("--force"),
    );
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF-"), "a PDF file");
    assert!(
        bytes.len() > 10_000,
        "a real page, not an empty file: {} bytes",
        bytes.len()
    );
    assert!(
        bytes.windows(5).rev().take(1024).any(|w| w == b"%%EOF"),
        "complete PDF"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A private Xvfb display, killed on drop.
struct Xvfb {
    child: Child,
    display: String,
}

impl Xvfb {
    fn start() -> Option<Xvfb> {
        // a display number unlikely to clash with others' test runs or this run's others
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let k = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let number = 200 + (std::process::id() % 400) * 2 + k % 2;
        let socket = PathBuf::from(format!("/tmp/.X11-unix/X{number}"));
        let child = Command::new("Xvfb")
            .arg(format!(":{number}"))
            .args(["-screen", "0", "1600x1000x24", "-nolisten", "tcp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let mut xvfb = Xvfb {
            child,
            display: format!(":{number}"),
        };
        let start = Instant::now();
        while !socket.exists() {
            if start.elapsed() > Duration::from_secs(10) || xvfb.child.try_wait().ok()?.is_some() {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(xvfb)
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn stderr_of(child: &mut Child) -> String {
    let mut err = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut err);
    }
    err
}

/// `ecgscope` in a new network namespace and an Xvfb display for it, or `None` (after
/// saying why) when either is not available here.
fn offline_gui(test: &str) -> Option<(Command, Xvfb)> {
    if Command::new("Xvfb")
        .arg("-help")
        .stderr(Stdio::null())
        .status()
        .is_err()
    {
        ecgcore::testing::skip(&format!(
            "{test}: Xvfb is not installed (apt-get install xvfb)"
        ));
        return None;
    }
    let cmd = offline_ecgscope(test)?;
    let Some(xvfb) = Xvfb::start() else {
        ecgcore::testing::skip(&format!("{test}: Xvfb did not start"));
        return None;
    };
    Some((cmd, xvfb))
}

/// The GUI command on `xvfb`'s display with `home` as its (empty) home and settings.
fn with_fresh_home<'a>(cmd: &'a mut Command, xvfb: &Xvfb, home: &Path) -> &'a mut Command {
    cmd.env("DISPLAY", &xvfb.display)
        .env_remove("WAYLAND_DISPLAY")
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
}

#[test]
fn gui_starts_without_network() {
    let test = "gui_starts_without_network";
    let Some((mut cmd, xvfb)) = offline_gui(test) else {
        return;
    };
    // A fresh home: no settings, so the first start opens the bundled sample study.
    let home = temp_dir("gui-home");
    let mut gui = with_fresh_home(&mut cmd, &xvfb, &home)
        .current_dir(repo())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let still_running = gui.try_wait().unwrap().is_none();
    if !still_running {
        let status = gui.wait().unwrap();
        panic!(
            "the GUI exited within 3 s ({status}) in a network namespace: {}",
            stderr_of(&mut gui)
        );
    }
    let window = window_named(&xvfb.display, "ecgscope");
    let _ = gui.kill();
    let _ = gui.wait();
    let _ = std::fs::remove_dir_all(&home);
    if let Some(found) = window {
        assert!(found, "no window titled ecgscope on {}", xvfb.display);
    }
}

/// First start (issue 9): a fresh home with no settings, started from another folder and
/// without a network, opens the bundled sample study, analyses it with the shipped model
/// and (with `ECGSCOPE_EXIT_WHEN_ANALYSED`) says so and exits once that frame is shown.
#[test]
fn first_start_opens_the_sample_and_analyses_it_offline() {
    let test = "first_start_opens_the_sample_and_analyses_it_offline";
    let Some((mut cmd, xvfb)) = offline_gui(test) else {
        return;
    };
    let home = temp_dir("first-start");
    let mut gui = with_fresh_home(&mut cmd, &xvfb, &home)
        .env_remove("ECGSCOPE_MODELS")
        .env("ECGSCOPE_EXIT_WHEN_ANALYSED", "1")
        .current_dir(&home)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = gui.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_mins(3) {
            let _ = gui.kill();
            let _ = gui.wait();
            panic!("the GUI did not show the analysed sample within 180 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut out = String::new();
    if let Some(mut pipe) = gui.stdout.take() {
        let _ = pipe.read_to_string(&mut out);
    }
    assert!(status.success(), "{status}: {}", stderr_of(&mut gui));
    assert!(
        out.contains("ecgscope: analysed ") && out.contains("assets/sample/00010_hr.hea"),
        "{out}"
    );
    if repo().join("models/manifest.json").exists() {
        assert!(out.contains("(anomaly model on cpu"), "{out}");
    }
    let _ = std::fs::remove_dir_all(&home);
}

/// Whether a window with this title exists on the display (`xdotool`); `None` when
/// xdotool is missing.
fn window_named(display: &str, title: &str) -> Option<bool> {
    let out = Command::new("xdotool")
        .args(["search", "--name", title])
        .env("DISPLAY", display)
        .output()
        .ok()?;
    Some(out.status.success() && !out.stdout.is_empty())
}

/// Source files of the workspace's own crates (not tests, not fuzz targets).
fn rust_sources(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn no_source_file_opens_sockets() {
    let mut files = Vec::new();
    rust_sources(&repo().join("src"), &mut files);
    for krate in std::fs::read_dir(repo().join("crates")).unwrap().flatten() {
        rust_sources(&krate.path().join("src"), &mut files);
    }
    assert!(files.len() > 10, "found the sources: {}", files.len());
    let forbidden = [
        "std::net",
        "TcpStream",
        "TcpListener",
        "UdpSocket",
        "ToSocketAddrs",
    ];
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for word in forbidden {
            assert!(!text.contains(word), "{} uses {word}", file.display());
        }
    }
}

#[test]
fn no_network_crate_in_the_dependency_graph() {
    let triple = "x86_64-unknown-linux-gnu";
    if !cfg!(all(target_arch = "x86_64", target_os = "linux")) {
        ecgcore::testing::skip(&format!(
            "no_network_crate_in_the_dependency_graph: checked for {triple} only"
        ));
        return;
    }
    let v = common::json_ok(
        Command::new(env!("CARGO"))
            .args([
                "metadata",
                "--format-version",
                "1",
                "--offline",
                "--filter-platform",
                triple,
            ])
            .current_dir(repo()),
    );
    let name_of: std::collections::HashMap<&str, &str> = v["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?, p["name"].as_str()?)))
        .collect();
    // the packages in the graph resolved for this platform
    let names: Vec<&str> = v["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| name_of.get(n["id"].as_str()?).copied())
        .collect();
    assert!(names.len() > 50, "a real graph: {} packages", names.len());
    for own in ["ecgscope", "ecgcore", "eframe", "tch"] {
        assert!(names.contains(&own), "{own} in the graph");
    }
    let network = [
        "reqwest",
        "hyper",
        "ureq",
        "curl",
        "curl-sys",
        "isahc",
        "attohttpc",
        "surf",
        "h2",
        "openssl",
        "openssl-sys",
        "native-tls",
        "rustls",
        "tokio",
        "async-std",
        "tungstenite",
        "socket2",
        "mio",
        "trust-dns-resolver",
        "hickory-resolver",
    ];
    for name in &names {
        assert!(
            !network.contains(name),
            "network crate {name} in the dependency graph"
        );
    }
}
