//! Helpers every command group uses: running a verb over several names as docker does,
//! the prune confirmation, `KEY=VALUE` lists, and the volume document (`volume inspect`
//! and `inspect` of a volume).

use std::collections::BTreeMap;

use engine::db::Volume;
use engine::lifecycle::Engine;
use serde_json::Value;

/// Run `f` on each name: print the name on success, docker's error line otherwise; exit 1
/// if any failed.
pub fn each(
    names: &[String],
    mut f: impl FnMut(&str) -> engine::Result<()>,
) -> anyhow::Result<i32> {
    let mut code = 0;
    for n in names {
        match f(n) {
            Ok(()) => println!("{n}"),
            Err(e) => {
                eprintln!("Error: {e}");
                code = 1;
            }
        }
    }
    Ok(code)
}

/// `KEY=VALUE` flags (`--label`, `-o`) as a map.
pub(crate) fn kv(list: &[String]) -> BTreeMap<String, String> {
    list.iter()
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap_or((l.as_str(), ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// Docker's `volume inspect` document.
pub fn volume_json(eng: &Engine, v: &Volume) -> Value {
    engine::docker::volume_inspect(eng, v)
}

/// Docker's prune prompt, unless `--force`.
pub(crate) fn confirm(force: bool, what: &str) -> anyhow::Result<bool> {
    if force {
        return Ok(true);
    }
    eprint!("WARNING! This will remove {what}.\nAre you sure you want to continue? [y/N] ");
    let mut s = String::new();
    std::io::stdin().read_line(&mut s)?;
    Ok(s.trim().eq_ignore_ascii_case("y"))
}

/// A default format from docker's client config (`$DOCKER_CONFIG/config.json`, else
/// `~/.docker/config.json`): `psFormat`, `imagesFormat`, `statsFormat`, ... None when
/// the file or the key is missing.
pub fn config_format(key: &str) -> Option<String> {
    let dir = std::env::var_os("DOCKER_CONFIG")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".docker")))?;
    let text = std::fs::read_to_string(dir.join("config.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v[key]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// An I/O error as Go words it (`no such file or directory`), without Rust's
/// `(os error N)`.
pub(crate) fn go_io(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::IsADirectory => "is a directory".into(),
        _ => {
            let s = e.to_string();
            match s.find(" (os error") {
                Some(i) => s[..i].to_lowercase(),
                None => s,
            }
        }
    }
}
