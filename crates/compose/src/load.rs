//! Loading a project as compose-go does it: which files (`-f`, `COMPOSE_FILE`, the default
//! names up the directory tree and their override), which variables (the environment,
//! then the project's `.env` or `--env-file`), then per file: parse, check against the
//! schema, interpolate, cast, `extends`, `include`, merge; then the canonical long forms,
//! paths made absolute, names and defaults, profiles, the services' environment, and the
//! consistency checks. The file system is read through [`Fs`], so the loader is tested
//! without touching a disk.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::yaml::{Node, Value};

/// What the loader reads.
pub trait Fs {
    fn read(&self, p: &Path) -> std::io::Result<String>;
    fn exists(&self, p: &Path) -> bool;
}

/// The real file system.
pub struct RealFs;

impl Fs for RealFs {
    fn read(&self, p: &Path) -> std::io::Result<String> {
        std::fs::read_to_string(p)
    }
    fn exists(&self, p: &Path) -> bool {
        p.exists()
    }
}

/// A loading error: one line, naming the file, key or line at fault.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("{0}")]
pub struct Error(pub String);

fn err<T>(m: impl Into<String>) -> Result<T, Error> {
    Err(Error(m.into()))
}

/// The command line's loading options.
#[derive(Debug, Clone)]
pub struct Options {
    /// `-f` (`-` is standard input, read by the caller into `stdin`).
    pub files: Vec<PathBuf>,
    pub stdin: Option<String>,
    /// `-p`.
    pub project_name: Option<String>,
    /// `--profile`.
    pub profiles: Vec<String>,
    /// `--env-file`.
    pub env_files: Vec<PathBuf>,
    /// `--project-directory`.
    pub project_directory: Option<PathBuf>,
    /// The current directory.
    pub cwd: PathBuf,
    /// The process environment.
    pub os_env: BTreeMap<String, String>,
    pub interpolate: bool,
    pub normalize: bool,
    pub resolve_paths: bool,
    pub consistency: bool,
    pub resolve_env: bool,
    /// `config --profiles` (the profiles of all services are always collected; the
    /// project is loaded with the enabled ones, as docker compose does).
    pub all_profiles: bool,
    /// Services named on the command line: their profiles are enabled.
    pub services: Vec<String>,
    /// Where warnings go (docker compose logs them on stderr).
    pub warn: fn(&str),
}

impl Options {
    pub fn new(cwd: PathBuf, os_env: BTreeMap<String, String>) -> Options {
        Options {
            files: Vec::new(),
            stdin: None,
            project_name: None,
            profiles: Vec::new(),
            env_files: Vec::new(),
            project_directory: None,
            cwd,
            os_env,
            interpolate: true,
            normalize: true,
            resolve_paths: true,
            consistency: true,
            resolve_env: true,
            all_profiles: false,
            services: Vec::new(),
            warn: |_| {},
        }
    }
}

/// A loaded project.
#[derive(Debug, Clone)]
pub struct Project {
    pub name: String,
    pub workdir: PathBuf,
    pub files: Vec<PathBuf>,
    /// The variables interpolation saw.
    pub env: BTreeMap<String, String>,
    /// The canonical model (what `config --format json` prints).
    pub model: Node,
    /// Services a profile left out.
    pub disabled: Vec<String>,
    /// Every profile named in the files.
    pub all_profiles: Vec<String>,
    /// The merged files before canonical forms (`config --no-interpolate`).
    pub raw: Node,
}

pub const DEFAULT_FILES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];
pub const OVERRIDE_FILES: &[&str] = &[
    "compose.override.yml",
    "compose.override.yaml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
];

fn absolute(base: &Path, p: &Path) -> PathBuf {
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    };
    clean(&joined)
}

/// Go's `filepath.Rel` for two clean absolute paths: `to` as seen from `base`.
pub fn relative_to(base: &Path, to: &Path) -> PathBuf {
    let b: Vec<_> = base.components().collect();
    let t: Vec<_> = to.components().collect();
    let common = b.iter().zip(&t).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..b.len() {
        out.push("..");
    }
    for c in &t[common..] {
        out.push(c);
    }
    if out.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        out
    }
}

/// Go's `filepath.Clean` for absolute paths.
pub fn clean(p: &Path) -> PathBuf {
    let mut out: Vec<String> = Vec::new();
    let abs = p.is_absolute();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                if out.last().is_some_and(|l| l != "..") {
                    out.pop();
                } else if !abs {
                    out.push("..".into());
                }
            }
            std::path::Component::Normal(s) => out.push(s.to_string_lossy().into_owned()),
            _ => {}
        }
    }
    let s = out.join("/");
    PathBuf::from(if abs {
        format!("/{s}")
    } else if s.is_empty() {
        ".".into()
    } else {
        s
    })
}

/// Variables of env files, over `env` (which wins: the environment overrides `.env`).
fn read_env_files(
    fs: &dyn Fs,
    files: &[PathBuf],
    env: &BTreeMap<String, String>,
    explicit: bool,
) -> Result<BTreeMap<String, String>, Error> {
    let mut out = env.clone();
    let mut from_files: BTreeMap<String, String> = BTreeMap::new();
    for f in files {
        let src = match fs.read(f) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => continue,
            // compose-go's `GetEnvFromFile`: a missing file is named without the cause.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return err(format!("couldn't find env file: {}", f.display()))
            }
            Err(e) => {
                return err(format!(
                    "couldn't find env file: {}: {}",
                    f.display(),
                    io_text(&e)
                ))
            }
        };
        let vars = crate::dotenv::parse(&src, &|k: &str| {
            from_files.get(k).cloned().or_else(|| env.get(k).cloned())
        })
        .map_err(|e| Error(format!("failed to read {}: {e}", f.display())))?;
        for (k, v) in vars {
            from_files.insert(k, v);
        }
    }
    for (k, v) in from_files {
        out.entry(k).or_insert(v);
    }
    Ok(out)
}

fn io_text(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// Docker's project name normalisation: lower case, only `[a-z0-9_-]`.
pub fn normalize_name(s: &str) -> String {
    s.to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect()
}

fn check_name(s: &str) -> Result<(), Error> {
    let ok = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        err(format!("invalid project name {s:?}: must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number"))
    }
}

