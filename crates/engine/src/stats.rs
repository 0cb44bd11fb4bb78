//! What a running container uses, read from its cgroups and its network namespace
//! (`stats`), and its processes as `ps` shows them (`top`): the numbers a client renders
//! (the CLI's table, the Docker API's stats JSON), sampled here once per call. CPU
//! percentages need two samples; the client takes them at its own interval.

use std::path::Path;

use crate::config::ContainerStatus;
use crate::lifecycle::Engine;
use crate::{Error, Result};

/// One reading of a container's use. Counters are cumulative since the container
/// started; `None` where the container is not running.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sample {
    /// CPU time of all its processes, in nanoseconds.
    pub cpu_ns: u64,
    /// Memory charged to it, in bytes.
    pub memory: u64,
    /// Its memory limit, or the host's memory when it has none.
    pub memory_limit: u64,
    /// Number of processes and threads.
    pub pids: u64,
    /// Bytes received and sent on its interfaces other than loopback.
    pub net_rx: u64,
    /// See `net_rx`.
    pub net_tx: u64,
    /// Bytes read from and written to block devices.
    pub block_read: u64,
    /// See `block_read`.
    pub block_write: u64,
}

/// What Docker's stats document shows beyond a [`Sample`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Detail {
    /// The cgroup's `memory.stat`, as it reads (`total_inactive_file` on v1,
    /// `inactive_file` on v2: what docker's CLI leaves out of the usage it shows).
    pub memory_stat: std::collections::BTreeMap<String, u64>,
    /// The most memory it was charged (v1 only).
    pub memory_max_usage: Option<u64>,
    /// CPU time in user mode, in nanoseconds.
    pub cpu_user_ns: u64,
    /// CPU time in kernel mode, in nanoseconds.
    pub cpu_kernel_ns: u64,
    /// CPU time per CPU, in nanoseconds (v1 only).
    pub percpu_ns: Vec<u64>,
}

/// A sample with when it was taken and the host's CPU time then: what Docker's stats
/// document (`GET /containers/{id}/stats`) needs for its percentages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reading {
    /// The container's use.
    pub sample: Sample,
    /// The rest of what the cgroups say.
    pub detail: Detail,
    /// When it was read, nanoseconds since the epoch.
    pub time: i64,
    /// CPU time of the whole host, in nanoseconds (`/proc/stat`).
    pub system_cpu_ns: u64,
    /// CPUs online.
    pub online_cpus: u32,
}

/// Clock ticks per second (`USER_HZ`), the unit of `/proc/stat` and `cpuacct.stat`.
fn ticks_per_sec() -> u64 {
    // SAFETY: sysconf(3) takes no pointers; it only reads a constant.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks).unwrap_or(100).max(1)
}

/// The host's CPU time in nanoseconds (the `cpu` line of `/proc/stat`, as Docker sums
/// it) and the number of CPUs online.
pub fn host_cpu() -> (u64, u32) {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    proc_stat_cpu(&text, ticks_per_sec())
}

/// `key value` lines (`memory.stat`, `cpu.stat`, `cpuacct.stat`) as a map.
fn key_values(text: &str) -> std::collections::BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_string(), v.trim().parse().ok()?))
        })
        .collect()
}

/// The v1 hierarchy directory of controller `ctrl` of a container.
fn v1_dir(st: &runtime::state::State, ctrl: &str) -> Option<std::path::PathBuf> {
    st.cgroups
        .v1
        .iter()
        .find(|(c, _)| c.split(',').any(|x| x == ctrl))
        .map(|(_, d)| d.clone())
}

fn detail_of(st: &runtime::state::State) -> Detail {
    let read = |d: &Path, f: &str| std::fs::read_to_string(d.join(f)).unwrap_or_default();
    if let Some(d) = st.cgroups.v2.as_ref().filter(|_| st.cgroups.pure_v2) {
        let cpu = key_values(&read(d, "cpu.stat"));
        let us = |k: &str| cpu.get(k).copied().unwrap_or(0).saturating_mul(1000);
        return Detail {
            memory_stat: key_values(&read(d, "memory.stat")),
            memory_max_usage: None,
            cpu_user_ns: us("user_usec"),
            cpu_kernel_ns: us("system_usec"),
            percpu_ns: Vec::new(),
        };
    }
    let mut detail = Detail::default();
    if let Some(d) = v1_dir(st, "memory") {
        detail.memory_stat = key_values(&read(&d, "memory.stat"));
        detail.memory_max_usage = read_u64(&d, "memory.max_usage_in_bytes");
    }
    if let Some(d) = v1_dir(st, "cpuacct") {
        let ticks = key_values(&read(&d, "cpuacct.stat"));
        let ns = |k: &str| {
            ticks
                .get(k)
                .copied()
                .unwrap_or(0)
                .saturating_mul(1_000_000_000 / ticks_per_sec())
        };
        detail.cpu_user_ns = ns("user");
        detail.cpu_kernel_ns = ns("system");
        detail.percpu_ns = read(&d, "cpuacct.usage_percpu")
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
    }
    detail
}

