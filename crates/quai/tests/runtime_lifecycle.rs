//! End-to-end: the runtime's verbs through the `quai` binary, as root, with real
//! namespaces, mounts and cgroups.

mod common;

use std::time::Duration;

use common::*;

#[test]
fn run_returns_exit_status_and_output() {
    if !root_or_skip("run_returns_exit_status_and_output") {
        return;
    }
    let w = World::new(&["/bin/sh", "-c", "echo hello from $(hostname); exit 3"]);
    let out = w.run(&id("exit"));
    assert_eq!(out.status.code(), Some(3), "stderr: {}", stderr(&out));
    assert_eq!(stdout(&out), "hello from quai\n");
    // run deletes the container: nothing left in the state root.
    assert_eq!(std::fs::read_dir(&w.root).expect("root").count(), 0);
}

#[test]
fn run_reports_death_by_signal_as_128_plus_n() {
    if !root_or_skip("run_reports_death_by_signal") {
        return;
    }
    // pid 1 ignores signals it has no handler for, so the shell forks a child that dies.
    let w = World::new(&["/bin/sh", "-c", "sh -c 'kill -9 $$'; exit $?"]);
    let out = w.run(&id("sig"));
    assert_eq!(out.status.code(), Some(137), "stderr: {}", stderr(&out));
}

