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
    /// This machine's node name (default: its host name).
    #[arg(long)]
    node_name: Option<String>,
    /// Run only the control plane, no node agent for this machine.
    #[arg(long)]
    no_agent: bool,
    /// The pods' address range; this node takes its first /24.
    #[arg(long, default_value = "10.42.0.0/16")]
    cluster_cidr: String,
    /// The Services' address range (the first address is the `kubernetes` service's,
    /// the tenth the cluster DNS's).
    #[arg(long, default_value = "10.43.0.0/16")]
    service_cidr: String,
}

/// The first /24 of a range (`10.42.0.0/16` -> `10.42.0.0/24`).
fn first_slash24(cidr: &str) -> anyhow::Result<String> {
    let (ip, len) = cidr
        .split_once('/')
        .ok_or_else(|| anyhow::anyhow!("--cluster-cidr {cidr:?}: not ADDRESS/LENGTH"))?;
    let ip: std::net::Ipv4Addr = ip
        .parse()
        .map_err(|e| anyhow::anyhow!("--cluster-cidr {cidr:?}: {e}"))?;
    let len: u8 = len
        .parse()
        .map_err(|e| anyhow::anyhow!("--cluster-cidr {cidr:?}: {e}"))?;
    if len > 24 {
        anyhow::bail!("--cluster-cidr {cidr:?}: must be a /24 or larger");
    }
    let o = ip.octets();
    Ok(format!("{}.{}.{}.0/24", o[0], o[1], o[2]))
}

pub fn cluster(
    cmd: ClusterCmd,
    root: &std::path::Path,
    run_dir: &std::path::Path,
) -> anyhow::Result<i32> {
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
                service_cidr: cluster::server::parse_cidr("--service-cidr", &a.service_cidr)?,
            };
            let hook: Option<cluster::server::Hook> = if a.no_agent {
                None
            } else {
                let node_name = match a.node_name {
                    Some(n) => n,
                    None => std::fs::read_to_string("/proc/sys/kernel/hostname")
                        .map(|h| h.trim().to_lowercase())
                        .unwrap_or_else(|_| "quai".to_string()),
                };
                let agent = node::Options {
                    node_name,
                    root: root.to_path_buf(),
                    run_dir: run_dir.to_path_buf(),
                    pod_cidr: first_slash24(&a.cluster_cidr)?,
                    control_plane: true,
                };
                Some(Box::new(move |reg| {
                    let proxy = node::spawn(reg, agent).map_err(|e| format!("node agent: {e}"))?;
                    Ok(Some(
                        proxy as std::sync::Arc<dyn cluster::api::node_proxy::NodeProxy>,
                    ))
                }))
            };
            cluster::server::run_with(&opts, hook)?;
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
