//! A private quai engine per test: its own root and run dir, busybox imported as
//! `localbusybox`, every container force-removed on drop, and a leak check.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

// Not every test file uses each of these (cli_differential imports root_or_skip itself).
#[allow(unused_imports)]
pub use crate::common::{busybox_tar, quai, root_or_skip};

pub struct Eng {
    pub dir: tempfile::TempDir,
    pub root: PathBuf,
    pub run: PathBuf,
    /// The network namespace every quai command of this test runs in (bridges, veths and
    /// nftables rules stay inside it).
    pub netns: String,
    /// The quai binary the commands run (a test may swap in a private copy).
    pub bin: PathBuf,
}

impl Eng {
    pub fn new() -> Eng {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("root");
        let run = dir.path().join("run");
        let netns = crate::common::netns_add("quai-t", dir.path());
        let e = Eng {
            dir,
            root,
            run,
            netns,
            bin: quai(),
        };
        let tar = busybox_tar(e.dir.path());
        e.ok(&[
            "import",
            "-c",
            "CMD [\"/bin/sh\"]",
            tar.to_str().expect("utf-8"),
            "localbusybox",
        ]);
        e
    }

    /// `nsenter --net=... quai`, as a shell command line.
    pub fn quai_line(&self) -> String {
        format!(
            "nsenter --net=/run/netns/{} {}",
            self.netns,
            self.bin.display()
        )
    }

    /// Run a program in the test's network namespace.
    pub fn in_netns(&self, prog: &str, args: &[&str]) -> Output {
        Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", self.netns))
            .arg(prog)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("nsenter")
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("nsenter");
        c.arg(format!("--net=/run/netns/{}", self.netns))
            .arg(&self.bin)
            .args(args)
            .env("QUAI_ROOT", &self.root)
            .env("QUAI_RUN_DIR", &self.run)
            .stdin(Stdio::null());
        c
    }

    pub fn q(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run quai")
    }

    /// Run, assert success, return stdout trimmed.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.q(args);
        assert!(
            o.status.success(),
            "quai {args:?} failed ({:?}): {}{}",
            o.status.code(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }

    pub fn inspect(&self, what: &str, field: &str) -> String {
        self.ok(&["inspect", "-f", &format!("{{{{{field}}}}}"), what])
    }

    /// Wait until `f` holds (up to `secs`), polling.
    pub fn until(&self, secs: u64, mut f: impl FnMut() -> bool) -> bool {
        let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        while std::time::Instant::now() < end {
            if f() {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        f()
    }

    /// What this engine left behind: mounts under its dir, cgroups of its containers,
    /// processes started with its root.
    pub fn leaks(&self, ids: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        // A dead container's veth goes with its network namespace, which the kernel tears
        // down asynchronously: give it a moment.
        let vq =
            || String::from_utf8_lossy(&self.in_netns("ip", &["-o", "link"]).stdout).into_owned();
        self.until(5, || !vq().contains(": vq"));
        let links = vq();
        out.extend(
            links
                .lines()
                .filter(|l| l.contains(": vq"))
                .map(|l| format!("veth: {l}")),
        );
        // Published ports are map elements: none may outlive their containers (the
        // default network's set elements stay, like its bridge).
        for map in ["pub_any", "pub_ip"] {
            let nft = String::from_utf8_lossy(
                &self
                    .in_netns("nft", &["list", "map", "ip", "quai", map])
                    .stdout,
            )
            .into_owned();
            out.extend(
                nft.lines()
                    .filter(|l| l.contains("elements"))
                    .map(|l| format!("nft {map}: {l}")),
            );
        }
        let base = self.dir.path().display().to_string();
        let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        out.extend(
            mi.lines()
                .filter(|l| l.contains(&base))
                .map(|l| format!("mount: {l}")),
        );
        for id in ids {
            for h in hierarchies() {
                let p = h.join(format!("quai-{id}"));
                if p.exists() {
                    out.push(format!("cgroup: {}", p.display()));
                }
            }
        }
        for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
                let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
                if cmd.contains(&base) && !cmd.contains("cargo") {
                    out.push(format!(
                        "process {}: {cmd}",
                        e.file_name().to_string_lossy()
                    ));
                }
            }
        }
        out
    }

    /// `run --rm --network NET localbusybox sh -c SCRIPT`: its output (it must succeed).
    pub fn sh_on(&self, net: &str, script: &str) -> String {
        self.ok(&[
            "run",
            "--rm",
            "--network",
            net,
            "localbusybox",
            "sh",
            "-c",
            script,
        ])
    }

    pub fn all_ids(&self) -> Vec<String> {
        self.ok(&["ps", "-aq", "--no-trunc"])
            .lines()
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Eng {
    fn drop(&mut self) {
        if let Ok(o) = self.cmd(&["ps", "-aq"]).output() {
            for id in String::from_utf8_lossy(&o.stdout).lines() {
                let _ = self.cmd(&["rm", "-f", "-v", id]).output();
            }
        }
        // Networks' DNS servers go with their networks.
        let _ = self.cmd(&["network", "prune", "-f"]).output();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.netns])
            .status();
    }
}

/// Every mounted cgroup hierarchy under /sys/fs/cgroup (or the root itself on pure v2).
pub fn hierarchies() -> Vec<PathBuf> {
    let root = Path::new("/sys/fs/cgroup");
    if root.join("cgroup.controllers").exists() {
        return vec![root.to_path_buf()];
    }
    std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir() && !p.is_symlink())
        .collect()
}

