//! `quai cluster server` driven by the real kubectl 1.32, each cluster in a network
//! namespace of its own with its own data directory; the server is stopped (by its
//! PID) and the namespace removed even when a check fails.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{busybox_tar, quai, root_or_skip};

/// kubectl 1.32: `QUAI_KUBECTL`, the machine image's copy, or `kubectl` on PATH.
fn kubectl_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("QUAI_KUBECTL") {
        return PathBuf::from(p);
    }
    let image = Path::new("/usr/lib/google-cloud-sdk/bin/kubectl.1.32");
    if image.exists() {
        return image.to_path_buf();
    }
    PathBuf::from("kubectl")
}

struct Cluster {
    dir: tempfile::TempDir,
    netns: String,
    server: Option<Child>,
    /// Whether the server runs its node agent (on the test's own engine root).
    agent: bool,
}

impl Cluster {
    /// The control plane alone.
    fn start() -> Cluster {
        Cluster::start_with(false)
    }

    /// The control plane and a node agent on the test's engine root, with busybox
    /// imported as `localbusybox:1`.
    fn with_agent() -> Cluster {
        Cluster::start_with(true)
    }

    fn start_with(agent: bool) -> Cluster {
        let dir = tempfile::tempdir().expect("tempdir");
        let netns = common::netns_add("quai-k", dir.path());
        let mut c = Cluster {
            dir,
            netns,
            server: None,
            agent,
        };
        if agent {
            let tar = busybox_tar(c.dir.path());
            let o = c.quai(
                &["import", "-c", "CMD [\"/bin/sh\"]"],
                Some(&tar),
                "localbusybox:1",
            );
            assert!(o.status.success(), "import: {}", text(&o));
        }
        c.boot();
        c
    }

    /// `quai ARGS [FILE] [LAST]` on the test's engine root, in its network namespace.
    fn quai(&self, args: &[&str], file: Option<&Path>, last: &str) -> Output {
        let mut c = Command::new("nsenter");
        c.arg(format!("--net=/run/netns/{}", self.netns))
            .arg(quai())
            .args(args);
        if let Some(f) = file {
            c.arg(f);
        }
        if !last.is_empty() {
            c.arg(last);
        }
        c.env("QUAI_ROOT", self.dir.path().join("root"))
            .env("QUAI_RUN_DIR", self.dir.path().join("run"))
            .stdin(Stdio::null())
            .output()
            .expect("quai")
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    /// Start the server and wait until kubectl gets an answer.
    fn boot(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("server.log")).expect("log");
        let child = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", self.netns))
            .arg(quai())
            .args([
                "cluster",
                "server",
                "--listen",
                "127.0.0.1:6443",
                "--data-dir",
            ])
            .arg(self.data())
            .arg("--write-kubeconfig")
            .arg(self.kubeconfig())
            .args(if self.agent {
                &["--node-name", "node-a"][..]
            } else {
                &["--no-agent"][..]
            })
            .env("QUAI_ROOT", self.dir.path().join("root"))
            .env("QUAI_RUN_DIR", self.dir.path().join("run"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start the server");
        self.server = Some(child);
        let end = Instant::now() + Duration::from_secs(20);
        while Instant::now() < end {
            if self.kubeconfig().exists() && self.k(&["get", "--raw", "/readyz"]).status.success() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the server did not answer: {}", self.server_log());
    }

    /// SIGKILL the server (and its agent): a crash.
    fn kill9(&mut self) {
        if let Some(mut c) = self.server.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.server.take() {
            // SAFETY: kill(2) on the PID of the child this test started.
            unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
            let end = Instant::now() + Duration::from_secs(5);
            while Instant::now() < end {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn server_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    fn k_cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("nsenter");
        c.arg(format!("--net=/run/netns/{}", self.netns))
            .arg(kubectl_bin())
            .args(args)
            .env("KUBECONFIG", self.kubeconfig())
            .env("KUBECACHEDIR", self.dir.path().join("cache"))
            .stdin(Stdio::null());
        c
    }

    fn k(&self, args: &[&str]) -> Output {
        self.k_cmd(args).output().expect("run kubectl")
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.k(args);
        assert!(
            o.status.success(),
            "kubectl {args:?} failed: {}{}\nserver: {}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr),
            self.server_log()
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// kubectl with `input` on stdin.
    fn apply(&self, args: &[&str], input: &str) -> Output {
        use std::io::Write;
        let mut c = self.k_cmd(args);
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().expect("kubectl");
        if let Some(mut i) = child.stdin.take() {
            i.write_all(input.as_bytes()).expect("stdin");
        }
        child.wait_with_output().expect("kubectl")
    }

    /// Apply a manifest of one pod named `name` and wait until it succeeded.
    fn run_to_success(&self, manifest: &str, name: &str) {
        let o = self.apply(&["apply", "-f", "-"], manifest);
        assert!(o.status.success(), "{}", text(&o));
        let phase = || self.ok(&["get", "pod", name, "-o", "jsonpath={.status.phase}"]);
        assert!(
            self.until(30, || phase() == "Succeeded"),
            "pod {name}: {}",
            phase()
        );
    }

    fn until(&self, secs: u64, f: impl FnMut() -> bool) -> bool {
        until(secs, f)
    }

    /// `jsonpath` of the Events whose field selector is `selector`.
    fn events(&self, selector: &str, jsonpath: &str) -> String {
        self.ok(&[
            "get",
            "events",
            "--field-selector",
            selector,
            "-o",
            &format!("jsonpath={jsonpath}"),
        ])
    }

    /// The host PID of pod `name`'s pause container (its network namespace's holder).
    fn pause_pid(&self, name: &str) -> String {
        let uid = self.ok(&["get", "pod", name, "-o", "jsonpath={.metadata.uid}"]);
        let pause = format!("k8s_POD_{name}_default_{}_0", &uid[..8]);
        let pid = self.quai(&["inspect", "--format", "{{.State.Pid}}"], None, &pause);
        let pid = String::from_utf8_lossy(&pid.stdout).trim().to_string();
        assert!(pid.parse::<u32>().is_ok(), "pause pid of {name}: {pid:?}");
        pid
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
        if self.agent {
            let ids = self.quai(&["ps", "-aq"], None, "");
            for id in String::from_utf8_lossy(&ids.stdout).lines() {
                let _ = self.quai(&["rm", "-f", "-v"], None, id);
            }
            let _ = self.quai(&["network", "prune", "-f"], None, "");
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.netns])
            .status();
    }
}

/// `kubectl port-forward POD LOCAL:REMOTE` in `netns` (WebSockets, kubectl's default, or
/// SPDY), its output in `log`; killed when dropped.
fn port_forward(
    netns: &str,
    dir: &Path,
    pod: &str,
    ports: &str,
    websockets: bool,
    log: &Path,
) -> Killed {
    let out = std::fs::File::create(log).expect("log");
    let child = Command::new("nsenter")
        .arg(format!("--net=/run/netns/{netns}"))
        .arg(kubectl_bin())
        .args(["port-forward", pod, ports])
        .env("KUBECONFIG", dir.join("kubeconfig"))
        .env("KUBECACHEDIR", dir.join("cache"))
        .env(
            "KUBECTL_PORT_FORWARD_WEBSOCKETS",
            if websockets { "true" } else { "false" },
        )
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("log"))
        .stderr(out)
        .spawn()
        .expect("kubectl port-forward");
    Killed(Some(child))
}

/// What `url` answers (body, or `-w` format) with curl in `netns`.
fn curl_in(netns: &str, args: &[&str]) -> String {
    let o = Command::new("nsenter")
        .arg(format!("--net=/run/netns/{netns}"))
        .args(["curl", "-s", "-m", "3"])
        .args(args)
        .output()
        .expect("curl");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A DNS query for `name` (type `qtype`: 1 A, 33 SRV) to `server` from inside `netns`,
/// over TCP or UDP: the answer's rcode, its answer count and the whole message.
fn dns_query(netns: &str, server: &str, name: &str, qtype: u16, tcp: bool) -> (u8, u16, Vec<u8>) {
    let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for l in name.split('.') {
        q.push(l.len() as u8);
        q.extend_from_slice(l.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&[0, 1]);
    let (path, server) = (format!("/run/netns/{netns}"), server.to_string());
    let out = std::thread::spawn(move || -> std::io::Result<Vec<u8>> {
        use std::io::{Read, Write};
        use std::os::fd::AsRawFd;
        let f = std::fs::File::open(&path)?;
        // SAFETY: setns(2) on a descriptor this thread holds; only this thread moves.
        if unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let t = Some(Duration::from_secs(3));
        if tcp {
            let addr: std::net::SocketAddr = server.parse().expect("addr");
            let mut c = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(3))?;
            c.set_read_timeout(t)?;
            let mut msg = (q.len() as u16).to_be_bytes().to_vec();
            msg.extend(&q);
            c.write_all(&msg)?;
            let mut len = [0u8; 2];
            c.read_exact(&mut len)?;
            let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
            c.read_exact(&mut buf)?;
            Ok(buf)
        } else {
            let u = std::net::UdpSocket::bind("0.0.0.0:0")?;
            u.set_read_timeout(t)?;
            u.send_to(&q, &server)?;
            let mut buf = vec![0u8; 4096];
            let n = u.recv(&mut buf)?;
            buf.truncate(n);
            Ok(buf)
        }
    })
    .join()
    .expect("dns thread");
    match out {
        Ok(b) if b.len() >= 12 => (b[3] & 0xf, u16::from_be_bytes([b[6], b[7]]), b),
        other => panic!(
            "DNS {name} over {}: {other:?}",
            if tcp { "TCP" } else { "UDP" }
        ),
    }
}

/// Whether `f` holds within `secs` seconds (asked every 100 ms).
fn until(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    f()
}

/// A process killed (by its PID) and waited for when dropped, even when a check fails.
struct Killed(Option<Child>);

impl Drop for Killed {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

const APP: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 80
"#;

fn lines_of(s: &str) -> Vec<&str> {
    s.lines().filter(|l| !l.trim().is_empty()).collect()
}

#[test]
fn kubectl_creates_applies_gets_and_rolls_deployments() {
    if !root_or_skip("kubectl_creates_applies_gets_and_rolls_deployments") {
        return;
    }
    let c = Cluster::start();
    let v = c.ok(&["version"]);
    assert!(v.contains("Server Version: v1.32"), "{v}");
    // kubectl explain reads the kinds' schemas from /openapi/v3.
    let e = c.ok(&["explain", "deployment.spec.replicas"]);
    assert!(
        e.contains("GROUP:      apps") && e.contains("Number of desired pods"),
        "{e}"
    );
    let e = c.ok(&["explain", "pod.spec.containers.livenessProbe.grpc"]);
    assert!(e.contains("port\t<integer> -required-"), "{e}");
    // And from /openapi/v2, as protobuf (client-go's only form of it).
    let e = c.ok(&[
        "explain",
        "deployment.spec.replicas",
        "--output=plaintext-openapiv2",
    ]);
    assert!(
        e.contains("VERSION:  apps/v1") && e.contains("Number of desired pods"),
        "{e}"
    );
    let v2 = c.ok(&["get", "--raw", "/openapi/v2"]);
    let v2: serde_json::Value = serde_json::from_str(&v2).expect("openapi v2 JSON");
    assert_eq!(v2["swagger"], "2.0");
    assert_eq!(
        v2["definitions"]["io.k8s.api.apps.v1.Deployment"]["x-kubernetes-group-version-kind"][0]
            ["kind"],
        "Deployment"
    );

    // Protobuf bodies (kubectl create) and JSON ones (apply).
    c.ok(&["create", "namespace", "team"]);
    c.ok(&[
        "create",
        "configmap",
        "cfg",
        "--from-literal=a=b",
        "-n",
        "team",
    ]);
    c.ok(&[
        "create",
        "secret",
        "generic",
        "s",
        "--from-literal=p=q",
        "-n",
        "team",
    ]);
    let secrets = c.ok(&[
        "get",
        "secret",
        "s",
        "-n",
        "team",
        "-o",
        "jsonpath={.type} {.data.p}",
    ]);
    assert_eq!(secrets, "Opaque cQ==");
    let o = c.apply(&["apply", "-f", "-"], APP);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("deployment.apps/web created"),
        "{}",
        text(&o)
    );

    // Server-side Tables with kube's columns; the controllers made the ReplicaSet and pods.
    let deploy = c.ok(&["get", "deploy"]);
    let header: Vec<&str> = deploy
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(header, ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]);
    assert!(c.until(10, || lines_of(&c.ok(&[
        "get",
        "pods",
        "-l",
        "app=web",
        "--no-headers"
    ]))
    .len()
        == 3));
    let wide = c.ok(&["get", "deploy", "web", "-o", "wide"]);
    assert!(
        wide.contains("CONTAINERS") && wide.contains("nginx:1.25") && wide.contains("app=web"),
        "{wide}"
    );
    let pods = c.ok(&[
        "get",
        "pods",
        "--field-selector",
        "status.phase=Pending",
        "--no-headers",
    ]);
    assert_eq!(lines_of(&pods).len(), 3, "{pods}");
    let svc = c.ok(&["get", "svc", "web", "--no-headers"]);
    assert!(svc.contains("ClusterIP") && svc.contains("80/TCP"), "{svc}");
    let bad = c.k(&["get", "pods", "--field-selector", "spec.image=x"]);
    assert!(!bad.status.success());
    assert!(
        text(&bad).contains("field label not supported: spec.image"),
        "{}",
        text(&bad)
    );

    // Scale, a new image (a second revision), and undo (the first template as revision 3).
    c.ok(&["scale", "deploy", "web", "--replicas=4"]);
    assert!(
        c.until(10, || lines_of(&c.ok(&["get", "rs", "--no-headers"]))
            .iter()
            .any(|l| l.split_whitespace().nth(1) == Some("4")))
    );
    c.ok(&["set", "image", "deploy/web", "nginx=nginx:1.26"]);
    assert!(
        c.until(10, || lines_of(&c.ok(&["get", "rs", "--no-headers"])).len()
            == 2)
    );
    let hist = c.ok(&["rollout", "history", "deploy/web"]);
    assert!(hist.contains("1 ") && hist.contains("2 "), "{hist}");
    c.ok(&["rollout", "undo", "deploy/web"]);
    let image = c.ok(&[
        "get",
        "deploy",
        "web",
        "-o",
        "jsonpath={.spec.template.spec.containers[0].image}",
    ]);
    assert_eq!(image, "nginx:1.25");
    assert!(c.until(10, || {
        let h = c.ok(&["rollout", "history", "deploy/web"]);
        h.contains("3 ") && !h.contains("\n1 ")
    }));

    // Deleting the Deployment takes its ReplicaSets and pods with it.
    c.ok(&["delete", "deploy", "web"]);
    assert!(c.until(10, || c
        .ok(&["get", "rs,pods", "--no-headers"])
        .trim()
        .is_empty()));
}

#[test]
fn kubectl_sees_kube_apiservers_errors_watches_and_namespace_deletion() {
    if !root_or_skip("kubectl_sees_kube_apiservers_errors_watches_and_namespace_deletion") {
        return;
    }
    let mut c = Cluster::start();
    // Invalid objects: kube's 422 with field paths, and strict decoding.
    let o = c.apply(
        &["apply", "-f", "-"],
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: bad}\nspec:\n  selector: {matchLabels: {app: x}}\n  template:\n    metadata: {labels: {app: z}}\n    spec:\n      containers: [{name: c}]\n",
    );
    assert!(!o.status.success());
    let t = text(&o);
    assert!(t.contains("The Deployment \"bad\" is invalid"), "{t}");
    assert!(
        t.contains("spec.template.spec.containers[0].image: Required value"),
        "{t}"
    );
    assert!(
        t.contains("`selector` does not match template `labels`"),
        "{t}"
    );
    let o = c.apply(
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\nbogus: 1\n",
    );
    assert!(
        text(&o).contains("strict decoding error: unknown field \"bogus\""),
        "{}",
        text(&o)
    );
    assert!(!o.status.success());
    let o = c.k(&["get", "pod", "nope"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("pods \"nope\" not found"), "{}", text(&o));

    // A stale update is refused with 409.
    c.ok(&["create", "configmap", "c1", "--from-literal=a=1"]);
    let stale = c.ok(&["get", "cm", "c1", "-o", "json"]);
    c.ok(&["label", "cm", "c1", "x=y"]);
    let o = c.apply(&["replace", "-f", "-"], &stale);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("the object has been modified"),
        "{}",
        text(&o)
    );

    // Server-side apply: owned fields, a conflict with another manager, forced.
    let d = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ssa}\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: ssa}}\n  template:\n    metadata: {labels: {app: ssa}}\n    spec:\n      containers: [{name: c, image: 'nginx:1'}]\n";
    let o = c.apply(&["apply", "--server-side", "-f", "-"], d);
    assert!(
        text(&o).contains("deployment.apps/ssa serverside-applied"),
        "{}",
        text(&o)
    );
    c.ok(&["scale", "deploy", "ssa", "--replicas=5"]);
    let d3 = d.replace("replicas: 2", "replicas: 3");
    let o = c.apply(&["apply", "--server-side", "-f", "-"], &d3);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("Apply failed with 1 conflict: conflict with"),
        "{}",
        text(&o)
    );
    assert!(text(&o).contains(".spec.replicas"), "{}", text(&o));
    let o = c.apply(
        &["apply", "--server-side", "--force-conflicts", "-f", "-"],
        &d3,
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        c.ok(&["get", "deploy", "ssa", "-o", "jsonpath={.spec.replicas}"]),
        "3"
    );
    let mf = c.ok(&[
        "get",
        "deploy",
        "ssa",
        "-o",
        "jsonpath={.metadata.managedFields[*].manager}",
        "--show-managed-fields",
    ]);
    assert!(mf.contains("kubectl"), "{mf}");

