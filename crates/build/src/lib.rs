//! quai's image builder: a Dockerfile (read by the `dockerfile` crate, as BuildKit reads
//! it) built into an image through the engine library. The needed stages run in order;
//! RUN steps run in real containers made by the engine; COPY and ADD layers are written
//! straight from their sources; every layer-making step is cached under a key made of its
//! parent's key, the instruction as expanded, its environment and, for COPY/ADD, the
//! content of exactly the files it reads. It never reaches past the engine's door and
//! never spawns `quai`.

pub mod context;
pub mod copy;
pub mod ignore;
mod image_config;
pub mod mounts;
pub mod progress;
pub mod run;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use content::Digest;
use dockerfile::build::{Base, BaseImages, BuildOptions, ImageConfig, Op, Platform, Step};
use dockerfile::Dockerfile;
use engine::config::NetworkMode;
use engine::lifecycle::Engine;
use image::store::LayerDesc;
use image::Reference;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

use crate::context::{Context, Origin};
use crate::ignore::Ignore;

/// Build failures: one line each, naming the step or the file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
    /// A COPY/ADD source that is not there.
    #[error("failed to compute cache key: {0}")]
    NotFound(String),
    /// Reading the context or writing a layer.
    #[error("{0}")]
    Io(String),
    /// The Dockerfile.
    #[error(transparent)]
    Dockerfile(#[from] dockerfile::Error),
    /// The engine.
    #[error(transparent)]
    Engine(#[from] engine::Error),
    /// A RUN that failed.
    #[error("process \"{command}\" did not complete successfully: exit code: {code}")]
    Run {
        /// Its argv, joined.
        command: String,
        /// Its exit code.
        code: i32,
    },
    /// A step failed: which one, and why.
    #[error("{source}")]
    Step {
        /// `[stage 2/3] RUN ...`.
        step: String,
        /// The progress vertex it ran as (0 if it never started).
        vertex: usize,
        /// Its lines in the Dockerfile.
        lines: dockerfile::Lines,
        /// Why.
        #[source]
        source: Box<Error>,
    },
}

/// What to build.
#[derive(Debug, Clone, Default)]
pub struct BuildRequest {
    /// The context directory.
    pub context: PathBuf,
    /// The Dockerfile's text.
    pub dockerfile: String,
    /// Its name (for `.dockerignore` next to it and messages).
    pub dockerfile_name: String,
    /// `-t`.
    pub tags: Vec<Reference>,
    /// `--target`.
    pub target: Option<String>,
    /// `--build-arg`.
    pub build_args: BTreeMap<String, String>,
    /// `--label`.
    pub labels: BTreeMap<String, String>,
    /// `--no-cache`.
    pub no_cache: bool,
    /// `--no-cache-filter`: stages (by name or index) built without the cache.
    pub no_cache_filter: Vec<String>,
    /// `--pull`.
    pub pull: bool,
    /// `--network` for RUN (default: the default bridge).
    pub network: NetworkMode,
    /// `--add-host`.
    pub extra_hosts: Vec<String>,
    /// `--secret`.
    pub secrets: BTreeMap<String, mounts::SecretSource>,
    /// `--ssh default`: the agent's socket.
    pub ssh: Option<PathBuf>,
    /// `--cache-from type=local,src=DIR`.
    pub cache_from: Vec<PathBuf>,
    /// `--cache-to type=local,dest=DIR`.
    pub cache_to: Option<PathBuf>,
}

/// What a build reports as it goes (BuildKit's vertices).
pub enum Event<'a> {
    /// A vertex starts (`[2/3] RUN make`).
    Start {
        /// Its number.
        vertex: usize,
        /// Its name.
        name: &'a str,
    },
    /// Output of a RUN.
    Output {
        /// The vertex.
        vertex: usize,
        /// The bytes.
        data: &'a [u8],
    },
    /// A line of the vertex's own (`writing image sha256:... done`).
    Log {
        /// The vertex.
        vertex: usize,
        /// The text.
        text: &'a str,
    },
    /// Taken from the cache.
    Cached {
        /// The vertex.
        vertex: usize,
    },
    /// Done.
    Done {
        /// The vertex.
        vertex: usize,
        /// Seconds it took.
        secs: f64,
    },
    /// Failed.
    Failed {
        /// The vertex.
        vertex: usize,
        /// Why.
        message: &'a str,
    },
}

