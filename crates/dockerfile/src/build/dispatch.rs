//! Expanding each instruction of a stage in order, as BuildKit's `dispatch` does: which
//! words are expanded, with which environment, and the lint findings raised on the way.

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::instructions::{parse_mount, parse_node, Parsed, SourceContent};
use crate::shell_words::Env;

/// Arguments that never become environment variables.
const NON_ENV_ARGS: [&str; 2] = ["BUILDKIT_SBOM_SCAN_CONTEXT", "BUILDKIT_SBOM_SCAN_STAGE"];

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

pub(crate) struct Context<'a> {
    pub lex: Lexer,
    pub global: EnvList,
    pub build_args: &'a BTreeMap<String, String>,
    pub target_platform: Platform,
    pub images: &'a dyn BaseImages,
    pub findings: &'a mut Vec<Finding>,
    pub by_name: &'a BTreeMap<String, usize>,
}

/// The state a stage carries from instruction to instruction.
#[derive(Debug, Clone, Default)]
struct State {
    /// The environment instructions expand with (image env, ARG values, ENV).
    env: EnvList,
    /// The image config's environment (image env and ENV only).
    image_env: EnvList,
    workdir: String,
    user: String,
    shell: Vec<String>,
    workdir_set: bool,
    /// ARG names declared so far (with values if any), inherited from base stages.
    args: Vec<(String, Option<String>)>,
    platform: Platform,
    onbuild: Vec<String>,
}

/// Adds the ONBUILD triggers of needed stages' bases; true when they added dependencies
/// (so reachability must be computed again).
pub(crate) fn add_onbuild_triggers(
    df: &Dockerfile,
    heads: &mut [StageHead],
    needed: &[bool],
    opts: &BuildOptions,
    images: &dyn BaseImages,
    by_name: &BTreeMap<String, usize>,
) -> Result<bool, Error> {
    let mut new_deps = false;
    for i in 0..heads.len() {
        if !needed[i] || heads[i].commands.iter().any(|(_, ob)| *ob) {
            continue;
        }
        let triggers: Vec<String> = match &heads[i].base {
            Base::Stage(j) => df.stages[*j]
                .commands
                .iter()
                .filter_map(|c| match &c.instruction {
                    Instruction::Onbuild(o) => Some(o.expression.clone()),
                    _ => None,
                })
                .collect(),
            Base::Image(r) => {
                let platform = heads[i]
                    .platform
                    .clone()
                    .or_else(|| opts.target_platform.clone())
                    .unwrap_or_else(|| opts.build_platform.clone());
                images
                    .config(r, &platform)
                    .map(|c| c.onbuild)
                    .unwrap_or_default()
            }
            Base::Scratch => Vec::new(),
        };
        if triggers.is_empty() {
            continue;
        }
        let at = df.stages[i].lines;
        let mut cmds = Vec::new();
        for trigger in &triggers {
            let located = |e: Error| Error::plan(e.message().to_string(), Some(at));
            let ast = crate::lexer::parse(trigger).map_err(located)?;
            if ast.nodes.len() != 1 {
                return Err(Error::plan(
                    "onbuild trigger should be a single expression",
                    Some(at),
                ));
            }
            let mut node = ast.nodes[0].clone();
            node.lines = at;
            let mut ignored = Vec::new();
            let cmd = match parse_node(&node, &mut ignored) {
                Ok(Parsed::Command(c)) => c,
                Ok(Parsed::Stage(_)) => {
                    return Err(Error::plan(
                        "*instructions.Stage is not a command type",
                        Some(at),
                    ))
                }
                Err(m) => return Err(Error::plan(m, Some(at))),
            };
            let sources = command_sources(&cmd, by_name, heads.len())?;
            new_deps |= !sources.is_empty();
            heads[i].deps.extend(sources);
            cmds.push((cmd, true));
        }
        cmds.append(&mut heads[i].commands);
        heads[i].commands = cmds;
    }
    Ok(new_deps)
}

