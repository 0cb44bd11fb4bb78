//! `quai cluster`: the Kubernetes-compatible control plane (`server`) and its kubeconfig.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;

/// `quai cluster` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ClusterCmd {
    /// Run the API server, its store, scheduler and controllers.
    Server(ServerArgs),
    /// Print a kubeconfig for the cluster (bearer token).
    Kubeconfig {
        /// The server's data directory.
        #[arg(long, default_value = "/var/lib/quai/cluster")]
        data_dir: PathBuf,
        /// The address clients reach the server at.
        #[arg(long, default_value = "https://127.0.0.1:6443")]
        server: String,
    },
}

#[derive(Debug, clap::Args)]
pub struct ServerArgs {
    /// Where the store and the token live.
    #[arg(long, default_value = "/var/lib/quai/cluster")]
    data_dir: PathBuf,
    /// Address and port to serve the API on.
    #[arg(long, default_value = "127.0.0.1:6443")]
    listen: SocketAddr,
    /// The store: `sqlite` (in the data directory).
    #[arg(long, default_value = "sqlite")]
    datastore: String,
    /// The bearer token clients must present (default: the data directory's, made once).
    #[arg(long)]
    token: Option<String>,
    /// Write a kubeconfig for this server to FILE.
    #[arg(long, value_name = "FILE")]
    write_kubeconfig: Option<PathBuf>,
    /// Serve plain HTTP without authentication (kubectl sends no token over HTTP);
    /// only on a loopback address.
    #[arg(long)]
    insecure_loopback: bool,
    /// Log every request with the server's own time to FILE.
    #[arg(long, value_name = "FILE")]
    request_log: Option<PathBuf>,
}

pub fn cluster(cmd: ClusterCmd) -> anyhow::Result<i32> {
    match cmd {
        ClusterCmd::Server(a) => {
            if a.datastore != "sqlite" {
                anyhow::bail!(
                    "--datastore {:?}: only \"sqlite\" is available so far",
                    a.datastore
                );
            }
            let opts = cluster::server::Options {
                data_dir: a.data_dir,
                listen: a.listen,
                token: a.token,
                insecure_loopback: a.insecure_loopback,
                write_kubeconfig: a.write_kubeconfig,
                request_log: a.request_log,
            };
            cluster::server::run(&opts)?;
            Ok(0)
        }
        ClusterCmd::Kubeconfig { data_dir, server } => {
            let tok = std::fs::read_to_string(data_dir.join("token")).with_context(|| {
                format!(
                    "read the cluster token in {} (has `quai cluster server` run there?)",
                    data_dir.display()
                )
            })?;
            let ca = if server.starts_with("https://") {
                let p = data_dir.join("ca.crt");
                Some(
                    std::fs::read_to_string(&p)
                        .with_context(|| format!("read the cluster CA {}", p.display()))?,
                )
            } else {
                None
            };
            print!(
                "{}",
                cluster::server::kubeconfig(&server, tok.trim(), ca.as_deref())
            );
            Ok(0)
        }
    }
}
