//! A pod's containers as engine requests: command and args over the image's entrypoint
//! and cmd (Kubernetes' rules), the environment (values, `valueFrom` field, config map
//! and secret references, `envFrom`, service links), volumes made on the host
//! (emptyDir, hostPath, configMap, secret, downwardAPI, projected) and mounted, the
//! security context and resource limits.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use cluster::api::client::ControlPlane;
use engine::config::NetworkMode;
use engine::resolve::CreateRequest;
use serde_json::{json, Value};

use crate::{res, Error, Result};

pub const LABEL_POD_UID: &str = "io.kubernetes.pod.uid";
pub const LABEL_POD_NAME: &str = "io.kubernetes.pod.name";
pub const LABEL_POD_NS: &str = "io.kubernetes.pod.namespace";
pub const LABEL_CONTAINER: &str = "io.kubernetes.container.name";
pub const LABEL_ATTEMPT: &str = "io.kubernetes.container.restartCount";
/// The pause container's container name.
pub const POD_INFRA: &str = "POD";

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().map(s).collect())
        .unwrap_or_default()
}

/// The value of a `fieldRef` (`metadata.name`, `metadata.labels['app']`, ...).
pub fn field_ref(pod: &Value, path: &str) -> Option<String> {
    let md = &pod["metadata"];
    let bracket = |prefix: &str, map: &Value| {
        path.strip_prefix(prefix)
            .and_then(|r| r.strip_suffix("']"))
            .map(|k| s(&map[k]))
    };
    Some(match path {
        "metadata.name" => s(&md["name"]),
        "metadata.namespace" => s(&md["namespace"]),
        "metadata.uid" => s(&md["uid"]),
        "spec.nodeName" => s(&pod["spec"]["nodeName"]),
        "spec.serviceAccountName" => s(&pod["spec"]["serviceAccountName"]),
        "status.podIP" => s(&pod["status"]["podIP"]),
        "status.hostIP" => s(&pod["status"]["hostIP"]),
        "status.podIPs" => s(&pod["status"]["podIP"]),
        "status.hostIPs" => s(&pod["status"]["hostIP"]),
        p if p.starts_with("metadata.labels['") => bracket("metadata.labels['", &md["labels"])?,
        p if p.starts_with("metadata.annotations['") => {
            bracket("metadata.annotations['", &md["annotations"])?
        }
        "metadata.labels" | "metadata.annotations" => {
            let key = path.trim_start_matches("metadata.");
            let mut pairs: Vec<String> = md[key]
                .as_object()
                .map(|m| m.iter().map(|(k, v)| format!("{k}=\"{}\"", s(v))).collect())
                .unwrap_or_default();
            pairs.sort();
            pairs.join("\n")
        }
        _ => return None,
    })
}

/// A key of a config map (`data` or `binaryData`) or a secret (`data`, base64), as text.
fn key_of(
    reg: &dyn ControlPlane,
    ns: &str,
    secret: bool,
    name: &str,
    key: &str,
) -> Result<Option<Vec<u8>>> {
    let r = if secret {
        res("", "secrets")?
    } else {
        res("", "configmaps")?
    };
    let obj = match reg.get(r, Some(ns), name) {
        Ok(o) => o,
        Err(e) if e.code == 404 => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    Ok(values_of(&obj, secret).remove(key))
}

/// Every key of a config map or secret, decoded.
fn values_of(obj: &Value, secret: bool) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let b64 = |v: &Value| {
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .unwrap_or_default()
    };
    if let Some(m) = obj["data"].as_object() {
        for (k, v) in m {
            out.insert(k.clone(), if secret { b64(v) } else { s(v).into_bytes() });
        }
    }
    if let Some(m) = obj["binaryData"].as_object() {
        for (k, v) in m {
            out.insert(k.clone(), b64(v));
        }
    }
    out
}

