//! Field selectors (`?fieldSelector=spec.nodeName=n1,status.phase!=Running`) with the
//! fields kube-apiserver supports for each kind.

use serde_json::Value;

use super::status::ApiError;

/// One term: the field's path, the value, and whether it must differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub field: String,
    pub value: String,
    pub negate: bool,
}

/// A parsed field selector (all terms must hold).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector(pub Vec<Term>);

fn supported(kind: &str) -> &'static [&'static str] {
    match kind {
        "Pod" => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ],
        "Event" => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        "Secret" => &["type"],
        "Node" => &["spec.unschedulable"],
        "Namespace" => &["status.phase"],
        "ReplicaSet" | "ReplicationController" => &["status.replicas"],
        "Job" => &["status.successful"],
        _ => &[],
    }
}

impl std::fmt::Display for FieldSelector {
    /// The text [`FieldSelector::parse`] reads back.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|t| {
                format!(
                    "{}{}{}",
                    t.field,
                    if t.negate { "!=" } else { "=" },
                    t.value
                )
            })
            .collect();
        f.write_str(&parts.join(","))
    }
}

impl FieldSelector {
    /// Parse a selector for objects of `kind`; unknown fields are refused as kube does.
    pub fn parse(s: &str, kind: &str) -> Result<FieldSelector, ApiError> {
        let mut out = Vec::new();
        for t in s.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let (field, value, negate) = if let Some((f, v)) = t.split_once("!=") {
                (f, v, true)
            } else if let Some((f, v)) = t.split_once("==").or_else(|| t.split_once('=')) {
                (f, v, false)
            } else {
                return Err(ApiError::bad_request(format!(
                    "invalid selector: '{s}'; can't understand '{t}'"
                )));
            };
            let field = field.trim();
            if field != "metadata.name"
                && field != "metadata.namespace"
                && !supported(kind).contains(&field)
            {
                return Err(ApiError::bad_request(format!(
                    "field label not supported: {field}"
                )));
            }
            out.push(Term {
                field: field.to_string(),
                value: value.trim().to_string(),
                negate,
            });
        }
        Ok(FieldSelector(out))
    }

    /// The value a term compares: strings as they are, booleans and numbers as text,
    /// missing fields as "" (what kube's field sets hold).
    fn value_of(obj: &Value, field: &str) -> String {
        let v = if field == "source" {
            &obj["source"]["component"]
        } else {
            let mut v = obj;
            for part in field.split('.') {
                v = &v[part];
            }
            v
        };
        match v {
            Value::String(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            Value::Null if field == "spec.unschedulable" || field == "spec.hostNetwork" => {
                "false".to_string()
            }
            Value::Null if field == "status.replicas" || field == "status.successful" => {
                "0".to_string()
            }
            _ => String::new(),
        }
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.0
            .iter()
            .all(|t| (Self::value_of(obj, &t.field) == t.value) != t.negate)
    }

    /// The name this selector pins (`metadata.name=x`), for a watch of one object.
    pub fn name(&self) -> Option<&str> {
        self.0
            .iter()
            .find(|t| t.field == "metadata.name" && !t.negate)
            .map(|t| t.value.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kube_fields_match_and_unknown_ones_are_refused() {
        let pod = json!({"metadata": {"name": "a", "namespace": "d"},
                         "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}});
        let s = FieldSelector::parse("spec.nodeName=n1,status.phase!=Pending", "Pod").expect("ok");
        assert!(s.matches(&pod));
        let s = FieldSelector::parse("metadata.name==b", "Pod").expect("ok");
        assert!(!s.matches(&pod));
        let e = FieldSelector::parse("spec.image=x", "Pod").expect_err("unknown");
        assert_eq!(e.message, "field label not supported: spec.image");
        assert!(FieldSelector::parse("spec.unschedulable=false", "Node")
            .expect("node")
            .matches(&json!({"spec": {}})));
    }
}
