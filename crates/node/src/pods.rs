//! The pods bound to this node: made, restarted, stopped and reported.
//!
//! Each pass lists this node's pods and the engine's pod containers, and for each pod:
//! a terminating pod is stopped (its grace period) and removed from the API; a pod
//! without its pause container gets one (on the node's pod network); init containers
//! run one at a time to success; containers are made and started, and restarted per
//! `restartPolicy` after Kubernetes' back-off (10 s doubling to 5 min); the status is
//! written when it changed. Containers of pods the API no longer has are removed.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use cluster::api::client::ControlPlane;
use cluster::api::registry::ListOptions;
use engine::config::{ContainerStatus, NetworkMode};
use engine::lifecycle::Engine;
use engine::resolve::CreateRequest;
use engine::Record;
use serde_json::{json, Value};

use crate::spec::{self, LABEL_ATTEMPT, LABEL_CONTAINER, LABEL_POD_UID, POD_INFRA};
use crate::{res, Error, Options, Result};

/// The node's pod network (a bridge on the pod CIDR).
const POD_NETWORK: &str = "quai-pods";
/// The image of pause containers: an empty root, `quai-init -- --pause` as its process.
const PAUSE_IMAGE: &str = "quai.local/pause:1";

/// Back-off of a container's restarts.
#[derive(Debug, Clone, Copy)]
struct Backoff {
    delay_secs: i64,
    not_before: i64,
}

