//! The engine's tables in `state.db` (SQLite, WAL; shared with the image store):
//! containers, volumes and events. Every read-modify-write runs in an IMMEDIATE transaction,
//! so many quai processes (CLIs and monitors) can work at once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};

use crate::config::{ContainerConfig, ContainerState};
use crate::{Error, Result};

/// A container row.
#[derive(Debug, Clone)]
pub struct Record {
    /// 64 hex digits.
    pub id: String,
    /// Unique name (without Docker's leading `/`).
    pub name: String,
    /// RFC 3339.
    pub created: String,
    /// How it was created.
    pub config: ContainerConfig,
    /// What it is doing.
    pub state: ContainerState,
}

impl Record {
    /// The attributes its events carry (Docker's: name, image, labels).
    pub fn event_attrs(&self) -> BTreeMap<String, String> {
        let mut a = BTreeMap::new();
        a.insert("name".into(), self.name.clone());
        a.insert("image".into(), self.config.image.clone());
        for (k, v) in &self.config.labels {
            a.insert(k.clone(), v.clone());
        }
        a
    }
}

/// A volume row.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Volume {
    /// Name (64 hex digits for anonymous volumes).
    pub name: String,
    /// `local`.
    pub driver: String,
    /// RFC 3339.
    pub created: String,
    /// `--label`.
    pub labels: BTreeMap<String, String>,
    /// `--opt` (`type`, `device`, `o` for the local driver).
    pub options: BTreeMap<String, String>,
    /// Created for one container.
    pub anonymous: bool,
}

/// An event row.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Event {
    /// Order of arrival.
    pub seq: i64,
    /// Nanoseconds since the epoch.
    pub time: i64,
    /// `container`, `volume`, `image`.
    pub kind: String,
    /// `create`, `start`, `die`, `destroy`, `health_status: healthy`, ...
    pub action: String,
    /// The object's id.
    pub id: String,
    /// `name`, `image`, `exitCode`, labels.
    pub attributes: BTreeMap<String, String>,
}

/// The engine's database handle.
pub struct Db {
    conn: Connection,
    path: PathBuf,
}

/// The engine's tables in `state.db`, registered with `image::statedb`.
pub const COMPONENT: image::statedb::Component = image::statedb::Component {
    name: "engine",
    migrations: &[V1],
};

/// Version 1: the schema of the release before versioning.
const V1: &str = "
CREATE TABLE IF NOT EXISTS containers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL,
    config TEXT NOT NULL,   -- ContainerConfig JSON
    state TEXT NOT NULL     -- ContainerState JSON
);
CREATE TABLE IF NOT EXISTS volumes (
    name TEXT PRIMARY KEY,
    record TEXT NOT NULL    -- Volume JSON
);
CREATE TABLE IF NOT EXISTS networks (
    name TEXT PRIMARY KEY,
    record TEXT NOT NULL    -- network::Network JSON
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    time INTEGER NOT NULL,
    kind TEXT NOT NULL,
    action TEXT NOT NULL,
    id TEXT NOT NULL,
    attributes TEXT NOT NULL
);";

impl Db {
    /// Open (creating the tables) `<root>/state.db`.
    pub fn open(root: &Path) -> Result<Db> {
        std::fs::create_dir_all(root).map_err(|e| Error::io("create", root, e))?;
        let path = root.join("state.db");
        // WAL with synchronous=NORMAL: a commit survives a killed process (the case that
        // matters for a daemonless engine) without an fsync per state change; a power
        // loss may lose the last transitions, never corrupt the file (docs/adr/007). A
        // fresh root is set up by one process at a time (see `image::statedb`).
        let conn = image::statedb::open(root, &[&image::store::COMPONENT, &COMPONENT])?;
        Ok(Db { conn, path })
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> Error + '_ {
        move |e| Error::db(&self.path, e)
    }

