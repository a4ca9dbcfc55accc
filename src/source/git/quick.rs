//! History scans with `--cache DIR` that read only what changed since the last complete scan
//! (see [`summary`](super::summary)).
//!
//! Before the history is walked, its tips are compared with the summary's. When they are the
//! same (and nothing else that decides the walk changed), the commits and blobs are those of the
//! summarised scan, so its report is rebuilt without a walk: each finding's blob is scanned
//! again (which gives the redacted secret, its place and rule, never stored) and matched by its
//! fingerprint; counts, skipped objects and carried counts are the summary's. When the history
//! only grew, only the new commits are read (see [`grow`](super::grow)). Anything else (rewritten
//! refs, another identity, a finding not found again) falls back to the full scan, which still
//! reuses the walk and scan caches, and which writes a new summary.
//!
//! Objects are taken to be what they were: a repository that lost objects while its refs stayed
//! put is not noticed until a full scan.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use git2::{Oid, Repository};
use rayon::prelude::*;

use super::blobs::{read_text, relabel, scan_blob, BlobText, Text};
use super::cache::ScanCache;
use super::grow;
use super::history::scan_planned;
use super::plan::{plan_history, HistoryPlan, SHALLOW_NOTE};
use super::summary::{self, Loaded, RefState, Remembered, Summary};
use super::walk::named_tips;
use super::{open, pool, reopen, HistoryOptions, Meter, Shard};
use crate::blob::{BlobSink, Collected, Hit, Origin};
use crate::cancel::Cancel;
use crate::error::Result;
use crate::finding;

/// How a history scan runs: where, with how many threads, and with which `--cache` directory.
#[derive(Clone, Copy)]
pub(crate) struct HistoryRun<'a> {
    pub(crate) root: &'a Path,
    /// Worker threads (0: one per core).
    pub(crate) threads: usize,
    pub(crate) cache: Option<&'a Path>,
    pub(crate) shard: Option<Shard>,
    pub(crate) cancel: &'a Cancel,
    pub(crate) meter: &'a Meter,
}

/// The first step of a history scan: the walked history, or the summary of an earlier scan of
/// the same tips (nothing walked) or of tips that the new ones grew from.
pub(crate) enum Prepared {
    Walked(Box<HistoryPlan>, Vec<String>),
    Known(Box<Known>),
}

/// A summary whose tips are the history's, or grew into them.
pub(crate) struct Known {
    loaded: Loaded,
    /// The repository's git directory (opened and guarded, see [`open`]).
    git_dir: PathBuf,
    /// The new commits (parents first) and the new tips, if the history grew.
    growth: Option<(Vec<Oid>, RefState)>,
}

/// Reads the history (see [`plan_history`]) unless the `--cache` summary is of the same tips or
/// of tips the new ones grew from. Runs before the rules are loaded, so the summary's identity
/// is checked by [`scan_history`].
pub(crate) fn prepare_history(run: &HistoryRun<'_>) -> Result<Prepared> {
    let mut notes = Vec::new();
    if let Some(dir) = run.cache.filter(|_| run.shard.is_none()) {
        match summary::load(dir) {
            Ok(Some(loaded)) => match compare(run.root, &loaded.1) {
                Ok((git_dir, growth)) => return Ok(Prepared::Known(Box::new(Known { loaded, git_dir, growth }))),
                Err(why) => not_used(&why),
            },
            Ok(None) => {}
            Err(why) => {
                not_used(&why);
                notes.push(format!("history summary {}: {why}; ignored", summary::summary_file(dir).display()));
            }
        }
    }
    let plan = plan_history(run.root, run.threads, run.cache, run.cancel, run.meter)?;
    Ok(Prepared::Walked(Box::new(plan), notes))
}

/// How the history at `root` differs from the one `summary` was made for: not at all (`None`),
/// by new commits only (those, and the new tips), or otherwise (why).
/// Returns the repository's git directory with it.
type Compared = (PathBuf, Option<(Vec<Oid>, RefState)>);

