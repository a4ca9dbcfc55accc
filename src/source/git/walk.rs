//! Reading a history: the commits reachable from every ref, and what each commit (or the index)
//! added or changed, by comparing trees.
//!
//! The tree comparison reads only subtrees whose ids differ on the two sides, which is what
//! makes a walk of many commits cheap; it has no rename detection (a renamed file is a new path
//! with an old blob, which the blob index already knows).

use std::path::Path;

use git2::{Delta, DiffOptions, FileMode, ObjectType, Oid, Repository, Sort, Tree, TreeEntry};

use super::raw::{parse_commit, RawCommit};
use super::{
    git_err, path_of, provenance, read_error, time_of, Change, ChangeKind, CommitChanges, CommitInfo, OidMap, OidSet,
};
use crate::blob::Provenance;
use crate::cancel::{stall_point, Cancel};
use crate::error::Result;
use crate::finding::{self, SkipReason, Skipped};

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
                            detail: read_error(repo, e.id(), &err),
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

/// A commit as libgit2 parses it, or for one it refuses (a bad date, a malformed signature),
/// what its raw text gives, with libgit2's reason.
pub(super) enum Loaded<'r> {
    Parsed(git2::Commit<'r>),
    Raw(Box<RawCommit>, String),
}

impl Loaded<'_> {
    fn tree_id(&self) -> Option<Oid> {
        match self {
            Loaded::Parsed(c) => Some(c.tree_id()),
            Loaded::Raw(r, _) => r.tree,
        }
    }

    fn parent_ids(&self) -> Vec<Oid> {
        match self {
            Loaded::Parsed(c) => c.parent_ids().collect(),
            Loaded::Raw(r, _) => r.parents.clone(),
        }
    }
}

/// Loads commit `oid`, falling back to its raw text when libgit2 cannot parse it. `Err` says
/// why it cannot be read at all (missing, corrupt, not a commit, no tree).
pub(super) fn load_commit(repo: &Repository, oid: Oid) -> std::result::Result<Loaded<'_>, String> {
    let err = match repo.find_commit(oid) {
        Ok(c) => return Ok(Loaded::Parsed(c)),
        Err(e) => e,
    };
    let why = read_error(repo, oid, &err);
    if err.code() == git2::ErrorCode::NotFound {
        return Err(why);
    }
    let odb = repo.odb().map_err(|_| why.clone())?;
    let raw = odb.read(oid).ok().filter(|o| o.kind() == ObjectType::Commit).map(|o| parse_commit(o.data()));
    match raw {
        Some(r) if r.tree.is_some() => Ok(Loaded::Raw(Box::new(r), why)),
        _ => Err(why),
    }
}

/// The tree of commit `oid` (parsed or raw), if it can be read.
pub(super) fn commit_tree(repo: &Repository, oid: Oid) -> Option<Tree<'_>> {
    let id = load_commit(repo, oid).ok()?.tree_id()?;
    repo.find_tree(id).ok()
}

