//! Credentials as Docker keeps them: `~/.docker/config.json`, `auths.<host>.auth` =
//! base64("user:password").

use std::path::PathBuf;

use base64::Engine as _;
use serde_json::{json, Value};

/// Docker's config file (`$DOCKER_CONFIG/config.json` or `~/.docker/config.json`).
pub fn config_path() -> PathBuf {
    if let Some(d) = std::env::var_os("DOCKER_CONFIG") {
        return PathBuf::from(d).join("config.json");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"));
    home.join(".docker/config.json")
}

fn read_config() -> Value {
    std::fs::read(config_path())
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_else(|| json!({}))
}

/// The key Docker uses for a registry host (Docker Hub has a historical URL).
pub fn auth_key(host: &str) -> String {
    if host == "docker.io" || host == "registry-1.docker.io" {
        "https://index.docker.io/v1/".to_string()
    } else {
        host.to_string()
    }
}

/// Which credentials a client answers a registry's challenge with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Credentials {
    /// What Docker's config file holds for the host ([`credentials`]): the CLI's way.
    #[default]
    Config,
    /// These, whatever the config file says (the Docker API's `X-Registry-Auth`, a
    /// `login` being checked before anything is stored).
    Basic {
        /// User name.
        username: String,
        /// Password or token.
        password: String,
    },
    /// None: anonymous requests only (a Docker API client that sent no credentials).
    Anonymous,
}

impl Credentials {
    /// The user name and password to answer `host` with, if any.
    pub fn for_host(&self, host: &str) -> Option<(String, String)> {
        match self {
            Credentials::Config => credentials(host),
            Credentials::Basic { username, password } => Some((username.clone(), password.clone())),
            Credentials::Anonymous => None,
        }
    }
}

/// Ask a credential helper (`docker-credential-NAME get`, the host on stdin, JSON out).
fn from_helper(helper: &str, host: &str) -> Option<(String, String)> {
    use std::io::Write;
    let mut child = std::process::Command::new(format!("docker-credential-{helper}"))
        .arg("get")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    child
        .stdin
        .take()?
        .write_all(auth_key(host).as_bytes())
        .ok()?;
    let out = child.wait_with_output().ok()?;
    if !out.status.success() {
        return None;
    }
    let v: Value = serde_json::from_slice(&out.stdout).ok()?;
    Some((
        v["Username"].as_str()?.to_string(),
        v["Secret"].as_str()?.to_string(),
    ))
}

/// Credentials for `host`: its credential helper (`credHelpers`), the default store
/// (`credsStore`), or the `auths` entry, in that order, as Docker looks them up.
pub fn credentials(host: &str) -> Option<(String, String)> {
    let c = read_config();
    if let Some(h) = c["credHelpers"][auth_key(host)]
        .as_str()
        .or_else(|| c["credHelpers"][host].as_str())
    {
        return from_helper(h, host);
    }
    if let Some(h) = c["credsStore"].as_str() {
        if let Some(found) = from_helper(h, host) {
            return Some(found);
        }
    }
    let entry = &c["auths"][auth_key(host)];
    let raw = entry["auth"].as_str()?;
    let bytes = base64::engine::general_purpose::STANDARD.decode(raw).ok()?;
    let s = String::from_utf8(bytes).ok()?;
    let (u, p) = s.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

/// Store credentials (mode 0600), keeping the rest of the file.
pub fn store(host: &str, user: &str, password: &str) -> std::io::Result<()> {
    let mut c = read_config();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    if !c["auths"].is_object() {
        c["auths"] = json!({});
    }
    c["auths"][auth_key(host)] = json!({ "auth": auth });
    write(&c)
}

/// Forget credentials; returns whether there were any.
pub fn remove(host: &str) -> std::io::Result<bool> {
    let mut c = read_config();
    let removed = c["auths"]
        .as_object_mut()
        .and_then(|m| m.remove(&auth_key(host)))
        .is_some();
    if removed {
        write(&c)?;
    }
    Ok(removed)
}

fn write(c: &Value) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let p = config_path();
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d)?;
    }
    let tmp = p.with_extension("json.quai-tmp");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(
        serde_json::to_string_pretty(c)
            .unwrap_or_default()
            .as_bytes(),
    )?;
    f.sync_all()?;
    std::fs::rename(tmp, p)
}
