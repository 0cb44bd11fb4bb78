//! BuildKit's API as dockerd serves it, so that clients that build through buildx's
//! "docker" driver (docker compose v2, `docker buildx build`) build with quai's builder.
//! Two hijacked endpoints: `POST /grpc` (`Upgrade: h2c`) carries gRPC over HTTP/2 with
//! the client as the caller — the control API (`ListWorkers`, `Info`, `Solve`,
//! `Status`) and the gateway (`LLBBridge`: `Ping`, `Solve`, `Return`) that buildx's
//! `Build` goes through; `POST /session` (`Upgrade: h2c`, `X-Docker-Expose-Session-*`)
//! turns the roles round: the client serves its session (file sync of the local
//! directories `context` and `dockerfile`) and the service calls it.
//!
//! A build: the control `Solve` names the build (`Ref`), its session and its exporter
//! (`moby`/`image` with the image's `name`); buildx's gateway `Solve` (its calls carry
//! the build's ref in `buildkit-controlapi-buildid`) asks for the `dockerfile.v0`
//! frontend with the Dockerfile's options. The service then copies both directories
//! from the session into a private directory of the run dir, runs quai's builder on it
//! (as `POST /build` does) with its progress as `Status` messages, and answers the
//! gateway with a reference to the result. The gateway advertises BuildKit's frozen
//! default capabilities and `return`, so the client ends each build with `Return` (an
//! internal build that only asks for the worker's options too, without a result); a
//! `Final` solve (the older way) is taken as well. The control `Solve` then answers
//! with the image (the exporter's response: `containerimage.digest`, `image.name`).
//! Only the Dockerfile frontend is
//! served; LLB definitions, other frontends, cache export and attestations are not.

pub(crate) mod classic;
mod fsutil;
mod grpc;
mod proto;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use tokio::sync::{mpsc, watch};

use grpc::{Responder, Status};

/// What builds and sessions are under way (shared by the service's connections).
#[derive(Debug, Default, Clone)]
pub(crate) struct Registry(Arc<Mutex<Inner>>);

