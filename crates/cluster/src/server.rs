//! `quai cluster server`: the data directory (store, token), the listener, the API
//! server, and the store's compaction (watch history kept five minutes, as
//! kube-apiserver compacts etcd).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::api::http::{self, Settings};
use crate::api::Registry;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct Options {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// The bearer token (else the data directory's, made on first start).
    pub token: Option<String>,
    /// Serve plain HTTP (only allowed on a loopback address).
    pub insecure_loopback: bool,
    pub write_kubeconfig: Option<PathBuf>,
    /// Log every request with the server's own time.
    pub request_log: Option<PathBuf>,
    /// The Services' address range (network address, prefix length).
    pub service_cidr: (u32, u8),
    /// Seconds a node may go silent before it is Ready=Unknown.
    pub node_grace_secs: i64,
    /// The pods' range (each node gets a /24 of it).
    pub cluster_cidr: (u32, u8),
    /// Where the objects live.
    pub datastore: Datastore,
}

/// The store behind the API.
#[derive(Debug, Clone, PartialEq)]
pub enum Datastore {
    /// `state.db` in the data directory.
    Sqlite,
    /// An etcd cluster (`host:port` of each member); several servers may share it.
    Etcd(Vec<String>),
}

impl Datastore {
    /// `sqlite` or `etcd://HOST:PORT[,HOST:PORT...]`.
    pub fn parse(s: &str) -> Result<Datastore, Error> {
        if s == "sqlite" {
            return Ok(Datastore::Sqlite);
        }
        let bad = |why: &str| Error::Usage(format!("--datastore {s:?}: {why}"));
        let rest = s
            .strip_prefix("etcd://")
            .ok_or_else(|| bad("expected sqlite or etcd://HOST:PORT[,HOST:PORT...]"))?;
        let mut eps = Vec::new();
        for ep in rest.split(',') {
            let (host, port) = ep
                .rsplit_once(':')
                .ok_or_else(|| bad(&format!("{ep:?} has no port")))?;
            if host.is_empty() || host.contains('/') || port.parse::<u16>().is_err() {
                return Err(bad(&format!("{ep:?} is not HOST:PORT")));
            }
            eps.push(ep.to_string());
        }
        Ok(Datastore::Etcd(eps))
    }
}

/// `A.B.C.D/N` as (network address, N), refused unless it is a range of 256 to 2^24
/// addresses starting at its network address.
pub fn parse_cidr(flag: &str, s: &str) -> Result<(u32, u8), Error> {
    let bad = |why: &str| Error::Usage(format!("{flag} {s:?}: {why}"));
    let (ip, len) = s.split_once('/').ok_or_else(|| bad("not ADDRESS/LENGTH"))?;
    let ip: std::net::Ipv4Addr = ip.parse().map_err(|_| bad("not an IPv4 address"))?;
    let len: u8 = len.parse().map_err(|_| bad("not a prefix length"))?;
    if !(8..=24).contains(&len) {
        return Err(bad("the prefix length must be from 8 to 24"));
    }
    let base = u32::from(ip);
    if base & ((1u32 << (32 - u32::from(len))) - 1) != 0 {
        return Err(bad("the address is not the range's first"));
    }
    Ok((base, len))
}

