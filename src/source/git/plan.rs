//! The first step of a history scan: the commits, what each introduced against its first
//! parent, and the index built from that (it needs no rules, so it runs while they load).
//!
//! Commits are compared in parallel, each worker thread keeping one repository and a cache of
//! recent trees for the whole walk (see [`trees`](super::trees)). With `--cache DIR`, commits
//! that an earlier walk recorded are not read again (see [`walklog`](super::walklog)).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use git2::{Oid, Repository};
use rayon::prelude::*;

use super::blobs::{record_base, record_use, Base, BlobUses};
use super::carried::Lineage;
use super::summary::RefState;
use super::trees::TreeCache;
use super::walk::{all_commits, commit_changes, named_tips};
use super::walklog::{self, Paths, Record};
use super::{
    open, phase, pool, push_special, reopen, ChangeKind, CommitChanges, Infos, Meter, OidMap, PerThread, Phase,
    TREE_CACHE,
};
use crate::blob::Collected;
use crate::cancel::Cancel;
use crate::error::Result;
use crate::finding::SkipReason;

/// What a history holds, read before any blob is: the commits, the (path, blob) changes each
/// introduced and the version each blob replaced.
pub(crate) struct HistoryPlan {
    pub(super) git_dir: PathBuf,
    pub(super) pool: rayon::ThreadPool,
    pub(super) commits: Vec<Oid>,
    pub(super) infos: Infos,
    pub(super) uses: BlobUses,
    pub(super) bases: OidMap<Base>,
    pub(super) paths: Paths,
    pub(super) lineage: Lineage,
    /// The tips walked and what else decides the walk, with `--cache` (for the history summary).
    pub(super) refs: Option<RefState>,
    pub(super) out: Collected,
    pub(super) clock: std::time::Instant,
    pub(super) cancel: Cancel,
}

/// The note of a history scan of a shallow clone.
pub(super) const SHALLOW_NOTE: &str = "shallow clone: history before the shallow boundary is not available, so the \
                                       oldest commits present may be blamed for older secrets";

/// Commits compared per block of the walk: only one block's changes, with their paths as
/// strings, are held at a time.
const WALK_BLOCK: usize = 16384;

/// Reads the commits of the repository at `root` and what each introduced, with `threads`
/// workers (0: one per core). With `cache` (a `--cache` directory), commits recorded there are
/// not compared again, and the records of this walk replace the file.
pub(crate) fn plan_history(
    root: &Path,
    threads: usize,
    cache: Option<&Path>,
    cancel: &Cancel,
    meter: &Meter,
) -> Result<HistoryPlan> {
    let clock = std::time::Instant::now();
    let repo = open(root)?;
    let git_dir = repo.path().to_path_buf();
    let mut out = Collected::default();
    if repo.is_shallow() {
        out.notes.push(SHALLOW_NOTE.into());
    }
    let pool = pool(threads)?;
    let (mut known, mut paths) = match cache.map(|d| walklog::load(&walklog::cache_file(d))) {
        Some(Ok(Some((k, p)))) => (k, p),
        Some(Err(why)) => {
            let file = cache.map(walklog::cache_file).unwrap_or_default();
            out.notes.push(format!("walk cache {}: {why}; ignored", file.display()));
            (OidMap::default(), Paths::default())
        }
        _ => (OidMap::default(), Paths::default()),
    };
    let tips = named_tips(&repo)?;
    let refs = cache.map(|_| RefState::of(&repo, &tips));
    let commits = all_commits(&repo, &tips, &known, &mut out.skipped, cancel);
    phase(&clock, "commit list");
    let cached = known.len();
    meter.start(Phase::Commits, commits.len() as u64);
    let mut records: Vec<Option<Record>> = commits.iter().map(|c| known.remove(c)).collect();
    let reused = records.iter().filter(|r| r.is_some()).count();
    meter.step(reused as u64, 0);
    let todo: Vec<usize> = (0..commits.len()).filter(|&i| records[i].is_none()).collect();
    let workers = PerThread::new(&pool);
    for block in todo.chunks(WALK_BLOCK) {
        let ids: Vec<Oid> = block.iter().map(|&i| commits[i]).collect();
        for (&i, ch) in block.iter().zip(changes_per_commit(&pool, &workers, &git_dir, &ids, cancel, meter)) {
            out.skipped.extend(ch.errors.iter().cloned());
            records[i] = Some(Record::of(&ch, &mut paths));
        }
    }
    drop(workers);
    let records: Vec<Record> = records.into_iter().map(Option::unwrap_or_default).collect();
    phase(&clock, "changes");
    crate::source::malloc::release_free();
    if let Some(dir) = cache.filter(|_| !cancel.is_cancelled() && (reused < commits.len() || cached > reused)) {
        if let Err(e) = walklog::save(&walklog::cache_file(dir), &commits, &records, &paths) {
            out.notes.push(format!("the walk cache could not be written: {e}"));
        }
    }
    if cache.is_some() {
        eprintln!("ndaguard: walk cache: {reused} of {} commit(s) reused", commits.len());
    }
    let (infos, uses, bases, special) = index(&commits, &records, &paths);
    push_special(&mut out, special);
    let lineage = Lineage::new(&commits, &records);
    drop(records);
    phase(&clock, "index");
    crate::source::malloc::release_free();
    Ok(HistoryPlan {
        git_dir,
        pool,
        commits,
        infos,
        uses,
        bases,
        paths,
        lineage,
        refs,
        out,
        clock,
        cancel: cancel.clone(),
    })
}

