//! `POST /containers/create` through `quai system service` with the body docker CLI 28,
//! docker-py and hand-made requests send: the settings take effect in the container,
//! `inspect` shows them back, and a bad body is refused in dockerd's words with nothing
//! created.

mod api_common;
mod common;
mod engine_common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use api_common::{docker_cli, text, Service};
use engine_common::{root_or_skip, Eng};
use serde_json::{json, Value};

/// `quai system service` on a socket in the test's directory (and network namespace).
fn service(e: &Eng) -> Service {
    Service::start(e)
}

/// The docker CLI on the service's socket, with its config in the test's directory.
struct Docker<'a> {
    cli: &'a str,
    sock: &'a Path,
    cfg: PathBuf,
}

impl Docker<'_> {
    fn run(&self, args: &[&str]) -> Output {
        Command::new(self.cli)
            .arg("-H")
            .arg(format!("unix://{}", self.sock.display()))
            .args(args)
            .env("DOCKER_CONFIG", &self.cfg)
            .stdin(Stdio::null())
            .output()
            .expect("docker")
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(o.status.success(), "docker {args:?}: {}", text(&o));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }

    fn inspect(&self, what: &str, format: &str) -> String {
        self.ok(&["inspect", "--format", format, what])
    }
}

/// One HTTP/1.1 request on the socket: the status and the body as JSON.
fn request(sock: &Path, method: &str, path: &str, body: &[u8]) -> (u16, Value) {
    let mut s = std::os::unix::net::UnixStream::connect(sock).expect("connect");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).expect("write");
    s.write_all(body).expect("write");
    let mut out = Vec::new();
    s.read_to_end(&mut out).expect("read");
    let out = String::from_utf8_lossy(&out).into_owned();
    let status: u16 = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_default();
    let (headers, rest) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    // A chunked body: its one chunk.
    let json_text = if headers
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        rest.split_once("\r\n").map_or("", |(_, r)| r)
    } else {
        rest
    };
    let end = json_text.rfind('}').map_or(0, |i| i + 1);
    let v = serde_json::from_str(&json_text[..end]).unwrap_or(Value::Null);
    (status, v)
}

/// The bit of a capability in a `/proc/PID/status` mask line.
fn has_cap(status: &str, line: &str, bit: u32) -> bool {
    status
        .lines()
        .find_map(|l| l.strip_prefix(line))
        .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
        .is_some_and(|m| m & (1 << bit) != 0)
}

