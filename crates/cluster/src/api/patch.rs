//! PATCH: JSON patch (RFC 6902), JSON merge patch (RFC 7386) and strategic merge patch
//! (Kubernetes' own: lists merged by their merge keys, `$patch`, `$retainKeys`,
//! `$setElementOrder/`, `$deleteFromPrimitiveList/`), applied to the stored object and
//! written with its revision as the precondition (retried when another write won).

use serde_json::{Map, Value};

use super::http::{scale_of, set_scale};
use super::registry::{Registry, Write};
use super::status::{ApiError, ApiResult};
use crate::resources::Resource;

/// The merge key of list `field`, inside the list `parent` (the nearest enclosing
/// list field), from the Kubernetes types' `patchMergeKey` tags.
pub fn merge_key(field: &str, parent: Option<&str>) -> Option<&'static str> {
    Some(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "imagePullSecrets"
        | "env"
        | "secrets"
        | "schedulingGates"
        | "resourceClaims" => "name",
        "ports" => match parent {
            Some("containers" | "initContainers" | "ephemeralContainers") => "containerPort",
            Some(_) => return None,
            None => "port",
        },
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "conditions" | "addresses" => "type",
        "ownerReferences" => "uid",
        "hostAliases" | "podIPs" | "hostIPs" => "ip",
        "topologySpreadConstraints" => "topologyKey",
        _ => return None,
    })
}

/// Lists of strings merged as sets.
fn primitive_merge(field: &str) -> bool {
    field == "finalizers"
}

fn directive_of(v: &Value) -> Option<&str> {
    v.get("$patch").and_then(Value::as_str)
}

fn strip_directives(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k.clone(), strip_directives(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_directives).collect()),
        other => other.clone(),
    }
}

/// Apply a strategic merge patch to `orig`.
pub fn strategic_merge(orig: &Value, patch: &Value) -> ApiResult<Value> {
    let mut out = orig.clone();
    merge_object(&mut out, patch, None)?;
    Ok(out)
}

fn merge_object(orig: &mut Value, patch: &Value, parent: Option<&str>) -> ApiResult<()> {
    let Some(pm) = patch.as_object() else {
        *orig = patch.clone();
        return Ok(());
    };
    match directive_of(patch) {
        Some("replace") => {
            *orig = strip_directives(patch);
            return Ok(());
        }
        Some("delete") => {
            *orig = Value::Null;
            return Ok(());
        }
        Some("merge") | None => {}
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "unknown patch type: {other:?} in map: {patch}"
            )))
        }
    }
    if !orig.is_object() {
        *orig = Value::Object(Map::new());
    }
    if let Some(keep) = pm.get("$retainKeys").and_then(Value::as_array) {
        let keep: Vec<&str> = keep.iter().filter_map(Value::as_str).collect();
        if let Some(m) = orig.as_object_mut() {
            m.retain(|k, _| keep.contains(&k.as_str()));
        }
    }
    for (k, pv) in pm {
        if k == "$patch" || k == "$retainKeys" || k.starts_with("$setElementOrder/") {
            continue;
        }
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            let del: Vec<&Value> = pv
                .as_array()
                .map(|a| a.iter().collect())
                .unwrap_or_default();
            if let Some(a) = orig[field].as_array_mut() {
                a.retain(|x| !del.contains(&x));
            }
            continue;
        }
        if pv.is_null() {
            if let Some(m) = orig.as_object_mut() {
                m.remove(k);
            }
            continue;
        }
        let cur = &mut orig[k.as_str()];
        match pv {
            Value::Object(_) if directive_of(pv) == Some("delete") => {
                if let Some(m) = orig.as_object_mut() {
                    m.remove(k);
                }
            }
            Value::Object(_) => merge_object(cur, pv, parent)?,
            Value::Array(items) => {
                merge_list(cur, items, k, parent)?;
            }
            _ => *cur = pv.clone(),
        }
    }
    // Element order the client asked for.
    for (k, order) in pm {
        let Some(field) = k.strip_prefix("$setElementOrder/") else {
            continue;
        };
        let Some(order) = order.as_array() else {
            continue;
        };
        if let Some(list) = orig[field].as_array().cloned() {
            orig[field] = Value::Array(reorder(list, order, merge_key(field, parent)));
        }
    }
    Ok(())
}

