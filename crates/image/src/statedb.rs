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

use rusqlite::{Connection, OptionalExtension};

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
    /// A migration failed (the database is left as it was).
    #[error("upgrade database {path}: {component} to version {to}: {source}")]
    Migration {
        path: PathBuf,
        component: &'static str,
        to: usize,
        #[source]
        source: rusqlite::Error,
    },
    /// A newer quai wrote this database.
    #[error("database {path} was written by a newer quai ({component} schema version {have}; this one knows up to {know})")]
    Newer {
        path: PathBuf,
        component: &'static str,
        have: usize,
        know: usize,
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

/// A part of quai that keeps tables in `state.db` (the image store, the engine) and
/// registers them here: its migrations in order, migration `i` taking it from version `i`
/// to `i + 1` (version 0: none of its tables). The first migration of each part is the
/// schema of the release before versioning, written with `IF NOT EXISTS`, so a database
/// from that release takes version 1 without a change. Migrations only ever append.
#[derive(Debug)]
pub struct Component {
    /// Its name in `schema_versions`.
    pub name: &'static str,
    /// Its migrations, oldest first.
    pub migrations: &'static [&'static str],
}

/// The file's own format (`PRAGMA user_version`): 1 since parts record their versions
/// in `schema_versions`.
const FILE_FORMAT: i64 = 1;

/// Open `<root>/state.db` with quai's connection settings (busy timeout, WAL with
/// `synchronous=NORMAL`, no checkpoint on close, foreign keys enforced), bringing every
/// part in `parts` to its newest version. A database some part of which is newer than
/// this binary knows is refused: its data would be misread.
pub fn open(root: &Path, parts: &[&Component]) -> Result<Connection, OpenError> {
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
    // Every process that opens the file first reads the whole WAL back (it is the
    // first connection: SQLite rebuilds its index): 1.2 ms at SQLite's default 4 MB
    // before a checkpoint, against 0.3 ms at 1 MB.
    conn.execute_batch(
        "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA wal_autocheckpoint=256;",
    )
    .map_err(dberr)?;
    if !is_current(&conn, root, parts)? {
        set_up(&conn, root, parts)?;
    }
    Ok(conn)
}

/// A part's recorded version (0 when it has none yet).
fn version(conn: &Connection, part: &str) -> rusqlite::Result<usize> {
    conn.query_row(
        "SELECT version FROM schema_versions WHERE component = ?1",
        [part],
        |r| r.get::<_, i64>(0),
    )
    .optional()
    .map(|v| v.map_or(0, |v| v.max(0) as usize))
}

fn newer(root: &Path, part: &Component, have: usize) -> OpenError {
    OpenError::Newer {
        path: root.join("state.db"),
        component: part.name,
        have,
        know: part.migrations.len(),
    }
}

