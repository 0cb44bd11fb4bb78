//! quai cluster's node agent (the kubelet's job): registers this machine as a Node
//! (capacity, addresses, system info, the pod CIDR), renews its Lease every ten seconds,
//! and runs the pods bound to it through the engine library: a pause container holding
//! each pod's network and IPC namespaces, init containers in order, then the containers,
//! restarted per `restartPolicy` with Kubernetes' back-off, and the pod's status written
//! back as the kubelet reports it. It talks to the control plane through the registry
//! in process (the agent of `quai cluster server`); it never spawns `quai`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cluster::api::client::ControlPlane;
use cluster::api::ApiError;
use serde_json::{json, Value};

mod dns;
mod grpc;
mod pods;
mod probe;
pub mod remote;
mod services;
mod spec;

/// How the agent runs.
#[derive(Debug, Clone)]
pub struct Options {
    pub node_name: String,
    /// The engine's root and run directory.
    pub root: PathBuf,
    pub run_dir: PathBuf,
    /// This node's pod range (`10.42.0.0/24`); empty: the one the control plane gives.
    pub pod_cidr: String,
    /// Whether this node also runs the control plane (its role label).
    pub control_plane: bool,
    /// The node's address other nodes reach it at (default: the one the kernel would
    /// use to reach outside).
    pub node_ip: Option<String>,
    /// Serve the kubelet API (pods' logs and exec for the API server) on the node's
    /// address, answering this token: for an agent on another machine than the API
    /// server's.
    pub kubelet_token: Option<String>,
    /// The SHA-256 of the kubelet API's certificate, once serving (the Node names it).
    pub serving_cert_sha256: Option<String>,
}

/// An agent failure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("engine: {0}")]
    Engine(#[from] engine::Error),
    #[error("API: {0}")]
    Api(#[from] ApiError),
    #[error("{0}")]
    Other(String),
}

pub type Result<T> = std::result::Result<T, Error>;

/// How often the lease is renewed (well inside the shortest grace period a control
/// plane may give: the lifecycle controller's is 40 s by default).
const LEASE_EVERY: Duration = Duration::from_secs(2);

fn res(group: &str, plural: &str) -> Result<&'static cluster::resources::Resource> {
    cluster::resources::find(group, "v1", plural)
        .ok_or_else(|| Error::Other(format!("no resource {plural}")))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// This machine's first IPv4 address that is not loopback (the node's InternalIP).
fn host_ip() -> String {
    // The address the kernel would use to reach the outside, else loopback.
    std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| {
            s.connect("10.255.255.255:9")?;
            s.local_addr()
        })
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|_| "127.0.0.1".to_string())
}

fn os_image() -> String {
    read("/etc/os-release")
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_else(|| "Linux".to_string())
}

fn memory_kib() -> u64 {
    read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The Node object's status as this agent reports it.
pub fn node_status(opts: &Options, now: &str) -> Value {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mem = format!("{}Ki", memory_kib());
    let ip = opts.node_ip.clone().unwrap_or_else(host_ip);
    let cond = |t: &str, status: &str, reason: &str, message: &str| {
        json!({"type": t, "status": status, "lastHeartbeatTime": now,
               "lastTransitionTime": now, "reason": reason, "message": message})
    };
    json!({
        "capacity": {"cpu": cpus.to_string(), "memory": mem, "pods": "110", "ephemeral-storage": "0"},
        "allocatable": {"cpu": cpus.to_string(), "memory": mem, "pods": "110"},
        "conditions": [
            cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            cond("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
        ],
        "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": opts.node_name}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": {
            "machineID": read("/etc/machine-id").trim(),
            "systemUUID": read("/sys/class/dmi/id/product_uuid").trim(),
            "bootID": read("/proc/sys/kernel/random/boot_id").trim(),
            "kernelVersion": read("/proc/sys/kernel/osrelease").trim(),
            "osImage": os_image(),
            "containerRuntimeVersion": concat!("quai://", env!("CARGO_PKG_VERSION")),
            "kubeletVersion": "v1.32.0+quai",
            "kubeProxyVersion": "",
            "operatingSystem": "linux",
            "architecture": "amd64",
        },
    })
}

