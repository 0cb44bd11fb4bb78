//! quai's docker-like command line (everything but `quai runtime`): clap definitions,
//! dispatch to the libraries, and Docker-shaped output.
//!
//! Owns argument parsing and formatting only; the work is in `image` (and later the
//! engine). Must never fork containers itself: that is the runtime's and the engine's.

mod build_cmd;
mod cluster_cmd;
mod common;
mod compose_cmd;
mod container_io;
mod containers;
mod create_opts;
mod flag_values;
mod format;
mod images;
mod inspect;
mod networks;
mod registry_cmds;
mod system;
mod template;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// quai: containers, images and clusters in one binary.
#[derive(Debug, Parser)]
#[command(
    name = "quai",
    version,
    about = "quai: containers, images and clusters in one binary"
)]
pub struct Cli {
    /// Root of quai's state (images, containers, volumes).
    #[arg(
        long,
        global = true,
        env = "QUAI_ROOT",
        default_value = "/var/lib/quai"
    )]
    pub root: PathBuf,
    /// Run directory (monitor sockets, runtime state).
    #[arg(
        long = "run-dir",
        global = true,
        env = "QUAI_RUN_DIR",
        default_value = "/run/quai",
        hide = true
    )]
    pub run_dir: PathBuf,
    /// The cgroup driver of new containers: `systemd` or `cgroupfs` (default: systemd
    /// where it is pid 1 on a cgroup v2 host).
    #[arg(long = "cgroup-manager", global = true, env = "QUAI_CGROUP_MANAGER")]
    pub cgroup_manager: Option<String>,
    /// The command.
    #[command(subcommand)]
    pub cmd: Cmd,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Import a root filesystem tarball as an image.
    Import(images::ImportArgs),
    /// List images.
    Images(images::ListArgs),
    /// Give an image a new name.
    Tag {
        /// Source image (name or id).
        source: String,
        /// New name.
        target: String,
    },
    /// Remove images.
    Rmi {
        /// Remove an image with several names by id.
        #[arg(short, long)]
        force: bool,
        /// Images (names or ids).
        #[arg(required = true)]
        images: Vec<String>,
    },
    /// Save images to a tar archive (docker-archive, or oci-archive with --format).
    Save(images::SaveArgs),
    /// Load images from a tar archive (either format).
    Load(images::LoadArgs),
    /// Pull an image from a registry.
    Pull(registry_cmds::PullArgs),
    /// Push an image to a registry.
    Push(registry_cmds::PushArgs),
    /// Log in to a registry (credentials go to ~/.docker/config.json, like Docker).
    Login(registry_cmds::LoginArgs),
    /// quai's own registry: serve it, collect its garbage.
    Registry {
        #[command(subcommand)]
        cmd: registry_cmds::RegistryCmd,
    },
    /// Log out from a registry.
    Logout {
        /// Registry host.
        server: String,
    },
    /// Show the history of an image.
    History(images::HistoryArgs),
    /// Manage images.
    Image {
        #[command(subcommand)]
        cmd: images::ImageCmd,
    },
    /// The OCI runtime (runc-compatible): see `quai runtime --help`.
    Runtime,
    /// Create and run a container.
    #[command(args_override_self = true)]
    Run(create_opts::RunArgs),
    /// Create a container.
    #[command(args_override_self = true)]
    Create(create_opts::CreateArgs),
    /// Start stopped containers.
    Start {
        /// Attach STDOUT/STDERR and forward signals.
        #[arg(short, long)]
        attach: bool,
        /// Attach STDIN.
        #[arg(short, long)]
        interactive: bool,
        /// Override the key sequence for detaching (`ctrl-p,ctrl-q`).
        #[arg(long = "detach-keys")]
        detach_keys: Option<String>,
        /// Containers.
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Stop running containers.
    Stop(StopArgs),
    /// Restart containers.
    Restart(StopArgs),
    /// Kill running containers.
    Kill {
        /// Signal to send.
        #[arg(short, long, default_value = "KILL")]
        signal: String,
        /// Containers.
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Pause all processes within containers.
    Pause {
        /// Containers.
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Unpause all processes within containers.
    Unpause {
        /// Containers.
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Remove containers.
    Rm {
        /// Force the removal of a running container.
        #[arg(short, long)]
        force: bool,
        /// Remove anonymous volumes associated with the container.
        #[arg(short, long)]
        volumes: bool,
        /// Containers.
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// List containers.
    Ps(containers::PsArgs),
    /// Fetch the logs of a container.
    Logs(container_io::LogsArgs),
    /// Execute a command in a running container.
    Exec(containers::ExecArgs),
    /// Attach to a running container's output (and input).
    Attach {
        /// Do not attach STDIN.
        #[arg(long = "no-stdin")]
        no_stdin: bool,
        /// Override the key sequence for detaching (`ctrl-p,ctrl-q`).
        #[arg(long = "detach-keys")]
        detach_keys: Option<String>,
        /// Proxy received signals to the process.
        #[arg(long = "sig-proxy", num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "true", action = clap::ArgAction::Set)]
        sig_proxy: bool,
        /// Container.
        container: String,
    },
    /// Low-level information on containers, images or volumes.
    Inspect {
        /// Go template.
        #[arg(short, long)]
        format: Option<String>,
        /// Only this kind (`container`, `image`, `volume`, `network`).
        #[arg(long = "type")]
        kind: Option<String>,
        /// Display total file sizes (containers: `SizeRw`, `SizeRootFs`).
        #[arg(short, long)]
        size: bool,
        /// Names or ids.
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Display the running processes of a container.
    Top {
        /// Container.
        container: String,
        /// ps options.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        ps_args: Vec<String>,
    },
    /// Display resource usage statistics.
    Stats {
        /// Disable streaming and only pull the first result.
        #[arg(long = "no-stream")]
        no_stream: bool,
        /// Show all containers (default shows just running).
        #[arg(short, long)]
        all: bool,
        /// Go template (`table ...` for a table), or `json`.
        #[arg(long)]
        format: Option<String>,
        /// Do not truncate ids.
        #[arg(long = "no-trunc")]
        no_trunc: bool,
        /// Containers.
        containers: Vec<String>,
    },
    /// Block until containers stop, then print their exit codes.
    Wait {
        /// Containers.
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Copy files between a container and the local filesystem (`-` for a tar stream).
    Cp {
        /// `CONTAINER:SRC` or a local path or `-`.
        src: String,
        /// `CONTAINER:DEST` or a local path or `-`.
        dst: String,
    },
    /// Build an image from a Dockerfile.
    Build(build_cmd::BuildArgs),
    /// Define and run multi-container applications (compose files).
    Compose(compose::cli::ComposeArgs),
    /// Run a Kubernetes-compatible cluster that kubectl drives.
    Cluster {
        #[command(subcommand)]
        cmd: cluster_cmd::ClusterCmd,
    },
    /// Manage builds.
    Builder {
        #[command(subcommand)]
        cmd: build_cmd::BuilderCmd,
    },
    /// Create a new image from a container's changes.
    Commit(container_io::CommitArgs),
    /// Inspect changes to files or directories on a container's filesystem.
    Diff {
        /// Container.
        container: String,
    },
    /// Export a container's filesystem as a tar archive.
    Export {
        /// Write to a file, instead of standard output.
        #[arg(short, long)]
        output: Option<String>,
        /// Container.
        container: String,
    },
    /// List port mappings.
    Port {
        /// Container.
        container: String,
        /// `PORT[/PROTO]`.
        port: Option<String>,
    },
    /// Update the limits and restart policy of containers (live while they run).
    Update(containers::UpdateArgs),
    /// Rename a container.
    Rename {
        /// Container.
        container: String,
        /// New name.
        new_name: String,
    },
    /// Manage containers.
    Container {
        #[command(subcommand)]
        cmd: containers::ContainerCmd,
    },
    /// Manage volumes.
    Volume {
        #[command(subcommand)]
        cmd: system::VolumeCmd,
    },
    /// Manage networks.
    Network {
        #[command(subcommand)]
        cmd: networks::NetworkCmd,
    },
    /// Get real time events.
    Events(container_io::EventsArgs),
    /// Manage quai.
    System {
        #[command(subcommand)]
        cmd: system::SystemCmd,
    },
    /// Print a shell completion script (`bash`, `zsh`, `fish`, `elvish`, `powershell`).
    Completion {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Write man pages for every command into a directory.
    Man {
        /// Directory (made if missing).
        dir: PathBuf,
    },
    /// Manage contexts (quai has one: `default`, this machine).
    Context {
        #[command(subcommand)]
        cmd: system::ContextCmd,
    },
    /// Display system-wide information.
    Info {
        /// Go template, or `json`.
        #[arg(short, long)]
        format: Option<String>,
    },
    /// Show the version.
    Version {
        /// Go template, or `json`.
        #[arg(short, long)]
        format: Option<String>,
    },
}

/// `stop` and `restart` options.
#[derive(Debug, clap::Args)]
pub struct StopArgs {
    /// Seconds to wait before killing.
    #[arg(
        short = 't',
        long = "time",
        alias = "timeout",
        allow_hyphen_values = true
    )]
    pub time: Option<i64>,
    /// Containers.
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// `quai ps | head -1`: when the reader of our stdout goes away, end as Go programs (and so
/// docker) do, killed by SIGPIPE without a word, not with a panic message. Rust ignores
/// SIGPIPE so that a closed socket or pipe gives an error instead; `print!` turns that
/// error on stdout into a panic, which this hook recognises (EPIPE is os error 32).
fn quiet_broken_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.starts_with("failed printing to stdout") && msg.contains("os error 32") {
            // SAFETY: restoring the default action of SIGPIPE and raising it only ends this
            // process, which is what the default action is for.
            unsafe {
                let _ = nix::sys::signal::signal(
                    nix::sys::signal::Signal::SIGPIPE,
                    nix::sys::signal::SigHandler::SigDfl,
                );
            }
            let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGPIPE);
            std::process::exit(141);
        }
        default(info);
    }));
}

/// Docker's `container VERB` and `image VERB` forms of the top-level verbs, as the
/// top-level ones (`container ls` is `ps`, `image rm` is `rmi`, `container inspect` is
/// `inspect --type container`). The verbs only these groups have stay in them.
fn docker_aliases(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    // The first word that is not a global option (or its value) names the command.
    let mut i = 1;
    while i < args.len() {
        let a = args[i].to_string_lossy();
        if a == "--root" || a == "--run-dir" || a == "--cgroup-manager" {
            i += 2;
        } else if a.starts_with("--root=") || a.starts_with("--run-dir=") {
            i += 1;
        } else {
            break;
        }
    }
    let (Some(group), Some(verb)) = (args.get(i), args.get(i + 1)) else {
        return args;
    };
    let (group, verb) = (group.to_string_lossy(), verb.to_string_lossy());
    let with: &[&str] = match (group.as_ref(), verb.as_ref()) {
        ("container", "ls" | "list" | "ps") => &["ps"],
        ("container", "inspect") => &["inspect", "--type", "container"],
        (
            "container",
            "run" | "create" | "start" | "stop" | "restart" | "kill" | "pause" | "unpause" | "rm"
            | "remove" | "logs" | "exec" | "attach" | "top" | "stats" | "wait" | "cp" | "port"
            | "rename" | "update",
        ) => &[],
        ("image", "ls" | "list") => &["images"],
        ("image", "rm" | "remove") => &["rmi"],
        ("image", "inspect") => &["inspect", "--type", "image"],
        ("image", "history" | "pull" | "push" | "tag" | "save" | "load" | "import") => &[],
        ("system", "events") => &["events"],
        _ => return args,
    };
    let verb = if verb == "remove" {
        "rm".into()
    } else {
        verb.into_owned()
    };
    let mut words: Vec<std::ffi::OsString> = if with.is_empty() {
        vec![verb.into()]
    } else {
        with.iter().map(|w| (*w).into()).collect()
    };
    let rest = args.split_off(i + 2);
    args.truncate(i);
    args.append(&mut words);
    args.extend(rest);
    args
}

/// Docker's flag package takes `--all=false`, `-a=true` (and `1`, `t`, `F`, ...) for every
/// boolean flag; clap takes the bare flag only. A boolean flag of the command being run
/// given a value becomes the bare flag (true) or nothing (false). Arguments after the
/// first positional of `run`, `create` and `exec` are the container's and stay as given.
fn docker_bool_values(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    use clap::CommandFactory;
    // Building the command tree costs as much as parsing: only when a flag has a value
    // that may be a boolean's.
    let maybe = args.iter().skip(1).any(|a| {
        a.to_str().is_some_and(|t| {
            t.starts_with('-')
                && t.split_once('=').is_some_and(|(_, v)| {
                    matches!(
                        v,
                        "1" | "t"
                            | "T"
                            | "true"
                            | "TRUE"
                            | "True"
                            | "0"
                            | "f"
                            | "F"
                            | "false"
                            | "FALSE"
                            | "False"
                    )
                })
        })
    });
    if !maybe {
        return args;
    }
    let root = Cli::command();
    let mut current = &root;
    let mut out = Vec::with_capacity(args.len());
    let mut rest = args.into_iter();
    if let Some(argv0) = rest.next() {
        out.push(argv0);
    }
    let parse_bool = |v: &str| match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    };
    let is_switch = |a: &clap::Arg| matches!(a.get_action(), clap::ArgAction::SetTrue);
    while let Some(arg) = rest.next() {
        let Some(text) = arg.to_str().map(str::to_string) else {
            out.push(arg);
            continue;
        };
        if text == "--" {
            out.push(arg);
            out.extend(rest.by_ref());
            break;
        }
        let flag = if let Some(long) = text.strip_prefix("--") {
            long.split_once('=').and_then(|(name, v)| {
                let a = current.get_arguments().find(|a| {
                    a.get_long() == Some(name)
                        || a.get_all_aliases().is_some_and(|al| al.contains(&name))
                })?;
                Some((format!("--{}", a.get_long()?), parse_bool(v)?, is_switch(a)))
            })
        } else if let Some(short) = text.strip_prefix('-') {
            let mut cs = short.chars();
            match (cs.next(), cs.next()) {
                (Some(c), Some('=')) => current
                    .get_arguments()
                    .find(|a| a.get_short() == Some(c))
                    .and_then(|a| Some((format!("-{c}"), parse_bool(&short[2..])?, is_switch(a)))),
                _ => None,
            }
        } else {
            None
        };
        if let Some((bare, value, true)) = flag {
            if value {
                out.push(bare.into());
            }
            continue;
        }
        // An option that takes a value as the next word (`--name web`, `-e A=1`).
        let takes_value = |a: &clap::Arg| {
            matches!(
                a.get_action(),
                clap::ArgAction::Set | clap::ArgAction::Append
            ) && a.get_num_args().is_none_or(|n| n.min_values() > 0)
        };
        let valued = if let Some(long) = text.strip_prefix("--") {
            !long.contains('=')
                && current
                    .get_arguments()
                    .any(|a| a.get_long() == Some(long) && takes_value(a))
        } else if let Some(short) = text.strip_prefix('-') {
            // `-it`: switches; `-e` / `-ue`: the last one takes the next word.
            short.chars().last().is_some_and(|c| {
                current
                    .get_arguments()
                    .any(|a| a.get_short() == Some(c) && takes_value(a))
            }) && short.chars().count() >= 1
                && short.chars().rev().skip(1).all(|c| {
                    current
                        .get_arguments()
                        .any(|a| a.get_short() == Some(c) && is_switch(a))
                })
        } else {
            false
        };
        if valued {
            out.push(arg);
            if let Some(v) = rest.next() {
                out.push(v);
            }
            continue;
        }
        if !text.starts_with('-') {
            if let Some(sub) = current.find_subcommand(&text) {
                current = sub;
            } else if matches!(current.get_name(), "run" | "create" | "exec") {
                out.push(arg);
                out.extend(rest.by_ref());
                break;
            }
        }
        out.push(arg);
    }
    out
}

