//! End-to-end: detached containers and the verbs that work on them.

mod common;
mod engine_common;

use engine_common::*;

#[test]
fn detached_container_verbs() {
    if !root_or_skip("detached_container_verbs") {
        return;
    }
    let e = Eng::new();
    let id = e.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "--label",
        "tier=front",
        "localbusybox",
        "sh",
        "-c",
        "trap 'echo bye; exit 0' TERM; echo started; while true; do sleep 0.2; done",
    ]);
    assert_eq!(id.len(), 64);
    assert!(e.until(5, || e.ok(&["logs", "web"]).contains("started")));
    let ps = e.ok(&["ps"]);
    assert!(ps.contains("web") && ps.contains("Up"), "{ps}");
    assert_eq!(
        e.ok(&["ps", "-q", "--filter", "label=tier=front"]),
        &id[..12]
    );
    assert_eq!(e.ok(&["ps", "-q", "--filter", "name=nomatch"]), "");
    // Same key ORs, different keys AND; an unknown key or a value without `=` is refused.
    assert_eq!(
        e.ok(&[
            "ps",
            "-q",
            "--filter",
            "name=nomatch",
            "--filter",
            "name=web",
            "--filter",
            "status=running"
        ]),
        &id[..12]
    );
    let o = e.q(&["ps", "--filter", "bogus=1"]);
    assert!(
        !o.status.success() && text(&o).contains("Invalid filter 'bogus'"),
        "{}",
        text(&o)
    );
    let o = e.q(&["ps", "--filter", "name"]);
    assert!(text(&o).contains("bad format of filter"), "{}", text(&o));
    assert_eq!(
        e.ok(&["ps", "--format", "{{.Names}} {{.State}}"]),
        "web running"
    );
    // docker's table formats: the header names docker gives (the header row is the same
    // template over the names: `len .Names` is 5 there), columns aligned.
    assert_eq!(
        e.ok(&[
            "ps",
            "--format",
            "table {{.Names}}\\t{{.State}}\\t{{len .Names}}"
        ]),
        "NAMES     STATE     5\nweb       running   3"
    );
    let j: serde_json::Value =
        serde_json::from_str(&e.ok(&["ps", "--format", "json"])).expect("json");
    assert_eq!(j["Names"], "web");
    // exec lands in the container's namespaces.
    let pid = e.inspect("web", ".State.Pid");
    let host_ns = std::fs::read_link(format!("/proc/{pid}/ns/pid")).expect("ns");
    let inside = e.ok(&["exec", "web", "readlink", "/proc/1/ns/pid"]);
    assert_eq!(inside, host_ns.display().to_string());
    assert_eq!(
        e.ok(&[
            "exec",
            "-e",
            "X=7",
            "-w",
            "/tmp",
            "web",
            "sh",
            "-c",
            "echo $X $(pwd)"
        ]),
        "7 /tmp"
    );
    assert_eq!(e.ok(&["exec", "-u", "1:1", "web", "id", "-u"]), "1");
    // exec -d returns at once; its process runs on in the container.
    e.ok(&[
        "exec",
        "-d",
        "web",
        "sh",
        "-c",
        "sleep 0.3; echo detached > /tmp/d",
    ]);
    assert!(e.until(5, || e.q(&["exec", "web", "cat", "/tmp/d"]).stdout
        == b"detached\n"));
    // logs --since/--until select by time.
    let mid = now_plus(0);
    assert_eq!(e.ok(&["logs", "--until", "0", "web"]), "");
    assert!(e.ok(&["logs", "--since", "1h", "web"]).contains("started"));
    assert!(!e
        .ok(&[
            "logs",
            "--since",
            &format!("{}", mid.parse::<u64>().expect("secs") + 3600),
            "web"
        ])
        .contains("started"));
    // As docker against dockerd 20.10: 126, the runtime's words on the output.
    let o = e.q(&["exec", "web", "nosuch"]);
    assert_eq!(o.status.code(), Some(126), "{}", text(&o));
    assert!(
        text(&o).contains("exec: \"nosuch\": executable file not found in $PATH"),
        "{}",
        text(&o)
    );
    // top: ps's columns, only the container's processes, the command kept whole.
    let top = e.ok(&["top", "web"]);
    let mut rows = top.lines();
    let header: Vec<&str> = rows.next().expect("header").split_whitespace().collect();
    assert_eq!(header.first(), Some(&"UID"), "{top}");
    assert!(
        header.contains(&"PID") && header.last() == Some(&"CMD"),
        "{top}"
    );
    assert!(top.contains("trap") && !top.contains("nextest"), "{top}");
    // stats: the row of this container, with a memory reading and its processes.
    let st = e.ok(&["stats", "--no-stream", "web"]);
    let row = st.lines().nth(1).expect("row");
    assert!(
        row.contains("web") && !row.contains("0B / 0B   0.00%"),
        "{st}"
    );
    let pids: u32 = row
        .split_whitespace()
        .last()
        .expect("pids")
        .parse()
        .expect("number");
    assert!(pids >= 1, "{st}");
    // pause / unpause.
    e.ok(&["pause", "web"]);
    assert!(e.ok(&["ps"]).contains("(Paused)"));
    assert_eq!(e.inspect("web", ".State.Paused"), "true");
    e.ok(&["unpause", "web"]);
    assert_eq!(e.inspect("web", ".State.Status"), "running");
    // cp both ways, and tar streams.
    let f = e.dir.path().join("in.txt");
    std::fs::write(&f, "copied in\n").expect("write");
    e.ok(&["cp", f.to_str().expect("utf-8"), "web:/tmp/in.txt"]);
    assert_eq!(e.ok(&["exec", "web", "cat", "/tmp/in.txt"]), "copied in");
    let out = e.dir.path().join("out");
    e.ok(&["cp", "web:/etc/hostname", out.to_str().expect("utf-8")]);
    assert_eq!(
        std::fs::read_to_string(&out).expect("read"),
        format!("{}\n", &id[..12])
    );
    let o = e.q(&["cp", "web:/etc/passwd", "-"]);
    let mut ar = tar::Archive::new(&o.stdout[..]);
    let names: Vec<String> = ar
        .entries()
        .expect("tar")
        .flatten()
        .map(|en| en.path().expect("path").display().to_string())
        .collect();
    assert_eq!(names, vec!["passwd"]);
    // A symlink in the container cannot send a copy to the host.
    e.ok(&["exec", "web", "ln", "-s", "/", "/tmp/escape"]);
    e.ok(&["cp", f.to_str().expect("utf-8"), "web:/tmp/escape/"]);
    assert!(!std::path::Path::new("/in.txt").exists());
    // rename, inspect, stop, wait, restart.
    e.ok(&["rename", "web", "web2"]);
    assert_eq!(e.inspect("web2", ".Name"), "/web2");
    assert_eq!(e.inspect("web2", "index .Config.Labels \"tier\""), "front");
    let t = std::time::Instant::now();
    e.ok(&["stop", "web2"]);
    assert!(
        t.elapsed() < std::time::Duration::from_secs(5),
        "stop took {:?}",
        t.elapsed()
    );
    assert_eq!(e.inspect("web2", ".State.ExitCode"), "0");
    assert!(
        e.ok(&["logs", "web2"]).ends_with("bye"),
        "logs survive the container"
    );
    assert_eq!(e.ok(&["wait", "web2"]), "0");
    assert!(e
        .ok(&["logs", "-t", "--tail", "1", "web2"])
        .contains("Z bye"));
    e.ok(&["start", "web2"]);
    assert_eq!(e.inspect("web2", ".State.Status"), "running");
    e.ok(&["restart", "-t", "1", "web2"]);
    assert_eq!(e.inspect("web2", ".State.Status"), "running");
    e.ok(&["kill", "-s", "TERM", "web2"]);
    assert_eq!(e.ok(&["wait", "web2"]), "0");
    let o = e.q(&["rm", "nosuch"]);
    assert_ne!(o.status.code(), Some(0));
    assert!(text(&o).contains("No such container: nosuch"));
    // Events recorded along the way.
    let ev = e.ok(&[
        "events",
        "--since",
        "0",
        "--until",
        &now_plus(1),
        "--filter",
        "container=web2",
    ]);
    for a in [
        "create", "start", "pause", "unpause", "rename", "die", "kill",
    ] {
        assert!(ev.contains(&format!("container {a} ")), "no {a} in {ev}");
    }
    e.ok(&["rm", "web2"]);
    assert_eq!(e.leaks(&[id]), Vec::<String>::new());
}

