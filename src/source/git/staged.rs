//! The staged scan (pre-commit): what the index adds over HEAD, or over nothing for an unborn
//! HEAD, minus what HEAD already held.

use std::collections::HashMap;

use super::range::{dedupe_first, Subtractor};
use super::walk::{collect_diff, diff_options};
use super::{git_err, open, push_special, CommitChanges, GitOptions};
use crate::blob::{BlobSink, Collected};
use crate::cancel::Cancel;
use crate::error::{Error, Result};

/// Scans what the index adds over HEAD.
pub(crate) fn scan_staged(sink: &mut dyn BlobSink, opts: &GitOptions, cancel: &Cancel) -> Result<Collected> {
    let repo = open(&opts.root)?;
    if repo.is_bare() {
        return Err(Error::Usage(format!(
            "{}: --staged needs a work tree, not a bare repository",
            opts.root.display()
        )));
    }
    let mut out = Collected::default();
    let head_tree = match repo.head() {
        Ok(h) => Some(h.peel_to_tree().map_err(git_err("cannot read HEAD's tree"))?),
        Err(e) if e.code() == git2::ErrorCode::UnbornBranch || e.code() == git2::ErrorCode::NotFound => None,
        Err(e) => return Err(git_err("cannot read HEAD")(e)),
    };
    let index = repo.index().map_err(git_err("cannot read the index"))?;
    let mut dopts = diff_options();
    let diff = repo
        .diff_tree_to_index(head_tree.as_ref(), Some(&index), Some(&mut dopts))
        .map_err(git_err("cannot compare the index with HEAD"))?;
    let mut ch = CommitChanges::default();
    collect_diff(&diff, &mut ch);
    let mut sub = Subtractor::new(&repo, sink, cancel, opts.max_file_size);
    let mut found = Vec::new();
    let mut special = HashMap::new();
    sub.run(&ch.changes, &ch.old, None, &mut out, &mut found, &mut special);
    push_special(&mut out, special);
    out.hits = dedupe_first(found, &HashMap::new());
    Ok(out)
}
