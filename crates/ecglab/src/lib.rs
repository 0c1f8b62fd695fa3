//! ecglab: everything that makes and measures ecgscope's models and delineator, kept
//! apart from the product (the `ecgscope` binary links none of it).
//!
//! - [`data`]: PTB-XL labels, splits and the preprocessed cache;
//! - [`train`]: training both networks and fitting every calibration the manifest ships;
//! - [`fit`]: the fitting itself (attribute normalization, normal models, score and map
//!   calibration, component selection, thresholds) of the types `ecgmodel` applies;
//! - [`partial_fit`]: the calibration for paper layouts (fold 9 masked to 3×4 + II);
//! - [`manifests`]: `eval` manifests of PTB-XL folds and LUDB; [`card`]: the model card;
//! - [`digitizer_eval`]: the digitizer against ground truth (`eval-digitizer`);
//!   [`paper_render`]: synthetic paper pages (with distortions) for it and for
//!   calibrating the model on digitized input;
//! - [`intervals`]: measured intervals against LUDB's cardiologists' marks;
//!   [`ludb_tuning`]: the delineator's tuning and timing tools.

pub mod borderline;
pub mod card;
pub mod data;
pub mod digitizer_eval;
pub mod fit;
pub mod interval_cv;
pub mod intervals;
pub mod ludb_tuning;
pub mod manifests;
pub mod paper_render;
pub mod partial_fit;
pub mod ptbxl_intervals;
pub mod train;