    // get -w sees what happens after it starts.
    let mut w = c
        .k_cmd(&["get", "cm", "-w", "--request-timeout=8s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("watch");
    std::thread::sleep(Duration::from_millis(800));
    c.ok(&["create", "configmap", "late", "--from-literal=a=1"]);
    std::thread::sleep(Duration::from_millis(800));
    let _ = w.kill();
    let out = w.wait_with_output().expect("watch output");
    let seen = String::from_utf8_lossy(&out.stdout);
    assert!(seen.contains("late"), "{seen}");

    // A namespace goes with its content; nothing new may be made in it meanwhile.
    c.ok(&["create", "namespace", "gone"]);
    c.ok(&["create", "configmap", "in", "-n", "gone"]);
    c.ok(&["delete", "namespace", "gone", "--timeout=20s"]);
    let o = c.k(&["get", "namespace", "gone"]);
    assert!(text(&o).contains("not found"), "{}", text(&o));

    // A restarted server has everything, and a watch resumes from a revision of before.
    let list: serde_json::Value =
        serde_json::from_str(&c.ok(&["get", "--raw", "/api/v1/namespaces/default/configmaps"]))
            .expect("list");
    let rv = list["metadata"]["resourceVersion"]
        .as_str()
        .expect("rv")
        .to_string();
    c.ok(&["create", "configmap", "after-rv", "--from-literal=a=1"]);
    c.stop();
    c.boot();
    let cms = c.ok(&["get", "cm", "--no-headers"]);
    assert!(cms.contains("c1") && cms.contains("late"), "{cms}");
    let resumed = c.ok(&[
        "get",
        "--raw",
        &format!(
            "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={rv}&timeoutSeconds=1"
        ),
    ]);
    assert!(
        resumed.contains("\"type\":\"ADDED\"") && resumed.contains("after-rv"),
        "{resumed}"
    );
    assert!(!resumed.contains("\"name\":\"late\""), "{resumed}");
    let o = c.k(&["get", "cm", "--token=wrong"]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("Unauthorized") || text(&o).contains("logged in"),
        "{}",
        text(&o)
    );
}

#[test]
fn pods_run_on_the_node_agent_and_heal() {
    if !root_or_skip("pods_run_on_the_node_agent_and_heal") {
        return;
    }
    let mut c = Cluster::with_agent();
    let nodes = c.ok(&["get", "nodes", "--no-headers"]);
    assert!(
        nodes.contains("node-a") && nodes.contains(" Ready"),
        "{nodes}"
    );

    // A Deployment of two web servers rolls out; each pod answers on its own IP.
    let app = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: httpd
        image: localbusybox:1
        imagePullPolicy: Never
        command: [httpd, -f, -p, "8080"]
"#;
    let o = c.apply(&["apply", "-f", "-"], app);
    assert!(o.status.success(), "{}", text(&o));
    let rs = c.k(&["rollout", "status", "deploy/web", "--timeout=60s"]);
    assert!(
        rs.status.success(),
        "{}\nserver: {}",
        text(&rs),
        c.server_log()
    );
    assert!(
        text(&rs).contains("successfully rolled out"),
        "{}",
        text(&rs)
    );
    let ips = c.ok(&[
        "get",
        "pods",
        "-l",
        "app=web",
        "-o",
        "jsonpath={.items[*].status.podIP}",
    ]);
    let ips: Vec<&str> = ips.split_whitespace().collect();
    assert_eq!(ips.len(), 2, "{ips:?}");
    for ip in &ips {
        let o = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", c.netns))
            .args([
                "curl",
                "-s",
                "-m",
                "5",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
            ])
            .arg(format!("http://{ip}:8080/"))
            .output()
            .expect("curl");
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            "404",
            "pod {ip} did not answer"
        );
    }

    // A killed server and agent: the pods' containers go on running, and the agent
    // that comes back adopts them (same containers, no restart).
    let before = c.ok(&[
        "get",
        "pods",
        "-l",
        "app=web",
        "-o",
        "jsonpath={.items[*].status.containerStatuses[0].containerID}",
    ]);
    c.kill9();
    let ps = c.quai(&["ps", "--format", "{{.Names}}"], None, "");
    let running = String::from_utf8_lossy(&ps.stdout)
        .lines()
        .filter(|l| l.starts_with("k8s_httpd_web-"))
        .count();
    assert_eq!(running, 2, "pods stopped with the server");
    c.boot();
    assert!(c.until(20, || c
        .ok(&["get", "pods", "-l", "app=web", "--no-headers"])
        .lines()
        .filter(|l| l.contains("Running"))
        .count()
        == 2));
    let after = c.ok(&[
        "get",
        "pods",
        "-l",
        "app=web",
        "-o",
        "jsonpath={.items[*].status.containerStatuses[0].containerID}",
    ]);
    assert_eq!(before, after, "the containers were replaced");
    let restarts = c.ok(&[
        "get",
        "pods",
        "-l",
        "app=web",
        "-o",
        "jsonpath={.items[*].status.containerStatuses[0].restartCount}",
    ]);
    assert_eq!(restarts, "0 0");

    // exec: streams, stdin and the exit status (WebSocket v5.channel.k8s.io).
    let pod0 = c.ok(&[
        "get",
        "pods",
        "-l",
        "app=web",
        "-o",
        "jsonpath={.items[0].metadata.name}",
    ]);
    let o = c.k(&[
        "exec",
        &pod0,
        "--",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 3",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "out\n");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("err") && err.contains("command terminated with exit code 3"),
        "{err}"
    );
    let o = c.apply(
        &["exec", "-i", &pod0, "--", "sh", "-c", "cat; hostname"],
        "from stdin\n",
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!("from stdin\n{pod0}\n")
    );

    // kubectl describe shows what the scheduler and the node did; auth reviews answer.
    let described = c.ok(&["describe", "pod", &pod0]);
    for want in [
        "Scheduled",
        "Successfully assigned default/",
        "Started",
        "Started container httpd",
    ] {
        assert!(described.contains(want), "{want}: {described}");
    }
    let events = c.ok(&[
        "get",
        "events",
        "--field-selector",
        "reason=ScalingReplicaSet",
        "--no-headers",
    ]);
    assert!(events.contains("Scaled up replica set web-"), "{events}");
    assert_eq!(c.ok(&["auth", "can-i", "delete", "pods"]).trim(), "yes");

    // A deleted pod is replaced.
    let first = c.ok(&[
        "get",
        "pods",
        "-l",
        "app=web",
        "-o",
        "jsonpath={.items[0].metadata.name}",
    ]);
    c.ok(&["delete", "pod", &first, "--timeout=30s"]);
    assert!(c.until(30, || {
        let names = c.ok(&["get", "pods", "-l", "app=web", "--no-headers"]);
        !names.contains(&first) && names.lines().filter(|l| l.contains("Running")).count() == 2
    }));

    // Config maps and secrets reach a pod as environment and files; its log comes back.
    c.ok(&[
        "create",
        "configmap",
        "cfg",
        "--from-literal=greeting=hello",
        "--from-literal=file.txt=from a file",
    ]);
    c.ok(&[
        "create",
        "secret",
        "generic",
        "pw",
        "--from-literal=password=s3cret",
    ]);
    let pod = r#"
apiVersion: v1
kind: Pod
metadata: {name: reader}
spec:
  restartPolicy: Never
  volumes:
  - name: cfg
    configMap: {name: cfg}
  containers:
  - name: main
    image: localbusybox:1
    imagePullPolicy: Never
    command: [sh, -c, 'echo "$GREETING $PASSWORD $POD"; cat /etc/cfg/file.txt']
    env:
    - name: GREETING
      valueFrom: {configMapKeyRef: {name: cfg, key: greeting}}
    - name: PASSWORD
      valueFrom: {secretKeyRef: {name: pw, key: password}}
    - name: POD
      valueFrom: {fieldRef: {fieldPath: metadata.name}}
    volumeMounts:
    - {name: cfg, mountPath: /etc/cfg}
"#;
    c.run_to_success(pod, "reader");
    let logs = c.ok(&["logs", "reader"]);
    assert_eq!(logs, "hello s3cret reader\nfrom a file");
    let table = c.ok(&["get", "pod", "reader", "--no-headers"]);
    assert!(table.contains("Completed"), "{table}");

    // Init containers run first, in order, and share an emptyDir with the containers.
    let init = r#"
apiVersion: v1
kind: Pod
metadata: {name: inits}
spec:
  restartPolicy: Never
  volumes: [{name: work, emptyDir: {}}]
  initContainers:
  - {name: one, image: "localbusybox:1", imagePullPolicy: Never, command: [sh, -c, 'echo one > /work/log'], volumeMounts: [{name: work, mountPath: /work}]}
  - {name: two, image: "localbusybox:1", imagePullPolicy: Never, command: [sh, -c, 'echo two >> /work/log'], volumeMounts: [{name: work, mountPath: /work}]}
  containers:
  - {name: main, image: "localbusybox:1", imagePullPolicy: Never, command: [cat, /work/log], volumeMounts: [{name: work, mountPath: /work}]}
"#;
    c.run_to_success(init, "inits");
    assert_eq!(c.ok(&["logs", "inits", "-c", "main"]), "one\ntwo\n");
    assert_eq!(c.ok(&["logs", "inits", "-c", "two"]), "");

    // A Job runs to completion.
    c.ok(&[
        "create",
        "job",
        "once",
        "--image=localbusybox:1",
        "--",
        "sh",
        "-c",
        "echo done",
    ]);
    let w = c.k(&[
        "wait",
        "--for=condition=complete",
        "job/once",
        "--timeout=60s",
    ]);
    assert!(w.status.success(), "{}", text(&w));

    // A Service: its cluster IP balances over the pods, and another pod reaches it by
    // its DNS name.
    c.ok(&["expose", "deploy", "web", "--port=80", "--target-port=8080"]);
    let ip = c.ok(&["get", "svc", "web", "-o", "jsonpath={.spec.clusterIP}"]);
    assert!(
        c.until(20, || {
            let o = Command::new("nsenter")
                .arg(format!("--net=/run/netns/{}", c.netns))
                .args([
                    "curl",
                    "-s",
                    "-m",
                    "2",
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{http_code}",
                ])
                .arg(format!("http://{ip}/"))
                .output()
                .expect("curl");
            String::from_utf8_lossy(&o.stdout) == "404"
        }),
        "service {ip} did not answer"
    );
    let client = r#"
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: localbusybox:1
    imagePullPolicy: Never
    command: [sh, -c, 'ping -c1 -W1 web.default.svc.cluster.local | head -1; printf "GET / HTTP/1.0\r\n\r\n" | nc -w 3 web 80 | head -1']
"#;
    c.run_to_success(client, "client");
    let logs = c.ok(&["logs", "client"]);
    assert!(
        logs.contains(&format!("PING web.default.svc.cluster.local ({ip})")),
        "{logs}"
    );
    assert!(logs.contains("HTTP/1.1 404"), "{logs}");
    // SRV records of named ports, a headless Service's endpoints, and DNS over TCP too.
    let headless = r#"
apiVersion: v1
kind: Service
metadata: {name: hl}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
"#;
    let o = c.apply(&["apply", "-f", "-"], headless);
    assert!(o.status.success(), "{}", text(&o));
    let pods = lines_of(&c.ok(&["get", "pods", "-l", "app=web", "--no-headers"])).len() as u16;
    let dns = "10.43.0.10:53";
    assert!(
        c.until(20, || dns_query(
            &c.netns,
            dns,
            "hl.default.svc.cluster.local",
            1,
            false
        )
        .1 == pods),
        "headless A: {:?}",
        dns_query(&c.netns, dns, "hl.default.svc.cluster.local", 1, false)
    );
    let (rcode, n, msg) = dns_query(
        &c.netns,
        dns,
        "_http._tcp.hl.default.svc.cluster.local",
        33,
        false,
    );
    assert_eq!((rcode, n), (0, pods), "{msg:?}");
    // Each SRV target is an endpoint's name on port 8080.
    assert!(
        msg.windows(2).any(|w| w == 8080u16.to_be_bytes()),
        "{msg:?}"
    );
    let (rcode, n, _) = dns_query(
        &c.netns,
        dns,
        "_http._tcp.web.default.svc.cluster.local",
        33,
        true,
    );
    assert_eq!((rcode, n), (3, 0), "an unnamed port has no SRV record");
    let (rcode, n, _) = dns_query(&c.netns, dns, "web.default.svc.cluster.local", 1, true);
    assert_eq!((rcode, n), (0, 1), "A over TCP");
    let (rcode, n, _) = dns_query(&c.netns, dns, "hl.default.svc.cluster.local", 1, true);
    assert_eq!((rcode, n), (0, pods), "headless A over TCP");

    // Session affinity ClientIP: one client keeps its pod; without it, both answer.
    let who = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: who}
spec:
  replicas: 2
  selector: {matchLabels: {app: who}}
  template:
    metadata: {labels: {app: who}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - name: httpd
        image: localbusybox:1
        imagePullPolicy: Never
        command: [sh, -c, 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www']
---
apiVersion: v1
kind: Service
metadata: {name: sticky}
spec:
  selector: {app: who}
  sessionAffinity: ClientIP
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: loose}
spec:
  selector: {app: who}
  ports: [{port: 80, targetPort: 8080}]
"#;
    let o = c.apply(&["apply", "-f", "-"], who);
    assert!(o.status.success(), "{}", text(&o));
    let rs = c.k(&["rollout", "status", "deploy/who", "--timeout=60s"]);
    assert!(rs.status.success(), "{}", text(&rs));
    let answers = |svc: &str| -> std::collections::BTreeSet<String> {
        let ip = c.ok(&["get", "svc", svc, "-o", "jsonpath={.spec.clusterIP}"]);
        (0..12)
            .map(|_| {
                let o = Command::new("nsenter")
                    .arg(format!("--net=/run/netns/{}", c.netns))
                    .args(["curl", "-s", "-m", "2"])
                    .arg(format!("http://{ip}/"))
                    .output()
                    .expect("curl");
                String::from_utf8_lossy(&o.stdout).trim().to_string()
            })
            .filter(|a| !a.is_empty())
            .collect()
    };
    assert!(
        c.until(20, || answers("loose").len() == 2),
        "loose: {:?}",
        answers("loose")
    );
    assert!(c.until(20, || !answers("sticky").is_empty()));
    assert_eq!(
        answers("sticky").len(),
        1,
        "sticky: {:?}",
        answers("sticky")
    );
    c.ok(&["delete", "deploy", "who"]);

    // A container that keeps failing is restarted with back-off.
    let crash = c.apply(
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: Pod\nmetadata: {name: crash}\nspec:\n  containers:\n  - {name: c, image: localbusybox:1, imagePullPolicy: Never, command: [sh, -c, 'echo boom; exit 3']}\n",
    );
    assert!(crash.status.success(), "{}", text(&crash));
    assert!(c.until(30, || {
        let t = c.ok(&["get", "pod", "crash", "--no-headers"]);
        t.contains("CrashLoopBackOff") || t.contains("Error")
    }));
    let restarts = c.ok(&[
        "get",
        "pod",
        "crash",
        "-o",
        "jsonpath={.status.containerStatuses[0].lastState.terminated.exitCode}",
    ]);
    assert!(restarts.is_empty() || restarts == "3", "{restarts}");

    // The crashed container's log is kept for --previous.
    assert!(c.until(30, || c
        .k(&["logs", "crash", "--previous"])
        .status
        .success()));
    assert_eq!(c.ok(&["logs", "crash", "--previous"]), "boom\n");

    // Service-account tokens: a bound token in every pod (kube-api-access), accepted
    // as the service account while the pod lives, with only what kube's default roles
    // give it; `kubectl create token`; an opted-out pod gets none.
    let sa_pods = r#"
apiVersion: v1
kind: Pod
metadata: {name: sa}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - {name: c, image: "localbusybox:1", imagePullPolicy: Never, command: [sleep, "3600"]}
---
apiVersion: v1
kind: Pod
metadata: {name: noauto}
spec:
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 0
  containers:
  - {name: c, image: "localbusybox:1", imagePullPolicy: Never, command: [sleep, "3600"]}
"#;
    let o = c.apply(&["apply", "-f", "-"], sa_pods);
    assert!(o.status.success(), "{}", text(&o));
    c.ok(&[
        "wait",
        "--for=condition=Ready",
        "pod/sa",
        "pod/noauto",
        "--timeout=60s",
    ]);
    let dir = "/var/run/secrets/kubernetes.io/serviceaccount";
    assert_eq!(
        c.ok(&["exec", "sa", "--", "ls", dir]),
        "ca.crt\nnamespace\ntoken\n"
    );
    assert_eq!(
        c.ok(&["exec", "sa", "--", "cat", &format!("{dir}/namespace")]),
        "default"
    );
    assert!(c
        .ok(&["exec", "sa", "--", "cat", &format!("{dir}/ca.crt")])
        .starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(!c.k(&["exec", "noauto", "--", "ls", dir]).status.success());
    let token = c.ok(&["exec", "sa", "--", "cat", &format!("{dir}/token")]);
    let whoami = c.ok(&["--token", &token, "auth", "whoami"]);
    assert!(
        whoami.contains("system:serviceaccount:default:default"),
        "{whoami}"
    );
    let denied = c.k(&["--token", &token, "get", "pods"]);
    assert!(!denied.status.success());
    assert!(
        text(&denied).contains("pods is forbidden: User \"system:serviceaccount:default:default\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\""),
        "{}",
        text(&denied)
    );
    let can = c.k(&["--token", &token, "auth", "can-i", "get", "pods"]);
    assert_eq!((can.status.code(), text(&can).as_str()), (Some(1), "no\n"));
    let made = c.ok(&["create", "token", "default", "--duration=15m"]);
    assert!(c
        .ok(&["--token", made.trim(), "auth", "whoami"])
        .contains("system:serviceaccount:default:default"));
    let short = c.k(&["create", "token", "default", "--duration=5m"]);
    assert!(
        text(&short).contains("may not specify a duration less than 10 minutes"),
        "{}",
        text(&short)
    );
    // The pod's token ends with the pod.
    c.ok(&["delete", "pod", "sa", "noauto", "--timeout=30s"]);
    let gone = c.k(&["--token", &token, "auth", "whoami"]);
    assert!(!gone.status.success());
    assert!(text(&gone).contains("Unauthorized"), "{}", text(&gone));

    // Lifecycle hooks: postStart before the container counts as started, preStop
    // before SIGTERM (both write to a hostPath the test reads); a failing postStart
    // kills the container and says so.
    let hooks_dir = c.dir.path().join("hooks");
    let hooks = format!(
        r#"
apiVersion: v1
kind: Pod
metadata: {{name: hooks}}
spec:
  terminationGracePeriodSeconds: 5
  volumes:
  - {{name: h, hostPath: {{path: "{}", type: DirectoryOrCreate}}}}
  containers:
  - name: c
    image: "localbusybox:1"
    imagePullPolicy: Never
    command: [sleep, "3600"]
    volumeMounts: [{{name: h, mountPath: /hooks}}]
    lifecycle:
      postStart: {{exec: {{command: [sh, -c, "echo started > /hooks/post"]}}}}
      preStop: {{exec: {{command: [sh, -c, "echo stopping > /hooks/pre"]}}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: badhook}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: c
    image: "localbusybox:1"
    imagePullPolicy: Never
    command: [sleep, "3600"]
    lifecycle:
      postStart: {{exec: {{command: [sh, -c, "exit 3"]}}}}
"#,
        hooks_dir.display()
    );
    let o = c.apply(&["apply", "-f", "-"], &hooks);
    assert!(o.status.success(), "{}", text(&o));
    c.ok(&[
        "wait",
        "--for=condition=Ready",
        "pod/hooks",
        "--timeout=60s",
    ]);
    assert_eq!(
        std::fs::read_to_string(hooks_dir.join("post")).unwrap_or_default(),
        "started\n"
    );
    assert!(!hooks_dir.join("pre").exists());
    c.ok(&["delete", "pod", "hooks", "--timeout=30s"]);
    assert_eq!(
        std::fs::read_to_string(hooks_dir.join("pre")).unwrap_or_default(),
        "stopping\n"
    );
    let bad_events = || c.events("involvedObject.name=badhook", "{.items[*].reason}");
    assert!(
        c.until(30, || bad_events().contains("FailedPostStartHook")),
        "events: {}",
        bad_events()
    );
    let restarts = || {
        c.ok(&[
            "get",
            "pod",
            "badhook",
            "-o",
            "jsonpath={.status.containerStatuses[0].restartCount}",
        ])
    };
    assert!(
        c.until(30, || restarts() != "0" && !restarts().is_empty()),
        "restarts: {}",
        restarts()
    );
    c.ok(&["delete", "pod", "badhook", "--timeout=30s"]);
    // A failing preStop is an Event, and the pod still goes.
    let prestop = r#"
apiVersion: v1
kind: Pod
metadata: {name: prestopfail}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: "localbusybox:1"
    imagePullPolicy: Never
    command: [sleep, "3600"]
    lifecycle:
      preStop: {exec: {command: [sh, -c, "exit 5"]}}
"#;
    let o = c.apply(&["apply", "-f", "-"], prestop);
    assert!(o.status.success(), "{}", text(&o));
    c.ok(&[
        "wait",
        "--for=condition=Ready",
        "pod/prestopfail",
        "--timeout=60s",
    ]);
    c.ok(&["delete", "pod", "prestopfail", "--timeout=30s"]);
    let stop_events = || {
        c.events(
            "involvedObject.name=prestopfail,reason=FailedPreStopHook",
            "{.items[*].message}",
        )
    };
    assert!(
        c.until(10, || stop_events().contains("exited with status 5")),
        "events: {}",
        stop_events()
    );

    // gRPC probes against grpcio's own health service, run in the pod's network
    // namespace: not ready while "db" is NOT_SERVING (kube's event says so), ready once
    // it serves.
    let rpc = r#"
apiVersion: v1
kind: Pod
metadata: {name: rpc}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: c
    image: "localbusybox:1"
    imagePullPolicy: Never
    command: [sleep, "3600"]
    readinessProbe:
      grpc: {port: 50051, service: db}
      periodSeconds: 1
"#;
    let o = c.apply(&["apply", "-f", "-"], rpc);
    assert!(o.status.success(), "{}", text(&o));
    let running = || c.ok(&["get", "pod", "rpc", "-o", "jsonpath={.status.phase}"]);
    assert!(c.until(30, || running() == "Running"), "{}", running());
    let pid = c.pause_pid("rpc");
    let flag = c.dir.path().join("db-serving");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cluster/health_server.py");
    let mut server = Command::new("nsenter")
        .arg(format!("--net=/proc/{pid}/ns/net"))
        .arg("python3")
        .arg(&script)
        .arg("0.0.0.0:50051")
        .arg("60")
        .arg(&flag)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(c.dir.path().join("grpc.log")).expect("log"))
        .spawn()
        .expect("the gRPC health server");
    let probe_events = || {
        c.events(
            "involvedObject.name=rpc,reason=Unhealthy",
            "{.items[*].message}",
        )
    };
    let unhealthy = c.until(30, || probe_events().contains("NOT_SERVING"));
    let ready = || {
        c.ok(&[
            "get",
            "pod",
            "rpc",
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
        ])
    };
    let was_ready = ready();
    std::fs::write(&flag, b"").expect("flag");
    let became_ready = c.until(20, || ready() == "True");
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        unhealthy,
        "events: {}; server: {}",
        probe_events(),
        std::fs::read_to_string(c.dir.path().join("grpc.log")).unwrap_or_default()
    );
    assert_eq!(was_ready, "False");
    assert!(became_ready, "ready: {}", ready());
    c.ok(&["delete", "pod", "rpc", "--timeout=30s"]);

    // An HTTPS probe (a self-signed certificate, not checked, as the kubelet does) to
    // openssl's test server in the pod's network namespace.
    let tls_pod = r#"
apiVersion: v1
kind: Pod
metadata: {name: tls}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: c
    image: "localbusybox:1"
    imagePullPolicy: Never
    command: [sleep, "3600"]
    readinessProbe:
      httpGet: {scheme: HTTPS, port: 8443, path: /}
      periodSeconds: 1
"#;
    let o = c.apply(&["apply", "-f", "-"], tls_pod);
    assert!(o.status.success(), "{}", text(&o));
    let tls_phase = || c.ok(&["get", "pod", "tls", "-o", "jsonpath={.status.phase}"]);
    assert!(c.until(30, || tls_phase() == "Running"), "{}", tls_phase());
    let pid = c.pause_pid("tls");
    let (key, cert) = (c.dir.path().join("tls.key"), c.dir.path().join("tls.crt"));
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=pod",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl req");
    assert!(made.status.success(), "{}", text(&made));
    let tls_ready = || {
        c.ok(&[
            "get",
            "pod",
            "tls",
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
        ])
    };
    assert_eq!(tls_ready(), "False");
    let _server = Killed(Some(
        Command::new("nsenter")
            .arg(format!("--net=/proc/{pid}/ns/net"))
            .args([
                "openssl", "s_server", "-accept", "8443", "-www", "-quiet", "-key",
            ])
            .arg(&key)
            .arg("-cert")
            .arg(&cert)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl s_server"),
    ));
    assert!(
        c.until(20, || tls_ready() == "True"),
        "ready: {}",
        tls_ready()
    );
    c.ok(&["delete", "pod", "tls", "--timeout=30s"]);

    // imagePullSecrets: an image in a registry that wants a password (Debian's
    // docker-registry with htpasswd) is refused without the pod's secret, pulled with it.
    let reg_dir = c.dir.path().join("registry");
    std::fs::create_dir_all(&reg_dir).expect("registry dir");
    let htpasswd = Command::new("htpasswd")
        .args(["-Bbn", "alice", "s3cret"])
        .output()
        .expect("htpasswd");
    std::fs::write(reg_dir.join("htpasswd"), &htpasswd.stdout).expect("htpasswd");
    let registry = |auth: bool| -> Killed {
        let cfg = reg_dir.join("registry.yml");
        let auth = if auth {
            format!(
                "auth:\n  htpasswd:\n    realm: quai-test\n    path: {}\n",
                reg_dir.join("htpasswd").display()
            )
        } else {
            String::new()
        };
        std::fs::write(
            &cfg,
            format!(
                "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:5000\n{auth}",
                reg_dir.join("data").display()
            ),
        )
        .expect("registry config");
        let child = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", c.netns))
            .args(["docker-registry", "serve"])
            .arg(&cfg)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry");
        let up = c.until(10, || {
            let o = Command::new("nsenter")
                .arg(format!("--net=/run/netns/{}", c.netns))
                .args([
                    "curl",
                    "-s",
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{http_code}",
                    "http://127.0.0.1:5000/v2/",
                ])
                .output()
                .expect("curl");
            matches!(String::from_utf8_lossy(&o.stdout).as_ref(), "200" | "401")
        });
        assert!(up, "docker-registry did not answer");
        Killed(Some(child))
    };
    let private = "127.0.0.1:5000/private/bb:1";
    {
        let _open = registry(false);
        let o = c.quai(&["tag", "localbusybox:1"], None, private);
        assert!(o.status.success(), "{}", text(&o));
        let o = c.quai(&["push"], None, private);
        assert!(o.status.success(), "{}", text(&o));
        let o = c.quai(&["rmi"], None, private);
        assert!(o.status.success(), "{}", text(&o));
    }
    let _locked = registry(true);
    let pull_pods = format!(
        r#"
apiVersion: v1
kind: Pod
metadata: {{name: nosecret}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - {{name: c, image: "{private}", command: [sleep, "3600"]}}
---
apiVersion: v1
kind: Pod
metadata: {{name: withsecret}}
spec:
  terminationGracePeriodSeconds: 0
  imagePullSecrets: [{{name: regcred}}]
  containers:
  - {{name: c, image: "{private}", command: [sleep, "3600"]}}
"#
    );
    c.ok(&[
        "create",
        "secret",
        "docker-registry",
        "regcred",
        "--docker-server=127.0.0.1:5000",
        "--docker-username=alice",
        "--docker-password=s3cret",
    ]);
    let o = c.apply(&["apply", "-f", "-"], &pull_pods);
    assert!(o.status.success(), "{}", text(&o));
    let waiting = || {
        c.ok(&[
            "get",
            "pod",
            "nosecret",
            "-o",
            "jsonpath={.status.containerStatuses[0].state.waiting.reason} {.status.containerStatuses[0].state.waiting.message}",
        ])
    };
    let mut seen = String::new();
    let refused = c.until(30, || {
        seen = waiting();
        seen.starts_with("ErrImagePull") || seen.starts_with("ImagePullBackOff")
    });
    assert!(
        refused,
        "nosecret: {seen:?} {}",
        c.ok(&["get", "pod", "nosecret", "-o", "jsonpath={.status}"])
    );
    assert!(
        seen.contains("401") || seen.to_lowercase().contains("unauthorized"),
        "{seen}"
    );
    c.ok(&[
        "wait",
        "--for=condition=Ready",
        "pod/withsecret",
        "--timeout=60s",
    ]);
    assert_eq!(
        c.ok(&["exec", "withsecret", "--", "echo", "pulled"]),
        "pulled\n"
    );
    c.ok(&["delete", "pod", "nosecret", "withsecret", "--timeout=30s"]);

    // kubectl port-forward: to a port bound to the pod's own loopback, over the
    // WebSocket tunnel (kubectl's default) and over SPDY; a closed port is reported on
    // the error stream as the kubelet words it.
    let pf_pod = r#"
apiVersion: v1
kind: Pod
metadata: {name: pf}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: c
    image: "localbusybox:1"
    imagePullPolicy: Never
    command: [sh, -c, "mkdir -p /www && echo hello-pf > /www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /www"]
"#;
    let o = c.apply(&["apply", "-f", "-"], pf_pod);
    assert!(o.status.success(), "{}", text(&o));
    c.ok(&["wait", "--for=condition=Ready", "pod/pf", "--timeout=60s"]);
    for (websockets, port) in [(true, 18080), (false, 18081)] {
        let log = c.dir.path().join(format!("pf-{port}.log"));
        let _pf = port_forward(
            &c.netns,
            c.dir.path(),
            "pod/pf",
            &format!("{port}:8080"),
            websockets,
            &log,
        );
        let url = format!("http://127.0.0.1:{port}/");
        assert!(
            c.until(15, || curl_in(&c.netns, &[&url]) == "hello-pf\n"),
            "websockets={websockets}: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        // Several connections over one session.
        assert_eq!(curl_in(&c.netns, &[&url]), "hello-pf\n");
    }
    let log = c.dir.path().join("pf-closed.log");
    let _pf = port_forward(&c.netns, c.dir.path(), "pod/pf", "18082:9999", true, &log);
    let forwarding = || std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        c.until(15, || forwarding().contains("Forwarding from")),
        "{}",
        forwarding()
    );
    curl_in(&c.netns, &["http://127.0.0.1:18082/"]);
    assert!(
        c.until(10, || forwarding()
            .contains("error forwarding port 9999 to pod")),
        "{}",
        forwarding()
    );
    // exec over SPDY (kubectl's fallback, and older clients'): streams, stdin and the
    // exit status as over WebSocket.
    let spdy_exec = |args: &[&str], input: &[u8]| {
        use std::io::Write;
        let mut cmd = c.k_cmd(args);
        cmd.env("KUBECTL_REMOTE_COMMAND_WEBSOCKETS", "false")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("kubectl");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("stdin");
        child.wait_with_output().expect("kubectl exec")
    };
    let o = spdy_exec(
        &["exec", "pf", "--", "sh", "-c", "echo out; echo err >&2"],
        b"",
    );
    assert_eq!(
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).as_ref(),
            String::from_utf8_lossy(&o.stderr).as_ref()
        ),
        (Some(0), "out\n", "err\n")
    );
    let o = spdy_exec(
        &["exec", "-i", "pf", "--", "tr", "a-z", "A-Z"],
        b"over spdy\n",
    );
    assert_eq!(String::from_utf8_lossy(&o.stdout), "OVER SPDY\n");
    let o = spdy_exec(&["exec", "pf", "--", "sh", "-c", "exit 4"], b"");
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    // kubectl attach: to a container's own process, its stdin given once.
    let attach_pod = r#"
apiVersion: v1
kind: Pod
metadata: {name: once}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 0
  containers:
  - name: c
    image: "localbusybox:1"
    imagePullPolicy: Never
    stdin: true
    stdinOnce: true
    command: [sh, -c, "while read l; do echo got $l; done; echo bye"]
"#;
    let o = c.apply(&["apply", "-f", "-"], attach_pod);
    assert!(o.status.success(), "{}", text(&o));
    c.ok(&["wait", "--for=condition=Ready", "pod/once", "--timeout=60s"]);
    let o = c.apply(&["attach", "-i", "once"], "one\ntwo\n");
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "got one\ngot two\nbye\n",
        "{}",
        text(&o)
    );
    let phase = || c.ok(&["get", "pod", "once", "-o", "jsonpath={.status.phase}"]);
    assert!(c.until(30, || phase() == "Succeeded"), "{}", phase());
    c.ok(&["delete", "pod", "once", "--timeout=30s"]);
    c.ok(&["delete", "pod", "pf", "--timeout=30s"]);

    // Everything deleted: the engine has no container of a pod left.
    c.ok(&["delete", "deploy", "web"]);
    c.ok(&[
        "delete",
        "pod",
        "reader",
        "crash",
        "client",
        "inits",
        "--timeout=30s",
    ]);
    c.ok(&["delete", "job", "once"]);
    let left = || {
        let ps = c.quai(&["ps", "-a", "--format", "{{.Names}}"], None, "");
        String::from_utf8_lossy(&ps.stdout)
            .lines()
            .filter(|l| l.starts_with("k8s_"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert!(c.until(30, || left().is_empty()), "left: {:?}", left());
}

/// Run `f` on a thread of its own inside network namespace `netns`, on a tokio runtime
/// there (its sockets are the namespace's; the rest of the test is not moved).
fn in_netns<T: Send + 'static>(
    netns: &str,
    f: impl FnOnce() -> std::pin::Pin<Box<dyn std::future::Future<Output = T>>> + Send + 'static,
) -> std::thread::JoinHandle<T> {
    let path = format!("/run/netns/{netns}");
    std::thread::spawn(move || {
        use std::os::fd::AsRawFd;
        let f_ns = std::fs::File::open(&path).expect("netns");
        // SAFETY: setns(2) on a descriptor this thread holds; only this thread moves.
        let rc = unsafe { libc::setns(f_ns.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns {path}");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(f())
    })
}

#[test]
fn kube_rs_watchers_follow_changes_across_a_restart() {
    if !root_or_skip("kube_rs_watchers_follow_changes_across_a_restart") {
        return;
    }
    use futures_util::StreamExt;
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::runtime::watcher;

    let mut c = Cluster::start();
    let kubeconfig = c.kubeconfig();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let watching = in_netns(&c.netns, move || {
        Box::pin(async move {
            let kc = kube::config::Kubeconfig::read_from(&kubeconfig).expect("kubeconfig");
            let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
                .await
                .expect("config");
            let client = kube::Client::try_from(cfg).expect("client");
            let api: kube::Api<ConfigMap> = kube::Api::namespaced(client.clone(), "default");
            // Writes through kube-rs: create, then server-side apply.
            let cm: ConfigMap = serde_json::from_value(serde_json::json!({
                "metadata": {"name": "first"}, "data": {"k": "1"}}))
            .expect("cm");
            api.create(&Default::default(), &cm).await.expect("create");
            let patch = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "first"}, "data": {"k": "2"}});
            // The create's manager owns data.k: a plain apply that changes it is a
            // conflict (kube's 409), a forced one takes it over.
            let conflict = api
                .patch(
                    "first",
                    &kube::api::PatchParams::apply("kube-rs-test"),
                    &kube::api::Patch::Apply(&patch),
                )
                .await;
            match conflict {
                Err(kube::Error::Api(e)) => {
                    assert_eq!((e.code, e.reason.as_str()), (409, "Conflict"), "{e:?}");
                    assert!(e.message.contains(".data.k"), "{e:?}");
                }
                other => panic!("apply without force: {other:?}"),
            }
            let applied = api
                .patch(
                    "first",
                    &kube::api::PatchParams::apply("kube-rs-test").force(),
                    &kube::api::Patch::Apply(&patch),
                )
                .await
                .expect("apply");
            assert_eq!(
                applied.data.and_then(|d| d.get("k").cloned()).as_deref(),
                Some("2")
            );
            // Two watchers: a list then watch, and a streaming list (sendInitialEvents).
            let plain = watcher(api.clone(), watcher::Config::default()).boxed();
            let streaming =
                watcher(api.clone(), watcher::Config::default().streaming_lists()).boxed();
            let mut both = futures_util::stream::select(
                plain.map(|e| ("list", e)),
                streaming.map(|e| ("stream", e)),
            );
            let mut stop = stop_rx;
            loop {
                tokio::select! {
                    _ = &mut stop => break,
                    ev = both.next() => {
                        let Some((who, ev)) = ev else { break };
                        let line = match ev {
                            Ok(watcher::Event::Init) => format!("{who} init"),
                            Ok(watcher::Event::InitApply(o)) => format!("{who} initapply {}", o.metadata.name.unwrap_or_default()),
                            Ok(watcher::Event::InitDone) => format!("{who} initdone"),
                            Ok(watcher::Event::Apply(o)) => format!("{who} apply {}", o.metadata.name.unwrap_or_default()),
                            Ok(watcher::Event::Delete(o)) => format!("{who} delete {}", o.metadata.name.unwrap_or_default()),
                            Err(e) => format!("{who} error {e}"),
                        };
                        if tx.send(line).is_err() {
                            break;
                        }
                    }
                }
            }
        })
    });
    let mut seen: Vec<String> = Vec::new();
    let mut wait_for = |want: &str, secs: u64| -> bool {
        let end = Instant::now() + Duration::from_secs(secs);
        loop {
            if seen.iter().any(|l| l == want) {
                return true;
            }
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            match rx.recv_timeout(left) {
                Ok(l) => seen.push(l),
                Err(_) => return false,
            }
        }
    };
    for w in [
        "list initapply first",
        "list initdone",
        "stream initapply first",
        "stream initdone",
    ] {
        assert!(wait_for(w, 20), "{w}: {:?}", seen);
    }
    c.ok(&["create", "configmap", "second", "--from-literal=k=v"]);
    assert!(wait_for("list apply second", 10));
    assert!(wait_for("stream apply second", 10));
    c.ok(&["delete", "configmap", "first"]);
    assert!(wait_for("list delete first", 10));
    assert!(wait_for("stream delete first", 10));
    // The server restarts; the watchers reconnect and miss nothing.
    c.stop();
    c.boot();
    c.ok(&["create", "configmap", "third", "--from-literal=k=v"]);
    assert!(
        wait_for("list apply third", 30),
        "{seen:?}\n{}",
        c.server_log()
    );
    assert!(wait_for("stream apply third", 30), "{seen:?}");
    let _ = stop_tx.send(());
    drop(rx);
    watching.join().expect("the kube-rs thread");
}

