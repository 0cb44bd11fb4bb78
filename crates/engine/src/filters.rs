//! Docker's `--filter key=value` for containers (`ps`, `container prune`) and events:
//! the same key ORs, different keys AND; unknown keys are refused. One place, so the CLI
//! and the Docker API filter alike.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::config::ContainerStatus;
use crate::db::{Event, Record};
use crate::lifecycle::Engine;
use crate::{Error, Result};

/// Parsed filters: key -> the values given for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters(BTreeMap<String, Vec<String>>);

/// Keys a container filter knows.
const CONTAINER_KEYS: &[&str] = &[
    "name", "id", "status", "ancestor", "label", "exited", "health", "publish", "expose",
    "network", "volume", "since", "before", "is-task",
];

/// Whether `port/proto` is in Docker's port filter value `PORT[/PROTO]` or
/// `START-END[/PROTO]` (the protocol defaults to tcp).
fn port_matches(v: &str, port: u16, proto: &str) -> bool {
    let (range, want_proto) = v.split_once('/').unwrap_or((v, "tcp"));
    if want_proto != proto {
        return false;
    }
    let (lo, hi) = range.split_once('-').unwrap_or((range, range));
    match (lo.parse::<u16>(), hi.parse::<u16>()) {
        (Ok(lo), Ok(hi)) => (lo..=hi).contains(&port),
        _ => false,
    }
}
/// Keys every prune's filter knows (a volume prune adds `all`).
const PRUNE_KEYS: &[&str] = &["label", "label!", "until"];

/// Keys an event filter knows.
const EVENT_KEYS: &[&str] = &["type", "event", "container", "volume", "image", "label"];

fn label_matches(labels: &BTreeMap<String, String>, v: &str) -> bool {
    match v.split_once('=') {
        Some((k, want)) => labels.get(k).is_some_and(|x| x == want),
        None => labels.contains_key(v),
    }
}

impl Filters {
    /// `key=value` arguments, as `--filter` gives them.
    pub fn parse(args: &[String]) -> Result<Filters> {
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for f in args {
            let (k, v) = f.split_once('=').ok_or_else(|| {
                Error::Invalid(format!("bad format of filter (expected name=value): {f}"))
            })?;
            m.entry(k.to_string()).or_default().push(v.to_string());
        }
        Ok(Filters(m))
    }

    /// From key -> values (the Docker API's `filters` query parameter, decoded).
    pub fn from_map(m: BTreeMap<String, Vec<String>>) -> Filters {
        Filters(m)
    }

    /// The values given for `key`.
    pub fn get(&self, key: &str) -> &[String] {
        self.0.get(key).map_or(&[], Vec::as_slice)
    }

    fn check(&self, known: &[&str]) -> Result<()> {
        match self.0.keys().find(|k| !known.contains(&k.as_str())) {
            Some(k) => Err(Error::Invalid(format!("Invalid filter '{k}'"))),
            None => Ok(()),
        }
    }

    /// Refuse keys a container filter does not know (before anything is listed).
    pub fn check_container(&self) -> Result<()> {
        self.check(CONTAINER_KEYS)
    }

    /// Refuse keys an event filter does not know.
    pub fn check_event(&self) -> Result<()> {
        self.check(EVENT_KEYS)
    }

    /// Refuse keys a prune does not know (Docker's: `label`, `label!`, `until`, and
    /// what `also` adds).
    pub fn check_prune(&self, also: &[&str]) -> Result<()> {
        match self
            .0
            .keys()
            .find(|k| !PRUNE_KEYS.contains(&k.as_str()) && !also.contains(&k.as_str()))
        {
            Some(k) => Err(Error::Invalid(format!("invalid filter '{k}'"))),
            None => Ok(()),
        }
    }

    /// Whether `key` is given as true (`all=true`, `all=1`); another value is refused.
    pub fn flag(&self, key: &str) -> Result<bool> {
        let mut on = false;
        for v in self.get(key) {
            match v.as_str() {
                "true" | "1" => on = true,
                "false" | "0" => {}
                _ => {
                    return Err(Error::Invalid(format!(
                        "invalid filter '{key}={v}': invalid value"
                    )))
                }
            }
        }
        Ok(on)
    }

