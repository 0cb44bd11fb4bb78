//! Loading and validating a bundle's `config.json`.
//!
//! Parse errors name the JSON path at fault (`linux.namespaces[2].type`), so a user can
//! find the field without reading the whole file.

use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::error::{Error, IoContext, Result};

/// A loaded bundle: its directory, its config and the resolved rootfs.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// Absolute path of the bundle directory.
    pub dir: PathBuf,
    /// The parsed `config.json`.
    pub spec: Spec,
    /// Absolute path of `root.path`.
    pub rootfs: PathBuf,
}

fn config_error(path: &Path, field: impl Into<String>, message: impl Into<String>) -> Error {
    Error::Config {
        path: path.to_path_buf(),
        field: field.into(),
        message: message.into(),
    }
}

/// Parse a spec from JSON bytes, naming the failing field.
pub fn parse_spec(path: &Path, bytes: &[u8]) -> Result<Spec> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        let field = if field == "." {
            "(root)".to_string()
        } else {
            field
        };
        config_error(path, field, e.inner().to_string())
    })
}

/// Load and validate the bundle at `dir`.
pub fn load_bundle(dir: &Path) -> Result<Bundle> {
    let meta = std::fs::metadata(dir).ctx("open bundle", dir)?;
    if !meta.is_dir() {
        return Err(Error::Invalid(format!(
            "bundle {} is not a directory",
            dir.display()
        )));
    }
    let dir = std::fs::canonicalize(dir).ctx("resolve bundle", dir)?;
    let config = dir.join("config.json");
    let bytes = std::fs::read(&config).ctx("read", &config)?;
    let spec = parse_spec(&config, &bytes)?;
    bundle_with(dir, spec)
}

/// A bundle whose spec the caller holds already (an engine that built it in memory; its
/// `config.json` is for tools and debugging): validated as if it had been read.
pub fn bundle_from(dir: &Path, spec: Spec) -> Result<Bundle> {
    let dir = std::fs::canonicalize(dir).ctx("resolve bundle", dir)?;
    bundle_with(dir, spec)
}

fn bundle_with(dir: PathBuf, spec: Spec) -> Result<Bundle> {
    let config = dir.join("config.json");
    validate(&config, &spec)?;
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| config_error(&config, "root", "missing"))?;
    let rootfs = if root.path().is_absolute() {
        root.path().clone()
    } else {
        dir.join(root.path())
    };
    match std::fs::metadata(&rootfs) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(config_error(
                &config,
                "root.path",
                format!("{} is not a directory", rootfs.display()),
            ))
        }
        Err(e) => {
            return Err(config_error(
                &config,
                "root.path",
                format!("{}: {e}", rootfs.display()),
            ))
        }
    }
    Ok(Bundle { dir, spec, rootfs })
}

/// Checks that serde cannot express.
pub fn validate(config: &Path, spec: &Spec) -> Result<()> {
    if !spec.version().starts_with("1.") {
        return Err(config_error(
            config,
            "ociVersion",
            format!("unsupported version {:?} (want 1.x)", spec.version()),
        ));
    }
    let process = spec.process().as_ref();
    if let Some(p) = process {
        match p.args() {
            Some(a) if !a.is_empty() => {}
            _ => return Err(config_error(config, "process.args", "must not be empty")),
        }
        if !p.cwd().is_absolute() {
            return Err(config_error(
                config,
                "process.cwd",
                format!("{} is not an absolute path", p.cwd().display()),
            ));
        }
    }
    if let Some(linux) = spec.linux() {
        let mut seen = Vec::new();
        for (i, ns) in linux.namespaces().iter().flatten().enumerate() {
            if seen.contains(&ns.typ()) {
                return Err(config_error(
                    config,
                    format!("linux.namespaces[{i}].type"),
                    format!("duplicate namespace {}", ns.typ()),
                ));
            }
            seen.push(ns.typ());
            if ns.typ() == LinuxNamespaceType::Time {
                if let Some(path) = ns.path() {
                    if !path.exists() {
                        return Err(config_error(
                            config,
                            format!("linux.namespaces[{i}].path"),
                            format!("{} does not exist", path.display()),
                        ));
                    }
                }
            }
        }
        let new_userns = linux
            .namespaces()
            .iter()
            .flatten()
            .any(|n| n.typ() == LinuxNamespaceType::User && n.path().is_none());
        let has_maps = linux.uid_mappings().as_ref().is_some_and(|m| !m.is_empty());
        if new_userns && !has_maps {
            return Err(config_error(
                config,
                "linux.uidMappings",
                "a new user namespace needs uid and gid mappings",
            ));
        }
        if let Some(h) = spec.hostname() {
            if !h.is_empty() && !seen.contains(&LinuxNamespaceType::Uts) {
                return Err(config_error(
                    config,
                    "hostname",
                    "setting the hostname needs a new uts namespace",
                ));
            }
        }
        if let Some(d) = spec.domainname() {
            if !d.is_empty() && !seen.contains(&LinuxNamespaceType::Uts) {
                return Err(config_error(
                    config,
                    "domainname",
                    "setting the domainname needs a new uts namespace",
                ));
            }
        }
        for k in linux.sysctl().iter().flatten().map(|(k, _)| k) {
            if let Some(why) = sysctl_refusal(k, &seen) {
                return Err(config_error(config, format!("linux.sysctl.{k}"), why));
            }
        }
        for (i, m) in spec.mounts().iter().flatten().enumerate() {
            let idmap = m.uid_mappings().as_ref().is_some_and(|v| !v.is_empty())
                || m.gid_mappings().as_ref().is_some_and(|v| !v.is_empty())
                || m.options()
                    .iter()
                    .flatten()
                    .any(|o| o == "idmap" || o == "ridmap");
            if idmap {
                let bind = m.typ().as_deref() == Some("bind")
                    || m.options()
                        .iter()
                        .flatten()
                        .any(|o| o == "bind" || o == "rbind");
                let own = m.uid_mappings().as_ref().is_some_and(|v| !v.is_empty())
                    && m.gid_mappings().as_ref().is_some_and(|v| !v.is_empty());
                if !bind {
                    return Err(config_error(
                        config,
                        format!("mounts[{i}]"),
                        "only bind mounts can be idmapped",
                    ));
                }
                if !(own || (new_userns && has_maps)) {
                    return Err(config_error(
                        config,
                        format!("mounts[{i}]"),
                        "an idmapped mount needs uidMappings and gidMappings of its own or a new user namespace with mappings",
                    ));
                }
            }
            if m.destination().as_os_str().is_empty() {
                return Err(config_error(
                    config,
                    format!("mounts[{i}].destination"),
                    "empty",
                ));
            }
        }
    }
    Ok(())
}