/// Kubernetes' service environment variables for the services of `ns`.
fn service_env(reg: &dyn ControlPlane, ns: &str) -> Result<Vec<String>> {
    let sr = res("", "services")?;
    let mut out = Vec::new();
    let mut services = reg
        .list(sr, Some(ns), &Default::default())
        .unwrap_or_default();
    if ns != "default" {
        if let Ok(k) = reg.get(sr, Some("default"), "kubernetes") {
            services.push(k);
        }
    }
    for svc in services {
        let ip = s(&svc["spec"]["clusterIP"]);
        if ip.is_empty() || ip == "None" {
            continue;
        }
        let name = s(&svc["metadata"]["name"]).to_uppercase().replace('-', "_");
        let ports = svc["spec"]["ports"].as_array().cloned().unwrap_or_default();
        let Some(first) = ports.first() else { continue };
        out.push(format!("{name}_SERVICE_HOST={ip}"));
        out.push(format!("{name}_SERVICE_PORT={}", first["port"]));
        for p in &ports {
            let proto = p["protocol"].as_str().unwrap_or("TCP");
            let port = &p["port"];
            if let Some(pn) = p["name"].as_str().filter(|n| !n.is_empty()) {
                out.push(format!(
                    "{name}_SERVICE_PORT_{}={port}",
                    pn.to_uppercase().replace('-', "_")
                ));
            }
            let lp = proto.to_lowercase();
            let up = proto.to_uppercase();
            out.push(format!("{name}_PORT={lp}://{ip}:{}", first["port"]));
            out.push(format!("{name}_PORT_{port}_{up}={lp}://{ip}:{port}"));
            out.push(format!("{name}_PORT_{port}_{up}_PROTO={lp}"));
            out.push(format!("{name}_PORT_{port}_{up}_PORT={port}"));
            out.push(format!("{name}_PORT_{port}_{up}_ADDR={ip}"));
        }
    }
    out.dedup();
    Ok(out)
}

/// The container's environment, as the kubelet builds it.
pub fn env(reg: &dyn ControlPlane, pod: &Value, c: &Value) -> Result<Vec<String>> {
    let ns = s(&pod["metadata"]["namespace"]);
    let mut out: Vec<String> = Vec::new();
    if pod["spec"]["enableServiceLinks"] != Value::Bool(false) {
        out.extend(service_env(reg, &ns)?);
    } else if let Ok(k) = reg.get(res("", "services")?, Some("default"), "kubernetes") {
        let ip = s(&k["spec"]["clusterIP"]);
        out.push(format!("KUBERNETES_SERVICE_HOST={ip}"));
        out.push("KUBERNETES_SERVICE_PORT=443".to_string());
    }
    for from in c["envFrom"].as_array().into_iter().flatten() {
        let prefix = s(&from["prefix"]);
        for (secret, key) in [(false, "configMapRef"), (true, "secretRef")] {
            let r = &from[key];
            if !r.is_object() {
                continue;
            }
            let kind = if secret {
                res("", "secrets")?
            } else {
                res("", "configmaps")?
            };
            match reg.get(kind, Some(&ns), &s(&r["name"])) {
                Ok(obj) => {
                    for (k, v) in values_of(&obj, secret) {
                        out.push(format!("{prefix}{k}={}", String::from_utf8_lossy(&v)));
                    }
                }
                Err(_) if r["optional"] == Value::Bool(true) => {}
                Err(_) => {
                    return Err(Error::Other(format!(
                        "{} \"{}\" not found",
                        if secret { "secret" } else { "configmap" },
                        s(&r["name"])
                    )))
                }
            }
        }
    }
    for e in c["env"].as_array().into_iter().flatten() {
        let name = s(&e["name"]);
        let vf = &e["valueFrom"];
        let value = if let Some(v) = e["value"].as_str() {
            // $(VAR) references to earlier variables.
            expand(v, &out)
        } else if vf["fieldRef"].is_object() {
            field_ref(pod, &s(&vf["fieldRef"]["fieldPath"])).unwrap_or_default()
        } else if vf["resourceFieldRef"].is_object() {
            let r = s(&vf["resourceFieldRef"]["resource"]);
            let (kind, what) = r.split_once('.').unwrap_or(("limits", "cpu"));
            s(&c["resources"][kind][what])
        } else {
            let (secret, sel) = if vf["secretKeyRef"].is_object() {
                (true, &vf["secretKeyRef"])
            } else {
                (false, &vf["configMapKeyRef"])
            };
            match key_of(reg, &ns, secret, &s(&sel["name"]), &s(&sel["key"]))? {
                Some(v) => String::from_utf8_lossy(&v).into_owned(),
                None if sel["optional"] == Value::Bool(true) => continue,
                None => {
                    return Err(Error::Other(format!(
                        "couldn't find key {} in {} {}/{}",
                        s(&sel["key"]),
                        if secret { "Secret" } else { "ConfigMap" },
                        ns,
                        s(&sel["name"])
                    )))
                }
            }
        };
        out.retain(|x| x.split('=').next() != Some(name.as_str()));
        out.push(format!("{name}={value}"));
    }
    Ok(out)
}

