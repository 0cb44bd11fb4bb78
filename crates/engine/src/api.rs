//! The engine's door for networks, volumes, events, images and the container facts a
//! client shows (`inspect`'s paths, `top`, `stats`, `cp`, `attach`): clients (the CLI,
//! later the Docker API, compose, the builder, the node agent) call these methods and
//! never reach the engine's database, paths or the runtime themselves.

use std::collections::BTreeMap;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use crate::db::{Event, Record, Volume};
use crate::lifecycle::Engine;
use crate::network::{CreateArgs, Network};
use crate::{Error, Result};

/// The engine's image store: the one it keeps, or one of its own when that is busy.
pub(crate) enum StoreRef<'a> {
    Kept(std::cell::RefMut<'a, image::store::ImageStore>),
    Own(image::store::ImageStore),
}

impl std::ops::Deref for StoreRef<'_> {
    type Target = image::store::ImageStore;
    fn deref(&self) -> &image::store::ImageStore {
        match self {
            StoreRef::Kept(s) => s,
            StoreRef::Own(s) => s,
        }
    }
}

impl std::ops::DerefMut for StoreRef<'_> {
    fn deref_mut(&mut self) -> &mut image::store::ImageStore {
        match self {
            StoreRef::Kept(s) => s,
            StoreRef::Own(s) => s,
        }
    }
}

impl Engine {
    /// The state root (`--root`).
    pub fn root(&self) -> &Path {
        &self.paths.root
    }

    /// The run dir (`QUAI_RUN_DIR`).
    pub fn run_dir(&self) -> &Path {
        &self.paths.run
    }

    /// A container's json-file log.
    pub fn log_path(&self, id: &str) -> PathBuf {
        self.paths.log(id)
    }

    /// A container's directory (its `/etc/hosts`, `hostname`, `resolv.conf`, layer).
    pub fn container_dir(&self, id: &str) -> PathBuf {
        self.paths.container(id)
    }

    /// Bytes a container wrote to its own layer.
    pub fn container_size(&self, id: &str) -> u64 {
        crate::volumes::dir_size(&self.paths.container(id).join("upper"))
    }

    /// A container's `SizeRw` and `SizeRootFs`: what it wrote to its own layer, and that
    /// with its image (`images`: [`Engine::image_sizes`]).
    pub fn container_sizes(
        &self,
        r: &Record,
        images: &std::collections::HashMap<String, u64>,
    ) -> (u64, u64) {
        let rw = self.container_size(&r.id);
        (
            rw,
            rw + images.get(&r.config.image_id).copied().unwrap_or(0),
        )
    }

    /// Each image's size, by id (a container's `SizeRootFs` is its layer's and its
    /// image's).
    pub fn image_sizes(&self) -> Result<std::collections::HashMap<String, u64>> {
        Ok(self
            .image_list()?
            .into_iter()
            .map(|i| (i.id.to_string(), i.size))
            .collect())
    }

    /// Records as stored, without checking on their processes (cheap; `list` is the
    /// one that makes states true).
    pub fn records(&self) -> Result<Vec<Record>> {
        self.db.list()
    }

    /// The id of a container by name, id or id prefix.
    pub fn resolve(&self, what: &str) -> Result<String> {
        Ok(self.db.get(what)?.id)
    }

    /// The pids of a running container's processes (host pids).
    pub fn pids(&self, id: &str) -> Result<Vec<i32>> {
        Ok(runtime::ops::pids(&self.paths.runtime_root(), id)?)
    }

    /// A running container's runtime state (its cgroups, for `stats`).
    pub fn runtime_state(&self, id: &str) -> Option<runtime::state::State> {
        runtime::state::State::load(&self.paths.runtime_root(), id).ok()
    }