/// Where events go.
pub trait Progress {
    /// One event.
    fn event(&mut self, ev: Event<'_>);
}

/// The image and file system state after a step.
#[derive(Debug, Clone)]
struct State {
    /// The cache key of the file system: the base and the steps that made layers (a
    /// layer step's key starts from it, so config-only changes do not miss the cache).
    fs_key: String,
    /// The key of everything so far, config included (the export's key).
    full_key: String,
    config: Value,
    layers: Vec<LayerDesc>,
    /// An image written for exactly this state.
    id: Option<Digest>,
    /// CMD was set in this stage (ENTRYPOINT then keeps it).
    cmd_set: bool,
    /// The ARGs declared in this stage so far (RUN's history names them).
    args: Vec<String>,
}

fn sha(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Base images for planning, looked up (and pulled when missing) through the engine.
struct EngineImages<'a> {
    eng: &'a Engine,
    pull: bool,
    failed: std::cell::RefCell<Option<Error>>,
    ids: std::cell::RefCell<BTreeMap<String, Digest>>,
}

impl EngineImages<'_> {
    fn id(&self, reference: &str) -> Result<Digest, Error> {
        if let Some(id) = self.ids.borrow().get(reference) {
            return Ok(id.clone());
        }
        let local = if self.pull {
            None
        } else {
            self.eng.image_resolve(reference).ok()
        };
        let id = match local {
            Some(id) => id,
            None => {
                let r: Reference = reference
                    .parse()
                    .map_err(|e| Error::Invalid(format!("{reference}: {e}")))?;
                let pulled = self
                    .eng
                    .image_pull(
                        &r,
                        &Default::default(),
                        Default::default(),
                        engine::images::Progress {
                            event: &|_| {},
                            bytes: None,
                        },
                    )
                    .map_err(|e| {
                        Error::Invalid(format!("failed to resolve source metadata for {}: {e}", r))
                    })?;
                pulled.config
            }
        };
        self.ids
            .borrow_mut()
            .insert(reference.to_string(), id.clone());
        Ok(id)
    }
}

impl BaseImages for EngineImages<'_> {
    fn config(&self, reference: &str, _: &Platform) -> Option<ImageConfig> {
        let id = match self.id(reference) {
            Ok(id) => id,
            Err(e) => {
                self.failed.borrow_mut().get_or_insert(e);
                return None;
            }
        };
        let c = self.eng.image_config(&id).ok()?;
        Some(image_config::for_plan(&c["config"]))
    }
}