    /// Insert a new container; a taken name is a conflict naming its owner.
    pub fn insert(&self, r: &Record) -> Result<()> {
        let res = self.conn.execute(
            "INSERT INTO containers (id, name, created, config, state) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                r.id,
                r.name,
                r.created,
                to_json(&r.config)?,
                to_json(&r.state)?
            ],
        );
        match res {
            Ok(_) => Ok(()),
            Err(rusqlite::Error::SqliteFailure(f, _))
                if f.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                let owner = self.find_exact(&r.name)?.map(|o| o.id).unwrap_or_default();
                Err(name_in_use(&r.name, &owner))
            }
            Err(e) => Err(Error::db(&self.path, e)),
        }
    }

    /// No container has the name `name` (Docker's conflict, naming the owner, if one has).
    pub fn check_name_free(&self, name: &str) -> Result<()> {
        let owner: Option<String> = self
            .conn
            .query_row(
                "SELECT id FROM containers WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err())?;
        match owner {
            Some(id) => Err(name_in_use(name, &id)),
            None => Ok(()),
        }
    }

    fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, String, String, String, String)> {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    }

    fn record(&self, t: (String, String, String, String, String)) -> Result<Record> {
        let config = serde_json::from_str(&t.3)
            .map_err(|e| Error::Corrupt(format!("container {} config: {e}", t.0)))?;
        let state = serde_json::from_str(&t.4)
            .map_err(|e| Error::Corrupt(format!("container {} state: {e}", t.0)))?;
        Ok(Record {
            id: t.0,
            name: t.1,
            created: t.2,
            config,
            state,
        })
    }

    fn find_exact(&self, what: &str) -> Result<Option<Record>> {
        let t = self
            .conn
            .query_row(
                "SELECT id, name, created, config, state FROM containers WHERE id = ?1 OR name = ?1",
                params![what],
                Self::row,
            )
            .optional()
            .map_err(self.err())?;
        t.map(|t| self.record(t)).transpose()
    }

    /// Find a container by full id, name (with or without `/`) or unique id prefix.
    pub fn get(&self, what: &str) -> Result<Record> {
        let what = what.strip_prefix('/').unwrap_or(what);
        if let Some(r) = self.find_exact(what)? {
            return Ok(r);
        }
        if !what.is_empty() && what.chars().all(|c| c.is_ascii_hexdigit()) {
            let mut st = self
                .conn
                .prepare("SELECT id, name, created, config, state FROM containers WHERE id LIKE ?1")
                .map_err(self.err())?;
            let rows: Vec<_> = st
                .query_map(params![format!("{what}%")], Self::row)
                .map_err(self.err())?
                .collect::<rusqlite::Result<_>>()
                .map_err(self.err())?;
            match rows.len() {
                1 => return self.record(rows.into_iter().next().expect("one row")),
                0 => {}
                _ => {
                    return Err(Error::Conflict(format!(
                        "multiple containers found with provided prefix: {what}"
                    )))
                }
            }
        }
        Err(Error::NoSuchContainer(what.to_string()))
    }

    /// All containers, newest first.
    pub fn list(&self) -> Result<Vec<Record>> {
        let mut st = self
            .conn
            .prepare("SELECT id, name, created, config, state FROM containers ORDER BY created DESC, rowid DESC")
            .map_err(self.err())?;
        let rows: Vec<_> = st
            .query_map([], Self::row)
            .map_err(self.err())?
            .collect::<rusqlite::Result<_>>()
            .map_err(self.err())?;
        let all = rows.into_iter().map(|t| self.record(t)).collect();
        self.release_memory();
        all
    }

    /// Give the connection's page cache back to the allocator; the next query reads what
    /// it needs again (from the OS page cache).
    ///
    /// A read of every row (`list`, `update_states`) calls it at its end: SQLite keeps the
    /// pages it went through (4.3 kB blocks, up to 2 MB), and on the heap they lie between
    /// the rows' strings. Freed later, once a long-lived process (a monitor allocating an
    /// address) has put new allocations into the gaps the rows left, they become free
    /// blocks that `malloc_trim` cannot return (few hold a whole aligned page): an idle
    /// monitor kept about 1.6 kB per container on the host. Freed with the rows, they
    /// coalesce. An idle monitor calls it again before trimming its heap.
    pub fn release_memory(&self) {
        let _ = self.conn.release_memory();
    }

    /// Read-modify-write a container's state atomically; returns the new state. On a full
    /// disk it gives up quai's reserve (crate::reserve) and tries once more: an exit code
    /// or a removal must be recorded.
    pub fn update_state(
        &mut self,
        id: &str,
        mut f: impl FnMut(&mut ContainerState),
    ) -> Result<ContainerState> {
        match self.update_state_once(id, &mut f) {
            Err(e) if e.is_disk_full() => {
                if let Some(root) = self.path.parent() {
                    crate::reserve::release(root);
                }
                self.update_state_once(id, &mut f)
            }
            r => r,
        }
    }

    fn update_state_once(
        &mut self,
        id: &str,
        f: &mut impl FnMut(&mut ContainerState),
    ) -> Result<ContainerState> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| Error::db(&path, e))?;
        let s: Option<String> = tx
            .query_row(
                "SELECT state FROM containers WHERE id = ?1",
                params![id],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| Error::db(&path, e))?;
        let Some(s) = s else {
            return Err(Error::NoSuchContainer(id.to_string()));
        };
        let mut state: ContainerState = serde_json::from_str(&s)
            .map_err(|e| Error::Corrupt(format!("container {id} state: {e}")))?;
        f(&mut state);
        tx.execute(
            "UPDATE containers SET state = ?2 WHERE id = ?1",
            params![id, to_json(&state)?],
        )
        .map_err(|e| Error::db(&path, e))?;
        tx.commit().map_err(|e| Error::db(&path, e))?;
        Ok(state)
    }

    /// Read-modify-write the states of all containers in one IMMEDIATE transaction
    /// (`f` gets `(id, state)` pairs; changed states are written back).
    pub fn update_states<T>(
        &mut self,
        f: impl FnOnce(&mut Vec<(String, ContainerState)>) -> T,
    ) -> Result<T> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| Error::db(&path, e))?;
        let rows: Vec<(String, String)> = {
            let mut st = tx
                .prepare("SELECT id, state FROM containers")
                .map_err(|e| Error::db(&path, e))?;
            let rows = st
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(|e| Error::db(&path, e))?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(|e| Error::db(&path, e))?;
            rows
        };
        let mut states = Vec::with_capacity(rows.len());
        for (id, s) in &rows {
            let st: ContainerState = serde_json::from_str(s)
                .map_err(|e| Error::Corrupt(format!("container {id} state: {e}")))?;
            states.push((id.clone(), st));
        }
        let before = states.clone();
        let out = f(&mut states);
        for ((id, st), (_, old)) in states.iter().zip(before.iter()) {
            if st != old {
                tx.execute(
                    "UPDATE containers SET state = ?2 WHERE id = ?1",
                    params![id, to_json(st)?],
                )
                .map_err(|e| Error::db(&path, e))?;
            }
        }
        tx.commit().map_err(|e| Error::db(&path, e))?;
        self.release_memory();
        Ok(out)
    }

    /// Replace a container's config.
    pub fn set_config(&self, id: &str, c: &ContainerConfig) -> Result<()> {
        self.conn
            .execute(
                "UPDATE containers SET config = ?2 WHERE id = ?1",
                params![id, to_json(c)?],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// Rename a container.
    pub fn rename(&self, id: &str, name: &str) -> Result<()> {
        match self.conn.execute(
            "UPDATE containers SET name = ?2 WHERE id = ?1",
            params![id, name],
        ) {
            Ok(_) => Ok(()),
            Err(rusqlite::Error::SqliteFailure(f, _))
                if f.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Err(Error::Conflict(format!(
                    "the container name \"/{name}\" is already in use"
                )))
            }
            Err(e) => Err(Error::db(&self.path, e)),
        }
    }

    /// Delete a container row.
    pub fn delete(&self, id: &str) -> Result<()> {
        self.conn
            .execute("DELETE FROM containers WHERE id = ?1", params![id])
            .map_err(self.err())?;
        Ok(())
    }

    /// Insert a volume; false when one by that name exists.
    pub fn insert_volume(&self, v: &Volume) -> Result<bool> {
        let n = self
            .conn
            .execute(
                "INSERT OR IGNORE INTO volumes (name, record) VALUES (?1, ?2)",
                params![v.name, to_json(v)?],
            )
            .map_err(self.err())?;
        Ok(n == 1)
    }

    /// A volume by name.
    pub fn volume(&self, name: &str) -> Result<Option<Volume>> {
        let s: Option<String> = self
            .conn
            .query_row(
                "SELECT record FROM volumes WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err())?;
        s.map(|s| {
            serde_json::from_str(&s).map_err(|e| Error::Corrupt(format!("volume {name}: {e}")))
        })
        .transpose()
    }

    /// All volumes, by name.
    pub fn volumes(&self) -> Result<Vec<Volume>> {
        let mut st = self
            .conn
            .prepare("SELECT name, record FROM volumes ORDER BY name")
            .map_err(self.err())?;
        let rows: Vec<(String, String)> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(self.err())?
            .collect::<rusqlite::Result<_>>()
            .map_err(self.err())?;
        rows.into_iter()
            .map(|(n, s)| {
                serde_json::from_str(&s).map_err(|e| Error::Corrupt(format!("volume {n}: {e}")))
            })
            .collect()
    }

    /// Delete a volume row.
    pub fn delete_volume(&self, name: &str) -> Result<()> {
        self.conn
            .execute("DELETE FROM volumes WHERE name = ?1", params![name])
            .map_err(self.err())?;
        Ok(())
    }

    /// Insert a network record; false when the name is taken.
    pub fn insert_network(&self, name: &str, json: &str) -> Result<bool> {
        let n = self
            .conn
            .execute(
                "INSERT OR IGNORE INTO networks (name, record) VALUES (?1, ?2)",
                params![name, json],
            )
            .map_err(self.err())?;
        Ok(n == 1)
    }

    /// All network records (name, JSON), by name.
    pub fn network_rows(&self) -> Result<Vec<(String, String)>> {
        let mut st = self
            .conn
            .prepare("SELECT name, record FROM networks ORDER BY name")
            .map_err(self.err())?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(self.err())?
            .collect::<rusqlite::Result<Vec<(String, String)>>>()
            .map_err(self.err())?;
        Ok(rows)
    }

    /// Delete a network record.
    pub fn delete_network(&self, name: &str) -> Result<()> {
        self.conn
            .execute("DELETE FROM networks WHERE name = ?1", params![name])
            .map_err(self.err())?;
        Ok(())
    }

    /// Record an event.
    pub fn event(
        &self,
        kind: &str,
        action: &str,
        id: &str,
        attributes: &BTreeMap<String, String>,
    ) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO events (time, kind, action, id, attributes) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![crate::time::now_nanos(), kind, action, id, to_json(attributes)?],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// Events after `seq` with `time >= since`, in order.
    pub fn events(&self, after_seq: i64, since: i64) -> Result<Vec<Event>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT seq, time, kind, action, id, attributes FROM events WHERE seq > ?1 AND time >= ?2 ORDER BY seq",
            )
            .map_err(self.err())?;
        let rows: Vec<(i64, i64, String, String, String, String)> = st
            .query_map(params![after_seq, since], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })
            .map_err(self.err())?
            .collect::<rusqlite::Result<_>>()
            .map_err(self.err())?;
        Ok(rows
            .into_iter()
            .map(|(seq, time, kind, action, id, a)| Event {
                seq,
                time,
                kind,
                action,
                id,
                attributes: serde_json::from_str(&a).unwrap_or_default(),
            })
            .collect())
    }

    /// The highest event sequence number so far.
    pub fn last_event(&self) -> Result<i64> {
        self.conn
            .query_row("SELECT coalesce(max(seq), 0) FROM events", [], |r| r.get(0))
            .map_err(self.err())
    }
}