fn compare(root: &Path, summary: &Summary) -> std::result::Result<Compared, String> {
    let repo = open(root).map_err(|e| e.to_string())?;
    let git_dir = repo.path().to_path_buf();
    let tips = named_tips(&repo).map_err(|e| e.to_string())?;
    let now = RefState::of(&repo, &tips);
    if now == summary.refs {
        return Ok((git_dir, None));
    }
    let new = grow::new_commits(&repo, summary, &now, &tips)?;
    Ok((git_dir, Some((new, now))))
}

fn not_used(why: &str) {
    eprintln!("ndaguard: history cache: not used ({why})");
}

/// Finishes a history scan: rebuilds the report of an unchanged history from its summary, or
/// scans the walked history (reading the history first if the summary could not be used).
/// `identity` is the scan's (see [`ScanCache`]).
pub(crate) fn scan_history<S, F>(
    prepared: Prepared,
    run: &HistoryRun<'_>,
    (identity, max): (Option<[u8; 32]>, u64),
    make_sink: F,
) -> Result<Collected>
where
    S: BlobSink,
    F: Fn() -> S + Sync,
{
    let (plan, mut notes) = match prepared {
        Prepared::Walked(plan, notes) => (*plan, notes),
        Prepared::Known(known) => {
            match from_summary(*known, run, (identity, max), &make_sink) {
                Ok(c) => return Ok(c),
                Err(why) => not_used(&why),
            }
            (plan_history(run.root, run.threads, run.cache, run.cancel, run.meter)?, Vec::new())
        }
    };
    let cache = run.cache.zip(identity).map(|(dir, id)| {
        let name = match run.shard {
            Some(s) => format!("history-shard-{}-of-{}.cache", s.index, s.count),
            None => "history.cache".to_string(),
        };
        ScanCache::open(dir, &name, id)
    });
    let opts = HistoryOptions { max, shard: run.shard, cache: cache.as_ref(), meter: run.meter };
    let mut collected = scan_planned(plan, make_sink, &opts)?;
    collected.notes.append(&mut notes);
    if let Some(c) = &cache {
        collected.notes.extend(c.note.clone());
        eprintln!("ndaguard: scan cache: {} blob(s) reused, {} known", c.reused(), c.len());
    }
    Ok(collected)
}

/// The report of a history whose summary is `known` (see [`Prepared`]): rebuilt, or grown by its
/// new commits (and the summary replaced).
fn from_summary<S, F>(
    Known { loaded, git_dir, growth }: Known,
    run: &HistoryRun<'_>,
    (identity, max): (Option<[u8; 32]>, u64),
    make_sink: &F,
) -> std::result::Result<Collected, String>
where
    S: BlobSink,
    F: Fn() -> S + Sync,
{
    let (written_for, summary) = loaded;
    let repo = reopen(&git_dir).ok_or("cannot open the repository")?;
    let (Some(identity), Some(dir)) = (identity.filter(|id| *id == written_for), run.cache) else {
        return Err("written for other rules, registry, configuration or options".into());
    };
    let Some((new, now)) = growth else {
        let c = rebuild(&repo, &summary, run, max, make_sink)?;
        let n = summary.commits;
        eprintln!(
            "ndaguard: history cache: refs unchanged, {} finding(s) rebuilt, {n} commit(s) not walked",
            c.hits.len()
        );
        return Ok(c);
    };
    let known = (&summary, Some((dir, identity)));
    let (mut c, grown) = grow::scan_growth(&repo, known, (&new, now), run, max, make_sink)?;
    if let Err(e) = summary::save(dir, &identity, &grown) {
        c.notes.push(format!("the history summary could not be written: {e}"));
    }
    eprintln!(
        "ndaguard: history cache: {} new commit(s) walked, {} not; {} finding(s)",
        new.len(),
        summary.commits,
        c.hits.len()
    );
    Ok(c)
}

/// The blob a finding came from, as it was scanned: (blob, base, path scanned as).
type Source = (Oid, Option<Oid>, String);