/// The files to load, in order.
pub fn config_files(
    opts: &Options,
    env: &BTreeMap<String, String>,
    fs: &dyn Fs,
) -> Result<Vec<PathBuf>, Error> {
    if !opts.files.is_empty() {
        return Ok(opts
            .files
            .iter()
            .map(|f| {
                if f.as_os_str() == "-" {
                    f.clone()
                } else {
                    absolute(&opts.cwd, f)
                }
            })
            .collect());
    }
    if let Some(cf) = env.get("COMPOSE_FILE").filter(|s| !s.is_empty()) {
        let sep = env
            .get("COMPOSE_PATH_SEPARATOR")
            .cloned()
            .unwrap_or(":".into());
        let base = opts.project_directory.as_deref().unwrap_or(&opts.cwd);
        return Ok(cf
            .split(sep.as_str())
            .filter(|s| !s.is_empty())
            .map(|f| absolute(&absolute(&opts.cwd, base), Path::new(f)))
            .collect());
    }
    let mut dir = absolute(
        &opts.cwd,
        opts.project_directory.as_deref().unwrap_or(Path::new(".")),
    );
    // Every supported name present counts; the first wins, with a warning when there
    // are several.
    let pick = |names: &[&str], dir: &Path, what: &str| -> Option<PathBuf> {
        let found: Vec<PathBuf> = names
            .iter()
            .map(|n| dir.join(n))
            .filter(|p| fs.exists(p))
            .collect();
        if found.len() > 1 {
            let list: Vec<String> = found.iter().map(|p| p.display().to_string()).collect();
            (opts.warn)(&format!(
                "Found multiple {what} files with supported names: {}",
                list.join(", ")
            ));
            (opts.warn)(&format!("Using {}", list[0]));
        }
        found.into_iter().next()
    };
    loop {
        if let Some(f) = pick(DEFAULT_FILES, &dir, "config") {
            let mut out = vec![f];
            if let Some(o) = pick(OVERRIDE_FILES, &dir, "override") {
                out.push(o);
            }
            return Ok(out);
        }
        match dir.parent() {
            Some(p) if p != dir => dir = p.to_path_buf(),
            _ => return err("no configuration file provided: not found"),
        }
    }
}

/// Variables, files and working directory of a project.
struct Context<'a> {
    fs: &'a dyn Fs,
    opts: &'a Options,
    /// Files already warned about for their `version`.
    versioned: std::cell::RefCell<Vec<PathBuf>>,
}

/// Path patterns (`*` one key, `[]` one index) and the type a string there is cast to
/// after interpolation.
const CASTS: &[(&str, char)] = &[
    ("services.*.cpu_count", 'I'),
    ("services.*.cpu_percent", 'f'),
    ("services.*.cpu_period", 'I'),
    ("services.*.cpu_quota", 'I'),
    ("services.*.cpu_rt_period", 'I'),
    ("services.*.cpu_rt_runtime", 'I'),
    ("services.*.cpus", 'f'),
    ("services.*.cpu_shares", 'I'),
    ("services.*.init", 'b'),
    ("services.*.deploy.replicas", 'i'),
    ("services.*.deploy.update_config.parallelism", 'i'),
    ("services.*.deploy.update_config.max_failure_ratio", 'f'),
    ("services.*.deploy.rollback_config.parallelism", 'i'),
    ("services.*.deploy.rollback_config.max_failure_ratio", 'f'),
    ("services.*.deploy.restart_policy.max_attempts", 'i'),
    ("services.*.deploy.placement.max_replicas_per_node", 'i'),
    ("services.*.healthcheck.retries", 'i'),
    ("services.*.healthcheck.disable", 'b'),
    ("services.*.oom_kill_disable", 'b'),
    ("services.*.oom_score_adj", 'I'),
    ("services.*.pids_limit", 'I'),
    ("services.*.ports.[].target", 'i'),
    ("services.*.privileged", 'b'),
    ("services.*.read_only", 'b'),
    ("services.*.scale", 'i'),
    ("services.*.stdin_open", 'b'),
    ("services.*.tty", 'b'),
    ("services.*.ulimits.*", 'i'),
    ("services.*.ulimits.*.hard", 'i'),
    ("services.*.ulimits.*.soft", 'i'),
    ("services.*.volumes.[].read_only", 'b'),
    ("services.*.volumes.[].volume.nocopy", 'b'),
    ("networks.*.external", 'b'),
    ("networks.*.internal", 'b'),
    ("networks.*.attachable", 'b'),
    ("networks.*.enable_ipv4", 'b'),
    ("networks.*.enable_ipv6", 'b'),
    ("volumes.*.external", 'b'),
    ("secrets.*.external", 'b'),
    ("configs.*.external", 'b'),
];

/// Whether a path (`[i]` for items) matches a pattern (`*` one key, `[]` one item).
pub(crate) fn path_matches(path: &[String], pattern: &str) -> bool {
    let pat: Vec<&str> = pattern.split('.').collect();
    pat.len() == path.len()
        && pat.iter().zip(path).all(|(p, s)| {
            *p == "*" && !s.starts_with('[') || *p == "[]" && s.starts_with('[') || *p == s
        })
}

/// A path as compose-go writes it in errors (`services.app.ports.[].target`).
fn go_path(path: &[String]) -> String {
    path.iter()
        .map(|p| if p.starts_with('[') { "[]" } else { p.as_str() })
        .collect::<Vec<_>>()
        .join(".")
}

/// compose-go's casts: `i` `strconv.Atoi`, `I` `strconv.ParseInt`, `f` `ParseFloat`,
/// `b` its boolean (YAML 1.1 words accepted with a warning).
fn cast(s: &str, kind: char, warn: fn(&str)) -> Result<Value, String> {
    let q = crate::interpolate::go_quote(s);
    match kind {
        'i' | 'I' => s.parse::<i64>().map(Value::Int).map_err(|_| {
            let f = if kind == 'i' {
                "strconv.Atoi"
            } else {
                "strconv.ParseInt"
            };
            format!("{f}: parsing {q}: invalid syntax")
        }),
        'f' => s
            .parse::<f64>()
            .map(Value::Float)
            .map_err(|_| format!("strconv.ParseFloat: parsing {q}: invalid syntax")),
        _ => match s.to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            "y" | "yes" | "on" => {
                warn(&format!(
                    "{q} for boolean is not supported by YAML 1.2, please use `true`"
                ));
                Ok(Value::Bool(true))
            }
            "n" | "no" | "off" => {
                warn(&format!(
                    "{q} for boolean is not supported by YAML 1.2, please use `false`"
                ));
                Ok(Value::Bool(false))
            }
            _ => Err(format!("invalid boolean: {s}")),
        },
    }
}

