//! Range scans: what the commits of `A..B` add, minus what their parents already held (a pull
//! request is blamed for what it adds, not for old history, and moving a secret is not leaking
//! it). [`Subtractor`] also serves the staged scan.

use std::collections::{HashMap, HashSet};

use git2::{Oid, Repository, RevparseMode, Sort};

use super::blobs::{scan_blob, BlobScan};
use super::trees::TreeCache;
use super::walk::commit_changes;
use super::{git_err, open, provenance, push_special, Change, ChangeKind, GitOptions, OidMap, OidSet, TREE_CACHE};
use crate::blob::{BlobSink, Collected, Hit, Origin, Provenance};
use crate::cancel::Cancel;
use crate::error::{Error, Result};
use crate::finding::{SkipReason, Skipped};

/// Scans a set of changes, subtracting what the old blobs already held. `commit` labels the
/// findings (none for the index).
pub(super) struct Subtractor<'a> {
    repo: &'a Repository,
    sink: &'a mut dyn BlobSink,
    cancel: &'a Cancel,
    max: u64,
    /// Secret digests per scanned blob (old sides are scanned once each).
    cache: OidMap<HashSet<[u8; 32]>>,
    skipped_seen: OidSet,
}

impl<'a> Subtractor<'a> {
    pub(super) fn new(
        repo: &'a Repository,
        sink: &'a mut dyn BlobSink,
        cancel: &'a Cancel,
        max: u64,
    ) -> Subtractor<'a> {
        Subtractor { repo, sink, cancel, max, cache: OidMap::default(), skipped_seen: OidSet::default() }
    }

    fn secrets_of(&mut self, oid: Oid, path: &str, out: &mut Collected) -> HashSet<[u8; 32]> {
        if let Some(s) = self.cache.get(&oid) {
            return s.clone();
        }
        let origin = Origin { path, provenance: None };
        let (BlobScan { scanned: res, .. }, _) = scan_blob(self.repo, &mut *self.sink, oid, origin, self.max, None);
        if let Some((reason, detail)) = res.skipped {
            if reason.is_error() && self.skipped_seen.insert(oid) {
                out.skipped.push(Skipped { path: path.to_string(), reason, detail });
            }
        }
        let set: HashSet<[u8; 32]> = res.hits.iter().map(|h| h.digest).collect();
        self.cache.insert(oid, set.clone());
        set
    }

    /// Scans `changes` and adds to `found` the hits whose secrets none of `old` held.
    pub(super) fn run(
        &mut self,
        changes: &[Change],
        old: &[(Oid, String)],
        prov: Option<&Provenance>,
        out: &mut Collected,
        found: &mut Vec<Hit>,
        special: &mut HashMap<String, SkipReason>,
    ) {
        let mut old_secrets: HashSet<[u8; 32]> = HashSet::new();
        for (o, path) in old {
            old_secrets.extend(self.secrets_of(*o, path, out));
        }
        for c in changes {
            if self.cancel.is_cancelled() {
                return;
            }
            match c.kind {
                ChangeKind::Symlink => {
                    special.entry(c.path.clone()).or_insert(SkipReason::Symlink);
                    continue;
                }
                ChangeKind::Submodule => {
                    special.insert(c.path.clone(), SkipReason::Submodule);
                    continue;
                }
                ChangeKind::File => {}
            }
            if self.sink.excludes(&c.path) {
                out.skipped.push(Skipped {
                    path: c.path.clone(),
                    reason: SkipReason::Allowlisted,
                    detail: String::new(),
                });
                continue;
            }
            let origin = Origin { path: &c.path, provenance: prov };
            let (BlobScan { scanned: res, .. }, _) =
                scan_blob(self.repo, &mut *self.sink, c.blob, origin, self.max, None);
            if let Some((reason, detail)) = res.skipped {
                if self.skipped_seen.insert(c.blob) {
                    out.skipped.push(Skipped { path: c.path.clone(), reason, detail });
                }
                continue;
            }
            out.files_scanned += 1;
            out.bytes_scanned += res.bytes;
            out.suppressed += res.suppressed;
            self.cache.insert(c.blob, res.hits.iter().map(|h| h.digest).collect());
            found.extend(res.hits.into_iter().filter(|h| !old_secrets.contains(&h.digest)));
        }
    }
}

/// The commits of a range, oldest first: `A..B`, `A...B` (from the merge base), a single
/// commit `C` meaning `C^..C`, or, as `git rev-list` takes them, several revisions separated by
/// spaces, those to leave out marked `^` (`C ^A ^B`: the commits of `C` that neither `A` nor `B`
/// holds).
fn range_commits(repo: &Repository, range: &str) -> Result<Vec<Oid>> {
    if range.split_whitespace().nth(1).is_some() {
        return rev_list(repo, range);
    }
    let spec = repo
        .revparse(range)
        .map_err(|e| Error::Usage(format!("--range {range:?}: cannot resolve: {}", e.message())))?;
    let peel = |o: Option<&git2::Object<'_>>| -> Result<Oid> {
        o.and_then(|o| o.peel_to_commit().ok())
            .map(|c| c.id())
            .ok_or_else(|| Error::Usage(format!("--range {range:?}: does not name commits")))
    };
    if spec.mode().contains(RevparseMode::SINGLE) {
        return Ok(vec![peel(spec.from())?]);
    }
    let from = peel(spec.from())?;
    let to = peel(spec.to())?;
    let mut walk = repo.revwalk().map_err(git_err("cannot walk the range"))?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE).map_err(git_err("cannot walk the range"))?;
    walk.push(to).map_err(git_err("cannot walk the range"))?;
    let hide = if spec.mode().contains(RevparseMode::MERGE_BASE) {
        repo.merge_base(from, to).map_err(git_err("cannot find the merge base"))?
    } else {
        from
    };
    walk.hide(hide).map_err(git_err("cannot walk the range"))?;
    walk.map(|r| r.map_err(git_err("cannot walk the range"))).collect()
}

