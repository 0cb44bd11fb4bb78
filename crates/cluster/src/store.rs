//! The object store, with Kubernetes' resourceVersion semantics on SQLite (the default
//! datastore; etcd comes behind the same operations): one global revision that every
//! write advances and stamps on the object it writes, optimistic concurrency on updates
//! (`metadata.resourceVersion` must be the stored one), a list's revision, and an event
//! log that watches read from a revision on; revisions compacted away answer `Gone`
//! (410), as kube-apiserver does when etcd compacted them.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

use crate::selector::Selector;

/// A store error, with the status kube-apiserver gives it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{kind} {name:?} not found")]
    NotFound { kind: String, name: String },
    #[error("{kind} {name:?} already exists")]
    AlreadyExists { kind: String, name: String },
    #[error("Operation cannot be fulfilled on {kind} {name:?}: the object has been modified; please apply your changes to the latest version and try again")]
    Conflict { kind: String, name: String },
    #[error("too old resource version: {asked} ({oldest})")]
    Gone { asked: i64, oldest: i64 },
    #[error("store: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("store: {0}")]
    Json(#[from] serde_json::Error),
    #[error("store: {0}")]
    Backend(String),
}

impl Error {
    /// The HTTP status of the error.
    pub fn status(&self) -> u16 {
        match self {
            Error::NotFound { .. } => 404,
            Error::AlreadyExists { .. } | Error::Conflict { .. } => 409,
            Error::Gone { .. } => 410,
            _ => 500,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// What happened to an object, for a watch.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// `ADDED`, `MODIFIED` or `DELETED`.
    pub kind: &'static str,
    pub revision: i64,
    pub object: Value,
}

/// The store: SQLite (the default) or etcd.
pub struct Store {
    backend: Backend,
}

enum Backend {
    Sqlite(Sqlite),
    Etcd(crate::etcd::Etcd),
}

struct Sqlite {
    db: Connection,
}

/// Which objects: a resource (`pods`), a namespace (None: all, or cluster-scoped).
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub resource: &'a str,
    pub namespace: Option<&'a str>,
}

fn name_of(obj: &Value) -> String {
    obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn event_kind(code: i64) -> &'static str {
    match code {
        0 => "ADDED",
        1 => "MODIFIED",
        _ => "DELETED",
    }
}

impl Store {
    /// Open (or make) the SQLite store at `path` (`:memory:` for tests).
    pub fn open(path: &Path) -> Result<Store> {
        Ok(Store {
            backend: Backend::Sqlite(Sqlite::open(path)?),
        })
    }

    /// Use the etcd cluster at `endpoints` (`host:port`).
    pub fn open_etcd(endpoints: &[String]) -> Result<Store> {
        Ok(Store {
            backend: Backend::Etcd(crate::etcd::Etcd::open(endpoints)?),
        })
    }

    /// Where changes made by others (other API servers on the same etcd) are
    /// announced; a SQLite store has no other writer.
    pub fn set_notify(&self, tx: tokio::sync::watch::Sender<i64>) {
        if let Backend::Etcd(e) = &self.backend {
            e.set_notify(tx);
        }
    }

    /// The latest revision.
    pub fn revision(&self) -> Result<i64> {
        match &self.backend {
            Backend::Sqlite(s) => s.revision(),
            Backend::Etcd(e) => Ok(e.revision()),
        }
    }

    /// Create; the object comes back with its resourceVersion.
    pub fn create(&mut self, scope: Scope<'_>, obj: Value) -> Result<Value> {
        match &mut self.backend {
            Backend::Sqlite(s) => s.write(scope, obj, 0, None),
            Backend::Etcd(e) => e.write(scope, obj, 0, None),
        }
    }

    /// Update; a `metadata.resourceVersion` in `obj` must be the stored one.
    pub fn update(&mut self, scope: Scope<'_>, obj: Value) -> Result<Value> {
        let pre = obj["metadata"]["resourceVersion"]
            .as_str()
            .map(str::to_string);
        match &mut self.backend {
            Backend::Sqlite(s) => s.write(scope, obj, 1, pre.as_deref()),
            Backend::Etcd(e) => e.write(scope, obj, 1, pre.as_deref()),
        }
    }

    /// Delete; the last state comes back (with the deletion's revision).
    pub fn delete(&mut self, scope: Scope<'_>, name: &str) -> Result<Value> {
        match &mut self.backend {
            Backend::Sqlite(s) => {
                let obj = s.get(scope, name)?;
                s.write(scope, obj, 2, None)
            }
            Backend::Etcd(e) => e.write(
                scope,
                serde_json::json!({"metadata": {"name": name}}),
                2,
                None,
            ),
        }
    }

    /// One object.
    pub fn get(&self, scope: Scope<'_>, name: &str) -> Result<Value> {
        match &self.backend {
            Backend::Sqlite(s) => s.get(scope, name),
            Backend::Etcd(e) => e.get(scope, name),
        }
    }

