//! ecglab: everything that makes and measures ecgscope's models and delineator, kept
//! apart from the product (the `ecgscope` binary links none of it).
//!
//! - [`data`]: PTB-XL labels, splits and the preprocessed cache;
//! - [`train`]: training both networks and fitting every calibration the manifest ships;
//! - [`fit`]: the fitting itself (attribute normalization, normal models, score and map
//!   calibration, component selection, thresholds) of the types `ecgmodel` applies;
//! - [`partial_fit`]: the calibration for paper layouts (fold 9 masked to 3×4 + II);
//! - [`manifests`]: `eval` manifests of PTB-XL folds and LUDB; [`card`]: the model card;
//! - [`intervals`]: measured intervals against LUDB's cardiologists' marks;
//!   [`ludb_tuning`]: the delineator's tuning and timing tools.

pub mod card;
pub mod data;
pub mod fit;
pub mod intervals;
pub mod ludb_tuning;
pub mod manifests;
pub mod partial_fit;
pub mod train;
