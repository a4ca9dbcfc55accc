//! Reading a history: the commits reachable from every ref, and what each commit (or the index)
//! added or changed, by comparing trees.
//!
//! The tree comparison reads only subtrees whose ids differ on the two sides, which is what
//! makes a walk of many commits cheap; it has no rename detection (a renamed file is a new path
//! with an old blob, which the blob index already knows).

use std::path::Path;

use git2::{Delta, DiffOptions, FileMode, ObjectType, Oid, Repository, Sort, Tree, TreeEntry};

use super::{git_err, path_of, provenance, Change, ChangeKind, CommitChanges, CommitInfo, OidMap};
use crate::error::Result;
use crate::finding::{SkipReason, Skipped};

/// The changes of a diff: new-side blobs of added, modified, renamed, copied or retyped entries,
/// and the old-side blobs of modified, deleted, renamed and retyped ones.
pub(super) fn collect_diff(diff: &git2::Diff<'_>, out: &mut CommitChanges) {
    for delta in diff.deltas() {
        let old = delta.old_file();
        let new = delta.new_file();
        if matches!(delta.status(), Delta::Modified | Delta::Deleted | Delta::Renamed | Delta::Typechange)
            && !old.id().is_zero()
            && matches!(old.mode(), FileMode::Blob | FileMode::BlobExecutable)
        {
            out.old.push((old.id(), path_of(old.path_bytes(), old.path())));
        }
        if !matches!(
            delta.status(),
            Delta::Added | Delta::Modified | Delta::Renamed | Delta::Copied | Delta::Typechange
        ) || new.id().is_zero()
        {
            continue;
        }
        let kind = match new.mode() {
            FileMode::Blob | FileMode::BlobExecutable => ChangeKind::File,
            FileMode::Link => ChangeKind::Symlink,
            FileMode::Commit => ChangeKind::Submodule,
            _ => continue,
        };
        // `old` serves history scans only, which diff trees with `diff_trees`.
        out.changes.push(Change { path: path_of(new.path_bytes(), new.path()), blob: new.id(), kind, old: None });
    }
}

pub(super) fn diff_options() -> DiffOptions {
    let mut o = DiffOptions::new();
    o.ignore_submodules(false).skip_binary_check(true).include_typechange(true);
    o
}

/// The tree of a commit's parent `i`, or `None` when the parent is absent (root commit, or cut
/// off by a shallow clone).
fn parent_tree<'r>(commit: &git2::Commit<'r>, i: usize) -> Option<Tree<'r>> {
    commit.parent(i).ok().and_then(|p| p.tree().ok())
}

const MODE_TREE: i32 = 0o040000;
const MODE_LINK: i32 = 0o120000;
const MODE_SUBMODULE: i32 = 0o160000;

/// The entries of `tree`, by name (bytewise: git orders a directory as if its name ended in `/`,
/// which would not pair a file with a directory of the same name). Borrowed: nothing is copied.
fn entries<'t>(tree: Option<&'t Tree<'_>>) -> Vec<TreeEntry<'t>> {
    let mut v: Vec<TreeEntry<'t>> = tree.map(|t| t.iter().collect()).unwrap_or_default();
    v.sort_by(|a, b| a.name_bytes().cmp(b.name_bytes()));
    v
}

fn is_blob_mode(mode: i32) -> bool {
    mode != MODE_TREE && mode != MODE_LINK && mode != MODE_SUBMODULE
}

