//! Differential CLI test: the same everyday commands through quai and through the docker
//! CLI against Debian's dockerd (started here, in a network namespace and state
//! directories of its own), outputs and exit codes compared after masking what differs
//! by nature (ids, times, sizes, the daemon's error prefix).

mod common;
mod engine_common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use engine_common::{root_or_skip, Eng};

/// The docker CLI: the one this machine has in /usr/local/bin (28.x) or Debian's.
fn docker_cli() -> Option<PathBuf> {
    ["/usr/local/bin/docker", "/usr/bin/docker"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// A private dockerd: its own netns, data root, exec root and socket; stopped and
/// cleaned on drop.
struct Dockerd {
    dir: tempfile::TempDir,
    netns: String,
    cli: PathBuf,
    child: std::process::Child,
}

impl Dockerd {
    fn start() -> Option<Dockerd> {
        let cli = docker_cli()?;
        if !Path::new("/usr/sbin/dockerd").exists() && !Path::new("/usr/bin/dockerd").exists() {
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("quai-dockerd-")
            .tempdir()
            .expect("tempdir");
        let netns = common::netns_add("quai-dk", dir.path());
        let p = |n: &str| dir.path().join(n);
        let log = std::fs::File::create(p("dockerd.log")).expect("log");
        let child = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{netns}"))
            .arg("dockerd")
            .arg("--data-root")
            .arg(p("data"))
            .arg("--exec-root")
            .arg(p("exec"))
            .arg("--pidfile")
            .arg(p("d.pid"))
            .arg("-H")
            .arg(format!("unix://{}", p("d.sock").display()))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("dockerd");
        let d = Dockerd {
            dir,
            netns,
            cli,
            child,
        };
        for _ in 0..150 {
            if d.run(&["version"]).status.success() {
                return Some(d);
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!(
            "dockerd did not answer: {}",
            std::fs::read_to_string(d.dir.path().join("dockerd.log")).unwrap_or_default()
        );
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", self.netns))
            .arg(&self.cli)
            .arg("-H")
            .arg(format!(
                "unix://{}",
                self.dir.path().join("d.sock").display()
            ))
            .args(args)
            .env("DOCKER_CONFIG", self.dir.path().join("client"))
            .stdin(Stdio::null())
            .output()
            .expect("docker")
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        let ids = self.run(&["ps", "-aq"]);
        for id in String::from_utf8_lossy(&ids.stdout).lines() {
            let _ = self.run(&["rm", "-f", "-v", id]);
        }
        // SIGTERM to dockerd (our child, by pid), then wait for it: it stops its
        // containerd and unmounts what it mounted.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let root = self.dir.path().to_string_lossy().into_owned();
        let mut ours: Vec<&str> = mounts
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .filter(|m| m.starts_with(&root))
            .collect();
        ours.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in ours {
            let _ = Command::new("umount").args(["-l", m]).status();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.netns])
            .status();
    }
}

/// What a command printed and how it ended, with what differs by nature masked.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn mask(s: &str, names: &[(String, String)]) -> String {
    let mut out = s.to_string();
    for (from, to) in names {
        out = out.replace(from.as_str(), to.as_str());
    }
    // Ids: 64 hex digits (optionally sha256:), then 12.
    let re_long = regex_lite(&out, 64);
    out = re_long;
    out = regex_lite(&out, 12);
    out = mask_times(&out);
    out = mask_sizes(&out);
    // A volume's directory: under each engine's own state root.
    while let Some(i) = out.find("/volumes/<id>/_data") {
        let b = out.as_bytes();
        let mut start = i;
        while start > 0 && !b"\" \n".contains(&b[start - 1]) {
            start -= 1;
        }
        out = format!(
            "{}<root>{}",
            &out[..start],
            &out[i..].replacen("/volumes/", "/v/", 1)
        );
    }
    // The daemon's prefix: quai has no daemon.
    out = out.replace("Error response from daemon: ", "Error: ");
    out = out.replace("docker: ", "quai: ");
    out = out.replace("'docker ", "'quai ");
    out = out.replace("docker ", "quai ");
    out
}

/// Sizes ("1.99MB", "0B", "512KiB") become `<size>`.
fn mask_sizes(s: &str) -> String {
    let b: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        let starts =
            b[i].is_ascii_digit() && (i == 0 || !(b[i - 1].is_alphanumeric() || b[i - 1] == '.'));
        if starts {
            let mut j = i;
            while j < b.len() && (b[j].is_ascii_digit() || b[j] == '.') {
                j += 1;
            }
            let mut k = j;
            while k < b.len() && b[k].is_ascii_alphabetic() {
                k += 1;
            }
            let unit: String = b[j..k].iter().collect();
            let boundary = k == b.len() || !b[k].is_alphanumeric();
            if boundary
                && matches!(
                    unit.as_str(),
                    "B" | "kB" | "KB" | "MB" | "GB" | "TB" | "KiB" | "MiB" | "GiB" | "TiB"
                )
            {
                out.push_str("<size>");
                i = k;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// Relative times ("3 seconds ago", "Up Less than a second", "About a minute ago") and
/// RFC 3339 timestamps become `<time>`.
fn mask_times(s: &str) -> String {
    let mut out = Vec::new();
    for line in s.split('\n') {
        let mut l = line.to_string();
        for pat in ["Less than a second", "About a minute", "About an hour"] {
            l = l.replace(pat, "<t>");
        }
        // "<n> seconds", "<n> minutes", "<n> hours"
        let words: Vec<&str> = l.split(' ').collect();
        let mut w2: Vec<String> = Vec::new();
        let mut i = 0;
        while i < words.len() {
            let unit = words.get(i + 1).map(|u| u.trim_end_matches(','));
            // (a number may follow a quote, as in JSON: `"3 seconds ago"`)
            let lead: String = words[i]
                .chars()
                .take_while(|c| !c.is_ascii_digit())
                .collect();
            let num = &words[i][lead.len()..];
            if num.chars().all(|c| c.is_ascii_digit())
                && !num.is_empty()
                && !lead.chars().last().is_some_and(char::is_alphanumeric)
                && matches!(
                    unit,
                    Some("second" | "seconds" | "minute" | "minutes" | "hours" | "hour")
                )
            {
                let unit = words[i + 1];
                let tail: String = unit
                    .chars()
                    .skip_while(|c| c.is_alphabetic() || *c == ',')
                    .collect();
                w2.push(format!("{lead}<t>{tail}"));
                i += 2;
                continue;
            }
            w2.push(words[i].to_string());
            i += 1;
        }
        l = w2.join(" ");
        // 2026-11-27 15:20:32[.123456789] +0000 UTC (Go's time.String)
        while let Some(i) = l.find(" +0000 UTC") {
            let b = l.as_bytes();
            let mut start = i;
            while start > 0 && (b[start - 1].is_ascii_digit() || b":.- ".contains(&b[start - 1])) {
                start -= 1;
            }
            while start < i && !b[start].is_ascii_digit() {
                start += 1;
            }
            l = format!("{}<time>{}", &l[..start], &l[i + 10..]);
        }
        // 2026-11-27T15:20:32.123456789Z
        let b = l.clone();
        let bytes = b.as_bytes();
        let mut res = String::new();
        let mut k = 0;
        while k < bytes.len() {
            if k + 19 <= bytes.len()
                && bytes[k..k + 4].iter().all(u8::is_ascii_digit)
                && bytes[k + 4] == b'-'
                && bytes[k + 10] == b'T'
            {
                let mut e = k + 19;
                while e < bytes.len()
                    && (bytes[e].is_ascii_digit()
                        || matches!(bytes[e], b'.' | b'Z' | b'+' | b':' | b'-'))
                {
                    e += 1;
                }
                res.push_str("<time>");
                k = e;
                continue;
            }
            res.push(bytes[k] as char);
            k += 1;
        }
        out.push(res);
    }
    out.join("\n")
}

/// Replace runs of exactly `n` lowercase hex digits (not part of a longer run) by `<id>`
/// (ids of 12 or 64 digits even when they happen to hold no letter).
fn regex_lite(s: &str, n: usize) -> String {
    let b = s.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        let is_hex = |c: u8| c.is_ascii_digit() || (b'a'..=b'f').contains(&c);
        if is_hex(b[i]) && (i == 0 || !b[i - 1].is_ascii_alphanumeric()) {
            let mut j = i;
            while j < b.len() && is_hex(b[j]) {
                j += 1;
            }
            let boundary = j == b.len() || !b[j].is_ascii_alphanumeric();
            // An id may be all digits (about one in 280 for 12 of them); a shorter run
            // of digits alone is a number.
            if j - i == n
                && boundary
                && (n >= 12 || b[i..j].iter().any(|c| c.is_ascii_alphabetic()))
            {
                out.push_str("<id>");
                i = j;
                continue;
            }
            out.push_str(&s[i..j]);
            i = j;
            continue;
        }
        let ch = s[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

fn seen(o: &Output, names: &[(String, String)]) -> Seen {
    Seen {
        code: o.status.code(),
        stdout: mask(&String::from_utf8_lossy(&o.stdout), names),
        stderr: mask(&String::from_utf8_lossy(&o.stderr), names),
    }
}

/// Run every command on both and list the differences.
fn compare(q: &Eng, d: &Dockerd, script: &[&[&str]], strict_stderr: bool) -> Vec<String> {
    let mut diffs = Vec::new();
    for args in script {
        let (qo, dout) = (q.q(args), d.run(args));
        let (mut qs, mut ds) = (seen(&qo, &[]), seen(&dout, &[]));
        // dockerd lists a container's changes in no fixed order (two runs differ).
        if args.first() == Some(&"diff") {
            for s in [&mut qs, &mut ds] {
                let mut lines: Vec<&str> = s.stdout.lines().collect();
                lines.sort_unstable();
                s.stdout = lines.join("\n");
            }
        }
        let same = qs.code == ds.code
            && qs.stdout == ds.stdout
            && (!strict_stderr || qs.stderr == ds.stderr);
        if !same {
            diffs.push(format!(
                "$ {}\n  quai   [{:?}] out={:?} err={:?}\n  docker [{:?}] out={:?} err={:?}",
                args.join(" "),
                qs.code,
                qs.stdout,
                qs.stderr,
                ds.code,
                ds.stdout,
                ds.stderr
            ));
        }
    }
    diffs
}

#[test]
fn everyday_commands_match_docker() {
    if !root_or_skip("everyday_commands_match_docker") {
        return;
    }
    let Some(d) = Dockerd::start() else {
        eprintln!("SKIP everyday_commands_match_docker: dockerd or the docker CLI missing (apt-get install -y docker.io)");
        return;
    };
    let q = Eng::new();
    let tar = common::busybox_tar(d.dir.path());
    let imported = d.run(&[
        "import",
        "-c",
        "CMD [\"/bin/sh\"]",
        tar.to_str().expect("utf-8"),
        "localbusybox",
    ]);
    assert!(imported.status.success(), "{imported:?}");
    let script: &[&[&str]] = &[
        &["run", "--rm", "localbusybox", "echo", "hello"],
        &[
            "run",
            "--rm",
            "-e",
            "A=1",
            "localbusybox",
            "sh",
            "-c",
            "echo $A",
        ],
        &["run", "--rm", "-w", "/tmp", "localbusybox", "pwd"],
        &["run", "--rm", "-u", "1000:1000", "localbusybox", "id"],
        &["run", "--rm", "-u", "1000", "localbusybox", "id"],
        &["run", "--rm", "-u", "root", "localbusybox", "id"],
        &["run", "--rm", "-u", "0:0", "localbusybox", "id"],
        &["run", "--rm", "localbusybox", "id"],
        &[
            "run",
            "--rm",
            "--group-add",
            "10",
            "-u",
            "1000",
            "localbusybox",
            "id",
        ],
        &[
            "run",
            "--rm",
            "--hostname",
            "h1",
            "localbusybox",
            "hostname",
        ],
        &["run", "--rm", "localbusybox", "sh", "-c", "exit 3"],
        &["run", "--rm", "localbusybox", "/nonexistent"],
        &["run", "--rm", "localbusybox", "/etc"],
        &["run", "--rm", "--entrypoint", "echo", "localbusybox", "x"],
        &[
            "run",
            "--rm",
            "-e",
            "A",
            "localbusybox",
            "sh",
            "-c",
            "echo ${A-unset}",
        ],
        &["run", "--rm", "--read-only", "localbusybox", "touch", "/x"],
        &[
            "run",
            "--rm",
            "--tmpfs",
            "/t",
            "localbusybox",
            "sh",
            "-c",
            "touch /t/x && echo ok",
        ],
        &["run", "--name", "c1", "localbusybox", "echo", "named"],
        &[
            "ps",
            "-a",
            "--format",
            "{{.Names}} {{.Image}} {{.Command}} {{.Status}}",
        ],
        &["ps", "-a", "--format", "{{json .Names}}"],
        &[
            "inspect",
            "-f",
            "{{.State.ExitCode}} {{.Name}} {{.Config.Cmd}}",
            "c1",
        ],
        &[
            "inspect",
            "-f",
            "{{.Config.Image}} {{.HostConfig.RestartPolicy.Name}}",
            "c1",
        ],
        &["logs", "c1"],
        &["rm", "c1"],
        &["rm", "c1"],
        &["inspect", "nosuch"],
        &["logs", "nosuch"],
        &["run", "--rm", "nosuchimage:1"],
        &["images", "--format", "{{.Repository}}:{{.Tag}}"],
        &[
            "image",
            "inspect",
            "-f",
            "{{.Config.Cmd}} {{.Os}} {{.Architecture}}",
            "localbusybox",
        ],
        &["tag", "localbusybox", "mybox:v1"],
        &["images", "--format", "{{.Repository}} {{.Tag}}", "mybox"],
        &["rmi", "mybox:v1"],
        &["run", "-d", "--name", "bg", "localbusybox", "sleep", "30"],
        &["exec", "bg", "echo", "in"],
        &["exec", "bg", "sh", "-c", "exit 4"],
        &["exec", "bg", "/nonexistent"],
        &["top", "bg", "-o", "args"],
        &["pause", "bg"],
        &["inspect", "-f", "{{.State.Status}} {{.State.Paused}}", "bg"],
        &["unpause", "bg"],
        &["rename", "bg", "bg2"],
        &["inspect", "-f", "{{.Name}} {{.State.Running}}", "bg2"],
        &["port", "bg2"],
        &["kill", "bg2"],
        &[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.ExitCode}}",
            "bg2",
        ],
        &["rm", "-f", "bg2"],
        &["volume", "create", "v1"],
        &["volume", "ls", "--format", "{{.Name}} {{.Driver}}"],
        &[
            "volume",
            "inspect",
            "-f",
            "{{.Name}} {{.Driver}} {{.Scope}}",
            "v1",
        ],
        &[
            "run",
            "--rm",
            "-v",
            "v1:/data",
            "localbusybox",
            "sh",
            "-c",
            "echo x > /data/f && cat /data/f",
        ],
        &["volume", "rm", "v1"],
        &["network", "create", "n1"],
        &[
            "network",
            "inspect",
            "-f",
            "{{.Name}} {{.Driver}} {{.Scope}}",
            "n1",
        ],
        &["network", "rm", "n1"],
        &["ps", "-a", "-q"],
        // Lists, filters and formats.
        &[
            "run",
            "-d",
            "--name",
            "w1",
            "--label",
            "app=web",
            "-e",
            "X=1",
            "localbusybox",
            "sleep",
            "60",
        ],
        &[
            "create",
            "--name",
            "w2",
            "--label",
            "app=db",
            "localbusybox",
            "echo",
            "two",
        ],
        &["run", "--name", "w3", "localbusybox", "sh", "-c", "exit 2"],
        &["ps", "--format", "{{.Names}}"],
        &["ps", "-a", "--format", "{{.Names}} {{.Status}}"],
        &[
            "ps",
            "-a",
            "--filter",
            "status=exited",
            "--format",
            "{{.Names}}",
        ],
        &[
            "ps",
            "-a",
            "--filter",
            "status=created",
            "--format",
            "{{.Names}}",
        ],
        &[
            "ps",
            "-a",
            "--filter",
            "label=app=web",
            "--format",
            "{{.Names}}",
        ],
        &[
            "ps",
            "-a",
            "--filter",
            "label=app",
            "--format",
            "{{.Names}}",
        ],
        &["ps", "-a", "--filter", "name=w", "--format", "{{.Names}}"],
        &["ps", "-a", "--filter", "exited=2", "--format", "{{.Names}}"],
        &[
            "ps",
            "-a",
            "--filter",
            "ancestor=localbusybox",
            "--format",
            "{{.Names}}",
        ],
        &["ps", "-a", "-n", "1", "--format", "{{.Names}}"],
        &["ps", "-a", "-l", "--format", "{{.Names}}"],
        &["ps", "-a", "--format", "{{.Names}} {{.Labels}}"],
        &["ps", "-a", "--format", "{{.Names}} {{.Label \"app\"}}"],
        &["ps", "-a", "--format", "table {{.Names}}\t{{.Image}}"],
        &[
            "ps",
            "-a",
            "--format",
            "{{.Names}}: {{.State}} {{.RunningFor}}",
        ],
        &["ps", "-a", "--no-trunc", "--format", "{{.Command}}"],
        &["ps", "-a", "--format", "{{.Command}}"],
        &["container", "ls", "-a", "--format", "{{.Names}}"],
        &["inspect", "-f", "{{json .Config.Labels}}", "w1"],
        &[
            "inspect",
            "-f",
            "{{range .Config.Env}}{{println .}}{{end}}",
            "w1",
        ],
        &["inspect", "-f", "{{.Config.Env}}", "w2"],
        &[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.ExitCode}} {{.State.Running}}",
            "w2",
        ],
        &[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.ExitCode}}",
            "w3",
        ],
        &["inspect", "-f", "{{.Path}} {{.Args}}", "w3"],
        &[
            "inspect",
            "-f",
            "{{.HostConfig.NetworkMode}} {{.HostConfig.AutoRemove}}",
            "w3",
        ],
        &["inspect", "--type", "container", "-f", "{{.Name}}", "w1"],
        &[
            "inspect",
            "--type",
            "image",
            "-f",
            "{{.Os}}",
            "localbusybox",
        ],
        &["container", "inspect", "-f", "{{.Name}}", "w1"],
        &["start", "-a", "w2"],
        &["logs", "w2"],
        &["logs", "--tail", "1", "w2"],
        &["wait", "w2"],
        &["stop", "-t", "1", "w1"],
        &[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.ExitCode}}",
            "w1",
        ],
        &["restart", "-t", "1", "w1"],
        &["inspect", "-f", "{{.State.Status}} {{.RestartCount}}", "w1"],
        &["stats", "--no-stream", "--format", "{{.Name}}", "w1"],
        &["rm", "w1"],
        &["rm", "-f", "w1", "w2", "w3"],
        // Images.
        &["image", "ls", "--format", "{{.Repository}}"],
        &["images", "-q", "nosuch"],
        &["history", "--format", "{{.CreatedBy}}", "localbusybox"],
        &[
            "image",
            "history",
            "-q",
            "--format",
            "{{.Size}}",
            "localbusybox",
        ],
        &["rmi", "nosuch"],
        &["image", "rm", "nosuch:tag"],
        // Errors and their codes.
        &["start", "nosuch"],
        &["stop", "nosuch"],
        &["kill", "nosuch"],
        &["rm", "nosuch"],
        &["exec", "nosuch", "true"],
        &["run", "--rm", "--nosuchflag", "localbusybox"],
        &["run"],
        &["rm"],
        &["ps", "--filter", "nosuch=1"],
        &["network", "rm", "nosuch"],
        &["volume", "rm", "nosuch"],
        &["volume", "inspect", "nosuch"],
        &["network", "inspect", "nosuch"],
        // Flags as docker's flag package takes them.
        &["run", "--rm=true", "localbusybox", "echo", "rm-true"],
        &["run", "--rm", "-d=false", "localbusybox", "echo", "d-false"],
        &[
            "run",
            "--rm",
            "--env=B=2",
            "localbusybox",
            "sh",
            "-c",
            "echo $B",
        ],
        &[
            "run",
            "--rm",
            "-eC=3",
            "localbusybox",
            "sh",
            "-c",
            "echo $C",
        ],
        &[
            "run",
            "--rm",
            "--init",
            "localbusybox",
            "sh",
            "-c",
            "echo init",
        ],
        &[
            "run",
            "--rm",
            "--network",
            "none",
            "localbusybox",
            "ls",
            "/sys/class/net",
        ],
        &[
            "run",
            "--rm",
            "--cap-drop",
            "ALL",
            "localbusybox",
            "sh",
            "-c",
            "grep CapEff /proc/self/status",
        ],
        &[
            "run",
            "--rm",
            "--ulimit",
            "nofile=100:100",
            "localbusybox",
            "sh",
            "-c",
            "ulimit -n",
        ],
        &[
            "run",
            "--rm",
            "--add-host",
            "a.b:10.1.2.3",
            "localbusybox",
            "grep",
            "-F",
            "a.b",
            "/etc/hosts",
        ],
        &[
            "run",
            "--rm",
            "--stop-signal",
            "SIGUSR1",
            "localbusybox",
            "true",
        ],
        &[
            "run",
            "--rm",
            "--memory",
            "64m",
            "localbusybox",
            "cat",
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
        ],
        &[
            "run",
            "--rm",
            "--pids-limit",
            "50",
            "localbusybox",
            "cat",
            "/sys/fs/cgroup/pids/pids.max",
        ],
        &[
            "run",
            "--rm",
            "--shm-size",
            "8m",
            "localbusybox",
            "sh",
            "-c",
            "df -k /dev/shm | tail -1 | awk '{print $2}'",
        ],
        &[
            "run",
            "--rm",
            "--sysctl",
            "net.ipv4.ip_forward=1",
            "localbusybox",
            "cat",
            "/proc/sys/net/ipv4/ip_forward",
        ],
        &["run", "--rm", "--ipc", "host", "localbusybox", "true"],
        &[
            "run",
            "--rm",
            "--pid",
            "host",
            "localbusybox",
            "sh",
            "-c",
            "test -d /proc/1 && echo ok",
        ],
        &["run", "--rm", "--uts", "host", "localbusybox", "true"],
        &[
            "run",
            "--rm",
            "--domainname",
            "example.org",
            "localbusybox",
            "true",
        ],
        &["run", "--rm", "--expose", "7000", "localbusybox", "true"],
        &[
            "run",
            "--rm",
            "--oom-score-adj",
            "100",
            "localbusybox",
            "cat",
            "/proc/self/oom_score_adj",
        ],
        &[
            "run",
            "--rm",
            "--cpu-shares",
            "512",
            "localbusybox",
            "cat",
            "/sys/fs/cgroup/cpu/cpu.shares",
        ],
        &[
            "run",
            "--rm",
            "--cpus",
            "0.5",
            "localbusybox",
            "cat",
            "/sys/fs/cgroup/cpu/cpu.cfs_quota_us",
        ],
        &[
            "run",
            "--rm",
            "--cpu-period",
            "50000",
            "--cpu-quota",
            "25000",
            "localbusybox",
            "cat",
            "/sys/fs/cgroup/cpu/cpu.cfs_quota_us",
        ],
        &[
            "run",
            "--rm",
            "--device",
            "/dev/null:/dev/mynull",
            "localbusybox",
            "ls",
            "/dev/mynull",
        ],
        &["run", "--rm", "--pull", "never", "localbusybox", "true"],
        &["run", "--rm", "--pull", "never", "nosuch:1", "true"],
        &[
            "run",
            "--rm",
            "--platform",
            "linux/amd64",
            "localbusybox",
            "true",
        ],
        &[
            "run",
            "--rm",
            "--log-driver",
            "none",
            "localbusybox",
            "echo",
            "nolog",
        ],
        &[
            "run",
            "--rm",
            "-a",
            "stdout",
            "localbusybox",
            "echo",
            "attached",
        ],
        &["run", "--rm", "--stop-timeout", "3", "localbusybox", "true"],
        &["run", "--rm", "--gpus", "all", "localbusybox", "true"],
        &["run", "--rm", "--oom-kill-disable", "localbusybox", "true"],
        &[
            "run",
            "--rm",
            "--memory-reservation",
            "32m",
            "localbusybox",
            "true",
        ],
        &[
            "run",
            "--rm",
            "--blkio-weight",
            "300",
            "localbusybox",
            "true",
        ],
        &[
            "run",
            "--rm",
            "--cgroupns",
            "private",
            "localbusybox",
            "true",
        ],
        // Everything else a script does every day.
        &["info", "--format", "{{.OSType}} {{.Architecture}}"],
        &["version", "--format", "{{.Client.Os}}"],
        &[
            "network",
            "ls",
            "--format",
            "{{.Name}} {{.Driver}} {{.Scope}}",
        ],
        &["network", "ls", "-q", "--filter", "name=nosuch"],
        &["volume", "ls", "-q"],
        &[
            "run",
            "-d",
            "--name",
            "svc",
            "-p",
            "127.0.0.1:18080:80",
            "--expose",
            "90",
            "-v",
            "/data",
            "localbusybox",
            "sleep",
            "60",
        ],
        &["port", "svc"],
        &["port", "svc", "80"],
        &["ps", "--format", "{{.Names}} {{.Ports}}"],
        &["ps", "--filter", "publish=80", "--format", "{{.Names}}"],
        &["ps", "--filter", "expose=90", "--format", "{{.Names}}"],
        &["ps", "--filter", "network=bridge", "--format", "{{.Names}}"],
        &["ps", "--filter", "volume=/data", "--format", "{{.Names}}"],
        &[
            "ps",
            "-a",
            "--filter",
            "since=svc",
            "--format",
            "{{.Names}}",
        ],
        &[
            "ps",
            "-a",
            "--filter",
            "before=svc",
            "--format",
            "{{.Names}}",
        ],
        &["ps", "--filter", "is-task=false", "--format", "{{.Names}}"],
        &["inspect", "-f", "{{json .NetworkSettings.Ports}}", "svc"],
        &[
            "inspect",
            "-f",
            "{{range $p, $b := .NetworkSettings.Ports}}{{$p}}{{end}}",
            "svc",
        ],
        &[
            "inspect",
            "-f",
            "{{len .Mounts}} {{(index .Mounts 0).Destination}}",
            "svc",
        ],
        &["inspect", "-f", "{{.Config.ExposedPorts}}", "svc"],
        &["exec", "svc", "sh", "-c", "echo hi > /tmp/f"],
        &["diff", "svc"],
    ];
    let mut diffs = compare(&q, &d, script, false);
    let mut total = script.len() + 1;
    diffs.extend(same_tar(&q, &d, "svc:/tmp/f"));
    let script: &[&[&str]] = &[
        &[
            "commit",
            "-c",
            "CMD [\"echo\", \"committed\"]",
            "-m",
            "msg",
            "svc",
            "committed:1",
        ],
        &["run", "--rm", "committed:1"],
        &["history", "--format", "{{.Comment}}", "committed:1"],
        &[
            "image",
            "inspect",
            "-f",
            "{{.Config.Cmd}} {{.Comment}}",
            "committed:1",
        ],
        &["rmi", "committed:1"],
        // (ps's own columns, the pids aside: those differ by nature)
        &["top", "svc", "-o", "user,args"],
        &["container", "port", "svc"],
        &["container", "rm", "-f", "svc"],
        &["images", "-a", "--format", "{{.Repository}}"],
        &[
            "network",
            "inspect",
            "-f",
            "{{.Name}} {{.Driver}}",
            "bridge",
        ],
        &["network", "inspect", "-f", "{{.Name}}", "host", "none"],
        &[
            "system",
            "df",
            "--format",
            "{{.Type}} {{.TotalCount}} {{.Active}}",
        ],
        &["ps", "-a", "--format", "json"],
        &["images", "--format", "json"],
        &["network", "ls", "--format", "json", "--filter", "name=none"],
        &["volume", "ls", "--format", "json"],
        // update, live.
        &["run", "-d", "--name", "upd", "localbusybox", "sleep", "60"],
        &["update", "--memory", "64m", "--memory-swap", "128m", "upd"],
        &[
            "inspect",
            "-f",
            "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}",
            "upd",
        ],
        &[
            "exec",
            "upd",
            "cat",
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
        ],
        &[
            "update",
            "--cpus",
            "0.5",
            "--pids-limit",
            "40",
            "--restart",
            "unless-stopped",
            "upd",
        ],
        &[
            "inspect",
            "-f",
            "{{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}} {{.HostConfig.RestartPolicy.Name}}",
            "upd",
        ],
        &["exec", "upd", "cat", "/sys/fs/cgroup/pids/pids.max"],
        &["update", "--memory", "1m", "upd"],
        &["update", "upd"],
        &["update", "--memory", "64m", "nosuch"],
        &["rm", "-f", "upd"],
        // Docker's default tables (ids, times and sizes masked).
        &["ps", "-a"],
        &["ps"],
        &["ps", "-a", "--no-trunc"],
        &["ps", "-a", "-s"],
        &["images"],
        &["images", "-a", "--digests"],
        &["history", "localbusybox"],
        &["network", "ls"],
        &["volume", "ls"],
        &["volume", "create", "tablevol"],
        &["volume", "ls"],
        &["volume", "rm", "tablevol"],
        &[
            "container",
            "ls",
            "-a",
            "--format",
            "table {{.Names}}\t{{.Status}}\t{{.Ports}}",
        ],
        &[
            "images",
            "--format",
            "table {{.Repository}}\t{{.Tag}}\t{{.Size}}",
        ],
        &["volume", "prune", "-f"],
        &["container", "prune", "-f"],
        &[
            "run",
            "--rm",
            "--ipc",
            "none",
            "localbusybox",
            "sh",
            "-c",
            "test -e /dev/shm || echo none",
        ],
        &[
            "run",
            "--rm",
            "--memory-reservation",
            "32m",
            "localbusybox",
            "cat",
            "/sys/fs/cgroup/memory/memory.soft_limit_in_bytes",
        ],
        &[
            "run",
            "--rm",
            "--memory-swappiness",
            "10",
            "localbusybox",
            "cat",
            "/sys/fs/cgroup/memory/memory.swappiness",
        ],
        &[
            "run",
            "--rm",
            "--memory",
            "64m",
            "--oom-kill-disable",
            "localbusybox",
            "grep",
            "oom_kill_disable",
            "/sys/fs/cgroup/memory/memory.oom_control",
        ],
        &[
            "run",
            "--rm",
            "--cpuset-mems",
            "0",
            "localbusybox",
            "cat",
            "/sys/fs/cgroup/cpuset/cpuset.mems",
        ],
        &[
            "run",
            "--rm",
            "--sysctl",
            "kernel.shmmax=123456",
            "localbusybox",
            "cat",
            "/proc/sys/kernel/shmmax",
        ],
        &[
            "run",
            "--rm",
            "--domainname",
            "example.org",
            "localbusybox",
            "cat",
            "/proc/sys/kernel/domainname",
        ],
        &["run", "--rm", "--uts", "host", "localbusybox", "hostname"],
        &[
            "run",
            "--rm",
            "--kernel-memory",
            "10m",
            "localbusybox",
            "true",
        ],
        &[
            "run",
            "--rm",
            "-a",
            "stderr",
            "localbusybox",
            "sh",
            "-c",
            "echo out; echo err >&2",
        ],
        &[
            "run",
            "--rm",
            "--log-opt",
            "max-size=1k",
            "--log-opt",
            "max-file=2",
            "localbusybox",
            "echo",
            "rot",
        ],
        &[
            "run",
            "--rm",
            "--cgroupns",
            "host",
            "--userns",
            "host",
            "localbusybox",
            "true",
        ],
        &[
            "run",
            "--rm",
            "--runtime",
            "runc",
            "--isolation",
            "default",
            "localbusybox",
            "true",
        ],
        &[
            "run",
            "--rm",
            "--detach-keys",
            "ctrl-x",
            "localbusybox",
            "echo",
            "keys",
        ],
        &[
            "run",
            "--rm",
            "--rm=false",
            "-d=false",
            "--init=true",
            "localbusybox",
            "echo",
            "forms",
        ],
        &["run", "-d", "-a", "stdout", "localbusybox", "true"],
        &["run", "--rm", "--shm-size", "x", "localbusybox", "true"],
        &[
            "run",
            "--rm",
            "--sysctl",
            "kernel.hostname=x",
            "localbusybox",
            "true",
        ],
        &[
            "run",
            "--rm",
            "--oom-score-adj",
            "2000",
            "localbusybox",
            "true",
        ],
        &[
            "run",
            "--rm",
            "--memory-swappiness",
            "200",
            "localbusybox",
            "true",
        ],
        &["run", "--rm", "--cpu-quota", "500", "localbusybox", "true"],
        &["run", "--rm", "--ipc", "bogus", "localbusybox", "true"],
        &["run", "--rm", "--pid", "bogus", "localbusybox", "true"],
        &[
            "run",
            "--rm",
            "--device-read-bps",
            "bogus",
            "localbusybox",
            "true",
        ],
        &["run", "--rm", "--expose", "x", "localbusybox", "true"],
        &["run", "--rm", "--pull", "bogus", "localbusybox", "true"],
        &["run", "--rm", "--platform", "bogus", "localbusybox", "true"],
        &[
            "run",
            "--rm",
            "--platform",
            "linux/arm64",
            "--pull",
            "never",
            "localbusybox",
            "true",
        ],
        &[
            "run",
            "--rm",
            "--label-file",
            "/nosuch",
            "localbusybox",
            "true",
        ],
        &["run", "--rm", "-a", "bogus", "localbusybox", "true"],
    ];
    diffs.extend(compare(&q, &d, script, false));
    total += script.len();
    assert!(
        diffs.is_empty(),
        "{} of {} commands differ:\n{}",
        diffs.len(),
        total,
        diffs.join("\n")
    );
}

