//! The whole-history scan, in named steps: [`plan_history`] reads the commits and what each
//! introduced (it needs no rules, so it runs while they load); [`scan_planned`] then indexes the
//! unique blobs, scans each once, keeps the earliest finding per (path, secret) and counts the
//! commits that carried it.

use std::collections::HashMap;
use std::path::Path;

use git2::{Oid, Repository};
use rayon::prelude::*;

use super::blobs::{
    base_links, needle, read_text, relabel, scan_blob, version_chains, BlobScan, BlobText, BlobUses, Text, Use,
};
use super::cache::{carried_key, CarriedKey, Entry, ScanCache};
use super::carried::Lineage;
use super::linediff;
use super::plan::HistoryPlan;
use super::summary::{Remembered, Summary};
use super::walklog::Paths;
use super::{phase, reopen, HistoryOptions, Infos, Meter, OidMap, OidSet, Phase, Shard};
use crate::blob::{BlobSink, Collected, Hit, Origin, Scanned};
use crate::cancel::Cancel;
use crate::error::Result;
use crate::finding::{SkipReason, Skipped};
use crate::source::tree;

/// Unique blobs with their uses, the earliest first.
pub(super) type BlobList = Vec<(Oid, Vec<Use>)>;

/// For a blob used under paths of different classes (see [`BlobSink::path_class`]: a `.npmrc`
/// and a `notes.txt`), its uses grouped by class, as indices into its use list, the class of its
/// first use first. Empty when every use is of one class (most blobs): the blob is scanned once.
pub(super) type PathGroups = Vec<Vec<usize>>;