fn reorder(list: Vec<Value>, order: &[Value], key: Option<&str>) -> Vec<Value> {
    let id = |v: &Value| -> Value {
        match key {
            Some(k) => v[k].clone(),
            None => v.clone(),
        }
    };
    let mut out = Vec::with_capacity(list.len());
    let mut rest = list;
    for o in order {
        let want = id(o);
        if let Some(i) = rest.iter().position(|x| id(x) == want) {
            out.push(rest.remove(i));
        }
    }
    out.extend(rest);
    out
}

fn merge_list(
    cur: &mut Value,
    items: &[Value],
    field: &str,
    parent: Option<&str>,
) -> ApiResult<()> {
    // `[{"$patch": "replace"}, ...]`: the list is replaced by the rest.
    if items.iter().any(|i| directive_of(i) == Some("replace")) {
        *cur = Value::Array(
            items
                .iter()
                .filter(|i| directive_of(i) != Some("replace"))
                .map(strip_directives)
                .collect(),
        );
        return Ok(());
    }
    if primitive_merge(field) {
        let mut out = cur.as_array().cloned().unwrap_or_default();
        for i in items {
            if !out.contains(i) {
                out.push(i.clone());
            }
        }
        *cur = Value::Array(out);
        return Ok(());
    }
    let Some(key) = merge_key(field, parent) else {
        *cur = Value::Array(items.iter().map(strip_directives).collect());
        return Ok(());
    };
    let mut out = cur.as_array().cloned().unwrap_or_default();
    for item in items {
        let kv = &item[key];
        let pos = out.iter().position(|o| &o[key] == kv && !kv.is_null());
        match (directive_of(item), pos) {
            (Some("delete"), Some(i)) => {
                out.remove(i);
            }
            (Some("delete"), None) => {}
            (_, Some(i)) => merge_object(&mut out[i], item, Some(field))?,
            (_, None) => {
                let mut fresh = Value::Object(Map::new());
                merge_object(&mut fresh, item, Some(field))?;
                out.push(fresh);
            }
        }
    }
    *cur = Value::Array(out);
    Ok(())
}

fn patched(base: &Value, ctype: &str, body: &[u8]) -> ApiResult<Value> {
    let mt = ctype.split(';').next().unwrap_or_default().trim();
    let bad = |e: String| ApiError::bad_request(e);
    match mt {
        "application/json-patch+json" => {
            let p: json_patch::Patch = serde_json::from_slice(body)
                .map_err(|e| bad(format!("error decoding patch: {e}")))?;
            let mut out = base.clone();
            json_patch::patch(&mut out, &p).map_err(|e| {
                ApiError::new(422, "Invalid", format!("the server rejected our request due to an error in our request: {e}"))
            })?;
            Ok(out)
        }
        "application/merge-patch+json" => {
            let p: Value = serde_json::from_slice(body)
                .map_err(|e| bad(format!("error decoding patch: {e}")))?;
            if !p.is_object() {
                return Err(bad("json: cannot unmarshal into Go value of type map[string]interface {}".to_string()));
            }
            let mut out = base.clone();
            json_patch::merge(&mut out, &p);
            Ok(out)
        }
        "application/strategic-merge-patch+json" => {
            let p: Value = serde_json::from_slice(body)
                .map_err(|e| bad(format!("error decoding patch: {e}")))?;
            strategic_merge(base, &p)
        }
        "application/apply-patch+yaml" | "application/apply-patch+cbor" => Err(ApiError::new(
            415,
            "UnsupportedMediaType",
            "server-side apply is served on the main resource only",
        )),
        other => Err(ApiError::new(
            415,
            "UnsupportedMediaType",
            format!("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got {other:?})"),
        )),
    }
}

