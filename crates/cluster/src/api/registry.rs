//! The registry: every read and write of API objects, with kube-apiserver's semantics
//! (the admission steps of a create, optimistic concurrency, status subresources,
//! generations, finalizers and graceful deletion). The HTTP layer and the in-process
//! controllers both go through it, so they see one behaviour.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use serde_json::{json, Value};

use super::fields::FieldSelector;
use super::kinds;
use super::meta;
use super::status::{ApiError, ApiResult};
use super::typed::{self, FieldValidation};
use crate::resources::{self, Resource};
use crate::selector::Selector;
use crate::store::{Event, Scope, Store};

/// Options of a list or watch.
#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    pub labels: Selector,
    pub fields: FieldSelector,
    pub limit: Option<usize>,
    pub continue_token: Option<String>,
}

impl ListOptions {
    pub fn matches(&self, obj: &Value) -> bool {
        self.labels.matches(&Selector::labels_of(obj)) && self.fields.matches(obj)
    }
}

/// Options of a delete.
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    pub grace_period: Option<i64>,
    /// `Orphan`, `Background` or `Foreground`.
    pub propagation: Option<String>,
    pub dry_run: bool,
    pub precondition_uid: Option<String>,
    pub precondition_rv: Option<String>,
}

/// Options of a write: `dryRun=All`, `fieldValidation`, and the warnings the write
/// gave (sent back as `Warning` headers).
#[derive(Debug, Default)]
pub struct Write {
    pub dry_run: bool,
    pub validation: FieldValidation,
    pub warnings: Mutex<Vec<String>>,
    /// Who writes (`?fieldManager=`, else the client's user agent); None: the control
    /// plane itself.
    pub field_manager: Option<String>,
    /// A server-side apply: the object carries its managed fields already.
    pub apply: bool,
}

impl Write {
    fn warn(&self, w: Vec<String>) {
        if !w.is_empty() {
            self.warnings
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .extend(w);
        }
    }

    fn manager(&self) -> &str {
        self.field_manager
            .as_deref()
            .unwrap_or("kube-controller-manager")
    }

    /// The warnings given so far.
    pub fn take_warnings(&self) -> Vec<String> {
        std::mem::take(
            &mut *self
                .warnings
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}

/// The registry over one store.
pub struct Registry {
    store: Mutex<Store>,
    rev: tokio::sync::watch::Sender<i64>,
    pub service_cidr: (u32, u8),
    ca_pem: std::sync::OnceLock<String>,
    /// How long a node may go without renewing its lease before it is Ready=Unknown
    /// (seconds; kube-controller-manager's `--node-monitor-grace-period`).
    pub node_grace_secs: std::sync::atomic::AtomicI64,
    /// The pods' range nodes get their /24 from (network address, prefix length).
    pub cluster_cidr: std::sync::OnceLock<(u32, u8)>,
    /// The key that signs service-account tokens.
    pub(crate) signer: std::sync::OnceLock<super::satoken::Signer>,
}

fn store_err<'a>(res: &'a Resource, name: &str) -> impl Fn(crate::store::Error) -> ApiError + 'a {
    let n = name.to_string();
    move |e| ApiError::from_store(res, &n, e)
}

/// Whether `obj` is one of `res` (apiVersion and kind), setting them when absent.
fn check_kind(res: &Resource, obj: &mut Value) -> ApiResult<()> {
    if !obj.is_object() {
        return Err(ApiError::bad_request(
            "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf",
        ));
    }
    let want = res.api_version();
    match obj["apiVersion"].as_str() {
        None | Some("") => obj["apiVersion"] = json!(want),
        Some(v) if v == want => {}
        Some(v) => {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({v}) does not match the expected API version ({want})"
            )))
        }
    }
    match obj["kind"].as_str() {
        None | Some("") => obj["kind"] = json!(res.kind),
        Some(k) if k == res.kind => {}
        Some(k) => {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind ({})",
                res.kind
            )))
        }
    }
    if !obj["metadata"].is_object() {
        obj["metadata"] = json!({});
    }
    Ok(())
}