#[test]
fn volumes_persist_and_fill_from_the_image() {
    if !root_or_skip("volumes_persist_and_fill_from_the_image") {
        return;
    }
    let e = Eng::new();
    e.ok(&["volume", "create", "--label", "k=v", "data"]);
    e.ok(&[
        "run",
        "--rm",
        "-v",
        "data:/data",
        "localbusybox",
        "sh",
        "-c",
        "echo kept > /data/f",
    ]);
    assert_eq!(
        e.ok(&[
            "run",
            "--rm",
            "-v",
            "data:/data:ro",
            "localbusybox",
            "cat",
            "/data/f"
        ]),
        "kept"
    );
    let o = e.q(&[
        "run",
        "--rm",
        "-v",
        "data:/data:ro",
        "localbusybox",
        "touch",
        "/data/g",
    ]);
    assert_ne!(o.status.code(), Some(0));
    assert_eq!(
        e.ok(&["volume", "ls", "-q", "--filter", "label=k=v"]),
        "data"
    );
    assert_eq!(
        e.ok(&[
            "volume",
            "inspect",
            "-f",
            "{{.Driver}} {{.Labels.k}}",
            "data"
        ]),
        "local v"
    );
    // A new named volume takes the image's files at its target.
    e.ok(&["run", "--rm", "-v", "etcvol:/etc", "localbusybox", "true"]);
    let mp = e.ok(&["volume", "inspect", "-f", "{{.Mountpoint}}", "etcvol"]);
    assert!(std::path::Path::new(&mp).join("passwd").exists());
    // In use: rm refused.
    e.ok(&[
        "create",
        "--name",
        "user",
        "-v",
        "data:/data",
        "localbusybox",
        "true",
    ]);
    let o = e.q(&["volume", "rm", "data"]);
    assert!(text(&o).contains("volume is in use"), "{}", text(&o));
    e.ok(&["rm", "user"]);
    e.ok(&["volume", "rm", "data", "etcvol"]);
    // Anonymous volumes: removed with --rm and rm -v.
    e.ok(&["run", "--rm", "-v", "/anon", "localbusybox", "true"]);
    e.ok(&[
        "run",
        "--name",
        "anon",
        "-v",
        "/anon",
        "localbusybox",
        "true",
    ]);
    assert_eq!(e.ok(&["volume", "ls", "-q"]).lines().count(), 1);
    e.ok(&["rm", "-v", "anon"]);
    assert_eq!(e.ok(&["volume", "ls", "-q"]), "");
    // Binds (created when missing with -v), --mount and tmpfs.
    let host = e.dir.path().join("hostdir");
    e.ok(&[
        "run",
        "--rm",
        "-v",
        &format!("{}:/h", host.display()),
        "localbusybox",
        "sh",
        "-c",
        "echo from-ctr > /h/x",
    ]);
    assert_eq!(
        std::fs::read_to_string(host.join("x")).expect("bind"),
        "from-ctr\n"
    );
    assert_eq!(
        e.ok(&[
            "run",
            "--rm",
            "--mount",
            &format!("type=bind,source={},target=/h,readonly", host.display()),
            "localbusybox",
            "cat",
            "/h/x"
        ]),
        "from-ctr"
    );
    let o = e.q(&[
        "run",
        "--rm",
        "--mount",
        "type=bind,source=/nonexistent-quai,target=/h",
        "localbusybox",
        "true",
    ]);
    assert_eq!(o.status.code(), Some(125));
    assert!(text(&o).contains("bind source path does not exist"));
    let df = e.ok(&[
        "run",
        "--rm",
        "--mount",
        "type=tmpfs,target=/t,tmpfs-size=1m",
        "localbusybox",
        "df",
        "-k",
        "/t",
    ]);
    assert!(df.contains("1024"), "{df}");
    // Volume with driver options: a tmpfs mounted where it is used.
    e.ok(&[
        "volume",
        "create",
        "-o",
        "type=tmpfs",
        "-o",
        "device=tmpfs",
        "-o",
        "o=size=2m",
        "tv",
    ]);
    let df = e.ok(&[
        "run",
        "--rm",
        "-v",
        "tv:/t",
        "localbusybox",
        "df",
        "-k",
        "/t",
    ]);
    assert!(df.contains("2048"), "{df}");
    e.ok(&["volume", "rm", "tv"]);
    assert!(e.ok(&["system", "df"]).contains("Local Volumes"));
    assert_eq!(e.leaks(&[]), Vec::<String>::new());
}