/// WAL already, and every part at its newest version (reads only: these wait on the busy
/// handler).
fn is_current(conn: &Connection, root: &Path, parts: &[&Component]) -> Result<bool, OpenError> {
    let dberr = |source| OpenError::Db {
        path: root.join("state.db"),
        source,
    };
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .map_err(dberr)?;
    let format: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(dberr)?;
    if !mode.eq_ignore_ascii_case("wal") || format < FILE_FORMAT {
        return Ok(false);
    }
    for p in parts {
        let v = version(conn, p.name).map_err(dberr)?;
        if v > p.migrations.len() {
            return Err(newer(root, p, v));
        }
        if v < p.migrations.len() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Switch to WAL and run the missing migrations in one transaction, holding the set-up
/// lock (one process at a time).
fn set_up(conn: &Connection, root: &Path, parts: &[&Component]) -> Result<(), OpenError> {
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
    conn.execute_batch(
        "BEGIN IMMEDIATE;
         CREATE TABLE IF NOT EXISTS schema_versions (
             component TEXT PRIMARY KEY,
             version INTEGER NOT NULL
         );",
    )
    .map_err(dberr)?;
    let migrate = || -> Result<(), OpenError> {
        for p in parts {
            let have = version(conn, p.name).map_err(dberr)?;
            if have > p.migrations.len() {
                return Err(newer(root, p, have));
            }
            for (i, m) in p.migrations.iter().enumerate().skip(have) {
                conn.execute_batch(m)
                    .map_err(|source| OpenError::Migration {
                        path: db_path.clone(),
                        component: p.name,
                        to: i + 1,
                        source,
                    })?;
            }
            conn.execute(
                "INSERT INTO schema_versions (component, version) VALUES (?1, ?2)
                 ON CONFLICT(component) DO UPDATE SET version = excluded.version",
                rusqlite::params![p.name, p.migrations.len() as i64],
            )
            .map_err(dberr)?;
        }
        conn.execute_batch(&format!("PRAGMA user_version = {FILE_FORMAT}; COMMIT;"))
            .map_err(dberr)
    };
    let res = migrate();
    if res.is_err() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    // The lock goes with the file.
    drop(f);
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    const PART: Component = Component {
        name: "test",
        migrations: &["CREATE TABLE IF NOT EXISTS a (x TEXT PRIMARY KEY);
                       CREATE TABLE IF NOT EXISTS b (y TEXT REFERENCES a(x));"],
    };

    /// Run by [`fresh_roots_opened_by_many_processes_at_once`] in child processes: open
    /// the root named by the environment (and nothing when it is not set).
    #[test]
    fn child_opens_the_root() {
        if let Some(root) = std::env::var_os("QUAI_STATEDB_TEST_ROOT") {
            open(Path::new(&root), &[&PART]).expect("open");
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
            let c = open(tmp.path(), &[&PART]).expect("open");
            let mode: String = c
                .query_row("PRAGMA journal_mode", [], |r| r.get(0))
                .expect("mode");
            assert_eq!(mode, "wal");
            assert!(is_current(&c, tmp.path(), &[&PART]).expect("check"));
            assert_eq!(version(&c, "test").expect("version"), 1);
        }
    }

    #[test]
    fn migrations_run_in_order_once_and_newer_databases_are_refused() {
        let tmp = tempfile::tempdir().expect("tmp");
        // A database of the release before versioning: the tables, no versions.
        {
            let c = Connection::open(tmp.path().join("state.db")).expect("db");
            c.execute_batch(
                "CREATE TABLE a (x TEXT PRIMARY KEY); CREATE TABLE b (y TEXT REFERENCES a(x));
                 INSERT INTO a VALUES ('kept');",
            )
            .expect("old schema");
        }
        let c = open(tmp.path(), &[&PART]).expect("open old");
        let kept: String = c
            .query_row("SELECT x FROM a", [], |r| r.get(0))
            .expect("row");
        assert_eq!(kept, "kept");
        assert_eq!(version(&c, "test").expect("v"), 1);
        drop(c);
        // Version 2 adds a column; 3 fills it. Both run, in order, once.
        const V3: Component = Component {
            name: "test",
            migrations: &[
                PART.migrations[0],
                "ALTER TABLE a ADD COLUMN n INTEGER NOT NULL DEFAULT 0;",
                "UPDATE a SET n = n + 1;",
            ],
        };
        for _ in 0..2 {
            let c = open(tmp.path(), &[&V3]).expect("open v3");
            let n: i64 = c
                .query_row("SELECT n FROM a WHERE x = 'kept'", [], |r| r.get(0))
                .expect("n");
            assert_eq!(n, 1, "migration 3 ran once");
            assert_eq!(version(&c, "test").expect("v"), 3);
        }
        // The older binary (knowing version 1) refuses the newer database.
        let e = open(tmp.path(), &[&PART]).expect_err("newer");
        assert!(e.to_string().contains("written by a newer quai"), "{e}");
        // A failing migration leaves the database as it was.
        const BAD: Component = Component {
            name: "test",
            migrations: &[
                PART.migrations[0],
                "ALTER TABLE a ADD COLUMN n INTEGER NOT NULL DEFAULT 0;",
                "UPDATE a SET n = n + 1;",
                "ALTER TABLE a ADD COLUMN m INTEGER; SELECT no_such_function();",
            ],
        };
        assert!(open(tmp.path(), &[&BAD]).is_err());
        let c = open(tmp.path(), &[&V3]).expect("still v3");
        assert_eq!(version(&c, "test").expect("v"), 3);
        let cols: i64 = c
            .query_row(
                "SELECT COUNT(*) FROM pragma_table_info('a') WHERE name = 'm'",
                [],
                |r| r.get(0),
            )
            .expect("cols");
        assert_eq!(cols, 0, "the failed migration was rolled back");
    }
}