/// A clap error as Docker's CLI words it: a missing argument is "'quai rm' requires at
/// least 1 argument" with the usage line (exit 1); an unknown flag "unknown flag: --x"
/// (exit 125).
fn usage_error(e: &clap::Error, args: &[std::ffi::OsString]) -> i32 {
    use clap::error::ErrorKind;
    let command = format!("quai {}", command_path(args))
        .trim_end()
        .to_string();
    if command == "quai compose" {
        return compose_usage_error(e, args);
    }
    match e.kind() {
        ErrorKind::MissingRequiredArgument | ErrorKind::MissingSubcommand => {
            // `run` and `create` show their usage line, as docker's do.
            let usage = if matches!(command.as_str(), "quai run" | "quai create") {
                format!("\n\nUsage:  {command} [OPTIONS] IMAGE [COMMAND] [ARG...]")
            } else {
                String::new()
            };
            eprintln!(
                "quai: '{command}' requires at least 1 argument{usage}\n\nSee '{command} --help' for more information"
            );
            1
        }
        ErrorKind::UnknownArgument => {
            let flag = e
                .get(clap::error::ContextKind::InvalidArg)
                .map(|v| v.to_string())
                .unwrap_or_default();
            eprintln!("unknown flag: {flag}\nSee '{command} --help'.");
            125
        }
        _ => {
            let _ = e.print();
            if e.use_stderr() {
                125
            } else {
                0
            }
        }
    }
}

