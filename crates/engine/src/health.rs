//! Health checks, run by the monitor: the check is exec'd in the container (detached, its
//! output on a pipe), timed out with SIGKILL, and its result moves the status between
//! `starting`, `healthy` and `unhealthy` the way Docker does.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::signal::SigSet;
use nix::unistd::Pid;

use crate::config::{HealthConfig, HealthLog};
use crate::db::{Db, Record};
use crate::Result;

/// One finished check.
pub struct CheckResult {
    start: String,
    code: i32,
    output: String,
}

struct Running {
    pid: Pid,
    deadline: Instant,
    pipe: Option<OwnedFd>,
    out: Vec<u8>,
    start: String,
    code: Option<i32>,
}

/// A container's health checker.
pub struct Health {
    cfg: HealthConfig,
    next: Instant,
    started: Instant,
    running: Option<Running>,
    /// A check passed since the start: the status is no longer `starting`.
    passed: bool,
}

fn dur(ns: i64, default_secs: u64) -> Duration {
    if ns > 0 {
        Duration::from_nanos(ns as u64)
    } else {
        Duration::from_secs(default_secs)
    }
}

impl Health {
    /// A checker for this config (Docker's defaults: 30 s interval and timeout, 3 retries).
    pub fn new(cfg: HealthConfig) -> Health {
        Health {
            cfg,
            next: Instant::now(),
            started: Instant::now(),
            running: None,
            passed: false,
        }
    }

    /// Between checks: `--health-start-interval` while still `starting` in the start
    /// period (Docker 25's rule), else `--health-interval`.
    fn interval(&self) -> Duration {
        let starting = !self.passed
            && self.cfg.start_period > 0
            && self.started.elapsed() < Duration::from_nanos(self.cfg.start_period as u64);
        if starting && self.cfg.start_interval > 0 {
            return dur(self.cfg.start_interval, 5);
        }
        dur(self.cfg.interval, 30)
    }

    /// The container (re)started: the first check comes one interval later.
    pub fn reset(&mut self) {
        self.abandon();
        self.passed = false;
        self.started = Instant::now();
        self.next = self.started + self.interval();
    }

    /// Time until something is due.
    pub fn until_next(&self) -> Duration {
        match &self.running {
            Some(r) if r.code.is_some() && r.pipe.is_none() => Duration::ZERO,
            Some(r) => r.deadline.saturating_duration_since(Instant::now()),
            None => self.next.saturating_duration_since(Instant::now()),
        }
    }

    /// The running check's output pipe.
    pub fn pipe_fd(&self) -> Option<RawFd> {
        self.running.as_ref()?.pipe.as_ref().map(|p| p.as_raw_fd())
    }

    /// A child exited: ours?
    pub fn reaped(&mut self, pid: Pid, code: i32) {
        if let Some(r) = self.running.as_mut() {
            if r.pid == pid {
                r.code = Some(code);
            }
        }
    }

    /// Read what the check printed.
    pub fn read_output(&mut self) {
        let Some(r) = self.running.as_mut() else {
            return;
        };
        let Some(p) = r.pipe.as_ref() else { return };
        let mut buf = [0u8; 4096];
        match nix::unistd::read(p, &mut buf) {
            Ok(0) | Err(_) => r.pipe = None,
            Ok(n) => {
                if r.out.len() < 4096 {
                    r.out.extend_from_slice(&buf[..n.min(4096 - r.out.len())]);
                }
            }
        }
    }

    /// Kill a running check (the container is gone).
    pub fn abandon(&mut self) {
        if let Some(r) = self.running.take() {
            let _ = nix::sys::signal::kill(r.pid, nix::sys::signal::SIGKILL);
        }
    }

