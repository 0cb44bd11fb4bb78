//! The builder of one stage: each step as a layer (from the cache or made: RUN in a
//! container, COPY/ADD/WORKDIR written directly) or a config edit, and the export.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use content::Digest;
use dockerfile::build::{Base, Op, Step};
use engine::config::NetworkMode;
use engine::lifecycle::Engine;
use image::store::LayerDesc;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

use crate::context::{self, Context, Origin};
use crate::ignore::Ignore;
use crate::sources::{
    download, flatten_into, git_checkout, human_bytes, is_git, is_url, tempdir_in,
};
use crate::{
    copy, image_config, mounts, run, sha, BuildRequest, EngineImages, Error, Event, Progress, State,
};

/// What the builders of one build share.
pub(crate) struct Common<'a> {
    pub(crate) req: &'a BuildRequest,
    pub(crate) ctx: &'a Context,
    pub(crate) counter: &'a AtomicUsize,
    pub(crate) context_loaded: &'a AtomicBool,
    pub(crate) used: &'a std::sync::Mutex<Vec<(String, Digest)>>,
}

impl<'a> Builder<'a> {
    pub(crate) fn new(
        eng: &'a mut Engine,
        progress: &'a mut dyn Progress,
        c: &Common<'a>,
    ) -> Builder<'a> {
        Builder {
            eng,
            req: c.req,
            ctx: c.ctx,
            progress,
            counter: c.counter,
            vertex: 0,
            context_loaded: c.context_loaded,
            stage_no_cache: c.req.no_cache,
            used: c.used,
        }
    }
}

/// What makes a step's layer: given the builder, the parent state and the vertex.
type MakeLayer<'m> =
    dyn FnMut(&mut Builder<'_>, &mut State, usize) -> Result<Option<LayerDesc>, Error> + 'm;

pub(crate) struct Builder<'a> {
    pub(crate) eng: &'a mut Engine,
    pub(crate) req: &'a BuildRequest,
    pub(crate) ctx: &'a Context,
    pub(crate) progress: &'a mut dyn Progress,
    /// Vertex numbers, shared by the stages built at once.
    pub(crate) counter: &'a AtomicUsize,
    /// The last vertex this builder started.
    pub(crate) vertex: usize,
    /// The `[internal] load build context` vertex was shown (by any stage).
    pub(crate) context_loaded: &'a AtomicBool,
    /// The stage being built takes nothing from the cache.
    pub(crate) stage_no_cache: bool,
    /// The cache entries this build used or made (`--cache-to` writes them).
    pub(crate) used: &'a std::sync::Mutex<Vec<(String, Digest)>>,
}