#[test]
fn restart_policies_and_health() {
    if !root_or_skip("restart_policies_and_health") {
        return;
    }
    let e = Eng::new();
    e.ok(&[
        "run",
        "-d",
        "--name",
        "flaky",
        "--restart",
        "on-failure:2",
        "localbusybox",
        "sh",
        "-c",
        "echo run; exit 1",
    ]);
    assert!(
        e.until(10, || e.inspect("flaky", ".State.Status") == "exited"
            && e.inspect("flaky", ".RestartCount") == "2")
    );
    assert_eq!(
        e.ok(&["logs", "flaky"])
            .lines()
            .filter(|l| *l == "run")
            .count(),
        3
    );
    // always: restarts after the process dies, but not after a manual kill or stop.
    e.ok(&[
        "run",
        "-d",
        "--name",
        "always",
        "--restart",
        "always",
        "localbusybox",
        "sh",
        "-c",
        "sleep 0.3",
    ]);
    assert!(e.until(10, || e
        .inspect("always", ".RestartCount")
        .parse::<u32>()
        .unwrap_or(0)
        >= 1));
    e.ok(&["stop", "-t", "0", "always"]);
    std::thread::sleep(std::time::Duration::from_millis(600));
    assert_eq!(e.inspect("always", ".State.Status"), "exited");
    // Health: starting -> unhealthy -> healthy.
    e.ok(&[
        "run",
        "-d",
        "--name",
        "hc",
        "--health-cmd",
        "test -f /tmp/ok",
        "--health-interval",
        "200ms",
        "--health-retries",
        "2",
        "--health-timeout",
        "2s",
        "localbusybox",
        "sleep",
        "60",
    ]);
    assert_eq!(e.inspect("hc", ".State.Health.Status"), "starting");
    assert!(e.until(10, || e.inspect("hc", ".State.Health.Status")
        == "unhealthy"));
    assert!(e.ok(&["ps"]).contains("(unhealthy)"));
    e.ok(&["exec", "hc", "touch", "/tmp/ok"]);
    assert!(e.until(10, || e.inspect("hc", ".State.Health.Status") == "healthy"));
    assert_eq!(e.inspect("hc", ".State.Health.FailingStreak"), "0");
    let ev = e.ok(&[
        "events",
        "--since",
        "0",
        "--until",
        &now_plus(1),
        "--filter",
        "container=hc",
    ]);
    assert!(ev.contains("health_status: healthy"), "{ev}");
    let ids = e.all_ids();
    e.ok(&["rm", "-f", "flaky", "always", "hc"]);
    assert_eq!(e.leaks(&ids), Vec::<String>::new());
}

