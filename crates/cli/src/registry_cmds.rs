//! pull, push, login, logout.

use std::io::BufRead;

use anyhow::{bail, Context};
use clap::Args;
use engine::lifecycle::Engine;
use image::Reference;

/// `pull` options.
#[derive(Debug, Args)]
pub struct PullArgs {
    /// Only print the image name.
    #[arg(short, long)]
    pub quiet: bool,
    /// Platform for multi-platform images (os/arch[/variant]).
    #[arg(long, default_value = "linux/amd64")]
    pub platform: String,
    /// Verify TLS certificates (false also allows plain HTTP).
    #[arg(long = "tls-verify", default_value_t = true, action = clap::ArgAction::Set)]
    pub tls_verify: bool,
    /// Pull every tag of the repository.
    #[arg(short, long = "all-tags")]
    pub all_tags: bool,
    /// Image reference.
    pub image: String,
    /// Progress on stderr, without the final reference line: the pull of `run` and
    /// `create`, whose stdout is the container's (docker's).
    #[arg(skip)]
    pub for_run: bool,
}

impl PullArgs {
    /// The defaults for pulling one image (what `run` does for a missing image).
    pub fn for_image(image: &str) -> PullArgs {
        PullArgs {
            quiet: false,
            platform: "linux/amd64".into(),
            tls_verify: true,
            all_tags: false,
            image: image.into(),
            for_run: true,
        }
    }
}

/// `push` options.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// Print only errors.
    #[arg(short, long)]
    pub quiet: bool,
    /// Verify TLS certificates (false also allows plain HTTP).
    #[arg(long = "tls-verify", default_value_t = true, action = clap::ArgAction::Set)]
    pub tls_verify: bool,
    /// Image reference (the registry host is part of the name).
    pub image: String,
}

/// `login` options.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// User name.
    #[arg(short, long)]
    pub username: Option<String>,
    /// Password (prefer --password-stdin).
    #[arg(short, long)]
    pub password: Option<String>,
    /// Read the password from standard input.
    #[arg(long = "password-stdin")]
    pub password_stdin: bool,
    /// Verify TLS certificates.
    #[arg(long = "tls-verify", default_value_t = true, action = clap::ArgAction::Set)]
    pub tls_verify: bool,
    /// Registry host.
    pub server: String,
}

/// Per-layer lines as docker prints them: on a terminal, one progress bar per layer
/// (`a3ed95caeb02: Downloading [=====>   ] 1.2MB/3MB`) that ends as the layer's status;
/// otherwise one line per step.
struct LayerBars {
    multi: Option<indicatif::MultiProgress>,
    by_layer: std::sync::Mutex<std::collections::HashMap<String, indicatif::ProgressBar>>,
    style: indicatif::ProgressStyle,
    moving: &'static str,
    to_stderr: bool,
}

impl LayerBars {
    fn new(quiet: bool, moving: &'static str, to_stderr: bool) -> LayerBars {
        use std::io::IsTerminal;
        let terminal = if to_stderr {
            std::io::stderr().is_terminal()
        } else {
            std::io::stdout().is_terminal()
        };
        let multi = (!quiet && terminal).then(|| {
            indicatif::MultiProgress::with_draw_target(if to_stderr {
                indicatif::ProgressDrawTarget::stderr()
            } else {
                indicatif::ProgressDrawTarget::stdout()
            })
        });
        LayerBars {
            multi,
            by_layer: Default::default(),
            style: indicatif::ProgressStyle::with_template(
                "{prefix}: {msg:<16} [{bar:30}] {bytes}/{total_bytes}",
            )
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            moving,
            to_stderr,
        }
    }

    fn bar(&self, d: &content::Digest, total: Option<u64>) -> Option<indicatif::ProgressBar> {
        let mb = self.multi.as_ref()?;
        let mut m = self.by_layer.lock().ok()?;
        let b = m.entry(d.hex()[..12].to_string()).or_insert_with(|| {
            let b = mb.add(indicatif::ProgressBar::new(total.unwrap_or(0)));
            b.set_style(self.style.clone());
            b.set_prefix(d.hex()[..12].to_string());
            b.set_message(self.moving);
            b
        });
        Some(b.clone())
    }

    fn bytes(&self, d: &content::Digest, done: u64, total: Option<u64>) {
        if let Some(b) = self.bar(d, total) {
            if let Some(t) = total {
                b.set_length(t);
            }
            b.set_message(self.moving);
            b.set_position(done);
        }
    }

