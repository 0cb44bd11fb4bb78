//! Exec instances: `POST /containers/{id}/exec` records one, `POST /exec/{id}/start` runs
//! it through the engine's exec helper (a multi-threaded service cannot fork into a
//! container itself) with pipes, or a terminal with `Tty`, relayed over the hijacked
//! connection; `GET /exec/{id}/json` tells whether it runs and how it ended.
//!
//! The records live in the engine's run dir (`api/execs/ID.json`), not in this process,
//! so every service on the state sees them; like dockerd's they do not outlive a reboot,
//! and they go with their container.

use std::collections::HashMap;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::ApiError;

/// The terminals of the execs this service runs, for resizes.
#[derive(Debug, Default, Clone)]
pub struct Terminals(Arc<Mutex<HashMap<String, Arc<OwnedFd>>>>);

/// One exec instance as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    id: String,
    container: String,
    request: engine::exec::ExecRequest,
    attach_stdin: bool,
    attach_stdout: bool,
    attach_stderr: bool,
    detach_keys: String,
    running: bool,
    exit_code: Option<i32>,
    pid: i32,
    /// `ConsoleSize` of the create (rows, columns).
    #[serde(default)]
    size: Option<(u16, u16)>,
}

/// `ConsoleSize: [rows, columns]`, as the create and the start may carry it.
fn console_size(b: &Value) -> Option<(u16, u16)> {
    let a = b["ConsoleSize"].as_array()?;
    let size = (
        u16::try_from(a.first()?.as_u64()?).ok()?,
        u16::try_from(a.get(1)?.as_u64()?).ok()?,
    );
    (size.0 > 0 && size.1 > 0).then_some(size)
}

fn dir(st: &crate::State) -> PathBuf {
    st.run_dir.join("api").join("execs")
}

fn no_such_exec(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("No such exec instance: {id}"),
    )
}

fn load(st: &crate::State, id: &str) -> Result<Record, ApiError> {
    // Ids are ours (hex); anything else names no record and no path.
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(no_such_exec(id));
    }
    let b = std::fs::read(dir(st).join(format!("{id}.json"))).map_err(|_| no_such_exec(id))?;
    serde_json::from_slice(&b).map_err(|_| no_such_exec(id))
}

fn save(st: &crate::State, r: &Record) -> Result<(), ApiError> {
    let d = dir(st);
    let io = |e: std::io::Error| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
    std::fs::create_dir_all(&d).map_err(io)?;
    let tmp = d.join(format!(".{}.tmp", r.id));
    let b = serde_json::to_vec(r)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    std::fs::write(&tmp, b).map_err(io)?;
    std::fs::rename(&tmp, d.join(format!("{}.json", r.id))).map_err(io)
}

