//! Planning a build the way BuildKit's `dockerfile2llb` does before it emits LLB: global
//! ARGs and build arguments, base names and platforms expanded, the stage graph (FROM a
//! stage, `COPY --from`, `RUN --mount from=`), the stages the target needs, ONBUILD
//! triggers of base stages, and every instruction of those stages expanded in order with
//! the environment it would see. The result is typed so a builder executes it without
//! parsing anything again.
//!
//! What a builder knows and this crate cannot (the base images' configuration) comes in
//! through [`BaseImages`].

mod args;
mod dispatch;
mod platform;
mod ports;
mod reference;

pub use platform::{parse_platform, Platform};
pub use reference::is_valid_reference;

use std::collections::{BTreeMap, BTreeSet};

use crate::checks::{rules, Finding};
use crate::error::{Error, Lines};
use crate::instructions::{
    Command, Device, Healthcheck, Instruction, Mount, Network, Security, ShellCommand,
    SourcesAndDest,
};
use crate::quote::go_quote;
use crate::shell_words::{Env, EnvList, Lexer, NoEnv};
use crate::suggest;
use crate::Dockerfile;

/// Options of one build.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildOptions {
    /// `--build-arg NAME=value`.
    pub build_args: BTreeMap<String, String>,
    /// `--target`; the last stage when absent.
    pub target: Option<String>,
    /// `--platform`; the build platform when absent.
    pub target_platform: Option<Platform>,
    /// The platform the build runs on (default `linux/amd64`).
    pub build_platform: Platform,
    /// Expand every stage, needed or not (what `--check` does without a target).
    pub all_stages: bool,
}

/// What the builder knows of a base image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageConfig {
    pub env: Vec<(String, String)>,
    pub workdir: String,
    pub user: String,
    pub shell: Vec<String>,
    /// ONBUILD triggers stored in the image.
    pub onbuild: Vec<String>,
}

/// Base image configurations, looked up by reference as written after expansion.
pub trait BaseImages {
    fn config(&self, reference: &str, platform: &Platform) -> Option<ImageConfig>;
}

/// No base image knowledge: every image looks empty.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoImages;

impl BaseImages for NoImages {
    fn config(&self, _: &str, _: &Platform) -> Option<ImageConfig> {
        None
    }
}

impl BaseImages for BTreeMap<String, ImageConfig> {
    fn config(&self, reference: &str, _: &Platform) -> Option<ImageConfig> {
        self.get(reference).cloned()
    }
}

/// What a stage, a `COPY --from` or a mount builds on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Base {
    /// The empty image.
    Scratch,
    /// An image reference (expanded).
    Image(String),
    /// Another stage, by index.
    Stage(usize),
}

/// A use of another stage or image by an instruction.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Dependency {
    pub on: Base,
    pub lines: Lines,
}

/// A mount of RUN, its values expanded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RunMount {
    pub mount: Mount,
    /// Where the mount's content comes from; `None` is the build context (bind) or
    /// nothing (cache, tmpfs, secret, ssh without `from`).
    pub source: Option<Base>,
}

/// RUN, ready to execute.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RunStep {
    /// Not expanded (the shell does that); heredoc bodies are kept as written.
    pub command: ShellCommand,
    pub mounts: Vec<RunMount>,
    pub network: Network,
    pub security: Security,
    pub devices: Vec<Device>,
    /// The environment the command runs with: the image's, ARG values and ENV.
    pub env: Vec<(String, String)>,
}

/// COPY, expanded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CopyStep {
    /// `--from`; `None` is the build context.
    pub source: Option<Base>,
    pub files: SourcesAndDest,
    pub chown: String,
    pub chmod: String,
    pub link: bool,
    pub parents: bool,
    pub excludes: Vec<String>,
}

/// ADD, expanded: the parsed instruction's fields with their words expanded.
pub type AddStep = crate::instructions::Add;