/// Make or refresh this node's object (and its status) in the registry.
pub fn register(reg: &dyn ControlPlane, opts: &Options) -> Result<()> {
    let nr = res("", "nodes")?;
    let now = clock::now_rfc3339_secs();
    let mut labels = json!({
        "kubernetes.io/hostname": opts.node_name, "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64",
    });
    if opts.control_plane {
        labels["node-role.kubernetes.io/control-plane"] = json!("true");
    }
    let pin = opts
        .serving_cert_sha256
        .as_ref()
        .map(|p| json!({cluster::api::kubelet::CERT_ANNOTATION: p}));
    let node = match reg.get(nr, None, &opts.node_name) {
        Ok(mut n) => {
            if let Some(p) = &opts.serving_cert_sha256 {
                n["metadata"]["annotations"][cluster::api::kubelet::CERT_ANNOTATION] = json!(p);
            }
            if let Some(l) = labels.as_object() {
                for (k, v) in l {
                    n["metadata"]["labels"][k] = v.clone();
                }
            }
            if !opts.pod_cidr.is_empty() {
                n["spec"]["podCIDR"] = json!(opts.pod_cidr);
                n["spec"]["podCIDRs"] = json!([opts.pod_cidr]);
            }
            reg.update(nr, None, &opts.node_name, n, None)?
        }
        Err(e) if e.code == 404 => reg.create(nr, None, {
            let mut n = json!({"metadata": {"name": opts.node_name, "labels": labels}, "spec": {}});
            if !opts.pod_cidr.is_empty() {
                n["spec"] = json!({"podCIDR": opts.pod_cidr, "podCIDRs": [opts.pod_cidr]});
            }
            if let Some(p) = pin {
                n["metadata"]["annotations"] = p;
            }
            n
        })?,
        Err(e) => return Err(e.into()),
    };
    let mut n = node;
    n["status"] = node_status(opts, &now);
    reg.update(nr, None, &opts.node_name, n, Some("status"))?;
    renew_lease(reg, opts)?;
    Ok(())
}