fn name_of(obj: &Value) -> &str {
    obj["metadata"]["name"].as_str().unwrap_or_default()
}

impl Registry {
    /// Open the registry on the store at `path` with the default service range
    /// (10.43.0.0/16).
    pub fn open(path: &Path) -> ApiResult<Registry> {
        Registry::open_with(path, (u32::from(std::net::Ipv4Addr::new(10, 43, 0, 0)), 16))
    }

    /// Open the registry on the store at `path`; Services get addresses in
    /// `service_cidr` (network address, prefix length).
    pub fn open_with(path: &Path, service_cidr: (u32, u8)) -> ApiResult<Registry> {
        let store = Store::open(path).map_err(|e| ApiError::internal(e.to_string()))?;
        Registry::with_store(store, service_cidr)
    }

    /// The registry over `store` (SQLite or etcd).
    pub fn with_store(store: Store, service_cidr: (u32, u8)) -> ApiResult<Registry> {
        let rev = store
            .revision()
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let (tx, _) = tokio::sync::watch::channel(rev);
        store.set_notify(tx.clone());
        let reg = Registry {
            store: Mutex::new(store),
            rev: tx,
            service_cidr,
            ca_pem: std::sync::OnceLock::new(),
            node_grace_secs: std::sync::atomic::AtomicI64::new(40),
            cluster_cidr: std::sync::OnceLock::new(),
            signer: std::sync::OnceLock::new(),
        };
        Ok(reg)
    }