/// `$(NAME)` replaced by an earlier variable's value (`$$` escapes).
fn expand(v: &str, env: &[String]) -> String {
    let mut out = String::new();
    let mut rest = v;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('(') {
            match inner.find(')') {
                Some(end) => {
                    let key = &inner[..end];
                    match env
                        .iter()
                        .rev()
                        .find_map(|e| e.strip_prefix(&format!("{key}=")))
                    {
                        Some(val) => out.push_str(val),
                        None => {
                            out.push_str("$(");
                            out.push_str(key);
                            out.push(')');
                        }
                    }
                    rest = &inner[end + 1..];
                }
                None => {
                    out.push('$');
                    rest = after;
                }
            }
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

fn write_files(dir: &Path, files: &BTreeMap<String, Vec<u8>>, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let io = |what: &str, p: &Path, e: std::io::Error| {
        Error::Other(format!("{what} {}: {e}", p.display()))
    };
    std::fs::create_dir_all(dir).map_err(|e| io("create", dir, e))?;
    for (rel, data) in files {
        // Paths come from the API object: only relative ones, without `..`.
        let rp = Path::new(rel);
        if rp.is_absolute()
            || rp
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return Err(Error::Other(format!(
                "volume file path {rel:?} must be relative and may not contain '..'"
            )));
        }
        let p = dir.join(rp);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io("create", parent, e))?;
        }
        std::fs::write(&p, data).map_err(|e| io("write", &p, e))?;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode))
            .map_err(|e| io("chmod", &p, e))?;
    }
    Ok(())
}

/// The files of a config map or secret volume source (all keys, or its `items`).
fn source_files(
    reg: &dyn ControlPlane,
    ns: &str,
    src: &Value,
    secret: bool,
) -> Result<BTreeMap<String, Vec<u8>>> {
    let name = if secret {
        s(&src["secretName"])
    } else {
        s(&src["name"])
    };
    let kind = if secret {
        res("", "secrets")?
    } else {
        res("", "configmaps")?
    };
    let all = match reg.get(kind, Some(ns), &name) {
        Ok(o) => values_of(&o, secret),
        Err(_) if src["optional"] == Value::Bool(true) => BTreeMap::new(),
        Err(_) => {
            return Err(Error::Other(format!(
                "{} \"{name}\" not found",
                if secret { "secret" } else { "configmap" }
            )))
        }
    };
    match src["items"].as_array() {
        Some(items) => Ok(items
            .iter()
            .filter_map(|it| all.get(&s(&it["key"])).map(|v| (s(&it["path"]), v.clone())))
            .collect()),
        None => Ok(all),
    }
}

