//! The control plane over HTTPS, for an agent on another machine (`quai cluster agent
//! --server URL --token T --ca-file F`): the Kubernetes API with a bearer token, the
//! cluster's CA as the only root, JSON bodies; errors are the API's `Status`.

use std::sync::Arc;
use std::time::Duration;

use cluster::api::client::ControlPlane;
use cluster::api::registry::ListOptions;
use cluster::api::{ApiError, ApiResult};
use cluster::resources::Resource;
use serde_json::{json, Value};

/// A join token's parts: `K10<sha256 of the CA's PEM>::<token>` (the server's data
/// directory's `join-token`, k3s's form), or a bare token.
pub fn parse_join_token(token: &str) -> (Option<&str>, &str) {
    match token.strip_prefix("K10").and_then(|t| t.split_once("::")) {
        Some((hash, secret)) if hash.len() == 64 => (Some(hash), secret),
        _ => (None, token),
    }
}

/// Whether `pem` is the CA a join token names.
pub fn ca_matches(pem: &[u8], hash: &str) -> bool {
    use sha2::Digest as _;
    let got: String = sha2::Sha256::digest(pem)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    got.eq_ignore_ascii_case(hash)
}

/// The cluster's CA from the server's unauthenticated `/cacerts`, trusted only because
/// its hash is the one the join token carries.
pub fn fetch_ca(server: &str, hash: &str) -> crate::Result<Vec<u8>> {
    let tls = ureq::tls::TlsConfig::builder()
        .disable_verification(true)
        .build();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .tls_config(tls)
        .build()
        .into();
    let url = format!("{}/cacerts", server.trim_end_matches('/'));
    let pem = agent
        .get(&url)
        .call()
        .and_then(|mut r| r.body_mut().read_to_vec())
        .map_err(|e| crate::Error::Other(format!("fetch the cluster CA from {url}: {e}")))?;
    if !ca_matches(&pem, hash) {
        return Err(crate::Error::Other(format!(
            "the CA {url} serves is not the one the join token names: refusing to trust it"
        )));
    }
    Ok(pem)
}

/// The API server of a cluster.
pub struct Remote {
    base: String,
    token: String,
    agent: ureq::Agent,
    service_cidr: (u32, u8),
}

fn transport(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(503, "ServiceUnavailable", format!("the API server: {e}"))
}

impl Remote {
    /// A client of `server` (`https://HOST:PORT`) trusting only `ca_pem`.
    pub fn new(
        server: &str,
        token: &str,
        ca_pem: &[u8],
        service_cidr: (u32, u8),
    ) -> crate::Result<Remote> {
        let mut certs = Vec::new();
        for item in ureq::tls::parse_pem(ca_pem) {
            if let Ok(ureq::tls::PemItem::Certificate(c)) = item {
                certs.push(c);
            }
        }
        if certs.is_empty() {
            return Err(crate::Error::Other(
                "the CA file holds no certificate".into(),
            ));
        }
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::Specific(Arc::new(certs)))
            .build();
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(5)))
            .timeout_recv_response(Some(Duration::from_secs(30)))
            .user_agent(concat!("kubelet/v1.32.0+quai-", env!("CARGO_PKG_VERSION")))
            .tls_config(tls)
            .build()
            .into();
        Ok(Remote {
            base: server.trim_end_matches('/').to_string(),
            token: token.to_string(),
            agent,
            service_cidr,
        })
    }

    fn path(res: &Resource, ns: Option<&str>, name: Option<&str>, sub: Option<&str>) -> String {
        let mut p = if res.group.is_empty() {
            format!("/api/{}", res.version)
        } else {
            format!("/apis/{}/{}", res.group, res.version)
        };
        if let (true, Some(n)) = (res.namespaced, ns) {
            p.push_str(&format!("/namespaces/{n}"));
        }
        p.push('/');
        p.push_str(res.plural);
        if let Some(n) = name {
            p.push('/');
            p.push_str(n);
        }
        if let Some(s) = sub {
            p.push('/');
            p.push_str(s);
        }
        p
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> ApiResult<Value> {
        let url = format!("{}{path}", self.base);
        let auth = format!("Bearer {}", self.token);
        let resp = match (method, body) {
            ("GET", _) => self.agent.get(&url).header("Authorization", &auth).call(),
            ("DELETE", Some(b)) => self
                .agent
                .delete(&url)
                .header("Authorization", &auth)
                .force_send_body()
                .content_type("application/json")
                .send(b.to_string().as_bytes()),
            ("DELETE", None) => self
                .agent
                .delete(&url)
                .header("Authorization", &auth)
                .call(),
            ("POST", b) => self
                .agent
                .post(&url)
                .header("Authorization", &auth)
                .content_type("application/json")
                .send(b.map(Value::to_string).unwrap_or_default().as_bytes()),
            (_, b) => self
                .agent
                .put(&url)
                .header("Authorization", &auth)
                .content_type("application/json")
                .send(b.map(Value::to_string).unwrap_or_default().as_bytes()),
        };
        let mut resp = resp.map_err(transport)?;
        let code = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().map_err(transport)?;
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if (200..300).contains(&code) {
            return Ok(v);
        }
        let reason: &'static str = match v["reason"].as_str() {
            Some("NotFound") => "NotFound",
            Some("AlreadyExists") => "AlreadyExists",
            Some("Conflict") => "Conflict",
            Some("Invalid") => "Invalid",
            Some("Forbidden") => "Forbidden",
            Some("Unauthorized") => "Unauthorized",
            _ => "InternalError",
        };
        Err(ApiError::new(
            code,
            reason,
            v["message"].as_str().unwrap_or(&text).to_string(),
        ))
    }
}

