//! The image config a build edits step by step, as BuildKit writes it: the `config`
//! section for ENV, CMD, ENTRYPOINT, ..., and a history entry for every instruction
//! (`empty_layer` for those without a layer).

use content::Digest;
use dockerfile::build::{ImageConfig, Op, Step};
use dockerfile::instructions::Healthcheck;
use serde_json::{json, Map, Value};

use crate::State;

/// The default PATH BuildKit gives an image without one.
const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A JSON array of strings.
pub fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Put BuildKit's default PATH first in the environment when there is none.
pub fn ensure_path(config: &mut Value) {
    let mut env = strings(&config["config"]["Env"]);
    if !env.iter().any(|e| e.starts_with("PATH=")) {
        env.insert(0, DEFAULT_PATH.to_string());
        set(config, "Env", json!(env));
    }
}

/// The state of `FROM scratch`.
pub(crate) fn scratch() -> State {
    State {
        fs_key: "scratch".into(),
        full_key: "scratch".into(),
        config: json!({
            "architecture": "amd64",
            "os": "linux",
            "config": {"Env": [DEFAULT_PATH], "WorkingDir": "/"},
            "rootfs": {"type": "layers", "diff_ids": []},
            "history": [],
        }),
        layers: Vec::new(),
        id: None,
        cmd_set: false,
        args: Vec::new(),
    }
}

/// What planning needs of a base image's config section.
pub fn for_plan(c: &Value) -> ImageConfig {
    ImageConfig {
        env: strings(&c["Env"])
            .into_iter()
            .map(|e| match e.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (e, String::new()),
            })
            .collect(),
        workdir: c["WorkingDir"].as_str().unwrap_or_default().to_string(),
        user: c["User"].as_str().unwrap_or_default().to_string(),
        shell: strings(&c["Shell"]),
        onbuild: strings(&c["OnBuild"]),
    }
}

fn section(config: &mut Value) -> &mut Map<String, Value> {
    if !config["config"].is_object() {
        config["config"] = json!({});
    }
    config["config"]
        .as_object_mut()
        .expect("config[\"config\"] was just made an object")
}

/// Set one field of the config section (`null` removes it).
pub fn set(config: &mut Value, key: &str, v: Value) {
    let s = section(config);
    if v.is_null() {
        s.remove(key);
    } else {
        s.insert(key.into(), v);
    }
}

/// Append a history entry.
pub fn add_history(config: &mut Value, created_by: &str, empty: bool) {
    let mut h = json!({
        "created": engine::time::now_rfc3339(),
        "created_by": created_by,
        "comment": "buildkit.dockerfile.v0",
    });
    if empty {
        h["empty_layer"] = json!(true);
    }
    match config["history"].as_array_mut() {
        Some(a) => a.push(h),
        None => config["history"] = json!([h]),
    }
}

/// The config's layer diff ids, bottom first.
pub fn diff_ids(config: &Value) -> Vec<Digest> {
    strings(&config["rootfs"]["diff_ids"])
        .iter()
        .filter_map(|d| d.parse().ok())
        .collect()
}

/// Append a layer's diff id.
pub fn push_diff(config: &mut Value, d: &Digest) {
    if !config["rootfs"].is_object() {
        config["rootfs"] = json!({"type": "layers", "diff_ids": []});
    }
    match config["rootfs"]["diff_ids"].as_array_mut() {
        Some(a) => a.push(json!(d.to_string())),
        None => config["rootfs"]["diff_ids"] = json!([d.to_string()]),
    }
}

/// Go's `%q` of a list of strings: `["a" "b"]`.
fn go_list(v: &Value) -> String {
    let items: Vec<String> = strings(v).iter().map(|s| dockerfile::go_quote(s)).collect();
    format!("[{}]", items.join(" "))
}

/// Go's `time.Duration` text (`0s`, `1.5s`, `1m30s`, `2h0m0s`, `500ms`).
fn go_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let neg = ns < 0;
    let ns = ns.unsigned_abs();
    let out = if ns < 1_000_000_000 {
        let (unit, div) = if ns < 1_000 {
            ("ns", 1u64)
        } else if ns < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        format!("{}{unit}", trim_frac(ns, div))
    } else {
        let secs = ns / 1_000_000_000;
        let (h, m) = (secs / 3600, (secs % 3600) / 60);
        let s = trim_frac(ns % 60_000_000_000, 1_000_000_000);
        if h > 0 {
            format!("{h}h{m}m{s}s")
        } else if m > 0 {
            format!("{m}m{s}s")
        } else {
            format!("{s}s")
        }
    };
    if neg {
        format!("-{out}")
    } else {
        out
    }
}

fn trim_frac(v: u64, div: u64) -> String {
    let whole = v / div;
    let frac = v % div;
    if frac == 0 {
        return whole.to_string();
    }
    let width = div.to_string().len() - 1;
    let f = format!("{frac:0width$}");
    format!("{whole}.{}", f.trim_end_matches('0'))
}