/// Scans every blob reachable from any ref, given the [`plan_history`] of the repository: each
/// unique blob once, each version for the lines its base lacks; blobs larger than `max` are
/// skipped. `make_sink` gives each worker thread its sink. With a `shard`, only the blobs whose
/// id falls in it are scanned (and counted); the index, the bases and the carried counts are
/// those of the whole history, so the shards' findings together are the unsharded scan's.
pub(crate) fn scan_planned<S, F>(plan: HistoryPlan, make_sink: F, opts: &HistoryOptions<'_>) -> Result<Collected>
where
    S: BlobSink,
    F: Fn() -> S + Sync,
{
    let HistoryOptions { max, shard, cache, meter } = *opts;
    let HistoryPlan { git_dir, pool, commits, infos, uses, bases, paths, lineage, refs, mut out, clock, cancel } = plan;
    if commits.is_empty() {
        out.notes.push("the repository has no commits".into());
        return Ok(out);
    }
    let sink = make_sink();
    // With `--cache`, an unsharded scan is summarised (see `summary`): every blob it saw.
    let summarise = refs.zip(cache).filter(|_| shard.is_none());
    let seen: Vec<Oid> = summarise.as_ref().map(|_| uses.keys().copied().collect()).unwrap_or_default();
    let mut blobs = drop_allowlisted(uses, (&infos, &paths), &sink, shard, &mut out);
    // Versions of one path next to each other: the pack's delta chains stay in libgit2's cache.
    let name = |list: &[Use]| paths.name(list[0].0);
    pool.install(|| blobs.par_sort_unstable_by(|(a, la), (b, lb)| name(la).cmp(name(lb)).then(a.cmp(b))));
    let groups = path_groups(&blobs, &sink, shard, &paths);
    let mut base_of = base_links(&blobs, &bases);
    drop(bases);
    let mut tasks = version_chains(&blobs, &mut base_of);
    if let Some(shard) = shard {
        // A version whose base is in another shard reads that base's text (without scanning it).
        tasks = tasks
            .into_iter()
            .map(|t| t.into_iter().filter(|&i| shard.owns(blobs[i].0)).collect::<Vec<usize>>())
            .filter(|t| !t.is_empty())
            .collect();
    }
    phase(&clock, "blob index");
    crate::source::malloc::release_free();
    meter.start(Phase::Blobs, tasks.iter().map(Vec::len).sum::<usize>() as u64);
    let scan = ScanTasks {
        git_dir: &git_dir,
        blobs: &blobs,
        groups: &groups,
        paths: &paths,
        infos: &infos,
        base_of: &base_of,
        max,
        cancel: &cancel,
        cache,
        meter,
    };
    let scanned = pool.install(|| scan.run(&tasks, &make_sink));
    phase(&clock, "scan");
    let entries = cache.map(|_| cache_entries(&scanned, (&blobs, &groups, &paths), &base_of));
    scanned.count_clean(&cancel, &mut out);
    let best = earliest_findings(scanned.full, (&blobs, &groups, &paths), &infos, &sink, &cancel, &mut out);
    let best: Vec<BestFinding> = best.into_values().collect();
    let wanted: Vec<Carrier<'_>> = best.iter().map(Carrier::of).collect();
    let (counts, carriers, looked) = if wanted.is_empty() || cancel.is_cancelled() {
        (vec![0u64; wanted.len()], vec![Vec::new(); wanted.len()], Vec::new())
    } else {
        meter.start(Phase::Carried, wanted.len() as u64);
        let log = Log { paths: &paths, lineage: &lineage };
        pool.install(|| carried_counts(&git_dir, &log, &wanted, cache, meter, &cancel))
    };
    phase(&clock, "carried counts");
    if let (Some(c), Some(entries)) = (cache.filter(|_| !cancel.is_cancelled()), entries) {
        if let Err(e) = c.save(&entries, &looked) {
            out.notes.push(format!("the scan cache could not be written: {e}"));
        }
    }
    let mut remembered = Vec::new();
    for ((b, n), carriers) in best.into_iter().zip(counts).zip(carriers) {
        let mut h = b.hit;
        h.finding.commits = Some(n.max(1));
        if shard.is_some() {
            // `merge` breaks ties between equal dates of different shards with it.
            h.finding.commit_order = Some(b.key.1 as u64);
        }
        if summarise.is_some() {
            let (blob, scanned_as) = b.source;
            let source = (blob, base_of.get(&blob).copied(), scanned_as);
            remembered.push(Remembered::of(&h, source, b.key.1, carriers));
        }
        out.hits.push(h);
    }
    if let Some((refs, c)) = summarise.filter(|_| !cancel.is_cancelled()) {
        let summary = Summary::of(refs, commits.len(), &out, remembered, seen);
        out.notes
            .extend(c.save_summary(&summary).err().map(|e| format!("the history summary could not be written: {e}")));
    }
    Ok(out)
}

/// Groups the uses of each blob by path class (see [`PathGroups`]); only blobs with several
/// paths, and in a sharded scan only the shard's own, are looked at.
pub(super) fn path_groups(
    blobs: &BlobList,
    sink: &dyn BlobSink,
    shard: Option<Shard>,
    paths: &Paths,
) -> Vec<PathGroups> {
    let mut classes: HashMap<u32, Vec<u32>> = HashMap::new();
    blobs
        .iter()
        .map(|(blob, list)| {
            if list.len() < 2 || shard.is_some_and(|s| !s.owns(*blob)) {
                return Vec::new();
            }
            let mut seen: Vec<(Vec<u32>, Vec<usize>)> = Vec::new();
            for (j, &(path, _)) in list.iter().enumerate() {
                let class = classes.entry(path).or_insert_with(|| sink.path_class(paths.name(path)));
                match seen.iter_mut().find(|(c, _)| c == class) {
                    Some((_, g)) => g.push(j),
                    None => seen.push((class.clone(), vec![j])),
                }
            }
            if seen.len() < 2 {
                return Vec::new();
            }
            seen.into_iter().map(|(_, g)| g).collect()
        })
        .collect()
}

/// The path a blob's cache entry is keyed by: its first path, or for a blob scanned once per
/// path class, the first path of each class.
fn cache_path(list: &[Use], groups: &PathGroups, paths: &Paths) -> String {
    if groups.is_empty() {
        return paths.name(list[0].0).to_string();
    }
    groups.iter().map(|g| paths.name(list[g[0]].0)).collect::<Vec<&str>>().join("\0")
}

/// The cache entries of every blob of this scan that found nothing (see [`ScanCache::entry`]).
fn cache_entries(
    scanned: &Results,
    (blobs, groups, paths): (&BlobList, &[PathGroups], &Paths),
    base_of: &OidMap<Oid>,
) -> Vec<(Oid, Entry)> {
    let entry = |i: usize, s: &Scanned| {
        let (blob, list) = &blobs[i];
        let path = cache_path(list, &groups[i], paths);
        ScanCache::entry(base_of.get(blob).copied(), &path, s).map(|e| (*blob, e))
    };
    let clean = scanned.clean.iter();
    let mut entries: Vec<(Oid, Entry)> = clean
        .filter_map(|&(i, bytes, suppressed)| entry(i, &Scanned { bytes, suppressed, ..Scanned::default() }))
        .collect();
    let full = scanned.full.iter().filter(|(_, s)| s.iter().all(|s| s.scanned.hits.is_empty()));
    entries.extend(full.filter_map(|(i, s)| entry(*i, &s.first()?.scanned)));
    entries
}

/// What the blob scan gave: the results that matter one by one (hits, skips), and for the blobs
/// whose every scan found nothing (most of them), only their counts.
#[derive(Default)]
pub(super) struct Results {
    /// (blob index, one result per scan of it), in task order.
    pub(super) full: Vec<(usize, Vec<BlobScan>)>,
    /// (blob index, bytes, matches suppressed).
    pub(super) clean: Vec<(usize, u64, u64)>,
}

impl Results {
    fn add(mut self, done: Vec<(usize, Vec<BlobScan>)>) -> Results {
        for (i, scans) in done {
            if scans.iter().all(|s| s.scanned.hits.is_empty() && s.scanned.skipped.is_none()) {
                let bytes = scans.first().map_or(0, |s| s.scanned.bytes);
                self.clean.push((i, bytes, scans.iter().map(|s| s.scanned.suppressed).max().unwrap_or(0)));
            } else {
                self.full.push((i, scans));
            }
        }
        self
    }

    fn join(mut self, other: Results) -> Results {
        self.full.extend(other.full);
        self.clean.extend(other.clean);
        self
    }

    /// Counts the clean blobs as scanned (one left unread by a cancelled scan is not).
    pub(super) fn count_clean(&self, cancel: &Cancel, out: &mut Collected) {
        for &(_, bytes, suppressed) in &self.clean {
            if cancel.is_cancelled() && bytes == 0 {
                continue;
            }
            out.files_scanned += 1;
            out.bytes_scanned += bytes;
            out.suppressed += suppressed;
        }
    }
}

/// The blob list without allowlisted paths: a blob used only under allowlisted paths is counted
/// as skipped (by the shard that owns it). Each blob's uses are sorted earliest commit first.
pub(super) fn drop_allowlisted(
    uses: BlobUses,
    (infos, paths): (&Infos, &Paths),
    sink: &dyn BlobSink,
    shard: Option<Shard>,
    out: &mut Collected,
) -> BlobList {
    let mut blobs: BlobList = Vec::with_capacity(uses.len());
    for (blob, mut list) in uses {
        if list.iter().any(|&(p, _)| sink.excludes(paths.name(p))) {
            let first_path = list.first().map(|&(p, _)| paths.name(p).to_string()).unwrap_or_default();
            list.retain(|&(p, _)| !sink.excludes(paths.name(p)));
            if list.is_empty() {
                if shard.is_some_and(|s| !s.owns(blob)) {
                    continue;
                }
                out.skipped.push(Skipped {
                    path: first_path,
                    reason: SkipReason::Allowlisted,
                    detail: format!("blob {blob}"),
                });
                continue;
            }
        }
        if list.len() > 1 {
            let key = |&(p, c): &Use| (infos.key(c), paths.name(p));
            list.sort_by(|a, b| key(a).cmp(&key(b)));
        }
        list.shrink_to_fit();
        blobs.push((blob, list));
    }
    blobs
}

/// Everything the parallel blob scan reads.
pub(super) struct ScanTasks<'a> {
    pub(super) git_dir: &'a Path,
    pub(super) blobs: &'a BlobList,
    pub(super) groups: &'a [PathGroups],
    pub(super) paths: &'a Paths,
    pub(super) infos: &'a Infos,
    pub(super) base_of: &'a OidMap<Oid>,
    pub(super) max: u64,
    pub(super) cancel: &'a Cancel,
    pub(super) cache: Option<&'a ScanCache>,
    pub(super) meter: &'a Meter,
}

