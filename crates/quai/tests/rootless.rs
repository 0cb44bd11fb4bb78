//! Rootless quai, end to end: a user the test creates (with a range in /etc/subuid and
//! /etc/subgid, and without one) runs the engine scenario as themselves, in a network
//! namespace the test made: run, -d, a published port, volumes, a user network with DNS,
//! exec, logs, stop, start, rm; then `system migrate` leaves nothing of theirs running.
//! The user, their files, processes and the namespace go on drop, also when a test fails.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{busybox_tar, quai, root_or_skip};

/// A user of the test's own, with a private dir (their home, quai's root and run dir)
/// and a network namespace their commands run in.
struct User {
    name: String,
    uid: u32,
    gid: u32,
    /// Their /etc/subuid range, if they have one.
    range: Option<(u32, u32)>,
    dir: tempfile::TempDir,
    netns: String,
    bin: PathBuf,
}

fn sh(prog: &str, args: &[&str]) -> Output {
    Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect(prog)
}

/// `useradd`, retried while another test holds the password file's lock.
fn useradd(args: &[&str]) {
    for _ in 0..50 {
        let o = sh("useradd", args);
        if o.status.success() {
            return;
        }
        let err = String::from_utf8_lossy(&o.stderr);
        if err.contains("already exists") {
            // Left by a run that was killed: ours by its name; made again.
            if let Some(name) = args.last() {
                let _ = sh("userdel", &["-f", name]);
            }
            continue;
        }
        assert!(
            err.contains("lock") || err.contains("try again"),
            "useradd {args:?}: {err}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("useradd {args:?}: the password file stayed locked");
}

fn id_of(name: &str, flag: &str) -> u32 {
    let o = sh("id", &[flag, name]);
    String::from_utf8_lossy(&o.stdout)
        .trim()
        .parse()
        .expect("id")
}

fn range_of(file: &str, name: &str) -> Option<(u32, u32)> {
    std::fs::read_to_string(file).ok()?.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        if f.len() == 3 && f[0] == name {
            Some((f[1].parse().ok()?, f[2].parse().ok()?))
        } else {
            None
        }
    })
}

/// Whether every directory above `p` lets others through (the user must reach the
/// binary under test).
fn reachable_by_others(p: &Path) -> bool {
    p.ancestors()
        .skip(1)
        .all(|a| std::fs::metadata(a).is_ok_and(|m| m.permissions().mode() & 0o001 != 0))
}