pub struct Pods {
    reg: Arc<dyn ControlPlane>,
    opts: Options,
    eng: Engine,
    backoff: HashMap<(String, String), Backoff>,
    /// Image pull errors by (pod uid, container): the message, how many pulls failed
    /// in a row, and when the next may be tried (Unix nanoseconds; kube's image back-off,
    /// 10 s doubling to 300 s).
    pull_errors: HashMap<(String, String), (String, u32, i64)>,
    /// Exited containers whose back-off was reported (one Event each).
    told_backoff: std::collections::HashSet<String>,
    /// The Services' routes on this node.
    services: crate::services::Proxy,
    /// Routes to the other nodes' pods.
    routes: crate::services::Routes,
    /// Probe tallies by (engine container id, probe kind).
    probes: HashMap<(String, &'static str), crate::probe::Tally>,
    /// Pods being stopped (each on a thread of its own, for its grace period).
    stopping: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn short(uid: &str) -> &str {
    &uid[..uid.len().min(8)]
}

fn ctr_name(pod: &Value, container: &str, attempt: u32) -> String {
    format!(
        "k8s_{container}_{}_{}_{}_{attempt}",
        s(&pod["metadata"]["name"]),
        s(&pod["metadata"]["namespace"]),
        short(&s(&pod["metadata"]["uid"]))
    )
}

fn running(r: &Record) -> bool {
    matches!(
        r.state.status,
        ContainerStatus::Running | ContainerStatus::Paused
    )
}

fn exited(r: &Record) -> bool {
    matches!(
        r.state.status,
        ContainerStatus::Exited | ContainerStatus::Dead
    )
}

fn attempt(r: &Record) -> u32 {
    r.config
        .labels
        .get(LABEL_ATTEMPT)
        .and_then(|a| a.parse().ok())
        .unwrap_or(0)
}

fn state_of(r: &Record) -> Value {
    let id = format!("quai://{}", r.id);
    if running(r) {
        json!({"running": {"startedAt": trim_time(&r.state.started_at)}})
    } else if exited(r) {
        let code = r.state.exit_code;
        let reason = if r.state.oom_killed {
            "OOMKilled"
        } else if code == 0 {
            "Completed"
        } else {
            "Error"
        };
        json!({"terminated": {"exitCode": code, "reason": reason, "startedAt": trim_time(&r.state.started_at),
                              "finishedAt": trim_time(&r.state.finished_at), "containerID": id}})
    } else {
        json!({"waiting": {"reason": "ContainerCreating"}})
    }
}

/// RFC 3339 with whole seconds, as the kubelet reports container times.
fn trim_time(t: &str) -> Value {
    match clock::parse_rfc3339(t) {
        Some(n) if n > 0 => json!(clock::rfc3339_secs(n)),
        _ => Value::Null,
    }
}

/// The gateway of network `name`: its recorded one, else its subnet's first address.
pub fn gateway(eng: &Engine, name: &str) -> Option<std::net::Ipv4Addr> {
    let n = eng.networks().ok()?.into_iter().find(|n| n.name == name)?;
    if let Ok(g) = n.gateway.parse() {
        return Some(g);
    }
    let base: std::net::Ipv4Addr = n.subnet.split('/').next()?.parse().ok()?;
    Some(std::net::Ipv4Addr::from(u32::from(base) + 1))
}

/// The engine's containers of container `cname` of pod `uid`, oldest attempt first.
pub fn attempts(eng: &mut Engine, uid: &str, cname: &str) -> Result<Vec<Record>> {
    let mut out: Vec<Record> = eng
        .list()?
        .into_iter()
        .filter(|r| {
            r.config.labels.get(LABEL_POD_UID).map(String::as_str) == Some(uid)
                && r.config.labels.get(LABEL_CONTAINER).map(String::as_str) == Some(cname)
        })
        .collect();
    out.sort_by_key(attempt);
    Ok(out)
}

/// Run the preStop hooks of a terminating pod's running containers, each within the
/// grace period.
fn pre_stop(eng: &mut Engine, containers: &Value, ctrs: &[Record], grace: i64) -> Vec<String> {
    let mut failed = Vec::new();
    if grace <= 0 {
        // A forced deletion runs no hooks.
        return failed;
    }
    let ip = ctrs
        .iter()
        .find(|r| r.config.labels.get(LABEL_CONTAINER).map(String::as_str) == Some(POD_INFRA))
        .map(|r| r.state.ip.clone())
        .unwrap_or_default();
    for c in containers.as_array().into_iter().flatten() {
        let hook = &c["lifecycle"]["preStop"];
        if !hook.is_object() {
            continue;
        }
        let name = s(&c["name"]);
        let Some(r) = ctrs
            .iter()
            .filter(|r| r.config.labels.get(LABEL_CONTAINER) == Some(&name))
            .max_by_key(|r| attempt(r))
            .filter(|r| running(r))
        else {
            continue;
        };
        let budget = std::time::Duration::from_secs(grace.max(1) as u64);
        if let Err(e) = crate::probe::action(eng, hook, c, &r.id, &ip, budget) {
            failed.push(format!("PreStopHook failed: container {name}: {e}"));
        }
    }
    failed
}

/// Stop and remove a pod's containers, the pause container last.
fn remove_all(eng: &mut Engine, ctrs: &[Record], grace: i64) {
    let (infra, rest): (Vec<&Record>, Vec<&Record>) = ctrs
        .iter()
        .partition(|r| r.config.labels.get(LABEL_CONTAINER).map(String::as_str) == Some(POD_INFRA));
    for r in rest.into_iter().chain(infra) {
        if running(r) {
            let _ = eng.stop(&r.id, Some(grace));
        }
        let _ = eng.remove(&r.id, true, false);
    }
}

impl Pods {
    pub fn new(reg: Arc<dyn ControlPlane>, opts: Options) -> Result<Pods> {
        let eng = Engine::open(&opts.root, &opts.run_dir)?;
        let mut p = Pods {
            reg,
            opts,
            eng,
            backoff: HashMap::new(),
            pull_errors: HashMap::new(),
            stopping: Arc::default(),
            probes: HashMap::new(),
            services: Default::default(),
            routes: Default::default(),
            told_backoff: Default::default(),
        };
        p.prepare()?;
        Ok(p)
    }

    /// The pods' gateway address (where this node's cluster DNS listens).
    pub fn gateway(&self) -> Result<std::net::Ipv4Addr> {
        gateway(&self.eng, POD_NETWORK)
            .ok_or_else(|| Error::Other(format!("network {POD_NETWORK} has no gateway")))
    }

    /// The pod network and the pause image, made once.
    fn prepare(&mut self) -> Result<()> {
        if !self.eng.networks()?.iter().any(|n| n.name == POD_NETWORK) {
            self.eng.network_create(engine::network::CreateArgs {
                name: POD_NETWORK,
                subnet: Some(&self.opts.pod_cidr),
                gateway: None,
                ip_range: None,
                internal: false,
                labels: BTreeMap::from([("io.quai.cluster".to_string(), "pods".to_string())]),
                options: BTreeMap::new(),
            })?;
        }
        if self.eng.image_resolve(PAUSE_IMAGE).is_err() {
            let mut b = tar::Builder::new(Vec::new());
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Directory);
            h.set_mode(0o755);
            h.set_size(0);
            h.set_uid(0);
            h.set_gid(0);
            h.set_mtime(0);
            b.append_data(&mut h, "sbin/", std::io::empty())
                .map_err(|e| Error::Other(format!("pause image: {e}")))?;
            let tar = b
                .into_inner()
                .map_err(|e| Error::Other(format!("pause image: {e}")))?;
            let name: image::reference::Reference = PAUSE_IMAGE
                .parse()
                .map_err(|e| Error::Other(format!("pause image name: {e}")))?;
            self.eng.image_import(
                tar.as_slice(),
                Some(&name),
                &[format!("CMD [\"{}\"]", engine::init::PAUSE)],
                Some("quai's pause image"),
            )?;
        }
        Ok(())
    }

    fn my_pods(&self) -> Result<Vec<Value>> {
        let pr = res("", "pods")?;
        let opts = ListOptions {
            fields: cluster::api::fields::FieldSelector::parse(
                &format!("spec.nodeName={}", self.opts.node_name),
                "Pod",
            )?,
            ..Default::default()
        };
        self.reg.list(pr, None, &opts).map_err(Into::into)
    }

    /// One pass.
    pub fn sync(&mut self) -> Result<()> {
        let pods = self.my_pods()?;
        let all = self.eng.list()?;
        let mut by_pod: HashMap<String, Vec<Record>> = HashMap::new();
        for r in all {
            if let Some(uid) = r.config.labels.get(LABEL_POD_UID) {
                by_pod.entry(uid.clone()).or_default().push(r);
            }
        }
        let live: Vec<String> = pods.iter().map(|p| s(&p["metadata"]["uid"])).collect();
        let ids: std::collections::HashSet<String> =
            by_pod.values().flatten().map(|r| r.id.clone()).collect();
        self.probes.retain(|(id, _), _| ids.contains(id));
        self.told_backoff.retain(|id| ids.contains(id));
        for pod in &pods {
            let uid = s(&pod["metadata"]["uid"]);
            let ctrs = by_pod.remove(&uid).unwrap_or_default();
            if let Err(e) = self.sync_pod(pod, ctrs) {
                eprintln!(
                    "quai cluster agent: pod {}/{}: {e}",
                    s(&pod["metadata"]["namespace"]),
                    s(&pod["metadata"]["name"])
                );
            }
        }
        if let Err(e) = self
            .routes
            .sync(&*self.reg, &self.eng, &self.opts.node_name)
        {
            eprintln!("quai cluster agent: routes: {e}");
        }
        if let Err(e) = self.services.sync(&*self.reg, &self.eng, POD_NETWORK) {
            eprintln!("quai cluster agent: services: {e}");
        }
        // Containers of pods that are gone.
        for (uid, ctrs) in by_pod {
            if !live.contains(&uid) {
                self.remove_all(&ctrs, 0);
                let _ = std::fs::remove_dir_all(self.pod_dir(&uid));
                self.backoff.retain(|(u, _), _| *u != uid);
            }
        }
        Ok(())
    }

    fn pod_dir(&self, uid: &str) -> PathBuf {
        self.opts.root.join("pods").join(uid)
    }

    fn remove_all(&mut self, ctrs: &[Record], grace: i64) {
        remove_all(&mut self.eng, ctrs, grace);
    }

    /// Stop a terminating pod on a thread of its own (its containers get their grace
    /// period; other pods go on meanwhile), then remove it from the API.
    fn terminate(&mut self, pod: &Value, ctrs: Vec<Record>) {
        let uid = s(&pod["metadata"]["uid"]);
        {
            let mut set = self
                .stopping
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if !set.insert(uid.clone()) {
                return;
            }
        }
        let grace = pod["metadata"]["deletionGracePeriodSeconds"]
            .as_i64()
            .unwrap_or(30);
        for c in pod["spec"]["containers"].as_array().into_iter().flatten() {
            self.event(
                pod,
                "Normal",
                "Killing",
                &format!("Stopping container {}", s(&c["name"])),
            );
        }
        let (ns, name) = (
            s(&pod["metadata"]["namespace"]),
            s(&pod["metadata"]["name"]),
        );
        let spec_containers = pod["spec"]["containers"].clone();
        let pod_obj = pod.clone();
        let (reg, opts, stopping, dir) = (
            self.reg.clone(),
            self.opts.clone(),
            self.stopping.clone(),
            self.pod_dir(&uid),
        );
        let spawned = std::thread::Builder::new()
            .name("quai-node-stop".into())
            .spawn(move || {
                if let Ok(mut eng) = Engine::open(&opts.root, &opts.run_dir) {
                    let t0 = std::time::Instant::now();
                    for msg in pre_stop(&mut eng, &spec_containers, &ctrs, grace) {
                        if let Ok(pr) = res("", "pods") {
                            cluster::controllers::event(
                                &*reg,
                                pr,
                                &pod_obj,
                                "Warning",
                                "FailedPreStopHook",
                                &msg,
                                "kubelet",
                                Some(&opts.node_name),
                            );
                        }
                    }
                    // The hooks spend the grace period; SIGTERM gets what is left (at
                    // least 2 s, as the kubelet gives).
                    let left =
                        (grace - t0.elapsed().as_secs() as i64).max(if grace > 0 { 2 } else { 0 });
                    remove_all(&mut eng, &ctrs, left);
                }
                let _ = std::fs::remove_dir_all(dir);
                if let Ok(pr) = res("", "pods") {
                    let _ = reg.remove(pr, Some(&ns), &name);
                }
                stopping
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .remove(&uid);
            });
        if spawned.is_err() {
            eprintln!(
                "quai cluster agent: no thread to stop pod {}",
                s(&pod["metadata"]["name"])
            );
        }
    }

    fn sync_pod(&mut self, pod: &Value, ctrs: Vec<Record>) -> Result<()> {
        let ns = s(&pod["metadata"]["namespace"]);
        let name = s(&pod["metadata"]["name"]);
        let uid = s(&pod["metadata"]["uid"]);
        if pod["metadata"]["deletionTimestamp"].is_string() {
            self.terminate(pod, ctrs);
            return Ok(());
        }
        let phase = s(&pod["status"]["phase"]);
        if phase == "Succeeded" || phase == "Failed" {
            // Finished: stop what still runs (the pause container), keep the logs.
            for r in ctrs.iter().filter(|r| running(r)) {
                let _ = self.eng.stop(&r.id, Some(0));
            }
            return Ok(());
        }
        let latest = |c: &str| -> Option<&Record> {
            ctrs.iter()
                .filter(|r| r.config.labels.get(LABEL_CONTAINER).map(String::as_str) == Some(c))
                .max_by_key(|r| attempt(r))
        };
        // The pause container.
        let infra = match latest(POD_INFRA) {
            Some(r) if running(r) => r.clone(),
            Some(r) => {
                // Its namespaces are gone: the pod starts again from scratch.
                let rid = r.id.clone();
                let _ = self.eng.remove(&rid, true, false);
                return Ok(());
            }
            None => {
                let mut req = CreateRequest {
                    name: Some(ctr_name(pod, POD_INFRA, 0)),
                    image: PAUSE_IMAGE.to_string(),
                    hostname: Some(name.chars().take(63).collect()),
                    ..Default::default()
                };
                req.config.init = true;
                req.config.network_mode = NetworkMode::Network(POD_NETWORK.to_string());
                req.config.network_mode_given = POD_NETWORK.to_string();
                req.config.ipc_mode = "shareable".to_string();
                match pod["spec"]["dnsPolicy"].as_str().unwrap_or("ClusterFirst") {
                    "ClusterFirst" | "ClusterFirstWithHostNet" => {
                        let (base, _) = self.reg.service_cidr();
                        req.config.dns = vec![std::net::Ipv4Addr::from(base + 10).to_string()];
                        req.config.dns_search = vec![
                            format!("{ns}.svc.cluster.local"),
                            "svc.cluster.local".to_string(),
                            "cluster.local".to_string(),
                        ];
                        req.config.dns_options = vec!["ndots:5".to_string()];
                    }
                    "None" => {
                        let dc = &pod["spec"]["dnsConfig"];
                        let list = |k: &str| -> Vec<String> {
                            dc[k]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .filter_map(|x| x.as_str().map(str::to_string))
                                .collect()
                        };
                        req.config.dns = list("nameservers");
                        req.config.dns_search = list("searches");
                        req.config.dns_options = dc["options"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|o| {
                                o["name"].as_str().map(|n| match o["value"].as_str() {
                                    Some(v) => format!("{n}:{v}"),
                                    None => n.to_string(),
                                })
                            })
                            .collect();
                    }
                    _ => {}
                }
                for (k, v) in [
                    (LABEL_POD_UID, uid.clone()),
                    (LABEL_CONTAINER, POD_INFRA.to_string()),
                    (spec::LABEL_POD_NAME, name.clone()),
                    (spec::LABEL_POD_NS, ns.clone()),
                ] {
                    req.config.labels.insert(k.to_string(), v);
                }
                let rec = self.eng.create(req)?;
                let (rec, _) = self.eng.start(&rec.id, "")?;
                rec
            }
        };
        let pod_ip = infra.state.ip.clone();
        let vols = spec::volumes(&*self.reg, pod, &self.pod_dir(&uid).join("volumes"));
        let policy = s(&pod["spec"]["restartPolicy"]);
        let now = clock::now_nanos();
        let mut statuses = Vec::new();
        let mut init_statuses = Vec::new();
        let mut initialized = true;
        let mut failed_for_good = false;
        let mut start_error: Option<String> = None;
        let inits = pod["spec"]["initContainers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for c in &inits {
            let cname = s(&c["name"]);
            let cur = latest(&cname).cloned();
            let done = cur
                .as_ref()
                .is_some_and(|r| exited(r) && r.state.exit_code == 0);
            if done {
                init_statuses.push(self.status_of(pod, c, cur.as_ref(), &ctrs, true, ""));
                continue;
            }
            initialized = false;
            let mut tried = false;
            match &cur {
                Some(r) if running(r) => {}
                Some(r) if exited(r) => {
                    if policy == "Never" {
                        failed_for_good = true;
                    } else if self.may_restart(&uid, &cname, now) {
                        tried = true;
                        self.start_container(pod, c, (&infra.id, &pod_ip), attempt(r) + 1, &vols)?;
                    }
                }
                _ => {
                    tried = true;
                    if let Err(e) = self.start_container(pod, c, (&infra.id, &pod_ip), 0, &vols) {
                        start_error = Some(e.to_string());
                    }
                }
            }
            // Only a start changes what the engine has for this container.
            let cur = if tried {
                self.newest(&uid, &cname)?
            } else {
                cur
            };
            init_statuses.push(self.status_of(pod, c, cur.as_ref(), &ctrs, false, ""));
            break;
        }
        for c in inits.iter().skip(init_statuses.len()) {
            init_statuses.push(json!({"name": c["name"], "image": c["image"], "imageID": "", "ready": false,
                "restartCount": 0, "started": false, "state": {"waiting": {"reason": "PodInitializing"}}}));
        }
        let containers = pod["spec"]["containers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for c in &containers {
            let cname = s(&c["name"]);
            let cur = latest(&cname).cloned();
            let mut tried = false;
            if initialized && !failed_for_good {
                match &cur {
                    None if self
                        .pull_errors
                        .get(&(uid.clone(), cname.clone()))
                        .is_some_and(|p| now < p.2) => {}
                    None => {
                        tried = true;
                        if let Err(e) = self.start_container(pod, c, (&infra.id, &pod_ip), 0, &vols)
                        {
                            start_error = Some(e.to_string());
                        }
                    }
                    Some(r) if exited(r) => {
                        let again =
                            policy == "Always" || (policy == "OnFailure" && r.state.exit_code != 0);
                        if again && self.may_restart(&uid, &cname, now) {
                            tried = true;
                            if let Err(e) = self.start_container(
                                pod,
                                c,
                                (&infra.id, &pod_ip),
                                attempt(r) + 1,
                                &vols,
                            ) {
                                start_error = Some(e.to_string());
                            }
                        }
                    }
                    _ => {}
                }
            }
            let cur = if tried {
                self.newest(&uid, &cname)?
            } else {
                cur
            };
            let mut st = self.status_of(pod, c, cur.as_ref(), &ctrs, initialized, &pod_ip);
            if cur.is_none() {
                if let Some(e) = &start_error {
                    st["state"] =
                        json!({"waiting": {"reason": "CreateContainerConfigError", "message": e}});
                }
                if let Some((e, _, _)) = self.pull_errors.get(&(uid.clone(), cname.clone())) {
                    st["state"] = if tried {
                        json!({"waiting": {"reason": "ErrImagePull", "message": e}})
                    } else {
                        json!({"waiting": {"reason": "ImagePullBackOff", "message":
                            format!("Back-off pulling image {}: ErrImagePull: {e}", c["image"])}})
                    };
                }
            }
            statuses.push(st);
        }
        self.write_status(
            pod,
            &pod_ip,
            &statuses,
            &init_statuses,
            initialized,
            failed_for_good,
            &infra,
        )
    }

    /// An Event about `pod` from this node's kubelet.
    fn event(&self, pod: &Value, kind: &str, reason: &str, message: &str) {
        if let Ok(pr) = res("", "pods") {
            cluster::controllers::event(
                &*self.reg,
                pr,
                pod,
                kind,
                reason,
                message,
                "kubelet",
                Some(&self.opts.node_name),
            );
        }
    }

    /// The newest attempt of container `cname` of pod `uid`, as the engine has it now.
    fn newest(&mut self, uid: &str, cname: &str) -> Result<Option<Record>> {
        Ok(attempts(&mut self.eng, uid, cname)?.pop())
    }

    fn may_restart(&mut self, uid: &str, cname: &str, now: i64) -> bool {
        let key = (uid.to_string(), cname.to_string());
        let b = self.backoff.entry(key).or_insert(Backoff {
            delay_secs: 0,
            not_before: 0,
        });
        if now < b.not_before {
            return false;
        }
        b.delay_secs = if b.delay_secs == 0 {
            10
        } else {
            (b.delay_secs * 2).min(300)
        };
        b.not_before = now + b.delay_secs * 1_000_000_000;
        true
    }

    fn start_container(
        &mut self,
        pod: &Value,
        c: &Value,
        (infra, ip): (&str, &str),
        attempt: u32,
        vols: &std::result::Result<BTreeMap<String, PathBuf>, Error>,
    ) -> Result<()> {
        let vols = match vols {
            Ok(v) => v,
            Err(e) => return Err(Error::Other(e.to_string())),
        };
        let uid = s(&pod["metadata"]["uid"]);
        let cname = s(&c["name"]);
        let image = s(&c["image"]);
        let policy = c["imagePullPolicy"].as_str().unwrap_or("IfNotPresent");
        let present = self.eng.image_resolve(&image).is_ok();
        if policy == "Always" || (!present && policy != "Never") {
            self.event(
                pod,
                "Normal",
                "Pulling",
                &format!("Pulling image \"{image}\""),
            );
            let t0 = std::time::Instant::now();
            let pulled = self.pull(pod, &image);
            if pulled.is_ok() {
                self.event(
                    pod,
                    "Normal",
                    "Pulled",
                    &format!(
                        "Successfully pulled image \"{image}\" in {}ms",
                        t0.elapsed().as_millis()
                    ),
                );
            }
            if let Err(e) = pulled {
                if !present {
                    let msg = format!("Failed to pull image \"{image}\": {e}");
                    self.event(pod, "Warning", "Failed", &msg);
                    let n = self
                        .pull_errors
                        .get(&(uid.clone(), cname.clone()))
                        .map_or(0, |p| p.1);
                    let delay = (10_i64 << n.min(5)).min(300) * 1_000_000_000;
                    self.pull_errors.insert(
                        (uid, cname),
                        (msg.clone(), n + 1, clock::now_nanos() + delay),
                    );
                    return Err(Error::Other(msg));
                }
            }
        } else if !present {
            let msg =
                format!("Container image \"{image}\" is not present with pull policy of Never");
            self.pull_errors.insert((uid, cname), (msg.clone(), 0, 0));
            return Err(Error::Other(msg));
        }
        self.pull_errors.remove(&(uid, cname.clone()));
        // Keep the previous attempt (for `logs --previous`), remove older ones.
        let req = spec::container_request(
            &*self.reg,
            pod,
            c,
            infra,
            &ctr_name(pod, &cname, attempt),
            attempt,
            vols,
        )?;
        let rec = self.eng.create(req)?;
        self.event(
            pod,
            "Normal",
            "Created",
            &format!("Created container {cname}"),
        );
        self.eng.start(&rec.id, "")?;
        self.event(
            pod,
            "Normal",
            "Started",
            &format!("Started container {cname}"),
        );
        let hook = &c["lifecycle"]["postStart"];
        if hook.is_object() {
            // The kubelet waits for postStart; one that fails kills the container, and
            // its restart policy takes over.
            let grace = pod["spec"]["terminationGracePeriodSeconds"]
                .as_u64()
                .unwrap_or(30)
                .max(1);
            let ran = crate::probe::action(
                &mut self.eng,
                hook,
                c,
                &rec.id,
                ip,
                std::time::Duration::from_secs(grace),
            );
            if let Err(e) = ran {
                self.event(
                    pod,
                    "Warning",
                    "FailedPostStartHook",
                    &format!("PostStartHook failed: {e}"),
                );
                let _ = self.eng.stop(&rec.id, Some(0));
            }
        }
        if attempt >= 2 {
            let _ = self
                .eng
                .remove(&ctr_name(pod, &cname, attempt - 2), true, false);
        }
        Ok(())
    }

    /// Pull `image_ref` for `pod`: with each of its pull secrets' credentials for the
    /// registry in turn, as the kubelet tries them, else with the node's own.
    fn pull(&mut self, pod: &Value, image_ref: &str) -> Result<()> {
        let r: image::reference::Reference = image_ref
            .parse()
            .map_err(|e| Error::Other(format!("invalid image reference {image_ref:?}: {e}")))?;
        let platform: engine::images::Platform = "".parse().unwrap_or_default();
        let mut tries: Vec<registry::auth::Credentials> =
            spec::pull_credentials(&*self.reg, pod, &r.domain)
                .into_iter()
                .map(|(username, password)| registry::auth::Credentials::Basic {
                    username,
                    password,
                })
                .collect();
        if tries.is_empty() {
            tries.push(registry::auth::Credentials::Config);
        }
        let mut last = None;
        for credentials in tries {
            let opts = engine::images::RegistryOptions {
                credentials,
                ..Default::default()
            };
            let progress = engine::images::Progress {
                event: &|_| {},
                bytes: None,
            };
            match self.eng.image_pull(&r, &platform, opts, progress) {
                Ok(_) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        Err(last.map_or_else(|| Error::Other("no pull attempted".into()), Error::from))
    }

    /// Run the container's due probes: whether it has started and is ready. A failed
    /// startup or liveness probe kills it (its restart policy takes over).
    fn probe(&mut self, pod: &Value, c: &Value, r: &Record, ip: &str) -> (bool, bool) {
        if !running(r) {
            return (false, false);
        }
        let now = clock::now_nanos();
        let since = clock::parse_rfc3339(&r.state.started_at).unwrap_or(now);
        let mut kill = false;
        let mut started = true;
        for kind in ["startupProbe", "livenessProbe", "readinessProbe"] {
            let p = &c[kind];
            if !p.is_object() {
                continue;
            }
            let key = (r.id.clone(), kind);
            let mut t = self.probes.remove(&key).unwrap_or_default();
            if kind == "startupProbe" && t.ok == Some(true) {
                self.probes.insert(key, t);
                continue;
            }
            if kind != "startupProbe" && !started {
                self.probes.insert(key, t);
                continue;
            }
            let before = t.failures;
            let ran = crate::probe::run(&mut self.eng, &mut t, p, c, &r.id, ip, since, now);
            if ran && t.failures > before {
                let what = match kind {
                    "startupProbe" => "Startup",
                    "livenessProbe" => "Liveness",
                    _ => "Readiness",
                };
                self.event(
                    pod,
                    "Warning",
                    "Unhealthy",
                    &format!("{what} probe failed: {}", t.why),
                );
            }
            let verdict = t.ok;
            self.probes.insert(key, t);
            match (kind, verdict) {
                ("startupProbe", Some(false)) | ("livenessProbe", Some(false)) => kill = true,
                ("startupProbe", None) => started = false,
                _ => {}
            }
        }
        if kill {
            let _ = self.eng.kill(&r.id, "KILL");
            return (false, false);
        }
        let ready = if c["readinessProbe"].is_object() {
            started
                && self
                    .probes
                    .get(&(r.id.clone(), "readinessProbe"))
                    .is_some_and(|t| t.ok == Some(true))
        } else {
            started
        };
        (started, ready)
    }

    /// A containerStatuses entry.
    #[allow(clippy::too_many_arguments)]
    fn status_of(
        &mut self,
        pod: &Value,
        c: &Value,
        cur: Option<&Record>,
        before: &[Record],
        started_ok: bool,
        ip: &str,
    ) -> Value {
        let cname = s(&c["name"]);
        let Some(r) = cur else {
            let reason = if started_ok {
                "ContainerCreating"
            } else {
                "PodInitializing"
            };
            return json!({"name": cname, "image": c["image"], "imageID": "", "ready": false,
                          "restartCount": 0, "started": false, "state": {"waiting": {"reason": reason}}});
        };
        let restarts = attempt(r);
        let mut state = state_of(r);
        let uid = s(&pod["metadata"]["uid"]);
        let waiting_restart = exited(r)
            && self
                .backoff
                .get(&(uid, cname.clone()))
                .is_some_and(|b| clock::now_nanos() < b.not_before);
        let last = if restarts > 0 {
            before
                .iter()
                .chain(std::iter::once(r))
                .filter(|x| {
                    x.config.labels.get(LABEL_CONTAINER) == Some(&cname)
                        && attempt(x) + 1 == restarts
                })
                .map(state_of)
                .next()
                .unwrap_or_else(|| json!({}))
        } else {
            json!({})
        };
        let (state, last) = if waiting_restart {
            let msg = format!(
                "back-off restarting failed container {cname} in pod {}_{}({})",
                s(&pod["metadata"]["name"]),
                s(&pod["metadata"]["namespace"]),
                s(&pod["metadata"]["uid"])
            );
            if self.told_backoff.insert(r.id.clone()) {
                self.event(pod, "Warning", "BackOff", &format!("B{}", &msg[1..]));
            }
            (
                json!({"waiting": {"reason": "CrashLoopBackOff", "message": msg}}),
                std::mem::take(&mut state),
            )
        } else {
            (state, last)
        };
        let image_id = self
            .eng
            .image_resolve(&r.config.image)
            .ok()
            .and_then(|d| {
                self.eng
                    .image_repo_digests(&d)
                    .ok()
                    .and_then(|v| v.into_iter().next())
                    .or(Some(d.to_string()))
            })
            .unwrap_or_default();
        let (started, ready) = self.probe(pod, c, r, ip);
        json!({"name": cname, "image": c["image"], "imageID": image_id,
               "containerID": format!("quai://{}", r.id), "ready": ready, "started": started,
               "restartCount": restarts, "state": state, "lastState": last})
    }

    #[allow(clippy::too_many_arguments)]
    fn write_status(
        &mut self,
        pod: &Value,
        pod_ip: &str,
        statuses: &[Value],
        init_statuses: &[Value],
        initialized: bool,
        failed_for_good: bool,
        infra: &Record,
    ) -> Result<()> {
        let pr = res("", "pods")?;
        let old = &pod["status"];
        let all_ready =
            !statuses.is_empty() && statuses.iter().all(|c| c["ready"] == Value::Bool(true));
        let all_done = !statuses.is_empty()
            && statuses
                .iter()
                .all(|c| c["state"]["terminated"].is_object());
        let any_failed = statuses.iter().any(|c| {
            c["state"]["terminated"]["exitCode"]
                .as_i64()
                .is_some_and(|x| x != 0)
        });
        let policy = s(&pod["spec"]["restartPolicy"]);
        let phase = if failed_for_good {
            "Failed"
        } else if all_done && policy != "Always" && (policy == "Never" || !any_failed) {
            if any_failed {
                "Failed"
            } else {
                "Succeeded"
            }
        } else if initialized
            && statuses.iter().any(|c| {
                c["state"]["running"].is_object()
                    || c["state"]["terminated"].is_object()
                    || c["restartCount"].as_i64().unwrap_or(0) > 0
            })
        {
            "Running"
        } else {
            "Pending"
        };
        let now = clock::now_rfc3339_secs();
        let cond = |t: &str, ok: bool, reason: Option<&str>| {
            let status = if ok { "True" } else { "False" };
            let prev = old["conditions"]
                .as_array()
                .and_then(|a| a.iter().find(|c| c["type"] == t));
            let since = match prev {
                Some(p) if p["status"] == status => p["lastTransitionTime"].clone(),
                _ => json!(now),
            };
            let mut c = json!({"type": t, "status": status, "lastProbeTime": null, "lastTransitionTime": since});
            if let Some(r) = reason.filter(|_| !ok) {
                c["reason"] = json!(r);
            }
            c
        };
        let done = phase == "Succeeded" || phase == "Failed";
        let ready = all_ready && !done;
        let reason = if done {
            Some("PodCompleted")
        } else {
            Some("ContainersNotReady")
        };
        let conditions = vec![
            cond("PodReadyToStartContainers", running(infra) || done, None),
            cond(
                "Initialized",
                initialized,
                Some(if done {
                    "PodCompleted"
                } else {
                    "ContainersNotInitialized"
                }),
            ),
            cond("Ready", ready, reason),
            cond("ContainersReady", ready, reason),
            cond("PodScheduled", true, None),
        ];
        let host_ip = crate::host_ip();
        let mut st = json!({
            "phase": phase, "conditions": conditions, "hostIP": host_ip, "hostIPs": [{"ip": host_ip}],
            "qosClass": old["qosClass"], "containerStatuses": statuses,
            "startTime": old["startTime"].as_str().map_or_else(|| json!(now), |t| json!(t)),
        });
        if !pod_ip.is_empty() {
            st["podIP"] = json!(pod_ip);
            st["podIPs"] = json!([{"ip": pod_ip}]);
        }
        if !init_statuses.is_empty() {
            st["initContainerStatuses"] = json!(init_statuses);
        }
        cluster::api::registry::prune_nulls(&mut st);
        let mut cmp_old = old.clone();
        cluster::api::registry::prune_nulls(&mut cmp_old);
        if cmp_old == st {
            return Ok(());
        }
        let mut new = pod.clone();
        new["status"] = st;
        let ns = s(&pod["metadata"]["namespace"]);
        match self.reg.update(
            pr,
            Some(&ns),
            &s(&pod["metadata"]["name"]),
            new,
            Some("status"),
        ) {
            Ok(_) => Ok(()),
            Err(e) if e.code == 404 || e.code == 409 => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