    fn event(&self, ev: &engine::images::ProgressEvent) {
        let Some(mb) = &self.multi else {
            if self.to_stderr {
                eprintln!("{}", ev.docker_line());
            } else {
                println!("{}", ev.docker_line());
            }
            return;
        };
        match ev.layer() {
            // A layer's step: its bar (made now if it has none yet) shows it.
            Some(d) => {
                if let Some(b) = self.bar(d, None) {
                    if matches!(ev, engine::images::ProgressEvent::Preparing(_)) {
                        b.set_message(ev.status());
                    } else {
                        b.finish_with_message(ev.status());
                    }
                }
            }
            // The last words (`Digest: ...`, `latest: digest: ... size: ...`) go under the
            // layers' lines, as docker's final screen has them.
            None => {
                let line = mb.add(indicatif::ProgressBar::new(0));
                line.set_style(
                    indicatif::ProgressStyle::with_template("{msg}")
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                line.finish_with_message(ev.docker_line());
            }
        }
    }
}

/// `quai pull`.
pub fn pull(eng: &Engine, a: PullArgs) -> anyhow::Result<i32> {
    if a.all_tags {
        let r: Reference = a.image.parse()?;
        if r.digest.is_some()
            || a.image
                .rsplit('/')
                .next()
                .is_some_and(|last| last.contains(':'))
        {
            bail!("pull --all-tags: give a repository without a tag or digest");
        }
        let tags = eng.image_remote_tags(
            &r,
            engine::images::RegistryOptions {
                tls_verify: a.tls_verify,
                ..Default::default()
            },
        )?;
        for t in tags {
            let one = PullArgs {
                quiet: a.quiet,
                platform: a.platform.clone(),
                tls_verify: a.tls_verify,
                all_tags: false,
                image: format!("{}:{t}", r.repository()),
                for_run: a.for_run,
            };
            pull(eng, one)?;
        }
        return Ok(0);
    }
    let r: Reference = a.image.parse()?;
    let platform: engine::images::Platform = a.platform.parse()?;
    let quiet = a.quiet;
    // The pull `run` and `create` make writes to stderr: stdout is the container's.
    let for_run = a.for_run;
    let say = |line: &str| {
        if for_run {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    };
    // Docker prints "TAG: Pulling from REPO" once the registry answered (a pull that
    // fails at once prints only the error): at the first progress event.
    let announced = std::sync::atomic::AtomicBool::new(quiet);
    let announce = || {
        if !announced.swap(true, std::sync::atomic::Ordering::Relaxed) {
            say(&format!(
                "{}: Pulling from {}",
                r.tag.as_deref().unwrap_or("latest"),
                r.path.strip_prefix("library/").unwrap_or(&r.path)
            ));
        }
    };
    let bars = LayerBars::new(quiet, "Downloading", for_run);
    let on_bytes = |d: &content::Digest, done: u64, total: Option<u64>| {
        announce();
        bars.bytes(d, done, total)
    };
    let progress = |ev: engine::images::ProgressEvent| {
        if quiet {
            return;
        }
        announce();
        bars.event(&ev);
    };
    eng.image_pull(
        &r,
        &platform,
        engine::images::RegistryOptions {
            tls_verify: a.tls_verify,
            ..Default::default()
        },
        engine::images::Progress {
            event: &progress,
            bytes: Some(&on_bytes),
        },
    )?;
    if !quiet {
        announce();
        say(&format!(
            "Status: Downloaded newer image for {}",
            r.familiar()
        ));
    }
    if !for_run {
        println!("{r}");
    }
    Ok(0)
}

/// `quai push`.
pub fn push(eng: &Engine, a: PushArgs) -> anyhow::Result<i32> {
    let r: Reference = a.image.parse()?;
    // The image must exist before anything is said about the push.
    eng.image_resolve(&a.image)?;
    let quiet = a.quiet;
    if !quiet {
        println!("The push refers to repository [{}]", r.repository());
    }
    let bars = LayerBars::new(quiet, "Pushing", false);
    let on_bytes = |d: &content::Digest, done: u64, total: Option<u64>| bars.bytes(d, done, total);
    let progress = |ev: engine::images::ProgressEvent| {
        if !quiet {
            bars.event(&ev);
        }
    };
    eng.image_push(
        &r,
        engine::images::RegistryOptions {
            tls_verify: a.tls_verify,
            ..Default::default()
        },
        engine::images::Progress {
            event: &progress,
            bytes: Some(&on_bytes),
        },
    )?;
    Ok(0)
}

/// `quai login`.
pub fn login(a: LoginArgs) -> anyhow::Result<i32> {
    use std::io::{IsTerminal, Write};
    let interactive = std::io::stdin().is_terminal();
    let no_tty = || anyhow::anyhow!("Cannot perform an interactive login from a non TTY device");
    let read_line = || -> anyhow::Result<String> {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\n', '\r']).to_string())
    };
    let user = match a.username {
        Some(u) => u,
        None if a.password_stdin => bail!("Must provide --username with --password-stdin"),
        None if interactive => {
            print!("Username: ");
            std::io::stdout().flush()?;
            let u = read_line()?;
            if u.trim().is_empty() {
                bail!("Error: Non-null Username Required");
            }
            u.trim().to_string()
        }
        None => return Err(no_tty()),
    };
    let password = match (a.password, a.password_stdin) {
        (Some(_), true) => bail!("--password and --password-stdin are mutually exclusive"),
        (Some(p), false) => {
            eprintln!("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
            p
        }
        (None, true) => read_line()?,
        (None, false) if interactive => {
            print!("Password: ");
            std::io::stdout().flush()?;
            // No echo while the password is typed.
            use nix::sys::termios;
            let stdin = std::io::stdin();
            let orig = termios::tcgetattr(&stdin).ok();
            if let Some(o) = &orig {
                let mut quiet = o.clone();
                quiet.local_flags.remove(termios::LocalFlags::ECHO);
                let _ = termios::tcsetattr(&stdin, termios::SetArg::TCSANOW, &quiet);
            }
            let p = read_line();
            if let Some(o) = &orig {
                let _ = termios::tcsetattr(&stdin, termios::SetArg::TCSANOW, o);
            }
            println!();
            p?
        }
        (None, false) => return Err(no_tty()),
    };
    if password.is_empty() {
        bail!("Error: Password Required");
    }
    engine::images::registry_login(
        &a.server,
        &user,
        &password,
        engine::images::RegistryOptions {
            tls_verify: a.tls_verify,
            ..Default::default()
        },
    )
    .with_context(|| format!("login to {}", a.server))?;
    println!("Login Succeeded");
    Ok(0)
}

/// `quai logout`.
pub fn logout(server: &str) -> anyhow::Result<i32> {
    if engine::images::registry_logout(server)? {
        println!("Removing login credentials for {server}");
    } else {
        println!("Not logged in to {server}");
    }
    Ok(0)
}

/// `quai registry ...`.
#[derive(Debug, clap::Subcommand)]
pub enum RegistryCmd {
    /// Serve an OCI distribution registry.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:5000")]
        addr: String,
        /// Storage directory.
        #[arg(long)]
        root: std::path::PathBuf,
        /// htpasswd file (bcrypt) for basic authentication.
        #[arg(long)]
        htpasswd: Option<std::path::PathBuf>,
        /// TLS certificate (PEM).
        #[arg(long = "tls-cert")]
        tls_cert: Option<std::path::PathBuf>,
        /// TLS key (PEM).
        #[arg(long = "tls-key")]
        tls_key: Option<std::path::PathBuf>,
    },
    /// Remove blobs that no manifest references.
    Gc {
        /// Storage directory.
        #[arg(long)]
        root: std::path::PathBuf,
    },
}

/// `quai registry serve|gc`.
pub fn registry(cmd: RegistryCmd) -> anyhow::Result<i32> {
    match cmd {
        RegistryCmd::Serve {
            addr,
            root,
            htpasswd,
            tls_cert,
            tls_key,
        } => {
            let tls = match (tls_cert, tls_key) {
                (Some(c), Some(k)) => Some((c, k)),
                (None, None) => None,
                _ => bail!("registry serve: --tls-cert and --tls-key go together"),
            };
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("start the async runtime")?;
            rt.block_on(async {
                let listener = tokio::net::TcpListener::bind(&addr)
                    .await
                    .with_context(|| format!("listen on {addr}"))?;
                let cfg = registry_server::Config {
                    root: root.clone(),
                    htpasswd,
                };
                match tls {
                    Some((c, k)) => {
                        eprintln!(
                            "quai registry: serving {} on https://{addr}",
                            root.display()
                        );
                        registry_server::serve_tls(cfg, listener, &c, &k).await
                    }
                    None => {
                        eprintln!("quai registry: serving {} on http://{addr}", root.display());
                        registry_server::serve(cfg, listener).await
                    }
                }?;
                anyhow::Ok(())
            })?;
            Ok(0)
        }
        RegistryCmd::Gc { root } => {
            let r = registry_server::gc(&root)?;
            println!("{} blobs removed, {} bytes freed", r.removed.len(), r.bytes);
            Ok(0)
        }
    }
}
