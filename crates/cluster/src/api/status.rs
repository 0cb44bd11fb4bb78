//! kube-apiserver's error shapes: `Status` objects with a reason and details, and the
//! field errors of a 422 `Invalid` with their paths and kube's wording.

use serde_json::{json, Value};

use crate::resources::Resource;

/// One field error of an invalid object.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// `FieldValueRequired`, `FieldValueInvalid`, ...
    pub reason: &'static str,
    /// `spec.template.spec.containers[0].image`.
    pub field: String,
    /// The text after the path: `Required value`, `Invalid value: "x": why`.
    pub message: String,
}

fn go_value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Null => "null".to_string(),
        other => other.to_string(),
    }
}

impl FieldError {
    pub fn required(field: impl Into<String>, detail: &str) -> FieldError {
        let message = if detail.is_empty() {
            "Required value".to_string()
        } else {
            format!("Required value: {detail}")
        };
        FieldError {
            reason: "FieldValueRequired",
            field: field.into(),
            message,
        }
    }

    pub fn invalid(field: impl Into<String>, value: &Value, detail: &str) -> FieldError {
        let mut message = format!("Invalid value: {}", go_value(value));
        if !detail.is_empty() {
            message.push_str(": ");
            message.push_str(detail);
        }
        FieldError {
            reason: "FieldValueInvalid",
            field: field.into(),
            message,
        }
    }

    pub fn unsupported(field: impl Into<String>, value: &Value, supported: &[&str]) -> FieldError {
        let list: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
        FieldError {
            reason: "FieldValueNotSupported",
            field: field.into(),
            message: format!(
                "Unsupported value: {}: supported values: {}",
                go_value(value),
                list.join(", ")
            ),
        }
    }

    pub fn duplicate(field: impl Into<String>, value: &Value) -> FieldError {
        FieldError {
            reason: "FieldValueDuplicate",
            field: field.into(),
            message: format!("Duplicate value: {}", go_value(value)),
        }
    }

    pub fn forbidden(field: impl Into<String>, detail: &str) -> FieldError {
        FieldError {
            reason: "FieldValueForbidden",
            field: field.into(),
            message: format!("Forbidden: {detail}"),
        }
    }

    /// `path: message`, as kube prints each error.
    pub fn text(&self) -> String {
        format!("{}: {}", self.field, self.message)
    }
}

/// An API error: a status code and the `Status` object kube-apiserver answers with.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ApiError {}

pub type ApiResult<T> = std::result::Result<T, ApiError>;

fn details(res: &Resource, name: &str) -> Value {
    let mut d = json!({"name": name, "kind": res.plural});
    if !res.group.is_empty() {
        d["group"] = json!(res.group);
    }
    d
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "BadRequest", message)
    }

    pub fn not_found(res: &Resource, name: &str) -> ApiError {
        ApiError {
            details: Some(details(res, name)),
            ..ApiError::new(
                404,
                "NotFound",
                format!("{} \"{name}\" not found", res.qualified()),
            )
        }
    }

    pub fn already_exists(res: &Resource, name: &str) -> ApiError {
        ApiError {
            details: Some(details(res, name)),
            ..ApiError::new(
                409,
                "AlreadyExists",
                format!("{} \"{name}\" already exists", res.qualified()),
            )
        }
    }

    pub fn conflict(res: &Resource, name: &str) -> ApiError {
        ApiError {
            details: Some(details(res, name)),
            ..ApiError::new(
                409,
                "Conflict",
                format!(
                    "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                    res.qualified()
                ),
            )
        }
    }

    /// 422 with kube's message: `Kind.group "name" is invalid: path: why` (several
    /// errors in brackets).
    pub fn invalid(res: &Resource, name: &str, errs: &[FieldError]) -> ApiError {
        let kind = if res.group.is_empty() {
            res.kind.to_string()
        } else {
            format!("{}.{}", res.kind, res.group)
        };
        let texts: Vec<String> = errs.iter().map(FieldError::text).collect();
        let joined = if texts.len() == 1 {
            texts[0].clone()
        } else {
            format!("[{}]", texts.join(", "))
        };
        let causes: Vec<Value> = errs
            .iter()
            .map(|e| json!({"reason": e.reason, "message": e.message, "field": e.field}))
            .collect();
        let mut d = json!({"name": name, "kind": res.kind, "causes": causes});
        if !res.group.is_empty() {
            d["group"] = json!(res.group);
        }
        ApiError {
            code: 422,
            reason: "Invalid",
            message: format!("{kind} \"{name}\" is invalid: {joined}"),
            details: Some(d),
        }
    }

    pub fn method_not_allowed(message: impl Into<String>) -> ApiError {
        ApiError::new(405, "MethodNotAllowed", message)
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(500, "InternalError", message)
    }

    /// The `Status` object of this error.
    pub fn status(&self) -> Value {
        let mut s = json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": self.message, "reason": self.reason, "code": self.code,
        });
        if let Some(d) = &self.details {
            s["details"] = d.clone();
        }
        if self.reason.is_empty() {
            if let Some(m) = s.as_object_mut() {
                m.remove("reason");
            }
        }
        s
    }

    /// From a store error about `name` of `res`.
    pub fn from_store(res: &Resource, name: &str, e: crate::store::Error) -> ApiError {
        use crate::store::Error as E;
        match e {
            E::NotFound { .. } => ApiError::not_found(res, name),
            E::AlreadyExists { .. } => ApiError::already_exists(res, name),
            E::Conflict { .. } => ApiError::conflict(res, name),
            E::Gone { asked, oldest } => ApiError::new(
                410,
                "Expired",
                format!("too old resource version: {asked} ({oldest})"),
            ),
            other => ApiError::internal(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::find;

    #[test]
    fn messages_are_kube_apiservers() {
        let d = find("apps", "v1", "deployments").expect("deployments");
        assert_eq!(
            ApiError::not_found(d, "web").message,
            "deployments.apps \"web\" not found"
        );
        let e = ApiError::invalid(
            d,
            "web",
            &[FieldError::required(
                "spec.template.spec.containers[0].image",
                "",
            )],
        );
        assert_eq!(
            e.message,
            "Deployment.apps \"web\" is invalid: spec.template.spec.containers[0].image: Required value"
        );
        assert_eq!(
            e.status()["details"]["causes"][0]["reason"],
            "FieldValueRequired"
        );
        let two = ApiError::invalid(
            d,
            "web",
            &[
                FieldError::invalid("metadata.name", &json!("A"), "bad"),
                FieldError::required("spec.selector", ""),
            ],
        );
        assert_eq!(
            two.message,
            "Deployment.apps \"web\" is invalid: [metadata.name: Invalid value: \"A\": bad, spec.selector: Required value]"
        );
    }
}
