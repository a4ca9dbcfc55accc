//! A rescan with `--cache DIR` after the history only grew: every tip of the summarised scan
//! (see [`summary`](super::summary)) is still reached from the new tips (its ref points at it or
//! at a descendant of it, or another tip does), so the old history is all there and only the
//! commits the old tips do not reach are new.
//!
//! Only the new commits are compared with their first parents, and only the blobs they
//! introduced are scanned, exactly as a full scan scans them; their findings are merged with the
//! summary's (a (path, secret) keeps the earliest commit), and the commits carrying each finding
//! are counted for the new commits only (a new commit's entry at a path is the one it set, or its
//! first parent's). A new commit that sets a blob the old history already used is accepted only
//! where a full scan would scan that blob as before (see [`check_resets`]: a merge that takes an
//! old parent's version, the blob clean and its base kept); a rename or a revert could change how
//! it is scanned, and a new commit with the author date of an old finding's would need the old
//! order to break the tie: those fall back to the full scan.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use git2::{Oid, Repository};

use super::blobs::{record_base, record_use, version_chains, Base, BlobUses};
use super::cache::ScanCache;
use super::history::{drop_allowlisted, earliest_findings, path_groups, BestFinding, ScanTasks};
use super::quick::{rebuild_findings, HistoryRun};
use super::summary::{RefState, Remembered, Summary};
use super::trees::TreeCache;
use super::walk::commit_changes;
use super::walklog::{Paths, Record};
use super::{pool, push_special, ChangeKind, Infos, OidMap, OidSet, TREE_CACHE};
use crate::blob::{BlobSink, Collected, Hit};
use crate::finding::{SkipReason, Skipped};
use crate::source::tree;

/// Why the summary cannot be grown.
type Why = String;

fn oid(s: &str) -> Result<Oid, Why> {
    Oid::from_str(s).map_err(|_| "corrupt (an object id)".to_string())
}

/// The commits that `tips` reach and the summary's tips do not, parents before children (the
/// order of a full walk, see [`named_tips`](super::walk::named_tips)), if the history only grew.
pub(super) fn new_commits(
    repo: &Repository,
    summary: &Summary,
    now: &RefState,
    tips: &[(String, Oid)],
) -> Result<Vec<Oid>, Why> {
    if now.special != summary.refs.special {
        return Err("the shallow boundary, grafts or replace refs changed".into());
    }
    if repo.is_shallow() {
        return Err("refs changed in a shallow clone".into());
    }
    let new_tips: HashMap<&str, Oid> = tips.iter().map(|(n, t)| (n.as_str(), *t)).collect();
    let mut walk = repo.revwalk().map_err(|e| e.message().to_string())?;
    let mut old_tips = Vec::new();
    for (name, old) in &summary.refs.tips {
        let old = oid(old)?;
        walk.hide(old).map_err(|_| format!("{name} was rewritten"))?;
        old_tips.push((name, old, new_tips.get(name.as_str()).copied()));
    }
    for (_, t) in tips {
        walk.push(*t).map_err(|e| e.message().to_string())?;
    }
    let fresh: OidSet = walk.collect::<Result<OidSet, _>>().map_err(|e| e.message().to_string())?;
    let parents = |c: Oid| repo.find_commit(c).map(|c| c.parent_ids().collect::<Vec<Oid>>()).unwrap_or_default();
    let boundary: OidSet = fresh.iter().flat_map(|&c| parents(c)).filter(|p| !fresh.contains(p)).collect();
    // Every old tip must still be reached: it is a tip, a parent of a new commit, or an
    // ancestor of the new tip of its ref (`HEAD` may name another branch now).
    let now: OidSet = tips.iter().map(|(_, t)| *t).collect();
    for (name, old, new) in old_tips {
        if now.contains(&old) || boundary.contains(&old) {
            continue;
        }
        match new {
            Some(new) if repo.graph_descendant_of(new, old).unwrap_or(false) => {}
            Some(_) => return Err(format!("{name} was rewritten")),
            None => return Err(format!("{name} was removed")),
        }
    }
    // Depth first from each tip, parents first, old commits as leaves: new commits come in the
    // order a full walk gives them (old commits never lead to new ones).
    let (mut seen, mut order) = (OidSet::default(), Vec::with_capacity(fresh.len()));
    for (_, tip) in tips {
        let mut stack = vec![(*tip, false)];
        while let Some((c, expanded)) = stack.pop() {
            if expanded {
                order.push(c);
            } else if fresh.contains(&c) && seen.insert(c) {
                stack.push((c, true));
                stack.extend(parents(c).into_iter().rev().filter(|p| !seen.contains(p)).map(|p| (p, false)));
            }
        }
    }
    Ok(order)
}