fn proc_stat_cpu(text: &str, ticks_per_sec: u64) -> (u64, u32) {
    let mut total = 0;
    let mut cpus = 0;
    for l in text.lines() {
        let mut f = l.split_whitespace();
        match f.next() {
            // user nice system idle iowait irq softirq steal (guest time is in user).
            Some("cpu") => {
                let jiffies: u64 = f.take(8).filter_map(|v| v.parse::<u64>().ok()).sum();
                total = jiffies.saturating_mul(1_000_000_000 / ticks_per_sec);
            }
            Some(c) if c.starts_with("cpu") => cpus += 1,
            _ => {}
        }
    }
    (total, cpus)
}

/// `ps` output restricted to a container's processes: its header's columns and one row
/// per process (the last column keeps its spaces, as Docker's `top` does).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Top {
    /// Column names (`UID`, `PID`, ... for the default `-ef`).
    pub titles: Vec<String>,
    /// One row per process.
    pub processes: Vec<Vec<String>>,
}

/// The host's memory in bytes (`MemTotal`), the limit of a container without one.
pub fn host_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map(|k| k * 1024)
        .unwrap_or(0)
}

fn read_u64(d: &Path, f: &str) -> Option<u64> {
    std::fs::read_to_string(d.join(f)).ok()?.trim().parse().ok()
}

/// Sums of `/proc/PID/net/dev`'s receive and transmit bytes, loopback left out.
fn net_bytes(pid: i32) -> (u64, u64) {
    let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/dev")) else {
        return (0, 0);
    };
    net_dev_bytes(&text)
}

fn net_dev_bytes(text: &str) -> (u64, u64) {
    let mut sum = (0, 0);
    for line in text.lines().skip(2) {
        let Some((name, rest)) = line.split_once(':') else {
            continue;
        };
        if name.trim() == "lo" {
            continue;
        }
        let f: Vec<u64> = rest
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        if f.len() >= 9 {
            sum.0 += f[0];
            sum.1 += f[8];
        }
    }
    sum
}

/// v2's `io.stat` (`MAJ:MIN rbytes=N wbytes=N ...`) summed over devices.
fn io_stat_bytes(text: &str) -> (u64, u64) {
    let mut sum = (0, 0);
    for kv in text.split_whitespace() {
        if let Some(v) = kv.strip_prefix("rbytes=") {
            sum.0 += v.parse::<u64>().unwrap_or(0);
        } else if let Some(v) = kv.strip_prefix("wbytes=") {
            sum.1 += v.parse::<u64>().unwrap_or(0);
        }
    }
    sum
}

/// v1's `blkio.throttle.io_service_bytes` (`MAJ:MIN Read N` lines) summed over devices.
fn blkio_bytes(text: &str) -> (u64, u64) {
    let mut sum = (0, 0);
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if let [_, op, n] = f[..] {
            let n = n.parse::<u64>().unwrap_or(0);
            match op {
                "Read" => sum.0 += n,
                "Write" => sum.1 += n,
                _ => {}
            }
        }
    }
    sum
}

fn sample_of(st: &runtime::state::State, host_mem: u64) -> Sample {
    let (net_rx, net_tx) = net_bytes(st.pid);
    if let Some(d) = st.cgroups.v2.as_ref().filter(|_| st.cgroups.pure_v2) {
        let cpu_us = std::fs::read_to_string(d.join("cpu.stat"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("usage_usec ")?.trim().parse::<u64>().ok())
            })
            .unwrap_or(0);
        let (block_read, block_write) = std::fs::read_to_string(d.join("io.stat"))
            .map(|t| io_stat_bytes(&t))
            .unwrap_or_default();
        return Sample {
            cpu_ns: cpu_us * 1000,
            memory: read_u64(d, "memory.current").unwrap_or(0),
            memory_limit: read_u64(d, "memory.max").unwrap_or(host_mem).min(host_mem),
            pids: read_u64(d, "pids.current").unwrap_or(0),
            net_rx,
            net_tx,
            block_read,
            block_write,
        };
    }
    let v1 = |ctrl: &str| v1_dir(st, ctrl);
    let (memory, limit) = v1("memory")
        .map(|d| {
            (
                read_u64(&d, "memory.usage_in_bytes").unwrap_or(0),
                read_u64(&d, "memory.limit_in_bytes").unwrap_or(host_mem),
            )
        })
        .unwrap_or((0, host_mem));
    let (block_read, block_write) = v1("blkio")
        .and_then(|d| std::fs::read_to_string(d.join("blkio.throttle.io_service_bytes")).ok())
        .map(|t| blkio_bytes(&t))
        .unwrap_or_default();
    Sample {
        cpu_ns: v1("cpuacct")
            .and_then(|d| read_u64(&d, "cpuacct.usage"))
            .unwrap_or(0),
        memory,
        memory_limit: limit.min(host_mem),
        pids: v1("pids")
            .and_then(|d| read_u64(&d, "pids.current"))
            .unwrap_or(0),
        net_rx,
        net_tx,
        block_read,
        block_write,
    }
}