/// Expands every needed stage (or all with `all_stages`) in file order.
pub(crate) fn dispatch_all(
    df: &Dockerfile,
    heads: &[StageHead],
    needed: &[bool],
    all_stages: bool,
    ctx: &mut Context<'_>,
) -> Result<Vec<StagePlan>, Error> {
    let mut finals: Vec<Option<State>> = vec![None; heads.len()];
    let mut out = Vec::with_capacity(heads.len());
    for (i, head) in heads.iter().enumerate() {
        let st = &df.stages[i];
        let mut plan = StagePlan {
            index: i,
            name: st.from.name.clone(),
            display_name: head.display_name.clone(),
            base: head.base.clone(),
            platform: head
                .platform
                .clone()
                .unwrap_or_else(|| ctx.target_platform.clone()),
            needed: needed[i],
            deps: head
                .deps
                .iter()
                .map(|(on, lines)| Dependency {
                    on: on.clone(),
                    lines: *lines,
                })
                .collect(),
            steps: Vec::new(),
            env: Vec::new(),
            workdir: String::new(),
            user: String::new(),
            shell: Vec::new(),
        };
        if needed[i] || all_stages {
            let mut state = initial_state(head, &finals, ctx);
            let mut d = Dispatcher {
                ctx,
                state: &mut state,
                stage_index: i,
                display_name: &head.display_name,
                finals: &finals,
                seen: BTreeMap::new(),
            };
            for (cmd, onbuild) in &head.commands {
                let op = d.dispatch(cmd)?;
                plan.steps.push(Step {
                    op,
                    keyword: cmd.keyword.clone(),
                    code: cmd.code.clone(),
                    lines: cmd.lines,
                    onbuild: *onbuild,
                });
            }
            plan.platform = state.platform.clone();
            plan.env = state.image_env.entries().to_vec();
            plan.workdir = state.workdir.clone();
            plan.user = state.user.clone();
            plan.shell = state.shell.clone();
            finals[i] = Some(state);
        }
        out.push(plan);
    }
    Ok(out)
}

fn initial_state(head: &StageHead, finals: &[Option<State>], ctx: &Context<'_>) -> State {
    let platform = head
        .platform
        .clone()
        .unwrap_or_else(|| ctx.target_platform.clone());
    if let Base::Stage(j) = head.base {
        if let Some(base) = finals.get(j).cloned().flatten() {
            let mut s = base;
            s.onbuild.clear();
            return s;
        }
    }
    let config = match &head.base {
        Base::Image(r) => ctx.images.config(r, &platform).unwrap_or_default(),
        _ => ImageConfig::default(),
    };
    let mut s = State {
        platform,
        user: config.user.clone(),
        shell: config.shell.clone(),
        ..State::default()
    };
    for (k, v) in &config.env {
        s.image_env.set(k, v);
    }
    if s.image_env.get("PATH").is_none() && s.platform.os != "windows" {
        s.image_env.set("PATH", DEFAULT_PATH);
    }
    s.env = s.image_env.clone();
    if !config.workdir.is_empty() {
        s.workdir = normalize_workdir("", &config.workdir);
    }
    s
}

/// BuildKit's `NormalizeWorkdir` for Unix paths: relative to the current directory,
/// cleaned.
pub fn normalize_workdir(current: &str, path: &str) -> String {
    let parent = if current.is_empty() { "/" } else { current };
    let joined = if path.is_empty() {
        parent.to_string()
    } else if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{parent}/{path}")
    };
    clean_path(&joined)
}

/// Go's `path.Clean` for absolute paths.
fn clean_path(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    format!("/{}", parts.join("/"))
}

/// The secret-looking names of SecretsUsedInArgOrEnv.
fn looks_secret(key: &str) -> bool {
    const DENY: [&str; 10] = [
        "apikey",
        "auth",
        "credential",
        "credentials",
        "key",
        "password",
        "pword",
        "passwd",
        "secret",
        "token",
    ];
    const ALLOW: [&str; 3] = ["public", "file", "version"];
    let lower = key.to_lowercase();
    let has_token = |tokens: &[&str]| {
        tokens.iter().any(|t| {
            lower.match_indices(t).any(|(i, m)| {
                let before_ok = i == 0 || lower.as_bytes()[i - 1] == b'_';
                let end = i + m.len();
                let after_ok = end == lower.len() || lower.as_bytes()[end] == b'_';
                before_ok && after_ok
            })
        })
    };
    has_token(&DENY) && !has_token(&ALLOW)
}

/// Go's `moby/sys/signal.ParseSignal` on Linux.
fn valid_signal(raw: &str) -> bool {
    if let Ok(n) = raw.parse::<i64>() {
        return n != 0;
    }
    const NAMES: [&str; 34] = [
        "ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT",
        "KILL", "PIPE", "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP", "SYS", "TERM",
        "TRAP", "TSTP", "TTIN", "TTOU", "UNUSED", "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU",
    ];
    let upper = raw.to_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if NAMES.contains(&name) || name == "XFSZ" || name == "RTMIN" || name == "RTMAX" {
        return true;
    }
    let offset = |rest: &str| rest.parse::<u32>().is_ok_and(|n| (1..=15).contains(&n));
    name.strip_prefix("RTMIN+").is_some_and(offset)
        || name.strip_prefix("RTMAX-").is_some_and(offset)
}