/// `quai compose`'s usage errors as docker compose (cobra) words them, exit status 1.
fn compose_usage_error(e: &clap::Error, args: &[std::ffi::OsString]) -> i32 {
    use clap::error::{ContextKind, ErrorKind};
    let words: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    // The compose subcommand and the words after it, past compose's global options.
    let at = words.iter().position(|w| w == "compose").unwrap_or(0);
    let mut i = at + 1;
    while i < words.len() && words[i].starts_with('-') {
        let takes = matches!(
            words[i].as_str(),
            "-f" | "--file"
                | "-p"
                | "--project-name"
                | "--project-directory"
                | "--env-file"
                | "--profile"
                | "--ansi"
                | "--progress"
                | "--parallel"
        );
        i += if takes { 2 } else { 1 };
    }
    let sub = words.get(i).cloned().unwrap_or_default();
    let rest = words.get(i + 1..).unwrap_or(&[]);
    let arg = e
        .get(ContextKind::InvalidArg)
        .map(|v| v.to_string())
        .unwrap_or_default();
    let flag = arg
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            0
        }
        ErrorKind::UnknownArgument => {
            match flag.strip_prefix('-').filter(|f| !f.starts_with('-')) {
                Some(short) => {
                    let c = short.chars().next().unwrap_or('-');
                    eprintln!("unknown shorthand flag: '{c}' in {flag}");
                }
                None => eprintln!("unknown flag: {flag}"),
            }
            1
        }
        ErrorKind::InvalidSubcommand => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            if let Some(c) = cmd.find_subcommand_mut("compose") {
                println!("{}", c.render_help());
            }
            eprintln!("unknown docker command: \"compose {sub}\"");
            1
        }
        ErrorKind::MissingRequiredArgument | ErrorKind::MissingSubcommand => {
            let need = match sub.as_str() {
                "exec" | "port" | "cp" => 2,
                _ => 1,
            };
            let got = rest.iter().filter(|w| !w.starts_with('-')).count();
            eprintln!("requires at least {need} arg(s), only received {got}");
            1
        }
        ErrorKind::InvalidValue
            if e.get(ContextKind::InvalidValue)
                .is_some_and(|v| v.to_string().is_empty()) =>
        {
            eprintln!("flag needs an argument: {flag}");
            1
        }
        ErrorKind::ValueValidation | ErrorKind::InvalidValue => {
            let value = e
                .get(ContextKind::InvalidValue)
                .map(|v| v.to_string())
                .unwrap_or_default();
            // The flag's names as cobra shows them ("-t, --timeout").
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let long = flag.trim_start_matches('-').to_string();
            let short = cmd
                .find_subcommand_mut("compose")
                .and_then(|c| c.find_subcommand_mut(&sub))
                .and_then(|c| {
                    c.get_arguments()
                        .find(|a| a.get_long() == Some(long.as_str()))
                        .and_then(|a| a.get_short())
                });
            let names = match short {
                Some(s) => format!("-{s}, --{long}"),
                None => format!("--{long}"),
            };
            eprintln!(
                "invalid argument \"{value}\" for \"{names}\" flag: strconv.ParseInt: parsing \"{value}\": invalid syntax"
            );
            1
        }
        _ => {
            let _ = e.print();
            if e.use_stderr() {
                1
            } else {
                0
            }
        }
    }
}

