//! The listening socket: a unix socket (root's, or a group's with `--group`), TCP (with
//! TLS and, with `--tlsverify`, client certificates), or a socket systemd passed
//! (`fd://`, socket activation: `LISTEN_PID`, `LISTEN_FDS`, descriptors from 3).

use std::os::fd::{FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::Arc;

use crate::{Error, Listen, Options, Tls};

/// A bound listener (and the socket file to remove at the end, when it is ours).
pub(crate) enum Bound {
    Unix(tokio::net::UnixListener, Option<PathBuf>),
    Tcp(tokio::net::TcpListener),
    Tls(tlslisten::Listener),
}

fn io_err(addr: impl std::fmt::Display) -> impl Fn(std::io::Error) -> Error {
    move |source| Error::Listen {
        addr: addr.to_string(),
        source,
    }
}

/// Bind (or take over) the listener.
pub(crate) async fn open(listen: &Listen, opts: &Options) -> Result<Bound, Error> {
    match listen {
        Listen::Unix(p) => {
            let _ = std::fs::remove_file(p);
            if let Some(dir) = p.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            // Nobody but root may connect between the bind and the chmod.
            // SAFETY: umask only changes this process's file creation mask.
            let old = unsafe { libc::umask(0o177) };
            let bound = tokio::net::UnixListener::bind(p);
            // SAFETY: as above, restoring the mask.
            unsafe { libc::umask(old) };
            let l = bound.map_err(io_err(p.display()))?;
            // Whoever can reach the socket can run anything as root: root only, or the
            // group it is shared with.
            use std::os::unix::fs::PermissionsExt;
            let mode = match opts.group {
                Some(gid) => {
                    std::os::unix::fs::chown(p, Some(0), Some(gid)).map_err(io_err(p.display()))?;
                    0o660
                }
                None => 0o600,
            };
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
                .map_err(io_err(p.display()))?;
            Ok(Bound::Unix(l, Some(p.clone())))
        }
        Listen::Tcp(a) => {
            let l = tokio::net::TcpListener::bind(a).await.map_err(io_err(a))?;
            match &opts.tls {
                Some(t) => Ok(Bound::Tls(
                    tlslisten::Listener::new(l, tls_config(t)?).map_err(io_err(a))?,
                )),
                None => Ok(Bound::Tcp(l)),
            }
        }
        Listen::Fd(n) => {
            let fd = activated(*n)?;
            let addr = format!("fd://{}", n.map(|n| n.to_string()).unwrap_or_default());
            let local = nix::sys::socket::getsockname::<nix::sys::socket::SockaddrStorage>(
                std::os::fd::AsRawFd::as_raw_fd(&fd),
            )
            .map_err(|e| io_err(&addr)(e.into()))?;
            if local.as_unix_addr().is_some() {
                let std_l = std::os::unix::net::UnixListener::from(fd);
                std_l.set_nonblocking(true).map_err(io_err(&addr))?;
                let l = tokio::net::UnixListener::from_std(std_l).map_err(io_err(&addr))?;
                Ok(Bound::Unix(l, None))
            } else {
                let std_l = std::net::TcpListener::from(fd);
                let a = std_l.local_addr().map_err(io_err(&addr))?;
                crate::check(&Listen::Tcp(a), opts)?;
                std_l.set_nonblocking(true).map_err(io_err(&addr))?;
                let l = tokio::net::TcpListener::from_std(std_l).map_err(io_err(&addr))?;
                Ok(Bound::Tcp(l))
            }
        }
    }
}

/// The socket systemd passed: `fd://N`, or the first (3).
fn activated(n: Option<i32>) -> Result<OwnedFd, Error> {
    let bad = |why: &str| Error::Address(format!("fd://: {why}"));
    let pid: u32 = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| bad("not started by socket activation (no LISTEN_PID)"))?;
    if pid != std::process::id() {
        return Err(bad("LISTEN_PID is another process's"));
    }
    let count: i32 = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|p| p.parse().ok())
        .filter(|c| *c > 0)
        .ok_or_else(|| bad("no sockets passed (LISTEN_FDS)"))?;
    let fd = n.unwrap_or(3);
    if fd < 3 || fd >= 3 + count {
        return Err(bad(&format!(
            "descriptor {fd} was not passed (LISTEN_FDS={count})"
        )));
    }
    // (The variables stay: a child sees LISTEN_PID is not its own.)
    // SAFETY: systemd passed `fd` open to this process (LISTEN_PID is ours) and nothing
    // else here owns it.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    let _ = nix::fcntl::fcntl(
        &owned,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    );
    Ok(owned)
}

fn tls_config(t: &Tls) -> Result<rustls::ServerConfig, Error> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |p: &PathBuf| {
        let path = p.clone();
        move |e: rustls::pki_types::pem::Error| Error::Tls {
            path: path.clone(),
            reason: e.to_string(),
        }
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&t.cert)
        .map_err(bad(&t.cert))?
        .collect::<Result<_, _>>()
        .map_err(bad(&t.cert))?;
    let key = PrivateKeyDer::from_pem_file(&t.key).map_err(bad(&t.key))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let refused = |path: &PathBuf| {
        let path = path.clone();
        move |e: rustls::Error| Error::Tls {
            path: path.clone(),
            reason: e.to_string(),
        }
    };
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(refused(&t.cert))?;
    let builder = match (&t.ca, t.verify) {
        (Some(ca), true) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_file_iter(ca).map_err(bad(ca))? {
                roots.add(c.map_err(bad(ca))?).map_err(refused(ca))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .map_err(|e| Error::Tls {
                path: ca.clone(),
                reason: e.to_string(),
            })?;
            builder.with_client_cert_verifier(verifier)
        }
        _ => builder.with_no_client_auth(),
    };
    builder
        .with_single_cert(certs, key)
        .map_err(refused(&t.cert))
}