    /// Whether an object with `labels`, made at `created` (RFC 3339), passes a prune's
    /// filters: every `label` matches, no `label!` does, and it is older than `until`.
    pub fn prune_match(&self, labels: &BTreeMap<String, String>, created: &str) -> Result<bool> {
        let now = crate::time::now_nanos();
        for v in self.get("until") {
            let t = crate::time::parse_point(v, now)
                .ok_or_else(|| Error::Invalid(format!("invalid filter 'until={v}'")))?;
            if crate::time::parse_rfc3339(created).is_some_and(|c| c >= t) {
                return Ok(false);
            }
        }
        Ok(self.get("label").iter().all(|v| label_matches(labels, v))
            && !self.get("label!").iter().any(|v| label_matches(labels, v)))
    }

    /// Whether a container passes.
    pub fn container(&self, r: &Record) -> bool {
        self.0.iter().all(|(k, vals)| {
            vals.iter().any(|v| match k.as_str() {
                "name" => r.name.contains(v.as_str()),
                "id" => r.id.starts_with(v.as_str()),
                "status" => r.state.status.as_str() == v,
                "ancestor" => {
                    r.config.image == *v
                        || r.config
                            .image_id
                            .trim_start_matches("sha256:")
                            .starts_with(v.trim_start_matches("sha256:"))
                        || r.config.image.split(':').next() == Some(v.as_str())
                }
                "label" => label_matches(&r.config.labels, v),
                "exited" => {
                    r.state.status == ContainerStatus::Exited && r.state.exit_code.to_string() == *v
                }
                "health" => {
                    r.state
                        .health
                        .as_ref()
                        .map(|h| h.status.as_str())
                        .unwrap_or("none")
                        == v
                }
                // The host side of a published port.
                "publish" => r.config.ports.iter().chain(&r.state.ports).any(|p| {
                    p.host_port != 0 && port_matches(v, p.host_port, &p.proto.to_string())
                }),
                // A port the container exposes (published ones included).
                "expose" => {
                    r.config.exposed_ports.iter().any(|e| {
                        let (n, proto) = e.split_once('/').unwrap_or((e, "tcp"));
                        n.parse().is_ok_and(|n| port_matches(v, n, proto))
                    }) || r
                        .config
                        .ports
                        .iter()
                        .any(|p| port_matches(v, p.container_port, &p.proto.to_string()))
                }
                "network" => {
                    let primary = match &r.config.network_mode {
                        crate::config::NetworkMode::Host => Some("host"),
                        crate::config::NetworkMode::None => Some("none"),
                        m => m.network(),
                    };
                    (primary == Some(v.as_str()) && !r.config.primary_disconnected)
                        || r.config.networks.iter().any(|a| a.network == *v)
                        || r.state.endpoints.iter().any(|e| e.network == *v)
                }
                "volume" => r.config.mounts.iter().any(|m| {
                    m.target == *v
                        || (m.kind == crate::config::MountKind::Volume && m.source == *v)
                        || (m.kind == crate::config::MountKind::Bind && m.source == *v)
                }),
                // No swarm: no container is a task.
                "is-task" => v == "false",
                // Resolved against the other container by `list_filtered`.
                "since" | "before" => true,
                _ => false,
            })
        })
    }

    /// Whether an event passes; `named` holds the ids of the containers the
    /// `container=` values name now.
    pub fn event(&self, e: &Event, named: &[String]) -> bool {
        self.0.iter().all(|(k, vals)| {
            vals.iter().any(|v| match k.as_str() {
                "type" => e.kind == *v,
                "event" => e.action == *v || e.action.split(':').next() == Some(v.as_str()),
                "container" => {
                    e.kind == "container"
                        && (e.id.starts_with(v.as_str())
                            || named.contains(&e.id)
                            || e.attributes.get("name") == Some(v))
                }
                "volume" => e.kind == "volume" && e.id == *v,
                "image" => {
                    e.attributes.get("image") == Some(v)
                        || (e.kind == "image" && e.id.contains(v.as_str()))
                }
                "label" => label_matches(&e.attributes, v),
                _ => false,
            })
        })
    }
}

