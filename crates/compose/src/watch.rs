//! `watch` (and `up --watch`): each service's `develop.watch` rules, run on the files
//! that change under their paths: `sync` copies them into the containers, `rebuild`
//! builds the image and recreates the containers, `restart` restarts them,
//! `sync+restart` and `sync+exec` do both. Changes are found by polling (every 300 ms),
//! which needs no inotify limits and sees bind-mounted and network file systems too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use anyhow::anyhow;

use crate::up::{project_containers, selected, service_of, Ctx};
use crate::yaml::Node;

type Snapshot = BTreeMap<PathBuf, (SystemTime, u64)>;

/// A `*`/`?` pattern against a path relative to the watched root (a pattern without `/`
/// also matches any one component; a directory pattern matches what is under it).
fn glob(pat: &str, text: &str) -> bool {
    fn m(p: &[u8], t: &[u8]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some(b'*'), _) => m(&p[1..], t) || (!t.is_empty() && t[0] != b'/' && m(p, &t[1..])),
            (Some(b'?'), Some(c)) if *c != b'/' => m(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => m(&p[1..], &t[1..]),
            _ => false,
        }
    }
    let pat = pat.trim_end_matches('/');
    let parts: Vec<&str> = text.split('/').collect();
    (0..parts.len()).any(|i| {
        let prefix = parts[..=i].join("/");
        m(pat.as_bytes(), prefix.as_bytes())
            || (!pat.contains('/') && m(pat.as_bytes(), parts[i].as_bytes()))
    })
}

fn scan(root: &Path, ignore: &[String], out: &mut Snapshot) {
    scan_one(root, ignore, root, out)
}

fn scan_one(root: &Path, ignore: &[String], p: &Path, out: &mut Snapshot) {
    let Ok(md) = std::fs::symlink_metadata(p) else {
        return;
    };
    let rel = p
        .strip_prefix(root)
        .unwrap_or(p)
        .to_string_lossy()
        .into_owned();
    if !rel.is_empty() && ignore.iter().any(|g| glob(g, &rel)) {
        return;
    }
    if md.is_dir() {
        if let Ok(rd) = std::fs::read_dir(p) {
            for e in rd.flatten() {
                scan_one(root, ignore, &e.path(), out);
            }
        }
    } else {
        out.insert(
            p.to_path_buf(),
            (md.modified().unwrap_or(SystemTime::UNIX_EPOCH), md.len()),
        );
    }
}

struct Rule {
    service: String,
    path: PathBuf,
    action: String,
    target: String,
    ignore: Vec<String>,
    exec: Vec<String>,
    snap: Snapshot,
}

fn strings(n: Option<&Node>) -> Vec<String> {
    n.and_then(Node::as_seq)
        .map(|s| s.iter().filter_map(Node::scalar_text).collect())
        .unwrap_or_default()
}

/// Copy `file` into the containers of `service` at `target` + its path under `root`.
fn sync(cx: &mut Ctx, service: &str, root: &Path, file: &Path, target: &str) -> anyhow::Result<()> {
    let rel = file.strip_prefix(root).unwrap_or(Path::new(""));
    let dest = if rel.as_os_str().is_empty() {
        PathBuf::from(target)
    } else {
        Path::new(target).join(rel)
    };
    let dir = dest
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or(PathBuf::from("/"));
    let name = dest
        .file_name()
        .map(|s| s.to_os_string())
        .unwrap_or_default();
    let pname = cx.p.name.clone();
    for r in project_containers(&mut cx.eng, &pname, false)? {
        if service_of(&r) != service || !r.state.status.is_up() {
            continue;
        }
        if !file.exists() {
            let _ = crate::up::exec_helper(
                cx,
                &r.id,
                engine::exec::ExecRequest {
                    cmd: vec!["rm".into(), "-rf".into(), dest.display().to_string()],
                    ..Default::default()
                },
            );
            continue;
        }
        let mut b = tar::Builder::new(Vec::new());
        b.follow_symlinks(false);
        b.append_path_with_name(file, &name)?;
        let data = b.into_inner()?;
        // The directory may not exist yet.
        let _ = crate::up::exec_helper(
            cx,
            &r.id,
            engine::exec::ExecRequest {
                cmd: vec!["mkdir".into(), "-p".into(), dir.display().to_string()],
                ..Default::default()
            },
        );
        cx.eng
            .archive_put(
                &r.id,
                &dir.display().to_string(),
                &data[..],
                engine::archive::PutOptions::default(),
            )
            .map_err(|e| anyhow!("sync {} to {}: {e}", file.display(), r.name))?;
    }
    Ok(())
}

/// The `develop.watch` rules of some services, and what their paths held when last seen.
pub struct Watcher {
    rules: Vec<Rule>,
    quiet: bool,
    last: std::time::Instant,
}

