//! quai's docker-like command line (everything but `quai runtime`): clap definitions,
//! dispatch to the libraries, and Docker-shaped output.
//!
//! Owns argument parsing and formatting only; the work is in `image` (and later the
//! engine). Must never fork containers itself: that is the runtime's and the engine's.

mod format;
mod images;
mod registry_cmds;

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
}

/// Run the docker-like CLI; returns the exit code.
pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 125 } else { 0 };
        }
    };
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            // One line: the chain of causes joined, like Docker's "Error response ...".
            eprintln!("Error: {}", format!("{e:#}").replace('\n', " "));
            1
        }
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    match cli.cmd {
        Cmd::Import(a) => images::import(&cli.root, a),
        Cmd::Images(a) => images::list(&cli.root, a),
        Cmd::Tag { source, target } => images::tag(&cli.root, &source, &target),
        Cmd::Rmi { force, images } => images::rmi(&cli.root, &images, force),
        Cmd::History { image, no_trunc } => images::history(&cli.root, &image, no_trunc),
        Cmd::Save(a) => images::save(&cli.root, a),
        Cmd::Pull(a) => registry_cmds::pull(&cli.root, a),
        Cmd::Push(a) => registry_cmds::push(&cli.root, a),
        Cmd::Login(a) => registry_cmds::login(a),
        Cmd::Logout { server } => registry_cmds::logout(&server),
        Cmd::Registry { cmd } => registry_cmds::registry(cmd),
        Cmd::Load(a) => images::load(&cli.root, a),
        Cmd::Image { cmd } => images::image_cmd(&cli.root, cmd),
        Cmd::Runtime => Ok(0),
    }
}
