//! `RUN --mount`: what each mount becomes for the step's container. `bind` mounts a
//! context path (read-only unless `rw`, then a private copy) or another stage's or
//! image's files (a flattened copy); `cache` a directory kept between builds; `tmpfs` a
//! tmpfs; `secret` a file (or a variable) given with `--secret`, never in a layer; `ssh`
//! the agent socket given with `--ssh`. Their targets never become part of the layer.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dockerfile::instructions::{Mount, MountType};

use crate::Error;

/// Where a `--secret` comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// `src=PATH`.
    File(PathBuf),
    /// `env=VAR`: the value of this variable of the build's environment.
    Env(String),
}

/// Parse `--secret id=ID[,src=PATH|,env=VAR]` (`source=`, `type=file|env` too).
pub fn parse_secret(s: &str) -> Result<(String, SecretSource), Error> {
    let mut id = None;
    let mut src = None;
    let mut env = None;
    let mut kind = None;
    for field in s.split(',') {
        let (k, v) = field.split_once('=').ok_or_else(|| {
            Error::Invalid(format!("invalid secret {s:?}: want key=value fields"))
        })?;
        match k {
            "id" => id = Some(v.to_string()),
            "src" | "source" => src = Some(v.to_string()),
            "env" => env = Some(v.to_string()),
            "type" => kind = Some(v.to_string()),
            _ => return Err(Error::Invalid(format!("unexpected key '{k}' in '{field}'"))),
        }
    }
    let id = id
        .or_else(|| {
            src.as_ref().and_then(|p| {
                Path::new(p)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
            })
        })
        .or_else(|| env.clone())
        .ok_or_else(|| Error::Invalid(format!("invalid secret {s:?}: no id")))?;
    let source = match (kind.as_deref(), src, env) {
        (Some("env"), Some(v), _) | (_, None, Some(v)) => SecretSource::Env(v),
        (_, Some(p), _) => SecretSource::File(PathBuf::from(p)),
        (_, None, None) => SecretSource::Env(id.clone()),
    };
    Ok((id, source))
}

/// The mounts of one RUN, ready for its container; temporary copies go when dropped.
#[derive(Debug, Default)]
pub struct Prepared {
    /// `-v HOST:TARGET[:ro]`.
    pub volumes: Vec<String>,
    /// `--tmpfs TARGET[:size=N]`.
    pub tmpfs: Vec<String>,
    /// Variables for the step (secrets with `env=`, `SSH_AUTH_SOCK`).
    pub env: Vec<(String, String)>,
    /// Every target, to leave out of the layer.
    pub targets: Vec<String>,
    cleanup: Vec<PathBuf>,
}