struct Dispatcher<'c, 'a> {
    ctx: &'c mut Context<'a>,
    state: &'c mut State,
    stage_index: usize,
    display_name: &'c str,
    finals: &'c [Option<State>],
    /// Where CMD, ENTRYPOINT and HEALTHCHECK were last set in this stage.
    seen: BTreeMap<&'static str, Lines>,
}

impl Dispatcher<'_, '_> {
    fn lint(&mut self, cmd: &Command, rule: &'static rules::Rule, msg: String, at: Lines) {
        self.ctx
            .findings
            .push(Finding::new(rule, msg, at, &cmd.comments));
    }

    /// UndefinedVar for names not found, except declared ARGs.
    fn report_unmatched(&mut self, cmd: &Command, unmatched: &BTreeSet<String>) {
        let keys = self.state.env.keys();
        for name in unmatched {
            if self.state.args.iter().any(|(k, _)| k == name)
                || NON_ENV_ARGS.contains(&name.as_str())
            {
                continue;
            }
            let s = suggest::search(name, &keys, true);
            self.lint(
                cmd,
                &rules::UNDEFINED_VAR,
                rules::undefined_var(name, s.as_deref()),
                cmd.lines,
            );
        }
    }

    /// Expands one word with the stage environment (BuildKit's single-word expander).
    fn word(&mut self, cmd: &Command, word: &str) -> Result<String, Error> {
        match self.ctx.lex.process_word(word, &self.state.env) {
            Ok(e) => {
                self.report_unmatched(cmd, &e.unmatched);
                Ok(e.result)
            }
            Err(e) => Err(Error::plan(e.to_string(), Some(cmd.lines))),
        }
    }

    fn words(&mut self, cmd: &Command, words: &[String]) -> Result<Vec<String>, Error> {
        words.iter().map(|w| self.word(cmd, w)).collect()
    }

    /// Heredoc bodies of COPY/ADD: `\` escapes, quotes left alone.
    fn contents(
        &mut self,
        cmd: &Command,
        contents: &[SourceContent],
    ) -> Result<Vec<SourceContent>, Error> {
        let mut lex = Lexer::new('\\');
        lex.skip_quotes = true;
        let mut out = contents.to_vec();
        for c in out.iter_mut().filter(|c| c.expand) {
            let e = lex
                .process_word(&c.data, &self.state.env)
                .map_err(|e| Error::plan(e.to_string(), Some(cmd.lines)))?;
            self.report_unmatched(cmd, &e.unmatched);
            c.data = e.result;
        }
        Ok(out)
    }

    fn files(&mut self, cmd: &Command, files: &SourcesAndDest) -> Result<SourcesAndDest, Error> {
        let paths = self.words(cmd, &files.paths)?;
        let dest = self.word(cmd, &files.dest)?;
        let contents = self.contents(cmd, &files.contents)?;
        Ok(SourcesAndDest {
            dest,
            paths,
            contents,
        })
    }

    fn used_once(&mut self, cmd: &Command, which: &'static str) {
        if let Some(prev) = self.seen.get(which).copied() {
            self.lint(
                cmd,
                &rules::MULTIPLE_INSTRUCTIONS_DISALLOWED,
                rules::multiple_instructions_disallowed(&cmd.keyword),
                prev,
            );
        }
        self.seen.insert(which, cmd.lines);
    }

    fn is_dispatched(&self, base: &Base) -> bool {
        match base {
            Base::Stage(j) => self.finals.get(*j).is_some_and(Option::is_some),
            _ => true,
        }
    }