/// A finding of the grown history: its hit, where it was found, its key (author time, order),
/// what a blob must hold to carry it, the blobs it was found in, and its carrying commits.
struct Merged {
    hit: Hit,
    source: (Oid, Option<Oid>, String),
    order: usize,
    needles: Vec<Vec<u8>>,
    found_in: OidSet,
    carriers: OidSet,
    commits: u64,
}

/// Scans the `new` commits (see [`new_commits`]) of the history `summary` describes and merges
/// them with it: the grown history's findings and counts, and its summary (with tips `now`).
pub(super) fn scan_growth<S, F>(
    repo: &Repository,
    (summary, identity): (&Summary, Option<(&Path, [u8; 32])>),
    (new, now): (&[Oid], RefState),
    run: &HistoryRun<'_>,
    max: u64,
    make_sink: &F,
) -> Result<(Collected, Summary), Why>
where
    S: BlobSink,
    F: Fn() -> S + Sync,
{
    let git_dir = repo.path().to_path_buf();
    let mut merged = old_findings(repo, summary, run, max, make_sink)?;
    let (records, paths, infos) = read_commits(repo, new, summary.commits as usize)?;
    let (uses, bases, special, resets) = index(summary, (new, &records, &paths), &infos);
    if !resets.is_empty() {
        let cache = identity.map(|(dir, id)| ScanCache::open(dir, "history.cache", id));
        check_resets(repo, (summary, cache.as_ref()), &resets, (&infos, &paths))?;
    }
    let mut seen: Vec<Oid> = uses.keys().copied().collect();
    let sink = make_sink();
    let mut out = Collected::default();
    let mut blobs = drop_allowlisted(uses, (&infos, &paths), &sink, None, &mut out);
    blobs.sort_unstable_by(|(a, la), (b, lb)| paths.name(la[0].0).cmp(paths.name(lb[0].0)).then(a.cmp(b)));
    let groups = path_groups(&blobs, &sink, None, &paths);
    let listed: OidSet = blobs.iter().map(|(b, _)| *b).collect();
    let mut base_of: OidMap<Oid> = blobs
        .iter()
        .filter_map(|(b, _)| match bases.get(b) {
            Some(Base::One(a)) if listed.contains(a) || summary.knows_blob(*a) => Some((*b, *a)),
            _ => None,
        })
        .collect();
    let tasks = version_chains(&blobs, &mut base_of);
    let scan = ScanTasks {
        git_dir: &git_dir,
        blobs: &blobs,
        groups: &groups,
        paths: &paths,
        infos: &infos,
        base_of: &base_of,
        max,
        cancel: run.cancel,
        cache: None,
        meter: run.meter,
    };
    let pool = pool(run.threads).map_err(|e| e.to_string())?;
    let scanned = pool.install(|| scan.run(&tasks, make_sink));
    scanned.count_clean(run.cancel, &mut out);
    let mut clean = summary.clean.clone();
    for &(i, _, _) in &scanned.clean {
        let blob = blobs[i].0;
        clean.push((blob.to_string(), base_of.get(&blob).map(Oid::to_string).unwrap_or_default()));
    }
    let best = earliest_findings(scanned.full, (&blobs, &groups, &paths), &infos, &sink, run.cancel, &mut out);
    if run.cancel.is_cancelled() {
        return Err("interrupted".into());
    }
    for (_, b) in best {
        merge(&mut merged, b, &base_of)?;
    }
    count_new_carriers(repo, summary, &mut merged, (new, &records, &paths));
    push_special(&mut out, special);
    let mut skipped = summary.skipped.clone();
    for s in out.skipped.drain(..) {
        let same = |k: &Skipped| k.path == s.path && is_link(k.reason);
        match skipped.iter_mut().find(|k| is_link(s.reason) && same(k)) {
            Some(k) if s.reason == SkipReason::Submodule => *k = s,
            Some(_) => {}
            None => skipped.push(s),
        }
    }
    seen.extend_from_slice(&summary.blobs);
    let mut findings = Vec::with_capacity(merged.len());
    for m in merged.values_mut() {
        m.hit.finding.commits = Some(m.commits.max(1));
        let carriers = m.carriers.iter().copied().collect();
        findings.push(Remembered::of(&m.hit, m.source.clone(), m.order, carriers));
    }
    let mut grown = Summary::of(now, summary.commits as usize + new.len(), &out, findings, seen);
    grown.files_scanned += summary.files_scanned;
    grown.bytes_scanned += summary.bytes_scanned;
    grown.suppressed += summary.suppressed;
    grown.skipped = skipped;
    grown.clean = clean;
    let collected = Collected {
        hits: merged.into_values().map(|m| m.hit).collect(),
        skipped: grown.skipped.clone(),
        files_scanned: grown.files_scanned,
        bytes_scanned: grown.bytes_scanned,
        suppressed: grown.suppressed,
        notes: Vec::new(),
    };
    Ok((collected, grown))
}

