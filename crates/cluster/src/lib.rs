//! quai cluster's control plane (issue 16, in progress): the object store with
//! Kubernetes' resourceVersion semantics, and label selectors.

pub mod selector;
pub mod store;
