//! The monitor's I/O event loop: the container's output to the log and to attached
//! clients, their input to the container, signals, health checks, and the exit (reaped,
//! or seen through a pidfd for an adopted container); then what an idle monitor gives
//! back (`trim_rss`).

use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::{write_all_fd, Monitor, Stdio};
use crate::attach;
use crate::{Error, Result};

impl Monitor<'_> {
    /// Relay stdio until the container's init exits; returns its exit code and whether
    /// the OOM killer ended it.
    pub(super) fn relay(
        &mut self,
        init: Pid,
        mut io: Stdio,
        pidfd: Option<OwnedFd>,
    ) -> Result<(i32, bool)> {
        // An adopted init is not our child: its exit shows on its pidfd, without a status.
        let mut pidfd = pidfd;
        let mut exit: Option<i32> = None;
        let mut drain_deadline: Option<Instant> = None;
        let mut trimmed = false;
        let mut buf = vec![0u8; 64 * 1024];
        let oom_before = self.oom_count();
        loop {
            let outputs_open = io.stdout.is_some() || io.stderr.is_some() || io.pty.is_some();
            if exit.is_some()
                && (!outputs_open || drain_deadline.is_some_and(|d| Instant::now() >= d))
            {
                break;
            }
            let mut timeout = self.health.as_ref().map(|h| h.until_next());
            // Once nothing has happened for a second, shed what the last work touched.
            if !trimmed {
                timeout = Some(timeout.map_or(IDLE, |t| t.min(IDLE)));
            }
            if let Some(d) = drain_deadline {
                let left = d.saturating_duration_since(Instant::now());
                timeout = Some(timeout.map_or(left, |t| t.min(left)));
            }
            // Poll set: signals, listener, outputs, health pipe, clients.
            let mut fds: Vec<(RawFd, u8, usize)> = vec![
                (self.sfd.as_fd().as_raw_fd(), 0, 0),
                (self.listener.as_raw_fd(), 1, 0),
            ];
            for (i, f) in [&io.stdout, &io.stderr, &io.pty].into_iter().enumerate() {
                if let Some(f) = f {
                    fds.push((f.as_raw_fd(), 2, i));
                }
            }
            if let Some(fd) = self.health.as_ref().and_then(|h| h.pipe_fd()) {
                fds.push((fd, 3, 0));
            }
            for (i, c) in self.clients.iter().enumerate() {
                fds.push((c.stream.as_raw_fd(), 4, i));
            }
            if let Some(p) = &pidfd {
                fds.push((p.as_raw_fd(), 5, 0));
            }
            let mut pfds: Vec<libc::pollfd> = fds
                .iter()
                .map(|(fd, _, _)| libc::pollfd {
                    fd: *fd,
                    events: libc::POLLIN,
                    revents: 0,
                })
                .collect();
            let ms = timeout.map_or(-1, |t| t.as_millis().min(i32::MAX as u128) as i32);
            // SAFETY: pfds is a valid array of pollfd for its length.
            let n = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ms) };
            if n < 0 {
                continue;
            }
            if n == 0 && !trimmed && exit.is_none() {
                self.db.release_memory();
                trim_rss();
                trimmed = true;
            } else if n > 0 {
                // Activity (output, clients, signals) faults pages back in: trim again
                // after the next quiet second.
                trimmed = false;
            }
            let mut dead_clients = Vec::new();
            for (p, (_, kind, idx)) in pfds.iter().zip(fds.iter()) {
                if p.revents == 0 {
                    continue;
                }
                match kind {
                    0 => {
                        while let Ok(Some(_)) = self.sfd.read_signal() {}
                        loop {
                            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                                Ok(WaitStatus::StillAlive) | Err(_) => break,
                                Ok(ws) => {
                                    if ws.pid() == Some(init) {
                                        exit = runtime::wait::exit_code(ws);
                                        drain_deadline =
                                            Some(Instant::now() + Duration::from_millis(200));
                                    } else if let (Some(h), Some(p)) =
                                        (self.health.as_mut(), ws.pid())
                                    {
                                        h.reaped(p, runtime::wait::exit_code(ws).unwrap_or(-1));
                                    }
                                }
                            }
                        }
                    }
                    1 => self.accept_clients(),
                    2 => {
                        let slot = match idx {
                            0 => &mut io.stdout,
                            1 => &mut io.stderr,
                            _ => &mut io.pty,
                        };
                        let Some(f) = slot.as_ref() else { continue };
                        match nix::unistd::read(f, &mut buf) {
                            Ok(0) | Err(nix::errno::Errno::EIO) => *slot = None,
                            Ok(n) => {
                                let stream = if *idx == 1 { 2 } else { 1 };
                                let _ = self.log.write(stream, &buf[..n]);
                                let kind = if stream == 2 {
                                    attach::STDERR
                                } else {
                                    attach::STDOUT
                                };
                                let data = buf[..n].to_vec();
                                self.broadcast(kind, &data);
                            }
                            Err(nix::errno::Errno::EINTR) | Err(nix::errno::Errno::EAGAIN) => {}
                            Err(_) => *slot = None,
                        }
                    }
                    3 => {
                        if let Some(h) = self.health.as_mut() {
                            h.read_output();
                        }
                    }
                    5 => {
                        if pidfd.as_ref().is_some_and(crate::adopt::exited) {
                            pidfd = None;
                            self.exit_unknown = true;
                            exit = Some(255);
                            drain_deadline = Some(Instant::now() + Duration::from_millis(200));
                        }
                    }
                    _ => {
                        let Some(c) = self.clients.get_mut(*idx) else {
                            continue;
                        };
                        match c.stream.read(&mut buf) {
                            Ok(0) | Err(_) => dead_clients.push(*idx),
                            Ok(n) => {
                                c.dec.push(&buf[..n]);
                                while let Some((k, p)) = c.dec.next_frame() {
                                    match k {
                                        attach::ATTACH => {
                                            c.out = p.contains(&b'o');
                                            c.err = p.contains(&b'e');
                                            c.input = p.contains(&b'i');
                                        }
                                        attach::STDIN => {
                                            let target = io.pty.as_ref().or(io.stdin.as_ref());
                                            if let Some(t) = target {
                                                let _ = write_all_fd(t, &p);
                                            }
                                        }
                                        attach::STDIN_CLOSE if c.input => {
                                            io.stdin = None;
                                            if let Some(t) = io.pty.as_ref() {
                                                // EOF on a terminal: ^D.
                                                let _ = write_all_fd(t, &[4]);
                                            }
                                        }
                                        attach::RESIZE if p.len() == 4 => {
                                            if let Some(t) = io.pty.as_ref() {
                                                let ws = libc::winsize {
                                                    ws_row: u16::from_be_bytes([p[0], p[1]]),
                                                    ws_col: u16::from_be_bytes([p[2], p[3]]),
                                                    ws_xpixel: 0,
                                                    ws_ypixel: 0,
                                                };
                                                // SAFETY: TIOCSWINSZ reads the winsize we own.
                                                unsafe {
                                                    libc::ioctl(
                                                        t.as_raw_fd(),
                                                        libc::TIOCSWINSZ,
                                                        &ws,
                                                    )
                                                };
                                            }
                                        }
                                        _ => {}
                                    }
                                }
                            }
                        }
                    }
                }
            }
            dead_clients.sort_unstable();
            for i in dead_clients.into_iter().rev() {
                if i < self.clients.len() {
                    self.clients.remove(i);
                }
            }
            if exit.is_none() {
                let (rt, id) = (self.paths.runtime_root(), self.id.clone());
                if let Some(h) = self.health.as_mut() {
                    if let Some(result) = h.tick(&rt, &id, self.sigmask, &self.devnull) {
                        let _ = crate::health::record(&mut self.db, &self.id, &self.rec, h, result);
                    }
                }
            }
        }
        let oom = self.oom_count() > oom_before;
        let _ = self.log.flush_partial();
        if let Some(h) = self.health.as_mut() {
            h.abandon();
        }
        runtime::debug!("monitor {}: container exited", self.id);
        // What is attached now (`network connect`/`disconnect` change it while it runs).
        let all = self.db.list().unwrap_or_default();
        let (ports, endpoints) = match all.iter().find(|r| r.id == self.id) {
            Some(r) => (r.state.ports.clone(), r.state.endpoints.clone()),
            None => (self.ports.clone(), Vec::new()),
        };
        self.ports.clear();
        if self.ip.is_some() || !endpoints.is_empty() {
            let _ = self.db.update_state(&self.id, |s| s.endpoints.clear());
            // The veths go with the container's network namespace, which the kernel tears
            // down on its own once the container is gone; deleting them here would only wait
            // for it (tens of ms). Only a namespace still shared with a running
            // `--network container:` user keeps them: those are deleted now.
            let shared = all.iter().any(|r| {
                r.config.network_mode.container() == Some(self.id.as_str())
                    && r.state.status.is_up()
            });
            let res = if shared {
                crate::network::detach(&self.id, &ports, &endpoints)
            } else {
                net::bridge::unpublish(&ports).map_err(Error::Net)
            };
            if let Err(e) = res {
                eprintln!("quai: monitor {}: {e}", self.id);
            }
        }
        if let Err(e) = runtime::ops::delete(&self.paths.runtime_root(), &self.id, true) {
            eprintln!("quai: monitor {}: delete: {e}", self.id);
        }
        let code = exit.unwrap_or(255);
        // The OOM killer's SIGKILL: Docker reports 137 with OOMKilled.
        Ok((code, oom && code == 137))
    }

    /// OOM kills counted by the container's memory cgroup.
    fn oom_count(&self) -> u64 {
        let Ok(st) = runtime::state::State::load(&self.paths.runtime_root(), &self.id) else {
            return 0;
        };
        let mut files: Vec<PathBuf> = st
            .cgroups
            .v1
            .iter()
            .filter(|(c, _)| c.split(',').any(|x| x == "memory"))
            .map(|(_, d)| d.join("memory.oom_control"))
            .collect();
        if let Some(d) = &st.cgroups.v2 {
            files.push(d.join("memory.events"));
        }
        files
            .iter()
            .filter_map(|f| std::fs::read_to_string(f).ok())
            .flat_map(|s| {
                s.lines()
                    .filter_map(|l| {
                        l.strip_prefix("oom_kill ")
                            .and_then(|v| v.trim().parse::<u64>().ok())
                    })
                    .collect::<Vec<_>>()
            })
            .sum()
    }
}

