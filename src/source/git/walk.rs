//! Reading a history: the commits reachable from every ref, and what each commit (or the index)
//! added or changed, by comparing trees.
//!
//! The tree comparison reads only subtrees whose ids differ on the two sides, which is what
//! makes a walk of many commits cheap; it has no rename detection (a renamed file is a new path
//! with an old blob, which the blob index already knows).

use std::path::Path;

use std::sync::Arc;

use git2::{Delta, DiffOptions, FileMode, ObjectType, Odb, Oid, Repository, Tree};

use super::raw::{parse_commit, RawCommit};
use super::trees::{tree_error, RawEntry, RawTree, TreeCache, MODE_LINK, MODE_SUBMODULE, MODE_TREE};
use super::walklog::Record;
use super::{git_err, path_of, provenance, read_error, time_of, Change, ChangeKind, CommitChanges, OidMap, OidSet};
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

fn is_blob_mode(mode: u32) -> bool {
    mode != MODE_TREE && mode != MODE_LINK && mode != MODE_SUBMODULE
}

/// Reads trees for a tree comparison: through `cache`, from `repo`'s object database.
pub(super) struct TreeReader<'a, 'r> {
    pub(super) repo: &'r Repository,
    pub(super) odb: &'a Odb<'r>,
    pub(super) cache: &'a mut TreeCache,
}

impl TreeReader<'_, '_> {
    /// Tree `id`, or `None` with the reason in `out.errors` (named by `what`).
    fn load(&mut self, id: Oid, what: impl FnOnce() -> String, out: &mut CommitChanges) -> Option<Arc<RawTree>> {
        match self.cache.get(self.odb, id) {
            Ok(t) => Some(t),
            Err(e) => {
                out.errors.push(Skipped {
                    path: what(),
                    reason: SkipReason::MissingObject,
                    detail: tree_error(self.repo, id, &e),
                });
                None
            }
        }
    }
}