/// Docker's conflict for a taken container name.
fn name_in_use(name: &str, owner: &str) -> Error {
    Error::Conflict(format!(
        "the container name \"/{name}\" is already in use by container \"{owner}\". You have to remove (or rename) that container to be able to reuse that name"
    ))
}

fn to_json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Corrupt(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `state.db` written by the release before schema versions (its exact schema and
    /// a record of that time) opens, keeps its data and takes the newest version of each
    /// part (engine 1; image 2, the build cache).
    #[test]
    fn a_database_from_before_versioning_opens_and_keeps_its_data() {
        let tmp = tempfile::tempdir().expect("tmp");
        {
            let c = Connection::open(tmp.path().join("state.db")).expect("db");
            c.execute_batch(
                "PRAGMA journal_mode=WAL;
                 CREATE TABLE images (id TEXT PRIMARY KEY, manifest TEXT NOT NULL,
                     created TEXT NOT NULL, size INTEGER NOT NULL);
                 CREATE TABLE tags (name TEXT PRIMARY KEY,
                     image TEXT NOT NULL REFERENCES images(id));
                 CREATE TABLE digests (name TEXT PRIMARY KEY,
                     image TEXT NOT NULL REFERENCES images(id));
                 CREATE TABLE containers (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE,
                     created TEXT NOT NULL, config TEXT NOT NULL, state TEXT NOT NULL);
                 CREATE TABLE volumes (name TEXT PRIMARY KEY, record TEXT NOT NULL);
                 CREATE TABLE networks (name TEXT PRIMARY KEY, record TEXT NOT NULL);
                 CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT,
                     time INTEGER NOT NULL, kind TEXT NOT NULL, action TEXT NOT NULL,
                     id TEXT NOT NULL, attributes TEXT NOT NULL);
                 INSERT INTO images VALUES ('sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', '2026-11-22T00:00:00Z', 5);
                 INSERT INTO tags VALUES ('docker.io/library/web:latest', 'sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa');
                 INSERT INTO containers VALUES ('c0ffee', 'web', '2026-11-22T00:00:00Z',
                     '{\"version\":1,\"image\":\"web\",\"network_mode\":\"front\",\"restart\":{\"name\":\"always\",\"max_retries\":0},\"mounts\":[{\"kind\":\"volume\",\"source\":\"data\",\"target\":\"/data\"}],\"ports\":[{\"host_ip\":null,\"host_port\":8080,\"container_port\":80,\"proto\":\"udp\"}]}',
                     '{\"status\":\"exited\",\"exit_code\":3}');",
            )
            .expect("the old schema");
        }
        let db = Db::open(tmp.path()).expect("open");
        let r = db.get("web").expect("the old container");
        assert_eq!(r.id, "c0ffee");
        assert_eq!(r.state.status, crate::config::ContainerStatus::Exited);
        assert_eq!(r.state.exit_code, 3);
        assert_eq!(
            r.config.network_mode,
            crate::config::NetworkMode::Network("front".into())
        );
        assert_eq!(r.config.restart.name, crate::config::RestartName::Always);
        assert_eq!(r.config.mounts[0].kind, crate::config::MountKind::Volume);
        assert_eq!(r.config.ports[0].proto, net::ports::Protocol::Udp);
        let versions: Vec<(String, i64)> = db
            .conn
            .prepare("SELECT component, version FROM schema_versions ORDER BY component")
            .expect("prepare")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("rows");
        // The image part went on to version 2 (the build cache): the old image is still
        // listed (not hidden) and the new tables exist.
        assert_eq!(
            versions,
            vec![("engine".to_string(), 1), ("image".to_string(), 2)]
        );
        let images = image::store::ImageStore::open(tmp.path()).expect("image store");
        assert_eq!(images.list().expect("images").len(), 1);
        assert!(images.cache_entries().expect("cache").is_empty());
    }
}