/// Which events an [`Events`] stream yields.
#[derive(Debug, Clone, Default)]
pub struct EventOptions {
    /// Past events from this time on (Unix nanoseconds); without it, only new ones.
    pub since: Option<i64>,
    /// End the stream at this time; without it, it goes on.
    pub until: Option<i64>,
    /// Which ones.
    pub filters: Filters,
}

/// How often the stream looks for new events.
const EVENT_POLL: Duration = Duration::from_millis(100);

/// The engine's events as they happen; see [`Engine::event_stream`].
pub struct Events<'a> {
    eng: &'a mut Engine,
    opts: EventOptions,
    named: Vec<String>,
    seq: i64,
    batch: std::collections::VecDeque<Event>,
}

impl Iterator for Events<'_> {
    type Item = Result<Event>;

    fn next(&mut self) -> Option<Result<Event>> {
        loop {
            if let Some(e) = self.batch.pop_front() {
                if self.opts.until.is_some_and(|u| e.time > u) {
                    self.batch.clear();
                    self.opts.until = Some(i64::MIN);
                    return None;
                }
                if self.opts.filters.event(&e, &self.named) {
                    return Some(Ok(e));
                }
                continue;
            }
            // The recorded events are read first: an `until` already past still shows
            // what happened before it.
            match self.eng.events(self.seq, self.opts.since.unwrap_or(0)) {
                Ok(v) if v.is_empty() => {
                    if self
                        .opts
                        .until
                        .is_some_and(|u| crate::time::now_nanos() > u)
                    {
                        return None;
                    }
                    std::thread::sleep(EVENT_POLL)
                }
                Ok(v) => {
                    self.seq = v.last().map_or(self.seq, |e| e.seq);
                    self.batch.extend(v);
                }
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

impl Engine {
    /// The containers `list` gives that pass the filters.
    pub fn list_filtered(&mut self, f: &Filters) -> Result<Vec<Record>> {
        f.check_container()?;
        // `since=` / `before=` name a container: the ones created after / before it.
        let mut after: Option<String> = None;
        let mut before: Option<String> = None;
        for v in f.get("since") {
            let created = self.get(v)?.created;
            after = Some(after.map_or(created.clone(), |a: String| a.max(created)));
        }
        for v in f.get("before") {
            let created = self.get(v)?.created;
            before = Some(before.map_or(created.clone(), |b: String| b.min(created)));
        }
        Ok(self
            .list()?
            .into_iter()
            .filter(|r| f.container(r))
            .filter(|r| after.as_ref().is_none_or(|a| r.created > *a))
            .filter(|r| before.as_ref().is_none_or(|b| r.created < *b))
            .collect())
    }

    /// Remove the stopped containers that pass a prune's filters (`label`, `label!`,
    /// `until`); their ids and the bytes their writable layers held.
    pub fn container_prune(&mut self, f: &Filters) -> Result<(Vec<String>, u64)> {
        f.check_prune(&[])?;
        let mut out = Vec::new();
        let mut freed = 0;
        for r in self.list()? {
            if r.state.status.can_start() && f.prune_match(&r.config.labels, &r.created)? {
                let size = self.container_size(&r.id);
                self.remove(&r.id, false, false)?;
                freed += size;
                out.push(r.id);
            }
        }
        Ok((out, freed))
    }

    /// Events as they happen (and, with `since`, the recorded ones first).
    pub fn event_stream(&mut self, opts: EventOptions) -> Result<Events<'_>> {
        opts.filters.check_event()?;
        let seq = if opts.since.is_some() {
            0
        } else {
            self.last_event()?
        };
        // `container=NAME` also matches the events of the container that has the name now.
        let named = opts
            .filters
            .get("container")
            .iter()
            .filter_map(|n| self.resolve(n).ok())
            .collect();
        Ok(Events {
            eng: self,
            opts,
            named,
            seq,
            batch: Default::default(),
        })
    }
}