/// Renew (or make) the node's Lease in `kube-node-lease`.
pub fn renew_lease(reg: &dyn ControlPlane, opts: &Options) -> Result<()> {
    let lr = cluster::resources::find("coordination.k8s.io", "v1", "leases")
        .ok_or_else(|| Error::Other("no leases".into()))?;
    let now = clock::rfc3339_nanos(clock::now_nanos());
    let now = format!("{}Z", &now[..now.len().saturating_sub(4)]);
    match reg.get(lr, Some("kube-node-lease"), &opts.node_name) {
        Ok(mut l) => {
            l["spec"]["renewTime"] = json!(now);
            reg.update(lr, Some("kube-node-lease"), &opts.node_name, l, None)?;
        }
        Err(e) if e.code == 404 => {
            reg.create(
                lr,
                Some("kube-node-lease"),
                json!({"metadata": {"name": opts.node_name},
                       "spec": {"holderIdentity": opts.node_name, "leaseDurationSeconds": 40, "renewTime": now}}))?;
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// Start the agent's threads (the lease and node status, and the pods); what it
/// answers the API server for its pods.
pub fn spawn(reg: Arc<dyn ControlPlane>, mut opts: Options) -> Result<Arc<Proxy>> {
    let proxy = Arc::new(Proxy { opts: opts.clone() });
    if let Some(token) = opts.kubelet_token.clone() {
        let ip = opts.node_ip.clone().unwrap_or_else(host_ip);
        let addr: std::net::IpAddr = ip
            .parse()
            .map_err(|_| Error::Other(format!("the node's address {ip:?} is not an IP address")))?;
        let listen = std::net::SocketAddr::new(addr, cluster::api::kubelet::PORT);
        match cluster::api::kubelet::serve(
            listen,
            vec![ip.clone(), opts.node_name.clone()],
            token,
            proxy.clone(),
            reg.clone(),
        ) {
            Ok(pin) => opts.serving_cert_sha256 = Some(pin),
            // A server's own agent runs on without it: its server reaches it in process.
            Err(e) if opts.control_plane => {
                eprintln!("quai cluster agent: the kubelet API is not served: {e}");
            }
            Err(e) => return Err(Error::Other(e)),
        }
    }
    register(&*reg, &opts)?;
    let (r1, o1) = (reg.clone(), opts.clone());
    std::thread::Builder::new()
        .name("quai-node-lease".into())
        .spawn(move || loop {
            std::thread::sleep(LEASE_EVERY);
            if let Err(e) = renew_lease(&*r1, &o1) {
                eprintln!("quai cluster agent: lease: {e}");
            }
        })
        .map_err(|e| Error::Other(format!("start the lease thread: {e}")))?;
    if opts.pod_cidr.is_empty() && opts.control_plane {
        // A server's own node waiting for node IPAM, which that server's controllers
        // (or the leader's) run once this returns: it starts its pods on a thread.
        std::thread::Builder::new()
            .name("quai-node-start".into())
            .spawn(move || {
                let started = wait_for_range(&*reg, &mut opts, Duration::from_secs(300))
                    .and_then(|()| run_pods(reg, opts));
                if let Err(e) = started {
                    eprintln!("quai cluster agent: {e}");
                }
            })
            .map_err(|e| Error::Other(format!("start the node: {e}")))?;
    } else {
        wait_for_range(&*reg, &mut opts, Duration::from_secs(30))?;
        run_pods(reg, opts)?;
    }
    Ok(proxy)
}

/// Wait (at most `limit`) for the control plane to give the node its pod range, unless
/// it has one.
fn wait_for_range(reg: &dyn ControlPlane, opts: &mut Options, limit: Duration) -> Result<()> {
    if !opts.pod_cidr.is_empty() {
        return Ok(());
    }
    let nr = res("", "nodes")?;
    let end = Instant::now() + limit;
    loop {
        let n = reg.get(nr, None, &opts.node_name)?;
        if let Some(c) = n["spec"]["podCIDR"].as_str().filter(|c| !c.is_empty()) {
            opts.pod_cidr = c.to_string();
            return Ok(());
        }
        if Instant::now() > end {
            return Err(Error::Other(format!(
                "node {} got no pod range from the control plane in {} s (give --pod-cidr)",
                opts.node_name,
                limit.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The node's pods, cluster DNS and Services, on threads of their own.
fn run_pods(reg: Arc<dyn ControlPlane>, opts: Options) -> Result<()> {
    let mut agent = pods::Pods::new(reg.clone(), opts)?;
    let gw = agent.gateway()?;
    dns::spawn(reg.clone(), std::net::SocketAddr::from((gw, dns::PORT)))?;
    std::thread::Builder::new()
        .name("quai-node-pods".into())
        .spawn(move || {
            let mut last = -1;
            let mut at = Instant::now();
            loop {
                let rev = reg.revision().unwrap_or(0);
                if rev != last || at.elapsed() >= Duration::from_secs(1) {
                    last = rev;
                    at = Instant::now();
                    if let Err(e) = agent.sync() {
                        eprintln!("quai cluster agent: pods: {e}");
                    }
                }
                std::thread::sleep(reg.poll_interval());
            }
        })
        .map_err(|e| Error::Other(format!("start the pod thread: {e}")))?;
    Ok(())
}

/// The agent's answers to the API server for its pods (`pods/log`).
pub struct Proxy {
    opts: Options,
}

impl Proxy {
    /// Only this node's pods are answered here.
    fn on_this_node(&self, pod: &Value) -> std::result::Result<(), String> {
        match pod["spec"]["nodeName"].as_str() {
            Some(n) if n == self.opts.node_name => Ok(()),
            Some(n) => Err(format!(
                "pod {} runs on node {n}, not on this one",
                pod["metadata"]["name"].as_str().unwrap_or_default()
            )),
            None => Err(format!(
                "pod {} is not scheduled yet",
                pod["metadata"]["name"].as_str().unwrap_or_default()
            )),
        }
    }

    /// The engine and the newest attempt of container `name` of this node's `pod`, for
    /// an exec or attach.
    fn target(
        &self,
        pod: &Value,
        name: &str,
    ) -> std::result::Result<(engine::lifecycle::Engine, engine::Record), String> {
        self.on_this_node(pod)?;
        let mut eng = engine::lifecycle::Engine::open(&self.opts.root, &self.opts.run_dir)
            .map_err(|e| e.to_string())?;
        let target = self.container(&mut eng, pod, name)?.pop().ok_or_else(|| {
            format!("unable to upgrade connection: container not found (\"{name}\")")
        })?;
        Ok((eng, target))
    }

    /// The attempts of container `name` in `pod`, oldest first.
    fn container(
        &self,
        eng: &mut engine::lifecycle::Engine,
        pod: &Value,
        name: &str,
    ) -> std::result::Result<Vec<engine::Record>, String> {
        let uid = pod["metadata"]["uid"].as_str().unwrap_or_default();
        pods::attempts(eng, uid, name).map_err(|e| e.to_string())
    }
}

impl cluster::api::node_proxy::NodeProxy for Proxy {
    fn node_name(&self) -> Option<String> {
        Some(self.opts.node_name.clone())
    }

    fn port_forward(
        &self,
        pod: &Value,
        port: u16,
    ) -> std::result::Result<std::net::TcpStream, String> {
        self.on_this_node(pod)?;
        let mut eng = engine::lifecycle::Engine::open(&self.opts.root, &self.opts.run_dir)
            .map_err(|e| e.to_string())?;
        let pid = self
            .container(&mut eng, pod, spec::POD_INFRA)?
            .into_iter()
            .rev()
            .find(|r| r.state.pid > 0)
            .map(|r| r.state.pid)
            .ok_or_else(|| "the pod's sandbox is not running".to_string())?;
        // Dialled from a thread that enters the pod's network namespace, so a port bound
        // to the pod's loopback is reached too; the socket stays in that namespace.
        let ns = std::fs::File::open(format!("/proc/{pid}/ns/net"))
            .map_err(|e| format!("the pod's network namespace: {e}"))?;
        std::thread::Builder::new()
            .name("quai-port-forward".into())
            .spawn(move || {
                nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNET)
                    .map_err(|e| format!("enter the pod's network namespace: {e}"))?;
                let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
                std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(|e| {
                    format!("failed to connect to localhost:{port} inside namespace {pid}: {e}")
                })
            })
            .map_err(|e| e.to_string())?
            .join()
            .map_err(|_| "the port-forward thread panicked".to_string())?
    }

    fn exec(
        &self,
        pod: &Value,
        req: &cluster::api::node_proxy::ExecRequest,
    ) -> std::result::Result<cluster::api::node_proxy::ExecSession, String> {
        use std::os::fd::OwnedFd;
        let (mut eng, target) = self.target(pod, &req.container)?;
        let null = || -> std::result::Result<OwnedFd, String> {
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/null")
                .map(OwnedFd::from)
                .map_err(|e| e.to_string())
        };
        let pipe = || std::io::pipe().map_err(|e| e.to_string());
        let ereq = engine::exec::ExecRequest {
            cmd: req.command.clone(),
            interactive: req.stdin,
            tty: req.tty,
            ..Default::default()
        };
        let (stdio, stdin, stdout, stderr): (
            [OwnedFd; 3],
            Option<std::fs::File>,
            Option<std::fs::File>,
            Option<std::fs::File>,
        ) = if req.tty {
            let pty = nix::pty::openpty(None, None).map_err(|e| format!("openpty: {e}"))?;
            let slave = pty.slave;
            let s2 = slave.try_clone().map_err(|e| e.to_string())?;
            let s3 = slave.try_clone().map_err(|e| e.to_string())?;
            let master = std::fs::File::from(pty.master);
            let reader = master.try_clone().map_err(|e| e.to_string())?;
            (
                [slave, s2, s3],
                req.stdin.then_some(master),
                Some(reader),
                None,
            )
        } else {
            let (in_fd, in_w) = if req.stdin {
                let (r, w) = pipe()?;
                (
                    OwnedFd::from(r),
                    Some(std::fs::File::from(OwnedFd::from(w))),
                )
            } else {
                (null()?, None)
            };
            let (out_fd, out_r) = if req.stdout {
                let (r, w) = pipe()?;
                (
                    OwnedFd::from(w),
                    Some(std::fs::File::from(OwnedFd::from(r))),
                )
            } else {
                (null()?, None)
            };
            let (err_fd, err_r) = if req.stderr {
                let (r, w) = pipe()?;
                (
                    OwnedFd::from(w),
                    Some(std::fs::File::from(OwnedFd::from(r))),
                )
            } else {
                (null()?, None)
            };
            ([in_fd, out_fd, err_fd], in_w, out_r, err_r)
        };
        let mut child = eng
            .exec_spawn(&target.id, &ereq, stdio, req.tty)
            .map_err(|e| e.to_string())?;
        Ok(cluster::api::node_proxy::ExecSession {
            stdin,
            stdout,
            stderr,
            wait: Box::new(move || {
                child
                    .wait()
                    .map(|s| s.code().unwrap_or(137))
                    .map_err(|e| e.to_string())
            }),
            cancel: None,
        })
    }

    fn attach(
        &self,
        pod: &Value,
        req: &cluster::api::node_proxy::ExecRequest,
    ) -> std::result::Result<cluster::api::node_proxy::ExecSession, String> {
        use engine::attach as mon;
        use std::io::Write;
        let (eng, target) = self.target(pod, &req.container)?;
        if !target.state.status.is_up() {
            return Err(format!(
                "unable to upgrade connection: container {} not found in pod {}",
                req.container,
                pod["metadata"]["name"].as_str().unwrap_or_default()
            ));
        }
        // stdin reaches the process only if the container keeps it open (`stdin: true`).
        let want_in = req.stdin && target.config.open_stdin;
        let stdin_once = target.config.stdin_once;
        let mut sock = eng.attach_stream(&target.id).map_err(|e| e.to_string())?;
        let streams = format!("{}oe", if want_in { "i" } else { "" });
        mon::send(&mut sock, mon::ATTACH, streams.as_bytes()).map_err(|e| e.to_string())?;
        let pipe = || std::io::pipe().map_err(|e| e.to_string());
        let (out_r, mut out_w) = pipe()?;
        let (err_r, mut err_w) = pipe()?;
        let (code_tx, code_rx) = std::sync::mpsc::channel::<i32>();
        let mut rd = sock.try_clone().map_err(|e| e.to_string())?;
        let (want_out, want_err) = (req.stdout, req.stderr && !req.tty);
        std::thread::Builder::new()
            .name("quai-attach-out".into())
            .spawn(move || {
                let mut code = 0;
                while let Ok(Some((kind, data))) = mon::recv(&mut rd) {
                    let ok = match kind {
                        mon::STDOUT => !want_out || out_w.write_all(&data).is_ok(),
                        mon::STDERR => !want_err || err_w.write_all(&data).is_ok(),
                        mon::EXITED => {
                            code = String::from_utf8_lossy(&data).trim().parse().unwrap_or(0);
                            false
                        }
                        _ => true,
                    };
                    if !ok {
                        break;
                    }
                }
                drop((out_w, err_w));
                let _ = code_tx.send(code);
            })
            .map_err(|e| e.to_string())?;
        let stdin = if want_in {
            let (in_r, in_w) = pipe()?;
            let mut w = sock.try_clone().map_err(|e| e.to_string())?;
            std::thread::Builder::new()
                .name("quai-attach-in".into())
                .spawn(move || {
                    use std::io::Read;
                    let mut in_r = in_r;
                    let mut buf = vec![0u8; 32 * 1024];
                    loop {
                        match in_r.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                if mon::send(&mut w, mon::STDIN, &buf[..n]).is_err() {
                                    return;
                                }
                            }
                        }
                    }
                    // The client's end of input closes the container's stdin only when
                    // the container asked for that (`stdinOnce`).
                    if stdin_once {
                        let _ = mon::send(&mut w, mon::STDIN_CLOSE, b"");
                    }
                })
                .map_err(|e| e.to_string())?;
            Some(std::fs::File::from(std::os::fd::OwnedFd::from(in_w)))
        } else {
            None
        };
        Ok(cluster::api::node_proxy::ExecSession {
            stdin,
            stdout: want_out.then(|| std::fs::File::from(std::os::fd::OwnedFd::from(out_r))),
            stderr: want_err.then(|| std::fs::File::from(std::os::fd::OwnedFd::from(err_r))),
            wait: Box::new(move || Ok(code_rx.recv().unwrap_or(0))),
            cancel: Some(Box::new(move || {
                let _ = sock.shutdown(std::net::Shutdown::Both);
            })),
        })
    }

    fn logs(
        &self,
        pod: &Value,
        req: &cluster::api::node_proxy::LogRequest,
        sink: &mut dyn FnMut(&[u8]) -> bool,
    ) -> std::result::Result<(), String> {
        self.on_this_node(pod)?;
        let mut eng = engine::lifecycle::Engine::open(&self.opts.root, &self.opts.run_dir)
            .map_err(|e| e.to_string())?;
        let pname = pod["metadata"]["name"].as_str().unwrap_or_default();
        let c = &req.container;
        let mine = self.container(&mut eng, pod, c)?;
        let target = if req.previous {
            if mine.len() < 2 {
                return Err(format!(
                    "previous terminated container \"{c}\" in pod \"{pname}\" not found"
                ));
            }
            mine[mine.len() - 2].id.clone()
        } else {
            match mine.last() {
                Some(r) => r.id.clone(),
                None => {
                    return Err(format!(
                    "container \"{c}\" in pod \"{pname}\" is waiting to start: ContainerCreating"
                ))
                }
            }
        };
        if !sink(&[]) {
            return Ok(());
        }
        let logs = eng
            .logs(
                &target,
                engine::log_stream::LogOptions {
                    tail: req.tail,
                    since: req.since,
                    until: None,
                    follow: req.follow && !req.previous,
                },
            )
            .map_err(|e| e.to_string())?;
        let mut sent = 0usize;
        for e in logs {
            let e = e.map_err(|e| e.to_string())?;
            let line = if req.timestamps {
                format!("{} {}", e.time, e.log)
            } else {
                e.log
            };
            let mut b = line.as_bytes();
            if let Some(limit) = req.limit_bytes {
                if sent >= limit {
                    break;
                }
                b = &b[..b.len().min(limit - sent)];
            }
            sent += b.len();
            if !sink(b) {
                break;
            }
        }
        Ok(())
    }
}