/// Forget the exec instances of a removed container.
pub(crate) fn forget_container(st: &crate::State, container: &str) {
    let Ok(rd) = std::fs::read_dir(dir(st)) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let gone = std::fs::read(&p)
            .ok()
            .and_then(|b| serde_json::from_slice::<Record>(&b).ok())
            .is_some_and(|r| r.container == container);
        if gone {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        Value::String(s) if !s.is_empty() => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// `POST /containers/{id}/exec`.
pub async fn create(
    State(st): State<crate::State>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let b = crate::json_body(&body)?;
    let cmd = strings(&b["Cmd"]);
    if cmd.is_empty() {
        return Err(ApiError::bad_request("No exec command specified"));
    }
    let keys = b["DetachKeys"].as_str().unwrap_or_default().to_string();
    if !keys.is_empty() {
        engine::attach::detach_keys(&keys).map_err(|e| ApiError::bad_request(e.to_string()))?;
    }
    let flag = |k: &str| b[k].as_bool().unwrap_or(false);
    let request = engine::exec::ExecRequest {
        cmd,
        interactive: flag("AttachStdin"),
        tty: flag("Tty"),
        detach: false,
        env: strings(&b["Env"]),
        workdir: b["WorkingDir"]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        user: b["User"]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        privileged: flag("Privileged"),
    };
    if let Some(w) = &request.workdir {
        engine::validate::workdir(w).map_err(|e| ApiError::bad_request(e.to_string()))?;
    }
    let container = st
        .with_engine(move |eng| {
            let r = eng
                .exec_target(&id)
                .map_err(crate::containers::no_such(&id))?;
            Ok(r.id)
        })
        .await?;
    let rec = Record {
        id: new_id()?,
        container,
        attach_stdin: request.interactive,
        attach_stdout: flag("AttachStdout"),
        attach_stderr: flag("AttachStderr"),
        request,
        detach_keys: keys,
        running: false,
        exit_code: None,
        pid: 0,
        size: console_size(&b),
    };
    save(&st, &rec)?;
    Ok((StatusCode::CREATED, Json(json!({ "Id": rec.id }))))
}

pub(crate) fn new_id() -> Result<String, ApiError> {
    engine::random_id().map_err(ApiError::from)
}

/// `GET /exec/{id}/json`.
pub async fn inspect(
    State(st): State<crate::State>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let r = load(&st, &id)?;
    let mut args = r.request.cmd.clone();
    let entrypoint = if args.is_empty() {
        String::new()
    } else {
        args.remove(0)
    };
    Ok(Json(json!({
        "CanRemove": false,
        "ContainerID": r.container,
        "DetachKeys": r.detach_keys,
        "ExitCode": r.exit_code,
        "ID": r.id,
        "OpenStderr": r.attach_stderr,
        "OpenStdin": r.attach_stdin,
        "OpenStdout": r.attach_stdout,
        "ProcessConfig": {
            "arguments": args,
            "entrypoint": entrypoint,
            "privileged": r.request.privileged,
            "tty": r.request.tty,
            "user": r.request.user.clone().unwrap_or_default(),
        },
        "Running": r.running,
        "Pid": r.pid,
    })))
}

/// The descriptors an exec runs with, and what the service keeps of them.
struct Plumbing {
    /// The helper's stdin, stdout, stderr.
    child: [OwnedFd; 3],
    /// Where the client's input goes (a pipe, or the terminal).
    input: Option<OwnedFd>,
    /// What the process writes: (stream, descriptor), stream 0 for a terminal.
    outputs: Vec<(u8, OwnedFd)>,
    /// The terminal, for resizes.
    terminal: Option<Arc<OwnedFd>>,
}

fn sys(what: &str) -> impl Fn(nix::errno::Errno) -> ApiError + '_ {
    move |e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("{what}: {e}"))
}

fn null() -> Result<OwnedFd, ApiError> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .map(OwnedFd::from)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

