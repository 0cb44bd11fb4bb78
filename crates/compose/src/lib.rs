//! quai compose: compose-spec projects loaded as compose-go loads them, and run over the
//! engine library.

pub mod canon;
pub mod cli;
pub mod command;
pub mod config_cmd;
pub mod dotenv;
pub mod emit;
pub mod exec;
pub mod interpolate;
pub mod load;
pub mod logs;
pub mod merge;
pub mod normalize;
pub mod schema;
pub mod service;
pub mod up;
pub mod variables;
pub mod watch;
pub mod yaml;

/// The docker compose version quai compose matches (and writes in its labels).
pub const VERSION: &str = "2.40.3";
