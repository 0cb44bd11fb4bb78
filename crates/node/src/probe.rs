//! Container probes as the kubelet runs them: `exec` (a process in the container,
//! success on status 0), `httpGet` (a status from 200 to 399, `kube-probe/1.32` as the
//! user agent; HTTPS without checking the certificate), `tcpSocket` (a connection); `initialDelaySeconds`, `periodSeconds`,
//! `timeoutSeconds`, `successThreshold` and `failureThreshold` as kube counts them.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use engine::exec::ExecRequest;
use engine::lifecycle::Engine;
use serde_json::Value;

/// A probe's running tally for one container.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub successes: i64,
    pub failures: i64,
    /// When it last ran (Unix nanoseconds).
    pub last: i64,
    /// Its current verdict (None: not decided yet).
    pub ok: Option<bool>,
    /// Why the last run failed.
    pub why: String,
}

fn num(p: &Value, k: &str, default: i64) -> i64 {
    p[k].as_i64().unwrap_or(default)
}

/// The port of a probe: a number, or a named port of the container.
fn port(c: &Value, v: &Value) -> Option<u16> {
    match v {
        Value::Number(n) => n.as_u64().and_then(|p| u16::try_from(p).ok()),
        Value::String(s) => c["ports"]
            .as_array()?
            .iter()
            .find(|p| p["name"] == *s)
            .and_then(|p| p["containerPort"].as_u64())
            .and_then(|p| u16::try_from(p).ok()),
        _ => None,
    }
}

fn http(ip: &str, port: u16, g: &Value, timeout: Duration) -> Result<(), String> {
    let host = g["host"].as_str().filter(|h| !h.is_empty()).unwrap_or(ip);
    let addr: SocketAddr = format!("{host}:{port}")
        .parse()
        .map_err(|e| format!("probe address {host}:{port}: {e}"))?;
    if g["scheme"].as_str() == Some("HTTPS") {
        return https(addr, g, timeout);
    }
    let mut s = TcpStream::connect_timeout(&addr, timeout).map_err(|e| {
        format!(
            "Get \"http://{addr}{}\": {e}",
            g["path"].as_str().unwrap_or("/")
        )
    })?;
    let _ = s.set_read_timeout(Some(timeout));
    let _ = s.set_write_timeout(Some(timeout));
    let mut req = format!(
        "GET {} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: kube-probe/1.32\r\nAccept: */*\r\nConnection: close\r\n",
        g["path"].as_str().unwrap_or("/")
    );
    for h in g["httpHeaders"].as_array().into_iter().flatten() {
        let (n, v) = (
            h["name"].as_str().unwrap_or_default(),
            h["value"].as_str().unwrap_or_default(),
        );
        if !n.contains(['\r', '\n']) && !v.contains(['\r', '\n']) {
            req.push_str(&format!("{n}: {v}\r\n"));
        }
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).map_err(|e| e.to_string())?;
    let line = String::from_utf8_lossy(&buf[..n]);
    let code: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("HTTP probe: no status in {line:?}"))?;
    if (200..400).contains(&code) {
        Ok(())
    } else {
        Err(format!("HTTP probe failed with statuscode: {code}"))
    }
}

/// An HTTPS probe: the certificate is not checked, as the kubelet does not check it.
fn https(addr: SocketAddr, g: &Value, timeout: Duration) -> Result<(), String> {
    let path = g["path"].as_str().unwrap_or("/");
    let tls = ureq::tls::TlsConfig::builder()
        .disable_verification(true)
        .build();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .user_agent("kube-probe/1.32")
        .tls_config(tls)
        .build()
        .into();
    let url = format!("https://{addr}{path}");
    let mut req = agent.get(&url);
    for h in g["httpHeaders"].as_array().into_iter().flatten() {
        if let (Some(n), Some(v)) = (h["name"].as_str(), h["value"].as_str()) {
            req = req.header(n, v);
        }
    }
    let code = req
        .call()
        .map_err(|e| format!("Get \"{url}\": {e}"))?
        .status()
        .as_u16();
    if (200..400).contains(&code) {
        Ok(())
    } else {
        Err(format!("HTTP probe failed with statuscode: {code}"))
    }
}