/// Run the docker-like CLI; returns the exit code.
pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    quiet_broken_stdout();
    let args = docker_bool_values(docker_aliases(args));
    let cli = match Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) => return usage_error(&e, &args),
    };
    // The engine reads the driver where it creates containers (also for the API server).
    if let Some(m) = &cli.cgroup_manager {
        std::env::set_var("QUAI_CGROUP_MANAGER", m);
    }
    // QUAI_DEBUG: timestamped steps on stderr (monitors write theirs to monitor.log).
    if std::env::var_os("QUAI_DEBUG").is_some() {
        runtime::set_debug(true);
    }
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) if e.downcast_ref::<containers::Status>().is_some() => {
            let code = e.downcast_ref::<containers::Status>().map_or(125, |s| s.0);
            eprintln!("quai: Error: {}", format!("{e:#}").replace('\n', " "));
            code
        }
        Err(e) => {
            // One line: the chain of causes joined, like Docker's "Error response ...".
            eprintln!("Error: {}", format!("{e:#}").replace('\n', " "));
            1
        }
    }
}

/// The command words of a command line (`run`, `container ls`), for docker's "See 'docker
/// run --help'" hint: the words before the first option, past the global options.
fn command_path(args: &[std::ffi::OsString]) -> String {
    let mut words = Vec::new();
    let mut it = args.iter().skip(1).map(|a| a.to_string_lossy());
    while let Some(a) = it.next() {
        if a == "--root" || a == "--run-dir" || a == "--cgroup-manager" {
            it.next();
            continue;
        }
        if a.starts_with('-') {
            if words.is_empty() {
                continue;
            }
            break;
        }
        words.push(a.into_owned());
        let group = matches!(
            words[0].as_str(),
            "container" | "image" | "network" | "volume" | "system" | "builder" | "registry"
        );
        if words.len() == 2 || !group {
            break;
        }
    }
    words.join(" ")
}

fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    match cli.cmd {
        Cmd::Login(a) => registry_cmds::login(a),
        Cmd::Logout { server } => registry_cmds::logout(&server),
        Cmd::Registry { cmd } => registry_cmds::registry(cmd),
        Cmd::Runtime => Ok(0),
        Cmd::Completion { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "quai", &mut std::io::stdout());
            Ok(0)
        }
        Cmd::Man { dir } => system::man_pages(<Cli as clap::CommandFactory>::command(), &dir),
        Cmd::Context { cmd } => system::context(cmd),
        Cmd::Compose(a) => compose_cmd::compose(a, &cli.root, &cli.run_dir),
        Cmd::Cluster { cmd } => cluster_cmd::cluster(cmd, &cli.root, &cli.run_dir),
        Cmd::Version { format: None } => Ok(system::version()),
        Cmd::Version { format: Some(f) } => system::version_format(&f),
        cmd => {
            let mut eng = engine::lifecycle::Engine::open(&cli.root, &cli.run_dir)?;
            match cmd {
                Cmd::Import(a) => images::import(&eng, a),
                Cmd::Images(a) => images::list(&eng, a),
                Cmd::Tag { source, target } => images::tag(&eng, &source, &target),
                Cmd::Rmi { force, images } => images::rmi(&eng, &images, force),
                Cmd::History(a) => images::history(&eng, a),
                Cmd::Save(a) => images::save(&eng, a),
                Cmd::Load(a) => images::load(&eng, a),
                Cmd::Image { cmd } => images::image_cmd(&mut eng, cmd),
                Cmd::Pull(a) => registry_cmds::pull(&eng, a),
                Cmd::Push(a) => registry_cmds::push(&eng, a),
                cmd => containers_dispatch(&mut eng, cmd),
            }
        }
    }
}

