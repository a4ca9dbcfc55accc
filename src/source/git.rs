//! Git sources (design.md §6): whole history, commit ranges and the staged index, with git2.
//! (Being written: see issue 3.)

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::scan::{Collected, Scanner};

/// Settings shared by the git sources.
#[derive(Debug, Clone)]
pub struct GitOptions {
    /// A path inside the repository (work tree or bare).
    pub root: PathBuf,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Blobs larger than this are skipped.
    pub max_file_size: u64,
}

/// Scans every blob reachable from any ref.
pub fn scan_history(_scanner: &Scanner, _opts: &GitOptions) -> Result<Collected> {
    Err(Error::Usage("--history is not available yet".into()))
}

/// Scans what the commits of `range` add.
pub fn scan_range(_scanner: &Scanner, _opts: &GitOptions, _range: &str) -> Result<Collected> {
    Err(Error::Usage("--range is not available yet".into()))
}

/// Scans what the index adds over HEAD.
pub fn scan_staged(_scanner: &Scanner, _opts: &GitOptions) -> Result<Collected> {
    Err(Error::Usage("--staged is not available yet".into()))
}
