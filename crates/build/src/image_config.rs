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

/// The state of `FROM scratch`.
pub(crate) fn scratch() -> State {
    State {
        key: "scratch".into(),
        config: json!({
            "architecture": "amd64",
            "os": "linux",
            "config": {"Env": [DEFAULT_PATH]},
            "rootfs": {"type": "layers", "diff_ids": []},
            "history": [],
        }),
        layers: Vec::new(),
        id: None,
        cmd_set: false,
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

/// History's `created_by` for a config-only instruction (`ENV A=b`, `CMD ["x"]`).
pub fn created_by(step: &Step) -> String {
    match &step.op {
        Op::Cmd(c) | Op::Entrypoint(c) => {
            let words = if c.prepend_shell {
                c.args.join(" ")
            } else {
                serde_json::to_string(&c.args).unwrap_or_default()
            };
            format!("{} {words}", step.keyword.to_uppercase())
        }
        Op::Env(kv) => format!(
            "ENV {}",
            kv.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Op::Arg(kv) => format!(
            "ARG {}",
            kv.iter()
                .map(|(k, v)| match v {
                    Some(v) => format!("{k}={v}"),
                    None => k.clone(),
                })
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Op::Label(kv) => format!(
            "LABEL {}",
            kv.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        ),
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
                env.retain(|e| e.split('=').next() != Some(k.as_str()));
                env.push(format!("{k}={v}"));
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
