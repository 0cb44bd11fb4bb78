//! Rootless quai (docs/adr/026). A user who is not root runs `quai` as they are: the first
//! command starts a pause process that holds a user namespace (uid and gid 0 inside are
//! the user; 1-65536 their range in /etc/subuid and /etc/subgid, mapped by newuidmap and
//! newgidmap, or nothing more without one), a mount namespace and a network namespace
//! (where the bridges, their nftables table and the networks' DNS servers live). Every
//! command joins the first two at once ([`enter`], before any thread exists) and is root
//! there: the engine runs unchanged, with its root under `$XDG_DATA_HOME/quai` and its run
//! dir under `$XDG_RUNTIME_DIR/quai`. pasta (or slirp4netns) connects the network namespace
//! to the host's; each container's monitor forwards its published ports from the host's
//! namespace ([`crate::portfwd`]).

use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The hidden argument that makes `quai` the pause process.
pub const ARG: &str = "__rootless-pause";

/// The state file in the run dir.
const STATE: &str = "rootless.json";

/// What the pause process holds and how it was set up (`quai info` shows it).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct State {
    /// The pause process.
    pub pause_pid: i32,
    /// Its start time (a pid reused after a reboot is not it).
    pub pause_start: u64,
    /// The user, in the host's namespace.
    pub uid: u32,
    /// Their primary group.
    pub gid: u32,
    /// Their name.
    pub user: String,
    /// The host ids behind container ids 1 and up (`start:count`), none with a single-id
    /// mapping.
    pub subuid: Option<(u32, u32)>,
    /// The same for groups.
    pub subgid: Option<(u32, u32)>,
    /// `pasta`, `slirp4netns`, or empty: what connects the namespace to the host.
    pub network_helper: String,
    /// Its pid.
    pub helper_pid: i32,
    /// What could not be done, one line each.
    pub notices: Vec<String>,
}

/// Whether this process runs rootless: in a user namespace whose root is not the host's.
pub fn active() -> bool {
    runtime::userns::in_child_userns()
}

/// The state of the rootless setup that `run` names (none when it runs as root).
pub fn state(run: &Path) -> Option<State> {
    let s = std::fs::read(run.join(STATE)).ok()?;
    serde_json::from_slice(&s).ok()
}

/// The default root and run dir of a user (`$XDG_DATA_HOME/quai`, `$XDG_RUNTIME_DIR/quai`,
/// else `~/.local/share/quai` and `/tmp/quai-run-UID`).
fn default_dirs(uid: u32) -> Result<(PathBuf, PathBuf)> {
    let env_dir = |k: &str| {
        std::env::var_os(k)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    let data = match env_dir("XDG_DATA_HOME") {
        Some(d) => d.join("quai"),
        None => match env_dir("HOME") {
            Some(h) => h.join(".local/share/quai"),
            None => {
                return Err(Error::Invalid(
                    "rootless: neither XDG_DATA_HOME nor HOME is set: pass --root".into(),
                ))
            }
        },
    };
    // XDG_RUNTIME_DIR only when it is the user's own (`su` keeps root's).
    let run = match env_dir("XDG_RUNTIME_DIR")
        .filter(|d| std::fs::metadata(d).is_ok_and(|m| m.is_dir() && m.uid() == uid))
    {
        Some(d) => d.join("quai"),
        None => PathBuf::from(format!("/tmp/quai-run-{uid}")),
    };
    Ok((data, run))
}

/// Create `dir` for the user alone, or check that the one there is theirs.
fn own_dir(dir: &Path, uid: u32) -> Result<()> {
    match std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
    {
        Ok(()) => {}
        Err(e) => return Err(Error::io("create", dir, e)),
    }
    let m = std::fs::symlink_metadata(dir).map_err(|e| Error::io("stat", dir, e))?;
    if !m.is_dir() || m.uid() != uid {
        return Err(Error::Invalid(format!(
            "rootless: {} is not a directory of user {uid}",
            dir.display()
        )));
    }
    Ok(())
}

/// The first range of `user` (by name or uid) in an /etc/subuid-style file.
pub fn subid_range(file: &str, user: &str, id: u32) -> Option<(u32, u32)> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines().find_map(|l| {
        let mut f = l.trim().split(':');
        let (who, start, count) = (f.next()?, f.next()?, f.next()?);
        if who != user && who.parse::<u32>().ok() != Some(id) {
            return None;
        }
        let (start, count) = (start.parse().ok()?, count.parse::<u32>().ok()?);
        (count > 0).then_some((start, count.min(u32::MAX - 1)))
    })
}

