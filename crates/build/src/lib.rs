//! quai's image builder: a Dockerfile (read by the `dockerfile` crate, as BuildKit reads
//! it) built into an image through the engine library. The needed stages run in order;
//! RUN steps run in real containers made by the engine; COPY and ADD layers are written
//! straight from their sources; every layer-making step is cached under a key made of its
//! parent's key, the instruction as expanded, its environment and, for COPY/ADD, the
//! content of exactly the files it reads. It never reaches past the engine's door and
//! never spawns `quai`.

mod builder;
pub mod chmod;
pub mod context;
pub mod copy;
pub mod ignore;
mod image_config;
pub mod mounts;
pub mod progress;
pub mod run;
mod sources;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::time::Instant;

use content::Digest;
use dockerfile::build::{Base, BaseImages, BuildOptions, ImageConfig, Op, Platform, Step};
use dockerfile::Dockerfile;
use engine::config::NetworkMode;
use engine::lifecycle::Engine;
use image::store::LayerDesc;
use image::Reference;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::builder::{Builder, Common};
use crate::context::Context;
use crate::ignore::Ignore;
use crate::sources::human_bytes;

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
    // Layers and step images land a moment before what refers to them: collection in
    // another process must spare them meanwhile.
    let _lease = eng.image_lease()?;
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