fn dup(fd: &OwnedFd) -> Result<OwnedFd, ApiError> {
    fd.try_clone()
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

fn plumbing(r: &Record, detach: bool, size: Option<(u16, u16)>) -> Result<Plumbing, ApiError> {
    use nix::fcntl::OFlag;
    if detach {
        return Ok(Plumbing {
            child: [null()?, null()?, null()?],
            input: None,
            outputs: Vec::new(),
            terminal: None,
        });
    }
    if r.request.tty {
        let pty = nix::pty::openpty(None, None).map_err(sys("openpty"))?;
        let master = Arc::new(pty.master);
        if let Some((h, w)) = size {
            set_size(&master, h, w);
        }
        let slave = pty.slave;
        return Ok(Plumbing {
            child: [dup(&slave)?, dup(&slave)?, slave],
            input: r.attach_stdin.then(|| dup(&master)).transpose()?,
            outputs: vec![(0, dup(&master)?)],
            terminal: Some(master),
        });
    }
    let (stdin, input) = if r.attach_stdin {
        let (rd, wr) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(sys("pipe"))?;
        (rd, Some(wr))
    } else {
        (null()?, None)
    };
    let mut outputs = Vec::new();
    let mut pipe_or_null = |want: bool, stream: u8| -> Result<OwnedFd, ApiError> {
        if !want {
            return null();
        }
        let (rd, wr) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(sys("pipe"))?;
        outputs.push((stream, rd));
        Ok(wr)
    };
    let stdout = pipe_or_null(r.attach_stdout, 1)?;
    let stderr = pipe_or_null(r.attach_stderr, 2)?;
    Ok(Plumbing {
        child: [stdin, stdout, stderr],
        input,
        outputs,
        terminal: None,
    })
}

fn set_size(fd: &OwnedFd, h: u16, w: u16) {
    let ws = libc::winsize {
        ws_row: h,
        ws_col: w,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads the winsize we own, on a terminal descriptor we hold.
    unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
}

/// `POST /exec/{id}/start` with `{"Detach", "Tty", "ConsoleSize"}`.
pub async fn start(
    State(st): State<crate::State>,
    Path(id): Path<String>,
    mut req: Request,
) -> Result<Response, ApiError> {
    let body = axum::body::to_bytes(std::mem::take(req.body_mut()), 1 << 20)
        .await
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let b = crate::json_body(&body)?;
    let detach = b["Detach"].as_bool().unwrap_or(false);
    let mut rec = load(&st, &id)?;
    let size = console_size(&b).or(rec.size);
    if rec.running || rec.exit_code.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("Error: Exec command {} is already running", rec.id),
        ));
    }
    let p = plumbing(&rec, detach, size)?;
    let want_in = rec.attach_stdin;
    let terminal = p.terminal.clone();
    let child_fds = p.child;
    let (container, request, is_tty) =
        (rec.container.clone(), rec.request.clone(), rec.request.tty);
    let child = st
        .with_engine(move |eng| {
            eng.exec_spawn(&container, &request, child_fds, is_tty)
                .map_err(ApiError::from)
        })
        .await?;
    rec.running = true;
    rec.pid = i32::try_from(child.id()).unwrap_or(0);
    save(&st, &rec)?;
    if let Some(t) = &terminal {
        if let Ok(mut m) = st.terminals.0.lock() {
            m.insert(rec.id.clone(), t.clone());
        }
    }
    let (out_tx, out) = tokio::sync::mpsc::channel::<Vec<u8>>(64);
    // Each output, read on a blocking thread: framed without a terminal.
    let mut readers = Vec::new();
    for (stream, fd) in p.outputs {
        let tx = out_tx.clone();
        readers.push(tokio::task::spawn_blocking(move || {
            let mut f = std::fs::File::from(fd);
            let mut buf = vec![0u8; 32 * 1024];
            loop {
                match f.read(&mut buf) {
                    Ok(n) if n > 0 => {
                        let bytes = if stream == 0 {
                            buf[..n].to_vec()
                        } else {
                            crate::containers::frame(stream, &buf[..n])
                        };
                        if tx.blocking_send(bytes).is_err() {
                            return;
                        }
                    }
                    // EIO: the terminal's other side is closed (the process is gone).
                    _ => return,
                }
            }
        }));
    }
    // The client's input into the pipe or the terminal.
    let (in_tx, mut in_rx) = tokio::sync::mpsc::channel::<Option<Vec<u8>>>(16);
    if let Some(fd) = p.input {
        let tty = rec.request.tty;
        let keys = engine::attach::detach_keys(&rec.detach_keys)
            .ok()
            .filter(|k| !k.is_empty() && !rec.detach_keys.is_empty())
            .unwrap_or_else(|| engine::attach::DEFAULT_DETACH_KEYS.to_vec());
        tokio::task::spawn_blocking(move || {
            use std::io::Write;
            let mut f = std::fs::File::from(fd);
            let mut esc = engine::attach::Escape::new(&keys);
            while let Some(Some(b)) = in_rx.blocking_recv() {
                let fed = if tty { esc.feed(&b) } else { Some(b) };
                let Some(d) = fed else {
                    return;
                };
                if f.write_all(&d).is_err() {
                    return;
                }
            }
            // End of input: the pipe closes; a terminal gets its ^D.
            if tty {
                let _ = f.write_all(&[4]);
            }
        });
    }
    // The end: the helper's status is the exit code, recorded before the connection
    // closes (the CLI asks for it as soon as the stream ends).
    let st2 = st.clone();
    tokio::task::spawn_blocking(move || {
        let mut child = child;
        let code = child
            .wait()
            .ok()
            .and_then(|s| {
                use std::os::unix::process::ExitStatusExt;
                s.code().or_else(|| s.signal().map(|n| 128 + n))
            })
            .unwrap_or(126);
        // What the process wrote last is still on its way: a moment for the readers.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        for r in readers {
            while !r.is_finished() && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        }
        rec.running = false;
        rec.exit_code = Some(code);
        let _ = save(&st2, &rec);
        if let Ok(mut m) = st2.terminals.0.lock() {
            m.remove(&rec.id);
        }
        drop(out_tx);
    });
    if detach {
        return Ok(StatusCode::OK.into_response());
    }
    let session = crate::hijack::Session {
        out,
        input: want_in.then_some(in_tx),
    };
    Ok(crate::hijack::respond(&mut req, is_tty, session))
}

/// `POST /exec/{id}/resize?h=&w=`.
pub async fn resize(
    State(st): State<crate::State>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<StatusCode, ApiError> {
    let (h, w) = crate::attach::size(&q)?;
    let rec = load(&st, &id)?;
    let t = st
        .terminals
        .0
        .lock()
        .ok()
        .and_then(|m| m.get(&rec.id).cloned());
    match t {
        Some(t) => {
            set_size(&t, h, w);
            Ok(StatusCode::OK)
        }
        None if !rec.running => Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("Exec {} is not running", rec.id),
        )),
        // Not a terminal (or another service's): nothing to size.
        None => Ok(StatusCode::OK),
    }
}
