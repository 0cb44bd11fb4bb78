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
use crate::config::ContainerState;
use crate::config::MountKind;
use crate::config::{ContainerStatus, NetworkMode, RestartName};
use crate::db::{Db, Record};
pub use crate::resolve::{parse_bytes, parse_volume_flag, CreateRequest, HealthFlags};
use crate::{Error, Paths, Result};

/// The engine as a CLI process holds it.
pub struct Engine {
    /// Root and run dir.
    pub(crate) paths: Paths,
    /// The database.
    pub(crate) db: Db,
    /// The image store, opened on first use and kept (see `Engine::images`).
    pub(crate) image_store: std::cell::RefCell<Option<image::store::ImageStore>>,
}

/// Docker's name characters (containers and networks): `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub(crate) fn name_chars_ok(n: &str) -> bool {
    n.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

/// Docker's container name rule.
pub fn check_name(n: &str) -> Result<()> {
    if n.len() >= 2 && name_chars_ok(n) {
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
        let id = crate::random_id()?;
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
    Ok(format!("quai_{}", &crate::random_id()?[..12]))
}

impl Engine {
    /// Open the engine's state.
    pub fn open(root: &Path, run: &Path) -> Result<Engine> {
        crate::reserve::ensure(root);
        Ok(Engine {
            paths: Paths::new(root, run),
            db: Db::open(root)?,
            image_store: Default::default(),
        })
    }

    /// Create a container from an image.
    pub fn create(&mut self, req: CreateRequest) -> Result<Record> {
        self.create_with_warnings(req).map(|(r, _)| r)
    }

    /// Create a container from an image; also Docker's warnings about what this machine
    /// cannot apply of it (the setting dropped), for the client to show.
    pub fn create_with_warnings(&mut self, req: CreateRequest) -> Result<(Record, Vec<String>)> {
        runtime::debug!("create: {}", req.image);
        let images = self.images()?;
        let image_id = images.resolve(&req.image)?;
        let img = images.config(&image_id)?;
        drop(images);
        if let Some(p) = &req.platform {
            crate::validate::image_platform(&req.image, p, &img)?;
        }
        let ic = img.get("config").cloned().unwrap_or(Value::Null);
        let mut c = crate::resolve::resolve(&req, &ic)?;
        c.image = req.image.clone();
        c.image_id = image_id.to_string();
        crate::validate::host_resources(&c.resources)?;
        if c.cgroup_manager.is_empty() {
            c.cgroup_manager = crate::cgroup_manager()?;
        }
        if !c.userns_mode.is_empty() || !c.uid_map.is_empty() || !c.gid_map.is_empty() {
            let taken: Vec<crate::config::IdMap> = self
                .db
                .list()?
                .iter()
                .flat_map(|r| r.config.uid_map.iter().chain(&r.config.gid_map).copied())
                .collect();
            crate::userns::resolve(&mut c, &taken, &self.paths.run)?;
        }
        // Other containers named by the options, stored by id (they may be renamed).
        for (ipc, mode) in [(true, &mut c.ipc_mode), (false, &mut c.pid_mode)] {
            if let Some(other) = mode.strip_prefix("container:") {
                let o = self.db.get(other)?;
                if ipc && o.config.ipc_mode != "shareable" {
                    return Err(Error::Invalid(format!(
                        "can't join IPC of container {}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)",
                        o.id
                    )));
                }
                *mode = format!("container:{}", o.id);
            }
        }
        for l in c.links.iter_mut() {
            let o = self.db.get(&l.container).map_err(|e| {
                Error::Invalid(format!("could not get container for {}: {e}", l.container))
            })?;
            l.container = o.id;
        }
        let mut from_others = Vec::new();
        for v in &c.volumes_from {
            let (name, mode) = match v.rsplit_once(':') {
                Some((n, m)) => (n, Some(m)),
                None => (v.as_str(), None),
            };
            let readonly = match mode {
                None | Some("rw") => None,
                Some("ro") => Some(true),
                Some(m) => return Err(Error::Invalid(format!("invalid mode: {m}"))),
            };
            let o = self.db.get(name)?;
            for m in o
                .config
                .mounts
                .iter()
                .filter(|m| m.kind != MountKind::Tmpfs)
            {
                let mut m = m.clone();
                // The volume stays the other container's: `rm -v` of this one keeps it.
                m.anonymous = false;
                m.copy_up = false;
                m.origin = Some(crate::config::MountOrigin::VolumesFrom);
                if let Some(ro) = readonly {
                    m.readonly = ro;
                }
                from_others.push(m);
            }
        }
        let warnings = crate::validate::host_warnings(&mut c)?;
        let mut mounts = std::mem::take(&mut c.mounts);
        // `--volumes-from`: the other containers' mounts, unless a mount of this one has
        // the target already.
        for m in from_others {
            if !mounts.iter().any(|x| x.target == m.target) {
                mounts.push(m);
            }
        }
        match &c.network_mode {
            NetworkMode::Container(other) => {
                // Stored by id: the other container may be renamed.
                let o = self.db.get(other)?;
                c.network_mode = NetworkMode::Container(o.id);
            }
            NetworkMode::Network(n) => {
                // By name or id; stored as the name.
                let net = crate::network::get(&self.db, n)?;
                // dockerd's `validateEndpointSettings`: `--ip` parses and is on the network.
                if let Some(ip) = crate::network::parse_ip(c.ip.as_deref())? {
                    if !net.subnet()?.contains(ip) {
                        return Err(Error::Invalid(format!(
                            "invalid config for network {}: invalid endpoint settings:\nno configured subnet or ip-range contain the IP address {ip}",
                            net.name
                        )));
                    }
                }
                c.network_mode = NetworkMode::Network(net.name);
            }
            NetworkMode::Bridge | NetworkMode::None | NetworkMode::Host => {}
        }
        if let Some(opt) = c.security_opt.iter().find_map(|s| {
            s.strip_prefix("seccomp=")
                .or_else(|| s.strip_prefix("seccomp:"))
        }) {
            if opt.trim_start().starts_with('{') {
                // The profile itself: docker's CLI reads the file and sends its JSON.
                serde_json::from_str::<Value>(opt)
                    .map_err(|e| Error::Invalid(format!("decoding seccomp profile failed: {e}")))?;
                c.seccomp_profile = Some(opt.to_string());
            } else if opt != "unconfined" && opt != "builtin" {
                let text = std::fs::read_to_string(opt)
                    .map_err(|e| Error::io("read seccomp profile", opt, e))?;
                serde_json::from_str::<Value>(&text)
                    .map_err(|e| Error::Invalid(format!("seccomp profile {opt}: {e}")))?;
                c.seccomp_profile = Some(text);
            }
        }
        let name = match req.name {
            Some(n) => {
                let n = n.strip_prefix('/').unwrap_or(&n).to_string();
                check_name(&n)?;
                // Taken names are refused before anything is made (the insert below
                // refuses a name taken since).
                self.db.check_name_free(&n)?;
                n
            }
            None => random_name(&self.db)?,
        };
        // Everything is checked: from here on things are made.
        for m in mounts.iter_mut().filter(|m| m.kind == MountKind::Bind) {
            let p = std::fs::canonicalize(&m.source).or_else(|_| {
                // `-v` creates a missing host directory (Docker's behaviour).
                std::fs::create_dir_all(&m.source).and_then(|_| std::fs::canonicalize(&m.source))
            });
            m.source = p
                .map_err(|e| Error::io("create", &m.source, e))?
                .display()
                .to_string();
        }
        let id = crate::random_id()?;
        // dockerd's initializeNetworking: a container in another's network namespace
        // takes that one's host and domain names.
        if c.hostname.is_empty() {
            if let Some(other) = c.network_mode.container() {
                if let Ok(o) = self.db.get(other) {
                    c.hostname = o.config.hostname.clone();
                    c.domainname = o.config.domainname.clone();
                }
            }
        }
        if c.hostname.is_empty() {
            c.hostname = id[..12].to_string();
        }
        // Volumes named by the container exist before it does.
        for m in mounts.iter_mut().filter(|m| m.kind == MountKind::Volume) {
            // `--mount`'s volume-label and volume-opt, for a volume it creates.
            let (labels, options) = match &m.origin {
                Some(crate::config::MountOrigin::Mount(spec)) => spec.volume_settings(),
                _ => (BTreeMap::new(), BTreeMap::new()),
            };
            let v = crate::volumes::create(
                &self.paths,
                &self.db,
                (!m.anonymous).then_some(m.source.as_str()),
                "local",
                labels,
                options,
                m.anonymous,
            )?;
            // An anonymous volume stays one when another container mounts it by name
            // (docker compose hands a recreated container its predecessor's): `rm -v`
            // removes it with its last user, as dockerd does.
            // (Not one borrowed with `--volumes-from`: that stays its lender's.)
            if v.anonymous && m.origin != Some(crate::config::MountOrigin::VolumesFrom) {
                m.anonymous = true;
            }
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
                status: ContainerStatus::Created,
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
        let _ = self
            .db
            .event("container", "create", &id, &rec.event_attrs());
        Ok((rec, warnings))
    }

    /// A container by name or id, with its state made true.
    pub fn get(&mut self, what: &str) -> Result<Record> {
        let r = self.db.get(what)?;
        self.observe(r)
    }

    /// All containers, with their states made true (removals cut short are finished).
    pub fn list(&mut self) -> Result<Vec<Record>> {
        let mut all = self.db.list()?;
        if all
            .iter()
            .any(|r| r.state.status == ContainerStatus::Removing)
        {
            self.finish_removals(&all);
            all = self.db.list()?;
        }
        all.into_iter()
            .filter(|r| r.state.status != ContainerStatus::Removing)
            .map(|r| self.observe(r))
            .collect()
    }

    /// Finish the removals whose command died (no lock holder, no monitor at work).
    fn finish_removals(&mut self, all: &[Record]) {
        for r in all
            .iter()
            .filter(|r| r.state.status == ContainerStatus::Removing)
        {
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
            let _ = crate::removal::remove_files(&self.paths, &mut self.db, r, false);
        }
    }

    /// Make a record's state true: a dead monitor's container is running only if its init
    /// is; otherwise it exited (with 255, its status unknown).
    pub fn observe(&mut self, mut r: Record) -> Result<Record> {
        let rt = self.paths.runtime_root();
        let active = r.state.status.is_active();
        if !active {
            return Ok(r);
        }
        let monitor = crate::process_alive(r.state.monitor_pid, r.state.monitor_start);
        // A live monitor records every transition of its container (and `pause` records
        // paused): its record is true without the runtime's state, the init's /proc entry
        // and the freezer, five file reads per container that made `ps` grow.
        if monitor && r.state.status != ContainerStatus::Restarting {
            return Ok(r);
        }
        let rt_state = runtime::state::State::load(&rt, &r.id).ok();
        let init_alive = rt_state.as_ref().is_some_and(|s| s.init_alive());
        if let Some(s) = &rt_state {
            if init_alive {
                r.state.status = match s.status(&rt) {
                    runtime::state::Status::Paused => ContainerStatus::Paused,
                    _ => ContainerStatus::Running,
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
            if s.status.is_active() {
                s.status = ContainerStatus::Exited;
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
        let mut stream = crate::launch::spawn(
            &self.paths,
            &crate::launch::MonitorArgs::new(&self.paths, &r.id, "", true),
            &lock,
        )?;
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
        if rec.state.status == ContainerStatus::Removing {
            return Err(Error::Conflict(format!(
                "removal of container {} is already in progress",
                rec.name
            )));
        }
        if rec.state.status.is_active() {
            return Err(Error::Conflict(format!(
                "container {} is already {}",
                rec.name, rec.state.status
            )));
        }
        self.db.update_state(&rec.id, |s| {
            s.manually_stopped = false;
        })?;
        runtime::debug!("start {}: spawning the monitor", rec.id);
        let stream = crate::launch::spawn(
            &self.paths,
            &crate::launch::MonitorArgs::new(&self.paths, &rec.id, attach_streams, false),
            &lock,
        );
        // The monitor holds the lock now (the same open file), until the container runs.
        drop(lock);
        let mut stream = stream?;
        let res = self.await_start(&rec, &mut stream);
        if res.is_err() && rec.config.auto_remove {
            // `--rm`: a container that never started goes too (after its monitor is gone).
            let _ = self.wait_exit(&rec, Some(&mut stream), Some(Duration::from_secs(30)));
            if let Ok(r) = self.db.get(&rec.id) {
                let _ = crate::removal::remove_files(&self.paths, &mut self.db, &r, true);
            }
        }
        res?;
        // A short-lived `--rm` container may have run, exited and been removed by its
        // monitor already: its exit still waits on the stream.
        let rec = match self.db.get(&rec.id) {
            Ok(r) => r,
            Err(Error::NoSuchContainer(_)) => rec,
            Err(e) => return Err(e),
        };
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
        if !rec.state.status.is_up() {
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
        let mut a = rec.event_attrs();
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
        if !rec.state.status.is_active() {
            return Ok(rec);
        }
        self.db
            .update_state(&rec.id, |s| s.manually_stopped = true)?;
        let timeout = timeout.or(rec.config.stop_timeout).unwrap_or(10);
        let mut conn = attach::connect(&self.paths.socket(&rec.id)).ok();
        let rt = self.paths.runtime_root();
        if rec.state.status != ContainerStatus::Restarting {
            let sig = runtime::ops::parse_signal(&rec.config.stop_signal)
                .unwrap_or(nix::sys::signal::Signal::SIGTERM);
            if timeout != 0 {
                let _ = runtime::ops::kill(&rt, &rec.id, sig, false);
            }
            if rec.state.status == ContainerStatus::Paused {
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
        let _ = self
            .db
            .event("container", "stop", &rec.id, &rec.event_attrs());
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
            let busy = r.state.status.is_active();
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
        if rec.state.status.is_active() {
            let mut conn = attach::connect(&self.paths.socket(&rec.id)).ok();
            self.wait_exit(&rec, conn.as_mut(), None)?;
        }
        Ok(match self.db.get(&rec.id) {
            Ok(r) => r.state.exit_code,
            Err(_) => self.exit_of_removed(&rec),
        })
    }

    /// How a container that is gone (removed as it exited: `--rm`) ended: its last `die`
    /// event's exit code (`rec`: a record of it from before).
    pub fn exit_of_removed(&self, rec: &Record) -> i32 {
        let since = crate::time::parse_rfc3339(&rec.created).unwrap_or(0);
        self.db
            .events(0, since)
            .unwrap_or_default()
            .iter()
            .rev()
            .find(|e| e.id == rec.id && e.action == "die")
            .and_then(|e| e.attributes.get("exitCode")?.parse().ok())
            .unwrap_or(rec.state.exit_code)
    }

    /// Freeze or thaw.
    pub fn pause(&mut self, what: &str, pause: bool) -> Result<Record> {
        let id = self.db.get(what)?.id;
        let _lock = crate::lock::container(&self.paths, &id)?;
        let rec = self.get(&id)?;
        let rt = self.paths.runtime_root();
        let (want, then) = if pause {
            (ContainerStatus::Running, ContainerStatus::Paused)
        } else {
            (ContainerStatus::Paused, ContainerStatus::Running)
        };
        if rec.state.status != want {
            return Err(Error::Conflict(format!(
                "container {} is not {want}",
                rec.id
            )));
        }
        if pause {
            runtime::ops::pause(&rt, &rec.id)?;
        } else {
            runtime::ops::resume(&rt, &rec.id)?;
        }
        self.db.update_state(&rec.id, |s| s.status = then)?;
        let _ = self.db.event(
            "container",
            if pause { "pause" } else { "unpause" },
            &rec.id,
            &rec.event_attrs(),
        );
        Ok(rec)
    }

    /// Remove a container (`force` kills a running one; `volumes` removes its anonymous
    /// volumes).
    pub fn remove(&mut self, what: &str, force: bool, volumes: bool) -> Result<Record> {
        let id = self.db.get(what)?.id;
        let lock = crate::lock::container(&self.paths, &id)?;
        let res = self.remove_locked(&id, force, volumes);
        drop(lock);
        res
    }

    fn remove_locked(&mut self, what: &str, force: bool, volumes: bool) -> Result<Record> {
        let rec = self.get(what)?;
        let busy = rec.state.status.is_active();
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
            if rec.state.status == ContainerStatus::Paused {
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
        crate::removal::remove_files(&self.paths, &mut self.db, &rec, volumes)?;
        Ok(rec)
    }

    /// Rename a container.
    pub fn rename(&mut self, what: &str, new: &str) -> Result<()> {
        let rec = self.get(what)?;
        check_name(new)?;
        self.db.rename(&rec.id, new)?;
        let mut a = rec.event_attrs();
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
            let was_active = r.state.status.is_active();
            let r = self.observe(r)?;
            let wanted = match r.config.restart.name {
                RestartName::Always => true,
                RestartName::UnlessStopped => !r.state.manually_stopped,
                RestartName::OnFailure => was_active && !r.state.manually_stopped,
                RestartName::No => false,
            };
            if wanted && r.state.status == ContainerStatus::Exited {
                let res = self.start(&r.id, "").map(|_| ());
                out.push((r.id, res));
            }
        }
        Ok(out)
    }
}