/// Build; returns the image id.
pub fn build(
    eng: &mut Engine,
    req: &BuildRequest,
    progress: &mut (dyn Progress + Send),
) -> Result<Digest, Error> {
    let t0 = Instant::now();
    run::remove_leftovers(eng);
    let mut vertex = 0usize;
    let mut next = || {
        vertex += 1;
        vertex
    };
    let v = next();
    let def = format!(
        "[internal] load build definition from {}",
        req.dockerfile_name
    );
    progress.event(Event::Start {
        vertex: v,
        name: &def,
    });
    let text = format!(
        "transferring dockerfile: {} done",
        human_bytes(req.dockerfile.len() as u64)
    );
    progress.event(Event::Log {
        vertex: v,
        text: &text,
    });
    if req.dockerfile.trim().is_empty() {
        let m = "the Dockerfile cannot be empty";
        progress.event(Event::Failed {
            vertex: v,
            message: m,
        });
        return Err(Error::Invalid(m.into()));
    }
    let df = match Dockerfile::parse(&req.dockerfile) {
        Ok(df) => df,
        Err(e) => {
            let m = e.to_string();
            progress.event(Event::Failed {
                vertex: v,
                message: &m,
            });
            return Err(e.into());
        }
    };
    progress.event(Event::Done {
        vertex: v,
        secs: t0.elapsed().as_secs_f64(),
    });

    let v = next();
    progress.event(Event::Start {
        vertex: v,
        name: "[internal] load .dockerignore",
    });
    let ignore_text = std::fs::read_to_string(
        req.context
            .join(format!("{}.dockerignore", req.dockerfile_name)),
    )
    .or_else(|_| std::fs::read_to_string(req.context.join(".dockerignore")))
    .unwrap_or_default();
    let ctx = Context::new(&req.context, Ignore::parse(&ignore_text));
    let text = format!(
        "transferring context: {} done",
        human_bytes(ignore_text.len() as u64)
    );
    progress.event(Event::Log {
        vertex: v,
        text: &text,
    });
    progress.event(Event::Done {
        vertex: v,
        secs: 0.0,
    });

    for dir in &req.cache_from {
        // A cache that is not there yet (a first CI run) is no error.
        if dir.join("index.json").exists() {
            eng.build_cache_import(dir)?;
        }
    }
    let images = EngineImages {
        eng,
        pull: req.pull,
        failed: Default::default(),
        ids: Default::default(),
    };
    let opts = BuildOptions {
        build_args: req.build_args.clone(),
        target: req.target.clone(),
        ..Default::default()
    };
    let plan = dockerfile::build::plan(&df, &opts, &images);
    if let Some(e) = images.failed.borrow_mut().take() {
        return Err(e);
    }
    let plan = plan?;
    let base_ids: BTreeMap<String, Digest> = images.ids.borrow().clone();
    for r in base_ids.keys() {
        let name = format!("[internal] load metadata for {}", normalized(r));
        instant(progress, next(), &name);
    }

    let counter = AtomicUsize::new(vertex);
    let used: std::sync::Mutex<Vec<(String, Digest)>> = Default::default();
    let context_loaded = AtomicBool::new(false);
    let common = Common {
        req,
        ctx: &ctx,
        counter: &counter,
        context_loaded: &context_loaded,
        used: &used,
    };
    let shared = SharedProgress(std::sync::Mutex::new(progress));
    let mut results: Vec<Option<State>> = vec![None; plan.stages.len()];
    let escape = df.escape();
    // Stages run as soon as what they build on is built; independent ones at once, each
    // with its own engine handle (the engine's state is shared through state.db).
    let deps = |i: usize| -> Vec<usize> {
        let st = &plan.stages[i];
        let mut d: Vec<usize> = st
            .deps
            .iter()
            .filter_map(|x| match x.on {
                Base::Stage(j) => Some(j),
                _ => None,
            })
            .collect();
        if let Base::Stage(j) = st.base {
            d.push(j);
        }
        d
    };
    let needed: Vec<usize> = plan.needed().map(|s| s.index).collect();
    let (root, run) = (eng.root().to_path_buf(), eng.run_dir().to_path_buf());
    while needed.iter().any(|&i| results[i].is_none()) {
        let ready: Vec<usize> = needed
            .iter()
            .copied()
            .filter(|&i| results[i].is_none() && deps(i).iter().all(|&j| results[j].is_some()))
            .collect();
        if ready.is_empty() {
            return Err(Error::Invalid(
                "the stages depend on each other in a circle".into(),
            ));
        }
        let done: Vec<(usize, Result<State, Error>)> = if ready.len() == 1 {
            let i = ready[0];
            let mut p = SharedRef(&shared);
            let mut b = Builder::new(&mut *eng, &mut p, &common);
            vec![(
                i,
                build_stage(&mut b, &plan, i, &base_ids, &results, escape),
            )]
        } else {
            let results_ref = &results;
            let (plan_ref, base_ref, shared_ref) = (&plan, &base_ids, &shared);
            let common_ref = &common;
            let (root, run) = (&root, &run);
            std::thread::scope(|sc| {
                let handles: Vec<_> = ready
                    .iter()
                    .map(|&i| {
                        sc.spawn(move || {
                            let res =
                                Engine::open(root, run)
                                    .map_err(Error::from)
                                    .and_then(|mut e2| {
                                        let mut p = SharedRef(shared_ref);
                                        let mut b = Builder::new(&mut e2, &mut p, common_ref);
                                        build_stage(
                                            &mut b,
                                            plan_ref,
                                            i,
                                            base_ref,
                                            results_ref,
                                            escape,
                                        )
                                    });
                            (i, res)
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join().unwrap_or_else(|_| {
                            (
                                usize::MAX,
                                Err(Error::Invalid("a stage's builder panicked".into())),
                            )
                        })
                    })
                    .collect()
            })
        };
        for (i, r) in done {
            let st = r?;
            if let Some(slot) = results.get_mut(i) {
                *slot = Some(st);
            }
        }
    }
    let state = results[plan.target]
        .take()
        .ok_or_else(|| Error::Invalid("the target stage was not built".into()))?;
    let mut p = SharedRef(&shared);
    let mut b = Builder::new(eng, &mut p, &common);
    let id = b.export(state)?;
    if let Some(dir) = &req.cache_to {
        let v = b.next();
        b.progress.event(Event::Start {
            vertex: v,
            name: "exporting cache to client directory",
        });
        let entries = used.lock().map(|u| u.clone()).unwrap_or_default();
        b.eng.build_cache_export(dir, &entries)?;
        b.progress.event(Event::Done {
            vertex: v,
            secs: 0.0,
        });
    }
    Ok(id)
}

/// The progress shared by the stages built at once.
struct SharedProgress<'p>(std::sync::Mutex<&'p mut (dyn Progress + Send)>);

/// One stage's handle on the shared progress.
struct SharedRef<'s, 'p>(&'s SharedProgress<'p>);

impl Progress for SharedRef<'_, '_> {
    fn event(&mut self, ev: Event<'_>) {
        if let Ok(mut p) = self.0 .0.lock() {
            p.event(ev);
        }
    }
}

/// Build one stage on what it builds on (in `results`).
fn build_stage(
    b: &mut Builder<'_>,
    plan: &dockerfile::build::Plan,
    index: usize,
    base_ids: &BTreeMap<String, Digest>,
    results: &[Option<State>],
    escape: char,
) -> Result<State, Error> {
    let req = b.req;
    let stage = &plan.stages[index];
    b.stage_no_cache = req.no_cache
        || req.no_cache_filter.iter().any(|f| {
            stage
                .name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(f))
                || *f == stage.index.to_string()
        });
    let mut state = match &stage.base {
        Base::Scratch => image_config::scratch(),
        Base::Image(r) => {
            let id = match base_ids.get(r) {
                Some(id) => id.clone(),
                None => b.eng.image_resolve(r)?,
            };
            State {
                fs_key: id.to_string(),
                full_key: id.to_string(),
                config: b.eng.image_config(&id)?,
                layers: b.eng.image_layers(&id)?,
                id: Some(id),
                cmd_set: false,
                args: Vec::new(),
            }
        }
        Base::Stage(j) => results
            .get(*j)
            .cloned()
            .flatten()
            .ok_or_else(|| Error::Invalid(format!("stage {j} was not built")))?,
    };
    state.cmd_set = false;
    state.args.clear();
    // BuildKit: a stage's image always has a PATH; the base's ONBUILD triggers ran (the
    // planner put them first) and are not passed on.
    image_config::ensure_path(&mut state.config);
    if !matches!(stage.base, Base::Scratch) {
        image_config::set(&mut state.config, "OnBuild", Value::Null);
    }
    // BuildKit numbers the steps that touch the file system (FROM, RUN, COPY, ADD,
    // WORKDIR); the others only edit the config and show no progress of their own.
    let n = stage.steps.iter().filter(|s| makes_layer(&s.op)).count() + 1;
    let label = |k: usize| {
        if stage.display_name.is_empty() {
            format!("[{k}/{n}]")
        } else {
            format!("[{} {k}/{n}]", stage.display_name)
        }
    };
    let v = b.next();
    let from = match &stage.base {
        Base::Scratch => "FROM scratch".to_string(),
        Base::Image(r) => format!("FROM {}", from_name(r)),
        Base::Stage(j) => format!(
            "FROM {}",
            plan.stages[*j]
                .name
                .clone()
                .unwrap_or_else(|| j.to_string())
        ),
    };
    let name = format!("{} {from}", label(1));
    b.progress.event(Event::Start {
        vertex: v,
        name: &name,
    });
    // A base image already in the store is, in BuildKit's words, cached.
    if matches!(stage.base, Base::Image(_)) {
        b.progress.event(Event::Cached { vertex: v });
    } else {
        b.progress.event(Event::Done {
            vertex: v,
            secs: 0.0,
        });
    }
    let mut shell: Vec<String> = image_config::strings(&state.config["config"]["Shell"]);
    let mut k = 1;
    for step in &stage.steps {
        if makes_layer(&step.op) {
            k += 1;
        }
        let name = format!("{} {}", label(k), step_text(step, escape));
        b.step(&mut state, step, &name, results, &mut shell)
            .map_err(|e| Error::Step {
                step: name.clone(),
                vertex: b.vertex,
                lines: step.lines,
                source: Box::new(e),
            })?;
    }
    Ok(state)
}