/// The changes from tree `old` to tree `new` (either may be absent), like a diff without rename
/// detection, but without reading subtrees whose ids are equal on both sides: what a commit
/// added or modified (with the blob it replaced at the same path), the old blobs of what it
/// modified or removed, and the paths whose entry it removed.
pub(super) fn diff_trees(
    reader: &mut TreeReader<'_, '_>,
    old: Option<&RawTree>,
    new: Option<&RawTree>,
    prefix: &mut Vec<u8>,
    out: &mut CommitChanges,
) {
    let (olen, nlen) = (old.map_or(0, RawTree::len), new.map_or(0, RawTree::len));
    let (mut i, mut j) = (0, 0);
    while i < olen || j < nlen {
        let (oe, ne) = (old.and_then(|t| t.get(i)), new.and_then(|t| t.get(j)));
        let ord = match (oe, ne) {
            (Some(o), Some(n)) => o.name.cmp(n.name),
            (Some(_), None) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        let (o, n) = match ord {
            std::cmp::Ordering::Less => {
                i += 1;
                (oe, None)
            }
            std::cmp::Ordering::Greater => {
                j += 1;
                (None, ne)
            }
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
                (oe, ne)
            }
        };
        if let (Some(o), Some(n)) = (o, n) {
            if o.same(&n) {
                continue;
            }
        }
        let name = o.or(n).map(|e| e.name).unwrap_or_default();
        let len = prefix.len();
        if len > 0 {
            prefix.push(b'/');
        }
        prefix.extend_from_slice(name);
        let old_tree = o.filter(RawEntry::is_tree);
        let new_tree = n.filter(RawEntry::is_tree);
        if old_tree.is_some() || new_tree.is_some() {
            let mut load = |e: Option<RawEntry<'_>>, out: &mut CommitChanges| {
                let id = e?.id();
                reader.load(id, || format!("<tree {id}>"), out)
            };
            let (ot, nt) = (load(old_tree, out), load(new_tree, out));
            diff_trees(reader, ot.as_deref(), nt.as_deref(), prefix, out);
        }
        let path = || path_of(Some(prefix.as_slice()), None);
        let old_blob = o.filter(|e| is_blob_mode(e.mode));
        if let Some(ob) = old_blob {
            out.old.push((ob.id(), path()));
        }
        let new_entry = n.filter(|e| !e.is_tree());
        if new_entry.is_none() && o.is_some_and(|e| !e.is_tree()) {
            out.removed.push(path());
        }
        if let Some(nb) = new_entry {
            let kind = match nb.mode {
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

/// Diffs a commit against its first parent (or the empty tree), reading trees through `cache`.
/// With `all_parents`, also records the other parents' versions of each changed path as old
/// blobs. A commit libgit2 cannot parse is diffed from its raw text, and reported. The commit's
/// provenance comes along.
pub(super) fn commit_changes(repo: &Repository, cache: &mut TreeCache, oid: Oid, all_parents: bool) -> CommitChanges {
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
    out.provenance = loaded_provenance(oid, &commit);
    out.parents = commit.parent_ids();
    if let Loaded::Raw(_, why) = &commit {
        let detail = format!("cannot be parsed ({why}): its tree was scanned from its raw text");
        out.errors.push(missing(format!("<commit {oid}>"), detail));
    }
    let Some(tree_id) = commit.tree_id() else { return out };
    let odb = match repo.odb() {
        Ok(o) => o,
        Err(e) => {
            out.errors.push(missing(format!("<tree {tree_id} of commit {oid}>"), e.message().to_string()));
            return out;
        }
    };
    let mut reader = TreeReader { repo, odb: &odb, cache };
    let Some(tree) = reader.load(tree_id, || format!("<tree {tree_id} of commit {oid}>"), &mut out) else {
        return out;
    };
    out.tree_read = true;
    let parents = commit.parent_ids();
    let parent_tree = parents.first().and_then(|p| load_commit(repo, *p).ok()?.tree_id());
    let parent = parent_tree.and_then(|id| reader.cache.get(&odb, id).ok());
    out.first_parent = parent.as_ref().and(parents.first().copied());
    let mut prefix = Vec::new();
    diff_trees(&mut reader, parent.as_deref(), Some(&tree), &mut prefix, &mut out);
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

/// The tips of a history, named: every ref (by its name), `HEAD` and each entry of the stash
/// reflog (`stash@{N}`). Refs that name no commit are left out.
pub(super) fn named_tips(repo: &Repository) -> Result<Vec<(String, Oid)>> {
    let mut tips = Vec::new();
    let refs = repo.references().map_err(git_err("cannot list references"))?;
    for r in refs.flatten() {
        let name = String::from_utf8_lossy(r.name_bytes()).into_owned();
        tips.extend(tip_of(repo, &r).map(|t| (name, t)));
    }
    if let Ok(head) = repo.head() {
        tips.extend(tip_of(repo, &head).map(|t| ("HEAD".to_string(), t)));
    }
    if let Ok(reflog) = repo.reflog("refs/stash") {
        tips.extend(reflog.iter().enumerate().map(|(i, e)| (format!("stash@{{{i}}}"), e.id_new())));
    }
    Ok(tips)
}

/// Every commit reachable from `tips` (see [`named_tips`]), parents before children: a
/// depth-first walk from each tip in turn (see [`walk_from`]), taking each commit's parents from
/// `known` (records of an earlier walk) when it is there, so that a rescan reads only the
/// commits it does not know.
pub(super) fn all_commits(
    repo: &Repository,
    tips: &[(String, Oid)],
    known: &OidMap<Record>,
    skipped: &mut Vec<Skipped>,
    cancel: &Cancel,
) -> Vec<Oid> {
    stall_point("walk");
    let tips: Vec<Oid> = tips.iter().map(|(_, t)| *t).collect();
    walk_from(repo, &tips, known, skipped, cancel)
}

/// The shallow boundary: commits whose parents a shallow clone does not have.
fn shallow_commits(repo: &Repository) -> OidSet {
    let text = std::fs::read_to_string(repo.commondir().join("shallow")).unwrap_or_default();
    text.lines().filter_map(|l| Oid::from_str(l.trim()).ok()).collect()
}

/// Walks the history from `tips` commit by commit, parents before children (depth first, first
/// parents first, each commit after all its parents), reading commits that libgit2 cannot parse
/// from their raw text (their parents are walked and their trees scanned) and naming each
/// commit that cannot be read at all (its ancestors are then reached only through other paths).
/// The order depends only on the tips and the commits, so a rescan that takes parents from
/// `known` gets the same order as a full walk.
fn walk_from(
    repo: &Repository,
    tips: &[Oid],
    known: &OidMap<Record>,
    skipped: &mut Vec<Skipped>,
    cancel: &Cancel,
) -> Vec<Oid> {
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
            let parents = match known.get(&oid) {
                _ if shallow.contains(&oid) => Vec::new(),
                Some(r) => r.parents.clone(),
                None => match load_commit(repo, oid) {
                    Ok(c) => c.parent_ids(),
                    Err(why) => {
                        skipped.push(Skipped {
                            path: format!("<commit {oid}>"),
                            reason: SkipReason::MissingObject,
                            detail: why,
                        });
                        continue;
                    }
                },
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

/// A loaded commit's provenance (for a raw one, as far as its text can be read).
fn loaded_provenance(oid: Oid, c: &Loaded<'_>) -> Option<Provenance> {
    match c {
        Loaded::Parsed(c) => Some(provenance(c)),
        Loaded::Raw(raw, _) => raw_provenance(oid, raw),
    }
}