/// Make the pod's volumes under `dir` on the host; their host paths by name.
pub fn volumes(
    reg: &dyn ControlPlane,
    pod: &Value,
    dir: &Path,
) -> Result<BTreeMap<String, PathBuf>> {
    let ns = s(&pod["metadata"]["namespace"]);
    let mut out = BTreeMap::new();
    for v in pod["spec"]["volumes"].as_array().into_iter().flatten() {
        let name = s(&v["name"]);
        let here = dir.join(&name);
        let mode = |src: &Value| src["defaultMode"].as_u64().unwrap_or(0o644) as u32;
        if v["hostPath"].is_object() {
            let p = PathBuf::from(s(&v["hostPath"]["path"]));
            match s(&v["hostPath"]["type"]).as_str() {
                "DirectoryOrCreate" => std::fs::create_dir_all(&p)
                    .map_err(|e| Error::Other(format!("hostPath {}: {e}", p.display())))?,
                "FileOrCreate" if !p.exists() => std::fs::write(&p, b"")
                    .map_err(|e| Error::Other(format!("hostPath {}: {e}", p.display())))?,
                "Directory" if !p.is_dir() => {
                    return Err(Error::Other(format!(
                        "hostPath type check failed: {} is not a directory",
                        p.display()
                    )))
                }
                "File" if !p.is_file() => {
                    return Err(Error::Other(format!(
                        "hostPath type check failed: {} is not a file",
                        p.display()
                    )))
                }
                _ => {}
            }
            out.insert(name, p);
            continue;
        }
        if v["configMap"].is_object() {
            write_files(
                &here,
                &source_files(reg, &ns, &v["configMap"], false)?,
                mode(&v["configMap"]),
            )?;
        } else if v["secret"].is_object() {
            write_files(
                &here,
                &source_files(reg, &ns, &v["secret"], true)?,
                mode(&v["secret"]),
            )?;
        } else if v["downwardAPI"].is_object() {
            let files: BTreeMap<String, Vec<u8>> = v["downwardAPI"]["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|it| {
                    field_ref(pod, &s(&it["fieldRef"]["fieldPath"]))
                        .map(|val| (s(&it["path"]), val.into_bytes()))
                })
                .collect();
            write_files(&here, &files, mode(&v["downwardAPI"]))?;
        } else if v["projected"].is_object() {
            let mut files = BTreeMap::new();
            for src in v["projected"]["sources"].as_array().into_iter().flatten() {
                if src["configMap"].is_object() {
                    files.extend(source_files(reg, &ns, &src["configMap"], false)?);
                } else if src["secret"].is_object() {
                    let mut sec = src["secret"].clone();
                    sec["secretName"] = sec["name"].clone();
                    files.extend(source_files(reg, &ns, &sec, true)?);
                } else if src["downwardAPI"].is_object() {
                    for it in src["downwardAPI"]["items"].as_array().into_iter().flatten() {
                        if let Some(val) = field_ref(pod, &s(&it["fieldRef"]["fieldPath"])) {
                            files.insert(s(&it["path"]), val.into_bytes());
                        }
                    }
                } else if src["serviceAccountToken"].is_object() {
                    let (path, token) =
                        service_account_token(reg, pod, &src["serviceAccountToken"])?;
                    files.insert(path, token.into_bytes());
                }
            }
            write_files(&here, &files, mode(&v["projected"]))?;
        } else {
            // emptyDir (and a volume with no source, which Kubernetes treats as one).
            std::fs::create_dir_all(&here)
                .map_err(|e| Error::Other(format!("emptyDir {}: {e}", here.display())))?;
        }
        out.insert(name, here);
    }
    Ok(out)
}

/// The registry a docker config key names (`https://index.docker.io/v1/`,
/// `host:5000`, `https://host/path`), as the reference's domain spells it.
fn config_host(key: &str) -> String {
    let k = key
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let host = k.split('/').next().unwrap_or_default().to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            "docker.io".to_string()
        }
        _ => host,
    }
}

