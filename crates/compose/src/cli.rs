//! `quai compose`'s command line, with docker compose v2's flags and names.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// `quai compose [OPTIONS] COMMAND`.
#[derive(Debug, Args)]
pub struct ComposeArgs {
    /// Compose configuration files.
    #[arg(short = 'f', long = "file")]
    pub file: Vec<PathBuf>,
    /// Project name.
    #[arg(short = 'p', long = "project-name")]
    pub project_name: Option<String>,
    /// Specify a profile to enable.
    #[arg(long = "profile")]
    pub profile: Vec<String>,
    /// Specify an alternate environment file.
    #[arg(long = "env-file")]
    pub env_file: Vec<PathBuf>,
    /// Specify an alternate working directory (default: the path of the first Compose file).
    #[arg(long = "project-directory")]
    pub project_directory: Option<PathBuf>,
    /// Control max parallelism, -1 for unlimited.
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    pub parallel: i64,
    /// Set type of progress output (auto, tty, plain, json, quiet).
    #[arg(long, value_parser = ["auto", "tty", "plain", "json", "quiet"])]
    pub progress: Option<String>,
    /// Control when to print ANSI control characters ("never"|"always"|"auto").
    #[arg(long, default_value = "auto", value_parser = ["never", "always", "auto"])]
    pub ansi: String,
    /// Run compose in backward compatibility mode.
    #[arg(long)]
    pub compatibility: bool,
    /// Execute command in dry run mode.
    #[arg(long = "dry-run", global = true)]
    pub dry_run: bool,
    /// Include all resources, even those not used by services.
    #[arg(long = "all-resources")]
    pub all_resources: bool,
    #[command(subcommand)]
    pub cmd: ComposeCmd,
}

/// `up`'s and `create`'s shared options.
#[derive(Debug, Args, Clone, Default)]
pub struct CreateOpts {
    /// Build images before starting containers.
    #[arg(long)]
    pub build: bool,
    /// Don't build an image, even if it's policy.
    #[arg(long = "no-build")]
    pub no_build: bool,
    /// Recreate containers even if their configuration and image haven't changed.
    #[arg(long = "force-recreate")]
    pub force_recreate: bool,
    /// If containers already exist, don't recreate them.
    #[arg(long = "no-recreate")]
    pub no_recreate: bool,
    /// Pull image before running ("always"|"missing"|"never").
    #[arg(long, value_parser = ["always", "missing", "never", "build"])]
    pub pull: Option<String>,
    /// Pull without printing progress information.
    #[arg(long = "quiet-pull")]
    pub quiet_pull: bool,
    /// Remove containers for services not defined in the Compose file.
    #[arg(long = "remove-orphans")]
    pub remove_orphans: bool,
    /// Scale SERVICE to NUM instances.
    #[arg(long = "scale", value_name = "SERVICE=NUM")]
    pub scale: Vec<String>,
    /// Assume "yes" as answer to all prompts.
    #[arg(short = 'y', long = "yes")]
    pub yes: bool,
}

/// `up`.
#[derive(Debug, Args, Clone, Default)]
pub struct UpArgs {
    #[command(flatten)]
    pub create: CreateOpts,
    /// Detached mode: Run containers in the background.
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Stops all containers if any container was stopped.
    #[arg(long = "abort-on-container-exit")]
    pub abort_on_container_exit: bool,
    /// Stops all containers if any container exited with failure.
    #[arg(long = "abort-on-container-failure")]
    pub abort_on_container_failure: bool,
    /// Recreate dependent containers.
    #[arg(long = "always-recreate-deps")]
    pub always_recreate_deps: bool,
    /// Restrict attaching to the specified services.
    #[arg(long)]
    pub attach: Vec<String>,
    /// Automatically attach to log output of dependent services.
    #[arg(long = "attach-dependencies")]
    pub attach_dependencies: bool,
    /// Return the exit code of the selected service container.
    #[arg(long = "exit-code-from")]
    pub exit_code_from: Option<String>,
    /// Enable interactive shortcuts.
    #[arg(long)]
    pub menu: bool,
    /// Do not attach (stream logs) to the specified services.
    #[arg(long = "no-attach")]
    pub no_attach: Vec<String>,
    /// Produce monochrome output.
    #[arg(long = "no-color")]
    pub no_color: bool,
    /// Don't start linked services.
    #[arg(long = "no-deps")]
    pub no_deps: bool,
    /// Don't print prefix in logs.
    #[arg(long = "no-log-prefix")]
    pub no_log_prefix: bool,
    /// Don't start the services after creating them.
    #[arg(long = "no-start")]
    pub no_start: bool,
    /// Suppress the build output.
    #[arg(long = "quiet-build")]
    pub quiet_build: bool,
    /// Recreate anonymous volumes instead of retrieving data from the previous containers.
    #[arg(short = 'V', long = "renew-anon-volumes")]
    pub renew_anon_volumes: bool,
    /// Use this timeout in seconds for container shutdown.
    #[arg(short = 't', long, allow_negative_numbers = true)]
    pub timeout: Option<i64>,
    /// Show timestamps.
    #[arg(long)]
    pub timestamps: bool,
    /// Wait for services to be running|healthy. Implies detached mode.
    #[arg(long)]
    pub wait: bool,
    /// Maximum duration in seconds to wait for the project to be running|healthy.
    #[arg(long = "wait-timeout")]
    pub wait_timeout: Option<u64>,
    /// Watch source code and rebuild/refresh containers when files are updated.
    #[arg(short = 'w', long)]
    pub watch: bool,
    /// Services.
    pub services: Vec<String>,
}