impl User {
    fn new(tag: &str, with_range: bool) -> User {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        let name = format!("qrl{tag}{}", std::process::id() % 100_000);
        let home = dir.path().join("home");
        let mut args = vec!["-M", "-s", "/bin/sh", "-d", home.to_str().expect("utf-8")];
        if !with_range {
            args.extend(["-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0"]);
        }
        args.push(&name);
        useradd(&args);
        let (uid, gid) = (id_of(&name, "-u"), id_of(&name, "-g"));
        let netns = common::netns_add("quai-rl", dir.path());
        let mut u = User {
            name: name.clone(),
            uid,
            gid,
            range: None,
            dir,
            netns,
            bin: quai(),
        };
        if with_range {
            if range_of("/etc/subuid", &name).is_none() || range_of("/etc/subgid", &name).is_none()
            {
                // useradd allocates only where /etc/subuid exists: give one by hand.
                let start = 1_000_000 + (uid % 1000) * 65536;
                let r = format!("{start}-{}", start + 65535);
                let o = sh(
                    "usermod",
                    &["--add-subuids", &r, "--add-subgids", &r, &name],
                );
                assert!(o.status.success(), "usermod: {o:?}");
            }
            u.range = range_of("/etc/subuid", &name);
            assert!(u.range.is_some(), "no subuid range for {name}");
        } else {
            assert!(range_of("/etc/subuid", &name).is_none());
        }
        for d in ["home", "data", "work"] {
            let p = u.dir.path().join(d);
            std::fs::create_dir(&p).expect("mkdir");
            std::os::unix::fs::chown(&p, Some(uid), Some(gid)).expect("chown");
        }
        // The binary where the user can run it (a copy when its own dir is closed).
        if !reachable_by_others(&u.bin) {
            let copy = u.dir.path().join("quai");
            std::fs::copy(&u.bin, &copy).expect("copy quai");
            u.bin = copy;
        }
        u
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    /// A command as the user, in the test's network namespace, with a clean environment
    /// (quai picks its own root under HOME when none is given; this test names one).
    fn cmd(&self, prog: &Path, args: &[&str]) -> Command {
        let mut c = Command::new("nsenter");
        c.arg(format!("--net=/run/netns/{}", self.netns))
            .args(["setpriv", "--reuid", &self.uid.to_string()])
            .args(["--regid", &self.gid.to_string(), "--init-groups", "--"])
            .arg(prog)
            .args(args)
            .env_clear()
            .env("HOME", self.path("home"))
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("QUAI_ROOT", self.path("data"))
            .env("QUAI_RUN_DIR", self.path("work/run"))
            .current_dir(self.path("home"))
            .stdin(Stdio::null());
        c
    }

    fn q(&self, args: &[&str]) -> Output {
        self.cmd(&self.bin, args).output().expect("quai")
    }

    /// `q` with the storage fallback forced (`QUAI_ROOTLESS_STORAGE`).
    fn q_storage(&self, storage: &str, args: &[&str]) -> Output {
        self.cmd(&self.bin, args)
            .env("QUAI_ROOTLESS_STORAGE", storage)
            .output()
            .expect("quai")
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.q(args);
        assert!(
            o.status.success(),
            "quai {args:?} as {} failed ({:?}): {}{}",
            self.name,
            o.status.code(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }

    fn fails(&self, args: &[&str]) -> String {
        let o = self.q(args);
        assert!(!o.status.success(), "quai {args:?} succeeded");
        String::from_utf8_lossy(&o.stderr).trim().to_string()
    }

    /// Remove every container of the user's.
    fn rm_all(&self) {
        let ids = String::from_utf8_lossy(&self.q(&["ps", "-aq"]).stdout).to_string();
        let mut args = vec!["rm", "-f"];
        args.extend(ids.split_whitespace());
        if args.len() > 2 {
            let _ = self.q(&args);
        }
    }

    /// The user's live processes (zombies aside), by pid.
    fn processes(&self) -> Vec<i32> {
        let mut out = Vec::new();
        for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            let Ok(status) = std::fs::read_to_string(e.path().join("status")) else {
                continue;
            };
            let field = |k: &str| {
                status
                    .lines()
                    .find(|l| l.starts_with(k))
                    .map(|l| l.split_whitespace().nth(1).unwrap_or("").to_string())
            };
            if field("Uid:").as_deref() == Some(&self.uid.to_string())
                && field("State:").as_deref() != Some("Z")
            {
                out.push(pid);
            }
        }
        out
    }

    /// curl from the test's namespace (the user's "host").
    fn curl(&self, port: u16) -> String {
        let o = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", self.netns))
            .args(["curl", "-s", "-m", "5"])
            .arg(format!("http://127.0.0.1:{port}/"))
            .output()
            .expect("curl");
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }
}

impl Drop for User {
    fn drop(&mut self) {
        self.rm_all();
        let _ = self.q(&["system", "migrate"]);
        // Whatever is left is the test's own (it made the user): killed by pid.
        for _ in 0..50 {
            let left = self.processes();
            if left.is_empty() {
                break;
            }
            for pid in left {
                // SAFETY: kill(2) on a process of the user this test created.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = sh("userdel", &["-f", &self.name]);
        let _ = sh("ip", &["netns", "del", &self.netns]);
    }
}

fn scenario(u: &User) {
    // Images: busybox, plus a file of uid 1000 that shows how ownership shifts.
    let tar = busybox_tar(u.dir.path());
    let extra = u.path("extra");
    std::fs::create_dir(&extra).expect("mkdir");
    std::fs::write(extra.join("owned"), "x").expect("write");
    let ok = Command::new("tar")
        .args(["--owner=1000", "--group=1000", "-rf"])
        .arg(&tar)
        .arg("-C")
        .arg(&extra)
        .arg("owned")
        .status()
        .expect("tar");
    assert!(ok.success());
    std::fs::set_permissions(&tar, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let tar_s = tar.to_str().expect("utf-8");
    u.ok(&["import", "-c", "CMD [\"/bin/sh\"]", tar_s, "localbusybox"]);

    // info says how it runs.
    let info = u.ok(&["info"]);
    assert!(info.contains("Rootless: true"), "{info}");
    assert!(
        info.contains(&format!("User: {} (uid {})", u.name, u.uid)),
        "{info}"
    );
    let uid_map = u.ok(&["run", "--rm", "localbusybox", "cat", "/proc/self/uid_map"]);
    let layer_file = walk(&u.path("data/layers"), "owned").expect("the layer's file");
    let host_owner = std::fs::symlink_metadata(&layer_file).expect("stat").uid();
    let inside = u.ok(&[
        "run",
        "--rm",
        "localbusybox",
        "stat",
        "-c",
        "%u:%g",
        "/owned",
    ]);
    match u.range {
        Some((start, count)) => {
            assert!(
                info.contains(&format!(
                    "ID Mapping: 0 -> {}, 1-{count} -> {start}-{}",
                    u.uid,
                    start + count - 1
                )),
                "{info}"
            );
            let lines: Vec<Vec<&str>> = uid_map
                .lines()
                .map(|l| l.split_whitespace().collect())
                .collect();
            let (uid, start_s, count_s) = (u.uid.to_string(), start.to_string(), count.to_string());
            assert_eq!(
                lines,
                vec![
                    vec!["0", uid.as_str(), "1"],
                    vec!["1", start_s.as_str(), count_s.as_str()]
                ]
            );
            // Unpacked with ownership shifted: 1000 inside is start + 999 outside.
            assert_eq!(inside, "1000:1000");
            assert_eq!(host_owner, start + 999);
        }
        None => {
            assert!(info.contains(&format!("ID Mapping: 0 -> {} (single id)", u.uid)));
            assert!(info.contains("no range for"), "{info}");
            assert_eq!(
                uid_map.split_whitespace().collect::<Vec<_>>(),
                ["0", &u.uid.to_string(), "1"]
            );
            // Other owners do not exist here: the file is the user's (root inside).
            assert_eq!(inside, "0:0");
            assert_eq!(host_owner, u.uid);
            let e = u.fails(&["run", "--rm", "--user", "1000", "localbusybox", "id"]);
            assert!(e.contains("not mapped"), "{e}");
        }
    }
    if info.contains("Cgroups: none") {
        let e = u.fails(&["run", "--rm", "--memory", "64m", "localbusybox", "true"]);
        assert!(e.contains("resource limits cannot be applied"), "{e}");
    }

    // -d, a published port, exec, logs.
    let port = 18000 + (std::process::id() % 1000) as u16 + u16::from(u.range.is_some()) * 1000;
    let p = format!("{port}:80");
    u.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "-p",
        &p,
        "localbusybox",
        "httpd",
        "-f",
        "-p",
        "80",
        "-h",
        "/var/www",
    ]);
    assert!(
        eventually(|| u.curl(port) == "hello from quai"),
        "the published port"
    );
    assert_eq!(
        u.ok(&["exec", "web", "cat", "/var/www/index.html"]),
        "hello from quai"
    );
    assert!(u
        .ok(&["port", "web"])
        .contains(&format!("80/tcp -> 0.0.0.0:{port}")));
    let e = u.fails(&["run", "-d", "-p", &p, "localbusybox", "true"]);
    assert!(e.contains("port is already allocated"), "{e}");
    // UDP: an echo server (the host's python, its /usr bound read-only), a datagram
    // from the host's side and its answer.
    if Path::new("/usr/bin/python3").exists() {
        let uport = port + 500;
        let up = format!("{uport}:9999/udp");
        u.ok(&[
            "run", "-d", "--name", "echo", "-p", &up, "-v", "/usr:/usr:ro", "-v",
            "/usr/lib:/lib:ro", "-v", "/usr/lib64:/lib64:ro", "localbusybox", "/usr/bin/python3",
            "-c",
            "import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('0.0.0.0',9999))\nwhile True:\n d,a=s.recvfrom(2048)\n s.sendto(d.upper(),a)",
        ]);
        let probe = format!(
            "import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.settimeout(0.3)\nfor i in range(30):\n s.sendto(b'ping',('127.0.0.1',{uport}))\n try:\n  print(s.recv(100).decode()); break\n except OSError: pass"
        );
        let o = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", u.netns))
            .args(["/usr/bin/python3", "-c", &probe])
            .output()
            .expect("python");
        assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "PING", "{o:?}");
        u.ok(&["rm", "-f", "echo"]);
    }
    u.ok(&[
        "run",
        "-d",
        "--name",
        "talker",
        "localbusybox",
        "sh",
        "-c",
        "echo said-hi; sleep 100",
    ]);
    assert!(
        eventually(|| u.ok(&["logs", "talker"]).contains("said-hi")),
        "logs"
    );

    // Volumes: what one container writes, the next reads; ownership shifts on the host.
    u.ok(&["volume", "create", "vol1"]);
    let wrote = u.q(&[
        "run",
        "--rm",
        "-v",
        "vol1:/data",
        "localbusybox",
        "sh",
        "-c",
        "echo kept > /data/f && chown 1000:1000 /data/f",
    ]);
    assert_eq!(
        u.ok(&[
            "run",
            "--rm",
            "-v",
            "vol1:/data",
            "localbusybox",
            "cat",
            "/data/f"
        ]),
        "kept"
    );
    let f = std::fs::metadata(u.path("data/volumes/vol1/_data/f")).expect("volume file");
    match u.range {
        Some((start, _)) => {
            assert!(wrote.status.success(), "{wrote:?}");
            assert_eq!(f.uid(), start + 999);
        }
        None => {
            assert!(!wrote.status.success(), "chown to an unmapped id must fail");
            assert_eq!(f.uid(), u.uid);
        }
    }

    // keep-id: the user is themselves inside, and what they write is theirs outside.
    let keep = u.ok(&[
        "run",
        "--rm",
        "--userns=keep-id",
        "-v",
        "vol1:/data",
        "localbusybox",
        "sh",
        "-c",
        "id -u; touch /data/k",
    ]);
    assert_eq!(keep, u.uid.to_string());
    let k = std::fs::metadata(u.path("data/volumes/vol1/_data/k")).expect("keep-id file");
    assert_eq!((k.uid(), k.gid()), (u.uid, u.gid));
    let e = u.fails(&["run", "--rm", "--userns=auto", "localbusybox", "true"]);
    assert!(e.contains("only the host's root"), "{e}");

    // Without overlayfs: a copy of the image is the root; it keeps its changes across a
    // restart, and what cannot be told apart is refused.
    let o = u.q_storage(
        "copy",
        &[
            "run",
            "-d",
            "--name",
            "copied",
            "localbusybox",
            "sh",
            "-c",
            "echo kept >> /etc/motd; rm /bin/ls; sleep 300",
        ],
    );
    assert!(o.status.success(), "{o:?}");
    assert!(
        eventually(|| u
            .q(&["exec", "copied", "cat", "/etc/motd"])
            .stdout
            .starts_with(b"kept")),
        "the copied root"
    );
    assert!(u
        .path("data/containers")
        .read_dir()
        .expect("containers")
        .flatten()
        .any(|d| d.path().join("rootfs-copy").exists()));
    let o = u.q_storage("copy", &["restart", "-t", "0", "copied"]);
    assert!(o.status.success(), "{o:?}");
    assert!(
        eventually(|| u
            .q(&["exec", "copied", "cat", "/etc/motd"])
            .stdout
            .starts_with(b"kept\nkept")),
        "changes kept across a restart"
    );
    assert!(!u
        .q(&["exec", "copied", "test", "-e", "/bin/ls"])
        .status
        .success());
    let e = u.fails(&["diff", "copied"]);
    assert!(e.contains("is a copy of its image"), "{e}");
    u.ok(&["rm", "-f", "copied"]);
    // fuse-overlayfs where /dev/fuse is not the user's: one clear line.
    let fuse_open =
        std::fs::metadata("/dev/fuse").is_ok_and(|m| m.permissions().mode() & 0o006 == 0o006);
    if !fuse_open {
        let o = u.q_storage("fuse-overlayfs", &["run", "--rm", "localbusybox", "true"]);
        assert!(!o.status.success());
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(
            e.contains("/dev/fuse") || e.contains("fuse-overlayfs"),
            "{e}"
        );
    }

    // A user network: names resolve through its DNS server.
    u.ok(&["network", "create", "appnet"]);
    u.ok(&[
        "run",
        "-d",
        "--name",
        "srv",
        "--network",
        "appnet",
        "localbusybox",
        "httpd",
        "-f",
        "-p",
        "80",
        "-h",
        "/var/www",
    ]);
    let fetched = u.ok(&["run", "--rm", "--network", "appnet", "localbusybox", "sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://srv/ && exit 0; sleep 0.2; done; exit 1"]);
    assert_eq!(fetched, "hello from quai");

    // stop takes the port away, start brings it back.
    u.ok(&["stop", "-t", "1", "web"]);
    assert_eq!(u.curl(port), "");
    u.ok(&["start", "web"]);
    assert!(
        eventually(|| u.curl(port) == "hello from quai"),
        "port back after start"
    );

    // (The container refused its port stays Created, as Docker leaves it.)
    u.rm_all();
    u.ok(&["network", "rm", "appnet"]);
    assert_eq!(u.ok(&["ps", "-aq"]), "");
    // migrate stops the pause process: nothing of the user's is left.
    u.ok(&["system", "migrate"]);
    let end = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !u.processes().is_empty() && std::time::Instant::now() < end {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(
        u.processes(),
        Vec::<i32>::new(),
        "processes left after migrate"
    );
    // And the next command sets all up again.
    assert_eq!(
        u.ok(&["run", "--rm", "localbusybox", "echo", "again"]),
        "again"
    );
}

/// Whether `f` holds within 2.5 s (polled every 50 ms).
fn eventually(mut f: impl FnMut() -> bool) -> bool {
    (0..50).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        f()
    })
}

/// The first file named `name` under `dir`.
fn walk(dir: &Path, name: &str) -> Option<PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if e.file_name() == name {
            return Some(p);
        }
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            if let Some(f) = walk(&p, name) {
                return Some(f);
            }
        }
    }
    None
}