/// A vertex that is done as soon as it starts.
fn instant(progress: &mut dyn Progress, vertex: usize, name: &str) {
    progress.event(Event::Start { vertex, name });
    progress.event(Event::Done { vertex, secs: 0.0 });
}

/// A reference as BuildKit names it (`docker.io/library/busybox:latest`).
fn normalized(r: &str) -> String {
    r.parse::<Reference>()
        .map(|x| x.to_string())
        .unwrap_or_else(|_| r.to_string())
}

/// A FROM as BuildKit shows it: normalized, without a tag the Dockerfile did not give.
fn from_name(r: &str) -> String {
    match r.parse::<Reference>() {
        Ok(x)
            if x.tag.as_deref() == Some("latest")
                && !r.ends_with(":latest")
                && x.digest.is_none() =>
        {
            x.repository()
        }
        Ok(x) => x.to_string(),
        Err(_) => r.to_string(),
    }
}

/// An instruction as the progress shows it: WORKDIR with its path expanded, RUN with its
/// variables replaced (quotes and escapes kept, unset ones left), as BuildKit names them.
fn step_text(step: &Step, escape: char) -> String {
    if let Op::Workdir { resolved, .. } = &step.op {
        return format!("WORKDIR {resolved}");
    }
    let code = step.code.lines().next().unwrap_or_default().trim();
    if let Op::Run(r) = &step.op {
        let env: dockerfile::shell_words::EnvList = r.env.iter().cloned().collect();
        let mut lex = dockerfile::shell_words::Lexer::new(escape);
        lex.raw_quotes = true;
        lex.raw_escapes = true;
        lex.skip_unset = true;
        if let Ok(e) = lex.process_word(code, &env) {
            return e.result;
        }
    }
    code.to_string()
}