impl Watcher {
    /// The rules of `services` (all when empty) and their paths as they are now.
    pub fn new(cx: &mut Ctx, services: &[String], quiet: bool) -> anyhow::Result<Watcher> {
        let names = selected(&cx.p, services, false)?;
        let mut rules: Vec<Rule> = Vec::new();
        for n in &names {
            let svc = cx.service(n)?;
            for t in svc
                .get("develop")
                .and_then(|d| d.get("watch"))
                .and_then(Node::as_seq)
                .cloned()
                .unwrap_or_default()
            {
                let path = PathBuf::from(
                    t.get("path")
                        .and_then(Node::scalar_text)
                        .unwrap_or_default(),
                );
                let mut ignore = strings(t.get("ignore"));
                ignore.push(".git".into());
                let mut snap = Snapshot::new();
                scan(&path, &ignore, &mut snap);
                rules.push(Rule {
                    service: n.clone(),
                    path,
                    action: t
                        .get("action")
                        .and_then(Node::scalar_text)
                        .unwrap_or_default(),
                    target: t
                        .get("target")
                        .and_then(Node::scalar_text)
                        .unwrap_or_default(),
                    ignore,
                    exec: strings(t.get("exec").and_then(|e| e.get("command"))),
                    snap,
                });
            }
        }
        if rules.is_empty() {
            anyhow::bail!("none of the selected services is configured for watch, consider setting a 'develop' section");
        }
        Ok(Watcher {
            rules,
            quiet,
            last: std::time::Instant::now(),
        })
    }

    /// Look for changes (at most every 300 ms) and apply the rules of what changed.
    pub fn tick(&mut self, cx: &mut Ctx) {
        if self.last.elapsed() < Duration::from_millis(300) {
            return;
        }
        self.last = std::time::Instant::now();
        let quiet = self.quiet;
        let rules = &mut self.rules;
        #[allow(clippy::needless_range_loop)] // `cx` is borrowed mutably inside.
        for i in 0..rules.len() {
            let mut now = Snapshot::new();
            scan(&rules[i].path, &rules[i].ignore, &mut now);
            let mut changed: Vec<PathBuf> = now
                .iter()
                .filter(|(p, v)| rules[i].snap.get(*p) != Some(v))
                .map(|(p, _)| p.clone())
                .collect();
            changed.extend(
                rules[i]
                    .snap
                    .keys()
                    .filter(|p| !now.contains_key(*p))
                    .cloned(),
            );
            if changed.is_empty() {
                continue;
            }
            rules[i].snap = now;
            let (svc, action) = (rules[i].service.clone(), rules[i].action.clone());
            if !quiet {
                eprintln!("{action} {} file(s) for service {svc}", changed.len());
            }
            let res: anyhow::Result<()> = (|| {
                if action.starts_with("sync") {
                    for f in &changed {
                        sync(cx, &svc, &rules[i].path, f, &rules[i].target)?;
                    }
                }
                match action.as_str() {
                    "rebuild" => {
                        let node = cx.service(&svc)?;
                        crate::up::build_service(
                            cx,
                            &svc,
                            &node,
                            &Default::default(),
                            false,
                            false,
                            quiet,
                        )?;
                        let u = crate::cli::UpArgs {
                            detach: true,
                            no_deps: true,
                            services: vec![svc.clone()],
                            ..Default::default()
                        };
                        crate::up::up(cx, &u)?;
                    }
                    "restart" | "sync+restart" => {
                        let pname = cx.p.name.clone();
                        for r in project_containers(&mut cx.eng, &pname, false)? {
                            if service_of(&r) == svc {
                                cx.eng.restart(&r.id, None)?;
                            }
                        }
                    }
                    "sync+exec" => {
                        let pname = cx.p.name.clone();
                        for r in project_containers(&mut cx.eng, &pname, false)? {
                            if service_of(&r) == svc && r.state.status.is_up() {
                                crate::up::exec_helper(
                                    cx,
                                    &r.id,
                                    engine::exec::ExecRequest {
                                        cmd: rules[i].exec.clone(),
                                        ..Default::default()
                                    },
                                )?;
                            }
                        }
                    }
                    _ => {}
                }
                Ok(())
            })();
            if let Err(e) = res {
                eprintln!("watch: {e:#}");
            }
        }
    }
}

/// `watch`.
pub fn watch(cx: &mut Ctx, services: &[String], no_up: bool, quiet: bool) -> anyhow::Result<i32> {
    let mut w = Watcher::new(cx, services, quiet)?;
    if !no_up {
        let names = selected(&cx.p, services, false)?;
        let u = crate::cli::UpArgs {
            detach: true,
            services: names,
            ..Default::default()
        };
        crate::up::up(cx, &u)?;
    }
    if !quiet {
        eprintln!("Watch enabled");
    }
    let stop = crate::logs::interrupt_flag();
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
        w.tick(cx);
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn globs() {
        assert!(glob("node_modules/", "node_modules/x/y"));
        assert!(glob("*.tmp", "a/b.tmp"));
        assert!(!glob("*.tmp", "a/b.txt"));
        assert!(glob("build", "build"));
    }
}