fn tool(name: &str) -> Option<PathBuf> {
    ["/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists())
}

/// Join the user's rootless namespaces (starting the pause process first when none runs),
/// when this process is not root. Call first thing, while the process has one thread.
/// Sets `QUAI_ROOT` and `QUAI_RUN_DIR` to the user's when they are not set.
pub fn enter() -> Result<()> {
    let euid = nix::unistd::geteuid().as_raw();
    if euid == 0 {
        return Ok(());
    }
    let gid = nix::unistd::getegid().as_raw();
    let (data, run) = default_dirs(euid)?;
    if std::env::var_os("QUAI_ROOT").is_none_or(|v| v.is_empty()) {
        std::env::set_var("QUAI_ROOT", &data);
    }
    let run = match std::env::var_os("QUAI_RUN_DIR").filter(|v| !v.is_empty()) {
        Some(r) => PathBuf::from(r),
        None => {
            std::env::set_var("QUAI_RUN_DIR", &run);
            run
        }
    };
    own_dir(&run, euid)?;
    let lock_path = run.join("rootless.lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| Error::io("open", &lock_path, e))?;
    lock.lock().map_err(|e| Error::io("lock", &lock_path, e))?;
    let st = match state(&run) {
        Some(s) if crate::process_alive(s.pause_pid, s.pause_start) => s,
        old => {
            if let Some(o) = old {
                stop_helper(&o);
            }
            let s = start_pause(&run, euid, gid)?;
            let tmp = run.join(format!("{STATE}.tmp"));
            let body = serde_json::to_vec_pretty(&s).map_err(|e| Error::Invalid(e.to_string()))?;
            std::fs::write(&tmp, body).map_err(|e| Error::io("write", &tmp, e))?;
            std::fs::rename(&tmp, run.join(STATE)).map_err(|e| Error::io("rename", &tmp, e))?;
            s
        }
    };
    join(st.pause_pid)?;
    std::env::set_var(net::ns::ENV, format!("/proc/{}/ns/net", st.pause_pid));
    drop(lock);
    Ok(())
}

/// Enter the pause process's user and mount namespaces.
fn join(pid: i32) -> Result<()> {
    for (ns, flag) in [
        ("user", nix::sched::CloneFlags::CLONE_NEWUSER),
        ("mnt", nix::sched::CloneFlags::CLONE_NEWNS),
    ] {
        let p = format!("/proc/{pid}/ns/{ns}");
        let f = std::fs::File::open(&p).map_err(|e| Error::io("open", &p, e))?;
        nix::sched::setns(f.as_fd(), flag)
            .map_err(|e| Error::io("rootless: join", &p, std::io::Error::from(e)))?;
    }
    Ok(())
}

/// Start the pause process, map its ids and connect its network namespace.
fn start_pause(run: &Path, uid: u32, gid: u32) -> Result<State> {
    let user = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| uid.to_string());
    let mut child = Command::new("/proc/self/exe")
        .arg(ARG)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| Error::io("start", "the rootless pause process", e))?;
    let pid = i32::try_from(child.id()).unwrap_or(0);
    let (mut to, from) = match (child.stdin.take(), child.stdout.take()) {
        (Some(i), Some(o)) => (i, BufReader::new(o)),
        _ => {
            return Err(Error::Invalid(
                "rootless: no pipe to the pause process".into(),
            ))
        }
    };
    let mut lines = from.lines();
    let mut expect = |child: &mut std::process::Child, what: &str| -> Result<()> {
        match lines.next() {
            Some(Ok(l)) if l == what => Ok(()),
            _ => {
                let _ = child.kill();
                let mut why = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut why);
                }
                let _ = child.wait();
                let why = why.trim();
                Err(Error::Invalid(format!(
                    "rootless: the pause process failed: {}",
                    if why.is_empty() { "it exited" } else { why }
                )))
            }
        }
    };
    expect(&mut child, "unshared")?;
    let mut st = State {
        pause_pid: pid,
        uid,
        gid,
        user: user.clone(),
        ..State::default()
    };
    let ranges = (
        subid_range("/etc/subuid", &user, uid),
        subid_range("/etc/subgid", &user, uid),
    );
    let mapped = match (ranges, tool("newuidmap"), tool("newgidmap")) {
        ((Some(u), Some(g)), Some(nu), Some(ng)) => {
            let map = |prog: &Path, own: u32, (start, count): (u32, u32)| -> Result<()> {
                crate::run_tool(
                    Command::new(prog)
                        .args([pid.to_string(), "0".into(), own.to_string(), "1".into()])
                        .args(["1".to_string(), start.to_string(), count.to_string()]),
                    &format!("rootless: {}", prog.display()),
                )
            };
            map(&nu, uid, u)?;
            map(&ng, gid, g)?;
            st.subuid = Some(u);
            st.subgid = Some(g);
            true
        }
        ((u, g), _, _) => {
            st.notices.push(if u.is_none() || g.is_none() {
                format!(
                    "no range for {user} in /etc/subuid and /etc/subgid: only uid and gid 0 \
                     are mapped (files of other owners in images belong to root)"
                )
            } else {
                "newuidmap/newgidmap are missing (Debian: uidmap): only uid and gid 0 are \
                 mapped"
                    .to_string()
            });
            false
        }
    };
    if !mapped {
        let write = |f: &str, v: String| -> Result<()> {
            let p = format!("/proc/{pid}/{f}");
            std::fs::write(&p, v).map_err(|e| Error::io("write", &p, e))
        };
        write("setgroups", "deny".into())?;
        write("uid_map", format!("0 {uid} 1\n"))?;
        write("gid_map", format!("0 {gid} 1\n"))?;
    }
    to.write_all(b"mapped\n")
        .map_err(|e| Error::io("write to", "the pause process", e))?;
    expect(&mut child, "ready")?;
    drop(to);
    st.pause_start = crate::process_start(pid).unwrap_or(0);
    // The child is detached: it outlives us (its stdio pipes close; nobody reaps it
    // until it is reparented).
    std::mem::forget(child);
    connect_network(run, &mut st);
    Ok(st)
}

