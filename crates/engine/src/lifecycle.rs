//! Container lifecycle as the CLI drives it: create (image config merged with the user's
//! options), start (spawning the monitor), stop, kill, pause, remove, wait, rename, and
//! `observe`, which turns what the database says into what is true (a dead monitor, a
//! wiped run dir after a reboot).

use std::collections::BTreeMap;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::attach;
use crate::config::{ContainerConfig, ContainerState, HealthConfig, MountConfig};
use crate::db::{Db, Record};
use crate::{Error, Paths, Result};

/// The engine as a CLI process holds it.
pub struct Engine {
    /// Root and run dir.
    pub paths: Paths,
    /// The database.
    pub db: Db,
}

/// `--health-*` options.
#[derive(Debug, Clone, Default)]
pub struct HealthFlags {
    /// `--health-cmd` (run with `/bin/sh -c`).
    pub cmd: Option<String>,
    /// `--health-interval` (ns).
    pub interval: Option<i64>,
    /// `--health-timeout` (ns).
    pub timeout: Option<i64>,
    /// `--health-start-period` (ns).
    pub start_period: Option<i64>,
    /// `--health-retries`.
    pub retries: Option<u32>,
    /// `--no-healthcheck`.
    pub disable: bool,
}

/// What `create`/`run` ask for, beyond the fields of [`ContainerConfig`] they set
/// directly.
#[derive(Debug, Clone, Default)]
pub struct CreateRequest {
    /// `--name`.
    pub name: Option<String>,
    /// The image as typed.
    pub image: String,
    /// Fields set directly from flags (env, labels, resources, security, ...).
    pub config: ContainerConfig,
    /// `--entrypoint` (an empty string clears the image's).
    pub entrypoint: Option<String>,
    /// Arguments after the image.
    pub cmd: Vec<String>,
    /// `-w`.
    pub workdir: Option<String>,
    /// `-u`.
    pub user: Option<String>,
    /// `--hostname`.
    pub hostname: Option<String>,
    /// `--stop-signal`.
    pub stop_signal: Option<String>,
    /// `-v`.
    pub volumes: Vec<String>,
    /// `--mount`.
    pub mounts: Vec<String>,
    /// `--tmpfs`.
    pub tmpfs: Vec<String>,
    /// `--health-*`.
    pub health: HealthFlags,
    /// `-P`.
    pub publish_all: bool,
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Docker's container name rule.
pub fn check_name(n: &str) -> Result<()> {
    let ok = n.len() >= 2
        && n.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "Invalid container name ({n}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
        )))
    }
}

const ADJECTIVES: &[&str] = &[
    "amber", "brave", "calm", "deft", "eager", "fond", "gentle", "happy", "keen", "lucid", "merry",
    "nimble", "proud", "quiet", "rapid", "sharp", "tidy", "vivid", "warm", "zesty",
];
const NOUNS: &[&str] = &[
    "otter", "heron", "lynx", "marten", "osprey", "badger", "falcon", "ibex", "gecko", "puffin",
    "raven", "stoat", "tapir", "walrus", "yak", "zebu", "bison", "crane", "dingo", "egret",
];

fn random_name(db: &Db) -> Result<String> {
    for _ in 0..64 {
        let id = crate::random_id();
        let b = u64::from_str_radix(&id[..12], 16).unwrap_or(0);
        let n = format!(
            "{}_{}",
            ADJECTIVES[(b % ADJECTIVES.len() as u64) as usize],
            NOUNS[((b >> 8) % NOUNS.len() as u64) as usize]
        );
        let n = if b >> 20 & 1 == 1 {
            format!("{n}{}", (b >> 24) % 10)
        } else {
            n
        };
        if matches!(db.get(&n), Err(Error::NoSuchContainer(_))) {
            return Ok(n);
        }
    }
    Ok(format!("quai_{}", &crate::random_id()[..12]))
}

/// Parse `-v SPEC`: `NAME:/dst[:opts]`, `/host:/dst[:opts]` or `/dst` (anonymous).
pub fn parse_volume_flag(s: &str) -> Result<MountConfig> {
    let parts: Vec<&str> = s.split(':').collect();
    let bad = || Error::Invalid(format!("invalid volume specification: '{s}'"));
    let (src, dst, opts) = match parts.as_slice() {
        [d] => ("", *d, ""),
        [a, b] if b.starts_with('/') => (*a, *b, ""),
        [d, o] => ("", *d, *o),
        [a, b, o] => (*a, *b, *o),
        _ => return Err(bad()),
    };
    if !dst.starts_with('/') || dst == "/" {
        return Err(bad());
    }
    let mut readonly = false;
    for o in opts.split(',').filter(|o| !o.is_empty()) {
        match o {
            "ro" => readonly = true,
            "rw" | "z" | "Z" | "nocopy" | "rprivate" | "private" | "rshared" | "shared"
            | "rslave" | "slave" => {}
            _ => return Err(bad()),
        }
    }
    let nocopy = opts.split(',').any(|o| o == "nocopy");
    Ok(if src.is_empty() {
        MountConfig {
            kind: "volume".into(),
            target: dst.into(),
            readonly,
            anonymous: true,
            copy_up: !nocopy,
            ..Default::default()
        }
    } else if src.starts_with('/') || src.starts_with('.') {
        MountConfig {
            kind: "bind".into(),
            source: src.into(),
            target: dst.into(),
            readonly,
            ..Default::default()
        }
    } else {
        crate::volumes::check_name(src)?;
        MountConfig {
            kind: "volume".into(),
            source: src.into(),
            target: dst.into(),
            readonly,
            copy_up: !nocopy,
            ..Default::default()
        }
    })
}