/// `ps` output kept to the rows whose PID column is one of `pids`.
fn top_of(ps_output: &str, pids: &[i32]) -> Result<Top> {
    let mut lines = ps_output.lines();
    let header = lines.next().unwrap_or_default();
    let titles: Vec<String> = header.split_whitespace().map(str::to_string).collect();
    let col = titles
        .iter()
        .position(|h| h == "PID")
        .ok_or_else(|| Error::Invalid("ps output has no PID column".into()))?;
    let mut processes = Vec::new();
    for l in lines {
        let mut row: Vec<String> = Vec::new();
        let mut rest = l.trim_start();
        // Every column but the last is one word; the last (CMD) keeps its spaces.
        while row.len() + 1 < titles.len() && !rest.is_empty() {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            row.push(rest[..end].to_string());
            rest = rest[end..].trim_start();
        }
        row.push(rest.to_string());
        if row
            .get(col)
            .and_then(|p| p.parse::<i32>().ok())
            .is_some_and(|p| pids.contains(&p))
        {
            processes.push(row);
        }
    }
    Ok(Top { titles, processes })
}

impl Engine {
    /// One reading of a container's use; `None` when it is not running.
    pub fn stats(&self, id: &str) -> Option<Sample> {
        let st = runtime::state::State::load(&self.paths.runtime_root(), id).ok()?;
        Some(sample_of(&st, host_memory()))
    }

    /// One reading of a container's use with the host's CPU time; `None` when it is not
    /// running.
    pub fn stats_reading(&self, id: &str) -> Option<Reading> {
        let st = runtime::state::State::load(&self.paths.runtime_root(), id).ok()?;
        let sample = sample_of(&st, host_memory());
        let (system_cpu_ns, online_cpus) = host_cpu();
        Some(Reading {
            sample,
            detail: detail_of(&st),
            time: crate::time::now_nanos(),
            system_cpu_ns,
            online_cpus,
        })
    }

    /// The processes of a running or paused container as `ps ARGS` (default `-ef`)
    /// shows them.
    pub fn top(&mut self, what: &str, ps_args: &[String]) -> Result<Top> {
        let r = self.get(what)?;
        if !matches!(
            r.state.status,
            ContainerStatus::Running | ContainerStatus::Paused
        ) {
            return Err(Error::Conflict(format!(
                "container {} is not running",
                r.id
            )));
        }
        let pids = self.pids(&r.id)?;
        top_of(&runtime::ops::ps_table(&pids, ps_args)?, &pids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn net_dev_leaves_out_loopback() {
        let t = "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0\n  eth0:    2048      10    0    0    0     0          0         0      512       5    0    0    0     0       0          0\n";
        assert_eq!(net_dev_bytes(t), (2048, 512));
    }

    #[test]
    fn host_cpu_time_sums_the_cpu_line() {
        let t = "cpu  100 0 50 800 10 0 5 0 0 0\ncpu0 50 0 25 400 5 0 2 0 0 0\ncpu1 50 0 25 400 5 0 3 0 0 0\nintr 1\n";
        assert_eq!(proc_stat_cpu(t, 100), (965 * 10_000_000, 2));
    }

    #[test]
    fn block_io_sums_devices() {
        assert_eq!(
            io_stat_bytes("8:0 rbytes=10 wbytes=20 rios=1 wios=2\n8:16 rbytes=1 wbytes=2\n"),
            (11, 22)
        );
        assert_eq!(
            blkio_bytes("8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 1\nTotal 12288\n"),
            (4096, 8192)
        );
    }

    #[test]
    fn top_keeps_the_container_rows_and_the_command_whole() {
        let ps = "UID          PID    PPID  C STIME TTY          TIME CMD\nroot           1       0  0 10:00 ?        00:00:01 /sbin/init splash\nroot          42       1  0 10:01 ?        00:00:00 sleep 1000 --x\n";
        let t = top_of(ps, &[42]).expect("top");
        assert_eq!(t.titles.len(), 8);
        assert_eq!(
            t.processes,
            vec![vec![
                "root",
                "42",
                "1",
                "0",
                "10:01",
                "?",
                "00:00:00",
                "sleep 1000 --x"
            ]]
        );
        assert!(top_of("USER COMMAND\n", &[1]).is_err());
    }
}