fn is_link(r: SkipReason) -> bool {
    matches!(r, SkipReason::Symlink | SkipReason::Submodule)
}

/// The summary's findings, rebuilt, by (path, secret).
fn old_findings<S, F>(
    repo: &Repository,
    summary: &Summary,
    run: &HistoryRun<'_>,
    max: u64,
    make_sink: &F,
) -> Result<HashMap<(String, [u8; 32]), Merged>, Why>
where
    S: BlobSink,
    F: Fn() -> S + Sync,
{
    let mut merged = HashMap::new();
    for (i, hit, needle) in rebuild_findings(repo, summary, run, max, make_sink)? {
        let r = &summary.findings[i];
        let base = r.base.as_deref().map(oid).transpose()?;
        let carriers = r.carriers.iter().map(|c| oid(c)).collect::<Result<OidSet, Why>>()?;
        let m = Merged {
            source: (oid(&r.blob)?, base, r.scanned_as.clone()),
            order: r.order,
            needles: vec![needle],
            found_in: OidSet::default(),
            carriers,
            commits: r.commits,
            hit,
        };
        merged.insert((r.path.clone(), m.hit.digest), m);
    }
    Ok(merged)
}

/// Each new commit's record (what it set against its first parent), the paths they name, and
/// the commits' provenance, ordered after the `old` commits.
fn read_commits(repo: &Repository, new: &[Oid], old: usize) -> Result<(Vec<Record>, Paths, Infos), Why> {
    let (mut records, mut paths, mut infos) = (Vec::with_capacity(new.len()), Paths::default(), Infos::default());
    let mut trees = TreeCache::new(TREE_CACHE);
    for (i, &c) in new.iter().enumerate() {
        let ch = commit_changes(repo, &mut trees, c, false);
        if !ch.errors.is_empty() {
            return Err(format!("new commit {c} could not be read whole"));
        }
        let mut r = Record::of(&ch, &mut paths);
        let Some(provenance) = r.provenance.take() else { return Err(format!("new commit {c} has no date")) };
        infos.push(Some(&provenance), c, old + i);
        records.push(r);
    }
    Ok((records, paths, infos))
}