/// Diffs a commit against its first parent (or the empty tree). With `all_parents`, also records
/// the other parents' versions of each changed path as old blobs. A commit libgit2 cannot parse
/// is diffed from its raw text, and reported.
pub(super) fn commit_changes(repo: &Repository, oid: Oid, all_parents: bool) -> CommitChanges {
    stall_point("diff");
    let mut out = CommitChanges::default();
    let missing = |path: String, detail: String| Skipped { path, reason: SkipReason::MissingObject, detail };
    let commit = match load_commit(repo, oid) {
        Ok(c) => c,
        Err(why) => {
            out.errors.push(missing(format!("<commit {oid}>"), why));
            return out;
        }
    };
    if let Loaded::Raw(_, why) = &commit {
        let detail = format!("cannot be parsed ({why}): its tree was scanned from its raw text");
        out.errors.push(missing(format!("<commit {oid}>"), detail));
    }
    let Some(tree_id) = commit.tree_id() else { return out };
    let tree = match repo.find_tree(tree_id) {
        Ok(t) => t,
        Err(e) => {
            let detail = read_error(repo, tree_id, &e);
            out.errors.push(missing(format!("<tree {tree_id} of commit {oid}>"), detail));
            return out;
        }
    };
    let parents = commit.parent_ids();
    let parent = parents.first().and_then(|p| commit_tree(repo, *p));
    let mut prefix = Vec::new();
    diff_trees(repo, parent.as_ref(), Some(&tree), &mut prefix, &mut out);
    if all_parents {
        for p in parents.iter().skip(1) {
            let Some(pt) = commit_tree(repo, *p) else { continue };
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

/// The commit a reference leads to: peeled by libgit2, or for a commit it cannot parse, the
/// reference's target (through one annotated tag) when that is a commit object.
fn tip_of(repo: &Repository, r: &git2::Reference<'_>) -> Option<Oid> {
    if let Ok(c) = r.peel_to_commit() {
        return Some(c.id());
    }
    let mut id = r.resolve().ok()?.target()?;
    let odb = repo.odb().ok()?;
    if let Ok((_, ObjectType::Tag)) = odb.read_header(id) {
        id = repo.find_tag(id).ok()?.target_id();
    }
    match odb.read_header(id) {
        Ok((_, ObjectType::Commit)) | Err(_) => Some(id),
        Ok(_) => None,
    }
}

/// The tips of a history: every ref, HEAD and the stash reflog.
fn tips(repo: &Repository) -> Result<Vec<Oid>> {
    let mut tips = Vec::new();
    let refs = repo.references().map_err(git_err("cannot list references"))?;
    for r in refs.flatten() {
        tips.extend(tip_of(repo, &r));
    }
    if let Ok(head) = repo.head() {
        tips.extend(tip_of(repo, &head));
    }
    if let Ok(reflog) = repo.reflog("refs/stash") {
        tips.extend(reflog.iter().map(|e| e.id_new()));
    }
    Ok(tips)
}

/// Every commit reachable from any ref, HEAD and the stash reflog, oldest first. libgit2 walks
/// the history; when it cannot (a commit it cannot parse or read, at a tip or among the
/// ancestors), [`walk_leniently`] walks it again and names each commit it could not read.
pub(super) fn all_commits(repo: &Repository, skipped: &mut Vec<Skipped>, cancel: &Cancel) -> Result<Vec<Oid>> {
    stall_point("walk");
    let tips = tips(repo)?;
    let mut walk = repo.revwalk().map_err(git_err("cannot walk the history"))?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE).map_err(git_err("cannot walk the history"))?;
    let mut failed = false;
    for &tip in &tips {
        failed |= walk.push(tip).is_err();
    }
    let mut commits = Vec::new();
    if !failed {
        for oid in walk {
            if cancel.is_cancelled() {
                return Ok(commits);
            }
            match oid {
                Ok(o) => commits.push(o),
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
    }
    if failed {
        commits = walk_leniently(repo, &tips, skipped, cancel);
    }
    Ok(commits)
}

/// The shallow boundary: commits whose parents a shallow clone does not have.
fn shallow_commits(repo: &Repository) -> OidSet {
    let text = std::fs::read_to_string(repo.commondir().join("shallow")).unwrap_or_default();
    text.lines().filter_map(|l| Oid::from_str(l.trim()).ok()).collect()
}

/// Walks the history from `tips` commit by commit, parents before children, reading commits
/// that libgit2 cannot parse from their raw text (their parents are walked and their trees
/// scanned) and naming each commit that cannot be read at all (its ancestors are then reached
/// only through other paths).
fn walk_leniently(repo: &Repository, tips: &[Oid], skipped: &mut Vec<Skipped>, cancel: &Cancel) -> Vec<Oid> {
    let shallow = shallow_commits(repo);
    let mut seen = OidSet::default();
    let mut order = Vec::new();
    for &tip in tips {
        let mut stack = vec![(tip, false)];
        while let Some((oid, expanded)) = stack.pop() {
            if cancel.is_cancelled() {
                return order;
            }
            if expanded {
                order.push(oid);
                continue;
            }
            if !seen.insert(oid) {
                continue;
            }
            let parents = match load_commit(repo, oid) {
                Ok(c) if !shallow.contains(&oid) => c.parent_ids(),
                Ok(_) => Vec::new(),
                Err(why) => {
                    skipped.push(Skipped {
                        path: format!("<commit {oid}>"),
                        reason: SkipReason::MissingObject,
                        detail: why,
                    });
                    continue;
                }
            };
            stack.push((oid, true));
            stack.extend(parents.into_iter().rev().filter(|p| !seen.contains(p)).map(|p| (p, false)));
        }
    }
    order
}

/// Provenance from a commit's raw text: its author (or committer) and date, as far as they
/// can be read. `None` without any readable time.
fn raw_provenance(oid: Oid, raw: &RawCommit) -> Option<Provenance> {
    let sig = raw.author.as_ref().filter(|a| a.when.is_some()).or(raw.committer.as_ref())?;
    let (secs, offset) = sig.when?;
    let (date, time) = time_of(git2::Time::new(secs, offset));
    let author = raw.author.as_ref().unwrap_or(sig);
    Some(Provenance {
        commit: oid.to_string(),
        author: finding::escape_bytes(&author.name),
        email: finding::escape_bytes(&author.email),
        date,
        time,
    })
}

/// Loads provenance for the given commits (in their order).
pub(super) fn commit_infos(repo: &Repository, commits: &[Oid], cancel: &Cancel) -> OidMap<CommitInfo> {
    let mut infos = OidMap::with_capacity_and_hasher(commits.len(), Default::default());
    for (order, &oid) in commits.iter().enumerate() {
        if cancel.is_cancelled() {
            break;
        }
        let provenance = match load_commit(repo, oid) {
            Ok(Loaded::Parsed(c)) => Some(provenance(&c)),
            Ok(Loaded::Raw(raw, _)) => raw_provenance(oid, &raw),
            Err(_) => None,
        };
        if let Some(provenance) = provenance {
            infos.insert(oid, CommitInfo { provenance, order });
        }
    }
    infos
}
