//! HTTP to a registry: scheme choice, authentication, errors with the registry's words.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;

/// Registry errors: each names the registry and what was asked.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Could not talk to the registry at all.
    #[error("{url}: {message}")]
    Transport { url: String, message: String },
    /// The registry answered with an error.
    #[error("{url}: {status} {message}")]
    Status {
        url: String,
        status: u16,
        message: String,
    },
    /// Authentication is needed or was refused.
    #[error("{host}: unauthorized: {message}")]
    Unauthorized { host: String, message: String },
    /// Content that does not match its digest or size, or is malformed.
    #[error("{0}")]
    Invalid(String),
    /// The blob store.
    #[error(transparent)]
    Content(#[from] content::Error),
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A response: status, headers we use, and the body reader.
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Lower-cased header names.
    pub headers: HashMap<String, String>,
    /// The body.
    pub body: ureq::Body,
    /// The URL asked.
    pub url: String,
}

impl Response {
    /// Read the whole body (manifests, tokens, errors: small documents).
    pub fn bytes(mut self) -> Result<Vec<u8>> {
        let url = self.url.clone();
        self.body
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_vec()
            .map_err(|e| Error::Transport {
                url,
                message: e.to_string(),
            })
    }

    /// The registry's error text (`errors[0].message` per the distribution spec).
    fn error(self) -> Error {
        let (url, status) = (self.url.clone(), self.status);
        let text = self.bytes().unwrap_or_default();
        let message = serde_json::from_slice::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| {
                let e = &v["errors"][0];
                Some(format!(
                    "{}: {}",
                    e["code"].as_str()?,
                    e["message"].as_str().unwrap_or("")
                ))
            })
            .unwrap_or_else(|| {
                String::from_utf8_lossy(&text)
                    .trim()
                    .chars()
                    .take(200)
                    .collect()
            });
        Error::Status {
            url,
            status,
            message,
        }
    }

    /// Ok when 2xx, else the registry's error.
    pub fn ok(self) -> Result<Response> {
        if (200..300).contains(&self.status) {
            Ok(self)
        } else {
            Err(self.error())
        }
    }
}

/// The client. Safe to share between threads (parallel layer downloads).
pub struct Client {
    agent: ureq::Agent,
    tls_verify: bool,
    schemes: Mutex<HashMap<String, &'static str>>,
    tokens: Mutex<HashMap<(String, String), String>>,
    credentials: crate::auth::Credentials,
}

/// Whether a host is on this machine (Docker allows plain HTTP there).
pub fn is_loopback(host: &str) -> bool {
    let h = host.rsplit_once(':').map_or(host, |(h, p)| {
        if p.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    let h = h.trim_start_matches('[').trim_end_matches(']');
    h == "localhost" || h.starts_with("127.") || h == "::1"
}

/// The host to talk to for a reference's domain.
pub fn api_host(domain: &str) -> &str {
    if domain == "docker.io" {
        "registry-1.docker.io"
    } else {
        domain
    }
}

fn header_param<'a>(h: &'a str, key: &str) -> Option<&'a str> {
    // key="value" pairs after the scheme.
    let idx = h.find(&format!("{key}=\""))?;
    let rest = &h[idx + key.len() + 2..];
    Some(&rest[..rest.find('"')?])
}

