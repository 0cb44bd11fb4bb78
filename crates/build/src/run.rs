//! RUN: the command in a real container made through the engine (the same isolation as
//! `quai run`), its output relayed to the progress, its changes taken as a layer, the
//! container removed whatever happens.

use std::collections::BTreeMap;

use content::Digest;
use dockerfile::build::RunInvocation;
use engine::config::NetworkMode;
use engine::lifecycle::Engine;
use engine::resolve::CreateRequest;
use image::store::LayerDesc;

use crate::{Error, Progress};

/// Label on a build step's container: the builder process that owns it (`PID:START`),
/// so a later build removes the ones a killed build left.
pub const OWNER_LABEL: &str = "io.quai.build.owner";

/// How one RUN runs.
pub struct RunSpec<'a> {
    /// The image of the step's parent.
    pub image: &'a Digest,
    /// What to run.
    pub invocation: &'a RunInvocation,
    /// The environment (image's, ARGs, ENV).
    pub env: &'a [(String, String)],
    /// WORKDIR.
    pub workdir: &'a str,
    /// USER.
    pub user: &'a str,
    /// The network.
    pub network: NetworkMode,
    /// `--add-host` lines.
    pub extra_hosts: &'a [String],
    /// The step's mounts.
    pub mounts: &'a crate::mounts::Prepared,
    /// The parent's layer diff ids (its upper directory becomes the new layer's).
    pub parent_diff_ids: &'a [Digest],
}

fn owner_tag() -> String {
    let pid = std::process::id();
    let start = engine::process_start(pid as i32).unwrap_or(0);
    format!("{pid}:{start}")
}

/// Remove the step containers of builds whose process is gone.
pub fn remove_leftovers(eng: &mut Engine) {
    let Ok(recs) = eng.records() else {
        return;
    };
    for r in recs {
        let Some(owner) = r.config.labels.get(OWNER_LABEL) else {
            continue;
        };
        let alive = owner
            .split_once(':')
            .and_then(|(pid, start)| Some((pid.parse::<i32>().ok()?, start.parse::<u64>().ok()?)))
            .is_some_and(|(pid, start)| engine::process_alive(pid, start));
        if !alive {
            let _ = eng.remove(&r.id, true, true);
        }
    }
}

/// Run a RUN step; its layer (`None` if it changed nothing).
pub fn run(
    eng: &mut Engine,
    spec: &RunSpec<'_>,
    vertex: usize,
    progress: &mut dyn Progress,
) -> Result<Option<LayerDesc>, Error> {
    let mut labels = BTreeMap::new();
    labels.insert(OWNER_LABEL.to_string(), owner_tag());
    let mut req = CreateRequest {
        image: spec.image.to_string(),
        entrypoint: Some(vec![String::new()]),
        cmd: spec.invocation.args.clone(),
        workdir: Some(if spec.workdir.is_empty() {
            "/".into()
        } else {
            spec.workdir.to_string()
        }),
        user: (!spec.user.is_empty()).then(|| spec.user.to_string()),
        skip_image_volumes: true,
        hostname: Some("buildkitsandbox".into()),
        ..Default::default()
    };
    req.config.build_step = true;
    req.health.disable = true;
    req.config.env = spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    req.config.labels = labels;
    req.config.network_mode = spec.network.clone();
    req.config.extra_hosts = spec.extra_hosts.to_vec();
    req.config
        .env
        .extend(spec.mounts.env.iter().map(|(k, v)| format!("{k}={v}")));
    req.volumes.extend(spec.mounts.volumes.iter().cloned());
    req.tmpfs.extend(spec.mounts.tmpfs.iter().cloned());
    // A `#!` heredoc is a read-only executable file at the path BuildKit gives it.
    let script_dir = match &spec.invocation.script {
        Some(s) => {
            let dir = eng
                .run_dir()
                .join(format!("build-{}-{vertex}", std::process::id()));
            std::fs::create_dir_all(&dir)
                .map_err(|e| Error::Io(format!("create {}: {e}", dir.display())))?;
            let file = dir.join("script");
            std::fs::write(&file, &s.data)
                .map_err(|e| Error::Io(format!("write {}: {e}", file.display())))?;
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755));
            req.volumes
                .push(format!("{}:{}:ro", file.display(), s.path));
            Some(dir)
        }
        None => None,
    };
    let mut targets = spec.mounts.targets.clone();
    if let Some(s) = &spec.invocation.script {
        targets.push(s.path.clone());
    }
    let res = run_in(eng, req, &targets, spec.parent_diff_ids, vertex, progress);
    if let Some(d) = script_dir {
        let _ = std::fs::remove_dir_all(d);
    }
    res
}

fn run_in(
    eng: &mut Engine,
    req: CreateRequest,
    mount_targets: &[String],
    parent_diff_ids: &[Digest],
    vertex: usize,
    progress: &mut dyn Progress,
) -> Result<Option<LayerDesc>, Error> {
    let command = req.cmd.join(" ");
    let rec = eng.create(req)?;
    let id = rec.id.clone();
    let res = (|| {
        let (_, mut stream) = eng.start(&id, "oe")?;
        let mut code = None;
        loop {
            match engine::attach::recv(&mut stream) {
                Ok(Some((engine::attach::STDOUT | engine::attach::STDERR, data))) => {
                    progress.event(crate::Event::Output {
                        vertex,
                        data: &data,
                    });
                }
                Ok(Some((engine::attach::EXITED, data))) => {
                    code = String::from_utf8_lossy(&data).trim().parse::<i32>().ok();
                    break;
                }
                Ok(Some((engine::attach::FAILED, data))) => {
                    let msg =
                        String::from_utf8_lossy(data.get(1..).unwrap_or_default()).into_owned();
                    return Err(Error::Invalid(msg));
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        let code = match code {
            Some(c) => c,
            None => eng.wait(&id)?,
        };
        if code != 0 {
            return Err(Error::Run {
                command: command.clone(),
                code,
            });
        }
        Ok(eng.container_layer_adopting(&id, mount_targets, Some(parent_diff_ids))?)
    })();
    let removed = eng.remove(&id, true, true);
    let layer = res?;
    removed?;
    Ok(layer)
}
