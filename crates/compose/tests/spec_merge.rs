//! The compose specification's merge rules (13-merge.md), each example of its text loaded
//! through the whole loader (two files, `-f a -f b`) from an in-memory file system.

use std::collections::BTreeMap;
use std::path::PathBuf;

mod common;

use common::MemFs;
use compose::load::{load, Options};
use serde_json::{json, Value};

/// The service `foo`/`app` of `base` merged with `over`, as the model's JSON.
fn merged(base: &str, over: &str) -> Value {
    let fs = MemFs(BTreeMap::from([
        (PathBuf::from("/p/a.yaml"), base.to_string()),
        (PathBuf::from("/p/b.yaml"), over.to_string()),
    ]));
    let mut o = Options::new(PathBuf::from("/p"), BTreeMap::new());
    o.files = vec![PathBuf::from("a.yaml"), PathBuf::from("b.yaml")];
    let p = load(&o, &fs).expect("load");
    let model = p.model.to_json();
    let svcs = &model["services"];
    let name = svcs
        .as_object()
        .and_then(|m| m.keys().next().cloned())
        .expect("a service");
    svcs[name.as_str()].clone()
}

#[test]
fn mappings_add_missing_entries_and_merge_conflicting_ones() {
    let s = merged(
        "services:\n  foo:\n    image: x\n    environment:\n      key1: value1\n      key2: value2\n",
        "services:\n  foo:\n    environment:\n      key2: VALUE\n      key3: value3\n",
    );
    assert_eq!(
        s["environment"],
        json!({"key1": "value1", "key2": "VALUE", "key3": "value3"})
    );
    assert_eq!(s["image"], "x");
}

#[test]
fn sequences_append() {
    let s = merged(
        "services:\n  foo:\n    image: x\n    dns:\n      - 1.1.1.1\n",
        "services:\n  foo:\n    dns:\n      - 8.8.8.8\n",
    );
    assert_eq!(s["dns"], json!(["1.1.1.1", "8.8.8.8"]));
}

#[test]
fn shell_commands_are_overridden_not_appended() {
    let s = merged(
        "services:\n  foo:\n    image: x\n    command: [\"echo\", \"foo\"]\n    entrypoint: [sh, -c]\n    healthcheck:\n      test: [CMD, a]\n      interval: 5s\n",
        "services:\n  foo:\n    command: [\"echo\", \"bar\"]\n    entrypoint: [bash]\n    healthcheck:\n      test: [CMD, b]\n",
    );
    assert_eq!(s["command"], json!(["echo", "bar"]));
    assert_eq!(s["entrypoint"], json!(["bash"]));
    assert_eq!(s["healthcheck"]["test"], json!(["CMD", "b"]));
    // The rest of the healthcheck mapping merges.
    assert_eq!(s["healthcheck"]["interval"], "5s");
}

#[test]
fn unique_resources_merge_by_their_key() {
    // volumes by target: the override's source wins.
    let s = merged(
        "services:\n  foo:\n    image: x\n    volumes:\n      - foo:/work\nvolumes:\n  foo:\n  bar:\n",
        "services:\n  foo:\n    volumes:\n      - bar:/work\n",
    );
    let vols = s["volumes"].as_array().expect("volumes");
    assert_eq!(vols.len(), 1);
    assert_eq!(vols[0]["source"], "bar");
    assert_eq!(vols[0]["target"], "/work");
    // ports by {ip, target, published, protocol}: the same one once, a new one added.
    let s = merged(
        "services:\n  foo:\n    image: x\n    ports: [\"8080:80\"]\n",
        "services:\n  foo:\n    ports: [\"8080:80\", \"8443:443\"]\n",
    );
    let ports: Vec<(i64, String)> = s["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .map(|p| {
            (
                p["target"].as_i64().unwrap_or(0),
                p["published"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(ports, [(80, "8080".to_string()), (443, "8443".to_string())]);
    // secrets by target.
    let s = merged(
        "services:\n  foo:\n    image: x\n    secrets: [s]\nsecrets:\n  s: {file: ./s}\n  t: {file: ./t}\n",
        "services:\n  foo:\n    secrets:\n      - source: t\n        target: /run/secrets/s\n",
    );
    let secrets = s["secrets"].as_array().expect("secrets");
    assert_eq!(secrets.len(), 1);
    assert_eq!(secrets[0]["source"], "t");
}

#[test]
fn reset_removes_what_the_base_set() {
    let s = merged(
        "services:\n  app:\n    image: myapp\n    ports:\n      - \"8080:80\"\n    environment:\n      FOO: BAR\n",
        "services:\n  app:\n    image: myapp\n    ports: !reset []\n    environment:\n      FOO: !reset null\n",
    );
    assert!(s.get("ports").is_none(), "{s}");
    assert!(
        s.get("environment").and_then(|e| e.get("FOO")).is_none(),
        "{s}"
    );
    assert_eq!(s["image"], "myapp");
}

#[test]
fn override_replaces_instead_of_merging() {
    let s = merged(
        "services:\n  app:\n    image: myapp\n    ports:\n      - \"8080:80\"\n",
        "services:\n  app:\n    ports: !override\n      - \"8443:443\"\n",
    );
    let ports = s["ports"].as_array().expect("ports");
    assert_eq!(ports.len(), 1);
    assert_eq!(ports[0]["target"], 443);
    assert_eq!(s["image"], "myapp");
}

#[test]
fn list_and_mapping_forms_merge_together() {
    // environment and labels given as a list in one file and a mapping in the other.
    let s = merged(
        "services:\n  foo:\n    image: x\n    environment: [A=1, B=2]\n    labels: {l1: a}\n",
        "services:\n  foo:\n    environment: {B: 3, C: 4}\n    labels: [l2=b]\n",
    );
    assert_eq!(s["environment"], json!({"A": "1", "B": "3", "C": "4"}));
    assert_eq!(s["labels"], json!({"l1": "a", "l2": "b"}));
}

#[test]
fn scalars_are_replaced() {
    let s = merged(
        "services:\n  foo:\n    image: x:1\n    restart: always\n",
        "services:\n  foo:\n    image: x:2\n",
    );
    assert_eq!(s["image"], "x:2");
    assert_eq!(s["restart"], "always");
}
