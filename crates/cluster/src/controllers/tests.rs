//! The controllers together on an in-memory store, with a stand-in for the node agent
//! that makes every pod running and ready.

use std::path::Path;

use serde_json::{json, Value};

use super::{list, name, res, settle};
use crate::api::registry::{DeleteOptions, Write};
use crate::api::Registry;

fn reg() -> Registry {
    let r = Registry::open(Path::new(":memory:")).expect("open");
    r.bootstrap(None).expect("bootstrap");
    r
}

/// What a node agent reports: every pod running and ready; terminating pods removed.
fn kubelet(reg: &Registry) {
    let pr = res("", "pods").expect("pods");
    for p in list(reg, pr, None).expect("pods") {
        let ns = p["metadata"]["namespace"].as_str().map(str::to_string);
        if p["metadata"]["deletionTimestamp"].is_string() {
            reg.remove(pr, ns.as_deref(), name(&p)).expect("remove");
            continue;
        }
        if p["status"]["phase"] == "Running" {
            continue;
        }
        let mut st = p["status"].clone();
        st["phase"] = json!("Running");
        st["conditions"] = json!([{"type": "Ready", "status": "True",
                                   "lastTransitionTime": clock::now_rfc3339_secs()}]);
        let mut n = p.clone();
        n["status"] = st;
        reg.update(
            pr,
            ns.as_deref(),
            name(&p),
            n,
            Some("status"),
            &Write::default(),
        )
        .expect("status");
    }
}

fn run(reg: &Registry) {
    for _ in 0..30 {
        settle(reg).expect("settle");
        let before = reg.revision().expect("rev");
        kubelet(reg);
        if reg.revision().expect("rev") == before {
            return;
        }
    }
    panic!("no steady state");
}

fn deployment(image: &str, replicas: i64) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": image}]}}}})
}

fn pods_of(reg: &Registry) -> Vec<Value> {
    list(reg, res("", "pods").expect("pods"), Some("default")).expect("pods")
}

#[test]
fn a_deployment_rolls_out_rolls_back_and_is_collected() {
    let r = reg();
    let dr = res("apps", "deployments").expect("deployments");
    let rsr = res("apps", "replicasets").expect("replicasets");
    r.create(
        dr,
        Some("default"),
        deployment("nginx:1", 3),
        &Write::default(),
    )
    .expect("create");
    run(&r);
    let d = r.get(dr, Some("default"), "web").expect("get");
    assert_eq!(d["status"]["availableReplicas"], 3, "{d}");
    assert_eq!(
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "1"
    );
    let prog = super::condition(&d, "Progressing").expect("progressing");
    assert_eq!(prog["reason"], "NewReplicaSetAvailable");
    assert_eq!(pods_of(&r).len(), 3);
    let rs1 = list(&r, rsr, Some("default")).expect("rs");
    assert_eq!(rs1.len(), 1);
    let hash = rs1[0]["metadata"]["labels"]["pod-template-hash"]
        .as_str()
        .expect("hash")
        .to_string();
    assert!(pods_of(&r)
        .iter()
        .all(|p| p["metadata"]["labels"]["pod-template-hash"] == json!(hash)));

    // A new image: a second ReplicaSet takes over, the first is scaled to zero.
    let mut d = r.get(dr, Some("default"), "web").expect("get");
    d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:2");
    r.update(dr, Some("default"), "web", d, None, &Write::default())
        .expect("update");
    run(&r);
    let d = r.get(dr, Some("default"), "web").expect("get");
    assert_eq!(
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "2"
    );
    assert_eq!(d["status"]["updatedReplicas"], 3, "{d}");
    let rss = list(&r, rsr, Some("default")).expect("rs");
    assert_eq!(rss.len(), 2);
    assert_eq!(pods_of(&r).len(), 3);
    assert!(pods_of(&r)
        .iter()
        .all(|p| p["spec"]["containers"][0]["image"] == "nginx:2"));

    // Back to the first template: its ReplicaSet becomes revision 3.
    let mut d = r.get(dr, Some("default"), "web").expect("get");
    d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1");
    r.update(dr, Some("default"), "web", d, None, &Write::default())
        .expect("undo");
    run(&r);
    let old = r
        .get(rsr, Some("default"), name(&rs1[0]))
        .expect("first rs");
    assert_eq!(
        old["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "3"
    );
    assert_eq!(old["spec"]["replicas"], 3);
    assert_eq!(list(&r, rsr, Some("default")).expect("rs").len(), 2);

    // Scale down, then delete: the ReplicaSets and pods are collected.
    let mut d = r.get(dr, Some("default"), "web").expect("get");
    d["spec"]["replicas"] = json!(1);
    r.update(dr, Some("default"), "web", d, None, &Write::default())
        .expect("scale");
    run(&r);
    assert_eq!(pods_of(&r).len(), 1);
    r.delete(dr, Some("default"), "web", &DeleteOptions::default())
        .expect("delete");
    run(&r);
    assert!(list(&r, rsr, Some("default")).expect("rs").is_empty());
    assert!(pods_of(&r).is_empty());
}

#[test]
fn a_deleted_namespace_loses_its_content_then_goes() {
    let r = reg();
    let nsr = res("", "namespaces").expect("namespaces");
    let cmr = res("", "configmaps").expect("configmaps");
    r.create(
        nsr,
        None,
        json!({"metadata": {"name": "team"}}),
        &Write::default(),
    )
    .expect("ns");
    run(&r);
    assert!(r
        .get(
            res("", "serviceaccounts").expect("sa"),
            Some("team"),
            "default"
        )
        .is_ok());
    r.create(
        cmr,
        Some("team"),
        json!({"metadata": {"name": "c"}}),
        &Write::default(),
    )
    .expect("cm");
    r.delete(nsr, None, "team", &DeleteOptions::default())
        .expect("delete");
    let e = r
        .create(
            cmr,
            Some("team"),
            json!({"metadata": {"name": "d"}}),
            &Write::default(),
        )
        .expect_err("terminating");
    assert_eq!(e.code, 403);
    run(&r);
    assert_eq!(r.get(nsr, None, "team").expect_err("gone").code, 404);
}