/// `ps`.
#[derive(Debug, Args, Clone, Default)]
pub struct PsArgs {
    /// Show all stopped containers.
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Filter services by a property (supported filters: status).
    #[arg(long)]
    pub filter: Option<String>,
    /// Format output using a custom template ('table', 'json', or a Go template).
    #[arg(long)]
    pub format: Option<String>,
    /// Don't truncate output.
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Include orphaned services.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub orphans: bool,
    /// Only display IDs.
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Display services.
    #[arg(long)]
    pub services: bool,
    /// Filter services by status.
    #[arg(long)]
    pub status: Vec<String>,
    /// Services.
    pub names: Vec<String>,
}

/// `logs`.
#[derive(Debug, Args, Clone, Default)]
pub struct LogsArgs {
    /// Follow log output.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Index of the container if service has multiple replicas.
    #[arg(long)]
    pub index: Option<u32>,
    /// Produce monochrome output.
    #[arg(long = "no-color")]
    pub no_color: bool,
    /// Don't print prefix in logs.
    #[arg(long = "no-log-prefix")]
    pub no_log_prefix: bool,
    /// Show logs since timestamp or relative.
    #[arg(long)]
    pub since: Option<String>,
    /// Number of lines to show from the end of the logs for each container.
    #[arg(short = 'n', long, default_value = "all")]
    pub tail: String,
    /// Show timestamps.
    #[arg(short = 't', long)]
    pub timestamps: bool,
    /// Show logs before a timestamp or relative.
    #[arg(long)]
    pub until: Option<String>,
    /// Services.
    pub services: Vec<String>,
}

/// `exec`.
#[derive(Debug, Args, Clone, Default)]
pub struct ExecArgs {
    /// Detached mode: Run command in the background.
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Set environment variables.
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
    /// Index of the container if service has multiple replicas.
    #[arg(long, default_value_t = 0)]
    pub index: u32,
    /// Disable pseudo-TTY allocation.
    #[arg(short = 'T', long = "no-TTY", alias = "no-tty")]
    pub no_tty: bool,
    /// Give extended privileges to the process.
    #[arg(long)]
    pub privileged: bool,
    /// Run the command as this user.
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Path to workdir directory for this command.
    #[arg(short = 'w', long)]
    pub workdir: Option<String>,
    /// Keep STDIN open (always on in docker compose).
    #[arg(short = 'i', long, hide = true)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY (the default when stdin is a terminal).
    #[arg(short = 't', long, hide = true)]
    pub tty: bool,
    /// Service.
    pub service: String,
    /// Command and arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
    pub command: Vec<String>,
}

