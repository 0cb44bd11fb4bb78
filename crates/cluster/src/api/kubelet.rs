//! The kubelet's API between the API server and a node agent on another machine, as
//! kube-apiserver reaches a kubelet: the agent serves HTTPS on its node's address
//! (`status.daemonEndpoints.kubeletEndpoint.Port`, 10250) with `GET
//! /containerLogs/NS/POD/CONTAINER` and `/exec/NS/POD/CONTAINER` (a WebSocket, the same
//! `v5.channel.k8s.io` stream a client gets); the API server forwards `pods/log` and
//! `pods/exec` there, the exec's upgraded connection spliced byte for byte (kube's
//! upgrade-aware proxy).
//!
//! - The agent's certificate is its own, self-signed, made at each start; the Node it
//!   registers carries the certificate's SHA-256 (annotation [`CERT_ANNOTATION`]) and
//!   the API server accepts no other certificate for that node.
//! - The API server authenticates with the cluster's bearer token, which the agent
//!   joined with; the agent answers nobody else.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use sha2::Digest as _;

use super::client::ControlPlane;
use super::http::{error_response, query_pairs, Query};
use super::node_proxy::{self, NodeProxy};
use super::status::{ApiError, ApiResult};

/// The Node annotation with the SHA-256 (hex) of its agent's serving certificate.
pub const CERT_ANNOTATION: &str = "node.quai.dev/kubelet-serving-cert-sha256";
/// The kubelet's port.
pub const PORT: u16 = 10250;

struct Agent {
    token: String,
    proxy: Arc<dyn NodeProxy>,
    cp: Arc<dyn ControlPlane>,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Serve the kubelet API on `listen` for `proxy`'s pods (looked up through `cp`),
/// answering only `token`. Returns the certificate's SHA-256 (hex) once listening.
pub fn serve(
    listen: SocketAddr,
    names: Vec<String>,
    token: String,
    proxy: Arc<dyn NodeProxy>,
    cp: Arc<dyn ControlPlane>,
) -> Result<String, String> {
    let key = rcgen::KeyPair::generate().map_err(|e| e.to_string())?;
    let mut params = rcgen::CertificateParams::new(names).map_err(|e| e.to_string())?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "quai-kubelet");
    let cert = params.self_signed(&key).map_err(|e| e.to_string())?;
    let fingerprint = hex(&sha2::Sha256::digest(cert.der()));
    let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    )
    .map_err(|e| e.to_string())?;
    let std_listener = std::net::TcpListener::bind(listen)
        .map_err(|e| format!("the kubelet API on {listen}: {e}"))?;
    std_listener
        .set_nonblocking(true)
        .map_err(|e| e.to_string())?;
    let state = Arc::new(Agent { token, proxy, cp });
    std::thread::Builder::new()
        .name("kubelet-api".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("quai cluster agent: the kubelet API: {e}");
                    return;
                }
            };
            rt.block_on(async move {
                let app = axum::Router::new()
                    .route(
                        "/containerLogs/{ns}/{pod}/{container}",
                        axum::routing::get(logs),
                    )
                    .route(
                        "/exec/{ns}/{pod}/{container}",
                        axum::routing::get(exec).post(exec),
                    )
                    .route(
                        "/attach/{ns}/{pod}/{container}",
                        axum::routing::get(attach).post(attach),
                    )
                    .route(
                        "/portForward/{ns}/{pod}",
                        axum::routing::get(port_forward).post(port_forward),
                    )
                    .with_state(state);
                let served = async {
                    let tcp = tokio::net::TcpListener::from_std(std_listener)?;
                    let l = tlslisten::Listener::new(tcp, cfg)?;
                    axum::serve(l, app).await
                };
                if let Err(e) = served.await {
                    eprintln!("quai cluster agent: the kubelet API: {e}");
                }
            });
        })
        .map_err(|e| e.to_string())?;
    Ok(fingerprint)
}

