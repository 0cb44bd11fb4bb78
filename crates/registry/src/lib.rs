//! quai's OCI distribution client: `/v2/` probing, anonymous, basic and bearer-token auth,
//! manifests (OCI and Docker schema 2, indexes and manifest lists with platform choice),
//! blobs streamed into the content store with digest and size checked, resumable with
//! HTTP ranges, pulled in parallel; push with existing-blob checks and monolithic uploads.
//!
//! Depends on `content` for blobs and on `image` for references and media types; never on
//! the runtime or the engine. Synchronous (ureq, rustls with ring): see docs/adr/005.
//! The registry server (`quai registry serve`) is the `registry-server` crate.

pub mod auth;
pub mod client;
pub mod pull;
pub mod push;

pub use client::{Client, Error, Result};
