//! The staged scan (pre-commit): what the index adds over HEAD, or over nothing for an unborn
//! HEAD, minus what HEAD already held. During a merge (`MERGE_HEAD`), the commit will have the
//! merged commits as parents too, so what they held at a staged path is not new either (as a
//! `--range` of the merge commit sees it).

use std::collections::HashMap;
use std::path::Path;

use git2::{ObjectType, Oid, Repository};

use super::range::{dedupe_first, Subtractor};
use super::walk::{collect_diff, diff_options};
use super::{git_err, open, push_special, CommitChanges, GitOptions};
use crate::blob::{BlobSink, Collected};
use crate::cancel::Cancel;
use crate::error::{Error, Result};
use crate::finding::{SkipReason, Skipped};

/// Scans what the index adds over HEAD.
pub(crate) fn scan_staged(sink: &mut dyn BlobSink, opts: &GitOptions, cancel: &Cancel) -> Result<Collected> {
    let mut repo = open(&opts.root)?;
    if repo.is_bare() {
        return Err(Error::Usage(format!(
            "{}: --staged needs a work tree, not a bare repository",
            opts.root.display()
        )));
    }
    let heads = merge_heads(&mut repo);
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
    merge_parents_old(&repo, &heads, &mut ch);
    out.skipped.append(&mut ch.errors);
    let mut sub = Subtractor::new(&repo, sink, cancel, opts.max_file_size);
    let mut found = Vec::new();
    let mut special = HashMap::new();
    sub.run(&ch.changes, &ch.old, None, &mut out, &mut found, &mut special);
    push_special(&mut out, special);
    out.hits = dedupe_first(found, &HashMap::new());
    Ok(out)
}

/// The commits being merged (`MERGE_HEAD`): none outside a merge.
fn merge_heads(repo: &mut Repository) -> Vec<Oid> {
    let mut heads: Vec<Oid> = Vec::new();
    // No MERGE_HEAD (no merge in progress) is an error here, and means nothing to add.
    let _ = repo.mergehead_foreach(|oid| {
        heads.push(*oid);
        true
    });
    heads
}

/// During a merge, adds each merged commit's version of every staged path to the old blobs.
fn merge_parents_old(repo: &Repository, heads: &[Oid], ch: &mut CommitChanges) {
    for &head in heads {
        let tree = match repo.find_commit(head).and_then(|c| c.tree()) {
            Ok(t) => t,
            Err(e) => {
                ch.errors.push(Skipped {
                    path: format!("<MERGE_HEAD {head}>"),
                    reason: SkipReason::MissingObject,
                    detail: e.message().to_string(),
                });
                continue;
            }
        };
        for c in &ch.changes {
            if let Ok(entry) = tree.get_path(Path::new(&c.path)) {
                if entry.kind() == Some(ObjectType::Blob) {
                    ch.old.push((entry.id(), c.path.clone()));
                }
            }
        }
    }
}