    /// Start a due check, or finish one; returns a finished result.
    pub fn tick(
        &mut self,
        rt: &Path,
        id: &str,
        sigmask: SigSet,
        devnull: &OwnedFd,
    ) -> Option<CheckResult> {
        let now = Instant::now();
        if let Some(r) = self.running.as_mut() {
            if r.code.is_some() && r.pipe.is_none() {
                let r = self.running.take()?;
                self.passed |= r.code == Some(0);
                self.next = now + self.interval();
                return Some(CheckResult {
                    start: r.start,
                    code: r.code.unwrap_or(-1),
                    output: String::from_utf8_lossy(&r.out).into_owned(),
                });
            }
            if now >= r.deadline {
                let _ = nix::sys::signal::kill(r.pid, nix::sys::signal::SIGKILL);
                let r = self.running.take()?;
                self.next = now + self.interval();
                return Some(CheckResult {
                    start: r.start,
                    code: -1,
                    output: format!(
                        "Health check exceeded timeout ({}s)",
                        dur(self.cfg.timeout, 30).as_secs_f64()
                    ),
                });
            }
            return None;
        }
        if now < self.next {
            return None;
        }
        let start = crate::time::now_rfc3339();
        match self.spawn(rt, id, sigmask, devnull) {
            Ok((pid, pipe)) => {
                self.running = Some(Running {
                    pid,
                    deadline: now + dur(self.cfg.timeout, 30),
                    pipe: Some(pipe),
                    out: Vec::new(),
                    start,
                    code: None,
                });
                None
            }
            Err(e) => {
                self.next = now + self.interval();
                Some(CheckResult {
                    start,
                    code: -1,
                    output: e.to_string(),
                })
            }
        }
    }

    fn spawn(
        &self,
        rt: &Path,
        id: &str,
        sigmask: SigSet,
        devnull: &OwnedFd,
    ) -> Result<(Pid, OwnedFd)> {
        let args: Vec<String> = match self.cfg.test.first().map(String::as_str) {
            Some("CMD-SHELL") => vec!["/bin/sh".into(), "-c".into(), self.cfg.test[1..].join(" ")],
            Some("CMD") => self.cfg.test[1..].to_vec(),
            _ => self.cfg.test.clone(),
        };
        let spec = runtime::exec::container_spec(rt, id)?;
        let mut process = spec.process().clone().unwrap_or_default();
        process.set_args(Some(args));
        process.set_terminal(Some(false));
        let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .map_err(|e| crate::Error::io("pipe", "health check", e.into()))?;
        let pid_file = rt.join(format!("{id}.health.pid"));
        let redirect = |fd: RawFd, t: RawFd| {
            // SAFETY: dup2 onto a standard descriptor; both fds are valid.
            unsafe { libc::dup2(fd, t) };
        };
        redirect(devnull.as_raw_fd(), 0);
        redirect(w.as_raw_fd(), 1);
        redirect(w.as_raw_fd(), 2);
        let res = runtime::exec::exec(runtime::exec::ExecOpts {
            root: rt,
            id,
            process,
            console_socket: None,
            pid_file: Some(&pid_file),
            detach: true,
            preserve_fds: 0,
            sigmask,
            personality: None,
        });
        for t in 0..3 {
            redirect(devnull.as_raw_fd(), t);
        }
        drop(w);
        res?;
        let pid = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
            .unwrap_or(0);
        let _ = std::fs::remove_file(&pid_file);
        Ok((Pid::from_raw(pid), r))
    }
}

/// Record a result: the log (last 5), the failing streak, the status and its event.
pub fn record(db: &mut Db, id: &str, rec: &Record, h: &Health, r: CheckResult) -> Result<()> {
    let retries = if h.cfg.retries == 0 { 3 } else { h.cfg.retries };
    let in_start_period = h.cfg.start_period > 0
        && h.started.elapsed() < Duration::from_nanos(h.cfg.start_period as u64);
    let mut changed = None;
    db.update_state(id, |s| {
        let health = s.health.get_or_insert_with(Default::default);
        let before = health.status.clone();
        health.log.push(HealthLog {
            start: r.start.clone(),
            end: crate::time::now_rfc3339(),
            exit_code: r.code,
            output: r.output.clone(),
        });
        if health.log.len() > 5 {
            health.log.remove(0);
        }
        if r.code == 0 {
            health.failing_streak = 0;
            health.status = "healthy".into();
        } else if !in_start_period {
            health.failing_streak += 1;
            if health.failing_streak >= retries {
                health.status = "unhealthy".into();
            }
        }
        if health.status != before {
            changed = Some(health.status.clone());
        }
    })?;
    if let Some(st) = changed {
        db.event(
            "container",
            &format!("health_status: {st}"),
            id,
            &rec.event_attrs(),
        )?;
    }
    Ok(())
}