fn containers_dispatch(eng: &mut engine::lifecycle::Engine, cmd: Cmd) -> anyhow::Result<i32> {
    use common::each;
    match cmd {
        Cmd::Run(a) => containers::run(eng, a),
        Cmd::Update(a) => containers::update(eng, a),
        Cmd::Create(a) => containers::create(eng, a),
        Cmd::Start {
            attach,
            interactive,
            detach_keys,
            containers,
        } => containers::start(
            eng,
            attach,
            interactive,
            &containers,
            detach_keys.as_deref(),
        ),
        Cmd::Stop(StopArgs { time, containers }) => {
            each(&containers, |c| eng.stop(c, time).map(|_| ()))
        }
        Cmd::Restart(StopArgs { time, containers }) => {
            each(&containers, |c| eng.restart(c, time).map(|_| ()))
        }
        Cmd::Kill { signal, containers } => each(&containers, |c| eng.kill(c, &signal).map(|_| ())),
        Cmd::Pause { containers } => each(&containers, |c| eng.pause(c, true).map(|_| ())),
        Cmd::Unpause { containers } => each(&containers, |c| eng.pause(c, false).map(|_| ())),
        Cmd::Rm {
            force,
            volumes,
            containers,
        } => each(&containers, |c| eng.remove(c, force, volumes).map(|_| ())),
        Cmd::Ps(a) => containers::ps(eng, a),
        Cmd::Logs(a) => container_io::logs(eng, a),
        Cmd::Exec(a) => containers::exec(eng, a),
        Cmd::Attach {
            no_stdin,
            detach_keys,
            sig_proxy,
            container,
        } => containers::attach(eng, &container, no_stdin, detach_keys.as_deref(), sig_proxy),
        Cmd::Inspect {
            format,
            kind,
            size,
            names,
        } => inspect::inspect(eng, &names, format.as_deref(), kind.as_deref(), size),
        Cmd::Top { container, ps_args } => container_io::top(eng, &container, &ps_args),
        Cmd::Stats {
            no_stream,
            all,
            format,
            no_trunc,
            containers,
        } => container_io::stats(
            eng,
            no_stream,
            all,
            &containers,
            format.as_deref(),
            no_trunc,
        ),
        Cmd::Wait { containers } => {
            let mut code = 0;
            for c in &containers {
                match eng.wait(c) {
                    Ok(x) => println!("{x}"),
                    Err(e) => {
                        eprintln!("Error: {e}");
                        code = 1;
                    }
                }
            }
            Ok(code)
        }
        Cmd::Cp { src, dst } => container_io::cp(eng, &src, &dst),
        Cmd::Commit(a) => container_io::commit(eng, a),
        Cmd::Build(a) => build_cmd::build(eng, a),
        Cmd::Builder { cmd } => build_cmd::builder(eng, cmd),
        Cmd::Diff { container } => container_io::diff(eng, &container),
        Cmd::Export { output, container } => {
            container_io::export(eng, output.as_deref(), &container)
        }
        Cmd::Port { container, port } => {
            let r = eng.get(&container)?;
            let want = port.map(|p| {
                if p.contains('/') {
                    p
                } else {
                    format!("{p}/tcp")
                }
            });
            let mut found = false;
            for p in &r.state.ports {
                let key = format!("{}/{}", p.container_port, p.proto);
                let host = format!(
                    "{}:{}",
                    p.host_ip.unwrap_or(std::net::Ipv4Addr::UNSPECIFIED),
                    p.host_port
                );
                match &want {
                    Some(w) if *w == key => println!("{host}"),
                    Some(_) => continue,
                    None => println!("{key} -> {host}"),
                }
                found = true;
            }
            if let (Some(w), false) = (want, found) {
                anyhow::bail!("no public port '{w}' published for {}", r.id);
            }
            Ok(0)
        }
        Cmd::Rename {
            container,
            new_name,
        } => eng
            .rename(&container, &new_name)
            .map(|_| 0)
            .map_err(Into::into),
        Cmd::Container { cmd } => match cmd {
            containers::ContainerCmd::Prune { force, filter } => {
                if !common::confirm(force, "all stopped containers")? {
                    return Ok(0);
                }
                let (gone, freed) = containers::prune(eng, &filter)?;
                if !gone.is_empty() {
                    println!("Deleted Containers:");
                    gone.iter().for_each(|c| println!("{c}"));
                    println!();
                }
                println!("Total reclaimed space: {}", format::human_size(freed));
                Ok(0)
            }
            containers::ContainerCmd::Commit(a) => container_io::commit(eng, a),
            containers::ContainerCmd::Diff { container } => container_io::diff(eng, &container),
            containers::ContainerCmd::Export { output, container } => {
                container_io::export(eng, output.as_deref(), &container)
            }
        },
        Cmd::Volume { cmd } => system::volume(eng, cmd),
        Cmd::Network { cmd } => networks::network(eng, cmd),
        Cmd::Events(a) => container_io::events(eng, a),
        Cmd::System { cmd } => system::system(eng, cmd),
        Cmd::Info { format } => system::info_cmd(eng, format.as_deref()),
        _ => Ok(0),
    }
}

