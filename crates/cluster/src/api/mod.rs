//! The Kubernetes API server: the registry (kube-apiserver's semantics over the store)
//! and its HTTP side (paths, discovery, OpenAPI, Tables, watches, patches).

pub mod client;
pub mod discovery;
pub mod exec;
pub mod fields;
pub mod http;
pub mod kinds;
pub mod kubelet;
pub mod meta;
pub mod node_proxy;
pub mod openapi;
pub mod openapi_v2;
pub mod patch;
pub mod pod;
pub mod portforward;
pub mod proto;
#[rustfmt::skip]
pub mod proto_schema;
pub mod registry;
pub mod satoken;
pub mod spdy;
pub mod ssa;
pub mod status;
pub mod table;
pub mod typed;
pub mod watch;

pub use registry::Registry;
pub use status::{ApiError, ApiResult};
