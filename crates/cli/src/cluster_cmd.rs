//! `quai cluster`: the Kubernetes-compatible control plane (`server`) and its kubeconfig.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;

/// `quai cluster` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ClusterCmd {
    /// Run the API server, its store, scheduler and controllers.
    Server(ServerArgs),
    /// Join a cluster as a node: run its pods on this machine's engine.
    Agent(AgentArgs),
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
pub struct AgentArgs {
    /// The API server (`https://HOST:PORT`).
    #[arg(long)]
    server: String,
    /// The cluster's join token (the server's data directory's `join-token`,
    /// `K10<CA hash>::<token>`), or its bare token with `--ca-file`.
    #[arg(long)]
    token: String,
    /// The cluster's CA certificate (the server's data directory's `ca.crt`); not needed
    /// with a join token, which names the CA the server then serves.
    #[arg(long, value_name = "FILE")]
    ca_file: Option<PathBuf>,
    /// This machine's node name (default: its host name).
    #[arg(long)]
    node_name: Option<String>,
    /// This node's pod range (a /24 of the cluster's); default: the one the control
    /// plane gives the node.
    #[arg(long)]
    pod_cidr: Option<String>,
    /// The address other nodes reach this one at.
    #[arg(long)]
    node_ip: Option<std::net::Ipv4Addr>,
    /// The cluster's Services' range (as the server's `--service-cidr`).
    #[arg(long, default_value = "10.43.0.0/16")]
    service_cidr: String,
}

#[derive(Debug, clap::Args)]
pub struct ServerArgs {
    /// Where the store and the token live.
    #[arg(long, default_value = "/var/lib/quai/cluster")]
    data_dir: PathBuf,
    /// Address and port to serve the API on.
    #[arg(long, default_value = "127.0.0.1:6443")]
    listen: SocketAddr,
    /// The store: `sqlite` (in the data directory) or `etcd://HOST:PORT[,HOST:PORT...]`
    /// (an etcd 3.4+ cluster that several servers may share).
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
    /// Seconds a node may go without renewing its lease before it is Ready=Unknown
    /// (its pods are evicted once their tolerations run out).
    #[arg(long, default_value_t = 40)]
    node_monitor_grace_period: i64,
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

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_lowercase())
        .unwrap_or_else(|_| "quai".to_string())
}

/// `quai cluster agent`: everything checked first, then the agent runs until stopped.
fn agent(a: AgentArgs, root: &std::path::Path, run_dir: &std::path::Path) -> anyhow::Result<i32> {
    if !a.server.starts_with("https://") {
        anyhow::bail!(
            "--server {:?}: the API server is reached over https://",
            a.server
        );
    }
    let pod_cidr = match &a.pod_cidr {
        Some(given) => {
            let p = first_slash24(given)?;
            if &p != given {
                anyhow::bail!("--pod-cidr {given:?}: give the node's /24 ({p})");
            }
            p
        }
        None => String::new(),
    };
    let service_cidr = cluster::server::parse_cidr("--service-cidr", &a.service_cidr)?;
    let (hash, secret) = node::remote::parse_join_token(&a.token);
    let ca = match (&a.ca_file, hash) {
        (Some(f), hash) => {
            let pem =
                std::fs::read(f).with_context(|| format!("read the cluster CA {}", f.display()))?;
            if hash.is_some_and(|h| !node::remote::ca_matches(&pem, h)) {
                anyhow::bail!(
                    "--ca-file {}: not the CA the join token names",
                    f.display()
                );
            }
            pem
        }
        (None, Some(h)) => node::remote::fetch_ca(&a.server, h)?,
        (None, None) => anyhow::bail!(
            "--ca-file: the cluster's CA is needed, or a join token (the server's data directory's `join-token`, K10<CA hash>::<token>) to fetch and check it"
        ),
    };
    let remote = node::remote::Remote::new(&a.server, secret, &ca, service_cidr)?;
    let opts = node::Options {
        node_name: a.node_name.unwrap_or_else(host_name),
        root: root.to_path_buf(),
        run_dir: run_dir.to_path_buf(),
        pod_cidr,
        control_plane: false,
        node_ip: a.node_ip.map(|i| i.to_string()),
        kubelet_token: Some(secret.to_string()),
        serving_cert_sha256: None,
    };
    node::spawn(std::sync::Arc::new(remote), opts)?;
    // The agent's threads do the work; this one waits for SIGINT or SIGTERM.
    let mut set = nix::sys::signal::SigSet::empty();
    set.add(nix::sys::signal::Signal::SIGINT);
    set.add(nix::sys::signal::Signal::SIGTERM);
    set.thread_block()?;
    let _ = set.wait();
    Ok(0)
}

pub fn cluster(
    cmd: ClusterCmd,
    root: &std::path::Path,
    run_dir: &std::path::Path,
) -> anyhow::Result<i32> {
    match cmd {
        ClusterCmd::Server(a) => {
            let datastore = cluster::server::Datastore::parse(&a.datastore)?;
            let opts = cluster::server::Options {
                data_dir: a.data_dir,
                listen: a.listen,
                token: a.token,
                insecure_loopback: a.insecure_loopback,
                write_kubeconfig: a.write_kubeconfig,
                request_log: a.request_log,
                service_cidr: cluster::server::parse_cidr("--service-cidr", &a.service_cidr)?,
                node_grace_secs: a.node_monitor_grace_period.max(1),
                cluster_cidr: cluster::server::parse_cidr("--cluster-cidr", &a.cluster_cidr)?,
                datastore: datastore.clone(),
            };
            let hook: Option<cluster::server::Hook> = if a.no_agent {
                None
            } else {
                let node_name = a.node_name.unwrap_or_else(host_name);
                let agent = node::Options {
                    node_name,
                    root: root.to_path_buf(),
                    run_dir: run_dir.to_path_buf(),
                    // Alone on its store, the server's node takes the first /24; servers
                    // sharing an etcd get theirs from node IPAM, as joined agents do.
                    pod_cidr: match datastore {
                        cluster::server::Datastore::Sqlite => first_slash24(&a.cluster_cidr)?,
                        cluster::server::Datastore::Etcd(_) => String::new(),
                    },
                    control_plane: true,
                    // Other nodes reach this one where the API listens, when that is
                    // an address of its own.
                    node_ip: Some(a.listen.ip())
                        .filter(|ip| !ip.is_loopback() && !ip.is_unspecified())
                        .map(|ip| ip.to_string()),
                    // The server reaches its own node's pods in process; servers
                    // sharing an etcd reach each other's through the kubelet API.
                    kubelet_token: match (
                        &datastore,
                        Some(a.listen.ip()).filter(|ip| !ip.is_loopback()),
                    ) {
                        (cluster::server::Datastore::Etcd(_), Some(_)) => Some(match &opts.token {
                            Some(t) => t.clone(),
                            None => {
                                std::fs::create_dir_all(&opts.data_dir).with_context(|| {
                                    format!("create {}", opts.data_dir.display())
                                })?;
                                cluster::server::token(&opts.data_dir)?
                            }
                        }),
                        _ => None,
                    },
                    serving_cert_sha256: None,
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
        ClusterCmd::Agent(a) => agent(a, root, run_dir),
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