impl Drop for Prepared {
    fn drop(&mut self) {
        for d in &self.cleanup {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// What preparing needs from the build.
pub struct Sources<'a> {
    /// The context directory (binds without `from`).
    pub context: &'a crate::context::Context,
    /// `--secret` values.
    pub secrets: &'a BTreeMap<String, SecretSource>,
    /// `--ssh default` agent socket.
    pub ssh: Option<&'a Path>,
    /// A scratch directory this step may use (removed after it).
    pub scratch: &'a Path,
}

fn abs(target: &str, workdir: &str) -> String {
    if target.starts_with('/') {
        target.to_string()
    } else {
        format!("{}/{}", workdir.trim_end_matches('/'), target)
    }
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), Error> {
    let io =
        |e: std::io::Error| Error::Io(format!("copy {} to {}: {e}", from.display(), to.display()));
    let m = std::fs::symlink_metadata(from).map_err(io)?;
    if m.file_type().is_symlink() {
        let t = std::fs::read_link(from).map_err(io)?;
        std::os::unix::fs::symlink(t, to).map_err(io)?;
    } else if m.is_dir() {
        std::fs::create_dir_all(to).map_err(io)?;
        for e in std::fs::read_dir(from).map_err(io)? {
            let e = e.map_err(io)?;
            copy_tree(&e.path(), &to.join(e.file_name()))?;
        }
        std::fs::set_permissions(to, m.permissions()).map_err(io)?;
    } else if m.is_file() {
        std::fs::copy(from, to).map_err(io)?;
    }
    Ok(())
}

/// Prepare the mounts of a RUN. `stage_dir` makes a directory of another stage's or
/// image's files for a `bind`/`cache` with `from=`.
pub fn prepare(
    mounts: &[(Mount, Option<PathBuf>)],
    workdir: &str,
    src: &Sources<'_>,
    cache_dir: &mut dyn FnMut(&str) -> Result<PathBuf, Error>,
) -> Result<Prepared, Error> {
    let mut p = Prepared::default();
    for (i, (m, from_dir)) in mounts.iter().enumerate() {
        match m.kind {
            MountType::Bind => {
                let target = abs(&m.target, workdir);
                let host = match from_dir {
                    Some(d) => {
                        let rel = image::flatten::Tree::new(vec![d.clone()])
                            .resolve(&m.source, true)
                            .map_err(|e| Error::Io(e.to_string()))?;
                        d.join(rel)
                    }
                    None => {
                        let tree =
                            image::flatten::Tree::new(vec![src.context.root().to_path_buf()]);
                        let rel = tree
                            .resolve(&m.source, true)
                            .map_err(|e| Error::Io(e.to_string()))?;
                        if tree.lookup(&rel).is_none() {
                            return Err(Error::NotFound(format!(
                                "\"/{}\": not found",
                                m.source.trim_start_matches('/')
                            )));
                        }
                        src.context.root().join(rel)
                    }
                };
                // A writable bind gets a copy: what the step writes there is dropped.
                let host = if m.read_only || from_dir.is_some() {
                    host
                } else {
                    let copy = src.scratch.join(format!("bind-{i}"));
                    copy_tree(&host, &copy)?;
                    p.cleanup.push(copy.clone());
                    copy
                };
                p.volumes.push(format!(
                    "{}:{target}{}",
                    host.display(),
                    if m.read_only { ":ro" } else { "" }
                ));
                p.targets.push(target);
            }
            MountType::Cache => {
                let target = abs(&m.target, workdir);
                let id = if m.id.is_empty() {
                    target.clone()
                } else {
                    m.id.clone()
                };
                let dir = cache_dir(&id)?;
                let fresh = std::fs::read_dir(&dir)
                    .map(|mut d| d.next().is_none())
                    .unwrap_or(true);
                if fresh {
                    use std::os::unix::fs::PermissionsExt;
                    let _ = std::fs::set_permissions(
                        &dir,
                        std::fs::Permissions::from_mode(m.mode.unwrap_or(0o755)),
                    );
                    let _ = std::os::unix::fs::chown(
                        &dir,
                        Some(m.uid.unwrap_or(0)),
                        Some(m.gid.unwrap_or(0)),
                    );
                }
                p.volumes.push(format!(
                    "{}:{target}{}",
                    dir.display(),
                    if m.read_only { ":ro" } else { "" }
                ));
                p.targets.push(target);
            }
            MountType::Tmpfs => {
                let target = abs(&m.target, workdir);
                p.tmpfs.push(if m.size_limit > 0 {
                    format!("{target}:size={}", m.size_limit)
                } else {
                    target.clone()
                });
                p.targets.push(target);
            }
            MountType::Secret => {
                let id = if !m.id.is_empty() {
                    m.id.clone()
                } else if !m.source.is_empty() {
                    m.source.clone()
                } else {
                    Path::new(&m.target)
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default()
                };
                let value = match src.secrets.get(&id) {
                    Some(SecretSource::File(f)) => Some(std::fs::read(f).map_err(|e| {
                        Error::Invalid(format!("secret {id}: read {}: {e}", f.display()))
                    })?),
                    Some(SecretSource::Env(v)) => std::env::var(v).ok().map(String::into_bytes),
                    None => None,
                };
                let Some(value) = value else {
                    if m.required {
                        return Err(Error::Invalid(format!("secret {id}: not found")));
                    }
                    continue;
                };
                if let Some(var) = &m.env {
                    p.env
                        .push((var.clone(), String::from_utf8_lossy(&value).into_owned()));
                    if m.target.is_empty() {
                        continue;
                    }
                }
                let target = if m.target.is_empty() {
                    format!("/run/secrets/{id}")
                } else {
                    abs(&m.target, workdir)
                };
                let dir = src.scratch.join(format!("secret-{i}"));
                std::fs::create_dir_all(&dir)
                    .map_err(|e| Error::Io(format!("create {}: {e}", dir.display())))?;
                let file = dir.join("secret");
                std::fs::write(&file, &value)
                    .map_err(|e| Error::Io(format!("write secret: {e}")))?;
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(
                    &file,
                    std::fs::Permissions::from_mode(m.mode.unwrap_or(0o400)),
                );
                let _ = std::os::unix::fs::chown(
                    &file,
                    Some(m.uid.unwrap_or(0)),
                    Some(m.gid.unwrap_or(0)),
                );
                p.cleanup.push(dir);
                p.volumes.push(format!("{}:{target}:ro", file.display()));
                p.targets.push(target);
            }
            MountType::Ssh => {
                let target = if m.target.is_empty() {
                    "/run/buildkit/ssh_agent.0".to_string()
                } else {
                    abs(&m.target, workdir)
                };
                match src.ssh {
                    Some(sock) => {
                        p.volumes.push(format!("{}:{target}", sock.display()));
                        p.env.push(("SSH_AUTH_SOCK".into(), target.clone()));
                        p.targets.push(target);
                    }
                    None if m.required => {
                        return Err(Error::Invalid(
                            "no SSH key \"default\" forwarded from the client: give --ssh default"
                                .into(),
                        ))
                    }
                    None => {}
                }
            }
        }
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_flags() {
        assert_eq!(
            parse_secret("id=tok,src=/tmp/t").expect("ok"),
            ("tok".into(), SecretSource::File("/tmp/t".into()))
        );
        assert_eq!(
            parse_secret("id=tok,env=TOKEN").expect("ok"),
            ("tok".into(), SecretSource::Env("TOKEN".into()))
        );
        assert_eq!(parse_secret("src=/run/x/key.pem").expect("ok").0, "key.pem");
        assert_eq!(
            parse_secret("id=GITHUB_TOKEN").expect("ok"),
            (
                "GITHUB_TOKEN".into(),
                SecretSource::Env("GITHUB_TOKEN".into())
            )
        );
        assert!(parse_secret("bogus").is_err());
    }
}