/// Server-side apply (`application/apply-patch+yaml`) of `name`: made if missing;
/// `?fieldManager=` is required, `?force=true` takes over conflicting fields.
pub fn server_side_apply(
    reg: &Registry,
    res: &Resource,
    ns: Option<&str>,
    name: &str,
    body: &[u8],
    q: &super::http::Query,
    w: &Write,
) -> ApiResult<Value> {
    let Some(manager) = q.get("fieldManager").filter(|m| !m.is_empty()) else {
        return Err(ApiError::new(
            422,
            "Invalid",
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
        ));
    };
    let config: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!(
            "error decoding the apply configuration (this server reads it as JSON, which kubectl sends): {e}"
        ))
    })?;
    if !config.is_object() {
        return Err(ApiError::bad_request(
            "the apply configuration must be an object",
        ));
    }
    if let Some(n) = config["metadata"]["name"].as_str() {
        if n != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({n}) does not match the name on the URL ({name})"
            )));
        }
    }
    let force = q.flag("force");
    let write = Write {
        dry_run: w.dry_run,
        validation: w.validation,
        field_manager: Some(manager.to_string()),
        apply: true,
        ..Default::default()
    };
    for _ in 0..5 {
        let live = match reg.get(res, ns, name) {
            Ok(v) => Some(v),
            Err(e) if e.code == 404 => None,
            Err(e) => return Err(e),
        };
        let mut out = super::ssa::apply(res, live.as_ref(), &config, manager, force)?;
        let r = match &live {
            None => {
                out["metadata"]["name"] = Value::String(name.to_string());
                reg.create(res, ns, out, &write)
            }
            Some(l) => {
                out["metadata"]["resourceVersion"] = l["metadata"]["resourceVersion"].clone();
                reg.update(res, ns, name, out, None, &write)
            }
        };
        match r {
            Err(e) if e.code == 409 && (e.reason == "Conflict" || e.reason == "AlreadyExists") => {
                continue
            }
            other => {
                for warning in write.take_warnings() {
                    w.warnings
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push(warning);
                }
                return other;
            }
        }
    }
    Err(ApiError::conflict(res, name))
}

/// PATCH of `name` (or its `status`/`scale`).
#[allow(clippy::too_many_arguments)]
pub fn apply(
    reg: &Registry,
    res: &Resource,
    ns: Option<&str>,
    name: &str,
    sub: Option<&str>,
    ctype: &str,
    body: &[u8],
    w: &Write,
) -> ApiResult<Value> {
    for _ in 0..5 {
        let cur = reg.get(res, ns, name)?;
        if sub == Some("scale") {
            let scale = patched(&scale_of(&cur), ctype, body)?;
            return set_scale(reg, res, ns, name, &scale, w);
        }
        let mut new = patched(&cur, ctype, body)?;
        // A patch that names a revision makes it a precondition; else the one read.
        let asked = new["metadata"]["resourceVersion"].clone();
        if asked.is_null() || asked == cur["metadata"]["resourceVersion"] {
            new["metadata"]["resourceVersion"] = cur["metadata"]["resourceVersion"].clone();
        }
        let explicit = !asked.is_null() && asked != cur["metadata"]["resourceVersion"];
        match reg.update(res, ns, name, new, sub, w) {
            Err(e) if e.code == 409 && e.reason == "Conflict" && !explicit => continue,
            other => return other,
        }
    }
    Err(ApiError::conflict(res, name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strategic_merge_follows_merge_keys_and_directives() {
        let orig = json!({"metadata": {"finalizers": ["a"], "labels": {"x": "1", "y": "2"}},
            "spec": {"template": {"spec": {"containers": [
                {"name": "web", "image": "nginx:1", "env": [{"name": "A", "value": "1"}],
                 "ports": [{"containerPort": 80}]},
                {"name": "side", "image": "busybox"}]}}}});
        let patch = json!({"metadata": {"finalizers": ["b"], "labels": {"y": null}},
            "spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "side"}, {"name": "web"}],
                "containers": [
                {"name": "web", "image": "nginx:2", "env": [{"name": "B", "value": "2"}],
                 "ports": [{"containerPort": 8080}]},
                {"name": "side", "$patch": "delete"}]}}}});
        let out = strategic_merge(&orig, &patch).expect("merge");
        assert_eq!(out["metadata"]["finalizers"], json!(["a", "b"]));
        assert_eq!(out["metadata"]["labels"], json!({"x": "1"}));
        let cs = out["spec"]["template"]["spec"]["containers"]
            .as_array()
            .expect("list");
        assert_eq!(cs.len(), 1);
        assert_eq!(cs[0]["image"], "nginx:2");
        assert_eq!(cs[0]["env"].as_array().map(Vec::len), Some(2));
        assert_eq!(cs[0]["ports"].as_array().map(Vec::len), Some(2));
        let replaced = strategic_merge(
            &orig,
            &json!({"metadata": {"labels": {"$patch": "replace", "z": "3"}}}),
        )
        .expect("replace");
        assert_eq!(replaced["metadata"]["labels"], json!({"z": "3"}));
        let retained = strategic_merge(
            &json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}}),
            &json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}),
        )
        .expect("retain");
        assert_eq!(retained["spec"]["strategy"], json!({"type": "Recreate"}));
    }
}