/// History's `created_by` for a config-only instruction, as BuildKit writes it (Go's
/// `%q`/`%v` formatting included); `config` is the config after the instruction.
pub fn created_by(step: &Step, config: &Value) -> String {
    let c = &config["config"];
    let rest = step
        .code
        .trim()
        .split_once(char::is_whitespace)
        .map(|(_, r)| r.trim().to_string())
        .unwrap_or_default();
    match &step.op {
        Op::Cmd(_) => format!("CMD {}", go_list(&c["Cmd"])),
        Op::Entrypoint(_) => format!("ENTRYPOINT {}", go_list(&c["Entrypoint"])),
        Op::Env(kv) => format!(
            "ENV {}",
            kv.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Op::Arg(_) => format!("ARG {rest}"),
        Op::Label(kv) => format!(
            "LABEL {}",
            kv.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Op::Expose(ports) => {
            let mut p = ports.clone();
            p.sort();
            p.dedup();
            format!(
                "EXPOSE map[{}]",
                p.iter()
                    .map(|x| format!("{x}:{{}}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        }
        Op::Volume(v) => format!("VOLUME [{}]", v.join(" ")),
        Op::Shell(v) => format!("SHELL [{}]", v.join(" ")),
        Op::User(u) => format!("USER {u}"),
        Op::StopSignal(s) => format!("STOPSIGNAL {s}"),
        Op::Maintainer(m) => format!("MAINTAINER {m}"),
        Op::Healthcheck(Healthcheck::None) => {
            "HEALTHCHECK &{[\"NONE\"] \"0s\" \"0s\" \"0s\" \"0s\" '\\x00'}".into()
        }
        Op::Healthcheck(Healthcheck::Cmd(h)) => {
            let test: Vec<String> = h.test.iter().map(|s| dockerfile::go_quote(s)).collect();
            format!(
                "HEALTHCHECK &{{[{}] \"{}\" \"{}\" \"{}\" \"{}\" '\\x{:02x}'}}",
                test.join(" "),
                go_duration(h.interval),
                go_duration(h.timeout),
                go_duration(h.start_period),
                go_duration(h.start_interval),
                h.retries.clamp(0, 255)
            )
        }
        _ => step
            .code
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

fn command(c: &dockerfile::instructions::ShellCommand, shell: &[String]) -> Value {
    if c.prepend_shell {
        let mut v: Vec<String> = if shell.is_empty() {
            vec!["/bin/sh".into(), "-c".into()]
        } else {
            shell.to_vec()
        };
        v.push(c.args.join(" "));
        json!(v)
    } else if c.args.is_empty() {
        // `CMD []` clears it (BuildKit stores null).
        Value::Null
    } else {
        json!(c.args)
    }
}

/// Apply a config-only instruction.
pub(crate) fn apply(state: &mut State, op: &Op, shell: &mut Vec<String>) {
    let c = &mut state.config;
    match op {
        Op::Env(kv) => {
            let mut env = strings(&c["config"]["Env"]);
            for (k, v) in kv {
                // A variable set again keeps its place.
                let kv = format!("{k}={v}");
                match env
                    .iter_mut()
                    .find(|e| e.split('=').next() == Some(k.as_str()))
                {
                    Some(e) => *e = kv,
                    None => env.push(kv),
                }
            }
            set(c, "Env", json!(env));
        }
        Op::Cmd(cmd) => {
            set(c, "Cmd", command(cmd, shell));
            state.cmd_set = true;
        }
        Op::Entrypoint(e) => {
            set(c, "Entrypoint", command(e, shell));
            if !state.cmd_set {
                set(c, "Cmd", Value::Null);
            }
        }
        Op::Label(kv) => {
            let mut m = c["config"]["Labels"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            for (k, v) in kv {
                m.insert(k.clone(), json!(v));
            }
            set(c, "Labels", Value::Object(m));
        }
        Op::Expose(ports) => {
            let mut m = c["config"]["ExposedPorts"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            for p in ports {
                m.insert(p.clone(), json!({}));
            }
            set(c, "ExposedPorts", Value::Object(m));
        }
        Op::Volume(vols) => {
            let mut m = c["config"]["Volumes"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            for p in vols {
                m.insert(p.clone(), json!({}));
            }
            set(c, "Volumes", Value::Object(m));
        }
        Op::User(u) => set(c, "User", json!(u)),
        Op::StopSignal(s) => set(c, "StopSignal", json!(s)),
        Op::Shell(s) => {
            set(c, "Shell", json!(s));
            *shell = s.clone();
        }
        Op::Onbuild(t) => {
            let mut v = strings(&c["config"]["OnBuild"]);
            v.push(t.clone());
            set(c, "OnBuild", json!(v));
        }
        Op::Maintainer(m) => c["author"] = json!(m),
        Op::Healthcheck(h) => match h {
            Healthcheck::None => set(c, "Healthcheck", json!({"Test": ["NONE"]})),
            Healthcheck::Cmd(hc) => {
                let mut o = json!({"Test": hc.test});
                for (k, v) in [
                    ("Interval", hc.interval),
                    ("Timeout", hc.timeout),
                    ("StartPeriod", hc.start_period),
                    ("StartInterval", hc.start_interval),
                ] {
                    if v != 0 {
                        o[k] = json!(v);
                    }
                }
                if hc.retries != 0 {
                    o["Retries"] = json!(hc.retries);
                }
                set(c, "Healthcheck", o);
            }
        },
        Op::Arg(_) => {}
        Op::Run(_) | Op::Copy(_) | Op::Add(_) | Op::Workdir { .. } => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(30_000_000_000), "30s");
        assert_eq!(go_duration(90_000_000_000), "1m30s");
        assert_eq!(go_duration(7_200_000_000_000), "2h0m0s");
        assert_eq!(go_duration(1_500_000_000), "1.5s");
        assert_eq!(go_duration(500_000_000), "500ms");
    }

    #[test]
    fn go_lists() {
        assert_eq!(go_list(&json!(["a", "b c"])), "[\"a\" \"b c\"]");
    }
}