/// The credentials the pod's `imagePullSecrets` hold for `domain` (a reference's
/// registry), in the order the secrets are listed: `kubernetes.io/dockerconfigjson`
/// (`.dockerconfigjson`) and the older `kubernetes.io/dockercfg` (`.dockercfg`), each
/// entry with `auth` (base64 of user:password) or `username` and `password`.
pub fn pull_credentials(
    reg: &dyn ControlPlane,
    pod: &Value,
    domain: &str,
) -> Vec<(String, String)> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let ns = s(&pod["metadata"]["namespace"]);
    let Some(secrets) = cluster::resources::find("", "v1", "secrets") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for r in pod["spec"]["imagePullSecrets"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let Ok(sec) = reg.get(secrets, Some(&ns), &s(&r["name"])) else {
            continue;
        };
        let decoded = |k: &str| {
            sec["data"][k]
                .as_str()
                .and_then(|d| b64.decode(d).ok())
                .and_then(|d| serde_json::from_slice::<Value>(&d).ok())
        };
        let entries = match (decoded(".dockerconfigjson"), decoded(".dockercfg")) {
            (Some(j), _) => j["auths"].clone(),
            (None, Some(c)) => c,
            (None, None) => continue,
        };
        for (key, e) in entries.as_object().into_iter().flatten() {
            if config_host(key) != domain.to_ascii_lowercase() {
                continue;
            }
            let pair = match e["auth"].as_str().and_then(|a| b64.decode(a).ok()) {
                Some(raw) => String::from_utf8_lossy(&raw)
                    .split_once(':')
                    .map(|(u, p)| (u.to_string(), p.to_string())),
                None => Some((s(&e["username"]), s(&e["password"]))),
            };
            if let Some(p) = pair.filter(|(u, _)| !u.is_empty()) {
                out.push(p);
            }
        }
    }
    out
}