fn allowed(a: &Agent, headers: &HeaderMap) -> bool {
    let got = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    got.len() == a.token.len()
        && got
            .bytes()
            .zip(a.token.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The pod, read through the control plane (a blocking call).
async fn pod_of(a: &Arc<Agent>, ns: String, name: String) -> ApiResult<Value> {
    let cp = a.cp.clone();
    tokio::task::spawn_blocking(move || {
        let r = crate::resources::find("", "v1", "pods")
            .ok_or_else(|| ApiError::internal("no pods resource"))?;
        cp.get(r, Some(&ns), &name)
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?
}

fn with_container(q: Option<String>, container: &str) -> Query {
    let mut pairs: Vec<(String, String)> = query_pairs(q.as_deref())
        .into_iter()
        .filter(|(k, _)| k != "container")
        .collect();
    pairs.push(("container".to_string(), container.to_string()));
    Query(pairs)
}

async fn logs(
    State(a): State<Arc<Agent>>,
    Path((ns, pod, container)): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    if !allowed(&a, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let run = async {
        let pod = pod_of(&a, ns, pod).await?;
        let req = node_proxy::log_request(&pod, &with_container(q, &container))?;
        node_proxy::serve_logs(a.proxy.clone(), pod, req).await
    };
    run.await.unwrap_or_else(|e| error_response(&e))
}

async fn exec(
    State(a): State<Arc<Agent>>,
    Path(target): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
    req: Request<Body>,
) -> Response {
    run_in_container(a, target, q, req, false).await
}

async fn attach(
    State(a): State<Arc<Agent>>,
    Path(target): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
    req: Request<Body>,
) -> Response {
    run_in_container(a, target, q, req, true).await
}

/// An exec or attach in a container of this node, on the request's own upgrade.
async fn run_in_container(
    a: Arc<Agent>,
    (ns, pod, container): (String, String, String),
    q: Option<String>,
    req: Request<Body>,
    attach: bool,
) -> Response {
    if !allowed(&a, req.headers()) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let (parts, body) = req.into_parts();
    let run = async {
        let pod = pod_of(&a, ns, pod).await?;
        let query = with_container(q, &container);
        let er = if attach {
            node_proxy::attach_request(&pod, &query)?
        } else {
            node_proxy::exec_request(&pod, &query)?
        };
        super::exec::serve_any(parts, body, a.proxy.clone(), pod, er).await
    };
    run.await.unwrap_or_else(|e| error_response(&e))
}

async fn port_forward(
    State(a): State<Arc<Agent>>,
    Path((ns, pod)): Path<(String, String)>,
    req: Request<Body>,
) -> Response {
    if !allowed(&a, req.headers()) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let run = async {
        let pod = pod_of(&a, ns, pod).await?;
        super::portforward::serve(a.proxy.clone(), pod, req).await
    };
    run.await.unwrap_or_else(|e| error_response(&e))
}

/// Accepts exactly the certificate whose SHA-256 a Node names.
#[derive(Debug)]
struct Pinned {
    sha256: String,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl rustls::client::danger::ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        if hex(&sha2::Sha256::digest(end_entity.as_ref())) == self.sha256 {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "the node's certificate is not the one its Node names".into(),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Where a Node's agent serves, when it is another machine's: its InternalIP, the
/// kubelet port and the certificate pin. None for a node without them (the server's
/// own, reached in process).
pub fn endpoint(node: &Value) -> Option<(SocketAddr, String)> {
    let pin = node["metadata"]["annotations"][CERT_ANNOTATION].as_str()?;
    let port = node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"].as_u64()?;
    let ip = node["status"]["addresses"]
        .as_array()?
        .iter()
        .find(|a| a["type"] == "InternalIP")?["address"]
        .as_str()?
        .parse::<std::net::IpAddr>()
        .ok()?;
    Some((
        SocketAddr::new(ip, u16::try_from(port).ok()?),
        pin.to_string(),
    ))
}

fn unreachable(addr: SocketAddr, e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        502,
        "BadGateway",
        format!("error dialing backend: the node's agent at {addr}: {e}"),
    )
}

/// Send `req` to the agent at `addr` (pinned to `pin`) over a connection of its own;
/// the connection is driven in the background, upgrades allowed.
async fn send(
    addr: SocketAddr,
    pin: &str,
    req: Request<Body>,
) -> ApiResult<hyper::Response<hyper::body::Incoming>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| unreachable(addr, e))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Pinned {
            sha256: pin.to_string(),
            provider,
        }))
        .with_no_client_auth();
    let tcp = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        tokio::net::TcpStream::connect(addr),
    )
    .await
    .map_err(|e| unreachable(addr, e))?
    .map_err(|e| unreachable(addr, e))?;
    let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
    let tls = tokio_rustls::TlsConnector::from(Arc::new(cfg))
        .connect(name, tcp)
        .await
        .map_err(|e| unreachable(addr, e))?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
            .await
            .map_err(|e| unreachable(addr, e))?;
    tokio::spawn(async move {
        let _ = conn.with_upgrades().await;
    });
    sender
        .send_request(req)
        .await
        .map_err(|e| unreachable(addr, e))
}

/// The agent's answer as the client's: its status, headers and streamed body.
fn relay(resp: hyper::Response<hyper::body::Incoming>) -> Response {
    let (parts, body) = resp.into_parts();
    Response::from_parts(parts, Body::new(body))
}

/// `pods/log` of a pod on another machine: the agent's stream, forwarded.
pub async fn proxy_logs(
    node: &Value,
    token: &str,
    pod: &Value,
    req: &node_proxy::LogRequest,
    raw_query: &[(String, String)],
) -> ApiResult<Response> {
    let (addr, pin) = endpoint(node).ok_or_else(|| {
        ApiError::bad_request("the pod's node has no kubelet endpoint to reach it by")
    })?;
    let q = forwarded_query(raw_query, &["container"]);
    let path = format!(
        "/containerLogs/{}/{}/{}{q}",
        pod["metadata"]["namespace"].as_str().unwrap_or_default(),
        pod["metadata"]["name"].as_str().unwrap_or_default(),
        req.container
    );
    let r = Request::get(path)
        .header(header::HOST, addr.to_string())
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(relay(send(addr, &pin, r).await?))
}

fn forwarded_query(pairs: &[(String, String)], drop: &[&str]) -> String {
    let kept: Vec<&(String, String)> = pairs
        .iter()
        .filter(|(k, _)| !drop.contains(&k.as_str()))
        .collect();
    if kept.is_empty() {
        return String::new();
    }
    format!("?{}", serde_urlencoded::to_string(kept).unwrap_or_default())
}

/// `pods/exec` of a pod on another machine: the client's upgrade request is sent on to
/// the agent; once it switches protocols, both upgraded connections are spliced.
pub async fn proxy_exec(
    node: &Value,
    token: &str,
    pod: &Value,
    req: &node_proxy::ExecRequest,
    client: Request<Body>,
) -> ApiResult<Response> {
    let pairs = query_pairs(client.uri().query());
    let path = format!(
        "/{}/{}/{}/{}{}",
        if req.attach { "attach" } else { "exec" },
        pod["metadata"]["namespace"].as_str().unwrap_or_default(),
        pod["metadata"]["name"].as_str().unwrap_or_default(),
        req.container,
        forwarded_query(&pairs, &["container"])
    );
    proxy_upgrade(node, token, path, client).await
}

/// `pods/portforward` of a pod on another machine, spliced as exec is.
pub async fn proxy_port_forward(
    node: &Value,
    token: &str,
    pod: &Value,
    client: Request<Body>,
) -> ApiResult<Response> {
    let path = format!(
        "/portForward/{}/{}",
        pod["metadata"]["namespace"].as_str().unwrap_or_default(),
        pod["metadata"]["name"].as_str().unwrap_or_default(),
    );
    proxy_upgrade(node, token, path, client).await
}

/// Send the client's upgrade request on to the node's agent at `path`; once the agent
/// switches protocols, splice both upgraded connections byte for byte.
async fn proxy_upgrade(
    node: &Value,
    token: &str,
    path: String,
    mut client: Request<Body>,
) -> ApiResult<Response> {
    let (addr, pin) = endpoint(node).ok_or_else(|| {
        ApiError::bad_request("the pod's node has no kubelet endpoint to reach it by")
    })?;
    let mut r = Request::get(path);
    for (k, v) in client.headers() {
        // The client's credentials are not the node's business.
        if k == header::AUTHORIZATION || k == header::HOST {
            continue;
        }
        r = r.header(k, v);
    }
    let r = r
        .header(header::HOST, addr.to_string())
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let mut resp = send(addr, &pin, r).await?;
    if resp.status() != StatusCode::SWITCHING_PROTOCOLS {
        return Ok(relay(resp));
    }
    let node_side = hyper::upgrade::on(&mut resp);
    let client_side = hyper::upgrade::on(&mut client);
    tokio::spawn(async move {
        let (Ok(n), Ok(c)) = (node_side.await, client_side.await) else {
            return;
        };
        let mut n = hyper_util::rt::TokioIo::new(n);
        let mut c = hyper_util::rt::TokioIo::new(c);
        let _ = tokio::io::copy_bidirectional(&mut c, &mut n).await;
    });
    let (parts, _) = resp.into_parts();
    Ok(Response::from_parts(parts, Body::empty()))
}