/// One instruction with its words expanded as BuildKit expands them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Op {
    Add(AddStep),
    /// Each name with the value it got (a build argument, its default, the global
    /// value), or none.
    Arg(Vec<(String, Option<String>)>),
    Cmd(ShellCommand),
    Copy(CopyStep),
    Entrypoint(ShellCommand),
    Env(Vec<(String, String)>),
    /// `port/proto`, one per port of each range.
    Expose(Vec<String>),
    Healthcheck(Healthcheck),
    Label(Vec<(String, String)>),
    Maintainer(String),
    Onbuild(String),
    Run(RunStep),
    Shell(Vec<String>),
    StopSignal(String),
    User(String),
    /// The path as expanded and the absolute directory it resolves to.
    Workdir {
        path: String,
        resolved: String,
    },
    Volume(Vec<String>),
}

/// An expanded instruction and its origin.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Step {
    pub op: Op,
    pub keyword: String,
    pub code: String,
    pub lines: Lines,
    /// Came from an ONBUILD trigger of the base.
    pub onbuild: bool,
}

/// One stage of the plan.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StagePlan {
    pub index: usize,
    /// The `AS` name.
    pub name: Option<String>,
    /// The name BuildKit shows (`stage-N` for unnamed stages, empty for a lone stage).
    pub display_name: String,
    pub base: Base,
    pub platform: Platform,
    /// Needed for the target.
    pub needed: bool,
    pub deps: Vec<Dependency>,
    /// The expanded instructions (empty for a stage that was not expanded).
    pub steps: Vec<Step>,
    /// The image configuration at the end of the stage.
    pub env: Vec<(String, String)>,
    pub workdir: String,
    pub user: String,
    pub shell: Vec<String>,
}

/// The plan of a build.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Plan {
    pub stages: Vec<StagePlan>,
    /// Index of the target stage.
    pub target: usize,
    /// The global arguments (predefined ones and global ARGs) after build arguments.
    pub global_args: Vec<(String, String)>,
}

impl Plan {
    /// Stages the target needs, in build order (file order).
    pub fn needed(&self) -> impl Iterator<Item = &StagePlan> {
        self.stages.iter().filter(|s| s.needed)
    }
}

/// Plans a build of `df` (see the module documentation).
pub fn plan(df: &Dockerfile, opts: &BuildOptions, images: &dyn BaseImages) -> Result<Plan, Error> {
    let mut findings = Vec::new();
    plan_collecting(df, opts, images, &mut findings)
}

/// Stages as BuildKit's dispatch states see them before dispatch.
pub(crate) struct StageHead {
    pub base: Base,
    pub platform: Option<Platform>,
    pub display_name: String,
    pub deps: Vec<(Base, Lines)>,
    /// Commands including ONBUILD triggers of the base (those first, flagged).
    pub commands: Vec<(Command, bool)>,
}

