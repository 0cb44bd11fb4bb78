//! Typed errors of the runtime library: each names the operation and the object.

use std::path::PathBuf;

/// Result alias for the runtime library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the runtime.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A system call on a named object failed.
    #[error("{op} {object}: {source}")]
    Sys {
        op: &'static str,
        object: String,
        #[source]
        source: nix::errno::Errno,
    },
    /// `config.json` is invalid; `field` is the JSON path of the fault.
    #[error("invalid config {path}: {field}: {message}")]
    Config {
        path: PathBuf,
        field: String,
        message: String,
    },
    /// The caller asked for something that cannot be done.
    #[error("{0}")]
    Invalid(String),
    /// No container of that id.
    #[error("container {0} does not exist")]
    NotFound(String),
    /// A container of that id already exists.
    #[error("container {0} already exists")]
    Exists(String),
    /// The container is in the wrong state for the operation.
    #[error("container {id} is {status}: cannot {op}")]
    WrongState {
        id: String,
        status: String,
        op: &'static str,
    },
    /// The container's init or exec process reported a failure.
    #[error("{0}")]
    Child(ChildError),
    /// A hook failed.
    #[error("{kind} hook {path}: {message}")]
    Hook {
        kind: &'static str,
        path: PathBuf,
        message: String,
    },
    /// A container was to be entered by a process whose executable could be overwritten
    /// from inside it (CVE-2019-5736 class): the caller skipped `selfexe::ensure_protected`.
    #[error("refusing to {op}: this process runs a writable quai binary (not re-executed from its read-only copy)")]
    Unprotected { op: &'static str },
    /// An operation failed and so did the cleanup after it.
    #[error("{error}; cleanup also failed: {cleanup}")]
    WithCleanup { error: Box<Error>, cleanup: String },
}

/// What kind of failure a container's process reported (Docker's exit statuses 127 and
/// 126 depend on it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildKind {
    /// The executable does not exist (127).
    NotFound,
    /// The executable exists but cannot be run (126).
    NotExecutable,
    /// Anything else (125).
    Other,
}

/// A failure reported by a container's process before it ran the user's program.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ChildError {
    /// Its kind.
    pub kind: ChildKind,
    /// What the user reads.
    pub message: String,
}

impl Error {
    /// A child's failure of no particular kind.
    pub fn child(message: impl Into<String>) -> Self {
        Error::Child(ChildError {
            kind: ChildKind::Other,
            message: message.into(),
        })
    }

    /// The failure as a child reports it to the runtime.
    pub fn to_child(&self) -> ChildError {
        match self {
            Error::Child(c) => c.clone(),
            other => ChildError {
                kind: ChildKind::Other,
                message: other.to_string(),
            },
        }
    }

    /// Shorthand for an [`Error::Io`].
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// Shorthand for an [`Error::Sys`].
    pub fn sys(
        op: &'static str,
        object: impl std::fmt::Display,
        source: nix::errno::Errno,
    ) -> Self {
        Error::Sys {
            op,
            object: object.to_string(),
            source,
        }
    }
}

/// Attach context to `std::io::Result` values.
pub trait IoContext<T> {
    /// Map an io error into [`Error::Io`] naming `op` and `path`.
    fn ctx(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn ctx(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|e| Error::io(op, path, e))
    }
}

/// Attach context to `nix::Result` values.
pub trait SysContext<T> {
    /// Map an errno into [`Error::Sys`] naming `op` and `object`.
    fn sys(self, op: &'static str, object: impl std::fmt::Display) -> Result<T>;
}

impl<T> SysContext<T> for nix::Result<T> {
    fn sys(self, op: &'static str, object: impl std::fmt::Display) -> Result<T> {
        self.map_err(|e| Error::sys(op, object, e))
    }
}
