//! ecgsession: the presentation model of one study — what the screen, the PDF report and
//! `analyze --json` all render, so the three cannot disagree.
//!
//! - [`findings`]: [`StudyFindings::of`] derives, once per analysis, each method's verdict
//!   (sentence, score line), the predicted-vs-actual table with its one flagging rule, the
//!   most anomalous segments and where the two methods' maps disagree;
//! - [`wording`]: the words and number formats they are printed with;
//! - [`segments`]: the most anomalous segments of a likelihood map;
//! - [`comparison`]: serial comparison with a prior ECG of the patient;
//! - [`display`]: the display filters (the stored signal is never changed);
//! - [`ramp`]: the likelihood colour scale.
//!
//! Paper layouts (which lead prints where) are `ecgcore::paper`. Nothing here draws.

pub mod comparison;
pub mod display;
pub mod findings;
pub mod ramp;
pub mod segments;
pub mod wording;

pub use findings::{MethodFindings, StudyFindings};