/// A server that could not start or stopped on an error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Usage(String),
    #[error("store: {0}")]
    Api(#[from] crate::api::ApiError),
    #[error(transparent)]
    Tls(#[from] crate::tls::Error),
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// The data directory's token, made (32 random bytes, hex, mode 0600) if missing.
pub fn token(data_dir: &Path) -> Result<String, Error> {
    let p = data_dir.join("token");
    match std::fs::read_to_string(&p) {
        Ok(t) if !t.trim().is_empty() => return Ok(t.trim().to_string()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io("read", &p)(e)),
    }
    let t: String = crate::api::meta::random_bytes::<32>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    write_private(&p, &t)?;
    Ok(t)
}

fn write_private(p: &Path, text: &str) -> Result<(), Error> {
    Ok(crate::tls::write(p, text, 0o600)?)
}

/// A kubeconfig for `server` with `token`, trusting `ca_pem` (None: plain HTTP).
pub fn kubeconfig(server: &str, token: &str, ca_pem: Option<&str>) -> String {
    use base64::Engine;
    let ca = match ca_pem {
        Some(pem) => format!(
            "    certificate-authority-data: {}\n",
            base64::engine::general_purpose::STANDARD.encode(pem)
        ),
        None => String::new(),
    };
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n{ca}    server: {server}\n  name: quai\ncontexts:\n- context:\n    cluster: quai\n    namespace: default\n    user: quai\n  name: quai\ncurrent-context: quai\npreferences: {{}}\nusers:\n- name: quai\n  user:\n    token: {token}\n"
    )
}

/// Check the options before anything is made.
pub fn check(opts: &Options) -> Result<(), Error> {
    if opts.insecure_loopback && !opts.listen.ip().is_loopback() {
        return Err(Error::Usage(format!(
            "--insecure-loopback serves plain HTTP, which is only allowed on a loopback address, not {}",
            opts.listen.ip()
        )));
    }
    Ok(())
}

/// What runs beside the server once its registry is ready (the node agent), and what
/// it answers for its pods.
pub type Hook = Box<
    dyn FnOnce(Arc<Registry>) -> Result<Option<Arc<dyn crate::api::node_proxy::NodeProxy>>, String>
        + Send,
>;

/// Run the server until it is stopped (SIGINT or SIGTERM).
pub fn run(opts: &Options) -> Result<(), Error> {
    run_with(opts, None)
}

/// [`run`], calling `hook` with the registry once it is ready.
pub fn run_with(opts: &Options, hook: Option<Hook>) -> Result<(), Error> {
    check(opts)?;
    std::fs::create_dir_all(&opts.data_dir).map_err(io("create", &opts.data_dir))?;
    let tok = match &opts.token {
        Some(t) => t.clone(),
        None => token(&opts.data_dir)?,
    };
    let store = match &opts.datastore {
        Datastore::Sqlite => crate::store::Store::open(&opts.data_dir.join("state.db")),
        Datastore::Etcd(eps) => crate::store::Store::open_etcd(eps),
    }
    .map_err(|e| Error::Usage(format!("open the datastore: {e}")))?;
    let reg = Arc::new(Registry::with_store(store, opts.service_cidr)?);
    reg.node_grace_secs
        .store(opts.node_grace_secs, std::sync::atomic::Ordering::Relaxed);
    let _ = reg.cluster_cidr.set(opts.cluster_cidr);
    reg.bootstrap(Some(opts.listen))?;
    let sa_key = crate::tls::service_account_key(&opts.data_dir)?;
    reg.set_signer(crate::api::satoken::Signer::from_pkcs8(&sa_key).map_err(Error::Usage)?);
    let files = crate::tls::Files::in_dir(&opts.data_dir);
    let tls = if opts.insecure_loopback {
        None
    } else {
        crate::tls::ensure(&files, &server_names(opts.listen, opts.service_cidr))?;
        Some(crate::tls::server_config(&files)?)
    };
    let url = match tls {
        Some(_) => format!("https://{}", opts.listen),
        None => format!("http://{}", opts.listen),
    };
    if tls.is_some() {
        let pem = std::fs::read_to_string(&files.ca_cert).map_err(io("read", &files.ca_cert))?;
        reg.set_ca_pem(pem);
    }
    if tls.is_some() {
        // What another machine joins with: the token and the CA's hash, so that the CA
        // fetched from `/cacerts` can be checked (k3s's form).
        let pem = std::fs::read(&files.ca_cert).map_err(io("read", &files.ca_cert))?;
        use sha2::Digest as _;
        let hash: String = sha2::Sha256::digest(&pem)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        write_private(
            &opts.data_dir.join("join-token"),
            &format!("K10{hash}::{tok}\n"),
        )?;
    }
    if let Some(p) = &opts.write_kubeconfig {
        let ca = match tls {
            Some(_) => {
                Some(std::fs::read_to_string(&files.ca_cert).map_err(io("read", &files.ca_cert))?)
            }
            None => None,
        };
        write_private(p, &kubeconfig(&url, &tok, ca.as_deref()))?;
    }
    let node = match hook {
        Some(h) => h(reg.clone()).map_err(Error::Usage)?,
        None => None,
    };
    let server = http::Server::new(
        reg.clone(),
        Settings {
            // kubectl sends no credentials to a plain-HTTP server: loopback serving
            // without TLS is unauthenticated, as kube-apiserver's old insecure port was.
            token: tls.as_ref().map(|_| tok.clone()),
            request_log: opts.request_log.clone(),
            node_token: tok,
        },
        node,
    )
    .map_err(|e| Error::Io {
        what: "open the request log",
        path: opts.request_log.clone().unwrap_or_default(),
        source: e,
    })?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|source| Error::Listen {
            addr: opts.listen,
            source,
        })?;
    let listen = opts.listen;
    rt.block_on(async move {
        let l = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|source| Error::Listen {
                addr: listen,
                source,
            })?;
        tokio::spawn(compactor(reg.clone()));
        if matches!(opts.datastore, Datastore::Etcd(_)) {
            tokio::spawn(apiserver_lease(reg.clone(), listen));
        }
        // Servers sharing an etcd elect one to run the controllers and scheduler.
        let elector = matches!(opts.datastore, Datastore::Etcd(_)).then(|| {
            crate::controllers::leader::Elector::new(format!("{listen}_{}", std::process::id()))
        });
        tokio::spawn(crate::controllers::run(reg, elector));
        let app = http::router(server);
        match tls {
            Some(cfg) => {
                let l = tlslisten::Listener::new(l, cfg).map_err(|source| Error::Listen {
                    addr: listen,
                    source,
                })?;
                axum::serve(l, app).with_graceful_shutdown(stopped()).await
            }
            None => axum::serve(l, app).with_graceful_shutdown(stopped()).await,
        }
        .map_err(|source| Error::Listen {
            addr: listen,
            source,
        })
    })
}