    /// The objects of a scope that match `selector`, by namespace then name, and the
    /// revision the list is consistent with.
    pub fn list(&self, scope: Scope<'_>, selector: &Selector) -> Result<(Vec<Value>, i64)> {
        let (raw, rev) = self.list_raw(scope)?;
        let mut out = Vec::with_capacity(raw.len());
        for b in raw {
            let v: Value = serde_json::from_str(&b)?;
            if selector.matches(&Selector::labels_of(&v)) {
                out.push(v);
            }
        }
        Ok((out, rev))
    }

    /// The stored JSON of every object of a scope (by namespace, then name) and the
    /// revision: a plain list needs no parsing.
    pub fn list_raw(&self, scope: Scope<'_>) -> Result<(Vec<String>, i64)> {
        match &self.backend {
            Backend::Sqlite(s) => s.list_raw(scope),
            Backend::Etcd(e) => e.list_raw(scope),
        }
    }

    /// The events of a scope after revision `since`; `Gone` when those were compacted.
    pub fn events_since(&self, scope: Scope<'_>, since: i64) -> Result<Vec<Event>> {
        match &self.backend {
            Backend::Sqlite(s) => s.events_since(scope, since),
            Backend::Etcd(e) => e.events_since(scope, since),
        }
    }

    /// Forget the events at or before `revision` (watches from before then get `Gone`).
    pub fn compact(&mut self, revision: i64) -> Result<()> {
        match &mut self.backend {
            Backend::Sqlite(s) => s.compact(revision),
            Backend::Etcd(e) => e.compact(revision),
        }
    }
}

impl Sqlite {
    fn open(path: &Path) -> Result<Sqlite> {
        let db = Connection::open(path)?;
        db.execute_batch(
            "PRAGMA journal_mode=WAL;
             CREATE TABLE IF NOT EXISTS objects (
                 resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
                 revision INTEGER NOT NULL, body TEXT NOT NULL,
                 PRIMARY KEY (resource, namespace, name));
             CREATE TABLE IF NOT EXISTS events (
                 revision INTEGER PRIMARY KEY, resource TEXT NOT NULL, namespace TEXT NOT NULL,
                 kind INTEGER NOT NULL, body TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
             INSERT OR IGNORE INTO meta VALUES ('revision', 1), ('compacted', 0);",
        )?;
        Ok(Sqlite { db })
    }

    /// The latest revision.
    pub fn revision(&self) -> Result<i64> {
        Ok(self
            .db
            .query_row("SELECT value FROM meta WHERE key='revision'", [], |r| {
                r.get(0)
            })?)
    }

    fn bump(tx: &rusqlite::Transaction<'_>) -> Result<i64> {
        tx.execute("UPDATE meta SET value = value + 1 WHERE key='revision'", [])?;
        Ok(
            tx.query_row("SELECT value FROM meta WHERE key='revision'", [], |r| {
                r.get(0)
            })?,
        )
    }

    fn write(
        &mut self,
        scope: Scope<'_>,
        mut obj: Value,
        kind: i64,
        precondition: Option<&str>,
    ) -> Result<Value> {
        let ns = scope.namespace.unwrap_or("");
        let name = name_of(&obj);
        let tx = self.db.transaction()?;
        let stored: Option<i64> = tx
            .query_row(
                "SELECT revision FROM objects WHERE resource=?1 AND namespace=?2 AND name=?3",
                params![scope.resource, ns, name],
                |r| r.get(0),
            )
            .optional()?;
        let err_kind = || scope.resource.to_string();
        match (kind, stored) {
            (0, Some(_)) => {
                return Err(Error::AlreadyExists {
                    kind: err_kind(),
                    name,
                })
            }
            (1 | 2, None) => {
                return Err(Error::NotFound {
                    kind: err_kind(),
                    name,
                })
            }
            (_, Some(rev)) => {
                if let Some(want) = precondition.filter(|w| !w.is_empty()) {
                    if want != rev.to_string() {
                        return Err(Error::Conflict {
                            kind: err_kind(),
                            name,
                        });
                    }
                }
            }
            _ => {}
        }
        let rev = Self::bump(&tx)?;
        obj["metadata"]["resourceVersion"] = Value::String(rev.to_string());
        let body = serde_json::to_string(&obj)?;
        if kind == 2 {
            tx.execute(
                "DELETE FROM objects WHERE resource=?1 AND namespace=?2 AND name=?3",
                params![scope.resource, ns, name],
            )?;
        } else {
            tx.execute(
                "INSERT OR REPLACE INTO objects VALUES (?1, ?2, ?3, ?4, ?5)",
                params![scope.resource, ns, name, rev, body],
            )?;
        }
        tx.execute(
            "INSERT INTO events VALUES (?1, ?2, ?3, ?4, ?5)",
            params![rev, scope.resource, ns, kind, body],
        )?;
        tx.commit()?;
        Ok(obj)
    }

    /// One object.
    pub fn get(&self, scope: Scope<'_>, name: &str) -> Result<Value> {
        let body: Option<String> = self
            .db
            .query_row(
                "SELECT body FROM objects WHERE resource=?1 AND namespace=?2 AND name=?3",
                params![scope.resource, scope.namespace.unwrap_or(""), name],
                |r| r.get(0),
            )
            .optional()?;
        match body {
            Some(b) => Ok(serde_json::from_str(&b)?),
            None => Err(Error::NotFound {
                kind: scope.resource.to_string(),
                name: name.to_string(),
            }),
        }
    }

    /// The stored JSON of every object of a scope (by namespace, then name) and the
    /// revision: a plain list needs no parsing.
    pub fn list_raw(&self, scope: Scope<'_>) -> Result<(Vec<String>, i64)> {
        let rev = self.revision()?;
        let mut st = self.db.prepare_cached(
            "SELECT body FROM objects WHERE resource=?1 AND (?2 IS NULL OR namespace=?2)
             ORDER BY namespace, name",
        )?;
        let rows = st.query_map(params![scope.resource, scope.namespace], |r| {
            r.get::<_, String>(0)
        })?;
        let out = rows.collect::<std::result::Result<Vec<String>, _>>()?;
        Ok((out, rev))
    }

    /// The events of a scope after revision `since`; `Gone` when those were compacted.
    pub fn events_since(&self, scope: Scope<'_>, since: i64) -> Result<Vec<Event>> {
        let compacted: i64 =
            self.db
                .query_row("SELECT value FROM meta WHERE key='compacted'", [], |r| {
                    r.get(0)
                })?;
        if since < compacted {
            return Err(Error::Gone {
                asked: since,
                oldest: compacted,
            });
        }
        let mut st = self.db.prepare(
            "SELECT revision, kind, body FROM events WHERE revision > ?1 AND resource=?2
             AND (?3 IS NULL OR namespace=?3) ORDER BY revision",
        )?;
        let rows = st.query_map(params![since, scope.resource, scope.namespace], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (revision, kind, body) = row?;
            out.push(Event {
                kind: event_kind(kind),
                revision,
                object: serde_json::from_str(&body)?,
            });
        }
        Ok(out)
    }

    /// Forget the events at or before `revision` (watches from before then get `Gone`).
    pub fn compact(&mut self, revision: i64) -> Result<()> {
        let tx = self.db.transaction()?;
        tx.execute("DELETE FROM events WHERE revision <= ?1", params![revision])?;
        tx.execute(
            "UPDATE meta SET value = max(value, ?1) WHERE key='compacted'",
            params![revision],
        )?;
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PODS: Scope<'static> = Scope {
        resource: "pods",
        namespace: Some("default"),
    };

    fn pod(name: &str, app: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": name, "namespace": "default", "labels": {"app": app}}})
    }

    #[test]
    fn writes_advance_one_revision_and_updates_need_the_current_one() {
        let mut s = Store::open(Path::new(":memory:")).expect("open");
        let a = s.create(PODS, pod("a", "web")).expect("create");
        let rv_a: i64 = a["metadata"]["resourceVersion"]
            .as_str()
            .and_then(|v| v.parse().ok())
            .expect("rv");
        assert!(matches!(
            s.create(PODS, pod("a", "web")),
            Err(Error::AlreadyExists { .. })
        ));
        let mut stale = a.clone();
        let b = s.update(PODS, a).expect("update");
        assert_ne!(
            b["metadata"]["resourceVersion"],
            stale["metadata"]["resourceVersion"]
        );
        stale["spec"] = json!({"x": 1});
        let e = s.update(PODS, stale).expect_err("stale");
        assert_eq!(e.status(), 409);
        assert!(s.revision().expect("rev") > rv_a);
        assert_eq!(s.get(PODS, "nope").expect_err("missing").status(), 404);
    }

    #[test]
    fn lists_filter_by_selector_and_namespace() {
        let mut s = Store::open(Path::new(":memory:")).expect("open");
        s.create(PODS, pod("a", "web")).expect("a");
        s.create(PODS, pod("b", "db")).expect("b");
        let other = Scope {
            resource: "pods",
            namespace: Some("kube-system"),
        };
        s.create(other, pod("c", "web")).expect("c");
        let web = Selector::parse("app=web").expect("sel");
        let (items, rev) = s.list(PODS, &web).expect("list");
        assert_eq!(items.len(), 1);
        assert_eq!(rev, s.revision().expect("rev"));
        let all = Scope {
            resource: "pods",
            namespace: None,
        };
        assert_eq!(s.list(all, &web).expect("list").0.len(), 2);
    }

    #[test]
    fn watches_read_events_since_a_revision_until_compacted() {
        let mut s = Store::open(Path::new(":memory:")).expect("open");
        let start = s.revision().expect("rev");
        s.create(PODS, pod("a", "web")).expect("a");
        s.delete(PODS, "a").expect("delete");
        let ev = s.events_since(PODS, start).expect("events");
        let kinds: Vec<&str> = ev.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, ["ADDED", "DELETED"]);
        s.compact(ev[0].revision).expect("compact");
        assert_eq!(s.events_since(PODS, start).expect_err("gone").status(), 410);
        assert_eq!(
            s.events_since(PODS, ev[0].revision).expect("after").len(),
            1
        );
    }
}