impl Builder<'_> {
    fn remember(&self, key: &str, id: &Digest) {
        if let Ok(mut u) = self.used.lock() {
            u.push((key.to_string(), id.clone()));
        }
    }

    pub(crate) fn next(&mut self) -> usize {
        self.vertex = self.counter.fetch_add(1, Ordering::SeqCst) + 1;
        self.vertex
    }

    /// The image of exactly `state`, written hidden if it was not yet.
    fn materialize(&mut self, state: &mut State) -> Result<Digest, Error> {
        if let Some(id) = &state.id {
            return Ok(id.clone());
        }
        let id = self
            .eng
            .image_write(&state.config, &state.layers, None, true)?;
        state.id = Some(id.clone());
        Ok(id)
    }

    /// A layer-making step: from the cache, or made by `make` and cached.
    fn layer_step(
        &mut self,
        state: &mut State,
        key: String,
        name: &str,
        history: &str,
        make: &mut MakeLayer<'_>,
    ) -> Result<(), Error> {
        let v = self.next();
        self.progress.event(Event::Start { vertex: v, name });
        let t = Instant::now();
        if !self.stage_no_cache {
            if let Some(id) = self.eng.build_cache_get(&key)? {
                // The cached step's image: its last layer is this step's. The config
                // stays this build's (a changed LABEL before the step does not miss).
                let layers = self.eng.image_layers(&id)?;
                if layers.len() == state.layers.len() + 1 {
                    if let Some(l) = layers.last() {
                        image_config::add_history(&mut state.config, history, false);
                        image_config::push_diff(&mut state.config, &l.digest);
                        state.layers.push(l.clone());
                        state.id = None;
                        state.full_key = sha(&[&state.full_key, &key]);
                        self.remember(&key, &id);
                        state.fs_key = key;
                        self.progress.event(Event::Cached { vertex: v });
                        return Ok(());
                    }
                }
            }
        }
        let made = make(self, state, v).and_then(|l| match l {
            Some(l) => Ok(l),
            // BuildKit keeps a step that changed nothing as an empty layer.
            None => Ok(self.eng.image_add_layer(&[0u8; 1024][..])?),
        });
        let layer = match made {
            Ok(l) => l,
            Err(e) => {
                let m = e.to_string();
                self.progress.event(Event::Failed {
                    vertex: v,
                    message: &m,
                });
                return Err(e);
            }
        };
        image_config::add_history(&mut state.config, history, false);
        image_config::push_diff(&mut state.config, &layer.digest);
        state.layers.push(layer);
        state.id = None;
        state.full_key = sha(&[&state.full_key, &key]);
        state.fs_key = key.clone();
        let id = self.materialize(state)?;
        self.eng.build_cache_put(&key, &id)?;
        self.remember(&key, &id);
        self.progress.event(Event::Done {
            vertex: v,
            secs: t.elapsed().as_secs_f64(),
        });
        Ok(())
    }

    pub(crate) fn step(
        &mut self,
        state: &mut State,
        step: &Step,
        name: &str,
        results: &[Option<State>],
        shell: &mut Vec<String>,
    ) -> Result<(), Error> {
        let op_json = serde_json::to_string(&step.op).map_err(|e| Error::Invalid(e.to_string()))?;
        match &step.op {
            Op::Run(r) => {
                let sh = shell.clone();
                let inv = r.invocation(&sh, false).map_err(Error::Invalid)?;
                let key = sha(&[
                    &state.fs_key,
                    "RUN",
                    &op_json,
                    &sh.join("\u{0}"),
                    state.config["config"]["WorkingDir"].as_str().unwrap_or(""),
                    state.config["config"]["User"].as_str().unwrap_or(""),
                ]);
                // BuildKit's `RUN |N K=V ... argv # buildkit`: the stage's ARGs first.
                let with_args: Vec<String> = state
                    .args
                    .iter()
                    .map(|a| {
                        let v = r
                            .env
                            .iter()
                            .find(|(k, _)| k == a)
                            .map(|(_, v)| v.as_str())
                            .unwrap_or("");
                        format!("{a}={v}")
                    })
                    .collect();
                let prefix = if with_args.is_empty() {
                    String::new()
                } else {
                    format!("|{} {} ", with_args.len(), with_args.join(" "))
                };
                let history = format!("RUN {prefix}{} # buildkit", inv.args.join(" "));
                let network = match r.network {
                    dockerfile::instructions::Network::None => NetworkMode::None,
                    dockerfile::instructions::Network::Host => NetworkMode::Host,
                    dockerfile::instructions::Network::Default => self.req.network.clone(),
                };
                let env = r.env.clone();
                // Mounts from the context or another stage: what they hold is part of
                // the key; the stages' files are prepared as directories.
                let mut mount_keys = Vec::new();
                let mut from_trees = Vec::new();
                for m in &r.mounts {
                    match (&m.source, m.mount.kind) {
                        (Some(base), dockerfile::instructions::MountType::Bind) => {
                            let (tree, k) = self.source_tree(base, results)?;
                            mount_keys.push(k);
                            from_trees.push(Some(tree));
                        }
                        (None, dockerfile::instructions::MountType::Bind) => {
                            let sel = Origin::Context(self.ctx).select(&m.mount.source)?;
                            mount_keys.push(self.content_hash(&sel)?);
                            from_trees.push(None);
                        }
                        _ => from_trees.push(None),
                    }
                }
                let key = sha(&[&key, &mount_keys.join(",")]);
                self.layer_step(state, key, name, &history, &mut |b, st, v| {
                    let image = b.materialize(st)?;
                    let workdir = st.config["config"]["WorkingDir"]
                        .as_str()
                        .unwrap_or("")
                        .to_string();
                    let user = st.config["config"]["User"]
                        .as_str()
                        .unwrap_or("")
                        .to_string();
                    let scratch = tempdir_in(b.eng.run_dir())?;
                    let prepared = (|| {
                        let mut with_dirs = Vec::new();
                        for (i, (m, t)) in r.mounts.iter().zip(&from_trees).enumerate() {
                            let dir = match t {
                                Some(t) => {
                                    let d = scratch.join(format!("from-{i}"));
                                    flatten_into(t, &d)?;
                                    Some(d)
                                }
                                None => None,
                            };
                            with_dirs.push((m.mount.clone(), dir));
                        }
                        let src = mounts::Sources {
                            context: b.ctx,
                            secrets: &b.req.secrets,
                            ssh: b.req.ssh.as_deref(),
                            scratch: &scratch,
                        };
                        let eng: &Engine = b.eng;
                        mounts::prepare(&with_dirs, &workdir, &src, &mut |id| {
                            Ok(eng.build_cache_mount(id)?)
                        })
                    })();
                    let res = prepared.and_then(|prepared| {
                        let mut all_env = env.clone();
                        all_env.extend(prepared.env.iter().cloned());
                        let spec = run::RunSpec {
                            image: &image,
                            invocation: &inv,
                            env: &all_env,
                            workdir: &workdir,
                            user: &user,
                            network: network.clone(),
                            extra_hosts: &b.req.extra_hosts,
                            mounts: &prepared,
                            parent_diff_ids: &image_config::diff_ids(&st.config),
                        };
                        run::run(b.eng, &spec, v, b.progress)
                    });
                    let _ = std::fs::remove_dir_all(&scratch);
                    res
                })
            }
            Op::Copy(c) => {
                let from_tree = match &c.source {
                    None => None,
                    Some(base) => Some(self.source_tree(base, results)?),
                };
                self.copy_step(
                    state,
                    name,
                    &op_json,
                    CopyArgs {
                        files: &c.files,
                        chown: &c.chown,
                        chmod: &c.chmod,
                        from: from_tree,
                        unpack: false,
                        keyword: "COPY",
                        keep_git_dir: false,
                        parents: c.parents,
                        checksum: "",
                        excludes: &c.excludes,
                    },
                )
            }
            Op::Add(a) => self.copy_step(
                state,
                name,
                &op_json,
                CopyArgs {
                    files: &a.files,
                    chown: &a.chown,
                    chmod: &a.chmod,
                    from: None,
                    unpack: a.unpack.unwrap_or(true),
                    keyword: "ADD",
                    keep_git_dir: a.keep_git_dir.unwrap_or(false),
                    checksum: &a.checksum,
                    excludes: &a.excludes,
                    parents: false,
                },
            ),
            Op::Workdir { resolved, .. } => {
                image_config::set(&mut state.config, "WorkingDir", json!(resolved));
                // BuildKit creates the directory when the image lacks it.
                let user = state.config["config"]["User"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                let key = sha(&[&state.fs_key, "WORKDIR", resolved, &user]);
                let history = format!("WORKDIR {resolved}");
                let dir = resolved.clone();
                let owner = user.clone();
                self.layer_step(state, key, name, &history, &mut |b, st, _| {
                    let image = b.materialize(st)?;
                    let tree = b.eng.image_tree(&image)?;
                    let rel = tree
                        .resolve(&dir, true)
                        .map_err(|e| Error::Io(e.to_string()))?;
                    if tree.lookup(&rel).is_some() {
                        return Ok(None);
                    }
                    let mut data = Vec::new();
                    {
                        let mut b2 = tar::Builder::new(&mut data);
                        let mut h = tar::Header::new_gnu();
                        h.set_entry_type(tar::EntryType::Directory);
                        h.set_mode(0o755);
                        let (uid, gid) = copy::parse_chown(&owner, &tree)
                            .ok()
                            .flatten()
                            .unwrap_or((0, 0));
                        h.set_uid(uid.into());
                        h.set_gid(gid.into());
                        h.set_size(0);
                        h.set_mtime(
                            std::time::SystemTime::now()
                                .duration_since(std::time::UNIX_EPOCH)
                                .map_or(0, |d| d.as_secs()),
                        );
                        let mut chain: Vec<_> = rel
                            .ancestors()
                            .filter(|a| !a.as_os_str().is_empty())
                            .collect();
                        chain.reverse();
                        for d in chain {
                            if tree.lookup(d).is_none() {
                                b2.append_data(&mut h.clone(), d, std::io::empty())
                                    .map_err(|e| Error::Io(e.to_string()))?;
                            }
                        }
                        b2.finish().map_err(|e| Error::Io(e.to_string()))?;
                    }
                    Ok(Some(b.eng.image_add_layer(data.as_slice())?))
                })
            }
            op => {
                image_config::apply(state, op, shell);
                if let Op::Arg(kv) = op {
                    for (k, _) in kv {
                        state.args.retain(|a| a != k);
                        state.args.push(k.clone());
                    }
                }
                // BuildKit records no history for ONBUILD.
                if !matches!(op, Op::Onbuild(_)) {
                    let by = image_config::created_by(step, &state.config);
                    image_config::add_history(&mut state.config, &by, true);
                }
                state.id = None;
                state.full_key = sha(&[&state.full_key, &op_json]);
                Ok(())
            }
        }
    }

    /// The file system a `COPY --from` reads.
    fn source_tree(
        &mut self,
        base: &Base,
        results: &[Option<State>],
    ) -> Result<(image::flatten::Tree, String), Error> {
        let (id, key) = match base {
            Base::Stage(j) => {
                let mut st = results
                    .get(*j)
                    .cloned()
                    .flatten()
                    .ok_or_else(|| Error::Invalid(format!("stage {j} was not built")))?;
                let id = self.materialize(&mut st)?;
                (id, st.fs_key)
            }
            Base::Image(r) => {
                let id = match self.eng.image_resolve(r) {
                    Ok(id) => id,
                    Err(_) => {
                        let images = EngineImages {
                            eng: self.eng,
                            pull: true,
                            failed: Default::default(),
                            ids: Default::default(),
                        };
                        images.id(r)?
                    }
                };
                (id.clone(), id.to_string())
            }
            Base::Scratch => return Ok((image::flatten::Tree::default(), "scratch".into())),
        };
        Ok((self.eng.image_tree(&id)?, key))
    }

    fn copy_step(
        &mut self,
        state: &mut State,
        name: &str,
        op_json: &str,
        a: CopyArgs<'_>,
    ) -> Result<(), Error> {
        let origin = match &a.from {
            Some((t, _)) => Origin::Tree(t),
            None => Origin::Context(self.ctx),
        };
        // Heredoc sources and ADD's downloads become files of their own.
        let urls: Vec<&String> = a.files.paths.iter().filter(|p| is_url(p)).collect();
        let gits: Vec<&String> = a.files.paths.iter().filter(|p| is_git(p)).collect();
        let heredoc_dir = if a.files.contents.is_empty() && urls.is_empty() && gits.is_empty() {
            None
        } else {
            let d = tempdir_in(self.eng.run_dir())?;
            for c in &a.files.contents {
                std::fs::write(d.join(&c.path), &c.data)
                    .map_err(|e| Error::Io(format!("write heredoc {}: {e}", c.path)))?;
            }
            Some(d)
        };
        let mut downloaded = Vec::new();
        if let Some(d) = &heredoc_dir {
            for (i, u) in urls.iter().enumerate() {
                let sub = d.join(format!("url-{i}"));
                let name = match download(u, &sub, a.checksum) {
                    Ok(n) => n,
                    Err(e) => {
                        let _ = std::fs::remove_dir_all(d);
                        return Err(e);
                    }
                };
                downloaded.push(format!("url-{i}/{name}"));
            }
        }
        let mut checked_out = Vec::new();
        if let Some(d) = &heredoc_dir {
            for (i, g) in gits.iter().enumerate() {
                let sub = d.join(format!("git-{i}"));
                match git_checkout(g, &sub, a.keep_git_dir) {
                    Ok(rel) => checked_out.push(format!("git-{i}/{rel}")),
                    Err(e) => {
                        let _ = std::fs::remove_dir_all(d);
                        return Err(e);
                    }
                }
            }
        }
        let heredoc_tree = heredoc_dir
            .as_ref()
            .map(|d| image::flatten::Tree::new(vec![d.clone()]));
        let mut sources = Vec::new();
        let mut content_key = Vec::new();
        let res = (|| {
            for p in a.files.paths.iter().filter(|p| !is_url(p) && !is_git(p)) {
                sources.extend(origin.select(p)?);
            }
            if let Some(t) = &heredoc_tree {
                let o = Origin::Tree(t);
                for c in &a.files.contents {
                    sources.extend(o.select(&c.path)?);
                }
                for p in downloaded.iter().chain(&checked_out) {
                    for mut s in o.select(p)? {
                        s.remote = true;
                        sources.push(s);
                    }
                }
            }
            // `--exclude`: Docker's pattern rules, relative to each source.
            if !a.excludes.is_empty() {
                let ig = Ignore::parse(&a.excludes.join("\n"));
                sources.retain(|s| !ig.excluded(&s.name));
                for s in &mut sources {
                    s.entries.retain(|e| {
                        e.rel.as_os_str().is_empty() || !ig.excluded(&e.rel.to_string_lossy())
                    });
                }
            }
            content_key.push(match &a.from {
                Some((_, k)) => k.clone(),
                None => self.content_hash(&sources)?,
            });
            Ok::<(), Error>(())
        })();
        if let Err(e) = res {
            if let Some(d) = &heredoc_dir {
                let _ = std::fs::remove_dir_all(d);
            }
            return Err(e);
        }
        let many = a.files.paths.len() + a.files.contents.len() > 1
            || a.files.paths.iter().any(|p| p.contains(['*', '?', '[']));
        let workdir = state.config["config"]["WorkingDir"]
            .as_str()
            .unwrap_or("/")
            .to_string();
        let dest = if a.files.dest.starts_with('/') {
            a.files.dest.clone()
        } else {
            let mut d = format!("{}/{}", workdir.trim_end_matches('/'), a.files.dest);
            if a.files.dest == "." || a.files.dest.ends_with('/') {
                d.push('/');
            }
            d
        };
        let key = sha(&[
            &state.fs_key,
            a.keyword,
            op_json,
            &content_key.join(","),
            &dest,
        ]);
        let srcs: Vec<String> = a
            .files
            .paths
            .iter()
            .chain(a.files.contents.iter().map(|c| &c.path))
            .cloned()
            .collect();
        let history = format!(
            "{} {} {} # buildkit",
            a.keyword,
            srcs.join(" "),
            a.files.dest
        );
        let root_owner = a.from.is_none();
        let chmod = crate::chmod::Chmod::parse(a.chmod)?;
        let chown = a.chown.to_string();
        let unpack = a.unpack;
        let parents = a.parents;
        let res = self.layer_step(state, key, name, &history, &mut |b, st, _| {
            let image = b.materialize(st)?;
            let tree = b.eng.image_tree(&image)?;
            let owner = copy::parse_chown(&chown, &tree)?;
            let parent_diffs = image_config::diff_ids(&st.config);
            let job = copy::CopyJob {
                sources: std::mem::take(&mut sources),
                many,
                dest: dest.clone(),
                owner,
                root_owner,
                chmod: chmod.clone(),
                unpack,
                parents,
                target: &tree,
            };
            let (reader, writer) = std::io::pipe().map_err(|e| Error::Io(format!("pipe: {e}")))?;
            let layer = std::thread::scope(|s| {
                let producer = s.spawn(move || {
                    copy::write_layer(&job, std::io::BufWriter::with_capacity(256 * 1024, writer))
                });
                let added = b.eng.image_add_layer_unpacked(&parent_diffs, reader);
                let produced = producer
                    .join()
                    .map_err(|_| Error::Io("the layer writer panicked".into()))?;
                produced?;
                Ok::<_, Error>(added?)
            })?;
            Ok(Some(layer))
        });
        if let Some(d) = &heredoc_dir {
            let _ = std::fs::remove_dir_all(d);
        }
        res
    }

    /// The content key of context sources: names, types, modes and content hashes,
    /// hashes taken from the index when a file's (size, mtime, inode) did not change.
    fn content_hash(&mut self, sources: &[context::Source]) -> Result<String, Error> {
        use std::os::unix::fs::MetadataExt;
        let mut files: Vec<(String, image::store::FileStamp)> = Vec::new();
        for s in sources {
            for e in &s.entries {
                if e.meta.is_file() {
                    files.push((
                        e.path.to_string_lossy().into_owned(),
                        context::stamp(&e.meta),
                    ));
                }
            }
        }
        if !self.context_loaded.swap(true, Ordering::SeqCst) {
            let v = self.next();
            self.progress.event(Event::Start {
                vertex: v,
                name: "[internal] load build context",
            });
            let bytes: u64 = files.iter().map(|(_, st)| st.size).sum();
            let text = format!("transferring context: {} done", human_bytes(bytes));
            self.progress.event(Event::Log {
                vertex: v,
                text: &text,
            });
            self.progress.event(Event::Done {
                vertex: v,
                secs: 0.0,
            });
        }
        let known = self.eng.build_file_hashes(&files)?;
        let mut fresh = Vec::new();
        let mut hashes = BTreeMap::new();
        for ((path, st), h) in files.into_iter().zip(known) {
            let h = match h {
                Some(h) => h,
                None => {
                    let h = context::hash_file(std::path::Path::new(&path))?;
                    fresh.push((path.clone(), st, h.clone()));
                    h
                }
            };
            hashes.insert(path, h);
        }
        self.eng.build_put_file_hashes(&fresh)?;
        let mut h = Sha256::new();
        for s in sources {
            h.update(s.name.as_bytes());
            h.update([0]);
            for e in &s.entries {
                h.update(e.rel.as_os_str().as_encoded_bytes());
                h.update(e.meta.mode().to_be_bytes());
                if let Some(c) = hashes.get(&*e.path.to_string_lossy()) {
                    h.update(c.as_bytes());
                } else if e.meta.file_type().is_symlink() {
                    if let Ok(t) = std::fs::read_link(&e.path) {
                        h.update(t.as_os_str().as_encoded_bytes());
                    }
                }
                h.update([0]);
            }
        }
        Ok(hex::encode(h.finalize()))
    }

    /// The final image: labels, names, and its id.
    pub(crate) fn export(&mut self, mut state: State) -> Result<Digest, Error> {
        let v = self.next();
        self.progress.event(Event::Start {
            vertex: v,
            name: "exporting to image",
        });
        let t = Instant::now();
        if !self.req.labels.is_empty() {
            let labels = state.config["config"]["Labels"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            let mut labels = labels;
            for (k, val) in &self.req.labels {
                labels.insert(k.clone(), json!(val));
            }
            image_config::set(&mut state.config, "Labels", Value::Object(labels));
        }
        let labels_json = serde_json::to_string(&self.req.labels).unwrap_or_default();
        let key = sha(&[&state.full_key, "export", &labels_json]);
        let cached = if self.req.no_cache {
            None
        } else {
            self.eng.build_cache_get(&key)?
        };
        let id = match cached {
            Some(id) => {
                // Made visible, as a build's result is.
                let c = self.eng.image_config(&id)?;
                let l = self.eng.image_layers(&id)?;
                self.eng.image_write(&c, &l, None, false)?
            }
            None => {
                state.config["created"] = json!(engine::time::now_rfc3339());
                let id = self
                    .eng
                    .image_write(&state.config, &state.layers, None, false)?;
                self.eng.build_cache_put(&key, &id)?;
                id
            }
        };
        self.remember(&key, &id);
        self.progress.event(Event::Log {
            vertex: v,
            text: "exporting layers done",
        });
        self.progress.event(Event::Log {
            vertex: v,
            text: &format!("writing image {id} done"),
        });
        for t in &self.req.tags {
            self.eng.image_tag(&id.to_string(), t)?;
            self.progress.event(Event::Log {
                vertex: v,
                text: &format!("naming to {t} done"),
            });
        }
        self.progress.event(Event::Done {
            vertex: v,
            secs: t.elapsed().as_secs_f64(),
        });
        Ok(id)
    }
}

struct CopyArgs<'a> {
    files: &'a dockerfile::instructions::SourcesAndDest,
    /// ADD `--keep-git-dir`.
    keep_git_dir: bool,
    /// ADD `--checksum`.
    checksum: &'a str,
    chown: &'a str,
    chmod: &'a str,
    from: Option<(image::flatten::Tree, String)>,
    unpack: bool,
    keyword: &'static str,
    /// `--exclude` patterns.
    excludes: &'a [String],
    /// `COPY --parents`.
    parents: bool,
}