/// `run`.
#[derive(Debug, Args, Clone, Default)]
pub struct RunArgs {
    /// Build image before starting container.
    #[arg(long)]
    pub build: bool,
    /// Add Linux capabilities.
    #[arg(long = "cap-add")]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities.
    #[arg(long = "cap-drop")]
    pub cap_drop: Vec<String>,
    /// Run container in background and print container ID.
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Override the entrypoint of the image.
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Set environment variables.
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
    /// Set environment variables from file.
    #[arg(long = "env-from-file")]
    pub env_from_file: Vec<PathBuf>,
    /// Keep STDIN open even if not attached.
    #[arg(short = 'i', long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub interactive: bool,
    /// Add or override a label.
    #[arg(short = 'l', long = "label")]
    pub label: Vec<String>,
    /// Assign a name to the container.
    #[arg(long)]
    pub name: Option<String>,
    /// Disable pseudo-TTY allocation (default: auto-detected).
    #[arg(short = 'T', long = "no-TTY", alias = "no-tty")]
    pub no_tty: bool,
    /// Allocate a pseudo-TTY.
    #[arg(short = 't', long, hide = true)]
    pub tty: bool,
    /// Don't start linked services.
    #[arg(long = "no-deps")]
    pub no_deps: bool,
    /// Publish a container's port(s) to the host.
    #[arg(short = 'p', long = "publish")]
    pub publish: Vec<String>,
    /// Pull image before running ("always"|"missing"|"never").
    #[arg(long)]
    pub pull: Option<String>,
    /// Don't print anything to STDOUT.
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Suppress progress output from the build process.
    #[arg(long = "quiet-build")]
    pub quiet_build: bool,
    /// Pull without printing progress information.
    #[arg(long = "quiet-pull")]
    pub quiet_pull: bool,
    /// Remove containers for services not defined in the Compose file.
    #[arg(long = "remove-orphans")]
    pub remove_orphans: bool,
    /// Automatically remove the container when it exits.
    #[arg(long)]
    pub rm: bool,
    /// Run command with all service's ports enabled and mapped to the host.
    #[arg(short = 'P', long = "service-ports")]
    pub service_ports: bool,
    /// Use the service's network useAliases in the network(s) the container connects to.
    #[arg(long = "use-aliases")]
    pub use_aliases: bool,
    /// Run as specified username or uid.
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Bind mount a volume.
    #[arg(short = 'v', long = "volume")]
    pub volume: Vec<String>,
    /// Working directory inside the container.
    #[arg(short = 'w', long)]
    pub workdir: Option<String>,
    /// Service.
    pub service: String,
    /// Command and arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// `config`.
#[derive(Debug, Args, Clone, Default)]
pub struct ConfigArgs {
    /// Print environment used for interpolation.
    #[arg(long)]
    pub environment: bool,
    /// Format the output. Values: [yaml | json].
    #[arg(long)]
    pub format: Option<String>,
    /// Print the service config hash, one per line.
    #[arg(long)]
    pub hash: Option<String>,
    /// Print the image names, one per line.
    #[arg(long)]
    pub images: bool,
    /// Print the model names, one per line.
    #[arg(long)]
    pub models: bool,
    /// Print the network names, one per line.
    #[arg(long)]
    pub networks: bool,
    /// Don't check model consistency.
    #[arg(long = "no-consistency")]
    pub no_consistency: bool,
    /// Don't resolve service env files.
    #[arg(long = "no-env-resolution")]
    pub no_env_resolution: bool,
    /// Don't interpolate environment variables.
    #[arg(long = "no-interpolate")]
    pub no_interpolate: bool,
    /// Don't normalize compose model.
    #[arg(long = "no-normalize")]
    pub no_normalize: bool,
    /// Don't resolve file paths.
    #[arg(long = "no-path-resolution")]
    pub no_path_resolution: bool,
    /// Save to file (default to stdout).
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
    /// Print the profile names, one per line.
    #[arg(long)]
    pub profiles: bool,
    /// Only validate the configuration, don't print anything.
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Print the service names, one per line.
    #[arg(long)]
    pub services: bool,
    /// Print model variables and default values.
    #[arg(long)]
    pub variables: bool,
    /// Print the volume names, one per line.
    #[arg(long)]
    pub volumes: bool,
    /// Services.
    pub names: Vec<String>,
}

/// `down`.
#[derive(Debug, Args, Clone, Default)]
pub struct DownArgs {
    /// Remove containers for services not defined in the Compose file.
    #[arg(long = "remove-orphans")]
    pub remove_orphans: bool,
    /// Remove images used by services ("local"|"all").
    #[arg(long, value_parser = ["local", "all"])]
    pub rmi: Option<String>,
    /// Specify a shutdown timeout in seconds.
    #[arg(short = 't', long, allow_negative_numbers = true)]
    pub timeout: Option<i64>,
    /// Remove named volumes declared in the "volumes" section and anonymous volumes.
    #[arg(short = 'v', long)]
    pub volumes: bool,
    /// Services.
    pub services: Vec<String>,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum ComposeCmd {
    /// Create and start containers.
    Up(UpArgs),
    /// Stop and remove containers, networks.
    Down(DownArgs),
    /// List containers.
    Ps(PsArgs),
    /// View output from containers.
    Logs(LogsArgs),
    /// Execute a command in a running container.
    Exec(ExecArgs),
    /// Run a one-off command on a service.
    Run(RunArgs),
    /// Build or rebuild services.
    Build {
        /// Set build-time variables for services.
        #[arg(long = "build-arg")]
        build_arg: Vec<String>,
        /// Do not use cache when building the image.
        #[arg(long = "no-cache")]
        no_cache: bool,
        /// Always attempt to pull a newer version of the image.
        #[arg(long)]
        pull: bool,
        /// Push service images.
        #[arg(long)]
        push: bool,
        /// Suppress the build output.
        #[arg(short = 'q', long)]
        quiet: bool,
        /// Also build dependencies (transitively).
        #[arg(long = "with-dependencies")]
        with_dependencies: bool,
        /// Services.
        services: Vec<String>,
    },
    /// Pull service images.
    Pull {
        /// Ignore images that can be built.
        #[arg(long = "ignore-buildable")]
        ignore_buildable: bool,
        /// Pull what it can and ignores images with pull failures.
        #[arg(long = "ignore-pull-failures")]
        ignore_pull_failures: bool,
        /// Also pull services declared as dependencies.
        #[arg(long = "include-deps")]
        include_deps: bool,
        /// Apply pull policy ("missing"|"always").
        #[arg(long)]
        policy: Option<String>,
        /// Pull without printing progress information.
        #[arg(short = 'q', long)]
        quiet: bool,
        /// Services.
        services: Vec<String>,
    },
    /// Push service images.
    Push {
        /// Push what it can and ignores images with push failures.
        #[arg(long = "ignore-push-failures")]
        ignore_push_failures: bool,
        /// Also push images of services declared as dependencies.
        #[arg(long = "include-deps")]
        include_deps: bool,
        /// Push without printing progress information.
        #[arg(short = 'q', long)]
        quiet: bool,
        /// Services.
        services: Vec<String>,
    },
    /// Parse, resolve and render compose file in canonical format.
    Config(ConfigArgs),
    /// Creates containers for a service.
    Create {
        #[command(flatten)]
        opts: CreateOpts,
        /// Services.
        services: Vec<String>,
    },
    /// Start services.
    Start {
        /// Wait for services to be running|healthy.
        #[arg(long)]
        wait: bool,
        /// Maximum duration in seconds to wait.
        #[arg(long = "wait-timeout")]
        wait_timeout: Option<u64>,
        /// Services.
        services: Vec<String>,
    },
    /// Stop services.
    Stop {
        /// Specify a shutdown timeout in seconds.
        #[arg(short = 't', long, allow_negative_numbers = true)]
        timeout: Option<i64>,
        /// Services.
        services: Vec<String>,
    },
    /// Restart service containers.
    Restart {
        /// Don't restart dependent services.
        #[arg(long = "no-deps")]
        no_deps: bool,
        /// Specify a shutdown timeout in seconds.
        #[arg(short = 't', long, allow_negative_numbers = true)]
        timeout: Option<i64>,
        /// Services.
        services: Vec<String>,
    },
    /// Force stop service containers.
    Kill {
        /// Remove containers for services not defined in the Compose file.
        #[arg(long = "remove-orphans")]
        remove_orphans: bool,
        /// SIGNAL to send to the container.
        #[arg(short = 's', long, default_value = "SIGKILL")]
        signal: String,
        /// Services.
        services: Vec<String>,
    },
    /// Removes stopped service containers.
    Rm {
        /// Don't ask to confirm removal.
        #[arg(short = 'f', long)]
        force: bool,
        /// Stop the containers, if required, before removing.
        #[arg(short = 's', long)]
        stop: bool,
        /// Remove any anonymous volumes attached to containers.
        #[arg(short = 'v', long)]
        volumes: bool,
        /// Services.
        services: Vec<String>,
    },
    /// Pause services.
    Pause {
        /// Services.
        services: Vec<String>,
    },
    /// Unpause services.
    Unpause {
        /// Services.
        services: Vec<String>,
    },
    /// Display the running processes.
    Top {
        /// Services.
        services: Vec<String>,
    },
    /// List images used by the created containers.
    Images {
        /// Format the output. Values: [table | json].
        #[arg(long, default_value = "table")]
        format: String,
        /// Only display IDs.
        #[arg(short = 'q', long)]
        quiet: bool,
        /// Services.
        services: Vec<String>,
    },
    /// Print the public port for a port binding.
    Port {
        /// Index of the container if service has multiple replicas.
        #[arg(long, default_value_t = 0)]
        index: u32,
        /// tcp or udp.
        #[arg(long, default_value = "tcp")]
        protocol: String,
        /// Service.
        service: String,
        /// Private port.
        private_port: String,
    },
    /// Receive real time events from containers.
    Events {
        /// Output events as a stream of json objects.
        #[arg(long)]
        json: bool,
        /// Show all events created since timestamp.
        #[arg(long)]
        since: Option<String>,
        /// Stream events until this timestamp.
        #[arg(long)]
        until: Option<String>,
        /// Services.
        services: Vec<String>,
    },
    /// Block until containers of all (or specified) services stop.
    Wait {
        /// Drops project when the first container stops.
        #[arg(long = "down-project")]
        down_project: bool,
        /// Services.
        #[arg(required = true)]
        services: Vec<String>,
    },
    /// Scale services.
    Scale {
        /// Don't start linked services.
        #[arg(long = "no-deps")]
        no_deps: bool,
        /// SERVICE=REPLICAS.
        #[arg(required = true)]
        scales: Vec<String>,
    },
    /// List running compose projects.
    Ls {
        /// Show all stopped Compose projects.
        #[arg(short = 'a', long)]
        all: bool,
        /// Filter output based on conditions provided.
        #[arg(long)]
        filter: Option<String>,
        /// Format the output. Values: [table | json].
        #[arg(long, default_value = "table")]
        format: String,
        /// Only display project names.
        #[arg(short = 'q', long)]
        quiet: bool,
    },
    /// Copy files/folders between a service container and the local filesystem.
    Cp {
        /// Include containers created by the run command.
        #[arg(long)]
        all: bool,
        /// Archive mode (copy all uid/gid information).
        #[arg(short = 'a', long)]
        archive: bool,
        /// Always follow symbol link in SRC_PATH.
        #[arg(short = 'L', long = "follow-link")]
        follow_link: bool,
        /// Index of the container if service has multiple replicas.
        #[arg(long, default_value_t = 0)]
        index: u32,
        /// SERVICE:SRC_PATH or a local path.
        src: String,
        /// SERVICE:DEST_PATH or a local path.
        dst: String,
    },
    /// Attach local standard input, output, and error streams to a service's running container.
    Attach {
        /// Override the key sequence for detaching from a container.
        #[arg(long = "detach-keys")]
        detach_keys: Option<String>,
        /// Index of the container if service has multiple replicas.
        #[arg(long, default_value_t = 0)]
        index: u32,
        /// Do not attach STDIN.
        #[arg(long = "no-stdin")]
        no_stdin: bool,
        /// Proxy all received signals to the process.
        #[arg(long = "sig-proxy", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
        sig_proxy: bool,
        /// Service.
        service: String,
    },
    /// Watch build context for service and rebuild/refresh containers when files are updated.
    Watch {
        /// Do not build & start services before watching.
        #[arg(long = "no-up")]
        no_up: bool,
        /// Prune dangling images on rebuild.
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
        prune: bool,
        /// Hide build output.
        #[arg(long)]
        quiet: bool,
        /// Services.
        services: Vec<String>,
    },
    /// Show the Docker Compose version information.
    Version {
        /// Format the output. Values: [pretty | json].
        #[arg(short = 'f', long)]
        format: Option<String>,
        /// Shows only Compose's version number.
        #[arg(long)]
        short: bool,
    },
    /// Display a live stream of container(s) resource usage statistics.
    Stats {
        /// Show all containers (default shows just running).
        #[arg(short = 'a', long)]
        all: bool,
        /// Format output using a custom template.
        #[arg(long)]
        format: Option<String>,
        /// Disable streaming stats and only pull the first result.
        #[arg(long = "no-stream")]
        no_stream: bool,
        /// Do not truncate output.
        #[arg(long = "no-trunc")]
        no_trunc: bool,
        /// Service.
        service: Option<String>,
    },
    /// List volumes.
    Volumes {
        /// Format output using a custom template.
        #[arg(long)]
        format: Option<String>,
        /// Only display volume names.
        #[arg(short = 'q', long)]
        quiet: bool,
        /// Services.
        services: Vec<String>,
    },
    /// Create a new image from a service container's changes.
    Commit {
        /// Author.
        #[arg(short = 'a', long)]
        author: Option<String>,
        /// Apply Dockerfile instruction to the created image.
        #[arg(short = 'c', long = "change")]
        change: Vec<String>,
        /// Index of the container if service has multiple replicas.
        #[arg(long, default_value_t = 0)]
        index: u32,
        /// Commit message.
        #[arg(short = 'm', long)]
        message: Option<String>,
        /// Pause container during commit.
        #[arg(short = 'p', long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
        pause: bool,
        /// Service.
        service: String,
        /// Repository[:tag].
        repository: Option<String>,
    },
    /// Export a service container's filesystem as a tar archive.
    Export {
        /// Index of the container if service has multiple replicas.
        #[arg(long, default_value_t = 0)]
        index: u32,
        /// Write to a file, instead of STDOUT.
        #[arg(short = 'o', long)]
        output: Option<PathBuf>,
        /// Service.
        service: String,
    },
}