/// The instruction touches the file system.
fn makes_layer(op: &Op) -> bool {
    matches!(
        op,
        Op::Run(_) | Op::Copy(_) | Op::Add(_) | Op::Workdir { .. }
    )
}

/// What the builders of one build share.
struct Common<'a> {
    req: &'a BuildRequest,
    ctx: &'a Context,
    counter: &'a AtomicUsize,
    context_loaded: &'a AtomicBool,
    used: &'a std::sync::Mutex<Vec<(String, Digest)>>,
}

impl<'a> Builder<'a> {
    fn new(eng: &'a mut Engine, progress: &'a mut dyn Progress, c: &Common<'a>) -> Builder<'a> {
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

struct Builder<'a> {
    eng: &'a mut Engine,
    req: &'a BuildRequest,
    ctx: &'a Context,
    progress: &'a mut dyn Progress,
    /// Vertex numbers, shared by the stages built at once.
    counter: &'a AtomicUsize,
    /// The last vertex this builder started.
    vertex: usize,
    /// The `[internal] load build context` vertex was shown (by any stage).
    context_loaded: &'a AtomicBool,
    /// The stage being built takes nothing from the cache.
    stage_no_cache: bool,
    /// The cache entries this build used or made (`--cache-to` writes them).
    used: &'a std::sync::Mutex<Vec<(String, Digest)>>,
}

impl Builder<'_> {
    fn remember(&self, key: &str, id: &Digest) {
        if let Ok(mut u) = self.used.lock() {
            u.push((key.to_string(), id.clone()));
        }
    }

    fn next(&mut self) -> usize {
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

    fn step(
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
        let chmod = copy::parse_chmod(a.chmod)?;
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
                chmod,
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
    fn export(&mut self, mut state: State) -> Result<Digest, Error> {
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

fn is_url(p: &str) -> bool {
    (p.starts_with("http://") || p.starts_with("https://")) && !is_git(p)
}

fn is_git(p: &str) -> bool {
    p.starts_with("git@")
        || p.starts_with("git://")
        || ((p.starts_with("http://") || p.starts_with("https://"))
            && p.split(['?', '#'])
                .next()
                .is_some_and(|u| u.ends_with(".git")))
}

/// Check out a git source (`URL[#REF[:SUBDIR]]`) into the new directory `dir` with the
/// `git` program, as BuildKit's git source does; `.git` goes unless `keep_git_dir`.
/// Returns the directory to copy, relative to `dir`.
fn git_checkout(spec: &str, dir: &std::path::Path, keep_git_dir: bool) -> Result<String, Error> {
    let (url, fragment) = spec.split_once('#').unwrap_or((spec, ""));
    let (reference, subdir) = fragment.split_once(':').unwrap_or((fragment, ""));
    let fail = |m: String| Error::Invalid(format!("failed to load git source {url}: {m}"));
    let git = |args: &[&str], cwd: Option<&std::path::Path>| -> Result<(), Error> {
        let mut c = std::process::Command::new("git");
        c.args(args)
            .env("GIT_TERMINAL_PROMPT", "0")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null());
        if let Some(d) = cwd {
            c.current_dir(d);
        }
        let o = c.output().map_err(|e| fail(format!("run git: {e}")))?;
        if !o.status.success() {
            return Err(fail(
                String::from_utf8_lossy(&o.stderr)
                    .trim()
                    .lines()
                    .last()
                    .unwrap_or("")
                    .to_string(),
            ));
        }
        Ok(())
    };
    let repo = dir.join("repo");
    std::fs::create_dir_all(&repo).map_err(|e| fail(e.to_string()))?;
    git(&["init", "-q"], Some(&repo))?;
    let want = if reference.is_empty() {
        "HEAD"
    } else {
        reference
    };
    // A shallow fetch of a branch, a tag or a commit; servers that refuse a commit by
    // id get a full fetch.
    let fetched = git(&["fetch", "-q", "--depth", "1", url, want], Some(&repo))
        .or_else(|_| git(&["fetch", "-q", url, want], Some(&repo)));
    if fetched.is_ok() {
        git(&["checkout", "-q", "FETCH_HEAD"], Some(&repo))?;
    } else {
        git(
            &[
                "fetch",
                "-q",
                url,
                "+refs/heads/*:refs/remotes/origin/*",
                "+refs/tags/*:refs/tags/*",
            ],
            Some(&repo),
        )?;
        git(&["checkout", "-q", want], Some(&repo))?;
    }
    if !keep_git_dir {
        std::fs::remove_dir_all(repo.join(".git")).map_err(|e| fail(e.to_string()))?;
    }
    let sub = subdir.trim_matches('/');
    Ok(if sub.is_empty() {
        "repo".into()
    } else {
        format!("repo/{sub}")
    })
}

/// Download `url` into the new directory `dir` as ADD does (mode 0600, the name from the
/// URL's path), checking `checksum` (`sha256:HEX`) when given. Returns the file's name.
fn download(url: &str, dir: &std::path::Path, checksum: &str) -> Result<String, Error> {
    let fail = |m: String| Error::Invalid(format!("failed to load {url}: {m}"));
    std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
    let path_part = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .splitn(4, '/')
        .nth(3)
        .unwrap_or("");
    let name = path_part
        .rsplit('/')
        .find(|s| !s.is_empty())
        .unwrap_or("__unnamed__")
        .to_string();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(300)))
        .user_agent(concat!("quai/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let resp = agent.get(url).call().map_err(|e| fail(e.to_string()))?;
    let file = dir.join(&name);
    let mut out = std::fs::File::create(&file).map_err(|e| fail(e.to_string()))?;
    let mut body = resp.into_body().into_reader();
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = std::io::Read::read(&mut body, &mut buf).map_err(|e| fail(e.to_string()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        std::io::Write::write_all(&mut out, &buf[..n]).map_err(|e| fail(e.to_string()))?;
    }
    let got = format!("sha256:{}", hex::encode(h.finalize()));
    if !checksum.is_empty() && checksum != got {
        return Err(Error::Invalid(format!(
            "digest mismatch for {url}: {got}, expected {checksum}"
        )));
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| fail(e.to_string()))?;
    Ok(name)
}

/// Sizes as BuildKit's progress prints them (`2.10kB`, `80.01MB`).
fn human_bytes(b: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1000.0 && i < units.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    if i == 0 {
        format!("{b}B")
    } else {
        format!("{v:.2}{}", units[i])
    }
}

/// Write the files of `tree` into the new directory `dir`.
fn flatten_into(tree: &image::flatten::Tree, dir: &std::path::Path) -> Result<(), Error> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::Io(format!("create {}: {e}", dir.display())))?;
    let (reader, writer) = std::io::pipe().map_err(|e| Error::Io(format!("pipe: {e}")))?;
    std::thread::scope(|s| {
        let producer = s.spawn(move || {
            image::flatten::write_flat(tree.layers(), std::io::BufWriter::new(writer))
        });
        let unpacked = image::layer::unpack(reader, dir);
        let produced = producer
            .join()
            .map_err(|_| Error::Io("the copy writer panicked".into()))?;
        produced.map_err(|e| Error::Io(e.to_string()))?;
        unpacked.map_err(|e| Error::Io(e.to_string()))?;
        Ok(())
    })
}

fn tempdir_in(dir: &std::path::Path) -> Result<PathBuf, Error> {
    let d = dir.join(format!(
        "build-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    std::fs::create_dir_all(&d).map_err(|e| Error::Io(format!("create {}: {e}", d.display())))?;
    Ok(d)
}
