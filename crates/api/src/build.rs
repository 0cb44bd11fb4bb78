//! `POST /build`: the classic builder's endpoint. The body is the context as a tar (plain
//! or compressed), unpacked into a private directory of the run dir; quai's builder runs
//! it in-process (the same `build::build` as `quai build`), and its progress goes back as
//! the classic builder's JSON lines (`Step 2/3 : RUN ...`, the step's output, `aux` with
//! the image id, `Successfully built`). Clients that build with the classic builder
//! (`DOCKER_BUILDKIT=0`, docker-py, compose v1) take this path; BuildKit's clients
//! (compose v2, buildx's "docker" driver) take `/grpc` and `/session` (`buildkit.rs`).
//! A BuildKit build through this endpoint (`version=2`, docker CLI 20.10 with BuildKit)
//! is served by `buildkit/classic.rs` with the context from the client's session.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::response::Response;
use serde_json::{json, Value};

use crate::ApiError;

/// The classic builder's progress, from the builder's events.
struct Legacy {
    lines: crate::stream::Lines,
    quiet: bool,
    /// The step under way is a FROM (its image is not a cache hit).
    from: bool,
}

impl Legacy {
    fn send(&self, v: Value) {
        let _ = self.lines.send(v);
    }

    fn stream(&self, s: &str) {
        if !self.quiet {
            self.send(json!({ "stream": s }));
        }
    }
}

/// `[2/3] RUN make` or `[stage-1 2/3] RUN make` as the classic builder's
/// `Step 2/3 : RUN make`; the builder's own vertices (`[internal] ...`, exporting) are
/// not steps.
fn step_line(name: &str) -> Option<String> {
    let rest = name.strip_prefix('[')?;
    let (label, instr) = rest.split_once("] ")?;
    let n = label.rsplit(' ').next()?;
    let (a, b) = n.split_once('/')?;
    if a.parse::<u32>().is_err() || b.parse::<u32>().is_err() {
        return None;
    }
    Some(format!("Step {n} : {instr}\n"))
}

impl build::Progress for Legacy {
    fn event(&mut self, ev: build::Event<'_>) {
        match ev {
            build::Event::Start { name, .. } => {
                if let Some(l) = step_line(name) {
                    self.from = l.contains(" : FROM ");
                    self.stream(&l);
                }
            }
            build::Event::Cached { .. } if !self.from => self.stream(" ---> Using cache\n"),
            build::Event::Output { data, .. } => self.stream(&String::from_utf8_lossy(data)),
            _ => {}
        }
    }
}

/// A failure as the classic builder words it, and the status the CLI exits with.
fn failure(e: &build::Error) -> (String, i32) {
    let mut cur = e;
    while let build::Error::Step { source, .. } = cur {
        cur = source;
    }
    match cur {
        build::Error::Run { command, code } => (
            format!("The command '{command}' returned a non-zero code: {code}"),
            *code,
        ),
        _ => (e.to_string(), 1),
    }
}

/// A context tar as the docker CLI sends it with `-f` outside the context: its stream
/// ends right after the last entry's data (Go's tar reader, dockerd's, takes that). A
/// plain tar is given the padding and the end-of-archive blocks it lacks; a compressed
/// one passes as it is.
struct Padded<R> {
    inner: R,
    head: Vec<u8>,
    plain: bool,
    read: u64,
    /// Zeros still to give once `inner` has ended.
    tail: Option<u64>,
}

impl<R: std::io::Read> Padded<R> {
    fn new(mut inner: R) -> Padded<R> {
        let mut head = vec![0u8; 512];
        let mut n = 0;
        while n < head.len() {
            match inner.read(&mut head[n..]) {
                Ok(0) | Err(_) => break,
                Ok(k) => n += k,
            }
        }
        head.truncate(n);
        let plain = image::layer::detect(&head) == image::layer::Compression::None;
        Padded {
            inner,
            head,
            plain,
            read: 0,
            tail: None,
        }
    }
}

impl<R: std::io::Read> std::io::Read for Padded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if !self.head.is_empty() {
            let n = buf.len().min(self.head.len());
            buf[..n].copy_from_slice(&self.head[..n]);
            self.head.drain(..n);
            self.read += n as u64;
            return Ok(n);
        }
        if let Some(left) = &mut self.tail {
            let n = (buf.len() as u64).min(*left) as usize;
            buf[..n].fill(0);
            *left -= n as u64;
            return Ok(n);
        }
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if n == 0 && self.plain && self.read > 0 {
            let pad = (512 - self.read % 512) % 512;
            self.tail = Some(pad + 1024);
            return self.read(buf);
        }
        Ok(n)
    }
}

/// The context directory, removed when the build is over.
struct Context(std::path::PathBuf);

