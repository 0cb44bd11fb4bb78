//! Named and anonymous volumes (`local` driver): a directory `<root>/volumes/<name>/_data`,
//! or, with `--opt type=... device=... o=...`, a mount made there when a container uses it.

use std::collections::BTreeMap;

use crate::config::MountKind;
use crate::db::{Db, Volume};
use crate::{Error, Paths, Result};

/// Create a volume; an existing one of that name is returned as it is (Docker's
/// behaviour).
pub fn create(
    paths: &Paths,
    db: &Db,
    name: Option<&str>,
    driver: &str,
    labels: BTreeMap<String, String>,
    options: BTreeMap<String, String>,
    anonymous: bool,
) -> Result<Volume> {
    check_driver(driver, &options)?;
    let name = match name {
        Some(n) => {
            check_name(n)?;
            n.to_string()
        }
        None => crate::random_id()?,
    };
    let v = Volume {
        name: name.clone(),
        driver: driver.into(),
        created: crate::time::now_rfc3339(),
        labels,
        options,
        anonymous,
    };
    let data = paths.volume_data(&name);
    std::fs::create_dir_all(&data).map_err(|e| Error::io("create", &data, e))?;
    if db.insert_volume(&v)? {
        let mut a = BTreeMap::new();
        a.insert("driver".to_string(), "local".to_string());
        db.event("volume", "create", &name, &a)?;
        Ok(v)
    } else {
        db.volume(&name)?.ok_or(Error::NoSuchVolume(name))
    }
}

/// The driver (`local`; empty is `local`) and its options (`type`, `device`, `o`).
pub fn check_driver(driver: &str, options: &BTreeMap<String, String>) -> Result<()> {
    if !driver.is_empty() && driver != "local" {
        return Err(Error::Invalid(format!(
            "volume driver {driver:?} is not supported: only \"local\""
        )));
    }
    for k in options.keys() {
        if !["type", "device", "o"].contains(&k.as_str()) {
            return Err(Error::Invalid(format!(
                "invalid option key: {k:?} (local driver takes type, device, o)"
            )));
        }
    }
    Ok(())
}

/// Docker's volume name rule.
pub fn check_name(n: &str) -> Result<()> {
    let ok = n.len() >= 2
        && n.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "{n:?} includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed"
        )))
    }
}

/// Ids of containers that use a volume.
pub fn users(db: &Db, name: &str) -> Result<Vec<String>> {
    Ok(db
        .list()?
        .into_iter()
        .filter(|r| {
            r.config
                .mounts
                .iter()
                .any(|m| m.kind == MountKind::Volume && m.source == name)
        })
        .map(|r| r.id)
        .collect())
}

/// Remove a volume (refused while a container uses it, unless forced... which Docker also
/// refuses for volumes in use).
pub fn remove(paths: &Paths, db: &Db, name: &str) -> Result<()> {
    crate::reserve::release_if_low(&paths.root);
    if db.volume(name)?.is_none() {
        return Err(Error::NoSuchVolume(name.into()));
    }
    let u = users(db, name)?;
    if !u.is_empty() {
        return Err(Error::Conflict(format!(
            "remove {name}: volume is in use - [{}]",
            u.join(", ")
        )));
    }
    let dir = paths.root.join("volumes").join(name);
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io("remove", dir, e)),
    }
    db.delete_volume(name)?;
    db.event("volume", "destroy", name, &BTreeMap::new())?;
    Ok(())
}

/// Remove unused volumes that pass a prune's filters (anonymous ones only, unless
/// `all=true`), returning their names and the bytes they held.
pub fn prune(paths: &Paths, db: &Db, f: &crate::filters::Filters) -> Result<(Vec<String>, u64)> {
    f.check_prune(&["all"])?;
    let all = f.flag("all")?;
    let mut out = Vec::new();
    let mut freed = 0;
    for v in db.volumes()? {
        if (all || v.anonymous)
            && users(db, &v.name)?.is_empty()
            && f.prune_match(&v.labels, &v.created)?
        {
            let size = dir_size(&paths.volume_data(&v.name));
            remove(paths, db, &v.name)?;
            freed += size;
            out.push(v.name);
        }
    }
    Ok((out, freed))
}

/// Bytes under a directory as Docker counts them (`system df`, a container's `SizeRw`,
/// `volume inspect`): the sizes of what is not a directory, a hard-linked file once.
pub fn dir_size(p: &std::path::Path) -> u64 {
    let mut seen = std::collections::HashSet::new();
    apparent_size(p, &mut seen)
}

fn apparent_size(p: &std::path::Path, seen: &mut std::collections::HashSet<(u64, u64)>) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(rd) = std::fs::read_dir(p) else {
        return 0;
    };
    let mut sum = 0;
    for e in rd.flatten() {
        // `DirEntry::metadata` does not follow a symlink: its own size counts.
        match e.metadata() {
            Ok(m) if m.is_dir() => sum += apparent_size(&e.path(), seen),
            Ok(m) if seen.insert((m.dev(), m.ino())) => sum += m.size(),
            _ => {}
        }
    }
    sum
}
