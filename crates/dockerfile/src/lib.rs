//! Dockerfiles read exactly as Docker's BuildKit frontend reads them, without doing any
//! I/O: this crate gets text and options and returns data; it never opens files, never
//! talks to a registry and never runs anything. It must not depend on the engine or the
//! builder (the builder depends on it).
//!
//! It owns:
//! - the line parser ([`lexer`]): parser directives, comments, continuations with the
//!   escape character, heredocs, flags, JSON versus shell form;
//! - shell-word expansion ([`shell_words`]): quotes, escapes, `$V`, `${V...}` forms;
//! - typed instructions ([`instructions`]) with BuildKit's argument checks and messages;
//! - stages and their expansion for a build ([`build`]): ARG scoping, build arguments,
//!   platform arguments, the stage graph and which stages a target needs;
//! - the rules of `docker build --check` ([`checks`]) and their text output.
//!
//! Entry points: [`Dockerfile::parse`], [`build::plan`], [`checks::check`].

pub mod build;
pub mod checks;
mod dockerfile;
mod duration;
mod error;
pub mod instructions;
pub mod lexer;
mod quote;
pub mod shell_words;
mod suggest;

pub use dockerfile::{Dockerfile, Stage};
pub use duration::parse_go_duration;
pub use error::{Error, Lines};
pub use quote::go_quote;