fn exec(eng: &mut Engine, id: &str, cmd: Vec<String>, timeout: Duration) -> Result<(), String> {
    let null = || -> Result<OwnedFd, String> {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/null")
            .map(OwnedFd::from)
            .map_err(|e| e.to_string())
    };
    let req = ExecRequest {
        cmd,
        ..Default::default()
    };
    let mut child = eng
        .exec_spawn(id, &req, [null()?, null()?, null()?], false)
        .map_err(|e| e.to_string())?;
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(st)) => {
                return match st.code() {
                    Some(0) => Ok(()),
                    Some(c) => Err(format!("command exited with status {c}")),
                    None => Err("command was killed".to_string()),
                }
            }
            Ok(None) if start.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("command timed out after {}s", timeout.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// Run a probe's or a lifecycle hook's handler `h` (`exec`, `httpGet`, `tcpSocket`,
/// `grpc`, `sleep`) against container `c` (engine id `id`, pod IP `ip`).
pub fn action(
    eng: &mut Engine,
    h: &Value,
    c: &Value,
    id: &str,
    ip: &str,
    timeout: Duration,
) -> Result<(), String> {
    if h["exec"].is_object() {
        let cmd: Vec<String> = h["exec"]["command"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        exec(eng, id, cmd, timeout)
    } else if h["httpGet"].is_object() {
        match port(c, &h["httpGet"]["port"]) {
            Some(port) => http(ip, port, &h["httpGet"], timeout),
            None => Err("probe port not found".to_string()),
        }
    } else if h["tcpSocket"].is_object() {
        match port(c, &h["tcpSocket"]["port"]) {
            Some(port) => format!("{ip}:{port}")
                .parse::<SocketAddr>()
                .map_err(|e| e.to_string())
                .and_then(|a| {
                    TcpStream::connect_timeout(&a, timeout)
                        .map(|_| ())
                        .map_err(|e| format!("dial tcp {a}: {e}"))
                }),
            None => Err("probe port not found".to_string()),
        }
    } else if h["grpc"].is_object() {
        match h["grpc"]["port"]
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
        {
            Some(port) => crate::grpc::health_check(
                ip,
                port,
                h["grpc"]["service"].as_str().unwrap_or_default(),
                timeout,
            ),
            None => Err("probe port not found".to_string()),
        }
    } else if h["sleep"].is_object() {
        let secs = h["sleep"]["seconds"].as_u64().unwrap_or(0);
        std::thread::sleep(Duration::from_secs(secs).min(timeout));
        Ok(())
    } else {
        Err("the handler has no action (exec, httpGet, tcpSocket, grpc or sleep)".to_string())
    }
}

/// Run probe `p` of container `c` (engine id `id`, pod IP `ip`) if it is due at `now`
/// (the container started at `started`), updating `t`; returns whether it ran.
#[allow(clippy::too_many_arguments)]
pub fn run(
    eng: &mut Engine,
    t: &mut Tally,
    p: &Value,
    c: &Value,
    id: &str,
    ip: &str,
    started: i64,
    now: i64,
) -> bool {
    let s = 1_000_000_000;
    if now - started < num(p, "initialDelaySeconds", 0) * s {
        return false;
    }
    if t.last != 0 && now - t.last < num(p, "periodSeconds", 10).max(1) * s {
        return false;
    }
    t.last = now;
    let timeout = Duration::from_secs(num(p, "timeoutSeconds", 1).max(1) as u64);
    let result = action(eng, p, c, id, ip, timeout);
    match result {
        Ok(()) => {
            t.successes += 1;
            t.failures = 0;
            if t.successes >= num(p, "successThreshold", 1) {
                t.ok = Some(true);
            }
        }
        Err(why) => {
            t.failures += 1;
            t.successes = 0;
            t.why = why;
            if t.failures >= num(p, "failureThreshold", 3) {
                t.ok = Some(false);
            }
        }
    }
    true
}
