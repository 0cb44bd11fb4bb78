//! Kubernetes' protobuf bodies (`application/vnd.kubernetes.protobuf`): the `k8s\0`
//! envelope (`runtime.Unknown`) around an object's own protobuf bytes.

use serde_json::Value;

/// A body that could not be decoded.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Error(pub String);

/// Decode a protobuf request body into the object's JSON form.
pub fn decode(body: &[u8]) -> Result<Value, Error> {
    if !body.starts_with(b"k8s\0") {
        return Err(Error(
            "the protobuf body does not start with the k8s envelope".to_string(),
        ));
    }
    Err(Error(
        "protobuf request bodies are not decoded yet: send application/json".to_string(),
    ))
}

/// A body that is JSON or protobuf (DeleteOptions).
pub fn decode_any(body: &[u8]) -> Result<Value, Error> {
    if body.starts_with(b"k8s\0") {
        return decode(body);
    }
    serde_json::from_slice(body).map_err(|e| Error(e.to_string()))
}
