//! The systemd cgroup driver's D-Bus side (docs/adr/028). A container's cgroup is a
//! transient scope unit (`quai-<id>.scope` in `system.slice`) that systemd creates with
//! the container's init in it and delegates (`Delegate=yes`), as runc's and podman's
//! systemd drivers do. zbus runs an executor thread, and the runtime forks only while
//! single-threaded: so the calls run in a short-lived helper process (`quai __systemd`),
//! which the runtime starts with a plain fork+exec.
//!
//! `quai __systemd start UNIT SLICE PID [PROPERTY=VALUE...]` creates the scope and waits
//! for its job; `quai __systemd stop UNIT` stops it (a missing unit is fine). Properties:
//! `MemoryMax`, `TasksMax`, `CPUWeight`, `CPUQuotaPerSecUSec` (numbers).

use std::ffi::OsString;
use std::time::Duration;

use zbus::zvariant::{OwnedObjectPath, Value};

/// The hidden argument of the helper.
pub const ARG: &str = "__systemd";

/// How long a job may take before the helper gives up.
const JOB_TIMEOUT: Duration = Duration::from_secs(20);

fn connect() -> Result<zbus::blocking::Connection, String> {
    // The system bus, else systemd's own socket (root, no dbus-daemon).
    match zbus::blocking::Connection::system() {
        Ok(c) => Ok(c),
        Err(first) => {
            zbus::blocking::connection::Builder::address("unix:path=/run/systemd/private")
                .and_then(|b| b.p2p().build())
                .map_err(|e| format!("connect to systemd: {first}; /run/systemd/private: {e}"))
        }
    }
}

fn manager(c: &zbus::blocking::Connection) -> Result<zbus::blocking::Proxy<'static>, String> {
    zbus::blocking::Proxy::new(
        c,
        "org.freedesktop.systemd1",
        "/org/freedesktop/systemd1",
        "org.freedesktop.systemd1.Manager",
    )
    .map_err(|e| format!("systemd manager: {e}"))
}

/// Create the scope `unit` in `slice` around `pid`, delegated, with `props`, and wait
/// for systemd to finish the job.
pub fn start(unit: &str, slice: &str, pid: u32, props: &[(String, u64)]) -> Result<(), String> {
    let c = connect()?;
    let m = manager(&c)?;
    let _ = m.call_method("Subscribe", &());
    let jobs = m
        .receive_signal("JobRemoved")
        .map_err(|e| format!("watch systemd's jobs: {e}"))?;
    let mut p: Vec<(&str, Value<'_>)> = vec![
        ("Description", Value::from(format!("quai container {unit}"))),
        ("Slice", Value::from(slice)),
        ("PIDs", Value::from(vec![pid])),
        ("Delegate", Value::from(true)),
        ("DefaultDependencies", Value::from(false)),
    ];
    for (k, v) in props {
        p.push((k.as_str(), Value::from(*v)));
    }
    let aux: Vec<(&str, Vec<(&str, Value<'_>)>)> = Vec::new();
    let reply = m
        .call_method("StartTransientUnit", &(unit, "fail", p, aux))
        .map_err(|e| format!("StartTransientUnit {unit}: {e}"))?;
    let job: OwnedObjectPath = reply
        .body()
        .deserialize()
        .map_err(|e| format!("StartTransientUnit {unit}: {e}"))?;
    for msg in jobs {
        let Ok((_, path, _, result)) = msg
            .body()
            .deserialize::<(u32, OwnedObjectPath, String, String)>()
        else {
            continue;
        };
        if path == job {
            return if result == "done" {
                Ok(())
            } else {
                Err(format!("systemd could not start {unit}: job {result}"))
            };
        }
    }
    Err(format!("systemd's job for {unit} never ended"))
}

/// Stop the scope `unit` (its processes are gone already; a unit systemd dropped is
/// fine) and forget a failed state.
pub fn stop(unit: &str) -> Result<(), String> {
    let c = connect()?;
    let m = manager(&c)?;
    match m.call_method("StopUnit", &(unit, "replace")) {
        Ok(_) => {}
        Err(zbus::Error::MethodError(name, _, _))
            if name.as_str() == "org.freedesktop.systemd1.NoSuchUnit" => {}
        Err(e) => return Err(format!("StopUnit {unit}: {e}")),
    }
    let _ = m.call_method("ResetFailedUnit", &(unit,));
    Ok(())
}

/// `quai __systemd ...`: prints one line on failure and exits non-zero.
pub fn helper_main(args: &[OsString]) -> i32 {
    let a: Vec<String> = args
        .iter()
        .skip(2)
        .map(|s| s.to_string_lossy().into_owned())
        .collect();
    // A job that hangs must not hang the runtime.
    std::thread::spawn(|| {
        std::thread::sleep(JOB_TIMEOUT);
        eprintln!("systemd did not answer within {} s", JOB_TIMEOUT.as_secs());
        std::process::exit(1);
    });
    let r = match a.first().map(String::as_str) {
        Some("start") if a.len() >= 4 => {
            let props: Result<Vec<(String, u64)>, String> = a[4..]
                .iter()
                .map(|kv| {
                    let (k, v) = kv.split_once('=').ok_or(format!("bad property {kv}"))?;
                    let v = v.parse::<u64>().map_err(|_| format!("bad property {kv}"))?;
                    Ok((k.to_string(), v))
                })
                .collect();
            match (a[3].parse::<u32>(), props) {
                (Ok(pid), Ok(p)) => start(&a[1], &a[2], pid, &p),
                (_, Err(e)) => Err(e),
                _ => Err(format!("bad pid {}", a[3])),
            }
        }
        Some("stop") if a.len() == 2 => stop(&a[1]),
        _ => Err("usage: quai __systemd start UNIT SLICE PID [K=V...] | stop UNIT".into()),
    };
    match r {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("{e}");
            1
        }
    }
}