/// [`plan`], also collecting lint findings.
pub(crate) fn plan_collecting(
    df: &Dockerfile,
    opts: &BuildOptions,
    images: &dyn BaseImages,
    findings: &mut Vec<Finding>,
) -> Result<Plan, Error> {
    let Some(last) = df.stages.last() else {
        return Err(Error::plan("dockerfile contains no stages to build", None));
    };
    let target_platform = opts
        .target_platform
        .clone()
        .unwrap_or_else(|| opts.build_platform.clone());
    let target_name = match &opts.target {
        Some(t) => t.clone(),
        None => last.from.name.clone().unwrap_or_default(),
    };
    let defaults = args::default_args(
        &opts.build_platform,
        &target_platform,
        &opts.build_args,
        &target_name,
    );
    let lex = Lexer::new(df.escape());

    // InvalidDefaultArgInFrom: base names with global ARG defaults alone.
    if let Ok((plain, _)) = args::meta_args(defaults.clone(), &lex, &df.meta_args, &BTreeMap::new())
    {
        for st in &df.stages {
            let Ok(e) = lex.process_word(&st.from.image, &plain) else {
                break;
            };
            if !reference::is_valid_reference(&e.result) {
                findings.push(Finding::new(
                    &rules::INVALID_DEFAULT_ARG_IN_FROM,
                    rules::invalid_default_arg_in_from(&st.from.image),
                    st.lines,
                    &[],
                ));
            }
        }
    }
    let (global, declared) = args::meta_args(defaults, &lex, &df.meta_args, &opts.build_args)?;
    let mut known: BTreeSet<String> = declared;
    known.extend(global.entries().iter().map(|(k, _)| k.clone()));
    let known: Vec<String> = known.into_iter().collect();

    let mut heads: Vec<StageHead> = Vec::with_capacity(df.stages.len());
    let mut by_name: BTreeMap<String, usize> = BTreeMap::new();
    for (i, st) in df.stages.iter().enumerate() {
        let lint = |f: &mut Vec<Finding>, rule: &'static rules::Rule, msg: String| {
            f.push(Finding::new(rule, msg, st.lines, &st.comments));
        };
        let name_exp = lex
            .process_word(&st.from.image, &global)
            .map_err(|e| Error::plan(e.to_string(), Some(st.lines)))?;
        for arg in &name_exp.unmatched {
            if !known.contains(arg) {
                let s = suggest::search(arg, &known, true);
                lint(
                    findings,
                    &rules::UNDEFINED_ARG_IN_FROM,
                    rules::undefined_arg_in_from(arg, s.as_deref()),
                );
            }
        }
        if name_exp.result.is_empty() {
            return Err(Error::plan(
                format!("base name ({}) should not be blank", st.from.image),
                Some(st.lines),
            ));
        }
        let mut platform = None;
        if let Some(spec) = &st.from.platform {
            let e = lex.process_word(spec, &global).map_err(|e| {
                Error::plan(
                    format!("failed to process arguments for platform : {e}"),
                    Some(st.lines),
                )
            })?;
            for arg in &e.unmatched {
                if !known.contains(arg) {
                    let s = suggest::search(arg, &known, true);
                    lint(
                        findings,
                        &rules::UNDEFINED_ARG_IN_FROM,
                        rules::undefined_arg_in_from(arg, s.as_deref()),
                    );
                }
            }
            if e.matched.len() == 1
                && e.unmatched.is_empty()
                && e.matched.contains("TARGETPLATFORM")
                && Some(e.result.as_str())
                    == crate::shell_words::Env::get(&global, "TARGETPLATFORM")
            {
                lint(
                    findings,
                    &rules::REDUNDANT_TARGET_PLATFORM,
                    rules::redundant_target_platform(spec),
                );
            }
            if e.matched.is_empty() && e.unmatched.is_empty() {
                if let Ok(p) = parse_platform(&e.result, &opts.build_platform) {
                    let stage_name = st.from.name.clone().unwrap_or_default();
                    if !stage_name.contains(&p.os) && !stage_name.contains(&p.arch) {
                        lint(
                            findings,
                            &rules::FROM_PLATFORM_FLAG_CONST_DISALLOWED,
                            rules::from_platform_flag_const_disallowed(&e.result),
                        );
                    }
                }
            }
            // BuildKit appends a "did you mean" for the first unknown name that is
            // close to a global argument.
            let global_keys = global.keys();
            let hint = |msg: String| {
                e.unmatched
                    .iter()
                    .find_map(|k| suggest::search(k, &global_keys, true))
                    .map(|m| format!("{msg} (did you mean {m}?)"))
                    .unwrap_or(msg)
            };
            if e.result.is_empty() {
                return Err(Error::plan(
                    hint(format!("empty platform value from expression {spec}")),
                    Some(st.lines),
                ));
            }
            let p = parse_platform(&e.result, &opts.build_platform).map_err(|err| {
                Error::plan(
                    format!("failed to parse platform {spec}: {}", hint(err)),
                    Some(st.lines),
                )
            })?;
            platform = Some(p);
        }
        let base = match by_name.get(&name_exp.result) {
            Some(&j) => Base::Stage(j),
            None if name_exp.result == "scratch" => Base::Scratch,
            None => Base::Image(name_exp.result.clone()),
        };
        if let Some(n) = &st.from.name {
            by_name.insert(n.clone(), i);
        }
        heads.push(StageHead {
            base,
            platform,
            display_name: st.from.name.clone().unwrap_or_else(|| format!("stage-{i}")),
            deps: Vec::new(),
            commands: st.commands.iter().map(|c| (c.clone(), false)).collect(),
        });
    }

    let target = match &opts.target {
        Some(t) => *by_name.get(&t.to_lowercase()).ok_or_else(|| {
            let names: Vec<String> = heads.iter().map(|h| h.display_name.clone()).collect();
            Error::plan(
                suggest::wrap(
                    format!("target stage {} could not be found", go_quote(t)),
                    t,
                    &names,
                    true,
                ),
                None,
            )
        })?,
        None => heads.len() - 1,
    };

    for i in 0..heads.len() {
        let mut deps = Vec::new();
        for (cmd, _) in &heads[i].commands {
            deps.extend(command_sources(cmd, &by_name, heads.len())?);
        }
        heads[i].deps = deps;
    }
    check_cycles(&heads)?;
    if heads.len() == 1 {
        heads[0].display_name.clear();
    }

    let needed = loop {
        let needed = reachable(&heads, target);
        if !dispatch::add_onbuild_triggers(df, &mut heads, &needed, opts, images, &by_name)? {
            break needed;
        }
    };

    let global_pairs = global.entries().to_vec();
    let mut ctx = dispatch::Context {
        lex,
        global,
        build_args: &opts.build_args,
        target_platform,
        images,
        findings,
        by_name: &by_name,
    };
    let stages = dispatch::dispatch_all(df, &heads, &needed, opts.all_stages, &mut ctx)?;
    Ok(Plan {
        stages,
        target,
        global_args: global_pairs,
    })
}

