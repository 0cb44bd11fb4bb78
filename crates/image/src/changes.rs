//! `--change` instructions for `import` (and later `commit`): a Dockerfile subset that
//! edits an image config: CMD, ENTRYPOINT, ENV, WORKDIR, EXPOSE, USER, LABEL, VOLUME.

use serde_json::{json, Map, Value};

/// A `--change` that cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid --change {change:?}: {reason}")]
pub struct ChangeError {
    /// The instruction given.
    pub change: String,
    /// Why it is refused.
    pub reason: String,
}

/// JSON array form (`["a","b"]`) or shell form (`a b` -> `/bin/sh -c "a b"`).
fn command(args: &str) -> Result<Vec<String>, String> {
    let t = args.trim();
    if t.starts_with('[') {
        serde_json::from_str::<Vec<String>>(t).map_err(|e| format!("bad JSON array: {e}"))
    } else {
        Ok(vec!["/bin/sh".into(), "-c".into(), t.to_string()])
    }
}

/// `K=V K2="v 2"` or the legacy `K V`.
fn pairs(args: &str) -> Result<Vec<(String, String)>, String> {
    let t = args.trim();
    if !t.contains('=') {
        let (k, v) = t.split_once(char::is_whitespace).ok_or("want KEY=VALUE")?;
        return Ok(vec![(k.to_string(), v.trim().to_string())]);
    }
    let mut out = Vec::new();
    let mut rest = t;
    while !rest.is_empty() {
        let (k, after) = rest.split_once('=').ok_or("want KEY=VALUE")?;
        let k = k.trim();
        if k.is_empty() {
            return Err("empty key".into());
        }
        let (v, next) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"').ok_or("unterminated quote")?;
            (q[..end].to_string(), &q[end + 1..])
        } else {
            let end = after.find(char::is_whitespace).unwrap_or(after.len());
            (after[..end].to_string(), &after[end..])
        };
        out.push((k.to_string(), v));
        rest = next.trim_start();
    }
    Ok(out)
}

/// Apply `changes` to the `config` object of an image configuration.
pub fn apply(config: &mut Map<String, Value>, changes: &[String]) -> Result<(), ChangeError> {
    for change in changes {
        let fail = |reason: String| ChangeError {
            change: change.clone(),
            reason,
        };
        let (instr, args) = change
            .trim()
            .split_once(char::is_whitespace)
            .unwrap_or((change.trim(), ""));
        match instr.to_ascii_uppercase().as_str() {
            "CMD" => {
                config.insert("Cmd".into(), json!(command(args).map_err(fail)?));
            }
            "ENTRYPOINT" => {
                config.insert("Entrypoint".into(), json!(command(args).map_err(fail)?));
            }
            "ENV" => {
                let env = config.entry("Env").or_insert_with(|| json!([]));
                let list = env
                    .as_array_mut()
                    .ok_or_else(|| fail("Env is not a list".into()))?;
                for (k, v) in pairs(args).map_err(fail)? {
                    list.retain(|e| {
                        e.as_str()
                            .and_then(|s| s.split_once('='))
                            .is_none_or(|(ek, _)| ek != k)
                    });
                    list.push(json!(format!("{k}={v}")));
                }
            }
            "LABEL" => {
                let labels = config.entry("Labels").or_insert_with(|| json!({}));
                let map = labels
                    .as_object_mut()
                    .ok_or_else(|| fail("Labels is not a map".into()))?;
                for (k, v) in pairs(args).map_err(fail)? {
                    map.insert(k, json!(v));
                }
            }
            "WORKDIR" => {
                let d = args.trim();
                if !d.starts_with('/') {
                    return Err(fail("WORKDIR must be absolute".into()));
                }
                config.insert("WorkingDir".into(), json!(d));
            }
            "USER" => {
                if args.trim().is_empty() {
                    return Err(fail("USER needs a user".into()));
                }
                config.insert("User".into(), json!(args.trim()));
            }
            "EXPOSE" => {
                let ports = config.entry("ExposedPorts").or_insert_with(|| json!({}));
                let map = ports
                    .as_object_mut()
                    .ok_or_else(|| fail("ExposedPorts is not a map".into()))?;
                for p in args.split_whitespace() {
                    let (num, proto) = p.split_once('/').unwrap_or((p, "tcp"));
                    if num.parse::<u16>().is_err() || !matches!(proto, "tcp" | "udp" | "sctp") {
                        return Err(fail(format!("bad port {p:?}")));
                    }
                    map.insert(format!("{num}/{proto}"), json!({}));
                }
            }
            "VOLUME" => {
                let vols = config.entry("Volumes").or_insert_with(|| json!({}));
                let map = vols
                    .as_object_mut()
                    .ok_or_else(|| fail("Volumes is not a map".into()))?;
                let list: Vec<String> = if args.trim().starts_with('[') {
                    serde_json::from_str(args.trim())
                        .map_err(|e| fail(format!("bad JSON array: {e}")))?
                } else {
                    args.split_whitespace().map(str::to_string).collect()
                };
                for v in list {
                    map.insert(v, json!({}));
                }
            }
            other => {
                return Err(fail(format!(
                "{other} is not one of CMD, ENTRYPOINT, ENV, WORKDIR, EXPOSE, USER, LABEL, VOLUME"
            )))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_every_instruction() {
        let mut c = Map::new();
        let ch: Vec<String> = [
            r#"CMD ["/bin/httpd","-f"]"#,
            "ENTRYPOINT /init --x",
            "ENV A=1 B=\"two words\"",
            "ENV A 3",
            "WORKDIR /srv",
            "EXPOSE 80 53/udp",
            "USER nobody",
            "LABEL org.x=y",
            "VOLUME /data",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        apply(&mut c, &ch).expect("apply");
        let v = Value::Object(c);
        assert_eq!(v["Cmd"], json!(["/bin/httpd", "-f"]));
        assert_eq!(v["Entrypoint"], json!(["/bin/sh", "-c", "/init --x"]));
        assert_eq!(v["Env"], json!(["B=two words", "A=3"]));
        assert_eq!(v["WorkingDir"], "/srv");
        assert_eq!(v["ExposedPorts"], json!({"80/tcp": {}, "53/udp": {}}));
        assert_eq!(v["User"], "nobody");
        assert_eq!(v["Labels"], json!({"org.x": "y"}));
        assert_eq!(v["Volumes"], json!({"/data": {}}));
    }

    #[test]
    fn refuses_what_it_cannot_apply() {
        let mut c = Map::new();
        for bad in ["RUN true", "WORKDIR rel", "EXPOSE 99999", "CMD [oops"] {
            let e = apply(&mut c, &[bad.to_string()])
                .expect_err(bad)
                .to_string();
            assert!(e.contains(bad), "{e}");
        }
    }
}