impl ScanTasks<'_> {
    /// Scans each unique blob once per class of its paths, in parallel: each task walks versions
    /// of a path, each scanned for the lines its base version lacks. Each blob has one result
    /// per [`PathGroups`] group, or one for all its paths.
    pub(super) fn run<S: BlobSink, F: Fn() -> S + Sync>(&self, tasks: &[Vec<usize>], make_sink: &F) -> Results {
        tasks
            .par_iter()
            .map_init(|| (reopen(self.git_dir), make_sink()), |(repo, sink), task| self.task(repo.as_ref(), sink, task))
            .fold(Results::default, Results::add)
            .reduce(Results::default, Results::join)
    }

    fn task(&self, repo: Option<&Repository>, sink: &mut dyn BlobSink, task: &[usize]) -> Vec<(usize, Vec<BlobScan>)> {
        let mut done = Vec::with_capacity(task.len());
        // The text of the version scanned last: usually the base of the next one.
        let mut prev: Option<(Oid, Text<'_>)> = None;
        for &i in task {
            let (blob, list) = &self.blobs[i];
            let (path, commit) = (self.paths.name(list[0].0), list[0].1);
            let Some(r) = repo else {
                let why = format!("blob {blob}: cannot open repository");
                done.push((
                    i,
                    vec![BlobScan { scanned: Scanned::skipped(SkipReason::MissingObject, why), needles: Vec::new() }],
                ));
                continue;
            };
            if self.cancel.is_cancelled() {
                done.push((i, vec![BlobScan { scanned: Scanned::default(), needles: Vec::new() }]));
                continue;
            }
            let groups = &self.groups[i];
            let cached = self.cache.and_then(|c| {
                let key = if groups.is_empty() { None } else { Some(cache_path(list, groups, self.paths)) };
                c.lookup(*blob, self.base_of.get(blob).copied(), key.as_deref().unwrap_or(path))
            });
            if let Some(scanned) = cached {
                self.meter.step(1, scanned.bytes);
                done.push((i, vec![BlobScan { scanned, needles: Vec::new() }]));
                prev = None;
                continue;
            }
            let base_text = match self.base_of.get(blob) {
                Some(b) if prev.as_ref().is_some_and(|(p, _)| p == b) => prev.take().map(|(_, t)| t),
                Some(b) => match read_text(r, *b, self.max) {
                    BlobText::Text(t) => Some(t),
                    _ => None,
                },
                None => None,
            };
            let base = base_text.as_ref().map(Text::bytes);
            let provenance = self.infos.provenance(commit);
            let origin = Origin { path, provenance: provenance.as_ref() };
            let (res, text) = scan_blob(r, sink, *blob, origin, self.max, base);
            self.meter.step(1, res.scanned.bytes);
            let mut scans = vec![res];
            if scans[0].scanned.skipped.is_none() {
                for g in groups.iter().skip(1) {
                    let (path, commit) = (self.paths.name(list[g[0]].0), list[g[0]].1);
                    let provenance = self.infos.provenance(commit);
                    let origin = Origin { path, provenance: provenance.as_ref() };
                    scans.push(match &text {
                        Some(t) => scan_text(sink, t.bytes(), origin, base),
                        None => scan_blob(r, sink, *blob, origin, self.max, base).0,
                    });
                }
            }
            prev = text.map(|t| (*blob, t));
            done.push((i, scans));
        }
        done
    }
}