#[test]
fn the_docker_cli_creates_with_many_flags() {
    if !root_or_skip("the_docker_cli_creates_with_many_flags") {
        return;
    }
    let Some(cli) = docker_cli() else {
        eprintln!("SKIP the_docker_cli_creates_with_many_flags: no docker CLI (apt-get install -y docker.io)");
        return;
    };
    let e = Eng::new();
    let svc = service(&e);
    let d = Docker {
        cli,
        sock: &svc.sock,
        cfg: e.dir.path().join("docker-config"),
    };
    let hostdir = e.dir.path().join("hostdir");
    std::fs::create_dir_all(&hostdir).expect("hostdir");
    std::fs::write(hostdir.join("file"), "from-host\n").expect("file");
    d.ok(&["network", "create", "--subnet", "10.123.7.0/24", "apinet"]);
    d.ok(&["network", "create", "--subnet", "10.123.9.0/24", "backnet"]);
    let bind = format!(
        "type=bind,source={},target=/host,readonly",
        hostdir.display()
    );
    let id = d.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "--mount",
        "type=volume,source=vdata,target=/data,volume-label=team=a",
        "--mount",
        &bind,
        "--mount",
        "type=tmpfs,target=/scratch,tmpfs-size=2m,tmpfs-mode=1770",
        "-v",
        "named:/named",
        "-v",
        "/anon",
        "--health-cmd",
        "true",
        "--health-interval",
        "1s",
        "--log-opt",
        "max-size=1m",
        "--log-opt",
        "max-file=2",
        "--ulimit",
        "nofile=1024:2048",
        "--sysctl",
        "net.ipv4.ip_unprivileged_port_start=80",
        "--shm-size",
        "8m",
        "--device",
        "/dev/null:/dev/mynull",
        "--network",
        "apinet",
        "--network-alias",
        "webalias",
        "--ip",
        "10.123.7.50",
        "-e",
        "A=1",
        "-l",
        "app=x",
        "--restart",
        "on-failure:2",
        "--cap-add",
        "NET_ADMIN",
        "--read-only",
        "--tmpfs",
        "/run:size=1m",
        "-u",
        "1000:1000",
        "-w",
        "/tmp",
        "--hostname",
        "myhost",
        "--dns-search",
        "example.org",
        "--dns-option",
        "ndots:3",
        "--add-host",
        "db.local:10.1.2.3",
        "--entrypoint",
        "",
        "localbusybox",
        "sleep",
        "60",
    ]);
    assert_eq!(id.len(), 64, "{id}");
    // Inside the running container.
    let sh = |script: &str| e.ok(&["exec", "-u", "0", "web", "sh", "-c", script]);
    assert_eq!(e.ok(&["exec", "web", "id", "-u"]), "1000");
    assert_eq!(e.ok(&["exec", "web", "pwd"]), "/tmp");
    assert_eq!(sh("hostname"), "myhost");
    assert_eq!(sh("echo $A"), "1");
    assert_eq!(sh("ulimit -n; ulimit -Hn"), "1024\n2048");
    assert_eq!(
        sh("cat /proc/sys/net/ipv4/ip_unprivileged_port_start"),
        "80"
    );
    assert_eq!(sh("df -k /dev/shm | awk 'NR==2 {print $2}'"), "8192");
    assert_eq!(sh("df -k /scratch | awk 'NR==2 {print $2}'"), "2048");
    assert_eq!(sh("stat -c %a /scratch"), "1770");
    assert_eq!(sh("df -k /run | awk 'NR==2 {print $2}'"), "1024");
    assert_eq!(sh("test -c /dev/mynull && echo dev"), "dev");
    assert_eq!(sh("cat /host/file"), "from-host");
    assert_eq!(
        sh("touch /host/x 2>/dev/null && echo rw || echo ro"),
        "ro",
        "a readonly bind"
    );
    assert_eq!(
        sh("touch /data/x /named/x /anon/x /scratch/x /run/x && echo rw"),
        "rw"
    );
    assert_eq!(
        sh("touch /etc/x 2>/dev/null && echo rw || echo ro"),
        "ro",
        "--read-only"
    );
    assert_eq!(
        sh("grep -E '^(search|options)' /etc/resolv.conf"),
        "search example.org\noptions ndots:3"
    );
    assert_eq!(sh("grep db.local /etc/hosts"), "10.1.2.3\tdb.local");
    let status = sh("cat /proc/1/status");
    assert!(has_cap(&status, "CapBnd:", 12), "NET_ADMIN: {status}");
    // Another container on the network finds it by its alias.
    let o = d.run(&[
        "run",
        "--rm",
        "--network",
        "apinet",
        "localbusybox",
        "sh",
        "-c",
        "nslookup webalias; ping -c1 -W3 webalias >/dev/null && echo reached",
    ]);
    let out = text(&o);
    assert!(
        out.contains("10.123.7.50") && out.contains("reached"),
        "{out}"
    );
    // What inspect shows back, as asked.
    for (format, want) in [
        ("{{.Config.User}} {{.Config.WorkingDir}} {{.Config.Hostname}}", "1000:1000 /tmp myhost"),
        ("{{json .Config.Entrypoint}} {{json .Config.Cmd}}", "null [\"sleep\",\"60\"]"),
        ("{{json .Config.Healthcheck}}", "{\"Test\":[\"CMD-SHELL\",\"true\"],\"Interval\":1000000000}"),
        ("{{.Config.Labels.app}} {{json .Config.Volumes}}", "x {\"/anon\":{}}"),
        ("{{json .HostConfig.LogConfig}}", "{\"Type\":\"json-file\",\"Config\":{\"max-file\":\"2\",\"max-size\":\"1m\"}}"),
        ("{{range .HostConfig.Ulimits}}{{.Name}}={{.Soft}}:{{.Hard}}{{end}}", "nofile=1024:2048"),
        ("{{json .HostConfig.Sysctls}}", "{\"net.ipv4.ip_unprivileged_port_start\":\"80\"}"),
        ("{{.HostConfig.ShmSize}}", "8388608"),
        ("{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}", "on-failure:2"),
        ("{{json .HostConfig.CapAdd}} {{.HostConfig.ReadonlyRootfs}}", "[\"CAP_NET_ADMIN\"] true"),
        ("{{json .HostConfig.Tmpfs}} {{json .HostConfig.Binds}}", "{\"/run\":\"size=1m\"} [\"named:/named\"]"),
        ("{{range .HostConfig.Devices}}{{.PathOnHost}}:{{.PathInContainer}}:{{.CgroupPermissions}}{{end}}", "/dev/null:/dev/mynull:rwm"),
        (
            "{{range .HostConfig.Mounts}}{{.Type}},{{.Source}},{{.Target}},{{.ReadOnly}} {{end}}",
            &format!("volume,vdata,/data,false bind,{},/host,true tmpfs,,/scratch,false", hostdir.display()),
        ),
        ("{{json (index .HostConfig.Mounts 2).TmpfsOptions}}", "{\"SizeBytes\":2097152,\"Mode\":1016}"),
        ("{{json .HostConfig.DnsSearch}} {{json .HostConfig.DnsOptions}} {{json .HostConfig.ExtraHosts}}", "[\"example.org\"] [\"ndots:3\"] [\"db.local:10.1.2.3\"]"),
        ("{{.HostConfig.PublishAllPorts}} {{.Config.StdinOnce}}", "false false"),
        ("{{.HostConfig.NetworkMode}}", "apinet"),
        ("{{json .NetworkSettings.Networks.apinet.Aliases}}", "[\"webalias\"]"),
        ("{{.NetworkSettings.Networks.apinet.IPAddress}} {{.NetworkSettings.Networks.apinet.IPAMConfig.IPv4Address}}", "10.123.7.50 10.123.7.50"),
    ] {
        assert_eq!(d.inspect("web", format), want, "{format}");
    }
    assert_eq!(
        d.ok(&["volume", "inspect", "--format", "{{.Labels.team}}", "vdata"]),
        "a"
    );
    // Several networks at create (API 1.44): the first is the mode, the others joined.
    d.ok(&[
        "create",
        "--name",
        "multi",
        "--network",
        "apinet",
        "--network",
        "backnet",
        "localbusybox",
        "sleep",
        "60",
    ]);
    assert_eq!(
        d.inspect(
            "multi",
            "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}"
        ),
        "apinet backnet"
    );
    d.ok(&["start", "multi"]);
    let ips = d.inspect(
        "multi",
        "{{.NetworkSettings.Networks.apinet.IPAddress}} {{.NetworkSettings.Networks.backnet.IPAddress}}",
    );
    assert!(
        ips.starts_with("10.123.7.") && ips.contains(" 10.123.9."),
        "{ips}"
    );
    // Warnings reach the client; the platform query is read.
    let o = d.run(&[
        "create",
        "--oom-kill-disable",
        "--platform",
        "linux/amd64",
        "--network",
        "none",
        "localbusybox",
        "true",
    ]);
    let out = text(&o);
    if std::env::consts::ARCH == "x86_64" {
        assert!(o.status.success(), "{out}");
    }
    assert!(
        out.contains(
            "WARNING: OOM killer is disabled for the container, but no memory limit is set"
        ),
        "{out}"
    );
    // The docker CLI's own refusal of a bind whose source is missing, with dockerd's words.
    let o = d.run(&[
        "run",
        "--rm",
        "--mount",
        "type=bind,source=/nonexistent-quai,target=/x",
        "localbusybox",
        "true",
    ]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        text(&o).contains(
            "invalid mount config for type \"bind\": bind source path does not exist: /nonexistent-quai"
        ),
        "{}",
        text(&o)
    );
    d.ok(&["rm", "-f", "web", "multi"]);
}