    fn dispatch(&mut self, cmd: &Command) -> Result<Op, Error> {
        let at = Some(cmd.lines);
        Ok(match &cmd.instruction {
            Instruction::Maintainer(m) => Op::Maintainer(m.clone()),
            Instruction::Env(kvs) => {
                let mut pairs = Vec::with_capacity(kvs.len());
                for kv in kvs {
                    pairs.push((self.word(cmd, &kv.key)?, self.word(cmd, &kv.value)?));
                }
                for (kv, (k, v)) in kvs.iter().zip(&pairs) {
                    if kv.legacy {
                        self.lint(
                            cmd,
                            &rules::LEGACY_KEY_VALUE_FORMAT,
                            rules::legacy_key_value_format(&cmd.keyword),
                            cmd.lines,
                        );
                    }
                    if looks_secret(k) {
                        self.lint(
                            cmd,
                            &rules::SECRETS_USED_IN_ARG_OR_ENV,
                            rules::secrets_used_in_arg_or_env("ENV", k),
                            cmd.lines,
                        );
                    }
                    self.state.env.set(k, v);
                    self.state.image_env.set(k, v);
                }
                Op::Env(pairs)
            }
            Instruction::Label(kvs) => {
                let mut pairs = Vec::with_capacity(kvs.len());
                for kv in kvs {
                    pairs.push((self.word(cmd, &kv.key)?, self.word(cmd, &kv.value)?));
                }
                for kv in kvs {
                    if kv.legacy {
                        self.lint(
                            cmd,
                            &rules::LEGACY_KEY_VALUE_FORMAT,
                            rules::legacy_key_value_format(&cmd.keyword),
                            cmd.lines,
                        );
                    }
                }
                Op::Label(pairs)
            }
            Instruction::Run(r) => {
                let mut mounts = Vec::with_capacity(r.mount_specs.len());
                for spec in &r.mount_specs {
                    let mut expand =
                        |w: &str| self.word(cmd, w).map_err(|e| e.message().to_string());
                    let m = parse_mount(spec, Some(&mut expand)).map_err(|m| Error::plan(m, at))?;
                    let source = if m.from.is_empty() {
                        None
                    } else {
                        Some(match self.ctx.by_name.get(&m.from.to_lowercase()) {
                            Some(&j) => Base::Stage(j),
                            None => Base::Image(m.from.clone()),
                        })
                    };
                    if let Some(src) = &source {
                        if !self.is_dispatched(src) {
                            return Err(Error::plan(
                                format!(
                                    "cannot mount from stage {} to {}, stage needs to be defined before current command",
                                    go_quote(&m.from),
                                    go_quote(&m.target)
                                ),
                                at,
                            ));
                        }
                    }
                    mounts.push(RunMount { mount: m, source });
                }
                Op::Run(RunStep {
                    command: r.command.clone(),
                    mounts,
                    network: r.network,
                    security: r.security,
                    devices: r.devices.clone(),
                    env: self.state.env.entries().to_vec(),
                })
            }
            Instruction::Workdir(p) => {
                let path = self.word(cmd, p)?;
                if !self.state.workdir_set && !path.starts_with('/') {
                    self.lint(
                        cmd,
                        &rules::WORKDIR_RELATIVE_PATH,
                        rules::workdir_relative_path(&path),
                        cmd.lines,
                    );
                }
                self.state.workdir_set = true;
                let resolved = normalize_workdir(&self.state.workdir, &path);
                self.state.workdir = resolved.clone();
                Op::Workdir { path, resolved }
            }
            Instruction::Add(a) => {
                let chown = self.word(cmd, &a.chown)?;
                let chmod = self.word(cmd, &a.chmod)?;
                let checksum = self.word(cmd, &a.checksum)?;
                let files = self.files(cmd, &a.files)?;
                Op::Add(AddStep {
                    files,
                    chown,
                    chmod,
                    link: a.link,
                    keep_git_dir: a.keep_git_dir,
                    checksum,
                    unpack: a.unpack,
                    excludes: a.excludes.clone(),
                })
            }
            Instruction::Copy(c) => {
                let chown = self.word(cmd, &c.chown)?;
                let chmod = self.word(cmd, &c.chmod)?;
                let files = self.files(cmd, &c.files)?;
                let source = match &c.from {
                    None => None,
                    Some(from) => {
                        let src =
                            super::stage_ref(from, self.ctx.by_name, self.finals.len(), cmd.lines)?;
                        if !self.is_dispatched(&src) || src == Base::Stage(self.stage_index) {
                            return Err(Error::plan(
                                format!(
                                    "cannot copy from stage {}, it needs to be defined before current stage {}",
                                    go_quote(from),
                                    go_quote(self.display_name)
                                ),
                                at,
                            ));
                        }
                        Some(src)
                    }
                };
                Op::Copy(CopyStep {
                    source,
                    files,
                    chown,
                    chmod,
                    link: c.link,
                    parents: c.parents,
                    excludes: c.excludes.clone(),
                })
            }
            Instruction::Onbuild(o) => {
                self.state.onbuild.push(o.expression.clone());
                Op::Onbuild(o.expression.clone())
            }
            Instruction::Cmd(c) | Instruction::Entrypoint(c) => {
                let which = if matches!(cmd.instruction, Instruction::Cmd(_)) {
                    "cmd"
                } else {
                    "entrypoint"
                };
                self.used_once(cmd, which);
                if c.prepend_shell && self.state.shell.is_empty() {
                    self.lint(
                        cmd,
                        &rules::JSON_ARGS_RECOMMENDED,
                        rules::json_args_recommended(&cmd.keyword),
                        cmd.lines,
                    );
                }
                if which == "cmd" {
                    Op::Cmd(c.clone())
                } else {
                    Op::Entrypoint(c.clone())
                }
            }
            Instruction::Healthcheck(h) => {
                self.used_once(cmd, "healthcheck");
                Op::Healthcheck(h.clone())
            }
            Instruction::Expose(ports) => {
                let mut specs = Vec::new();
                for p in ports {
                    let words = self
                        .ctx
                        .lex
                        .process_words(p, &self.state.env)
                        .map_err(|e| Error::plan(e.to_string(), at))?;
                    specs.extend(words);
                }
                let mut out = Vec::new();
                for raw in &specs {
                    let spec = ports::parse_port(raw).map_err(|m| Error::plan(m, at))?;
                    if spec.proto_not_lower {
                        self.lint(
                            cmd,
                            &rules::EXPOSE_PROTO_CASING,
                            rules::expose_proto_casing(raw),
                            cmd.lines,
                        );
                    }
                    if spec.has_host_part {
                        self.lint(
                            cmd,
                            &rules::EXPOSE_INVALID_FORMAT,
                            rules::expose_invalid_format(raw),
                            cmd.lines,
                        );
                    }
                    out.extend(spec.ports);
                }
                Op::Expose(out)
            }
            Instruction::User(u) => {
                let user = self.word(cmd, u)?;
                self.state.user = user.clone();
                Op::User(user)
            }
            Instruction::Volume(vs) => {
                let vols = self.words(cmd, vs)?;
                if vols.iter().any(String::is_empty) {
                    return Err(Error::plan(
                        "VOLUME specified can not be an empty string",
                        at,
                    ));
                }
                Op::Volume(vols)
            }
            Instruction::StopSignal(s) => {
                let sig = self.word(cmd, s)?;
                if !valid_signal(&sig) {
                    return Err(Error::plan(format!("Invalid signal: {sig}"), at));
                }
                Op::StopSignal(sig)
            }
            Instruction::Shell(sh) => {
                self.state.shell = sh.clone();
                Op::Shell(sh.clone())
            }
            Instruction::Arg(defs) => {
                let mut out = Vec::with_capacity(defs.len());
                for def in defs {
                    if looks_secret(&def.key) {
                        self.lint(
                            cmd,
                            &rules::SECRETS_USED_IN_ARG_OR_ENV,
                            rules::secrets_used_in_arg_or_env("ARG", &def.key),
                            cmd.lines,
                        );
                    }
                    let given = self.ctx.build_args.get(&def.key).cloned();
                    let mut value = def.value.clone();
                    if value.is_none() && given.is_none() {
                        value = self.ctx.global.get(&def.key).map(str::to_string);
                    }
                    if let Some(v) = given {
                        value = Some(v);
                    } else if let Some(default) = def.value.as_deref() {
                        value = Some(self.word(cmd, default)?);
                    }
                    if let Some(v) = &value {
                        if !NON_ENV_ARGS.contains(&def.key.as_str()) {
                            self.state.env.set(&def.key, v);
                        }
                    }
                    self.state.args.push((def.key.clone(), value.clone()));
                    out.push((def.key.clone(), value));
                }
                Op::Arg(out)
            }
            Instruction::From(_) => return Err(Error::plan("FROM is not a command", at)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workdirs() {
        assert_eq!(normalize_workdir("", "app"), "/app");
        assert_eq!(normalize_workdir("/a", "b/../c"), "/a/c");
        assert_eq!(normalize_workdir("/a", "/x/./y/"), "/x/y");
        assert_eq!(normalize_workdir("/a", ""), "/a");
    }

    #[test]
    fn secret_names() {
        for k in [
            "SECRET_PASSPHRASE",
            "SUPER_Secret",
            "password",
            "auth",
            "git_key",
            "apikey",
        ] {
            assert!(looks_secret(k), "{k}");
        }
        for k in [
            "PUBLIC_KEY",
            "public_token",
            "SECRET_PASSPHRASE_FILE",
            "AUTH_MODULE_VERSION",
            "sunflower",
            "monkey",
        ] {
            assert!(!looks_secret(k), "{k}");
        }
    }

    #[test]
    fn signals() {
        for s in ["SIGTERM", "term", "9", "SIGRTMIN+3", "RTMAX-1"] {
            assert!(valid_signal(s), "{s}");
        }
        for s in ["0", "SIGFOO", "RTMIN+16", ""] {
            assert!(!valid_signal(s), "{s}");
        }
    }
}