/// Interpolate every string of a file's tree, then cast the typed paths. `warn` gets
/// compose-go's warning for each unset variable used without a default.
pub fn interpolate(
    n: &mut Node,
    env: &BTreeMap<String, String>,
    warn: fn(&str),
) -> Result<(), Error> {
    fn walk(
        n: &mut Node,
        path: &mut Vec<String>,
        env: &BTreeMap<String, String>,
        warn: fn(&str),
    ) -> Result<(), Error> {
        match &mut n.value {
            Value::Str(s) => {
                let out = crate::interpolate::substitute_logged(
                    s,
                    &|k: &str| env.get(k).cloned(),
                    &|k: &str| warn(&unset_warning(k)),
                )
                .map_err(|e| Error(e.at_path(&go_path(path))))?;
                if let Some((_, kind)) = CASTS.iter().find(|(p, _)| path_matches(path, p)) {
                    n.value = cast(&out, *kind, warn).map_err(|e| {
                        Error(format!(
                            "error while interpolating {}: failed to cast to expected type: {e}",
                            go_path(path)
                        ))
                    })?;
                } else {
                    *s = out;
                }
            }
            Value::Seq(items) => {
                for (i, it) in items.iter_mut().enumerate() {
                    path.push(format!("[{i}]"));
                    walk(it, path, env, warn)?;
                    path.pop();
                }
            }
            Value::Map(m) => {
                for (k, v) in m.iter_mut() {
                    path.push(k.clone());
                    walk(v, path, env, warn)?;
                    path.pop();
                }
            }
            _ => {}
        }
        Ok(())
    }
    walk(n, &mut Vec::new(), env, warn)
}

/// compose-go's warning for an unset variable.
pub fn unset_warning(name: &str) -> String {
    format!(
        "The {} variable is not set. Defaulting to a blank string.",
        crate::interpolate::go_quote(name)
    )
}