#[derive(Default)]
struct Inner {
    sessions: HashMap<String, h2::client::SendRequest<Bytes>>,
    /// Sessions to close when they come, or now: their build was refused. The docker
    /// CLI 20.10 waits for its session to end, which it may dial after the refusal.
    closing: HashMap<String, Arc<tokio::sync::Notify>>,
    builds: HashMap<String, Arc<Build>>,
    /// The refs of the last builds ended: a call for one that comes late (a `Status`
    /// after its `Solve` has answered) finds it over rather than making it anew.
    ended: std::collections::VecDeque<String>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("sessions", &self.sessions.keys().collect::<Vec<_>>())
            .field("builds", &self.builds.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// What the control `Solve` says of its build.
#[derive(Clone)]
struct Control {
    session: String,
    names: Vec<String>,
    attrs: HashMap<String, String>,
}

/// One build, met by its ref from the control API and the gateway.
struct Build {
    control: Mutex<Option<Control>>,
    image: Mutex<Option<content::Digest>>,
    /// How the client ended its gateway build (`Return`, or a `Final` solve): the
    /// result's ref (none for a build without a result) or its error.
    outcome: Mutex<Option<Result<Option<String>, Status>>>,
    done: watch::Sender<bool>,
    status_tx: Mutex<Option<mpsc::UnboundedSender<proto::StatusResponse>>>,
    status_rx: Mutex<Option<mpsc::UnboundedReceiver<proto::StatusResponse>>>,
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The build `r`, made when this is its first call.
    fn build(&self, r: &str) -> Arc<Build> {
        let mut inner = self.lock();
        let new = || {
            let (tx, rx) = mpsc::unbounded_channel();
            Arc::new(Build {
                control: Mutex::new(None),
                image: Mutex::new(None),
                outcome: Mutex::new(None),
                done: watch::channel(false).0,
                status_tx: Mutex::new(Some(tx)),
                status_rx: Mutex::new(Some(rx)),
            })
        };
        if inner.ended.iter().any(|e| e == r) {
            let b = new();
            b.close_status();
            b.finish(Err(Status::new(
                grpc::NOT_FOUND,
                format!("build {r:?} is over"),
            )));
            return b;
        }
        inner
            .builds
            .entry(r.to_string())
            .or_insert_with(new)
            .clone()
    }

    fn end(&self, r: &str) {
        let mut inner = self.lock();
        if let Some(b) = inner.builds.remove(r) {
            b.close_status();
        }
        inner.ended.push_back(r.to_string());
        if inner.ended.len() > 256 {
            inner.ended.pop_front();
        }
    }

    fn session(&self, id: &str) -> Option<h2::client::SendRequest<Bytes>> {
        self.lock().sessions.get(id).cloned()
    }

    /// The notice that closes the session `id`.
    fn closer(&self, id: &str) -> Arc<tokio::sync::Notify> {
        let mut inner = self.lock();
        if inner.closing.len() > 256 {
            // Notices of sessions that never came.
            inner.closing.retain(|_, n| Arc::strong_count(n) > 1);
        }
        inner.closing.entry(id.to_string()).or_default().clone()
    }

    /// Close the session `id`, now or as soon as it comes.
    pub(crate) fn close_session(&self, id: &str) {
        // `notify_one` keeps the notice for a session that is not yet waiting.
        self.closer(id).notify_one();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Build {
    fn close_status(&self) {
        lock(&self.status_tx).take();
    }

    fn finish(&self, outcome: Result<Option<String>, Status>) {
        lock(&self.outcome).get_or_insert(outcome);
        self.done.send_replace(true);
    }

    fn status_sender(&self) -> Option<mpsc::UnboundedSender<proto::StatusResponse>> {
        lock(&self.status_tx).clone()
    }
}

/// Wait up to `secs` for `f` to give something.
async fn until<T>(secs: u64, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let end = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if tokio::time::Instant::now() >= end {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn switching(proto: &str) -> Response {
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, proto)
        .body(Body::empty())
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn wants_h2c(req: &Request) -> bool {
    req.headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("h2c"))
}

fn refuse(message: &str) -> Response {
    crate::ApiError::bad_request(message.to_string()).into_response()
}

/// `POST /grpc`: BuildKit's control API and gateway on the hijacked connection.
pub async fn grpc(
    axum::extract::State(st): axum::extract::State<crate::State>,
    mut req: Request,
) -> Response {
    if !wants_h2c(&req) {
        return refuse("the gRPC endpoint takes a connection upgraded to h2c");
    }
    let upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        let Ok(upgraded) = upgrade.await else {
            return;
        };
        let io = hyper_util::rt::TokioIo::new(upgraded);
        let Ok(mut conn) = h2::server::Builder::new()
            .initial_window_size(1 << 20)
            .initial_connection_window_size(1 << 20)
            .handshake::<_, Bytes>(io)
            .await
        else {
            return;
        };
        while let Some(Ok((req, respond))) = conn.accept().await {
            tokio::spawn(dispatch(st.clone(), req, Responder::new(respond)));
        }
    });
    switching("h2c")
}

/// `POST /session`: the client's session, called over the hijacked connection.
pub async fn session(
    axum::extract::State(st): axum::extract::State<crate::State>,
    mut req: Request,
) -> Response {
    if !wants_h2c(&req) {
        return refuse("a session takes a connection upgraded to h2c");
    }
    let Some(id) = req
        .headers()
        .get("X-Docker-Expose-Session-Uuid")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .map(str::to_string)
    else {
        return refuse("no session id (X-Docker-Expose-Session-Uuid)");
    };
    if st.buildkit.session(&id).is_some() {
        return refuse(&format!("session {id} already exists"));
    }
    let upgrade = hyper::upgrade::on(&mut req);
    let reg = st.buildkit.clone();
    let closer = reg.closer(&id);
    tokio::spawn(async move {
        let Ok(upgraded) = upgrade.await else {
            return;
        };
        let io = hyper_util::rt::TokioIo::new(upgraded);
        let Ok((send, conn)) = h2::client::Builder::new()
            .initial_window_size(4 << 20)
            .initial_connection_window_size(8 << 20)
            .handshake::<_, Bytes>(io)
            .await
        else {
            return;
        };
        reg.lock().sessions.insert(id.clone(), send);
        tokio::select! {
            _ = conn => {}
            _ = closer.notified() => {}
        }
        let mut inner = reg.lock();
        inner.sessions.remove(&id);
        inner.closing.remove(&id);
    });
    switching("h2c")
}

async fn unary<M: prost::Message + Default>(body: &mut grpc::Incoming) -> Result<M, Status> {
    body.next::<M>()
        .await?
        .ok_or_else(|| Status::new(grpc::INVALID_ARGUMENT, "no request message"))
}

const CONTROL: &str = "/moby.buildkit.v1.Control/";
const GATEWAY: &str = "/moby.buildkit.v1.frontend.LLBBridge/";

async fn dispatch(st: crate::State, req: http::Request<h2::RecvStream>, mut r: Responder) {
    let path = req.uri().path().to_string();
    let build_id = req
        .headers()
        .get("buildkit-controlapi-buildid")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mut body = grpc::Incoming::new(req.into_body());
    if let Some(method) = path.strip_prefix(CONTROL) {
        match method {
            "ListWorkers" => r.reply(Ok(workers())),
            "Info" => r.reply(Ok(proto::InfoResponse {
                buildkit_version: Some(version()),
            })),
            "Status" => match unary::<proto::StatusRequest>(&mut body).await {
                Ok(q) => status(&st, &q.r#ref, r).await,
                Err(e) => r.finish(Err(e)),
            },
            "Solve" => match unary::<proto::SolveRequest>(&mut body).await {
                Ok(q) => control_solve(&st, q, r).await,
                Err(e) => r.finish(Err(e)),
            },
            _ => r.finish(Err(unimplemented(&path))),
        }
        return;
    }
    if let Some(method) = path.strip_prefix(GATEWAY) {
        match method {
            "Ping" => r.reply(Ok(pong())),
            "Return" => match unary::<proto::ReturnRequest>(&mut body).await {
                Ok(q) => {
                    let b = st.buildkit.build(&build_id);
                    let outcome = match (q.error, q.result) {
                        (Some(e), _) if e.code != 0 => Err(Status::new(e.code as u32, e.message)),
                        (_, Some(res)) => Ok(res
                            .r#ref
                            .map(|r| r.id)
                            .filter(|r| !r.is_empty())
                            .or(Some(res.ref_deprecated).filter(|r| !r.is_empty()))),
                        _ => Ok(None),
                    };
                    b.finish(outcome);
                    r.reply(Ok(proto::Empty {}));
                }
                Err(e) => r.finish(Err(e)),
            },
            "Solve" => match unary::<proto::GatewaySolveRequest>(&mut body).await {
                Ok(q) => {
                    let res = tokio::select! {
                        res = gateway_solve(&st, &build_id, q) => res,
                        _ = r.reset() => return,
                    };
                    r.reply(res);
                }
                Err(e) => r.finish(Err(e)),
            },
            _ => r.finish(Err(unimplemented(&path))),
        }
        return;
    }
    r.finish(Err(unimplemented(&path)));
}

fn unimplemented(path: &str) -> Status {
    Status::new(
        grpc::UNIMPLEMENTED,
        format!("{path} is not served by quai's BuildKit API"),
    )
}

/// The gateway's capabilities: BuildKit's frozen defaults and `return` (the client ends
/// each build with `Return`, one without a result too).
fn pong() -> proto::PongResponse {
    let caps = [
        "solve.base",
        "solve.inlinereturn",
        "resolveimage",
        "readfile",
        "return",
    ];
    proto::PongResponse {
        frontend_api_caps: caps
            .iter()
            .map(|c| proto::ApiCap {
                id: c.to_string(),
                enabled: true,
            })
            .collect(),
    }
}

fn version() -> proto::BuildkitVersion {
    proto::BuildkitVersion {
        package: "quai".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        revision: String::new(),
    }
}

fn workers() -> proto::ListWorkersResponse {
    proto::ListWorkersResponse {
        record: vec![proto::WorkerRecord {
            id: "quai".into(),
            labels: HashMap::from([(
                "org.mobyproject.buildkit.worker.executor".to_string(),
                "quai".to_string(),
            )]),
            platforms: vec![proto::Platform {
                architecture: "amd64".into(),
                os: "linux".into(),
            }],
            buildkit_version: Some(version()),
        }],
    }
}

/// `Control.Status`: the build's progress until it ends.
async fn status(st: &crate::State, r: &str, mut resp: Responder) {
    let b = st.buildkit.build(r);
    let rx = lock(&b.status_rx).take();
    drop(b);
    if let Some(mut rx) = rx {
        loop {
            let m = tokio::select! {
                m = rx.recv() => m,
                _ = resp.reset() => {
                    // A client gone before its build began leaves nothing behind.
                    let b = st.buildkit.build(r);
                    if lock(&b.control).is_none() {
                        st.buildkit.end(r);
                    }
                    return;
                }
            };
            let Some(m) = m else { break };
            if resp.send(&m).is_err() {
                return;
            }
        }
    }
    resp.finish(Ok(()));
}

/// The image names of the exporters (`moby`, `image`, `docker`).
fn export_names(q: &proto::SolveRequest) -> Vec<String> {
    let mut exporters: Vec<(&str, &HashMap<String, String>)> = q
        .exporters
        .iter()
        .map(|e| (e.r#type.as_str(), &e.attrs))
        .collect();
    if exporters.is_empty() && !q.exporter_deprecated.is_empty() {
        exporters.push((&q.exporter_deprecated, &q.exporter_attrs_deprecated));
    }
    exporters
        .into_iter()
        .filter(|(t, _)| matches!(*t, "moby" | "image" | "docker"))
        .filter_map(|(_, a)| a.get("name"))
        .flat_map(|n| n.split(','))
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect()
}

/// `Control.Solve`: the build's answer once it is over.
async fn control_solve(st: &crate::State, q: proto::SolveRequest, mut resp: Responder) {
    let r = q.r#ref.clone();
    let b = st.buildkit.build(&r);
    let names = export_names(&q);
    *lock(&b.control) = Some(Control {
        session: q.session.clone(),
        names: names.clone(),
        attrs: q.frontend_attrs.clone(),
    });
    let outcome = if q.frontend == "dockerfile.v0" {
        // A client that asks for the frontend itself (not through the gateway).
        tokio::select! {
            res = run(st, &r, &q.frontend_attrs) => res.map(Some),
            _ = resp.reset() => Err(Status::new(grpc::UNKNOWN, "cancelled")),
        }
    } else if !q.frontend.is_empty() {
        Err(Status::new(
            grpc::UNIMPLEMENTED,
            format!(
                "frontend {:?} is not served: quai builds Dockerfiles (dockerfile.v0)",
                q.frontend
            ),
        ))
    } else {
        let mut done = b.done.subscribe();
        tokio::select! {
            d = done.wait_for(|d| *d) => match d {
                Ok(_) => match lock(&b.outcome).clone() {
                    Some(Ok(Some(_))) => lock(&b.image).clone().map(Some).ok_or_else(|| {
                        Status::new(grpc::UNKNOWN, "the build ended without an image")
                    }),
                    Some(Ok(None)) => Ok(None),
                    Some(Err(e)) => Err(e),
                    None => Err(Status::new(grpc::UNKNOWN, "the build ended without a result")),
                },
                Err(_) => Err(Status::new(grpc::UNKNOWN, "the build went away")),
            },
            _ = resp.reset() => Err(Status::new(grpc::UNKNOWN, "cancelled")),
        }
    };
    st.buildkit.end(&r);
    resp.reply(outcome.map(|id| {
        let Some(id) = id else {
            return proto::SolveResponse::default();
        };
        let mut m = HashMap::from([
            ("containerimage.digest".to_string(), id.to_string()),
            ("containerimage.config.digest".to_string(), id.to_string()),
        ]);
        if !names.is_empty() {
            m.insert("image.name".into(), names.join(","));
        }
        proto::SolveResponse {
            exporter_response: m,
        }
    }));
}

/// The gateway's `Solve`: the Dockerfile frontend run by quai's builder, or the client's
/// `Final` solve that ends its build.
async fn gateway_solve(
    st: &crate::State,
    build_id: &str,
    q: proto::GatewaySolveRequest,
) -> Result<proto::GatewaySolveResponse, Status> {
    if build_id.is_empty() {
        return Err(Status::new(
            grpc::INVALID_ARGUMENT,
            "no build named (buildkit-controlapi-buildid)",
        ));
    }
    let b = st.buildkit.build(build_id);
    if q.r#final {
        b.finish(Ok(Some(format!("{build_id}-result"))));
        return Ok(proto::GatewaySolveResponse {
            r#ref: format!("{build_id}-result"),
        });
    }
    if q.frontend != "dockerfile.v0" {
        return Err(Status::new(
            grpc::UNIMPLEMENTED,
            format!(
                "frontend {:?} is not served: quai builds Dockerfiles (dockerfile.v0)",
                q.frontend
            ),
        ));
    }
    run(st, build_id, &q.frontend_opt).await?;
    Ok(proto::GatewaySolveResponse {
        r#ref: format!("{build_id}-result"),
    })
}

/// The build's private directory, removed when it is over.
struct Dir(std::path::PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Fetch the build's directories from its session and run quai's builder on them.
async fn run(
    st: &crate::State,
    build_id: &str,
    opts: &HashMap<String, String>,
) -> Result<content::Digest, Status> {
    let b = st.buildkit.build(build_id);
    let control = until(60, || lock(&b.control).clone())
        .await
        .ok_or_else(|| Status::new(grpc::NOT_FOUND, format!("no build {build_id:?}")))?;
    let session = until(30, || st.buildkit.session(&control.session))
        .await
        .ok_or_else(|| {
            Status::new(
                grpc::NOT_FOUND,
                format!("no session {:?} for the build", control.session),
            )
        })?;
    let mut attrs = control.attrs.clone();
    attrs.extend(opts.iter().map(|(k, v)| (k.clone(), v.clone())));
    let spec = options::Spec::from_attrs(&attrs, &control.names)?;
    let id = crate::exec::new_id().map_err(|e| Status::new(grpc::UNKNOWN, e.message()))?;
    let dir = Dir(st.run_dir.join("api").join(format!("buildkit-{id}")));
    let (ctx, dfdir) = (dir.0.join("context"), dir.0.join("dockerfile"));
    for d in [&ctx, &dfdir] {
        std::fs::create_dir_all(d)
            .map_err(|e| Status::new(grpc::UNKNOWN, format!("create {}: {e}", d.display())))?;
    }
    let mut progress = progress::StatusProgress::new(build_id, b.status_sender());
    drop(b);
    // The builder shows the Dockerfile and the context as its first vertices.
    let include = vec![
        spec.filename.clone(),
        format!("{}.dockerignore", spec.filename),
    ];
    fsutil::receive(&session, "dockerfile", &include, &dfdir).await?;
    fsutil::receive(&session, "context", &[], &ctx).await?;
    let dockerfile = engine::rootfs::read_file_in(&dfdir, &spec.filename).map_err(|e| {
        Status::new(
            grpc::NOT_FOUND,
            format!("failed to read dockerfile {}: {e}", spec.filename),
        )
    })?;
    let (root, run_dir) = (st.root.clone(), st.run_dir.clone());
    let built = tokio::task::spawn_blocking(move || {
        let mut eng = engine::lifecycle::Engine::open(&root, &run_dir)
            .map_err(|e| Status::new(grpc::UNKNOWN, e.to_string()))?;
        let req = spec.request(ctx.clone(), dockerfile);
        let res = build::build(&mut eng, &req, &mut progress)
            .map_err(|e| Status::new(grpc::UNKNOWN, options::failure(&e)));
        drop(dir);
        res
    })
    .await
    .map_err(|e| Status::new(grpc::UNKNOWN, format!("the build's thread: {e}")))??;
    let b = st.buildkit.build(build_id);
    *lock(&b.image) = Some(built.clone());
    Ok(built)
}

mod options;
mod progress;