/// What `COPY --from` and `RUN --mount from=` of one command refer to.
pub(crate) fn command_sources(
    cmd: &Command,
    by_name: &BTreeMap<String, usize>,
    stage_count: usize,
) -> Result<Vec<(Base, Lines)>, Error> {
    let mut out = Vec::new();
    match &cmd.instruction {
        Instruction::Copy(c) => {
            if let Some(from) = &c.from {
                let e = Lexer::new('\\')
                    .process_word(from, &NoEnv)
                    .map_err(|e| Error::plan(e.to_string(), Some(cmd.lines)))?;
                if e.result != *from {
                    return Err(Error::plan(
                        "variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround",
                        Some(cmd.lines),
                    ));
                }
                out.push((stage_ref(from, by_name, stage_count, cmd.lines)?, cmd.lines));
            }
        }
        Instruction::Run(r) => {
            for m in &r.mounts_unexpanded {
                let from = if m.from.is_empty() {
                    "scratch"
                } else {
                    m.from.as_str()
                };
                match by_name.get(&from.to_lowercase()) {
                    Some(&j) => out.push((Base::Stage(j), cmd.lines)),
                    None if !m.from.is_empty() => {
                        out.push((Base::Image(m.from.clone()), cmd.lines))
                    }
                    None => {}
                }
            }
        }
        _ => {}
    }
    Ok(out)
}

/// A `--from` value: an index (Go's `Atoi`), a stage name, or an image.
fn stage_ref(
    from: &str,
    by_name: &BTreeMap<String, usize>,
    stage_count: usize,
    lines: Lines,
) -> Result<Base, Error> {
    let digits = from.strip_prefix(['+', '-']).unwrap_or(from);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        let n: i64 = from
            .parse()
            .map_err(|_| Error::plan(format!("invalid stage index {from}"), Some(lines)))?;
        if n < 0 || n as usize >= stage_count {
            return Err(Error::plan(format!("invalid stage index {n}"), Some(lines)));
        }
        return Ok(Base::Stage(n as usize));
    }
    Ok(match by_name.get(&from.to_lowercase()) {
        Some(&j) => Base::Stage(j),
        None => Base::Image(from.to_string()),
    })
}

