//! Where COPY and ADD sources come from besides the context: downloads, git checkouts,
//! another stage's files as a directory; and the build's scratch directories.

use std::path::PathBuf;

use sha2::{Digest as _, Sha256};

use crate::Error;

pub(crate) fn is_url(p: &str) -> bool {
    (p.starts_with("http://") || p.starts_with("https://")) && !is_git(p)
}

pub(crate) fn is_git(p: &str) -> bool {
    p.starts_with("git@")
        || p.starts_with("git://")
        || ((p.starts_with("http://") || p.starts_with("https://"))
            && p.split(['?', '#'])
                .next()
                .is_some_and(|u| u.ends_with(".git")))
}

/// Check out a git source (`URL[#REF[:SUBDIR]]`) into the new directory `dir` with the
/// `git` program, as BuildKit's git source does; `.git` goes unless `keep_git_dir`.
/// Returns the directory to copy, relative to `dir`.
pub(crate) fn git_checkout(
    spec: &str,
    dir: &std::path::Path,
    keep_git_dir: bool,
) -> Result<String, Error> {
    let (url, fragment) = spec.split_once('#').unwrap_or((spec, ""));
    let (reference, subdir) = fragment.split_once(':').unwrap_or((fragment, ""));
    let fail = |m: String| Error::Invalid(format!("failed to load git source {url}: {m}"));
    let git = |args: &[&str], cwd: Option<&std::path::Path>| -> Result<(), Error> {
        let mut c = std::process::Command::new("git");
        c.args(args)
            .env("GIT_TERMINAL_PROMPT", "0")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null());
        if let Some(d) = cwd {
            c.current_dir(d);
        }
        let o = c.output().map_err(|e| fail(format!("run git: {e}")))?;
        if !o.status.success() {
            return Err(fail(
                String::from_utf8_lossy(&o.stderr)
                    .trim()
                    .lines()
                    .last()
                    .unwrap_or("")
                    .to_string(),
            ));
        }
        Ok(())
    };
    let repo = dir.join("repo");
    std::fs::create_dir_all(&repo).map_err(|e| fail(e.to_string()))?;
    git(&["init", "-q"], Some(&repo))?;
    let want = if reference.is_empty() {
        "HEAD"
    } else {
        reference
    };
    // A shallow fetch of a branch, a tag or a commit; servers that refuse a commit by
    // id get a full fetch.
    let fetched = git(&["fetch", "-q", "--depth", "1", url, want], Some(&repo))
        .or_else(|_| git(&["fetch", "-q", url, want], Some(&repo)));
    if fetched.is_ok() {
        git(&["checkout", "-q", "FETCH_HEAD"], Some(&repo))?;
    } else {
        git(
            &[
                "fetch",
                "-q",
                url,
                "+refs/heads/*:refs/remotes/origin/*",
                "+refs/tags/*:refs/tags/*",
            ],
            Some(&repo),
        )?;
        git(&["checkout", "-q", want], Some(&repo))?;
    }
    if !keep_git_dir {
        std::fs::remove_dir_all(repo.join(".git")).map_err(|e| fail(e.to_string()))?;
    }
    let sub = subdir.trim_matches('/');
    Ok(if sub.is_empty() {
        "repo".into()
    } else {
        format!("repo/{sub}")
    })
}

/// Download `url` into the new directory `dir` as ADD does (mode 0600, the name from the
/// URL's path), checking `checksum` (`sha256:HEX`) when given. Returns the file's name.
pub(crate) fn download(url: &str, dir: &std::path::Path, checksum: &str) -> Result<String, Error> {
    let fail = |m: String| Error::Invalid(format!("failed to load {url}: {m}"));
    std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
    let path_part = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .splitn(4, '/')
        .nth(3)
        .unwrap_or("");
    let name = path_part
        .rsplit('/')
        .find(|s| !s.is_empty())
        .unwrap_or("__unnamed__")
        .to_string();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(300)))
        .user_agent(concat!("quai/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let resp = agent.get(url).call().map_err(|e| fail(e.to_string()))?;
    let file = dir.join(&name);
    let mut out = std::fs::File::create(&file).map_err(|e| fail(e.to_string()))?;
    let mut body = resp.into_body().into_reader();
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = std::io::Read::read(&mut body, &mut buf).map_err(|e| fail(e.to_string()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        std::io::Write::write_all(&mut out, &buf[..n]).map_err(|e| fail(e.to_string()))?;
    }
    let got = format!("sha256:{}", hex::encode(h.finalize()));
    if !checksum.is_empty() && checksum != got {
        return Err(Error::Invalid(format!(
            "digest mismatch for {url}: {got}, expected {checksum}"
        )));
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| fail(e.to_string()))?;
    Ok(name)
}

/// Sizes as BuildKit's progress prints them (`2.10kB`, `80.01MB`).
pub(crate) fn human_bytes(b: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1000.0 && i < units.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    if i == 0 {
        format!("{b}B")
    } else {
        format!("{v:.2}{}", units[i])
    }
}

/// Write the files of `tree` into the new directory `dir`.
pub(crate) fn flatten_into(
    tree: &image::flatten::Tree,
    dir: &std::path::Path,
) -> Result<(), Error> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::Io(format!("create {}: {e}", dir.display())))?;
    let (reader, writer) = std::io::pipe().map_err(|e| Error::Io(format!("pipe: {e}")))?;
    std::thread::scope(|s| {
        let producer = s.spawn(move || {
            image::flatten::write_flat(tree.layers(), std::io::BufWriter::new(writer))
        });
        let unpacked = image::layer::unpack(reader, dir);
        let produced = producer
            .join()
            .map_err(|_| Error::Io("the copy writer panicked".into()))?;
        produced.map_err(|e| Error::Io(e.to_string()))?;
        unpacked.map_err(|e| Error::Io(e.to_string()))?;
        Ok(())
    })
}

pub(crate) fn tempdir_in(dir: &std::path::Path) -> Result<PathBuf, Error> {
    let d = dir.join(format!(
        "build-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    std::fs::create_dir_all(&d).map_err(|e| Error::Io(format!("create {}: {e}", d.display())))?;
    Ok(d)
}
