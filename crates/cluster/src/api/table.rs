//! Server-side printing: `meta.k8s.io/v1` Tables with kube-apiserver 1.32's columns and
//! cells for each kind (its `printers.go`), every column sent (kubectl hides the
//! priority-1 ones unless `-o wide`), and the default Name/Created At table for the rest.

use serde_json::{json, Value};

use crate::resources::Resource;

/// Kubernetes' short human durations (`5s`, `2m3s`, `3h2m`, `4d`), of whole seconds.
pub fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".to_string();
    }
    if secs < 0 {
        return "0s".to_string();
    }
    if secs < 120 {
        return format!("{secs}s");
    }
    let minutes = secs / 60;
    if minutes < 10 {
        let s = secs % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = secs / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let d = (hours / 24) % 365;
        return if d == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{d}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

/// The age of an RFC 3339 time (`<unknown>` when absent).
pub fn age(ts: &Value) -> String {
    match ts.as_str().and_then(clock::parse_rfc3339) {
        Some(t) => human_duration((clock::now_nanos() - t).div_euclid(1_000_000_000)),
        None => "<unknown>".to_string(),
    }
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn or_none(v: String) -> String {
    if v.is_empty() {
        "<none>".to_string()
    } else {
        v
    }
}

fn int(v: &Value) -> Value {
    json!(v.as_i64().unwrap_or(0))
}

fn format_labels(m: &Value) -> String {
    let mut pairs: Vec<String> = m
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    pairs.sort();
    or_none(pairs.join(","))
}

/// `metav1.FormatLabelSelector`.
fn format_selector(sel: &Value) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(m) = sel["matchLabels"].as_object() {
        let mut ls: Vec<String> = m
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect();
        ls.sort();
        parts.extend(ls);
    }
    for e in sel["matchExpressions"].as_array().into_iter().flatten() {
        let key = s(&e["key"]);
        let vals: Vec<String> = e["values"]
            .as_array()
            .map(|a| a.iter().map(s).collect())
            .unwrap_or_default();
        parts.push(match e["operator"].as_str().unwrap_or_default() {
            "In" => format!("{key} in ({})", vals.join(",")),
            "NotIn" => format!("{key} notin ({})", vals.join(",")),
            "Exists" => key,
            "DoesNotExist" => format!("!{key}"),
            _ => continue,
        });
    }
    or_none(parts.join(","))
}

fn containers_cells(spec: &Value) -> (String, String) {
    let cs = spec["containers"].as_array().cloned().unwrap_or_default();
    let names: Vec<String> = cs.iter().map(|c| s(&c["name"])).collect();
    let images: Vec<String> = cs.iter().map(|c| s(&c["image"])).collect();
    (names.join(","), images.join(","))
}

type Col = (&'static str, &'static str, &'static str, u8);

const NAME: Col = ("Name", "string", "name", 0);
const AGE: Col = ("Age", "string", "", 0);

fn str_col(name: &'static str) -> Col {
    (name, "string", "", 0)
}

fn wide(name: &'static str) -> Col {
    (name, "string", "", 1)
}

fn int_col(name: &'static str) -> Col {
    (name, "integer", "", 0)
}

fn pod_cells(p: &Value) -> (Vec<Value>, Option<Value>) {
    let spec = &p["spec"];
    let st = &p["status"];
    let sidecars = spec["initContainers"]
        .as_array()
        .map(|a| a.iter().filter(|c| c["restartPolicy"] == "Always").count())
        .unwrap_or(0);
    let total = spec["containers"].as_array().map_or(0, Vec::len) + sidecars;
    let mut ready = 0;
    let mut restarts = 0;
    let mut reason = s(&st["phase"]);
    if !s(&st["reason"]).is_empty() {
        reason = s(&st["reason"]);
    }
    let mut initializing = false;
    let inits = spec["initContainers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for (i, c) in st["initContainerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        restarts += c["restartCount"].as_i64().unwrap_or(0);
        let term = &c["state"]["terminated"];
        let wait = &c["state"]["waiting"];
        if term.is_object() && term["exitCode"].as_i64() == Some(0) {
            continue;
        }
        let sidecar = inits
            .get(i)
            .is_some_and(|ic| ic["restartPolicy"] == "Always");
        if sidecar && c["started"] == json!(true) {
            if c["ready"] == json!(true) {
                ready += 1;
            }
            continue;
        }
        if term.is_object() {
            reason = if s(&term["reason"]).is_empty() {
                match term["signal"].as_i64() {
                    Some(sig) if sig != 0 => format!("Init:Signal:{sig}"),
                    _ => format!("Init:ExitCode:{}", term["exitCode"].as_i64().unwrap_or(0)),
                }
            } else {
                format!("Init:{}", s(&term["reason"]))
            };
        } else if wait.is_object()
            && !s(&wait["reason"]).is_empty()
            && s(&wait["reason"]) != "PodInitializing"
        {
            reason = format!("Init:{}", s(&wait["reason"]));
        } else {
            reason = format!("Init:{i}/{}", inits.len());
        }
        initializing = true;
        break;
    }
    let initialized = st["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == "Initialized" && c["status"] == "True")
    });
    if !initializing || initialized {
        let mut has_running = false;
        let statuses = st["containerStatuses"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for c in statuses.iter().rev() {
            restarts += c["restartCount"].as_i64().unwrap_or(0);
            let term = &c["state"]["terminated"];
            let wait = &c["state"]["waiting"];
            if wait.is_object() && !s(&wait["reason"]).is_empty() {
                reason = s(&wait["reason"]);
            } else if term.is_object() && !s(&term["reason"]).is_empty() {
                reason = s(&term["reason"]);
            } else if term.is_object() {
                reason = match term["signal"].as_i64() {
                    Some(sig) if sig != 0 => format!("Signal:{sig}"),
                    _ => format!("ExitCode:{}", term["exitCode"].as_i64().unwrap_or(0)),
                };
            } else if c["ready"] == json!(true) && c["state"]["running"].is_object() {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            let pod_ready = st["conditions"].as_array().is_some_and(|cs| {
                cs.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            });
            reason = if pod_ready { "Running" } else { "NotReady" }.to_string();
        }
    }
    if p["metadata"]["deletionTimestamp"].is_string() {
        if s(&st["reason"]) == "NodeLost" {
            reason = "Unknown".to_string();
        } else if !matches!(s(&st["phase"]).as_str(), "Succeeded" | "Failed") {
            reason = "Terminating".to_string();
        }
    }
    let last_restart = st["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["lastState"]["terminated"]["finishedAt"].as_str())
        .max()
        .map(str::to_string);
    let restarts_s = match (restarts, last_restart) {
        (0, _) | (_, None) => restarts.to_string(),
        (n, Some(t)) => format!("{n} ({} ago)", age(&json!(t))),
    };
    let ip = st["podIPs"][0]["ip"]
        .as_str()
        .or(st["podIP"].as_str())
        .unwrap_or_default()
        .to_string();
    let gates = spec["readinessGates"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let gates_s = if gates.is_empty() {
        "<none>".to_string()
    } else {
        let ok = gates
            .iter()
            .filter(|g| {
                st["conditions"].as_array().is_some_and(|cs| {
                    cs.iter()
                        .any(|c| c["type"] == g["conditionType"] && c["status"] == "True")
                })
            })
            .count();
        format!("{ok}/{}", gates.len())
    };
    let cells = vec![
        json!(s(&p["metadata"]["name"])),
        json!(format!("{ready}/{total}")),
        json!(reason),
        json!(restarts_s),
        json!(age(&p["metadata"]["creationTimestamp"])),
        json!(or_none(ip)),
        json!(or_none(s(&spec["nodeName"]))),
        json!(or_none(s(&st["nominatedNodeName"]))),
        json!(gates_s),
    ];
    let conditions = match s(&st["phase"]).as_str() {
        "Succeeded" => Some(
            json!([{"type": "Completed", "status": "True", "reason": "Succeeded", "message": "The pod has completed successfully."}]),
        ),
        "Failed" => Some(
            json!([{"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}]),
        ),
        _ => None,
    };
    (cells, conditions)
}

fn service_cells(o: &Value) -> Vec<Value> {
    let spec = &o["spec"];
    let t = s(&spec["type"]);
    let cluster_ip = spec["clusterIPs"][0]
        .as_str()
        .or(spec["clusterIP"].as_str())
        .unwrap_or_default()
        .to_string();
    let external: Vec<String> = spec["externalIPs"]
        .as_array()
        .map(|a| a.iter().map(s).collect())
        .unwrap_or_default();
    let ext = match t.as_str() {
        "ClusterIP" | "NodePort" => or_none(external.join(",")),
        "LoadBalancer" => {
            let mut ing: Vec<String> = o["status"]["loadBalancer"]["ingress"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|i| {
                            i["ip"]
                                .as_str()
                                .or(i["hostname"].as_str())
                                .unwrap_or_default()
                                .to_string()
                        })
                        .collect()
                })
                .unwrap_or_default();
            ing.extend(external);
            if ing.is_empty() {
                "<pending>".to_string()
            } else {
                ing.join(",")
            }
        }
        "ExternalName" => s(&spec["externalName"]),
        _ => "<unknown>".to_string(),
    };
    let ports: Vec<String> = spec["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let proto = p["protocol"].as_str().unwrap_or("TCP");
            match p["nodePort"].as_i64().filter(|n| *n > 0) {
                Some(np) => format!("{}:{np}/{proto}", p["port"].as_i64().unwrap_or(0)),
                None => format!("{}/{proto}", p["port"].as_i64().unwrap_or(0)),
            }
        })
        .collect();
    vec![
        json!(s(&o["metadata"]["name"])),
        json!(t),
        json!(or_none(cluster_ip)),
        json!(ext),
        json!(or_none(ports.join(","))),
        json!(age(&o["metadata"]["creationTimestamp"])),
        json!(format_labels(&spec["selector"])),
    ]
}

fn limited(items: Vec<String>, empty: &str) -> String {
    if items.is_empty() {
        return empty.to_string();
    }
    let n = items.len();
    let shown = items.into_iter().take(3).collect::<Vec<_>>().join(",");
    if n > 3 {
        format!("{shown} + {} more...", n - 3)
    } else {
        shown
    }
}

fn endpoints_cell(o: &Value) -> String {
    let subsets = o["subsets"].as_array().cloned().unwrap_or_default();
    if subsets.is_empty() {
        return "<none>".to_string();
    }
    let mut list = Vec::new();
    for ss in &subsets {
        let addrs: Vec<String> = ss["addresses"]
            .as_array()
            .map(|a| a.iter().map(|x| s(&x["ip"])).collect())
            .unwrap_or_default();
        let ports = ss["ports"].as_array().cloned().unwrap_or_default();
        for a in &addrs {
            if ports.is_empty() {
                list.push(a.clone());
            }
            for p in &ports {
                list.push(format!("{a}:{}", p["port"].as_i64().unwrap_or(0)));
            }
        }
    }
    if list.is_empty() {
        return String::new();
    }
    limited(list, "")
}

fn event_cells(o: &Value) -> Vec<Value> {
    let first = if o["firstTimestamp"].is_string() {
        age(&o["firstTimestamp"])
    } else {
        age(&o["eventTime"])
    };
    let mut last = if o["lastTimestamp"].is_string() {
        age(&o["lastTimestamp"])
    } else {
        first.clone()
    };
    let mut count = o["count"].as_i64().unwrap_or(0);
    if o["series"].is_object() {
        last = age(&o["series"]["lastObservedTime"]);
        count = o["series"]["count"].as_i64().unwrap_or(0);
    } else if count == 0 {
        count = 1;
    }
    let io = &o["involvedObject"];
    let kind = s(&io["kind"]).to_lowercase();
    let object = if s(&io["name"]).is_empty() {
        kind
    } else {
        format!("{kind}/{}", s(&io["name"]))
    };
    let comp = o["source"]["component"]
        .as_str()
        .filter(|c| !c.is_empty())
        .or(o["reportingComponent"].as_str())
        .unwrap_or_default()
        .to_string();
    let host = o["source"]["host"]
        .as_str()
        .filter(|c| !c.is_empty())
        .or(o["reportingInstance"].as_str())
        .unwrap_or_default()
        .to_string();
    let source = if host.is_empty() {
        comp
    } else {
        format!("{comp}, {host}")
    };
    vec![
        json!(last),
        json!(s(&o["type"])),
        json!(s(&o["reason"])),
        json!(object),
        json!(s(&io["fieldPath"])),
        json!(source),
        json!(s(&o["message"]).trim()),
        json!(first),
        json!(count),
        json!(s(&o["metadata"]["name"])),
    ]
}

fn job_cells(o: &Value) -> Vec<Value> {
    let spec = &o["spec"];
    let st = &o["status"];
    let succeeded = st["succeeded"].as_i64().unwrap_or(0);
    let completions = match spec["completions"].as_i64() {
        Some(c) => format!("{succeeded}/{c}"),
        None => match spec["parallelism"].as_i64().unwrap_or(0) {
            p if p > 1 => format!("{succeeded}/1 of {p}"),
            _ => format!("{succeeded}/1"),
        },
    };
    let start = st["startTime"].as_str().and_then(clock::parse_rfc3339);
    let end = st["completionTime"].as_str().and_then(clock::parse_rfc3339);
    let duration = match (start, end) {
        (None, _) => String::new(),
        (Some(a), None) => human_duration((clock::now_nanos() - a) / 1_000_000_000),
        (Some(a), Some(b)) => human_duration((b - a) / 1_000_000_000),
    };
    let cond = |t: &str| {
        st["conditions"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"] == t))
            .is_some_and(|c| c["status"] == "True")
    };
    let status = if cond("Complete") {
        "Complete"
    } else if cond("Failed") {
        "Failed"
    } else if o["metadata"]["deletionTimestamp"].is_string() {
        "Terminating"
    } else if cond("Suspended") {
        "Suspended"
    } else if cond("FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    };
    let (names, images) = containers_cells(&spec["template"]["spec"]);
    vec![
        json!(s(&o["metadata"]["name"])),
        json!(status),
        json!(completions),
        json!(duration),
        json!(age(&o["metadata"]["creationTimestamp"])),
        json!(names),
        json!(images),
        json!(format_selector(&spec["selector"])),
    ]
}

fn node_cells(o: &Value) -> Vec<Value> {
    let st = &o["status"];
    let ready = st["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"));
    let mut status = vec![match ready {
        Some(c) if c["status"] == "True" => "Ready",
        Some(_) => "NotReady",
        None => "Unknown",
    }
    .to_string()];
    if o["spec"]["unschedulable"] == json!(true) {
        status.push("SchedulingDisabled".to_string());
    }
    let mut roles: Vec<String> = Vec::new();
    if let Some(l) = o["metadata"]["labels"].as_object() {
        for (k, v) in l {
            if let Some(r) = k.strip_prefix("node-role.kubernetes.io/") {
                if !r.is_empty() {
                    roles.push(r.to_string());
                }
            }
            if k == "kubernetes.io/role" {
                if let Some(v) = v.as_str().filter(|v| !v.is_empty()) {
                    roles.push(v.to_string());
                }
            }
        }
    }
    roles.sort();
    roles.dedup();
    let addr = |t: &str| {
        st["addresses"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["type"] == t))
            .map(|x| s(&x["address"]))
            .unwrap_or_default()
    };
    let info = &st["nodeInfo"];
    let unknown = |v: &Value| {
        let t = s(v);
        if t.is_empty() {
            "<unknown>".to_string()
        } else {
            t
        }
    };
    vec![
        json!(s(&o["metadata"]["name"])),
        json!(status.join(",")),
        json!(or_none(roles.join(","))),
        json!(age(&o["metadata"]["creationTimestamp"])),
        json!(s(&info["kubeletVersion"])),
        json!(or_none(addr("InternalIP"))),
        json!(or_none(addr("ExternalIP"))),
        json!(unknown(&info["osImage"])),
        json!(unknown(&info["kernelVersion"])),
        json!(unknown(&info["containerRuntimeVersion"])),
    ]
}

/// The columns and cells of one object of `res`.
fn columns(res: &Resource) -> Vec<Col> {
    match (res.group, res.kind) {
        ("", "Pod") => vec![
            NAME,
            str_col("Ready"),
            str_col("Status"),
            str_col("Restarts"),
            AGE,
            wide("IP"),
            wide("Node"),
            wide("Nominated Node"),
            wide("Readiness Gates"),
        ],
        ("", "Namespace") => vec![NAME, str_col("Status"), AGE],
        ("", "Node") => vec![
            NAME,
            str_col("Status"),
            str_col("Roles"),
            AGE,
            str_col("Version"),
            wide("Internal-IP"),
            wide("External-IP"),
            wide("OS-Image"),
            wide("Kernel-Version"),
            wide("Container-Runtime"),
        ],
        ("", "Service") => vec![
            NAME,
            str_col("Type"),
            str_col("Cluster-IP"),
            str_col("External-IP"),
            str_col("Port(s)"),
            AGE,
            wide("Selector"),
        ],
        ("", "Endpoints") => vec![NAME, str_col("Endpoints"), AGE],
        ("discovery.k8s.io", "EndpointSlice") => vec![
            NAME,
            str_col("AddressType"),
            str_col("Ports"),
            str_col("Endpoints"),
            AGE,
        ],
        ("", "ConfigMap") => vec![NAME, str_col("Data"), AGE],
        ("", "Secret") => vec![NAME, str_col("Type"), str_col("Data"), AGE],
        ("", "ServiceAccount") => vec![NAME, str_col("Secrets"), AGE],
        ("", "Event") => vec![
            str_col("Last Seen"),
            str_col("Type"),
            str_col("Reason"),
            str_col("Object"),
            wide("Subobject"),
            wide("Source"),
            str_col("Message"),
            wide("First Seen"),
            wide("Count"),
            ("Name", "string", "name", 1),
        ],
        ("apps", "Deployment") => vec![
            NAME,
            str_col("Ready"),
            str_col("Up-to-date"),
            str_col("Available"),
            AGE,
            wide("Containers"),
            wide("Images"),
            wide("Selector"),
        ],
        ("apps", "ReplicaSet") | ("", "ReplicationController") => vec![
            NAME,
            int_col("Desired"),
            int_col("Current"),
            int_col("Ready"),
            AGE,
            wide("Containers"),
            wide("Images"),
            wide("Selector"),
        ],
        ("apps", "StatefulSet") => vec![
            NAME,
            str_col("Ready"),
            AGE,
            wide("Containers"),
            wide("Images"),
        ],
        ("apps", "DaemonSet") => vec![
            NAME,
            int_col("Desired"),
            int_col("Current"),
            int_col("Ready"),
            int_col("Up-to-date"),
            int_col("Available"),
            str_col("Node Selector"),
            AGE,
            wide("Containers"),
            wide("Images"),
            wide("Selector"),
        ],
        ("apps", "ControllerRevision") => {
            vec![NAME, str_col("Controller"), str_col("Revision"), AGE]
        }
        ("batch", "Job") => vec![
            NAME,
            str_col("Status"),
            str_col("Completions"),
            str_col("Duration"),
            AGE,
            wide("Containers"),
            wide("Images"),
            wide("Selector"),
        ],
        ("batch", "CronJob") => vec![
            NAME,
            str_col("Schedule"),
            str_col("Timezone"),
            ("Suspend", "boolean", "", 0),
            int_col("Active"),
            str_col("Last Schedule"),
            AGE,
            wide("Containers"),
            wide("Images"),
            wide("Selector"),
        ],
        ("", "PersistentVolumeClaim") => vec![
            NAME,
            str_col("Status"),
            str_col("Volume"),
            str_col("Capacity"),
            str_col("Access Modes"),
            str_col("StorageClass"),
            str_col("VolumeAttributesClass"),
            AGE,
            wide("VolumeMode"),
        ],
        ("coordination.k8s.io", "Lease") => vec![NAME, str_col("Holder"), AGE],
        _ => vec![NAME, ("Created At", "date", "", 0)],
    }
}

fn cells(res: &Resource, o: &Value) -> (Vec<Value>, Option<Value>) {
    let name = json!(s(&o["metadata"]["name"]));
    let a = json!(age(&o["metadata"]["creationTimestamp"]));
    let spec = &o["spec"];
    let st = &o["status"];
    let count = |v: &Value| json!(v.as_object().map_or(0, |m| m.len()));
    let c = match (res.group, res.kind) {
        ("", "Pod") => return pod_cells(o),
        ("", "Namespace") => vec![name, json!(s(&st["phase"])), a],
        ("", "Node") => node_cells(o),
        ("", "Service") => service_cells(o),
        ("", "Endpoints") => vec![name, json!(endpoints_cell(o)), a],
        ("discovery.k8s.io", "EndpointSlice") => {
            let ports: Vec<String> = o["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| match p["port"].as_i64() {
                    Some(n) => n.to_string(),
                    None => p["name"].as_str().map_or("*".to_string(), str::to_string),
                })
                .collect();
            let addrs: Vec<String> = o["endpoints"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|e| e["addresses"].as_array().cloned().unwrap_or_default())
                .map(|a| s(&a))
                .collect();
            vec![
                name,
                json!(s(&o["addressType"])),
                json!(limited(ports, "<unset>")),
                json!(limited(addrs, "<unset>")),
                a,
            ]
        }
        ("", "ConfigMap") => {
            let n = o["data"].as_object().map_or(0, |m| m.len())
                + o["binaryData"].as_object().map_or(0, |m| m.len());
            vec![name, json!(n), a]
        }
        ("", "Secret") => vec![name, json!(s(&o["type"])), count(&o["data"]), a],
        ("", "ServiceAccount") => vec![name, json!(o["secrets"].as_array().map_or(0, Vec::len)), a],
        ("", "Event") => event_cells(o),
        ("apps", "Deployment") => {
            let (n, i) = containers_cells(&spec["template"]["spec"]);
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    st["readyReplicas"].as_i64().unwrap_or(0),
                    spec["replicas"].as_i64().unwrap_or(0)
                )),
                int(&st["updatedReplicas"]),
                int(&st["availableReplicas"]),
                a,
                json!(n),
                json!(i),
                json!(format_selector(&spec["selector"])),
            ]
        }
        ("apps", "ReplicaSet") | ("", "ReplicationController") => {
            let (n, i) = containers_cells(&spec["template"]["spec"]);
            let sel = if res.kind == "ReplicaSet" {
                format_selector(&spec["selector"])
            } else {
                format_labels(&spec["selector"])
            };
            vec![
                name,
                int(&spec["replicas"]),
                int(&st["replicas"]),
                int(&st["readyReplicas"]),
                a,
                json!(n),
                json!(i),
                json!(sel),
            ]
        }
        ("apps", "StatefulSet") => {
            let (n, i) = containers_cells(&spec["template"]["spec"]);
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    st["readyReplicas"].as_i64().unwrap_or(0),
                    spec["replicas"].as_i64().unwrap_or(0)
                )),
                a,
                json!(n),
                json!(i),
            ]
        }
        ("apps", "DaemonSet") => {
            let (n, i) = containers_cells(&spec["template"]["spec"]);
            vec![
                name,
                int(&st["desiredNumberScheduled"]),
                int(&st["currentNumberScheduled"]),
                int(&st["numberReady"]),
                int(&st["updatedNumberScheduled"]),
                int(&st["numberAvailable"]),
                json!(format_labels(&spec["template"]["spec"]["nodeSelector"])),
                a,
                json!(n),
                json!(i),
                json!(format_selector(&spec["selector"])),
            ]
        }
        ("apps", "ControllerRevision") => {
            let ctl = o["metadata"]["ownerReferences"]
                .as_array()
                .and_then(|a| a.iter().find(|r| r["controller"] == json!(true)))
                .map(|r| {
                    let group = s(&r["apiVersion"])
                        .rsplit_once('/')
                        .map(|(g, _)| g.to_string())
                        .unwrap_or_default();
                    let gk = if group.is_empty() {
                        s(&r["kind"])
                    } else {
                        format!("{}.{group}", s(&r["kind"]))
                    };
                    format!("{}/{}", gk.to_lowercase(), s(&r["name"]))
                })
                .unwrap_or_else(|| "<none>".to_string());
            vec![name, json!(ctl), int(&o["revision"]), a]
        }
        ("batch", "Job") => job_cells(o),
        ("batch", "CronJob") => {
            let jt = &spec["jobTemplate"]["spec"];
            let (n, i) = containers_cells(&jt["template"]["spec"]);
            let last = if st["lastScheduleTime"].is_string() {
                age(&st["lastScheduleTime"])
            } else {
                "<none>".to_string()
            };
            vec![
                name,
                json!(s(&spec["schedule"])),
                json!(or_none(s(&spec["timeZone"]))),
                json!(spec["suspend"].as_bool().unwrap_or(false)),
                json!(st["active"].as_array().map_or(0, Vec::len)),
                json!(last),
                a,
                json!(n),
                json!(i),
                json!(format_selector(&jt["selector"])),
            ]
        }
        ("", "PersistentVolumeClaim") => {
            let phase = if o["metadata"]["deletionTimestamp"].is_string() {
                "Terminating".to_string()
            } else {
                s(&st["phase"])
            };
            let bound = !s(&spec["volumeName"]).is_empty();
            let cap = if bound {
                s(&st["capacity"]["storage"])
            } else {
                String::new()
            };
            let modes = if bound {
                st["accessModes"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|m| match m.as_str().unwrap_or_default() {
                                "ReadWriteOnce" => "RWO",
                                "ReadOnlyMany" => "ROX",
                                "ReadWriteMany" => "RWX",
                                "ReadWriteOncePod" => "RWOP",
                                _ => "",
                            })
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .unwrap_or_default()
            } else {
                String::new()
            };
            let vac = spec["volumeAttributesClassName"]
                .as_str()
                .unwrap_or("<unset>")
                .to_string();
            let mode = spec["volumeMode"].as_str().unwrap_or("<unset>").to_string();
            vec![
                name,
                json!(phase),
                json!(s(&spec["volumeName"])),
                json!(cap),
                json!(modes),
                json!(s(&spec["storageClassName"])),
                json!(vac),
                a,
                json!(mode),
            ]
        }
        ("coordination.k8s.io", "Lease") => vec![name, json!(s(&spec["holderIdentity"])), a],
        _ => vec![name, o["metadata"]["creationTimestamp"].clone()],
    };
    (c, None)
}