/// Scans the text of a blob again as another of its paths (one of another class), as
/// [`scan_blob`] did.
fn scan_text(sink: &mut dyn BlobSink, data: &[u8], origin: Origin<'_>, base: Option<&[u8]>) -> BlobScan {
    let scanned = match base {
        Some(b) => sink.scan(data, Some(&linediff::changed_regions(b, data)), origin),
        None => sink.scan(data, None, origin),
    };
    let needles = scanned.hits.iter().map(|h| needle(data, h)).collect();
    BlobScan { scanned, needles }
}

/// The earliest hit of one (path, secret), its commit's key, the blobs it was found in, and what
/// a blob must hold to carry it (one per distinct form, a few at most).
pub(super) struct BestFinding {
    pub(super) hit: Hit,
    /// The blob whose scan gave `hit`, and the path it was scanned as.
    pub(super) source: (Oid, String),
    pub(super) key: (i64, usize),
    pub(super) blobs: OidSet,
    pub(super) needles: Vec<Vec<u8>>,
}

/// One finding per (path, secret), the earliest commit's; also counts what was scanned.
/// A blob scanned once per path class gives one result per class, each for that class's paths
/// only; the counts are those of its first scan.
pub(super) fn earliest_findings(
    scanned: Vec<(usize, Vec<BlobScan>)>,
    (blobs, groups, paths): (&BlobList, &[PathGroups], &Paths),
    infos: &Infos,
    sink: &dyn BlobSink,
    cancel: &Cancel,
    out: &mut Collected,
) -> HashMap<(String, [u8; 32]), BestFinding> {
    let mut best: HashMap<(String, [u8; 32]), BestFinding> = HashMap::new();
    for (i, scans) in scanned {
        let (blob, list) = &blobs[i];
        let Some(first) = scans.first() else { continue };
        if let Some((reason, detail)) = &first.scanned.skipped {
            out.skipped.push(Skipped {
                path: paths.name(list[0].0).to_string(),
                reason: *reason,
                detail: detail.clone(),
            });
            continue;
        }
        if cancel.is_cancelled() && first.scanned.bytes == 0 && scans.iter().all(|s| s.scanned.hits.is_empty()) {
            continue;
        }
        out.files_scanned += 1;
        out.bytes_scanned += first.scanned.bytes;
        out.suppressed += scans.iter().map(|s| s.scanned.suppressed).max().unwrap_or(0);
        let whole: Vec<usize> = (0..list.len()).collect();
        for (k, BlobScan { scanned: res, needles }) in scans.iter().enumerate() {
            let uses = if scans.len() == 1 { &whole } else { &groups[i][k] };
            let uses: Vec<(&str, u32)> = uses.iter().map(|&j| (paths.name(list[j].0), list[j].1)).collect();
            add_hits(&mut best, (*blob, &uses), res, needles, infos, sink);
        }
    }
    best
}