/// A blob of the old history that a new commit sets again: (commit, its position among the new
/// commits, path, blob, the blob it replaced).
type Reset = (Oid, u32, u32, Oid, Option<Oid>);

type Index = (BlobUses, OidMap<Base>, HashMap<String, SkipReason>, Vec<Reset>);

/// The new blobs of the new commits, with their uses and bases, the links and submodules they
/// set, and the old blobs they set again (see [`check_resets`]).
fn index(summary: &Summary, (new, records, paths): (&[Oid], &[Record], &Paths), infos: &Infos) -> Index {
    let (mut uses, mut bases, mut special, mut resets) =
        (BlobUses::default(), OidMap::default(), HashMap::new(), Vec::new());
    for (at, (c, r)) in new.iter().zip(records).enumerate() {
        let at = at as u32;
        for s in r.sets.iter().filter(|s| !s.blob.is_zero()) {
            match s.kind {
                ChangeKind::File if summary.knows_blob(s.blob) => resets.push((*c, at, s.path, s.blob, s.old)),
                ChangeKind::File => {
                    record_base(&mut bases, s.blob, s.old);
                    record_use(&mut uses, infos, s.blob, s.path, at);
                }
                ChangeKind::Symlink => {
                    special.entry(paths.name(s.path).to_string()).or_insert(SkipReason::Symlink);
                }
                ChangeKind::Submodule => {
                    special.insert(paths.name(s.path).to_string(), SkipReason::Submodule);
                }
            }
        }
    }
    (uses, bases, special, resets)
}

/// Whether the old blobs that new commits set again leave a full scan's report as it was, but
/// for the commits that carry findings: each must be set by a merge at a path where another
/// parent has it, set there by a commit authored earlier (so the path was among its uses and its
/// first use there stays), and have been found clean against a base the change keeps (see
/// [`record_base`]), so that it would be scanned the same. Otherwise: why not.
fn check_resets(
    repo: &Repository,
    (summary, cache): (&Summary, Option<&ScanCache>),
    resets: &[Reset],
    (infos, paths): (&Infos, &Paths),
) -> Result<(), Why> {
    for &(c, at, path, blob, old) in resets {
        let refuse = || format!("new commit {c} sets blob {blob} of the earlier history");
        let known = summary.clean.iter().find(|(b, _)| *b == blob.to_string());
        let known = known.map(|(_, base)| if base.is_empty() { Ok(Oid::ZERO_SHA1) } else { oid(base) }).transpose()?;
        let Some(base) = known.or_else(|| cache.and_then(|k| k.recorded_base(blob))) else { return Err(refuse()) };
        if !base.is_zero() && old != Some(base) {
            return Err(refuse());
        }
        let commit = repo.find_commit(c).map_err(|_| refuse())?;
        let time = infos.key(at).map_or(i64::MIN, |(t, _)| t);
        // Another parent has it there, set by an earlier commit: its first use there stays.
        let name = paths.name(path);
        if !commit.parent_ids().skip(1).filter_map(|p| setter_time(repo, p, name, blob)).any(|t| t < time) {
            return Err(refuse());
        }
    }
    Ok(())
}