#[test]
fn docker_py_runs_containers_through_the_api() {
    if !root_or_skip("docker_py_runs_containers_through_the_api") {
        return;
    }
    // Each interpreter that has the `docker` module (Debian's python3-docker, and one on
    // PATH with another docker-py, when there is one).
    let mut pythons: Vec<PathBuf> = Vec::new();
    for p in ["/usr/bin/python3", "python3"] {
        let ok = Command::new(p)
            .args(["-c", "import docker, sys; print(sys.executable)"])
            .output()
            .ok()
            .filter(|o| o.status.success());
        if let Some(o) = ok {
            let exe = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
            let exe = std::fs::canonicalize(&exe).unwrap_or(exe);
            if !pythons.contains(&exe) {
                pythons.push(exe);
            }
        }
    }
    if pythons.is_empty() {
        eprintln!("SKIP docker_py_runs_containers_through_the_api: no docker-py (apt-get install -y python3-docker)");
        return;
    }
    let e = Eng::new();
    let svc = service(&e);
    let hostdir = e.dir.path().join("pyhost");
    std::fs::create_dir_all(&hostdir).expect("hostdir");
    std::fs::write(hostdir.join("file"), "from-host\n").expect("file");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/api_create.py");
    for (i, py) in pythons.iter().enumerate() {
        let o = Command::new(py)
            .arg(&script)
            .arg(&svc.sock)
            .arg(format!("py{i}"))
            .arg(&hostdir)
            .arg(format!("10.123.{}.0/24", 20 + i))
            .arg((18080 + i).to_string())
            .stdin(Stdio::null())
            .output()
            .expect("python");
        assert!(
            o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == "ok",
            "{}: {}",
            py.display(),
            text(&o)
        );
    }
    assert_eq!(e.ok(&["ps", "-aq"]), "", "the script removes what it made");
}

