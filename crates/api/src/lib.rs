//! The Docker Engine API, served over the engine library (`quai system service`): the
//! docker CLI, compose and the SDKs drive quai through it. axum on tokio; every request
//! opens the engine afresh on a blocking thread (the engine is the one owner of the
//! state, this service keeps none), so several services and CLIs share one state.
//!
//! Paths come versioned (`/v1.47/containers/json`) or not; a version outside what this
//! service speaks is refused with dockerd's message. Errors are `{"message": ...}` with
//! dockerd's status codes.

mod archive;
mod attach;
mod build;
mod buildkit;
mod containers;
mod create;
mod exec;
mod hijack;
mod images;
mod listen;
mod objects;
mod registry;
mod resources;
mod stream;
mod system;
mod usage;

use std::path::PathBuf;

use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use serde_json::json;

/// The API version this service speaks (and reports in `Api-Version`).
pub const API_VERSION: &str = "1.47";
/// The oldest version it accepts.
pub const MIN_API_VERSION: &str = "1.24";

/// Service errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Listening failed.
    #[error("listen on {addr}: {source}")]
    Listen {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    /// The address is not one this service takes.
    #[error("{0}")]
    Address(String),
    /// The TLS files could not be used.
    #[error("{path}: {reason}")]
    Tls { path: PathBuf, reason: String },
}

/// Where to listen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    /// `unix:///PATH`.
    Unix(PathBuf),
    /// `tcp://HOST:PORT` (loopback, or any address with TLS and client certificates).
    Tcp(std::net::SocketAddr),
    /// `fd://` (the first socket systemd passed) or `fd://N`.
    Fd(Option<i32>),
}

impl std::str::FromStr for Listen {
    type Err = Error;
    fn from_str(s: &str) -> Result<Listen, Error> {
        if let Some(p) = s.strip_prefix("unix://") {
            if !p.starts_with('/') {
                return Err(Error::Address(format!("{s}: want unix:///ABSOLUTE/PATH")));
            }
            return Ok(Listen::Unix(PathBuf::from(p)));
        }
        if let Some(a) = s.strip_prefix("tcp://") {
            let addr: std::net::SocketAddr =
                a.parse().map_err(|e| Error::Address(format!("{s}: {e}")))?;
            return Ok(Listen::Tcp(addr));
        }
        if let Some(n) = s.strip_prefix("fd://") {
            if n.is_empty() {
                return Ok(Listen::Fd(None));
            }
            let fd: i32 = n
                .parse()
                .map_err(|_| Error::Address(format!("{s}: want fd:// or fd://NUMBER")))?;
            return Ok(Listen::Fd(Some(fd)));
        }
        Err(Error::Address(format!(
            "{s}: want unix:///PATH, tcp://HOST:PORT or fd://"
        )))
    }
}

/// TLS for a TCP listener (`--tls`, `--tlsverify`, as dockerd takes them).
#[derive(Debug, Clone, Default)]
pub struct Tls {
    /// `--tlscert`.
    pub cert: PathBuf,
    /// `--tlskey`.
    pub key: PathBuf,
    /// `--tlscacert`: with `verify`, clients must show a certificate it signed.
    pub ca: Option<PathBuf>,
    /// `--tlsverify`.
    pub verify: bool,
}

/// How to serve.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--time`: exit after this long without a request.
    pub idle: Option<std::time::Duration>,
    /// `--group`: the unix socket's group (mode 0660), else root's alone (0600).
    pub group: Option<u32>,
    /// TLS on a TCP listener.
    pub tls: Option<Tls>,
}

