//! `inspect`: the generic inspect over containers (the engine's Docker-shaped document),
//! images, volumes and networks.

use engine::lifecycle::Engine;
use serde_json::json;

use engine::docker::container_inspect as inspect_json;

/// `inspect` (containers first, then images and volumes, like Docker's generic inspect).
pub fn inspect(
    eng: &mut Engine,
    names: &[String],
    format: Option<&str>,
    kind: Option<&str>,
    size: bool,
) -> anyhow::Result<i32> {
    if let Some(k) = kind {
        if !matches!(k, "container" | "image" | "volume" | "network") {
            anyhow::bail!("\"{k}\" is not a valid value for --type");
        }
    }
    let mut docs = Vec::new();
    let mut code = 0;
    for n in names {
        let doc = match kind {
            Some("container") | None => match eng.get(n) {
                Ok(r) => {
                    let mut d = inspect_json(eng, &r);
                    if size {
                        let images = eng.image_sizes().unwrap_or_default();
                        let (rw, root_fs) = eng.container_sizes(&r, &images);
                        d["SizeRw"] = json!(rw);
                        d["SizeRootFs"] = json!(root_fs);
                    }
                    Some(d)
                }
                Err(_) if kind.is_none() => None,
                Err(e) => {
                    eprintln!("Error: {e}");
                    code = 1;
                    continue;
                }
            },
            _ => None,
        };
        let doc = match doc {
            Some(d) => Some(d),
            None if kind.is_none() || kind == Some("image") => eng.image_inspect(n).ok(),
            None => None,
        };
        let doc = match doc {
            Some(d) => Some(d),
            None if kind.is_none() || kind == Some("volume") => eng
                .volume(n)
                .ok()
                .flatten()
                .map(|v| crate::common::volume_json(eng, &v)),
            None => None,
        };
        let doc = match doc {
            Some(d) => Some(d),
            None if kind.is_none() || kind == Some("network") => {
                engine::docker::network_by_name(eng, n)
            }
            None => None,
        };
        match doc {
            Some(d) => docs.push(d),
            None => {
                eprintln!("Error: No such object: {n}");
                code = 1;
            }
        }
    }
    crate::template::print_docs(&docs, format)?;
    Ok(code)
}