/// A token for the pod's service account, bound to the pod, as a projected
/// `serviceAccountToken` source asks (audience, expiry): its file path and the token.
fn service_account_token(
    reg: &dyn ControlPlane,
    pod: &Value,
    src: &Value,
) -> Result<(String, String)> {
    let ns = s(&pod["metadata"]["namespace"]);
    let sa = pod["spec"]["serviceAccountName"]
        .as_str()
        .unwrap_or("default");
    let mut spec = json!({"expirationSeconds": src["expirationSeconds"].as_i64().unwrap_or(3600),
        "boundObjectRef": {"kind": "Pod", "apiVersion": "v1",
                           "name": pod["metadata"]["name"], "uid": pod["metadata"]["uid"]}});
    if let Some(aud) = src["audience"].as_str().filter(|a| !a.is_empty()) {
        spec["audiences"] = json!([aud]);
    }
    let out = reg
        .token_request(
            &ns,
            sa,
            &json!({"apiVersion": "authentication.k8s.io/v1",
                                         "kind": "TokenRequest", "spec": spec}),
        )
        .map_err(|e| {
            Error::Other(format!(
                "a token for service account {ns}/{sa}: {}",
                e.message
            ))
        })?;
    let token = out["status"]["token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    Ok((s(&src["path"]), token))
}

/// The engine request for container `c` of `pod`, in the pod's pause container `infra`.
#[allow(clippy::too_many_arguments)]
pub fn container_request(
    reg: &dyn ControlPlane,
    pod: &Value,
    c: &Value,
    infra: &str,
    name: &str,
    attempt: u32,
    vols: &BTreeMap<String, PathBuf>,
) -> Result<CreateRequest> {
    let mut req = CreateRequest {
        name: Some(name.to_string()),
        image: s(&c["image"]),
        ..Default::default()
    };
    let command = strings(&c["command"]);
    let args = strings(&c["args"]);
    if !command.is_empty() {
        req.entrypoint = Some(command);
    }
    req.cmd = args;
    if let Some(w) = c["workingDir"].as_str().filter(|w| !w.is_empty()) {
        req.workdir = Some(w.to_string());
    }
    let cfg = &mut req.config;
    cfg.env = env(reg, pod, c)?;
    cfg.network_mode = NetworkMode::Container(infra.to_string());
    cfg.network_mode_given = format!("container:{infra}");
    cfg.ipc_mode = format!("container:{infra}");
    cfg.tty = c["tty"] == Value::Bool(true);
    cfg.open_stdin = c["stdin"] == Value::Bool(true);
    cfg.stdin_once = c["stdinOnce"] == Value::Bool(true);
    cfg.stop_timeout = pod["spec"]["terminationGracePeriodSeconds"].as_i64();
    let sc = &c["securityContext"];
    let psc = &pod["spec"]["securityContext"];
    cfg.privileged = sc["privileged"] == Value::Bool(true);
    cfg.read_only = sc["readOnlyRootFilesystem"] == Value::Bool(true);
    cfg.cap_add = strings(&sc["capabilities"]["add"]);
    cfg.cap_drop = strings(&sc["capabilities"]["drop"]);
    let uid = sc["runAsUser"].as_i64().or(psc["runAsUser"].as_i64());
    let gid = sc["runAsGroup"].as_i64().or(psc["runAsGroup"].as_i64());
    match (uid, gid) {
        (Some(u), Some(g)) => req.user = Some(format!("{u}:{g}")),
        (Some(u), None) => req.user = Some(u.to_string()),
        _ => {}
    }
    let limits = &c["resources"]["limits"];
    if let Some(m) = limits["memory"]
        .as_str()
        .and_then(cluster::controllers::scheduler::quantity)
    {
        req.config.resources.memory = Some(m as i64);
    }
    if let Some(cpu) = limits["cpu"]
        .as_str()
        .and_then(cluster::controllers::scheduler::quantity)
    {
        req.config.resources.nano_cpus = Some((cpu * 1e9) as i64);
    }
    for (k, v) in [
        (LABEL_POD_UID, s(&pod["metadata"]["uid"])),
        (LABEL_POD_NAME, s(&pod["metadata"]["name"])),
        (LABEL_POD_NS, s(&pod["metadata"]["namespace"])),
        (LABEL_CONTAINER, s(&c["name"])),
        (LABEL_ATTEMPT, attempt.to_string()),
    ] {
        req.config.labels.insert(k.to_string(), v);
    }
    for m in c["volumeMounts"].as_array().into_iter().flatten() {
        let Some(host) = vols.get(&s(&m["name"])) else {
            return Err(Error::Other(format!(
                "volume {:?} is not in the pod",
                s(&m["name"])
            )));
        };
        let mut src = host.clone();
        if let Some(sub) = m["subPath"].as_str().filter(|p| !p.is_empty()) {
            let sp = Path::new(sub);
            if sp.is_absolute()
                || sp
                    .components()
                    .any(|c| matches!(c, std::path::Component::ParentDir))
            {
                return Err(Error::Other(format!(
                    "subPath {sub:?} must be relative and may not contain '..'"
                )));
            }
            src = src.join(sp);
            if !src.exists() {
                std::fs::create_dir_all(&src)
                    .map_err(|e| Error::Other(format!("subPath {}: {e}", src.display())))?;
            }
        }
        req.mounts.push(engine::mounts::MountSpec {
            kind: "bind".to_string(),
            source: src.to_string_lossy().into_owned(),
            target: s(&m["mountPath"]),
            read_only: m["readOnly"] == Value::Bool(true),
            ..Default::default()
        });
    }
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn field_refs_and_expansion() {
        let pod = json!({"metadata": {"name": "p", "namespace": "n", "labels": {"app": "web"}},
                         "status": {"podIP": "10.42.0.5"}});
        assert_eq!(
            field_ref(&pod, "metadata.labels['app']").as_deref(),
            Some("web")
        );
        assert_eq!(
            field_ref(&pod, "status.podIP").as_deref(),
            Some("10.42.0.5")
        );
        assert_eq!(field_ref(&pod, "spec.bogus"), None);
        let env = vec!["A=1".to_string()];
        assert_eq!(expand("x$(A)y$(B)$$(A)", &env), "x1y$(B)$(A)");
    }
}
