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
    let for_run = a.for_run;
    let say = |line: &str| {
        if for_run {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    };
    if !quiet {
        say(&format!(
            "{}: Pulling from {}",
            r.tag.as_deref().unwrap_or("latest"),
            r.path.strip_prefix("library/").unwrap_or(&r.path)
        ));
    }
    // Per-layer progress bars on a terminal; plain lines otherwise.
    use std::io::IsTerminal;
    let terminal = if for_run {
        std::io::stderr().is_terminal()
    } else {
        std::io::stdout().is_terminal()
    };
    let bars = (!quiet && terminal).then(indicatif::MultiProgress::new);
    let by_layer: std::sync::Mutex<std::collections::HashMap<String, indicatif::ProgressBar>> =
        Default::default();
    let style = indicatif::ProgressStyle::with_template(
        "{prefix}: {msg:<16} [{bar:30}] {bytes}/{total_bytes}",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    let bar_for = |d: &content::Digest, total: Option<u64>| -> Option<indicatif::ProgressBar> {
        let mb = bars.as_ref()?;
        let mut m = by_layer.lock().ok()?;
        let b = m.entry(d.hex()[..12].to_string()).or_insert_with(|| {
            let b = mb.add(indicatif::ProgressBar::new(total.unwrap_or(0)));
            b.set_style(style.clone());
            b.set_prefix(d.hex()[..12].to_string());
            b.set_message("Downloading");
            b
        });
        Some(b.clone())
    };
    let on_bytes = |d: &content::Digest, done: u64, total: Option<u64>| {
        if let Some(b) = bar_for(d, total) {
            b.set_position(done);
        }
    };
    let progress = |ev: engine::images::ProgressEvent| {
        if quiet {
            return;
        }
        if let Some(mb) = &bars {
            let bar = ev.layer().and_then(|d| {
                by_layer
                    .lock()
                    .ok()
                    .and_then(|m| m.get(&d.hex()[..12]).cloned())
            });
            match bar {
                Some(b) => b.finish_with_message(ev.status()),
                None => {
                    let _ = mb.println(ev.docker_line());
                }
            }
            return;
        }
        say(&ev.docker_line());
    };
    eng.image_pull(
        &r,
        &platform,
        engine::images::RegistryOptions {
            tls_verify: a.tls_verify,
        },
        engine::images::Progress {
            event: &progress,
            bytes: Some(&on_bytes),
        },
    )?;
    if !quiet {
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
    eng.image_push(
        &r,
        engine::images::RegistryOptions {
            tls_verify: a.tls_verify,
        },
        &|ev| {
            if !quiet {
                println!("{}", ev.docker_line());
            }
        },
    )?;
    Ok(0)
}

/// `quai login`.
pub fn login(a: LoginArgs) -> anyhow::Result<i32> {
    let user = match a.username {
        Some(u) => u,
        None => bail!("login: --username is required (interactive prompts are not supported yet)"),
    };
    let password = match (a.password, a.password_stdin) {
        (Some(_), true) => bail!("login: --password and --password-stdin are mutually exclusive"),
        (Some(p), false) => p,
        (None, true) => {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            line.trim_end_matches(['\n', '\r']).to_string()
        }
        (None, false) => bail!("login: give --password-stdin (or --password)"),
    };
    engine::images::registry_login(
        &a.server,
        &user,
        &password,
        engine::images::RegistryOptions {
            tls_verify: a.tls_verify,
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