/// The report of the summarised scan, rebuilt (see [`rebuild_findings`]).
fn rebuild<S, F>(
    repo: &Repository,
    summary: &Summary,
    run: &HistoryRun<'_>,
    max: u64,
    make_sink: &F,
) -> std::result::Result<Collected, String>
where
    S: BlobSink,
    F: Fn() -> S + Sync,
{
    let mut out = Collected {
        skipped: summary.skipped.clone(),
        files_scanned: summary.files_scanned,
        bytes_scanned: summary.bytes_scanned,
        suppressed: summary.suppressed,
        ..Collected::default()
    };
    out.hits = rebuild_findings(repo, summary, run, max, make_sink)?.into_iter().map(|(_, h, _)| h).collect();
    if summary.commits == 0 {
        out.notes.push("the repository has no commits".into());
    } else if repo.is_shallow() {
        out.notes.push(SHALLOW_NOTE.into());
    }
    Ok(out)
}

/// One finding of a summary, rebuilt: its index in the summary, its hit, and what a blob must
/// hold to carry it (see [`needle`](super::blobs::needle)).
pub(super) type Rebuilt = (usize, Hit, Vec<u8>);

/// The findings of `summary`, rebuilt: each finding's blob scanned again as it was, in parallel,
/// the hit with the remembered fingerprint taken from it.
pub(super) fn rebuild_findings<S, F>(
    repo: &Repository,
    summary: &Summary,
    run: &HistoryRun<'_>,
    max: u64,
    make_sink: &F,
) -> std::result::Result<Vec<Rebuilt>, String>
where
    S: BlobSink,
    F: Fn() -> S + Sync,
{
    let mut by_source: HashMap<Source, Vec<(usize, &Remembered)>> = HashMap::new();
    for (i, r) in summary.findings.iter().enumerate() {
        let oid = |s: &str| Oid::from_str(s).map_err(|_| "corrupt (a blob id)".to_string());
        let base = r.base.as_deref().map(oid).transpose()?;
        by_source.entry((oid(&r.blob)?, base, r.scanned_as.clone())).or_default().push((i, r));
    }
    let sources: Vec<(Source, Vec<(usize, &Remembered)>)> = by_source.into_iter().collect();
    let git_dir = repo.path().to_path_buf();
    let pool = pool(run.threads).map_err(|e| e.to_string())?;
    let found: Vec<std::result::Result<Vec<Rebuilt>, String>> = pool.install(|| {
        sources
            .par_iter()
            .map_init(
                || (reopen(&git_dir), make_sink()),
                |(repo, sink), (source, wanted)| match repo {
                    Some(r) => hits_again(r, sink, source, wanted, max),
                    None => Err("cannot open the repository".into()),
                },
            )
            .collect()
    });
    let mut all = Vec::with_capacity(summary.findings.len());
    for hits in found {
        all.extend(hits?);
    }
    if run.cancel.is_cancelled() {
        return Err("interrupted".into());
    }
    all.sort_unstable_by_key(|(i, _, _)| *i);
    Ok(all)
}

/// Scans the blob of `source` again as it was scanned, and takes from it the hit of each of
/// `wanted` (by fingerprint), labelled as the report had it.
fn hits_again(
    repo: &Repository,
    sink: &mut dyn BlobSink,
    (blob, base, scanned_as): &Source,
    wanted: &[(usize, &Remembered)],
    max: u64,
) -> std::result::Result<Vec<Rebuilt>, String> {
    let base_text = match base.map(|b| read_text(repo, b, max)) {
        Some(BlobText::Text(t)) => Some(t),
        _ => None,
    };
    let first = wanted.first().map(|(_, r)| r.provenance());
    let origin = Origin { path: scanned_as, provenance: first.as_ref() };
    let (scan, _) = scan_blob(repo, sink, *blob, origin, max, base_text.as_ref().map(Text::bytes));
    let mut hits = Vec::with_capacity(wanted.len());
    for &(i, r) in wanted {
        let same = |h: &&Hit| finding::fingerprint_of_digest(&h.finding.rule_id, &r.path, &h.digest) == r.fingerprint;
        let Some(at) = scan.scanned.hits.iter().position(|h| same(&h)) else {
            return Err(format!("a finding in blob {blob} was not found again"));
        };
        let mut h = relabel(&scan.scanned.hits[at], &r.path, Some(&r.provenance()));
        h.finding.commits = Some(r.commits);
        hits.push((i, h, scan.needles.get(at).cloned().unwrap_or_default()));
    }
    Ok(hits)
}