#[test]
fn run_forwards_signals_to_the_container() {
    if !root_or_skip("run_forwards_signals") {
        return;
    }
    let w = World::new(&[
        "/bin/sh",
        "-c",
        "trap 'echo got TERM; exit 42' TERM; echo ready; while true; do sleep 0.05; done",
    ]);
    w.save();
    let mut child = std::process::Command::new(quai())
        .args(["runtime", "--root"])
        .arg(&w.root)
        .args(["run", "--bundle"])
        .arg(&w.bundle)
        .arg(id("fwd"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut out = child.stdout.take().expect("stdout");
    let mut buf = [0u8; 6];
    std::io::Read::read_exact(&mut out, &mut buf).expect("ready");
    assert_eq!(&buf, b"ready\n");
    nix_kill(child.id() as i32, libc_sigterm());
    let status = child.wait().expect("wait");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).expect("read");
    assert_eq!(status.code(), Some(42), "output: {rest}");
    assert!(rest.contains("got TERM"));
}

fn libc_sigterm() -> i32 {
    15
}

fn nix_kill(pid: i32, sig: i32) {
    let st = std::process::Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .expect("kill");
    assert!(st.success());
}

#[test]
fn create_start_state_pause_resume_kill_delete() {
    if !root_or_skip("lifecycle") {
        return;
    }
    let mut w = World::new(&[
        "/bin/sh",
        "-c",
        "while true; do echo x >> /out/count; sleep 0.02; done",
    ]);
    let outdir = w.path("out");
    std::fs::create_dir_all(&outdir).expect("out");
    w.bind(&outdir, "/out");
    let id = id("life");
    let (ok, err) = w.create_detached(&id);
    assert!(ok, "create: {err}");
    let st = w.state(&id);
    assert_eq!(st["status"], "created");
    assert_eq!(st["id"], id.as_str());
    let pid = st["pid"].as_i64().expect("pid");
    assert!(pid > 0);
    assert!(!outdir.join("count").exists(), "process ran before start");

    // A second create with the same id is refused and leaves the first alone.
    let (ok, err) = w.create_detached(&id);
    assert!(!ok);
    assert!(err.contains("already exists"), "{err}");

    let out = w.rt(&["start", &id]);
    assert!(out.status.success(), "start: {}", stderr(&out));
    assert_eq!(w.state(&id)["status"], "running");
    let again = w.rt(&["start", &id]);
    assert!(!again.status.success(), "second start must fail");
    std::thread::sleep(Duration::from_millis(200));
    assert!(outdir.join("count").exists());

    // Deleting a running container without --force is refused.
    let del = w.rt(&["delete", &id]);
    assert!(!del.status.success());
    assert!(stderr(&del).contains("running"), "{}", stderr(&del));

    let out = w.rt(&["pause", &id]);
    assert!(out.status.success(), "pause: {}", stderr(&out));
    assert_eq!(w.state(&id)["status"], "paused");
    let len = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    std::thread::sleep(Duration::from_millis(50));
    let a = len(&outdir.join("count"));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(a, len(&outdir.join("count")), "a paused container ran");
    let out = w.rt(&["resume", &id]);
    assert!(out.status.success(), "resume: {}", stderr(&out));
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        len(&outdir.join("count")) > a,
        "resumed container does not run"
    );

    let ps = w.rt(&["ps", "--format", "json", &id]);
    let pids: Vec<i64> = serde_json::from_slice(&ps.stdout).expect("ps json");
    assert!(pids.contains(&pid), "{pids:?} lacks init {pid}");

    let list = w.rt(&["list", "--format", "json"]);
    let l: serde_json::Value = serde_json::from_slice(&list.stdout).expect("list json");
    assert_eq!(l[0]["id"], id.as_str());

    let out = w.rt(&["kill", &id, "KILL"]);
    assert!(out.status.success(), "kill: {}", stderr(&out));
    for _ in 0..200 {
        if w.state(&id)["status"] == "stopped" {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(w.state(&id)["status"], "stopped");
    let cg = cgroup_dirs_of(&w, &id);
    let out = w.rt(&["delete", &id]);
    assert!(out.status.success(), "delete: {}", stderr(&out));
    assert!(!w.root.join(&id).exists(), "state dir left");
    for d in cg {
        assert!(!d.exists(), "cgroup {} left", d.display());
    }
    let gone = w.rt(&["state", &id]);
    assert!(stderr(&gone).contains("does not exist"));
}

fn cgroup_dirs_of(w: &World, id: &str) -> Vec<std::path::PathBuf> {
    let st: serde_json::Value =
        serde_json::from_slice(&std::fs::read(w.root.join(id).join("state.json")).expect("state"))
            .expect("json");
    let mut v: Vec<std::path::PathBuf> = st["cgroups"]["v1"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p[1].as_str().map(Into::into))
        .collect();
    if let Some(p) = st["cgroups"]["v2"].as_str() {
        v.push(p.into());
    }
    assert!(!v.is_empty());
    v
}

#[test]
fn exec_joins_the_container() {
    if !root_or_skip("exec") {
        return;
    }
    let w = World::new(&["/bin/sleep", "30"]);
    let id = id("exec");
    assert!(w.create_detached(&id).0);
    assert!(w.rt(&["start", &id]).status.success());
    let out = w.rt(&[
        "exec",
        &id,
        "/bin/sh",
        "-c",
        "hostname; cat /proc/1/cmdline | tr '\\0' ' '; echo; exit 5",
    ]);
    assert_eq!(out.status.code(), Some(5), "exec: {}", stderr(&out));
    assert_eq!(stdout(&out), "quai\n/bin/sleep 30 \n");
    let proc_json = w.path("process.json");
    std::fs::write(&proc_json, r#"{"args":["/bin/sh","-c","id -u; echo $FOO"],"env":["FOO=bar","PATH=/bin"],"cwd":"/tmp","user":{"uid":65534,"gid":65534}}"#).expect("write");
    let out = w.rt(&["exec", "--process", proc_json.to_str().expect("utf8"), &id]);
    assert!(out.status.success(), "exec --process: {}", stderr(&out));
    assert_eq!(stdout(&out), "65534\nbar\n");
    let missing = w.rt(&["exec", &id, "/no/such/binary"]);
    assert!(!missing.status.success());
    assert!(
        stderr(&missing).contains("no such file"),
        "{}",
        stderr(&missing)
    );
    assert!(w.rt(&["delete", "--force", &id]).status.success());
}

#[test]
fn kill_accepts_names_and_numbers() {
    if !root_or_skip("kill_names") {
        return;
    }
    let w = World::new(&[
        "/bin/sh",
        "-c",
        "trap 'exit 0' USR1; while true; do sleep 0.02; done",
    ]);
    let id = id("killn");
    assert!(w.create_detached(&id).0);
    assert!(w.rt(&["start", &id]).status.success());
    let bad = w.rt(&["kill", &id, "SIGNOPE"]);
    assert!(stderr(&bad).contains("invalid signal"), "{}", stderr(&bad));
    assert!(w.rt(&["kill", &id, "10"]).status.success());
    for _ in 0..300 {
        if w.state(&id)["status"] == "stopped" {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(w.state(&id)["status"], "stopped");
    let out = w.rt(&["kill", &id, "TERM"]);
    assert!(
        !out.status.success(),
        "kill of a stopped container must fail"
    );
}

#[test]
fn the_runtime_only_binary_runs_containers() {
    if !root_or_skip("runtime_binary") {
        return;
    }
    let w = World::new(&["/bin/sh", "-c", "echo small"]);
    w.save();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_quai-runtime"))
        .arg("--root")
        .arg(&w.root)
        .args(["run", "--bundle"])
        .arg(&w.bundle)
        .arg(id("small"))
        .output()
        .expect("quai-runtime");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "small\n");
}

#[test]
fn quai_runtime_link_name_dispatches() {
    if !root_or_skip("argv0") {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let link = tmp.path().join("quai-runtime");
    std::os::unix::fs::symlink(quai(), &link).expect("symlink");
    let out = std::process::Command::new(&link)
        .arg("features")
        .output()
        .expect("run");
    assert!(out.status.success());
    let f: serde_json::Value = serde_json::from_slice(&out.stdout).expect("features json");
    assert_eq!(f["linux"]["seccomp"]["enabled"], true);
    assert!(f["hooks"].as_array().expect("hooks").len() == 6);
}

#[test]
fn nested_cgroup_path_is_removed_with_the_container() {
    if !root_or_skip("nested_cgroup") {
        return;
    }
    let mut w = World::new(&["/bin/true"]);
    let top = format!("quai-e2e-{}", std::process::id());
    w.spec["linux"]["cgroupsPath"] = serde_json::json!(format!("/{top}/a/b"));
    let out = w.run(&id("nested"));
    assert!(out.status.success(), "{}", stderr(&out));
    for h in ["memory", "pids", "cpu"] {
        let d = std::path::Path::new("/sys/fs/cgroup").join(h).join(&top);
        assert!(!d.exists(), "{} left behind", d.display());
    }
}

/// Accept one connection on `sock` and receive the pty master sent over it.
fn receive_master(
    listener: std::os::unix::net::UnixListener,
) -> std::thread::JoinHandle<std::fs::File> {
    std::thread::spawn(move || {
        use std::os::fd::AsRawFd;
        let (conn, _) = listener.accept().expect("accept");
        let fd = runtime::sync::recv_fd(conn.as_raw_fd()).expect("master fd");
        std::fs::File::from(fd)
    })
}

fn read_until(f: &mut std::fs::File, want: &str) -> String {
    let mut got = String::new();
    let mut buf = [0u8; 4096];
    while !got.contains(want) {
        match std::io::Read::read(f, &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.push_str(&String::from_utf8_lossy(&buf[..n])),
        }
    }
    got
}

#[test]
fn console_socket_receives_a_working_pty_for_create_and_exec() {
    if !root_or_skip("console_socket") {
        return;
    }
    let mut w = World::new(&["/bin/sh", "-c", "tty; stty size; echo init-done; sleep 30"]);
    w.spec["process"]["terminal"] = serde_json::json!(true);
    w.spec["process"]["consoleSize"] = serde_json::json!({"height": 33, "width": 101});
    let sock = w.path("console.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).expect("bind");
    let got = receive_master(listener);
    w.save();
    let id = id("tty");
    let out = w.rt(&[
        "create",
        "--bundle",
        w.bundle.to_str().expect("utf8"),
        "--console-socket",
        sock.to_str().expect("utf8"),
        &id,
    ]);
    assert!(out.status.success(), "create: {}", stderr(&out));
    let mut master = got.join().expect("thread");
    assert!(w.rt(&["start", &id]).status.success());
    let text = read_until(&mut master, "init-done");
    assert!(text.contains("/dev/pts/0"), "{text:?}");
    assert!(text.contains("33 101"), "{text:?}");

    let sock2 = w.path("exec.sock");
    let got = receive_master(std::os::unix::net::UnixListener::bind(&sock2).expect("bind"));
    let out = w.rt(&[
        "exec",
        "-t",
        "--console-socket",
        sock2.to_str().expect("utf8"),
        &id,
        "/bin/sh",
        "-c",
        "tty; echo exec-done",
    ]);
    assert!(out.status.success(), "exec -t: {}", stderr(&out));
    let mut master = got.join().expect("thread");
    let text = read_until(&mut master, "exec-done");
    assert!(text.contains("/dev/pts/"), "{text:?}");
    assert!(w.rt(&["delete", "--force", &id]).status.success());
}

#[test]
fn exec_detached_writes_its_pid_and_errors_go_to_the_log() {
    if !root_or_skip("exec_detach") {
        return;
    }
    let mut w = World::new(&["/bin/sleep", "30"]);
    let out_dir = w.path("out");
    std::fs::create_dir_all(&out_dir).expect("mkdir");
    w.bind(&out_dir, "/out");
    let id = id("execd");
    assert!(w.create_detached(&id).0);
    assert!(w.rt(&["start", &id]).status.success());
    let pid_file = w.path("exec.pid");
    let out = w.rt(&[
        "exec",
        "-d",
        "--pid-file",
        pid_file.to_str().expect("utf8"),
        &id,
        "/bin/sh",
        "-c",
        "sleep 0.2; echo done > /out/x",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .expect("pid file")
        .trim()
        .parse()
        .expect("pid");
    assert!(pid > 1);
    for _ in 0..100 {
        if out_dir.join("x").exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        std::fs::read_to_string(out_dir.join("x")).expect("x"),
        "done\n"
    );

    // --log with --log-format json records the failure as a JSON line.
    let log = w.path("rt.log");
    let out = w.rt(&[
        "--log",
        log.to_str().expect("utf8"),
        "--log-format",
        "json",
        "start",
        &id,
    ]);
    assert!(!out.status.success());
    let line: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(&log)
            .expect("log")
            .lines()
            .next()
            .expect("line"),
    )
    .expect("json");
    assert_eq!(line["level"], "error");
    assert!(
        line["msg"]
            .as_str()
            .is_some_and(|m| m.contains("cannot start")),
        "{line}"
    );
    // A wrong flag is one clear line.
    let out = w.rt(&["create", "--bundel", "x", "y"]);
    assert_eq!(
        stderr(&out).trim(),
        "quai-runtime: create: unknown flag --bundel"
    );
    assert!(w.rt(&["delete", "--force", &id]).status.success());
}