#[cfg(test)]
mod argv_tests {
    use super::*;

    fn words(v: &[&str]) -> Vec<std::ffi::OsString> {
        v.iter().map(|s| (*s).into()).collect()
    }

    #[test]
    fn boolean_flags_take_docker_values() {
        let f = |v: &[&str]| docker_bool_values(docker_aliases(words(v)));
        assert_eq!(
            f(&["quai", "ps", "-a=false", "--no-trunc=true"]),
            words(&["quai", "ps", "--no-trunc"])
        );
        assert_eq!(
            f(&["quai", "rm", "-f=1", "c1"]),
            words(&["quai", "rm", "-f", "c1"])
        );
        // The container's own arguments stay as given; option values are skipped over.
        assert_eq!(
            f(&[
                "quai",
                "run",
                "--name",
                "web",
                "-e",
                "A=1",
                "--rm=true",
                "img",
                "--rm=false"
            ]),
            words(&[
                "quai",
                "run",
                "--name",
                "web",
                "-e",
                "A=1",
                // run's own booleans take values in clap already: left as given
                "--rm=true",
                "img",
                "--rm=false"
            ])
        );
        // Not a boolean, or not a boolean value: left for clap to judge.
        assert_eq!(
            f(&["quai", "ps", "--format=x", "--all=maybe"]),
            words(&["quai", "ps", "--format=x", "--all=maybe"])
        );
        assert_eq!(
            f(&["quai", "container", "ls", "--all=true"]),
            words(&["quai", "ps", "--all"])
        );
        assert_eq!(
            f(&["quai", "--root", "/r", "image", "rm", "x"]),
            words(&["quai", "--root", "/r", "rmi", "x"])
        );
    }
}
