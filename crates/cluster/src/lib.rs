//! quai cluster's control plane (issue 16, in progress): the object store with
//! Kubernetes' resourceVersion semantics, label selectors, the served resources, and the
//! API server. Never depends on the runtime, networking or the engine: it builds and
//! tests without root.

pub mod api;
pub mod controllers;
mod etcd;
pub mod resources;
pub mod selector;
pub mod server;
pub mod store;
pub mod tls;
