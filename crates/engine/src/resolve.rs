//! The I/O-free resolve step: what was asked (`CreateRequest`: flags, or an API body, a
//! compose service, a build step) merged with the image's config into the container's
//! config, with Docker's rules (Entrypoint/Cmd, Env, WorkingDir, User, Labels,
//! StopSignal, ExposedPorts and `-P`, Volumes, Healthcheck) and every check that needs
//! nothing but the two (validate.rs, mounts, network-mode conflicts, capabilities). What
//! needs the machine (the image store, other containers and networks, files on the host)
//! is `Engine::create`'s. Unit-tested without root.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::config::{
    ContainerConfig, HealthConfig, MountConfig, MountKind, NetworkMode, RestartName,
};
use crate::mounts::MountSpec;
use crate::{Error, Result};

/// `--health-*` options.
#[derive(Debug, Clone, Default)]
pub struct HealthFlags {
    /// The test: `["CMD", ...]`, `["CMD-SHELL", "..."]` (`--health-cmd`) or `["NONE"]`;
    /// None or empty: the image's.
    pub test: Option<Vec<String>>,
    /// `--health-interval` (ns).
    pub interval: Option<i64>,
    /// `--health-timeout` (ns).
    pub timeout: Option<i64>,
    /// `--health-start-period` (ns).
    pub start_period: Option<i64>,
    /// `--health-retries`.
    pub retries: Option<u32>,
    /// `--health-start-interval` (ns).
    pub start_interval: Option<i64>,
    /// `--no-healthcheck`.
    pub disable: bool,
}