impl Drop for Context {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn object(q: &[(String, String)], k: &str) -> Result<BTreeMap<String, String>, ApiError> {
    let mut out = BTreeMap::new();
    for (_, v) in q.iter().filter(|(key, v)| key == k && !v.is_empty()) {
        let m: BTreeMap<String, Option<String>> = serde_json::from_str(v)
            .map_err(|e| ApiError::bad_request(format!("{k}: invalid JSON: {e}")))?;
        out.extend(m.into_iter().filter_map(|(k, v)| Some((k, v?))));
    }
    Ok(out)
}

/// `POST /build?t=&dockerfile=&buildargs=&labels=&nocache=&pull=&q=&target=&networkmode=`.
pub async fn build(
    State(st): State<crate::State>,
    Query(q): Query<Vec<(String, String)>>,
    body: Body,
) -> Result<Response, ApiError> {
    let get = |k: &str| crate::query_last(&q, k);
    let flag = |k: &str| crate::query_flag(&q, k);
    if get("version") == Some("2") {
        return crate::buildkit::classic::build(st, q).await;
    }
    if get("remote").is_some_and(|r| !r.is_empty()) {
        return Err(ApiError::bad_request(
            "remote build contexts are not supported: send the context as the request body",
        ));
    }
    if let Some(p) = get("platform").filter(|p| !p.is_empty()) {
        if p != "linux/amd64" && p != "linux/x86_64" {
            return Err(ApiError::bad_request(format!(
                "platform {p:?} is not supported here (linux/amd64 only)"
            )));
        }
    }
    let tags = q
        .iter()
        .filter(|(k, v)| k == "t" && !v.is_empty())
        .map(|(_, t)| {
            t.parse::<image::Reference>()
                .map_err(|e| ApiError::bad_request(format!("invalid tag {t:?}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let network = match get("networkmode").unwrap_or("default") {
        "" | "default" | "bridge" => engine::config::NetworkMode::Bridge,
        "host" => engine::config::NetworkMode::Host,
        "none" => engine::config::NetworkMode::None,
        other => {
            return Err(ApiError::bad_request(format!(
                "network mode {other:?} not supported by the builder (default, host or none)"
            )))
        }
    };
    let build_args = object(&q, "buildargs")?;
    let labels = object(&q, "labels")?;
    let dockerfile_name = get("dockerfile")
        .filter(|d| !d.is_empty())
        .unwrap_or("Dockerfile")
        .to_string();
    let extra_hosts: Vec<String> = q
        .iter()
        .filter(|(k, v)| k == "extrahosts" && !v.is_empty())
        .flat_map(|(_, v)| v.split(',').map(str::to_string).collect::<Vec<_>>())
        .collect();
    let quiet = flag("q");
    let (no_cache, pull) = (flag("nocache"), flag("pull"));
    let target = get("target").filter(|t| !t.is_empty()).map(str::to_string);
    let dir = st
        .run_dir
        .join("api")
        .join(format!("build-{}", crate::exec::new_id()?));
    std::fs::create_dir_all(&dir)
        .map_err(|e| ApiError::bad_request(format!("create {}: {e}", dir.display())))?;
    let ctx = Context(dir);
    let reader = crate::stream::body_reader(body);
    let (lines, response) = crate::stream::Lines::new();
    let (root, run) = (st.root.clone(), st.run_dir.clone());
    tokio::task::spawn_blocking(move || {
        let mut out = Legacy {
            lines,
            quiet,
            from: false,
        };
        let built = (|| -> Result<content::Digest, (String, i32)> {
            image::layer::unpack(Padded::new(reader), &ctx.0)
                .map_err(|e| (format!("unpack the build context: {e}"), 1))?;
            // The Dockerfile is read inside the context, never through a link out of it.
            let dockerfile =
                engine::rootfs::read_file_in(&ctx.0, &dockerfile_name).map_err(|e| {
                    (
                        format!("Cannot locate specified Dockerfile: {dockerfile_name} ({e})"),
                        1,
                    )
                })?;
            let mut eng =
                engine::lifecycle::Engine::open(&root, &run).map_err(|e| (e.to_string(), 1))?;
            let name = std::path::Path::new(&dockerfile_name)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "Dockerfile".into());
            let req = build::BuildRequest {
                context: ctx.0.clone(),
                dockerfile,
                dockerfile_name: name,
                tags: tags.clone(),
                target,
                build_args,
                labels,
                no_cache,
                pull,
                network,
                extra_hosts,
                ..Default::default()
            };
            build::build(&mut eng, &req, &mut out).map_err(|e| failure(&e))
        })();
        // The context goes before the last line: a client that sees the end sees it gone.
        drop(ctx);
        match built {
            Ok(id) => {
                out.send(json!({"aux": {"ID": id.to_string()}}));
                if quiet {
                    out.send(json!({ "stream": format!("{id}\n") }));
                    return;
                }
                out.stream(&format!("Successfully built {}\n", &id.hex()[..12]));
                for t in &tags {
                    out.stream(&format!("Successfully tagged {}\n", t.familiar()));
                }
            }
            Err((message, code)) => {
                out.send(
                    json!({"errorDetail": {"code": code, "message": message}, "error": message}),
                );
            }
        }
    });
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tar_cut_after_its_last_data_is_completed() {
        use std::io::Read;
        let mut t = vec![0u8; 512];
        t[..4].copy_from_slice(b"file");
        t.extend_from_slice(b"47 bytes of data");
        let mut out = Vec::new();
        Padded::new(&t[..]).read_to_end(&mut out).expect("read");
        assert_eq!(out.len(), 1024 + 1024);
        assert_eq!(&out[..t.len()], &t[..]);
        let gz = [0x1f, 0x8b, 8, 0];
        let mut out = Vec::new();
        Padded::new(&gz[..]).read_to_end(&mut out).expect("read");
        assert_eq!(out, gz, "compressed: as it is");
    }

    #[test]
    fn steps_in_the_classic_builders_words() {
        assert_eq!(
            step_line("[2/3] RUN make").as_deref(),
            Some("Step 2/3 : RUN make\n")
        );
        assert_eq!(
            step_line("[build 1/4] FROM localbusybox").as_deref(),
            Some("Step 1/4 : FROM localbusybox\n")
        );
        assert_eq!(step_line("[internal] load build context"), None);
        assert_eq!(step_line("exporting to image"), None);
    }
}
