//! quai's docker-like command line (everything but `quai runtime`): clap definitions,
//! dispatch to the libraries, and Docker-shaped output.
//!
//! Owns argument parsing and formatting only; the work is in `image` (and later the
//! engine). Must never fork containers itself: that is the runtime's and the engine's.

mod build_cmd;
mod common;
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
    History {
        /// Image (name or id).
        image: String,
        /// Print the full id.
        #[arg(long = "no-trunc")]
        no_trunc: bool,
    },
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
        /// Container.
        container: String,
    },
    /// Low-level information on containers, images or volumes.
    Inspect {
        /// Go template.
        #[arg(short, long)]
        format: Option<String>,
        /// Only this kind (`container`, `image`, `volume`).
        #[arg(long = "type")]
        kind: Option<String>,
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
    /// Display system-wide information.
    Info,
    /// Show the version.
    Version,
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

/// Run the docker-like CLI; returns the exit code.
pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    quiet_broken_stdout();
    let cli = match Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) if e.kind() == clap::error::ErrorKind::UnknownArgument => {
            // Docker's words (pflag's), and its status.
            let flag = e
                .get(clap::error::ContextKind::InvalidArg)
                .map(|v| v.to_string())
                .unwrap_or_default();
            eprintln!(
                "unknown flag: {flag}\nSee 'quai {} --help'.",
                command_path(&args)
            );
            return 125;
        }
        Err(e)
            if e.kind() == clap::error::ErrorKind::MissingRequiredArgument
                && matches!(command_path(&args).as_str(), "run" | "create") =>
        {
            // Docker's words and status for `run`/`create` without an image.
            let cmd = command_path(&args);
            eprintln!(
                "quai: 'quai {cmd}' requires at least 1 argument\n\nUsage:  quai {cmd} [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nSee 'quai {cmd} --help' for more information"
            );
            return 1;
        }
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 125 } else { 0 };
        }
    };
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
        if a == "--root" || a == "--run-dir" {
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
        Cmd::Version => Ok(system::version()),
        cmd => {
            let mut eng = engine::lifecycle::Engine::open(&cli.root, &cli.run_dir)?;
            match cmd {
                Cmd::Import(a) => images::import(&eng, a),
                Cmd::Images(a) => images::list(&eng, a),
                Cmd::Tag { source, target } => images::tag(&eng, &source, &target),
                Cmd::Rmi { force, images } => images::rmi(&eng, &images, force),
                Cmd::History { image, no_trunc } => images::history(&eng, &image, no_trunc),
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
        Cmd::Create(a) => containers::create(eng, a),
        Cmd::Start {
            attach,
            interactive,
            containers,
        } => containers::start(eng, attach, interactive, &containers),
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
            container,
        } => containers::attach(eng, &container, no_stdin),
        Cmd::Inspect {
            format,
            kind,
            names,
        } => inspect::inspect(eng, &names, format.as_deref(), kind.as_deref()),
        Cmd::Top { container, ps_args } => container_io::top(eng, &container, &ps_args),
        Cmd::Stats {
            no_stream,
            all,
            containers,
        } => container_io::stats(eng, no_stream, all, &containers),
        Cmd::Wait { containers } => {
            let mut code = 0;
            for c in &containers {
                match eng.wait(c) {
                    Ok(x) => println!("{x}"),
                    Err(e) => {
                        eprintln!("Error response from daemon: {e}");
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
                let gone = containers::prune(eng, &filter)?;
                println!("Deleted Containers:");
                gone.iter().for_each(|c| println!("{c}"));
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
        Cmd::Info => system::system(eng, system::SystemCmd::Info),
        _ => Ok(0),
    }
}