/// Adds the hits of one scan of `blob` to `best`, for each of `uses` (the first is the path it
/// was scanned as; the others drop what the allowlist suppresses at their path).
fn add_hits(
    best: &mut HashMap<(String, [u8; 32]), BestFinding>,
    (blob, uses): (Oid, &[(&str, u32)]),
    res: &Scanned,
    needles: &[Vec<u8>],
    infos: &Infos,
    sink: &dyn BlobSink,
) {
    let Some(scanned_as) = uses.first().map(|&(p, _)| p) else { return };
    for (hi, h) in res.hits.iter().enumerate() {
        for &(path, commit) in uses {
            let Some(key) = infos.key(commit) else { continue };
            if path != scanned_as && sink.suppresses_path(&h.finding.rule_id, path) {
                continue;
            }
            match best.get_mut(&(path.to_string(), h.digest)) {
                Some(b) => {
                    b.blobs.insert(blob);
                    if let Some(n) = needles.get(hi) {
                        if b.needles.len() < 8 && !b.needles.contains(n) {
                            b.needles.push(n.clone());
                        }
                    }
                    if key < b.key {
                        b.hit = relabel(h, path, infos.provenance(commit).as_ref());
                        b.key = key;
                        b.source = (blob, scanned_as.to_string());
                    }
                }
                None => {
                    let b = BestFinding {
                        hit: relabel(h, path, infos.provenance(commit).as_ref()),
                        source: (blob, scanned_as.to_string()),
                        key,
                        blobs: OidSet::from_iter([blob]),
                        needles: needles.get(hi).cloned().into_iter().collect(),
                    };
                    best.insert((path.to_string(), h.digest), b);
                }
            }
        }
    }
}

/// One (path, secret) whose carrying commits are counted.
struct Carrier<'a> {
    path: &'a str,
    /// Blobs in which the secret was found at this path.
    blobs: &'a OidSet,
    /// What a blob must hold to carry the secret (any one of them).
    needles: &'a [Vec<u8>],
    /// Its key in the scan cache's carried results.
    key: CarriedKey,
}

impl Carrier<'_> {
    fn of(b: &BestFinding) -> Carrier<'_> {
        Carrier {
            path: &b.hit.finding.path,
            blobs: &b.blobs,
            needles: &b.needles,
            key: carried_key(&b.hit.finding.fingerprint, &b.needles),
        }
    }
}