/// Refuse what would open the engine to more than root on this machine: TCP beyond
/// loopback without client certificates, TLS options on a unix socket.
pub fn check(listen: &Listen, opts: &Options) -> Result<(), Error> {
    match listen {
        Listen::Tcp(a) if !a.ip().is_loopback() => {
            let verified = opts
                .tls
                .as_ref()
                .is_some_and(|t| t.verify && t.ca.is_some());
            if !verified {
                return Err(Error::Address(format!(
                    "tcp://{a}: beyond loopback the API is served only with TLS and client certificates (--tlsverify --tlscacert --tlscert --tlskey)"
                )));
            }
        }
        Listen::Unix(_) | Listen::Fd(_) if opts.tls.is_some() => {
            return Err(Error::Address(
                "TLS is for tcp:// listeners only".to_string(),
            ));
        }
        _ => {}
    }
    if let Some(t) = &opts.tls {
        if t.verify && t.ca.is_none() {
            return Err(Error::Address(
                "--tlsverify needs --tlscacert (the CA that signs client certificates)".to_string(),
            ));
        }
    }
    Ok(())
}

/// What the handlers need: where the engine's state is (and the attach requests
/// waiting for their containers' start, the one thing held in the process).
#[derive(Debug, Clone)]
pub struct State {
    /// The engine's root.
    pub root: PathBuf,
    /// The engine's run dir.
    pub run_dir: PathBuf,
    pub(crate) waiting: attach::Waiting,
    pub(crate) started: attach::Started,
    pub(crate) terminals: exec::Terminals,
    pub(crate) buildkit: buildkit::Registry,
    engines: Engines,
}

impl State {
    /// The service's state over the engine at `root` and `run_dir`.
    pub fn new(root: PathBuf, run_dir: PathBuf) -> State {
        State {
            root,
            run_dir,
            waiting: Default::default(),
            started: Default::default(),
            terminals: Default::default(),
            buildkit: Default::default(),
            engines: Default::default(),
        }
    }

    /// Run `f` on an engine, on a blocking thread. Engines are kept open between
    /// requests (a few, one per request under way): opening one is most of a small
    /// request's time. An open engine holds no state of its own that could go stale —
    /// every read goes to the state database and the stores — so what other services
    /// and CLIs change is seen at once.
    pub(crate) async fn with_engine<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut engine::lifecycle::Engine) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let (root, run) = (self.root.clone(), self.run_dir.clone());
        let pool = self.engines.clone();
        tokio::task::spawn_blocking(move || {
            let kept = pool.lock().ok().and_then(|mut p| p.pop());
            let mut eng = match kept {
                Some(e) => e,
                None => engine::lifecycle::Engine::open(&root, &run).map_err(ApiError::from)?,
            };
            let out = f(&mut eng);
            if let Ok(mut p) = pool.lock() {
                if p.len() < ENGINES_KEPT {
                    p.push(eng);
                }
            }
            out
        })
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
    }
}

/// How many open engines a service keeps for the next requests.
const ENGINES_KEPT: usize = 4;

/// Open engines, for the next requests.
#[derive(Clone, Default)]
pub(crate) struct Engines(std::sync::Arc<std::sync::Mutex<Vec<engine::lifecycle::Engine>>>);

impl std::ops::Deref for Engines {
    type Target = std::sync::Mutex<Vec<engine::lifecycle::Engine>>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::fmt::Debug for Engines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Engines")
    }
}

/// An error as dockerd returns it: a status and `{"message": ...}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }
}

impl From<engine::Error> for ApiError {
    fn from(e: engine::Error) -> ApiError {
        let status = match &e {
            engine::Error::NoSuchContainer(_)
            | engine::Error::NoSuchNetwork(_)
            | engine::Error::NoSuchPath { .. } => StatusCode::NOT_FOUND,
            engine::Error::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            _ if e.is_no_such_image() => StatusCode::NOT_FOUND,
            _ if e.is_bad_input() => StatusCode::BAD_REQUEST,
            _ if e.is_conflict() => StatusCode::CONFLICT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, e.to_string())
    }
}

impl ApiError {
    /// The message (what `{"message": ...}` carries).
    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    /// The status.
    #[cfg(test)]
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }
}

