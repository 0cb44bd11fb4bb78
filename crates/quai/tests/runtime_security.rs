//! Regression tests for known container-escape classes and for bad input.

mod common;

use common::*;
use serde_json::json;

/// CVE-2021-30465 class: a symlink in the rootfs must not redirect a mount to the host.
#[test]
fn mount_target_symlink_cannot_escape_the_rootfs() {
    if !root_or_skip("symlink_escape") {
        return;
    }
    let mut w = World::new(&["/bin/sh", "-c", "ls -d /evil/x && echo inside"]);
    let host_target = w.path("host-target");
    std::fs::create_dir_all(&host_target).expect("mkdir");
    std::os::unix::fs::symlink(&host_target, w.bundle.join("rootfs/evil")).expect("symlink");
    w.spec["mounts"]
        .as_array_mut()
        .expect("mounts")
        .push(json!({"destination": "/evil/x", "type": "tmpfs", "source": "tmpfs"}));
    let out = w.run(&id("symlink"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !host_target.join("x").exists(),
        "mount target escaped to the host"
    );
    // The link's target was taken inside the rootfs instead.
    let inside = w
        .bundle
        .join("rootfs")
        .join(host_target.strip_prefix("/").expect("abs"))
        .join("x");
    assert!(inside.is_dir(), "{} missing", inside.display());
}

/// CVE-2024-21626 class: no host fd reaches the container, and a cwd through a leaked fd
/// is refused.
#[test]
fn no_host_fds_leak_and_cwd_stays_inside() {
    if !root_or_skip("fd_leak") {
        return;
    }
    let w = World::new(&["/bin/sh", "-c", "ls /proc/self/fd | tr '\\n' ' '"]);
    let out = w.run(&id("fds"));
    assert!(out.status.success(), "{}", stderr(&out));
    // 0 1 2 and the fd ls itself opens on /proc/self/fd.
    assert_eq!(
        stdout(&out).trim(),
        "0 1 2 3",
        "leaked fds: {}",
        stdout(&out)
    );
    for n in 3..10 {
        let mut w = World::new(&["/bin/sh", "-c", "pwd"]);
        w.spec["process"]["cwd"] = json!(format!("/proc/self/fd/{n}"));
        let out = w.run(&id(&format!("cwd{n}")));
        if out.status.success() {
            let pwd = stdout(&out);
            assert!(
                !pwd.contains("unreachable"),
                "cwd /proc/self/fd/{n} escaped: {pwd}"
            );
        }
    }
}

/// CVE-2019-5736 class: the runtime binary behind a container process's /proc/PID/exe is
/// on a read-only mount, so it cannot be overwritten from inside the container.
#[test]
fn runtime_binary_is_read_only_from_the_container() {
    if !root_or_skip("selfexe") {
        return;
    }
    let w = World::new(&["/bin/true"]);
    let id = id("exe");
    // A private copy of the runtime: tests running beside this one execute the shared
    // binary, and a file being executed answers ETXTBSY before the mount can say EROFS.
    let rt = w.path("quai-runtime");
    std::fs::copy(env!("CARGO_BIN_EXE_quai-runtime"), &rt).expect("copy runtime");
    w.save();
    let st = std::process::Command::new(&rt)
        .arg("--root")
        .arg(&w.root)
        .args(["create", "--bundle"])
        .arg(&w.bundle)
        .arg(&id)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("create");
    assert!(st.success(), "create with the private runtime copy");
    let pid = w.state(&id)["pid"].as_i64().expect("pid");
    // The attack: hold an O_PATH handle on the init's exe (our binary until start), wait
    // for the runtime's processes to go, then reopen it for writing.
    let exe = std::ffi::CString::new(format!("/proc/{pid}/exe")).expect("cstr");
    // SAFETY: open(2) with a valid C string; the fd is closed below.
    let fd = unsafe { libc::open(exe.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
    assert!(fd >= 0, "open O_PATH");
    let st = std::process::Command::new(&rt)
        .arg("--root")
        .arg(&w.root)
        .args(["delete", "--force", &id])
        .status()
        .expect("delete");
    assert!(st.success());
    std::thread::sleep(std::time::Duration::from_millis(100));
    let reopen = std::fs::OpenOptions::new()
        .write(true)
        .open(format!("/proc/self/fd/{fd}"));
    // SAFETY: closing the fd we opened.
    unsafe { libc::close(fd) };
    let err = reopen.expect_err("the runtime binary was writable through /proc/PID/exe");
    assert_eq!(
        err.raw_os_error(),
        Some(libc::EROFS),
        "want EROFS, got {err}"
    );
}

#[test]
fn bad_input_gives_one_clear_line_and_leaves_nothing() {
    if !root_or_skip("bad_input") {
        return;
    }
    // An unknown namespace type: the field is named.
    let mut w = World::new(&["/bin/true"]);
    w.spec["linux"]["namespaces"]
        .as_array_mut()
        .expect("ns")
        .push(json!({"type": "bogus"}));
    let out = w.run(&id("bad1"));
    assert!(!out.status.success());
    let e = stderr(&out);
    assert!(
        e.contains("linux.namespaces[6].type") && e.contains("bogus"),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1, "{e}");

    // A missing rootfs.
    let mut w = World::new(&["/bin/true"]);
    w.spec["root"]["path"] = json!("nope");
    let out = w.run(&id("bad2"));
    let e = stderr(&out);
    assert!(e.contains("root.path") && e.contains("nope"), "{e}");

    // A bundle that is not a directory.
    let w2 = World::new(&["/bin/true"]);
    let f = w2.path("file");
    std::fs::write(&f, "x").expect("write");
    let out = w2.rt(&["create", "--bundle", f.to_str().expect("utf8"), &id("bad3")]);
    assert!(stderr(&out).contains("not a directory"), "{}", stderr(&out));

    // A missing executable is reported at create time.
    let w3 = World::new(&["/no/such/prog"]);
    let (ok, err) = w3.create_detached(&id("bad4"));
    assert!(!ok);
    assert!(err.contains("/no/such/prog"), "{err}");

    // An invalid id.
    let out = w3.rt(&[
        "create",
        "--bundle",
        w3.bundle.to_str().expect("utf8"),
        "../x",
    ]);
    assert!(
        stderr(&out).contains("invalid container id"),
        "{}",
        stderr(&out)
    );

    for w in [&w, &w2, &w3] {
        assert_eq!(
            std::fs::read_dir(&w.root).map(|r| r.count()).unwrap_or(0),
            0,
            "state left in {}",
            w.root.display()
        );
    }
    // No cgroup left behind by the failed creates.
    for n in ["bad1", "bad2", "bad3", "bad4"] {
        let name = id(n);
        let found = walk_has(std::path::Path::new("/sys/fs/cgroup/memory"), &name, 4);
        assert!(!found, "cgroup {name} left");
    }
}

fn walk_has(dir: &std::path::Path, name: &str, depth: u32) -> bool {
    if depth == 0 {
        return false;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return false;
    };
    rd.flatten().any(|e| {
        e.file_type().is_ok_and(|t| t.is_dir())
            && (e.file_name() == name || walk_has(&e.path(), name, depth - 1))
    })
}