/// Give the pause process's network namespace a way out: pasta, else slirp4netns
/// (`QUAI_ROOTLESS_NETWORK=pasta|slirp4netns|none` chooses one).
fn connect_network(run: &Path, st: &mut State) {
    let pid = st.pause_pid;
    let mut why = Vec::new();
    let want = std::env::var("QUAI_ROOTLESS_NETWORK").unwrap_or_default();
    if want == "none" {
        st.notices.push(
            "containers have no network beyond the host's published ports: QUAI_ROOTLESS_NETWORK=none"
                .into(),
        );
        return;
    }
    let pasta = tool("pasta").filter(|_| want.is_empty() || want == "pasta");
    let slirp = tool("slirp4netns").filter(|_| want.is_empty() || want == "slirp4netns");
    if let Some(pasta) = pasta {
        let pidfile = run.join("pasta.pid");
        let _ = std::fs::remove_file(&pidfile);
        let out = Command::new(&pasta)
            .args(["--config-net", "--quiet", "--mtu", "65520"])
            .args(["-t", "none", "-u", "none", "-T", "none", "-U", "none"])
            .arg("--pid")
            .arg(&pidfile)
            .arg(pid.to_string())
            .stdin(Stdio::null())
            .output();
        match out {
            Ok(o) if o.status.success() => {
                st.network_helper = "pasta".into();
                st.helper_pid = std::fs::read_to_string(&pidfile)
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                    .unwrap_or(0);
                return;
            }
            Ok(o) => why.push(format!(
                "pasta: {}",
                String::from_utf8_lossy(&o.stderr)
                    .lines()
                    .filter(|l| !l.contains("syslog") && !l.trim().is_empty())
                    .collect::<Vec<_>>()
                    .join("; ")
            )),
            Err(e) => why.push(format!("pasta: {e}")),
        }
    }
    if let Some(slirp) = slirp {
        let ready = nix::unistd::pipe();
        if let Ok((r, w)) = ready {
            use std::os::fd::AsRawFd;
            let spawned = Command::new(&slirp)
                .args(["--configure", "--mtu=65520", "--disable-host-loopback"])
                .arg(format!("--ready-fd={}", w.as_raw_fd()))
                .arg(format!("--userns-path=/proc/{pid}/ns/user"))
                .args(["--netns-type=path", &format!("/proc/{pid}/ns/net"), "tap0"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn();
            drop(w);
            match spawned {
                Ok(c) => {
                    let mut b = [0u8; 1];
                    let ok = nix::unistd::read(&r, &mut b).is_ok_and(|n| n == 1);
                    if ok {
                        st.network_helper = "slirp4netns".into();
                        st.helper_pid = i32::try_from(c.id()).unwrap_or(0);
                        std::mem::forget(c);
                        return;
                    }
                    let mut c = c;
                    let _ = c.kill();
                    let _ = c.wait();
                    why.push("slirp4netns: it exited before it was ready".into());
                }
                Err(e) => why.push(format!("slirp4netns: {e}")),
            }
        }
    }
    if why.is_empty() {
        why.push(if want.is_empty() {
            "neither pasta (Debian: passt) nor slirp4netns is installed".into()
        } else {
            format!("QUAI_ROOTLESS_NETWORK={want}: not installed (pasta, slirp4netns or none)")
        });
    }
    st.notices.push(format!(
        "containers have no network beyond the host's published ports: {}",
        why.join("; ")
    ));
}

/// Stop the network helper of an old setup (after its pause process died).
fn stop_helper(st: &State) {
    if st.helper_pid > 0 {
        let start = crate::process_start(st.helper_pid);
        // Only a process of ours that is still a helper (its name says so).
        let comm =
            std::fs::read_to_string(format!("/proc/{}/comm", st.helper_pid)).unwrap_or_default();
        if start.is_some() && (comm.trim() == "pasta" || comm.trim() == "slirp4netns") {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(st.helper_pid),
                nix::sys::signal::SIGTERM,
            );
        }
    }
}

/// `quai system migrate`'s part: stop the pause process and its network helper, so that
/// the next command sets all up afresh (after a reboot, a change of /etc/subuid, or an
/// upgrade). Containers must be stopped first.
pub fn reset(run: &Path) -> Result<bool> {
    let Some(st) = state(run) else {
        return Ok(false);
    };
    stop_helper(&st);
    if crate::process_alive(st.pause_pid, st.pause_start) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(st.pause_pid),
            nix::sys::signal::SIGKILL,
        );
        // Gone before we return: a test or script may check right after.
        let end = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while crate::process_alive(st.pause_pid, st.pause_start) && std::time::Instant::now() < end
        {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
    let p = run.join(STATE);
    std::fs::remove_file(&p).map_err(|e| Error::io("remove", &p, e))?;
    Ok(true)
}

/// The pause process: unshare, wait for the ids to be mapped, bring up loopback, hold on.
pub fn pause_main() -> i32 {
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        eprintln!("{what}: {e}");
        1
    };
    use nix::sched::CloneFlags;
    // SAFETY: PR_SET_NAME copies at most 16 bytes from the NUL-terminated name.
    unsafe { libc::prctl(libc::PR_SET_NAME, c"quai-pause".as_ptr(), 0, 0, 0) };
    if let Err(e) = nix::sched::unshare(
        CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWNET,
    ) {
        return fail("unshare user, mount and network namespaces", &e);
    }
    let mut out = std::io::stdout();
    if writeln!(out, "unshared").and_then(|_| out.flush()).is_err() {
        return 1;
    }
    let mut line = String::new();
    if std::io::stdin().read_line(&mut line).is_err() || line.trim() != "mapped" {
        return 1;
    }
    match net::netlink::Route::new().and_then(|mut r| r.set_up(1, "bring up lo")) {
        Ok(()) => {}
        Err(e) => return fail("rootless network namespace", &e),
    }
    if writeln!(out, "ready").and_then(|_| out.flush()).is_err() {
        return 1;
    }
    // Let go of the pipes (the parent waits for their end) and of the terminal.
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        use std::os::fd::AsRawFd;
        for fd in 0..3 {
            // SAFETY: dup2 onto the standard descriptors; nothing else uses them here.
            unsafe { libc::dup2(null.as_raw_fd(), fd) };
        }
    }
    let _ = nix::unistd::chdir("/");
    loop {
        nix::unistd::pause();
    }
}

impl crate::lifecycle::Engine {
    /// `quai system migrate`: stop the running containers and the networks' DNS servers,
    /// then the pause process and its network helper; the next command starts afresh.
    /// Returns the containers it stopped; false with nothing rootless to reset.
    pub fn rootless_reset(&mut self) -> Result<(Vec<String>, bool)> {
        if !active() {
            return Ok((Vec::new(), false));
        }
        let mut stopped = Vec::new();
        for r in self.list()? {
            if matches!(
                r.state.status,
                crate::config::ContainerStatus::Running | crate::config::ContainerStatus::Paused
            ) {
                self.stop(&r.id, None)?;
                stopped.push(r.name.clone());
            }
        }
        let paths = crate::Paths::new(self.root(), self.run_dir());
        for n in self.networks()? {
            crate::dns::stop(&paths, &n);
        }
        let reset = reset(self.run_dir())?;
        Ok((stopped, reset))
    }
}