/// A JSON request body: empty is `{}`; anything but an object is refused with 400.
pub(crate) fn json_body(b: &[u8]) -> Result<serde_json::Value, ApiError> {
    if b.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    let v: serde_json::Value = serde_json::from_slice(b)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON: {e}")))?;
    match v {
        serde_json::Value::Object(_) => Ok(v),
        serde_json::Value::Null => Ok(json!({})),
        _ => Err(ApiError::bad_request(
            "invalid JSON: the body must be a JSON object",
        )),
    }
}

/// The last value of `k` in a query's pairs (a repeated key's last word counts, as Go's
/// `FormValue` on the classic builder's options reads them).
pub(crate) fn query_last<'a>(q: &'a [(String, String)], k: &str) -> Option<&'a str> {
    q.iter()
        .rev()
        .find(|(key, _)| key == k)
        .map(|(_, v)| v.as_str())
}

/// A boolean query option as the builders read it (`1`, `true`, `True`).
pub(crate) fn query_flag(q: &[(String, String)], k: &str) -> bool {
    matches!(query_last(q, k), Some("1" | "true" | "True"))
}

/// A query string with repeated keys kept (`names=a&names=b`, `changes=...`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Q(Vec<(String, String)>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Q {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Q, ApiError> {
        let q = parts.uri.query().unwrap_or_default();
        serde_urlencoded::from_str(q)
            .map(Q)
            .map_err(|e| ApiError::bad_request(format!("invalid query: {e}")))
    }
}