impl Context<'_> {
    /// compose-go's warning for a file with `version` (once per file).
    fn warn_version(&self, n: &Node, file: &Path) {
        self.warn_version_if(n.get("version").is_some(), file);
    }

    fn warn_version_if(&self, versioned: bool, file: &Path) {
        if versioned && !self.versioned.borrow().iter().any(|f| f == file) {
            (self.opts.warn)(&format!("{}: the attribute `version` is obsolete, it will be ignored, please remove it to avoid potential confusion", file.display()));
            self.versioned.borrow_mut().push(file.to_path_buf());
        }
    }

    fn read_yaml(&self, file: &Path) -> Result<Node, Error> {
        let src = if file.as_os_str() == "-" {
            self.opts.stdin.clone().unwrap_or_default()
        } else {
            self.fs
                .read(file)
                .map_err(|e| Error(format!("open {}: {}", file.display(), io_text(&e))))?
        };
        let n = crate::yaml::parse(&src).map_err(|e| {
            if e.is_duplicate_key() {
                Error(format!(
                    "failed to parse {}: line {}: {}",
                    file.display(),
                    e.line,
                    e.msg
                ))
            } else {
                Error(e.to_string())
            }
        })?;
        match &n.value {
            Value::Map(_) => Ok(n),
            Value::Null => err("empty compose file"),
            _ => err(format!(
                "Top-level object must be a mapping in {}",
                file.display()
            )),
        }
    }

    /// One file: parsed, checked, interpolated, with its `extends` and `include` applied.
    fn load_file(
        &self,
        file: &Path,
        workdir: &Path,
        env: &BTreeMap<String, String>,
        included: &mut Vec<PathBuf>,
        top: bool,
    ) -> Result<Node, Error> {
        let mut n = self.read_yaml(file)?;
        // A project's own files warn once they passed the schema (a file it refuses
        // gets no warning); included ones as they are read.
        if !top {
            self.warn_version(&n, file);
        }
        if self.opts.interpolate {
            interpolate(&mut n, env, self.opts.warn)?;
        }
        self.apply_extends(&mut n, file, workdir, env)?;
        if let Some(inc) = n.remove("include") {
            included.push(file.to_path_buf());
            let extra = self.apply_include(&inc, file, workdir, env, included)?;
            included.pop();
            for (kind, entries) in extra {
                let mut section = n.remove(&kind).unwrap_or(Node::map(vec![]));
                if section.is_null() {
                    section = Node::map(vec![]);
                }
                for (k, v) in entries {
                    match section.get(&k) {
                        Some(existing) if existing.to_json() != v.to_json() => {
                            return err(format!("{kind}.{k} conflicts with imported resource"))
                        }
                        Some(_) => {}
                        None => section.set(&k, v),
                    }
                }
                n.set(&kind, section);
            }
        }
        Ok(n)
    }

    fn apply_extends(
        &self,
        n: &mut Node,
        file: &Path,
        workdir: &Path,
        env: &BTreeMap<String, String>,
    ) -> Result<(), Error> {
        // compose-go's `ApplyExtends` runs before the schema and wants mappings.
        let names: Vec<String> = match n.get("services").map(|s| &s.value) {
            Some(Value::Map(m)) => {
                for (k, v) in m {
                    if !matches!(v.value, Value::Map(_) | Value::Null) {
                        return err(format!("services.{k} must be a mapping"));
                    }
                }
                m.iter().map(|(k, _)| k.clone()).collect()
            }
            Some(_) => return err("services must be a mapping".to_string()),
            None => return Ok(()),
        };
        for name in names {
            let mut chain = Vec::new();
            let resolved = self.resolve_service(n, file, file, workdir, env, &name, &mut chain)?;
            if let Some(s) = n.get_mut("services") {
                s.set(&name, resolved);
            }
        }
        Ok(())
    }

    /// A service with its `extends` chain merged in. `top` is the file being loaded
    /// (compose-go names it in errors even when the chain went through other files);
    /// `chain` holds (file as written, extending service) pairs, as compose-go's cycle
    /// tracker does.
    #[allow(clippy::too_many_arguments)]
    fn resolve_service(
        &self,
        doc: &Node,
        file: &Path,
        top: &Path,
        workdir: &Path,
        env: &BTreeMap<String, String>,
        name: &str,
        chain: &mut Vec<(String, String)>,
    ) -> Result<Node, Error> {
        let Some(svc) = doc.get("services").and_then(|s| s.get(name)) else {
            return Ok(Node::map(vec![]));
        };
        // Without `extends` the service is kept as written (a `!reset` tag included).
        if svc.get("extends").is_none() {
            return Ok(svc.clone());
        }
        let mut svc = svc.clone();
        let Some(ext) = svc.remove("extends") else {
            return Ok(svc);
        };
        let (efile, ename) = match &ext.value {
            Value::Str(s) => (None, s.clone()),
            _ => (
                ext.get("file").and_then(Node::scalar_text),
                ext.get("service")
                    .and_then(Node::scalar_text)
                    .unwrap_or_default(),
            ),
        };
        let (base_file, base_doc, label) = match &efile {
            Some(f) => {
                let dir = file.parent().unwrap_or(workdir);
                let p = absolute(dir, Path::new(f));
                let mut d = self.read_yaml(&p)?;
                self.warn_version(&d, &p);
                if self.opts.interpolate {
                    interpolate(&mut d, env, self.opts.warn)?;
                }
                if d.get("services").and_then(|s| s.get(&ename)).is_none() {
                    return err(format!(
                        "cannot extend service {name:?} in {}: service {ename:?} not found in {f}",
                        top.display()
                    ));
                }
                (p, d, f.clone())
            }
            None => {
                if doc.get("services").and_then(|s| s.get(&ename)).is_none() {
                    return err(format!(
                        "cannot extend service {name:?} in {}: service {ename:?} not found",
                        top.display()
                    ));
                }
                (file.to_path_buf(), doc.clone(), top.display().to_string())
            }
        };
        let entry = (label, name.to_string());
        if chain.contains(&entry) {
            let mut lines = vec!["Circular reference:".to_string()];
            for (i, (f, s)) in chain.iter().chain(std::iter::once(&entry)).enumerate() {
                let verb = if i == 0 { "" } else { "extends " };
                lines.push(format!("  {verb}{s} in {f}"));
            }
            return err(lines.join("\n"));
        }
        chain.push(entry);
        let mut base =
            self.resolve_service(&base_doc, &base_file, top, workdir, env, &ename, chain)?;
        chain.pop();
        // A service from another file has its relative paths rebased on that file's
        // directory as written (`common/base.yaml`: `./data` is `common/data`), which
        // the project directory then makes absolute.
        if let Some(f) = &efile {
            let rel = match Path::new(f).parent() {
                Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                _ => PathBuf::from("."),
            };
            resolve_service_paths(&mut base, &rel, &self.opts.os_env);
        }
        // Merging runs on a one-service document, so the service rules apply.
        let wrap = |s: Node| Node::map(vec![("services".into(), Node::map(vec![("x".into(), s)]))]);
        let merged = crate::merge::merge(wrap(base), wrap(svc)).map_err(Error)?;
        Ok(merged
            .get("services")
            .and_then(|s| s.get("x"))
            .cloned()
            .unwrap_or(Node::map(vec![])))
    }

    #[allow(clippy::type_complexity)]
    fn apply_include(
        &self,
        inc: &Node,
        file: &Path,
        workdir: &Path,
        env: &BTreeMap<String, String>,
        included: &mut Vec<PathBuf>,
    ) -> Result<Vec<(String, Vec<(String, Node)>)>, Error> {
        let mut out: Vec<(String, Vec<(String, Node)>)> = Vec::new();
        let Some(items) = inc.as_seq() else {
            return Ok(out);
        };
        let base_dir = file.parent().unwrap_or(workdir).to_path_buf();
        for it in items {
            let (paths, pdir, env_files): (Vec<String>, Option<String>, Vec<String>) = match &it
                .value
            {
                Value::Str(s) => (vec![s.clone()], None, vec![]),
                _ => {
                    let list = |k: &str| -> Vec<String> {
                        match it.get(k) {
                            Some(n) => match &n.value {
                                Value::Seq(s) => s.iter().filter_map(Node::scalar_text).collect(),
                                _ => n.scalar_text().into_iter().collect(),
                            },
                            None => vec![],
                        }
                    };
                    (
                        list("path"),
                        it.get("project_directory").and_then(Node::scalar_text),
                        list("env_file"),
                    )
                }
            };
            let files: Vec<PathBuf> = paths
                .iter()
                .map(|p| absolute(&base_dir, Path::new(p)))
                .collect();
            let Some(first) = files.first() else { continue };
            if included.contains(first) {
                let mut chain: Vec<String> =
                    included.iter().map(|p| p.display().to_string()).collect();
                chain.push(first.display().to_string());
                return err(format!(
                    "include cycle detected:\n{}",
                    chain.join("\n include ")
                ));
            }
            let sub_dir = match &pdir {
                Some(d) => absolute(&base_dir, Path::new(d)),
                None => first.parent().unwrap_or(&base_dir).to_path_buf(),
            };
            let env_paths: Vec<PathBuf> = if env_files.is_empty() {
                vec![sub_dir.join(".env")]
            } else {
                env_files
                    .iter()
                    .map(|f| absolute(&base_dir, Path::new(f)))
                    .collect()
            };
            let sub_env = read_env_files(self.fs, &env_paths, env, !env_files.is_empty())?;
            for v in crate::dotenv::take_unset() {
                (self.opts.warn)(&unset_warning(&v));
            }
            let mut dict = Node::map(vec![]);
            for f in &files {
                if !self.fs.exists(f) {
                    return err(format!("open {}: no such file or directory", f.display()));
                }
                let n = self.load_file(f, &sub_dir, &sub_env, included, false)?;
                dict = crate::merge::merge(dict, n).map_err(Error)?;
            }
            crate::merge::unicity(&mut dict);
            if self.opts.resolve_paths {
                resolve_paths(&mut dict, &sub_dir, &self.opts.os_env);
            } else {
                // compose-go resolves an included file's paths whatever the flags, against
                // its directory relative to the including project's (`monitoring/x.yml`).
                resolve_paths(
                    &mut dict,
                    &relative_to(workdir, &sub_dir),
                    &self.opts.os_env,
                );
            }
            for kind in [
                "services", "networks", "volumes", "secrets", "configs", "models",
            ] {
                if let Some(m) = dict.get(kind).and_then(Node::as_map) {
                    let entry = match out.iter_mut().find(|(k, _)| k == kind) {
                        Some(e) => e,
                        None => {
                            out.push((kind.to_string(), Vec::new()));
                            let n = out.len() - 1;
                            &mut out[n]
                        }
                    };
                    for (k, v) in m {
                        entry.1.push((k.clone(), v.clone()));
                    }
                }
            }
        }
        Ok(out)
    }
}

fn is_remote(s: &str) -> bool {
    s.contains("://") || s.starts_with("git@") || s.starts_with("github.com/")
}