fn check_cycles(heads: &[StageHead]) -> Result<(), Error> {
    fn visit(
        heads: &[StageHead],
        i: usize,
        visited: &mut Vec<bool>,
        path: &mut Vec<bool>,
        trail: &mut Vec<Lines>,
    ) -> bool {
        if visited[i] {
            return false;
        }
        visited[i] = true;
        path[i] = true;
        for (dep, lines) in &heads[i].deps {
            let Base::Stage(j) = dep else { continue };
            trail.push(*lines);
            if path[*j] || visit(heads, *j, visited, path, trail) {
                return true;
            }
            trail.pop();
        }
        path[i] = false;
        false
    }
    let mut visited = vec![false; heads.len()];
    for i in 0..heads.len() {
        let mut path = vec![false; heads.len()];
        let mut trail = Vec::new();
        if visit(heads, i, &mut visited, &mut path, &mut trail) {
            return Err(Error::plan(
                format!(
                    "circular dependency detected on stage: {}",
                    heads[i].display_name
                ),
                trail.first().copied(),
            ));
        }
    }
    Ok(())
}

/// Stages the target needs: its base chain and every dependency, transitively.
fn reachable(heads: &[StageHead], target: usize) -> Vec<bool> {
    let mut seen = vec![false; heads.len()];
    let mut todo = vec![target];
    while let Some(i) = todo.pop() {
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        if let Base::Stage(j) = heads[i].base {
            todo.push(j);
        }
        for (dep, _) in &heads[i].deps {
            if let Base::Stage(j) = dep {
                todo.push(*j);
            }
        }
    }
    seen
}

/// A heredoc RUN turns into a file when its body starts with `#!`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InlineScript {
    /// Where BuildKit mounts it read-only: `/dev/pipes/<heredoc name>`, mode 0755.
    pub path: String,
    pub data: String,
}

/// The process a RUN starts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RunInvocation {
    pub args: Vec<String>,
    pub script: Option<InlineScript>,
}

impl RunStep {
    /// The argument vector BuildKit runs for this RUN with the stage's `shell` (the
    /// default `/bin/sh -c`, or `cmd /S /C` on Windows, when empty), heredocs included: a
    /// lone heredoc becomes the shell's script, or with a `#!` line an executable file;
    /// otherwise the bodies are appended to the command for the shell to read.
    pub fn invocation(&self, shell: &[String], windows: bool) -> Result<RunInvocation, String> {
        let cmd = &self.command;
        let mut args = cmd.args.clone();
        let mut script = None;
        if !cmd.heredocs.is_empty() {
            if args.len() != 1 || !cmd.prepend_shell {
                return Err(format!(
                    "parsing produced an invalid run command: [{}]",
                    args.join(" ")
                ));
            }
            let lone = crate::lexer::parse_heredoc(&args[0])
                .ok()
                .flatten()
                .is_some();
            if lone {
                let doc = &cmd.heredocs[0];
                let data = doc.body();
                if !windows && data.starts_with("#!") {
                    let path = format!("/dev/pipes/{}", doc.name);
                    args = vec![path.clone()];
                    script = Some(InlineScript { path, data });
                } else {
                    args = vec![data];
                }
            } else {
                let mut line = args[0].clone();
                for doc in &cmd.heredocs {
                    line.push('\n');
                    line.push_str(&doc.content);
                    line.push_str(&doc.name);
                }
                args = vec![line];
            }
        }
        if cmd.prepend_shell {
            let mut full: Vec<String> = if !shell.is_empty() {
                shell.to_vec()
            } else if windows {
                vec!["cmd".into(), "/S".into(), "/C".into()]
            } else {
                vec!["/bin/sh".into(), "-c".into()]
            };
            full.push(args.join(" "));
            args = full;
        }
        Ok(RunInvocation { args, script })
    }
}
