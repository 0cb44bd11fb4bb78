//! The embedded DNS server of a user-defined network (`quai __dns NETWORK`): one process
//! per network, on the network's gateway address, port 53 (UDP). It answers A queries for
//! the names, aliases and short ids of the network's running containers from the state
//! database, and forwards everything else to the host's resolvers. Docker gives the
//! default bridge no DNS; neither does quai.

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::Path;
use std::time::Duration;

use crate::db::Db;
use crate::network::Network;
use crate::{Error, Paths, Result};

/// The hidden subcommand.
pub const ARG: &str = "__dns";

/// Where a network's DNS server records its pid.
pub fn pid_file(paths: &Paths, n: &Network) -> std::path::PathBuf {
    paths.run.join(format!("dns-{}.pid", n.bridge))
}

/// Start the network's DNS server unless it runs (its pid file names a live `__dns`).
pub fn ensure(paths: &Paths, n: &Network) -> Result<()> {
    if running(paths, n).is_some() {
        return Ok(());
    }
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().map_err(|e| Error::io("find", "/proc/self/exe", e))?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg(ARG)
        .arg("--root")
        .arg(&paths.root)
        .arg("--run")
        .arg(&paths.run)
        .arg(&n.name)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    use std::os::fd::AsRawFd;
    let host_mnt = crate::rootfs::HOST_MOUNT_NS.get().map(|f| f.as_raw_fd());
    // SAFETY: setns and setsid are async-signal-safe; the fd stays open in the parent.
    unsafe {
        cmd.pre_exec(move || {
            if let Some(fd) = host_mnt {
                if libc::setns(fd, libc::CLONE_NEWNS) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            libc::setsid();
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::io("start", "dns server", e))?;
    // The first process binds, writes the pid file, forks the server and exits.
    let _ = child.wait();
    Ok(())
}

/// Stop a network's DNS server.
pub fn stop(paths: &Paths, n: &Network) {
    if let Some(pid) = running(paths, n) {
        // SAFETY: kill(2) on the DNS server this engine started (checked by its cmdline).
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    let _ = std::fs::remove_file(pid_file(paths, n));
}

/// The pid of the network's DNS server, when its pid file names a live `__dns`.
fn running(paths: &Paths, n: &Network) -> Option<i32> {
    let pid = std::fs::read_to_string(pid_file(paths, n))
        .ok()?
        .trim()
        .parse::<i32>()
        .ok()?;
    let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    String::from_utf8_lossy(&cmd).contains(ARG).then_some(pid)
}

/// Entry point: `quai __dns --root R --run D NETWORK`.
pub fn main(args: &[std::ffi::OsString]) -> i32 {
    let a: Vec<String> = args
        .iter()
        .skip(2)
        .map(|s| s.to_string_lossy().into_owned())
        .collect();
    let (Some(root), Some(run), Some(name)) = (
        a.iter()
            .position(|x| x == "--root")
            .and_then(|i| a.get(i + 1)),
        a.iter()
            .position(|x| x == "--run")
            .and_then(|i| a.get(i + 1)),
        a.last(),
    ) else {
        return 2;
    };
    let paths = Paths::new(Path::new(root), Path::new(run));
    let res = (|| -> Result<()> {
        let db = Db::open(&paths.root)?;
        let n = crate::network::get(&db, name)?;
        let gw = n.subnet()?.gateway();
        let sock = UdpSocket::bind(SocketAddr::from((gw, 53)))
            .map_err(|e| Error::io("bind", format!("{gw}:53"), e))?;
        // SAFETY: single-threaded; the parent only writes the pid file and exits.
        match unsafe { nix::unistd::fork() } {
            Ok(nix::unistd::ForkResult::Parent { child }) => {
                let pf = pid_file(&paths, &n);
                std::fs::write(&pf, child.as_raw().to_string())
                    .map_err(|e| Error::io("write", pf, e))?;
                // SAFETY: _exit in the parent of a fork.
                unsafe { libc::_exit(0) }
            }
            Ok(nix::unistd::ForkResult::Child) => serve(&db, &n, &sock),
            Err(e) => Err(Error::io("fork", "dns server", e.into())),
        }
    })();
    match res {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

fn upstreams() -> Vec<SocketAddr> {
    std::fs::read_to_string("/etc/resolv.conf")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.strip_prefix("nameserver"))
        .filter_map(|a| a.trim().parse::<std::net::IpAddr>().ok())
        .map(|ip| SocketAddr::from((ip, 53)))
        .collect()
}

/// The queried name (lower case, without the trailing dot) and type, and where the
/// question ends.
fn question(q: &[u8]) -> Option<(String, u16, usize)> {
    let mut i = 12;
    let mut labels = Vec::new();
    loop {
        let len = *q.get(i)? as usize;
        i += 1;
        if len == 0 {
            break;
        }
        if len & 0xc0 != 0 {
            return None;
        }
        labels.push(String::from_utf8_lossy(q.get(i..i + len)?).to_ascii_lowercase());
        i += len;
    }
    let qtype = u16::from_be_bytes([*q.get(i)?, *q.get(i + 1)?]);
    Some((labels.join("."), qtype, i + 4))
}

/// A reply to `q` (its question copied) with `answers` as A records.
fn reply(q: &[u8], end: usize, answers: &[Ipv4Addr], rcode: u8) -> Vec<u8> {
    let mut r = q[..end].to_vec();
    r[2] = 0x80 | (q[2] & 0x01) | 0x04; // response, recursion desired copied, authoritative
    r[3] = 0x80 | rcode; // recursion available
    r[4..6].copy_from_slice(&1u16.to_be_bytes());
    r[6..8].copy_from_slice(&(answers.len() as u16).to_be_bytes());
    r[8..12].copy_from_slice(&[0, 0, 0, 0]);
    for a in answers {
        r.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1]); // name pointer, type A, class IN
        r.extend_from_slice(&600u32.to_be_bytes());
        r.extend_from_slice(&4u16.to_be_bytes());
        r.extend_from_slice(&a.octets());
    }
    r
}

/// Addresses of running containers of `n` called `name` (name, alias, short id).
fn lookup(db: &Db, n: &Network, name: &str) -> Vec<Ipv4Addr> {
    let name = name.strip_suffix(&format!(".{}", n.name)).unwrap_or(name);
    db.list()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|r| {
            let named = r.name == name || (name.len() >= 12 && r.id.starts_with(name));
            if r.config.network_mode == n.name && !r.state.ip.is_empty() {
                let alias = r.config.aliases.iter().any(|a| a == name);
                return (named || alias).then(|| r.state.ip.parse().ok()).flatten();
            }
            let e = r.state.endpoints.iter().find(|e| e.network == n.name)?;
            // (Its first network, joined again while it runs, comes as an endpoint too.)
            let alias = r
                .config
                .networks
                .iter()
                .any(|a| a.network == n.name && a.aliases.iter().any(|x| x == name))
                || (r.config.network_mode == n.name && r.config.aliases.iter().any(|a| a == name));
            (named || alias).then(|| e.ip.parse().ok()).flatten()
        })
        .collect()
}

fn serve(db: &Db, n: &Network, sock: &UdpSocket) -> Result<()> {
    let ups = upstreams();
    let mut buf = [0u8; 1500];
    loop {
        let Ok((len, from)) = sock.recv_from(&mut buf) else {
            continue;
        };
        let q = &buf[..len];
        let Some((name, qtype, end)) = (len >= 12).then(|| question(q)).flatten() else {
            continue;
        };
        let local = lookup(db, n, &name);
        if !local.is_empty() {
            let answers: &[Ipv4Addr] = if qtype == 1 { &local } else { &[] };
            let _ = sock.send_to(&reply(q, end, answers, 0), from);
            continue;
        }
        // Not ours: ask the host's resolvers.
        let mut answered = false;
        for up in &ups {
            let Ok(u) = UdpSocket::bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))) else {
                continue;
            };
            let _ = u.set_read_timeout(Some(Duration::from_secs(2)));
            if u.send_to(q, up).is_err() {
                continue;
            }
            let mut rb = [0u8; 4096];
            if let Ok((rl, _)) = u.recv_from(&mut rb) {
                let _ = sock.send_to(&rb[..rl], from);
                answered = true;
                break;
            }
        }
        if !answered {
            let _ = sock.send_to(&reply(q, end, &[], 2), from); // SERVFAIL
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_questions_and_builds_answers() {
        // id 0x1234, RD, one question: web.front A IN
        let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for l in ["Web", "front"] {
            q.push(l.len() as u8);
            q.extend_from_slice(l.as_bytes());
        }
        q.extend_from_slice(&[0, 0, 1, 0, 1]);
        let (name, t, end) = question(&q).expect("question");
        assert_eq!((name.as_str(), t, end), ("web.front", 1, q.len()));
        let r = reply(&q, end, &[Ipv4Addr::new(10, 100, 0, 2)], 0);
        assert_eq!(&r[..2], &[0x12, 0x34]);
        assert_eq!(r[3] & 0x0f, 0);
        assert_eq!(u16::from_be_bytes([r[6], r[7]]), 1);
        assert_eq!(&r[r.len() - 4..], &[10, 100, 0, 2]);
    }
}