impl Client {
    /// A client; `tls_verify = false` allows plain HTTP and any certificate for every host
    /// (loopback hosts always allow plain HTTP).
    pub fn new(tls_verify: bool) -> Client {
        let mut cfg = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(15)))
            .timeout_recv_response(Some(Duration::from_secs(60)))
            .max_redirects(8)
            .user_agent(concat!("quai/", env!("CARGO_PKG_VERSION")));
        if !tls_verify {
            cfg = cfg.tls_config(
                ureq::tls::TlsConfig::builder()
                    .disable_verification(true)
                    .build(),
            );
        }
        Client {
            agent: cfg.build().into(),
            tls_verify,
            schemes: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
            credentials: crate::auth::Credentials::Config,
        }
    }

    /// This client, answering challenges with `credentials` (the config file's by
    /// default).
    pub fn with_credentials(mut self, credentials: crate::auth::Credentials) -> Client {
        self.credentials = credentials;
        self
    }

    /// `https://host` or, for loopback and insecure registries that do not speak TLS,
    /// `http://host`. Found once per host with a `/v2/` probe.
    pub fn base(&self, host: &str) -> Result<String> {
        if let Some(s) = self.schemes.lock().ok().and_then(|m| m.get(host).copied()) {
            return Ok(format!("{s}://{host}"));
        }
        let https = format!("https://{host}/v2/");
        let scheme = match self.agent.get(&https).call() {
            Ok(_) => "https",
            Err(e) if !self.tls_verify || is_loopback(host) => {
                let http = format!("http://{host}/v2/");
                match self.agent.get(&http).call() {
                    Ok(_) => "http",
                    Err(e2) => {
                        return Err(Error::Transport {
                            url: https,
                            message: format!("{e}; over plain HTTP: {e2}"),
                        })
                    }
                }
            }
            Err(e) => {
                return Err(Error::Transport {
                    url: https,
                    message: e.to_string(),
                })
            }
        };
        if let Ok(mut m) = self.schemes.lock() {
            m.insert(host.to_string(), scheme);
        }
        Ok(format!("{scheme}://{host}"))
    }

    fn auth_header(&self, host: &str, scope: &str) -> Option<String> {
        if let Some(t) = self
            .tokens
            .lock()
            .ok()
            .and_then(|m| m.get(&(host.to_string(), scope.to_string())).cloned())
        {
            return Some(t);
        }
        None
    }

    /// Send a request, authenticating on a 401 (basic, or a bearer token for `scope`).
    /// `body` must be replayable, so large uploads authenticate first with [`Client::authorize`].
    pub fn send(
        &self,
        method: &str,
        host: &str,
        url: &str,
        scope: &str,
        headers: &[(&str, String)],
        body: Option<&[u8]>,
    ) -> Result<Response> {
        let mut tried_auth = false;
        loop {
            let auth = self.auth_header(host, scope);
            let resp = self.raw(method, url, headers, auth.as_deref(), body)?;
            if resp.status != 401 || tried_auth {
                if resp.status == 401 {
                    let msg = resp.error().to_string();
                    return Err(Error::Unauthorized {
                        host: host.to_string(),
                        message: format!("{msg} (try `quai login {host}`)"),
                    });
                }
                return Ok(resp);
            }
            let challenge = resp
                .headers
                .get("www-authenticate")
                .cloned()
                .unwrap_or_default();
            self.answer(host, scope, &challenge)?;
            tried_auth = true;
        }
    }

    /// Make sure later requests for `scope` carry credentials (probing with a GET of `/v2/`).
    pub fn authorize(&self, host: &str, scope: &str) -> Result<()> {
        if self.auth_header(host, scope).is_some() {
            return Ok(());
        }
        let base = self.base(host)?;
        let resp = self.raw("GET", &format!("{base}/v2/"), &[], None, None)?;
        if resp.status == 401 {
            let challenge = resp
                .headers
                .get("www-authenticate")
                .cloned()
                .unwrap_or_default();
            self.answer(host, scope, &challenge)?;
        }
        Ok(())
    }

    fn answer(&self, host: &str, scope: &str, challenge: &str) -> Result<()> {
        let creds = self.credentials.for_host(host);
        let basic = creds.as_ref().map(|(u, p)| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            )
        });
        let header = if challenge.to_ascii_lowercase().starts_with("bearer") {
            let realm = header_param(challenge, "realm").ok_or_else(|| Error::Unauthorized {
                host: host.into(),
                message: format!("bad challenge {challenge:?}"),
            })?;
            let mut url = format!("{realm}?scope={}", scope.replace(' ', "%20"));
            if let Some(service) = header_param(challenge, "service") {
                url.push_str(&format!("&service={service}"));
            }
            let resp = self.raw("GET", &url, &[], basic.as_deref(), None)?;
            if resp.status != 200 {
                return Err(Error::Unauthorized {
                    host: host.into(),
                    message: resp.error().to_string(),
                });
            }
            let v: serde_json::Value = serde_json::from_slice(&resp.bytes()?)
                .map_err(|e| Error::Invalid(format!("token from {realm}: {e}")))?;
            let token = v["token"]
                .as_str()
                .or_else(|| v["access_token"].as_str())
                .ok_or_else(|| Error::Invalid(format!("no token from {realm}")))?;
            format!("Bearer {token}")
        } else {
            basic.ok_or_else(|| Error::Unauthorized {
                host: host.into(),
                message: format!("credentials needed (try `quai login {host}`)"),
            })?
        };
        if let Ok(mut m) = self.tokens.lock() {
            m.insert((host.to_string(), scope.to_string()), header);
        }
        Ok(())
    }

    /// A request with a streamed body (after [`Client::authorize`]).
    pub fn send_reader(
        &self,
        method: &str,
        host: &str,
        url: &str,
        scope: &str,
        headers: &[(&str, String)],
        body: &mut dyn std::io::Read,
    ) -> Result<Response> {
        let auth = self.auth_header(host, scope);
        let mut req = match method {
            "PUT" => self.agent.put(url),
            "PATCH" => self.agent.patch(url),
            _ => self.agent.post(url),
        };
        for (k, v) in headers {
            req = req.header(*k, v.as_str());
        }
        if let Some(a) = auth {
            req = req.header("Authorization", a.as_str());
        }
        let resp = req
            .send(ureq::SendBody::from_reader(body))
            .map_err(|e| Error::Transport {
                url: url.to_string(),
                message: e.to_string(),
            })?;
        Ok(Self::wrap(url, resp))
    }

    fn raw(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, String)],
        auth: Option<&str>,
        body: Option<&[u8]>,
    ) -> Result<Response> {
        let t = |e: ureq::Error| Error::Transport {
            url: url.to_string(),
            message: e.to_string(),
        };
        macro_rules! with_headers {
            ($req:expr) => {{
                let mut r = $req;
                for (k, v) in headers {
                    r = r.header(*k, v.as_str());
                }
                if let Some(a) = auth {
                    r = r.header("Authorization", a);
                }
                r
            }};
        }
        let resp = match method {
            "GET" => with_headers!(self.agent.get(url)).call().map_err(t)?,
            "HEAD" => with_headers!(self.agent.head(url)).call().map_err(t)?,
            "DELETE" => with_headers!(self.agent.delete(url)).call().map_err(t)?,
            "PUT" => with_headers!(self.agent.put(url))
                .send(body.unwrap_or_default())
                .map_err(t)?,
            "PATCH" => with_headers!(self.agent.patch(url))
                .send(body.unwrap_or_default())
                .map_err(t)?,
            _ => with_headers!(self.agent.post(url))
                .send(body.unwrap_or_default())
                .map_err(t)?,
        };
        Ok(Self::wrap(url, resp))
    }

    fn wrap(url: &str, resp: ureq::http::Response<ureq::Body>) -> Response {
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .filter_map(|(k, v)| {
                Some((
                    k.as_str().to_ascii_lowercase(),
                    v.to_str().ok()?.to_string(),
                ))
            })
            .collect();
        Response {
            status,
            headers,
            body: resp.into_body(),
            url: url.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_params_and_loopback() {
        let c = r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull""#;
        assert_eq!(header_param(c, "realm"), Some("https://auth.example/token"));
        assert_eq!(header_param(c, "service"), Some("registry.example"));
        for h in [
            "localhost",
            "localhost:5000",
            "127.0.0.1:5000",
            "[::1]:5000",
        ] {
            assert!(is_loopback(h), "{h}");
        }
        assert!(!is_loopback("registry.example:5000"));
        assert_eq!(api_host("docker.io"), "registry-1.docker.io");
    }
}