fn now_plus(secs: u64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    (now + secs).to_string()
}

/// Run `cmd` under a pseudo-terminal (`script`, from util-linux) with `input` on it.
fn in_terminal(e: &Eng, cmd: &str, input: &str) -> std::process::Output {
    let cmd = cmd.replace("QUAI", &e.quai_line());
    let mut c = std::process::Command::new("script");
    c.args([
        "-qec",
        &format!("stty rows 33 cols 101; {cmd}"),
        "/dev/null",
    ])
    .env("QUAI_ROOT", &e.root)
    .env("QUAI_RUN_DIR", &e.run)
    .stdin(std::process::Stdio::piped())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().expect("script");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_string();
    let feeder = std::thread::spawn(move || {
        use std::io::Write;
        std::thread::sleep(std::time::Duration::from_millis(800));
        let _ = stdin.write_all(input.as_bytes());
        std::thread::sleep(std::time::Duration::from_millis(300));
    });
    let o = child.wait_with_output().expect("wait");
    let _ = feeder.join();
    o
}

#[test]
fn terminals_attach_and_follow() {
    if !root_or_skip("terminals_attach_and_follow") {
        return;
    }
    let e = Eng::new();
    let o = in_terminal(
        &e,
        "QUAI run --rm -t localbusybox sh -c 'tty; stty size'",
        "",
    );
    let out = String::from_utf8_lossy(&o.stdout).replace('\r', "");
    assert!(out.contains("/dev/pts/0\n33 101"), "{out}");
    let o = in_terminal(
        &e,
        "QUAI run --rm -it localbusybox sh",
        "echo hi-$((6*7))\nexit 5\n",
    );
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("hi-42"));
    e.ok(&[
        "run",
        "-d",
        "--name",
        "tt",
        "-t",
        "localbusybox",
        "sh",
        "-c",
        "while true; do sleep 1; done",
    ]);
    let o = in_terminal(&e, "QUAI exec -t tt sh -c 'tty; exit 4'", "");
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("/dev/pts/"));
    e.ok(&["rm", "-f", "tt"]);
    // attach and logs -f follow a running container to its end.
    e.ok(&[
        "run",
        "-d",
        "--name",
        "talker",
        "localbusybox",
        "sh",
        "-c",
        "sleep 1; for i in 1 2 3; do echo line $i; sleep 0.2; done; exit 7",
    ]);
    let follower = e.cmd(&["logs", "-f", "talker"]).output().expect("logs -f");
    assert!(String::from_utf8_lossy(&follower.stdout).ends_with("line 3\n"));
    // --tail reads back from the end of the log: N entries, none, all, more than there are.
    assert_eq!(e.ok(&["logs", "--tail", "2", "talker"]), "line 2\nline 3");
    assert_eq!(e.ok(&["logs", "--tail", "0", "talker"]), "");
    assert_eq!(
        e.ok(&["logs", "--tail", "all", "talker"]),
        e.ok(&["logs", "talker"])
    );
    assert_eq!(
        e.ok(&["logs", "--tail", "99", "talker"]),
        "line 1\nline 2\nline 3"
    );
    // With -f it follows from there.
    e.ok(&[
        "run",
        "-d",
        "--name",
        "tailer",
        "localbusybox",
        "sh",
        "-c",
        "echo one; echo two; sleep 2; echo three",
    ]);
    assert!(e.until(5, || e.ok(&["logs", "tailer"]).ends_with("two")));
    let o = e.q(&["logs", "-f", "--tail", "1", "tailer"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "two\nthree\n");
    e.ok(&[
        "run",
        "-d",
        "--name",
        "talker2",
        "localbusybox",
        "sh",
        "-c",
        "sleep 0.5; echo late; exit 6",
    ]);
    let a = e.q(&["attach", "talker2"]);
    assert_eq!(a.status.code(), Some(6), "{}", text(&a));
    assert_eq!(String::from_utf8_lossy(&a.stdout), "late\n");
    // start -a runs a stopped container attached.
    let s = e.q(&["start", "-a", "talker2"]);
    assert_eq!(s.status.code(), Some(6));
    assert_eq!(String::from_utf8_lossy(&s.stdout), "late\n");
    let ids = e.all_ids();
    e.ok(&["rm", "talker", "talker2"]);
    assert_eq!(e.leaks(&ids), Vec::<String>::new());
}