/// The names the server's certificate is for.
fn server_names(listen: SocketAddr, service_cidr: (u32, u8)) -> Vec<String> {
    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "kubernetes".to_string(),
        "kubernetes.default".to_string(),
        "kubernetes.default.svc".to_string(),
        "kubernetes.default.svc.cluster.local".to_string(),
        std::net::Ipv4Addr::from(service_cidr.0 + 1).to_string(),
    ];
    if !listen.ip().is_unspecified() {
        names.push(listen.ip().to_string());
    }
    if let Ok(h) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        let h = h.trim();
        if !h.is_empty() {
            names.push(h.to_string());
        }
    }
    names
}

async fn stopped() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
}

/// With servers sharing a store, each renews an identity Lease in `kube-system`
/// (`apiserver-...`, labelled `apiserver.kubernetes.io/identity: kube-apiserver`, as
/// kube-apiserver does) every 5 s, and the `kubernetes` Endpoints list the servers whose
/// lease was renewed in the last 15 s (kube's lease endpoint reconciler).
async fn apiserver_lease(reg: Arc<Registry>, listen: SocketAddr) {
    loop {
        let r = reg.clone();
        let _ = tokio::task::spawn_blocking(move || renew_identity(&r, listen)).await;
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

fn renew_identity(reg: &Registry, listen: SocketAddr) -> Result<(), crate::api::ApiError> {
    use crate::api::registry::{ListOptions, Write};
    use serde_json::json;
    let missing = || crate::api::ApiError::internal("no resource");
    let lr = crate::resources::find("coordination.k8s.io", "v1", "leases").ok_or_else(missing)?;
    let er = crate::resources::find("", "v1", "endpoints").ok_or_else(missing)?;
    let name = format!(
        "apiserver-{}",
        listen.to_string().replace(['.', ':', '[', ']'], "-")
    );
    let now_ns = clock::now_nanos();
    let micro = clock::rfc3339_nanos(now_ns);
    let micro = format!("{}Z", &micro[..micro.len().saturating_sub(4)]);
    let spec = json!({"holderIdentity": listen.to_string(), "leaseDurationSeconds": 15,
                      "renewTime": micro});
    match reg.get(lr, Some("kube-system"), &name) {
        Ok(mut l) => {
            l["spec"] = spec;
            reg.update(lr, Some("kube-system"), &name, l, None, &Write::default())?;
        }
        Err(e) if e.code == 404 => {
            reg.create(
                lr,
                Some("kube-system"),
                json!({"metadata": {"name": name,
                           "labels": {"apiserver.kubernetes.io/identity": "kube-apiserver"}},
                       "spec": spec}),
                &Write::default(),
            )?;
        }
        Err(e) => return Err(e),
    }
    let opts = ListOptions {
        labels: crate::selector::Selector::parse("apiserver.kubernetes.io/identity=kube-apiserver")
            .map_err(|e| crate::api::ApiError::internal(e.to_string()))?,
        ..Default::default()
    };
    let (leases, _, _) = reg.list(lr, Some("kube-system"), &opts)?;
    // Live servers by port, each port a subset (servers may listen on different ports).
    let mut by_port: std::collections::BTreeMap<u16, Vec<String>> = Default::default();
    for l in &leases {
        let renewed = l["spec"]["renewTime"]
            .as_str()
            .and_then(clock::parse_rfc3339)
            .unwrap_or(0);
        if now_ns - renewed > 15_000_000_000 {
            continue;
        }
        if let Some(addr) = l["spec"]["holderIdentity"]
            .as_str()
            .and_then(|h| h.parse::<SocketAddr>().ok())
        {
            by_port
                .entry(addr.port())
                .or_default()
                .push(addr.ip().to_string());
        }
    }
    let subsets: Vec<serde_json::Value> = by_port
        .into_iter()
        .map(|(port, mut ips)| {
            ips.sort();
            ips.dedup();
            json!({"addresses": ips.iter().map(|ip| json!({"ip": ip})).collect::<Vec<_>>(),
                   "ports": [{"name": "https", "port": port, "protocol": "TCP"}]})
        })
        .collect();
    let mut eps = reg.get(er, Some("default"), "kubernetes")?;
    if eps["subsets"] != json!(subsets) && !subsets.is_empty() {
        eps["subsets"] = json!(subsets);
        reg.update(
            er,
            Some("default"),
            "kubernetes",
            eps,
            None,
            &Write::default(),
        )?;
    }
    Ok(())
}

/// Compact the watch history every minute to what is five minutes old.
async fn compactor(reg: Arc<Registry>) {
    let mut seen: std::collections::VecDeque<(tokio::time::Instant, i64)> = Default::default();
    loop {
        tokio::time::sleep(Duration::from_secs(60)).await;
        let now = tokio::time::Instant::now();
        if let Ok(r) = reg.revision() {
            seen.push_back((now, r));
        }
        while let Some((t, r)) = seen.front().copied() {
            if now.duration_since(t) < Duration::from_secs(300) {
                break;
            }
            seen.pop_front();
            let _ = reg.compact(r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_ranges_are_checked() {
        assert_eq!(
            parse_cidr("--service-cidr", "10.96.0.0/12").expect("ok"),
            (u32::from(std::net::Ipv4Addr::new(10, 96, 0, 0)), 12)
        );
        for bad in ["10.96.0.1/12", "10.96.0.0", "10.96.0.0/30", "x/16"] {
            assert!(parse_cidr("--service-cidr", bad).is_err(), "{bad}");
        }
    }
}