fn query(opts: &ListOptions) -> String {
    let mut q = Vec::new();
    let l = opts.labels.to_string();
    if !l.is_empty() {
        q.push(("labelSelector", l));
    }
    let f = opts.fields.to_string();
    if !f.is_empty() {
        q.push(("fieldSelector", f));
    }
    if q.is_empty() {
        return String::new();
    }
    format!("?{}", serde_urlencoded::to_string(&q).unwrap_or_default())
}

impl ControlPlane for Remote {
    fn get(&self, res: &Resource, ns: Option<&str>, name: &str) -> ApiResult<Value> {
        self.call("GET", &Remote::path(res, ns, Some(name), None), None)
    }

    fn list(&self, res: &Resource, ns: Option<&str>, opts: &ListOptions) -> ApiResult<Vec<Value>> {
        let path = format!("{}{}", Remote::path(res, ns, None, None), query(opts));
        let v = self.call("GET", &path, None)?;
        // Items of a list come without their kind: put it back, as the registry has it.
        Ok(v["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|mut it| {
                it["apiVersion"] = json!(res.api_version());
                it["kind"] = json!(res.kind);
                it
            })
            .collect())
    }

    fn create(&self, res: &Resource, ns: Option<&str>, obj: Value) -> ApiResult<Value> {
        let path = format!("{}?fieldManager=kubelet", Remote::path(res, ns, None, None));
        self.call("POST", &path, Some(&obj))
    }

    fn token_request(&self, ns: &str, name: &str, req: &Value) -> ApiResult<Value> {
        let path = format!("/api/v1/namespaces/{ns}/serviceaccounts/{name}/token");
        self.call("POST", &path, Some(req))
    }

    fn update(
        &self,
        res: &Resource,
        ns: Option<&str>,
        name: &str,
        obj: Value,
        sub: Option<&str>,
    ) -> ApiResult<Value> {
        let path = format!(
            "{}?fieldManager=kubelet",
            Remote::path(res, ns, Some(name), sub)
        );
        self.call("PUT", &path, Some(&obj))
    }

    fn remove(&self, res: &Resource, ns: Option<&str>, name: &str) -> ApiResult<()> {
        match self.call(
            "DELETE",
            &Remote::path(res, ns, Some(name), None),
            Some(&json!({"gracePeriodSeconds": 0})),
        ) {
            Ok(_) => Ok(()),
            Err(e) if e.code == 404 => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn revision(&self) -> ApiResult<i64> {
        let v = self.call("GET", "/api/v1/namespaces?limit=1", None)?;
        Ok(v["metadata"]["resourceVersion"]
            .as_str()
            .and_then(|r| r.parse().ok())
            .unwrap_or(0))
    }

    fn service_cidr(&self) -> (u32, u8) {
        self.service_cidr
    }

    fn poll_interval(&self) -> Duration {
        Duration::from_millis(500)
    }
}
