//! quai's content store: blobs addressed by their sha256 digest.
//!
//! Owns `<root>/blobs/sha256/<hex>` and `<root>/ingest/`. A blob is written to a temp file
//! in `ingest/` (same filesystem), hashed while it is written, checked against the expected
//! digest and size, synced, and only then renamed into place: a reader never sees a half
//! blob, and bytes are kept exactly as received (never re-serialised). An interrupted
//! ingest keyed by its expected digest is resumed by the next writer with the same key.
//!
//! Must never depend on images, registries or the engine: it knows bytes and digests only.

mod digest;
mod store;

pub use digest::{Digest, DigestError};
pub use store::{Error, GcReport, Result, Store, Writer};
