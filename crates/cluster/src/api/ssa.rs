//! Field ownership (`metadata.managedFields`) and server-side apply, as
//! kube-apiserver's structured-merge-diff does them: each manager owns the fields it set
//! (paths like `.spec.replicas` and `.spec.template.spec.containers[name="web"].image`,
//! stored as `fieldsV1`); an apply that changes a field another manager owns is a 409
//! naming the manager and the fields unless forced (then the field changes hands); the
//! fields a manager stops applying are removed; other writes take ownership of what they
//! changed.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use super::patch::{merge_key, strategic_merge};
use super::status::ApiError;
use crate::resources::Resource;

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Seg {
    /// A map field.
    F(String),
    /// A list item by its merge key (`{"name": "web"}` as compact JSON).
    K(String),
}

type Path = Vec<Seg>;

fn display(p: &Path) -> String {
    let mut s = String::new();
    for seg in p {
        match seg {
            Seg::F(f) => {
                s.push('.');
                s.push_str(f);
            }
            Seg::K(k) => {
                let v: Value = serde_json::from_str(k).unwrap_or(Value::Null);
                let inner: Vec<String> = v
                    .as_object()
                    .map(|m| m.iter().map(|(a, b)| format!("{a}={b}")).collect())
                    .unwrap_or_default();
                s.push_str(&format!("[{}]", inner.join(",")));
            }
        }
    }
    s
}

/// Fields no manager owns (identity and server-set metadata).
fn skipped(p: &[Seg]) -> bool {
    match p {
        [Seg::F(a)] => a == "apiVersion" || a == "kind" || a == "status",
        [Seg::F(m), Seg::F(f)] if m == "metadata" => matches!(
            f.as_str(),
            "name"
                | "namespace"
                | "uid"
                | "resourceVersion"
                | "generation"
                | "creationTimestamp"
                | "deletionTimestamp"
                | "deletionGracePeriodSeconds"
                | "managedFields"
                | "selfLink"
        ),
        _ => false,
    }
}

/// The leaf fields of `v` and their values (maps descended, lists with a merge key by
/// item, other lists whole).
fn leaves(v: &Value, path: &mut Path, list_parent: Option<&str>, out: &mut BTreeMap<Path, Value>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, x) in m {
                path.push(Seg::F(k.clone()));
                if !skipped(path) {
                    match x {
                        Value::Array(items) => match merge_key(k, list_parent) {
                            Some(key) if items.iter().all(|i| i.get(key).is_some()) => {
                                for it in items {
                                    let kv = json!({ key: it[key] }).to_string();
                                    path.push(Seg::K(kv));
                                    out.insert(path.clone(), Value::Null);
                                    leaves(it, path, Some(k), out);
                                    path.pop();
                                }
                                if items.is_empty() {
                                    out.insert(path.clone(), x.clone());
                                }
                            }
                            _ => {
                                out.insert(path.clone(), x.clone());
                            }
                        },
                        _ => leaves(x, path, list_parent, out),
                    }
                }
                path.pop();
            }
        }
        other => {
            out.insert(path.clone(), other.clone());
        }
    }
}

fn fields(v: &Value) -> BTreeMap<Path, Value> {
    let mut out = BTreeMap::new();
    leaves(v, &mut Vec::new(), None, &mut out);
    out
}

/// `fieldsV1` of a set of paths.
fn to_fields_v1(paths: &BTreeSet<Path>) -> Value {
    let mut root = Map::new();
    for p in paths {
        let mut cur = &mut root;
        for seg in p {
            let key = match seg {
                Seg::F(f) => format!("f:{f}"),
                Seg::K(k) => format!("k:{k}"),
            };
            let next = cur.entry(key).or_insert_with(|| json!({}));
            if let Seg::K(_) = seg {
                if let Some(m) = next.as_object_mut() {
                    m.entry(".").or_insert_with(|| json!({}));
                }
            }
            let Some(m) = next.as_object_mut() else { break };
            cur = m;
        }
    }
    Value::Object(root)
}

fn from_fields_v1(v: &Value, path: &mut Path, out: &mut BTreeSet<Path>) {
    let Some(m) = v.as_object() else { return };
    if m.is_empty() || (m.len() == 1 && m.contains_key(".")) {
        if !path.is_empty() {
            out.insert(path.clone());
        }
        return;
    }
    if m.contains_key(".") && !path.is_empty() {
        out.insert(path.clone());
    }
    for (k, x) in m {
        let seg = if let Some(f) = k.strip_prefix("f:") {
            Seg::F(f.to_string())
        } else if let Some(kk) = k.strip_prefix("k:") {
            Seg::K(kk.to_string())
        } else {
            continue;
        };
        path.push(seg);
        from_fields_v1(x, path, out);
        path.pop();
    }
}