    /// Create what every cluster has if missing: the default namespaces, and the
    /// `kubernetes` service (the service range's first address) for the API server at
    /// `api` (None: no service, as in tests without a listener).
    pub fn bootstrap(&self, api: Option<std::net::SocketAddr>) -> ApiResult<()> {
        let find = |g: &str, p: &str| {
            resources::find(g, "v1", p).ok_or_else(|| ApiError::internal(format!("no {p}")))
        };
        let ok_if_exists = |r: ApiResult<Value>| match r {
            Ok(_) => Ok(()),
            Err(e) if e.code == 409 => Ok(()),
            Err(e) => Err(e),
        };
        let ns = find("", "namespaces")?;
        for n in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            ok_if_exists(self.create(
                ns,
                None,
                json!({"metadata": {"name": n}}),
                &Write::default(),
            ))?;
        }
        let Some(api) = api else {
            return Ok(());
        };
        let ip = std::net::Ipv4Addr::from(self.service_cidr.0 + 1).to_string();
        let labels = json!({"component": "apiserver", "provider": "kubernetes"});
        ok_if_exists(self.create(
            find("", "services")?,
            Some("default"),
            json!({"metadata": {"name": "kubernetes", "labels": labels},
                   "spec": {"clusterIP": ip, "ports": [{"name": "https", "port": 443,
                            "protocol": "TCP", "targetPort": api.port()}]}}),
            &Write::default(),
        ))?;
        // The cluster DNS's address (served by each node's agent).
        let dns_ip = std::net::Ipv4Addr::from(self.service_cidr.0 + 10).to_string();
        ok_if_exists(self.create(
            find("", "services")?,
            Some("kube-system"),
            json!({"metadata": {"name": "kube-dns", "labels": {"k8s-app": "kube-dns",
                       "kubernetes.io/name": "CoreDNS", "kubernetes.io/cluster-service": "true"}},
                   "spec": {"clusterIP": dns_ip, "ports": [
                       {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                       {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53}]}}),
            &Write::default(),
        ))?;
        let eps = find("", "endpoints")?;
        let want = json!([{"addresses": [{"ip": api.ip().to_string()}],
                           "ports": [{"name": "https", "port": api.port(), "protocol": "TCP"}]}]);
        match self.get(eps, Some("default"), "kubernetes") {
            Ok(mut cur) => {
                if cur["subsets"] != want {
                    cur["subsets"] = want;
                    self.update(
                        eps,
                        Some("default"),
                        "kubernetes",
                        cur,
                        None,
                        &Write::default(),
                    )?;
                }
            }
            Err(e) if e.code == 404 => {
                self.create(
                    eps,
                    Some("default"),
                    json!({"metadata": {"name": "kubernetes", "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
                           "subsets": want}),
                    &Write::default(),
                )?;
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// The cluster CA (PEM) that pods are given to trust the API server.
    pub fn set_ca_pem(&self, pem: String) {
        let _ = self.ca_pem.set(pem);
    }

    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.get().map(String::as_str)
    }

    fn lock(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock leaves the store itself consistent (every
        // write is one SQLite transaction), so a poisoned lock is still usable.
        self.store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn scope<'a>(key: &'a str, ns: Option<&'a str>) -> Scope<'a> {
        Scope {
            resource: key,
            namespace: ns,
        }
    }

    fn notify(&self, store: &Store) {
        if let Ok(r) = store.revision() {
            self.rev.send_replace(r);
        }
    }

    /// Follow the latest revision (changes on every write).
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<i64> {
        self.rev.subscribe()
    }

    pub fn revision(&self) -> ApiResult<i64> {
        self.lock()
            .revision()
            .map_err(|e| ApiError::internal(e.to_string()))
    }

    pub fn get(&self, res: &Resource, ns: Option<&str>, name: &str) -> ApiResult<Value> {
        let key = res.store_key();
        self.lock()
            .get(Self::scope(&key, ns), name)
            .map_err(store_err(res, name))
    }

    /// The objects of a list (by namespace, then name) and its revision; `limit` and
    /// `continue` page through them.
    pub fn list(
        &self,
        res: &Resource,
        ns: Option<&str>,
        opts: &ListOptions,
    ) -> ApiResult<(Vec<Value>, i64, Option<String>)> {
        // Read under the lock, parse outside it: a long list holds up no writer.
        let (raw, rev) = self.list_raw(res, ns)?;
        let mut items = Vec::with_capacity(raw.len());
        for b in raw {
            let v: Value =
                serde_json::from_str(&b).map_err(|e| ApiError::internal(e.to_string()))?;
            if opts.labels.matches(&Selector::labels_of(&v)) {
                items.push(v);
            }
        }
        let start = match &opts.continue_token {
            Some(t) => Some(decode_continue(t)?),
            None => None,
        };
        let mut out = Vec::new();
        let mut next = None;
        for it in items {
            if !opts.fields.matches(&it) {
                continue;
            }
            let k = object_key(&it);
            if let Some((_, s)) = &start {
                if k.as_str() <= s.as_str() {
                    continue;
                }
            }
            if opts.limit.is_some_and(|l| l > 0 && out.len() >= l) {
                let last = out.last().map(object_key).unwrap_or_default();
                next = Some(encode_continue(
                    start.as_ref().map_or(rev, |(r, _)| *r),
                    &last,
                ));
                break;
            }
            out.push(it);
        }
        let rev = start.map_or(rev, |(r, _)| r);
        Ok((out, rev, next))
    }

    /// Every object of a scope as stored (JSON text), and the revision.
    pub fn list_raw(&self, res: &Resource, ns: Option<&str>) -> ApiResult<(Vec<String>, i64)> {
        let key = res.store_key();
        self.lock()
            .list_raw(Self::scope(&key, ns))
            .map_err(store_err(res, ""))
    }

    /// The watch events of a scope after `since`.
    pub fn events_since(
        &self,
        res: &Resource,
        ns: Option<&str>,
        since: i64,
    ) -> ApiResult<Vec<Event>> {
        let key = res.store_key();
        self.lock()
            .events_since(Self::scope(&key, ns), since)
            .map_err(store_err(res, ""))
    }

    /// Create an object of `res` in `ns` (kube's create: name or generateName, uid,
    /// creation time, defaults, validation, namespace lifecycle).
    pub fn create(
        &self,
        res: &Resource,
        ns: Option<&str>,
        obj: Value,
        w: &Write,
    ) -> ApiResult<Value> {
        let mut obj = obj;
        check_kind(res, &mut obj)?;
        let (checked, warnings) = typed::check(res, obj, w.validation)?;
        w.warn(warnings);
        let mut obj = checked;
        let md = &mut obj["metadata"];
        match (ns, md["namespace"].as_str()) {
            (Some(url), Some(body)) if !body.is_empty() && body != url => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ))
            }
            (Some(url), _) if res.namespaced => md["namespace"] = json!(url),
            _ => {}
        }
        if !res.namespaced {
            if let Some(m) = md.as_object_mut() {
                m.remove("namespace");
            }
        }
        if md["name"].as_str().unwrap_or_default().is_empty() {
            if let Some(prefix) = md["generateName"].as_str().filter(|p| !p.is_empty()) {
                md["name"] = json!(meta::generate_name(prefix));
            }
        }
        if let Some(rv) = md["resourceVersion"].as_str().filter(|s| !s.is_empty()) {
            let _ = rv;
            return Err(ApiError::internal(
                "resourceVersion should not be set on objects to be created",
            ));
        }
        md["uid"] = json!(meta::new_uid());
        md["creationTimestamp"] = json!(clock::now_rfc3339_secs());
        if let Some(m) = md.as_object_mut() {
            m.remove("deletionTimestamp");
            m.remove("deletionGracePeriodSeconds");
            if res.generation {
                m.insert("generation".to_string(), json!(1));
            } else {
                m.remove("generation");
            }
        }
        let name = name_of(&obj).to_string();
        let mut store = self.lock();
        if res.namespaced {
            let nsname = obj["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if !nsname.is_empty() {
                let nsobj = store
                    .get(Self::scope("namespaces", None), &nsname)
                    .map_err(|_| {
                        let nsres = resources::find("", "v1", "namespaces");
                        match nsres {
                            Some(r) => ApiError::not_found(r, &nsname),
                            None => ApiError::internal("no namespaces resource"),
                        }
                    })?;
                if nsobj["status"]["phase"] == "Terminating" {
                    return Err(ApiError {
                        details: Some(json!({"name": name, "kind": res.plural, "causes": [{"reason": "NamespaceTerminating", "message": format!("namespace {nsname} is being terminated"), "field": "metadata.namespace"}]})),
                        ..ApiError::new(403, "Forbidden", format!("{} \"{name}\" is forbidden: unable to create new content in namespace {nsname} because it is being terminated", res.qualified()))
                    });
                }
            }
        }
        {
            let key = res.store_key();
            let ns = obj["metadata"]["namespace"].as_str().map(str::to_string);
            if !name.is_empty() && store.get(Self::scope(&key, ns.as_deref()), &name).is_ok() {
                return Err(ApiError::already_exists(res, &name));
            }
        }
        kinds::prepare_create(res, &mut obj, &store, self.service_cidr)?;
        prune_nulls(&mut obj);
        if !w.apply {
            super::ssa::record_update(res, None, &mut obj, w.manager(), None);
        }
        let mut errs = Vec::new();
        meta::validate_meta(&obj, res.kind, res.namespaced, &mut errs);
        kinds::validate(res, &obj, None, &mut errs);
        if !errs.is_empty() {
            return Err(ApiError::invalid(res, &name, &errs));
        }
        if w.dry_run {
            return Ok(obj);
        }
        let key = res.store_key();
        let ns = obj["metadata"]["namespace"].as_str().map(str::to_string);
        let out = store
            .create(Self::scope(&key, ns.as_deref()), obj)
            .map_err(store_err(res, &name))?;
        self.notify(&store);
        Ok(out)
    }

    /// Replace an object (`sub`: `status` writes only the status; the main resource
    /// keeps the stored status of kinds that have the subresource).
    pub fn update(
        &self,
        res: &Resource,
        ns: Option<&str>,
        name: &str,
        obj: Value,
        sub: Option<&str>,
        w: &Write,
    ) -> ApiResult<Value> {
        let mut obj = obj;
        check_kind(res, &mut obj)?;
        let (checked, warnings) = typed::check(res, obj, w.validation)?;
        w.warn(warnings);
        let obj = checked;
        let body_name = name_of(&obj);
        if !body_name.is_empty() && body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        if let (Some(url), Some(body)) = (ns, obj["metadata"]["namespace"].as_str()) {
            if !body.is_empty() && body != url {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
        }
        let key = res.store_key();
        let mut store = self.lock();
        let old = store
            .get(Self::scope(&key, ns), name)
            .map_err(store_err(res, name))?;
        let mut new = match sub {
            Some("status") => {
                let mut n = old.clone();
                n["status"] = obj["status"].clone();
                let rv = obj["metadata"]["resourceVersion"].clone();
                n["metadata"]["resourceVersion"] = rv;
                n
            }
            _ => obj,
        };
        // What a client may not change.
        {
            let (om, nm) = (&old["metadata"], &mut new["metadata"]);
            nm["name"] = om["name"].clone();
            for k in [
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "namespace",
                "generation",
            ] {
                match om.get(k) {
                    Some(v) => nm[k] = v.clone(),
                    None => {
                        if let Some(m) = nm.as_object_mut() {
                            m.remove(k);
                        }
                    }
                }
            }
        }
        if sub.is_none() && res.has_status() {
            match old.get("status") {
                Some(s) => new["status"] = s.clone(),
                None => {
                    if let Some(m) = new.as_object_mut() {
                        m.remove("status");
                    }
                }
            }
        }
        if sub.is_none() {
            kinds::prepare_update(res, &mut new, &old)?;
        }
        prune_nulls(&mut new);
        if !w.apply {
            new["metadata"]["managedFields"] = old["metadata"]["managedFields"].clone();
            super::ssa::record_update(res, Some(&old), &mut new, w.manager(), sub);
            prune_nulls(&mut new);
        }
        if res.generation && sub.is_none() && new.get("spec") != old.get("spec") {
            let g = old["metadata"]["generation"].as_i64().unwrap_or(1);
            new["metadata"]["generation"] = json!(g + 1);
        }
        let mut errs = Vec::new();
        meta::validate_meta(&new, res.kind, res.namespaced, &mut errs);
        kinds::validate(res, &new, Some(&old), &mut errs);
        if !errs.is_empty() {
            return Err(ApiError::invalid(res, name, &errs));
        }
        if w.dry_run {
            return Ok(new);
        }
        let terminating = new["metadata"]["deletionTimestamp"].is_string();
        let no_finalizers = new["metadata"]["finalizers"]
            .as_array()
            .is_none_or(Vec::is_empty);
        let deletable = terminating && no_finalizers && !res.namespaced_kind_waits(&new);
        let out = if deletable {
            // The last finalizer went: the object goes (kube's deleteForEmptyFinalizers).
            let pre = new["metadata"]["resourceVersion"]
                .as_str()
                .map(str::to_string);
            if let Some(p) = pre.filter(|p| !p.is_empty()) {
                if old["metadata"]["resourceVersion"].as_str() != Some(p.as_str()) {
                    return Err(ApiError::conflict(res, name));
                }
            }
            store
                .update(Self::scope(&key, ns), new)
                .map_err(store_err(res, name))?;
            store
                .delete(Self::scope(&key, ns), name)
                .map_err(store_err(res, name))?
        } else {
            store
                .update(Self::scope(&key, ns), new)
                .map_err(store_err(res, name))?
        };
        self.notify(&store);
        Ok(out)
    }

    /// Delete: objects with finalizers (and pods on a node, given a grace period) are
    /// marked for deletion; the others go at once. Answers with the object's last state.
    pub fn delete(
        &self,
        res: &Resource,
        ns: Option<&str>,
        name: &str,
        opts: &DeleteOptions,
    ) -> ApiResult<Value> {
        let key = res.store_key();
        let mut store = self.lock();
        let mut obj = store
            .get(Self::scope(&key, ns), name)
            .map_err(store_err(res, name))?;
        if let Some(uid) = &opts.precondition_uid {
            if obj["metadata"]["uid"].as_str() != Some(uid.as_str()) {
                return Err(ApiError {
                    details: Some(json!({"name": name, "kind": res.plural})),
                    ..ApiError::new(409, "Conflict", format!("Operation cannot be fulfilled on {} \"{name}\": Precondition failed: UID in precondition: {uid}, UID in object meta: {}", res.qualified(), obj["metadata"]["uid"].as_str().unwrap_or_default()))
                });
            }
        }
        if let Some(rv) = &opts.precondition_rv {
            if obj["metadata"]["resourceVersion"].as_str() != Some(rv.as_str()) {
                return Err(ApiError::conflict(res, name));
            }
        }
        let mut finalizers: Vec<Value> = obj["metadata"]["finalizers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        match opts.propagation.as_deref() {
            Some("Foreground") if !finalizers.contains(&json!("foregroundDeletion")) => {
                finalizers.push(json!("foregroundDeletion"));
            }
            Some("Orphan") if !finalizers.contains(&json!("orphan")) => {
                finalizers.push(json!("orphan"));
            }
            _ => {}
        }
        let graceful = kinds::grace_period(res, &obj, opts.grace_period);
        let is_ns = res.kind == "Namespace";
        if opts.dry_run {
            return Ok(obj);
        }
        let out = if !finalizers.is_empty() || graceful.is_some() || is_ns {
            if obj["metadata"]["deletionTimestamp"].is_null() {
                let grace = graceful.unwrap_or(0);
                let when = clock::now_nanos().saturating_add(grace.saturating_mul(1_000_000_000));
                obj["metadata"]["deletionTimestamp"] = json!(clock::rfc3339_secs(when));
                obj["metadata"]["deletionGracePeriodSeconds"] = json!(grace);
                if res.generation {
                    let g = obj["metadata"]["generation"].as_i64().unwrap_or(1);
                    obj["metadata"]["generation"] = json!(g + 1);
                }
                if is_ns {
                    obj["status"]["phase"] = json!("Terminating");
                }
            } else if let Some(g) = graceful {
                // A shorter grace period than the one running takes over.
                let cur = obj["metadata"]["deletionGracePeriodSeconds"]
                    .as_i64()
                    .unwrap_or(i64::MAX);
                if g < cur {
                    obj["metadata"]["deletionGracePeriodSeconds"] = json!(g);
                }
            }
            if finalizers.is_empty() && graceful.is_none() && !is_ns {
                store
                    .delete(Self::scope(&key, ns), name)
                    .map_err(store_err(res, name))?
            } else {
                obj["metadata"]["finalizers"] = Value::Array(finalizers);
                store
                    .update(Self::scope(&key, ns), obj)
                    .map_err(store_err(res, name))?
            }
        } else {
            store
                .delete(Self::scope(&key, ns), name)
                .map_err(store_err(res, name))?
        };
        self.notify(&store);
        Ok(out)
    }

    /// Remove an object at once, whatever its finalizers (the namespace controller's
    /// and the node agent's last step).
    pub fn remove(&self, res: &Resource, ns: Option<&str>, name: &str) -> ApiResult<Value> {
        let key = res.store_key();
        let mut store = self.lock();
        let out = store
            .delete(Self::scope(&key, ns), name)
            .map_err(store_err(res, name))?;
        self.notify(&store);
        Ok(out)
    }

    /// `PUT namespaces/NAME/finalize`: set `spec.finalizers`; a terminating namespace
    /// with none left goes.
    pub fn finalize_namespace(&self, name: &str, obj: &Value) -> ApiResult<Value> {
        let res = resources::find("", "v1", "namespaces")
            .ok_or_else(|| ApiError::internal("no namespaces resource"))?;
        let mut store = self.lock();
        let mut cur = store
            .get(Self::scope("namespaces", None), name)
            .map_err(store_err(res, name))?;
        cur["spec"]["finalizers"] = obj["spec"]["finalizers"].clone();
        let done = cur["metadata"]["deletionTimestamp"].is_string()
            && cur["spec"]["finalizers"]
                .as_array()
                .is_none_or(Vec::is_empty)
            && cur["metadata"]["finalizers"]
                .as_array()
                .is_none_or(Vec::is_empty);
        let out = store
            .update(Self::scope("namespaces", None), cur)
            .map_err(store_err(res, name))?;
        let out = if done {
            store
                .delete(Self::scope("namespaces", None), name)
                .map_err(store_err(res, name))?
        } else {
            out
        };
        self.notify(&store);
        Ok(out)
    }

    /// `POST pods/NAME/binding`: put the pod on `binding.target.name`, once.
    pub fn bind(&self, ns: &str, name: &str, binding: &Value) -> ApiResult<Value> {
        let res = resources::find("", "v1", "pods").ok_or_else(|| ApiError::internal("no pods"))?;
        let node = binding["target"]["name"].as_str().unwrap_or_default();
        if node.is_empty() {
            return Err(ApiError::invalid(
                res,
                name,
                &[super::status::FieldError::required("target.name", "")],
            ));
        }
        let mut store = self.lock();
        let mut pod = store
            .get(Self::scope("pods", Some(ns)), name)
            .map_err(store_err(res, name))?;
        if let Some(cur) = pod["spec"]["nodeName"].as_str().filter(|n| !n.is_empty()) {
            return Err(ApiError {
                details: Some(json!({"name": name, "kind": "pods"})),
                ..ApiError::new(409, "Conflict", format!("Operation cannot be fulfilled on pods/binding \"{name}\": pod {name} is already assigned to node \"{cur}\""))
            });
        }
        if pod["metadata"]["deletionTimestamp"].is_string() {
            return Err(ApiError::conflict(res, name));
        }
        pod["spec"]["nodeName"] = json!(node);
        let cond = json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null,
                          "lastTransitionTime": clock::now_rfc3339_secs()});
        let mut conds: Vec<Value> = pod["status"]["conditions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        conds.retain(|c| c["type"] != "PodScheduled");
        conds.push(cond);
        pod["status"]["conditions"] = Value::Array(conds);
        let out = store
            .update(Self::scope("pods", Some(ns)), pod)
            .map_err(store_err(res, name))?;
        self.notify(&store);
        Ok(out)
    }

    /// Forget watch history at or before `revision`.
    pub fn compact(&self, revision: i64) -> ApiResult<()> {
        self.lock()
            .compact(revision)
            .map_err(|e| ApiError::internal(e.to_string()))
    }
}

impl Resource {
    /// A namespace with content left waits for the namespace controller (its
    /// `spec.finalizers`), even once `metadata.finalizers` is empty.
    fn namespaced_kind_waits(&self, obj: &Value) -> bool {
        self.kind == "Namespace"
            && obj["spec"]["finalizers"]
                .as_array()
                .is_some_and(|f| !f.is_empty())
    }
}

/// Drop null fields, as decoding into Kubernetes' Go types does (a null is an absent
/// pointer, and absent fields are not written back).
pub fn prune_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            for x in m.values_mut() {
                prune_nulls(x);
            }
        }
        Value::Array(a) => {
            for x in a {
                prune_nulls(x);
            }
        }
        _ => {}
    }
}

