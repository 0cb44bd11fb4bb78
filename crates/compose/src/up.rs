//! Running a project over the engine library.
use crate::cli::ComposeArgs;
use crate::load::Options;
use std::path::Path;
pub fn dispatch(_a: &ComposeArgs, _o: &Options, _root: &Path, _run: &Path) -> anyhow::Result<i32> {
    anyhow::bail!("not yet")
}
