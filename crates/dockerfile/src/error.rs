//! One error type for every stage of reading a Dockerfile. Messages are BuildKit's, so a
//! user sees the same text as with `docker build`; the lines say where in the file.

/// Lines of the Dockerfile (1-based, inclusive) that an error or a warning points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Lines {
    pub start: usize,
    pub end: usize,
}

impl Lines {
    /// One line.
    pub fn one(line: usize) -> Lines {
        Lines {
            start: line,
            end: line,
        }
    }

    /// From `start` to `end`; like BuildKit an end before the start means the start alone.
    pub fn span(start: usize, end: usize) -> Lines {
        Lines {
            start,
            end: end.max(start),
        }
    }
}

/// Why a Dockerfile could not be read or planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The line parser refused the file (directives, heredocs, an empty file): BuildKit
    /// prints these without a line prefix.
    #[error("{message}")]
    Syntax { message: String, lines: Lines },
    /// One instruction is malformed (unknown instruction, bad flag, wrong argument count).
    #[error("dockerfile parse error on line {}: {message}", lines.start)]
    Instruction { message: String, lines: Lines },
    /// Expanding variables or resolving stages failed while planning a build.
    #[error("{message}")]
    Plan {
        message: String,
        lines: Option<Lines>,
    },
}

impl Error {
    pub(crate) fn syntax(message: impl Into<String>, lines: Lines) -> Error {
        Error::Syntax {
            message: message.into(),
            lines,
        }
    }

    pub(crate) fn plan(message: impl Into<String>, lines: Option<Lines>) -> Error {
        Error::Plan {
            message: message.into(),
            lines,
        }
    }

    /// The lines the error points at, if any.
    pub fn lines(&self) -> Option<Lines> {
        match self {
            Error::Syntax { lines, .. } | Error::Instruction { lines, .. } => Some(*lines),
            Error::Plan { lines, .. } => *lines,
        }
    }

    /// The message without the `dockerfile parse error on line N:` prefix.
    pub fn message(&self) -> &str {
        match self {
            Error::Syntax { message, .. }
            | Error::Instruction { message, .. }
            | Error::Plan { message, .. } => message,
        }
    }
}
