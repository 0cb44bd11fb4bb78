//! OCI hooks: run with the container state JSON on stdin, killed at their timeout.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oci_spec::runtime::Hook;

use crate::error::{Error, Result};

/// Run `hooks` of kind `kind` in order; stop at the first failure.
pub fn run(kind: &'static str, hooks: &[Hook], state_json: &[u8]) -> Result<()> {
    for h in hooks {
        run_one(kind, h, state_json)?;
    }
    Ok(())
}

fn run_one(kind: &'static str, h: &Hook, state_json: &[u8]) -> Result<()> {
    let fail = |message: String| Error::Hook {
        kind,
        path: h.path().clone(),
        message,
    };
    let mut cmd = Command::new(h.path());
    if let Some(args) = h.args() {
        if let Some((first, rest)) = args.split_first() {
            use std::os::unix::process::CommandExt;
            cmd.arg0(first);
            cmd.args(rest);
        }
    }
    cmd.env_clear();
    for kv in h.env().iter().flatten() {
        if let Some((k, v)) = kv.split_once('=') {
            cmd.env(k, v);
        }
    }
    cmd.stdin(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| fail(format!("start: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook may exit without reading its stdin: EPIPE is not an error.
        let _ = stdin.write_all(state_json);
    }
    let timeout = h
        .timeout()
        .filter(|t| *t > 0)
        .map(|t| Duration::from_secs(t as u64));
    let started = Instant::now();
    let mut nap = Duration::from_micros(50);
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(fail(format!("failed: {status}"))),
            Ok(None) => {}
            Err(e) => return Err(fail(format!("wait: {e}"))),
        }
        if let Some(t) = timeout {
            if started.elapsed() >= t {
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(format!("timed out after {}s", t.as_secs())));
            }
        }
        std::thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(json: &str) -> Hook {
        serde_json::from_str(json).expect("hook")
    }

    #[test]
    fn passes_state_on_stdin_and_reports_failure() {
        let tmp = tempfile::tempdir().expect("tmp");
        let out = tmp.path().join("out");
        let h = hook(&format!(
            r#"{{"path":"/bin/sh","args":["sh","-c","cat > {}"]}}"#,
            out.display()
        ));
        run("prestart", &[h], b"{\"id\":\"x\"}").expect("hook runs");
        assert_eq!(
            std::fs::read_to_string(&out).expect("out"),
            "{\"id\":\"x\"}"
        );
        let bad = hook(r#"{"path":"/bin/false"}"#);
        let e = run("poststop", &[bad], b"{}")
            .expect_err("fails")
            .to_string();
        assert!(e.contains("poststop hook /bin/false"), "{e}");
    }

    #[test]
    fn timeout_kills() {
        let h = hook(r#"{"path":"/bin/sleep","args":["sleep","10"],"timeout":1}"#);
        let t = Instant::now();
        let e = run("createRuntime", &[h], b"{}")
            .expect_err("times out")
            .to_string();
        assert!(e.contains("timed out"), "{e}");
        assert!(t.elapsed() < Duration::from_secs(5));
    }
}
