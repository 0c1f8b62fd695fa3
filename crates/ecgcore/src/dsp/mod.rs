//! Signal processing: pure functions over samples (mV) and a sample rate (Hz).
//!
//! Filtering, QRS detection, median beats, delineation and interval measurement.

pub mod beats;
pub mod delineate;
pub mod filter;
pub mod leadwise;
pub mod measurements;
pub mod qrs;