impl Eng {
    /// Pids of this engine's monitors whose command line also contains `also` (an id, or
    /// "" for all).
    pub fn monitors(&self, also: &str) -> Vec<i32> {
        let base = self.dir.path().display().to_string();
        std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|p| {
                let pid: i32 = p.file_name().to_str()?.parse().ok()?;
                let cmd = std::fs::read(p.path().join("cmdline")).ok()?;
                let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
                (cmd.contains("__monitor") && cmd.contains(&base) && cmd.contains(also))
                    .then_some(pid)
            })
            .collect()
    }

    /// `n` detached `sleep 60` containers named PREFIX0.. started at once; their outputs.
    pub fn run_parallel(&self, n: usize, prefix: &str) -> Vec<Output> {
        std::thread::scope(|s| {
            let hs: Vec<_> = (0..n)
                .map(|i| {
                    let name = format!("{prefix}{i}");
                    s.spawn(move || {
                        self.q(&["run", "-d", "--name", &name, "localbusybox", "sleep", "60"])
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().expect("thread")).collect()
        })
    }
}

/// A shell line that sends `GET /` to `host port` with busybox nc (its wget needs NSS).
pub fn http_get(host: &str, port: u16, wait: u32) -> String {
    format!("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w {wait} {host} {port}")
}

impl Eng {
    /// The A records for `name` from the DNS server at `server`:53, asked over TCP from
    /// inside this engine's network namespace (a thread of the test enters it).
    pub fn dns_tcp(&self, server: &str, name: &str) -> Vec<std::net::Ipv4Addr> {
        use std::io::{Read, Write};
        use std::os::fd::AsRawFd;
        let ns = std::fs::File::open(format!("/run/netns/{}", self.netns)).expect("netns");
        let mut q = vec![0xab, 0xcd, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        for l in name.split('.') {
            q.push(l.len() as u8);
            q.extend_from_slice(l.as_bytes());
        }
        q.extend_from_slice(&[0, 0, 1, 0, 1]);
        let server: std::net::Ipv4Addr = server.parse().expect("server address");
        std::thread::scope(|s| {
            s.spawn(|| {
                // SAFETY: setns(2) on this helper thread only, with an fd we opened.
                let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(rc, 0, "setns");
                let mut c = std::net::TcpStream::connect((server, 53)).expect("connect :53/tcp");
                c.set_read_timeout(Some(std::time::Duration::from_secs(5)))
                    .expect("timeout");
                let mut m = (q.len() as u16).to_be_bytes().to_vec();
                m.extend_from_slice(&q);
                c.write_all(&m).expect("send");
                let mut len = [0u8; 2];
                c.read_exact(&mut len).expect("reply length");
                let mut r = vec![0u8; u16::from_be_bytes(len) as usize];
                c.read_exact(&mut r).expect("reply");
                assert_eq!(&r[..2], &[0xab, 0xcd], "reply id");
                let count = u16::from_be_bytes([r[6], r[7]]) as usize;
                // Answers follow the question; each names it by pointer (2 bytes), then
                // type, class, ttl, length (10 bytes) and the 4-byte address.
                let mut at = q.len();
                let mut out = Vec::new();
                for _ in 0..count {
                    let rd = &r[at + 12..at + 16];
                    out.push(std::net::Ipv4Addr::new(rd[0], rd[1], rd[2], rd[3]));
                    at += 16;
                }
                out
            })
            .join()
            .expect("dns thread")
        })
    }
}

/// A stand-in upstream resolver on UDP port 53 inside a test's network namespace: it
/// answers every A query with one address (and other types with no records).
pub struct FakeDns {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Eng {
    pub fn fake_dns(&self, listen: &str, answer: std::net::Ipv4Addr) -> FakeDns {
        use std::os::fd::AsRawFd;
        let ns = std::fs::File::open(format!("/run/netns/{}", self.netns)).expect("netns");
        let listen: std::net::Ipv4Addr = listen.parse().expect("listen address");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            // SAFETY: setns(2) on this helper thread only, with an fd we opened.
            let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns");
            let s = std::net::UdpSocket::bind((listen, 53)).expect("bind :53/udp");
            s.set_read_timeout(Some(std::time::Duration::from_millis(100)))
                .expect("timeout");
            let _ = ready_tx.send(());
            let mut b = [0u8; 512];
            while !flag.load(std::sync::atomic::Ordering::SeqCst) {
                let Ok((n, from)) = s.recv_from(&mut b) else {
                    continue;
                };
                let q = &b[..n];
                // The question ends after its name's zero label and 4 bytes.
                let Some(z) = q[12..].iter().position(|&x| x == 0) else {
                    continue;
                };
                let end = 12 + z + 5;
                let qtype = u16::from_be_bytes([q[end - 4], q[end - 3]]);
                let mut r = q[..end].to_vec();
                r[2] = 0x80 | (q[2] & 1);
                r[3] = 0x80;
                r[8..12].fill(0);
                if qtype == 1 {
                    r[6..8].copy_from_slice(&1u16.to_be_bytes());
                    r.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
                    r.extend_from_slice(&answer.octets());
                } else {
                    r[6..8].fill(0);
                }
                let _ = s.send_to(&r, from);
            }
        });
        ready_rx
            .recv_timeout(std::time::Duration::from_secs(5))
            .expect("fake dns ready");
        FakeDns {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for FakeDns {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Kill a process this test found among its own engine's.
pub fn kill9(pid: i32) {
    // SAFETY: kill(2) on a pid of a process this test's engine started.
    unsafe { libc::kill(pid, libc::SIGKILL) };
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