/// Parse `--mount type=...,source=...,target=...[,readonly][,tmpfs-size=N][,tmpfs-mode=M]`.
pub fn parse_mount_flag(s: &str) -> Result<MountConfig> {
    let mut m = MountConfig {
        kind: "volume".into(),
        copy_up: true,
        ..Default::default()
    };
    for kv in s.split(',') {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        match k {
            "type" => m.kind = v.into(),
            "source" | "src" => m.source = v.into(),
            "target" | "destination" | "dst" => m.target = v.into(),
            "readonly" | "ro" => m.readonly = v.is_empty() || v == "true" || v == "1",
            "volume-nocopy" => m.copy_up = !(v.is_empty() || v == "true"),
            "tmpfs-size" => {
                m.tmpfs_size = Some(parse_bytes(v).ok_or_else(|| {
                    Error::Invalid(format!("invalid mount config: bad tmpfs-size {v:?}"))
                })? as u64)
            }
            "tmpfs-mode" => {
                m.tmpfs_mode = Some(u32::from_str_radix(v, 8).map_err(|_| {
                    Error::Invalid(format!("invalid mount config: bad tmpfs-mode {v:?}"))
                })?)
            }
            "bind-propagation" | "consistency" => {}
            _ => {
                return Err(Error::Invalid(format!(
                    "invalid field '{k}' must be a key=value pair"
                )))
            }
        }
    }
    if !["bind", "volume", "tmpfs"].contains(&m.kind.as_str()) {
        return Err(Error::Invalid(format!(
            "invalid mount config: mount type unknown: {:?}",
            m.kind
        )));
    }
    if !m.target.starts_with('/') {
        return Err(Error::Invalid(
            "invalid mount config: target must be an absolute path".into(),
        ));
    }
    match m.kind.as_str() {
        "bind" => {
            m.copy_up = false;
            if !Path::new(&m.source).exists() {
                return Err(Error::Invalid(format!(
                    "invalid mount config for type \"bind\": bind source path does not exist: {}",
                    m.source
                )));
            }
        }
        "volume" if m.source.is_empty() => m.anonymous = true,
        "volume" => crate::volumes::check_name(&m.source)?,
        _ => m.copy_up = false,
    }
    Ok(m)
}

/// Docker's byte sizes: `512`, `64k`, `256m`, `1g` (binary units).
pub fn parse_bytes(s: &str) -> Option<i64> {
    let s = s.trim().to_ascii_lowercase();
    let s = s.strip_suffix('b').unwrap_or(&s);
    let (num, mult) = match s.chars().last()? {
        'k' => (&s[..s.len() - 1], 1i64 << 10),
        'm' => (&s[..s.len() - 1], 1 << 20),
        'g' => (&s[..s.len() - 1], 1 << 30),
        't' => (&s[..s.len() - 1], 1 << 40),
        _ => (s, 1),
    };
    let v: f64 = num.parse().ok()?;
    let b = v * mult as f64;
    // Negative, NaN, infinite and past-i64 sizes are no sizes (an `as` cast would saturate).
    (b.is_finite() && b >= 0.0 && b < i64::MAX as f64).then_some(b as i64)
}

impl Engine {
    /// Open the engine's state.
    pub fn open(root: &Path, run: &Path) -> Result<Engine> {
        crate::reserve::ensure(root);
        Ok(Engine {
            paths: Paths::new(root, run),
            db: Db::open(root)?,
        })
    }

