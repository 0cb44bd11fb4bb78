//! One lifecycle operation at a time per container: start, stop, restart, pause and
//! remove hold an exclusive lock on `<run>/locks/<id>` (a `flock`, so it dies with its
//! holders). `start` hands its lock to the monitor it spawns (the descriptor is inherited,
//! and a `flock` belongs to the open file, not the process), which keeps it until the
//! container runs or its start failed: a `rm -f` 5 ms after `run -d` waits for the start
//! to finish instead of racing it. The monitor takes the lock again for each restart.

use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use crate::{Error, Paths, Result};

/// How long a command waits for another one's operation on the same container.
const WAIT: Duration = Duration::from_secs(60);

/// The descriptor number the monitor receives its start lock on.
pub const MONITOR_FD: i32 = 4;

/// A held lock; released on drop (or when every process holding it has closed it).
#[derive(Debug)]
pub struct Held(File);

impl Held {
    /// The descriptor, to hand to a child.
    pub fn raw(&self) -> i32 {
        self.0.as_raw_fd()
    }

    /// Take the lock inherited on [`MONITOR_FD`], if there is one.
    pub fn inherited() -> Option<Held> {
        // SAFETY: fcntl(F_GETFD) only queries whether the descriptor is open.
        if unsafe { libc::fcntl(MONITOR_FD, libc::F_GETFD) } < 0 {
            return None;
        }
        // SAFETY: the spawning CLI put its lock file on this number for us alone.
        let fd = unsafe { OwnedFd::from_raw_fd(MONITOR_FD) };
        let f = File::from(fd);
        // Not into the container's processes.
        let _ = nix::fcntl::fcntl(
            &f,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
        );
        Some(Held(f))
    }
}

fn open(paths: &Paths, id: &str) -> Result<File> {
    let dir = paths.run.join("locks");
    std::fs::create_dir_all(&dir).map_err(|e| Error::io("create", &dir, e))?;
    let p = dir.join(id);
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&p)
        .map_err(|e| Error::io("open", &p, e))
}

/// Take the container's lock, waiting for another command's operation to finish.
pub fn container(paths: &Paths, id: &str) -> Result<Held> {
    let f = open(paths, id)?;
    let deadline = Instant::now() + WAIT;
    loop {
        match f.try_lock() {
            Ok(()) => return Ok(Held(f)),
            Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::Conflict(format!(
                    "container {id} is busy: another command has been starting, stopping or removing it for {}s",
                    WAIT.as_secs()
                )))
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(Error::io("lock", paths.run.join("locks").join(id), e))
            }
        }
    }
}

/// Take the lock if nobody holds it.
pub fn try_container(paths: &Paths, id: &str) -> Result<Option<Held>> {
    let f = open(paths, id)?;
    match f.try_lock() {
        Ok(()) => Ok(Some(Held(f))),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(Error::io("lock", paths.run.join("locks").join(id), e))
        }
    }
}

/// Forget a removed container's lock file (its holders keep their lock on the open file).
pub fn forget(paths: &Paths, id: &str) {
    let _ = std::fs::remove_file(paths.run.join("locks").join(id));
}