struct Entry {
    manager: String,
    operation: String,
    subresource: Option<String>,
    set: BTreeSet<Path>,
}

fn entries(obj: &Value) -> Vec<Entry> {
    obj["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let mut set = BTreeSet::new();
            from_fields_v1(&e["fieldsV1"], &mut Vec::new(), &mut set);
            Entry {
                manager: e["manager"].as_str().unwrap_or_default().to_string(),
                operation: e["operation"].as_str().unwrap_or("Update").to_string(),
                subresource: e["subresource"].as_str().map(str::to_string),
                set,
            }
        })
        .collect()
}

fn write_entries(obj: &mut Value, list: &[Entry], api_version: &str) {
    let now = clock::now_rfc3339_secs();
    let prev: Vec<Value> = obj["metadata"]["managedFields"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let out: Vec<Value> = list
        .iter()
        .filter(|e| !e.set.is_empty())
        .map(|e| {
            let fields = to_fields_v1(&e.set);
            let time = prev
                .iter()
                .find(|p| p["manager"] == json!(e.manager) && p["operation"] == json!(e.operation) && p["fieldsV1"] == fields)
                .map_or_else(|| json!(now), |p| p["time"].clone());
            let mut v = json!({"manager": e.manager, "operation": e.operation, "apiVersion": api_version,
                               "time": time, "fieldsType": "FieldsV1", "fieldsV1": fields});
            if let Some(s) = &e.subresource {
                v["subresource"] = json!(s);
            }
            v
        })
        .collect();
    if out.is_empty() {
        if let Some(m) = obj["metadata"].as_object_mut() {
            m.remove("managedFields");
        }
    } else {
        obj["metadata"]["managedFields"] = Value::Array(out);
    }
}

/// Record that `manager` (an update) changed `old` into `new` (None: a create): it owns
/// what it changed, and the others lose it.
pub fn record_update(
    res: &Resource,
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    sub: Option<&str>,
) {
    let before = old.map(fields).unwrap_or_default();
    let after = fields(new);
    let changed: BTreeSet<Path> = after
        .iter()
        .filter(|(p, v)| before.get(*p) != Some(*v))
        .map(|(p, _)| p.clone())
        .collect();
    let mut list = old.map(entries).unwrap_or_default();
    // Fields gone from the object are nobody's.
    for e in &mut list {
        e.set
            .retain(|p| after.contains_key(p) && !changed.contains(p));
    }
    if !changed.is_empty() {
        match list.iter_mut().find(|e| {
            e.manager == manager && e.operation == "Update" && e.subresource.as_deref() == sub
        }) {
            Some(e) => e.set.extend(changed),
            None => list.push(Entry {
                manager: manager.to_string(),
                operation: "Update".to_string(),
                subresource: sub.map(str::to_string),
                set: changed,
            }),
        }
    }
    write_entries(new, &list, &res.api_version());
}

fn remove_path(v: &mut Value, p: &[Seg]) {
    match p {
        [] => {}
        [Seg::F(f)] => {
            if let Some(m) = v.as_object_mut() {
                m.remove(f);
            }
        }
        [Seg::F(f), rest @ ..] => {
            if let Some(x) = v.get_mut(f) {
                remove_path(x, rest);
            }
        }
        [Seg::K(k), rest @ ..] => {
            let key: Value = serde_json::from_str(k).unwrap_or(Value::Null);
            if let Some(items) = v.as_array_mut() {
                let matches = |it: &Value| {
                    key.as_object()
                        .is_some_and(|m| m.iter().all(|(a, b)| it.get(a) == Some(b)))
                };
                if rest.is_empty() {
                    items.retain(|it| !matches(it));
                } else if let Some(it) = items.iter_mut().find(|it| matches(it)) {
                    remove_path(it, rest);
                }
            }
        }
    }
}

/// Server-side apply of `config` by `manager` onto `live` (None: the object is made).
pub fn apply(
    res: &Resource,
    live: Option<&Value>,
    config: &Value,
    manager: &str,
    force: bool,
) -> Result<Value, ApiError> {
    let applied = fields(config);
    let Some(live) = live else {
        let mut obj = config.clone();
        let set: BTreeSet<Path> = applied.keys().cloned().collect();
        write_entries(
            &mut obj,
            &[Entry {
                manager: manager.to_string(),
                operation: "Apply".to_string(),
                subresource: None,
                set,
            }],
            &res.api_version(),
        );
        return Ok(obj);
    };
    let current = fields(live);
    let mut list = entries(live);
    // Conflicts: fields this apply changes that another manager owns.
    let mut conflicts: Vec<(String, Path)> = Vec::new();
    for (p, v) in &applied {
        if current.get(p) == Some(v) {
            continue;
        }
        for e in list
            .iter()
            .filter(|e| e.manager != manager || e.operation != "Apply")
        {
            if e.set.contains(p) {
                conflicts.push((e.manager.clone(), p.clone()));
            }
        }
    }
    if !conflicts.is_empty() && !force {
        let causes: Vec<Value> = conflicts
            .iter()
            .map(|(m, p)| json!({"reason": "FieldManagerConflict", "message": format!("conflict with \"{m}\""), "field": display(p)}))
            .collect();
        let mut by_manager: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for (m, p) in &conflicts {
            by_manager.entry(m).or_default().push(display(p));
        }
        let text: Vec<String> = by_manager
            .iter()
            .map(|(m, ps)| {
                if ps.len() == 1 {
                    format!("conflict with \"{m}\": {}", ps[0])
                } else {
                    format!("conflicts with \"{m}\":\n- {}", ps.join("\n- "))
                }
            })
            .collect();
        let n = conflicts.len();
        let message = format!(
            "Apply failed with {n} conflict{}: {}",
            if n == 1 { "" } else { "s" },
            text.join("\n")
        );
        return Err(ApiError {
            details: Some(json!({"causes": causes})),
            ..ApiError::new(409, "Conflict", message)
        });
    }
    // Forced: the fields change hands.
    for e in list
        .iter_mut()
        .filter(|e| e.manager != manager || e.operation != "Apply")
    {
        e.set
            .retain(|p| !applied.contains_key(p) || current.get(p) == applied.get(p));
    }
    let mut out = strategic_merge(live, config)?;
    // What this manager applied before and no longer does goes, unless another owns it.
    if let Some(prev) = list
        .iter()
        .find(|e| e.manager == manager && e.operation == "Apply")
    {
        let others: BTreeSet<&Path> = list
            .iter()
            .filter(|e| !(e.manager == manager && e.operation == "Apply"))
            .flat_map(|e| e.set.iter())
            .collect();
        let mut gone: Vec<&Path> = prev
            .set
            .iter()
            .filter(|p| !applied.contains_key(*p) && !others.contains(p))
            .collect();
        gone.sort_by_key(|p| std::cmp::Reverse(p.len()));
        for p in gone {
            remove_path(&mut out, p);
        }
    }
    let set: BTreeSet<Path> = applied.keys().cloned().collect();
    list.retain(|e| !(e.manager == manager && e.operation == "Apply"));
    list.push(Entry {
        manager: manager.to_string(),
        operation: "Apply".to_string(),
        subresource: None,
        set,
    });
    write_entries(&mut out, &list, &res.api_version());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cm() -> &'static Resource {
        crate::resources::find("", "v1", "configmaps").expect("configmaps")
    }

    #[test]
    fn apply_owns_conflicts_forces_and_removes() {
        let a = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"},
                       "data": {"k": "1", "old": "y"}});
        let live = apply(cm(), None, &a, "alice", false).expect("create");
        assert_eq!(
            live["metadata"]["managedFields"][0]["fieldsV1"],
            json!({"f:data": {"f:k": {}, "f:old": {}}})
        );
        // Bob changes k with an update: he owns it now.
        let mut bobbed = live.clone();
        bobbed["data"]["k"] = json!("2");
        record_update(cm(), Some(&live), &mut bobbed, "bob", None);
        // Alice applies k=3: conflict with bob.
        let a3 = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"},
                        "data": {"k": "3", "old": "y"}});
        let e = apply(cm(), Some(&bobbed), &a3, "alice", false).expect_err("conflict");
        assert_eq!(e.code, 409);
        assert_eq!(
            e.message,
            "Apply failed with 1 conflict: conflict with \"bob\": .data.k"
        );
        // Forced, without `old`: k is alice's again and `old` goes.
        let a4 = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"k": "3"}});
        let out = apply(cm(), Some(&bobbed), &a4, "alice", true).expect("force");
        assert_eq!(out["data"], json!({"k": "3"}));
        let managers: Vec<&str> = out["metadata"]["managedFields"]
            .as_array()
            .expect("fields")
            .iter()
            .filter_map(|e| e["manager"].as_str())
            .collect();
        assert_eq!(managers, ["alice"]);
    }

    #[test]
    fn list_items_are_owned_by_merge_key() {
        let d = json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "a"}]}}}});
        let f = fields(&d);
        let shown: Vec<String> = f.keys().map(display).collect();
        assert!(
            shown.contains(&".spec.template.spec.containers[name=\"web\"].image".to_string()),
            "{shown:?}"
        );
        let set: BTreeSet<Path> = f.keys().cloned().collect();
        let v1 = to_fields_v1(&set);
        let mut back = BTreeSet::new();
        from_fields_v1(&v1, &mut Vec::new(), &mut back);
        assert_eq!(back, set);
    }
}
