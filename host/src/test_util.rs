//! Helpers for the unit tests: scratch directories and optional host tools.

use std::path::{Path, PathBuf};

/// A fresh directory under the system temp dir, removed on drop
/// (`tempfile`'s, with the test's tag in its name).
pub struct TempDir(tempfile::TempDir);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        TempDir(tempfile::Builder::new().prefix(&format!("overinit-test-{tag}-")).tempdir().unwrap())
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

/// The path of `name` if it is on `$PATH`.
pub fn tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| p.is_file())
}

/// A test that cannot run here: a note, or under `CI=true` a failure (CI
/// installs every tool, so a missing one there is a broken CI, not a pass).
pub fn cannot_run(why: &str) {
    assert!(std::env::var_os("CI").is_none_or(|v| v != "true"), "cannot run under CI=true: {why}");
    eprintln!("note: {why}; skipping");
}