fn expand_home(s: &str, env: &BTreeMap<String, String>) -> String {
    if s == "~" || s.starts_with("~/") {
        if let Some(h) = env.get("HOME") {
            return format!("{h}{}", &s[1..]);
        }
    }
    s.to_string()
}

/// A path made absolute against `dir` (cleaned, as Go's `filepath.Join` does); an
/// absolute path is kept as written.
fn abs_text(dir: &Path, s: &str, env: &BTreeMap<String, String>) -> String {
    if s.starts_with('/') {
        return s.to_string();
    }
    let s = expand_home(s, env);
    absolute(dir, Path::new(&s)).display().to_string()
}

/// Relative paths of one service made absolute against `dir` (compose-go's
/// `ResolveRelativePaths`); the service may still be in short syntax.
pub fn resolve_service_paths(svc: &mut Node, dir: &Path, env: &BTreeMap<String, String>) {
    if let Some(b) = svc.get_mut("build") {
        match &mut b.value {
            Value::Str(c) if !is_remote(c) => *c = abs_text(dir, c, env),
            Value::Map(_) => {
                if let Some(c) = b.get_mut("context") {
                    if let Value::Str(s) = &mut c.value {
                        if !is_remote(s) {
                            *s = abs_text(dir, s, env);
                        }
                    }
                }
                if let Some(Value::Map(m)) = b.get_mut("additional_contexts").map(|n| &mut n.value)
                {
                    for (_, v) in m.iter_mut() {
                        if let Value::Str(s) = &mut v.value {
                            if !is_remote(s) && !s.contains(':') {
                                *s = abs_text(dir, s, env);
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    for key in ["env_file", "label_file"] {
        if let Some(e) = svc.get_mut(key) {
            match &mut e.value {
                Value::Str(s) => *s = abs_text(dir, s, env),
                Value::Seq(items) => {
                    for it in items {
                        match &mut it.value {
                            Value::Str(s) => *s = abs_text(dir, s, env),
                            Value::Map(_) => {
                                if let Some(Value::Str(s)) =
                                    it.get_mut("path").map(|n| &mut n.value)
                                {
                                    *s = abs_text(dir, s, env);
                                }
                            }
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
    }
    if let Some(Value::Seq(items)) = svc.get_mut("volumes").map(|n| &mut n.value) {
        for it in items {
            match &mut it.value {
                Value::Str(spec) => {
                    if let Ok(v) = crate::canon::parse_volume(spec) {
                        if v.kind == "bind" {
                            // The long form, so that a rebased relative source
                            // (`common/data`) still reads as a bind.
                            if let Ok(mut long) = crate::canon::short_volume(spec, it.line) {
                                long.set("source", Node::str(abs_text(dir, &v.source, env)));
                                *it = long;
                            }
                        }
                    }
                }
                Value::Map(_) => {
                    let bind = it.get("type").and_then(Node::as_str) == Some("bind");
                    if bind {
                        if let Some(Value::Str(s)) = it.get_mut("source").map(|n| &mut n.value) {
                            *s = abs_text(dir, s, env);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    if let Some(Value::Map(_)) = svc.get("extends").map(|n| &n.value) {
        if let Some(Value::Str(s)) = svc
            .get_mut("extends")
            .and_then(|e| e.get_mut("file"))
            .map(|n| &mut n.value)
        {
            *s = abs_text(dir, s, env);
        }
    }
    if let Some(Value::Seq(items)) = svc
        .get_mut("develop")
        .and_then(|d| d.get_mut("watch"))
        .map(|n| &mut n.value)
    {
        for it in items {
            if let Some(Value::Str(s)) = it.get_mut("path").map(|n| &mut n.value) {
                *s = abs_text(dir, s, env);
            }
        }
    }
}

/// Every relative path of a document made absolute against `dir`.
pub fn resolve_paths(doc: &mut Node, dir: &Path, env: &BTreeMap<String, String>) {
    if let Some(Value::Map(m)) = doc.get_mut("services").map(|n| &mut n.value) {
        for (_, svc) in m.iter_mut() {
            resolve_service_paths(svc, dir, env);
        }
    }
    for kind in ["secrets", "configs"] {
        if let Some(Value::Map(m)) = doc.get_mut(kind).map(|n| &mut n.value) {
            for (_, v) in m.iter_mut() {
                if let Some(Value::Str(s)) = v.get_mut("file").map(|n| &mut n.value) {
                    *s = abs_text(dir, s, env);
                }
            }
        }
    }
}

/// The project's name, known before the files are interpolated (they may use
/// `COMPOSE_PROJECT_NAME`): `-p`, else `COMPOSE_PROJECT_NAME` (both must be valid names),
/// else the last `name:` of the files, interpolated and normalised, else the project
/// directory's name, normalised.
fn project_name(
    cx: &Context<'_>,
    files: &[PathBuf],
    workdir: &Path,
    env: &BTreeMap<String, String>,
) -> Result<String, Error> {
    let opts = cx.opts;
    if let Some(n) = opts.project_name.clone().filter(|s| !s.is_empty()) {
        check_name(&n)?;
        return Ok(n);
    }
    if let Some(n) = env.get("COMPOSE_PROJECT_NAME").filter(|s| !s.is_empty()) {
        check_name(n)?;
        return Ok(n.clone());
    }
    let mut from_file = String::new();
    for f in files {
        // A file that does not parse is reported when it is loaded.
        if let Some(n) = cx
            .read_yaml(f)
            .ok()
            .and_then(|d| d.get("name").and_then(Node::scalar_text))
            .filter(|n| !n.is_empty())
        {
            from_file = n;
        }
    }
    if opts.interpolate {
        let mut n = Node::map(vec![("name".into(), Node::str(from_file))]);
        interpolate(&mut n, env, opts.warn)?;
        from_file = n
            .get("name")
            .and_then(Node::scalar_text)
            .unwrap_or_default();
    }
    if opts.normalize {
        from_file = normalize_name(&from_file);
    }
    if !from_file.is_empty() {
        return Ok(from_file);
    }
    let base = workdir
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = normalize_name(&base);
    if n.is_empty() {
        return err("project name must not be empty");
    }
    Ok(n)
}

/// Load a project.
pub fn load(opts: &Options, fs: &dyn Fs) -> Result<Project, Error> {
    // The variables that choose files and names: the environment, then the `.env` of
    // the project directory (or the current one) or `--env-file`.
    let first_dir = absolute(
        &opts.cwd,
        opts.project_directory.as_deref().unwrap_or(Path::new(".")),
    );
    // `--env-file`, else `COMPOSE_ENV_FILES` (a comma list), else the project's `.env`
    // (unless `COMPOSE_DISABLE_ENV_FILE` is true).
    let chosen: Vec<PathBuf> = if !opts.env_files.is_empty() {
        opts.env_files.clone()
    } else {
        opts.os_env
            .get("COMPOSE_ENV_FILES")
            .map(|v| {
                v.split(',')
                    .filter(|x| !x.is_empty())
                    .map(PathBuf::from)
                    .collect()
            })
            .unwrap_or_default()
    };
    let explicit_env = !chosen.is_empty();
    let no_dotenv = opts
        .os_env
        .get("COMPOSE_DISABLE_ENV_FILE")
        .is_some_and(|v| matches!(v.as_str(), "1" | "t" | "T" | "true" | "TRUE" | "True"));
    let env_paths = |dir: &Path| -> Vec<PathBuf> {
        if explicit_env {
            chosen.iter().map(|f| absolute(&opts.cwd, f)).collect()
        } else if no_dotenv {
            Vec::new()
        } else {
            vec![dir.join(".env")]
        }
    };
    let _ = crate::dotenv::take_unset();
    let pre_env = read_env_files(fs, &env_paths(&first_dir), &opts.os_env, explicit_env)?;
    let mut env_unset = crate::dotenv::take_unset();
    let files = config_files(opts, &pre_env, fs)?;
    let workdir = match &opts.project_directory {
        Some(d) => absolute(&opts.cwd, d),
        None => files
            .iter()
            .find(|f| f.as_os_str() != "-")
            .and_then(|f| f.parent().map(Path::to_path_buf))
            .unwrap_or(opts.cwd.clone()),
    };
    let env = if workdir == first_dir {
        pre_env
    } else {
        let e = read_env_files(fs, &env_paths(&workdir), &opts.os_env, explicit_env)?;
        env_unset = crate::dotenv::take_unset();
        e
    };
    // docker compose reads the project's env files four times for `config`, warning
    // each time.
    for _ in 0..4 {
        for v in &env_unset {
            (opts.warn)(&unset_warning(v));
        }
    }
    let cx = Context {
        fs,
        opts,
        versioned: std::cell::RefCell::new(Vec::new()),
    };
    let name = project_name(&cx, &files, &workdir, &env)?;
    let mut env = env;
    env.insert("COMPOSE_PROJECT_NAME".into(), name.clone());
    let mut dict = Node::map(vec![]);
    let mut included = Vec::new();
    for f in &files {
        let n = cx.load_file(f, &workdir, &env, &mut included, true)?;
        let versioned = n.get("version").is_some();
        dict = crate::merge::merge(dict, n).map_err(Error)?;
        crate::merge::unicity_errors(&dict).map_err(Error)?;
        crate::merge::unicity(&mut dict);
        // compose-go checks the files merged so far, interpolated, against the schema,
        // naming the file just merged.
        crate::schema::validate(&dict)
            .map_err(|e| Error(format!("validating {}: {e}", f.display())))?;
        cx.warn_version_if(versioned, f);
        crate::canon::legacy_externals(&mut dict, opts.warn).map_err(Error)?;
    }
    crate::merge::strip_tags(&mut dict);

    if !opts.interpolate {
        // `--no-interpolate`: the model before it is typed.
        let model = crate::normalize::raw_project(dict, &name, opts, &workdir);
        return Ok(Project {
            name,
            workdir,
            files,
            env,
            model: model.clone(),
            disabled: Vec::new(),
            all_profiles: Vec::new(),
            raw: model,
        });
    }

    // Canonical forms.
    if let Some(Value::Map(m)) = dict.get_mut("services").map(|n| &mut n.value) {
        for (sname, svc) in m.iter_mut() {
            if svc.is_null() {
                *svc = Node::map(vec![]);
            }
            if opts.resolve_paths {
                resolve_service_paths(svc, &workdir, &opts.os_env);
            }
            crate::canon::service(sname, svc).map_err(Error)?;
        }
    }
    if opts.resolve_paths {
        resolve_paths(&mut dict, &workdir, &opts.os_env);
    }
    crate::merge::unicity(&mut dict);
    let (model, disabled, all_profiles) =
        crate::normalize::project(dict, &name, &env, opts, fs, &workdir)?;
    Ok(Project {
        name,
        workdir,
        files,
        env,
        model,
        disabled,
        all_profiles,
        raw: Node::map(vec![]),
    })
}

/// Names of the services a set of profiles enables.
pub fn profile_active(svc: &Node, enabled: &BTreeSet<String>) -> bool {
    let profiles: Vec<String> = svc
        .get("profiles")
        .and_then(Node::as_seq)
        .map(|s| s.iter().filter_map(Node::scalar_text).collect())
        .unwrap_or_default();
    profiles.is_empty() || enabled.contains("*") || profiles.iter().any(|p| enabled.contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Files in memory.
    struct MemFs(Vec<(&'static str, &'static str)>);

    impl Fs for MemFs {
        fn read(&self, p: &Path) -> std::io::Result<String> {
            self.0
                .iter()
                .find(|(n, _)| Path::new(n) == p)
                .map(|(_, t)| t.to_string())
                .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
        }
        fn exists(&self, p: &Path) -> bool {
            self.0.iter().any(|(n, _)| Path::new(n) == p)
        }
    }

    fn load_with(
        files: Vec<(&'static str, &'static str)>,
        env: &[(&str, &str)],
    ) -> Result<Project, Error> {
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let o = Options::new(PathBuf::from("/p/Dir.Name"), env);
        load(&o, &MemFs(files))
    }

    #[test]
    fn extends_cycle_names_the_files_as_written() {
        let e = load_with(
            vec![
                (
                    "/p/Dir.Name/compose.yaml",
                    "services:\n  a:\n    extends:\n      file: other.yaml\n      service: b\n",
                ),
                (
                    "/p/Dir.Name/other.yaml",
                    "services:\n  b:\n    extends:\n      file: compose.yaml\n      service: a\n",
                ),
            ],
            &[],
        )
        .err();
        assert_eq!(
            e.map(|e| e.0),
            Some("Circular reference:\n  a in other.yaml\n  extends b in compose.yaml\n  extends a in other.yaml".into())
        );
    }

    #[test]
    fn extends_of_a_missing_service() {
        let e = load_with(
            vec![(
                "/p/Dir.Name/compose.yaml",
                "services:\n  child:\n    extends: nosuch\n",
            )],
            &[],
        )
        .err();
        assert_eq!(
            e.map(|e| e.0),
            Some("cannot extend service \"child\" in /p/Dir.Name/compose.yaml: service \"nosuch\" not found".into())
        );
    }

    #[test]
    fn project_name_is_known_to_interpolation() {
        let p = load_with(
            vec![
                ("/p/Dir.Name/compose.yaml", "name: App-${STAGE}!\nservices:\n  app:\n    image: busybox\n    environment:\n      P: ${COMPOSE_PROJECT_NAME}\n"),
                ("/p/Dir.Name/.env", "STAGE=prod\n"),
            ],
            &[],
        )
        .expect("the project loads");
        assert_eq!(p.name, "app-prod");
        let env = p
            .model
            .get("services")
            .and_then(|s| s.get("app"))
            .and_then(|a| a.get("environment"))
            .and_then(|e| e.get("P"))
            .and_then(Node::scalar_text);
        assert_eq!(env.as_deref(), Some("app-prod"));
        let p = load_with(
            vec![(
                "/p/Dir.Name/compose.yaml",
                "services:\n  app:\n    image: busybox\n",
            )],
            &[],
        )
        .expect("the project loads");
        assert_eq!(p.name, "dirname");
    }

    #[test]
    fn compose_env_files_replace_dotenv() {
        let p = load_with(
            vec![
                (
                    "/p/Dir.Name/compose.yaml",
                    "services:\n  app:\n    image: busybox:${T}\n",
                ),
                ("/p/Dir.Name/.env", "T=dotenv\n"),
                ("/p/Dir.Name/a.env", "T=a\n"),
                ("/p/Dir.Name/b.env", "T=b\n"),
            ],
            &[("COMPOSE_ENV_FILES", "a.env,b.env")],
        )
        .expect("the project loads");
        assert_eq!(p.env.get("T").map(String::as_str), Some("b"));
    }

    thread_local! {
        static WARNED: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
    }

    #[test]
    fn version_warning_only_for_a_file_the_schema_accepts() {
        let mut o = Options::new(PathBuf::from("/p/x"), BTreeMap::new());
        o.files = vec!["a.yaml".into()];
        o.warn = |m| WARNED.with(|w| w.borrow_mut().push(m.to_string()));
        let bad = MemFs(vec![(
            "/p/x/a.yaml",
            "version: '3'\nservices:\n  app:\n    image: a\n    ports: 1\n",
        )]);
        assert!(load(&o, &bad).is_err());
        assert!(WARNED.with(|w| w.borrow().is_empty()));
        let good = MemFs(vec![(
            "/p/x/a.yaml",
            "version: '3'\nservices:\n  app:\n    image: a\n",
        )]);
        load(&o, &good).expect("the project loads");
        assert_eq!(
            WARNED.with(|w| w.borrow().clone()),
            vec!["/p/x/a.yaml: the attribute `version` is obsolete, it will be ignored, please remove it to avoid potential confusion".to_string()]
        );
    }

    #[test]
    fn a_missing_env_file_flag_is_named_without_the_cause() {
        let mut o = Options::new(PathBuf::from("/p/x"), BTreeMap::new());
        o.files = vec!["a.yaml".into()];
        o.env_files = vec!["env/missing.env".into()];
        let fs = MemFs(vec![("/p/x/a.yaml", "services:\n  app:\n    image: a\n")]);
        assert_eq!(
            load(&o, &fs).err().map(|e| e.0),
            Some("couldn't find env file: /p/x/env/missing.env".into())
        );
    }

    #[test]
    fn relative_paths_as_go_filepath_rel() {
        let r = |a: &str, b: &str| {
            relative_to(Path::new(a), Path::new(b))
                .display()
                .to_string()
        };
        assert_eq!(r("/p/x", "/p/x/monitoring"), "monitoring");
        assert_eq!(r("/p/x", "/p/x"), ".");
        assert_eq!(r("/p/x", "/p/shared/inc"), "../shared/inc");
    }

    #[test]
    fn included_paths_rebased_without_path_resolution() {
        let mut o = Options::new(PathBuf::from("/p/x"), BTreeMap::new());
        o.files = vec!["compose.yaml".into()];
        o.resolve_paths = false;
        let fs = MemFs(vec![
            ("/p/x/compose.yaml", "include: [./mon/compose.yaml]\nservices:\n  app:\n    image: a\n    volumes: [./data:/data]\n"),
            ("/p/x/mon/compose.yaml", "services:\n  prom:\n    image: p\n    volumes: [./prom.yml:/etc/prom.yml]\n"),
        ]);
        let p = load(&o, &fs).expect("the project loads");
        let src = |svc: &str| {
            p.model
                .get("services")
                .and_then(|s| s.get(svc))
                .and_then(|s| s.get("volumes"))
                .and_then(Node::as_seq)
                .and_then(|v| v.first())
                .and_then(|v| v.get("source"))
                .and_then(Node::scalar_text)
        };
        assert_eq!(src("prom"), Some("mon/prom.yml".into()));
        assert_eq!(src("app"), Some("./data".into()));
    }

    #[test]
    fn unnamed_values_without_normalization_or_interpolation() {
        let env: BTreeMap<String, String> =
            [("X".to_string(), "xx".to_string())].into_iter().collect();
        let fs = MemFs(vec![(
            "/p/x/compose.yaml",
            "services:\n  a:\n    image: x\n    group_add: [audio, 1001]\n    environment: [X]\n    volumes: [{type: bind, source: ., target: /opt/x/}]\n    pull_policy: if_not_present\n    build:\n      context: .\n      args: {X: null, Y: 1}\n",
        )]);
        let run = |interpolate: bool, normalize: bool| {
            let mut o = Options::new(PathBuf::from("/p/x"), env.clone());
            o.files = vec!["compose.yaml".into()];
            o.interpolate = interpolate;
            o.normalize = normalize;
            let p = load(&o, &fs).expect("the project loads");
            let a = p
                .model
                .get("services")
                .and_then(|s| s.get("a"))
                .expect("a service")
                .to_json();
            // compose-go's `Normalize` cleans mount targets, typed or not.
            let target = if normalize { "/opt/x" } else { "/opt/x/" };
            assert_eq!(a["volumes"][0]["target"], target);
            let policy = if normalize {
                "missing"
            } else {
                "if_not_present"
            };
            assert_eq!(a["pull_policy"], policy);
            (
                a["group_add"].to_string(),
                a["build"]["args"].to_string(),
                a["environment"].to_string(),
            )
        };
        // Typed and normalized: numbers are strings, named variables resolved.
        assert_eq!(
            run(true, true),
            (
                r#"["audio","1001"]"#.into(),
                r#"{"X":"xx","Y":"1"}"#.into(),
                r#"{"X":"xx"}"#.into()
            )
        );
        // --no-normalize: build args keep their nulls.
        assert_eq!(run(true, false).1, r#"{"X":null,"Y":"1"}"#);
        // --no-interpolate: resolved against no variables.
        let raw = run(false, true);
        assert_eq!((raw.1, raw.2), (r#"{"Y":1}"#.into(), r#"["X"]"#.into()));
    }

    #[test]
    fn profiles_listing_loads_with_the_enabled_profiles() {
        let mut o = Options::new(PathBuf::from("/p/x"), BTreeMap::new());
        o.files = vec!["a.yaml".into()];
        o.all_profiles = true;
        let fs = MemFs(vec![(
            "/p/x/a.yaml",
            "services:\n  app:\n    image: a\n  dbg:\n    image: b\n    profiles: [debug]\n",
        )]);
        let p = load(&o, &fs).expect("the project loads");
        assert_eq!(p.all_profiles, vec!["debug".to_string()]);
        let fs = MemFs(vec![(
            "/p/x/a.yaml",
            "services:\n  app:\n    image: a\n    depends_on: [dbg]\n  dbg:\n    image: b\n    profiles: [debug]\n",
        )]);
        assert_eq!(
            load(&o, &fs).err().map(|e| e.0),
            Some(
                "service \"app\" depends on undefined service \"dbg\": invalid compose project"
                    .into()
            )
        );
    }

    #[test]
    fn ipam_options_are_not_in_the_model() {
        let mut o = Options::new(PathBuf::from("/p/x"), BTreeMap::new());
        o.files = vec!["a.yaml".into()];
        let fs = MemFs(vec![(
            "/p/x/a.yaml",
            "services:\n  app:\n    image: a\nnetworks:\n  default:\n    ipam:\n      driver: default\n      options: {foo: bar}\n",
        )]);
        let p = load(&o, &fs).expect("the project loads");
        assert_eq!(
            p.model
                .get("networks")
                .and_then(|n| n.get("default"))
                .and_then(|n| n.get("ipam"))
                .map(|i| i.to_json().to_string()),
            Some(r#"{"driver":"default"}"#.into())
        );
    }

    #[test]
    fn services_must_be_mappings_before_the_schema() {
        let e = |src: &'static str| {
            let mut o = Options::new(PathBuf::from("/p/x"), BTreeMap::new());
            o.files = vec!["a.yaml".into()];
            load(&o, &MemFs(vec![("/p/x/a.yaml", src)]))
                .err()
                .map(|e| e.0)
        };
        assert_eq!(
            e("services: ~\n"),
            Some("services must be a mapping".into())
        );
        assert_eq!(
            e("services: [web]\n"),
            Some("services must be a mapping".into())
        );
        assert_eq!(
            e("services:\n  a: 1\n"),
            Some("services.a must be a mapping".into())
        );
        assert_eq!(
            e("services:\n  a:\n"),
            Some("validating /p/x/a.yaml: services.a must be a mapping".into())
        );
    }

    #[test]
    fn reset_removes_a_service() {
        let mut o = Options::new(PathBuf::from("/p/x"), BTreeMap::new());
        o.files = vec!["a.yaml".into(), "b.yaml".into()];
        let fs = MemFs(vec![
            (
                "/p/x/a.yaml",
                "services:\n  app:\n    image: a\n  other:\n    image: b\n",
            ),
            ("/p/x/b.yaml", "services:\n  other: !reset\n"),
        ]);
        let p = load(&o, &fs).expect("the project loads");
        assert!(p
            .model
            .get("services")
            .and_then(|s| s.get("other"))
            .is_none());
    }

    #[test]
    fn casts_as_compose_go() {
        assert_eq!(cast("3", 'i', |_| {}), Ok(Value::Int(3)));
        assert_eq!(
            cast("many", 'i', |_| {}),
            Err("strconv.Atoi: parsing \"many\": invalid syntax".into())
        );
        assert_eq!(
            cast("x", 'I', |_| {}),
            Err("strconv.ParseInt: parsing \"x\": invalid syntax".into())
        );
        assert_eq!(cast("yes", 'b', |_| {}), Ok(Value::Bool(true)));
        assert_eq!(cast("Off", 'b', |_| {}), Ok(Value::Bool(false)));
        assert_eq!(
            cast("maybe", 'b', |_| {}),
            Err("invalid boolean: maybe".into())
        );
    }

    #[test]
    fn interpolation_errors_name_items_as_brackets() {
        let mut n = crate::yaml::parse("services:\n  app:\n    environment:\n      - A=${B:?}\n    ports:\n      - target: ${P}\n")
            .expect("the YAML parses");
        let env = BTreeMap::new();
        assert_eq!(
            interpolate(&mut n.clone(), &env, |_| {}).err().map(|e| e.0),
            Some("error while interpolating services.app.environment.[]: required variable B is missing a value".into())
        );
        let env: BTreeMap<String, String> = [
            ("B".to_string(), "1".to_string()),
            ("P".to_string(), "x".to_string()),
        ]
        .into();
        assert_eq!(
            interpolate(&mut n, &env, |_| {}).err().map(|e| e.0),
            Some("error while interpolating services.app.ports.[].target: failed to cast to expected type: strconv.Atoi: parsing \"x\": invalid syntax".into())
        );
    }

    #[test]
    fn extended_paths_are_rebased_on_the_file_as_written() {
        let mut o = Options::new(PathBuf::from("/p/x"), BTreeMap::new());
        o.resolve_paths = false;
        let fs = MemFs(vec![
            (
                "/p/x/compose.yaml",
                "services:\n  web:\n    extends: {file: common/base.yaml, service: base}\n",
            ),
            (
                "/p/x/common/base.yaml",
                "services:\n  base:\n    image: a\n    volumes: ['./data:/data']\n",
            ),
        ]);
        let p = load(&o, &fs).expect("the project loads");
        let src = p
            .model
            .get("services")
            .and_then(|s| s.get("web"))
            .and_then(|w| w.get("volumes"))
            .and_then(Node::as_seq)
            .and_then(|v| v.first())
            .map(|v| {
                (
                    v.get("type").and_then(Node::scalar_text),
                    v.get("source").and_then(Node::scalar_text),
                )
            });
        assert_eq!(src, Some((Some("bind".into()), Some("common/data".into()))));
    }
}