/// The changes from tree `old` to tree `new` (either may be absent), like a diff without rename
/// detection, but without reading subtrees whose ids are equal on both sides: what a commit
/// added or modified (with the blob it replaced at the same path) and the old blobs of what it
/// modified or removed.
pub(super) fn diff_trees(
    repo: &Repository,
    old: Option<&Tree<'_>>,
    new: Option<&Tree<'_>>,
    prefix: &mut Vec<u8>,
    out: &mut CommitChanges,
) {
    let (olds, news) = (entries(old), entries(new));
    let (mut i, mut j) = (0, 0);
    while i < olds.len() || j < news.len() {
        let ord = match (olds.get(i), news.get(j)) {
            (Some(o), Some(n)) => o.name_bytes().cmp(n.name_bytes()),
            (Some(_), None) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        let (o, n) = match ord {
            std::cmp::Ordering::Less => {
                i += 1;
                (olds.get(i - 1), None)
            }
            std::cmp::Ordering::Greater => {
                j += 1;
                (None, news.get(j - 1))
            }
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
                (olds.get(i - 1), news.get(j - 1))
            }
        };
        if let (Some(o), Some(n)) = (o, n) {
            if o.id() == n.id() && o.filemode() == n.filemode() {
                continue;
            }
        }
        let name = o.or(n).map(|e| e.name_bytes()).unwrap_or_default();
        let len = prefix.len();
        if len > 0 {
            prefix.push(b'/');
        }
        prefix.extend_from_slice(name);
        let old_tree = o.filter(|e| e.filemode() == MODE_TREE);
        let new_tree = n.filter(|e| e.filemode() == MODE_TREE);
        if old_tree.is_some() || new_tree.is_some() {
            let load = |e: Option<&TreeEntry>, out: &mut CommitChanges| match e {
                Some(e) => match repo.find_tree(e.id()) {
                    Ok(t) => Some(t),
                    Err(err) => {
                        out.errors.push(Skipped {
                            path: format!("<tree {}>", e.id()),
                            reason: SkipReason::MissingObject,
                            detail: err.message().to_string(),
                        });
                        None
                    }
                },
                None => None,
            };
            let (ot, nt) = (load(old_tree, out), load(new_tree, out));
            diff_trees(repo, ot.as_ref(), nt.as_ref(), prefix, out);
        }
        let path = || path_of(Some(prefix.as_slice()), None);
        let old_blob = o.filter(|e| is_blob_mode(e.filemode()));
        if let Some(ob) = old_blob {
            out.old.push((ob.id(), path()));
        }
        if let Some(nb) = n.filter(|e| e.filemode() != MODE_TREE) {
            let kind = match nb.filemode() {
                MODE_LINK => ChangeKind::Symlink,
                MODE_SUBMODULE => ChangeKind::Submodule,
                _ => ChangeKind::File,
            };
            let replaced = old_blob.filter(|_| kind == ChangeKind::File).map(|e| e.id());
            out.changes.push(Change { path: path(), blob: nb.id(), kind, old: replaced });
        }
        prefix.truncate(len);
    }
}

/// Diffs a commit against its first parent (or the empty tree). With `all_parents`, also records
/// the other parents' versions of each changed path as old blobs.
pub(super) fn commit_changes(repo: &Repository, oid: Oid, all_parents: bool) -> CommitChanges {
    let mut out = CommitChanges::default();
    let missing = |what: &str, e: git2::Error| Skipped {
        path: format!("<{what} {oid}>"),
        reason: SkipReason::MissingObject,
        detail: e.message().to_string(),
    };
    let commit = match repo.find_commit(oid) {
        Ok(c) => c,
        Err(e) => {
            out.errors.push(missing("commit", e));
            return out;
        }
    };
    let tree = match commit.tree() {
        Ok(t) => t,
        Err(e) => {
            out.errors.push(missing("tree of commit", e));
            return out;
        }
    };
    let parent = parent_tree(&commit, 0);
    let mut prefix = Vec::new();
    diff_trees(repo, parent.as_ref(), Some(&tree), &mut prefix, &mut out);
    if all_parents {
        for i in 1..commit.parent_count() {
            let Some(pt) = parent_tree(&commit, i) else { continue };
            for c in &out.changes {
                if let Ok(entry) = pt.get_path(Path::new(&c.path)) {
                    if entry.kind() == Some(ObjectType::Blob) {
                        out.old.push((entry.id(), c.path.clone()));
                    }
                }
            }
        }
    }
    out
}

/// Every commit reachable from any ref, HEAD and the stash reflog, oldest first.
pub(super) fn all_commits(repo: &Repository, skipped: &mut Vec<Skipped>) -> Result<Vec<Oid>> {
    let mut walk = repo.revwalk().map_err(git_err("cannot walk the history"))?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE).map_err(git_err("cannot walk the history"))?;
    let mut pushed = 0usize;
    let refs = repo.references().map_err(git_err("cannot list references"))?;
    for r in refs {
        let Ok(r) = r else { continue };
        if let Ok(c) = r.peel_to_commit() {
            if walk.push(c.id()).is_ok() {
                pushed += 1;
            }
        }
    }
    if let Ok(head) = repo.head() {
        if let Ok(c) = head.peel_to_commit() {
            if walk.push(c.id()).is_ok() {
                pushed += 1;
            }
        }
    }
    if let Ok(reflog) = repo.reflog("refs/stash") {
        for entry in reflog.iter() {
            if walk.push(entry.id_new()).is_ok() {
                pushed += 1;
            }
        }
    }
    if pushed == 0 {
        return Ok(Vec::new());
    }
    let mut commits = Vec::new();
    for oid in walk {
        match oid {
            Ok(o) => commits.push(o),
            Err(e) => skipped.push(Skipped {
                path: "<history>".into(),
                reason: SkipReason::MissingObject,
                detail: format!("the commit walk stopped early: {}", e.message()),
            }),
        }
    }
    Ok(commits)
}

/// Loads provenance for the given commits (in their order).
pub(super) fn commit_infos(repo: &Repository, commits: &[Oid]) -> OidMap<CommitInfo> {
    let mut infos = OidMap::with_capacity_and_hasher(commits.len(), Default::default());
    for (order, &oid) in commits.iter().enumerate() {
        if let Ok(c) = repo.find_commit(oid) {
            infos.insert(oid, CommitInfo { provenance: provenance(&c), order });
        }
    }
    infos
}