#[test]
fn bad_bodies_are_refused_and_leave_nothing() {
    if !root_or_skip("bad_bodies_are_refused_and_leave_nothing") {
        return;
    }
    let e = Eng::new();
    let svc = service(&e);
    let create = |body: &[u8]| request(&svc.sock, "POST", "/v1.47/containers/create", body);
    e.ok(&["network", "create", "--subnet", "10.123.30.0/24", "side"]);
    let (status, v) = create(b"{\"Image\": \"localbusybox\",");
    assert_eq!(status, 400, "{v}");
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("invalid JSON: ")),
        "{v}"
    );
    let (status, v) = create(b"{}");
    assert_eq!(status, 400, "{v}");
    assert_eq!(
        v["message"],
        "config cannot be empty in order to create a container"
    );
    // A named volume first, then a bind whose source is missing: refused before the
    // volume is made.
    let body = json!({
        "Image": "localbusybox", "Cmd": ["true"],
        "HostConfig": {"Mounts": [
            {"Type": "volume", "Source": "leak", "Target": "/v"},
            {"Type": "bind", "Source": "/x-nonexistent-quai", "Target": "/x"}
        ]}
    });
    let (status, v) = create(body.to_string().as_bytes());
    assert_eq!(status, 400, "{v}");
    assert_eq!(
        v["message"],
        "invalid mount config for type \"bind\": bind source path does not exist: /x-nonexistent-quai"
    );
    for (body, want_status, want) in [
        (
            json!({"Image": "localbusybox", "HostConfig": {"RestartPolicy": {"Name": "sometimes"}}}),
            400,
            "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'",
        ),
        (
            json!({"Image": "localbusybox", "HostConfig": {"NetworkMode": "nosuchnet", "Binds": ["leak2:/v"]}}),
            404,
            "network nosuchnet not found",
        ),
        (
            json!({"Image": "localbusybox", "HostConfig": {"Binds": ["leak3:/v"]},
                   "NetworkingConfig": {"EndpointsConfig": {"bridge": {}, "nosuchnet": {}}}}),
            404,
            "network nosuchnet not found",
        ),
        (
            json!({"Image": "localbusybox", "HostConfig": {"Binds": ["leak4:/v"]},
                   "NetworkingConfig": {"EndpointsConfig": {"bridge": {}, "side": {"IPAMConfig": {"IPv4Address": "10.1.1.1"}}}}}),
            400,
            "invalid config for network side: invalid endpoint settings:\nno configured subnet or ip-range contain the IP address 10.1.1.1",
        ),
        (
            json!({"Image": "localbusybox", "HostConfig": {"NetworkMode": "side", "Binds": ["leak5:/v"]},
                   "NetworkingConfig": {"EndpointsConfig": {"side": {"IPAMConfig": {"IPv4Address": "10.1.1.2"}}}}}),
            400,
            "invalid config for network side: invalid endpoint settings:\nno configured subnet or ip-range contain the IP address 10.1.1.2",
        ),
        (
            json!({"Image": "localbusybox", "Healthcheck": {"Test": ["CMD", "true"], "Interval": 5}}),
            400,
            "Interval in Healthcheck cannot be less than 1ms",
        ),
        (
            json!({"Image": "localbusybox", "HostConfig": {"Mounts": [{"Type": "tmpfs", "Source": "x", "Target": "/t"}]}}),
            400,
            "invalid mount config for type \"tmpfs\": field Source must not be specified",
        ),
        (
            json!({"Image": "nosuchimage", "Cmd": ["true"]}),
            404,
            "No such image: nosuchimage",
        ),
    ] {
        let (status, v) = create(body.to_string().as_bytes());
        assert_eq!((status, v["message"].as_str()), (want_status, Some(want)), "{body}");
    }
    // The platform query: read as containerd reads it.
    let body = json!({"Image": "localbusybox", "Cmd": ["true"]});
    let (status, v) = request(
        &svc.sock,
        "POST",
        "/v1.47/containers/create?platform=bogus/os/x/y",
        body.to_string().as_bytes(),
    );
    assert_eq!(status, 400, "{v}");
    assert_eq!(
        v["message"],
        "\"bogus/os/x/y\": cannot parse platform specifier: invalid argument"
    );
    assert_eq!(e.ok(&["ps", "-aq"]), "", "no container was made");
    assert_eq!(e.ok(&["volume", "ls", "-q"]), "", "no volume was made");
    // A good body after them; then its name again is a conflict.
    let body =
        json!({"Image": "localbusybox", "Cmd": ["true"], "HostConfig": {"NetworkMode": "none"}});
    let (status, v) = request(
        &svc.sock,
        "POST",
        "/v1.47/containers/create?name=once",
        body.to_string().as_bytes(),
    );
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["Warnings"], json!([]));
    // No NetworkMode: dockerd's router names the default network.
    let (status, v) = create(
        json!({"Image": "localbusybox", "Entrypoint": "echo", "Cmd": "hi"})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(status, 201, "{v}");
    let id = v["Id"].as_str().unwrap_or_default().to_string();
    let (status, v) = request(
        &svc.sock,
        "GET",
        &format!("/v1.47/containers/{id}/json"),
        b"",
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["HostConfig"]["NetworkMode"], "bridge");
    assert_eq!(v["Config"]["Entrypoint"], json!(["echo"]));
    assert_eq!(v["Config"]["Cmd"], json!(["hi"]));
    e.ok(&["rm", &id]);
    let (status, v) = request(
        &svc.sock,
        "POST",
        "/v1.47/containers/create?name=once",
        body.to_string().as_bytes(),
    );
    assert_eq!(status, 409, "{v}");
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("is already in use")),
        "{v}"
    );
}