/// A worker's repository and its cache of recent trees.
type Walker = (Option<Repository>, TreeCache);

/// What each commit introduced against its first parent, in parallel.
fn changes_per_commit(
    pool: &rayon::ThreadPool,
    workers: &PerThread<Walker>,
    git_dir: &Path,
    commits: &[Oid],
    cancel: &Cancel,
    meter: &Meter,
) -> Vec<CommitChanges> {
    pool.install(|| {
        commits
            .par_iter()
            .with_min_len(64)
            .map(|&oid| {
                workers.with(
                    || (reopen(git_dir), TreeCache::new(TREE_CACHE)),
                    |(repo, trees)| match repo {
                        Some(r) if !cancel.is_cancelled() => {
                            meter.step(1, 0);
                            commit_changes(r, trees, oid, false)
                        }
                        _ => CommitChanges::default(),
                    },
                )
            })
            .collect()
    })
}

type Indexed = (Infos, BlobUses, OidMap<Base>, HashMap<String, SkipReason>);

/// The index of the history, in commit order: each commit's provenance (taken out of its
/// record), unique blobs with their paths and first commits, the version each replaced, and the
/// symbolic links and submodules seen.
fn index(commits: &[Oid], records: &[Record], paths: &Paths) -> Indexed {
    let mut infos = Infos { rows: Vec::with_capacity(records.len()), text: String::new() };
    for (order, (r, c)) in records.iter().zip(commits).enumerate() {
        infos.push(r.provenance.as_ref(), *c, order);
    }
    let mut uses = BlobUses::default();
    let mut bases = OidMap::<Base>::default();
    let mut special: HashMap<String, SkipReason> = HashMap::new();
    for (at, r) in records.iter().enumerate() {
        for s in r.sets.iter().filter(|s| !s.blob.is_zero()) {
            let path = paths.name(s.path);
            match s.kind {
                ChangeKind::File => {
                    record_base(&mut bases, s.blob, s.old);
                    record_use(&mut uses, &infos, s.blob, s.path, at as u32);
                }
                ChangeKind::Symlink => {
                    special.entry(path.to_string()).or_insert(SkipReason::Symlink);
                }
                ChangeKind::Submodule => {
                    special.insert(path.to_string(), SkipReason::Submodule);
                }
            }
        }
    }
    (infos, uses, bases, special)
}
