//! ecgcore: the parts of ecgscope that know nothing of windows or neural networks.
//!
//! - [`recording`]: the data model — leads by name in millivolts, sample rate, patient
//!   metadata and provenance.
//! - [`formats`]: readers (and writers) that turn files into a [`Recording`].
//! - [`dsp`]: pure signal-processing functions over samples and a sample rate.
//! - [`paper`]: the paper layouts (which lead prints where and when).
//! - [`review`]: the reader's corrections of the automatic measurements.
//!
//! Nothing here imports egui or tch (DESIGN.md §2: nothing flows backwards).

pub mod analysis;
pub mod dsp;
pub mod formats;
pub mod paper;
pub mod recording;
pub mod review;
#[doc(hidden)]
pub mod testing;

pub use recording::{Lead, Patient, Provenance, Recording, Sex, StandardLead};