/// `PartialObjectMetadata` of an object.
pub fn partial(o: &Value) -> Value {
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]})
}

/// The Table of `items`; `include` is `includeObject` (`Metadata` by default).
pub fn table(
    res: &Resource,
    items: Vec<Value>,
    include: Option<&str>,
    headers: bool,
    rev: &Value,
) -> Value {
    // Values are moved into place, never through `json!`, which would copy each one.
    let obj = super::http::object;
    let rows: Vec<Value> = items
        .into_iter()
        .map(|mut o| {
            let (c, conditions) = cells(res, &o);
            let object = match include {
                Some("None") => Value::Null,
                Some("Object") => o,
                _ => obj(vec![
                    ("kind", Value::from("PartialObjectMetadata")),
                    ("apiVersion", Value::from("meta.k8s.io/v1")),
                    ("metadata", o["metadata"].take()),
                ]),
            };
            let mut row = vec![("cells", Value::Array(c)), ("object", object)];
            if let Some(cd) = conditions {
                row.push(("conditions", cd));
            }
            obj(row)
        })
        .collect();
    let mut t = obj(vec![
        ("kind", Value::from("Table")),
        ("apiVersion", Value::from("meta.k8s.io/v1")),
        ("metadata", obj(vec![("resourceVersion", rev.clone())])),
        ("rows", Value::Array(rows)),
    ]);
    if headers {
        let defs: Vec<Value> = columns(res)
            .into_iter()
            .map(|(n, ty, f, p)| json!({"name": n, "type": ty, "format": f, "description": "", "priority": p}))
            .collect();
        t["columnDefinitions"] = json!(defs);
    } else {
        t["columnDefinitions"] = Value::Null;
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_kubectl_prints_them() {
        for (secs, want) in [
            (5, "5s"),
            (119, "119s"),
            (125, "2m5s"),
            (600, "10m"),
            (3 * 3600 + 120, "3h2m"),
            (10 * 3600, "10h"),
            (3 * 86400 + 3600, "3d1h"),
            (30 * 86400, "30d"),
            (800 * 86400, "2y70d"),
        ] {
            assert_eq!(human_duration(secs), want, "{secs}");
        }
    }

    #[test]
    fn pod_status_cell_follows_container_states() {
        let res = crate::resources::find("", "v1", "pods").expect("pods");
        let p = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}, {"name": "b"}]},
            "status": {"phase": "Running", "containerStatuses": [
                {"name": "a", "ready": true, "restartCount": 0, "state": {"running": {}}},
                {"name": "b", "ready": false, "restartCount": 2, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}});
        let t = table(res, vec![p], None, true, &json!("1"));
        let cells = &t["rows"][0]["cells"];
        assert_eq!(cells[1], "1/2");
        assert_eq!(cells[2], "CrashLoopBackOff");
        assert_eq!(cells[3], "2");
        assert_eq!(t["columnDefinitions"][5]["priority"], 1);
    }
}