/// Merges a finding of the new blobs into the old ones: a (path, secret) keeps the earliest
/// commit's hit.
fn merge(merged: &mut HashMap<(String, [u8; 32]), Merged>, b: BestFinding, base_of: &OidMap<Oid>) -> Result<(), Why> {
    let key = (b.hit.finding.path.clone(), b.hit.digest);
    let source = (b.source.0, base_of.get(&b.source.0).copied(), b.source.1);
    match merged.get_mut(&key) {
        Some(m) => {
            let old_time = m.hit.exposed_since.unwrap_or_default();
            if b.key.0 == old_time {
                return Err("a new commit has the author date of an earlier finding's".into());
            }
            if b.key.0 < old_time {
                (m.hit, m.source, m.order) = (b.hit, source, b.key.1);
            }
            m.found_in.extend(b.blobs);
            m.needles.extend(b.needles.into_iter().filter(|n| !n.is_empty()));
        }
        None => {
            let m = Merged {
                hit: b.hit,
                source,
                order: b.key.1,
                needles: b.needles,
                found_in: b.blobs,
                carriers: OidSet::default(),
                commits: 0,
            };
            merged.insert(key, m);
        }
    }
    Ok(())
}

/// Counts, for each finding, the new commits whose entry at its path carries it: a blob it was
/// found in, one an old commit carried it in, or a new blob that holds its text.
fn count_new_carriers(
    repo: &Repository,
    summary: &Summary,
    merged: &mut HashMap<(String, [u8; 32]), Merged>,
    (new, records, paths): (&[Oid], &[Record], &Paths),
) {
    let at: OidMap<usize> = new.iter().enumerate().map(|(i, c)| (*c, i)).collect();
    let wanted: HashSet<String> = merged.keys().map(|(p, _)| p.clone()).collect();
    for path in wanted {
        let id = paths.get(&path);
        let mut entries: Vec<Option<Oid>> = Vec::with_capacity(new.len());
        for r in records {
            let set = id.and_then(|id| r.sets.iter().rev().find(|s| s.path == id));
            let entry = match (set, r.first_parent) {
                _ if !r.tree_read => None,
                (Some(s), _) => Some(s.blob).filter(|b| !b.is_zero()),
                (None, Some(p)) => match at.get(&p) {
                    Some(&i) => entries[i],
                    None => entry_at(repo, p, &path),
                },
                (None, None) => None,
            };
            entries.push(entry);
        }
        let mut texts: OidMap<Option<Vec<u8>>> = OidMap::default();
        for (_, m) in merged.iter_mut().filter(|((p, _), _)| *p == path) {
            for e in entries.iter().flatten() {
                // Every version of the path in the old history was looked at: those that carried
                // the finding are its carriers.
                let holds = m.carriers.contains(e)
                    || m.found_in.contains(e)
                    || !summary.knows_blob(*e) && {
                        let text = texts.entry(*e).or_insert_with(|| blob_text(repo, *e));
                        text.as_deref().is_some_and(|t| {
                            m.needles.iter().any(|n| !n.is_empty() && memchr::memmem::find(t, n).is_some())
                        })
                    };
                if holds {
                    m.commits += 1;
                    m.carriers.insert(*e);
                }
            }
        }
    }
}

/// The author time of the commit that set `blob` at `path` in the first-parent line of `from`
/// (whose tree has it there), if it is found within a few thousand commits.
fn setter_time(repo: &Repository, from: Oid, path: &str, blob: Oid) -> Option<i64> {
    let mut at = repo.find_commit(from).ok()?;
    if entry_at(repo, at.id(), path) != Some(blob) {
        return None;
    }
    for _ in 0..4096 {
        match at.parent(0) {
            Ok(p) if entry_at(repo, p.id(), path) == Some(blob) => at = p,
            _ => return Some(at.author().when().seconds()),
        }
    }
    None
}

/// The entry at `path` in a commit's tree.
fn entry_at(repo: &Repository, commit: Oid, path: &str) -> Option<Oid> {
    let tree = repo.find_commit(commit).ok()?.tree().ok()?;
    let entry = tree.get_path(Path::new(path)).ok()?;
    Some(entry.id())
}

/// A blob's text as it was scanned (UTF-16 read as UTF-8).
fn blob_text(repo: &Repository, id: Oid) -> Option<Vec<u8>> {
    let b = repo.find_blob(id).ok()?;
    Some(tree::decode_utf16(b.content()).unwrap_or_else(|| b.content().to_vec()))
}