#[test]
fn the_python_client_reads_writes_and_watches() {
    if !root_or_skip("the_python_client_reads_writes_and_watches") {
        return;
    }
    let c = Cluster::with_agent();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cluster/python_client.py");
    let o = Command::new("nsenter")
        .arg(format!("--net=/run/netns/{}", c.netns))
        .arg("python3")
        .arg(&script)
        .env("KUBECONFIG", c.kubeconfig())
        .stdin(Stdio::null())
        .output()
        .expect("python3");
    let out = text(&o);
    assert!(o.status.success(), "{out}\nserver: {}", c.server_log());
    for line in [
        "configmap ok",
        "404 ok",
        "deployment ok",
        "watch ok",
        "selectors ok",
        "scale ok",
        "exec and logs ok",
        "409 and 422 ok",
        "job ok",
    ] {
        assert!(out.contains(line), "{line}: {out}");
    }
}

/// Two machines: network namespaces joined by a veth pair, each with its own engine
/// root; the server (with its agent) on A, an agent on B.
struct TwoNodes {
    dir: tempfile::TempDir,
    a: String,
    b: String,
    server: Option<Child>,
    agent: Option<Child>,
    /// More processes of the test's (etcd, a second server), stopped first.
    others: Vec<Child>,
}

impl TwoNodes {
    fn start() -> TwoNodes {
        let mut t = TwoNodes::hosts();
        t.server = Some(t.spawn(
            "a",
            &[
                "cluster",
                "server",
                "--listen",
                "10.99.0.1:6443",
                "--node-name",
                "node-a",
                "--node-monitor-grace-period",
                "4",
                "--data-dir",
                t.path("data").to_str().expect("utf-8"),
                "--write-kubeconfig",
                t.path("kubeconfig").to_str().expect("utf-8"),
            ],
        ));
        t.join_b();
        t
    }