/// Why a sysctl may not be written with these namespaces (runc's rule and words): each is
/// written in the container's own namespace of its kind, never the host's.
fn sysctl_refusal(k: &str, namespaces: &[LinuxNamespaceType]) -> Option<String> {
    const IPC: &[&str] = &[
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    let has = |t| namespaces.contains(&t);
    if IPC.contains(&k) || k.starts_with("fs.mqueue.") {
        return (!has(LinuxNamespaceType::Ipc))
            .then(|| format!("sysctl {k:?} is not allowed in the hosts ipc namespace"));
    }
    if k.starts_with("net.") {
        return (!has(LinuxNamespaceType::Network))
            .then(|| format!("sysctl {k:?} not allowed in host network namespace"));
    }
    if has(LinuxNamespaceType::Uts) {
        match k {
            "kernel.domainname" => return None,
            "kernel.hostname" => {
                return Some(format!(
                    "sysctl {k:?} is not allowed as it conflicts with the OCI \"hostname\" field"
                ))
            }
            _ => {}
        }
    }
    Some(format!(
        "sysctl {k:?} is not in a separate kernel namespace"
    ))
}

/// The namespace entry of type `t`, if the spec lists one.
pub fn namespace(spec: &Spec, t: LinuxNamespaceType) -> Option<&oci_spec::runtime::LinuxNamespace> {
    spec.linux()
        .as_ref()?
        .namespaces()
        .as_ref()?
        .iter()
        .find(|n| n.typ() == t)
}

/// Whether the spec asks for a new namespace of type `t` (listed without a path).
pub fn new_namespace(spec: &Spec, t: LinuxNamespaceType) -> bool {
    namespace(spec, t).is_some_and(|n| n.path().is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_field_at_fault() {
        let json = br#"{"ociVersion":"1.0.2","root":{"path":"rootfs"},
            "linux":{"namespaces":[{"type":"pid"},{"type":"bogus"}]}}"#;
        let err = parse_spec(Path::new("/b/config.json"), json)
            .expect_err("bogus namespace must fail")
            .to_string();
        assert!(err.contains("linux.namespaces[1].type"), "{err}");
        assert!(err.contains("bogus"), "{err}");
    }

    #[test]
    fn rejects_duplicate_namespace_and_relative_cwd() {
        let json = br#"{"ociVersion":"1.0.2","root":{"path":"rootfs"},
            "process":{"args":["true"],"cwd":"/","user":{"uid":0,"gid":0}},
            "linux":{"namespaces":[{"type":"pid"},{"type":"pid"}]}}"#;
        let p = Path::new("/b/config.json");
        let spec = parse_spec(p, json).expect("parses");
        let err = validate(p, &spec).expect_err("duplicate").to_string();
        assert!(err.contains("linux.namespaces[1].type"), "{err}");

        let json = br#"{"ociVersion":"1.0.2","root":{"path":"rootfs"},
            "process":{"args":["true"],"cwd":"tmp","user":{"uid":0,"gid":0}}}"#;
        let spec = parse_spec(p, json).expect("parses");
        let err = validate(p, &spec).expect_err("relative cwd").to_string();
        assert!(err.contains("process.cwd"), "{err}");
    }

    #[test]
    fn sysctls_and_names_need_the_containers_own_namespaces() {
        let p = Path::new("/b/config.json");
        let check = |namespaces: &str, extra: &str| {
            let json = format!(
                r#"{{"ociVersion":"1.0.2","root":{{"path":"rootfs"}},{extra}
                "process":{{"args":["true"],"cwd":"/","user":{{"uid":0,"gid":0}}}},
                "linux":{{"namespaces":[{namespaces}],
                    "sysctl":{{"net.ipv4.ip_forward":"1","kernel.shmmax":"100000"}}}}}}"#
            );
            let spec = parse_spec(p, json.as_bytes()).expect("parses");
            validate(p, &spec).map_err(|e| e.to_string())
        };
        assert!(check(r#"{"type":"network"},{"type":"ipc"}"#, "").is_ok());
        let e = check(r#"{"type":"ipc"}"#, "").expect_err("host netns");
        assert!(e.contains("not allowed in host network namespace"), "{e}");
        let e = check(r#"{"type":"network"}"#, "").expect_err("host ipc");
        assert!(e.contains("not allowed in the hosts ipc namespace"), "{e}");
        let e = check(
            r#"{"type":"network"},{"type":"ipc"}"#,
            r#""domainname":"example.org","#,
        )
        .expect_err("host uts");
        assert!(e.contains("domainname"), "{e}");
        assert_eq!(
            sysctl_refusal("kernel.domainname", &[LinuxNamespaceType::Uts]),
            None
        );
        assert!(sysctl_refusal("vm.swappiness", &[LinuxNamespaceType::Uts]).is_some());
    }
}