impl Q {
    /// The first value of `k`.
    pub(crate) fn get(&self, k: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `k` unless it is empty.
    pub(crate) fn non_empty(&self, k: &str) -> Option<String> {
        self.get(k).filter(|v| !v.is_empty()).map(str::to_string)
    }

    /// Every value of `k`.
    pub(crate) fn all(&self, k: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// A boolean as dockerd reads it (`1`, `true`); `default` when absent.
    pub(crate) fn flag_or(&self, k: &str, default: bool) -> bool {
        match self.get(k) {
            None => default,
            Some(v) => v == "1" || v.eq_ignore_ascii_case("true"),
        }
    }

    /// The `filters` parameter, decoded.
    pub(crate) fn filters(&self) -> Result<engine::filters::Filters, ApiError> {
        match self.get("filters") {
            Some(f) if !f.is_empty() => Ok(engine::filters::Filters::from_map(
                containers::parse_filters(f)?,
            )),
            _ => Ok(engine::filters::Filters::default()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(json!({"message": self.message}))).into_response()
    }
}

/// Parse `MAJOR.MINOR` into a comparable pair.
fn version(v: &str) -> Option<(u32, u32)> {
    let (a, b) = v.split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// Decode and check a `POST /containers/create` body as the server does before it asks
/// the engine for anything (the fuzz target's entry, `fuzz/targets.rs`); the error is the
/// 400 answer's message.
pub fn check_create_body(bytes: &[u8]) -> Result<(), String> {
    let body = create::body::decode(bytes).map_err(|e| e.message)?;
    create::plan(None, None, ApiVersion::current(), body)
        .map(drop)
        .map_err(|e| e.message)
}

/// The API version a request speaks (its path's, or this service's), for handlers whose
/// behaviour dockerd ties to the version (an extension of every request).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApiVersion(pub u32, pub u32);

impl ApiVersion {
    /// This service's own version.
    pub fn current() -> ApiVersion {
        let (a, b) = version(API_VERSION).unwrap_or((1, 47));
        ApiVersion(a, b)
    }

    /// At least `major.minor`.
    pub fn at_least(self, major: u32, minor: u32) -> bool {
        self >= ApiVersion(major, minor)
    }
}

/// `/v1.47/x` is `/x`; an unsupported version becomes a path that answers dockerd's
/// refusal.
fn strip_version(mut req: Request<Body>) -> Request<Body> {
    req.extensions_mut().insert(ApiVersion::current());
    let path = req.uri().path().to_string();
    let Some(rest) = path.strip_prefix("/v") else {
        return req;
    };
    let Some((ver, tail)) = rest.split_once('/') else {
        return req;
    };
    let Some(v) = version(ver) else {
        return req;
    };
    req.extensions_mut().insert(ApiVersion(v.0, v.1));
    let new_path = if v < version(MIN_API_VERSION).unwrap_or((1, 24)) {
        format!("/__too_old/{ver}")
    } else if v > version(API_VERSION).unwrap_or((1, 47)) {
        format!("/__too_new/{ver}")
    } else {
        format!("/{tail}")
    };
    let query = req
        .uri()
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    if let Ok(uri) = format!("{new_path}{query}").parse() {
        *req.uri_mut() = uri;
    }
    req
}

async fn too_old(axum::extract::Path(v): axum::extract::Path<String>) -> ApiError {
    ApiError::bad_request(format!(
        "client version {v} is too old. Minimum supported API version is {MIN_API_VERSION}, please upgrade your client to a newer version"
    ))
}

async fn too_new(axum::extract::Path(v): axum::extract::Path<String>) -> ApiError {
    ApiError::bad_request(format!(
        "client version {v} is too new. Maximum supported API version is {API_VERSION}"
    ))
}

async fn not_found(req: Request<Body>) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("page not found: {} {}", req.method(), req.uri().path()),
    )
}

/// The routes.
pub fn router(state: State) -> Router {
    Router::new()
        .route("/_ping", get(system::ping).head(system::ping))
        .route("/version", get(system::version))
        .route("/info", get(system::info))
        .route("/containers/json", get(containers::list))
        .route("/containers/create", post(create::create))
        .route("/containers/{id}/json", get(containers::inspect))
        .route("/containers/{id}/start", post(containers::start))
        .route("/containers/{id}/stop", post(containers::stop))
        .route("/containers/{id}/restart", post(containers::restart))
        .route("/containers/{id}/kill", post(containers::kill))
        .route("/containers/{id}/pause", post(containers::pause))
        .route("/containers/{id}/unpause", post(containers::unpause))
        .route("/containers/{id}/wait", post(containers::wait))
        .route("/containers/{id}/logs", get(containers::logs))
        .route("/containers/{id}/attach", post(attach::attach))
        .route("/containers/{id}/resize", post(attach::resize))
        .route("/containers/{id}/exec", post(exec::create))
        .route("/exec/{id}/start", post(exec::start))
        .route("/exec/{id}/resize", post(exec::resize))
        .route("/exec/{id}/json", get(exec::inspect))
        .route("/containers/{id}/top", get(containers::top))
        .route("/containers/{id}/changes", get(containers::changes))
        .route("/containers/{id}/rename", post(containers::rename))
        .route("/containers/{id}/export", get(archive::export))
        .route(
            "/containers/{id}/archive",
            get(archive::get)
                .head(archive::head)
                .put(archive::put)
                .layer(DefaultBodyLimit::disable()),
        )
        .route("/containers/{id}/stats", get(resources::stats))
        .route("/containers/{id}/update", post(resources::update))
        .route("/containers/prune", post(usage::containers))
        .route("/commit", post(images::commit))
        .route("/system/df", get(usage::df))
        .route("/auth", post(registry::auth))
        .route("/events", get(containers::events))
        .route(
            "/build",
            post(build::build).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        // BuildKit's API (buildx's "docker" driver): both hijacked to HTTP/2.
        .route("/grpc", post(buildkit::grpc))
        .route("/session", post(buildkit::session))
        .route("/containers/{id}", delete(containers::remove))
        .route("/volumes", get(objects::volumes))
        .route("/volumes/prune", post(usage::volumes))
        .route("/build/prune", post(usage::build_cache))
        .route("/volumes/create", post(objects::volume_create))
        .route(
            "/volumes/{name}",
            get(objects::volume).delete(objects::volume_remove),
        )
        .route("/networks", get(objects::networks))
        .route("/networks/create", post(objects::network_create))
        .route("/networks/prune", post(usage::networks))
        .route("/networks/{id}/connect", post(objects::network_connect))
        .route(
            "/networks/{id}/disconnect",
            post(objects::network_disconnect),
        )
        .route(
            "/networks/{id}",
            get(objects::network).delete(objects::network_remove),
        )
        .route("/images/json", get(system::images))
        // Import and load stream their bodies: no limit there.
        .route(
            "/images/create",
            post(images::create).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/images/load",
            post(images::load).layer(DefaultBodyLimit::disable()),
        )
        .route("/images/prune", post(images::prune))
        // Names have slashes: the last element says what is asked.
        .route(
            "/images/{*name}",
            get(images::get_dispatch)
                .post(images::post_dispatch)
                .delete(images::remove),
        )
        .route("/__too_old/{v}", axum::routing::any(too_old))
        .route("/__too_new/{v}", axum::routing::any(too_new))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(16 * 1024 * 1024))
        .with_state(state)
}

/// Unix seconds of the last request (for `--time`).
static LAST_REQUEST: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Resolves once `idle` has passed without a request (never without one).
async fn idle_for(idle: Option<std::time::Duration>) {
    let Some(idle) = idle else {
        return std::future::pending().await;
    };
    LAST_REQUEST.store(now_secs(), std::sync::atomic::Ordering::Relaxed);
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let last = LAST_REQUEST.load(std::sync::atomic::Ordering::Relaxed);
        if now_secs().saturating_sub(last) >= idle.as_secs() {
            return;
        }
    }
}

/// Serve until stopped, or (`opts.idle`) until that long has passed without a request,
/// as podman's `system service --time` does.
pub fn serve(state: State, listen: &Listen, opts: &Options) -> Result<(), Error> {
    check(listen, opts)?;
    let fail = |addr: String| move |source| Error::Listen { addr, source };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(fail(format!("{listen:?}")))?;
    rt.block_on(async move {
        let app = tower_map(router(state));
        let idle = opts.idle;
        match listen::open(listen, opts).await? {
            listen::Bound::Unix(l, path) => {
                let served = axum::serve(l, axum::ServiceExt::into_make_service(app))
                    .with_graceful_shutdown(idle_for(idle))
                    .await;
                if let Some(p) = &path {
                    let _ = std::fs::remove_file(p);
                }
                served.map_err(fail(format!("{listen:?}")))
            }
            listen::Bound::Tcp(l) => axum::serve(l, axum::ServiceExt::into_make_service(app))
                .with_graceful_shutdown(idle_for(idle))
                .await
                .map_err(fail(format!("{listen:?}"))),
            listen::Bound::Tls(l) => axum::serve(l, axum::ServiceExt::into_make_service(app))
                .with_graceful_shutdown(idle_for(idle))
                .await
                .map_err(fail(format!("{listen:?}"))),
        }
    })
}

/// The router behind the version-stripping rewrite (done before routing).
fn tower_map(
    app: Router,
) -> impl tower_service::Service<
    Request<Body>,
    Response = Response,
    Error = std::convert::Infallible,
    Future = impl Send,
> + Clone
       + Send
       + 'static {
    MapRequest { inner: app }
}

/// A service that rewrites each request with [`strip_version`] before `inner` sees it.
#[derive(Clone)]
struct MapRequest {
    inner: Router,
}

impl tower_service::Service<Request<Body>> for MapRequest {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = <Router as tower_service::Service<Request<Body>>>::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        tower_service::Service::<Request<Body>>::poll_ready(&mut self.inner, cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        LAST_REQUEST.store(now_secs(), std::sync::atomic::Ordering::Relaxed);
        self.inner.call(strip_version(req))
    }
}
