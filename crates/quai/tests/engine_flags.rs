//! End-to-end: docker's `run`/`create` flags through the binary (their parsing, the
//! namespaces, attach, cidfile, labels, links, volumes-from, pull and platform), each
//! checked where it takes effect and in `inspect`; resources, logs and health are in
//! engine_flags_limits.rs.

mod common;
mod engine_common;

use engine_common::*;

/// `run --rm ARGS... localbusybox sh -c SCRIPT`, its output (it must succeed).
fn sh(e: &Eng, args: &[&str], script: &str) -> String {
    let mut all = vec!["run", "--rm"];
    all.extend(args);
    all.extend(["localbusybox", "sh", "-c", script]);
    e.ok(&all)
}

/// This process's namespace of kind `ns`: the host's (`ipc:[4026531839]`).
fn host_ns(ns: &str) -> String {
    std::fs::read_link(format!("/proc/self/ns/{ns}"))
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

#[test]
fn boolean_and_short_flags_take_dockers_forms() {
    if !root_or_skip("boolean_and_short_flags_take_dockers_forms") {
        return;
    }
    let e = Eng::new();
    assert_eq!(
        e.ok(&["run", "--rm=true", "localbusybox", "echo", "rm-true"]),
        "rm-true"
    );
    assert_eq!(
        e.ok(&["run", "--rm", "-d=false", "localbusybox", "echo", "d-false"]),
        "d-false"
    );
    assert_eq!(
        e.ok(&[
            "run",
            "--rm",
            "-eC=3",
            "-e=D=4",
            "localbusybox",
            "sh",
            "-c",
            "echo $C$D"
        ]),
        "34"
    );
    assert_eq!(
        e.ok(&["run", "--rm", "-it=false", "localbusybox", "echo", "no-tty"]),
        "no-tty"
    );
    // The command's own options stay its own.
    assert_eq!(
        e.ok(&["run", "--rm", "localbusybox", "echo", "-n", "--rm"]),
        "--rm"
    );
    let o = e.q(&["run", "--rm=maybe", "localbusybox", "true"]);
    assert_eq!(o.status.code(), Some(125), "{}", text(&o));
    let o = e.q(&["run", "--rm", "--nosuchflag", "localbusybox"]);
    assert_eq!(o.status.code(), Some(125), "{}", text(&o));
    assert!(
        text(&o).starts_with("unknown flag: --nosuchflag\nSee 'quai run --help'."),
        "{}",
        text(&o)
    );
    assert_eq!(e.ok(&["ps", "-aq"]), "");
}

#[test]
fn namespace_flags() {
    if !root_or_skip("namespace_flags") {
        return;
    }
    let e = Eng::new();
    // /dev/shm: its size, or none at all.
    assert_eq!(
        sh(
            &e,
            &["--shm-size", "8m"],
            "df -k /dev/shm | tail -1 | awk '{print $2}'"
        ),
        "8192"
    );
    assert_eq!(
        sh(&e, &[], "df -k /dev/shm | tail -1 | awk '{print $2}'"),
        "65536"
    );
    assert_eq!(
        sh(
            &e,
            &["--ipc", "none"],
            "test -e /dev/shm && echo shm || echo none"
        ),
        "none"
    );
    // Sysctls in the container's own namespaces.
    assert_eq!(
        sh(
            &e,
            &[
                "--sysctl",
                "net.ipv4.ip_forward=1",
                "--sysctl",
                "kernel.shmmax=123456"
            ],
            "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax"
        ),
        "1\n123456"
    );
    // Host namespaces: the host's, by their inodes.
    let ns = |args: &[&str], kind: &str| sh(&e, args, &format!("readlink /proc/self/ns/{kind}"));
    assert_eq!(ns(&["--ipc", "host"], "ipc"), host_ns("ipc"));
    assert_ne!(ns(&[], "ipc"), host_ns("ipc"));
    assert_eq!(ns(&["--pid", "host"], "pid"), host_ns("pid"));
    assert_ne!(ns(&[], "pid"), host_ns("pid"));
    assert_eq!(ns(&["--uts", "host"], "uts"), host_ns("uts"));
    assert_eq!(ns(&["--cgroupns", "host"], "cgroup"), host_ns("cgroup"));
    assert_ne!(ns(&["--cgroupns", "private"], "cgroup"), host_ns("cgroup"));
    assert_eq!(
        sh(
            &e,
            &["--pid", "host"],
            "test -d /proc/1 && cat /proc/1/comm"
        ),
        std::fs::read_to_string("/proc/1/comm")
            .expect("host init")
            .trim()
    );
    let host_name = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("hostname");
    assert_eq!(sh(&e, &["--uts", "host"], "hostname"), host_name.trim());
    assert_eq!(
        sh(
            &e,
            &["--domainname", "example.org", "--hostname", "web"],
            "cat /proc/sys/kernel/domainname; grep web /etc/hosts | cut -f2"
        ),
        "example.org\nweb.example.org web"
    );
    // Another container's pid and IPC namespaces (a shareable donor's).
    e.ok(&[
        "run",
        "-d",
        "--name",
        "donor",
        "--ipc",
        "shareable",
        "localbusybox",
        "sh",
        "-c",
        "echo shared > /dev/shm/f; sleep 60",
    ]);
    assert!(e.until(5, || e
        .q(&["exec", "donor", "test", "-e", "/dev/shm/f"])
        .status
        .success()));
    let donor_ipc = e.ok(&["exec", "donor", "readlink", "/proc/self/ns/ipc"]);
    assert_eq!(
        sh(
            &e,
            &["--ipc", "container:donor", "--pid", "container:donor"],
            "readlink /proc/self/ns/ipc; cat /dev/shm/f; tr '\\0' ' ' < /proc/1/cmdline"
        ),
        // The donor's init (its shell exec'd sleep) is pid 1 here.
        format!("{donor_ipc}\nshared\nsleep 60")
    );
    e.ok(&[
        "run",
        "-d",
        "--name",
        "private",
        "localbusybox",
        "sleep",
        "60",
    ]);
    let o = e.q(&[
        "run",
        "--rm",
        "--ipc",
        "container:private",
        "localbusybox",
        "true",
    ]);
    assert_eq!(o.status.code(), Some(125));
    assert!(text(&o).contains("non-shareable IPC"), "{}", text(&o));
    let o = e.q(&["run", "--rm", "--pid", "container:nosuch", "localbusybox"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        text(&o).contains("No such container: nosuch"),
        "{}",
        text(&o)
    );
    // What inspect shows, under Docker's names.
    e.ok(&[
        "create",
        "--name",
        "shown",
        "--shm-size",
        "8m",
        "--sysctl",
        "net.ipv4.ip_forward=1",
        "--ipc",
        "shareable",
        "--pid",
        "container:donor",
        "--uts",
        "host",
        "--cgroupns",
        "host",
        "--userns",
        "host",
        "localbusybox",
        "true",
    ]);
    let donor = e.inspect("donor", ".Id");
    assert_eq!(
        e.inspect(
            "shown",
            "json .HostConfig.ShmSize}} {{json .HostConfig.Sysctls}} {{.HostConfig.IpcMode}} {{.HostConfig.PidMode}} {{.HostConfig.UTSMode}} {{.HostConfig.CgroupnsMode}} {{.HostConfig.UsernsMode"
        ),
        format!(
            "8388608 {{\"net.ipv4.ip_forward\":\"1\"}} shareable container:{donor} host host host"
        )
    );
    assert_eq!(
        e.inspect(
            "private",
            ".HostConfig.ShmSize}} {{.HostConfig.IpcMode}} {{.HostConfig.PidMode}} {{json .HostConfig.Sysctls"
        ),
        "67108864 private  null"
    );
    // The host's namespaces stay out of reach of what a container sets.
    for (args, want) in [
        (
            &["--sysctl", "net.ipv4.ip_forward=1", "--network", "host"][..],
            "not allowed in host network namespace",
        ),
        (
            &["--sysctl", "kernel.sem=1 2 3 4", "--ipc", "host"],
            "not allowed in the hosts ipc namespace",
        ),
        (&["--sysctl", "kernel.hostname=x"], "is not allowed"),
        (
            &["--uts", "host", "--hostname", "x"],
            "conflicting options: hostname and the UTS mode",
        ),
        (
            &["--uts", "host", "--domainname", "x"],
            "conflicting options: domainname and the UTS mode",
        ),
        (&["--ipc", "bogus"], "Invalid IPC mode: bogus"),
        (&["--pid", "bogus"], "--pid: invalid PID mode"),
        (&["--uts", "bogus"], "--uts: invalid UTS mode"),
        (&["--cgroupns", "bogus"], "--cgroupns: invalid CGROUP mode"),
        (&["--userns", "private"], "--userns: invalid USER mode"),
        (&["--shm-size", "x"], "invalid size: 'x'"),
    ] {
        let mut all = vec!["run", "--rm"];
        all.extend(args);
        all.extend(["localbusybox", "true"]);
        let o = e.q(&all);
        assert_eq!(o.status.code(), Some(125), "{args:?}: {}", text(&o));
        assert!(text(&o).contains(want), "{args:?}: {}", text(&o));
        assert_eq!(text(&o).trim().lines().count(), 1, "one line: {}", text(&o));
    }
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/hostname").expect("hostname"),
        host_name,
        "the host's hostname changed"
    );
    let ids = e.all_ids();
    assert_eq!(ids.len(), 3, "nothing made by the refused ones: {ids:?}");
    e.ok(&["rm", "-f", "donor", "private", "shown"]);
    assert_eq!(e.leaks(&ids), Vec::<String>::new());
}

#[test]
fn attach_cidfile_labels_and_the_rest() {
    if !root_or_skip("attach_cidfile_labels_and_the_rest") {
        return;
    }
    let e = Eng::new();
    let script = "echo out; echo err >&2";
    for (streams, out, err) in [
        (&["-a", "stdout"][..], "out\n", ""),
        (&["-a", "stderr"], "", "err\n"),
        (&["-a", "stdout", "-a", "STDERR"], "out\n", "err\n"),
        (&[], "out\n", "err\n"),
    ] {
        let mut all = vec!["run", "--rm"];
        all.extend(streams);
        all.extend(["localbusybox", "sh", "-c", script]);
        let o = e.q(&all);
        assert_eq!(o.status.code(), Some(0), "{streams:?}");
        assert_eq!(String::from_utf8_lossy(&o.stdout), out, "{streams:?}");
        assert_eq!(String::from_utf8_lossy(&o.stderr), err, "{streams:?}");
    }
    let o = e.q(&[
        "run",
        "--rm",
        "-a",
        "stdout",
        "localbusybox",
        "sh",
        "-c",
        "exit 3",
    ]);
    assert_eq!(o.status.code(), Some(3));
    let o = e.q(&["run", "-d", "-a", "stdout", "localbusybox", "true"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("conflicting options: cannot specify both --attach and --detach"));
    let o = e.q(&["run", "--rm", "-a", "bogus", "localbusybox", "true"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(text(&o).contains("valid streams are STDIN, STDOUT and STDERR"));
    e.ok(&["create", "--name", "att", "-a", "stdout", "localbusybox"]);
    assert_eq!(
        e.inspect(
            "att",
            ".Config.AttachStdin}} {{.Config.AttachStdout}} {{.Config.AttachStderr"
        ),
        "false true false"
    );
    // --cidfile: written, and refused when it exists (nothing made then).
    let cid = e.dir.path().join("cid");
    let cids = cid.to_str().expect("utf-8");
    let id = e.ok(&[
        "create",
        "--cidfile",
        cids,
        "--name",
        "withcid",
        "localbusybox",
    ]);
    assert_eq!(std::fs::read_to_string(&cid).expect("cidfile"), id);
    assert_eq!(e.inspect("withcid", ".HostConfig.ContainerIDFile"), cids);
    let o = e.q(&["run", "--rm", "--cidfile", cids, "localbusybox", "true"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(text(&o).contains(&format!(
        "container ID file found, make sure the other container isn't running or delete {cids}"
    )));
    // A failed create takes its new cidfile away again.
    let cid2 = e.dir.path().join("cid2");
    let o = e.q(&[
        "run",
        "--rm",
        "--cidfile",
        cid2.to_str().expect("utf-8"),
        "--oom-score-adj",
        "5000",
        "localbusybox",
    ]);
    assert_eq!(o.status.code(), Some(125));
    assert!(!cid2.exists());
    // --label-file, then --label over it.
    let lf = e.dir.path().join("labels");
    std::fs::write(&lf, "# comment\n\na=1\nb=2\n").expect("label file");
    e.ok(&[
        "create",
        "--name",
        "labelled",
        "--label-file",
        lf.to_str().expect("utf-8"),
        "--label",
        "b=3",
        "localbusybox",
    ]);
    assert_eq!(
        e.inspect("labelled", "json .Config.Labels"),
        "{\"a\":\"1\",\"b\":\"3\"}"
    );
    let o = e.q(&["run", "--rm", "--label-file", "/nosuch", "localbusybox"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(text(&o).contains("open /nosuch: no such file or directory"));
    // --expose (ranges, protocols), with -p's port.
    e.ok(&[
        "create",
        "--name",
        "exposed",
        "--expose",
        "7000-7001/udp",
        "--expose",
        "80",
        "-p",
        "127.0.0.1:8080:81",
        "localbusybox",
    ]);
    assert_eq!(
        e.inspect("exposed", "json .Config.ExposedPorts"),
        "{\"7000/udp\":{},\"7001/udp\":{},\"80/tcp\":{},\"81/tcp\":{}}"
    );
    let o = e.q(&["run", "--rm", "--expose", "x", "localbusybox"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(text(&o).contains("invalid range format for --expose: x"));
    // --annotation reaches the OCI spec; runtime, isolation and userns are shown.
    let id = e.ok(&[
        "run",
        "-d",
        "--annotation",
        "org.example/a=b",
        "--runtime",
        "runc",
        "--isolation",
        "default",
        "--userns",
        "host",
        "--domainname",
        "example.org",
        "localbusybox",
        "sleep",
        "60",
    ]);
    let spec: serde_json::Value = serde_json::from_slice(
        &std::fs::read(e.root.join("containers").join(&id).join("config.json")).expect("spec"),
    )
    .expect("json");
    assert_eq!(spec["annotations"]["org.example/a"], "b");
    assert_eq!(spec["domainname"], "example.org");
    assert_eq!(
        e.inspect(
            &id,
            "json .HostConfig.Annotations}} {{.HostConfig.Runtime}} {{.HostConfig.Isolation}} {{.HostConfig.UsernsMode}} {{.Config.Domainname"
        ),
        "{\"org.example/a\":\"b\"} runc default host example.org"
    );
    e.ok(&["rm", "-f", &id]);
    // What quai refuses outright, in one line.
    for (args, want) in [
        (&["--gpus", "all"][..], "no GPU support"),
        (&["--ip6", "2001:db8::1"], "no IPv6"),
        (&["--runtime", "crun"], "Unknown runtime specified crun"),
        (&["--isolation", "hyperv"], "linux only supports 'default'"),
        (
            &["--detach-keys", "bogus"],
            "Invalid escape keys (bogus) provided",
        ),
        (&["--pull", "sometimes"], "invalid pull option: 'sometimes'"),
    ] {
        let mut all = vec!["run", "--rm"];
        all.extend(args);
        all.extend(["localbusybox", "true"]);
        let o = e.q(&all);
        assert_eq!(o.status.code(), Some(125), "{args:?}: {}", text(&o));
        assert!(text(&o).contains(want), "{args:?}: {}", text(&o));
        assert_eq!(text(&o).trim().lines().count(), 1, "one line: {}", text(&o));
    }
    assert_eq!(
        e.ok(&[
            "run",
            "--rm",
            "--detach-keys",
            "ctrl-x,x",
            "localbusybox",
            "echo",
            "keys"
        ]),
        "keys"
    );
    assert_eq!(e.all_ids().len(), 4, "att, withcid, labelled, exposed");
}

#[test]
fn links_and_volumes_from() {
    if !root_or_skip("links_and_volumes_from") {
        return;
    }
    let e = Eng::new();
    e.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "--expose",
        "80",
        "-e",
        "WHO=web",
        "localbusybox",
        "sleep",
        "60",
    ]);
    let ip = e.inspect("web", ".NetworkSettings.IPAddress");
    let short = &e.inspect("web", ".Id")[..12];
    let out = sh(
        &e,
        &["--name", "client", "--link", "web:al"],
        "grep -w al /etc/hosts; echo $AL_NAME $AL_PORT $AL_PORT_80_TCP_ADDR $AL_ENV_WHO",
    );
    assert_eq!(
        out,
        format!("{ip}\tal {short} web\n/client/al tcp://{ip}:80 {ip} web")
    );
    assert_eq!(
        sh(&e, &["--link", "web"], "grep -w web /etc/hosts"),
        format!("{ip}\tweb {short}")
    );
    e.ok(&[
        "create",
        "--name",
        "linked",
        "--link",
        "web:al",
        "localbusybox",
    ]);
    assert_eq!(
        e.inspect("linked", "json .HostConfig.Links"),
        "[\"/web:/linked/al\"]"
    );
    let o = e.q(&["run", "--rm", "--link", "nosuch:al", "localbusybox", "true"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        text(&o).contains("could not get container for nosuch"),
        "{}",
        text(&o)
    );
    let o = e.q(&[
        "run",
        "--rm",
        "--network",
        "host",
        "--link",
        "web",
        "localbusybox",
        "true",
    ]);
    assert_eq!(o.status.code(), Some(125));
    assert!(text(&o).contains("host type networking can't be used with links"));
    // A stopped linked container: the start fails as Docker's does.
    e.ok(&["run", "--name", "gone", "localbusybox", "true"]);
    let o = e.q(&["run", "--rm", "--link", "gone:g", "localbusybox", "true"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        text(&o).contains("Cannot link to a non running container: /gone AS g"),
        "{}",
        text(&o)
    );
    // --volumes-from: the other's volumes, read-only when asked.
    e.ok(&[
        "run",
        "--name",
        "store",
        "-v",
        "/data",
        "localbusybox",
        "sh",
        "-c",
        "echo kept > /data/f",
    ]);
    assert_eq!(sh(&e, &["--volumes-from", "store"], "cat /data/f"), "kept");
    assert_eq!(
        sh(
            &e,
            &["--volumes-from", "store:ro"],
            "cat /data/f; touch /data/g 2>/dev/null && echo wrote || echo ro"
        ),
        "kept\nro"
    );
    e.ok(&[
        "create",
        "--name",
        "borrower",
        "--volumes-from",
        "store:ro",
        "localbusybox",
    ]);
    assert_eq!(
        e.inspect("borrower", "json .HostConfig.VolumesFrom"),
        "[\"store:ro\"]"
    );
    // Removing the borrower with its volumes leaves the owner's.
    e.ok(&["rm", "-v", "borrower"]);
    assert_eq!(sh(&e, &["--volumes-from", "store"], "cat /data/f"), "kept");
    let o = e.q(&[
        "run",
        "--rm",
        "--volumes-from",
        "store:bogus",
        "localbusybox",
        "true",
    ]);
    assert_eq!(o.status.code(), Some(125));
    assert!(text(&o).contains("invalid mode: bogus"));
    let o = e.q(&[
        "run",
        "--rm",
        "--volumes-from",
        "nosuch",
        "localbusybox",
        "true",
    ]);
    assert_eq!(o.status.code(), Some(125));
    assert!(text(&o).contains("No such container: nosuch"));
}

#[test]
fn pull_policy_and_platform() {
    if !root_or_skip("pull_policy_and_platform") {
        return;
    }
    let e = Eng::new();
    assert_eq!(
        e.ok(&[
            "run",
            "--rm",
            "--pull",
            "never",
            "localbusybox",
            "echo",
            "here"
        ]),
        "here"
    );
    let o = e.q(&["run", "--rm", "--pull", "never", "nosuch:1", "true"]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "quai: Error: No such image: nosuch:1\n"
    );
    assert_eq!(String::from_utf8_lossy(&o.stdout), "", "no pull was tried");
    let o = e.q(&["create", "--pull", "never", "nosuch"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(text(&o).contains("No such image: nosuch:latest"));
    assert_eq!(
        e.ok(&[
            "run",
            "--rm",
            "--platform",
            "linux/amd64",
            "localbusybox",
            "echo",
            "amd64"
        ]),
        "amd64"
    );
    let o = e.q(&[
        "run",
        "--rm",
        "--platform",
        "linux/arm64",
        "localbusybox",
        "true",
    ]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        text(&o).contains("image with reference localbusybox was found but does not match the specified platform: wanted linux/arm64, actual: linux/amd64"),
        "{}",
        text(&o)
    );
    // --pull always pulls first (from quai's own registry in the test's namespace), with
    // docker's progress on stderr; missing does not pull an image that is here.
    let port = 5917;
    let mut registry = std::process::Command::new("nsenter")
        .arg(format!("--net=/run/netns/{}", e.netns))
        .arg(&e.bin)
        .args([
            "registry",
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--root",
        ])
        .arg(e.dir.path().join("registry"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("registry");
    let image = format!("127.0.0.1:{port}/bb:1");
    e.ok(&["tag", "localbusybox", &image]);
    let pushed = e.until(10, || e.q(&["push", &image]).status.success());
    let o = e.q(&["run", "--rm", "--pull", "always", &image, "echo", "pulled"]);
    let missing = e.q(&["run", "--rm", "--pull", "missing", &image, "echo", "here"]);
    let gone = e.q(&[
        "run",
        "--rm",
        "--pull",
        "always",
        &format!("127.0.0.1:{port}/bb:nosuch"),
    ]);
    // Our own child, by its pid.
    let _ = registry.kill();
    let _ = registry.wait();
    assert!(pushed, "push to the test registry");
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "pulled\n",
        "{}",
        text(&o)
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.starts_with("1: Pulling from bb\n"), "{err}");
    assert!(
        err.contains(&format!("Status: Downloaded newer image for {image}")),
        "{err}"
    );
    assert_eq!(String::from_utf8_lossy(&missing.stdout), "here\n");
    assert_eq!(String::from_utf8_lossy(&missing.stderr), "", "no pull");
    assert_eq!(gone.status.code(), Some(125), "{}", text(&gone));
    assert!(text(&gone).contains("manifest unknown"), "{}", text(&gone));
    let o = e.q(&["run", "--rm", "--platform", "bogus", "localbusybox", "true"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(text(&o).contains("error parsing specified platform: \"bogus\""));
    assert_eq!(e.ok(&["ps", "-aq"]), "");
}
