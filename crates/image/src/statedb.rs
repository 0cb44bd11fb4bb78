//! Opening `<root>/state.db`, the SQLite file the image store and the engine share.
//!
//! Every quai command is a process of its own, and many may open a fresh root at once
//! (parallel pulls). Two steps of the first open write the file in a way SQLite's busy
//! handler cannot wait for: switching to WAL reads the header and then upgrades to a write
//! in the same transaction (a reader that must upgrade gets `SQLITE_BUSY` at once, not
//! after the busy timeout), and creating tables races with the other openers doing the
//! same. So a root that is not set up yet is set up under an exclusive file lock
//! (`state.db.lock`), one process at a time; once it is (WAL, every table there), opening
//! takes no lock and writes nothing.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;

/// How long a connection waits for another's lock before `database is locked`.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// Why `state.db` could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// SQLite.
    #[error("open database {path}: {source}")]
    Db {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// SQLite kept another journal mode (a file system without shared memory).
    #[error("open database {path}: journal_mode=WAL left it in {mode} mode")]
    NotWal { path: PathBuf, mode: String },
    /// The set-up lock file.
    #[error("{op} {path}: {source}")]
    Lock {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Open `<root>/state.db` with quai's connection settings (busy timeout, WAL with
/// `synchronous=NORMAL`, no checkpoint on close, foreign keys enforced), creating `tables`
/// with `schema` (`CREATE TABLE IF NOT EXISTS ...` statements) when any is missing.
pub fn open(root: &Path, schema: &str, tables: &[&str]) -> Result<Connection, OpenError> {
    let path = root.join("state.db");
    let dberr = |source| OpenError::Db {
        path: path.clone(),
        source,
    };
    let conn = Connection::open(&path).map_err(dberr)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(dberr)?;
    // Short-lived processes share this file: no fsync per commit, no checkpoint on close
    // (SQLite checkpoints on its own when the WAL grows; see docs/adr/007).
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
        true,
    )
    .map_err(dberr)?;
    conn.execute_batch("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;")
        .map_err(dberr)?;
    if !is_set_up(&conn, tables).map_err(dberr)? {
        set_up(&conn, root, schema)?;
    }
    Ok(conn)
}

/// WAL already, and every table there (reads only: these wait on the busy handler).
fn is_set_up(conn: &Connection, tables: &[&str]) -> rusqlite::Result<bool> {
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Ok(false);
    }
    let mut stmt =
        conn.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1")?;
    for t in tables {
        if !stmt.exists([t])? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Switch to WAL and create the tables, holding the set-up lock.
fn set_up(conn: &Connection, root: &Path, schema: &str) -> Result<(), OpenError> {
    let db_path = root.join("state.db");
    let lock_path = root.join("state.db.lock");
    let lockerr = |op| {
        let path = lock_path.clone();
        move |source| OpenError::Lock { op, path, source }
    };
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(lockerr("open"))?;
    f.lock().map_err(lockerr("lock"))?;
    let dberr = |source| OpenError::Db {
        path: db_path.clone(),
        source,
    };
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .map_err(dberr)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(OpenError::NotWal {
            path: db_path.clone(),
            mode,
        });
    }
    conn.execute_batch(schema).map_err(dberr)?;
    // The lock goes with the file.
    drop(f);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS a (x TEXT PRIMARY KEY);
                          CREATE TABLE IF NOT EXISTS b (y TEXT REFERENCES a(x));";

    /// Run by [`fresh_roots_opened_by_many_processes_at_once`] in child processes: open
    /// the root named by the environment (and nothing when it is not set).
    #[test]
    fn child_opens_the_root() {
        if let Some(root) = std::env::var_os("QUAI_STATEDB_TEST_ROOT") {
            open(Path::new(&root), SCHEMA, &["a", "b"]).expect("open");
        }
    }

    #[test]
    fn fresh_roots_opened_by_many_processes_at_once() {
        let exe = std::env::current_exe().expect("test binary");
        for _ in 0..20 {
            let tmp = tempfile::tempdir().expect("tmp");
            let children: Vec<_> = (0..12)
                .map(|_| {
                    std::process::Command::new(&exe)
                        .args(["--exact", "statedb::tests::child_opens_the_root"])
                        .env("QUAI_STATEDB_TEST_ROOT", tmp.path())
                        .stdout(std::process::Stdio::piped())
                        .stderr(std::process::Stdio::piped())
                        .spawn()
                        .expect("spawn")
                })
                .collect();
            for c in children {
                let out = c.wait_with_output().expect("wait");
                // libtest reports a failed test's panic on its stdout.
                assert!(
                    out.status.success(),
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            let c = open(tmp.path(), SCHEMA, &["a", "b"]).expect("open");
            let mode: String = c
                .query_row("PRAGMA journal_mode", [], |r| r.get(0))
                .expect("mode");
            assert_eq!(mode, "wal");
            assert!(is_set_up(&c, &["a", "b"]).expect("check"));
            assert!(!is_set_up(&c, &["a", "b", "c"]).expect("check"));
        }
    }
}
