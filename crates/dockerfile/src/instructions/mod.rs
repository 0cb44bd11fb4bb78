//! Typed instructions (BuildKit's `instructions` package): every instruction with its
//! flags checked and its arguments in the form the builder uses. Words are as written
//! (not yet expanded); `crate::build` expands them per stage.

mod flags;
pub mod mount;
mod parse;

pub use mount::{parse_device, parse_mount, Device, Mount, MountType, Sharing};
pub(crate) use parse::parse_node;
pub use parse::Parsed;

use crate::error::Lines;
use crate::lexer::Heredoc;

/// One instruction with where it came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Command {
    pub instruction: Instruction,
    /// The instruction word as written (`RUN`, `run`).
    pub keyword: String,
    /// The logical line, trimmed (BuildKit's `String()` of a command).
    pub code: String,
    pub lines: Lines,
    /// The comments right before it (they may carry `check=` overrides).
    pub comments: Vec<String>,
}

/// Every Dockerfile instruction.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Instruction {
    Add(Add),
    Arg(Vec<ArgDef>),
    Cmd(ShellCommand),
    Copy(Copy),
    Entrypoint(ShellCommand),
    Env(Vec<KeyValue>),
    /// Ports as written, sorted as text (BuildKit sorts them before expansion).
    Expose(Vec<String>),
    From(From),
    Healthcheck(Healthcheck),
    Label(Vec<KeyValue>),
    Maintainer(String),
    Onbuild(Onbuild),
    Run(Run),
    /// Always the JSON form.
    Shell(Vec<String>),
    StopSignal(String),
    User(String),
    Volume(Vec<String>),
    Workdir(String),
}

impl Instruction {
    /// Upper-case name (`RUN`).
    pub fn name(&self) -> &'static str {
        match self {
            Instruction::Add(_) => "ADD",
            Instruction::Arg(_) => "ARG",
            Instruction::Cmd(_) => "CMD",
            Instruction::Copy(_) => "COPY",
            Instruction::Entrypoint(_) => "ENTRYPOINT",
            Instruction::Env(_) => "ENV",
            Instruction::Expose(_) => "EXPOSE",
            Instruction::From(_) => "FROM",
            Instruction::Healthcheck(_) => "HEALTHCHECK",
            Instruction::Label(_) => "LABEL",
            Instruction::Maintainer(_) => "MAINTAINER",
            Instruction::Onbuild(_) => "ONBUILD",
            Instruction::Run(_) => "RUN",
            Instruction::Shell(_) => "SHELL",
            Instruction::StopSignal(_) => "STOPSIGNAL",
            Instruction::User(_) => "USER",
            Instruction::Volume(_) => "VOLUME",
            Instruction::Workdir(_) => "WORKDIR",
        }
    }
}

/// Every instruction word, upper case.
pub const INSTRUCTIONS: [&str; 18] = [
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// `FROM [--platform=p] image [AS name]`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct From {
    /// The base: an image reference, a stage name, or `scratch` (not yet expanded).
    pub image: String,
    /// The stage name, lower-cased (stage names are case-insensitive).
    pub name: Option<String>,
    /// `--platform` as written.
    pub platform: Option<String>,
    /// The comment describing the stage (`# name description`), if any.
    pub doc: String,
}

/// A command line of RUN, CMD or ENTRYPOINT.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ShellCommand {
    /// The exec-form words, or for the shell form the whole text as one element.
    pub args: Vec<String>,
    /// Shell form: the builder runs `args` through the stage's shell.
    pub prepend_shell: bool,
    /// Heredoc bodies (RUN only).
    pub heredocs: Vec<Heredoc>,
}

/// `RUN --network` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    Default,
    None,
    Host,
}

/// `RUN --security` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    Sandbox,
    Insecure,
}

/// `RUN [--mount=...] [--network=...] [--security=...] [--device=...] command`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Run {
    pub command: ShellCommand,
    /// `--mount` values as written; their variables are expanded when planning.
    pub mount_specs: Vec<String>,
    /// The mounts as far as BuildKit reads them before expansion (only `from=`).
    pub mounts_unexpanded: Vec<Mount>,
    pub network: Network,
    pub security: Security,
    pub devices: Vec<Device>,
    /// Names of the flags used, sorted.
    pub flags_used: Vec<String>,
}

/// A key/value of ENV or LABEL.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
    /// Written in the legacy `KEY value` form (no `=`).
    pub legacy: bool,
}

/// One name of ARG.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ArgDef {
    pub key: String,
    /// The default, if `=` was given.
    pub value: Option<String>,
    /// The comment describing the argument (`# NAME description`), if any.
    pub doc: String,
}

/// An inline file of COPY/ADD (a heredoc source).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SourceContent {
    /// The heredoc name, used as the file name.
    pub path: String,
    /// The body (tabs already removed for `<<-`).
    pub data: String,
    /// Whether variables in the body are expanded.
    pub expand: bool,
}

/// Sources and destination of COPY/ADD.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SourcesAndDest {
    pub dest: String,
    pub paths: Vec<String>,
    pub contents: Vec<SourceContent>,
}

/// `COPY [--from] [--chown] [--chmod] [--link] [--parents] [--exclude]... src... dest`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Copy {
    pub files: SourcesAndDest,
    /// `--from`: a stage name, a stage index, or an image; never expanded.
    pub from: Option<String>,
    pub chown: String,
    pub chmod: String,
    pub link: bool,
    pub parents: bool,
    pub excludes: Vec<String>,
}

/// `ADD [--chown] [--chmod] [--link] [--keep-git-dir] [--checksum] [--unpack] [--exclude]...`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Add {
    pub files: SourcesAndDest,
    pub chown: String,
    pub chmod: String,
    pub link: bool,
    pub keep_git_dir: Option<bool>,
    pub checksum: String,
    pub unpack: Option<bool>,
    pub excludes: Vec<String>,
}

/// `ONBUILD instruction`: the trigger text, parsed again when it fires.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Onbuild {
    /// The instruction without `ONBUILD`, heredoc bodies appended.
    pub expression: String,
}

/// `HEALTHCHECK NONE` or `HEALTHCHECK [flags] CMD ...`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Healthcheck {
    None,
    Cmd(HealthConfig),
}

/// A health check as the image config stores it (durations in nanoseconds, 0 = unset).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HealthConfig {
    /// `["CMD", args...]` for the exec form, `["CMD-SHELL", line]` for the shell form.
    pub test: Vec<String>,
    pub interval: i64,
    pub timeout: i64,
    pub start_period: i64,
    pub start_interval: i64,
    pub retries: i32,
}