/// What the walk recorded, for counting carried findings.
struct Log<'a> {
    paths: &'a Paths,
    lineage: &'a Lineage,
}

/// For each carrier, how many commits have, at its path, a blob in which the secret was found
/// or one that holds its text (one of its needles), from what the walk recorded (see
/// [`Lineage`]). Whether a blob holds it is decided by the blob alone, never by which blobs this
/// run scanned, so every shard of a sharded scan counts a finding the same, and the same as an
/// unsharded scan.
/// Versions of a path that were looked at for a finding (or taken from the cache), and whether
/// they held it.
type Looked = Vec<(CarriedKey, Oid, bool)>;

/// Per finding: how many commits carry it, and the versions of its path that do.
type Carried = (Vec<u64>, Vec<Vec<Oid>>, Looked);

fn carried_counts(
    git_dir: &Path,
    log: &Log<'_>,
    wanted: &[Carrier<'_>],
    cache: Option<&ScanCache>,
    meter: &Meter,
    cancel: &Cancel,
) -> Carried {
    // Findings at one path share its versions: each is read once for all of them.
    let mut by_path: HashMap<u32, Vec<usize>> = HashMap::new();
    for (i, w) in wanted.iter().enumerate() {
        if let Some(id) = log.paths.get(w.path) {
            by_path.entry(id).or_default().push(i);
        }
    }
    let ids: Vec<u32> = by_path.keys().copied().collect();
    let sets = log.lineage.sets_of(&ids);
    let mut groups: Vec<(u32, Vec<usize>)> = by_path.into_iter().collect();
    groups.sort_unstable();
    // Every (findings at a path, version of the path, commits that have it), in parallel: a path
    // with thousands of versions is spread over every worker.
    let items: Vec<(&[usize], Oid, u64)> = groups
        .iter()
        .flat_map(|(id, group)| {
            let tally = sets.get(id).map(|s| log.lineage.tally(s)).unwrap_or_default();
            tally.into_iter().map(move |(entry, n)| (group.as_slice(), entry, n))
        })
        .collect();
    // Per item: (finding, commits, version) that carry it, and what was looked at.
    type Holds = Vec<(usize, u64, Oid)>;
    let partial: Vec<(Holds, Looked)> = items
        .par_iter()
        .map_init(
            || reopen(git_dir),
            |repo, &(group, entry, n)| {
                let Some(repo) = repo.as_ref().filter(|_| !cancel.is_cancelled()) else { return Default::default() };
                let mut text: Option<Option<Vec<u8>>> = None;
                let (mut holds, mut looked) = (Vec::new(), Vec::new());
                for &i in group {
                    let w = &wanted[i];
                    let found = w.blobs.contains(&entry) || {
                        let known = cache.and_then(|c| c.carried(&w.key, entry));
                        let found = known.or_else(|| {
                            let t = text.get_or_insert_with(|| blob_text(repo, entry)).as_deref()?;
                            Some(w.needles.iter().any(|n| !n.is_empty() && memchr::memmem::find(t, n).is_some()))
                        });
                        // A version that could not be read is not remembered.
                        looked.extend(found.map(|f| (w.key, entry, f)));
                        found.unwrap_or(false)
                    };
                    if found {
                        holds.push((i, n, entry));
                    }
                }
                (holds, looked)
            },
        )
        .collect();
    meter.step(wanted.len() as u64, 0);
    let mut total = vec![0u64; wanted.len()];
    let mut carriers = vec![Vec::new(); wanted.len()];
    let mut all_looked = Vec::new();
    for (holds, looked) in partial {
        for (i, n, entry) in holds {
            total[i] += n;
            carriers[i].push(entry);
        }
        all_looked.extend(looked);
    }
    (total, carriers, all_looked)
}

/// A blob's text as it was scanned (UTF-16 read as UTF-8), if it can be read: needles come from
/// the text that was scanned.
fn blob_text(repo: &Repository, id: Oid) -> Option<Vec<u8>> {
    let b = repo.find_blob(id).ok()?;
    Some(tree::decode_utf16(b.content()).unwrap_or_else(|| b.content().to_vec()))
}