#[test]
fn rootless_user_with_a_subuid_range() {
    if !root_or_skip("rootless_user_with_a_subuid_range") {
        return;
    }
    let u = User::new("r", true);
    scenario(&u);
}

#[test]
fn rootless_user_without_a_subuid_range() {
    if !root_or_skip("rootless_user_without_a_subuid_range") {
        return;
    }
    let u = User::new("s", false);
    scenario(&u);
}

/// A server in the test's network namespace (its "host"), killed on drop.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn rootless_outbound_through_pasta() {
    if !root_or_skip("rootless_outbound_through_pasta") {
        return;
    }
    // pasta copies the host's addresses into the namespace: the host is reached through
    // the gateway, which stands for its loopback (--map-gw).
    outbound("pasta", "o", "10.77.0.254");
}

#[test]
fn rootless_outbound_through_slirp4netns() {
    if !root_or_skip("rootless_outbound_through_slirp4netns") {
        return;
    }
    // slirp4netns's namespace has 10.0.2.100 and connects out from the host's side: the
    // host's own address is reached as it is (its loopback is not, by choice).
    outbound("slirp4netns", "n", "10.77.0.1");
}

/// Containers reach a server in the test's namespace (the user's "host") through the
/// rootless network helper `helper`, at `addr`, on the default bridge and on a user
/// network.
fn outbound(helper: &str, tag: &str, addr: &str) {
    if !Path::new("/usr/bin").join(helper).exists() {
        common::skip(
            &format!("rootless_outbound_through_{helper}"),
            &format!("{helper} is not installed"),
        );
        return;
    }
    let u = User::new(tag, true);
    // The helper copies or routes through the host's interfaces: the test's namespace
    // gets one with a default route, and a server on all its addresses.
    let ip = |args: &[&str]| {
        let mut a = vec!["-n", u.netns.as_str()];
        a.extend(args);
        let o = sh("ip", &a);
        assert!(o.status.success(), "ip {a:?}: {o:?}");
    };
    ip(&["link", "add", "qpA", "type", "veth", "peer", "name", "qpB"]);
    ip(&["addr", "add", "10.77.0.1/24", "dev", "qpA"]);
    ip(&["link", "set", "qpA", "up"]);
    ip(&["link", "set", "qpB", "up"]);
    ip(&[
        "route",
        "add",
        "default",
        "via",
        "10.77.0.254",
        "dev",
        "qpA",
    ]);
    let www = u.path("www");
    std::fs::create_dir(&www).expect("mkdir");
    std::fs::write(www.join("index.html"), "from the host\n").expect("write");
    let _server = Server(
        Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", u.netns))
            .args(["busybox", "httpd", "-f", "-p", "18099", "-h"])
            .arg(&www)
            .spawn()
            .expect("httpd"),
    );
    let tar = busybox_tar(u.dir.path());
    std::fs::set_permissions(&tar, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    // /dev/net/tun is root's alone on these machines: the first command (the one that
    // starts pasta) runs in a mount namespace of the test's own where a node the user
    // may open is bound on it.
    let tun = u.path("tun");
    std::fs::create_dir(&tun).expect("mkdir");
    let first = u.cmd(
        &u.bin,
        &[
            "import",
            "-c",
            "CMD [\"/bin/sh\"]",
            tar.to_str().expect("utf-8"),
            "localbusybox",
        ],
    );
    let mut c = Command::new("unshare");
    c.args(["-m", "--propagation", "private", "sh", "-c"])
        .arg("mount -t tmpfs none \"$1\" && mknod -m 666 \"$1/tun\" c 10 200 && mount --bind \"$1/tun\" /dev/net/tun && shift && exec \"$@\"")
        .arg("sh")
        .arg(&tun)
        .arg(first.get_program())
        .args(first.get_args())
        .env_clear()
        .current_dir(u.path("home"))
        .env("QUAI_ROOTLESS_NETWORK", helper);
    for (k, v) in first.get_envs() {
        if let Some(v) = v {
            c.env(k, v);
        }
    }
    let o = c.output().expect("first command");
    assert!(o.status.success(), "{o:?}");
    let info = u.ok(&["info"]);
    assert!(info.contains(&format!("Network: {helper}")), "{info}");
    let url = format!("http://{addr}:18099/");
    let got = u.ok(&["run", "--rm", "localbusybox", "wget", "-qO-", &url]);
    assert_eq!(got, "from the host");
    u.ok(&["network", "create", "outnet"]);
    let got = u.ok(&[
        "run",
        "--rm",
        "--network",
        "outnet",
        "localbusybox",
        "wget",
        "-qO-",
        &url,
    ]);
    assert_eq!(got, "from the host");
    u.ok(&["network", "rm", "outnet"]);
}
