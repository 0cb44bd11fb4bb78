//! quai's image model: image references as Docker writes them and layer unpacking.
//!
//! Owns: reference parsing and normalisation, turning layer tars (gzip, zstd, plain) into
//! directories with overlay whiteouts, without ever writing outside the layer directory.
//! Must never depend on the runtime, the engine or networking; blobs come from `content`.

pub mod archive;
pub mod changes;
pub mod diff;
pub mod flatten;
pub mod layer;
pub mod layout;
pub mod overlay;
pub mod reference;
pub mod statedb;
pub mod store;

pub use reference::{Reference, ReferenceError};
