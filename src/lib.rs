//! ecgscope: a native desktop 12-lead ECG viewer with a local self-supervised anomaly
//! model. This library holds the GUI (`app`, `ui`), the analysis pipeline and the
//! command-line verbs; the data model, readers and signal processing live in `ecgcore`.
//! See ARCHITECTURE.md for the layers and which may call which.

pub mod app;
pub mod cli;
pub mod edits;
pub mod pipeline;
pub mod shell;
pub mod timing;
pub mod ui;

/// Version string shown in About, reports and JSON.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The LibTorch this build links (torch-sys 0.24 requires exactly this version).
pub const LIBTORCH_VERSION: &str = "2.11.0 (PyPI torch wheel, via tch 0.24)";