/// How long a monitor waits idle before it sheds its start-up memory.
const IDLE: Duration = Duration::from_secs(1);

/// Drop what starting the container touched and idling does not need: the binary's
/// read-only pages (they stay in the page cache, shared by every monitor, and fault back in
/// on use) and free heap. An idle monitor then holds little more than its loop
/// (docs/adr/007).
fn trim_rss() {
    let exe = std::fs::read_link("/proc/self/exe").unwrap_or_default();
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap_or_default();
    // (start, end, eligible): read-only mappings of our binary without private copies
    // (RELRO pages were written at start-up: dropping them would undo the relocations).
    let mut cur: Option<(usize, usize, bool)> = None;
    let mut ranges = Vec::new();
    for l in smaps.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        if let Some((a, b)) = f.first().and_then(|r| r.split_once('-')) {
            if let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16)) {
                ranges.extend(cur.take().filter(|c| c.2));
                let ok = f.len() >= 6 && Path::new(f[5]) == exe && !f[1].contains('w');
                cur = Some((a, b, ok));
                continue;
            }
        }
        if f.first() == Some(&"Anonymous:") && f.get(1) != Some(&"0") {
            if let Some(c) = cur.as_mut() {
                c.2 = false;
            }
        }
    }
    ranges.extend(cur.take().filter(|c| c.2));
    for (a, b, _) in ranges {
        // SAFETY: MADV_DONTNEED on a read-only private file mapping that holds no private
        // pages only drops page table entries; the same file contents fault back in.
        unsafe { libc::madvise(a as *mut libc::c_void, b - a, libc::MADV_DONTNEED) };
    }
    // SAFETY: malloc_trim only returns free heap memory to the kernel.
    unsafe { libc::malloc_trim(0) };
}