    /// Something that forwards a signal to a container's init (an attached client's ^C).
    pub fn signaller(&self, id: &str) -> impl Fn(nix::sys::signal::Signal) + 'static {
        let (rt, id) = (self.paths.runtime_root(), id.to_string());
        move |sig| {
            let _ = runtime::ops::kill(&rt, &id, sig, false);
        }
    }

    /// A connection to a running container's monitor, to attach to its stdio.
    pub fn attach_stream(&self, id: &str) -> Result<UnixStream> {
        let p = self.paths.socket(id);
        crate::attach::connect(&p).map_err(|e| Error::io("connect to the monitor at", p, e))
    }

    /// A container's root filesystem as `cp` reads and writes it: the running one's
    /// through `/proc/PID/root`, a stopped one's mounted in a private mount namespace of
    /// this process (which must not be shared with anything that outlives it).
    pub fn rootfs_for_copy(&self, r: &Record) -> Result<PathBuf> {
        if r.state.status.is_up() {
            return Ok(PathBuf::from(format!("/proc/{}/root", r.state.pid)));
        }
        crate::rootfs::private_mount_namespace()?;
        let store = image::store::ImageStore::open(&self.paths.root)?;
        let id: content::Digest = r
            .config
            .image_id
            .parse()
            .map_err(|e| Error::Corrupt(format!("container {} image id: {e}", r.id)))?;
        let dir = self.paths.container(&r.id);
        let ms = store.snapshot(&id, &dir)?;
        let merged = dir.join("merged");
        crate::rootfs::mount_overlay(&ms, &merged)?;
        Ok(merged)
    }

    /// The image store under the same root.
    ///
    /// The store is opened once and kept: a build asks it dozens of things, and opening
    /// `state.db` with its checks costs about a millisecond. A caller that asks while
    /// another part of the same call holds it gets a store of its own.
    pub(crate) fn images(&self) -> Result<StoreRef<'_>> {
        match self.image_store.try_borrow_mut() {
            Ok(mut slot) => {
                if slot.is_none() {
                    *slot = Some(image::store::ImageStore::open(&self.paths.root)?);
                }
                match std::cell::RefMut::filter_map(slot, Option::as_mut) {
                    Ok(s) => Ok(StoreRef::Kept(s)),
                    Err(_) => Ok(StoreRef::Own(image::store::ImageStore::open(
                        &self.paths.root,
                    )?)),
                }
            }
            Err(_) => Ok(StoreRef::Own(image::store::ImageStore::open(
                &self.paths.root,
            )?)),
        }
    }

    /// Before removing images on a nearly full disk: room for the state database.
    pub fn make_room(&self) {
        crate::reserve::release_if_low(&self.paths.root);
    }

    /// All networks, the default first.
    pub fn networks(&self) -> Result<Vec<Network>> {
        crate::network::list(&self.db)
    }

    /// A network by name or id (prefix).
    pub fn network(&self, what: &str) -> Result<Network> {
        crate::network::get(&self.db, what)
    }

    /// Route another cluster node's pod range (`cidr`) through that node (`via`).
    pub fn cluster_route(&self, cidr: &str, via: &str) -> Result<()> {
        Ok(net::services::route(cidr, via)?)
    }

    /// Whether `network`'s bridge is up (it comes with the network's first container).
    pub fn network_up(&self, network: &str) -> Result<bool> {
        Ok(self
            .networks()?
            .iter()
            .any(|n| n.name == network && net::bridge::link_exists(&n.bridge)))
    }

    /// Route the cluster's Services (cluster IPs and node ports to ready endpoints) in
    /// quai's table, exactly these, with the service range routed through `network`'s
    /// bridge.
    pub fn cluster_services(
        &self,
        ports: &[net::services::ServicePort],
        service_cidr: &str,
        network: &str,
    ) -> Result<()> {
        let n = self
            .networks()?
            .into_iter()
            .find(|n| n.name == network)
            .ok_or_else(|| Error::Invalid(format!("network {network} not found")))?;
        Ok(net::services::apply(ports, service_cidr, &n.bridge)?)
    }

    /// `network create`.
    pub fn network_create(&self, a: CreateArgs<'_>) -> Result<Network> {
        crate::network::create(&self.db, a)
    }

    /// `network connect`.
    pub fn network_connect(
        &mut self,
        net: &str,
        ctr: &str,
        aliases: Vec<String>,
        ip: Option<String>,
    ) -> Result<()> {
        crate::network::connect(&self.paths, &mut self.db, net, ctr, aliases, ip)
    }

    /// `network disconnect`.
    pub fn network_disconnect(&mut self, net: &str, ctr: &str) -> Result<()> {
        crate::network::disconnect(&self.paths, &mut self.db, net, ctr)
    }

    /// `network rm`.
    pub fn network_remove(&self, what: &str) -> Result<Network> {
        crate::network::remove(&self.paths, &self.db, what)
    }

    /// The containers that use a network now.
    pub fn network_users(&self, n: &Network) -> Result<Vec<String>> {
        crate::network::active_users(&self.db, n)
    }

    /// `network prune`: user networks no container uses that pass the filters (`label`,
    /// `label!`, `until`); their names.
    pub fn network_prune(&self, f: &crate::filters::Filters) -> Result<Vec<String>> {
        f.check_prune(&[])?;
        let mut gone = Vec::new();
        for n in self.networks()? {
            if n.name != "bridge"
                && self.network_users(&n)?.is_empty()
                && f.prune_match(&n.labels, &n.created)?
            {
                self.network_remove(&n.name)?;
                gone.push(n.name);
            }
        }
        Ok(gone)
    }

    /// `volume create`.
    pub fn volume_create(
        &self,
        name: Option<&str>,
        driver: &str,
        labels: BTreeMap<String, String>,
        options: BTreeMap<String, String>,
    ) -> Result<Volume> {
        crate::volumes::create(&self.paths, &self.db, name, driver, labels, options, false)
    }

    /// All volumes.
    pub fn volumes(&self) -> Result<Vec<Volume>> {
        self.db.volumes()
    }

    /// A volume by name.
    pub fn volume(&self, name: &str) -> Result<Option<Volume>> {
        self.db.volume(name)
    }

    /// `volume rm`.
    pub fn volume_remove(&self, name: &str) -> Result<()> {
        crate::volumes::remove(&self.paths, &self.db, name)
    }

    /// `volume prune`: unused volumes that pass the filters (anonymous ones only unless
    /// `all=true`; `label`, `label!`, `until`); their names and the bytes they held.
    pub fn volume_prune(&self, f: &crate::filters::Filters) -> Result<(Vec<String>, u64)> {
        crate::volumes::prune(&self.paths, &self.db, f)
    }

    /// The containers that use a volume.
    pub fn volume_users(&self, name: &str) -> Result<Vec<String>> {
        crate::volumes::users(&self.db, name)
    }

    /// Where a volume's data is on the host (`Mountpoint`).
    pub fn volume_mountpoint(&self, name: &str) -> PathBuf {
        self.paths.volume_data(name)
    }

    /// Bytes in a volume.
    pub fn volume_size(&self, name: &str) -> u64 {
        crate::volumes::dir_size(&self.paths.volume_data(name))
    }

    /// The newest event's sequence number.
    pub fn last_event(&self) -> Result<i64> {
        self.db.last_event()
    }

    /// Events after sequence number `after`, at or after `since` (nanoseconds).
    pub fn events(&self, after: i64, since: i64) -> Result<Vec<Event>> {
        self.db.events(after, since)
    }
}
