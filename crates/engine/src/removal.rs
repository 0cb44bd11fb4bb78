//! Removing a container: crash-safe by construction (marked `removing` first, the
//! directory next, the record last, its anonymous volumes after it), so a removal cut short
//! by a kill leaves a record that the next listing finishes, never a directory that no
//! record names (docs/adr/010). Used by `rm`, by a `--rm` container's monitor, and by the
//! listing that finishes what a dead command began.

use crate::config::ContainerStatus;
use crate::db::{Db, Record};
use crate::{Error, Paths, Result};

/// Remove a stopped container's files, anonymous volumes (with `volumes`), socket and
/// row. The root is unmounted first (it is mounted only in the monitor's namespace).
pub fn remove_files(paths: &Paths, db: &mut Db, rec: &Record, volumes: bool) -> Result<()> {
    // Crash-safe: marked first, the record goes last, so a removal cut short by a kill
    // leaves a "removing" record that the next listing finishes (`finish_removals`),
    // never a directory that no record names.
    crate::reserve::release_if_low(&paths.root);
    match db.update_state(&rec.id, |s| s.status = ContainerStatus::Removing) {
        Ok(_) => {}
        Err(Error::NoSuchContainer(_)) => return Ok(()),
        Err(e) => return Err(e),
    }
    let dir = paths.container(&rec.id);
    let _ = nix::mount::umount2(&dir.join("merged"), nix::mount::MntFlags::MNT_DETACH);
    let _ = std::fs::remove_file(paths.socket(&rec.id));
    if let Err(e) = std::fs::remove_dir_all(&dir) {
        if e.kind() != std::io::ErrorKind::NotFound {
            // The record stays, marked: the next `rm` or listing tries again.
            return Err(Error::io("remove", &dir, e));
        }
    }
    db.delete(&rec.id)?;
    crate::lock::forget(paths, &rec.id);
    let _ = db.event("container", "destroy", &rec.id, &rec.event_attrs());
    // Its anonymous volumes last: once the record is gone nothing uses them (a crash
    // here leaves them dangling, listed and prunable).
    let mut errors = Vec::new();
    if volumes {
        for m in rec.config.mounts.iter().filter(|m| m.anonymous) {
            if let Err(e) = crate::volumes::remove(paths, db, &m.source) {
                errors.push(e);
            }
        }
    }
    match errors.len() {
        0 => Ok(()),
        1 => Err(errors.remove(0)),
        _ => Err(Error::Several(errors)),
    }
}