/// The commits of revisions `C ^A …` (see [`range_commits`]), oldest first.
fn rev_list(repo: &Repository, range: &str) -> Result<Vec<Oid>> {
    let mut walk = repo.revwalk().map_err(git_err("cannot walk the range"))?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE).map_err(git_err("cannot walk the range"))?;
    for part in range.split_whitespace() {
        let (hide, rev) = match part.strip_prefix('^') {
            Some(rev) => (true, rev),
            None => (false, part),
        };
        let oid = repo
            .revparse_single(rev)
            .and_then(|o| o.peel_to_commit())
            .map(|c| c.id())
            .map_err(|e| Error::Usage(format!("--range {range:?}: cannot resolve {rev:?}: {}", e.message())))?;
        let added = if hide { walk.hide(oid) } else { walk.push(oid) };
        added.map_err(git_err("cannot walk the range"))?;
    }
    walk.map(|r| r.map_err(git_err("cannot walk the range"))).collect()
}

/// Keeps the first hit per (path, secret), earliest commit first (`order` ranks commit ids), and
/// counts in it the commits that brought the same secret again.
pub(super) fn dedupe_first(mut found: Vec<Hit>, order: &HashMap<String, usize>) -> Vec<Hit> {
    found.sort_by_key(|h| (h.finding.commit.as_ref().and_then(|c| order.get(c)).copied().unwrap_or(0), h.offset));
    let mut index: HashMap<(String, [u8; 32]), usize> = HashMap::new();
    let mut out: Vec<Hit> = Vec::new();
    for mut h in found {
        let key = (h.finding.path.clone(), h.digest);
        let labelled = h.finding.commit.is_some();
        match index.get(&key) {
            Some(&i) => {
                if labelled {
                    let n = out[i].finding.commits.unwrap_or(1);
                    out[i].finding.commits = Some(n + 1);
                }
            }
            None => {
                index.insert(key, out.len());
                if labelled {
                    h.finding.commits = Some(1);
                }
                out.push(h);
            }
        }
    }
    out
}

/// Scans what the commits of `range` add.
pub(crate) fn scan_range(
    sink: &mut dyn BlobSink,
    opts: &GitOptions,
    range: &str,
    cancel: &Cancel,
) -> Result<Collected> {
    let repo = open(&opts.root)?;
    let mut out = Collected::default();
    if repo.is_shallow() {
        out.notes.push("shallow clone: commits whose parents are missing are compared with an empty tree".into());
    }
    let commits = range_commits(&repo, range)?;
    if commits.is_empty() {
        out.notes.push(format!("the range {range} holds no commits"));
        return Ok(out);
    }
    let order: HashMap<String, usize> = commits.iter().enumerate().map(|(i, c)| (c.to_string(), i)).collect();
    let mut sub = Subtractor::new(&repo, sink, cancel, opts.max_file_size);
    let mut found = Vec::new();
    let mut special = HashMap::new();
    let mut trees = TreeCache::new(TREE_CACHE);
    for oid in &commits {
        if cancel.is_cancelled() {
            break;
        }
        let ch = commit_changes(&repo, &mut trees, *oid, true);
        out.skipped.extend(ch.errors.iter().cloned());
        let prov = repo.find_commit(*oid).ok().map(|c| provenance(&c));
        sub.run(&ch.changes, &ch.old, prov.as_ref(), &mut out, &mut found, &mut special);
    }
    push_special(&mut out, special);
    out.hits = dedupe_first(found, &order);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Finding;
    use crate::rules::Severity;

    fn hit(path: &str, secret: u8, commit: Option<&str>, offset: usize) -> Hit {
        let finding = Finding {
            rule_id: "r".into(),
            rule_name: "R".into(),
            severity: Severity::High,
            path: path.into(),
            line: 1,
            column: 1,
            end_line: 1,
            end_column: 2,
            secret: "…(1)".into(),
            secret_length: 1,
            fingerprint: String::new(),
            encoding: None,
            commit: commit.map(str::to_string),
            author: None,
            email: None,
            date: None,
            commits: None,
            commit_order: None,
            breach: None,
            deadlines: None,
        };
        Hit { finding, offset, digest: [secret; 32], registry_entry: None, exposed_since: None }
    }

    #[test]
    fn dedupe_keeps_the_earliest_commit_per_path_and_secret_and_counts_the_rest() {
        let order: HashMap<String, usize> = [("c1".to_string(), 0), ("c2".to_string(), 1)].into_iter().collect();
        let found = vec![
            hit("a.txt", 1, Some("c2"), 0),
            hit("a.txt", 1, Some("c1"), 5),
            hit("b.txt", 1, Some("c2"), 0),
            hit("a.txt", 2, Some("c2"), 9),
        ];
        let out = dedupe_first(found, &order);
        assert_eq!(out.len(), 3);
        let a1 = out.iter().find(|h| h.finding.path == "a.txt" && h.digest == [1; 32]).expect("kept");
        assert_eq!(a1.finding.commit.as_deref(), Some("c1"));
        assert_eq!(a1.finding.commits, Some(2));
        let b = out.iter().find(|h| h.finding.path == "b.txt").expect("kept");
        assert_eq!(b.finding.commits, Some(1));
        // The index has no commits: nothing to count.
        let staged = dedupe_first(vec![hit("a.txt", 1, None, 0), hit("a.txt", 1, None, 3)], &HashMap::new());
        assert_eq!(staged.len(), 1);
        assert_eq!(staged[0].finding.commits, None);
    }
}
