//! The Dockerfile frontend's options (BuildKit's `frontendAttrs`/`FrontendOpt`) as
//! quai's build request.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use super::grpc::{self, Status};

/// What the build is asked for.
pub struct Spec {
    /// `filename`: the Dockerfile in the `dockerfile` directory.
    pub filename: String,
    tags: Vec<image::Reference>,
    target: Option<String>,
    build_args: BTreeMap<String, String>,
    labels: BTreeMap<String, String>,
    no_cache: bool,
    no_cache_filter: Vec<String>,
    pull: bool,
    network: engine::config::NetworkMode,
    extra_hosts: Vec<String>,
}

fn invalid(m: String) -> Status {
    Status::new(grpc::INVALID_ARGUMENT, m)
}

impl Spec {
    /// From the frontend's options and the exporter's image names.
    pub fn from_attrs(attrs: &HashMap<String, String>, names: &[String]) -> Result<Spec, Status> {
        let get = |k: &str| attrs.get(k).map(String::as_str);
        if let Some(p) = get("platform").filter(|p| !p.is_empty()) {
            if p.split(',')
                .any(|p| p != "linux/amd64" && p != "linux/x86_64")
            {
                return Err(invalid(format!(
                    "platform {p:?} is not supported here (linux/amd64 only)"
                )));
            }
        }
        let tags = names
            .iter()
            .map(|t| {
                t.parse::<image::Reference>()
                    .map_err(|e| invalid(format!("invalid tag {t:?}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let prefixed = |p: &str| -> BTreeMap<String, String> {
            attrs
                .iter()
                .filter_map(|(k, v)| Some((k.strip_prefix(p)?.to_string(), v.clone())))
                .collect()
        };
        let network = match get("force-network-mode").unwrap_or("") {
            "" | "default" | "sandbox" | "bridge" => engine::config::NetworkMode::Bridge,
            "host" => engine::config::NetworkMode::Host,
            "none" => engine::config::NetworkMode::None,
            other => {
                return Err(invalid(format!(
                    "network mode {other:?} not supported by the builder (default, host or none)"
                )))
            }
        };
        // An empty `no-cache` is the whole build; a list names stages.
        let (no_cache, no_cache_filter) = match get("no-cache") {
            None => (false, Vec::new()),
            Some("") => (true, Vec::new()),
            Some(l) => (false, l.split(',').map(str::to_string).collect()),
        };
        // BuildKit's `host=ip`, docker's `host:ip`.
        let extra_hosts = get("add-hosts")
            .unwrap_or("")
            .split(',')
            .filter(|h| !h.is_empty())
            .map(|h| h.replacen('=', ":", 1))
            .collect();
        Ok(Spec {
            filename: get("filename")
                .filter(|f| !f.is_empty())
                .unwrap_or("Dockerfile")
                .to_string(),
            tags,
            target: get("target").filter(|t| !t.is_empty()).map(str::to_string),
            build_args: prefixed("build-arg:"),
            labels: prefixed("label:"),
            no_cache,
            no_cache_filter,
            pull: get("image-resolve-mode") == Some("pull"),
            network,
            extra_hosts,
        })
    }

    /// The builder's request for the context at `context`.
    pub fn request(&self, context: PathBuf, dockerfile: String) -> build::BuildRequest {
        let name = std::path::Path::new(&self.filename)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "Dockerfile".into());
        build::BuildRequest {
            context,
            dockerfile,
            dockerfile_name: name,
            tags: self.tags.clone(),
            target: self.target.clone(),
            build_args: self.build_args.clone(),
            labels: self.labels.clone(),
            no_cache: self.no_cache,
            no_cache_filter: self.no_cache_filter.clone(),
            pull: self.pull,
            network: self.network.clone(),
            extra_hosts: self.extra_hosts.clone(),
            ..Default::default()
        }
    }
}

/// A failure in BuildKit's words (`process "/bin/sh -c false" did not complete
/// successfully: exit code: 1`).
pub fn failure(e: &build::Error) -> String {
    let mut cur = e;
    while let build::Error::Step { source, .. } = cur {
        cur = source;
    }
    match cur {
        build::Error::Run { command, code } => {
            format!("process \"{command}\" did not complete successfully: exit code: {code}")
        }
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frontend_options_become_the_request() {
        let attrs: HashMap<String, String> = [
            ("filename", "Dockerfile.dev"),
            ("target", "final"),
            ("build-arg:A", "1"),
            ("label:l", "v"),
            ("no-cache", ""),
            ("add-hosts", "h=1.2.3.4"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let s = Spec::from_attrs(&attrs, &["demo-svc".to_string()]).expect("spec");
        let r = s.request("/ctx".into(), "FROM x".into());
        assert_eq!(r.dockerfile_name, "Dockerfile.dev");
        assert_eq!(r.target.as_deref(), Some("final"));
        assert_eq!(r.build_args.get("A").map(String::as_str), Some("1"));
        assert_eq!(r.labels.get("l").map(String::as_str), Some("v"));
        assert!(r.no_cache);
        assert_eq!(r.extra_hosts, vec!["h:1.2.3.4".to_string()]);
        assert_eq!(r.tags.len(), 1);
        let bad: HashMap<String, String> =
            HashMap::from([("platform".to_string(), "linux/arm64".to_string())]);
        assert!(Spec::from_attrs(&bad, &[]).is_err());
    }
}