fn object_key(obj: &Value) -> String {
    format!(
        "{}/{}",
        obj["metadata"]["namespace"].as_str().unwrap_or_default(),
        name_of(obj)
    )
}

fn encode_continue(rev: i64, start: &str) -> String {
    use base64::Engine;
    let v = json!({"v": "meta.k8s.io/v1", "rv": rev, "start": start});
    base64::engine::general_purpose::URL_SAFE.encode(v.to_string())
}

fn decode_continue(t: &str) -> ApiResult<(i64, String)> {
    use base64::Engine;
    let bad = || ApiError::bad_request("continue key is not valid: illegal base64 data");
    let raw = base64::engine::general_purpose::URL_SAFE
        .decode(t)
        .map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&raw).map_err(|_| bad())?;
    match (v["rv"].as_i64(), v["start"].as_str()) {
        (Some(r), Some(s)) => Ok((r, s.to_string())),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg() -> Registry {
        let r = Registry::open(Path::new(":memory:")).expect("open");
        r.bootstrap(None).expect("bootstrap");
        r
    }

    fn cms() -> &'static Resource {
        resources::find("", "v1", "configmaps").expect("configmaps")
    }

    #[test]
    fn create_fills_metadata_and_refuses_bad_input() {
        let r = reg();
        let cm = r
            .create(
                cms(),
                Some("default"),
                json!({"metadata": {"generateName": "cfg-"}, "data": {"a": "b"}}),
                &Write::default(),
            )
            .expect("create");
        assert!(name_of(&cm).starts_with("cfg-"));
        assert_eq!(cm["metadata"]["namespace"], "default");
        assert_eq!(cm["kind"], "ConfigMap");
        assert!(cm["metadata"]["uid"].is_string());
        let e = r
            .create(
                cms(),
                Some("nope"),
                json!({"metadata": {"name": "x"}}),
                &Write::default(),
            )
            .expect_err("no namespace");
        assert_eq!(e.message, "namespaces \"nope\" not found");
        let e = r
            .create(
                cms(),
                Some("default"),
                json!({"metadata": {"name": "Bad_Name"}}),
                &Write::default(),
            )
            .expect_err("bad name");
        assert_eq!(e.code, 422);
        let e = r
            .create(
                cms(),
                Some("default"),
                json!({"apiVersion": "apps/v1", "metadata": {"name": "x"}}),
                &Write::default(),
            )
            .expect_err("wrong version");
        assert_eq!(e.code, 400);
    }

    #[test]
    fn finalizers_hold_a_delete_until_they_are_removed() {
        let r = reg();
        let cm = r
            .create(
                cms(),
                Some("default"),
                json!({"metadata": {"name": "held", "finalizers": ["example.com/x"]}}),
                &Write::default(),
            )
            .expect("create");
        let marked = r
            .delete(cms(), Some("default"), "held", &DeleteOptions::default())
            .expect("delete");
        assert!(marked["metadata"]["deletionTimestamp"].is_string());
        assert!(r.get(cms(), Some("default"), "held").is_ok());
        let mut cur = r.get(cms(), Some("default"), "held").expect("get");
        cur["metadata"]["finalizers"] = json!([]);
        r.update(cms(), Some("default"), "held", cur, None, &Write::default())
            .expect("update");
        assert_eq!(
            r.get(cms(), Some("default"), "held")
                .expect_err("gone")
                .code,
            404
        );
        let _ = cm;
    }

    #[test]
    fn pages_continue_where_they_stopped() {
        let r = reg();
        for i in 0..5 {
            r.create(
                cms(),
                Some("default"),
                json!({"metadata": {"name": format!("c{i}")}}),
                &Write::default(),
            )
            .expect("create");
        }
        let mut opts = ListOptions {
            limit: Some(2),
            ..Default::default()
        };
        let mut names = Vec::new();
        loop {
            let (items, _, next) = r.list(cms(), Some("default"), &opts).expect("list");
            names.extend(items.iter().map(|i| name_of(i).to_string()));
            match next {
                Some(t) => opts.continue_token = Some(t),
                None => break,
            }
        }
        assert_eq!(names, ["c0", "c1", "c2", "c3", "c4"]);
    }
}
