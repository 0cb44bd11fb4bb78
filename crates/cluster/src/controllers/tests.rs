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
    let node = json!({"metadata": {"name": "n1", "labels": {"kubernetes.io/hostname": "n1"}},
        "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                   "lastHeartbeatTime": clock::now_rfc3339_secs()}],
                   "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}}});
    let nr = res("", "nodes").expect("nodes");
    let n = r
        .create(nr, None, node.clone(), &Write::default())
        .expect("node");
    let mut with_status = n.clone();
    with_status["status"] = node["status"].clone();
    r.update(
        nr,
        None,
        "n1",
        with_status,
        Some("status"),
        &Write::default(),
    )
    .expect("node status");
    r
}

/// What a node agent reports: pods bound to a node run and are ready (a Job's pods
/// succeed, or fail when their image is `fail`); terminating pods are removed.
fn kubelet(reg: &Registry) {
    let pr = res("", "pods").expect("pods");
    for (i, p) in list(reg, pr, None).expect("pods").into_iter().enumerate() {
        let ns = p["metadata"]["namespace"].as_str().map(str::to_string);
        if p["spec"]["nodeName"]
            .as_str()
            .unwrap_or_default()
            .is_empty()
        {
            continue;
        }
        if p["metadata"]["deletionTimestamp"].is_string() {
            reg.remove(pr, ns.as_deref(), name(&p)).expect("remove");
            continue;
        }
        if p["status"]["phase"] != "Pending" {
            continue;
        }
        let mut st = p["status"].clone();
        let job = p["metadata"]["ownerReferences"][0]["kind"] == "Job";
        st["podIP"] = json!(format!("10.42.0.{}", i + 2));
        if job {
            let fail = p["spec"]["containers"][0]["image"] == "fail";
            st["phase"] = json!(if fail { "Failed" } else { "Succeeded" });
        } else {
            st["phase"] = json!("Running");
            st["conditions"] = json!([{"type": "Ready", "status": "True",
                                       "lastTransitionTime": clock::now_rfc3339_secs()}]);
        }
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

#[test]
fn jobs_complete_or_fail_and_services_get_their_endpoints() {
    let r = reg();
    let jr = res("batch", "jobs").expect("jobs");
    let job = |n: &str, image: &str, completions: i64| {
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": n},
            "spec": {"completions": completions, "parallelism": 2, "backoffLimit": 0,
                "template": {"spec": {"restartPolicy": "Never",
                    "containers": [{"name": "c", "image": image}]}}}})
    };
    r.create(
        jr,
        Some("default"),
        job("ok", "busybox", 3),
        &Write::default(),
    )
    .expect("job");
    r.create(
        jr,
        Some("default"),
        job("bad", "fail", 1),
        &Write::default(),
    )
    .expect("job");
    run(&r);
    let ok = r.get(jr, Some("default"), "ok").expect("ok");
    assert_eq!(ok["status"]["succeeded"], 3, "{ok}");
    assert_eq!(
        super::condition(&ok, "Complete").map(|c| c["status"].clone()),
        Some(json!("True"))
    );
    let bad = r.get(jr, Some("default"), "bad").expect("bad");
    let failed = super::condition(&bad, "Failed").expect("failed");
    assert_eq!(failed["reason"], "BackoffLimitExceeded");

    let dr = res("apps", "deployments").expect("deployments");
    r.create(
        dr,
        Some("default"),
        deployment("nginx:1", 2),
        &Write::default(),
    )
    .expect("deploy");
    let svc = json!({"metadata": {"name": "web"}, "spec": {"selector": {"app": "web"},
        "ports": [{"port": 80, "targetPort": 8080}]}});
    r.create(
        res("", "services").expect("services"),
        Some("default"),
        svc,
        &Write::default(),
    )
    .expect("service");
    run(&r);
    let ep = r
        .get(
            res("", "endpoints").expect("endpoints"),
            Some("default"),
            "web",
        )
        .expect("ep");
    assert_eq!(
        ep["subsets"][0]["addresses"].as_array().map(Vec::len),
        Some(2),
        "{ep}"
    );
    assert_eq!(ep["subsets"][0]["ports"][0]["port"], 8080);
    let slices = list(
        &r,
        res("discovery.k8s.io", "endpointslices").expect("slices"),
        Some("default"),
    )
    .expect("slices");
    assert_eq!(slices.len(), 1);
    assert_eq!(slices[0]["endpoints"].as_array().map(Vec::len), Some(2));
    assert_eq!(slices[0]["endpoints"][0]["conditions"]["ready"], true);
}

#[test]
fn unschedulable_pods_say_why_and_a_lost_nodes_pods_are_evicted() {
    let r = reg();
    let pr = res("", "pods").expect("pods");
    let pod = |n: &str, extra: Value| {
        let mut p =
            json!({"metadata": {"name": n}, "spec": {"containers": [{"name": "c", "image": "i"}]}});
        if let (Some(spec), Some(x)) = (p["spec"].as_object_mut(), extra.as_object()) {
            spec.extend(x.clone());
        }
        p
    };
    r.create(
        pr,
        Some("default"),
        pod("picky", json!({"nodeSelector": {"disk": "ssd"}})),
        &Write::default(),
    )
    .expect("picky");
    r.create(
        pr,
        Some("default"),
        pod("runs", json!({})),
        &Write::default(),
    )
    .expect("runs");
    r.create(pr, Some("default"), pod("impatient", json!({"tolerations": [
        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 0}]})),
        &Write::default()).expect("impatient");
    run(&r);
    let picky = r.get(pr, Some("default"), "picky").expect("picky");
    let cond = super::condition(&picky, "PodScheduled").expect("condition");
    assert_eq!(cond["reason"], "Unschedulable");
    assert_eq!(
        cond["message"],
        "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."
    );
    assert_eq!(
        r.get(pr, Some("default"), "runs").expect("runs")["spec"]["nodeName"],
        "n1"
    );

    // The node stops reporting: Ready=Unknown, the unreachable taints, and the pod
    // that tolerates them for 0 s is evicted while the default 300 s one stays.
    let nr = res("", "nodes").expect("nodes");
    let mut n = r.get(nr, None, "n1").expect("node");
    n["status"]["conditions"][0]["lastHeartbeatTime"] =
        json!(clock::rfc3339_secs(clock::now_nanos() - 100_000_000_000));
    r.update(nr, None, "n1", n, Some("status"), &Write::default())
        .expect("old heartbeat");
    settle(&r).expect("settle");
    let n = r.get(nr, None, "n1").expect("node");
    assert_eq!(
        super::condition(&n, "Ready").map(|c| c["status"].clone()),
        Some(json!("Unknown"))
    );
    let keys: Vec<&str> = n["spec"]["taints"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["key"].as_str())
        .collect();
    assert_eq!(
        keys,
        [
            "node.kubernetes.io/unreachable",
            "node.kubernetes.io/unreachable"
        ]
    );
    assert!(
        r.get(pr, Some("default"), "impatient").expect("impatient")["metadata"]
            ["deletionTimestamp"]
            .is_string()
    );
    assert!(
        r.get(pr, Some("default"), "runs").expect("runs")["metadata"]["deletionTimestamp"]
            .is_null()
    );
}