/// `cp CONTAINER:PATH -` on both: the same entries, with the same names, types, modes,
/// owners (numbers and names), sizes and contents (the times differ by nature).
fn same_tar(q: &Eng, d: &Dockerd, from: &str) -> Vec<String> {
    let entries = |o: &Output| -> Vec<String> {
        let mut ar = tar::Archive::new(&o.stdout[..]);
        let mut out = Vec::new();
        for e in ar.entries().expect("entries") {
            let mut e = e.expect("entry");
            let h = e.header().clone();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut data).expect("read");
            out.push(format!(
                "{} {:?} {:o} {}:{} {}:{} {} {:?} ustar={}",
                e.path().expect("path").display(),
                h.entry_type(),
                h.mode().unwrap_or(0),
                h.uid().unwrap_or(0),
                h.gid().unwrap_or(0),
                h.username().ok().flatten().unwrap_or(""),
                h.groupname().ok().flatten().unwrap_or(""),
                h.size().unwrap_or(0),
                String::from_utf8_lossy(&data),
                h.as_ustar().is_some()
            ));
        }
        out
    };
    let (qo, dout) = (q.q(&["cp", from, "-"]), d.run(&["cp", from, "-"]));
    let (qe, de) = (entries(&qo), entries(&dout));
    if qe == de && qo.status.code() == dout.status.code() {
        Vec::new()
    } else {
        vec![format!("$ cp {from} -\n  quai   {qe:?}\n  docker {de:?}")]
    }
}