    /// Create a container from an image.
    pub fn create(&mut self, req: CreateRequest) -> Result<Record> {
        runtime::debug!("create: {}", req.image);
        crate::validate::container(&req.config)?;
        if let Some(h) = &req.hostname {
            crate::validate::hostname(h)?;
        }
        let images = image::store::ImageStore::open(&self.paths.root)?;
        let image_id = images.resolve(&req.image)?;
        let img = images.config(&image_id)?;
        drop(images);
        let ic = img.get("config").cloned().unwrap_or(Value::Null);
        let mut c = req.config;
        c.version = crate::config::CONFIG_VERSION;
        c.image = req.image.clone();
        c.image_id = image_id.to_string();
        match req.entrypoint {
            Some(e) => {
                c.entrypoint = if e.is_empty() { Vec::new() } else { vec![e] };
                c.cmd = req.cmd;
            }
            None => {
                c.entrypoint = strings(&ic["Entrypoint"]);
                c.cmd = if req.cmd.is_empty() {
                    strings(&ic["Cmd"])
                } else {
                    req.cmd
                };
            }
        }
        if c.entrypoint.is_empty() && c.cmd.is_empty() {
            return Err(Error::Invalid("no command specified".into()));
        }
        let mut env = strings(&ic["Env"]);
        for e in std::mem::take(&mut c.env) {
            let k = e.split('=').next().unwrap_or_default().to_string();
            env.retain(|x| x.split('=').next() != Some(k.as_str()));
            env.push(e);
        }
        c.env = env;
        c.workdir = req
            .workdir
            .or_else(|| ic["WorkingDir"].as_str().map(str::to_string))
            .unwrap_or_default();
        if !c.workdir.is_empty() && !c.workdir.starts_with('/') {
            return Err(Error::Invalid(format!(
                "the working directory '{}' is invalid, it needs to be an absolute path",
                c.workdir
            )));
        }
        c.user = req
            .user
            .or_else(|| ic["User"].as_str().map(str::to_string))
            .unwrap_or_default();
        let mut labels: BTreeMap<String, String> = ic["Labels"]
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        labels.append(&mut c.labels);
        c.labels = labels;
        c.stop_signal = req
            .stop_signal
            .or_else(|| ic["StopSignal"].as_str().map(str::to_string))
            .unwrap_or_else(|| "SIGTERM".into());
        runtime::ops::parse_signal(&c.stop_signal)
            .map_err(|_| Error::Invalid(format!("invalid signal: {}", c.stop_signal)))?;
        c.exposed_ports = ic["ExposedPorts"]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        if c.network_mode.is_empty() || c.network_mode == "default" {
            c.network_mode = "bridge".into();
        }
        if let Some(other) = c.network_mode.strip_prefix("container:") {
            // Stored by id: the other container may be renamed.
            let o = self.db.get(other)?;
            c.network_mode = format!("container:{}", o.id);
            if !c.ports.is_empty() || req.publish_all {
                return Err(Error::Invalid(
                    "conflicting options: port publishing and the container network mode".into(),
                ));
            }
        } else if !["none", "host"].contains(&c.network_mode.as_str()) {
            // By name or id; stored as the name.
            c.network_mode = crate::network::get(&self.db, &c.network_mode)?.name;
        }
        if (c.ip.is_some() || !c.aliases.is_empty() || c.mac_address.is_some())
            && (["none", "host"].contains(&c.network_mode.as_str())
                || c.network_mode.starts_with("container:"))
        {
            return Err(Error::Invalid(format!(
                "--ip and --network-alias need a bridge network, not {:?}",
                c.network_mode
            )));
        }
        if c.ip.is_some() && c.network_mode == "bridge" {
            return Err(Error::Invalid(
                "user specified IP address is supported on user defined networks only".into(),
            ));
        }
        // Docker's rule: on the default bridge there is no DNS to answer an alias.
        if !c.aliases.is_empty() && c.network_mode == "bridge" {
            return Err(Error::Invalid(
                "network-scoped alias is supported only for containers in user defined networks"
                    .into(),
            ));
        }
        if req.publish_all {
            for p in &c.exposed_ports {
                let (port, proto) = p.split_once('/').unwrap_or((p.as_str(), "tcp"));
                let spec = format!("{port}/{proto}");
                if !c
                    .ports
                    .iter()
                    .any(|b| format!("{}/{}", b.container_port, b.proto) == spec)
                {
                    c.ports.extend(
                        net::ports::parse(&spec).map_err(|e| Error::Invalid(e.to_string()))?,
                    );
                }
            }
        }
        if !c.ports.is_empty() && ["none", "host"].contains(&c.network_mode.as_str()) {
            return Err(Error::Invalid(format!(
                "published ports need the bridge network, not {:?}",
                c.network_mode
            )));
        }
        c.health = health_config(&ic["Healthcheck"], &req.health);
        if c.auto_remove && c.restart.name != "no" && !c.restart.name.is_empty() {
            return Err(Error::Invalid(
                "conflicting options: cannot specify both --restart and --rm".into(),
            ));
        }
        if c.restart.name.is_empty() {
            c.restart.name = "no".into();
        }
        // Mounts: flags first, then the image's VOLUMEs not covered by one.
        let mut mounts = Vec::new();
        for v in &req.volumes {
            mounts.push(parse_volume_flag(v)?);
        }
        for v in &req.mounts {
            mounts.push(parse_mount_flag(v)?);
        }
        for t in &req.tmpfs {
            let (dst, opts) = t.split_once(':').unwrap_or((t.as_str(), ""));
            let mut m = MountConfig {
                kind: "tmpfs".into(),
                target: dst.into(),
                ..Default::default()
            };
            for o in opts.split(',').filter(|o| !o.is_empty()) {
                if let Some(v) = o.strip_prefix("size=") {
                    m.tmpfs_size = Some(parse_bytes(v).ok_or_else(|| {
                        Error::Invalid(format!("invalid tmpfs size {v:?} for {dst}"))
                    })? as u64);
                } else if let Some(v) = o.strip_prefix("mode=") {
                    m.tmpfs_mode = u32::from_str_radix(v, 8).ok();
                } else if o == "ro" {
                    m.readonly = true;
                }
            }
            mounts.push(m);
        }
        for target in ic["Volumes"]
            .as_object()
            .map(|o| o.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default()
        {
            if !mounts.iter().any(|m| m.target == target) {
                mounts.push(MountConfig {
                    kind: "volume".into(),
                    target,
                    anonymous: true,
                    copy_up: true,
                    ..Default::default()
                });
            }
        }
        for (i, m) in mounts.iter().enumerate() {
            crate::validate::mount(m)?;
            if mounts[..i].iter().any(|o| o.target == m.target) {
                return Err(Error::Invalid(format!(
                    "Duplicate mount point: {}",
                    m.target
                )));
            }
        }
        if let Some(opt) = c.security_opt.iter().find_map(|s| {
            s.strip_prefix("seccomp=")
                .or_else(|| s.strip_prefix("seccomp:"))
        }) {
            if opt != "unconfined" {
                let text = std::fs::read_to_string(opt)
                    .map_err(|e| Error::io("read seccomp profile", opt, e))?;
                serde_json::from_str::<Value>(&text)
                    .map_err(|e| Error::Invalid(format!("seccomp profile {opt}: {e}")))?;
                c.seccomp_profile = Some(text);
            }
        }
        for s in &c.security_opt {
            let known = s.starts_with("seccomp")
                || s.starts_with("no-new-privileges")
                || s.starts_with("label")
                || s.starts_with("apparmor");
            if !known {
                return Err(Error::Invalid(format!("invalid --security-opt: {s:?}")));
            }
        }
        crate::spec::check_caps(&c.cap_add).map_err(Error::Invalid)?;
        crate::spec::check_caps(&c.cap_drop).map_err(Error::Invalid)?;
        let name = match req.name {
            Some(n) => {
                let n = n.strip_prefix('/').unwrap_or(&n).to_string();
                check_name(&n)?;
                n
            }
            None => random_name(&self.db)?,
        };
        // Everything is checked: from here on things are made.
        for m in mounts.iter_mut().filter(|m| m.kind == "bind") {
            let p = std::fs::canonicalize(&m.source).or_else(|_| {
                // `-v` creates a missing host directory (Docker's behaviour).
                std::fs::create_dir_all(&m.source).and_then(|_| std::fs::canonicalize(&m.source))
            });
            m.source = p
                .map_err(|e| Error::io("create", &m.source, e))?
                .display()
                .to_string();
        }
        let id = crate::random_id();
        c.hostname = req.hostname.unwrap_or_else(|| id[..12].to_string());
        // Volumes named by the container exist before it does.
        for m in mounts.iter_mut().filter(|m| m.kind == "volume") {
            let v = crate::volumes::create(
                &self.paths,
                &self.db,
                (!m.anonymous).then_some(m.source.as_str()),
                "local",
                BTreeMap::new(),
                BTreeMap::new(),
                m.anonymous,
            )?;
            m.source = v.name;
        }
        c.mounts = mounts;
        let dir = self.paths.container(&id);
        let rec = Record {
            id: id.clone(),
            name,
            created: crate::time::now_rfc3339(),
            config: c,
            state: ContainerState {
                status: "created".into(),
                ..Default::default()
            },
        };
        // The record first, then its directory: a crash in between leaves a record that
        // `rm` removes, never a directory nothing names.
        let made = self
            .db
            .insert(&rec)
            .and_then(|()| std::fs::create_dir_all(&dir).map_err(|e| Error::io("create", &dir, e)));
        if let Err(e) = made {
            let _ = self.db.delete(&rec.id);
            let _ = std::fs::remove_dir_all(&dir);
            for m in rec.config.mounts.iter().filter(|m| m.anonymous) {
                let _ = crate::volumes::remove(&self.paths, &self.db, &m.source);
            }
            return Err(e);
        }
        let _ = self.db.event("container", "create", &id, &attrs(&rec));
        Ok(rec)
    }

    /// A container by name or id, with its state made true.
    pub fn get(&mut self, what: &str) -> Result<Record> {
        let r = self.db.get(what)?;
        self.observe(r)
    }

    /// All containers, with their states made true (removals cut short are finished).
    pub fn list(&mut self) -> Result<Vec<Record>> {
        let mut all = self.db.list()?;
        if all.iter().any(|r| r.state.status == REMOVING) {
            self.finish_removals(&all);
            all = self.db.list()?;
        }
        all.into_iter()
            .filter(|r| r.state.status != REMOVING)
            .map(|r| self.observe(r))
            .collect()
    }

    /// Finish the removals whose command died (no lock holder, no monitor at work).
    fn finish_removals(&mut self, all: &[Record]) {
        for r in all.iter().filter(|r| r.state.status == REMOVING) {
            if crate::process_alive(r.state.monitor_pid, r.state.monitor_start) {
                continue;
            }
            let Ok(Some(_lock)) = crate::lock::try_container(&self.paths, &r.id) else {
                continue;
            };
            let rt = self.paths.runtime_root();
            let _ = runtime::ops::delete(&rt, &r.id, true);
            let _ = crate::network::detach(&r.id, &r.state.ports, &r.state.endpoints);
            // Anonymous volumes stay (the rm may not have had -v): `volume prune` takes them.
            let _ = remove_files(&self.paths, &mut self.db, r, false);
        }
    }

    /// Make a record's state true: a dead monitor's container is running only if its init
    /// is; otherwise it exited (with 255, its status unknown).
    pub fn observe(&mut self, mut r: Record) -> Result<Record> {
        let rt = self.paths.runtime_root();
        let active = matches!(r.state.status.as_str(), "running" | "paused" | "restarting");
        if !active {
            return Ok(r);
        }
        let monitor = crate::process_alive(r.state.monitor_pid, r.state.monitor_start);
        // A live monitor records every transition of its container (and `pause` records
        // paused): its record is true without the runtime's state, the init's /proc entry
        // and the freezer, five file reads per container that made `ps` grow.
        if monitor && r.state.status != "restarting" {
            return Ok(r);
        }
        let rt_state = runtime::state::State::load(&rt, &r.id).ok();
        let init_alive = rt_state.as_ref().is_some_and(|s| s.init_alive());
        if let Some(s) = &rt_state {
            if init_alive {
                r.state.status = match s.status(&rt) {
                    runtime::state::Status::Paused => "paused".into(),
                    _ => "running".into(),
                };
            }
        }
        if monitor || init_alive {
            if !monitor {
                // Its monitor died: a new one takes it over (crate::adopt), unless another
                // command is at it already.
                match self.adopt(&r) {
                    Ok(true) => {
                        return self.db.get(&r.id).map(|n| Record {
                            state: n.state,
                            ..r
                        })
                    }
                    Ok(false) => {}
                    Err(e) => runtime::debug!("adopt {}: {e}", r.id),
                }
                if r.state.error.is_empty() {
                    r.state.error = "monitor exited: the container runs unsupervised".into();
                }
            }
            return Ok(r);
        }
        // Neither the monitor nor the container is there: a crash or a reboot.
        if rt_state.is_some() {
            let _ = runtime::ops::delete(&rt, &r.id, true);
        }
        if !r.state.ip.is_empty() || !r.state.endpoints.is_empty() {
            let _ = crate::network::detach(&r.id, &r.state.ports, &r.state.endpoints);
        }
        let st = self.db.update_state(&r.id, |s| {
            if matches!(s.status.as_str(), "running" | "paused" | "restarting") {
                s.status = "exited".into();
                s.pid = 0;
                s.exit_code = 255;
                s.finished_at = crate::time::now_rfc3339();
                s.error = "monitor exited".into();
                s.ip.clear();
                s.ports.clear();
                s.endpoints.clear();
            }
        })?;
        // Its restart policy still holds (255: the status died with the monitor).
        let again = r
            .config
            .restart
            .should_restart(255, st.manually_stopped, st.restart_count);
        r.state = st;
        if again {
            if let Ok(Some(lock)) = crate::lock::try_container(&self.paths, &r.id) {
                if self.start_locked(&r.id, "", lock).is_ok() {
                    return self.db.get(&r.id);
                }
            }
        }
        Ok(r)
    }

    /// Start a monitor that takes over a running container whose monitor died; false
    /// when another command holds the container.
    fn adopt(&mut self, r: &Record) -> Result<bool> {
        let Some(lock) = crate::lock::try_container(&self.paths, &r.id)? else {
            return Ok(false);
        };
        let mut stream = spawn_monitor(&self.paths, &r.id, "", &lock, true)?;
        drop(lock);
        self.await_start(r, &mut stream)?;
        Ok(true)
    }

    /// Start a container: spawn its monitor and wait until the process runs. With
    /// `attach` (`i`, `o`, `e`), the returned stream carries its stdio.
    pub fn start(&mut self, what: &str, attach_streams: &str) -> Result<(Record, UnixStream)> {
        let id = self.db.get(what)?.id;
        let lock = crate::lock::container(&self.paths, &id)?;
        self.start_locked(&id, attach_streams, lock)
    }

    /// `start` under the container's lock, which the monitor takes over.
    fn start_locked(
        &mut self,
        what: &str,
        attach_streams: &str,
        lock: crate::lock::Held,
    ) -> Result<(Record, UnixStream)> {
        let rec = self.get(what)?;
        if rec.state.status == REMOVING {
            return Err(Error::Conflict(format!(
                "removal of container {} is already in progress",
                rec.name
            )));
        }
        if matches!(
            rec.state.status.as_str(),
            "running" | "paused" | "restarting"
        ) {
            return Err(Error::Conflict(format!(
                "container {} is already {}",
                rec.name, rec.state.status
            )));
        }
        self.db.update_state(&rec.id, |s| {
            s.manually_stopped = false;
        })?;
        runtime::debug!("start {}: spawning the monitor", rec.id);
        let stream = spawn_monitor(&self.paths, &rec.id, attach_streams, &lock, false);
        // The monitor holds the lock now (the same open file), until the container runs.
        drop(lock);
        let mut stream = stream?;
        let res = self.await_start(&rec, &mut stream);
        if res.is_err() && rec.config.auto_remove {
            // `--rm`: a container that never started goes too (after its monitor is gone).
            let _ = self.wait_exit(&rec, Some(&mut stream), Some(Duration::from_secs(30)));
            if let Ok(r) = self.db.get(&rec.id) {
                let _ = remove_files(&self.paths, &mut self.db, &r, true);
            }
        }
        res?;
        let rec = self.db.get(&rec.id)?;
        Ok((rec, stream))
    }

    /// Read the monitor's first word: the container started, or why not.
    fn await_start(&mut self, rec: &Record, stream: &mut UnixStream) -> Result<()> {
        loop {
            match attach::recv(stream)
                .map_err(|e| Error::io("read from monitor", self.paths.socket(&rec.id), e))?
            {
                Some((attach::STARTED, _)) => {
                    runtime::debug!("start {}: running", rec.id);
                    return Ok(());
                }
                Some((attach::FAILED, p)) => {
                    let code = i32::from(p.first().copied().unwrap_or(125));
                    let message =
                        String::from_utf8_lossy(p.get(1..).unwrap_or_default()).into_owned();
                    return Err(Error::Start { code, message });
                }
                Some(_) => continue,
                None => {
                    return Err(Error::Start {
                        code: 125,
                        message: format!(
                            "the monitor of {} exited before the container started (see {})",
                            rec.name,
                            self.paths.container(&rec.id).join("monitor.log").display()
                        ),
                    })
                }
            }
        }
    }

    /// Send a signal (Docker's `kill`): the restart policy then leaves the container alone.
    pub fn kill(&mut self, what: &str, signal: &str) -> Result<Record> {
        let rec = self.get(what)?;
        if !matches!(rec.state.status.as_str(), "running" | "paused") {
            return Err(Error::Conflict(format!(
                "cannot kill container: {}: container {} is not running",
                what, rec.id
            )));
        }
        let sig = runtime::ops::parse_signal(signal)
            .map_err(|_| Error::Invalid(format!("invalid signal: {signal}")))?;
        self.db
            .update_state(&rec.id, |s| s.manually_stopped = true)?;
        runtime::ops::kill(&self.paths.runtime_root(), &rec.id, sig, false)?;
        let mut a = attrs(&rec);
        a.insert("signal".into(), (sig as i32).to_string());
        let _ = self.db.event("container", "kill", &rec.id, &a);
        Ok(rec)
    }

    /// Stop: the stop signal, then SIGKILL after `timeout` seconds (the container's
    /// `--stop-timeout`, else 10).
    pub fn stop(&mut self, what: &str, timeout: Option<i64>) -> Result<Record> {
        let id = self.db.get(what)?.id;
        let _lock = crate::lock::container(&self.paths, &id)?;
        self.stop_locked(&id, timeout)
    }

    /// Stop, then start again, as one operation (nothing else acts on it in between).
    pub fn restart(&mut self, what: &str, timeout: Option<i64>) -> Result<Record> {
        let id = self.db.get(what)?.id;
        let lock = crate::lock::container(&self.paths, &id)?;
        self.stop_locked(&id, timeout)?;
        Ok(self.start_locked(&id, "", lock)?.0)
    }

    fn stop_locked(&mut self, what: &str, timeout: Option<i64>) -> Result<Record> {
        let rec = self.get(what)?;
        if !matches!(
            rec.state.status.as_str(),
            "running" | "paused" | "restarting"
        ) {
            return Ok(rec);
        }
        self.db
            .update_state(&rec.id, |s| s.manually_stopped = true)?;
        let timeout = timeout.or(rec.config.stop_timeout).unwrap_or(10);
        let mut conn = attach::connect(&self.paths.socket(&rec.id)).ok();
        let rt = self.paths.runtime_root();
        if rec.state.status != "restarting" {
            let sig = runtime::ops::parse_signal(&rec.config.stop_signal)
                .unwrap_or(nix::sys::signal::Signal::SIGTERM);
            if timeout != 0 {
                let _ = runtime::ops::kill(&rt, &rec.id, sig, false);
            }
            if rec.state.status == "paused" {
                let _ = runtime::ops::resume(&rt, &rec.id);
            }
            let limit = if timeout < 0 {
                None
            } else {
                Some(Duration::from_secs(timeout as u64))
            };
            if !self.wait_exit(&rec, conn.as_mut(), limit)? {
                let _ = runtime::ops::kill(&rt, &rec.id, nix::sys::signal::Signal::SIGKILL, true);
                self.wait_exit(&rec, conn.as_mut(), Some(Duration::from_secs(30)))?;
            }
        } else {
            self.wait_exit(&rec, conn.as_mut(), Some(Duration::from_secs(30)))?;
        }
        let _ = self.db.event("container", "stop", &rec.id, &attrs(&rec));
        self.get(&rec.id)
    }

    /// Wait until the container's process and monitor are gone; false on timeout.
    fn wait_exit(
        &mut self,
        rec: &Record,
        conn: Option<&mut UnixStream>,
        limit: Option<Duration>,
    ) -> Result<bool> {
        let deadline = limit.map(|l| Instant::now() + l);
        if let Some(c) = conn {
            loop {
                let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
                if left == Some(Duration::ZERO) {
                    return Ok(false);
                }
                let _ = c.set_read_timeout(left);
                match attach::recv(c) {
                    Ok(Some((attach::EXITED, _))) | Ok(None) => break,
                    Ok(Some(_)) => {}
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) =>
                    {
                        return Ok(false)
                    }
                    Err(_) => break,
                }
            }
        }
        // Without a monitor to tell us (or after it did): poll until nothing runs.
        loop {
            let r = self.db.get(&rec.id);
            let r = match r {
                Ok(r) => self.observe(r)?,
                Err(Error::NoSuchContainer(_)) => return Ok(true),
                Err(e) => return Err(e),
            };
            let monitor = crate::process_alive(r.state.monitor_pid, r.state.monitor_start);
            let busy = matches!(r.state.status.as_str(), "running" | "paused" | "restarting");
            if !busy && !monitor {
                return Ok(true);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(false);
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Block until the container stops; its exit code.
    pub fn wait(&mut self, what: &str) -> Result<i32> {
        let rec = self.get(what)?;
        if matches!(
            rec.state.status.as_str(),
            "running" | "paused" | "restarting"
        ) {
            let mut conn = attach::connect(&self.paths.socket(&rec.id)).ok();
            self.wait_exit(&rec, conn.as_mut(), None)?;
        }
        Ok(self
            .db
            .get(&rec.id)
            .map(|r| r.state.exit_code)
            .unwrap_or(rec.state.exit_code))
    }

    /// Freeze or thaw.
    pub fn pause(&mut self, what: &str, pause: bool) -> Result<Record> {
        let id = self.db.get(what)?.id;
        let _lock = crate::lock::container(&self.paths, &id)?;
        let rec = self.get(&id)?;
        let rt = self.paths.runtime_root();
        let want = if pause { "running" } else { "paused" };
        if rec.state.status != want {
            return Err(Error::Conflict(format!(
                "container {} is not {}",
                rec.id,
                if pause { "running" } else { "paused" }
            )));
        }
        if pause {
            runtime::ops::pause(&rt, &rec.id)?;
        } else {
            runtime::ops::resume(&rt, &rec.id)?;
        }
        self.db.update_state(&rec.id, |s| {
            s.status = if pause { "paused" } else { "running" }.into()
        })?;
        let _ = self.db.event(
            "container",
            if pause { "pause" } else { "unpause" },
            &rec.id,
            &attrs(&rec),
        );
        Ok(rec)
    }

    /// Remove a container (`force` kills a running one; `volumes` removes its anonymous
    /// volumes).
    pub fn remove(&mut self, what: &str, force: bool, volumes: bool) -> Result<Record> {
        crate::reserve::release_if_low(&self.paths.root);
        let id = self.db.get(what)?.id;
        let lock = crate::lock::container(&self.paths, &id)?;
        let res = self.remove_locked(&id, force, volumes);
        drop(lock);
        res
    }

    fn remove_locked(&mut self, what: &str, force: bool, volumes: bool) -> Result<Record> {
        let rec = self.get(what)?;
        let busy = matches!(
            rec.state.status.as_str(),
            "running" | "paused" | "restarting"
        );
        if busy && !force {
            return Err(Error::Conflict(format!(
                "cannot remove container \"/{}\": container is {}: stop the container before removing or force remove",
                rec.name, rec.state.status
            )));
        }
        let rt = self.paths.runtime_root();
        if busy {
            self.db
                .update_state(&rec.id, |s| s.manually_stopped = true)?;
            let mut conn = attach::connect(&self.paths.socket(&rec.id)).ok();
            let _ = runtime::ops::kill(&rt, &rec.id, nix::sys::signal::Signal::SIGKILL, true);
            if rec.state.status == "paused" {
                let _ = runtime::ops::resume(&rt, &rec.id);
            }
            if !self.wait_exit(&rec, conn.as_mut(), Some(Duration::from_secs(30)))? {
                return Err(Error::Conflict(format!(
                    "container {} did not stop",
                    rec.id
                )));
            }
        }
        // A monitor still alive (it may be removing the container itself with --rm).
        let monitor = crate::process_alive(rec.state.monitor_pid, rec.state.monitor_start);
        if monitor {
            let deadline = Instant::now() + Duration::from_secs(10);
            while crate::process_alive(rec.state.monitor_pid, rec.state.monitor_start)
                && Instant::now() < deadline
            {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        match runtime::ops::delete(&rt, &rec.id, true) {
            Ok(()) | Err(runtime::Error::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
        if let Ok(r) = self.db.get(&rec.id) {
            if !r.state.ip.is_empty() || !r.state.ports.is_empty() || !r.state.endpoints.is_empty()
            {
                crate::network::detach(&r.id, &r.state.ports, &r.state.endpoints)?;
            }
        }
        if self.db.get(&rec.id).is_err() {
            return Ok(rec);
        }
        remove_files(&self.paths, &mut self.db, &rec, volumes)?;
        Ok(rec)
    }

    /// Rename a container.
    pub fn rename(&mut self, what: &str, new: &str) -> Result<()> {
        let rec = self.get(what)?;
        check_name(new)?;
        self.db.rename(&rec.id, new)?;
        let mut a = attrs(&rec);
        a.insert("oldName".into(), format!("/{}", rec.name));
        a.insert("name".into(), new.into());
        let _ = self.db.event("container", "rename", &rec.id, &a);
        Ok(())
    }

    /// Start the containers whose restart policy says so after a reboot (or after their
    /// monitors died). Returns the ids started.
    pub fn boot(&mut self) -> Result<Vec<(String, Result<()>)>> {
        let mut out = Vec::new();
        for r in self.db.list()? {
            let was_active = matches!(r.state.status.as_str(), "running" | "paused" | "restarting");
            let r = self.observe(r)?;
            let policy = r.config.restart.name.as_str();
            let wanted = match policy {
                "always" => true,
                "unless-stopped" => !r.state.manually_stopped,
                "on-failure" => was_active && !r.state.manually_stopped,
                _ => false,
            };
            if wanted && r.state.status == "exited" {
                let res = self.start(&r.id, "").map(|_| ());
                out.push((r.id, res));
            }
        }
        Ok(out)
    }
}

fn attrs(rec: &Record) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    a.insert("name".into(), rec.name.clone());
    a.insert("image".into(), rec.config.image.clone());
    for (k, v) in &rec.config.labels {
        a.insert(k.clone(), v.clone());
    }
    a
}

fn health_config(image: &Value, f: &HealthFlags) -> Option<HealthConfig> {
    if f.disable {
        return Some(HealthConfig {
            test: vec!["NONE".into()],
            ..Default::default()
        });
    }
    let mut h = if image.is_object() {
        HealthConfig {
            test: strings(&image["Test"]),
            interval: image["Interval"].as_i64().unwrap_or(0),
            timeout: image["Timeout"].as_i64().unwrap_or(0),
            start_period: image["StartPeriod"].as_i64().unwrap_or(0),
            retries: image["Retries"].as_u64().unwrap_or(0) as u32,
        }
    } else {
        HealthConfig::default()
    };
    if let Some(c) = &f.cmd {
        h.test = vec!["CMD-SHELL".into(), c.clone()];
    }
    if let Some(v) = f.interval {
        h.interval = v;
    }
    if let Some(v) = f.timeout {
        h.timeout = v;
    }
    if let Some(v) = f.start_period {
        h.start_period = v;
    }
    if let Some(v) = f.retries {
        h.retries = v;
    }
    (!h.test.is_empty()).then_some(h)
}

/// Remove a stopped container's files, anonymous volumes (with `volumes`), socket and
/// row. The root is unmounted first (it is mounted only in the monitor's namespace).
pub fn remove_files(paths: &Paths, db: &mut Db, rec: &Record, volumes: bool) -> Result<()> {
    // Crash-safe: marked first, the record goes last, so a removal cut short by a kill
    // leaves a "removing" record that the next listing finishes (`finish_removals`),
    // never a directory that no record names.
    crate::reserve::release_if_low(&paths.root);
    match db.update_state(&rec.id, |s| s.status = REMOVING.into()) {
        Ok(_) => {}
        Err(Error::NoSuchContainer(_)) => return Ok(()),
        Err(e) => return Err(e),
    }
    let dir = paths.container(&rec.id);
    let _ = nix::mount::umount2(&dir.join("merged"), nix::mount::MntFlags::MNT_DETACH);
    let _ = std::fs::remove_file(paths.socket(&rec.id));
    if let Err(e) = std::fs::remove_dir_all(&dir) {
        if e.kind() != std::io::ErrorKind::NotFound {
            // The record stays, marked: the next `rm` or listing tries again.
            return Err(Error::io("remove", &dir, e));
        }
    }
    db.delete(&rec.id)?;
    crate::lock::forget(paths, &rec.id);
    let _ = db.event("container", "destroy", &rec.id, &attrs(rec));
    // Its anonymous volumes last: once the record is gone nothing uses them (a crash
    // here leaves them dangling, listed and prunable).
    let mut errors = Vec::new();
    if volumes {
        for m in rec.config.mounts.iter().filter(|m| m.anonymous) {
            if let Err(e) = crate::volumes::remove(paths, db, &m.source) {
                errors.push(e.to_string());
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(errors.join("; ")))
    }
}

/// The status of a container whose removal began (Docker's "Removal In Progress").
pub const REMOVING: &str = "removing";

/// Start `quai __monitor` for a container; returns our end of its first connection.
fn spawn_monitor(
    paths: &Paths,
    id: &str,
    attach_streams: &str,
    lock: &crate::lock::Held,
    adopt: bool,
) -> Result<UnixStream> {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let (ours, theirs) = UnixStream::pair().map_err(|e| Error::io("socketpair", "monitor", e))?;
    let log = paths.container(id).join("monitor.log");
    let errf = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .map_err(|e| Error::io("open", &log, e))?;
    let fd = theirs.as_raw_fd();
    let lock_fd = lock.raw();
    // Our own binary through the magic link: after the re-exec from the read-only copy
    // (runtime::selfexe) no path in any mount namespace names it.
    let mut cmd = std::process::Command::new("/proc/self/exe");
    cmd.arg0("quai");
    cmd.arg(crate::monitor::ARG)
        .arg("--root")
        .arg(&paths.root)
        .arg("--run")
        .arg(&paths.run);
    if adopt {
        cmd.arg("--adopt");
    }
    if !attach_streams.is_empty() {
        cmd.arg("--attach").arg(attach_streams);
        // The attached terminal's size, so the container's pty has it from the start.
        if let Some(p) = attach::winsize_payload() {
            let rows = u16::from_be_bytes([p[0], p[1]]);
            let cols = u16::from_be_bytes([p[2], p[3]]);
            cmd.arg("--tty-size").arg(format!("{rows}x{cols}"));
        }
    }
    cmd.arg(id)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(errf);
    // SAFETY: the closure only calls async-signal-safe functions (fcntl, dup2, setsid).
    unsafe {
        cmd.pre_exec(move || {
            // Out of the way first: either may sit on the other's target number.
            let (a, b) = (
                libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 10),
                libc::fcntl(lock_fd, libc::F_DUPFD_CLOEXEC, 10),
            );
            if a < 0 || b < 0 || libc::dup2(a, 3) < 0 || libc::dup2(b, crate::lock::MONITOR_FD) < 0
            {
                return Err(std::io::Error::last_os_error());
            }
            libc::setsid();
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::io("start monitor", &log, e))?;
    drop(theirs);
    // The first process forks the monitor and exits at once.
    let _ = child.wait();
    Ok(ours)
}