    /// Two hosts (network namespaces joined by a veth, 10.99.0.1 and .2), each with an
    /// engine root holding busybox; nothing runs yet.
    fn hosts() -> TwoNodes {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = common::netns_add("quai-ka", dir.path());
        let b = common::netns_add("quai-kb", dir.path());
        let tag = &a[a.len().saturating_sub(6)..];
        let (va, vb) = (format!("qka{tag}"), format!("qkb{tag}"));
        let ip = |args: &[&str]| {
            let ok = Command::new("ip")
                .args(args)
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "ip {args:?}");
        };
        ip(&[
            "link", "add", &va, "netns", &a, "type", "veth", "peer", "name", &vb, "netns", &b,
        ]);
        ip(&["-n", &a, "addr", "add", "10.99.0.1/24", "dev", &va]);
        ip(&["-n", &b, "addr", "add", "10.99.0.2/24", "dev", &vb]);
        ip(&["-n", &a, "link", "set", &va, "up"]);
        ip(&["-n", &b, "link", "set", &vb, "up"]);
        let t = TwoNodes {
            dir,
            a,
            b,
            server: None,
            agent: None,
            others: Vec::new(),
        };
        let tar = busybox_tar(t.dir.path());
        for n in ["a", "b"] {
            let o = t.quai(
                n,
                &[
                    "import",
                    "-c",
                    "CMD [\"/bin/sh\"]",
                    tar.to_str().expect("utf-8"),
                    "localbusybox:1",
                ],
            );
            assert!(o.status.success(), "import: {}", text(&o));
        }
        t
    }

    /// B joins A's server as an agent.
    fn join_b(&mut self) {
        let t = self;
        assert!(t.until(20, || t.path("kubeconfig").exists()
            && t.k(&["get", "--raw", "/readyz"]).status.success()));
        // B joins with the join token alone: the CA it fetches is checked against it,
        // and one that does not match is refused.
        let join = std::fs::read_to_string(t.path("data").join("join-token")).expect("join");
        let (_, secret) = join.trim().split_once("::").expect("K10<hash>::<token>");
        let forged = format!("K10{}::{secret}", "0".repeat(64));
        let o = t
            .quai_cmd(
                "b",
                &[
                    "cluster",
                    "agent",
                    "--server",
                    "https://10.99.0.1:6443",
                    "--token",
                    &forged,
                ],
            )
            .output()
            .expect("agent");
        assert!(!o.status.success());
        assert!(
            text(&o).contains("is not the one the join token names"),
            "{}",
            text(&o)
        );
        t.agent = Some(t.spawn(
            "b",
            &[
                "cluster",
                "agent",
                "--server",
                "https://10.99.0.1:6443",
                "--token",
                join.trim(),
                "--node-name",
                "node-b",
                "--pod-cidr",
                "10.42.1.0/24",
                "--node-ip",
                "10.99.0.2",
            ],
        ));
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn ns(&self, node: &str) -> &str {
        if node == "a" {
            &self.a
        } else {
            &self.b
        }
    }

    fn quai_cmd(&self, node: &str, args: &[&str]) -> Command {
        let mut c = Command::new("nsenter");
        c.arg(format!("--net=/run/netns/{}", self.ns(node)))
            .arg(quai())
            .args(args)
            .env("QUAI_ROOT", self.path(&format!("root-{node}")))
            .env("QUAI_RUN_DIR", self.path(&format!("run-{node}")))
            .stdin(Stdio::null());
        c
    }

    fn quai(&self, node: &str, args: &[&str]) -> Output {
        self.quai_cmd(node, args).output().expect("quai")
    }

    fn spawn(&self, node: &str, args: &[&str]) -> Child {
        let log = std::fs::File::create(self.path(&format!("{node}.log"))).expect("log");
        self.quai_cmd(node, args)
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn")
    }

    fn k(&self, args: &[&str]) -> Output {
        self.k_in(args, None)
    }

    /// kubectl on node A, with `input` on its stdin when given.
    fn k_in(&self, args: &[&str], input: Option<&[u8]>) -> Output {
        use std::io::Write;
        let mut c = Command::new("nsenter");
        c.arg(format!("--net=/run/netns/{}", self.a))
            .arg(kubectl_bin())
            .args(args)
            .env("KUBECONFIG", self.path("kubeconfig"))
            .env("KUBECACHEDIR", self.path("cache"))
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().expect("kubectl");
        if let (Some(i), Some(mut w)) = (input, child.stdin.take()) {
            w.write_all(i).expect("kubectl stdin");
        }
        child.wait_with_output().expect("kubectl")
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.k(args);
        assert!(o.status.success(), "kubectl {args:?}: {}", text(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    fn until(&self, secs: u64, f: impl FnMut() -> bool) -> bool {
        until(secs, f)
    }

    fn curl_from(&self, node: &str, url: &str) -> String {
        let o = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", self.ns(node)))
            .args([
                "curl",
                "-s",
                "-m",
                "2",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                url,
            ])
            .output()
            .expect("curl");
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
}

impl Drop for TwoNodes {
    fn drop(&mut self) {
        let others = std::mem::take(&mut self.others);
        for c in [self.agent.take(), self.server.take()]
            .into_iter()
            .flatten()
            .chain(others.into_iter().rev())
        {
            let mut c = c;
            let _ = c.kill();
            let _ = c.wait();
        }
        for n in ["a", "b"] {
            let ids = self.quai(n, &["ps", "-aq"]);
            for id in String::from_utf8_lossy(&ids.stdout).lines() {
                let _ = self.quai(n, &["rm", "-f", "-v", id]);
            }
            let _ = self.quai(n, &["network", "prune", "-f"]);
        }
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

#[test]
fn a_second_node_receives_pods_and_a_lost_node_is_drained() {
    if !root_or_skip("a_second_node_receives_pods_and_a_lost_node_is_drained") {
        return;
    }
    let mut t = TwoNodes::start();
    assert!(
        t.until(20, || {
            let n = t.ok(&["get", "nodes", "--no-headers"]);
            n.lines().filter(|l| l.contains(" Ready ")).count() == 2
        }),
        "nodes: {}",
        t.ok(&["get", "nodes"])
    );
    let app = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: spread}
spec:
  replicas: 2
  selector: {matchLabels: {app: spread}}
  template:
    metadata: {labels: {app: spread}}
    spec:
      terminationGracePeriodSeconds: 0
      tolerations:
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 1}
      containers:
      - {name: httpd, image: "localbusybox:1", imagePullPolicy: Never, command: [httpd, -f, -p, "8080"]}
"#;
    let o = t.k_in(&["apply", "-f", "-"], Some(app.as_bytes()));
    assert!(o.status.success(), "{}", text(&o));
    // One pod on each node (spreading), each reachable from the other machine.
    let wide = |t: &TwoNodes| t.ok(&["get", "pods", "-o", "wide", "--no-headers"]);
    assert!(
        t.until(30, || {
            let w = wide(&t);
            w.lines().filter(|l| l.contains("Running")).count() == 2
                && w.contains("node-a")
                && w.contains("node-b")
        }),
        "pods: {}",
        wide(&t)
    );
    let ip_on = |node: &str| {
        t.ok(&[
            "get",
            "pods",
            "--field-selector",
            &format!("spec.nodeName={node}"),
            "-o",
            "jsonpath={.items[0].status.podIP}",
        ])
    };
    let (ip_a, ip_b) = (ip_on("node-a"), ip_on("node-b"));
    // Logs and exec of a pod on the other machine go through its agent's kubelet API.
    let pod_b = t.ok(&[
        "get",
        "pods",
        "--field-selector",
        "spec.nodeName=node-b",
        "-o",
        "jsonpath={.items[0].metadata.name}",
    ]);
    assert_eq!(
        t.ok(&[
            "exec",
            &pod_b,
            "--",
            "sh",
            "-c",
            "echo on-b; cat /etc/hostname"
        ]),
        format!("on-b\n{pod_b}\n")
    );
    let exit = t.k(&["exec", &pod_b, "--", "sh", "-c", "exit 7"]);
    assert_eq!(exit.status.code(), Some(7), "{}", text(&exit));
    t.ok(&[
        "exec",
        &pod_b,
        "--",
        "sh",
        "-c",
        "echo from-b-log > /proc/1/fd/1",
    ]);
    assert!(
        t.until(10, || t.ok(&["logs", &pod_b]).contains("from-b-log")),
        "logs: {}",
        t.ok(&["logs", &pod_b])
    );
    let stdin = t.k_in(
        &["exec", "-i", &pod_b, "--", "tr", "a-z", "A-Z"],
        Some(b"across nodes\n"),
    );
    assert_eq!(text(&stdin), "ACROSS NODES\n");
    // Required anti-affinity by host: one replica per node, the third waits and says why.
    let apart = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: apart}
spec:
  replicas: 3
  selector: {matchLabels: {app: apart}}
  template:
    metadata: {labels: {app: apart}}
    spec:
      terminationGracePeriodSeconds: 0
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - labelSelector: {matchLabels: {app: apart}}
            topologyKey: kubernetes.io/hostname
      containers:
      - {name: c, image: "localbusybox:1", imagePullPolicy: Never, command: [sleep, "3600"]}
"#;
    let o = t.k_in(&["apply", "-f", "-"], Some(apart.as_bytes()));
    assert!(o.status.success(), "{}", text(&o));
    let placed = || {
        t.ok(&[
            "get",
            "pods",
            "-l",
            "app=apart",
            "-o",
            "jsonpath={range .items[*]}{.spec.nodeName}{\"|\"}{.status.conditions[?(@.type==\"PodScheduled\")].message}{\"\\n\"}{end}",
        ])
    };
    assert!(
        t.until(30, || {
            let p = placed();
            p.contains("node-a|")
                && p.contains("node-b|")
                && p.contains(
                    "|0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules.",
                )
        }),
        "{}",
        placed()
    );
    t.ok(&["delete", "deploy", "apart"]);
    // port-forward to the pod on the other machine, through its agent.
    let log = t.path("pf-b.log");
    let _pf = port_forward(
        &t.a,
        t.dir.path(),
        &format!("pod/{pod_b}"),
        "18090:8080",
        true,
        &log,
    );
    assert!(
        t.until(15, || curl_in(
            &t.a,
            &[
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "http://127.0.0.1:18090/"
            ]
        ) == "404"),
        "{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    // B's range came from the control plane: the cluster's next /24.
    assert!(ip_b.starts_with("10.42.1."), "{ip_b}");
    assert_eq!(
        t.ok(&["get", "node", "node-b", "-o", "jsonpath={.spec.podCIDR}"]),
        "10.42.1.0/24"
    );
    assert!(
        t.until(10, || t.curl_from("a", &format!("http://{ip_b}:8080/"))
            == "404"),
        "A cannot reach B's pod"
    );
    assert!(
        t.until(10, || t.curl_from("b", &format!("http://{ip_a}:8080/"))
            == "404"),
        "B cannot reach A's pod"
    );
    // A Service answers on both nodes.
    t.ok(&[
        "expose",
        "deploy",
        "spread",
        "--port=80",
        "--target-port=8080",
    ]);
    let svc = t.ok(&["get", "svc", "spread", "-o", "jsonpath={.spec.clusterIP}"]);
    assert!(
        t.until(10, || t.curl_from("b", &format!("http://{svc}/")) == "404"),
        "service from B"
    );

    // B's agent dies: B turns NotReady, its pod is evicted and replaced on A.
    if let Some(mut a) = t.agent.take() {
        let _ = a.kill();
        let _ = a.wait();
    }
    assert!(t.until(30, || t
        .ok(&["get", "node", "node-b", "--no-headers"])
        .contains("NotReady")));
    assert!(
        t.until(30, || {
            let w = wide(&t);
            w.lines()
                .filter(|l| l.contains("Running") && l.contains("node-a"))
                .count()
                == 2
        }),
        "pods: {}",
        wide(&t)
    );
    let taints = t.ok(&[
        "get",
        "node",
        "node-b",
        "-o",
        "jsonpath={.spec.taints[*].key}",
    ]);
    assert!(
        taints.contains("node.kubernetes.io/unreachable"),
        "{taints}"
    );
}

/// Two API servers on one etcd (a real etcd 3.4 member in the test's namespace),
/// stopped, the member too, and the namespace removed even when a check fails.
struct SharedEtcd {
    dir: tempfile::TempDir,
    netns: String,
    etcd: Option<Child>,
    servers: Vec<Option<Child>>,
}

impl SharedEtcd {
    fn start() -> SharedEtcd {
        let dir = tempfile::tempdir().expect("tempdir");
        let netns = common::netns_add("quai-e", dir.path());
        let log = std::fs::File::create(dir.path().join("etcd.log")).expect("log");
        let etcd = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{netns}"))
            .args(["etcd", "--data-dir"])
            .arg(dir.path().join("etcd"))
            .args([
                "--listen-client-urls",
                "http://127.0.0.1:2379",
                "--advertise-client-urls",
                "http://127.0.0.1:2379",
                "--listen-peer-urls",
                "http://127.0.0.1:2380",
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("etcd (Debian's etcd-server, installed by scripts/deps.sh)");
        SharedEtcd {
            dir,
            netns,
            etcd: Some(etcd),
            servers: Vec::new(),
        }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    /// Start server `i` on port 6443+i; it answers before this returns.
    fn server(&mut self, i: usize) {
        let data = self.path(&format!("data{i}"));
        let log = std::fs::File::create(self.path(&format!("server{i}.log"))).expect("log");
        let child = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", self.netns))
            .arg(quai())
            .args(["cluster", "server", "--no-agent", "--datastore"])
            .arg("etcd://127.0.0.1:2379")
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", 6443 + i))
            .arg("--data-dir")
            .arg(&data)
            .arg("--write-kubeconfig")
            .arg(self.path(&format!("kubeconfig{i}")))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start the server");
        while self.servers.len() <= i {
            self.servers.push(None);
        }
        self.servers[i] = Some(child);
        let end = Instant::now() + Duration::from_secs(20);
        while Instant::now() < end {
            if self.path(&format!("kubeconfig{i}")).exists()
                && self.k(i, &["get", "--raw", "/readyz"]).status.success()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("server {i} did not answer: {}", self.logs());
    }

    fn logs(&self) -> String {
        let mut s = String::new();
        for f in ["etcd.log", "server0.log", "server1.log"] {
            let t = std::fs::read_to_string(self.path(f)).unwrap_or_default();
            let tail: Vec<&str> = t.lines().rev().take(15).collect();
            s.push_str(&format!("\n--- {f}\n"));
            for l in tail.iter().rev() {
                s.push_str(l);
                s.push('\n');
            }
        }
        s
    }

    fn k_cmd(&self, i: usize, args: &[&str]) -> Command {
        let mut c = Command::new("nsenter");
        c.arg(format!("--net=/run/netns/{}", self.netns))
            .arg(kubectl_bin())
            .args(args)
            .env("KUBECONFIG", self.path(&format!("kubeconfig{i}")))
            .env("KUBECACHEDIR", self.path(&format!("cache{i}")))
            .stdin(Stdio::null());
        c
    }

    fn k(&self, i: usize, args: &[&str]) -> Output {
        self.k_cmd(i, args).output().expect("kubectl")
    }

    fn ok(&self, i: usize, args: &[&str]) -> String {
        let o = self.k(i, args);
        assert!(
            o.status.success(),
            "kubectl (server {i}) {args:?}: {}{}",
            text(&o),
            self.logs()
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    fn until(&self, secs: u64, f: impl FnMut() -> bool) -> bool {
        until(secs, f)
    }
}

impl Drop for SharedEtcd {
    fn drop(&mut self) {
        for c in self
            .servers
            .iter_mut()
            .chain(std::iter::once(&mut self.etcd))
        {
            if let Some(mut c) = c.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.netns])
            .status();
    }
}

#[test]
fn servers_share_an_etcd_store_and_elect_one_leader() {
    if !root_or_skip("servers_share_an_etcd_store_and_elect_one_leader") {
        return;
    }
    let mut t = SharedEtcd::start();
    t.server(0);
    // The second server joins with the first one's CA and token (as a second kubeadm
    // control-plane node is given the cluster's certificates).
    let d1 = t.path("data1");
    std::fs::create_dir_all(&d1).expect("data1");
    for f in ["ca.crt", "ca.key", "sa.key", "token"] {
        std::fs::copy(t.path("data0").join(f), d1.join(f)).expect("copy the CA and token");
    }
    t.server(1);
    // The `kubernetes` Service's endpoints list both servers (their identity leases).
    let api_ports = |t: &SharedEtcd| {
        t.ok(
            1,
            &[
                "get",
                "endpoints",
                "kubernetes",
                "-o",
                "jsonpath={.subsets[*].ports[*].port}",
            ],
        )
    };
    assert!(
        t.until(15, || api_ports(&t) == "6443 6444"),
        "endpoints: {}",
        api_ports(&t)
    );
    // One store: what one server writes, the other reads, and its watches see.
    t.ok(0, &["create", "configmap", "one", "--from-literal=k=v"]);
    assert_eq!(
        t.ok(1, &["get", "configmap", "one", "-o", "jsonpath={.data.k}"]),
        "v"
    );
    let watch = t
        .k_cmd(1, &["get", "configmap", "-w", "--request-timeout=8s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("watch");
    std::thread::sleep(Duration::from_millis(700));
    t.ok(0, &["create", "configmap", "two", "--from-literal=k=w"]);
    let seen = watch.wait_with_output().expect("watch");
    assert!(
        String::from_utf8_lossy(&seen.stdout).contains("two"),
        "server 1's watch missed server 0's write: {}",
        String::from_utf8_lossy(&seen.stdout)
    );
    // kube-apiserver's key layout, readable with etcdctl.
    let keys = Command::new("nsenter")
        .arg(format!("--net=/run/netns/{}", t.netns))
        .args([
            "etcdctl",
            "--endpoints=127.0.0.1:2379",
            "get",
            "--prefix",
            "--keys-only",
            "/registry/configmaps/default/",
        ])
        .output()
        .expect("etcdctl");
    assert!(
        String::from_utf8_lossy(&keys.stdout).contains("/registry/configmaps/default/one"),
        "{}",
        text(&keys)
    );
    // Optimistic concurrency holds across servers: a stale write is a 409.
    let cm = t.ok(0, &["get", "configmap", "one", "-o", "json"]);
    t.ok(1, &["label", "configmap", "one", "touched=yes"]);
    let stale = {
        use std::io::Write;
        let mut c = t.k_cmd(0, &["replace", "-f", "-"]);
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().expect("kubectl");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(cm.as_bytes())
            .expect("write");
        child.wait_with_output().expect("replace")
    };
    assert!(!stale.status.success());
    assert!(
        text(&stale).contains("the object has been modified"),
        "{}",
        text(&stale)
    );
    // One leader runs the controllers; a Deployment made through the other server is
    // reconciled all the same.
    let holder = |t: &SharedEtcd| {
        t.ok(
            1,
            &[
                "get",
                "lease",
                "-n",
                "kube-system",
                "quai-controller-manager",
                "-o",
                "jsonpath={.spec.holderIdentity}",
            ],
        )
    };
    assert!(holder(&t).starts_with("127.0.0.1:6443_"), "{}", holder(&t));
    t.ok(
        1,
        &[
            "create",
            "deployment",
            "web",
            "--image=nginx:1.25",
            "--replicas=2",
        ],
    );
    let desired = |t: &SharedEtcd| {
        t.ok(
            1,
            &[
                "get",
                "rs",
                "-l",
                "app=web",
                "-o",
                "jsonpath={.items[*].spec.replicas}",
            ],
        )
    };
    assert!(t.until(10, || desired(&t) == "2"), "rs: {}", desired(&t));
    // The leader dies: the other server takes the lease once it expires (15 s) and
    // reconciles from then on.
    if let Some(mut c) = t.servers[0].take() {
        let _ = c.kill();
        let _ = c.wait();
    }
    t.ok(1, &["scale", "deployment", "web", "--replicas=3"]);
    assert!(
        t.until(30, || holder(&t).starts_with("127.0.0.1:6444_")),
        "lease: {}{}",
        holder(&t),
        t.logs()
    );
    assert!(t.until(10, || desired(&t) == "3"), "rs: {}", desired(&t));
    // The dead server's lease runs out: the endpoints keep only the live one.
    assert!(
        t.until(30, || api_ports(&t) == "6444"),
        "endpoints: {}",
        api_ports(&t)
    );
    // A restarted server resumes on the same store.
    t.server(0);
    assert_eq!(
        t.ok(
            0,
            &[
                "get",
                "configmap",
                "one",
                "-o",
                "jsonpath={.metadata.labels.touched}"
            ]
        ),
        "yes"
    );
}

#[test]
fn servers_on_one_etcd_reach_each_others_pods() {
    if !root_or_skip("servers_on_one_etcd_reach_each_others_pods") {
        return;
    }
    let mut t = TwoNodes::hosts();
    let log = std::fs::File::create(t.path("etcd.log")).expect("log");
    let etcd = Command::new("nsenter")
        .arg(format!("--net=/run/netns/{}", t.a))
        .args(["etcd", "--data-dir"])
        .arg(t.path("etcd"))
        .args([
            "--listen-client-urls",
            "http://10.99.0.1:2379",
            "--advertise-client-urls",
            "http://10.99.0.1:2379",
            "--listen-peer-urls",
            "http://127.0.0.1:2380",
        ])
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("etcd");
    t.others.push(etcd);
    let server = |t: &TwoNodes, node: &str, ip: &str| {
        t.spawn(
            node,
            &[
                "cluster",
                "server",
                "--datastore",
                "etcd://10.99.0.1:2379",
                "--listen",
                &format!("{ip}:6443"),
                "--node-name",
                &format!("node-{node}"),
                "--data-dir",
                t.path(&format!("data-{node}")).to_str().expect("utf-8"),
                "--write-kubeconfig",
                t.path(&format!("kubeconfig-{node}"))
                    .to_str()
                    .expect("utf-8"),
            ],
        )
    };
    t.server = Some(server(&t, "a", "10.99.0.1"));
    assert!(
        t.until(30, || t.path("kubeconfig-a").exists()),
        "server a: {}",
        std::fs::read_to_string(t.path("a.log")).unwrap_or_default()
    );
    std::fs::create_dir_all(t.path("data-b")).expect("data-b");
    for f in ["ca.crt", "ca.key", "sa.key", "token"] {
        std::fs::copy(t.path("data-a").join(f), t.path("data-b").join(f)).expect("copy");
    }
    let b = server(&t, "b", "10.99.0.2");
    t.others.push(b);
    std::fs::copy(t.path("kubeconfig-a"), t.path("kubeconfig")).expect("kubeconfig");
    assert!(
        t.until(40, || {
            let n = t.k(&["get", "nodes", "--no-headers"]);
            String::from_utf8_lossy(&n.stdout)
                .lines()
                .filter(|l| l.contains(" Ready "))
                .count()
                == 2
        }),
        "nodes: {}\n{}",
        text(&t.k(&["get", "nodes"])),
        std::fs::read_to_string(t.path("b.log")).unwrap_or_default()
    );
    // A pod on each server's node; each server reaches the other's through its agent.
    for node in ["a", "b"] {
        let pod = format!(
            r#"
apiVersion: v1
kind: Pod
metadata: {{name: on-{node}}}
spec:
  terminationGracePeriodSeconds: 0
  nodeSelector: {{kubernetes.io/hostname: node-{node}}}
  containers:
  - {{name: c, image: "localbusybox:1", imagePullPolicy: Never, command: [sleep, "3600"]}}
"#
        );
        let o = t.k_in(&["apply", "-f", "-"], Some(pod.as_bytes()));
        assert!(o.status.success(), "{}", text(&o));
    }
    let o = t.k(&[
        "wait",
        "--for=condition=Ready",
        "pod/on-a",
        "pod/on-b",
        "--timeout=60s",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    for server_kc in ["kubeconfig-a", "kubeconfig-b"] {
        std::fs::copy(t.path(server_kc), t.path("kubeconfig")).expect("kubeconfig");
        for pod in ["on-a", "on-b"] {
            let o = t.k(&["exec", pod, "--", "cat", "/etc/hostname"]);
            assert_eq!(
                String::from_utf8_lossy(&o.stdout),
                format!("{pod}\n"),
                "{server_kc} exec {pod}: {}",
                text(&o)
            );
        }
    }
}