/// What `create`/`run` ask for, beyond the fields of [`ContainerConfig`] they set
/// directly.
#[derive(Debug, Clone, Default)]
pub struct CreateRequest {
    /// `--name`.
    pub name: Option<String>,
    /// The image as typed.
    pub image: String,
    /// Fields set directly from flags (env, labels, resources, security, ...).
    pub config: ContainerConfig,
    /// `--entrypoint` / `Entrypoint`, with dockerd's rules: None keeps the image's; `[]`
    /// clears it (the image's CMD stays when no command is given); `[""]` (what
    /// `--entrypoint ''` sends) clears it and the command is the request's alone.
    pub entrypoint: Option<Vec<String>>,
    /// Arguments after the image.
    pub cmd: Vec<String>,
    /// `-w`.
    pub workdir: Option<String>,
    /// `-u`.
    pub user: Option<String>,
    /// `--hostname`.
    pub hostname: Option<String>,
    /// `--stop-signal`.
    pub stop_signal: Option<String>,
    /// `-v`.
    pub volumes: Vec<String>,
    /// `--mount` / `HostConfig.Mounts`.
    pub mounts: Vec<MountSpec>,
    /// `Config.Volumes`: anonymous volumes, unless another mount has the target (as the
    /// image's VOLUMEs).
    pub anonymous_volumes: Vec<String>,
    /// `--tmpfs`.
    pub tmpfs: Vec<String>,
    /// `--health-*`.
    pub health: HealthFlags,
    /// `-P`.
    pub publish_all: bool,
    /// Leave out the anonymous volumes of the image's `VOLUME`s (a build step's
    /// container: BuildKit keeps what RUN writes there in the layer).
    pub skip_image_volumes: bool,
    /// `--platform` (`os/arch[/variant]`): the image must be of it.
    pub platform: Option<String>,
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// `-v SPEC` (moved to [`crate::mounts::parse_volume`]).
pub use crate::mounts::parse_volume as parse_volume_flag;

/// Docker's byte sizes: `512`, `64k`, `256m`, `1g` (binary units).
pub fn parse_bytes(s: &str) -> Option<i64> {
    let s = s.trim().to_ascii_lowercase();
    let s = s.strip_suffix('b').unwrap_or(&s);
    let (num, mult) = match s.chars().last()? {
        'k' => (&s[..s.len() - 1], 1i64 << 10),
        'm' => (&s[..s.len() - 1], 1 << 20),
        'g' => (&s[..s.len() - 1], 1 << 30),
        't' => (&s[..s.len() - 1], 1 << 40),
        _ => (s, 1),
    };
    let v: f64 = num.parse().ok()?;
    let b = v * mult as f64;
    // Negative, NaN, infinite and past-i64 sizes are no sizes (an `as` cast would saturate).
    (b.is_finite() && b >= 0.0 && b < i64::MAX as f64).then_some(b as i64)
}

/// Merge a request with the image's config (Docker's image `config` object: `Env`,
/// `Cmd`, `Entrypoint`, ...). The result's `mounts` are parsed and checked but not made
/// (bind sources not resolved, volumes not created); `hostname` is the request's or empty.
pub fn resolve(req: &CreateRequest, ic: &Value) -> Result<ContainerConfig> {
    crate::validate::container(&req.config)?;
    let r = &req.config.resources;
    if r.memory_swap.is_some_and(|s| s > 0) && r.memory.unwrap_or(0) == 0 {
        return Err(Error::Invalid(
            "You should always set the Memory limit when using Memoryswap limit, see usage".into(),
        ));
    }
    if let Some(h) = &req.hostname {
        crate::validate::hostname(h)?;
    }
    let mut c = req.config.clone();
    c.version = crate::config::CONFIG_VERSION;
    // dockerd's `merge` and `mergeAndVerifyConfig`.
    c.cmd = req.cmd.clone();
    match &req.entrypoint {
        Some(e) if !e.is_empty() => c.entrypoint = e.clone(),
        given => {
            if c.cmd.is_empty() {
                c.cmd = strings(&ic["Cmd"]);
            }
            c.entrypoint = match given {
                None => strings(&ic["Entrypoint"]),
                Some(_) => Vec::new(),
            };
        }
    }
    if c.entrypoint.len() == 1 && c.entrypoint[0].is_empty() {
        c.entrypoint.clear();
    }
    if c.entrypoint.is_empty() && c.cmd.is_empty() {
        return Err(Error::Invalid("no command specified".into()));
    }
    let mut env = strings(&ic["Env"]);
    for e in std::mem::take(&mut c.env) {
        let k = e.split('=').next().unwrap_or_default().to_string();
        env.retain(|x| x.split('=').next() != Some(k.as_str()));
        env.push(e);
    }
    c.env = env;
    c.workdir = req
        .workdir
        .clone()
        .or_else(|| ic["WorkingDir"].as_str().map(str::to_string))
        .unwrap_or_default();
    if !c.workdir.is_empty() {
        crate::validate::workdir(&c.workdir)?;
    }
    c.user = req
        .user
        .clone()
        .or_else(|| ic["User"].as_str().map(str::to_string))
        .unwrap_or_default();
    let mut labels: BTreeMap<String, String> = ic["Labels"]
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    labels.append(&mut c.labels);
    c.labels = labels;
    c.stop_signal = req
        .stop_signal
        .clone()
        .or_else(|| ic["StopSignal"].as_str().map(str::to_string))
        .unwrap_or_else(|| "SIGTERM".into());
    runtime::ops::parse_signal(&c.stop_signal)
        .map_err(|_| Error::Invalid(format!("invalid signal: {}", c.stop_signal)))?;
    // The image's EXPOSE, `--expose` and the ports `-p` publishes (Docker's
    // `ExposedPorts` holds all three).
    let mut exposed: Vec<String> = ic["ExposedPorts"]
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    let published = c
        .ports
        .iter()
        .map(|p| format!("{}/{}", p.container_port, p.proto));
    for p in std::mem::take(&mut c.exposed_ports)
        .into_iter()
        .chain(published)
    {
        let p = if p.contains('/') {
            p
        } else {
            format!("{p}/tcp")
        };
        if !exposed.contains(&p) {
            exposed.push(p);
        }
    }
    c.exposed_ports = exposed;
    container_network_mode(req)?;
    if !c.own_uts_ns() && req.hostname.is_some() {
        return Err(Error::Invalid(
            "conflicting options: hostname and the UTS mode".into(),
        ));
    }
    if !c.links.is_empty() && c.network_mode == NetworkMode::Host {
        return Err(Error::Invalid(
            "conflicting options: host type networking can't be used with links. This would result in undefined behavior".into(),
        ));
    }
    if (c.ip.is_some() || !c.aliases.is_empty() || c.mac_address.is_some())
        && c.network_mode.network().is_none()
    {
        return Err(Error::Invalid(format!(
            "--ip and --network-alias need a bridge network, not \"{}\"",
            c.network_mode
        )));
    }
    if c.ip.is_some() && c.network_mode == NetworkMode::Bridge {
        return Err(Error::Invalid(
            "user specified IP address is supported on user defined networks only".into(),
        ));
    }
    // Docker's rule: on the default bridge there is no DNS to answer an alias.
    if !c.aliases.is_empty() && c.network_mode == NetworkMode::Bridge {
        return Err(Error::Invalid(
            "network-scoped alias is supported only for containers in user defined networks".into(),
        ));
    }
    c.publish_all = req.publish_all;
    if req.publish_all {
        for p in &c.exposed_ports {
            let (port, proto) = p.split_once('/').unwrap_or((p.as_str(), "tcp"));
            let spec = format!("{port}/{proto}");
            if !c
                .ports
                .iter()
                .any(|b| format!("{}/{}", b.container_port, b.proto) == spec)
            {
                c.ports
                    .extend(net::ports::parse(&spec).map_err(|e| Error::Invalid(e.to_string()))?);
            }
        }
    }
    if !c.ports.is_empty() && matches!(c.network_mode, NetworkMode::None | NetworkMode::Host) {
        return Err(Error::Invalid(format!(
            "published ports need the bridge network, not \"{}\"",
            c.network_mode
        )));
    }
    c.health = health_config(&ic["Healthcheck"], &req.health)?;
    if c.network_disabled {
        // Loopback only; `HostConfig.NetworkMode` stays as given.
        c.network_mode = NetworkMode::None;
    }
    if c.auto_remove && c.restart.name != RestartName::No {
        return Err(Error::Invalid(
            "conflicting options: cannot specify both --restart and --rm".into(),
        ));
    }
    // Mounts: flags first, then the image's VOLUMEs not covered by one.
    let mut mounts = Vec::new();
    for v in &req.volumes {
        mounts.push(parse_volume_flag(v)?);
    }
    for m in &req.mounts {
        mounts.push(m.to_config()?);
    }
    for t in &req.tmpfs {
        let (dst, opts) = t.split_once(':').unwrap_or((t.as_str(), ""));
        mounts.push(crate::mounts::parse_tmpfs(dst, opts)?);
    }
    // `Config.Volumes`, then the image's (dockerd merges them; a bind or a mount of the
    // target wins).
    let mut anonymous = req.anonymous_volumes.clone();
    if !req.skip_image_volumes {
        anonymous.extend(
            ic["Volumes"]
                .as_object()
                .into_iter()
                .flat_map(|o| o.keys().cloned()),
        );
    }
    for target in anonymous {
        if !mounts.iter().any(|m| m.target == target) {
            mounts.push(MountConfig {
                kind: MountKind::Volume,
                target,
                anonymous: true,
                copy_up: true,
                ..Default::default()
            });
        }
    }
    for (i, m) in mounts.iter().enumerate() {
        crate::validate::mount(m)?;
        if mounts[..i].iter().any(|o| o.target == m.target) {
            return Err(Error::Invalid(format!(
                "Duplicate mount point: {}",
                m.target
            )));
        }
    }
    for s in &c.security_opt {
        let known = s.starts_with("seccomp")
            || s.starts_with("no-new-privileges")
            || s.starts_with("label")
            || s.starts_with("apparmor");
        if !known {
            return Err(Error::Invalid(format!("invalid --security-opt: {s:?}")));
        }
    }
    crate::spec::check_caps(&c.cap_add).map_err(Error::Invalid)?;
    crate::spec::check_caps(&c.cap_drop).map_err(Error::Invalid)?;
    c.mounts = mounts;
    c.hostname = req.hostname.clone().unwrap_or_default();
    Ok(c)
}

/// dockerd's `validateNetContainerMode`: a container sharing another's network namespace
/// has that one's name, resolvers, hosts and ports.
fn container_network_mode(req: &CreateRequest) -> Result<()> {
    let c = &req.config;
    let Some(other) = c.network_mode.container() else {
        return Ok(());
    };
    let conflict = |what: &str| Err(Error::Invalid(format!("conflicting options: {what}")));
    if other.is_empty() {
        return Err(Error::Invalid(
            "invalid network mode: invalid container format container:<name|id>".into(),
        ));
    }
    if req.hostname.as_deref().is_some_and(|h| !h.is_empty()) {
        return conflict("hostname and the network mode");
    }
    if !c.links.is_empty() {
        return conflict("container type network can't be used with links. This would result in undefined behavior");
    }
    if !c.dns.is_empty() {
        return conflict("dns and the network mode");
    }
    if !c.extra_hosts.is_empty() {
        return conflict("custom host-to-IP mapping and the network mode");
    }
    if !c.ports.is_empty() || req.publish_all {
        return conflict("port publishing and the container type network mode");
    }
    if !c.exposed_ports.is_empty() {
        return conflict("port exposing and the container type network mode");
    }
    Ok(())
}

/// The health check in effect: the request's over the image's, field by field
/// (dockerd's `merge`), checked as dockerd checks it.
fn health_config(image: &Value, f: &HealthFlags) -> Result<Option<HealthConfig>> {
    // dockerd's `validateHealthCheck`: durations are 0 (the default) or at least 1ms.
    for (name, v) in [
        ("Interval", f.interval),
        ("Timeout", f.timeout),
        ("StartPeriod", f.start_period),
        ("StartInterval", f.start_interval),
    ] {
        if v.is_some_and(|v| v != 0 && v < 1_000_000) {
            return Err(Error::Invalid(format!(
                "{name} in Healthcheck cannot be less than 1ms"
            )));
        }
    }
    let disable = f.disable
        || f.test
            .as_deref()
            .is_some_and(|t| t.first().is_some_and(|w| w == "NONE"));
    if disable {
        return Ok(Some(HealthConfig {
            test: vec!["NONE".into()],
            ..Default::default()
        }));
    }
    let mut h = if image.is_object() {
        HealthConfig {
            test: strings(&image["Test"]),
            interval: image["Interval"].as_i64().unwrap_or(0),
            timeout: image["Timeout"].as_i64().unwrap_or(0),
            start_period: image["StartPeriod"].as_i64().unwrap_or(0),
            retries: image["Retries"].as_u64().unwrap_or(0) as u32,
            start_interval: image["StartInterval"].as_i64().unwrap_or(0),
        }
    } else {
        HealthConfig::default()
    };
    if let Some(t) = f.test.as_ref().filter(|t| !t.is_empty()) {
        h.test = t.clone();
    }
    // A zero duration is "the image's" (dockerd's merge), as an absent one.
    if let Some(v) = f.interval.filter(|v| *v != 0) {
        h.interval = v;
    }
    if let Some(v) = f.timeout.filter(|v| *v != 0) {
        h.timeout = v;
    }
    if let Some(v) = f.start_period.filter(|v| *v != 0) {
        h.start_period = v;
    }
    if let Some(v) = f.retries.filter(|v| *v != 0) {
        h.retries = v;
    }
    if let Some(v) = f.start_interval.filter(|v| *v != 0) {
        h.start_interval = v;
    }
    Ok((!h.test.is_empty()).then_some(h))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn image() -> Value {
        json!({
            "Env": ["PATH=/usr/bin:/bin", "MODE=image", "KEEP=1"],
            "Entrypoint": ["/entry.sh"],
            "Cmd": ["serve", "--port", "80"],
            "WorkingDir": "/srv",
            "User": "www",
            "Labels": {"maintainer": "img", "shared": "from-image"},
            "StopSignal": "SIGQUIT",
            "ExposedPorts": {"80/tcp": {}, "53/udp": {}},
            "Volumes": {"/data": {}},
            "Healthcheck": {"Test": ["CMD", "true"], "Interval": 5_000_000_000i64, "Retries": 3},
        })
    }

    fn req() -> CreateRequest {
        CreateRequest {
            image: "web".into(),
            ..Default::default()
        }
    }

    #[test]
    fn the_image_config_fills_what_the_request_leaves() {
        let c = resolve(&req(), &image()).expect("resolve");
        assert_eq!(c.entrypoint, ["/entry.sh"]);
        assert_eq!(c.cmd, ["serve", "--port", "80"]);
        assert_eq!(c.workdir, "/srv");
        assert_eq!(c.user, "www");
        assert_eq!(c.stop_signal, "SIGQUIT");
        assert_eq!(c.labels["maintainer"], "img");
        assert_eq!(c.mounts.len(), 1, "the image's VOLUME");
        assert!(c.mounts[0].anonymous && c.mounts[0].target == "/data");
        let h = c.health.expect("the image's healthcheck");
        assert_eq!((h.test[0].as_str(), h.retries), ("CMD", 3));
        assert_eq!(c.hostname, "", "the id's, chosen at create");
        assert!(c.ports.is_empty(), "EXPOSE publishes nothing without -P");
    }

    #[test]
    fn the_request_overrides_with_dockers_rules() {
        let mut r = req();
        r.cmd = vec!["sh".into()];
        r.config.env = vec!["MODE=flag".into(), "NEW=2".into()];
        r.config.labels.insert("shared".into(), "from-flag".into());
        r.workdir = Some("/tmp".into());
        r.volumes = vec!["vol:/data".into()];
        r.publish_all = true;
        r.health = HealthFlags {
            test: Some(vec!["CMD-SHELL".into(), "curl -f localhost".into()]),
            ..Default::default()
        };
        let c = resolve(&r, &image()).expect("resolve");
        // Arguments replace CMD, not ENTRYPOINT.
        assert_eq!(c.entrypoint, ["/entry.sh"]);
        assert_eq!(c.cmd, ["sh"]);
        assert_eq!(
            c.env,
            ["PATH=/usr/bin:/bin", "KEEP=1", "MODE=flag", "NEW=2"]
        );
        assert_eq!(c.labels["shared"], "from-flag");
        assert_eq!(c.workdir, "/tmp");
        // `-v vol:/data` covers the image's VOLUME /data.
        assert_eq!(c.mounts.len(), 1);
        assert_eq!(c.mounts[0].source, "vol");
        assert!(!c.mounts[0].anonymous);
        // `-P`: every EXPOSEd port, on a host port chosen at start.
        let mut ports: Vec<String> = c
            .ports
            .iter()
            .map(|p| format!("{}/{}:{}", p.container_port, p.proto, p.host_port))
            .collect();
        ports.sort();
        assert_eq!(ports, ["53/udp:0", "80/tcp:0"]);
        let h = c.health.expect("health");
        assert_eq!(h.test, ["CMD-SHELL", "curl -f localhost"]);
        assert_eq!(h.retries, 3, "what the flags do not set stays the image's");
        // `--entrypoint ''` clears the image's, and the arguments are the whole command.
        let mut r = req();
        r.entrypoint = Some(vec![String::new()]);
        r.cmd = vec!["true".into()];
        let c = resolve(&r, &image()).expect("resolve");
        assert!(c.entrypoint.is_empty());
        assert_eq!(c.cmd, ["true"]);
    }

    #[test]
    fn conflicts_are_refused_before_anything_exists() {
        let bad = |f: &dyn Fn(&mut CreateRequest), want: &str| {
            let mut r = req();
            f(&mut r);
            let e = resolve(&r, &image()).expect_err(want).to_string();
            assert!(e.contains(want), "want {want:?}, got {e:?}");
        };
        bad(
            &|r| r.workdir = Some("rel".into()),
            "needs to be an absolute path",
        );
        bad(
            &|r| r.volumes = vec!["aa:/x".into(), "bb:/x".into()],
            "Duplicate mount point",
        );
        bad(
            &|r| {
                r.config.auto_remove = true;
                r.config.restart.name = RestartName::Always;
            },
            "cannot specify both --restart and --rm",
        );
        bad(
            &|r| {
                r.config.network_mode = NetworkMode::Host;
                r.publish_all = true;
            },
            "published ports need the bridge network",
        );
        bad(
            &|r| {
                r.config.network_mode = NetworkMode::Container("other".into());
                r.publish_all = true;
            },
            "port publishing and the container type network mode",
        );
        bad(
            &|r| r.config.ip = Some("10.99.0.9".into()),
            "user defined networks only",
        );
        bad(
            &|r| r.stop_signal = Some("SIGNOPE".into()),
            "invalid signal",
        );
        bad(&|r| r.config.cap_add = vec!["NOPE".into()], "NOPE");
        bad(&|r| r.hostname = Some("h".repeat(70)), "invalid hostname");
        let empty = json!({});
        let e = resolve(&req(), &empty).expect_err("no command").to_string();
        assert!(e.contains("no command specified"), "{e}");
    }
}
