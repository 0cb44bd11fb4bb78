//! `quai system service`: the docker CLI drives quai through the Docker Engine API
//! (version negotiation, ps, run -d, logs, inspect, stop, rm, images, errors).

mod api_common;
mod common;
mod engine_common;

use std::process::{Command, Output, Stdio};

use api_common::{docker_cli, setup, text, Service};
use engine_common::{root_or_skip, Eng};

#[test]
fn the_docker_cli_drives_quai_through_the_api() {
    let Some((cli, e, svc)) = setup("the_docker_cli_drives_quai_through_the_api") else {
        return;
    };
    let cfg = e.dir.path().join("docker-config");
    let d = |args: &[&str]| svc.docker(cli, args, None);
    let ok = |args: &[&str]| -> String {
        let o = d(args);
        assert!(o.status.success(), "docker {args:?}: {}", text(&o));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    // Foreground runs: the output (stdout and stderr apart) through the hijacked attach,
    // and the exit status, with and without --rm.
    let o = d(&[
        "run",
        "--network",
        "none",
        "localbusybox",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 3",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "out\n");
    assert_eq!(String::from_utf8_lossy(&o.stderr), "err\n");
    let o = d(&[
        "run",
        "--rm",
        "--network",
        "none",
        "localbusybox",
        "sh",
        "-c",
        "echo gone; exit 4",
    ]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "gone\n");
    assert_eq!(
        e.ok(&["ps", "-a", "--format", "{{.Status}}"])
            .lines()
            .count(),
        1
    );
    e.ok(&["rm", "-f", &e.ok(&["ps", "-aq"])]);
    // Negotiation: the CLI speaks the service's version.
    assert_eq!(
        ok(&["version", "--format", "{{.Server.APIVersion}}"]),
        "1.47"
    );
    assert!(ok(&["info", "--format", "{{.OSType}}"]).contains("linux"));
    assert!(ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"]).contains("localbusybox:latest"));
    // run -d, then the everyday verbs on it, through the API and seen by quai itself.
    let id = ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "--network",
        "none",
        "-e",
        "A=1",
        "-l",
        "app=x",
        "localbusybox",
        "sh",
        "-c",
        "echo hello; echo oops >&2; sleep 60",
    ]);
    assert_eq!(id.len(), 64, "{id}");
    assert_eq!(e.inspect("web", ".State.Running"), "true");
    assert_eq!(
        ok(&["ps", "--format", "{{.Names}} {{.Label \"app\"}}"]),
        "web x"
    );
    assert!(e.until(5, || d(&["logs", "web"]).stdout == b"hello\n"));
    let o = d(&["logs", "web"]);
    assert_eq!(String::from_utf8_lossy(&o.stderr), "oops\n");
    assert_eq!(
        ok(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.Config.Env}} {{.Id}}",
            "web"
        ]),
        format!("running [A=1] {id}")
    );
    assert_eq!(
        ok(&["ps", "-a", "--filter", "label=app=x", "-q"]),
        &id[..12]
    );
    // top, diff, rename, events, through the API.
    let top = ok(&["top", "web", "-o", "pid,args"]);
    assert!(top.starts_with("PID") && top.contains("sleep 60"), "{top}");
    assert!(d(&["diff", "web"]).status.success());
    ok(&["rename", "web", "web2"]);
    assert_eq!(e.inspect(&id, ".Name"), "/web2");
    ok(&["rename", "web2", "web"]);
    // (the CLI sends `--until 0s` in whole seconds, as to dockerd: let this one pass)
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let ev = ok(&[
        "events",
        "--since",
        "1h",
        "--until",
        "0s",
        "--filter",
        "event=rename",
        "--format",
        "{{.Action}} {{.Actor.Attributes.name}}",
    ]);
    assert_eq!(ev, "rename web2\nrename web", "{ev}");
    ok(&["stop", "-t", "0", "web"]);
    assert_eq!(e.inspect("web", ".State.Running"), "false");
    assert!(ok(&["ps", "-a", "--format", "{{.Status}}"]).starts_with("Exited (137)"));
    ok(&["start", "web"]);
    assert_eq!(e.inspect("web", ".State.Running"), "true");
    ok(&["kill", "web"]);
    assert_eq!(ok(&["wait", "web"]), "137");
    ok(&["rm", "-f", "web"]);
    assert_eq!(e.ok(&["ps", "-aq"]), "");
    // Volumes and networks, and a container on them.
    assert_eq!(ok(&["volume", "create", "--label", "k=v", "data"]), "data");
    assert_eq!(
        ok(&["volume", "ls", "--format", "{{.Name}} {{.Driver}}"]),
        "data local"
    );
    assert_eq!(
        ok(&["volume", "inspect", "-f", "{{.Labels.k}}", "data"]),
        "v"
    );
    let netid = ok(&["network", "create", "--subnet", "10.123.5.0/24", "apinet"]);
    assert_eq!(netid.len(), 64, "{netid}");
    let nets = ok(&["network", "ls", "--format", "{{.Name}}"]);
    for n in ["apinet", "bridge", "host", "none"] {
        assert!(nets.lines().any(|l| l == n), "{nets}");
    }
    ok(&[
        "run",
        "-d",
        "--name",
        "onnet",
        "--network",
        "apinet",
        "-v",
        "data:/data",
        "localbusybox",
        "sh",
        "-c",
        "echo kept > /data/f; sleep 60",
    ]);
    let ip = ok(&[
        "inspect",
        "-f",
        "{{.NetworkSettings.Networks.apinet.IPAddress}}",
        "onnet",
    ]);
    assert!(ip.starts_with("10.123.5."), "{ip}");
    assert_eq!(
        ok(&[
            "network",
            "inspect",
            "-f",
            "{{range .Containers}}{{.Name}}{{end}}",
            "apinet"
        ]),
        "onnet"
    );
    let o = d(&["volume", "rm", "data"]);
    assert_ne!(o.status.code(), Some(0), "a volume in use stays");
    ok(&["rm", "-f", "onnet"]);
    assert!(e.until(5, || e.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        "data:/d",
        "localbusybox",
        "cat",
        "/d/f"
    ]) == "kept"));
    ok(&["volume", "rm", "data"]);
    ok(&["network", "rm", "apinet"]);
    let o = d(&["network", "rm", "host"]);
    assert!(text(&o).contains("pre-defined network"), "{}", text(&o));
    let o = d(&["volume", "inspect", "nosuch"]);
    assert!(text(&o).contains("no such volume"), "{}", text(&o));
    // Pulls: `docker pull` and the pull of `docker run` for a missing image, from a
    // registry on the test's loopback.
    let regdir = e.dir.path().join("registry");
    let mut reg = e
        .cmd(&[
            "registry",
            "serve",
            "--addr",
            "127.0.0.1:5111",
            "--root",
            regdir.to_str().expect("utf-8"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("registry");
    assert!(e.until(10, || e
        .q(&["tag", "localbusybox", "127.0.0.1:5111/t/bb:v1"])
        .status
        .success()
        && e.q(&["push", "127.0.0.1:5111/t/bb:v1"]).status.success()));
    e.ok(&["rmi", "127.0.0.1:5111/t/bb:v1"]);
    let pulled = ok(&["pull", "127.0.0.1:5111/t/bb:v1"]);
    assert!(
        pulled.contains("Downloaded newer image for 127.0.0.1:5111/t/bb:v1"),
        "{pulled}"
    );
    assert!(e
        .ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .contains("127.0.0.1:5111/t/bb:v1"));
    e.ok(&["rmi", "127.0.0.1:5111/t/bb:v1"]);
    let o = d(&[
        "run",
        "--rm",
        "--network",
        "none",
        "127.0.0.1:5111/t/bb:v1",
        "true",
    ]);
    // (foreground run needs the attach endpoint, not served yet: the pull must happen)
    let _ = o;
    assert!(e
        .ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .contains("127.0.0.1:5111/t/bb:v1"));
    let o = d(&["pull", "127.0.0.1:5111/t/nosuch:v1"]);
    assert_ne!(o.status.code(), Some(0));
    let _ = Command::new("kill").arg(reg.id().to_string()).status();
    let _ = reg.wait();
    // Errors in dockerd's words and statuses.
    let o = d(&["inspect", "nosuch"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("No such object: nosuch"), "{}", text(&o));
    let o = d(&["stop", "nosuch"]);
    assert!(
        text(&o).contains("No such container: nosuch"),
        "{}",
        text(&o)
    );
    // An old client is refused as dockerd refuses it.
    let o = Command::new(cli)
        .arg("-H")
        .arg(format!("unix://{}", svc.sock.display()))
        .args(["version"])
        .env("DOCKER_CONFIG", &cfg)
        .env("DOCKER_API_VERSION", "1.12")
        .output()
        .expect("docker");
    assert!(text(&o).contains("1.12 is too old"), "{}", text(&o));
}

#[test]
fn exec_and_interactive_attach_through_the_api() {
    let Some((cli, e, svc)) = setup("exec_and_interactive_attach_through_the_api") else {
        return;
    };
    let d = |args: &[&str]| svc.docker(cli, args, None);
    let ok = |args: &[&str]| -> String {
        let o = d(args);
        assert!(o.status.success(), "docker {args:?}: {}", text(&o));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    ok(&[
        "run",
        "-d",
        "--name",
        "box",
        "--network",
        "none",
        "localbusybox",
        "sleep",
        "600",
    ]);
    // exec: both streams apart, the exit code, -e and -w.
    let o = d(&["exec", "box", "sh", "-c", "echo out; echo err >&2; exit 5"]);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "out\n");
    assert_eq!(String::from_utf8_lossy(&o.stderr), "err\n");
    assert_eq!(
        ok(&[
            "exec",
            "-e",
            "A=7",
            "-w",
            "/tmp",
            "-u",
            "65534",
            "box",
            "sh",
            "-c",
            "echo $A $(pwd) $(id -u)"
        ]),
        "7 /tmp 65534"
    );
    // -i: the client's input, then its end.
    let o = svc.docker(
        cli,
        &["exec", "-i", "box", "tr", "a-z", "A-Z"],
        Some(b"hello\n"),
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "HELLO\n",
        "{}",
        text(&o)
    );
    // -d: runs on its own.
    ok(&["exec", "-d", "box", "sh", "-c", "echo bg > /tmp/d"]);
    assert!(e.until(5, || d(&["exec", "box", "cat", "/tmp/d"]).stdout == b"bg\n"));
    // -t: a terminal of the container's own, sized as the client's.
    let o = svc.docker_tty(cli, "exec -t box sh -c 'tty; stty size; exit 4'");
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("/dev/pts/"),
        "{}",
        text(&o)
    );
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("24 80"),
        "{}",
        text(&o)
    );
    // Errors in dockerd's words.
    let o = d(&["exec", "nosuchbox", "true"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("No such container: nosuchbox"),
        "{}",
        text(&o)
    );
    let o = d(&["exec", "box", "/nosuch"]);
    assert_eq!(o.status.code(), Some(126), "{}", text(&o));
    assert!(
        text(&o).contains("no such file or directory"),
        "{}",
        text(&o)
    );
    ok(&["pause", "box"]);
    let o = d(&["exec", "box", "true"]);
    assert!(
        text(&o).contains("is paused, unpause the container before exec"),
        "{}",
        text(&o)
    );
    ok(&["unpause", "box"]);
    // run -i: stdin reaches the container from before its start.
    let o = svc.docker(
        cli,
        &[
            "run",
            "-i",
            "--rm",
            "--network",
            "none",
            "localbusybox",
            "tr",
            "a-z",
            "A-Z",
        ],
        Some(b"abc\n"),
    );
    assert_eq!(String::from_utf8_lossy(&o.stdout), "ABC\n", "{}", text(&o));
    assert_eq!(o.status.code(), Some(0));
    // run -t: the container's terminal.
    let o = svc.docker_tty(
        cli,
        "run --rm -t --network none localbusybox sh -c 'tty; stty size; exit 3'",
    );
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("/dev/pts/0"),
        "{}",
        text(&o)
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    // attach -i to a running container: input in, output and exit status out.
    ok(&[
        "run",
        "-di",
        "--name",
        "sh1",
        "--network",
        "none",
        "localbusybox",
        "sh",
    ]);
    let o = svc.docker(cli, &["attach", "sh1"], Some(b"echo attached\nexit 6\n"));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "attached\n",
        "{}",
        text(&o)
    );
    assert_eq!(o.status.code(), Some(6), "{}", text(&o));
    // start -a / -ai on an exited container: the next start's output and input.
    let o = d(&[
        "run",
        "--name",
        "sa",
        "--network",
        "none",
        "localbusybox",
        "sh",
        "-c",
        "echo ran; exit 2",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = d(&["start", "-a", "sa"]);
    assert_eq!(
        (String::from_utf8_lossy(&o.stdout).as_ref(), o.status.code()),
        ("ran\n", Some(2)),
        "{}",
        text(&o)
    );
    let o = d(&[
        "run",
        "-i",
        "--name",
        "again",
        "--network",
        "none",
        "localbusybox",
        "sh",
        "-c",
        "read x; echo got-$x",
    ]);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "got-\n", "{}", text(&o));
    let o = svc.docker(cli, &["start", "-ai", "again"], Some(b"abc\n"));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "got-abc\n",
        "{}",
        text(&o)
    );
    // A client killed mid-attach and mid-exec leaves the container as it was.
    for args in [&["attach", "sh2"][..], &["exec", "-i", "sh2", "sh"][..]] {
        if args[0] == "attach" {
            ok(&[
                "run",
                "-di",
                "--name",
                "sh2",
                "--network",
                "none",
                "localbusybox",
                "sh",
            ]);
        }
        let mut c = Command::new(cli)
            .arg("-H")
            .arg(format!("unix://{}", svc.sock.display()))
            .args(args)
            .env("DOCKER_CONFIG", svc.sock.with_file_name("docker-config"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker");
        std::thread::sleep(std::time::Duration::from_millis(300));
        let _ = c.kill();
        let _ = c.wait();
        assert_eq!(e.inspect("sh2", ".State.Status"), "running", "{args:?}");
        assert_eq!(ok(&["exec", "sh2", "echo", "alive"]), "alive");
    }
    let o = svc.docker(cli, &["attach", "sh2"], Some(b"echo again\nexit 0\n"));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "again\n",
        "{}",
        text(&o)
    );
    ok(&["rm", "-f", "box", "sh1", "sh2", "sa", "again"]);
    assert_eq!(e.ok(&["ps", "-aq"]), "");
}

#[test]
fn service_sockets_tls_activation_and_install() {
    if !root_or_skip("service_sockets_tls_activation_and_install") {
        return;
    }
    let Some(cli) = docker_cli() else {
        eprintln!("SKIP service_sockets_tls_activation_and_install: no docker CLI (apt-get install -y docker.io)");
        return;
    };
    use std::os::unix::fs::MetadataExt;
    let e = Eng::new();
    let dir = e.dir.path();
    let cfg = dir.join("docker-config");
    // The default socket is root's alone; --group shares it with one group.
    let svc = Service::start(&e);
    let m = std::fs::metadata(&svc.sock).expect("socket");
    assert_eq!(m.mode() & 0o777, 0o600);
    drop(svc);
    let sock = dir.join("group.sock");
    let child = e
        .cmd(&[
            "system",
            "service",
            "--group",
            "65534",
            &format!("unix://{}", sock.display()),
        ])
        .spawn()
        .expect("service");
    let svc = Service { child, sock };
    assert!(e.until(10, || svc.sock.exists()));
    let m = std::fs::metadata(&svc.sock).expect("socket");
    assert_eq!((m.mode() & 0o777, m.gid()), (0o660, 65534));
    drop(svc);
    // Refusals before anything is bound.
    for (args, words) in [
        (
            &["tcp://0.0.0.0:23750"][..],
            "only with TLS and client certificates",
        ),
        (&["unix://relative.sock"][..], "want unix:///ABSOLUTE/PATH"),
        (
            &["--tls", "tcp://127.0.0.1:23750"][..],
            "--tlscert is needed",
        ),
        (
            &["--group", "nosuchgroup", "unix:///tmp/x.sock"][..],
            "group nosuchgroup not found",
        ),
    ] {
        let mut a = vec!["system", "service"];
        a.extend_from_slice(args);
        let o = e.q(&a);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", text(&o));
        assert!(text(&o).contains(words), "{args:?}: {}", text(&o));
    }
    // Socket activation: systemd's protocol (LISTEN_PID, LISTEN_FDS, fd 3).
    let sock = dir.join("activated.sock");
    let child = Command::new("nsenter")
        .arg(format!("--net=/run/netns/{}", e.netns))
        .arg("systemd-socket-activate")
        .arg("-l")
        .arg(&sock)
        .arg(&e.bin)
        .args(["system", "service", "fd://"])
        .env("QUAI_ROOT", &e.root)
        .env("QUAI_RUN_DIR", &e.run)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("systemd-socket-activate");
    let svc = Service { child, sock };
    assert!(e.until(10, || svc.sock.exists()));
    let o = svc.docker(cli, &["ps", "-a", "--format", "{{.Names}}"], None);
    assert!(o.status.success(), "{}", text(&o));
    drop(svc);
    // TLS with client certificates, on TCP in the test's network namespace.
    let pki = dir.join("pki");
    std::fs::create_dir_all(&pki).expect("pki");
    let script = r#"set -e
        key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
        key ca-key.pem
        openssl req -x509 -new -key ca-key.pem -out ca.pem -days 1 -subj /CN=test-ca 2>/dev/null
        for who in server client; do
            key $who-key.pem
            openssl req -new -key $who-key.pem -out $who.csr -subj /CN=$who 2>/dev/null
        done
        printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > server.ext
        printf 'extendedKeyUsage=clientAuth\n' > client.ext
        for who in server client; do
            openssl x509 -req -in $who.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
                -out $who.pem -days 1 -extfile $who.ext 2>/dev/null
        done
        cp ca.pem client/ca.pem 2>/dev/null || { mkdir client; cp ca.pem client/ca.pem; }
        cp client.pem client/cert.pem; cp client-key.pem client/key.pem
        mkdir -p noclient; cp ca.pem noclient/ca.pem"#;
    let o = Command::new("sh")
        .args(["-c", script])
        .current_dir(&pki)
        .output()
        .expect("openssl");
    assert!(o.status.success(), "{}", text(&o));
    let p = |f: &str| pki.join(f).display().to_string();
    let child = e
        .cmd(&[
            "system",
            "service",
            "--tlsverify",
            "--tlscacert",
            &p("ca.pem"),
            "--tlscert",
            &p("server.pem"),
            "--tlskey",
            &p("server-key.pem"),
            "tcp://127.0.0.1:23760",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("service");
    let tls_svc = Service {
        child,
        sock: dir.join("none"),
    };
    let tls_docker = |certs: &str, args: &[&str]| -> Output {
        Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", e.netns))
            .arg(cli)
            .args(["-H", "tcp://127.0.0.1:23760"])
            .args(args)
            .env("DOCKER_CONFIG", &cfg)
            .env("DOCKER_CERT_PATH", p(certs))
            .env("DOCKER_TLS_VERIFY", "1")
            .stdin(Stdio::null())
            .output()
            .expect("docker")
    };
    assert!(e.until(10, || tls_docker("client", &["version"]).status.success()));
    let o = tls_docker(
        "client",
        &[
            "run",
            "--rm",
            "--network",
            "none",
            "localbusybox",
            "echo",
            "over tls",
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "over tls\n",
        "{}",
        text(&o)
    );
    // Without a client certificate the handshake fails: nothing is served.
    let o = Command::new("nsenter")
        .arg(format!("--net=/run/netns/{}", e.netns))
        .arg(cli)
        .args(["-H", "tcp://127.0.0.1:23760", "--tls", "--tlscacert"])
        .arg(p("ca.pem"))
        .arg("ps")
        .env("DOCKER_CONFIG", &cfg)
        .stdin(Stdio::null())
        .output()
        .expect("docker");
    assert_ne!(o.status.code(), Some(0), "{}", text(&o));
    drop(tls_svc);
    // --install writes the socket and service units (systemd is not pid 1 here).
    let units = dir.join("units");
    let o = e
        .cmd(&[
            "system",
            "service",
            "--install",
            "--group",
            "65534",
            "unix:///run/quai-test.sock",
        ])
        .env("QUAI_SYSTEMD_UNIT_DIR", &units)
        .output()
        .expect("install");
    assert!(o.status.success(), "{}", text(&o));
    let socket = std::fs::read_to_string(units.join("quai.socket")).expect("socket unit");
    assert!(
        socket.contains("ListenStream=/run/quai-test.sock"),
        "{socket}"
    );
    assert!(
        socket.contains("SocketMode=0660") && socket.contains("SocketGroup=65534"),
        "{socket}"
    );
    let service = std::fs::read_to_string(units.join("quai.service")).expect("service unit");
    assert!(service.contains("system service fd://"), "{service}");
    assert!(
        service.contains(&format!("QUAI_ROOT={}", e.root.display())),
        "{service}"
    );
    assert!(!std::path::Path::new("/run/quai-test.sock").exists());
}

#[test]
fn docker_build_through_the_api() {
    if !root_or_skip("docker_build_through_the_api") {
        return;
    }
    let Some(cli) = docker_cli() else {
        eprintln!(
            "SKIP docker_build_through_the_api: no docker CLI (apt-get install -y docker.io)"
        );
        return;
    };
    let e = Eng::new();
    let svc = Service::start(&e);
    let d = |args: &[&str]| svc.docker(cli, args, None);
    let ctx = e.dir.path().join("ctx");
    std::fs::create_dir_all(ctx.join("sub")).expect("ctx");
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM localbusybox\nARG X=1\nRUN echo built-$X > /b\nCOPY f /f\nCOPY sub/ /sub/\nCMD cat /b /f; ls /sub\n",
    )
    .expect("Dockerfile");
    std::fs::write(ctx.join("f"), "file\n").expect("f");
    std::fs::write(ctx.join("sub/kept"), "").expect("kept");
    std::fs::write(ctx.join("sub/secret"), "").expect("secret");
    std::fs::write(ctx.join(".dockerignore"), "sub/secret\n").expect("ignore");
    let c = ctx.to_str().expect("utf-8");
    // The classic builder's endpoint: the CLI sends the context as a tar.
    let o = d(&["build", "-t", "built:1", "--build-arg", "X=2", c]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("Step 2/4 : RUN echo built-2 > /b"), "{out}");
    assert!(out.contains("Successfully tagged built:1"), "{out}");
    let o = d(&["run", "--rm", "--network", "none", "built:1"]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "built-2\nfile\nkept\n",
        "{}",
        text(&o)
    );
    // Again: from the cache.
    let o = d(&["build", "-t", "built:1", "--build-arg", "X=2", c]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("Using cache"),
        "{}",
        text(&o)
    );
    // -q: the id alone; the image is the one listed.
    let o = d(&["build", "-q", "--build-arg", "X=2", c]);
    let id = String::from_utf8_lossy(&o.stdout).trim().to_string();
    assert!(id.starts_with("sha256:"), "{}", text(&o));
    assert_eq!(e.ok(&["image", "inspect", "-f", "{{.Id}}", "built:1"]), id);
    // -f elsewhere, and a failing RUN: its status is the CLI's.
    let alt = e.dir.path().join("Dockerfile.alt");
    std::fs::write(&alt, "FROM localbusybox\nRUN echo failing; exit 3\n").expect("alt");
    let o = d(&["build", "-f", alt.to_str().expect("utf-8"), c]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(
        text(&o)
            .contains("The command '/bin/sh -c echo failing; exit 3' returned a non-zero code: 3"),
        "{}",
        text(&o)
    );
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("failing"),
        "{}",
        text(&o)
    );
    // A Dockerfile error, and nothing left behind in the run dir.
    std::fs::write(&alt, "FROM localbusybox\nNOSUCH x\n").expect("alt");
    let o = d(&["build", "-f", alt.to_str().expect("utf-8"), c]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).to_lowercase().contains("unknown instruction"),
        "{}",
        text(&o)
    );
    let left: Vec<_> = std::fs::read_dir(e.run.join("api"))
        .map(|r| r.flatten().map(|x| x.file_name()).collect())
        .unwrap_or_default();
    assert!(
        !left
            .iter()
            .any(|n| n.to_string_lossy().starts_with("build-")),
        "{left:?}"
    );
}

#[test]
fn sizes_image_filters_and_system_prune_through_the_api() {
    let Some((cli, e, svc)) = setup("sizes_image_filters_and_system_prune_through_the_api") else {
        return;
    };
    let ok = |args: &[&str]| -> String {
        let o = svc.docker(cli, args, None);
        assert!(o.status.success(), "docker {args:?}: {}", text(&o));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    ok(&[
        "run",
        "-d",
        "--name",
        "sized",
        "--network",
        "none",
        "localbusybox",
        "sh",
        "-c",
        "dd if=/dev/zero of=/f bs=1k count=100 2>/dev/null; sleep 60",
    ]);
    assert!(e.until(5, || ok(&[
        "inspect",
        "--size",
        "-f",
        "{{.SizeRw}}",
        "sized"
    ]) == "102400"));
    let root_fs: u64 = ok(&["inspect", "--size", "-f", "{{.SizeRootFs}}", "sized"])
        .parse()
        .expect("SizeRootFs");
    assert!(root_fs > 102400, "{root_fs}");
    let ps = ok(&["ps", "-s", "--format", "{{.Size}}"]);
    assert!(ps.starts_with("102kB (virtual "), "{ps}");
    // Image filters: dangling, reference (only the matching names).
    ok(&["tag", "localbusybox", "other/name:v1"]);
    assert_eq!(
        ok(&[
            "images",
            "--filter",
            "reference=other/*",
            "--format",
            "{{.Repository}}:{{.Tag}}"
        ]),
        "other/name:v1"
    );
    assert_eq!(ok(&["images", "--filter", "dangling=true", "-q"]), "");
    // Image events, as dockerd's.
    ok(&["rmi", "other/name:v1"]);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let ev = ok(&[
        "events",
        "--since",
        "1m",
        "--until",
        "0s",
        "--filter",
        "type=image",
        "--format",
        "{{.Action}} {{.Actor.Attributes.name}}",
    ]);
    assert!(
        ev.ends_with("import localbusybox:latest\ntag other/name:v1\nuntag other/name:v1"),
        "{ev}"
    );
    // system prune: stopped containers, unused networks, dangling images, build cache.
    ok(&[
        "run",
        "--name",
        "done",
        "--network",
        "none",
        "localbusybox",
        "true",
    ]);
    let out = ok(&["system", "prune", "-f"]);
    assert!(out.contains("Total reclaimed space"), "{out}");
    assert_eq!(ok(&["ps", "-a", "--format", "{{.Names}}"]), "sized");
    ok(&["rm", "-f", "sized"]);
}

#[test]
fn two_services_and_the_cli_share_one_state() {
    if !root_or_skip("two_services_and_the_cli_share_one_state") {
        return;
    }
    let Some(cli) = docker_cli() else {
        eprintln!("SKIP two_services_and_the_cli_share_one_state: no docker CLI");
        return;
    };
    let e = Eng::new();
    let a = Service::start(&e);
    let sock_b = e.dir.path().join("b.sock");
    let b = Service {
        child: e
            .cmd(&["system", "service", &format!("unix://{}", sock_b.display())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("service b"),
        sock: sock_b,
    };
    assert!(e.until(10, || b.sock.exists()));
    let ok = |svc: &Service, args: &[&str]| -> String {
        let o = svc.docker(cli, args, None);
        assert!(o.status.success(), "docker {args:?}: {}", text(&o));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    // Made through one service, seen and driven through the other and by quai itself.
    ok(
        &a,
        &[
            "run",
            "-d",
            "--name",
            "shared",
            "--network",
            "none",
            "localbusybox",
            "sleep",
            "60",
        ],
    );
    assert_eq!(ok(&b, &["ps", "--format", "{{.Names}}"]), "shared");
    assert_eq!(ok(&b, &["exec", "shared", "echo", "via-b"]), "via-b");
    assert_eq!(e.ok(&["ps", "--format", "{{.Names}}"]), "shared");
    e.ok(&["stop", "-t", "0", "shared"]);
    assert_eq!(
        ok(&a, &["inspect", "-f", "{{.State.Status}}", "shared"]),
        "exited"
    );
    ok(&b, &["rm", "shared"]);
    assert_eq!(ok(&a, &["ps", "-aq"]), "");
}
